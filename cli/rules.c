/* vigil rules and vigil config: check the alert rules and the
 * configuration, run rule tests, print the defaults (see cli.h). */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate/sketch.h"
#include "aggregate/table.h"
#include "alert/rules.h"
#include "alert/ruletest.h"
#include "core/config.h"
#include "core/err.h"
#include "pipeline/run.h"

int vg_cli_rules(int argc, char **argv)
{
	const char *config = NULL, **names = NULL;
	bool check = false;
	int first_test = 0, status = VG_EXIT_OK;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			config = argv[++i];
		} else if (strcmp(argv[i], "--check") == 0) {
			check = true;
		} else if (strcmp(argv[i], "--test") == 0 && i + 1 < argc) {
			first_test = i + 1;
			break;
		} else {
			check = false;
			break;
		}
	}
	if (!check && !first_test) {
		fprintf(stderr, "usage: vigil rules [-c FILE] --check | --test TESTFILE...\n");
		return VG_EXIT_USAGE;
	}
	struct vg_config *cfg;
	struct vg_rules_env env;
	char err[1024];

	if (vg_config_load(&cfg, config, err, sizeof(err)) != VG_OK) {
		fprintf(stderr, "vigil: %s\n", err);
		return VG_EXIT_CONFIG;
	}
	struct vg_table_params tp = {.map = vg_sketch_map_get(cfg->accuracy), .max_keys = cfg->max_keys};

	if (!tp.map || vg_rules_env_make(cfg, cfg->window_ms, &env, &names) != VG_OK) {
		vg_config_free(cfg);
		return VG_EXIT_IO;
	}
	if (check) {
		struct vg_rules *r;
		const char **rule_names;
		int rc = vg_rules_load_config(&r, cfg, cfg->window_ms, &rule_names, err, sizeof(err));

		if (rc != VG_OK) {
			fprintf(stderr, "vigil: %s\n", err);
			status = rc == VG_ERR_IO ? VG_EXIT_IO : VG_EXIT_CONFIG;
		} else {
			printf("%zu rules: ok\n", vg_rules_count(r));
		}
		vg_rules_destroy(r);
		free(rule_names);
	}
	for (int i = first_test; first_test && i < argc; i++) {
		char *report;
		int tests, failures;
		int rc = vg_ruletest_run(argv[i], &env, &tp, &report, &tests, &failures, err, sizeof(err));

		if (rc != VG_OK) {
			fprintf(stderr, "vigil: %s\n", err);
			status = rc == VG_ERR_IO ? VG_EXIT_IO : VG_EXIT_CONFIG;
			continue;
		}
		fputs(report, stdout);
		printf("%s: %d tests, %d failed\n", argv[i], tests, failures);
		free(report);
		if (failures && status == VG_EXIT_OK)
			status = VG_EXIT_CONFIG;
	}
	free(names);
	vg_config_free(cfg);
	return status;
}

/* ---- vigil config ------------------------------------------------------ */

int vg_cli_config(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--default") == 0)
		return vg_config_write_default(stdout) == VG_OK && fflush(stdout) == 0 ? VG_EXIT_OK : VG_EXIT_IO;
	if (argc == 3 && strcmp(argv[1], "--check") == 0) {
		char err[1024];
		int rc = vg_run_check(argv[2], err, sizeof(err));

		if (rc != VG_OK) {
			fprintf(stderr, "%s\n", err);
			return rc == VG_ERR_IO ? VG_EXIT_IO : VG_EXIT_CONFIG;
		}
		printf("%s: ok\n", argv[2]);
		return VG_EXIT_OK;
	}
	fprintf(stderr, "usage: vigil config --default | --check FILE\n");
	return VG_EXIT_USAGE;
}


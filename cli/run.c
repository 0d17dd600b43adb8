/* vigil run: options (see cli.h); the pipeline is pipeline/run.h's. */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/err.h"
#include "pipeline/run.h"

int vg_cli_run(int argc, char **argv)
{
	struct vg_run_opts o = {.workers = -1, .log_level = -1, .skew_behind_ms = -1};

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i + 1 < argc)
			o.config_path = argv[++i];
		else if (strcmp(a, "--brokers") == 0 && i + 1 < argc)
			o.brokers = argv[++i];
		else if (strcmp(a, "--group") == 0 && i + 1 < argc)
			o.group = argv[++i];
		else if (strcmp(a, "--topic") == 0 && i + 1 < argc && o.n_topics < 64)
			o.topics[o.n_topics++] = argv[++i];
		else if (strcmp(a, "--workers") == 0 && i + 1 < argc) {
			if (!vg_cli_int_arg("run", a, argv[++i], 1, VG_RUN_MAX_WORKERS, &o.workers))
				return VG_EXIT_USAGE;
		}
		else if (strcmp(a, "--windows") == 0 && i + 1 < argc)
			o.windows_path = argv[++i];
		else if (strcmp(a, "--alerts") == 0 && i + 1 < argc)
			o.alerts_path = argv[++i];
		else if (strcmp(a, "--records") == 0 && i + 1 < argc)
			o.records_path = argv[++i];
		else if (strcmp(a, "--archive") == 0 && i + 1 < argc)
			o.archive_dir = argv[++i];
		else if (strcmp(a, "--http") == 0 && i + 1 < argc)
			o.http_listen = argv[++i];
		else if (strcmp(a, "--exit-at-end") == 0)
			o.exit_at_end = true;
		else if (strcmp(a, "--skew-behind") == 0 && i + 1 < argc) {
			/* A backfill of old logs: 0s lets event times of any age count. */
			if ((o.skew_behind_ms = vg_config_parse_duration(argv[++i])) < 0) {
				fprintf(stderr, "vigil run: --skew-behind: expected a duration (e.g. 0s, 30d), got '%s'\n",
					argv[i]);
				return VG_EXIT_USAGE;
			}
		} else if (strcmp(a, "--log-level") == 0 && i + 1 < argc) {
			if ((o.log_level = vg_cli_log_level_arg("run", argv[++i])) < 0)
				return VG_EXIT_USAGE;
		} else {
			return vg_cli_bad_option("run", argc, argv, i);
		}
	}
	return vg_run_main(&o);
}

/* vigil run's pipeline: Kafka, workers, windows, rules, archive, until a
 * stop signal (or the end, with exit_at_end); the summary line last. */

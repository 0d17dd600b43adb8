/* vigil aggregate and vigil replay: options (see cli.h); the pipeline is
 * pipeline/pipeline.h's. replay is the same pipeline, whose output is the
 * alert changes alone, and which notifies no one unless asked with
 * --notify (a backtest must not page anyone). */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/err.h"
#include "pipeline/pipeline.h"

static int aggregate_main(int argc, char **argv, bool replay)
{
	const char *cmd = replay ? "replay" : "aggregate";
	struct vg_files_opts o = {.cmd = cmd, .threads = 1, .log_level = -1};
	struct vg_pipeline *run;
	int i, rc, status;

	o.quiet = o.alerts_stdout = o.no_notify = replay;
	for (i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
			o.config_path = argv[++i];
		} else if (strcmp(argv[i], "--window") == 0 && i + 1 < argc) {
			o.window_ms = vg_config_parse_duration(argv[++i]);
			if (o.window_ms < 100) {
				fprintf(stderr, "vigil %s: --window: expected a duration of 100ms or more, got '%s'\n",
					cmd, argv[i]);
				return VG_EXIT_USAGE;
			}
		} else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
			char *end;
			long threads = strtol(argv[++i], &end, 10);

			if (*end || threads < 1 || threads > VG_PIPELINE_MAX_THREADS) {
				fprintf(stderr, "vigil %s: --threads: expected 1 to 256, got '%s'\n", cmd, argv[i]);
				return VG_EXIT_USAGE;
			}
			o.threads = (unsigned)threads;
		} else if (strcmp(argv[i], "--exact") == 0) {
			o.exact = true;
		} else if (!replay && strcmp(argv[i], "--alerts") == 0 && i + 1 < argc) {
			o.alerts_path = argv[++i];
		} else if (!replay && (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0)) {
			o.quiet = true;
		} else if (replay && strcmp(argv[i], "--notify") == 0) {
			o.no_notify = false;
		} else if (strcmp(argv[i], "--log-level") == 0 && i + 1 < argc) {
			if ((o.log_level = vg_cli_log_level_arg("aggregate", argv[++i])) < 0)
				return VG_EXIT_USAGE;
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			return vg_cli_bad_option(cmd, argc, argv, i);
		} else {
			break;
		}
	}
	if ((status = vg_files_open(&run, &o)) != VG_EXIT_OK)
		return status;
	rc = vg_cli_each_input(argv + i, argc - i, cmd, vg_files_read, run, &status);
	return vg_files_finish(run, rc, status);
}

int vg_cli_aggregate(int argc, char **argv)
{
	return aggregate_main(argc, argv, false);
}

int vg_cli_replay(int argc, char **argv)
{
	return aggregate_main(argc, argv, true);
}

/* vigil: the entry point. The commands live in cli/ (see cli/cli.h); this
 * file is the command table. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/err.h"

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{"classify", vg_cli_classify}, {"aggregate", vg_cli_aggregate}, {"replay", vg_cli_replay},
	{"run", vg_cli_run},           {"broker", vg_cli_broker},       {"demo", vg_cli_demo},
	{"produce", vg_cli_produce},   {"config", vg_cli_config},       {"rules", vg_cli_rules},
	{"verify", vg_cli_verify},     {"cat", vg_cli_cat},             {"prune", vg_cli_prune},
	{"stats", vg_cli_stats},
};

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(vg_cli_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? VG_EXIT_USAGE : VG_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("vigil %s\n", VIGIL_VERSION);
		return VG_EXIT_OK;
	}
	fprintf(stderr, "vigil: unknown command '%s'\n%s", argv[1], vg_cli_usage);
	return VG_EXIT_USAGE;
}

/* vigil: the usage text and what several commands share (see cli.h). */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "parse/stage.h"

const char vg_cli_usage[] =
	"usage: vigil COMMAND [OPTIONS]\n"
	"\n"
	"commands:\n"
	"  classify [-c FILE] [--quiet] [LOG...]  parse and classify NDJSON logs (files or stdin)\n"
	"  aggregate [-c FILE] [--window D] [--threads N] [--exact] [--quiet] [--alerts FILE]\n"
	"      [--log-level L] [LOG...]\n"
	"                                         windows of counts, error rates and latency quantiles\n"
	"  replay [-c FILE] [--window D] [--threads N] [--exact] [--notify] [LOG...]\n"
	"                                         the same pipeline; every alert change as NDJSON\n"
	"                                         (notifiers only with --notify)\n"
	"  run [-c FILE] [--brokers B] [--group G] [--topic T]... [--workers N] [--exit-at-end]\n"
	"      [--windows FILE] [--records FILE] [--alerts FILE] [--archive DIR|off] [--http ADDR|off]\n"
	"      [--skew-behind D] [--log-level L]\n"
	"                                         consume Kafka topics as a group\n"
	"  demo [--duration S] [--rate N] [--dir DIR] [--gen PATH] [--workers N] [--http ADDR|off]\n"
	"       [--log-level L]\n"
	"                                         the whole pipeline on an embedded broker with incidents\n"
	"  broker [--brokers N] [--topic NAME:PARTITIONS]...  run the embedded Kafka broker\n"
	"  produce --brokers B --topic T [--rate N] [-X KEY=VALUE]... [LOG...]  produce NDJSON lines as messages\n"
	"  verify [--repair] DIR                  check every archive frame against its manifest\n"
	"  cat [-c FILE] [--from T] [--to T] [--level L] [--category C] [--service S] [--grep PCRE]\n"
	"      [--dead-letter] DIR                records from the archive as NDJSON\n"
	"  prune [-c FILE] [--now T] [--dry-run] DIR  delete archive files past their retention\n"
	"  stats DIR                              archive size, ratio, records by class, category, level\n"
	"  rules [-c FILE] --check | --test TESTFILE...  check the alert rules, or run rule tests\n"
	"  config --default                       print the complete default configuration\n"
	"  config --check FILE                    validate a configuration file\n"
	"  version                                print the version\n";

/* Run fn on every input named (names[0..n); "-" is standard input), or on
 * standard input when none is. Stops at the first input fn fails on and
 * returns its code; an input that cannot be opened is reported on stderr
 * as "vigil CMD: NAME: reason" and sets *status to VG_EXIT_IO. */
int vg_cli_each_input(char **names, int n, const char *cmd, int (*fn)(void *arg, int fd, const char *name),
		      void *arg, int *status)
{
	int rc = VG_OK;

	if (n == 0)
		return fn(arg, STDIN_FILENO, "<stdin>");
	for (int i = 0; i < n && rc == VG_OK; i++) {
		bool is_stdin = strcmp(names[i], "-") == 0;
		int fd = is_stdin ? STDIN_FILENO : open(names[i], O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			fprintf(stderr, "vigil %s: %s: %s\n", cmd, names[i], strerror(errno));
			*status = VG_EXIT_IO;
			continue;
		}
		rc = fn(arg, fd, names[i]);
		if (!is_stdin)
			close(fd);
	}
	return rc;
}

/* --log-level NAME (vigil's own log lines): the level, or -1 after saying
 * what is expected. */
int vg_cli_log_level_arg(const char *cmd, const char *name)
{
	int level = vg_log_level_from_name(name);

	if (level < 0)
		fprintf(stderr, "vigil %s: --log-level: expected debug, info, warning or error, got '%s'\n", cmd, name);
	return level;
}

int vg_cli_stage_open(struct vg_stage *st, const char *config_path)
{
	char err[1024];

	if (vg_stage_load(st, config_path, err, sizeof(err)) != VG_OK) {
		fprintf(stderr, "vigil: %s\n", err);
		return VG_ERR_CONFIG;
	}
	return VG_OK;
}

/* Does the usage text give opt a value ("OPT V" with V in capitals)? The
 * usage text is the one list of the options and their values. */
static bool takes_value(const char *opt, char *example, size_t n)
{
	size_t len = strlen(opt);

	for (const char *p = vg_cli_usage; (p = strstr(p, opt)) != NULL; p += len) {
		const char *v = p + len;

		if ((p[-1] != ' ' && p[-1] != '[' && p[-1] != '|') || v[0] != ' ' || !(v[1] >= 'A' && v[1] <= 'Z'))
			continue;
		size_t vl = strcspn(v + 1, " ]|\n");

		snprintf(example, n, "%s %.*s", opt, (int)vl, v + 1);
		return true;
	}
	return false;
}

int vg_cli_bad_option(const char *cmd, int argc, char **argv, int i)
{
	char example[128];

	if (i + 1 == argc && argv[i][0] == '-' && takes_value(argv[i], example, sizeof(example)))
		fprintf(stderr, "vigil %s: %s: expects a value (%s)\n", cmd, argv[i], example);
	else
		fprintf(stderr, "vigil %s: unknown option '%s'\n%s", cmd, argv[i], vg_cli_usage);
	return VG_EXIT_USAGE;
}

bool vg_cli_int_arg(const char *cmd, const char *opt, const char *v, long lo, long hi, long *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < lo || n > hi) {
		fprintf(stderr, "vigil %s: %s: expected an integer from %ld to %ld, got '%s'\n", cmd, opt, lo, hi, v);
		return false;
	}
	*out = n;
	return true;
}

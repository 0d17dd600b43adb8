/* vigil: command-line entry point and subcommands. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/err.h"
#include "ingest/lines.h"
#include "parse/classify.h"
#include "parse/json.h"

#define VIGIL_VERSION "0.1.0"

/* Exit codes. */
enum { EXIT_OK = 0, EXIT_CONFIG = 1, EXIT_USAGE = 2, EXIT_IO = 3 };

static const char usage[] =
	"usage: vigil COMMAND [OPTIONS]\n"
	"\n"
	"commands:\n"
	"  classify [-c FILE] [--quiet] [LOG...]  parse and classify NDJSON logs (files or stdin)\n"
	"  config --default                       print the complete default configuration\n"
	"  config --check FILE                    validate a configuration file\n"
	"  version                                print the version\n";

/* ---- the parse + classify stage ---------------------------------------- */

/* Everything one thread needs to parse and classify records. */
struct stage {
	struct vg_config *cfg;
	struct vg_json_paths *paths;
	struct vg_classifier *classifier;
	struct vg_classify_ctx *ctx;
	struct vg_json_limits limits;
};

static void stage_close(struct stage *st)
{
	vg_classify_ctx_destroy(st->ctx);
	vg_classifier_destroy(st->classifier);
	vg_json_paths_destroy(st->paths);
	vg_config_free(st->cfg);
	memset(st, 0, sizeof(*st));
}

static int stage_open(struct stage *st, const char *config_path)
{
	char err[1024];
	const char *const *paths[VG_F_COUNT];
	size_t n[VG_F_COUNT];
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = vg_config_load(&st->cfg, config_path, err, sizeof(err))) != VG_OK)
		goto out_err;
	for (int f = 0; f < VG_F_COUNT; f++) {
		paths[f] = (const char *const *)st->cfg->paths[f].v;
		n[f] = st->cfg->paths[f].n;
	}
	if ((rc = vg_json_paths_create(&st->paths, paths, n, err, sizeof(err))) != VG_OK)
		goto out_err;
	if ((rc = vg_classifier_create(&st->classifier, st->cfg, err, sizeof(err))) != VG_OK)
		goto out_err;
	if ((rc = vg_classify_ctx_create(&st->ctx, st->classifier)) != VG_OK) {
		snprintf(err, sizeof(err), "%s", vg_err_str(rc));
		goto out_err;
	}
	st->limits.max_bytes = st->cfg->max_record_bytes;
	st->limits.max_depth = st->cfg->max_depth;
	return VG_OK;

out_err:
	fprintf(stderr, "vigil: %s\n", err);
	stage_close(st);
	return rc;
}

/* ---- vigil classify ---------------------------------------------------- */

struct classify_run {
	struct stage st;
	bool quiet;
	struct vg_buf out, err;
	uint64_t records, rejected, bytes;
	uint64_t by_reason[VG_JR_COUNT];
};

static void put_str_or_null(struct vg_buf *b, vg_str s)
{
	if (s.len == 0)
		vg_buf_puts(b, "null");
	else
		vg_buf_put_json_str(b, s);
}

static void emit_record(struct classify_run *run, const struct vg_record *rec)
{
	struct vg_buf *b = &run->out;

	vg_buf_puts(b, "{\"level\":\"");
	vg_buf_puts(b, vg_level_name(rec->level));
	vg_buf_puts(b, "\",\"category\":\"");
	vg_buf_puts(b, vg_classifier_category_name(run->st.classifier, rec->category));
	vg_buf_puts(b, "\",\"retention_days\":");
	vg_buf_put_u64(b, rec->retention_days);
	vg_buf_puts(b, ",\"service\":");
	put_str_or_null(b, rec->service);
	vg_buf_puts(b, ",\"endpoint\":");
	put_str_or_null(b, rec->endpoint);
	vg_buf_puts(b, ",\"method\":");
	put_str_or_null(b, rec->method);
	vg_buf_puts(b, ",\"status\":");
	if (rec->status)
		vg_buf_put_i64(b, rec->status);
	else
		vg_buf_puts(b, "null");
	vg_buf_puts(b, ",\"duration_ms\":");
	vg_buf_put_double(b, rec->duration_ms);
	vg_buf_puts(b, ",\"ts_ms\":");
	if (rec->ts_ms != VG_TIME_NONE)
		vg_buf_put_i64(b, rec->ts_ms);
	else
		vg_buf_puts(b, "null");
	vg_buf_puts(b, "}\n");
}

static void emit_reject(struct classify_run *run, int reason, uint64_t line, size_t offset)
{
	run->rejected++;
	run->by_reason[reason]++;
	if (run->quiet)
		return;
	vg_buf_puts(&run->err, "{\"error\":\"");
	vg_buf_puts(&run->err, vg_json_reason_str(reason));
	vg_buf_puts(&run->err, "\",\"line\":");
	vg_buf_put_u64(&run->err, line);
	vg_buf_puts(&run->err, ",\"offset\":");
	vg_buf_put_u64(&run->err, offset);
	vg_buf_puts(&run->err, "}\n");
}

static int flush_outputs(struct classify_run *run, bool force)
{
	if ((force || run->out.len >= (1u << 20)) && vg_buf_write_fd(&run->out, STDOUT_FILENO) != VG_OK)
		return VG_ERR_IO;
	if ((force || run->err.len >= (64u << 10)) && vg_buf_write_fd(&run->err, STDERR_FILENO) != VG_OK)
		return VG_ERR_IO;
	return VG_OK;
}

static int classify_fd(struct classify_run *run, int fd, const char *name)
{
	struct vg_lines *lines;
	struct vg_record rec;
	struct vg_json_error jerr;
	vg_str line;
	bool oversize;
	uint64_t lineno = 0;
	int rc;

	if (vg_lines_open(&lines, fd, run->st.limits.max_bytes) != VG_OK)
		return VG_ERR_NOMEM;
	while ((rc = vg_lines_next(lines, &line, &oversize)) == 1) {
		lineno++;
		run->records++;
		if (oversize) {
			emit_reject(run, VG_JR_SIZE, lineno, run->st.limits.max_bytes);
		} else if (vg_json_extract(run->st.paths, &run->st.limits, line.p, line.len, &rec, &jerr) != VG_OK) {
			emit_reject(run, jerr.reason, lineno, jerr.offset);
		} else {
			vg_classify(run->st.ctx, &rec);
			if (!run->quiet)
				emit_record(run, &rec);
		}
		if ((rc = flush_outputs(run, false)) != VG_OK) {
			fprintf(stderr, "vigil: write error: %s\n", strerror(errno));
			break;
		}
	}
	if (rc == VG_ERR_IO && errno)
		fprintf(stderr, "vigil: %s: read error: %s\n", name, strerror(errno));
	run->bytes += vg_lines_bytes(lines);
	vg_lines_close(lines);
	return rc < 0 ? rc : VG_OK;
}

static void emit_summary(struct classify_run *run, double seconds)
{
	struct vg_buf *b = &run->err;
	bool first = true;

	vg_buf_puts(b, "{\"records\":");
	vg_buf_put_u64(b, run->records);
	vg_buf_puts(b, ",\"rejected\":");
	vg_buf_put_u64(b, run->rejected);
	vg_buf_puts(b, ",\"rejected_by_reason\":{");
	for (int r = 1; r < VG_JR_COUNT; r++) {
		if (!run->by_reason[r])
			continue;
		vg_buf_puts(b, first ? "\"" : ",\"");
		vg_buf_puts(b, vg_json_reason_str(r));
		vg_buf_puts(b, "\":");
		vg_buf_put_u64(b, run->by_reason[r]);
		first = false;
	}
	vg_buf_puts(b, "},\"bytes\":");
	vg_buf_put_u64(b, run->bytes);
	vg_buf_puts(b, ",\"seconds\":");
	vg_buf_put_double(b, (double)(int64_t)(seconds * 1e6) / 1e6);
	vg_buf_puts(b, ",\"mb_per_s\":");
	vg_buf_put_double(b, seconds > 0 ? (double)(int64_t)((double)run->bytes / 1e6 / seconds * 100) / 100 : 0);
	vg_buf_puts(b, "}\n");
}

static int cmd_classify(int argc, char **argv)
{
	struct classify_run run;
	const char *config_path = NULL;
	int i, rc = VG_OK, status = EXIT_OK;

	memset(&run, 0, sizeof(run));
	for (i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
			config_path = argv[++i];
		} else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
			run.quiet = true;
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "vigil classify: unknown option '%s'\n%s", argv[i], usage);
			return EXIT_USAGE;
		} else {
			break;
		}
	}
	if (stage_open(&run.st, config_path) != VG_OK)
		return EXIT_CONFIG;
	double t0 = vg_clock_mono_s();

	if (i == argc) {
		rc = classify_fd(&run, STDIN_FILENO, "<stdin>");
	} else {
		for (; i < argc && rc == VG_OK; i++) {
			bool is_stdin = strcmp(argv[i], "-") == 0;
			int fd = is_stdin ? STDIN_FILENO : open(argv[i], O_RDONLY | O_CLOEXEC);

			if (fd < 0) {
				fprintf(stderr, "vigil classify: %s: %s\n", argv[i], strerror(errno));
				status = EXIT_IO;
				continue;
			}
			rc = classify_fd(&run, fd, argv[i]);
			if (!is_stdin)
				close(fd);
		}
	}
	if (rc != VG_OK)
		status = EXIT_IO;
	emit_summary(&run, vg_clock_mono_s() - t0);
	if (flush_outputs(&run, true) != VG_OK)
		status = EXIT_IO;
	vg_buf_free(&run.out);
	vg_buf_free(&run.err);
	stage_close(&run.st);
	return status;
}

/* ---- vigil config ------------------------------------------------------ */

static int cmd_config(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--default") == 0)
		return vg_config_write_default(stdout) == VG_OK && fflush(stdout) == 0 ? EXIT_OK : EXIT_IO;
	if (argc == 3 && strcmp(argv[1], "--check") == 0) {
		struct vg_config *cfg;
		char err[1024];
		int rc = vg_config_load(&cfg, argv[2], err, sizeof(err));

		if (rc != VG_OK) {
			fprintf(stderr, "%s\n", err);
			return rc == VG_ERR_IO ? EXIT_IO : EXIT_CONFIG;
		}
		vg_config_free(cfg);
		printf("%s: ok\n", argv[2]);
		return EXIT_OK;
	}
	fprintf(stderr, "usage: vigil config --default | --check FILE\n");
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (strcmp(argv[1], "classify") == 0)
		return cmd_classify(argc - 1, argv + 1);
	if (strcmp(argv[1], "config") == 0)
		return cmd_config(argc - 1, argv + 1);
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("vigil %s\n", VIGIL_VERSION);
		return EXIT_OK;
	}
	fprintf(stderr, "vigil: unknown command '%s'\n%s", argv[1], usage);
	return EXIT_USAGE;
}

/* vigil classify: every record's level, category and retention as NDJSON
 * (see cli.h). */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "ingest/lines.h"
#include "parse/json.h"
#include "parse/level.h"
#include "parse/stage.h"

struct classify_run {
	struct vg_stage st;
	bool quiet;
	struct vg_buf out, err;
	uint64_t records, rejected, bytes;
	uint64_t by_reason[VG_JR_COUNT];
};

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
	vg_buf_put_json_str_or_null(b, rec->service);
	vg_buf_puts(b, ",\"endpoint\":");
	vg_buf_put_json_str_or_null(b, rec->endpoint);
	vg_buf_puts(b, ",\"method\":");
	vg_buf_put_json_str_or_null(b, rec->method);
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

static int classify_fd(void *arg, int fd, const char *name)
{
	struct classify_run *run = arg;
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

/* The summaries' common head: "records", "rejected" and
 * "rejected_by_reason" as JSON members (no braces). */
static void emit_summary(struct classify_run *run, double seconds)
{
	struct vg_buf *b = &run->err;

	vg_buf_putc(b, '{');
	vg_json_put_counts(b, run->records, run->rejected, run->by_reason);
	vg_classify_put_summary(b, vg_classify_ctx_stats(run->st.ctx));
	vg_buf_puts(b, ",\"bytes\":");
	vg_buf_put_u64(b, run->bytes);
	vg_buf_puts(b, ",\"seconds\":");
	vg_buf_put_double(b, (double)(int64_t)(seconds * 1e6) / 1e6);
	vg_buf_puts(b, ",\"mb_per_s\":");
	vg_buf_put_double(b, seconds > 0 ? (double)(int64_t)((double)run->bytes / 1e6 / seconds * 100) / 100 : 0);
	vg_buf_puts(b, "}\n");
}

int vg_cli_classify(int argc, char **argv)
{
	struct classify_run run;
	const char *config_path = NULL;
	int i, rc = VG_OK, status = VG_EXIT_OK;

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
			return vg_cli_bad_option("classify", argc, argv, i);
		} else {
			break;
		}
	}
	if (vg_cli_stage_open(&run.st, config_path) != VG_OK)
		return VG_EXIT_CONFIG;
	double t0 = vg_clock_mono_s();

	rc = vg_cli_each_input(argv + i, argc - i, "classify", classify_fd, &run, &status);
	if (rc != VG_OK)
		status = VG_EXIT_IO;
	emit_summary(&run, vg_clock_mono_s() - t0);
	if (flush_outputs(&run, true) != VG_OK)
		status = VG_EXIT_IO;
	vg_buf_free(&run.out);
	vg_buf_free(&run.err);
	vg_stage_close(&run.st);
	return status;
}


/* Tests for pipeline/: the one per-record step, the file reader's three
 * paths (inline, chunks of a pipe, ranges of a file) and the closer (rows,
 * empty windows, rules and alerts), on the pipeline the commands run. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "pipeline/pipeline.h"
#include "pipeline/pipeline_internal.h"

#define T0 1793491200000LL /* 2026-11-01T00:00:00Z */

static char dir[] = "/tmp/vigil-test-pipeline.XXXXXX";

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(pipeline, .init = setup, .fini = teardown);

/* The test directory's file name; a test asks for fewer than 32. */
static char *path_in(const char *name)
{
	static char slot[32][256];
	static unsigned k;
	char *out = slot[k++ % 32];

	snprintf(out, 256, "%s/%s", dir, name);
	return out;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;

	cr_assert_not_null(f);
	FILE *m = open_memstream(&buf, &len);
	int c;

	while ((c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(m);
	fclose(f);
	return buf;
}

/* An HTTP access record of service svc at t ms after T0. */
static void put_http(FILE *f, const char *svc, int64_t t, int status, double ms)
{
	fprintf(f,
		"{\"ts\":%lld,\"level\":\"info\",\"service\":\"%s\",\"message\":\"GET /api/items\","
		"\"http\":{\"method\":\"GET\",\"path\":\"/api/items/%lld\",\"status\":%d,\"duration_ms\":%.3f}}\n",
		(long long)(T0 + t), svc, (long long)(t % 97), status, ms);
}

/* A pipeline over the configuration text yaml, its rows going to the file
 * rows (no rows when NULL). */
static struct vg_pipeline *open_pipeline(const char *yaml, unsigned threads, const char *rows, const char *alerts)
{
	struct vg_files_opts o = {.cmd = "aggregate", .threads = threads, .log_level = 3, .quiet = rows == NULL,
				  .alerts_path = alerts, .no_notify = true};
	struct vg_pipeline *p;
	const char *cfg = path_in("vigil.yaml");

	write_file(cfg, yaml);
	o.config_path = cfg;
	cr_assert_eq(vg_files_open(&p, &o), VG_EXIT_OK);
	if (rows) {
		p->out_fd = open(rows, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		cr_assert_geq(p->out_fd, 0);
	}
	return p;
}

static int finish(struct vg_pipeline *p, int rc)
{
	int fd = p->out_fd;
	int status = vg_files_finish(p, rc, VG_EXIT_OK);

	if (fd != STDOUT_FILENO)
		close(fd);
	return status;
}

Test(pipeline, the_step_counts_rejects_by_reason_and_classifies)
{
	struct vg_pipeline *p = open_pipeline("aggregate:\n  window: 10s\nrules:\n  files: []\n", 1, NULL, NULL);
	struct vg_pipeline_worker *w = &p->workers[0];
	struct vg_record rec;
	int reason = -1;
	const char ok[] = "{\"ts\":1793491200000,\"level\":\"error\",\"service\":\"a\",\"message\":\"boom\"}";
	const char bad[] = "{\"ts\":1793491200000,\"level\":";

	cr_assert(vg_step_parse(w, ok, sizeof(ok) - 1, &rec, &reason));
	cr_expect_eq(rec.level, VG_LEVEL_ERROR);
	cr_expect_eq(rec.ts_ms, T0);
	vg_wworker_begin(w->ww);
	cr_expect_eq(vg_step_add(w, &rec, VG_TIME_NONE, 0), T0, "the time the windows count it at");
	vg_wworker_end(w->ww);
	cr_assert_not(vg_step_parse(w, bad, sizeof(bad) - 1, &rec, &reason));
	cr_expect_neq(reason, VG_JR_OK);
	cr_expect_eq(w->records, 2);
	cr_expect_eq(w->rejected, 1);
	cr_expect_eq(w->by_reason[reason], 1);
	cr_expect_eq(finish(p, VG_OK), VG_EXIT_OK);
}

/* 3 services, 2,000 records over 65 s of event time, 2% of them 5xx. */
static void write_stream(const char *path)
{
	FILE *f = fopen(path, "w");
	static const char *svc[] = {"orders", "payments", "search"};

	cr_assert_not_null(f);
	for (int i = 0; i < 2000; i++)
		put_http(f, svc[i % 3], (int64_t)i * 65000 / 2000, i % 50 == 0 ? 503 : 200, 1.0 + (i % 200));
	fputs("not json at all\n", f);
	cr_assert_eq(fclose(f), 0);
}

static char *rows_of(const char *input, unsigned threads, bool pipe_it)
{
	const char *rows = path_in(threads == 1 ? "rows1" : pipe_it ? "rows-pipe" : "rows-file");
	struct vg_pipeline *p = open_pipeline("aggregate:\n  window: 10s\n", threads, rows, NULL);
	char cmd[512];
	FILE *in;
	int rc;

	if (pipe_it) {
		snprintf(cmd, sizeof(cmd), "cat %s", input);
		in = popen(cmd, "r");
		cr_assert_not_null(in);
		rc = vg_files_read(p, fileno(in), "pipe");
		pclose(in);
	} else {
		int fd = open(input, O_RDONLY);

		rc = vg_files_read(p, fd, input);
		close(fd);
	}
	cr_assert_eq(rc, VG_OK);
	cr_assert_eq(finish(p, rc), VG_EXIT_OK);
	return read_file(rows);
}

Test(pipeline, one_thread_a_pipe_in_chunks_and_a_file_in_ranges_give_the_same_rows)
{
	const char *input = path_in("stream.ndjson");

	write_stream(input);
	char *one = rows_of(input, 1, false);
	char *chunks = rows_of(input, 2, true);
	char *ranges = rows_of(input, 2, false);

	cr_assert_gt(strlen(one), 0);
	cr_expect_str_eq(chunks, one);
	cr_expect_str_eq(ranges, one);
	/* 65 s in 10 s windows: 7 windows, 3 services each, an HTTP row and
	 * a log row each. */
	size_t n = 0;

	for (const char *s = one; (s = strstr(s, "\"window_start\"")) != NULL; s++)
		n++;
	cr_expect_eq(n, 7 * 3 * 2, "rows: %zu", n);
	cr_expect_not_null(strstr(one, "{\"window_start\":\"2026-11-01T00:00:00.000Z\",\"window_end\":"
					"\"2026-11-01T00:00:10.000Z\",\"service\":\"orders\""));
	free(one);
	free(chunks);
	free(ranges);
}

Test(pipeline, the_closer_closes_empty_windows_and_fires_and_resolves_a_rule)
{
	const char *rules = path_in("rules.yaml");
	const char *alerts = path_in("alerts.ndjson");
	char yaml[512];

	write_file(rules, "groups:\n  - name: t\n    rules:\n      - alert: Errors\n"
			  "        error_rate: {of: 5xx, window: 10s, above: 0.5, min_count: 5}\n"
			  "        labels: {severity: P2}\n");
	snprintf(yaml, sizeof(yaml), "aggregate:\n  window: 10s\nrules:\n  files: [%s]\n", rules);
	struct vg_pipeline *p = open_pipeline(yaml, 1, NULL, alerts);
	const char *input = path_in("errors.ndjson");
	FILE *f = fopen(input, "w");

	/* 20 s of failures, 60 s of silence, 20 s of successes. */
	for (int i = 0; i < 200; i++)
		put_http(f, "orders", i * 100, 500, 5);
	for (int i = 0; i < 200; i++)
		put_http(f, "orders", 80000 + i * 100, 200, 5);
	fclose(f);
	int fd = open(input, O_RDONLY);

	cr_assert_eq(vg_files_read(p, fd, input), VG_OK);
	close(fd);
	vg_closer_close(p, true, 0);
	struct vg_windows_stats ws;

	vg_windows_get_stats(p->win, &ws);
	cr_expect_eq(ws.closed, 10, "every 10 s window from 0 to 100 s closes, the empty ones too: %llu",
		     (unsigned long long)ws.closed);
	cr_expect_eq(p->alerts_by_state[VG_ALERT_FIRING], 1);
	cr_expect_eq(p->alerts_by_state[VG_ALERT_RESOLVED], 1);
	cr_assert_eq(finish(p, VG_OK), VG_EXIT_OK);
	char *out = read_file(alerts);

	cr_expect_not_null(strstr(out, "\"alertname\":\"Errors\""), "%s", out);
	cr_expect_not_null(strstr(out, "\"state\":\"firing\""), "%s", out);
	cr_expect_not_null(strstr(out, "\"state\":\"resolved\""), "%s", out);
	free(out);
}

/* Tests for sink/metrics: Prometheus exposition (names, escaping, values,
 * summary shape), a closed window's families, vigil run's own families and
 * the /health and /ready decisions. Every rendering is also checked for
 * the format's structure: each family's HELP and TYPE once, before its
 * samples, which come together. (The running server's output goes through
 * promtool in tests/integration/http.sh.) */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate/sketch.h"
#include "aggregate/table.h"
#include "aggregate/window.h"
#include "core/buf.h"
#include "sink/metrics.h"

static char *text(struct vg_buf *b)
{
	vg_buf_putc(b, '\0');
	b->len--;
	return b->p;
}

static void escaped(const char *in, size_t len, const char *want)
{
	struct vg_buf b = {0};

	vg_metrics_escape(&b, vg_str_make(in, len));
	cr_expect_str_eq(text(&b), want);
	vg_buf_free(&b);
}

Test(metrics, label_values_are_escaped)
{
	escaped("plain", 5, "plain");
	escaped("a\\b", 3, "a\\\\b");
	escaped("say \"hi\"", 8, "say \\\"hi\\\"");
	escaped("two\nlines", 9, "two\\nlines");
	escaped("caf\xc3\xa9 \xe2\x82\xac", 9, "caf\xc3\xa9 \xe2\x82\xac"); /* UTF-8 kept */
	escaped("x\xffy", 3, "x\xef\xbf\xbdy");                             /* invalid byte: U+FFFD */
	escaped("\xc3", 1, "\xef\xbf\xbd");                                 /* truncated sequence */
	escaped("\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* surrogate */
	escaped("", 0, "");
}

Test(metrics, names)
{
	cr_expect(vg_metrics_name_ok("vigil_records_total"));
	cr_expect(vg_metrics_name_ok("a:b_c9"));
	cr_expect(vg_metrics_name_ok("_x"));
	cr_expect_not(vg_metrics_name_ok("9lives"));
	cr_expect_not(vg_metrics_name_ok("has-dash"));
	cr_expect_not(vg_metrics_name_ok("has space"));
	cr_expect_not(vg_metrics_name_ok(""));
}

static void value(double v, const char *want)
{
	struct vg_buf b = {0};

	vg_metrics_value(&b, v);
	cr_expect_str_eq(text(&b), want);
	vg_buf_free(&b);
}

Test(metrics, values)
{
	value(0, "0");
	value(12345678901234.0, "12345678901234");
	value(-3, "-3");
	value(0.25, "0.25");
	value(0.1, "0.1");
	value(1.0 / 3, "0.3333333333333333");
	value(NAN, "NaN");
	value(INFINITY, "+Inf");
	value(-INFINITY, "-Inf");
	value(1e300, "1e+300");
}

Test(metrics, family_and_sample_lines)
{
	struct vg_buf b = {0};
	struct vg_metrics_label l[2] = {{"service", VG_STR_LIT("a\"b")}, {"code", VG_STR_LIT("500")}};

	vg_metrics_family(&b, "x_total", "counter", "Back\\slash and\nnewline.");
	vg_metrics_sample(&b, "x_total", l, 2, 7);
	vg_metrics_sample(&b, "x_total", NULL, 0, 1.5);
	cr_expect_str_eq(text(&b), "# HELP x_total Back\\\\slash and\\nnewline.\n"
	                           "# TYPE x_total counter\n"
	                           "x_total{service=\"a\\\"b\",code=\"500\"} 7\n"
	                           "x_total 1.5\n");
	vg_buf_free(&b);
}

Test(metrics, summary_shape)
{
	struct vg_buf b = {0};
	struct vg_metrics_label l = {"endpoint", VG_STR_LIT("/a")};
	const double q[] = {0.5, 0.99}, v[] = {0.01, NAN};

	vg_metrics_summary(&b, "lat_seconds", &l, 1, q, v, 2, 2.5, 40);
	cr_expect_str_eq(text(&b), "lat_seconds{endpoint=\"/a\",quantile=\"0.5\"} 0.01\n"
	                           "lat_seconds{endpoint=\"/a\",quantile=\"0.99\"} NaN\n"
	                           "lat_seconds_sum{endpoint=\"/a\"} 2.5\n"
	                           "lat_seconds_count{endpoint=\"/a\"} 40\n");
	b.len = 0;
	vg_metrics_summary(&b, "s", NULL, 0, NULL, NULL, 0, 0, 0);
	cr_expect_str_eq(text(&b), "s_sum 0\ns_count 0\n");
	vg_buf_free(&b);
}

/* The exposition's structure: every sample's family declared (HELP then
 * TYPE) once before it, a family's samples together, valid names, counters
 * named _total, summaries with _sum and _count. Returns how many samples. */
static size_t check_exposition(const char *s)
{
	char families[256][128], types[256][16], cur[128] = "";
	size_t n_fam = 0, samples = 0;

	while (*s) {
		const char *nl = strchr(s, '\n');
		char line[4096], name[128], type[16];

		cr_assert(nl, "unterminated line: %s", s);
		cr_assert_lt((size_t)(nl - s), sizeof(line));
		memcpy(line, s, (size_t)(nl - s));
		line[nl - s] = '\0';
		s = nl + 1;
		if (strncmp(line, "# HELP ", 7) == 0) {
			cr_assert_eq(sscanf(line + 7, "%127s", name), 1);
			for (size_t i = 0; i < n_fam; i++)
				cr_assert_str_neq(families[i], name, "family %s declared twice", name);
			cr_assert(vg_metrics_name_ok(name), "bad name %s", name);
			cr_assert_lt(n_fam, 256u);
			snprintf(families[n_fam], sizeof(families[0]), "%s", name);
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			cr_assert_eq(sscanf(line + 7, "%127s %15s", name, type), 2);
			cr_assert_str_eq(name, families[n_fam], "TYPE of %s without its HELP just before", name);
			snprintf(types[n_fam], sizeof(types[0]), "%s", type);
			if (strcmp(type, "counter") == 0) {
				size_t n = strlen(name);

				cr_expect(n > 6 && strcmp(name + n - 6, "_total") == 0, "counter %s not _total", name);
			}
			snprintf(cur, sizeof(cur), "%s", name);
			n_fam++;
			continue;
		}
		size_t n = strcspn(line, "{ ");

		cr_assert_lt(n, sizeof(name));
		memcpy(name, line, n);
		name[n] = '\0';
		cr_assert(n_fam > 0, "sample %s before any family", name);
		bool ok = strcmp(name, cur) == 0;

		if (!ok && strcmp(types[n_fam - 1], "summary") == 0) {
			size_t c = strlen(cur);

			ok = strncmp(name, cur, c) == 0 &&
			     (strcmp(name + c, "_sum") == 0 || strcmp(name + c, "_count") == 0);
		}
		cr_assert(ok, "sample %s outside its family (current: %s)", name, cur);
		cr_assert(line[strlen(line) - 1] != ' ', "no value: %s", line);
		samples++;
	}
	return samples;
}

Test(metrics, a_closed_window)
{
	struct vg_table_params tp = {.map = vg_sketch_map_get(0.01), .max_keys = 100};
	struct vg_table *t;
	struct vg_buf b = {0};
	const char *cats[] = {"application", "access"}, *counters[] = {"auth_failures"};
	struct vg_metrics_names names = {cats, 2, counters, 1};

	cr_assert_eq(vg_table_create(&t, &tp), 0);
	struct vg_table_key k = {.window = 0,
	                       .kind = VG_TABLE_HTTP,
	                       .service = VG_STR_LIT("orders"),
	                       .endpoint = VG_STR_LIT("/orders/:id"),
	                       .method = VG_STR_LIT("GET")};
	struct vg_table_entry *e = vg_table_get(t, &k);

	cr_assert(e);
	for (int i = 1; i <= 100; i++) {
		e->count++;
		vg_table_add_latency(t, e, (double)i); /* 1..100 ms */
	}
	e->errors_4xx = 3;
	e->errors_5xx = 2;
	k = (struct vg_table_key){.kind = VG_TABLE_LOG, .service = VG_STR_LIT("we\"ird\\svc"), .category = 1, .level = 5};
	vg_table_get(t, &k)->count = 9;
	k = (struct vg_table_key){.kind = VG_TABLE_COUNTER, .service = VG_STR_LIT("auth"), .counter = 0};
	vg_table_get(t, &k)->count = 4;

	struct vg_window win = {.start_ms = 1793491200000LL, .end_ms = 1793491210000LL, .table = t};

	vg_metrics_window(&b, &win, &names, false);
	const char *s = text(&b);

	cr_expect_gt(check_exposition(s), 10u);
	cr_expect(strstr(s, "vigil_window_start_seconds 1793491200\n"));
	cr_expect(strstr(s, "vigil_window_length_seconds 10\n"));
	cr_expect(strstr(
	        s, "vigil_window_http_requests{service=\"orders\",endpoint=\"/orders/:id\",method=\"GET\"} 100\n"));
	cr_expect(strstr(s, "vigil_window_http_errors{service=\"orders\",endpoint=\"/orders/:id\",method=\"GET\","
	                    "class=\"5xx\"} 2\n"));
	cr_expect(strstr(s, "# TYPE vigil_window_http_request_duration_seconds summary\n"));
	cr_expect(strstr(s, "vigil_window_http_request_duration_seconds_count{service=\"orders\","
	                    "endpoint=\"/orders/:id\",method=\"GET\"} 100\n"));
	cr_expect(strstr(s, "vigil_window_http_request_duration_seconds_sum{service=\"orders\","
	                    "endpoint=\"/orders/:id\",method=\"GET\"} 5.05"),
	          "%s", s);
	/* The median of 1..100 ms within the sketch's 1%, in seconds. */
	const char *q = strstr(s, "quantile=\"0.5\"} ");

	cr_assert(q);
	double p50 = strtod(q + strlen("quantile=\"0.5\"} "), NULL);

	cr_expect(p50 > 0.049 && p50 < 0.0515, "p50 %g s", p50);
	cr_expect(strstr(
	        s, "vigil_window_log_records{service=\"we\\\"ird\\\\svc\",category=\"access\",level=\"ERROR\"} 9\n"));
	cr_expect(strstr(s, "vigil_window_pattern_matches{counter=\"auth_failures\",service=\"auth\"} 4\n"));
	vg_buf_free(&b);
	vg_table_destroy(t);
}

static struct vg_metrics_run sample_run(void)
{
	static const char *cats[] = {"application", "access"};
	static const uint64_t by_cat[] = {5, 6};
	static const int64_t silent[] = {10, 20};
	static struct vg_metrics_lag lags[] = {{"logs", 0, 5}, {"lo\"gs", 1, 0}};
	struct vg_metrics_run r = {
	        .records = 100,
	        .bytes = 30000,
	        .parsed = 98,
	        .n_reasons = 2,
	        .reason_names = {"syntax", "utf8"},
	        .rejected = {1, 1},
	        .aggregated = 98,
	        .watermark_ms = INT64_MIN,
	        .category_names = cats,
	        .by_category = by_cat,
	        .n_categories = 2,
	        .group = "vigil",
	        .joined = true,
	        .owned = 2,
	        .lags = lags,
	        .n_lags = 2,
	        .n_notifiers = 1,
	        .notifier = {"webhook0"},
	        .sent = {3},
	        .n_workers = 2,
	        .worker_silent_ms = silent,
	};

	return r;
}

static const struct vg_metrics_bounds bounds = {.stall_ms = 30000, .commit_age_ms = 60000, .notify_failing_ms = 300000};

Test(metrics, run_families)
{
	struct vg_metrics_run r = sample_run();
	struct vg_buf b = {0};

	r.reloads_ok = 2;
	r.reloads_failed = 1;
	r.http_open = 3;
	r.http_timed_out = 5;
	r.http_evicted = 7;
	vg_metrics_run(&b, &r);
	const char *s = text(&b);

	cr_expect_gt(check_exposition(s), 40u);
	cr_expect(strstr(s, "\nvigil_config_reloads_total{result=\"ok\"} 2\n"));
	cr_expect(strstr(s, "\nvigil_config_reloads_total{result=\"failed\"} 1\n"));
	cr_expect(strstr(s, "\nvigil_http_connections 3\n"));
	cr_expect(strstr(s, "\nvigil_http_connections_closed_total{reason=\"timeout\"} 5\n"));
	cr_expect(strstr(s, "\nvigil_http_connections_closed_total{reason=\"evicted\"} 7\n"));
	cr_expect(strstr(s, "\nvigil_records_total 100\n"));
	cr_expect(strstr(s, "\nvigil_records_rejected_total{reason=\"utf8\"} 1\n"));
	cr_expect(strstr(s, "\nvigil_window_category_records_total{category=\"access\"} 6\n"));
	cr_expect(strstr(s, "\nvigil_kafka_consumer_lag{topic=\"lo\\\"gs\",partition=\"1\"} 0\n"));
	cr_expect(strstr(s, "\nvigil_notifications_sent_total{notifier=\"webhook0\"} 3\n"));
	cr_expect(strstr(s, "\nvigil_window_watermark_seconds 0\n"));
	cr_expect(strstr(s, "\nvigil_archive_writable 1\n"));
	vg_buf_free(&b);
}

/* vigil issue 21 item 8: pattern runs stopped by a PCRE2 limit were counted
 * by the classifier but shown nowhere. */
Test(metrics, regex_limit_hits_are_a_counter)
{
	struct vg_metrics_run r = sample_run();
	struct vg_buf b = {0};

	r.regex_limit_hits = 7;
	vg_metrics_run(&b, &r);
	const char *s = text(&b);

	cr_expect_gt(check_exposition(s), 40u);
	cr_expect(strstr(s, "\n# TYPE vigil_regex_limit_hits_total counter\n"));
	cr_expect(strstr(s, "\nvigil_regex_limit_hits_total 7\n"));
	vg_buf_free(&b);
}

Test(metrics, health_and_ready)
{
	struct vg_metrics_run r = sample_run();
	struct vg_buf b = {0};
	int64_t silent[] = {10, 45000};

	cr_expect(vg_metrics_health(&b, &r, &bounds));
	cr_expect_str_eq(text(&b), "{\"status\":\"ok\",\"workers\":2,\"workers_stuck\":0,\"reasons\":[]}\n");
	b.len = 0;
	cr_expect(vg_metrics_ready(&b, &r, &bounds));
	cr_expect_str_eq(text(&b),
	                 "{\"status\":\"ok\",\"partitions\":2,\"commit_age_seconds\":0.000,\"reasons\":[]}\n");

	r.worker_silent_ms = silent;
	b.len = 0;
	cr_expect_not(vg_metrics_health(&b, &r, &bounds));
	cr_expect(strstr(text(&b), "\"workers_stuck\":1,\"reasons\":[\"worker 1: no batch finished"), "%s", b.p);

	r.joined = false;
	r.archive_error = "input/output error";
	r.archive_dir = "/var/lib/vigil";
	r.failing_ms[0] = 300001;
	b.len = 0;
	cr_expect_not(vg_metrics_ready(&b, &r, &bounds));
	const char *s = text(&b);

	cr_expect(strstr(s, "\"status\":\"failing\""), "%s", s);
	cr_expect(strstr(s, "not in consumer group vigil yet"), "%s", s);
	cr_expect(strstr(s, "archive /var/lib/vigil not writable: input/output error"), "%s", s);
	cr_expect(strstr(s, "notifier webhook0 failing for 300001 ms"), "%s", s);

	/* The commit age counts only in the group, and only past its bound. */
	r = sample_run();
	r.commit_age_ms = 60000;
	b.len = 0;
	cr_expect(vg_metrics_ready(&b, &r, &bounds), "%s", text(&b));
	r.commit_age_ms = 60001;
	b.len = 0;
	cr_expect_not(vg_metrics_ready(&b, &r, &bounds));
	cr_expect(strstr(text(&b), "last offset commit 60001 ms ago"), "%s", b.p);
	vg_buf_free(&b);
}

/* Tests for parse/classify: categories, rules, retention, derived values. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/err.h"
#include "parse/classify.h"
#include "parse/json.h"
#include "parse/stage.h"

static struct vg_config *cfg;
static struct vg_json_paths *paths;
static struct vg_classifier *cls;
static struct vg_classify_ctx *ctx;

static struct vg_stage st;

static void open_with(const char *yaml)
{
	struct vg_config *c;
	char err[1024];

	cr_assert_eq(vg_config_load_string(&c, yaml, yaml ? strlen(yaml) : 0, "t.yaml", err, sizeof(err)), VG_OK,
		     "%s", err);
	cr_assert_eq(vg_stage_open(&st, c, err, sizeof(err)), VG_OK, "%s", err);
	cfg = st.cfg;
	paths = st.paths;
	cls = st.classifier;
	ctx = st.ctx;
}

static void setup(void)
{
	open_with(NULL);
}

static void teardown(void)
{
	vg_stage_close(&st);
}

TestSuite(classify, .init = setup, .fini = teardown);

static struct vg_record rec;

static struct vg_record *classify(const char *doc)
{
	static const struct vg_json_limits lim = {.max_bytes = 1 << 20, .max_depth = 64};
	struct vg_json_error e;

	cr_assert_eq(vg_json_extract(paths, &lim, doc, strlen(doc), &rec, &e), VG_OK, "%s", doc);
	vg_classify(ctx, &rec);
	return &rec;
}

static const char *cat(const char *doc)
{
	return vg_classifier_category_name(cls, classify(doc)->category);
}

Test(classify, given_category_with_case_space_and_aliases)
{
	cr_expect_str_eq(cat("{\"category\":\"security\"}"), "security");
	cr_expect_eq(rec.category_src, VG_CAT_GIVEN);
	cr_expect_str_eq(cat("{\"category\":\"Security\"}"), "security");
	cr_expect_str_eq(cat("{\"log_type\":\" ACCESS \"}"), "access");
	cr_expect_str_eq(cat("{\"category\":\"db\"}"), "database");
	cr_expect_str_eq(cat("{\"category\":\"Auth\"}"), "security");
	cr_expect_str_eq(cat("{\"category\":\"app\"}"), "application");
	cr_expect_str_eq(cat("{\"category\":\"d\\u0062\"}"), "database");
	/* The given category wins over rules that would say otherwise. */
	cr_expect_str_eq(cat("{\"category\":\"application\",\"logger\":\"auth\"}"), "application");
}

Test(classify, unknown_given_category_falls_back_to_rules_and_is_counted)
{
	uint64_t before = vg_classify_ctx_stats(ctx)->unknown_category;

	cr_expect_str_eq(cat("{\"category\":\"weird\",\"logger\":\"db.query\"}"), "database");
	cr_expect_eq(rec.category_src, VG_CAT_RULE);
	cr_expect_str_eq(cat("{\"category\":42}"), "application");
	cr_expect_eq(rec.category_src, VG_CAT_DEFAULT);
	cr_expect_eq(vg_classify_ctx_stats(ctx)->unknown_category, before + 2);
}

Test(classify, shipped_rules_infer_the_four_categories)
{
	static const struct {
		const char *doc, *want;
	} t[] = {
		{"{\"logger\":\"auth\",\"message\":\"token refreshed\"}", "security"},
		{"{\"logger\":\"com.acme.auth.LoginController\",\"message\":\"ok\"}", "security"},
		{"{\"logger\":\"security.audit\",\"message\":\"x\"}", "security"},
		{"{\"logger\":\"orders.api\",\"message\":\"Authentication failed for user alice from 10.1.2.3\"}",
		 "security"},
		{"{\"logger\":\"web\",\"message\":\"permission denied: user carol lacks role admin\"}", "security"},
		{"{\"logger\":\"x\",\"message\":\"account locked after 5 failed attempts\"}", "security"},
		{"{\"logger\":\"db.query\",\"message\":\"done\"}", "database"},
		{"{\"logger\":\"sqlalchemy.engine\",\"message\":\"x\"}", "database"},
		{"{\"logger\":\"org.hibernate.SQL\",\"message\":\"x\"}", "database"},
		{"{\"logger\":\"worker\",\"message\":\"slow query (1234 ms): SELECT id FROM orders WHERE a = $1\"}",
		 "database"},
		{"{\"logger\":\"worker\",\"message\":\"deadlock detected, retrying transaction\"}", "database"},
		{"{\"logger\":\"http.access\",\"message\":\"x\"}", "access"},
		{"{\"logger\":\"uvicorn.access\",\"message\":\"x\"}", "access"},
		{"{\"logger\":\"com.acme.web.AccessLogFilter\",\"message\":\"x\"}", "access"},
		{"{\"logger\":\"svc\",\"message\":\"GET /api/v1/orders/1 200 3.2ms\"}", "access"},
		/* regression: an access line for a token endpoint is access, not security */
		{"{\"logger\":\"com.acme.web.AccessLogFilter\",\"message\":\"POST /oauth2/token 201 19.5ms\"}",
		 "access"},
		{"{\"logger\":\"com.zaxxer.hikari.pool.HikariPool\",\"message\":\"x\"}", "database"},
		{"{\"logger\":\"orders.service\",\"message\":\"order 123 created\"}", "application"},
		{"{\"logger\":\"inventory.worker\",\"message\":\"cache miss for key product:abc\"}", "application"},
		{"{\"message\":\"worker started\"}", "application"},
		{"{}", "application"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		cr_expect_str_eq(cat(t[i].doc), t[i].want, "%s", t[i].doc);
}

Test(classify, first_matching_rule_wins)
{
	/* security is listed before database */
	cr_expect_str_eq(cat("{\"logger\":\"db.query\",\"message\":\"invalid password for db user\"}"), "security");
}

Test(classify, all_rules_need_every_condition)
{
	teardown();
	open_with("classify:\n  rules:\n    - category: security\n      all:\n        logger: '^audit'\n"
		  "        message: 'changed'\n");
	cr_expect_str_eq(cat("{\"logger\":\"audit\",\"message\":\"role changed\"}"), "security");
	cr_expect_str_eq(cat("{\"logger\":\"audit\",\"message\":\"viewed\"}"), "application");
	cr_expect_str_eq(cat("{\"message\":\"role changed\"}"), "application");
}

Test(classify, regex_limits_stop_backtracking_and_are_counted)
{
	teardown();
	open_with("classify:\n  regex_match_limit: 1000\n  rules:\n    - category: security\n      any:\n"
		  "        message: '^(a+)+$'\n");
	char doc[200] = "{\"message\":\"";
	size_t o = strlen(doc);

	for (int i = 0; i < 60; i++)
		doc[o++] = 'a';
	memcpy(doc + o, "b\"}", 4);
	cr_expect_str_eq(cat(doc), "application");
	cr_expect_geq(vg_classify_ctx_stats(ctx)->regex_limit, 1u);
}

/* A record of n bytes of message made of runs of 15 'a's and a '!': an
 * unanchored '(a+)+$' backtracks about 2^15 steps from every position of a
 * run, under any per-start match limit, so only a budget over the whole
 * record stops it (vigil issue 21 item 8: 0.8 s a record without one). */
static char *runs_of_a(size_t n)
{
	char *doc = malloc(n + 32);
	size_t o = (size_t)sprintf(doc, "{\"message\":\"");

	for (size_t i = 0; i < n; i++)
		doc[o++] = i % 16 == 15 ? '!' : 'a';
	memcpy(doc + o, "\"}", 3);
	return doc;
}

Test(classify, a_runs_budget_stops_many_start_positions)
{
	teardown();
	open_with("classify:\n  rules:\n    - category: security\n      any:\n        message: '(a+)+$'\n"
		  "    - category: access\n      any:\n        message: '!'\n");
	char *doc = runs_of_a(64 * 1024);
	uint64_t before = vg_classify_ctx_stats(ctx)->regex_limit;

	/* The first rule's run is stopped by its budget; the second rule has
	 * its own and matches. */
	cr_expect_str_eq(cat(doc), "access");
	cr_expect_eq(vg_classify_ctx_stats(ctx)->regex_limit, before + 1);
	cr_expect_str_eq(cat("{\"message\":\"fine!\"}"), "access");
	cr_expect_eq(vg_classify_ctx_stats(ctx)->regex_limit, before + 1);
	free(doc);
}

Test(classify, a_runs_budget_is_steps_not_time)
{
	/* Deterministic: the same record is stopped, or classified, the same
	 * whatever the machine. 1,000 bytes of 5-'a' runs and a last "!aaaa":
	 * '(a+)+!a{4}$' fails at every earlier position after a few hundred
	 * steps each and matches at the last run, 40,346 steps in all; the
	 * budget is the limit and 8 steps a byte of the field (9,040 or
	 * 108,040 here). */
	char doc[1100] = "{\"message\":\"";
	size_t o = strlen(doc);

	for (int i = 0; i < 1000; i++)
		doc[o++] = i % 6 == 5 ? '!' : 'a';
	memcpy(doc + o, "!aaaa\"}", 8);
	for (int i = 0; i < 2; i++) {
		teardown();
		open_with(i ? "classify:\n  regex_run_limit: 100000\n  rules:\n    - category: security\n"
			      "      any:\n        message: '(a+)+!a{4}$'\n"
			    : "classify:\n  regex_run_limit: 1000\n  rules:\n    - category: security\n"
			      "      any:\n        message: '(a+)+!a{4}$'\n");
		cr_expect_str_eq(cat(doc), i ? "security" : "application", "limit %s", i ? "100000" : "1000");
		cr_expect_eq(vg_classify_ctx_stats(ctx)->regex_limit, i ? 0u : 1u);
	}
}

/* Each run has its own budget: ordinary patterns before the one that
 * decides do not use it up, whatever their number (a budget shared by the
 * record's runs let 170 such rules hide the 171st), and the record's
 * earlier runs, or a memo of them, do not change a run's outcome. */
Test(classify, runs_do_not_share_a_budget)
{
	struct vg_buf y = {0};
	char msg[400], doc[512];

	vg_buf_puts(&y, "classify:\n  rules:\n");
	for (int i = 0; i < 400; i++) {
		char r[128];

		snprintf(r, sizeof(r), "    - category: security\n      any:\n        message: '\\w+ zz%d\\b'\n",
			 100 + i);
		vg_buf_puts(&y, r);
	}
	vg_buf_puts(&y, "    - category: access\n      any:\n        message: '\\bdone\\b'\n");
	vg_buf_putc(&y, '\0');
	teardown();
	open_with(y.p);
	memset(msg, 0, sizeof(msg));
	for (int i = 0; i < 20; i++)
		memcpy(msg + i * 15, "w zz0123456789 ", 15);
	snprintf(doc, sizeof(doc), "{\"message\":\"%sdone\"}", msg);
	cr_expect_str_eq(cat(doc), "access");
	cr_expect_eq(vg_classify_ctx_stats(ctx)->regex_limit, 0u);
	vg_buf_free(&y);
}

/* The callouts make a pattern about 3.7 times as large: an alternation of
 * 3,000 words (18 KB) compiles as written but not with them. It is kept,
 * and runs as written under the match limit. */
Test(classify, a_pattern_too_large_to_count_still_runs)
{
	struct vg_buf y = {0};

	vg_buf_puts(&y, "classify:\n  rules:\n    - category: security\n      any:\n        message: '");
	for (int i = 0; i < 3000; i++) {
		char w[16];

		snprintf(w, sizeof(w), "%sword%d", i ? "|" : "", i);
		vg_buf_puts(&y, w);
	}
	vg_buf_puts(&y, "'\n");
	vg_buf_putc(&y, '\0');
	teardown();
	open_with(y.p);
	cr_expect_str_eq(cat("{\"message\":\"a word1500 here\"}"), "security");
	cr_expect_str_eq(cat("{\"message\":\"no such thing\"}"), "application");
	vg_buf_free(&y);
}

/* The shipped database rule's "a SQL verb, then a clause keyword on the
 * same line" takes time linear in the message: a long line of stack
 * frames naming update() (no keyword after) is answered plainly, not
 * stopped by the run's budget (it took 72 steps a byte, past the 8 a
 * run has), and the rule says what it said before on every case. */
Test(classify, the_database_rule_is_linear)
{
	static const struct {
		const char *msg;
		const char *cat;
	} t[] = {
		{"UPDATE inventory SET qty = qty - 1 WHERE sku = $1", "database"},
		{"query: select id from orders", "database"},
		{"insert into t values (1)", "database"},
		{"update the page, then set the flag", "database"},
		{"updates were set", "application"},            /* no verb: \\b after update */
		{"update\\nset later", "application"},          /* the keyword on the next line */
		{"noise\\nupdate x set y", "database"},         /* on a later line */
		{"update x\\nupdate y set z", "database"},      /* the second line's verb */
		{"delete from", "application"},                 /* the verb's from is not a keyword after it */
		{"delete from t where id = 1", "database"},
		{"update a update b update c", "application"},
	};
	char doc[256];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(doc, sizeof(doc), "{\"logger\":\"app\",\"message\":\"%s\"}", t[i].msg);
		cr_expect_str_eq(cat(doc), t[i].cat, "%s", t[i].msg);
	}
	struct vg_buf d = {0};

	vg_buf_puts(&d, "{\"logger\":\"app\",\"message\":\"");
	while (d.len < 8000)
		vg_buf_puts(&d, "at com.acme.orders.OrderService.update(OrderService.java:123) ");
	vg_buf_puts(&d, "\"}");
	vg_buf_putc(&d, '\0');
	uint64_t before = vg_classify_ctx_stats(ctx)->regex_limit;

	cr_expect_str_eq(cat(d.p), "application");
	cr_expect_eq(vg_classify_ctx_stats(ctx)->regex_limit, before, "answered, not stopped");
	vg_buf_free(&d);
}

Test(classify, retention_table_matches_the_design)
{
	static const struct {
		const char *cat;
		int level;
		unsigned days;
	} t[] = {
		{"application", VG_LEVEL_TRACE, 30},     {"application", VG_LEVEL_DEBUG, 30},
		{"application", VG_LEVEL_INFO, 30},      {"application", VG_LEVEL_WARNING, 90},
		{"application", VG_LEVEL_ERROR, 180},    {"application", VG_LEVEL_CRITICAL, 365},
		{"application", VG_LEVEL_UNKNOWN, 90},   {"security", VG_LEVEL_INFO, 365},
		{"security", VG_LEVEL_CRITICAL, 365},    {"security", VG_LEVEL_UNKNOWN, 365},
		{"access", VG_LEVEL_INFO, 90},           {"access", VG_LEVEL_ERROR, 90},
		{"database", VG_LEVEL_WARNING, 90},      {"database", VG_LEVEL_DEBUG, 90},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		cr_expect_eq(vg_classifier_retention(cls, vg_config_category_index(cfg, t[i].cat), t[i].level),
			     t[i].days, "%s/%d", t[i].cat, t[i].level);
	/* and through a record */
	cr_expect_eq(classify("{\"level\":\"error\",\"category\":\"application\"}")->retention_days, 180);
	cr_expect_eq(classify("{\"level\":60,\"message\":\"x\"}")->retention_days, 365);
}

Test(classify, level_and_unknown_level_counted)
{
	uint64_t before = vg_classify_ctx_stats(ctx)->unknown_level;

	cr_expect_eq(classify("{\"levelname\":\"WARNING\"}")->level, VG_LEVEL_WARNING);
	cr_expect_eq(classify("{\"severity\":3}")->level, VG_LEVEL_ERROR);
	cr_expect_eq(classify("{\"log\":{\"level\":\"FATAL\"}}")->level, VG_LEVEL_CRITICAL);
	cr_expect_eq(classify("{\"level\":\"loud\"}")->level, VG_LEVEL_UNKNOWN);
	cr_expect_eq(classify("{}")->level, VG_LEVEL_UNKNOWN);
	cr_expect_eq(vg_classify_ctx_stats(ctx)->unknown_level, before + 2);
}

Test(classify, derived_http_values)
{
	struct vg_record *r = classify("{\"http\":{\"method\":\"get\",\"path\":\"/api/v1/orders/42?x=1\","
				       "\"status\":503,\"duration_ms\":12.5},\"service\":\"orders\"}");

	cr_expect_eq(r->status, 503);
	cr_expect_eq(r->duration_ms, 12.5);
	cr_expect(vg_str_eq_cstr(r->endpoint, "/api/v1/orders/:id"));
	cr_expect(vg_str_eq_cstr(r->method, "GET"));
	cr_expect(vg_str_eq_cstr(r->service, "orders"));

	r = classify("{\"status_code\":\"404\",\"response_time\":\"7.25\",\"url\":\"https://h/a/1\"}");
	cr_expect_eq(r->status, 404);
	cr_expect_eq(r->duration_ms, 7.25);
	cr_expect(vg_str_eq_cstr(r->endpoint, "/a/:id"));

	r = classify("{\"status\":\"OK\",\"duration_ms\":-3,\"method\":\"G3T\",\"path\":\"\\/x\\/9\"}");
	cr_expect_eq(r->status, 0);
	cr_expect_eq(r->duration_ms, -3); /* as read: the aggregate step counts it negative */
	cr_expect_eq(r->method.len, 0u);
	cr_expect(vg_str_eq_cstr(r->endpoint, "/x/:id")); /* escapes decoded first */

	r = classify("{\"status\":700,\"service\":\"caf\\u00e9\"}");
	cr_expect_eq(r->status, 0);
	cr_expect(vg_str_eq_cstr(r->service, "caf\xc3\xa9"));
}

Test(classify, event_time_forms)
{
	cr_expect_eq(classify("{\"timestamp\":\"2026-11-01T00:00:00.123456Z\"}")->ts_ms, 1793491200123LL);
	cr_expect_eq(classify("{\"time\":1793491200123}")->ts_ms, 1793491200123LL);
	cr_expect_eq(classify("{\"ts\":1793491200.25}")->ts_ms, 1793491200250LL);
	cr_expect_eq(classify("{\"@timestamp\":\"1793491200\"}")->ts_ms, 1793491200000LL);
	cr_expect_eq(classify("{\"time\":\"yesterday\"}")->ts_ms, VG_TIME_NONE);
	cr_expect_eq(classify("{}")->ts_ms, VG_TIME_NONE);
}

/* ts_ms and ts_err of one record: the time, or VG_TIME_NONE and why. */
static void expect_time(const char *doc, int64_t ms, enum vg_time_err why)
{
	const struct vg_record *r = classify(doc);

	cr_expect_eq(r->ts_ms, ms, "%s: %lld, want %lld", doc, (long long)r->ts_ms, (long long)ms);
	cr_expect_eq(r->ts_err, why, "%s: %s, want %s", doc, vg_time_err_str((enum vg_time_err)r->ts_err),
		     vg_time_err_str(why));
}

Test(classify, event_time_and_why_it_is_missing)
{
	/* read */
	expect_time("{\"time\":\"2026-11-01T12:00:00\"}", 1793534400000LL, VG_TIME_OK); /* no zone: UTC */
	expect_time("{\"time\":\"2026-11-01 14:00:00.5+0200\"}", 1793534400500LL, VG_TIME_OK);
	expect_time("{\"time\":\"2016-12-31T23:59:60Z\"}", 1483228799999LL, VG_TIME_OK); /* leap second */
	expect_time("{\"time\":\"2026-11-01T12:00:00\\u005a\"}", 1793534400000LL, VG_TIME_OK); /* escaped Z */
	/* an epoch in nanoseconds, beyond a double's precision: the earlier ms */
	expect_time("{\"time\":1793491200123999999}", 1793491200123LL, VG_TIME_OK);
	expect_time("{\"time\":1.7934912e9}", 1793491200000LL, VG_TIME_OK);
	expect_time("{\"time\":\"1793491200.5\"}", 1793491200500LL, VG_TIME_OK);
	expect_time("{\"time\":0}", 0, VG_TIME_OK);
	/* refused, each with its reason */
	expect_time("{}", VG_TIME_NONE, VG_TIME_ABSENT);
	expect_time("{\"level\":\"info\"}", VG_TIME_NONE, VG_TIME_ABSENT);
	expect_time("{\"time\":null}", VG_TIME_NONE, VG_TIME_ABSENT);
	expect_time("{\"time\":true}", VG_TIME_NONE, VG_TIME_TYPE);
	expect_time("{\"time\":false}", VG_TIME_NONE, VG_TIME_TYPE);
	expect_time("{\"time\":{\"s\":1}}", VG_TIME_NONE, VG_TIME_TYPE);
	expect_time("{\"time\":[1793491200]}", VG_TIME_NONE, VG_TIME_TYPE);
	expect_time("{\"time\":\"yesterday\"}", VG_TIME_NONE, VG_TIME_SYNTAX);
	expect_time("{\"time\":\"\"}", VG_TIME_NONE, VG_TIME_SYNTAX);
	expect_time("{\"time\":\"2026-11-01T12:34:60Z\"}", VG_TIME_NONE, VG_TIME_RANGE);
	expect_time("{\"time\":\"2026-13-01T00:00:00Z\"}", VG_TIME_NONE, VG_TIME_RANGE);
	expect_time("{\"time\":-5}", VG_TIME_NONE, VG_TIME_RANGE);
	expect_time("{\"time\":1e300}", VG_TIME_NONE, VG_TIME_RANGE);
	expect_time("{\"time\":\"NaN\"}", VG_TIME_NONE, VG_TIME_RANGE);
	/* a record read after a refused one starts clean */
	expect_time("{\"time\":1793491200}", 1793491200000LL, VG_TIME_OK);
}

Test(classify, large_escaped_record_grows_scratch)
{
	static char doc[300000];
	size_t o = 0;

	o += (size_t)sprintf(doc, "{\"service\":\"");
	for (int i = 0; i < 40000; i++)
		o += (size_t)sprintf(doc + o, "\\u00e9");
	o += (size_t)sprintf(doc + o, "\",\"path\":\"/a/1\"}");
	struct vg_record *r = classify(doc);

	cr_expect_eq(r->service.len, 80000u);
	cr_expect(vg_str_eq_cstr(r->endpoint, "/a/:id"));
}

Test(classify, pattern_counters_set_their_bits)
{
	teardown();
	open_with("aggregate:\n  counters:\n"
		  "    - {name: auth_failures, match: {category: security}, field: message,"
		  " pattern: '(?i)authentication failed'}\n"
		  "    - {name: orders_errors, match: {service: orders, level: error}}\n");
	cr_expect_eq(classify("{\"category\":\"security\",\"message\":\"Authentication FAILED for bob\"}")->counters,
		     1u);
	cr_expect_eq(classify("{\"category\":\"security\",\"message\":\"login ok\"}")->counters, 0u);
	cr_expect_eq(classify("{\"category\":\"access\",\"message\":\"authentication failed\"}")->counters, 0u);
	cr_expect_eq(classify("{\"service\":\"orders\",\"level\":\"error\"}")->counters, 2u);
	cr_expect_eq(classify("{\"service\":\"orders\",\"level\":\"info\"}")->counters, 0u);
	cr_expect_eq(classify("{\"service\":\"orders\",\"level\":\"error\",\"category\":\"security\","
			      "\"message\":\"authentication failed\"}")
			     ->counters,
		     3u);
}

/* The memo of short subjects answers exactly as the pattern would: a
 * context that has seen every value before (memo warm, slots shared by
 * colliding values) classifies each record as a fresh context does. */
Test(classify, the_regex_memo_answers_as_the_pattern_does)
{
	static const char *loggers[] = {"nginx", "nginxx", "ngin", "http", "http.access", "xhttp", "auth", "authz",
					"db", "db.", ".db", "orders", "orders.api", "sql", "sqlalchemy.engine",
					"a-very-long-logger-name-that-is-past-the-memo-key.auth"};
	static const char *messages[] = {"GET /x", "GET/x", "get /x", "token", "tokens", "deadlock", "ok",
					 "slow query", "slow  query", "password", "passwords reset",
					 "permission denied for the user of a very long message text here"};
	const size_t nl = sizeof(loggers) / sizeof(loggers[0]), nm = sizeof(messages) / sizeof(messages[0]);
	char doc[256];
	size_t hits = 0;

	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < nl; i++) {
			for (size_t j = 0; j < nm; j++) {
				struct vg_classify_ctx *fresh;

				snprintf(doc, sizeof(doc), "{\"logger\":\"%s\",\"message\":\"%s\"}", loggers[i],
					 messages[j]);
				int warm = classify(doc)->category;

				cr_assert_eq(vg_classify_ctx_create(&fresh, cls), VG_OK);
				vg_classify(fresh, &rec);
				cr_expect_eq(rec.category, warm, "%s (round %d)", doc, round);
				vg_classify_ctx_destroy(fresh);
			}
		}
	}
	hits = vg_classify_ctx_stats(ctx)->regex_memo;
	cr_expect_gt(hits, 0u, "repeated values are answered from the memo");
	/* Far more values than slots, half matching: every slot is taken by
	 * many values in turn, and none answers for another. */
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 6000; i++) {
			int k = round ? 5999 - i : i;

			snprintf(doc, sizeof(doc), "{\"logger\":\"s%d.%s\",\"message\":\"ok\"}", k, k % 2 ? "auth" : "app");
			cr_assert_str_eq(cat(doc), k % 2 ? "security" : "application", "%s", doc);
		}
	}
}

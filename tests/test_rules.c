/* Tests for alert/: rule loading (errors with file and line), conditions,
 * selectors, the state machine, escalation, templates, fingerprints,
 * burn-rate maths and alert JSON, on hand-built series of windows. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/record.h"
#include "alert/alerts.h"
#include "alert/rules.h"

#define WIN 10000LL
#define MIN 60000LL
#define HOUR 3600000LL

static const char *const cats[] = {"access", "security", "application"};
static const char *const counters[] = {"auth_failures"};
static const struct vg_rules_env env = {.categories = cats,
					.n_categories = 3,
					.counters = counters,
					.n_counters = 1,
					.window_ms = WIN,
					.ring_ms = HOUR};
static struct vg_table_params tp;

static void setup(void)
{
	tp = (struct vg_table_params){.map = vg_sketch_map_get(0.01), .max_keys = 10000};
}

TestSuite(rules, .init = setup);

static struct vg_rules *parse_ok(const char *yaml)
{
	struct vg_rules *r;
	char err[512] = "";

	cr_assert_eq(vg_rules_parse(&r, yaml, strlen(yaml), "t.yaml", &env, err, sizeof(err)), VG_OK, "%s", err);
	return r;
}

static void parse_fails(const char *yaml, const char *want)
{
	struct vg_rules *r;
	char err[512] = "";

	cr_expect_eq(vg_rules_parse(&r, yaml, strlen(yaml), "t.yaml", &env, err, sizeof(err)), VG_ERR_CONFIG,
		     "accepted: %s", yaml);
	cr_expect(strstr(err, want) != NULL, "error '%s' does not contain '%s'", err, want);
}

#define RULE(body) "groups:\n  - name: g\n    rules:\n      - alert: A\n        labels: {severity: P3}\n" body

Test(rules, the_shipped_rules_load)
{
	const char *files[] = {"builtin"};
	struct vg_rules *r;
	char err[512] = "";

	cr_assert_eq(vg_rules_load(&r, files, 1, &env, err, sizeof(err)), VG_OK, "%s", err);
	cr_expect_eq(vg_rules_count(r), 10);
	vg_rules_destroy(r);
}

Test(rules, errors_name_the_file_and_line)
{
	parse_fails(RULE("        error_rate: {of: 5xx, window: 1m, above: 0.01}\n        bogus: 1\n"),
		    "t.yaml:7: unknown key 'bogus'");
	parse_fails(RULE("        latency: {quantile: 0.95, window: 2h, above: 1s}\n"), "at most 60 min");
	parse_fails(RULE("        latency: {quantile: 1.5, window: 1m, above: 1s}\n"), "t.yaml:6: quantile");
	parse_fails(RULE("        error_rate: {of: 5xx, window: 1m}\n"), "needs 'above' or 'below'");
	parse_fails(RULE("        error_rate: {of: 5xx, window: 1s, above: 0.1}\n"), "at least the base window");
	parse_fails(RULE("        error_rate: {of: 5xx, window: 1m, above: 0.1}\n        where: {level: ERROR}\n"),
		    "'level' is not a label of this condition");
	parse_fails(RULE("        count: {window: 1m, above: 1}\n        where: {service: \"=~(\"}\n"), "regex");
	parse_fails(RULE("        count: {counter: nope, window: 1m, above: 1}\n"), "not one of aggregate.counters");
	parse_fails(RULE("        count: {window: 1m, above: 1}\n        annotations: {s: \"{{ .Value }}\"}\n"),
		    "templates may use");
	parse_fails(RULE("        count: {window: 1m, above: 1}\n        for: soon\n"), "expected a duration");
	parse_fails("groups:\n  - name: g\n    rules:\n      - alert: A\n        count: {window: 1m, above: 1}\n",
		    "needs labels.severity");
	parse_fails("groups: [", "t.yaml:2: YAML syntax"); /* libyaml notices at the end */
}

/* A store fed window by window; each window's contents from a callback. */
struct series {
	struct vg_wstore *store;
	struct vg_table *t;
	struct vg_alerts *alerts;
	struct vg_rules *rules;
	struct vg_buf log; /* every notification, one JSON line each */
	int firing, resolved, pending;
	int64_t now;
};

static void on_alert(void *arg, const struct vg_alert *al)
{
	struct series *s = arg;

	vg_alert_json(al, &s->log);
	vg_buf_putc(&s->log, '\n');
	vg_buf_putc(&s->log, '\0'); /* kept a C string for strstr */
	s->log.len--;
	if (al->state == VG_ALERT_FIRING)
		s->firing++;
	else if (al->state == VG_ALERT_RESOLVED)
		s->resolved++;
	else
		s->pending++;
}

static void series_open(struct series *s, const char *yaml)
{
	struct vg_wstore_params p = {.window_ms = WIN, .ring_ms = HOUR, .retain_ms = 72 * HOUR, .map = tp.map};

	memset(s, 0, sizeof(*s));
	s->rules = parse_ok(yaml);
	cr_assert_eq(vg_wstore_create(&s->store, &p), VG_OK);
	cr_assert_eq(vg_table_create(&s->t, &tp), VG_OK);
	cr_assert_eq(vg_alerts_create(&s->alerts, s->rules, &tp), VG_OK);
}

static void series_close(struct series *s)
{
	vg_alerts_destroy(s->alerts);
	vg_rules_destroy(s->rules);
	vg_table_destroy(s->t);
	vg_wstore_destroy(s->store);
	vg_buf_free(&s->log);
}

static void http(struct series *s, const char *service, const char *endpoint, uint64_t count, uint64_t e5xx,
		 double latency_ms)
{
	struct vg_table_key k = {.window = s->now / WIN, .kind = VG_TABLE_HTTP, .service = vg_str_cstr(service),
			       .endpoint = vg_str_cstr(endpoint), .method = VG_STR_LIT("GET")};
	struct vg_table_entry *e = vg_table_get(s->t, &k);

	e->count += count;
	e->errors_5xx += e5xx;
	for (uint64_t i = 0; i < count && !isnan(latency_ms); i++)
		vg_table_add_latency(s->t, e, latency_ms);
}

static void logs(struct series *s, const char *service, int category, int level, uint64_t count)
{
	struct vg_table_key k = {.window = s->now / WIN, .kind = VG_TABLE_LOG, .service = vg_str_cstr(service),
			       .category = (uint8_t)category, .level = (uint8_t)level};

	vg_table_get(s->t, &k)->count += count;
}

/* Close the current window and evaluate. */
static void tick(struct series *s)
{
	struct vg_window w = {.start_ms = s->now, .end_ms = s->now + WIN, .table = s->t};

	cr_assert_eq(vg_wstore_add(s->store, &w), VG_OK);
	s->now += WIN;
	cr_assert_eq(vg_alerts_eval(s->alerts, s->store, s->now, on_alert, s), VG_OK);
	vg_table_reset(s->t);
}

#define ERR_RULE                                                                                                 \
	RULE("        error_rate: {of: 5xx, window: 1m, above: 0.05, min_count: 10}\n"                          \
	     "        for: 1m\n"                                                                                 \
	     "        annotations: {summary: \"{{ $labels.service }} at {{ $value }}\"}\n")

Test(rules, pending_firing_resolved)
{
	struct series s;

	series_open(&s, ERR_RULE);
	for (int i = 0; i < 12; i++) { /* 2 minutes healthy */
		http(&s, "web", "/a", 100, 1, 5);
		tick(&s);
	}
	cr_expect_eq(s.pending + s.firing, 0, "1%% 5xx is under 5%%: nothing");
	int fired_at = -1;

	for (int i = 0; i < 18; i++) { /* a 3-minute burst of 20% */
		http(&s, "web", "/a", 100, 20, 5);
		tick(&s);
		if (s.firing && fired_at < 0)
			fired_at = i;
	}
	cr_expect_eq(s.pending, 1);
	cr_expect_eq(s.firing, 1, "fires once, not every window");
	/* The 1m rate passes 5% in the first burst window (20/(100*6)... no:
	 * 5 healthy windows + 1 burst = 25/600 = 4.2%; two burst windows =
	 * 44/600 = 7.3%): pending then, firing one minute later. */
	cr_expect_eq(fired_at, 1 + 6, "pending at burst window 1, firing 1m later (got %d)", fired_at);
	cr_expect(strstr(s.log.p, "\"summary\":\"web at 0.") != NULL, "%.*s", (int)s.log.len, s.log.p);
	for (int i = 0; i < 12 && !s.resolved; i++) {
		http(&s, "web", "/a", 100, 0, 5);
		tick(&s);
	}
	cr_expect_eq(s.resolved, 1);
	cr_expect(strstr(s.log.p, "\"state\":\"resolved\"") != NULL);
	cr_expect(strstr(s.log.p, "\"endsAt\":") != NULL);
	series_close(&s);
}

Test(rules, a_short_blip_stays_pending_and_is_dropped)
{
	struct series s;

	series_open(&s, ERR_RULE);
	for (int i = 0; i < 6; i++) {
		http(&s, "web", "/a", 100, i == 5 ? 60 : 0, 5);
		tick(&s);
	}
	cr_expect_eq(s.pending, 1);
	for (int i = 0; i < 12; i++) {
		http(&s, "web", "/a", 100, 0, 5);
		tick(&s);
	}
	cr_expect_eq(s.firing, 0, "never true for 1m");
	cr_expect_eq(s.resolved, 0, "a pending alert that never fired resolves nothing");
	series_close(&s);
}

Test(rules, keep_firing_for_holds_a_flapping_alert)
{
	struct series s;

	series_open(&s, RULE("        error_rate: {of: 5xx, window: 10s, above: 0.5, min_count: 1}\n"
			     "        keep_firing_for: 30s\n"));
	http(&s, "web", "/a", 10, 10, 5);
	tick(&s);
	cr_expect_eq(s.firing, 1, "for: 0 fires at once");
	for (int i = 0; i < 2; i++) { /* 20 s quiet: still firing */
		http(&s, "web", "/a", 10, 0, 5);
		tick(&s);
	}
	cr_expect_eq(s.resolved, 0);
	http(&s, "web", "/a", 10, 0, 5);
	tick(&s);
	cr_expect_eq(s.resolved, 1, "resolved once quiet for keep_firing_for");
	series_close(&s);
}

Test(rules, selectors_and_by_make_separate_instances)
{
	struct series s;

	series_open(&s, RULE("        error_rate: {of: 5xx, window: 10s, above: 0.5, min_count: 1}\n"
			     "        where: {service: \"!~^test-\", endpoint: \"!=/health\"}\n"
			     "        by: [service, endpoint]\n"));
	http(&s, "web", "/a", 10, 10, 5);
	http(&s, "web", "/b", 10, 10, 5);
	http(&s, "web", "/health", 10, 10, 5);
	http(&s, "test-web", "/a", 10, 10, 5);
	http(&s, "api", "/a", 10, 0, 5);
	tick(&s);
	cr_expect_eq(s.firing, 2, "web /a and web /b only:\n%.*s", (int)s.log.len, s.log.p);
	cr_expect(strstr(s.log.p, "\"endpoint\":\"/b\"") != NULL);
	cr_expect(strstr(s.log.p, "test-web") == NULL);
	cr_expect(strstr(s.log.p, "/health") == NULL);
	series_close(&s);
}

/* A `where` pattern runs on label values the records chose (an endpoint
 * a scanner sent, a service name): it has the classifier's bound, 100000
 * steps from a position, not PCRE2's own 10 million (25 ms a value, on
 * every entry of every close). Stopped, it counts as not matching, and the
 * engine says so in its log. The first branch of this pattern needs about
 * a million steps before the second matches "a"x18 "!". */
Test(rules, a_where_pattern_has_a_match_limit)
{
	struct series s;
	int fds[2];
	char line[4096] = "";

	cr_assert_eq(pipe(fds), 0);
	vg_log_set_fd(fds[1]);
	series_open(&s, RULE("        count: {window: 10s, above: 0}\n"
			     "        where: {service: \"=~^(?:(a+)+x|a+!)$\"}\n"
			     "        by: [service]\n"));
	logs(&s, "aaaaaaaaaaaaaaaaaa!", 2, VG_LEVEL_INFO, 5);
	logs(&s, "a!", 2, VG_LEVEL_INFO, 5);
	tick(&s);
	vg_log_set_fd(2);
	close(fds[1]);
	ssize_t n = read(fds[0], line, sizeof(line) - 1);

	close(fds[0]);
	cr_expect_eq(s.firing, 1, "a! only:\n%.*s", (int)s.log.len, s.log.p);
	cr_expect(strstr(s.log.p, "aaaaaaaaaaaaaaaaaa!") == NULL);
	cr_expect(n > 0 && strstr(line, "match limit") != NULL, "the log says it: %s", line);
	series_close(&s);
}

Test(rules, latency_quantile)
{
	struct series s;

	series_open(&s, RULE("        latency: {quantile: 0.95, window: 1m, above: 500ms, min_count: 10}\n"
			     "        by: [service, endpoint]\n"));
	for (int i = 0; i < 6; i++) {
		http(&s, "web", "/fast", 100, 0, 20);
		http(&s, "web", "/slow", 90, 0, 100);
		http(&s, "web", "/slow", 10, 0, 900); /* 10%% at 900 ms: p95 is 900 */
		tick(&s);
	}
	cr_expect_eq(s.firing, 1);
	cr_expect(strstr(s.log.p, "\"endpoint\":\"/slow\"") != NULL);
	double v = strtod(strstr(s.log.p, "\"value\":") + 8, NULL);

	cr_expect(fabs(v - 900) <= 9, "p95 %g within 1%% of 900", v);
	series_close(&s);
}

Test(rules, count_absent_and_log_error_rate)
{
	struct series s;

	series_open(&s, "groups:\n  - name: g\n    rules:\n"
			"      - alert: Sec\n        count: {window: 1m, above: 5}\n"
			"        where: {category: security, level: error}\n        labels: {severity: P2}\n"
			"      - alert: Quiet\n        absent: {window: 1m, lookback: 10m}\n"
			"        labels: {severity: P2}\n"
			"      - alert: Errs\n        error_rate: {of: level, window: 1m, above: 0.2, min_count: 1}\n"
			"        labels: {severity: P3}\n");
	for (int i = 0; i < 6; i++) {
		logs(&s, "web", 1, VG_LEVEL_ERROR, 1); /* 6 security errors a minute */
		logs(&s, "web", 1, VG_LEVEL_INFO, 10);
		logs(&s, "db", 2, VG_LEVEL_INFO, 10);
		tick(&s);
	}
	cr_expect(strstr(s.log.p, "\"alertname\":\"Sec\",\"state\":\"firing\"") != NULL, "%.*s", (int)s.log.len,
		  s.log.p);
	cr_expect(strstr(s.log.p, "Quiet") == NULL, "nobody is silent yet");
	cr_expect(strstr(s.log.p, "Errs") == NULL, "1 in 11 is under 20%%");
	for (int i = 0; i < 6; i++) { /* db goes silent, web logs errors only */
		logs(&s, "web", 2, VG_LEVEL_ERROR, 10);
		tick(&s);
	}
	cr_expect(strstr(s.log.p, "\"alertname\":\"Quiet\",\"state\":\"firing\"") != NULL);
	cr_expect(strstr(s.log.p, "\"service\":\"db\"") != NULL);
	cr_expect(strstr(s.log.p, "\"alertname\":\"Errs\",\"state\":\"firing\"") != NULL);
	series_close(&s);
}

/* Burn rate, by hand: objective 99% (budget 1%), pair 10m/1m factor 5.
 * 100 requests a window; 4% errors burn at 4x, under the factor. */
Test(rules, burn_rate_needs_both_windows)
{
	struct series s;
	const char *yaml = RULE("        burn_rate:\n          objective: 0.99\n"
				"          windows: [{long: 10m, short: 1m, factor: 5}]\n          min_count: 10\n");

	series_open(&s, yaml);
	for (int i = 0; i < 60; i++) {
		http(&s, "web", "/a", 100, 4, 5);
		tick(&s);
	}
	cr_expect_eq(s.firing, 0, "4x < 5");
	/* k windows at 20%: the long window burns 4 + 16k/60, past 5 at k = 4
	 * (5.0667x); the short one is past 5 from k = 1. */
	int fired_at = 0;

	for (int k = 1; k <= 6; k++) {
		http(&s, "web", "/a", 100, 20, 5);
		tick(&s);
		if (s.firing && !fired_at)
			fired_at = k;
	}
	cr_expect_eq(s.firing, 1);
	cr_expect_eq(fired_at, 4);
	double v = strtod(strstr(s.log.p, "\"value\":") + 8, NULL);

	cr_expect(fabs(v - (4 + 64.0 / 60)) < 1e-9, "long-window burn %g, want 5.0667", v);
	series_close(&s);

	/* A short spike alone: the short window burns, the long one does not. */
	series_open(&s, yaml);
	for (int i = 0; i < 60; i++) {
		http(&s, "web", "/a", 100, 0, 5);
		tick(&s);
	}
	for (int i = 0; i < 3; i++) {
		http(&s, "web", "/a", 100, 50, 5);
		tick(&s);
	}
	cr_expect_eq(s.firing, 0, "long window (150/6000 = 2.5x) under 5");
	series_close(&s);
}

static int count_in(const char *log, const char *needle)
{
	int n = 0;

	for (const char *q = log; (q = strstr(q, needle)); q += strlen(needle))
		n++;
	return n;
}

/* Escalation keeps the severity (a ticket never becomes a page): after
 * escalate_after the alert is sent again with escalation="L2", once; its
 * resolve resolves both label sets sent, each with its own fingerprint. */
Test(rules, escalation_keeps_the_severity_and_resolves_every_label_set)
{
	struct series s;

	series_open(&s, "groups:\n  - name: g\n    rules:\n      - alert: A\n"
			"        error_rate: {of: 5xx, window: 10s, above: 0.5, min_count: 1}\n"
			"        escalate_after: 1m\n        labels: {severity: P1}\n");
	for (int i = 0; i < 30; i++) {
		http(&s, "web", "/a", 10, 10, 5);
		tick(&s);
	}
	cr_expect_eq(s.firing, 2, "fired, escalated to L2 at 1m, no further:\n%s", s.log.p);
	cr_expect_eq(count_in(s.log.p, "\"state\":\"firing\",\"severity\":\"P1\""), 2, "%s", s.log.p);
	cr_expect_eq(count_in(s.log.p, "\"escalation\":\"L2\""), 1, "%s", s.log.p);
	http(&s, "web", "/a", 10, 0, 5);
	tick(&s);
	cr_expect_eq(s.resolved, 2, "both label sets resolved:\n%s", s.log.p);
	cr_expect_eq(count_in(s.log.p, "\"escalation\":\"L2\""), 2, "%s", s.log.p);
	/* two fingerprints, each fired once and resolved once */
	const char *f = strstr(s.log.p, "\"fingerprint\":\""), *g = strstr(f + 15, "\"fingerprint\":\"");
	char fp1[40], fp2[40];

	snprintf(fp1, sizeof(fp1), "\"fingerprint\":\"%.16s\"", f + 15);
	snprintf(fp2, sizeof(fp2), "\"fingerprint\":\"%.16s\"", g + 15);
	cr_expect(strcmp(fp1, fp2) != 0, "the escalated label set has its own fingerprint");
	cr_expect_eq(count_in(s.log.p, fp1), 2);
	cr_expect_eq(count_in(s.log.p, fp2), 2);
	series_close(&s);
}

/* keep_firing_for holds an alert firing: it escalates all the same. */
Test(rules, escalation_during_keep_firing_for)
{
	struct series s;

	series_open(&s, "groups:\n  - name: g\n    rules:\n      - alert: A\n"
			"        error_rate: {of: 5xx, window: 10s, above: 0.5, min_count: 1}\n"
			"        keep_firing_for: 5m\n        escalate_after: 1m\n        labels: {severity: P1}\n");
	for (int i = 0; i < 3; i++) {
		http(&s, "web", "/a", 10, 10, 5);
		tick(&s);
	}
	for (int i = 0; i < 12; i++) { /* healthy: kept firing */
		http(&s, "web", "/a", 10, 0, 5);
		tick(&s);
	}
	cr_expect_eq(s.firing, 2, "fired, then L2 at 1m while kept firing:\n%s", s.log.p);
	cr_expect_eq(count_in(s.log.p, "\"escalation\":\"L2\""), 1, "%s", s.log.p);
	cr_expect_eq(s.resolved, 0);
	series_close(&s);
}

/* escalate_after: 0s turns escalation off, whatever the file's map says;
 * `escalation` is the engine's label, not a rule's. */
Test(rules, escalate_after_0s_never_escalates)
{
	struct series s;

	series_open(&s, "escalation: {P1: 1m}\ngroups:\n  - name: g\n    rules:\n      - alert: A\n"
			"        error_rate: {of: 5xx, window: 10s, above: 0.5, min_count: 1}\n"
			"        escalate_after: 0s\n        labels: {severity: P1}\n");
	for (int i = 0; i < 30; i++) {
		http(&s, "web", "/a", 10, 10, 5);
		tick(&s);
	}
	cr_expect_eq(s.firing, 1, "%s", s.log.p);
	series_close(&s);
	parse_fails("groups:\n  - name: g\n    rules:\n      - alert: A\n        count: {window: 1m, above: 1}\n"
		    "        labels: {severity: P1, escalation: team-x}\n",
		    "'escalation' is set by the engine");
}

/* Two silent groups of an escalating absent rule come back in one window:
 * each resolves both its label sets, says "recovered" (found by ASan: the
 * annotation was looked up among instances freed earlier in the pass). */
Test(rules, absent_groups_recover_together_after_escalating)
{
	struct series s;

	series_open(&s, "groups:\n  - name: g\n    rules:\n"
			"      - alert: Quiet\n        absent: {window: 1m}\n"
			"        escalate_after: 1m\n        labels: {severity: P1}\n");
	for (int i = 0; i < 12; i++) {
		logs(&s, "a", 2, VG_LEVEL_INFO, 1);
		logs(&s, "b", 2, VG_LEVEL_INFO, 1);
		logs(&s, "c", 2, VG_LEVEL_INFO, 1);
		tick(&s);
	}
	for (int i = 0; i < 24; i++) {
		logs(&s, "c", 2, VG_LEVEL_INFO, 1);
		tick(&s);
	}
	cr_expect_eq(s.firing, 4, "a and b, L1 and L2:\n%s", s.log.p);
	logs(&s, "a", 2, VG_LEVEL_INFO, 1);
	logs(&s, "b", 2, VG_LEVEL_INFO, 1);
	logs(&s, "c", 2, VG_LEVEL_INFO, 1);
	tick(&s);
	cr_expect_eq(s.resolved, 4, "%s", s.log.p);
	cr_expect_eq(count_in(s.log.p, "\"resolution\":\"recovered\""), 4, "%s", s.log.p);
	series_close(&s);
}

/* A reload that changes an absent rule's `by`: the groups it knew are
 * forgotten (under the new `by` they are other groups), and its instances
 * end (their keys are the old `by`'s values), resolved under the old labels. */
Test(rules, a_reload_that_changes_by_starts_the_groups_afresh)
{
	struct series s;
	size_t ended = 0;

	series_open(&s, "groups:\n  - name: g\n    rules:\n"
			"      - alert: Quiet\n        absent: {window: 1m}\n        by: [service, category]\n"
			"        labels: {severity: P3}\n"
			"      - alert: Nothing\n        absent: {window: 1m}\n        by: []\n"
			"        labels: {severity: P1}\n");
	for (int i = 0; i < 6; i++) {
		logs(&s, "web", 2, VG_LEVEL_INFO, 1);
		tick(&s);
	}
	for (int i = 0; i < 7; i++)
		tick(&s); /* everything silent: both fire */
	cr_expect_eq(s.firing, 2, "%s", s.log.p);
	struct vg_rules *next = parse_ok("groups:\n  - name: g\n    rules:\n"
					 "      - alert: Quiet\n        absent: {window: 1m}\n"
					 "        labels: {severity: P3}\n"
					 "      - alert: Nothing\n        absent: {window: 1m}\n        by: [service]\n"
					 "        labels: {severity: P1}\n");

	cr_assert_eq(vg_alerts_set_rules(s.alerts, next, s.now, on_alert, &s, &ended), VG_OK);
	vg_rules_destroy(s.rules);
	s.rules = next;
	cr_expect_eq(ended, 2);
	cr_expect_eq(s.resolved, 2, "%s", s.log.p);
	for (int i = 0; i < 12; i++) {
		logs(&s, "web", 2, VG_LEVEL_INFO, 1);
		tick(&s);
	}
	cr_expect_eq(s.firing, 2, "web logs: nothing fires again:\n%s", s.log.p);
	series_close(&s);
}

/* The file's escalation map: P1 and P2 escalate, P3 and P4 never do. */
Test(rules, tickets_never_escalate)
{
	struct series s;

	series_open(&s, "escalation: {P1: 1m, P2: 2m}\ngroups:\n  - name: g\n    rules:\n"
			"      - alert: Ticket\n"
			"        error_rate: {of: 5xx, window: 10s, above: 0.5, min_count: 1}\n"
			"        labels: {severity: P3}\n"
			"      - alert: Page\n"
			"        error_rate: {of: 5xx, window: 10s, above: 0.5, min_count: 1}\n"
			"        labels: {severity: P2}\n");
	for (int i = 0; i < 360; i++) { /* an hour */
		http(&s, "web", "/a", 10, 10, 5);
		tick(&s);
	}
	cr_expect_eq(count_in(s.log.p, "\"alertname\":\"Ticket\",\"state\""), 1, "%s", s.log.p);
	cr_expect_eq(count_in(s.log.p, "\"alertname\":\"Page\",\"state\""), 2, "%s", s.log.p);
	cr_expect_eq(count_in(s.log.p, "\"severity\":\"P1\""), 0, "%s", s.log.p);
	series_close(&s);
}

/* A resolved change carries the value at resolution, not the last one
 * that fired. */
Test(rules, resolved_carries_the_value_at_resolution)
{
	struct series s;

	series_open(&s, RULE("        error_rate: {of: 5xx, window: 10s, above: 0.05, min_count: 10}\n"));
	for (int i = 0; i < 30; i++) {
		http(&s, "web", "/a", 100, i < 20 ? 0 : 40, 5);
		tick(&s);
	}
	http(&s, "web", "/a", 100, 2, 5);
	tick(&s);
	cr_assert_eq(s.resolved, 1, "%s", s.log.p);
	const char *r = strstr(s.log.p, "\"state\":\"resolved\"");
	double v = strtod(strstr(r, "\"value\":") + 8, NULL);

	cr_expect(fabs(v - 0.02) < 1e-9, "resolved at 2%% 5xx, got value %g", v);
	series_close(&s);
}

/* A pending alert whose condition ends before `for` is closed: an
 * "inactive" change, for the --alerts log (the notifiers get neither). */
Test(rules, a_pending_that_ends_is_closed)
{
	struct series s;

	series_open(&s, RULE("        error_rate: {of: 5xx, window: 1m, above: 0.05, min_count: 10}\n"
			     "        for: 2m\n"));
	for (int i = 0; i < 24; i++) {
		http(&s, "web", "/a", 100, i >= 6 && i < 9 ? 50 : 0, 5);
		tick(&s);
	}
	cr_expect_eq(s.pending, 2, "pending, then inactive:\n%s", s.log.p);
	cr_expect_eq(count_in(s.log.p, "\"state\":\"inactive\""), 1, "%s", s.log.p);
	cr_expect_eq(s.firing + s.resolved, 0);
	series_close(&s);
}

/* Burn-rate and ratio rules judge only once their long window holds
 * `coverage` of data (default: the short window; a ratio's own window):
 * at start the long window is the whole stream. */
Test(rules, burn_rate_waits_for_coverage)
{
	struct series s;

	series_open(&s, RULE("        burn_rate:\n"
			     "          objective: 0.999\n          of: 5xx\n"
			     "          windows: [{long: 1h, short: 5m, factor: 1}]\n"
			     "          min_count: 100\n"));
	int fired_at = -1;

	for (int i = 0; i < 60 && fired_at < 0; i++) {
		http(&s, "web", "/a", 1000, 2, 5); /* 0.2%: 2x the budget */
		tick(&s);
		if (s.firing)
			fired_at = i;
	}
	cr_expect_eq(fired_at, 29, "fires once 5m of data are in (window 29), got %d", fired_at);
	series_close(&s);

	series_open(&s, RULE("        burn_rate:\n"
			     "          objective: 0.999\n          of: 5xx\n"
			     "          windows: [{long: 1h, short: 5m, factor: 1, coverage: 30m}]\n"
			     "          min_count: 100\n"
			     "        for: 1m\n"));
	fired_at = -1;
	for (int i = 0; i < 400 && fired_at < 0; i++) {
		http(&s, "web", "/a", 1000, 2, 5);
		tick(&s);
		if (s.firing)
			fired_at = i;
	}
	cr_expect_eq(fired_at, 179 + 6, "coverage 30m, then for 1m, got %d", fired_at);
	series_close(&s);

	series_open(&s, RULE("        error_rate: {of: 5xx, window: 1m, above: 0.05, min_count: 10}\n"));
	fired_at = -1;
	for (int i = 0; i < 60 && fired_at < 0; i++) {
		http(&s, "web", "/a", 100, 50, 5);
		tick(&s);
		if (s.firing)
			fired_at = i;
	}
	cr_expect_eq(fired_at, 5, "a ratio waits for its window to be covered, got %d", fired_at);
	series_close(&s);
}

/* count with a baseline: the value is the window's count over what the
 * trailing baseline predicts for a window; `min_count` is an absolute floor
 * on the window's count (above) or on the prediction (below). */
Test(rules, count_against_the_baseline)
{
	struct series s;
	const char *yaml = "groups:\n  - name: g\n    rules:\n"
			   "      - alert: Surge\n"
			   "        count: {counter: auth_failures, window: 1m, above: 5, baseline: 1h, min_count: 50}\n"
			   "        labels: {severity: P2}\n"
			   "      - alert: Drop\n"
			   "        count: {window: 1m, below: 0.1, baseline: 1h, min_count: 60}\n"
			   "        labels: {severity: P3}\n";

	series_open(&s, yaml);
	for (int i = 0; i < 360; i++) { /* an hour: 60 auth failures a minute is auth's normal */
		struct vg_table_key k = {.window = s.now / WIN, .kind = VG_TABLE_COUNTER,
				       .service = VG_STR_LIT("auth"), .counter = 0};

		vg_table_get(s.t, &k)->count += 10;
		logs(&s, "auth", 0, VG_LEVEL_INFO, 100);
		logs(&s, "tiny", 0, VG_LEVEL_INFO, i % 10 == 0);
		tick(&s);
	}
	cr_expect_eq(s.firing, 0, "its usual rate fires nothing:\n%s", s.log.p);
	for (int i = 0; i < 12; i++) { /* 2 minutes: 8x the failures, 5% of the records */
		struct vg_table_key k = {.window = s.now / WIN, .kind = VG_TABLE_COUNTER,
				       .service = VG_STR_LIT("auth"), .counter = 0};

		vg_table_get(s.t, &k)->count += 80;
		logs(&s, "auth", 0, VG_LEVEL_INFO, 5);
		tick(&s);
	}
	cr_expect_eq(count_in(s.log.p, "\"alertname\":\"Surge\",\"state\""), 1, "%s", s.log.p);
	cr_expect_eq(count_in(s.log.p, "\"alertname\":\"Drop\",\"state\""), 1, "auth drops; tiny (under the floor) not:\n%s",
		     s.log.p);
	cr_expect(strstr(s.log.p, "\"service\":\"tiny\"") == NULL);
	series_close(&s);
}

Test(rules, a_replay_gives_the_same_alerts)
{
	struct series a, b;

	for (int run = 0; run < 2; run++) {
		struct series *s = run ? &b : &a;

		series_open(s, ERR_RULE);
		for (int i = 0; i < 60; i++) {
			http(s, i % 2 ? "web" : "api", "/a", 100, (uint64_t)((i / 10) % 2 ? 30 : 0), 5);
			tick(s);
		}
	}
	cr_expect_eq(a.log.len, b.log.len);
	cr_expect(a.log.len && memcmp(a.log.p, b.log.p, a.log.len) == 0);
	series_close(&a);
	series_close(&b);
}

/* A reload: a rule still there (by name) keeps its firing instance, which
 * fires no second time; a rule removed resolves its firing instance; a new
 * rule starts from nothing. */
Test(rules, set_rules_keeps_state_by_rule_name)
{
	struct series s;

	series_open(&s, "groups:\n  - name: g\n    rules:\n"
			"      - alert: Kept\n        count: {window: 10s, above: 0}\n        labels: {severity: P3}\n"
			"      - alert: Gone\n        count: {window: 10s, above: 0}\n"
			"        labels: {severity: P3}\n");
	logs(&s, "web", 2, VG_LEVEL_INFO, 5);
	tick(&s);
	cr_assert_eq(s.firing, 2, "both fire at once (no for)");
	struct vg_rules *next = parse_ok("groups:\n  - name: g\n    rules:\n"
					 "      - alert: New\n        count: {window: 10s, above: 100}\n"
					 "        labels: {severity: P4}\n"
					 "      - alert: Kept\n        count: {window: 10s, above: 0}\n"
					 "        for: 1m\n        labels: {severity: P2}\n");

	size_t ended = 0;

	cr_expect_eq(vg_alerts_set_rules(s.alerts, next, s.now, on_alert, &s, &ended), VG_OK);
	cr_expect_eq(ended, 1, "Gone's instance ended");
	cr_expect_eq(s.resolved, 1);
	cr_expect(strstr(s.log.p, "\"alertname\":\"Gone\",\"state\":\"resolved\"") != NULL, "%s", s.log.p);
	vg_rules_destroy(s.rules); /* the engine holds no pointer into the old rules now */
	s.rules = next;
	size_t pending, firing;

	for (int i = 0; i < 3; i++) {
		logs(&s, "web", 2, VG_LEVEL_INFO, 5);
		tick(&s);
	}
	vg_alerts_counts(s.alerts, &pending, &firing);
	cr_expect_eq(firing, 1, "Kept is still firing, although its new `for` has not passed since the reload");
	cr_expect_eq(pending, 0, "New's threshold is not reached");
	cr_expect_eq(s.firing, 2, "no second firing notification for Kept");
	for (int i = 0; i < 2; i++)
		tick(&s); /* silent windows */
	cr_expect_eq(s.resolved, 2, "Kept resolves under the new rules");
	cr_expect(strstr(s.log.p, "\"alertname\":\"Kept\",\"state\":\"resolved\",\"severity\":\"P2\"") != NULL,
		  "%s", s.log.p);
	series_close(&s);
}

/* A reload to more rules than before: the fast path's per-rule state is
 * sized for the new rules (under ASan, an overrun here would be caught),
 * and the new rules decide from the next window on. */
Test(rules, set_rules_to_more_rules)
{
	struct series s;

	series_open(&s, "groups:\n  - name: g\n    rules:\n"
			"      - alert: One\n        count: {window: 10s, above: 0}\n        labels: {severity: P3}\n");
	logs(&s, "web", 2, VG_LEVEL_INFO, 5);
	tick(&s);
	cr_assert_eq(s.firing, 1);
	struct vg_rules *next = parse_ok("groups:\n  - name: g\n    rules:\n"
					 "      - alert: A\n        count: {window: 10s, above: 0}\n"
					 "        labels: {severity: P4}\n"
					 "      - alert: B\n        count: {window: 20s, above: 0}\n"
					 "        labels: {severity: P4}\n"
					 "      - alert: One\n        count: {window: 30s, above: 0}\n"
					 "        labels: {severity: P3}\n");
	size_t ended = 1;

	cr_assert_eq(vg_alerts_set_rules(s.alerts, next, s.now, on_alert, &s, &ended), VG_OK);
	cr_expect_eq(ended, 0);
	vg_rules_destroy(s.rules);
	s.rules = next;
	logs(&s, "web", 2, VG_LEVEL_INFO, 5);
	tick(&s);
	cr_expect_eq(s.firing, 3, "A and B fire; One, kept, fires no second time");
	series_close(&s);
}

/* Every kind of condition, several instances each, for the test below. */
#define MANY_RULES                                                                                               \
	"groups:\n  - name: g\n    rules:\n"                                                                     \
	"      - alert: E5\n        error_rate: {of: 5xx, window: 1m, above: 0.05, min_count: 10}\n"             \
	"        by: [service, endpoint]\n        for: 30s\n        labels: {severity: P2}\n"                    \
	"      - alert: E4\n        error_rate: {of: both, window: 5m, above: 0.1, min_count: 10}\n"             \
	"        where: {endpoint: \"=~^/e[01]\"}\n        labels: {severity: P3}\n"                             \
	"      - alert: L90\n        latency: {quantile: 0.9, window: 1m, above: 300ms, min_count: 20}\n"        \
	"        by: [service, endpoint]\n        for: 20s\n        labels: {severity: P3}\n"                    \
	"      - alert: L50below\n        latency: {quantile: 0.5, window: 5m, below: 20, min_count: 20}\n"      \
	"        labels: {severity: P4}\n"                                                                       \
	"      - alert: Lev\n        error_rate: {of: level, window: 5m, above: 0.2, min_count: 10}\n"           \
	"        labels: {severity: P2}\n"                                                                       \
	"      - alert: Cnt\n        count: {window: 2m, above: 150}\n        where: {level: ERROR}\n"           \
	"        by: [service, category]\n        labels: {severity: P4}\n"                                      \
	"      - alert: CntBelow\n        count: {window: 1m, below: 3}\n        labels: {severity: P4}\n"       \
	"      - alert: Auth\n        count: {counter: auth_failures, window: 5m, above: 40}\n"                  \
	"        labels: {severity: P2}\n"                                                                       \
	"      - alert: Silent\n        absent: {window: 3m, lookback: 30m}\n        labels: {severity: P2}\n"   \
	"      - alert: Burn\n        burn_rate:\n          objective: 0.99\n          of: 5xx\n"                \
	"          windows: [{long: 1h, short: 5m, factor: 3}, {long: 6h, short: 30m, factor: 1.5}]\n"          \
	"          min_count: 50\n        labels: {severity: P1}\n"

/* Window i of a churning fleet: four services whose endpoints turn
 * erroring, slow, fast or silent in phases of different lengths. */
static void fleet_window(struct series *s, int64_t i)
{
	static const char *const svcs[] = {"s0", "s1", "s2", "s3"};
	static const char *const eps[] = {"/e0", "/e1", "/e2", "/e3"};

	for (int v = 0; v < 4; v++) {
		int64_t phase = (i + v * 17) / (20 + 7 * v), mode = (phase * 2654435761u >> 7) % 6;

		if (mode == 5) { /* silent; s0 all but: a record every fourth window, else an empty key */
			if (v == 0)
				logs(s, svcs[v], 2, VG_LEVEL_INFO, (uint64_t)(i % 4 == 0));
			continue;
		}
		for (int e = 0; e < 4; e++) {
			uint64_t n = 5 + (uint64_t)((i * 7 + e * 3 + v) % 11);
			uint64_t bad = mode == 1 || (mode == 2 && e < 2) ? n / 4 : 0;
			double ms = mode == 3 && e != 3 ? 400 + (double)(i % 50) : mode == 4 ? 10 : 60 + (double)e;
			struct vg_table_key k = {.window = s->now / WIN, .kind = VG_TABLE_HTTP,
					       .service = vg_str_cstr(svcs[v]), .endpoint = vg_str_cstr(eps[e]),
					       .method = VG_STR_LIT("GET")};
			struct vg_table_entry *en = vg_table_get(s->t, &k);

			en->count += n;
			en->errors_5xx += bad;
			en->errors_4xx += mode == 2 ? n / 5 : 0;
			for (uint64_t j = 0; j < n; j++)
				vg_table_add_latency(s->t, en, ms + (double)j);
		}
		logs(s, svcs[v], 2, VG_LEVEL_INFO, 20);
		logs(s, svcs[v], 2, VG_LEVEL_ERROR, mode == 1 ? 30 : (uint64_t)(i % 3));
		if (mode == 2 || mode == 4) {
			struct vg_table_key k = {.window = s->now / WIN, .kind = VG_TABLE_COUNTER, .counter = 0,
					       .service = vg_str_cstr(svcs[v])};

			vg_table_get(s->t, &k)->count += 3;
		}
	}
}

/* The engine decides most rules from incremental store views, and falls
 * back to merging ranges; with the store's views all taken it merges
 * every time. Both give the same notifications, in the same order, over
 * 8 hours of churn (the ring, both roll-up tiers, keys coming and going). */
Test(rules, views_and_merges_give_the_same_alerts, .timeout = 120)
{
	struct series a, b;
	struct vg_wstore_view *taken[VG_WSTORE_MAX_VIEWS];

	series_open(&a, MANY_RULES);
	series_open(&b, MANY_RULES);
	for (int k = 0; k < VG_WSTORE_MAX_VIEWS; k++)
		cr_assert_eq(vg_wstore_view_create(b.store, VG_WSTORE_NO_TAIL, &taken[k]), VG_OK);
	for (int64_t i = 0; i < 8 * 360; i++) {
		fleet_window(&a, i);
		fleet_window(&b, i);
		tick(&a);
		tick(&b);
	}
	cr_expect(a.firing > 20 && a.resolved > 10, "%d firing, %d resolved", a.firing, a.resolved);
	for (const char *const *n = (const char *const[]){"E5", "E4", "L90", "L50below", "Lev", "Cnt", "CntBelow",
							  "Auth", "Silent", "Burn", NULL};
	     *n; n++) {
		char want[64];

		snprintf(want, sizeof(want), "\"alertname\":\"%s\",\"state\":\"firing\"", *n);
		cr_expect(strstr(a.log.p, want), "%s never fires", *n);
	}
	cr_expect_eq(a.log.len, b.log.len);
	size_t at = 0;

	while (at < a.log.len && at < b.log.len && a.log.p[at] == b.log.p[at])
		at++;
	cr_expect(at == a.log.len && at == b.log.len, "differ at byte %zu: ...%.300s\nvs ...%.300s", at,
		  a.log.p + (at > 200 ? at - 200 : 0), b.log.p + (at > 200 ? at - 200 : 0));
	for (int k = 0; k < VG_WSTORE_MAX_VIEWS; k++)
		vg_wstore_view_destroy(taken[k]);
	series_close(&a);
	series_close(&b);
}

/* ---- issue 19: absent ---------------------------------------------------- */

/* Two series of the same rules, one deciding from store views, the other
 * merging every time (the store's views all taken): both get the same
 * windows, and must give the same notifications. */
struct twin {
	struct series a, b;
	struct vg_wstore_view *taken[VG_WSTORE_MAX_VIEWS];
};

static void twin_open(struct twin *t, const char *yaml)
{
	series_open(&t->a, yaml);
	series_open(&t->b, yaml);
	for (int k = 0; k < VG_WSTORE_MAX_VIEWS; k++)
		cr_assert_eq(vg_wstore_view_create(t->b.store, VG_WSTORE_NO_TAIL, &t->taken[k]), VG_OK);
}

static void twin_logs(struct twin *t, const char *service, uint64_t count)
{
	logs(&t->a, service, 2, VG_LEVEL_INFO, count);
	logs(&t->b, service, 2, VG_LEVEL_INFO, count);
}

static void twin_tick(struct twin *t)
{
	tick(&t->a);
	tick(&t->b);
}

static void twin_close(struct twin *t)
{
	cr_expect_eq(t->a.log.len, t->b.log.len, "views and merges: %zu vs %zu bytes of notifications", t->a.log.len,
		     t->b.log.len);
	cr_expect(t->a.log.len == t->b.log.len && memcmp(t->a.log.p, t->b.log.p, t->a.log.len) == 0,
		  "views:\n%.*s\nmerges:\n%.*s", (int)t->a.log.len, t->a.log.p, (int)t->b.log.len, t->b.log.p);
	for (int k = 0; k < VG_WSTORE_MAX_VIEWS; k++)
		vg_wstore_view_destroy(t->taken[k]);
	series_close(&t->a);
	series_close(&t->b);
}

/* The "at" of each notification of state (a JSON state name) of alert
 * name, as minutes:seconds from t = 0, space-separated, into out. */
static void times_of(const struct series *s, const char *name, const char *state, char *out, size_t len)
{
	char want[96];
	size_t n = 0;

	snprintf(want, sizeof(want), "\"alertname\":\"%s\",\"state\":\"%s\"", name, state);
	out[0] = '\0';
	for (const char *p = s->log.p; p && (p = strstr(p, want)) != NULL; p++) {
		const char *line = p;

		while (line > s->log.p && line[-1] != '\n')
			line--;
		/* {"at":"1970-01-01THH:MM:SS.000Z" */
		int hh = atoi(line + 18), mm = atoi(line + 21), ss = atoi(line + 24);

		n += (size_t)snprintf(out + n, n < len ? len - n : 0, "%s%d:%02d", n ? " " : "", hh * 60 + mm, ss);
	}
}

/* Issue 19, finding 2: a service that stops for good stays silent, and
 * its alert firing, past the store's hour (it used to resolve when its
 * last record left the 1h lookback); it resolves once forgotten, saying
 * so. The edges are the window's: firing at the first evaluation whose
 * window holds none of its records, resolving at the first that holds
 * one. */
Test(rules, a_silent_service_stays_firing_until_forgotten)
{
	struct twin t;
	char got[256];

	twin_open(&t, "groups:\n  - name: g\n    rules:\n"
		      "      - alert: Quiet\n        absent: {window: 1m, forget_after: 3h}\n"
		      "        labels: {severity: P4}\n        escalate_after: 0s\n");
	for (int i = 0; i < 30; i++) { /* 5 minutes of both, db only in odd windows */
		twin_logs(&t, "web", 10);
		if (i % 2)
			twin_logs(&t, "db", 3);
		twin_tick(&t);
	}
	/* db's last record is in [4:50, 5:00); web goes on for 4 hours. */
	for (int i = 0; i < 4 * 360; i++) {
		twin_logs(&t, "web", 10);
		twin_tick(&t);
	}
	times_of(&t.a, "Quiet", "firing", got, sizeof(got));
	cr_expect_str_eq(got, "6:00", "fires once its 1m window is empty of db: at 5:00 + 1m");
	times_of(&t.a, "Quiet", "resolved", got, sizeof(got));
	cr_expect_str_eq(got, "185:00", "resolves when forgotten, 3h after its last window (5:00), not after 1h");
	cr_expect(strstr(t.a.log.p, "\"annotations\":{\"resolution\":\"forgotten\"}") != NULL, "%s", t.a.log.p);
	cr_expect(strstr(t.a.log.p, "\"service\":\"web\"") == NULL, "web never silent");
	twin_close(&t);
}

/* A silent service that comes back resolves on the window holding its
 * first record, annotated recovered; a short gap inside the window fires
 * nothing. */
Test(rules, a_silent_service_resolves_on_its_first_record)
{
	struct twin t;
	char got[256];

	twin_open(&t, "groups:\n  - name: g\n    rules:\n"
		      "      - alert: Quiet\n        absent: {window: 1m}\n        labels: {severity: P2}\n");
	for (int i = 0; i < 60; i++) { /* db: silent 0:50-1:40 (5 windows), then 3:00-5:00 */
		twin_logs(&t, "web", 10);
		if ((i < 5 || i >= 10) && (i < 18 || i >= 30))
			twin_logs(&t, "db", 1);
		twin_tick(&t);
	}
	times_of(&t.a, "Quiet", "firing", got, sizeof(got));
	cr_expect_str_eq(got, "4:00");
	times_of(&t.a, "Quiet", "resolved", got, sizeof(got));
	cr_expect_str_eq(got, "5:10", "resolves at the end of the window holding db's first record again");
	cr_expect(strstr(t.a.log.p, "\"annotations\":{\"resolution\":\"recovered\"}") != NULL, "%s", t.a.log.p);
	twin_close(&t);
}

/* Issue 19, finding 1: with `by: []` one group holds every record; it
 * fires when no record at all came in its window (a total outage, the
 * empty windows closing by time), and never on a fresh start that has
 * seen no record yet. */
Test(rules, absent_by_nothing_fires_on_no_records_at_all)
{
	struct twin t;
	char got[256];

	twin_open(&t, "groups:\n  - name: g\n    rules:\n"
		      "      - alert: NoRecords\n        absent: {window: 1m}\n        by: []\n"
		      "        labels: {severity: P1}\n"
		      "      - alert: Quiet\n        absent: {window: 1m}\n        labels: {severity: P2}\n");
	for (int i = 0; i < 30; i++) /* a fresh start, idle for 5 minutes: nothing known, nothing fires */
		twin_tick(&t);
	cr_expect_eq(t.a.log.len, 0u, "%s", t.a.log.p);
	for (int i = 0; i < 30; i++) { /* records from 5:00 to 10:00, none from 10:00 to 15:00 */
		twin_logs(&t, "web", 10);
		twin_logs(&t, "db", 2);
		twin_tick(&t);
	}
	for (int i = 0; i < 30; i++)
		twin_tick(&t);
	twin_logs(&t, "web", 1);
	twin_tick(&t);
	times_of(&t.a, "NoRecords", "firing", got, sizeof(got));
	cr_expect_str_eq(got, "11:00");
	times_of(&t.a, "NoRecords", "resolved", got, sizeof(got));
	cr_expect_str_eq(got, "15:10");
	cr_expect(strstr(t.a.log.p, "\"labels\":{\"alertname\":\"NoRecords\",\"severity\":\"P1\"}") != NULL,
		  "no service label: %s", t.a.log.p);
	times_of(&t.a, "Quiet", "firing", got, sizeof(got));
	cr_expect_str_eq(got, "11:00 11:00", "each service too");
	times_of(&t.a, "Quiet", "resolved", got, sizeof(got));
	cr_expect_str_eq(got, "15:10", "web is back, db still silent");
	twin_close(&t);
}

/* lookback, the old key, is an alias of forget_after. */
Test(rules, absent_lookback_is_forget_after)
{
	struct twin t;
	char got[256];

	twin_open(&t, "groups:\n  - name: g\n    rules:\n"
		      "      - alert: Quiet\n        absent: {window: 1m, lookback: 10m}\n        labels: {severity: P2}\n");
	twin_logs(&t, "db", 1);
	for (int i = 0; i < 90; i++)
		twin_tick(&t);
	times_of(&t.a, "Quiet", "firing", got, sizeof(got));
	cr_expect_str_eq(got, "1:10");
	times_of(&t.a, "Quiet", "resolved", got, sizeof(got));
	cr_expect_str_eq(got, "10:10");
	twin_close(&t);
}

/* vigil: alert rules and the alert engine.
 *
 * Rules are YAML in the shape Prometheus users know:
 *
 *   groups:
 *     - name: http
 *       rules:
 *         - alert: HighErrorRate
 *           error_rate: {of: 5xx, window: 5m, above: 0.01, min_count: 20}
 *           where: {service: "!~^test-", method: "GET"}
 *           by: [service]
 *           for: 5m
 *           keep_firing_for: 0s
 *           escalate_after: 30m
 *           labels: {severity: P1, team: web}
 *           annotations: {summary: "5xx at {{ $value }} on {{ $labels.service }}"}
 *
 * One condition per rule: error_rate (of 5xx, 4xx, both, or level: the
 * share of ERROR-and-above records), latency (quantile of durations in
 * ms), count (records of a selector, or a named pattern counter; with
 * `baseline: 1h` the value is the window's count over what the trailing
 * hour's rate predicts for a window, and min_count is a floor on the
 * count going above or on the prediction going below), absent (a group
 * the rule knows and silent in the window: see below), or burn_rate (an
 * SLO objective and pairs of long and short windows that must both burn
 * faster than their factor).
 *
 * Rules need data before they judge: error_rate judges once the engine
 * has had its window's worth of data, a burn_rate pair once it has had
 * the pair's `coverage` (default: its short window), a count with a
 * baseline once the baseline holds `coverage` (default: the window). Until
 * then a long window is the whole stream so far, not what the rule says.
 *
 * `where` selects on labels
 * (service, endpoint, method for HTTP conditions; service, category, level
 * for record conditions) with "value" or "=value", "!=value", "=~regex",
 * "!~regex" (PCRE2, anchored at neither end); `by` chooses the labels that
 * make separate alert instances (default: service).
 *
 * The engine evaluates every rule whenever a base window closes, at that
 * window's end in event time, over windows merged from the store: replaying
 * a file gives the alerts the live stream gave. An instance goes inactive
 * -> pending (condition true) -> firing (true for `for`) -> resolved
 * (false for `keep_firing_for`); a pending one whose condition ends goes
 * inactive. A firing alert unresolved past `escalate_after` (default: the
 * file's `escalation` map by severity) is sent again with the label
 * escalation="L2", its severity unchanged (a ticket never becomes a page);
 * the L1 label set stays firing, and the resolve resolves both. A
 * resolved change carries the condition's value at resolution (null when
 * the group has no data then). Fingerprints hash the sorted labels sent
 * (alertname, severity, the `by` labels, the rule's labels, escalation),
 * as Alertmanager identifies alerts.
 *
 * absent: {window: 5m, forget_after: 24h} (`lookback`: an alias of
 * forget_after). The engine keeps, per absent rule, the groups it knows
 * and the end of the last base window that held records of each; a group
 * is known from its first record until forget_after has passed since, and
 * the condition holds for each known group with no record in the window.
 * So a silent group stays firing however long it is silent, and resolves
 * on the window holding its first record again or when forgotten; the
 * resolved change carries the annotation resolution="recovered" or
 * "forgotten". `by: []` makes one group of every record (a pipeline that
 * received nothing). Nothing is known before the first record, so an idle
 * fresh start fires nothing. The memory is updated from the base window
 * ending at each evaluation: evaluate at every closed base window.
 *
 * Not thread-safe: one engine per closer thread. */
#ifndef VG_RULES_H
#define VG_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aggregate/store.h"

/* What the rules need to know of the pipeline's configuration. */
struct vg_rules_env {
	const char *const *categories; /* category names by index */
	size_t n_categories;
	const char *const *counters; /* pattern counter names by index */
	size_t n_counters;
	int64_t window_ms; /* base window */
	int64_t ring_ms;   /* how far back the store keeps latency (1 h) */
};

struct vg_rules;

/* Compile rules from YAML text; name is the file name used in errors
 * ("NAME:LINE: reason"). Returns 0, VG_ERR_CONFIG (errbuf set) or
 * VG_ERR_NOMEM. */
int vg_rules_parse(struct vg_rules **out, const char *text, size_t len, const char *name,
		   const struct vg_rules_env *env, char *errbuf, size_t errlen);

/* Compile rules from files ("builtin": the shipped config/rules.yaml,
 * compiled in). Same returns; VG_ERR_IO when a file cannot be read. */
int vg_rules_load(struct vg_rules **out, const char *const *files, size_t n, const struct vg_rules_env *env,
		  char *errbuf, size_t errlen);

void vg_rules_destroy(struct vg_rules *r);
size_t vg_rules_count(const struct vg_rules *r);

/* The shipped rules (config/rules.yaml). */
extern const char vg_rules_builtin[];

/* INACTIVE: a pending instance whose condition ended before `for` (only
 * rules with a `for` announce pending, and only they close it). Pending
 * and inactive go to the --alerts log; notifiers get firing and resolved. */
enum vg_alert_state { VG_ALERT_PENDING, VG_ALERT_FIRING, VG_ALERT_RESOLVED, VG_ALERT_INACTIVE, VG_ALERT_STATES };

#define VG_ALERT_MAX_LABELS 16

/* One notification: views valid during the emit call. */
struct vg_alert {
	const char *name;
	enum vg_alert_state state;
	const char *severity; /* "P1".."P4", the rule's: escalation never changes it */
	int escalation;       /* 1 (L1) or 2 (L2: labelled escalation="L2") */
	uint64_t fingerprint; /* of the label set */
	double value;         /* the condition's value at this change; NaN: no data */
	int64_t at;                               /* ms: the event time of this change (the evaluation) */
	int64_t active_at, fired_at, resolved_at; /* ms; 0 when not yet */
	size_t n_labels;                          /* sorted by name; alertname and severity included */
	const char *label_names[VG_ALERT_MAX_LABELS], *label_values[VG_ALERT_MAX_LABELS];
	size_t n_annotations;
	const char *annotation_names[VG_ALERT_MAX_LABELS], *annotation_values[VG_ALERT_MAX_LABELS];
};

struct vg_alerts;

/* An engine for rules (which must outlive it). Returns 0 or VG_ERR_NOMEM. */
int vg_alerts_create(struct vg_alerts **out, const struct vg_rules *rules, const struct vg_table_params *tp);
void vg_alerts_destroy(struct vg_alerts *a);

/* Evaluate every rule at now_ms (the end of the base window just closed)
 * over store. Calls emit for every change: an instance becoming pending,
 * firing, escalated (L2), resolved (once per label set sent) or inactive. Returns 0 or VG_ERR_NOMEM.
 *
 * The engine keeps incremental views of store's ranges (vg_wstore_view,
 * up to 32 of the store's 64) from one call to the next, so the cost of
 * a call is what entered and left each range, not every window in it;
 * passing another store drops them and starts again. The alerts are the
 * ones merging every range would give, in the same order. */
int vg_alerts_eval(struct vg_alerts *a, struct vg_wstore *store, int64_t now_ms,
		   void (*emit)(void *arg, const struct vg_alert *al), void *arg);

/* Switch the engine to new rules (a configuration reload; rules must
 * outlive the engine, the old ones may be destroyed once this returns).
 * Instances of a rule whose alert name is still there keep their state
 * (pending since, firing since, escalations, fingerprint); the new rule's
 * `for`, thresholds and labels apply from the next evaluation. Instances of
 * rules no longer there end: a firing one is emitted resolved at now_ms
 * (with its old labels), a pending one is dropped. *ended: how many
 * instances ended. Returns 0, or VG_ERR_NOMEM with nothing changed. */
int vg_alerts_set_rules(struct vg_alerts *a, const struct vg_rules *rules, int64_t now_ms,
			void (*emit)(void *arg, const struct vg_alert *al), void *arg, size_t *ended);

/* Calls fn for every instance pending or firing now (for re-sending and
 * for /alerts). */
void vg_alerts_each(struct vg_alerts *a, void (*fn)(void *arg, const struct vg_alert *al), void *arg);

/* Counts by state, for metrics. */
void vg_alerts_counts(const struct vg_alerts *a, size_t *pending, size_t *firing);

/* Run a rule test file (`vigil rules --test`):
 *
 *   rule_files: [builtin]            # relative to the test file
 *   tests:
 *     - name: a 5xx burst pages
 *       series:                      # one value per base window, from t = 0
 *         - http: {service: orders, endpoint: /api, method: GET}
 *           values: "100/0x30 100/5x60"   # COUNT[/5XX][xREPEAT]
 *           latency_ms: 20
 *         - logs: {service: orders, category: application, level: ERROR}
 *           values: "2x90"
 *         - counter: {name: auth_failures, service: auth-service}
 *           values: "0x30 20x30"
 *       expect:                      # the firing set after the window ending at `at`
 *         - at: 10m
 *           firing: [{alertname: HTTP5xxErrorRate, service: orders}]
 *
 * An expectation passes when every listed alert fires (its labels include
 * the ones given) and nothing else fires. Returns 0 with *tests, *failures
 * and a report (failures, malloc'd, caller frees) set; VG_ERR_CONFIG /
 * VG_ERR_IO with errbuf set ("FILE:LINE: reason"); VG_ERR_NOMEM. */
int vg_rules_test(const char *path, const struct vg_rules_env *env, const struct vg_table_params *tp,
		  char **report, int *tests, int *failures, char *errbuf, size_t errlen);

/* Append al as one JSON object (no newline), members in this order: at
 * (RFC 3339), alertname, state, severity, labels, value, fingerprint (16
 * hex digits), annotations, activeAt, startsAt (once fired), endsAt
 * (resolved). vigil replay prints exactly this; so do --alerts and the
 * file and Kafka notifiers. */
struct vg_buf;
void vg_alert_json(const struct vg_alert *al, struct vg_buf *b);

#endif

/* vigil: alert rules, loaded from YAML.
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
 * the rule knows and silent in the window: see alert/alerts.h), or
 * burn_rate (an SLO objective and pairs of long and short windows that
 * must both burn faster than their factor).
 *
 * `where` selects on labels
 * (service, endpoint, method for HTTP conditions; service, category, level
 * for record conditions) with "value" or "=value", "!=value", "=~regex",
 * "!~regex" (PCRE2, anchored at neither end); `by` chooses the labels that
 * make separate alert instances (default: service).
 *
 * How the engine evaluates rules is in alert/alerts.h; the rule test
 * files of `vigil rules --test` are in alert/ruletest.h.
 *
 * Loading keeps no global state: any thread may load. A loaded rule set
 * is only read afterwards, by the engines given it, and must outlive
 * them. */
#ifndef VG_RULES_H
#define VG_RULES_H

#include <stddef.h>
#include <stdint.h>

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
struct vg_config;

/* How long the window store keeps base windows with their quantiles. */
#define VG_RULES_RING_MS 3600000

/* What rules see of a loaded configuration, with base window window_ms;
 * *names (the counters', pointing into cfg) is the caller's to free after
 * the rules. Returns 0 or VG_ERR_NOMEM. */
int vg_rules_env_make(const struct vg_config *cfg, int64_t window_ms, struct vg_rules_env *env,
		      const char ***names);

/* Compile rules from YAML text; name is the file name used in errors
 * ("NAME:LINE: reason"). Returns 0, VG_ERR_CONFIG (errbuf set) or
 * VG_ERR_NOMEM. On success *out is the caller's, to free with
 * vg_rules_destroy; on failure *out is NULL. env is copied, not the
 * names it points to: they must outlive the rules. */
int vg_rules_parse(struct vg_rules **out, const char *text, size_t len, const char *name,
		   const struct vg_rules_env *env, char *errbuf, size_t errlen);

/* Compile rules from files ("builtin": the shipped config/rules.yaml,
 * compiled in). Same returns and ownership; VG_ERR_IO when a file cannot
 * be read. */
int vg_rules_load(struct vg_rules **out, const char *const *files, size_t n, const struct vg_rules_env *env,
		  char *errbuf, size_t errlen);

/* The rules a loaded configuration names (rules.files), on base windows
 * of window_ms: vg_rules_env_make then vg_rules_load, with a file that
 * cannot be read said at the configuration's line ("CONFIG:LINE:
 * rules.files: FILE: reason"). *names is as vg_rules_env_make's on
 * success, NULL on failure. Same returns as vg_rules_load. */
int vg_rules_load_config(struct vg_rules **out, const struct vg_config *cfg, int64_t window_ms, const char ***names,
			 char *errbuf, size_t errlen);

/* Destroying NULL is a no-op. */
void vg_rules_destroy(struct vg_rules *r);

/* How many rules; 0 for NULL. */
size_t vg_rules_count(const struct vg_rules *r);

/* The shipped rules (config/rules.yaml). */
extern const char vg_rules_builtin[];

#endif

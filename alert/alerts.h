/* vigil: the alert engine: rules (alert/rules.h) evaluated over the
 * window store, alert changes out (alert/alert.h).
 *
 * Rules need data before they judge: error_rate judges once the engine
 * has had its window's worth of data, a burn_rate pair once it has had
 * the pair's `coverage` (default: its short window), a count with a
 * baseline once the baseline holds `coverage` (default: the window). Until
 * then a long window is the whole stream so far, not what the rule says.
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
#ifndef VG_ALERTS_H
#define VG_ALERTS_H

#include <stddef.h>
#include <stdint.h>

#include "aggregate/wstore.h"
#include "alert/alert.h"
#include "alert/rules.h"

struct vg_alerts;

/* An engine for rules (which must outlive it). Returns 0 or VG_ERR_NOMEM.
 * The caller owns *out and frees it with vg_alerts_destroy. */
int vg_alerts_create(struct vg_alerts **out, const struct vg_rules *rules, const struct vg_table_params *tp);

/* Destroying NULL is a no-op. */
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
 * Instances of a rule whose alert name is still there, with the same
 * `by`, keep their state (pending since, firing since, escalations,
 * fingerprints); the new rule's `for`, thresholds and labels apply from
 * the next evaluation. Instances of rules no longer there, or whose `by`
 * changed (their keys are the old labels' values), end: a firing one is
 * emitted resolved at now_ms (every label set sent, with its old labels),
 * a pending one is dropped. An absent rule keeps the groups it knows only
 * when its `by`, `where`, kind and counter are unchanged. *ended: how many
 * instances ended. Returns 0, or VG_ERR_NOMEM with nothing changed. */
int vg_alerts_set_rules(struct vg_alerts *a, const struct vg_rules *rules, int64_t now_ms,
			void (*emit)(void *arg, const struct vg_alert *al), void *arg, size_t *ended);

/* Calls fn for every instance pending or firing now (for re-sending and
 * for /alerts). */
void vg_alerts_each(struct vg_alerts *a, void (*fn)(void *arg, const struct vg_alert *al), void *arg);

/* Counts by state, for metrics. */
void vg_alerts_counts(const struct vg_alerts *a, size_t *pending, size_t *firing);

#endif

/* vigil: an alert instance's labels (alert-internal, for the engine in
 * alerts.c): the label set it sends, the fingerprint made from it, and its
 * annotations' templates rendered.
 *
 * The set of an instance of rule r with group key `key` (its `by` values,
 * each NUL-ended, back to back) is alertname, severity, the `by` labels,
 * the rule's static labels (a `by` label's own value wins), and at
 * escalation level 1 escalation="L2"; sorted by name. The notification and
 * the fingerprint are made from the same set. Pure functions. */
#ifndef VG_LABELS_H
#define VG_LABELS_H

#include <stddef.h>
#include <stdint.h>

#include "alert/alert.h"
#include "alert/rules_internal.h"
#include "core/buf.h"

/* "P1".."P4" for a rule's severity 1..4. */
const char *vg_labels_severity(int severity);

/* The set into pairs (name, value), at most VG_ALERT_MAX_LABELS; returns
 * how many. The strings are r's and key's. */
size_t vg_labels_set(const struct rule *r, const char *key, int level, const char *pairs[][2]);

/* A hash of the set (level 1: escalation="L2" among it), as Alertmanager
 * identifies alerts. */
uint64_t vg_labels_fingerprint(const struct rule *r, const char *key, int level);

/* Template t ({{ $value }}, {{ $labels.NAME }}; checked at load) rendered
 * for al, appended to b. */
void vg_labels_render(struct vg_buf *b, const char *t, const struct vg_alert *al);

#endif

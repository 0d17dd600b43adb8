/* vigil: one alert change, as the engine emits it and notifiers send it.
 *
 * A value type: the engine (alert/alerts.h) fills one per change and hands
 * it to a callback; the notifiers (sink/notify.h), the --alerts log and
 * vigil replay write it with vg_alert_json. Nothing here allocates or keeps
 * state, so every function is thread-safe on distinct buffers. */
#ifndef VG_ALERT_H
#define VG_ALERT_H

#include <stddef.h>
#include <stdint.h>

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

/* Append al as one JSON object (no newline), members in this order: at
 * (RFC 3339), alertname, state, severity, labels, value, fingerprint (16
 * hex digits), annotations, activeAt, startsAt (once fired), endsAt
 * (resolved). vigil replay prints exactly this; so do --alerts and the
 * file and Kafka notifiers. A failed allocation is recorded in b (see
 * core/buf.h). */
struct vg_buf;
void vg_alert_json(const struct vg_alert *al, struct vg_buf *b);

#endif

/* vigil: closed windows kept for rule evaluation.
 *
 * Rules look at windows from 1 minute to 3 days. The store keeps every
 * closed base window of the last hour (`ring_ms`), with latency sketches,
 * and rolls older ones up into counts-only buckets: 1 minute wide up to
 * 6 hours, 10 minutes wide up to `retain_ms` (3 days); older buckets are
 * dropped. Stored windows are frozen compactly: labels in one string block
 * per window, a sketch as its non-empty (bucket, count) pairs.
 *
 * Memory: per stored window, about 100 bytes a key plus 8 bytes per
 * non-empty latency bucket (base windows only). With K keys per window and
 * B non-empty buckets per HTTP key, the hour of base windows takes
 * (3600 / window_s) x K x (100 + 8B) bytes and the roll-ups 696 x K x 100
 * bytes. Keys per window are capped by aggregate.max_keys, so the store is
 * bounded; vg_wstore_bytes() reports what it holds. The endpoint cap
 * (max_endpoints, hold_404) bounds the distinct keys over the whole
 * horizon too: HTTP keys per service at most max_endpoints + 1 per method,
 * whatever the paths, so the views' dictionary and what rules read per
 * evaluation stay bounded when windows each hold different endpoints.
 *
 * A range query merges every stored window or bucket inside [from, to)
 * into a table, all under window index 0, and says what it covered and
 * whether latency was available for all of it (ranges reaching past the
 * hour have counts but no quantiles).
 *
 * One thread (the closer / the alert engine): not thread-safe. */
#ifndef VG_WSTORE_H
#define VG_WSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aggregate/epcap.h"
#include "aggregate/table.h"
#include "aggregate/window.h"

struct vg_wstore_params {
	int64_t window_ms; /* base window */
	int64_t ring_ms;   /* base windows kept with sketches (default 1 h) */
	int64_t retain_ms; /* roll-ups kept (default 3 d) */
	const struct vg_sketch_map *map;
	/* The endpoint cap (aggregate/epcap.h) over retain_ms: past
	 * max_endpoints endpoints of a service (0: no cap), and with hold_404
	 * for new endpoints answering only 404, a window's HTTP entries are
	 * stored under the endpoint __other__ (service and method kept). */
	unsigned max_endpoints;
	bool hold_404;
};

struct vg_wstore_cover {
	int64_t from_ms, to_ms; /* what the merged windows span (from == to: nothing) */
	unsigned windows;       /* stored windows and buckets merged */
	bool latency;           /* every merged part had its sketches */
};

struct vg_wstore;

int vg_wstore_create(struct vg_wstore **out, const struct vg_wstore_params *p);
void vg_wstore_destroy(struct vg_wstore *s);

/* Freeze a closed window into the store (its table is only read), rolling
 * up and dropping what has aged. Windows must come in time order. With an
 * endpoint cap, HTTP entries it turns away are stored folded (the window
 * itself is not changed). */
int vg_wstore_add(struct vg_wstore *s, const struct vg_window *win);

/* Merge what lies in [from_ms, to_ms) into out (parameters as the windows'
 * tables; entries land under window 0); latency false skips the sketches
 * (counts only, much cheaper). Returns 0 or VG_ERR_NOMEM. */
int vg_wstore_merge(struct vg_wstore *s, int64_t from_ms, int64_t to_ms, bool latency, struct vg_table *out,
		    struct vg_wstore_cover *cover);

/* An incremental range: the sums a merge of [from, to) would give, kept
 * up to date as the range moves and as windows enter the store, roll up
 * and age out, so that a range of N parts costs the parts that entered or
 * left it since the last sync instead of N merges, and no hash lookup:
 * each stored entry knows its key's id in the store's dictionary (one
 * more table of every key held, about 200 bytes a key, built with the
 * first view: a store without views keeps none). Counts, 4xx and
 * 5xx are exact (integer sums); latency is summarised by the number of
 * values and how many fall at or above one bucket (the tail bucket, fixed
 * at creation), enough to rule a quantile out without its sketch.
 *
 * A view belongs to its creator, which destroys it (before or after the
 * store: a store destroyed first detaches its views). At most
 * VG_WSTORE_MAX_VIEWS per store. Not thread-safe, as the store. */
#define VG_WSTORE_MAX_VIEWS 64
#define VG_WSTORE_NO_TAIL INT32_MAX

/* Per key of a view: what a merge would sum into its entry. */
struct vg_wstore_sum {
	uint64_t parts;   /* merged parts holding the key; 0: gone from the range */
	uint64_t count, errors_4xx, errors_5xx;
	uint64_t l_count; /* latency values (parts with sketches only) */
	uint64_t tail;    /* of those, in buckets >= the tail bucket */
	uint64_t far;     /* in buckets >= tail + vg_sketch_map_buckets() - 1 (merging them may collapse the tail) */
	uint64_t mark;    /* the view's own: the sync that publishes its last change */
};

struct vg_wstore_view;

/* A view of s, empty until synced. tail_bucket: VG_WSTORE_NO_TAIL for
 * counts only. Returns 0, VG_ERR_LIMIT (too many views) or VG_ERR_NOMEM. */
int vg_wstore_view_create(struct vg_wstore *s, int32_t tail_bucket, struct vg_wstore_view **out);
void vg_wstore_view_destroy(struct vg_wstore_view *v);

/* Bring v to the parts vg_wstore_merge(s, from, to, ...) would merge.
 * Returns 0, VG_ERR_INVALID (its store was destroyed) or VG_ERR_NOMEM
 * (v is then emptied, and the next sync rebuilds it). */
int vg_wstore_view_sync(struct vg_wstore_view *v, int64_t from, int64_t to, struct vg_wstore_cover *cover);

/* The view's keys: the store's dictionary of every key it holds (under
 * window 0; its counts stay 0), shared by its views; entry i goes with
 * sums[i]. Keys whose sums say parts == 0 are not in the view's range
 * (their counts are 0); a merge would not have them. Valid until the
 * next sync; entries keep their index from sync to sync until the
 * generation changes (the store forgot keys no part holds any more and
 * renumbered the rest, in order). */
const struct vg_table *vg_wstore_view_table(const struct vg_wstore_view *v);

/* What the last sync changed, for a reader that keeps its own sums: *pub
 * numbers the syncs (the first is 1); ids[0..*n) the entries whose sums
 * changed since sync *pub - 1 (each once; none: nothing changed) and
 * before[i] the sum of ids[i] at that sync (read its counts: its mark is
 * not), valid until the store or the view changes. A reader that last
 * read sync *pub - 1 may apply just those. Returns false when the view
 * cannot say (it was emptied, its ids renumbered, or the list ran out of
 * memory): read every sum then. */
bool vg_wstore_view_changes(const struct vg_wstore_view *v, uint64_t *pub, const uint32_t **ids,
			    const struct vg_wstore_sum **before, size_t *n);
const struct vg_wstore_sum *vg_wstore_view_sums(const struct vg_wstore_view *v);
unsigned vg_wstore_view_generation(const struct vg_wstore_view *v);

/* Bytes held by stored windows and roll-ups. */
size_t vg_wstore_bytes(const struct vg_wstore *s);

/* The endpoint cap's counts: endpoints known, entries folded (all 0
 * without a cap). */
void vg_wstore_endpoints(const struct vg_wstore *s, struct vg_epcap_stats *out);

#endif

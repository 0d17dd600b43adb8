/* vigil: the aggregation table.
 *
 * A hash table of aggregates keyed by (window, kind, labels): HTTP request
 * stats per (service, endpoint, method), record counts per (service,
 * category, level), and pattern counters per (counter, service). Label
 * strings are copied into the table's own arena on first insert, so keys
 * never point into message buffers.
 *
 * Reset empties the table but keeps every allocation (entries, sketch
 * buckets, arena, sample arrays) for reuse: after warm-up a table does not
 * allocate. Past max_keys distinct keys of one kind in one window, new keys
 * fold into "__other__" labels and are counted in `overflow`.
 *
 * Not thread-safe: one writer (a worker's shard) or the closer after a
 * quiescent handover. */
#ifndef VG_TABLE_H
#define VG_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aggregate/sketch.h"
#include "core/str.h"

enum vg_table_kind {
	VG_TABLE_HTTP = 0, /* service, endpoint, method */
	VG_TABLE_LOG,      /* service, category, level */
	VG_TABLE_COUNTER,  /* counter, service */
	VG_TABLE_KINDS
};

/* The labels of one aggregate. Strings are views: into the caller's
 * memory when passed to vg_table_get, into the table's arena in an entry. */
struct vg_table_key {
	int64_t window; /* window index: start / window length */
	uint8_t kind;   /* enum vg_table_kind */
	uint8_t category;
	uint8_t level;
	uint8_t counter;
	vg_str service, endpoint, method;
};

/* One aggregate. The fields a lookup and an update touch come first. */
struct vg_table_entry {
	uint64_t hash;
	uint64_t count;
	uint64_t errors_4xx, errors_5xx;
	uint64_t not_found; /* HTTP: of the 4xx, 404s (the store's endpoint cap reads it) */
	struct vg_table_key key;
	struct vg_sketch latency; /* HTTP: durations in ms */
	double *samples;          /* exact mode: every duration */
	size_t n_samples, cap_samples;
};

struct vg_table_params {
	const struct vg_sketch_map *map;
	unsigned max_keys; /* per window and kind */
	bool exact;        /* keep every duration sample too */
};

struct vg_table;

int vg_table_create(struct vg_table **out, const struct vg_table_params *p);
void vg_table_destroy(struct vg_table *t);

/* Empty the table, keeping its memory. */
void vg_table_reset(struct vg_table *t);

/* The entry for key, inserted (zeroed) when new. Returns NULL only on
 * allocation failure. A key past the per-window cap returns the window's
 * __other__ entry of that kind. */
struct vg_table_entry *vg_table_get(struct vg_table *t, const struct vg_table_key *key);

/* The same with the key's hash already computed by vg_table_key_hash (or
 * from a shared prefix with vg_table_hash_service / vg_table_hash_finish). */
struct vg_table_entry *vg_table_get_hashed(struct vg_table *t, const struct vg_table_key *key, uint64_t hash);

struct vg_record;

/* Count one classified record of window `window`: its LOG entry (service,
 * category, level), its HTTP entry and latency when it has a status, and
 * its pattern counters. The record's keys share the service's hash; the
 * same as the vg_table_get_hashed calls would do. Returns 0 or
 * VG_ERR_NOMEM. */
int vg_table_add_record(struct vg_table *t, int64_t window, const struct vg_record *rec);

/* Hashing in two steps, so a record's keys share the service's hash:
 * vg_table_key_hash(k) == vg_table_hash_finish(k, vg_table_hash_service(k->service)). */
uint64_t vg_table_hash_service(vg_str service);
uint64_t vg_table_hash_finish(const struct vg_table_key *k, uint64_t service_hash);
uint64_t vg_table_key_hash(const struct vg_table_key *k);

/* Record one duration sample on an HTTP entry (sketch, and exact samples
 * when the table keeps them). NaN (no duration) is ignored. */
int vg_table_add_latency(struct vg_table *t, struct vg_table_entry *e, double ms);

/* Add every entry of src whose window is in [from, to) into dst (the
 * same parameters). Returns 0 or VG_ERR_NOMEM. */
int vg_table_merge(struct vg_table *dst, const struct vg_table *src, int64_t from, int64_t to);

/* Like vg_table_merge, but src is about to be reset: an entry new to dst
 * takes over src's sketch and samples (O(1)) instead of copying them. */
int vg_table_absorb(struct vg_table *dst, struct vg_table *src, int64_t from, int64_t to);

/* Entries in insertion order: vg_table_entry(t, i) for i < vg_table_size(t). */
size_t vg_table_size(const struct vg_table *t);
struct vg_table_entry *vg_table_entry(const struct vg_table *t, size_t i);

/* The distinct windows the table holds entries of: vg_table_window(t, i)
 * for i < vg_table_window_count(t), in order of first insertion. */
size_t vg_table_window_count(const struct vg_table *t);
int64_t vg_table_window(const struct vg_table *t, size_t i);

/* Keys folded into __other__ since the last reset. */
uint64_t vg_table_overflow(const struct vg_table *t);

/* The label value keys past the cap are folded into. */
#define VG_TABLE_OTHER "__other__"

/* q-quantile of an entry's latencies: from the sketch, or exact (sorting
 * the samples in place) when exact is set. NaN when there are none. */
double vg_table_quantile(struct vg_table_entry *e, double q, bool exact);

#endif

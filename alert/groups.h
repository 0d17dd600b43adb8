/* vigil: the alert engine's groups (alert-internal): the instances of a
 * rule's `by`, each with its sums over a range, in a small hash map keyed
 * by the label values. Owned by one engine; not thread-safe. */
#ifndef VG_GROUPS_H
#define VG_GROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aggregate/sketch.h"

/* One alert instance's aggregate over a range. */
struct group {
	char *key; /* the `by` values, each NUL-terminated, back to back */
	size_t key_len;
	uint64_t count, bad;
	struct vg_sketch latency;
	bool has_latency;
	/* From store views (the fast path): */
	uint64_t l_count, tail, far; /* latency values; at or above the rule's tail bucket; far above it */
	bool present;                /* some key of the group is in the range */
	uint32_t n_in;               /* how many (the view path keeps it from sync to sync) */
	int64_t seen_ms;             /* an absent rule's known groups: the end of the last window with records */
};

struct groups {
	struct group *g;
	size_t n, cap;
	size_t *index; /* open addressing: position + 1, 0 empty */
	size_t index_cap;
};

/* FNV-1a of p[0..n) from h (VG_GROUPS_FNV0 to start): the map's hash, and
 * the engine's for fingerprints. */
#define VG_GROUPS_FNV0 0xcbf29ce484222325ULL
uint64_t vg_groups_fnv(const void *p, size_t n, uint64_t h);

/* Free every group and the map; the map is then empty and reusable. */
void vg_groups_free(struct groups *gs);

/* The group keyed key[0..len), or NULL. */
struct group *vg_groups_find(const struct groups *gs, const char *key, size_t len);

/* The group keyed key[0..len), added (zeroed) when new; NULL: out of
 * memory. Pointers into gs->g move when a group is added. */
struct group *vg_groups_get(struct groups *gs, const char *key, size_t len);

/* Rebuild the index with cap slots (a power of two, over twice n), after
 * the groups were reordered. Returns 0 or VG_ERR_NOMEM. */
int vg_groups_reindex(struct groups *gs, size_t cap);

#endif

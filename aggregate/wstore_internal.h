/* vigil: what the window store (wstore.c) shares with its views
 * (wstore_view.c) only: the frozen parts, the roll-up buckets, the store
 * and the views, and the calls between the two files. See wstore.h. */
#ifndef VG_WSTORE_INTERNAL_H
#define VG_WSTORE_INTERNAL_H

#include "aggregate/wstore.h"

/* Frozen parts' memory. A store only appends parts and frees them oldest
 * first, so parts are carved in order from 2 MiB slabs, and a slab is
 * freed with the last of its parts. Slabs ask for transparent huge pages:
 * an hour of windows is tens of MB written once, and faulting that in by
 * 4 KiB pages costs more than building it. */
#define SLAB_BYTES ((size_t)2 << 20)

struct slab {
	size_t used, cap; /* bytes of data */
	size_t live;      /* parts not yet freed */
	_Alignas(16) char data[];
};

/* One aggregate of a frozen window. */
struct fentry {
	struct vg_table_key key; /* labels point into the window's string block */
	uint64_t count, errors_4xx, errors_5xx;
	uint64_t l_count, l_zero, l_rejected, l_collapsed;
	double l_sum, l_min, l_max;
	uint32_t pair_off, n_pairs; /* into the window's pairs */
	uint32_t id;                /* of the key in the store's dictionary (once keyed) */
};

/* A closed window or roll-up bucket, frozen. */
struct frozen {
	int64_t start_ms, end_ms;
	bool latency; /* sketches kept */
	struct fentry *e;
	size_t n;
	uint32_t *pairs; /* (bucket index as uint32, count) */
	size_t n_pairs;
	size_t bytes;
	struct slab *slab; /* holding e, the label strings and pairs; NULL when empty */
	uint64_t views;    /* bit b: views[b] counts this part */
};

/* A tier: frozen parts in time order. */
struct tier {
	struct frozen *v;
	size_t n, cap;
};

/* A roll-up bucket being filled. */
struct acc {
	struct vg_table *t;
	int64_t start_ms, end_ms; /* end: of the last part added; start == end: empty */
	uint64_t views;           /* as a frozen part's */
	uint32_t *ids;            /* dictionary id of each entry of t (once keyed) */
	size_t cap_ids;
};

struct vg_wstore {
	struct vg_wstore_params p;
	struct tier ring, t1, t2;
	struct acc a1, a2;
	size_t bytes;
	struct slab *slab; /* the one parts are carved from */
	struct vg_wstore_view *views[VG_WSTORE_MAX_VIEWS];
	/* Every key a stored part or bucket holds, under window 0, numbered
	 * in order of first sight: views are arrays indexed by these ids, so
	 * a part enters or leaves a view without a hash lookup. Only views
	 * read it, so it is built with the first view (keyed); until then
	 * parts carry no ids and a store without views keeps no dictionary,
	 * which would otherwise be its biggest and most-written part. */
	bool keyed;
	struct vg_table *dict, *dict_spare;
	uint32_t *refs; /* parts and buckets holding each id */
	size_t cap_refs, dict_live;
	unsigned dict_gen; /* bumped when compaction renumbers the ids */
	struct vg_epcap *cap; /* the endpoint cap (NULL: none) */
	int64_t next_expire;  /* its next look for endpoints to forget */
};

struct vg_wstore_view {
	struct vg_wstore *s; /* NULL once the store is destroyed */
	unsigned bit;
	int32_t tail;
	struct vg_wstore_sum *sum; /* by dictionary id; cap_sum of them, zeroed past use */
	size_t cap_sum, live;
	/* What changed: syncs are numbered (pub, the last one); the ids whose
	 * sums changed since sync list_pub - 1, each once (its sum's mark is
	 * list_pub), for readers to apply only those; full_at: the sync after
	 * which the list does not say everything (read every sum). */
	uint64_t pub, list_pub, full_at;
	uint32_t *changed;
	struct vg_wstore_sum *before; /* of each changed id: its sum at list_pub - 1 */
	size_t n_changed, cap_changed, cap_before;
};

/* (wstore.c) The id of key k (window 0) with one more holder; UINT32_MAX
 * when out of memory. */
uint32_t vg_wstore_dict_ref(struct vg_wstore *s, const struct vg_table_key *k);

/* (wstore.c) Widen a cover by a part [from, to). */
void vg_wstore_cover_add(struct vg_wstore_cover *c, int64_t from, int64_t to, bool latency);

/* (wstore_view.c) Room in the view for every id of the dictionary. */
int vg_wstore_view_fit(struct vg_wstore_view *v);

/* (wstore_view.c) One more part (sign 1) or one fewer (-1) holds sum sm. */
void vg_wstore_sum_parts(struct vg_wstore_view *v, struct vg_wstore_sum *sm, int sign);

/* (wstore_view.c) Sum id of v is about to change (the next sync lists it). */
void vg_wstore_view_touch(struct vg_wstore_view *v, uint32_t id);

/* (wstore_view.c) Empty v after an allocation failure; its next sync
 * starts again. */
void vg_wstore_view_clear(struct vg_wstore_view *v);

/* (wstore_view.c) Part f leaves the store: the views counting it let it go. */
void vg_wstore_views_drop(struct vg_wstore *s, struct frozen *f);

#endif

#define _DEFAULT_SOURCE /* madvise, MADV_HUGEPAGE */
#include "aggregate/wstore_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/err.h"
#include "core/mem.h"

#define TIER1_MS (60 * 1000)        /* roll-up width from the hour to 6 h */
#define TIER1_SPAN_MS (6 * 3600000) /* then */
#define TIER2_MS (10 * 60 * 1000)   /* to retain_ms */

/* The id of key k (window 0) with one more holder; UINT32_MAX when out
 * of memory. */
uint32_t vg_wstore_dict_ref(struct vg_wstore *s, const struct vg_table_key *k)
{
	size_t n = vg_table_size(s->dict);
	struct vg_table_entry *e;

	if (vg_grow(&s->refs, &s->cap_refs, n + 1, sizeof(*s->refs), 1024) != 0 || !(e = vg_table_get(s->dict, k)))
		return UINT32_MAX;
	size_t id = (size_t)(e - vg_table_entry(s->dict, 0));

	if (id >= n)
		s->refs[id] = 0;
	if (s->refs[id]++ == 0)
		s->dict_live++;
	return (uint32_t)id;
}

static void dict_unref(struct vg_wstore *s, uint32_t id)
{
	if (--s->refs[id] == 0)
		s->dict_live--;
}

/* size bytes (a multiple of 16) from the current slab, or from a new one
 * (bigger than SLAB_BYTES for a part that needs it). */
static void *slab_alloc(struct vg_wstore *s, size_t size, struct slab **from)
{
	struct slab *b = s->slab;

	if (!b || b->used + size > b->cap) {
		size_t total = (sizeof(*b) + size + SLAB_BYTES - 1) / SLAB_BYTES * SLAB_BYTES;

		if (!(b = aligned_alloc(SLAB_BYTES, total)))
			return NULL;
#ifdef MADV_HUGEPAGE
		madvise(b, total, MADV_HUGEPAGE); /* advice only: fine if refused */
#endif
		b->used = 0;
		b->cap = total - sizeof(*b);
		b->live = 0;
		if (s->slab && s->slab->live == 0)
			free(s->slab);
		s->slab = b;
	}
	void *p = b->data + b->used;

	b->used += size;
	b->live++;
	*from = b;
	return p;
}

/* The part at p, of size bytes, needs only keep bytes: give back the rest
 * when it is the slab's last. */
static void slab_trim(struct slab *b, const void *p, size_t size, size_t keep)
{
	if ((const char *)p + size == b->data + b->used)
		b->used -= size - keep;
}

static void slab_release(struct vg_wstore *s, struct slab *b)
{
	if (!b || --b->live > 0)
		return;
	if (b == s->slab)
		b->used = 0; /* empty: carve it again from the start */
	else
		free(b);
}

static void frozen_free(struct vg_wstore *s, struct frozen *f)
{
	for (size_t i = 0; s->keyed && i < f->n; i++)
		dict_unref(s, f->e[i].id);
	slab_release(s, f->slab);
	memset(f, 0, sizeof(*f));
}

static size_t round16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

static size_t label_len(const struct vg_table_key *k)
{
	return k->service.len + k->endpoint.len + k->method.len;
}

/* At least the sketch's non-empty buckets, without reading them: no more
 * than its span, nor than the values it holds outside the zero bucket. */
static size_t pairs_bound(const struct vg_sketch *s)
{
	uint64_t in_bins = s->count >= s->zero ? s->count - s->zero : s->len;

	return in_bins < s->len ? (size_t)in_bins : s->len;
}

/* Write the sketch's non-empty buckets as (index, count) pairs; returns
 * how many. A window's span is mostly empty, so four empty buckets are
 * skipped with two loads. Never more than the sketch's span. */
static uint32_t put_pairs(uint32_t *out, const struct vg_sketch *s)
{
	const uint32_t *b = s->bins;
	uint32_t n = 0, k = 0, len = s->len;
	size_t bound = pairs_bound(s);

	while (k < len && n < bound) {
		if (k + 4 <= len) {
			uint64_t lo, hi;

			memcpy(&lo, b + k, 8);
			memcpy(&hi, b + k + 2, 8);
			if ((lo | hi) == 0) {
				k += 4;
				continue;
			}
		}
		if (b[k]) {
			out[2 * n] = (uint32_t)(s->offset + (int32_t)k);
			out[2 * n + 1] = b[k];
			n++;
		}
		k++;
	}
	return n;
}

/* Freeze the entries of table t (all of them) as [start, end). */
static int freeze(struct vg_wstore *s, struct frozen *f, const struct vg_table *t, int64_t start, int64_t end,
                  bool latency)
{
	size_t n = vg_table_size(t), strings = 0, pairs = 0;

	memset(f, 0, sizeof(*f));
	f->start_ms = start;
	f->end_ms = end;
	f->latency = latency;
	for (size_t i = 0; i < n; i++) {
		const struct vg_table_entry *e = vg_table_entry(t, i);

		strings += label_len(&e->key);
		if (latency)
			pairs += pairs_bound(&e->latency);
	}
	/* One block: entries, strings, then pairs (last, so the bound's
	 * excess can be given back). */
	size_t e_bytes = round16(n * sizeof(*f->e)), s_bytes = round16(strings);
	size_t size = e_bytes + s_bytes + round16(pairs * 2 * sizeof(*f->pairs));
	char *block = size ? slab_alloc(s, size, &f->slab) : NULL;

	if (!block)
		return size ? VG_ERR_NOMEM : VG_OK; /* nothing to hold: an empty part */
	if (!latency) /* with latency, every field of an entry is set below */
		memset(block, 0, e_bytes);
	f->e = (struct fentry *)block;
	f->pairs = (uint32_t *)(block + e_bytes + s_bytes);
	char *sp = block + e_bytes; /* the labels */

	for (size_t i = 0; i < n; i++) {
		const struct vg_table_entry *e = vg_table_entry(t, i);
		struct fentry *fe = &f->e[f->n++];
		vg_str *labels[3] = {&fe->key.service, &fe->key.endpoint, &fe->key.method};

		fe->key = e->key;
		fe->key.window = 0;
		fe->id = s->keyed ? vg_wstore_dict_ref(s, &fe->key) : UINT32_MAX;
		if (s->keyed && fe->id == UINT32_MAX) {
			for (size_t j = 0; j + 1 < f->n; j++)
				dict_unref(s, f->e[j].id);
			slab_release(s, f->slab);
			memset(f, 0, sizeof(*f));
			return VG_ERR_NOMEM;
		}
		fe->key.window = e->key.window;
		for (int l = 0; l < 3; l++) {
			vg_str *v = labels[l];

			if (v->len)
				memcpy(sp, v->p, v->len);
			v->p = sp;
			sp += v->len;
		}
		fe->count = e->count;
		fe->errors_4xx = e->errors_4xx;
		fe->errors_5xx = e->errors_5xx;
		if (!latency)
			continue;
		const struct vg_sketch *sk = &e->latency;

		fe->l_count = sk->count;
		fe->l_zero = sk->zero;
		fe->l_rejected = sk->rejected;
		fe->l_collapsed = sk->collapsed;
		fe->l_sum = sk->sum;
		fe->l_min = sk->min;
		fe->l_max = sk->max;
		fe->pair_off = (uint32_t)f->n_pairs;
		f->n_pairs += put_pairs(f->pairs + 2 * f->n_pairs, sk);
		fe->n_pairs = (uint32_t)(f->n_pairs - fe->pair_off);
	}
	/* Give back what the bound overestimated. */
	slab_trim(f->slab, block, size, e_bytes + s_bytes + round16(f->n_pairs * 2 * sizeof(*f->pairs)));
	f->bytes = n * sizeof(*f->e) + strings + f->n_pairs * 2 * sizeof(*f->pairs) + sizeof(*f);
	return VG_OK;
}

/* Add a frozen part into out under window 0 (with sketches when both the
 * part has them and latency is wanted). */
static int thaw_into(const struct frozen *f, struct vg_table *out, bool latency)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct fentry *fe = &f->e[i];
		struct vg_table_key k = fe->key;

		k.window = 0;
		struct vg_table_entry *d = vg_table_get(out, &k);

		if (!d)
			return VG_ERR_NOMEM;
		d->count += fe->count;
		d->errors_4xx += fe->errors_4xx;
		d->errors_5xx += fe->errors_5xx;
		if (!latency || !f->latency || fe->l_count + fe->l_rejected == 0)
			continue;
		struct vg_sketch *s = &d->latency;

		for (uint32_t j = 0; j < fe->n_pairs; j++) {
			const uint32_t *pr = &f->pairs[2 * (fe->pair_off + j)];

			if (vg_sketch_add_bucket(s, (int32_t)pr[0], pr[1]) != VG_OK)
				return VG_ERR_NOMEM;
		}
		s->count += fe->l_count;
		s->zero += fe->l_zero;
		s->rejected += fe->l_rejected;
		s->collapsed += fe->l_collapsed;
		s->sum += fe->l_sum;
		if (fe->l_min < s->min)
			s->min = fe->l_min;
		if (fe->l_max > s->max)
			s->max = fe->l_max;
	}
	return VG_OK;
}

/* Add the entries of a live table into out under window 0. */
static int table_into(const struct vg_table *t, struct vg_table *out)
{
	for (size_t i = 0; i < vg_table_size(t); i++) {
		const struct vg_table_entry *e = vg_table_entry(t, i);
		struct vg_table_key k = e->key;

		k.window = 0;
		struct vg_table_entry *d = vg_table_get(out, &k);

		if (!d)
			return VG_ERR_NOMEM;
		d->count += e->count;
		d->errors_4xx += e->errors_4xx;
		d->errors_5xx += e->errors_5xx;
	}
	return VG_OK;
}

static int tier_push(struct tier *t, struct frozen *f)
{
	if (vg_grow(&t->v, &t->cap, t->n + 1, sizeof(*t->v), 64) != 0)
		return VG_ERR_NOMEM;
	t->v[t->n++] = *f;
	return VG_OK;
}

static struct frozen tier_pop(struct tier *t)
{
	struct frozen f = t->v[0];

	memmove(&t->v[0], &t->v[1], (t->n - 1) * sizeof(*t->v));
	t->n--;
	return f;
}

int vg_wstore_create(struct vg_wstore **out, const struct vg_wstore_params *p)
{
	struct vg_wstore *s = calloc(1, sizeof(*s));
	struct vg_table_params tp = {.map = p->map, .max_keys = UINT32_MAX / 2};

	*out = NULL;
	if (!s)
		return VG_ERR_NOMEM;
	s->p = *p;
	if (vg_table_create(&s->a1.t, &tp) != VG_OK || vg_table_create(&s->a2.t, &tp) != VG_OK ||
	    vg_table_create(&s->dict, &tp) != VG_OK) {
		vg_wstore_destroy(s);
		return VG_ERR_NOMEM;
	}
	if (p->max_endpoints || p->hold_404) {
		struct vg_epcap_params cp = {.max_per_service = p->max_endpoints, .hold_404 = p->hold_404,
					     .horizon_ms = p->retain_ms, .map = p->map};

		if (vg_epcap_create(&s->cap, &cp) != VG_OK) {
			vg_wstore_destroy(s);
			return VG_ERR_NOMEM;
		}
	}
	*out = s;
	return VG_OK;
}

static void tier_free(struct vg_wstore *s, struct tier *t)
{
	for (size_t i = 0; i < t->n; i++)
		frozen_free(s, &t->v[i]);
	free(t->v);
}

void vg_wstore_destroy(struct vg_wstore *s)
{
	if (!s)
		return;
	for (unsigned b = 0; b < VG_WSTORE_MAX_VIEWS; b++)
		if (s->views[b])
			s->views[b]->s = NULL;
	tier_free(s, &s->ring);
	tier_free(s, &s->t1);
	tier_free(s, &s->t2);
	free(s->slab);
	vg_table_destroy(s->a1.t);
	vg_table_destroy(s->a2.t);
	free(s->a1.ids);
	free(s->a2.ids);
	vg_table_destroy(s->dict);
	vg_table_destroy(s->dict_spare);
	free(s->refs);
	vg_epcap_destroy(s->cap);
	free(s);
}

static int64_t floor_to(int64_t t, int64_t w)
{
	int64_t q = t / w;

	return (t % w != 0 && t < 0 ? q - 1 : q) * w;
}

/* Close a roll-up bucket into its tier. */
static int acc_flush(struct vg_wstore *s, struct acc *a, struct tier *t)
{
	struct frozen f;

	if (a->start_ms == a->end_ms)
		return VG_OK;
	if (freeze(s, &f, a->t, a->start_ms, a->end_ms, false) != VG_OK)
		return VG_ERR_NOMEM;
	f.views = a->views; /* the same entries: the views count it as they did */
	if (tier_push(t, &f) != VG_OK) {
		for (unsigned b = 0; b < VG_WSTORE_MAX_VIEWS; b++)
			if (f.views & ((uint64_t)1 << b))
				vg_wstore_view_clear(s->views[b]);
		frozen_free(s, &f);
		return VG_ERR_NOMEM;
	}
	s->bytes += f.bytes;
	a->views = 0;
	for (size_t i = 0; s->keyed && i < vg_table_size(a->t); i++)
		dict_unref(s, a->ids[i]);
	vg_table_reset(a->t);
	a->start_ms = a->end_ms = 0;
	return VG_OK;
}

/* thaw_into(f, a->t, false), keeping the bucket's ids; views counting
 * the bucket get f's counts too, and a key new to the bucket is one more
 * part holding it. */
static int acc_roll(struct vg_wstore *s, struct acc *a, const struct frozen *f)
{
	for (unsigned b = 0; b < VG_WSTORE_MAX_VIEWS; b++)
		if ((a->views & ((uint64_t)1 << b)) && vg_wstore_view_fit(s->views[b]) != VG_OK)
			vg_wstore_view_clear(s->views[b]);
	for (size_t i = 0; i < f->n; i++) {
		const struct fentry *fe = &f->e[i];
		struct vg_table_key k = fe->key;
		size_t n = vg_table_size(a->t);

		k.window = 0;
		if (s->keyed && vg_grow(&a->ids, &a->cap_ids, n + 1, sizeof(*a->ids), 1024) != 0)
			return VG_ERR_NOMEM;
		struct vg_table_entry *d = vg_table_get(a->t, &k);

		if (!d)
			return VG_ERR_NOMEM;
		bool fresh = vg_table_size(a->t) > n;

		if (fresh && s->keyed) {
			a->ids[n] = fe->id;
			if (s->refs[fe->id]++ == 0)
				s->dict_live++;
		}
		d->count += fe->count;
		d->errors_4xx += fe->errors_4xx;
		d->errors_5xx += fe->errors_5xx;
		for (unsigned b = 0; a->views && b < VG_WSTORE_MAX_VIEWS; b++) {
			struct vg_wstore_view *v = s->views[b];
			struct vg_wstore_sum *sm;

			if (!(a->views & ((uint64_t)1 << b)))
				continue;
			vg_wstore_view_touch(v, fe->id);
			sm = &v->sum[fe->id];
			sm->count += fe->count;
			sm->errors_4xx += fe->errors_4xx;
			sm->errors_5xx += fe->errors_5xx;
			if (fresh)
				vg_wstore_sum_parts(v, sm, 1);
		}
	}
	return VG_OK;
}

/* Roll a frozen part into a bucket of width w, closing the bucket first
 * when the part starts a new one. The part is freed. */
static int roll(struct vg_wstore *s, struct acc *a, struct tier *t, int64_t w, struct frozen *f)
{
	int64_t bucket = floor_to(f->start_ms, w);
	int rc;

	if (a->start_ms != a->end_ms && bucket != a->start_ms && (rc = acc_flush(s, a, t)) != VG_OK)
		return rc;
	if (a->start_ms == a->end_ms)
		a->start_ms = bucket;
	a->end_ms = f->end_ms;
	vg_wstore_views_drop(s, f);
	rc = acc_roll(s, a, f);
	s->bytes -= f->bytes;
	frozen_free(s, f);
	return rc;
}

static void tier_renumber(struct tier *t, const uint32_t *map)
{
	for (size_t i = 0; i < t->n; i++)
		for (size_t j = 0; j < t->v[i].n; j++)
			t->v[i].e[j].id = map[t->v[i].e[j].id];
}

/* Renumber the dictionary without the keys nothing holds any more, once
 * they outnumber the held ones; the ids in parts, buckets and views
 * follow. Out of memory, the dictionary just stays as it is. */
static void dict_compact(struct vg_wstore *s)
{
	size_t n = vg_table_size(s->dict), live = s->dict_live, k = 0;
	struct vg_table_params tp = {.map = s->p.map, .max_keys = UINT32_MAX / 2};
	struct vg_table *t = s->dict_spare;
	struct vg_wstore_sum *sums[VG_WSTORE_MAX_VIEWS] = {0};
	uint32_t *map = NULL, *refs = NULL;
	size_t cap = live ? live : 1;
	struct acc *accs[2] = {&s->a1, &s->a2};

	if (n - live <= live || n - live < 4096)
		return;
	if (!t && vg_table_create(&t, &tp) != VG_OK)
		return;
	s->dict_spare = NULL;
	vg_table_reset(t);
	if (!(map = malloc(n * sizeof(*map))) || !(refs = malloc(cap * sizeof(*refs))))
		goto out_fail;
	for (unsigned b = 0; b < VG_WSTORE_MAX_VIEWS; b++)
		if (s->views[b] && !(sums[b] = calloc(cap, sizeof(*sums[b]))))
			goto out_fail;
	for (size_t i = 0; i < n; i++) {
		const struct vg_table_entry *e = vg_table_entry(s->dict, i);

		map[i] = UINT32_MAX;
		if (!s->refs[i])
			continue;
		if (!vg_table_get_hashed(t, &e->key, e->hash))
			goto out_fail;
		map[i] = (uint32_t)k;
		refs[k++] = s->refs[i];
	}
	/* Nothing can fail from here. */
	tier_renumber(&s->ring, map);
	tier_renumber(&s->t1, map);
	tier_renumber(&s->t2, map);
	for (int a = 0; a < 2; a++)
		for (size_t i = 0; i < vg_table_size(accs[a]->t); i++)
			accs[a]->ids[i] = map[accs[a]->ids[i]];
	for (unsigned b = 0; b < VG_WSTORE_MAX_VIEWS; b++) {
		struct vg_wstore_view *v = s->views[b];

		if (!v)
			continue;
		for (size_t i = 0; i < n && i < v->cap_sum; i++)
			if (map[i] != UINT32_MAX)
				sums[b][map[i]] = v->sum[i];
		free(v->sum);
		v->sum = sums[b];
		v->cap_sum = cap;
		v->full_at = v->pub + 1; /* its list holds the old ids */
	}
	vg_table_reset(s->dict);
	s->dict_spare = s->dict;
	s->dict = t;
	free(s->refs);
	s->refs = refs;
	s->cap_refs = cap;
	s->dict_gen++;
	free(map);
	return;
out_fail:
	for (unsigned b = 0; b < VG_WSTORE_MAX_VIEWS; b++)
		free(sums[b]);
	free(map);
	free(refs);
	s->dict_spare = t;
}

int vg_wstore_add(struct vg_wstore *s, const struct vg_window *win)
{
	const struct vg_table *t = win->table;
	struct frozen f;
	int rc;

	if (s->cap && win->end_ms >= s->next_expire) {
		vg_epcap_expire(s->cap, win->end_ms);
		s->next_expire = win->end_ms + TIER2_MS;
	}
	if (s->cap && (rc = vg_epcap_fold(s->cap, win->table, win->end_ms, &t)) != VG_OK)
		return rc;
	if (freeze(s, &f, t, win->start_ms, win->end_ms, true) != VG_OK)
		return VG_ERR_NOMEM;
	if (tier_push(&s->ring, &f) != VG_OK) {
		frozen_free(s, &f);
		return VG_ERR_NOMEM;
	}
	s->bytes += f.bytes;
	int64_t now = win->end_ms;

	while (s->ring.n && s->ring.v[0].end_ms <= now - s->p.ring_ms) {
		struct frozen old = tier_pop(&s->ring);

		if ((rc = roll(s, &s->a1, &s->t1, TIER1_MS, &old)) != VG_OK)
			return rc;
	}
	/* A bucket that can get no more windows moves to its tier now. */
	if (s->a1.start_ms != s->a1.end_ms && s->a1.start_ms + TIER1_MS <= now - s->p.ring_ms &&
	    (rc = acc_flush(s, &s->a1, &s->t1)) != VG_OK)
		return rc;
	while (s->t1.n && s->t1.v[0].end_ms <= now - TIER1_SPAN_MS) {
		struct frozen old = tier_pop(&s->t1);

		if ((rc = roll(s, &s->a2, &s->t2, TIER2_MS, &old)) != VG_OK)
			return rc;
	}
	if (s->a2.start_ms != s->a2.end_ms && s->a2.start_ms + TIER2_MS <= now - TIER1_SPAN_MS &&
	    (rc = acc_flush(s, &s->a2, &s->t2)) != VG_OK)
		return rc;
	while (s->t2.n && s->t2.v[0].end_ms <= now - s->p.retain_ms) {
		struct frozen old = tier_pop(&s->t2);

		vg_wstore_views_drop(s, &old);
		s->bytes -= old.bytes;
		frozen_free(s, &old);
	}
	dict_compact(s);
	return VG_OK;
}

void vg_wstore_cover_add(struct vg_wstore_cover *c, int64_t from, int64_t to, bool latency)
{
	if (c->windows == 0 || from < c->from_ms)
		c->from_ms = from;
	if (c->windows == 0 || to > c->to_ms)
		c->to_ms = to;
	c->latency = (c->windows == 0 || c->latency) && latency;
	c->windows++;
}

static int tier_merge(const struct tier *t, int64_t from, int64_t to, bool latency, struct vg_table *out,
		      struct vg_wstore_cover *c)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct frozen *f = &t->v[i];

		if (f->start_ms < from || f->end_ms > to)
			continue;
		if (thaw_into(f, out, latency) != VG_OK)
			return VG_ERR_NOMEM;
		vg_wstore_cover_add(c, f->start_ms, f->end_ms, f->latency && latency);
	}
	return VG_OK;
}

int vg_wstore_merge(struct vg_wstore *s, int64_t from, int64_t to, bool latency, struct vg_table *out,
		    struct vg_wstore_cover *cover)
{
	const struct acc *accs[2] = {&s->a2, &s->a1};

	memset(cover, 0, sizeof(*cover));
	if (tier_merge(&s->t2, from, to, latency, out, cover) != VG_OK ||
	    tier_merge(&s->t1, from, to, latency, out, cover) != VG_OK)
		return VG_ERR_NOMEM;
	for (int i = 0; i < 2; i++) {
		const struct acc *a = accs[i];

		if (a->start_ms == a->end_ms || a->start_ms < from || a->end_ms > to)
			continue;
		if (table_into(a->t, out) != VG_OK)
			return VG_ERR_NOMEM;
		vg_wstore_cover_add(cover, a->start_ms, a->end_ms, false);
	}
	return tier_merge(&s->ring, from, to, latency, out, cover);
}

size_t vg_wstore_bytes(const struct vg_wstore *s)
{
	return s->bytes;
}

void vg_wstore_endpoints(const struct vg_wstore *s, struct vg_epcap_stats *out)
{
	if (s->cap)
		vg_epcap_stats(s->cap, out);
	else
		memset(out, 0, sizeof(*out));
}

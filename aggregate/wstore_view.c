/* vigil: the window store's views, kept up to date incrementally (see
 * wstore.h, vg_wstore_view_*). */
#include "aggregate/wstore_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"

/* Sum id of v is about to change: on the list the next sync publishes. */
void vg_wstore_view_touch(struct vg_wstore_view *v, uint32_t id)
{
	uint64_t next = v->pub + 1;

	if (v->list_pub != next) {
		v->n_changed = 0;
		v->list_pub = next;
	}
	if (v->sum[id].mark == next)
		return;
	if (vg_grow(&v->changed, &v->cap_changed, v->n_changed + 1, sizeof(*v->changed), 1024) != 0 ||
	    vg_grow(&v->before, &v->cap_before, v->n_changed + 1, sizeof(*v->before), 1024) != 0) {
		v->full_at = next;
		return;
	}
	v->before[v->n_changed] = v->sum[id];
	v->changed[v->n_changed++] = id;
	v->sum[id].mark = next;
}

/* ---- views -------------------------------------------------------------- */

/* Room in the view for every id of the dictionary (zero sums). */
int vg_wstore_view_fit(struct vg_wstore_view *v)
{
	size_t n = vg_table_size(v->s->dict), old = v->cap_sum;

	if (n <= old)
		return VG_OK;
	if (vg_grow(&v->sum, &v->cap_sum, n, sizeof(*v->sum), 1024) != 0)
		return VG_ERR_NOMEM;
	memset(v->sum + old, 0, (v->cap_sum - old) * sizeof(*v->sum));
	return VG_OK;
}

void vg_wstore_sum_parts(struct vg_wstore_view *v, struct vg_wstore_sum *sm, int sign)
{
	if (sign > 0 && sm->parts++ == 0)
		v->live++;
	else if (sign < 0 && --sm->parts == 0)
		v->live--;
}

/* Add (sign 1) or take away (-1) a frozen part's entries. */
static int view_part(struct vg_wstore_view *v, const struct frozen *f, int sign)
{
	if (vg_wstore_view_fit(v) != VG_OK)
		return VG_ERR_NOMEM;
	for (size_t i = 0; i < f->n; i++) {
		const struct fentry *fe = &f->e[i];
		struct vg_wstore_sum *sm = &v->sum[fe->id];
		/* Unsigned wrap-around makes subtraction the same sum. */
		uint64_t m = sign > 0 ? 1 : UINT64_MAX;

		vg_wstore_view_touch(v, fe->id);
		sm->count += m * fe->count;
		sm->errors_4xx += m * fe->errors_4xx;
		sm->errors_5xx += m * fe->errors_5xx;
		vg_wstore_sum_parts(v, sm, sign);
		if (!f->latency || !fe->l_count)
			continue;
		sm->l_count += m * fe->l_count;
		if (v->tail == VG_WSTORE_NO_TAIL)
			continue;
		uint64_t tail = 0, far = 0;
		int64_t far_from = (int64_t)v->tail + (int64_t)vg_sketch_map_buckets(v->s->p.map) - 1;

		for (uint32_t j = 0; j < fe->n_pairs; j++) {
			const uint32_t *pr = &f->pairs[2 * (fe->pair_off + j)];
			int32_t b = (int32_t)pr[0];

			if (b >= v->tail)
				tail += pr[1];
			if (b >= far_from)
				far += pr[1];
		}
		sm->tail += m * tail;
		sm->far += m * far;
	}
	return VG_OK;
}

/* The same for a roll-up bucket being filled (counts only). */
static int view_acc(struct vg_wstore_view *v, const struct acc *a, int sign)
{
	uint64_t m = sign > 0 ? 1 : UINT64_MAX;

	if (vg_wstore_view_fit(v) != VG_OK)
		return VG_ERR_NOMEM;
	for (size_t i = 0; i < vg_table_size(a->t); i++) {
		const struct vg_table_entry *ae = vg_table_entry(a->t, i);
		struct vg_wstore_sum *sm = &v->sum[a->ids[i]];

		vg_wstore_view_touch(v, a->ids[i]);
		sm->count += m * ae->count;
		sm->errors_4xx += m * ae->errors_4xx;
		sm->errors_5xx += m * ae->errors_5xx;
		vg_wstore_sum_parts(v, sm, sign);
	}
	return VG_OK;
}

static void tier_clear_bit(struct tier *t, uint64_t mask)
{
	for (size_t i = 0; i < t->n; i++)
		t->v[i].views &= ~mask;
}

/* Empty a view and mark it as counting nothing: after an allocation
 * failure left it half updated. The next sync starts it again. */
void vg_wstore_view_clear(struct vg_wstore_view *v)
{
	uint64_t mask = (uint64_t)1 << v->bit;
	struct vg_wstore *s = v->s;

	if (v->sum)
		memset(v->sum, 0, v->cap_sum * sizeof(*v->sum));
	v->live = 0;
	v->full_at = v->pub + 1;
	if (!s)
		return;
	tier_clear_bit(&s->ring, mask);
	tier_clear_bit(&s->t1, mask);
	tier_clear_bit(&s->t2, mask);
	s->a1.views &= ~mask;
	s->a2.views &= ~mask;
}

/* A part leaves the store (rolled up or aged out): the views counting it
 * let it go. */
void vg_wstore_views_drop(struct vg_wstore *s, struct frozen *f)
{
	for (unsigned b = 0; f->views && b < VG_WSTORE_MAX_VIEWS; b++) {
		uint64_t mask = (uint64_t)1 << b;

		if (!(f->views & mask))
			continue;
		f->views &= ~mask;
		if (view_part(s->views[b], f, -1) != VG_OK)
			vg_wstore_view_clear(s->views[b]);
	}
}

/* ---- views: the public side --------------------------------------------- */

static int key_tier(struct vg_wstore *s, struct tier *t)
{
	for (size_t i = 0; i < t->n; i++) {
		for (size_t j = 0; j < t->v[i].n; j++) {
			struct fentry *fe = &t->v[i].e[j];
			struct vg_table_key k = fe->key;

			k.window = 0;
			if ((fe->id = vg_wstore_dict_ref(s, &k)) == UINT32_MAX)
				return VG_ERR_NOMEM;
		}
	}
	return VG_OK;
}

static int key_acc(struct vg_wstore *s, struct acc *a)
{
	size_t n = vg_table_size(a->t);

	if (n && vg_grow(&a->ids, &a->cap_ids, n, sizeof(*a->ids), 1024) != 0)
		return VG_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		if ((a->ids[i] = vg_wstore_dict_ref(s, &vg_table_entry(a->t, i)->key)) == UINT32_MAX)
			return VG_ERR_NOMEM;
	}
	return VG_OK;
}

/* Give every part and bucket held its keys' ids, oldest first: the first
 * view needs them. Out of memory, the store stays without. */
static int key_all(struct vg_wstore *s)
{
	if (key_tier(s, &s->t2) != VG_OK || key_acc(s, &s->a2) != VG_OK || key_tier(s, &s->t1) != VG_OK ||
	    key_acc(s, &s->a1) != VG_OK || key_tier(s, &s->ring) != VG_OK) {
		vg_table_reset(s->dict);
		s->dict_live = 0;
		return VG_ERR_NOMEM;
	}
	s->keyed = true;
	return VG_OK;
}

int vg_wstore_view_create(struct vg_wstore *s, int32_t tail_bucket, struct vg_wstore_view **out)
{
	struct vg_wstore_view *v;
	unsigned b = 0;

	*out = NULL;
	while (b < VG_WSTORE_MAX_VIEWS && s->views[b])
		b++;
	if (b == VG_WSTORE_MAX_VIEWS)
		return VG_ERR_LIMIT;
	if (!s->keyed && key_all(s) != VG_OK)
		return VG_ERR_NOMEM;
	if (!(v = calloc(1, sizeof(*v))))
		return VG_ERR_NOMEM;
	v->s = s;
	v->bit = b;
	v->tail = tail_bucket;
	s->views[b] = v;
	*out = v;
	return VG_OK;
}

void vg_wstore_view_destroy(struct vg_wstore_view *v)
{
	if (!v)
		return;
	if (v->s) {
		vg_wstore_view_clear(v);
		v->s->views[v->bit] = NULL;
	}
	free(v->sum);
	free(v->changed);
	free(v->before);
	free(v);
}

/* Count a part in the view, or stop counting it, as [from, to) says. */
static int sync_part(struct vg_wstore_view *v, struct frozen *f, int64_t from, int64_t to,
		     struct vg_wstore_cover *c)
{
	uint64_t mask = (uint64_t)1 << v->bit;
	bool in = !(f->start_ms < from || f->end_ms > to), counted = f->views & mask;

	if (in)
		vg_wstore_cover_add(c, f->start_ms, f->end_ms, f->latency);
	if (in == counted)
		return VG_OK;
	f->views ^= mask;
	return view_part(v, f, in ? 1 : -1);
}

static int sync_acc(struct vg_wstore_view *v, struct acc *a, int64_t from, int64_t to, struct vg_wstore_cover *c)
{
	uint64_t mask = (uint64_t)1 << v->bit;
	bool in = !(a->start_ms == a->end_ms || a->start_ms < from || a->end_ms > to), counted = a->views & mask;

	if (in)
		vg_wstore_cover_add(c, a->start_ms, a->end_ms, false);
	if (in == counted)
		return VG_OK;
	a->views ^= mask;
	return view_acc(v, a, in ? 1 : -1);
}

int vg_wstore_view_sync(struct vg_wstore_view *v, int64_t from, int64_t to, struct vg_wstore_cover *cover)
{
	struct vg_wstore *s = v->s;
	int rc = VG_OK;

	memset(cover, 0, sizeof(*cover));
	if (!s)
		return VG_ERR_INVALID;
	struct tier *tiers[3] = {&s->t2, &s->t1, &s->ring};

	for (int i = 0; i < 3 && rc == VG_OK; i++)
		for (size_t j = 0; j < tiers[i]->n && rc == VG_OK; j++)
			rc = sync_part(v, &tiers[i]->v[j], from, to, cover);
	if (rc == VG_OK)
		rc = sync_acc(v, &s->a2, from, to, cover);
	if (rc == VG_OK)
		rc = sync_acc(v, &s->a1, from, to, cover);
	if (rc == VG_OK)
		rc = vg_wstore_view_fit(v); /* every id of the dictionary readable */
	if (rc != VG_OK)
		vg_wstore_view_clear(v);
	else
		v->pub++;
	return rc;
}

bool vg_wstore_view_changes(const struct vg_wstore_view *v, uint64_t *pub, const uint32_t **ids,
			    const struct vg_wstore_sum **before, size_t *n)
{
	*pub = v->pub;
	*ids = NULL;
	*before = NULL;
	*n = 0;
	if (!v->s || v->full_at == v->pub)
		return false;
	if (v->list_pub == v->pub) {
		*ids = v->changed;
		*before = v->before;
		*n = v->n_changed;
	}
	return true;
}

const struct vg_table *vg_wstore_view_table(const struct vg_wstore_view *v)
{
	return v->s ? v->s->dict : NULL;
}

const struct vg_wstore_sum *vg_wstore_view_sums(const struct vg_wstore_view *v)
{
	return v->sum;
}

unsigned vg_wstore_view_generation(const struct vg_wstore_view *v)
{
	return v->s ? v->s->dict_gen : 0;
}

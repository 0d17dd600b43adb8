/* vigil: the alert engine (see alerts.h). */
#include "alert/alerts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/groups.h"
#include "alert/labels.h"
#include "alert/rules_internal.h"
#include "alert/select.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/record.h"

/* ---- the engine --------------------------------------------------------- */

enum { I_INACTIVE, I_PENDING, I_FIRING };

struct instance {
	uint64_t fp, fp_l2; /* of the label sets sent: L1's, and L2's once escalated */
	size_t rule;
	int state;
	int64_t active_at, fired_at, last_active;
	double value;
	double now_value; /* the condition's value this evaluation, when not active (observed) */
	bool observed;
	int escalations; /* 0, or 1 once sent again as escalation="L2" */
	char *key; /* the group key: `by` values */
	size_t key_len;
	bool seen;
};

/* Merged ranges of one evaluation: rules often share their windows. */
#define RANGE_CACHE 8

struct range {
	int64_t from, to;
	bool latency, valid;
	struct vg_table *t;
};

/* The fast path: rules read store views (vg_wstore_view), one per distinct
 * (width, lag from now, tail bucket), kept up to date incrementally
 * instead of merging every window of every range on every evaluation.
 * Each rule reads up to MAX_SLOTS ranges (a burn rate's long and short
 * windows); a slot remembers which view entries its selector takes and
 * into which group, so an evaluation only sums those.
 *
 * Views give exact counts, so every count, error-rate, absence and burn
 * rate condition is decided from them. A latency condition is decided
 * only where the view proves the quantile cannot pass (too few values,
 * or too few of them at or above the threshold's bucket); otherwise, and
 * wherever two or more instances of one rule are active (the order in
 * which they are notified follows the merged table's order), the rule is
 * evaluated again the old way, over merged ranges: the alerts are the
 * same ones, in the same order. */
#define MAX_SLOTS (2 * MAX_PAIRS)
#define MAX_VIEWS 32

struct vrange {
	int64_t width, lag;
	int32_t tail;
	struct vg_wstore_view *v;
	uint64_t synced; /* the evaluation it was last synced in */
};

/* A view entry a rule's selector takes: into which group, and which of
 * its sums are the condition's bad ones (each 0 or 1). */
struct pick {
	uint32_t e, g;
	uint8_t bad_4xx, bad_5xx, bad_all;
};

/* A slot's groups hold the sums of its picks from sync to sync: an
 * evaluation applies the entries the view's last sync changed (what
 * entered or left the range), not every pick; all of them only when the
 * slot missed a sync or the view cannot say what changed. */
struct slot {
	bool init;
	size_t vr;          /* its vrange */
	unsigned gen;       /* of the view, when the entries below were taken */
	size_t seen;        /* view entries classified */
	struct pick *picks; /* in view entry order */
	size_t n_picks, cap_picks;
	uint32_t *pick_of; /* by view entry: its pick + 1, 0 for none (seen of them) */
	size_t cap_pick_of;
	uint64_t pub;      /* the view's sync the groups' sums are of (0: none) */
	struct groups gs;
};

struct vg_alerts {
	const struct vg_rules *rules;
	const struct vg_sketch_map *map;
	struct vg_wstore *vstore; /* the store the views are of */
	struct vrange vr[MAX_VIEWS];
	size_t n_vr;
	struct slot *slots; /* MAX_SLOTS per rule */
	uint64_t evals;     /* calls to vg_alerts_eval */
	int64_t data_from;  /* ms: the start of the first window evaluated */
	bool observing;     /* the rule being evaluated has instances: note their values */
	bool evaluating;    /* inside vg_alerts_eval: absent rules' resolution annotation */
	struct range ranges[RANGE_CACHE];
	size_t next_range;
	struct vg_select sel;
	struct instance *in;
	size_t n_in, cap_in;
	struct vg_buf text; /* annotations of the alert being emitted */
	struct groups *known; /* per rule (absent rules only): groups seen, not yet forgotten */
};

int vg_alerts_create(struct vg_alerts **out, const struct vg_rules *rules, const struct vg_table_params *tp)
{
	struct vg_alerts *a = calloc(1, sizeof(*a));
	struct vg_table_params p = *tp;

	*out = NULL;
	if (!a)
		return VG_ERR_NOMEM;
	p.exact = false;
	p.max_keys = UINT32_MAX / 4; /* merged ranges: the windows were capped already */
	a->rules = rules;
	a->map = tp->map;
	if (rules->n && !(a->slots = calloc(rules->n * MAX_SLOTS, sizeof(*a->slots)))) {
		free(a);
		return VG_ERR_NOMEM;
	}
	if (rules->n && !(a->known = calloc(rules->n, sizeof(*a->known)))) {
		vg_alerts_destroy(a);
		return VG_ERR_NOMEM;
	}
	int rc = vg_select_init(&a->sel);

	for (size_t i = 0; rc == VG_OK && i < RANGE_CACHE; i++) {
		if (vg_table_create(&a->ranges[i].t, &p) != VG_OK) {
			vg_alerts_destroy(a);
			return VG_ERR_NOMEM;
		}
	}
	if (rc != VG_OK) {
		vg_alerts_destroy(a);
		return VG_ERR_NOMEM;
	}
	*out = a;
	return VG_OK;
}

static void views_free(struct vg_alerts *a)
{
	for (size_t i = 0; i < a->n_vr; i++)
		vg_wstore_view_destroy(a->vr[i].v);
	a->n_vr = 0;
	for (size_t i = 0; a->slots && i < a->rules->n * MAX_SLOTS; i++) {
		free(a->slots[i].picks);
		free(a->slots[i].pick_of);
		vg_groups_free(&a->slots[i].gs);
		memset(&a->slots[i], 0, sizeof(a->slots[i]));
	}
	a->vstore = NULL;
}

void vg_alerts_destroy(struct vg_alerts *a)
{
	if (!a)
		return;
	views_free(a);
	free(a->slots);
	for (size_t i = 0; i < a->n_in; i++)
		free(a->in[i].key);
	free(a->in);
	for (size_t i = 0; i < RANGE_CACHE; i++)
		vg_table_destroy(a->ranges[i].t);
	for (size_t i = 0; a->known && i < a->rules->n; i++)
		vg_groups_free(&a->known[i]);
	free(a->known);
	vg_select_free(&a->sel);
	vg_buf_free(&a->text);
	free(a);
}

/* Merge [from, to) of store and sum it into groups by the rule's `by`. */
static int collect(struct vg_alerts *a, const struct rule *r, struct vg_wstore *store, int64_t from, int64_t to,
		   struct groups *gs)
{
	const struct vg_rules_env *env = &a->rules->env;
	bool latency = r->cond == C_LATENCY;
	struct vg_table *t = NULL;
	char key[VG_SELECT_KEY_MAX];

	for (size_t i = 0; i < RANGE_CACHE && !t; i++) {
		const struct range *rg = &a->ranges[i];

		if (rg->valid && rg->from == from && rg->to == to && (rg->latency || !latency))
			t = rg->t;
	}
	if (!t) {
		struct range *rg = &a->ranges[a->next_range++ % RANGE_CACHE];
		struct vg_wstore_cover cover;

		vg_table_reset(rg->t);
		rg->valid = false;
		if (vg_wstore_merge(store, from, to, latency, rg->t, &cover) != VG_OK)
			return VG_ERR_NOMEM;
		*rg = (struct range){from, to, latency, true, rg->t};
		t = rg->t;
	}
	for (size_t i = 0, n = vg_table_size(t); i < n; i++) {
		struct vg_table_entry *e = vg_table_entry(t, i);

		if (!vg_select_takes(&a->sel, env, r, e))
			continue;
		size_t len = vg_select_group_key(env, r, e, key);
		struct group *g = vg_groups_get(gs, key, len);

		if (!g)
			return VG_ERR_NOMEM;
		g->count += e->count;
		if (r->kind == VG_TABLE_HTTP) {
			g->bad += r->of == OF_4XX	? e->errors_4xx
				  : r->of == OF_BOTH ? e->errors_4xx + e->errors_5xx
						     : e->errors_5xx;
			if (r->cond == C_LATENCY) {
				if (!g->has_latency) {
					vg_sketch_init(&g->latency, e->latency.map);
					g->has_latency = true;
				}
				if (vg_sketch_merge(&g->latency, &e->latency) != VG_OK)
					return VG_ERR_NOMEM;
			}
		} else if (r->kind == VG_TABLE_LOG && e->key.level >= VG_LEVEL_ERROR) {
			g->bad += e->count;
		}
	}
	return VG_OK;
}

static bool beyond(const struct rule *r, double v)
{
	return r->below ? v < r->threshold : v > r->threshold;
}

/* The bucket at and above which a latency rule's values must be for its
 * quantile to pass (one below the threshold's, for rounding), or none
 * when the view cannot rule anything out (`below`, a threshold of 0). */
static int32_t tail_bucket(const struct vg_alerts *a, const struct rule *r)
{
	if (r->cond != C_LATENCY || r->below || !(r->threshold >= VG_SKETCH_MIN_VALUE) || !a->map)
		return VG_WSTORE_NO_TAIL;
	return vg_sketch_index(a->map, r->threshold) - 1;
}

/* Add (m 1) or take away (m UINT64_MAX: unsigned wrap-around makes it
 * exact) pick pk's share of its group as sum sm says; a sum out of the
 * range (no parts) has none. */
static void pick_add(struct slot *s, const struct pick *pk, const struct vg_wstore_sum *sm, uint64_t m)
{
	struct group *g = &s->gs.g[pk->g];

	if (!sm->parts)
		return;
	g->count += m * sm->count;
	g->bad += m * (pk->bad_4xx * sm->errors_4xx + pk->bad_5xx * sm->errors_5xx + pk->bad_all * sm->count);
	g->l_count += m * sm->l_count; /* 0 but for HTTP keys */
	g->tail += m * sm->tail;
	g->far += m * sm->far;
	g->n_in += (uint32_t)m; /* 1 or -1 */
	g->present = g->n_in != 0;
}

/* The groups of rule ri over [from, to) from a store view, in slot sl:
 * *out, persistent groups with their sums for this range (present: the
 * group has keys in it), or NULL when no view can be had (the store's
 * views are all taken): merge instead. Returns 0 or VG_ERR_NOMEM. */
static int view_collect(struct vg_alerts *a, size_t ri, size_t sl, struct vg_wstore *store, int64_t now,
			int64_t from, int64_t to, struct groups **out)
{
	const struct rule *r = &a->rules->r[ri];
	const struct vg_rules_env *env = &a->rules->env;
	struct slot *s = &a->slots[ri * MAX_SLOTS + sl];
	struct vg_wstore_cover cover;
	char key[VG_SELECT_KEY_MAX];
	int rc;

	*out = NULL;
	if (!s->init) {
		int32_t tail = tail_bucket(a, r);
		size_t i = 0;

		/* A counts-only reader takes any view of its range. */
		while (i < a->n_vr && !(a->vr[i].width == to - from && a->vr[i].lag == now - to &&
					(tail == VG_WSTORE_NO_TAIL || a->vr[i].tail == tail)))
			i++;
		/* A new one carries the tail of a latency rule over the same
		 * range, if any, so that both read one view. */
		for (size_t k = 0; i == a->n_vr && tail == VG_WSTORE_NO_TAIL && k < a->rules->n; k++) {
			const struct rule *lr = &a->rules->r[k];

			if (lr->cond == C_LATENCY && lr->window_ms == to - from && now == to)
				tail = tail_bucket(a, lr);
		}
		if (i == a->n_vr) {
			if (i == MAX_VIEWS || (rc = vg_wstore_view_create(store, tail, &a->vr[i].v)) == VG_ERR_LIMIT)
				return VG_OK;
			if (rc != VG_OK)
				return rc;
			a->vr[i] = (struct vrange){to - from, now - to, tail, a->vr[i].v, 0};
			a->n_vr++;
		}
		s->vr = i;
		s->init = true;
		s->gen = vg_wstore_view_generation(a->vr[i].v);
	}
	struct vrange *vr = &a->vr[s->vr];

	if (vr->synced != a->evals) { /* once per evaluation: the store has changed */
		if (vg_wstore_view_sync(vr->v, from, to, &cover) != VG_OK)
			return VG_ERR_NOMEM;
		vr->synced = a->evals;
	}
	const struct vg_table *t = vg_wstore_view_table(vr->v);
	const struct vg_wstore_sum *sums = vg_wstore_view_sums(vr->v);
	size_t n = vg_table_size(t);

	if (s->gen != vg_wstore_view_generation(vr->v)) { /* renumbered: classify again */
		s->gen = vg_wstore_view_generation(vr->v);
		s->seen = s->n_picks = 0;
		s->pub = 0;
		vg_groups_free(&s->gs);
	}
	if (n > s->seen && vg_grow(&s->pick_of, &s->cap_pick_of, n, sizeof(*s->pick_of), 1024) != 0)
		return VG_ERR_NOMEM;
	for (; s->seen < n; s->seen++) {
		const struct vg_table_entry *e = vg_table_entry(t, s->seen);

		s->pick_of[s->seen] = 0;
		if (!vg_select_takes(&a->sel, env, r, e))
			continue;
		size_t len = vg_select_group_key(env, r, e, key);
		struct group *g = vg_groups_get(&s->gs, key, len);

		if (!g || vg_grow(&s->picks, &s->cap_picks, s->n_picks + 1, sizeof(*s->picks), 256) != 0) {
			s->pub = 0; /* a group may be new without its sums: all again */
			return VG_ERR_NOMEM;
		}
		bool http = r->kind == VG_TABLE_HTTP;

		s->picks[s->n_picks++] = (struct pick){
			.e = (uint32_t)s->seen, .g = (uint32_t)(g - s->gs.g),
			.bad_4xx = http && (r->of == OF_4XX || r->of == OF_BOTH),
			.bad_5xx = http && (r->of == OF_5XX || r->of == OF_BOTH),
			.bad_all = r->kind == VG_TABLE_LOG && e->key.level >= VG_LEVEL_ERROR};
		s->pick_of[s->seen] = (uint32_t)s->n_picks;
	}
	const uint32_t *changed;
	const struct vg_wstore_sum *before;
	size_t n_changed;
	uint64_t pub;
	bool delta = vg_wstore_view_changes(vr->v, &pub, &changed, &before, &n_changed) && s->pub &&
		     s->pub + 1 >= pub;

	if (!delta) {
		for (size_t i = 0; i < s->gs.n; i++) {
			struct group *g = &s->gs.g[i];

			g->count = g->bad = g->l_count = g->tail = g->far = 0;
			g->n_in = 0;
			g->present = false;
		}
		for (size_t i = 0; i < s->n_picks; i++)
			pick_add(s, &s->picks[i], &sums[s->picks[i].e], 1);
	} else if (s->pub != pub) { /* the sync after the one read: what it changed */
		for (size_t i = 0; i < n_changed; i++) {
			const struct pick *pk;

			if (changed[i] >= s->seen || !s->pick_of[changed[i]])
				continue;
			pk = &s->picks[s->pick_of[changed[i]] - 1];
			pick_add(s, pk, &before[i], UINT64_MAX);
			pick_add(s, pk, &sums[changed[i]], 1);
		}
	}
	s->pub = pub;
	*out = &s->gs;
	return VG_OK;
}

/* ---- absent: the groups a rule knows ------------------------------------ */

static int cmp_group_key(const void *x, const void *y)
{
	const struct group *a = x, *b = y;
	int c = memcmp(a->key, b->key, a->key_len < b->key_len ? a->key_len : b->key_len);

	return c ? c : (a->key_len > b->key_len) - (a->key_len < b->key_len);
}

/* An absent rule knows a group from its first record until forget_after
 * has passed since the end of the last base window holding records of it
 * (a memory of its own: the store keeps an hour, and a service dead for
 * longer must stay known, its alert firing). latest: the rule's groups in
 * the base window ending at now; in: in the rule's window ending at now.
 * The known groups are kept sorted by key, so the order in which they
 * activate is the same whichever path (views or merges) learnt them; and
 * learning twice at one now changes nothing, so both paths may. Returns 0
 * or VG_ERR_NOMEM. */
static int absent_learn(struct vg_alerts *a, size_t ri, int64_t now, const struct groups *latest,
			const struct groups *in)
{
	const struct rule *r = &a->rules->r[ri];
	struct groups *k = &a->known[ri], kept = {0};
	size_t n0 = k->n, forgotten = 0;

	for (int pass = 0; pass < 2; pass++) {
		const struct groups *gs = pass ? in : latest;
		/* A group in the rule's window but not in the latest base window
		 * (evaluations that skipped windows): its last records end at
		 * least one base window into the rule's window. */
		int64_t seen = pass ? now - r->window_ms + a->rules->env.window_ms : now;

		for (size_t i = 0; i < gs->n; i++) {
			const struct group *g = &gs->g[i];
			struct group *kg;

			if (!g->count)
				continue;
			if (!(kg = vg_groups_get(k, g->key, g->key_len)))
				return VG_ERR_NOMEM;
			if (kg->seen_ms < seen)
				kg->seen_ms = seen;
		}
	}
	if (k->n > n0) {
		qsort(k->g, k->n, sizeof(*k->g), cmp_group_key);
		if (vg_groups_reindex(k, k->index_cap) != VG_OK) {
			vg_groups_free(k); /* its index no longer matches: start again */
			return VG_ERR_NOMEM;
		}
	}
	for (size_t i = 0; i < k->n; i++)
		forgotten += now - k->g[i].seen_ms >= r->forget_ms;
	if (!forgotten)
		return VG_OK;
	/* Rebuilt without them: a group is forgotten once per forget_after at most. */
	for (size_t i = 0; i < k->n; i++) {
		struct group *kg;

		if (now - k->g[i].seen_ms >= r->forget_ms)
			continue;
		if (!(kg = vg_groups_get(&kept, k->g[i].key, k->g[i].key_len))) {
			vg_groups_free(&kept);
			return VG_ERR_NOMEM;
		}
		kg->seen_ms = k->g[i].seen_ms;
	}
	vg_groups_free(k);
	*k = kept;
	return VG_OK;
}

/* Can a latency group's quantile be above the threshold? Its rank's value
 * lies in a bucket at or above the tail one when it is, so at least
 * count - rank values must. Also when merging could collapse buckets
 * into the tail (far) or saturate a bucket. */
static bool latency_possible(const struct rule *r, int32_t tail, const struct group *g)
{
	uint64_t n = g->l_count, rank;

	if (tail == VG_WSTORE_NO_TAIL || g->far || n >= UINT32_MAX)
		return true;
	rank = (uint64_t)(r->quantile * (double)(n - 1));
	return g->tail >= n - rank;
}

/* Rule ri holds no longer (or not yet) for group g, whose value is v:
 * noted for its instance, if any, to carry at resolution. */
static struct instance *instance_find(struct vg_alerts *a, size_t rule, const char *key, size_t len);

static void observe(struct vg_alerts *a, size_t ri, const struct group *g, double v)
{
	struct instance *in = a->observing ? instance_find(a, ri, g->key, g->key_len) : NULL;

	if (in) {
		in->now_value = v;
		in->observed = true;
	}
}

/* Has the engine had data for at least need ms by now? A long window
 * over less is the whole stream so far, not what the rule means. */
static bool covered(const struct vg_alerts *a, int64_t now, int64_t need)
{
	return now - a->data_from >= need;
}

/* A count against its baseline: the prediction for one window from the
 * trailing baseline [now - window - baseline, now - window), over the part
 * of it the engine has had data for. Sets *judge false while that part is
 * under the rule's coverage. */
static double baseline_per_window(const struct vg_alerts *a, const struct rule *r, int64_t now, uint64_t count,
				  bool *judge)
{
	int64_t end = now - r->window_ms, from = end - r->baseline_ms;
	int64_t span = end - (from > a->data_from ? from : a->data_from);

	*judge = span >= r->coverage_ms && span > 0;
	return *judge ? (double)count * (double)r->window_ms / (double)span : 0;
}

/* The value of a count-against-baseline group: the window's count over
 * the prediction; whether it holds (the floor, min_count, applies to the
 * count going above and to the prediction going below). */
static bool baseline_holds(const struct rule *r, uint64_t now_count, double predicted, double *v)
{
	*v = predicted > 0 ? (double)now_count / predicted : now_count ? INFINITY : 0;
	if (r->below)
		return predicted >= (double)r->min_count && *v < r->threshold;
	return now_count >= r->min_count && *v > r->threshold;
}

/* Where an evaluation reads a rule's groups: store views (fast, exact
 * counts; see struct slot), or ranges merged from the store. */
struct source {
	bool view;
	struct groups merged[2]; /* merging: the groups of the ranges in use */
};

/* The groups of rule ri over [from, to) into *out, read from src (slot sl
 * of the rule's: at most two ranges are in use at once). Groups read from
 * a merge are all present. *out is NULL when no view can be had. */
static int source_groups(struct vg_alerts *a, size_t ri, struct source *src, size_t sl, struct vg_wstore *store,
			 int64_t now, int64_t from, int64_t to, struct groups **out)
{
	struct groups *gs = &src->merged[sl % 2];
	int rc;

	if (src->view)
		return view_collect(a, ri, sl, store, now, from, to, out);
	vg_groups_free(gs);
	if ((rc = collect(a, &a->rules->r[ri], store, from, to, gs)) != VG_OK)
		return rc;
	for (size_t i = 0; i < gs->n; i++)
		gs->g[i].present = true;
	*out = gs;
	return VG_OK;
}

/* The groups for which rule ri holds at now, with their values, read from
 * store views (view) or merged ranges. From views, sets *slow when the
 * rule must be evaluated again by merging (a latency quantile the view
 * cannot rule out, a resolution's value that needs the sketch, two or
 * more active groups, whose order follows the merged table, or no view to
 * be had); active and values are then to be discarded. */
static int condition(struct vg_alerts *a, size_t ri, struct vg_wstore *store, int64_t now, bool view,
		     struct groups *active, double **values, bool *slow)
{
	const struct rule *r = &a->rules->r[ri];
	struct source src = {.view = view};
	struct groups *w, *o;
	int rc = VG_OK;
	size_t cap = 0;

	*values = NULL;
	*slow = false;
#define RANGE(SLOT, FROM, TO, G)                                                                                 \
	do {                                                                                                     \
		if ((rc = source_groups(a, ri, &src, SLOT, store, now, FROM, TO, G)) != VG_OK)                   \
			goto out;                                                                                \
		if (!*(G)) {                                                                                     \
			*slow = true;                                                                            \
			goto out;                                                                                \
		}                                                                                                \
	} while (0)
#define ACTIVATE(G, V)                                                                                           \
	do {                                                                                                     \
		struct group *ag_ = vg_groups_get(active, (G)->key, (G)->key_len);                                  \
		if (!ag_ || vg_grow(values, &cap, active->n, sizeof(double), 16) != 0) {                         \
			rc = VG_ERR_NOMEM;                                                                       \
			goto out;                                                                                \
		}                                                                                                \
		(*values)[ag_ - active->g] = (V);                                                                \
	} while (0)

	if (r->cond == C_BURN) {
		double budget = 1 - r->objective;

		for (size_t p = 0; p < r->n_pairs; p++) {
			if (!covered(a, now, r->pairs[p].coverage_ms))
				continue;
			RANGE(2 * p, now - r->pairs[p].long_ms, now, &w);
			RANGE(2 * p + 1, now - r->pairs[p].short_ms, now, &o);
			for (size_t i = 0; i < w->n; i++) {
				struct group *gl = &w->g[i], *gsh;

				if (!gl->present || !gl->count)
					continue;
				double bl = (double)gl->bad / (double)gl->count / budget;

				gsh = vg_groups_find(o, gl->key, gl->key_len);
				if (!gsh || !gsh->present || gl->count < r->min_count || gsh->count < r->min_count ||
				    vg_groups_find(active, gl->key, gl->key_len)) {
					if (p == 0)
						observe(a, ri, gl, bl);
					continue;
				}
				double bs = (double)gsh->bad / (double)gsh->count / budget;

				if (bl > r->pairs[p].factor && bs > r->pairs[p].factor)
					ACTIVATE(gl, bl);
				else if (p == 0)
					observe(a, ri, gl, bl);
			}
		}
	} else if (r->cond == C_ABSENT) {
		RANGE(0, now - r->window_ms, now, &w);
		RANGE(1, now - a->rules->env.window_ms, now, &o);
		if ((rc = absent_learn(a, ri, now, o, w)) != VG_OK)
			goto out;
		for (size_t i = 0; i < a->known[ri].n; i++) {
			struct group *gk = &a->known[ri].g[i], *g = vg_groups_find(w, gk->key, gk->key_len);

			if (!g || !g->present || !g->count)
				ACTIVATE(gk, 0.0);
		}
	} else if (r->baseline_ms) {
		bool judge;

		baseline_per_window(a, r, now, 0, &judge);
		if (!judge)
			goto out;
		RANGE(0, now - r->window_ms, now, &w);
		RANGE(1, now - r->window_ms - r->baseline_ms, now - r->window_ms, &o);
		/* above: the groups of the window; below: of the baseline */
		struct groups *by = r->below ? o : w, *other = r->below ? w : o;

		for (size_t i = 0; i < by->n; i++) {
			struct group *g = &by->g[i], *h;
			double v;

			if (!g->present || !g->count)
				continue;
			h = vg_groups_find(other, g->key, g->key_len);
			uint64_t hc = h && h->present ? h->count : 0;
			double pred = baseline_per_window(a, r, now, r->below ? g->count : hc, &judge);

			if (baseline_holds(r, r->below ? hc : g->count, pred, &v))
				ACTIVATE(g, v);
			else
				observe(a, ri, g, v);
		}
	} else if (r->cond != C_ERROR_RATE || covered(a, now, r->coverage_ms)) {
		int32_t tail = tail_bucket(a, r);

		if (view && r->cond == C_LATENCY && a->observing) {
			*slow = true; /* a resolution's value needs the sketch */
			goto out;
		}
		RANGE(0, now - r->window_ms, now, &w);
		for (size_t i = 0; i < w->n; i++) {
			struct group *g = &w->g[i];
			double v;

			if (!g->present)
				continue;
			if (r->cond == C_COUNT) {
				v = (double)g->count;
			} else if (r->cond == C_LATENCY && view) {
				if (g->l_count < r->min_count || !g->l_count)
					continue;
				if (latency_possible(r, tail, g)) {
					*slow = true; /* only the sketch can tell */
					goto out;
				}
				continue;
			} else if (r->cond == C_LATENCY) {
				if (!g->has_latency || !g->latency.count)
					continue;
				v = vg_sketch_quantile(&g->latency, r->quantile);
				if (g->latency.count < r->min_count) {
					observe(a, ri, g, v);
					continue;
				}
			} else {
				if (!g->count)
					continue;
				v = (double)g->bad / (double)g->count;
				if (g->count < r->min_count) {
					observe(a, ri, g, v);
					continue;
				}
			}
			if (!isnan(v) && beyond(r, v))
				ACTIVATE(g, v);
			else
				observe(a, ri, g, v);
		}
	}
	if (view && active->n >= 2)
		*slow = true;
out:
#undef ACTIVATE
#undef RANGE
	vg_groups_free(&src.merged[0]);
	vg_groups_free(&src.merged[1]);
	return rc;
}

static struct instance *instance_find(struct vg_alerts *a, size_t rule, const char *key, size_t len)
{
	for (size_t i = 0; i < a->n_in; i++) {
		struct instance *in = &a->in[i];

		if (in->rule == rule && in->key_len == len && memcmp(in->key, key, len) == 0)
			return in;
	}
	return NULL;
}

/* Build the notification for an instance's label set of escalation level
 * (0: L1, 1: L2) and hand it to emit. */
static void notify(struct vg_alerts *a, const struct instance *in, enum vg_alert_state state, int64_t now,
		   int level, void (*emit)(void *arg, const struct vg_alert *al), void *arg)
{
	const struct rule *r = &a->rules->r[in->rule];
	const char *pairs[VG_ALERT_MAX_LABELS][2];
	size_t n;
	struct vg_alert al = {.name = r->name, .state = state, .severity = vg_labels_severity(r->severity),
			      .escalation = level + 1,
			      .fingerprint = level ? in->fp_l2 : in->fp,
			      .value = in->value, .at = now, .active_at = in->active_at, .fired_at = in->fired_at,
			      .resolved_at = state == VG_ALERT_RESOLVED ? now : 0};
	n = vg_labels_set(r, in->key, level, pairs);
	al.n_labels = n;
	for (size_t i = 0; i < n; i++) {
		al.label_names[i] = pairs[i][0];
		al.label_values[i] = pairs[i][1];
	}
	/* Annotations rendered back to back in a->text, then pointed at. */
	size_t offs[MAX_STATIC];

	a->text.len = 0;
	for (size_t i = 0; i < r->n_ann; i++) {
		offs[i] = a->text.len;
		vg_labels_render(&a->text, r->atemplates[i], &al);
		vg_buf_putc(&a->text, '\0');
	}
	if (!a->text.failed) {
		al.n_annotations = r->n_ann;
		for (size_t i = 0; i < r->n_ann; i++) {
			al.annotation_names[i] = r->anames[i];
			al.annotation_values[i] = a->text.p + offs[i];
		}
	}
	/* An absent rule's resolve says why: "recovered" (the group has
	 * records again) or "forgotten" (silent for forget_after: no longer
	 * known). Only in an evaluation: a reload's resolves end the rule. */
	if (a->evaluating && state == VG_ALERT_RESOLVED && r->cond == C_ABSENT) {
		al.annotation_names[al.n_annotations] = "resolution";
		al.annotation_values[al.n_annotations++] =
			vg_groups_find(&a->known[in->rule], in->key, in->key_len) ? "recovered" : "forgotten";
	}
	emit(arg, &al);
}

/* A firing instance unresolved past escalate_after, whether its condition
 * holds now or keep_firing_for holds it: sent again as L2, once, with L1's
 * label set still firing. */
static void escalate(struct vg_alerts *a, struct instance *in, int64_t now,
		     void (*emit)(void *arg, const struct vg_alert *al), void *arg)
{
	const struct rule *r = &a->rules->r[in->rule];

	if (in->state == I_FIRING && r->escalate_ms && !in->escalations && now - in->fired_at >= r->escalate_ms) {
		in->escalations = 1;
		in->fp_l2 = vg_labels_fingerprint(r, in->key, 1); /* kept: a reload may change the labels */
		notify(a, in, VG_ALERT_FIRING, now, 1, emit, arg);
	}
}

static int eval(struct vg_alerts *a, struct vg_wstore *store, int64_t now,
		void (*emit)(void *arg, const struct vg_alert *al), void *arg);

int vg_alerts_eval(struct vg_alerts *a, struct vg_wstore *store, int64_t now,
		   void (*emit)(void *arg, const struct vg_alert *al), void *arg)
{
	a->evaluating = true;
	int rc = eval(a, store, now, emit, arg);

	a->evaluating = false;
	return rc;
}

/* qsort: pointers to groups, by their groups' keys. */
static int cmp_group_ptr(const void *x, const void *y)
{
	return cmp_group_key(*(const struct group *const *)x, *(const struct group *const *)y);
}

static int eval(struct vg_alerts *a, struct vg_wstore *store, int64_t now,
		void (*emit)(void *arg, const struct vg_alert *al), void *arg)
{
	for (size_t i = 0; i < a->n_in; i++)
		a->in[i].seen = a->in[i].observed = false;
	for (size_t i = 0; i < RANGE_CACHE; i++)
		a->ranges[i].valid = false; /* the store has a new window */
	if (a->vstore != store) {
		views_free(a);
		a->vstore = store;
	}
	if (!a->evals++)
		a->data_from = now - a->rules->env.window_ms;
	for (size_t ri = 0; ri < a->rules->n; ri++) {
		const struct rule *r = &a->rules->r[ri];
		struct groups active = {0};
		double *values = NULL;
		bool slow = false;

		a->observing = false;
		for (size_t i = 0; i < a->n_in && !a->observing; i++)
			a->observing = a->in[i].rule == ri;
		int rc = condition(a, ri, store, now, true, &active, &values, &slow);

		if (rc == VG_OK && slow) {
			vg_groups_free(&active);
			free(values);
			values = NULL;
			rc = condition(a, ri, store, now, false, &active, &values, &slow);
		}

		if (rc != VG_OK) {
			vg_groups_free(&active);
			free(values);
			return rc;
		}
		/* In the order of their keys, not of the tables' hashing (which
		 * follows the order threads added to the windows): the same
		 * stream gives the same notifications in the same order. */
		struct group **order = active.n ? malloc(active.n * sizeof(*order)) : NULL;

		if (active.n && !order) {
			vg_groups_free(&active);
			free(values);
			return VG_ERR_NOMEM;
		}
		for (size_t g = 0; g < active.n; g++)
			order[g] = &active.g[g];
		if (active.n > 1)
			qsort(order, active.n, sizeof(*order), cmp_group_ptr);
		for (size_t o = 0; o < active.n; o++) {
			struct group *gr = order[o];
			size_t g = (size_t)(gr - active.g);
			struct instance *in = instance_find(a, ri, gr->key, gr->key_len);

			if (!in) {
				if (vg_grow(&a->in, &a->cap_in, a->n_in + 1, sizeof(*a->in), 16) != 0) {
					vg_groups_free(&active);
					free(values);
					free(order);
					return VG_ERR_NOMEM;
				}
				in = &a->in[a->n_in++];
				memset(in, 0, sizeof(*in));
				in->rule = ri;
				in->key = gr->key; /* taken over from the group */
				in->key_len = gr->key_len;
				gr->key = NULL;
				in->fp = vg_labels_fingerprint(r, in->key, 0);
			}
			in->seen = true;
			in->value = values[g];
			in->last_active = now;
			if (in->state == I_INACTIVE) {
				in->state = I_PENDING;
				in->active_at = now;
				if (r->for_ms)
					notify(a, in, VG_ALERT_PENDING, now, 0, emit, arg);
			}
			if (in->state == I_PENDING && now - in->active_at >= r->for_ms) {
				in->state = I_FIRING;
				in->fired_at = now;
				notify(a, in, VG_ALERT_FIRING, now, 0, emit, arg);
			} else {
				escalate(a, in, now, emit, arg);
			}
		}
		vg_groups_free(&active);
		free(values);
		free(order);
	}
	/* Instances the conditions no longer hold for. */
	size_t keep = 0;

	for (size_t i = 0; i < a->n_in; i++) {
		struct instance *in = &a->in[i];
		const struct rule *r = &a->rules->r[in->rule];
		bool drop = false;

		if (!in->seen) {
			/* the value at the change: the condition's now, or
			 * none (null) where the group has no data */
			in->value = in->observed ? in->now_value : r->cond == C_COUNT && !r->baseline_ms ? 0 : NAN;
			if (in->state == I_PENDING) {
				if (r->for_ms) /* never fired: closed in the log, nothing to resolve */
					notify(a, in, VG_ALERT_INACTIVE, now, 0, emit, arg);
				drop = true;
			} else if (now - in->last_active >= r->keep_ms) {
				for (int level = 0; level <= in->escalations; level++)
					notify(a, in, VG_ALERT_RESOLVED, now, level, emit, arg);
				drop = true;
			} else {
				escalate(a, in, now, emit, arg);
			}
		}
		if (drop)
			free(in->key);
		else
			a->in[keep++] = *in;
	}
	a->n_in = keep;
	return VG_OK;
}

/* Do x and y key their groups alike (the `by` labels, in order)? Instance
 * keys are those values back to back. */
static bool same_keys(const struct rule *x, const struct rule *y)
{
	if (x->n_by != y->n_by)
		return false;
	for (size_t i = 0; i < x->n_by; i++)
		if (x->by[i] != y->by[i])
			return false;
	return true;
}

/* Do x and y make the same groups of the same entries: keys, kind,
 * counter and selectors? */
static bool same_groups(const struct rule *x, const struct rule *y)
{
	if (!same_keys(x, y) || x->cond != y->cond || x->kind != y->kind || x->counter != y->counter ||
	    x->n_sels != y->n_sels)
		return false;
	for (size_t i = 0; i < x->n_sels; i++) {
		const struct sel *p = &x->sels[i], *q = &y->sels[i];

		if (p->label != q->label || p->op != q->op || strcmp(p->value, q->value) != 0)
			return false;
	}
	return true;
}

/* A reload: absent rules still there (by name) and grouping alike keep
 * the groups they know; the others' are freed (a changed `by` or `where`
 * makes other groups: old ones would fire as silent, or fail to parse as
 * keys), and known (one per new rule) replaces them. */
static void absent_carry(struct vg_alerts *a, const struct vg_rules *rules, struct groups *known)
{
	for (size_t ri = 0; ri < rules->n; ri++) {
		for (size_t oi = 0; rules->r[ri].cond == C_ABSENT && oi < a->rules->n; oi++) {
			if (strcmp(a->rules->r[oi].name, rules->r[ri].name) == 0 &&
			    same_groups(&a->rules->r[oi], &rules->r[ri])) {
				known[ri] = a->known[oi];
				memset(&a->known[oi], 0, sizeof(a->known[oi]));
				break;
			}
		}
	}
	for (size_t oi = 0; a->known && oi < a->rules->n; oi++)
		vg_groups_free(&a->known[oi]);
	free(a->known);
	a->known = known;
}

int vg_alerts_set_rules(struct vg_alerts *a, const struct vg_rules *rules, int64_t now_ms,
			void (*emit)(void *arg, const struct vg_alert *al), void *arg, size_t *ended_out)
{
	size_t keep = 0, ended = 0;
	/* The fast path's slots and views belong to the old rules (their
	 * selectors, their ranges): start afresh, slots sized for the new. */
	struct slot *slots = rules->n ? calloc(rules->n * MAX_SLOTS, sizeof(*slots)) : NULL;
	struct groups *known = rules->n ? calloc(rules->n, sizeof(*known)) : NULL;

	if (rules->n && (!slots || !known)) {
		free(slots);
		free(known);
		return VG_ERR_NOMEM; /* nothing changed */
	}
	absent_carry(a, rules, known);
	views_free(a);
	free(a->slots);
	a->slots = slots;
	for (size_t i = 0; i < a->n_in; i++) {
		struct instance *in = &a->in[i];
		const char *name = a->rules->r[in->rule].name;
		size_t ri = 0;

		while (ri < rules->n && strcmp(rules->r[ri].name, name) != 0)
			ri++;
		/* kept when its key still reads as the new rule's `by` */
		if (ri < rules->n && same_keys(&a->rules->r[in->rule], &rules->r[ri])) {
			in->rule = ri;
			a->in[keep++] = *in;
			continue;
		}
		for (int level = 0; in->state == I_FIRING && level <= in->escalations; level++)
			notify(a, in, VG_ALERT_RESOLVED, now_ms, level, emit, arg); /* under the old rule's labels */
		free(in->key);
		ended++;
	}
	a->n_in = keep;
	a->rules = rules;
	for (size_t i = 0; i < RANGE_CACHE; i++)
		a->ranges[i].valid = false;
	*ended_out = ended;
	return VG_OK;
}

void vg_alerts_each(struct vg_alerts *a, void (*fn)(void *arg, const struct vg_alert *al), void *arg)
{
	for (size_t i = 0; i < a->n_in; i++)
		for (int level = 0; level <= (a->in[i].state == I_FIRING ? a->in[i].escalations : 0); level++)
			notify(a, &a->in[i], a->in[i].state == I_FIRING ? VG_ALERT_FIRING : VG_ALERT_PENDING,
			       a->in[i].last_active, level, fn, arg);
}

void vg_alerts_counts(const struct vg_alerts *a, size_t *pending, size_t *firing)
{
	*pending = *firing = 0;
	for (size_t i = 0; i < a->n_in; i++) {
		if (a->in[i].state == I_FIRING)
			(*firing)++;
		else
			(*pending)++;
	}
}

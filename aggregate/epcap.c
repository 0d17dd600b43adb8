/* vigil: the endpoint cap of the alert store (see epcap.h). */
#include "aggregate/epcap.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"

/* A service: how many endpoints it knows. */
struct svc {
	struct svc *next;
	uint64_t h;
	size_t endpoints;
	size_t len;
	char name[];
};

/* A known endpoint of a service. */
struct ep {
	struct ep *next;
	uint64_t h;
	struct svc *svc;
	int64_t seen_ms;
	size_t len;
	char name[];
};

struct vg_epcap {
	struct vg_epcap_params p;
	struct ep **eps; /* chains, n_eb of them (a power of two) */
	size_t n_eb, n_eps;
	struct svc **svcs;
	size_t n_sb, n_svcs;
	struct vg_epcap_stats st;
	struct vg_table *fold; /* vg_epcap_fold's result when it folds */
	bool *keep;            /* per entry of the table being folded */
	size_t cap_keep;
};

int vg_epcap_create(struct vg_epcap **out, const struct vg_epcap_params *p)
{
	struct vg_epcap *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return VG_ERR_NOMEM;
	struct vg_table_params tp = {.map = p->map, .max_keys = UINT32_MAX / 2};

	c->p = *p;
	c->n_eb = c->n_sb = 64;
	if (vg_table_create(&c->fold, &tp) != VG_OK) {
		vg_epcap_destroy(c);
		return VG_ERR_NOMEM;
	}
	c->eps = calloc(c->n_eb, sizeof(*c->eps));
	c->svcs = calloc(c->n_sb, sizeof(*c->svcs));
	if (!c->eps || !c->svcs) {
		vg_epcap_destroy(c);
		return VG_ERR_NOMEM;
	}
	*out = c;
	return VG_OK;
}

void vg_epcap_destroy(struct vg_epcap *c)
{
	if (!c)
		return;
	for (size_t i = 0; c->eps && i < c->n_eb; i++) {
		for (struct ep *e = c->eps[i], *next; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	for (size_t i = 0; c->svcs && i < c->n_sb; i++) {
		for (struct svc *s = c->svcs[i], *next; s; s = next) {
			next = s->next;
			free(s);
		}
	}
	free(c->eps);
	free(c->svcs);
	vg_table_destroy(c->fold);
	free(c->keep);
	free(c);
}

/* Twice the chains, when the items outnumber them (one body for both
 * kinds of chain). Out of memory the chains just grow longer. */
#define REHASH(TYPE, CHAINS, N_B, ITEMS)                                                  \
	do {                                                                              \
		size_t n_ = *(N_B) * 2;                                                    \
		TYPE **nc_;                                                                \
		if ((ITEMS) <= *(N_B) || !(nc_ = calloc(n_, sizeof(*nc_))))                \
			break;                                                             \
		for (size_t i_ = 0; i_ < *(N_B); i_++) {                                   \
			for (TYPE *x_ = (*(CHAINS))[i_], *next_; x_; x_ = next_) {         \
				next_ = x_->next;                                          \
				x_->next = nc_[x_->h & (n_ - 1)];                          \
				nc_[x_->h & (n_ - 1)] = x_;                                \
			}                                                                  \
		}                                                                          \
		free(*(CHAINS));                                                           \
		*(CHAINS) = nc_;                                                           \
		*(N_B) = n_;                                                               \
	} while (0)

static struct svc *svc_get(struct vg_epcap *c, vg_str service, uint64_t h)
{
	struct svc **head = &c->svcs[h & (c->n_sb - 1)];

	for (struct svc *s = *head; s; s = s->next)
		if (s->h == h && s->len == service.len && memcmp(s->name, service.p, service.len) == 0)
			return s;
	struct svc *s = malloc(sizeof(*s) + service.len);

	if (!s)
		return NULL;
	s->h = h;
	s->endpoints = 0;
	s->len = service.len;
	if (service.len)
		memcpy(s->name, service.p, service.len);
	s->next = *head;
	*head = s;
	c->n_svcs++;
	REHASH(struct svc, &c->svcs, &c->n_sb, c->n_svcs);
	return s;
}

static void svc_drop(struct vg_epcap *c, struct svc *s)
{
	struct svc **link = &c->svcs[s->h & (c->n_sb - 1)];

	while (*link != s)
		link = &(*link)->next;
	*link = s->next;
	c->n_svcs--;
	free(s);
}

static bool is_other(vg_str v)
{
	return vg_str_eq_cstr(v, VG_TABLE_OTHER);
}

int vg_epcap_admit(struct vg_epcap *c, vg_str service, vg_str endpoint, uint64_t requests, uint64_t not_found,
		   int64_t now_ms, bool *keep)
{
	uint64_t hs = vg_table_hash_service(service);
	uint64_t h = hs ^ (vg_table_hash_service(endpoint) * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull);
	struct ep **head = &c->eps[h & (c->n_eb - 1)];

	*keep = true;
	if (is_other(service) || is_other(endpoint))
		return VG_OK;
	for (struct ep *e = *head; e; e = e->next) {
		if (e->h == h && e->len == endpoint.len && e->svc->len == service.len &&
		    memcmp(e->name, endpoint.p, endpoint.len) == 0 && memcmp(e->svc->name, service.p, service.len) == 0) {
			e->seen_ms = now_ms;
			return VG_OK;
		}
	}
	*keep = false;
	if (c->p.hold_404 && requests && not_found >= requests) {
		c->st.folded_404++;
		return VG_OK;
	}
	struct svc *s = svc_get(c, service, hs);

	if (!s)
		return VG_ERR_NOMEM;
	if (c->p.max_per_service && s->endpoints >= c->p.max_per_service) {
		c->st.folded_cap++;
		return VG_OK;
	}
	struct ep *e = malloc(sizeof(*e) + endpoint.len);

	if (!e) {
		if (!s->endpoints)
			svc_drop(c, s);
		return VG_ERR_NOMEM;
	}
	e->h = h;
	e->svc = s;
	e->seen_ms = now_ms;
	e->len = endpoint.len;
	if (endpoint.len)
		memcpy(e->name, endpoint.p, endpoint.len);
	e->next = *head;
	*head = e;
	s->endpoints++;
	c->n_eps++;
	c->st.known++;
	REHASH(struct ep, &c->eps, &c->n_eb, c->n_eps);
	*keep = true;
	return VG_OK;
}

int vg_epcap_fold(struct vg_epcap *c, const struct vg_table *t, int64_t now_ms, const struct vg_table **out)
{
	size_t n = vg_table_size(t), folds = 0;
	int rc;

	*out = t;
	if (vg_grow(&c->keep, &c->cap_keep, n ? n : 1, sizeof(*c->keep), 1024) != 0)
		return VG_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct vg_table_entry *e = vg_table_entry(t, i);

		c->keep[i] = true;
		if (e->key.kind != VG_TABLE_HTTP)
			continue;
		if ((rc = vg_epcap_admit(c, e->key.service, e->key.endpoint, e->count, e->not_found, now_ms,
					 &c->keep[i])) != VG_OK)
			return rc;
		folds += !c->keep[i];
	}
	if (!folds)
		return VG_OK;
	vg_table_reset(c->fold);
	for (size_t i = 0; i < n; i++) {
		const struct vg_table_entry *e = vg_table_entry(t, i);
		struct vg_table_key k = e->key;
		struct vg_table_entry *d;

		if (!c->keep[i])
			k.endpoint = VG_STR_LIT(VG_TABLE_OTHER);
		if (!(d = vg_table_get(c->fold, &k)))
			return VG_ERR_NOMEM;
		d->count += e->count;
		d->errors_4xx += e->errors_4xx;
		d->errors_5xx += e->errors_5xx;
		d->not_found += e->not_found;
		if (vg_sketch_merge(&d->latency, &e->latency) != VG_OK)
			return VG_ERR_NOMEM;
	}
	*out = c->fold;
	return VG_OK;
}

void vg_epcap_expire(struct vg_epcap *c, int64_t now_ms)
{
	for (size_t i = 0; i < c->n_eb; i++) {
		struct ep **link = &c->eps[i];

		while (*link) {
			struct ep *e = *link;

			if (e->seen_ms > now_ms - c->p.horizon_ms) {
				link = &e->next;
				continue;
			}
			*link = e->next;
			c->n_eps--;
			c->st.known--;
			if (--e->svc->endpoints == 0)
				svc_drop(c, e->svc);
			free(e);
		}
	}
}

void vg_epcap_stats(const struct vg_epcap *c, struct vg_epcap_stats *out)
{
	*out = c->st;
}

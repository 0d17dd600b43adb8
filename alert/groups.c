/* vigil: the alert engine's groups (see groups.h). */
#include "alert/groups.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"

uint64_t vg_groups_fnv(const void *p, size_t n, uint64_t h)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ULL;
	return h;
}

void vg_groups_free(struct groups *gs)
{
	for (size_t i = 0; i < gs->n; i++) {
		free(gs->g[i].key);
		if (gs->g[i].has_latency)
			vg_sketch_free(&gs->g[i].latency);
	}
	free(gs->g);
	free(gs->index);
	memset(gs, 0, sizeof(*gs));
}

struct group *vg_groups_find(const struct groups *gs, const char *key, size_t len)
{
	if (!gs->index_cap)
		return NULL;
	for (size_t h = vg_groups_fnv(key, len, VG_GROUPS_FNV0) & (gs->index_cap - 1);; h = (h + 1) & (gs->index_cap - 1)) {
		size_t at = gs->index[h];

		if (!at)
			return NULL;
		struct group *g = &gs->g[at - 1];

		if (g->key_len == len && memcmp(g->key, key, len) == 0)
			return g;
	}
}

int vg_groups_reindex(struct groups *gs, size_t cap)
{
	size_t *ix = calloc(cap, sizeof(*ix));

	if (!ix)
		return VG_ERR_NOMEM;
	free(gs->index);
	gs->index = ix;
	gs->index_cap = cap;
	for (size_t i = 0; i < gs->n; i++) {
		size_t h = vg_groups_fnv(gs->g[i].key, gs->g[i].key_len, VG_GROUPS_FNV0) & (cap - 1);

		while (ix[h])
			h = (h + 1) & (cap - 1);
		ix[h] = i + 1;
	}
	return VG_OK;
}

struct group *vg_groups_get(struct groups *gs, const char *key, size_t len)
{
	struct group *g = vg_groups_find(gs, key, len);

	if (g)
		return g;
	if ((gs->n + 1) * 2 > gs->index_cap && vg_groups_reindex(gs, gs->index_cap ? gs->index_cap * 2 : 64) != VG_OK)
		return NULL;
	if (vg_grow(&gs->g, &gs->cap, gs->n + 1, sizeof(*gs->g), 16) != 0)
		return NULL;
	g = &gs->g[gs->n];
	memset(g, 0, sizeof(*g));
	if (!(g->key = malloc(len ? len : 1)))
		return NULL;
	memcpy(g->key, key, len);
	g->key_len = len;
	size_t h = vg_groups_fnv(key, len, VG_GROUPS_FNV0) & (gs->index_cap - 1);

	while (gs->index[h])
		h = (h + 1) & (gs->index_cap - 1);
	gs->index[h] = ++gs->n;
	return g;
}


/* vigil: the endpoint cap of the alert store.
 *
 * Endpoints are paths with their ids folded (parse/endpoint.h); a path
 * made of letters is not an id, so a vulnerability scanner or a client
 * with random words in its paths mints a new endpoint with every request.
 * The window tables cap keys per window (aggregate.max_keys); this caps
 * what the alert store (aggregate/wstore.h) keeps over its horizon, where
 * every key would otherwise be held for the hour and its roll-ups for
 * days, and read by every rule on every window close.
 *
 * The cap knows the endpoints of each service that the store has taken in
 * its horizon (the last `horizon_ms` of event time). For each HTTP entry
 * of a window it says whether the entry keeps its endpoint or counts under
 * the endpoint `__other__` (service and method kept):
 *   - an endpoint already known keeps its key (and is seen again);
 *   - hold_404: a new endpoint whose requests in the window all answered
 *     404 does not become known (a scanner's probes): `__other__`;
 *   - a new endpoint of a service that knows max_per_service endpoints
 *     already: `__other__`;
 *   - otherwise it becomes known.
 * "__other__" endpoints (the window's own cap) are always kept as they
 * are. An endpoint not seen for horizon_ms is forgotten, freeing its room.
 *
 * vg_epcap_fold applies it to a window's table, summing the entries
 * turned away into one __other__ entry per (service, method).
 *
 * Memory: about 64 bytes plus the labels per known endpoint, so at most
 * services x max_per_service of them, and one table as big as the largest
 * window folded. Not thread-safe: the closer's (the store's) thread only. */
#ifndef VG_EPCAP_H
#define VG_EPCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aggregate/table.h"
#include "core/str.h"

struct vg_epcap_params {
	unsigned max_per_service; /* 0: no cap */
	bool hold_404;            /* new endpoints answering only 404 stay __other__ */
	int64_t horizon_ms;       /* an endpoint unseen this long is forgotten */
	const struct vg_sketch_map *map; /* of the tables vg_epcap_fold reads */
};

struct vg_epcap_stats {
	uint64_t known;       /* endpoints known now, all services */
	uint64_t folded_cap;  /* entries folded: their service was at the cap */
	uint64_t folded_404;  /* entries folded: a new endpoint answering only 404 */
};

struct vg_epcap;

/* Returns 0 or VG_ERR_NOMEM; *out is the caller's to destroy. */
int vg_epcap_create(struct vg_epcap **out, const struct vg_epcap_params *p);
void vg_epcap_destroy(struct vg_epcap *c);

/* Does the HTTP entry (service, endpoint) of the window ending at now_ms,
 * with `requests` of which `not_found` answered 404, keep its endpoint?
 * *keep false: count it under __other__. now_ms must not go back.
 * Returns 0 or VG_ERR_NOMEM (then *keep is false). */
int vg_epcap_admit(struct vg_epcap *c, vg_str service, vg_str endpoint, uint64_t requests, uint64_t not_found,
		   int64_t now_ms, bool *keep);

/* A window's table (window ending at now_ms) as the cap lets it in: *out
 * is t itself when every HTTP entry keeps its endpoint, else the cap's own
 * table (valid until the next call), holding t's entries with those
 * turned away summed under endpoint __other__ (counts, 404s, latency), in
 * t's order. t is only read. Returns 0 or VG_ERR_NOMEM. */
int vg_epcap_fold(struct vg_epcap *c, const struct vg_table *t, int64_t now_ms, const struct vg_table **out);

/* Forget endpoints not seen since now_ms - horizon_ms. Costs the known
 * endpoints; the store calls it once a roll-up bucket (10 minutes). */
void vg_epcap_expire(struct vg_epcap *c, int64_t now_ms);

void vg_epcap_stats(const struct vg_epcap *c, struct vg_epcap_stats *out);

#endif

#include "core/ring.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"

struct vg_ring {
	pthread_mutex_t mu;
	pthread_cond_t not_empty, not_full;
	void **items;
	size_t mask, head, tail; /* head: next to take; tail: next to put */
};

int vg_ring_create(struct vg_ring **out, size_t cap)
{
	struct vg_ring *r = calloc(1, sizeof(*r));
	size_t n = 1;

	*out = NULL;
	if (!r)
		return VG_ERR_NOMEM;
	while (n < cap)
		n *= 2;
	if (!(r->items = calloc(n, sizeof(*r->items)))) {
		free(r);
		return VG_ERR_NOMEM;
	}
	r->mask = n - 1;
	pthread_mutex_init(&r->mu, NULL);
	/* Timed waits on the monotonic clock: a wall-clock step neither
	 * stalls nor hurries them. */
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->not_empty, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&r->not_full, NULL);
	*out = r;
	return VG_OK;
}

void vg_ring_destroy(struct vg_ring *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->not_empty);
	pthread_cond_destroy(&r->not_full);
	free(r->items);
	free(r);
}

void vg_ring_put(struct vg_ring *r, void *item)
{
	pthread_mutex_lock(&r->mu);
	while (r->tail - r->head > r->mask)
		pthread_cond_wait(&r->not_full, &r->mu);
	r->items[r->tail++ & r->mask] = item;
	pthread_cond_signal(&r->not_empty);
	pthread_mutex_unlock(&r->mu);
}

void *vg_ring_take(struct vg_ring *r)
{
	void *item;

	pthread_mutex_lock(&r->mu);
	while (r->tail == r->head)
		pthread_cond_wait(&r->not_empty, &r->mu);
	item = r->items[r->head++ & r->mask];
	pthread_cond_signal(&r->not_full);
	pthread_mutex_unlock(&r->mu);
	return item;
}

void *vg_ring_take_wait(struct vg_ring *r, int timeout_ms)
{
	struct timespec until = vg_clock_deadline(CLOCK_MONOTONIC, timeout_ms);
	void *item = NULL;

	pthread_mutex_lock(&r->mu);
	while (r->tail == r->head) {
		if (pthread_cond_timedwait(&r->not_empty, &r->mu, &until) != 0 && r->tail == r->head)
			goto out_unlock;
	}
	item = r->items[r->head++ & r->mask];
	pthread_cond_signal(&r->not_full);
out_unlock:
	pthread_mutex_unlock(&r->mu);
	return item;
}

size_t vg_ring_count(struct vg_ring *r)
{
	pthread_mutex_lock(&r->mu);
	size_t n = r->tail - r->head;

	pthread_mutex_unlock(&r->mu);
	return n;
}

/* vigil: a bounded ring of pointers for handing work between threads.
 *
 * Power-of-two capacity; a full ring is backpressure (the producer waits),
 * an empty one makes the consumer wait. Waiting uses a mutex and condition
 * variables, which are touched once per item: items are large (a chunk of
 * records), never single records. Thread-safe for any number of producers
 * and consumers. */
#ifndef VG_RING_H
#define VG_RING_H

#include <stddef.h>

struct vg_ring;

/* A ring holding up to cap items (rounded up to a power of two). */
int vg_ring_create(struct vg_ring **out, size_t cap);
void vg_ring_destroy(struct vg_ring *r);

/* Put one item, waiting while the ring is full. */
void vg_ring_put(struct vg_ring *r, void *item);

/* Take one item, waiting while the ring is empty. */
void *vg_ring_take(struct vg_ring *r);

/* Take one item, waiting at most timeout_ms while the ring is empty.
 * Returns NULL when none came in time (so NULL should not be an item);
 * timeout_ms 0 never waits. */
void *vg_ring_take_wait(struct vg_ring *r, int timeout_ms);

/* Items in the ring now (a snapshot: other threads may change it). */
size_t vg_ring_count(struct vg_ring *r);

#endif

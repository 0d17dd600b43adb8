/* Tests for core/ring: order, capacity and the timed take. */
#include <criterion/criterion.h>
#include <pthread.h>

#include "core/clock.h"
#include "core/ring.h"

Test(ring, fifo_order_across_wraps)
{
	struct vg_ring *r;
	int items[10];

	cr_assert_eq(vg_ring_create(&r, 3), 0); /* rounded up to 4 */
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 4; i++)
			vg_ring_put(r, &items[i]);
		for (int i = 0; i < 4; i++)
			cr_expect_eq(vg_ring_take(r), &items[i]);
	}
	vg_ring_destroy(r);
}

Test(ring, take_wait_times_out_on_an_empty_ring)
{
	struct vg_ring *r;
	int item;

	cr_assert_eq(vg_ring_create(&r, 2), 0);
	double t0 = vg_clock_mono_s();

	cr_expect_null(vg_ring_take_wait(r, 30));
	cr_expect_geq(vg_clock_mono_s() - t0, 0.029);
	vg_ring_put(r, &item);
	cr_expect_eq(vg_ring_take_wait(r, 1000), &item);
	cr_expect_null(vg_ring_take_wait(r, 0));
	vg_ring_destroy(r);
}

Test(ring, count_follows_puts_and_takes)
{
	struct vg_ring *r;
	int items[4];

	cr_assert_eq(vg_ring_create(&r, 4), 0);
	cr_expect_eq(vg_ring_count(r), 0);
	for (int i = 0; i < 4; i++)
		vg_ring_put(r, &items[i]);
	cr_expect_eq(vg_ring_count(r), 4);
	vg_ring_take(r);
	cr_expect_eq(vg_ring_count(r), 3);
	vg_ring_destroy(r);
}

static void *put_one(void *arg)
{
	static int item;

	vg_ring_put(arg, &item);
	return &item;
}

Test(ring, take_wait_wakes_on_a_put)
{
	struct vg_ring *r;
	pthread_t t;
	void *want;

	cr_assert_eq(vg_ring_create(&r, 2), 0);
	cr_assert_eq(pthread_create(&t, NULL, put_one, r), 0);
	void *got = vg_ring_take_wait(r, 10000);

	pthread_join(t, &want);
	cr_expect_eq(got, want);
	vg_ring_destroy(r);
}

Test(ring, destroy_null_is_a_no_op)
{
	vg_ring_destroy(NULL);
}

/* Tests for aggregate/window: event-time windows, watermark, lateness, and
 * concurrent writers with a closer producing exactly the single-thread
 * result. The concurrent scenario also runs under ThreadSanitizer in
 * tests/tsan/tsan_window.c (make tsan, make test). */
#include <criterion/criterion.h>

#define CHECK(cond, ...) cr_assert(cond, __VA_ARGS__)
#include "tests/window_scenario.h"

Test(window, single_worker_closes_every_window_in_order)
{
	struct collected c;

	run_single(&c);
	cr_expect(c.in_order);
	cr_expect_gt(c.n, 0u);
	collected_free(&c);
}

/* Batches that end where the records move on to a later window (as vigil
 * aggregate's single worker does) give shards of one window each, which
 * become that window's pending table whole: the same windows as batches
 * of 1000 records, whose shards are merged key by key. */
Test(window, batches_that_follow_windows_give_the_same_windows)
{
	struct collected want, got;
	struct vg_windows *w = make_windows(1);
	struct vg_wworker *ww = vg_windows_worker(w, 0);
	struct vg_record r;
	struct vg_windows_stats st;

	run_single(&want);
	memset(&got, 0, sizeof(got));
	got.last_start = INT64_MIN;
	got.in_order = true;
	vg_wworker_begin(ww);
	for (uint64_t i = 0; i < RECORDS; i++) {
		make_record(&r, i);
		if (vg_wworker_later(ww, &r)) {
			vg_wworker_end(ww);
			vg_windows_close(w, false, collect, &got);
			vg_wworker_begin(ww);
		}
		cr_assert_eq(vg_wworker_add(ww, &r, VG_TIME_NONE, 0), 0);
	}
	vg_wworker_end(ww);
	vg_wworker_finish(ww);
	vg_windows_close(w, true, collect, &got);
	vg_windows_get_stats(w, &st);
	cr_expect_eq(st.records, RECORDS);
	cr_expect_eq(st.late, 0u);
	cr_expect(got.in_order);
	qsort(got.lines, got.n, sizeof(*got.lines), cmp_line);
	cr_assert_eq(got.n, want.n);
	for (size_t i = 0; i < want.n; i++)
		cr_assert_str_eq(got.lines[i], want.lines[i], "row %zu", i);
	vg_windows_destroy(w);
	collected_free(&want);
	collected_free(&got);
}

Test(window, two_writers_and_a_closer_match_one_thread, .timeout = 120)
{
	concurrent(2);
}

Test(window, four_writers_and_a_closer_match_one_thread, .timeout = 120)
{
	concurrent(4);
}

static int count_windows(struct vg_window *win, void *arg)
{
	(void)win;
	(*(int *)arg)++;
	return 0;
}

Test(window, watermark_lateness_and_late_records)
{
	struct vg_windows *w = make_windows(1);
	struct vg_wworker *ww = vg_windows_worker(w, 0);
	struct vg_record r;
	int closed = 0;
	int64_t t0 = 1793491200000LL;

	memset(&r, 0, sizeof(r));
	r.service = VG_STR_LIT("s");
	/* events in window 0 and up to 14.999 s: window 0 ends at 10 s,
	 * the watermark is 14.999 - 5 = 9.999 s: still open. */
	vg_wworker_begin(ww);
	r.ts_ms = t0 + 1000;
	vg_wworker_add(ww, &r, VG_TIME_NONE, 0);
	r.ts_ms = t0 + 14999;
	vg_wworker_add(ww, &r, VG_TIME_NONE, 0);
	vg_wworker_end(ww);
	vg_windows_close(w, false, count_windows, &closed); /* flip */
	vg_windows_close(w, false, count_windows, &closed); /* drain and emit */
	cr_expect_eq(closed, 0);
	/* 15 s: the watermark reaches 10 s and window 0 closes */
	vg_wworker_begin(ww);
	r.ts_ms = t0 + 15000;
	vg_wworker_add(ww, &r, VG_TIME_NONE, 0);
	vg_wworker_end(ww);
	vg_windows_close(w, false, count_windows, &closed);
	vg_windows_close(w, false, count_windows, &closed);
	cr_expect_eq(closed, 1);
	/* a record for window 0 now is late, never aggregated */
	vg_wworker_begin(ww);
	r.ts_ms = t0 + 500;
	vg_wworker_add(ww, &r, VG_TIME_NONE, 0);
	vg_wworker_end(ww);
	vg_wworker_finish(ww);
	vg_windows_close(w, true, count_windows, &closed);
	struct vg_windows_stats st;

	vg_windows_get_stats(w, &st);
	cr_expect_eq(st.late, 1u);
	cr_expect_eq(st.records, 3u);
	cr_expect_eq(closed, 2);
	vg_windows_destroy(w);
}

Test(window, records_without_time_use_the_previous_one)
{
	struct vg_windows *w = make_windows(1);
	struct vg_wworker *ww = vg_windows_worker(w, 0);
	struct vg_record r;
	int64_t seen_start = 0;

	memset(&r, 0, sizeof(r));
	vg_wworker_begin(ww);
	r.ts_ms = 1793491200000LL + 25000;
	vg_wworker_add(ww, &r, VG_TIME_NONE, 0);
	r.ts_ms = VG_TIME_NONE;
	vg_wworker_add(ww, &r, VG_TIME_NONE, 0);
	vg_wworker_end(ww);
	vg_wworker_finish(ww);
	struct vg_windows_stats st;

	vg_windows_close(w, true, NULL, &seen_start);
	vg_windows_get_stats(w, &st);
	cr_expect_eq(st.no_time, 1u);
	cr_expect_eq(st.records, 2u);
	cr_expect_eq(st.closed, 1u);
	vg_windows_destroy(w);
}

Test(window, a_quiet_stream_closes_by_the_clock)
{
	struct vg_windows *w;
	struct vg_windows_params p = {
		.window_ms = 100, .lateness_ms = 0, .idle_timeout_ms = 100, .workers = 1,
		.table = {.map = vg_sketch_map_get(0.01), .max_keys = 100},
	};
	struct vg_record r;
	int closed = 0;

	cr_assert_eq(vg_windows_create(&w, &p), 0);
	struct vg_wworker *ww = vg_windows_worker(w, 0);

	memset(&r, 0, sizeof(r));
	vg_wworker_begin(ww);
	r.ts_ms = 1000050; /* window [1000000, 1000100) */
	vg_wworker_add(ww, &r, VG_TIME_NONE, 0);
	vg_wworker_end(ww);
	/* No more records: once idle, the clock moves the watermark on. Wait
	 * for the condition, bounded. */
	double deadline = vg_clock_mono_s() + 10;

	while (closed == 0 && vg_clock_mono_s() < deadline) {
		vg_windows_close(w, false, count_windows, &closed);
		struct timespec ts = {0, 5000000};

		nanosleep(&ts, NULL);
	}
	cr_expect_eq(closed, 1);
	vg_windows_destroy(w);
}

/* jemalloc's per-thread count of bytes allocated; absent (NULL) in the
 * sanitizer builds, which link no jemalloc. */
int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen) __attribute__((weak));

static uint64_t thread_allocated(void)
{
	uint64_t n = 0;
	size_t len = sizeof(n);

	if (mallctl("thread.allocated", &n, &len, NULL, 0) != 0)
		cr_skip_test("jemalloc without stats");
	return n;
}

/* Issue 3: after warm-up, a worker's batches (begin, add, end) allocate
 * nothing, whether its batches follow windows (shards handed over whole
 * as pending tables, spare tables coming back) or hold 1000 records
 * (shards merged and reset). Latency buckets freed at reset came back as
 * an allocation per HTTP key per window. */
static void no_allocation_after_warm_up(bool follow_windows)
{
	struct vg_windows *w = make_windows(1);
	struct vg_wworker *ww = vg_windows_worker(w, 0);
	struct vg_record r;
	uint64_t allocated = 0, batch = 0, from;

	if (!mallctl)
		cr_skip_test("not linked with jemalloc");
	/* Sketch stores settle at the size their keys' spans need within
	 * 50 windows of this stream; measure from the 100th. */
	for (uint64_t i = 0; i < 130 * WIN; i++) {
		bool measure = i >= 100 * WIN;

		make_record(&r, i);
		if (batch && (follow_windows ? vg_wworker_later(ww, &r) : batch == 1000)) {
			vg_wworker_end(ww);
			if (measure)
				allocated += thread_allocated() - from;
			vg_windows_close(w, false, NULL, NULL);
			batch = 0;
		}
		if (batch++ == 0) {
			from = thread_allocated();
			vg_wworker_begin(ww);
		}
		cr_assert_eq(vg_wworker_add(ww, &r, VG_TIME_NONE, 0), 0);
	}
	vg_wworker_end(ww);
	vg_wworker_finish(ww);
	vg_windows_close(w, true, NULL, NULL);
	cr_expect_eq(allocated, 0u, "%llu bytes allocated by batches after warm-up", (unsigned long long)allocated);
	vg_windows_destroy(w);
}

Test(window, batches_following_windows_allocate_nothing_after_warm_up)
{
	no_allocation_after_warm_up(true);
}

Test(window, batches_of_1000_allocate_nothing_after_warm_up)
{
	no_allocation_after_warm_up(false);
}

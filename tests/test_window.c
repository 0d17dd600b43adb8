/* Tests for aggregate/window: event-time windows, watermark, lateness, and
 * concurrent writers with a closer producing exactly the single-thread
 * result. The concurrent scenario also runs under ThreadSanitizer in
 * tests/tsan/tsan_window.c (make tsan, make test). */
#include <criterion/criterion.h>
#include <math.h>

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
		cr_assert_eq(vg_wworker_add(ww, &r, VG_TIME_NONE, 0, NULL), 0);
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
	concurrent_mode(2, false);
}

Test(window, four_writers_and_a_closer_match_one_thread, .timeout = 120)
{
	concurrent_mode(4, false);
}

static int count_windows(struct vg_window *win, void *arg)
{
	(void)win;
	(*(int *)arg)++;
	return 0;
}

/* The same with each writer's records a registered stream (a Kafka
 * partition), told behind by the closer's thread meanwhile. */
Test(window, two_partitions_and_a_closer_match_one_thread, .timeout = 120)
{
	concurrent_mode(2, true);
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
	vg_wworker_add(ww, &r, VG_TIME_NONE, 0, NULL);
	r.ts_ms = t0 + 14999;
	vg_wworker_add(ww, &r, VG_TIME_NONE, 0, NULL);
	vg_wworker_end(ww);
	vg_windows_close(w, false, count_windows, &closed); /* flip */
	vg_windows_close(w, false, count_windows, &closed); /* drain and emit */
	cr_expect_eq(closed, 0);
	/* 15 s: the watermark reaches 10 s and window 0 closes */
	vg_wworker_begin(ww);
	r.ts_ms = t0 + 15000;
	vg_wworker_add(ww, &r, VG_TIME_NONE, 0, NULL);
	vg_wworker_end(ww);
	vg_windows_close(w, false, count_windows, &closed);
	vg_windows_close(w, false, count_windows, &closed);
	cr_expect_eq(closed, 1);
	/* a record for window 0 now is late, never aggregated */
	vg_wworker_begin(ww);
	r.ts_ms = t0 + 500;
	vg_wworker_add(ww, &r, VG_TIME_NONE, 0, NULL);
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
	vg_wworker_add(ww, &r, VG_TIME_NONE, 0, NULL);
	r.ts_ms = VG_TIME_NONE;
	vg_wworker_add(ww, &r, VG_TIME_NONE, 0, NULL);
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

/* The first window a close emitted: its start (INT64_MIN before any) and
 * whether it held entries. */
struct first_window {
	int64_t start_ms;
	bool entries;
};

static int note_first_window(struct vg_window *win, void *arg)
{
	struct first_window *f = arg;

	if (f->start_ms == INT64_MIN) {
		f->start_ms = win->start_ms;
		f->entries = vg_table_size(win->table) > 0;
	}
	return 0;
}

/* Close until a window is emitted or seconds have passed (a condition
 * awaited, not a sleep): the first window emitted. More than one may come
 * in the same close: on a busy machine this thread can sleep past the
 * clock's next window too. */
static struct first_window close_until_one(struct vg_windows *w, double seconds)
{
	double deadline = vg_clock_mono_s() + seconds;
	struct first_window f = {.start_ms = INT64_MIN};

	while (f.start_ms == INT64_MIN && vg_clock_mono_s() < deadline) {
		struct timespec pause = {0, 5000000};

		vg_windows_close(w, false, note_first_window, &f);
		nanosleep(&pause, NULL);
	}
	return f;
}

Test(window, a_quiet_stream_closes_by_the_clock)
{
	struct vg_windows *w;
	struct vg_windows_params p = {
		.window_ms = 100, .lateness_ms = 0, .idle_timeout_ms = 100, .workers = 1,
		.table = {.map = vg_sketch_map_get(0.01), .max_keys = 100},
	};
	struct vg_record r;

	cr_assert_eq(vg_windows_create(&w, &p), 0);
	struct vg_wworker *ww = vg_windows_worker(w, 0);

	memset(&r, 0, sizeof(r));
	vg_wworker_begin(ww);
	r.ts_ms = 1000050; /* window [1000000, 1000100) */
	vg_wworker_add(ww, &r, VG_TIME_NONE, 0, NULL);
	vg_wworker_end(ww);
	/* No more records: once idle, the clock moves the watermark on. */
	struct first_window f = close_until_one(w, 10);

	cr_expect_eq(f.start_ms, 1000000);
	cr_expect(f.entries, "the record's window closed empty");
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
		cr_assert_eq(vg_wworker_add(ww, &r, VG_TIME_NONE, 0, NULL), 0);
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

/* ---- registered streams (Kafka partitions) and the skew guard ----------- */

#define T0 1793491200000LL

static struct vg_windows *make_streams(int64_t idle_ms, int64_t ahead_ms, int64_t behind_ms)
{
	struct vg_windows *w;
	struct vg_windows_params p = {
		.window_ms = WIN, .lateness_ms = 5000, .idle_timeout_ms = idle_ms, .workers = 1,
		.skew_ahead_ms = ahead_ms, .skew_behind_ms = behind_ms, .max_streams = 8,
		.table = {.map = vg_sketch_map_get(0.01), .max_keys = 10000},
	};

	cr_assert_eq(vg_windows_create(&w, &p), 0);
	return w;
}

/* One batch of one record of stream s at time ts (reference ref). */
static int64_t add_one(struct vg_wworker *ww, int32_t s, int64_t ts, int64_t ref)
{
	struct vg_record r;
	int64_t used = 0;

	memset(&r, 0, sizeof(r));
	r.service = VG_STR_LIT("s");
	r.ts_ms = ts;
	vg_wworker_begin(ww);
	cr_assert_eq(vg_wworker_add(ww, &r, ref, s, &used), 0);
	vg_wworker_end(ww);
	return used;
}

/* Two close calls: the first flips, the second drains and emits. */
static int close_twice(struct vg_windows *w)
{
	int closed = 0;

	vg_windows_close(w, false, count_windows, &closed);
	vg_windows_close(w, false, count_windows, &closed);
	return closed;
}

/* Issue 18: a partition assigned with records still unread holds the
 * watermark before its first record; the first partitions read used to
 * run the watermark to the backlog's end and make the others late. */
Test(window, a_partition_with_records_waiting_holds_the_watermark)
{
	struct vg_windows *w = make_streams(3600000, 0, 0);
	struct vg_wworker *ww = vg_windows_worker(w, 0);
	struct vg_windows_stats st;

	vg_windows_stream_set(w, 0, VG_WSTREAM_BEHIND);
	vg_windows_stream_set(w, 1, VG_WSTREAM_BEHIND);
	for (int64_t t = 0; t <= 600000; t += 1000)
		add_one(ww, 0, T0 + t, VG_TIME_NONE);
	cr_expect_eq(close_twice(w), 0, "stream 1 has not given a record: nothing may close");
	/* Its first record is old: it is not late, and it holds the watermark. */
	add_one(ww, 1, T0 + 1000, VG_TIME_NONE);
	cr_expect_eq(close_twice(w), 0);
	add_one(ww, 1, T0 + 35000, VG_TIME_NONE);
	cr_expect_eq(close_twice(w), 3, "windows up to the slowest partition's time - lateness close");
	vg_windows_get_stats(w, &st);
	cr_expect_eq(st.late, 0u);
	cr_expect_eq(st.records, 603u);
	vg_windows_destroy(w);
}

/* A caught-up partition with no record yet holds the watermark where it
 * is until idle_timeout from its assignment (a partition handed back by a
 * member leaving may be behind); a revoked one leaves it at once. */
Test(window, caught_up_empty_partitions_hold_until_idle_and_revoked_ones_leave)
{
	struct vg_windows *w = make_streams(200, 0, 0);
	struct vg_wworker *ww = vg_windows_worker(w, 0);
	struct timespec pause = {0, 250000000};

	vg_windows_stream_set(w, 0, VG_WSTREAM_BEHIND);
	vg_windows_stream_set(w, 2, VG_WSTREAM_BEHIND);
	add_one(ww, 0, T0 + 60000, VG_TIME_NONE);
	add_one(ww, 2, T0 + 1000, VG_TIME_NONE);
	vg_windows_stream_set(w, 1, VG_WSTREAM_CAUGHT_UP); /* assigned now, empty */
	cr_expect_eq(close_twice(w), 0, "stream 2 holds at 1 s");
	vg_windows_stream_set(w, 2, VG_WSTREAM_GONE);
	cr_expect_eq(close_twice(w), 0, "revoked, but the empty partition 1 holds where it is");
	nanosleep(&pause, NULL); /* past the idle timeout from partition 1's assignment */
	/* Stream 0 is at 60 s: the watermark is 55 s; the window of 1 s
	 * closes, and the empty ones after it up to 50 s with it. */
	cr_expect_eq(close_twice(w), 5, "idle: the windows from 0 to 50 s close (stream 0, behind, is at 60 s)");
	vg_windows_destroy(w);
}

/* Only a caught-up partition goes idle: one with records waiting holds
 * the watermark whatever the clock says. */
Test(window, only_a_caught_up_partition_goes_idle)
{
	struct vg_windows *w = make_streams(50, 0, 0);
	struct vg_wworker *ww = vg_windows_worker(w, 0);
	struct timespec pause = {0, 150000000};
	int closed;

	vg_windows_stream_set(w, 0, VG_WSTREAM_BEHIND);
	vg_windows_stream_set(w, 1, VG_WSTREAM_BEHIND);
	add_one(ww, 0, T0 + 60000, VG_TIME_NONE);
	add_one(ww, 1, T0 + 1000, VG_TIME_NONE);
	nanosleep(&pause, NULL); /* past the idle timeout, by the clock */
	cr_expect_eq(close_twice(w), 0, "stream 1 is behind: it holds at 1 s however long it is quiet");
	vg_windows_stream_set(w, 1, VG_WSTREAM_CAUGHT_UP);
	closed = close_twice(w);
	cr_expect_eq(closed, 5,
		     "caught up and idle: stream 0's 60 s rules, the windows from 0 to 50 s close, four of them "
		     "empty (got %d)",
		     closed);
	vg_windows_destroy(w);
}

/* A partition assigned anew starts afresh: what it had before does not
 * make its records late. */
Test(window, a_partition_assigned_again_starts_afresh)
{
	struct vg_windows *w = make_streams(3600000, 0, 0);
	struct vg_wworker *ww = vg_windows_worker(w, 0);
	struct vg_windows_stats st;

	vg_windows_stream_set(w, 3, VG_WSTREAM_BEHIND);
	add_one(ww, 3, T0 + 60000, VG_TIME_NONE);
	vg_windows_stream_set(w, 3, VG_WSTREAM_GONE);
	vg_windows_stream_set(w, 3, VG_WSTREAM_BEHIND);
	add_one(ww, 3, T0 + 2000, VG_TIME_NONE);
	vg_windows_close(w, true, NULL, NULL);
	vg_windows_get_stats(w, &st);
	cr_expect_eq(st.late, 0u);
	cr_expect_eq(st.records, 2u);
	vg_windows_destroy(w);
}

/* Issue 18: one record stamped 2099 used to make every later record of
 * its partition late. Skewed, it counts at its reference (the Kafka
 * timestamp) and moves no watermark. */
Test(window, a_record_far_ahead_of_its_kafka_time_moves_nothing)
{
	struct vg_windows *w = make_streams(3600000, 300000, 0);
	struct vg_wworker *ww = vg_windows_worker(w, 0);
	struct vg_windows_stats st;
	int64_t y2099 = 4070908800000LL;

	vg_windows_stream_set(w, 0, VG_WSTREAM_BEHIND);
	add_one(ww, 0, T0 + 1000, T0 + 1000);
	cr_expect_eq(add_one(ww, 0, y2099, T0 + 1500), T0 + 1500, "counted at its Kafka time");
	for (int64_t t = 2000; t < 30000; t += 1000)
		add_one(ww, 0, T0 + t, T0 + t);
	/* 4 minutes ahead is within the bound: its own time. */
	cr_expect_eq(add_one(ww, 0, T0 + 269000, T0 + 29000), T0 + 269000);
	vg_windows_close(w, true, NULL, NULL);
	vg_windows_get_stats(w, &st);
	cr_expect_eq(st.skewed_ahead, 1u);
	cr_expect_eq(st.late, 0u, "the records after 2099 are not late");
	cr_expect_eq(st.records, 31u);
	vg_windows_destroy(w);
}

/* A record far behind its Kafka time (a producer whose clock lags, or
 * "timestamp":0) counts at the Kafka time: never late for it, and the
 * archive files it there. */
Test(window, a_record_far_behind_its_kafka_time_counts_at_it)
{
	struct vg_windows *w = make_streams(3600000, 300000, 120000);
	struct vg_wworker *ww = vg_windows_worker(w, 0);
	struct vg_windows_stats st;

	vg_windows_stream_set(w, 0, VG_WSTREAM_BEHIND);
	add_one(ww, 0, T0 + 60000, T0 + 60000);
	cr_expect_eq(add_one(ww, 0, 0, T0 + 61000), T0 + 61000);
	cr_expect_eq(add_one(ww, 0, T0 + 62000 - 600000, T0 + 62000), T0 + 62000, "10 minutes behind, bound 2");
	/* Its reference behind the stream's own time: the stream's time. */
	cr_expect_eq(add_one(ww, 0, 0, T0 + 30000), T0 + 60000);
	vg_windows_close(w, true, NULL, NULL);
	vg_windows_get_stats(w, &st);
	cr_expect_eq(st.skewed_behind, 3u);
	cr_expect_eq(st.late, 0u);
	cr_expect_eq(st.records, 4u);
	vg_windows_destroy(w);
}

/* Files: ahead of the clock is skewed (2099), and so is a record far
 * behind the stream's own progress; neither moves the stream. */
Test(window, files_judge_skew_by_the_clock_and_the_stream)
{
	struct vg_windows *w = make_streams(3600000, 300000, 3600000);
	struct vg_wworker *ww = vg_windows_worker(w, 0);
	struct vg_windows_stats st;
	int64_t now = vg_clock_now_ms();

	add_one(ww, 0, T0, VG_TIME_NONE);
	cr_expect_eq(add_one(ww, 0, 4070908800000LL, VG_TIME_NONE), T0, "2099 counts at the stream's time");
	cr_expect_eq(add_one(ww, 0, 0, VG_TIME_NONE), T0, "1970 too");
	/* A gap within the clock is no skew: the stream moves on. */
	cr_expect_eq(add_one(ww, 0, now - 1000, VG_TIME_NONE), now - 1000);
	vg_windows_close(w, true, NULL, NULL);
	vg_windows_get_stats(w, &st);
	cr_expect_eq(st.skewed_ahead, 1u);
	cr_expect_eq(st.skewed_behind, 1u);
	cr_expect_eq(st.late, 0u);
	vg_windows_destroy(w);
}

/* Partitions assigned anew that give no record (a rebalance in a quiet
 * spell) must not freeze the watermark: once every one has caught up and
 * gone idle, the clock moves it on from the newest time seen. */
Test(window, the_clock_moves_on_after_a_quiet_rebalance)
{
	struct vg_windows *w;
	struct vg_windows_params p = {
		.window_ms = 100, .lateness_ms = 0, .idle_timeout_ms = 20, .workers = 1, .max_streams = 1,
		.table = {.map = vg_sketch_map_get(0.01), .max_keys = 100},
	};

	cr_assert_eq(vg_windows_create(&w, &p), 0);
	struct vg_wworker *ww = vg_windows_worker(w, 0);

	vg_windows_stream_set(w, 0, VG_WSTREAM_BEHIND);
	add_one(ww, 0, 1000050, VG_TIME_NONE); /* window [1000000, 1000100) */
	vg_windows_stream_set(w, 0, VG_WSTREAM_GONE);
	vg_windows_stream_set(w, 0, VG_WSTREAM_BEHIND);
	vg_windows_stream_set(w, 0, VG_WSTREAM_CAUGHT_UP);
	struct first_window f = close_until_one(w, 10);

	cr_expect_eq(f.start_ms, 1000000);
	cr_expect(f.entries, "the record's window closed empty");
	vg_windows_destroy(w);
}

/* A backlog produced minutes after it was logged: every record's Kafka
 * time runs 8 minutes ahead of its event time, within the bounds. A
 * record stamped 2099 (and one stamped 0) among them count at their Kafka
 * time but must not move the partition there: the records after them
 * were all counted late when they did. */
Test(window, a_skewed_record_does_not_move_its_partition_to_its_kafka_time)
{
	struct vg_windows *w = make_streams(3600000, 300000, 7 * 86400000LL);
	struct vg_wworker *ww = vg_windows_worker(w, 0);
	struct vg_windows_stats st;
	int64_t kafka = T0 + 480000;

	vg_windows_stream_set(w, 0, VG_WSTREAM_BEHIND);
	for (int64_t t = 0; t < 60000; t += 1000) {
		if (t == 30000) {
			cr_expect_eq(add_one(ww, 0, 4070908800000LL, kafka), kafka);
			cr_expect_eq(add_one(ww, 0, 0, kafka), kafka);
		}
		add_one(ww, 0, T0 + t, kafka);
	}
	vg_windows_close(w, true, NULL, NULL);
	vg_windows_get_stats(w, &st);
	cr_expect_eq(st.skewed_ahead, 1u);
	cr_expect_eq(st.skewed_behind, 1u);
	cr_expect_eq(st.late, 0u, "the records after the skewed ones are not late");
	cr_expect_eq(st.records, 62u);
	vg_windows_destroy(w);
}

/* A partition whose every record is skewed (its producer's clock lags
 * more than skew_behind) holds the watermark at their Kafka times, not at
 * "unknown": the other partitions' windows close. */
Test(window, a_partition_of_skewed_records_holds_at_its_kafka_time)
{
	struct vg_windows *w = make_streams(3600000, 300000, 15000);
	struct vg_wworker *ww = vg_windows_worker(w, 0);

	vg_windows_stream_set(w, 0, VG_WSTREAM_BEHIND);
	vg_windows_stream_set(w, 1, VG_WSTREAM_BEHIND);
	for (int64_t t = 0; t <= 60000; t += 1000) {
		add_one(ww, 0, T0 + t, T0 + t);
		add_one(ww, 1, T0 + t - 600000, T0 + t); /* 10 minutes behind */
	}
	cr_expect_eq(close_twice(w), 5, "windows up to 60 s - 5 s close");
	vg_windows_destroy(w);
}

/* The HTTP entries' request and latency counts of the windows emitted. */
struct http_counts {
	uint64_t requests, latencies;
	double max;
};

static int sum_http(struct vg_window *win, void *arg)
{
	struct http_counts *c = arg;

	for (size_t i = 0; i < vg_table_size(win->table); i++) {
		const struct vg_table_entry *e = vg_table_entry(win->table, i);

		if (e->key.kind != VG_TABLE_HTTP)
			continue;
		c->requests += e->count;
		c->latencies += e->latency.count + e->n_samples;
		if (e->latency.count && e->latency.max > c->max)
			c->max = e->latency.max;
	}
	return 0;
}

/* Issue 19, finding 9: durations that cannot be real are counted by
 * reason and kept out of the sketch (and the exact samples); their
 * requests still count. */
Test(window, durations_that_cannot_be_real)
{
	static const double durs[] = {5, -5, INFINITY, -INFINITY, 1e20, 86400001, 86400000, 0, NAN, 5};
	struct vg_windows *w;
	struct vg_windows_params p = {
		.window_ms = 1000, .workers = 1, .max_duration_ms = 86400000,
		.table = {.map = vg_sketch_map_get(0.01), .max_keys = 100, .exact = true},
	};
	struct vg_windows_stats st;
	struct http_counts c = {0};
	struct vg_record r;

	cr_assert_eq(vg_windows_create(&w, &p), 0);
	struct vg_wworker *ww = vg_windows_worker(w, 0);

	vg_wworker_begin(ww);
	for (size_t i = 0; i < sizeof(durs) / sizeof(durs[0]); i++) {
		memset(&r, 0, sizeof(r));
		r.ts_ms = 1000000 + (int64_t)i;
		r.status = 200;
		r.duration_ms = durs[i];
		cr_assert_eq(vg_wworker_add(ww, &r, VG_TIME_NONE, 0, NULL), 0);
	}
	vg_wworker_end(ww);
	vg_wworker_finish(ww);
	cr_assert_eq(vg_windows_close(w, true, sum_http, &c), 0);
	vg_windows_get_stats(w, &st);
	cr_expect_eq(st.records, 10);
	cr_expect_eq(st.duration_err[VG_DURATION_NEGATIVE], 1);
	cr_expect_eq(st.duration_err[VG_DURATION_NOT_FINITE], 2);
	cr_expect_eq(st.duration_err[VG_DURATION_OVER_BOUND], 2);
	cr_expect_eq(c.requests, 10);
	cr_expect_eq(c.latencies, 2 * 4, "5, 86400000, 0, 5 in the sketch and the samples"); /* NaN: none */
	cr_expect_eq(c.max, 86400000);
	cr_expect_str_eq(vg_windows_duration_err_str(VG_DURATION_OVER_BOUND), "over_bound");
	cr_expect_str_eq(vg_windows_duration_err_str(VG_DURATION_ERR_COUNT), "?");
	vg_windows_destroy(w);
}

/* ---- issue 19: windows close whether or not they hold records ----------- */

struct spans {
	int n, empty;
	int64_t start[64], end[64];
};

static int note_span(struct vg_window *win, void *arg)
{
	struct spans *sp = arg;

	if (sp->n < 64) {
		sp->start[sp->n] = win->start_ms;
		sp->end[sp->n] = win->end_ms;
	}
	sp->n++;
	sp->empty += vg_table_size(win->table) == 0;
	return 0;
}

/* A gap in event time (a total outage replayed from a file): every
 * window the watermark passes closes, the empty ones too, in order; a
 * flush closes up to the last window holding records, not beyond. */
Test(window, a_gap_in_event_time_closes_every_window_in_it_empty)
{
	struct vg_windows *w = make_streams(3600000, 0, 0);
	struct vg_wworker *ww = vg_windows_worker(w, 0);
	struct vg_windows_stats st;
	struct spans sp = {0};

	vg_windows_stream_set(w, 0, VG_WSTREAM_BEHIND);
	add_one(ww, 0, T0 + 1000, VG_TIME_NONE);
	add_one(ww, 0, T0 + 65000, VG_TIME_NONE); /* nothing from 10 s to 60 s */
	vg_windows_close(w, false, note_span, &sp);
	vg_windows_close(w, false, note_span, &sp);
	cr_expect_eq(sp.n, 6, "the watermark is at 60 s: windows 0..50 s close (got %d)", sp.n);
	cr_expect_eq(sp.empty, 5);
	for (int i = 0; i < sp.n && i < 64; i++) {
		cr_expect_eq(sp.start[i], T0 + i * WIN, "window %d in order", i);
		cr_expect_eq(sp.end[i], sp.start[i] + WIN);
	}
	add_one(ww, 0, T0 + 95000, VG_TIME_NONE);
	vg_wworker_finish(ww);
	vg_windows_close(w, true, note_span, &sp);
	cr_expect_eq(sp.n, 10, "the flush closes 60..90 s (80 s empty), not beyond (got %d)", sp.n);
	cr_expect_eq(sp.empty, 7);
	vg_windows_get_stats(w, &st);
	cr_expect_eq(st.closed, 10u);
	cr_expect_eq(st.records, 3u);
	cr_expect_eq(st.late, 0u);
	vg_windows_destroy(w);
}

/* Live: once every stream is caught up and idle, the clock moves the
 * watermark on, and windows keep closing, empty, with no record at all
 * (a total outage by the clock). */
Test(window, the_clock_closes_empty_windows_while_everything_is_idle)
{
	struct vg_windows *w;
	struct vg_windows_params p = {
		.window_ms = 20, .lateness_ms = 0, .idle_timeout_ms = 30, .workers = 1, .max_streams = 2,
		.table = {.map = vg_sketch_map_get(0.01), .max_keys = 100},
	};
	struct timespec pause = {0, 20000000};
	struct spans sp = {0};
	int64_t t = T0;

	cr_assert_eq(vg_windows_create(&w, &p), 0);
	vg_windows_stream_set(w, 0, VG_WSTREAM_CAUGHT_UP);
	add_one(vg_windows_worker(w, 0), 0, t, VG_TIME_NONE);
	for (int i = 0; i < 200 && sp.n < 8; i++) {
		nanosleep(&pause, NULL);
		vg_windows_close(w, false, note_span, &sp);
	}
	cr_expect_geq(sp.n, 8, "windows keep closing by the clock (got %d)", sp.n);
	cr_expect_eq(sp.empty, sp.n - 1, "all but the first are empty");
	for (int i = 0; i < sp.n && i < 8; i++)
		cr_expect_eq(sp.start[i], T0 + i * 20, "window %d in order", i);
	vg_windows_destroy(w);
}

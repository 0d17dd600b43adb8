/* Tests for aggregate/store: range merges, roll-up tiers, retention, memory. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>

#include "aggregate/store.h"

#define WIN 10000LL
#define HOUR 3600000LL

static const struct vg_sketch_map *map;
static struct vg_table_params tp;

static void setup(void)
{
	map = vg_sketch_map_get(0.01);
	tp = (struct vg_table_params){.map = map, .max_keys = 10000};
}

TestSuite(store, .init = setup);

/* Window i: two HTTP keys and a log key with counts derived from i. */
static void fill_window(struct vg_table *t, int64_t i)
{
	static const char *const eps[] = {"/a", "/b/:id"};

	for (int k = 0; k < 2; k++) {
		struct vg_agg_key key = {.window = i, .kind = VG_AGG_HTTP, .service = VG_STR_LIT("svc"),
					 .endpoint = vg_str_cstr(eps[k]), .method = VG_STR_LIT("GET")};
		struct vg_agg_entry *e = vg_table_get(t, &key);

		e->count = 10 + (uint64_t)(i % 7) + (uint64_t)k;
		e->errors_5xx = (uint64_t)(i % 3);
		for (uint64_t v = 0; v < e->count; v++)
			vg_table_add_latency(t, e, 5.0 + (double)((i * 31 + (int64_t)v * 17) % 400));
	}
	struct vg_agg_key log = {.window = i, .kind = VG_AGG_LOG, .service = VG_STR_LIT("svc"), .level = 3};

	vg_table_get(t, &log)->count = 100;
}

static struct vg_wstore *store_with(int64_t windows)
{
	struct vg_wstore *s;
	struct vg_wstore_params p = {.window_ms = WIN, .ring_ms = HOUR, .retain_ms = 72 * HOUR, .map = map};
	struct vg_table *t;

	cr_assert_eq(vg_wstore_create(&s, &p), 0);
	cr_assert_eq(vg_table_create(&t, &tp), 0);
	for (int64_t i = 0; i < windows; i++) {
		vg_table_reset(t);
		fill_window(t, i);
		struct vg_window w = {.start_ms = i * WIN, .end_ms = (i + 1) * WIN, .table = t};

		cr_assert_eq(vg_wstore_add(s, &w), 0);
	}
	vg_table_destroy(t);
	return s;
}

/* The expected merge of windows [a, b) built directly. */
static struct vg_table *direct(int64_t a, int64_t b)
{
	struct vg_table *out, *t;

	cr_assert_eq(vg_table_create(&out, &tp), 0);
	cr_assert_eq(vg_table_create(&t, &tp), 0);
	for (int64_t i = a; i < b; i++) {
		vg_table_reset(t);
		fill_window(t, i);
		for (size_t k = 0; k < vg_table_size(t); k++) {
			struct vg_agg_entry *e = vg_table_entry(t, k);
			struct vg_agg_key key = e->key;

			key.window = 0;
			struct vg_agg_entry *d = vg_table_get(out, &key);

			d->count += e->count;
			d->errors_5xx += e->errors_5xx;
			vg_sketch_merge(&d->latency, &e->latency);
		}
	}
	vg_table_destroy(t);
	return out;
}

static void expect_tables_equal(struct vg_table *got, struct vg_table *want, bool latency)
{
	cr_assert_eq(vg_table_size(got), vg_table_size(want));
	for (size_t i = 0; i < vg_table_size(want); i++) {
		struct vg_agg_entry *w = vg_table_entry(want, i), *g = vg_table_get(got, &w->key);

		cr_expect_eq(g->count, w->count);
		cr_expect_eq(g->errors_5xx, w->errors_5xx);
		if (!latency || w->key.kind != VG_AGG_HTTP)
			continue;
		cr_expect_eq(g->latency.count, w->latency.count);
		for (double q = 0; q <= 1.0; q += 0.05)
			cr_expect_eq(vg_sketch_quantile(&g->latency, q), vg_sketch_quantile(&w->latency, q), "q=%g", q);
	}
}

Test(store, last_five_minutes_equal_the_windows_merged)
{
	int64_t n = 500; /* about 83 minutes */
	struct vg_wstore *s = store_with(n);
	struct vg_table *got, *want = direct(n - 30, n);
	struct vg_wstore_cover c;

	cr_assert_eq(vg_table_create(&got, &tp), 0);
	cr_assert_eq(vg_wstore_merge(s, (n - 30) * WIN, n * WIN, true, got, &c), 0);
	cr_expect_eq(c.windows, 30u);
	cr_expect(c.latency);
	cr_expect_eq(c.from_ms, (n - 30) * WIN);
	cr_expect_eq(c.to_ms, n * WIN);
	expect_tables_equal(got, want, true);
	vg_table_destroy(got);
	vg_table_destroy(want);
	vg_wstore_destroy(s);
}

Test(store, past_the_hour_counts_roll_up_without_latency)
{
	int64_t n = 7 * 360; /* 7 hours */
	struct vg_wstore *s = store_with(n);
	struct vg_table *got, *want = direct(n - 3 * 360, n);
	struct vg_wstore_cover c;

	cr_assert_eq(vg_table_create(&got, &tp), 0);
	cr_assert_eq(vg_wstore_merge(s, (n - 3 * 360) * WIN, n * WIN, true, got, &c), 0);
	cr_expect_not(c.latency, "ranges past the hour have counts only");
	cr_expect_eq(c.from_ms, (n - 3 * 360) * WIN);
	cr_expect_eq(c.to_ms, n * WIN);
	expect_tables_equal(got, want, false);
	vg_table_destroy(got);
	vg_table_destroy(want);
	/* 6 h .. 7 h ago is in 10-minute buckets: a 10-minute aligned range */
	cr_assert_eq(vg_table_create(&got, &tp), 0);
	want = direct(0, 60);
	cr_assert_eq(vg_wstore_merge(s, 0, 60 * WIN, true, got, &c), 0);
	cr_expect_eq(c.windows, 1u, "one 10-minute bucket");
	expect_tables_equal(got, want, false);
	vg_table_destroy(got);
	vg_table_destroy(want);
	vg_wstore_destroy(s);
}

Test(store, retention_drops_old_buckets_and_memory_stays_bounded, .timeout = 60)
{
	struct vg_wstore *s;
	struct vg_wstore_params p = {.window_ms = WIN, .ring_ms = HOUR, .retain_ms = 72 * HOUR, .map = map};
	struct vg_table *t;
	size_t at3d = 0;

	cr_assert_eq(vg_wstore_create(&s, &p), 0);
	cr_assert_eq(vg_table_create(&t, &tp), 0);
	for (int64_t i = 0; i < 4 * 24 * 360; i++) {
		vg_table_reset(t);
		fill_window(t, i);
		struct vg_window w = {.start_ms = i * WIN, .end_ms = (i + 1) * WIN, .table = t};

		cr_assert_eq(vg_wstore_add(s, &w), 0);
		if (i == 3 * 24 * 360)
			at3d = vg_wstore_bytes(s);
	}
	size_t at4d = vg_wstore_bytes(s);

	cr_expect_gt(at3d, 0u);
	cr_expect_leq(at4d, at3d + at3d / 10, "memory grew from %zu to %zu", at3d, at4d);
	struct vg_table *got;
	struct vg_wstore_cover c;

	cr_assert_eq(vg_table_create(&got, &tp), 0);
	cr_assert_eq(vg_wstore_merge(s, 0, 24 * HOUR, true, got, &c), 0);
	cr_expect_eq(c.windows, 0u, "the first day is past retention");
	vg_table_destroy(got);
	vg_table_destroy(t);
	vg_wstore_destroy(s);
}

/* Tests for aggregate/store: range merges, roll-up tiers, retention, memory. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate/wstore.h"
#include "core/err.h"

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
		struct vg_table_key key = {.window = i, .kind = VG_TABLE_HTTP, .service = VG_STR_LIT("svc"),
					 .endpoint = vg_str_cstr(eps[k]), .method = VG_STR_LIT("GET")};
		struct vg_table_entry *e = vg_table_get(t, &key);

		e->count = 10 + (uint64_t)(i % 7) + (uint64_t)k;
		e->errors_5xx = (uint64_t)(i % 3);
		for (uint64_t v = 0; v < e->count; v++)
			vg_table_add_latency(t, e, 5.0 + (double)((i * 31 + (int64_t)v * 17) % 400));
	}
	struct vg_table_key log = {.window = i, .kind = VG_TABLE_LOG, .service = VG_STR_LIT("svc"), .level = 3};

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
			struct vg_table_entry *e = vg_table_entry(t, k);
			struct vg_table_key key = e->key;

			key.window = 0;
			struct vg_table_entry *d = vg_table_get(out, &key);

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
		struct vg_table_entry *w = vg_table_entry(want, i), *g = vg_table_get(got, &w->key);

		cr_expect_eq(g->count, w->count);
		cr_expect_eq(g->errors_5xx, w->errors_5xx);
		if (!latency || w->key.kind != VG_TABLE_HTTP)
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

/* Window i for the view tests: keys that come and go (endpoint j is in
 * window i when (i * 7 + j * 13) % 5 != 0, and only up to a point for
 * some), so keys enter and leave ranges, with latencies on both sides of
 * a tail bucket. */
static void churn_window(struct vg_table *t, int64_t i)
{
	for (int j = 0; j < 12; j++) {
		char ep[16];

		if ((i * 7 + j * 13) % 5 == 0 || (j >= 9 && i > 500 + j * 40))
			continue;
		snprintf(ep, sizeof(ep), "/e%d", j);
		struct vg_table_key key = {.window = i, .kind = j % 4 == 3 ? VG_TABLE_LOG : VG_TABLE_HTTP,
					 .service = VG_STR_LIT("svc"), .endpoint = vg_str_cstr(ep),
					 .method = VG_STR_LIT("GET"), .level = (uint8_t)j};

		if (key.kind == VG_TABLE_LOG)
			key.endpoint = key.method = (vg_str){0};
		struct vg_table_entry *e = vg_table_get(t, &key);

		e->count = 1 + (uint64_t)((i + j) % 9);
		e->errors_4xx = (uint64_t)(i % 2);
		e->errors_5xx = (uint64_t)((i + j) % 3);
		for (uint64_t v = 0; key.kind == VG_TABLE_HTTP && v < e->count; v++)
			vg_table_add_latency(t, e, 1.0 + (double)((i * 37 + (int64_t)v * 101 + j) % 900));
	}
	/* And short-lived keys, two new ones a window, each in two windows:
	 * past retention the store forgets them and renumbers its keys. */
	for (int64_t j = 2 * i - 2; j < 2 * i + 2; j++) {
		char ep[32];

		snprintf(ep, sizeof(ep), "/short/%lld", (long long)j);
		struct vg_table_key key = {.window = i, .kind = VG_TABLE_HTTP, .service = VG_STR_LIT("svc"),
					 .endpoint = vg_str_cstr(ep), .method = VG_STR_LIT("PUT")};
		struct vg_table_entry *e = vg_table_get(t, &key);

		e->count = 3;
		e->errors_5xx = 1;
		vg_table_add_latency(t, e, 700);
	}
}

/* Compare a synced view with a fresh merge of the same range: the same
 * keys with the same counts; latency values and tail as the merged sketch
 * has them. */
static void check_view(struct vg_wstore *s, struct vg_wstore_view *v, int32_t tail, int64_t from, int64_t to)
{
	struct vg_table *m;
	struct vg_wstore_cover c1, c2;
	size_t live = 0;

	cr_assert_eq(vg_table_create(&m, &tp), 0);
	cr_assert_eq(vg_wstore_merge(s, from, to, true, m, &c1), 0);
	cr_assert_eq(vg_wstore_view_sync(v, from, to, &c2), 0);
	cr_assert(c1.from_ms == c2.from_ms && c1.to_ms == c2.to_ms && c1.windows == c2.windows &&
		  c1.latency == c2.latency);
	const struct vg_table *vt = vg_wstore_view_table(v);
	const struct vg_wstore_sum *sums = vg_wstore_view_sums(v);

	for (size_t i = 0; i < vg_table_size(vt); i++) {
		const struct vg_table_entry *e = vg_table_entry(vt, i);

		if (!sums[i].parts) {
			cr_assert(sums[i].count == 0 && sums[i].errors_4xx == 0 && sums[i].errors_5xx == 0);
			continue;
		}
		live++;
		struct vg_table_entry *d = vg_table_get(m, &e->key);

		cr_assert_eq(d->count, sums[i].count, "[%lld, %lld) key %zu", (long long)from, (long long)to, i);
		cr_assert_eq(d->errors_4xx, sums[i].errors_4xx);
		cr_assert_eq(d->errors_5xx, sums[i].errors_5xx);
		cr_assert_eq(d->latency.count, sums[i].l_count);
		uint64_t above = 0;

		for (uint32_t k = 0; k < d->latency.len; k++)
			if (d->latency.offset + (int32_t)k >= tail)
				above += d->latency.bins[k];
		cr_assert_eq(above, sums[i].tail);
		cr_assert_eq(sums[i].far, 0);
	}
	cr_assert_eq(live, vg_table_size(m), "[%lld, %lld): %zu live, merge %zu", (long long)from, (long long)to, live,
		     vg_table_size(m));
	vg_table_destroy(m);
}

/* Views slide with the windows across the ring's end, the 1-minute and
 * 10-minute roll-up boundaries and retention, and always hold what a
 * fresh merge of their range gives. */
Test(store, views_match_fresh_merges)
{
	struct vg_wstore *s;
	struct vg_wstore_params p = {.window_ms = WIN, .ring_ms = 600000, .retain_ms = 7 * HOUR, .map = map};
	struct vg_table *t;
	static const int64_t widths[] = {60000, 300000, 1800000, HOUR, 6 * HOUR, 8 * HOUR};
	struct vg_wstore_view *v[8];
	int32_t tail = vg_sketch_index(map, 300);

	cr_assert_eq(vg_wstore_create(&s, &p), 0);
	cr_assert_eq(vg_table_create(&t, &tp), 0);
	for (int k = 0; k < 8; k++)
		cr_assert_eq(vg_wstore_view_create(s, tail, &v[k]), 0);
	for (int64_t i = 0; i < 6000; i++) {
		vg_table_reset(t);
		churn_window(t, i);
		struct vg_window w = {.start_ms = i * WIN, .end_ms = (i + 1) * WIN, .table = t};
		int64_t now = w.end_ms;

		cr_assert_eq(vg_wstore_add(s, &w), 0);
		if (i % 7 != 0 && i < 5990)
			continue; /* views also catch up after skipped syncs */
		for (int k = 0; k < 6; k++)
			check_view(s, v[k], tail, now - widths[k], now);
		check_view(s, v[6], tail, now - 300000 - HOUR, now - 300000); /* a lookback */
		check_view(s, v[7], tail, now - 7 * HOUR - 30000, now - 2 * HOUR + 10000);
	}
	cr_assert_gt(vg_wstore_view_generation(v[0]), 0, "the store forgot the keys gone");
	cr_assert_lt(vg_table_size(vg_wstore_view_table(v[0])), 2 * 2 * 7 * 360 + 100);
	for (int k = 0; k < 8; k++)
		vg_wstore_view_destroy(v[k]);
	vg_table_destroy(t);
	vg_wstore_destroy(s);
}

/* The dictionary is built with the first view: views created after the
 * ring, both roll-up tiers and the buckets being filled hold parts see
 * what a fresh merge does, and keep doing so as the windows go on. */
Test(store, views_created_late_match_fresh_merges)
{
	struct vg_wstore *s;
	struct vg_wstore_params p = {.window_ms = WIN, .ring_ms = 600000, .retain_ms = 7 * HOUR, .map = map};
	struct vg_table *t;
	struct vg_wstore_view *v[2];
	int32_t tail = vg_sketch_index(map, 300);

	cr_assert_eq(vg_wstore_create(&s, &p), 0);
	cr_assert_eq(vg_table_create(&t, &tp), 0);
	for (int64_t i = 0; i < 3000; i++) {
		vg_table_reset(t);
		churn_window(t, i);
		struct vg_window w = {.start_ms = i * WIN, .end_ms = (i + 1) * WIN, .table = t};
		int64_t now = w.end_ms;

		cr_assert_eq(vg_wstore_add(s, &w), 0);
		if (i == 2500) {
			cr_assert_eq(vg_wstore_view_create(s, tail, &v[0]), 0);
			cr_assert_eq(vg_wstore_view_create(s, VG_WSTORE_NO_TAIL, &v[1]), 0);
		}
		if (i < 2500 || (i % 5 != 0 && i != 2500))
			continue;
		check_view(s, v[0], tail, now - 7 * HOUR, now);
		check_view(s, v[0], tail, now - 600000, now);
		check_view(s, v[1], VG_WSTORE_NO_TAIL, now - 2 * HOUR - 30000, now - 300000);
	}
	vg_wstore_view_destroy(v[0]);
	vg_wstore_view_destroy(v[1]);
	vg_table_destroy(t);
	vg_wstore_destroy(s);
}

/* A view outliving its store is detached, not a dangling pointer; the
 * 65th view of a store is refused. */
Test(store, view_limits)
{
	struct vg_wstore *s = store_with(10);
	struct vg_wstore_view *v[VG_WSTORE_MAX_VIEWS + 1];
	struct vg_wstore_cover c;

	for (int k = 0; k < VG_WSTORE_MAX_VIEWS; k++)
		cr_assert_eq(vg_wstore_view_create(s, VG_WSTORE_NO_TAIL, &v[k]), 0);
	cr_assert_eq(vg_wstore_view_create(s, VG_WSTORE_NO_TAIL, &v[VG_WSTORE_MAX_VIEWS]), VG_ERR_LIMIT);
	vg_wstore_view_destroy(v[3]);
	cr_assert_eq(vg_wstore_view_create(s, VG_WSTORE_NO_TAIL, &v[3]), 0);
	cr_assert_eq(vg_wstore_view_sync(v[0], 0, 100 * WIN, &c), 0);
	cr_assert_eq(c.windows, 10);
	vg_wstore_destroy(s);
	cr_assert_eq(vg_wstore_view_sync(v[0], 0, 100 * WIN, &c), VG_ERR_INVALID);
	for (int k = 0; k < VG_WSTORE_MAX_VIEWS; k++)
		vg_wstore_view_destroy(v[k]);
}

/* ---- the endpoint cap --------------------------------------------------- */

static struct vg_wstore *capped_store(unsigned max_endpoints, bool hold_404)
{
	struct vg_wstore *s;
	struct vg_wstore_params p = {.window_ms = WIN, .ring_ms = HOUR, .retain_ms = 72 * HOUR, .map = map,
				     .max_endpoints = max_endpoints, .hold_404 = hold_404};

	cr_assert_eq(vg_wstore_create(&s, &p), 0);
	return s;
}

static void add_http(struct vg_table *t, int64_t w, const char *svc, const char *ep, uint64_t n, uint64_t n404)
{
	struct vg_table_key key = {.window = w, .kind = VG_TABLE_HTTP, .service = vg_str_cstr(svc),
				 .endpoint = vg_str_cstr(ep), .method = VG_STR_LIT("GET")};
	struct vg_table_entry *e = vg_table_get(t, &key);

	e->count += n;
	e->errors_4xx += n404;
	e->not_found += n404;
	for (uint64_t v = 0; v < n; v++)
		vg_table_add_latency(t, e, 10.0 + (double)v);
}

static uint64_t merged_count(struct vg_wstore *s, int64_t from, int64_t to, const char *svc, const char *ep,
			     size_t *keys)
{
	struct vg_table *got;
	struct vg_wstore_cover c;
	uint64_t n = 0;

	cr_assert_eq(vg_table_create(&got, &tp), 0);
	cr_assert_eq(vg_wstore_merge(s, from, to, true, got, &c), 0);
	for (size_t i = 0; i < vg_table_size(got); i++) {
		struct vg_table_entry *e = vg_table_entry(got, i);

		if (vg_str_eq_cstr(e->key.service, svc) && vg_str_eq_cstr(e->key.endpoint, ep))
			n += e->count;
	}
	*keys = vg_table_size(got);
	vg_table_destroy(got);
	return n;
}

/* A client with a new path in every request: the store keeps max_endpoints
 * of a service's endpoints and sums the rest under __other__, so what it
 * holds (and what rules read) stays bounded. */
Test(store, past_max_endpoints_a_service_new_endpoints_are_stored_as_other)
{
	struct vg_wstore *s = capped_store(5, true);
	struct vg_table *t;
	struct vg_epcap_stats st;
	char ep[32];
	size_t keys;
	int64_t n = 360; /* an hour of windows, 20 new endpoints each */

	cr_assert_eq(vg_table_create(&t, &tp), 0);
	for (int64_t i = 0; i < n; i++) {
		vg_table_reset(t);
		for (int k = 0; k < 20; k++) {
			snprintf(ep, sizeof(ep), "/word%lld", (long long)(i * 20 + k));
			add_http(t, i, "web", ep, 2, 0);
		}
		add_http(t, i, "api", "/orders", 3, 1);
		struct vg_window w = {.start_ms = i * WIN, .end_ms = (i + 1) * WIN, .table = t};

		cr_assert_eq(vg_wstore_add(s, &w), 0);
	}
	/* 5 words, __other__, and api's /orders: every request counted. */
	cr_expect_eq(merged_count(s, 0, n * WIN, "web", "__other__", &keys), (uint64_t)(n * 20 - 5) * 2);
	cr_expect_eq(keys, 7u);
	cr_expect_eq(merged_count(s, 0, n * WIN, "web", "/word4", &keys), 2u);
	cr_expect_eq(merged_count(s, 0, n * WIN, "api", "/orders", &keys), (uint64_t)n * 3);
	vg_wstore_endpoints(s, &st);
	cr_expect_eq(st.known, 6u);
	cr_expect_eq(st.folded_cap, (uint64_t)(n * 20 - 5));
	/* The folded entries kept their latencies. */
	struct vg_table *got;
	struct vg_wstore_cover c;
	struct vg_table_key other = {.kind = VG_TABLE_HTTP, .service = VG_STR_LIT("web"),
				     .endpoint = VG_STR_LIT("__other__"), .method = VG_STR_LIT("GET")};

	cr_assert_eq(vg_table_create(&got, &tp), 0);
	cr_assert_eq(vg_wstore_merge(s, (n - 1) * WIN, n * WIN, true, got, &c), 0);
	cr_expect_eq(vg_table_get(got, &other)->latency.count, 40u);
	vg_table_destroy(got);
	vg_table_destroy(t);
	vg_wstore_destroy(s);
}

/* A scanner's probes (404 on paths never seen) are no keys of their own;
 * a path that answers becomes one. */
Test(store, a_new_endpoint_answering_only_404_is_stored_as_other_until_it_answers)
{
	struct vg_wstore *s = capped_store(1000, true);
	struct vg_table *t;
	struct vg_epcap_stats st;
	char ep[32];
	size_t keys;

	cr_assert_eq(vg_table_create(&t, &tp), 0);
	for (int64_t i = 0; i < 30; i++) {
		vg_table_reset(t);
		for (int k = 0; k < 50; k++) {
			snprintf(ep, sizeof(ep), "/x%lldy%d.php", (long long)i, k);
			add_http(t, i, "web", ep, 1, 1);
		}
		add_http(t, i, "web", "/", 10, 0);
		add_http(t, i, "web", "/admin.php", 2, i < 20 ? 2 : 1);
		struct vg_window w = {.start_ms = i * WIN, .end_ms = (i + 1) * WIN, .table = t};

		cr_assert_eq(vg_wstore_add(s, &w), 0);
	}
	cr_expect_eq(merged_count(s, 0, 20 * WIN, "web", "__other__", &keys), 20u * 52);
	cr_expect_eq(keys, 2u, "/ and __other__");
	cr_expect_eq(merged_count(s, 20 * WIN, 30 * WIN, "web", "/admin.php", &keys), 20u);
	cr_expect_eq(merged_count(s, 20 * WIN, 30 * WIN, "web", "__other__", &keys), 10u * 50);
	vg_wstore_endpoints(s, &st);
	cr_expect_eq(st.known, 2u);
	cr_expect_eq(st.folded_404, 30u * 50 + 20);
	vg_table_destroy(t);
	vg_wstore_destroy(s);
}

/* Traffic within the cap is stored as it was without one. */
Test(store, under_the_cap_the_store_holds_what_it_held_without_one)
{
	struct vg_wstore *plain = store_with(400), *s = capped_store(2, true);
	struct vg_table *t, *a, *b;
	struct vg_wstore_cover c;

	cr_assert_eq(vg_table_create(&t, &tp), 0);
	for (int64_t i = 0; i < 400; i++) {
		vg_table_reset(t);
		fill_window(t, i);
		struct vg_window w = {.start_ms = i * WIN, .end_ms = (i + 1) * WIN, .table = t};

		cr_assert_eq(vg_wstore_add(s, &w), 0);
	}
	cr_assert_eq(vg_table_create(&a, &tp), 0);
	cr_assert_eq(vg_table_create(&b, &tp), 0);
	cr_assert_eq(vg_wstore_merge(plain, 0, 400 * WIN, true, a, &c), 0);
	cr_assert_eq(vg_wstore_merge(s, 0, 400 * WIN, true, b, &c), 0);
	expect_tables_equal(b, a, true);
	cr_expect_eq(vg_wstore_bytes(s), vg_wstore_bytes(plain));
	vg_table_destroy(a);
	vg_table_destroy(b);
	vg_table_destroy(t);
	vg_wstore_destroy(plain);
	vg_wstore_destroy(s);
}

/* ---- what a sync changed ------------------------------------------------ */

/* A reader keeping its own copy of a view's sums, applying only what each
 * sync says changed (all of them when the view cannot say, or when the
 * reader missed a sync), holds what the view holds: through windows
 * entering and leaving, roll-ups, ageing out and renumbering. (No
 * .timeout: with two tests of one binary given one, Criterion's runner
 * leaks 48 bytes, and LeakSanitizer fails the binary under make san.) */
Test(store, applying_a_sync_changes_keeps_a_copy_of_the_sums)
{
	struct vg_wstore *s;
	struct vg_wstore_params p = {.window_ms = WIN, .ring_ms = 600000, .retain_ms = 7 * HOUR, .map = map};
	struct vg_table *t;
	struct vg_wstore_view *v[3];
	static const int64_t widths[] = {300000, HOUR, 8 * HOUR};
	int32_t tail = vg_sketch_index(map, 300);
	struct vg_wstore_sum *copy[3] = {0};
	size_t cap[3] = {0};
	uint64_t read[3] = {0}, partial = 0, full = 0;

	cr_assert_eq(vg_wstore_create(&s, &p), 0);
	cr_assert_eq(vg_table_create(&t, &tp), 0);
	for (int k = 0; k < 3; k++)
		cr_assert_eq(vg_wstore_view_create(s, tail, &v[k]), 0);
	for (int64_t i = 0; i < 6000; i++) {
		vg_table_reset(t);
		churn_window(t, i);
		struct vg_window w = {.start_ms = i * WIN, .end_ms = (i + 1) * WIN, .table = t};

		cr_assert_eq(vg_wstore_add(s, &w), 0);
		for (int k = 0; k < 3; k++) {
			struct vg_wstore_cover c;
			const uint32_t *ids;
			size_t n_ids, n;
			uint64_t pub;

			if (k == 2 && i % 3) /* this reader skips syncs */
				continue;
			cr_assert_eq(vg_wstore_view_sync(v[k], w.end_ms - widths[k], w.end_ms, &c), 0);
			n = vg_table_size(vg_wstore_view_table(v[k]));
			const struct vg_wstore_sum *sums = vg_wstore_view_sums(v[k]);
			const struct vg_wstore_sum *before;
			bool can = vg_wstore_view_changes(v[k], &pub, &ids, &before, &n_ids);

			if (n > cap[k]) {
				copy[k] = realloc(copy[k], n * sizeof(*copy[k]));
				memset(copy[k] + cap[k], 0, (n - cap[k]) * sizeof(*copy[k]));
				cap[k] = n;
			}
			if (can && read[k] && read[k] + 1 == pub) {
				for (size_t j = 0; j < n_ids; j++) {
					const struct vg_wstore_sum *a = &copy[k][ids[j]], *b = &before[j];

					cr_assert(a->parts == b->parts && a->count == b->count && a->l_count == b->l_count &&
						  a->tail == b->tail, "view %d, window %lld: before is not the last sync's sum (id %u of %zu, gen %u, parts %llu/%llu count %llu/%llu)",
						  k, (long long)i, ids[j], n, vg_wstore_view_generation(v[k]), (unsigned long long)a->parts, (unsigned long long)b->parts, (unsigned long long)a->count, (unsigned long long)b->count);
					copy[k][ids[j]] = sums[ids[j]];
				}
				partial++;
			} else {
				memcpy(copy[k], sums, n * sizeof(*copy[k]));
				memset(copy[k] + n, 0, (cap[k] - n) * sizeof(*copy[k])); /* ids to come start at 0 */
				full++;
			}
			read[k] = pub;
			for (size_t e = 0; e < n; e++) {
				const struct vg_wstore_sum *a = &copy[k][e], *b = &sums[e];

				cr_assert(a->parts == b->parts && a->count == b->count && a->errors_4xx == b->errors_4xx &&
					  a->errors_5xx == b->errors_5xx && a->l_count == b->l_count && a->tail == b->tail &&
					  a->far == b->far,
					  "view %d, window %lld, entry %zu: the copy differs", k, (long long)i, e);
			}
		}
	}
	cr_expect_gt(partial, 10 * full, "mostly the changes alone (%llu, all: %llu)", (unsigned long long)partial,
		     (unsigned long long)full);
	cr_expect_gt(vg_wstore_view_generation(v[0]), 0, "renumbered at least once");
	for (int k = 0; k < 3; k++) {
		vg_wstore_view_destroy(v[k]);
		free(copy[k]);
	}
	vg_table_destroy(t);
	vg_wstore_destroy(s);
}

/* Tests for aggregate/table: keys, reuse after reset, cardinality cap, merge. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "aggregate/table.h"
#include "core/record.h"

static struct vg_table *make(unsigned max_keys, bool exact)
{
	struct vg_table *t;
	struct vg_table_params p = {.map = vg_sketch_map_get(0.01), .max_keys = max_keys, .exact = exact};

	cr_assert_eq(vg_table_create(&t, &p), 0);
	return t;
}

static struct vg_table_key http(int64_t w, const char *svc, const char *ep, const char *m)
{
	return (struct vg_table_key){.window = w, .kind = VG_TABLE_HTTP, .service = vg_str_cstr(svc),
				   .endpoint = vg_str_cstr(ep), .method = vg_str_cstr(m)};
}

Test(table, same_key_same_entry_and_labels_are_copied)
{
	struct vg_table *t = make(100, false);
	char svc[16] = "orders";
	struct vg_table_key k = http(1, svc, "/a/:id", "GET");
	struct vg_table_entry *a = vg_table_get(t, &k);

	a->count++;
	strcpy(svc, "XXXXXX"); /* the caller's buffer is reused */
	struct vg_table_key k2 = http(1, "orders", "/a/:id", "GET");

	cr_expect_eq(vg_table_get(t, &k2), a);
	cr_expect(vg_str_eq_cstr(a->key.service, "orders"));
	cr_expect_neq(vg_table_get(t, &(struct vg_table_key){.window = 2, .kind = VG_TABLE_HTTP,
							    .service = VG_STR_LIT("orders"),
							    .endpoint = VG_STR_LIT("/a/:id"),
							    .method = VG_STR_LIT("GET")}),
		      a);
	struct vg_table_key log = {.window = 1, .kind = VG_TABLE_LOG, .service = VG_STR_LIT("orders"), .level = 3};

	cr_expect_neq(vg_table_get(t, &log), a);
	cr_expect_eq(vg_table_size(t), 3u);
	vg_table_destroy(t);
}

Test(table, grows_past_its_initial_slots)
{
	struct vg_table *t = make(100000, false);
	char ep[32];

	for (int i = 0; i < 20000; i++) {
		snprintf(ep, sizeof(ep), "/e/%d", i);
		struct vg_table_key k = http(0, "s", ep, "GET");

		vg_table_get(t, &k)->count += (uint64_t)i;
	}
	for (int i = 0; i < 20000; i++) {
		snprintf(ep, sizeof(ep), "/e/%d", i);
		struct vg_table_key k = http(0, "s", ep, "GET");

		cr_assert_eq(vg_table_get(t, &k)->count, (uint64_t)i);
	}
	cr_expect_eq(vg_table_size(t), 20000u);
	vg_table_destroy(t);
}

Test(table, cap_folds_into_other_per_window_and_kind)
{
	struct vg_table *t = make(16, false);
	char ep[32];

	for (int i = 0; i < 40; i++) {
		snprintf(ep, sizeof(ep), "/e/%d", i);
		struct vg_table_key k = http(0, "s", ep, "GET");

		vg_table_get(t, &k)->count++;
	}
	struct vg_table_key other = http(0, VG_TABLE_OTHER, VG_TABLE_OTHER, VG_TABLE_OTHER);

	cr_expect_eq(vg_table_get(t, &other)->count, 24u);
	cr_expect_eq(vg_table_overflow(t), 24u); /* an existing __other__ entry is found, not folded */
	/* another window has its own budget */
	struct vg_table_key k = http(1, "s", "/e/99", "GET");

	cr_expect(vg_str_eq_cstr(vg_table_get(t, &k)->key.endpoint, "/e/99"));
	vg_table_destroy(t);
}

Test(table, reset_reuses_memory)
{
	struct vg_table *t = make(100, false);
	struct vg_table_key k = http(0, "s", "/x", "GET");
	struct vg_table_entry *e = vg_table_get(t, &k);

	for (int i = 1; i <= 100; i++)
		vg_table_add_latency(t, e, i);
	uint32_t *store = e->latency.store;

	vg_table_reset(t);
	cr_expect_eq(vg_table_size(t), 0u);
	e = vg_table_get(t, &k);
	cr_expect_eq(e->count, 0u);
	cr_expect_eq(e->latency.count, 0u);
	vg_table_add_latency(t, e, 5);
	cr_expect_eq(e->latency.store, store);
	vg_table_destroy(t);
}

Test(table, merge_adds_counts_sketches_and_samples_of_a_window_range)
{
	struct vg_table *a = make(100, true), *b = make(100, true), *m = make(100, true);

	for (int w = 0; w < 3; w++) {
		struct vg_table_key k = http(w, "s", "/x", "GET");
		struct vg_table_entry *ea = vg_table_get(a, &k), *eb = vg_table_get(b, &k);

		ea->count = 10;
		ea->errors_5xx = 1;
		eb->count = 5;
		eb->errors_4xx = 2;
		vg_table_add_latency(a, ea, 100);
		vg_table_add_latency(b, eb, 300);
	}
	cr_assert_eq(vg_table_merge(m, a, 1, 3), 0);
	cr_assert_eq(vg_table_merge(m, b, 1, 3), 0);
	cr_expect_eq(vg_table_size(m), 2u); /* windows 1 and 2 */
	struct vg_table_key k = http(2, "s", "/x", "GET");
	struct vg_table_entry *e = vg_table_get(m, &k);

	cr_expect_eq(e->count, 15u);
	cr_expect_eq(e->errors_5xx, 1u);
	cr_expect_eq(e->errors_4xx, 2u);
	cr_expect_eq(e->latency.count, 2u);
	cr_expect_eq(e->n_samples, 2u);
	cr_expect_eq(vg_table_quantile(e, 1.0, true), 300);
	cr_expect_eq(vg_table_quantile(e, 0.0, true), 100);
	vg_table_destroy(a);
	vg_table_destroy(b);
	vg_table_destroy(m);
}

/* The fold of a 128-bit product is zero when one word is zero: with a
 * public seed, a 16-byte block can be picked to wipe the state, and every
 * endpoint that starts with it then hashes alike whatever follows (found
 * in review: this family, 8 free letters). The hash's secret, drawn per
 * process, leaves nothing to pick: these keys hash apart. */
Test(table, keys_built_to_collide_with_a_public_seed_hash_apart)
{
	uint64_t seen[64];
	size_t distinct = 0;

	for (int i = 0; i < 64; i++) {
		char ep[64];

		snprintf(ep, sizeof(ep), "/api/pazpahybsog%c%c%c%c%c%c%c%cyfxcYBAN/orders/summary/", 'a' + i % 26,
			 'a' + i / 26, 'q', 'r', 's', 't', 'u', 'v');
		struct vg_table_key k = http(0, "orders", ep, "GET");
		uint64_t h = vg_table_key_hash(&k);
		bool dup = false;

		for (size_t j = 0; j < distinct; j++)
			dup |= seen[j] == h;
		if (!dup)
			seen[distinct++] = h;
	}
	cr_expect_eq(distinct, 64u, "%zu distinct hashes of 64 keys", distinct);
}

/* The store's endpoint cap tells a scanner's probe by its 404s. */
Test(table, http_entries_count_their_404s_and_merges_sum_them)
{
	struct vg_table *t = make(100, false), *u = make(100, false);
	struct vg_record rec = {.service = VG_STR_LIT("web"), .endpoint = VG_STR_LIT("/x.php"),
				.method = VG_STR_LIT("GET"), .duration_ms = 3.0};
	static const int statuses[] = {404, 404, 403, 200, 404};

	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		rec.status = statuses[i];
		cr_assert_eq(vg_table_add_record(t, 7, &rec), 0);
	}
	struct vg_table_key k = http(7, "web", "/x.php", "GET");
	struct vg_table_entry *e = vg_table_get(t, &k);

	cr_expect_eq(e->count, 5u);
	cr_expect_eq(e->errors_4xx, 4u);
	cr_expect_eq(e->not_found, 3u);
	cr_assert_eq(vg_table_merge(u, t, 0, 100), 0);
	cr_assert_eq(vg_table_merge(u, t, 0, 100), 0);
	cr_expect_eq(vg_table_get(u, &k)->not_found, 6u);
	cr_assert_eq(vg_table_absorb(u, t, 0, 100), 0);
	cr_expect_eq(vg_table_get(u, &k)->not_found, 9u);
	vg_table_destroy(t);
	vg_table_destroy(u);
}

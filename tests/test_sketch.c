/* Tests for aggregate/sketch: accuracy, exact merge, special values, caps. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate/sketch.h"
#include "core/buf.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static double uniform(void) /* (0, 1) */
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(void)
{
	return sqrt(-2 * log(uniform())) * cos(6.283185307179586 * uniform());
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

#define N 1000000

/* Insert n values, then check every quantile against the sorted array. */
static void check_accuracy(const char *name, double *v, size_t n, double accuracy)
{
	const struct vg_sketch_map *m = vg_sketch_map_get(accuracy);
	struct vg_sketch s;
	static const double qs[] = {0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999};

	cr_assert_not_null(m);
	vg_sketch_init(&s, m);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(vg_sketch_add(&s, v[i]), 0);
	qsort(v, n, sizeof(*v), cmp);
	cr_expect_eq(s.count, n);
	cr_expect_eq(s.min, v[0]);
	cr_expect_eq(s.max, v[n - 1]);
	for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
		double exact = v[(size_t)(qs[k] * (double)(n - 1))];
		double got = vg_sketch_quantile(&s, qs[k]);
		double err = exact == 0 ? fabs(got) : fabs(got - exact) / exact;

		cr_expect_leq(err, accuracy, "%s q=%g: exact %.9g got %.9g (error %.5f)", name, qs[k], exact, got, err);
	}
	vg_sketch_free(&s);
}

Test(sketch, lognormal, .timeout = 60)
{
	double *v = malloc(N * sizeof(*v));

	for (size_t i = 0; i < N; i++)
		v[i] = 30 * exp(0.8 * normal());
	check_accuracy("lognormal", v, N, 0.01);
	free(v);
}

Test(sketch, pareto, .timeout = 60)
{
	double *v = malloc(N * sizeof(*v));

	for (size_t i = 0; i < N; i++)
		v[i] = 5 / pow(uniform(), 1 / 1.2);
	check_accuracy("pareto", v, N, 0.01);
	free(v);
}

Test(sketch, uniform, .timeout = 60)
{
	double *v = malloc(N * sizeof(*v));

	for (size_t i = 0; i < N; i++)
		v[i] = 1 + 999 * uniform();
	check_accuracy("uniform", v, N, 0.01);
	free(v);
}

Test(sketch, bimodal, .timeout = 60)
{
	double *v = malloc(N * sizeof(*v));

	for (size_t i = 0; i < N; i++)
		v[i] = uniform() < 0.7 ? 5 * exp(0.2 * normal()) : 800 * exp(0.3 * normal());
	check_accuracy("bimodal", v, N, 0.01);
	free(v);
}

Test(sketch, constant, .timeout = 60)
{
	double *v = malloc(N * sizeof(*v));

	for (size_t i = 0; i < N; i++)
		v[i] = 42.125;
	check_accuracy("constant", v, N, 0.01);
	free(v);
}

Test(sketch, one_microsecond_to_one_hour, .timeout = 60)
{
	double *v = malloc(N * sizeof(*v));

	/* log-uniform from 1 us to 1 h, in milliseconds */
	for (size_t i = 0; i < N; i++)
		v[i] = 1e-3 * pow(3.6e9, uniform());
	check_accuracy("1us-1h", v, N, 0.01);
	free(v);
}

/* Issue 19, finding 9: the whole range a duration may take, one
 * microsecond to the default bound of one day (aggregate.max_duration),
 * log-uniform: every quantile, low ones included, keeps the stated error.
 * The old 2048-bucket cap collapsed the low buckets here. */
Test(sketch, one_microsecond_to_one_day, .timeout = 60)
{
	double *v = malloc(N * sizeof(*v));

	for (size_t i = 0; i < N; i++)
		v[i] = 1e-3 * pow(8.64e10, uniform());
	check_accuracy("1us-1d", v, N, 0.01);
	for (size_t i = 0; i < N; i++)
		v[i] = 1e-3 * pow(8.64e10, uniform());
	check_accuracy("1us-1d-0.1%", v, N, 0.001);
	free(v);
}

/* The extremes of the guaranteed range, VG_SKETCH_MIN_VALUE and
 * VG_SKETCH_MAX_VALUE, among 5 ms values, at every accuracy: nothing
 * collapses, and the low quantiles still read 5. */
Test(sketch, the_guaranteed_range_fits_at_every_scale, .timeout = 60)
{
	for (double acc = 0.5; acc >= 0.0004; acc /= 2) {
		const struct vg_sketch_map *m = vg_sketch_map_get(acc);
		double v[1000];
		struct vg_sketch s;

		cr_assert_not_null(m);
		vg_sketch_init(&s, m);
		for (size_t i = 0; i < 1000; i++)
			v[i] = i < 10 ? VG_SKETCH_MIN_VALUE : i >= 990 ? VG_SKETCH_MAX_VALUE : 5;
		/* largest first: the span grows down, then up */
		for (size_t i = 1000; i-- > 0;)
			cr_assert_eq(vg_sketch_add(&s, v[i]), 0);
		cr_expect_eq(s.collapsed, 0, "accuracy %g: %llu collapsed", acc, (unsigned long long)s.collapsed);
		cr_expect_leq(s.len, vg_sketch_map_buckets(m));
		for (double q = 0; q <= 1; q += 0.005) {
			double exact = v[(size_t)(q * 999)], got = vg_sketch_quantile(&s, q);

			cr_expect_leq(fabs(got - exact) / exact, vg_sketch_map_error(m) * (1 + 1e-9),
			              "accuracy %g q=%g: exact %.9g got %.9g", acc, q, exact, got);
		}
		vg_sketch_free(&s);
	}
}

/* The finding itself: 99 values of 5 ms and one of 1e20. */
Test(sketch, one_absurd_value_among_5ms)
{
	struct vg_sketch s;

	vg_sketch_init(&s, vg_sketch_map_get(0.01));
	for (int i = 0; i < 99; i++)
		vg_sketch_add(&s, 5);
	vg_sketch_add(&s, 1e20);
	for (double q = 0; q <= 0.98; q += 0.01)
		cr_expect_leq(fabs(vg_sketch_quantile(&s, q) - 5) / 5, 0.01, "q=%g: %g", q, vg_sketch_quantile(&s, q));
	cr_expect_eq(vg_sketch_quantile(&s, 1), 1e20);
	vg_sketch_free(&s);
}

/* Every double through add, merge, add_bucket, quantile and the JSON
 * writer: run under UBSan (make san), nothing is undefined. Far beyond
 * the guaranteed range the cap collapses the lowest buckets; the answers
 * stay between min and max. */
Test(sketch, the_full_double_range, .timeout = 60)
{
	static const double odd[] = {DBL_MAX, -DBL_MAX, 1e300,   -1e300,   1e20,      1.23e29, 9.3e18, -5,
	                             5e-324,  -5e-324,  DBL_MIN, 1e-300,   1e-12,     0.0,     -0.0,   1e-9,
	                             1e12,    86400001, 5,       INFINITY, -INFINITY, NAN};
	const size_t n_odd = sizeof(odd) / sizeof(odd[0]);

	for (double acc = 0.5; acc >= 0.0004; acc /= 4) {
		const struct vg_sketch_map *m = vg_sketch_map_get(acc);
		struct vg_sketch a, b, c;
		struct vg_buf out = {0};

		vg_sketch_init(&a, m);
		vg_sketch_init(&b, m);
		vg_sketch_init(&c, m);
		for (size_t i = 0; i < n_odd; i++) {
			vg_sketch_add(i % 2 ? &a : &b, odd[i]);
			for (double v = 1e-320; v < 1e308; v *= 1e7) /* every decade range */
				vg_sketch_add(&c, i % 2 ? v : -v);
		}
		cr_assert_eq(vg_sketch_merge(&a, &b), 0);
		cr_assert_eq(vg_sketch_merge(&c, &a), 0);
		cr_assert_eq(vg_sketch_add_bucket(&c, vg_sketch_index(m, DBL_MAX), 3), 0);
		cr_assert_eq(vg_sketch_add_bucket(&c, vg_sketch_index(m, 5e-324), 3), 0);
		cr_expect_leq(c.len, vg_sketch_map_buckets(m));
		cr_expect_eq(a.max, DBL_MAX);
		cr_expect_eq(a.min, 0);
		for (double q = 0; q <= 1; q += 0.01) {
			double x = vg_sketch_quantile(&c, q);

			cr_expect(x >= c.min && x <= c.max, "accuracy %g q=%g: %g outside [%g, %g]", acc, q, x, c.min,
			          c.max);
			vg_buf_put_double(&out, x);
			vg_buf_putc(&out, ' ');
			vg_buf_put_double(&out, vg_sketch_quantile(&a, q));
			vg_buf_putc(&out, ' ');
		}
		vg_buf_put_double(&out, c.sum);
		cr_expect_gt(out.len, 0u);
		vg_buf_free(&out);
		vg_sketch_free(&a);
		vg_sketch_free(&b);
		vg_sketch_free(&c);
	}
}

Test(sketch, finer_accuracy, .timeout = 60)
{
	double *v = malloc(N * sizeof(*v));

	/* At 0.1% (512 buckets an octave). */
	for (size_t i = 0; i < N; i++)
		v[i] = 30 * exp(0.25 * normal());
	check_accuracy("lognormal-0.1%", v, N, 0.001);
	free(v);
}

Test(sketch, mapping_scale_and_error)
{
	const struct vg_sketch_map *m = vg_sketch_map_get(0.01);

	cr_expect_eq(vg_sketch_map_scale(m), 6);
	cr_expect_leq(vg_sketch_map_error(m), 0.01);
	cr_expect_null(vg_sketch_map_get(0));
	cr_expect_null(vg_sketch_map_get(1));
	cr_expect_null(vg_sketch_map_get(1e-6)); /* finer than scale 10 */
	/* Index matches log2 exactly, bucket edges included. */
	for (double v = 1e-6; v < 1e7; v *= 1.0173) {
		int32_t want = (int32_t)floor(log2(v) * 64);
		int32_t got = vg_sketch_index(m, v);

		/* log2 rounding can land on the other side of an edge by one */
		cr_assert(got == want || got == want - 1 || got == want + 1, "v=%g got %d want %d", v, got, want);
		cr_assert_leq(exp2(got / 64.0), v * (1 + 1e-12), "v=%g below its bucket", v);
		cr_assert_gt(exp2((got + 1) / 64.0), v * (1 - 1e-12), "v=%g above its bucket", v);
	}
	cr_expect_eq(vg_sketch_index(m, 1.0), 0);
	cr_expect_eq(vg_sketch_index(m, 2.0), 64);
	cr_expect_eq(vg_sketch_index(m, 0.5), -64);
}

static void fill(struct vg_sketch *s, size_t n, uint64_t seed)
{
	rng = seed;
	for (size_t i = 0; i < n; i++)
		vg_sketch_add(s, 20 * exp(normal()));
}

static void expect_same(const struct vg_sketch *a, const struct vg_sketch *b)
{
	cr_expect_eq(a->count, b->count);
	cr_expect_eq(a->zero, b->zero);
	cr_expect_eq(a->min, b->min);
	cr_expect_eq(a->max, b->max);
	cr_expect_eq(a->offset, b->offset);
	cr_expect_eq(a->len, b->len);
	cr_expect(memcmp(a->bins, b->bins, (size_t)a->len * sizeof(*a->bins)) == 0, "bins differ");
	for (double q = 0; q <= 1; q += 0.01)
		cr_expect_eq(vg_sketch_quantile(a, q), vg_sketch_quantile(b, q), "q=%g", q);
}

Test(sketch, merge_of_shards_is_the_sketch_of_the_union)
{
	const struct vg_sketch_map *m = vg_sketch_map_get(0.01);
	struct vg_sketch all, part[4], merged;

	vg_sketch_init(&all, m);
	vg_sketch_init(&merged, m);
	for (int k = 0; k < 4; k++) {
		vg_sketch_init(&part[k], m);
		fill(&part[k], 50000, 1000 + (uint64_t)k);
		fill(&all, 50000, 1000 + (uint64_t)k);
	}
	for (int k = 3; k >= 0; k--)
		cr_assert_eq(vg_sketch_merge(&merged, &part[k]), 0);
	expect_same(&merged, &all);
	/* sum only up to floating-point association */
	cr_expect_leq(fabs(merged.sum - all.sum), 1e-9 * all.sum);
	for (int k = 0; k < 4; k++)
		vg_sketch_free(&part[k]);
	vg_sketch_free(&all);
	vg_sketch_free(&merged);
}

/* Merged buckets saturate at UINT32_MAX instead of wrapping, in the
 * vectorised body of the span and in its tail alike. */
Test(sketch, merge_saturates_buckets)
{
	const struct vg_sketch_map *m = vg_sketch_map_get(0.01);
	struct vg_sketch a, b;

	vg_sketch_init(&a, m);
	vg_sketch_init(&b, m);
	for (int k = 0; k < 7; k++) { /* spans of 7 buckets: 4 in a vector, 3 after */
		cr_assert_eq(vg_sketch_add_bucket(&a, 100 + k, UINT32_MAX - 5), 0);
		cr_assert_eq(vg_sketch_add_bucket(&b, 100 + k, k == 2 || k == 5 ? 3 : 10), 0);
	}
	a.count = b.count = 7;
	cr_assert_eq(vg_sketch_merge(&a, &b), 0);
	cr_assert_eq(a.len, 7u);
	for (int k = 0; k < 7; k++)
		cr_expect_eq(a.bins[k], k == 2 || k == 5 ? UINT32_MAX - 2 : UINT32_MAX, "bucket %d", k);
	vg_sketch_free(&a);
	vg_sketch_free(&b);
}

Test(sketch, merge_refuses_other_mappings)
{
	struct vg_sketch a, b;

	vg_sketch_init(&a, vg_sketch_map_get(0.01));
	vg_sketch_init(&b, vg_sketch_map_get(0.001));
	vg_sketch_add(&b, 1);
	cr_expect_neq(vg_sketch_merge(&a, &b), 0);
	vg_sketch_free(&a);
	vg_sketch_free(&b);
}

Test(sketch, special_values)
{
	struct vg_sketch s;

	vg_sketch_init(&s, vg_sketch_map_get(0.01));
	cr_expect(isnan(vg_sketch_quantile(&s, 0.5)));
	vg_sketch_add(&s, 0);
	vg_sketch_add(&s, 1e-12); /* below the minimum: the zero bucket */
	vg_sketch_add(&s, -1);
	vg_sketch_add(&s, NAN);
	vg_sketch_add(&s, INFINITY);
	vg_sketch_add(&s, -INFINITY);
	vg_sketch_add(&s, 5e-324); /* subnormal */
	vg_sketch_add(&s, 10);
	cr_expect_eq(s.count, 4);
	cr_expect_eq(s.zero, 3);
	cr_expect_eq(s.rejected, 4);
	cr_expect_eq(vg_sketch_quantile(&s, 0), 0);
	cr_expect_eq(vg_sketch_quantile(&s, 0.5), 0);
	cr_expect_eq(vg_sketch_quantile(&s, 1), 10);
	cr_expect(isnan(vg_sketch_quantile(&s, 1.5)));
	cr_expect(isnan(vg_sketch_quantile(&s, NAN)));
	vg_sketch_free(&s);
}

Test(sketch, bucket_cap_collapses_the_lowest)
{
	struct vg_sketch s;
	const struct vg_sketch_map *m = vg_sketch_map_get(0.01);

	vg_sketch_init(&s, m);
	/* 64 buckets per octave: 2^-40 .. 2^40 spans 5184 buckets, past the
	 * cap (1e-9 .. 1e12 at scale 6), which only values outside that
	 * range can reach. */
	cr_expect_lt(vg_sketch_map_buckets(m), 81u * 64u);
	for (int e = -40; e <= 40; e++)
		for (int k = 0; k < 64; k++)
			vg_sketch_add(&s, exp2(e + k / 64.0));
	cr_expect_leq(s.len, vg_sketch_map_buckets(m));
	cr_expect_gt(s.collapsed, 0u);
	cr_expect_eq(s.count, 81u * 64u);
	/* the top is exact to the bound */
	double p99 = vg_sketch_quantile(&s, 0.99), exact = exp2(-40 + floor(0.99 * (81 * 64 - 1)) / 64.0);

	cr_expect_leq(fabs(p99 - exact) / exact, 0.01, "p99 %g near %g", p99, exact);
	/* order does not matter: the same values descending give the same sketch */
	struct vg_sketch d;

	vg_sketch_init(&d, m);
	for (int e = 40; e >= -40; e--)
		for (int k = 63; k >= 0; k--)
			vg_sketch_add(&d, exp2(e + k / 64.0));
	cr_expect_eq(d.offset, s.offset);
	cr_expect_eq(d.len, s.len);
	cr_expect(memcmp(d.bins, s.bins, (size_t)s.len * sizeof(*s.bins)) == 0);
	vg_sketch_free(&s);
	vg_sketch_free(&d);
}

Test(sketch, reset_keeps_memory_and_forgets_values)
{
	struct vg_sketch s;

	vg_sketch_init(&s, vg_sketch_map_get(0.01));
	fill(&s, 1000, 7);
	uint32_t *store = s.store;

	vg_sketch_reset(&s);
	cr_expect_eq(s.count, 0);
	cr_expect(isnan(vg_sketch_quantile(&s, 0.5)));
	fill(&s, 1000, 7);
	cr_expect_eq(s.store, store);
	struct vg_sketch t;

	vg_sketch_init(&t, vg_sketch_map_get(0.01));
	fill(&t, 1000, 7);
	expect_same(&s, &t);
	vg_sketch_free(&s);
	vg_sketch_free(&t);
}

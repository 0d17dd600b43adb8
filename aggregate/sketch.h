/* vigil: a mergeable quantile sketch with a relative-accuracy guarantee.
 *
 * Values are counted in exponential buckets of base g = 2^(2^-scale): bucket
 * i holds [g^i, g^(i+1)). Scale is the smallest that keeps the relative
 * error (g - 1) / (g + 1) within the requested accuracy (1% needs scale 6,
 * which gives 0.54%). A quantile is answered with the harmonic middle of the
 * bucket holding the element of rank floor(q * (count - 1)), clamped to the
 * exact minimum and maximum, so it is within the accuracy of that element.
 *
 * Insert is O(1) and calls no log(): the bucket comes from the double's
 * exponent bits and a table over the top mantissa bits. The buckets are a
 * dense span of at most vg_sketch_map_buckets() of the mapping: exactly
 * enough to hold every bucket from VG_SKETCH_MIN_VALUE to
 * VG_SKETCH_MAX_VALUE at its scale (a wider cap, not collapsing: 4,466
 * buckets at scale 6, the 1% default; 35,718 at scale 9, 0.1%; 71,435 at
 * scale 10). So for values in that range every quantile, low or high, is
 * within the error whatever their spread (issue 19: one value 20 orders
 * of magnitude above 99 others of 5 ms collapsed the low buckets and
 * read p50 as 2.4e10). Memory follows the span the values use, not the
 * cap: 4 bytes a bucket between the lowest and highest value seen, and
 * at most twice the cap while growing (35 KB at scale 6, 571 KB at
 * scale 10; the old cap of 2048 buckets allowed 16 KB). Only a value
 * outside the range can widen the span past the cap; then the lowest
 * buckets are collapsed into the lowest one kept (counted in `collapsed`),
 * so high quantiles stay within the error and low ones may not. Callers
 * that want the guarantee keep such values out (the aggregate step counts
 * durations over aggregate.max_duration, at most VG_SKETCH_MAX_VALUE, and
 * never adds them).
 *
 * Inputs: 0 and values below VG_SKETCH_MIN_VALUE count in a zero bucket
 * (quantile 0); negative, NaN and infinite values are rejected and counted
 * in `rejected`, never inserted. Any double is safe to add, merge and
 * query (the full range is tested under UBSan).
 *
 * Merge adds buckets: merging sketches of the same scale gives exactly the
 * sketch of the union. Bucket counts are 32-bit and saturate (a bucket of a
 * one-hour range reaches 2^32 only past a million requests a second for one
 * key); count, zero and the other totals are 64-bit. Not thread-safe: one
 * writer, or external handover. */
#ifndef VG_SKETCH_H
#define VG_SKETCH_H

#include <float.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The range of values the relative error is guaranteed for; durations
 * are milliseconds: a picosecond to about 31.7 years. */
#define VG_SKETCH_MIN_VALUE 1e-9
#define VG_SKETCH_MAX_VALUE 1e12
#define VG_SKETCH_MAX_SCALE 10

/* Mapping tables for one scale, shared read-only by every sketch of it.
 * Mantissa lookup: for scale s there are 2^s sub-buckets per power of two,
 * with lower bounds 2^(k / 2^s), k = 0 .. 2^s - 1. The table, indexed by
 * the top s + 2 mantissa bits, gives the sub-bucket of the interval's
 * start; an interval is narrower than any sub-bucket, so at most one bound
 * falls inside it and one comparison finishes the job. (Here, not in
 * sketch.c, only so that vg_sketch_add's common case inlines.) */
struct vg_sketch_map {
	int scale;
	double error;
	double base; /* g */
	int tbits;
	uint16_t *table;  /* [1 << tbits] */
	uint64_t *bounds; /* [(1 << scale) + 1] lower bounds as 52-bit mantissas */
	uint32_t buckets; /* the cap: buckets from VG_SKETCH_MIN_VALUE to VG_SKETCH_MAX_VALUE */
};

/* The mapping for the smallest scale whose relative error is at most
 * accuracy (0 < accuracy < 1). Returns NULL when accuracy is out of range
 * or finer than scale VG_SKETCH_MAX_SCALE allows (0.034%). Maps are built
 * once per scale and live until exit; thread-safe. */
const struct vg_sketch_map *vg_sketch_map_get(double accuracy);

int vg_sketch_map_scale(const struct vg_sketch_map *m);
/* The guaranteed relative error of the mapping, (g - 1) / (g + 1). */
double vg_sketch_map_error(const struct vg_sketch_map *m);
/* The most buckets a sketch of the mapping spans: every bucket from
 * VG_SKETCH_MIN_VALUE to VG_SKETCH_MAX_VALUE. */
uint32_t vg_sketch_map_buckets(const struct vg_sketch_map *m);

struct vg_sketch {
	const struct vg_sketch_map *map;
	uint32_t *bins;  /* bins[k] counts bucket offset + k, k < len (saturating) */
	int32_t offset;  /* bucket index of bins[0] */
	uint32_t len;    /* buckets in use */
	uint32_t *store; /* allocation; bins points into it, with room on both sides */
	uint32_t cap;    /* buckets in store */
	uint64_t count; /* values inserted, zero bucket included */
	uint64_t zero;  /* values in the zero bucket */
	uint64_t rejected;
	uint64_t collapsed; /* values moved down by collapsing */
	double sum, min, max;
};

/* Initialise an empty sketch (no allocation until the first value). */
void vg_sketch_init(struct vg_sketch *s, const struct vg_sketch_map *map);
/* Free its buckets; the sketch can be initialised again. */
void vg_sketch_free(struct vg_sketch *s);
/* Empty it, keeping the allocation for reuse. */
void vg_sketch_reset(struct vg_sketch *s);

/* vg_sketch_add for what its inline part leaves: the zero bucket, rejects,
 * a bucket outside the span, a saturated bucket. */
int vg_sketch_add_slow(struct vg_sketch *s, double v);

/* The bucket of a normal, positive, finite v (its exponent and the
 * sub-bucket of its mantissa). */
static inline int32_t vg_sketch_index_normal(const struct vg_sketch_map *m, double v)
{
	uint64_t bits;

	memcpy(&bits, &v, sizeof(bits));
	int e = (int)((bits >> 52) & 0x7FF) - 1023;
	uint64_t mant = bits & ((1ull << 52) - 1);
	uint32_t k = m->table[mant >> (52 - m->tbits)];

	k += mant >= m->bounds[k + 1];
	return (int32_t)(e * (1 << m->scale) + (int)k);
}

/* Add one value. Returns 0, or VG_ERR_NOMEM when the bucket span could not
 * grow (the value is then counted in `rejected`). The common case, a
 * positive finite value whose bucket is in the span already, is inline. */
static inline int vg_sketch_add(struct vg_sketch *s, double v)
{
	if (v >= VG_SKETCH_MIN_VALUE && v <= DBL_MAX) {
		uint32_t k = (uint32_t)(vg_sketch_index_normal(s->map, v) - s->offset);

		if (k < s->len && s->bins[k] != UINT32_MAX) {
			s->bins[k]++;
			s->count++;
			s->sum += v;
			s->min = v < s->min ? v : s->min;
			s->max = v > s->max ? v : s->max;
			return 0;
		}
	}
	return vg_sketch_add_slow(s, v);
}

/* Add every value of src into dst (same mapping). Returns 0,
 * VG_ERR_INVALID on different mappings, or VG_ERR_NOMEM. */
int vg_sketch_merge(struct vg_sketch *dst, const struct vg_sketch *src);

/* Exchange the contents of two sketches of the same mapping (O(1)): how a
 * new aggregate takes over a shard's sketch instead of copying it. */
void vg_sketch_swap(struct vg_sketch *a, struct vg_sketch *b);

/* Add n values known to fall in bucket index i (rebuilding a sketch from
 * stored buckets). Does not touch count, sum, min or max: the caller sets
 * those. Returns 0 or VG_ERR_NOMEM. */
int vg_sketch_add_bucket(struct vg_sketch *s, int32_t i, uint64_t n);

/* The q-quantile (0 <= q <= 1) of the values, NaN when empty. */
double vg_sketch_quantile(const struct vg_sketch *s, double q);

/* The bucket index of a positive value (exposed for tests). */
int32_t vg_sketch_index(const struct vg_sketch_map *m, double v);

#endif

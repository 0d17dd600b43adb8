#include "aggregate/sketch.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

static struct vg_sketch_map *maps[VG_SKETCH_MAX_SCALE + 1];
static pthread_once_t maps_once = PTHREAD_ONCE_INIT;

static void build_map(struct vg_sketch_map *m, int scale)
{
	size_t subs = (size_t)1 << scale;

	m->scale = scale;
	m->base = exp2(exp2(-scale));
	m->error = (m->base - 1) / (m->base + 1);
	m->tbits = scale + 2;
	m->table = calloc((size_t)1 << m->tbits, sizeof(*m->table));
	m->bounds = calloc(subs + 1, sizeof(*m->bounds));
	if (!m->table || !m->bounds)
		abort(); /* a few KB at start-up */
	for (size_t k = 0; k < subs; k++) {
		/* 2^(k/subs) in [1, 2): its mantissa bits. */
		double b = exp2((double)k / (double)subs);
		uint64_t bits;

		memcpy(&bits, &b, sizeof(bits));
		m->bounds[k] = bits & ((1ull << 52) - 1);
	}
	m->bounds[subs] = 1ull << 52; /* sentinel: the next power of two */
	size_t k = 0;

	for (size_t t = 0; t < ((size_t)1 << m->tbits); t++) {
		uint64_t start = (uint64_t)t << (52 - m->tbits);

		while (k + 1 < subs && m->bounds[k + 1] <= start)
			k++;
		m->table[t] = (uint16_t)k;
	}
	m->buckets = (uint32_t)(vg_sketch_index_normal(m, VG_SKETCH_MAX_VALUE) -
	                        vg_sketch_index_normal(m, VG_SKETCH_MIN_VALUE) + 1);
}

static void build_maps(void)
{
	for (int s = 0; s <= VG_SKETCH_MAX_SCALE; s++) {
		maps[s] = calloc(1, sizeof(**maps));
		if (!maps[s])
			abort();
		build_map(maps[s], s);
	}
}

const struct vg_sketch_map *vg_sketch_map_get(double accuracy)
{
	if (!(accuracy > 0 && accuracy < 1))
		return NULL;
	pthread_once(&maps_once, build_maps);
	for (int s = 0; s <= VG_SKETCH_MAX_SCALE; s++) {
		if (maps[s]->error <= accuracy)
			return maps[s];
	}
	return NULL;
}

int vg_sketch_map_scale(const struct vg_sketch_map *m)
{
	return m->scale;
}

double vg_sketch_map_error(const struct vg_sketch_map *m)
{
	return m->error;
}

uint32_t vg_sketch_map_buckets(const struct vg_sketch_map *m)
{
	return m->buckets;
}

/* Any positive value's bucket: vg_sketch_index_normal, with subnormals
 * (far below VG_SKETCH_MIN_VALUE) scaled into the normal range first. */
static int32_t index_of(const struct vg_sketch_map *m, double v)
{
	uint64_t bits;

	memcpy(&bits, &v, sizeof(bits));
	if (((bits >> 52) & 0x7FF) == 0) {
		int ex;
		double f = 2 * frexp(v, &ex); /* in [1, 2): exponent 0 */

		return (int32_t)((ex - 1) * (1 << m->scale)) + vg_sketch_index_normal(m, f);
	}
	return vg_sketch_index_normal(m, v);
}

int32_t vg_sketch_index(const struct vg_sketch_map *m, double v)
{
	return index_of(m, v);
}

/* The lower bound of bucket i, g^i. */
static double bucket_low(const struct vg_sketch_map *m, int32_t i)
{
	return exp2((double)i / (double)(1 << m->scale));
}

void vg_sketch_init(struct vg_sketch *s, const struct vg_sketch_map *map)
{
	memset(s, 0, sizeof(*s));
	s->map = map;
	s->min = INFINITY;
	s->max = -INFINITY;
}

void vg_sketch_free(struct vg_sketch *s)
{
	free(s->store);
	s->store = s->bins = NULL;
	s->cap = s->len = 0;
}

void vg_sketch_reset(struct vg_sketch *s)
{
	s->len = 0; /* the buckets are zeroed as the span grows over them again */
	s->offset = 0;
	s->count = s->zero = s->rejected = s->collapsed = 0;
	s->sum = 0;
	s->min = INFINITY;
	s->max = -INFINITY;
}

static inline uint32_t sat_add(uint32_t a, uint64_t b)
{
	uint64_t s = (uint64_t)a + b;

	return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

typedef uint32_t v4u32 __attribute__((vector_size(16)));

/* d[k] += b[k] for k < n, saturating: merges add whole spans, four
 * buckets at a time (a lane whose sum wrapped, sum < b, saturates). */
static void add_bins(uint32_t *d, const uint32_t *b, uint32_t n)
{
	uint32_t k = 0;

	for (; k + 4 <= n; k += 4) {
		v4u32 x, y, sum;

		memcpy(&x, d + k, sizeof(x));
		memcpy(&y, b + k, sizeof(y));
		sum = x + y;
		sum |= (v4u32)(sum < y);
		memcpy(d + k, &sum, sizeof(sum));
	}
	for (; k < n; k++)
		d[k] = sat_add(d[k], b[k]);
}

/* Store slots outside bins[0..len) hold anything: the span zeroes the
 * slots it grows over. So a store is never zeroed whole (a fresh one is
 * not touched past the span, a reused one is not cleared on reset), and
 * its memory costs only what the span uses. */

/* Re-home the used buckets in a store of at least `need` buckets, with
 * `below` free slots before them (and the rest after). */
static int restore(struct vg_sketch *s, uint32_t need, uint32_t below)
{
	uint32_t cap = s->cap ? s->cap : 64;

	while (cap < need)
		cap *= 2;
	if (cap > 2 * s->map->buckets)
		cap = 2 * s->map->buckets;
	if (below + s->len > cap)
		below = cap - s->len;
	uint32_t *st = malloc((size_t)cap * sizeof(*st));

	if (!st)
		return VG_ERR_NOMEM;
	if (s->len)
		memcpy(st + below, s->bins, (size_t)s->len * sizeof(*st));
	free(s->store);
	s->store = st;
	s->cap = cap;
	s->bins = st + below;
	return VG_OK;
}

/* Free slots before bins[0] and after bins[len - 1]. */
static uint32_t room_below(const struct vg_sketch *s)
{
	return (uint32_t)(s->bins - s->store);
}

static uint32_t room_above(const struct vg_sketch *s)
{
	return s->cap - room_below(s) - s->len;
}

/* Extend the used span down by n buckets (n within the cap). */
static int grow_down(struct vg_sketch *s, uint32_t n)
{
	if (room_below(s) < n) {
		uint32_t need = s->len + n;

		/* Leave as much room below as is used, for the next growth. */
		if (restore(s, 2 * need, need) != VG_OK)
			return VG_ERR_NOMEM;
		if (room_below(s) < n) { /* the store hit its ceiling: recentre */
			memmove(s->store + n, s->bins, (size_t)s->len * sizeof(*s->bins));
			s->bins = s->store + n;
		}
	}
	s->bins -= n;
	memset(s->bins, 0, (size_t)n * sizeof(*s->bins));
	s->offset -= (int32_t)n;
	s->len += n;
	return VG_OK;
}

/* Extend the used span up to n buckets in total. */
static int grow_up(struct vg_sketch *s, uint32_t n)
{
	if (n <= s->len)
		return VG_OK;
	if (room_above(s) < n - s->len) {
		if (restore(s, 2 * n, n / 2) != VG_OK)
			return VG_ERR_NOMEM;
		if (room_above(s) < n - s->len) { /* ceiling: move to the bottom */
			memmove(s->store, s->bins, (size_t)s->len * sizeof(*s->bins));
			s->bins = s->store;
		}
	}
	memset(s->bins + s->len, 0, (size_t)(n - s->len) * sizeof(*s->bins));
	s->len = n;
	return VG_OK;
}

/* Make bucket i addressable, growing the span or collapsing its low end.
 * Returns the slot for i, or -1 on allocation failure. */
static int64_t slot_for(struct vg_sketch *s, int32_t i)
{
	const int64_t max = s->map->buckets;

	if (s->len == 0) {
		if (!s->store && restore(s, 64, 32) != VG_OK)
			return -1;
		s->bins = s->store + s->cap / 2; /* room both ways */
		s->bins[0] = 0;
		s->offset = i;
		s->len = 1;
		return 0;
	}
	if (i >= s->offset && i < s->offset + (int32_t)s->len)
		return i - s->offset;
	if (i < s->offset) {
		int64_t grow = (int64_t)s->offset - i;

		if ((int64_t)s->len + grow > max) {
			/* Below the span that the cap allows: collapse into the
			 * lowest bucket we keep. */
			grow = max - (int64_t)s->len;
			s->collapsed++;
			if (grow <= 0)
				return 0;
		}
		if (grow_down(s, (uint32_t)grow) != VG_OK)
			return -1;
		return 0;
	}
	/* Above: grow up, collapsing the bottom when past the cap. */
	int64_t need = (int64_t)i - s->offset + 1;

	if (need > max) {
		int64_t drop = need - max;
		uint64_t folded = 0;
		uint32_t d = drop >= (int64_t)s->len ? s->len : (uint32_t)drop;

		for (uint32_t k = 0; k < d; k++)
			folded += s->bins[k];
		/* The dropped slots become room below. */
		s->bins += d;
		s->len -= d;
		s->offset += (int32_t)drop;
		if (s->len == 0) { /* everything folded: start again mid-store */
			s->bins = s->store + s->cap / 2;
			s->bins[0] = 0;
			s->len = 1;
		}
		s->bins[0] = sat_add(s->bins[0], folded);
		s->collapsed += folded;
		need = max;
	}
	if (grow_up(s, (uint32_t)need) != VG_OK)
		return -1;
	return i - s->offset;
}

int vg_sketch_add_slow(struct vg_sketch *s, double v)
{
	if (!(v >= 0) || isinf(v)) {
		s->rejected++;
		return VG_OK;
	}
	if (v < VG_SKETCH_MIN_VALUE) {
		s->zero++;
	} else {
		int32_t i = index_of(s->map, v);
		/* Most values land in the span: no call for them. */
		int64_t k = i >= s->offset && (uint32_t)(i - s->offset) < s->len ? i - s->offset : slot_for(s, i);

		if (k < 0) {
			s->rejected++;
			return VG_ERR_NOMEM;
		}
		if (s->bins[k] != UINT32_MAX)
			s->bins[k]++;
	}
	s->count++;
	s->sum += v;
	if (v < s->min)
		s->min = v;
	if (v > s->max)
		s->max = v;
	return VG_OK;
}

int vg_sketch_merge(struct vg_sketch *dst, const struct vg_sketch *src)
{
	if (dst->map != src->map)
		return VG_ERR_INVALID;
	if (src->count == 0) {
		dst->rejected += src->rejected;
		return VG_OK;
	}
	if (src->len) {
		/* Widen dst to the top of src first, so collapsing happens once
		 * at the final bound, as it would have for the union. */
		if (slot_for(dst, src->offset + (int32_t)src->len - 1) < 0)
			return VG_ERR_NOMEM;
		/* Then the bottom; if dst now spans all of src, add bin by bin. */
		if (slot_for(dst, src->offset) < 0)
			return VG_ERR_NOMEM;
		if (dst->offset <= src->offset &&
		    (int64_t)src->offset + src->len <= (int64_t)dst->offset + dst->len) {
			add_bins(dst->bins + (src->offset - dst->offset), src->bins, src->len);
			goto counts;
		}
		for (uint32_t k = 0; k < src->len; k++) {
			if (!src->bins[k])
				continue;
			int64_t d = slot_for(dst, src->offset + (int32_t)k);

			if (d < 0)
				return VG_ERR_NOMEM;
			dst->bins[d] = sat_add(dst->bins[d], src->bins[k]);
		}
	}
counts:
	dst->count += src->count;
	dst->zero += src->zero;
	dst->rejected += src->rejected;
	dst->collapsed += src->collapsed;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	return VG_OK;
}

int vg_sketch_add_bucket(struct vg_sketch *s, int32_t i, uint64_t n)
{
	int64_t k = slot_for(s, i);

	if (k < 0)
		return VG_ERR_NOMEM;
	s->bins[k] = sat_add(s->bins[k], n);
	return VG_OK;
}

void vg_sketch_swap(struct vg_sketch *a, struct vg_sketch *b)
{
	struct vg_sketch t = *a;

	*a = *b;
	*b = t;
}

double vg_sketch_quantile(const struct vg_sketch *s, double q)
{
	if (s->count == 0 || !(q >= 0 && q <= 1))
		return NAN;
	uint64_t rank = (uint64_t)(q * (double)(s->count - 1));

	if (rank == s->count - 1)
		return s->max; /* the extremes are known exactly */
	if (rank == 0)
		return s->min;
	if (rank < s->zero)
		return 0;
	uint64_t seen = s->zero;

	for (uint32_t k = 0; k < s->len; k++) {
		seen += s->bins[k];
		if (seen > rank) {
			double lo = bucket_low(s->map, s->offset + (int32_t)k);
			double hi = lo * s->map->base;
			double v = 2 * lo * hi / (lo + hi);

			if (v < s->min)
				v = s->min;
			if (v > s->max)
				v = s->max;
			return v;
		}
	}
	return s->max;
}

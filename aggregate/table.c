#include "aggregate/table.h"

#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/record.h"

#define ARENA_CHUNK (64u << 10)

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	char data[];
};

/* Per (window, kind) key counts, for the cardinality cap. A table holds a
 * handful of windows at a time, so a short list does. */
struct wcount {
	int64_t window;
	uint32_t keys[VG_TABLE_KINDS];
};

struct vg_table {
	struct vg_table_params p;
	struct vg_table_entry *entries; /* insertion order; reused after reset */
	size_t n, cap, ever;          /* ever: entries initialised (sketches allocated) */
	uint64_t *slots;              /* open addressing: hash tag << 32 | (entry index + 1); 0 empty */
	size_t n_slots;               /* power of two, at least 2x n */
	struct arena_chunk *arena, *arena_cur;
	struct wcount *wc;
	size_t n_wc, cap_wc;
	uint64_t overflow;
	/* Empty sketches with buckets allocated, taken from reused entries
	 * of other kinds: HTTP entries take theirs from here, so buckets
	 * follow the HTTP keys instead of spreading over every entry. */
	struct vg_sketch *pool;
	size_t n_pool, cap_pool;
};

/* Hashing: a key's strings (service, endpoint, method) are hashed each on
 * its own, 16 bytes per 64x64->128-bit multiply whose halves are folded
 * (the "mum" of wyhash), so the three run in parallel and a short string
 * costs one multiply; one more folds them with the window and tags. Both
 * the slot index (low bits) and the tag (high bits) depend on every input
 * bit. The hash is internal: tables only compare hashes computed by this
 * same code in this same process, and a collision costs a probe, never a
 * wrong entry.
 *
 * The fold is zero when either word is, so with known seeds a 16-byte
 * block can be picked that wipes the state, and every string that starts
 * with it hashes alike whatever follows: anyone who writes access logs
 * could then pile their endpoints into one probe chain (10,000 keys a
 * window, each probe walking it). The seeds and the word mixed into every
 * block are therefore secret, drawn once per process; every table of the
 * process shares them, since the window store carries hashes from table
 * to table. */
#define HASH_K2 0xD6E8FEB86659FD93ull
#define HASH_K3 0xA0761D6478BD642Full

static struct {
	uint64_t block; /* XORed into the first word of every block */
	uint64_t service, endpoint, method; /* each string's seed */
} secret;
static pthread_once_t secret_once = PTHREAD_ONCE_INIT;

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static void secret_init(void)
{
	uint64_t w[4];

	if (getrandom(w, sizeof(w), 0) != (ssize_t)sizeof(w)) {
		/* No getrandom (an old kernel under a new libc): the clock,
		 * the pid and where the stack landed, stretched. */
		struct timespec ts;
		uint64_t x;

		clock_gettime(CLOCK_REALTIME, &ts);
		x = (uint64_t)ts.tv_sec << 32 ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 48 ^ (uint64_t)(uintptr_t)&ts;
		for (int i = 0; i < 4; i++)
			w[i] = splitmix64(&x);
	}
	secret.block = w[0];
	secret.service = w[1];
	secret.endpoint = w[2];
	secret.method = w[3];
}

static inline void secret_ready(void)
{
	pthread_once(&secret_once, secret_init);
}

static inline uint64_t mum(uint64_t a, uint64_t b)
{
	__uint128_t r = (__uint128_t)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t load8(const char *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
	return w;
}

static inline uint64_t hash_str(uint64_t seed, vg_str s)
{
	const char *p = s.p;
	size_t n = s.len;
	uint64_t a, b;

	if (n <= 16) {
		if (n >= 8) {
			a = load8(p);
			b = load8(p + n - 8); /* overlapping the first is fine for a hash */
		} else {
			a = vg_load_tail(p, n);
			b = 0;
		}
	} else {
		for (; n > 16; n -= 16, p += 16)
			seed = mum(load8(p) ^ secret.block, load8(p + 8) ^ seed);
		a = load8(p + n - 16);
		b = load8(p + n - 8);
	}
	return mum(a ^ secret.block, b ^ seed ^ s.len);
}

static inline uint64_t hash_service(vg_str service)
{
	return hash_str(secret.service, service);
}

static inline uint64_t hash_finish(const struct vg_table_key *k, uint64_t h)
{
	h ^= ((uint64_t)k->window ^ ((uint64_t)k->kind << 56 | (uint64_t)k->category << 48 |
	                             (uint64_t)k->level << 40 | (uint64_t)k->counter << 32)) * HASH_K2;
	if (k->kind == VG_TABLE_HTTP)
		h ^= hash_str(secret.endpoint, k->endpoint) ^ hash_str(secret.method, k->method) * HASH_K3;
	return mum(h ^ HASH_K3, (h << 32 | h >> 32) ^ HASH_K2); /* rotated: h and h ^ K2 ^ K3 differ */
}

uint64_t vg_table_hash_service(vg_str service)
{
	secret_ready();
	return hash_service(service);
}

uint64_t vg_table_hash_finish(const struct vg_table_key *k, uint64_t h)
{
	secret_ready();
	return hash_finish(k, h);
}

uint64_t vg_table_key_hash(const struct vg_table_key *k)
{
	secret_ready();
	return hash_finish(k, hash_service(k->service));
}

/* kind, category, level and counter are four adjacent bytes: one compare. */
_Static_assert(offsetof(struct vg_table_key, category) == offsetof(struct vg_table_key, kind) + 1 &&
                       offsetof(struct vg_table_key, level) == offsetof(struct vg_table_key, kind) + 2 &&
                       offsetof(struct vg_table_key, counter) == offsetof(struct vg_table_key, kind) + 3,
               "key tags are not adjacent");

static inline bool key_eq(const struct vg_table_key *a, const struct vg_table_key *b)
{
	uint32_t ta, tb;

	memcpy(&ta, &a->kind, 4);
	memcpy(&tb, &b->kind, 4);
	if (a->window != b->window || ta != tb ||
	    ((a->service.len ^ b->service.len) | (a->endpoint.len ^ b->endpoint.len) | (a->method.len ^ b->method.len)))
		return false;
	return vg_bytes_eq(a->service.p, b->service.p, a->service.len) &&
	       (!a->endpoint.len || vg_bytes_eq(a->endpoint.p, b->endpoint.p, a->endpoint.len)) &&
	       (!a->method.len || vg_bytes_eq(a->method.p, b->method.p, a->method.len));
}

int vg_table_create(struct vg_table **out, const struct vg_table_params *p)
{
	struct vg_table *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t)
		return VG_ERR_NOMEM;
	secret_ready(); /* the table's own hashing reads it without asking */
	t->p = *p;
	t->n_slots = 1024;
	t->slots = calloc(t->n_slots, sizeof(*t->slots));
	if (!t->slots) {
		free(t);
		return VG_ERR_NOMEM;
	}
	*out = t;
	return VG_OK;
}

void vg_table_destroy(struct vg_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->ever; i++) {
		vg_sketch_free(&t->entries[i].latency);
		free(t->entries[i].samples);
	}
	for (size_t i = 0; i < t->n_pool; i++)
		vg_sketch_free(&t->pool[i]);
	free(t->pool);
	free(t->entries);
	free(t->slots);
	free(t->wc);
	for (struct arena_chunk *c = t->arena, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	free(t);
}

void vg_table_reset(struct vg_table *t)
{
	if (t->n)
		memset(t->slots, 0, t->n_slots * sizeof(*t->slots));
	t->n = 0;
	t->n_wc = 0;
	t->overflow = 0;
	for (struct arena_chunk *c = t->arena; c; c = c->next)
		c->used = 0;
	t->arena_cur = t->arena;
}

static char *arena_copy(struct vg_table *t, vg_str s)
{
	struct arena_chunk *c = t->arena_cur;

	while (c && c->used + s.len > c->cap)
		c = c->next;
	if (!c) {
		size_t cap = s.len > ARENA_CHUNK ? s.len : ARENA_CHUNK;

		if (!(c = malloc(sizeof(*c) + cap)))
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = NULL;
		/* Append, so chunks are reused in order after a reset. */
		struct arena_chunk **tail = &t->arena;

		while (*tail)
			tail = &(*tail)->next;
		*tail = c;
	}
	t->arena_cur = c;
	char *d = c->data + c->used;

	if (s.len)
		memcpy(d, s.p, s.len);
	c->used += s.len;
	return d;
}

/* A slot: the hash's top half as a tag, so most mismatches are decided
 * without touching the entry, and the entry's index + 1. */
static inline uint64_t slot_make(uint64_t hash, size_t ix)
{
	return (hash & 0xFFFFFFFF00000000ull) | (uint64_t)(ix + 1);
}

static int grow_slots(struct vg_table *t)
{
	size_t n = t->n_slots * 2;
	uint64_t *s = calloc(n, sizeof(*s));

	if (!s)
		return VG_ERR_NOMEM;
	for (size_t i = 0; i < t->n; i++) {
		size_t h = (size_t)t->entries[i].hash & (n - 1);

		while (s[h])
			h = (h + 1) & (n - 1);
		s[h] = slot_make(t->entries[i].hash, i);
	}
	free(t->slots);
	t->slots = s;
	t->n_slots = n;
	return VG_OK;
}

static struct wcount *window_count(struct vg_table *t, int64_t window)
{
	for (size_t i = t->n_wc; i-- > 0;) {
		if (t->wc[i].window == window)
			return &t->wc[i];
	}
	if (vg_grow(&t->wc, &t->cap_wc, t->n_wc + 1, sizeof(*t->wc), 8) != 0)
		return NULL;
	struct wcount *w = &t->wc[t->n_wc++];

	memset(w, 0, sizeof(*w));
	w->window = window;
	return w;
}

static struct vg_table_entry *insert(struct vg_table *t, const struct vg_table_key *key, uint64_t h, size_t slot)
{
	/* Room for 1024 entries at once (216 KiB, touched as used): a window
	 * or a shard of a few threads holds several hundred keys, and every
	 * doubling before copied the array into memory faulted in afresh. */
	if (vg_grow(&t->entries, &t->cap, t->n + 1, sizeof(*t->entries), 1024) != 0)
		return NULL;
	struct vg_table_entry *e = &t->entries[t->n];

	if (t->n == t->ever) {
		memset(e, 0, sizeof(*e));
		vg_sketch_init(&e->latency, t->p.map);
		t->ever++;
	} else {
		vg_sketch_reset(&e->latency);
		e->n_samples = 0;
	}
	/* Only HTTP entries record latency. Without the pool, every entry
	 * would in time hold buckets (after resets and merges' swaps) and new
	 * HTTP keys would keep allocating (and zeroing) fresh ones. */
	if (key->kind == VG_TABLE_HTTP) {
		if (!e->latency.store && t->n_pool)
			vg_sketch_swap(&e->latency, &t->pool[--t->n_pool]);
	} else if (e->latency.store && vg_grow(&t->pool, &t->cap_pool, t->n_pool + 1, sizeof(*t->pool), 64) == 0) {
		t->pool[t->n_pool++] = e->latency;
		vg_sketch_init(&e->latency, t->p.map);
	}
	e->key = *key;
	e->hash = h;
	e->count = e->errors_4xx = e->errors_5xx = e->not_found = 0;
	e->key.service.p = arena_copy(t, key->service);
	e->key.endpoint.p = arena_copy(t, key->endpoint);
	e->key.method.p = arena_copy(t, key->method);
	if ((key->service.len && !e->key.service.p) || (key->endpoint.len && !e->key.endpoint.p) ||
	    (key->method.len && !e->key.method.p))
		return NULL;
	t->slots[slot] = slot_make(h, t->n);
	t->n++;
	return e;
}

static inline struct vg_table_entry *lookup(struct vg_table *t, const struct vg_table_key *key, uint64_t h, size_t *slot)
{
	size_t mask = t->n_slots - 1, i = (size_t)h & mask;
	uint64_t sl, tag = h & 0xFFFFFFFF00000000ull;

	while ((sl = t->slots[i]) != 0) {
		if ((sl & 0xFFFFFFFF00000000ull) == tag) {
			struct vg_table_entry *e = &t->entries[(uint32_t)sl - 1];

			if (e->hash == h && key_eq(&e->key, key))
				return e;
		}
		i = (i + 1) & mask;
	}
	*slot = i;
	return NULL;
}

struct vg_table_entry *vg_table_get(struct vg_table *t, const struct vg_table_key *key)
{
	return vg_table_get_hashed(t, key, vg_table_key_hash(key));
}

/* A key not in the table: insert it, or fold it into __other__. slot is
 * where lookup stopped. */
static struct vg_table_entry *get_new(struct vg_table *t, const struct vg_table_key *key, uint64_t h, size_t slot)
{
	struct vg_table_entry *e;

	if (2 * (t->n + 1) > t->n_slots) {
		if (grow_slots(t) != VG_OK)
			return NULL;
		lookup(t, key, h, &slot);
	}
	struct wcount *wc = window_count(t, key->window);

	if (!wc)
		return NULL;
	if (wc->keys[key->kind] >= t->p.max_keys) {
		/* Past the cap: this window's __other__ entry of the kind. */
		struct vg_table_key other = *key;

		t->overflow++;
		other.service = VG_STR_LIT(VG_TABLE_OTHER);
		other.endpoint = key->kind == VG_TABLE_HTTP ? VG_STR_LIT(VG_TABLE_OTHER) : VG_STR_NULL;
		other.method = key->kind == VG_TABLE_HTTP ? VG_STR_LIT(VG_TABLE_OTHER) : VG_STR_NULL;
		h = vg_table_key_hash(&other);
		if ((e = lookup(t, &other, h, &slot)) != NULL)
			return e;
		return insert(t, &other, h, slot); /* the cap's one extra key */
	}
	wc->keys[key->kind]++;
	return insert(t, key, h, slot);
}

/* The whole lookup, inserting on a miss. */
static struct vg_table_entry *get_probe(struct vg_table *t, const struct vg_table_key *key, uint64_t h)
{
	size_t slot = 0; /* set by lookup() whenever it returns NULL */
	struct vg_table_entry *e = lookup(t, key, h, &slot);

	return e ? e : get_new(t, key, h, slot);
}

/* Most keys sit in their home slot: check it inline, probe out of line. */
static inline struct vg_table_entry *get(struct vg_table *t, const struct vg_table_key *key, uint64_t h)
{
	uint64_t sl = t->slots[(size_t)h & (t->n_slots - 1)];

	if (sl && (sl & 0xFFFFFFFF00000000ull) == (h & 0xFFFFFFFF00000000ull)) {
		struct vg_table_entry *e = &t->entries[(uint32_t)sl - 1];

		if (e->hash == h && key_eq(&e->key, key))
			return e;
	}
	return get_probe(t, key, h);
}

struct vg_table_entry *vg_table_get_hashed(struct vg_table *t, const struct vg_table_key *key, uint64_t h)
{
	return get(t, key, h);
}

/* A record's pattern counters: few records have any, so out of line,
 * keeping the per-record path short (it shares the cores' instruction
 * cache with the parser). */
static __attribute__((noinline)) int add_counters(struct vg_table *t, int64_t window, const struct vg_record *rec,
                                                  uint64_t hs)
{
	for (uint32_t bits = rec->counters; bits; bits &= bits - 1) {
		struct vg_table_key c = {.window = window,
		                       .kind = VG_TABLE_COUNTER,
		                       .counter = (uint8_t)__builtin_ctz(bits),
		                       .service = rec->service};
		struct vg_table_entry *e = get(t, &c, hash_finish(&c, hs));

		if (!e)
			return VG_ERR_NOMEM;
		e->count++;
	}
	return VG_OK;
}

int vg_table_add_record(struct vg_table *t, int64_t window, const struct vg_record *rec)
{
	struct vg_table_key k = {.window = window,
	                       .kind = VG_TABLE_LOG,
	                       .category = rec->category,
	                       .level = rec->level,
	                       .service = rec->service};
	uint64_t hs = hash_service(rec->service); /* shared by the record's keys */
	struct vg_table_entry *e = get(t, &k, hash_finish(&k, hs));

	if (!e)
		return VG_ERR_NOMEM;
	e->count++;
	if (rec->status) {
		k.kind = VG_TABLE_HTTP;
		k.category = k.level = 0;
		k.endpoint = rec->endpoint;
		k.method = rec->method;
		if (!(e = get(t, &k, hash_finish(&k, hs))))
			return VG_ERR_NOMEM;
		e->count++;
		e->errors_4xx += rec->status >= 400 && rec->status < 500;
		e->errors_5xx += rec->status >= 500;
		e->not_found += rec->status == 404;
		if (vg_table_add_latency(t, e, rec->duration_ms) != VG_OK)
			return VG_ERR_NOMEM;
	}
	return rec->counters ? add_counters(t, window, rec, hs) : VG_OK;
}

int vg_table_add_latency(struct vg_table *t, struct vg_table_entry *e, double ms)
{
	if (isnan(ms))
		return VG_OK;
	if (t->p.exact && ms >= 0 && !isinf(ms)) {
		if (vg_grow(&e->samples, &e->cap_samples, e->n_samples + 1, sizeof(*e->samples), 64) != 0)
			return VG_ERR_NOMEM;
		e->samples[e->n_samples++] = ms;
	}
	return vg_sketch_add(&e->latency, ms);
}

static void swap_payload(struct vg_table_entry *a, struct vg_table_entry *b)
{
	double *sp = a->samples;
	size_t n = a->n_samples, cap = a->cap_samples;

	vg_sketch_swap(&a->latency, &b->latency);
	a->samples = b->samples;
	a->n_samples = b->n_samples;
	a->cap_samples = b->cap_samples;
	b->samples = sp;
	b->n_samples = n;
	b->cap_samples = cap;
}

static int merge(struct vg_table *dst, struct vg_table *src, int64_t from, int64_t to, bool steal)
{
	dst->overflow += src->overflow;
	for (size_t i = 0; i < src->n; i++) {
		struct vg_table_entry *s = &src->entries[i];

		if (s->key.window < from || s->key.window >= to)
			continue;
		struct vg_table_entry *d = vg_table_get_hashed(dst, &s->key, s->hash);

		if (!d)
			return VG_ERR_NOMEM;
		if (steal && d->count == 0 && d->latency.count == 0 && d->latency.rejected == 0 &&
		    d->n_samples == 0) {
			/* New in dst: take src's payload, leave dst's empty one
			 * (already zero) for src to reuse. */
			d->count = s->count;
			d->errors_4xx = s->errors_4xx;
			d->errors_5xx = s->errors_5xx;
			d->not_found = s->not_found;
			swap_payload(d, s);
			continue;
		}
		d->count += s->count;
		d->errors_4xx += s->errors_4xx;
		d->errors_5xx += s->errors_5xx;
		d->not_found += s->not_found;
		if (vg_sketch_merge(&d->latency, &s->latency) != VG_OK)
			return VG_ERR_NOMEM;
		if (s->n_samples) {
			if (vg_grow(&d->samples, &d->cap_samples, d->n_samples + s->n_samples, sizeof(*d->samples),
				    64) != 0)
				return VG_ERR_NOMEM;
			memcpy(d->samples + d->n_samples, s->samples, s->n_samples * sizeof(*s->samples));
			d->n_samples += s->n_samples;
		}
	}
	return VG_OK;
}

int vg_table_merge(struct vg_table *dst, const struct vg_table *src, int64_t from, int64_t to)
{
	/* Without stealing, src is only read. */
	return merge(dst, (struct vg_table *)src, from, to, false);
}

int vg_table_absorb(struct vg_table *dst, struct vg_table *src, int64_t from, int64_t to)
{
	return merge(dst, src, from, to, true);
}

size_t vg_table_size(const struct vg_table *t)
{
	return t->n;
}

struct vg_table_entry *vg_table_entry(const struct vg_table *t, size_t i)
{
	return i < t->n ? &t->entries[i] : NULL;
}

size_t vg_table_window_count(const struct vg_table *t)
{
	return t->n_wc;
}

int64_t vg_table_window(const struct vg_table *t, size_t i)
{
	return t->wc[i].window;
}

uint64_t vg_table_overflow(const struct vg_table *t)
{
	return t->overflow;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double vg_table_quantile(struct vg_table_entry *e, double q, bool exact)
{
	if (!exact)
		return vg_sketch_quantile(&e->latency, q);
	if (e->n_samples == 0)
		return NAN;
	qsort(e->samples, e->n_samples, sizeof(double), cmp_double);
	return e->samples[(size_t)(q * (double)(e->n_samples - 1))];
}

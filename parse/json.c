/* vigil: the JSON field extractor. See json.h for the contract.
 *
 * One pass, no recursion: an explicit stack of containers, each remembering
 * whether it is an array and which node of the path trie its keys are
 * looked up in (none for most objects, so their keys are only validated).
 * Strings, which are most of a log record's bytes, are scanned 16 bytes at
 * a time for the four things that end a fast run: a quote, a backslash, a
 * control character, a non-ASCII byte. */
#include "parse/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/buf.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define NO_NODE UINT16_MAX
#define NO_FIELD UINT8_MAX
#define KEY_LEN_MAX 64 /* longest path component; longer keys never match */

/* A child edge of the path trie: a key, the field it feeds (if the path
 * ends here) and the node its object value descends into (if longer paths
 * continue through it). */
struct edge {
	char key[KEY_LEN_MAX];
	uint8_t key_len;
	uint8_t field; /* enum vg_field or NO_FIELD */
	uint8_t prio;
	uint16_t child; /* node index or NO_NODE */
};

/* A trie node: a small open hash table of its edges, keyed on length,
 * first and last byte. Most keys in a record are not configured paths, and
 * for them a lookup is one hash and one empty slot. */
#define HASH_SLOTS 256 /* power of two; a sparse table keeps misses to one probe */
struct node {
	uint16_t slot[HASH_SLOTS]; /* edge index + 1, or 0 when empty */
};

static inline unsigned key_hash(const unsigned char *k, size_t len)
{
	return ((unsigned)k[0] * 5u + (unsigned)k[len - 1] * 3u + (unsigned)len * 17u) & (HASH_SLOTS - 1);
}

struct vg_json_paths {
	struct node *nodes;
	size_t n_nodes;
	struct edge *edges;
	size_t n_edges;
};

static const char *const reason_names[VG_JR_COUNT] = {
	[VG_JR_OK] = "ok",
	[VG_JR_EMPTY] = "empty",
	[VG_JR_SIZE] = "size",
	[VG_JR_NOT_OBJECT] = "not_object",
	[VG_JR_SYNTAX] = "syntax",
	[VG_JR_TRAILING] = "trailing",
	[VG_JR_UTF8] = "utf8",
	[VG_JR_ESCAPE] = "escape",
	[VG_JR_CONTROL] = "control",
	[VG_JR_NUMBER] = "number",
	[VG_JR_DEPTH] = "depth",
};

const char *vg_json_reason_str(int reason)
{
	if (reason < 0 || reason >= VG_JR_COUNT)
		return "unknown";
	return reason_names[reason];
}

/* ---- path trie ---------------------------------------------------------- */

/* Building uses a simple unsorted representation; finish() sorts edges by
 * (node, length) into the lookup layout. */
struct build_edge {
	uint16_t node;
	struct edge e;
};

struct builder {
	struct build_edge *edges;
	size_t n, cap;
	size_t n_nodes;
};

static int builder_find(struct builder *b, uint16_t node, const char *key, size_t len)
{
	for (size_t i = 0; i < b->n; i++) {
		const struct edge *e = &b->edges[i].e;

		if (b->edges[i].node == node && e->key_len == len && memcmp(e->key, key, len) == 0)
			return (int)i;
	}
	return -1;
}

static int builder_add(struct builder *b, uint16_t node, const char *key, size_t len)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 32;
		struct build_edge *e = realloc(b->edges, cap * sizeof(*e));

		if (!e)
			return -1;
		b->edges = e;
		b->cap = cap;
	}
	struct build_edge *be = &b->edges[b->n];

	memset(be, 0, sizeof(*be));
	be->node = node;
	memcpy(be->e.key, key, len);
	be->e.key_len = (uint8_t)len;
	be->e.field = NO_FIELD;
	be->e.child = NO_NODE;
	return (int)b->n++;
}

/* Insert one edge chain for `path` (dots split components) ending in field
 * f. A path is also inserted whole as a literal key at the root. */
static int builder_insert(struct builder *b, const char *path, size_t plen, bool split, int f, int prio,
			  char *errbuf, size_t errlen, const char *field_name)
{
	uint16_t node = 0;
	const char *s = path, *end = path + plen;

	while (s <= end) {
		const char *dot = split ? memchr(s, '.', (size_t)(end - s)) : NULL;
		const char *ce = dot ? dot : end;
		size_t len = (size_t)(ce - s);

		if (len == 0 || len >= KEY_LEN_MAX) {
			snprintf(errbuf, errlen, "field %s: path '%.*s' has %s component", field_name,
				 (int)plen, path, len == 0 ? "an empty" : "a too long (64+ bytes)");
			return VG_ERR_CONFIG;
		}
		int i = builder_find(b, node, s, len);

		if (i < 0 && (i = builder_add(b, node, s, len)) < 0)
			return VG_ERR_NOMEM;
		if (!dot) {
			struct edge *e = &b->edges[i].e;

			if (e->field != NO_FIELD && (e->field != f || e->prio != prio)) {
				if (e->field == f)
					return VG_OK; /* literal and nested form of one path */
				snprintf(errbuf, errlen, "path '%.*s' is listed for two fields", (int)plen, path);
				return VG_ERR_CONFIG;
			}
			e->field = (uint8_t)f;
			e->prio = (uint8_t)prio;
			return VG_OK;
		}
		if (b->edges[i].e.child == NO_NODE) {
			if (b->n_nodes >= NO_NODE - 1) {
				snprintf(errbuf, errlen, "too many field paths");
				return VG_ERR_CONFIG;
			}
			b->edges[i].e.child = (uint16_t)b->n_nodes++;
		}
		node = b->edges[i].e.child;
		s = dot + 1;
	}
	return VG_OK;
}

static int cmp_build_edge(const void *a, const void *b)
{
	const struct build_edge *x = a, *y = b;

	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	if (x->e.key_len != y->e.key_len)
		return x->e.key_len < y->e.key_len ? -1 : 1;
	return memcmp(x->e.key, y->e.key, x->e.key_len);
}

int vg_json_paths_create(struct vg_json_paths **out, const char *const *const paths[VG_F_COUNT],
			 const size_t n[VG_F_COUNT], char *errbuf, size_t errlen)
{
	struct builder b = {.n_nodes = 1};
	struct vg_json_paths *jp = NULL;
	int rc = VG_OK;

	*out = NULL;
	for (int f = 0; f < VG_F_COUNT && rc == VG_OK; f++) {
		if (n[f] > 255) {
			snprintf(errbuf, errlen, "field %s: more than 255 paths", vg_field_name(f));
			rc = VG_ERR_CONFIG;
			break;
		}
		for (size_t i = 0; i < n[f] && rc == VG_OK; i++) {
			const char *p = paths[f][i];
			size_t len = strlen(p);

			rc = builder_insert(&b, p, len, true, f, (int)i, errbuf, errlen, vg_field_name(f));
			if (rc == VG_OK && memchr(p, '.', len))
				rc = builder_insert(&b, p, len, false, f, (int)i, errbuf, errlen, vg_field_name(f));
		}
	}
	if (rc != VG_OK)
		goto out_free_builder;

	rc = VG_ERR_NOMEM;
	jp = calloc(1, sizeof(*jp));
	if (!jp)
		goto out_free_builder;
	jp->n_nodes = b.n_nodes;
	jp->nodes = calloc(b.n_nodes, sizeof(*jp->nodes));
	jp->edges = calloc(b.n ? b.n : 1, sizeof(*jp->edges));
	if (!jp->nodes || !jp->edges)
		goto out_free_paths;

	if (b.n > 1) /* no paths at all: b.edges is NULL, which qsort must not get */
		qsort(b.edges, b.n, sizeof(*b.edges), cmp_build_edge);
	jp->n_edges = b.n;
	for (size_t i = 0; i < b.n; i++) {
		struct node *nd = &jp->nodes[b.edges[i].node];
		const struct edge *e = &b.edges[i].e;
		unsigned h = key_hash((const unsigned char *)e->key, e->key_len);
		unsigned probes = 0;

		jp->edges[i] = *e;
		while (nd->slot[h] != 0) {
			h = (h + 1) & (HASH_SLOTS - 1);
			if (++probes == HASH_SLOTS / 2) {
				snprintf(errbuf, errlen, "too many field paths under one object (at most %d)",
					 HASH_SLOTS / 2);
				rc = VG_ERR_CONFIG;
				goto out_free_paths;
			}
		}
		nd->slot[h] = (uint16_t)(i + 1);
	}
	rc = VG_OK;
	*out = jp;
	jp = NULL;

out_free_paths:
	vg_json_paths_destroy(jp);
out_free_builder:
	free(b.edges);
	return rc;
}

void vg_json_paths_destroy(struct vg_json_paths *jp)
{
	if (!jp)
		return;
	free(jp->nodes);
	free(jp->edges);
	free(jp);
}

static inline __attribute__((always_inline)) const struct edge *paths_lookup(const struct vg_json_paths *jp, uint16_t node, const char *key,
					      size_t len)
{
	const struct node *nd = &jp->nodes[node];
	const unsigned char *k = (const unsigned char *)key;
	unsigned h = key_hash(k, len);
	uint16_t ix;

	while ((ix = nd->slot[h]) != 0) {
		const struct edge *e = &jp->edges[ix - 1];

		if (e->key_len == len && vg_bytes_eq(e->key, k, len))
			return e;
		h = (h + 1) & (HASH_SLOTS - 1);
	}
	return NULL;
}

/* ---- scanning ----------------------------------------------------------- */

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

static inline bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static inline const unsigned char *skip_ws(const unsigned char *p, const unsigned char *end)
{
	if (LIKELY(p < end && *p > ' '))
		return p; /* compact JSON: nothing to skip */
	while (p < end && is_ws(*p))
		p++;
	return p;
}

static inline int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Four hex digits at p (caller checked they exist); -1 when not hex. */
static inline long hex4(const unsigned char *p)
{
	int a = hexval(p[0]), b = hexval(p[1]), c = hexval(p[2]), d = hexval(p[3]);

	if ((a | b | c | d) < 0)
		return -1;
	return (long)((a << 12) | (b << 8) | (c << 4) | d);
}

/* Length of the valid UTF-8 sequence starting at p (a byte >= 0x80), or 0
 * when it is invalid: a stray continuation byte, an overlong form, a
 * surrogate, a code point past U+10FFFF, or a truncated sequence. Ranges
 * per RFC 3629 section 4. */
static inline size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0];
	size_t avail = (size_t)(end - p);

	if (c >= 0xC2 && c <= 0xDF) {
		if (avail < 2 || (p[1] & 0xC0) != 0x80)
			return 0;
		return 2;
	}
	if (c >= 0xE0 && c <= 0xEF) {
		if (avail < 3 || (p[2] & 0xC0) != 0x80)
			return 0;
		unsigned char lo = 0x80, hi = 0xBF;

		if (c == 0xE0)
			lo = 0xA0; /* overlong */
		else if (c == 0xED)
			hi = 0x9F; /* surrogates */
		if (p[1] < lo || p[1] > hi)
			return 0;
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if (avail < 4 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
			return 0;
		unsigned char lo = 0x80, hi = 0xBF;

		if (c == 0xF0)
			lo = 0x90; /* overlong */
		else if (c == 0xF4)
			hi = 0x8F; /* past U+10FFFF */
		if (p[1] < lo || p[1] > hi)
			return 0;
		return 4;
	}
	return 0; /* 0x80-0xC1 (continuation, overlong lead) or 0xF5-0xFF */
}

bool vg_json_utf8_valid(const char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)buf, *end = p + len;

	while (p < end) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		size_t n = utf8_seq(p, end);

		if (n == 0)
			return false;
		p += n;
	}
	return true;
}

/* Bitmask of bytes in p[0..16) that end a fast string run. */
#if defined(__SSE2__)
static inline unsigned special16(const unsigned char *p)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i q = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
	__m128i bs = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
	/* Signed compare: bytes >= 0x80 are negative, so this one test catches
	 * both control characters and non-ASCII. */
	__m128i lo = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));

	return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(q, bs), lo));
}
#endif

/* Scan a string whose opening quote is at p[-1]. On success returns the
 * position of the closing quote and ORs VG_V_ESCAPED into *flags when an
 * escape was seen; on failure returns NULL with *reason and *at set. */
static const unsigned char *scan_string_slow(const unsigned char *p, const unsigned char *end, uint8_t *flags,
					int *reason, const unsigned char **at)
{
	for (;;) {
#if defined(__SSE2__)
		while (LIKELY(end - p >= 16)) {
			unsigned m = special16(p);

			if (m) {
				p += __builtin_ctz(m);
				goto special;
			}
			p += 16;
		}
#endif
		while (p < end) {
			unsigned char c = *p;

			if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80)
				goto special;
			p++;
		}
		*reason = VG_JR_SYNTAX; /* unterminated */
		*at = p;
		return NULL;
special:
		if (LIKELY(*p == '"'))
			return p;
		if (*p == '\\') {
			*flags |= VG_V_ESCAPED;
			if (end - p < 2)
				goto bad_escape;
			switch (p[1]) {
			case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
				p += 2;
				continue;
			case 'u':
				break;
			default:
				goto bad_escape;
			}
			if (end - p < 6)
				goto bad_escape;
			long u = hex4(p + 2);

			if (u < 0)
				goto bad_escape;
			if (u >= 0xDC00 && u <= 0xDFFF)
				goto bad_escape; /* low surrogate first */
			if (u >= 0xD800 && u <= 0xDBFF) {
				if (end - p < 12 || p[6] != '\\' || p[7] != 'u')
					goto bad_escape; /* lone high surrogate */
				long lo = hex4(p + 8);

				if (lo < 0xDC00 || lo > 0xDFFF)
					goto bad_escape;
				p += 12;
				continue;
			}
			p += 6;
			continue;
bad_escape:
			*reason = VG_JR_ESCAPE;
			*at = p;
			return NULL;
		}
		if (*p < 0x20) {
			*reason = VG_JR_CONTROL;
			*at = p;
			return NULL;
		}
		size_t n = utf8_seq(p, end);

		if (UNLIKELY(n == 0)) {
			*reason = VG_JR_UTF8;
			*at = p;
			return NULL;
		}
		p += n;
	}
}

/* The common case inline: plain ASCII up to the closing quote, 16 bytes at
 * a time. The last string of a record, less than 16 bytes from its end, is
 * scanned in the 16 bytes that end the input, the bytes before p masked
 * off: every load stays inside buf[0..len). Escapes, non-ASCII, control
 * bytes and inputs shorter than 16 bytes go to scan_string_slow(). */
static inline const unsigned char *scan_string(const unsigned char *p, const unsigned char *begin,
					       const unsigned char *end, uint8_t *flags, int *reason,
					       const unsigned char **at)
{
#if defined(__SSE2__)
	while (LIKELY(end - p >= 16)) {
		unsigned m = special16(p);

		if (LIKELY(m)) {
			p += __builtin_ctz(m);
			if (LIKELY(*p == '"'))
				return p;
			return scan_string_slow(p, end, flags, reason, at); /* an escape, a control byte or non-ASCII */
		}
		p += 16;
	}
	if (LIKELY(end - begin >= 16 && p < end)) {
		unsigned m = special16(end - 16) >> (16 - (end - p));

		if (LIKELY(m)) {
			p += __builtin_ctz(m);
			if (LIKELY(*p == '"'))
				return p;
		}
	}
#else
	(void)begin;
#endif
	return scan_string_slow(p, end, flags, reason, at);
}

static const double pow10_exact[] = {
	1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static inline bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* Validate the rest of a number after its sign: the grammar only. */
static const unsigned char *skip_number(const unsigned char *p, const unsigned char *end)
{
	if (*p == '0') {
		p++;
		if (p < end && is_digit(*p))
			return NULL; /* leading zero */
	} else if (is_digit(*p)) {
		while (p < end && is_digit(*p))
			p++;
	} else {
		return NULL;
	}
	if (p < end && *p == '.') {
		p++;
		if (p == end || !is_digit(*p))
			return NULL;
		while (p < end && is_digit(*p))
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p == end || !is_digit(*p))
			return NULL;
		while (p < end && is_digit(*p))
			p++;
	}
	return p;
}

/* Scan a number starting at p. Returns the first byte after it, or NULL
 * (reason VG_JR_NUMBER) when malformed. When want is set, stores its value
 * in *val: exactly (Clinger's fast path) when the digits fit in 2^53 and
 * the decimal exponent in 10^22, otherwise through strtod. */
static const unsigned char *scan_number(const unsigned char *p, const unsigned char *end, bool want,
					double *val)
{
	const unsigned char *start = p;
	bool neg = false;
	uint64_t mant = 0;
	int sig = 0, frac = 0; /* significant digits in mant; how many are fractional */
	long exp = 0;

	if (*p == '-') {
		neg = true;
		if (++p == end)
			return NULL;
	}
	if (!want)
		return skip_number(p, end);
	if (*p == '0') {
		p++;
		if (p < end && *p >= '0' && *p <= '9')
			return NULL; /* leading zero */
	} else if (*p >= '1' && *p <= '9') {
		for (; p < end && *p >= '0' && *p <= '9'; p++) {
			if (sig < 19) {
				mant = mant * 10 + (uint64_t)(*p - '0');
				sig++;
			} else {
				exp++; /* digits past 19 only scale */
			}
		}
	} else {
		return NULL;
	}
	if (p < end && *p == '.') {
		p++;
		if (p == end || *p < '0' || *p > '9')
			return NULL;
		for (; p < end && *p >= '0' && *p <= '9'; p++) {
			if (sig < 19) {
				mant = mant * 10 + (uint64_t)(*p - '0');
				frac++;
				sig += mant != 0;
			}
			/* Past 19 digits mant >= 2^53, so strtod decides below. */
		}
	}
	bool has_exp = false;

	if (p < end && (*p == 'e' || *p == 'E')) {
		has_exp = true;
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p == end || *p < '0' || *p > '9')
			return NULL;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	long e10 = exp - frac;

	if (!has_exp && mant < (1ull << 53) && e10 >= -22 && e10 <= 22) {
		double d = (double)mant;

		d = e10 < 0 ? d / pow10_exact[-e10] : d * pow10_exact[e10];
		*val = neg ? -d : d;
		return p;
	}
	char tmp[128];
	size_t len = (size_t)(p - start);

	if (len >= sizeof(tmp)) {
		*val = NAN; /* absurdly long number: valid JSON, no usable value */
		return p;
	}
	memcpy(tmp, start, len);
	tmp[len] = '\0';
	*val = strtod(tmp, NULL);
	return p;
}

/* ---- the extractor ------------------------------------------------------ */

/* A container on the parse stack. */
struct frame {
	uint16_t node;  /* trie node for this object's keys, or NO_NODE */
	uint8_t array;  /* 1 for arrays */
	uint8_t field;  /* field whose raw view ends with this container, or NO_FIELD */
};

static inline void set_value(struct vg_record *rec, const struct edge *e, uint8_t type, const unsigned char *p,
			     size_t len, uint8_t flags, double num)
{
	struct vg_value *v = &rec->f[e->field];

	/* An earlier-listed path beats a later one; the same path seen again
	 * (a duplicate key) replaces the value. */
	if (v->type != VG_J_NONE && e->prio > v->prio)
		return;
	v->raw.p = (const char *)p;
	v->raw.len = len;
	v->type = type;
	v->flags = flags;
	v->prio = e->prio;
	v->num = num;
}

int vg_json_extract(const struct vg_json_paths *jp, const struct vg_json_limits *lim, const char *buf,
		    size_t len, struct vg_record *rec, struct vg_json_error *err)
{
	const unsigned char *const base = (const unsigned char *)buf;
	const unsigned char *p = base, *end = base + len, *at = base;
	unsigned max_depth = lim->max_depth;
	struct frame stack[VG_JSON_MAX_DEPTH_CEILING];
	unsigned depth = 0;
	const struct edge *edge = NULL; /* the key just read, when it matched */
	int reason = VG_JR_OK;

	rec->raw = vg_str_make(buf, len);
	for (int f = 0; f < VG_F_COUNT; f++)
		rec->f[f].type = VG_J_NONE;
	if (max_depth > VG_JSON_MAX_DEPTH_CEILING)
		max_depth = VG_JSON_MAX_DEPTH_CEILING;

	if (len > lim->max_bytes) {
		reason = VG_JR_SIZE;
		at = base + lim->max_bytes;
		goto fail;
	}
	p = skip_ws(p, end);
	if (p == end) {
		reason = VG_JR_EMPTY;
		goto fail_at_p;
	}
	if (*p != '{') {
		unsigned char c = *p;
		size_t left = (size_t)(end - p);

		/* Not an object: name it so when it starts like a JSON value
		 * (a literal must be spelled out; "not json" is syntax). */
		if (c == '[' || c == '"' || c == '-' || (c >= '0' && c <= '9') ||
		    (left >= 4 && (memcmp(p, "true", 4) == 0 || memcmp(p, "null", 4) == 0)) ||
		    (left >= 5 && memcmp(p, "false", 5) == 0))
			reason = VG_JR_NOT_OBJECT;
		else
			reason = VG_JR_SYNTAX;
		goto fail_at_p;
	}
	if (max_depth < 1) {
		reason = VG_JR_DEPTH;
		goto fail_at_p;
	}
	stack[0] = (struct frame){.node = 0, .array = 0, .field = NO_FIELD};
	depth = 1;
	p++;

object_first:
	p = skip_ws(p, end);
	if (p < end && *p == '}') {
		p++;
		goto close;
	}
	/* fall through */
key:
	if (UNLIKELY(p == end || *p != '"')) {
		p = skip_ws(p, end);
		if (p == end || *p != '"') {
			reason = VG_JR_SYNTAX;
			goto fail_at_p;
		}
	}
	{
		const unsigned char *ks = ++p;
		uint8_t kflags = 0;

		p = scan_string(p, base, end, &kflags, &reason, &at);
		if (UNLIKELY(!p))
			goto fail;
		size_t klen = (size_t)(p - ks);

		p++;
		edge = NULL;
		uint16_t node = stack[depth - 1].node;

		if (node != NO_NODE && klen > 0) {
			if (LIKELY(!(kflags & VG_V_ESCAPED))) {
				if (klen < KEY_LEN_MAX)
					edge = paths_lookup(jp, node, (const char *)ks, klen);
			} else if (klen < 6 * KEY_LEN_MAX) {
				char kbuf[6 * KEY_LEN_MAX];
				size_t dl = vg_json_decode(vg_str_make((const char *)ks, klen), kbuf);

				if (dl > 0 && dl < KEY_LEN_MAX)
					edge = paths_lookup(jp, node, kbuf, dl);
			}
		}
	}
	/* Fast path for the common compact form "key":value. */
	if (LIKELY(p < end && *p == ':')) {
		p++;
	} else {
		p = skip_ws(p, end);
		if (p == end || *p != ':') {
			reason = VG_JR_SYNTAX;
			goto fail_at_p;
		}
		p++;
	}

value:
	if (UNLIKELY(p == end)) {
		reason = VG_JR_SYNTAX;
		goto fail_at_p;
	}
	switch (*p) {
	case ' ':
	case '\t':
	case '\n':
	case '\r':
		p = skip_ws(p, end);
		goto value;
	case '"': {
		const unsigned char *s = ++p;
		uint8_t flags = 0;

		p = scan_string(p, base, end, &flags, &reason, &at);
		if (UNLIKELY(!p))
			goto fail;
		if (edge && edge->field != NO_FIELD)
			set_value(rec, edge, VG_J_STRING, s, (size_t)(p - s), flags, 0);
		p++;
		break;
	}
	case '{':
	case '[': {
		if (UNLIKELY(depth >= max_depth)) {
			reason = VG_JR_DEPTH;
			goto fail_at_p;
		}
		bool arr = *p == '[';
		struct frame *fr = &stack[depth++];

		fr->array = arr;
		fr->node = (!arr && edge) ? edge->child : NO_NODE;
		fr->field = NO_FIELD;
		if (edge && edge->field != NO_FIELD && (arr || edge->child == NO_NODE)) {
			/* The field's value is this whole container: its end is
			 * filled in when it closes. */
			set_value(rec, edge, arr ? VG_J_ARRAY : VG_J_OBJECT, p, 0, 0, 0);
			if (rec->f[edge->field].raw.p == (const char *)p)
				fr->field = edge->field;
		}
		p++;
		edge = NULL;
		if (!arr)
			goto object_first;
		p = skip_ws(p, end);
		if (p < end && *p == ']') {
			p++;
			goto close;
		}
		goto value;
	}
	case 't':
	case 'f':
	case 'n': {
		static const char *const lit[3] = {"true", "false", "null"};
		static const uint8_t type[3] = {VG_J_TRUE, VG_J_FALSE, VG_J_NULL};
		int k = *p == 't' ? 0 : *p == 'f' ? 1 : 2;
		size_t n = k == 1 ? 5 : 4;

		if ((size_t)(end - p) < n || memcmp(p, lit[k], n) != 0) {
			reason = VG_JR_SYNTAX;
			goto fail_at_p;
		}
		if (edge && edge->field != NO_FIELD)
			set_value(rec, edge, type[k], p, n, 0, 0);
		p += n;
		break;
	}
	default: {
		if (!(*p == '-' || (*p >= '0' && *p <= '9'))) {
			reason = VG_JR_SYNTAX;
			goto fail_at_p;
		}
		bool want = edge && edge->field != NO_FIELD;
		double num = 0;
		const unsigned char *s = p;

		p = scan_number(p, end, want, &num);
		if (UNLIKELY(!p)) {
			reason = VG_JR_NUMBER;
			at = s;
			goto fail;
		}
		if (want)
			set_value(rec, edge, VG_J_NUMBER, s, (size_t)(p - s), 0, num);
		break;
	}
	}

after_value:
	/* Compact JSON puts the separator right after the value. */
	if (UNLIKELY(p < end && *p <= ' '))
		p = skip_ws(p, end);
	if (UNLIKELY(p == end)) {
		reason = VG_JR_SYNTAX; /* truncated */
		goto fail_at_p;
	}
	if (*p == ',') {
		p++;
		if (stack[depth - 1].array) {
			edge = NULL;
			goto value;
		}
		goto key;
	}
	if (*p == (stack[depth - 1].array ? ']' : '}')) {
		p++;
		goto close;
	}
	reason = VG_JR_SYNTAX;
	goto fail_at_p;

close: {
	struct frame *fr = &stack[depth - 1];

	if (fr->field != NO_FIELD) {
		struct vg_value *v = &rec->f[fr->field];

		v->raw.len = (size_t)((const char *)p - v->raw.p);
	}
	depth--;
	if (depth > 0)
		goto after_value;
}
	p = skip_ws(p, end);
	if (p != end) {
		reason = VG_JR_TRAILING;
		goto fail_at_p;
	}
	return VG_OK;

fail_at_p:
	at = p;
fail:
	if (err) {
		err->reason = reason;
		err->offset = (size_t)(at - base);
	}
	return VG_ERR_PARSE;
}

size_t vg_json_decode(vg_str raw, char *dst)
{
	const unsigned char *p = (const unsigned char *)raw.p, *end = p + raw.len;
	char *o = dst;

	while (p < end) {
		const unsigned char *bs = memchr(p, '\\', (size_t)(end - p));
		size_t run = bs ? (size_t)(bs - p) : (size_t)(end - p);

		memcpy(o, p, run);
		o += run;
		p += run;
		if (p >= end || end - p < 2)
			break;
		unsigned char c = p[1];

		p += 2;
		switch (c) {
		case 'b': *o++ = '\b'; continue;
		case 'f': *o++ = '\f'; continue;
		case 'n': *o++ = '\n'; continue;
		case 'r': *o++ = '\r'; continue;
		case 't': *o++ = '\t'; continue;
		case 'u': break;
		default: *o++ = (char)c; continue;
		}
		if (end - p < 4)
			break;
		long u = hex4(p);

		p += 4;
		if (u < 0)
			u = 0xFFFD;
		if (u >= 0xD800 && u <= 0xDBFF && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
			long lo = hex4(p + 2);

			if (lo >= 0xDC00 && lo <= 0xDFFF) {
				u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
				p += 6;
			}
		}
		if (u >= 0xD800 && u <= 0xDFFF)
			u = 0xFFFD;
		if (u < 0x80) {
			*o++ = (char)u;
		} else if (u < 0x800) {
			*o++ = (char)(0xC0 | (u >> 6));
			*o++ = (char)(0x80 | (u & 0x3F));
		} else if (u < 0x10000) {
			*o++ = (char)(0xE0 | (u >> 12));
			*o++ = (char)(0x80 | ((u >> 6) & 0x3F));
			*o++ = (char)(0x80 | (u & 0x3F));
		} else {
			*o++ = (char)(0xF0 | (u >> 18));
			*o++ = (char)(0x80 | ((u >> 12) & 0x3F));
			*o++ = (char)(0x80 | ((u >> 6) & 0x3F));
			*o++ = (char)(0x80 | (u & 0x3F));
		}
	}
	return (size_t)(o - dst);
}

void vg_json_put_counts(struct vg_buf *b, uint64_t records, uint64_t rejected, const uint64_t *by_reason)
{
	bool first = true;

	vg_buf_puts(b, "\"records\":");
	vg_buf_put_u64(b, records);
	vg_buf_puts(b, ",\"rejected\":");
	vg_buf_put_u64(b, rejected);
	vg_buf_puts(b, ",\"rejected_by_reason\":{");
	for (int r = 1; r < VG_JR_COUNT; r++) {
		if (!by_reason[r])
			continue;
		vg_buf_puts(b, first ? "\"" : ",\"");
		vg_buf_puts(b, vg_json_reason_str(r));
		vg_buf_puts(b, "\":");
		vg_buf_put_u64(b, by_reason[r]);
		first = false;
	}
	vg_buf_putc(b, '}');
}

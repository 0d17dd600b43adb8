/*
 * gen.c - deterministic generator of realistic structured JSON service logs.
 *
 * Writes NDJSON (one JSON object per line) that looks like what a small
 * microservice fleet ships to a log pipeline: nine services, five logging
 * styles (python logging, pino, zap, Java ECS, syslog-ish), four categories
 * (access, application, security, database) and the messy parts real logs
 * have (aliased category fields, missing category fields, raw and escaped
 * Unicode, stack traces, long-tail latencies).
 *
 * Used for demos, tests and benchmarks, so it must be:
 *   - deterministic: same --seed and --count give byte-identical output, on
 *     any libc (own PRNG, own number and date formatting; no rand(), no
 *     locale-dependent printf for anything that reaches the output, no
 *     gmtime);
 *   - fast: about 1M records per second or better;
 *   - checkable: --truth writes the ground truth a classifier should find,
 *     --check verifies every line (length, UTF-8, JSON) without printing.
 *
 * Layout of the code:
 *   PRNG / numbers           xoshiro256** seeded by splitmix64, Box-Muller
 *   string builder / JSON    bounded appenders, JSON string escaping
 *   content tables           services, endpoints, messages
 *   gen_make_event()         record i from the state: all randomness lives
 *                            here and produces a plain gen_event
 *   gen_render()             gen_event -> one JSON line (pure, no randomness)
 *   gen_verify()             length; under --check, vigil's own JSON parser
 *   main()                   CLI, output buffering, truth file
 *
 * Healthy traffic fires none of vigil's shipped alert rules
 * (config/rules.yaml), with margin: 5xx at 0.025% per service and spread
 * out, a handful of failed logins per service in 5 minutes, under 2.5%
 * ERROR-and-above records per service, p95 per endpoint under ~350 ms and
 * p99 under ~700 ms. --incident KIND[:SERVICE]@START+DURATION (see
 * --help) changes the per-service knobs in gen_mix_at(), which hands
 * gen_make_event() the distribution in force at the record's time; the
 * clock has its own PRNG stream, so incidents never move timestamps.
 * Future --rate R belongs in main()'s loop (pacing the writes).
 *
 * Build: make bench/gen (it links core/clock.c's date arithmetic and, for
 * --check, parse/json.c).
 */

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "parse/json.h"

#define GEN_LINE_MIN 200 /* bytes per line, excluding the newline */
#define GEN_LINE_MAX 400
#define GEN_LINE_CAP 1024 /* render buffer: room to detect overflow */
#define GEN_OUT_CAP (1u << 20)

#define GEN_DEFAULT_COUNT 1000u
#define GEN_DEFAULT_SEED 1u
#define GEN_DEFAULT_START_MS 1793491200000ull /* 2026-11-01T00:00:00Z */
/* Latest --start: 3000-01-01T00:00:00Z, so that event times stay well
 * inside four-digit years however many records follow. */
#define GEN_MAX_START_MS 32503680000000ull

#define GEN_N(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ */
/* PRNG: xoshiro256** seeded with splitmix64                          */
/* ------------------------------------------------------------------ */

typedef struct gen_rng {
	uint64_t s[4];
} gen_rng;

/* splitmix64 finalizer: a bijection on 64-bit values, also used to make
 * event ids unique (distinct inputs give distinct outputs). */
static uint64_t gen_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static void gen_rng_seed(gen_rng *r, uint64_t x)
{
	for (int i = 0; i < 4; i++) {
		x += 0x9E3779B97F4A7C15ull;
		r->s[i] = gen_mix64(x);
	}
}

static uint64_t gen_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t gen_u64(gen_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = gen_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = gen_rotl(s[3], 45);
	return out;
}

/* Uniform in [0, 1), 53 random bits. */
static double gen_unif(gen_rng *r)
{
	return (double)(gen_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

static int gen_chance(gen_rng *r, double p)
{
	return gen_unif(r) < p;
}

/* Uniform integer in [0, n), n < 2^32; multiply-shift avoids modulo bias
 * worth caring about. */
static uint32_t gen_below(gen_rng *r, uint32_t n)
{
	return (uint32_t)(((gen_u64(r) >> 32) * (uint64_t)n) >> 32);
}

static uint32_t gen_range(gen_rng *r, uint32_t lo, uint32_t hi)
{
	return lo + gen_below(r, hi - lo + 1);
}

#define GEN_PICK(r, arr) ((arr)[gen_below((r), (uint32_t)GEN_N(arr))])

/* Determinism rule: never make two draws in one expression, e.g. as two
 * arguments of one call; C leaves their order unspecified and gcc and
 * clang really do differ. Draw into locals first. */

/* Standard normal via Box-Muller; one of the pair is dropped so a record's
 * draws never depend on an earlier record's leftovers. */
static double gen_normal(gen_rng *r)
{
	double u1 = 1.0 - gen_unif(r); /* (0, 1]: log() stays finite */
	double u2 = gen_unif(r);
	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static double gen_lognormal(gen_rng *r, double median, double sigma)
{
	return median * exp(sigma * gen_normal(r));
}

static double gen_exponential(gen_rng *r, double mean)
{
	return -log(1.0 - gen_unif(r)) * mean;
}

static double gen_pareto(gen_rng *r, double xm, double alpha)
{
	return xm / pow(1.0 - gen_unif(r), 1.0 / alpha);
}

/* Weight i of weights stride bytes apart: an array of doubles, or the
 * weight member of each row of a table. */
static double gen_weight(const double *w, size_t stride, size_t i)
{
	return *(const double *)(const void *)((const char *)w + i * stride);
}

/* Index drawn with probability weight[i] / sum(weight). */
static size_t gen_weighted_stride(gen_rng *r, const double *w, size_t stride, size_t n)
{
	double total = 0;
	for (size_t i = 0; i < n; i++)
		total += gen_weight(w, stride, i);
	double x = gen_unif(r) * total;
	for (size_t i = 0; i < n; i++) {
		if (x < gen_weight(w, stride, i))
			return i;
		x -= gen_weight(w, stride, i);
	}
	return n - 1;
}

static size_t gen_weighted(gen_rng *r, const double *w, size_t n)
{
	return gen_weighted_stride(r, w, sizeof *w, n);
}

/* A row of table (an array of structs with a double member weight), drawn
 * with probability weight / sum(weight). */
#define GEN_PICK_WEIGHTED(r, table) \
	(&(table)[gen_weighted_stride((r), &(table)[0].weight, sizeof((table)[0]), GEN_N(table))])

/* ------------------------------------------------------------------ */
/* Bounded string builder and JSON output helpers                     */
/* ------------------------------------------------------------------ */

/* Appends never write past cap; a clipped append sets overflow, which the
 * renderer reports as a failure instead of emitting a cut line. */
typedef struct gen_sb {
	char *p;
	size_t len, cap;
	int overflow;
} gen_sb;

static void gen_sb_init(gen_sb *b, char *mem, size_t cap)
{
	b->p = mem;
	b->len = 0;
	b->cap = cap;
	b->overflow = 0;
	mem[0] = '\0';
}

static void gen_put(gen_sb *b, const char *s, size_t n)
{
	if (n > b->cap - 1 - b->len) {
		n = b->cap - 1 - b->len;
		b->overflow = 1;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void gen_puts(gen_sb *b, const char *s)
{
	gen_put(b, s, strlen(s));
}

static void gen_putc(gen_sb *b, char c)
{
	gen_put(b, &c, 1);
}

static void gen_put_u64(gen_sb *b, uint64_t v)
{
	char t[24];
	int i = (int)sizeof t;
	do {
		t[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	gen_put(b, t + i, sizeof t - (size_t)i);
}

static void gen_put_u64_pad(gen_sb *b, uint64_t v, int width)
{
	char t[24];
	int i = (int)sizeof t;
	do {
		t[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v || (int)sizeof t - i < width);
	gen_put(b, t + i, sizeof t - (size_t)i);
}

/* Non-negative v with a fixed number of decimals (0..6), rounded. Own code
 * rather than printf so the output never depends on the locale. */
static void gen_put_fixed(gen_sb *b, double v, int decimals)
{
	static const uint64_t scale[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
	uint64_t q = (uint64_t)(v * (double)scale[decimals] + 0.5);
	gen_put_u64(b, q / scale[decimals]);
	if (decimals > 0) {
		gen_putc(b, '.');
		gen_put_u64_pad(b, q % scale[decimals], decimals);
	}
}

static void gen_put_hex(gen_sb *b, uint64_t v, int digits)
{
	static const char hex[] = "0123456789abcdef";
	char t[16];
	for (int i = digits - 1; i >= 0; i--) {
		t[i] = hex[v & 15];
		v >>= 4;
	}
	gen_put(b, t, (size_t)digits);
}

static void gen_put_uuid(gen_sb *b, gen_rng *r)
{
	/* RFC 4122 version 4 layout. */
	uint64_t hi = gen_u64(r), lo = gen_u64(r);
	hi = (hi & ~0xF000ull) | 0x4000ull;
	lo = (lo & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;
	gen_put_hex(b, hi >> 32, 8);
	gen_putc(b, '-');
	gen_put_hex(b, (hi >> 16) & 0xFFFF, 4);
	gen_putc(b, '-');
	gen_put_hex(b, hi & 0xFFFF, 4);
	gen_putc(b, '-');
	gen_put_hex(b, lo >> 48, 4);
	gen_putc(b, '-');
	gen_put_hex(b, lo & 0xFFFFFFFFFFFFull, 12);
}

/* Decodes one UTF-8 sequence; returns its length, or 0 if invalid
 * (overlong, surrogate, > U+10FFFF, truncated). */
static int gen_utf8_decode(const unsigned char *p, const unsigned char *end, uint32_t *cp)
{
	unsigned c = p[0];
	int n;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xC2 && c <= 0xDF) {
		n = 2, v = c & 0x1F, min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3, v = c & 0x0F, min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (end - p < n)
		return 0;
	for (int i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return n;
}

static void gen_put_u16esc(gen_sb *b, uint32_t unit)
{
	gen_put(b, "\\u", 2);
	gen_put_hex(b, unit, 4);
}

/* Writes s as the inside of a JSON string. Control characters always
 * become escapes (\n, \t, \u00XX), so stack traces stay on one line. With
 * esc_unicode, every non-ASCII code point becomes \uXXXX (a surrogate pair
 * above U+FFFF), the way Python's json.dumps writes by default. */
static void gen_put_jesc(gen_sb *b, const char *s, int esc_unicode)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + strlen(s);
	while (p < end) {
		const unsigned char *run = p;
		while (p < end && *p >= 0x20 && *p != '"' && *p != '\\' && (*p < 0x80 || !esc_unicode))
			p++;
		gen_put(b, (const char *)run, (size_t)(p - run));
		if (p == end)
			break;
		unsigned c = *p;
		if (c == '"') {
			gen_put(b, "\\\"", 2);
		} else if (c == '\\') {
			gen_put(b, "\\\\", 2);
		} else if (c == '\n') {
			gen_put(b, "\\n", 2);
		} else if (c == '\t') {
			gen_put(b, "\\t", 2);
		} else if (c == '\r') {
			gen_put(b, "\\r", 2);
		} else if (c < 0x20) {
			gen_put_u16esc(b, c);
		} else {
			uint32_t cp;
			int n = gen_utf8_decode(p, end, &cp);
			if (n == 0) { /* never produced by our tables; keep JSON valid */
				cp = 0xFFFD;
				n = 1;
			}
			if (cp >= 0x10000) {
				cp -= 0x10000;
				gen_put_u16esc(b, 0xD800 + (cp >> 10));
				gen_put_u16esc(b, 0xDC00 + (cp & 0x3FF));
			} else {
				gen_put_u16esc(b, cp);
			}
			p += n;
			continue;
		}
		p++;
	}
}

/* `"key":` preceded by a comma unless it opens an object or a comma is
 * already there (optional fields are rendered as `,"key":value` pieces). */
static void gen_jkey(gen_sb *b, const char *key)
{
	if (b->len > 0 && b->p[b->len - 1] != '{' && b->p[b->len - 1] != ',')
		gen_putc(b, ',');
	gen_putc(b, '"');
	gen_puts(b, key);
	gen_put(b, "\":", 2);
}

static void gen_jstr(gen_sb *b, const char *key, const char *val, int esc_unicode)
{
	gen_jkey(b, key);
	gen_putc(b, '"');
	gen_put_jesc(b, val, esc_unicode);
	gen_putc(b, '"');
}

static void gen_jint(gen_sb *b, const char *key, uint64_t v)
{
	gen_jkey(b, key);
	gen_put_u64(b, v);
}

static void gen_jfixed(gen_sb *b, const char *key, double v, int decimals)
{
	gen_jkey(b, key);
	gen_put_fixed(b, v, decimals);
}

/* ------------------------------------------------------------------ */
/* Time formatting                                                    */
/* ------------------------------------------------------------------ */

/* RFC 3339 UTC with 0, 3 or 6 fractional digits; t_us >= 0. The date
 * comes from core/clock's integer arithmetic, not the C library's gmtime. */
static void gen_put_iso(gen_sb *b, int64_t t_us, int frac_digits)
{
	int64_t secs = t_us / 1000000, us = t_us % 1000000;
	int64_t y;
	unsigned mo, d;
	vg_clock_civil_from_days(secs / 86400, &y, &mo, &d);
	int64_t sod = secs % 86400;
	gen_put_u64_pad(b, (uint64_t)y, 4);
	gen_putc(b, '-');
	gen_put_u64_pad(b, mo, 2);
	gen_putc(b, '-');
	gen_put_u64_pad(b, d, 2);
	gen_putc(b, 'T');
	gen_put_u64_pad(b, (uint64_t)(sod / 3600), 2);
	gen_putc(b, ':');
	gen_put_u64_pad(b, (uint64_t)(sod / 60 % 60), 2);
	gen_putc(b, ':');
	gen_put_u64_pad(b, (uint64_t)(sod % 60), 2);
	if (frac_digits == 3) {
		gen_putc(b, '.');
		gen_put_u64_pad(b, (uint64_t)(us / 1000), 3);
	} else if (frac_digits == 6) {
		gen_putc(b, '.');
		gen_put_u64_pad(b, (uint64_t)us, 6);
	}
	gen_putc(b, 'Z');
}

/* `"key":"2026-11-01T00:00:00.000Z"`, as gen_put_iso writes it. */
static void gen_jiso(gen_sb *b, const char *key, int64_t t_us, int frac_digits)
{
	gen_jkey(b, key);
	gen_putc(b, '"');
	gen_put_iso(b, t_us, frac_digits);
	gen_putc(b, '"');
}

/* ------------------------------------------------------------------ */
/* Vocabulary: levels, categories, styles, services                   */
/* ------------------------------------------------------------------ */

typedef enum gen_level {
	GEN_TRACE,
	GEN_DEBUG,
	GEN_INFO,
	GEN_WARNING,
	GEN_ERROR,
	GEN_CRITICAL,
	GEN_NLEVELS
} gen_level;

static const char *const gen_level_names[GEN_NLEVELS] = {
	"TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL",
};

typedef enum gen_cat {
	GEN_CAT_APPLICATION,
	GEN_CAT_SECURITY,
	GEN_CAT_ACCESS,
	GEN_CAT_DATABASE,
	GEN_NCATS
} gen_cat;

static const char *const gen_cat_names[GEN_NCATS] = {
	"application", "security", "access", "database",
};

static const char *const gen_cat_capitalised[GEN_NCATS] = {
	"Application", "Security", "Access", "Database",
};

/* Two aliases per category (access and application have only one each,
 * repeated so the table stays rectangular). */
static const char *const gen_cat_aliases[GEN_NCATS][2] = {
	{"app", "app"}, {"auth", "audit"}, {"http", "http"}, {"db", "sql"},
};

/* The ground truth a downstream retention policy should arrive at. */
static int gen_retention_days(gen_cat cat, gen_level level)
{
	switch (cat) {
	case GEN_CAT_SECURITY:
		return 365;
	case GEN_CAT_ACCESS:
	case GEN_CAT_DATABASE:
		return 90;
	default:
		break;
	}
	switch (level) {
	case GEN_WARNING:
		return 90;
	case GEN_ERROR:
		return 180;
	case GEN_CRITICAL:
		return 365;
	default:
		return 30;
	}
}

typedef enum gen_style {
	GEN_STYLE_PYTHON, /* logging + python-json-logger */
	GEN_STYLE_PINO,   /* node */
	GEN_STYLE_ZAP,    /* go */
	GEN_STYLE_JAVA,   /* logback ECS encoder, dotted or nested keys */
	GEN_STYLE_SYSLOG  /* C daemon with syslog severities */
} gen_style;

/* Only pino and ECS have a TRACE level; elsewhere TRACE becomes DEBUG
 * before rendering so the truth file matches what the line says. */
static gen_level gen_style_clamp(gen_style st, gen_level lv)
{
	if (lv == GEN_TRACE && st != GEN_STYLE_PINO && st != GEN_STYLE_JAVA)
		return GEN_DEBUG;
	return lv;
}

enum {
	GEN_SVC_ORDERS,
	GEN_SVC_INVENTORY,
	GEN_SVC_WEB,
	GEN_SVC_NOTIFY,
	GEN_SVC_PAYMENTS,
	GEN_SVC_SEARCH,
	GEN_SVC_AUTH,
	GEN_SVC_USERS,
	GEN_SVC_DBPROXY,
	GEN_NSVC
};

typedef struct gen_service {
	const char *name;
	gen_style style;
	const char *version;
	const char *rs_hash; /* Kubernetes replica-set hash in pod names */
	/* Application loggers; the first is also the stack-frame class/file. */
	const char *app_loggers[2];
	/* One-line INFO messages about the service's own business. */
	const char *app_info[4];
	/* A short ERROR message; kept short so a stack trace fits in the line. */
	const char *app_error;
} gen_service;

static const gen_service gen_services[GEN_NSVC] = {
	{"orders", GEN_STYLE_PYTHON, "3.12.0", "7d9f8b6c5",
	 {"orders.service", "orders.worker"},
	 {"order {id} created", "order {id} shipped ({n} items)",
	  "order {id} cancelled by {name}", "invoice generated for order {id}"},
	 "order {id} failed: timeout"},
	{"inventory", GEN_STYLE_PYTHON, "2.4.1", "5c6d7f9b8",
	 {"inventory.worker", "inventory.service"},
	 {"stock reserved for sku {sku} (qty {n})", "restock scheduled for sku {sku}",
	  "imported {n} products from supplier feed", "stock level for sku {sku} is {n}"},
	 "stock sync failed for {sku}"},
	{"web-frontend", GEN_STYLE_PINO, "5.0.3", "6b8c9d7f4",
	 {"frontend.ssr", "frontend.cache"},
	 {"bundle manifest loaded ({n} chunks)", "feature flag {flag} enabled for {name}",
	  "experiment {flag} assigned variant B", "prefetched {n} product tiles"},
	 "render failed for page {hex8}"},
	{"notifications", GEN_STYLE_PINO, "1.9.7", "84f6d5c7b",
	 {"notifications.mailer", "notifications.scheduler"},
	 {"sent {n} emails", "welcome email sent to {name}",
	  "push notification delivered to {name}", "digest queued for {n} recipients"},
	 "failed to send email to {name}"},
	{"payments", GEN_STYLE_ZAP, "4.2.0", "67c8b9d5f",
	 {"payments.processor", "payments.worker"},
	 {"payment {id} captured ({amt} EUR)", "refund {id} issued for order {id}",
	  "payout batch {id} settled", "currency rates refreshed ({n} pairs)"},
	 "capture failed for payment {id}"},
	{"search", GEN_STYLE_ZAP, "2.11.4", "9f7b6d8c4",
	 {"search.indexer", "search.ranker"},
	 {"indexed {n} documents in {sec}s", "index products-v{n} swapped in",
	  "synonyms reloaded ({n} entries)", "ranking model v{n} loaded"},
	 "indexing batch {id} failed"},
	/* The identity service also logs plain housekeeping; its loggers stay
	 * clear of security words so application stays a clean class. */
	{"auth-service", GEN_STYLE_JAVA, "7.3.2", "5f4c7b9d6",
	 {"com.acme.platform.Scheduler", "com.acme.platform.Bootstrap"},
	 {"scheduled job {job} finished in {sec}s", "worker threads resized to {n}",
	  "metrics flushed ({n} series)", "warmup finished in {sec}s"},
	 "job {id} failed after {att} attempts"},
	{"user-service", GEN_STYLE_JAVA, "3.0.9", "7b5d9c6f8",
	 {"com.acme.users.UserService", "com.acme.users.ProfileExporter"},
	 {"profile {id} updated by {name}", "avatar processed for {name}",
	  "exported {n} profiles to warehouse", "profile {id} created"},
	 "profile export {id} failed"},
	/* db-proxy only logs database events; no application texts. */
	{"db-proxy", GEN_STYLE_SYSLOG, "1.21.0", "c4d7f8b69", {NULL, NULL}, {NULL}, NULL},
};

/* Optional fields, in the order they are tried (most useful first). */
enum {
	GEN_OPT_USER,       /* non-ASCII user name that found no slot in the text */
	GEN_OPT_REQUEST_ID,
	GEN_OPT_USER_ID,
	GEN_OPT_TRACE_ID,
	GEN_OPT_SPAN_ID,
	GEN_OPT_HOST,
	GEN_OPT_PID,
	GEN_OPT_THREAD,
	GEN_OPT_VERSION,
	GEN_OPT_REGION,
	GEN_OPT_CLIENT_IP,
	GEN_OPT_USER_AGENT,
	GEN_NOPTS
};

/* ------------------------------------------------------------------ */
/* The event: everything needed to render one line, no randomness left */
/* ------------------------------------------------------------------ */

enum { GEN_HTTP_NONE, GEN_HTTP_NESTED, GEN_HTTP_PINO, GEN_HTTP_GO_FLAT };

#define GEN_MAX_FRAMES 4

typedef struct gen_event {
	uint64_t seq;
	int dropped;       /* a silent incident: generated, not written */
	char event_id[18]; /* "e" + 16 hex */
	int64_t t_us;      /* event time, epoch microseconds */
	int svc;
	gen_cat cat;
	gen_level level; /* canonical, already clamped to the style */

	int cat_present;
	const char *cat_key;   /* "category" or "log_type" */
	const char *cat_value; /* canonical, capitalised or alias */

	int java_nested;     /* ECS nested objects instead of dotted keys */
	int syslog_numeric;  /* severity as a number, else as a keyword */
	int syslog_severity; /* 0..7 */
	const char *syslog_keyword;

	const char *logger;
	char msg[256];   /* raw UTF-8, escaped at render time */
	int esc_unicode; /* render non-ASCII as \u escapes */

	int http_form;
	const char *method;
	char path[128];
	int status;
	double dur_ms;

	int has_db_ms;
	double db_ms;

	int has_exc;
	const char *exc_type;
	const char *exc_msg;
	char exc_head[96];  /* first line of the trace */
	char exc_tail[96];  /* last line, after the frames (may be empty) */
	int exc_drop_head;  /* when short of room, drop head (else tail) */
	int nframes;
	char frames[GEN_MAX_FRAMES][112];

	/* Optional fields: avail says which make sense for this record, want
	 * which were picked by chance; the renderer adds wanted ones that fit
	 * and pads with the rest to reach GEN_LINE_MIN. */
	unsigned avail, want;
	const char *user; /* GEN_OPT_USER */
	char request_id[40];
	uint32_t user_id;
	char trace_id[40];
	char span_id[24];
	char host[48];
	uint32_t pid;
	char thread[40];
	const char *region;
	char client_ip[20];
	const char *user_agent;
} gen_event;

/* ------------------------------------------------------------------ */
/* State and distribution knobs                                       */
/* ------------------------------------------------------------------ */

/* Distribution knobs. Incidents (--incident) change the per-service ones
 * for records inside their time range; see gen_mix_at(). */
typedef struct gen_mix {
	double cat_weight[GEN_NCATS];
	double p_cat_present;
	double p_4xx;          /* per access record */
	double p_latency_tail; /* share of requests with a Pareto slowdown */
	double p_raw_utf8, p_escaped_utf8;
	/* Per service; all zero in healthy traffic. */
	double p_5xx[GEN_NSVC];    /* extra 5xx, drawn per request */
	double slow_ms[GEN_NSVC];  /* median of a delay added to every request */
	double p_authfail[GEN_NSVC]; /* share of security records that are
				      * failed logins */
	int silent[GEN_NSVC];      /* records dropped, not written */
} gen_mix;

/* Healthy traffic returns a 5xx for about one request in GEN_5XX_GAP per
 * service (0.025%, a quarter of a 99.9% SLO's budget), spread out: the
 * gap to the next one is drawn in [0.5, 1.5) x GEN_5XX_GAP requests of
 * that service. Independent draws would put two 5xx into the first 2000
 * requests of some service in a good share of streams, and a young
 * stream's 3d/6h burn-rate windows hold only those requests. */
#define GEN_5XX_GAP 4000.0

typedef enum gen_incident_kind {
	GEN_INC_5XX,      /* 8% of the service's requests fail with a 5xx */
	GEN_INC_LATENCY,  /* every request of the service ~600 ms slower */
	GEN_INC_AUTH,     /* 25% of its security records are failed logins */
	GEN_INC_SILENT,   /* the service logs nothing (records dropped) */
	GEN_INC_SLOWBURN, /* 0.75% of the service's requests fail with a 5xx */
	GEN_NINC
} gen_incident_kind;

static const char *const gen_incident_names[GEN_NINC] = {"5xx", "latency", "auth", "silent", "slowburn"};

typedef struct gen_incident {
	gen_incident_kind kind;
	int svc;
	int64_t from_us, to_us; /* event time offsets from the stream start */
} gen_incident;

#define GEN_MAX_INCIDENTS 16

typedef struct gen_state {
	uint64_t seed;
	uint64_t id_key;    /* seed-dependent offset for event ids */
	uint64_t rng_base;  /* base of the per-record content streams */
	gen_rng clock;      /* inter-arrival times: own stream, so content
			     * changes (incidents) never shift timestamps */
	int64_t start_us;
	double elapsed_us;  /* cumulative inter-arrival time */
	double mean_gap_us;
	gen_mix mix;
	/* Healthy 5xx schedule: requests seen per service, and the request
	 * number of the next 5xx. The only content that depends on earlier
	 * records. */
	uint64_t http_n[GEN_NSVC], next_5xx[GEN_NSVC];
	gen_incident incidents[GEN_MAX_INCIDENTS];
	size_t n_incidents;
	gen_mix scratch; /* the mix with incidents applied */
} gen_state;

static void gen_state_init(gen_state *st, uint64_t seed, uint64_t start_ms)
{
	static const gen_mix base = {
		.cat_weight = {[GEN_CAT_APPLICATION] = 0.42,
			       [GEN_CAT_SECURITY] = 0.03,
			       [GEN_CAT_ACCESS] = 0.48,
			       [GEN_CAT_DATABASE] = 0.07},
		.p_cat_present = 0.80,
		.p_4xx = 0.05,
		.p_latency_tail = 0.01,
		.p_raw_utf8 = 0.03,
		.p_escaped_utf8 = 0.02,
	};
	memset(st, 0, sizeof *st);
	st->seed = seed;
	st->id_key = gen_mix64(seed ^ 0x5EEDC0DE1D5EEDull);
	st->rng_base = gen_mix64(seed + 0x243F6A8885A308D3ull);
	gen_rng_seed(&st->clock, gen_mix64(seed ^ 0x13198A2E03707344ull));
	st->start_us = (int64_t)start_ms * 1000;
	st->mean_gap_us = 1000.0;
	st->mix = base;
	for (int s = 0; s < GEN_NSVC; s++) {
		double u = (double)(gen_mix64(seed * 31 + (uint64_t)s + 0xA5A5ull) >> 11) * (1.0 / 9007199254740992.0);
		st->next_5xx[s] = (uint64_t)(GEN_5XX_GAP * (0.5 + u));
	}
}

/* The knobs in force at t_us: the base mix, or a copy in *scratch with
 * the incidents active at t_us applied. */
static const gen_mix *gen_mix_at(const gen_state *st, int64_t t_us, gen_mix *scratch)
{
	int64_t off = t_us - st->start_us;
	const gen_mix *m = &st->mix;
	for (size_t i = 0; i < st->n_incidents; i++) {
		const gen_incident *inc = &st->incidents[i];
		if (off < inc->from_us || off >= inc->to_us)
			continue;
		if (m != scratch) {
			*scratch = st->mix;
			m = scratch;
		}
		switch (inc->kind) {
		case GEN_INC_5XX:
			scratch->p_5xx[inc->svc] = 0.08;
			break;
		case GEN_INC_SLOWBURN:
			scratch->p_5xx[inc->svc] = 0.0075;
			break;
		case GEN_INC_LATENCY:
			scratch->slow_ms[inc->svc] = 600.0;
			break;
		case GEN_INC_AUTH:
			scratch->p_authfail[inc->svc] = 0.25;
			break;
		default:
			scratch->silent[inc->svc] = 1;
			break;
		}
	}
	return m;
}

/* Per-record generation context. */
typedef struct gen_ctx {
	gen_rng rng;
	gen_state *st;
	gen_event *ev;
	const gen_mix *mix;
	int unicode_names; /* names come from the non-ASCII pool */
	const char *name;  /* the record's user name, drawn once */
	int name_used;     /* the name appeared in the message */
	int quote;         /* prefer a template variant with quotes */
} gen_ctx;

/* ------------------------------------------------------------------ */
/* Content pools                                                      */
/* ------------------------------------------------------------------ */

static const char *const gen_ascii_names[] = {
	"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
	"ivan", "judy", "mallory", "oscar", "peggy", "rupert", "sybil", "trent",
	"victor", "walter", "yuki", "zane",
};

static const char *const gen_unicode_names[] = {
	"José", "Zoë", "東京", "Ŝ", "Renée", "Søren", "Łukasz", "Ольга",
	"李雷", "kai😀", "Ana 😀", "Đorđe",
};

static const char *const gen_roles[] = {
	"admin", "billing-admin", "support", "editor", "auditor",
};

static const char *const gen_jobs[] = {
	"nightly-report", "reindex-catalog", "sync-stock", "send-digest",
	"purge-tmp", "rollup-metrics",
};

static const char *const gen_flags[] = {
	"new-checkout", "fast-search", "dark-mode", "one-click-buy",
};

static const char *const gen_key_prefixes[] = {
	"product", "order", "cart", "profile", "price",
};

static const char *const gen_terms[] = {
	"red+shoes", "laptop", "coffee+grinder", "usb-c+cable", "running+shoes",
	"desk+lamp", "caf%C3%A9", "t-shirt", "winter+jacket",
};

static const char *const gen_prefixes[] = {"lap", "cof", "run", "des", "jac"};

static const char *const gen_regions[] = {"eu-west-1", "eu-west-1", "us-east-1"};

static const char *const gen_user_agents[] = {
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15",
	"Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
	"curl/8.5.0",
	"python-requests/2.32.3",
	"okhttp/4.12.0",
	"Go-http-client/1.1",
	"AcmeShop/4.18.0 (Android 14)",
};

/* SQL uses $n placeholders; Java (JDBC) records turn them into '?'. */
static const char *const gen_sql[] = {
	"SELECT id, total FROM orders WHERE user_id = $1",
	"UPDATE inventory SET qty = qty - 1 WHERE sku = $1",
	"SELECT * FROM products WHERE id = ANY($1)",
	"INSERT INTO payments (order_id, amount, currency) VALUES ($1, $2, $3)",
	"SELECT u.id, u.email FROM users u JOIN memberships m ON m.user_id = u.id WHERE m.org_id = $1",
	"DELETE FROM sessions WHERE expires_at < now()",
	"SELECT count(*) FROM order_items WHERE order_id = $1",
	"UPDATE orders SET status = $1, updated_at = now() WHERE id = $2",
};

/* ------------------------------------------------------------------ */
/* Template expansion                                                 */
/* ------------------------------------------------------------------ */

static const char *gen_name(gen_ctx *c)
{
	c->name_used = 1;
	return c->name;
}

static void gen_put_ipv4(gen_sb *b, gen_rng *r)
{
	/* Private and documentation ranges only. */
	static const char *const nets[] = {"10.", "10.", "10.", "203.0.113.", "198.51.100.", "192.0.2."};
	const char *net = GEN_PICK(r, nets);
	gen_puts(b, net);
	if (net[3] == '\0') { /* "10." */
		gen_put_u64(b, gen_range(r, 0, 255));
		gen_putc(b, '.');
		gen_put_u64(b, gen_range(r, 0, 255));
		gen_putc(b, '.');
	}
	gen_put_u64(b, gen_range(r, 1, 254));
}

static void gen_put_sql(gen_sb *b, const char *sql, int jdbc)
{
	for (const char *p = sql; *p; p++) {
		if (jdbc && p[0] == '$' && p[1] >= '1' && p[1] <= '9') {
			gen_putc(b, '?');
			p++;
		} else {
			gen_putc(b, *p);
		}
	}
}

/* Database durations: whole ms once they are big, else one decimal, and
 * the same text in the message and in the duration_ms field. */
static void gen_put_db_ms(gen_sb *b, double ms)
{
	gen_put_fixed(b, ms, ms >= 100 ? 0 : 1);
}

/* Expands {token} placeholders; see the switch for the vocabulary. */
static void gen_expand(gen_ctx *c, gen_sb *b, const char *t)
{
	gen_rng *r = &c->rng;
	while (*t) {
		const char *open = strchr(t, '{');
		if (!open) {
			gen_puts(b, t);
			return;
		}
		gen_put(b, t, (size_t)(open - t));
		const char *close = strchr(open, '}');
		if (!close) { /* not a placeholder */
			gen_puts(b, open);
			return;
		}
		size_t n = (size_t)(close - open - 1);
		const char *k = open + 1;
#define GEN_IS(s) (n == sizeof(s) - 1 && memcmp(k, s, n) == 0)
		if (GEN_IS("id"))
			gen_put_u64(b, gen_range(r, 1000, 999999));
		else if (GEN_IS("n"))
			gen_put_u64(b, gen_range(r, 2, 48));
		else if (GEN_IS("cnt"))
			gen_put_u64(b, gen_range(r, 40, 900));
		else if (GEN_IS("big"))
			gen_put_u64(b, gen_range(r, 1001, 9999));
		else if (GEN_IS("att"))
			gen_put_u64(b, gen_range(r, 2, 5));
		else if (GEN_IS("lock"))
			gen_put_u64(b, gen_chance(r, 0.8) ? 5 : 10);
		else if (GEN_IS("pct"))
			gen_put_u64(b, gen_range(r, 12, 60));
		else if (GEN_IS("max"))
			gen_put_u64(b, gen_chance(r, 0.6) ? 50 : 100);
		else if (GEN_IS("page"))
			gen_put_u64(b, gen_range(r, 1, 12));
		else if (GEN_IS("cid"))
			gen_put_u64(b, gen_range(r, 100, 999));
		else if (GEN_IS("name"))
			gen_puts(b, gen_name(c));
		else if (GEN_IS("role"))
			gen_puts(b, GEN_PICK(r, gen_roles));
		else if (GEN_IS("job"))
			gen_puts(b, GEN_PICK(r, gen_jobs));
		else if (GEN_IS("flag"))
			gen_puts(b, GEN_PICK(r, gen_flags));
		else if (GEN_IS("term"))
			gen_puts(b, GEN_PICK(r, gen_terms));
		else if (GEN_IS("pfx"))
			gen_puts(b, GEN_PICK(r, gen_prefixes));
		else if (GEN_IS("ip")) /* the record's client, as in client_ip */
			gen_puts(b, c->ev->client_ip);
		else if (GEN_IS("sku")) {
			gen_puts(b, "SKU-");
			gen_put_u64_pad(b, gen_range(r, 0, 99999), 5);
		} else if (GEN_IS("key")) {
			gen_puts(b, GEN_PICK(r, gen_key_prefixes));
			gen_putc(b, ':');
			gen_put_hex(b, gen_u64(r), 8);
		} else if (GEN_IS("hex8"))
			gen_put_hex(b, gen_u64(r), 8);
		else if (GEN_IS("hex24")) {
			gen_put_hex(b, gen_u64(r), 16);
			gen_put_hex(b, gen_u64(r), 8);
		} else if (GEN_IS("uuid"))
			gen_put_uuid(b, r);
		else if (GEN_IS("sec"))
			gen_put_fixed(b, gen_lognormal(r, 4.0, 1.0), 1);
		else if (GEN_IS("ms"))
			gen_put_fixed(b, gen_lognormal(r, 0.8, 0.8), 1);
		else if (GEN_IS("amt"))
			gen_put_fixed(b, gen_lognormal(r, 45.0, 0.9), 2);
		else if (GEN_IS("svc"))
			gen_puts(b, gen_services[c->ev->svc].name);
		else if (GEN_IS("sql"))
			gen_put_sql(b, GEN_PICK(r, gen_sql),
				    gen_services[c->ev->svc].style == GEN_STYLE_JAVA);
		else if (GEN_IS("dbms"))
			gen_put_db_ms(b, c->ev->db_ms);
		else
			gen_put(b, open, n + 2); /* unknown: keep literally */
#undef GEN_IS
		t = close + 1;
	}
}

static void gen_set_msg(gen_ctx *c, const char *tmpl)
{
	gen_sb b;
	gen_sb_init(&b, c->ev->msg, sizeof c->ev->msg);
	gen_expand(c, &b, tmpl);
}

/* ------------------------------------------------------------------ */
/* Category: access                                                   */
/* ------------------------------------------------------------------ */

typedef struct gen_endpoint {
	int svc; /* -1: any HTTP-serving service */
	const char *method;
	const char *path;
	const char *query; /* appended with probability p_query */
	double p_query;
	double median_ms, sigma;
	double weight;
} gen_endpoint;

static const gen_endpoint gen_endpoints[] = {
	{GEN_SVC_ORDERS, "GET", "/api/v1/orders/{id}", "?expand=items", 0.3, 25, 0.6, 8},
	{GEN_SVC_ORDERS, "GET", "/api/v1/orders/{id}/items", NULL, 0, 35, 0.7, 5},
	{GEN_SVC_ORDERS, "POST", "/api/v1/orders", NULL, 0, 70, 0.8, 4},
	{GEN_SVC_ORDERS, "GET", "/api/v1/orders", "?status=open&page={page}", 1, 45, 0.7, 3},
	{GEN_SVC_INVENTORY, "GET", "/api/v1/products/{hex24}", NULL, 0, 18, 0.5, 9},
	{GEN_SVC_INVENTORY, "PUT", "/api/v1/products/{hex24}/stock", NULL, 0, 45, 0.7, 2},
	{GEN_SVC_INVENTORY, "GET", "/api/v1/warehouses/{id}/stock", "?sku={sku}", 0.5, 50, 0.8, 2},
	{GEN_SVC_WEB, "GET", "/", NULL, 0, 20, 0.6, 6},
	{GEN_SVC_WEB, "GET", "/static/js/main.{hex8}.js", NULL, 0, 15, 0.5, 6},
	{GEN_SVC_WEB, "GET", "/api/v1/cart/{uuid}", NULL, 0, 30, 0.7, 5},
	{GEN_SVC_WEB, "POST", "/api/v1/cart/{uuid}/items", NULL, 0, 40, 0.7, 2},
	{GEN_SVC_NOTIFY, "POST", "/api/v1/notifications", NULL, 0, 45, 0.8, 3},
	{GEN_SVC_NOTIFY, "GET", "/api/v1/notifications/{id}", NULL, 0, 20, 0.6, 2},
	{GEN_SVC_PAYMENTS, "POST", "/api/v2/payments", NULL, 0, 80, 0.8, 4},
	{GEN_SVC_PAYMENTS, "POST", "/api/v2/payments/{id}/refund", NULL, 0, 75, 0.8, 1},
	{GEN_SVC_PAYMENTS, "GET", "/api/v2/payments/{id}", NULL, 0, 22, 0.6, 4},
	{GEN_SVC_SEARCH, "GET", "/api/v1/search", "?q={term}&page={page}", 1, 65, 0.8, 8},
	{GEN_SVC_SEARCH, "GET", "/api/v1/suggest", "?prefix={pfx}", 1, 15, 0.5, 5},
	{GEN_SVC_AUTH, "POST", "/oauth2/token", NULL, 0, 40, 0.6, 5},
	{GEN_SVC_AUTH, "GET", "/.well-known/jwks.json", NULL, 0, 15, 0.5, 2},
	{GEN_SVC_USERS, "GET", "/api/v1/users/{uuid}", NULL, 0, 20, 0.6, 6},
	{GEN_SVC_USERS, "PATCH", "/api/v1/users/{id}/preferences", NULL, 0, 35, 0.7, 2},
	{GEN_SVC_USERS, "GET", "/api/v1/users/{id}/addresses", NULL, 0, 30, 0.6, 2},
	{-1, "GET", "/health", NULL, 0, 15, 0.5, 6},
};

/* Status of a request to svc: a scheduled healthy 5xx (see GEN_5XX_GAP),
 * an incident's extra 5xx, a 4xx, or success. */
static int gen_http_status(gen_ctx *c, int svc, const char *method)
{
	static const int s5xx[] = {500, 500, 500, 500, 500, 502, 502, 503, 503, 504};
	static const int s4xx[] = {404, 404, 404, 404, 404, 404, 404, 404, 400, 400, 400, 400,
				   401, 401, 401, 403, 403, 409, 422, 429};
	gen_rng *r = &c->rng;
	gen_state *st = c->st;
	double u = gen_unif(r);
	double p5 = c->mix->p_5xx[svc];
	if (++st->http_n[svc] >= st->next_5xx[svc]) {
		double j = gen_unif(r);
		st->next_5xx[svc] += (uint64_t)(GEN_5XX_GAP * (0.5 + j));
		p5 = 1.0;
	}
	if (u < p5)
		return GEN_PICK(r, s5xx);
	if (u < p5 + c->mix->p_4xx)
		return GEN_PICK(r, s4xx);
	if (strcmp(method, "POST") == 0)
		return gen_chance(r, 0.85) ? 201 : 200;
	if (strcmp(method, "GET") == 0) {
		double v = gen_unif(r);
		return v < 0.92 ? 200 : v < 0.98 ? 304 : 302;
	}
	return 200;
}

static const char *gen_access_logger(gen_rng *r, int svc)
{
	switch (gen_services[svc].style) {
	case GEN_STYLE_PYTHON:
		return gen_chance(r, 0.7) ? "uvicorn.access" : "http.access";
	case GEN_STYLE_PINO:
		if (svc == GEN_SVC_WEB && gen_chance(r, 0.3))
			return "nginx.access";
		return gen_chance(r, 0.7) ? "express.access" : "http.access";
	case GEN_STYLE_ZAP:
		return gen_chance(r, 0.7) ? "gin.access" : "http.access";
	default:
		return gen_chance(r, 0.8) ? "com.acme.web.AccessLogFilter" : "http.access";
	}
}

static void gen_make_access(gen_ctx *c)
{
	gen_event *ev = c->ev;
	gen_rng *r = &c->rng;
	const gen_endpoint *ep = GEN_PICK_WEIGHTED(r, gen_endpoints);

	/* /health is served by everything that speaks HTTP (not db-proxy). */
	ev->svc = ep->svc >= 0 ? ep->svc : (int)gen_below(r, GEN_SVC_DBPROXY);
	ev->logger = gen_access_logger(r, ev->svc);
	ev->method = ep->method;

	gen_sb pb;
	gen_sb_init(&pb, ev->path, sizeof ev->path);
	gen_expand(c, &pb, ep->path);
	if (ep->query && gen_chance(r, ep->p_query))
		gen_expand(c, &pb, ep->query);

	/* Latency: lognormal body, plus a Pareto-scaled tail for ~1% of
	 * requests (GC pauses, lock waits, retries) capped at a minute. A
	 * latency incident adds a slow dependency's delay to every request;
	 * added, not multiplied, so every endpoint slows alike and the tail
	 * keeps its share. */
	double d = gen_lognormal(r, ep->median_ms, ep->sigma);
	if (gen_chance(r, c->mix->p_latency_tail))
		d *= gen_pareto(r, 4.0, 1.1);
	if (c->mix->slow_ms[ev->svc] > 0) {
		double extra = gen_lognormal(r, c->mix->slow_ms[ev->svc], 0.25);
		d += extra;
	}
	if (d > 60000.0)
		d = 60000.0;
	if (d < 0.05)
		d = 0.05;
	ev->dur_ms = d;
	ev->status = gen_http_status(c, ev->svc, ep->method);
	ev->level = ev->status >= 500 ? GEN_ERROR : GEN_INFO;

	gen_sb mb;
	gen_sb_init(&mb, ev->msg, sizeof ev->msg);
	gen_puts(&mb, ev->method);
	gen_putc(&mb, ' ');
	gen_puts(&mb, ev->path);
	gen_putc(&mb, ' ');
	gen_put_u64(&mb, (uint64_t)ev->status);
	gen_putc(&mb, ' ');
	gen_put_fixed(&mb, ev->dur_ms, 1);
	gen_puts(&mb, "ms");

	switch (gen_services[ev->svc].style) {
	case GEN_STYLE_PINO:
		ev->http_form = GEN_HTTP_PINO;
		break;
	case GEN_STYLE_ZAP:
		ev->http_form = gen_chance(r, 0.5) ? GEN_HTTP_NESTED : GEN_HTTP_GO_FLAT;
		break;
	default:
		ev->http_form = GEN_HTTP_NESTED;
		break;
	}
	ev->avail |= 1u << GEN_OPT_CLIENT_IP | 1u << GEN_OPT_USER_AGENT;
	if (strcmp(ep->path, "/health") == 0)
		ev->user_agent = "kube-probe/1.30";
}

/* ------------------------------------------------------------------ */
/* Category: security                                                 */
/* ------------------------------------------------------------------ */

enum { GEN_SEC_AUTHN, GEN_SEC_TOKEN, GEN_SEC_AUTHZ, GEN_SEC_AUDIT };

typedef struct gen_sec_event {
	const char *tmpl;
	const char *quoted; /* variant with quoted values, or NULL */
	gen_level level;
	int group;
	double weight;
} gen_sec_event;

/* Successes INFO, failures WARNING, lockouts ERROR, brute force CRITICAL.
 * A healthy fleet: failed logins are rare (a handful per service in five
 * minutes; the shipped AuthFailureSurge rule fires at 5 times a service's
 * last hour and at least 50 in 5 minutes), lockouts
 * and brute force rarer still. */
static const gen_sec_event gen_sec_events[] = {
	{"login succeeded for user {name}", NULL, GEN_INFO, GEN_SEC_AUTHN, 35},
	{"user {name} logged out", NULL, GEN_INFO, GEN_SEC_AUTHN, 7},
	{"token issued to client {cid} (scope=orders:read)", NULL, GEN_INFO, GEN_SEC_TOKEN, 5},
	{"password changed for user {name}", NULL, GEN_INFO, GEN_SEC_AUDIT, 5},
	{"role {role} granted to user {name}", "role \"{role}\" granted to user \"{name}\"", GEN_INFO,
	 GEN_SEC_AUDIT, 3},
	{"Authentication failed for user {name} from {ip}", NULL, GEN_WARNING, GEN_SEC_AUTHN, 0.1},
	{"invalid token presented by client {cid}", NULL, GEN_WARNING, GEN_SEC_TOKEN, 3},
	{"permission denied: user {name} lacks role {role}",
	 "permission denied: user \"{name}\" lacks role \"{role}\"", GEN_WARNING, GEN_SEC_AUTHZ, 3},
	{"account locked after {lock} failed attempts for user {name}", NULL, GEN_ERROR, GEN_SEC_AUTHN, 0.02},
	{"token signature verification failed for client {cid}", NULL, GEN_ERROR, GEN_SEC_TOKEN, 0.3},
	{"brute force detected from {ip} ({cnt} failed logins in 60s)", NULL, GEN_CRITICAL,
	 GEN_SEC_AUTHN, 0.01},
};

/* The failed-login template, for auth incidents. */
#define GEN_SEC_AUTHFAIL 5

static const char *gen_security_logger(gen_style st, int group)
{
	static const char *const plain[] = {"auth", "oauth2.token", "iam.policy", "security.audit"};
	static const char *const java[] = {
		"com.acme.auth.LoginController", "com.acme.auth.TokenService",
		"com.acme.iam.PolicyEnforcer", "com.acme.security.AuditLogger",
	};
	return st == GEN_STYLE_JAVA ? java[group] : plain[group];
}

static void gen_make_security(gen_ctx *c)
{
	static const double svc_w[GEN_NSVC] = {
		[GEN_SVC_AUTH] = 40, [GEN_SVC_USERS] = 25, [GEN_SVC_WEB] = 12,
		[GEN_SVC_PAYMENTS] = 9, [GEN_SVC_ORDERS] = 7, [GEN_SVC_SEARCH] = 7,
	};
	gen_event *ev = c->ev;
	gen_rng *r = &c->rng;
	const gen_sec_event *se = GEN_PICK_WEIGHTED(r, gen_sec_events);

	ev->svc = (int)gen_weighted(r, svc_w, GEN_NSVC);
	if (c->mix->p_authfail[ev->svc] > 0 && gen_chance(r, c->mix->p_authfail[ev->svc]))
		se = &gen_sec_events[GEN_SEC_AUTHFAIL];
	ev->level = se->level;
	ev->logger = gen_security_logger(gen_services[ev->svc].style, se->group);
	gen_set_msg(c, c->quote && se->quoted ? se->quoted : se->tmpl);
	ev->avail |= 1u << GEN_OPT_CLIENT_IP | 1u << GEN_OPT_USER_AGENT;
}

/* ------------------------------------------------------------------ */
/* Category: database                                                 */
/* ------------------------------------------------------------------ */

enum { GEN_DB_QUERY, GEN_DB_POOL };
enum { GEN_DUR_NONE, GEN_DUR_FAST, GEN_DUR_SLOW };

typedef struct gen_db_event {
	const char *tmpl;
	gen_level level;
	int group;
	int duration; /* GEN_DUR_*: carries duration_ms */
	double weight;
} gen_db_event;

static const gen_db_event gen_db_events[] = {
	{"slow query ({dbms} ms): {sql}", GEN_WARNING, GEN_DB_QUERY, GEN_DUR_SLOW, 20},
	{"query took {dbms}ms: {sql}", GEN_WARNING, GEN_DB_QUERY, GEN_DUR_SLOW, 20},
	{"query completed in {dbms} ms: {sql}", GEN_INFO, GEN_DB_QUERY, GEN_DUR_FAST, 20},
	{"connection pool stats: active={n} idle={n} max={max}", GEN_INFO, GEN_DB_POOL, GEN_DUR_NONE, 10},
	{"connected to postgres primary db-1:5432 (server version 16.4)", GEN_INFO, GEN_DB_POOL,
	 GEN_DUR_NONE, 5},
	{"executing statement: {sql}", GEN_DEBUG, GEN_DB_QUERY, GEN_DUR_NONE, 10},
	{"connection pool exhausted (max={max})", GEN_ERROR, GEN_DB_POOL, GEN_DUR_NONE, 0.6},
	{"deadlock detected, retrying transaction (attempt {att})", GEN_ERROR, GEN_DB_QUERY,
	 GEN_DUR_NONE, 0.6},
	{"serialization failure on concurrent update, transaction rolled back", GEN_ERROR,
	 GEN_DB_QUERY, GEN_DUR_NONE, 0.3},
	{"primary db-1:5432 unreachable, failing over to replica db-2", GEN_CRITICAL, GEN_DB_POOL,
	 GEN_DUR_NONE, 0.05},
};

static const char *gen_db_logger(gen_rng *r, gen_style st, int group)
{
	switch (st) {
	case GEN_STYLE_PYTHON:
		if (group == GEN_DB_POOL)
			return "db.pool";
		return gen_chance(r, 0.6) ? "sqlalchemy.engine" : "db.query";
	case GEN_STYLE_ZAP:
		return group == GEN_DB_POOL ? "db.pool" : "pgx";
	case GEN_STYLE_JAVA:
		return group == GEN_DB_POOL ? "com.zaxxer.hikari.pool.HikariPool" : "org.hibernate.SQL";
	default:
		return group == GEN_DB_POOL ? "db.pool" : "db.query";
	}
}

static void gen_make_database(gen_ctx *c)
{
	static const double svc_w[GEN_NSVC] = {
		[GEN_SVC_DBPROXY] = 40, [GEN_SVC_ORDERS] = 15, [GEN_SVC_INVENTORY] = 10,
		[GEN_SVC_PAYMENTS] = 15, [GEN_SVC_USERS] = 15, [GEN_SVC_NOTIFY] = 5,
	};
	gen_event *ev = c->ev;
	gen_rng *r = &c->rng;
	const gen_db_event *de = GEN_PICK_WEIGHTED(r, gen_db_events);

	ev->svc = (int)gen_weighted(r, svc_w, GEN_NSVC);
	ev->level = de->level;
	ev->logger = gen_db_logger(r, gen_services[ev->svc].style, de->group);
	if (de->duration == GEN_DUR_SLOW) {
		ev->db_ms = 500.0 + gen_lognormal(r, 900.0, 0.8);
		if (ev->db_ms > 120000.0)
			ev->db_ms = 120000.0;
	} else if (de->duration == GEN_DUR_FAST) {
		ev->db_ms = gen_lognormal(r, 3.0, 0.9);
		if (ev->db_ms > 450.0)
			ev->db_ms = 450.0;
	}
	ev->has_db_ms = de->duration != GEN_DUR_NONE;
	gen_set_msg(c, de->tmpl);
}

/* ------------------------------------------------------------------ */
/* Category: application                                              */
/* ------------------------------------------------------------------ */

/* Plain service chatter. Deliberately free of access, security and
 * database words (no auth/login/token/permission/query/SQL/database). */
static const char *const gen_app_info_generic[] = {
	"worker started (concurrency={n})", "config reloaded",
	"scheduled job {job} finished in {sec}s", "metrics flushed ({n} series)",
};
static const char *const gen_app_debug[] = {
	"cache miss for key {key}", "cache hit for key {key}", "loaded {n} items from cache",
	"feature flag {flag} evaluated to true", "batch of {n} events flushed",
};
static const char *const gen_app_trace[] = {
	"entering process_batch(size={n})", "handler returned after {ms}ms", "span started: {job}",
};
static const char *const gen_app_warning[] = {
	"retrying job {id} (attempt {att})", "queue depth {big} exceeds threshold 1000",
	"config key \"max_workers\" missing, using default {n}", "cache eviction rate high ({pct}%)",
	"job {job} took {sec}s, longer than expected",
};
static const char *const gen_app_critical[] = {
	"worker crashed: out of memory", "unrecoverable error, shutting down",
	"event loop blocked for {sec}s",
};

static gen_level gen_app_level(gen_rng *r)
{
	/* A healthy fleet: mixed with the other categories, the overall split
	 * is ~87% INFO, 5% DEBUG, 7% WARNING, under 1% ERROR and CRITICAL and
	 * ~0.1% TRACE (TRACE is only kept by pino and ECS services); no
	 * service's ERROR-and-above share nears the 5% of the shipped
	 * ErrorLogRate rule. */
	static const double w[GEN_NLEVELS] = {
		[GEN_TRACE] = 0.006, [GEN_DEBUG] = 0.105, [GEN_INFO] = 0.868,
		[GEN_WARNING] = 0.010, [GEN_ERROR] = 0.010, [GEN_CRITICAL] = 0.001,
	};
	return (gen_level)gen_weighted(r, w, GEN_NLEVELS);
}

typedef struct gen_exc_kind {
	const char *type;
	const char *msg;
} gen_exc_kind;

static const gen_exc_kind gen_exc_python[] = {
	{"TimeoutError", "timed out"}, {"ValueError", "qty must be > 0"},
	{"KeyError", "'sku'"}, {"RuntimeError", "executor closed"},
};
static const gen_exc_kind gen_exc_node[] = {
	{"TimeoutError", "timed out after 30s"}, {"TypeError", "undefined is not a function"},
	{"RangeError", "Invalid array length"}, {"Error", "ETIMEDOUT"},
};
static const gen_exc_kind gen_exc_go[] = {
	{"context.deadlineExceededError", "context deadline exceeded"},
	{"*errors.errorString", "batch rejected"},
	{"runtime.boundsError", "index out of range [3] with length 3"},
};
/* NullPointerException carries a helpful message since Java 14, but a
 * long one; keep it short so a frame still fits. */
static const gen_exc_kind gen_exc_java[] = {
	{"java.lang.IllegalStateException", "queue is full"},
	{"java.io.UncheckedIOException", "read timed out"},
	{"java.lang.NullPointerException", "id is null"},
};

/* Short service-local name: "web-frontend" -> "web", for file paths. */
static void gen_short_name(char *out, size_t cap, const char *svc)
{
	size_t n = strcspn(svc, "-");
	if (n >= cap)
		n = cap - 1;
	memcpy(out, svc, n);
	out[n] = '\0';
}

/* Last dotted component of a Java class name. */
static const char *gen_simple_class(const char *fqcn)
{
	const char *dot = strrchr(fqcn, '.');
	return dot ? dot + 1 : fqcn;
}

/* "com.acme.users.UserService" -> "c.a.u.UserService". */
static void gen_abbrev_class(char *out, size_t cap, const char *fqcn)
{
	gen_sb b;
	gen_sb_init(&b, out, cap);
	const char *simple = gen_simple_class(fqcn);
	for (const char *p = fqcn; p < simple; p = strchr(p, '.') + 1) {
		gen_putc(&b, *p);
		gen_putc(&b, '.');
	}
	gen_puts(&b, simple);
}

/* Exception with a language-appropriate stack trace. Frames are stored
 * separately so the renderer can keep as many as fit in the line. */
static void gen_make_exception(gen_ctx *c)
{
	gen_event *ev = c->ev;
	gen_rng *r = &c->rng;
	const gen_service *s = &gen_services[ev->svc];
	char dir[16];
	gen_short_name(dir, sizeof dir, s->name);
	const gen_exc_kind *k;
	ev->has_exc = 1;
	ev->nframes = (int)gen_range(r, 2, GEN_MAX_FRAMES);

	switch (s->style) {
	case GEN_STYLE_PYTHON: {
		static const char *const files[] = {"worker", "tasks", "client", "retry"};
		static const char *const funcs[] = {"run", "process", "call", "handle_batch"};
		k = &GEN_PICK(r, gen_exc_python);
		snprintf(ev->exc_head, sizeof ev->exc_head, "Traceback (most recent call last):");
		for (int i = 0; i < ev->nframes; i++) {
			unsigned line = gen_range(r, 12, 480);
			snprintf(ev->frames[i], sizeof ev->frames[i], "  File \"/app/%s.py\", line %u, in %s",
				 files[i], line, funcs[i]);
		}
		snprintf(ev->exc_tail, sizeof ev->exc_tail, "%s: %s", k->type, k->msg);
		break;
	}
	case GEN_STYLE_PINO: {
		static const char *const funcs[] = {"Worker.run", "Queue.process", "Job.execute", "Client.send"};
		static const char *const files[] = {"worker", "queue", "job", "client"};
		k = &GEN_PICK(r, gen_exc_node);
		snprintf(ev->exc_head, sizeof ev->exc_head, "%s: %s", k->type, k->msg);
		for (int i = 0; i < ev->nframes; i++) {
			unsigned line = gen_range(r, 10, 300);
			unsigned col = gen_range(r, 5, 40);
			snprintf(ev->frames[i], sizeof ev->frames[i], "    at %s (/app/src/%s.js:%u:%u)", funcs[i],
				 files[i], line, col);
		}
		break;
	}
	case GEN_STYLE_ZAP: {
		static const char *const funcs[] = {"worker.(*Group).run", "batch.Process", "client.(*Client).Do",
						    "retry.Do"};
		static const char *const files[] = {"worker/group", "batch/batch", "client/client", "retry/retry"};
		k = &GEN_PICK(r, gen_exc_go);
		unsigned goroutine = gen_range(r, 1, 900);
		snprintf(ev->exc_head, sizeof ev->exc_head, "goroutine %u [running]:", goroutine);
		for (int i = 0; i < ev->nframes; i++) {
			unsigned line = gen_range(r, 20, 400);
			unsigned pc = gen_range(r, 0x20, 0x3ff);
			snprintf(ev->frames[i], sizeof ev->frames[i], "%s/%s(...)\n\t/app/%s.go:%u +0x%x", dir,
				 funcs[i], files[i], line, pc);
		}
		break;
	}
	default: { /* Java */
		static const char *const methods[] = {"run", "process", "call", "execute"};
		k = &GEN_PICK(r, gen_exc_java);
		snprintf(ev->exc_head, sizeof ev->exc_head, "%s: %s", k->type, k->msg);
		/* Frames with abbreviated packages ("c.a.u.UserService"), as
		 * logstash-logback-encoder's ShortenedThrowableConverter writes
		 * them when a stack must fit a size limit. */
		const char *cls = s->app_loggers[0];
		char abbr[64];
		gen_abbrev_class(abbr, sizeof abbr, cls);
		for (int i = 0; i < ev->nframes; i++) {
			unsigned line = gen_range(r, 30, 600);
			snprintf(ev->frames[i], sizeof ev->frames[i], "\tat %s.%s(%s.java:%u)", abbr, methods[i],
				 gen_simple_class(cls), line);
		}
		/* The rest of a deep Java stack, summarised the way Java does. */
		unsigned more = gen_range(r, 12, 90);
		snprintf(ev->exc_tail, sizeof ev->exc_tail, "\t... %u more", more);
		break;
	}
	}
	ev->exc_type = k->type;
	ev->exc_msg = k->msg;
	/* Python's trailer repeats type and message, elsewhere the header. */
	ev->exc_drop_head = s->style != GEN_STYLE_PYTHON;
}

static void gen_make_application(gen_ctx *c)
{
	/* db-proxy only speaks about the database; it is not an app source. */
	static const double svc_w[GEN_NSVC] = {
		[GEN_SVC_ORDERS] = 20, [GEN_SVC_INVENTORY] = 14, [GEN_SVC_PAYMENTS] = 14,
		[GEN_SVC_SEARCH] = 12, [GEN_SVC_NOTIFY] = 16, [GEN_SVC_WEB] = 12,
		[GEN_SVC_USERS] = 10, [GEN_SVC_AUTH] = 2,
	};
	gen_event *ev = c->ev;
	gen_rng *r = &c->rng;
	ev->svc = (int)gen_weighted(r, svc_w, GEN_NSVC);
	const gen_service *s = &gen_services[ev->svc];
	ev->level = gen_app_level(r);
	ev->logger = s->app_loggers[gen_below(r, 2)];

	const char *tmpl;
	switch (ev->level) {
	case GEN_TRACE:
		tmpl = GEN_PICK(r, gen_app_trace);
		break;
	case GEN_DEBUG:
		tmpl = GEN_PICK(r, gen_app_debug);
		break;
	case GEN_WARNING:
		tmpl = GEN_PICK(r, gen_app_warning);
		break;
	case GEN_ERROR:
		tmpl = s->app_error;
		break;
	case GEN_CRITICAL:
		tmpl = GEN_PICK(r, gen_app_critical);
		break;
	default:
		tmpl = gen_chance(r, 0.3) ? GEN_PICK(r, gen_app_info_generic) : GEN_PICK(r, s->app_info);
		break;
	}
	gen_set_msg(c, tmpl);
	if (ev->level >= GEN_ERROR)
		gen_make_exception(c);
}

/* ------------------------------------------------------------------ */
/* Record i                                                           */
/* ------------------------------------------------------------------ */

static void gen_pick_category_field(gen_ctx *c)
{
	gen_event *ev = c->ev;
	gen_rng *r = &c->rng;
	ev->cat_present = gen_chance(r, c->mix->p_cat_present);
	ev->cat_key = gen_chance(r, 0.75) ? "category" : "log_type";
	double u = gen_unif(r);
	if (u < 0.90)
		ev->cat_value = gen_cat_names[ev->cat];
	else if (u < 0.95)
		ev->cat_value = gen_cat_capitalised[ev->cat];
	else
		ev->cat_value = gen_cat_aliases[ev->cat][gen_below(r, 2)];
}

static void gen_pick_style_details(gen_ctx *c)
{
	gen_event *ev = c->ev;
	gen_rng *r = &c->rng;
	ev->java_nested = gen_chance(r, 0.5);
	ev->syslog_numeric = gen_chance(r, 0.5);
	switch (ev->level) {
	case GEN_CRITICAL:
		ev->syslog_severity = (int)gen_weighted(r, (const double[]){1, 2, 7}, 3);
		ev->syslog_keyword = "crit";
		break;
	case GEN_ERROR:
		ev->syslog_severity = 3;
		ev->syslog_keyword = "err";
		break;
	case GEN_WARNING:
		ev->syslog_severity = 4;
		ev->syslog_keyword = "warning";
		break;
	case GEN_INFO:
		ev->syslog_severity = gen_chance(r, 0.3) ? 5 : 6;
		ev->syslog_keyword = ev->syslog_severity == 5 ? "notice" : "info";
		break;
	default:
		ev->syslog_severity = 7;
		ev->syslog_keyword = "debug";
		break;
	}
}

/* Host, pid, thread, ids: the optional fields that pad lines to length. */
static void gen_pick_optional(gen_ctx *c)
{
	static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789"; /* k8s pod suffixes */
	gen_event *ev = c->ev;
	gen_rng *r = &c->rng;
	const gen_service *s = &gen_services[ev->svc];
	gen_sb b;

	/* Three pods per service; everything about a pod is a pure function
	 * of (service, pod), so pods look stable across records and seeds. */
	uint32_t pod = gen_below(r, 3);
	uint64_t h = gen_mix64((uint64_t)ev->svc * 16 + pod + 1);
	gen_sb_init(&b, ev->host, sizeof ev->host);
	gen_puts(&b, s->name);
	gen_putc(&b, '-');
	gen_puts(&b, s->rs_hash);
	gen_putc(&b, '-');
	for (int i = 0; i < 5; i++, h /= sizeof alphabet - 1)
		gen_putc(&b, alphabet[h % (sizeof alphabet - 1)]);
	ev->pid = 1 + (uint32_t)(gen_mix64(h + 7) % 97);
	ev->region = gen_regions[pod];

	gen_sb_init(&b, ev->request_id, sizeof ev->request_id);
	gen_put_uuid(&b, r);
	ev->user_id = gen_range(r, 1000, 9999999);
	gen_sb_init(&b, ev->trace_id, sizeof ev->trace_id);
	gen_put_hex(&b, gen_u64(r), 16);
	gen_put_hex(&b, gen_u64(r), 16);
	gen_sb_init(&b, ev->span_id, sizeof ev->span_id);
	gen_put_hex(&b, gen_u64(r), 16);
	if (!ev->user_agent)
		ev->user_agent = GEN_PICK(r, gen_user_agents);

	ev->avail |= 1u << GEN_OPT_REQUEST_ID | 1u << GEN_OPT_USER_ID | 1u << GEN_OPT_TRACE_ID |
		     1u << GEN_OPT_SPAN_ID | 1u << GEN_OPT_HOST | 1u << GEN_OPT_PID |
		     1u << GEN_OPT_VERSION | 1u << GEN_OPT_REGION;
	gen_sb_init(&b, ev->thread, sizeof ev->thread);
	if (s->style == GEN_STYLE_PYTHON) {
		gen_puts(&b, "ThreadPoolExecutor-0_");
		gen_put_u64(&b, gen_below(r, 8));
		ev->avail |= 1u << GEN_OPT_THREAD;
	} else if (s->style == GEN_STYLE_JAVA) {
		gen_puts(&b, ev->cat == GEN_CAT_ACCESS ? "http-nio-8080-exec-" : "pool-2-thread-");
		gen_put_u64(&b, gen_range(r, 1, 40));
		ev->avail |= 1u << GEN_OPT_THREAD;
	}

	/* Chance of each optional field before length balancing. */
	static const double p_want[GEN_NOPTS] = {
		[GEN_OPT_USER] = 1.0, [GEN_OPT_REQUEST_ID] = 0.88, [GEN_OPT_USER_ID] = 0.35,
		[GEN_OPT_TRACE_ID] = 0.45, [GEN_OPT_SPAN_ID] = 0.45, [GEN_OPT_HOST] = 0.6,
		[GEN_OPT_PID] = 0.35, [GEN_OPT_THREAD] = 0.4, [GEN_OPT_VERSION] = 0.3,
		[GEN_OPT_REGION] = 0.3, [GEN_OPT_CLIENT_IP] = 0.6, [GEN_OPT_USER_AGENT] = 0.45,
	};
	for (int i = 0; i < GEN_NOPTS; i++)
		if (gen_chance(r, p_want[i]))
			ev->want |= 1u << i;
	if (ev->cat == GEN_CAT_SECURITY && gen_chance(r, 0.6))
		ev->want |= 1u << GEN_OPT_USER_ID;
	/* A span id without a trace id would be odd. */
	if (!(ev->want & 1u << GEN_OPT_TRACE_ID))
		ev->want &= ~(1u << GEN_OPT_SPAN_ID);
}

/* Produces record seq. Calls must come in sequence order, because event
 * time is cumulative; everything else is drawn from a stream seeded by
 * (seed, seq), so a record's content does not depend on earlier ones. */
static void gen_make_event(gen_state *st, uint64_t seq, gen_event *ev)
{
	gen_ctx c;
	memset(ev, 0, sizeof *ev); /* ~1.5 KB; clarity beats the ~5% it costs */

	ev->seq = seq;
	ev->t_us = st->start_us + (int64_t)st->elapsed_us;
	st->elapsed_us += gen_exponential(&st->clock, st->mean_gap_us);

	gen_sb b;
	gen_sb_init(&b, ev->event_id, sizeof ev->event_id);
	gen_putc(&b, 'e');
	gen_put_hex(&b, gen_mix64(seq + st->id_key), 16);

	gen_rng_seed(&c.rng, st->rng_base + seq * 4 * 0x9E3779B97F4A7C15ull);
	c.ev = ev;
	c.st = st;
	c.mix = gen_mix_at(st, ev->t_us, &st->scratch);
	double u = gen_unif(&c.rng);
	c.unicode_names = u < c.mix->p_raw_utf8 + c.mix->p_escaped_utf8;
	ev->esc_unicode = c.unicode_names && u >= c.mix->p_raw_utf8;
	c.name = c.unicode_names ? GEN_PICK(&c.rng, gen_unicode_names) : GEN_PICK(&c.rng, gen_ascii_names);
	c.name_used = 0;
	c.quote = gen_chance(&c.rng, 0.25);
	/* Drawn up front because messages ("... from {ip}") quote it. */
	gen_sb_init(&b, ev->client_ip, sizeof ev->client_ip);
	gen_put_ipv4(&b, &c.rng);

	ev->cat = (gen_cat)gen_weighted(&c.rng, c.mix->cat_weight, GEN_NCATS);
	switch (ev->cat) {
	case GEN_CAT_ACCESS:
		gen_make_access(&c);
		break;
	case GEN_CAT_SECURITY:
		gen_make_security(&c);
		break;
	case GEN_CAT_DATABASE:
		gen_make_database(&c);
		break;
	default:
		gen_make_application(&c);
		break;
	}
	ev->level = gen_style_clamp(gen_services[ev->svc].style, ev->level);
	ev->dropped = c.mix->silent[ev->svc];
	gen_pick_category_field(&c);
	gen_pick_style_details(&c);
	gen_pick_optional(&c);

	/* Non-ASCII name that the message had no slot for: carry it as a
	 * "user" field so the Unicode share holds for every category. */
	if (c.unicode_names && !c.name_used) {
		ev->user = c.name;
		ev->avail |= 1u << GEN_OPT_USER;
	}
}

/* ------------------------------------------------------------------ */
/* Rendering                                                          */
/* ------------------------------------------------------------------ */

static void gen_render_header(const gen_event *ev, gen_sb *b)
{
	static const char *const py_levels[] = {"DEBUG", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"};
	static const int pino_levels[] = {10, 20, 30, 40, 50, 60};
	static const char *const zap_levels[] = {"debug", "debug", "info", "warn", "error", "fatal"};
	static const char *const java_levels[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
	const gen_service *s = &gen_services[ev->svc];
	int esc = ev->esc_unicode;

	gen_putc(b, '{');
	switch (s->style) {
	case GEN_STYLE_PYTHON:
		gen_jiso(b, "timestamp", ev->t_us, 6);
		gen_jstr(b, "levelname", py_levels[ev->level], 0);
		gen_jstr(b, "logger", ev->logger, 0);
		gen_jstr(b, "service", s->name, 0);
		gen_jstr(b, "message", ev->msg, esc);
		break;
	case GEN_STYLE_PINO:
		gen_jint(b, "level", (uint64_t)pino_levels[ev->level]);
		gen_jint(b, "time", (uint64_t)(ev->t_us / 1000));
		gen_jstr(b, "app", s->name, 0);
		gen_jstr(b, "logger", ev->logger, 0);
		gen_jstr(b, "msg", ev->msg, esc);
		break;
	case GEN_STYLE_ZAP:
		gen_jstr(b, "level", zap_levels[ev->level], 0);
		gen_jfixed(b, "ts", (double)(ev->t_us / 1000000), 0);
		gen_putc(b, '.');
		gen_put_u64_pad(b, (uint64_t)(ev->t_us % 1000000), 6);
		gen_jstr(b, "logger", ev->logger, 0);
		gen_jstr(b, "service", s->name, 0);
		gen_jstr(b, "msg", ev->msg, esc);
		break;
	case GEN_STYLE_JAVA:
		gen_jiso(b, "@timestamp", ev->t_us, 3);
		if (ev->java_nested) {
			gen_jkey(b, "log");
			gen_putc(b, '{');
			gen_jstr(b, "level", java_levels[ev->level], 0);
			gen_jstr(b, "logger", ev->logger, 0);
			gen_putc(b, '}');
			gen_jkey(b, "service");
			gen_putc(b, '{');
			gen_jstr(b, "name", s->name, 0);
			gen_putc(b, '}');
		} else {
			gen_jstr(b, "log.level", java_levels[ev->level], 0);
			gen_jstr(b, "service.name", s->name, 0);
			gen_jstr(b, "logger", ev->logger, 0);
		}
		gen_jstr(b, "message", ev->msg, esc);
		break;
	case GEN_STYLE_SYSLOG:
		gen_jiso(b, "time", ev->t_us, 0);
		if (ev->syslog_numeric)
			gen_jint(b, "severity", (uint64_t)ev->syslog_severity);
		else
			gen_jstr(b, "severity", ev->syslog_keyword, 0);
		gen_jstr(b, "app", s->name, 0);
		gen_jstr(b, "logger", ev->logger, 0);
		gen_jstr(b, "message", ev->msg, esc);
		break;
	}
}

static void gen_render_http(const gen_event *ev, gen_sb *b)
{
	switch (ev->http_form) {
	case GEN_HTTP_NESTED:
		gen_jkey(b, "http");
		gen_putc(b, '{');
		gen_jstr(b, "method", ev->method, 0);
		gen_jstr(b, "path", ev->path, 0);
		gen_jint(b, "status", (uint64_t)ev->status);
		gen_jfixed(b, "duration_ms", ev->dur_ms, 3);
		gen_putc(b, '}');
		break;
	case GEN_HTTP_PINO:
		gen_jstr(b, "method", ev->method, 0);
		gen_jstr(b, "path", ev->path, 0);
		gen_jint(b, "status", (uint64_t)ev->status);
		gen_jfixed(b, "latency_ms", ev->dur_ms, 3);
		break;
	case GEN_HTTP_GO_FLAT:
		gen_jstr(b, "method", ev->method, 0);
		gen_jstr(b, "path", ev->path, 0);
		gen_jint(b, "status_code", (uint64_t)ev->status);
		gen_jfixed(b, "response_time", ev->dur_ms, 3); /* milliseconds */
		break;
	default:
		break;
	}
}

/* Appends piece if the line still fits afterwards (keeping one byte for
 * the closing brace); returns whether it did. */
static int gen_append_fitting(gen_sb *b, const gen_sb *piece)
{
	if (b->len + piece->len + 1 > GEN_LINE_MAX)
		return 0;
	gen_put(b, piece->p, piece->len);
	return 1;
}

/* Escaped "\n" + s into t, as a candidate piece of the stack trace. */
static void gen_stack_piece(gen_sb *t, char *mem, size_t cap, const char *s, int esc, int newline)
{
	gen_sb_init(t, mem, cap);
	if (newline)
		gen_put(t, "\\n", 2);
	gen_put_jesc(t, s, esc);
}

/* The exception always goes in with its type, message and at least one
 * stack frame. The 400-byte line cap cannot hold a real trace, so the
 * trace is cut to fit: first the line that repeats type and message (the
 * Java/node header, the python trailer) goes if even one frame would not
 * fit with it, then if need be the other one, then frames are added while
 * they fit. */
static void gen_render_exception(const gen_event *ev, gen_sb *b)
{
	char hbuf[128], tbuf[128], fbuf[GEN_MAX_FRAMES][160];
	gen_sb head, tail, fr[GEN_MAX_FRAMES];
	int esc = ev->esc_unicode;

	gen_jkey(b, "exception");
	gen_putc(b, '{');
	gen_jstr(b, "type", ev->exc_type, esc);
	gen_jstr(b, "message", ev->exc_msg, esc);
	gen_jkey(b, "stacktrace");
	gen_putc(b, '"');

	gen_stack_piece(&head, hbuf, sizeof hbuf, ev->exc_head, esc, 0);
	gen_stack_piece(&tail, tbuf, sizeof tbuf, ev->exc_tail, esc, 1);
	if (!ev->exc_tail[0])
		tail.len = 0;
	for (int i = 0; i < ev->nframes; i++)
		gen_stack_piece(&fr[i], fbuf[i], sizeof fbuf[i], ev->frames[i], esc, 1);

	/* Still owed after the trace: `"}` and the record's final `}`. */
	const size_t owed = 3;
	size_t room = GEN_LINE_MAX - (b->len + owed < GEN_LINE_MAX ? b->len + owed : GEN_LINE_MAX);
	if (head.len + fr[0].len + tail.len > room)
		(ev->exc_drop_head ? &head : &tail)->len = 0;
	if (head.len + fr[0].len + tail.len > room) /* last resort */
		head.len = tail.len = 0;
	if (!head.len) /* no header: the first frame needs no leading "\n" */
		fr[0].p += 2, fr[0].len -= 2;

	gen_put(b, head.p, head.len);
	size_t used = head.len + tail.len;
	for (int i = 0; i < ev->nframes; i++) {
		if (i > 0 && used + fr[i].len > room)
			break;
		gen_put(b, fr[i].p, fr[i].len);
		used += fr[i].len;
	}
	gen_put(b, tail.p, tail.len);
	gen_put(b, "\"}", 2);
}

/* `,"key":value` for optional field i into piece. */
static void gen_render_opt(const gen_event *ev, int i, gen_sb *p)
{
	switch (i) {
	case GEN_OPT_USER:
		gen_jstr(p, "user", ev->user, ev->esc_unicode);
		break;
	case GEN_OPT_REQUEST_ID:
		gen_jstr(p, "request_id", ev->request_id, 0);
		break;
	case GEN_OPT_USER_ID:
		gen_jint(p, "user_id", ev->user_id);
		break;
	case GEN_OPT_TRACE_ID:
		gen_jstr(p, "trace_id", ev->trace_id, 0);
		break;
	case GEN_OPT_SPAN_ID:
		gen_jstr(p, "span_id", ev->span_id, 0);
		break;
	case GEN_OPT_HOST:
		gen_jstr(p, "host", ev->host, 0);
		break;
	case GEN_OPT_PID:
		gen_jint(p, "pid", ev->pid);
		break;
	case GEN_OPT_THREAD:
		gen_jstr(p, "thread", ev->thread, 0);
		break;
	case GEN_OPT_VERSION:
		gen_jstr(p, "version", gen_services[ev->svc].version, 0);
		break;
	case GEN_OPT_REGION:
		gen_jstr(p, "region", ev->region, 0);
		break;
	case GEN_OPT_CLIENT_IP:
		gen_jstr(p, "client_ip", ev->client_ip, 0);
		break;
	case GEN_OPT_USER_AGENT:
		gen_jstr(p, "user_agent", ev->user_agent, 0);
		break;
	}
}

static int gen_add_opt(const gen_event *ev, int i, gen_sb *b)
{
	char buf[256];
	gen_sb p;
	gen_sb_init(&p, buf, sizeof buf);
	gen_putc(&p, ','); /* pieces are appended after an existing field */
	gen_render_opt(ev, i, &p);
	return gen_append_fitting(b, &p);
}

/* Renders ev into line (no newline); returns the length, or 0 if the
 * record could not be made to fit (a generator bug). Pure: the same event
 * always renders the same bytes. */
static size_t gen_render(const gen_event *ev, char *line, size_t cap)
{
	gen_sb b;
	gen_sb_init(&b, line, cap);
	gen_render_header(ev, &b);
	gen_jstr(&b, "event_id", ev->event_id, 0);
	if (ev->cat_present)
		gen_jstr(&b, ev->cat_key, ev->cat_value, 0);
	gen_render_http(ev, &b);
	if (ev->has_db_ms) {
		gen_jkey(&b, "duration_ms");
		gen_put_db_ms(&b, ev->db_ms);
	}
	if (ev->has_exc)
		gen_render_exception(ev, &b);

	/* Wanted optional fields that fit, then padding from the rest (span
	 * only after a trace) until the line is long enough. */
	unsigned added = 0;
	for (int i = 0; i < GEN_NOPTS; i++)
		if ((ev->avail & ev->want & 1u << i) && gen_add_opt(ev, i, &b))
			added |= 1u << i;
	for (int i = 0; i < GEN_NOPTS && b.len + 1 < GEN_LINE_MIN; i++) {
		if (!(ev->avail & 1u << i) || (added & 1u << i))
			continue;
		if (i == GEN_OPT_SPAN_ID && !(added & 1u << GEN_OPT_TRACE_ID))
			continue;
		if (gen_add_opt(ev, i, &b))
			added |= 1u << i;
	}
	gen_putc(&b, '}');
	return b.overflow ? 0 : b.len;
}

/* ------------------------------------------------------------------ */
/* Verification                                                       */
/* ------------------------------------------------------------------ */

/* NULL if line is acceptable, else the reason. The length check is cheap
 * and always on; with check (--check) the line must also be a JSON object
 * (RFC 8259, UTF-8, at most 64 levels deep) that vigil's own parser
 * accepts. */
static const char *gen_verify(const struct vg_json_paths *check, const char *line, size_t len)
{
	static const struct vg_json_limits limits = {.max_bytes = GEN_LINE_MAX, .max_depth = 64};
	struct vg_record rec;
	struct vg_json_error err;

	if (len == 0)
		return "record did not fit in the line buffer";
	if (len < GEN_LINE_MIN)
		return "line shorter than 200 bytes";
	if (len > GEN_LINE_MAX)
		return "line longer than 400 bytes";
	if (!check || vg_json_extract(check, &limits, line, len, &rec, &err) == 0)
		return NULL;
	return err.reason == VG_JR_TRAILING ? "trailing bytes after JSON value" : "invalid JSON or UTF-8";
}

/* ------------------------------------------------------------------ */
/* Output                                                             */
/* ------------------------------------------------------------------ */

/* Own buffer + fwrite: one stdio call per megabyte, not per line. */
typedef struct gen_out {
	FILE *f;
	char *buf;
	size_t len;
	int failed;
} gen_out;

static void gen_out_flush(gen_out *o)
{
	if (o->len && fwrite(o->buf, 1, o->len, o->f) != o->len)
		o->failed = 1;
	o->len = 0;
}

static void gen_out_write(gen_out *o, const char *s, size_t n)
{
	if (GEN_OUT_CAP - o->len < n)
		gen_out_flush(o);
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void gen_write_truth(gen_out *o, const gen_event *ev)
{
	char buf[128];
	gen_sb b;
	gen_sb_init(&b, buf, sizeof buf);
	gen_puts(&b, gen_level_names[ev->level]);
	gen_putc(&b, '\t');
	gen_puts(&b, gen_cat_names[ev->cat]);
	gen_putc(&b, '\t');
	gen_put_u64(&b, (uint64_t)gen_retention_days(ev->cat, ev->level));
	gen_putc(&b, '\t');
	gen_putc(&b, ev->cat_present ? '1' : '0');
	gen_putc(&b, '\t');
	gen_puts(&b, ev->event_id);
	gen_putc(&b, '\n');
	gen_out_write(o, b.p, b.len);
}

/* ------------------------------------------------------------------ */
/* CLI                                                                */
/* ------------------------------------------------------------------ */

typedef struct gen_opts {
	uint64_t count, seed, start_ms;
	const char *truth;
	int check;
	gen_incident incidents[GEN_MAX_INCIDENTS];
	size_t n_incidents;
} gen_opts;

static void gen_usage(FILE *f)
{
	fputs("usage: gen [--count N] [--seed S] [--start EPOCH_MS] [--truth FILE] [--check]\n"
	      "           [--incident KIND[:SERVICE]@START+DURATION]... [--help]\n"
	      "\n"
	      "Writes N deterministic, realistic JSON service log records (NDJSON) to stdout,\n"
	      "about 1000 per second of event time. Healthy traffic fires none of vigil's\n"
	      "shipped alert rules (config/rules.yaml); an incident makes it fire the ones\n"
	      "named below.\n"
	      "\n"
	      "  --count N         records to generate (default 1000)\n"
	      "  --seed S          PRNG seed, 0..2^64-1 (default 1); same seed+count, same bytes\n"
	      "  --start EPOCH_MS  time of the first record, ms since 1970 (default\n"
	      "                    1793491200000 = 2026-11-01T00:00:00Z)\n"
	      "  --truth FILE      also write LEVEL\\tCATEGORY\\tRETENTION_DAYS\\tPRESENT\\tEVENT_ID\n"
	      "                    per record to FILE\n"
	      "  --check           generate and verify every line (200..400 bytes, valid JSON\n"
	      "                    and UTF-8) without printing; exit 1 on a violation\n"
	      "  --incident SPEC   an incident from START to START+DURATION of event time after\n"
	      "                    the first record (durations like 90s, 10m, 1h30m); repeatable,\n"
	      "                    up to 16. Incidents change records' content, never their\n"
	      "                    timestamps; only silent drops records. KIND[:SERVICE]:\n"
	      "      5xx           8% of SERVICE's requests fail (default orders). Fires\n"
	      "                    HTTP5xxErrorRate (over 5m, for 3m, once 5m of the stream are\n"
	      "                    in) and AvailabilityBurnRatePage; AvailabilityBurnRateTicket\n"
	      "                    only once 6h of the stream are in (its coverage)\n"
	      "      latency       every request of SERVICE ~600 ms slower (default payments):\n"
	      "                    HTTPLatencyP95 for each of its endpoints after 5m; not P99\n"
	      "      auth          25% of SERVICE's security records are failed logins (default\n"
	      "                    auth-service; one of auth-service, user-service, web-frontend,\n"
	      "                    payments, orders, search): AuthFailureSurge after about 2m\n"
	      "                    once 10m of the stream are in (5m against the last hour)\n"
	      "      silent        SERVICE writes nothing (default notifications; its records\n"
	      "                    are generated and dropped, so fewer than N lines come out):\n"
	      "                    ServiceSilent after 5m\n"
	      "      slowburn      0.75% of SERVICE's requests fail (default orders): under\n"
	      "                    HTTP5xxErrorRate's 1%, over the page's 6h/30m pair (x6 =\n"
	      "                    0.6%) once 30m of the stream are in (its coverage) and the\n"
	      "                    burn since the stream start is: AvailabilityBurnRatePage\n"
	      "                    (that pair only)\n"
	      "                    e.g. --count 1200000 --incident 5xx@5m+8m\n"
	      "  --help            this text\n",
	      f);
}

/* A duration: one or more NUMBER UNIT pieces (ms, s, m, h), or "0", in
 * microseconds. Returns 0 on a malformed or huge value. */
static int gen_parse_duration(const char *s, const char *end, int64_t *out)
{
	int64_t total = 0;
	if (s == end)
		return 0;
	if (end - s == 1 && *s == '0') {
		*out = 0;
		return 1;
	}
	while (s < end) {
		int64_t v = 0;
		const char *d = s;
		while (s < end && *s >= '0' && *s <= '9') {
			if (v > 1000000000)
				return 0;
			v = v * 10 + (*s++ - '0');
		}
		if (s == d)
			return 0;
		int64_t unit;
		if (end - s >= 2 && s[0] == 'm' && s[1] == 's')
			unit = 1000, s += 2;
		else if (*s == 's')
			unit = 1000000, s++;
		else if (*s == 'm')
			unit = 60000000, s++;
		else if (*s == 'h')
			unit = 3600000000, s++;
		else
			return 0;
		total += v * unit;
		if (total > (int64_t)1000 * 24 * 3600000000)
			return 0;
	}
	*out = total;
	return 1;
}

/* Services an incident kind can target: HTTP ones for 5xx, latency and
 * slowburn, those with security records for auth, any for silent. */
static int gen_incident_fits(gen_incident_kind kind, int svc)
{
	switch (kind) {
	case GEN_INC_AUTH:
		return svc == GEN_SVC_AUTH || svc == GEN_SVC_USERS || svc == GEN_SVC_WEB ||
		       svc == GEN_SVC_PAYMENTS || svc == GEN_SVC_ORDERS || svc == GEN_SVC_SEARCH;
	case GEN_INC_SILENT:
		return 1;
	default:
		return svc != GEN_SVC_DBPROXY;
	}
}

/* KIND[:SERVICE]@START+DURATION into *inc; NULL or the reason it is bad. */
static const char *gen_parse_incident(const char *spec, gen_incident *inc)
{
	static const int default_svc[GEN_NINC] = {
		[GEN_INC_5XX] = GEN_SVC_ORDERS, [GEN_INC_LATENCY] = GEN_SVC_PAYMENTS,
		[GEN_INC_AUTH] = GEN_SVC_AUTH, [GEN_INC_SILENT] = GEN_SVC_NOTIFY,
		[GEN_INC_SLOWBURN] = GEN_SVC_ORDERS,
	};
	const char *at = strchr(spec, '@');
	if (!at)
		return "expected KIND[:SERVICE]@START+DURATION";
	const char *colon = memchr(spec, ':', (size_t)(at - spec));
	const char *kend = colon ? colon : at;
	int kind = -1;
	for (int k = 0; k < GEN_NINC; k++)
		if (strlen(gen_incident_names[k]) == (size_t)(kend - spec) &&
		    memcmp(spec, gen_incident_names[k], (size_t)(kend - spec)) == 0)
			kind = k;
	if (kind < 0)
		return "unknown kind (5xx, latency, auth, silent, slowburn)";
	inc->kind = (gen_incident_kind)kind;
	inc->svc = default_svc[kind];
	if (colon) {
		inc->svc = -1;
		for (int s = 0; s < GEN_NSVC; s++)
			if (strlen(gen_services[s].name) == (size_t)(at - colon - 1) &&
			    memcmp(colon + 1, gen_services[s].name, (size_t)(at - colon - 1)) == 0)
				inc->svc = s;
		if (inc->svc < 0)
			return "unknown service (orders, inventory, web-frontend, notifications, payments, "
			       "search, auth-service, user-service, db-proxy)";
		if (!gen_incident_fits(inc->kind, inc->svc))
			return "this kind does not apply to that service (see --help)";
	}
	const char *plus = strchr(at, '+');
	int64_t dur;
	if (!plus || !gen_parse_duration(at + 1, plus, &inc->from_us) ||
	    !gen_parse_duration(plus + 1, plus + 1 + strlen(plus + 1), &dur))
		return "expected START+DURATION as durations like 90s, 10m or 1h30m";
	inc->to_us = inc->from_us + dur;
	return NULL;
}

/* Decimal digits only (no sign, no spaces), no overflow. */
static int gen_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!s || !*s)
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	*out = v;
	return 1;
}

/* Returns -1 to go on, else the exit status. */
static int gen_parse_args(int argc, char **argv, gen_opts *o)
{
	o->count = GEN_DEFAULT_COUNT;
	o->seed = GEN_DEFAULT_SEED;
	o->start_ms = GEN_DEFAULT_START_MS;
	o->truth = NULL;
	o->check = 0;
	o->n_incidents = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			gen_usage(stdout);
			return 0;
		}
		if (strcmp(a, "--check") == 0) {
			o->check = 1;
			continue;
		}
		static const char *const names[] = {"--count", "--seed", "--start", "--truth", "--incident"};
		const char *val = NULL;
		size_t which;
		for (which = 0; which < GEN_N(names); which++) {
			size_t n = strlen(names[which]);
			if (strncmp(a, names[which], n) != 0)
				continue;
			if (a[n] == '=') {
				val = a + n + 1;
				break;
			}
			if (a[n] == '\0') {
				val = i + 1 < argc ? argv[++i] : NULL;
				break;
			}
		}
		if (which == GEN_N(names)) {
			fprintf(stderr, "gen: unknown option '%s' (see --help)\n", a);
			return 2;
		}
		if (!val) {
			fprintf(stderr, "gen: %s needs a value\n", names[which]);
			return 2;
		}
		if (which == 4) {
			if (o->n_incidents == GEN_MAX_INCIDENTS) {
				fprintf(stderr, "gen: at most %d incidents\n", GEN_MAX_INCIDENTS);
				return 2;
			}
			const char *why = gen_parse_incident(val, &o->incidents[o->n_incidents]);
			if (why) {
				fprintf(stderr, "gen: --incident '%s': %s\n", val, why);
				return 2;
			}
			o->n_incidents++;
			continue;
		}
		if (which == 3) {
			if (!*val) {
				fprintf(stderr, "gen: --truth needs a file name\n");
				return 2;
			}
			o->truth = val;
			continue;
		}
		uint64_t v;
		if (!gen_parse_u64(val, &v) || (which == 2 && v > GEN_MAX_START_MS)) {
			fprintf(stderr, "gen: bad number for %s: '%s'\n", names[which], val);
			return 2;
		}
		if (which == 0)
			o->count = v;
		else if (which == 1)
			o->seed = v;
		else
			o->start_ms = v;
	}
	return -1;
}

int main(int argc, char **argv)
{
	gen_opts o;
	int rc = gen_parse_args(argc, argv, &o);
	if (rc >= 0)
		return rc;

	static char out_buf[GEN_OUT_CAP], truth_buf[GEN_OUT_CAP];
	gen_out out = {stdout, out_buf, 0, 0};
	gen_out truth = {NULL, truth_buf, 0, 0};
	if (o.truth) {
		truth.f = fopen(o.truth, "w");
		if (!truth.f) {
			perror(o.truth);
			return 1;
		}
	}

	/* --check: no field paths, the parser only validates. */
	struct vg_json_paths *check = NULL;
	if (o.check) {
		const char *const *no_paths[VG_F_COUNT] = {0};
		const size_t n_paths[VG_F_COUNT] = {0};
		char err[256];
		if (vg_json_paths_create(&check, no_paths, n_paths, err, sizeof err) != 0) {
			fputs("gen: out of memory\n", stderr);
			return 1;
		}
	}

	gen_state st;
	gen_state_init(&st, o.seed, o.start_ms);
	memcpy(st.incidents, o.incidents, o.n_incidents * sizeof o.incidents[0]);
	st.n_incidents = o.n_incidents;
	uint64_t written = 0;
	static gen_event ev;
	char line[GEN_LINE_CAP];
	for (uint64_t i = 0; i < o.count; i++) {
		gen_make_event(&st, i, &ev);
		if (ev.dropped)
			continue;
		written++;
		size_t n = gen_render(&ev, line, sizeof line - 1);
		const char *why = gen_verify(check, line, n);
		if (why) {
			fprintf(stderr, "gen: record %llu (%s): %s\n", (unsigned long long)i, ev.event_id, why);
			if (n)
				fprintf(stderr, "gen: %.*s\n", (int)n, line);
			gen_out_flush(&out);
			vg_json_paths_destroy(check);
			return 1;
		}
		if (!o.check) {
			line[n++] = '\n';
			gen_out_write(&out, line, n);
		}
		if (truth.f)
			gen_write_truth(&truth, &ev);
	}
	vg_json_paths_destroy(check);

	gen_out_flush(&out);
	if (fflush(stdout) != 0 || ferror(stdout) || out.failed) {
		perror("gen: stdout");
		return 1;
	}
	if (truth.f) {
		gen_out_flush(&truth);
		if (fclose(truth.f) != 0 || truth.failed) {
			perror(o.truth);
			return 1;
		}
	}
	if (o.check)
		fprintf(stderr, "gen: check ok: %llu records\n", (unsigned long long)written);
	return 0;
}

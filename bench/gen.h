/*
 * gen.h - what the corpus generator's files (bench/gen.c, gen_text.c,
 * gen_records.c, gen_incidents.c) share; nothing else includes this.
 *
 *   gen_text.c       string builder, JSON and date output, gen_render()
 *   gen_records.c    vocabulary, content tables, gen_make_event()
 *   gen_incidents.c  the state, the knobs in force at a time (incidents),
 *                    --incident parsing
 *   gen.c            checking, output, truth file, options, main()
 *
 * The PRNG and the distributions are static inline here, so every draw
 * stays inlined where it is made. Nothing here is thread-safe; gen is one
 * thread.
 */
#ifndef VG_BENCH_GEN_H
#define VG_BENCH_GEN_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#define GEN_LINE_MIN 200 /* bytes per line, excluding the newline */
#define GEN_LINE_MAX 400

#define GEN_N(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ */
/* PRNG: xoshiro256** seeded with splitmix64                          */
/* ------------------------------------------------------------------ */

typedef struct gen_rng {
	uint64_t s[4];
} gen_rng;

/* splitmix64 finalizer: a bijection on 64-bit values, also used to make
 * event ids unique (distinct inputs give distinct outputs). */
static inline uint64_t gen_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static inline void gen_rng_seed(gen_rng *r, uint64_t x)
{
	for (int i = 0; i < 4; i++) {
		x += 0x9E3779B97F4A7C15ull;
		r->s[i] = gen_mix64(x);
	}
}

static inline uint64_t gen_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t gen_u64(gen_rng *r)
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
static inline double gen_unif(gen_rng *r)
{
	return (double)(gen_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

static inline int gen_chance(gen_rng *r, double p)
{
	return gen_unif(r) < p;
}

/* Uniform integer in [0, n), n < 2^32; multiply-shift avoids modulo bias
 * worth caring about. */
static inline uint32_t gen_below(gen_rng *r, uint32_t n)
{
	return (uint32_t)(((gen_u64(r) >> 32) * (uint64_t)n) >> 32);
}

static inline uint32_t gen_range(gen_rng *r, uint32_t lo, uint32_t hi)
{
	return lo + gen_below(r, hi - lo + 1);
}

#define GEN_PICK(r, arr) ((arr)[gen_below((r), (uint32_t)GEN_N(arr))])

/* Determinism rule: never make two draws in one expression, e.g. as two
 * arguments of one call; C leaves their order unspecified and gcc and
 * clang really do differ. Draw into locals first. */

/* Standard normal via Box-Muller; one of the pair is dropped so a record's
 * draws never depend on an earlier record's leftovers. */
static inline double gen_normal(gen_rng *r)
{
	double u1 = 1.0 - gen_unif(r); /* (0, 1]: log() stays finite */
	double u2 = gen_unif(r);
	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static inline double gen_lognormal(gen_rng *r, double median, double sigma)
{
	return median * exp(sigma * gen_normal(r));
}

static inline double gen_exponential(gen_rng *r, double mean)
{
	return -log(1.0 - gen_unif(r)) * mean;
}

static inline double gen_pareto(gen_rng *r, double xm, double alpha)
{
	return xm / pow(1.0 - gen_unif(r), 1.0 / alpha);
}

/* Weight i of weights stride bytes apart: an array of doubles, or the
 * weight member of each row of a table. */
static inline double gen_weight(const double *w, size_t stride, size_t i)
{
	return *(const double *)(const void *)((const char *)w + i * stride);
}

/* Index drawn with probability weight[i] / sum(weight). */
static inline size_t gen_weighted_stride(gen_rng *r, const double *w, size_t stride, size_t n)
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

static inline size_t gen_weighted(gen_rng *r, const double *w, size_t n)
{
	return gen_weighted_stride(r, w, sizeof *w, n);
}

/* A row of table (an array of structs with a double member weight), drawn
 * with probability weight / sum(weight). */
#define GEN_PICK_WEIGHTED(r, table) \
	(&(table)[gen_weighted_stride((r), &(table)[0].weight, sizeof((table)[0]), GEN_N(table))])

/* ------------------------------------------------------------------ */
/* Bounded string builder (gen_text.c)                                */
/* ------------------------------------------------------------------ */

/* Appends never write past cap; a clipped append sets overflow, which the
 * renderer reports as a failure instead of emitting a cut line. */
typedef struct gen_sb {
	char *p;
	size_t len, cap;
	int overflow;
} gen_sb;

/* An empty builder over mem[cap] (cap >= 1); mem stays NUL-terminated. */
void gen_sb_init(gen_sb *b, char *mem, size_t cap);
/* Appends n bytes of s, s, one character; clipped appends set overflow. */
void gen_put(gen_sb *b, const char *s, size_t n);
void gen_puts(gen_sb *b, const char *s);
void gen_putc(gen_sb *b, char c);
/* v in decimal; _pad with leading zeros to at least width digits. */
void gen_put_u64(gen_sb *b, uint64_t v);
void gen_put_u64_pad(gen_sb *b, uint64_t v, int width);
/* Non-negative v with 0..6 decimals, rounded; never the locale's printf. */
void gen_put_fixed(gen_sb *b, double v, int decimals);
/* v as digits (1..16) lower-case hex digits, zero-padded (low digits kept). */
void gen_put_hex(gen_sb *b, uint64_t v, int digits);
/* A random RFC 4122 version 4 UUID (two draws from r). */
void gen_put_uuid(gen_sb *b, gen_rng *r);
/* Database durations: whole ms once they are big, else one decimal; the
 * message and the duration_ms field write them alike. */
void gen_put_db_ms(gen_sb *b, double ms);

/* ------------------------------------------------------------------ */
/* Vocabulary (tables in gen_records.c)                               */
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

/* "TRACE" .. "CRITICAL", as the truth file writes them. */
extern const char *const gen_level_names[GEN_NLEVELS];

typedef enum gen_cat {
	GEN_CAT_APPLICATION,
	GEN_CAT_SECURITY,
	GEN_CAT_ACCESS,
	GEN_CAT_DATABASE,
	GEN_NCATS
} gen_cat;

/* "application" .. "database": canonical category names. */
extern const char *const gen_cat_names[GEN_NCATS];

typedef enum gen_style {
	GEN_STYLE_PYTHON, /* logging + python-json-logger */
	GEN_STYLE_PINO,   /* node */
	GEN_STYLE_ZAP,    /* go */
	GEN_STYLE_JAVA,   /* logback ECS encoder, dotted or nested keys */
	GEN_STYLE_SYSLOG  /* C daemon with syslog severities */
} gen_style;

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

/* The fleet, indexed by GEN_SVC_*. */
extern const gen_service gen_services[GEN_NSVC];

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
	double p_scanner[GEN_NSVC]; /* requests turned into a scanner's 404 on
				     * a random /xxxxxxxx.php path */
	int words[GEN_NSVC];        /* every request's path a random word of
				     * GEN_WORDS (no ids: each a key) */
} gen_mix;

/* The vocabulary of the words incident. */
#define GEN_WORDS 300000

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
	GEN_INC_SCANNER,  /* 2% of requests: 404s on random /xxxxxxxx.php paths */
	GEN_INC_WORDS,    /* every request's path a random word of GEN_WORDS */
	GEN_NINC
} gen_incident_kind;

typedef struct gen_incident {
	gen_incident_kind kind;
	int svc; /* -1: every HTTP service (scanner and words by default) */
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

/* ------------------------------------------------------------------ */
/* Calls between the files                                            */
/* ------------------------------------------------------------------ */

/* (gen_incidents.c) A healthy stream's state for seed from start_ms on,
 * no incidents; the caller adds those to st->incidents. */
void gen_state_init(gen_state *st, uint64_t seed, uint64_t start_ms);

/* (gen_incidents.c) The knobs in force at t_us: the base mix, or a copy
 * in *scratch with the incidents active at t_us applied. */
const gen_mix *gen_mix_at(const gen_state *st, int64_t t_us, gen_mix *scratch);

/* (gen_incidents.c) Parses KIND[:SERVICE]@START+DURATION into *inc;
 * returns NULL, or a sentence saying why spec is bad. */
const char *gen_parse_incident(const char *spec, gen_incident *inc);

/* (gen_records.c) Produces record seq into *ev. Calls must come in
 * sequence order, because event time is cumulative; everything else is
 * drawn from a stream seeded by (seed, seq), so a record's content does
 * not depend on earlier ones. */
void gen_make_event(gen_state *st, uint64_t seq, gen_event *ev);

/* (gen_text.c) Renders ev into line (no newline); returns the length, or
 * 0 if the record could not be made to fit (a generator bug). Pure: the
 * same event always renders the same bytes. */
size_t gen_render(const gen_event *ev, char *line, size_t cap);

#endif /* VG_BENCH_GEN_H */

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
 *   gen.h            PRNG / numbers: xoshiro256** seeded by splitmix64,
 *                    Box-Muller (static inline); the types the files share
 *   gen_text.c       string builder / JSON: bounded appenders, JSON string
 *                    escaping; gen_render(): gen_event -> one JSON line
 *                    (pure, no randomness)
 *   gen_records.c    content tables (services, endpoints, messages);
 *                    gen_make_event(): record i from the state, all
 *                    randomness lives here and produces a plain gen_event
 *   gen_incidents.c  the state, gen_mix_at(), --incident parsing
 *   gen.c            gen_verify(): length; under --check, vigil's own JSON
 *                    parser; main(): CLI, output buffering, truth file
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

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/gen.h"
#include "parse/json.h"

#define GEN_LINE_CAP 1024 /* render buffer: room to detect overflow */
#define GEN_OUT_CAP (1u << 20)

#define GEN_DEFAULT_COUNT 1000u
#define GEN_DEFAULT_SEED 1u
#define GEN_DEFAULT_START_MS 1793491200000ull /* 2026-11-01T00:00:00Z */
/* Latest --start: 3000-01-01T00:00:00Z, so that event times stay well
 * inside four-digit years however many records follow. */
#define GEN_MAX_START_MS 32503680000000ull

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
	uint64_t rate; /* records per second of event time */
} gen_opts;

static void gen_usage(FILE *f)
{
	fputs("usage: gen [--count N] [--seed S] [--start EPOCH_MS] [--truth FILE] [--check]\n"
	      "           [--incident KIND[:SERVICE]@START+DURATION]... [--rate N] [--help]\n"
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
	      "  --rate N          records per second of event time, 1..1000000 (default 1000)\n"
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
	      "      scanner       2% of SERVICE's requests (default: every HTTP service's) become\n"
	      "                    GET 404s on a random /xxxxxxxx.php path, a new endpoint each\n"
	      "                    (a vulnerability scanner; no id, so vigil cannot fold them)\n"
	      "      words         every request's path of SERVICE (default: every HTTP service)\n"
	      "                    a random word of 300,000 (/bakomif): endpoint cardinality\n"
	      "                    e.g. --count 1200000 --incident 5xx@5m+8m\n"
	      "  --help            this text\n",
	      f);
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
	o->rate = 1000;
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
		static const char *const names[] = {"--count", "--seed", "--start", "--truth", "--incident", "--rate"};
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
		if (!gen_parse_u64(val, &v) || (which == 2 && v > GEN_MAX_START_MS) ||
		    (which == 5 && (v < 1 || v > 1000000))) {
			fprintf(stderr, "gen: bad number for %s: '%s'\n", names[which], val);
			return 2;
		}
		if (which == 0)
			o->count = v;
		else if (which == 1)
			o->seed = v;
		else if (which == 5)
			o->rate = v;
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
	st.mean_gap_us = 1e6 / (double)o.rate;
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

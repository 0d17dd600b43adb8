/* poison: mixes malformed and hostile records into a valid NDJSON stream,
 * reproducibly by seed, for the reliability suite's poison scenario.
 *
 *   bench/gen --count M | poison --count N [--seed S] [--max-bytes B]
 *       [--max-depth D] [--truth FILE] >mixed.ndjson
 *
 * Reads the valid lines from standard input and writes them to standard
 * output unchanged, with N poison lines spread evenly among them. Kinds, in
 * turn: truncated and bit-flipped copies of valid lines, random bytes,
 * invalid UTF-8, raw control characters and bad escapes in strings, bad
 * numbers, values that are not objects, trailing bytes, records over
 * --max-bytes (limits.max_record_bytes) and nested past --max-depth
 * (limits.max_depth); and two kinds that are valid JSON and must be
 * archived, not rejected: hostile category values ("../../etc", ...) and
 * messages made to make regular expressions backtrack.
 *
 * --truth FILE gets a line per poison record: KIND, then what vigil must do
 * with it (a dead-letter reason, "any" for some dead-letter reason, or
 * "archive"), then its key: the record's bytes in base64 for dead letters
 * (as vigil cat --dead-letter shows them), its event_id for archived ones.
 * No poison line holds a newline or carriage return (a message per line).
 * Mutations are checked by vigil's own parser (parse/json.h) with the same
 * limits, so every line expected dead is one vigil rejects. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/gen.h"
#include "parse/json.h"

/* The corpus generator's PRNG (xoshiro256** seeded by splitmix64), so a
 * seed means the same stream in both tools. */
static gen_rng rng;

static uint64_t next(void)
{
	return gen_u64(&rng);
}

static size_t below(size_t n)
{
	return n ? (size_t)(next() % n) : 0;
}

/* ---- a growable byte buffer ---- */

struct buf {
	char *p;
	size_t len, cap;
};

static void put(struct buf *b, const void *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		if (!(b->p = realloc(b->p, b->cap))) {
			perror("poison");
			exit(1);
		}
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void putc_(struct buf *b, char c)
{
	put(b, &c, 1);
}

/* ---- what vigil accepts ---- */

static size_t max_bytes = 65536;
static int max_depth = 64;
static struct vg_json_paths *no_paths; /* no fields: the parser only validates */

static int valid(const char *s, size_t n)
{
	const struct vg_json_limits lim = {.max_bytes = max_bytes, .max_depth = (unsigned)max_depth};
	struct vg_record rec;

	return vg_json_extract(no_paths, &lim, s, n, &rec, NULL) == 0;
}

static int has_eol(const char *s, size_t n)
{
	return memchr(s, '\n', n) || memchr(s, '\r', n);
}

/* ---- poison kinds ---- */

enum kind {
	K_TRUNCATE,
	K_BITFLIP,
	K_GARBAGE,
	K_UTF8,
	K_CONTROL,
	K_ESCAPE,
	K_NUMBER,
	K_NOT_OBJECT,
	K_TRAILING,
	K_HUGE,
	K_DEEP,
	K_CATEGORY,
	K_REGEX,
	K_COUNT
};

static const char *const kind_names[K_COUNT] = {
        "truncated",  "bitflip",  "garbage", "utf8", "control",  "escape", "number",
        "not_object", "trailing", "huge",    "deep", "category", "regex",
};
/* What vigil must do: a dead-letter reason, any reason, or archive it. */
static const char *const kind_expect[K_COUNT] = {
        "any",        "any",      "any",  "utf8",  "control", "escape",  "number",
        "not_object", "trailing", "size", "depth", "archive", "archive",
};

/* A small valid record around a message given as raw JSON string bytes. */
static void record(struct buf *b, const char *id, const char *category, const char *msg, size_t msg_len)
{
	puts_(b, "{\"timestamp\":\"2026-11-01T00:00:01Z\",\"level\":\"WARN\",\"service\":\"poison\",\"event_id\":\"");
	puts_(b, id);
	puts_(b, "\"");
	if (category) {
		puts_(b, ",\"category\":\"");
		puts_(b, category);
		puts_(b, "\"");
	}
	puts_(b, ",\"message\":\"");
	put(b, msg, msg_len);
	puts_(b, "\"}");
}

/* Writes a record of kind k to out; returns what vigil must do with it. */
static const char *make(enum kind k, const struct buf *src, const char *id, struct buf *out)
{
	static const char *const bad_utf8[] = {"\xff",       "\xc0\xaf",         "\xed\xa0\x80",         "\x80",
	                                       "\xe2\x82 x", "\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80", "\xc3("};
	static const char *const bad_esc[] = {"\\q", "\\u12G4", "\\ud800 lone", "\\udc00\\ud800", "\\x41", "\\"};
	static const char *const bad_num[] = {"01", "-", "1.", "1.e5", "1e", "+1", ".5", "0x10", "NaN", "Infinity"};
	static const char *const not_obj[] = {"[1,2,3]", "\"just a string\"",      "42",     "null",
	                                      "true",    "[{\"event_id\":\"x\"}]", "-0.5e3", "[]"};
	static const char *const trailing[] = {" {}", "x", ",", "}", " \"more\"", "\x01", " ]"};
	static const char *const hostile[] = {
	        "../../etc",
	        "..",
	        "/etc/passwd",
	        "a/../../b",
	        "\\u002e\\u002e/x",
	        "con",
	        "%2e%2e%2f",
	        "dead-letter",
	        "..\\\\..\\\\windows",
	        "",
	        "security/../../../tmp",
	        ".",
	        "\\u0000",
	        "\xc3\xa9t\xc3\xa9",
	        "SECURITY",
	        " application ",
	        "\\/etc\\/shadow",
	};
	char tmp[512];

	out->len = 0;
	switch (k) {
	case K_TRUNCATE:
		put(out, src->p, 1 + below(src->len - 1)); /* never the whole object */
		break;
	case K_BITFLIP:
		do {
			out->len = 0;
			put(out, src->p, src->len);
			for (size_t f = 1 + below(3); f > 0; f--)
				out->p[below(out->len)] ^= (char)(1u << below(8));
		} while (has_eol(out->p, out->len) || valid(out->p, out->len));
		break;
	case K_GARBAGE:
		do {
			out->len = 0;
			for (size_t n = 1 + below(300); n > 0; n--)
				putc_(out, (char)below(256));
		} while (has_eol(out->p, out->len) || valid(out->p, out->len));
		break;
	case K_UTF8:
	case K_CONTROL:
	case K_ESCAPE: {
		size_t n;

		if (k == K_UTF8)
			n = (size_t)snprintf(tmp, sizeof(tmp), "bad bytes <%s> here", bad_utf8[below(8)]);
		else if (k == K_CONTROL)
			n = (size_t)snprintf(tmp, sizeof(tmp), "raw <%c> control",
			                     "\x01\x02\x07\x08\x09\x0b\x0c\x1b\x1f"[below(9)]);
		else
			n = (size_t)snprintf(tmp, sizeof(tmp), "escape <%s> here", bad_esc[below(6)]);
		record(out, id, NULL, tmp, n);
		break;
	}
	case K_NUMBER: {
		size_t i = below(10);

		snprintf(tmp, sizeof(tmp),
		         "{\"event_id\":\"%s\",\"level\":\"INFO\",\"duration_ms\":%s,\"message\":\"n\"}", id,
		         bad_num[i]);
		puts_(out, tmp);
		return i >= 5 ? "syntax" : "number"; /* not a number at all: a bad token */
	}
	case K_NOT_OBJECT: puts_(out, not_obj[below(8)]); break;
	case K_TRAILING:
		put(out, src->p, src->len);
		puts_(out, trailing[below(7)]);
		break;
	case K_HUGE: {
		size_t want = max_bytes + 1 + below(max_bytes), pad = want > 200 ? want - 200 : want;
		char *m = malloc(pad);

		if (!m)
			exit(1);
		for (size_t i = 0; i < pad; i++)
			m[i] = (char)('a' + below(26));
		record(out, id, NULL, m, pad);
		free(m);
		while (out->len <= max_bytes) /* the record overhead varies with the id */
			puts_(out, " ");
		break;
	}
	case K_DEEP: {
		/* over the depth, under the size: 6 bytes a level at most, 200 for the rest */
		size_t d = (size_t)max_depth + below((max_bytes - 200) / 6 - (size_t)max_depth);
		int obj = (int)below(2);

		snprintf(tmp, sizeof(tmp), "{\"event_id\":\"%s\",\"message\":\"deep\",\"x\":", id);
		puts_(out, tmp);
		for (size_t i = 0; i < d; i++)
			puts_(out, obj ? "{\"a\":" : "[");
		puts_(out, "1");
		for (size_t i = 0; i < d; i++)
			putc_(out, obj ? '}' : ']');
		putc_(out, '}');
		break;
	}
	case K_CATEGORY:
		record(out, id, hostile[below(sizeof(hostile) / sizeof(hostile[0]))], "hostile category", 16);
		break;
	case K_REGEX: {
		static const char *const unit[] = {"select ", "a",        "GET /a", "update x ",   "login ",
		                                   "\\\\",    "\xc3\xa9", "((((",   "authenticat "};
		const char *u = unit[below(9)];
		struct buf m = {0};
		/* Stays valid: under half the size limit (1,000 bytes and more
		 * when the limit leaves room for them). */
		size_t half = max_bytes / 2, n = half > 1001 ? 1000 + below(half - 1000) : half / 2 + below(half / 2);

		while (m.len < n)
			puts_(&m, u);
		puts_(&m, "!");
		record(out, id, NULL, m.p, m.len);
		free(m.p);
		break;
	}
	default: break;
	}
	return kind_expect[k];
}

static void base64(FILE *f, const unsigned char *s, size_t n)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v =
		        (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0) | (i + 2 < n ? s[i + 2] : 0);

		fputc(t[v >> 18 & 63], f);
		fputc(t[v >> 12 & 63], f);
		fputc(i + 1 < n ? t[v >> 6 & 63] : '=', f);
		fputc(i + 2 < n ? t[v & 63] : '=', f);
	}
}

int main(int argc, char **argv)
{
	unsigned long long count = 0, seed_v = 1;
	const char *truth_path = NULL;
	struct buf in = {0}, line = {0}, out = {0};
	size_t *starts = NULL, n_lines = 0, cap = 0;

	for (int i = 1; i < argc; i += 2) { /* OPTION VALUE pairs */
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v) {
			fprintf(stderr, "poison: %s: needs a value\n", argv[i]);
			return 2;
		}
		if (strcmp(argv[i], "--count") == 0)
			count = strtoull(v, NULL, 10);
		else if (strcmp(argv[i], "--seed") == 0)
			seed_v = strtoull(v, NULL, 10);
		else if (strcmp(argv[i], "--max-bytes") == 0)
			max_bytes = strtoull(v, NULL, 10);
		else if (strcmp(argv[i], "--max-depth") == 0)
			max_depth = atoi(v);
		else if (strcmp(argv[i], "--truth") == 0)
			truth_path = v;
		else {
			fprintf(stderr,
			        "usage: poison --count N [--seed S] [--max-bytes B] [--max-depth D] [--truth FILE]\n");
			return 2;
		}
	}
	if (max_bytes < 1024 || max_depth < 1 || (max_bytes - 200) / 6 <= (size_t)max_depth) {
		fprintf(stderr,
		        "poison: --max-bytes at least 1024, --max-depth at least 1 and under (max-bytes - 200) / 6\n");
		return 2;
	}
	if (max_depth > VG_JSON_MAX_DEPTH_CEILING) {
		fprintf(stderr, "poison: --max-depth at most %d (vigil's limits.max_depth)\n", VG_JSON_MAX_DEPTH_CEILING);
		return 2;
	}
	const char *const *none[VG_F_COUNT] = {0};
	const size_t n_none[VG_F_COUNT] = {0};
	char err[256];

	if (vg_json_paths_create(&no_paths, none, n_none, err, sizeof(err)) != 0) {
		fprintf(stderr, "poison: out of memory\n");
		return 1;
	}
	gen_rng_seed(&rng, seed_v);
	char chunk[65536];
	size_t r;

	while ((r = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		put(&in, chunk, r);
	for (size_t p = 0; p < in.len;) {
		char *nl = memchr(in.p + p, '\n', in.len - p);
		size_t e = nl ? (size_t)(nl - in.p) : in.len;

		if (e > p) {
			if (n_lines == cap && !(starts = realloc(starts, (cap = cap * 2 + 1024) * 2 * sizeof(*starts))))
				return 1;
			starts[2 * n_lines] = p;
			starts[2 * n_lines + 1] = e - p;
			n_lines++;
		}
		p = e + 1;
	}
	if (!n_lines && count) {
		fprintf(stderr, "poison: no valid lines on standard input to mix with\n");
		return 2;
	}
	FILE *truth = truth_path ? fopen(truth_path, "w") : NULL;

	if (truth_path && !truth) {
		perror(truth_path);
		return 1;
	}
	unsigned long long made = 0;

	for (size_t i = 0; i < n_lines || made < count; i++) {
		if (i < n_lines) {
			fwrite(in.p + starts[2 * i], 1, starts[2 * i + 1], stdout);
			fputc('\n', stdout);
		}
		/* Spread evenly: after valid line i, poison up to (i+1)*count/n_lines. */
		unsigned long long due = i + 1 >= n_lines ? count : (unsigned long long)(i + 1) * count / n_lines;

		for (; made < due; made++) {
			enum kind k = (enum kind)(made % K_COUNT);
			char id[64];

			line.len = 0;
			put(&line, in.p + starts[2 * (i % n_lines)], starts[2 * (i % n_lines) + 1]);
			snprintf(id, sizeof(id), "poison-%llu-%llu", seed_v, made);
			const char *expect = make(k, &line, id, &out);

			if (has_eol(out.p, out.len) || (strcmp(expect, "archive") == 0) != valid(out.p, out.len) ||
			    (strcmp(expect, "size") != 0 && out.len > max_bytes)) {
				fprintf(stderr, "poison: internal error: %s record %llu is not what it should be\n",
				        kind_names[k], made);
				return 1;
			}
			fwrite(out.p, 1, out.len, stdout);
			fputc('\n', stdout);
			if (truth) {
				fprintf(truth, "%s\t%s\t", kind_names[k], expect);
				if (strcmp(expect, "archive") == 0)
					fputs(id, truth);
				else
					base64(truth, (const unsigned char *)out.p, out.len);
				fputc('\n', truth);
			}
		}
	}
	free(in.p);
	free(line.p);
	free(out.p);
	free(starts);
	vg_json_paths_destroy(no_paths);
	if (fflush(stdout) != 0 || (truth && fclose(truth) != 0)) {
		perror("poison");
		return 1;
	}
	return 0;
}

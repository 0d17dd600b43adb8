/*
 * gen_text.c - the corpus generator's output text: a bounded string
 * builder, JSON string escaping and key/value helpers, RFC 3339 dates
 * (from core/clock, not gmtime) and gen_render(), which turns a gen_event
 * into one JSON line with no randomness. Declarations in gen.h.
 */

#include <string.h>

#include "bench/gen.h"
#include "core/clock.h"

/* ------------------------------------------------------------------ */
/* Bounded string builder and JSON output helpers                     */
/* ------------------------------------------------------------------ */

void gen_sb_init(gen_sb *b, char *mem, size_t cap)
{
	b->p = mem;
	b->len = 0;
	b->cap = cap;
	b->overflow = 0;
	mem[0] = '\0';
}

void gen_put(gen_sb *b, const char *s, size_t n)
{
	if (n > b->cap - 1 - b->len) {
		n = b->cap - 1 - b->len;
		b->overflow = 1;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void gen_puts(gen_sb *b, const char *s)
{
	gen_put(b, s, strlen(s));
}

void gen_putc(gen_sb *b, char c)
{
	gen_put(b, &c, 1);
}

void gen_put_u64(gen_sb *b, uint64_t v)
{
	char t[24];
	int i = (int)sizeof t;
	do {
		t[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	gen_put(b, t + i, sizeof t - (size_t)i);
}

void gen_put_u64_pad(gen_sb *b, uint64_t v, int width)
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
void gen_put_fixed(gen_sb *b, double v, int decimals)
{
	static const uint64_t scale[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
	uint64_t q = (uint64_t)(v * (double)scale[decimals] + 0.5);
	gen_put_u64(b, q / scale[decimals]);
	if (decimals > 0) {
		gen_putc(b, '.');
		gen_put_u64_pad(b, q % scale[decimals], decimals);
	}
}

void gen_put_hex(gen_sb *b, uint64_t v, int digits)
{
	static const char hex[] = "0123456789abcdef";
	char t[16];
	for (int i = digits - 1; i >= 0; i--) {
		t[i] = hex[v & 15];
		v >>= 4;
	}
	gen_put(b, t, (size_t)digits);
}

void gen_put_uuid(gen_sb *b, gen_rng *r)
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

/* Database durations: whole ms once they are big, else one decimal, and
 * the same text in the message and in the duration_ms field. */
void gen_put_db_ms(gen_sb *b, double ms)
{
	gen_put_fixed(b, ms, ms >= 100 ? 0 : 1);
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
size_t gen_render(const gen_event *ev, char *line, size_t cap)
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

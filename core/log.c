#include "core/log.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/clock.h"

#ifndef PIPE_BUF
#define PIPE_BUF 4096
#endif
#define LINE_MAX_BYTES PIPE_BUF /* one write(2) of at most PIPE_BUF is atomic on a pipe */
#define TAIL_RESERVE 80         /* room always kept for the time, the truncation mark and "}\n" */

static _Atomic int min_level = VG_LOG_INFO;
static _Atomic int out_fd = STDERR_FILENO;

static const char *const names[] = {"DEBUG", "INFO", "WARNING", "ERROR"};

void vg_log_set_level(int level)
{
	atomic_store(&min_level, level < VG_LOG_DEBUG ? VG_LOG_DEBUG : level > VG_LOG_ERROR ? VG_LOG_ERROR : level);
}

int vg_log_get_level(void)
{
	return atomic_load_explicit(&min_level, memory_order_relaxed);
}

bool vg_log_enabled(int level)
{
	return level >= atomic_load_explicit(&min_level, memory_order_relaxed);
}

int vg_log_level_from_name(const char *s)
{
	if (!s)
		return -1;
	for (int i = 0; i <= VG_LOG_ERROR; i++) {
		if (strcasecmp(s, names[i]) == 0)
			return i;
	}
	return strcasecmp(s, "warn") == 0 ? VG_LOG_WARNING : -1;
}

const char *vg_log_level_name(int level)
{
	return level >= VG_LOG_DEBUG && level <= VG_LOG_ERROR ? names[level] : "INFO";
}

void vg_log_set_fd(int fd)
{
	atomic_store(&out_fd, fd);
}

/* A line under construction: text past the limit is dropped and marked. */
struct line {
	char b[LINE_MAX_BYTES];
	size_t len, limit;
	bool cut;
};

static void put(struct line *l, const char *s, size_t n)
{
	if (l->len + n > l->limit) {
		n = l->len < l->limit ? l->limit - l->len : 0;
		l->cut = true;
	}
	memcpy(l->b + l->len, s, n);
	l->len += n;
}

static void puts_raw(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

/* A JSON string body (no quotes). A multi-byte UTF-8 sequence is never
 * split: the cut falls before it. */
static void put_escaped(struct line *l, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n && !l->cut; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[6];
		size_t en = 0;

		switch (c) {
		case '"': en = 2, e[0] = '\\', e[1] = '"'; break;
		case '\\': en = 2, e[0] = '\\', e[1] = '\\'; break;
		case '\n': en = 2, e[0] = '\\', e[1] = 'n'; break;
		case '\r': en = 2, e[0] = '\\', e[1] = 'r'; break;
		case '\t': en = 2, e[0] = '\\', e[1] = 't'; break;
		default:
			if (c < 0x20 || c == 0x7f) {
				memcpy(e, "\\u00", 4);
				e[4] = hex[c >> 4];
				e[5] = hex[c & 15];
				en = 6;
			}
		}
		if (en) {
			if (l->len + en > l->limit) {
				l->cut = true;
				break;
			}
			put(l, e, en);
			continue;
		}
		size_t seq = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

		if (seq > n - i)
			seq = n - i;
		if (l->len + seq > l->limit) {
			l->cut = true;
			break;
		}
		put(l, s + i, seq);
		i += seq - 1;
	}
}

static void put_str(struct line *l, const char *s, size_t n)
{
	put(l, "\"", 1);
	size_t limit = l->limit;

	put_escaped(l, s, n);
	l->limit = sizeof(l->b); /* the closing quote is owed even when cut (TAIL_RESERVE has room) */
	put(l, "\"", 1);
	l->limit = limit;
}

static void begin(struct line *l, int level, const char *component)
{
	l->len = 0;
	l->cut = false;
	l->limit = sizeof(l->b) - TAIL_RESERVE;
	puts_raw(l, "{\"level\":\"");
	puts_raw(l, vg_log_level_name(level));
	puts_raw(l, "\",\"component\":");
	put_str(l, component ? component : "vigil", component ? strlen(component) : 5);
	puts_raw(l, ",\"msg\":");
}

static void finish(struct line *l)
{
	char t[32];
	size_t tn = vg_clock_format_rfc3339(vg_clock_now_ms(), t);
	int fd = atomic_load_explicit(&out_fd, memory_order_relaxed);
	size_t off = 0;

	l->limit = sizeof(l->b);
	if (l->cut)
		puts_raw(l, ",\"truncated\":true");
	puts_raw(l, ",\"time\":\"");
	put(l, t, tn);
	puts_raw(l, "\"}\n");
	while (off < l->len) {
		ssize_t w = write(fd, l->b + off, l->len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break; /* nowhere to report it */
		off += (size_t)w;
	}
}

void vg_log(int level, const char *component, const char *fmt, ...)
{
	struct line l;
	char msg[LINE_MAX_BYTES];
	va_list ap;
	int n;

	if (!vg_log_enabled(level))
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	begin(&l, level, component);
	put_str(&l, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
	if ((size_t)n >= sizeof(msg))
		l.cut = true;
	finish(&l);
}

void vg_log_fields(int level, const char *component, const char *msg, const struct vg_log_field *fields,
		   size_t n)
{
	struct line l;

	if (!vg_log_enabled(level))
		return;
	begin(&l, level, component);
	put_str(&l, msg ? msg : "", msg ? strlen(msg) : 0);
	for (size_t i = 0; i < n && !l.cut; i++) {
		const struct vg_log_field *f = &fields[i];
		size_t mark = l.len;
		char num[24];

		put(&l, ",", 1);
		put_str(&l, f->key, strlen(f->key));
		put(&l, ":", 1);
		if (f->type == 'i') {
			put(&l, num, (size_t)snprintf(num, sizeof(num), "%lld", (long long)f->i));
		} else if (f->type == 'j' && f->s) {
			puts_raw(&l, f->s);
		} else if (f->s) {
			put_str(&l, f->s, strlen(f->s));
		} else {
			puts_raw(&l, "null");
		}
		if (l.cut) /* never half a member: drop it whole */
			l.len = mark;
	}
	finish(&l);
}

void vg_log_librdkafka(const char *client, int syslog_level, const char *fac, const char *buf)
{
	/* syslog's levels: 0-3 errors, 4 warning, 5-6 notice and info, 7 debug. */
	int l = syslog_level <= 3   ? VG_LOG_ERROR
		: syslog_level == 4 ? VG_LOG_WARNING
		: syslog_level <= 6 ? VG_LOG_INFO
				    : VG_LOG_DEBUG;

	if (strcmp(fac, "FAIL") == 0)
		l = VG_LOG_DEBUG;
	if (vg_log_enabled(l))
		vg_log_kv(l, "kafka", buf, VG_LOG_S("facility", fac), VG_LOG_S("client", client));
}

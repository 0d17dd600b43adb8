#define _POSIX_C_SOURCE 200809L
#include "core/buf.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"

void vg_buf_free(struct vg_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

static bool reserve(struct vg_buf *b, size_t n)
{
	if (b->len + n <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 4096;

	while (cap < b->len + n)
		cap *= 2;
	char *p = realloc(b->p, cap);

	if (!p) {
		b->failed = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void vg_buf_put(struct vg_buf *b, const void *p, size_t n)
{
	if (n == 0 || !reserve(b, n))
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void vg_buf_puts(struct vg_buf *b, const char *s)
{
	vg_buf_put(b, s, strlen(s));
}

void vg_buf_putc(struct vg_buf *b, char c)
{
	if (reserve(b, 1))
		b->p[b->len++] = c;
}

void vg_buf_put_u64(struct vg_buf *b, uint64_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	vg_buf_put(b, tmp + i, sizeof(tmp) - i);
}

void vg_buf_put_i64(struct vg_buf *b, int64_t v)
{
	if (v < 0) {
		vg_buf_putc(b, '-');
		vg_buf_put_u64(b, (uint64_t)0 - (uint64_t)v);
		return;
	}
	vg_buf_put_u64(b, (uint64_t)v);
}

void vg_buf_put_double(struct vg_buf *b, double v)
{
	char tmp[32];

	if (isnan(v) || isinf(v)) {
		vg_buf_puts(b, "null");
		return;
	}
	/* The range first: converting a double past int64's range is
	 * undefined behaviour. */
	if (fabs(v) < 1e15 && v == (double)(int64_t)v) {
		vg_buf_put_i64(b, (int64_t)v);
		return;
	}
	for (int prec = 6; prec <= 17; prec++) {
		int n = snprintf(tmp, sizeof(tmp), "%.*g", prec, v);

		if (prec == 17 || strtod(tmp, NULL) == v) {
			vg_buf_put(b, tmp, (size_t)n);
			return;
		}
	}
}

void vg_buf_put_json_str(struct vg_buf *b, vg_str s)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	vg_buf_putc(b, '"');
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		vg_buf_put(b, s.p + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': vg_buf_put(b, "\\\"", 2); break;
		case '\\': vg_buf_put(b, "\\\\", 2); break;
		case '\n': vg_buf_put(b, "\\n", 2); break;
		case '\r': vg_buf_put(b, "\\r", 2); break;
		case '\t': vg_buf_put(b, "\\t", 2); break;
		default: {
			char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

			vg_buf_put(b, e, 6);
		}
		}
	}
	vg_buf_put(b, s.p + run, s.len - run);
	vg_buf_putc(b, '"');
}

int vg_buf_write_fd(struct vg_buf *b, int fd)
{
	size_t off = 0;
	int rc = b->failed ? VG_ERR_NOMEM : VG_OK;

	while (off < b->len) {
		ssize_t n = write(fd, b->p + off, b->len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return VG_ERR_IO;
		}
		off += (size_t)n;
	}
	b->len = 0;
	b->failed = false;
	return rc;
}

void vg_buf_put_json_object(struct vg_buf *b, const char *const *names, const char *const *values, size_t n)
{
	vg_buf_putc(b, '{');
	for (size_t i = 0; i < n; i++) {
		if (i)
			vg_buf_putc(b, ',');
		vg_buf_put_json_str(b, vg_str_cstr(names[i]));
		vg_buf_putc(b, ':');
		vg_buf_put_json_str(b, vg_str_cstr(values[i]));
	}
	vg_buf_putc(b, '}');
}

void vg_buf_put_json_time(struct vg_buf *b, int64_t ms)
{
	char t[32];

	vg_clock_format_rfc3339(ms, t);
	vg_buf_putc(b, '"');
	vg_buf_puts(b, t);
	vg_buf_putc(b, '"');
}

void vg_buf_put_json_str_or_null(struct vg_buf *b, vg_str s)
{
	if (s.len == 0)
		vg_buf_puts(b, "null");
	else
		vg_buf_put_json_str(b, s);
}

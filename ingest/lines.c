#define _POSIX_C_SOURCE 200809L
#include "ingest/lines.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"

#define LINES_BUF_MIN (128u << 10) /* bytes */

struct vg_lines {
	int fd;
	size_t max_line;
	char *buf;
	size_t cap, start, end; /* unread data is buf[start..end) */
	bool eof;
	bool skipping; /* inside an oversize line: discard up to its newline */
	uint64_t bytes;
	bool regular; /* a regular file with data: always readable, never idle */
	void (*idle)(void *arg);
	void *idle_arg;
	int idle_ms;
};

void vg_lines_fd_wait(int fd, int interval_ms, void (*idle)(void *arg), void *arg)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	for (int timeout = 0;; timeout = interval_ms) {
		int n = poll(&p, 1, timeout);

		if (n != 0 && !(n < 0 && errno == EINTR))
			return; /* readable, hung up, or an error read() will report */
		if (n == 0)
			idle(arg);
	}
}

void vg_lines_set_idle(struct vg_lines *r, int interval_ms, void (*idle)(void *arg), void *arg)
{
	r->idle = idle;
	r->idle_arg = arg;
	r->idle_ms = interval_ms;
}

int vg_lines_open(struct vg_lines **out, int fd, size_t max_line)
{
	struct vg_lines *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r)
		return VG_ERR_NOMEM;
	struct stat st;

	r->fd = fd;
	r->max_line = max_line;
	/* Empty "regular" files include /proc/kmsg and trace_pipe, which block
	 * on read and do support poll(): only a file with a size skips it. */
	r->regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
	/* Small enough that a read lands in L2 and the parser finds it there;
	 * fill() doubles it while one line does not fit. */
	r->cap = LINES_BUF_MIN;
	if (!(r->buf = malloc(r->cap))) {
		free(r);
		return VG_ERR_NOMEM;
	}
	*out = r;
	return VG_OK;
}

void vg_lines_close(struct vg_lines *r)
{
	if (!r)
		return;
	free(r->buf);
	free(r);
}

uint64_t vg_lines_bytes(const struct vg_lines *r)
{
	return r->bytes;
}

/* Move unread bytes to the front and read more. Returns bytes read, 0 at
 * EOF, -1 on error. */
static ssize_t fill(struct vg_lines *r)
{
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->end == r->cap) {
		/* One unfinished line fills the buffer, and it is no longer
		 * than max_line yet (vg_lines_next reports it oversize past
		 * that), so the buffer never grows past 2 * (max_line + 1). */
		char *nb = realloc(r->buf, r->cap * 2);

		if (!nb) {
			errno = ENOMEM;
			return -1;
		}
		r->buf = nb;
		r->cap *= 2;
	}
	if (r->idle && !r->regular)
		vg_lines_fd_wait(r->fd, r->idle_ms, r->idle, r->idle_arg);
	for (;;) {
		ssize_t n = read(r->fd, r->buf + r->end, r->cap - r->end);

		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0)
			r->end += (size_t)n;
		if (n == 0)
			r->eof = true;
		return n;
	}
}

int vg_lines_next(struct vg_lines *r, vg_str *line, bool *oversize)
{
	for (;;) {
		char *s = r->buf + r->start;
		size_t avail = r->end - r->start;
		char *nl = memchr(s, '\n', avail);

		if (r->skipping) {
			if (nl) {
				r->bytes += (size_t)(nl - s) + 1;
				r->start += (size_t)(nl - s) + 1;
				r->skipping = false;
				continue;
			}
			r->bytes += avail;
			r->start = r->end = 0;
		} else if (nl && (size_t)(nl - s) <= r->max_line) {
			*line = vg_str_make(s, (size_t)(nl - s));
			*oversize = false;
			r->start += line->len + 1;
			r->bytes += line->len + 1;
			return 1;
		} else if (nl || avail > r->max_line) {
			/* Too long: report its head, skip the rest. */
			*line = vg_str_make(s, r->max_line + 1);
			*oversize = true;
			r->start += r->max_line + 1;
			r->bytes += r->max_line + 1;
			r->skipping = true;
			return 1;
		} else if (r->eof) {
			if (avail == 0)
				return 0;
			*line = vg_str_make(s, avail);
			*oversize = false;
			r->start = r->end;
			r->bytes += avail;
			return 1;
		}
		if (r->eof)
			return 0; /* only reached while skipping an oversize tail */
		if (fill(r) < 0)
			return VG_ERR_IO;
	}
}

/* vigil: an append buffer for building output (NDJSON lines, summaries).
 *
 * Grows as needed; vg_buf_write_fd() drains it to a file descriptor. The
 * append functions never fail: on allocation failure the buffer stops
 * growing, drops what does not fit and sets `failed`, which the writer
 * then reports. Not thread-safe: one buffer per thread. */
#ifndef VG_BUF_H
#define VG_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

struct vg_buf {
	char *p;
	size_t len, cap;
	bool failed;
};

void vg_buf_free(struct vg_buf *b);
void vg_buf_put(struct vg_buf *b, const void *p, size_t n);
void vg_buf_puts(struct vg_buf *b, const char *s);
void vg_buf_putc(struct vg_buf *b, char c);
void vg_buf_put_i64(struct vg_buf *b, int64_t v);
void vg_buf_put_u64(struct vg_buf *b, uint64_t v);
/* A finite double as a JSON number (shortest %.17g form that reads back
 * exactly, capped at 17 digits); NaN and infinities as null. */
void vg_buf_put_double(struct vg_buf *b, double v);
/* A JSON string: quotes, and escapes for '"', '\\' and control bytes.
 * s must be valid UTF-8 (vigil only emits validated or decoded text). */
void vg_buf_put_json_str(struct vg_buf *b, vg_str s);
/* Like vg_buf_put_json_str; an empty s as null (a field absent). */
void vg_buf_put_json_str_or_null(struct vg_buf *b, vg_str s);
/* A JSON object of n string members names[i]: values[i], in order. */
void vg_buf_put_json_object(struct vg_buf *b, const char *const *names, const char *const *values, size_t n);
/* A time (ms since the epoch) as a JSON string in RFC 3339 UTC. */
void vg_buf_put_json_time(struct vg_buf *b, int64_t ms);

/* Write everything to fd and empty the buffer. Returns 0, or VG_ERR_IO
 * (errno set) on a write error, or VG_ERR_NOMEM when appends were lost. */
int vg_buf_write_fd(struct vg_buf *b, int fd);

#endif

/* vigil: a newline-delimited record reader over a file descriptor (files,
 * pipes, standard input).
 *
 * Lines are returned as views into the reader's buffer, valid until the
 * next call. A line longer than max_line is not buffered whole: the reader
 * returns its first max_line + 1 bytes flagged as oversize and skips the
 * rest, so memory stays bounded whatever the input. The final line needs no
 * newline. Not thread-safe. */
#ifndef VG_LINES_H
#define VG_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

struct vg_lines;

/* Read from fd (not closed by the reader). Returns 0 or VG_ERR_NOMEM. */
int vg_lines_open(struct vg_lines **out, int fd, size_t max_line);
void vg_lines_close(struct vg_lines *r);

/* The next line, without its '\n'. Returns 1 with *line (and *oversize)
 * set, 0 at end of input, or VG_ERR_IO (errno set). */
int vg_lines_next(struct vg_lines *r, vg_str *line, bool *oversize);

/* Bytes consumed so far, newlines included. */
uint64_t vg_lines_bytes(const struct vg_lines *r);

/* While fd has nothing to read (a quiet pipe or terminal), call idle(arg)
 * every interval_ms; return once it is readable (or at end of input or an
 * error). Returns at once for regular files. */
void vg_lines_fd_wait(int fd, int interval_ms, void (*idle)(void *arg), void *arg);

/* Have the reader call vg_lines_fd_wait(fd, interval_ms, idle, arg) before each
 * read that would block, so a caller can do timed work (close windows) on
 * a quiet stream. NULL idle: none (the default). */
void vg_lines_set_idle(struct vg_lines *r, int interval_ms, void (*idle)(void *arg), void *arg);

#endif

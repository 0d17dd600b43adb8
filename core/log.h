/* vigil: its own logs.
 *
 * One JSON object per line on standard error (or the descriptor set with
 * vg_log_set_fd):
 *
 *   {"level":"WARNING","component":"ingest","msg":"commit failed","error":"...","time":"2026-11-01T12:00:00.123Z"}
 *
 * level, component and msg come first, in that order, then the caller's
 * fields, then the wall time. Each line is built in a buffer of PIPE_BUF
 * bytes and written with one write(2), so lines from several threads never
 * interleave (a message too long for it is cut, and says so with
 * "truncated":true). Strings are escaped for JSON (quotes, backslashes,
 * control bytes).
 *
 * The minimum level is process-wide (default INFO); lines below it cost one
 * atomic load. Every function here is thread-safe. */
#ifndef VG_LOG_H
#define VG_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vg_log_level { VG_LOG_DEBUG = 0, VG_LOG_INFO, VG_LOG_WARNING, VG_LOG_ERROR };

/* Set the minimum level written; out-of-range values are clamped. */
void vg_log_set_level(int level);
int vg_log_get_level(void);

/* True when a line at level would be written (to skip costly arguments). */
bool vg_log_enabled(int level);

/* "debug", "info", "warning" (or "warn"), "error", any case, to the level;
 * -1 when s is none of them. */
int vg_log_level_from_name(const char *s);

/* The upper-case name of a level ("WARNING"). */
const char *vg_log_level_name(int level);

/* A line from librdkafka's log callback (syslog level, facility, client
 * name), as component "kafka"; each module wraps it in the callback type.
 * A connection failure (facility FAIL) also reaches the error callback, or
 * librdkafka's own ERROR line for a client without one: it goes at debug,
 * so it is said once. */
void vg_log_librdkafka(const char *client, int syslog_level, const char *fac, const char *buf);

/* Where lines go (default STDERR_FILENO); for tests. */
void vg_log_set_fd(int fd);

/* One line whose msg is the printf-style format and its arguments. */
void vg_log(int level, const char *component, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A member after msg: a string (escaped), an integer, or raw JSON that the
 * caller guarantees is one valid JSON value (an array it built). */
struct vg_log_field {
	const char *key;
	char type; /* 's', 'i' or 'j' */
	const char *s;
	int64_t i;
};

#define VG_LOG_S(k, v) ((struct vg_log_field){.key = (k), .type = 's', .s = (v)})
#define VG_LOG_I(k, v) ((struct vg_log_field){.key = (k), .type = 'i', .i = (int64_t)(v)})
#define VG_LOG_J(k, v) ((struct vg_log_field){.key = (k), .type = 'j', .s = (v)})

/* One line with a fixed msg and n fields after it. */
void vg_log_fields(int level, const char *component, const char *msg, const struct vg_log_field *fields,
		   size_t n);

/* vg_log_fields with the fields written inline:
 *   vg_log_kv(VG_LOG_WARNING, "ingest", "commit failed", VG_LOG_S("error", name)); */
#define vg_log_kv(level, component, msg, ...)                                                                 \
	vg_log_fields((level), (component), (msg), (const struct vg_log_field[]){__VA_ARGS__},                \
		      sizeof((const struct vg_log_field[]){__VA_ARGS__}) / sizeof(struct vg_log_field))

#endif

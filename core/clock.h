/* vigil: time.
 *
 * Event times are milliseconds since the Unix epoch (UTC) in an int64_t;
 * VG_TIME_NONE marks a time that is absent or could not be read. */
#ifndef VG_CLOCK_H
#define VG_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define VG_TIME_NONE INT64_MIN

/* The last millisecond an epoch number may name: 9999-12-31T23:59:59.999Z. */
#define VG_TIME_EPOCH_MAX 253402300799999LL

/* Why a record has no event time (record.ts_err). Each value is a reason
 * that can be counted; VG_TIME_OK means the time was read. */
enum vg_time_err {
	VG_TIME_OK = 0,
	/* No time field, or a JSON null in it. */
	VG_TIME_ABSENT,
	/* Not a time we can read. */
	VG_TIME_SYNTAX,
	/* A field out of range: month 13, hour 24, :60 where no leap second
	 * can be, a negative or NaN/infinite epoch, an epoch beyond year 9999. */
	VG_TIME_RANGE,
	/* A JSON type that is no time: true, false, an object, an array. */
	VG_TIME_TYPE,
	VG_TIME_ERR_COUNT
};

/* The short snake_case name of e ("ok", "absent", "syntax", "range",
 * "type"); "unknown" for a value out of the enum. Static storage. */
const char *vg_time_err_str(enum vg_time_err e);

/* Parse an event time from text: RFC 3339 or a number. Returns
 * milliseconds since the epoch (UTC), or VG_TIME_NONE with *why set to
 * VG_TIME_SYNTAX or VG_TIME_RANGE; *why is VG_TIME_OK on success (why may
 * be NULL). s need not be NUL-terminated; pure, thread-safe.
 *
 * RFC 3339: "YYYY-MM-DD" then 'T', 't' or a space, then "hh:mm:ss", an
 * optional fraction ('.' or ',' and one or more digits, beyond milliseconds
 * truncated toward the earlier millisecond), then an optional zone: 'Z' or
 * 'z', or an offset "+hh:mm", "+hhmm" or "+hh" ('-' alike). A time without
 * a zone ("2026-11-01T12:00:00") is UTC. Days, hours, minutes and offsets
 * out of range are VG_TIME_RANGE. A leap second (":60") is accepted only at
 * 23:59:60 UTC, once the offset is applied, and reads as 23:59:59.999 of
 * that day (after :59, before the next day); ":60" elsewhere is
 * VG_TIME_RANGE. Years are 0000 to 9999; an offset may carry the instant a
 * few hours past either end.
 *
 * Numbers ("1793491200", "1793491200.5", "1e3", an optional sign) are epochs
 * whose unit is guessed by magnitude: below 1e11 seconds, below 1e14
 * milliseconds, below 1e17 microseconds, otherwise nanoseconds. They are
 * read exactly from their digits (no double), and truncated toward the
 * earlier millisecond. Negative values, "nan", "inf" and "infinity" (any
 * case, any sign) and epochs beyond VG_TIME_EPOCH_MAX are VG_TIME_RANGE;
 * "-0" is zero.
 *
 * Anything else, including "" and surrounding spaces, is VG_TIME_SYNTAX.
 * Plausibility is not judged here: 0, "1e3" and year 0000 are times. */
int64_t vg_clock_parse_time(const char *s, size_t len, enum vg_time_err *why);

/* vg_clock_parse_time for RFC 3339 text only (numbers are refused).
 * Returns milliseconds or VG_TIME_NONE. */
int64_t vg_clock_parse_rfc3339(const char *s, size_t len);

/* Milliseconds from an epoch number, its unit guessed by magnitude as in
 * vg_clock_parse_time (fractions truncated toward the earlier millisecond,
 * within double's precision). VG_TIME_NONE for what vg_clock_parse_time
 * calls VG_TIME_RANGE: NaN, infinities, negatives, beyond
 * VG_TIME_EPOCH_MAX. */
int64_t vg_clock_from_epoch(double v);

/* Format ms as RFC 3339 UTC with milliseconds ("2026-11-01T12:00:00.123Z")
 * into buf (at least 32 bytes). Returns the length written. */
size_t vg_clock_format_rfc3339(int64_t ms, char *buf);

/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t vg_clock_days_from_civil(int64_t y, unsigned m, unsigned d);

/* The inverse: the proleptic Gregorian date (*y, *m 1-12, *d 1-31) of day
 * z since 1970-01-01 (negative before it). Integer arithmetic only, so the
 * same on every C library (no gmtime); thread-safe. */
void vg_clock_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/* Wall-clock and monotonic time in milliseconds / seconds. */
int64_t vg_clock_now_ms(void);
double vg_clock_mono_s(void);

/* The absolute time ms milliseconds from now on clock clk, for
 * pthread_cond_timedwait (CLOCK_REALTIME unless the condition variable
 * was made for another clock). */
struct timespec vg_clock_deadline(clockid_t clk, int64_t ms);

#endif

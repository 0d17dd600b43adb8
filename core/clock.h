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

/* Parse an RFC 3339 timestamp ("2026-11-01T12:00:00.123Z", offsets
 * "+02:00", a space for 'T', lower-case 't'/'z'; fractions beyond
 * milliseconds are truncated). Returns milliseconds or VG_TIME_NONE. */
int64_t vg_clock_parse_rfc3339(const char *s, size_t len);

/* Milliseconds from an epoch number whose unit is guessed by magnitude:
 * below 1e11 seconds, below 1e14 milliseconds, below 1e17 microseconds,
 * otherwise nanoseconds (each covers dates from 1970 to past 5000).
 * VG_TIME_NONE for NaN, infinities and negatives. */
int64_t vg_clock_from_epoch(double v);

/* Format ms as RFC 3339 UTC with milliseconds ("2026-11-01T12:00:00.123Z")
 * into buf (at least 32 bytes). Returns the length written. */
size_t vg_clock_format_rfc3339(int64_t ms, char *buf);

/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t vg_clock_days_from_civil(int64_t y, unsigned m, unsigned d);

/* Wall-clock and monotonic time in milliseconds / seconds. */
int64_t vg_clock_now_ms(void);
double vg_clock_mono_s(void);

/* The absolute time ms milliseconds from now on clock clk, for
 * pthread_cond_timedwait (CLOCK_REALTIME unless the condition variable
 * was made for another clock). */
struct timespec vg_clock_deadline(clockid_t clk, int64_t ms);

#endif

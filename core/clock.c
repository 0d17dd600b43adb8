#define _POSIX_C_SOURCE 200809L
#include "core/clock.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

/* Howard Hinnant's days_from_civil: exact for every Gregorian date. */
int64_t vg_clock_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool digits(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return true;
}

static bool leap(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int64_t vg_clock_parse_rfc3339(const char *s, size_t len)
{
	static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	unsigned Y, M, D, h, mi, sec, ms = 0;
	size_t i = 19;

	if (len < 20 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':')
		return VG_TIME_NONE;
	if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
		return VG_TIME_NONE;
	if (!digits(s, 4, &Y) || !digits(s + 5, 2, &M) || !digits(s + 8, 2, &D) || !digits(s + 11, 2, &h) ||
	    !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &sec))
		return VG_TIME_NONE;
	if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] + (M == 2 && leap(Y)) || h > 23 || mi > 59 || sec > 60)
		return VG_TIME_NONE;
	if (s[i] == '.') {
		unsigned scale = 100;

		i++;
		if (i >= len || s[i] < '0' || s[i] > '9')
			return VG_TIME_NONE;
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
			ms += (unsigned)(s[i] - '0') * scale;
			scale /= 10;
		}
	}
	if (i >= len)
		return VG_TIME_NONE;
	int64_t off_min = 0;

	if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len) {
		off_min = 0;
	} else if ((s[i] == '+' || s[i] == '-') && i + 6 == len && s[i + 3] == ':') {
		unsigned oh, om;

		if (!digits(s + i + 1, 2, &oh) || !digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
			return VG_TIME_NONE;
		off_min = (int64_t)(oh * 60 + om) * (s[i] == '-' ? -1 : 1);
	} else {
		return VG_TIME_NONE;
	}
	if (sec == 60)
		sec = 59; /* a leap second reads as the second before it */
	int64_t days = vg_clock_days_from_civil(Y, M, D);

	return ((days * 86400 + h * 3600 + mi * 60 + sec) - off_min * 60) * 1000 + ms;
}

int64_t vg_clock_from_epoch(double v)
{
	if (!(v >= 0) || isinf(v))
		return VG_TIME_NONE;
	if (v < 1e11)
		return (int64_t)(v * 1000.0);
	if (v < 1e14)
		return (int64_t)v;
	if (v < 1e17)
		return (int64_t)(v / 1e3);
	if (v < 9.2e21)
		return (int64_t)(v / 1e6);
	return VG_TIME_NONE;
}

size_t vg_clock_format_rfc3339(int64_t ms, char *buf)
{
	int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
	int64_t rem = ms - days * 86400000;
	int64_t y;
	unsigned m, d;

	civil_from_days(days, &y, &m, &d);
	unsigned s = (unsigned)(rem / 1000);
	int n = snprintf(buf, 32, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ", (long long)y, m, d, s / 3600,
			 s / 60 % 60, s % 60, (unsigned)(rem % 1000));

	return n > 0 ? (size_t)n : 0;
}

int64_t vg_clock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double vg_clock_mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct timespec vg_clock_deadline(clockid_t clk, int64_t ms)
{
	struct timespec t;

	clock_gettime(clk, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

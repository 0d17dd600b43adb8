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

/* Howard Hinnant's civil_from_days, the inverse. */
void vg_clock_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
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

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool leap(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int64_t refuse(enum vg_time_err *why, enum vg_time_err e)
{
	*why = e;
	return VG_TIME_NONE;
}

const char *vg_time_err_str(enum vg_time_err e)
{
	static const char *const names[VG_TIME_ERR_COUNT] = {
		[VG_TIME_OK] = "ok",       [VG_TIME_ABSENT] = "absent", [VG_TIME_SYNTAX] = "syntax",
		[VG_TIME_RANGE] = "range", [VG_TIME_TYPE] = "type",
	};

	return (unsigned)e < VG_TIME_ERR_COUNT ? names[e] : "unknown";
}

/* The zone after the seconds (and fraction) at s[0..n): none (UTC), Z, or
 * an offset +hh:mm, +hhmm, +hh. Sets *off_min. */
static enum vg_time_err parse_zone(const char *s, size_t n, int64_t *off_min)
{
	unsigned oh, om = 0;

	*off_min = 0;
	if (n == 0 || (n == 1 && (s[0] == 'Z' || s[0] == 'z')))
		return VG_TIME_OK;
	if (s[0] != '+' && s[0] != '-')
		return VG_TIME_SYNTAX;
	if (!(n == 3 && digits(s + 1, 2, &oh)) && !(n == 5 && digits(s + 1, 2, &oh) && digits(s + 3, 2, &om)) &&
	    !(n == 6 && s[3] == ':' && digits(s + 1, 2, &oh) && digits(s + 4, 2, &om)))
		return VG_TIME_SYNTAX;
	if (oh > 23 || om > 59)
		return VG_TIME_RANGE;
	*off_min = (int64_t)(oh * 60 + om) * (s[0] == '-' ? -1 : 1);
	return VG_TIME_OK;
}

/* RFC 3339 (see clock.h). The whole text is checked for syntax before any
 * field for range, so that a malformed time is always VG_TIME_SYNTAX. */
static int64_t parse_rfc3339(const char *s, size_t len, enum vg_time_err *why)
{
	static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	unsigned Y, M, D, h, mi, sec, ms = 0;
	size_t i = 19;
	int64_t off_min;

	if (len < 19 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':')
		return refuse(why, VG_TIME_SYNTAX);
	if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
		return refuse(why, VG_TIME_SYNTAX);
	if (!digits(s, 4, &Y) || !digits(s + 5, 2, &M) || !digits(s + 8, 2, &D) || !digits(s + 11, 2, &h) ||
	    !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &sec))
		return refuse(why, VG_TIME_SYNTAX);
	if (i < len && (s[i] == '.' || s[i] == ',')) {
		size_t first = ++i;

		for (; i < len && is_digit(s[i]); i++) {
			if (i - first < 3)
				ms = ms * 10 + (unsigned)(s[i] - '0');
		}
		if (i == first)
			return refuse(why, VG_TIME_SYNTAX);
		for (size_t n = i - first; n < 3; n++)
			ms *= 10;
	}
	enum vg_time_err zone = parse_zone(s + i, len - i, &off_min);

	if (zone != VG_TIME_OK)
		return refuse(why, zone);
	if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] + (M == 2 && leap(Y)) || h > 23 || mi > 59 || sec > 60)
		return refuse(why, VG_TIME_RANGE);
	int64_t t = vg_clock_days_from_civil(Y, M, D) * 86400 + h * 3600 + mi * 60 + (sec == 60 ? 59 : sec) -
		    off_min * 60;

	if (sec == 60) {
		/* A leap second is inserted after 23:59:59 UTC and nowhere else.
		 * It reads as the last millisecond of :59, so that it sorts after
		 * :59 and before the next day. */
		if ((t % 86400 + 86400) % 86400 != 86399)
			return refuse(why, VG_TIME_RANGE);
		ms = 999;
	}
	*why = VG_TIME_OK;
	return t * 1000 + ms;
}

static bool word_ieq(const char *s, size_t n, const char *w)
{
	size_t i = 0;

	for (; i < n && w[i]; i++) {
		if ((s[i] | 0x20) != w[i])
			return false;
	}
	return i == n && w[i] == '\0';
}

/* A decimal number as an epoch, exactly: its significant digits are kept
 * with the position of the decimal point, so that the unit (by magnitude)
 * and the milliseconds are read off the digits without rounding, whatever
 * the length of the text or its exponent. */
static int64_t parse_number(const char *s, size_t len, enum vg_time_err *why)
{
	char sig[16]; /* the first significant digits (an epoch needs 15) */
	size_t n_sig = 0, i = 0, n_digits = 0;
	int64_t point = 0; /* the value is 0.sig x 10^point */
	bool neg = false;

	if (i < len && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	if (word_ieq(s + i, len - i, "nan") || word_ieq(s + i, len - i, "inf") ||
	    word_ieq(s + i, len - i, "infinity"))
		return refuse(why, VG_TIME_RANGE);
	for (; i < len && is_digit(s[i]); i++, n_digits++) {
		if (n_sig == 0 && s[i] == '0')
			continue;
		if (n_sig < sizeof(sig))
			sig[n_sig++] = s[i];
		point++;
	}
	if (i < len && s[i] == '.') {
		for (i++; i < len && is_digit(s[i]); i++, n_digits++) {
			if (n_sig == 0 && s[i] == '0') {
				point--;
				continue;
			}
			if (n_sig < sizeof(sig))
				sig[n_sig++] = s[i];
		}
	}
	if (n_digits == 0)
		return refuse(why, VG_TIME_SYNTAX);
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		bool eneg = false;
		int64_t e = 0;
		size_t first;

		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			eneg = s[i++] == '-';
		for (first = i; i < len && is_digit(s[i]); i++) {
			if (e < 1000000000) /* saturate: any such exponent is out of range */
				e = e * 10 + (s[i] - '0');
		}
		if (i == first)
			return refuse(why, VG_TIME_SYNTAX);
		point += eneg ? -e : e;
	}
	if (i != len)
		return refuse(why, VG_TIME_SYNTAX);
	if (n_sig == 0) {
		*why = VG_TIME_OK; /* zero, "-0" included */
		return 0;
	}
	if (neg)
		return refuse(why, VG_TIME_RANGE);
	/* value < 10^point, and value >= 10^(point-1): the unit by magnitude,
	 * then the milliseconds are the first k significant digits. */
	int64_t k = point <= 11 ? point + 3 : point <= 14 ? point : point <= 17 ? point - 3 : point - 6;

	if (k > 15)
		return refuse(why, VG_TIME_RANGE);
	int64_t ms = 0;

	for (int64_t d = 0; d < k; d++)
		ms = ms * 10 + ((size_t)d < n_sig ? sig[d] - '0' : 0);
	if (ms > VG_TIME_EPOCH_MAX)
		return refuse(why, VG_TIME_RANGE);
	*why = VG_TIME_OK;
	return ms;
}

int64_t vg_clock_parse_time(const char *s, size_t len, enum vg_time_err *why)
{
	enum vg_time_err ignored;
	unsigned year;

	if (!why)
		why = &ignored;
	if (len == 0) /* s may be NULL (an empty view): no arithmetic on it */
		return refuse(why, VG_TIME_SYNTAX);
	if (len >= 5 && s[4] == '-' && digits(s, 4, &year))
		return parse_rfc3339(s, len, why);
	return parse_number(s, len, why);
}

int64_t vg_clock_parse_rfc3339(const char *s, size_t len)
{
	enum vg_time_err why;

	return parse_rfc3339(s, len, &why);
}

int64_t vg_clock_from_epoch(double v)
{
	double ms;

	if (!(v >= 0) || isinf(v))
		return VG_TIME_NONE;
	if (v < 1e11)
		ms = v * 1e3;
	else if (v < 1e14)
		ms = v;
	else if (v < 1e17)
		ms = v / 1e3;
	else
		ms = v / 1e6;
	ms = floor(ms);
	/* Compared as a double before the conversion: a value beyond int64's
	 * range must never reach the cast. */
	if (!(ms <= (double)VG_TIME_EPOCH_MAX))
		return VG_TIME_NONE;
	return (int64_t)ms;
}

size_t vg_clock_format_rfc3339(int64_t ms, char *buf)
{
	int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
	int64_t rem = ms - days * 86400000;
	int64_t y;
	unsigned m, d;

	vg_clock_civil_from_days(days, &y, &m, &d);
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

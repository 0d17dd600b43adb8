/* Tests for core/clock: event times (RFC 3339, epochs) and why they are
 * refused, epoch units, formatting. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "core/clock.h"

static int64_t p(const char *s)
{
	return vg_clock_parse_rfc3339(s, strlen(s));
}

/* One case of vg_clock_parse_time: the text, the milliseconds it reads as
 * (VG_TIME_NONE when refused) and the reason. */
struct tcase {
	const char *s;
	int64_t ms;
	enum vg_time_err why;
};

#define OK(s, ms) {s, ms, VG_TIME_OK}
#define NO(s, why) {s, VG_TIME_NONE, why}

static void check(const struct tcase *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		enum vg_time_err why = (enum vg_time_err)-1;
		int64_t ms = vg_clock_parse_time(t[i].s, strlen(t[i].s), &why);

		cr_expect_eq(ms, t[i].ms, "\"%s\": %lld, want %lld", t[i].s, (long long)ms, (long long)t[i].ms);
		cr_expect_eq(why, t[i].why, "\"%s\": %s, want %s", t[i].s, vg_time_err_str(why),
			     vg_time_err_str(t[i].why));
	}
}

#define CHECK(t) check(t, sizeof(t) / sizeof(t[0]))

#define T0 1793491200000LL  /* 2026-11-01T00:00:00Z */
#define T12 1793534400000LL /* 2026-11-01T12:00:00Z */
#define LEAP 1483228799999LL /* 2016-12-31T23:59:60Z, read as 23:59:59.999 */

Test(clock, time_err_names)
{
	cr_expect_str_eq(vg_time_err_str(VG_TIME_OK), "ok");
	cr_expect_str_eq(vg_time_err_str(VG_TIME_ABSENT), "absent");
	cr_expect_str_eq(vg_time_err_str(VG_TIME_SYNTAX), "syntax");
	cr_expect_str_eq(vg_time_err_str(VG_TIME_RANGE), "range");
	cr_expect_str_eq(vg_time_err_str(VG_TIME_TYPE), "type");
	cr_expect_str_eq(vg_time_err_str(VG_TIME_ERR_COUNT), "unknown");
	cr_expect_str_eq(vg_time_err_str((enum vg_time_err)-1), "unknown");
}

Test(clock, rfc3339_separators_and_zones)
{
	static const struct tcase t[] = {
		OK("1970-01-01T00:00:00Z", 0),
		OK("2026-11-01T00:00:00Z", T0),
		OK("2026-11-01T00:00:00z", T0),
		OK("2026-11-01t00:00:00Z", T0),
		OK("2026-11-01 00:00:00Z", T0),
		OK("2026-11-01T02:00:00+02:00", T0),
		OK("2026-11-01T02:00:00+0200", T0),
		OK("2026-11-01T02:00:00+02", T0),
		OK("2026-10-31T18:30:00-05:30", T0),
		OK("2026-10-31T18:30:00-0530", T0),
		OK("2026-10-31T19:00:00-05", T0),
		OK("2026-11-01T00:00:00-00:00", T0),
		OK("2026-11-01T23:59:00+23:59", T0),
		OK("2024-02-29T12:00:00Z", 1709208000000LL),
		OK("1969-12-31T23:59:59Z", -1000),
	};

	CHECK(t);
}

Test(clock, rfc3339_without_zone_is_utc)
{
	static const struct tcase t[] = {
		OK("2026-11-01T12:00:00", T12),
		OK("2026-11-01 12:00:00", T12),
		OK("2026-11-01t12:00:00", T12),
		OK("2026-11-01T12:00:00.5", T12 + 500),
		OK("2026-11-01T12:00:00.123456789", T12 + 123),
		OK("2026-11-01 12:00:00,123", T12 + 123), /* Python logging, log4j */
	};

	CHECK(t);
}

Test(clock, rfc3339_fractions_truncate_to_the_earlier_millisecond)
{
	static const struct tcase t[] = {
		OK("2026-11-01T00:00:00.1Z", T0 + 100),
		OK("2026-11-01T00:00:00.12Z", T0 + 120),
		OK("2026-11-01T00:00:00.123Z", T0 + 123),
		OK("2026-11-01T00:00:00.1239Z", T0 + 123),
		OK("2026-11-01T00:00:00.12399Z", T0 + 123),
		OK("2026-11-01T00:00:00.123999Z", T0 + 123),
		OK("2026-11-01T00:00:00.1239999Z", T0 + 123),
		OK("2026-11-01T00:00:00.12399999Z", T0 + 123),
		OK("2026-11-01T00:00:00.123999999Z", T0 + 123),
		OK("2026-11-01T00:00:00.999999999Z", T0 + 999),
		OK("2026-11-01T00:00:00.000000001Z", T0),
		OK("2026-11-01T00:00:00,5Z", T0 + 500),
		OK("2026-11-01T02:00:00.250+02:00", T0 + 250),
		/* before the epoch, truncation is still toward the earlier time */
		OK("1969-12-31T23:59:59.9999Z", -1),
	};

	CHECK(t);
}

Test(clock, rfc3339_leap_second_only_at_2359_utc)
{
	static const struct tcase t[] = {
		OK("2016-12-31T23:59:60Z", LEAP),
		OK("2016-12-31T23:59:60.5Z", LEAP),
		OK("2016-12-31T23:59:60", LEAP),
		OK("2017-01-01T00:59:60+01:00", LEAP),
		OK("2016-12-31T18:29:60-05:30", LEAP),
		OK("2016-06-30T23:59:60Z", 1467331199999LL),
		NO("2016-12-31T23:59:60+01:00", VG_TIME_RANGE), /* 22:59:60 UTC */
		NO("2017-01-01T00:59:60Z", VG_TIME_RANGE),
		NO("2016-12-31T23:58:60Z", VG_TIME_RANGE),
		NO("2016-12-31T22:59:60Z", VG_TIME_RANGE),
	};

	CHECK(t);
	/* It sorts after :59 and before the next day. */
	cr_expect_lt(p("2016-12-31T23:59:59.998Z"), p("2016-12-31T23:59:60Z"));
	cr_expect_lt(p("2016-12-31T23:59:60Z"), p("2017-01-01T00:00:00Z"));
}

/* Regression: ":60" away from 23:59 UTC was read as :59. */
Test(clock, regression_second_60_at_noon_is_range_not_59)
{
	enum vg_time_err why;

	cr_expect_eq(vg_clock_parse_time("2026-11-01T12:34:60Z", 20, &why), VG_TIME_NONE);
	cr_expect_eq(why, VG_TIME_RANGE);
	cr_expect_eq(p("2026-11-01T12:34:60Z"), VG_TIME_NONE);
}

Test(clock, rfc3339_range)
{
	static const struct tcase t[] = {
		NO("2026-13-01T00:00:00Z", VG_TIME_RANGE), NO("2026-00-01T00:00:00Z", VG_TIME_RANGE),
		NO("2026-11-00T00:00:00Z", VG_TIME_RANGE), NO("2026-11-31T00:00:00Z", VG_TIME_RANGE),
		NO("2026-12-32T00:00:00Z", VG_TIME_RANGE), NO("2025-02-29T00:00:00Z", VG_TIME_RANGE),
		NO("1900-02-29T00:00:00Z", VG_TIME_RANGE), NO("2026-11-01T24:00:00Z", VG_TIME_RANGE),
		NO("2026-11-01T00:60:00Z", VG_TIME_RANGE), NO("2026-11-01T00:00:61Z", VG_TIME_RANGE),
		NO("2026-11-01T00:00:99", VG_TIME_RANGE),  NO("2026-11-01T00:00:00+24:00", VG_TIME_RANGE),
		NO("2026-11-01T00:00:00+02:60", VG_TIME_RANGE), NO("2026-11-01T00:00:00-9900", VG_TIME_RANGE),
		NO("2026-11-01T00:00:00+25", VG_TIME_RANGE),
	};

	CHECK(t);
}

Test(clock, rfc3339_syntax)
{
	static const struct tcase t[] = {
		NO("", VG_TIME_SYNTAX),
		NO("2026-11-01", VG_TIME_SYNTAX),
		NO("2026-11-01T00:00", VG_TIME_SYNTAX),
		NO("2026-11-01T00:00:0", VG_TIME_SYNTAX),
		NO("2026-11-01T00:00:00.Z", VG_TIME_SYNTAX),
		NO("2026-11-01T00:00:00.", VG_TIME_SYNTAX),
		NO("2026-11-01T00:00:00Zjunk", VG_TIME_SYNTAX),
		NO("2026-11-01T00:00:00ZZ", VG_TIME_SYNTAX),
		NO("2026-11-01T00:00:00 ", VG_TIME_SYNTAX),
		NO(" 2026-11-01T00:00:00Z", VG_TIME_SYNTAX),
		NO("2026-11-01T00:00:00 +02:00", VG_TIME_SYNTAX),
		NO("2026-11-01T00:00:00+2", VG_TIME_SYNTAX),
		NO("2026-11-01T00:00:00+020", VG_TIME_SYNTAX),
		NO("2026-11-01T00:00:00+02:0", VG_TIME_SYNTAX),
		NO("2026-11-01T00:00:00+02-00", VG_TIME_SYNTAX),
		NO("2026-11-01T00:00:00+02:000", VG_TIME_SYNTAX),
		NO("2026-11-01T00:00:00 UTC", VG_TIME_SYNTAX),
		NO("20x6-11-01T00:00:00Z", VG_TIME_SYNTAX),
		NO("2026-1x-01T00:00:00Z", VG_TIME_SYNTAX),
		NO("2026-11-01X00:00:00Z", VG_TIME_SYNTAX),
		NO("2026/11/01T00:00:00Z", VG_TIME_SYNTAX),
		NO("2026-11-01T00-00-00Z", VG_TIME_SYNTAX),
		NO("yesterday", VG_TIME_SYNTAX),
		NO("12:00:00", VG_TIME_SYNTAX),
		/* syntax is checked before range: a malformed time is syntax */
		NO("2026-13-01T00:00:00Zjunk", VG_TIME_SYNTAX),
		NO("2026-11-01T12:34:60+2", VG_TIME_SYNTAX),
	};

	CHECK(t);
}

Test(clock, rfc3339_years_0000_and_9999)
{
	static const struct tcase t[] = {
		OK("0000-01-01T00:00:00Z", -62167219200000LL),
		OK("0000-02-29T00:00:00Z", -62167219200000LL + 59 * 86400000LL), /* year 0 is a leap year */
		OK("9999-12-31T23:59:59.999Z", VG_TIME_EPOCH_MAX),
		OK("9999-12-31T23:59:60Z", VG_TIME_EPOCH_MAX),
	};

	CHECK(t);
}

Test(clock, epoch_strings_by_magnitude)
{
	static const struct tcase t[] = {
		OK("1793491200", T0),
		OK("1793491200.5", T0 + 500),
		OK("1793491200.123456", T0 + 123),
		OK("1793491200.999999999", T0 + 999),
		OK("1793491200123", T0 + 123),
		OK("1793491200123.9", T0 + 123),
		OK("1793491200123456", T0 + 123),
		OK("1793491200123999", T0 + 123),
		OK("1793491200123456789", T0 + 123),
		/* beyond a double's 53 bits: still the earlier millisecond */
		OK("1793491200123999999", T0 + 123),
		OK("1793491200123999999.9", T0 + 123),
		OK("00001793491200", T0),
		OK("+1793491200", T0),
		/* the unit boundaries */
		OK("99999999999", 99999999999000LL),
		OK("100000000000", 100000000000LL),
		OK("99999999999999", 99999999999999LL),
		OK("100000000000000", 100000000000LL),
		OK("99999999999999999", 99999999999999LL),
		OK("100000000000000000", 100000000000LL),
		/* nanoseconds beyond uint64: up to the end of year 9999 */
		OK("253402300799999999999", VG_TIME_EPOCH_MAX),
	};

	CHECK(t);
}

Test(clock, epoch_strings_absurd_but_valid)
{
	static const struct tcase t[] = {
		OK("0", 0),
		OK("-0", 0),
		OK("0.0", 0),
		OK("-0.000", 0),
		OK("1.5", 1500),
		OK(".5", 500),
		OK("1.", 1000),
		OK("0.0005", 0),
		OK("1e3", 1000000),
		OK("1E3", 1000000),
		OK("1e+3", 1000000),
		OK("1.7934912e9", T0),
		OK("17934912E2", T0),
		OK("1793491200123e-3", T0 + 123),
		OK("0.1793491200123e13", T0 + 123),
		OK("1e-400", 0),
		OK("0e999999999999", 0),
	};

	CHECK(t);
}

Test(clock, epoch_strings_range)
{
	static const struct tcase t[] = {
		NO("-5", VG_TIME_RANGE),
		NO("-1793491200", VG_TIME_RANGE),
		NO("-0.001", VG_TIME_RANGE),
		NO("-1e3", VG_TIME_RANGE),
		NO("NaN", VG_TIME_RANGE),
		NO("nan", VG_TIME_RANGE),
		NO("-nan", VG_TIME_RANGE),
		NO("inf", VG_TIME_RANGE),
		NO("+INF", VG_TIME_RANGE),
		NO("Infinity", VG_TIME_RANGE),
		NO("-Infinity", VG_TIME_RANGE),
		/* beyond 9999-12-31T23:59:59.999Z */
		NO("253402300800000000000", VG_TIME_RANGE),
		NO("1000000000000000000000", VG_TIME_RANGE),
		NO("1e21", VG_TIME_RANGE),
		NO("1e400", VG_TIME_RANGE),
		NO("1e999999999999999999999", VG_TIME_RANGE),
		NO("100000000000000000000000000000000000000000000000000000000000000000000000000000000000000", VG_TIME_RANGE),
	};

	CHECK(t);
}

Test(clock, epoch_strings_syntax)
{
	static const struct tcase t[] = {
		NO("-", VG_TIME_SYNTAX),    NO("+", VG_TIME_SYNTAX),     NO(".", VG_TIME_SYNTAX),
		NO("e3", VG_TIME_SYNTAX),   NO("1e", VG_TIME_SYNTAX),    NO("1e+", VG_TIME_SYNTAX),
		NO("1.2.3", VG_TIME_SYNTAX), NO("--1", VG_TIME_SYNTAX),  NO("0x10", VG_TIME_SYNTAX),
		NO(" 1793491200", VG_TIME_SYNTAX), NO("1793491200 ", VG_TIME_SYNTAX),
		NO("1793491200s", VG_TIME_SYNTAX), NO("nanx", VG_TIME_SYNTAX), NO("in", VG_TIME_SYNTAX),
		NO("1,5", VG_TIME_SYNTAX),
	};

	CHECK(t);
}

Test(clock, parse_time_reads_only_len_bytes)
{
	/* No terminating NUL: ASan sees any read past the array. */
	static const char ts[20] = "2026-11-01T00:00:00Z";
	static const char num[10] = "1793491200";
	enum vg_time_err why;

	cr_expect_eq(vg_clock_parse_time(ts, sizeof(ts), &why), T0);
	cr_expect_eq(why, VG_TIME_OK);
	cr_expect_eq(vg_clock_parse_time(ts, 19, &why), T0);
	cr_expect_eq(vg_clock_parse_time(num, sizeof(num), &why), T0);
	cr_expect_eq(vg_clock_parse_time("2026-11-01T00:00:00Zjunk", 20, &why), T0);
	cr_expect_eq(vg_clock_parse_time("1793491200123", 10, &why), T0);
	cr_expect_eq(vg_clock_parse_time(NULL, 0, &why), VG_TIME_NONE);
	cr_expect_eq(why, VG_TIME_SYNTAX);
	cr_expect_eq(vg_clock_parse_time("1e3", 3, NULL), 1000000);
	cr_expect_eq(vg_clock_parse_time("x", 1, NULL), VG_TIME_NONE);
}

Test(clock, parse_rfc3339_is_rfc3339_only)
{
	cr_expect_eq(p("2026-11-01T12:00:00"), T12);
	cr_expect_eq(p("2026-11-01T02:00:00+0200"), T0);
	cr_expect_eq(p("2016-12-31T23:59:60Z"), LEAP);
	cr_expect_eq(p("1793491200"), VG_TIME_NONE);
	cr_expect_eq(p("2026-11-01"), VG_TIME_NONE);
	cr_expect_eq(p(""), VG_TIME_NONE);
}

Test(clock, epoch_units_by_magnitude)
{
	cr_expect_eq(vg_clock_from_epoch(1793491200.0), 1793491200000LL);
	cr_expect_eq(vg_clock_from_epoch(1793491200.123), 1793491200123LL);
	cr_expect_eq(vg_clock_from_epoch(1793491200.5), 1793491200500LL);
	cr_expect_eq(vg_clock_from_epoch(1793491200123.0), 1793491200123LL);
	cr_expect_eq(vg_clock_from_epoch(1793491200123456.0), 1793491200123LL);
	cr_expect_eq(vg_clock_from_epoch(1793491200123456789.0), 1793491200123LL);
	cr_expect_eq(vg_clock_from_epoch(0.0), 0);
	cr_expect_eq(vg_clock_from_epoch(-0.0), 0);
	cr_expect_eq(vg_clock_from_epoch(1.5), 1500);
	cr_expect_eq(vg_clock_from_epoch(2.5e20), 250000000000000LL);
	cr_expect_eq(vg_clock_from_epoch(2.534e20), 253400000000000LL);
}

/* Every refusal without undefined behaviour: values far beyond int64 never
 * reach a conversion (the suite runs under UBSan too). */
Test(clock, epoch_double_range)
{
	cr_expect_eq(vg_clock_from_epoch(-5), VG_TIME_NONE);
	cr_expect_eq(vg_clock_from_epoch(-1e-9), VG_TIME_NONE);
	cr_expect_eq(vg_clock_from_epoch(NAN), VG_TIME_NONE);
	cr_expect_eq(vg_clock_from_epoch(-NAN), VG_TIME_NONE);
	cr_expect_eq(vg_clock_from_epoch(INFINITY), VG_TIME_NONE);
	cr_expect_eq(vg_clock_from_epoch(-INFINITY), VG_TIME_NONE);
	cr_expect_eq(vg_clock_from_epoch(2.6e20), VG_TIME_NONE);
	cr_expect_eq(vg_clock_from_epoch(9.3e21), VG_TIME_NONE);
	cr_expect_eq(vg_clock_from_epoch(1e30), VG_TIME_NONE);
	cr_expect_eq(vg_clock_from_epoch(1e300), VG_TIME_NONE);
	cr_expect_eq(vg_clock_from_epoch(1.7976931348623157e308), VG_TIME_NONE);
}

Test(clock, format_round_trips)
{
	char buf[32];
	static const int64_t t[] = {0,  1793491200123LL, 1709208000000LL, 253402300799999LL, -1000, -62167219200000LL,
				    LEAP};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t n = vg_clock_format_rfc3339(t[i], buf);

		cr_expect_eq(vg_clock_parse_rfc3339(buf, n), t[i], "%s", buf);
	}
	vg_clock_format_rfc3339(1793491200123LL, buf);
	cr_expect_str_eq(buf, "2026-11-01T00:00:00.123Z");
}

Test(clock, days_from_civil)
{
	cr_expect_eq(vg_clock_days_from_civil(1970, 1, 1), 0);
	cr_expect_eq(vg_clock_days_from_civil(2000, 3, 1), 11017);
	cr_expect_eq(vg_clock_days_from_civil(1969, 12, 31), -1);
}

/* Tests for core/clock: RFC 3339, epoch units, formatting. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/clock.h"

static int64_t p(const char *s)
{
	return vg_clock_parse_rfc3339(s, strlen(s));
}

Test(clock, rfc3339_forms)
{
	cr_expect_eq(p("1970-01-01T00:00:00Z"), 0);
	cr_expect_eq(p("2026-11-01T00:00:00Z"), 1793491200000LL);
	cr_expect_eq(p("2026-11-01T00:00:00.123Z"), 1793491200123LL);
	cr_expect_eq(p("2026-11-01T00:00:00.123456789Z"), 1793491200123LL);
	cr_expect_eq(p("2026-11-01T00:00:00.5Z"), 1793491200500LL);
	cr_expect_eq(p("2026-11-01 00:00:00z"), 1793491200000LL);
	cr_expect_eq(p("2026-11-01t02:00:00+02:00"), 1793491200000LL);
	cr_expect_eq(p("2026-10-31T19:30:00-04:30"), 1793491200000LL);
	cr_expect_eq(p("2024-02-29T12:00:00Z"), 1709208000000LL);
	cr_expect_eq(p("1969-12-31T23:59:59Z"), -1000);
}

Test(clock, rfc3339_rejects)
{
	cr_expect_eq(p(""), VG_TIME_NONE);
	cr_expect_eq(p("2026-11-01"), VG_TIME_NONE);
	cr_expect_eq(p("2026-11-01T00:00:00"), VG_TIME_NONE); /* no zone */
	cr_expect_eq(p("2026-13-01T00:00:00Z"), VG_TIME_NONE);
	cr_expect_eq(p("2025-02-29T00:00:00Z"), VG_TIME_NONE);
	cr_expect_eq(p("2026-11-01T24:00:00Z"), VG_TIME_NONE);
	cr_expect_eq(p("2026-11-01T00:00:00.Z"), VG_TIME_NONE);
	cr_expect_eq(p("2026-11-01T00:00:00+0200"), VG_TIME_NONE);
	cr_expect_eq(p("2026-11-01T00:00:00Zjunk"), VG_TIME_NONE);
	cr_expect_eq(p("20x6-11-01T00:00:00Z"), VG_TIME_NONE);
}

Test(clock, epoch_units_by_magnitude)
{
	cr_expect_eq(vg_clock_from_epoch(1793491200.0), 1793491200000LL);
	cr_expect_eq(vg_clock_from_epoch(1793491200.123), 1793491200123LL);
	cr_expect_eq(vg_clock_from_epoch(1793491200123.0), 1793491200123LL);
	cr_expect_eq(vg_clock_from_epoch(1793491200123456.0), 1793491200123LL);
	cr_expect_eq(vg_clock_from_epoch(1793491200123456789.0), 1793491200123LL);
	cr_expect_eq(vg_clock_from_epoch(-5), VG_TIME_NONE);
	cr_expect_eq(vg_clock_from_epoch(0.0 / 0.0), VG_TIME_NONE);
	cr_expect_eq(vg_clock_from_epoch(1e300), VG_TIME_NONE);
}

Test(clock, format_round_trips)
{
	char buf[32];
	static const int64_t t[] = {0, 1793491200123LL, 1709208000000LL, 253402300799999LL, -1000};

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

/* Tests for core/buf: JSON output helpers. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "core/buf.h"

static void expect_buf(struct vg_buf *b, const char *want)
{
	cr_expect(b->len == strlen(want) && memcmp(b->p, want, b->len) == 0, "got '%.*s' want '%s'", (int)b->len,
		  b->p, want);
	b->len = 0;
}

Test(buf, numbers)
{
	struct vg_buf b = {0};

	vg_buf_put_i64(&b, -9223372036854775807LL - 1);
	expect_buf(&b, "-9223372036854775808");
	vg_buf_put_u64(&b, 0);
	expect_buf(&b, "0");
	vg_buf_put_double(&b, 12.5);
	expect_buf(&b, "12.5");
	vg_buf_put_double(&b, 0.1);
	expect_buf(&b, "0.1");
	vg_buf_put_double(&b, 200);
	expect_buf(&b, "200");
	vg_buf_put_double(&b, NAN);
	expect_buf(&b, "null");
	vg_buf_put_double(&b, INFINITY);
	expect_buf(&b, "null");
	vg_buf_put_double(&b, 1.0 / 3);
	expect_buf(&b, "0.3333333333333333"); /* shortest form that reads back */
	vg_buf_free(&b);
}

/* Issue 19, finding 10: a double beyond int64's range (a duration_ms of
 * 1e300 or 1.23e29) was converted to an integer before the range check:
 * undefined behaviour, which UBSan aborts on. The whole double range. */
Test(buf, doubles_beyond_int64_are_printed_without_conversion)
{
	struct vg_buf b = {0};

	vg_buf_put_double(&b, 1e300);
	expect_buf(&b, "1e+300");
	vg_buf_put_double(&b, -1.23e29);
	expect_buf(&b, "-1.23e+29");
	vg_buf_put_double(&b, 9223372036854775808.0);
	expect_buf(&b, "9.223372036854776e+18");
	vg_buf_put_double(&b, 1.7976931348623157e308);
	expect_buf(&b, "1.7976931348623157e+308");
	vg_buf_put_double(&b, 4.9e-324);
	expect_buf(&b, "4.94066e-324");
	vg_buf_free(&b);
}

Test(buf, json_strings_are_escaped)
{
	struct vg_buf b = {0};

	vg_buf_put_json_str(&b, vg_str_make("a\"b\\c\n\x01\xc3\xa9", 9));
	expect_buf(&b, "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\"");
	vg_buf_put_json_str(&b, VG_STR_LIT(""));
	expect_buf(&b, "\"\"");
	vg_buf_free(&b);
}

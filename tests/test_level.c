/* Tests for parse/level: the level table. */
#include <criterion/criterion.h>
#include <string.h>

#include "parse/level.h"

static int text(const char *s)
{
	return vg_level_parse_text(s, strlen(s));
}

static int num(double d)
{
	struct vg_value v = {.type = VG_J_NUMBER, .num = d};

	return vg_level_parse(&v);
}

Test(level, names_case_insensitive)
{
	static const struct {
		const char *name;
		int want;
	} t[] = {
		{"trace", VG_LEVEL_TRACE},       {"TRACE", VG_LEVEL_TRACE},       {"debug", VG_LEVEL_DEBUG},
		{"Debug", VG_LEVEL_DEBUG},       {"info", VG_LEVEL_INFO},         {"INFO", VG_LEVEL_INFO},
		{"notice", VG_LEVEL_INFO},       {"informational", VG_LEVEL_INFO}, {"warn", VG_LEVEL_WARNING},
		{"WARNING", VG_LEVEL_WARNING},   {"Warning", VG_LEVEL_WARNING},   {"err", VG_LEVEL_ERROR},
		{"error", VG_LEVEL_ERROR},       {"ERROR", VG_LEVEL_ERROR},       {"crit", VG_LEVEL_CRITICAL},
		{"critical", VG_LEVEL_CRITICAL}, {"fatal", VG_LEVEL_CRITICAL},    {"FATAL", VG_LEVEL_CRITICAL},
		{"alert", VG_LEVEL_CRITICAL},    {"emerg", VG_LEVEL_CRITICAL},    {"emergency", VG_LEVEL_CRITICAL},
		{"panic", VG_LEVEL_CRITICAL},    {" info ", VG_LEVEL_INFO},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		cr_expect_eq(text(t[i].name), t[i].want, "%s", t[i].name);
}

Test(level, unknown_is_not_guessed)
{
	cr_expect_eq(text(""), VG_LEVEL_UNKNOWN);
	cr_expect_eq(text("verbose"), VG_LEVEL_UNKNOWN);
	cr_expect_eq(text("inf"), VG_LEVEL_UNKNOWN);
	cr_expect_eq(text("errors"), VG_LEVEL_UNKNOWN);
	cr_expect_eq(text("a-very-long-level-name"), VG_LEVEL_UNKNOWN);
	cr_expect_eq(num(8), VG_LEVEL_UNKNOWN);
	cr_expect_eq(num(35), VG_LEVEL_UNKNOWN);
	cr_expect_eq(num(-1), VG_LEVEL_UNKNOWN);
	cr_expect_eq(num(3.5), VG_LEVEL_UNKNOWN);
	cr_expect_eq(num(70), VG_LEVEL_UNKNOWN);
	struct vg_value absent = {.type = VG_J_NONE}, boolean = {.type = VG_J_TRUE};

	cr_expect_eq(vg_level_parse(&absent), VG_LEVEL_UNKNOWN);
	cr_expect_eq(vg_level_parse(&boolean), VG_LEVEL_UNKNOWN);
}

Test(level, syslog_numbers)
{
	static const int want[8] = {VG_LEVEL_CRITICAL, VG_LEVEL_CRITICAL, VG_LEVEL_CRITICAL, VG_LEVEL_ERROR,
				    VG_LEVEL_WARNING,  VG_LEVEL_INFO,     VG_LEVEL_INFO,     VG_LEVEL_DEBUG};
	for (int i = 0; i < 8; i++) {
		char s[4] = {(char)('0' + i), 0};

		cr_expect_eq(num(i), want[i], "syslog %d", i);
		cr_expect_eq(text(s), want[i], "syslog \"%d\"", i);
	}
}

Test(level, pino_numbers)
{
	cr_expect_eq(num(10), VG_LEVEL_TRACE);
	cr_expect_eq(num(20), VG_LEVEL_DEBUG);
	cr_expect_eq(num(30), VG_LEVEL_INFO);
	cr_expect_eq(num(40), VG_LEVEL_WARNING);
	cr_expect_eq(num(50), VG_LEVEL_ERROR);
	cr_expect_eq(num(60), VG_LEVEL_CRITICAL);
	cr_expect_eq(text("50"), VG_LEVEL_ERROR);
}

Test(level, escaped_string)
{
	struct vg_value v = {.type = VG_J_STRING, .flags = VG_V_ESCAPED, .raw = VG_STR_LIT("\\u0045RROR")};

	cr_expect_eq(vg_level_parse(&v), VG_LEVEL_ERROR);
}

#include "parse/level.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "parse/json.h"

static int level_from_number(long n)
{
	static const signed char syslog[8] = {
		VG_LEVEL_CRITICAL, VG_LEVEL_CRITICAL, VG_LEVEL_CRITICAL, VG_LEVEL_ERROR,
		VG_LEVEL_WARNING,  VG_LEVEL_INFO,     VG_LEVEL_INFO,     VG_LEVEL_DEBUG,
	};

	if (n >= 0 && n <= 7)
		return syslog[n];
	switch (n) {
	case 10: return VG_LEVEL_TRACE;
	case 20: return VG_LEVEL_DEBUG;
	case 30: return VG_LEVEL_INFO;
	case 40: return VG_LEVEL_WARNING;
	case 50: return VG_LEVEL_ERROR;
	case 60: return VG_LEVEL_CRITICAL;
	}
	return VG_LEVEL_UNKNOWN;
}

/* Names zero-padded to 16 bytes: a record's level is compared as two
 * 64-bit words, not with a memcmp call per name. */
struct name {
	char s[16];
	unsigned char len, level;
};

#define N(str, lv) { str, sizeof(str) - 1, lv }

static const struct name names[] = {
	N("info", VG_LEVEL_INFO),         N("error", VG_LEVEL_ERROR),
	N("warn", VG_LEVEL_WARNING),      N("warning", VG_LEVEL_WARNING),
	N("debug", VG_LEVEL_DEBUG),       N("trace", VG_LEVEL_TRACE),
	N("err", VG_LEVEL_ERROR),         N("fatal", VG_LEVEL_CRITICAL),
	N("critical", VG_LEVEL_CRITICAL), N("crit", VG_LEVEL_CRITICAL),
	N("notice", VG_LEVEL_INFO),       N("alert", VG_LEVEL_CRITICAL),
	N("emerg", VG_LEVEL_CRITICAL),    N("emergency", VG_LEVEL_CRITICAL),
	N("panic", VG_LEVEL_CRITICAL),    N("dpanic", VG_LEVEL_CRITICAL),
	N("informational", VG_LEVEL_INFO),
};

static bool same16(const char *a, const char *b)
{
	uint64_t a0, a1, b0, b1;

	memcpy(&a0, a, 8);
	memcpy(&a1, a + 8, 8);
	memcpy(&b0, b, 8);
	memcpy(&b1, b + 8, 8);
	return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

int vg_level_parse_text(const char *s, size_t len)
{
	char low[16] = {0};

	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= sizeof(low))
		return VG_LEVEL_UNKNOWN;
	if (s[0] >= '0' && s[0] <= '9') {
		long n = 0;

		for (size_t i = 0; i < len; i++) {
			if (s[i] < '0' || s[i] > '9' || i >= 3)
				return VG_LEVEL_UNKNOWN;
			n = n * 10 + (s[i] - '0');
		}
		return level_from_number(n);
	}
	for (size_t i = 0; i < len; i++)
		low[i] = (char)vg_ascii_lower((unsigned char)s[i]);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (names[i].len == len && same16(names[i].s, low))
			return names[i].level;
	}
	return VG_LEVEL_UNKNOWN;
}

int vg_level_parse(const struct vg_value *v)
{
	switch (v->type) {
	case VG_J_NUMBER: {
		double d = v->num;

		if (!(d >= 0 && d <= 100) || d != (double)(long)d)
			return VG_LEVEL_UNKNOWN;
		return level_from_number((long)d);
	}
	case VG_J_STRING:
		if (v->flags & VG_V_ESCAPED) {
			char buf[96];

			if (v->raw.len > sizeof(buf))
				return VG_LEVEL_UNKNOWN;
			return vg_level_parse_text(buf, vg_json_decode(v->raw, buf));
		}
		return vg_level_parse_text(v->raw.p, v->raw.len);
	default:
		return VG_LEVEL_UNKNOWN;
	}
}

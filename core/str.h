/* vigil: string views.
 *
 * A vg_str is a pointer and a length into memory someone else owns (the
 * Kafka message, the input line, a scratch arena). It is never
 * NUL-terminated by contract and lives as long as what it points into. */
#ifndef VG_STR_H
#define VG_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

typedef struct vg_str {
	const char *p;
	size_t len;
} vg_str;

#define VG_STR_NULL ((vg_str){NULL, 0})
#define VG_STR_LIT(s) ((vg_str){(s), sizeof(s) - 1})

static inline vg_str vg_str_make(const char *p, size_t len)
{
	return (vg_str){p, len};
}

static inline vg_str vg_str_cstr(const char *s)
{
	return (vg_str){s, s ? strlen(s) : 0};
}

static inline bool vg_str_eq(vg_str a, vg_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static inline bool vg_str_eq_cstr(vg_str a, const char *s)
{
	return vg_str_eq(a, vg_str_cstr(s));
}

static inline unsigned char vg_ascii_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Case-insensitive (ASCII only) comparison of a view with a lower-case
 * C string. */
static inline bool vg_str_ieq_lower(vg_str a, const char *lower)
{
	size_t i;

	for (i = 0; i < a.len; i++) {
		if (lower[i] == '\0' || vg_ascii_lower((unsigned char)a.p[i]) != (unsigned char)lower[i])
			return false;
	}
	return lower[i] == '\0';
}

#endif

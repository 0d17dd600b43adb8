/* vigil: string views.
 *
 * A vg_str is a pointer and a length into memory someone else owns (the
 * Kafka message, the input line, a scratch arena). It is never
 * NUL-terminated by contract and lives as long as what it points into. */
#ifndef VG_STR_H
#define VG_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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

/* Load n <= 8 bytes of p as the low bytes of a word, reading only
 * p[0..n): two overlapping loads for 4..8, bytes below that. */
static inline uint64_t vg_load_tail(const void *p, size_t n)
{
	const unsigned char *b = (const unsigned char *)p;
	uint32_t lo, hi;

	if (n >= 4) {
		memcpy(&lo, b, 4);
		memcpy(&hi, b + n - 4, 4);
		return (uint64_t)lo | (uint64_t)hi << 32;
	}
	if (n == 0)
		return 0;
	return (uint64_t)b[0] | (uint64_t)b[n >> 1] << 8 | (uint64_t)b[n - 1] << 16;
}

/* a[0..n) == b[0..n), by words that never read past either end: for the
 * short labels and keys of the hot paths, cheaper than a memcmp call. */
static inline bool vg_bytes_eq(const void *a, const void *b, size_t n)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
	uint64_t u, v;

	if (n <= 8)
		return vg_load_tail(x, n) == vg_load_tail(y, n);
	for (size_t i = 0; i + 8 < n; i += 8) {
		memcpy(&u, x + i, 8);
		memcpy(&v, y + i, 8);
		if (u != v)
			return false;
	}
	memcpy(&u, x + n - 8, 8);
	memcpy(&v, y + n - 8, 8);
	return u == v;
}

static inline bool vg_str_eq(vg_str a, vg_str b)
{
	return a.len == b.len && vg_bytes_eq(a.p, b.p, a.len);
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

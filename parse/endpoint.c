#include "parse/endpoint.h"

#include <stdbool.h>
#include <string.h>

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_id(const char *s, size_t n)
{
	bool all_digits = true, all_hex = true, any_digit = false;

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool d = s[i] >= '0' && s[i] <= '9';

		all_digits &= d;
		any_digit |= d;
		all_hex &= is_hex(s[i]);
	}
	if (all_digits)
		return true;
	if (all_hex && n >= 8 && any_digit)
		return true;
	/* UUID: 8-4-4-4-12 hex digits. */
	if (n == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-') {
		for (size_t i = 0; i < n; i++) {
			if (i != 8 && i != 13 && i != 18 && i != 23 && !is_hex(s[i]))
				return false;
		}
		return true;
	}
	return false;
}

size_t vg_endpoint_normalize(const char *in, size_t len, char *out)
{
	const char *p = in, *end;
	size_t o = 0;

	/* Query and fragment first, so a '/' inside them is never a segment. */
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '?' || in[i] == '#') {
			len = i;
			break;
		}
	}
	end = in + len;
	const char *scheme = NULL;

	for (const char *s = p; s + 2 < end && *s != '/'; s++) {
		if (s[0] == ':' && s[1] == '/' && s[2] == '/') {
			scheme = s + 3;
			break;
		}
	}
	if (scheme) {
		p = memchr(scheme, '/', (size_t)(end - scheme));
		if (!p)
			p = end; /* "https://host": the root */
		if (p == end) {
			out[0] = '/';
			return 1;
		}
	}
	while (p < end) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		const char *seg_end = slash ? slash : end;
		size_t n = (size_t)(seg_end - p);
		const char *src = p;

		if (is_id(p, n)) {
			src = ":id";
			n = 3;
		}
		if (o + n + (slash ? 1 : 0) > VG_ENDPOINT_MAX) {
			if (o == 0) { /* one giant segment: cut it */
				n = VG_ENDPOINT_MAX;
				memcpy(out, src, n);
				o = n;
			}
			break;
		}
		memcpy(out + o, src, n);
		o += n;
		if (slash)
			out[o++] = '/';
		p = slash ? slash + 1 : end;
	}
	return o;
}

#include "parse/endpoint.h"

#include <stdbool.h>
#include <string.h>

/* Character classes, one table look-up per byte. */
enum { C_DIGIT = 1, C_HEX = 2, C_STOP = 4 /* '/', '?', '#': a segment ends */ };

static const unsigned char cls[256] = {
	['0'] = C_DIGIT | C_HEX, ['1'] = C_DIGIT | C_HEX, ['2'] = C_DIGIT | C_HEX, ['3'] = C_DIGIT | C_HEX,
	['4'] = C_DIGIT | C_HEX, ['5'] = C_DIGIT | C_HEX, ['6'] = C_DIGIT | C_HEX, ['7'] = C_DIGIT | C_HEX,
	['8'] = C_DIGIT | C_HEX, ['9'] = C_DIGIT | C_HEX, ['a'] = C_HEX,           ['b'] = C_HEX,
	['c'] = C_HEX,           ['d'] = C_HEX,           ['e'] = C_HEX,           ['f'] = C_HEX,
	['A'] = C_HEX,           ['B'] = C_HEX,           ['C'] = C_HEX,           ['D'] = C_HEX,
	['E'] = C_HEX,           ['F'] = C_HEX,           ['/'] = C_STOP,          ['?'] = C_STOP,
	['#'] = C_STOP,
};

/* UUID: 8-4-4-4-12 hex digits (the caller checked length 36). */
static bool is_uuid(const unsigned char *s)
{
	if (s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-')
		return false;
	for (size_t i = 0; i < 36; i++) {
		if (i != 8 && i != 13 && i != 18 && i != 23 && !(cls[s[i]] & C_HEX))
			return false;
	}
	return true;
}

size_t vg_endpoint_normalize(const char *in, size_t len, char *out)
{
	const unsigned char *p = (const unsigned char *)in, *end = p + len;
	size_t o = 0;

	/* An absolute URL: skip "scheme://host". Paths start with '/', so
	 * only look when they do not. */
	if (len > 0 && *p != '/') {
		for (const unsigned char *s = p; s + 2 < end && *s != '/' && *s != '?' && *s != '#'; s++) {
			if (s[0] == ':' && s[1] == '/' && s[2] == '/') {
				p = s + 3;
				while (p < end && *p != '/' && *p != '?' && *p != '#')
					p++;
				if (p == end || *p != '/') {
					out[0] = '/';
					return 1; /* "https://host": the root */
				}
				break;
			}
		}
	}
	for (;;) {
		const unsigned char *seg = p;
		unsigned all = C_DIGIT | C_HEX, any = 0, t = 0;

		while (p < end && !((t = cls[*p]) & C_STOP)) {
			all &= t;
			any |= t;
			p++;
		}
		size_t n = (size_t)(p - seg);
		const unsigned char *src = seg;

		/* An id: all digits; or 8+ hex with a digit; or a UUID. */
		if (n > 0 && ((all & C_DIGIT) || ((all & C_HEX) && n >= 8 && (any & C_DIGIT)) ||
			      (n == 36 && is_uuid(seg)))) {
			src = (const unsigned char *)":id";
			n = 3;
		}
		bool slash = p < end && *p == '/';

		if (o + n + slash > VG_ENDPOINT_MAX) {
			if (o == 0) { /* one giant segment: cut it */
				memcpy(out, src, VG_ENDPOINT_MAX);
				o = VG_ENDPOINT_MAX;
			}
			return o;
		}
		memcpy(out + o, src, n);
		o += n;
		if (!slash)
			return o; /* end, query or fragment */
		out[o++] = '/';
		p++;
	}
}

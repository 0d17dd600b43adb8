#include "parse/endpoint.h"

#include <stdbool.h>
#include <string.h>

/* Character classes, one table look-up per byte. */
enum {
	C_DIGIT = 1,
	C_HEX = 2,
	C_STOP = 4, /* '/', '?', '#': a segment ends */
	C_SEP = 8,  /* '.', '-', '_': a token within a segment ends */
};

static const unsigned char cls[256] = {
	['0'] = C_DIGIT | C_HEX, ['1'] = C_DIGIT | C_HEX, ['2'] = C_DIGIT | C_HEX, ['3'] = C_DIGIT | C_HEX,
	['4'] = C_DIGIT | C_HEX, ['5'] = C_DIGIT | C_HEX, ['6'] = C_DIGIT | C_HEX, ['7'] = C_DIGIT | C_HEX,
	['8'] = C_DIGIT | C_HEX, ['9'] = C_DIGIT | C_HEX, ['a'] = C_HEX,           ['b'] = C_HEX,
	['c'] = C_HEX,           ['d'] = C_HEX,           ['e'] = C_HEX,           ['f'] = C_HEX,
	['A'] = C_HEX,           ['B'] = C_HEX,           ['C'] = C_HEX,           ['D'] = C_HEX,
	['E'] = C_HEX,           ['F'] = C_HEX,           ['/'] = C_STOP,          ['?'] = C_STOP,
	['#'] = C_STOP,           ['.'] = C_SEP,           ['-'] = C_SEP,           ['_'] = C_SEP,
};

/* An id token: all digits, or 8+ hex characters with a digit. */
static bool is_id(unsigned all, unsigned any, size_t n)
{
	return n > 0 && ((all & C_DIGIT) || ((all & C_HEX) && n >= 8 && (any & C_DIGIT)));
}

/* A segment with separators ("main.3f2a9c1b.js", "export-20261101"): into
 * out, each token that is an id of 8 or more characters as ":id" ("main.:id.js");
 * shorter numbers stay ("v1.2.3", "2026-11-01"). Returns the length, at
 * most n. */
static size_t tokens(const unsigned char *seg, size_t n, unsigned char *out)
{
	size_t o = 0, i = 0;

	while (i < n) {
		size_t j = i;
		unsigned all = C_DIGIT | C_HEX, any = 0;

		while (j < n && !(cls[seg[j]] & C_SEP)) {
			all &= cls[seg[j]];
			any |= cls[seg[j]];
			j++;
		}
		if (j - i >= 8 && is_id(all, any, j - i)) {
			memcpy(out + o, ":id", 3);
			o += 3;
		} else {
			memcpy(out + o, seg + i, j - i);
			o += j - i;
		}
		if (j < n)
			out[o++] = seg[j];
		i = j + 1;
	}
	return o;
}

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
		unsigned char tok[VG_ENDPOINT_MAX];

		/* An id: all digits; or 8+ hex with a digit; or a UUID. */
		if (is_id(all, any, n) || (n == 36 && is_uuid(seg))) {
			src = (const unsigned char *)":id";
			n = 3;
		} else if ((any & C_SEP) && n >= 8 && n <= sizeof(tok)) {
			src = tok;
			n = tokens(seg, n, tok);
		}
		bool slash = p < end && *p == '/';

		if (o + n + slash > VG_ENDPOINT_MAX) {
			if (o == 0) { /* one giant segment: cut it where a character starts */
				o = VG_ENDPOINT_MAX;
				while (o > 0 && o < n && (src[o] & 0xC0) == 0x80)
					o--;
				memcpy(out, src, o);
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

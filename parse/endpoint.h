/* vigil: endpoint normalisation.
 *
 * Turns a request path or URL into a low-cardinality endpoint label:
 *   - scheme and host of an absolute URL are dropped ("https://h/x" -> "/x");
 *   - the query string and fragment are dropped;
 *   - a path segment that is a decimal number, a UUID, or a hex id of 8 or
 *     more characters with at least one digit becomes ":id"
 *     ("/api/v1/events/123" -> "/api/v1/events/:id");
 *   - within a segment, a token between '.', '-' or '_' that is such an id
 *     of 8 or more characters becomes ":id" too (hashed asset names:
 *     "/static/js/main.3f2a9c1b.js" -> "/static/js/main.:id.js");
 *   - the result is cut at VG_ENDPOINT_MAX bytes (at a segment boundary
 *     when possible, else where a UTF-8 character starts).
 * Reentrant; no allocation. */
#ifndef VG_ENDPOINT_H
#define VG_ENDPOINT_H

#include <stddef.h>

#define VG_ENDPOINT_MAX 256

/* Normalise in[0..len) into out, which holds at least VG_ENDPOINT_MAX
 * bytes. Returns the length written (0 for an empty path). */
size_t vg_endpoint_normalize(const char *in, size_t len, char *out);

#endif

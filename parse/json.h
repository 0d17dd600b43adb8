/* vigil: the JSON field extractor.
 *
 * vg_json_extract() validates one JSON document completely (RFC 8259 and
 * UTF-8) and, in the same pass, fills a record with views of the fields
 * vigil reads. It never allocates and never copies the input: every view
 * points into the caller's buffer and lives as long as it does.
 *
 * Which keys feed which field comes from a compiled set of paths
 * (vg_json_paths), built once from the configuration and shared read-only
 * by every thread. A dotted path "http.status" matches both a nested
 * object ({"http":{"status":..}}) and a literal top-level key
 * ({"http.status":..}). When a field is found under several of its paths,
 * the path listed first wins; when one key appears twice in an object,
 * the last occurrence wins. Values inside arrays are never matched.
 *
 * Thread safety: a vg_json_paths is immutable after creation; extract and
 * decode are reentrant. */
#ifndef VG_JSON_H
#define VG_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "core/record.h"

/* Why a document was rejected. The names (vg_json_reason_str) are stable:
 * they label metrics and dead-letter entries. */
enum vg_json_reason {
	VG_JR_OK = 0,
	VG_JR_EMPTY,      /* no bytes, or only whitespace */
	VG_JR_SIZE,       /* longer than limits.max_record_bytes */
	VG_JR_NOT_OBJECT, /* valid start of a value, but not an object */
	VG_JR_SYNTAX,     /* not JSON: bad token, missing comma/colon/quote, truncated */
	VG_JR_TRAILING,   /* a complete object followed by more than whitespace */
	VG_JR_UTF8,       /* invalid UTF-8 inside a string */
	VG_JR_ESCAPE,     /* bad backslash escape, or a lone/misordered surrogate */
	VG_JR_CONTROL,    /* raw control character (< 0x20) inside a string */
	VG_JR_NUMBER,     /* malformed number (leading zero, missing digits) */
	VG_JR_DEPTH,      /* nesting deeper than limits.max_depth */
	VG_JR_COUNT
};

/* The stable lower-case name of a reason ("syntax"); "unknown" when out of
 * range. */
const char *vg_json_reason_str(int reason);

/* The summary members "records", "rejected" and "rejected_by_reason" (an
 * object of the reasons counted, by name, in reason order) into b;
 * by_reason has VG_JR_COUNT entries. The command summaries all use it. */
struct vg_buf;
void vg_json_put_counts(struct vg_buf *b, uint64_t records, uint64_t rejected, const uint64_t *by_reason);

/* Where and why a document was rejected. */
struct vg_json_error {
	int reason;    /* enum vg_json_reason */
	size_t offset; /* byte offset of the offending input */
};

struct vg_json_paths;

/* Compile the field paths. paths[f] is an array of n[f] dotted paths for
 * field f (enum vg_field); earlier entries take precedence. Returns 0, or
 * VG_ERR_CONFIG with a sentence in errbuf (empty path, empty component,
 * a path used by two fields), or VG_ERR_NOMEM. The caller owns *out and
 * frees it with vg_json_paths_destroy(). */
int vg_json_paths_create(struct vg_json_paths **out, const char *const *const paths[VG_F_COUNT],
			 const size_t n[VG_F_COUNT], char *errbuf, size_t errlen);

/* Free compiled paths; NULL is a no-op. */
void vg_json_paths_destroy(struct vg_json_paths *paths);

/* Hard ceiling on limits.max_depth (the parser's stack lives on the C stack). */
#define VG_JSON_MAX_DEPTH_CEILING 1024

struct vg_json_limits {
	size_t max_bytes;   /* documents longer than this: VG_JR_SIZE */
	unsigned max_depth; /* 1 = a flat object; at most VG_JSON_MAX_DEPTH_CEILING */
};

/* Validate buf[0..len) and extract the configured fields into rec (every
 * field is reset first; absent fields have type VG_J_NONE). Returns 0 when
 * the document is a valid JSON object within the limits, or VG_ERR_PARSE
 * with err filled (err may be NULL). On rejection rec's contents are
 * unspecified. */
int vg_json_extract(const struct vg_json_paths *paths, const struct vg_json_limits *limits,
		    const char *buf, size_t len, struct vg_record *rec, struct vg_json_error *err);

/* Decode the escapes of a validated string value (the raw bytes between the
 * quotes) into dst, which must hold at least raw.len bytes: decoding never
 * grows a string. Returns the decoded length. The input must have passed
 * vg_json_extract; on anything else the result is unspecified but memory
 * safe. */
size_t vg_json_decode(vg_str raw, char *dst);

/* Validate UTF-8 in buf[0..len) (no overlongs, surrogates or code points
 * past U+10FFFF). Returns true when valid. */
bool vg_json_utf8_valid(const char *buf, size_t len);

#endif

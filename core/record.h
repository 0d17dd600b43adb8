/* vigil: the record model.
 *
 * A record is a set of views into the raw message bytes, one per field
 * vigil reads, filled by the JSON extractor (parse/json.h), plus the
 * results of classification (parse/classify.h). Nothing here owns memory:
 * every view is valid until the message buffer is released or reused. */
#ifndef VG_RECORD_H
#define VG_RECORD_H

#include <stdint.h>

#include "core/str.h"

/* The fields vigil reads. The paths each one is looked up under come from
 * the `fields` section of the configuration. */
enum vg_field {
	VG_F_TIME,
	VG_F_LEVEL,
	VG_F_CATEGORY,
	VG_F_SERVICE,
	VG_F_LOGGER,
	VG_F_MESSAGE,
	VG_F_STATUS,
	VG_F_ENDPOINT,
	VG_F_METHOD,
	VG_F_DURATION,
	VG_F_EXCEPTION,
	VG_F_REQUEST_ID,
	VG_F_USER_ID,
	VG_F_COUNT
};

/* The name of a field ("duration"), as the configuration's `fields` section
 * spells it; "unknown" for out of range. Static storage; thread-safe. */
const char *vg_field_name(int field);

/* The inverse: the field of a name, -1 when it is none. */
int vg_field_from_name(const char *name);

/* The JSON type of an extracted value. */
enum vg_jtype {
	VG_J_NONE = 0, /* field absent */
	VG_J_STRING,
	VG_J_NUMBER,
	VG_J_TRUE,
	VG_J_FALSE,
	VG_J_NULL,
	VG_J_OBJECT,
	VG_J_ARRAY,
};

/* Flags on a string value. */
#define VG_V_ESCAPED 0x01u /* contains backslash escapes: decode before use */

/* One extracted value. For strings, raw is the bytes between the quotes,
 * still escaped; for every other type, the value's raw JSON text. For
 * numbers, num holds the value as a double. */
struct vg_value {
	vg_str raw;
	double num;
	uint8_t type;  /* enum vg_jtype */
	uint8_t flags; /* VG_V_* */
	uint8_t prio;  /* index of the matching path in the field's list */
};

/* Normalised levels, in increasing severity. */
enum vg_level {
	VG_LEVEL_UNKNOWN = 0,
	VG_LEVEL_TRACE,
	VG_LEVEL_DEBUG,
	VG_LEVEL_INFO,
	VG_LEVEL_WARNING,
	VG_LEVEL_ERROR,
	VG_LEVEL_CRITICAL,
	VG_LEVEL_COUNT
};

struct vg_record {
	vg_str raw; /* the whole message, as given to the extractor */
	struct vg_value f[VG_F_COUNT];
	/* Filled by classification. */
	uint8_t level;          /* enum vg_level */
	uint8_t category;       /* index into the configured category list */
	uint8_t category_src;   /* how the category was decided (enum vg_catsrc) */
	uint16_t retention_days;
	int status;           /* HTTP status, 0 when absent or not a number */
	double duration_ms;   /* as read (negative, huge or infinite too); NaN when absent or not a number */
	int64_t ts_ms;        /* event time, VG_TIME_NONE (INT64_MIN) when absent or unparsable */
	uint8_t ts_err;       /* enum vg_time_err: why ts_ms is VG_TIME_NONE (VG_TIME_OK when it is not) */
	vg_str endpoint;      /* normalised endpoint (scratch), empty when absent */
	vg_str service;       /* decoded service name, empty when absent */
	vg_str method;        /* HTTP method, upper-case (scratch), empty when absent */
	uint32_t counters;    /* bit i: aggregate.counters[i] matches this record */
};

/* The upper-case name of a level ("WARNING"); "UNKNOWN" for out of range.
 * Static storage; thread-safe. */
const char *vg_level_name(int level);

/* The inverse: the level of an upper- or lower-case name ("warning"), -1
 * when it is none of vg_level_name's (aliases such as "warn" are
 * parse/level.h's business). */
int vg_level_from_name(const char *name);

/* A position in a Kafka partition: the offset after the last record of it
 * something holds (the archive's durable positions, the offsets the
 * consumer stores). topic points into its owner's memory. */
struct vg_offset {
	const char *topic;
	int32_t partition;
	int64_t next;
};

#endif

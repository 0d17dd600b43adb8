/* vigil: level normalisation.
 *
 * Maps what services write as a level to enum vg_level:
 *   names, case-insensitive: trace; debug; info, informational, notice;
 *     warn, warning; err, error; crit, critical, fatal, alert, emerg,
 *     emergency, panic, dpanic
 *   syslog severities 0-7: 0-2 CRITICAL, 3 ERROR, 4 WARNING, 5-6 INFO, 7 DEBUG
 *   pino/bunyan numbers: 10 TRACE, 20 DEBUG, 30 INFO, 40 WARNING, 50 ERROR,
 *     60 CRITICAL
 * Numbers may also come as strings ("30"). Anything else, and an absent
 * level, is VG_LEVEL_UNKNOWN: counted, never guessed.
 *
 * Reentrant; no allocation. */
#ifndef VG_LEVEL_H
#define VG_LEVEL_H

#include "core/record.h"

/* The level of an extracted value (see above). */
int vg_level_parse(const struct vg_value *v);

/* The level of a level name or number written as text (no JSON escapes). */
int vg_level_parse_text(const char *s, size_t len);

#endif

/* vigil: the record model's names. See record.h. */
#include "core/record.h"

#include <strings.h>

static const char *const level_names[VG_LEVEL_COUNT] = {
	"UNKNOWN", "TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL",
};

const char *vg_level_name(int level)
{
	return (level >= 0 && level < VG_LEVEL_COUNT) ? level_names[level] : "UNKNOWN";
}

int vg_level_from_name(const char *name)
{
	for (int l = 0; l < VG_LEVEL_COUNT; l++) {
		if (strcasecmp(level_names[l], name) == 0)
			return l;
	}
	return -1;
}

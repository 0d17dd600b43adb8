/* vigil: the names of the record model's fields and levels. See record.h. */
#include "core/record.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

static const char *const field_names[VG_F_COUNT] = {
	[VG_F_TIME] = "time",
	[VG_F_LEVEL] = "level",
	[VG_F_CATEGORY] = "category",
	[VG_F_SERVICE] = "service",
	[VG_F_LOGGER] = "logger",
	[VG_F_MESSAGE] = "message",
	[VG_F_STATUS] = "status",
	[VG_F_ENDPOINT] = "endpoint",
	[VG_F_METHOD] = "method",
	[VG_F_DURATION] = "duration",
	[VG_F_EXCEPTION] = "exception",
	[VG_F_REQUEST_ID] = "request_id",
	[VG_F_USER_ID] = "user_id",
};

static const char *const level_names[VG_LEVEL_COUNT] = {
	"UNKNOWN", "TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL",
};

/* The index of name in names[0..n) (in any case when fold), or -1. */
static int name_index(const char *const names[], int n, const char *name, bool fold)
{
	for (int i = 0; i < n; i++) {
		if ((fold ? strcasecmp(names[i], name) : strcmp(names[i], name)) == 0)
			return i;
	}
	return -1;
}

const char *vg_field_name(int field)
{
	return (field >= 0 && field < VG_F_COUNT) ? field_names[field] : "unknown";
}

int vg_field_from_name(const char *name)
{
	return name_index(field_names, VG_F_COUNT, name, false);
}

const char *vg_level_name(int level)
{
	return (level >= 0 && level < VG_LEVEL_COUNT) ? level_names[level] : "UNKNOWN";
}

int vg_level_from_name(const char *name)
{
	return name_index(level_names, VG_LEVEL_COUNT, name, true);
}

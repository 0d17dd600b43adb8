/* libFuzzer target for the archive reader's parsers (make fuzz): manifest
 * lines and archive paths come from disk, where a crash or a bad disk can
 * leave anything.
 *
 * Besides "no crash, no sanitizer report": an accepted manifest line has a
 * frame's shape (compressed and record counts within what the line could
 * say), and an accepted path names a layout the writer makes (a class of
 * at least one day and an hour or day span). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sink/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vg_reader_frame fr;
	struct vg_reader_file f;
	char path[4096];

	if (vg_reader_frame_parse((const char *)data, size, &fr) == 0) {
		if (size < 10 || data[0] != '{' || data[size - 1] != '}')
			abort();
		if (fr.offset > INT64_MAX || fr.records > INT64_MAX)
			abort();
	}
	if (size < sizeof(path)) {
		memcpy(path, data, size);
		path[size] = '\0';
		if (vg_reader_parse_path(path, &f)) {
			if (f.span_ms != 3600000 && f.span_ms != 86400000)
				abort();
			if (f.span_ms == 3600000 && (f.retention_days == 0 || !f.category[0]))
				abort();
			if (strchr(f.category, '/'))
				abort();
		}
	}
	return 0;
}

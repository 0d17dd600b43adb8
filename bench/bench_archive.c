/* vigil's side of make bench-archive: the archive writer alone. The corpus
 * is loaded and classified first (untimed); the timed part appends every
 * record to one worker's writer with its retention class, category and
 * hour, and syncs as vigil run does (frames every flush_bytes, fsync each),
 * then closes. Prints one JSON line. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/bench_common.h"
#include "core/clock.h"
#include "sink/archive.h"

struct item {
	size_t off, len;
	unsigned days;
	uint8_t category, level;
	int64_t ts;
};

int main(int argc, char **argv)
{
	char err[1024];

	if (argc != 4) {
		fprintf(stderr, "usage: bench_archive CORPUS DIR LEVEL\n");
		return 2;
	}
	size_t len;
	char *buf = bench_load(argv[1], &len);
	struct vg_stage stg;

	bench_stage_open(&stg);
	struct vg_config *cfg = stg.cfg;
	struct vg_json_paths *paths = stg.paths;
	struct vg_classifier *cls = stg.classifier;
	struct vg_classify_ctx *ctx = stg.ctx;
	struct vg_json_limits lim = stg.limits;
	size_t cap = 1 << 20, cnt = 0;
	struct item *items = malloc(cap * sizeof(*items));
	struct vg_record rec;
	struct vg_json_error je;

	for (const char *s = buf, *end = buf + len; s < end;) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t l = nl ? (size_t)(nl - s) : (size_t)(end - s);

		if (vg_json_extract(paths, &lim, s, l, &rec, &je) == 0) {
			vg_classify(ctx, &rec);
			if (cnt == cap)
				items = realloc(items, (cap *= 2) * sizeof(*items));
			items[cnt++] = (struct item){(size_t)(s - buf), l, rec.retention_days, rec.category, rec.level,
						     rec.ts_ms};
		}
		s += l + 1;
	}
	struct vg_archive *a;
	struct vg_archive_params ap = {.dir = argv[2], .instance = "bench", .level = atoi(argv[3]),
				       .flush_bytes = cfg->archive_flush_bytes, .flush_ms = cfg->archive_flush_ms,
				       .rotate_bytes = cfg->archive_rotate_bytes};

	if (vg_archive_open(&a, &ap, 0, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	double c0 = bench_cpu_seconds(), t0 = vg_clock_mono_s();
	int64_t now = vg_clock_now_ms();

	for (size_t i = 0; i < cnt; i++) {
		const struct item *it = &items[i];

		vg_archive_append(a, vg_str_make(buf + it->off, it->len), it->days,
				  vg_classifier_category_name(cls, it->category), it->ts, it->level, "bench",
				  (int32_t)(i % 8), (int64_t)i);
		if ((i & 1023) == 0 && vg_archive_sync(a, false, now) != 0)
			return 1;
	}
	if (vg_archive_close(a) != 0)
		return 1;
	double secs = vg_clock_mono_s() - t0, cpu = bench_cpu_seconds() - c0;

	printf("{\"tool\":\"vigil-archive\",\"records\":%zu,\"bytes\":%zu,\"seconds\":%.6f,\"cpu_seconds\":%.6f}\n", cnt,
	       len, secs, cpu);
	return 0;
}

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

#include "core/clock.h"
#include "core/config.h"
#include "parse/classify.h"
#include "parse/json.h"
#include "sink/archive.h"

struct item {
	size_t off, len;
	unsigned days;
	uint8_t category, level;
	int64_t ts;
};

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	char err[1024];

	if (argc != 4) {
		fprintf(stderr, "usage: bench_archive CORPUS DIR LEVEL\n");
		return 2;
	}
	int fd = open(argv[1], O_RDONLY);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) != 0) {
		perror(argv[1]);
		return 1;
	}
	size_t len = (size_t)st.st_size;
	char *buf = malloc(len + 1);

	for (size_t o = 0; o < len;) {
		ssize_t r = read(fd, buf + o, len - o);

		if (r <= 0)
			return 1;
		o += (size_t)r;
	}
	close(fd);
	struct vg_config *cfg;
	struct vg_json_paths *paths;
	struct vg_classifier *cls;
	struct vg_classify_ctx *ctx;
	const char *const *p[VG_F_COUNT];
	size_t n[VG_F_COUNT];

	if (vg_config_load(&cfg, NULL, err, sizeof(err)) != 0)
		return 1;
	for (int f = 0; f < VG_F_COUNT; f++) {
		p[f] = (const char *const *)cfg->paths[f].v;
		n[f] = cfg->paths[f].n;
	}
	if (vg_json_paths_create(&paths, p, n, err, sizeof(err)) || vg_classifier_create(&cls, cfg, err, sizeof(err)) ||
	    vg_classify_ctx_create(&ctx, cls))
		return 1;
	struct vg_json_limits lim = {.max_bytes = cfg->max_record_bytes, .max_depth = cfg->max_depth};
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
	double c0 = cpu_seconds(), t0 = vg_clock_mono_s();
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
	double secs = vg_clock_mono_s() - t0, cpu = cpu_seconds() - c0;

	printf("{\"tool\":\"vigil-archive\",\"records\":%zu,\"bytes\":%zu,\"seconds\":%.6f,\"cpu_seconds\":%.6f}\n", cnt,
	       len, secs, cpu);
	return 0;
}

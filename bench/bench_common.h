/* Shared by the benchmark programs: CPU time, loading a corpus, and the
 * parse + classify stage from the built-in configuration. Exits on
 * failure: these are tools, not library code. */
#ifndef VG_BENCH_COMMON_H
#define VG_BENCH_COMMON_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "parse/classify.h"
#include "parse/json.h"

static inline double bench_cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

/* The whole file in memory; *len set. */
static inline char *bench_load(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) != 0) {
		perror(path);
		exit(1);
	}
	*len = (size_t)st.st_size;
	char *buf = malloc(*len + 1);

	for (size_t o = 0; buf && o < *len;) {
		ssize_t r = read(fd, buf + o, *len - o);

		if (r <= 0) {
			perror("read");
			exit(1);
		}
		o += (size_t)r;
	}
	close(fd);
	if (!buf)
		exit(1);
	/* One untimed pass over the whole buffer, as bench/ref_simdjson makes
	 * (its longest-line scan) before it times anything: on this VM the
	 * first pass over freshly read memory runs at half speed or worse
	 * (bench_parse, 1M records: 0.73-0.91 s, then 0.31 s on a second
	 * pass, with no page fault in either), and only one side paid it. */
	size_t lines = 0;

	for (const char *s = buf, *end = buf + *len; (s = memchr(s, '\n', (size_t)(end - s))) != NULL; s++)
		lines++;
	if (lines == SIZE_MAX)
		exit(1); /* never: keeps the scan from being optimised away */
	return buf;
}

struct bench_stage {
	struct vg_config *cfg;
	struct vg_json_paths *paths;
	struct vg_classifier *cls;
	struct vg_classify_ctx *ctx;
	struct vg_json_limits lim;
};

/* Parse + classify from the built-in defaults. */
static inline void bench_stage_open(struct bench_stage *s)
{
	char err[1024];
	const char *const *p[VG_F_COUNT];
	size_t n[VG_F_COUNT];

	if (vg_config_load(&s->cfg, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	for (int f = 0; f < VG_F_COUNT; f++) {
		p[f] = (const char *const *)s->cfg->paths[f].v;
		n[f] = s->cfg->paths[f].n;
	}
	if (vg_json_paths_create(&s->paths, p, n, err, sizeof(err)) != 0 ||
	    vg_classifier_create(&s->cls, s->cfg, err, sizeof(err)) != 0 || vg_classify_ctx_create(&s->ctx, s->cls) != 0) {
		fprintf(stderr, "setup: %s\n", err);
		exit(1);
	}
	s->lim = (struct vg_json_limits){.max_bytes = s->cfg->max_record_bytes, .max_depth = s->cfg->max_depth};
}

static inline void bench_stage_close(struct bench_stage *s)
{
	vg_classify_ctx_destroy(s->ctx);
	vg_classifier_destroy(s->cls);
	vg_json_paths_destroy(s->paths);
	vg_config_free(s->cfg);
}

#endif

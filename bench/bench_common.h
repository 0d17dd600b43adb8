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
#include "parse/stage.h"

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

/* Parse + classify from the built-in defaults (parse/stage.h). */
static inline void bench_stage_open(struct vg_stage *s)
{
	char err[1024];

	if (vg_stage_load(s, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "setup: %s\n", err);
		exit(1);
	}
}

#endif

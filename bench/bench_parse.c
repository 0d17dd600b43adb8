/* vigil's side of the parse benchmark: extract + classify every line of an
 * NDJSON corpus held in memory, timed around the loop only. Prints one JSON
 * line of the same shape as bench/ref_simdjson. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdbool.h>
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
	struct vg_config *cfg;
	struct vg_json_paths *paths;
	struct vg_classifier *cls;
	struct vg_classify_ctx *ctx;
	const char *const *p[VG_F_COUNT];
	size_t n[VG_F_COUNT];
	int repeat = 1;
	bool extract_only = false; /* diagnostics: leave classification out */

	if (argc < 2) {
		fprintf(stderr, "usage: bench_parse CORPUS [--repeat N] [--extract-only]\n");
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
			repeat = atoi(argv[++i]) > 0 ? atoi(argv[i]) : 1;
		else if (strcmp(argv[i], "--extract-only") == 0)
			extract_only = true;
	}
	int fd = open(argv[1], O_RDONLY);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) != 0) {
		perror(argv[1]);
		return 1;
	}
	size_t len = (size_t)st.st_size;
	char *buf = malloc(len + 1);

	for (size_t off = 0; off < len;) {
		ssize_t r = read(fd, buf + off, len - off);

		if (r <= 0) {
			perror("read");
			return 1;
		}
		off += (size_t)r;
	}
	close(fd);
	if (vg_config_load(&cfg, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	for (int f = 0; f < VG_F_COUNT; f++) {
		p[f] = (const char *const *)cfg->paths[f].v;
		n[f] = cfg->paths[f].n;
	}
	if (vg_json_paths_create(&paths, p, n, err, sizeof(err)) != 0 ||
	    vg_classifier_create(&cls, cfg, err, sizeof(err)) != 0 || vg_classify_ctx_create(&ctx, cls) != 0) {
		fprintf(stderr, "setup: %s\n", err);
		return 1;
	}
	struct vg_json_limits lim = {.max_bytes = cfg->max_record_bytes, .max_depth = cfg->max_depth};
	unsigned long long records = 0, errors = 0, checksum = 0;
	struct vg_record rec;
	struct vg_json_error je;
	/* Untimed warm-up over the first 2 MB, as bench/ref_simdjson does:
	 * first-touch costs (scratch, PCRE2 JIT stack) are not throughput. */
	for (const char *s = buf, *end = buf + (len < (2u << 20) ? len : (2u << 20)); s < end;) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t l = nl ? (size_t)(nl - s) : (size_t)(end - s);

		if (vg_json_extract(paths, &lim, s, l, &rec, &je) == 0)
			vg_classify(ctx, &rec);
		s += l + 1;
	}
	double c0 = cpu_seconds(), t0 = vg_clock_mono_s();

	for (int rep = 0; rep < repeat; rep++) {
		const char *s = buf, *end = buf + len;

		while (s < end) {
			const char *nl = memchr(s, '\n', (size_t)(end - s));
			size_t l = nl ? (size_t)(nl - s) : (size_t)(end - s);

			records++;
			if (vg_json_extract(paths, &lim, s, l, &rec, &je) != 0) {
				errors++;
			} else if (extract_only) {
				checksum += rec.f[VG_F_LEVEL].raw.len + rec.f[VG_F_STATUS].raw.len;
			} else {
				vg_classify(ctx, &rec);
				checksum += rec.level + rec.category * 7u + rec.retention_days + (unsigned)rec.status +
					    rec.endpoint.len + rec.service.len + (unsigned long long)rec.ts_ms;
			}
			s += l + 1;
		}
	}
	double secs = vg_clock_mono_s() - t0, cpu = cpu_seconds() - c0;

	printf("{\"tool\":\"vigil\",\"records\":%llu,\"errors\":%llu,\"bytes\":%llu,\"seconds\":%.6f,"
	       "\"cpu_seconds\":%.6f,\"checksum\":%llu}\n",
	       records, errors, (unsigned long long)len * (unsigned long long)repeat, secs, cpu, checksum);
	vg_classify_ctx_destroy(ctx);
	vg_classifier_destroy(cls);
	vg_json_paths_destroy(paths);
	vg_config_free(cfg);
	free(buf);
	return 0;
}

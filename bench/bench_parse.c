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

#include "bench/bench_common.h"
#include "core/clock.h"

int main(int argc, char **argv)
{
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
	size_t len;
	char *buf = bench_load(argv[1], &len);
	struct vg_stage st;

	bench_stage_open(&st);
	struct vg_json_paths *paths = st.paths;
	struct vg_classify_ctx *ctx = st.ctx;
	struct vg_json_limits lim = st.limits;
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
	double c0 = bench_cpu_seconds(), t0 = vg_clock_mono_s();

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
	double secs = vg_clock_mono_s() - t0, cpu = bench_cpu_seconds() - c0;

	printf("{\"tool\":\"vigil\",\"records\":%llu,\"errors\":%llu,\"bytes\":%llu,\"seconds\":%.6f,"
	       "\"cpu_seconds\":%.6f,\"checksum\":%llu}\n",
	       records, errors, (unsigned long long)len * (unsigned long long)repeat, secs, cpu, checksum);
	vg_stage_close(&st);
	free(buf);
	return 0;
}

/* ThreadSanitizer driver for the archive writer and its syncer thread
 * (Criterion cannot run under TSan: Criterion issue #274). Many small
 * frames, fsyncs overlapping the next compression, some fsyncs failing:
 * durable positions never go back and never pass what was fsynced, and
 * the archive read back holds every record once. Exits non-zero on a
 * failed check; TSan exits non-zero on a race report. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/record.h"
#include "sink/archive.h"
#include "sink/reader.h"

#define N 40000

static atomic_int calls;

/* Every 9th fsync fails (EIO), as a flaky disk's would. */
static int flaky_fsync(int fd)
{
	if (atomic_fetch_add(&calls, 1) % 9 == 8)
		return -1;
	return fsync(fd);
}

static int64_t durable = -1;
static int failures;

static void on_durable(void *arg, const char *topic, int32_t partition, int64_t next)
{
	(void)topic;
	(void)partition;
	int64_t appended = *(int64_t *)arg;

	if (next < durable || next > appended) {
		fprintf(stderr, "FAIL durable %lld after %lld (appended %lld)\n", (long long)next, (long long)durable,
			(long long)appended);
		failures++;
	}
	durable = next;
}

/* Every durable position of a through on_durable. */
static void durable_all(struct vg_archive *a, int64_t *appended)
{
	const struct vg_offset *pos;
	size_t n = vg_archive_durable(a, &pos);

	for (size_t i = 0; i < n; i++)
		on_durable(appended, pos[i].topic, pos[i].partition, pos[i].next);
}

int main(void)
{
	static const char *const cats[] = {"access", "security", "database", "application"};
	char dir[] = "/tmp/vigil-tsan-archive-XXXXXX", err[256], cmd[128];
	struct vg_archive *a;

	if (!mkdtemp(dir))
		return 2;
	struct vg_archive_params p = {.dir = dir, .instance = "t", .level = 1, .flush_bytes = 8192,
				      .flush_ms = 1000, .rotate_bytes = 1 << 20, .fsync_fn = flaky_fsync};

	if (vg_archive_open(&a, &p, 0, err, sizeof(err)) != VG_OK) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	int64_t appended = 0;

	for (int i = 0; i < N; i++) {
		char line[96];
		int n = snprintf(line, sizeof(line), "{\"i\":%d,\"pad\":\"%040d\"}", i, i);

		vg_archive_append(a, vg_str_make(line, (size_t)n), 30, cats[i % 4], 1793491200000LL + i * 100LL,
				  VG_LEVEL_INFO, "t", 0, i);
		appended = i + 1;
		if (i % 97 == 0) {
			/* age-triggered now and then, so every file is written */
			vg_archive_sync(a, false, i % 970 == 0 ? INT64_MAX / 2 : 0);
			durable_all(a, &appended);
		}
	}
	int rc;

	for (int tries = 0; (rc = vg_archive_sync(a, true, 0)) != VG_OK && tries < 100; tries++)
		; /* a failed fsync is retried until one succeeds */
	durable_all(a, &appended);
	if (rc != VG_OK || durable != N) {
		fprintf(stderr, "FAIL final sync %d, durable %lld of %d\n", rc, (long long)durable, N);
		failures++;
	}
	atomic_store(&calls, 0);
	vg_archive_close(a);
	struct vg_reader_list l;
	uint64_t records = 0;

	if (vg_reader_list(dir, &l, err, sizeof(err)) != VG_OK)
		return 2;
	for (size_t i = 0; i < l.n; i++) {
		struct vg_reader_check c;

		if (vg_reader_check(&l.files[i], &c) != VG_OK || (c.state != VG_READER_OK && !l.files[i].part)) {
			fprintf(stderr, "FAIL %s: %s\n", l.files[i].path, c.why);
			failures++;
		}
		records += c.records;
	}
	vg_reader_list_free(&l);
	if (records != N) {
		fprintf(stderr, "FAIL %llu records read back, want %d\n", (unsigned long long)records, N);
		failures++;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		failures++;
	printf("tsan_archive: %d records, %d failures\n", N, failures);
	return failures ? 1 : 0;
}

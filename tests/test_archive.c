/* Tests for sink/archive: layout, frames, durability, write errors. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "core/err.h"
#include "core/record.h"
#include "sink/archive.h"

static char dir[PATH_MAX];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/vigil-archive-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(archive, .init = setup, .fini = teardown);

/* A writer for worker 0, with optional write(2) / fsync(2) fault hooks. */
static struct vg_archive *open_faulty(ssize_t (*wfn)(int, const void *, size_t), int (*ffn)(int))
{
	struct vg_archive *a;
	char err[256];
	struct vg_archive_params p = {.dir = dir, .instance = "t", .level = 3, .flush_bytes = 1 << 20,
				      .flush_ms = 1000, .rotate_bytes = 1 << 30, .write_fn = wfn, .fsync_fn = ffn};

	cr_assert_eq(vg_archive_open(&a, &p, 0, err, sizeof(err)), VG_OK, "%s", err);
	return a;
}

static struct vg_archive *open_archive(ssize_t (*wfn)(int, const void *, size_t))
{
	return open_faulty(wfn, NULL);
}


/* Decode every frame of a file (checksums checked) into one buffer. */
static char *decode(const char *path, size_t *len, int *frames)
{
	FILE *f = fopen(path, "rb");
	static char in[1 << 22];
	size_t n = f ? fread(in, 1, sizeof(in), f) : 0;
	char *out = malloc(1 << 22);
	size_t o = 0, off = 0;

	if (f)
		fclose(f);
	*frames = 0;
	while (off < n) {
		size_t fsz = ZSTD_findFrameCompressedSize(in + off, n - off);

		cr_assert(!ZSTD_isError(fsz), "bad frame at %zu in %s", off, path);
		size_t d = ZSTD_decompress(out + o, (1 << 22) - o, in + off, fsz);

		cr_assert(!ZSTD_isError(d), "%s", ZSTD_getErrorName(d));
		o += d;
		off += fsz;
		(*frames)++;
	}
	*len = o;
	return out;
}

/* Call fn for every file under root (recursively) whose name ends with
 * suffix; returns how many there were. */
static int walk(const char *root, const char *suffix, void (*fn)(const char *path, void *arg), void *arg)
{
	DIR *d = opendir(root);
	struct dirent *e;
	int found = 0;

	while (d && (e = readdir(d))) {
		char p[PATH_MAX];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		int n = snprintf(p, sizeof(p), "%s/%s", root, e->d_name);

		cr_assert_lt(n, (int)sizeof(p), "path too long under %s", root);
		if (stat(p, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			found += walk(p, suffix, fn, arg);
		} else if (strlen(p) > strlen(suffix) && strcmp(p + strlen(p) - strlen(suffix), suffix) == 0) {
			fn(p, arg);
			found++;
		}
	}
	if (d)
		closedir(d);
	return found;
}

static void copy_path(const char *path, void *out)
{
	strcpy(out, path);
}

/* The only file under root (recursively) whose name ends with suffix. */
static int find(const char *root, const char *suffix, char *out)
{
	return walk(root, suffix, copy_path, out);
}

struct durable {
	int64_t next[8];
};

/* The archive's durable positions into d, by partition. */
static void durable_of(struct vg_archive *a, struct durable *d)
{
	const struct vg_offset *pos;
	size_t n = vg_archive_durable(a, &pos);

	for (size_t i = 0; i < n; i++)
		d->next[pos[i].partition] = pos[i].next;
}

#define T0 1793491200000LL /* 2026-11-01T00:00:00Z */

/* Records line at offsets [from, to) of t/0, all in one application file. */
static void append_range(struct vg_archive *a, vg_str line, int from, int to)
{
	for (int i = from; i < to; i++)
		cr_assert_eq(vg_archive_append(a, line, 30, "application", T0, VG_LEVEL_INFO, "t", 0, i), VG_OK);
}

Test(archive, layout_frames_and_durability)
{
	struct vg_archive *a = open_archive(NULL);
	struct durable d = {{-1, -1, -1, -1, -1, -1, -1, -1}};
	char path[PATH_MAX], want[64];

	for (int i = 0; i < 100; i++) {
		char line[64];
		int n = snprintf(line, sizeof(line), "{\"i\":%d}", i);

		cr_assert_eq(vg_archive_append(a, vg_str_make(line, (size_t)n), 90, "access", T0 + 3600000 + i,
					       VG_LEVEL_INFO, "logs", i % 2, i / 2),
			     VG_OK);
	}
	durable_of(a, &d);
	cr_expect_eq(d.next[0], -1, "nothing is durable before a sync");
	cr_assert_eq(vg_archive_sync(a, true, T0), VG_OK);
	durable_of(a, &d);
	cr_expect_eq(d.next[0], 50);
	cr_expect_eq(d.next[1], 50);
	snprintf(want, sizeof(want), "/90d/access/2026-11-01/01/t-w0-0.jsonl.zst.part");
	cr_assert_eq(find(dir, ".zst.part", path), 1);
	cr_expect(strstr(path, want) != NULL, "%s", path);
	cr_assert_eq(vg_archive_close(a), VG_OK);
	cr_assert_eq(find(dir, ".jsonl.zst", path), 1, "renamed at close");
	size_t len;
	int frames;
	char *data = decode(path, &len, &frames);

	cr_expect_eq(frames, 1);
	cr_expect(len > 0 && memcmp(data, "{\"i\":0}\n{\"i\":1}\n", 16) == 0);
	int lines = 0;

	for (size_t i = 0; i < len; i++)
		lines += data[i] == '\n';
	cr_expect_eq(lines, 100);
	free(data);
	cr_assert_eq(find(dir, ".manifest.jsonl", path), 1);
	FILE *m = fopen(path, "r");
	char ml[1024];

	cr_assert(fgets(ml, sizeof(ml), m) != NULL);
	cr_expect(strstr(ml, "\"records\":100") != NULL, "%s", ml);
	cr_expect(strstr(ml, "\"logs/0\":[0,49]") != NULL, "%s", ml);
	cr_expect(strstr(ml, "\"INFO\":100") != NULL, "%s", ml);
	cr_expect(fgets(ml, sizeof(ml), m) == NULL, "one line per frame");
	fclose(m);
}

Test(archive, hostile_categories_stay_inside_the_directory)
{
	struct vg_archive *a = open_archive(NULL);
	const char *evil[] = {"../../../etc", "/etc/passwd", "a/../../b", "..", "\x01\x02", "", "Sec\nurity",
			      "x\xc3\xa9y"};

	for (size_t i = 0; i < sizeof(evil) / sizeof(evil[0]); i++)
		cr_assert_eq(vg_archive_append(a, VG_STR_LIT("{}"), 30, evil[i], T0, VG_LEVEL_INFO, "t", 0,
					       (int64_t)i),
			     VG_OK);
	cr_assert_eq(vg_archive_close(a), VG_OK);
	/* Every category directory is a plain sanitised name inside dir. */
	DIR *d;
	char p[PATH_MAX + 16];
	struct dirent *e;

	snprintf(p, sizeof(p), "%s/30d", dir);
	cr_assert_not_null(d = opendir(p));
	int n = 0;

	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		n++;
		for (const char *c = e->d_name; *c; c++)
			cr_expect((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-',
				  "bad directory name '%s'", e->d_name);
	}
	closedir(d);
	cr_expect_gt(n, 0);
	/* and the archive's top level holds only the retention class */
	cr_assert_not_null(d = opendir(dir));
	while ((e = readdir(d))) {
		if (e->d_name[0] != '.')
			cr_expect_str_eq(e->d_name, "30d");
	}
	closedir(d);
}

/* A disk that fills up: writes fail while `full` is set. */
static int full;

static ssize_t flaky_write(int fd, const void *p, size_t n)
{
	if (full) {
		/* half a frame reaches the disk, then ENOSPC */
		if (n > 8 && write(fd, p, n / 2) > 0) {
			errno = ENOSPC;
			return -1;
		}
		errno = ENOSPC;
		return -1;
	}
	return write(fd, p, n);
}

Test(archive, disk_full_stops_durability_and_recovers)
{
	struct vg_archive *a = open_archive(flaky_write);
	struct durable d = {{-1, -1, -1, -1, -1, -1, -1, -1}};
	char path[PATH_MAX];

	append_range(a, VG_STR_LIT("{\"first\":1}"), 0, 10);
	cr_assert_eq(vg_archive_sync(a, true, T0), VG_OK);
	full = 1;
	append_range(a, VG_STR_LIT("{\"second\":1}"), 10, 20);
	cr_expect_eq(vg_archive_sync(a, true, T0), VG_ERR_IO);
	durable_of(a, &d);
	cr_expect_eq(d.next[0], 10, "the failed frame is not durable");
	struct vg_archive_stats st;

	vg_archive_get_stats(a, &st);
	cr_expect_not(st.healthy);
	cr_expect_eq(st.write_errors, 1u);
	/* A full disk is said as one, not as an input/output error. */
	char why[256];

	cr_expect_eq(st.error_errno, ENOSPC);
	cr_expect_str_eq(vg_archive_error_str(VG_ERR_IO, st.error_errno, "/srv/archive", why, sizeof(why)),
			 "no space left on /srv/archive");
	cr_expect_str_eq(vg_archive_error_str(VG_ERR_IO, EDQUOT, "/a", why, sizeof(why)), "disk quota exceeded on /a");
	cr_expect_str_eq(vg_archive_error_str(VG_ERR_IO, EROFS, "/a", why, sizeof(why)), "read-only file system at /a");
	/* The half-written frame was cut: the file is whole frames only. */
	cr_assert_eq(find(dir, ".zst.part", path), 1);
	size_t len;
	int frames;
	char *data = decode(path, &len, &frames);

	cr_expect_eq(frames, 1);
	free(data);
	full = 0; /* space returns */
	cr_assert_eq(vg_archive_sync(a, true, T0), VG_OK);
	durable_of(a, &d);
	cr_expect_eq(d.next[0], 20);
	vg_archive_get_stats(a, &st);
	cr_expect(st.healthy);
	cr_expect_eq(st.error_errno, 0, "healthy again: no error to say");
	cr_assert_eq(vg_archive_close(a), VG_OK);
	cr_assert_eq(find(dir, ".jsonl.zst", path), 1);
	data = decode(path, &len, &frames);
	cr_expect_eq(frames, 2);
	int firsts = 0, seconds = 0;

	for (char *s = data; s < data + len; s = strchr(s, '\n') + 1) {
		firsts += strncmp(s, "{\"first\":1}", 11) == 0;
		seconds += strncmp(s, "{\"second\":1}", 12) == 0;
	}
	cr_expect_eq(firsts, 10);
	cr_expect_eq(seconds, 10, "every record exactly once after recovery");
	free(data);
}

/* A disk whose fsync fails (EIO) while `eio` is set. */
static int eio;

static int flaky_fsync(int fd)
{
	if (eio) {
		errno = EIO;
		return -1;
	}
	return fsync(fd);
}

Test(archive, a_failed_fsync_is_never_durable_and_is_written_again)
{
	struct vg_archive *a = open_faulty(NULL, flaky_fsync);
	char path[PATH_MAX];
	struct durable d = {{-1, -1, -1, -1, -1, -1, -1, -1}};

	append_range(a, VG_STR_LIT("{\"first\":1}"), 0, 10);
	cr_assert_eq(vg_archive_sync(a, true, T0), VG_OK);
	eio = 1;
	append_range(a, VG_STR_LIT("{\"second\":1}"), 10, 20);
	cr_expect_eq(vg_archive_sync(a, true, T0), VG_ERR_IO);
	durable_of(a, &d);
	cr_expect_eq(d.next[0], 10, "a frame whose fsync failed is not durable");
	cr_expect_eq(vg_archive_sync(a, true, T0), VG_ERR_IO, "still failing");
	eio = 0;
	cr_assert_eq(vg_archive_sync(a, true, T0), VG_OK);
	durable_of(a, &d);
	cr_expect_eq(d.next[0], 20);
	cr_assert_eq(vg_archive_close(a), VG_OK);
	cr_assert_eq(find(dir, ".jsonl.zst", path), 1);
	size_t len;
	int frames;
	char *data = decode(path, &len, &frames);

	cr_expect_eq(frames, 2, "the rewritten frame replaced the untrusted one, not added to it");
	int seconds = 0;

	for (char *s = data; s < data + len; s = strchr(s, '\n') + 1)
		seconds += strncmp(s, "{\"second\":1}", 12) == 0;
	cr_expect_eq(seconds, 10);
	free(data);
	cr_assert_eq(find(dir, ".manifest.jsonl", path), 1);
	FILE *m = fopen(path, "r");
	int lines = 0;
	char ml[1024];

	while (fgets(ml, sizeof(ml), m))
		lines++;
	fclose(m);
	cr_expect_eq(lines, 2, "one manifest line per frame");
}

Test(archive, size_flushes_one_file_and_advances_nothing_alone)
{
	struct vg_archive *a;
	char err[256];
	struct vg_archive_params p = {.dir = dir, .instance = "t", .level = 1, .flush_bytes = 4096,
				      .flush_ms = 1000, .rotate_bytes = 1 << 30};
	struct durable d = {{-1, -1, -1, -1, -1, -1, -1, -1}};
	char big[512];

	memset(big, 'x', sizeof(big));
	memcpy(big, "{\"b\":\"", 6);
	memcpy(big + sizeof(big) - 2, "\"}", 2);
	cr_assert_eq(vg_archive_open(&a, &p, 0, err, sizeof(err)), VG_OK, "%s", err);
	vg_archive_append(a, VG_STR_LIT("{\"small\":1}"), 30, "security", T0, VG_LEVEL_INFO, "t", 0, 0);
	for (int i = 1; i < 20; i++)
		vg_archive_append(a, vg_str_make(big, sizeof(big)), 30, "access", T0, VG_LEVEL_INFO, "t", 0, i);
	/* access is past flush_bytes, security is not, and nothing is old. */
	cr_assert_eq(vg_archive_sync(a, false, T0), VG_OK);
	vg_archive_sync(a, false, T0); /* harvests the job */
	durable_of(a, &d);
	cr_expect_eq(d.next[0], -1, "offset 0 (in security) is not written yet: nothing is durable");
	cr_assert_eq(vg_archive_sync(a, true, T0), VG_OK);
	durable_of(a, &d);
	cr_expect_eq(d.next[0], 20);
	cr_assert_eq(vg_archive_close(a), VG_OK);
}

Test(archive, dead_letters_keep_the_raw_bytes)
{
	struct vg_archive *a = open_archive(NULL);
	char path[PATH_MAX];

	cr_assert_eq(vg_archive_dead(a, vg_str_make("\xff\x00{x", 4), "utf8", "logs", 3, 42, T0), VG_OK);
	cr_assert_eq(vg_archive_close(a), VG_OK);
	cr_assert_eq(find(dir, ".jsonl.zst", path), 1);
	cr_expect(strstr(path, "/dead-letter/2026-11-01/") != NULL, "%s", path);
	size_t len;
	int frames;
	char *data = decode(path, &len, &frames);

	cr_expect(strstr(data, "\"reason\":\"utf8\",\"topic\":\"logs\",\"partition\":3,\"offset\":42") != NULL, "%.*s",
		  (int)len, data);
	cr_expect(strstr(data, "\"raw_b64\":\"/wB7eA==\"") != NULL, "%.*s", (int)len, data);
	free(data);
}

struct line_count {
	const char *prefix;
	int n;
};

static void count_in(const char *path, void *arg)
{
	struct line_count *c = arg;
	size_t len;
	int frames;
	char *data = decode(path, &len, &frames);

	for (char *s = data; s < data + len; s = strchr(s, '\n') + 1)
		c->n += strncmp(s, c->prefix, strlen(c->prefix)) == 0;
	free(data);
}

/* Lines starting with prefix in every finished archive file under root. */
static int count_lines(const char *root, const char *prefix)
{
	struct line_count c = {prefix, 0};

	walk(root, ".jsonl.zst", count_in, &c);
	return c.n;
}

/* A new hour's directory cannot be made (a file holds its name, as a full
 * disk would refuse it): its record stays pending, nothing past it becomes
 * durable, and once the name is free everything is written. */
Test(archive, a_file_that_cannot_be_made_keeps_its_records_pending)
{
	struct vg_archive *a = open_archive(NULL);
	struct durable d = {{-1, -1, -1, -1, -1, -1, -1, -1}};
	char block[PATH_MAX + 64];
	struct vg_archive_stats st;

	append_range(a, VG_STR_LIT("{\"r\":1}"), 0, 10);
	cr_assert_eq(vg_archive_sync(a, true, T0), VG_OK);
	snprintf(block, sizeof(block), "%s/30d/application/2026-11-01/01", dir);
	FILE *f = fopen(block, "w");

	cr_assert_not_null(f);
	fclose(f);
	cr_expect_eq(vg_archive_append(a, VG_STR_LIT("{\"r\":1}"), 30, "application", T0 + 3600000, VG_LEVEL_INFO,
				       "t", 0, 10),
		     VG_OK, "held in memory until its frame is written");
	append_range(a, VG_STR_LIT("{\"r\":1}"), 11, 12);
	cr_expect_eq(vg_archive_sync(a, true, T0), VG_ERR_IO);
	durable_of(a, &d);
	cr_expect_eq(d.next[0], 10, "offset 10 is not on disk: nothing from it on is durable");
	vg_archive_get_stats(a, &st);
	cr_expect_not(st.healthy);
	cr_expect_eq(vg_archive_sync(a, true, T0), VG_ERR_IO, "retried, still refused");
	cr_assert_eq(unlink(block), 0); /* space returns */
	cr_assert_eq(vg_archive_sync(a, true, T0), VG_OK);
	durable_of(a, &d);
	cr_expect_eq(d.next[0], 12);
	cr_assert_eq(vg_archive_close(a), VG_OK);
	cr_expect_eq(count_lines(dir, "{\"r\":1}"), 12, "every record written once");
}

/* ASan would abort on the huge allocation below; the archive must see the
 * NULL that a real allocator returns. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

/* A record that cannot be held (the allocation fails) is counted, and no
 * offset at or past it is durable until it is appended again. */
Test(archive, a_record_not_kept_is_never_committed_past)
{
	struct vg_archive *a = open_archive(NULL);
	struct durable d = {{-1, -1, -1, -1, -1, -1, -1, -1}};
	struct vg_archive_stats st;
	static const char line[] = "{\"r\":1}";

	append_range(a, VG_STR_LIT("{\"r\":1}"), 0, 5);
	cr_expect_eq(vg_archive_append(a, vg_str_make(line, (size_t)1 << 50), 30, "application", T0, VG_LEVEL_INFO,
				       "t", 0, 5),
		     VG_ERR_NOMEM);
	append_range(a, VG_STR_LIT("{\"r\":1}"), 6, 10);
	cr_assert_eq(vg_archive_sync(a, true, T0), VG_OK);
	durable_of(a, &d);
	cr_expect_eq(d.next[0], 5, "offset 5 was not kept: the commit stops before it");
	vg_archive_get_stats(a, &st);
	cr_expect_eq(st.unkept, 1u);
	/* Read again from the commit (a restart or rebalance would). */
	append_range(a, VG_STR_LIT("{\"r\":1}"), 5, 8);
	cr_assert_eq(vg_archive_sync(a, true, T0), VG_OK);
	durable_of(a, &d);
	cr_expect_eq(d.next[0], 10, "kept this time: the hole is filled");
	cr_assert_eq(vg_archive_close(a), VG_OK);
	cr_expect_eq(count_lines(dir, "{\"r\":1}"), 12, "the 9 kept and the 3 read again");
}

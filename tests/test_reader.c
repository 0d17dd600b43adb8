/* Tests for sink/reader: layout, manifests, checks, repair, expiry. The
 * archives are written by sink/archive, then damaged the ways a crash or a
 * bad disk damages them. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/record.h"
#include "sink/archive.h"
#include "sink/reader.h"

static char dir[PATH_MAX];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/vigil-reader-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(reader, .init = setup, .fini = teardown);

#define T0 1793491200000LL /* 2026-11-01T00:00:00Z */

static struct vg_archive *open_archive(void)
{
	struct vg_archive *a;
	char err[256];
	struct vg_archive_params p = {.dir = dir, .instance = "t", .level = 3, .flush_bytes = 1 << 20,
				      .flush_ms = 1000, .rotate_bytes = 1 << 30};

	cr_assert_eq(vg_archive_open(&a, &p, 0, err, sizeof(err)), VG_OK, "%s", err);
	return a;
}

/* frames frames of per records each into one file (90d/access, hour 00). */
static void write_frames(struct vg_archive *a, int frames, int per)
{
	for (int f = 0, i = 0; f < frames; f++) {
		for (int r = 0; r < per; r++, i++) {
			char line[64];
			int n = snprintf(line, sizeof(line), "{\"i\":%d}", i);

			cr_assert_eq(vg_archive_append(a, vg_str_make(line, (size_t)n), 90, "access", T0 + i,
						       r % 2 ? VG_LEVEL_ERROR : VG_LEVEL_INFO, "logs", 0, i),
				     VG_OK);
		}
		cr_assert_eq(vg_archive_sync(a, true, T0), VG_OK);
	}
}

static void list_one(struct vg_reader_list *l)
{
	char err[256];

	cr_assert_eq(vg_reader_list(dir, l, err, sizeof(err)), VG_OK, "%s", err);
	cr_assert_eq(l->n, 1);
}

static void append_bytes(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_APPEND);

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, p, n), (ssize_t)n);
	close(fd);
}

static off_t size_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

Test(reader, parses_the_layout)
{
	struct vg_reader_file f;

	cr_assert(vg_reader_parse_path("90d/access/2026-11-01/07/h-w0-3.jsonl.zst", &f));
	cr_expect_eq(f.retention_days, 90);
	cr_expect_str_eq(f.category, "access");
	cr_expect_str_eq(f.class_name, "90d");
	cr_expect_eq(f.start_ms, T0 + 7 * 3600000LL);
	cr_expect_eq(f.span_ms, 3600000);
	cr_expect(!f.part);
	cr_assert(vg_reader_parse_path("365d/security/2026-11-01/23/h-w1-0.jsonl.zst.part", &f));
	cr_expect(f.part);
	cr_assert(vg_reader_parse_path("dead-letter/2026-11-02/h-w0-1.jsonl.zst", &f));
	cr_expect_eq(f.retention_days, 0);
	cr_expect_eq(f.start_ms, T0 + 86400000LL);
	cr_expect_eq(f.span_ms, 86400000);
	const char *bad[] = {"90d/access/2026-11-01/07/h.jsonl.zst.manifest.jsonl",
			     "90d/access/2026-11-01/24/h.jsonl.zst",
			     "90d/access/2026-13-01/07/h.jsonl.zst",
			     "0d/access/2026-11-01/07/h.jsonl.zst",
			     "xd/access/2026-11-01/07/h.jsonl.zst",
			     "90d/access/2026-11-01/h.jsonl.zst",
			     "90d/a/b/2026-11-01/07/h.jsonl.zst",
			     "90d/access/2026-11-01/07/h.jsonl",
			     "dead-letter/2026-11/h.jsonl.zst"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect(!vg_reader_parse_path(bad[i], &f), "%s", bad[i]);
}

Test(reader, parses_manifest_lines)
{
	const char *ok = "{\"frame\":2,\"offset\":10,\"compressed\":20,\"bytes\":300,\"records\":4,\"min_ts\":-5,"
			 "\"max_ts\":1793491200000,\"partitions\":{\"logs/0\":[1,4]},\"levels\":{\"INFO\":3,\"ERROR\":1}}";
	struct vg_reader_frame fr;

	cr_assert_eq(vg_reader_frame_parse(ok, strlen(ok), &fr), 0);
	cr_expect_eq(fr.offset, 10);
	cr_expect_eq(fr.compressed, 20);
	cr_expect_eq(fr.bytes, 300);
	cr_expect_eq(fr.records, 4);
	cr_expect_eq(fr.min_ts, -5);
	cr_expect_eq(fr.max_ts, 1793491200000LL);
	cr_expect_eq(fr.levels[VG_LEVEL_INFO], 3);
	cr_expect_eq(fr.levels[VG_LEVEL_ERROR], 1);
	cr_expect_eq(fr.levels[VG_LEVEL_DEBUG], 0);
	const char *bad[] = {"", "{}", "{\"frame\":0}", "{\"frame\":0,\"offset\":-1,\"compressed\":1,\"bytes\":1,"
							 "\"records\":1,\"min_ts\":0,\"max_ts\":0,\"levels\":{}}",
			     "{\"frame\":0,\"offset\":99999999999999999999,\"compressed\":1,\"bytes\":1,\"records\":1,"
			     "\"min_ts\":0,\"max_ts\":0,\"levels\":{}}",
			     "{\"frame\":0,\"offset\":1,\"compressed\":1,\"bytes\":1,\"records\":1,\"min_ts\":0,"
			     "\"max_ts\":0,\"levels\":{\"INFO\":x}}"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_neq(vg_reader_frame_parse(bad[i], strlen(bad[i]), &fr), 0, "%s", bad[i]);
}

Test(reader, a_closed_archive_checks_clean)
{
	struct vg_archive *a = open_archive();
	struct vg_reader_list l;
	struct vg_reader_check c;

	write_frames(a, 3, 50);
	cr_assert_eq(vg_archive_close(a), VG_OK);
	list_one(&l);
	cr_expect(!l.files[0].part);
	cr_assert_eq(vg_reader_check(&l.files[0], &c), VG_OK);
	cr_expect_eq(c.state, VG_READER_OK, "%s", c.why);
	cr_expect_eq(c.frames, 3);
	cr_expect_eq(c.records, 150);
	cr_expect_eq((off_t)c.compressed, size_of(l.files[0].path));
	vg_reader_list_free(&l);
}

Test(reader, a_live_part_is_open_and_never_repaired)
{
	struct vg_archive *a = open_archive();
	struct vg_reader_list l;
	struct vg_reader_check c;
	char why[256];

	write_frames(a, 2, 10);
	list_one(&l);
	cr_expect(l.files[0].part);
	append_bytes(l.files[0].path, "\x28\xb5\x2f\xfd\x00", 5); /* a frame being written */
	cr_assert_eq(vg_reader_check(&l.files[0], &c), VG_OK);
	cr_expect_eq(c.state, VG_READER_OPEN, "%s", c.why);
	cr_expect_neq(vg_reader_repair(&l.files[0], &c, why, sizeof(why)), VG_OK);
	cr_expect(strstr(why, "running writer") != NULL, "%s", why);
	vg_reader_list_free(&l);
	vg_archive_close(a); /* its next sync fails on the garbage: that is the test's doing */
}

/* A .part as a killed writer leaves it: written through a writer that is
 * then freed without closing (the lock goes with its descriptors). */
static void killed_writer(int frames, struct vg_reader_list *l)
{
	struct vg_archive *a = open_archive();
	char cmd[4 * PATH_MAX];

	write_frames(a, frames, 10);
	/* Copy the .part files aside while locked, close (renames), then put
	 * the copies back as the unlocked leftovers of a crash. */
	snprintf(cmd, sizeof(cmd), "cp -r %s %s.k", dir, dir);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(vg_archive_close(a), VG_OK);
	snprintf(cmd, sizeof(cmd), "rm -rf %s && mv %s.k %s", dir, dir, dir);
	cr_assert_eq(system(cmd), 0);
	list_one(l);
	cr_assert(l->files[0].part && l->files[0].manifest_part);
}

/* l (listed again after a repair) holds one clean file of records; freed. */
static void expect_clean(struct vg_reader_list *l, uint64_t records)
{
	struct vg_reader_check c;

	cr_assert_eq(vg_reader_check(&l->files[0], &c), VG_OK);
	cr_expect_eq(c.state, VG_READER_OK, "%s", c.why);
	cr_expect_eq(c.records, records);
	vg_reader_list_free(l);
}

Test(reader, a_torn_tail_is_recoverable_and_repaired)
{
	struct vg_reader_list l;
	struct vg_reader_check c;
	char why[256];

	killed_writer(2, &l);
	off_t good = size_of(l.files[0].path), mgood = size_of(l.files[0].manifest);

	append_bytes(l.files[0].path, "\x28\xb5\x2f\xfd\x00\x48", 6);
	append_bytes(l.files[0].manifest, "{\"frame\":2,\"off", 15);
	cr_assert_eq(vg_reader_check(&l.files[0], &c), VG_OK);
	cr_expect_eq(c.state, VG_READER_RECOVERABLE, "%s", c.why);
	cr_expect_eq(c.frames, 2);
	cr_expect_eq((off_t)c.compressed, good);
	cr_expect_eq((off_t)c.manifest_good_bytes, mgood);
	cr_assert_eq(vg_reader_repair(&l.files[0], &c, why, sizeof(why)), VG_OK, "%s", why);
	vg_reader_list_free(&l);
	list_one(&l);
	cr_expect(!l.files[0].part && !l.files[0].manifest_part, "renamed to the final names");
	cr_expect_eq(size_of(l.files[0].path), good);
	cr_expect_eq(size_of(l.files[0].manifest), mgood);
	expect_clean(&l, 20);
}

Test(reader, a_frame_without_its_manifest_line_is_cut)
{
	struct vg_reader_list l;
	struct vg_reader_check c;
	char why[256];

	killed_writer(3, &l);
	/* The crash came between the third frame's fsync and its line. */
	struct vg_reader_manifest m;

	cr_assert_eq(vg_reader_manifest_load(l.files[0].manifest, &m, why, sizeof(why)), VG_OK);
	cr_assert_eq(m.n, 3);
	/* Keep the first two lines only. */
	FILE *mf = fopen(l.files[0].manifest, "r");
	char line[2048];
	size_t two = 0;

	cr_assert_not_null(mf);
	for (int i = 0; i < 2 && fgets(line, sizeof(line), mf); i++)
		two += strlen(line);
	fclose(mf);
	cr_assert_eq(truncate(l.files[0].manifest, (off_t)two), 0);
	cr_assert_eq(vg_reader_check(&l.files[0], &c), VG_OK);
	cr_expect_eq(c.state, VG_READER_RECOVERABLE, "%s", c.why);
	cr_expect_eq(c.frames, 2);
	cr_expect_eq((uint64_t)c.compressed, m.frames[2].offset);
	cr_assert_eq(vg_reader_repair(&l.files[0], &c, why, sizeof(why)), VG_OK, "%s", why);
	vg_reader_manifest_free(&m);
	vg_reader_list_free(&l);
	list_one(&l);
	expect_clean(&l, 20);
}

Test(reader, damage_the_manifest_vouches_for_is_corruption)
{
	struct vg_archive *a = open_archive();
	struct vg_reader_list l;
	struct vg_reader_check c;

	write_frames(a, 2, 50);
	cr_assert_eq(vg_archive_close(a), VG_OK);
	list_one(&l);
	/* One flipped byte in the first frame's content: its checksum fails. */
	int fd = open(l.files[0].path, O_RDWR);
	char b;

	cr_assert(fd >= 0);
	cr_assert_eq(pread(fd, &b, 1, 40), 1);
	b ^= 0x20;
	cr_assert_eq(pwrite(fd, &b, 1, 40), 1);
	close(fd);
	cr_assert_eq(vg_reader_check(&l.files[0], &c), VG_OK);
	cr_expect_eq(c.state, VG_READER_CORRUPT, "%s", c.why);
	cr_expect(strstr(c.why, "frame 0") != NULL, "%s", c.why);
	vg_reader_list_free(&l);
}

Test(reader, a_truncated_final_file_is_corruption)
{
	struct vg_archive *a = open_archive();
	struct vg_reader_list l;
	struct vg_reader_check c;

	write_frames(a, 2, 50);
	cr_assert_eq(vg_archive_close(a), VG_OK);
	list_one(&l);
	cr_assert_eq(truncate(l.files[0].path, size_of(l.files[0].path) - 3), 0);
	cr_assert_eq(vg_reader_check(&l.files[0], &c), VG_OK);
	cr_expect_eq(c.state, VG_READER_CORRUPT, "%s", c.why);
	cr_expect_eq(c.frames, 1);
	vg_reader_list_free(&l);
}

Test(reader, a_restart_never_overwrites_a_file)
{
	struct vg_archive *a = open_archive();
	struct vg_reader_list l;
	char err[256];

	write_frames(a, 1, 10);
	cr_assert_eq(vg_archive_close(a), VG_OK);
	a = open_archive(); /* same instance name and worker: same first sequence number */
	write_frames(a, 1, 10);
	cr_assert_eq(vg_archive_close(a), VG_OK);
	cr_assert_eq(vg_reader_list(dir, &l, err, sizeof(err)), VG_OK, "%s", err);
	cr_expect_eq(l.n, 2);
	for (size_t i = 0; i < l.n; i++) {
		struct vg_reader_check c;

		cr_assert_eq(vg_reader_check(&l.files[i], &c), VG_OK);
		cr_expect_eq(c.records, 10);
	}
	vg_reader_list_free(&l);
}

static bool only_with_errors(void *arg, const struct vg_reader_frame *fr)
{
	(void)arg;
	return fr->levels[VG_LEVEL_ERROR] > 0;
}

static int collect(void *arg, const char *data, size_t len)
{
	size_t *lines = arg;

	for (size_t i = 0; i < len; i++)
		*lines += data[i] == '\n';
	return 0;
}

Test(reader, frames_are_read_by_the_manifest_and_skipped_when_asked)
{
	struct vg_archive *a = open_archive();
	struct vg_reader_list l;
	struct vg_reader_manifest m;
	char why[256];
	size_t lines = 0;

	write_frames(a, 2, 10); /* two frames, both with errors */
	write_frames(a, 1, 1);  /* one record: info only */
	cr_assert_eq(vg_archive_close(a), VG_OK);
	list_one(&l);
	cr_assert_eq(vg_reader_manifest_load(l.files[0].manifest, &m, why, sizeof(why)), VG_OK, "%s", why);
	cr_assert_eq(m.n, 3);
	cr_assert_eq(vg_reader_frames(&l.files[0], &m, NULL, collect, &lines, why, sizeof(why)), VG_OK, "%s", why);
	cr_expect_eq(lines, 21);
	lines = 0;
	cr_assert_eq(vg_reader_frames(&l.files[0], &m, only_with_errors, collect, &lines, why, sizeof(why)), VG_OK);
	cr_expect_eq(lines, 20);
	vg_reader_manifest_free(&m);
	vg_reader_list_free(&l);
}

Test(reader, expiry_is_the_hour_end_plus_retention)
{
	struct vg_reader_file f;
	int64_t end = T0 + 3600000LL + 90 * 86400000LL;

	cr_assert(vg_reader_parse_path("90d/access/2026-11-01/00/h-w0-0.jsonl.zst", &f));
	cr_expect(!vg_reader_expired(&f, end - 1, 30));
	cr_expect(vg_reader_expired(&f, end, 30));
	cr_assert(vg_reader_parse_path("dead-letter/2026-11-01/h-w0-0.jsonl.zst", &f));
	cr_expect(!vg_reader_expired(&f, T0 + 31 * 86400000LL - 1, 30));
	cr_expect(vg_reader_expired(&f, T0 + 31 * 86400000LL, 30));
}

Test(reader, orphan_manifests_are_listed)
{
	char p[4 * PATH_MAX];
	struct vg_reader_list l;
	char err[256];

	snprintf(p, sizeof(p), "mkdir -p %s/90d/access/2026-11-01/00 && touch %s/90d/access/2026-11-01/00/"
			       "x-w0-0.jsonl.zst.manifest.jsonl %s/90d/access/2026-11-01/00/notes.txt",
		 dir, dir, dir);
	cr_assert_eq(system(p), 0);
	cr_assert_eq(vg_reader_list(dir, &l, err, sizeof(err)), VG_OK, "%s", err);
	cr_expect_eq(l.n, 0);
	cr_expect_eq(l.n_orphans, 1);
	vg_reader_list_free(&l);
	cr_expect_neq(vg_reader_list("/nonexistent-vigil", &l, err, sizeof(err)), VG_OK);
	cr_expect(strstr(err, "/nonexistent-vigil") != NULL, "%s", err);
}

/* An archive directory with nothing in it yet (a member killed before its
 * first file): listed as empty. qsort was handed NULL and 0, which UBSan
 * stops (vigil cat under ASan+UBSan, tests/reliability/crash_group.sh). */
Test(reader, an_empty_archive_lists_nothing)
{
	struct vg_reader_list l;
	char err[256];

	cr_assert_eq(vg_reader_list(dir, &l, err, sizeof(err)), VG_OK, "%s", err);
	cr_assert_eq(l.n, 0);
	cr_assert_eq(l.n_orphans, 0);
	vg_reader_list_free(&l);
}

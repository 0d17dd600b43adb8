/* Tests for ingest/lines: NDJSON framing with bounded memory. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "ingest/lines.h"

/* A reader over a temporary file holding data. */
static struct vg_lines *reader_over(const char *data, size_t len, size_t max_line)
{
	char path[] = "/tmp/vigil-lines-XXXXXX";
	int fd = mkstemp(path);
	struct vg_lines *r;

	cr_assert_geq(fd, 0);
	unlink(path);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	lseek(fd, 0, SEEK_SET);
	cr_assert_eq(vg_lines_open(&r, fd, max_line), VG_OK);
	return r;
}

static void expect_line(struct vg_lines *r, const char *want, bool want_over)
{
	vg_str l;
	bool over;

	cr_assert_eq(vg_lines_next(r, &l, &over), 1);
	cr_expect_eq(over, want_over);
	if (!want_over)
		cr_expect(vg_str_eq_cstr(l, want), "got '%.*s' want '%s'", (int)l.len, l.p, want);
}

Test(lines, splits_and_keeps_last_line_without_newline)
{
	const char d[] = "{\"a\":1}\n\n{\"b\":2}\r\n{\"c\":3}";
	struct vg_lines *r = reader_over(d, sizeof(d) - 1, 100);
	vg_str l;
	bool over;

	expect_line(r, "{\"a\":1}", false);
	expect_line(r, "", false);
	expect_line(r, "{\"b\":2}\r", false);
	expect_line(r, "{\"c\":3}", false);
	cr_expect_eq(vg_lines_next(r, &l, &over), 0);
	cr_expect_eq(vg_lines_bytes(r), sizeof(d) - 1);
	vg_lines_close(r);
}

Test(lines, oversize_lines_are_flagged_and_skipped)
{
	size_t big = 10u << 20;
	char *d = malloc(big + 64);
	size_t o = 0;

	o += (size_t)sprintf(d, "short\n");
	memset(d + o, 'x', big);
	o += big;
	d[o++] = '\n';
	o += (size_t)sprintf(d + o, "after\n");
	struct vg_lines *r = reader_over(d, o, 1000);
	vg_str l;
	bool over;

	expect_line(r, "short", false);
	cr_assert_eq(vg_lines_next(r, &l, &over), 1);
	cr_expect(over);
	cr_expect_eq(l.len, 1001u);
	expect_line(r, "after", false);
	cr_expect_eq(vg_lines_next(r, &l, &over), 0);
	cr_expect_eq(vg_lines_bytes(r), o);
	vg_lines_close(r);
	free(d);
}

Test(lines, line_of_exactly_max_is_accepted)
{
	char d[12] = "0123456789\n";
	struct vg_lines *r = reader_over(d, 11, 10);

	expect_line(r, "0123456789", false);
	vg_lines_close(r);
	r = reader_over(d, 11, 9);
	expect_line(r, NULL, true);
	vg_lines_close(r);
}

Test(lines, oversize_final_line_without_newline)
{
	char d[64];

	memset(d, 'y', sizeof(d));
	struct vg_lines *r = reader_over(d, sizeof(d), 10);
	vg_str l;
	bool over;

	expect_line(r, NULL, true);
	cr_expect_eq(vg_lines_next(r, &l, &over), 0);
	vg_lines_close(r);
}

/* Pipes and standard input: the same framing as files. */
Test(lines, pipes_frame_like_files)
{
	int fds[2];
	const char d[] = "{\"a\":1}\nxxxxxxxxxxxxxxxxxxxxxxxx\n{\"b\":2}";
	struct vg_lines *r;
	vg_str l;
	bool over;

	cr_assert_eq(pipe(fds), 0);
	cr_assert_eq(write(fds[1], d, sizeof(d) - 1), (ssize_t)(sizeof(d) - 1));
	close(fds[1]);
	cr_assert_eq(vg_lines_open(&r, fds[0], 10), VG_OK);
	expect_line(r, "{\"a\":1}", false);
	expect_line(r, NULL, true);
	expect_line(r, "{\"b\":2}", false);
	cr_expect_eq(vg_lines_next(r, &l, &over), 0);
	vg_lines_close(r);
	close(fds[0]);
}

/* The buffer starts small and grows while one line does not fit: lines
 * many times its first size come back whole, up to max_line exactly, and
 * the one past max_line is still flagged. */
Test(lines, long_lines_up_to_max_come_back_whole)
{
	size_t max = 3u << 20, lens[] = {5, 700u << 10, 5, max, 7, max + 1, 3};
	size_t n = sizeof(lens) / sizeof(lens[0]), o = 0, total = 0;

	for (size_t i = 0; i < n; i++)
		total += lens[i] + 1;
	char *d = malloc(total);

	cr_assert(d);
	for (size_t i = 0; i < n; i++) {
		memset(d + o, 'a' + (int)i, lens[i]);
		o += lens[i];
		d[o++] = '\n';
	}
	struct vg_lines *r = reader_over(d, o, max);
	vg_str l;
	bool over;

	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(vg_lines_next(r, &l, &over), 1, "line %zu", i);
		cr_expect_eq(over, lens[i] > max, "line %zu", i);
		cr_expect_eq(l.len, lens[i] > max ? max + 1 : lens[i], "line %zu: %zu bytes", i, l.len);
		cr_expect(l.len == 0 || (l.p[0] == 'a' + (int)i && l.p[l.len - 1] == 'a' + (int)i), "line %zu", i);
	}
	cr_expect_eq(vg_lines_next(r, &l, &over), 0);
	cr_expect_eq(vg_lines_bytes(r), o);
	vg_lines_close(r);
	free(d);
}

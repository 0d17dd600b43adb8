/* vigil: reading the archive back (see reader.h). */
#include "sink/reader.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/mem.h"
#include "sink/archive.h"

#define DATA_SUFFIX ".jsonl.zst"
#define MANIFEST_SUFFIX ".manifest.jsonl"
#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL

/* ---- the layout --------------------------------------------------------- */

/* snprintf into a path buffer; false when it does not fit (a name the
 * writer never makes, so callers skip it rather than truncate). */
__attribute__((format(printf, 3, 4))) static bool fmt_path(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(out, cap, fmt, ap);

	va_end(ap);
	return n >= 0 && (size_t)n < cap;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* "YYYY-MM-DD" to the day's first millisecond, or VG_TIME_NONE. */
static int64_t parse_date(const char *s, size_t n)
{
	if (n != 10 || s[4] != '-' || s[7] != '-')
		return VG_TIME_NONE;
	for (size_t i = 0; i < n; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return VG_TIME_NONE;
	int y = atoi(s), m = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');

	if (m < 1 || m > 12 || d < 1 || d > 31)
		return VG_TIME_NONE;
	return vg_clock_days_from_civil(y, (unsigned)m, (unsigned)d) * DAY_MS;
}

/* Split rel on '/' into at most max components; returns how many. */
static size_t split(const char *rel, const char **c, size_t *len, size_t max)
{
	size_t n = 0;

	for (const char *p = rel;; p++) {
		const char *e = strchr(p, '/');
		size_t l = e ? (size_t)(e - p) : strlen(p);

		if (n == max)
			return max + 1;
		c[n] = p;
		len[n++] = l;
		if (!e)
			return n;
		p = e;
	}
}

bool vg_reader_parse_path(const char *rel, struct vg_reader_file *f)
{
	const char *c[6];
	size_t len[6];
	size_t n = split(rel, c, len, 5);
	const char *name = c[n - 1];
	size_t nl = len[n - 1];

	memset(f, 0, sizeof(*f));
	if (n > 5)
		return false;
	f->part = ends_with(name, nl, DATA_SUFFIX ".part");
	if (!f->part && !ends_with(name, nl, DATA_SUFFIX))
		return false;
	if (n == 3 && len[0] == 11 && memcmp(c[0], "dead-letter", 11) == 0) {
		f->start_ms = parse_date(c[1], len[1]);
		f->span_ms = DAY_MS;
		snprintf(f->class_name, sizeof(f->class_name), "dead-letter");
		return f->start_ms != VG_TIME_NONE;
	}
	if (n != 5 || len[0] < 2 || len[0] > 6 || c[0][len[0] - 1] != 'd' || len[1] == 0 ||
	    len[1] >= sizeof(f->category) || len[3] != 2)
		return false;
	unsigned days = 0;

	for (size_t i = 0; i + 1 < len[0]; i++) {
		if (c[0][i] < '0' || c[0][i] > '9')
			return false;
		days = days * 10 + (unsigned)(c[0][i] - '0');
	}
	if (c[3][0] < '0' || c[3][0] > '2' || c[3][1] < '0' || c[3][1] > '9')
		return false;
	int hour = (c[3][0] - '0') * 10 + (c[3][1] - '0');
	int64_t day = parse_date(c[2], len[2]);

	if (days == 0 || hour > 23 || day == VG_TIME_NONE)
		return false;
	f->retention_days = days;
	memcpy(f->category, c[1], len[1]);
	snprintf(f->class_name, sizeof(f->class_name), "%ud", days);
	f->start_ms = day + hour * HOUR_MS;
	f->span_ms = HOUR_MS;
	return true;
}

/* ---- listing ------------------------------------------------------------ */

struct names {
	char **v;
	size_t n, cap;
};

static int names_add(struct names *s, const char *rel)
{
	char *d = strdup(rel);

	if (!d || vg_grow(&s->v, &s->cap, s->n + 1, sizeof(*s->v), 256) != 0) {
		free(d);
		return VG_ERR_NOMEM;
	}
	s->v[s->n++] = d;
	return VG_OK;
}

static int walk(const char *root, const char *rel, unsigned depth, struct names *out, char *errbuf, size_t errlen)
{
	char path[PATH_MAX];
	int rc = VG_OK;

	snprintf(path, sizeof(path), "%s%s%s", root, *rel ? "/" : "", rel);
	DIR *d = opendir(path);

	if (!d) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		return VG_ERR_IO;
	}
	for (struct dirent *e; rc == VG_OK && (e = readdir(d));) {
		char sub[PATH_MAX];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		if (!fmt_path(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", e->d_name) ||
		    !fmt_path(path, sizeof(path), "%s/%s", root, sub))
			continue; /* not a name the writer makes */
		if (lstat(path, &st) != 0)
			continue; /* removed meanwhile */
		if (S_ISDIR(st.st_mode) && depth < 5)
			rc = walk(root, sub, depth + 1, out, errbuf, errlen);
		else if (S_ISREG(st.st_mode))
			rc = names_add(out, sub);
	}
	closedir(d);
	return rc;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has(const struct names *s, const char *rel)
{
	return bsearch(&rel, s->v, s->n, sizeof(*s->v), cmp_name) != NULL;
}

int vg_reader_list(const char *dir, struct vg_reader_list *out, char *errbuf, size_t errlen)
{
	struct names all = {0};
	int rc = walk(dir, "", 0, &all, errbuf, errlen);
	size_t cap = 0, ocap = 0;

	memset(out, 0, sizeof(*out));
	if (rc != VG_OK)
		goto out;
	if (all.n) /* an empty directory: all.v is NULL, which qsort may not take */
		qsort(all.v, all.n, sizeof(*all.v), cmp_name);
	for (size_t i = 0; i < all.n && rc == VG_OK; i++) {
		const char *rel = all.v[i];
		size_t len = strlen(rel);
		struct vg_reader_file f;
		char base[PATH_MAX], m[PATH_MAX];

		if (ends_with(rel, len, MANIFEST_SUFFIX) || ends_with(rel, len, MANIFEST_SUFFIX ".part")) {
			size_t bl = len - (ends_with(rel, len, ".part") ? 5 : 0) - strlen(MANIFEST_SUFFIX);

			if (!fmt_path(base, sizeof(base), "%.*s", (int)bl, rel) ||
			    !fmt_path(m, sizeof(m), "%s.part", base) || has(&all, base) || has(&all, m))
				continue;
			char *o = malloc(strlen(dir) + len + 2);

			if (!o || vg_grow(&out->orphans, &ocap, out->n_orphans + 1, sizeof(char *), 16) != 0) {
				free(o);
				rc = VG_ERR_NOMEM;
				break;
			}
			sprintf(o, "%s/%s", dir, rel);
			out->orphans[out->n_orphans++] = o;
			continue;
		}
		if (!vg_reader_parse_path(rel, &f))
			continue;
		size_t bl = len - (f.part ? 5 : 0);

		if (!fmt_path(base, sizeof(base), "%.*s", (int)bl, rel) ||
		    !fmt_path(f.path, sizeof(f.path), "%s/%s", dir, rel))
			continue;
		/* The final manifest if there is one, else the .part one. */
		if (!fmt_path(m, sizeof(m), "%s" MANIFEST_SUFFIX, base) || !has(&all, m)) {
			f.manifest_part = fmt_path(m, sizeof(m), "%s" MANIFEST_SUFFIX ".part", base) && has(&all, m);
			if (!f.manifest_part)
				m[0] = '\0';
		}
		if (m[0] && !fmt_path(f.manifest, sizeof(f.manifest), "%s/%s", dir, m))
			continue;
		if (vg_grow(&out->files, &cap, out->n + 1, sizeof(*out->files), 64) != 0) {
			rc = VG_ERR_NOMEM;
			break;
		}
		out->files[out->n++] = f;
	}
	if (rc == VG_ERR_NOMEM)
		snprintf(errbuf, errlen, "out of memory listing %s", dir);
out:
	for (size_t i = 0; i < all.n; i++)
		free(all.v[i]);
	free(all.v);
	if (rc != VG_OK)
		vg_reader_list_free(out);
	return rc;
}

void vg_reader_list_free(struct vg_reader_list *l)
{
	for (size_t i = 0; i < l->n_orphans; i++)
		free(l->orphans[i]);
	free(l->orphans);
	free(l->files);
	memset(l, 0, sizeof(*l));
}

/* ---- manifests ---------------------------------------------------------- */

/* The position just after `"key":` inside line[0..len), or NULL. */
static const char *after_key(const char *line, size_t len, const char *key)
{
	size_t k = strlen(key);

	for (size_t i = 0; i + k + 3 <= len; i++)
		if (line[i] == '"' && memcmp(line + i + 1, key, k) == 0 && line[i + 1 + k] == '"' &&
		    line[i + 2 + k] == ':')
			return line + i + k + 3;
	return NULL;
}

/* A decimal integer (optionally negative) at p, ending before end. */
static int get_int(const char *p, const char *end, int64_t *out)
{
	bool neg = p < end && *p == '-';
	uint64_t v = 0;
	const char *s = p + neg;

	if (s >= end || *s < '0' || *s > '9')
		return -1;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > (uint64_t)INT64_MAX)
		return -1;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

static int get_field(const char *line, size_t len, const char *key, int64_t *out)
{
	const char *p = after_key(line, len, key);

	return p ? get_int(p, line + len, out) : -1;
}

int vg_reader_frame_parse(const char *line, size_t len, struct vg_reader_frame *fr)
{
	static const char *const keys[] = {"offset", "compressed", "bytes", "records"};
	uint64_t *dst[] = {&fr->offset, &fr->compressed, &fr->bytes, &fr->records};
	int64_t v;

	memset(fr, 0, sizeof(*fr));
	if (len < 10 || memcmp(line, "{\"frame\":", 9) != 0 || line[len - 1] != '}')
		return -1;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (get_field(line, len, keys[i], &v) != 0 || v < 0)
			return -1;
		*dst[i] = (uint64_t)v;
	}
	if (get_field(line, len, "min_ts", &fr->min_ts) != 0 || get_field(line, len, "max_ts", &fr->max_ts) != 0)
		return -1;
	const char *lv = after_key(line, len, "levels");

	if (!lv || *lv != '{')
		return -1;
	const char *end = memchr(lv, '}', (size_t)(line + len - lv));

	if (!end)
		return -1;
	for (int l = 0; l < VG_LEVEL_COUNT; l++) {
		const char *p = after_key(lv, (size_t)(end - lv), vg_level_name(l));

		if (p) {
			if (get_int(p, end, &v) != 0 || v < 0)
				return -1;
			fr->levels[l] = (uint64_t)v;
		}
	}
	return 0;
}

/* Read a whole file; *out is malloc'd (NULL for an empty file). */
static int slurp(int fd, char **out, size_t *len)
{
	struct stat st;

	*out = NULL;
	*len = 0;
	if (fstat(fd, &st) != 0)
		return VG_ERR_IO;
	if (st.st_size == 0)
		return VG_OK;
	char *p = malloc((size_t)st.st_size);

	if (!p)
		return VG_ERR_NOMEM;
	size_t got = 0;

	while (got < (size_t)st.st_size) {
		ssize_t r = pread(fd, p + got, (size_t)st.st_size - got, (off_t)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break; /* shrank meanwhile: what was read is what there is */
		got += (size_t)r;
	}
	*out = p;
	*len = got;
	return VG_OK;
}

int vg_reader_manifest_load(const char *path, struct vg_reader_manifest *m, char *errbuf, size_t errlen)
{
	char *text;
	size_t len, cap = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	memset(m, 0, sizeof(*m));
	if (fd < 0) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		return VG_ERR_IO;
	}
	rc = slurp(fd, &text, &len);
	close(fd);
	if (rc != VG_OK) {
		snprintf(errbuf, errlen, "%s: %s", path, rc == VG_ERR_NOMEM ? "out of memory" : strerror(errno));
		return rc;
	}
	for (size_t pos = 0, line = 1; pos < len; line++) {
		const char *nl = memchr(text + pos, '\n', len - pos);

		if (!nl) {
			m->torn = true;
			break;
		}
		struct vg_reader_frame fr;
		size_t ll = (size_t)(nl - (text + pos));

		if (vg_reader_frame_parse(text + pos, ll, &fr) != 0) {
			m->bad_line = line;
			break;
		}
		if (vg_grow(&m->frames, &cap, m->n + 1, sizeof(*m->frames), 16) != 0) {
			snprintf(errbuf, errlen, "%s: out of memory", path);
			free(text);
			vg_reader_manifest_free(m);
			return VG_ERR_NOMEM;
		}
		m->frames[m->n++] = fr;
		pos += ll + 1;
		m->good_bytes = pos;
	}
	free(text);
	return VG_OK;
}

void vg_reader_manifest_free(struct vg_reader_manifest *m)
{
	free(m->frames);
	memset(m, 0, sizeof(*m));
}

/* ---- checking ----------------------------------------------------------- */

/* Decode one frame at src (its compressed size known) into *dst. Returns
 * 0, or -1 with why set. */
static int decode(ZSTD_DCtx *dc, const char *src, size_t n, char **dst, size_t *cap, size_t *out, char *why,
		  size_t whylen)
{
	unsigned long long size = ZSTD_getFrameContentSize(src, n);

	if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > (1ull << 34)) {
		snprintf(why, whylen, "frame header without a content size");
		return -1;
	}
	if (size > *cap) {
		char *p = realloc(*dst, size ? size : 1);

		if (!p) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		*dst = p;
		*cap = size;
	}
	size_t r = ZSTD_decompressDCtx(dc, *dst, size, src, n);

	if (ZSTD_isError(r) || r != size) {
		snprintf(why, whylen, "%s", ZSTD_isError(r) ? ZSTD_getErrorName(r) : "short frame");
		return -1;
	}
	*out = r;
	return 0;
}

static uint64_t count_lines(const char *p, size_t n)
{
	uint64_t k = 0;

	for (const char *e = p + n; (p = memchr(p, '\n', (size_t)(e - p))); p++)
		k++;
	return k;
}

/* A problem after the last frame the manifest vouches for: what a crash
 * mid-write leaves. */
static void tail_problem(struct vg_reader_check *c, const struct vg_reader_file *f, bool locked, const char *what)
{
	if (c->state == VG_READER_CORRUPT)
		return;
	if (locked) {
		c->state = VG_READER_OPEN;
		return;
	}
	c->state = f->part ? VG_READER_RECOVERABLE : VG_READER_CORRUPT;
	snprintf(c->why, sizeof(c->why), "%s", what);
}

__attribute__((format(printf, 2, 3))) static void corrupt(struct vg_reader_check *c, const char *fmt, ...)
{
	va_list ap;

	c->state = VG_READER_CORRUPT;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
}

/* The body of vg_reader_check once both files are read. */
static void check_frames(const struct vg_reader_file *f, const struct vg_reader_manifest *m, const char *data,
			 size_t size, bool locked, struct vg_reader_check *c)
{
	ZSTD_DCtx *dc = ZSTD_createDCtx();
	char *buf = NULL, why[160];
	size_t cap = 0, pos = 0, i = 0;

	if (!dc) {
		corrupt(c, "out of memory");
		return;
	}
	for (; pos < size && c->state != VG_READER_CORRUPT; i++) {
		size_t fsz = ZSTD_findFrameCompressedSize(data + pos, size - pos), got;

		if (ZSTD_isError(fsz) || decode(dc, data + pos, fsz, &buf, &cap, &got, why, sizeof(why)) != 0) {
			if (ZSTD_isError(fsz))
				snprintf(why, sizeof(why), "%s", ZSTD_getErrorName(fsz));
			if (i < m->n)
				corrupt(c, "frame %zu: %s", i, why);
			else
				tail_problem(c, f, locked, "torn frame at the end (a write cut short)");
			break;
		}
		if (i >= m->n) {
			tail_problem(c, f, locked, "a frame at the end has no manifest line (a write cut short)");
			break;
		}
		const struct vg_reader_frame *fr = &m->frames[i];
		uint64_t lines = count_lines(buf, got);

		if (fr->offset != pos || fr->compressed != fsz || fr->bytes != got || fr->records != lines) {
			corrupt(c, "frame %zu does not match its manifest line", i);
			break;
		}
		c->frames++;
		c->records += lines;
		c->bytes += got;
		pos += fsz;
		c->compressed = pos;
	}
	/* Lines are written after their frame is fsynced: a line without its
	 * frame means data that was vouched for is gone. */
	if (c->state != VG_READER_CORRUPT && c->frames < m->n)
		corrupt(c, "the manifest lists frames the data file does not have (%zu found)", c->frames);
	c->manifest_good_bytes = m->good_bytes;
	free(buf);
	ZSTD_freeDCtx(dc);
}

int vg_reader_check(const struct vg_reader_file *f, struct vg_reader_check *c)
{
	struct vg_reader_manifest m = {0};
	char err[PATH_MAX + 64], *data = NULL;
	size_t size = 0;
	bool locked = false;
	int rc = VG_OK;

	memset(c, 0, sizeof(*c));
	/* Manifest first: a writer appends a frame before its line, so what
	 * the manifest lists is on disk by the time the data is read. */
	if (f->manifest[0] && vg_reader_manifest_load(f->manifest, &m, err, sizeof(err)) != VG_OK) {
		snprintf(c->why, sizeof(c->why), "%.200s", err + (strlen(err) > 200 ? strlen(err) - 200 : 0));
		return VG_ERR_IO;
	}
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(c->why, sizeof(c->why), "%s", strerror(errno));
		rc = VG_ERR_IO;
		goto out;
	}
	if (f->part && flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK)
		locked = true;
	rc = slurp(fd, &data, &size);
	close(fd);
	if (rc != VG_OK) {
		snprintf(c->why, sizeof(c->why), "%s", rc == VG_ERR_NOMEM ? "out of memory" : strerror(errno));
		goto out;
	}
	if (m.bad_line) {
		corrupt(c, "manifest line %zu is malformed", m.bad_line);
		goto out;
	}
	if (!f->manifest[0] && size > 0) {
		tail_problem(c, f, locked, "no manifest");
		if (c->state == VG_READER_CORRUPT)
			goto out;
	}
	check_frames(f, &m, data, size, locked, c);
	if (m.torn)
		tail_problem(c, f, locked, "the manifest's last line is torn (a write cut short)");
	if (c->state == VG_READER_OK && locked)
		c->state = VG_READER_OPEN;
	else if (c->state == VG_READER_OK && (f->part || f->manifest_part)) {
		c->state = VG_READER_RECOVERABLE;
		snprintf(c->why, sizeof(c->why), "left as .part by a writer that stopped without closing it");
	}
out:
	free(data);
	vg_reader_manifest_free(&m);
	return rc;
}

/* ---- repair ------------------------------------------------------------- */

/* path without its ".part" into out. */
static void final_name(const char *path, char *out, size_t cap)
{
	size_t n = strlen(path);

	snprintf(out, cap, "%.*s", (int)(ends_with(path, n, ".part") ? n - 5 : n), path);
}

/* Cut the file at path to size and fsync it. */
static int cut_file(const char *path, off_t size)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	int rc = ftruncate(fd, size) != 0 || fsync(fd) != 0 ? -1 : 0;

	close(fd);
	return rc;
}

int vg_reader_repair(const struct vg_reader_file *f, const struct vg_reader_check *c, char *why, size_t whylen)
{
	char data_final[PATH_MAX], man_final[PATH_MAX];
	int fd = open(f->path, O_RDWR | O_CLOEXEC);
	int rc = VG_ERR_IO;

	if (fd < 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		return VG_ERR_IO;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		snprintf(why, whylen, "in use by a running writer");
		goto out;
	}
	if (ftruncate(fd, (off_t)c->compressed) != 0 || fsync(fd) != 0) {
		snprintf(why, whylen, "cutting the data file: %s", strerror(errno));
		goto out;
	}
	if (f->manifest[0] && cut_file(f->manifest, (off_t)c->manifest_good_bytes) != 0) {
		snprintf(why, whylen, "cutting the manifest: %s", strerror(errno));
		goto out;
	}
	final_name(f->path, data_final, sizeof(data_final));
	fmt_path(man_final, sizeof(man_final), "%s" MANIFEST_SUFFIX, data_final); /* the lister found it */
	if (c->frames == 0) {
		/* Nothing was ever vouched for: no file is the clean state. */
		if (unlink(f->path) != 0 || (f->manifest[0] && unlink(f->manifest) != 0)) {
			snprintf(why, whylen, "removing the empty file: %s", strerror(errno));
			goto out;
		}
	} else if ((f->part && rename(f->path, data_final) != 0) ||
		   (f->manifest[0] && strcmp(f->manifest, man_final) != 0 && rename(f->manifest, man_final) != 0)) {
		snprintf(why, whylen, "renaming to the final name: %s", strerror(errno));
		goto out;
	}
	if (vg_archive_fsync_dir_of(f->path) != 0) {
		snprintf(why, whylen, "syncing the directory: %s", strerror(errno));
		goto out;
	}
	rc = VG_OK;
out:
	close(fd);
	return rc;
}

/* ---- reading frames ----------------------------------------------------- */

int vg_reader_frames(const struct vg_reader_file *f, const struct vg_reader_manifest *m,
		     bool (*keep)(void *arg, const struct vg_reader_frame *fr),
		     int (*fn)(void *arg, const char *data, size_t len), void *arg, char *why, size_t whylen)
{
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);
	ZSTD_DCtx *dc = ZSTD_createDCtx();
	char *z = NULL, *out = NULL;
	size_t zcap = 0, ocap = 0;
	int rc = VG_OK;

	if (fd < 0 || !dc) {
		snprintf(why, whylen, "%s", fd < 0 ? strerror(errno) : "out of memory");
		rc = VG_ERR_IO;
		goto out;
	}
	for (size_t i = 0; i < m->n && rc == VG_OK; i++) {
		const struct vg_reader_frame *fr = &m->frames[i];
		size_t got;

		if (keep && !keep(arg, fr))
			continue;
		if (fr->compressed > zcap) {
			char *p = realloc(z, fr->compressed);

			if (!p) {
				snprintf(why, whylen, "out of memory");
				rc = VG_ERR_NOMEM;
				break;
			}
			z = p;
			zcap = fr->compressed;
		}
		char e[160] = "short read";

		if (pread(fd, z, fr->compressed, (off_t)fr->offset) != (ssize_t)fr->compressed ||
		    decode(dc, z, fr->compressed, &out, &ocap, &got, e, sizeof(e)) != 0) {
			snprintf(why, whylen, "frame %zu: %s (vigil verify checks the whole archive)", i, e);
			rc = VG_ERR_IO;
			break;
		}
		rc = fn(arg, out, got);
	}
out:
	if (fd >= 0)
		close(fd);
	ZSTD_freeDCtx(dc);
	free(z);
	free(out);
	return rc;
}

bool vg_reader_expired(const struct vg_reader_file *f, int64_t now_ms, unsigned dead_letter_days)
{
	unsigned days = f->retention_days ? f->retention_days : dead_letter_days;

	return f->start_ms + f->span_ms + (int64_t)days * DAY_MS <= now_ms;
}

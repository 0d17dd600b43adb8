/* The archive tools: vigil verify, cat, prune and stats (see cli.h). */
#include "cli/cli.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/err.h"
#include "parse/level.h"
#include "parse/stage.h"
#include "sink/reader.h"

/* "N/M files" on a terminal, at most ten times a second; nothing when
 * standard error is not a terminal. done == total ends the line. */
static void progress(const char *cmd, size_t done, size_t total)
{
	static double last;
	static int tty = -1;

	if (tty < 0)
		tty = isatty(STDERR_FILENO);
	if (!tty || total < 2)
		return;
	double now = vg_clock_mono_s();

	if (done < total && now - last < 0.1)
		return;
	last = now;
	fprintf(stderr, "\r%s: %zu/%zu files%s", cmd, done, total, done == total ? "\n" : "");
}

/* A time argument: RFC 3339, epoch seconds, or "now" minus a duration
 * ("now-2h"); VG_TIME_NONE when it is none of these. */
static int64_t parse_time_arg(const char *s)
{
	int64_t now = vg_clock_now_ms();

	if (strcmp(s, "now") == 0)
		return now;
	if (strncmp(s, "now-", 4) == 0) {
		int64_t d = vg_config_parse_duration(s + 4);

		return d < 0 ? VG_TIME_NONE : now - d;
	}
	char *end;
	double v = strtod(s, &end);

	if (end != s && *end == '\0' && v >= 0)
		return vg_clock_from_epoch(v);
	return vg_clock_parse_rfc3339(s, strlen(s));
}

/* List an archive directory for cmd; 0 or VG_EXIT_IO with the reason said. */
static int list_archive(const char *cmd, const char *dir, struct vg_reader_list *l)
{
	char err[PATH_MAX + 128];

	if (vg_reader_list(dir, l, err, sizeof(err)) != VG_OK) {
		fprintf(stderr, "vigil %s: %s\n", cmd, err);
		return VG_EXIT_IO;
	}
	return VG_EXIT_OK;
}

/* Per retention class: what verify and stats print. */
struct class_sum {
	char name[sizeof(((struct vg_reader_file *)0)->category)]; /* a class or a category name */
	uint64_t files, frames, records, raw, stored, on_disk;
	uint64_t open, recoverable, corrupt, repaired;
	uint64_t levels[VG_LEVEL_COUNT];
};

static struct class_sum *class_of(struct class_sum *c, size_t *n, size_t cap, const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(c[i].name, name) == 0)
			return &c[i];
	if (*n == cap)
		return &c[cap - 1]; /* "other": more classes than anyone configures */
	memset(&c[*n], 0, sizeof(c[*n]));
	snprintf(c[*n].name, sizeof(c[*n].name), "%s", *n == cap - 1 ? "other" : name);
	return &c[(*n)++];
}

static void add_total(struct class_sum *t, const struct class_sum *c)
{
	t->files += c->files;
	t->frames += c->frames;
	t->records += c->records;
	t->raw += c->raw;
	t->stored += c->stored;
	t->on_disk += c->on_disk;
	t->open += c->open;
	t->recoverable += c->recoverable;
	t->corrupt += c->corrupt;
	t->repaired += c->repaired;
	for (int l = 0; l < VG_LEVEL_COUNT; l++)
		t->levels[l] += c->levels[l];
}

#define MAX_CLASSES 64

int vg_cli_verify(int argc, char **argv)
{
	static const char *const state_name[] = {"ok", "open", "recoverable", "corrupt"};
	struct class_sum cls[MAX_CLASSES], total = {.name = "total"};
	struct vg_reader_list l;
	const char *dir = NULL;
	bool repair = false;
	size_t n_cls = 0;
	int status;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--repair") == 0)
			repair = true;
		else if (!dir && argv[i][0] != '-')
			dir = argv[i];
		else
			dir = NULL, i = argc;
	}
	if (!dir) {
		fprintf(stderr, "usage: vigil verify [--repair] DIR\n");
		return VG_EXIT_USAGE;
	}
	if ((status = list_archive("verify", dir, &l)) != VG_EXIT_OK)
		return status;
	for (size_t i = 0; i < l.n; i++) {
		const struct vg_reader_file *f = &l.files[i];
		struct class_sum *c = class_of(cls, &n_cls, MAX_CLASSES, f->class_name);
		struct vg_reader_check ck;
		char why[256];

		progress("verify", i, l.n);
		c->files++;
		if (vg_reader_check(f, &ck) != VG_OK) {
			fprintf(stderr, "vigil verify: %s: unreadable: %s\n", f->path, ck.why);
			c->corrupt++;
			continue;
		}
		c->frames += ck.frames;
		c->records += ck.records;
		c->raw += ck.bytes;
		c->stored += ck.compressed;
		if (ck.state == VG_READER_OK)
			continue;
		if (ck.state == VG_READER_OPEN) {
			c->open++;
			continue;
		}
		if (ck.state == VG_READER_RECOVERABLE && repair) {
			if (vg_reader_repair(f, &ck, why, sizeof(why)) == VG_OK) {
				fprintf(stderr, "vigil verify: %s: repaired (%s): kept %zu frames, %" PRIu64 " records\n",
					f->path, ck.why, ck.frames, ck.records);
				c->repaired++;
				continue;
			}
			fprintf(stderr, "vigil verify: %s: cannot repair: %s\n", f->path, why);
		} else {
			fprintf(stderr, "vigil verify: %s: %s: %s%s\n", f->path, state_name[ck.state], ck.why,
				ck.state == VG_READER_RECOVERABLE ? " (vigil verify --repair fixes it)" : "");
		}
		if (ck.state == VG_READER_RECOVERABLE)
			c->recoverable++;
		else
			c->corrupt++;
	}
	progress("verify", l.n, l.n);
	for (size_t i = 0; i < l.n_orphans; i++) {
		struct stat st;
		bool empty = stat(l.orphans[i], &st) == 0 && st.st_size == 0;

		if (empty && repair && unlink(l.orphans[i]) == 0) {
			fprintf(stderr, "vigil verify: %s: removed an empty manifest without its data file\n", l.orphans[i]);
			total.repaired++;
			continue;
		}
		fprintf(stderr, "vigil verify: %s: %s: a manifest without its data file\n", l.orphans[i],
			empty ? "recoverable" : "corrupt");
		if (empty)
			total.recoverable++;
		else
			total.corrupt++;
	}
	printf("%-12s %8s %10s %12s %14s %14s %6s %11s %8s %8s\n", "class", "files", "frames", "records", "raw_bytes",
	       "stored_bytes", "open", "recoverable", "repaired", "corrupt");
	for (size_t i = 0; i <= n_cls; i++) {
		const struct class_sum *c = i < n_cls ? &cls[i] : &total;

		if (i < n_cls)
			add_total(&total, c);
		printf("%-12s %8" PRIu64 " %10" PRIu64 " %12" PRIu64 " %14" PRIu64 " %14" PRIu64 " %6" PRIu64
		       " %11" PRIu64 " %8" PRIu64 " %8" PRIu64 "\n",
		       c->name, c->files, c->frames, c->records, c->raw, c->stored, c->open, c->recoverable, c->repaired,
		       c->corrupt);
	}
	if (total.corrupt)
		printf("verify: CORRUPT: %" PRIu64 " file(s) have data their manifests vouch for missing or wrong\n",
		       total.corrupt);
	else if (total.recoverable)
		printf("verify: no corruption; %" PRIu64 " file(s) left by a crash: run vigil verify --repair\n",
		       total.recoverable);
	else
		printf("verify: clean\n");
	vg_reader_list_free(&l);
	return total.corrupt ? VG_EXIT_CONFIG : VG_EXIT_OK;
}

int vg_cli_stats(int argc, char **argv)
{
	struct class_sum cls[MAX_CLASSES], cats[MAX_CLASSES * 4], total = {.name = "total"};
	struct vg_reader_list l;
	size_t n_cls = 0, n_cats = 0;
	int status;

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: vigil stats DIR\n");
		return VG_EXIT_USAGE;
	}
	if ((status = list_archive("stats", argv[1], &l)) != VG_EXIT_OK)
		return status;
	for (size_t i = 0; i < l.n; i++) {
		const struct vg_reader_file *f = &l.files[i];
		struct vg_reader_manifest m = {0};
		struct class_sum *c[2] = {class_of(cls, &n_cls, MAX_CLASSES, f->class_name),
					  class_of(cats, &n_cats, MAX_CLASSES * 4,
						   f->category[0] ? f->category : "(dead-letter)")};
		char err[PATH_MAX + 64];
		struct stat st;

		progress("stats", i, l.n);
		uint64_t disk = stat(f->path, &st) == 0 ? (uint64_t)st.st_size : 0;

		if (f->manifest[0] && stat(f->manifest, &st) == 0)
			disk += (uint64_t)st.st_size;
		if (f->manifest[0] && vg_reader_manifest_load(f->manifest, &m, err, sizeof(err)) != VG_OK) {
			fprintf(stderr, "vigil stats: %s\n", err);
			status = VG_EXIT_IO;
		}
		for (int k = 0; k < 2; k++) {
			c[k]->files++;
			c[k]->on_disk += disk;
			for (size_t j = 0; j < m.n; j++) {
				c[k]->frames++;
				c[k]->records += m.frames[j].records;
				c[k]->raw += m.frames[j].bytes;
				c[k]->stored += m.frames[j].compressed;
				for (int v = 0; v < VG_LEVEL_COUNT; v++)
					c[k]->levels[v] += m.frames[j].levels[v];
			}
		}
		vg_reader_manifest_free(&m);
	}
	progress("stats", l.n, l.n);
	for (size_t i = 0; i < n_cls; i++)
		add_total(&total, &cls[i]);
	printf("archive %s: %" PRIu64 " files, %" PRIu64 " bytes on disk, %" PRIu64 " records, %" PRIu64
	       " bytes of records, ratio %.2f\n",
	       argv[1], total.files, total.on_disk, total.records, total.raw,
	       total.stored ? (double)total.raw / (double)total.stored : 0.0);
	for (int table = 0; table < 2; table++) {
		const struct class_sum *rows = table ? cats : cls;
		size_t n = table ? n_cats : n_cls;
		int w = 16; /* the name column: as wide as the longest name */

		for (size_t i = 0; i < n; i++)
			if ((int)strlen(rows[i].name) > w)
				w = (int)strlen(rows[i].name);
		printf("\n%-*s %8s %12s %14s %14s %7s", w, table ? "category" : "class", "files", "records",
		       "bytes_on_disk", "raw_bytes", "ratio");
		for (int v = 0; v < VG_LEVEL_COUNT; v++)
			printf(" %9s", vg_level_name(v));
		printf("\n");
		for (size_t i = 0; i < n; i++) {
			const struct class_sum *c = &rows[i];

			printf("%-*s %8" PRIu64 " %12" PRIu64 " %14" PRIu64 " %14" PRIu64 " %7.2f", w, c->name, c->files,
			       c->records, c->on_disk, c->raw, c->stored ? (double)c->raw / (double)c->stored : 0.0);
			for (int v = 0; v < VG_LEVEL_COUNT; v++)
				printf(" %9" PRIu64, c->levels[v]);
			printf("\n");
		}
	}
	vg_reader_list_free(&l);
	return status;
}

/* Remove dir's now-empty parents of path, up to (not including) root. */
static void remove_empty_parents(const char *root, const char *path)
{
	char d[PATH_MAX];
	size_t rl = strlen(root);

	snprintf(d, sizeof(d), "%s", path);
	for (char *s; (s = strrchr(d, '/')) && (size_t)(s - d) > rl;) {
		*s = '\0';
		if (rmdir(d) != 0)
			break;
	}
}

int vg_cli_prune(int argc, char **argv)
{
	const char *dir = NULL, *config = NULL;
	int64_t now = vg_clock_now_ms();
	uint64_t files = 0, bytes = 0;
	bool dry = false;
	struct vg_reader_list l;
	int status;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0) {
			dry = true;
		} else if (strcmp(argv[i], "--now") == 0 && i + 1 < argc) {
			if ((now = parse_time_arg(argv[++i])) == VG_TIME_NONE) {
				fprintf(stderr, "vigil prune: --now: expected RFC 3339, epoch seconds or now-DURATION, got "
						"'%s'\n", argv[i]);
				return VG_EXIT_USAGE;
			}
		} else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			config = argv[++i];
		} else if (!dir && argv[i][0] != '-') {
			dir = argv[i];
		} else {
			dir = NULL;
			break;
		}
	}
	if (!dir) {
		fprintf(stderr, "usage: vigil prune [-c FILE] [--now T] [--dry-run] DIR\n");
		return VG_EXIT_USAGE;
	}
	struct vg_config *cfg;
	char err[1024];

	if (vg_config_load(&cfg, config, err, sizeof(err)) != VG_OK) {
		fprintf(stderr, "vigil: %s\n", err);
		return VG_EXIT_CONFIG;
	}
	unsigned dead_days = cfg->archive_dead_letter_days;

	vg_config_free(cfg);
	if ((status = list_archive("prune", dir, &l)) != VG_EXIT_OK)
		return status;
	for (size_t i = 0; i < l.n; i++) {
		const struct vg_reader_file *f = &l.files[i];
		const char *paths[2] = {f->path, f->manifest};
		char until[32];

		progress("prune", i, l.n);
		if (!vg_reader_expired(f, now, dead_days))
			continue;
		vg_clock_format_rfc3339(f->start_ms + f->span_ms +
						(int64_t)(f->retention_days ? f->retention_days : dead_days) * 86400000,
					until);
		for (int k = 0; k < 2; k++) {
			struct stat st;

			if (!paths[k][0] || stat(paths[k], &st) != 0)
				continue;
			if (!dry && unlink(paths[k]) != 0) {
				fprintf(stderr, "vigil prune: %s: %s\n", paths[k], strerror(errno));
				status = VG_EXIT_IO;
				continue;
			}
			printf("%s %s (%lld bytes, kept until %s)\n", dry ? "would remove" : "removed", paths[k],
			       (long long)st.st_size, until);
			files++;
			bytes += (uint64_t)st.st_size;
		}
		if (!dry)
			remove_empty_parents(dir, f->path);
	}
	progress("prune", l.n, l.n);
	printf("prune: %s %" PRIu64 " files, %" PRIu64 " bytes%s\n", dry ? "would remove" : "removed", files, bytes,
	       dry ? " (dry run)" : " freed");
	vg_reader_list_free(&l);
	return status;
}

/* vigil cat: what to keep. */
struct cat_run {
	struct vg_stage st;
	int64_t from, to; /* [from, to) */
	int level;        /* at least this level; -1: any */
	const char *service;
	pcre2_code *grep;
	pcre2_match_data *md;
	bool parse; /* a filter needs the record's fields */
	struct vg_buf out;
	uint64_t records, matched;
};

static bool cat_keep_frame(void *arg, const struct vg_reader_frame *fr)
{
	struct cat_run *c = arg;

	if (fr->records == 0 || fr->max_ts < c->from || fr->min_ts >= c->to)
		return false;
	if (c->level < 0)
		return true;
	for (int l = c->level; l < VG_LEVEL_COUNT; l++)
		if (fr->levels[l])
			return true;
	return false;
}

static bool cat_match(struct cat_run *c, const char *p, size_t n)
{
	if (c->parse) {
		struct vg_record rec;

		if (vg_json_extract(c->st.paths, &c->st.limits, p, n, &rec, NULL) != VG_OK)
			return false; /* not in a data file: the writer only archives what parsed */
		vg_classify(c->st.ctx, &rec);
		if (rec.ts_ms != VG_TIME_NONE && (rec.ts_ms < c->from || rec.ts_ms >= c->to))
			return false;
		if (c->level >= 0 && (int)rec.level < c->level)
			return false;
		if (c->service && !vg_str_eq_cstr(rec.service, c->service))
			return false;
	}
	return !c->grep || pcre2_match(c->grep, (PCRE2_SPTR)p, n, 0, 0, c->md, NULL) >= 0;
}

static int cat_frame(void *arg, const char *data, size_t len)
{
	struct cat_run *c = arg;

	for (const char *p = data, *e = data + len; p < e;) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(e - p);

		c->records++;
		if (cat_match(c, p, n)) {
			c->matched++;
			vg_buf_put(&c->out, p, n);
			vg_buf_putc(&c->out, '\n');
		}
		p += n + 1;
	}
	if (c->out.len >= (1u << 20) && vg_buf_write_fd(&c->out, STDOUT_FILENO) != VG_OK)
		return VG_ERR_IO;
	return VG_OK;
}

int vg_cli_cat(int argc, char **argv)
{
	struct cat_run c = {.from = INT64_MIN, .to = INT64_MAX, .level = -1};
	const char *dir = NULL, *config = NULL, *category = NULL, *grep = NULL;
	bool dead = false;
	struct vg_reader_list l;
	int status = VG_EXIT_OK;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int64_t *t = strcmp(a, "--from") == 0 ? &c.from : strcmp(a, "--to") == 0 ? &c.to : NULL;

		if (t && v) {
			if ((*t = parse_time_arg(v)) == VG_TIME_NONE) {
				fprintf(stderr, "vigil cat: %s: expected RFC 3339, epoch seconds or now-DURATION, got '%s'\n",
					a, v);
				return VG_EXIT_USAGE;
			}
			i++;
		} else if (strcmp(a, "--level") == 0 && v) {
			if ((c.level = vg_level_parse_text(v, strlen(v))) <= VG_LEVEL_UNKNOWN) {
				fprintf(stderr, "vigil cat: --level: unknown level '%s'\n", v);
				return VG_EXIT_USAGE;
			}
			i++;
		} else if (strcmp(a, "--category") == 0 && v) {
			category = argv[++i];
		} else if (strcmp(a, "--service") == 0 && v) {
			c.service = argv[++i];
		} else if (strcmp(a, "--grep") == 0 && v) {
			grep = argv[++i];
		} else if (strcmp(a, "-c") == 0 && v) {
			config = argv[++i];
		} else if (strcmp(a, "--dead-letter") == 0) {
			dead = true;
		} else if (!dir && a[0] != '-') {
			dir = a;
		} else {
			dir = NULL;
			break;
		}
	}
	if (!dir) {
		fprintf(stderr, "usage: vigil cat [-c FILE] [--from T] [--to T] [--level L] [--category C] [--service S]\n"
				"                 [--grep PCRE] [--dead-letter] DIR\n");
		return VG_EXIT_USAGE;
	}
	if (grep) {
		int code;
		PCRE2_SIZE off;

		c.grep = pcre2_compile((PCRE2_SPTR)grep, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code, &off, NULL);
		if (!c.grep) {
			PCRE2_UCHAR msg[256];

			pcre2_get_error_message(code, msg, sizeof(msg));
			fprintf(stderr, "vigil cat: --grep: at offset %zu: %s\n", (size_t)off, (char *)msg);
			return VG_EXIT_USAGE;
		}
		pcre2_jit_compile(c.grep, PCRE2_JIT_COMPLETE); /* interpreted when JIT is unavailable */
		c.md = pcre2_match_data_create_from_pattern(c.grep, NULL);
	}
	c.parse = c.from != INT64_MIN || c.to != INT64_MAX || c.level >= 0 || c.service;
	if (c.parse && vg_cli_stage_open(&c.st, config) != VG_OK) {
		status = VG_EXIT_CONFIG;
		goto out;
	}
	if ((status = list_archive("cat", dir, &l)) != VG_EXIT_OK)
		goto out;
	for (size_t i = 0; i < l.n && status == VG_EXIT_OK; i++) {
		const struct vg_reader_file *f = &l.files[i];
		struct vg_reader_manifest m;
		char err[PATH_MAX + 64];

		progress("cat", i, l.n);
		if (dead != (f->retention_days == 0) || (category && strcmp(category, f->category) != 0) ||
		    f->start_ms + f->span_ms <= c.from || f->start_ms >= c.to || !f->manifest[0])
			continue;
		if (vg_reader_manifest_load(f->manifest, &m, err, sizeof(err)) != VG_OK) {
			fprintf(stderr, "vigil cat: %s\n", err);
			status = VG_EXIT_IO;
			break;
		}
		int rc = vg_reader_frames(f, &m, cat_keep_frame, cat_frame, &c, err, sizeof(err));

		if (rc != VG_OK) {
			fprintf(stderr, "vigil cat: %s: %s\n", f->path, rc == VG_ERR_IO && !err[0] ? strerror(errno) : err);
			status = VG_EXIT_IO;
		}
		vg_reader_manifest_free(&m);
	}
	progress("cat", l.n, l.n);
	if (vg_buf_write_fd(&c.out, STDOUT_FILENO) != VG_OK && status == VG_EXIT_OK) {
		fprintf(stderr, "vigil cat: write error: %s\n", strerror(errno));
		status = VG_EXIT_IO;
	}
	vg_reader_list_free(&l);
out:
	vg_buf_free(&c.out);
	pcre2_match_data_free(c.md);
	pcre2_code_free(c.grep);
	if (c.parse)
		vg_stage_close(&c.st);
	return status;
}


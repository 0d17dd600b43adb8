#define _POSIX_C_SOURCE 200809L
#include "sink/archive.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/record.h"

#define IDLE_CLOSE_MS (60 * 1000) /* a file unwritten this long is rotated */
#define MAX_PARTS 64              /* partitions tracked per pending frame */
#define PENDING_CAP 8             /* flush_bytes a writer holds at most, all files together */

/* What a pending frame holds of one topic/partition. */
struct frame_part {
	char topic[128];
	int32_t partition;
	int64_t first, last;
};

/* One open archive file. */
struct afile {
	unsigned retention; /* days; 0 for dead letters */
	char category[72];
	int64_t hour; /* event hour: ms / 3600000 */
	char dir[PATH_MAX]; /* made, and the file in it, at the first frame */
	char path[PATH_MAX], part[PATH_MAX], mpart[PATH_MAX];
	int fd, mfd; /* -1 until the first frame */
	bool create_failed; /* said once per run of failures */
	bool dir_synced;
	off_t size, msize;                  /* bytes of whole frames / manifest lines written */
	off_t durable_size, mdurable_size;  /* of those, fsynced */
	struct vg_buf unsynced, munsynced;  /* what was written past them, kept until fsynced */
	bool rewrite;                       /* an fsync failed: write unsynced again first */
	bool in_job;                        /* in the sync job in flight */
	uint64_t frames;
	struct vg_buf pending;
	uint64_t pending_records;
	struct frame_part parts[MAX_PARTS];
	size_t n_parts;
	int64_t min_ts, max_ts;
	uint64_t levels[VG_LEVEL_COUNT];
	int64_t last_append_ms;
	bool rotate;
};

/* Appended and durable positions of one topic/partition. */
struct position {
	char topic[128];
	int32_t partition;
	int64_t appended, submitted, durable; /* next offset after the last record */
	/* Records that could not be kept (out of memory) at offsets
	 * [hole_lo, hole_hi]: nothing from hole_lo on is reported durable
	 * until they are read again (a restart or a rebalance goes back to
	 * the committed offset) and kept this time. -1: none. */
	int64_t hole_lo, hole_hi;
	bool refill; /* read again from hole_lo or before since the last loss */
};

/* The fsyncs of one sync point, run on the syncer thread while the worker
 * goes on compressing: fds and directories to fsync, and the result. */
struct sync_item {
	int fd, mfd;
	const char *dir_of; /* a new file's path: fsync its directory; NULL: done */
	struct afile *file; /* the worker's; the syncer never touches it */
	int rc;             /* set by the syncer */
	int err;            /* its errno when rc is an error */
};

struct syncer {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool running, busy, stop; /* busy: a job submitted and not finished */
	struct sync_item *items;
	size_t n, cap;
	int rc;
	double seconds; /* the last job's fsyncs took */
	int (*fsync_fn)(int fd);
};

struct vg_archive {
	struct vg_archive_params p;
	char *dir, *instance;
	unsigned worker;
	uint64_t seq;
	struct afile **files;
	size_t n_files, cap_files;
	struct position *pos;
	size_t n_pos, cap_pos;
	struct vg_offset *durable; /* vg_archive_durable's answer */
	size_t cap_durable;
	size_t total_pending;
	int64_t oldest_pending_ms; /* clock when the first pending record came; 0 none */
	ZSTD_CCtx *cctx;
	void *zbuf;
	size_t zcap;
	struct syncer sy;
	bool job; /* a sync job in flight (not yet harvested) */
	struct vg_archive_stats stats;
};

/* ---- paths -------------------------------------------------------------- */

/* Keep [a-z0-9_-], lower-cased, at most 64 bytes; "unknown" when nothing is
 * left. Nothing from log data reaches a path any other way. */
static void sanitise(const char *in, char *out, size_t cap)
{
	size_t o = 0;

	for (; *in && o + 1 < cap && o < 64; in++) {
		char c = *in;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')
			out[o++] = c;
	}
	if (o == 0)
		o = (size_t)snprintf(out, cap, "unknown");
	out[o] = '\0';
}

/* mkdir -p, and each directory it makes is fsynced into its parent: a new
 * hour directory must survive a power cut as surely as the file in it. */
static int mkdirs(char *path)
{
	for (char *s = path + 1;; s++) {
		if (*s != '/' && *s)
			continue;
		char c = *s;

		*s = '\0';
		int rc = mkdir(path, 0755);

		if (rc == 0)
			rc = vg_archive_fsync_dir_of(path);
		else if (errno == EEXIST)
			rc = 0;
		*s = c;
		if (rc != 0)
			return -1;
		if (!c)
			return 0;
	}
}

int vg_archive_fsync_dir_of(const char *path)
{
	char d[PATH_MAX];
	const char *slash = strrchr(path, '/');

	if (!slash)
		return 0;
	snprintf(d, sizeof(d), "%.*s", (int)(slash - path), path);
	int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	int rc = fsync(fd);

	close(fd);
	return rc;
}

/* ---- files -------------------------------------------------------------- */

static void file_free(struct afile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	if (f->mfd >= 0)
		close(f->mfd);
	vg_buf_free(&f->pending);
	vg_buf_free(&f->unsynced);
	vg_buf_free(&f->munsynced);
	free(f);
}

/* A file in memory only: records gather in its pending buffer, and the
 * file is made on disk when its first frame is written (file_create). A
 * directory or file that cannot be made then (disk full, a path taken)
 * leaves the records pending, so nothing past them is ever durable. */
static struct afile *file_new(struct vg_archive *a, unsigned retention, const char *category, int64_t hour)
{
	struct afile *f = calloc(1, sizeof(*f));
	char date[32];

	if (!f)
		return NULL;
	f->fd = f->mfd = -1;
	f->retention = retention;
	snprintf(f->category, sizeof(f->category), "%s", category);
	f->hour = hour;
	f->min_ts = INT64_MAX;
	f->max_ts = INT64_MIN;
	vg_clock_format_rfc3339(hour * 3600000, date); /* YYYY-MM-DDTHH:... */
	int dn = retention ? snprintf(f->dir, sizeof(f->dir), "%s/%ud/%s/%.10s/%.2s", a->dir, retention, category,
				      date, date + 11)
			   : snprintf(f->dir, sizeof(f->dir), "%s/dead-letter/%.10s", a->dir, date);

	if (dn < 0 || (size_t)dn >= sizeof(f->dir)) {
		vg_log_kv(VG_LOG_ERROR, "archive", "an archive path does not fit", VG_LOG_S("dir", a->dir));
		free(f);
		return NULL;
	}
	return f;
}

static int file_create(struct vg_archive *a, struct afile *f)
{
	char dirp[PATH_MAX];

	memcpy(dirp, f->dir, sizeof(dirp));
	f->part[0] = '\0';
	if (mkdirs(dirp) != 0)
		goto fail;
	/* A name already taken (a restart with a fixed instance name) is never
	 * overwritten: the next sequence number is tried. */
	for (;;) {
		/* A path that does not fit is an error, never a truncated name. */
		int n = snprintf(f->path, sizeof(f->path), "%s/%s-w%u-%llu.jsonl.zst", f->dir, a->instance, a->worker,
				 (unsigned long long)a->seq++);
		struct stat st;

		if (n < 0 || (size_t)n + sizeof(".manifest.jsonl.part") > sizeof(f->path)) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		memcpy(f->part, f->path, (size_t)n);
		memcpy(f->part + n, ".part", sizeof(".part"));
		memcpy(f->mpart, f->path, (size_t)n);
		memcpy(f->mpart + n, ".manifest.jsonl.part", sizeof(".manifest.jsonl.part"));
		if (stat(f->path, &st) == 0)
			continue;
		f->fd = open(f->part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (f->fd < 0 && errno == EEXIST)
			continue;
		break;
	}
	/* The lock tells `vigil verify --repair` this .part is live. */
	if (f->fd < 0 || flock(f->fd, LOCK_EX | LOCK_NB) != 0)
		goto fail;
	f->mfd = open(f->mpart, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (f->mfd < 0)
		goto fail;
	if (f->create_failed)
		vg_log_kv(VG_LOG_INFO, "archive", "archive file created after earlier failures",
			  VG_LOG_S("path", f->part));
	f->create_failed = false;
	a->stats.files++;
	return VG_OK;

fail:
	if (!f->create_failed)
		vg_log_kv(VG_LOG_ERROR, "archive", "cannot create an archive file; its records stay pending",
			  VG_LOG_S("path", f->part[0] ? f->part : f->dir), VG_LOG_S("error", strerror(errno)));
	f->create_failed = true;
	a->stats.error_errno = errno;
	if (f->fd >= 0) {
		close(f->fd);
		unlink(f->part); /* empty: ours, made just now */
		f->fd = -1;
	}
	a->stats.write_errors++;
	return VG_ERR_IO;
}

static struct afile *file_for(struct vg_archive *a, unsigned retention, const char *category, int64_t hour)
{
	for (size_t i = 0; i < a->n_files; i++) {
		struct afile *f = a->files[i];

		if (f->hour == hour && f->retention == retention && !f->rotate && strcmp(f->category, category) == 0)
			return f;
	}
	if (vg_grow(&a->files, &a->cap_files, a->n_files + 1, sizeof(*a->files), 16) != 0)
		return NULL;
	struct afile *f = file_new(a, retention, category, hour);

	if (f)
		a->files[a->n_files++] = f;
	return f;
}

/* Rename a file's .part names to the final ones (after its last frame). */
static int file_finish(struct afile *f)
{
	char mfinal[PATH_MAX];
	int rc = 0;
	size_t n = strlen(f->path);

	if (f->fd < 0)
		return 0; /* never made: nothing on disk */
	memcpy(mfinal, f->path, n); /* fits: file_create checked the longer .part name */
	memcpy(mfinal + n, ".manifest.jsonl", sizeof(".manifest.jsonl"));
	if (fsync(f->fd) != 0 || fsync(f->mfd) != 0 || rename(f->part, f->path) != 0 ||
	    rename(f->mpart, mfinal) != 0 || vg_archive_fsync_dir_of(f->path) != 0)
		rc = -1;
	return rc;
}

/* ---- writing ------------------------------------------------------------ */

static ssize_t do_write(struct vg_archive *a, int fd, const void *p, size_t n)
{
	return a->p.write_fn ? a->p.write_fn(fd, p, n) : write(fd, p, n);
}

static int write_all(struct vg_archive *a, int fd, const void *p, size_t n)
{
	const char *s = p;

	while (n) {
		ssize_t w = do_write(a, fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			a->stats.error_errno = w < 0 ? errno : ENOSPC; /* a write of 0: no room */
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Cut a file back to what was written whole (a failed write leaves a torn
 * tail otherwise); the next sync writes the rest again. */
static void cut_back(struct afile *f, off_t size, off_t msize)
{
	if (ftruncate(f->fd, size) != 0 || lseek(f->fd, size, SEEK_SET) < 0 || ftruncate(f->mfd, msize) != 0 ||
	    lseek(f->mfd, msize, SEEK_SET) < 0) {
		/* Nothing better to do: the next write fails the same way and
		 * nothing past the durable sizes is ever reported durable. */
	}
}

/* After a failed fsync: the bytes past the durable sizes cannot be trusted
 * (the kernel may have dropped them), so cut the file there and write
 * them again from what was kept. */
static int rewrite_file(struct vg_archive *a, struct afile *f)
{
	cut_back(f, f->durable_size, f->mdurable_size);
	if (write_all(a, f->fd, f->unsynced.p, f->unsynced.len) != 0 ||
	    write_all(a, f->mfd, f->munsynced.p, f->munsynced.len) != 0) {
		cut_back(f, f->durable_size, f->mdurable_size);
		return VG_ERR_IO;
	}
	f->size = f->durable_size + (off_t)f->unsynced.len;
	f->msize = f->mdurable_size + (off_t)f->munsynced.len;
	f->rewrite = false;
	return VG_OK;
}

/* One frame for a file's pending records, then its manifest line (not yet
 * fsynced: the sync job does that). On error the file is cut back to its
 * last whole frame and line, and the records stay pending. */
static int flush_file(struct vg_archive *a, struct afile *f)
{
	size_t bound = ZSTD_compressBound(f->pending.len);

	if (f->fd < 0 && file_create(a, f) != VG_OK)
		return VG_ERR_IO;
	if (bound > a->zcap) {
		void *z = realloc(a->zbuf, bound);

		if (!z)
			return VG_ERR_NOMEM;
		a->zbuf = z;
		a->zcap = bound;
	}
	size_t zn = ZSTD_compress2(a->cctx, a->zbuf, a->zcap, f->pending.p, f->pending.len);

	if (ZSTD_isError(zn))
		return VG_ERR_IO;
	struct vg_buf m = {0};

	vg_buf_puts(&m, "{\"frame\":");
	vg_buf_put_u64(&m, f->frames);
	vg_buf_puts(&m, ",\"offset\":");
	vg_buf_put_u64(&m, (uint64_t)f->size);
	vg_buf_puts(&m, ",\"compressed\":");
	vg_buf_put_u64(&m, zn);
	vg_buf_puts(&m, ",\"bytes\":");
	vg_buf_put_u64(&m, f->pending.len);
	vg_buf_puts(&m, ",\"records\":");
	vg_buf_put_u64(&m, f->pending_records);
	vg_buf_puts(&m, ",\"min_ts\":");
	vg_buf_put_i64(&m, f->min_ts);
	vg_buf_puts(&m, ",\"max_ts\":");
	vg_buf_put_i64(&m, f->max_ts);
	vg_buf_puts(&m, ",\"partitions\":{");
	for (size_t i = 0; i < f->n_parts; i++) {
		char k[160];

		snprintf(k, sizeof(k), "%s/%d", f->parts[i].topic, f->parts[i].partition);
		if (i)
			vg_buf_putc(&m, ',');
		vg_buf_put_json_str(&m, vg_str_cstr(k));
		vg_buf_puts(&m, ":[");
		vg_buf_put_i64(&m, f->parts[i].first);
		vg_buf_putc(&m, ',');
		vg_buf_put_i64(&m, f->parts[i].last);
		vg_buf_putc(&m, ']');
	}
	vg_buf_puts(&m, "},\"levels\":{");
	for (int l = 0, first = 1; l < VG_LEVEL_COUNT; l++) {
		if (!f->levels[l])
			continue;
		vg_buf_puts(&m, first ? "\"" : ",\"");
		vg_buf_puts(&m, vg_level_name(l));
		vg_buf_puts(&m, "\":");
		vg_buf_put_u64(&m, f->levels[l]);
		first = 0;
	}
	vg_buf_puts(&m, "}}\n");
	vg_buf_put(&f->unsynced, a->zbuf, zn);
	vg_buf_put(&f->munsynced, m.p, m.len);
	if (m.failed || f->unsynced.failed || f->munsynced.failed) {
		vg_buf_free(&m);
		f->unsynced.len = (size_t)(f->size - f->durable_size);
		f->munsynced.len = (size_t)(f->msize - f->mdurable_size);
		f->unsynced.failed = f->munsynced.failed = false;
		return VG_ERR_NOMEM;
	}
	/* Frame first, then its line: a line never describes a frame that is
	 * not wholly written before it. */
	if (write_all(a, f->fd, a->zbuf, zn) != 0 || write_all(a, f->mfd, m.p, m.len) != 0) {
		cut_back(f, f->size, f->msize);
		f->unsynced.len -= zn;
		f->munsynced.len -= m.len;
		vg_buf_free(&m);
		a->stats.write_errors++;
		return VG_ERR_IO;
	}
	a->stats.frames++;
	a->stats.bytes_out += zn;
	f->size += (off_t)zn;
	f->msize += (off_t)m.len;
	vg_buf_free(&m);
	f->frames++;
	a->total_pending -= f->pending.len;
	f->pending.len = 0;
	f->pending_records = 0;
	f->n_parts = 0;
	f->min_ts = INT64_MAX;
	f->max_ts = INT64_MIN;
	memset(f->levels, 0, sizeof(f->levels));
	if ((size_t)f->size >= a->p.rotate_bytes)
		f->rotate = true;
	return VG_OK;
}

/* ---- the syncer thread -------------------------------------------------- */

static void *syncer_main(void *arg)
{
	struct syncer *sy = arg;

	pthread_mutex_lock(&sy->mu);
	for (;;) {
		while (!sy->busy && !sy->stop)
			pthread_cond_wait(&sy->cv, &sy->mu);
		if (!sy->busy)
			break; /* stop, nothing left to do */
		pthread_mutex_unlock(&sy->mu);
		int rc = VG_OK;
		double t0 = vg_clock_mono_s();

		/* The items are the worker's to change only once busy is false. */
		for (size_t i = 0; i < sy->n; i++) {
			struct sync_item *it = &sy->items[i];

			it->rc = VG_OK;
			if (sy->fsync_fn(it->fd) != 0 || sy->fsync_fn(it->mfd) != 0 ||
			    (it->dir_of && vg_archive_fsync_dir_of(it->dir_of) != 0)) {
				rc = it->rc = VG_ERR_IO;
				it->err = errno;
			}
		}
		double t1 = vg_clock_mono_s();

		pthread_mutex_lock(&sy->mu);
		sy->rc = rc;
		sy->seconds = t1 - t0;
		sy->busy = false;
		pthread_cond_broadcast(&sy->cv);
	}
	pthread_mutex_unlock(&sy->mu);
	return NULL;
}

static bool syncer_done(struct syncer *sy, bool wait)
{
	pthread_mutex_lock(&sy->mu);
	while (wait && sy->busy)
		pthread_cond_wait(&sy->cv, &sy->mu);
	bool done = !sy->busy;

	pthread_mutex_unlock(&sy->mu);
	return done;
}

/* Hand the files written since their last fsync to the syncer. all: every
 * pending record was written, so the positions appended so far become
 * durable with this job. */
static int syncer_submit(struct vg_archive *a, bool all)
{
	struct syncer *sy = &a->sy;
	size_t n = 0;

	for (size_t i = 0; i < a->n_files; i++) {
		struct afile *f = a->files[i];

		f->in_job = f->unsynced.len || f->munsynced.len;
		if (!f->in_job)
			continue;
		if (vg_grow(&sy->items, &sy->cap, n + 1, sizeof(*sy->items), 16) != 0)
			return VG_ERR_NOMEM;
		sy->items[n++] = (struct sync_item){f->fd, f->mfd, f->dir_synced ? NULL : f->part, f, VG_OK, 0};
	}
	for (size_t i = 0; all && i < a->n_pos; i++)
		a->pos[i].submitted = a->pos[i].appended;
	if (n == 0) {
		/* Everything written is already fsynced. */
		for (size_t i = 0; i < a->n_pos; i++)
			a->pos[i].durable = a->pos[i].submitted;
		return VG_OK;
	}
	pthread_mutex_lock(&sy->mu);
	sy->n = n;
	sy->busy = true;
	pthread_cond_broadcast(&sy->cv);
	pthread_mutex_unlock(&sy->mu);
	a->job = true;
	return VG_OK;
}

/* The finished job's outcome (read after syncer_done: ordered by its
 * mutex): files whose fsyncs succeeded are durable up to what they had
 * written, the others are written again at the next sync point; the
 * positions advance only when every file succeeded. */
static int harvest(struct vg_archive *a)
{
	int rc = a->sy.rc;

	a->job = false;
	a->stats.sync_points++;
	a->stats.sync_seconds += a->sy.seconds;
	for (size_t i = 0; i < a->sy.n; i++) {
		struct afile *f = a->sy.items[i].file;

		f->in_job = false;
		if (a->sy.items[i].rc != VG_OK) {
			f->rewrite = true;
			a->stats.error_errno = a->sy.items[i].err;
			continue;
		}
		f->durable_size = f->size;
		f->mdurable_size = f->msize;
		f->unsynced.len = f->munsynced.len = 0;
		f->dir_synced = true;
		a->stats.fsyncs += 2;
	}
	if (rc != VG_OK) {
		a->stats.write_errors++;
		a->stats.healthy = false;
		return rc;
	}
	for (size_t i = 0; i < a->n_pos; i++)
		a->pos[i].durable = a->pos[i].submitted;
	return VG_OK;
}

int vg_archive_sync(struct vg_archive *a, bool force, int64_t now_ms)
{
	int rc = VG_OK;
	bool some = false;

	if (a->job && syncer_done(&a->sy, false))
		rc = harvest(a);
	/* A file with flush_bytes pending gets its frame; every file does once
	 * the oldest pending record is flush_ms old, or all files together
	 * hold PENDING_CAP frames' worth (memory), or on force. Only when
	 * every file is written do the positions advance. */
	bool all = force || a->total_pending >= PENDING_CAP * a->p.flush_bytes ||
		   (a->oldest_pending_ms && now_ms - a->oldest_pending_ms >= a->p.flush_ms);

	for (size_t i = 0; i < a->n_files; i++)
		some |= a->files[i]->rewrite || a->files[i]->pending.len >= a->p.flush_bytes;
	if (!all && !some)
		return rc; /* not due */
	if (a->job) {
		syncer_done(&a->sy, true);
		rc = harvest(a);
	}
	/* Write every frame due (the syncer is idle: the files are ours). */
	int wrc = VG_OK;

	for (size_t i = 0; i < a->n_files && wrc == VG_OK; i++) {
		struct afile *f = a->files[i];

		if (f->rewrite)
			wrc = rewrite_file(a, f);
		if (wrc == VG_OK && f->pending.len && (all || f->pending.len >= a->p.flush_bytes))
			wrc = flush_file(a, f);
	}
	if (wrc != VG_OK) {
		a->stats.healthy = false;
		return wrc; /* what was written is synced with the rest next time */
	}
	if (all)
		a->oldest_pending_ms = 0;
	if ((wrc = syncer_submit(a, all)) != VG_OK)
		return wrc;
	if (force && a->job) {
		syncer_done(&a->sy, true);
		rc = harvest(a); /* the state now is what a forced sync reports */
	}
	if (rc != VG_OK)
		return rc;
	a->stats.healthy = true;
	a->stats.error_errno = 0;
	/* Rotate full files and files idle since well before now, once all
	 * they hold is durable. */
	for (size_t i = 0; i < a->n_files;) {
		struct afile *f = a->files[i];

		if (!f->in_job && !f->rewrite && !f->pending.len && !f->unsynced.len &&
		    (f->rotate || now_ms - f->last_append_ms >= IDLE_CLOSE_MS)) {
			if (file_finish(f) != 0) {
				a->stats.error_errno = errno;
				a->stats.write_errors++;
				a->stats.healthy = false;
				return VG_ERR_IO; /* stays, retried next time */
			}
			file_free(f);
			a->files[i] = a->files[--a->n_files];
			continue;
		}
		i++;
	}
	return VG_OK;
}

static struct position *position_for(struct vg_archive *a, const char *topic, int32_t partition)
{
	for (size_t i = 0; i < a->n_pos; i++) {
		if (a->pos[i].partition == partition && strcmp(a->pos[i].topic, topic) == 0)
			return &a->pos[i];
	}
	if (vg_grow(&a->pos, &a->cap_pos, a->n_pos + 1, sizeof(*a->pos), 16) != 0)
		return NULL;
	struct position *p = &a->pos[a->n_pos++];

	snprintf(p->topic, sizeof(p->topic), "%s", topic);
	p->partition = partition;
	p->appended = p->submitted = p->durable = -1;
	p->hole_lo = p->hole_hi = -1;
	return p;
}

/* A record of topic/partition at offset was not kept: offsets are never
 * committed past it (at-least-once holds through a restart). */
static void lost(struct vg_archive *a, const char *topic, int32_t partition, int64_t offset)
{
	struct position *p = topic && offset >= 0 ? position_for(a, topic, partition) : NULL;

	a->stats.unkept++;
	a->stats.healthy = false;
	if (!p) {
		/* Not even that could be noted: the worker stalls on the
		 * error, and commits wait for a forced sync. */
		return;
	}
	if (p->hole_lo < 0)
		vg_log_kv(VG_LOG_ERROR, "archive",
			  "a record could not be kept (out of memory); offsets are not committed past it until it is "
			  "read again",
			  VG_LOG_S("topic", topic), VG_LOG_I("partition", partition), VG_LOG_I("offset", offset));
	if (p->hole_lo < 0 || offset < p->hole_lo)
		p->hole_lo = offset;
	if (offset > p->hole_hi)
		p->hole_hi = offset;
	p->refill = false;
}

/* A record kept at offset: a hole is filled once a read going back to its
 * start has kept everything up to its end. */
static void kept(struct position *p, int64_t offset)
{
	if (p->hole_lo < 0)
		return;
	if (offset <= p->hole_lo)
		p->refill = true;
	if (p->refill && offset >= p->hole_hi) {
		p->hole_lo = p->hole_hi = -1;
		p->refill = false;
	}
}

static int add_line(struct vg_archive *a, struct afile *f, const void *line, size_t len, int64_t ts_ms, int level,
		    const char *topic, int32_t partition, int64_t offset)
{
	int64_t now = vg_clock_now_ms();
	size_t before = f->pending.len;

	vg_buf_put(&f->pending, line, len);
	vg_buf_putc(&f->pending, '\n');
	if (f->pending.failed) {
		f->pending.len = before; /* never half a line */
		f->pending.failed = false;
		lost(a, topic, partition, offset);
		return VG_ERR_NOMEM;
	}
	f->pending_records++;
	f->last_append_ms = now;
	a->total_pending += len + 1;
	a->stats.bytes_in += len + 1;
	if (!a->oldest_pending_ms)
		a->oldest_pending_ms = now;
	if (ts_ms < f->min_ts)
		f->min_ts = ts_ms;
	if (ts_ms > f->max_ts)
		f->max_ts = ts_ms;
	if (level >= 0 && level < VG_LEVEL_COUNT)
		f->levels[level]++;
	if (!topic || offset < 0)
		return VG_OK;
	size_t i = 0;

	while (i < f->n_parts && !(f->parts[i].partition == partition && strcmp(f->parts[i].topic, topic) == 0))
		i++;
	if (i == f->n_parts && i < MAX_PARTS) {
		snprintf(f->parts[i].topic, sizeof(f->parts[i].topic), "%s", topic);
		f->parts[i].partition = partition;
		f->parts[i].first = offset;
		f->n_parts++;
	}
	if (i < f->n_parts)
		f->parts[i].last = offset;
	struct position *p = position_for(a, topic, partition);

	if (!p)
		return VG_ERR_NOMEM;
	if (offset + 1 > p->appended)
		p->appended = offset + 1;
	kept(p, offset);
	return VG_OK;
}

int vg_archive_append(struct vg_archive *a, vg_str raw, unsigned retention_days, const char *category,
		      int64_t ts_ms, int level, const char *topic, int32_t partition, int64_t offset)
{
	char cat[72];

	sanitise(category, cat, sizeof(cat));
	int64_t t = ts_ms == VG_TIME_NONE ? vg_clock_now_ms() : ts_ms;
	struct afile *f = file_for(a, retention_days ? retention_days : 1, cat, t >= 0 ? t / 3600000 : 0);

	if (!f) {
		lost(a, topic, partition, offset);
		return VG_ERR_NOMEM;
	}
	a->stats.records++;
	return add_line(a, f, raw.p, raw.len, t, level, topic, partition, offset);
}

static void base64(struct vg_buf *b, const unsigned char *s, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0) |
			     (i + 2 < n ? (uint32_t)s[i + 2] : 0);
		char q[4] = {tab[v >> 18 & 63], tab[v >> 12 & 63], i + 1 < n ? tab[v >> 6 & 63] : '=',
			     i + 2 < n ? tab[v & 63] : '='};

		vg_buf_put(b, q, 4);
	}
}

int vg_archive_dead(struct vg_archive *a, vg_str raw, const char *reason, const char *topic, int32_t partition,
		    int64_t offset, int64_t ts_ms)
{
	int64_t t = ts_ms == VG_TIME_NONE ? vg_clock_now_ms() : ts_ms;
	struct afile *f = file_for(a, 0, "dead-letter", t >= 0 ? t / 3600000 : 0);
	struct vg_buf l = {0};

	if (!f) {
		lost(a, topic, partition, offset);
		return VG_ERR_NOMEM;
	}
	vg_buf_puts(&l, "{\"reason\":");
	vg_buf_put_json_str(&l, vg_str_cstr(reason));
	if (topic) {
		vg_buf_puts(&l, ",\"topic\":");
		vg_buf_put_json_str(&l, vg_str_cstr(topic));
		vg_buf_puts(&l, ",\"partition\":");
		vg_buf_put_i64(&l, partition);
		vg_buf_puts(&l, ",\"offset\":");
		vg_buf_put_i64(&l, offset);
	}
	vg_buf_puts(&l, ",\"ts_ms\":");
	vg_buf_put_i64(&l, t);
	vg_buf_puts(&l, ",\"bytes\":");
	vg_buf_put_u64(&l, raw.len);
	vg_buf_puts(&l, ",\"raw_b64\":\"");
	base64(&l, (const unsigned char *)raw.p, raw.len);
	vg_buf_puts(&l, "\"}");
	a->stats.dead++;
	int rc;

	if (l.failed) {
		lost(a, topic, partition, offset);
		rc = VG_ERR_NOMEM;
	} else {
		rc = add_line(a, f, l.p, l.len, t, -1, topic, partition, offset);
	}

	vg_buf_free(&l);
	return rc;
}

size_t vg_archive_durable(struct vg_archive *a, const struct vg_offset **out)
{
	size_t n = 0;

	*out = a->durable;
	if (vg_grow(&a->durable, &a->cap_durable, a->n_pos, sizeof(*a->durable), 16) != 0)
		return 0;
	*out = a->durable;
	for (size_t i = 0; i < a->n_pos; i++) {
		const struct position *p = &a->pos[i];
		int64_t next = p->hole_lo >= 0 && p->hole_lo < p->durable ? p->hole_lo : p->durable;

		if (next >= 0)
			a->durable[n++] = (struct vg_offset){p->topic, p->partition, next};
	}
	return n;
}

void vg_archive_get_stats(const struct vg_archive *a, struct vg_archive_stats *out)
{
	*out = a->stats;
}

/* ---- lifecycle ---------------------------------------------------------- */

int vg_archive_open(struct vg_archive **out, const struct vg_archive_params *p, unsigned worker, char *errbuf,
		    size_t errlen)
{
	struct vg_archive *a = calloc(1, sizeof(*a));

	*out = NULL;
	if (!a)
		return VG_ERR_NOMEM;
	if (strlen(p->dir) + 256 > PATH_MAX) {
		/* Room for retention/category/date/hour/name under it. */
		snprintf(errbuf, errlen, "archive: directory path too long (%zu bytes, at most %d)", strlen(p->dir),
			 PATH_MAX - 256);
		free(a);
		return VG_ERR_INVALID;
	}
	a->p = *p;
	a->worker = worker;
	a->stats.healthy = true;
	a->dir = strdup(p->dir);
	a->instance = strdup(p->instance && *p->instance ? p->instance : "vigil");
	a->cctx = ZSTD_createCCtx();
	if (!a->dir || !a->instance || !a->cctx) {
		vg_archive_close(a);
		return VG_ERR_NOMEM;
	}
	a->sy.fsync_fn = p->fsync_fn ? p->fsync_fn : fsync;
	if (pthread_mutex_init(&a->sy.mu, NULL) != 0 || pthread_cond_init(&a->sy.cv, NULL) != 0 ||
	    pthread_create(&a->sy.thread, NULL, syncer_main, &a->sy) != 0) {
		snprintf(errbuf, errlen, "archive: cannot start the syncer thread");
		vg_archive_close(a);
		return VG_ERR_NOMEM;
	}
	a->sy.running = true;
	ZSTD_CCtx_setParameter(a->cctx, ZSTD_c_compressionLevel, p->level);
	ZSTD_CCtx_setParameter(a->cctx, ZSTD_c_checksumFlag, 1);
	char d[PATH_MAX];

	snprintf(d, sizeof(d), "%s", p->dir);
	if (mkdirs(d) != 0) {
		snprintf(errbuf, errlen, "archive: cannot create %s: %s", p->dir, strerror(errno));
		vg_archive_close(a);
		return VG_ERR_IO;
	}
	*out = a;
	return VG_OK;
}

int vg_archive_close(struct vg_archive *a)
{
	int rc = VG_OK;

	if (!a)
		return VG_OK;
	if (a->sy.running && vg_archive_sync(a, true, vg_clock_now_ms()) != VG_OK)
		rc = VG_ERR_IO;
	for (size_t i = 0; i < a->n_files; i++) {
		struct afile *f = a->files[i];

		/* Only files whose frames are all on disk are renamed: a file
		 * that still has pending records stays .part (recoverable). */
		if (rc == VG_OK && file_finish(f) != 0)
			rc = VG_ERR_IO;
		file_free(f);
	}
	if (a->sy.running) {
		pthread_mutex_lock(&a->sy.mu);
		a->sy.stop = true;
		pthread_cond_broadcast(&a->sy.cv);
		pthread_mutex_unlock(&a->sy.mu);
		pthread_join(a->sy.thread, NULL);
		pthread_mutex_destroy(&a->sy.mu);
		pthread_cond_destroy(&a->sy.cv);
	}
	free(a->sy.items);
	free(a->files);
	free(a->pos);
	free(a->durable);
	free(a->zbuf);
	ZSTD_freeCCtx(a->cctx);
	free(a->dir);
	free(a->instance);
	free(a);
	return rc;
}

const char *vg_archive_error_str(int rc, int error_errno, const char *dir, char *buf, size_t n)
{
	switch (error_errno) {
	case 0: snprintf(buf, n, "%s", vg_err_str(rc)); break;
	case ENOSPC: snprintf(buf, n, "no space left on %s", dir); break;
	case EDQUOT: snprintf(buf, n, "disk quota exceeded on %s", dir); break;
	case EROFS: snprintf(buf, n, "read-only file system at %s", dir); break;
	default: snprintf(buf, n, "%s (%s)", strerror(error_errno), dir); break;
	}
	return buf;
}

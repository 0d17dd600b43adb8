/* vigil: the archive writer.
 *
 * Records are kept as their original bytes, one per line, in zstd files:
 *   <dir>/<retention>d/<category>/<YYYY-MM-DD>/<HH>/<instance>-w<worker>-<seq>.jsonl.zst
 * by the record's event hour (UTC). A file is a sequence of zstd frames
 * with content checksums, one frame per flush, readable by the stock
 * `zstdcat`. It is written as `.part` and renamed when rotated (size, or
 * idle past its hour) or closed; beside it, `<file>.manifest.jsonl` has one
 * line per frame (byte offset and sizes, records, first and last offset per
 * topic/partition, event-time range, counts by level).
 *
 * Durability: every file with pending records gets its frame and an fsync
 * at one sync point; only after a sync point that left nothing pending is
 * everything appended before it durable (vg_archive_durable). On a write
 * error the file is cut back to its last whole frame, the writer is marked
 * unhealthy, nothing more becomes durable, and the next sync retries.
 *
 * Records that fail to parse go to <dir>/dead-letter/<YYYY-MM-DD>/ in the
 * same format, as JSON lines with the reason, topic, partition, offset and
 * the raw bytes in base64. Path components from log data (the category) are
 * sanitised: lower-case letters, digits, '_' and '-', at most 64 bytes.
 *
 * One writer per worker thread; not thread-safe. */
#ifndef VG_ARCHIVE_H
#define VG_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/record.h"
#include "core/str.h"

struct vg_archive_params {
	const char *dir;
	const char *instance; /* file name prefix (host name by default) */
	int level;            /* zstd level */
	size_t flush_bytes;   /* sync once this much is pending */
	int64_t flush_ms;     /* or once the oldest pending record is this old */
	size_t rotate_bytes;  /* a file this large is closed and a new one begun */
	/* Fault injection for tests: replace write(2) and fsync(2) when set
	 * (fsync_fn runs on the writer's syncer thread). */
	ssize_t (*write_fn)(int fd, const void *p, size_t n);
	int (*fsync_fn)(int fd);
};

struct vg_archive;

/* A writer for worker `worker`. Creates dir when missing. Returns 0, or
 * VG_ERR_IO / VG_ERR_NOMEM with errbuf set. */
int vg_archive_open(struct vg_archive **out, const struct vg_archive_params *p, unsigned worker, char *errbuf,
		    size_t errlen);

/* Sync, rename every .part to its final name, fsync the directories, free.
 * Returns 0 or VG_ERR_IO (what was not synced is not durable). NULL: 0. */
int vg_archive_close(struct vg_archive *a);

/* Append one record (no newline in raw: valid JSON has none). */
int vg_archive_append(struct vg_archive *a, vg_str raw, unsigned retention_days, const char *category,
		      int64_t ts_ms, int level, const char *topic, int32_t partition, int64_t offset);

/* Append a record that failed to parse, with its reason. */
int vg_archive_dead(struct vg_archive *a, vg_str raw, const char *reason, const char *topic, int32_t partition,
		    int64_t offset, int64_t ts_ms);

/* Flush when due (force: always): every pending frame written and
 * fsynced, then idle or full files rotated. Returns 0, or VG_ERR_IO on a
 * write error (nothing more becomes durable; retried at the next call). */
int vg_archive_sync(struct vg_archive *a, bool force, int64_t now_ms);

/* Durable position of every topic/partition appended so far: *out set to
 * an array of them (the offset after each one's last durable record),
 * valid until the next call on a; returns how many. Only what a sync
 * point made durable is reported, and never past a record that could not
 * be kept (stats.unkept) until that record has been appended again. Out
 * of memory: 0 (nothing reported is nothing committed). */
size_t vg_archive_durable(struct vg_archive *a, const struct vg_offset **out);

/* fsync the directory holding path (so a created or renamed name in it is
 * durable). Returns 0, or -1 with errno set. A path without '/': 0. */
int vg_archive_fsync_dir_of(const char *path);

struct vg_archive_stats {
	uint64_t records, dead, frames, files, bytes_in, bytes_out, fsyncs, write_errors;
	uint64_t sync_points; /* fsync jobs finished, and the seconds their fsyncs took */
	double sync_seconds;
	uint64_t unkept; /* records not kept (out of memory): never committed past, see vg_archive_durable */
	bool healthy;
	int error_errno; /* the errno of the last failed create, write or fsync (ENOSPC, EDQUOT,
			  * EROFS...); 0 before any, and again once healthy */
};

/* What an archive error means to a person, into buf: "no space left on
 * DIR" for ENOSPC, "disk quota exceeded on DIR", "read-only file system
 * at DIR", else the errno's text and DIR; the error code's text (rc) when
 * no errno was kept. Returns buf. */
const char *vg_archive_error_str(int rc, int error_errno, const char *dir, char *buf, size_t n);

void vg_archive_get_stats(const struct vg_archive *a, struct vg_archive_stats *out);

#endif

/* vigil: reading the archive back.
 *
 * The layout (archive.h) says which retention class, category and hour a
 * file holds; the manifest beside it says where each frame is, its sizes,
 * records, event-time range and counts by level. From these two the tools
 * (`vigil verify`, `cat`, `prune`, `stats`) find what they need without
 * decoding what they can skip.
 *
 * A file still being written is a `.part` the writer holds an exclusive
 * flock on; the reader never repairs or renames a locked file.
 *
 * Nothing here is thread-safe across one object; distinct objects may be
 * used from distinct threads. */
#ifndef VG_READER_H
#define VG_READER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/record.h"

/* One data file of the archive, as its path describes it. */
struct vg_reader_file {
	char path[PATH_MAX];     /* the data file (.jsonl.zst or .jsonl.zst.part) */
	char manifest[PATH_MAX]; /* its manifest: the final name, or .part when only that exists */
	char class_name[16];     /* "90d", or "dead-letter" */
	unsigned retention_days; /* 0 for dead letter */
	char category[72];       /* "" for dead letter */
	int64_t start_ms;        /* start of its hour (dead letter: of its day), UTC */
	int64_t span_ms;         /* one hour (dead letter: one day) */
	bool part;               /* data file not yet renamed */
	bool manifest_part;      /* manifest not yet renamed */
};

/* Every data file under dir, sorted by path, plus manifests whose data file
 * is missing (orphans). Files outside the layout are ignored. */
struct vg_reader_list {
	struct vg_reader_file *files;
	size_t n;
	char **orphans; /* manifest paths */
	size_t n_orphans;
};

/* List dir. Returns 0, VG_ERR_IO (errbuf names the directory and the
 * reason) or VG_ERR_NOMEM. Free with vg_reader_list_free. */
int vg_reader_list(const char *dir, struct vg_reader_list *out, char *errbuf, size_t errlen);
void vg_reader_list_free(struct vg_reader_list *l);

/* Describe a path relative to the archive root ("90d/access/2026-11-01/00/
 * x-w0-0.jsonl.zst"). Returns false when it is not a data file of the
 * layout (manifests included). */
bool vg_reader_parse_path(const char *rel, struct vg_reader_file *f);

/* One manifest line. */
struct vg_reader_frame {
	uint64_t offset, compressed, bytes, records;
	int64_t min_ts, max_ts;
	uint64_t levels[VG_LEVEL_COUNT];
};

struct vg_reader_manifest {
	struct vg_reader_frame *frames;
	size_t n;
	size_t good_bytes; /* length of the leading whole, valid lines */
	bool torn;         /* a last line without its newline (a write cut short) */
	size_t bad_line;   /* first malformed whole line (1-based), 0: none */
};

/* Parse one manifest line (without its newline). Returns 0, or -1 when it
 * is not a frame line as the writer writes them. */
int vg_reader_frame_parse(const char *line, size_t len, struct vg_reader_frame *fr);

/* Load a manifest. Returns 0, VG_ERR_IO or VG_ERR_NOMEM (errbuf set). */
int vg_reader_manifest_load(const char *path, struct vg_reader_manifest *m, char *errbuf, size_t errlen);
void vg_reader_manifest_free(struct vg_reader_manifest *m);

/* What vg_reader_check found in one file. */
enum vg_reader_state {
	VG_READER_OK,          /* every frame decodes and matches its manifest line */
	VG_READER_OPEN,        /* being written (locked): checked as far as it is whole */
	VG_READER_RECOVERABLE, /* a crash left a torn tail or unrenamed names: --repair fixes it */
	VG_READER_CORRUPT      /* data the manifest vouches for is missing or wrong */
};

struct vg_reader_check {
	enum vg_reader_state state;
	char why[256];              /* the first problem, for a person */
	size_t frames;              /* leading frames that decode and match */
	uint64_t records, bytes;    /* in those frames */
	uint64_t compressed;        /* their compressed size: where a repair cuts the data */
	size_t manifest_good_bytes; /* where a repair cuts the manifest */
};

/* Decode every frame of f (checksums checked by zstd), compare them with
 * the manifest. Returns 0 (the verdict in out), or VG_ERR_IO / VG_ERR_NOMEM
 * when the file cannot be read at all (out->why says why). */
int vg_reader_check(const struct vg_reader_file *f, struct vg_reader_check *out);

/* Bring a RECOVERABLE file back to a clean state: cut data and manifest to
 * what out (from vg_reader_check) vouches for, fsync, rename both to their
 * final names (an empty file is removed). Refused for a locked file.
 * Returns 0 or VG_ERR_IO (why filled). */
int vg_reader_repair(const struct vg_reader_file *f, const struct vg_reader_check *c, char *why, size_t whylen);

/* Calls fn(arg, data, len) with the decoded bytes of every frame of f that
 * keep(arg, frame) accepts (NULL: all), in order. Returns 0, fn's nonzero
 * value, or VG_ERR_IO (a frame that does not decode; why filled). */
int vg_reader_frames(const struct vg_reader_file *f, const struct vg_reader_manifest *m,
		     bool (*keep)(void *arg, const struct vg_reader_frame *fr),
		     int (*fn)(void *arg, const char *data, size_t len), void *arg, char *why, size_t whylen);

/* True when every record of f is past its retention at now_ms: the end of
 * its hour plus its retention days (dead letter: dead_letter_days after its
 * day) is at or before now_ms. */
bool vg_reader_expired(const struct vg_reader_file *f, int64_t now_ms, unsigned dead_letter_days);

#endif

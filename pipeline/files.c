/* vigil: the pipeline over files (see pipeline.h): one thread reads and
 * aggregates inline; several get whole-line chunks of a pipe, or claim
 * ranges of a regular file and read them themselves. */
#define _GNU_SOURCE /* memrchr */
#include "pipeline/pipeline_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "ingest/lines.h"

static void agg_chunk(struct vg_pipeline_worker *w, const struct chunk *c)
{
	const char *s = c->buf, *end = c->buf + c->len;

	vg_wworker_begin(w->ww);
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t l = nl ? (size_t)(nl - s) : (size_t)(end - s); /* the last may lack '\n' */

		vg_step_line(w, s, l);
		s += l + 1;
	}
	vg_wworker_end(w->ww);
}

void *vg_files_worker(void *arg)
{
	struct vg_pipeline_worker *w = arg;
	struct chunk *c;

	while ((c = vg_ring_take(w->in)) != NULL) {
		agg_chunk(w, c);
		c->len = 0;
		c->buf = c->own;
		vg_ring_put(w->run->free_chunks, c);
	}
	vg_wworker_finish(w->ww);
	return NULL;
}

/* One thread: read lines and aggregate them inline. */
/* A quiet input (one thread): close what windows are due meanwhile. */
static void agg_inline_idle(void *arg)
{
	struct vg_pipeline *run = arg;

	vg_wworker_end(run->workers[0].ww);
	vg_closer_close(run, false, CLOSE_EVERY_MS);
	vg_wworker_begin(run->workers[0].ww);
}

/* A quiet input (worker threads): close what windows are due meanwhile. */
static void agg_chunked_idle(void *arg)
{
	vg_closer_close(arg, false, CLOSE_EVERY_MS);
}

#define IDLE_MS 100 /* how often a quiet input lets windows close */
#define INLINE_BATCH_MAX 65536 /* records a batch ends at, in a long window */

static int agg_fd_inline(struct vg_pipeline *run, int fd, const char *name)
{
	struct vg_pipeline_worker *w = &run->workers[0];
	struct vg_lines *lines;
	vg_str line;
	bool oversize;
	uint64_t batch = 0;
	int rc;

	if (vg_lines_open(&lines, fd, run->st.limits.max_bytes) != VG_OK)
		return VG_ERR_NOMEM;
	vg_lines_set_idle(lines, IDLE_MS, agg_inline_idle, run);
	struct vg_record rec;
	int reason;

	vg_wworker_begin(w->ww);
	while ((rc = vg_lines_next(lines, &line, &oversize)) == 1) {
		if (oversize) {
			run->oversize++;
			continue;
		}
		if (!vg_step_parse(w, line.p, line.len, &rec, &reason))
			continue;
		if (++batch > INLINE_BATCH_MAX || vg_wworker_later(w->ww, &rec)) {
			vg_wworker_end(w->ww);
			/* The worker is the closer here: close after every batch,
			 * a batch being the records of one window, so that a shard
			 * holds one window's keys, each once, and becomes that
			 * window's pending table whole. */
			vg_closer_close(run, false, 0);
			vg_wworker_begin(w->ww);
			batch = 1;
		}
		vg_step_add(w, &rec, VG_TIME_NONE, 0);
	}
	vg_wworker_end(w->ww);
	if (rc == VG_ERR_IO)
		fprintf(stderr, "vigil aggregate: %s: read error: %s\n", name, strerror(errno));
	run->bytes += vg_lines_bytes(lines);
	vg_lines_close(lines);
	return rc < 0 ? rc : VG_OK;
}

static void agg_dispatch(struct vg_pipeline *run, struct chunk *c, unsigned *next)
{
	vg_ring_put(run->workers[*next].in, c);
	*next = (*next + 1) % run->threads;
	vg_closer_close(run, false, CLOSE_EVERY_MS);
}

/* Several threads: read straight into chunk buffers and hand each worker
 * whole lines, cut at the chunk's last newline; the partial line moves to
 * the next chunk. A line longer than a chunk is skipped and counted as
 * oversize, like vg_lines does. */
/* Dispatch c's whole lines (up to and with the newline at last); the
 * partial line after it moves to a fresh chunk, which is returned. */
static struct chunk *agg_dispatch_lines(struct vg_pipeline *run, struct chunk *c, const char *last, unsigned *next)
{
	struct chunk *d = vg_ring_take(run->free_chunks);
	size_t whole = (size_t)(last + 1 - c->buf);

	d->len = c->len - whole;
	memcpy(d->buf, last + 1, d->len);
	c->len = whole;
	agg_dispatch(run, c, next);
	return d;
}

static int agg_fd_chunked(struct vg_pipeline *run, int fd, const char *name, unsigned *next)
{
	struct chunk *c = vg_ring_take(run->free_chunks);
	bool skipping = false;
	int rc = VG_OK;

	for (;;) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};

		/* A quiet pipe: hand over the whole lines read so far, then let
		 * windows close while it stays quiet. A busy input fills chunks. */
		if (poll(&pf, 1, 0) == 0) {
			char *last = c->len ? memrchr(c->buf, '\n', c->len) : NULL;

			if (last && !skipping)
				c = agg_dispatch_lines(run, c, last, next);
			vg_lines_fd_wait(fd, IDLE_MS, agg_chunked_idle, run);
		}
		ssize_t n = read(fd, c->buf + c->len, c->cap - 1 - c->len); /* room for a final '\n' */

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "vigil aggregate: %s: read error: %s\n", name, strerror(errno));
			rc = VG_ERR_IO;
			break;
		}
		run->bytes += (uint64_t)n;
		size_t start = c->len;

		c->len += (size_t)n;
		if (skipping) {
			char *nl = memchr(c->buf + start, '\n', c->len - start);

			if (!nl) {
				c->len = 0;
				if (n == 0)
					break;
				continue;
			}
			skipping = false;
			size_t rest = c->len - (size_t)(nl + 1 - c->buf);

			memmove(c->buf, nl + 1, rest);
			c->len = rest;
		}
		if (n == 0) { /* end of input */
			if (c->len > 0) {
				if (c->buf[c->len - 1] != '\n')
					c->buf[c->len++] = '\n'; /* a last line without one */
				agg_dispatch(run, c, next);
			} else {
				vg_ring_put(run->free_chunks, c);
			}
			return VG_OK;
		}
		if (c->len < CHUNK_BYTES)
			continue; /* fill the chunk first */
		char *last = memrchr(c->buf, '\n', c->len);

		if (!last) {
			run->oversize++; /* a line longer than a chunk */
			skipping = true;
			c->len = 0;
			continue;
		}
		c = agg_dispatch_lines(run, c, last, next);
	}
	vg_ring_put(run->free_chunks, c);
	return rc;
}

/* A file worker's unit of work. Small enough that the workers' buffers
 * (one range and a line) stay few pages, and that they finish the file
 * together; large enough that claiming one is rare. */
#define RANGE_BYTES (256u << 10)
#define TAIL_FIRST (4u << 10) /* first read past a range; each next one doubles */

/* buf[0..n) from fd at off, fewer at the end of the file; *err is set on
 * a read error. Returns the bytes read. */
static size_t read_at(int fd, char *buf, size_t n, uint64_t off, int *err)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, buf + got, n - got, (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			*err = VG_ERR_IO;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

/* Several threads over a regular file: each worker claims RANGE_BYTES
 * ranges in order from a shared counter and preads them itself, so reading is as
 * parallel as parsing. A range's lines are those that start inside it;
 * the line crossing its end is read on (up to one longest record) and
 * finished by this worker, and the next range skips to its first newline.
 * A worker's ranges increase, so its event times stay in order. */
static void agg_range(struct vg_pipeline_worker *w, int fd, uint64_t k, struct chunk *c)
{
	struct vg_pipeline *run = w->run;
	uint64_t off = k * RANGE_BYTES, end = off + RANGE_BYTES;
	uint64_t from = off ? off - 1 : 0; /* one byte back: was the range start a line start? */
	size_t range = (size_t)(end - from), max = range + run->st.limits.max_bytes + 1;
	size_t step = TAIL_FIRST, want = range + step, got;

	if (max > c->cap)
		max = c->cap;
	if (want > max)
		want = max;
	/* Past the range, read on in growing steps only until the line
	 * crossing its end ends: reading a longest record (1 MiB by default)
	 * past every range read the file twice over. */
	got = read_at(fd, c->own, want, from, &w->err);
	while (got == want && want < max && !memchr(c->own + range - 1, '\n', got - (range - 1))) {
		step *= 2;
		want = want + step < max ? want + step : max;
		got += read_at(fd, c->own + got, want - got, from + got, &w->err);
	}
	const char *p = c->own, *lim = c->own + got, *stop = c->own + (end - from);

	if (off) { /* skip the tail of a line that started in the range before */
		const char *nl = memchr(p, '\n', got);

		p = nl ? nl + 1 : lim;
	}
	vg_wworker_begin(w->ww);
	while (p < lim && p < stop) {
		const char *nl = memchr(p, '\n', (size_t)(lim - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(lim - p);

		if (!nl && from + got < run->file_size) {
			/* no newline within a record's length past the range: an
			 * oversize line (its rest is skipped by the next range) */
			w->oversize++;
			break;
		}
		vg_step_line(w, p, l);
		p += l + 1;
	}
	vg_wworker_end(w->ww);
}

/* Between ranges, a file worker closes the windows due, unless another
 * is at it: closing is one thread at a time, and the flag's acquire and
 * release order one closer's work before the next's. The workers close
 * themselves rather than a third thread on a timer, which competed with
 * them for the cores: preempting a worker, or, starved, letting shards
 * and pending windows pile up (thousands of keys, all faulted in). */
static void agg_file_close(struct vg_pipeline *run)
{
	if (atomic_exchange_explicit(&run->closing, true, memory_order_acquire))
		return;
	vg_closer_close(run, false, FILE_CLOSE_EVERY_MS);
	atomic_store_explicit(&run->closing, false, memory_order_release);
}

static void *agg_file_worker(void *arg)
{
	struct vg_pipeline_worker *w = arg;
	struct vg_pipeline *run = w->run;
	uint64_t k;

	while ((k = atomic_fetch_add(&run->next_range, 1)) < run->n_ranges) {
		agg_range(w, run->file_fd, k, w->buf);
		agg_file_close(run);
	}
	vg_wworker_finish(w->ww);
	return NULL;
}

int vg_files_read(void *arg, int fd, const char *name)
{
	struct vg_pipeline *run = arg;
	unsigned *next = &run->next_worker;

	struct stat st;

	if (run->threads == 1)
		return agg_fd_inline(run, fd, name);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || lseek(fd, 0, SEEK_CUR) != 0)
		return agg_fd_chunked(run, fd, name, next);
	/* A regular file: the chunk workers idle while file workers read it. */
	run->file_fd = fd;
	run->file_size = (uint64_t)st.st_size;
	run->n_ranges = ((uint64_t)st.st_size + RANGE_BYTES - 1) / RANGE_BYTES;
	atomic_store(&run->next_range, 0);
	for (unsigned i = 0; i < run->threads; i++) {
		struct vg_pipeline_worker *w = &run->workers[i];

		w->buf = vg_ring_take(run->free_chunks);
		if (pthread_create(&w->file_thread, NULL, agg_file_worker, w) != 0) {
			w->err = VG_ERR_NOMEM;
			agg_file_worker(w); /* run it here instead */
			w->file_thread = pthread_self();
		}
	}
	/* The workers close windows as they go (agg_file_close): closing
	 * often keeps the shards small (about 5 ms of records), so fewer
	 * sketches are in flight and fewer fresh pages are faulted in than
	 * with CLOSE_EVERY_MS. */
	for (unsigned i = 0; i < run->threads; i++) {
		struct vg_pipeline_worker *w = &run->workers[i];

		if (!pthread_equal(w->file_thread, pthread_self()))
			pthread_join(w->file_thread, NULL);
		vg_ring_put(run->free_chunks, w->buf);
		w->buf = NULL;
	}
	run->bytes += (uint64_t)st.st_size;
	return VG_OK;
}

/* How far the watermark wm runs behind time t (0 before the first). */

int vg_files_open(struct vg_pipeline **out, const struct vg_files_opts *o)
{
	struct vg_pipeline *run = calloc(1, sizeof(*run));
	char err[1024];
	int status;

	*out = NULL;
	if (!run) {
		fprintf(stderr, "vigil %s: out of memory\n", o->cmd);
		return VG_EXIT_IO;
	}
	run->out_fd = STDOUT_FILENO;
	run->quiet = o->quiet;
	run->alerts_stdout = o->alerts_stdout;
	run->no_notify = o->no_notify;
	run->exact = o->exact;
	run->alerts_path = o->alerts_path;
	run->threads = o->threads;
	if (vg_stage_load(&run->st, o->config_path, err, sizeof(err)) != VG_OK) {
		fprintf(stderr, "vigil: %s\n", err);
		free(run);
		return VG_EXIT_CONFIG;
	}
	vg_log_set_level(o->log_level >= 0 ? o->log_level : run->st.cfg->log_level);
	if ((status = vg_pipeline_start(run, o->window_ms, o->cmd)) != VG_EXIT_OK) {
		free(run);
		return status;
	}
	run->t0 = vg_clock_mono_s();
	*out = run;
	return VG_EXIT_OK;
}

int vg_files_finish(struct vg_pipeline *run, int rc, int status)
{
	if (run->threads == 1) {
		vg_wworker_finish(run->workers[0].ww);
	} else {
		for (unsigned k = 0; k < run->threads; k++)
			vg_ring_put(run->workers[k].in, NULL);
		for (unsigned k = 0; k < run->threads; k++)
			pthread_join(run->workers[k].thread, NULL);
	}
	vg_closer_close(run, true, CLOSE_EVERY_MS);
	for (unsigned k = 0; k < run->threads; k++) {
		if (run->workers[k].err) {
			fprintf(stderr, "vigil %s: out of memory while aggregating\n", run->cmd);
			status = VG_EXIT_IO;
		}
	}
	if (rc != VG_OK || vg_buf_write_fd(&run->out, run->out_fd) != VG_OK)
		status = VG_EXIT_IO;
	vg_pipeline_summary(run, vg_clock_mono_s() - run->t0, NULL);
	vg_pipeline_teardown(run);
	free(run);
	return status;
}

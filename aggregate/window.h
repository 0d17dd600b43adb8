/* vigil: event-time windows without locks on the hot path.
 *
 * Each worker thread owns two shards (aggregation tables) and writes every
 * record into shard[epoch & 1], whatever window it belongs to. The closer
 * (one thread) flips the epoch, waits until every worker has passed a
 * quiescent point (finished the batch it was in when the epoch flipped, as
 * in HdrHistogram's writer-reader phaser), merges the old shards into its
 * pending windows and resets them, then emits, in order, every window the
 * watermark has passed. Workers keep writing into the new shards meanwhile.
 *
 * On the hot path a worker takes no lock and does no atomic
 * read-modify-write: per record it reads one atomic (the first open window)
 * and updates plain counters in its own shard; per batch it publishes its
 * state and progress with three atomic stores.
 *
 * Watermark: event time is ordered per stream (a Kafka partition, a file),
 * not per worker. Each stream's progress is the largest event time seen on
 * it; a worker's progress is the smallest over its streams active within
 * the idle timeout; the watermark is the smallest progress of the workers
 * that are not idle, minus the allowed lateness, so a stream or worker that
 * runs ahead never closes a window another still feeds. A worker with no records for idle_timeout
 * stops holding it back; when every worker is idle the watermark moves with
 * the clock, so a quiet stream still closes its windows. A record is late
 * (counted, never aggregated) when its window ended more than the lateness
 * before the newest event time of its stream, or was emitted already.
 *
 * Event time: the record's time, else the time given by the caller
 * (a Kafka timestamp), else the worker's previous event time (replayed
 * files), else the clock. */
#ifndef VG_WINDOW_H
#define VG_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

#include "aggregate/table.h"
#include "core/record.h"

struct vg_windows_params {
	int64_t window_ms;
	int64_t lateness_ms;
	int64_t idle_timeout_ms;
	unsigned workers;
	struct vg_table_params table;
};

/* A closed window, valid during the emit callback only. */
struct vg_window {
	int64_t start_ms, end_ms;
	struct vg_table *table; /* its entries (all of key.window == start / len) */
};

typedef int (*vg_window_fn)(struct vg_window *win, void *arg);

struct vg_windows_stats {
	uint64_t records;     /* aggregated */
	uint64_t late;        /* past their window's close */
	uint64_t no_time;     /* without an event time (fallback used) */
	uint64_t closed;      /* windows emitted */
	uint64_t overflow;    /* keys folded into __other__ */
	int64_t watermark_ms; /* INT64_MIN before the first record */
};

struct vg_windows;
struct vg_wworker;

int vg_windows_create(struct vg_windows **out, const struct vg_windows_params *p);
/* Free everything; pending windows are dropped (close with flush first). */
void vg_windows_destroy(struct vg_windows *w);

/* Worker i's handle (i < params.workers). Each is used by one thread. */
struct vg_wworker *vg_windows_worker(struct vg_windows *w, unsigned i);

/* Worker side. A batch is begin, any number of add, end. */
void vg_wworker_begin(struct vg_wworker *ww);
/* Aggregate one classified record of a stream (a partition; 0 for a
 * single input). fallback_ms is the transport's time (Kafka), or
 * VG_TIME_NONE. Returns 0 or VG_ERR_NOMEM. */
int vg_wworker_add(struct vg_wworker *ww, const struct vg_record *rec, int64_t fallback_ms, int32_t stream);
void vg_wworker_end(struct vg_wworker *ww);
/* Does rec have an event time in a later window than the last record
 * added? (False without a time or a record before.) A caller that ends
 * its batch there gets shards of one window each, which close without
 * copying their keys. */
bool vg_wworker_later(const struct vg_wworker *ww, const struct vg_record *rec);
/* This worker has no more input for now: it stops holding the watermark
 * back until its next vg_wworker_begin. */
void vg_wworker_finish(struct vg_wworker *ww);

/* Closer side (one thread). Without flush it never waits: it finishes the
 * previous phase if every worker has passed its quiescent point (drains the
 * old shards, emits the windows the watermark has passed) and starts the
 * next (notes the watermark, flips the epoch), which it finishes at once
 * when every worker is between batches already (and then hands the
 * workers back the shards just drained); call it periodically. With
 * flush it waits for quiescence and emits every pending window (end of
 * input: call after the workers have finished). fn's non-zero return stops
 * emission and is returned. */
int vg_windows_close(struct vg_windows *w, bool flush, vg_window_fn fn, void *arg);

/* Counters so far (call from the closer thread). */
void vg_windows_get_stats(struct vg_windows *w, struct vg_windows_stats *out);

#endif

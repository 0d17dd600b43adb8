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
 * not per worker. Two modes:
 *
 * - Registered streams (max_streams > 0: vigil run's Kafka partitions).
 *   The source registers each stream as it is assigned, before any of its
 *   records, and says whether records are still waiting on it (unread
 *   behind its end offset, fetched but not yet processed, paused): such a
 *   stream is BEHIND and holds the watermark whatever the clock says;
 *   until its first record it holds it where it is. A CAUGHT_UP stream
 *   holds it at its newest event time (where it is, before its first
 *   record) until it has had no record for idle_timeout, counted from its
 *   assignment when it has had none. A
 *   stream that is gone (revoked) leaves the watermark at once. The
 *   watermark is the smallest holding stream's newest event time minus the
 *   allowed lateness; when every registered stream is caught up and idle it
 *   moves with the clock from the newest event time, and with no stream
 *   registered (between a revoke and an assignment) it stays where it is.
 *   So a backlog closes windows in event-time order exactly as live
 *   traffic does (Flink's and Kafka Streams' Kafka sources reason alike).
 * - Unregistered streams (files): each worker's progress is the smallest
 *   newest event time over its streams active within the idle timeout;
 *   the watermark is the smallest progress of the workers that are not
 *   idle, minus the lateness. A worker with no records for idle_timeout
 *   stops holding it back; when every worker is idle the watermark moves
 *   with the clock.
 *
 * A record is late (counted, never aggregated) when its window ended more
 * than the lateness before the newest event time of its stream, or was
 * emitted already.
 *
 * Event time: the record's time, else the time given by the caller (a
 * Kafka timestamp), else the stream's previous event time (replayed
 * files), else the clock.
 *
 * Skew guard: a record whose time is more than skew_ahead_ms after its
 * reference, or more than skew_behind_ms before it, is skewed (0 turns a
 * side off). The reference is the caller's time (the Kafka message
 * timestamp) when given; without one (files), the clock for times ahead
 * and the stream's newest event time for times behind. A skewed record's
 * own time never moves a watermark: it is aggregated at the sane time, its
 * reference, or its stream's newest event time when that is later (so it
 * is never late for being skewed). It moves no stream's progress, but a
 * partition whose every record so far is skewed holds the watermark at
 * their Kafka times rather than at "unknown". vg_wworker_add returns the
 * sane time so the archive files the record under it too. */
#ifndef VG_WINDOW_H
#define VG_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

#include "aggregate/table.h"
#include "core/clock.h"
#include "core/record.h"

/* Durations that cannot be real, by reason: the aggregate step counts
 * them and keeps them out of the latency sketches (and --exact samples);
 * their records are aggregated (counted, classified, archived) as any
 * other. NaN is "no duration" (a JSON number cannot be NaN); a number
 * past a double's range reads as infinite. */
enum vg_duration_err {
	VG_DURATION_NEGATIVE = 0,
	VG_DURATION_OVER_BOUND, /* over max_duration_ms (aggregate.max_duration) */
	VG_DURATION_NOT_FINITE, /* infinite */
	VG_DURATION_ERR_COUNT
};

/* "negative", "over_bound", "not_finite"; "?" for anything else. */
const char *vg_windows_duration_err_str(int e);

struct vg_windows_params {
	int64_t window_ms;
	int64_t lateness_ms;
	int64_t idle_timeout_ms;
	int64_t skew_ahead_ms;  /* 0: no bound */
	int64_t skew_behind_ms; /* 0: no bound */
	/* Longest real duration, ms (at most VG_SKETCH_MAX_VALUE, within
	 * which the sketch keeps its error for every quantile); 0: no bound
	 * (negative and infinite ones are still kept out). */
	double max_duration_ms;
	unsigned workers;
	/* Streams the source registers (ids 0 .. max_streams - 1) with
	 * vg_windows_stream_set; 0: none (unregistered streams, files). */
	unsigned max_streams;
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
	uint64_t no_time_by[VG_TIME_ERR_COUNT]; /* the same by reason (enum vg_time_err) */
	uint64_t skewed_ahead, skewed_behind; /* aggregated at their reference time */
	uint64_t duration_err[VG_DURATION_ERR_COUNT]; /* kept out of the sketches, by reason */
	uint64_t closed;      /* windows emitted */
	uint64_t overflow;    /* keys folded into __other__ */
	int64_t watermark_ms; /* INT64_MIN before the first record */
	/* The last watermark computed before the end of input (INT64_MIN
	 * before the first), and the newest event time of any stream then:
	 * how far behind the watermark runs is newest_ms - last_watermark_ms
	 * (event time) and the clock minus last_watermark_ms (wall time). */
	int64_t last_watermark_ms, newest_ms;
};

/* What a registered stream's source says of it. */
enum vg_wstream {
	VG_WSTREAM_GONE = 0,  /* not (or no longer) assigned: holds nothing */
	VG_WSTREAM_BEHIND,    /* records wait on it (unread, unprocessed or paused) */
	VG_WSTREAM_CAUGHT_UP, /* nothing waits: it may go idle */
};

struct vg_windows;
struct vg_wworker;

int vg_windows_create(struct vg_windows **out, const struct vg_windows_params *p);
/* Free everything; pending windows are dropped (close with flush first). */
void vg_windows_destroy(struct vg_windows *w);

/* Worker i's handle (i < params.workers). Each is used by one thread. */
struct vg_wworker *vg_windows_worker(struct vg_windows *w, unsigned i);

/* Source side: stream id's state (id < params.max_streams; others are
 * ignored). Going from GONE to another state is an assignment: the
 * stream's event time is unknown again until its next record. Any one
 * thread (the Kafka poller); lock-free. */
void vg_windows_stream_set(struct vg_windows *w, int32_t stream, enum vg_wstream st);

/* Worker side. A batch is begin, any number of add, end. */
void vg_wworker_begin(struct vg_wworker *ww);
/* Aggregate one classified record of a stream (a partition; 0 for a
 * single input). ref_ms is the transport's time (the Kafka message
 * timestamp), or VG_TIME_NONE: the fallback for a record without a time
 * and the skew guard's reference. *ts_out (when not NULL) gets the time
 * the record counts at: its own, or the sane one for a skewed record or
 * one without a time (see above). Returns 0 or VG_ERR_NOMEM. */
int vg_wworker_add(struct vg_wworker *ww, const struct vg_record *rec, int64_t ref_ms, int32_t stream,
		   int64_t *ts_out);
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

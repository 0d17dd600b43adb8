/* vigil: Prometheus text exposition (format 0.0.4).
 *
 * Writes metric families into a vg_buf: a HELP and a TYPE line, then the
 * samples, all of one family together. Names follow Prometheus' rules
 * ([a-zA-Z_:][a-zA-Z0-9_:]*); label values are escaped (backslash, double
 * quote, newline) and kept valid UTF-8 (an invalid byte becomes U+FFFD),
 * HELP text is escaped (backslash, newline). Values print as integers when
 * they are whole and exactly representable, otherwise in the shortest form
 * (15 to 17 significant digits) that reads back exactly; NaN and the
 * infinities as NaN, +Inf, -Inf.
 *
 * vg_metrics_window renders a closed window's aggregates (request and
 * error counts per key, latency quantiles as a summary in seconds, record
 * counts, pattern counters) as gauges: they describe that one window.
 *
 * Pure functions of their arguments; thread-safe with separate buffers. */
#ifndef VG_METRICS_H
#define VG_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/record.h"
#include "core/str.h"

struct vg_buf;
struct vg_window;

#define VG_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct vg_metrics_label {
	const char *name; /* a valid label name, not starting with __ */
	vg_str value;
};

/* True when name is a valid metric name. */
bool vg_metrics_name_ok(const char *name);

/* Append a label value escaped for the exposition (without quotes). */
void vg_metrics_escape(struct vg_buf *b, vg_str value);

/* Append a sample value. */
void vg_metrics_value(struct vg_buf *b, double v);

/* The HELP and TYPE lines of a family; type is "counter", "gauge",
 * "summary" or "untyped". */
void vg_metrics_family(struct vg_buf *b, const char *name, const char *type, const char *help);

/* One sample line: name{labels} value. n may be 0. */
void vg_metrics_sample(struct vg_buf *b, const char *name, const struct vg_metrics_label *labels, size_t n, double v);

/* The samples of one summary: name{labels,quantile="q"} for each of the nq
 * quantiles (values v[i], NaN when unknown), then name_sum and
 * name_count. The family lines are the caller's. */
void vg_metrics_summary(struct vg_buf *b, const char *name, const struct vg_metrics_label *labels, size_t n,
                        const double *q, const double *v, size_t nq, double sum, uint64_t count);

/* Names a window's keys refer to by index. */
struct vg_metrics_names {
	const char *const *categories;
	size_t n_categories;
	const char *const *counters;
	size_t n_counters;
};

/* The aggregates of a closed window (families vigil_window_*, documented
 * in docs/metrics.md), latency quantiles 0.5, 0.9, 0.95, 0.99. exact: quantiles
 * from the exact samples (the table keeps them). win->table is only read,
 * except that exact quantiles sort samples in place. */
void vg_metrics_window(struct vg_buf *b, struct vg_window *win, const struct vg_metrics_names *names, bool exact);

/* ---- vigil run's own health -------------------------------------------- */

#define VG_METRICS_MAX_REASONS 16
#define VG_METRICS_DURATION_REASONS 3
#define VG_METRICS_MAX_NOTIFIERS 10

struct vg_metrics_lag {
	char topic[256];
	int32_t partition;
	int64_t lag;
};

/* vigil run's figures at one moment, filled by the closer thread from the
 * workers' published counters and the modules' stats (plain values: this
 * module knows neither Kafka nor the parser). Totals are since the start. */
struct vg_metrics_run {
	/* ingest and parse */
	uint64_t records, bytes, parsed;
	size_t n_reasons; /* rejected by reason, names as the parser says them */
	const char *reason_names[VG_METRICS_MAX_REASONS];
	uint64_t rejected[VG_METRICS_MAX_REASONS];
	uint64_t regex_limit_hits; /* pattern runs stopped by a PCRE2 limit (counted as no match) */
	/* windows */
	uint64_t aggregated, late, no_time, windows_closed, keys_overflow;
	uint64_t skewed_ahead, skewed_behind; /* aggregated at their reference time */
	/* Durations kept out of the latency sketches, by reason (names as the
	 * aggregate step says them; a NULL name is skipped). */
	const char *duration_reason_names[VG_METRICS_DURATION_REASONS];
	uint64_t durations_rejected[VG_METRICS_DURATION_REASONS];
	int64_t watermark_ms;              /* INT64_MIN before the first record */
	/* How far the watermark runs behind the newest event time and behind
	 * the clock, in ms (0 before the first record). */
	uint64_t watermark_behind_newest_ms, watermark_behind_clock_ms;
	uint64_t by_level[VG_LEVEL_COUNT]; /* records of closed windows */
	const char *const *category_names;
	const uint64_t *by_category;
	size_t n_categories;
	double close_seconds; /* time in close rounds that emitted windows, and how many */
	uint64_t closes;
	size_t store_bytes; /* the window store the rules read (ring and roll-ups) */
	uint64_t store_endpoints;             /* endpoints the store's cap knows */
	uint64_t store_folded_cap, store_folded_404; /* entries it stored as __other__ */
	/* archive */
	uint64_t archive_records, archive_dead, frames, files, archive_bytes_in, archive_bytes_out, fsyncs,
	        write_errors, archive_unkept;
	uint64_t sync_points; /* the archive's fsync rounds and the time they took */
	double sync_seconds;
	const char *archive_dir;
	const char *archive_error; /* NULL: every writer healthy */
	/* Kafka */
	const char *group;
	uint64_t messages, skipped, kafka_errors, rebalances, commits, commits_failed;
	uint64_t offsets_deleted; /* deleted by the broker before they were read (offset resets) */
	uint64_t pauses; /* times a worker's partitions were paused (its batches all taken) */
	size_t paused;   /* partitions paused now */
	bool joined;
	size_t owned;
	int64_t commit_age_ms; /* 0 when nothing processed waits for a commit */
	const struct vg_metrics_lag *lags;
	size_t n_lags;
	/* alerts and notifiers */
	uint64_t alerts_pending, alerts_firing, transitions[3]; /* entered pending, firing, resolved */
	size_t n_notifiers;
	char notifier[VG_METRICS_MAX_NOTIFIERS][16];
	uint64_t sent[VG_METRICS_MAX_NOTIFIERS], retried[VG_METRICS_MAX_NOTIFIERS], failed[VG_METRICS_MAX_NOTIFIERS],
	        dropped[VG_METRICS_MAX_NOTIFIERS], outbox[VG_METRICS_MAX_NOTIFIERS], resent[VG_METRICS_MAX_NOTIFIERS];
	int64_t failing_ms[VG_METRICS_MAX_NOTIFIERS]; /* how long deliveries have been failing; 0: not */
	/* configuration reloads (SIGHUP) */
	uint64_t reloads_ok, reloads_failed;
	/* the HTTP endpoints' connections: open now, closed by the server
	 * (sink/http.h) for their timeout and to make room past the limit */
	uint64_t http_open, http_timed_out, http_evicted;
	/* liveness */
	unsigned n_workers;
	const int64_t *worker_silent_ms; /* per worker: since its last batch end or idle round */
};

/* Bounds for /health and /ready (the http section of the configuration). */
struct vg_metrics_bounds {
	int64_t stall_ms, commit_age_ms, notify_failing_ms;
};

/* The families of vigil's own health (vigil_*, documented in docs/metrics.md). */
void vg_metrics_run(struct vg_buf *b, const struct vg_metrics_run *r);

/* /health as JSON: {"status":"ok"|"failing","workers":N,"workers_stuck":N,
 * "reasons":[...]}, failing when a worker has been silent past
 * stall_ms. Returns true when healthy. */
bool vg_metrics_health(struct vg_buf *b, const struct vg_metrics_run *r, const struct vg_metrics_bounds *bounds);

/* /ready as JSON: {"status":...,"partitions":N,"commit_age_seconds":S,
 * "reasons":[...]}, failing when not in the group, an archive writer is
 * unhealthy, the commit age or a notifier's failing time is past its
 * bound. Returns true when ready. */
bool vg_metrics_ready(struct vg_buf *b, const struct vg_metrics_run *r, const struct vg_metrics_bounds *bounds);

#endif

/* vigil: what the pipeline's files share with each other only.
 *
 * struct vg_pipeline is one run of the stages: the parse + classify stage,
 * the windows and their workers, the window store, the rules and alerts,
 * the notifiers and the outputs. vigil aggregate and replay drive it from
 * files (files.c); vigil run from Kafka (run.c), which adds archives,
 * reload generations and the HTTP endpoints (health.c). Each worker takes
 * the one per-record step (step.c); the closer (closer.c) turns closed
 * windows into rows, store entries and alerts.
 *
 * Threads: a worker's fields are its thread's, except pub (relaxed atomic
 * stores read by the closer). Everything else belongs to the closer: the
 * thread that calls vg_closer_close (the reading thread or the file
 * workers, one at a time, for files; for vigil run, a thread of its own,
 * so that rules, notification and page rendering never delay the Kafka
 * poller; see struct vg_run). */
#ifndef VG_PIPELINE_INTERNAL_H
#define VG_PIPELINE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "aggregate/wstore.h"
#include "aggregate/window.h"
#include "alert/alerts.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/ring.h"
#include "ingest/kafka.h"
#include "parse/stage.h"
#include "pipeline/pipeline.h"
#include "pipeline/run.h"
#include "sink/archive.h"
#include "sink/metrics.h"
#include "sink/notify.h"

#define CHUNK_BYTES (1u << 20)
#define CHUNKS_PER_WORKER 4
#define MAX_THREADS VG_PIPELINE_MAX_THREADS
#define CLOSE_EVERY_MS 50
#define FILE_CLOSE_EVERY_MS 5 /* the file workers close windows this often */

struct chunk {
	char *buf;
	size_t len, cap;
	char *own; /* the chunk's buffer, restored when it comes back */
};

struct vg_pipeline;

/* What a vigil run worker publishes after each batch and when idle, for
 * the HTTP endpoints: relaxed stores of its own counters, loaded by the
 * closer thread. */
struct worker_pub {
	_Atomic uint64_t records, rejected, by_reason[VG_JR_COUNT];
	_Atomic uint64_t archive_records, archive_dead, frames, files, bytes_in, bytes_out, fsyncs, write_errors, unkept;
	_Atomic uint64_t sync_points, sync_ns;
	_Atomic uint64_t regex_limit; /* pattern runs stopped by a PCRE2 limit */
	_Atomic int archive_err, archive_errno;
	_Atomic int64_t alive_ms; /* monotonic: the last batch end or idle call */
};

struct vg_pipeline_worker {
	struct vg_pipeline *run;
	struct vg_wworker *ww;
	struct vg_classify_ctx *ctx;
	struct vg_classify_stats classify_done; /* of the contexts a reload replaced */
	struct vg_ring *in;       /* chunks to parse; NULL ends */
	uint64_t records, rejected, oversize, by_reason[VG_JR_COUNT];
	int err;
	struct vg_archive *archive; /* vigil run: this worker's archive writer, or NULL */
	int archive_err;            /* last archive error reported (rate limit) */
	struct vg_archive_stats archive_stats; /* as the writer closed */
	pthread_t thread, file_thread;
	struct chunk *buf; /* reading a regular file: this worker's buffer */
	struct worker_pub pub;
};

struct vg_pipeline {
	const char *cmd; /* for messages: "aggregate", "replay", "run" */
	double t0;       /* monotonic start, for the summary */
	struct vg_stage st; /* config, paths, classifier (shared); ctx for thread 1 */
	struct vg_windows *win;
	struct vg_wstore *store; /* closed windows kept for rule windows */
	bool store_always;       /* vigil run: rules may come with a reload, so keep
				  * the store filled even while there are none */
	struct vg_rules *rules;
	struct vg_alerts *alerts;
	struct vg_notify *notify;
	const char **counter_names;
	const char *alerts_path; /* NDJSON of alert changes; NULL: logged on stderr */
	bool alerts_stdout;      /* vigil replay: alert changes are the output */
	bool no_notify;          /* vigil replay without --notify: the notify section is ignored */
	int alerts_fd;
	struct vg_buf alerts_out;
	uint64_t alerts_by_state[VG_ALERT_STATES];
	bool exact, quiet;
	unsigned threads;
	struct vg_pipeline_worker *workers;
	struct vg_ring *free_chunks;
	struct vg_buf out;
	int out_fd;        /* where window rows go */
	bool no_chunk_threads; /* vigil run: the Kafka module runs the workers */
	uint64_t bytes;
	uint64_t oversize;
	int64_t last_close_ms;
	unsigned next_worker; /* the chunk path's round robin */
	/* Reading one regular file with several workers. */
	int file_fd;
	uint64_t file_size, n_ranges;
	_Atomic uint64_t next_range; /* the next range to claim */
	_Atomic bool closing;        /* a file worker is closing windows */
	/* vigil run's HTTP endpoints: called with every closed window. */
	void (*on_window)(void *arg, struct vg_window *win);
	void *on_window_arg;
	/* vigil run's catch-up (notify.catch_up; 0: none): alerts fired on
	 * windows that ended longer ago than this are held, by fingerprint,
	 * until they resolve or the windows reach the clock. */
	int64_t catch_up_ms;
	int64_t eval_end_ms; /* the end of the window the rules evaluate */
	bool catching_up;
	uint64_t *held;
	size_t n_held, cap_held;
};


/* ---- vigil run ---- */

/* A classification generation: what workers build their classify
 * contexts from. Generation 0 is the stage's (owned there); a reload
 * (SIGHUP) publishes the next, and the closer frees an old one once every
 * worker has moved past it. */
struct gen {
	unsigned seq;
	struct vg_config *cfg;            /* the reloaded configuration (NULL in generation 0) */
	struct vg_classifier *classifier; /* compiled from cfg */
	const char **counter_names;       /* the rules' view of cfg (NULL in generation 0) */
	struct gen *next;                 /* retired, not yet freed */
};

/* Reload (reload.c): a SIGHUP's reading of the configuration and its rule
 * files, and their compiling, on a thread of their own, so that a file
 * that is slow to read (a FIFO, a hung mount) never holds up the closer.
 * The closer asks (vg_reload_ask), takes the result when one is ready
 * (vg_reload_take: true with *rc 0, a new generation not yet numbered and
 * its rules, both now the caller's; or *rc an error, said in err) and
 * applies it. Asked again while it reads, it reads once more after; a
 * result not taken yet gives way to a newer one. vg_reload_stop joins the
 * thread, or, if it is still reading, leaves it to free itself. */
struct vg_reload;
struct vg_rules;
int vg_reload_start(struct vg_reload **out, const char *config_path, int64_t window_ms);
void vg_reload_ask(struct vg_reload *r);
bool vg_reload_take(struct vg_reload *r, int *rc, struct gen **g, struct vg_rules **rules, char *err, size_t errlen);
void vg_reload_stop(struct vg_reload *r);
void vg_reload_gen_free(struct gen *g);

/* A worker's generation: gen on the worker's thread, seq read by the closer. */
struct worker_gen {
	struct gen *gen;
	_Atomic unsigned seq;
};

/* Configuration reloads, for /metrics: vigil_reloads_total{result="ok|failed"}. */
struct reload_stats {
	uint64_t ok, failed;
};

struct vg_run {
	struct vg_pipeline agg;
	const char *config_path; /* read again on SIGHUP; NULL: defaults only */
	int log_level_opt;       /* --log-level, over log.level at every load; -1: none */
	struct gen gen0;
	_Atomic(struct gen *) gen; /* the current generation; published by the closer */
	struct gen *retired;       /* closer thread */
	struct worker_gen *wgen;   /* one per worker */
	struct vg_reload *reload;  /* the reload's thread (closer thread's) */
	_Atomic uint64_t reloads_ok, reloads_failed;
	void (*on_tick)(const struct vg_run_status *st, void *arg);
	void *on_tick_arg;
	struct vg_kafka *kafka;
	/* The lag, measured on the poller (vg_kafka_lag is the poller's) once
	 * a second: the total of owned partitions, the largest seen, and per
	 * partition for /metrics (under lag_mu; the closer copies it). */
	_Atomic int64_t lag_now;
	int64_t lag_max, lag_last_ms;
	pthread_mutex_t lag_mu;
	struct vg_metrics_lag *lags;
	size_t n_lags, cap_lags;
	/* The closer's thread: it closes windows, evaluates the rules, reloads
	 * and publishes the pages every CLOSE_EVERY_MS, off the poller. close_mu
	 * orders a close against a partition's state change (poller), as when
	 * both ran on the poller. */
	pthread_t closer;
	bool closer_started;
	atomic_bool closer_stop;
	pthread_mutex_t close_mu;
	FILE *records; /* --records: every processed record's raw bytes */
	pthread_mutex_t records_mu;
	_Atomic uint64_t dead_logged;
	struct vg_health *http; /* the HTTP endpoints, or NULL */
};


/* The HTTP endpoints of vigil run (health.c). */
struct vg_health {
	struct vg_http *srv;
	struct vg_metrics_bounds bounds;
	int64_t last_publish_ms; /* monotonic */
	bool window_closed;      /* since the last publish */
	struct vg_buf window;    /* the last closed window, rendered */
	struct vg_buf page;
	struct vg_metrics_names names;
	uint64_t by_level[VG_LEVEL_COUNT], by_category[256]; /* records of closed windows */
	double close_seconds;
	uint64_t closes;
	int64_t failing_since[VG_NOTIFY_MAX]; /* monotonic ms a notifier was first seen failing; 0: not */
	int64_t silent_ms[MAX_THREADS];
	struct vg_metrics_lag *lags;
	size_t n_lags, cap_lags;
	char addr[96]; /* the address bound, HOST:PORT */
	char archive_error[512]; /* what the last archive error means, for /ready */
};

static inline int64_t mono_ms(void)
{
	return (int64_t)(vg_clock_mono_s() * 1000);
}

/* A worker's classification counters since the start: its context's and
 * those of the contexts it had before a reload (worker's thread, or any
 * thread once the worker has stopped). */
static inline struct vg_classify_stats worker_classify_stats(const struct vg_pipeline_worker *w)
{
	struct vg_classify_stats s = w->classify_done;

	if (w->ctx)
		vg_classify_stats_add(&s, vg_classify_ctx_stats(w->ctx));
	return s;
}

#define PUB_STORE(dst, v) atomic_store_explicit(&(dst), (v), memory_order_relaxed)
#define PUB_LOAD(src) atomic_load_explicit(&(src), memory_order_relaxed)

/* How far the watermark wm runs behind time t (0 before the first). */
static inline uint64_t watermark_behind(int64_t wm, int64_t t)
{
	return wm == INT64_MIN || t == VG_TIME_NONE || t <= wm ? 0 : (uint64_t)(t - wm);
}

/* ---- pipeline.c: set-up, summary, teardown ---- */

/* Windows, store, rules, notifiers and workers for run->threads threads
 * (window_ms > 0 overrides the configuration's). Returns 0 or an error,
 * a configuration error said on stderr. */
int vg_pipeline_setup(struct vg_pipeline *run, int64_t window_ms);

/* vg_pipeline_setup for command cmd: VG_EXIT_OK, or everything torn down
 * and the exit status. */
int vg_pipeline_start(struct vg_pipeline *run, int64_t window_ms, const char *cmd);

/* Free everything vg_pipeline_setup made and the stage. */
void vg_pipeline_teardown(struct vg_pipeline *run);

/* The summary line on standard error; extra: more JSON members to append
 * (vigil run's), or NULL. Drains the notifiers (bounded) first. */
void vg_pipeline_summary(struct vg_pipeline *run, double seconds, const char *extra);

/* ---- step.c: the one per-record step ---- */

/* Parse and classify one line into rec with worker w's context; counts
 * the record, and a rejected one by reason (*reason set). */
bool vg_step_parse(struct vg_pipeline_worker *w, const char *p, size_t len, struct vg_record *rec, int *reason);

/* Add a classified record to w's windows: fallback_ts is the time used
 * when the record has none (VG_TIME_NONE: none), stream its partition's
 * stream (0 for files). Returns the time the windows count it at
 * (VG_TIME_NONE when not counted). */
int64_t vg_step_add(struct vg_pipeline_worker *w, const struct vg_record *rec, int64_t fallback_ts, int32_t stream);

/* vg_step_parse then vg_step_add without a fallback time. */
void vg_step_line(struct vg_pipeline_worker *w, const char *p, size_t len);

/* ---- files.c ---- */

/* A chunk worker's thread (several threads over a pipe): takes chunks
 * from w->in until a NULL. */
void *vg_files_worker(void *arg);

/* ---- closer.c: window close -> rows, store, rules, alerts ---- */

/* Compile the configured rules, start the engine, open --alerts and the
 * notifiers. Returns 0, VG_ERR_CONFIG (said on stderr) or VG_ERR_NOMEM. */
int vg_closer_open(struct vg_pipeline *run, const struct vg_table_params *tp, int64_t window_ms);

/* Close the windows due (all with flush), unless the last close was less
 * than every_ms ago: each closed window's rows, store entry and rules. */
void vg_closer_close(struct vg_pipeline *run, bool flush, int64_t every_ms);

/* An alert changed state (a vg_alert_fn): the notifiers and --alerts. */
void vg_closer_alert(void *arg, const struct vg_alert *al);

/* Write the alert lines gathered so far. */
int vg_closer_flush_alerts(struct vg_pipeline *run);

/* ---- health.c: vigil run's HTTP endpoints ---- */

/* Start the server of http.listen (unless off) and publish the first
 * pages; chosen: the address was set on the command line. Returns 0, or
 * VG_ERR_CONFIG / VG_ERR_IO / VG_ERR_NOMEM (said on stderr). */
int vg_health_start(struct vg_run *rc, bool chosen);

/* After each close round on the closer thread (close_s: its duration). */
void vg_health_tick(struct vg_run *rc, double close_s);

void vg_health_stop(struct vg_run *rc);

/* On a worker after a batch and when idle: its counters for the closer. */
void vg_health_publish_worker(struct vg_pipeline_worker *w);

#endif

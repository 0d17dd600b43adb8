/* vigil: the pipeline on Kafka: vigil run.
 *
 * Joins the consumer group (ingest/kafka.h); each worker thread takes the
 * per-record step on its batches (the same step as pipeline/pipeline.h's
 * files), archives the records (sink/archive.h) and dead-letters the
 * rejected ones. The closer, on a thread of its own, closes windows,
 * evaluates the rules, notifies, reloads the configuration on SIGHUP and
 * publishes /health, /ready, /metrics and /alerts; the Kafka poller only
 * polls, dispatches and measures the lag. Offsets are committed once the
 * archive has made the records durable.
 *
 * vg_run_main runs until a stop signal (pipeline/stop.h) or, with
 * exit_at_end, the end of the topics; the summary line goes to standard
 * error last. Errors are said on standard error as "vigil run: ...". */
#ifndef VG_RUN_H
#define VG_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert/alert.h"
#include "ingest/kafka.h"
#include "sink/archive.h"

/* The most worker threads vigil run takes. */
#define VG_RUN_MAX_WORKERS 256

/* What the run did, for vigil demo. */
struct vg_run_result {
	struct vg_archive_stats archive;
	struct vg_kafka_stats kafka;
	uint64_t alerts_by_state[VG_ALERT_STATES];
	double seconds;
};

/* The figures an on_tick hook sees, on the closer thread. */
struct vg_run_status {
	uint64_t messages;      /* processed so far */
	const char *http_addr;  /* HOST:PORT of the endpoints, or NULL */
	uint64_t windows_closed;
	int64_t watermark_ms;   /* INT64_MIN before the first */
	size_t alerts_pending, alerts_firing;
	int64_t lag;            /* owned partitions, as of the last second */
};

/* What vigil run runs with: its options and, for vigil demo, a hook on
 * the closer thread, a few overrides and where to report the results. */
struct vg_run_opts {
	const char *config_path, *windows_path, *records_path, *alerts_path;
	const char *brokers, *group, *archive_dir;
	const char *topics[64];
	size_t n_topics;
	long workers; /* > 0: over the configuration's; 0 or over the maximum: refused */
	bool exit_at_end;
	int log_level;
	const char *outbox_dir;      /* overrides notify.outbox.dir when set */
	const char *http_listen;     /* overrides http.listen when set */
	int64_t lateness_ms;         /* overrides aggregate.lateness when > 0 */
	int64_t skew_behind_ms;      /* overrides aggregate.skew_behind when >= 0 */
	int64_t shutdown_timeout_ms; /* overrides kafka.shutdown_timeout when > 0 */
	void (*on_tick)(const struct vg_run_status *st, void *arg); /* after each round, on the closer's thread */
	void *on_tick_arg;
	struct vg_run_result *result; /* filled at the end when set */
};

/* What vg_run_main refuses at start, checked without starting anything
 * (vigil config --check): the configuration, its field paths and classify
 * rules, aggregate.accuracy and the rule files. Returns 0, or
 * VG_ERR_IO (the configuration file cannot be read) or VG_ERR_CONFIG with
 * "FILE:LINE: reason" in errbuf. */
int vg_run_check(const char *config_path, char *errbuf, size_t errlen);

/* Run the pipeline on Kafka until stopped. Returns vigil's exit status. */
int vg_run_main(const struct vg_run_opts *o);

#endif

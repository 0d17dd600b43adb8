/* vigil: the Kafka consumer group.
 *
 * Joins the group configured in the `kafka` section. One thread (the one
 * in vg_kafka_run) polls the consumer and hands each message of an owned
 * partition to worker `partition mod workers` in batches, through that
 * worker's bounded ring (so order within a partition is kept and no two
 * workers share one). A worker with no spare batch has its partitions
 * paused (the lag grows, not memory: at most 32 batches a worker, and one
 * message a partition held by the poller) and resumed once it has taken
 * half its batches back; the poller never waits, so rebalances and the
 * tick are served meanwhile.
 * Each worker hands a batch to the pipeline's batch function (run to
 * completion). Offsets are stored only once the pipeline reports them
 * durable (its durable hook: after the archive's fsync), or, without the
 * hook, once the batch function returns; they are committed on an
 * interval, synchronously on revoke and at shutdown (after the workers
 * sync): at-least-once.
 *
 * Rebalance (eager and cooperative-sticky alike), served on the polling
 * thread: on revoke, nothing more is dispatched, every worker finishes
 * what was dispatched to it and syncs (a stalled one is not waited for:
 * what it has durable is what is committed), the stored offsets are
 * committed, then the partitions are released; messages of revoked
 * partitions not yet dispatched, held ones included, are dropped (their
 * new owner starts from the committed offset), and those paused are
 * resumed first. With cooperative-sticky, partitions not revoked keep flowing.
 * Once a partition is assigned again, only durable positions past the
 * first offset dispatched since are stored (an older one would move its
 * committed offset back).
 *
 * Offsets the broker deleted (retention) before they were read: a fetch
 * out of range makes librdkafka go on from the partition's earliest offset
 * (auto.offset.reset earliest); vigil counts the offsets skipped
 * (vg_kafka_stats.deleted) and says each reset in a warning ("records
 * deleted by the broker before vigil read them": topic, partition, from,
 * to, deleted). It learns of the reset from librdkafka's log line (see
 * kafka_internal.h); what is consumed and committed is librdkafka's.
 *
 * Threads: vg_kafka_run, vg_kafka_stop and vg_kafka_close on one thread
 * (the main one, which also serves rebalance events); batch functions and
 * the other hooks on the workers. */
#ifndef VG_KAFKA_H
#define VG_KAFKA_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/record.h"

/* librdkafka's own log lines (a broker disconnected, a connection refused)
 * as vigil's JSON log lines (vg_log_librdkafka); for rd_kafka_conf_set_log_cb.
 * Called on librdkafka's threads: vg_log is thread-safe. */
typedef struct rd_kafka_s rd_kafka_t;
void vg_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

/* Partitions vigil can be assigned over its life (all topics together). */
#define VG_KAFKA_MAX_PARTS 4096

/* What the consumer says of a partition (by its stream index), for
 * event time: GONE when revoked (or never assigned); BEHIND from its
 * assignment and whenever records wait on it: not yet read (not at its end
 * offset), read but not yet processed by its worker, or paused; CAUGHT_UP
 * once it has reached its end offset and every record read of it is
 * processed. */
enum vg_kafka_part_state { VG_KAFKA_PART_GONE, VG_KAFKA_PART_BEHIND, VG_KAFKA_PART_CAUGHT_UP };

/* One message as the pipeline sees it: views valid during the batch call. */
struct vg_kafka_msg {
	const char *payload;
	size_t len;
	const char *topic;
	int32_t partition;
	int32_t stream; /* the (topic, partition)'s index, 0 .. VG_KAFKA_MAX_PARTS - 1, stable for the run */
	int64_t offset;
	int64_t ts_ms; /* the message timestamp, or VG_TIME_NONE */
};

struct vg_kafka_handler {
	/* Per-worker state, created on the worker thread. NULL: failure. */
	void *(*worker_start)(unsigned worker, void *arg);
	/* Process a batch; when it returns, its offsets may be stored. */
	void (*batch)(void *worker_state, const struct vg_kafka_msg *msgs, size_t n);
	/* A worker between batches: its state is quiescent (no batch running). */
	void (*worker_idle)(void *worker_state);
	/* Durability (optional). When set, offsets are stored only as this
	 * reports them durable, after each batch and when idle: it sets *out
	 * to the durable positions (valid until the worker's next call) and
	 * returns how many (reporting partitions no longer owned is fine: they
	 * are not stored). sync(state) makes everything processed durable now
	 * (on revoke and at stop). */
	size_t (*durable)(void *worker_state, const struct vg_offset **out);
	void (*sync)(void *worker_state);
	/* Backpressure from a sink (optional): true while the pipeline cannot
	 * take more (what it took would pile up in memory). Asked after each
	 * batch and when idle; while true, the worker takes no batch and asks
	 * again 100 ms later, doubling to 2 s, so this is where the sink
	 * retries. A drain (revoke) does not wait for a stalled worker, and a
	 * stop ends the wait: its queued batches are then dropped unprocessed
	 * (their offsets never stored). */
	bool (*stalled)(void *worker_state);
	/* A partition's state changed (optional; see enum vg_kafka_part_state):
	 * called on the vg_kafka_run thread, in rebalances before any message
	 * of an assigned partition is handed out and after a revoked one's are
	 * processed, on dispatch, and on the tick (before tick()). */
	void (*part_state)(void *arg, int32_t stream, enum vg_kafka_part_state st);
	void (*worker_stop)(void *worker_state);
	void *arg;
};

struct vg_kafka;

/* What vg_kafka_open refuses of a configuration, checked without creating
 * a consumer (vigil config --check): every kafka.properties entry goes
 * through librdkafka's rd_kafka_conf_set, by the same function
 * vg_kafka_open builds its configuration with. Returns 0, VG_ERR_CONFIG
 * with "FILE:LINE: kafka.properties: librdkafka's reason" in errbuf, or
 * VG_ERR_NOMEM. (What only rd_kafka_new checks, properties that conflict,
 * is still said at vigil run.) Thread-safe. */
int vg_kafka_check(const struct vg_config *cfg, char *errbuf, size_t errlen);

/* Create the consumer and its workers (not yet subscribed). workers 0:
 * one per core. Returns 0, or VG_ERR_CONFIG with librdkafka's message for
 * a property it refuses (as vg_kafka_check says it), or VG_ERR_NOMEM. */
int vg_kafka_open(struct vg_kafka **out, const struct vg_config *cfg, const struct vg_kafka_handler *h,
		  char *errbuf, size_t errlen);

/* Subscribe and consume until *stop is set (a signal handler may set it)
 * or, with exit_at_end, until every assigned partition has reached its end
 * offset. tick(arg) runs on this thread every ~50 ms: keep it short, it
 * delays polling (vigil run measures the lag there; its closer has a thread
 * of its own).
 * Returns 0 or VG_ERR_IO (fatal consumer error, message on stderr). */
int vg_kafka_run(struct vg_kafka *k, atomic_int *stop, bool exit_at_end, void (*tick)(void *),
		 void *tick_arg);

/* Graceful stop: stop fetching, let workers finish, commit stored offsets
 * synchronously (a commit refused by a rebalance under way is tried again
 * after serving it, for up to a quarter of kafka.shutdown_timeout), leave
 * the group; bounded by kafka.shutdown_timeout. Writes the committed
 * offsets as "topic/partition":offset pairs (JSON object members,
 * comma-separated) into out. Returns 0, or VG_ERR_IO when the final commit
 * failed (logged as an error: what was processed since the last commit
 * that succeeded is read again by the next owner) or leaving the group
 * failed. */
int vg_kafka_stop(struct vg_kafka *k, char *out, size_t outlen);

/* Free everything (after vg_kafka_stop); NULL is a no-op. */
void vg_kafka_close(struct vg_kafka *k);

struct vg_kafka_stats {
	uint64_t messages;   /* handed to batch functions */
	uint64_t bytes;      /* their payload bytes */
	uint64_t skipped;    /* of revoked partitions, left to the new owner */
	uint64_t deleted;    /* offsets the broker deleted before they were read (an offset reset) */
	uint64_t errors;     /* consumer errors reported */
	uint64_t rebalances; /* assignments and revocations */
	uint64_t commits_failed;
	uint64_t commits; /* succeeded, automatic ones included */
	uint64_t pauses;  /* times a worker with no spare batch had its partitions paused */
	size_t paused;    /* partitions paused now */
	double busy_seconds; /* from the first message processed to the end of the last batch */
	bool joined;            /* in the group: partitions assigned (maybe none), not revoked since */
	size_t owned;           /* partitions assigned now */
	int64_t last_commit_ms; /* wall time of the last commit that succeeded or had nothing new to
				 * commit (from the start of vg_kafka_run); 0 before it */
	bool commit_current;    /* no message processed since that commit */
};

/* Thread-safe (atomic counters). */
void vg_kafka_get_stats(struct vg_kafka *k, struct vg_kafka_stats *out);

/* Consumer lag, summed over the partitions this instance owns now: the
 * high watermark (as of the last fetch) minus the consumer's position.
 * Partitions not owned are not counted. Call from the vg_kafka_run thread
 * (the tick). Returns the lag and, in *partitions, how many were summed. */
int64_t vg_kafka_lag(struct vg_kafka *k, size_t *partitions);

/* The same per partition: fn(arg, topic, partition, lag) for each owned
 * partition whose watermark is known. Same thread. Returns how many. */
size_t vg_kafka_lag_each(struct vg_kafka *k, void (*fn)(void *arg, const char *topic, int32_t partition,
							  int64_t lag),
			 void *arg);

#endif

/* vigil: what ingest/kafka.c and kafka_parts.c share (the consumer's
 * structures and the calls between the two files); nothing else includes
 * this. The public interface is kafka.h. */
#ifndef VG_KAFKA_INTERNAL_H
#define VG_KAFKA_INTERNAL_H

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/ring.h"
#include "ingest/kafka.h"

#define MAX_PARTS VG_KAFKA_MAX_PARTS
#define POLL_MS 50
#define IDLE_MS 100 /* a worker with nothing to do syncs and stores this often */
#define BATCHES 32  /* per worker, filling, queued or in process: slack for the archive's fsyncs */
#define SPARE_WAIT_MS 250       /* the poller waits this long for a busy worker's batch before pausing it */
#define RESUME_AT (BATCHES / 2) /* spare batches a paused worker needs back: a pause costs a refetch */
#define STALL_MIN_MS 100        /* a stalled pipeline is asked again after this, doubling... */
#define STALL_MAX_MS 2000       /* ...up to this */
#define NO_OFFSET INT64_MAX

/* A partition vigil has been assigned at some point. Written by the main
 * thread (rebalances, dispatch); `first` is read by the workers. */
struct part {
	char topic[256];
	int32_t partition;
	_Atomic int owned;     /* assigned now */
	_Atomic int eof;       /* reached the end offset, nothing dispatched since */
	_Atomic int64_t first; /* first offset dispatched since assigned, or NO_OFFSET */
	bool paused;           /* main thread: paused by us (rd_kafka_pause_partitions) */
	int64_t end;           /* main thread: while paused, its end offset as last asked, or -1 */
	int said;              /* main thread: the enum vg_kafka_part_state last told the pipeline */
	_Atomic uint64_t dispatched; /* messages handed to its worker (main thread writes) */
	_Atomic uint64_t processed;  /* of those, processed (its worker writes) */
	/* An offset reset past deleted offsets whose new position librdkafka
	 * had to ask the broker for: the offset it was at (set by the log
	 * callback, the lowest if several), until the poller sees the first
	 * message at or past it; NO_OFFSET when none. */
	_Atomic int64_t reset_from;
};

/* What the main thread hands a worker: messages of its partitions, in
 * order. The sync and stop marks are per-worker addresses. */
struct batch {
	size_t n;
	rd_kafka_message_t **msgs;
	struct part **parts; /* each message's */
};

struct worker {
	struct vg_kafka *k;
	unsigned id;
	pthread_t thread;
	struct vg_ring *todo;  /* batches and marks, in dispatch order */
	struct vg_ring *spare; /* empty batches: none spare is backpressure */
	struct batch *filling; /* main thread: the batch being filled, or NULL */
	struct batch mark_sync, mark_stop;
	uint64_t sent;    /* main thread: items put in todo */
	uint64_t sync_at; /* main thread: sent as of the last sync mark, counting it */
	/* Main thread: no spare batch, so its partitions are paused; the
	 * messages polled for it meanwhile (at most one a partition), in order. */
	bool paused;
	rd_kafka_message_t **held;
	size_t n_held, cap_held;
	pthread_mutex_t mu;
	pthread_cond_t cond;  /* finished or stalled changed; a stop for a stalled worker */
	uint64_t finished;    /* under mu: items the worker is done with */
	bool stalled;         /* under mu: its pipeline cannot take more; it takes no batch */
	bool started;
};

struct vg_kafka {
	const struct vg_config *cfg;
	struct vg_kafka_handler h;
	rd_kafka_t *rk;
	unsigned n_workers;
	struct worker *workers;
	struct batch *batches;    /* BATCHES per worker */
	pthread_mutex_t parts_mu; /* guards adding parts; lookups read n with acquire */
	struct part parts[MAX_PARTS];
	_Atomic size_t n_parts;
	_Atomic int stopping;
	bool running;      /* main thread: the workers take batches */
	struct part *last; /* main thread: of the last message polled */
	char protocol[16]; /* main thread: the group's rebalance protocol as of the last rebalance, or "" */
	_Atomic int assigned_once;
	_Atomic uint64_t messages, bytes, skipped, errors, rebalances, commits_failed, commits, pauses;
	_Atomic uint64_t deleted; /* offsets the broker deleted before they were read (offset resets) */
	_Atomic size_t n_paused; /* partitions paused now */
	double ends_s;           /* main thread: when the paused partitions' end offsets were asked */
	_Atomic int64_t first_us, last_us; /* monotonic, of the first and last message processed */
	_Atomic int joined;                /* in the group: assigned, and not revoked since (eager) */
	_Atomic int64_t commit_ok_ms;      /* wall time of the last commit that succeeded or had nothing new */
	_Atomic uint64_t commit_messages;  /* messages processed as of that commit */
};

/* ---- kafka_parts.c: partitions, rebalances, lag ------------------------ */

/* The partition, or NULL if it was never assigned. Any thread (the table
 * only grows; its count is published with release). */
struct part *vg_kafka_part_find(struct vg_kafka *k, const char *topic, int32_t partition);

/* The partition, added on first sight (under k->parts_mu); NULL past
 * MAX_PARTS. */
struct part *vg_kafka_part_get(struct vg_kafka *k, const char *topic, int32_t partition);

/* Tell the pipeline a partition's state, if it changed. Main thread. */
void vg_kafka_part_say(struct vg_kafka *k, struct part *p, enum vg_kafka_part_state st);

/* Tell the pipeline whether an owned partition is caught up (at its end
 * offset, unpaused, everything handed out processed) or behind. */
void vg_kafka_part_update(struct vg_kafka *k, struct part *p);

/* librdkafka's callbacks: a rebalance (assign or revoke), an error, a
 * commit's outcome. opaque is the struct vg_kafka; main thread (from
 * rd_kafka_consumer_poll). */
void vg_kafka_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
			   void *opaque);
void vg_kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque);
void vg_kafka_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *offsets,
			void *opaque);

/* ---- kafka_parts.c: offsets the broker deleted -------------------------
 *
 * A fetch at an offset the broker no longer has (deleted by retention
 * while vigil was stopped or behind) makes librdkafka reset the position
 * to auto.offset.reset, which vigil sets to earliest, and log it, once a
 * reset, on its main thread (2.0.2, facility OFFSET, a warning):
 *
 *   TOPIC [P]: offset reset (at offset N, broker B) to cached BEGINNING offset M:
 *     fetch failed due to requested offset not available on the broker: Broker: Offset out of range
 *
 * ("to BEGINNING: ..." when it has no log start cached from a fetch: it
 * asks the broker, after the line). Offsets N to M - 1 were deleted before
 * vigil read them: counted (vg_kafka_stats.deleted) and said in one
 * warning, with M from the line or, when not in it, from the first message
 * of the partition at or past N (vg_kafka_reset_seen). Messages fetched
 * before the reset, below N, come first and are not mistaken for it. What
 * is consumed and committed does not change. */

/* A reset line, parsed: the topic, partition, offset N and, when the line
 * has it, M (else -1). True only for a reset to BEGINNING after a fetch
 * out of range at a numeric offset (a reset for a committed offset
 * missing, or to END, is something else). Thread-safe. */
struct vg_kafka_reset {
	char topic[256];
	int32_t partition;
	int64_t from, to;
};
bool vg_kafka_reset_parse(const char *line, struct vg_kafka_reset *out);

/* The consumer's log callback: vg_kafka_log_cb, after counting a reset
 * line (above). The opaque is the struct vg_kafka. librdkafka's threads. */
void vg_kafka_consumer_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

/* A message of p at offset: the end of a pending reset (p->reset_from)
 * when at or past it, counted then. Main thread; cheap when none pends. */
void vg_kafka_reset_seen(struct vg_kafka *k, struct part *p, int64_t offset);

/* ---- kafka.c: the workers ---------------------------------------------- */

/* Before partitions go: hand the workers what they hold and wait, bounded,
 * for what is durable to be stored (kafka.c says how). Main thread. */
void vg_kafka_drain_workers(struct vg_kafka *k);

/* Revoked partitions: their held messages dropped, their offsets not
 * stored, and those paused resumed. Main thread. */
void vg_kafka_release_parts(struct vg_kafka *k, const rd_kafka_topic_partition_list_t *parts);

#endif

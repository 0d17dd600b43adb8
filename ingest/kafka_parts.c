/* vigil: the Kafka consumer's partitions. See kafka.h and kafka_internal.h.
 *
 * Named for what it holds rather than for a prefix: the partitions vigil
 * was assigned and their states, the rebalance (and error and commit)
 * callbacks librdkafka calls, and the statistics and lag read from them.
 * The poller, the workers and the lifecycle are kafka.c. */
#define _POSIX_C_SOURCE 200809L
#include "ingest/kafka_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"

/* ---- partitions --------------------------------------------------------- */

struct part *vg_kafka_part_find(struct vg_kafka *k, const char *topic, int32_t partition)
{
	size_t n = atomic_load_explicit(&k->n_parts, memory_order_acquire);

	for (size_t i = 0; i < n; i++) {
		if (k->parts[i].partition == partition && strcmp(k->parts[i].topic, topic) == 0)
			return &k->parts[i];
	}
	return NULL;
}

struct part *vg_kafka_part_get(struct vg_kafka *k, const char *topic, int32_t partition)
{
	struct part *p = vg_kafka_part_find(k, topic, partition);

	if (p)
		return p;
	pthread_mutex_lock(&k->parts_mu);
	size_t n = atomic_load(&k->n_parts);

	if ((p = vg_kafka_part_find(k, topic, partition)) == NULL && n < MAX_PARTS) {
		p = &k->parts[n];
		snprintf(p->topic, sizeof(p->topic), "%s", topic);
		p->partition = partition;
		atomic_store(&p->owned, 0);
		atomic_store(&p->eof, 0);
		atomic_store(&p->first, NO_OFFSET);
		p->paused = false;
		p->end = -1;
		p->said = VG_KAFKA_PART_GONE;
		atomic_store(&p->dispatched, 0);
		atomic_store(&p->processed, 0);
		atomic_store(&p->reset_from, NO_OFFSET);
		atomic_store_explicit(&k->n_parts, n + 1, memory_order_release);
	}
	pthread_mutex_unlock(&k->parts_mu);
	return p;
}

/* Tell the pipeline a partition's state, if it changed. */
void vg_kafka_part_say(struct vg_kafka *k, struct part *p, enum vg_kafka_part_state st)
{
	if (p->said == (int)st)
		return;
	p->said = (int)st;
	if (k->h.part_state)
		k->h.part_state(k->h.arg, (int32_t)(p - k->parts), st);
}

/* An owned partition's state now: caught up once at its end offset,
 * unpaused, with every message handed out processed. */
void vg_kafka_part_update(struct vg_kafka *k, struct part *p)
{
	bool caught = atomic_load(&p->eof) && !p->paused &&
		      atomic_load_explicit(&p->processed, memory_order_acquire) >=
			      atomic_load_explicit(&p->dispatched, memory_order_relaxed);

	vg_kafka_part_say(k, p, caught ? VG_KAFKA_PART_CAUGHT_UP : VG_KAFKA_PART_BEHIND);
}

/* ---- rebalance ---------------------------------------------------------- */

static void own(struct vg_kafka *k, const rd_kafka_topic_partition_list_t *parts, bool on)
{
	for (int i = 0; i < parts->cnt; i++) {
		struct part *p = vg_kafka_part_get(k, parts->elems[i].topic, parts->elems[i].partition);

		if (p) {
			atomic_store(&p->eof, 0);
			atomic_store(&p->first, NO_OFFSET);
			atomic_store(&p->reset_from, NO_OFFSET); /* of the last assignment */
			atomic_store(&p->owned, on);
			/* Assigned: behind (holding event time) before any
			 * message of it can be polled; revoked: gone. */
			vg_kafka_part_say(k, p, on ? VG_KAFKA_PART_BEHIND : VG_KAFKA_PART_GONE);
		}
	}
}

/* One JSON log line per rebalance step, so operators (and tests) see it. */
static void log_parts(const char *what, const char *protocol, const rd_kafka_topic_partition_list_t *parts)
{
	char list[3072] = "[", msg[64];
	size_t o = 1;

	/* Topic names are [a-zA-Z0-9._-]: nothing to escape. A list too long
	 * for one log line is left out; the count stays. */
	for (int i = 0; i < parts->cnt && o < sizeof(list) - 300; i++) {
		int w = snprintf(list + o, sizeof(list) - o, "%s\"%s/%d\"", i ? "," : "", parts->elems[i].topic,
				 parts->elems[i].partition);

		if (w > 0)
			o += (size_t)w;
	}
	snprintf(list + o, sizeof(list) - o, "]");
	snprintf(msg, sizeof(msg), "partitions %s", what);
	vg_log_kv(VG_LOG_INFO, "ingest", msg, VG_LOG_S("protocol", protocol), VG_LOG_I("count", parts->cnt),
		  VG_LOG_J("partitions", o < sizeof(list) - 300 ? list : NULL));
}

/* Served on the main thread, inside rd_kafka_consumer_poll: nothing is
 * dispatched while it runs. */
void vg_kafka_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
			 void *opaque)
{
	struct vg_kafka *k = opaque;
	const char *protocol = rd_kafka_rebalance_protocol(rk);

	/* NULL once the group is being torn down (a revoke served inside
	 * rd_kafka_consumer_close can see it) or without a group: the
	 * protocol of the last rebalance still holds. */
	if (protocol)
		snprintf(k->protocol, sizeof(k->protocol), "%s", protocol);
	protocol = k->protocol[0] ? k->protocol : "NONE";
	bool coop = strcmp(protocol, "COOPERATIVE") == 0;
	rd_kafka_error_t *error = NULL;
	rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;

	atomic_fetch_add(&k->rebalances, 1);
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		/* Owned (with no offset reached yet) before any message of
		 * theirs can be polled. */
		own(k, parts, true);
		if (coop)
			error = rd_kafka_incremental_assign(rk, parts);
		else
			e = rd_kafka_assign(rk, parts);
		atomic_store(&k->assigned_once, 1);
		atomic_store(&k->joined, 1);
		log_parts("assigned", protocol, parts);
	} else {
		log_parts("revoked", protocol, parts);
		/* Revoke: every message dispatched so far processed and synced,
		 * its offset stored; commit; only then let go. Messages of the
		 * revoked partitions not yet polled are never dispatched (their
		 * new owner starts from the committed offset). */
		vg_kafka_drain_workers(k);
		if (rd_kafka_assignment_lost(rk) == 0) {
			rd_kafka_resp_err_t ce = rd_kafka_commit(rk, NULL, 0);

			if (ce && ce != RD_KAFKA_RESP_ERR__NO_OFFSET) {
				atomic_fetch_add(&k->commits_failed, 1);
				vg_log_kv(VG_LOG_WARNING, "ingest", "commit on revoke failed",
					  VG_LOG_S("error", rd_kafka_err2str(ce)));
			}
		} else {
			/* The group went on without us (our session expired: a
			 * process stopped or starved past session.timeout.ms):
			 * the partitions have another owner already, and a commit
			 * would be refused. */
			vg_log_kv(VG_LOG_WARNING, "ingest",
				  "partitions lost (this member was out of the group); not committed: records since the "
				  "last commit will be read again by their new owner",
				  VG_LOG_I("count", parts->cnt));
		}
		vg_kafka_release_parts(k, parts);
		own(k, parts, false);
		if (!coop || rd_kafka_assignment_lost(rk))
			atomic_store(&k->joined, 0);
		if (coop)
			error = rd_kafka_incremental_unassign(rk, parts);
		else
			e = rd_kafka_assign(rk, NULL);
	}
	if (error) {
		vg_log_kv(VG_LOG_ERROR, "ingest", "rebalance failed", VG_LOG_S("error", rd_kafka_error_string(error)));
		rd_kafka_error_destroy(error);
	} else if (e) {
		vg_log_kv(VG_LOG_ERROR, "ingest", "rebalance failed", VG_LOG_S("error", rd_kafka_err2str(e)));
	}
}

void vg_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	vg_log_librdkafka(rd_kafka_name(rk), level, fac, buf);
}

/* ---- offsets the broker deleted ----------------------------------------- */

/* s at prefix: the rest of s, or NULL. */
static const char *skip(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

/* A non-negative decimal number at s: the rest of s, or NULL. */
static const char *number(const char *s, int64_t max, int64_t *out)
{
	int64_t v = 0;

	if (*s < '0' || *s > '9')
		return NULL;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (max - (*s - '0')) / 10)
			return NULL;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return s;
}

bool vg_kafka_reset_parse(const char *line, struct vg_kafka_reset *out)
{
	const char *s = line, *t;
	int64_t partition, broker;
	size_t n = 0;

	/* librdkafka's log.thread.name (default true) puts "[thrd:NAME]: " first. */
	if ((t = skip(s, "[thrd:")) != NULL) {
		if (!(t = strstr(t, "]: ")))
			return false;
		s = t + 3;
	}
	/* Topic names are [a-zA-Z0-9._-]. */
	while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= '0' && s[n] <= '9') ||
	       s[n] == '.' || s[n] == '_' || s[n] == '-')
		n++;
	if (n == 0 || n >= sizeof(out->topic))
		return false;
	memcpy(out->topic, s, n);
	out->topic[n] = '\0';
	out->to = -1;
	if (!(s = skip(s + n, " [")) || !(s = number(s, INT32_MAX, &partition)) ||
	    !(s = skip(s, "]: offset reset (at offset ")) || !(s = number(s, INT64_MAX, &out->from)) ||
	    !(s = skip(s, ", broker ")))
		return false;
	if (*s == '-') /* no broker (RD_KAFKA_NODEID_UA) */
		s++;
	if (!(s = number(s, INT64_MAX, &broker)) || !(s = skip(s, ") to ")))
		return false;
	if ((t = skip(s, "cached BEGINNING offset ")) != NULL) {
		if (!(s = number(t, INT64_MAX, &out->to)))
			return false;
	} else if (!(s = skip(s, "BEGINNING"))) {
		return false;
	}
	out->partition = (int32_t)partition;
	return skip(s, ": fetch failed due to requested offset not available on the broker: ") != NULL;
}

/* Offsets from to to - 1 deleted before vigil read them: counted, said. */
static void count_deleted(struct vg_kafka *k, const char *topic, int32_t partition, int64_t from, int64_t to)
{
	if (to <= from) /* back (the log was truncated or the topic made again): nothing deleted unread */
		return;
	atomic_fetch_add(&k->deleted, (uint64_t)(to - from));
	vg_log_kv(VG_LOG_WARNING, "ingest",
		  "records deleted by the broker before vigil read them (retention); reading on from the partition's "
		  "earliest offset",
		  VG_LOG_S("topic", topic), VG_LOG_I("partition", partition), VG_LOG_I("from", from),
		  VG_LOG_I("to", to), VG_LOG_I("deleted", to - from));
}

void vg_kafka_consumer_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	struct vg_kafka *k = rd_kafka_opaque(rk);
	struct vg_kafka_reset r;
	struct part *p;

	/* librdkafka's line, then vigil's: counted whatever the log level. */
	vg_kafka_log_cb(rk, level, fac, buf);
	if (!k || strcmp(fac, "OFFSET") != 0 || !vg_kafka_reset_parse(buf, &r))
		return;
	/* Of an owned partition only: a revoked one's next owner counts. */
	if (!(p = vg_kafka_part_find(k, r.topic, r.partition)) || !atomic_load(&p->owned))
		return;
	if (r.to >= 0) {
		count_deleted(k, r.topic, r.partition, r.from, r.to);
		return;
	}
	/* Asked of the broker, after this line: the poller sees it come. */
	int64_t cur = atomic_load(&p->reset_from);

	while (r.from < cur && !atomic_compare_exchange_weak(&p->reset_from, &cur, r.from))
		;
}

void vg_kafka_reset_seen(struct vg_kafka *k, struct part *p, int64_t offset)
{
	int64_t from = atomic_load_explicit(&p->reset_from, memory_order_relaxed);

	/* Below it: fetched before the reset. A newer reset meanwhile (the
	 * exchange fails) is served at the next message. */
	if (from == NO_OFFSET || offset < from || !atomic_compare_exchange_strong(&p->reset_from, &from, NO_OFFSET))
		return;
	count_deleted(k, p->topic, p->partition, from, offset);
}

/* Client-level errors (a broker down, a connection refused): librdkafka
 * recovers from most by itself; vigil counts and logs them, the first few
 * in full. */
void vg_kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct vg_kafka *k = opaque;
	uint64_t n = atomic_fetch_add(&k->errors, 1);

	(void)rk;
	if (n < 20 || err == RD_KAFKA_RESP_ERR__FATAL)
		vg_log_kv(VG_LOG_WARNING, "ingest", "kafka error",
			  VG_LOG_S("error", rd_kafka_err2name((rd_kafka_resp_err_t)err)), VG_LOG_S("reason", reason));
	if (err == RD_KAFKA_RESP_ERR__FATAL)
		atomic_store(&k->stopping, 1);
}

/* Results of commits, the automatic ones included. */
void vg_kafka_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *offsets,
		      void *opaque)
{
	struct vg_kafka *k = opaque;

	(void)rk;
	(void)offsets;
	if (!err || err == RD_KAFKA_RESP_ERR__NO_OFFSET) {
		atomic_store(&k->commit_messages, atomic_load(&k->messages));
		atomic_store(&k->commit_ok_ms, vg_clock_now_ms());
	}
	if (!err) {
		atomic_fetch_add(&k->commits, 1);
	} else if (err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
		if (atomic_fetch_add(&k->commits_failed, 1) < 20)
			vg_log_kv(VG_LOG_WARNING, "ingest", "commit failed", VG_LOG_S("error", rd_kafka_err2name(err)));
	}
}

/* ---- statistics and lag ------------------------------------------------ */

void vg_kafka_get_stats(struct vg_kafka *k, struct vg_kafka_stats *out)
{
	out->messages = atomic_load(&k->messages);
	out->bytes = atomic_load(&k->bytes);
	out->skipped = atomic_load(&k->skipped);
	out->deleted = atomic_load(&k->deleted);
	out->errors = atomic_load(&k->errors);
	out->rebalances = atomic_load(&k->rebalances);
	out->commits_failed = atomic_load(&k->commits_failed);
	out->commits = atomic_load(&k->commits);
	out->pauses = atomic_load(&k->pauses);
	out->paused = atomic_load(&k->n_paused);
	int64_t f = atomic_load(&k->first_us), l = atomic_load(&k->last_us);

	out->busy_seconds = f && l > f ? (double)(l - f) / 1e6 : 0;
	out->joined = atomic_load(&k->joined) != 0;
	out->last_commit_ms = atomic_load(&k->commit_ok_ms);
	out->commit_current = atomic_load(&k->commit_messages) == out->messages;
	out->owned = 0;
	size_t n = atomic_load_explicit(&k->n_parts, memory_order_acquire);

	for (size_t i = 0; i < n; i++)
		out->owned += atomic_load(&k->parts[i].owned) != 0;
}

static void add_lag(void *arg, const char *topic, int32_t partition, int64_t lag)
{
	(void)topic;
	(void)partition;
	*(int64_t *)arg += lag;
}

int64_t vg_kafka_lag(struct vg_kafka *k, size_t *partitions)
{
	int64_t lag = 0;

	*partitions = vg_kafka_lag_each(k, add_lag, &lag);
	return lag;
}

/* The end offsets of the paused partitions, at most once a second.
 * librdkafka learns watermarks from fetches, and a paused partition has
 * none: its lag would look frozen while it grows. One ListOffsets round
 * on the polling thread, bounded at 200 ms. */
static void ask_paused_ends(struct vg_kafka *k)
{
	double now = vg_clock_mono_s();

	if (atomic_load(&k->n_paused) == 0 || now - k->ends_s < 1)
		return;
	k->ends_s = now;
	rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(16);
	size_t n = atomic_load_explicit(&k->n_parts, memory_order_acquire);

	for (size_t i = 0; i < n; i++) {
		struct part *p = &k->parts[i];

		if (p->paused) { /* offset: the timestamp asked for; END is the latest */
			rd_kafka_topic_partition_t *tp =
				rd_kafka_topic_partition_list_add(list, p->topic, p->partition);

			tp->offset = RD_KAFKA_OFFSET_END;
			tp->opaque = p;
		}
	}
	if (rd_kafka_offsets_for_times(k->rk, list, 200) == RD_KAFKA_RESP_ERR_NO_ERROR) {
		for (int i = 0; i < list->cnt; i++) {
			struct part *p = list->elems[i].opaque;

			if (!list->elems[i].err && list->elems[i].offset >= 0 && p->paused)
				p->end = list->elems[i].offset;
		}
	}
	rd_kafka_topic_partition_list_destroy(list);
}

size_t vg_kafka_lag_each(struct vg_kafka *k, void (*fn)(void *arg, const char *topic, int32_t partition,
							  int64_t lag),
			 void *arg)
{
	size_t n = atomic_load_explicit(&k->n_parts, memory_order_acquire);
	rd_kafka_topic_partition_list_t *owned = rd_kafka_topic_partition_list_new(16);
	size_t parts = 0;

	ask_paused_ends(k);
	for (size_t i = 0; i < n; i++) {
		if (atomic_load(&k->parts[i].owned))
			rd_kafka_topic_partition_list_add(owned, k->parts[i].topic, k->parts[i].partition)->opaque =
				&k->parts[i];
	}
	if (owned->cnt > 0 && rd_kafka_position(k->rk, owned) == RD_KAFKA_RESP_ERR_NO_ERROR) {
		for (int i = 0; i < owned->cnt; i++) {
			const rd_kafka_topic_partition_t *tp = &owned->elems[i];
			const struct part *p = tp->opaque;
			int64_t lo, hi;

			if (rd_kafka_get_watermark_offsets(k->rk, tp->topic, tp->partition, &lo, &hi) != 0 || hi < 0)
				continue;
			if (p->paused && p->end > hi)
				hi = p->end;
			int64_t pos = tp->offset >= 0 ? tp->offset : lo;

			fn(arg, tp->topic, tp->partition, hi > pos ? hi - pos : 0);
			parts++;
		}
	}
	rd_kafka_topic_partition_list_destroy(owned);
	return parts;
}

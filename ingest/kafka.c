/* vigil: the Kafka consumer: its lifecycle, the poller (main thread) and
 * the workers it dispatches batches to. See kafka.h. The partitions, the
 * rebalance callbacks and lag are kafka_parts.c; what the two share is
 * kafka_internal.h. */
#define _POSIX_C_SOURCE 200809L
#include "ingest/kafka_internal.h"

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/ring.h"

/* ---- workers ------------------------------------------------------------ */

/* Store a list of offsets for commit, and free it. */
static void offsets_store(struct vg_kafka *k, rd_kafka_topic_partition_list_t *list)
{
	if (list->cnt > 0) {
		rd_kafka_resp_err_t err = rd_kafka_offsets_store(k->rk, list);

		/* A partition revoked meanwhile refuses the store: its new
		 * owner starts from the committed offset, so nothing is lost. */
		if (err && err != RD_KAFKA_RESP_ERR__STATE)
			vg_log_kv(VG_LOG_ERROR, "ingest", "storing offsets failed",
				  VG_LOG_S("error", rd_kafka_err2str(err)));
	}
	rd_kafka_topic_partition_list_destroy(list);
}

/* Store, per partition, the offset after the last message processed. */
static void store_offsets(struct vg_kafka *k, rd_kafka_message_t *const *msgs, size_t n)
{
	rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(16);

	for (size_t i = 0; i < n; i++) {
		const rd_kafka_message_t *m = msgs[i];
		rd_kafka_topic_partition_t *tp =
			rd_kafka_topic_partition_list_find(list, rd_kafka_topic_name(m->rkt), m->partition);

		if (!tp)
			tp = rd_kafka_topic_partition_list_add(list, rd_kafka_topic_name(m->rkt), m->partition);
		if (m->offset + 1 > tp->offset)
			tp->offset = m->offset + 1;
	}
	offsets_store(k, list);
}

/* Store what the pipeline reports durable: each position reached in the
 * current assignment of its partition. The pipeline keeps positions of
 * partitions it once had: one revoked and assigned again reports its old
 * position until a message of the new assignment is durable, and storing
 * that would move the committed offset back. */
static void store_durable(struct vg_kafka *k, void *state)
{
	rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(16);
	const struct vg_offset *pos;
	size_t n = k->h.durable(state, &pos);

	for (size_t i = 0; i < n; i++) {
		struct part *p = vg_kafka_part_find(k, pos[i].topic, pos[i].partition);

		if (!p || !atomic_load(&p->owned) || pos[i].next <= atomic_load(&p->first))
			continue;
		rd_kafka_topic_partition_list_add(list, pos[i].topic, pos[i].partition)->offset = pos[i].next;
	}
	offsets_store(k, list);
}

/* Run one batch through the pipeline; store its offsets. */
static void process(struct worker *w, void *state, const struct batch *b, struct vg_kafka_msg *vm)
{
	struct vg_kafka *k = w->k;

	for (size_t i = 0; i < b->n; i++) {
		const rd_kafka_message_t *msg = b->msgs[i];
		rd_kafka_timestamp_type_t tstype;
		int64_t ts = rd_kafka_message_timestamp(msg, &tstype);

		vm[i] = (struct vg_kafka_msg){.payload = msg->payload ? msg->payload : "",
					      .len = msg->len,
					      .topic = rd_kafka_topic_name(msg->rkt),
					      .partition = msg->partition,
					      .stream = (int32_t)(b->parts[i] - k->parts),
					      .offset = msg->offset,
					      .ts_ms = ts >= 0 ? ts : VG_TIME_NONE};
		atomic_fetch_add_explicit(&k->bytes, msg->len, memory_order_relaxed);
	}
	if (b->n) {
		int64_t t = (int64_t)(vg_clock_mono_s() * 1e6), zero = 0;

		atomic_compare_exchange_strong(&k->first_us, &zero, t);
		k->h.batch(state, vm, b->n);
		t = (int64_t)(vg_clock_mono_s() * 1e6);
		int64_t cur = atomic_load(&k->last_us);

		while (t > cur && !atomic_compare_exchange_weak(&k->last_us, &cur, t))
			;
		/* After the batch function: what it published of these
		 * partitions' event time covers them (see vg_kafka_part_update). */
		for (size_t i = 0; i < b->n; i++)
			atomic_fetch_add_explicit(&b->parts[i]->processed, 1, memory_order_release);
	}
	atomic_fetch_add_explicit(&k->messages, b->n, memory_order_relaxed);
	if (k->h.durable)
		store_durable(k, state);
	else
		store_offsets(k, b->msgs, b->n);
}

/* Everything processed made durable and stored (a sync mark, the stop). */
static void sync_store(struct vg_kafka *k, void *state)
{
	if (k->h.sync)
		k->h.sync(state);
	if (k->h.durable)
		store_durable(k, state);
}

/* The worker's items done so far (a drain waits for them). */
static void finish(struct worker *w)
{
	pthread_mutex_lock(&w->mu);
	w->finished++;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mu);
}

static void set_stalled(struct worker *w, bool on)
{
	pthread_mutex_lock(&w->mu);
	w->stalled = on;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mu);
}

/* Sleep ms, or less if the consumer stops. Returns true when stopping. */
static bool nap(struct worker *w, int ms)
{
	struct timespec until = vg_clock_deadline(CLOCK_REALTIME, ms);
	int rc = 0;

	pthread_mutex_lock(&w->mu);
	while (!atomic_load(&w->k->stopping) && rc == 0)
		rc = pthread_cond_timedwait(&w->cond, &w->mu, &until);
	pthread_mutex_unlock(&w->mu);
	return atomic_load(&w->k->stopping) != 0;
}

/* While the pipeline cannot take more (a sink failing), take no batch:
 * what is taken would pile up in memory. The hook retries its sink each
 * time it is asked, 100 ms apart doubling to 2 s. Meanwhile the batches
 * queued for this worker wait, the main thread pauses its partitions once
 * none is spare (the lag grows instead), and a drain does not wait for it
 * (what it has durable is all it can give). Returns false when the
 * consumer stops first. */
static bool wait_unstalled(struct worker *w, void *state)
{
	struct vg_kafka *k = w->k;
	int backoff = STALL_MIN_MS;
	bool stopping = false;

	if (!k->h.stalled || !k->h.stalled(state))
		return true;
	set_stalled(w, true);
	while (!(stopping = nap(w, backoff)) && k->h.stalled(state))
		backoff = backoff * 2 < STALL_MAX_MS ? backoff * 2 : STALL_MAX_MS;
	set_stalled(w, false);
	return !stopping;
}

/* A batch done with: its messages freed, the batch back to the spares. */
static void release(struct worker *w, struct batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		rd_kafka_message_destroy(b->msgs[i]);
	b->n = 0;
	vg_ring_put(w->spare, b);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct vg_kafka *k = w->k;
	size_t cap = k->cfg->kafka_batch;
	struct vg_kafka_msg *vm = calloc(cap, sizeof(*vm));
	void *state = k->h.worker_start ? k->h.worker_start(w->id, k->h.arg) : NULL;
	bool ok = vm && (!k->h.worker_start || state);
	bool run = ok; /* batches are processed */

	if (!ok) {
		vg_log_kv(VG_LOG_ERROR, "ingest", "worker out of memory; stopping", VG_LOG_I("worker", w->id));
		atomic_store(&k->stopping, 1);
	}
	/* Until the stop mark: without state, or once stopping while stalled,
	 * batches are only freed (not processed, so their offsets are never
	 * stored), so the main thread never waits on this worker. */
	for (;;) {
		struct batch *b = vg_ring_take_wait(w->todo, IDLE_MS);

		if (!b) { /* idle: time-based syncs, their offsets */
			if (run && k->h.worker_idle)
				k->h.worker_idle(state);
			if (run && k->h.durable)
				store_durable(k, state);
			if (run)
				run = wait_unstalled(w, state);
			continue;
		}
		if (b == &w->mark_stop)
			break;
		if (b == &w->mark_sync) {
			if (ok)
				sync_store(k, state);
		} else {
			if (run)
				process(w, state, b, vm);
			release(w, b);
			if (run && k->h.worker_idle)
				k->h.worker_idle(state);
			if (run)
				run = wait_unstalled(w, state);
		}
		finish(w);
	}
	if (ok)
		sync_store(k, state); /* stopping: before the final commit */
	if (k->h.worker_stop && state)
		k->h.worker_stop(state);
	free(vm);
	return NULL;
}

/* ---- dispatch (main thread) --------------------------------------------- */

static void hand(struct worker *w, struct batch *b)
{
	w->sent++;
	vg_ring_put(w->todo, b);
}

/* Hand every partly filled batch to its worker. */
static void flush_all(struct vg_kafka *k)
{
	for (unsigned i = 0; i < k->n_workers; i++) {
		struct worker *w = &k->workers[i];

		if (w->filling) {
			hand(w, w->filling);
			w->filling = NULL;
		}
	}
}

static struct worker *worker_of(struct vg_kafka *k, int32_t partition)
{
	return &k->workers[(unsigned)partition % k->n_workers];
}

/* Pause or resume the partitions in list (each element's opaque is its
 * part), and free the list. A partition librdkafka refuses to pause stays
 * unpaused (tried again at its next message); one it refuses to resume is
 * counted as resumed all the same (we never hold it again). */
static void set_paused(struct vg_kafka *k, rd_kafka_topic_partition_list_t *list, bool on)
{
	rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;

	if (list->cnt > 0)
		err = on ? rd_kafka_pause_partitions(k->rk, list) : rd_kafka_resume_partitions(k->rk, list);
	for (int i = 0; i < list->cnt; i++) {
		struct part *p = list->elems[i].opaque;
		rd_kafka_resp_err_t e = err ? err : list->elems[i].err;

		if (e && atomic_fetch_add(&k->errors, 1) < 20)
			vg_log_kv(VG_LOG_WARNING, "ingest",
				  on ? "pausing a partition failed" : "resuming a partition failed",
				  VG_LOG_S("topic", p->topic), VG_LOG_I("partition", p->partition),
				  VG_LOG_S("error", rd_kafka_err2str(e)));
		if ((e && on) || p->paused == on)
			continue;
		p->paused = on;
		p->end = -1;
		if (on && atomic_load(&p->owned))
			vg_kafka_part_say(k, p, VG_KAFKA_PART_BEHIND);
		if (on)
			atomic_fetch_add(&k->n_paused, 1);
		else
			atomic_fetch_sub(&k->n_paused, 1);
	}
	rd_kafka_topic_partition_list_destroy(list);
}

/* Worker w's partitions: paused ones, or owned ones not paused. */
static rd_kafka_topic_partition_list_t *parts_of(struct vg_kafka *k, const struct worker *w, bool paused)
{
	rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(16);
	size_t n = atomic_load_explicit(&k->n_parts, memory_order_acquire);

	for (size_t i = 0; i < n; i++) {
		struct part *p = &k->parts[i];

		if (p->paused == paused && worker_of(k, p->partition) == w && (paused || atomic_load(&p->owned)))
			rd_kafka_topic_partition_list_add(list, p->topic, p->partition)->opaque = p;
	}
	return list;
}

/* Put a message in the worker's filling batch (there is one); a full
 * batch goes to the worker. */
static void append(struct vg_kafka *k, struct worker *w, struct part *p, rd_kafka_message_t *m)
{
	if (atomic_load_explicit(&p->first, memory_order_relaxed) == NO_OFFSET)
		atomic_store(&p->first, m->offset);
	atomic_store_explicit(&p->dispatched, atomic_load_explicit(&p->dispatched, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	vg_kafka_part_say(k, p, VG_KAFKA_PART_BEHIND);
	w->filling->parts[w->filling->n] = p;
	w->filling->msgs[w->filling->n++] = m;
	if (w->filling->n == k->cfg->kafka_batch) {
		hand(w, w->filling);
		w->filling = NULL;
	}
}

/* The held messages, in order, into batches (waiting for spare ones). */
static void unhold_wait(struct vg_kafka *k, struct worker *w)
{
	for (size_t i = 0; i < w->n_held; i++) {
		rd_kafka_message_t *m = w->held[i];

		if (!w->filling)
			w->filling = vg_ring_take(w->spare);
		append(k, w, vg_kafka_part_find(k, rd_kafka_topic_name(m->rkt), m->partition), m);
	}
	w->n_held = 0;
}

/* Keep a message its worker cannot take now, and pause the worker's
 * partitions: librdkafka drops what it prefetched of them and, on resume,
 * fetches from after the last message poll returned, so the messages
 * already returned are ours to keep, in order. Paused, a partition gives
 * no more, so a worker holds at most one message a partition; past a
 * batch's worth (a partition librdkafka would not pause), or out of
 * memory, it waits for the worker instead, as before pausing existed. */
static void hold(struct vg_kafka *k, struct worker *w, struct part *p, rd_kafka_message_t *m)
{
	if (!w->paused) {
		w->paused = true;
		if (atomic_fetch_add(&k->pauses, 1) < 20)
			vg_log_kv(VG_LOG_INFO, "ingest",
				  "worker has no batch to spare (its sink is slow or failing); its partitions are "
				  "paused",
				  VG_LOG_I("worker", w->id));
	}
	if (w->n_held < k->cfg->kafka_batch &&
	    vg_grow(&w->held, &w->cap_held, w->n_held + 1, sizeof(*w->held), 16) == 0) {
		w->held[w->n_held++] = m;
		set_paused(k, parts_of(k, w, false), true);
		return;
	}
	vg_log_kv(VG_LOG_WARNING, "ingest", "cannot hold more messages for a paused worker; waiting for it",
		  VG_LOG_I("worker", w->id), VG_LOG_I("held", w->n_held));
	unhold_wait(k, w);
	if (!w->filling)
		w->filling = vg_ring_take(w->spare);
	append(k, w, p, m);
}

static bool stalled(struct worker *w)
{
	pthread_mutex_lock(&w->mu);
	bool on = w->stalled;

	pthread_mutex_unlock(&w->mu);
	return on;
}

/* Append a message of an owned partition to its worker's batch (taking
 * ownership of it); a full batch goes to the worker. A worker with no
 * spare batch is waited for, briefly: one busy with its batches frees one
 * within milliseconds (an fsync now and then takes longer), and a pause
 * is dear: librdkafka drops what it prefetched, and 2.0 fetches a resumed
 * partition only at its broker thread's next wakeup, up to a second
 * later (catching up with 100-message batches, pausing at once went 3
 * times slower; waiting up to 50 ms, 1.5 times). One that frees none in
 * SPARE_WAIT_MS, or is stalled, is paused (hold). */
static void dispatch(struct vg_kafka *k, struct part *p, rd_kafka_message_t *m)
{
	struct worker *w = worker_of(k, m->partition);

	atomic_store_explicit(&p->eof, 0, memory_order_relaxed);
	if (!w->paused && !w->filling)
		w->filling = vg_ring_take_wait(w->spare, stalled(w) ? 0 : SPARE_WAIT_MS);
	if (w->paused || !w->filling)
		hold(k, w, p, m);
	else
		append(k, w, p, m);
}

/* A paused worker with half its batches spare again: its held messages
 * first, then its partitions resumed (unless the held ones paused it
 * again). Waiting for half, not one, spares a refetch per batch. */
static void resume_worker(struct vg_kafka *k, struct worker *w)
{
	rd_kafka_message_t **held = w->held;
	size_t n = w->n_held;

	if (vg_ring_count(w->spare) < RESUME_AT)
		return;
	w->held = NULL;
	w->n_held = w->cap_held = 0;
	w->paused = false;
	for (size_t i = 0; i < n; i++) {
		struct part *p = vg_kafka_part_find(k, rd_kafka_topic_name(held[i]->rkt), held[i]->partition);

		dispatch(k, p, held[i]); /* owned: those revoked were dropped */
	}
	free(held);
	if (!w->paused)
		set_paused(k, parts_of(k, w, true), false);
}

/* Revoked partitions: their held messages dropped (not processed, their
 * offsets not stored: the next owner reads them), and those paused
 * resumed, since librdkafka keeps an application's pause across an
 * unassign and would not fetch them when assigned again. */
void vg_kafka_release_parts(struct vg_kafka *k, const rd_kafka_topic_partition_list_t *parts)
{
	rd_kafka_topic_partition_list_t *resume = rd_kafka_topic_partition_list_new(16);

	for (unsigned i = 0; i < k->n_workers; i++) {
		struct worker *w = &k->workers[i];
		size_t kept = 0;

		for (size_t j = 0; j < w->n_held; j++) {
			rd_kafka_message_t *m = w->held[j];

			if (rd_kafka_topic_partition_list_find(parts, rd_kafka_topic_name(m->rkt), m->partition)) {
				atomic_fetch_add(&k->skipped, 1);
				rd_kafka_message_destroy(m);
			} else {
				w->held[kept++] = m;
			}
		}
		w->n_held = kept;
	}
	for (int i = 0; i < parts->cnt; i++) {
		struct part *p = vg_kafka_part_find(k, parts->elems[i].topic, parts->elems[i].partition);

		if (p && p->paused)
			rd_kafka_topic_partition_list_add(resume, p->topic, p->partition)->opaque = p;
	}
	set_paused(k, resume, false);
}

/* A sync mark after what was dispatched to w, unless the last one is
 * still queued (the worker stalled, or slow past a drain's bound): it
 * serves, and the ring never holds more than one. */
static void hand_sync(struct worker *w)
{
	pthread_mutex_lock(&w->mu);
	bool queued = w->finished < w->sync_at;

	pthread_mutex_unlock(&w->mu);
	if (queued)
		return;
	hand(w, &w->mark_sync);
	w->sync_at = w->sent;
}

/* Every batch dispatched so far processed, then every worker synced (its
 * records durable, their offsets stored): the sync mark goes after them.
 * Bounded by half the shutdown timeout: a worker stuck (a hung disk) must
 * not hold the group's rebalance until the broker evicts us. A worker
 * stalled (its sink failing) is not waited for at all. Either way, what is
 * stored is still only what is durable; the rest is read again by the next
 * owner. */
void vg_kafka_drain_workers(struct vg_kafka *k)
{
	struct timespec until;

	if (!k->running)
		return;
	flush_all(k);
	for (unsigned i = 0; i < k->n_workers; i++)
		hand_sync(&k->workers[i]);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)(k->cfg->shutdown_timeout_ms / 2000);
	for (unsigned i = 0; i < k->n_workers; i++) {
		struct worker *w = &k->workers[i];
		int rc = 0;

		pthread_mutex_lock(&w->mu);
		while (w->finished < w->sent && !w->stalled && rc == 0)
			rc = pthread_cond_timedwait(&w->cond, &w->mu, &until);
		bool stalled = w->stalled;

		pthread_mutex_unlock(&w->mu);
		if (stalled)
			vg_log_kv(VG_LOG_WARNING, "ingest",
				  "worker stalled (its sink cannot take more); releasing its partitions with what is "
				  "durable",
				  VG_LOG_I("worker", i));
		else if (rc)
			vg_log_kv(VG_LOG_WARNING, "ingest",
				  "worker did not drain within half the shutdown timeout; releasing its partitions "
				  "with what is durable",
				  VG_LOG_I("worker", i));
	}
}

/* Stop the workers after what was dispatched (the stop mark), join them. */
static void stop_workers(struct vg_kafka *k)
{
	if (k->running)
		flush_all(k);
	for (unsigned i = 0; i < k->n_workers; i++) {
		struct worker *w = &k->workers[i];

		if (!w->started)
			continue;
		hand(w, &w->mark_stop);
		/* A stalled worker waits on cond, not on its ring (stopping is set). */
		pthread_mutex_lock(&w->mu);
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
		w->started = false;
	}
	k->running = false;
}

/* ---- lifecycle ---------------------------------------------------------- */

static int conf_set(rd_kafka_conf_t *conf, const char *key, const char *val, char *errbuf, size_t errlen,
		    const char *source)
{
	char err[512];

	if (rd_kafka_conf_set(conf, key, val, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
		snprintf(errbuf, errlen, "%s: kafka: %s", source, err);
		return VG_ERR_CONFIG;
	}
	return VG_OK;
}

static bool user_set(const struct vg_config *cfg, const char *key)
{
	for (size_t i = 0; i + 1 < cfg->kafka_properties.n; i += 2) {
		if (strcmp(cfg->kafka_properties.v[i], key) == 0)
			return true;
	}
	return false;
}

/* The consumer's configuration (see vg_kafka_check): defaults first, the
 * user's properties over them, each refused at its own line, vigil's
 * contract last (offsets are stored only after processing). */
static int conf_build(rd_kafka_conf_t *conf, const struct vg_config *cfg, char *errbuf, size_t errlen)
{
	const struct vg_strlist *props = &cfg->kafka_properties;
	char tmp[64], err[512];

	snprintf(tmp, sizeof(tmp), "%lld", (long long)cfg->commit_interval_ms);
	if (conf_set(conf, "bootstrap.servers", cfg->kafka_brokers, errbuf, errlen, cfg->source) ||
	    conf_set(conf, "group.id", cfg->kafka_group, errbuf, errlen, cfg->source) ||
	    conf_set(conf, "auto.offset.reset", "earliest", errbuf, errlen, cfg->source) ||
	    conf_set(conf, "enable.auto.commit", "true", errbuf, errlen, cfg->source) ||
	    conf_set(conf, "auto.commit.interval.ms", tmp, errbuf, errlen, cfg->source) ||
	    conf_set(conf, "enable.partition.eof", "true", errbuf, errlen, cfg->source))
		return VG_ERR_CONFIG;
	if (!user_set(cfg, "fetch.max.bytes") &&
	    conf_set(conf, "fetch.max.bytes", "67108864", errbuf, errlen, cfg->source))
		return VG_ERR_CONFIG;
	for (size_t i = 0; i + 1 < props->n; i += 2) {
		if (rd_kafka_conf_set(conf, props->v[i], props->v[i + 1], err, sizeof(err)) != RD_KAFKA_CONF_OK) {
			snprintf(errbuf, errlen, "%s:%d: kafka.properties: %s", cfg->source,
				 props->lines ? props->lines[i] : props->line, err);
			return VG_ERR_CONFIG;
		}
	}
	return conf_set(conf, "enable.auto.offset.store", "false", errbuf, errlen, cfg->source);
}

int vg_kafka_check(const struct vg_config *cfg, char *errbuf, size_t errlen)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	int rc;

	if (!conf)
		return VG_ERR_NOMEM;
	rc = conf_build(conf, cfg, errbuf, errlen);
	rd_kafka_conf_destroy(conf);
	return rc;
}

int vg_kafka_open(struct vg_kafka **out, const struct vg_config *cfg, const struct vg_kafka_handler *h,
		  char *errbuf, size_t errlen)
{
	struct vg_kafka *k = calloc(1, sizeof(*k));
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char err[512];
	int rc = VG_ERR_CONFIG;

	*out = NULL;
	if (!k || !conf) {
		free(k);
		if (conf)
			rd_kafka_conf_destroy(conf);
		return VG_ERR_NOMEM;
	}
	k->cfg = cfg;
	k->h = *h;
	pthread_mutex_init(&k->parts_mu, NULL);
	k->n_workers = vg_config_workers(cfg);
	if (conf_build(conf, cfg, errbuf, errlen) != VG_OK)
		goto out_conf;
	rd_kafka_conf_set_rebalance_cb(conf, vg_kafka_rebalance_cb);
	rd_kafka_conf_set_error_cb(conf, vg_kafka_error_cb);
	rd_kafka_conf_set_log_cb(conf, vg_kafka_consumer_log_cb);
	rd_kafka_conf_set_offset_commit_cb(conf, vg_kafka_commit_cb);
	rd_kafka_conf_set_opaque(conf, k);
	if (!(k->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err)))) {
		snprintf(errbuf, errlen, "%s: kafka: %s", cfg->source, err);
		goto out_conf;
	}
	conf = NULL; /* owned by rk now */
	rd_kafka_poll_set_consumer(k->rk);
	rc = VG_ERR_NOMEM;
	if (!(k->workers = calloc(k->n_workers, sizeof(*k->workers))) ||
	    !(k->batches = calloc((size_t)k->n_workers * BATCHES, sizeof(*k->batches))))
		goto out_free;
	for (unsigned i = 0; i < k->n_workers; i++) {
		struct worker *w = &k->workers[i];

		w->k = k;
		w->id = i;
		pthread_mutex_init(&w->mu, NULL);
		pthread_cond_init(&w->cond, NULL);
		if (vg_ring_create(&w->todo, BATCHES + 2) || vg_ring_create(&w->spare, BATCHES))
			goto out_free;
		for (unsigned j = 0; j < BATCHES; j++) {
			struct batch *b = &k->batches[i * BATCHES + j];

			if (!(b->msgs = calloc(cfg->kafka_batch, sizeof(*b->msgs))) ||
			    !(b->parts = calloc(cfg->kafka_batch, sizeof(*b->parts))))
				goto out_free;
			vg_ring_put(w->spare, b);
		}
	}
	*out = k;
	return VG_OK;

out_conf:
	if (conf)
		rd_kafka_conf_destroy(conf);
out_free:
	vg_kafka_close(k);
	return rc;
}

static int subscribe(struct vg_kafka *k)
{
	rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new((int)k->cfg->kafka_topics.n);

	for (size_t i = 0; i < k->cfg->kafka_topics.n; i++)
		rd_kafka_topic_partition_list_add(topics, k->cfg->kafka_topics.v[i], RD_KAFKA_PARTITION_UA);
	rd_kafka_resp_err_t err = rd_kafka_subscribe(k->rk, topics);

	rd_kafka_topic_partition_list_destroy(topics);
	if (err) {
		vg_log_kv(VG_LOG_ERROR, "ingest", "subscribe failed", VG_LOG_S("error", rd_kafka_err2str(err)));
		return VG_ERR_IO;
	}
	return VG_OK;
}

/* Every owned partition at its end, and at least one owned. */
static bool all_at_end(struct vg_kafka *k)
{
	size_t n = atomic_load_explicit(&k->n_parts, memory_order_acquire), owned = 0;

	for (size_t i = 0; i < n; i++) {
		if (!atomic_load(&k->parts[i].owned))
			continue;
		owned++;
		if (!atomic_load(&k->parts[i].eof))
			return false;
	}
	return owned > 0;
}

/* Every owned partition's state, told to the pipeline where it changed. */
static void parts_update(struct vg_kafka *k)
{
	size_t n = atomic_load_explicit(&k->n_parts, memory_order_acquire);

	for (size_t i = 0; i < n; i++) {
		if (atomic_load(&k->parts[i].owned))
			vg_kafka_part_update(k, &k->parts[i]);
	}
}

/* One message from the consumer queue: dispatched (ownership passes) or
 * destroyed. Returns VG_ERR_IO on a fatal error. */
static int handle(struct vg_kafka *k, rd_kafka_message_t *m)
{
	struct part *p = NULL;

	if (m->rkt) {
		const char *topic = rd_kafka_topic_name(m->rkt);

		/* Messages come in runs of one partition: look up on a change. */
		p = k->last;
		if (!p || p->partition != m->partition || strcmp(p->topic, topic) != 0)
			p = k->last = vg_kafka_part_get(k, topic, m->partition);
	}
	if (p && !m->err)
		vg_kafka_reset_seen(k, p, m->offset);
	if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
		if (p)
			atomic_store(&p->eof, 1);
	} else if (m->err) {
		atomic_fetch_add(&k->errors, 1);
		vg_log_kv(VG_LOG_WARNING, "ingest", "consumer error", VG_LOG_S("error", rd_kafka_message_errstr(m)));
		if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
			rd_kafka_message_destroy(m);
			return VG_ERR_IO;
		}
	} else if (p && atomic_load(&p->owned) && k->running) {
		dispatch(k, p, m);
		return VG_OK;
	} else {
		atomic_fetch_add(&k->skipped, 1); /* fetched before its partition was revoked */
	}
	rd_kafka_message_destroy(m);
	return VG_OK;
}

int vg_kafka_run(struct vg_kafka *k, atomic_int *stop, bool exit_at_end, void (*tick)(void *),
		 void *tick_arg)
{
	int rc = subscribe(k);
	double next_tick = 0;

	if (rc != VG_OK)
		return rc;
	atomic_store(&k->commit_ok_ms, vg_clock_now_ms()); /* commit age counts from the start */
	for (unsigned i = 0; i < k->n_workers; i++) {
		if (pthread_create(&k->workers[i].thread, NULL, worker_main, &k->workers[i]) != 0) {
			vg_log_kv(VG_LOG_ERROR, "ingest", "cannot start worker", VG_LOG_I("worker", i));
			atomic_store(&k->stopping, 1);
			return VG_ERR_NOMEM;
		}
		k->workers[i].started = true;
	}
	k->running = true;
	while (!atomic_load(stop) && !atomic_load(&k->stopping)) {
		/* The one poller: messages, rebalances and errors, one at a time.
		 * Not rd_kafka_consume_batch_queue: with librdkafka < 2.1.0 it
		 * skips offsets of partitions paused and resumed, as incremental
		 * rebalances do (librdkafka PR #4235); records were lost in
		 * tests. While batches are filling, do not wait for more: hand
		 * them over instead. */
		bool filling = false;

		for (unsigned i = 0; i < k->n_workers && !filling; i++)
			filling = k->workers[i].filling != NULL;
		rd_kafka_message_t *m = rd_kafka_consumer_poll(k->rk, filling ? 0 : POLL_MS);

		if (m && handle(k, m) != VG_OK)
			return VG_ERR_IO;
		if (!m)
			flush_all(k);
		for (unsigned i = 0; i < k->n_workers; i++) {
			if (k->workers[i].paused)
				resume_worker(k, &k->workers[i]);
		}
		double now = vg_clock_mono_s();

		if (now >= next_tick) {
			next_tick = now + POLL_MS / 1000.0;
			parts_update(k);
			if (tick)
				tick(tick_arg);
			if (exit_at_end && atomic_load(&k->assigned_once) && all_at_end(k))
				break;
		}
	}
	return VG_OK;
}

/* A commit refused because the group is rebalancing (or has moved on
 * without us): worth serving the rebalance and committing again. */
static bool rebalancing(rd_kafka_resp_err_t err)
{
	return err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION || err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS ||
	       err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID;
}

int vg_kafka_stop(struct vg_kafka *k, char *out, size_t outlen)
{
	rd_kafka_topic_partition_list_t *assignment = NULL;
	int rc = VG_OK;
	size_t o = 0;

	if (outlen)
		out[0] = '\0';
	atomic_store(&k->stopping, 1);
	stop_workers(k); /* after what was dispatched; they sync and store */
	rd_kafka_resp_err_t err = rd_kafka_commit(k->rk, NULL, 0);
	/* A rebalance under way (another member joining or leaving) makes the
	 * commit's generation stale: serve the rebalance, then commit again,
	 * for up to a quarter of the shutdown timeout (the rest is for the
	 * committed offsets and leaving the group). */
	double until = vg_clock_mono_s() + (double)k->cfg->shutdown_timeout_ms / 4000.0;

	while (rebalancing(err) && vg_clock_mono_s() < until) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(k->rk, 500);

		if (m)
			rd_kafka_message_destroy(m); /* workers are gone: not processed, not stored */
		err = rd_kafka_commit(k->rk, NULL, 0);
	}
	if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
		/* Nothing is lost: the partitions' next owner (or the next
		 * start) reads from the last commit that succeeded, so what was
		 * processed since is read twice. Still a failure of the stop:
		 * said as an error, and vigil run exits 3. */
		atomic_fetch_add(&k->commits_failed, 1);
		vg_log_kv(VG_LOG_ERROR, "ingest",
			  rebalancing(err) ? "final commit lost to a rebalance; records since the last commit will be "
					     "read again"
					   : "final commit failed; records since the last commit will be read again",
			  VG_LOG_S("error", rd_kafka_err2name(err)));
		rc = VG_ERR_IO;
	}
	if (rd_kafka_assignment(k->rk, &assignment) == 0 && assignment) {
		if (rd_kafka_committed(k->rk, assignment, (int)k->cfg->shutdown_timeout_ms / 2) == 0) {
			for (int i = 0; i < assignment->cnt && o < outlen; i++) {
				const rd_kafka_topic_partition_t *tp = &assignment->elems[i];
				int w = snprintf(out + o, outlen - o, "%s\"%s/%d\":%lld", o ? "," : "", tp->topic,
						 tp->partition, (long long)tp->offset);

				if (w > 0)
					o += (size_t)w;
			}
		}
		rd_kafka_topic_partition_list_destroy(assignment);
	}
	err = rd_kafka_consumer_close(k->rk); /* leaves the group */
	if (err) {
		vg_log_kv(VG_LOG_ERROR, "ingest", "leaving the group failed", VG_LOG_S("error", rd_kafka_err2str(err)));
		rc = VG_ERR_IO;
	}
	return rc;
}

void vg_kafka_close(struct vg_kafka *k)
{
	if (!k)
		return;
	if (k->workers) {
		atomic_store(&k->stopping, 1);
		stop_workers(k);
		for (unsigned i = 0; i < k->n_workers; i++) {
			for (size_t j = 0; j < k->workers[i].n_held; j++)
				rd_kafka_message_destroy(k->workers[i].held[j]);
			free(k->workers[i].held);
			vg_ring_destroy(k->workers[i].todo);
			vg_ring_destroy(k->workers[i].spare);
			pthread_mutex_destroy(&k->workers[i].mu);
			pthread_cond_destroy(&k->workers[i].cond);
		}
		free(k->workers);
	}
	if (k->batches) {
		for (size_t i = 0; i < (size_t)k->n_workers * BATCHES; i++) {
			for (size_t j = 0; j < k->batches[i].n; j++)
				rd_kafka_message_destroy(k->batches[i].msgs[j]);
			free(k->batches[i].msgs);
			free(k->batches[i].parts);
		}
		free(k->batches);
	}
	if (k->rk)
		rd_kafka_destroy(k->rk);
	pthread_mutex_destroy(&k->parts_mu);
	free(k);
}

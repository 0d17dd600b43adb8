/* vigil: the pipeline on Kafka (see run.h): the hooks the Kafka module
 * calls on its worker threads, the archives, reload generations and the
 * closer's tick. */
#include "pipeline/run.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "aggregate/sketch.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "parse/json.h"
#include "pipeline/pipeline_internal.h"
#include "pipeline/stop.h"

/* Archive errors (disk full...) stop durability until a sync succeeds;
 * say so once per change, not per record. */
static void archive_result(struct vg_pipeline_worker *w, int rc)
{
	if (rc == w->archive_err)
		return;
	if (rc != VG_OK) {
		struct vg_archive_stats as;
		char why[512];

		vg_archive_get_stats(w->archive, &as);
		vg_log_kv(VG_LOG_ERROR, "archive", "archive write failed; offsets are not committed until it recovers",
			  VG_LOG_S("error", vg_archive_error_str(rc, as.error_errno, w->run->st.cfg->archive_dir, why,
								 sizeof(why))));
	} else
		vg_log(VG_LOG_INFO, "archive", "archive writable again");
	w->archive_err = rc;
}


/* ---- configuration reload (SIGHUP) ---- */

static volatile sig_atomic_t reload_requested;

static void on_reload_signal(int sig)
{
	(void)sig;
	reload_requested = 1;
}

/* A worker between batches takes the current generation: every record of
 * a batch is classified by one configuration. When a context cannot be
 * made, it keeps the old one and tries again at the next batch. */
static void worker_follow_gen(struct vg_run *rc, struct vg_pipeline_worker *w)
{
	struct worker_gen *wg = &rc->wgen[w - rc->agg.workers];
	struct gen *g = atomic_load_explicit(&rc->gen, memory_order_acquire);
	struct vg_classify_ctx *ctx;

	if (g == wg->gen || vg_classify_ctx_create(&ctx, g->classifier) != VG_OK)
		return;
	vg_classify_stats_add(&w->classify_done, vg_classify_ctx_stats(w->ctx));
	if (w->ctx != rc->agg.st.ctx) /* the stage's is freed with the stage */
		vg_classify_ctx_destroy(w->ctx);
	w->ctx = ctx;
	wg->gen = g;
	atomic_store_explicit(&wg->seq, g->seq, memory_order_release);
}

/* Free the retired generations no worker uses any more (closer thread). */
static void gens_collect(struct vg_run *rc)
{
	unsigned oldest = UINT_MAX;

	for (unsigned i = 0; i < rc->agg.threads; i++) {
		unsigned seq = atomic_load_explicit(&rc->wgen[i].seq, memory_order_acquire);

		if (seq < oldest)
			oldest = seq;
	}
	for (struct gen **p = &rc->retired; *p;) {
		struct gen *g = *p;

		if (g->seq < oldest) {
			*p = g->next;
			vg_reload_gen_free(g);
		} else {
			p = &g->next;
		}
	}
}

/* What a reload cannot change while windows are open: category and
 * counter indexes key the aggregates and the stored windows. */
static int reload_compatible(const struct vg_config *old, const struct vg_config *cfg, char *err, size_t errlen)
{
	bool same = old->categories.n == cfg->categories.n;

	for (size_t i = 0; same && i < cfg->categories.n; i++)
		same = strcmp(old->categories.v[i], cfg->categories.v[i]) == 0;
	if (!same) {
		snprintf(err, errlen,
			 "%s:%d: classify.categories: differs from the running list; categories change only at a "
			 "restart",
			 cfg->source, cfg->categories.line);
		return VG_ERR_CONFIG;
	}
	same = old->n_counters == cfg->n_counters;
	for (size_t i = 0; same && i < cfg->n_counters; i++)
		same = strcmp(old->counters[i].name, cfg->counters[i].name) == 0;
	if (!same) {
		snprintf(err, errlen, "%s:%d: aggregate.counters: names differ from the running ones; counters are "
				      "added, removed or renamed only at a restart",
			 cfg->source, cfg->n_counters ? cfg->counters[0].line : 0);
		return VG_ERR_CONFIG;
	}
	return VG_OK;
}

/* A reload's result applied (closer thread, between window closes):
 * classification, retention and alert rules change together, or, if
 * anything in them is wrong, not at all. The files were read and compiled
 * on the reload's thread (reload.c). */
static void run_reload(struct vg_run *rc, int r, struct gen *g, struct vg_rules *rules, char *err, size_t errlen)
{
	struct vg_pipeline *run = &rc->agg;
	struct gen *cur = atomic_load(&rc->gen);

	if (r == VG_OK)
		r = reload_compatible(run->st.cfg, g->cfg, err, errlen);
	if (r != VG_OK) {
		atomic_fetch_add(&rc->reloads_failed, 1);
		vg_log_kv(VG_LOG_ERROR, "reload", "configuration reload failed; the running configuration stays",
			  VG_LOG_S("error", r == VG_ERR_NOMEM ? "out of memory" : err));
		vg_rules_destroy(rules);
		vg_reload_gen_free(g);
		return;
	}
	size_t ended = 0;

	if (vg_alerts_set_rules(run->alerts, rules, vg_clock_now_ms(), vg_closer_alert, run, &ended) != VG_OK) {
		atomic_fetch_add(&rc->reloads_failed, 1);
		vg_log_kv(VG_LOG_ERROR, "reload", "configuration reload failed; the running configuration stays",
			  VG_LOG_S("error", "out of memory"));
		vg_rules_destroy(rules);
		vg_reload_gen_free(g);
		return;
	}
	g->seq = cur->seq + 1;

	if (run->alerts_out.len)
		vg_closer_flush_alerts(run);
	vg_rules_destroy(run->rules); /* its names belong to cur, freed later */
	run->rules = rules;
	atomic_store_explicit(&rc->gen, g, memory_order_release);
	if (cur != &rc->gen0) {
		cur->next = rc->retired;
		rc->retired = cur;
	}
	atomic_fetch_add(&rc->reloads_ok, 1);
	vg_log_kv(VG_LOG_INFO, "reload", "configuration reloaded", VG_LOG_S("source", g->cfg->source),
		  VG_LOG_I("generation", g->seq), VG_LOG_I("rules", vg_rules_count(rules)),
		  VG_LOG_I("classify_rules", g->cfg->n_rules), VG_LOG_I("alerts_ended", ended));
	vg_log_set_level(rc->log_level_opt >= 0 ? rc->log_level_opt : g->cfg->log_level); /* after the line above, which confirms the reload */
}

/* After the pipeline's teardown: every generation but the stage's. */
static void run_gens_free(struct vg_run *rc)
{
	struct gen *cur = atomic_load(&rc->gen);

	if (cur && cur != &rc->gen0) /* none yet when the start failed early */
		vg_reload_gen_free(cur);
	while (rc->retired) {
		struct gen *g = rc->retired;

		rc->retired = g->next;
		vg_reload_gen_free(g);
	}
	free(rc->wgen);
	rc->wgen = NULL;
}

/* Everything vigil run holds once agg_start has succeeded: the workers'
 * archives still open (a start that failed after open_archives; a normal
 * stop has closed them in run_worker_stop), its output files, the
 * aggregation stage, the generations. */
static void run_release(struct vg_run *rc)
{
	for (unsigned i = 0; rc->agg.workers && i < rc->agg.threads; i++) {
		vg_archive_close(rc->agg.workers[i].archive); /* nothing appended: nothing to report */
		rc->agg.workers[i].archive = NULL;
	}
	if (rc->records)
		fclose(rc->records);
	if (rc->agg.out_fd >= 0 && rc->agg.out_fd != STDOUT_FILENO)
		close(rc->agg.out_fd);
	vg_pipeline_teardown(&rc->agg);
	run_gens_free(rc);
	free(rc->lags);
}

/* Reload counts; any thread. */
static void run_reload_stats(struct vg_run *rc, struct reload_stats *out)
{
	out->ok = atomic_load(&rc->reloads_ok);
	out->failed = atomic_load(&rc->reloads_failed);
}


/* ---- the pipeline's hooks ---- */

static void *run_worker_start(unsigned worker, void *arg)
{
	struct vg_run *rc = arg;

	return worker < rc->agg.threads ? &rc->agg.workers[worker] : NULL;
}

/* The vg_run a worker's pipeline belongs to. */
static struct vg_run *run_of(struct vg_pipeline_worker *w)
{
	return (struct vg_run *)(void *)((char *)w->run - offsetof(struct vg_run, agg));
}

static void run_batch(void *state, const struct vg_kafka_msg *msgs, size_t n)
{
	struct vg_pipeline_worker *w = state;
	struct vg_run *rc = run_of(w);
	struct vg_record rec;
	struct vg_buf raw = {0};
	int reason;

	worker_follow_gen(rc, w);
	vg_wworker_begin(w->ww);
	for (size_t i = 0; i < n; i++) {
		const struct vg_kafka_msg *m = &msgs[i];

		if (!vg_step_parse(w, m->payload, m->len, &rec, &reason)) {
			/* Dead letter: counted by reason, the raw bytes kept in the
			 * archive's dead-letter files, logged at a bounded rate. */
			if (w->archive)
				archive_result(w, vg_archive_dead(w->archive, vg_str_make(m->payload, m->len),
								  vg_json_reason_str(reason), m->topic, m->partition,
								  m->offset, m->ts_ms));
			if (atomic_fetch_add(&rc->dead_logged, 1) < 20)
				vg_log_kv(VG_LOG_WARNING, "ingest", "record rejected",
					  VG_LOG_S("reason", vg_json_reason_str(reason)), VG_LOG_S("topic", m->topic),
					  VG_LOG_I("partition", m->partition), VG_LOG_I("offset", m->offset));
			continue;
		}
		/* ts: the time the windows count it at, which the archive files
		 * it under too: for a skewed record the sane time, never the
		 * forged one (its retention follows). */
		int64_t ts = vg_step_add(w, &rec, m->ts_ms, m->stream);

		if (w->archive)
			archive_result(w, vg_archive_append(w->archive, rec.raw, rec.retention_days,
							    vg_classifier_category_name(w->run->st.classifier,
											rec.category),
							    ts, rec.level, m->topic, m->partition, m->offset));
		if (rc->records) {
			vg_buf_put(&raw, m->payload, m->len);
			vg_buf_putc(&raw, '\n');
		}
	}
	vg_wworker_end(w->ww);
	if (w->archive)
		archive_result(w, vg_archive_sync(w->archive, false, vg_clock_now_ms()));
	vg_health_publish_worker(w);
	if (rc->records && raw.len) {
		pthread_mutex_lock(&rc->records_mu);
		fwrite(raw.p, 1, raw.len, rc->records);
		fflush(rc->records);
		pthread_mutex_unlock(&rc->records_mu);
	}
	vg_buf_free(&raw);
}

/* A partition's state, for the watermark (same order of states). */
static void run_part_state(void *arg, int32_t stream, enum vg_kafka_part_state st)
{
	struct vg_run *rc = arg;
	static const enum vg_wstream to[] = {[VG_KAFKA_PART_GONE] = VG_WSTREAM_GONE,
					     [VG_KAFKA_PART_BEHIND] = VG_WSTREAM_BEHIND,
					     [VG_KAFKA_PART_CAUGHT_UP] = VG_WSTREAM_CAUGHT_UP};

	pthread_mutex_lock(&rc->close_mu);
	vg_windows_stream_set(rc->agg.win, stream, to[st]);
	pthread_mutex_unlock(&rc->close_mu);
}

static void run_worker_stop(void *state)
{
	struct vg_pipeline_worker *w = state;

	vg_wworker_finish(w->ww);
	if (w->archive) {
		vg_archive_get_stats(w->archive, &w->archive_stats);
		archive_result(w, vg_archive_close(w->archive)); /* renames the .part files */
		w->archive = NULL;
	}
}

static void run_idle(void *state)
{
	struct vg_pipeline_worker *w = state;

	worker_follow_gen(run_of(w), w);
	if (w->archive)
		archive_result(w, vg_archive_sync(w->archive, false, vg_clock_now_ms()));
	vg_health_publish_worker(w);
}

static void run_sync(void *state)
{
	struct vg_pipeline_worker *w = state;

	if (w->archive)
		archive_result(w, vg_archive_sync(w->archive, true, vg_clock_now_ms()));
}

/* Backpressure from the archive: a worker whose archive cannot be written
 * (disk full) takes no more records, which would only pile up in memory,
 * until a forced sync succeeds; each call is one retry. Published, so
 * /ready keeps saying why. */
static bool run_stalled(void *state)
{
	struct vg_pipeline_worker *w = state;

	if (!w->archive || w->archive_err == VG_OK)
		return false;
	archive_result(w, vg_archive_sync(w->archive, true, vg_clock_now_ms()));
	vg_health_publish_worker(w);
	return w->archive_err != VG_OK;
}

static size_t run_durable(void *state, const struct vg_offset **out)
{
	struct vg_pipeline_worker *w = state;

	return w->archive ? vg_archive_durable(w->archive, out) : 0;
}

/* The poller's per-partition lags, kept for /metrics (under lag_mu). */
static void keep_lag(void *arg, const char *topic, int32_t partition, int64_t lag)
{
	struct vg_run *rc = arg;

	if (vg_grow(&rc->lags, &rc->cap_lags, rc->n_lags + 1, sizeof(*rc->lags), 16) != 0)
		return;
	struct vg_metrics_lag *l = &rc->lags[rc->n_lags++];

	snprintf(l->topic, sizeof(l->topic), "%s", topic);
	l->partition = partition;
	l->lag = lag;
}

/* The Kafka poller's tick: the lag per partition for /metrics (every tick,
 * as fresh as the pages), and the total of owned partitions once a second.
 * Everything else the closer's thread does. */
static void run_tick(void *arg)
{
	struct vg_run *rc = arg;
	int64_t now = vg_clock_now_ms();

	if (rc->http) {
		pthread_mutex_lock(&rc->lag_mu);
		rc->n_lags = 0;
		vg_kafka_lag_each(rc->kafka, keep_lag, rc);
		pthread_mutex_unlock(&rc->lag_mu);
	}
	if (now - rc->lag_last_ms < 1000)
		return;
	size_t parts;
	int64_t lag = vg_kafka_lag(rc->kafka, &parts);

	if (lag > rc->lag_max)
		rc->lag_max = lag;
	atomic_store(&rc->lag_now, lag);
	rc->lag_last_ms = now;
}

/* One round of the closer: a reload asked for, the generations no worker
 * uses, the windows due with their rows, rules and alerts, the pages. */
static void closer_round(struct vg_run *rc)
{
	double t0 = vg_clock_mono_s();

	struct gen *g;
	struct vg_rules *rules;
	char err[1024];
	int r;

	if (reload_requested) {
		reload_requested = 0;
		vg_reload_ask(rc->reload);
	}
	if (vg_reload_take(rc->reload, &r, &g, &rules, err, sizeof(err)))
		run_reload(rc, r, g, rules, err, sizeof(err));
	gens_collect(rc);
	pthread_mutex_lock(&rc->close_mu);
	vg_closer_close(&rc->agg, false, CLOSE_EVERY_MS);
	pthread_mutex_unlock(&rc->close_mu);
	if (rc->http)
		vg_health_tick(rc, vg_clock_mono_s() - t0);
	if (rc->on_tick) {
		struct vg_kafka_stats ks;
		struct vg_windows_stats ws;
		struct vg_run_status st = {.http_addr = rc->http ? rc->http->addr : NULL,
					   .lag = atomic_load(&rc->lag_now)};

		vg_kafka_get_stats(rc->kafka, &ks);
		vg_windows_get_stats(rc->agg.win, &ws);
		st.messages = ks.messages;
		st.windows_closed = ws.closed;
		st.watermark_ms = ws.watermark_ms;
		if (rc->agg.alerts)
			vg_alerts_counts(rc->agg.alerts, &st.alerts_pending, &st.alerts_firing);
		rc->on_tick(&st, rc->on_tick_arg);
	}
}

/* The closer's thread: a round every CLOSE_EVERY_MS until told to stop. */
static void *closer_main(void *arg)
{
	struct vg_run *rc = arg;
	struct timespec ts = {0, CLOSE_EVERY_MS * 1000000L};

	while (!atomic_load(&rc->closer_stop)) {
		closer_round(rc);
		nanosleep(&ts, NULL); /* a pace, not a wait for anything */
	}
	return NULL;
}

/* One archive writer per worker, from the archive section. */
static int open_archives(struct vg_pipeline *run)
{
	const struct vg_config *cfg = run->st.cfg;
	char instance[256], err[512];

	if (strcmp(cfg->archive_instance, "auto") == 0) {
		char host[200] = "vigil";

		gethostname(host, sizeof(host) - 1);
		host[sizeof(host) - 1] = '\0';
		snprintf(instance, sizeof(instance), "%s-%ld", host, (long)getpid());
	} else {
		snprintf(instance, sizeof(instance), "%s", cfg->archive_instance);
	}
	struct vg_archive_params p = {.dir = cfg->archive_dir, .instance = instance, .level = (int)cfg->archive_level,
				      .flush_bytes = cfg->archive_flush_bytes, .flush_ms = cfg->archive_flush_ms,
				      .rotate_bytes = cfg->archive_rotate_bytes};

	for (unsigned i = 0; i < run->threads; i++) {
		if (vg_archive_open(&run->workers[i].archive, &p, i, err, sizeof(err)) != VG_OK) {
			fprintf(stderr, "vigil run: %s\n", err);
			return VG_ERR_IO;
		}
	}
	return VG_OK;
}

/* The librdkafka properties, consumer's and alert producer's, as
 * vg_kafka_open and vg_notify_create apply them: vigil config --check and
 * vigil run refuse them alike, at their lines. */
static int check_kafka_properties(const struct vg_config *cfg, char *errbuf, size_t errlen)
{
	struct vg_notify_params np = {
		.kafka_topic = strcmp(cfg->notify_kafka_topic, "off") ? cfg->notify_kafka_topic : NULL,
		.kafka_properties = (const char *const *)cfg->notify_kafka_properties.v,
		.n_kafka_properties = cfg->notify_kafka_properties.n,
		.kafka_property_lines = cfg->notify_kafka_properties.lines,
		.source = cfg->source,
	};
	int rc = vg_kafka_check(cfg, errbuf, errlen);

	return rc == VG_OK ? vg_notify_kafka_check(&np, errbuf, errlen) : rc;
}

/* A stop asked for during start-up: nothing is consumed yet, so nothing
 * is to drain or commit; said, and the start given up (exit 0, as a
 * stop). */
static bool stopped_at_start(const char *phase)
{
	if (!vg_stop_requested())
		return false;
	vg_log_kv(VG_LOG_INFO, "run", "stopped during start-up", VG_LOG_S("phase", phase));
	return true;
}

/* The soft descriptor limit raised to the hard one (at most 2^20): a
 * service manager's default soft limit (systemd: 1024) would leave the
 * HTTP server a quarter of it (sink/http.h) and share the rest with the
 * Kafka sockets and the archives. */
#define FD_LIMIT_MAX 1048576

static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > FD_LIMIT_MAX ? FD_LIMIT_MAX : rl.rlim_max;

	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rlim_t was = rl.rlim_cur;

		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			vg_log_kv(VG_LOG_WARNING, "run", "cannot raise the open file limit", VG_LOG_I("soft", was),
				  VG_LOG_I("hard", rl.rlim_max), VG_LOG_S("error", strerror(errno)));
	}
}

/* vg_run_main, but for the watchdog's disarming. */
static int run_main(const struct vg_run_opts *o)
{
	struct vg_run rc;
	const char *config_path = o->config_path, *windows_path = o->windows_path, *records_path = o->records_path;
	const char *brokers = o->brokers, *group = o->group, *archive_dir = o->archive_dir;
	const char *const *topics = o->topics;
	size_t n_topics = o->n_topics;
	long workers = o->workers;
	bool exit_at_end = o->exit_at_end;
	int status = VG_EXIT_OK, log_level = o->log_level;
	char err[1024];

	memset(&rc, 0, sizeof(rc));
	rc.agg.out_fd = STDOUT_FILENO;
	rc.agg.alerts_path = o->alerts_path;
	rc.on_tick = o->on_tick;
	rc.on_tick_arg = o->on_tick_arg;
	if (workers == 0 || workers > MAX_THREADS) {
		fprintf(stderr, "vigil run: --workers: 1 to %d\n", MAX_THREADS);
		return VG_EXIT_USAGE;
	}
	struct vg_config_overrides ov = {.brokers = brokers, .group = group, .archive_dir = archive_dir,
					 .http_listen = o->http_listen, .outbox_dir = o->outbox_dir,
					 .topics = topics, .n_topics = n_topics,
					 .workers = workers > 0 ? (unsigned)workers : 0, .lateness_ms = o->lateness_ms,
					 .skew_behind_ms = o->skew_behind_ms,
					 .shutdown_timeout_ms = o->shutdown_timeout_ms};
	struct vg_config *cfg;
	int r = vg_config_load_overridden(&cfg, config_path, &ov, err, sizeof(err));

	if (r == VG_ERR_NOMEM) {
		fprintf(stderr, "vigil run: out of memory\n");
		return VG_EXIT_IO;
	}
	if (r != VG_OK) {
		fprintf(stderr, "vigil: %s\n", err);
		return VG_EXIT_CONFIG;
	}
	/* From here on, a stop signal in any phase of the start-up asks for a
	 * graceful stop, and the watchdog ends the process if that takes longer
	 * than kafka.shutdown_timeout from the signal: a phase that does not
	 * come back (a subscribe that spins) cannot keep vigil from stopping.
	 * Before it (the configuration read, bounded to 1 MiB), the signal's
	 * default action ends the process at once. SIGHUP is caught as early:
	 * its default would end the process too; the reload it asks for is
	 * made once the closer runs. */
	vg_stop_catch();
	raise_fd_limit();
	struct sigaction hup = {.sa_handler = on_reload_signal, .sa_flags = SA_RESTART};

	sigemptyset(&hup.sa_mask);
	sigaction(SIGHUP, &hup, NULL);
	if (vg_stop_watchdog_arm(cfg->shutdown_timeout_ms) != VG_OK) {
		fprintf(stderr, "vigil run: cannot start the shutdown watchdog's thread\n");
		vg_config_free(cfg);
		return VG_EXIT_IO;
	}
	if (vg_stage_open(&rc.agg.st, cfg, err, sizeof(err)) != VG_OK) {
		fprintf(stderr, "vigil: %s\n", err);
		return VG_EXIT_CONFIG;
	}
	if ((r = check_kafka_properties(cfg, err, sizeof(err))) != VG_OK) {
		fprintf(stderr, "vigil: %s\n", r == VG_ERR_NOMEM ? "out of memory" : err);
		vg_stage_close(&rc.agg.st);
		return r == VG_ERR_NOMEM ? VG_EXIT_IO : VG_EXIT_CONFIG;
	}
	vg_log_set_level(log_level >= 0 ? log_level : cfg->log_level);
	rc.agg.threads = vg_config_workers(cfg);
	rc.agg.no_chunk_threads = true;
	rc.agg.store_always = true;
	rc.agg.catch_up_ms = cfg->notify_catch_up_ms;
	rc.agg.quiet = windows_path == NULL;
	if (stopped_at_start("configuration")) {
		vg_stage_close(&rc.agg.st);
		return VG_EXIT_OK;
	}
	/* The rules first: a configuration refused must not have truncated
	 * the output files of the last good run. */
	if ((status = vg_pipeline_start(&rc.agg, 0, "run")) != VG_EXIT_OK)
		return stopped_at_start("rules and notifiers") ? VG_EXIT_OK : status;
	if (windows_path && strcmp(windows_path, "-") != 0 &&
	    (rc.agg.out_fd = open(windows_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		/* A FIFO's open waits for a reader; a signal interrupts it. */
		bool stopped = errno == EINTR && stopped_at_start("--windows");

		if (!stopped)
			fprintf(stderr, "vigil run: %s: %s\n", windows_path, strerror(errno));
		run_release(&rc);
		return stopped ? VG_EXIT_OK : VG_EXIT_IO;
	}
	if (records_path && !(rc.records = fopen(records_path, "w"))) {
		bool stopped = errno == EINTR && stopped_at_start("--records");

		if (!stopped)
			fprintf(stderr, "vigil run: %s: %s\n", records_path, strerror(errno));
		run_release(&rc);
		return stopped ? VG_EXIT_OK : VG_EXIT_IO;
	}
	pthread_mutex_init(&rc.records_mu, NULL);
	pthread_mutex_init(&rc.lag_mu, NULL);
	pthread_mutex_init(&rc.close_mu, NULL);
	rc.config_path = config_path;
	rc.log_level_opt = log_level;
	rc.gen0.classifier = rc.agg.st.classifier;
	atomic_store(&rc.gen, &rc.gen0);
	if (!(rc.wgen = calloc(rc.agg.threads, sizeof(*rc.wgen)))) {
		fprintf(stderr, "vigil run: out of memory\n");
		run_release(&rc);
		return VG_EXIT_IO;
	}
	for (unsigned i = 0; i < rc.agg.threads; i++)
		rc.wgen[i].gen = &rc.gen0;
	bool archiving = strcmp(cfg->archive_dir, "off") != 0;

	if (archiving && open_archives(&rc.agg) != VG_OK) {
		run_release(&rc);
		return VG_EXIT_IO;
	}
	if (stopped_at_start("outputs")) {
		run_release(&rc);
		return VG_EXIT_OK;
	}
	struct vg_kafka_handler h = {.worker_start = run_worker_start, .batch = run_batch,
				     .worker_stop = run_worker_stop, .worker_idle = run_idle,
				     .durable = archiving ? run_durable : NULL, .sync = archiving ? run_sync : NULL,
				     .stalled = archiving ? run_stalled : NULL,
				     .part_state = run_part_state,
				     .arg = &rc};
	struct vg_kafka *k;

	r = vg_kafka_open(&k, cfg, &h, err, sizeof(err));

	if (r != VG_OK) {
		fprintf(stderr, "vigil run: %s\n", r == VG_ERR_NOMEM ? "out of memory" : err);
		run_release(&rc);
		return r == VG_ERR_CONFIG ? VG_EXIT_CONFIG : VG_EXIT_IO;
	}
	rc.kafka = k;
	if ((r = vg_health_start(&rc, o->http_listen != NULL)) != VG_OK) {
		vg_kafka_close(k);
		run_release(&rc);
		return r == VG_ERR_CONFIG ? VG_EXIT_CONFIG : VG_EXIT_IO;
	}
	if (stopped_at_start("consumer")) {
		vg_health_stop(&rc);
		vg_kafka_close(k);
		run_release(&rc);
		return VG_EXIT_OK;
	}
	/* A stop during the subscribe (vg_kafka_run's first step) ends the
	 * loop before it polls: the graceful stop below, with nothing read. */
	double t0 = vg_clock_mono_s();

	if (vg_reload_start(&rc.reload, rc.config_path, cfg->window_ms) == VG_OK)
		rc.closer_started = pthread_create(&rc.closer, NULL, closer_main, &rc) == 0;
	if (!rc.closer_started) {
		fprintf(stderr, "vigil run: cannot start the closer's threads\n");
		status = VG_EXIT_IO;
	} else if (vg_kafka_run(k, vg_stop_flag(), exit_at_end, run_tick, &rc) != VG_OK) {
		status = VG_EXIT_IO;
	}
	/* Graceful stop, bounded by the watchdog: asked for here when the loop
	 * ended for another reason than a signal (the end of the topics, a
	 * fatal consumer error). */
	vg_stop_request();
	char committed[16384], extra[17000], why[512];

	size_t lag_parts;
	int64_t lag_end = vg_kafka_lag(k, &lag_parts); /* while the partitions are still ours */

	vg_log(VG_LOG_DEBUG, "run", "stopping: the closer's last round");
	atomic_store(&rc.closer_stop, true);
	if (rc.closer_started)
		pthread_join(rc.closer, NULL);
	vg_reload_stop(rc.reload);
	rc.reload = NULL;
	vg_log(VG_LOG_DEBUG, "run", "stopping: leaving the consumer group");
	if (vg_kafka_stop(k, committed, sizeof(committed)) != VG_OK)
		status = VG_EXIT_IO;
	for (unsigned i = 0; i < rc.agg.threads; i++) {
		/* The workers are joined: their last archive result is final. */
		if (rc.agg.workers[i].archive_err != VG_OK) {
			vg_log_kv(VG_LOG_ERROR, "run",
				  "stopped with records the archive could not write; their offsets were not committed "
				  "and the next start reads them again",
				  VG_LOG_I("worker", i),
				  VG_LOG_S("error", vg_archive_error_str(rc.agg.workers[i].archive_err,
									 rc.agg.workers[i].archive_stats.error_errno,
									 cfg->archive_dir, why, sizeof(why))));
			status = VG_EXIT_IO;
		}
	}
	vg_log(VG_LOG_DEBUG, "run", "stopping: closing the last windows");
	vg_closer_close(&rc.agg, true, CLOSE_EVERY_MS);
	vg_log(VG_LOG_DEBUG, "run", "stopping: windows closed");
	if (vg_buf_write_fd(&rc.agg.out, rc.agg.out_fd) != VG_OK)
		status = VG_EXIT_IO;
	struct vg_kafka_stats ks;

	vg_kafka_get_stats(k, &ks);
	rc.agg.bytes = ks.bytes;
	struct vg_archive_stats as = {0};

	for (unsigned i = 0; i < rc.agg.threads; i++) {
		const struct vg_archive_stats *w = &rc.agg.workers[i].archive_stats;

		as.records += w->records;
		as.dead += w->dead;
		as.frames += w->frames;
		as.files += w->files;
		as.bytes_in += w->bytes_in;
		as.bytes_out += w->bytes_out;
		as.write_errors += w->write_errors;
	}
	snprintf(extra, sizeof(extra), ",\"archive\":{\"records\":%llu,\"dead\":%llu,\"frames\":%llu,\"files\":%llu,"
				       "\"bytes_in\":%llu,\"bytes_out\":%llu,\"write_errors\":%llu}"
				       ",\"kafka_errors\":%llu,\"skipped_revoked\":%llu,\"offsets_deleted\":%llu,"
				       "\"rebalances\":%llu,"
				       "\"commits\":%llu,\"commits_failed\":%llu,\"pauses\":%llu,"
				       "\"consume_seconds\":%.6f,\"lag_max\":%lld,\"lag_end\":%lld,\"committed\":{%s}",
		 (unsigned long long)as.records, (unsigned long long)as.dead, (unsigned long long)as.frames,
		 (unsigned long long)as.files, (unsigned long long)as.bytes_in, (unsigned long long)as.bytes_out,
		 (unsigned long long)as.write_errors, (unsigned long long)ks.errors, (unsigned long long)ks.skipped,
		 (unsigned long long)ks.deleted, (unsigned long long)ks.rebalances, (unsigned long long)ks.commits,
		 (unsigned long long)ks.commits_failed,
		 (unsigned long long)ks.pauses, ks.busy_seconds,
		 (long long)rc.lag_max, (long long)lag_end, committed);
	struct reload_stats rs;
	size_t el = strlen(extra);

	run_reload_stats(&rc, &rs);
	snprintf(extra + el, sizeof(extra) - el, ",\"reloads\":{\"ok\":%llu,\"failed\":%llu}",
		 (unsigned long long)rs.ok, (unsigned long long)rs.failed);
	if (o->result) {
		o->result->archive = as;
		o->result->kafka = ks;
		memcpy(o->result->alerts_by_state, rc.agg.alerts_by_state, sizeof(o->result->alerts_by_state));
		o->result->seconds = vg_clock_mono_s() - t0;
	}
	vg_pipeline_summary(&rc.agg, vg_clock_mono_s() - t0, extra);
	vg_health_stop(&rc);
	vg_kafka_close(k);
	run_release(&rc);
	return status;
}


int vg_run_main(const struct vg_run_opts *o)
{
	int status = run_main(o);

	vg_stop_watchdog_disarm();
	return status;
}

int vg_run_check(const char *config_path, char *errbuf, size_t errlen)
{
	struct vg_config *cfg;
	struct vg_stage st;
	struct vg_rules *rules;
	const char **names;
	int rc;

	if ((rc = vg_config_load(&cfg, config_path, errbuf, errlen)) != VG_OK)
		return rc;
	if ((rc = vg_stage_open(&st, cfg, errbuf, errlen)) != VG_OK)
		return rc == VG_ERR_NOMEM ? rc : VG_ERR_CONFIG;
	if (!vg_sketch_map_get(cfg->accuracy)) {
		snprintf(errbuf, errlen, "aggregate.accuracy %g is finer than the sketch supports", cfg->accuracy);
		rc = VG_ERR_CONFIG;
		goto out_close;
	}
	if ((rc = check_kafka_properties(cfg, errbuf, errlen)) != VG_OK)
		goto out_close;
	if ((rc = vg_rules_load_config(&rules, cfg, cfg->window_ms, &names, errbuf, errlen)) != VG_OK) {
		rc = rc == VG_ERR_NOMEM ? rc : VG_ERR_CONFIG;
		goto out_close;
	}
	vg_rules_destroy(rules);
	free(names);
out_close:
	vg_stage_close(&st);
	return rc;
}

/* vigil: vigil run's HTTP endpoints (see pipeline_internal.h).
 *
 * The closer thread reads what the workers publish, the Kafka module's
 * atomic counters and its own state (windows, alerts, notifiers) into a
 * vg_metrics_run, renders /health, /ready, /metrics and /alerts from it
 * (sink/metrics.h) and hands them to the server thread (sink/http.h).
 * Workers only store their own counters. */
#include "pipeline/pipeline_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "parse/json.h"
#include "sink/http.h"

#define HTTP_PUBLISH_MS 1000

void vg_health_publish_worker(struct vg_pipeline_worker *w)
{
	struct worker_pub *p = &w->pub;

	PUB_STORE(p->records, w->records);
	PUB_STORE(p->rejected, w->rejected);
	for (int r = 0; r < VG_JR_COUNT; r++)
		PUB_STORE(p->by_reason[r], w->by_reason[r]);
	PUB_STORE(p->regex_limit, worker_classify_stats(w).regex_limit);
	if (w->archive) {
		struct vg_archive_stats as;

		vg_archive_get_stats(w->archive, &as);
		PUB_STORE(p->archive_records, as.records);
		PUB_STORE(p->archive_dead, as.dead);
		PUB_STORE(p->frames, as.frames);
		PUB_STORE(p->files, as.files);
		PUB_STORE(p->bytes_in, as.bytes_in);
		PUB_STORE(p->bytes_out, as.bytes_out);
		PUB_STORE(p->fsyncs, as.fsyncs);
		PUB_STORE(p->write_errors, as.write_errors);
		PUB_STORE(p->unkept, as.unkept);
		PUB_STORE(p->sync_points, as.sync_points);
		PUB_STORE(p->sync_ns, (uint64_t)(as.sync_seconds * 1e9));
		PUB_STORE(p->archive_errno, as.error_errno);
	}
	PUB_STORE(p->archive_err, w->archive_err);
	PUB_STORE(p->alive_ms, mono_ms());
}

/* A closed window (closer thread): its metrics, and its records by level
 * and category for the cumulative counters. */
static void http_window(void *arg, struct vg_window *win)
{
	struct vg_run *rc = arg;
	struct vg_health *h = rc->http;
	size_t n = vg_table_size(win->table);

	h->window.len = 0;
	vg_metrics_window(&h->window, win, &h->names, rc->agg.exact);
	for (size_t i = 0; i < n; i++) {
		const struct vg_table_entry *e = vg_table_entry(win->table, i);

		if (e->key.kind != VG_TABLE_LOG)
			continue;
		h->by_level[e->key.level < VG_LEVEL_COUNT ? e->key.level : 0] += e->count;
		h->by_category[e->key.category] += e->count;
	}
	h->window_closed = true;
}

static void put_alert(void *arg, const struct vg_alert *al)
{
	struct vg_buf *b = arg;

	if (b->len && b->p[b->len - 1] != '[')
		vg_buf_putc(b, ',');
	vg_alert_json(al, b);
}

/* Gather the figures (closer thread). */
static void http_gather(struct vg_run *rc, struct vg_metrics_run *m)
{
	struct vg_health *h = rc->http;
	const struct vg_config *cfg = rc->agg.st.cfg;
	int64_t now = mono_ms();
	struct vg_kafka_stats ks;
	struct vg_windows_stats ws;
	struct vg_epcap_stats eps;
	struct vg_notify_stats ns = {0};
	struct vg_http_stats hs;
	size_t pending = 0, firing = 0;

	memset(m, 0, sizeof(*m));
	for (unsigned i = 0; i < rc->agg.threads; i++) {
		struct worker_pub *p = &rc->agg.workers[i].pub;
		int e = PUB_LOAD(p->archive_err);

		h->silent_ms[i] = now - PUB_LOAD(p->alive_ms);
		m->records += PUB_LOAD(p->records);
		m->parsed += PUB_LOAD(p->records) - PUB_LOAD(p->rejected);
		for (int r = 0; r < VG_JR_COUNT && r < VG_METRICS_MAX_REASONS; r++)
			m->rejected[r] += PUB_LOAD(p->by_reason[r]);
		m->regex_limit_hits += PUB_LOAD(p->regex_limit);
		m->archive_records += PUB_LOAD(p->archive_records);
		m->archive_dead += PUB_LOAD(p->archive_dead);
		m->frames += PUB_LOAD(p->frames);
		m->files += PUB_LOAD(p->files);
		m->archive_bytes_in += PUB_LOAD(p->bytes_in);
		m->archive_bytes_out += PUB_LOAD(p->bytes_out);
		m->fsyncs += PUB_LOAD(p->fsyncs);
		m->write_errors += PUB_LOAD(p->write_errors);
		m->archive_unkept += PUB_LOAD(p->unkept);
		m->sync_points += PUB_LOAD(p->sync_points);
		m->sync_seconds += (double)PUB_LOAD(p->sync_ns) / 1e9;
		if (e != VG_OK)
			m->archive_error = vg_archive_error_str(e, PUB_LOAD(p->archive_errno), cfg->archive_dir,
								 h->archive_error, sizeof(h->archive_error));
	}
	m->n_workers = rc->agg.threads;
	m->worker_silent_ms = h->silent_ms;
	m->reloads_ok = atomic_load(&rc->reloads_ok);
	m->reloads_failed = atomic_load(&rc->reloads_failed);
	vg_http_stats(h->srv, &hs);
	m->http_open = hs.open;
	m->http_timed_out = hs.timed_out;
	m->http_evicted = hs.evicted;
	/* Reason 0 is "ok": the rest, by the parser's names. */
	for (int r = 1; r < VG_JR_COUNT && r < VG_METRICS_MAX_REASONS; r++) {
		m->reason_names[m->n_reasons] = vg_json_reason_str(r);
		m->rejected[m->n_reasons++] = m->rejected[r];
	}
	vg_windows_get_stats(rc->agg.win, &ws);
	m->aggregated = ws.records;
	m->late = ws.late;
	m->no_time = ws.no_time;
	m->skewed_ahead = ws.skewed_ahead;
	m->skewed_behind = ws.skewed_behind;
	for (int r = 0; r < VG_DURATION_ERR_COUNT && r < VG_METRICS_DURATION_REASONS; r++) {
		m->duration_reason_names[r] = vg_windows_duration_err_str(r);
		m->durations_rejected[r] = ws.duration_err[r];
	}
	m->watermark_behind_newest_ms = watermark_behind(ws.last_watermark_ms, ws.newest_ms);
	m->watermark_behind_clock_ms = watermark_behind(ws.last_watermark_ms, vg_clock_now_ms());
	m->windows_closed = ws.closed;
	m->keys_overflow = ws.overflow;
	m->watermark_ms = ws.watermark_ms;
	memcpy(m->by_level, h->by_level, sizeof(m->by_level));
	m->category_names = h->names.categories;
	m->by_category = h->by_category;
	m->n_categories = h->names.n_categories < 256 ? h->names.n_categories : 256;
	m->close_seconds = h->close_seconds;
	m->closes = h->closes;
	m->store_bytes = vg_wstore_bytes(rc->agg.store); /* the closer's, like this */
	vg_wstore_endpoints(rc->agg.store, &eps);
	m->store_endpoints = eps.known;
	m->store_folded_cap = eps.folded_cap;
	m->store_folded_404 = eps.folded_404;
	m->archive_dir = cfg->archive_dir;
	vg_kafka_get_stats(rc->kafka, &ks);
	m->group = cfg->kafka_group;
	m->bytes = ks.bytes;
	m->messages = ks.messages;
	m->skipped = ks.skipped;
	m->offsets_deleted = ks.deleted;
	m->kafka_errors = ks.errors;
	m->rebalances = ks.rebalances;
	m->commits = ks.commits;
	m->commits_failed = ks.commits_failed;
	m->pauses = ks.pauses;
	m->paused = ks.paused;
	m->joined = ks.joined;
	m->owned = ks.owned;
	/* Nothing processed since the last commit: nothing waits for one. */
	m->commit_age_ms = ks.last_commit_ms && !ks.commit_current ? vg_clock_now_ms() - ks.last_commit_ms : 0;
	/* The poller's last measure of the lag per partition. */
	pthread_mutex_lock(&rc->lag_mu);
	h->n_lags = 0;
	if (rc->n_lags && vg_grow(&h->lags, &h->cap_lags, rc->n_lags, sizeof(*h->lags), 16) == 0) {
		memcpy(h->lags, rc->lags, rc->n_lags * sizeof(*h->lags));
		h->n_lags = rc->n_lags;
	}
	pthread_mutex_unlock(&rc->lag_mu);
	m->lags = h->lags;
	m->n_lags = h->n_lags;
	if (rc->agg.alerts)
		vg_alerts_counts(rc->agg.alerts, &pending, &firing);
	m->alerts_pending = pending;
	m->alerts_firing = firing;
	memcpy(m->transitions, rc->agg.alerts_by_state, sizeof(m->transitions));
	if (rc->agg.notify)
		vg_notify_get_stats(rc->agg.notify, &ns);
	m->n_notifiers = ns.n < VG_METRICS_MAX_NOTIFIERS ? ns.n : VG_METRICS_MAX_NOTIFIERS;
	for (size_t i = 0; i < m->n_notifiers; i++) {
		memcpy(m->notifier[i], ns.name[i], sizeof(m->notifier[i]));
		m->sent[i] = ns.sent[i];
		m->resent[i] = ns.resent[i];
		m->retried[i] = ns.retried[i];
		m->failed[i] = ns.failed[i];
		m->dropped[i] = ns.dropped[i];
		m->outbox[i] = ns.pending[i];
		if (!ns.failing[i])
			h->failing_since[i] = 0;
		else if (!h->failing_since[i])
			h->failing_since[i] = now;
		m->failing_ms[i] = h->failing_since[i] ? now - h->failing_since[i] + 1 : 0;
	}
}

static void http_publish(struct vg_run *rc)
{
	struct vg_health *h = rc->http;
	struct vg_buf *b = &h->page;
	struct vg_metrics_run m;
	bool ok;

	http_gather(rc, &m);
	b->len = 0;
	ok = vg_metrics_health(b, &m, &h->bounds);
	vg_http_publish(h->srv, "/health", ok ? 200 : 503, "application/json", b->p, b->len, h->bounds.stall_ms);
	b->len = 0;
	ok = vg_metrics_ready(b, &m, &h->bounds);
	vg_http_publish(h->srv, "/ready", ok ? 200 : 503, "application/json", b->p, b->len, h->bounds.stall_ms);
	b->len = 0;
	vg_metrics_run(b, &m);
	vg_buf_put(b, h->window.p, h->window.len);
	vg_http_publish(h->srv, "/metrics", 200, VG_METRICS_CONTENT_TYPE, b->p, b->len, 0);
	b->len = 0;
	/* catching_up: the alerts firing here were decided on a backlog and
	 * are not sent yet (see notify.catch_up). */
	vg_buf_puts(b, rc->agg.catching_up ? "{\"catching_up\":true,\"alerts\":[" : "{\"catching_up\":false,\"alerts\":[");
	if (rc->agg.alerts)
		vg_alerts_each(rc->agg.alerts, put_alert, b);
	vg_buf_puts(b, "]}\n");
	vg_http_publish(h->srv, "/alerts", 200, "application/json", b->p, b->len, 0);
	h->last_publish_ms = mono_ms();
	h->window_closed = false;
}

/* On the closer thread after each close round (close_s: its duration). */
void vg_health_tick(struct vg_run *rc, double close_s)
{
	struct vg_health *h = rc->http;

	if (h->window_closed) {
		h->close_seconds += close_s;
		h->closes++;
	}
	if (h->window_closed || mono_ms() - h->last_publish_ms >= HTTP_PUBLISH_MS)
		http_publish(rc);
}

/* Start the server of http.listen (unless off) and publish the first pages.
 * An address set in the file or with --http (chosen) that cannot be bound
 * stops vigil run; the default one taken already (another instance on
 * this host) is a warning, and vigil runs without the endpoints. Returns 0,
 * or VG_ERR_CONFIG / VG_ERR_IO / VG_ERR_NOMEM (said on stderr). */
int vg_health_start(struct vg_run *rc, bool chosen)
{
	const struct vg_config *cfg = rc->agg.st.cfg;
	struct vg_health *h;
	char host[64], bound[96], err[512];
	unsigned port;
	int r;

	if (strcmp(cfg->http_listen, "off") == 0)
		return VG_OK;
	if (!vg_config_parse_listen(cfg->http_listen, host, sizeof(host), &port)) {
		fprintf(stderr, "vigil run: --http: '%s' is not HOST:PORT (an IPv4 address or localhost) or off\n",
			cfg->http_listen);
		return VG_ERR_CONFIG;
	}
	if (!(h = calloc(1, sizeof(*h))))
		return VG_ERR_NOMEM;
	h->bounds = (struct vg_metrics_bounds){.stall_ms = cfg->http_stall_ms,
					       .commit_age_ms = cfg->http_commit_age_ms,
					       .notify_failing_ms = cfg->http_notify_failing_ms};
	h->names = (struct vg_metrics_names){.categories = (const char *const *)cfg->categories.v,
					     .n_categories = cfg->categories.n,
					     .counters = rc->agg.counter_names,
					     .n_counters = cfg->n_counters};
	for (unsigned i = 0; i < rc->agg.threads; i++)
		PUB_STORE(rc->agg.workers[i].pub.alive_ms, mono_ms()); /* not started yet is not stuck */
	if ((r = vg_http_start(&h->srv, host, port, NULL, bound, sizeof(bound), err, sizeof(err))) != VG_OK) {
		free(h);
		if (r == VG_ERR_IO && !chosen && cfg->http_listen_line == 0) {
			vg_log_kv(VG_LOG_WARNING, "http",
				  "no HTTP endpoints: the default address is taken; set http.listen",
				  VG_LOG_S("error", err));
			return VG_OK;
		}
		fprintf(stderr, "vigil run: %s\n", err);
		return r;
	}
	snprintf(h->addr, sizeof(h->addr), "%s", bound);
	rc->http = h;
	http_publish(rc);
	rc->agg.on_window = http_window;
	rc->agg.on_window_arg = rc;
	vg_log_kv(VG_LOG_INFO, "http", "http listening", VG_LOG_S("address", bound));
	return VG_OK;
}

void vg_health_stop(struct vg_run *rc)
{
	struct vg_health *h = rc->http;

	if (!h)
		return;
	rc->agg.on_window = NULL;
	vg_http_stop(h->srv);
	vg_buf_free(&h->window);
	vg_buf_free(&h->page);
	free(h->lags);
	free(h);
	rc->http = NULL;
}

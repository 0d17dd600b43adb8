/* vigil: the closer (see pipeline_internal.h): closed windows become rows
 * (unless quiet), store entries and rule evaluations; alert changes go to
 * the notifiers and to --alerts. vigil run's catch-up holds back alerts
 * decided on a backlog (notify.catch_up). */
#include "pipeline/pipeline_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "parse/classify.h"

static void put_label(struct vg_buf *b, const char *key, vg_str v)
{
	vg_buf_puts(b, ",\"");
	vg_buf_puts(b, key);
	vg_buf_puts(b, "\":");
	vg_buf_put_json_str_or_null(b, v);
}

/* Quantiles and rates printed with 6 significant digits: far finer than
 * the sketch's accuracy, and stable to compare. */
static void put_num(struct vg_buf *b, double v)
{
	char tmp[32];

	if (isnan(v) || isinf(v)) {
		vg_buf_puts(b, "null");
		return;
	}
	vg_buf_put(b, tmp, (size_t)snprintf(tmp, sizeof(tmp), "%.6g", v));
}

static int cmp_str(vg_str a, vg_str b)
{
	size_t n = a.len < b.len ? a.len : b.len;
	int c = n ? memcmp(a.p, b.p, n) : 0;

	return c ? c : (a.len > b.len) - (a.len < b.len);
}

static int cmp_entry(const void *x, const void *y)
{
	const struct vg_table_key *a = &(*(struct vg_table_entry *const *)x)->key;
	const struct vg_table_key *b = &(*(struct vg_table_entry *const *)y)->key;
	int c;

	if (a->kind != b->kind)
		return a->kind - b->kind;
	if ((c = cmp_str(a->service, b->service)) != 0)
		return c;
	if ((c = cmp_str(a->endpoint, b->endpoint)) != 0)
		return c;
	if ((c = cmp_str(a->method, b->method)) != 0)
		return c;
	if (a->category != b->category)
		return a->category - b->category;
	if (a->level != b->level)
		return a->level - b->level;
	return a->counter - b->counter;
}

/* Is the fingerprint held by the catch-up? Its index, or n_held. */
static size_t held_at(const struct vg_pipeline *run, uint64_t fp)
{
	size_t i = 0;

	while (i < run->n_held && run->held[i] != fp)
		i++;
	return i;
}

/* The catch-up's say on a change for the notifiers: true when it holds
 * it back (a firing decided during the catch-up). A resolve is always
 * sent, whether its firing was held (it then reaches Alertmanager as one
 * resolved alert with both times, which pages nobody) or not. */
static bool catch_up_holds(struct vg_pipeline *run, const struct vg_alert *al)
{
	size_t i = held_at(run, al->fingerprint);

	if (al->state == VG_ALERT_RESOLVED) {
		if (i < run->n_held)
			run->held[i] = run->held[--run->n_held];
		return false;
	}
	if (!run->catching_up)
		return false;
	if (i == run->n_held &&
	    vg_grow(&run->held, &run->cap_held, run->n_held + 1, sizeof(*run->held), 16) != 0)
		return false; /* out of memory: sent rather than lost */
	if (i == run->n_held)
		run->held[run->n_held++] = al->fingerprint;
	return true;
}

/* Every alert the catch-up held that still fires, sent now. */
static void send_held(void *arg, const struct vg_alert *al)
{
	struct vg_pipeline *run = arg;

	if (al->state == VG_ALERT_FIRING && held_at(run, al->fingerprint) < run->n_held)
		vg_notify_push(run->notify, al);
}

/* Before the rules evaluate the window ending at end_ms: is this a
 * catch-up? Once the windows reach the clock again, the alerts held
 * that still fire are sent, once. */
static void catch_up_window(struct vg_pipeline *run, int64_t end_ms)
{
	bool behind = run->catch_up_ms > 0 && vg_clock_now_ms() - end_ms > run->catch_up_ms;

	run->eval_end_ms = end_ms;
	if (behind == run->catching_up)
		return;
	run->catching_up = behind;
	if (behind) {
		vg_log_kv(VG_LOG_INFO, "alerts",
			  "catching up: alerts that fire and resolve within the backlog are sent as resolved, "
			  "those still firing at its end are sent then",
			  VG_LOG_I("behind_ms", vg_clock_now_ms() - end_ms));
		return;
	}
	vg_log_kv(VG_LOG_INFO, "alerts", "caught up: alert changes are sent as they happen",
		  VG_LOG_I("held_firing", (int64_t)run->n_held));
	if (run->n_held && run->notify)
		vg_alerts_each(run->alerts, send_held, run);
	run->n_held = 0;
}

/* An alert changed state: one NDJSON line to --alerts, or a log line. */
void vg_closer_alert(void *arg, const struct vg_alert *al)
{
	struct vg_pipeline *run = arg;
	struct vg_buf *b = &run->alerts_out;

	run->alerts_by_state[al->state]++;
	bool quiet = al->state == VG_ALERT_PENDING || al->state == VG_ALERT_INACTIVE;

	if (run->notify && !quiet && !catch_up_holds(run, al))
		vg_notify_push(run->notify, al); /* logged there on failure */
	if (run->alerts_fd < 0)
		vg_buf_puts(b, quiet ? "{\"level\":\"INFO\",\"component\":\"alerts\",\"alert\":"
							    : "{\"level\":\"WARNING\",\"component\":\"alerts\",\"alert\":");
	vg_alert_json(al, b);
	if (run->alerts_fd < 0)
		vg_buf_putc(b, '}');
	vg_buf_putc(b, '\n');
}

int vg_closer_flush_alerts(struct vg_pipeline *run)
{
	return vg_buf_write_fd(&run->alerts_out, run->alerts_fd < 0 ? STDERR_FILENO : run->alerts_fd);
}

/* Compile the configured rules and start the engine. */
int vg_closer_open(struct vg_pipeline *run, const struct vg_table_params *tp, int64_t window_ms)
{
	const struct vg_config *cfg = run->st.cfg;
	char err[1024];
	int rc;

	rc = vg_rules_load_config(&run->rules, cfg, window_ms, &run->counter_names, err, sizeof(err));
	if (rc != VG_OK) {
		fprintf(stderr, "vigil: %s\n", rc == VG_ERR_NOMEM ? "out of memory" : err);
		return rc == VG_ERR_NOMEM ? rc : VG_ERR_CONFIG;
	}
	if (vg_alerts_create(&run->alerts, run->rules, tp) != VG_OK)
		return VG_ERR_NOMEM;
	if (run->alerts_stdout)
		run->alerts_fd = STDOUT_FILENO;
	else if (run->alerts_path &&
		 (run->alerts_fd = open(run->alerts_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		fprintf(stderr, "vigil: --alerts %s: %s\n", run->alerts_path, strerror(errno));
		return VG_ERR_CONFIG;
	}
	if (run->no_notify)
		return VG_OK;
	struct vg_notify_webhook hooks[VG_MAX_WEBHOOKS];
	struct vg_notify_params np = {
		.alertmanager_url = strcmp(cfg->notify_alertmanager, "off") ? cfg->notify_alertmanager : NULL,
		.resend_ms = cfg->notify_resend_ms,
		.webhooks = hooks,
		.n_webhooks = cfg->n_notify_webhooks,
		.kafka_brokers = cfg->notify_kafka_brokers ? cfg->notify_kafka_brokers : cfg->kafka_brokers,
		.kafka_topic = strcmp(cfg->notify_kafka_topic, "off") ? cfg->notify_kafka_topic : NULL,
		.kafka_properties = (const char *const *)cfg->notify_kafka_properties.v,
		.n_kafka_properties = cfg->notify_kafka_properties.n,
		.kafka_property_lines = cfg->notify_kafka_properties.lines,
		.source = cfg->source,
		.file = strcmp(cfg->notify_file, "off") ? cfg->notify_file : NULL,
		.outbox_dir = cfg->notify_outbox_dir,
		.outbox_max = cfg->notify_outbox_max,
		.timeout_ms = cfg->notify_timeout_ms,
		.generator_url = "",
	};

	for (size_t i = 0; i < cfg->n_notify_webhooks; i++)
		hooks[i] = (struct vg_notify_webhook){cfg->notify_webhooks[i].url, cfg->notify_webhooks[i].secret};

	if ((rc = vg_notify_create(&run->notify, &np, err, sizeof(err))) != VG_OK) {
		fprintf(stderr, "vigil: %s\n", err);
		return rc == VG_ERR_NOMEM ? rc : VG_ERR_CONFIG;
	}
	return VG_OK;
}

/* One row of a closed window (e is not const: vg_table_quantile sorts
 * --exact samples in place). */
static void put_row(struct vg_pipeline *run, struct vg_table_entry *e, const char *start, const char *end)
{
	struct vg_buf *b = &run->out;

	vg_buf_puts(b, "{\"window_start\":\"");
	vg_buf_puts(b, start);
	vg_buf_puts(b, "\",\"window_end\":\"");
	vg_buf_puts(b, end);
	vg_buf_putc(b, '"');
	if (e->key.kind == VG_TABLE_COUNTER) {
		vg_buf_puts(b, ",\"counter\":");
		vg_buf_put_json_str(b, vg_str_cstr(run->st.cfg->counters[e->key.counter].name));
	}
	put_label(b, "service", e->key.service);
	if (e->key.kind == VG_TABLE_HTTP) {
		put_label(b, "endpoint", e->key.endpoint);
		put_label(b, "method", e->key.method);
	} else if (e->key.kind == VG_TABLE_LOG) {
		vg_buf_puts(b, ",\"category\":");
		vg_buf_put_json_str(b, vg_str_cstr(vg_classifier_category_name(run->st.classifier, e->key.category)));
		vg_buf_puts(b, ",\"level\":\"");
		vg_buf_puts(b, vg_level_name(e->key.level));
		vg_buf_putc(b, '"');
	}
	vg_buf_puts(b, ",\"count\":");
	vg_buf_put_u64(b, e->count);
	if (e->key.kind == VG_TABLE_HTTP) {
		vg_buf_puts(b, ",\"errors_4xx\":");
		vg_buf_put_u64(b, e->errors_4xx);
		vg_buf_puts(b, ",\"errors_5xx\":");
		vg_buf_put_u64(b, e->errors_5xx);
		vg_buf_puts(b, ",\"error_rate\":");
		put_num(b, e->count ? (double)e->errors_5xx / (double)e->count : 0);
		vg_buf_puts(b, ",\"p50\":");
		put_num(b, vg_table_quantile(e, 0.50, run->exact));
		vg_buf_puts(b, ",\"p95\":");
		put_num(b, vg_table_quantile(e, 0.95, run->exact));
		vg_buf_puts(b, ",\"p99\":");
		put_num(b, vg_table_quantile(e, 0.99, run->exact));
		vg_buf_puts(b, ",\"max\":");
		put_num(b, e->latency.count ? e->latency.max : NAN);
	}
	vg_buf_puts(b, "}\n");
}

/* Print a closed window as NDJSON rows, one per key, sorted. */
static int print_window(struct vg_pipeline *run, const struct vg_window *win)
{
	size_t n = vg_table_size(win->table);
	struct vg_table_entry **rows = malloc((n ? n : 1) * sizeof(*rows));
	char start[32], end[32];

	if (!rows)
		return VG_ERR_NOMEM;
	for (size_t i = 0; i < n; i++)
		rows[i] = vg_table_entry(win->table, i);
	qsort(rows, n, sizeof(*rows), cmp_entry);
	vg_clock_format_rfc3339(win->start_ms, start);
	vg_clock_format_rfc3339(win->end_ms, end);
	for (size_t i = 0; i < n; i++)
		put_row(run, rows[i], start, end);
	free(rows);
	return VG_OK;
}

/* A closed window: its rows (unless --quiet), the HTTP pages' hook, the
 * store, and the rules at the window's end. */
static int emit_window(struct vg_window *win, void *arg)
{
	struct vg_pipeline *run = arg;
	struct vg_buf *b = &run->out;

	if (!run->quiet && print_window(run, win) != VG_OK)
		return VG_ERR_NOMEM;
	if (run->on_window)
		run->on_window(run->on_window_arg, win);
	/* The store serves only the rules: without any (and no reload to
	 * bring some), freezing every window into it is work nobody reads. */
	if ((run->store_always || vg_rules_count(run->rules)) && vg_wstore_add(run->store, win) != VG_OK)
		return VG_ERR_NOMEM;
	/* Rules run at the window's end, in event time: a replay alerts as
	 * the live stream did. */
	if (run->catch_up_ms)
		catch_up_window(run, win->end_ms);
	if (run->alerts && vg_alerts_eval(run->alerts, run->store, win->end_ms, vg_closer_alert, run) != VG_OK)
		return VG_ERR_NOMEM;
	if (run->alerts_out.len && vg_closer_flush_alerts(run) != VG_OK)
		return VG_ERR_IO;
	if (b->len >= (1u << 20) && vg_buf_write_fd(b, run->out_fd) != VG_OK)
		return VG_ERR_IO;
	return VG_OK;
}

/* Close windows, unless the last close was less than every_ms ago. */
void vg_closer_close(struct vg_pipeline *run, bool flush, int64_t every_ms)
{
	int64_t now = (int64_t)(vg_clock_mono_s() * 1000);

	if (!flush && now - run->last_close_ms < every_ms)
		return;
	run->last_close_ms = now;
	int rc = vg_windows_close(run->win, flush, emit_window, run);

	if (rc != VG_OK)
		vg_log_kv(VG_LOG_ERROR, "aggregate", "closing windows failed", VG_LOG_S("error", vg_err_str(rc)));
	/* vigil run: the rows of windows closed reach --windows now, not in
	 * 1 MiB blocks (a live run closes a window every few seconds). */
	if (run->no_chunk_threads && run->out.len && vg_buf_write_fd(&run->out, run->out_fd) != VG_OK)
		vg_log(VG_LOG_ERROR, "aggregate", "writing window rows failed");
}

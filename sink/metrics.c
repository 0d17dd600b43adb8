/* vigil: Prometheus text exposition. See metrics.h. */
#define _POSIX_C_SOURCE 200809L
#include "sink/metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate/table.h"
#include "aggregate/window.h"
#include "core/buf.h"
#include "core/record.h"

static bool name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       (!first && c >= '0' && c <= '9');
}

bool vg_metrics_name_ok(const char *name)
{
	if (!name || !*name)
		return false;
	for (const char *s = name; *s; s++) {
		if (!name_char(*s, s == name))
			return false;
	}
	return true;
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len;
	unsigned min;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, min = 0x80, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, min = 0x800, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, min = 0x10000, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void vg_metrics_escape(struct vg_buf *b, vg_str value)
{
	const unsigned char *p = (const unsigned char *)value.p;
	size_t i = 0, run = 0; /* run: bytes from i - run to copy as they are */

	while (i < value.len) {
		size_t l = utf8_len(p + i, value.len - i);
		const char *esc = NULL;

		if (l == 1 && p[i] == '\\')
			esc = "\\\\";
		else if (l == 1 && p[i] == '"')
			esc = "\\\"";
		else if (l == 1 && p[i] == '\n')
			esc = "\\n";
		else if (l == 0)
			esc = "\xef\xbf\xbd"; /* U+FFFD for a byte that is not UTF-8 */
		if (!esc) {
			i += l;
			run += l;
			continue;
		}
		vg_buf_put(b, p + i - run, run);
		vg_buf_puts(b, esc);
		run = 0;
		i++;
	}
	vg_buf_put(b, p + i - run, run);
}

void vg_metrics_value(struct vg_buf *b, double v)
{
	char tmp[40];

	if (isnan(v)) {
		vg_buf_puts(b, "NaN");
	} else if (isinf(v)) {
		vg_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
	} else if (v == floor(v) && fabs(v) < 9007199254740992.0) {
		vg_buf_put(b, tmp, (size_t)snprintf(tmp, sizeof(tmp), "%.0f", v));
	} else {
		/* The shortest of 15 to 17 significant digits that reads back exactly. */
		int n = 0;

		for (int prec = 15; prec <= 17; prec++) {
			n = snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
			if (strtod(tmp, NULL) == v)
				break;
		}
		vg_buf_put(b, tmp, (size_t)n);
	}
}

void vg_metrics_family(struct vg_buf *b, const char *name, const char *type, const char *help)
{
	vg_buf_puts(b, "# HELP ");
	vg_buf_puts(b, name);
	vg_buf_putc(b, ' ');
	for (const char *s = help; *s; s++) {
		if (*s == '\\')
			vg_buf_puts(b, "\\\\");
		else if (*s == '\n')
			vg_buf_puts(b, "\\n");
		else
			vg_buf_putc(b, *s);
	}
	vg_buf_puts(b, "\n# TYPE ");
	vg_buf_puts(b, name);
	vg_buf_putc(b, ' ');
	vg_buf_puts(b, type);
	vg_buf_putc(b, '\n');
}

static void put_labels(struct vg_buf *b, const struct vg_metrics_label *labels, size_t n, const char *extra_name,
                       const char *extra_value)
{
	if (n == 0 && !extra_name)
		return;
	vg_buf_putc(b, '{');
	for (size_t i = 0; i < n; i++) {
		if (i)
			vg_buf_putc(b, ',');
		vg_buf_puts(b, labels[i].name);
		vg_buf_puts(b, "=\"");
		vg_metrics_escape(b, labels[i].value);
		vg_buf_putc(b, '"');
	}
	if (extra_name) {
		if (n)
			vg_buf_putc(b, ',');
		vg_buf_puts(b, extra_name);
		vg_buf_puts(b, "=\"");
		vg_buf_puts(b, extra_value);
		vg_buf_putc(b, '"');
	}
	vg_buf_putc(b, '}');
}

void vg_metrics_sample(struct vg_buf *b, const char *name, const struct vg_metrics_label *labels, size_t n, double v)
{
	vg_buf_puts(b, name);
	put_labels(b, labels, n, NULL, NULL);
	vg_buf_putc(b, ' ');
	vg_metrics_value(b, v);
	vg_buf_putc(b, '\n');
}

void vg_metrics_summary(struct vg_buf *b, const char *name, const struct vg_metrics_label *labels, size_t n,
                        const double *q, const double *v, size_t nq, double sum, uint64_t count)
{
	char qs[40], suffixed[128];

	for (size_t i = 0; i < nq; i++) {
		snprintf(qs, sizeof(qs), "%g", q[i]);
		vg_buf_puts(b, name);
		put_labels(b, labels, n, "quantile", qs);
		vg_buf_putc(b, ' ');
		vg_metrics_value(b, v[i]);
		vg_buf_putc(b, '\n');
	}
	snprintf(suffixed, sizeof(suffixed), "%s_sum", name);
	vg_metrics_sample(b, suffixed, labels, n, sum);
	snprintf(suffixed, sizeof(suffixed), "%s_count", name);
	vg_metrics_sample(b, suffixed, labels, n, (double)count);
}

/* ---- a closed window ---------------------------------------------------- */

static const char *name_at(const char *const *names, size_t n, unsigned i)
{
	return i < n && names[i] ? names[i] : "unknown";
}

/* The labels of an entry: HTTP (service, endpoint, method), LOG (service,
 * category, level), COUNTER (counter, service). Returns how many. */
static size_t entry_labels(const struct vg_table_entry *e, const struct vg_metrics_names *names,
                           struct vg_metrics_label *l)
{
	switch (e->key.kind) {
	case VG_TABLE_HTTP:
		l[0] = (struct vg_metrics_label){"service", e->key.service};
		l[1] = (struct vg_metrics_label){"endpoint", e->key.endpoint};
		l[2] = (struct vg_metrics_label){"method", e->key.method};
		return 3;
	case VG_TABLE_LOG:
		l[0] = (struct vg_metrics_label){"service", e->key.service};
		l[1] = (struct vg_metrics_label){
		        "category", vg_str_cstr(name_at(names->categories, names->n_categories, e->key.category))};
		l[2] = (struct vg_metrics_label){"level", vg_str_cstr(vg_level_name(e->key.level))};
		return 3;
	default:
		l[0] = (struct vg_metrics_label){
		        "counter", vg_str_cstr(name_at(names->counters, names->n_counters, e->key.counter))};
		l[1] = (struct vg_metrics_label){"service", e->key.service};
		return 2;
	}
}

enum wfam { W_REQUESTS, W_ERRORS, W_LATENCY, W_RECORDS, W_PATTERNS, W_FAMILIES };

static const struct {
	const char *name, *type, *help;
	uint8_t kind;
} wfams[W_FAMILIES] = {
        [W_REQUESTS] = {"vigil_window_http_requests", "gauge",
                        "HTTP requests in the last closed window, per service, endpoint and method.", VG_TABLE_HTTP},
        [W_ERRORS] = {"vigil_window_http_errors", "gauge",
                      "HTTP error responses (class 4xx or 5xx) in the last closed window.", VG_TABLE_HTTP},
        [W_LATENCY] = {"vigil_window_http_request_duration_seconds", "summary",
                       "HTTP request durations in the last closed window (sketch quantiles).", VG_TABLE_HTTP},
        [W_RECORDS] = {"vigil_window_log_records", "gauge",
                       "Records in the last closed window, per service, category and level.", VG_TABLE_LOG},
        [W_PATTERNS] = {"vigil_window_pattern_matches", "gauge",
                        "Records matching each pattern counter in the last closed window, per service.",
                        VG_TABLE_COUNTER},
};

void vg_metrics_window(struct vg_buf *b, struct vg_window *win, const struct vg_metrics_names *names, bool exact)
{
	static const double qs[] = {0.5, 0.9, 0.95, 0.99};
	size_t n = vg_table_size(win->table);

	vg_metrics_family(b, "vigil_window_start_seconds", "gauge",
	                  "Start of the last closed window (event time, seconds since the epoch).");
	vg_metrics_sample(b, "vigil_window_start_seconds", NULL, 0, (double)win->start_ms / 1000.0);
	vg_metrics_family(b, "vigil_window_length_seconds", "gauge", "Length of the base window.");
	vg_metrics_sample(b, "vigil_window_length_seconds", NULL, 0, (double)(win->end_ms - win->start_ms) / 1000.0);
	for (int f = 0; f < W_FAMILIES; f++) {
		bool any = false;

		for (size_t i = 0; i < n; i++) {
			struct vg_table_entry *e = vg_table_entry(win->table, i);
			struct vg_metrics_label l[4];
			size_t nl;

			if (e->key.kind != wfams[f].kind)
				continue;
			if (!any)
				vg_metrics_family(b, wfams[f].name, wfams[f].type, wfams[f].help);
			any = true;
			nl = entry_labels(e, names, l);
			switch (f) {
			case W_ERRORS:
				l[nl] = (struct vg_metrics_label){"class", VG_STR_LIT("4xx")};
				vg_metrics_sample(b, wfams[f].name, l, nl + 1, (double)e->errors_4xx);
				l[nl] = (struct vg_metrics_label){"class", VG_STR_LIT("5xx")};
				vg_metrics_sample(b, wfams[f].name, l, nl + 1, (double)e->errors_5xx);
				break;
			case W_LATENCY: {
				double v[4];

				for (size_t k = 0; k < 4; k++)
					v[k] = vg_table_quantile(e, qs[k], exact) / 1000.0;
				vg_metrics_summary(b, wfams[f].name, l, nl, qs, v, 4, e->latency.sum / 1000.0,
				                   e->latency.count);
				break;
			}
			default: vg_metrics_sample(b, wfams[f].name, l, nl, (double)e->count);
			}
		}
	}
}

/* ---- vigil run's own health -------------------------------------------- */

static void metric1(struct vg_buf *b, const char *name, const char *type, const char *help, double v)
{
	vg_metrics_family(b, name, type, help);
	vg_metrics_sample(b, name, NULL, 0, v);
}

static void metric_l(struct vg_buf *b, const char *name, const char *label, const char *value, double v)
{
	struct vg_metrics_label l = {label, vg_str_cstr(value)};

	vg_metrics_sample(b, name, &l, 1, v);
}

void vg_metrics_run(struct vg_buf *b, const struct vg_metrics_run *r)
{
	metric1(b, "vigil_records_total", "counter", "Records taken from Kafka.", (double)r->records);
	metric1(b, "vigil_bytes_total", "counter", "Payload bytes of the records taken from Kafka.", (double)r->bytes);
	metric1(b, "vigil_records_parsed_total", "counter", "Records parsed.", (double)r->parsed);
	vg_metrics_family(b, "vigil_records_rejected_total", "counter",
	                  "Records that failed to parse, by reason (kept in the dead-letter archive).");
	for (size_t i = 0; i < r->n_reasons; i++)
		metric_l(b, "vigil_records_rejected_total", "reason", r->reason_names[i], (double)r->rejected[i]);
	metric1(b, "vigil_regex_limit_hits_total", "counter",
	        "Pattern runs (classify.rules, aggregate.counters) stopped by a limit (classify.regex_match_limit, "
	        "regex_depth_limit, regex_run_limit, the heap or JIT stack): counted as no match.",
	        (double)r->regex_limit_hits);
	metric1(b, "vigil_records_aggregated_total", "counter", "Records aggregated into windows.",
	        (double)r->aggregated);
	metric1(b, "vigil_records_late_total", "counter",
	        "Records past their window's close (archived, not aggregated).", (double)r->late);
	metric1(b, "vigil_records_no_time_total", "counter",
	        "Records without an event time (a fallback time was used).", (double)r->no_time);
	vg_metrics_family(b, "vigil_records_skewed_total", "counter",
	                  "Records whose event time is implausibly far from their reference (the Kafka message "
	                  "timestamp), by direction: aggregated and archived at the reference time, never moving "
	                  "a watermark (aggregate.skew_ahead, aggregate.skew_behind).");
	metric_l(b, "vigil_records_skewed_total", "direction", "ahead", (double)r->skewed_ahead);
	metric_l(b, "vigil_records_skewed_total", "direction", "behind", (double)r->skewed_behind);
	vg_metrics_family(b, "vigil_durations_rejected_total", "counter",
	                  "Request durations that cannot be real, by reason (negative, over_bound: over "
	                  "aggregate.max_duration, not_finite), kept out of the latency quantiles; their records "
	                  "are aggregated and archived.");
	for (size_t i = 0; i < VG_METRICS_DURATION_REASONS; i++) {
		if (r->duration_reason_names[i])
			metric_l(b, "vigil_durations_rejected_total", "reason", r->duration_reason_names[i],
			         (double)r->durations_rejected[i]);
	}
	vg_metrics_family(b, "vigil_watermark_delay_seconds", "gauge",
	                  "How far the event-time watermark runs behind the newest event time seen "
	                  "(reference=\"newest\") and behind the clock (reference=\"clock\"): large while "
	                  "catching up a backlog.");
	metric_l(b, "vigil_watermark_delay_seconds", "reference", "newest",
	         (double)r->watermark_behind_newest_ms / 1000);
	metric_l(b, "vigil_watermark_delay_seconds", "reference", "clock",
	         (double)r->watermark_behind_clock_ms / 1000);
	vg_metrics_family(b, "vigil_window_records_total", "counter", "Records of closed windows, by level.");
	for (int l = 0; l < VG_LEVEL_COUNT; l++)
		metric_l(b, "vigil_window_records_total", "level", vg_level_name(l), (double)r->by_level[l]);
	vg_metrics_family(b, "vigil_window_category_records_total", "counter",
	                  "Records of closed windows, by category.");
	for (size_t c = 0; c < r->n_categories; c++)
		metric_l(b, "vigil_window_category_records_total", "category", r->category_names[c],
		         (double)r->by_category[c]);
	metric1(b, "vigil_windows_closed_total", "counter", "Base windows closed.", (double)r->windows_closed);
	metric1(b, "vigil_window_keys_overflow_total", "counter", "Keys folded into __other__ past aggregate.max_keys.",
	        (double)r->keys_overflow);
	vg_metrics_family(b, "vigil_window_close_duration_seconds", "summary",
	                  "Time the closer spent in rounds that emitted windows (merge, rules, output).");
	vg_metrics_summary(b, "vigil_window_close_duration_seconds", NULL, 0, NULL, NULL, 0, r->close_seconds,
	                   r->closes);
	metric1(b, "vigil_window_store_bytes", "gauge",
	        "Memory held by the window store the alert rules read (base-window ring and roll-ups).",
	        (double)r->store_bytes);
	metric1(b, "vigil_store_endpoints", "gauge",
	        "Endpoints the window store keeps keys for (at most aggregate.max_endpoints per service).",
	        (double)r->store_endpoints);
	vg_metrics_family(b, "vigil_store_endpoints_folded_total", "counter",
	                  "Window entries the store keeps under endpoint __other__: past aggregate.max_endpoints "
	                  "(cap), or a new endpoint answering only 404 (not_found).");
	metric_l(b, "vigil_store_endpoints_folded_total", "reason", "cap", (double)r->store_folded_cap);
	metric_l(b, "vigil_store_endpoints_folded_total", "reason", "not_found", (double)r->store_folded_404);
	metric1(b, "vigil_window_watermark_seconds", "gauge",
	        "Event-time watermark, seconds since the epoch (0 before the first record).",
	        r->watermark_ms == INT64_MIN ? 0 : (double)r->watermark_ms / 1000);
	metric1(b, "vigil_archive_records_total", "counter", "Records appended to the archive.",
	        (double)r->archive_records);
	metric1(b, "vigil_archive_dead_letter_records_total", "counter", "Records appended to the dead-letter archive.",
	        (double)r->archive_dead);
	metric1(b, "vigil_archive_frames_total", "counter", "zstd frames written.", (double)r->frames);
	metric1(b, "vigil_archive_files_total", "counter", "Archive files begun.", (double)r->files);
	metric1(b, "vigil_archive_input_bytes_total", "counter", "Bytes handed to the archive (uncompressed).",
	        (double)r->archive_bytes_in);
	metric1(b, "vigil_archive_written_bytes_total", "counter", "Compressed bytes written to archive files.",
	        (double)r->archive_bytes_out);
	metric1(b, "vigil_archive_fsyncs_total", "counter", "fsync calls on archive files and manifests.",
	        (double)r->fsyncs);
	vg_metrics_family(b, "vigil_archive_fsync_duration_seconds", "summary",
			  "fsync rounds of the archive (every file written since the last, on the syncer thread).");
	vg_metrics_summary(b, "vigil_archive_fsync_duration_seconds", NULL, 0, NULL, NULL, 0, r->sync_seconds,
			   r->sync_points);
	metric1(b, "vigil_archive_write_errors_total", "counter", "Archive write or fsync failures.",
	        (double)r->write_errors);
	metric1(b, "vigil_archive_unkept_records_total", "counter",
	        "Records the archive could not hold (out of memory); offsets are not committed past them.",
	        (double)r->archive_unkept);
	metric1(b, "vigil_archive_writable", "gauge", "1 when every worker's archive writer is healthy.",
	        r->archive_error == NULL);
	metric1(b, "vigil_kafka_messages_total", "counter", "Messages handed to the workers.", (double)r->messages);
	metric1(b, "vigil_kafka_skipped_total", "counter", "Messages of revoked partitions left to their new owner.",
	        (double)r->skipped);
	metric1(b, "vigil_kafka_offsets_deleted_total", "counter",
	        "Offsets the broker deleted (retention) before they were read: skipped by an offset reset.",
	        (double)r->offsets_deleted);
	metric1(b, "vigil_kafka_errors_total", "counter", "Consumer errors reported by librdkafka.",
	        (double)r->kafka_errors);
	metric1(b, "vigil_kafka_rebalances_total", "counter", "Partition assignments and revocations.",
	        (double)r->rebalances);
	metric1(b, "vigil_kafka_commits_total", "counter", "Offset commits that succeeded.", (double)r->commits);
	metric1(b, "vigil_kafka_commits_failed_total", "counter", "Offset commits that failed.",
	        (double)r->commits_failed);
	metric1(b, "vigil_kafka_commit_age_seconds", "gauge",
	        "Since the last offset commit, while records processed since wait for one (else 0).",
	        (double)r->commit_age_ms / 1000);
	metric1(b, "vigil_kafka_assigned_partitions", "gauge", "Partitions this instance owns.", (double)r->owned);
	metric1(b, "vigil_kafka_paused_partitions", "gauge",
	        "Owned partitions paused now: their worker has no batch to spare (a sink slow or failing).",
	        (double)r->paused);
	metric1(b, "vigil_kafka_pauses_total", "counter",
	        "Times a worker with no batch to spare had its partitions paused.", (double)r->pauses);
	metric1(b, "vigil_kafka_group_joined", "gauge", "1 when in the consumer group with an assignment.", r->joined);
	vg_metrics_family(b, "vigil_kafka_consumer_lag", "gauge",
	                  "Messages behind the high watermark, per owned partition.");
	for (size_t i = 0; i < r->n_lags; i++) {
		char part[16];

		snprintf(part, sizeof(part), "%d", r->lags[i].partition);
		struct vg_metrics_label l[2] = {{"topic", vg_str_cstr(r->lags[i].topic)},
		                                {"partition", vg_str_cstr(part)}};

		vg_metrics_sample(b, "vigil_kafka_consumer_lag", l, 2, (double)r->lags[i].lag);
	}
	vg_metrics_family(b, "vigil_alerts", "gauge", "Alert instances pending or firing now.");
	metric_l(b, "vigil_alerts", "state", "pending", (double)r->alerts_pending);
	metric_l(b, "vigil_alerts", "state", "firing", (double)r->alerts_firing);
	vg_metrics_family(b, "vigil_config_reloads_total", "counter",
	                  "Configuration reloads (SIGHUP), by result; a failed one keeps the running configuration.");
	metric_l(b, "vigil_config_reloads_total", "result", "ok", (double)r->reloads_ok);
	metric_l(b, "vigil_config_reloads_total", "result", "failed", (double)r->reloads_failed);
	vg_metrics_family(b, "vigil_http_connections", "gauge", "Connections open to the HTTP endpoints.");
	vg_metrics_sample(b, "vigil_http_connections", NULL, 0, (double)r->http_open);
	vg_metrics_family(b, "vigil_http_connections_closed_total", "counter",
	                  "HTTP connections the server closed, by reason: timeout (no complete request in time, "
	                  "or a client not reading its answer), evicted (the oldest idle, to make room past the "
	                  "connection limit).");
	metric_l(b, "vigil_http_connections_closed_total", "reason", "timeout", (double)r->http_timed_out);
	metric_l(b, "vigil_http_connections_closed_total", "reason", "evicted", (double)r->http_evicted);
	vg_metrics_family(b, "vigil_alert_transitions_total", "counter", "Alert state changes, by the state entered.");
	metric_l(b, "vigil_alert_transitions_total", "state", "pending", (double)r->transitions[0]);
	metric_l(b, "vigil_alert_transitions_total", "state", "firing", (double)r->transitions[1]);
	metric_l(b, "vigil_alert_transitions_total", "state", "resolved", (double)r->transitions[2]);

	static const struct {
		const char *name, *type, *help;
	} nf[] = {
	        {"vigil_notifications_sent_total", "counter", "Alert changes delivered, per notifier."},
	        {"vigil_notifications_retried_total", "counter", "Delivery attempts retried, per notifier."},
	        {"vigil_notifications_failed_total", "counter", "Delivery attempts that failed, per notifier."},
	        {"vigil_notifications_dropped_total", "counter",
	         "Undelivered alert changes dropped past notify.outbox_max, per notifier."},
	        {"vigil_notify_outbox_depth", "gauge", "Alert changes in the outbox not yet delivered, per notifier."},
	        {"vigil_notify_failing_seconds", "gauge",
	         "How long the notifier's deliveries have been failing (0: not)."},
	        {"vigil_notifications_resent_total", "counter",
	         "Re-sends of the firing alerts to Alertmanager every resend interval (not in sent)."},
	};
	for (size_t f = 0; f < sizeof(nf) / sizeof(nf[0]) && r->n_notifiers; f++) {
		vg_metrics_family(b, nf[f].name, nf[f].type, nf[f].help);
		for (size_t i = 0; i < r->n_notifiers; i++) {
			double v = f == 0   ? (double)r->sent[i]
			           : f == 1 ? (double)r->retried[i]
			           : f == 2 ? (double)r->failed[i]
			           : f == 3 ? (double)r->dropped[i]
			           : f == 4 ? (double)r->outbox[i]
			           : f == 5 ? (double)r->failing_ms[i] / 1000
			                    : (double)r->resent[i];

			metric_l(b, nf[f].name, "notifier", r->notifier[i], v);
		}
	}
}

static void reason(struct vg_buf *reasons, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reason(struct vg_buf *reasons, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (reasons->len)
		vg_buf_putc(reasons, ',');
	vg_buf_put_json_str(reasons, vg_str_cstr(msg));
}

/* {"status":...,extra,"reasons":[...]}; returns true when reasons is empty. */
static bool status_json(struct vg_buf *b, const char *extra, struct vg_buf *reasons)
{
	bool ok = reasons->len == 0;

	vg_buf_puts(b, ok ? "{\"status\":\"ok\"" : "{\"status\":\"failing\"");
	vg_buf_puts(b, extra);
	vg_buf_puts(b, ",\"reasons\":[");
	vg_buf_put(b, reasons->p, reasons->len);
	vg_buf_puts(b, "]}\n");
	vg_buf_free(reasons);
	return ok;
}

bool vg_metrics_health(struct vg_buf *b, const struct vg_metrics_run *r, const struct vg_metrics_bounds *bounds)
{
	struct vg_buf reasons = {0};
	unsigned stuck = 0;
	char extra[96];

	for (unsigned i = 0; i < r->n_workers; i++) {
		if (r->worker_silent_ms[i] <= bounds->stall_ms)
			continue;
		reason(&reasons, "worker %u: no batch finished and no idle round for %lld ms (bound %lld ms)", i,
		       (long long)r->worker_silent_ms[i], (long long)bounds->stall_ms);
		stuck++;
	}
	snprintf(extra, sizeof(extra), ",\"workers\":%u,\"workers_stuck\":%u", r->n_workers, stuck);
	return status_json(b, extra, &reasons);
}

bool vg_metrics_ready(struct vg_buf *b, const struct vg_metrics_run *r, const struct vg_metrics_bounds *bounds)
{
	struct vg_buf reasons = {0};
	char extra[96];

	if (!r->joined)
		reason(&reasons, "not in consumer group %s yet (no partitions assigned)", r->group ? r->group : "?");
	if (r->archive_error)
		reason(&reasons, "archive %s not writable: %s", r->archive_dir ? r->archive_dir : "?",
		       r->archive_error);
	if (r->joined && r->commit_age_ms > bounds->commit_age_ms)
		reason(&reasons, "last offset commit %lld ms ago, records wait for one (bound %lld ms)",
		       (long long)r->commit_age_ms, (long long)bounds->commit_age_ms);
	for (size_t i = 0; i < r->n_notifiers; i++) {
		if (r->failing_ms[i] > bounds->notify_failing_ms)
			reason(&reasons, "notifier %s failing for %lld ms (bound %lld ms)", r->notifier[i],
			       (long long)r->failing_ms[i], (long long)bounds->notify_failing_ms);
	}
	snprintf(extra, sizeof(extra), ",\"partitions\":%zu,\"commit_age_seconds\":%.3f", r->owned,
	         (double)r->commit_age_ms / 1000);
	return status_json(b, extra, &reasons);
}

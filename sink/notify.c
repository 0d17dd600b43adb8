/* vigil: the alert feed's notifiers (see notify.h). */
#include "sink/notify.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <librdkafka/rdkafka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "sink/archive.h"

/* The first three index an entry's bodies; Kafka sends the file's. */
enum kind { K_ALERTMANAGER, K_WEBHOOK, K_FILE, K_KAFKA };

#define BODY(kind) ((kind) == K_KAFKA ? K_FILE : (kind))

/* One alert change, as each kind of notifier sends it. Immutable once
 * queued; freed only by the notifier thread. */
struct entry {
	uint64_t seq, fp;
	bool resolved;
	char *body[3]; /* by enum kind */
};

struct notifier {
	enum kind kind;
	char name[16];
	char *url;
	const char *secret; /* webhooks: the signing key, or NULL */
	rd_kafka_t *rk;     /* Kafka: the producer */
	uint64_t inflight;  /* Kafka: seq produced, its report not yet in (0: none) */
	uint64_t dr_seq;    /* Kafka: the last delivery report, for this seq */
	rd_kafka_resp_err_t dr_err;
	uint64_t client_errors; /* Kafka: client-level errors seen (the first few logged) */
	uint64_t cursor; /* last seq delivered */
	int cursor_fd;
	int64_t next_try_ms, backoff_ms;
	uint64_t sent, retried, failed, dropped;
	uint64_t resent; /* Alertmanager: re-sends of the firing set, apart from changes sent */
	bool failing;
	CURL *curl;
};

/* Alertmanager's firing alerts, re-sent every resend interval. */
struct firing {
	uint64_t fp;
	char *body;
};

struct vg_notify {
	struct vg_notify_params p;
	struct notifier nf[VG_NOTIFY_MAX];
	size_t n;
	int outbox_fd;
	size_t outbox_lines; /* in the file: what q holds, and what was let go since the file was last rewritten */
	FILE *file;
	pthread_t thread;
	bool running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	struct entry **q; /* undelivered by someone, in seq order */
	size_t nq, capq;
	/* The entry the thread is delivering (unlocked) to nf[busy_nf]: when
	 * the outbox bound drops it meanwhile, it leaves q but the thread
	 * frees it (busy_dropped), and that notifier's outcome decides. */
	const struct entry *busy;
	size_t busy_nf;
	bool busy_dropped;
	uint64_t last_seq;
	struct firing *firing;
	size_t n_firing, cap_firing;
	int64_t last_resend_ms;
	unsigned rng;
	char *outbox_path;
};

/* ---- bodies ------------------------------------------------------------- */

/* The members an Alertmanager alert has in both the API and the webhook
 * payload: labels, annotations, startsAt, endsAt (resolved; with
 * zero_end, Alertmanager's zero time while firing), generatorURL. */
static void alert_members(struct vg_buf *b, const struct vg_alert *al, const char *generator, bool zero_end)
{
	vg_buf_puts(b, "\"labels\":");
	vg_buf_put_json_object(b, al->label_names, al->label_values, al->n_labels);
	vg_buf_puts(b, ",\"annotations\":");
	vg_buf_put_json_object(b, al->annotation_names, al->annotation_values, al->n_annotations);
	vg_buf_puts(b, ",\"startsAt\":");
	vg_buf_put_json_time(b, al->fired_at ? al->fired_at : al->active_at);
	if (al->state == VG_ALERT_RESOLVED) {
		vg_buf_puts(b, ",\"endsAt\":");
		vg_buf_put_json_time(b, al->resolved_at);
	} else if (zero_end) {
		vg_buf_puts(b, ",\"endsAt\":\"0001-01-01T00:00:00Z\"");
	}
	vg_buf_puts(b, ",\"generatorURL\":");
	vg_buf_put_json_str(b, vg_str_cstr(generator ? generator : ""));
}

/* Alertmanager API v2: one postableAlert. */
static void am_body(struct vg_buf *b, const struct vg_alert *al, const char *generator)
{
	vg_buf_putc(b, '{');
	alert_members(b, al, generator, false);
	vg_buf_putc(b, '}');
}

/* Alertmanager's webhook payload (version 4) for one alert. */
static void webhook_body(struct vg_buf *b, const struct vg_alert *al, const char *generator)
{
	const char *status = al->state == VG_ALERT_RESOLVED ? "resolved" : "firing";
	char fp[20];

	snprintf(fp, sizeof(fp), "%016llx", (unsigned long long)al->fingerprint);
	vg_buf_puts(b, "{\"version\":\"4\",\"groupKey\":");
	vg_buf_put_json_str(b, vg_str_cstr(fp));
	vg_buf_puts(b, ",\"truncatedAlerts\":0,\"status\":\"");
	vg_buf_puts(b, status);
	vg_buf_puts(b, "\",\"receiver\":\"vigil\",\"groupLabels\":{\"alertname\":");
	vg_buf_put_json_str(b, vg_str_cstr(al->name));
	vg_buf_puts(b, "},\"commonLabels\":");
	vg_buf_put_json_object(b, al->label_names, al->label_values, al->n_labels);
	vg_buf_puts(b, ",\"commonAnnotations\":");
	vg_buf_put_json_object(b, al->annotation_names, al->annotation_values, al->n_annotations);
	vg_buf_puts(b, ",\"externalURL\":\"\",\"alerts\":[{\"status\":\"");
	vg_buf_puts(b, status);
	vg_buf_puts(b, "\",");
	alert_members(b, al, generator, true);
	vg_buf_puts(b, ",\"fingerprint\":");
	vg_buf_put_json_str(b, vg_str_cstr(fp));
	vg_buf_puts(b, "}]}");
}

/* ---- the outbox --------------------------------------------------------- */

static void entry_free(struct entry *e)
{
	if (!e)
		return;
	for (int k = 0; k < 3; k++)
		free(e->body[k]);
	free(e);
}

/* One outbox line: seq, fingerprint, resolved, then the three bodies,
 * tab-separated (JSON text never holds a raw tab); sync: fsynced. */
static int outbox_write(struct vg_notify *n, const struct entry *e, bool sync)
{
	struct vg_buf b = {0};
	char head[64];

	snprintf(head, sizeof(head), "%llu\t%016llx\t%d", (unsigned long long)e->seq, (unsigned long long)e->fp,
		 e->resolved);
	vg_buf_puts(&b, head);
	for (int k = 0; k < 3; k++) {
		vg_buf_putc(&b, '\t');
		vg_buf_puts(&b, e->body[k]);
	}
	vg_buf_putc(&b, '\n');
	int rc = b.failed ? VG_ERR_NOMEM : VG_OK;
	size_t off = 0;

	while (rc == VG_OK && off < b.len) {
		ssize_t w = write(n->outbox_fd, b.p + off, b.len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			rc = VG_ERR_IO;
		else
			off += (size_t)w;
	}
	if (rc == VG_OK && sync && fsync(n->outbox_fd) != 0)
		rc = VG_ERR_IO;
	vg_buf_free(&b);
	return rc;
}

static struct entry *entry_parse(char *line)
{
	struct entry *e = calloc(1, sizeof(*e));
	char *f[6], *save = NULL;
	int k = 0;

	if (!e)
		return NULL;
	for (char *t = strtok_r(line, "\t", &save); t && k < 6; t = strtok_r(NULL, "\t", &save))
		f[k++] = t;
	if (k != 6) {
		free(e);
		return NULL;
	}
	e->seq = strtoull(f[0], NULL, 10);
	e->fp = strtoull(f[1], NULL, 16);
	e->resolved = f[2][0] == '1';
	for (int i = 0; i < 3; i++)
		if (!(e->body[i] = strdup(f[3 + i]))) {
			entry_free(e);
			return NULL;
		}
	return e;
}

static int queue_add(struct vg_notify *n, struct entry *e)
{
	if (vg_grow(&n->q, &n->capq, n->nq + 1, sizeof(*n->q), 64) != 0)
		return VG_ERR_NOMEM;
	n->q[n->nq++] = e;
	if (e->seq > n->last_seq)
		n->last_seq = e->seq;
	return VG_OK;
}

static void cursor_write(struct notifier *nf)
{
	char s[32];
	int len = snprintf(s, sizeof(s), "%llu\n", (unsigned long long)nf->cursor);

	/* Not fsynced: after a crash an entry may be delivered twice, which
	 * receivers dedupe by fingerprint; never lost. */
	if (nf->cursor_fd >= 0 && (pwrite(nf->cursor_fd, s, (size_t)len, 0) != len || ftruncate(nf->cursor_fd, len)))
		vg_log_kv(VG_LOG_WARNING, "notify", "cannot save a notifier's cursor", VG_LOG_S("notifier", nf->name));
}

/* Past the bound: the oldest change leaves the outbox, counted as dropped
 * by every notifier that has not had it (called locked). Returns whether
 * one had not. */
static bool drop_oldest(struct vg_notify *n)
{
	struct entry *old = n->q[0];
	bool lost = false;

	for (size_t i = 0; i < n->n; i++) {
		/* Delivered, or being delivered: its outcome decides. */
		if (n->nf[i].cursor >= old->seq || (old == n->busy && i == n->busy_nf))
			continue;
		n->nf[i].cursor = old->seq;
		n->nf[i].dropped++;
		cursor_write(&n->nf[i]);
		lost = true;
	}
	memmove(n->q, n->q + 1, (n->nq - 1) * sizeof(*n->q));
	n->nq--;
	if (old == n->busy)
		n->busy_dropped = true; /* the notifier thread frees it */
	else
		entry_free(old);
	return lost;
}

/* Write the outbox file again with what q holds (a new file renamed over
 * the old, so a crash leaves one or the other whole). */
static int outbox_rewrite(struct vg_notify *n)
{
	char tmp[PATH_MAX];
	int old = n->outbox_fd, rc = VG_OK;

	snprintf(tmp, sizeof(tmp), "%s.new", n->outbox_path);
	n->outbox_fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (n->outbox_fd < 0) {
		n->outbox_fd = old;
		return VG_ERR_IO;
	}
	for (size_t i = 0; i < n->nq && rc == VG_OK; i++)
		rc = outbox_write(n, n->q[i], false);
	if (rc == VG_OK && (fsync(n->outbox_fd) != 0 || rename(tmp, n->outbox_path) != 0 ||
			    vg_archive_fsync_dir_of(n->outbox_path) != 0))
		rc = VG_ERR_IO;
	if (rc != VG_OK) {
		close(n->outbox_fd);
		unlink(tmp);
		n->outbox_fd = old;
		return rc;
	}
	if (old >= 0)
		close(old);
	n->outbox_lines = n->nq;
	return VG_OK;
}

/* The file keeps every change until all notifiers have it; with one
 * notifier down it would grow without end, so past twice the bound it is
 * written again with what is left (called locked). */
static void outbox_bound(struct vg_notify *n)
{
	if (n->outbox_lines < 2 * (size_t)n->p.outbox_max || n->outbox_lines <= n->nq)
		return;
	if (outbox_rewrite(n) != VG_OK)
		vg_log_kv(VG_LOG_WARNING, "notify", "cannot compact the outbox; it keeps growing",
			  VG_LOG_S("path", n->outbox_path), VG_LOG_S("error", strerror(errno)));
}

/* Read the outbox and the cursors an earlier run left. */
static int outbox_open(struct vg_notify *n, char *errbuf, size_t errlen)
{
	const char *dir = n->p.outbox_dir;
	char path[PATH_MAX];

	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		snprintf(errbuf, errlen, "notify.outbox.dir %s: %s", dir, strerror(errno));
		return VG_ERR_IO;
	}
	uint64_t max_cursor = 0;

	for (size_t i = 0; i < n->n; i++) {
		struct notifier *nf = &n->nf[i];
		char s[32] = "";

		snprintf(path, sizeof(path), "%s/cursor-%s", dir, nf->name);
		nf->cursor_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (nf->cursor_fd < 0) {
			snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
			return VG_ERR_IO;
		}
		if (pread(nf->cursor_fd, s, sizeof(s) - 1, 0) > 0)
			nf->cursor = strtoull(s, NULL, 10);
		if (nf->cursor > max_cursor)
			max_cursor = nf->cursor;
	}
	snprintf(path, sizeof(path), "%s/outbox.jsonl", dir);
	if (!(n->outbox_path = strdup(path)))
		return VG_ERR_NOMEM;
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, bad = 0, dropped = 0;
	ssize_t len;
	off_t whole = 0; /* bytes of whole lines */
	bool cut = false;

	n->last_seq = max_cursor;
	while (f && (len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] != '\n') {
			cut = true; /* a line cut by a crash: never acknowledged, so never pushed */
			break;
		}
		whole += len;
		n->outbox_lines++;
		line[len - 1] = '\0';
		struct entry *e = entry_parse(line);

		if (!e || queue_add(n, e) != VG_OK) {
			entry_free(e);
			bad++;
		}
	}
	free(line);
	if (f)
		fclose(f);
	if (bad)
		vg_log_kv(VG_LOG_ERROR, "notify", "outbox lines unreadable (or out of memory): skipped",
			  VG_LOG_S("path", path), VG_LOG_I("lines", bad));
	/* Nothing below the outbox's first entry can be delivered any more: a
	 * notifier new to this outbox (its cursor file just made) starts
	 * there, or it would count as pending what is gone and never drain. */
	uint64_t start = n->nq ? n->q[0]->seq - 1 : n->last_seq;

	for (size_t i = 0; i < n->n; i++) {
		if (n->nf[i].cursor < start) {
			n->nf[i].cursor = start;
			cursor_write(&n->nf[i]);
		}
	}
	/* The bound holds for what an earlier run left too. */
	while (n->nq > n->p.outbox_max)
		dropped += drop_oldest(n);
	if (dropped)
		vg_log_kv(VG_LOG_ERROR, "notify", "outbox full: dropped the oldest undelivered alerts of an earlier run",
			  VG_LOG_I("dropped", dropped), VG_LOG_I("outbox_max", n->p.outbox_max));
	n->outbox_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (n->outbox_fd < 0) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		return VG_ERR_IO;
	}
	/* A cut line is cut off, or the next line would be glued to it. */
	if (cut && ftruncate(n->outbox_fd, whole) != 0) {
		snprintf(errbuf, errlen, "%s: cannot cut a torn last line: %s", path, strerror(errno));
		return VG_ERR_IO;
	}
	if ((bad || dropped) && outbox_rewrite(n) != VG_OK) {
		snprintf(errbuf, errlen, "%s: cannot write it again: %s", path, strerror(errno));
		return VG_ERR_IO;
	}
	if (n->nq)
		vg_log_kv(VG_LOG_INFO, "notify", "outbox from an earlier run", VG_LOG_I("entries", n->nq));
	return VG_OK;
}

/* ---- delivery ----------------------------------------------------------- */

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* What a delivery came to. */
enum outcome { DELIVERED, RETRY, REFUSED };

static enum outcome http_post(struct notifier *nf, const char *url, const char *body, int64_t timeout_ms,
			      const char *secret)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	long code = 0;

	if (secret) {
		unsigned char mac[EVP_MAX_MD_SIZE];
		unsigned len = 0;
		char sig[40 + 2 * EVP_MAX_MD_SIZE] = "X-Vigil-Signature: sha256=";
		size_t o = strlen(sig);

		HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, strlen(body), mac, &len);
		for (unsigned i = 0; i < len; i++, o += 2)
			snprintf(sig + o, 3, "%02x", mac[i]);
		h = curl_slist_append(h, sig);
	}

	curl_easy_reset(nf->curl);
	curl_easy_setopt(nf->curl, CURLOPT_URL, url);
	curl_easy_setopt(nf->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(nf->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(nf->curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(nf->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(nf->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(nf->curl, CURLOPT_WRITEFUNCTION, discard);
	CURLcode rc = curl_easy_perform(nf->curl);

	if (rc == CURLE_OK)
		curl_easy_getinfo(nf->curl, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(h);
	if (rc == CURLE_OK && code >= 200 && code < 300)
		return DELIVERED;
	/* A request the receiver refuses as such (400, 404, 422...) fails the
	 * same way every time: count it and go on. 408 and 429 are retried. */
	if (rc == CURLE_OK && code >= 400 && code < 500 && code != 408 && code != 429) {
		vg_log_kv(VG_LOG_ERROR, "notify", "a notifier refused an alert", VG_LOG_S("notifier", nf->name),
			  VG_LOG_I("status", code));
		return REFUSED;
	}
	return RETRY;
}

/* Delivery reports come back inside rd_kafka_flush, on the notifier
 * thread. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct notifier *nf = opaque;

	(void)rk;
	nf->dr_seq = (uint64_t)(uintptr_t)m->_private;
	nf->dr_err = m->err;
}

/* librdkafka's log lines as vigil's (on librdkafka's threads). */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	vg_log_librdkafka(rd_kafka_name(rk), level, fac, buf);
}

/* Client-level errors (a broker down): librdkafka retries by itself; the
 * first few are logged, then one in a thousand. Served inside
 * rd_kafka_flush, on the notifier thread. */
static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct notifier *nf = opaque;

	(void)rk;
	if (nf->client_errors++ < 10 || nf->client_errors % 1000 == 0)
		vg_log_kv(VG_LOG_WARNING, "notify", "kafka error",
			  VG_LOG_S("error", rd_kafka_err2name((rd_kafka_resp_err_t)err)), VG_LOG_S("reason", reason),
			  VG_LOG_I("count", nf->client_errors));
}

/* Produce e once, then wait for its delivery report (bounded): a change
 * is sent when the broker acknowledged it (acks=all). A report that does
 * not come in time is awaited again on the next try, not produced twice. */
static enum outcome kafka_send(struct vg_notify *n, struct notifier *nf, const struct entry *e)
{
	const char *body = e->body[K_FILE];
	char key[20];

	if (nf->inflight != e->seq) {
		snprintf(key, sizeof(key), "%016llx", (unsigned long long)e->fp);
		rd_kafka_resp_err_t err = rd_kafka_producev(
			nf->rk, RD_KAFKA_V_TOPIC(n->p.kafka_topic), RD_KAFKA_V_KEY(key, strlen(key)),
			RD_KAFKA_V_VALUE((void *)body, strlen(body)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			RD_KAFKA_V_OPAQUE((void *)(uintptr_t)e->seq), RD_KAFKA_V_END);

		if (err) {
			vg_log_kv(VG_LOG_WARNING, "notify", "kafka: cannot produce",
				  VG_LOG_S("error", rd_kafka_err2name(err)));
			return RETRY;
		}
		nf->inflight = e->seq;
	}
	rd_kafka_flush(nf->rk, (int)n->p.timeout_ms);
	if (nf->dr_seq != e->seq)
		return RETRY;
	nf->inflight = nf->dr_seq = 0;
	if (nf->dr_err == RD_KAFKA_RESP_ERR_NO_ERROR)
		return DELIVERED;
	vg_log_kv(VG_LOG_WARNING, "notify", "kafka: delivery failed", VG_LOG_S("error", rd_kafka_err2name(nf->dr_err)));
	/* A message the broker refuses for its size fails the same way every
	 * time; anything else (a broker down, a leader moving) is retried. */
	return nf->dr_err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ? REFUSED : RETRY;
}

static enum outcome deliver(struct vg_notify *n, struct notifier *nf, const struct entry *e)
{
	const char *body = e->body[BODY(nf->kind)];
	char url[2048];

	switch (nf->kind) {
	case K_ALERTMANAGER: {
		struct vg_buf b = {0};

		vg_buf_putc(&b, '[');
		vg_buf_puts(&b, body);
		vg_buf_putc(&b, ']');
		vg_buf_putc(&b, '\0');
		snprintf(url, sizeof(url), "%s/api/v2/alerts", nf->url);
		enum outcome o = b.failed ? RETRY : http_post(nf, url, b.p, n->p.timeout_ms, NULL);

		vg_buf_free(&b);
		return o;
	}
	case K_WEBHOOK: return http_post(nf, nf->url, body, n->p.timeout_ms, nf->secret);
	case K_KAFKA: return kafka_send(n, nf, e);
	default: return fprintf(n->file, "%s\n", body) > 0 && fflush(n->file) == 0 ? DELIVERED : RETRY;
	}
}

/* Track Alertmanager's firing set from what was delivered to it. */
static void track_firing(struct vg_notify *n, const struct entry *e)
{
	size_t i = 0;

	while (i < n->n_firing && n->firing[i].fp != e->fp)
		i++;
	if (e->resolved) {
		if (i < n->n_firing) {
			free(n->firing[i].body);
			n->firing[i] = n->firing[--n->n_firing];
		}
		return;
	}
	char *body = strdup(e->body[K_ALERTMANAGER]);

	if (!body)
		return;
	/* The set was empty: what was just delivered is sent; the re-sends
	 * start one interval from now, not at once. */
	if (n->n_firing == 0)
		n->last_resend_ms = vg_clock_now_ms();
	if (i < n->n_firing) {
		free(n->firing[i].body);
		n->firing[i].body = body;
	} else if (vg_grow(&n->firing, &n->cap_firing, n->n_firing + 1, sizeof(*n->firing), 16) == 0) {
		n->firing[n->n_firing++] = (struct firing){e->fp, body};
	} else {
		free(body);
	}
}

static void resend(struct vg_notify *n, struct notifier *nf)
{
	struct vg_buf b = {0};
	char url[2048];

	vg_buf_putc(&b, '[');
	for (size_t i = 0; i < n->n_firing; i++) {
		if (i)
			vg_buf_putc(&b, ',');
		vg_buf_puts(&b, n->firing[i].body);
	}
	vg_buf_putc(&b, ']');
	vg_buf_putc(&b, '\0');
	snprintf(url, sizeof(url), "%s/api/v2/alerts", nf->url);
	if (!b.failed && http_post(nf, url, b.p, n->p.timeout_ms, NULL) == DELIVERED)
		nf->resent++;
	else
		nf->retried++; /* the next re-send or delivery tries again */
	vg_buf_free(&b);
}

/* The entry after nf's cursor, or NULL (called locked). */
static struct entry *next_for(struct vg_notify *n, const struct notifier *nf)
{
	for (size_t i = 0; i < n->nq; i++)
		if (n->q[i]->seq > nf->cursor)
			return n->q[i];
	return NULL;
}

/* Free what every notifier has delivered; empty the outbox file when all
 * is (called locked). */
static void compact(struct vg_notify *n)
{
	uint64_t low = UINT64_MAX;
	size_t keep = 0;

	for (size_t i = 0; i < n->n; i++)
		if (n->nf[i].cursor < low)
			low = n->nf[i].cursor;
	for (size_t i = 0; i < n->nq; i++) {
		if (n->q[i]->seq <= low)
			entry_free(n->q[i]);
		else
			n->q[keep++] = n->q[i];
	}
	if (keep == 0 && n->nq > 0 && ftruncate(n->outbox_fd, 0) == 0) {
		fsync(n->outbox_fd);
		n->outbox_lines = 0;
	}
	n->nq = keep;
}

static int64_t jittered(struct vg_notify *n, int64_t ms)
{
	return ms * 8 / 10 + (int64_t)(rand_r(&n->rng) % (unsigned)(ms * 4 / 10 + 1));
}

static void *notify_main(void *arg)
{
	struct vg_notify *n = arg;

	pthread_mutex_lock(&n->mu);
	while (!n->stop) {
		int64_t now = vg_clock_now_ms(), wake = now + 1000;
		bool progressed = false;

		for (size_t i = 0; i < n->n && !n->stop; i++) {
			struct notifier *nf = &n->nf[i];
			struct entry *e;

			if (nf->next_try_ms > now) {
				if (nf->next_try_ms < wake)
					wake = nf->next_try_ms;
				continue;
			}
			/* One change per notifier per round (the break at the end):
			 * a slow receiver slows the others by its latency, it never
			 * starves them. */
			while (!n->stop && (e = next_for(n, nf))) {
				n->busy = e;
				n->busy_nf = i;
				n->busy_dropped = false;
				pthread_mutex_unlock(&n->mu);
				enum outcome o = deliver(n, nf, e);

				pthread_mutex_lock(&n->mu);
				bool dropped = n->busy_dropped;

				n->busy = NULL;
				if (o == RETRY && dropped) {
					/* No longer in the outbox: lost for this notifier. */
					nf->dropped++;
					if (nf->cursor < e->seq) {
						nf->cursor = e->seq;
						cursor_write(nf);
					}
					vg_log_kv(VG_LOG_ERROR, "notify",
						  "outbox full: dropped the oldest undelivered alert",
						  VG_LOG_S("notifier", nf->name), VG_LOG_I("seq", e->seq));
					entry_free(e);
				}
				if (o == RETRY) {
					nf->retried++;
					nf->failing = true;
					nf->backoff_ms = nf->backoff_ms ? nf->backoff_ms * 2 : 1000;
					if (nf->backoff_ms > 60000)
						nf->backoff_ms = 60000;
					nf->next_try_ms = vg_clock_now_ms() + jittered(n, nf->backoff_ms);
					if (nf->next_try_ms < wake)
						wake = nf->next_try_ms;
					break;
				}
				if (nf->failing)
					vg_log_kv(VG_LOG_INFO, "notify", "notifier delivering again",
						  VG_LOG_S("notifier", nf->name));
				nf->failing = false;
				nf->backoff_ms = 0;
				if (o == DELIVERED)
					nf->sent++;
				else
					nf->failed++;
				/* Drops while e was out may have moved the cursor on. */
				if (nf->cursor < e->seq)
					nf->cursor = e->seq;
				cursor_write(nf);
				if (nf->kind == K_ALERTMANAGER && o == DELIVERED)
					track_firing(n, e);
				if (dropped)
					entry_free(e);
				progressed = true;
				break;
			}
			if (nf->kind == K_ALERTMANAGER && !nf->failing && n->n_firing && !next_for(n, nf)) {
				if (now - n->last_resend_ms >= n->p.resend_ms) {
					n->last_resend_ms = now;
					pthread_mutex_unlock(&n->mu);
					resend(n, nf);
					pthread_mutex_lock(&n->mu);
				}
				if (n->last_resend_ms + n->p.resend_ms < wake)
					wake = n->last_resend_ms + n->p.resend_ms;
			}
		}
		if (progressed) {
			compact(n);
			pthread_cond_broadcast(&n->cv);
			continue;
		}
		int64_t w = wake > now ? wake : now + 10;
		struct timespec ts = vg_clock_deadline(CLOCK_REALTIME, w - now);

		pthread_cond_timedwait(&n->cv, &n->mu, &ts);
	}
	pthread_mutex_unlock(&n->mu);
	return NULL;
}

/* ---- the API ------------------------------------------------------------ */

/* The user's producer properties into conf, each refused at its line. */
static int kafka_conf_user(rd_kafka_conf_t *conf, const struct vg_notify_params *p, char *errbuf, size_t errlen)
{
	char err[512];

	for (size_t i = 0; i + 1 < p->n_kafka_properties; i += 2) {
		if (rd_kafka_conf_set(conf, p->kafka_properties[i], p->kafka_properties[i + 1], err, sizeof(err))) {
			if (p->source && p->kafka_property_lines)
				snprintf(errbuf, errlen, "%s:%d: notify.kafka.properties: %s", p->source,
					 p->kafka_property_lines[i], err);
			else
				snprintf(errbuf, errlen, "notify.kafka.properties: %s", err);
			return VG_ERR_CONFIG;
		}
	}
	return VG_OK;
}

int vg_notify_kafka_check(const struct vg_notify_params *p, char *errbuf, size_t errlen)
{
	rd_kafka_conf_t *conf;
	int rc;

	if (!p->kafka_topic)
		return VG_OK;
	if (!(conf = rd_kafka_conf_new()))
		return VG_ERR_NOMEM;
	rc = kafka_conf_user(conf, p, errbuf, errlen);
	rd_kafka_conf_destroy(conf);
	return rc;
}

/* The producer of the Kafka notifier. */
static int kafka_open(struct vg_notify *n, struct notifier *nf, char *errbuf, size_t errlen)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char err[512];

	if (!conf)
		return VG_ERR_NOMEM;
	/* The user's properties first; the delivery contract over them. */
	if (kafka_conf_user(conf, &n->p, errbuf, errlen) != VG_OK) {
		rd_kafka_conf_destroy(conf);
		return VG_ERR_CONFIG;
	}
	if (rd_kafka_conf_set(conf, "bootstrap.servers", n->p.kafka_brokers, err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "acks", "all", err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "linger.ms", "0", err, sizeof(err))) {
		snprintf(errbuf, errlen, "notify.kafka: %s", err);
		rd_kafka_conf_destroy(conf);
		return VG_ERR_CONFIG;
	}
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_conf_set_error_cb(conf, on_error);
	rd_kafka_conf_set_log_cb(conf, on_log);
	rd_kafka_conf_set_opaque(conf, nf);
	if (!(nf->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)))) {
		snprintf(errbuf, errlen, "notify.kafka: %s", err);
		rd_kafka_conf_destroy(conf);
		return VG_ERR_CONFIG;
	}
	return VG_OK;
}

static int add_notifier(struct vg_notify *n, enum kind kind, const char *url, const char *name)
{
	struct notifier *nf = &n->nf[n->n];

	memset(nf, 0, sizeof(*nf));
	nf->kind = kind;
	nf->cursor_fd = -1;
	snprintf(nf->name, sizeof(nf->name), "%s", name);
	if (url && !(nf->url = strdup(url)))
		return VG_ERR_NOMEM;
	if (url) {
		size_t l = strlen(nf->url);

		while (l && nf->url[l - 1] == '/' && kind == K_ALERTMANAGER)
			nf->url[--l] = '\0';
		if (!(nf->curl = curl_easy_init()))
			return VG_ERR_NOMEM;
	}
	n->n++;
	return VG_OK;
}

/* What the configuration guarantees, checked for every caller: without
 * it the thread would spin (resend 0), hang on a receiver (timeout 0) or
 * pass NULL on (outbox, URLs, brokers). */
static int check_params(const struct vg_notify_params *p, char *errbuf, size_t errlen)
{
	if (p->n_webhooks > VG_NOTIFY_MAX - 3) {
		snprintf(errbuf, errlen, "notify.webhooks: at most %d", VG_NOTIFY_MAX - 3);
		return VG_ERR_CONFIG;
	}
	for (size_t i = 0; i < p->n_webhooks; i++) {
		if (!p->webhooks[i].url || !p->webhooks[i].url[0]) {
			snprintf(errbuf, errlen, "notify.webhooks: webhook %zu has no url", i);
			return VG_ERR_CONFIG;
		}
	}
	if (p->alertmanager_url && p->resend_ms <= 0) {
		snprintf(errbuf, errlen, "notify.alertmanager.resend_interval: must be positive");
		return VG_ERR_CONFIG;
	}
	if (p->kafka_topic && (!p->kafka_brokers || !p->kafka_brokers[0])) {
		snprintf(errbuf, errlen, "notify.kafka.brokers: needed for notify.kafka.topic");
		return VG_ERR_CONFIG;
	}
	if (!p->outbox_dir || !p->outbox_dir[0]) {
		snprintf(errbuf, errlen, "notify.outbox.dir: needed");
		return VG_ERR_CONFIG;
	}
	if (p->outbox_max < 1) {
		snprintf(errbuf, errlen, "notify.outbox.max: at least 1");
		return VG_ERR_CONFIG;
	}
	if (p->timeout_ms <= 0) {
		snprintf(errbuf, errlen, "notify.timeout: must be positive");
		return VG_ERR_CONFIG;
	}
	return VG_OK;
}

int vg_notify_create(struct vg_notify **out, const struct vg_notify_params *p, char *errbuf, size_t errlen)
{
	struct vg_notify *n;
	int rc = VG_OK;

	*out = NULL;
	if (!p->alertmanager_url && !p->n_webhooks && !p->kafka_topic && !p->file)
		return VG_OK;
	if ((rc = check_params(p, errbuf, errlen)) != VG_OK)
		return rc;
	if (!(n = calloc(1, sizeof(*n))))
		return VG_ERR_NOMEM;
	n->p = *p;
	n->outbox_fd = -1;
	n->rng = (unsigned)time(NULL);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (p->alertmanager_url)
		rc = add_notifier(n, K_ALERTMANAGER, p->alertmanager_url, "alertmanager");
	for (size_t i = 0; rc == VG_OK && i < p->n_webhooks; i++) {
		char name[16];

		snprintf(name, sizeof(name), "webhook%u", (unsigned)(i % 100));
		if ((rc = add_notifier(n, K_WEBHOOK, p->webhooks[i].url, name)) == VG_OK)
			n->nf[n->n - 1].secret = p->webhooks[i].secret;
	}
	if (rc == VG_OK && p->kafka_topic && (rc = add_notifier(n, K_KAFKA, NULL, "kafka")) == VG_OK)
		rc = kafka_open(n, &n->nf[n->n - 1], errbuf, errlen);
	if (rc == VG_OK && p->file) {
		rc = add_notifier(n, K_FILE, NULL, "file");
		n->file = strcmp(p->file, "-") == 0 ? stdout : fopen(p->file, "a");
		if (!n->file) {
			snprintf(errbuf, errlen, "notify.file.path %s: %s", p->file, strerror(errno));
			rc = VG_ERR_IO;
		}
	}
	if (rc == VG_OK)
		rc = outbox_open(n, errbuf, errlen);
	if (rc == VG_OK && (pthread_mutex_init(&n->mu, NULL) != 0 || pthread_cond_init(&n->cv, NULL) != 0 ||
			    pthread_create(&n->thread, NULL, notify_main, n) != 0))
		rc = VG_ERR_NOMEM;
	n->running = rc == VG_OK;
	if (rc != VG_OK) {
		if (rc == VG_ERR_NOMEM)
			snprintf(errbuf, errlen, "notify: out of memory");
		vg_notify_destroy(n);
		return rc;
	}
	*out = n;
	return VG_OK;
}

int vg_notify_push(struct vg_notify *n, const struct vg_alert *al)
{
	struct entry *e = calloc(1, sizeof(*e));
	struct vg_buf b[3] = {{0}, {0}, {0}};
	int rc = VG_ERR_NOMEM;

	if (!e)
		return rc;
	am_body(&b[K_ALERTMANAGER], al, n->p.generator_url);
	webhook_body(&b[K_WEBHOOK], al, n->p.generator_url);
	vg_alert_json(al, &b[K_FILE]);
	for (int k = 0; k < 3; k++) {
		vg_buf_putc(&b[k], '\0');
		if (b[k].failed)
			goto out;
		e->body[k] = b[k].p; /* taken over */
		b[k] = (struct vg_buf){0};
	}
	e->fp = al->fingerprint;
	e->resolved = al->state == VG_ALERT_RESOLVED;
	pthread_mutex_lock(&n->mu);
	e->seq = n->last_seq + 1;
	if ((rc = outbox_write(n, e, true)) == VG_OK) {
		/* Bounded: past the bound, drop the oldest, loudly. */
		while (n->nq >= n->p.outbox_max && n->nq) {
			uint64_t seq = n->q[0]->seq;

			if (drop_oldest(n))
				vg_log_kv(VG_LOG_ERROR, "notify", "outbox full: dropped the oldest undelivered alert",
					  VG_LOG_I("seq", seq));
		}
		rc = queue_add(n, e);
		if (rc == VG_OK)
			e = NULL;
		n->outbox_lines++;
		outbox_bound(n);
		pthread_cond_broadcast(&n->cv);
	} else {
		vg_log_kv(VG_LOG_ERROR, "notify", "cannot write the outbox", VG_LOG_S("path", n->outbox_path),
			  VG_LOG_S("error", strerror(errno)));
	}
	pthread_mutex_unlock(&n->mu);
out:
	for (int k = 0; k < 3; k++)
		vg_buf_free(&b[k]);
	entry_free(e);
	return rc;
}

bool vg_notify_drain(struct vg_notify *n, int64_t timeout_ms)
{
	int64_t until = vg_clock_now_ms() + timeout_ms;
	bool done = false;

	pthread_mutex_lock(&n->mu);
	for (;;) {
		done = true;
		for (size_t i = 0; i < n->n; i++)
			done &= n->nf[i].cursor >= n->last_seq;
		int64_t now = vg_clock_now_ms();

		if (done || now >= until)
			break;
		struct timespec ts = vg_clock_deadline(CLOCK_REALTIME, until - now < 100 ? until - now : 100);

		pthread_cond_timedwait(&n->cv, &n->mu, &ts);
	}
	pthread_mutex_unlock(&n->mu);
	return done;
}

void vg_notify_get_stats(struct vg_notify *n, struct vg_notify_stats *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&n->mu);
	out->n = n->n;
	for (size_t i = 0; i < n->n; i++) {
		const struct notifier *nf = &n->nf[i];

		memcpy(out->name[i], nf->name, sizeof(out->name[i]));
		out->sent[i] = nf->sent;
		out->resent[i] = nf->resent;
		out->retried[i] = nf->retried;
		out->failed[i] = nf->failed;
		out->dropped[i] = nf->dropped;
		out->failing[i] = nf->failing;
		out->pending[i] = n->last_seq - nf->cursor;
	}
	pthread_mutex_unlock(&n->mu);
}

void vg_notify_destroy(struct vg_notify *n)
{
	if (!n)
		return;
	if (n->running) {
		pthread_mutex_lock(&n->mu);
		n->stop = true;
		pthread_cond_broadcast(&n->cv);
		pthread_mutex_unlock(&n->mu);
		pthread_join(n->thread, NULL);
		pthread_mutex_destroy(&n->mu);
		pthread_cond_destroy(&n->cv);
	}
	for (size_t i = 0; i < n->n; i++) {
		free(n->nf[i].url);
		if (n->nf[i].curl)
			curl_easy_cleanup(n->nf[i].curl);
		if (n->nf[i].cursor_fd >= 0)
			close(n->nf[i].cursor_fd);
		if (n->nf[i].rk) {
			/* What is still in flight stays in the outbox for the next run. */
			rd_kafka_purge(n->nf[i].rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
			rd_kafka_destroy(n->nf[i].rk);
		}
	}
	for (size_t i = 0; i < n->nq; i++)
		entry_free(n->q[i]);
	for (size_t i = 0; i < n->n_firing; i++)
		free(n->firing[i].body);
	free(n->firing);
	free(n->q);
	if (n->file && n->file != stdout)
		fclose(n->file);
	if (n->outbox_fd >= 0)
		close(n->outbox_fd);
	free(n->outbox_path);
	free(n);
}

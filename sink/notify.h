/* vigil: the alert feed's notifiers.
 *
 * Every alert change the engine decides is written to a persistent outbox
 * (<outbox>/outbox.jsonl, fsynced) before vg_notify_push returns, and one
 * notifier thread delivers it to each configured notifier in order, one
 * change per notifier in turn (a slow receiver delays the others by its
 * latency, it never starves them):
 *
 *  - Alertmanager API v2: POST <url>/api/v2/alerts with the alert's labels,
 *    annotations, startsAt, endsAt (resolved) and generatorURL; firing
 *    alerts are re-sent every resend interval, as Alertmanager expects;
 *  - webhooks: POST of Alertmanager's webhook payload (version "4", one
 *    alert per request), so existing receivers work; with a secret, signed:
 *    X-Vigil-Signature: sha256=<hex HMAC-SHA256 of the body>;
 *  - a Kafka topic: key the fingerprint (16 hex digits), value the alert
 *    as the file gets it; idempotent producer, acks=all, and a change
 *    counts as sent only when its delivery report says so;
 *  - a file (or standard output): one NDJSON line per change.
 *
 * A failed delivery is retried with exponential backoff and jitter (1 s up
 * to 60 s); each notifier keeps its own place (<outbox>/cursor-N), so a
 * dead one never holds back the others, and ingest never waits for any.
 * What was pushed before a crash is delivered after the restart. The
 * outbox is bounded (entries): past it the oldest undelivered entries are
 * dropped, counted and logged (never silently).
 *
 * vg_notify_push from one thread (the closer); the rest is internal. */
#ifndef VG_NOTIFY_H
#define VG_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert/alert.h"

struct vg_notify_webhook {
	const char *url;
	const char *secret; /* HMAC-SHA256 key for X-Vigil-Signature; NULL: unsigned */
};

struct vg_notify_params {
	const char *alertmanager_url; /* base URL (http://127.0.0.1:9093); NULL: none */
	int64_t resend_ms;            /* Alertmanager re-send of firing alerts */
	const struct vg_notify_webhook *webhooks;
	size_t n_webhooks;
	const char *kafka_brokers; /* bootstrap servers for kafka_topic */
	const char *kafka_topic;   /* NULL: none */
	const char *const *kafka_properties; /* pairs: [2i] = [2i+1], before vigil's own */
	size_t n_kafka_properties;           /* entries (twice the pairs) */
	const int *kafka_property_lines;     /* each entry's line in source, or NULL */
	const char *source;                  /* the configuration file, for errors; or NULL */
	const char *file;       /* NDJSON path, "-" for standard output; NULL: none */
	const char *outbox_dir; /* created when missing */
	size_t outbox_max;      /* entries kept undelivered at most */
	int64_t timeout_ms;     /* per HTTP request and per Kafka delivery */
	const char *generator_url;
};

#define VG_NOTIFY_MAX 11 /* notifiers: Alertmanager, Kafka, file, and up to 8 webhooks */

struct vg_notify_stats {
	size_t n;
	char name[VG_NOTIFY_MAX][16]; /* "alertmanager", "webhook0", "kafka", "file" */
	uint64_t sent[VG_NOTIFY_MAX], retried[VG_NOTIFY_MAX], failed[VG_NOTIFY_MAX], dropped[VG_NOTIFY_MAX];
	uint64_t resent[VG_NOTIFY_MAX]; /* Alertmanager: firing set re-sent (not in sent) */
	uint64_t pending[VG_NOTIFY_MAX]; /* outbox entries not yet delivered */
	bool failing[VG_NOTIFY_MAX];     /* the last attempt failed */
};

struct vg_notify;

/* Open the outbox (delivering what an earlier run left), start the
 * notifier thread. Returns 0, VG_ERR_IO / VG_ERR_CONFIG (errbuf set) or
 * VG_ERR_NOMEM. With no notifier configured *out is NULL and 0 returned.
 * VG_ERR_CONFIG also for parameters out of range: a webhook without url,
 * a Kafka topic without brokers, no outbox_dir, outbox_max 0, timeout_ms
 * (or resend_ms with Alertmanager) not positive. */
int vg_notify_create(struct vg_notify **out, const struct vg_notify_params *p, char *errbuf, size_t errlen);

/* What vg_notify_create refuses of the Kafka notifier's properties,
 * checked without creating a producer (vigil config --check): each goes
 * through librdkafka's rd_kafka_conf_set, by the function the producer's
 * configuration is built with. Nothing to check without kafka_topic.
 * Returns 0, VG_ERR_CONFIG with "SOURCE:LINE: notify.kafka.properties:
 * librdkafka's reason" in errbuf, or VG_ERR_NOMEM. Thread-safe. */
int vg_notify_kafka_check(const struct vg_notify_params *p, char *errbuf, size_t errlen);

/* Queue one alert change for every notifier: in the outbox, fsynced, when
 * this returns 0; VG_ERR_IO otherwise (logged). Never waits on delivery. */
int vg_notify_push(struct vg_notify *n, const struct vg_alert *al);

/* Wait until every notifier has delivered everything queued, or
 * timeout_ms passed. Returns true when all was delivered. */
bool vg_notify_drain(struct vg_notify *n, int64_t timeout_ms);

void vg_notify_get_stats(struct vg_notify *n, struct vg_notify_stats *out);

/* Stop the thread; what is undelivered stays in the outbox. NULL: no-op. */
void vg_notify_destroy(struct vg_notify *n);

#endif

/* Tests for sink/notify, against real receivers on 127.0.0.1: an HTTP
 * listener thread in this file (plain sockets; it records every request
 * and answers as told: a status, a script of statuses, or holding the
 * answer until released) and the embedded Kafka broker read back with a
 * librdkafka consumer. Checked: the Alertmanager API v2 body and its
 * re-sends, the webhook payload and its HMAC signature (recomputed here
 * from SHA-256), retries and refusals, drain, the outbox across a destroy
 * and a crash, the outbox bound, the file and Kafka notifiers, and the
 * parameters create refuses. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <limits.h>
#include <netinet/in.h>
#include <openssl/sha.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "ingest/broker.h"
#include "sink/notify.h"

#define WAIT_MS 10000 /* bound on any wait for something that must happen */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(int ms)
{
	struct timespec ts = {0, (long)ms * 1000000L};

	nanosleep(&ts, NULL);
}

/* ---- a temporary directory per test ----------------------------------- */

static char dir[PATH_MAX], outbox[PATH_MAX + 32];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/vigil-notify-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(outbox, sizeof(outbox), "%s/outbox", dir);
}

static void teardown(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(notify, .init = setup, .fini = teardown);

/* ---- an HTTP receiver ---------------------------------------------------- */

#define MAX_REQS 64

struct req {
	char method[8], path[128], ctype[64];
	char sig[128]; /* X-Vigil-Signature's value, "" when absent */
	bool has_sig;
	char *body;
	int status; /* what it was answered */
};

struct listener {
	int fd, wake[2], port;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int script[8]; /* the first answers, in order; then status */
	size_t n_script, next;
	int status;
	bool hold; /* answer nothing until released */
	size_t hold_from; /* hold the requests from this one on (1-based); 0: none */
	bool stop;
	struct req reqs[MAX_REQS];
	size_t n;
	char buf[1 << 20]; /* the request being read */
};

/* Read one request from c: head and body (by Content-Length). */
static bool read_request(struct listener *l, int c, struct req *r)
{
	char *buf = l->buf;
	size_t n = 0;
	char *body = NULL;
	long want = 0;
	bool continued = false;

	for (;;) {
		struct pollfd p[2] = {{c, POLLIN, 0}, {l->wake[0], POLLIN, 0}};

		if (poll(p, 2, WAIT_MS) <= 0 || p[1].revents)
			return false;
		ssize_t got = read(c, buf + n, sizeof(l->buf) - 1 - n);

		if (got <= 0)
			return false;
		n += (size_t)got;
		buf[n] = '\0';
		if (!body && (body = strstr(buf, "\r\n\r\n"))) {
			*body = '\0';
			body += 4;
			sscanf(buf, "%7s %127s", r->method, r->path);
			for (char *h = strstr(buf, "\r\n"); h; h = strstr(h + 2, "\r\n")) {
				const char *v;

				if (strncasecmp(h + 2, "Content-Length:", 15) == 0)
					want = strtol(h + 17, NULL, 10);
				else if (strncasecmp(h + 2, "Content-Type: ", 14) == 0)
					sscanf(h + 16, "%63[^\r]", r->ctype);
				else if (strncasecmp(h + 2, "X-Vigil-Signature:", 18) == 0) {
					for (v = h + 20; *v == ' '; v++)
						;
					r->has_sig = true;
					sscanf(v, "%127[^\r]", r->sig);
				} else if (strncasecmp(h + 2, "Expect: 100-continue", 20) == 0 && !continued) {
					continued = true;
					if (send(c, "HTTP/1.1 100 Continue\r\n\r\n", 25, MSG_NOSIGNAL) != 25)
						return false;
				}
			}
		}
		if (body && buf + n - body >= want) {
			r->body = strndup(body, (size_t)want);
			return true;
		}
	}
}

static void *listener_main(void *arg)
{
	struct listener *l = arg;

	for (;;) {
		struct pollfd p[2] = {{l->fd, POLLIN, 0}, {l->wake[0], POLLIN, 0}};

		if (poll(p, 2, -1) < 0 || p[1].revents)
			break;
		int c = accept(l->fd, NULL, NULL);
		struct req r = {0};

		if (c < 0)
			continue;
		if (!read_request(l, c, &r)) {
			free(r.body);
			close(c);
			continue;
		}
		pthread_mutex_lock(&l->mu);
		size_t i = l->n < MAX_REQS ? l->n++ : MAX_REQS - 1;

		free(l->reqs[i].body);
		l->reqs[i] = r;
		pthread_cond_broadcast(&l->cv);
		while ((l->hold || (l->hold_from && i + 1 >= l->hold_from)) && !l->stop)
			pthread_cond_wait(&l->cv, &l->mu);
		int status = l->next < l->n_script ? l->script[l->next++] : l->status;

		l->reqs[i].status = status;
		pthread_mutex_unlock(&l->mu);
		char resp[128];
		int len = snprintf(resp, sizeof(resp),
		                   "HTTP/1.1 %d X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status);

		send(c, resp, (size_t)len, MSG_NOSIGNAL); /* a client that gave up retries: no SIGPIPE */
		close(c);
	}
	return NULL;
}

static struct listener *listen_start(int status)
{
	struct listener *l = calloc(1, sizeof(*l));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);

	cr_assert_not_null(l);
	l->status = status;
	cr_assert_geq(l->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), 0);
	cr_assert_eq(bind(l->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(l->fd, 16), 0);
	cr_assert_eq(getsockname(l->fd, (struct sockaddr *)&a, &al), 0);
	l->port = ntohs(a.sin_port);
	cr_assert_eq(pipe(l->wake), 0);
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	cr_assert_eq(pthread_create(&l->thread, NULL, listener_main, l), 0);
	return l;
}

static void listen_stop(struct listener *l)
{
	pthread_mutex_lock(&l->mu);
	l->stop = true;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
	cr_assert_eq(write(l->wake[1], "x", 1), 1);
	pthread_join(l->thread, NULL);
	close(l->fd);
	close(l->wake[0]);
	close(l->wake[1]);
	for (size_t i = 0; i < l->n; i++)
		free(l->reqs[i].body);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	free(l);
}

/* The next answers: statuses[0..n), then the default status. */
static void listen_script(struct listener *l, const int *statuses, size_t n)
{
	pthread_mutex_lock(&l->mu);
	cr_assert_leq(n, sizeof(l->script) / sizeof(l->script[0]));
	memcpy(l->script, statuses, n * sizeof(*statuses));
	l->n_script = n;
	l->next = 0;
	pthread_mutex_unlock(&l->mu);
}

static void listen_set(struct listener *l, int status, bool hold)
{
	pthread_mutex_lock(&l->mu);
	l->status = status;
	l->hold = hold;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

/* Hold the requests from the nth on (0: none). */
static void listen_hold_from(struct listener *l, size_t n)
{
	pthread_mutex_lock(&l->mu);
	l->hold_from = n;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

/* Wait until at least n requests came in. */
static bool listen_await(struct listener *l, size_t n)
{
	int64_t until = now_ms() + WAIT_MS;

	pthread_mutex_lock(&l->mu);
	while (l->n < n && now_ms() < until) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&l->cv, &l->mu, &ts);
	}
	bool ok = l->n >= n;

	pthread_mutex_unlock(&l->mu);
	return ok;
}

/* A copy of request i (its body still the listener's; call once the
 * request was answered, or the status reads 0). */
static struct req listen_req(struct listener *l, size_t i)
{
	pthread_mutex_lock(&l->mu);
	cr_assert_lt(i, l->n);
	struct req r = l->reqs[i];

	pthread_mutex_unlock(&l->mu);
	return r;
}

static size_t listen_count(struct listener *l)
{
	pthread_mutex_lock(&l->mu);
	size_t n = l->n;

	pthread_mutex_unlock(&l->mu);
	return n;
}

static char *url(const struct listener *l, const char *path)
{
	static char u[4][128];
	static int k;

	k = (k + 1) % 4;
	snprintf(u[k], sizeof(u[k]), "http://127.0.0.1:%d%s", l->port, path);
	return u[k];
}

/* ---- alerts and what each notifier makes of them ------------------------- */

#define T0 1793491200000LL /* 2026-11-01T00:00:00Z */

static const char *const label_names[] = {"alertname", "service", "severity"};
static const char *const ann_names[] = {"summary"};

/* An alert change: firing (or resolved) HighErrorRate on service, with a
 * quote in its annotation for the JSON escaping. */
static struct vg_alert alert(const char *service, uint64_t fp, enum vg_alert_state state)
{
	static char summary[16][64]; /* views valid for the next 15 calls */
	static int k;
	struct vg_alert al = {
	        .name = "HighErrorRate",
	        .state = state,
	        .severity = "P1",
	        .fingerprint = fp,
	        .value = 0.25,
	        .at = state == VG_ALERT_RESOLVED ? T0 + 660000 : T0 + 430000,
	        .active_at = T0 + 130000,
	        .fired_at = T0 + 430000,
	        .resolved_at = state == VG_ALERT_RESOLVED ? T0 + 660000 : 0,
	        .n_labels = 3,
	        .n_annotations = 1,
	};

	k = (k + 1) % 16;
	snprintf(summary[k], sizeof(summary[k]), "5xx at 25%% on \"%s\"", service);
	for (int i = 0; i < 3; i++)
		al.label_names[i] = label_names[i];
	al.label_values[0] = "HighErrorRate";
	al.label_values[1] = service;
	al.label_values[2] = "P1";
	al.annotation_names[0] = ann_names[0];
	al.annotation_values[0] = summary[k];
	return al;
}

#define FP_A 0x56f7a8e4769e4291ULL
#define FP_B 0x00000000000000abULL
#define FP_A_HEX "56f7a8e4769e4291"
#define FP_B_HEX "00000000000000ab"

/* What alert(svc, fp, ...) becomes for each kind of notifier, written out
 * here from the formats they promise. */
enum body {
	AM,   /* Alertmanager API v2: a postableAlert; endsAt only once resolved */
	HOOK, /* Alertmanager's webhook payload, version 4, one alert */
	LINE, /* the alert NDJSON (vg_alert_json), to the file and Kafka */
};

#define LABELS "{\"alertname\":\"HighErrorRate\",\"service\":\"%1$s\",\"severity\":\"P1\"}"
#define ANNOTATIONS "{\"summary\":\"5xx at 25%% on \\\"%1$s\\\"\"}"
#define STARTS "\"startsAt\":\"2026-11-01T00:07:10.000Z\""

/* The body expected (a view valid for the next 7 calls). */
static const char *expect_body(enum body kind, const char *svc, const char *fp, bool resolved)
{
	static char out[8][2048];
	static int k;
	const char *ends = resolved       ? ",\"endsAt\":\"2026-11-01T00:11:00.000Z\""
	                   : kind == HOOK ? ",\"endsAt\":\"0001-01-01T00:00:00Z\"" /* Alertmanager's zero time */
	                                  : "";
	const char *status = resolved ? "resolved" : "firing";
	char alert[1024];

	k = (k + 1) % 8;
	/* The members an alert has in both Alertmanager formats. */
	snprintf(alert, sizeof(alert),
	         "\"labels\":" LABELS ",\"annotations\":" ANNOTATIONS "," STARTS "%2$s,"
	         "\"generatorURL\":\"http://vigil.test/alerts\"",
	         svc, ends);
	switch (kind) {
	case AM: snprintf(out[k], sizeof(out[k]), "{%s}", alert); break;
	case HOOK:
		snprintf(out[k], sizeof(out[k]),
		         "{\"version\":\"4\",\"groupKey\":\"%2$s\",\"truncatedAlerts\":0,\"status\":\"%3$s\","
		         "\"receiver\":\"vigil\",\"groupLabels\":{\"alertname\":\"HighErrorRate\"},"
		         "\"commonLabels\":" LABELS ",\"commonAnnotations\":" ANNOTATIONS ",\"externalURL\":\"\","
		         "\"alerts\":[{\"status\":\"%3$s\",%4$s,\"fingerprint\":\"%2$s\"}]}",
		         svc, fp, status, alert);
		break;
	case LINE:
		snprintf(out[k], sizeof(out[k]),
		         "{\"at\":\"%4$s\",\"alertname\":\"HighErrorRate\",\"state\":\"%3$s\",\"severity\":\"P1\","
		         "\"labels\":" LABELS ",\"value\":0.25,\"fingerprint\":\"%2$s\",\"annotations\":" ANNOTATIONS
		         ",\"activeAt\":\"2026-11-01T00:02:10.000Z\"," STARTS "%5$s}",
		         svc, fp, status, resolved ? "2026-11-01T00:11:00.000Z" : "2026-11-01T00:07:10.000Z", ends);
		break;
	}
	return out[k];
}

/* An Alertmanager request: the array of a (and b when not NULL). */
static const char *am_array(const char *a, const char *b)
{
	static char out[8][4096];
	static int k;

	k = (k + 1) % 8;
	snprintf(out[k], sizeof(out[k]), "[%s%s%s]", a, b ? "," : "", b ? b : "");
	return out[k];
}

static struct vg_notify_params params(void)
{
	return (struct vg_notify_params){
	        .resend_ms = 3600000,
	        .outbox_dir = outbox,
	        .outbox_max = 1000,
	        .timeout_ms = 5000,
	        .generator_url = "http://vigil.test/alerts",
	};
}

static struct vg_notify *create(const struct vg_notify_params *p)
{
	struct vg_notify *n = NULL;
	char err[256] = "";

	cr_assert_eq(vg_notify_create(&n, p, err, sizeof(err)), VG_OK, "%s", err);
	cr_assert_not_null(n);
	return n;
}

static void push(struct vg_notify *n, const struct vg_alert *al)
{
	cr_assert_eq(vg_notify_push(n, al), VG_OK);
}

/* Index of the notifier called name in s. */
static size_t stat_of(const struct vg_notify_stats *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->name[i], name) == 0)
			return i;
	cr_assert_fail("no notifier %s", name);
	return 0;
}

/* The stats of notifier name once cond(stats, i) holds (or WAIT_MS). */
static struct vg_notify_stats await_stats(struct vg_notify *n, const char *name,
                                          bool (*cond)(const struct vg_notify_stats *, size_t))
{
	struct vg_notify_stats s;
	int64_t until = now_ms() + WAIT_MS;

	for (;;) {
		vg_notify_get_stats(n, &s);
		if (cond(&s, stat_of(&s, name)) || now_ms() >= until)
			return s;
		pause_ms(5);
	}
}

static bool has_retried(const struct vg_notify_stats *s, size_t i)
{
	return s->retried[i] > 0;
}

static bool sent_two(const struct vg_notify_stats *s, size_t i)
{
	return s->sent[i] >= 2;
}

static void expect_counts(const struct vg_notify_stats *s, const char *name, uint64_t sent, uint64_t retried,
                          uint64_t failed, uint64_t dropped, uint64_t pending)
{
	size_t i = stat_of(s, name);

	cr_expect_eq(s->sent[i], sent, "%s sent %llu", name, (unsigned long long)s->sent[i]);
	cr_expect_eq(s->retried[i], retried, "%s retried %llu", name, (unsigned long long)s->retried[i]);
	cr_expect_eq(s->failed[i], failed, "%s failed %llu", name, (unsigned long long)s->failed[i]);
	cr_expect_eq(s->dropped[i], dropped, "%s dropped %llu", name, (unsigned long long)s->dropped[i]);
	cr_expect_eq(s->pending[i], pending, "%s pending %llu", name, (unsigned long long)s->pending[i]);
}

/* A whole file, NUL-terminated; caller frees. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *p = calloc(1, 1 << 20);
	size_t n;

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	n = fread(p, 1, (1 << 20) - 1, f);
	p[n] = '\0';
	fclose(f);
	return p;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ---- HMAC-SHA256 (RFC 2104), built here on SHA-256 --------------------- */

static void hmac_sha256_hex(const char *key, const char *msg, char hex[65])
{
	unsigned char k[64] = {0}, pad[64], inner[32], mac[32];
	size_t klen = strlen(key), mlen = strlen(msg);
	unsigned char *buf = malloc(64 + (mlen > 32 ? mlen : 32));

	cr_assert_not_null(buf);
	if (klen > 64)
		SHA256((const unsigned char *)key, klen, k);
	else
		memcpy(k, key, klen);
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x36;
	memcpy(buf, pad, 64);
	memcpy(buf + 64, msg, mlen);
	SHA256(buf, 64 + mlen, inner);
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x5c;
	memcpy(buf, pad, 64);
	memcpy(buf + 64, inner, 32);
	SHA256(buf, 64 + 32, mac);
	free(buf);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
}

Test(notify, the_test_hmac_matches_rfc_4231)
{
	char hex[65], big[132];

	hmac_sha256_hex("Jefe", "what do ya want for nothing?", hex); /* test case 2 */
	cr_expect_str_eq(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	memset(big, 0xaa, 131); /* test case 6: a key longer than the block */
	big[131] = '\0';
	hmac_sha256_hex(big, "Test Using Larger Than Block-Size Key - Hash Key First", hex);
	cr_expect_str_eq(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

/* ---- Alertmanager -------------------------------------------------------- */

Test(notify, alertmanager_gets_api_v2_alerts)
{
	struct listener *l = listen_start(200);
	struct vg_notify_params p = params();
	struct vg_notify_stats s;

	p.alertmanager_url = url(l, "/"); /* a trailing slash is dropped */
	struct vg_notify *n = create(&p);
	struct vg_alert firing = alert("orders", FP_A, VG_ALERT_FIRING),
	                resolved = alert("orders", FP_A, VG_ALERT_RESOLVED);

	push(n, &firing);
	cr_assert(vg_notify_drain(n, WAIT_MS));
	push(n, &resolved);
	cr_assert(vg_notify_drain(n, WAIT_MS));
	cr_assert(listen_await(l, 2));
	struct req a = listen_req(l, 0), b = listen_req(l, 1);

	cr_expect_str_eq(a.method, "POST");
	cr_expect_str_eq(a.path, "/api/v2/alerts");
	cr_expect_str_eq(a.ctype, "application/json");
	cr_expect(!a.has_sig, "Alertmanager requests are not signed");
	cr_expect_str_eq(a.body, am_array(expect_body(AM, "orders", FP_A_HEX, false), NULL));
	cr_expect_str_eq(b.path, "/api/v2/alerts");
	cr_expect_str_eq(b.body, am_array(expect_body(AM, "orders", FP_A_HEX, true), NULL));
	vg_notify_get_stats(n, &s);
	cr_expect_eq(s.n, 1u);
	expect_counts(&s, "alertmanager", 2, 0, 0, 0, 0);
	cr_expect(!s.failing[0]);
	vg_notify_destroy(n);
	/* Regression: the first re-send went out at once, a duplicate of the
	 * change just delivered (the resend clock started at 0). */
	cr_expect_eq(listen_count(l), 2u, "one request per change, no re-send within resend_ms");
	listen_stop(l);
}

Test(notify, alertmanager_gets_the_firing_set_again_every_resend_interval)
{
	struct listener *l = listen_start(200);
	struct vg_notify_params p = params();

	p.alertmanager_url = url(l, "");
	p.resend_ms = 50;
	struct vg_notify *n = create(&p);
	struct vg_alert a = alert("orders", FP_A, VG_ALERT_FIRING), b = alert("cart", FP_B, VG_ALERT_FIRING),
	                a_resolved = alert("orders", FP_A, VG_ALERT_RESOLVED);

	push(n, &a);
	push(n, &b);
	/* A re-send carries every firing alert in one request... */
	const char *am_a = expect_body(AM, "orders", FP_A_HEX, false), *am_b = expect_body(AM, "cart", FP_B_HEX, false);
	const char *both1 = am_array(am_a, am_b), *both2 = am_array(am_b, am_a);
	const char *resolved = am_array(expect_body(AM, "orders", FP_A_HEX, true), NULL),
	           *b_alone = am_array(am_b, NULL);
	size_t seen = 0;
	bool found = false;

	for (; !found && listen_await(l, seen + 1); seen++) {
		struct req r = listen_req(l, seen);

		cr_expect_str_eq(r.path, "/api/v2/alerts");
		found = strcmp(r.body, both1) == 0 || strcmp(r.body, both2) == 0;
	}
	cr_expect(found, "no re-send of both firing alerts in %zu requests", seen);
	/* ...and a resolved one leaves it. */
	push(n, &a_resolved);
	found = false;
	for (bool resolved_sent = false; !found && listen_await(l, seen + 1); seen++) {
		struct req r = listen_req(l, seen);

		if (strcmp(r.body, resolved) == 0)
			resolved_sent = true;
		else if (resolved_sent)
			found = strcmp(r.body, b_alone) == 0;
	}
	cr_expect(found, "no re-send of the one alert still firing after the resolution");
	struct vg_notify_stats s;

	vg_notify_get_stats(n, &s);
	cr_expect_eq(s.sent[0], 3u, "sent counts the 3 changes, not the re-sends");
	cr_expect_geq(s.resent[0], 1u, "the re-sends have their own count (the last one seen may still be in flight)");
	vg_notify_destroy(n);
	listen_stop(l);
}

/* ---- webhooks -------------------------------------------------------------- */

Test(notify, webhooks_get_the_v4_payload_signed_with_their_secret)
{
	struct listener *l = listen_start(200);
	struct vg_notify_params p = params();
	char long_secret[101], hex[65], want[80];

	memset(long_secret, 'k', 100); /* longer than HMAC's block: hashed first */
	long_secret[100] = '\0';
	const struct vg_notify_webhook hooks[] = {
	        {url(l, "/signed"), "s3cret"},
	        {url(l, "/plain"), NULL},
	        {url(l, "/long"), long_secret},
	};

	p.webhooks = hooks;
	p.n_webhooks = 3;
	struct vg_notify *n = create(&p);
	struct vg_alert firing = alert("orders", FP_A, VG_ALERT_FIRING),
	                resolved = alert("orders", FP_A, VG_ALERT_RESOLVED);

	push(n, &firing);
	push(n, &resolved);
	cr_assert(vg_notify_drain(n, WAIT_MS));
	cr_assert(listen_await(l, 6));
	int seen[3] = {0};

	for (size_t i = 0; i < 6; i++) {
		struct req r = listen_req(l, i);
		int k = strcmp(r.path, "/signed") == 0 ? 0 : strcmp(r.path, "/plain") == 0 ? 1 : 2;
		const char *body = seen[k]++ == 0 ? expect_body(HOOK, "orders", FP_A_HEX, false)
		                                  : expect_body(HOOK, "orders", FP_A_HEX, true);

		cr_expect_str_eq(r.method, "POST");
		cr_expect_str_eq(r.ctype, "application/json");
		cr_expect_str_eq(r.body, body, "%s", r.path);
		if (k == 1) {
			cr_expect(!r.has_sig, "a webhook without a secret sent X-Vigil-Signature: %s", r.sig);
			continue;
		}
		hmac_sha256_hex(k == 0 ? "s3cret" : long_secret, r.body, hex);
		snprintf(want, sizeof(want), "sha256=%s", hex);
		cr_expect(r.has_sig, "%s: no signature", r.path);
		cr_expect_str_eq(r.sig, want, "%s", r.path);
	}
	cr_expect(seen[0] == 2 && seen[1] == 2 && seen[2] == 2, "%d %d %d", seen[0], seen[1], seen[2]);
	struct vg_notify_stats s;

	vg_notify_get_stats(n, &s);
	cr_expect_eq(s.n, 3u);
	expect_counts(&s, "webhook0", 2, 0, 0, 0, 0);
	expect_counts(&s, "webhook1", 2, 0, 0, 0, 0);
	expect_counts(&s, "webhook2", 2, 0, 0, 0, 0);
	vg_notify_destroy(n);
	listen_stop(l);
}

/* ---- retries, refusals, drain ------------------------------------------------ */

Test(notify, a_failed_delivery_is_retried_until_the_receiver_recovers)
{
	struct listener *l = listen_start(200);
	struct vg_notify_params p = params();
	const struct vg_notify_webhook hook = {url(l, "/hook"), NULL};

	listen_script(l, (const int[]){500}, 1); /* 200 afterwards */
	p.webhooks = &hook;
	p.n_webhooks = 1;
	struct vg_notify *n = create(&p);
	struct vg_alert al = alert("orders", FP_A, VG_ALERT_FIRING);
	struct vg_notify_stats s;

	push(n, &al);
	cr_assert(vg_notify_drain(n, WAIT_MS));
	vg_notify_get_stats(n, &s);
	expect_counts(&s, "webhook0", 1, 1, 0, 0, 0);
	cr_expect(!s.failing[0]);
	cr_assert_eq(listen_count(l), 2u);
	struct req a = listen_req(l, 0), b = listen_req(l, 1);

	cr_expect_eq(a.status, 500);
	cr_expect_eq(b.status, 200);
	cr_expect_str_eq(a.body, b.body);
	cr_expect_str_eq(b.body, expect_body(HOOK, "orders", FP_A_HEX, false));
	vg_notify_destroy(n);
	listen_stop(l);
}

Test(notify, a_refused_request_is_counted_failed_and_skipped)
{
	struct listener *l = listen_start(200);
	struct vg_notify_params p = params();
	const struct vg_notify_webhook hook = {url(l, "/hook"), NULL};

	/* 429 (too many requests) is retried; 400 refuses: failed, never sent again. */
	listen_script(l, (const int[]){429, 400}, 2);
	p.webhooks = &hook;
	p.n_webhooks = 1;
	struct vg_notify *n = create(&p);
	struct vg_alert a = alert("orders", FP_A, VG_ALERT_FIRING), b = alert("cart", FP_B, VG_ALERT_FIRING);
	struct vg_notify_stats s;

	push(n, &a);
	push(n, &b);
	cr_assert(vg_notify_drain(n, WAIT_MS));
	vg_notify_get_stats(n, &s);
	expect_counts(&s, "webhook0", 1, 1, 1, 0, 0);
	cr_assert_eq(listen_count(l), 3u);
	cr_expect_str_eq(listen_req(l, 0).body, expect_body(HOOK, "orders", FP_A_HEX, false));
	cr_expect_str_eq(listen_req(l, 1).body, expect_body(HOOK, "orders", FP_A_HEX, false));
	cr_expect_str_eq(listen_req(l, 2).body, expect_body(HOOK, "cart", FP_B_HEX, false));
	cr_expect_eq(listen_req(l, 2).status, 200);
	vg_notify_destroy(n);
	listen_stop(l);
}

Test(notify, drain_gives_up_while_the_receiver_stays_down)
{
	struct listener *l = listen_start(500);
	struct vg_notify_params p = params();
	const struct vg_notify_webhook hook = {url(l, "/hook"), NULL};

	p.webhooks = &hook;
	p.n_webhooks = 1;
	struct vg_notify *n = create(&p);
	struct vg_alert al = alert("orders", FP_A, VG_ALERT_FIRING);

	push(n, &al);
	cr_expect(!vg_notify_drain(n, 300));
	struct vg_notify_stats s = await_stats(n, "webhook0", has_retried);

	cr_expect_eq(s.sent[0], 0u);
	cr_expect_geq(s.retried[0], 1u);
	cr_expect_eq(s.failed[0], 0u, "a 500 is retried, never given up");
	cr_expect_eq(s.pending[0], 1u);
	cr_expect(s.failing[0]);
	cr_expect(!vg_notify_drain(n, 300));
	vg_notify_destroy(n);
	listen_stop(l);
}

/* p with one webhook (hook) and the file notifier writing to path, a
 * file in the test's directory. */
static void hook_and_file(struct vg_notify_params *p, const struct vg_notify_webhook *hook, char *path, size_t cap)
{
	snprintf(path, cap, "%s/alerts.ndjson", dir);
	p->webhooks = hook;
	p->n_webhooks = 1;
	p->file = path;
}

Test(notify, a_failing_notifier_does_not_hold_back_the_others)
{
	struct listener *l = listen_start(500);
	struct vg_notify_params p = params();
	const struct vg_notify_webhook hook = {url(l, "/hook"), NULL};
	char path[PATH_MAX + 16];

	hook_and_file(&p, &hook, path, sizeof(path));
	struct vg_notify *n = create(&p);
	struct vg_alert a = alert("orders", FP_A, VG_ALERT_FIRING), b = alert("cart", FP_B, VG_ALERT_FIRING);

	push(n, &a);
	push(n, &b);
	struct vg_notify_stats s = await_stats(n, "file", sent_two);

	expect_counts(&s, "file", 2, 0, 0, 0, 0);
	cr_expect_eq(s.sent[stat_of(&s, "webhook0")], 0u);
	cr_expect_eq(s.pending[stat_of(&s, "webhook0")], 2u);
	cr_expect(!vg_notify_drain(n, 100));
	vg_notify_destroy(n);
	listen_stop(l);
}

/* Regression: the notifier thread delivered every pending change to one
 * notifier before the next had any, so a slow receiver starved the
 * others. Now each gets one change per round: while the webhook's second
 * request hangs, the file already has the first change. */
Test(notify, a_slow_notifier_does_not_starve_the_others)
{
	struct listener *l = listen_start(200);
	struct vg_notify_params p = params();
	const struct vg_notify_webhook hook = {url(l, "/hook"), NULL};
	char path[PATH_MAX + 16];

	hook_and_file(&p, &hook, path, sizeof(path));
	p.timeout_ms = 60000; /* the held request must not time out */
	listen_hold_from(l, 2);
	struct vg_notify *n = create(&p);
	struct vg_alert a = alert("orders", FP_A, VG_ALERT_FIRING), b = alert("cart", FP_B, VG_ALERT_FIRING);

	push(n, &a);
	push(n, &b);
	cr_assert(listen_await(l, 2)); /* the webhook's second change, held */
	char *text = slurp(path);

	cr_expect_eq(count_lines(text), 1u, "the file had its first change before the webhook's second: %s", text);
	free(text);
	listen_hold_from(l, 0);
	cr_assert(vg_notify_drain(n, WAIT_MS));
	vg_notify_destroy(n);
	listen_stop(l);
}

/* ---- the outbox -------------------------------------------------------------- */

Test(notify, what_is_undelivered_at_destroy_is_delivered_by_the_next_instance)
{
	struct listener *l = listen_start(500);
	struct vg_notify_params p = params();
	const struct vg_notify_webhook hook = {url(l, "/hook"), NULL};
	char path[PATH_MAX + 64];
	struct vg_alert a = alert("orders", FP_A, VG_ALERT_FIRING), b = alert("cart", FP_B, VG_ALERT_FIRING),
	                c = alert("orders", FP_A, VG_ALERT_RESOLVED);
	struct vg_notify_stats s;

	p.webhooks = &hook;
	p.n_webhooks = 1;
	struct vg_notify *n = create(&p);

	push(n, &a);
	push(n, &b);
	push(n, &c);
	cr_assert(listen_await(l, 1)); /* tried, and refused */
	vg_notify_get_stats(n, &s);
	cr_expect_eq(s.pending[0], 3u);
	vg_notify_destroy(n);

	/* One line per change in the outbox: seq, fingerprint, resolved, bodies. */
	snprintf(path, sizeof(path), "%s/outbox.jsonl", outbox);
	char *text = slurp(path);

	cr_expect_eq(count_lines(text), 3u, "%s", text);
	cr_expect(strncmp(text, "1\t" FP_A_HEX "\t0\t", 21) == 0, "%.40s", text);
	cr_expect(strstr(text, "\n3\t" FP_A_HEX "\t1\t"), "%s", text);
	free(text);

	size_t before = listen_count(l);

	listen_set(l, 200, false);
	n = create(&p);
	cr_assert(vg_notify_drain(n, WAIT_MS));
	vg_notify_get_stats(n, &s);
	expect_counts(&s, "webhook0", 3, 0, 0, 0, 0);
	vg_notify_destroy(n);
	cr_assert_eq(listen_count(l), before + 3);
	cr_expect_str_eq(listen_req(l, before).body, expect_body(HOOK, "orders", FP_A_HEX, false));
	cr_expect_str_eq(listen_req(l, before + 1).body, expect_body(HOOK, "cart", FP_B_HEX, false));
	cr_expect_str_eq(listen_req(l, before + 2).body, expect_body(HOOK, "orders", FP_A_HEX, true));
	/* Everything delivered: the outbox is emptied, and a third instance has
	 * nothing to send. */
	text = slurp(path);
	cr_expect_str_eq(text, "");
	free(text);
	n = create(&p);
	cr_expect(vg_notify_drain(n, 0));
	vg_notify_destroy(n);
	cr_expect_eq(listen_count(l), before + 3);
	listen_stop(l);
}

Test(notify, what_was_pushed_before_a_crash_is_delivered_after_the_restart)
{
	struct vg_notify_params p = params();
	struct vg_notify_webhook hook = {"http://127.0.0.1:1/refused", NULL};
	pid_t pid;
	int status;

	p.webhooks = &hook;
	p.n_webhooks = 1;
	/* A process that pushes two changes nobody can take, then dies
	 * without a destroy. */
	cr_assert_geq(pid = fork(), 0);
	if (pid == 0) {
		struct vg_notify *n = NULL;
		char err[256];
		struct vg_alert a = alert("orders", FP_A, VG_ALERT_FIRING), b = alert("cart", FP_B, VG_ALERT_FIRING);

		if (vg_notify_create(&n, &p, err, sizeof(err)) != VG_OK || vg_notify_push(n, &a) != VG_OK ||
		    vg_notify_push(n, &b) != VG_OK)
			_exit(1);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	struct listener *l = listen_start(200);

	hook.url = url(l, "/hook");
	struct vg_notify *n = create(&p);

	cr_assert(vg_notify_drain(n, WAIT_MS));
	vg_notify_destroy(n);
	cr_assert_eq(listen_count(l), 2u);
	cr_expect_str_eq(listen_req(l, 0).body, expect_body(HOOK, "orders", FP_A_HEX, false));
	cr_expect_str_eq(listen_req(l, 1).body, expect_body(HOOK, "cart", FP_B_HEX, false));
	listen_stop(l);
}

/* Regression: a notifier new to an existing outbox (added to the
 * configuration) started at cursor 0 below everything the outbox had
 * already let go, so it reported that many pending and drain never
 * returned true before the next push. */
Test(notify, a_notifier_new_to_the_outbox_has_nothing_pending)
{
	struct listener *l = listen_start(200);
	struct vg_notify_params p = params();
	const struct vg_notify_webhook hook = {url(l, "/hook"), NULL};
	char path[PATH_MAX + 16];
	struct vg_notify_stats s;

	snprintf(path, sizeof(path), "%s/alerts.ndjson", dir);
	p.file = path;
	struct vg_notify *n = create(&p);
	struct vg_alert a = alert("orders", FP_A, VG_ALERT_FIRING), b = alert("cart", FP_B, VG_ALERT_FIRING);

	push(n, &a);
	push(n, &b);
	cr_assert(vg_notify_drain(n, WAIT_MS));
	vg_notify_destroy(n);

	p.webhooks = &hook;
	p.n_webhooks = 1;
	n = create(&p);
	cr_expect(vg_notify_drain(n, 200));
	vg_notify_get_stats(n, &s);
	expect_counts(&s, "webhook0", 0, 0, 0, 0, 0);
	expect_counts(&s, "file", 0, 0, 0, 0, 0);
	push(n, &a);
	cr_expect(vg_notify_drain(n, WAIT_MS));
	vg_notify_get_stats(n, &s);
	expect_counts(&s, "webhook0", 1, 0, 0, 0, 0);
	vg_notify_destroy(n);
	cr_expect_eq(listen_count(l), 1u);
	listen_stop(l);
}

/* Past outbox_max undelivered changes the oldest are dropped: counted per
 * notifier, logged, and never delivered; the rest arrive in order.
 * Regression: the change being delivered when it was dropped was freed
 * under the notifier thread (a use after free) and counted both dropped
 * and sent. */
Test(notify, past_outbox_max_the_oldest_are_dropped_counted_and_logged)
{
	struct listener *l = listen_start(200);
	struct vg_notify_params p = params();
	const struct vg_notify_webhook hook = {url(l, "/hook"), NULL};
	char logpath[PATH_MAX + 16], svc[6][8];
	struct vg_alert al[6];
	int logfd;

	snprintf(logpath, sizeof(logpath), "%s/log", dir);
	cr_assert_geq(logfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644), 0);
	vg_log_set_fd(logfd);
	p.webhooks = &hook;
	p.n_webhooks = 1;
	p.outbox_max = 3;
	p.timeout_ms = 60000; /* the held request must not time out */
	listen_set(l, 200, true);
	struct vg_notify *n = create(&p);

	for (int i = 0; i < 6; i++) {
		snprintf(svc[i], sizeof(svc[i]), "svc%d", i);
		al[i] = alert(svc[i], FP_A + (uint64_t)i, VG_ALERT_FIRING);
	}
	push(n, &al[0]);
	cr_assert(listen_await(l, 1)); /* change 1 in flight, held */
	for (int i = 1; i < 6; i++)
		push(n, &al[i]);
	listen_set(l, 200, false);
	cr_assert(vg_notify_drain(n, WAIT_MS));
	struct vg_notify_stats s;

	vg_notify_get_stats(n, &s);
	/* 1 was in flight and delivered; 2 and 3 dropped; 4 to 6 delivered. */
	expect_counts(&s, "webhook0", 4, 0, 0, 2, 0);
	vg_notify_destroy(n);
	vg_log_set_fd(2);
	close(logfd);
	cr_assert_eq(listen_count(l), 4u);
	const char *want[] = {"\"service\":\"svc0\"", "\"service\":\"svc3\"", "\"service\":\"svc4\"",
	                      "\"service\":\"svc5\""};

	for (size_t i = 0; i < 4; i++)
		cr_expect(strstr(listen_req(l, i).body, want[i]), "request %zu: %s", i, listen_req(l, i).body);
	char *log = slurp(logpath);
	size_t drops = 0;

	for (const char *q = log; (q = strstr(q, "outbox full")); q++)
		drops++;
	cr_expect_eq(drops, 2u, "each change dropped from the outbox is logged: %s", log);
	free(log);
	listen_stop(l);
}

/* A line cut by a crash is cut off the file at the next start; before,
 * the next change was glued to it and both were unreadable after. */
Test(notify, a_torn_last_line_of_the_outbox_is_cut_off)
{
	struct vg_notify_params p = params();
	const struct vg_notify_webhook hook = {"http://127.0.0.1:1/refused", NULL};
	char path[PATH_MAX + 64];
	struct vg_alert a = alert("orders", FP_A, VG_ALERT_FIRING), b = alert("cart", FP_B, VG_ALERT_FIRING);
	struct vg_notify_stats s;

	p.webhooks = &hook;
	p.n_webhooks = 1;
	struct vg_notify *n = create(&p);

	push(n, &a);
	vg_notify_destroy(n);
	snprintf(path, sizeof(path), "%s/outbox.jsonl", outbox);
	FILE *f = fopen(path, "a");

	cr_assert_not_null(f);
	fputs("2\t" FP_B_HEX "\t0\t{\"torn", f); /* no newline: the crash */
	fclose(f);
	n = create(&p);
	push(n, &b);
	vg_notify_destroy(n);
	char *text = slurp(path);

	cr_expect_eq(count_lines(text), 2u, "%s", text);
	cr_expect_null(strstr(text, "torn"), "%s", text);
	free(text);
	n = create(&p);
	vg_notify_get_stats(n, &s);
	/* Both pending. The notifier thread may have tried the refused webhook
	 * already (retried), before this thread got to ask. */
	expect_counts(&s, "webhook0", 0, s.retried[stat_of(&s, "webhook0")], 0, 0, 2);
	vg_notify_destroy(n);
}

/* With a notifier down, the file would keep every change: it is written
 * again past twice outbox_max, and a restart keeps only the newest
 * outbox_max (the rest counted dropped), then delivers them in order. */
Test(notify, the_outbox_file_stays_bounded_with_a_notifier_down)
{
	struct vg_notify_params p = params();
	struct vg_notify_webhook hook = {"http://127.0.0.1:1/refused", NULL};
	char path[PATH_MAX + 64], svc[20][8];
	struct vg_alert al[20];
	struct vg_notify_stats s;

	p.webhooks = &hook;
	p.n_webhooks = 1;
	p.outbox_max = 4;
	struct vg_notify *n = create(&p);

	for (int i = 0; i < 20; i++) {
		snprintf(svc[i], sizeof(svc[i]), "svc%d", i);
		al[i] = alert(svc[i], FP_A + (uint64_t)i, VG_ALERT_FIRING);
		push(n, &al[i]);
	}
	vg_notify_destroy(n);
	snprintf(path, sizeof(path), "%s/outbox.jsonl", outbox);
	char *text = slurp(path);

	cr_expect_leq(count_lines(text), 8u, "at most twice outbox_max lines: %s", text);
	cr_expect(strstr(text, "\"service\":\"svc19\""), "the newest is kept");
	free(text);
	/* A restart with a smaller bound keeps the newest 2. */
	struct listener *l = listen_start(200);

	hook.url = url(l, "/hook");
	p.outbox_max = 2;
	n = create(&p);
	cr_assert(vg_notify_drain(n, WAIT_MS));
	vg_notify_get_stats(n, &s);
	cr_expect_eq(s.sent[stat_of(&s, "webhook0")], 2u);
	vg_notify_destroy(n);
	cr_assert_eq(listen_count(l), 2u);
	cr_expect(strstr(listen_req(l, 0).body, "\"service\":\"svc18\""), "%s", listen_req(l, 0).body);
	cr_expect(strstr(listen_req(l, 1).body, "\"service\":\"svc19\""), "%s", listen_req(l, 1).body);
	listen_stop(l);
}

/* ---- the file notifier --------------------------------------------------------- */

Test(notify, the_file_gets_one_json_line_per_change)
{
	struct vg_notify_params p = params();
	char path[PATH_MAX + 16];
	struct vg_alert a = alert("orders", FP_A, VG_ALERT_FIRING), b = alert("cart", FP_B, VG_ALERT_FIRING),
	                c = alert("orders", FP_A, VG_ALERT_RESOLVED);
	struct vg_notify_stats s;
	FILE *f;

	snprintf(path, sizeof(path), "%s/alerts.ndjson", dir);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs("{\"earlier\":true}\n", f); /* appended to, never truncated */
	fclose(f);
	p.file = path;
	struct vg_notify *n = create(&p);

	push(n, &a);
	push(n, &b);
	push(n, &c);
	cr_assert(vg_notify_drain(n, WAIT_MS));
	vg_notify_get_stats(n, &s);
	cr_expect_eq(s.n, 1u);
	expect_counts(&s, "file", 3, 0, 0, 0, 0);
	vg_notify_destroy(n);
	char *text = slurp(path);

	char want_text[8192];

	snprintf(want_text, sizeof(want_text), "{\"earlier\":true}\n%s\n%s\n%s\n",
	         expect_body(LINE, "orders", FP_A_HEX, false), expect_body(LINE, "cart", FP_B_HEX, false),
	         expect_body(LINE, "orders", FP_A_HEX, true));
	cr_expect_str_eq(text, want_text);
	free(text);
	/* The lines are vg_alert_json's, as --alerts and vigil replay write. */
	struct vg_buf want = {0};

	vg_alert_json(&c, &want);
	vg_buf_putc(&want, '\0');
	cr_expect_str_eq(want.p, expect_body(LINE, "orders", FP_A_HEX, true));
	vg_buf_free(&want);
}

/* ---- the Kafka notifier ---------------------------------------------------------- */

/* Every message of topic's partition 0 (at most max), by a consumer of
 * its own: keys and values, NUL-terminated, caller frees. */
static int read_topic(const char *bootstraps, const char *topic, char **keys, char **values, int max, int want)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char err[512];
	rd_kafka_t *c;
	int got = 0;

	rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, err, sizeof(err));
	rd_kafka_conf_set(conf, "group.id", "test_notify", err, sizeof(err));
	rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
	rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err));
	rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
	cr_assert_not_null(c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err)), "%s", err);
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);

	rd_kafka_topic_partition_list_add(parts, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
	cr_assert_eq(rd_kafka_assign(c, parts), RD_KAFKA_RESP_ERR_NO_ERROR);
	rd_kafka_topic_partition_list_destroy(parts);
	/* Up to the partition's end once want messages came (so a duplicate
	 * would show), bounded by WAIT_MS. */
	for (int64_t until = now_ms() + WAIT_MS; now_ms() < until;) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);

		if (!m)
			continue;
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			rd_kafka_message_destroy(m);
			if (got >= want)
				break;
			continue;
		}
		cr_assert_eq(m->err, RD_KAFKA_RESP_ERR_NO_ERROR, "%s", rd_kafka_err2str(m->err));
		if (got < max) {
			keys[got] = strndup(m->key ? m->key : "", m->key_len);
			values[got] = strndup(m->payload ? m->payload : "", m->len);
		}
		got++;
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consumer_close(c);
	rd_kafka_destroy(c);
	return got;
}

Test(notify, kafka_gets_key_fingerprint_value_the_alert_json)
{
	struct vg_broker *b = NULL;
	char err[256];
	struct vg_notify_params p = params();
	const char *props[] = {"client.id", "vigil-test-notify"};
	struct vg_alert a = alert("orders", FP_A, VG_ALERT_FIRING), c = alert("orders", FP_A, VG_ALERT_RESOLVED);
	struct vg_notify_stats s;
	char *keys[4] = {0}, *values[4] = {0};

	cr_assert_eq(vg_broker_start(&b, 1, err, sizeof(err)), VG_OK, "%s", err);
	cr_assert_eq(vg_broker_command(b, "topic alerts 1", err, sizeof(err)), VG_OK, "%s", err);
	p.kafka_brokers = vg_broker_bootstraps(b);
	p.kafka_topic = "alerts";
	p.kafka_properties = props;
	p.n_kafka_properties = 2;
	struct vg_notify *n = create(&p);

	push(n, &a);
	push(n, &c);
	cr_assert(vg_notify_drain(n, WAIT_MS));
	vg_notify_get_stats(n, &s);
	expect_counts(&s, "kafka", 2, 0, 0, 0, 0);
	vg_notify_destroy(n);
	cr_assert_eq(read_topic(vg_broker_bootstraps(b), "alerts", keys, values, 4, 2), 2);
	cr_expect_str_eq(keys[0], FP_A_HEX);
	cr_expect_str_eq(values[0], expect_body(LINE, "orders", FP_A_HEX, false));
	cr_expect_str_eq(keys[1], FP_A_HEX);
	cr_expect_str_eq(values[1], expect_body(LINE, "orders", FP_A_HEX, true));
	for (int i = 0; i < 4; i++) {
		free(keys[i]);
		free(values[i]);
	}
	vg_broker_stop(b);
}

static bool kafka_sent(const struct vg_notify_stats *s, size_t i)
{
	return s->sent[i] > 0;
}

Test(notify, kafka_counts_a_change_sent_only_once_the_broker_acknowledged_it)
{
	struct vg_broker *b = NULL;
	char err[256];
	struct vg_notify_params p = params();
	/* Reconnect promptly once the broker is back. */
	const char *props[] = {"reconnect.backoff.ms", "10", "reconnect.backoff.max.ms", "100"};
	struct vg_alert a = alert("orders", FP_A, VG_ALERT_FIRING);
	struct vg_notify_stats s;
	char *keys[4] = {0}, *values[4] = {0};

	cr_assert_eq(vg_broker_start(&b, 1, err, sizeof(err)), VG_OK, "%s", err);
	cr_assert_eq(vg_broker_command(b, "topic alerts 1", err, sizeof(err)), VG_OK, "%s", err);
	cr_assert_eq(vg_broker_command(b, "down 1", err, sizeof(err)), VG_OK, "%s", err);
	p.kafka_brokers = vg_broker_bootstraps(b);
	p.kafka_topic = "alerts";
	p.kafka_properties = props;
	p.n_kafka_properties = 4;
	p.timeout_ms = 200;
	struct vg_notify *n = create(&p);

	push(n, &a);
	s = await_stats(n, "kafka", has_retried);
	cr_expect_eq(s.sent[0], 0u, "sent with the broker down");
	cr_expect_geq(s.retried[0], 1u);
	cr_expect_eq(s.pending[0], 1u);
	cr_expect(s.failing[0]);
	cr_assert_eq(vg_broker_command(b, "up 1", err, sizeof(err)), VG_OK, "%s", err);
	s = await_stats(n, "kafka", kafka_sent);
	cr_expect_eq(s.sent[0], 1u);
	cr_expect_eq(s.pending[0], 0u);
	cr_expect(vg_notify_drain(n, WAIT_MS));
	vg_notify_destroy(n);
	/* Produced once, however many tries it took. */
	cr_expect_eq(read_topic(vg_broker_bootstraps(b), "alerts", keys, values, 4, 1), 1);
	cr_expect_str_eq(keys[0], FP_A_HEX);
	for (int i = 0; i < 4; i++) {
		free(keys[i]);
		free(values[i]);
	}
	vg_broker_stop(b);
}

/* ---- parameters ---------------------------------------------------------------- */

/* create fails with rc and an errbuf naming want. */
static void refused(const struct vg_notify_params *p, int rc, const char *want)
{
	struct vg_notify *n = (struct vg_notify *)&n; /* must be reset */
	char err[256] = "";

	cr_expect_eq(vg_notify_create(&n, p, err, sizeof(err)), rc, "expected %s: %s", vg_err_str(rc), err);
	cr_expect_null(n);
	cr_expect(strstr(err, want), "\"%s\" does not say \"%s\"", err, want);
}

Test(notify, no_notifier_no_instance)
{
	struct vg_notify_params p = params();
	struct vg_notify *n = (struct vg_notify *)&n;
	char err[64];

	cr_expect_eq(vg_notify_create(&n, &p, err, sizeof(err)), VG_OK);
	cr_expect_null(n);
	vg_notify_destroy(NULL);
}

Test(notify, bad_parameters_are_refused_with_a_reason)
{
	struct vg_notify_params p = params();
	struct vg_notify_webhook hooks[9];
	char path[PATH_MAX + 32];
	const char *props[] = {"no.such.property", "1"};

	for (int i = 0; i < 9; i++)
		hooks[i] = (struct vg_notify_webhook){"http://127.0.0.1:1/", NULL};
	p.webhooks = hooks;
	p.n_webhooks = 9;
	refused(&p, VG_ERR_CONFIG, "notify.webhooks: at most 8");

	p = params();
	p.kafka_brokers = "127.0.0.1:1";
	p.kafka_topic = "alerts";
	p.kafka_properties = props;
	p.n_kafka_properties = 2;
	refused(&p, VG_ERR_CONFIG, "no.such.property");
	refused(&p, VG_ERR_CONFIG, "notify.kafka.properties");

	p = params();
	snprintf(path, sizeof(path), "%s/no/such/dir/alerts.ndjson", dir);
	p.file = path;
	refused(&p, VG_ERR_IO, "notify.file.path");
	refused(&p, VG_ERR_IO, "No such file or directory");

	/* Out of range (the configuration's checks, for every caller). */
	snprintf(path, sizeof(path), "%s/alerts.ndjson", dir);
	p = params();
	hooks[0].url = NULL;
	p.webhooks = hooks;
	p.n_webhooks = 1;
	refused(&p, VG_ERR_CONFIG, "webhook 0 has no url");
	hooks[0].url = "";
	refused(&p, VG_ERR_CONFIG, "webhook 0 has no url");
	p = params();
	p.alertmanager_url = "http://127.0.0.1:1";
	p.resend_ms = 0;
	refused(&p, VG_ERR_CONFIG, "notify.alertmanager.resend_interval");
	p = params();
	p.kafka_topic = "alerts";
	refused(&p, VG_ERR_CONFIG, "notify.kafka.brokers");
	p = params();
	p.file = path;
	p.outbox_dir = NULL;
	refused(&p, VG_ERR_CONFIG, "notify.outbox.dir");
	p.outbox_dir = "";
	refused(&p, VG_ERR_CONFIG, "notify.outbox.dir");
	p = params();
	p.file = path;
	p.outbox_max = 0;
	refused(&p, VG_ERR_CONFIG, "notify.outbox.max");
	p = params();
	p.file = path;
	p.timeout_ms = 0;
	refused(&p, VG_ERR_CONFIG, "notify.timeout");

	/* An outbox directory that cannot be made: under a regular file. */
	p = params();
	p.file = path;
	snprintf(outbox, sizeof(outbox), "%s/alerts.ndjson/outbox", dir);
	refused(&p, VG_ERR_IO, "notify.outbox.dir");
}

/* The fixtures of the notifiers' tests (tests/test_notify.c and
 * tests/test_outbox.c): a temporary directory per test, an HTTP listener
 * thread on 127.0.0.1 (plain sockets; it records every request and answers
 * as told: a status, a script of statuses, or holding the answer until
 * released), alerts and the bodies each notifier makes of them, and waits
 * on the notifiers' counters. The includer defines _POSIX_C_SOURCE first
 * and declares its TestSuite with .init = setup, .fini = teardown. */
#ifndef VG_NOTIFY_FIXTURE_H
#define VG_NOTIFY_FIXTURE_H

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
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

#endif

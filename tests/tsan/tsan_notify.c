/* ThreadSanitizer driver for the notifier thread (Criterion cannot run
 * under TSan: Criterion issue #274). The closer's thread pushes alert
 * changes while the notifier thread delivers them to a webhook (a
 * listener thread on 127.0.0.1 that answers slowly now and then) and a
 * file, another thread reads the stats the way /metrics does, and the
 * small outbox bound drops changes while one is in flight. Every change
 * is delivered or counted dropped, the listener saw exactly what was
 * counted sent, and the outbox file stays bounded. Exits non-zero on a
 * failed check; TSan exits non-zero on a race report. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "sink/notify.h"

#define N 400
#define OUTBOX_MAX 16

static int lfd;
static atomic_int requests, stop;

/* One request: read the head and Content-Length bytes of body, answer
 * 200. Every 7th waits 20 ms first, so pushes pile up behind it. */
static void serve(int c)
{
	char buf[65536];
	size_t got = 0;
	long want = -1;

	for (;;) {
		ssize_t r = read(c, buf + got, sizeof(buf) - 1 - got);

		if (r <= 0)
			return;
		got += (size_t)r;
		buf[got] = '\0';
		char *head_end = strstr(buf, "\r\n\r\n");

		if (!head_end)
			continue;
		if (want < 0) {
			char *cl = strstr(buf, "Content-Length:");

			want = cl ? strtol(cl + 15, NULL, 10) : 0;
		}
		if ((long)(got - (size_t)(head_end + 4 - buf)) >= want)
			break;
	}
	if (atomic_fetch_add(&requests, 1) % 7 == 6)
		nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

	if (write(c, ok, sizeof(ok) - 1) < 0)
		return;
}

static void *listener(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		int c = accept(lfd, NULL, NULL);

		if (c < 0)
			continue;
		serve(c);
		close(c);
	}
	return NULL;
}

static void *reader(void *arg)
{
	struct vg_notify *n = arg;
	struct vg_notify_stats s;

	while (!atomic_load(&stop)) {
		vg_notify_get_stats(n, &s);
		nanosleep(&(struct timespec){0, 1000 * 1000}, NULL);
	}
	return NULL;
}

static const char *const names[] = {"alertname", "service"};

int main(void)
{
	char dir[] = "/tmp/vigil-tsan-notify-XXXXXX", outbox[64], file[64], url[64], err[256], cmd[96];
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	pthread_t lt, rt;
	int failures = 0;

	if (!mkdtemp(dir))
		return 2;
	int devnull = open("/dev/null", O_WRONLY);

	if (devnull >= 0)
		vg_log_set_fd(devnull); /* each drop is logged, loudly: not here */
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(lfd, 64) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen) != 0)
		return 2;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", ntohs(a.sin_port));
	snprintf(outbox, sizeof(outbox), "%s/outbox", dir);
	snprintf(file, sizeof(file), "%s/alerts.ndjson", dir);
	const struct vg_notify_webhook hook = {url, "secret"};
	struct vg_notify_params p = {.resend_ms = 3600000, .webhooks = &hook, .n_webhooks = 1, .file = file,
				     .outbox_dir = outbox, .outbox_max = OUTBOX_MAX, .timeout_ms = 10000,
				     .generator_url = "http://vigil.test/"};
	struct vg_notify *n;

	if (vg_notify_create(&n, &p, err, sizeof(err)) != VG_OK) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	pthread_create(&lt, NULL, listener, NULL);
	pthread_create(&rt, NULL, reader, n);
	for (int i = 0; i < N; i++) {
		char svc[16];
		struct vg_alert al = {.name = "HighErrorRate", .state = i % 2 ? VG_ALERT_RESOLVED : VG_ALERT_FIRING,
				      .severity = "P1", .fingerprint = 0x1000u + (uint64_t)(i / 2), .value = 1,
				      .at = 1793491200000LL + i, .n_labels = 2};

		snprintf(svc, sizeof(svc), "svc%d", i / 2);
		al.label_names[0] = names[0];
		al.label_names[1] = names[1];
		al.label_values[0] = "HighErrorRate";
		al.label_values[1] = svc;
		if (vg_notify_push(n, &al) != VG_OK) {
			fprintf(stderr, "FAIL push %d\n", i);
			failures++;
		}
		if (i % 50 == 0)
			nanosleep(&(struct timespec){0, 2 * 1000 * 1000}, NULL);
	}
	if (!vg_notify_drain(n, 60000)) {
		fprintf(stderr, "FAIL drain did not finish\n");
		failures++;
	}
	struct vg_notify_stats s;

	vg_notify_get_stats(n, &s);
	for (size_t i = 0; i < s.n; i++) {
		printf("%s: sent %llu dropped %llu failed %llu pending %llu\n", s.name[i],
		       (unsigned long long)s.sent[i], (unsigned long long)s.dropped[i],
		       (unsigned long long)s.failed[i], (unsigned long long)s.pending[i]);
		if (s.sent[i] + s.dropped[i] != N || s.pending[i] != 0 || s.failed[i] != 0) {
			fprintf(stderr, "FAIL %s: sent + dropped != %d, or pending/failed\n", s.name[i], N);
			failures++;
		}
		if (strcmp(s.name[i], "webhook0") == 0 && s.sent[i] != (uint64_t)atomic_load(&requests)) {
			fprintf(stderr, "FAIL the listener saw %d requests, %llu counted sent\n", atomic_load(&requests),
				(unsigned long long)s.sent[i]);
			failures++;
		}
	}
	atomic_store(&stop, 1);
	shutdown(lfd, SHUT_RDWR);
	pthread_join(rt, NULL);
	vg_notify_destroy(n);
	pthread_join(lt, NULL);
	close(lfd);
	/* Everything delivered: the outbox file is empty. */
	snprintf(cmd, sizeof(cmd), "test ! -s %s/outbox.jsonl", outbox);
	if (system(cmd) != 0) {
		fprintf(stderr, "FAIL the outbox is not empty after the drain\n");
		failures++;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		failures++;
	return failures ? 1 : 0;
}

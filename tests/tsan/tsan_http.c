/* ThreadSanitizer driver for the HTTP endpoints' server (Criterion cannot
 * run under TSan: Criterion issue #274; vigil run cannot either, its
 * librdkafka threads are glibc C11 threads TSan does not see). A publisher
 * thread replaces pages as fast as it can, as the closer does, while client
 * threads fetch them over TCP: every answer must be one whole page as it
 * was published (its length and its fill agree), never a mix of two.
 * Exits non-zero on a failed check; TSan exits non-zero on a race report. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/err.h"
#include "sink/http.h"

#define CLIENTS 3
#define REQUESTS 300 /* per client */

static atomic_int stop, failures;
static unsigned port;

/* Page k: k repeated, as a decimal digit, (k % 500) + 1 times. */
static size_t make_page(char *buf, unsigned k)
{
	size_t n = k % 500 + 1;

	memset(buf, '0' + (int)(k % 10), n);
	return n;
}

static void *publisher(void *arg)
{
	struct vg_http *h = arg;
	char page[512];

	for (unsigned k = 1; !atomic_load(&stop); k++) {
		size_t n = make_page(page, k);

		if (vg_http_publish(h, "/metrics", 200, "text/plain", page, n, 0) != VG_OK ||
		    vg_http_publish(h, "/health", 200, "application/json", page, n, 60000) != VG_OK) {
			atomic_fetch_add(&failures, 1);
			break;
		}
	}
	return NULL;
}

/* GET path over HTTP/1.0; the body into body. Returns the status or -1. */
static int get(const char *path, char *body, size_t cap, size_t *len)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	char req[128], resp[8192];
	size_t got = 0;
	ssize_t r;
	int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		goto out;
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path);

	if (write(fd, req, (size_t)n) != n)
		goto out;
	while (got < sizeof(resp) - 1 && (r = read(fd, resp + got, sizeof(resp) - 1 - got)) > 0)
		got += (size_t)r;
	resp[got] = '\0';
	const char *sep = strstr(resp, "\r\n\r\n");

	if (!sep || sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
		goto out;
	*len = got - (size_t)(sep + 4 - resp);
	if (*len > cap)
		goto out;
	memcpy(body, sep + 4, *len);
out:
	if (fd >= 0)
		close(fd);
	return status;
}

static void *client(void *arg)
{
	char body[1024];
	size_t len;

	(void)arg;
	for (int i = 0; i < REQUESTS; i++) {
		const char *path = i % 2 ? "/metrics" : "/health";
		int st = get(path, body, sizeof(body), &len);
		bool whole = len >= 1 && len <= 500;

		for (size_t j = 1; whole && j < len; j++)
			whole = body[j] == body[0];
		/* Length and fill of page k agree: k % 10 == (len - 1) % 10. */
		whole = whole && (unsigned)(body[0] - '0') == (unsigned)((len - 1) % 10);
		if (st != 200 || !whole) {
			fprintf(stderr, "FAIL %s: status %d, %zu bytes, not one whole page\n", path, st, len);
			atomic_fetch_add(&failures, 1);
			return NULL;
		}
	}
	if (get("/nope", body, sizeof(body), &len) != 404) {
		fprintf(stderr, "FAIL unknown path is not 404\n");
		atomic_fetch_add(&failures, 1);
	}
	return NULL;
}

int main(void)
{
	struct vg_http *h;
	char bound[64], err[256];
	pthread_t pub, cl[CLIENTS];

	if (vg_http_start(&h, "127.0.0.1", 0, NULL, bound, sizeof(bound), err, sizeof(err)) != VG_OK) {
		fprintf(stderr, "FAIL start: %s\n", err);
		return 1;
	}
	port = (unsigned)atoi(strchr(bound, ':') + 1);
	vg_http_publish(h, "/metrics", 200, "text/plain", "0", 1, 0); /* page 0 is not in make_page's range */
	vg_http_publish(h, "/health", 200, "application/json", "0", 1, 60000);
	pthread_create(&pub, NULL, publisher, h);
	for (int i = 0; i < CLIENTS; i++)
		pthread_create(&cl[i], NULL, client, NULL);
	for (int i = 0; i < CLIENTS; i++)
		pthread_join(cl[i], NULL);
	atomic_store(&stop, 1);
	pthread_join(pub, NULL);
	vg_http_stop(h);
	if (atomic_load(&failures)) {
		fprintf(stderr, "tsan_http: %d failures\n", atomic_load(&failures));
		return 1;
	}
	printf("tsan_http: %d requests from %d clients while pages were replaced: every answer whole\n",
	       CLIENTS * REQUESTS, CLIENTS);
	return 0;
}

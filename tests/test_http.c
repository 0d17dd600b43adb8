/* Tests for sink/http: the server answers what was published, with its
 * status and content type; a page past its maximum age answers 503 stale;
 * unknown paths 404, other methods 405; an address in use is refused.
 * Under abuse from the prober's own address, with small limits: past the
 * connection limit the oldest idle connections give way to the new one,
 * and idle and slowloris connections are closed after the timeout (the
 * same with vigil run's defaults: tests/integration/http_abuse.sh).
 * Requests go over TCP with libcurl. The concurrent publish-while-serving
 * scenario runs under ThreadSanitizer in tests/tsan/tsan_http.c. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "sink/http.h"

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	vg_buf_put(arg, p, size * n);
	return size * n;
}

static long request_timeout_s = 10;

/* method path on the server at bound: the status, the body into body
 * (NUL-terminated) and the content type into ctype. */
static long request(const char *bound, const char *method, const char *path, struct vg_buf *body, char *ctype,
                    size_t ctlen)
{
	char url[128];
	long status = -1;
	char *ct = NULL;
	CURL *c = curl_easy_init();

	cr_assert(c);
	body->len = 0;
	snprintf(url, sizeof(url), "http://%s%s", bound, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_NOBODY, strcmp(method, "HEAD") == 0 ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, request_timeout_s);
	cr_assert_eq(curl_easy_perform(c), CURLE_OK, "%s %s", method, url);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
	if (ctype)
		snprintf(ctype, ctlen, "%s", ct ? ct : "");
	curl_easy_cleanup(c);
	vg_buf_putc(body, '\0');
	body->len--;
	return status;
}

static struct vg_http *start(char *bound, size_t len)
{
	struct vg_http *h;
	char err[256];

	cr_assert_eq(vg_http_start(&h, "127.0.0.1", 0, NULL, bound, len, err, sizeof(err)), VG_OK, "%s", err);
	cr_assert(strncmp(bound, "127.0.0.1:", 10) == 0 && atoi(bound + 10) > 0, "bound %s", bound);
	return h;
}

Test(http, serves_what_was_published)
{
	char bound[64], ct[128];
	struct vg_buf b = {0};
	struct vg_http *h = start(bound, sizeof(bound));

	cr_expect_eq(request(bound, "GET", "/metrics", &b, NULL, 0), 404); /* not published yet */
	cr_assert_eq(vg_http_publish(h, "/metrics", 200, "text/plain; version=0.0.4", "a 1\n", 4, 0), VG_OK);
	cr_assert_eq(vg_http_publish(h, "/ready", 503, "application/json", "{\"status\":\"failing\"}", 20, 0), VG_OK);
	cr_expect_eq(request(bound, "GET", "/metrics", &b, ct, sizeof(ct)), 200);
	cr_expect_str_eq(b.p, "a 1\n");
	cr_expect_str_eq(ct, "text/plain; version=0.0.4");
	cr_expect_eq(request(bound, "GET", "/ready", &b, ct, sizeof(ct)), 503);
	cr_expect_str_eq(b.p, "{\"status\":\"failing\"}");
	cr_expect_str_eq(ct, "application/json");
	/* A new page replaces the old one. */
	cr_assert_eq(vg_http_publish(h, "/metrics", 200, "text/plain; version=0.0.4", "a 2\n", 4, 0), VG_OK);
	cr_expect_eq(request(bound, "GET", "/metrics", &b, NULL, 0), 200);
	cr_expect_str_eq(b.p, "a 2\n");
	cr_expect_eq(request(bound, "HEAD", "/metrics", &b, NULL, 0), 200);
	cr_expect_eq(b.len, 0u);
	cr_expect_eq(request(bound, "POST", "/metrics", &b, NULL, 0), 405);
	cr_expect_eq(request(bound, "GET", "/metrics/x", &b, NULL, 0), 404);
	cr_expect(strstr(b.p, "\"endpoints\""), "%s", b.p);
	vg_buf_free(&b);
	vg_http_stop(h);
}

Test(http, a_page_not_refreshed_in_time_is_stale)
{
	char bound[64];
	struct vg_buf b = {0};
	struct vg_http *h = start(bound, sizeof(bound));
	struct timespec ms = {0, 1000000};
	long st = 0;

	cr_assert_eq(vg_http_publish(h, "/health", 200, "application/json", "{\"status\":\"ok\"}", 15, 1), VG_OK);
	/* At most 1 ms old it is served as published; afterwards stale. */
	for (int i = 0; i < 5000 && (st = request(bound, "GET", "/health", &b, NULL, 0)) == 200; i++)
		nanosleep(&ms, NULL);
	cr_expect_eq(st, 503);
	cr_expect(strstr(b.p, "\"status\":\"stale\""), "%s", b.p);
	/* Published again with no age bound: fresh for good. */
	cr_assert_eq(vg_http_publish(h, "/health", 200, "application/json", "{\"status\":\"ok\"}", 15, 0), VG_OK);
	cr_expect_eq(request(bound, "GET", "/health", &b, NULL, 0), 200);
	vg_buf_free(&b);
	vg_http_stop(h);
}

Test(http, an_address_in_use_is_refused)
{
	char bound[64], again[64], err[256];
	struct vg_http *h = start(bound, sizeof(bound)), *h2 = NULL;

	cr_expect_eq(
	        vg_http_start(&h2, "127.0.0.1", (unsigned)atoi(bound + 10), NULL, again, sizeof(again), err, sizeof(err)),
	        VG_ERR_IO);
	cr_expect_null(h2);
	cr_expect(strstr(err, "cannot listen on"), "%s", err);
	cr_expect_eq(vg_http_start(&h2, "localhost", 0, NULL, again, sizeof(again), err, sizeof(err)), VG_ERR_CONFIG);
	cr_expect(strstr(err, "not an IPv4 address"), "%s", err);
	vg_http_stop(h);
	vg_http_stop(NULL);
}

Test(http, too_many_paths)
{
	char bound[64], path[16];
	struct vg_http *h = start(bound, sizeof(bound));

	for (int i = 0; i < 8; i++) {
		snprintf(path, sizeof(path), "/p%d", i);
		cr_expect_eq(vg_http_publish(h, path, 200, "text/plain", "x", 1, 0), VG_OK);
	}
	cr_expect_eq(vg_http_publish(h, "/p8", 200, "text/plain", "x", 1, 0), VG_ERR_INVALID);
	cr_expect_eq(vg_http_publish(h, "/p3", 200, "text/plain", "y", 1, 0), VG_OK); /* replacing is fine */
	vg_http_stop(h);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A connection to bound (blocking), as an attacker holds one. */
static int dial(const char *bound)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(strchr(bound, ':') + 1))};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert(fd >= 0);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect: %s", strerror(errno));
	return fd;
}

/* Whether the server closed fd (end of stream or reset), waiting up to
 * wait_ms for it. */
static bool closed_by_server(int fd, int wait_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char buf[256];
	ssize_t r;

	while (poll(&p, 1, wait_ms) == 1) {
		if ((r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) <= 0)
			return r == 0 || errno != EAGAIN;
	}
	return false;
}

static struct vg_http *start_limited(char *bound, size_t len, unsigned max_connections, unsigned timeout_ms)
{
	struct vg_http_limits lim = {.max_connections = max_connections, .timeout_ms = timeout_ms};
	struct vg_http *h;
	char err[256];

	cr_assert_eq(vg_http_start(&h, "127.0.0.1", 0, &lim, bound, len, err, sizeof(err)), VG_OK, "%s", err);
	return h;
}

static uint64_t evicted(struct vg_http *h)
{
	struct vg_http_stats st;

	vg_http_stats(h, &st);
	return st.evicted;
}

Test(http, past_the_limit_the_oldest_idle_connections_give_way)
{
	char bound[64];
	struct vg_buf b = {0};
	struct vg_http *h = start_limited(bound, sizeof(bound), 8, 60000);
	struct timespec ms = {0, 1000000};
	int fd[20];

	cr_assert_eq(vg_http_publish(h, "/health", 200, "application/json", "{\"status\":\"ok\"}", 15, 0), VG_OK);
	for (int i = 0; i < 20; i++)
		fd[i] = dial(bound);
	/* The server accepts them in order: the 12 oldest make room. */
	for (int i = 0; i < 10000 && evicted(h) < 12; i++)
		nanosleep(&ms, NULL);
	cr_expect_eq(evicted(h), 12u);
	/* The probe gets in at once (the timeout, a minute, never comes into it)
	 * and evicts one more. */
	request_timeout_s = 1;
	cr_expect_eq(request(bound, "GET", "/health", &b, NULL, 0), 200);
	request_timeout_s = 10;
	cr_expect_eq(evicted(h), 13u);
	for (int i = 0; i < 13; i++)
		cr_expect(closed_by_server(fd[i], 5000), "connection %d (of the 13 oldest) is closed", i);
	for (int i = 13; i < 20; i++)
		cr_expect(!closed_by_server(fd[i], 0), "connection %d (of the 7 newest) is open", i);
	for (int i = 0; i < 20; i++)
		close(fd[i]);
	vg_buf_free(&b);
	vg_http_stop(h);
}

Test(http, idle_and_slowloris_connections_are_closed_after_the_timeout)
{
	char bound[64];
	struct vg_http *h = start_limited(bound, sizeof(bound), 64, 500);
	int idle = dial(bound), slow = dial(bound);
	double t0 = now_s(), t_slow = 0;
	struct vg_http_stats st;
	bool idle_closed = false;

	/* The slow client sends a header line every 50 ms, never the blank
	 * line that ends the request: libmicrohttpd's own timeout, reset by
	 * each byte, would never close it. */
	static const char line[] = "GET /health HTTP/1.1\r\nHost: x\r\n";

	cr_assert(send(slow, line, sizeof(line) - 1, MSG_NOSIGNAL) == sizeof(line) - 1);
	while (now_s() - t0 < 5 && !t_slow) {
		if (closed_by_server(slow, 50))
			t_slow = now_s() - t0;
		else if (send(slow, "X-a: b\r\n", 8, MSG_NOSIGNAL) != 8)
			t_slow = now_s() - t0;
		idle_closed = idle_closed || closed_by_server(idle, 0);
	}
	cr_expect(t_slow >= 0.4 && t_slow < 3, "the slowloris connection closed after %.2f s (timeout 0.5 s)", t_slow);
	cr_expect(idle_closed || closed_by_server(idle, 3000), "the idle connection is closed");
	vg_http_stats(h, &st);
	cr_expect_eq(st.timed_out, 2u, "timed out: %llu", (unsigned long long)st.timed_out);
	cr_expect_eq(st.evicted, 0u);
	close(idle);
	close(slow);
	vg_http_stop(h);
}

/* http_flood: holds idle and slowloris connections open against an HTTP
 * server while probing one of its paths, for the HTTP abuse test and for
 * measuring what a liveness probe sees under such abuse.
 *
 *   http_flood HOST:PORT [--idle N] [--slow N] [--slow-every MS]
 *       [--probe PATH] [--probe-every MS] [--probe-timeout MS]
 *       [--seconds S] [--wait-close S] [--trace 1]
 *
 * Opens N idle connections (they send nothing) and N slowloris ones (a
 * request line, then a header line every --slow-every ms, never the
 * blank line that ends the headers), waits up to 5 s for them to connect,
 * then for --seconds probes PATH (one request at a time, a new connection
 * each, every --probe-every ms), each with --probe-timeout ms to answer.
 * Then it waits up to --wait-close seconds more for the server to close
 * every attacker's connection, and prints "NAME VALUE" lines (--trace 1:
 * each probe on standard error too, with its start and latency):
 *
 *   connected       attackers connected (of idle + slow)
 *   socket_errors   attackers that could not even start (out of descriptors...)
 *   probes / probes_ok / probes_failed    probes sent, answered 200 in
 *                   time, failed (timed out, refused, another status)
 *   probe_max_ms / probe_p50_ms / probe_p99_ms   latency of all probes
 *                   (a failed one counts its time until it failed)
 *   closed_idle / closed_slow   attackers the server closed (EOF or reset)
 *   held_min_ms / held_max_ms   how long the server kept those open, from
 *                   each one's connect
 *
 * Exits 0 after printing, 2 on a usage error. 127.0.0.1 and IPv4 only. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum state { CONNECTING, OPEN, CLOSED, GAVE_UP };

struct conn {
	int fd;
	int slow;
	enum state st;
	double t_connected, t_next_send, t_closed;
};

struct probe {
	int fd; /* -1: none in flight */
	int sent;
	double t_start, t_sent;
	char head[16];
	size_t head_len;
};

static struct sockaddr_in addr;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int open_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

static int connected_ok(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	return getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
}

/* The probe in flight ends at t: ok or failed (phase says where). */
static void probe_end(struct probe *pr, double t, double t0, double *lat, int ok, const char *phase, int trace,
                      size_t *n_ok, size_t *n_failed)
{
	*lat = (t - pr->t_start) * 1000;
	*(ok ? n_ok : n_failed) += 1;
	if (trace)
		fprintf(stderr, "probe at %.3f s: %.0f ms (connected after %.0f ms), %s\n", pr->t_start - t0, *lat,
		        pr->sent ? (pr->t_sent - pr->t_start) * 1000 : *lat, ok ? "200" : phase);
	if (pr->fd >= 0)
		close(pr->fd);
	pr->fd = -1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void usage(void)
{
	fprintf(stderr, "usage: http_flood HOST:PORT [--idle N] [--slow N] [--slow-every MS] [--probe PATH]\n"
	                "       [--probe-every MS] [--probe-timeout MS] [--seconds S] [--wait-close S] [--trace 1]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long n_idle = 0, n_slow = 0, slow_every = 500, probe_every = 200, probe_timeout = 1000;
	double seconds = 3, wait_close = 0;
	int trace = 0;
	const char *path = "/health";
	char host[64], req[256];
	struct rlimit rl;

	if (argc < 2)
		usage();
	const char *colon = strrchr(argv[1], ':');

	if (!colon || (size_t)(colon - argv[1]) >= sizeof(host))
		usage();
	memcpy(host, argv[1], (size_t)(colon - argv[1]));
	host[colon - argv[1]] = '\0';
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
		usage();
	for (int i = 2; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		const char *o = argv[i], *v = argv[++i];

		if (!strcmp(o, "--idle"))
			n_idle = atol(v);
		else if (!strcmp(o, "--slow"))
			n_slow = atol(v);
		else if (!strcmp(o, "--slow-every"))
			slow_every = atol(v);
		else if (!strcmp(o, "--probe"))
			path = v;
		else if (!strcmp(o, "--probe-every"))
			probe_every = atol(v);
		else if (!strcmp(o, "--probe-timeout"))
			probe_timeout = atol(v);
		else if (!strcmp(o, "--seconds"))
			seconds = atof(v);
		else if (!strcmp(o, "--wait-close"))
			wait_close = atof(v);
		else if (!strcmp(o, "--trace"))
			trace = atoi(v);
		else
			usage();
	}
	if (n_idle < 0 || n_slow < 0 || slow_every <= 0 || probe_every <= 0 || probe_timeout <= 0)
		usage();
	/* Thousands of sockets: take the hard limit. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, argv[1]);

	size_t n = (size_t)(n_idle + n_slow), n_probes = 0, cap_probes = 64;
	struct conn *c = calloc(n ? n : 1, sizeof(*c));
	struct pollfd *pfd = calloc(n + 1, sizeof(*pfd));
	double *lat = malloc(cap_probes * sizeof(*lat));
	size_t probes_ok = 0, probes_failed = 0;
	struct probe pr = {.fd = -1};

	if (!c || !pfd || !lat) {
		fprintf(stderr, "http_flood: out of memory\n");
		return 1;
	}
	size_t socket_errors = 0;

	for (size_t i = 0; i < n; i++) {
		c[i].slow = i >= (size_t)n_idle;
		c[i].fd = open_socket();
		c[i].st = c[i].fd < 0 ? GAVE_UP : CONNECTING;
		if (c[i].fd < 0 && socket_errors++ == 0)
			fprintf(stderr, "http_flood: attacker %zu: %s (the first of those that failed)\n", i,
			        strerror(errno));
	}
	double t0 = now_s(), t_connect_end = t0 + 5, t_probe_start = -1, t_probe_end = -1, t_end = -1;
	double next_probe = 0;

	for (;;) {
		double t = now_s();
		size_t np = 0, connecting = 0, open = 0;

		/* Phases: connect (up to 5 s), probe, wait for the server to close. */
		for (size_t i = 0; i < n; i++) {
			connecting += c[i].st == CONNECTING;
			open += c[i].st == OPEN;
		}
		if (t_probe_start < 0 && (connecting == 0 || t >= t_connect_end)) {
			for (size_t i = 0; i < n; i++) {
				if (c[i].st == CONNECTING) {
					close(c[i].fd);
					c[i].st = GAVE_UP;
				}
			}
			t_probe_start = next_probe = t;
			t_probe_end = t + seconds;
			t_end = t_probe_end + wait_close;
		}
		if (t_probe_start >= 0 && t >= t_probe_end && pr.fd < 0 && (open == 0 || t >= t_end))
			break;
		/* The probe: start one, or give up on the one in flight. */
		if (t_probe_start >= 0 && pr.fd >= 0 && t - pr.t_start > probe_timeout / 1000.0)
			probe_end(&pr, t, t_probe_start, &lat[n_probes - 1], 0, pr.sent ? "no answer in time" : "not connected in time",
			          trace, &probes_ok, &probes_failed);
		if (t_probe_start >= 0 && pr.fd < 0 && t < t_probe_end && t >= next_probe) {
			next_probe = t + probe_every / 1000.0;
			if (n_probes == cap_probes && !(lat = realloc(lat, (cap_probes *= 2) * sizeof(*lat)))) {
				fprintf(stderr, "http_flood: out of memory\n");
				return 1;
			}
			lat[n_probes++] = 0;
			pr = (struct probe){.fd = open_socket(), .t_start = t};
			if (pr.fd < 0) {
				probes_failed++;
				pr.fd = -1;
			}
		}
		/* Slowloris: the request line once connected, then a header line
		 * now and then, never the end of the headers. */
		for (size_t i = 0; i < n; i++) {
			if (c[i].st != OPEN || !c[i].slow || t < c[i].t_next_send)
				continue;
			const char *line = c[i].t_next_send == 0 ? "GET /health HTTP/1.1\r\nHost: x\r\n" : "X-a: b\r\n";

			if (send(c[i].fd, line, strlen(line), MSG_NOSIGNAL) < 0 && errno != EAGAIN) {
				close(c[i].fd);
				c[i].st = CLOSED;
				c[i].t_closed = t;
				continue;
			}
			c[i].t_next_send = t + slow_every / 1000.0;
		}
		for (size_t i = 0; i < n; i++) {
			if (c[i].st == CONNECTING)
				pfd[np++] = (struct pollfd){.fd = c[i].fd, .events = POLLOUT};
			else if (c[i].st == OPEN)
				pfd[np++] = (struct pollfd){.fd = c[i].fd, .events = POLLIN};
			else
				continue;
		}
		if (pr.fd >= 0)
			pfd[np++] = (struct pollfd){.fd = pr.fd, .events = pr.sent ? POLLIN : POLLOUT};
		if (poll(pfd, np, 20) < 0 && errno != EINTR) {
			perror("http_flood: poll");
			return 1;
		}
		t = now_s();
		size_t k = 0;

		for (size_t i = 0; i < n; i++) {
			if (c[i].st != CONNECTING && c[i].st != OPEN)
				continue;
			short re = pfd[k++].revents;

			if (!re)
				continue;
			if (c[i].st == CONNECTING) {
				if (connected_ok(c[i].fd)) {
					c[i].st = OPEN;
					c[i].t_connected = t;
				} else {
					close(c[i].fd);
					c[i].st = GAVE_UP;
				}
				continue;
			}
			char buf[4096];
			ssize_t r = recv(c[i].fd, buf, sizeof(buf), 0);

			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
				close(c[i].fd);
				c[i].st = CLOSED;
				c[i].t_closed = t;
			}
		}
		if (pr.fd >= 0 && pfd[k].revents) {
			if (!pr.sent) {
				if (!connected_ok(pr.fd) || send(pr.fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req))
					probe_end(&pr, t, t_probe_start, &lat[n_probes - 1], 0, "refused", trace, &probes_ok,
					          &probes_failed);
				else
					pr.sent = 1, pr.t_sent = t;
			} else {
				char buf[4096];
				ssize_t r = recv(pr.fd, buf, sizeof(buf), 0);

				if (r > 0 && pr.head_len < sizeof(pr.head) - 1) {
					size_t m = sizeof(pr.head) - 1 - pr.head_len;

					memcpy(pr.head + pr.head_len, buf, (size_t)r < m ? (size_t)r : m);
					pr.head_len += (size_t)r < m ? (size_t)r : m;
					pr.head[pr.head_len] = '\0';
				}
				if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
					probe_end(&pr, t, t_probe_start, &lat[n_probes - 1],
					          r == 0 && strncmp(pr.head + 8, " 200", 4) == 0, "not 200", trace, &probes_ok,
					          &probes_failed);
			}
		}
	}
	size_t connected = 0, closed_idle = 0, closed_slow = 0;
	double held_min = -1, held_max = -1;

	for (size_t i = 0; i < n; i++) {
		connected += c[i].st == OPEN || c[i].st == CLOSED;
		if (c[i].st == CLOSED) {
			double held = (c[i].t_closed - c[i].t_connected) * 1000;

			*(c[i].slow ? &closed_slow : &closed_idle) += 1;
			if (held_min < 0 || held < held_min)
				held_min = held;
			if (held > held_max)
				held_max = held;
		}
		if (c[i].st == OPEN)
			close(c[i].fd);
	}
	qsort(lat, n_probes, sizeof(*lat), cmp_double);
	printf("connected %zu\nsocket_errors %zu\n", connected, socket_errors);
	printf("probes %zu\nprobes_ok %zu\nprobes_failed %zu\n", n_probes, probes_ok, probes_failed);
	printf("probe_max_ms %.0f\n", n_probes ? lat[n_probes - 1] : 0.0);
	printf("probe_p50_ms %.0f\n", n_probes ? lat[n_probes / 2] : 0.0);
	printf("probe_p99_ms %.0f\n", n_probes ? lat[(n_probes * 99) / 100] : 0.0);
	printf("closed_idle %zu\nclosed_slow %zu\n", closed_idle, closed_slow);
	printf("held_min_ms %.0f\nheld_max_ms %.0f\n", held_min, held_max);
	free(lat);
	free(pfd);
	free(c);
	return 0;
}

/* vigil: the HTTP endpoints' server. See http.h. */
#define _POSIX_C_SOURCE 200809L
#include "sink/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "core/clock.h"
#include "core/err.h"

#define MAX_PAGES 8
#define TICK_MS 100    /* the longest the server thread waits: how late a stop or a sweep is */
#define EVICT_SLACK 16 /* connections evicted but not closed yet: libmicrohttpd accepts 10 a turn */

struct page {
	char path[32];
	int status;
	char content_type[64];
	char *body;
	size_t len;
	int64_t published_ms, max_age_ms; /* monotonic */
};

/* An open connection, in the server thread's list (oldest first). */
struct conn {
	struct conn *prev, *next;
	int fd;
	bool busy;        /* its request is in: being answered */
	bool closing;     /* shut down by us: libmicrohttpd closes it next turn */
	int64_t since_ms; /* opened, or its last answer sent (monotonic) */
};

struct vg_http {
	struct MHD_Daemon *d;
	pthread_t thread;
	atomic_bool stop;
	unsigned max_conns, timeout_ms;
	/* The server thread's alone: */
	struct conn *oldest, *newest;
	unsigned live; /* in the list and not closing */
	int64_t swept_ms;
	/* Read by vg_http_stats from any thread: */
	atomic_uint_fast64_t n_open, n_timed_out, n_evicted;
	pthread_mutex_t mu; /* guards pages: the publisher and the server thread only */
	struct page pages[MAX_PAGES];
	size_t n_pages;
};

static int64_t mono_ms(void)
{
	return (int64_t)(vg_clock_mono_s() * 1000);
}

/* Close c from our side, counted first (the client may look at once):
 * shutdown, not close, since the descriptor is libmicrohttpd's; it sees
 * the end of the stream on its next turn and closes it (on_connection
 * CLOSED unlinks it then). */
static void conn_shut(struct vg_http *h, struct conn *c, atomic_uint_fast64_t *counter)
{
	atomic_fetch_add(counter, 1);
	shutdown(c->fd, SHUT_RDWR);
	c->closing = true;
	h->live--;
}

/* Over max_conns: the oldest connections not being answered give way.
 * Idle sockets, slow requests and keep-alive scrapers all look alike here;
 * the newest are the ones whose request has just been sent. When every
 * connection is being answered, none is evicted and libmicrohttpd's limit
 * holds new ones in the listen backlog until one is done. */
static void evict(struct vg_http *h)
{
	struct conn *c = h->oldest;

	while (h->live > h->max_conns && c) {
		if (!c->busy && !c->closing)
			conn_shut(h, c, &h->n_evicted);
		c = c->next;
	}
}

/* Connections not being answered and older than timeout_ms since they
 * opened or were last answered are closed: an idle socket, a keep-alive
 * left open, a request sent a byte at a time (slowloris) alike. At most
 * once per TICK_MS. */
static void sweep(struct vg_http *h)
{
	int64_t now = mono_ms();

	if (now - h->swept_ms < TICK_MS)
		return;
	h->swept_ms = now;
	for (struct conn *c = h->oldest; c; c = c->next) {
		if (!c->busy && !c->closing && now - c->since_ms > (int64_t)h->timeout_ms)
			conn_shut(h, c, &h->n_timed_out);
	}
}

static struct conn *conn_of(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *i = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return i ? i->socket_context : NULL;
}

static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
	struct vg_http *h = cls;
	struct conn *c = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (!c)
			return;
		*(c->prev ? &c->prev->next : &h->oldest) = c->next;
		*(c->next ? &c->next->prev : &h->newest) = c->prev;
		if (!c->closing)
			h->live--;
		atomic_fetch_sub(&h->n_open, 1);
		free(c);
		return;
	}
	const union MHD_ConnectionInfo *i = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);

	if (!i)
		return;
	if (!(c = calloc(1, sizeof(*c)))) {
		shutdown(i->connect_fd, SHUT_RDWR); /* untracked could not be evicted */
		return;
	}
	c->fd = i->connect_fd;
	c->since_ms = mono_ms();
	c->prev = h->newest;
	*(h->newest ? &h->newest->next : &h->oldest) = c;
	h->newest = c;
	h->live++;
	atomic_fetch_add(&h->n_open, 1);
	*socket_context = c;
	evict(h);
}

/* A request answered (or abandoned): the connection is idle again. A
 * client that stopped reading its answer is closed by libmicrohttpd's
 * timeout: counted as timed out. */
static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct vg_http *h = cls;
	struct conn *c = conn_of(mc);

	(void)con_cls;
	if (toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED)
		atomic_fetch_add(&h->n_timed_out, 1);
	if (c) {
		c->busy = false;
		c->since_ms = mono_ms();
	}
}

static enum MHD_Result reply(struct MHD_Connection *c, int status, const char *ctype, const char *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	rc = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return rc;
}

#define JSON "application/json"

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_len, void **con_cls)
{
	struct vg_http *h = cls;
	struct conn *cn;
	char msg[256];
	enum MHD_Result rc;

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)con_cls;
	if ((cn = conn_of(c)))
		cn->busy = true;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		static const char body[] = "{\"error\":\"method not allowed\"}\n";

		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, JSON, body, sizeof(body) - 1);
	}
	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < h->n_pages; i++) {
		const struct page *p = &h->pages[i];
		int64_t age;

		if (strcmp(p->path, url) != 0)
			continue;
		if (p->max_age_ms > 0 && (age = mono_ms() - p->published_ms) > p->max_age_ms) {
			int n = snprintf(msg, sizeof(msg),
			                 "{\"status\":\"stale\",\"reasons\":[\"not refreshed for %lld ms: the "
			                 "window closer thread is stuck\"]}\n",
			                 (long long)age);

			rc = reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, JSON, msg, (size_t)n);
		} else {
			rc = reply(c, p->status, p->content_type, p->body, p->len);
		}
		pthread_mutex_unlock(&h->mu);
		return rc;
	}
	pthread_mutex_unlock(&h->mu);
	int n = snprintf(msg, sizeof(msg),
	                 "{\"error\":\"not found\",\"endpoints\":[\"/health\",\"/ready\",\"/metrics\","
	                 "\"/alerts\"]}\n");

	return reply(c, MHD_HTTP_NOT_FOUND, JSON, msg, (size_t)n);
}

/* The server thread: libmicrohttpd's event loop, then the sweep. The wait
 * bounds how late a stop is seen. */
static void *serve(void *arg)
{
	struct vg_http *h = arg;

	struct timespec tick = {0, TICK_MS * 1000000L};

	while (!atomic_load(&h->stop)) {
		/* Refused (epoll failing): wait a tick rather than spin. */
		if (MHD_run_wait(h->d, TICK_MS) != MHD_YES)
			nanosleep(&tick, NULL);
		sweep(h);
	}
	return NULL;
}

/* max_connections by default: VG_HTTP_MAX_CONNECTIONS, or a quarter of
 * the descriptors this process may open if that is fewer (the rest are
 * Kafka's sockets, the archive's files, the pipeline's). */
static unsigned default_max_connections(void)
{
	struct rlimit rl;
	unsigned n = VG_HTTP_MAX_CONNECTIONS;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur / 4 < n)
		n = (unsigned)(rl.rlim_cur / 4);
	return n < 16 ? 16 : n;
}

int vg_http_start(struct vg_http **out, const char *host, unsigned port, const struct vg_http_limits *lim,
                  char *bound, size_t boundlen, char *errbuf, size_t errlen)
{
	struct vg_http *h = calloc(1, sizeof(*h));
	struct sockaddr_in sa;
	int err;

	*out = NULL;
	if (!h)
		return VG_ERR_NOMEM;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		snprintf(errbuf, errlen, "http.listen: '%s' is not an IPv4 address", host);
		free(h);
		return VG_ERR_CONFIG;
	}
	h->max_conns = lim && lim->max_connections ? lim->max_connections : default_max_connections();
	h->timeout_ms = lim && lim->timeout_ms ? lim->timeout_ms : VG_HTTP_TIMEOUT_MS;
	atomic_init(&h->stop, false);
	pthread_mutex_init(&h->mu, NULL);
	/* Our thread runs libmicrohttpd's epoll loop (no select: no 1024
	 * descriptor ceiling). Connections past max_conns evict the oldest idle
	 * one (on_connection), so libmicrohttpd's own limit, a little higher
	 * for those still closing, is never what turns a probe away. Its
	 * timeout, a second past ours, only closes a client that stops reading
	 * a response; sweep closes idle and slow ones first. */
	h->d = MHD_start_daemon(MHD_USE_EPOLL, (uint16_t)port, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR,
	                        (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT, h->max_conns + EVICT_SLACK,
	                        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)((h->timeout_ms + 999) / 1000 + 1),
	                        MHD_OPTION_NOTIFY_CONNECTION, on_connection, h, MHD_OPTION_NOTIFY_COMPLETED,
	                        on_completed, h, MHD_OPTION_END);
	if (!h->d) {
		snprintf(errbuf, errlen, "http.listen: cannot listen on %s:%u: %s", host, port,
		         errno ? strerror(errno) : "libmicrohttpd refused");
		err = VG_ERR_IO;
		goto out_free;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);

	snprintf(bound, boundlen, "%s:%u", host, info ? (unsigned)info->port : port);
	if ((err = pthread_create(&h->thread, NULL, serve, h)) != 0) {
		snprintf(errbuf, errlen, "http.listen: cannot start the server thread: %s", strerror(err));
		err = VG_ERR_IO;
		goto out_stop;
	}
	*out = h;
	return VG_OK;
out_stop:
	MHD_stop_daemon(h->d);
out_free:
	pthread_mutex_destroy(&h->mu);
	free(h);
	return err;
}

int vg_http_publish(struct vg_http *h, const char *path, int status, const char *content_type, const char *body,
                    size_t len, int64_t max_age_ms)
{
	char *copy = malloc(len ? len : 1), *old = NULL;
	int rc = VG_OK;

	if (!copy)
		return VG_ERR_NOMEM;
	memcpy(copy, body, len);
	pthread_mutex_lock(&h->mu);
	struct page *p = NULL;

	for (size_t i = 0; i < h->n_pages && !p; i++) {
		if (strcmp(h->pages[i].path, path) == 0)
			p = &h->pages[i];
	}
	if (!p && h->n_pages < MAX_PAGES) {
		p = &h->pages[h->n_pages++];
		snprintf(p->path, sizeof(p->path), "%s", path);
	}
	if (p) {
		old = p->body;
		p->body = copy;
		p->len = len;
		p->status = status;
		snprintf(p->content_type, sizeof(p->content_type), "%s", content_type);
		p->published_ms = mono_ms();
		p->max_age_ms = max_age_ms;
	} else {
		old = copy;
		rc = VG_ERR_INVALID;
	}
	pthread_mutex_unlock(&h->mu);
	free(old);
	return rc;
}

void vg_http_stats(struct vg_http *h, struct vg_http_stats *out)
{
	out->open = atomic_load(&h->n_open);
	out->timed_out = atomic_load(&h->n_timed_out);
	out->evicted = atomic_load(&h->n_evicted);
	out->max_connections = h->max_conns;
	out->timeout_ms = h->timeout_ms;
}

void vg_http_stop(struct vg_http *h)
{
	if (!h)
		return;
	atomic_store(&h->stop, true);
	pthread_join(h->thread, NULL);
	MHD_stop_daemon(h->d); /* closes what is open: on_connection frees the list */
	for (size_t i = 0; i < h->n_pages; i++)
		free(h->pages[i].body);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

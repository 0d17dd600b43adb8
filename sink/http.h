/* vigil: the HTTP endpoints' server (libmicrohttpd's epoll loop on one
 * thread of its own).
 *
 * Serves pages the pipeline publishes: the closer thread renders /health,
 * /ready, /metrics and /alerts from its counters and calls
 * vg_http_publish; a request copies the current page under a mutex only
 * the publisher and the server take (never one a worker holds), so a
 * slow or stuck client never holds the pipeline back and the pipeline
 * never waits on a request. A page published with a maximum age and not
 * refreshed within it is served as 503 with a JSON reason: a stuck closer
 * makes /health fail instead of freezing it at its last answer.
 *
 * GET and HEAD only (405 otherwise); a path not published is 404.
 *
 * Whoever can connect must not be able to keep /health from answering (a
 * liveness probe comes from the same address as the attacker, often
 * 127.0.0.1, so a per-address limit would not help): a connection not
 * being answered is closed timeout_ms after it opened or was last
 * answered, whether it sent nothing (idle) or a request too slowly
 * (slowloris); past max_connections, a new connection makes the oldest
 * one not being answered give way, so the newest (the probe's) gets in.
 * A client that stops reading its answer is closed after timeout_ms + 1 s
 * without progress. */
#ifndef VG_HTTP_H
#define VG_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct vg_http;

#define VG_HTTP_MAX_CONNECTIONS 1024 /* at most a quarter of RLIMIT_NOFILE */
#define VG_HTTP_TIMEOUT_MS 3000

/* The server's bounds; 0 in a field: its default (above). */
struct vg_http_limits {
	unsigned max_connections;
	unsigned timeout_ms;
};

/* Listen on host (an IPv4 address) and port (0: an ephemeral one) and
 * start the server thread; lim NULL: the defaults. Writes the bound address ("127.0.0.1:9187")
 * into bound. Returns 0, or VG_ERR_IO (address in use...) or VG_ERR_CONFIG
 * (host is not an IPv4 address) with errbuf set, or VG_ERR_NOMEM. */
int vg_http_start(struct vg_http **out, const char *host, unsigned port, const struct vg_http_limits *lim,
                  char *bound, size_t boundlen, char *errbuf, size_t errlen);

/* Replace the page at path (at most 8 paths) with a copy of body, served
 * with status and content_type. max_age_ms > 0: once the page is older,
 * it is served as 503 {"status":"stale",...}. Thread-safe. Returns 0,
 * VG_ERR_NOMEM (the old page stays) or VG_ERR_INVALID (too many paths). */
int vg_http_publish(struct vg_http *h, const char *path, int status, const char *content_type, const char *body,
                    size_t len, int64_t max_age_ms);

/* The connections' counters since start, and the bounds in force. */
struct vg_http_stats {
	uint64_t open;      /* connections open now */
	uint64_t timed_out; /* closed for timeout_ms without a complete request, or a stalled reader */
	uint64_t evicted;   /* closed to make room past max_connections */
	unsigned max_connections, timeout_ms;
};

/* Fill out with h's counters. Thread-safe. */
void vg_http_stats(struct vg_http *h, struct vg_http_stats *out);

/* Stop the server (open connections are closed) and free it. NULL: no-op. */
void vg_http_stop(struct vg_http *h);

#endif

/* vigil: the HTTP endpoints' server. See http.h. */
#define _POSIX_C_SOURCE 200809L
#include "sink/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "core/clock.h"
#include "core/err.h"

#define MAX_PAGES 8

struct page {
	char path[32];
	int status;
	char content_type[64];
	char *body;
	size_t len;
	int64_t published_ms, max_age_ms; /* monotonic */
};

struct vg_http {
	struct MHD_Daemon *d;
	pthread_mutex_t mu; /* guards pages: the publisher and the server thread only */
	struct page pages[MAX_PAGES];
	size_t n_pages;
};

static int64_t mono_ms(void)
{
	return (int64_t)(vg_clock_mono_s() * 1000);
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
	char msg[256];
	enum MHD_Result rc;

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)con_cls;
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

int vg_http_start(struct vg_http **out, const char *host, unsigned port, char *bound, size_t boundlen, char *errbuf,
                  size_t errlen)
{
	struct vg_http *h = calloc(1, sizeof(*h));
	struct sockaddr_in sa;

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
	pthread_mutex_init(&h->mu, NULL);
	/* One internal thread; connections time out so an idle client cannot
	 * keep a slot; few connections: this is for scrapers and probes. */
	h->d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, (uint16_t)port, NULL, NULL, on_request, h,
	                        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_TIMEOUT,
	                        (unsigned)10, MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_END);
	if (!h->d) {
		snprintf(errbuf, errlen, "http.listen: cannot listen on %s:%u: %s", host, port,
		         errno ? strerror(errno) : "libmicrohttpd refused");
		pthread_mutex_destroy(&h->mu);
		free(h);
		return VG_ERR_IO;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);

	snprintf(bound, boundlen, "%s:%u", host, info ? (unsigned)info->port : port);
	*out = h;
	return VG_OK;
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

void vg_http_stop(struct vg_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	for (size_t i = 0; i < h->n_pages; i++)
		free(h->pages[i].body);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

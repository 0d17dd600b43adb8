/* The concurrent-windows scenario, shared by the Criterion suite
 * (tests/test_window.c) and the ThreadSanitizer driver
 * (tests/tsan/tsan_window.c): Criterion cannot run under TSan (its
 * inheritable arena collides with TSan's mappings, Criterion issue #274).
 *
 * The includer defines CHECK(cond, fmt, ...), which records a failure and
 * may return from the calling function. */
#ifndef VG_WINDOW_SCENARIO_H
#define VG_WINDOW_SCENARIO_H

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate/window.h"
#include "core/clock.h"

#define WIN 10000

/* Windows for workers; max_streams > 0: registered streams (Kafka
 * partitions), as vigil run makes them. */
static struct vg_windows *make_windows_streams(unsigned workers, unsigned max_streams)
{
	struct vg_windows *w;
	struct vg_windows_params p = {
		.window_ms = WIN, .lateness_ms = 5000, .idle_timeout_ms = 3600000, .workers = workers,
		.max_streams = max_streams, .table = {.map = vg_sketch_map_get(0.01), .max_keys = 10000},
	};

	if (vg_windows_create(&w, &p) != 0)
		abort(); /* out of memory in a test */
	return w;
}

static struct vg_windows *make_windows(unsigned workers)
{
	return make_windows_streams(workers, 0);
}

static const char *const services[] = {"orders", "payments", "search", "auth"};
static const char *const endpoints[] = {"/a/:id", "/b", "/c/:id/x"};

/* Record i of a deterministic stream: time advances 1 ms per record. */
static void make_record(struct vg_record *r, uint64_t i)
{
	uint64_t h = i * 0x9E3779B97F4A7C15ull;

	memset(r, 0, sizeof(*r));
	r->ts_ms = 1793491200000LL + (int64_t)i;
	r->service = vg_str_cstr(services[h % 4]);
	r->level = (uint8_t)(1 + (h >> 8) % 6);
	r->category = (uint8_t)((h >> 16) % 4);
	if ((h >> 24) % 2) {
		r->status = (h >> 32) % 50 == 0 ? 503 : (h >> 32) % 20 == 0 ? 404 : 200;
		r->endpoint = vg_str_cstr(endpoints[(h >> 40) % 3]);
		r->method = VG_STR_LIT("GET");
		r->duration_ms = 1 + (double)((h >> 44) % 5000) / 7.0;
	}
	r->counters = (h >> 50) % 10 == 0 ? 1u : 0u;
}

/* Emitted windows as canonical text lines, for comparison. */
struct collected {
	char **lines;
	size_t n, cap;
	int64_t last_start;
	bool in_order;
};

static int collect(struct vg_window *win, void *arg)
{
	struct collected *c = arg;

	if (win->start_ms <= c->last_start)
		c->in_order = false;
	c->last_start = win->start_ms;
	for (size_t i = 0; i < vg_table_size(win->table); i++) {
		struct vg_table_entry *e = vg_table_entry(win->table, i);
		char buf[512];
		uint64_t bh = 0;

		for (uint32_t k = 0; k < e->latency.len; k++)
			bh = bh * 31 + e->latency.bins[k] * (k + 1);
		snprintf(buf, sizeof(buf), "%lld|%d|%.*s|%.*s|%.*s|%d|%d|%d|%llu|%llu|%llu|%llu|%d|%llu|%.17g|%.17g",
			 (long long)win->start_ms, e->key.kind, (int)e->key.service.len, e->key.service.p,
			 (int)e->key.endpoint.len, e->key.endpoint.p ? e->key.endpoint.p : "", (int)e->key.method.len,
			 e->key.method.p ? e->key.method.p : "", e->key.category, e->key.level, e->key.counter,
			 (unsigned long long)e->count, (unsigned long long)e->errors_4xx,
			 (unsigned long long)e->errors_5xx, (unsigned long long)e->latency.count, e->latency.offset,
			 (unsigned long long)bh, e->latency.min, e->latency.max);
		if (c->n == c->cap) {
			c->cap = c->cap ? c->cap * 2 : 1024;
			c->lines = realloc(c->lines, c->cap * sizeof(*c->lines));
		}
		c->lines[c->n++] = strdup(buf);
	}
	return 0;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void collected_free(struct collected *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->lines[i]);
	free(c->lines);
}

#define RECORDS 200000

static void run_single(struct collected *out)
{
	struct vg_windows *w = make_windows(1);
	struct vg_wworker *ww = vg_windows_worker(w, 0);
	struct vg_record r;

	memset(out, 0, sizeof(*out));
	out->last_start = INT64_MIN;
	out->in_order = true;
	for (uint64_t i = 0; i < RECORDS; i++) {
		if (i % 1000 == 0)
			vg_wworker_begin(ww);
		make_record(&r, i);
		CHECK(vg_wworker_add(ww, &r, VG_TIME_NONE, 0, NULL) == 0, "add");
		if (i % 1000 == 999) {
			vg_wworker_end(ww);
			vg_windows_close(w, false, collect, out);
		}
	}
	vg_wworker_finish(ww);
	vg_windows_close(w, true, collect, out);
	struct vg_windows_stats st;

	vg_windows_get_stats(w, &st);
	CHECK(st.records == RECORDS, "records %llu", (unsigned long long)st.records);
	CHECK(st.late == 0, "late %llu", (unsigned long long)st.late);
	CHECK(st.closed == RECORDS / WIN, "closed %llu", (unsigned long long)st.closed);
	vg_windows_destroy(w);
	qsort(out->lines, out->n, sizeof(*out->lines), cmp_line);
}

/* Writers: worker k takes records i with (i / 500) % n == k, in order, so
 * each worker's stream is monotone and they interleave in time. */
struct writer {
	struct vg_wworker *ww;
	unsigned k, n;
	int32_t stream; /* the stream its records belong to */
};

static void *writer_main(void *arg)
{
	struct writer *wr = arg;
	struct vg_record r;
	unsigned batch = 0;

	for (uint64_t i = 0; i < RECORDS; i++) {
		if ((i / 500) % wr->n != wr->k)
			continue;
		if (batch == 0)
			vg_wworker_begin(wr->ww);
		make_record(&r, i);
		vg_wworker_add(wr->ww, &r, VG_TIME_NONE, wr->stream, NULL);
		if (++batch == 250) {
			vg_wworker_end(wr->ww);
			batch = 0;
		}
	}
	if (batch)
		vg_wworker_end(wr->ww);
	vg_wworker_finish(wr->ww);
	return NULL;
}

struct closer {
	struct vg_windows *w;
	struct collected *out;
	volatile int stop; /* written before join only; read by the closer */
	pthread_mutex_t mu;
	unsigned streams; /* registered: the closer is also the source, saying they are behind */
};

static void *closer_main(void *arg)
{
	struct closer *c = arg;

	for (;;) {
		pthread_mutex_lock(&c->mu);
		int stop = c->stop;

		pthread_mutex_unlock(&c->mu);
		if (stop)
			break;
		/* As vigil run's poller does on its tick: the partitions' state
		 * (records wait on them: behind), then the close. */
		for (unsigned k = 0; k < c->streams; k++)
			vg_windows_stream_set(c->w, (int32_t)k, VG_WSTREAM_BEHIND);
		vg_windows_close(c->w, false, collect, c->out);
		sched_yield();
	}
	return NULL;
}

/* n writers and a closer give the single thread's windows; with streams,
 * each writer's records are a registered stream (a partition) of its own,
 * told behind by the closer's thread while they are written and caught up
 * at the end. */
static void concurrent_mode(unsigned n, bool streams)
{
	struct collected single, multi;
	struct vg_windows *w = make_windows_streams(n, streams ? n : 0);
	struct writer wr[4];
	pthread_t th[4], ct;
	struct closer cl = {.w = w, .out = &multi, .streams = streams ? n : 0};

	run_single(&single);
	memset(&multi, 0, sizeof(multi));
	multi.last_start = INT64_MIN;
	multi.in_order = true;
	pthread_mutex_init(&cl.mu, NULL);
	pthread_create(&ct, NULL, closer_main, &cl);
	for (unsigned k = 0; k < cl.streams; k++)
		vg_windows_stream_set(w, (int32_t)k, VG_WSTREAM_BEHIND);
	for (unsigned k = 0; k < n; k++) {
		wr[k] = (struct writer){.ww = vg_windows_worker(w, k), .k = k, .n = n,
					.stream = streams ? (int32_t)k : 0};
		pthread_create(&th[k], NULL, writer_main, &wr[k]);
	}
	for (unsigned k = 0; k < n; k++)
		pthread_join(th[k], NULL);
	pthread_mutex_lock(&cl.mu);
	cl.stop = 1;
	pthread_mutex_unlock(&cl.mu);
	pthread_join(ct, NULL);
	for (unsigned k = 0; k < cl.streams; k++)
		vg_windows_stream_set(w, (int32_t)k, VG_WSTREAM_CAUGHT_UP);
	vg_windows_close(w, true, collect, &multi);
	struct vg_windows_stats st;

	vg_windows_get_stats(w, &st);
	CHECK(st.records == RECORDS, "records %llu", (unsigned long long)st.records);
	CHECK(st.late == 0, "a worker running ahead closed a window another still fed (%llu late)",
	      (unsigned long long)st.late);
	CHECK(multi.in_order, "windows emitted out of order");
	qsort(multi.lines, multi.n, sizeof(*multi.lines), cmp_line);
	CHECK(multi.n == single.n, "%zu rows, want %zu", multi.n, single.n);
	for (size_t i = 0; i < single.n; i++)
		CHECK(strcmp(multi.lines[i], single.lines[i]) == 0, "row %zu: %s != %s", i, multi.lines[i],
		      single.lines[i]);
	vg_windows_destroy(w);
	pthread_mutex_destroy(&cl.mu);
	collected_free(&single);
	collected_free(&multi);
}


#endif

/* vigil: the pipeline's set-up, summary and teardown (see
 * pipeline_internal.h), shared by the files' commands and vigil run. */
#include "pipeline/pipeline_internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "parse/json.h"

/* The summary line on standard error; extra: more JSON members to append
 * (vigil run's committed offsets), or NULL. */
void vg_pipeline_summary(struct vg_pipeline *run, double seconds, const char *extra)
{
	struct vg_windows_stats ws;
	struct vg_epcap_stats eps;
	struct vg_buf b = {0};
	uint64_t records = run->oversize, rejected = run->oversize, by_reason[VG_JR_COUNT] = {0};
	struct vg_classify_stats cs = {0};

	by_reason[VG_JR_SIZE] = run->oversize;
	for (unsigned i = 0; i < run->threads; i++) {
		struct vg_classify_stats ws_i = worker_classify_stats(&run->workers[i]);

		vg_classify_stats_add(&cs, &ws_i);
		records += run->workers[i].records + run->workers[i].oversize;
		rejected += run->workers[i].rejected + run->workers[i].oversize;
		by_reason[VG_JR_SIZE] += run->workers[i].oversize;
		for (int r = 0; r < VG_JR_COUNT; r++)
			by_reason[r] += run->workers[i].by_reason[r];
	}
	vg_windows_get_stats(run->win, &ws);
	vg_buf_putc(&b, '{');
	vg_json_put_counts(&b, records, rejected, by_reason);
	vg_buf_puts(&b, ",\"aggregated\":");
	vg_buf_put_u64(&b, ws.records);
	vg_buf_puts(&b, ",\"late\":");
	vg_buf_put_u64(&b, ws.late);
	vg_buf_puts(&b, ",\"no_time\":");
	vg_buf_put_u64(&b, ws.no_time);
	vg_buf_puts(&b, ",\"no_time_by_reason\":{");
	for (int r = VG_TIME_ABSENT, first = 1; r < VG_TIME_ERR_COUNT; r++) {
		if (!ws.no_time_by[r])
			continue;
		vg_buf_puts(&b, first ? "\"" : ",\"");
		vg_buf_puts(&b, vg_time_err_str((enum vg_time_err)r));
		vg_buf_puts(&b, "\":");
		vg_buf_put_u64(&b, ws.no_time_by[r]);
		first = 0;
	}
	vg_buf_puts(&b, "},\"skewed\":{\"ahead\":");
	vg_buf_put_u64(&b, ws.skewed_ahead);
	vg_buf_puts(&b, ",\"behind\":");
	vg_buf_put_u64(&b, ws.skewed_behind);
	vg_buf_puts(&b, "},\"durations_rejected\":{");
	for (int r = 0; r < VG_DURATION_ERR_COUNT; r++) {
		vg_buf_puts(&b, r ? ",\"" : "\"");
		vg_buf_puts(&b, vg_windows_duration_err_str(r));
		vg_buf_puts(&b, "\":");
		vg_buf_put_u64(&b, ws.duration_err[r]);
	}
	vg_buf_puts(&b, "},\"watermark\":{\"behind_newest_ms\":");
	vg_buf_put_u64(&b, watermark_behind(ws.last_watermark_ms, ws.newest_ms));
	vg_buf_puts(&b, ",\"behind_clock_ms\":");
	vg_buf_put_u64(&b, watermark_behind(ws.last_watermark_ms, vg_clock_now_ms()));
	vg_buf_puts(&b, "},\"windows\":");
	vg_buf_put_u64(&b, ws.closed);
	vg_buf_puts(&b, ",\"keys_overflow\":");
	vg_buf_put_u64(&b, ws.overflow);
	vg_classify_put_summary(&b, &cs);
	vg_wstore_endpoints(run->store, &eps);
	vg_buf_puts(&b, ",\"store_endpoints\":");
	vg_buf_put_u64(&b, eps.known);
	vg_buf_puts(&b, ",\"store_endpoints_folded\":{\"cap\":");
	vg_buf_put_u64(&b, eps.folded_cap);
	vg_buf_puts(&b, ",\"not_found\":");
	vg_buf_put_u64(&b, eps.folded_404);
	vg_buf_puts(&b, "},\"store_bytes\":");
	vg_buf_put_u64(&b, vg_wstore_bytes(run->store));
	vg_buf_puts(&b, ",\"rules\":");
	vg_buf_put_u64(&b, vg_rules_count(run->rules));
	vg_buf_puts(&b, ",\"alerts\":{\"pending\":");
	vg_buf_put_u64(&b, run->alerts_by_state[VG_ALERT_PENDING]);
	vg_buf_puts(&b, ",\"firing\":");
	vg_buf_put_u64(&b, run->alerts_by_state[VG_ALERT_FIRING]);
	vg_buf_puts(&b, ",\"resolved\":");
	vg_buf_put_u64(&b, run->alerts_by_state[VG_ALERT_RESOLVED]);
	vg_buf_putc(&b, '}');
	if (run->notify) {
		/* Give the notifiers a bounded moment to deliver what the last
		 * windows decided; what is left stays in the outbox. */
		struct vg_notify_stats ns;

		if (!vg_notify_drain(run->notify, 5000))
			vg_log(VG_LOG_WARNING, "notify", "undelivered alerts stay in the outbox for the next start");
		vg_notify_get_stats(run->notify, &ns);
		vg_buf_puts(&b, ",\"notify\":{");
		for (size_t i = 0; i < ns.n; i++) {
			char one[256];

			snprintf(one, sizeof(one),
				 "%s\"%s\":{\"sent\":%llu,\"resent\":%llu,\"retried\":%llu,\"failed\":%llu,"
				 "\"dropped\":%llu,\"pending\":%llu}",
				 i ? "," : "", ns.name[i], (unsigned long long)ns.sent[i], (unsigned long long)ns.resent[i],
				 (unsigned long long)ns.retried[i], (unsigned long long)ns.failed[i],
				 (unsigned long long)ns.dropped[i], (unsigned long long)ns.pending[i]);
			vg_buf_puts(&b, one);
		}
		vg_buf_putc(&b, '}');
	}
	vg_buf_puts(&b, ",\"threads\":");
	vg_buf_put_u64(&b, run->threads);
	vg_buf_puts(&b, ",\"bytes\":");
	vg_buf_put_u64(&b, run->bytes);
	vg_buf_puts(&b, ",\"seconds\":");
	vg_buf_put_double(&b, (double)(int64_t)(seconds * 1e6) / 1e6);
	vg_buf_puts(&b, ",\"mb_per_s\":");
	vg_buf_put_double(&b, seconds > 0 ? (double)(int64_t)((double)run->bytes / 1e6 / seconds * 100) / 100 : 0);
	if (extra)
		vg_buf_puts(&b, extra);
	vg_buf_puts(&b, "}\n");
	vg_buf_write_fd(&b, STDERR_FILENO);
	vg_buf_free(&b);
}

int vg_pipeline_setup(struct vg_pipeline *run, int64_t window_ms)
{
	run->alerts_fd = -1;
	struct vg_windows_params wp = {
		.window_ms = window_ms > 0 ? window_ms : run->st.cfg->window_ms,
		.lateness_ms = run->st.cfg->lateness_ms,
		.idle_timeout_ms = run->st.cfg->idle_timeout_ms,
		.skew_ahead_ms = run->st.cfg->skew_ahead_ms,
		.skew_behind_ms = run->st.cfg->skew_behind_ms,
		.max_duration_ms = (double)run->st.cfg->max_duration_ms,
		.workers = run->threads,
		/* vigil run: the Kafka partitions are registered streams. */
		.max_streams = run->no_chunk_threads ? VG_KAFKA_MAX_PARTS : 0,
		.table = {.map = vg_sketch_map_get(run->st.cfg->accuracy), .max_keys = run->st.cfg->max_keys,
			  .exact = run->exact},
	};

	if (!wp.table.map) {
		fprintf(stderr, "vigil: aggregate.accuracy %g is finer than the sketch supports\n",
			run->st.cfg->accuracy);
		return VG_ERR_CONFIG;
	}
	struct vg_wstore_params sp = {.window_ms = wp.window_ms, .ring_ms = VG_RULES_RING_MS, .retain_ms = 3 * 86400000LL,
				      .map = wp.table.map, .max_endpoints = run->st.cfg->max_endpoints, .hold_404 = true};

	if (vg_windows_create(&run->win, &wp) != VG_OK || vg_wstore_create(&run->store, &sp) != VG_OK)
		return VG_ERR_NOMEM;
	int rc = vg_closer_open(run, &wp.table, wp.window_ms);

	if (rc != VG_OK)
		return rc;
	if (!(run->workers = calloc(run->threads, sizeof(*run->workers))))
		return VG_ERR_NOMEM;
	if (vg_ring_create(&run->free_chunks, (size_t)run->threads * CHUNKS_PER_WORKER) != VG_OK)
		return VG_ERR_NOMEM;
	for (unsigned i = 0; i < run->threads; i++) {
		struct vg_pipeline_worker *w = &run->workers[i];

		w->run = run;
		w->ww = vg_windows_worker(run->win, i);
		if (i == 0) {
			w->ctx = run->st.ctx;
		} else if (vg_classify_ctx_create(&w->ctx, run->st.classifier) != VG_OK) {
			return VG_ERR_NOMEM;
		}
		if (run->threads == 1 || run->no_chunk_threads)
			continue;
		if (vg_ring_create(&w->in, CHUNKS_PER_WORKER) != VG_OK)
			return VG_ERR_NOMEM;
		for (int k = 0; k < CHUNKS_PER_WORKER; k++) {
			struct chunk *c = calloc(1, sizeof(*c));

			/* A chunk holds CHUNK_BYTES plus one longest record, so a
			 * partial line carried over always fits. */
			size_t cap = CHUNK_BYTES + run->st.limits.max_bytes + 2;

			if (!c || !(c->buf = malloc(cap))) {
				free(c);
				return VG_ERR_NOMEM;
			}
			c->own = c->buf;
			c->cap = cap;
			vg_ring_put(run->free_chunks, c);
		}
		if (pthread_create(&w->thread, NULL, vg_files_worker, w) != 0)
			return VG_ERR_NOMEM;
	}
	return VG_OK;
}

void vg_pipeline_teardown(struct vg_pipeline *run)
{
	size_t n_chunks = run->threads > 1 && !run->no_chunk_threads ? (size_t)run->threads * CHUNKS_PER_WORKER : 0;

	for (unsigned i = 0; run->workers && i < run->threads; i++) {
		if (i > 0 || run->workers[i].ctx != run->st.ctx) /* worker 0 starts with the stage's */
			vg_classify_ctx_destroy(run->workers[i].ctx);
		vg_ring_destroy(run->workers[i].in);
	}
	for (size_t k = 0; run->free_chunks && k < n_chunks; k++) {
		struct chunk *c = vg_ring_take(run->free_chunks);

		free(c->own);
		free(c);
	}
	vg_ring_destroy(run->free_chunks);
	free(run->workers);
	vg_windows_destroy(run->win);
	vg_wstore_destroy(run->store);
	vg_notify_destroy(run->notify); /* drained (bounded) by the summary */
	vg_alerts_destroy(run->alerts);
	vg_rules_destroy(run->rules);
	free(run->counter_names);
	if (run->n_held)
		vg_log_kv(VG_LOG_WARNING, "alerts",
			  "stopped while catching up: alerts still firing in the backlog were not sent (the next start "
			  "evaluates the backlog again)",
			  VG_LOG_I("held_firing", (int64_t)run->n_held));
	free(run->held);
	if (run->alerts_fd >= 0 && run->alerts_fd != STDOUT_FILENO)
		close(run->alerts_fd);
	vg_buf_free(&run->alerts_out);
	vg_buf_free(&run->out);
	vg_stage_close(&run->st);
}

int vg_pipeline_start(struct vg_pipeline *run, int64_t window_ms, const char *cmd)
{
	int rc;

	run->cmd = cmd;
	rc = vg_pipeline_setup(run, window_ms);
	if (rc == VG_OK)
		return VG_EXIT_OK;
	if (rc == VG_ERR_NOMEM)
		fprintf(stderr, "vigil %s: out of memory\n", cmd);
	vg_pipeline_teardown(run);
	return rc == VG_ERR_CONFIG ? VG_EXIT_CONFIG : VG_EXIT_IO;
}

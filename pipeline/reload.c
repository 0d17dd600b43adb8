/* vigil: the SIGHUP reload's reading, on a thread of its own (see
 * pipeline_internal.h, "Reload"). */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/rules.h"
#include "core/err.h"
#include "core/log.h"
#include "parse/classify.h"
#include "pipeline/pipeline_internal.h"

struct vg_reload {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *config_path; /* NULL: defaults only */
	int64_t window_ms;
	/* under mu */
	bool asked;  /* a reload asked for, not begun */
	bool busy;   /* reading and compiling */
	bool stop;   /* vg_reload_stop: no more */
	bool orphan; /* stopped while busy: the thread frees all */
	bool ready;  /* a result waits for the closer */
	int rc;
	struct gen *g;
	struct vg_rules *rules;
	char err[1024];
};

void vg_reload_gen_free(struct gen *g)
{
	if (!g)
		return;
	vg_classifier_destroy(g->classifier);
	vg_config_free(g->cfg);
	free(g->counter_names);
	free(g);
}

static void result_free(struct vg_reload *r)
{
	vg_reload_gen_free(r->g);
	vg_rules_destroy(r->rules);
	r->g = NULL;
	r->rules = NULL;
	r->ready = false;
}

static void reload_free(struct vg_reload *r)
{
	result_free(r);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(r->config_path);
	free(r);
}

/* Read and compile the configuration and its rule files. */
static int prepare(const struct vg_reload *r, struct gen **gout, struct vg_rules **rules, char *err, size_t errlen)
{
	struct gen *g = calloc(1, sizeof(*g));
	int rc = g ? VG_OK : VG_ERR_NOMEM;

	*gout = NULL;
	*rules = NULL;
	snprintf(err, errlen, "out of memory");
	if (rc == VG_OK && (rc = vg_config_load(&g->cfg, r->config_path, err, errlen)) == VG_OK &&
	    (rc = vg_classifier_create(&g->classifier, g->cfg, err, errlen)) == VG_OK)
		rc = vg_rules_load_config(rules, g->cfg, r->window_ms, &g->counter_names, err, errlen);
	if (rc != VG_OK) {
		vg_reload_gen_free(g);
		return rc;
	}
	*gout = g;
	return VG_OK;
}

static void *reload_main(void *arg)
{
	struct vg_reload *r = arg;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (!r->asked && !r->stop)
			pthread_cond_wait(&r->cv, &r->mu);
		if (r->stop)
			break;
		r->asked = false;
		r->busy = true;
		pthread_mutex_unlock(&r->mu);

		struct gen *g;
		struct vg_rules *rules;
		char err[sizeof(r->err)];
		int rc = prepare(r, &g, &rules, err, sizeof(err));

		pthread_mutex_lock(&r->mu);
		r->busy = false;
		result_free(r); /* one not taken yet: the newer wins */
		r->ready = true;
		r->rc = rc;
		r->g = g;
		r->rules = rules;
		memcpy(r->err, err, sizeof(err));
		if (r->stop)
			break;
	}
	bool orphan = r->orphan;

	pthread_mutex_unlock(&r->mu);
	if (orphan)
		reload_free(r);
	return NULL;
}

int vg_reload_start(struct vg_reload **out, const char *config_path, int64_t window_ms)
{
	struct vg_reload *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r)
		return VG_ERR_NOMEM;
	if (config_path && !(r->config_path = strdup(config_path))) {
		free(r);
		return VG_ERR_NOMEM;
	}
	r->window_ms = window_ms;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	if (pthread_create(&r->thread, NULL, reload_main, r) != 0) {
		reload_free(r);
		return VG_ERR_NOMEM;
	}
	*out = r;
	return VG_OK;
}

void vg_reload_ask(struct vg_reload *r)
{
	pthread_mutex_lock(&r->mu);
	r->asked = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

bool vg_reload_take(struct vg_reload *r, int *rc, struct gen **g, struct vg_rules **rules, char *err, size_t errlen)
{
	bool ready;

	pthread_mutex_lock(&r->mu);
	ready = r->ready;
	if (ready) {
		*rc = r->rc;
		*g = r->g;
		*rules = r->rules;
		snprintf(err, errlen, "%s", r->err);
		r->g = NULL;
		r->rules = NULL;
		r->ready = false;
	}
	pthread_mutex_unlock(&r->mu);
	return ready;
}

void vg_reload_stop(struct vg_reload *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	r->orphan = r->busy;
	bool busy = r->busy;

	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	if (busy) {
		/* Stuck in a read (a FIFO, a hung mount): not waited for; it
		 * frees all once the read returns, or the process ends. */
		vg_log(VG_LOG_WARNING, "reload", "a reload still reading its files is not waited for");
		pthread_detach(r->thread);
		return;
	}
	pthread_join(r->thread, NULL);
	reload_free(r);
}

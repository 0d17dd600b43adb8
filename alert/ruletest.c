/* vigil: rule tests, `vigil rules --test` (see ruletest.h). */
#include "alert/ruletest.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aggregate/wstore.h"
#include "alert/alerts.h"
#include "alert/rules_internal.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/record.h"

#define TEST_T0 1793491200000LL /* 2026-11-01T00:00:00Z: where test series start */
#define MAX_SERIES 32

struct tseries {
	struct vg_table_key key;
	char service[128], endpoint[256], method[16];
	double latency_ms;
	uint64_t *count, *errors; /* per window */
	size_t n, cap;
};

struct texpect {
	int64_t at_ms;
	yaml_node_t *firing; /* a sequence of label maps */
	int line;
};

struct tcase {
	struct loader *L;
	struct tseries s[MAX_SERIES];
	size_t n_series;
	struct texpect *ex;
	size_t n_ex, cap_ex;
};

/* "COUNT[/ERRORS][xN] ..." into per-window values. */
static int parse_values(struct loader *L, yaml_node_t *v, struct tseries *ts)
{
	const char *p = vg_rules_scalar(v);

	if (!p)
		return vg_rules_fail(L, v, "values: expected a string like \"100/0x30 100/5x60\"");
	while (*p) {
		char *end;

		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		unsigned long long c = strtoull(p, &end, 10), e = 0, rep = 1;

		if (end == p)
			return vg_rules_fail(L, v, "values: expected COUNT[/ERRORS][xN] at '%s'", p);
		p = end;
		if (*p == '/') {
			e = strtoull(p + 1, &end, 10);
			if (end == p + 1 || e > c)
				return vg_rules_fail(L, v, "values: errors must be a number no larger than the count");
			p = end;
		}
		if (*p == 'x') {
			rep = strtoull(p + 1, &end, 10);
			if (end == p + 1 || rep == 0 || rep > 100000)
				return vg_rules_fail(L, v, "values: xN repeats 1 to 100000 windows");
			p = end;
		}
		if (*p && *p != ' ' && *p != ',')
			return vg_rules_fail(L, v, "values: unexpected '%c'", *p);
		for (unsigned long long i = 0; i < rep; i++) {
			if (vg_grow(&ts->count, &ts->cap, ts->n + 1, sizeof(*ts->count), 64) != 0)
				return VG_ERR_NOMEM;
			uint64_t *ne = realloc(ts->errors, ts->cap * sizeof(*ts->errors));

			if (!ne)
				return VG_ERR_NOMEM;
			ts->errors = ne;
			ts->count[ts->n] = c;
			ts->errors[ts->n++] = e;
		}
	}
	return VG_OK;
}

static int series_label(struct loader *L, const char *k, yaml_node_t *kn, yaml_node_t *v, void *arg)
{
	struct tseries *ts = arg;
	const char *s = vg_rules_scalar(v);
	const struct vg_rules_env *env = L->env;

	if (!s)
		return vg_rules_fail(L, v, "%s: expected a string", k);
	if (strcmp(k, "service") == 0)
		snprintf(ts->service, sizeof(ts->service), "%s", s);
	else if (strcmp(k, "endpoint") == 0 && ts->key.kind == VG_TABLE_HTTP)
		snprintf(ts->endpoint, sizeof(ts->endpoint), "%s", s);
	else if (strcmp(k, "method") == 0 && ts->key.kind == VG_TABLE_HTTP)
		snprintf(ts->method, sizeof(ts->method), "%s", s);
	else if (strcmp(k, "category") == 0 && ts->key.kind == VG_TABLE_LOG) {
		size_t i = 0;

		while (i < env->n_categories && strcmp(env->categories[i], s) != 0)
			i++;
		if (i == env->n_categories)
			return vg_rules_fail(L, v, "category: '%s' is not a configured category", s);
		ts->key.category = (uint8_t)i;
	} else if (strcmp(k, "level") == 0 && ts->key.kind == VG_TABLE_LOG) {
		int l = 0;

		while (l < VG_LEVEL_COUNT && strcasecmp(vg_level_name(l), s) != 0)
			l++;
		if (l == VG_LEVEL_COUNT)
			return vg_rules_fail(L, v, "level: '%s' is not a level", s);
		ts->key.level = (uint8_t)l;
	} else if (strcmp(k, "name") == 0 && ts->key.kind == VG_TABLE_COUNTER) {
		size_t i = 0;

		while (i < env->n_counters && strcmp(env->counters[i], s) != 0)
			i++;
		if (i == env->n_counters)
			return vg_rules_fail(L, v, "name: '%s' is not one of aggregate.counters", s);
		ts->key.counter = (uint8_t)i;
	} else {
		return vg_rules_fail(L, kn, "'%s' is not a label of this series", k);
	}
	return VG_OK;
}

static int series_key(struct loader *L, const char *k, yaml_node_t *kn, yaml_node_t *v, void *arg)
{
	struct tseries *ts = arg;
	static const char *const kinds[] = {"http", "logs", "counter"};

	for (int i = 0; i < 3; i++)
		if (strcmp(k, kinds[i]) == 0) {
			ts->key.kind = (uint8_t)i;
			return vg_rules_each_pair(L, v, k, series_label, ts);
		}
	if (strcmp(k, "values") == 0)
		return VG_OK; /* once the kind is known */
	if (strcmp(k, "latency_ms") == 0)
		return vg_rules_get_number(L, v, "latency_ms", &ts->latency_ms);
	return vg_rules_fail(L, kn, "unknown key '%s' in a series (http, logs, counter, values, latency_ms)", k);
}

static int expect_key(struct loader *L, const char *k, yaml_node_t *kn, yaml_node_t *v, void *arg)
{
	struct texpect *ex = arg;

	if (strcmp(k, "at") == 0)
		return vg_rules_get_duration(L, v, "at", &ex->at_ms);
	if (strcmp(k, "firing") == 0) {
		if (!v || v->type != YAML_SEQUENCE_NODE)
			return vg_rules_fail(L, v, "firing: expected a list of label maps ([] for none)");
		ex->firing = v;
		return VG_OK;
	}
	return vg_rules_fail(L, kn, "unknown key '%s' in an expectation (at, firing)", k);
}

static void tcase_free(struct tcase *tc)
{
	for (size_t i = 0; i < tc->n_series; i++) {
		free(tc->s[i].count);
		free(tc->s[i].errors);
	}
	free(tc->ex);
}

/* Collects the firing alerts at one check. */
struct firing_set {
	struct vg_buf text; /* one line per alert: name=value,... */
	size_t n;
};

static void collect_firing(void *arg, const struct vg_alert *al)
{
	struct firing_set *fs = arg;

	if (al->state != VG_ALERT_FIRING || al->escalation > 1)
		return; /* an escalated label set is the same alert */
	fs->n++;
	for (size_t i = 0; i < al->n_labels; i++) {
		vg_buf_puts(&fs->text, i ? "," : "");
		vg_buf_puts(&fs->text, al->label_names[i]);
		vg_buf_putc(&fs->text, '=');
		vg_buf_puts(&fs->text, al->label_values[i]);
	}
	vg_buf_putc(&fs->text, '\n');
}

static void ignore_alert(void *arg, const struct vg_alert *al)
{
	(void)arg;
	(void)al;
}

/* Does line (name=value,... without its newline) carry every pair of
 * the map m? */
static bool line_has(struct loader *L, const char *line, size_t len, yaml_node_t *m)
{
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		const char *k = vg_rules_scalar(vg_rules_node(L, p->key)),
		           *v = vg_rules_scalar(vg_rules_node(L, p->value));
		char want[512];
		bool found = false;

		if (!k || !v)
			return false;
		size_t n = (size_t)snprintf(want, sizeof(want), "%s=%s", k, v);

		for (size_t at = 0; at < len && !found;) {
			size_t f = at;

			while (f < len && line[f] != ',')
				f++;
			found = f - at == n && memcmp(line + at, want, n) == 0;
			at = f + 1;
		}
		if (!found)
			return false;
	}
	return true;
}

/* Run one test case; appends failures to report. Returns 0 or an error. */
static int run_case(struct loader *L, const struct vg_rules *rules, const struct vg_table_params *tp,
		    struct tcase *tc, const char *name, struct vg_buf *report, int *failures)
{
	struct vg_wstore_params sp = {.window_ms = L->env->window_ms, .ring_ms = L->env->ring_ms,
				      .retain_ms = 3 * 86400000LL, .map = tp->map};
	struct vg_wstore *store = NULL;
	struct vg_table *t = NULL;
	struct vg_alerts *a = NULL;
	size_t windows = 0;
	int rc = VG_ERR_NOMEM;
	int64_t w = L->env->window_ms;

	for (size_t i = 0; i < tc->n_series; i++)
		if (tc->s[i].n > windows)
			windows = tc->s[i].n;
	for (size_t e = 0; e < tc->n_ex; e++)
		if (tc->ex[e].at_ms % w || tc->ex[e].at_ms <= 0 || (size_t)(tc->ex[e].at_ms / w) > windows) {
			char msg[200];

			snprintf(msg, sizeof(msg), "at: must be a multiple of the base window within the series");
			snprintf(L->errbuf, L->errlen, "%s:%d: %s", L->name, tc->ex[e].line, msg);
			return VG_ERR_CONFIG;
		}
	if (vg_wstore_create(&store, &sp) != VG_OK || vg_table_create(&t, tp) != VG_OK ||
	    vg_alerts_create(&a, rules, tp) != VG_OK)
		goto out;
	for (size_t i = 0; i < windows; i++) {
		int64_t start = TEST_T0 + (int64_t)i * w;

		vg_table_reset(t);
		for (size_t s = 0; s < tc->n_series; s++) {
			struct tseries *ts = &tc->s[s];

			if (i >= ts->n || !ts->count[i])
				continue;
			struct vg_table_key k = ts->key;

			k.window = start / w;
			k.service = vg_str_cstr(ts->service);
			k.endpoint = vg_str_cstr(ts->endpoint);
			k.method = vg_str_cstr(ts->method);
			struct vg_table_entry *e = vg_table_get(t, &k);

			if (!e)
				goto out;
			e->count += ts->count[i];
			e->errors_5xx += ts->errors[i];
			for (uint64_t r = 0; ts->key.kind == VG_TABLE_HTTP && r < ts->count[i]; r++)
				vg_table_add_latency(t, e, ts->latency_ms);
		}
		struct vg_window win = {.start_ms = start, .end_ms = start + w, .table = t};

		if (vg_wstore_add(store, &win) != VG_OK ||
		    vg_alerts_eval(a, store, start + w, ignore_alert, NULL) != VG_OK)
			goto out;
		for (size_t e = 0; e < tc->n_ex; e++) {
			struct texpect *ex = &tc->ex[e];
			struct firing_set fs = {0};

			if (ex->at_ms != (int64_t)(i + 1) * w)
				continue;
			vg_alerts_each(a, collect_firing, &fs);
			vg_buf_putc(&fs.text, '\0');
			/* Every expected alert fires, and nothing else does. */
			size_t want = 0;
			bool ok = true;

			for (yaml_node_item_t *it = ex->firing->data.sequence.items.start;
			     it < ex->firing->data.sequence.items.top; it++, want++) {
				yaml_node_t *m = vg_rules_node(L, *it);
				bool hit = false;

				for (const char *ln = fs.text.p; m && m->type == YAML_MAPPING_NODE && *ln && !hit;) {
					const char *nl = strchr(ln, '\n');

					hit = line_has(L, ln, (size_t)(nl - ln), m);
					ln = nl + 1;
				}
				ok &= hit;
			}
			ok &= want == fs.n;
			if (!ok) {
				char head[512];

				(*failures)++;
				snprintf(head, sizeof(head),
				         "FAIL %s (%s:%d, at %llds): expected %zu firing, got %zu:\n", name, L->name,
				         ex->line, (long long)(ex->at_ms / 1000), want, fs.n);
				vg_buf_puts(report, head);
				vg_buf_puts(report, fs.n ? fs.text.p : "(none)\n");
			}
			vg_buf_free(&fs.text);
		}
	}
	rc = VG_OK;
out:
	vg_alerts_destroy(a);
	vg_table_destroy(t);
	vg_wstore_destroy(store);
	return rc;
}

int vg_ruletest_run(const char *path, const struct vg_rules_env *env, const struct vg_table_params *tp,
		    char **report_out, int *tests, int *failures, char *errbuf, size_t errlen)
{
	struct loader L = {.name = path, .errbuf = errbuf, .errlen = errlen, .env = env};
	struct vg_buf report = {0};
	struct vg_rules *rules = NULL;
	yaml_parser_t p;
	char *text = NULL;
	size_t len = 0;
	int rc = VG_ERR_CONFIG;
	FILE *f = fopen(path, "rb");

	*tests = *failures = 0;
	*report_out = NULL;
	if (!f) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		return VG_ERR_IO;
	}
	/* A test file keeps a configuration file's bounds (core/config.h):
	 * refused past 1 MiB without reading it whole, and its nesting,
	 * anchors and aliases checked before the document is built. */
	rc = vg_config_read(f, path, &text, &len, errbuf, errlen);
	fclose(f);
	if (rc == VG_OK)
		rc = vg_config_check_yaml(text ? text : "", len, path, errbuf, errlen);
	if (rc != VG_OK) {
		free(text);
		return rc;
	}
	rc = VG_ERR_CONFIG;
	if (!yaml_parser_initialize(&p)) {
		free(text);
		return VG_ERR_NOMEM;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)(text ? text : ""), len);
	if (!yaml_parser_load(&p, &L.doc)) {
		snprintf(errbuf, errlen, "%s:%lu: YAML syntax: %s", path, (unsigned long)p.problem_mark.line + 1,
			 p.problem ? p.problem : "error");
		yaml_parser_delete(&p);
		free(text);
		return VG_ERR_CONFIG;
	}
	yaml_node_t *root = yaml_document_get_root_node(&L.doc), *files = NULL, *cases = NULL;

	if (!root || root->type != YAML_MAPPING_NODE) {
		rc = vg_rules_fail(&L, root, "expected a mapping with rule_files and tests");
		goto out;
	}
	for (yaml_node_pair_t *q = root->data.mapping.pairs.start; q < root->data.mapping.pairs.top; q++) {
		const char *k = vg_rules_scalar(vg_rules_node(&L, q->key));

		if (k && strcmp(k, "rule_files") == 0)
			files = vg_rules_node(&L, q->value);
		else if (k && strcmp(k, "tests") == 0)
			cases = vg_rules_node(&L, q->value);
		else {
			rc = vg_rules_fail(&L, vg_rules_node(&L, q->key), "unknown key '%s' (rule_files, tests)",
			                   k ? k : "?");
			goto out;
		}
	}
	if (!files || files->type != YAML_SEQUENCE_NODE || !cases || cases->type != YAML_SEQUENCE_NODE) {
		rc = vg_rules_fail(&L, root, "needs rule_files: [...] and tests: [...]");
		goto out;
	}
	/* Rule files relative to the test file's directory ("builtin" as is). */
	const char *names[16];
	char paths[16][PATH_MAX];
	size_t nf = 0;
	const char *slash = strrchr(path, '/');

	for (yaml_node_item_t *it = files->data.sequence.items.start; it < files->data.sequence.items.top && nf < 16;
	     it++) {
		const char *s = vg_rules_scalar(vg_rules_node(&L, *it));

		if (!s) {
			rc = vg_rules_fail(&L, vg_rules_node(&L, *it), "rule_files: expected file names");
			goto out;
		}
		if (strcmp(s, "builtin") == 0 || s[0] == '/' || !slash)
			snprintf(paths[nf], sizeof(paths[nf]), "%s", s);
		else
			snprintf(paths[nf], sizeof(paths[nf]), "%.*s/%.3000s", (int)(slash - path), path, s);
		names[nf] = paths[nf];
		nf++;
	}
	if ((rc = vg_rules_load(&rules, names, nf, env, errbuf, errlen)) != VG_OK)
		goto out;
	for (yaml_node_item_t *it = cases->data.sequence.items.start; it < cases->data.sequence.items.top; it++) {
		yaml_node_t *cn = vg_rules_node(&L, *it);
		struct tcase tc = {.L = &L};
		const char *name = "unnamed";

		if (!cn || cn->type != YAML_MAPPING_NODE) {
			rc = vg_rules_fail(&L, cn, "tests: each test is a mapping (name, series, expect)");
			goto out;
		}
		for (yaml_node_pair_t *q = cn->data.mapping.pairs.start; q < cn->data.mapping.pairs.top && rc == VG_OK;
		     q++) {
			const char *k = vg_rules_scalar(vg_rules_node(&L, q->key));
			yaml_node_t *v = vg_rules_node(&L, q->value);

			if (k && strcmp(k, "name") == 0 && vg_rules_scalar(v)) {
				name = vg_rules_scalar(v);
			} else if (k && strcmp(k, "series") == 0 && v->type == YAML_SEQUENCE_NODE) {
				for (yaml_node_item_t *si = v->data.sequence.items.start;
				     si < v->data.sequence.items.top && rc == VG_OK; si++) {
					yaml_node_t *sn = vg_rules_node(&L, *si);

					if (tc.n_series == MAX_SERIES) {
						rc = vg_rules_fail(&L, sn, "at most %d series per test", MAX_SERIES);
						break;
					}
					struct tseries *ts = &tc.s[tc.n_series++];

					memset(ts, 0, sizeof(*ts));
					ts->key.kind = 0xff;
					ts->latency_ms = 10;
					snprintf(ts->method, sizeof(ts->method), "GET");
					if ((rc = vg_rules_each_pair(&L, sn, "series", series_key, ts)) != VG_OK)
						break;
					if (ts->key.kind == 0xff) {
						rc = vg_rules_fail(&L, sn, "a series needs http, logs or counter");
						break;
					}
					for (yaml_node_pair_t *sq = sn->data.mapping.pairs.start;
					     sq < sn->data.mapping.pairs.top && rc == VG_OK; sq++)
						if (strcmp(vg_rules_scalar(vg_rules_node(&L, sq->key)), "values") == 0)
							rc = parse_values(&L, vg_rules_node(&L, sq->value), ts);
				}
			} else if (k && strcmp(k, "expect") == 0 && v->type == YAML_SEQUENCE_NODE) {
				for (yaml_node_item_t *ei = v->data.sequence.items.start;
				     ei < v->data.sequence.items.top && rc == VG_OK; ei++) {
					if (vg_grow(&tc.ex, &tc.cap_ex, tc.n_ex + 1, sizeof(*tc.ex), 8) != 0) {
						rc = VG_ERR_NOMEM;
						break;
					}
					struct texpect *ex = &tc.ex[tc.n_ex++];
					yaml_node_t *en = vg_rules_node(&L, *ei);

					memset(ex, 0, sizeof(*ex));
					ex->line = en ? (int)en->start_mark.line + 1 : 0;
					if ((rc = vg_rules_each_pair(&L, en, "expect", expect_key, ex)) == VG_OK &&
					    (!ex->firing || !ex->at_ms))
						rc = vg_rules_fail(&L, en, "expect: each item needs at and firing");
				}
			} else {
				rc = vg_rules_fail(&L, vg_rules_node(&L, q->key),
				                   "unknown or malformed key '%s' in a test (name, series, "
				                   "expect)",
				                   k ? k : "?");
			}
		}
		if (rc == VG_OK)
			rc = run_case(&L, rules, tp, &tc, name, &report, failures);
		tcase_free(&tc);
		if (rc != VG_OK)
			goto out;
		(*tests)++;
	}
out:
	vg_rules_destroy(rules);
	yaml_document_delete(&L.doc);
	yaml_parser_delete(&p);
	free(text);
	if (rc == VG_OK) {
		vg_buf_putc(&report, '\0');
		*report_out = report.p; /* the caller frees it */
	} else {
		vg_buf_free(&report);
	}
	return rc;
}


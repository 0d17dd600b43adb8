/* vigil: alert rules and the alert engine (see rules.h). */
#include "sink/rules.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <yaml.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/record.h"

/* ---- rules -------------------------------------------------------------- */

enum cond { C_ERROR_RATE, C_LATENCY, C_COUNT, C_ABSENT, C_BURN };
enum of { OF_5XX, OF_4XX, OF_BOTH, OF_LEVEL };
enum label { L_SERVICE, L_ENDPOINT, L_METHOD, L_CATEGORY, L_LEVEL, L_COUNT };
enum op { OP_EQ, OP_NE, OP_RE, OP_NRE };

static const char *const label_names[L_COUNT] = {"service", "endpoint", "method", "category", "level"};

#define MAX_SELS 8
#define MAX_PAIRS 4
#define MAX_STATIC 12

struct sel {
	int label, op;
	char *value;
	pcre2_code *re;
};

struct pair {
	int64_t long_ms, short_ms, coverage_ms; /* coverage: data the long window must hold */
	double factor;
};

struct rule {
	char *name;
	int cond, of, kind; /* kind: enum vg_agg_kind of the entries read */
	int64_t window_ms, forget_ms; /* forget_ms: absent only */
	int64_t coverage_ms; /* error_rate and count with a baseline: data needed to judge */
	int64_t baseline_ms; /* count: compare with the trailing baseline's rate (0: absolute) */
	double threshold, quantile, objective;
	bool below;
	uint64_t min_count;
	int counter; /* -1: records of the selector */
	struct pair pairs[MAX_PAIRS];
	size_t n_pairs;
	struct sel sels[MAX_SELS];
	size_t n_sels;
	int by[L_COUNT];
	size_t n_by;
	int64_t for_ms, keep_ms, escalate_ms;
	int severity; /* 1..4 */
	char *lnames[MAX_STATIC], *lvalues[MAX_STATIC];
	size_t n_labels;
	char *anames[MAX_STATIC], *atemplates[MAX_STATIC];
	size_t n_ann;
};

struct vg_rules {
	struct rule *r;
	size_t n, cap;
	struct vg_rules_env env;
};

static void rule_free(struct rule *r)
{
	free(r->name);
	for (size_t i = 0; i < r->n_sels; i++) {
		free(r->sels[i].value);
		pcre2_code_free(r->sels[i].re);
	}
	for (size_t i = 0; i < r->n_labels; i++) {
		free(r->lnames[i]);
		free(r->lvalues[i]);
	}
	for (size_t i = 0; i < r->n_ann; i++) {
		free(r->anames[i]);
		free(r->atemplates[i]);
	}
}

void vg_rules_destroy(struct vg_rules *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		rule_free(&r->r[i]);
	free(r->r);
	free(r);
}

size_t vg_rules_count(const struct vg_rules *r)
{
	return r ? r->n : 0;
}

/* ---- loading ------------------------------------------------------------ */

struct loader {
	yaml_document_t doc;
	const char *name;
	char *errbuf;
	size_t errlen;
	const struct vg_rules_env *env;
	int64_t escalation[5]; /* per severity, from the file's `escalation` */
};

__attribute__((format(printf, 3, 4))) static int fail(struct loader *L, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(L->errbuf, L->errlen, "%s:%lu: %s", L->name, n ? (unsigned long)n->start_mark.line + 1 : 0UL, msg);
	return VG_ERR_CONFIG;
}

static yaml_node_t *node(struct loader *L, int id)
{
	return yaml_document_get_node(&L->doc, id);
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* Calls fn(L, key, value, arg) for each pair of mapping n. */
static int each_pair(struct loader *L, yaml_node_t *n, const char *what,
		     int (*fn)(struct loader *L, const char *k, yaml_node_t *kn, yaml_node_t *v, void *arg), void *arg)
{
	if (!n || n->type != YAML_MAPPING_NODE)
		return fail(L, n, "%s: expected a mapping", what);
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(L, p->key), *v = node(L, p->value);
		const char *ks = scalar(k);

		if (!ks)
			return fail(L, k, "%s: keys must be plain strings", what);
		int rc = fn(L, ks, k, v, arg);

		if (rc != VG_OK)
			return rc;
	}
	return VG_OK;
}

static int get_duration(struct loader *L, yaml_node_t *v, const char *what, int64_t *out)
{
	const char *s = scalar(v);

	if (!s || (*out = vg_config_parse_duration(s)) < 0)
		return fail(L, v, "%s: expected a duration (500ms, 10s, 5m, 1h, 3d), got '%s'", what, s ? s : "?");
	return VG_OK;
}

static int get_number(struct loader *L, yaml_node_t *v, const char *what, double *out)
{
	const char *s = scalar(v);
	char *end;

	if (!s || !*s)
		return fail(L, v, "%s: expected a number", what);
	errno = 0;
	*out = strtod(s, &end);
	if (*end || errno || !isfinite(*out))
		return fail(L, v, "%s: expected a number, got '%s'", what, s);
	return VG_OK;
}

/* A latency threshold: a duration ("500ms", "2s") or a number of ms. */
static int get_ms(struct loader *L, yaml_node_t *v, const char *what, double *out)
{
	const char *s = scalar(v);
	char *end;

	if (s && *s) {
		double d = strtod(s, &end);

		if (!*end && isfinite(d)) {
			*out = d;
			return VG_OK;
		}
	}
	int64_t ms = 0;
	int rc = get_duration(L, v, what, &ms);

	if (rc == VG_OK)
		*out = (double)ms;
	return rc;
}

static int severity_of(const char *s)
{
	static const char *const words[] = {"", "critical", "high", "medium", "low"};

	if (!s)
		return 0;
	if ((s[0] == 'P' || s[0] == 'p') && s[1] >= '1' && s[1] <= '4' && !s[2])
		return s[1] - '0';
	for (int i = 1; i <= 4; i++)
		if (strcasecmp(s, words[i]) == 0)
			return i;
	return 0;
}

static int label_of(const char *s)
{
	for (int i = 0; i < L_COUNT; i++)
		if (strcmp(s, label_names[i]) == 0)
			return i;
	return -1;
}

static bool label_allowed(const struct rule *r, int label)
{
	if (r->kind == VG_AGG_HTTP)
		return label <= L_METHOD;
	if (r->kind == VG_AGG_COUNTER)
		return label == L_SERVICE;
	return label == L_SERVICE || label == L_CATEGORY || label == L_LEVEL;
}

/* The condition's own mapping. */
struct cond_ctx {
	struct rule *r;
	bool have_threshold;
};

static int pair_key(struct loader *L, const char *k, yaml_node_t *kn, yaml_node_t *v, void *arg)
{
	struct pair *p = arg;

	if (strcmp(k, "long") == 0)
		return get_duration(L, v, "burn_rate.windows.long", &p->long_ms);
	if (strcmp(k, "short") == 0)
		return get_duration(L, v, "burn_rate.windows.short", &p->short_ms);
	if (strcmp(k, "factor") == 0)
		return get_number(L, v, "burn_rate.windows.factor", &p->factor);
	if (strcmp(k, "coverage") == 0)
		return get_duration(L, v, "burn_rate.windows.coverage", &p->coverage_ms);
	return fail(L, kn, "burn_rate.windows: unknown key '%s' (long, short, factor, coverage)", k);
}

static int cond_key(struct loader *L, const char *k, yaml_node_t *kn, yaml_node_t *v, void *arg)
{
	struct cond_ctx *c = arg;
	struct rule *r = c->r;
	double d;
	int rc;

	if (strcmp(k, "window") == 0)
		return get_duration(L, v, "window", &r->window_ms);
	if (strcmp(k, "above") == 0 || strcmp(k, "below") == 0) {
		r->below = k[0] == 'b';
		c->have_threshold = true;
		return r->cond == C_LATENCY ? get_ms(L, v, k, &r->threshold) : get_number(L, v, k, &r->threshold);
	}
	if (strcmp(k, "min_count") == 0) {
		if ((rc = get_number(L, v, "min_count", &d)) != VG_OK)
			return rc;
		if (d < 0)
			return fail(L, v, "min_count: expected 0 or more");
		r->min_count = (uint64_t)d;
		return VG_OK;
	}
	if (strcmp(k, "of") == 0 && (r->cond == C_ERROR_RATE || r->cond == C_BURN)) {
		const char *s = scalar(v);
		static const char *const ofs[] = {"5xx", "4xx", "both", "level"};

		for (int i = 0; s && i < 4; i++)
			if (strcmp(s, ofs[i]) == 0 && (i != OF_LEVEL || r->cond == C_ERROR_RATE)) {
				r->of = i;
				r->kind = i == OF_LEVEL ? VG_AGG_LOG : VG_AGG_HTTP;
				return VG_OK;
			}
		return fail(L, v, "of: expected 5xx, 4xx, both%s", r->cond == C_ERROR_RATE ? " or level" : "");
	}
	if (strcmp(k, "quantile") == 0 && r->cond == C_LATENCY) {
		if ((rc = get_number(L, v, "quantile", &r->quantile)) != VG_OK)
			return rc;
		if (!(r->quantile > 0 && r->quantile < 1))
			return fail(L, v, "quantile: expected a number between 0 and 1 (0.95), got %g", r->quantile);
		return VG_OK;
	}
	if (strcmp(k, "counter") == 0 && r->cond == C_COUNT) {
		const char *s = scalar(v);

		for (size_t i = 0; s && i < L->env->n_counters; i++)
			if (strcmp(s, L->env->counters[i]) == 0) {
				r->counter = (int)i;
				r->kind = VG_AGG_COUNTER;
				return VG_OK;
			}
		return fail(L, v, "counter: '%s' is not one of aggregate.counters", s ? s : "?");
	}
	if (strcmp(k, "coverage") == 0 && (r->cond == C_ERROR_RATE || r->cond == C_COUNT))
		return get_duration(L, v, "coverage", &r->coverage_ms);
	if (strcmp(k, "baseline") == 0 && r->cond == C_COUNT)
		return get_duration(L, v, "baseline", &r->baseline_ms);
	/* lookback: the old name, kept as an alias. */
	if ((strcmp(k, "forget_after") == 0 || strcmp(k, "lookback") == 0) && r->cond == C_ABSENT)
		return get_duration(L, v, k, &r->forget_ms);
	if (strcmp(k, "objective") == 0 && r->cond == C_BURN) {
		if ((rc = get_number(L, v, "objective", &r->objective)) != VG_OK)
			return rc;
		if (!(r->objective > 0 && r->objective < 1))
			return fail(L, v, "objective: expected a share between 0 and 1 (0.999)");
		return VG_OK;
	}
	if (strcmp(k, "windows") == 0 && r->cond == C_BURN) {
		if (!v || v->type != YAML_SEQUENCE_NODE)
			return fail(L, v, "burn_rate.windows: expected a list of {long, short, factor}");
		for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
			if (r->n_pairs == MAX_PAIRS)
				return fail(L, v, "burn_rate.windows: at most %d pairs", MAX_PAIRS);
			struct pair *p = &r->pairs[r->n_pairs++];
			yaml_node_t *pn = node(L, *it);

			if ((rc = each_pair(L, pn, "burn_rate.windows", pair_key, p)) != VG_OK)
				return rc;
			if (!p->long_ms || !p->short_ms || !(p->factor > 0) || p->short_ms >= p->long_ms)
				return fail(L, pn, "burn_rate.windows: each pair needs long > short and a factor > 0");
		}
		return VG_OK;
	}
	return fail(L, kn, "unknown key '%s' in this condition", k);
}

static int parse_selector(struct loader *L, struct rule *r, const char *k, yaml_node_t *kn, yaml_node_t *v)
{
	const char *s = scalar(v);
	int label = label_of(k);

	if (label < 0 || !label_allowed(r, label))
		return fail(L, kn, "where: '%s' is not a label of this condition", k);
	if (!s)
		return fail(L, v, "where.%s: expected a string (value, !=value, =~regex, !~regex)", k);
	if (r->n_sels == MAX_SELS)
		return fail(L, kn, "where: at most %d selectors", MAX_SELS);
	struct sel *sl = &r->sels[r->n_sels];

	sl->label = label;
	sl->op = OP_EQ;
	if (strncmp(s, "!=", 2) == 0)
		sl->op = OP_NE, s += 2;
	else if (strncmp(s, "=~", 2) == 0)
		sl->op = OP_RE, s += 2;
	else if (strncmp(s, "!~", 2) == 0)
		sl->op = OP_NRE, s += 2;
	else if (s[0] == '=')
		s += 1;
	if (!(sl->value = strdup(s)))
		return VG_ERR_NOMEM;
	r->n_sels++;
	if (sl->op == OP_RE || sl->op == OP_NRE) {
		int code;
		PCRE2_SIZE off;

		sl->re = pcre2_compile((PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code, &off, NULL);
		if (!sl->re) {
			PCRE2_UCHAR msg[256];

			pcre2_get_error_message(code, msg, sizeof(msg));
			return fail(L, v, "where.%s: regex at offset %zu: %s", k, (size_t)off, (char *)msg);
		}
		pcre2_jit_compile(sl->re, PCRE2_JIT_COMPLETE);
	}
	return VG_OK;
}

static int where_key(struct loader *L, const char *k, yaml_node_t *kn, yaml_node_t *v, void *arg)
{
	return parse_selector(L, arg, k, kn, v);
}

/* A template is valid when every {{ ... }} is $value or $labels.NAME. */
static bool template_ok(const char *t)
{
	for (const char *p = strstr(t, "{{"); p; p = strstr(p, "{{")) {
		const char *e = strstr(p, "}}");

		if (!e)
			return false;
		p += 2;
		while (*p == ' ')
			p++;
		if (strncmp(p, "$value", 6) == 0)
			p += 6;
		else if (strncmp(p, "$labels.", 8) == 0)
			for (p += 8; *p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
				     (*p >= '0' && *p <= '9');
			     p++)
				;
		else
			return false;
		while (*p == ' ')
			p++;
		if (p != e)
			return false;
		p = e + 2;
	}
	return true;
}

static int strmap_key(struct loader *L, const char *k, yaml_node_t *kn, yaml_node_t *v, void *arg)
{
	struct rule *r = ((void **)arg)[0];
	bool ann = ((void **)arg)[1] != NULL;
	const char *s = scalar(v);
	size_t *n = ann ? &r->n_ann : &r->n_labels;

	if (!s)
		return fail(L, v, "%s.%s: expected a string", ann ? "annotations" : "labels", k);
	if (*n == MAX_STATIC)
		return fail(L, kn, "at most %d %s", MAX_STATIC, ann ? "annotations" : "labels");
	if (ann && !template_ok(s))
		return fail(L, v, "annotations.%s: templates may use {{ $value }} and {{ $labels.NAME }} only", k);
	if (!ann && (strcmp(k, "alertname") == 0 || strcmp(k, "escalated") == 0))
		return fail(L, kn, "labels: '%s' is set by the engine", k);
	if (!ann && strcmp(k, "severity") == 0) {
		if (!(r->severity = severity_of(s)))
			return fail(L, v, "labels.severity: expected P1..P4 (or critical, high, medium, low)");
		return VG_OK;
	}
	char **names = ann ? r->anames : r->lnames, **vals = ann ? r->atemplates : r->lvalues;

	names[*n] = strdup(k);
	vals[*n] = strdup(s);
	(*n)++;
	return names[*n - 1] && vals[*n - 1] ? VG_OK : VG_ERR_NOMEM;
}

static int rule_key(struct loader *L, const char *k, yaml_node_t *kn, yaml_node_t *v, void *arg)
{
	struct rule *r = arg;
	static const char *const conds[] = {"error_rate", "latency", "count", "absent", "burn_rate"};

	for (int c = 0; c < 5; c++) {
		if (strcmp(k, conds[c]) != 0)
			continue;
		if (r->cond >= 0)
			return fail(L, kn, "one condition per rule (this one has two)");
		struct cond_ctx cc = {.r = r};

		r->cond = c;
		r->kind = c == C_COUNT || c == C_ABSENT ? VG_AGG_LOG : VG_AGG_HTTP;
		int rc = each_pair(L, v, k, cond_key, &cc);

		if (rc != VG_OK)
			return rc;
		if (!cc.have_threshold && c != C_ABSENT && c != C_BURN)
			return fail(L, v, "%s: needs 'above' or 'below'", k);
		return VG_OK;
	}
	if (strcmp(k, "alert") == 0) {
		const char *s = scalar(v);

		if (!s || !*s)
			return fail(L, v, "alert: expected a name");
		return (r->name = strdup(s)) ? VG_OK : VG_ERR_NOMEM;
	}
	if (strcmp(k, "for") == 0)
		return get_duration(L, v, "for", &r->for_ms);
	if (strcmp(k, "keep_firing_for") == 0)
		return get_duration(L, v, "keep_firing_for", &r->keep_ms);
	if (strcmp(k, "escalate_after") == 0)
		return get_duration(L, v, "escalate_after", &r->escalate_ms);
	if (strcmp(k, "labels") == 0 || strcmp(k, "annotations") == 0) {
		void *a[2] = {r, k[0] == 'a' ? r : NULL};

		return each_pair(L, v, k, strmap_key, a);
	}
	if (strcmp(k, "where") == 0 || strcmp(k, "by") == 0)
		return VG_OK; /* after the condition, which says which labels exist */
	return fail(L, kn, "unknown key '%s' in a rule", k);
}

/* where and by, once the condition is known. */
static int rule_labels(struct loader *L, yaml_node_t *n, struct rule *r)
{
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(L, p->key), *v = node(L, p->value);
		const char *ks = scalar(k);
		int rc;

		if (strcmp(ks, "where") == 0 && (rc = each_pair(L, v, "where", where_key, r)) != VG_OK)
			return rc;
		if (strcmp(ks, "by") != 0)
			continue;
		if (!v || v->type != YAML_SEQUENCE_NODE)
			return fail(L, v, "by: expected a list of labels");
		r->n_by = 0;
		for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
			yaml_node_t *ln = node(L, *it);
			int label = scalar(ln) ? label_of(scalar(ln)) : -1;

			if (label < 0 || !label_allowed(r, label))
				return fail(L, ln, "by: '%s' is not a label of this condition",
					    scalar(ln) ? scalar(ln) : "?");
			if (r->n_by < L_COUNT)
				r->by[r->n_by++] = label;
		}
	}
	return VG_OK;
}

static int parse_rule(struct loader *L, yaml_node_t *n, struct vg_rules *rs)
{
	if (vg_grow(&rs->r, &rs->cap, rs->n + 1, sizeof(*rs->r), 16) != 0)
		return VG_ERR_NOMEM;
	struct rule *r = &rs->r[rs->n++];

	memset(r, 0, sizeof(*r));
	r->cond = -1;
	r->counter = -1;
	r->min_count = 10;
	r->objective = 0.999;
	r->n_by = 1; /* by: [service] */
	int rc = each_pair(L, n, "rule", rule_key, r);

	if (rc != VG_OK)
		return rc;
	if (!r->name)
		return fail(L, n, "a rule needs 'alert' (its name)");
	if (r->cond < 0)
		return fail(L, n, "rule %s: needs a condition (error_rate, latency, count, absent or burn_rate)",
			    r->name);
	if (!r->severity)
		return fail(L, n, "rule %s: needs labels.severity (P1..P4)", r->name);
	if ((rc = rule_labels(L, n, r)) != VG_OK)
		return rc;
	if (r->cond == C_BURN) {
		if (!r->n_pairs)
			return fail(L, n, "rule %s: burn_rate needs windows: [{long, short, factor}]", r->name);
		r->window_ms = r->pairs[0].long_ms;
		for (size_t p = 0; p < r->n_pairs; p++) {
			if (!r->pairs[p].coverage_ms)
				r->pairs[p].coverage_ms = r->pairs[p].short_ms;
			if (r->pairs[p].coverage_ms > r->pairs[p].long_ms)
				return fail(L, n, "rule %s: burn_rate.windows: coverage is at most the long window",
					    r->name);
		}
	}
	if (r->coverage_ms && r->cond == C_COUNT && !r->baseline_ms)
		return fail(L, n, "rule %s: count: coverage goes with a baseline", r->name);
	if (r->baseline_ms && r->baseline_ms < r->window_ms)
		return fail(L, n, "rule %s: count: the baseline must be at least the window", r->name);
	if (!r->coverage_ms && (r->cond == C_ERROR_RATE || r->baseline_ms))
		r->coverage_ms = r->window_ms;
	if (r->baseline_ms && r->coverage_ms > r->baseline_ms)
		return fail(L, n, "rule %s: coverage is at most the baseline", r->name);
	if (r->cond == C_ERROR_RATE && r->coverage_ms > r->window_ms)
		return fail(L, n, "rule %s: coverage is at most the window", r->name);
	if (r->window_ms < L->env->window_ms)
		return fail(L, n, "rule %s: needs a window of at least the base window (%lld ms)", r->name,
			    (long long)L->env->window_ms);
	if (r->cond == C_LATENCY && r->window_ms > L->env->ring_ms)
		return fail(L, n, "rule %s: latency windows reach back at most %lld min (quantiles are kept an hour)",
			    r->name, (long long)(L->env->ring_ms / 60000));
	if (r->cond == C_LATENCY && r->quantile == 0)
		return fail(L, n, "rule %s: latency needs a quantile (0.95)", r->name);
	if (r->cond == C_ABSENT && !r->forget_ms)
		r->forget_ms = 24 * 3600000LL;
	if (!r->escalate_ms)
		r->escalate_ms = L->escalation[r->severity];
	for (size_t i = 0; i + 1 < rs->n; i++)
		if (strcmp(rs->r[i].name, r->name) == 0)
			return fail(L, n, "rule %s: the name is used twice", r->name);
	return VG_OK;
}

static int escalation_key(struct loader *L, const char *k, yaml_node_t *kn, yaml_node_t *v, void *arg)
{
	int s = severity_of(k);

	(void)arg;
	if (!s)
		return fail(L, kn, "escalation: '%s' is not a severity (P1..P4)", k);
	return get_duration(L, v, "escalation", &L->escalation[s]);
}

static int top_key(struct loader *L, const char *k, yaml_node_t *kn, yaml_node_t *v, void *arg)
{
	struct vg_rules *rs = arg;

	if (strcmp(k, "escalation") == 0)
		return VG_OK; /* read first, in parse_top */
	if (strcmp(k, "groups") != 0)
		return fail(L, kn, "unknown key '%s' (groups, escalation)", k);
	if (!v || v->type != YAML_SEQUENCE_NODE)
		return fail(L, v, "groups: expected a list");
	for (yaml_node_item_t *g = v->data.sequence.items.start; g < v->data.sequence.items.top; g++) {
		yaml_node_t *gn = node(L, *g), *rules = NULL;

		if (!gn || gn->type != YAML_MAPPING_NODE)
			return fail(L, gn, "groups: each group is a mapping with name and rules");
		for (yaml_node_pair_t *p = gn->data.mapping.pairs.start; p < gn->data.mapping.pairs.top; p++) {
			const char *ks = scalar(node(L, p->key));

			if (ks && strcmp(ks, "rules") == 0)
				rules = node(L, p->value);
			else if (!ks || strcmp(ks, "name") != 0)
				return fail(L, node(L, p->key), "groups: unknown key '%s' (name, rules)", ks ? ks : "?");
		}
		if (!rules || rules->type != YAML_SEQUENCE_NODE)
			return fail(L, gn, "groups: a group needs a list of rules");
		for (yaml_node_item_t *it = rules->data.sequence.items.start; it < rules->data.sequence.items.top;
		     it++) {
			int rc = parse_rule(L, node(L, *it), rs);

			if (rc != VG_OK)
				return rc;
		}
	}
	return VG_OK;
}

static int parse_into(struct vg_rules *rs, const char *text, size_t len, const char *name,
		      const struct vg_rules_env *env, char *errbuf, size_t errlen)
{
	struct loader L = {.name = name, .errbuf = errbuf, .errlen = errlen, .env = env};
	yaml_parser_t p;
	int rc;

	if (!yaml_parser_initialize(&p))
		return VG_ERR_NOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	if (!yaml_parser_load(&p, &L.doc)) {
		snprintf(errbuf, errlen, "%s:%lu: YAML syntax: %s", name, (unsigned long)p.problem_mark.line + 1,
			 p.problem ? p.problem : "error");
		yaml_parser_delete(&p);
		return VG_ERR_CONFIG;
	}
	yaml_node_t *root = yaml_document_get_root_node(&L.doc);

	if (!root) {
		rc = VG_OK; /* an empty file: no rules */
		goto out;
	}
	if (root->type == YAML_MAPPING_NODE)
		for (yaml_node_pair_t *q = root->data.mapping.pairs.start; q < root->data.mapping.pairs.top; q++) {
			const char *ks = scalar(node(&L, q->key));

			if (ks && strcmp(ks, "escalation") == 0 &&
			    (rc = each_pair(&L, node(&L, q->value), "escalation", escalation_key, NULL)) != VG_OK)
				goto out;
		}
	rc = each_pair(&L, root, "rules file", top_key, rs);
out:
	yaml_document_delete(&L.doc);
	yaml_parser_delete(&p);
	return rc;
}

int vg_rules_parse(struct vg_rules **out, const char *text, size_t len, const char *name,
		   const struct vg_rules_env *env, char *errbuf, size_t errlen)
{
	struct vg_rules *rs = calloc(1, sizeof(*rs));
	int rc;

	*out = NULL;
	if (!rs)
		return VG_ERR_NOMEM;
	rs->env = *env;
	if ((rc = parse_into(rs, text, len, name, env, errbuf, errlen)) != VG_OK) {
		vg_rules_destroy(rs);
		return rc;
	}
	*out = rs;
	return VG_OK;
}

int vg_rules_load(struct vg_rules **out, const char *const *files, size_t n, const struct vg_rules_env *env,
		  char *errbuf, size_t errlen)
{
	struct vg_rules *rs = calloc(1, sizeof(*rs));
	int rc = VG_OK;

	*out = NULL;
	if (!rs)
		return VG_ERR_NOMEM;
	rs->env = *env;
	for (size_t i = 0; i < n && rc == VG_OK; i++) {
		if (strcmp(files[i], "builtin") == 0) {
			rc = parse_into(rs, vg_rules_builtin, strlen(vg_rules_builtin), "builtin rules", env, errbuf,
					errlen);
			continue;
		}
		FILE *f = fopen(files[i], "rb");
		struct vg_buf b = {0};
		char chunk[65536];
		size_t got;

		if (!f) {
			snprintf(errbuf, errlen, "%s: %s", files[i], strerror(errno));
			rc = VG_ERR_IO;
			break;
		}
		while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
			vg_buf_put(&b, chunk, got);
		if (ferror(f) || b.failed) {
			snprintf(errbuf, errlen, "%s: read error", files[i]);
			rc = VG_ERR_IO;
		}
		fclose(f);
		if (rc == VG_OK)
			rc = parse_into(rs, b.p ? b.p : "", b.len, files[i], env, errbuf, errlen);
		vg_buf_free(&b);
	}
	if (rc != VG_OK) {
		vg_rules_destroy(rs);
		return rc;
	}
	*out = rs;
	return VG_OK;
}

/* ---- evaluation: groups ------------------------------------------------- */

/* The labels of one table entry. */
static vg_str entry_label(const struct vg_rules_env *env, const struct vg_agg_entry *e, int label)
{
	switch (label) {
	case L_SERVICE: return e->key.service;
	case L_ENDPOINT: return e->key.endpoint;
	case L_METHOD: return e->key.method;
	case L_CATEGORY:
		return vg_str_cstr(e->key.category < env->n_categories ? env->categories[e->key.category] : "unknown");
	default: return vg_str_cstr(vg_level_name(e->key.level));
	}
}

static bool sel_match(const struct vg_rules_env *env, const struct rule *r, const struct vg_agg_entry *e,
		      pcre2_match_data *md)
{
	for (size_t i = 0; i < r->n_sels; i++) {
		const struct sel *s = &r->sels[i];
		vg_str v = entry_label(env, e, s->label);
		bool hit;

		if (s->op == OP_EQ || s->op == OP_NE)
			hit = s->label == L_LEVEL ? v.len == strlen(s->value) && strncasecmp(v.p, s->value, v.len) == 0
						  : vg_str_eq_cstr(v, s->value);
		else
			hit = pcre2_match(s->re, (PCRE2_SPTR)v.p, v.len, 0, 0, md, NULL) >= 0;
		if (hit != (s->op == OP_EQ || s->op == OP_RE))
			return false;
	}
	return true;
}

/* One alert instance's aggregate over a range. */
struct group {
	char *key; /* the `by` values, each NUL-terminated, back to back */
	size_t key_len;
	uint64_t count, bad;
	struct vg_sketch latency;
	bool has_latency;
	/* From store views (the fast path): */
	uint64_t l_count, tail, far; /* latency values; at or above the rule's tail bucket; far above it */
	bool present;                /* some key of the group is in the range */
	int64_t seen_ms;             /* an absent rule's known groups: the end of the last window with records */
};

struct groups {
	struct group *g;
	size_t n, cap;
	size_t *index; /* open addressing: position + 1, 0 empty */
	size_t index_cap;
};

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ULL;
	return h;
}

#define FNV0 0xcbf29ce484222325ULL

static void groups_free(struct groups *gs)
{
	for (size_t i = 0; i < gs->n; i++) {
		free(gs->g[i].key);
		if (gs->g[i].has_latency)
			vg_sketch_free(&gs->g[i].latency);
	}
	free(gs->g);
	free(gs->index);
	memset(gs, 0, sizeof(*gs));
}

static struct group *groups_find(const struct groups *gs, const char *key, size_t len)
{
	if (!gs->index_cap)
		return NULL;
	for (size_t h = fnv(key, len, FNV0) & (gs->index_cap - 1);; h = (h + 1) & (gs->index_cap - 1)) {
		size_t at = gs->index[h];

		if (!at)
			return NULL;
		struct group *g = &gs->g[at - 1];

		if (g->key_len == len && memcmp(g->key, key, len) == 0)
			return g;
	}
}

static int groups_reindex(struct groups *gs, size_t cap)
{
	size_t *ix = calloc(cap, sizeof(*ix));

	if (!ix)
		return VG_ERR_NOMEM;
	free(gs->index);
	gs->index = ix;
	gs->index_cap = cap;
	for (size_t i = 0; i < gs->n; i++) {
		size_t h = fnv(gs->g[i].key, gs->g[i].key_len, FNV0) & (cap - 1);

		while (ix[h])
			h = (h + 1) & (cap - 1);
		ix[h] = i + 1;
	}
	return VG_OK;
}

static struct group *groups_get(struct groups *gs, const char *key, size_t len)
{
	struct group *g = groups_find(gs, key, len);

	if (g)
		return g;
	if ((gs->n + 1) * 2 > gs->index_cap && groups_reindex(gs, gs->index_cap ? gs->index_cap * 2 : 64) != VG_OK)
		return NULL;
	if (vg_grow(&gs->g, &gs->cap, gs->n + 1, sizeof(*gs->g), 16) != 0)
		return NULL;
	g = &gs->g[gs->n];
	memset(g, 0, sizeof(*g));
	if (!(g->key = malloc(len ? len : 1)))
		return NULL;
	memcpy(g->key, key, len);
	g->key_len = len;
	size_t h = fnv(key, len, FNV0) & (gs->index_cap - 1);

	while (gs->index[h])
		h = (h + 1) & (gs->index_cap - 1);
	gs->index[h] = ++gs->n;
	return g;
}

/* ---- the engine --------------------------------------------------------- */

enum { I_INACTIVE, I_PENDING, I_FIRING };

struct instance {
	uint64_t fp;
	size_t rule;
	int state;
	int64_t active_at, fired_at, last_active;
	double value;
	double now_value; /* the condition's value this evaluation, when not active (observed) */
	bool observed;
	int escalations; /* 0, or 1 once sent again as escalation="L2" */
	char *key; /* the group key: `by` values */
	size_t key_len;
	bool seen;
};

/* Merged ranges of one evaluation: rules often share their windows. */
#define RANGE_CACHE 8

struct range {
	int64_t from, to;
	bool latency, valid;
	struct vg_table *t;
};

/* The fast path: rules read store views (vg_wstore_view), one per distinct
 * (width, lag from now, tail bucket), kept up to date incrementally
 * instead of merging every window of every range on every evaluation.
 * Each rule reads up to MAX_SLOTS ranges (a burn rate's long and short
 * windows); a slot remembers which view entries its selector takes and
 * into which group, so an evaluation only sums those.
 *
 * Views give exact counts, so every count, error-rate, absence and burn
 * rate condition is decided from them. A latency condition is decided
 * only where the view proves the quantile cannot pass (too few values,
 * or too few of them at or above the threshold's bucket); otherwise, and
 * wherever two or more instances of one rule are active (the order in
 * which they are notified follows the merged table's order), the rule is
 * evaluated again the old way, over merged ranges: the alerts are the
 * same ones, in the same order. */
#define MAX_SLOTS (2 * MAX_PAIRS)
#define MAX_VIEWS 32

struct vrange {
	int64_t width, lag;
	int32_t tail;
	struct vg_wstore_view *v;
	uint64_t synced; /* the evaluation it was last synced in */
};

/* A view entry a rule's selector takes: into which group, and which of
 * its sums are the condition's bad ones (each 0 or 1). */
struct pick {
	uint32_t e, g;
	uint8_t bad_4xx, bad_5xx, bad_all;
};

struct slot {
	bool init;
	size_t vr;          /* its vrange */
	unsigned gen;       /* of the view, when the entries below were taken */
	size_t seen;        /* view entries classified */
	struct pick *picks; /* in view entry order */
	size_t n_picks, cap_picks;
	struct groups gs;
};

struct vg_alerts {
	const struct vg_rules *rules;
	const struct vg_sketch_map *map;
	struct vg_wstore *vstore; /* the store the views are of */
	struct vrange vr[MAX_VIEWS];
	size_t n_vr;
	struct slot *slots; /* MAX_SLOTS per rule */
	uint64_t evals;     /* calls to vg_alerts_eval */
	int64_t data_from;  /* ms: the start of the first window evaluated */
	bool observing;     /* the rule being evaluated has instances: note their values */
	struct range ranges[RANGE_CACHE];
	size_t next_range;
	pcre2_match_data *md;
	struct instance *in;
	size_t n_in, cap_in;
	struct vg_buf text; /* annotations of the alert being emitted */
	struct groups *known; /* per rule (absent rules only): groups seen, not yet forgotten */
};

int vg_alerts_create(struct vg_alerts **out, const struct vg_rules *rules, const struct vg_table_params *tp)
{
	struct vg_alerts *a = calloc(1, sizeof(*a));
	struct vg_table_params p = *tp;

	*out = NULL;
	if (!a)
		return VG_ERR_NOMEM;
	p.exact = false;
	p.max_keys = UINT32_MAX / 4; /* merged ranges: the windows were capped already */
	a->rules = rules;
	a->map = tp->map;
	if (rules->n && !(a->slots = calloc(rules->n * MAX_SLOTS, sizeof(*a->slots)))) {
		free(a);
		return VG_ERR_NOMEM;
	}
	if (rules->n && !(a->known = calloc(rules->n, sizeof(*a->known)))) {
		vg_alerts_destroy(a);
		return VG_ERR_NOMEM;
	}
	a->md = pcre2_match_data_create(8, NULL);
	for (size_t i = 0; a->md && i < RANGE_CACHE; i++) {
		if (vg_table_create(&a->ranges[i].t, &p) != VG_OK) {
			vg_alerts_destroy(a);
			return VG_ERR_NOMEM;
		}
	}
	if (!a->md) {
		vg_alerts_destroy(a);
		return VG_ERR_NOMEM;
	}
	*out = a;
	return VG_OK;
}

static void views_free(struct vg_alerts *a)
{
	for (size_t i = 0; i < a->n_vr; i++)
		vg_wstore_view_destroy(a->vr[i].v);
	a->n_vr = 0;
	for (size_t i = 0; a->slots && i < a->rules->n * MAX_SLOTS; i++) {
		free(a->slots[i].picks);
		groups_free(&a->slots[i].gs);
		memset(&a->slots[i], 0, sizeof(a->slots[i]));
	}
	a->vstore = NULL;
}

void vg_alerts_destroy(struct vg_alerts *a)
{
	if (!a)
		return;
	views_free(a);
	free(a->slots);
	for (size_t i = 0; i < a->n_in; i++)
		free(a->in[i].key);
	free(a->in);
	for (size_t i = 0; i < RANGE_CACHE; i++)
		vg_table_destroy(a->ranges[i].t);
	for (size_t i = 0; a->known && i < a->rules->n; i++)
		groups_free(&a->known[i]);
	free(a->known);
	pcre2_match_data_free(a->md);
	vg_buf_free(&a->text);
	free(a);
}

/* Does rule r take entry e: its kind, its counter, its selector? */
static bool rule_takes(const struct vg_rules_env *env, const struct rule *r, const struct vg_agg_entry *e,
		       pcre2_match_data *md)
{
	return e->key.kind == r->kind && (r->kind != VG_AGG_COUNTER || (int)e->key.counter == r->counter) &&
	       sel_match(env, r, e, md);
}

#define GROUP_KEY_MAX 1024

/* e's group under r's `by` into key (GROUP_KEY_MAX bytes): each label's
 * value, cut to its share, NUL-ended. Returns the key's length. */
static size_t group_key(const struct vg_rules_env *env, const struct rule *r, const struct vg_agg_entry *e, char *key)
{
	size_t len = 0;

	for (size_t b = 0; b < r->n_by; b++) {
		vg_str v = entry_label(env, e, r->by[b]);
		size_t take = v.len < GROUP_KEY_MAX / L_COUNT - 1 ? v.len : GROUP_KEY_MAX / L_COUNT - 1;

		memcpy(key + len, v.p, take);
		len += take;
		key[len++] = '\0';
	}
	return len;
}

/* Merge [from, to) of store and sum it into groups by the rule's `by`. */
static int collect(struct vg_alerts *a, const struct rule *r, struct vg_wstore *store, int64_t from, int64_t to,
		   struct groups *gs)
{
	const struct vg_rules_env *env = &a->rules->env;
	bool latency = r->cond == C_LATENCY;
	struct vg_table *t = NULL;
	char key[GROUP_KEY_MAX];

	for (size_t i = 0; i < RANGE_CACHE && !t; i++) {
		const struct range *rg = &a->ranges[i];

		if (rg->valid && rg->from == from && rg->to == to && (rg->latency || !latency))
			t = rg->t;
	}
	if (!t) {
		struct range *rg = &a->ranges[a->next_range++ % RANGE_CACHE];
		struct vg_wstore_cover cover;

		vg_table_reset(rg->t);
		rg->valid = false;
		if (vg_wstore_merge(store, from, to, latency, rg->t, &cover) != VG_OK)
			return VG_ERR_NOMEM;
		*rg = (struct range){from, to, latency, true, rg->t};
		t = rg->t;
	}
	for (size_t i = 0, n = vg_table_size(t); i < n; i++) {
		struct vg_agg_entry *e = vg_table_entry(t, i);

		if (!rule_takes(env, r, e, a->md))
			continue;
		size_t len = group_key(env, r, e, key);
		struct group *g = groups_get(gs, key, len);

		if (!g)
			return VG_ERR_NOMEM;
		g->count += e->count;
		if (r->kind == VG_AGG_HTTP) {
			g->bad += r->of == OF_4XX	? e->errors_4xx
				  : r->of == OF_BOTH ? e->errors_4xx + e->errors_5xx
						     : e->errors_5xx;
			if (r->cond == C_LATENCY) {
				if (!g->has_latency) {
					vg_sketch_init(&g->latency, e->latency.map);
					g->has_latency = true;
				}
				if (vg_sketch_merge(&g->latency, &e->latency) != VG_OK)
					return VG_ERR_NOMEM;
			}
		} else if (r->kind == VG_AGG_LOG && e->key.level >= VG_LEVEL_ERROR) {
			g->bad += e->count;
		}
	}
	return VG_OK;
}

static bool beyond(const struct rule *r, double v)
{
	return r->below ? v < r->threshold : v > r->threshold;
}

/* The bucket at and above which a latency rule's values must be for its
 * quantile to pass (one below the threshold's, for rounding), or none
 * when the view cannot rule anything out (`below`, a threshold of 0). */
static int32_t tail_bucket(const struct vg_alerts *a, const struct rule *r)
{
	if (r->cond != C_LATENCY || r->below || !(r->threshold >= VG_SKETCH_MIN_VALUE) || !a->map)
		return VG_WSTORE_NO_TAIL;
	return vg_sketch_index(a->map, r->threshold) - 1;
}

/* The groups of rule ri over [from, to) from a store view, in slot sl:
 * *out, persistent groups with their sums for this range (present: the
 * group has keys in it), or NULL when no view can be had (the store's
 * views are all taken): merge instead. Returns 0 or VG_ERR_NOMEM. */
static int view_collect(struct vg_alerts *a, size_t ri, size_t sl, struct vg_wstore *store, int64_t now,
			int64_t from, int64_t to, struct groups **out)
{
	const struct rule *r = &a->rules->r[ri];
	const struct vg_rules_env *env = &a->rules->env;
	struct slot *s = &a->slots[ri * MAX_SLOTS + sl];
	struct vg_wstore_cover cover;
	char key[GROUP_KEY_MAX];
	int rc;

	*out = NULL;
	if (!s->init) {
		int32_t tail = tail_bucket(a, r);
		size_t i = 0;

		/* A counts-only reader takes any view of its range. */
		while (i < a->n_vr && !(a->vr[i].width == to - from && a->vr[i].lag == now - to &&
					(tail == VG_WSTORE_NO_TAIL || a->vr[i].tail == tail)))
			i++;
		/* A new one carries the tail of a latency rule over the same
		 * range, if any, so that both read one view. */
		for (size_t k = 0; i == a->n_vr && tail == VG_WSTORE_NO_TAIL && k < a->rules->n; k++) {
			const struct rule *lr = &a->rules->r[k];

			if (lr->cond == C_LATENCY && lr->window_ms == to - from && now == to)
				tail = tail_bucket(a, lr);
		}
		if (i == a->n_vr) {
			if (i == MAX_VIEWS || (rc = vg_wstore_view_create(store, tail, &a->vr[i].v)) == VG_ERR_LIMIT)
				return VG_OK;
			if (rc != VG_OK)
				return rc;
			a->vr[i] = (struct vrange){to - from, now - to, tail, a->vr[i].v, 0};
			a->n_vr++;
		}
		s->vr = i;
		s->init = true;
		s->gen = vg_wstore_view_generation(a->vr[i].v);
	}
	struct vrange *vr = &a->vr[s->vr];

	if (vr->synced != a->evals) { /* once per evaluation: the store has changed */
		if (vg_wstore_view_sync(vr->v, from, to, &cover) != VG_OK)
			return VG_ERR_NOMEM;
		vr->synced = a->evals;
	}
	const struct vg_table *t = vg_wstore_view_table(vr->v);
	const struct vg_wstore_sum *sums = vg_wstore_view_sums(vr->v);
	size_t n = vg_table_size(t);

	if (s->gen != vg_wstore_view_generation(vr->v)) { /* renumbered: classify again */
		s->gen = vg_wstore_view_generation(vr->v);
		s->seen = s->n_picks = 0;
		groups_free(&s->gs);
	}
	for (; s->seen < n; s->seen++) {
		const struct vg_agg_entry *e = vg_table_entry(t, s->seen);

		if (!rule_takes(env, r, e, a->md))
			continue;
		size_t len = group_key(env, r, e, key);
		struct group *g = groups_get(&s->gs, key, len);

		if (!g || vg_grow(&s->picks, &s->cap_picks, s->n_picks + 1, sizeof(*s->picks), 256) != 0)
			return VG_ERR_NOMEM;
		bool http = r->kind == VG_AGG_HTTP;

		s->picks[s->n_picks++] = (struct pick){
			.e = (uint32_t)s->seen, .g = (uint32_t)(g - s->gs.g),
			.bad_4xx = http && (r->of == OF_4XX || r->of == OF_BOTH),
			.bad_5xx = http && (r->of == OF_5XX || r->of == OF_BOTH),
			.bad_all = r->kind == VG_AGG_LOG && e->key.level >= VG_LEVEL_ERROR};
	}
	for (size_t i = 0; i < s->gs.n; i++) {
		struct group *g = &s->gs.g[i];

		g->count = g->bad = g->l_count = g->tail = g->far = 0;
		g->present = false;
	}
	for (size_t i = 0; i < s->n_picks; i++) {
		const struct pick *pk = &s->picks[i];
		const struct vg_wstore_sum *sm = &sums[pk->e];
		struct group *g = &s->gs.g[pk->g];

		if (!sm->parts)
			continue;
		g->present = true;
		g->count += sm->count;
		g->bad += pk->bad_4xx * sm->errors_4xx + pk->bad_5xx * sm->errors_5xx + pk->bad_all * sm->count;
		g->l_count += sm->l_count; /* 0 but for HTTP keys */
		g->tail += sm->tail;
		g->far += sm->far;
	}
	*out = &s->gs;
	return VG_OK;
}

/* ---- absent: the groups a rule knows ------------------------------------ */

static int cmp_group_key(const void *x, const void *y)
{
	const struct group *a = x, *b = y;
	int c = memcmp(a->key, b->key, a->key_len < b->key_len ? a->key_len : b->key_len);

	return c ? c : (a->key_len > b->key_len) - (a->key_len < b->key_len);
}

/* An absent rule knows a group from its first record until forget_after
 * has passed since the end of the last base window holding records of it
 * (a memory of its own: the store keeps an hour, and a service dead for
 * longer must stay known, its alert firing). latest: the rule's groups in
 * the base window ending at now; in: in the rule's window ending at now.
 * The known groups are kept sorted by key, so the order in which they
 * activate is the same whichever path (views or merges) learnt them; and
 * learning twice at one now changes nothing, so both paths may. Returns 0
 * or VG_ERR_NOMEM. */
static int absent_learn(struct vg_alerts *a, size_t ri, int64_t now, const struct groups *latest,
			const struct groups *in)
{
	const struct rule *r = &a->rules->r[ri];
	struct groups *k = &a->known[ri], kept = {0};
	size_t n0 = k->n, forgotten = 0;

	for (int pass = 0; pass < 2; pass++) {
		const struct groups *gs = pass ? in : latest;
		/* A group in the rule's window but not in the latest base window
		 * (evaluations that skipped windows): its last records end at
		 * least one base window into the rule's window. */
		int64_t seen = pass ? now - r->window_ms + a->rules->env.window_ms : now;

		for (size_t i = 0; i < gs->n; i++) {
			const struct group *g = &gs->g[i];
			struct group *kg;

			if (!g->count)
				continue;
			if (!(kg = groups_get(k, g->key, g->key_len)))
				return VG_ERR_NOMEM;
			if (kg->seen_ms < seen)
				kg->seen_ms = seen;
		}
	}
	if (k->n > n0) {
		qsort(k->g, k->n, sizeof(*k->g), cmp_group_key);
		if (groups_reindex(k, k->index_cap) != VG_OK) {
			groups_free(k); /* its index no longer matches: start again */
			return VG_ERR_NOMEM;
		}
	}
	for (size_t i = 0; i < k->n; i++)
		forgotten += now - k->g[i].seen_ms >= r->forget_ms;
	if (!forgotten)
		return VG_OK;
	/* Rebuilt without them: a group is forgotten once per forget_after at most. */
	for (size_t i = 0; i < k->n; i++) {
		struct group *kg;

		if (now - k->g[i].seen_ms >= r->forget_ms)
			continue;
		if (!(kg = groups_get(&kept, k->g[i].key, k->g[i].key_len))) {
			groups_free(&kept);
			return VG_ERR_NOMEM;
		}
		kg->seen_ms = k->g[i].seen_ms;
	}
	groups_free(k);
	*k = kept;
	return VG_OK;
}

/* Can a latency group's quantile be above the threshold? Its rank's value
 * lies in a bucket at or above the tail one when it is, so at least
 * count - rank values must. Also when merging could collapse buckets
 * into the tail (far) or saturate a bucket. */
static bool latency_possible(const struct rule *r, int32_t tail, const struct group *g)
{
	uint64_t n = g->l_count, rank;

	if (tail == VG_WSTORE_NO_TAIL || g->far || n >= UINT32_MAX)
		return true;
	rank = (uint64_t)(r->quantile * (double)(n - 1));
	return g->tail >= n - rank;
}

/* Rule ri holds no longer (or not yet) for group g, whose value is v:
 * noted for its instance, if any, to carry at resolution. */
static struct instance *instance_find(struct vg_alerts *a, size_t rule, const char *key, size_t len);

static void observe(struct vg_alerts *a, size_t ri, const struct group *g, double v)
{
	struct instance *in = a->observing ? instance_find(a, ri, g->key, g->key_len) : NULL;

	if (in) {
		in->now_value = v;
		in->observed = true;
	}
}

/* Has the engine had data for at least need ms by now? A long window
 * over less is the whole stream so far, not what the rule means. */
static bool covered(const struct vg_alerts *a, int64_t now, int64_t need)
{
	return now - a->data_from >= need;
}

/* A count against its baseline: the prediction for one window from the
 * trailing baseline [now - window - baseline, now - window), over the part
 * of it the engine has had data for. Sets *judge false while that part is
 * under the rule's coverage. */
static double baseline_per_window(const struct vg_alerts *a, const struct rule *r, int64_t now, uint64_t count,
				  bool *judge)
{
	int64_t end = now - r->window_ms, from = end - r->baseline_ms;
	int64_t span = end - (from > a->data_from ? from : a->data_from);

	*judge = span >= r->coverage_ms && span > 0;
	return *judge ? (double)count * (double)r->window_ms / (double)span : 0;
}

/* The value of a count-against-baseline group: the window's count over
 * the prediction; whether it holds (the floor, min_count, applies to the
 * count going above and to the prediction going below). */
static bool baseline_holds(const struct rule *r, uint64_t now_count, double predicted, double *v)
{
	*v = predicted > 0 ? (double)now_count / predicted : now_count ? INFINITY : 0;
	if (r->below)
		return predicted >= (double)r->min_count && *v < r->threshold;
	return now_count >= r->min_count && *v > r->threshold;
}

/* condition() from store views. Sets *slow when the rule must be
 * evaluated by merging instead (see struct slot); active and values are
 * then to be discarded. */
static int view_condition(struct vg_alerts *a, size_t ri, struct vg_wstore *store, int64_t now,
			  struct groups *active, double **values, bool *slow)
{
	const struct rule *r = &a->rules->r[ri];
	struct groups *w, *o;
	int rc = VG_OK;
	size_t cap = 0;

	*values = NULL;
	*slow = false;
#define COLLECT(SLOT, FROM, TO, G)                                                                               \
	do {                                                                                                     \
		if ((rc = view_collect(a, ri, SLOT, store, now, FROM, TO, G)) != VG_OK)                          \
			return rc;                                                                               \
		if (!*(G)) {                                                                                     \
			*slow = true;                                                                            \
			return VG_OK;                                                                            \
		}                                                                                                \
	} while (0)
#define ACTIVATE(G, V)                                                                                           \
	do {                                                                                                     \
		struct group *ag_ = groups_get(active, (G)->key, (G)->key_len);                                  \
		if (!ag_ || vg_grow(values, &cap, active->n, sizeof(double), 16) != 0)                           \
			return VG_ERR_NOMEM;                                                                     \
		(*values)[ag_ - active->g] = (V);                                                                \
	} while (0)

	if (r->cond == C_BURN) {
		double budget = 1 - r->objective;

		for (size_t p = 0; p < r->n_pairs; p++) {
			if (!covered(a, now, r->pairs[p].coverage_ms))
				continue;
			COLLECT(2 * p, now - r->pairs[p].long_ms, now, &w);
			COLLECT(2 * p + 1, now - r->pairs[p].short_ms, now, &o);
			for (size_t i = 0; i < w->n; i++) {
				struct group *gl = &w->g[i], *gsh;

				if (!gl->present || !gl->count)
					continue;
				double bl = (double)gl->bad / (double)gl->count / budget;

				gsh = groups_find(o, gl->key, gl->key_len);
				if (!gsh || !gsh->present || gl->count < r->min_count || gsh->count < r->min_count ||
				    groups_find(active, gl->key, gl->key_len)) {
					if (p == 0)
						observe(a, ri, gl, bl);
					continue;
				}
				double bs = (double)gsh->bad / (double)gsh->count / budget;

				if (bl > r->pairs[p].factor && bs > r->pairs[p].factor)
					ACTIVATE(gl, bl);
				else if (p == 0)
					observe(a, ri, gl, bl);
			}
		}
	} else if (r->cond == C_ABSENT) {
		COLLECT(0, now - r->window_ms, now, &w);
		COLLECT(1, now - a->rules->env.window_ms, now, &o);
		if ((rc = absent_learn(a, ri, now, o, w)) != VG_OK)
			return rc;
		for (size_t i = 0; i < a->known[ri].n; i++) {
			struct group *gk = &a->known[ri].g[i], *g = groups_find(w, gk->key, gk->key_len);

			if (!g || !g->present || !g->count)
				ACTIVATE(gk, 0.0);
		}
	} else if (r->baseline_ms) {
		bool judge;

		baseline_per_window(a, r, now, 0, &judge);
		if (judge) {
			COLLECT(0, now - r->window_ms, now, &w);
			COLLECT(1, now - r->window_ms - r->baseline_ms, now - r->window_ms, &o);
			/* above: the groups of the window; below: of the baseline */
			struct groups *by = r->below ? o : w, *other = r->below ? w : o;

			for (size_t i = 0; i < by->n; i++) {
				struct group *g = &by->g[i], *h;
				double v;

				if (!g->present || !g->count)
					continue;
				h = groups_find(other, g->key, g->key_len);
				uint64_t hc = h && h->present ? h->count : 0;
				double pred = baseline_per_window(a, r, now, r->below ? g->count : hc, &judge);

				if (baseline_holds(r, r->below ? hc : g->count, pred, &v))
					ACTIVATE(g, v);
				else
					observe(a, ri, g, v);
			}
		}
	} else if (r->cond != C_ERROR_RATE || covered(a, now, r->coverage_ms)) {
		int32_t tail = tail_bucket(a, r);

		if (r->cond == C_LATENCY && a->observing) {
			*slow = true; /* a resolution's value needs the sketch */
			return VG_OK;
		}
		COLLECT(0, now - r->window_ms, now, &w);
		for (size_t i = 0; i < w->n; i++) {
			struct group *g = &w->g[i];
			double v;

			if (!g->present)
				continue;
			if (r->cond == C_COUNT) {
				v = (double)g->count;
			} else if (r->cond == C_LATENCY) {
				if (g->l_count < r->min_count || !g->l_count)
					continue;
				if (latency_possible(r, tail, g)) {
					*slow = true; /* only the sketch can tell */
					return VG_OK;
				}
				continue;
			} else {
				if (!g->count)
					continue;
				v = (double)g->bad / (double)g->count;
				if (g->count < r->min_count) {
					observe(a, ri, g, v);
					continue;
				}
			}
			if (!isnan(v) && beyond(r, v))
				ACTIVATE(g, v);
			else
				observe(a, ri, g, v);
		}
	}
#undef ACTIVATE
#undef COLLECT
	if (active->n >= 2)
		*slow = true;
	return rc;
}

/* The groups for which r holds at now, with their values. */
static int condition(struct vg_alerts *a, const struct rule *r, struct vg_wstore *store, int64_t now,
		     struct groups *active, double **values)
{
	size_t ri = (size_t)(r - a->rules->r);
	struct groups w = {0}, o = {0};
	int rc = VG_OK;
	size_t cap = 0;

	*values = NULL;
#define ACTIVATE(G, V)                                                                                           \
	do {                                                                                                     \
		struct group *ag_ = groups_get(active, (G)->key, (G)->key_len);                                  \
		if (!ag_ || vg_grow(values, &cap, active->n, sizeof(double), 16) != 0) {                         \
			rc = VG_ERR_NOMEM;                                                                       \
			goto out;                                                                                \
		}                                                                                                \
		(*values)[ag_ - active->g] = (V);                                                                \
	} while (0)

	if (r->cond == C_BURN) {
		for (size_t p = 0; p < r->n_pairs; p++) {
			if (!covered(a, now, r->pairs[p].coverage_ms))
				continue;
			groups_free(&w);
			groups_free(&o);
			if ((rc = collect(a, r, store, now - r->pairs[p].long_ms, now, &w)) != VG_OK ||
			    (rc = collect(a, r, store, now - r->pairs[p].short_ms, now, &o)) != VG_OK)
				goto out;
			double budget = 1 - r->objective;

			for (size_t i = 0; i < w.n; i++) {
				struct group *gl = &w.g[i], *gsh = groups_find(&o, gl->key, gl->key_len);

				if (!gl->count)
					continue;
				double bl = (double)gl->bad / (double)gl->count / budget;

				if (!gsh || gl->count < r->min_count || gsh->count < r->min_count ||
				    groups_find(active, gl->key, gl->key_len)) {
					if (p == 0)
						observe(a, ri, gl, bl);
					continue;
				}
				double bs = (double)gsh->bad / (double)gsh->count / budget;

				if (bl > r->pairs[p].factor && bs > r->pairs[p].factor)
					ACTIVATE(gl, bl);
				else if (p == 0)
					observe(a, ri, gl, bl);
			}
		}
		goto out;
	}
	if (r->baseline_ms) {
		bool judge;

		baseline_per_window(a, r, now, 0, &judge);
		if (!judge)
			goto out;
		if ((rc = collect(a, r, store, now - r->window_ms, now, &w)) != VG_OK ||
		    (rc = collect(a, r, store, now - r->window_ms - r->baseline_ms, now - r->window_ms, &o)) != VG_OK)
			goto out;
		struct groups *by = r->below ? &o : &w, *other = r->below ? &w : &o;

		for (size_t i = 0; i < by->n; i++) {
			struct group *g = &by->g[i], *h;
			double v;

			if (!g->count)
				continue;
			h = groups_find(other, g->key, g->key_len);
			uint64_t hc = h ? h->count : 0;
			double pred = baseline_per_window(a, r, now, r->below ? g->count : hc, &judge);

			if (baseline_holds(r, r->below ? hc : g->count, pred, &v))
				ACTIVATE(g, v);
			else
				observe(a, ri, g, v);
		}
		goto out;
	}
	if (r->cond == C_ERROR_RATE && !covered(a, now, r->coverage_ms))
		goto out;
	if ((rc = collect(a, r, store, now - r->window_ms, now, &w)) != VG_OK)
		goto out;
	if (r->cond == C_ABSENT) {
		size_t ri = (size_t)(r - a->rules->r);

		if ((rc = collect(a, r, store, now - a->rules->env.window_ms, now, &o)) != VG_OK ||
		    (rc = absent_learn(a, ri, now, &o, &w)) != VG_OK)
			goto out;
		for (size_t i = 0; i < a->known[ri].n; i++) {
			struct group *gk = &a->known[ri].g[i], *g = groups_find(&w, gk->key, gk->key_len);

			if (!g || !g->count)
				ACTIVATE(gk, 0.0);
		}
		goto out;
	}
	for (size_t i = 0; i < w.n; i++) {
		struct group *g = &w.g[i];
		double v;

		if (r->cond == C_COUNT) {
			v = (double)g->count;
		} else if (r->cond == C_LATENCY) {
			if (!g->has_latency || !g->latency.count)
				continue;
			v = vg_sketch_quantile(&g->latency, r->quantile);
			if (g->latency.count < r->min_count) {
				observe(a, ri, g, v);
				continue;
			}
		} else {
			if (!g->count)
				continue;
			v = (double)g->bad / (double)g->count;
			if (g->count < r->min_count) {
				observe(a, ri, g, v);
				continue;
			}
		}
		if (!isnan(v) && beyond(r, v))
			ACTIVATE(g, v);
		else
			observe(a, ri, g, v);
	}
out:
#undef ACTIVATE
	groups_free(&w);
	groups_free(&o);
	return rc;
}

static struct instance *instance_find(struct vg_alerts *a, size_t rule, const char *key, size_t len)
{
	for (size_t i = 0; i < a->n_in; i++) {
		struct instance *in = &a->in[i];

		if (in->rule == rule && in->key_len == len && memcmp(in->key, key, len) == 0)
			return in;
	}
	return NULL;
}

/* Render a template into b. */
static void render(struct vg_buf *b, const char *t, const struct vg_alert *al)
{
	for (const char *p = t; *p;) {
		const char *o = strstr(p, "{{");

		if (!o) {
			vg_buf_puts(b, p);
			break;
		}
		vg_buf_put(b, p, (size_t)(o - p));
		const char *e = strstr(o, "}}"), *s = o + 2;

		while (*s == ' ')
			s++;
		if (strncmp(s, "$value", 6) == 0) {
			char num[32];

			snprintf(num, sizeof(num), "%.4g", al->value);
			vg_buf_puts(b, num);
		} else {
			size_t n = strcspn(s + 8, " }");

			for (size_t i = 0; i < al->n_labels; i++)
				if (strlen(al->label_names[i]) == n && strncmp(al->label_names[i], s + 8, n) == 0)
					vg_buf_puts(b, al->label_values[i]);
		}
		p = e + 2; /* templates were checked at load */
	}
}

static int cmp_label(const void *x, const void *y)
{
	const char *const *a = x, *const *b = y;

	return strcmp(a[0], b[0]);
}

static bool by_label(const struct rule *r, const char *name)
{
	for (size_t b = 0; b < r->n_by; b++)
		if (strcmp(label_names[r->by[b]], name) == 0)
			return true;
	return false;
}

static uint64_t fingerprint(const struct rule *r, const char *key, size_t len, int level);

/* Build the notification for an instance's label set of escalation level
 * (0: L1, 1: L2) and hand it to emit. */
static void notify(struct vg_alerts *a, const struct instance *in, enum vg_alert_state state, int64_t now,
		   int level, void (*emit)(void *arg, const struct vg_alert *al), void *arg)
{
	const struct rule *r = &a->rules->r[in->rule];
	static const char *const sev[] = {"", "P1", "P2", "P3", "P4"};
	const char *pairs[VG_ALERT_MAX_LABELS][2];
	size_t n = 0;
	struct vg_alert al = {.name = r->name, .state = state, .severity = sev[r->severity],
			      .escalation = level + 1,
			      .fingerprint = level ? fingerprint(r, in->key, in->key_len, level) : in->fp,
			      .value = in->value, .at = now, .active_at = in->active_at, .fired_at = in->fired_at,
			      .resolved_at = state == VG_ALERT_RESOLVED ? now : 0};
	const char *k = in->key;

	pairs[n][0] = "alertname";
	pairs[n++][1] = r->name;
	pairs[n][0] = "severity";
	pairs[n++][1] = sev[r->severity];
	for (size_t b = 0; b < r->n_by && n < VG_ALERT_MAX_LABELS; b++, k += strlen(k) + 1) {
		pairs[n][0] = label_names[r->by[b]];
		pairs[n++][1] = k;
	}
	for (size_t i = 0; i < r->n_labels && n < VG_ALERT_MAX_LABELS - 1; i++) {
		if (by_label(r, r->lnames[i]))
			continue; /* the instance's own value wins */
		pairs[n][0] = r->lnames[i];
		pairs[n++][1] = r->lvalues[i];
	}
	if (level && n < VG_ALERT_MAX_LABELS) {
		pairs[n][0] = "escalation";
		pairs[n++][1] = "L2";
	}
	qsort(pairs, n, sizeof(pairs[0]), cmp_label);
	al.n_labels = n;
	for (size_t i = 0; i < n; i++) {
		al.label_names[i] = pairs[i][0];
		al.label_values[i] = pairs[i][1];
	}
	/* Annotations rendered back to back in a->text, then pointed at. */
	size_t offs[MAX_STATIC];

	a->text.len = 0;
	for (size_t i = 0; i < r->n_ann; i++) {
		offs[i] = a->text.len;
		render(&a->text, r->atemplates[i], &al);
		vg_buf_putc(&a->text, '\0');
	}
	if (!a->text.failed) {
		al.n_annotations = r->n_ann;
		for (size_t i = 0; i < r->n_ann; i++) {
			al.annotation_names[i] = r->anames[i];
			al.annotation_values[i] = a->text.p + offs[i];
		}
	}
	emit(arg, &al);
}

/* The fingerprint: a hash of the sorted labels of the set sent (level 1:
 * escalation="L2" among them), as Alertmanager identifies alerts. */
static uint64_t fingerprint(const struct rule *r, const char *key, size_t len, int level)
{
	const char *pairs[VG_ALERT_MAX_LABELS][2];
	static const char *const sev[] = {"", "P1", "P2", "P3", "P4"};
	size_t n = 0;
	uint64_t h = FNV0;

	pairs[n][0] = "alertname";
	pairs[n++][1] = r->name;
	pairs[n][0] = "severity";
	pairs[n++][1] = sev[r->severity];
	for (const char *k = key; k < key + len && n < VG_ALERT_MAX_LABELS; k += strlen(k) + 1, n++) {
		pairs[n][0] = label_names[r->by[n - 2]];
		pairs[n][1] = k;
	}
	for (size_t i = 0; i < r->n_labels && n < VG_ALERT_MAX_LABELS; i++) {
		if (by_label(r, r->lnames[i]))
			continue;
		pairs[n][0] = r->lnames[i];
		pairs[n++][1] = r->lvalues[i];
	}
	if (level && n < VG_ALERT_MAX_LABELS) {
		pairs[n][0] = "escalation";
		pairs[n++][1] = "L2";
	}
	qsort(pairs, n, sizeof(pairs[0]), cmp_label);
	for (size_t i = 0; i < n; i++) {
		h = fnv(pairs[i][0], strlen(pairs[i][0]) + 1, h);
		h = fnv(pairs[i][1], strlen(pairs[i][1]) + 1, h);
	}
	return h;
}

/* A firing instance unresolved past escalate_after, whether its condition
 * holds now or keep_firing_for holds it: sent again as L2, once, with L1's
 * label set still firing. */
static void escalate(struct vg_alerts *a, struct instance *in, int64_t now,
		     void (*emit)(void *arg, const struct vg_alert *al), void *arg)
{
	const struct rule *r = &a->rules->r[in->rule];

	if (in->state == I_FIRING && r->escalate_ms && !in->escalations && now - in->fired_at >= r->escalate_ms) {
		in->escalations = 1;
		notify(a, in, VG_ALERT_FIRING, now, 1, emit, arg);
	}
}

/* An absent rule's resolved change says why, in the annotation
 * `resolution`: "recovered" (the group has records again) or "forgotten"
 * (silent for forget_after: no longer known). The engine's emit, wrapped
 * for one evaluation. */
struct absent_emit {
	const struct vg_alerts *a;
	void (*emit)(void *arg, const struct vg_alert *al);
	void *arg;
};

static void absent_emit(void *arg, const struct vg_alert *al)
{
	const struct absent_emit *ae = arg;
	const struct vg_alerts *a = ae->a;

	for (size_t i = 0; al->state == VG_ALERT_RESOLVED && al->n_annotations < VG_ALERT_MAX_LABELS && i < a->n_in;
	     i++) {
		const struct instance *in = &a->in[i];
		const struct rule *r = &a->rules->r[in->rule];
		struct vg_alert out;

		if (r->cond != C_ABSENT || strcmp(r->name, al->name) != 0 ||
		    (in->fp != al->fingerprint &&
		     !(al->escalation > 1 && fingerprint(r, in->key, in->key_len, 1) == al->fingerprint)))
			continue;
		out = *al;
		out.annotation_names[out.n_annotations] = "resolution";
		out.annotation_values[out.n_annotations++] =
			groups_find(&a->known[in->rule], in->key, in->key_len) ? "recovered" : "forgotten";
		ae->emit(ae->arg, &out);
		return;
	}
	ae->emit(ae->arg, al);
}

int vg_alerts_eval(struct vg_alerts *a, struct vg_wstore *store, int64_t now,
		   void (*emit)(void *arg, const struct vg_alert *al), void *arg)
{
	struct absent_emit ae = {a, emit, arg};

	emit = absent_emit;
	arg = &ae;
	for (size_t i = 0; i < a->n_in; i++)
		a->in[i].seen = a->in[i].observed = false;
	for (size_t i = 0; i < RANGE_CACHE; i++)
		a->ranges[i].valid = false; /* the store has a new window */
	if (a->vstore != store) {
		views_free(a);
		a->vstore = store;
	}
	if (!a->evals++)
		a->data_from = now - a->rules->env.window_ms;
	for (size_t ri = 0; ri < a->rules->n; ri++) {
		const struct rule *r = &a->rules->r[ri];
		struct groups active = {0};
		double *values = NULL;
		bool slow = false;

		a->observing = false;
		for (size_t i = 0; i < a->n_in && !a->observing; i++)
			a->observing = a->in[i].rule == ri;
		int rc = view_condition(a, ri, store, now, &active, &values, &slow);

		if (rc == VG_OK && slow) {
			groups_free(&active);
			free(values);
			values = NULL;
			rc = condition(a, r, store, now, &active, &values);
		}

		if (rc != VG_OK) {
			groups_free(&active);
			free(values);
			return rc;
		}
		for (size_t g = 0; g < active.n; g++) {
			struct group *gr = &active.g[g];
			struct instance *in = instance_find(a, ri, gr->key, gr->key_len);

			if (!in) {
				if (vg_grow(&a->in, &a->cap_in, a->n_in + 1, sizeof(*a->in), 16) != 0) {
					groups_free(&active);
					free(values);
					return VG_ERR_NOMEM;
				}
				in = &a->in[a->n_in++];
				memset(in, 0, sizeof(*in));
				in->rule = ri;
				in->key = gr->key; /* taken over from the group */
				in->key_len = gr->key_len;
				gr->key = NULL;
				in->fp = fingerprint(r, in->key, in->key_len, 0);
			}
			in->seen = true;
			in->value = values[g];
			in->last_active = now;
			if (in->state == I_INACTIVE) {
				in->state = I_PENDING;
				in->active_at = now;
				if (r->for_ms)
					notify(a, in, VG_ALERT_PENDING, now, 0, emit, arg);
			}
			if (in->state == I_PENDING && now - in->active_at >= r->for_ms) {
				in->state = I_FIRING;
				in->fired_at = now;
				notify(a, in, VG_ALERT_FIRING, now, 0, emit, arg);
			} else {
				escalate(a, in, now, emit, arg);
			}
		}
		groups_free(&active);
		free(values);
	}
	/* Instances the conditions no longer hold for. */
	size_t keep = 0;

	for (size_t i = 0; i < a->n_in; i++) {
		struct instance *in = &a->in[i];
		const struct rule *r = &a->rules->r[in->rule];
		bool drop = false;

		if (!in->seen) {
			/* the value at the change: the condition's now, or
			 * none (null) where the group has no data */
			in->value = in->observed ? in->now_value : r->cond == C_COUNT && !r->baseline_ms ? 0 : NAN;
			if (in->state == I_PENDING) {
				if (r->for_ms) /* never fired: closed in the log, nothing to resolve */
					notify(a, in, VG_ALERT_INACTIVE, now, 0, emit, arg);
				drop = true;
			} else if (now - in->last_active >= r->keep_ms) {
				for (int level = 0; level <= in->escalations; level++)
					notify(a, in, VG_ALERT_RESOLVED, now, level, emit, arg);
				drop = true;
			} else {
				escalate(a, in, now, emit, arg);
			}
		}
		if (drop)
			free(in->key);
		else
			a->in[keep++] = *in;
	}
	a->n_in = keep;
	return VG_OK;
}

/* A reload: absent rules still there (by name) keep the groups they know;
 * the others' are freed, and known (one per new rule) replaces them. */
static void absent_carry(struct vg_alerts *a, const struct vg_rules *rules, struct groups *known)
{
	for (size_t ri = 0; ri < rules->n; ri++) {
		for (size_t oi = 0; rules->r[ri].cond == C_ABSENT && oi < a->rules->n; oi++) {
			if (a->rules->r[oi].cond == C_ABSENT && strcmp(a->rules->r[oi].name, rules->r[ri].name) == 0) {
				known[ri] = a->known[oi];
				memset(&a->known[oi], 0, sizeof(a->known[oi]));
				break;
			}
		}
	}
	for (size_t oi = 0; a->known && oi < a->rules->n; oi++)
		groups_free(&a->known[oi]);
	free(a->known);
	a->known = known;
}

int vg_alerts_set_rules(struct vg_alerts *a, const struct vg_rules *rules, int64_t now_ms,
			void (*emit)(void *arg, const struct vg_alert *al), void *arg, size_t *ended_out)
{
	size_t keep = 0, ended = 0;
	/* The fast path's slots and views belong to the old rules (their
	 * selectors, their ranges): start afresh, slots sized for the new. */
	struct slot *slots = rules->n ? calloc(rules->n * MAX_SLOTS, sizeof(*slots)) : NULL;
	struct groups *known = rules->n ? calloc(rules->n, sizeof(*known)) : NULL;

	if (rules->n && (!slots || !known)) {
		free(slots);
		free(known);
		return VG_ERR_NOMEM; /* nothing changed */
	}
	absent_carry(a, rules, known);
	views_free(a);
	free(a->slots);
	a->slots = slots;
	for (size_t i = 0; i < a->n_in; i++) {
		struct instance *in = &a->in[i];
		const char *name = a->rules->r[in->rule].name;
		size_t ri = 0;

		while (ri < rules->n && strcmp(rules->r[ri].name, name) != 0)
			ri++;
		if (ri < rules->n) {
			in->rule = ri;
			a->in[keep++] = *in;
			continue;
		}
		for (int level = 0; in->state == I_FIRING && level <= in->escalations; level++)
			notify(a, in, VG_ALERT_RESOLVED, now_ms, level, emit, arg); /* under the old rule's labels */
		free(in->key);
		ended++;
	}
	a->n_in = keep;
	a->rules = rules;
	for (size_t i = 0; i < RANGE_CACHE; i++)
		a->ranges[i].valid = false;
	*ended_out = ended;
	return VG_OK;
}

void vg_alerts_each(struct vg_alerts *a, void (*fn)(void *arg, const struct vg_alert *al), void *arg)
{
	for (size_t i = 0; i < a->n_in; i++)
		for (int level = 0; level <= (a->in[i].state == I_FIRING ? a->in[i].escalations : 0); level++)
			notify(a, &a->in[i], a->in[i].state == I_FIRING ? VG_ALERT_FIRING : VG_ALERT_PENDING,
			       a->in[i].last_active, level, fn, arg);
}

void vg_alerts_counts(const struct vg_alerts *a, size_t *pending, size_t *firing)
{
	*pending = *firing = 0;
	for (size_t i = 0; i < a->n_in; i++) {
		if (a->in[i].state == I_FIRING)
			(*firing)++;
		else
			(*pending)++;
	}
}

void vg_alert_json(const struct vg_alert *al, struct vg_buf *b)
{
	static const char *const states[] = {"pending", "firing", "resolved", "inactive"};
	char fp[20];

	vg_buf_puts(b, "{\"at\":");
	vg_buf_put_json_time(b, al->at);
	vg_buf_puts(b, ",\"alertname\":");
	vg_buf_put_json_str(b, vg_str_cstr(al->name));
	vg_buf_puts(b, ",\"state\":\"");
	vg_buf_puts(b, states[al->state]);
	vg_buf_puts(b, "\",\"severity\":\"");
	vg_buf_puts(b, al->severity);
	vg_buf_puts(b, "\",\"labels\":");
	vg_buf_put_json_object(b, al->label_names, al->label_values, al->n_labels);
	vg_buf_puts(b, ",\"value\":");
	vg_buf_put_double(b, al->value); /* null when not finite */
	snprintf(fp, sizeof(fp), "%016llx", (unsigned long long)al->fingerprint);
	vg_buf_puts(b, ",\"fingerprint\":\"");
	vg_buf_puts(b, fp);
	vg_buf_puts(b, "\",\"annotations\":");
	vg_buf_put_json_object(b, al->annotation_names, al->annotation_values, al->n_annotations);
	vg_buf_puts(b, ",\"activeAt\":");
	vg_buf_put_json_time(b, al->active_at);
	if (al->fired_at) {
		vg_buf_puts(b, ",\"startsAt\":");
		vg_buf_put_json_time(b, al->fired_at);
	}
	if (al->state == VG_ALERT_RESOLVED) {
		vg_buf_puts(b, ",\"endsAt\":");
		vg_buf_put_json_time(b, al->resolved_at);
	}
	vg_buf_putc(b, '}');
}

/* ---- rule tests (vigil rules --test) ------------------------------------ */

#define TEST_T0 1793491200000LL /* 2026-11-01T00:00:00Z: where test series start */
#define MAX_SERIES 32

struct tseries {
	struct vg_agg_key key;
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
	const char *p = scalar(v);

	if (!p)
		return fail(L, v, "values: expected a string like \"100/0x30 100/5x60\"");
	while (*p) {
		char *end;

		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		unsigned long long c = strtoull(p, &end, 10), e = 0, rep = 1;

		if (end == p)
			return fail(L, v, "values: expected COUNT[/ERRORS][xN] at '%s'", p);
		p = end;
		if (*p == '/') {
			e = strtoull(p + 1, &end, 10);
			if (end == p + 1 || e > c)
				return fail(L, v, "values: errors must be a number no larger than the count");
			p = end;
		}
		if (*p == 'x') {
			rep = strtoull(p + 1, &end, 10);
			if (end == p + 1 || rep == 0 || rep > 100000)
				return fail(L, v, "values: xN repeats 1 to 100000 windows");
			p = end;
		}
		if (*p && *p != ' ' && *p != ',')
			return fail(L, v, "values: unexpected '%c'", *p);
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
	const char *s = scalar(v);
	const struct vg_rules_env *env = L->env;

	if (!s)
		return fail(L, v, "%s: expected a string", k);
	if (strcmp(k, "service") == 0)
		snprintf(ts->service, sizeof(ts->service), "%s", s);
	else if (strcmp(k, "endpoint") == 0 && ts->key.kind == VG_AGG_HTTP)
		snprintf(ts->endpoint, sizeof(ts->endpoint), "%s", s);
	else if (strcmp(k, "method") == 0 && ts->key.kind == VG_AGG_HTTP)
		snprintf(ts->method, sizeof(ts->method), "%s", s);
	else if (strcmp(k, "category") == 0 && ts->key.kind == VG_AGG_LOG) {
		size_t i = 0;

		while (i < env->n_categories && strcmp(env->categories[i], s) != 0)
			i++;
		if (i == env->n_categories)
			return fail(L, v, "category: '%s' is not a configured category", s);
		ts->key.category = (uint8_t)i;
	} else if (strcmp(k, "level") == 0 && ts->key.kind == VG_AGG_LOG) {
		int l = 0;

		while (l < VG_LEVEL_COUNT && strcasecmp(vg_level_name(l), s) != 0)
			l++;
		if (l == VG_LEVEL_COUNT)
			return fail(L, v, "level: '%s' is not a level", s);
		ts->key.level = (uint8_t)l;
	} else if (strcmp(k, "name") == 0 && ts->key.kind == VG_AGG_COUNTER) {
		size_t i = 0;

		while (i < env->n_counters && strcmp(env->counters[i], s) != 0)
			i++;
		if (i == env->n_counters)
			return fail(L, v, "name: '%s' is not one of aggregate.counters", s);
		ts->key.counter = (uint8_t)i;
	} else {
		return fail(L, kn, "'%s' is not a label of this series", k);
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
			return each_pair(L, v, k, series_label, ts);
		}
	if (strcmp(k, "values") == 0)
		return VG_OK; /* once the kind is known */
	if (strcmp(k, "latency_ms") == 0)
		return get_number(L, v, "latency_ms", &ts->latency_ms);
	return fail(L, kn, "unknown key '%s' in a series (http, logs, counter, values, latency_ms)", k);
}

static int expect_key(struct loader *L, const char *k, yaml_node_t *kn, yaml_node_t *v, void *arg)
{
	struct texpect *ex = arg;

	if (strcmp(k, "at") == 0)
		return get_duration(L, v, "at", &ex->at_ms);
	if (strcmp(k, "firing") == 0) {
		if (!v || v->type != YAML_SEQUENCE_NODE)
			return fail(L, v, "firing: expected a list of label maps ([] for none)");
		ex->firing = v;
		return VG_OK;
	}
	return fail(L, kn, "unknown key '%s' in an expectation (at, firing)", k);
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
		const char *k = scalar(node(L, p->key)), *v = scalar(node(L, p->value));
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
			struct vg_agg_key k = ts->key;

			k.window = start / w;
			k.service = vg_str_cstr(ts->service);
			k.endpoint = vg_str_cstr(ts->endpoint);
			k.method = vg_str_cstr(ts->method);
			struct vg_agg_entry *e = vg_table_get(t, &k);

			if (!e)
				goto out;
			e->count += ts->count[i];
			e->errors_5xx += ts->errors[i];
			for (uint64_t r = 0; ts->key.kind == VG_AGG_HTTP && r < ts->count[i]; r++)
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
				yaml_node_t *m = node(L, *it);
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
				snprintf(head, sizeof(head), "FAIL %s (%s:%d, at %llds): expected %zu firing, got %zu:\n",
					 name, L->name, ex->line, (long long)(ex->at_ms / 1000), want, fs.n);
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

int vg_rules_test(const char *path, const struct vg_rules_env *env, const struct vg_table_params *tp,
		  char **report_out, int *tests, int *failures, char *errbuf, size_t errlen)
{
	struct loader L = {.name = path, .errbuf = errbuf, .errlen = errlen, .env = env};
	struct vg_buf text = {0}, report = {0};
	struct vg_rules *rules = NULL;
	yaml_parser_t p;
	char chunk[65536];
	size_t got;
	int rc = VG_ERR_CONFIG;
	FILE *f = fopen(path, "rb");

	*tests = *failures = 0;
	*report_out = NULL;
	if (!f) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		return VG_ERR_IO;
	}
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		vg_buf_put(&text, chunk, got);
	fclose(f);
	if (!yaml_parser_initialize(&p)) {
		vg_buf_free(&text);
		return VG_ERR_NOMEM;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)(text.p ? text.p : ""), text.len);
	if (!yaml_parser_load(&p, &L.doc)) {
		snprintf(errbuf, errlen, "%s:%lu: YAML syntax: %s", path, (unsigned long)p.problem_mark.line + 1,
			 p.problem ? p.problem : "error");
		yaml_parser_delete(&p);
		vg_buf_free(&text);
		return VG_ERR_CONFIG;
	}
	yaml_node_t *root = yaml_document_get_root_node(&L.doc), *files = NULL, *cases = NULL;

	if (!root || root->type != YAML_MAPPING_NODE) {
		rc = fail(&L, root, "expected a mapping with rule_files and tests");
		goto out;
	}
	for (yaml_node_pair_t *q = root->data.mapping.pairs.start; q < root->data.mapping.pairs.top; q++) {
		const char *k = scalar(node(&L, q->key));

		if (k && strcmp(k, "rule_files") == 0)
			files = node(&L, q->value);
		else if (k && strcmp(k, "tests") == 0)
			cases = node(&L, q->value);
		else {
			rc = fail(&L, node(&L, q->key), "unknown key '%s' (rule_files, tests)", k ? k : "?");
			goto out;
		}
	}
	if (!files || files->type != YAML_SEQUENCE_NODE || !cases || cases->type != YAML_SEQUENCE_NODE) {
		rc = fail(&L, root, "needs rule_files: [...] and tests: [...]");
		goto out;
	}
	/* Rule files relative to the test file's directory ("builtin" as is). */
	const char *names[16];
	char paths[16][PATH_MAX];
	size_t nf = 0;
	const char *slash = strrchr(path, '/');

	for (yaml_node_item_t *it = files->data.sequence.items.start; it < files->data.sequence.items.top && nf < 16;
	     it++) {
		const char *s = scalar(node(&L, *it));

		if (!s) {
			rc = fail(&L, node(&L, *it), "rule_files: expected file names");
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
		yaml_node_t *cn = node(&L, *it);
		struct tcase tc = {.L = &L};
		const char *name = "unnamed";

		if (!cn || cn->type != YAML_MAPPING_NODE) {
			rc = fail(&L, cn, "tests: each test is a mapping (name, series, expect)");
			goto out;
		}
		for (yaml_node_pair_t *q = cn->data.mapping.pairs.start; q < cn->data.mapping.pairs.top && rc == VG_OK;
		     q++) {
			const char *k = scalar(node(&L, q->key));
			yaml_node_t *v = node(&L, q->value);

			if (k && strcmp(k, "name") == 0 && scalar(v)) {
				name = scalar(v);
			} else if (k && strcmp(k, "series") == 0 && v->type == YAML_SEQUENCE_NODE) {
				for (yaml_node_item_t *si = v->data.sequence.items.start;
				     si < v->data.sequence.items.top && rc == VG_OK; si++) {
					yaml_node_t *sn = node(&L, *si);

					if (tc.n_series == MAX_SERIES) {
						rc = fail(&L, sn, "at most %d series per test", MAX_SERIES);
						break;
					}
					struct tseries *ts = &tc.s[tc.n_series++];

					memset(ts, 0, sizeof(*ts));
					ts->key.kind = 0xff;
					ts->latency_ms = 10;
					snprintf(ts->method, sizeof(ts->method), "GET");
					if ((rc = each_pair(&L, sn, "series", series_key, ts)) != VG_OK)
						break;
					if (ts->key.kind == 0xff) {
						rc = fail(&L, sn, "a series needs http, logs or counter");
						break;
					}
					for (yaml_node_pair_t *sq = sn->data.mapping.pairs.start;
					     sq < sn->data.mapping.pairs.top && rc == VG_OK; sq++)
						if (strcmp(scalar(node(&L, sq->key)), "values") == 0)
							rc = parse_values(&L, node(&L, sq->value), ts);
				}
			} else if (k && strcmp(k, "expect") == 0 && v->type == YAML_SEQUENCE_NODE) {
				for (yaml_node_item_t *ei = v->data.sequence.items.start;
				     ei < v->data.sequence.items.top && rc == VG_OK; ei++) {
					if (vg_grow(&tc.ex, &tc.cap_ex, tc.n_ex + 1, sizeof(*tc.ex), 8) != 0) {
						rc = VG_ERR_NOMEM;
						break;
					}
					struct texpect *ex = &tc.ex[tc.n_ex++];
					yaml_node_t *en = node(&L, *ei);

					memset(ex, 0, sizeof(*ex));
					ex->line = en ? (int)en->start_mark.line + 1 : 0;
					if ((rc = each_pair(&L, en, "expect", expect_key, ex)) == VG_OK &&
					    (!ex->firing || !ex->at_ms))
						rc = fail(&L, en, "expect: each item needs at and firing");
				}
			} else {
				rc = fail(&L, node(&L, q->key), "unknown or malformed key '%s' in a test (name, series, "
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
	vg_buf_free(&text);
	if (rc == VG_OK) {
		vg_buf_putc(&report, '\0');
		*report_out = report.p; /* the caller frees it */
	} else {
		vg_buf_free(&report);
	}
	return rc;
}

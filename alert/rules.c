/* vigil: alert rules, loaded from YAML (see rules.h). */
#include "alert/rules.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aggregate/table.h"
#include "alert/rules_internal.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/record.h"

const char *const vg_rules_label_names[L_COUNT] = {"service", "endpoint", "method", "category", "level"};

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

int vg_rules_fail(struct loader *L, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(L->errbuf, L->errlen, "%s:%lu: %s", L->name, n ? (unsigned long)n->start_mark.line + 1 : 0UL, msg);
	return VG_ERR_CONFIG;
}

yaml_node_t *vg_rules_node(struct loader *L, int id)
{
	return yaml_document_get_node(&L->doc, id);
}

const char *vg_rules_scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* Calls fn(L, key, value, arg) for each pair of mapping n. */
int vg_rules_each_pair(struct loader *L, yaml_node_t *n, const char *what,
                       int (*fn)(struct loader *L, const char *k, yaml_node_t *kn, yaml_node_t *v, void *arg),
                       void *arg)
{
	if (!n || n->type != YAML_MAPPING_NODE)
		return vg_rules_fail(L, n, "%s: expected a mapping", what);
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = vg_rules_node(L, p->key), *v = vg_rules_node(L, p->value);
		const char *ks = vg_rules_scalar(k);

		if (!ks)
			return vg_rules_fail(L, k, "%s: keys must be plain strings", what);
		int rc = fn(L, ks, k, v, arg);

		if (rc != VG_OK)
			return rc;
	}
	return VG_OK;
}

int vg_rules_get_duration(struct loader *L, yaml_node_t *v, const char *what, int64_t *out)
{
	const char *s = vg_rules_scalar(v);

	if (!s || (*out = vg_config_parse_duration(s)) < 0)
		return vg_rules_fail(L, v, "%s: expected a duration (500ms, 10s, 5m, 1h, 3d), got '%s'", what,
		                     s ? s : "?");
	return VG_OK;
}

int vg_rules_get_number(struct loader *L, yaml_node_t *v, const char *what, double *out)
{
	const char *s = vg_rules_scalar(v);
	char *end;

	if (!s || !*s)
		return vg_rules_fail(L, v, "%s: expected a number", what);
	errno = 0;
	*out = strtod(s, &end);
	if (*end || errno || !isfinite(*out))
		return vg_rules_fail(L, v, "%s: expected a number, got '%s'", what, s);
	return VG_OK;
}

/* A latency threshold: a duration ("500ms", "2s") or a number of ms. */
static int get_ms(struct loader *L, yaml_node_t *v, const char *what, double *out)
{
	const char *s = vg_rules_scalar(v);
	char *end;

	if (s && *s) {
		double d = strtod(s, &end);

		if (!*end && isfinite(d)) {
			*out = d;
			return VG_OK;
		}
	}
	int64_t ms = 0;
	int rc = vg_rules_get_duration(L, v, what, &ms);

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
		if (strcmp(s, vg_rules_label_names[i]) == 0)
			return i;
	return -1;
}

static bool label_allowed(const struct rule *r, int label)
{
	if (r->kind == VG_TABLE_HTTP)
		return label <= L_METHOD;
	if (r->kind == VG_TABLE_COUNTER)
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
		return vg_rules_get_duration(L, v, "burn_rate.windows.long", &p->long_ms);
	if (strcmp(k, "short") == 0)
		return vg_rules_get_duration(L, v, "burn_rate.windows.short", &p->short_ms);
	if (strcmp(k, "factor") == 0)
		return vg_rules_get_number(L, v, "burn_rate.windows.factor", &p->factor);
	if (strcmp(k, "coverage") == 0)
		return vg_rules_get_duration(L, v, "burn_rate.windows.coverage", &p->coverage_ms);
	return vg_rules_fail(L, kn, "burn_rate.windows: unknown key '%s' (long, short, factor, coverage)", k);
}

static int cond_key(struct loader *L, const char *k, yaml_node_t *kn, yaml_node_t *v, void *arg)
{
	struct cond_ctx *c = arg;
	struct rule *r = c->r;
	double d;
	int rc;

	if (strcmp(k, "window") == 0)
		return vg_rules_get_duration(L, v, "window", &r->window_ms);
	if (strcmp(k, "above") == 0 || strcmp(k, "below") == 0) {
		r->below = k[0] == 'b';
		c->have_threshold = true;
		return r->cond == C_LATENCY ? get_ms(L, v, k, &r->threshold)
		                            : vg_rules_get_number(L, v, k, &r->threshold);
	}
	if (strcmp(k, "min_count") == 0) {
		if ((rc = vg_rules_get_number(L, v, "min_count", &d)) != VG_OK)
			return rc;
		if (d < 0)
			return vg_rules_fail(L, v, "min_count: expected 0 or more");
		r->min_count = (uint64_t)d;
		return VG_OK;
	}
	if (strcmp(k, "of") == 0 && (r->cond == C_ERROR_RATE || r->cond == C_BURN)) {
		const char *s = vg_rules_scalar(v);
		static const char *const ofs[] = {"5xx", "4xx", "both", "level"};

		for (int i = 0; s && i < 4; i++)
			if (strcmp(s, ofs[i]) == 0 && (i != OF_LEVEL || r->cond == C_ERROR_RATE)) {
				r->of = i;
				r->kind = i == OF_LEVEL ? VG_TABLE_LOG : VG_TABLE_HTTP;
				return VG_OK;
			}
		return vg_rules_fail(L, v, "of: expected 5xx, 4xx, both%s", r->cond == C_ERROR_RATE ? " or level" : "");
	}
	if (strcmp(k, "quantile") == 0 && r->cond == C_LATENCY) {
		if ((rc = vg_rules_get_number(L, v, "quantile", &r->quantile)) != VG_OK)
			return rc;
		if (!(r->quantile > 0 && r->quantile < 1))
			return vg_rules_fail(L, v, "quantile: expected a number between 0 and 1 (0.95), got %g",
			                     r->quantile);
		return VG_OK;
	}
	if (strcmp(k, "counter") == 0 && r->cond == C_COUNT) {
		const char *s = vg_rules_scalar(v);

		for (size_t i = 0; s && i < L->env->n_counters; i++)
			if (strcmp(s, L->env->counters[i]) == 0) {
				r->counter = (int)i;
				r->kind = VG_TABLE_COUNTER;
				return VG_OK;
			}
		return vg_rules_fail(L, v, "counter: '%s' is not one of aggregate.counters", s ? s : "?");
	}
	if (strcmp(k, "coverage") == 0 && (r->cond == C_ERROR_RATE || r->cond == C_COUNT))
		return vg_rules_get_duration(L, v, "coverage", &r->coverage_ms);
	if (strcmp(k, "baseline") == 0 && r->cond == C_COUNT)
		return vg_rules_get_duration(L, v, "baseline", &r->baseline_ms);
	/* lookback: the old name, kept as an alias. */
	if ((strcmp(k, "forget_after") == 0 || strcmp(k, "lookback") == 0) && r->cond == C_ABSENT)
		return vg_rules_get_duration(L, v, k, &r->forget_ms);
	if (strcmp(k, "objective") == 0 && r->cond == C_BURN) {
		if ((rc = vg_rules_get_number(L, v, "objective", &r->objective)) != VG_OK)
			return rc;
		if (!(r->objective > 0 && r->objective < 1))
			return vg_rules_fail(L, v, "objective: expected a share between 0 and 1 (0.999)");
		return VG_OK;
	}
	if (strcmp(k, "windows") == 0 && r->cond == C_BURN) {
		if (!v || v->type != YAML_SEQUENCE_NODE)
			return vg_rules_fail(L, v, "burn_rate.windows: expected a list of {long, short, factor}");
		for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
			if (r->n_pairs == MAX_PAIRS)
				return vg_rules_fail(L, v, "burn_rate.windows: at most %d pairs", MAX_PAIRS);
			struct pair *p = &r->pairs[r->n_pairs++];
			yaml_node_t *pn = vg_rules_node(L, *it);

			if ((rc = vg_rules_each_pair(L, pn, "burn_rate.windows", pair_key, p)) != VG_OK)
				return rc;
			if (!p->long_ms || !p->short_ms || !(p->factor > 0) || p->short_ms >= p->long_ms)
				return vg_rules_fail(
				        L, pn, "burn_rate.windows: each pair needs long > short and a factor > 0");
		}
		return VG_OK;
	}
	return vg_rules_fail(L, kn, "unknown key '%s' in this condition", k);
}

static int parse_selector(struct loader *L, struct rule *r, const char *k, yaml_node_t *kn, yaml_node_t *v)
{
	const char *s = vg_rules_scalar(v);
	int label = label_of(k);

	if (label < 0 || !label_allowed(r, label))
		return vg_rules_fail(L, kn, "where: '%s' is not a label of this condition", k);
	if (!s)
		return vg_rules_fail(L, v, "where.%s: expected a string (value, !=value, =~regex, !~regex)", k);
	if (r->n_sels == MAX_SELS)
		return vg_rules_fail(L, kn, "where: at most %d selectors", MAX_SELS);
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

		sl->re = pcre2_compile((PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code, &off, NULL);
		if (!sl->re) {
			PCRE2_UCHAR msg[256];

			pcre2_get_error_message(code, msg, sizeof(msg));
			return vg_rules_fail(L, v, "where.%s: regex at offset %zu: %s", k, (size_t)off, (char *)msg);
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
	const char *s = vg_rules_scalar(v);
	size_t *n = ann ? &r->n_ann : &r->n_labels;

	if (!s)
		return vg_rules_fail(L, v, "%s.%s: expected a string", ann ? "annotations" : "labels", k);
	if (*n == MAX_STATIC)
		return vg_rules_fail(L, kn, "at most %d %s", MAX_STATIC, ann ? "annotations" : "labels");
	if (ann && !template_ok(s))
		return vg_rules_fail(L, v, "annotations.%s: templates may use {{ $value }} and {{ $labels.NAME }} only",
		                     k);
	if (!ann && (strcmp(k, "alertname") == 0 || strcmp(k, "escalation") == 0))
		return vg_rules_fail(L, kn, "labels: '%s' is set by the engine", k);
	if (!ann && strcmp(k, "severity") == 0) {
		if (!(r->severity = severity_of(s)))
			return vg_rules_fail(L, v, "labels.severity: expected P1..P4 (or critical, high, medium, low)");
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
			return vg_rules_fail(L, kn, "one condition per rule (this one has two)");
		struct cond_ctx cc = {.r = r};

		r->cond = c;
		r->kind = c == C_COUNT || c == C_ABSENT ? VG_TABLE_LOG : VG_TABLE_HTTP;
		int rc = vg_rules_each_pair(L, v, k, cond_key, &cc);

		if (rc != VG_OK)
			return rc;
		if (!cc.have_threshold && c != C_ABSENT && c != C_BURN)
			return vg_rules_fail(L, v, "%s: needs 'above' or 'below'", k);
		return VG_OK;
	}
	if (strcmp(k, "alert") == 0) {
		const char *s = vg_rules_scalar(v);

		if (!s || !*s)
			return vg_rules_fail(L, v, "alert: expected a name");
		return (r->name = strdup(s)) ? VG_OK : VG_ERR_NOMEM;
	}
	if (strcmp(k, "for") == 0)
		return vg_rules_get_duration(L, v, "for", &r->for_ms);
	if (strcmp(k, "keep_firing_for") == 0)
		return vg_rules_get_duration(L, v, "keep_firing_for", &r->keep_ms);
	if (strcmp(k, "escalate_after") == 0)
		return vg_rules_get_duration(L, v, "escalate_after", &r->escalate_ms);
	if (strcmp(k, "labels") == 0 || strcmp(k, "annotations") == 0) {
		void *a[2] = {r, k[0] == 'a' ? r : NULL};

		return vg_rules_each_pair(L, v, k, strmap_key, a);
	}
	if (strcmp(k, "where") == 0 || strcmp(k, "by") == 0)
		return VG_OK; /* after the condition, which says which labels exist */
	return vg_rules_fail(L, kn, "unknown key '%s' in a rule", k);
}

/* where and by, once the condition is known. */
static int rule_labels(struct loader *L, yaml_node_t *n, struct rule *r)
{
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = vg_rules_node(L, p->key), *v = vg_rules_node(L, p->value);
		const char *ks = vg_rules_scalar(k);
		int rc;

		if (strcmp(ks, "where") == 0 && (rc = vg_rules_each_pair(L, v, "where", where_key, r)) != VG_OK)
			return rc;
		if (strcmp(ks, "by") != 0)
			continue;
		if (!v || v->type != YAML_SEQUENCE_NODE)
			return vg_rules_fail(L, v, "by: expected a list of labels");
		r->n_by = 0;
		for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
			yaml_node_t *ln = vg_rules_node(L, *it);
			int label = vg_rules_scalar(ln) ? label_of(vg_rules_scalar(ln)) : -1;

			if (label < 0 || !label_allowed(r, label))
				return vg_rules_fail(L, ln, "by: '%s' is not a label of this condition",
					    vg_rules_scalar(ln) ? vg_rules_scalar(ln) : "?");
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
	r->escalate_ms = -1;
	r->objective = 0.999;
	r->n_by = 1; /* by: [service] */
	int rc = vg_rules_each_pair(L, n, "rule", rule_key, r);

	if (rc != VG_OK)
		return rc;
	if (!r->name)
		return vg_rules_fail(L, n, "a rule needs 'alert' (its name)");
	if (r->cond < 0)
		return vg_rules_fail(
		        L, n, "rule %s: needs a condition (error_rate, latency, count, absent or burn_rate)", r->name);
	if (!r->severity)
		return vg_rules_fail(L, n, "rule %s: needs labels.severity (P1..P4)", r->name);
	if ((rc = rule_labels(L, n, r)) != VG_OK)
		return rc;
	if (r->cond == C_BURN) {
		if (!r->n_pairs)
			return vg_rules_fail(L, n, "rule %s: burn_rate needs windows: [{long, short, factor}]",
			                     r->name);
		r->window_ms = r->pairs[0].long_ms;
		for (size_t p = 0; p < r->n_pairs; p++) {
			if (!r->pairs[p].coverage_ms)
				r->pairs[p].coverage_ms = r->pairs[p].short_ms;
			if (r->pairs[p].coverage_ms > r->pairs[p].long_ms)
				return vg_rules_fail(L, n,
				                     "rule %s: burn_rate.windows: coverage is at most the long window",
				                     r->name);
		}
	}
	if (r->coverage_ms && r->cond == C_COUNT && !r->baseline_ms)
		return vg_rules_fail(L, n, "rule %s: count: coverage goes with a baseline", r->name);
	if (r->baseline_ms && r->baseline_ms < r->window_ms)
		return vg_rules_fail(L, n, "rule %s: count: the baseline must be at least the window", r->name);
	if (!r->coverage_ms && (r->cond == C_ERROR_RATE || r->baseline_ms))
		r->coverage_ms = r->window_ms;
	if (r->baseline_ms && r->coverage_ms > r->baseline_ms)
		return vg_rules_fail(L, n, "rule %s: coverage is at most the baseline", r->name);
	if (r->cond == C_ERROR_RATE && r->coverage_ms > r->window_ms)
		return vg_rules_fail(L, n, "rule %s: coverage is at most the window", r->name);
	if (r->window_ms < L->env->window_ms)
		return vg_rules_fail(L, n, "rule %s: needs a window of at least the base window (%lld ms)", r->name,
			    (long long)L->env->window_ms);
	if (r->cond == C_LATENCY && r->window_ms > L->env->ring_ms)
		return vg_rules_fail(
		        L, n, "rule %s: latency windows reach back at most %lld min (quantiles are kept an hour)",
		        r->name, (long long)(L->env->ring_ms / 60000));
	if (r->cond == C_LATENCY && r->quantile == 0)
		return vg_rules_fail(L, n, "rule %s: latency needs a quantile (0.95)", r->name);
	if (r->cond == C_ABSENT && !r->forget_ms)
		r->forget_ms = 24 * 3600000LL;
	if (r->escalate_ms < 0) /* not set: the file's map (0s in either: never) */
		r->escalate_ms = L->escalation[r->severity];
	for (size_t i = 0; i + 1 < rs->n; i++)
		if (strcmp(rs->r[i].name, r->name) == 0)
			return vg_rules_fail(L, n, "rule %s: the name is used twice", r->name);
	return VG_OK;
}

static int escalation_key(struct loader *L, const char *k, yaml_node_t *kn, yaml_node_t *v, void *arg)
{
	int s = severity_of(k);

	(void)arg;
	if (!s)
		return vg_rules_fail(L, kn, "escalation: '%s' is not a severity (P1..P4)", k);
	return vg_rules_get_duration(L, v, "escalation", &L->escalation[s]);
}

static int top_key(struct loader *L, const char *k, yaml_node_t *kn, yaml_node_t *v, void *arg)
{
	struct vg_rules *rs = arg;

	if (strcmp(k, "escalation") == 0)
		return VG_OK; /* read first, in parse_top */
	if (strcmp(k, "groups") != 0)
		return vg_rules_fail(L, kn, "unknown key '%s' (groups, escalation)", k);
	if (!v || v->type != YAML_SEQUENCE_NODE)
		return vg_rules_fail(L, v, "groups: expected a list");
	for (yaml_node_item_t *g = v->data.sequence.items.start; g < v->data.sequence.items.top; g++) {
		yaml_node_t *gn = vg_rules_node(L, *g), *rules = NULL;

		if (!gn || gn->type != YAML_MAPPING_NODE)
			return vg_rules_fail(L, gn, "groups: each group is a mapping with name and rules");
		for (yaml_node_pair_t *p = gn->data.mapping.pairs.start; p < gn->data.mapping.pairs.top; p++) {
			const char *ks = vg_rules_scalar(vg_rules_node(L, p->key));

			if (ks && strcmp(ks, "rules") == 0)
				rules = vg_rules_node(L, p->value);
			else if (!ks || strcmp(ks, "name") != 0)
				return vg_rules_fail(L, vg_rules_node(L, p->key),
				                     "groups: unknown key '%s' (name, rules)", ks ? ks : "?");
		}
		if (!rules || rules->type != YAML_SEQUENCE_NODE)
			return vg_rules_fail(L, gn, "groups: a group needs a list of rules");
		for (yaml_node_item_t *it = rules->data.sequence.items.start; it < rules->data.sequence.items.top;
		     it++) {
			int rc = parse_rule(L, vg_rules_node(L, *it), rs);

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

	if ((rc = vg_config_check_yaml(text, len, name, errbuf, errlen)) != VG_OK)
		return rc;
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
			const char *ks = vg_rules_scalar(vg_rules_node(&L, q->key));

			if (ks && strcmp(ks, "escalation") == 0 &&
			    (rc = vg_rules_each_pair(&L, vg_rules_node(&L, q->value), "escalation", escalation_key,
			                             NULL)) != VG_OK)
				goto out;
		}
	rc = vg_rules_each_pair(&L, root, "rules file", top_key, rs);
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
		char *text;
		size_t len;

		if (!f) {
			snprintf(errbuf, errlen, "%s: %s", files[i], strerror(errno));
			rc = VG_ERR_IO;
			break;
		}
		/* A rule file keeps a configuration file's bounds (core/config.h). */
		rc = vg_config_read(f, files[i], &text, &len, errbuf, errlen);
		fclose(f);
		if (rc == VG_OK)
			rc = parse_into(rs, text ? text : "", len, files[i], env, errbuf, errlen);
		free(text);
	}
	if (rc != VG_OK) {
		vg_rules_destroy(rs);
		return rc;
	}
	*out = rs;
	return VG_OK;
}

int vg_rules_env_make(const struct vg_config *cfg, int64_t window_ms, struct vg_rules_env *env, const char ***names)
{
	if (!(*names = calloc(cfg->n_counters + 1, sizeof(char *))))
		return VG_ERR_NOMEM;
	for (size_t i = 0; i < cfg->n_counters; i++)
		(*names)[i] = cfg->counters[i].name;
	*env = (struct vg_rules_env){.categories = (const char *const *)cfg->categories.v,
				     .n_categories = cfg->categories.n,
				     .counters = *names,
				     .n_counters = cfg->n_counters,
				     .window_ms = window_ms,
				     .ring_ms = VG_RULES_RING_MS};
	return VG_OK;
}

int vg_rules_load_config(struct vg_rules **out, const struct vg_config *cfg, int64_t window_ms, const char ***names,
			 char *errbuf, size_t errlen)
{
	struct vg_rules_env env;
	int rc;

	*out = NULL;
	if ((rc = vg_rules_env_make(cfg, window_ms, &env, names)) != VG_OK) {
		snprintf(errbuf, errlen, "out of memory");
		return rc;
	}
	rc = vg_rules_load(out, (const char *const *)cfg->rule_files.v, cfg->rule_files.n, &env, errbuf, errlen);
	if (rc == VG_ERR_IO) {
		char why[512];

		snprintf(why, sizeof(why), "%s", errbuf);
		snprintf(errbuf, errlen, "%s:%d: rules.files: %s", cfg->source, cfg->rule_files.line, why);
	}
	if (rc != VG_OK) {
		free(*names);
		*names = NULL;
	}
	return rc;
}

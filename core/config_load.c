/* vigil: reading a configuration's YAML into struct vg_config, key by key,
 * as the tables of config_keys.c describe them. See config_internal.h. */
#define _POSIX_C_SOURCE 200809L
#include "core/config_internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"

static int line_of(const struct loader *L, const yaml_node_t *n)
{
	return L->is_default ? 0 : (int)n->start_mark.line + 1;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int fail(struct loader *L, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return vg_config_fail_at(L, line_of(L, n), "%s", msg);
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static bool is_null(const yaml_node_t *n)
{
	const char *s = scalar(n);

	return s && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0);
}

static const char *type_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE: return is_null(n) ? "nothing" : "a scalar";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a mapping";
	default: return "nothing";
	}
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);

	if (d)
		memcpy(d, s, n);
	return d;
}

/* Iterate a mapping's pairs, refusing non-scalar and duplicate keys. */
#define PAIRS_FOR(doc, map, pair)                                                                   \
	for (yaml_node_pair_t *pair = (map)->data.mapping.pairs.start; pair < (map)->data.mapping.pairs.top; pair++)

/* FNV-1a, for the duplicate-key set. */
static uint64_t key_hash(const char *s)
{
	uint64_t h = 14695981039346656037ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Refuse non-scalar and duplicate keys, the second of a pair at its line.
 * Linear: a mapping of more than a few keys goes through a hash set
 * (200,000 kafka.properties took minutes when every pair was compared). */
static int check_mapping_keys(struct loader *L, yaml_node_t *map, const char *what)
{
	size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start), cap = 16;
	const char **set = NULL;
	int rc = VG_OK;

	while (cap < 2 * n)
		cap *= 2;
	if (n > 8 && !(set = calloc(cap, sizeof(*set))))
		return VG_ERR_NOMEM;
	PAIRS_FOR(L->doc, map, a)
	{
		yaml_node_t *k = yaml_document_get_node(L->doc, a->key);
		const char *ks = scalar(k);
		bool dup = false;

		if (!ks) {
			rc = fail(L, k, "%s: keys must be plain names, found %s", what, type_name(k));
			break;
		}
		if (set) {
			size_t i = (size_t)key_hash(ks) & (cap - 1);

			while (set[i] && !(dup = strcmp(set[i], ks) == 0))
				i = (i + 1) & (cap - 1);
			set[i] = ks;
		} else {
			for (yaml_node_pair_t *b = map->data.mapping.pairs.start; b < a && !dup; b++) {
				const char *prev = scalar(yaml_document_get_node(L->doc, b->key));

				dup = prev && strcmp(prev, ks) == 0;
			}
		}
		if (dup) {
			rc = fail(L, k, "%s: duplicate key '%s'", what, ks);
			break;
		}
	}
	free(set);
	return rc;
}

/* One row of a list of rows: a mapping with plain, distinct keys, else
 * "WHAT: each SHAPE, got TYPE". */
static int check_row(struct loader *L, yaml_node_t *n, const char *what, const char *shape)
{
	if (n->type != YAML_MAPPING_NODE)
		return fail(L, n, "%s: each %s, got %s", what, shape, type_name(n));
	return check_mapping_keys(L, n, what);
}

/* A row's category, kept as written (validate() looks it up). */
static int parse_row_category(struct loader *L, yaml_node_t *v, const char *what, char **out)
{
	const char *vs = scalar(v);

	if (!vs || is_null(v))
		return fail(L, v, "%s: category must be a name", what);
	return (*out = xstrdup(vs)) ? VG_OK : VG_ERR_NOMEM;
}

/* A key whose value is a list of rows (mappings) that become an array of
 * structs in struct vg_config: classification rules, retention rows,
 * counters, webhooks. */
struct row_list {
	const char *expected; /* what the value must be: "a list of rules" */
	size_t max;           /* most rows, 0: any number */
	const char *noun;     /* the rows' name in "at most MAX NOUN" */
	size_t size;          /* of one row */
	/* Fill rows[i] from n; rows[0..i) are parsed already. */
	int (*parse)(struct loader *L, yaml_node_t *n, const char *what, void *rows, size_t i);
	/* Free rows[0..n) and the array. */
	void (*free)(void *rows, size_t n);
	/* Free the configuration's array and put rows[0..n) in its place. */
	void (*keep)(struct vg_config *cfg, void *rows, size_t n);
};

static int parse_rows(struct loader *L, yaml_node_t *n, const char *what, const struct row_list *list)
{
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(L, n, "%s: expected %s, got %s", what, list->expected, type_name(n));
	size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);

	if (list->max && cnt > list->max)
		return fail(L, n, "%s: at most %zu %s (%zu given)", what, list->max, list->noun, cnt);
	void *rows = calloc(cnt ? cnt : 1, list->size);
	size_t i = 0;
	int rc;

	if (!rows)
		return VG_ERR_NOMEM;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++, i++) {
		if ((rc = list->parse(L, yaml_document_get_node(L->doc, *it), what, rows, i)) != VG_OK) {
			list->free(rows, i + 1);
			return rc;
		}
	}
	list->keep(L->cfg, rows, cnt);
	return VG_OK;
}

static int parse_uint(struct loader *L, yaml_node_t *n, const char *what, unsigned long long min,
		      unsigned long long max, bool size, unsigned long long *out)
{
	const char *s = scalar(n);
	char *end;

	if (!s || is_null(n) || !isdigit((unsigned char)s[0]))
		return fail(L, n, "%s: expected %s, got %s%s%s", what, size ? "a size (e.g. 1MiB)" : "a whole number",
			    s ? "'" : type_name(n), s ? s : "", s ? "'" : "");
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	unsigned long long mult = 1;

	if (size && *end) {
		if (strcmp(end, "B") == 0)
			mult = 1;
		else if (strcmp(end, "KiB") == 0)
			mult = 1ull << 10;
		else if (strcmp(end, "MiB") == 0)
			mult = 1ull << 20;
		else if (strcmp(end, "GiB") == 0)
			mult = 1ull << 30;
		else
			return fail(L, n, "%s: unknown size unit in '%s' (use B, KiB, MiB or GiB)", what, s);
		end += strlen(end);
	}
	if (*end || errno == ERANGE || (mult > 1 && v > ULLONG_MAX / mult))
		return fail(L, n, "%s: expected %s, got '%s'", what, size ? "a size (e.g. 1MiB)" : "a whole number",
			    s);
	v *= mult;
	if (v < min || v > max)
		return fail(L, n, "%s: %s is out of range (%llu..%llu)", what, s, min, max);
	*out = v;
	return VG_OK;
}

static int parse_duration(struct loader *L, yaml_node_t *n, const char *what, const struct key *key,
			  int64_t *out)
{
	const char *s = scalar(n);
	int64_t v = vg_config_parse_duration(s);

	if (v < 0)
		return fail(L, n, "%s: expected a duration like 500ms, 10s, 5m, 1h or 3d, got %s%s%s", what,
			    s ? "'" : type_name(n), s ? s : "", s ? "'" : "");
	if ((unsigned long long)v < key->min || (unsigned long long)v > key->max)
		return fail(L, n, "%s: %s is out of range (%llums..%llums)", what, s, key->min, key->max);
	*out = v;
	return VG_OK;
}

static int parse_fraction(struct loader *L, yaml_node_t *n, const char *what, double *out)
{
	const char *s = scalar(n);
	char *end;
	double v = s ? strtod(s, &end) : 0;

	if (!s || is_null(n) || end == s || *end)
		return fail(L, n, "%s: expected a number, got %s%s%s", what, s ? "'" : type_name(n), s ? s : "",
			    s ? "'" : "");
	if (!(v > 0 && v < 1))
		return fail(L, n, "%s: %s is out of range (strictly between 0 and 1)", what, s);
	*out = v;
	return VG_OK;
}
static int parse_counter(struct loader *L, yaml_node_t *n, const char *what, void *rows, size_t i)
{
	struct vg_cfg_counter *all = rows, *c = &all[i];
	int rc;

	c->line = line_of(L, n);
	c->category = c->level = c->field = -1;
	if ((rc = check_row(L, n, what, "counter is a mapping {name, match, field, pattern}")) != VG_OK)
		return rc;
	PAIRS_FOR(L->doc, n, pr)
	{
		yaml_node_t *k = yaml_document_get_node(L->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(L->doc, pr->value);
		const char *ks = scalar(k), *vs = scalar(v);

		if (strcmp(ks, "match") == 0) {
			if (v->type != YAML_MAPPING_NODE)
				return fail(L, v, "%s: match must map service/category/level to values", what);
			if ((rc = check_mapping_keys(L, v, what)) != VG_OK)
				return rc;
			PAIRS_FOR(L->doc, v, mp)
			{
				yaml_node_t *mk = yaml_document_get_node(L->doc, mp->key);
				yaml_node_t *mv = yaml_document_get_node(L->doc, mp->value);
				const char *mks = scalar(mk), *mvs = scalar(mv);

				if (!mvs || is_null(mv) || !*mvs)
					return fail(L, mv, "%s: match.%s must be a value", what, mks);
				if (strcmp(mks, "service") == 0) {
					if (!(c->service = xstrdup(mvs)))
						return VG_ERR_NOMEM;
				} else if (strcmp(mks, "category") == 0) {
					if (!(c->category_name = xstrdup(mvs)))
						return VG_ERR_NOMEM;
				} else if (strcmp(mks, "level") == 0) {
					if ((c->level = vg_level_from_name(mvs)) < 0)
						return fail(L, mv, "%s: unknown level '%s'", what, mvs);
				} else {
					return fail(L, mk, "%s: match on unknown label '%s' (service, category, level)",
						    what, mks);
				}
			}
			continue;
		}
		if (!vs || is_null(v) || !*vs)
			return fail(L, v, "%s: %s must be a non-empty string", what, ks);
		if (strcmp(ks, "name") == 0) {
			for (const char *p = vs; *p; p++) {
				if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
					return fail(L, v, "%s: name '%s' must be lower-case letters, digits and '_'",
						    what, vs);
			}
			if (!(c->name = xstrdup(vs)))
				return VG_ERR_NOMEM;
		} else if (strcmp(ks, "field") == 0) {
			if ((c->field = vg_field_from_name(vs)) < 0)
				return fail(L, v, "%s: unknown field '%s'", what, vs);
		} else if (strcmp(ks, "pattern") == 0) {
			if (!(c->pattern = xstrdup(vs)))
				return VG_ERR_NOMEM;
		} else {
			return fail(L, k, "%s: unknown key '%s' (expected name, match, field, pattern)", what, ks);
		}
	}
	if (!c->name)
		return fail(L, n, "%s: counter without a name", what);
	if ((c->pattern != NULL) != (c->field >= 0))
		return fail(L, n, "%s: counter '%s' needs both field and pattern, or neither", what, c->name);
	for (size_t j = 0; j < i; j++) {
		if (strcmp(all[j].name, c->name) == 0)
			return vg_config_fail_at(L, c->line, "%s: name '%s' used twice", what, c->name);
	}
	return VG_OK;
}

static void counters_keep(struct vg_config *cfg, void *rows, size_t n)
{
	vg_config_counters_free(cfg->counters, cfg->n_counters);
	cfg->counters = rows;
	cfg->n_counters = n;
}

static const struct row_list counter_rows = {
	.expected = "a list", .max = VG_MAX_COUNTERS, .noun = "counters", .size = sizeof(struct vg_cfg_counter),
	.parse = parse_counter, .free = vg_config_counters_free, .keep = counters_keep,
};

/* A list or mapping of cnt entries against its key's bound (max 0: none). */
static int check_count(struct loader *L, yaml_node_t *n, const char *what, size_t cnt, unsigned long long max)
{
	if (max && cnt > max)
		return fail(L, n, "%s: at most %llu entries, got %zu", what, max, cnt);
	return VG_OK;
}

static int parse_strlist(struct loader *L, yaml_node_t *n, const char *what, unsigned long long max,
			 struct vg_strlist *out)
{
	struct vg_strlist l = {.line = line_of(L, n)};
	int rc;

	if (n->type != YAML_SEQUENCE_NODE)
		return fail(L, n, "%s: expected a list, got %s", what, type_name(n));
	size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);

	if ((rc = check_count(L, n, what, cnt, max)) != VG_OK)
		return rc;
	l.v = calloc(cnt ? cnt : 1, sizeof(char *));
	l.lines = calloc(cnt ? cnt : 1, sizeof(int));
	if (!l.v || !l.lines) {
		vg_config_strlist_free(&l);
		return VG_ERR_NOMEM;
	}
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *e = yaml_document_get_node(L->doc, *it);
		const char *s = scalar(e);

		if (!s || is_null(e) || !*s) {
			vg_config_strlist_free(&l);
			return fail(L, e, "%s: list items must be non-empty strings, found %s", what, type_name(e));
		}
		if (!(l.v[l.n] = xstrdup(s))) {
			vg_config_strlist_free(&l);
			return VG_ERR_NOMEM;
		}
		l.lines[l.n++] = line_of(L, e);
	}
	vg_config_strlist_free(out);
	*out = l;
	return VG_OK;
}

static int parse_webhook(struct loader *L, yaml_node_t *n, const char *what, void *rows, size_t i)
{
	struct vg_cfg_webhook *w = (struct vg_cfg_webhook *)rows + i;
	int rc;

	w->line = line_of(L, n);
	if ((rc = check_row(L, n, what, "webhook is a mapping {url, secret}")) != VG_OK)
		return rc;
	PAIRS_FOR(L->doc, n, pr)
	{
		yaml_node_t *k = yaml_document_get_node(L->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(L->doc, pr->value);
		const char *ks = scalar(k), *vs = scalar(v);
		char **dst;

		if (strcmp(ks, "url") == 0)
			dst = &w->url;
		else if (strcmp(ks, "secret") == 0)
			dst = &w->secret;
		else
			return fail(L, k, "%s: unknown key '%s' (expected url, secret)", what, ks);
		if (!vs || is_null(v) || !*vs)
			return fail(L, v, "%s: %s must be a non-empty string, got %s", what, ks, type_name(v));
		if (dst == &w->url && strncmp(vs, "http://", 7) != 0 && strncmp(vs, "https://", 8) != 0)
			return fail(L, v, "%s: url '%s' is not an http:// or https:// URL", what, vs);
		if (!(*dst = xstrdup(vs)))
			return VG_ERR_NOMEM;
	}
	if (!w->url)
		return fail(L, n, "%s: webhook without a url", what);
	return VG_OK;
}

static void webhooks_keep(struct vg_config *cfg, void *rows, size_t n)
{
	vg_config_webhooks_free(cfg->notify_webhooks, cfg->n_notify_webhooks);
	cfg->notify_webhooks = rows;
	cfg->n_notify_webhooks = n;
}

static const struct row_list webhook_rows = {
	.expected = "a list of {url, secret}", .max = VG_MAX_WEBHOOKS, .noun = "webhooks",
	.size = sizeof(struct vg_cfg_webhook), .parse = parse_webhook, .free = vg_config_webhooks_free, .keep = webhooks_keep,
};

static int parse_aliases(struct loader *L, yaml_node_t *n, const char *what, unsigned long long max,
			 struct vg_strlist *out, bool lower)
{
	struct vg_strlist l = {.line = line_of(L, n)};
	int rc;

	if (n->type != YAML_MAPPING_NODE)
		return fail(L, n, "%s: expected a mapping, got %s", what, type_name(n));
	size_t cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);

	if ((rc = check_count(L, n, what, cnt, max)) != VG_OK || (rc = check_mapping_keys(L, n, what)) != VG_OK)
		return rc;
	l.v = calloc(2 * cnt + 1, sizeof(char *));
	l.lines = calloc(2 * cnt + 1, sizeof(int));
	if (!l.v || !l.lines) {
		vg_config_strlist_free(&l);
		return VG_ERR_NOMEM;
	}
	PAIRS_FOR(L->doc, n, pr)
	{
		yaml_node_t *v = yaml_document_get_node(L->doc, pr->value);
		const char *ks = scalar(yaml_document_get_node(L->doc, pr->key));
		const char *vs = scalar(v);

		if (!vs || is_null(v)) {
			vg_config_strlist_free(&l);
			return fail(L, v, "%s: '%s' needs a value", what, ks);
		}
		l.v[l.n] = xstrdup(ks);
		l.v[l.n + 1] = xstrdup(vs);
		l.lines[l.n] = line_of(L, yaml_document_get_node(L->doc, pr->key));
		l.lines[l.n + 1] = line_of(L, v);
		l.n += 2;
		if (!l.v[l.n - 2] || !l.v[l.n - 1]) {
			vg_config_strlist_free(&l);
			return VG_ERR_NOMEM;
		}
		for (char *c = l.v[l.n - 2]; lower && *c; c++)
			*c = (char)tolower((unsigned char)*c);
	}
	vg_config_strlist_free(out);
	*out = l;
	return VG_OK;
}

static int parse_rule(struct loader *L, yaml_node_t *n, const char *what, void *rows, size_t i)
{
	struct vg_cfg_rule *r = (struct vg_cfg_rule *)rows + i;
	int rc;

	r->line = line_of(L, n);
	if ((rc = check_row(L, n, what, "rule is a mapping with category and any/all")) != VG_OK)
		return rc;
	yaml_node_t *conds = NULL;

	PAIRS_FOR(L->doc, n, pr)
	{
		yaml_node_t *k = yaml_document_get_node(L->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(L->doc, pr->value);
		const char *ks = scalar(k);

		if (strcmp(ks, "category") == 0) {
			if ((rc = parse_row_category(L, v, what, &r->category)) != VG_OK)
				return rc;
		} else if (strcmp(ks, "any") == 0 || strcmp(ks, "all") == 0) {
			if (conds)
				return fail(L, k, "%s: a rule has either any: or all:, not both", what);
			conds = v;
			r->all = ks[1] == 'l';
		} else {
			return fail(L, k, "%s: unknown key '%s' (expected category, any or all)", what, ks);
		}
	}
	if (!r->category)
		return fail(L, n, "%s: rule without a category", what);
	if (!conds)
		return fail(L, n, "%s: rule for '%s' has neither any: nor all:", what, r->category);
	if (conds->type != YAML_MAPPING_NODE || conds->data.mapping.pairs.top == conds->data.mapping.pairs.start)
		return fail(L, conds, "%s: any:/all: must map field names to patterns, got %s", what,
			    type_name(conds));
	if ((rc = check_mapping_keys(L, conds, what)) != VG_OK)
		return rc;
	size_t cnt = (size_t)(conds->data.mapping.pairs.top - conds->data.mapping.pairs.start);

	if (!(r->conds = calloc(cnt, sizeof(*r->conds))))
		return VG_ERR_NOMEM;
	PAIRS_FOR(L->doc, conds, pr)
	{
		yaml_node_t *k = yaml_document_get_node(L->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(L->doc, pr->value);
		const char *ks = scalar(k), *vs = scalar(v);
		int f = vg_field_from_name(ks);

		if (f < 0)
			return fail(L, k, "%s: unknown field '%s' (fields are the keys of the fields section)",
				    what, ks);
		if (!vs || is_null(v) || !*vs)
			return fail(L, v, "%s: pattern for %s must be a non-empty string", what, ks);
		struct vg_cfg_cond *c = &r->conds[r->n_conds++];

		c->field = f;
		c->line = line_of(L, v);
		if (!(c->pattern = xstrdup(vs)))
			return VG_ERR_NOMEM;
	}
	return VG_OK;
}

static void rules_keep(struct vg_config *cfg, void *rows, size_t n)
{
	vg_config_rules_free(cfg->rules, cfg->n_rules);
	cfg->rules = rows;
	cfg->n_rules = n;
}

/* Counted before a rule is read: the items of the list, each alias one. */
static const struct row_list rule_rows = {
	.expected = "a list of rules", .max = VG_MAX_RULES, .noun = "rules", .size = sizeof(struct vg_cfg_rule),
	.parse = parse_rule, .free = vg_config_rules_free, .keep = rules_keep,
};

static int parse_retention_row(struct loader *L, yaml_node_t *n, const char *what, void *rows, size_t i)
{
	struct vg_cfg_retention *r = (struct vg_cfg_retention *)rows + i;
	bool have_days = false;
	int rc;

	r->line = line_of(L, n);
	r->levels = ~0u;
	if ((rc = check_row(L, n, what, "row is a mapping {category, levels, days}")) != VG_OK)
		return rc;
	PAIRS_FOR(L->doc, n, pr)
	{
		yaml_node_t *k = yaml_document_get_node(L->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(L->doc, pr->value);
		const char *ks = scalar(k);

		if (strcmp(ks, "category") == 0) {
			if ((rc = parse_row_category(L, v, what, &r->category)) != VG_OK)
				return rc;
		} else if (strcmp(ks, "levels") == 0) {
			if (v->type != YAML_SEQUENCE_NODE)
				return fail(L, v, "%s: levels must be a list of level names", what);
			r->levels = 0;
			for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
			     it++) {
				yaml_node_t *e = yaml_document_get_node(L->doc, *it);
				const char *es = scalar(e);
				int lv = es ? vg_level_from_name(es) : -1;

				if (lv < 0)
					return fail(L, e,
						    "%s: unknown level '%s' (TRACE, DEBUG, INFO, WARNING, ERROR, CRITICAL, "
						    "UNKNOWN)",
						    what, es ? es : type_name(e));
				r->levels |= 1u << lv;
			}
		} else if (strcmp(ks, "days") == 0) {
			unsigned long long d;

			if ((rc = parse_uint(L, v, "retention.policy: days", 1, 36500, false, &d)) != VG_OK)
				return rc;
			r->days = (unsigned)d;
			have_days = true;
		} else {
			return fail(L, k, "%s: unknown key '%s' (expected category, levels, days)", what, ks);
		}
	}
	if (!have_days)
		return fail(L, n, "%s: row without days", what);
	return VG_OK;
}

static void retention_keep(struct vg_config *cfg, void *rows, size_t n)
{
	vg_config_retention_free(cfg->retention, cfg->n_retention);
	cfg->retention = rows;
	cfg->n_retention = n;
}

static const struct row_list retention_rows = {
	.expected = "a list of rows", .size = sizeof(struct vg_cfg_retention), .parse = parse_retention_row,
	.free = vg_config_retention_free, .keep = retention_keep,
};

static int apply_key(struct loader *L, const struct section *sec, const struct key *key, yaml_node_t *v)
{
	char what[128];
	void *dst = (char *)L->cfg + key->off;
	unsigned long long u;
	int rc;

	snprintf(what, sizeof(what), "%s.%s", sec->name, key->name);
	if (key->line_off != NO_LINE)
		*(int *)(void *)((char *)L->cfg + key->line_off) = line_of(L, v);
	switch (key->type) {
	case K_UINT:
	case K_SIZE:
		if ((rc = parse_uint(L, v, what, key->min, key->max, key->type == K_SIZE, &u)) != VG_OK)
			return rc;
		if (key->type == K_SIZE)
			*(size_t *)dst = (size_t)u;
		else
			*(unsigned *)dst = (unsigned)u; /* K_UINT ranges stay below UINT_MAX */
		return VG_OK;
	case K_STRING:
	case K_OPTSTRING: {
		const char *s = scalar(v);
		char *d;

		if (key->type == K_OPTSTRING && is_null(v)) {
			free(*(char **)dst);
			*(char **)dst = NULL;
			return VG_OK;
		}
		if (!s || is_null(v) || !*s)
			return fail(L, v, "%s: expected a non-empty string, got %s", what, type_name(v));
		if (!(d = xstrdup(s)))
			return VG_ERR_NOMEM;
		free(*(char **)dst);
		*(char **)dst = d;
		return VG_OK;
	}
	case K_STRLIST: return parse_strlist(L, v, what, key->max, dst);
	case K_ALIASES: return parse_aliases(L, v, what, key->max, dst, true);
	case K_STRMAP: return parse_aliases(L, v, what, key->max, dst, false);
	case K_RULES: return parse_rows(L, v, what, &rule_rows);
	case K_RETENTION: return parse_rows(L, v, what, &retention_rows);
	case K_DURATION: return parse_duration(L, v, what, key, dst);
	case K_FRACTION: return parse_fraction(L, v, what, dst);
	case K_COUNTERS: return parse_rows(L, v, what, &counter_rows);
	case K_WEBHOOKS: return parse_rows(L, v, what, &webhook_rows);
	case K_LOGLEVEL: {
		int level = scalar(v) && !is_null(v) ? vg_log_level_from_name(scalar(v)) : -1;

		if (level < 0)
			return fail(L, v, "%s: expected debug, info, warning or error, got '%s'", what,
				    scalar(v) ? scalar(v) : type_name(v));
		*(int *)dst = level;
		return VG_OK;
	}
	}
	return VG_ERR_INVALID;
}

/* Apply a mapping of keys: a section's, or the sub-keys under parent. */
static int apply_keys(struct loader *L, const struct section *sec, const char *parent, yaml_node_t *map)
{
	char where[128], names[512];
	int rc;

	snprintf(where, sizeof(where), "%s%s%s", sec->name, parent ? "." : "", parent ? parent : "");
	if ((rc = check_mapping_keys(L, map, where)) != VG_OK)
		return rc;
	PAIRS_FOR(L->doc, map, kp)
	{
		yaml_node_t *kk = yaml_document_get_node(L->doc, kp->key);
		yaml_node_t *kv = yaml_document_get_node(L->doc, kp->value);
		const char *ks = scalar(kk);
		const struct key *key = vg_config_keys_find(sec, parent, ks);

		if (!key && !parent && vg_config_keys_is_parent(sec, ks)) {
			if (is_null(kv))
				continue;
			if (kv->type != YAML_MAPPING_NODE)
				return fail(L, kv, "%s.%s must be a mapping of keys, got %s", where, ks, type_name(kv));
			if ((rc = apply_keys(L, sec, ks, kv)) != VG_OK)
				return rc;
			continue;
		}
		if (!key) {
			vg_config_keys_list(names, sizeof(names), sec, parent);
			return fail(L, kk, "unknown key '%s' in %s%s (expected one of: %s)", ks,
				    parent ? "" : "section ", where, names);
		}
		if ((rc = apply_key(L, sec, key, kv)) != VG_OK)
			return rc;
	}
	return VG_OK;
}

static int apply_document(struct loader *L)
{
	yaml_node_t *root = yaml_document_get_root_node(L->doc);
	char names[512];
	int rc;

	if (!root || is_null(root))
		return VG_OK; /* an empty file: all defaults */
	if (root->type != YAML_MAPPING_NODE)
		return fail(L, root, "the top level must be a mapping of sections, got %s", type_name(root));
	if ((rc = check_mapping_keys(L, root, "top level")) != VG_OK)
		return rc;
	PAIRS_FOR(L->doc, root, sp)
	{
		yaml_node_t *sk = yaml_document_get_node(L->doc, sp->key);
		yaml_node_t *sv = yaml_document_get_node(L->doc, sp->value);
		const struct section *sec = vg_config_keys_section(scalar(sk));

		if (!sec) {
			vg_config_keys_list(names, sizeof(names), NULL, NULL);
			return fail(L, sk, "unknown section '%s' (expected one of: %s)", scalar(sk), names);
		}
		if (is_null(sv))
			continue;
		if (sv->type != YAML_MAPPING_NODE)
			return fail(L, sv, "section %s must be a mapping of keys, got %s", sec->name, type_name(sv));
		if ((rc = apply_keys(L, sec, NULL, sv)) != VG_OK)
			return rc;
	}
	return VG_OK;
}

int vg_config_load_text(struct loader *L, const char *text, size_t len)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int rc;

	if ((rc = vg_config_check_yaml(text, len, L->name, L->err, L->errlen)) != VG_OK)
		return rc;
	if (!yaml_parser_initialize(&parser))
		return VG_ERR_NOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		int line = (int)parser.problem_mark.line + 1;

		rc = vg_config_fail_at(L, L->is_default ? 0 : line, "YAML syntax: %s%s%s",
			     parser.problem ? parser.problem : "unknown error", parser.context ? " " : "",
			     parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		return rc;
	}
	L->doc = &doc;
	rc = apply_document(L);
	/* A second document in one file is almost certainly a mistake. */
	if (rc == VG_OK) {
		yaml_document_t extra;

		if (yaml_parser_load(&parser, &extra)) {
			if (yaml_document_get_root_node(&extra))
				rc = vg_config_fail_at(L, (int)extra.start_mark.line + 1,
					     "more than one YAML document; vigil reads one");
			yaml_document_delete(&extra);
		}
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	L->doc = NULL;
	return rc;
}

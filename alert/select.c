/* vigil: which table entries an alert rule takes (see select.h). */
#include "alert/select.h"

#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/log.h"
#include "core/record.h"
#include "parse/classify.h"

int vg_select_init(struct vg_select *s)
{
	memset(s, 0, sizeof(*s));
	s->md = pcre2_match_data_create(8, NULL);
	s->mctx = pcre2_match_context_create(NULL);
	if (!s->md || !s->mctx)
		return VG_ERR_NOMEM;
	pcre2_set_match_limit(s->mctx, VG_SELECT_MATCH_LIMIT);
	pcre2_set_depth_limit(s->mctx, VG_SELECT_DEPTH_LIMIT);
	pcre2_set_heap_limit(s->mctx, VG_CLASSIFY_HEAP_KIB);
	return VG_OK;
}

void vg_select_free(struct vg_select *s)
{
	pcre2_match_data_free(s->md);
	pcre2_match_context_free(s->mctx);
	s->md = NULL;
	s->mctx = NULL;
}

/* The labels of one table entry. */
static vg_str entry_label(const struct vg_rules_env *env, const struct vg_table_entry *e, int label)
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

static bool regex(struct vg_select *x, const struct rule *r, const struct sel *s, vg_str v)
{
	int rc = pcre2_match(s->re, (PCRE2_SPTR)(v.p ? v.p : ""), v.len, 0, 0, x->md, x->mctx);

	if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
		x->limit_hits++;
		if ((x->limit_hits & (x->limit_hits - 1)) == 0) {
			PCRE2_UCHAR why[128];

			pcre2_get_error_message(rc, why, sizeof(why));
			vg_log(VG_LOG_WARNING, "alert",
			       "rule %s: where.%s's pattern stopped (%s; at most %d steps from a position) on '%.*s': "
			       "counted as not matching (%llu times so far)",
			       r->name, vg_rules_label_names[s->label], (const char *)why, VG_SELECT_MATCH_LIMIT,
			       (int)(v.len > 200 ? 200 : v.len), v.p ? v.p : "", (unsigned long long)x->limit_hits);
		}
		return false;
	}
	return rc >= 0;
}

bool vg_select_takes(struct vg_select *x, const struct vg_rules_env *env, const struct rule *r,
		     const struct vg_table_entry *e)
{
	if (e->key.kind != r->kind || (r->kind == VG_TABLE_COUNTER && (int)e->key.counter != r->counter))
		return false;
	for (size_t i = 0; i < r->n_sels; i++) {
		const struct sel *s = &r->sels[i];
		vg_str v = entry_label(env, e, s->label);
		bool hit;

		if (s->op == OP_EQ || s->op == OP_NE)
			hit = s->label == L_LEVEL ? v.len == strlen(s->value) && strncasecmp(v.p, s->value, v.len) == 0
						  : vg_str_eq_cstr(v, s->value);
		else
			hit = regex(x, r, s, v);
		if (hit != (s->op == OP_EQ || s->op == OP_RE))
			return false;
	}
	return true;
}

size_t vg_select_group_key(const struct vg_rules_env *env, const struct rule *r, const struct vg_table_entry *e,
			   char *key)
{
	size_t len = 0;

	for (size_t b = 0; b < r->n_by; b++) {
		vg_str v = entry_label(env, e, r->by[b]);
		size_t take = v.len < VG_SELECT_KEY_MAX / L_COUNT - 1 ? v.len : VG_SELECT_KEY_MAX / L_COUNT - 1;

		memcpy(key + len, v.p, take);
		len += take;
		key[len++] = '\0';
	}
	return len;
}

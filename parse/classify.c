#include "parse/classify.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "parse/endpoint.h"
#include "parse/json.h"
#include "parse/level.h"

/* A pattern compiled twice: as written, and with an automatic callout
 * before each of its items, which counts the steps of the run's budget
 * (classify.regex_run_limit + VG_REGEX_STEPS_PER_BYTE a byte of the
 * subject). PCRE2's own match limit restarts at every start position, so
 * it cannot bound what a run on a long field costs; the callouts can, at
 * three to six times the cost of a plain run. So a subject runs the plain
 * copy first under a small limit from each position (FAST_STEPS), which
 * bounds it to FAST_STEPS steps a byte, and runs counted only when that
 * limit is reached. Each run has its own budget: its outcome depends on
 * the pattern and the subject only, never on the record's other runs (so
 * the memo holds). counted is NULL when the callouts made the pattern too
 * large to compile: it then runs plain under the match limit alone. */
struct pattern {
	pcre2_code *plain;
	pcre2_code *counted;
};

/* The plain run's limit from each start position: the shipped rules take
 * at most 3 on the benchmark corpus with the JIT (about 10 with the
 * interpreter, whose depth limit is the same). */
#define FAST_STEPS 16

struct cond {
	int field;
	struct pattern re;
};

struct rule {
	int category;
	bool all;
	struct cond *conds;
	size_t n_conds;
};

struct vg_classifier {
	const struct vg_config *cfg;
	struct rule *rules;
	size_t n_rules;
	struct pattern counter_re[VG_MAX_COUNTERS]; /* NULL codes: the counter has no pattern */
	uint16_t *retention; /* [category][level] */
	size_t n_categories;
	bool jit;
	uint32_t fields_used; /* bit per field any rule reads */
	/* Resolved once, so that a record compares lengths and bytes only:
	 * every category name and alias with the category it names, the
	 * default category, and each counter's service (empty: any). */
	struct cat_name {
		vg_str name;
		int category;
	} *cat_names;
	size_t n_cat_names;
	int default_category;
	vg_str counter_service[VG_MAX_COUNTERS];
};

/* The last outcome of a pattern on a short subject, so that repeated
 * values (a logger name, a short message) run their regex once: logger
 * names repeat on nearly every record, and their rule is most often the
 * one that decides. Direct-mapped, per context (one thread): no lock. */
#define MEMO_SLOTS 1024 /* a power of two */
#define MEMO_KEY 46     /* longest subject remembered */

struct memo {
	const struct pattern *re; /* NULL: empty */
	uint8_t len;
	uint8_t hit;
	char key[MEMO_KEY];
};

struct vg_classify_ctx {
	const struct vg_classifier *c;
	struct memo *memo;
	pcre2_match_data *md;
	pcre2_match_context *mctx;      /* counted runs: the callout, the configured limits */
	pcre2_match_context *mctx_fast; /* plain runs: FAST_STEPS */
	pcre2_jit_stack *jit_stack;
	uint64_t steps_left; /* of the counted run under way: past it, it is abandoned */
	char *scratch;
	size_t scratch_cap, scratch_used;
	/* Decoded text of each field for this record, filled on first use. */
	vg_str text[VG_F_COUNT];
	uint32_t text_ready;
	struct vg_classify_stats stats;
};

static void pattern_free(struct pattern *p)
{
	pcre2_code_free(p->plain);
	pcre2_code_free(p->counted);
	p->plain = p->counted = NULL;
}

/* Compile src into p, both copies, JIT where it can (*jit turns false where
 * it cannot: the interpreter runs the same patterns, only slower). Returns
 * 0, or the PCRE2 error code with *off where the pattern went wrong. */
static int pattern_compile(struct pattern *p, const char *src, bool *jit, PCRE2_SIZE *off)
{
	const uint32_t opts = PCRE2_UTF | PCRE2_NO_UTF_CHECK;
	int err;

	p->plain = pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED, opts, &err, off, NULL);
	if (!p->plain)
		return err;
	/* The callouts make a pattern about 3.7 times as large: one that
	 * compiles plain may not compile counted ("regular expression is too
	 * large"). It is kept, without the run's budget. */
	p->counted = pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED, opts | PCRE2_AUTO_CALLOUT, &err, off, NULL);
	if (*jit && (pcre2_jit_compile(p->plain, PCRE2_JIT_COMPLETE) != 0 ||
		     (p->counted && pcre2_jit_compile(p->counted, PCRE2_JIT_COMPLETE) != 0)))
		*jit = false;
	return 0;
}

static void rules_free(struct rule *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < r[i].n_conds; j++)
			pattern_free(&r[i].conds[j].re);
		free(r[i].conds);
	}
	free(r);
}

void vg_classifier_destroy(struct vg_classifier *c)
{
	if (!c)
		return;
	rules_free(c->rules, c->n_rules);
	for (size_t i = 0; i < VG_MAX_COUNTERS; i++)
		pattern_free(&c->counter_re[i]);
	free(c->retention);
	free(c->cat_names);
	free(c);
}

static void build_retention(struct vg_classifier *c)
{
	const struct vg_config *cfg = c->cfg;

	for (size_t cat = 0; cat < c->n_categories; cat++) {
		for (int lv = 0; lv < VG_LEVEL_COUNT; lv++) {
			unsigned days = cfg->retention_default_days;

			for (size_t i = 0; i < cfg->n_retention; i++) {
				const struct vg_cfg_retention *r = &cfg->retention[i];

				if ((!r->category || strcmp(r->category, cfg->categories.v[cat]) == 0) &&
				    (r->levels & (1u << lv))) {
					days = r->days;
					break;
				}
			}
			c->retention[cat * VG_LEVEL_COUNT + (size_t)lv] = (uint16_t)days;
		}
	}
}

int vg_classifier_create(struct vg_classifier **out, const struct vg_config *cfg, char *errbuf,
			 size_t errlen)
{
	struct vg_classifier *c = calloc(1, sizeof(*c));
	uint32_t jit_ok = 0;
	int rc = VG_ERR_NOMEM;

	*out = NULL;
	if (!c)
		return VG_ERR_NOMEM;
	c->cfg = cfg;
	c->n_categories = cfg->categories.n;
	pcre2_config(PCRE2_CONFIG_JIT, &jit_ok);
	c->jit = jit_ok != 0;
	c->retention = calloc(c->n_categories * VG_LEVEL_COUNT, sizeof(*c->retention));
	c->rules = calloc(cfg->n_rules ? cfg->n_rules : 1, sizeof(*c->rules));
	c->cat_names = calloc(cfg->categories.n + cfg->aliases.n / 2 + 1, sizeof(*c->cat_names));
	if (!c->retention || !c->rules || !c->cat_names)
		goto out_free;
	build_retention(c);
	for (size_t i = 0; i < cfg->categories.n; i++)
		c->cat_names[c->n_cat_names++] = (struct cat_name){vg_str_cstr(cfg->categories.v[i]), (int)i};
	for (size_t i = 0; i + 1 < cfg->aliases.n; i += 2)
		c->cat_names[c->n_cat_names++] = (struct cat_name){vg_str_cstr(cfg->aliases.v[i]),
								    vg_config_category_index(cfg, cfg->aliases.v[i + 1])};
	c->default_category = vg_config_category_index(cfg, cfg->default_category);
	for (size_t i = 0; i < cfg->n_counters; i++)
		c->counter_service[i] = cfg->counters[i].service ? vg_str_cstr(cfg->counters[i].service) : VG_STR_NULL;
	for (size_t i = 0; i < cfg->n_rules; i++) {
		const struct vg_cfg_rule *cr = &cfg->rules[i];
		struct rule *r = &c->rules[i];

		c->n_rules = i + 1;
		r->category = vg_config_category_index(cfg, cr->category);
		r->all = cr->all;
		if (!(r->conds = calloc(cr->n_conds, sizeof(*r->conds))))
			goto out_free;
		for (size_t j = 0; j < cr->n_conds; j++) {
			const struct vg_cfg_cond *cc = &cr->conds[j];
			PCRE2_SIZE off;

			r->conds[j].field = cc->field;
			c->fields_used |= 1u << cc->field;
			int err = pattern_compile(&r->conds[j].re, cc->pattern, &c->jit, &off);

			r->n_conds = j + 1;
			if (err) {
				PCRE2_UCHAR msg[256];

				pcre2_get_error_message(err, msg, sizeof(msg));
				snprintf(errbuf, errlen, "%s:%d: classify.rules: bad pattern for %s at offset %zu: %s",
					 cfg->source, cc->line, vg_field_name(cc->field), (size_t)off, (char *)msg);
				rc = VG_ERR_CONFIG;
				goto out_free;
			}
		}
	}
	for (size_t i = 0; i < cfg->n_counters; i++) {
		const struct vg_cfg_counter *k = &cfg->counters[i];
		PCRE2_SIZE off;

		if (!k->pattern)
			continue;
		if (pattern_compile(&c->counter_re[i], k->pattern, &c->jit, &off) != 0) {
			snprintf(errbuf, errlen, "%s:%d: aggregate.counters: bad pattern in '%s'", cfg->source, k->line,
				 k->name);
			rc = VG_ERR_CONFIG;
			goto out_free;
		}
	}
	*out = c;
	return VG_OK;

out_free:
	vg_classifier_destroy(c);
	return rc;
}

unsigned vg_classifier_retention(const struct vg_classifier *c, int category, int level)
{
	if (category < 0 || (size_t)category >= c->n_categories || level < 0 || level >= VG_LEVEL_COUNT)
		return c->cfg->retention_default_days;
	return c->retention[(size_t)category * VG_LEVEL_COUNT + (size_t)level];
}

const char *vg_classifier_category_name(const struct vg_classifier *c, int i)
{
	if (i < 0 || (size_t)i >= c->n_categories)
		return "unknown";
	return c->cfg->categories.v[i];
}

size_t vg_classifier_category_count(const struct vg_classifier *c)
{
	return c->n_categories;
}

/* The callout before each item of a counted pattern: one step of the
 * run's budget; past it, the run is abandoned. */
static int count_step(pcre2_callout_block *cb, void *data)
{
	struct vg_classify_ctx *ctx = data;

	(void)cb;
	if (ctx->steps_left == 0)
		return PCRE2_ERROR_CALLOUT;
	ctx->steps_left--;
	return 0;
}

int vg_classify_ctx_create(struct vg_classify_ctx **out, const struct vg_classifier *c)
{
	struct vg_classify_ctx *ctx = calloc(1, sizeof(*ctx));

	*out = NULL;
	if (!ctx)
		return VG_ERR_NOMEM;
	ctx->c = c;
	ctx->md = pcre2_match_data_create(4, NULL);
	ctx->mctx = pcre2_match_context_create(NULL);
	ctx->mctx_fast = pcre2_match_context_create(NULL);
	if (c->jit)
		ctx->jit_stack = pcre2_jit_stack_create(32 * 1024, VG_CLASSIFY_JIT_STACK_KIB * 1024, NULL);
	ctx->scratch_cap = 64 * 1024;
	ctx->scratch = malloc(ctx->scratch_cap);
	ctx->memo = calloc(MEMO_SLOTS, sizeof(*ctx->memo));
	if (!ctx->md || !ctx->mctx || !ctx->mctx_fast || (c->jit && !ctx->jit_stack) || !ctx->scratch || !ctx->memo) {
		vg_classify_ctx_destroy(ctx);
		return VG_ERR_NOMEM;
	}
	pcre2_set_match_limit(ctx->mctx, c->cfg->regex_match_limit);
	pcre2_set_depth_limit(ctx->mctx, c->cfg->regex_depth_limit);
	pcre2_set_heap_limit(ctx->mctx, VG_CLASSIFY_HEAP_KIB);
	pcre2_set_callout(ctx->mctx, count_step, ctx);
	pcre2_set_match_limit(ctx->mctx_fast, FAST_STEPS);
	pcre2_set_depth_limit(ctx->mctx_fast, FAST_STEPS);
	pcre2_set_heap_limit(ctx->mctx_fast, VG_CLASSIFY_HEAP_KIB);
	if (ctx->jit_stack) {
		pcre2_jit_stack_assign(ctx->mctx, NULL, ctx->jit_stack);
		pcre2_jit_stack_assign(ctx->mctx_fast, NULL, ctx->jit_stack);
	}
	*out = ctx;
	return VG_OK;
}

void vg_classify_ctx_destroy(struct vg_classify_ctx *ctx)
{
	if (!ctx)
		return;
	pcre2_match_data_free(ctx->md);
	pcre2_match_context_free(ctx->mctx);
	pcre2_match_context_free(ctx->mctx_fast);
	pcre2_jit_stack_free(ctx->jit_stack);
	free(ctx->scratch);
	free(ctx->memo);
	free(ctx);
}

const struct vg_classify_stats *vg_classify_ctx_stats(const struct vg_classify_ctx *ctx)
{
	return &ctx->stats;
}

void vg_classify_stats_add(struct vg_classify_stats *sum, const struct vg_classify_stats *s)
{
	sum->unknown_level += s->unknown_level;
	sum->unknown_category += s->unknown_category;
	sum->regex_limit += s->regex_limit;
	sum->regex_memo += s->regex_memo;
}

void vg_classify_put_summary(struct vg_buf *b, const struct vg_classify_stats *s)
{
	vg_buf_puts(b, ",\"regex_limit_hits\":");
	vg_buf_put_u64(b, s->regex_limit);
}

/* Make sure scratch holds everything one record can need: every decoded
 * string is no longer than its raw bytes, plus the endpoint and method.
 * Called at the start of a record, so growing moves no live view; it
 * happens only for records larger than any seen before. */
static int scratch_reserve(struct vg_classify_ctx *ctx, const struct vg_record *rec)
{
	/* Extracted strings do not overlap, so together they are shorter
	 * than the record. */
	size_t need = rec->raw.len + VG_ENDPOINT_MAX + 16;

	ctx->scratch_used = 0;
	if (need <= ctx->scratch_cap)
		return VG_OK;
	size_t cap = ctx->scratch_cap;

	while (cap < need)
		cap *= 2;
	char *s = malloc(cap);

	if (!s)
		return VG_ERR_NOMEM;
	free(ctx->scratch);
	ctx->scratch = s;
	ctx->scratch_cap = cap;
	return VG_OK;
}

/* n bytes of scratch; scratch_reserve() made room for them. */
static char *scratch_take(struct vg_classify_ctx *ctx, size_t n)
{
	if (ctx->scratch_used + n > ctx->scratch_cap)
		return NULL;
	char *p = ctx->scratch + ctx->scratch_used;

	ctx->scratch_used += n;
	return p;
}

/* The text of a field for matching: raw bytes, or decoded when escaped. */
static vg_str field_text(struct vg_classify_ctx *ctx, const struct vg_record *rec, int f)
{
	const struct vg_value *v = &rec->f[f];

	if (ctx->text_ready & (1u << f))
		return ctx->text[f];
	vg_str t = v->raw;

	if (v->type == VG_J_STRING && (v->flags & VG_V_ESCAPED)) {
		char *d = scratch_take(ctx, v->raw.len);

		t = d ? vg_str_make(d, vg_json_decode(v->raw, d)) : VG_STR_NULL;
	}
	ctx->text[f] = t;
	ctx->text_ready |= 1u << f;
	return t;
}

static size_t memo_slot(const struct pattern *re, vg_str s)
{
	const uint64_t k = 0x9E3779B97F4A7C15ull;
	uint64_t h = ((uint64_t)(uintptr_t)re ^ s.len) * k;
	size_t i = 0;

	for (; i + 8 <= s.len; i += 8)
		h = (h ^ vg_load_tail(s.p + i, 8)) * k;
	if (i < s.len)
		h = (h ^ vg_load_tail(s.p + i, s.len - i)) * k;
	return (size_t)(h >> 54) & (MEMO_SLOTS - 1);
}

static int run(const struct vg_classify_ctx *ctx, const pcre2_code *re, vg_str s, pcre2_match_context *mctx)
{
	PCRE2_SPTR p = (PCRE2_SPTR)(s.p ? s.p : "");

	if (ctx->c->jit)
		return pcre2_jit_match(re, p, s.len, 0, 0, ctx->md, mctx);
	return pcre2_match(re, p, s.len, 0, PCRE2_NO_UTF_CHECK, ctx->md, mctx);
}

/* Does re match s? A run stopped by a limit counts in regex_limit and is
 * no match. */
static int match(struct vg_classify_ctx *ctx, const struct pattern *re, vg_str s)
{
	struct memo *m = NULL;
	int rc;

	if (s.len <= MEMO_KEY && s.p) {
		m = &ctx->memo[memo_slot(re, s)];
		if (m->re == re && m->len == s.len && memcmp(m->key, s.p, s.len) == 0) {
			ctx->stats.regex_memo++;
			return m->hit;
		}
	}
	rc = run(ctx, re->plain, s, ctx->mctx_fast);
	if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT) {
		ctx->steps_left = ctx->c->cfg->regex_run_limit + (uint64_t)VG_REGEX_STEPS_PER_BYTE * s.len;
		rc = run(ctx, re->counted ? re->counted : re->plain, s, ctx->mctx);
	}
	if (rc != PCRE2_ERROR_NOMATCH && rc < 0) {
		ctx->stats.regex_limit++; /* not remembered: a limit is no answer */
		return 0;
	}
	if (m) {
		m->re = re;
		m->len = (uint8_t)s.len;
		m->hit = rc >= 0;
		memcpy(m->key, s.p, s.len);
	}
	return rc >= 0;
}

static int category_from_rules(struct vg_classify_ctx *ctx, const struct vg_record *rec)
{
	const struct vg_classifier *c = ctx->c;

	for (size_t i = 0; i < c->n_rules; i++) {
		const struct rule *r = &c->rules[i];
		bool hit = r->all;

		for (size_t j = 0; j < r->n_conds; j++) {
			const struct cond *cd = &r->conds[j];
			bool m = rec->f[cd->field].type != VG_J_NONE &&
				 match(ctx, &cd->re, field_text(ctx, rec, cd->field));

			if (r->all && !m) {
				hit = false;
				break;
			}
			if (!r->all && m) {
				hit = true;
				break;
			}
		}
		if (hit)
			return r->category;
	}
	return -1;
}

/* The category a record names itself, or -1 (unknown value or none). */
static int category_given(struct vg_classify_ctx *ctx, const struct vg_record *rec)
{
	const struct vg_classifier *c = ctx->c;
	const struct vg_value *v = &rec->f[VG_F_CATEGORY];
	char low[72];

	if (v->type != VG_J_STRING)
		return -1;
	vg_str t = field_text(ctx, rec, VG_F_CATEGORY);

	while (t.len && (t.p[0] == ' ' || t.p[0] == '\t')) {
		t.p++;
		t.len--;
	}
	while (t.len && (t.p[t.len - 1] == ' ' || t.p[t.len - 1] == '\t'))
		t.len--;
	if (t.len == 0 || t.len >= sizeof(low))
		return -1;
	for (size_t i = 0; i < t.len; i++)
		low[i] = (char)vg_ascii_lower((unsigned char)t.p[i]);
	vg_str l = vg_str_make(low, t.len);

	for (size_t i = 0; i < c->n_cat_names; i++) {
		if (vg_str_eq(l, c->cat_names[i].name))
			return c->cat_names[i].category;
	}
	return -1;
}

/* A number from a number value or a numeric string ("500", "12.5"). */
static double value_number(const struct vg_value *v)
{
	if (v->type == VG_J_NUMBER)
		return v->num;
	if (v->type != VG_J_STRING || v->raw.len == 0 || v->raw.len > 32 || (v->flags & VG_V_ESCAPED))
		return NAN;
	char tmp[40];
	char *end;

	memcpy(tmp, v->raw.p, v->raw.len);
	tmp[v->raw.len] = '\0';
	double d = strtod(tmp, &end);

	return (*end == '\0' && end != tmp) ? d : NAN;
}

/* The record's event time, or VG_TIME_NONE with *why saying why. A JSON
 * number is read from its text, not its double, so that a nanosecond epoch
 * (beyond a double's 53 bits) still truncates to the right millisecond. */
static int64_t value_time(struct vg_classify_ctx *ctx, const struct vg_record *rec, enum vg_time_err *why)
{
	const struct vg_value *v = &rec->f[VG_F_TIME];
	vg_str t;

	switch (v->type) {
	case VG_J_NONE:
	case VG_J_NULL:
		*why = VG_TIME_ABSENT;
		return VG_TIME_NONE;
	case VG_J_NUMBER:
		return vg_clock_parse_time(v->raw.p, v->raw.len, why);
	case VG_J_STRING:
		t = field_text(ctx, rec, VG_F_TIME);
		return vg_clock_parse_time(t.p, t.len, why);
	default:
		*why = VG_TIME_TYPE;
		return VG_TIME_NONE;
	}
}

/* A decoded string value in scratch (or a raw view when unescaped). */
static vg_str value_string(struct vg_classify_ctx *ctx, const struct vg_record *rec, int f)
{
	const struct vg_value *v = &rec->f[f];

	if (v->type == VG_J_STRING)
		return field_text(ctx, rec, f);
	if (v->type == VG_J_NUMBER)
		return v->raw;
	return VG_STR_NULL;
}

static vg_str value_method(struct vg_classify_ctx *ctx, const struct vg_record *rec)
{
	vg_str m = value_string(ctx, rec, VG_F_METHOD);
	char *d;

	if (m.len == 0 || m.len > 16 || !(d = scratch_take(ctx, m.len)))
		return VG_STR_NULL;
	for (size_t i = 0; i < m.len; i++) {
		unsigned char ch = (unsigned char)m.p[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')))
			return VG_STR_NULL;
		d[i] = (char)(ch & ~0x20);
	}
	return vg_str_make(d, m.len);
}

/* Which aggregate.counters the record matches. */
static uint32_t match_counters(struct vg_classify_ctx *ctx, const struct vg_record *rec)
{
	const struct vg_config *cfg = ctx->c->cfg;
	uint32_t bits = 0;

	for (size_t i = 0; i < cfg->n_counters; i++) {
		const struct vg_cfg_counter *k = &cfg->counters[i];

		if ((k->category >= 0 && k->category != rec->category) || (k->level >= 0 && k->level != rec->level) ||
		    (k->service && !vg_str_eq(rec->service, ctx->c->counter_service[i])))
			continue;
		if (k->field >= 0 && (rec->f[k->field].type == VG_J_NONE ||
				      !match(ctx, &ctx->c->counter_re[i], field_text(ctx, rec, k->field))))
			continue;
		bits |= 1u << i;
	}
	return bits;
}

int vg_classify(struct vg_classify_ctx *ctx, struct vg_record *rec)
{
	const struct vg_classifier *c = ctx->c;
	int rc = VG_OK;

	ctx->text_ready = 0;
	if (scratch_reserve(ctx, rec) != VG_OK)
		rc = VG_ERR_NOMEM; /* strings that do not fit are left empty */

	rec->level = (uint8_t)vg_level_parse(&rec->f[VG_F_LEVEL]);
	if (rec->level == VG_LEVEL_UNKNOWN)
		ctx->stats.unknown_level++;

	int cat = category_given(ctx, rec);

	rec->category_src = VG_CAT_GIVEN;
	if (cat < 0) {
		if (rec->f[VG_F_CATEGORY].type != VG_J_NONE)
			ctx->stats.unknown_category++;
		cat = category_from_rules(ctx, rec);
		rec->category_src = VG_CAT_RULE;
		if (cat < 0) {
			cat = c->default_category;
			rec->category_src = VG_CAT_DEFAULT;
		}
	}
	rec->category = (uint8_t)cat;
	rec->retention_days = (uint16_t)vg_classifier_retention(c, cat, rec->level);

	double st = value_number(&rec->f[VG_F_STATUS]);

	rec->status = (st >= 100 && st <= 599 && st == (double)(int)st) ? (int)st : 0;
	double dur = value_number(&rec->f[VG_F_DURATION]);

	/* As read: the aggregate step judges (and counts) values that cannot
	 * be real, and the record is printed and archived whatever it says. */
	rec->duration_ms = dur;
	enum vg_time_err ts_err;

	rec->ts_ms = value_time(ctx, rec, &ts_err);
	rec->ts_err = (uint8_t)ts_err;
	rec->service = value_string(ctx, rec, VG_F_SERVICE);
	rec->method = value_method(ctx, rec);
	rec->endpoint = VG_STR_NULL;
	vg_str path = value_string(ctx, rec, VG_F_ENDPOINT);

	if (path.len > 0 && rec->f[VG_F_ENDPOINT].type == VG_J_STRING) {
		char *d = scratch_take(ctx, VG_ENDPOINT_MAX);

		if (d)
			rec->endpoint = vg_str_make(d, vg_endpoint_normalize(path.p, path.len, d));
		else
			rc = VG_ERR_NOMEM;
	}
	rec->counters = ctx->c->cfg->n_counters ? match_counters(ctx, rec) : 0;
	return rc;
}

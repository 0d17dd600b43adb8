/* vigil: classification.
 *
 * After extraction (parse/json.h), vg_classify() fills a record's derived
 * values: level (parse/level.h), category, retention days, HTTP status,
 * duration, event time, normalised endpoint, service and method.
 *
 * Category: the record's own category field when its value (trimmed,
 * case-insensitive) is a configured category or alias; otherwise the first
 * classify.rules entry whose conditions match (PCRE2, JIT-compiled, with
 * match and depth limits, and a budget of steps for each run over all its
 * start positions: classify.regex_run_limit); otherwise classify.default.
 *
 * A vg_classifier (compiled rules, retention table) is built once and shared
 * read-only by every thread. Each thread owns a vg_classify_ctx: PCRE2
 * match data, a JIT stack and scratch memory. Views that classification
 * writes into the record (endpoint, service, method) point into the ctx's
 * scratch and stay valid until the next vg_classify() on that ctx. */
#ifndef VG_CLASSIFY_H
#define VG_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/record.h"

/* How a record's category was decided (record->category_src). */
enum vg_catsrc {
	VG_CAT_DEFAULT = 0, /* nothing matched: classify.default */
	VG_CAT_GIVEN,       /* the record's category field named a known category */
	VG_CAT_RULE,        /* a classify.rules entry matched */
};

struct vg_classifier;
struct vg_classify_ctx;

/* Counters a ctx keeps for the thread that owns it. */
struct vg_classify_stats {
	uint64_t unknown_level;    /* records whose level was absent or unknown */
	uint64_t unknown_category; /* category field present but not a known name */
	uint64_t regex_limit;      /* pattern runs stopped by a PCRE2 limit (match, depth,
				    * heap, JIT stack): counted as no match */
	uint64_t regex_memo;       /* pattern outcomes taken from the memo of short subjects */
};

/* The backtracking memory one pattern run may take without the JIT (PCRE2's
 * heap limit, in KiB; PCRE2's own default is 20 GB). With the JIT, the
 * stack of a ctx is at most 512 KiB. A run past either counts in
 * regex_limit. */
#define VG_CLASSIFY_HEAP_KIB 16384
#define VG_CLASSIFY_JIT_STACK_KIB 768 /* the counted copy needs about a quarter more than the plain one */

/* Compile cfg's rules (JIT where available). cfg must outlive the
 * classifier. Returns 0, VG_ERR_CONFIG (errbuf names file, line and the
 * pattern's problem) or VG_ERR_NOMEM. */
int vg_classifier_create(struct vg_classifier **out, const struct vg_config *cfg, char *errbuf,
			 size_t errlen);
void vg_classifier_destroy(struct vg_classifier *c);

/* Retention days for a category index and level. */
unsigned vg_classifier_retention(const struct vg_classifier *c, int category, int level);

/* The name of category index i. */
const char *vg_classifier_category_name(const struct vg_classifier *c, int i);
size_t vg_classifier_category_count(const struct vg_classifier *c);

/* Per-thread context; c must outlive it. */
int vg_classify_ctx_create(struct vg_classify_ctx **out, const struct vg_classifier *c);
void vg_classify_ctx_destroy(struct vg_classify_ctx *ctx);
const struct vg_classify_stats *vg_classify_ctx_stats(const struct vg_classify_ctx *ctx);

/* Add s's counters to *sum (a thread's contexts over a reload, or the
 * threads of a run). */
void vg_classify_stats_add(struct vg_classify_stats *sum, const struct vg_classify_stats *s);

/* The summary member that says s: ,"regex_limit_hits":N (with its leading
 * comma), appended to b. The command summaries all use it. */
struct vg_buf;
void vg_classify_put_summary(struct vg_buf *b, const struct vg_classify_stats *s);

/* Classify one extracted record in place. Returns 0, or VG_ERR_NOMEM when
 * scratch could not grow (the record is then classified without endpoint
 * and service). */
int vg_classify(struct vg_classify_ctx *ctx, struct vg_record *rec);

#endif

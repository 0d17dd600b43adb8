/* vigil: what the alert module shares with itself only: compiled rules,
 * read by the engine (alerts.c), and the YAML loader's helpers, used by
 * the rule loader (rules.c) and the rule test runner (ruletest.c). Not
 * for use outside alert/. */
#ifndef VG_RULES_INTERNAL_H
#define VG_RULES_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <yaml.h>

#include "alert/rules.h"

/* ---- compiled rules ----------------------------------------------------- */

enum cond { C_ERROR_RATE, C_LATENCY, C_COUNT, C_ABSENT, C_BURN };
enum of { OF_5XX, OF_4XX, OF_BOTH, OF_LEVEL };
enum label { L_SERVICE, L_ENDPOINT, L_METHOD, L_CATEGORY, L_LEVEL, L_COUNT };
enum op { OP_EQ, OP_NE, OP_RE, OP_NRE };

extern const char *const vg_rules_label_names[L_COUNT]; /* by enum label */

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
	int cond, of, kind; /* kind: enum vg_table_kind of the entries read */
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

/* ---- the YAML loader (rules.c) ------------------------------------------ */

struct loader {
	yaml_document_t doc;
	const char *name;
	char *errbuf;
	size_t errlen;
	const struct vg_rules_env *env;
	int64_t escalation[5]; /* per severity, from the file's `escalation` */
};

/* Sets L->errbuf to "NAME:LINE: message" (the line of n; 0 without n).
 * Returns VG_ERR_CONFIG. */
__attribute__((format(printf, 3, 4))) int vg_rules_fail(struct loader *L, const yaml_node_t *n, const char *fmt,
							 ...);

/* Node id of L's document; NULL when there is none. */
yaml_node_t *vg_rules_node(struct loader *L, int id);

/* n's text when n is a scalar, else NULL. */
const char *vg_rules_scalar(const yaml_node_t *n);

/* Calls fn(L, key, key node, value, arg) for each pair of mapping n, and
 * stops at the first return other than 0; what names n in errors. */
int vg_rules_each_pair(struct loader *L, yaml_node_t *n, const char *what,
		       int (*fn)(struct loader *L, const char *k, yaml_node_t *kn, yaml_node_t *v, void *arg),
		       void *arg);

/* v as a duration in ms or as a finite number; VG_ERR_CONFIG otherwise. */
int vg_rules_get_duration(struct loader *L, yaml_node_t *v, const char *what, int64_t *out);
int vg_rules_get_number(struct loader *L, yaml_node_t *v, const char *what, double *out);

#endif

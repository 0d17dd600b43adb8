/* vigil: which table entries an alert rule takes, and their group
 * (alert-internal, for the engine in alerts.c).
 *
 * A rule takes an entry of its kind (and counter) whose labels pass every
 * `where` selector; its group is the entry's values of the rule's `by`.
 * The regex selectors (=~, !~) run on label values the records chose (a
 * scanner's endpoint, a service name), so with bounds like the
 * classifier's (parse/classify.h), not PCRE2's own (10 million steps,
 * 20 GB): a run stopped counts as not matching and is said in the log, on
 * the 1st, 2nd, 4th, 8th... stop of an engine.
 *
 * A vg_select belongs to one engine and is not thread-safe. */
#ifndef VG_SELECT_H
#define VG_SELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aggregate/table.h"
#include "alert/rules_internal.h"

/* The classifier's default match and depth limits, and its heap limit. */
#define VG_SELECT_MATCH_LIMIT 100000 /* steps of a selector from one start position */
#define VG_SELECT_DEPTH_LIMIT 1000

/* A group key's size: each `by` value cut to its share, NUL-ended. */
#define VG_SELECT_KEY_MAX 1024

struct vg_select {
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	uint64_t limit_hits; /* selector runs stopped by a limit */
};

/* Returns 0 or VG_ERR_NOMEM; vg_select_free() is safe on a zeroed or
 * half-made one. */
int vg_select_init(struct vg_select *s);
void vg_select_free(struct vg_select *s);

/* Does rule r take entry e: its kind, its counter, its selectors? */
bool vg_select_takes(struct vg_select *s, const struct vg_rules_env *env, const struct rule *r,
		     const struct vg_table_entry *e);

/* e's group under r's `by` into key (VG_SELECT_KEY_MAX bytes): each
 * label's value, cut to its share, NUL-ended. Returns the key's length. */
size_t vg_select_group_key(const struct vg_rules_env *env, const struct rule *r, const struct vg_table_entry *e,
			   char *key);

#endif

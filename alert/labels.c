/* vigil: an alert instance's labels (see labels.h). */
#include "alert/labels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/groups.h"

void vg_labels_render(struct vg_buf *b, const char *t, const struct vg_alert *al)
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
		if (strcmp(vg_rules_label_names[r->by[b]], name) == 0)
			return true;
	return false;
}

const char *vg_labels_severity(int severity)
{
	static const char *const name[] = {"", "P1", "P2", "P3", "P4"};

	return severity >= 1 && severity <= 4 ? name[severity] : "";
}

size_t vg_labels_set(const struct rule *r, const char *key, int level, const char *pairs[][2])
{
	const char *k = key;
	size_t n = 0;

	pairs[n][0] = "alertname";
	pairs[n++][1] = r->name;
	pairs[n][0] = "severity";
	pairs[n++][1] = vg_labels_severity(r->severity);
	for (size_t b = 0; b < r->n_by && n < VG_ALERT_MAX_LABELS; b++, k += strlen(k) + 1) {
		pairs[n][0] = vg_rules_label_names[r->by[b]];
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
	return n;
}

uint64_t vg_labels_fingerprint(const struct rule *r, const char *key, int level)
{
	const char *pairs[VG_ALERT_MAX_LABELS][2];
	size_t n = vg_labels_set(r, key, level, pairs);
	uint64_t h = VG_GROUPS_FNV0;

	for (size_t i = 0; i < n; i++) {
		h = vg_groups_fnv(pairs[i][0], strlen(pairs[i][0]) + 1, h);
		h = vg_groups_fnv(pairs[i][1], strlen(pairs[i][1]) + 1, h);
	}
	return h;
}

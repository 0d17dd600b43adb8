/* vigil: the pass over a configuration's YAML events before it is loaded
 * (vg_config_check_yaml, see config.h; the configuration file's and each
 * alert rule file's): the bounds of config.h that libyaml's loader cannot
 * be trusted to meet on its own.
 *
 * Why a pass of its own: yaml_parser_load builds the whole document before
 * vigil sees a node, and on hostile input that is where the time goes.
 * libyaml's scanner checks every open flow level at each token (quadratic
 * in flow depth: 120,000 '[' took ~50 s), and its loader looks each anchor
 * and alias up among all anchors (quadratic in anchors). Here the events
 * come one at a time, and the pass stops at the first one past a bound,
 * having read at most about a kilobyte past it (libyaml's look-ahead for a
 * simple key). */
#define _POSIX_C_SOURCE 200809L
#include "core/config_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/err.h"

/* An anchor seen so far and the weight of its node (0 while still open). */
struct anchor {
	char *name;
	uint64_t weight;
};

/* One open list or mapping: its weight so far and its anchor (or -1). */
struct frame {
	uint64_t weight;
	int anchor;
};

struct scan {
	const char *name;
	char *err;
	size_t errlen;
	struct anchor anchors[VG_CONFIG_MAX_ANCHORS];
	size_t n_anchors;
	struct frame stack[VG_CONFIG_MAX_DEPTH];
	size_t depth;
	uint64_t expanded; /* the document's weight, aliases expanded */
};

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int
fail(struct scan *s, const yaml_event_t *ev, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(s->err, s->errlen, "%s:%d: ", s->name, (int)ev->start_mark.line + 1);

	if (n >= 0 && (size_t)n < s->errlen) {
		va_start(ap, fmt);
		vsnprintf(s->err + n, s->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return VG_ERR_CONFIG;
}

/* Register the event's anchor (NULL: none); its index in *idx, or -1. */
static int anchor_add(struct scan *s, const yaml_event_t *ev, const yaml_char_t *name, int *idx)
{
	*idx = -1;
	if (!name)
		return VG_OK;
	if (s->n_anchors == VG_CONFIG_MAX_ANCHORS)
		return fail(s, ev, "at most %d anchors (&name) in a configuration", VG_CONFIG_MAX_ANCHORS);
	if (!(s->anchors[s->n_anchors].name = strdup((const char *)name)))
		return VG_ERR_NOMEM;
	s->anchors[s->n_anchors].weight = 0;
	*idx = (int)s->n_anchors++;
	return VG_OK;
}

/* Add w to the open node (and the document). */
static int add(struct scan *s, const yaml_event_t *ev, uint64_t w)
{
	s->expanded += w;
	if (s->depth)
		s->stack[s->depth - 1].weight += w;
	if (s->expanded > VG_CONFIG_MAX_EXPANDED)
		return fail(s, ev,
		            "aliases expand the configuration past %u MiB; an anchor shares a value, "
		            "it must not multiply the document",
		            VG_CONFIG_MAX_EXPANDED >> 20);
	return VG_OK;
}

/* The weight of the anchor an alias names; an unknown name weighs 1
 * (the loader says it is unknown). */
static int alias(struct scan *s, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;

	/* The latest of a name: YAML lets an anchor be redefined. */
	for (size_t i = s->n_anchors; i-- > 0;) {
		if (strcmp(s->anchors[i].name, name) != 0)
			continue;
		if (!s->anchors[i].weight)
			return fail(s, ev, "alias *%s refers to a node that contains it", name);
		return add(s, ev, s->anchors[i].weight);
	}
	return add(s, ev, 1);
}

static int event(struct scan *s, const yaml_event_t *ev)
{
	int rc, idx;

	switch (ev->type) {
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (s->depth == VG_CONFIG_MAX_DEPTH)
			return fail(s, ev,
			            "lists and mappings nested deeper than %d levels (the deepest key "
			            "needs 5)",
			            VG_CONFIG_MAX_DEPTH);
		if ((rc = anchor_add(s, ev,
		                     ev->type == YAML_SEQUENCE_START_EVENT ? ev->data.sequence_start.anchor
		                                                           : ev->data.mapping_start.anchor,
		                     &idx)) != VG_OK ||
		    (rc = add(s, ev, 1)) != VG_OK)
			return rc;
		s->stack[s->depth++] = (struct frame){.weight = 1, .anchor = idx};
		return VG_OK;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT: {
		struct frame f = s->stack[--s->depth];

		if (f.anchor >= 0)
			s->anchors[f.anchor].weight = f.weight;
		if (s->depth)
			s->stack[s->depth - 1].weight += f.weight - 1; /* its 1 was added at its start */
		return VG_OK;
	}
	case YAML_SCALAR_EVENT: {
		uint64_t w = 1 + ev->data.scalar.length;

		if ((rc = anchor_add(s, ev, ev->data.scalar.anchor, &idx)) != VG_OK)
			return rc;
		if (idx >= 0)
			s->anchors[idx].weight = w;
		return add(s, ev, w);
	}
	case YAML_ALIAS_EVENT: return alias(s, ev);
	default: return VG_OK;
	}
}

int vg_config_check_yaml(const char *text, size_t len, const char *name, char *errbuf, size_t errlen)
{
	yaml_parser_t parser;
	struct scan *s;
	int rc = VG_OK;

	if (len > VG_CONFIG_MAX_BYTES) {
		snprintf(errbuf, errlen, "%s: %zu bytes; a configuration file is at most %u MiB", name, len,
		         VG_CONFIG_MAX_BYTES >> 20);
		return VG_ERR_CONFIG;
	}
	if (!(s = calloc(1, sizeof(*s))))
		return VG_ERR_NOMEM;
	*s = (struct scan){.name = name, .err = errbuf, .errlen = errlen};
	if (!yaml_parser_initialize(&parser)) {
		free(s);
		return VG_ERR_NOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	for (;;) {
		yaml_event_t ev;

		if (!yaml_parser_parse(&parser, &ev))
			break; /* a syntax error: the loader says it */
		bool end = ev.type == YAML_STREAM_END_EVENT;

		rc = event(s, &ev);
		yaml_event_delete(&ev);
		if (rc != VG_OK || end)
			break;
	}
	yaml_parser_delete(&parser);
	for (size_t i = 0; i < s->n_anchors; i++)
		free(s->anchors[i].name);
	free(s);
	return rc;
}

int vg_config_read(FILE *f, const char *path, char **text, size_t *len, char *errbuf, size_t errlen)
{
	char *t = NULL;
	size_t n = 0, cap = 0;
	int rc = VG_OK;

	*text = NULL;
	*len = 0;
	/* One byte past the bound is enough to refuse the file: a 14 MB one is
	 * not read whole. */
	for (;;) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 8192;
			char *nt;

			if (ncap > VG_CONFIG_MAX_BYTES + 1)
				ncap = VG_CONFIG_MAX_BYTES + 1;
			if (!(nt = realloc(t, ncap))) {
				snprintf(errbuf, errlen, "%s: out of memory", path);
				rc = VG_ERR_NOMEM;
				goto out;
			}
			t = nt;
			cap = ncap;
		}
		size_t got = fread(t + n, 1, cap - n, f);

		n += got;
		if (got == 0 || n > VG_CONFIG_MAX_BYTES)
			break;
	}
	if (ferror(f)) {
		snprintf(errbuf, errlen, "%s: read error: %s", path, strerror(errno));
		rc = VG_ERR_IO;
	} else if (n > VG_CONFIG_MAX_BYTES) {
		struct stat st;

		if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode))
			snprintf(errbuf, errlen, "%s: %lld bytes; a configuration file is at most %u MiB", path,
			         (long long)st.st_size, VG_CONFIG_MAX_BYTES >> 20);
		else
			snprintf(errbuf, errlen, "%s: more than %u bytes; a configuration file is at most %u MiB", path,
			         VG_CONFIG_MAX_BYTES, VG_CONFIG_MAX_BYTES >> 20);
		rc = VG_ERR_CONFIG;
	}
out:
	if (rc != VG_OK)
		free(t);
	else {
		*text = t;
		*len = n;
	}
	return rc;
}

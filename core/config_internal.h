/* vigil: what the configuration's three files share (core/config.c,
 * config_keys.c, config_load.c); nothing outside them includes this. The
 * public interface is config.h. */
#ifndef VG_CONFIG_INTERNAL_H
#define VG_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <yaml.h>

#include "core/config.h"

/* ---- the tables (config_keys.c) ----------------------------------------- */

enum ktype {
	K_UINT,      /* unsigned integer, range min..max */
	K_SIZE,      /* bytes: an integer, or with a KiB/MiB/GiB suffix */
	K_STRING,    /* a non-empty string */
	K_STRLIST,   /* a list of strings */
	K_ALIASES,   /* a mapping alias -> category */
	K_RULES,     /* classification rules */
	K_RETENTION, /* retention policy rows */
	K_DURATION,  /* "10s", "5m"...: milliseconds in an int64_t, range min..max ms */
	K_FRACTION,  /* a number strictly between 0 and 1, in a double */
	K_COUNTERS,  /* pattern counters */
	K_STRMAP,    /* a mapping of string to string, kept as written */
	K_OPTSTRING, /* a non-empty string, or nothing (~): NULL */
	K_WEBHOOKS,  /* webhook notifiers: a list of {url, secret} */
	K_LOGLEVEL,  /* debug, info, warning, error: enum vg_log_level in an int */
};

struct key {
	const char *name;
	enum ktype type;
	size_t off;      /* where the value lands in struct vg_config */
	size_t line_off; /* where its line lands (an int), or NO_LINE */
	const char *def; /* default as YAML; a leading newline makes it a block */
	const char *doc; /* comment lines printed above it */
	/* The range of a K_UINT, K_SIZE or K_DURATION; for a K_STRLIST or
	 * K_STRMAP, max is the most entries (0: as many as the file holds). */
	unsigned long long min, max;
};

#define NO_LINE SIZE_MAX

struct section {
	const char *name;
	const char *doc;
	const struct key *keys;
	size_t n_keys;
};

/* The section named name, or NULL. */
const struct section *vg_config_keys_section(const char *name);

/* The row of key name under parent (NULL: directly in the section), or NULL. */
const struct key *vg_config_keys_find(const struct section *sec, const char *parent, const char *name);

/* Whether name is a mapping of sub-keys in sec. */
bool vg_config_keys_is_parent(const struct section *sec, const char *name);

/* Writes to buf (len bytes, always terminated) the names expected: the
 * sections (sec NULL), a section's keys, or the sub-keys under parent,
 * separated by ", ". */
void vg_config_keys_list(char *buf, size_t len, const struct section *sec, const char *parent);

/* ---- loading (config_load.c) -------------------------------------------- */

/* One load: the document being read, where its errors go and the
 * configuration it fills. */
struct loader {
	yaml_document_t *doc;
	const char *name;
	bool is_default; /* lines from the built-in defaults are stored as 0 */
	struct vg_config *cfg;
	char *err;
	size_t errlen;
};

/* Parses one YAML document of len bytes and applies its keys over L->cfg.
 * Returns VG_OK, or an error with a sentence in L->err. Not thread-safe
 * (one loader per thread). */
int vg_config_load_text(struct loader *L, const char *text, size_t len);

/* ---- errors and freeing (config.c) -------------------------------------- */

/* Writes "NAME:LINE: " (or "NAME: (built-in default) " for line 0) and the
 * message to L->err; returns VG_ERR_CONFIG. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
int vg_config_fail_at(struct loader *L, int line, const char *fmt, ...);

/* Free a list's strings and array and leave it empty. */
void vg_config_strlist_free(struct vg_strlist *l);

/* Free rows[0..n) of each kind of row list, and the array. */
void vg_config_rules_free(void *rows, size_t n);
void vg_config_retention_free(void *rows, size_t n);
void vg_config_counters_free(void *rows, size_t n);
void vg_config_webhooks_free(void *rows, size_t n);

#endif

/* vigil: configuration.
 *
 * One YAML file, read with libyaml. Every key of every section is declared
 * once in a table (key, type, default, range, documentation) in config_keys.c;
 * the defaults are themselves YAML text, so `vigil config --default` prints
 * exactly what vigil runs with when no file is given, and loading a file
 * means loading the defaults and then the file over them (a key in the file
 * replaces the whole default value, lists included).
 *
 * A section's key may be a mapping of sub-keys (notify.alertmanager.url):
 * each sub-key is a row of its own, so a file that sets one sub-key keeps
 * the defaults of the others.
 *
 * Unknown sections and keys, duplicate keys, wrong types, out-of-range
 * values, unknown names (fields, levels, categories) and regular
 * expressions PCRE2 refuses are errors reported as "FILE:LINE: reason".
 *
 * A loaded vg_config is immutable; share it read-only between threads. */
#ifndef VG_CONFIG_H
#define VG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/record.h"

/* A list of strings and the line it was written on. */
struct vg_strlist {
	char **v;
	size_t n;
	int line;
};

/* One condition of a classification rule: field (enum vg_field) must match
 * the PCRE2 pattern. */
struct vg_cfg_cond {
	int field;
	char *pattern;
	int line;
};

/* A classification rule: when all (or any) of its conditions match, the
 * record gets the category. */
struct vg_cfg_rule {
	char *category;
	bool all;
	struct vg_cfg_cond *conds;
	size_t n_conds;
	int line;
};

/* A retention row: records of the category (NULL for any) whose level bit
 * (1 << enum vg_level) is in levels are kept days. */
struct vg_cfg_retention {
	char *category;
	unsigned levels;
	unsigned days;
	int line;
};

/* A named pattern counter: records whose labels equal the selector (NULL =
 * any) and whose field matches the pattern (none = every record) are
 * counted per service in every window. */
struct vg_cfg_counter {
	char *name;
	char *service;
	int category; /* index in categories, or -1 */
	int level;    /* enum vg_level, or -1 */
	char *category_name;
	int field;     /* enum vg_field, or -1 */
	char *pattern; /* PCRE2, or NULL */
	int line;
};

#define VG_MAX_COUNTERS 32

#define VG_MAX_WEBHOOKS 8

/* A webhook notifier: its URL and the key that signs its requests (NULL:
 * unsigned). */
struct vg_cfg_webhook {
	char *url;
	char *secret;
	int line;
};

struct vg_config {
	char *source; /* the file the configuration came from, or "<default>" */

	/* fields */
	struct vg_strlist paths[VG_F_COUNT];

	/* classify */
	struct vg_strlist categories;
	struct vg_strlist aliases; /* pairs: v[2i] is an alias of v[2i+1] */
	char *default_category;
	int default_category_line;
	struct vg_cfg_rule *rules;
	size_t n_rules;
	unsigned regex_match_limit;
	unsigned regex_depth_limit;

	/* retention */
	struct vg_cfg_retention *retention;
	size_t n_retention;
	unsigned retention_default_days;

	/* limits */
	size_t max_record_bytes;
	unsigned max_depth;

	/* log */
	int log_level; /* enum vg_log_level */

	/* aggregate */
	int64_t window_ms;
	int64_t lateness_ms;
	int64_t idle_timeout_ms;
	int64_t skew_ahead_ms, skew_behind_ms; /* 0: no bound */
	int64_t max_duration_ms;               /* longest real duration (>= 1) */
	unsigned max_keys;
	unsigned max_endpoints; /* per service in the alert store's horizon */
	double accuracy;
	struct vg_cfg_counter *counters;
	size_t n_counters;

	/* kafka */
	char *kafka_brokers;
	char *kafka_group;
	struct vg_strlist kafka_topics;
	struct vg_strlist kafka_properties; /* pairs: v[2i] = v[2i+1] */
	unsigned workers;                   /* 0: one per core */
	unsigned kafka_batch;
	int64_t commit_interval_ms;
	int64_t shutdown_timeout_ms;

	/* archive */
	char *archive_dir; /* "" or "off": no archive */
	char *archive_instance;
	unsigned archive_level;
	size_t archive_flush_bytes;
	int64_t archive_flush_ms;
	size_t archive_rotate_bytes;
	unsigned archive_dead_letter_days;

	/* rules */
	struct vg_strlist rule_files;

	/* notify */
	char *notify_alertmanager; /* "off": none */
	int64_t notify_resend_ms;
	struct vg_cfg_webhook *notify_webhooks;
	size_t n_notify_webhooks;
	char *notify_kafka_brokers; /* NULL: kafka_brokers */
	char *notify_kafka_topic;   /* "off": none */
	struct vg_strlist notify_kafka_properties; /* pairs: v[2i] = v[2i+1] */
	char *notify_file;          /* "off": none */
	char *notify_outbox_dir;
	unsigned notify_outbox_max;
	int64_t notify_timeout_ms;
	int64_t notify_catch_up_ms; /* 0: off */

	/* http */
	char *http_listen; /* "HOST:PORT", or "off" */
	int http_listen_line;
	int64_t http_stall_ms;        /* /health: a worker silent this long is stuck */
	int64_t http_commit_age_ms;   /* /ready: the last offset commit at most this old */
	int64_t http_notify_failing_ms; /* /ready: a notifier failing at most this long */
};

/* Load the defaults, then path over them (path NULL: defaults only).
 * Returns 0 and a new configuration in *out (free with vg_config_free), or
 * VG_ERR_CONFIG / VG_ERR_IO / VG_ERR_NOMEM with "FILE:LINE: reason" in
 * errbuf. */
int vg_config_load(struct vg_config **out, const char *path, char *errbuf, size_t errlen);

/* Like vg_config_load, from YAML text in memory; name is used in errors. */
int vg_config_load_string(struct vg_config **out, const char *yaml, size_t len, const char *name,
			  char *errbuf, size_t errlen);

/* Free a configuration; NULL is a no-op. */
void vg_config_free(struct vg_config *cfg);

/* What a command line sets over a configuration file (vigil run's
 * options). NULL, 0 (or, for skew_behind_ms, negative) members leave the
 * file's value. */
struct vg_config_overrides {
	const char *brokers, *group, *archive_dir, *http_listen, *outbox_dir;
	const char *const *topics; /* n_topics > 0: these, not kafka.topics */
	size_t n_topics;
	unsigned workers;            /* kafka.workers */
	int64_t lateness_ms;         /* aggregate.lateness */
	int64_t skew_behind_ms;      /* aggregate.skew_behind; -1: the file's */
	int64_t shutdown_timeout_ms; /* kafka.shutdown_timeout */
};

/* vg_config_load with the overrides applied: the configuration is
 * complete when returned, and read-only from then on (nothing writes into
 * a loaded one). ov NULL: none. Same returns as vg_config_load. */
int vg_config_load_overridden(struct vg_config **out, const char *path, const struct vg_config_overrides *ov,
			      char *errbuf, size_t errlen);

/* The worker threads kafka.workers asks for: its value, or 0 for one per
 * core online (at least 1). */
unsigned vg_config_workers(const struct vg_config *cfg);

/* Write the complete, commented default configuration. Returns 0 or
 * VG_ERR_IO. */
int vg_config_write_default(FILE *out);

/* Parse a duration ("500ms", "10s", "5m", "1h", "3d") into milliseconds.
 * Returns -1 when s is not one. */
int64_t vg_config_parse_duration(const char *s);

/* Split a listen address "HOST:PORT" (an IPv4 address or localhost; PORT
 * 0 to 65535, 0 for an ephemeral one) into host (at least 64 bytes) and
 * *port. Returns false when s is not one. */
bool vg_config_parse_listen(const char *s, char *host, size_t hostlen, unsigned *port);

/* Index of a category in cfg->categories, or -1. */
int vg_config_category_index(const struct vg_config *cfg, const char *name);

#endif

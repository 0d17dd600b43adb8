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

/* A list of strings and the line it was written on; lines[i], when not
 * NULL, is the line of v[i] (for a mapping kept as pairs, of its key and
 * of its value). */
struct vg_strlist {
	char **v;
	size_t n;
	int line;
	int *lines;
};

/* Bounds on a configuration file (docs/limits.md, "Configuration files"),
 * each refused with the file and, but for the size, the line:
 * - the file: at most 1 MiB. The shipped one is 11 KB; what makes one big
 *   is lists (topics, properties, rules), bounded below.
 * - nesting: lists and mappings at most 32 deep. The deepest key needs
 *   5 (the file, a section, a list of rows, a row, its any: mapping).
 *   Checked as libyaml reads (its scanner is quadratic in flow depth).
 * - anchors: at most 256 (libyaml looks each alias up among them all).
 * - aliases: the document they expand to weighs at most 4 MiB (a node
 *   counts 1, a scalar its length more): an anchor shares a value, it
 *   does not multiply the document.
 * Lists bounded per key (the key's max in its table): kafka.topics 4096
 * (vigil holds at most 4096 partitions; librdkafka's subscribe is
 * quadratic in topics), kafka.properties and notify.kafka.properties
 * 1024 (librdkafka has about 200), rules.files 256. */
#define VG_CONFIG_MAX_BYTES (1u << 20)
#define VG_CONFIG_MAX_DEPTH 32
#define VG_CONFIG_MAX_ANCHORS 256
#define VG_CONFIG_MAX_EXPANDED (4u << 20)

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

/* classify.rules: at most VG_MAX_RULES rules (counted as YAML aliases
 * expand them: an alias is one more rule) and VG_MAX_RULE_PATTERNS
 * patterns over all of them. A record that names no category runs the
 * rules in order until one matches, so its cost grows with the patterns
 * it tries: about 0.045 ms for 1,000 and 0.45 ms for 4,000 failing patterns
 * on one core (docs/limits.md). */
#define VG_MAX_RULES 1000
#define VG_MAX_RULE_PATTERNS 4000

/* The ceiling of classify.regex_match_limit and regex_depth_limit: a
 * pattern stopped at it from one start position has taken about 0.5 ms with
 * the JIT (docs/limits.md); a backtrack that deep takes as many steps, so
 * the depth limit has the same ceiling. */
#define VG_REGEX_LIMIT_MAX 200000

/* The steps one pattern may take on one field over all its start
 * positions are classify.regex_run_limit plus VG_REGEX_STEPS_PER_BYTE for
 * each byte of the field: linear in its size, as its parsing is. The
 * ceiling of the limit keeps a run on a field of a few KiB under a
 * millisecond of one core with the JIT (docs/limits.md). */
#define VG_REGEX_RUN_LIMIT_MAX 100000
#define VG_REGEX_STEPS_PER_BYTE 8

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
	unsigned regex_run_limit;

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

/* Whether YAML text (len bytes; name is used in errors) keeps the bounds
 * above that every YAML file vigil reads as configuration keeps (the
 * configuration file, each alert rule file): the size, then, reading
 * libyaml's events once (linear in len, stopping at the first event past
 * a bound): nesting, anchors, the weight aliases expand to, an alias
 * inside its own anchor. Run it before yaml_parser_load. Returns 0 (a
 * syntax error too: loading says it), VG_ERR_CONFIG with "NAME:LINE:
 * reason" (for the size "NAME: N bytes; ...") in errbuf, or VG_ERR_NOMEM.
 * Thread-safe. */
int vg_config_check_yaml(const char *text, size_t len, const char *name, char *errbuf, size_t errlen);

/* Read the file f (opened by the caller, who closes it; path is used in
 * errors) that is to be such YAML, refusing it past VG_CONFIG_MAX_BYTES
 * without reading it whole. Returns 0 and the text in *text (*len bytes,
 * not terminated; free it), VG_ERR_IO (a read error), VG_ERR_CONFIG ("PATH:
 * N bytes; a configuration file is at most 1 MiB") or VG_ERR_NOMEM, with
 * the sentence in errbuf. Thread-safe. */
int vg_config_read(FILE *f, const char *path, char **text, size_t *len, char *errbuf, size_t errlen);

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

/* vigil: configuration loading. See config.h.
 *
 * Adding a setting means adding one row to a section table below: its key,
 * type, where it lands in struct vg_config, its default written as YAML,
 * its range and the comment `vigil config --default` prints above it. */
#define _POSIX_C_SOURCE 200809L
#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>
#include <yaml.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/err.h"
#include "core/log.h"

/* ---- names -------------------------------------------------------------- */

int vg_config_category_index(const struct vg_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->categories.n; i++) {
		if (strcmp(cfg->categories.v[i], name) == 0)
			return (int)i;
	}
	return -1;
}

bool vg_config_parse_listen(const char *s, char *host, size_t hostlen, unsigned *port)
{
	const char *colon = strrchr(s, ':');
	unsigned long p;
	char *end;
	size_t n;

	if (!colon || colon == s || !colon[1] || (n = (size_t)(colon - s)) >= hostlen)
		return false;
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (*end || errno || p > 65535 || !isdigit((unsigned char)colon[1]))
		return false;
	memcpy(host, s, n);
	host[n] = '\0';
	if (strcmp(host, "localhost") == 0) {
		snprintf(host, hostlen, "127.0.0.1");
	} else {
		unsigned a[4];
		char extra;

		if (sscanf(host, "%3u.%3u.%3u.%3u%c", &a[0], &a[1], &a[2], &a[3], &extra) != 4 || a[0] > 255 ||
		    a[1] > 255 || a[2] > 255 || a[3] > 255)
			return false;
	}
	*port = (unsigned)p;
	return true;
}

/* ---- the tables --------------------------------------------------------- */

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
	unsigned long long min, max;
};

#define NO_LINE SIZE_MAX
#define OFF(m) offsetof(struct vg_config, m)

struct section {
	const char *name;
	const char *doc;
	const struct key *keys;
	size_t n_keys;
};

#define FIELD_KEY(f, member, def_, doc_)                                                            \
	{ #member, K_STRLIST, OFF(paths[f]), NO_LINE, def_, doc_, 0, 0 }

static const struct key fields_keys[] = {
	FIELD_KEY(VG_F_TIME, time, "[timestamp, \"@timestamp\", time, ts]",
		  "Event time: RFC 3339, or epoch seconds/milliseconds (numbers or strings)."),
	FIELD_KEY(VG_F_LEVEL, level, "[level, severity, levelname, log.level]",
		  "Level: names (info, WARN, err...) or numbers (syslog 0-7, pino 10-60)."),
	FIELD_KEY(VG_F_CATEGORY, category, "[category, log_type]",
		  "Category, when the record names it (checked against classify.categories)."),
	FIELD_KEY(VG_F_SERVICE, service, "[service, app, service.name]", "Service name."),
	FIELD_KEY(VG_F_LOGGER, logger, "[logger, log.logger]", "Logger name."),
	FIELD_KEY(VG_F_MESSAGE, message, "[message, msg]", "Message text."),
	FIELD_KEY(VG_F_STATUS, status, "[http.status, status, status_code]",
		  "HTTP status code (4xx and 5xx drive error rates)."),
	FIELD_KEY(VG_F_ENDPOINT, endpoint, "[http.path, path, api_endpoint, url]",
		  "HTTP path; normalised (/orders/123 -> /orders/:id, query dropped)."),
	FIELD_KEY(VG_F_METHOD, method, "[http.method, method]", "HTTP method."),
	FIELD_KEY(VG_F_DURATION, duration, "[duration_ms, http.duration_ms, duration, latency_ms, response_time]",
		  "Duration in milliseconds."),
	FIELD_KEY(VG_F_EXCEPTION, exception, "[exception.type]", "Exception type."),
	FIELD_KEY(VG_F_REQUEST_ID, request_id, "[request_id]", "Request id."),
	FIELD_KEY(VG_F_USER_ID, user_id, "[user_id]", "User id."),
};

static const struct key classify_keys[] = {
	{"categories", K_STRLIST, OFF(categories), NO_LINE, "[application, security, access, database]",
	 "The known categories (lower case: letters, digits, '_' and '-'). They name archive\n"
	 "directories, so keep the list short.",
	 0, 0},
	{"aliases", K_ALIASES, OFF(aliases), NO_LINE,
	 "{app: application, auth: security, audit: security, http: access, db: database, sql: database}",
	 "Other names records use for a category (matched case-insensitively).", 0, 0},
	{"default", K_STRING, OFF(default_category), OFF(default_category_line), "application",
	 "The category of a record that names none and matches no rule.", 0, 0},
	{"rules", K_RULES, OFF(rules), NO_LINE,
	 "\n"
	 "- category: access\n"
	 "  any:\n"
	 "    logger: '(?i)(?:^|[._:/$-])(?:access(?:_?log\\w*)?|http|nginx|gunicorn|uvicorn|gin|express|requests?)(?:$|[._:/$-])'\n"
	 "    message: '^(?:GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) /'\n"
	 "- category: security\n"
	 "  any:\n"
	 "    logger: '(?i)(?:^|[._:/$-])(?:auth\\w*|security|audit\\w*|iam|oauth2?|sso|login\\w*|session)(?:$|[._:/$-])'\n"
	 "    message: '(?i)\\b(?:(?:un)?authenticat|log(?:ged)?[ -]?in\\b|password|token\\b|permission denied|access denied|unauthori[sz]ed|forbidden|brute[ -]?force|account (?:is )?locked|mfa\\b|privilege)'\n"
	 "- category: database\n"
	 "  any:\n"
	 "    logger: '(?i)(?:^|[._:/$-])(?:db|database|sql\\w*|postgres\\w*|pg\\w*|mysql|jdbc|hibernate|orm|mongo\\w*|redis|hikari\\w*)(?:$|[._:/$-])'\n"
	 "    message: '(?i)\\b(?:slow query|query took|deadlock|connection pool|(?:select|insert into|update|delete from)\\b.*\\b(?:from|set|where|values)\\b)'\n",
	 "Rules for records that name no category, tried in order; the first match wins.\n"
	 "Access comes first: an HTTP request line is an access record whatever its path says.\n"
	 "Each rule has `any:` or `all:`, a map of field name to PCRE2 pattern.",
	 0, 0},
	{"regex_match_limit", K_UINT, OFF(regex_match_limit), NO_LINE, "100000",
	 "PCRE2 match limit per pattern and record (stops catastrophic backtracking).", 1, 100000000},
	{"regex_depth_limit", K_UINT, OFF(regex_depth_limit), NO_LINE, "1000",
	 "PCRE2 depth limit per pattern and record.", 1, 1000000},
};

static const struct key retention_keys[] = {
	{"policy", K_RETENTION, OFF(retention), NO_LINE,
	 "\n"
	 "- {category: application, levels: [TRACE, DEBUG, INFO], days: 30}\n"
	 "- {category: application, levels: [WARNING], days: 90}\n"
	 "- {category: application, levels: [ERROR], days: 180}\n"
	 "- {category: application, levels: [CRITICAL], days: 365}\n"
	 "- {category: security, days: 365}\n"
	 "- {category: access, days: 90}\n"
	 "- {category: database, days: 90}\n",
	 "Days to keep a record, by category and level; the first matching row wins.\n"
	 "A row without `levels` matches every level (UNKNOWN included).",
	 0, 0},
	{"default_days", K_UINT, OFF(retention_default_days), NO_LINE, "90",
	 "Days to keep a record no row matches (an application record of unknown level).", 1, 36500},
};

static const struct key limits_keys[] = {
	{"max_record_bytes", K_SIZE, OFF(max_record_bytes), NO_LINE, "1MiB",
	 "Longest record accepted; longer ones are rejected (reason `size`).", 2, 64ull << 20},
	{"max_depth", K_UINT, OFF(max_depth), NO_LINE, "64",
	 "Deepest nesting of objects and arrays accepted (reason `depth`).", 1, 1024},
};

static const struct key aggregate_keys[] = {
	{"window", K_DURATION, OFF(window_ms), NO_LINE, "10s",
	 "Base (tumbling) window. Rule windows (1m, 5m, 1h...) are merges of base windows.", 100, 3600000},
	{"lateness", K_DURATION, OFF(lateness_ms), NO_LINE, "5s",
	 "Allowed lateness: a window closes when the watermark (the event time every worker\n"
	 "has reached, minus this) passes its end. Later records are counted as late.",
	 0, 3600000},
	{"idle_timeout", K_DURATION, OFF(idle_timeout_ms), NO_LINE, "30s",
	 "A worker with no records for this long stops holding the watermark back, and a\n"
	 "stream quiet for this long closes its windows by the clock.",
	 100, 86400000},
	{"skew_ahead", K_DURATION, OFF(skew_ahead_ms), NO_LINE, "5m",
	 "Skew guard: a record whose event time is more than this after its reference (the\n"
	 "Kafka message timestamp; for files, the clock) is skewed: counted, aggregated and\n"
	 "archived at the reference time, and it never moves a watermark. 0s turns it off.",
	 0, 315360000000LL},
	{"skew_behind", K_DURATION, OFF(skew_behind_ms), NO_LINE, "7d",
	 "The same for event times more than this before the reference (for files, the\n"
	 "stream's newest event time). Larger than skew_ahead: a backlog is legitimately\n"
	 "old. Raise it (or 0s) to backfill older logs; lower it (e.g. 2m) where producers'\n"
	 "clocks may lag.",
	 0, 315360000000LL},
	{"max_duration", K_DURATION, OFF(max_duration_ms), NO_LINE, "1d",
	 "Longest request duration that can be real. Longer ones, negative ones and infinite\n"
	 "ones (a number past a double's range) are counted by reason (durations_rejected)\n"
	 "and kept out of the latency quantiles; the record itself is aggregated and\n"
	 "archived. Within it, every quantile keeps aggregate.accuracy. At most 10 years\n"
	 "(the sketch's guaranteed range ends at 1e12 ms).",
	 1, 315360000000LL},
	{"max_keys", K_UINT, OFF(max_keys), NO_LINE, "10000",
	 "Keys per window and kind; past it, keys fold into __other__ (counted).", 16, 10000000},
	{"accuracy", K_FRACTION, OFF(accuracy), NO_LINE, "0.01",
	 "Relative accuracy of latency quantiles (0.01 = 1%; the sketch guarantees it).", 0, 0},
	{"counters", K_COUNTERS, OFF(counters), NO_LINE,
	 "\n"
	 "- name: auth_failures\n"
	 "  match: {category: security}\n"
	 "  field: message\n"
	 "  pattern: '(?i)authentication failed|invalid (?:password|credentials)|account (?:is )?locked'\n",
	 "Named pattern counters, counted per service in every window: records whose labels\n"
	 "match `match` (service, category, level) and, when given, whose `field` matches\n"
	 "`pattern` (PCRE2). At most 32.",
	 0, 0},
};

static const struct key kafka_keys[] = {
	{"brokers", K_STRING, OFF(kafka_brokers), NO_LINE, "localhost:9092",
	 "Bootstrap servers (host:port, comma-separated). `vigil broker` prints an embedded one.", 0, 0},
	{"group_id", K_STRING, OFF(kafka_group), NO_LINE, "vigil",
	 "Consumer group. Instances with the same group share the partitions.", 0, 0},
	{"topics", K_STRLIST, OFF(kafka_topics), NO_LINE, "[logs]",
	 "Topics to consume; a name starting with ^ is a regular expression.", 0, 0},
	{"properties", K_STRMAP, OFF(kafka_properties), NO_LINE, "{}",
	 "Any librdkafka consumer property, passed through unchanged (security.protocol,\n"
	 "sasl.*, ssl.*, fetch sizes...). vigil sets enable.auto.offset.store=false itself:\n"
	 "offsets are stored only once records are processed. A new group starts at the\n"
	 "earliest offset unless auto.offset.reset says otherwise.",
	 0, 0},
	{"workers", K_UINT, OFF(workers), NO_LINE, "0",
	 "Worker threads; partition p goes to worker p mod workers. 0: one per core.", 0, 256},
	{"batch", K_UINT, OFF(kafka_batch), NO_LINE, "1000", "Most messages a worker takes at once.", 1, 100000},
	{"commit_interval", K_DURATION, OFF(commit_interval_ms), NO_LINE, "1s",
	 "How often stored offsets are committed (also on revoke and at shutdown).", 100, 3600000},
	{"shutdown_timeout", K_DURATION, OFF(shutdown_timeout_ms), NO_LINE, "10s",
	 "Bound on a graceful stop (drain, commit, leave the group).", 1000, 600000},
};

static const struct key archive_keys[] = {
	{"dir", K_STRING, OFF(archive_dir), NO_LINE, "./archive",
	 "Where vigil run keeps the zstd archive (off: no archive; then offsets are committed\n"
	 "once records are processed, not once they are on disk).",
	 0, 0},
	{"instance", K_STRING, OFF(archive_instance), NO_LINE, "auto",
	 "Prefix of archive file names; auto: <hostname>-<pid>, so instances and restarts\n"
	 "sharing a directory never write the same file.",
	 0, 0},
	{"level", K_UINT, OFF(archive_level), NO_LINE, "3", "zstd compression level.", 1, 19},
	{"flush_bytes", K_SIZE, OFF(archive_flush_bytes), NO_LINE, "4MiB",
	 "Write a frame (and fsync) once a worker has this much pending...", 4096, 1ull << 30},
	{"flush_ms", K_DURATION, OFF(archive_flush_ms), NO_LINE, "1s", "...or once its oldest pending record is this old.",
	 10, 600000},
	{"rotate_bytes", K_SIZE, OFF(archive_rotate_bytes), NO_LINE, "256MiB",
	 "Close a file (rename .part to its final name) at this size; also when idle a minute.", 1ull << 16,
	 1ull << 40},
	{"dead_letter_days", K_UINT, OFF(archive_dead_letter_days), NO_LINE, "30",
	 "How long vigil prune keeps dead-letter files (records that failed to parse).", 1, 36500},
};

static const struct key rules_keys[] = {
	{"files", K_STRLIST, OFF(rule_files), NO_LINE, "[builtin]",
	 "Alert rule files (YAML, Prometheus-style groups); builtin: the shipped\n"
	 "config/rules.yaml. Evaluated on every closed base window.",
	 0, 0},
};

/* Dotted names are sub-keys: "alertmanager.url" is url under alertmanager:.
 * The rows of one mapping stay together. */
static const struct key notify_keys[] = {
	{"alertmanager.url", K_STRING, OFF(notify_alertmanager), NO_LINE, "off",
	 "Alertmanager to POST alerts to (API v2), e.g. http://127.0.0.1:9093; off: none.", 0, 0},
	{"alertmanager.resend_interval", K_DURATION, OFF(notify_resend_ms), NO_LINE, "1m",
	 "Firing alerts are sent to Alertmanager again this often (it expects it).", 1000, 86400000},
	{"webhooks", K_WEBHOOKS, OFF(notify_webhooks), NO_LINE, "[]",
	 "Receivers of Alertmanager's webhook payload (version 4) for every alert change:\n"
	 "a list of {url: http://..., secret: KEY}. With a secret, each request is signed:\n"
	 "X-Vigil-Signature: sha256=<hex HMAC-SHA256 of the body>. At most 8.",
	 0, 0},
	{"kafka.brokers", K_OPTSTRING, OFF(notify_kafka_brokers), NO_LINE, "~",
	 "Bootstrap servers for the alert topic; ~: the brokers of the kafka section.", 0, 0},
	{"kafka.topic", K_STRING, OFF(notify_kafka_topic), NO_LINE, "off",
	 "Topic that gets every alert change (key: the fingerprint, value: the alert as\n"
	 "JSON, as file.path writes it; idempotent producer, acks=all); off: none.",
	 0, 0},
	{"kafka.properties", K_STRMAP, OFF(notify_kafka_properties), NO_LINE, "{}",
	 "librdkafka producer properties for the alert topic (security.protocol, sasl.*,\n"
	 "ssl.*...): a secured cluster needs them here too, the kafka section's are the\n"
	 "consumer's. vigil keeps enable.idempotence=true and acks=all.",
	 0, 0},
	{"file.path", K_STRING, OFF(notify_file), NO_LINE, "off",
	 "NDJSON of every alert change to this file (- for standard output); off: none.", 0, 0},
	{"outbox.dir", K_STRING, OFF(notify_outbox_dir), NO_LINE, "./outbox",
	 "Alert changes are kept here (fsynced) until every notifier has them.", 0, 0},
	{"outbox.max", K_UINT, OFF(notify_outbox_max), NO_LINE, "100000",
	 "Undelivered alert changes kept at most; past it the oldest are dropped (logged).", 100, 100000000},
	{"timeout", K_DURATION, OFF(notify_timeout_ms), NO_LINE, "5s",
	 "Per HTTP request to a notifier, and per Kafka delivery.", 100, 600000},
	{"catch_up", K_DURATION, OFF(notify_catch_up_ms), NO_LINE, "2m",
	 "vigil run: alert changes decided on a window that ended longer ago than this are a\n"
	 "catch-up (a backlog read after a restart or an outage). An alert that fires and\n"
	 "resolves within it is sent once, resolved, with both times (Alertmanager keeps it\n"
	 "and pages nobody); one still firing when the windows reach the clock is sent then,\n"
	 "once. 0s: every change is sent as it is decided.",
	 0, 604800000},
};

static const struct key http_keys[] = {
	{"listen", K_STRING, OFF(http_listen), OFF(http_listen_line), "127.0.0.1:9187",
	 "Address of the HTTP endpoints of vigil run (/health, /ready, /metrics, /alerts):\n"
	 "HOST:PORT with an IPv4 address or localhost; port 0 picks a free one (logged);\n"
	 "off: no HTTP server.",
	 0, 0},
	{"stall_timeout", K_DURATION, OFF(http_stall_ms), NO_LINE, "30s",
	 "/health fails when a worker or the window closer has shown no sign of life this long.", 1000,
	 3600000},
	{"ready_commit_age", K_DURATION, OFF(http_commit_age_ms), NO_LINE, "1m",
	 "/ready fails when the last offset commit (or commit with nothing new) is older.", 1000, 86400000},
	{"ready_notify_failing", K_DURATION, OFF(http_notify_failing_ms), NO_LINE, "5m",
	 "/ready fails when a notifier's deliveries have been failing this long.", 1000, 86400000},
};

static const struct key log_keys[] = {
	{"level", K_LOGLEVEL, OFF(log_level), NO_LINE, "info",
	 "vigil's own log lines (JSON on standard error) at this level and above:\n"
	 "debug, info, warning or error. --log-level overrides it.",
	 0, 0},
};

#define SECTION(n, d, k) { n, d, k, sizeof(k) / sizeof((k)[0]) }

static const struct section sections[] = {
	SECTION("fields",
		"Where vigil looks for each field: JSON paths, the first listed found wins.\n"
		"A dotted path matches nested objects ({\"http\":{\"status\":500}}) and a literal\n"
		"dotted key ({\"http.status\":500}).",
		fields_keys),
	SECTION("classify", "Level and category classification.", classify_keys),
	SECTION("retention", "Retention classes.", retention_keys),
	SECTION("limits", "Limits on input records.", limits_keys),
	SECTION("log", "vigil's own logs.", log_keys),
	SECTION("aggregate", "Windows, error rates, latency percentiles and pattern counters.", aggregate_keys),
	SECTION("kafka", "The Kafka consumer group (vigil run).", kafka_keys),
	SECTION("archive", "The compressed archive, by retention class, category and hour (vigil run).", archive_keys),
	SECTION("rules", "Alert rules.", rules_keys),
	SECTION("notify", "Where alerts go (vigil run and vigil aggregate). Deliveries are retried with\n"
			  "backoff from a persistent outbox; a slow notifier never blocks ingest.",
		notify_keys),
	SECTION("http", "HTTP endpoints of vigil run: liveness, readiness, Prometheus metrics, alerts.", http_keys),
};

#define N_SECTIONS (sizeof(sections) / sizeof(sections[0]))

/* ---- writing the default ------------------------------------------------ */

static void write_comment(FILE *out, const char *indent, const char *doc)
{
	const char *s = doc;

	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);

		fprintf(out, "%s# %.*s\n", indent, (int)n, s);
		s += n + (nl ? 1 : 0);
	}
}

/* The length of a dotted key's parent name ("alertmanager" of
 * "alertmanager.url"); 0 for a plain key. */
static size_t parent_len(const struct key *key)
{
	const char *dot = strchr(key->name, '.');

	return dot ? (size_t)(dot - key->name) : 0;
}

static bool same_parent(const struct key *a, const struct key *b)
{
	size_t n = parent_len(a);

	return n && n == parent_len(b) && strncmp(a->name, b->name, n) == 0;
}

int vg_config_write_default(FILE *out)
{
	fputs("# vigil configuration. Every key is optional: a key left out keeps the value\n"
	      "# shown here. Check a file with `vigil config --check FILE`.\n",
	      out);
	for (size_t s = 0; s < N_SECTIONS; s++) {
		const struct section *sec = &sections[s];

		fputc('\n', out);
		write_comment(out, "", sec->doc);
		fprintf(out, "%s:\n", sec->name);
		for (size_t k = 0; k < sec->n_keys; k++) {
			const struct key *key = &sec->keys[k];
			size_t pl = parent_len(key);
			const char *indent = pl ? "    " : "  ", *name = key->name + (pl ? pl + 1 : 0);

			if (pl && (k == 0 || !same_parent(key, &sec->keys[k - 1])))
				fprintf(out, "  %.*s:\n", (int)pl, key->name);
			write_comment(out, indent, key->doc);
			if (key->def[0] != '\n') {
				fprintf(out, "%s%s: %s\n", indent, name, key->def);
				continue;
			}
			fprintf(out, "%s%s:\n", indent, name);
			for (const char *l = key->def + 1; *l;) {
				const char *nl = strchr(l, '\n');
				size_t n = nl ? (size_t)(nl - l) : strlen(l);

				fprintf(out, "%s  %.*s\n", indent, (int)n, l);
				l += n + (nl ? 1 : 0);
			}
		}
	}
	return ferror(out) ? VG_ERR_IO : VG_OK;
}

/* ---- loading ------------------------------------------------------------ */

struct loader {
	yaml_document_t *doc;
	const char *name;
	bool is_default; /* lines from the built-in defaults are stored as 0 */
	struct vg_config *cfg;
	char *err;
	size_t errlen;
};

static int line_of(const struct loader *L, const yaml_node_t *n)
{
	return L->is_default ? 0 : (int)n->start_mark.line + 1;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int fail_at(struct loader *L, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (line > 0)
		n = snprintf(L->err, L->errlen, "%s:%d: ", L->name, line);
	else
		n = snprintf(L->err, L->errlen, "%s: (built-in default) ", L->name);
	if (n < 0 || (size_t)n >= L->errlen)
		return VG_ERR_CONFIG;
	va_start(ap, fmt);
	vsnprintf(L->err + n, L->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return VG_ERR_CONFIG;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int fail(struct loader *L, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fail_at(L, line_of(L, n), "%s", msg);
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static bool is_null(const yaml_node_t *n)
{
	const char *s = scalar(n);

	return s && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0);
}

static const char *type_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE: return is_null(n) ? "nothing" : "a scalar";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a mapping";
	default: return "nothing";
	}
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);

	if (d)
		memcpy(d, s, n);
	return d;
}

static void strlist_free(struct vg_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void rules_free(void *rows, size_t n)
{
	struct vg_cfg_rule *r = rows;

	for (size_t i = 0; i < n; i++) {
		free(r[i].category);
		for (size_t j = 0; j < r[i].n_conds; j++)
			free(r[i].conds[j].pattern);
		free(r[i].conds);
	}
	free(r);
}

static void retention_free(void *rows, size_t n)
{
	struct vg_cfg_retention *r = rows;

	for (size_t i = 0; i < n; i++)
		free(r[i].category);
	free(r);
}

/* Iterate a mapping's pairs, refusing non-scalar and duplicate keys. */
#define PAIRS_FOR(doc, map, pair)                                                                   \
	for (yaml_node_pair_t *pair = (map)->data.mapping.pairs.start; pair < (map)->data.mapping.pairs.top; pair++)

static int check_mapping_keys(struct loader *L, yaml_node_t *map, const char *what)
{
	PAIRS_FOR(L->doc, map, a)
	{
		yaml_node_t *k = yaml_document_get_node(L->doc, a->key);
		const char *ks = scalar(k);

		if (!ks)
			return fail(L, k, "%s: keys must be plain names, found %s", what, type_name(k));
		for (yaml_node_pair_t *b = map->data.mapping.pairs.start; b < a; b++) {
			const char *prev = scalar(yaml_document_get_node(L->doc, b->key));

			if (prev && strcmp(prev, ks) == 0)
				return fail(L, k, "%s: duplicate key '%s'", what, ks);
		}
	}
	return VG_OK;
}

/* One row of a list of rows: a mapping with plain, distinct keys, else
 * "WHAT: each SHAPE, got TYPE". */
static int check_row(struct loader *L, yaml_node_t *n, const char *what, const char *shape)
{
	if (n->type != YAML_MAPPING_NODE)
		return fail(L, n, "%s: each %s, got %s", what, shape, type_name(n));
	return check_mapping_keys(L, n, what);
}

/* A row's category, kept as written (validate() looks it up). */
static int parse_row_category(struct loader *L, yaml_node_t *v, const char *what, char **out)
{
	const char *vs = scalar(v);

	if (!vs || is_null(v))
		return fail(L, v, "%s: category must be a name", what);
	return (*out = xstrdup(vs)) ? VG_OK : VG_ERR_NOMEM;
}

/* A key whose value is a list of rows (mappings) that become an array of
 * structs in struct vg_config: classification rules, retention rows,
 * counters, webhooks. */
struct row_list {
	const char *expected; /* what the value must be: "a list of rules" */
	size_t max;           /* most rows, 0: any number */
	const char *noun;     /* the rows' name in "at most MAX NOUN" */
	size_t size;          /* of one row */
	/* Fill rows[i] from n; rows[0..i) are parsed already. */
	int (*parse)(struct loader *L, yaml_node_t *n, const char *what, void *rows, size_t i);
	/* Free rows[0..n) and the array. */
	void (*free)(void *rows, size_t n);
	/* Free the configuration's array and put rows[0..n) in its place. */
	void (*keep)(struct vg_config *cfg, void *rows, size_t n);
};

static int parse_rows(struct loader *L, yaml_node_t *n, const char *what, const struct row_list *list)
{
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(L, n, "%s: expected %s, got %s", what, list->expected, type_name(n));
	size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);

	if (list->max && cnt > list->max)
		return fail(L, n, "%s: at most %zu %s", what, list->max, list->noun);
	void *rows = calloc(cnt ? cnt : 1, list->size);
	size_t i = 0;
	int rc;

	if (!rows)
		return VG_ERR_NOMEM;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++, i++) {
		if ((rc = list->parse(L, yaml_document_get_node(L->doc, *it), what, rows, i)) != VG_OK) {
			list->free(rows, i + 1);
			return rc;
		}
	}
	list->keep(L->cfg, rows, cnt);
	return VG_OK;
}

static int parse_uint(struct loader *L, yaml_node_t *n, const char *what, unsigned long long min,
		      unsigned long long max, bool size, unsigned long long *out)
{
	const char *s = scalar(n);
	char *end;

	if (!s || is_null(n) || !isdigit((unsigned char)s[0]))
		return fail(L, n, "%s: expected %s, got %s%s%s", what, size ? "a size (e.g. 1MiB)" : "a whole number",
			    s ? "'" : type_name(n), s ? s : "", s ? "'" : "");
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	unsigned long long mult = 1;

	if (size && *end) {
		if (strcmp(end, "B") == 0)
			mult = 1;
		else if (strcmp(end, "KiB") == 0)
			mult = 1ull << 10;
		else if (strcmp(end, "MiB") == 0)
			mult = 1ull << 20;
		else if (strcmp(end, "GiB") == 0)
			mult = 1ull << 30;
		else
			return fail(L, n, "%s: unknown size unit in '%s' (use B, KiB, MiB or GiB)", what, s);
		end += strlen(end);
	}
	if (*end || errno == ERANGE || (mult > 1 && v > ULLONG_MAX / mult))
		return fail(L, n, "%s: expected %s, got '%s'", what, size ? "a size (e.g. 1MiB)" : "a whole number",
			    s);
	v *= mult;
	if (v < min || v > max)
		return fail(L, n, "%s: %s is out of range (%llu..%llu)", what, s, min, max);
	*out = v;
	return VG_OK;
}

int64_t vg_config_parse_duration(const char *s)
{
	static const struct {
		const char *unit;
		unsigned long long mult;
	} units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
	unsigned long long total = 0;

	if (!s || !*s)
		return -1;
	/* One or more NUMBER UNIT parts, largest first by habit: 1h30m, 10m20s. */
	while (*s) {
		char *end;

		if (!isdigit((unsigned char)s[0]))
			return -1;
		errno = 0;
		unsigned long long v = strtoull(s, &end, 10);
		size_t u = 0, ul;

		if (errno == ERANGE)
			return -1;
		/* "ms" before "m": the longer unit that matches. */
		for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
			ul = strlen(units[u].unit);
			if (strncmp(end, units[u].unit, ul) == 0 && !(u == 2 && end[1] == 's'))
				break;
		}
		if (u == sizeof(units) / sizeof(units[0]))
			return -1;
		if (v > ((unsigned long long)INT64_MAX - total) / units[u].mult)
			return -1;
		total += v * units[u].mult;
		s = end + ul;
	}
	return (int64_t)total;
}

static int parse_duration(struct loader *L, yaml_node_t *n, const char *what, const struct key *key,
			  int64_t *out)
{
	const char *s = scalar(n);
	int64_t v = vg_config_parse_duration(s);

	if (v < 0)
		return fail(L, n, "%s: expected a duration like 500ms, 10s, 5m, 1h or 3d, got %s%s%s", what,
			    s ? "'" : type_name(n), s ? s : "", s ? "'" : "");
	if ((unsigned long long)v < key->min || (unsigned long long)v > key->max)
		return fail(L, n, "%s: %s is out of range (%llums..%llums)", what, s, key->min, key->max);
	*out = v;
	return VG_OK;
}

static int parse_fraction(struct loader *L, yaml_node_t *n, const char *what, double *out)
{
	const char *s = scalar(n);
	char *end;
	double v = s ? strtod(s, &end) : 0;

	if (!s || is_null(n) || end == s || *end)
		return fail(L, n, "%s: expected a number, got %s%s%s", what, s ? "'" : type_name(n), s ? s : "",
			    s ? "'" : "");
	if (!(v > 0 && v < 1))
		return fail(L, n, "%s: %s is out of range (strictly between 0 and 1)", what, s);
	*out = v;
	return VG_OK;
}

static void counters_free(void *rows, size_t n)
{
	struct vg_cfg_counter *c = rows;

	for (size_t i = 0; i < n; i++) {
		free(c[i].name);
		free(c[i].service);
		free(c[i].category_name);
		free(c[i].pattern);
	}
	free(c);
}

static int parse_counter(struct loader *L, yaml_node_t *n, const char *what, void *rows, size_t i)
{
	struct vg_cfg_counter *all = rows, *c = &all[i];
	int rc;

	c->line = line_of(L, n);
	c->category = c->level = c->field = -1;
	if ((rc = check_row(L, n, what, "counter is a mapping {name, match, field, pattern}")) != VG_OK)
		return rc;
	PAIRS_FOR(L->doc, n, pr)
	{
		yaml_node_t *k = yaml_document_get_node(L->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(L->doc, pr->value);
		const char *ks = scalar(k), *vs = scalar(v);

		if (strcmp(ks, "match") == 0) {
			if (v->type != YAML_MAPPING_NODE)
				return fail(L, v, "%s: match must map service/category/level to values", what);
			if ((rc = check_mapping_keys(L, v, what)) != VG_OK)
				return rc;
			PAIRS_FOR(L->doc, v, mp)
			{
				yaml_node_t *mk = yaml_document_get_node(L->doc, mp->key);
				yaml_node_t *mv = yaml_document_get_node(L->doc, mp->value);
				const char *mks = scalar(mk), *mvs = scalar(mv);

				if (!mvs || is_null(mv) || !*mvs)
					return fail(L, mv, "%s: match.%s must be a value", what, mks);
				if (strcmp(mks, "service") == 0) {
					if (!(c->service = xstrdup(mvs)))
						return VG_ERR_NOMEM;
				} else if (strcmp(mks, "category") == 0) {
					if (!(c->category_name = xstrdup(mvs)))
						return VG_ERR_NOMEM;
				} else if (strcmp(mks, "level") == 0) {
					if ((c->level = vg_level_from_name(mvs)) < 0)
						return fail(L, mv, "%s: unknown level '%s'", what, mvs);
				} else {
					return fail(L, mk, "%s: match on unknown label '%s' (service, category, level)",
						    what, mks);
				}
			}
			continue;
		}
		if (!vs || is_null(v) || !*vs)
			return fail(L, v, "%s: %s must be a non-empty string", what, ks);
		if (strcmp(ks, "name") == 0) {
			for (const char *p = vs; *p; p++) {
				if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
					return fail(L, v, "%s: name '%s' must be lower-case letters, digits and '_'",
						    what, vs);
			}
			if (!(c->name = xstrdup(vs)))
				return VG_ERR_NOMEM;
		} else if (strcmp(ks, "field") == 0) {
			if ((c->field = vg_field_from_name(vs)) < 0)
				return fail(L, v, "%s: unknown field '%s'", what, vs);
		} else if (strcmp(ks, "pattern") == 0) {
			if (!(c->pattern = xstrdup(vs)))
				return VG_ERR_NOMEM;
		} else {
			return fail(L, k, "%s: unknown key '%s' (expected name, match, field, pattern)", what, ks);
		}
	}
	if (!c->name)
		return fail(L, n, "%s: counter without a name", what);
	if ((c->pattern != NULL) != (c->field >= 0))
		return fail(L, n, "%s: counter '%s' needs both field and pattern, or neither", what, c->name);
	for (size_t j = 0; j < i; j++) {
		if (strcmp(all[j].name, c->name) == 0)
			return fail_at(L, c->line, "%s: name '%s' used twice", what, c->name);
	}
	return VG_OK;
}

static void counters_keep(struct vg_config *cfg, void *rows, size_t n)
{
	counters_free(cfg->counters, cfg->n_counters);
	cfg->counters = rows;
	cfg->n_counters = n;
}

static const struct row_list counter_rows = {
	.expected = "a list", .max = VG_MAX_COUNTERS, .noun = "counters", .size = sizeof(struct vg_cfg_counter),
	.parse = parse_counter, .free = counters_free, .keep = counters_keep,
};

static int parse_strlist(struct loader *L, yaml_node_t *n, const char *what, struct vg_strlist *out)
{
	struct vg_strlist l = {.line = line_of(L, n)};

	if (n->type != YAML_SEQUENCE_NODE)
		return fail(L, n, "%s: expected a list, got %s", what, type_name(n));
	size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);

	l.v = calloc(cnt ? cnt : 1, sizeof(char *));
	if (!l.v)
		return VG_ERR_NOMEM;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *e = yaml_document_get_node(L->doc, *it);
		const char *s = scalar(e);

		if (!s || is_null(e) || !*s) {
			strlist_free(&l);
			return fail(L, e, "%s: list items must be non-empty strings, found %s", what, type_name(e));
		}
		if (!(l.v[l.n] = xstrdup(s))) {
			strlist_free(&l);
			return VG_ERR_NOMEM;
		}
		l.n++;
	}
	strlist_free(out);
	*out = l;
	return VG_OK;
}

static void webhooks_free(void *rows, size_t n)
{
	struct vg_cfg_webhook *w = rows;

	for (size_t i = 0; i < n; i++) {
		free(w[i].url);
		free(w[i].secret);
	}
	free(w);
}

static int parse_webhook(struct loader *L, yaml_node_t *n, const char *what, void *rows, size_t i)
{
	struct vg_cfg_webhook *w = (struct vg_cfg_webhook *)rows + i;
	int rc;

	w->line = line_of(L, n);
	if ((rc = check_row(L, n, what, "webhook is a mapping {url, secret}")) != VG_OK)
		return rc;
	PAIRS_FOR(L->doc, n, pr)
	{
		yaml_node_t *k = yaml_document_get_node(L->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(L->doc, pr->value);
		const char *ks = scalar(k), *vs = scalar(v);
		char **dst;

		if (strcmp(ks, "url") == 0)
			dst = &w->url;
		else if (strcmp(ks, "secret") == 0)
			dst = &w->secret;
		else
			return fail(L, k, "%s: unknown key '%s' (expected url, secret)", what, ks);
		if (!vs || is_null(v) || !*vs)
			return fail(L, v, "%s: %s must be a non-empty string, got %s", what, ks, type_name(v));
		if (dst == &w->url && strncmp(vs, "http://", 7) != 0 && strncmp(vs, "https://", 8) != 0)
			return fail(L, v, "%s: url '%s' is not an http:// or https:// URL", what, vs);
		if (!(*dst = xstrdup(vs)))
			return VG_ERR_NOMEM;
	}
	if (!w->url)
		return fail(L, n, "%s: webhook without a url", what);
	return VG_OK;
}

static void webhooks_keep(struct vg_config *cfg, void *rows, size_t n)
{
	webhooks_free(cfg->notify_webhooks, cfg->n_notify_webhooks);
	cfg->notify_webhooks = rows;
	cfg->n_notify_webhooks = n;
}

static const struct row_list webhook_rows = {
	.expected = "a list of {url, secret}", .max = VG_MAX_WEBHOOKS, .noun = "webhooks",
	.size = sizeof(struct vg_cfg_webhook), .parse = parse_webhook, .free = webhooks_free, .keep = webhooks_keep,
};

static int parse_aliases(struct loader *L, yaml_node_t *n, const char *what, struct vg_strlist *out, bool lower)
{
	struct vg_strlist l = {.line = line_of(L, n)};
	int rc;

	if (n->type != YAML_MAPPING_NODE)
		return fail(L, n, "%s: expected a mapping, got %s", what, type_name(n));
	if ((rc = check_mapping_keys(L, n, what)) != VG_OK)
		return rc;
	size_t cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);

	l.v = calloc(2 * cnt + 1, sizeof(char *));
	if (!l.v)
		return VG_ERR_NOMEM;
	PAIRS_FOR(L->doc, n, pr)
	{
		yaml_node_t *v = yaml_document_get_node(L->doc, pr->value);
		const char *ks = scalar(yaml_document_get_node(L->doc, pr->key));
		const char *vs = scalar(v);

		if (!vs || is_null(v)) {
			strlist_free(&l);
			return fail(L, v, "%s: '%s' needs a value", what, ks);
		}
		l.v[l.n] = xstrdup(ks);
		l.v[l.n + 1] = xstrdup(vs);
		l.n += 2;
		if (!l.v[l.n - 2] || !l.v[l.n - 1]) {
			strlist_free(&l);
			return VG_ERR_NOMEM;
		}
		for (char *c = l.v[l.n - 2]; lower && *c; c++)
			*c = (char)tolower((unsigned char)*c);
	}
	strlist_free(out);
	*out = l;
	return VG_OK;
}

static int parse_rule(struct loader *L, yaml_node_t *n, const char *what, void *rows, size_t i)
{
	struct vg_cfg_rule *r = (struct vg_cfg_rule *)rows + i;
	int rc;

	r->line = line_of(L, n);
	if ((rc = check_row(L, n, what, "rule is a mapping with category and any/all")) != VG_OK)
		return rc;
	yaml_node_t *conds = NULL;

	PAIRS_FOR(L->doc, n, pr)
	{
		yaml_node_t *k = yaml_document_get_node(L->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(L->doc, pr->value);
		const char *ks = scalar(k);

		if (strcmp(ks, "category") == 0) {
			if ((rc = parse_row_category(L, v, what, &r->category)) != VG_OK)
				return rc;
		} else if (strcmp(ks, "any") == 0 || strcmp(ks, "all") == 0) {
			if (conds)
				return fail(L, k, "%s: a rule has either any: or all:, not both", what);
			conds = v;
			r->all = ks[1] == 'l';
		} else {
			return fail(L, k, "%s: unknown key '%s' (expected category, any or all)", what, ks);
		}
	}
	if (!r->category)
		return fail(L, n, "%s: rule without a category", what);
	if (!conds)
		return fail(L, n, "%s: rule for '%s' has neither any: nor all:", what, r->category);
	if (conds->type != YAML_MAPPING_NODE || conds->data.mapping.pairs.top == conds->data.mapping.pairs.start)
		return fail(L, conds, "%s: any:/all: must map field names to patterns, got %s", what,
			    type_name(conds));
	if ((rc = check_mapping_keys(L, conds, what)) != VG_OK)
		return rc;
	size_t cnt = (size_t)(conds->data.mapping.pairs.top - conds->data.mapping.pairs.start);

	if (!(r->conds = calloc(cnt, sizeof(*r->conds))))
		return VG_ERR_NOMEM;
	PAIRS_FOR(L->doc, conds, pr)
	{
		yaml_node_t *k = yaml_document_get_node(L->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(L->doc, pr->value);
		const char *ks = scalar(k), *vs = scalar(v);
		int f = vg_field_from_name(ks);

		if (f < 0)
			return fail(L, k, "%s: unknown field '%s' (fields are the keys of the fields section)",
				    what, ks);
		if (!vs || is_null(v) || !*vs)
			return fail(L, v, "%s: pattern for %s must be a non-empty string", what, ks);
		struct vg_cfg_cond *c = &r->conds[r->n_conds++];

		c->field = f;
		c->line = line_of(L, v);
		if (!(c->pattern = xstrdup(vs)))
			return VG_ERR_NOMEM;
	}
	return VG_OK;
}

static void rules_keep(struct vg_config *cfg, void *rows, size_t n)
{
	rules_free(cfg->rules, cfg->n_rules);
	cfg->rules = rows;
	cfg->n_rules = n;
}

static const struct row_list rule_rows = {
	.expected = "a list of rules", .size = sizeof(struct vg_cfg_rule), .parse = parse_rule, .free = rules_free,
	.keep = rules_keep,
};

static int parse_retention_row(struct loader *L, yaml_node_t *n, const char *what, void *rows, size_t i)
{
	struct vg_cfg_retention *r = (struct vg_cfg_retention *)rows + i;
	bool have_days = false;
	int rc;

	r->line = line_of(L, n);
	r->levels = ~0u;
	if ((rc = check_row(L, n, what, "row is a mapping {category, levels, days}")) != VG_OK)
		return rc;
	PAIRS_FOR(L->doc, n, pr)
	{
		yaml_node_t *k = yaml_document_get_node(L->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(L->doc, pr->value);
		const char *ks = scalar(k);

		if (strcmp(ks, "category") == 0) {
			if ((rc = parse_row_category(L, v, what, &r->category)) != VG_OK)
				return rc;
		} else if (strcmp(ks, "levels") == 0) {
			if (v->type != YAML_SEQUENCE_NODE)
				return fail(L, v, "%s: levels must be a list of level names", what);
			r->levels = 0;
			for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
			     it++) {
				yaml_node_t *e = yaml_document_get_node(L->doc, *it);
				const char *es = scalar(e);
				int lv = es ? vg_level_from_name(es) : -1;

				if (lv < 0)
					return fail(L, e,
						    "%s: unknown level '%s' (TRACE, DEBUG, INFO, WARNING, ERROR, CRITICAL, "
						    "UNKNOWN)",
						    what, es ? es : type_name(e));
				r->levels |= 1u << lv;
			}
		} else if (strcmp(ks, "days") == 0) {
			unsigned long long d;

			if ((rc = parse_uint(L, v, "retention.policy: days", 1, 36500, false, &d)) != VG_OK)
				return rc;
			r->days = (unsigned)d;
			have_days = true;
		} else {
			return fail(L, k, "%s: unknown key '%s' (expected category, levels, days)", what, ks);
		}
	}
	if (!have_days)
		return fail(L, n, "%s: row without days", what);
	return VG_OK;
}

static void retention_keep(struct vg_config *cfg, void *rows, size_t n)
{
	retention_free(cfg->retention, cfg->n_retention);
	cfg->retention = rows;
	cfg->n_retention = n;
}

static const struct row_list retention_rows = {
	.expected = "a list of rows", .size = sizeof(struct vg_cfg_retention), .parse = parse_retention_row,
	.free = retention_free, .keep = retention_keep,
};

static int apply_key(struct loader *L, const struct section *sec, const struct key *key, yaml_node_t *v)
{
	char what[128];
	void *dst = (char *)L->cfg + key->off;
	unsigned long long u;
	int rc;

	snprintf(what, sizeof(what), "%s.%s", sec->name, key->name);
	if (key->line_off != NO_LINE)
		*(int *)(void *)((char *)L->cfg + key->line_off) = line_of(L, v);
	switch (key->type) {
	case K_UINT:
	case K_SIZE:
		if ((rc = parse_uint(L, v, what, key->min, key->max, key->type == K_SIZE, &u)) != VG_OK)
			return rc;
		if (key->type == K_SIZE)
			*(size_t *)dst = (size_t)u;
		else
			*(unsigned *)dst = (unsigned)u; /* K_UINT ranges stay below UINT_MAX */
		return VG_OK;
	case K_STRING:
	case K_OPTSTRING: {
		const char *s = scalar(v);
		char *d;

		if (key->type == K_OPTSTRING && is_null(v)) {
			free(*(char **)dst);
			*(char **)dst = NULL;
			return VG_OK;
		}
		if (!s || is_null(v) || !*s)
			return fail(L, v, "%s: expected a non-empty string, got %s", what, type_name(v));
		if (!(d = xstrdup(s)))
			return VG_ERR_NOMEM;
		free(*(char **)dst);
		*(char **)dst = d;
		return VG_OK;
	}
	case K_STRLIST: return parse_strlist(L, v, what, dst);
	case K_ALIASES: return parse_aliases(L, v, what, dst, true);
	case K_STRMAP: return parse_aliases(L, v, what, dst, false);
	case K_RULES: return parse_rows(L, v, what, &rule_rows);
	case K_RETENTION: return parse_rows(L, v, what, &retention_rows);
	case K_DURATION: return parse_duration(L, v, what, key, dst);
	case K_FRACTION: return parse_fraction(L, v, what, dst);
	case K_COUNTERS: return parse_rows(L, v, what, &counter_rows);
	case K_WEBHOOKS: return parse_rows(L, v, what, &webhook_rows);
	case K_LOGLEVEL: {
		int level = scalar(v) && !is_null(v) ? vg_log_level_from_name(scalar(v)) : -1;

		if (level < 0)
			return fail(L, v, "%s: expected debug, info, warning or error, got '%s'", what,
				    scalar(v) ? scalar(v) : type_name(v));
		*(int *)dst = level;
		return VG_OK;
	}
	}
	return VG_ERR_INVALID;
}

static const struct section *find_section(const char *name)
{
	for (size_t s = 0; s < N_SECTIONS; s++) {
		if (strcmp(sections[s].name, name) == 0)
			return &sections[s];
	}
	return NULL;
}

/* The row of key name under parent (NULL: directly in the section). */
static const struct key *find_key(const struct section *sec, const char *parent, const char *name)
{
	size_t pl = parent ? strlen(parent) : 0;

	for (size_t i = 0; i < sec->n_keys; i++) {
		const struct key *k = &sec->keys[i];

		if (!parent ? strcmp(k->name, name) == 0
			    : parent_len(k) == pl && strncmp(k->name, parent, pl) == 0 &&
				      strcmp(k->name + pl + 1, name) == 0)
			return k;
	}
	return NULL;
}

/* Whether name is a mapping of sub-keys in sec. */
static bool is_parent(const struct section *sec, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < sec->n_keys; i++) {
		if (parent_len(&sec->keys[i]) == n && strncmp(sec->keys[i].name, name, n) == 0)
			return true;
	}
	return false;
}

/* The names expected: sections (sec NULL), a section's keys, or the
 * sub-keys under parent. */
static void list_names(char *buf, size_t len, const struct section *sec, const char *parent)
{
	size_t o = 0, pl = parent ? strlen(parent) : 0;
	bool first = true;

	buf[0] = '\0';
	for (size_t i = 0; i < (sec ? sec->n_keys : N_SECTIONS) && o < len; i++) {
		const struct key *k = sec ? &sec->keys[i] : NULL;
		const char *n = k ? k->name : sections[i].name;
		size_t nl = k && !parent && parent_len(k) ? parent_len(k) : strlen(n);
		int w;

		if (parent && (parent_len(k) != pl || strncmp(n, parent, pl) != 0))
			continue;
		if (!parent && k && i > 0 && same_parent(k, &sec->keys[i - 1]))
			continue; /* one name for a mapping's rows */
		if (parent) {
			n += pl + 1;
			nl = strlen(n);
		}
		w = snprintf(buf + o, len - o, "%s%.*s", first ? "" : ", ", (int)nl, n);
		if (w < 0)
			break;
		o += (size_t)w;
		first = false;
	}
}

/* Apply a mapping of keys: a section's, or the sub-keys under parent. */
static int apply_keys(struct loader *L, const struct section *sec, const char *parent, yaml_node_t *map)
{
	char where[128], names[512];
	int rc;

	snprintf(where, sizeof(where), "%s%s%s", sec->name, parent ? "." : "", parent ? parent : "");
	if ((rc = check_mapping_keys(L, map, where)) != VG_OK)
		return rc;
	PAIRS_FOR(L->doc, map, kp)
	{
		yaml_node_t *kk = yaml_document_get_node(L->doc, kp->key);
		yaml_node_t *kv = yaml_document_get_node(L->doc, kp->value);
		const char *ks = scalar(kk);
		const struct key *key = find_key(sec, parent, ks);

		if (!key && !parent && is_parent(sec, ks)) {
			if (is_null(kv))
				continue;
			if (kv->type != YAML_MAPPING_NODE)
				return fail(L, kv, "%s.%s must be a mapping of keys, got %s", where, ks, type_name(kv));
			if ((rc = apply_keys(L, sec, ks, kv)) != VG_OK)
				return rc;
			continue;
		}
		if (!key) {
			list_names(names, sizeof(names), sec, parent);
			return fail(L, kk, "unknown key '%s' in %s%s (expected one of: %s)", ks,
				    parent ? "" : "section ", where, names);
		}
		if ((rc = apply_key(L, sec, key, kv)) != VG_OK)
			return rc;
	}
	return VG_OK;
}

static int apply_document(struct loader *L)
{
	yaml_node_t *root = yaml_document_get_root_node(L->doc);
	char names[512];
	int rc;

	if (!root || is_null(root))
		return VG_OK; /* an empty file: all defaults */
	if (root->type != YAML_MAPPING_NODE)
		return fail(L, root, "the top level must be a mapping of sections, got %s", type_name(root));
	if ((rc = check_mapping_keys(L, root, "top level")) != VG_OK)
		return rc;
	PAIRS_FOR(L->doc, root, sp)
	{
		yaml_node_t *sk = yaml_document_get_node(L->doc, sp->key);
		yaml_node_t *sv = yaml_document_get_node(L->doc, sp->value);
		const struct section *sec = find_section(scalar(sk));

		if (!sec) {
			list_names(names, sizeof(names), NULL, NULL);
			return fail(L, sk, "unknown section '%s' (expected one of: %s)", scalar(sk), names);
		}
		if (is_null(sv))
			continue;
		if (sv->type != YAML_MAPPING_NODE)
			return fail(L, sv, "section %s must be a mapping of keys, got %s", sec->name, type_name(sv));
		if ((rc = apply_keys(L, sec, NULL, sv)) != VG_OK)
			return rc;
	}
	return VG_OK;
}

static int load_text(struct loader *L, const char *text, size_t len)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int rc;

	if (!yaml_parser_initialize(&parser))
		return VG_ERR_NOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		int line = (int)parser.problem_mark.line + 1;

		rc = fail_at(L, L->is_default ? 0 : line, "YAML syntax: %s%s%s",
			     parser.problem ? parser.problem : "unknown error", parser.context ? " " : "",
			     parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		return rc;
	}
	L->doc = &doc;
	rc = apply_document(L);
	/* A second document in one file is almost certainly a mistake. */
	if (rc == VG_OK) {
		yaml_document_t extra;

		if (yaml_parser_load(&parser, &extra)) {
			if (yaml_document_get_root_node(&extra))
				rc = fail_at(L, (int)extra.start_mark.line + 1,
					     "more than one YAML document; vigil reads one");
			yaml_document_delete(&extra);
		}
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	L->doc = NULL;
	return rc;
}

/* ---- cross-key validation ---------------------------------------------- */

static bool valid_category_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (; *s; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return false;
	}
	return true;
}

static int check_paths(struct loader *L)
{
	struct vg_config *c = L->cfg;

	for (int f = 0; f < VG_F_COUNT; f++) {
		const char *name = vg_field_name(f);

		for (size_t i = 0; i < c->paths[f].n; i++) {
			const char *p = c->paths[f].v[i];
			size_t comp = 0;

			for (const char *s = p;; s++) {
				if (*s == '.' || *s == '\0') {
					if (comp == 0 || comp > 63)
						return fail_at(L, c->paths[f].line,
							       "fields.%s: path '%s' has an %s component", name, p,
							       comp ? "over-long (64+ bytes)" : "empty");
					comp = 0;
					if (!*s)
						break;
				} else {
					comp++;
				}
			}
			for (int g = 0; g < VG_F_COUNT; g++) {
				for (size_t j = 0; j < c->paths[g].n; j++) {
					if ((g != f || j != i) && strcmp(c->paths[g].v[j], p) == 0)
						return fail_at(L, c->paths[f].line,
							       "fields.%s: path '%s' is also listed %s%s", name, p,
							       g == f ? "twice" : "under fields.",
							       g == f ? "" : vg_field_name(g));
				}
			}
		}
		if (c->paths[f].n > 32)
			return fail_at(L, c->paths[f].line, "fields.%s: at most 32 paths", name);
	}
	return VG_OK;
}

static int check_pattern(struct loader *L, const char *pattern, int line, const char *what, int field)
{
	int errcode;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &errcode, &off, NULL);

	if (!re) {
		PCRE2_UCHAR msg[256];

		pcre2_get_error_message(errcode, msg, sizeof(msg));
		return fail_at(L, line, "%s: bad pattern for %s at offset %zu: %s", what, vg_field_name(field),
			       (size_t)off, (const char *)msg);
	}
	pcre2_code_free(re);
	return VG_OK;
}

static int validate(struct loader *L)
{
	struct vg_config *c = L->cfg;
	int rc;

	if ((rc = check_paths(L)) != VG_OK)
		return rc;
	if (c->categories.n == 0 || c->categories.n > 250)
		return fail_at(L, c->categories.line, "classify.categories: list 1 to 250 categories");
	for (size_t i = 0; i < c->categories.n; i++) {
		if (!valid_category_name(c->categories.v[i]))
			return fail_at(L, c->categories.line,
				       "classify.categories: '%s' is not a valid name (lower-case letters, digits, "
				       "'_', '-'; at most 64)",
				       c->categories.v[i]);
		for (size_t j = 0; j < i; j++) {
			if (strcmp(c->categories.v[i], c->categories.v[j]) == 0)
				return fail_at(L, c->categories.line, "classify.categories: '%s' listed twice",
					       c->categories.v[i]);
		}
	}
	for (size_t i = 0; i + 1 < c->aliases.n; i += 2) {
		if (vg_config_category_index(c, c->aliases.v[i + 1]) < 0)
			return fail_at(L, c->aliases.line, "classify.aliases: '%s' maps to unknown category '%s'",
				       c->aliases.v[i], c->aliases.v[i + 1]);
	}
	if (vg_config_category_index(c, c->default_category) < 0)
		return fail_at(L, c->default_category_line, "classify.default: unknown category '%s'",
			       c->default_category);
	for (size_t i = 0; i < c->n_rules; i++) {
		const struct vg_cfg_rule *r = &c->rules[i];

		if (vg_config_category_index(c, r->category) < 0)
			return fail_at(L, r->line, "classify.rules: unknown category '%s' (not in classify.categories)",
				       r->category);
		for (size_t j = 0; j < r->n_conds; j++) {
			if ((rc = check_pattern(L, r->conds[j].pattern, r->conds[j].line, "classify.rules",
						r->conds[j].field)) != VG_OK)
				return rc;
		}
	}
	for (size_t i = 0; i < c->n_retention; i++) {
		const struct vg_cfg_retention *r = &c->retention[i];

		if (r->category && vg_config_category_index(c, r->category) < 0)
			return fail_at(L, r->line, "retention.policy: unknown category '%s' (not in classify.categories)",
				       r->category);
	}
	for (size_t i = 0; i < c->n_counters; i++) {
		struct vg_cfg_counter *k = &c->counters[i];

		if (k->category_name && (k->category = vg_config_category_index(c, k->category_name)) < 0)
			return fail_at(L, k->line, "aggregate.counters: unknown category '%s' in counter '%s'",
				       k->category_name, k->name);
		if (k->pattern &&
		    (rc = check_pattern(L, k->pattern, k->line, "aggregate.counters", k->field)) != VG_OK)
			return rc;
	}
	char host[64];
	unsigned port;

	if (strcmp(c->http_listen, "off") != 0 && !vg_config_parse_listen(c->http_listen, host, sizeof(host), &port))
		return fail_at(L, c->http_listen_line,
			       "http.listen: '%s' is not HOST:PORT (an IPv4 address or localhost, port 0 to 65535) "
			       "or off",
			       c->http_listen);
	return VG_OK;
}

/* ---- entry points ------------------------------------------------------- */

static int load_defaults(struct loader *L)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	int rc;

	if (!mem)
		return VG_ERR_NOMEM;
	rc = vg_config_write_default(mem);
	if (fclose(mem) != 0 || rc != VG_OK) {
		free(text);
		return VG_ERR_NOMEM;
	}
	L->is_default = true;
	rc = load_text(L, text, len);
	L->is_default = false;
	free(text);
	return rc;
}

int vg_config_load_string(struct vg_config **out, const char *yaml, size_t len, const char *name,
			  char *errbuf, size_t errlen)
{
	struct vg_config *cfg = calloc(1, sizeof(*cfg));
	struct loader L = {.name = name, .cfg = cfg, .err = errbuf, .errlen = errlen};
	int rc;

	*out = NULL;
	if (errlen)
		errbuf[0] = '\0';
	if (!cfg)
		return VG_ERR_NOMEM;
	if (!(cfg->source = xstrdup(name))) {
		rc = VG_ERR_NOMEM;
		goto out_free_cfg;
	}
	if ((rc = load_defaults(&L)) != VG_OK)
		goto out_free_cfg;
	if (yaml && (rc = load_text(&L, yaml, len)) != VG_OK)
		goto out_free_cfg;
	if ((rc = validate(&L)) != VG_OK)
		goto out_free_cfg;
	*out = cfg;
	return VG_OK;

out_free_cfg:
	if (rc == VG_ERR_NOMEM)
		snprintf(errbuf, errlen, "%s: out of memory", name);
	vg_config_free(cfg);
	return rc;
}

int vg_config_load(struct vg_config **out, const char *path, char *errbuf, size_t errlen)
{
	FILE *f;
	char *text = NULL;
	size_t len = 0, cap = 0;
	int rc;

	if (!path)
		return vg_config_load_string(out, NULL, 0, "<default>", errbuf, errlen);
	*out = NULL;
	if (!(f = fopen(path, "rb"))) {
		snprintf(errbuf, errlen, "%s: cannot open: %s", path, strerror(errno));
		return VG_ERR_IO;
	}
	for (;;) {
		if (len == cap) {
			char *t = realloc(text, cap ? cap * 2 : 8192);

			if (!t) {
				free(text);
				fclose(f);
				snprintf(errbuf, errlen, "%s: out of memory", path);
				return VG_ERR_NOMEM;
			}
			text = t;
			cap = cap ? cap * 2 : 8192;
		}
		size_t n = fread(text + len, 1, cap - len, f);

		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(errbuf, errlen, "%s: read error: %s", path, strerror(errno));
		free(text);
		fclose(f);
		return VG_ERR_IO;
	}
	fclose(f);
	rc = vg_config_load_string(out, text, len, path, errbuf, errlen);
	free(text);
	return rc;
}

void vg_config_free(struct vg_config *cfg)
{
	if (!cfg)
		return;
	for (int f = 0; f < VG_F_COUNT; f++)
		strlist_free(&cfg->paths[f]);
	strlist_free(&cfg->categories);
	strlist_free(&cfg->aliases);
	free(cfg->default_category);
	rules_free(cfg->rules, cfg->n_rules);
	retention_free(cfg->retention, cfg->n_retention);
	counters_free(cfg->counters, cfg->n_counters);
	free(cfg->kafka_brokers);
	free(cfg->kafka_group);
	strlist_free(&cfg->kafka_topics);
	strlist_free(&cfg->rule_files);
	webhooks_free(cfg->notify_webhooks, cfg->n_notify_webhooks);
	free(cfg->notify_alertmanager);
	free(cfg->notify_kafka_brokers);
	free(cfg->notify_kafka_topic);
	strlist_free(&cfg->notify_kafka_properties);
	free(cfg->notify_file);
	free(cfg->notify_outbox_dir);
	free(cfg->http_listen);
	strlist_free(&cfg->kafka_properties);
	free(cfg->archive_dir);
	free(cfg->archive_instance);
	free(cfg->source);
	free(cfg);
}

static int override_str(char **dst, const char *v)
{
	char *d;

	if (!v)
		return VG_OK;
	if (!(d = strdup(v)))
		return VG_ERR_NOMEM;
	free(*dst);
	*dst = d;
	return VG_OK;
}

int vg_config_load_overridden(struct vg_config **out, const char *path, const struct vg_config_overrides *ov,
			      char *errbuf, size_t errlen)
{
	struct vg_config *cfg;
	int rc = vg_config_load(&cfg, path, errbuf, errlen);

	*out = NULL;
	if (rc != VG_OK || !ov) {
		*out = rc == VG_OK ? cfg : NULL;
		return rc;
	}
	if ((rc = override_str(&cfg->kafka_brokers, ov->brokers)) != VG_OK ||
	    (rc = override_str(&cfg->kafka_group, ov->group)) != VG_OK ||
	    (rc = override_str(&cfg->archive_dir, ov->archive_dir)) != VG_OK ||
	    (rc = override_str(&cfg->http_listen, ov->http_listen)) != VG_OK ||
	    (rc = override_str(&cfg->notify_outbox_dir, ov->outbox_dir)) != VG_OK)
		goto out_nomem;
	if (ov->lateness_ms > 0)
		cfg->lateness_ms = ov->lateness_ms;
	if (ov->skew_behind_ms >= 0)
		cfg->skew_behind_ms = ov->skew_behind_ms;
	if (ov->shutdown_timeout_ms > 0)
		cfg->shutdown_timeout_ms = ov->shutdown_timeout_ms;
	if (ov->workers > 0)
		cfg->workers = ov->workers;
	if (ov->n_topics) {
		struct vg_strlist topics = {calloc(ov->n_topics, sizeof(char *)), 0, cfg->kafka_topics.line};

		if (!topics.v)
			goto out_nomem;
		for (; topics.n < ov->n_topics; topics.n++) {
			if (!(topics.v[topics.n] = strdup(ov->topics[topics.n]))) {
				strlist_free(&topics);
				goto out_nomem;
			}
		}
		strlist_free(&cfg->kafka_topics);
		cfg->kafka_topics = topics;
	}
	*out = cfg;
	return VG_OK;

out_nomem:
	vg_config_free(cfg);
	snprintf(errbuf, errlen, "out of memory");
	return VG_ERR_NOMEM;
}

unsigned vg_config_workers(const struct vg_config *cfg)
{
	long n = cfg->workers ? (long)cfg->workers : sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned)n : 1;
}

/* vigil: the configuration's keys. See config.h and config_internal.h.
 *
 * Named for what it holds rather than for a prefix: the section tables, one
 * row per setting (its key, type, where it lands in struct vg_config, its
 * default written as YAML, its range and the comment `vigil config
 * --default` prints above it), the writer of that default and the look-ups
 * the loader (config_load.c) makes in the tables. Adding a setting means
 * adding one row to a table below. */
#define _POSIX_C_SOURCE 200809L
#include "core/config_internal.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"

/* ---- the tables --------------------------------------------------------- */

#define OFF(m) offsetof(struct vg_config, m)

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
	 "    message: '(?i)\\b(?:slow query|query took|deadlock|connection pool)'\n"
	 "- category: database\n"
	 "  any:\n"
	 "    message: '(?i)\\b(?:select|insert into|update|delete from)\\b(?:[^\\n]*?\\b(?:from|set|where|values)\\b|[^\\n]*+(*SKIP)(*FAIL))'\n",
	 "Rules for records that name no category, tried in order; the first match wins.\n"
	 "Access comes first: an HTTP request line is an access record whatever its path says.\n"
	 "Each rule has `any:` or `all:`, a map of field name to PCRE2 pattern. At most 1000\n"
	 "rules (a YAML alias counts as the rule it repeats) and 4000 patterns in all.\n"
	 "Database's second rule: a SQL verb, then a clause keyword on the same line; a verb\n"
	 "with none after it skips the rest of its line ((*SKIP)), so its time is linear.",
	 0, 0},
	{"regex_match_limit", K_UINT, OFF(regex_match_limit), NO_LINE, "100000",
	 "PCRE2 match limit: the backtracking steps of a pattern from one start position\n"
	 "(stops catastrophic backtracking; a run stopped counts as no match, in\n"
	 "regex_limit_hits). At most 200000, about 0.5 ms.",
	 1, VG_REGEX_LIMIT_MAX},
	{"regex_depth_limit", K_UINT, OFF(regex_depth_limit), NO_LINE, "1000",
	 "PCRE2 depth limit: how deep a backtrack may nest (its memory, without the JIT).", 1,
	 VG_REGEX_LIMIT_MAX},
	{"regex_run_limit", K_UINT, OFF(regex_run_limit), NO_LINE, "100000",
	 "Steps one pattern may take on one field over all its start positions, plus 8\n"
	 "for each byte of the field (PCRE2's match limit restarts at every position of a\n"
	 "long field; this does not). Past it the run counts as no match, in\n"
	 "regex_limit_hits. At most 100000, about 0.6 ms.",
	 1000, VG_REGEX_RUN_LIMIT_MAX},
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
	{"max_endpoints", K_UINT, OFF(max_endpoints), NO_LINE, "1000",
	 "Endpoints per service the alert rules' store keeps over its 3 days; past it, a new\n"
	 "endpoint's requests count under endpoint __other__ there (counted). Also, a new\n"
	 "endpoint that answered only 404 in its window (a scanner's probe) stays __other__\n"
	 "until it answers something else. Windows themselves are not changed.",
	 1, 1000000},
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
	 "Topics to consume; a name starting with ^ is a regular expression. At most 4096.", 0, 4096},
	{"properties", K_STRMAP, OFF(kafka_properties), NO_LINE, "{}",
	 "Any librdkafka consumer property, passed through unchanged (security.protocol,\n"
	 "sasl.*, ssl.*, fetch sizes...). vigil sets enable.auto.offset.store=false itself:\n"
	 "offsets are stored only once records are processed. A new group starts at the\n"
	 "earliest offset unless auto.offset.reset says otherwise. `vigil config --check`\n"
	 "checks each with librdkafka. At most 1024.",
	 0, 1024},
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
	 "config/rules.yaml. Evaluated on every closed base window. At most 256.",
	 0, 256},
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
	 "consumer's. vigil keeps enable.idempotence=true and acks=all. At most 1024.",
	 0, 1024},
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

/* ---- looking keys up ---------------------------------------------------- */

const struct section *vg_config_keys_section(const char *name)
{
	for (size_t s = 0; s < N_SECTIONS; s++) {
		if (strcmp(sections[s].name, name) == 0)
			return &sections[s];
	}
	return NULL;
}

/* The row of key name under parent (NULL: directly in the section). */
const struct key *vg_config_keys_find(const struct section *sec, const char *parent, const char *name)
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
bool vg_config_keys_is_parent(const struct section *sec, const char *name)
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
void vg_config_keys_list(char *buf, size_t len, const struct section *sec, const char *parent)
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


/* vigil: configuration loading. See config.h.
 *
 * The module is three files: config_keys.c holds the section tables (adding
 * a setting means adding one row there) and writes the default,
 * config_load.c reads YAML into struct vg_config by those tables, and this
 * file has the entry points, the cross-key validation and freeing. What they
 * share is in config_internal.h. */
#define _POSIX_C_SOURCE 200809L
#include "core/config_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* ---- errors and freeing ------------------------------------------------- */

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
int vg_config_fail_at(struct loader *L, int line, const char *fmt, ...)
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

void vg_config_strlist_free(struct vg_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	free(l->lines);
	l->v = NULL;
	l->lines = NULL;
	l->n = 0;
}

void vg_config_rules_free(void *rows, size_t n)
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

void vg_config_retention_free(void *rows, size_t n)
{
	struct vg_cfg_retention *r = rows;

	for (size_t i = 0; i < n; i++)
		free(r[i].category);
	free(r);
}

void vg_config_counters_free(void *rows, size_t n)
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

void vg_config_webhooks_free(void *rows, size_t n)
{
	struct vg_cfg_webhook *w = rows;

	for (size_t i = 0; i < n; i++) {
		free(w[i].url);
		free(w[i].secret);
	}
	free(w);
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
						return vg_config_fail_at(L, c->paths[f].line,
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
						return vg_config_fail_at(L, c->paths[f].line,
							       "fields.%s: path '%s' is also listed %s%s", name, p,
							       g == f ? "twice" : "under fields.",
							       g == f ? "" : vg_field_name(g));
				}
			}
		}
		if (c->paths[f].n > 32)
			return vg_config_fail_at(L, c->paths[f].line, "fields.%s: at most 32 paths", name);
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
		return vg_config_fail_at(L, line, "%s: bad pattern for %s at offset %zu: %s", what, vg_field_name(field),
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
		return vg_config_fail_at(L, c->categories.line, "classify.categories: list 1 to 250 categories");
	for (size_t i = 0; i < c->categories.n; i++) {
		if (!valid_category_name(c->categories.v[i]))
			return vg_config_fail_at(L, c->categories.line,
				       "classify.categories: '%s' is not a valid name (lower-case letters, digits, "
				       "'_', '-'; at most 64)",
				       c->categories.v[i]);
		for (size_t j = 0; j < i; j++) {
			if (strcmp(c->categories.v[i], c->categories.v[j]) == 0)
				return vg_config_fail_at(L, c->categories.line, "classify.categories: '%s' listed twice",
					       c->categories.v[i]);
		}
	}
	for (size_t i = 0; i + 1 < c->aliases.n; i += 2) {
		if (vg_config_category_index(c, c->aliases.v[i + 1]) < 0)
			return vg_config_fail_at(L, c->aliases.line, "classify.aliases: '%s' maps to unknown category '%s'",
				       c->aliases.v[i], c->aliases.v[i + 1]);
	}
	if (vg_config_category_index(c, c->default_category) < 0)
		return vg_config_fail_at(L, c->default_category_line, "classify.default: unknown category '%s'",
			       c->default_category);
	/* Before any pattern is compiled: a record no rule matches runs them all. */
	for (size_t i = 0, patterns = 0; i < c->n_rules; i++) {
		patterns += c->rules[i].n_conds;
		if (patterns > VG_MAX_RULE_PATTERNS) {
			for (size_t j = i + 1; j < c->n_rules; j++)
				patterns += c->rules[j].n_conds;
			return vg_config_fail_at(L, c->rules[i].line,
				       "classify.rules: at most %d patterns over all rules (%zu given)",
				       VG_MAX_RULE_PATTERNS, patterns);
		}
	}
	for (size_t i = 0; i < c->n_rules; i++) {
		const struct vg_cfg_rule *r = &c->rules[i];

		if (vg_config_category_index(c, r->category) < 0)
			return vg_config_fail_at(L, r->line, "classify.rules: unknown category '%s' (not in classify.categories)",
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
			return vg_config_fail_at(L, r->line, "retention.policy: unknown category '%s' (not in classify.categories)",
				       r->category);
	}
	for (size_t i = 0; i < c->n_counters; i++) {
		struct vg_cfg_counter *k = &c->counters[i];

		if (k->category_name && (k->category = vg_config_category_index(c, k->category_name)) < 0)
			return vg_config_fail_at(L, k->line, "aggregate.counters: unknown category '%s' in counter '%s'",
				       k->category_name, k->name);
		if (k->pattern &&
		    (rc = check_pattern(L, k->pattern, k->line, "aggregate.counters", k->field)) != VG_OK)
			return rc;
	}
	char host[64];
	unsigned port;

	if (strcmp(c->http_listen, "off") != 0 && !vg_config_parse_listen(c->http_listen, host, sizeof(host), &port))
		return vg_config_fail_at(L, c->http_listen_line,
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
	rc = vg_config_load_text(L, text, len);
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
	if (!(cfg->source = strdup(name))) {
		rc = VG_ERR_NOMEM;
		goto out_free_cfg;
	}
	if ((rc = load_defaults(&L)) != VG_OK)
		goto out_free_cfg;
	if (yaml && (rc = vg_config_load_text(&L, yaml, len)) != VG_OK)
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
	char *text;
	size_t len;
	int rc;

	if (!path)
		return vg_config_load_string(out, NULL, 0, "<default>", errbuf, errlen);
	*out = NULL;
	if (!(f = fopen(path, "rb"))) {
		snprintf(errbuf, errlen, "%s: cannot open: %s", path, strerror(errno));
		return VG_ERR_IO;
	}
	rc = vg_config_read(f, path, &text, &len, errbuf, errlen);
	fclose(f);
	if (rc != VG_OK)
		return rc;
	rc = vg_config_load_string(out, text, len, path, errbuf, errlen);
	free(text);
	return rc;
}

void vg_config_free(struct vg_config *cfg)
{
	if (!cfg)
		return;
	for (int f = 0; f < VG_F_COUNT; f++)
		vg_config_strlist_free(&cfg->paths[f]);
	vg_config_strlist_free(&cfg->categories);
	vg_config_strlist_free(&cfg->aliases);
	free(cfg->default_category);
	vg_config_rules_free(cfg->rules, cfg->n_rules);
	vg_config_retention_free(cfg->retention, cfg->n_retention);
	vg_config_counters_free(cfg->counters, cfg->n_counters);
	free(cfg->kafka_brokers);
	free(cfg->kafka_group);
	vg_config_strlist_free(&cfg->kafka_topics);
	vg_config_strlist_free(&cfg->rule_files);
	vg_config_webhooks_free(cfg->notify_webhooks, cfg->n_notify_webhooks);
	free(cfg->notify_alertmanager);
	free(cfg->notify_kafka_brokers);
	free(cfg->notify_kafka_topic);
	vg_config_strlist_free(&cfg->notify_kafka_properties);
	free(cfg->notify_file);
	free(cfg->notify_outbox_dir);
	free(cfg->http_listen);
	vg_config_strlist_free(&cfg->kafka_properties);
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
		struct vg_strlist topics = {.v = calloc(ov->n_topics, sizeof(char *)), .line = cfg->kafka_topics.line};

		if (!topics.v)
			goto out_nomem;
		for (; topics.n < ov->n_topics; topics.n++) {
			if (!(topics.v[topics.n] = strdup(ov->topics[topics.n]))) {
				vg_config_strlist_free(&topics);
				goto out_nomem;
			}
		}
		vg_config_strlist_free(&cfg->kafka_topics);
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

/*
 * gen_records.c - what the corpus generator says: the vocabulary (levels,
 * categories, styles, the nine services), the content pools and message
 * templates, the four kinds of record (access, security, database,
 * application) and gen_make_event(), where all of a record's randomness
 * is drawn. Declarations in gen.h.
 */

#include <stdio.h>
#include <string.h>

#include "bench/gen.h"

/* ------------------------------------------------------------------ */
/* Vocabulary: levels, categories, styles, services                   */
/* ------------------------------------------------------------------ */

const char *const gen_level_names[GEN_NLEVELS] = {
	"TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL",
};

const char *const gen_cat_names[GEN_NCATS] = {
	"application", "security", "access", "database",
};

static const char *const gen_cat_capitalised[GEN_NCATS] = {
	"Application", "Security", "Access", "Database",
};

/* Two aliases per category (access and application have only one each,
 * repeated so the table stays rectangular). */
static const char *const gen_cat_aliases[GEN_NCATS][2] = {
	{"app", "app"}, {"auth", "audit"}, {"http", "http"}, {"db", "sql"},
};

/* Only pino and ECS have a TRACE level; elsewhere TRACE becomes DEBUG
 * before rendering so the truth file matches what the line says. */
static gen_level gen_style_clamp(gen_style st, gen_level lv)
{
	if (lv == GEN_TRACE && st != GEN_STYLE_PINO && st != GEN_STYLE_JAVA)
		return GEN_DEBUG;
	return lv;
}

const gen_service gen_services[GEN_NSVC] = {
	{"orders", GEN_STYLE_PYTHON, "3.12.0", "7d9f8b6c5",
	 {"orders.service", "orders.worker"},
	 {"order {id} created", "order {id} shipped ({n} items)",
	  "order {id} cancelled by {name}", "invoice generated for order {id}"},
	 "order {id} failed: timeout"},
	{"inventory", GEN_STYLE_PYTHON, "2.4.1", "5c6d7f9b8",
	 {"inventory.worker", "inventory.service"},
	 {"stock reserved for sku {sku} (qty {n})", "restock scheduled for sku {sku}",
	  "imported {n} products from supplier feed", "stock level for sku {sku} is {n}"},
	 "stock sync failed for {sku}"},
	{"web-frontend", GEN_STYLE_PINO, "5.0.3", "6b8c9d7f4",
	 {"frontend.ssr", "frontend.cache"},
	 {"bundle manifest loaded ({n} chunks)", "feature flag {flag} enabled for {name}",
	  "experiment {flag} assigned variant B", "prefetched {n} product tiles"},
	 "render failed for page {hex8}"},
	{"notifications", GEN_STYLE_PINO, "1.9.7", "84f6d5c7b",
	 {"notifications.mailer", "notifications.scheduler"},
	 {"sent {n} emails", "welcome email sent to {name}",
	  "push notification delivered to {name}", "digest queued for {n} recipients"},
	 "failed to send email to {name}"},
	{"payments", GEN_STYLE_ZAP, "4.2.0", "67c8b9d5f",
	 {"payments.processor", "payments.worker"},
	 {"payment {id} captured ({amt} EUR)", "refund {id} issued for order {id}",
	  "payout batch {id} settled", "currency rates refreshed ({n} pairs)"},
	 "capture failed for payment {id}"},
	{"search", GEN_STYLE_ZAP, "2.11.4", "9f7b6d8c4",
	 {"search.indexer", "search.ranker"},
	 {"indexed {n} documents in {sec}s", "index products-v{n} swapped in",
	  "synonyms reloaded ({n} entries)", "ranking model v{n} loaded"},
	 "indexing batch {id} failed"},
	/* The identity service also logs plain housekeeping; its loggers stay
	 * clear of security words so application stays a clean class. */
	{"auth-service", GEN_STYLE_JAVA, "7.3.2", "5f4c7b9d6",
	 {"com.acme.platform.Scheduler", "com.acme.platform.Bootstrap"},
	 {"scheduled job {job} finished in {sec}s", "worker threads resized to {n}",
	  "metrics flushed ({n} series)", "warmup finished in {sec}s"},
	 "job {id} failed after {att} attempts"},
	{"user-service", GEN_STYLE_JAVA, "3.0.9", "7b5d9c6f8",
	 {"com.acme.users.UserService", "com.acme.users.ProfileExporter"},
	 {"profile {id} updated by {name}", "avatar processed for {name}",
	  "exported {n} profiles to warehouse", "profile {id} created"},
	 "profile export {id} failed"},
	/* db-proxy only logs database events; no application texts. */
	{"db-proxy", GEN_STYLE_SYSLOG, "1.21.0", "c4d7f8b69", {NULL, NULL}, {NULL}, NULL},
};

/* Per-record generation context. */
typedef struct gen_ctx {
	gen_rng rng;
	gen_state *st;
	gen_event *ev;
	const gen_mix *mix;
	int unicode_names; /* names come from the non-ASCII pool */
	const char *name;  /* the record's user name, drawn once */
	int name_used;     /* the name appeared in the message */
	int quote;         /* prefer a template variant with quotes */
} gen_ctx;

/* ------------------------------------------------------------------ */
/* Content pools                                                      */
/* ------------------------------------------------------------------ */

static const char *const gen_ascii_names[] = {
	"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
	"ivan", "judy", "mallory", "oscar", "peggy", "rupert", "sybil", "trent",
	"victor", "walter", "yuki", "zane",
};

static const char *const gen_unicode_names[] = {
	"José", "Zoë", "東京", "Ŝ", "Renée", "Søren", "Łukasz", "Ольга",
	"李雷", "kai😀", "Ana 😀", "Đorđe",
};

static const char *const gen_roles[] = {
	"admin", "billing-admin", "support", "editor", "auditor",
};

static const char *const gen_jobs[] = {
	"nightly-report", "reindex-catalog", "sync-stock", "send-digest",
	"purge-tmp", "rollup-metrics",
};

static const char *const gen_flags[] = {
	"new-checkout", "fast-search", "dark-mode", "one-click-buy",
};

static const char *const gen_key_prefixes[] = {
	"product", "order", "cart", "profile", "price",
};

static const char *const gen_terms[] = {
	"red+shoes", "laptop", "coffee+grinder", "usb-c+cable", "running+shoes",
	"desk+lamp", "caf%C3%A9", "t-shirt", "winter+jacket",
};

static const char *const gen_prefixes[] = {"lap", "cof", "run", "des", "jac"};

static const char *const gen_regions[] = {"eu-west-1", "eu-west-1", "us-east-1"};

static const char *const gen_user_agents[] = {
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15",
	"Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
	"curl/8.5.0",
	"python-requests/2.32.3",
	"okhttp/4.12.0",
	"Go-http-client/1.1",
	"AcmeShop/4.18.0 (Android 14)",
};

/* SQL uses $n placeholders; Java (JDBC) records turn them into '?'. */
static const char *const gen_sql[] = {
	"SELECT id, total FROM orders WHERE user_id = $1",
	"UPDATE inventory SET qty = qty - 1 WHERE sku = $1",
	"SELECT * FROM products WHERE id = ANY($1)",
	"INSERT INTO payments (order_id, amount, currency) VALUES ($1, $2, $3)",
	"SELECT u.id, u.email FROM users u JOIN memberships m ON m.user_id = u.id WHERE m.org_id = $1",
	"DELETE FROM sessions WHERE expires_at < now()",
	"SELECT count(*) FROM order_items WHERE order_id = $1",
	"UPDATE orders SET status = $1, updated_at = now() WHERE id = $2",
};

/* ------------------------------------------------------------------ */
/* Template expansion                                                 */
/* ------------------------------------------------------------------ */

static const char *gen_name(gen_ctx *c)
{
	c->name_used = 1;
	return c->name;
}

static void gen_put_ipv4(gen_sb *b, gen_rng *r)
{
	/* Private and documentation ranges only. */
	static const char *const nets[] = {"10.", "10.", "10.", "203.0.113.", "198.51.100.", "192.0.2."};
	const char *net = GEN_PICK(r, nets);
	gen_puts(b, net);
	if (net[3] == '\0') { /* "10." */
		gen_put_u64(b, gen_range(r, 0, 255));
		gen_putc(b, '.');
		gen_put_u64(b, gen_range(r, 0, 255));
		gen_putc(b, '.');
	}
	gen_put_u64(b, gen_range(r, 1, 254));
}

static void gen_put_sql(gen_sb *b, const char *sql, int jdbc)
{
	for (const char *p = sql; *p; p++) {
		if (jdbc && p[0] == '$' && p[1] >= '1' && p[1] <= '9') {
			gen_putc(b, '?');
			p++;
		} else {
			gen_putc(b, *p);
		}
	}
}


/* Expands {token} placeholders; see the switch for the vocabulary. */
static void gen_expand(gen_ctx *c, gen_sb *b, const char *t)
{
	gen_rng *r = &c->rng;
	while (*t) {
		const char *open = strchr(t, '{');
		if (!open) {
			gen_puts(b, t);
			return;
		}
		gen_put(b, t, (size_t)(open - t));
		const char *close = strchr(open, '}');
		if (!close) { /* not a placeholder */
			gen_puts(b, open);
			return;
		}
		size_t n = (size_t)(close - open - 1);
		const char *k = open + 1;
#define GEN_IS(s) (n == sizeof(s) - 1 && memcmp(k, s, n) == 0)
		if (GEN_IS("id"))
			gen_put_u64(b, gen_range(r, 1000, 999999));
		else if (GEN_IS("n"))
			gen_put_u64(b, gen_range(r, 2, 48));
		else if (GEN_IS("cnt"))
			gen_put_u64(b, gen_range(r, 40, 900));
		else if (GEN_IS("big"))
			gen_put_u64(b, gen_range(r, 1001, 9999));
		else if (GEN_IS("att"))
			gen_put_u64(b, gen_range(r, 2, 5));
		else if (GEN_IS("lock"))
			gen_put_u64(b, gen_chance(r, 0.8) ? 5 : 10);
		else if (GEN_IS("pct"))
			gen_put_u64(b, gen_range(r, 12, 60));
		else if (GEN_IS("max"))
			gen_put_u64(b, gen_chance(r, 0.6) ? 50 : 100);
		else if (GEN_IS("page"))
			gen_put_u64(b, gen_range(r, 1, 12));
		else if (GEN_IS("cid"))
			gen_put_u64(b, gen_range(r, 100, 999));
		else if (GEN_IS("name"))
			gen_puts(b, gen_name(c));
		else if (GEN_IS("role"))
			gen_puts(b, GEN_PICK(r, gen_roles));
		else if (GEN_IS("job"))
			gen_puts(b, GEN_PICK(r, gen_jobs));
		else if (GEN_IS("flag"))
			gen_puts(b, GEN_PICK(r, gen_flags));
		else if (GEN_IS("term"))
			gen_puts(b, GEN_PICK(r, gen_terms));
		else if (GEN_IS("pfx"))
			gen_puts(b, GEN_PICK(r, gen_prefixes));
		else if (GEN_IS("ip")) /* the record's client, as in client_ip */
			gen_puts(b, c->ev->client_ip);
		else if (GEN_IS("sku")) {
			gen_puts(b, "SKU-");
			gen_put_u64_pad(b, gen_range(r, 0, 99999), 5);
		} else if (GEN_IS("key")) {
			gen_puts(b, GEN_PICK(r, gen_key_prefixes));
			gen_putc(b, ':');
			gen_put_hex(b, gen_u64(r), 8);
		} else if (GEN_IS("hex8"))
			gen_put_hex(b, gen_u64(r), 8);
		else if (GEN_IS("hex24")) {
			gen_put_hex(b, gen_u64(r), 16);
			gen_put_hex(b, gen_u64(r), 8);
		} else if (GEN_IS("uuid"))
			gen_put_uuid(b, r);
		else if (GEN_IS("sec"))
			gen_put_fixed(b, gen_lognormal(r, 4.0, 1.0), 1);
		else if (GEN_IS("ms"))
			gen_put_fixed(b, gen_lognormal(r, 0.8, 0.8), 1);
		else if (GEN_IS("amt"))
			gen_put_fixed(b, gen_lognormal(r, 45.0, 0.9), 2);
		else if (GEN_IS("svc"))
			gen_puts(b, gen_services[c->ev->svc].name);
		else if (GEN_IS("sql"))
			gen_put_sql(b, GEN_PICK(r, gen_sql),
				    gen_services[c->ev->svc].style == GEN_STYLE_JAVA);
		else if (GEN_IS("dbms"))
			gen_put_db_ms(b, c->ev->db_ms);
		else
			gen_put(b, open, n + 2); /* unknown: keep literally */
#undef GEN_IS
		t = close + 1;
	}
}

static void gen_set_msg(gen_ctx *c, const char *tmpl)
{
	gen_sb b;
	gen_sb_init(&b, c->ev->msg, sizeof c->ev->msg);
	gen_expand(c, &b, tmpl);
}

/* ------------------------------------------------------------------ */
/* Category: access                                                   */
/* ------------------------------------------------------------------ */

typedef struct gen_endpoint {
	int svc; /* -1: any HTTP-serving service */
	const char *method;
	const char *path;
	const char *query; /* appended with probability p_query */
	double p_query;
	double median_ms, sigma;
	double weight;
} gen_endpoint;

static const gen_endpoint gen_endpoints[] = {
	{GEN_SVC_ORDERS, "GET", "/api/v1/orders/{id}", "?expand=items", 0.3, 25, 0.6, 8},
	{GEN_SVC_ORDERS, "GET", "/api/v1/orders/{id}/items", NULL, 0, 35, 0.7, 5},
	{GEN_SVC_ORDERS, "POST", "/api/v1/orders", NULL, 0, 70, 0.8, 4},
	{GEN_SVC_ORDERS, "GET", "/api/v1/orders", "?status=open&page={page}", 1, 45, 0.7, 3},
	{GEN_SVC_INVENTORY, "GET", "/api/v1/products/{hex24}", NULL, 0, 18, 0.5, 9},
	{GEN_SVC_INVENTORY, "PUT", "/api/v1/products/{hex24}/stock", NULL, 0, 45, 0.7, 2},
	{GEN_SVC_INVENTORY, "GET", "/api/v1/warehouses/{id}/stock", "?sku={sku}", 0.5, 50, 0.8, 2},
	{GEN_SVC_WEB, "GET", "/", NULL, 0, 20, 0.6, 6},
	{GEN_SVC_WEB, "GET", "/static/js/main.{hex8}.js", NULL, 0, 15, 0.5, 6},
	{GEN_SVC_WEB, "GET", "/api/v1/cart/{uuid}", NULL, 0, 30, 0.7, 5},
	{GEN_SVC_WEB, "POST", "/api/v1/cart/{uuid}/items", NULL, 0, 40, 0.7, 2},
	{GEN_SVC_NOTIFY, "POST", "/api/v1/notifications", NULL, 0, 45, 0.8, 3},
	{GEN_SVC_NOTIFY, "GET", "/api/v1/notifications/{id}", NULL, 0, 20, 0.6, 2},
	{GEN_SVC_PAYMENTS, "POST", "/api/v2/payments", NULL, 0, 80, 0.8, 4},
	{GEN_SVC_PAYMENTS, "POST", "/api/v2/payments/{id}/refund", NULL, 0, 75, 0.8, 1},
	{GEN_SVC_PAYMENTS, "GET", "/api/v2/payments/{id}", NULL, 0, 22, 0.6, 4},
	{GEN_SVC_SEARCH, "GET", "/api/v1/search", "?q={term}&page={page}", 1, 65, 0.8, 8},
	{GEN_SVC_SEARCH, "GET", "/api/v1/suggest", "?prefix={pfx}", 1, 15, 0.5, 5},
	{GEN_SVC_AUTH, "POST", "/oauth2/token", NULL, 0, 40, 0.6, 5},
	{GEN_SVC_AUTH, "GET", "/.well-known/jwks.json", NULL, 0, 15, 0.5, 2},
	{GEN_SVC_USERS, "GET", "/api/v1/users/{uuid}", NULL, 0, 20, 0.6, 6},
	{GEN_SVC_USERS, "PATCH", "/api/v1/users/{id}/preferences", NULL, 0, 35, 0.7, 2},
	{GEN_SVC_USERS, "GET", "/api/v1/users/{id}/addresses", NULL, 0, 30, 0.6, 2},
	{-1, "GET", "/health", NULL, 0, 15, 0.5, 6},
};

/* Status of a request to svc: a scheduled healthy 5xx (see GEN_5XX_GAP),
 * an incident's extra 5xx, a 4xx, or success. */
static int gen_http_status(gen_ctx *c, int svc, const char *method)
{
	static const int s5xx[] = {500, 500, 500, 500, 500, 502, 502, 503, 503, 504};
	static const int s4xx[] = {404, 404, 404, 404, 404, 404, 404, 404, 400, 400, 400, 400,
				   401, 401, 401, 403, 403, 409, 422, 429};
	gen_rng *r = &c->rng;
	gen_state *st = c->st;
	double u = gen_unif(r);
	double p5 = c->mix->p_5xx[svc];
	if (++st->http_n[svc] >= st->next_5xx[svc]) {
		double j = gen_unif(r);
		st->next_5xx[svc] += (uint64_t)(GEN_5XX_GAP * (0.5 + j));
		p5 = 1.0;
	}
	if (u < p5)
		return GEN_PICK(r, s5xx);
	if (u < p5 + c->mix->p_4xx)
		return GEN_PICK(r, s4xx);
	if (strcmp(method, "POST") == 0)
		return gen_chance(r, 0.85) ? 201 : 200;
	if (strcmp(method, "GET") == 0) {
		double v = gen_unif(r);
		return v < 0.92 ? 200 : v < 0.98 ? 304 : 302;
	}
	return 200;
}

static const char *gen_access_logger(gen_rng *r, int svc)
{
	switch (gen_services[svc].style) {
	case GEN_STYLE_PYTHON:
		return gen_chance(r, 0.7) ? "uvicorn.access" : "http.access";
	case GEN_STYLE_PINO:
		if (svc == GEN_SVC_WEB && gen_chance(r, 0.3))
			return "nginx.access";
		return gen_chance(r, 0.7) ? "express.access" : "http.access";
	case GEN_STYLE_ZAP:
		return gen_chance(r, 0.7) ? "gin.access" : "http.access";
	default:
		return gen_chance(r, 0.8) ? "com.acme.web.AccessLogFilter" : "http.access";
	}
}

/* The scanner and words incidents: paths that are not ids, so each is a
 * key of its own. Drawn from a stream of their own, so the record's other
 * content is the healthy record's. */
static void gen_hostile_path(gen_ctx *c)
{
	static const char cons[] = "bcdfghjklmnprstvwz", vow[] = "aeiou";
	gen_event *ev = c->ev;
	gen_rng h;
	gen_sb pb;

	gen_rng_seed(&h, c->st->rng_base ^ gen_mix64(ev->seq + 0x5CA77E4ull));
	if (gen_chance(&h, c->mix->p_scanner[ev->svc])) {
		gen_sb_init(&pb, ev->path, sizeof ev->path);
		gen_putc(&pb, '/');
		for (int i = 0; i < 8; i++)
			gen_putc(&pb, (char)('a' + gen_below(&h, 26)));
		gen_puts(&pb, ".php");
		ev->method = "GET";
		ev->status = 404;
		return;
	}
	if (!c->mix->words[ev->svc])
		return;
	gen_sb_init(&pb, ev->path, sizeof ev->path);
	gen_putc(&pb, '/');
	/* Word w of GEN_WORDS: three consonant-vowel syllables (18 x 5 = 90
	 * of them, 90^3 > GEN_WORDS), all distinct. */
	uint32_t w = gen_below(&h, GEN_WORDS);
	for (int i = 0; i < 3; i++, w /= 90) {
		gen_putc(&pb, cons[w % 90 / 5]);
		gen_putc(&pb, vow[w % 5]);
	}
}

static void gen_make_access(gen_ctx *c)
{
	gen_event *ev = c->ev;
	gen_rng *r = &c->rng;
	const gen_endpoint *ep = GEN_PICK_WEIGHTED(r, gen_endpoints);

	/* /health is served by everything that speaks HTTP (not db-proxy). */
	ev->svc = ep->svc >= 0 ? ep->svc : (int)gen_below(r, GEN_SVC_DBPROXY);
	ev->logger = gen_access_logger(r, ev->svc);
	ev->method = ep->method;

	gen_sb pb;
	gen_sb_init(&pb, ev->path, sizeof ev->path);
	gen_expand(c, &pb, ep->path);
	if (ep->query && gen_chance(r, ep->p_query))
		gen_expand(c, &pb, ep->query);

	/* Latency: lognormal body, plus a Pareto-scaled tail for ~1% of
	 * requests (GC pauses, lock waits, retries) capped at a minute. A
	 * latency incident adds a slow dependency's delay to every request;
	 * added, not multiplied, so every endpoint slows alike and the tail
	 * keeps its share. */
	double d = gen_lognormal(r, ep->median_ms, ep->sigma);
	if (gen_chance(r, c->mix->p_latency_tail))
		d *= gen_pareto(r, 4.0, 1.1);
	if (c->mix->slow_ms[ev->svc] > 0) {
		double extra = gen_lognormal(r, c->mix->slow_ms[ev->svc], 0.25);
		d += extra;
	}
	if (d > 60000.0)
		d = 60000.0;
	if (d < 0.05)
		d = 0.05;
	ev->dur_ms = d;
	ev->status = gen_http_status(c, ev->svc, ep->method);
	if (c->mix->p_scanner[ev->svc] > 0 || c->mix->words[ev->svc])
		gen_hostile_path(c);
	ev->level = ev->status >= 500 ? GEN_ERROR : GEN_INFO;

	gen_sb mb;
	gen_sb_init(&mb, ev->msg, sizeof ev->msg);
	gen_puts(&mb, ev->method);
	gen_putc(&mb, ' ');
	gen_puts(&mb, ev->path);
	gen_putc(&mb, ' ');
	gen_put_u64(&mb, (uint64_t)ev->status);
	gen_putc(&mb, ' ');
	gen_put_fixed(&mb, ev->dur_ms, 1);
	gen_puts(&mb, "ms");

	switch (gen_services[ev->svc].style) {
	case GEN_STYLE_PINO:
		ev->http_form = GEN_HTTP_PINO;
		break;
	case GEN_STYLE_ZAP:
		ev->http_form = gen_chance(r, 0.5) ? GEN_HTTP_NESTED : GEN_HTTP_GO_FLAT;
		break;
	default:
		ev->http_form = GEN_HTTP_NESTED;
		break;
	}
	ev->avail |= 1u << GEN_OPT_CLIENT_IP | 1u << GEN_OPT_USER_AGENT;
	if (strcmp(ep->path, "/health") == 0)
		ev->user_agent = "kube-probe/1.30";
}

/* ------------------------------------------------------------------ */
/* Category: security                                                 */
/* ------------------------------------------------------------------ */

enum { GEN_SEC_AUTHN, GEN_SEC_TOKEN, GEN_SEC_AUTHZ, GEN_SEC_AUDIT };

typedef struct gen_sec_event {
	const char *tmpl;
	const char *quoted; /* variant with quoted values, or NULL */
	gen_level level;
	int group;
	double weight;
} gen_sec_event;

/* Successes INFO, failures WARNING, lockouts ERROR, brute force CRITICAL.
 * A healthy fleet: failed logins are rare (a handful per service in five
 * minutes; the shipped AuthFailureSurge rule fires at 5 times a service's
 * last hour and at least 50 in 5 minutes), lockouts
 * and brute force rarer still. */
static const gen_sec_event gen_sec_events[] = {
	{"login succeeded for user {name}", NULL, GEN_INFO, GEN_SEC_AUTHN, 35},
	{"user {name} logged out", NULL, GEN_INFO, GEN_SEC_AUTHN, 7},
	{"token issued to client {cid} (scope=orders:read)", NULL, GEN_INFO, GEN_SEC_TOKEN, 5},
	{"password changed for user {name}", NULL, GEN_INFO, GEN_SEC_AUDIT, 5},
	{"role {role} granted to user {name}", "role \"{role}\" granted to user \"{name}\"", GEN_INFO,
	 GEN_SEC_AUDIT, 3},
	{"Authentication failed for user {name} from {ip}", NULL, GEN_WARNING, GEN_SEC_AUTHN, 0.1},
	{"invalid token presented by client {cid}", NULL, GEN_WARNING, GEN_SEC_TOKEN, 3},
	{"permission denied: user {name} lacks role {role}",
	 "permission denied: user \"{name}\" lacks role \"{role}\"", GEN_WARNING, GEN_SEC_AUTHZ, 3},
	{"account locked after {lock} failed attempts for user {name}", NULL, GEN_ERROR, GEN_SEC_AUTHN, 0.02},
	{"token signature verification failed for client {cid}", NULL, GEN_ERROR, GEN_SEC_TOKEN, 0.3},
	{"brute force detected from {ip} ({cnt} failed logins in 60s)", NULL, GEN_CRITICAL,
	 GEN_SEC_AUTHN, 0.01},
};

/* The failed-login template, for auth incidents. */
#define GEN_SEC_AUTHFAIL 5

static const char *gen_security_logger(gen_style st, int group)
{
	static const char *const plain[] = {"auth", "oauth2.token", "iam.policy", "security.audit"};
	static const char *const java[] = {
		"com.acme.auth.LoginController", "com.acme.auth.TokenService",
		"com.acme.iam.PolicyEnforcer", "com.acme.security.AuditLogger",
	};
	return st == GEN_STYLE_JAVA ? java[group] : plain[group];
}

static void gen_make_security(gen_ctx *c)
{
	static const double svc_w[GEN_NSVC] = {
		[GEN_SVC_AUTH] = 40, [GEN_SVC_USERS] = 25, [GEN_SVC_WEB] = 12,
		[GEN_SVC_PAYMENTS] = 9, [GEN_SVC_ORDERS] = 7, [GEN_SVC_SEARCH] = 7,
	};
	gen_event *ev = c->ev;
	gen_rng *r = &c->rng;
	const gen_sec_event *se = GEN_PICK_WEIGHTED(r, gen_sec_events);

	ev->svc = (int)gen_weighted(r, svc_w, GEN_NSVC);
	if (c->mix->p_authfail[ev->svc] > 0 && gen_chance(r, c->mix->p_authfail[ev->svc]))
		se = &gen_sec_events[GEN_SEC_AUTHFAIL];
	ev->level = se->level;
	ev->logger = gen_security_logger(gen_services[ev->svc].style, se->group);
	gen_set_msg(c, c->quote && se->quoted ? se->quoted : se->tmpl);
	ev->avail |= 1u << GEN_OPT_CLIENT_IP | 1u << GEN_OPT_USER_AGENT;
}

/* ------------------------------------------------------------------ */
/* Category: database                                                 */
/* ------------------------------------------------------------------ */

enum { GEN_DB_QUERY, GEN_DB_POOL };
enum { GEN_DUR_NONE, GEN_DUR_FAST, GEN_DUR_SLOW };

typedef struct gen_db_event {
	const char *tmpl;
	gen_level level;
	int group;
	int duration; /* GEN_DUR_*: carries duration_ms */
	double weight;
} gen_db_event;

static const gen_db_event gen_db_events[] = {
	{"slow query ({dbms} ms): {sql}", GEN_WARNING, GEN_DB_QUERY, GEN_DUR_SLOW, 20},
	{"query took {dbms}ms: {sql}", GEN_WARNING, GEN_DB_QUERY, GEN_DUR_SLOW, 20},
	{"query completed in {dbms} ms: {sql}", GEN_INFO, GEN_DB_QUERY, GEN_DUR_FAST, 20},
	{"connection pool stats: active={n} idle={n} max={max}", GEN_INFO, GEN_DB_POOL, GEN_DUR_NONE, 10},
	{"connected to postgres primary db-1:5432 (server version 16.4)", GEN_INFO, GEN_DB_POOL,
	 GEN_DUR_NONE, 5},
	{"executing statement: {sql}", GEN_DEBUG, GEN_DB_QUERY, GEN_DUR_NONE, 10},
	{"connection pool exhausted (max={max})", GEN_ERROR, GEN_DB_POOL, GEN_DUR_NONE, 0.6},
	{"deadlock detected, retrying transaction (attempt {att})", GEN_ERROR, GEN_DB_QUERY,
	 GEN_DUR_NONE, 0.6},
	{"serialization failure on concurrent update, transaction rolled back", GEN_ERROR,
	 GEN_DB_QUERY, GEN_DUR_NONE, 0.3},
	{"primary db-1:5432 unreachable, failing over to replica db-2", GEN_CRITICAL, GEN_DB_POOL,
	 GEN_DUR_NONE, 0.05},
};

static const char *gen_db_logger(gen_rng *r, gen_style st, int group)
{
	switch (st) {
	case GEN_STYLE_PYTHON:
		if (group == GEN_DB_POOL)
			return "db.pool";
		return gen_chance(r, 0.6) ? "sqlalchemy.engine" : "db.query";
	case GEN_STYLE_ZAP:
		return group == GEN_DB_POOL ? "db.pool" : "pgx";
	case GEN_STYLE_JAVA:
		return group == GEN_DB_POOL ? "com.zaxxer.hikari.pool.HikariPool" : "org.hibernate.SQL";
	default:
		return group == GEN_DB_POOL ? "db.pool" : "db.query";
	}
}

static void gen_make_database(gen_ctx *c)
{
	static const double svc_w[GEN_NSVC] = {
		[GEN_SVC_DBPROXY] = 40, [GEN_SVC_ORDERS] = 15, [GEN_SVC_INVENTORY] = 10,
		[GEN_SVC_PAYMENTS] = 15, [GEN_SVC_USERS] = 15, [GEN_SVC_NOTIFY] = 5,
	};
	gen_event *ev = c->ev;
	gen_rng *r = &c->rng;
	const gen_db_event *de = GEN_PICK_WEIGHTED(r, gen_db_events);

	ev->svc = (int)gen_weighted(r, svc_w, GEN_NSVC);
	ev->level = de->level;
	ev->logger = gen_db_logger(r, gen_services[ev->svc].style, de->group);
	if (de->duration == GEN_DUR_SLOW) {
		ev->db_ms = 500.0 + gen_lognormal(r, 900.0, 0.8);
		if (ev->db_ms > 120000.0)
			ev->db_ms = 120000.0;
	} else if (de->duration == GEN_DUR_FAST) {
		ev->db_ms = gen_lognormal(r, 3.0, 0.9);
		if (ev->db_ms > 450.0)
			ev->db_ms = 450.0;
	}
	ev->has_db_ms = de->duration != GEN_DUR_NONE;
	gen_set_msg(c, de->tmpl);
}

/* ------------------------------------------------------------------ */
/* Category: application                                              */
/* ------------------------------------------------------------------ */

/* Plain service chatter. Deliberately free of access, security and
 * database words (no auth/login/token/permission/query/SQL/database). */
static const char *const gen_app_info_generic[] = {
	"worker started (concurrency={n})", "config reloaded",
	"scheduled job {job} finished in {sec}s", "metrics flushed ({n} series)",
};
static const char *const gen_app_debug[] = {
	"cache miss for key {key}", "cache hit for key {key}", "loaded {n} items from cache",
	"feature flag {flag} evaluated to true", "batch of {n} events flushed",
};
static const char *const gen_app_trace[] = {
	"entering process_batch(size={n})", "handler returned after {ms}ms", "span started: {job}",
};
static const char *const gen_app_warning[] = {
	"retrying job {id} (attempt {att})", "queue depth {big} exceeds threshold 1000",
	"config key \"max_workers\" missing, using default {n}", "cache eviction rate high ({pct}%)",
	"job {job} took {sec}s, longer than expected",
};
static const char *const gen_app_critical[] = {
	"worker crashed: out of memory", "unrecoverable error, shutting down",
	"event loop blocked for {sec}s",
};

static gen_level gen_app_level(gen_rng *r)
{
	/* A healthy fleet: mixed with the other categories, the overall split
	 * is ~87% INFO, 5% DEBUG, 7% WARNING, under 1% ERROR and CRITICAL and
	 * ~0.1% TRACE (TRACE is only kept by pino and ECS services); no
	 * service's ERROR-and-above share nears the 5% of the shipped
	 * ErrorLogRate rule. */
	static const double w[GEN_NLEVELS] = {
		[GEN_TRACE] = 0.006, [GEN_DEBUG] = 0.105, [GEN_INFO] = 0.868,
		[GEN_WARNING] = 0.010, [GEN_ERROR] = 0.010, [GEN_CRITICAL] = 0.001,
	};
	return (gen_level)gen_weighted(r, w, GEN_NLEVELS);
}

typedef struct gen_exc_kind {
	const char *type;
	const char *msg;
} gen_exc_kind;

static const gen_exc_kind gen_exc_python[] = {
	{"TimeoutError", "timed out"}, {"ValueError", "qty must be > 0"},
	{"KeyError", "'sku'"}, {"RuntimeError", "executor closed"},
};
static const gen_exc_kind gen_exc_node[] = {
	{"TimeoutError", "timed out after 30s"}, {"TypeError", "undefined is not a function"},
	{"RangeError", "Invalid array length"}, {"Error", "ETIMEDOUT"},
};
static const gen_exc_kind gen_exc_go[] = {
	{"context.deadlineExceededError", "context deadline exceeded"},
	{"*errors.errorString", "batch rejected"},
	{"runtime.boundsError", "index out of range [3] with length 3"},
};
/* NullPointerException carries a helpful message since Java 14, but a
 * long one; keep it short so a frame still fits. */
static const gen_exc_kind gen_exc_java[] = {
	{"java.lang.IllegalStateException", "queue is full"},
	{"java.io.UncheckedIOException", "read timed out"},
	{"java.lang.NullPointerException", "id is null"},
};

/* Short service-local name: "web-frontend" -> "web", for file paths. */
static void gen_short_name(char *out, size_t cap, const char *svc)
{
	size_t n = strcspn(svc, "-");
	if (n >= cap)
		n = cap - 1;
	memcpy(out, svc, n);
	out[n] = '\0';
}

/* Last dotted component of a Java class name. */
static const char *gen_simple_class(const char *fqcn)
{
	const char *dot = strrchr(fqcn, '.');
	return dot ? dot + 1 : fqcn;
}

/* "com.acme.users.UserService" -> "c.a.u.UserService". */
static void gen_abbrev_class(char *out, size_t cap, const char *fqcn)
{
	gen_sb b;
	gen_sb_init(&b, out, cap);
	const char *simple = gen_simple_class(fqcn);
	for (const char *p = fqcn; p < simple; p = strchr(p, '.') + 1) {
		gen_putc(&b, *p);
		gen_putc(&b, '.');
	}
	gen_puts(&b, simple);
}

/* Exception with a language-appropriate stack trace. Frames are stored
 * separately so the renderer can keep as many as fit in the line. */
static void gen_make_exception(gen_ctx *c)
{
	gen_event *ev = c->ev;
	gen_rng *r = &c->rng;
	const gen_service *s = &gen_services[ev->svc];
	char dir[16];
	gen_short_name(dir, sizeof dir, s->name);
	const gen_exc_kind *k;
	ev->has_exc = 1;
	ev->nframes = (int)gen_range(r, 2, GEN_MAX_FRAMES);

	switch (s->style) {
	case GEN_STYLE_PYTHON: {
		static const char *const files[] = {"worker", "tasks", "client", "retry"};
		static const char *const funcs[] = {"run", "process", "call", "handle_batch"};
		k = &GEN_PICK(r, gen_exc_python);
		snprintf(ev->exc_head, sizeof ev->exc_head, "Traceback (most recent call last):");
		for (int i = 0; i < ev->nframes; i++) {
			unsigned line = gen_range(r, 12, 480);
			snprintf(ev->frames[i], sizeof ev->frames[i], "  File \"/app/%s.py\", line %u, in %s",
				 files[i], line, funcs[i]);
		}
		snprintf(ev->exc_tail, sizeof ev->exc_tail, "%s: %s", k->type, k->msg);
		break;
	}
	case GEN_STYLE_PINO: {
		static const char *const funcs[] = {"Worker.run", "Queue.process", "Job.execute", "Client.send"};
		static const char *const files[] = {"worker", "queue", "job", "client"};
		k = &GEN_PICK(r, gen_exc_node);
		snprintf(ev->exc_head, sizeof ev->exc_head, "%s: %s", k->type, k->msg);
		for (int i = 0; i < ev->nframes; i++) {
			unsigned line = gen_range(r, 10, 300);
			unsigned col = gen_range(r, 5, 40);
			snprintf(ev->frames[i], sizeof ev->frames[i], "    at %s (/app/src/%s.js:%u:%u)", funcs[i],
				 files[i], line, col);
		}
		break;
	}
	case GEN_STYLE_ZAP: {
		static const char *const funcs[] = {"worker.(*Group).run", "batch.Process", "client.(*Client).Do",
						    "retry.Do"};
		static const char *const files[] = {"worker/group", "batch/batch", "client/client", "retry/retry"};
		k = &GEN_PICK(r, gen_exc_go);
		unsigned goroutine = gen_range(r, 1, 900);
		snprintf(ev->exc_head, sizeof ev->exc_head, "goroutine %u [running]:", goroutine);
		for (int i = 0; i < ev->nframes; i++) {
			unsigned line = gen_range(r, 20, 400);
			unsigned pc = gen_range(r, 0x20, 0x3ff);
			snprintf(ev->frames[i], sizeof ev->frames[i], "%s/%s(...)\n\t/app/%s.go:%u +0x%x", dir,
				 funcs[i], files[i], line, pc);
		}
		break;
	}
	default: { /* Java */
		static const char *const methods[] = {"run", "process", "call", "execute"};
		k = &GEN_PICK(r, gen_exc_java);
		snprintf(ev->exc_head, sizeof ev->exc_head, "%s: %s", k->type, k->msg);
		/* Frames with abbreviated packages ("c.a.u.UserService"), as
		 * logstash-logback-encoder's ShortenedThrowableConverter writes
		 * them when a stack must fit a size limit. */
		const char *cls = s->app_loggers[0];
		char abbr[64];
		gen_abbrev_class(abbr, sizeof abbr, cls);
		for (int i = 0; i < ev->nframes; i++) {
			unsigned line = gen_range(r, 30, 600);
			snprintf(ev->frames[i], sizeof ev->frames[i], "\tat %s.%s(%s.java:%u)", abbr, methods[i],
				 gen_simple_class(cls), line);
		}
		/* The rest of a deep Java stack, summarised the way Java does. */
		unsigned more = gen_range(r, 12, 90);
		snprintf(ev->exc_tail, sizeof ev->exc_tail, "\t... %u more", more);
		break;
	}
	}
	ev->exc_type = k->type;
	ev->exc_msg = k->msg;
	/* Python's trailer repeats type and message, elsewhere the header. */
	ev->exc_drop_head = s->style != GEN_STYLE_PYTHON;
}

static void gen_make_application(gen_ctx *c)
{
	/* db-proxy only speaks about the database; it is not an app source. */
	static const double svc_w[GEN_NSVC] = {
		[GEN_SVC_ORDERS] = 20, [GEN_SVC_INVENTORY] = 14, [GEN_SVC_PAYMENTS] = 14,
		[GEN_SVC_SEARCH] = 12, [GEN_SVC_NOTIFY] = 16, [GEN_SVC_WEB] = 12,
		[GEN_SVC_USERS] = 10, [GEN_SVC_AUTH] = 2,
	};
	gen_event *ev = c->ev;
	gen_rng *r = &c->rng;
	ev->svc = (int)gen_weighted(r, svc_w, GEN_NSVC);
	const gen_service *s = &gen_services[ev->svc];
	ev->level = gen_app_level(r);
	ev->logger = s->app_loggers[gen_below(r, 2)];

	const char *tmpl;
	switch (ev->level) {
	case GEN_TRACE:
		tmpl = GEN_PICK(r, gen_app_trace);
		break;
	case GEN_DEBUG:
		tmpl = GEN_PICK(r, gen_app_debug);
		break;
	case GEN_WARNING:
		tmpl = GEN_PICK(r, gen_app_warning);
		break;
	case GEN_ERROR:
		tmpl = s->app_error;
		break;
	case GEN_CRITICAL:
		tmpl = GEN_PICK(r, gen_app_critical);
		break;
	default:
		tmpl = gen_chance(r, 0.3) ? GEN_PICK(r, gen_app_info_generic) : GEN_PICK(r, s->app_info);
		break;
	}
	gen_set_msg(c, tmpl);
	if (ev->level >= GEN_ERROR)
		gen_make_exception(c);
}

/* ------------------------------------------------------------------ */
/* Record i                                                           */
/* ------------------------------------------------------------------ */

static void gen_pick_category_field(gen_ctx *c)
{
	gen_event *ev = c->ev;
	gen_rng *r = &c->rng;
	ev->cat_present = gen_chance(r, c->mix->p_cat_present);
	ev->cat_key = gen_chance(r, 0.75) ? "category" : "log_type";
	double u = gen_unif(r);
	if (u < 0.90)
		ev->cat_value = gen_cat_names[ev->cat];
	else if (u < 0.95)
		ev->cat_value = gen_cat_capitalised[ev->cat];
	else
		ev->cat_value = gen_cat_aliases[ev->cat][gen_below(r, 2)];
}

static void gen_pick_style_details(gen_ctx *c)
{
	gen_event *ev = c->ev;
	gen_rng *r = &c->rng;
	ev->java_nested = gen_chance(r, 0.5);
	ev->syslog_numeric = gen_chance(r, 0.5);
	switch (ev->level) {
	case GEN_CRITICAL:
		ev->syslog_severity = (int)gen_weighted(r, (const double[]){1, 2, 7}, 3);
		ev->syslog_keyword = "crit";
		break;
	case GEN_ERROR:
		ev->syslog_severity = 3;
		ev->syslog_keyword = "err";
		break;
	case GEN_WARNING:
		ev->syslog_severity = 4;
		ev->syslog_keyword = "warning";
		break;
	case GEN_INFO:
		ev->syslog_severity = gen_chance(r, 0.3) ? 5 : 6;
		ev->syslog_keyword = ev->syslog_severity == 5 ? "notice" : "info";
		break;
	default:
		ev->syslog_severity = 7;
		ev->syslog_keyword = "debug";
		break;
	}
}

/* Host, pid, thread, ids: the optional fields that pad lines to length. */
static void gen_pick_optional(gen_ctx *c)
{
	static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789"; /* k8s pod suffixes */
	gen_event *ev = c->ev;
	gen_rng *r = &c->rng;
	const gen_service *s = &gen_services[ev->svc];
	gen_sb b;

	/* Three pods per service; everything about a pod is a pure function
	 * of (service, pod), so pods look stable across records and seeds. */
	uint32_t pod = gen_below(r, 3);
	uint64_t h = gen_mix64((uint64_t)ev->svc * 16 + pod + 1);
	gen_sb_init(&b, ev->host, sizeof ev->host);
	gen_puts(&b, s->name);
	gen_putc(&b, '-');
	gen_puts(&b, s->rs_hash);
	gen_putc(&b, '-');
	for (int i = 0; i < 5; i++, h /= sizeof alphabet - 1)
		gen_putc(&b, alphabet[h % (sizeof alphabet - 1)]);
	ev->pid = 1 + (uint32_t)(gen_mix64(h + 7) % 97);
	ev->region = gen_regions[pod];

	gen_sb_init(&b, ev->request_id, sizeof ev->request_id);
	gen_put_uuid(&b, r);
	ev->user_id = gen_range(r, 1000, 9999999);
	gen_sb_init(&b, ev->trace_id, sizeof ev->trace_id);
	gen_put_hex(&b, gen_u64(r), 16);
	gen_put_hex(&b, gen_u64(r), 16);
	gen_sb_init(&b, ev->span_id, sizeof ev->span_id);
	gen_put_hex(&b, gen_u64(r), 16);
	if (!ev->user_agent)
		ev->user_agent = GEN_PICK(r, gen_user_agents);

	ev->avail |= 1u << GEN_OPT_REQUEST_ID | 1u << GEN_OPT_USER_ID | 1u << GEN_OPT_TRACE_ID |
		     1u << GEN_OPT_SPAN_ID | 1u << GEN_OPT_HOST | 1u << GEN_OPT_PID |
		     1u << GEN_OPT_VERSION | 1u << GEN_OPT_REGION;
	gen_sb_init(&b, ev->thread, sizeof ev->thread);
	if (s->style == GEN_STYLE_PYTHON) {
		gen_puts(&b, "ThreadPoolExecutor-0_");
		gen_put_u64(&b, gen_below(r, 8));
		ev->avail |= 1u << GEN_OPT_THREAD;
	} else if (s->style == GEN_STYLE_JAVA) {
		gen_puts(&b, ev->cat == GEN_CAT_ACCESS ? "http-nio-8080-exec-" : "pool-2-thread-");
		gen_put_u64(&b, gen_range(r, 1, 40));
		ev->avail |= 1u << GEN_OPT_THREAD;
	}

	/* Chance of each optional field before length balancing. */
	static const double p_want[GEN_NOPTS] = {
		[GEN_OPT_USER] = 1.0, [GEN_OPT_REQUEST_ID] = 0.88, [GEN_OPT_USER_ID] = 0.35,
		[GEN_OPT_TRACE_ID] = 0.45, [GEN_OPT_SPAN_ID] = 0.45, [GEN_OPT_HOST] = 0.6,
		[GEN_OPT_PID] = 0.35, [GEN_OPT_THREAD] = 0.4, [GEN_OPT_VERSION] = 0.3,
		[GEN_OPT_REGION] = 0.3, [GEN_OPT_CLIENT_IP] = 0.6, [GEN_OPT_USER_AGENT] = 0.45,
	};
	for (int i = 0; i < GEN_NOPTS; i++)
		if (gen_chance(r, p_want[i]))
			ev->want |= 1u << i;
	if (ev->cat == GEN_CAT_SECURITY && gen_chance(r, 0.6))
		ev->want |= 1u << GEN_OPT_USER_ID;
	/* A span id without a trace id would be odd. */
	if (!(ev->want & 1u << GEN_OPT_TRACE_ID))
		ev->want &= ~(1u << GEN_OPT_SPAN_ID);
}

/* Produces record seq. Calls must come in sequence order, because event
 * time is cumulative; everything else is drawn from a stream seeded by
 * (seed, seq), so a record's content does not depend on earlier ones. */
void gen_make_event(gen_state *st, uint64_t seq, gen_event *ev)
{
	gen_ctx c;
	memset(ev, 0, sizeof *ev); /* ~1.5 KB; clarity beats the ~5% it costs */

	ev->seq = seq;
	ev->t_us = st->start_us + (int64_t)st->elapsed_us;
	st->elapsed_us += gen_exponential(&st->clock, st->mean_gap_us);

	gen_sb b;
	gen_sb_init(&b, ev->event_id, sizeof ev->event_id);
	gen_putc(&b, 'e');
	gen_put_hex(&b, gen_mix64(seq + st->id_key), 16);

	gen_rng_seed(&c.rng, st->rng_base + seq * 4 * 0x9E3779B97F4A7C15ull);
	c.ev = ev;
	c.st = st;
	c.mix = gen_mix_at(st, ev->t_us, &st->scratch);
	double u = gen_unif(&c.rng);
	c.unicode_names = u < c.mix->p_raw_utf8 + c.mix->p_escaped_utf8;
	ev->esc_unicode = c.unicode_names && u >= c.mix->p_raw_utf8;
	c.name = c.unicode_names ? GEN_PICK(&c.rng, gen_unicode_names) : GEN_PICK(&c.rng, gen_ascii_names);
	c.name_used = 0;
	c.quote = gen_chance(&c.rng, 0.25);
	/* Drawn up front because messages ("... from {ip}") quote it. */
	gen_sb_init(&b, ev->client_ip, sizeof ev->client_ip);
	gen_put_ipv4(&b, &c.rng);

	ev->cat = (gen_cat)gen_weighted(&c.rng, c.mix->cat_weight, GEN_NCATS);
	switch (ev->cat) {
	case GEN_CAT_ACCESS:
		gen_make_access(&c);
		break;
	case GEN_CAT_SECURITY:
		gen_make_security(&c);
		break;
	case GEN_CAT_DATABASE:
		gen_make_database(&c);
		break;
	default:
		gen_make_application(&c);
		break;
	}
	ev->level = gen_style_clamp(gen_services[ev->svc].style, ev->level);
	ev->dropped = c.mix->silent[ev->svc];
	gen_pick_category_field(&c);
	gen_pick_style_details(&c);
	gen_pick_optional(&c);

	/* Non-ASCII name that the message had no slot for: carry it as a
	 * "user" field so the Unicode share holds for every category. */
	if (c.unicode_names && !c.name_used) {
		ev->user = c.name;
		ev->avail |= 1u << GEN_OPT_USER;
	}
}

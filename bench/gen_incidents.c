/*
 * gen_incidents.c - the corpus generator's state and the distribution
 * knobs in force at a time: healthy traffic's base mix, and what each
 * --incident KIND[:SERVICE]@START+DURATION changes while it lasts (see
 * gen --help for the alert rules each kind fires). Declarations in gen.h.
 */

#include <string.h>

#include "bench/gen.h"

static const char *const gen_incident_names[GEN_NINC] = {"5xx", "latency", "auth", "silent", "slowburn",
								      "scanner", "words"};

void gen_state_init(gen_state *st, uint64_t seed, uint64_t start_ms)
{
	static const gen_mix base = {
		.cat_weight = {[GEN_CAT_APPLICATION] = 0.42,
			       [GEN_CAT_SECURITY] = 0.03,
			       [GEN_CAT_ACCESS] = 0.48,
			       [GEN_CAT_DATABASE] = 0.07},
		.p_cat_present = 0.80,
		.p_4xx = 0.05,
		.p_latency_tail = 0.01,
		.p_raw_utf8 = 0.03,
		.p_escaped_utf8 = 0.02,
	};
	memset(st, 0, sizeof *st);
	st->seed = seed;
	st->id_key = gen_mix64(seed ^ 0x5EEDC0DE1D5EEDull);
	st->rng_base = gen_mix64(seed + 0x243F6A8885A308D3ull);
	gen_rng_seed(&st->clock, gen_mix64(seed ^ 0x13198A2E03707344ull));
	st->start_us = (int64_t)start_ms * 1000;
	st->mean_gap_us = 1000.0;
	st->mix = base;
	for (int s = 0; s < GEN_NSVC; s++) {
		double u = (double)(gen_mix64(seed * 31 + (uint64_t)s + 0xA5A5ull) >> 11) * (1.0 / 9007199254740992.0);
		st->next_5xx[s] = (uint64_t)(GEN_5XX_GAP * (0.5 + u));
	}
}

/* The knobs in force at t_us: the base mix, or a copy in *scratch with
 * the incidents active at t_us applied. */
const gen_mix *gen_mix_at(const gen_state *st, int64_t t_us, gen_mix *scratch)
{
	int64_t off = t_us - st->start_us;
	const gen_mix *m = &st->mix;
	for (size_t i = 0; i < st->n_incidents; i++) {
		const gen_incident *inc = &st->incidents[i];
		if (off < inc->from_us || off >= inc->to_us)
			continue;
		if (m != scratch) {
			*scratch = st->mix;
			m = scratch;
		}
		switch (inc->kind) {
		case GEN_INC_5XX:
			scratch->p_5xx[inc->svc] = 0.08;
			break;
		case GEN_INC_SLOWBURN:
			scratch->p_5xx[inc->svc] = 0.0075;
			break;
		case GEN_INC_LATENCY:
			scratch->slow_ms[inc->svc] = 600.0;
			break;
		case GEN_INC_AUTH:
			scratch->p_authfail[inc->svc] = 0.25;
			break;
		case GEN_INC_SCANNER:
		case GEN_INC_WORDS:
			for (int s = 0; s < GEN_NSVC; s++) {
				if (inc->svc >= 0 && s != inc->svc)
					continue;
				if (inc->kind == GEN_INC_SCANNER)
					scratch->p_scanner[s] = 0.02;
				else
					scratch->words[s] = 1;
			}
			break;
		default:
			scratch->silent[inc->svc] = 1;
			break;
		}
	}
	return m;
}

/* A duration: one or more NUMBER UNIT pieces (ms, s, m, h), or "0", in
 * microseconds. Returns 0 on a malformed or huge value. */
static int gen_parse_duration(const char *s, const char *end, int64_t *out)
{
	int64_t total = 0;
	if (s == end)
		return 0;
	if (end - s == 1 && *s == '0') {
		*out = 0;
		return 1;
	}
	while (s < end) {
		int64_t v = 0;
		const char *d = s;
		while (s < end && *s >= '0' && *s <= '9') {
			if (v > 1000000000)
				return 0;
			v = v * 10 + (*s++ - '0');
		}
		if (s == d)
			return 0;
		int64_t unit;
		if (end - s >= 2 && s[0] == 'm' && s[1] == 's')
			unit = 1000, s += 2;
		else if (*s == 's')
			unit = 1000000, s++;
		else if (*s == 'm')
			unit = 60000000, s++;
		else if (*s == 'h')
			unit = 3600000000, s++;
		else
			return 0;
		total += v * unit;
		if (total > (int64_t)1000 * 24 * 3600000000)
			return 0;
	}
	*out = total;
	return 1;
}

/* Services an incident kind can target: HTTP ones for 5xx, latency and
 * slowburn, those with security records for auth, any for silent. */
static int gen_incident_fits(gen_incident_kind kind, int svc)
{
	switch (kind) {
	case GEN_INC_AUTH:
		return svc == GEN_SVC_AUTH || svc == GEN_SVC_USERS || svc == GEN_SVC_WEB ||
		       svc == GEN_SVC_PAYMENTS || svc == GEN_SVC_ORDERS || svc == GEN_SVC_SEARCH;
	case GEN_INC_SILENT:
		return 1;
	default:
		return svc != GEN_SVC_DBPROXY;
	}
}

/* KIND[:SERVICE]@START+DURATION into *inc; NULL or the reason it is bad. */
const char *gen_parse_incident(const char *spec, gen_incident *inc)
{
	static const int default_svc[GEN_NINC] = {
		[GEN_INC_5XX] = GEN_SVC_ORDERS, [GEN_INC_LATENCY] = GEN_SVC_PAYMENTS,
		[GEN_INC_AUTH] = GEN_SVC_AUTH, [GEN_INC_SILENT] = GEN_SVC_NOTIFY,
		[GEN_INC_SLOWBURN] = GEN_SVC_ORDERS, [GEN_INC_SCANNER] = -1, [GEN_INC_WORDS] = -1,
	};
	const char *at = strchr(spec, '@');
	if (!at)
		return "expected KIND[:SERVICE]@START+DURATION";
	const char *colon = memchr(spec, ':', (size_t)(at - spec));
	const char *kend = colon ? colon : at;
	int kind = -1;
	for (int k = 0; k < GEN_NINC; k++)
		if (strlen(gen_incident_names[k]) == (size_t)(kend - spec) &&
		    memcmp(spec, gen_incident_names[k], (size_t)(kend - spec)) == 0)
			kind = k;
	if (kind < 0)
		return "unknown kind (5xx, latency, auth, silent, slowburn, scanner, words)";
	inc->kind = (gen_incident_kind)kind;
	inc->svc = default_svc[kind];
	if (colon) {
		inc->svc = -1;
		for (int s = 0; s < GEN_NSVC; s++)
			if (strlen(gen_services[s].name) == (size_t)(at - colon - 1) &&
			    memcmp(colon + 1, gen_services[s].name, (size_t)(at - colon - 1)) == 0)
				inc->svc = s;
		if (inc->svc < 0)
			return "unknown service (orders, inventory, web-frontend, notifications, payments, "
			       "search, auth-service, user-service, db-proxy)";
		if (!gen_incident_fits(inc->kind, inc->svc))
			return "this kind does not apply to that service (see --help)";
	}
	const char *plus = strchr(at, '+');
	int64_t dur;
	if (!plus || !gen_parse_duration(at + 1, plus, &inc->from_us) ||
	    !gen_parse_duration(plus + 1, plus + 1 + strlen(plus + 1), &dur))
		return "expected START+DURATION as durations like 90s, 10m or 1h30m";
	inc->to_us = inc->from_us + dur;
	return NULL;
}

# A reference evaluator of vigil's shipped alert rules (config/rules.yaml),
# written from their documented semantics (alert/rules.h, alert/alerts.h),
# independently of the engine: alert_reference.sh compares its changes with
# vigil replay's.
#
# Input: one line per record, `vigil classify`'s output for it, a tab, and
# the raw record (for auth_failures: category security and a message
# matching the counter's pattern in `vigil config --default`).
# Output: one line per alert change,
#   AT_MS <TAB> ALERTNAME <TAB> STATE <TAB> LABELS (JSON, sorted) <TAB> VALUE
# VALUE is "null" where vigil writes null (no data, or not finite). A line
# "ambiguous ..." names a latency judgement within 2% of its threshold,
# where the engine's sketch (1% relative error) may decide either way.
#
# Every window is evaluated, empty ones too; a service is known from its
# first record until forget_after (24h) and ServiceSilent holds while a
# known service is silent for 5m; NoRecords is the same for every record
# at once (by: []).

BEGIN {
	FS = "\t"
	W = 10000 # base window, ms
	S = 1000; M = 60 * S; H = 60 * M
	# Auth failures (aggregate.counters in vigil config --default), lower-cased
	AUTH = "authentication failed|invalid (password|credentials)|account (is )?locked"
	esc_after["P1"] = 15 * M; esc_after["P2"] = 30 * M
	# Per rule: severity, extra labels (JSON members), for, keep_firing_for.
	rule("HTTP5xxErrorRate", "P1", "", 3 * M, 5 * M)
	rule("HTTPLatencyP95", "P3", "", 5 * M, 5 * M)
	rule("HTTPLatencyP99", "P2", "", 5 * M, 5 * M)
	rule("ErrorLogRate", "P2", "", 5 * M, 5 * M)
	rule("AuthFailureSurge", "P2", "category=security", 1 * M, 5 * M)
	rule("ServiceVolumeDrop", "P3", "", 5 * M, 0)
	rule("ServiceSilent", "P2", "", 0, 0)
	rule("NoRecords", "P1", "", 0, 0)
	rule("AvailabilityBurnRatePage", "P1", "slo=availability-99.9", 2 * M, 0)
	rule("AvailabilityBurnRateTicket", "P3", "slo=availability-99.9", 30 * M, 0)
	# Latency thresholds, for counting the values above them per window.
	T95 = 500; T99 = 2000
}

function rule(name, sev, extra, for_ms, keep_ms) {
	SEV[name] = sev; EXTRA[name] = extra; FOR[name] = for_ms; KEEP[name] = keep_ms
}

# The value of "name" in a flat JSON object (classify's line), "" for null.
function field(line, name,    i, rest) {
	i = index(line, "\"" name "\":")
	if (!i) return ""
	rest = substr(line, i + length(name) + 3)
	if (substr(rest, 1, 1) == "\"") return substr(rest, 2, index(substr(rest, 2), "\"") - 1)
	rest = substr(rest, 1, match(rest, /[,}]/) - 1)
	return rest == "null" ? "" : rest
}

# The raw record's message (fields.message: [message, msg]).
function message(raw,    f) {
	if (match(raw, /"message":"([^"\\]|\\.)*"/) || match(raw, /"msg":"([^"\\]|\\.)*"/)) {
		f = substr(raw, RSTART, RLENGTH)
		return substr(f, index(f, ":\"") + 2)
	}
	return ""
}

{
	c = $1
	ts = field(c, "ts_ms") + 0
	w = int(ts / W)
	if (NR == 1 || w < first) first = w
	if (NR == 1 || w > last) last = w
	svc = field(c, "service"); lvl = field(c, "level"); status = field(c, "status") + 0
	SVC[svc] = 1
	has[w] = 1
	n_log[w, svc]++
	n_all[w]++
	if (lvl == "ERROR" || lvl == "CRITICAL") n_err[w, svc]++
	if (field(c, "category") == "security" && tolower(message($2)) ~ AUTH) n_auth[w, svc]++
	if (status) { # an HTTP request
		n_http[w, svc]++
		if (status >= 500) n_5xx[w, svc]++
		d = field(c, "duration_ms")
		if (d != "" && d + 0 >= 0 && d + 0 <= 24 * H) { # aggregate.max_duration
			k = svc SUBSEP field(c, "endpoint")
			LK[k] = 1
			lat_n[w, k]++
			lat_v[w, k] = lat_v[w, k] " " d
			d += 0
			# values above each threshold and 2% either side of it
			if (d > T95 / 1.02) lat95[w, k, "lo"]++
			if (d > T95) lat95[w, k, "at"]++
			if (d > T95 / 0.98) lat95[w, k, "hi"]++
			if (d > T99 / 1.02) lat99[w, k, "lo"]++
			if (d > T99) lat99[w, k, "at"]++
			if (d > T99 / 0.98) lat99[w, k, "hi"]++
		}
	}
}

# The sum of arr[w, key] over the windows in [from, to) (ms).
function sum(arr, key, from, to,    x, s) {
	s = 0
	for (x = from / W < first ? first : from / W; x < to / W; x++)
		if ((x, key) in arr) s += arr[x, key]
	return s
}

# Records of any service in [from, to).
function total(from, to,    x, s) {
	s = 0
	for (x = from / W < first ? first : from / W; x < to / W; x++) s += n_all[x]
	return s
}

# ---- the alert instances ----------------------------------------------

# The condition of `name` holds at now for group key with value v.
function hold(name, key, v,    id) {
	id = name SUBSEP key
	seen[id] = 1
	val[id] = v
	last_active[id] = now
	if (!(id in st)) {
		st[id] = "pending"
		active_at[id] = now
		if (FOR[name]) emit(id, "pending", 0)
	}
	if (st[id] == "pending" && now - active_at[id] >= FOR[name]) {
		st[id] = "firing"
		fired_at[id] = now
		emit(id, "firing", 0)
	}
}

# The condition does not hold for group key, whose value now is v.
function observe(name, key, v,    id) {
	id = name SUBSEP key
	if (id in st) { obs[id] = 1; obsval[id] = v }
}

# After every rule: instances whose condition no longer holds; escalation.
function settle(    id, name, l) {
	for (id in st) {
		split(id, l, SUBSEP); name = l[1]
		if (st[id] == "firing" && !(id in escalated) && (SEV[name] in esc_after) && now - fired_at[id] >= esc_after[SEV[name]]) {
			escalated[id] = 1
			emit(id, "firing", 1)
		}
		if (id in seen) continue
		val[id] = (id in obs) ? obsval[id] : "null"
		if (st[id] == "pending") {
			if (FOR[name]) emit(id, "inactive", 0)
			forget(id)
		} else if (now - last_active[id] >= KEEP[name]) {
			emit(id, "resolved", 0)
			if (id in escalated) emit(id, "resolved", 1)
			forget(id)
		}
	}
	for (id in seen) delete seen[id]
	for (id in obs) delete obs[id]
}

function forget(id) {
	delete st[id]; delete escalated[id]; delete active_at[id]; delete fired_at[id]; delete last_active[id]
}

function emit(id, state, l2,    l, name, key, n, lab, e, i, j, t, v, out) {
	split(id, l, SUBSEP); name = l[1]
	n = 0
	lab[++n] = "alertname=" name
	lab[++n] = "severity=" SEV[name]
	if (l[2] != "") lab[++n] = "service=" l[2]
	if (l[3] != "") lab[++n] = "endpoint=" l[3]
	if (EXTRA[name] != "") lab[++n] = EXTRA[name]
	if (l2) lab[++n] = "escalation=L2"
	for (i = 2; i <= n; i++) # labels sorted by name, as vigil sends them
		for (j = i; j > 1 && lab[j - 1] > lab[j]; j--) { t = lab[j]; lab[j] = lab[j - 1]; lab[j - 1] = t }
	out = ""
	for (i = 1; i <= n; i++) {
		e = index(lab[i], "=")
		out = out (i > 1 ? "," : "") "\"" substr(lab[i], 1, e - 1) "\":\"" substr(lab[i], e + 1) "\""
	}
	v = val[id]
	if (v ~ /^lat/) v = quantile(v)
	printf "%.0f\t%s\t%s\t{%s}\t%s\n", now, name, state, out, v == "inf" || v == "null" ? "null" : sprintf("%.17g", v)
}

# ---- conditions ---------------------------------------------------------

# error_rate: bad over count per service in [now - win, now), once the
# engine has had win of data (coverage).
function error_rate(name, cnt, bad, win, above, min,    s, n, v) {
	if (now - data_from < win) return
	for (s in SVC) {
		n = sum(cnt, s, now - win, now)
		if (!n) continue
		v = sum(bad, s, now - win, now) / n
		if (n >= min && v > above) hold(name, s, v)
		else observe(name, s, v)
	}
}

# latency: the quantile q of a (service, endpoint)'s durations; exactly,
# the value at rank int(q * (n - 1)) is above T when n - rank values are.
function latency(name, q, win, above, cnt, min,    k, n, r, lo, at, hi, l, v) {
	for (k in LK) {
		n = sum(lat_n, k, now - win, now)
		if (!n) continue
		v = "lat " q " " sprintf("%.0f", now - win) " " k # computed if emitted
		if (n < min) { observe(name, k, v); continue }
		r = n - int(q * (n - 1))
		lo = sum(cnt, k SUBSEP "lo", now - win, now) >= r
		at = sum(cnt, k SUBSEP "at", now - win, now) >= r
		hi = sum(cnt, k SUBSEP "hi", now - win, now) >= r
		if (lo != hi) {
			split(k, l, SUBSEP)
			printf "ambiguous %.0f %s %s %s\n", now, name, l[1], l[2]
		}
		if (at) hold(name, k, v)
		else observe(name, k, v)
	}
}

# The exact quantile a deferred "lat Q FROM SERVICE<SUBSEP>ENDPOINT" names.
function quantile(spec,    p, k, x, n, a, m, i, vals) {
	split(spec, p, " ")
	k = substr(spec, length(p[1] p[2] p[3]) + 4)
	n = 0
	for (x = p[3] / W < first ? first : p[3] / W; x < now / W; x++) {
		if (!((x, k) in lat_v)) continue
		m = split(lat_v[x, k], a, " ")
		for (i = 1; i <= m; i++) vals[++n] = a[i] + 0
	}
	qsort(vals, 1, n)
	return vals[int(p[2] * (n - 1)) + 1]
}

function qsort(A, lo, hi,    i, last, t) {
	if (lo >= hi) return
	i = int((lo + hi) / 2); t = A[lo]; A[lo] = A[i]; A[i] = t
	last = lo
	for (i = lo + 1; i <= hi; i++)
		if (A[i] < A[lo]) { last++; t = A[last]; A[last] = A[i]; A[i] = t }
	t = A[lo]; A[lo] = A[last]; A[last] = t
	qsort(A, lo, last - 1); qsort(A, last + 1, hi)
}

# count against a baseline: the window's count over what the baseline's
# rate predicts for a window, judged once the baseline holds cover of data.
# above: groups of the window, holding at count >= min and value > limit;
# below: groups of the baseline, holding at prediction >= min and value < limit.
function baseline(name, cnt, win, base, cover, below, limit, min,    end, from, span, s, c, b, p, v) {
	end = now - win; from = end - base
	span = end - (from > data_from ? from : data_from)
	if (!(span >= cover && span > 0)) return
	for (s in SVC) {
		c = sum(cnt, s, now - win, now)
		b = sum(cnt, s, from, end)
		if (below ? !b : !c) continue
		p = b * win / span
		v = p > 0 ? c / p : c ? "inf" : 0
		if (below ? p >= min && v < limit : c >= min && (v == "inf" || v > limit)) hold(name, s, v)
		else observe(name, s, v)
	}
}

# burn_rate over 5xx with budget 1 - objective; pairs "LONG SHORT FACTOR
# COVER ..." (ms); a group holds if any pair holds, valued by the first
# that does; pair 0's long burn is the value otherwise.
function burn(name, objective, pairs, min,    budget, P, np, i, s, L, Sh, bl, bs, act) {
	budget = 1 - objective
	np = split(pairs, P, " ")
	for (i = 1; i <= np; i += 4) {
		if (now - data_from < P[i + 3]) continue
		for (s in SVC) {
			L = sum(n_http, s, now - P[i], now)
			if (!L) continue
			bl = sum(n_5xx, s, now - P[i], now) / L / budget
			Sh = sum(n_http, s, now - P[i + 1], now)
			if (!Sh || L < min || Sh < min || (s in act)) {
				if (i == 1) observe(name, s, bl)
				continue
			}
			bs = sum(n_5xx, s, now - P[i + 1], now) / Sh / budget
			if (bl > P[i + 2] && bs > P[i + 2]) { act[s] = 1; hold(name, s, bl) }
			else if (i == 1) observe(name, s, bl)
		}
	}
}

# ServiceSilent. old: a service with records in [now - 5m - 1h, now - 5m)
# and none in [now - 5m, now). new: a service known (a record within
# forget_after) with none in [now - 5m, now); NoRecords: no record at all
# in [now - 5m, now) after any record came.
function silent(win,    s) {
	for (s in SVC) {
		if (!(s in last_seen && now - last_seen[s] < 24 * H)) continue
		if (!sum(n_log, s, now - win, now)) hold("ServiceSilent", s, 0)
	}
	if (any_seen && !total(now - win, now)) hold("NoRecords", "", 0)
}

END {
	data_from = first * W
	for (w = first; w <= last; w++) {
		now = (w + 1) * W
		for (s in SVC) if ((w, s) in n_log) last_seen[s] = now
		if (w in has) any_seen = 1
		error_rate("HTTP5xxErrorRate", n_http, n_5xx, 5 * M, 0.01, 100)
		latency("HTTPLatencyP95", 0.95, 1 * M, T95, lat95, 50)
		latency("HTTPLatencyP99", 0.99, 5 * M, T99, lat99, 100)
		error_rate("ErrorLogRate", n_log, n_err, 5 * M, 0.05, 100)
		baseline("AuthFailureSurge", n_auth, 5 * M, H, 5 * M, 0, 5, 50)
		baseline("ServiceVolumeDrop", n_log, 5 * M, H, 5 * M, 1, 0.1, 100)
		silent(5 * M)
		burn("AvailabilityBurnRatePage", 0.999, H " " 5 * M " 14.4 " 5 * M " " 6 * H " " 30 * M " 6 " 30 * M, 100)
		burn("AvailabilityBurnRateTicket", 0.999, 72 * H " " 6 * H " 1 " 6 * H, 1000)
		settle()
	}
}

#!/usr/bin/env bash
# vigil's alert changes against a reference evaluation of the shipped
# rules (alert_reference.awk, written from alert/rules.h and
# alert/alerts.h, not from the engine) on generated streams: quiet, a 5xx
# burst (with a P1 escalation), a latency spike, a silent service (and its
# volume drop) and an auth surge. The changes (at, alertname, state,
# labels) must be the same set with --threads 1 and 2; values equal
# (latency within 2%: rules read a sketch with 1% relative error).
# ALERT_REF_CONFIG (a vigil configuration, e.g. other rules.files) and
# ALERT_REF_AWK (another reference) show that a changed threshold or `for`
# on either side fails the test.
#
# ALERT_REF_SHORT=1 (make san): two streams, thinner.
# ALERT_REF_STREAMS="5xx latency" runs those streams alone (any of the
# names below).
. "$(dirname "$0")/../lib.sh"
REF=${ALERT_REF_AWK:-$(dirname "$0")/alert_reference.awk}
seed=${ALERT_REF_SEED:-3}
short=${ALERT_REF_SHORT:-0}
streams=${ALERT_REF_STREAMS:-$([ "$short" = 1 ] && echo "5xx silent" || echo "quiet 5xx 5xx-keep latency silent auth outage")}
# One record in $thin of bench/gen's ~1000 a second: the services each
# incident targets still meet every min_count many times over, but for
# search's /health under HTTPLatencyP95 (50 a minute), which pends and goes
# inactive: min_count at work, which the reference must get right too.
thin=$([ "$short" = 1 ] && echo 8 || echo 4)

# The changes of vigil replay as the reference writes them:
# AT_MS, alertname, state, labels, value (tab-separated).
normalize() {
	awk '{
		match($0, /"at":"[^"]*"/); at = substr($0, RSTART + 6, RLENGTH - 7)
		match($0, /"alertname":"[^"]*"/); name = substr($0, RSTART + 13, RLENGTH - 14)
		match($0, /"state":"[^"]*"/); state = substr($0, RSTART + 9, RLENGTH - 10)
		match($0, /"labels":\{[^}]*\}/); labels = substr($0, RSTART + 9, RLENGTH - 9)
		match($0, /"value":[^,}]*/); value = substr($0, RSTART + 8, RLENGTH - 8)
		# days from 1970-01-01 of a proleptic Gregorian date
		y = substr(at, 1, 4) + 0; m = substr(at, 6, 2) + 0; d = substr(at, 9, 2) + 0
		if (m <= 2) y--
		era = int(y / 400); yoe = y - era * 400
		doy = int((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
		days = era * 146097 + yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy - 719468
		ms = ((days * 24 + substr(at, 12, 2)) * 60 + substr(at, 15, 2)) * 60000 + substr(at, 18, 6) * 1000
		printf "%.0f\t%s\t%s\t%s\t%s\n", ms, name, state, labels, value
	}' "$1"
}

# same NAME GOT WANT: the same changes (the first four columns) and values
# within tolerance; on a mismatch, the diff.
same() {
	local g="$TMP/same.got" w="$TMP/same.want" d bad
	LC_ALL=C sort "$2" >"$g"
	LC_ALL=C sort "$3" >"$w"
	if ! d=$(diff <(cut -f 1-4 "$g") <(cut -f 1-4 "$w")); then
		fail "$1" "the changes differ (< vigil, > reference):
$d"
		return
	fi
	bad=$(paste "$g" "$w" | awk -F '\t' '{
		a = $5; b = $10
		if (a == b) next
		if (a == "null" || b == "null") { print; next }
		tol = $2 ~ /Latency/ ? 0.02 : 1e-9
		d = a - b; if (d < 0) d = -d
		m = b < 0 ? -b : b
		if (d > tol * m) print
	}')
	if [ -z "$bad" ]; then ok "$1"; else fail "$1" "values differ (vigil, then the reference):
$bad"; fi
}

# stream NAME MINUTES [GEN ARGS...]: generate, thin, evaluate with the
# reference and with vigil replay --threads 1 and 2, compare.
stream() {
	local name=$1 min=$2 f="$TMP/$1" t
	shift 2
	case " $streams " in *" $name "*) ;; *) return ;; esac
	"$GEN" --count $((min * 60000)) --seed "$seed" "$@" | sed -n "1~${thin}p" >"$f.ndjson"
	"$VIGIL" classify "$f.ndjson" >"$f.classified" 2>/dev/null
	expect_eq "$name: classify writes a line per record" "$(lines "$f.classified")" "$(lines "$f.ndjson")"
	paste "$f.classified" "$f.ndjson" | awk -f "$REF" >"$f.out"
	grep '^ambiguous' "$f.out" | sed 's/^/note /'
	grep -v '^ambiguous' "$f.out" >"$f.want"
	for t in 1 2; do
		"$VIGIL" replay ${ALERT_REF_CONFIG:+-c "$ALERT_REF_CONFIG"} --threads "$t" "$f.ndjson" >"$f.replay$t" 2>"$f.err$t"
		expect_eq "$name: replay --threads $t exits 0" "$?" 0
		normalize "$f.replay$t" >"$f.got$t"
		same "$name: --threads $t, the reference's changes" "$f.got$t" "$f.want"
	done
	echo "note $name: $(lines "$f.ndjson") records, $min minutes; changes: $(cut -f 2,3 "$f.want" | sort | uniq -c | awk '{ printf "%s%s %s %d", (NR > 1 ? ", " : ""), $2, $3, $1 }')"
}

# Nothing fires on healthy traffic (the reference says so too).
stream quiet 15
# Errors from 2m to 20m: HTTP5xxErrorRate and the burn-rate page fire;
# both P1, so both escalate (L2) 15 minutes after firing; the page
# resolves both label sets once its 5m burn falls under 14.4.
stream 5xx 26 --incident 5xx@2m+18m
stream latency 16 --incident latency:search@2m+7m
# inventory silent from 11m to 17m: ServiceVolumeDrop (judged once 10m
# are in: 5m against at least 5m of baseline) pends, ServiceSilent fires;
# both end once inventory logs again.
stream silent 18 --incident silent:inventory@11m+6m
# auth failures from 11m to 15m: AuthFailureSurge, against the last hour.
stream auth 17 --incident auth@11m+4m
# A total outage from 10m to 16m (every service silent): ServiceSilent for
# each service, and NoRecords.
outage=()
for s in auth-service db-proxy inventory notifications orders payments search user-service web-frontend; do
	outage+=(--incident "silent:$s@10m+6m")
done
stream outage 20 "${outage[@]}"
# Errors from 2m to 16m: HTTP5xxErrorRate fires at 8m, its condition ends
# at 20m10s and keep_firing_for holds it firing until 25m10s: it escalates
# (L2) at 23m all the same, and both label sets resolve at 25m10s.
stream 5xx-keep 26 --incident 5xx@2m+14m

#!/usr/bin/env bash
# Durations that cannot be real (issue 19, finding 9): one absurd value
# must not page anyone.
#
# 1. 99 records at 5 ms and one at "duration_ms":1e20: p50, p95, p99 and
#    max are 5 under vigil aggregate, with and without --exact, and
#    vigil replay raises no latency alert; the 1e20 is counted over_bound.
# 2. Every reason: -5 (negative), 1e400 (strtod overflows it to inf:
#    not_finite), 86400001 (1 ms over the default bound of one day:
#    over_bound). Each is counted under its reason and kept out of the
#    sketch, and its record is still counted (never a silent drop).
#    86400000 itself, the bound, is a real duration and stays in.
# 3. aggregate.max_duration moves the bound.
# 4. The full double range (DBL_MAX, subnormals, 1e400...) through
#    classify, aggregate and replay, with and without --exact.
. "$(dirname "$0")/../lib.sh"

# line I DURATION: an HTTP record I tenths of a second into the window.
line() {
	printf '{"timestamp":"2026-11-01T00:00:%02d.%dZ","level":"info","service":"api","method":"GET","path":"/x","status":200,"duration_ms":%s}\n' \
		$(($1 / 10)) $(($1 % 10)) "$2"
}

# quantiles FILE: "p50 p95 p99 max" of the HTTP row of FILE.
quantiles() {
	grep '"endpoint"' "$1" | sed -E 's/.*"p50":([^,]*),"p95":([^,]*),"p99":([^,]*),"max":([^}]*)\}$/\1 \2 \3 \4/'
}

# rejected FILE: the summary's durations_rejected object.
rejected() {
	tail -n 1 "$1" | sed -nE 's/.*"durations_rejected":(\{[^}]*\}).*/\1/p'
}

# ---- 1. 1e20 among 99 values of 5 ms --------------------------------------
{
	for i in $(seq 0 98); do line "$i" 5; done
	line 99 1e20
} >"$TMP/absurd.ndjson"
"$VIGIL" aggregate "$TMP/absurd.ndjson" >"$TMP/a.rows" 2>"$TMP/a.err"
expect_eq "1e20: aggregate exits 0" "$?" 0
expect_eq "1e20: p50 p95 p99 max are 5" "$(quantiles "$TMP/a.rows")" "5 5 5 5"
expect_eq "1e20: the request is still counted" "$(grep '"endpoint"' "$TMP/a.rows" | sed -E 's/.*"count":([0-9]+),.*/\1/')" 100
expect_eq "1e20: counted over_bound" "$(rejected "$TMP/a.err")" '{"negative":0,"over_bound":1,"not_finite":0}'
"$VIGIL" aggregate --exact "$TMP/absurd.ndjson" >"$TMP/ax.rows" 2>/dev/null
expect_eq "1e20: --exact agrees" "$(quantiles "$TMP/ax.rows")" "5 5 5 5"
"$VIGIL" replay "$TMP/absurd.ndjson" >"$TMP/r.out" 2>"$TMP/r.err"
expect_eq "1e20: replay exits 0" "$?" 0
expect_eq "1e20: replay raises no latency alert" "$(grep -c '"alertname":"HTTPLatency' "$TMP/r.out")" 0
expect_eq "1e20: replay counts it over_bound" "$(rejected "$TMP/r.err")" '{"negative":0,"over_bound":1,"not_finite":0}'
"$VIGIL" replay --exact "$TMP/absurd.ndjson" >"$TMP/rx.out" 2>/dev/null
expect_eq "1e20: replay --exact raises no latency alert" "$(grep -c '"alertname":"HTTPLatency' "$TMP/rx.out")" 0

# ---- 2. every reason -------------------------------------------------------
{
	for i in $(seq 0 94); do line "$i" 5; done
	line 95 -5
	line 96 1e400
	line 97 86400001
	line 98 1e20
	line 99 86400000
} >"$TMP/reasons.ndjson"
"$VIGIL" aggregate "$TMP/reasons.ndjson" >"$TMP/b.rows" 2>"$TMP/b.err"
expect_eq "reasons: aggregate exits 0" "$?" 0
expect_eq "reasons: each counted under its reason" "$(rejected "$TMP/b.err")" \
	'{"negative":1,"over_bound":2,"not_finite":1}'
expect_eq "reasons: kept out of the sketch (p50 p95 p99 max; the bound itself stays in)" \
	"$(quantiles "$TMP/b.rows")" "5 5 5 8.64e+07"
expect_eq "reasons: every record is counted" "$(grep '"level"' "$TMP/b.rows" | sed -E 's/.*"count":([0-9]+)\}$/\1/')" 100
check "reasons: every record aggregated" grep -q '^{"records":100,"rejected":0,.*"aggregated":100,' <(tail -n 1 "$TMP/b.err")
"$VIGIL" aggregate --exact "$TMP/reasons.ndjson" >"$TMP/bx.rows" 2>/dev/null
expect_eq "reasons: --exact agrees" "$(quantiles "$TMP/bx.rows")" "5 5 5 8.64e+07"

# ---- 3. a configured bound -------------------------------------------------
printf 'aggregate:\n  max_duration: 1s\n' >"$TMP/bound.yaml"
"$VIGIL" config --check "$TMP/bound.yaml" >/dev/null 2>&1
expect_eq "max_duration: config --check accepts 1s" "$?" 0
{
	for i in $(seq 0 97); do line "$i" 5; done
	line 98 1000
	line 99 1001
} >"$TMP/bound.ndjson"
"$VIGIL" aggregate -c "$TMP/bound.yaml" "$TMP/bound.ndjson" >"$TMP/c.rows" 2>"$TMP/c.err"
expect_eq "max_duration 1s: aggregate exits 0" "$?" 0
expect_eq "max_duration 1s: 1001 ms is over the bound" "$(rejected "$TMP/c.err")" '{"negative":0,"over_bound":1,"not_finite":0}'
expect_eq "max_duration 1s: 1000 ms is in" "$(quantiles "$TMP/c.rows" | cut -d' ' -f4)" 1000
printf 'aggregate:\n  max_duration: 0s\n' >"$TMP/zero.yaml"
"$VIGIL" config --check "$TMP/zero.yaml" >/dev/null 2>&1
expect_eq "max_duration: config --check refuses 0s" "$?" 1

# ---- 4. the full double range through every output path --------------------
# (make san runs this with ASan+UBSan: nothing undefined on the way.)
i=0
for d in 5 1e300 -1e300 5e-324 -5e-324 2.2250738585072014e-308 1.7976931348623157e308 \
	-1.7976931348623157e308 1e400 -1e400 1.23e29 9.3e18 9.223372036854775807e18 -0 0 1e-12 1e12 \
	86400000 86400001 '"NaN"' '"Infinity"' '"-inf"' 5; do
	line "$i" "$d"
	i=$((i + 1))
done >"$TMP/full.ndjson"
"$VIGIL" classify "$TMP/full.ndjson" >"$TMP/full.classify" 2>"$TMP/full.cerr"
expect_eq "full range: classify exits 0" "$?" 0
check "full range: classify prints every duration as JSON" python3 -c \
	'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$TMP/full.classify"
for mode in "aggregate" "aggregate --exact" "replay" "replay --exact"; do
	# shellcheck disable=SC2086
	"$VIGIL" $mode "$TMP/full.ndjson" >"$TMP/full.out" 2>"$TMP/full.err"
	expect_eq "full range: $mode exits 0" "$?" 0
	# -0 and "NaN" (no duration) are not rejected; -5e-324 is negative.
	expect_eq "full range: $mode counts by reason" "$(rejected "$TMP/full.err")" \
		'{"negative":3,"over_bound":7,"not_finite":4}'
done
"$VIGIL" aggregate "$TMP/full.ndjson" 2>/dev/null | grep '"endpoint"' | sed -E 's/.*"p50":([^,]*),"p95":([^,]*),"p99":([^,]*),"max":([^}]*)\}$/\1 \2 \3 \4/' >"$TMP/full.q"
check "full range: every HTTP row's quantiles are numbers within 1e-9..86400000" awk \
	'{ for (i = 1; i <= 4; i++) if ($i == "null" || $i < 0 || $i > 86400000) exit 1 } END { exit NR == 0 }' "$TMP/full.q"

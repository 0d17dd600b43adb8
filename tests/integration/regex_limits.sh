#!/usr/bin/env bash
# The bounds on classification patterns (vigil issue 21 item 8): a pattern
# run stopped by a PCRE2 limit is counted in every command's summary and in
# vigil run's /metrics (through a reload too); regex_match_limit has a
# ceiling; the number of classify.rules is bounded, YAML aliases counted as
# the rules they expand to, and config --check refuses what vigil run
# refuses, with FILE:LINE. Everything started here is stopped on exit.
. "$(dirname "$0")/../lib.sh"
PROMTOOL=${PROMTOOL:-promtool}
command -v curl >/dev/null || { fail "curl" "not installed"; exit 1; }
command -v "$PROMTOOL" >/dev/null || { fail "promtool" "not installed (Debian package prometheus)"; exit 1; }

# A catastrophic pattern (nested quantifiers) and messages that make it
# backtrack until the match limit stops it: 40 a's and no end.
cat >"$TMP/re.yaml" <<'YAML'
classify:
  regex_match_limit: 10000
  rules:
    - category: security
      any:
        message: '^(a+)+$'
YAML
bad=$(printf 'a%.0s' $(seq 40))!
now_ms=$(($(date +%s) * 1000))
adversarial() { printf '{"ts":%s,"service":"s","message":"%s"}\n' "$now_ms" "$bad"; }
{
	adversarial
	printf '{"ts":%s,"service":"s","message":"aaaa"}\n' "$now_ms"
	adversarial
	printf '{"ts":%s,"service":"s","message":"hello"}\n' "$now_ms"
} >"$TMP/in.ndjson"

# 1. vigil classify and vigil aggregate say the hits in their summaries.
"$VIGIL" classify -c "$TMP/re.yaml" --quiet <"$TMP/in.ndjson" 2>"$TMP/classify.err"
expect_eq "vigil classify exits 0" "$?" 0
expect_eq "vigil classify's summary counts the limit hits" "$(summary_num "$TMP/classify.err" regex_limit_hits)" 2
check "the summary counts the 4 records" grep -q '"records":4' "$TMP/classify.err"
for t in 1 2; do
	"$VIGIL" aggregate -c "$TMP/re.yaml" --quiet --threads $t <"$TMP/in.ndjson" 2>"$TMP/agg$t.err"
	expect_eq "vigil aggregate --threads $t's summary counts the limit hits" \
		"$(summary_num "$TMP/agg$t.err" regex_limit_hits)" 2
done

# 2. regex_match_limit and regex_depth_limit past their ceiling are refused,
# by config --check and vigil run alike.
refused_alike() { # NAME FILE EXPECTED_PREFIX
	local out run_out
	out=$("$VIGIL" config --check "$2" 2>&1)
	expect_eq "$1: config --check exits 1" "$?" 1
	case "$out" in "$3"*) ok "$1: said with FILE:LINE" ;; *) fail "$1: said with FILE:LINE" "$out" ;; esac
	# Bounded: a vigil run that accepted the file would wait for a broker.
	run_out=$(timeout 30 "$VIGIL" run -c "$2" --http off --archive off --brokers 127.0.0.1:1 2>&1)
	expect_eq "$1: vigil run refuses it (exit 1)" "$?" 1
	expect_eq "$1: vigil run says the same" "$run_out" "vigil: $out"
}
printf 'classify:\n  regex_match_limit: 100000000\n' >"$TMP/ml.yaml"
refused_alike "match limit 1e8" "$TMP/ml.yaml" "$TMP/ml.yaml:2: classify.regex_match_limit: 100000000 is out of range (1..200000)"
printf 'classify:\n  regex_depth_limit: 1000000\n' >"$TMP/dl.yaml"
refused_alike "depth limit 1e6" "$TMP/dl.yaml" "$TMP/dl.yaml:2: classify.regex_depth_limit: 1000000 is out of range (1..200000)"

printf 'classify:\n  regex_run_limit: 1000000\n' >"$TMP/rl.yaml"
refused_alike "run limit 1e6" "$TMP/rl.yaml" "$TMP/rl.yaml:2: classify.regex_run_limit: 1000000 is out of range (1000..100000)"

# 2b. The match limit restarts at every start position; the run's budget
# does not: an unanchored '(a+)+$' on 64 KiB of 15-'a' runs never reaches
# the match limit from any one position (0.75 s a record before the budget).
# Each record's run is stopped, and the next record is classified afresh.
printf 'classify:\n  rules:\n    - category: security\n      any:\n        message: %s\n' "'(a+)+\$'" >"$TMP/long.yaml"
long=$(head -c 65536 < <(yes 'aaaaaaaaaaaaaaa!' | tr -d '\n'))
{
	for _ in 1 2 3; do printf '{"ts":%s,"service":"s","message":"%s"}\n' "$now_ms" "$long"; done
	printf '{"ts":%s,"service":"s","message":"aaaa"}\n' "$now_ms"
} >"$TMP/long.ndjson"
"$VIGIL" classify -c "$TMP/long.yaml" <"$TMP/long.ndjson" >"$TMP/long.out" 2>"$TMP/long.err"
expect_eq "64 KiB records: vigil classify exits 0" "$?" 0
expect_eq "64 KiB records: each record's run is stopped by its budget" "$(summary_num "$TMP/long.err" regex_limit_hits)" 3
expect_eq "64 KiB records: they take the default category" "$(grep -c '"category":"application"' "$TMP/long.out")" 3
expect_eq "the short record after them still matches" "$(grep -c '"category":"security"' "$TMP/long.out")" 1

# 3. 100,000 rules written as aliases of one (a 400 KB file): refused as
# 100,000 rules, at the line of the list, before any pattern is compiled.
{
	printf "classify:\n  rules: [&r {category: security, any: {message: 'zzq\\\\d+'}}"
	for _ in $(seq 99999); do printf ', *r'; done
	printf ']\n'
} >"$TMP/many.yaml"
check "the aliased rules file is about 400 KB" test "$(wc -c <"$TMP/many.yaml")" -gt 390000
refused_alike "100k aliased rules" "$TMP/many.yaml" \
	"$TMP/many.yaml:2: classify.rules: at most 1000 rules (100000 given)"

# 4. vigil run: /metrics counts the hits (promtool finds nothing to say),
# a reload does not reset the count, and the summary has the total.
start_broker --topic logs:2 || exit 1
RUN_ARCHIVE=off start_run r -c "$TMP/re.yaml" --topic logs --group rl --workers 2 --http 127.0.0.1:0 ||
	{ fail "run starts" "$(tail -n 3 "$TMP/r.err")"; exit 1; }
ADDR=$(http_address "$TMP/r.err")
hits() { curl -s --max-time 10 "http://$ADDR/metrics" | awk '$1 == "vigil_regex_limit_hits_total" { print $2 }'; }
hits_are() { [ "$(hits)" = "$1" ]; }
produce logs "$TMP/in.ndjson"
check "/metrics: vigil_regex_limit_hits_total reaches 2" wait_for 60 hits_are 2
curl -s --max-time 10 "http://$ADDR/metrics" >"$TMP/metrics"
check "/metrics declares it a counter" grep -q '^# TYPE vigil_regex_limit_hits_total counter$' "$TMP/metrics"
lint=$("$PROMTOOL" check metrics <"$TMP/metrics" 2>&1)
expect_eq "promtool check metrics: no complaints" "$lint" ""
kill -HUP "$RUN_PID"
check "the configuration is reloaded" wait_for 30 grep -q '"msg":"configuration reloaded"' "$TMP/r.err"
adversarial >"$TMP/one.ndjson"
produce logs "$TMP/one.ndjson"
check "/metrics: the count goes on after the reload (3)" wait_for 60 hits_are 3
check "every record processed" wait_for 60 at_least "$TMP/r.records" 5
stop_run
expect_eq "vigil run exits 0" "$RUN_STATUS" 0
expect_eq "vigil run's summary counts the hits" "$(summary_num "$TMP/r.err" regex_limit_hits)" 3

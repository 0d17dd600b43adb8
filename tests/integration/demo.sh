#!/usr/bin/env bash
# vigil demo, short: the embedded broker, bench/gen's incidents at 40000
# records/s for 30 s (20 minutes of event time), the pipeline with the
# shipped rules. It must exit 0 with every record processed, at least one
# alert fired and resolved, and an archive vigil verify accepts.
# DEMO_SLOW=1 (make san): the same records and event time at half the rate
# over twice the duration, so that a sanitized build on a busy machine
# stays inside the demo's own bound (3 x duration + 60 s, then it stops
# with what was processed).
. "$(dirname "$0")/../lib.sh"

if [ -n "${DEMO_SLOW:-}" ]; then pace="--duration 60 --rate 20000"; else pace="--duration 30 --rate 40000"; fi
"$VIGIL" demo $pace --dir "$TMP/demo" --gen "$GEN" --http 127.0.0.1:0 >"$TMP/demo.out" 2>"$TMP/demo.err" &
demo_pid=$!
# While it runs, its HTTP endpoints answer.
wait_for 60 grep -q '^vigil demo: while it runs: curl http://' "$TMP/demo.err"
url=$(sed -n 's|^vigil demo: while it runs: curl \(http://[0-9.:]*\)/metrics.*|\1|p' "$TMP/demo.err")
check "demo: /health answers while it runs" curl -sf "$url/health" -o "$TMP/health.json"
check "demo: /metrics answers with vigil's families" eval 'curl -sf "$url/metrics" | grep -q "^vigil_records_total "'
wait "$demo_pid"
expect_eq "demo exits 0" "$?" 0
check "demo: the summary names the URLs it served" grep -q "^served (stopped now): $url/metrics" "$TMP/demo.out"
counts=$(grep -E '^  [0-9]+ fired, [0-9]+ resolved$' "$TMP/demo.out")
fired=$(printf '%s' "$counts" | awk '{ print $1 }')
resolved=$(printf '%s' "$counts" | awk '{ print $3 }')
echo "note demo:$counts; $(grep '^records:' "$TMP/demo.out")"
check "demo: at least one alert fired" test "${fired:-0}" -ge 1
check "demo: at least one alert resolved" test "${resolved:-0}" -ge 1
check "demo: the 5xx incident fired and resolved" grep -q '^  RESOLVED .* HTTP5xxErrorRate {.*"service":"orders"' "$TMP/demo.out"
check "demo: every produced record processed" grep -qE '^records: ([0-9]+) produced, \1 processed' "$TMP/demo.out"
check "demo: status lines while it ran" grep -q '^demo .* records/s .* windows closed .* alerts pending' "$TMP/demo.err"
check "demo: the summary lists archive files" grep -qE '^ +[0-9]+  [0-9]+d/[a-z_-]+/[0-9-]+/[0-9]+/.*\.jsonl\.zst$' "$TMP/demo.out"
"$VIGIL" verify "$TMP/demo/archive" >"$TMP/verify.out" 2>&1
expect_eq "vigil verify accepts the demo's archive" "$?" 0
# The run's own summary (last line of stderr) agrees.
summary=$(tail -n 1 "$TMP/demo.err")
check "run summary: no archive write errors" grep -q '"write_errors":0' <<<"$summary"

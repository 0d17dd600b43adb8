#!/usr/bin/env bash
# vigil run's HTTP endpoints against a running vigil: the embedded broker,
# generated records produced with kcat, vigil run with --http on an
# ephemeral port; curl checks /health, /ready, /metrics (with promtool) and
# /alerts. Everything started here is stopped on exit (lib.sh).
. "$(dirname "$0")/../lib.sh"
PROMTOOL=${PROMTOOL:-promtool}
command -v curl >/dev/null || { fail "curl" "not installed"; exit 1; }
command -v "$PROMTOOL" >/dev/null || { fail "promtool" "not installed (Debian package prometheus)"; exit 1; }
start_broker --brokers 1 --topic logs:4 --topic other:2 || exit 1

# http_addr NAME: the address vigil run NAME logged it listens on.
http_addr() { http_address "$TMP/$1.err"; }
# get ADDR PATH: the body in $TMP/body, the status code on stdout.
get() { curl -s -o "$TMP/body" -w '%{http_code}' --max-time 10 "http://$1$2"; }
# metric NAME_AND_LABELS: its value in the last /metrics body ($TMP/metrics).
metric() { awk -v k="$1" '$1 == k { print $2 }' "$TMP/metrics"; }
records_total() { get "$ADDR" /metrics >/dev/null && cp "$TMP/body" "$TMP/metrics" && [ "$(metric vigil_records_total)" = "$1" ]; }
status_is() { [ "$(get "$ADDR" "$1")" = "$2" ]; }
json_ok() { python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$1"; }

N=20000
# A 5xx incident on orders: alerts to see on /alerts (same record count).
"$GEN" --count $N --seed 7 --incident 5xx:orders@0s+10m >"$TMP/in.ndjson"
{
	cat "$TMP/in.ndjson"
	echo 'not json'
	echo '[1]'
} >"$TMP/in2.ndjson"

# The stream holds 20 s of event time: a rule over 10 s (the shipped one
# judges once it has 5m of data) puts an alert on /alerts.
cat >"$TMP/a.rules.yaml" <<'YAML'
groups:
  - name: http
    rules:
      - alert: HTTP5xxErrorRate
        error_rate: {of: 5xx, window: 10s, above: 0.01, min_count: 10}
        for: 5m
        labels: {severity: P1}
YAML
printf 'rules: {files: [%s]}\n' "$TMP/a.rules.yaml" >"$TMP/a.yaml"

# 1. Before anything is assigned: /ready is 503 with a reason, /health 200.
RUN_ARCHIVE=$TMP/a.archive
"$VIGIL" run -c "$TMP/a.yaml" --skew-behind 0s --brokers "$BROKERS" --topic logs --group h1 --http 127.0.0.1:0 --archive "$RUN_ARCHIVE" \
	--windows "$TMP/a.windows" 2>"$TMP/a.err" &
RUN_PID=$!
PIDS+=($RUN_PID)
wait_for 20 grep -q '"http listening"' "$TMP/a.err" || { fail "http listening logged" "$(tail -n 5 "$TMP/a.err")"; exit 1; }
ADDR=$(http_addr a)
check "bound address is 127.0.0.1 with an ephemeral port" test "${ADDR%:*}" = 127.0.0.1 -a "${ADDR#*:}" != 0
code=$(get "$ADDR" /ready)
if [ "$code" = 503 ]; then
	check "/ready before joining: 503 naming the group" grep -q 'not in consumer group h1' "$TMP/body"
else
	# The join can win the race with the first request: say so, prove nothing.
	echo "note /ready answered $code before the first check (joined already)"
fi

# 2. Produce and drain: every endpoint against the running vigil.
produce logs "$TMP/in2.ndjson"
wait_for 60 grep -q 'partitions assigned' "$TMP/a.err" || fail "assigned" "$(tail -n 5 "$TMP/a.err")"
wait_for 60 records_total $((N + 2)) || fail "vigil_records_total reaches the produced count" \
	"$(metric vigil_records_total) of $((N + 2))"
ok "vigil_records_total reaches the produced count"
expect_eq "/health 200" "$(get "$ADDR" /health)" 200
check "/health is JSON with status ok" grep -q '"status":"ok"' "$TMP/body"
check "/health is valid JSON" json_ok "$TMP/body"
wait_for 30 status_is /ready 200 || fail "/ready 200 once assigned" "$(cat "$TMP/body")"
check "/ready is valid JSON" json_ok "$TMP/body"
check "/ready counts 4 partitions" grep -q '"partitions":4' "$TMP/body"
expect_eq "/metrics 200" "$(get "$ADDR" /metrics)" 200
cp "$TMP/body" "$TMP/metrics"
ctype=$(curl -s -o /dev/null -w '%{content_type}' "http://$ADDR/metrics")
expect_eq "/metrics content type" "$ctype" "text/plain; version=0.0.4; charset=utf-8"
lint=$("$PROMTOOL" check metrics <"$TMP/metrics" 2>&1)
expect_eq "promtool check metrics: no complaints" "$lint" ""
expect_eq "records rejected as syntax" "$(metric 'vigil_records_rejected_total{reason="syntax"}')" 1
expect_eq "records rejected as not an object" "$(metric 'vigil_records_rejected_total{reason="not_object"}')" 1
expect_eq "records parsed" "$(metric vigil_records_parsed_total)" $N
expect_eq "payload bytes" "$(metric vigil_bytes_total)" "$(($(wc -c <"$TMP/in2.ndjson") - N - 2))"
wait_for 30 sh -c "curl -s http://$ADDR/metrics | grep -q '^vigil_kafka_consumer_lag{topic=\"logs\",partition=\"3\"} 0\$'" ||
	fail "lag 0 on every partition" "$(grep consumer_lag "$TMP/metrics")"
for p in 0 1 2 3; do
	check "lag reported for logs/$p" grep -q "^vigil_kafka_consumer_lag{topic=\"logs\",partition=\"$p\"}" "$TMP/metrics"
done
for fam in vigil_windows_closed_total vigil_archive_frames_total vigil_archive_written_bytes_total \
	vigil_archive_fsync_duration_seconds_count vigil_window_close_duration_seconds_sum \
	vigil_kafka_commits_total vigil_kafka_commit_age_seconds vigil_kafka_rebalances_total \
	'vigil_alerts{state="firing"}' 'vigil_window_records_total{level="INFO"}' vigil_window_start_seconds; do
	check "/metrics has $fam" test -n "$(metric "$fam")"
done
# Frames are written within archive.flush_ms of the records: scrape again.
archived() {
	curl -s "http://$ADDR/metrics" | awk '$1 == "vigil_archive_frames_total" && $2 > 0 { f = 1 }
		$1 == "vigil_archive_fsync_duration_seconds_count" && $2 > 0 { s = 1 } END { exit !(f && s) }'
}
check "archive frames and fsync rounds counted" wait_for 30 archived
check "windows closed" test "$(metric vigil_windows_closed_total)" -gt 0
check "the window store's size is a gauge, filled once windows closed" test "$(metric vigil_window_store_bytes)" -gt 0
check "vigil_window_store_bytes declared a gauge" grep -q '^# TYPE vigil_window_store_bytes gauge$' "$TMP/metrics"
check "window latency is a summary with quantiles" \
	grep -q '^vigil_window_http_request_duration_seconds{service="[^"]*",endpoint="[^"]*",method="[^"]*",quantile="0.99"} ' "$TMP/metrics"
check "window latency summary has _count" grep -q '^vigil_window_http_request_duration_seconds_count{' "$TMP/metrics"
check "summary declared" grep -q '^# TYPE vigil_window_http_request_duration_seconds summary$' "$TMP/metrics"
for reason in negative over_bound not_finite; do
	expect_eq "durations rejected as $reason: none in the generated records" \
		"$(metric "vigil_durations_rejected_total{reason=\"$reason\"}")" 0
done
expect_eq "/alerts 200" "$(get "$ADDR" /alerts)" 200
check "/alerts is valid JSON with an alerts array" python3 -c \
	'import json,sys; d=json.load(open(sys.argv[1])); assert isinstance(d["alerts"], list)' "$TMP/body"
wait_for 60 sh -c "curl -s http://$ADDR/alerts | grep -q '\"alertname\":\"HTTP5xxErrorRate\"'" ||
	fail "/alerts shows the 5xx incident" "$(curl -s "http://$ADDR/alerts")"
get "$ADDR" /alerts >/dev/null
check "/alerts: HTTP5xxErrorRate on orders, pending or firing" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert any(a["alertname"] == "HTTP5xxErrorRate" and a["labels"]["service"] == "orders"
           and a["state"] in ("pending", "firing") for a in d["alerts"]), d' "$TMP/body"
get "$ADDR" /metrics >/dev/null && cp "$TMP/body" "$TMP/metrics"
check "/metrics counts the alert transitions" test "$(metric 'vigil_alert_transitions_total{state="pending"}')" -ge 1
expect_eq "unknown path 404" "$(get "$ADDR" /nope)" 404
"$VIGIL" run --skew-behind 0s --brokers "$BROKERS" --topic logs --group h9 --http "$ADDR" --archive off 2>"$TMP/busy.err"
expect_eq "a second vigil on the same address refuses to start" "$?" 3
check "and says why" grep -q "cannot listen on $ADDR" "$TMP/busy.err"
"$VIGIL" run --skew-behind 0s --brokers "$BROKERS" --topic logs --http 127.0.0.1 --archive off 2>"$TMP/badaddr.err"
expect_eq "--http without a port: a configuration error" "$?" 1
expect_eq "POST refused with 405" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://$ADDR/metrics")" 405

# The summary at exit agrees with what /metrics said.
stop_run a
expect_eq "SIGTERM: exit 0" "$RUN_STATUS" 0
summary=$(tail -n 1 "$TMP/a.err")
expect_eq "summary records equal vigil_records_total" \
	"$(printf '%s' "$summary" | grep -o '"records":[0-9]*' | head -n 1 | cut -d: -f2)" "$(metric vigil_records_total)"
check "the server is gone after the stop" test "$(get "$ADDR" /health)" = 000

# 3. An archive that cannot be written (a file-size limit: EFBIG, as a full
# disk would fail; its stderr stays far below it): /ready 503, the reason.
(
	ulimit -f 32
	exec "$VIGIL" run --skew-behind 0s --brokers "$BROKERS" --topic other --group h2 --http 127.0.0.1:0 \
		--archive "$TMP/b.archive" 2>"$TMP/b.err"
) &
RUN_PID=$!
PIDS+=($RUN_PID)
wait_for 20 grep -q '"http listening"' "$TMP/b.err" || { fail "second run listening" "$(tail -n 5 "$TMP/b.err")"; exit 1; }
ADDR=$(http_addr b)
produce other "$TMP/in.ndjson"
wait_for 60 sh -c "curl -s http://$ADDR/ready | grep -q 'not writable'" ||
	fail "/ready names the archive" "$(curl -s "http://$ADDR/ready")"
expect_eq "/ready 503 when the archive is not writable" "$(get "$ADDR" /ready)" 503
check "/ready reason is JSON" json_ok "$TMP/body"
get "$ADDR" /metrics >/dev/null && cp "$TMP/body" "$TMP/metrics"
expect_eq "vigil_archive_writable 0" "$(metric vigil_archive_writable)" 0
expect_eq "/health stays 200 (alive, only not ready)" "$(get "$ADDR" /health)" 200
stop_run b
for e in a b; do
	check "no sanitizer report from run $e" sh -c "! grep -q 'Sanitizer' '$TMP/$e.err'"
done

# 4. A bad listen address is refused at start with file:line.
printf 'http:\n  listen: "127.0.0.1:99999"\n' >"$TMP/bad.yaml"
"$VIGIL" config --check "$TMP/bad.yaml" >/dev/null 2>"$TMP/bad.err"
check "bad http.listen refused with file:line" grep -q "bad.yaml:2: http.listen" "$TMP/bad.err"

# 5. The default address taken (another instance on this host): vigil run
# warns and runs without the endpoints. A listener holds 127.0.0.1:9187,
# once whoever holds it now lets go (the other scripts' vigil runs take no
# HTTP address, but another checkout's tests on this host may): something
# else holding it is no witness, it may let go before vigil run starts.
python3 -c '
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1) # as vigil: a listener, not TIME_WAITs, is "taken"
while True:
    try:
        s.bind(("127.0.0.1", 9187)); s.listen(1); break
    except OSError:
        time.sleep(0.05)
print("held", flush=True)
time.sleep(600)' >"$TMP/hold.out" &
PIDS+=($!)
wait_for 120 test -s "$TMP/hold.out" || fail "port holder" "127.0.0.1:9187 taken for 120 s"
"$VIGIL" run --skew-behind 0s --brokers "$BROKERS" --topic other --group h3 --exit-at-end --archive off 2>"$TMP/c.err"
expect_eq "default address taken: vigil run still runs to the end" "$?" 0
check "and warns that it has no HTTP endpoints" grep -q '"msg":"no HTTP endpoints: the default address is taken' "$TMP/c.err"

#!/usr/bin/env bash
# Notifier faults while alerts fire: Alertmanager stopped, a webhook that
# answers only after 10 s (past notify.timeout), another answering 500. Ingest
# never stalls (vigil run processes every produced record while all three
# fail), and once they recover every alert change the file notifier wrote
# reaches both webhooks, and Alertmanager gets every firing and resolution.
# The stream is generated with 5xx incidents (bench/gen --incident), so its
# length is fixed by event time: 260,000 records, short and long alike.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.bash"
: "${HTTP_SINK:=$ROOT/build/http_sink}"
command -v prometheus-alertmanager >/dev/null || { fail "notify: alertmanager" "prometheus-alertmanager is not installed"; exit 0; }
N=260000
INCIDENTS=(--incident 5xx:orders@40s+50s --incident 5xx:orders@150s+50s --incident 5xx:payments@50s+60s
	--incident 5xx:search@60s+60s --incident 5xx:inventory@70s+40s --incident 5xx:web-frontend@80s+50s)

# notify_config AM_URL SLOW_URL FAILING_URL: the notify section, the one
# place that names its keys (notify.alertmanager.*, notify.webhooks,
# notify.file.path, notify.outbox.dir, notify.timeout).
notify_config() {
	cat <<YAML
notify:
  alertmanager: {url: "$1", resend_interval: 5s}
  webhooks: [{url: "$2"}, {url: "$3"}]
  file: {path: $TMP/changes.ndjson}
  outbox: {dir: $TMP/outbox}
  timeout: 2s
  catch_up: 0s # the generated stream is dated 2026-11-01: a replay, not a catch-up
YAML
}

# The receivers: slow while $TMP/slow exists, 500 while $TMP/fail does.
touch "$TMP/slow" "$TMP/fail"
"$HTTP_SINK" --slow-while "$TMP/slow" --delay 10 "$TMP/slow.bodies" >"$TMP/slow.port" 2>"$TMP/slow.err" &
PIDS+=($!)
"$HTTP_SINK" --fail-while "$TMP/fail" "$TMP/fail.bodies" >"$TMP/fail.port" 2>"$TMP/fail.err" &
PIDS+=($!)
"$HTTP_SINK" "$TMP/am.bodies" >"$TMP/amhook.port" 2>/dev/null &
PIDS+=($!)
wait_for 10 test -s "$TMP/slow.port" -a -s "$TMP/fail.port" -a -s "$TMP/amhook.port" || { fail "notify: receivers" "did not start"; exit 0; }
cat >"$TMP/am.yml" <<YAML
route: {receiver: hook, group_by: [alertname, service], group_wait: 1s, group_interval: 1s, repeat_interval: 1h}
receivers:
  - name: hook
    webhook_configs: [{url: "http://127.0.0.1:$(head -n 1 "$TMP/amhook.port")/", send_resolved: true}]
YAML
# The vigil configuration names Alertmanager's port before it first starts.
AM_PORT=$(free_port)
cat >"$TMP/rules.yaml" <<'YAML'
groups:
  - name: rel
    rules:
      - alert: Rel5xx
        error_rate: {of: 5xx, window: 30s, above: 0.04, min_count: 5}
        for: 10s
        labels: {severity: P2}
        annotations: {summary: "{{ $labels.service }}: 5xx at {{ $value }}"}
YAML
{
	echo "rules: {files: [$TMP/rules.yaml]}"
	printf 'kafka:\n  properties: {%s}\n' "$FAST_GROUP"
	notify_config "http://127.0.0.1:$AM_PORT" "http://127.0.0.1:$(head -n 1 "$TMP/slow.port")/" \
		"http://127.0.0.1:$(head -n 1 "$TMP/fail.port")/"
} >"$TMP/vigil.yaml"

start_broker --topic alerts:32 || exit 1
"$GEN" --count $N --seed 41 "${INCIDENTS[@]}" >"$TMP/in.ndjson"
"$VIGIL" produce --brokers "$BROKERS" --topic alerts "$TMP/in.ndjson" 2>"$TMP/produce.err"
expect_eq "notify: every record produced" "$?" 0
t0=$SECONDS
start_run run -c "$TMP/vigil.yaml" --topic alerts --group alerts || fail "notify: vigil run got partitions" "no"

# 1. Every notifier failing: ingest goes on, the file notifier has the changes.
wait_for 120 at_least "$TMP/run.records" $N
expect_eq "notify: ingest never stalls (processed while every notifier fails)" "$(lines "$TMP/run.records")" $N
resolved_all() { [ "$(grep -c '"state":"resolved"' "$TMP/changes.ndjson" 2>/dev/null)" -ge 6 ]; }
wait_for 60 resolved_all || fail "notify: the alerts fire and resolve" "$(grep -c . "$TMP/changes.ndjson") changes"
check "notify: the slow webhook was tried" test -s "$TMP/slow.err"
check "notify: the failing webhook was tried" test -s "$TMP/fail.err"
check "notify: nothing delivered to the failing ones yet" test ! -s "$TMP/slow.bodies" -a ! -s "$TMP/fail.bodies"
# Faults long enough for several retries each (backoff from 1 s).
retried() { [ "$(grep -c 500 "$TMP/fail.err")" -ge 3 ] && [ "$(grep -c slow "$TMP/slow.err")" -ge 2 ]; }
check "notify: the failing webhooks were retried while failing" wait_for 60 retried
faulty_secs=$((SECONDS - t0))

# 2. Recovery: every change reaches both webhooks and Alertmanager.
rm -f "$TMP/slow" "$TMP/fail"
start_am || fail "notify: alertmanager" "did not start: $(tail -n 3 "$TMP/am.log")"
t1=$SECONDS
# change keys: fingerprint, state and startsAt of each alert change.
file_keys() { sed 's/.*"state":"\([a-z]*\)".*"fingerprint":"\([0-9a-f]*\)".*"startsAt":"\([^"]*\)".*/\2 \1 \3/' "$TMP/changes.ndjson" | sort -u; }
hook_keys() { sed 's/.*"alerts":\[{"status":"\([a-z]*\)".*"startsAt":"\([^"]*\)".*"fingerprint":"\([0-9a-f]*\)".*/\3 \1 \2/' "$1" 2>/dev/null | sort -u; }
delivered() { [ -z "$(comm -23 <(file_keys) <(hook_keys "$1"))" ]; }
am_received() { curl -sf "http://127.0.0.1:$AM_PORT/metrics" | awk -v s="$1" '$1 ~ "alertmanager_alerts_received_total" && $1 ~ "status=\"" s "\"" { n += $2 } END { print n + 0 }'; }
am_all() { [ "$(am_received resolved)" -ge "$(grep -c '"state":"resolved"' "$TMP/changes.ndjson")" ]; }
wait_for 120 delivered "$TMP/slow.bodies"
wait_for 120 delivered "$TMP/fail.bodies"
wait_for 120 am_all
recover_secs=$((SECONDS - t1))
changes=$(file_keys | wc -l)
missing_slow=$(comm -23 <(file_keys) <(hook_keys "$TMP/slow.bodies") | wc -l)
missing_fail=$(comm -23 <(file_keys) <(hook_keys "$TMP/fail.bodies") | wc -l)
expect_eq "notify: the once-slow webhook has every alert change (missing)" "$missing_slow" 0
expect_eq "notify: the once-failing webhook has every alert change (missing)" "$missing_fail" 0
check "notify: Alertmanager got every resolution" am_all
stop_run
expect_eq "notify: vigil run exits 0" "$RUN_STATUS" 0
check "notify: nothing left undelivered, nothing dropped" \
	eval '! tail -n 1 "$TMP/run.err" | grep -o "\"notify\":{.*}}" | grep -Eq "\"(pending|dropped)\":[1-9]"'
echo "note notify: records=$N processed_while_failing=$(lines "$TMP/run.records") changes=$changes" \
	"missing_slow=$missing_slow missing_500=$missing_fail am_firing=$(am_received firing) am_resolved=$(am_received resolved)" \
	"slow_answers=$(grep -c slow "$TMP/slow.err") answers_500=$(grep -c 500 "$TMP/fail.err")" \
	"faulty_seconds=$faulty_secs recovery_seconds=$recover_secs" \
	"notify_stats=$(tail -n 1 "$TMP/run.err" | grep -o '"notify":{[^}]*}[^}]*}[^}]*}[^}]*}[^}]*}' | tr -d ' ')"

#!/usr/bin/env bash
# The alert feed against a real Alertmanager (Debian's prometheus-alertmanager
# on 127.0.0.1), whose webhook receiver is a listener of this test
# (tests/tools/http_sink). vigil run consumes a generated stream from the
# embedded broker, produced phase by phase with kcat, so the test decides
# when each phase of event time arrives: a 5xx burst fires an alert that
# shows in Alertmanager and reaches the webhook through its routing; the
# recovery resolves it; Alertmanager is stopped for 30 s while a second
# alert fires (less under the sanitizers), and the alert is delivered once it
# is back. The same changes go to a Kafka topic, read back with kcat, and to
# an NDJSON file.
. "$(dirname "$0")/../lib.sh"
: "${HTTP_SINK:?HTTP_SINK must point at the http_sink test tool}"
command -v prometheus-alertmanager >/dev/null || { fail "alertmanager" "prometheus-alertmanager is not installed"; exit 0; }

# docs/alerts.md's alertmanager.yml (the first yaml block after its
# introduction) is one Alertmanager accepts.
awk '/checks it with `amtool check-config`/ { f = 1 } f && /^```yaml/ { y = 1; next } y && /^```/ { exit } y' \
	"$ROOT/docs/alerts.md" | sed 's/<[^>]*>/x/' >"$TMP/docs-am.yml"
check "docs/alerts.md's alertmanager.yml has routes on escalation" grep -q 'escalation="L2"' "$TMP/docs-am.yml"
check "amtool check-config accepts docs/alerts.md's alertmanager.yml" amtool check-config "$TMP/docs-am.yml"

start_broker --topic logs:1 --topic alerts:1 || exit 0
# The outage: 30 s, or ALERT_OUTAGE; under the sanitizers (an ASan build)
# just long enough for deliveries to fail.
if grep -qa __asan_init "$VIGIL"; then OUTAGE=${ALERT_OUTAGE:-0}; else OUTAGE=${ALERT_OUTAGE:-30}; fi

"$HTTP_SINK" "$TMP/hooks" "$TMP/sigs" >"$TMP/sink.port" 2>"$TMP/sink.err" &
PIDS+=($!)
wait_for 10 test -s "$TMP/sink.port" || { fail "webhook listener" "did not start"; exit 0; }
SINK_PORT=$(head -n 1 "$TMP/sink.port")

cat >"$TMP/am.yml" <<YAML
route:
  receiver: sink
  group_by: [alertname, service, escalation]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - matchers: ['escalation="L2"']
      receiver: l2
receivers:
  - name: sink
    webhook_configs:
      - url: http://127.0.0.1:$SINK_PORT/
        send_resolved: true
  - name: l2
    webhook_configs:
      - url: http://127.0.0.1:$SINK_PORT/l2
        send_resolved: true
YAML
start_am || { fail "alertmanager" "did not start: $(tail -n 3 "$TMP/am.log")"; exit 0; }
am_alerts() { curl -sf "http://127.0.0.1:$AM_PORT/api/v2/alerts?active=true&silenced=false&inhibited=false"; }

cat >"$TMP/rules.yaml" <<'YAML'
groups:
  - name: t
    rules:
      - alert: ShopErrors
        error_rate: {of: 5xx, window: 30s, above: 0.5, min_count: 5}
        for: 20s
        escalate_after: 20s
        labels: {severity: P2, team: shop}
        annotations: {summary: "{{ $labels.service }}: 5xx at {{ $value }}"}
YAML
# A quiet stream must not close windows by the clock during the outage:
# event time moves only with what the test produces.
cat >"$TMP/vigil.yaml" <<YAML
aggregate: {idle_timeout: 10m}
rules: {files: [$TMP/rules.yaml]}
notify:
  alertmanager: {url: http://127.0.0.1:$AM_PORT, resend_interval: 2s}
  webhooks:
    - {url: http://127.0.0.1:$SINK_PORT/direct, secret: s3cret}
  kafka: {brokers: "$BROKERS", topic: alerts}
  file: {path: $TMP/file.ndjson}
  outbox: {dir: $TMP/outbox}
  timeout: 2s
  # The stream below is dated 2026-11-01: a replay, not a catch-up to hold.
  catch_up: 0s
YAML

# records FROM_S TO_S SERVICE STATUS: 10 a second of event time from
# 2026-11-01T00:00:00Z + FROM_S, produced to the logs topic.
T0=1793491200
PRODUCED=0
records() {
	awk -v a="$1" -v b="$2" -v svc="$3" -v st="$4" -v t0=$T0 'BEGIN {
		for (t = a * 10; t < b * 10; t++)
			printf "{\"ts\":%d.%d,\"service\":\"%s\",\"method\":\"GET\",\"path\":\"/buy\",\"status\":%d,\"duration_ms\":12,\"message\":\"x\"}\n", t0 + int(t / 10), t % 10, svc, st
	}' >"$TMP/batch"
	kcat -P -b "$BROKERS" -t logs -l "$TMP/batch" 2>>"$TMP/kcat.err" || fail "produce" "kcat: $(tail -n 1 "$TMP/kcat.err")"
	PRODUCED=$((PRODUCED + ($2 - $1) * 10))
}

"$VIGIL" run --skew-behind 0s -c "$TMP/vigil.yaml" --brokers "$BROKERS" --topic logs --group alerts --workers 1 --archive off --http off \
	--alerts "$TMP/alerts.ndjson" --records "$TMP/records" 2>"$TMP/vigil.err" &
VPID=$!
PIDS+=($VPID)
wait_for 30 grep -q 'partitions assigned' "$TMP/vigil.err" || fail "vigil run" "no assignment: $(tail -n 3 "$TMP/vigil.err")"

# 1. Healthy, then a burst: firing in Alertmanager and at the webhook.
records 0 60 shop 200
records 60 120 shop 500
records 120 130 shop 200 # moves the watermark past the burst
wait_for 30 grep -q '"state":"firing"' "$TMP/alerts.ndjson" || fail "burst: vigil fires" "$(cat "$TMP/vigil.err")"
check "the alert fires after 'for' (pending first)" grep -q '"alertname":"ShopErrors","state":"pending"' "$TMP/alerts.ndjson"
wait_for 30 eval 'am_alerts | grep -q ShopErrors'
am_alerts >"$TMP/am1.json"
check "Alertmanager has the alert (GET /api/v2/alerts)" grep -q '"alertname":"ShopErrors"' "$TMP/am1.json"
check "with the rule's labels" grep -q '"team":"shop"' "$TMP/am1.json"
check "and the instance's labels" grep -q '"service":"shop"' "$TMP/am1.json"
check "and the rendered annotation" grep -q '"summary":"shop: 5xx at ' "$TMP/am1.json"
wait_for 30 eval 'grep -q "\"receiver\":\"sink\".*\"status\":\"firing\"" "$TMP/hooks"' ||
	wait_for 5 grep -q '"status":"firing".*"receiver":"sink"' "$TMP/hooks"
check "the webhook gets it through Alertmanager's routing" grep -q '"receiver":"sink"' "$TMP/hooks"
check "the direct webhook gets vigil's own payload (version 4)" grep -q '"version":"4","groupKey":"[0-9a-f]*","truncatedAlerts":0,"status":"firing","receiver":"vigil"' "$TMP/hooks"
# Signed with the secret: HMAC-SHA256 of the body, as openssl computes it.
paste -d '\t' "$TMP/sigs" "$TMP/hooks" | grep '"receiver":"vigil"' | head -n 1 >"$TMP/signed"
want="sha256=$(cut -f 2- "$TMP/signed" | tr -d '\n' | openssl dgst -sha256 -hmac s3cret -r | cut -d ' ' -f 1)"
expect_eq "vigil's webhook requests carry X-Vigil-Signature (HMAC-SHA256)" "$(cut -f 1 "$TMP/signed")" "$want"

# Still firing 20 s (event time) after it fired: escalated, the severity
# kept, routed on the escalation label to the second level.
wait_for 30 eval 'grep "\"receiver\":\"l2\"" "$TMP/hooks" | grep -q "\"status\":\"firing\""'
check "escalated: sent again with escalation=L2, severity P2 kept" \
	grep -q '"alertname":"ShopErrors","state":"firing","severity":"P2","labels":{[^}]*"escalation":"L2"' "$TMP/alerts.ndjson"
check "Alertmanager routes the escalation to the second level" \
	eval 'grep "\"receiver\":\"l2\"" "$TMP/hooks" | grep "\"status\":\"firing\"" | grep -q "\"severity\":\"P2\""'

# 2. Recovery: resolved everywhere, both label sets.
records 130 220 shop 200
wait_for 30 grep -q '"state":"resolved"' "$TMP/alerts.ndjson"
check "vigil resolves the alert" grep -q '"alertname":"ShopErrors","state":"resolved"' "$TMP/alerts.ndjson"
wait_for 30 eval '! am_alerts | grep -q "\"alertname\":\"ShopErrors\""'
check "Alertmanager no longer has it active" eval '! am_alerts | grep -q "\"alertname\":\"ShopErrors\""'
wait_for 30 eval 'grep "\"receiver\":\"sink\"" "$TMP/hooks" | grep -q "\"status\":\"resolved\""'
check "the webhook gets the resolution through Alertmanager" eval 'grep "\"receiver\":\"sink\"" "$TMP/hooks" | grep -q "\"status\":\"resolved\""'
wait_for 30 eval 'grep "\"receiver\":\"l2\"" "$TMP/hooks" | grep -q "\"status\":\"resolved\""'
check "and the second level gets the resolution of the escalated set" eval 'grep "\"receiver\":\"l2\"" "$TMP/hooks" | grep -q "\"status\":\"resolved\""'

# 3. Alertmanager down while a new alert fires: it stays firing (no recovery
# is produced) through the outage, and is delivered once Alertmanager is back.
kill "$AM_PID"
wait "$AM_PID" 2>/dev/null
down_at=$SECONDS
records 220 280 cart 200
records 280 340 cart 500
records 340 350 cart 200
wait_for 30 eval 'grep cart "$TMP/alerts.ndjson" | grep -q "\"state\":\"firing\""'
check "vigil fires while Alertmanager is down" eval 'grep cart "$TMP/alerts.ndjson" | grep -q "\"state\":\"firing\""'
wait_for 30 eval 'grep cart "$TMP/file.ndjson" | grep -q firing'
check "the other notifiers deliver meanwhile" eval 'grep cart "$TMP/file.ndjson" | grep -q firing'
# Down for OUTAGE seconds in all: the outage is the scenario, not a wait for
# a condition.
while [ $((SECONDS - down_at)) -lt "$OUTAGE" ]; do sleep 1; done
echo "note Alertmanager down for $((SECONDS - down_at)) s"
check "the outbox still holds it for Alertmanager (on disk)" grep -q '"service":"cart"' "$TMP/outbox/outbox.jsonl"
start_am || fail "alertmanager restart" "$(tail -n 3 "$TMP/am.log")"
# Backoff grows to 32 s by then (1, 2, 4... with jitter): bounded by 90 s.
wait_for 90 eval 'am_alerts | grep -q "\"service\":\"cart\""'
check "delivered after Alertmanager returns" eval 'am_alerts | grep -q "\"service\":\"cart\""'
wait_for 30 eval 'grep "\"receiver\":\"sink\"" "$TMP/hooks" | grep -q "\"service\":\"cart\""'
check "and reaches the webhook through its routing" eval 'grep "\"receiver\":\"sink\"" "$TMP/hooks" | grep "\"service\":\"cart\"" | grep -q "\"status\":\"firing\""'

# 4. The cart burst ends: resolved in Alertmanager and at its webhook.
records 350 440 cart 200
wait_for 30 eval 'grep cart "$TMP/alerts.ndjson" | grep -q "\"state\":\"resolved\""'
wait_for 30 eval '! am_alerts | grep -q "\"service\":\"cart\""'
check "the second alert resolves in Alertmanager" eval '! am_alerts | grep -q "\"service\":\"cart\""'
wait_for 30 eval 'grep "\"receiver\":\"sink\"" "$TMP/hooks" | grep "\"service\":\"cart\"" | grep -q "\"status\":\"resolved\""'
check "and its webhook gets the resolution" eval 'grep "\"receiver\":\"sink\"" "$TMP/hooks" | grep "\"service\":\"cart\"" | grep -q "\"status\":\"resolved\""'

# Stopped with SIGTERM once the topic is drained (every record consumed).
wait_for 30 eval '[ "$(lines "$TMP/records")" -ge "$PRODUCED" ]'
expect_eq "vigil consumed every record produced" "$(lines "$TMP/records")" "$PRODUCED"
kill -TERM "$VPID"
wait "$VPID"
expect_eq "vigil run exits 0 on SIGTERM" "$?" 0
# Each alert: firing, escalated (L2), and both label sets resolved.
check "the summary counts the alerts" grep -q '"alerts":{"pending":2,"firing":4,"resolved":4}' "$TMP/vigil.err"
check "the summary counts deliveries per notifier, nothing lost" grep -q '"notify":{"alertmanager":{"sent":8,"resent":[0-9]*,"retried":[1-9][0-9]*,"failed":0,"dropped":0,"pending":0},"webhook0":{"sent":8,"resent":0,"retried":0,"failed":0,"dropped":0,"pending":0},"kafka":{"sent":8,"resent":0,"retried":0,"failed":0,"dropped":0,"pending":0},"file":{"sent":8,"resent":0,"retried":0,"failed":0,"dropped":0,"pending":0}}' "$TMP/vigil.err"
retried=$(grep -c '"msg":"notifier delivering again","notifier":"alertmanager"' "$TMP/vigil.err")
expect_eq "the notifier logs that it recovered" "$retried" 1

# The Kafka notifier: one message per change, keyed by the fingerprint, the
# value what the file notifier wrote.
kcat -C -b "$BROKERS" -t alerts -o beginning -e -q -f '%k\t%s\n' >"$TMP/topic.tsv" 2>"$TMP/kcat.err"
expect_eq "the topic has every firing and resolved change" "$(wc -l <"$TMP/topic.tsv")" 8
expect_eq "message values are the file notifier's lines" "$(cut -f 2- "$TMP/topic.tsv")" "$(cat "$TMP/file.ndjson")"
expect_eq "message keys are the alerts' fingerprints" "$(cut -f 1 "$TMP/topic.tsv")" \
	"$(grep -o '"fingerprint":"[0-9a-f]*"' "$TMP/file.ndjson" | cut -d '"' -f 4)"
check "values parse as JSON" eval 'cut -f 2- "$TMP/topic.tsv" | jq -e . >/dev/null'

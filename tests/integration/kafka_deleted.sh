#!/usr/bin/env bash
# Records the broker deleted before vigil read them are counted and said.
# The embedded broker keeps the last 5 MiB of a partition: 20,000 records
# (7 MB) produced to one partition push its oldest out.
#
# 1. Stopped past retention: a run reads a first batch and stops (offsets
#    committed, nothing deleted: 0 counted); 20,000 records go to
#    partition 0, which drops its head, the committed offset with it; the
#    next run of the group starts from the new log start (librdkafka's
#    offset reset) and counts exactly the offsets between the commit and
#    the low watermark, in the summary, in /metrics and in one warning.
# 2. Behind retention while running: a run caught up is held (SIGSTOP)
#    while 20,000 records go to its partition, so its fetch position is
#    deleted under it: what it reads plus what it counts deleted is every
#    offset of the partition.
# 3. As 1 against a broker that does not say its log start in fetch
#    answers (before Kafka 0.11: librdkafka told so), so librdkafka asks
#    for the earliest offset after its line: the count comes from the
#    first message read after the reset.
. "$(dirname "$0")/../lib.sh"
PROMTOOL=${PROMTOOL:-promtool}
command -v "$PROMTOOL" >/dev/null || { fail "promtool" "not installed (Debian package prometheus)"; exit 1; }
start_broker --topic del:3 --topic live:1 --topic old:1 || exit 1
# The embedded broker waits session.timeout.ms - 1 s for members to rejoin
# (the second run joins the group the first left).
printf 'kafka:\n  properties: {session.timeout.ms: "6000", heartbeat.interval.ms: "500"}\n' >"$TMP/g.yaml"
printf 'kafka:\n  properties: {session.timeout.ms: "6000", heartbeat.interval.ms: "500", api.version.request: "false", broker.version.fallback: "0.9.0"}\n' >"$TMP/old.yaml"
# The live run is held for as long as the flood takes: within its session.
printf 'kafka:\n  properties: {session.timeout.ms: "60000"}\n' >"$TMP/live.yaml"
"$GEN" --count 3000 --seed 21 >"$TMP/first.ndjson"
"$GEN" --count 20000 --seed 22 >"$TMP/flood.ndjson"
"$GEN" --count 20000 --seed 23 >"$TMP/flood2.ndjson"
"$GEN" --count 20000 --seed 25 >"$TMP/flood3.ndjson"

# metric NAME ERRFILE: a sample's value from that run's /metrics.
metric() { curl -sf "http://$(http_address "$2")/metrics" | grep "^$1 " | cut -d ' ' -f 2; }
# low TOPIC PARTITION / high TOPIC PARTITION: the partition's watermarks.
low() { kcat -Q -b "$BROKERS" -t "$1:$2:-2" 2>/dev/null | awk '{ print $NF }'; }
high() { kcat -Q -b "$BROKERS" -t "$1:$2:-1" 2>/dev/null | awk '{ print $NF }'; }
# or0 VALUE: the value, or 0 when empty (for arithmetic).
or0() { echo "${1:-0}"; }
# deleted_line ERRFILE: vigil's warning about deleted records.
deleted_line() { grep '"level":"WARNING","component":"ingest","msg":"records deleted by the broker' "$1"; }

# ---- 1. stopped past retention -------------------------------------------
produce del "$TMP/first.ndjson"
start_run a --topic del -c "$TMP/g.yaml" --group g --http 127.0.0.1:0 || fail "first run: assignment" "none"
wait_for 60 at_least "$TMP/a.records" 3000 || fail "first run: processed" "$(lines "$TMP/a.records") of 3000"
expect_eq "nothing deleted: /metrics counts 0" "$(metric vigil_kafka_offsets_deleted_total "$TMP/a.err")" 0
stop_run
expect_eq "first run exits 0" "$RUN_STATUS" 0
expect_eq "nothing deleted: the summary counts 0" "$(summary_num "$TMP/a.err" offsets_deleted)" 0
expect_eq "nothing deleted: no warning" "$(deleted_line "$TMP/a.err" | wc -l)" 0
committed=$(tail -n 1 "$TMP/a.err" | grep -o '"del/0":[0-9]*' | cut -d: -f2)
check "first run committed partition 0 (at $committed)" [ "${committed:-0}" -gt 0 ]

kcat -P -b "$BROKERS" -t del -p 0 -l "$TMP/flood.ndjson"
lo=$(low del 0)
check "the broker dropped partition 0's head past the commit (log start $lo, committed $committed)" \
	[ "${lo:-0}" -gt "${committed:-0}" ]
want=$((lo - committed))
end=$(broker_end del 3)

start_run b --topic del -c "$TMP/g.yaml" --group g --http 127.0.0.1:0 || fail "second run: assignment" "none"
# Every offset is read or counted deleted (a clean stop: nothing read twice).
accounted() {
	local d
	d=$(metric vigil_kafka_offsets_deleted_total "$TMP/b.err")
	[ -n "$d" ] && [ $(($(lines "$TMP/a.records") + $(lines "$TMP/b.records") + d)) -ge "$end" ]
}
check "second run: every offset read or counted deleted" wait_for 60 accounted
expect_eq "/metrics counts the deleted offsets" "$(metric vigil_kafka_offsets_deleted_total "$TMP/b.err")" "$want"
curl -sf "http://$(http_address "$TMP/b.err")/metrics" >"$TMP/b.metrics"
expect_eq "promtool check metrics: no complaints" "$("$PROMTOOL" check metrics <"$TMP/b.metrics" 2>&1)" ""
stop_run
expect_eq "second run exits 0" "$RUN_STATUS" 0
expect_eq "the summary counts the deleted offsets" "$(summary_num "$TMP/b.err" offsets_deleted)" "$want"
expect_eq "records read and deleted: every offset once" \
	$(($(lines "$TMP/a.records") + $(lines "$TMP/b.records") + want)) "$end"
expect_eq "one warning" "$(deleted_line "$TMP/b.err" | wc -l)" 1
check "the warning names topic, partition, offsets and count" grep -q \
	"\"topic\":\"del\",\"partition\":0,\"from\":$committed,\"to\":$lo,\"deleted\":${want}[,}]" <(deleted_line "$TMP/b.err")

# ---- 2. behind retention while running -----------------------------------
"$GEN" --count 1000 --seed 24 >"$TMP/live.ndjson"
produce live "$TMP/live.ndjson"
start_run c --topic live -c "$TMP/live.yaml" --group g2 --http 127.0.0.1:0 || fail "live run: assignment" "none"
wait_for 60 at_least "$TMP/c.records" 1000 || fail "live run: processed" "$(lines "$TMP/c.records") of 1000"
kill -STOP "$RUN_PID"
is_stopped() { [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = T ]; }
wait_for 10 is_stopped "$RUN_PID" || fail "live run: held" "not stopped"
kcat -P -b "$BROKERS" -t live -l "$TMP/flood2.ndjson"
kill -CONT "$RUN_PID"
end=$(high live 0)
lo=$(low live 0)
check "the broker dropped the live partition's head (log start $lo, read 1000)" [ "${lo:-0}" -gt 1000 ]
live_accounted() {
	local d
	d=$(metric vigil_kafka_offsets_deleted_total "$TMP/c.err")
	[ -n "$d" ] && [ $(($(lines "$TMP/c.records") + d)) -ge "$end" ]
}
check "live run: every offset read or counted deleted" wait_for 60 live_accounted
deleted=$(metric vigil_kafka_offsets_deleted_total "$TMP/c.err")
check "live run: offsets counted deleted ($deleted)" [ "${deleted:-0}" -gt 0 ]
stop_run
expect_eq "live run exits 0" "$RUN_STATUS" 0
expect_eq "live run: records read and deleted: every offset once" \
	$(($(lines "$TMP/c.records") + $(or0 "$(summary_num "$TMP/c.err" offsets_deleted)"))) "$end"
check "live run: a warning names the partition" grep -q '"topic":"live","partition":0,' <(deleted_line "$TMP/c.err")

# ---- 3. a broker that does not say its log start -------------------------
"$GEN" --count 1000 --seed 26 >"$TMP/old.ndjson"
produce old "$TMP/old.ndjson"
start_run d --topic old -c "$TMP/old.yaml" --group g3 || fail "old broker: first run: assignment" "none"
wait_for 60 at_least "$TMP/d.records" 1000 || fail "old broker: first run: processed" "$(lines "$TMP/d.records") of 1000"
stop_run
expect_eq "old broker: first run exits 0" "$RUN_STATUS" 0
committed=$(tail -n 1 "$TMP/d.err" | grep -o '"old/0":[0-9]*' | cut -d: -f2)
kcat -P -b "$BROKERS" -t old -l "$TMP/flood3.ndjson"
lo=$(low old 0)
end=$(high old 0)
check "old broker: the head is dropped past the commit (log start $lo, committed $committed)" \
	[ "${lo:-0}" -gt "${committed:-0}" ]
start_run e --topic old -c "$TMP/old.yaml" --group g3 || fail "old broker: second run: assignment" "none"
wait_for 60 at_least "$TMP/e.records" $((end - lo)) || fail "old broker: second run: processed" \
	"$(lines "$TMP/e.records") of $((end - lo))"
stop_run
expect_eq "old broker: second run exits 0" "$RUN_STATUS" 0
check "old broker: librdkafka had no log start cached" grep -q 'offset reset (at offset [0-9]*, broker [0-9]*) to BEGINNING:' "$TMP/e.err"
expect_eq "old broker: the summary counts the deleted offsets" "$(summary_num "$TMP/e.err" offsets_deleted)" \
	$((lo - committed))
check "old broker: the warning names topic, partition, offsets and count" grep -q \
	"\"topic\":\"old\",\"partition\":0,\"from\":$committed,\"to\":$lo,\"deleted\":$((lo - committed))[,}]" <(deleted_line "$TMP/e.err")

#!/usr/bin/env bash
# Broker faults during the stream (the embedded broker's fault commands on
# librdkafka's mock cluster): request errors on Fetch and OffsetCommit,
# partition leaders moved between brokers, brokers down and up (one, then
# two of three, then all). Nothing produced may be lost: every id is
# archived once vigil run has caught up and stopped.
# No injected Produce errors: they test the producer, not vigil, and the
# mock cluster checks idempotent sequence numbers only for transactional
# producers, so an error answer followed by a later batch's success makes
# librdkafka count the failed batch as delivered ("implicitly acked") while
# the mock never stored it: 8 of 60,000 records vanished that way with
# vigil not running at all. The topic is read back with kcat to tell a
# broker-side loss from vigil's.
# Short: 60,000 records; SOAK=1: 600,000 and the fault sequence three times.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.bash"
N=$(sized 60000 600000)
ROUNDS=$([ "$SOAK" = 1 ] && echo 3 || echo 1)
PARTS=$([ "$SOAK" = 1 ] && echo 64 || echo 12) # the broker keeps 5 MiB a partition
# Each round of faults takes about 15 s of stream.
RATE=$((N / (ROUNDS * 15 + 5)))
cat >"$TMP/faults.yaml" <<YAML
kafka:
  properties: {$FAST_GROUP}
YAML
start_broker --brokers 3 --topic faults:$PARTS || exit 1
"$GEN" --count "$N" --seed 71 --truth "$TMP/in.tsv" >"$TMP/in.ndjson"
cut -f5 "$TMP/in.tsv" | sort >"$TMP/want"
t0=$SECONDS
start_run run -c "$TMP/faults.yaml" --topic faults --group faults || fail "faults: vigil run got partitions" "no"
"$VIGIL" produce --brokers "$BROKERS" --topic faults --rate "$RATE" "$TMP/in.ndjson" 2>"$TMP/produce.err" &
PRODUCER=$!
PIDS+=($PRODUCER)

# progress: wait until vigil has processed 3% more of the stream.
progress() {
	local want=$(($(lines "$TMP/run.records") + N / 33))
	[ "$want" -le "$N" ] || want=$N
	wait_for 60 at_least "$TMP/run.records" "$want" || echo "note faults: no progress in 60 s at $(lines "$TMP/run.records")"
}
faults=0
fault() { broker_cmd "$1" && faults=$((faults + 1)) || fail "faults: broker command '$1'" "refused"; }
# down_for SECONDS ID...: brokers down for that long (the fault's length),
# then up again.
down_for() {
	local s=$1 id
	shift
	for id in "$@"; do fault "down $id"; done
	sleep "$s"
	for id in "$@"; do fault "up $id"; done
}
for r in $(seq "$ROUNDS"); do
	progress
	fault "errors Fetch 30 NOT_LEADER_FOR_PARTITION"
	fault "errors OffsetCommit 5 REQUEST_TIMED_OUT"
	progress
	for p in $(seq 0 $((PARTS - 1))); do fault "leader faults $p $(((p + r) % 3 + 1))"; done
	progress
	down_for 2 $((r % 3 + 1))
	progress
	down_for 2 1 2
	progress
	down_for 3 1 2 3
	progress
done
wait "$PRODUCER"
expect_eq "faults: the producer delivered every record" "$?" 0
all_processed() { [ "$(ids "$TMP/run.records" | uniq | wc -l)" -ge "$N" ]; }
wait_for 120 all_processed
stop_run
expect_eq "faults: vigil run exits 0 after the faults" "$RUN_STATUS" 0
"$VIGIL" cat "$TMP/run.archive" | event_ids >"$TMP/got"
kcat -C -b "$BROKERS" -t faults -e -q -f '%s\n' 2>/dev/null | event_ids >"$TMP/topic"
expect_eq "faults: the broker holds every produced record (the harness)" "$(lost_ids "$TMP/want" "$TMP/topic")" 0
lost=$(lost_ids "$TMP/topic" "$TMP/got")
dups=$(($(lines "$TMP/got") - $(uniq "$TMP/got" | wc -l)))
"$VIGIL" verify "$TMP/run.archive" >"$TMP/verify" 2>&1
check "faults: verify is clean" grep -q '^verify: clean$' "$TMP/verify"
echo "note faults: records=$N faults=$faults rounds=$ROUNDS rate=$RATE/s lost=$lost duplicates=$dups" \
	"kafka_errors=$(run_summary "$TMP/run.err" kafka_errors) commits_failed=$(run_summary "$TMP/run.err" commits_failed)" \
	"rebalances=$(run_summary "$TMP/run.err" rebalances) seconds=$((SECONDS - t0))"
dropped=$(broker_dropped faults "$PARTS")
[ "$dropped" -eq 0 ] || echo "note faults: the broker dropped $dropped old messages (it keeps 5 MiB a partition): harmless once read, else a loss below is the test's sizing"
expect_eq "faults: every produced record is archived (lost)" "$lost" 0

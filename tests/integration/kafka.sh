#!/usr/bin/env bash
# vigil run against the embedded broker (a real Kafka protocol over TCP on
# 127.0.0.1), with kcat as the producer. The broker keeps only the last
# 5 MiB per partition, so these tests consume while producing.
. "$(dirname "$0")/../lib.sh"
start_broker --brokers 3 --topic logs:6 --topic mixed:2 --topic stream:6 --topic group:6 --topic faults:6 --topic backfill:2 || exit 1
# Short group timeouts so a killed member's partitions move quickly.
cat >"$TMP/fast.yaml" <<'YAML'
kafka:
  properties: {session.timeout.ms: "6000", heartbeat.interval.ms: "500"}
YAML

committed_sum() { tail -n 1 "$1" | grep -o '"committed":{[^}]*}' | grep -o ':[0-9]*' | tr -d : | awk '{ s += $1 } END { print s + 0 }'; }

# 1. 100k records from 6 partitions: every one exactly once, committed = end.
"$GEN" --count 100000 --seed 31 --truth "$TMP/t1.tsv" >"$TMP/p1.ndjson"
start_run a --topic logs --group g1 || fail "run a" "no assignment"
# In 10k-record steps, each produced once vigil has caught up with the last:
# the lag stays far under the broker's 5 MiB per partition.
split -l 10000 -d "$TMP/p1.ndjson" "$TMP/p1.part."
n=0
for part in "$TMP"/p1.part.*; do
	produce logs "$part"
	n=$((n + $(lines "$part")))
	wait_for 60 at_least "$TMP/a.records" "$n" || { fail "100k consumed" "$(lines "$TMP/a.records") of $n"; break; }
done
stop_run a
expect_eq "SIGTERM: exit 0" "$RUN_STATUS" 0
cut -f5 "$TMP/t1.tsv" | sort >"$TMP/want1"
ids "$TMP/a.records" >"$TMP/got1"
expect_eq "every produced id processed" "$(comm -23 "$TMP/want1" "$TMP/got1" | wc -l)" 0
expect_eq "no id processed twice" "$(uniq -d "$TMP/got1" | wc -l)" 0
total=$(grep '"level"' "$TMP/a.windows" | sed -E 's/.*"count":([0-9]+)\}$/\1/' | awk '{ s += $1 } END { print s + 0 }')
expect_eq "aggregates count every record once" "$total" 100000
expect_eq "committed offsets add up to the end offsets" "$(committed_sum "$TMP/a.err")" 100000
# The archive, read back with the stock zstd tool, holds every record byte
# for byte (.part files included: zstdcat reads them frame by frame).
find "$TMP/a.archive" -name '*.jsonl.zst*' ! -name '*.manifest.*' -print0 | xargs -0 zstdcat | sort >"$TMP/a.archived"
sort "$TMP/p1.ndjson" >"$TMP/p1.sorted"
check "zstdcat of the archive returns every record byte for byte" cmp -s "$TMP/a.archived" "$TMP/p1.sorted"
check "archive files are renamed from .part at a clean stop" test -z "$(find "$TMP/a.archive" -name '*.part')"
check "archive laid out by retention, category, day and hour" test -d "$TMP/a.archive/90d/access/2026-11-01/00"
check "all six partitions committed" grep -q '"logs/0":.*"logs/5":' <(tail -n 1 "$TMP/a.err")

# 2. Malformed messages in the stream: counted by reason, consumption goes on.
{
	head -n 1000 "$TMP/p1.ndjson"
	echo 'not json at all'
	echo '[1,2,3]'
	printf '{"truncated":\n'
	printf '{"bin":"\xff\xfe"}\n'
	printf '{"a":"%s"}\n' "$(head -c 2100000 /dev/zero | tr '\0' x)"
	tail -n 1000 "$TMP/p1.ndjson"
} >"$TMP/p2.ndjson"
start_run b --topic mixed --group g2 || fail "run b" "no assignment"
kcat -P -b "$BROKERS" -t mixed -X message.max.bytes=4000000 -X sticky.partitioning.linger.ms=0 \
	-X partitioner=random -D '\n' -Z -l "$TMP/p2.ndjson" 2>"$TMP/kcat2.err"
# kcat sends no empty lines: an empty message from vigil produce.
echo '' | "$VIGIL" produce --brokers "$BROKERS" --topic mixed 2>/dev/null
wait_for 60 at_least "$TMP/b.records" 2000 || fail "valid records around bad ones consumed" "$(lines "$TMP/b.records")"
wait_for 10 grep -q '"reason":"empty"' "$TMP/b.err"
stop_run b
s=$(tail -n 1 "$TMP/b.err")
case "$s" in *'"rejected":6,"rejected_by_reason":{"empty":1,"size":1,"not_object":1,"syntax":2,"utf8":1}'*) ok "bad messages counted by reason" ;;
*) fail "bad messages counted by reason" "$s" ;; esac
expect_eq "valid records all processed" "$(lines "$TMP/b.records")" 2000
expect_eq "committed offsets cover the bad messages too" "$(committed_sum "$TMP/b.err")" 2006
deadn=$(find "$TMP/b.archive/dead-letter" -name '*.jsonl.zst' -print0 | xargs -0 zstdcat | grep -c '"raw_b64"')
expect_eq "every bad message is in the dead-letter archive" "$deadn" 6

# 3. SIGTERM mid-stream: exit 0 within the bound; committed = processed.
"$GEN" --count 60000 --seed 33 >"$TMP/p3.ndjson"
start_run c --topic stream --group g3 || fail "run c" "no assignment"
"$VIGIL" produce --brokers "$BROKERS" --topic stream --rate 20000 "$TMP/p3.ndjson" 2>"$TMP/prod3.err" &
prod=$!
PIDS+=($prod)
wait_for 30 at_least "$TMP/c.records" 20000
stop_run c
wait "$prod"
expect_eq "SIGTERM mid-stream: exit 0" "$RUN_STATUS" 0
if [ "$RUN_SECS" -le 10 ]; then ok "stopped within 10 s ($RUN_SECS s)"; else fail "stopped within 10 s" "$RUN_SECS s"; fi
processed=$(lines "$TMP/c.records")
expect_eq "committed offsets are exactly what was processed" "$(committed_sum "$TMP/c.err")" "$processed"
if [ "$processed" -lt 60000 ]; then ok "stopped mid-stream ($processed of 60000)"; else fail "stopped mid-stream" "the stream ended first"; fi

# 4. Two vigils in one group split the partitions; one is killed with
# SIGKILL mid-stream; the survivor takes over. Every id is processed at
# least once; duplicates are bounded by what was uncommitted at the kill.
"$GEN" --count 90000 --seed 34 --truth "$TMP/t4.tsv" >"$TMP/p4.ndjson"
start_run d -c "$TMP/fast.yaml" --topic group --group g4 || fail "run d" "no assignment"
d_pid=$RUN_PID
start_run e -c "$TMP/fast.yaml" --topic group --group g4 || fail "run e" "no assignment"
e_pid=$RUN_PID
wait_for 30 grep -q 'partitions revoked' "$TMP/d.err" # the first member gave half away
"$VIGIL" produce --brokers "$BROKERS" --topic group --rate 15000 "$TMP/p4.ndjson" 2>/dev/null &
prod=$!
PIDS+=($prod)
# Kill once both have consumed for a while, so archive syncs (1 s) and
# commits (1 s) have landed.
wait_for 30 at_least "$TMP/d.records" 30000 && wait_for 30 at_least "$TMP/e.records" 30000 ||
	fail "both members consume" "d $(lines "$TMP/d.records"), e $(lines "$TMP/e.records")"
kill -KILL "$d_pid"
wait "$d_pid" 2>/dev/null
killed_at=$(lines "$TMP/d.records")
wait "$prod"
cut -f5 "$TMP/t4.tsv" | sort >"$TMP/want4"
all_seen() { [ "$(cat "$TMP/d.records" "$TMP/e.records" | ids | uniq | wc -l)" -ge 90000 ]; }
wait_for 60 all_seen
RUN_PID=$e_pid
stop_run e
expect_eq "survivor: exit 0" "$RUN_STATUS" 0
cat "$TMP/d.records" "$TMP/e.records" | ids >"$TMP/got4"
expect_eq "every id processed at least once across the kill" "$(comm -23 "$TMP/want4" <(uniq "$TMP/got4") | wc -l)" 0
dups=$(uniq -d "$TMP/got4" | wc -l)
echo "note kill: killed member had processed $killed_at records; $dups processed twice"
# Uncommitted at the kill: at most a commit interval (1 s at 15k/s) plus
# the batches in flight.
if [ "$dups" -le 25000 ] && [ "$dups" -lt "$killed_at" ]; then ok "duplicates bounded ($dups of $killed_at)"; else fail "duplicates bounded" "$dups of $killed_at"; fi

# 5. Broker faults during the stream: a broker down and back up, failed
# Fetch and OffsetCommit requests. Nothing is lost.
"$GEN" --count 40000 --seed 35 --truth "$TMP/t5.tsv" >"$TMP/p5.ndjson"
start_run f --topic faults --group g5 || fail "run f" "no assignment"
"$VIGIL" produce --brokers "$BROKERS" --topic faults --rate 10000 "$TMP/p5.ndjson" 2>"$TMP/prod5.err" &
prod=$!
PIDS+=($prod)
wait_for 30 at_least "$TMP/f.records" 5000
check "inject 20 Fetch errors" broker_cmd "errors Fetch 20 NOT_LEADER_FOR_PARTITION"
check "inject 5 OffsetCommit errors" broker_cmd "errors OffsetCommit 5 REQUEST_TIMED_OUT"
check "broker 2 down" broker_cmd "down 2"
wait_for 30 at_least "$TMP/f.records" 15000
check "broker 2 up" broker_cmd "up 2"
check "partition leader moves" broker_cmd "leader faults 0 3"
wait "$prod"
expect_eq "producer delivered everything" "$?" 0
cut -f5 "$TMP/t5.tsv" | sort >"$TMP/want5"
all5() { [ "$(ids "$TMP/f.records" | uniq | wc -l)" -ge 40000 ]; }
wait_for 60 all5
stop_run f
expect_eq "after faults: exit 0" "$RUN_STATUS" 0
expect_eq "no record lost through broker faults" "$(comm -23 "$TMP/want5" <(ids "$TMP/f.records" | uniq) | wc -l)" 0
summary=$(tail -n 1 "$TMP/f.err")
echo "note faults: $(echo "$summary" | grep -o '"kafka_errors":[0-9]*,.*"commits_failed":[0-9]*')"
errs=$(echo "$summary" | sed -n 's/.*"kafka_errors":\([0-9]*\).*"commits_failed":\([0-9]*\).*/\1 \2/p')
if [ "${errs% *}" -gt 0 ] || [ "${errs#* }" -gt 0 ]; then ok "errors counted ($errs)"; else fail "errors counted" "$errs"; fi

# 6. --exit-at-end: a backfill exits by itself once every partition is at
# its end, having processed and committed everything.
"$GEN" --count 5000 --seed 36 >"$TMP/p6.ndjson"
produce backfill "$TMP/p6.ndjson"
"$VIGIL" run --skew-behind 0s --brokers "$BROKERS" --topic backfill --group g6 --exit-at-end --records "$TMP/g.records" \
	--archive "$TMP/g.archive" --http off 2>"$TMP/g.err" &
pid=$!
PIDS+=($pid)
exited() { ! kill -0 "$pid" 2>/dev/null; }
wait_for 60 exited
wait "$pid"
expect_eq "--exit-at-end: exits 0 by itself" "$?" 0
expect_eq "--exit-at-end: every record processed" "$(lines "$TMP/g.records")" 5000
expect_eq "--exit-at-end: committed to the end" "$(committed_sum "$TMP/g.err")" 5000
check "--exit-at-end: no lag left on owned partitions" grep -q '"lag_end":0,' <(tail -n 1 "$TMP/g.err")

# 7. An invalid librdkafka property is refused at start with its message.
printf 'kafka:\n  properties: {no.such.property: "1"}\n' >"$TMP/badprop.yaml"
"$VIGIL" run --skew-behind 0s -c "$TMP/badprop.yaml" --brokers "$BROKERS" --archive off --http off 2>"$TMP/badprop.err"
expect_eq "invalid kafka property: exit 1" "$?" 1
check "invalid kafka property: librdkafka's message" grep -q "No such configuration property" "$TMP/badprop.err"

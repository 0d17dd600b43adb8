#!/usr/bin/env bash
# Disk full during the stream, as the writer sees it: RLIMIT_FSIZE (a soft
# limit, lifted with prlimit while vigil runs). While the archive cannot be
# written nothing may be committed that is not on disk, so a SIGKILL while
# full loses nothing; when space returns the pipeline resumes by itself.
#   run 1: under the limit until full, full for FULL_SECONDS while the stream
#          goes on, SIGKILLed while full;
#   run 2: under the limit until full, a second member (no limit) joins, the
#          limit lifted, more records produced, both catch up with the
#          stream, both SIGKILLed;
#   run 3: no limit, to the end of the stream.
# Every produced id must be in the archive afterwards.
# While full, the lag grows instead of memory: each worker stops taking
# batches and the consumer pauses its partitions, so run 1 processes
# nothing in the second half of its outage, its RSS stays under a bound set
# by the configuration, its lag grows, and /ready keeps saying why.
# Short: 60,000 records at 2,000/s, 12 s full; SOAK=1: 600,000 at 20,000/s.
# FULL_RATE and FULL_SECONDS override the rate and the outage (docs/reliability.md's
# before/after figures: SOAK=1 FULL_RATE=10000 FULL_SECONDS=60).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.bash"
N=$(sized 60000 600000)
RATE=${FULL_RATE:-$((N / 30))}
FULL_SECONDS=${FULL_SECONDS:-12}
# The bound while full: librdkafka's prefetch queue (queued.max.messages.kbytes),
# the fetch buffers the held messages pin (max.partition.fetch.bytes a
# partition), per worker its batches (32 of kafka.batch messages, about
# 1 KiB each with librdkafka's share) and its archive's pending frames
# (8 x flush_bytes, twice over: pending, and written but not yet fsynced),
# plus the process at rest (code, libraries, contexts, window shards:
# about 20 MB) with room to spare. It depends on neither the outage's
# length nor the stream's rate; before vigil paused, RSS grew with both
# (27 to 50 MB over the short outage; 46 to 130 MB with SOAK=1
# FULL_RATE=10000 FULL_SECONDS=60). Under AddressSanitizer the RSS is
# reported, not checked.
QUEUE_KB=8192 FETCH_KB=256 BATCH=100 WORKERS=2
# Small frames, so files pass the 64 KiB limit within the stream; small
# batches, so the workers' rings fill (and the consumer pauses) early.
cat >"$TMP/full.yaml" <<YAML
archive: {flush_bytes: 64KiB, flush_ms: 200ms}
kafka:
  workers: $WORKERS
  batch: $BATCH
  properties: {queued.max.messages.kbytes: "$QUEUE_KB", max.partition.fetch.bytes: "$((FETCH_KB * 1024))", $FAST_GROUP}
YAML
# The broker keeps 5 MiB a partition: enough of them for the lag while full.
PARTS=$([ "$SOAK" = 1 ] && echo 64 || echo 16)
BOUND_KB=$((QUEUE_KB + PARTS * FETCH_KB + WORKERS * (32 * BATCH + 2 * 8 * 64) + 24 * 1024))
start_broker --topic full:$PARTS || exit 1
"$GEN" --count "$N" --seed 61 --truth "$TMP/in.tsv" >"$TMP/in.ndjson"
# A tenth more, produced once run 2 has recovered: whatever the machine's
# speed, the first stream may be over by then, and these are what show
# that run 2 goes on.
POST=$((N / 10))
"$GEN" --count "$POST" --seed 62 --truth "$TMP/post.tsv" >"$TMP/post.ndjson"
cut -f5 "$TMP/in.tsv" "$TMP/post.tsv" | sort >"$TMP/want"
t0=$SECONDS
"$VIGIL" produce --brokers "$BROKERS" --topic full --rate "$RATE" "$TMP/in.ndjson" 2>"$TMP/produce.err" &
PRODUCER=$!
PIDS+=($PRODUCER)
# full_run NAME [LIMIT_KB] [--exit-at-end]: vigil run, under the file-size
# limit when given; its pid in RUN_PID.
full_run() {
	local name=$1 limit=$2
	shift 2
	# The processed records go through a pipe, which the limit does not cover.
	mkfifo "$TMP/$name.pipe"
	cat "$TMP/$name.pipe" >"$TMP/$name.records" &
	PIDS+=($!)
	(
		[ "$limit" = none ] || ulimit -S -f "$limit"
		exec "$VIGIL" run --skew-behind 0s -c "$TMP/full.yaml" --brokers "$BROKERS" --topic full --group full \
			--archive "$TMP/archive" --records "$TMP/$name.pipe" --http 127.0.0.1:0 "$@" 2>"$TMP/$name.err"
	) &
	RUN_PID=$!
	PIDS+=($RUN_PID)
}
# ready NAME CODE PATTERN: /ready of run NAME answers CODE with PATTERN in its JSON.
ready() {
	local body
	body=$(http "$1" /ready) || return 1
	[ "${body##* }" = "$2" ] && grep -q "$3" <<<"$body"
}

full_run r1 64
wait_for 60 grep -q 'archive write failed' "$TMP/r1.err" 2>/dev/null
check "full: run 1 reports the write error" grep -q 'offsets are not committed until it recovers' "$TMP/r1.err"
# Full for FULL_SECONDS while the stream moves on: RSS sampled twice a second,
# what run 1 processed and its lag noted at the middle and the end.
end0=$(broker_end full "$PARTS")
t_full=$SECONDS
read_mid= lag_mid=
while [ $((SECONDS - t_full)) -lt "$FULL_SECONDS" ]; do
	rss_kb "$RUN_PID" >>"$TMP/rss1"
	if [ -z "$read_mid" ] && [ $((SECONDS - t_full)) -ge $((FULL_SECONDS / 2)) ]; then
		read_mid=$(lines "$TMP/r1.records")
		lag_mid=$(metric r1 vigil_kafka_consumer_lag)
	fi
	sleep 0.5 # the sampling interval
done
read_end=$(lines "$TMP/r1.records")
lag_end=$(metric r1 vigil_kafka_consumer_lag)
paused=$(metric r1 vigil_kafka_paused_partitions)
moved=$(($(broker_end full "$PARTS") - end0))
rss_full=$(sort -n "$TMP/rss1" | tail -n 1)
check "full: the stream moves on while run 1 is full" test "$moved" -ge $((RATE * FULL_SECONDS / 4))
expect_eq "full: run 1 processes nothing in the second half of the outage (records)" "$read_end" "$read_mid"
check "full: run 1's lag grows instead ($lag_mid -> $lag_end)" test "$lag_end" -gt "$lag_mid"
check "full: run 1 pauses its partitions while full" test "$paused" -gt 0
check "full: run 1's /ready says why while paused" ready r1 503 'not writable'
if nm "$VIGIL" 2>/dev/null | grep -q __asan_init; then
	echo "note full: AddressSanitizer build: RSS not checked"
elif [ "$rss_full" -le "$BOUND_KB" ]; then ok "full: RSS while full under the bound ($rss_full <= $BOUND_KB kB)"
else fail "full: RSS while full under the bound" "$rss_full > $BOUND_KB kB"; fi
kill -KILL "$RUN_PID"
wait "$RUN_PID" 2>/dev/null
"$VIGIL" verify --repair "$TMP/archive" >/dev/null 2>&1
"$VIGIL" cat "$TMP/archive" | event_ids >"$TMP/after1"
full_run r2 64
R2=$RUN_PID
wait_for 60 grep -q 'archive write failed' "$TMP/r2.err" 2>/dev/null
check "full: run 2 reports the write error" grep -q 'archive write failed' "$TMP/r2.err"
check "full: /ready answers 503 with the archive as the reason" wait_for 30 ready r2 503 'not writable'
# The write error's own cause, not "input/output error": here the file-size
# limit (EFBIG); a full disk says "no space left on DIR" (test_archive).
check "full: /ready says the cause (the size limit), not an input/output error" ready r2 503 'File too large'
check "full: the log says so too" grep -q '"error":"File too large ('"$TMP"'/archive)"' "$TMP/r2.err"
# A member joins while run 2 is full: the rebalance takes the stalled
# workers' durable positions without waiting for them, and the partitions
# run 2 keeps or gets back are paused again, then resumed after the recovery.
paused_some() { [ "$(metric r2 vigil_kafka_paused_partitions)" -gt 0 ]; }
wait_for 30 paused_some
full_run r2b none
R2B=$RUN_PID
check "full: a member joins while run 2 is full" wait_for 60 grep -q '"partitions assigned"' "$TMP/r2b.err"
check "full: run 2's rebalance does not wait for its stalled workers" \
	wait_for 30 grep -q 'worker stalled (its sink cannot take more)' "$TMP/r2.err"
check "full: ... nor times out on them" test "$(grep -c 'did not drain within' "$TMP/r2.err")" -eq 0
prlimit --pid "$R2" --fsize=unlimited:unlimited
wait_for 60 grep -q 'archive writable again' "$TMP/r2.err"
check "full: the archive recovers when space returns" grep -q 'archive writable again' "$TMP/r2.err"
check "full: /ready is ready again after the recovery" wait_for 60 ready r2 200 '"status":"ok"'
wait "$PRODUCER"
expect_eq "full: the producer delivered every record" "$?" 0
# Counted from before they are produced. Run 2 keeps about half of the
# partitions, so it reads about half of them; what it had left of the
# first stream counts too.
read_before_post=$(lines "$TMP/r2.records")
"$VIGIL" produce --brokers "$BROKERS" --topic full --rate "$RATE" "$TMP/post.ndjson" 2>"$TMP/produce2.err" &
PRODUCER=$!
PIDS+=($PRODUCER)
check "full: run 2 goes on after the recovery" wait_for 60 at_least "$TMP/r2.records" $((read_before_post + POST / 4))
wait "$PRODUCER"
expect_eq "full: the producer delivered every record produced after the recovery" "$?" 0
# Both members read their partitions to the end: none stays paused.
caught_up() {
	[ "$(metric r2 vigil_kafka_paused_partitions)" -eq 0 ] && [ "$(metric r2 vigil_kafka_consumer_lag)" -eq 0 ] &&
		[ "$(metric r2b vigil_kafka_consumer_lag)" -eq 0 ] && [ "$(metric r2 vigil_kafka_assigned_partitions)" -gt 0 ]
}
name="full: run 2 and the joined member catch up with the stream, nothing left paused"
if wait_for $((60 + N / 2000)) caught_up; then ok "$name"; else
	fail "$name" "run 2: paused $(metric r2 vigil_kafka_paused_partitions), lag $(metric r2 vigil_kafka_consumer_lag), $(lines "$TMP/r2.records") records; the member joined: lag $(metric r2b vigil_kafka_consumer_lag), $(lines "$TMP/r2b.records") records"
fi
kill -KILL "$R2" "$R2B"
wait "$R2" "$R2B" 2>/dev/null
"$VIGIL" verify --repair "$TMP/archive" >/dev/null 2>&1
full_run r3 none --exit-at-end
wait "$RUN_PID"
expect_eq "full: run 3 exits 0 at the end" "$?" 0
"$VIGIL" verify "$TMP/archive" >"$TMP/verify" 2>&1
check "full: verify is clean" grep -q '^verify: clean$' "$TMP/verify"
"$VIGIL" cat "$TMP/archive" | event_ids >"$TMP/got"
lost=$(lost_ids "$TMP/want" "$TMP/got")
dups=$(($(lines "$TMP/got") - $(uniq "$TMP/got" | wc -l)))
echo "note full: records=$N+$POST rate=$RATE/s lost=$lost duplicates=$dups archived_before_kill_while_full=$(uniq "$TMP/after1" | wc -l)" \
	"read_by_run1=$(lines "$TMP/r1.records") rss_while_full_kb=$rss_full bound_kb=$BOUND_KB" \
	"full_seconds=$FULL_SECONDS rss_samples_kb=$(sort -n "$TMP/rss1" | sed -n '1p;$p' | tr '\n' '-' | sed 's/-$//') lag_while_full=$lag_mid-$lag_end paused_partitions=$paused write_errors_run3=$(run_summary "$TMP/r3.err" write_errors)" \
	"seconds=$((SECONDS - t0))"
dropped=$(broker_dropped full "$PARTS")
[ "$dropped" -eq 0 ] || echo "note full: the broker dropped $dropped old messages (it keeps 5 MiB a partition): harmless once read, else a loss below is the test's sizing"
expect_eq "full: every produced record is archived (lost)" "$lost" 0

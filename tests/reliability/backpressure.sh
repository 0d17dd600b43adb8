#!/usr/bin/env bash
# Backpressure: a slow sink (vigil run's --records output into a pipe whose
# reader takes 64 KiB 20 times a second, about 1.3 MB/s, while the stream
# comes at several times that). vigil must slow its consumption instead of
# buffering: peak RSS stays under a bound that does not depend on the
# stream's size, and the consumer lag grows instead. Once the sink is fast
# again every record is processed and archived.
# Short: 300,000 records (about 100 MB) at 15,000/s; SOAK=1: 3,000,000 at 15,000/s.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.bash"
N=$(sized 300000 3000000)
RATE=15000
# The bound: librdkafka's prefetch queue (queued.max.messages.kbytes),
# each worker's pending archive frames (8 x flush_bytes), plus the process
# at rest and librdkafka's per-partition fetch buffers (code, libraries, PCRE2
# and zstd contexts, window shards, batch rings: about 80 MB measured), with
# room to spare. Measured: flat at about 115 MB through a 900,000-record
# (316 MB) stream. The short stream is smaller than the bound; the long one
# (about 1 GB) is what shows the bound holds whatever the stream.
# Under AddressSanitizer (its shadow memory and quarantine) the RSS is
# reported, not checked.
QUEUE_KB=16384 FLUSH_MB=1 WORKERS=2
BOUND_KB=$((QUEUE_KB + WORKERS * 8 * FLUSH_MB * 1024 + 128 * 1024))
cat >"$TMP/bp.yaml" <<YAML
archive: {flush_bytes: ${FLUSH_MB}MiB}
kafka:
  workers: $WORKERS
  properties: {queued.max.messages.kbytes: "$QUEUE_KB", $FAST_GROUP}
YAML
# The broker keeps 5 MiB per partition: enough of them for the lag.
PARTS=$([ "$SOAK" = 1 ] && echo 256 || echo 128)
start_broker --topic bp:$PARTS || exit 1
"$GEN" --count "$N" --seed 31 --truth "$TMP/in.tsv" >"$TMP/in.ndjson"
cut -f5 "$TMP/in.tsv" | sort >"$TMP/want"
bytes=$(wc -c <"$TMP/in.ndjson")
touch "$TMP/slow"
mkfifo "$TMP/bp.pipe"
(
	exec <"$TMP/bp.pipe" >"$TMP/bp.records"
	while [ -e "$TMP/slow" ]; do
		dd bs=64k count=1 iflag=fullblock status=none
		sleep 0.05 # the sink's pace, not a wait for anything
	done
	exec cat
) &
PIDS+=($!)
t0=$SECONDS
"$VIGIL" run --skew-behind 0s -c "$TMP/bp.yaml" --brokers "$BROKERS" --topic bp --group bp --archive "$TMP/archive" \
	--records "$TMP/bp.pipe" --http off 2>"$TMP/run.err" &
RUN_PID=$!
PIDS+=($RUN_PID)
wait_for 30 grep -q '"partitions assigned"' "$TMP/run.err"
"$VIGIL" produce --brokers "$BROKERS" --topic bp --rate $RATE "$TMP/in.ndjson" 2>"$TMP/produce.err" &
PRODUCER=$!
PIDS+=($PRODUCER)
# Sample the RSS while the stream comes in faster than the sink takes it.
while kill -0 "$PRODUCER" 2>/dev/null; do
	rss_kb "$RUN_PID" >>"$TMP/rss"
	sleep 0.5 # the sampling interval
done
wait "$PRODUCER"
expect_eq "backpressure: the producer delivered every record" "$?" 0
peak=$(peak_rss_kb "$RUN_PID")
behind=$((N - $(lines "$TMP/bp.records")))
slow_secs=$((SECONDS - t0))
# The sink recovers: everything is processed, then a graceful stop.
rm -f "$TMP/slow"
# The embedded broker answers a fetch with one producer batch per
# partition, and vigil produce's batches here are a record or two: it
# serves about 30,000 records/s on an idle machine (300,000 in 10 s), so
# catching up on the lag takes a while; a second per 2,000 records.
t1=$SECONDS
wait_for $((N / 2000 + 60)) at_least "$TMP/bp.records" "$N"
check "backpressure: caught up once the sink is fast again" at_least "$TMP/bp.records" "$N"
catchup=$((SECONDS - t1))
kill -TERM "$RUN_PID"
wait "$RUN_PID"
expect_eq "backpressure: vigil run exits 0" "$?" 0
"$VIGIL" cat "$TMP/archive" | event_ids >"$TMP/got"
lost=$(lost_ids "$TMP/want" "$TMP/got")
lag_max=$(run_summary "$TMP/run.err" lag_max)
echo "note backpressure: records=$N bytes=$bytes rate=$RATE/s peak_rss_kb=$peak bound_kb=$BOUND_KB" \
	"rss_samples_kb=$(sort -n "$TMP/rss" | sed -n '1p;$p' | tr '\n' '-' | sed 's/-$//') behind_at_stream_end=$behind" \
	"lag_max=$lag_max lost=$lost slow_seconds=$slow_secs catchup_seconds=$catchup seconds=$((SECONDS - t0))"
if nm "$VIGIL" 2>/dev/null | grep -q __asan_init; then
	echo "note backpressure: AddressSanitizer build: RSS not checked"
elif [ "$peak" -le "$BOUND_KB" ]; then ok "backpressure: peak RSS under the bound ($peak <= $BOUND_KB kB)"; else fail "backpressure: peak RSS under the bound" "$peak > $BOUND_KB kB"; fi
check "backpressure: the lag grew instead (over a quarter of the stream at its end)" test "$behind" -ge $((N / 4))
dropped=$(broker_dropped bp "$PARTS")
[ "$dropped" -eq 0 ] || echo "note backpressure: the broker dropped $dropped old messages (it keeps 5 MiB a partition): harmless once read, else a loss below is the test's sizing"
expect_eq "backpressure: every record archived (lost)" "$lost" 0

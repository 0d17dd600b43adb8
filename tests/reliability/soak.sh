#!/usr/bin/env bash
# Soak: vigil run at a steady rate for a long time (SOAK=1: 30 minutes,
# SOAK_SECONDS to change it), its RSS and open file descriptors sampled:
# after the warm-up both must stay flat (RSS within 20% + 16 MB of the
# third quarter's median, descriptors within 8 of its highest), and every
# record is archived. The short version (make test) runs 20 s.
# The warm-up is long by design: the window store keeps the last hour of
# event time's base windows with their sketches (aggregate/wstore.h), so RSS
# grows until an hour of event time has passed. bench/gen writes about 1000
# records per second of event time; at 6000 a second the hour fills in 10
# minutes, before the third quarter of a 30-minute (or 20-minute) soak.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.bash"
SECS=${SOAK_SECONDS:-$([ "$SOAK" = 1 ] && echo 1800 || echo 20)}
RATE=$([ "$SOAK" = 1 ] && echo 6000 || echo $((2000 / RELIABILITY_SCALE)))
EVERY=$([ "$SOAK" = 1 ] && echo 10 || echo 1)
C=$((SECS * RATE))
cat >"$TMP/soak.yaml" <<YAML
kafka:
  properties: {$FAST_GROUP}
YAML
start_broker --topic soak:16 || exit 1
"$GEN" --count "$C" --seed 21 --truth "$TMP/in.tsv" >/dev/null
cut -f5 "$TMP/in.tsv" | sort >"$TMP/want"
rm -f "$TMP/in.tsv"
# The processed records go nowhere: nothing holds 30 minutes of them.
RUN_RECORDS=/dev/null start_run run -c "$TMP/soak.yaml" --topic soak --group soak --http 127.0.0.1:0 ||
	fail "soak: vigil run got partitions" "no"
t0=$SECONDS
"$GEN" --count "$C" --seed 21 | "$VIGIL" produce --brokers "$BROKERS" --topic soak --rate "$RATE" 2>"$TMP/produce.err" &
PRODUCER=$!
PIDS+=($PRODUCER)
while kill -0 "$PRODUCER" 2>/dev/null; do
	echo "$((SECONDS - t0)) $(rss_kb "$RUN_PID") $(open_fds "$RUN_PID")" >>"$TMP/samples"
	sleep "$EVERY" # the sampling interval
done
wait "$PRODUCER"
expect_eq "soak: the producer delivered every record" "$?" 0
# vigil may be a little behind the producer (a loaded machine): the stop
# waits until it has taken every record, or what it never read would
# count as lost.
took_all() { [ "$(metric run vigil_records_total)" -ge "$C" ]; }
check "soak: vigil took every record before the stop" wait_for $((60 + C / 1000)) took_all
peak=$(peak_rss_kb "$RUN_PID")
stop_run
expect_eq "soak: vigil run exits 0" "$RUN_STATUS" 0
"$VIGIL" cat "$TMP/run.archive" | event_ids >"$TMP/got"
lost=$(lost_ids "$TMP/want" "$TMP/got")
dups=$(($(lines "$TMP/got") - $(uniq "$TMP/got" | wc -l)))
n=$(lines "$TMP/samples")
q=$((n / 4))
[ "$q" -ge 1 ] || q=1
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] + 0 }'; }
rss_q3=$(sed -n "$((2 * q + 1)),$((3 * q))p" "$TMP/samples" | cut -d' ' -f2 | median)
rss_q4=$(tail -n "$q" "$TMP/samples" | cut -d' ' -f2 | median)
fds_q3=$(sed -n "$((2 * q + 1)),$((3 * q))p" "$TMP/samples" | cut -d' ' -f3 | sort -n | tail -n 1)
fds_q4=$(tail -n "$q" "$TMP/samples" | cut -d' ' -f3 | sort -n | tail -n 1)
echo "note soak: seconds=$SECS rate=$RATE/s records=$C samples=$n rss_kb(q3 median, q4 median, peak)=$rss_q3,$rss_q4,$peak" \
	"fds(q3 max, q4 max)=$fds_q3,$fds_q4 lost=$lost duplicates=$dups wall=$((SECONDS - t0))"
dropped=$(broker_dropped soak 16)
[ "$dropped" -eq 0 ] || echo "note soak: the broker dropped $dropped old messages (it keeps 5 MiB a partition): harmless once read, else a loss below is the test's sizing"
expect_eq "soak: every record archived (lost)" "$lost" 0
if [ "$rss_q4" -le $((rss_q3 * 6 / 5 + 16384)) ]; then ok "soak: RSS flat ($rss_q3 -> $rss_q4 kB)"; else fail "soak: RSS flat" "$rss_q3 -> $rss_q4 kB"; fi
if [ "$fds_q4" -le $((fds_q3 + 8)) ]; then ok "soak: open descriptors flat ($fds_q3 -> $fds_q4)"; else fail "soak: open descriptors flat" "$fds_q3 -> $fds_q4"; fi

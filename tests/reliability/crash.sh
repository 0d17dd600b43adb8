#!/usr/bin/env bash
# Crash: SIGKILL vigil run at random points while records stream in,
# restarting it each time. Afterwards every produced id is in the archive,
# vigil verify is clean after --repair, and the duplicates stay within one
# commit interval's worth per kill.
# Short: 100,000 records, 3 kills; SOAK=1: 1,000,000 records, 10 kills.
# CRASH_SEED picks the kill points (bash's RANDOM), so a run can be replayed.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.bash"
N=$(sized 100000 1000000)
KILLS=$([ "$SOAK" = 1 ] && echo 10 || echo 3)
# The broker keeps 5 MiB a partition: enough partitions to hold the stream.
PARTS=$([ "$SOAK" = 1 ] && echo 128 || echo 24)
# The stream lasts about as long as the kill cycles (the group waits out
# the dead member's session, the new one catches up, runs through a commit
# and is killed): about 10 s each for the short run, 20 s for the long one
# (its backlogs are larger; 40 s allowed: at 30 s a loaded machine made 9 of
# 10 kills before the stream ended), with some to spare. A busy machine
# makes the cycles longer still (2 kills of 3 in 53 s, 4 scripts side by
# side and sanitizer builds): the stream then goes on past N, with up to
# RESERVE more records, until the last kill. Kills stop at the stream's end
# (the report says how many were made; fewer than KILLS fails).
RATE=$((N / (KILLS * ($([ "$SOAK" = 1 ] && echo 40 || echo 12)) + 5)))
RESERVE=$(sized 100000 500000)
SEED=${CRASH_SEED:-$$}
RANDOM=$SEED
COMMIT_MS=1000 FLUSH_MS=1000
cat >"$TMP/crash.yaml" <<YAML
kafka:
  commit_interval: ${COMMIT_MS}ms
  properties: {$FAST_GROUP}
archive: {flush_ms: ${FLUSH_MS}ms}
YAML
start_broker --topic crash:$PARTS || exit 1
"$GEN" --count $((N + RESERVE)) --seed 81 >"$TMP/in.ndjson"
grep -ao '"event_id":"[^"]*"' "$TMP/in.ndjson" | cut -d'"' -f4 >"$TMP/in.order"
t0=$SECONDS
start_ns=$(date +%s%N)
# The stream: N records, then more of the reserve while kills are to come
# ($TMP/kills.done absent). The feeder writes how many it gave in
# $TMP/streamed.
mkfifo "$TMP/stream"
awk -v n="$N" -v done="$TMP/kills.done" -v out="$TMP/streamed" '
	NR > n && NR % 100 == 1 && system("test -e \"" done "\"") == 0 { exit }
	{ print; given = NR }
	END { print given + 0 >out }' "$TMP/in.ndjson" >"$TMP/stream" &
FEEDER=$!
PIDS+=($FEEDER)
"$VIGIL" produce --brokers "$BROKERS" --topic crash --rate "$RATE" "$TMP/stream" 2>"$TMP/produce.err" &
PRODUCER=$!
PIDS+=($PRODUCER)

# run NAME [--exit-at-end]: vigil run itself (exec: its pid is the one killed).
run() {
	local name=$1
	shift
	exec "$VIGIL" run --skew-behind 0s -c "$TMP/crash.yaml" --brokers "$BROKERS" --topic crash --group crash \
		--archive "$TMP/archive" --records "$TMP/$name.records" --http off "$@" 2>"$TMP/$name.err"
}
kills=0
for k in $(seq "$KILLS"); do
	(run "r$k") &
	RUN_PID=$!
	PIDS+=($RUN_PID)
	wait_for 60 grep -q '"partitions assigned".*"partitions":\["' "$TMP/r$k.err" 2>/dev/null ||
		fail "crash: run $k got partitions" "none in 60 s"
	# Caught up: it has processed a record produced after it started.
	i=$((($(date +%s%N) - start_ns) / 1000000 * RATE / 1000 + 1))
	[ "$i" -le $((N + RESERVE)) ] || i=$((N + RESERVE))
	id=$(sed -n "${i}p" "$TMP/in.order")
	wait_for 120 grep -qF "$id" "$TMP/r$k.records" || fail "crash: run $k caught up" "record $i not processed in 120 s"
	# The kill point: at random, once a flush and a commit are due since it
	# caught up (earlier, all it read since the restart is uncommitted: the
	# backlog of the outage is read again, however large).
	d=$((COMMIT_MS + FLUSH_MS + 500 + RANDOM % 2000))
	sleep "$(printf '%d.%03d' $((d / 1000)) $((d % 1000)))"
	if ! kill -0 "$PRODUCER" 2>/dev/null; then # the stream has ended: no more kills
		kill -TERM "$RUN_PID"
		wait "$RUN_PID" 2>/dev/null
		break
	fi
	kill -KILL "$RUN_PID"
	wait "$RUN_PID" 2>/dev/null
	kills=$((kills + 1))
done
touch "$TMP/kills.done"
wait "$FEEDER"
wait "$PRODUCER"
expect_eq "crash: producer delivered every record" "$?" 0
N=$(cat "$TMP/streamed" 2>/dev/null) || fail "crash: the stream's feeder ended" "without saying how many it gave"
head -n "$N" "$TMP/in.order" | sort >"$TMP/want"
(run final --exit-at-end)
expect_eq "crash: the last run exits 0 at the end" "$?" 0

"$VIGIL" verify "$TMP/archive" >"$TMP/v1" 2>"$TMP/v1.err"
expect_eq "crash: verify after the kills finds nothing corrupt" "$?" 0
"$VIGIL" verify --repair "$TMP/archive" >"$TMP/v2" 2>"$TMP/v2.err"
expect_eq "crash: verify --repair exits 0" "$?" 0
"$VIGIL" verify "$TMP/archive" >"$TMP/v3" 2>&1
check "crash: verify is clean after --repair" grep -q '^verify: clean$' "$TMP/v3"
check "crash: no .part file left" test -z "$(find "$TMP/archive" -name '*.part')"
"$VIGIL" cat "$TMP/archive" | event_ids >"$TMP/got"
lost=$(lost_ids "$TMP/want" "$TMP/got")
dups=$(($(lines "$TMP/got") - $(uniq "$TMP/got" | wc -l)))
# Records archived but not yet committed at a kill are read again. Offsets
# are committed every commit_interval; a frame is written at most flush_ms
# after its oldest record, and its offsets stored once its fsync is seen
# (1 s allowed for that and the commit's round trip): per kill, at most
# RATE x (commit + flush + 1 s). A run still catching up on some
# partitions reads faster than RATE, so this is the steady-state bound.
bound=$((kills * RATE * (COMMIT_MS + FLUSH_MS + 1000) / 1000))
echo "note crash: records=$N kills=$kills of $KILLS rate=$RATE/s lost=$lost" \
	"duplicates=$dups bound=$bound repaired=$(grep -c repaired "$TMP/v2.err") seed=$SEED seconds=$((SECONDS - t0))"
dropped=$(broker_dropped crash "$PARTS")
[ "$dropped" -eq 0 ] || echo "note crash: the broker dropped $dropped old messages (it keeps 5 MiB a partition): harmless once read, else a loss below is the test's sizing"
expect_eq "crash: every produced record is archived (lost)" "$lost" 0
if [ "$dups" -le "$bound" ]; then ok "crash: duplicates within the bound ($dups <= $bound)"; else fail "crash: duplicates within the bound" "$dups > $bound"; fi
expect_eq "crash: every kill hit a live stream" "$kills" "$KILLS"

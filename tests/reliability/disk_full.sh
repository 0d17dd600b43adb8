#!/usr/bin/env bash
# Disk full during the stream, as the writer sees it: RLIMIT_FSIZE (a soft
# limit, lifted with prlimit while vigil runs). While the archive cannot be
# written nothing may be committed that is not on disk, so a SIGKILL while
# full loses nothing; when space returns the pipeline resumes by itself.
#   run 1: under the limit until full, SIGKILLed while full;
#   run 2: under the limit until full, the limit lifted, recovers, SIGKILLed;
#   run 3: no limit, to the end of the stream.
# Every produced id must be in the archive afterwards.
# Short: 60,000 records; SOAK=1: 600,000.
# Known: while full, vigil reads on and holds what it reads in memory (RSS
# grows with the outage; see README, Reliability); rss_while_full_kb reports it.
# /ready says the archive is why while full, and is ready again after.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.bash"
N=$(sized 60000 600000)
RATE=$((N / 30))
# Small frames, so files pass the 64 KiB limit within the stream.
cat >"$TMP/full.yaml" <<YAML
archive: {flush_bytes: 64KiB, flush_ms: 200ms}
kafka:
  properties: {$FAST_GROUP}
YAML
# The broker keeps 5 MiB a partition: enough of them for the lag while full.
PARTS=$([ "$SOAK" = 1 ] && echo 64 || echo 16)
start_broker --topic full:$PARTS || exit 1
"$GEN" --count "$N" --seed 61 --truth "$TMP/in.tsv" >"$TMP/in.ndjson"
cut -f5 "$TMP/in.tsv" | sort >"$TMP/want"
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
		exec "$VIGIL" run -c "$TMP/full.yaml" --brokers "$BROKERS" --topic full --group full \
			--archive "$TMP/archive" --records "$TMP/$name.pipe" --http 127.0.0.1:0 "$@" 2>"$TMP/$name.err"
	) &
	RUN_PID=$!
	PIDS+=($RUN_PID)
}
# grows FILE BY: wait until FILE has BY more lines (vigil reads on while full).
grows() {
	local want=$(($(lines "$1") + $2))
	wait_for 60 at_least "$1" "$want"
}

full_run r1 64
wait_for 60 grep -q 'archive write failed' "$TMP/r1.err" 2>/dev/null
check "full: run 1 reports the write error" grep -q 'offsets are not committed until it recovers' "$TMP/r1.err"
# Full for a while: the stream moves on by a twentieth (whether vigil reads
# on meanwhile or pauses is not what this checks).
end0=$(broker_end full "$PARTS")
stream_moved() { [ "$(broker_end full "$PARTS")" -ge $((end0 + N / 20)) ]; }
check "full: the stream moves on while run 1 is full" wait_for 60 stream_moved
rss_full=$(rss_kb "$RUN_PID")
kill -KILL "$RUN_PID"
wait "$RUN_PID" 2>/dev/null
"$VIGIL" verify --repair "$TMP/archive" >/dev/null 2>&1
"$VIGIL" cat "$TMP/archive" | event_ids >"$TMP/after1"
full_run r2 64
wait_for 60 grep -q 'archive write failed' "$TMP/r2.err" 2>/dev/null
check "full: run 2 reports the write error" grep -q 'archive write failed' "$TMP/r2.err"
# ready CODE PATTERN: /ready of run 2 answers CODE with PATTERN in its JSON.
ready() {
	local addr body
	addr=$(grep -o '"msg":"http listening","address":"[^"]*"' "$TMP/r2.err" | cut -d'"' -f8)
	[ -n "$addr" ] || return 1
	body=$(curl -s -w ' %{http_code}' "http://$addr/ready") || return 1
	[ "${body##* }" = "$1" ] && grep -q "$2" <<<"$body"
}
check "full: /ready answers 503 with the archive as the reason" wait_for 30 ready 503 'not writable'
prlimit --pid "$RUN_PID" --fsize=unlimited:unlimited
wait_for 60 grep -q 'archive writable again' "$TMP/r2.err"
check "full: the archive recovers when space returns" grep -q 'archive writable again' "$TMP/r2.err"
check "full: /ready is ready again after the recovery" wait_for 60 ready 200 '"status":"ok"'
check "full: run 2 goes on after the recovery" grows "$TMP/r2.records" $((N / 20))
kill -KILL "$RUN_PID"
wait "$RUN_PID" 2>/dev/null
wait "$PRODUCER"
expect_eq "full: the producer delivered every record" "$?" 0
"$VIGIL" verify --repair "$TMP/archive" >/dev/null 2>&1
full_run r3 none --exit-at-end
wait "$RUN_PID"
expect_eq "full: run 3 exits 0 at the end" "$?" 0
"$VIGIL" verify "$TMP/archive" >"$TMP/verify" 2>&1
check "full: verify is clean" grep -q '^verify: clean$' "$TMP/verify"
"$VIGIL" cat "$TMP/archive" | event_ids >"$TMP/got"
lost=$(lost_ids "$TMP/want" "$TMP/got")
dups=$(($(lines "$TMP/got") - $(uniq "$TMP/got" | wc -l)))
echo "note full: records=$N rate=$RATE/s lost=$lost duplicates=$dups archived_before_kill_while_full=$(uniq "$TMP/after1" | wc -l)" \
	"read_by_run1=$(lines "$TMP/r1.records") rss_while_full_kb=$rss_full write_errors_run3=$(run_summary "$TMP/r3.err" write_errors)" \
	"seconds=$((SECONDS - t0))"
dropped=$(broker_dropped full "$PARTS")
[ "$dropped" -eq 0 ] || echo "note full: the broker dropped $dropped old messages (it keeps 5 MiB a partition): harmless once read, else a loss below is the test's sizing"
expect_eq "full: every produced record is archived (lost)" "$lost" 0

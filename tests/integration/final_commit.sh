#!/usr/bin/env bash
# The final commit at a stop (SIGTERM) refused by the broker: vigil run
# says so in an ERROR line and exits 3, and nothing is lost (nothing
# committed past the last commit that succeeded: the next start reads the
# rest again). A stop whose final commit is accepted exits 0.
# Issue 21 item 7: members whose final commit was refused by a rebalance
# exited 0 with a warning.
. "$(dirname "$0")/../lib.sh"
start_broker --topic fc:4 || exit 1
"$GEN" --count 4000 --seed 7 >"$TMP/all.ndjson"
head -n 2000 "$TMP/all.ndjson" >"$TMP/a.ndjson"
tail -n 2000 "$TMP/all.ndjson" >"$TMP/b.ndjson"
# A short session: each member below does not wait out the last one's.
printf 'kafka:\n  properties: {session.timeout.ms: "4000", heartbeat.interval.ms: "500"}\n' >"$TMP/fc.yaml"

# committed_sum ERRFILE: the sum of the offsets in vigil run's summary
# ("committed":{"fc/0":N,...}); empty when there is none.
committed_sum() { tail -n 1 "$1" | grep -o '"committed":{[^}]*}' | grep -o ':-\?[0-9]\+' | tr -d : | paste -sd+ | bc; }

# 1. Accepted: the first 2,000 records, all committed at the stop, exit 0.
"$VIGIL" produce --brokers "$BROKERS" --topic fc "$TMP/a.ndjson" 2>/dev/null
start_run ok -c "$TMP/fc.yaml" --topic fc --group g || fail "accepted: assignment" "none"
wait_for 60 at_least "$TMP/ok.records" 2000 || fail "accepted: processed" "$(lines "$TMP/ok.records") records"
stop_run
expect_eq "accepted: vigil run exits 0" "$RUN_STATUS" 0
expect_eq "accepted: everything committed" "$(committed_sum "$TMP/ok.err")" 2000

# 2. Refused: every OffsetCommit from now on refused (REBALANCE_IN_PROGRESS,
# as a group rebalancing answers); the next member processes 2,000 more
# records and is stopped.
broker_cmd "errors OffsetCommit 10000 REBALANCE_IN_PROGRESS" || fail "refused: errors injected" "broker refused"
start_run fc -c "$TMP/fc.yaml" --topic fc --group g || fail "refused: assignment" "none"
"$VIGIL" produce --brokers "$BROKERS" --topic fc "$TMP/b.ndjson" 2>/dev/null
wait_for 60 at_least "$TMP/fc.records" 2000 || fail "refused: processed" "$(lines "$TMP/fc.records") records"
stop_run
expect_eq "refused: vigil run exits 3" "$RUN_STATUS" 3
check "refused: an ERROR line says the final commit was lost" \
	grep -q '"level":"ERROR","component":"ingest","msg":"final commit lost to a rebalance' "$TMP/fc.err"
check "refused: the summary is still written" grep -q '"committed":{' "$TMP/fc.err"
expect_eq "refused: nothing committed past the first records" "$(committed_sum "$TMP/fc.err")" 2000

# 3. Nothing lost: the next start reads again every record the refused
# commit left uncommitted (its own final commit refused too: exit 3).
RUN_ARCHIVE=off start_run again -c "$TMP/fc.yaml" --topic fc --group g --exit-at-end || fail "restart: assignment" "none"
wait "$RUN_PID"
expect_eq "restart: exits 3 (its final commit refused too)" "$?" 3
expect_eq "restart: every record left uncommitted is read again (missing)" \
	"$(comm -23 <(ids "$TMP/b.ndjson") <(ids "$TMP/again.records") | wc -l)" 0
expect_eq "restart: none of the committed ones (read again)" "$(comm -12 <(ids "$TMP/a.ndjson") <(ids "$TMP/again.records") | wc -l)" 0

#!/usr/bin/env bash
# A member held stopped past its session (SIGSTOP, as a starved machine
# does) finds its partitions lost when it runs again: the group went on
# without it. It says so (nothing committed for them: the next owner reads
# from the last commit), joins again and goes on; nothing is lost.
. "$(dirname "$0")/../lib.sh"
start_broker --topic lost:4 || exit 1
printf 'kafka:\n  properties: {session.timeout.ms: "4000", heartbeat.interval.ms: "500"}\n' >"$TMP/g.yaml"
"$GEN" --count 4000 --seed 9 >"$TMP/all.ndjson"
head -n 2000 "$TMP/all.ndjson" >"$TMP/a.ndjson"
tail -n 2000 "$TMP/all.ndjson" >"$TMP/b.ndjson"
"$VIGIL" produce --brokers "$BROKERS" --topic lost "$TMP/a.ndjson" 2>/dev/null
start_run m -c "$TMP/g.yaml" --topic lost --group g || fail "lost: assignment" "none"
wait_for 60 at_least "$TMP/m.records" 2000 || fail "lost: processed" "$(lines "$TMP/m.records") records"
kill -STOP "$RUN_PID"
sleep 7 # the fault itself: stopped past the 4 s session
kill -CONT "$RUN_PID"
lost_said() { grep -q '"level":"WARNING","component":"ingest","msg":"partitions lost' "$TMP/m.err"; }
check "lost: a warning says the partitions were lost, not committed" wait_for 30 lost_said
assigned_again() { [ "$(grep -c '"partitions assigned".*"partitions":\["' "$TMP/m.err")" -ge 2 ]; }
check "lost: the member joins again and gets its partitions back" wait_for 60 assigned_again
"$VIGIL" produce --brokers "$BROKERS" --topic lost "$TMP/b.ndjson" 2>/dev/null
all() { [ "$(ids "$TMP/m.records" | uniq | wc -l)" -ge 4000 ]; }
check "lost: every record processed" wait_for 60 all
stop_run
expect_eq "lost: vigil run exits 0" "$RUN_STATUS" 0

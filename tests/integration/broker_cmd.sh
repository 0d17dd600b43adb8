#!/usr/bin/env bash
# vigil broker's command channel and lib.sh's broker_cmd: one answer per
# command, awaited however late it comes, the command never sent twice
# (an 'errors' command sent twice injects twice as many errors). A broker
# process held stopped for a moment stands for a busy machine: before the
# fix broker_cmd read the answer count once, missed an answer that came
# after that, waited 20 s and sent the command again.
. "$(dirname "$0")/../lib.sh"

start_broker --brokers 3 --topic faults:12 || exit 1
answers() { echo $(($(lines "$TMP/broker.out") - 1)); } # the first line is the bootstrap servers

# 1. An answer that comes 1 s late.
kill -STOP "$BROKER_PID"
(
	sleep 1
	kill -CONT "$BROKER_PID"
) &
resume=$!
t0=$SECONDS
broker_cmd "errors Fetch 3 NOT_LEADER_FOR_PARTITION" 2>"$TMP/late.notes"
expect_eq "late answer: broker_cmd succeeds" "$?" 0
check "late answer: awaited, not waited out (under 15 s)" test $((SECONDS - t0)) -lt 15
expect_eq "late answer: the command was sent once (answers)" "$(answers)" 1
check "late answer: no retry noted" test ! -s "$TMP/late.notes"
wait "$resume"

# 2. Many commands in a row, each answered once.
t0=$SECONDS
bad=0
for i in $(seq 0 99); do broker_cmd "leader faults $((i % 12)) $((i % 3 + 1))" || bad=$((bad + 1)); done
expect_eq "100 commands in a row: all ok" "$bad" 0
expect_eq "100 commands in a row: 100 more answers" "$(answers)" 101
echo "note broker_cmd: 100 commands in $((SECONDS - t0)) s"

# 3. A refused command fails at once with the broker's reason, sent once.
broker_cmd "leader faults 999 1" 2>"$TMP/refused.notes"
expect_eq "refused: broker_cmd fails" "$?" 1
check "refused: the broker's reason is noted" grep -q 'error: ' "$TMP/refused.notes"
expect_eq "refused: sent once (answers)" "$(answers)" 102

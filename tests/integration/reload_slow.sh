#!/usr/bin/env bash
# A slow reload does not stall ingest (vigil issue 21, item 2): the reload
# on SIGHUP runs on the closer's thread, never on the Kafka poller or a
# worker. The configuration file is a FIFO, so the reload waits, for as
# long as the test likes, in reading it; records produced meanwhile are
# processed all the same. Then the file comes, the reload is made, and
# every record is counted once.
. "$(dirname "$0")/../lib.sh"

start_broker --topic logs:2 || exit 1
printf 'notify:\n  outbox: {dir: %s}\n' "$TMP/outbox" >"$TMP/vigil.yaml"
mkfifo "$TMP/vigil.fifo"

# The start reads the configuration from the FIFO once.
cat "$TMP/vigil.yaml" >"$TMP/vigil.fifo" &
PIDS+=($!)
start_run r -c "$TMP/vigil.fifo" --group slowreload --workers 2 ||
	{ fail "run starts" "no partitions assigned: $(tail -n 3 "$TMP/r.err")"; exit 1; }

# The reload's writer: its open of the FIFO returns once the reload opens
# it to read (then it says so), and it writes only when released.
(
	exec >"$TMP/vigil.fifo"
	touch "$TMP/reload.reading"
	wait_for 300 test -e "$TMP/reload.release" && cat "$TMP/vigil.yaml"
) &
PIDS+=($!)
kill -HUP "$RUN_PID"
check "the reload is under way (reading the configuration)" wait_for 30 test -e "$TMP/reload.reading"

"$GEN" --count 5000 --seed 7 >"$TMP/batch.ndjson"
produced=$(lines "$TMP/batch.ndjson")
"$VIGIL" produce --brokers "$BROKERS" --topic logs "$TMP/batch.ndjson" 2>>"$TMP/produce.err"
check "records produced during the reload are processed while it waits" \
	wait_for 60 at_least "$TMP/r.records" "$produced"
check "... and the reload is still waiting" test ! -e "$TMP/reload.release"
if grep -q '"component":"reload"' "$TMP/r.err"; then
	fail "no reload result before the file comes" "$(grep '"component":"reload"' "$TMP/r.err")"
else
	ok "no reload result before the file comes"
fi

touch "$TMP/reload.release"
check "then the reload is made" wait_for 30 grep -q '"component":"reload","msg":"configuration reloaded"' "$TMP/r.err"
stop_run r
expect_eq "run exits 0" "$RUN_STATUS" 0
summary=$(tail -n 1 "$TMP/r.err")
records=$(printf '%s' "$summary" | grep -o '"records":[0-9]*' | head -n 1 | cut -d: -f2)
expect_eq "every record counted once" "$records" "$produced"
check "summary: the reload counted" grep -q '"reloads":{"ok":1,"failed":0}' <<<"$summary"

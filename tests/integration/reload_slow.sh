#!/usr/bin/env bash
# A slow reload does not stall ingest (vigil issue 21, item 2): the reload
# on SIGHUP runs on the closer's thread, never on the Kafka poller or a
# worker. The configuration file is a FIFO, so the reload waits, for as
# long as the test likes, in reading it; records produced meanwhile are
# processed all the same. Then the file comes, the reload is made, and
# every record is counted once.
. "$(dirname "$0")/../lib.sh"

start_broker --topic logs:2 || exit 1
# window_rows_at_least N: N rows written for closed windows.
window_rows_at_least() { [ "$(grep -c '"window_start"' "$TMP/r.windows" 2>/dev/null)" -ge "$1" ]; }
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

# 50 s of event time: windows to close while the reload waits.
"$GEN" --count 5000 --rate 100 --seed 7 >"$TMP/batch.ndjson"
produced=$(lines "$TMP/batch.ndjson")
"$VIGIL" produce --brokers "$BROKERS" --topic logs "$TMP/batch.ndjson" 2>>"$TMP/produce.err"
check "records produced during the reload are processed while it waits" \
	wait_for 60 at_least "$TMP/r.records" "$produced"
# The reload reads its files off the closer's thread too: windows close,
# their rows are written and the rules run while it waits.
check "windows close while the reload waits (3 or more rows of their records)" \
	wait_for 60 window_rows_at_least 3
check "... and the reload is still waiting" test ! -e "$TMP/reload.release"
if grep -q '"component":"reload"' "$TMP/r.err"; then
	fail "no reload result before the file comes" "$(grep '"component":"reload"' "$TMP/r.err")"
else
	ok "no reload result before the file comes"
fi

touch "$TMP/reload.release"
check "then the reload is made" wait_for 30 grep -q '"component":"reload","msg":"configuration reloaded"' "$TMP/r.err"
# A second reload that never gets its file (no writer: its open waits for
# ever) does not keep vigil run from stopping.
kill -HUP "$RUN_PID"
# fifo_open_waiting: a thread of vigil run waits in the FIFO's open for a
# writer (Linux: its wchan).
fifo_open_waiting() {
	local t
	for t in /proc/"$RUN_PID"/task/*; do
		[ "$(cat "$t/wchan" 2>/dev/null)" = wait_for_partner ] && return 0
	done
	return 1
}
check "the second reload waits for its file" wait_for 30 fifo_open_waiting
stop_run r
expect_eq "run exits 0" "$RUN_STATUS" 0
check "... and says the reload was not waited for" \
	grep -q '"msg":"a reload still reading its files is not waited for"' "$TMP/r.err"
summary=$(tail -n 1 "$TMP/r.err")
records=$(printf '%s' "$summary" | grep -o '"records":[0-9]*' | head -n 1 | cut -d: -f2)
expect_eq "every record counted once" "$records" "$produced"
check "summary: the reload counted" grep -q '"reloads":{"ok":1,"failed":0}' <<<"$summary"

#!/usr/bin/env bash
# vigil run's start-up and the stop signals (vigil issue 21, item 3).
# Absurd sizes are refused when the configuration is read, before anything
# slow (1M topics once spun in librdkafka's subscribe for 631 s, deaf to
# SIGTERM). From the configuration read on, SIGTERM and SIGINT ask for a
# graceful stop in every phase of start-up: a phase that comes back gives
# up the start (exit 0, "stopped during start-up"); one that does not is
# ended by the shutdown watchdog kafka.shutdown_timeout after the signal
# (exit 3, "graceful stop took longer than the shutdown timeout").
# No broker is needed: nothing here gets as far as consuming.
. "$(dirname "$0")/../lib.sh"

# ms since the epoch, for the time from a signal to the exit.
now_ms() { date +%s%3N; }

# 1. A 14 MB configuration (1M topics): refused at once, by vigil run and
# vigil config --check alike.
{
	printf 'kafka:\n  topics:\n'
	seq -f '    - t%07g' 1000000
} >"$TMP/huge.yaml"
t0=$(now_ms)
out=$(timeout 120 "$VIGIL" run -c "$TMP/huge.yaml" --brokers 127.0.0.1:1 --http off --archive off 2>&1)
rc=$?
expect_eq "1M topics: vigil run refuses the configuration (exit 1)" "$rc" 1
expect_eq "1M topics: said with the file" "$out" \
	"vigil: $TMP/huge.yaml: $(wc -c <"$TMP/huge.yaml") bytes; a configuration file is at most 1 MiB"
check "1M topics: refused within 10 s (was 631 s in subscribe)" test $(($(now_ms) - t0)) -le 10000
out=$("$VIGIL" config --check "$TMP/huge.yaml" 2>&1)
expect_eq "1M topics: config --check refuses it too" "$?" 1
# Under the size bound, the topics' own bound, at its line.
{
	printf 'kafka:\n  topics:\n'
	seq -f '    - t%g' 5000
} >"$TMP/many.yaml"
out=$(timeout 60 "$VIGIL" run -c "$TMP/many.yaml" --brokers 127.0.0.1:1 --http off --archive off 2>&1)
expect_eq "5000 topics: vigil run refuses them at their line" "$out" \
	"vigil: $TMP/many.yaml:3: kafka.topics: at most 4096 entries, got 5000"

# The processes below are vigil run started with 2 s to stop.
cat >"$TMP/base.yaml" <<YAML
kafka:
  shutdown_timeout: 2s
notify:
  outbox: {dir: $TMP/outbox}
YAML

# gone PID: the process has ended (a zombie until waited for counts).
gone() { ! kill -0 "$1" 2>/dev/null || [ "$(cut -d ' ' -f 3 "/proc/$1/stat" 2>/dev/null)" = Z ]; }

# blocked_in_open PID: the process's main thread waits in opening a FIFO
# for its other end.
blocked_in_open() { [ "$(cat "/proc/$1/wchan" 2>/dev/null)" = wait_for_partner ]; }

# signal_at_start NAME SIGNAL PHASE ARGS...: vigil run ARGS in the
# background; once its main thread waits on a FIFO of ARGS, SIGNAL; it
# must exit 0 within the shutdown timeout, saying it stopped in PHASE.
signal_at_start() {
	local name=$1 sig=$2 phase=$3 pid rc t0
	shift 3
	"$VIGIL" run -c "$TMP/base.yaml" --brokers 127.0.0.1:1 --http off --archive off "$@" 2>"$TMP/$name.err" &
	pid=$!
	PIDS+=($pid)
	check "$name: vigil run waits on its FIFO" wait_for 30 blocked_in_open "$pid"
	t0=$(now_ms)
	kill "-$sig" "$pid"
	if ! wait_for 20 gone "$pid"; then
		fail "$name: SIG$sig during start-up ends vigil run" "still running 20 s after it"
		kill -KILL "$pid"
	fi
	wait "$pid"
	rc=$?
	expect_eq "$name: SIG$sig during start-up is a stop (exit 0)" "$rc" 0
	check "$name: said, with the phase" grep -q "\"msg\":\"stopped during start-up\",\"phase\":\"$phase\"" "$TMP/$name.err"
	check "$name: within kafka.shutdown_timeout (2 s)" test $(($(now_ms) - t0)) -le 2000
}

# 2. A phase that waits and comes back on the signal: opening the
# --windows file, then the --records file (FIFOs wait for a reader).
mkfifo "$TMP/windows.fifo" "$TMP/records.fifo"
signal_at_start windows TERM --windows --windows "$TMP/windows.fifo"
signal_at_start records INT --records --records "$TMP/records.fifo"

# 3. A phase that does not come back on the signal: librdkafka's
# rd_kafka_new runs the Kerberos kinit command and waits for it (here
# one that reads a FIFO until the test closes it). The watchdog ends the
# process 2 s after the signal, whatever it is doing.
mkfifo "$TMP/kinit.fifo"
cat >"$TMP/kinit.yaml" <<YAML
kafka:
  shutdown_timeout: 2s
  properties:
    security.protocol: SASL_PLAINTEXT
    sasl.mechanisms: GSSAPI
    sasl.kerberos.kinit.cmd: "touch $TMP/kinit.started; cat $TMP/kinit.fifo >/dev/null"
notify:
  outbox: {dir: $TMP/outbox}
YAML
"$VIGIL" run -c "$TMP/kinit.yaml" --brokers 127.0.0.1:1 --http off --archive off 2>"$TMP/kinit.err" &
pid=$!
PIDS+=($pid)
check "kinit: vigil run waits in rd_kafka_new for its kinit command" wait_for 30 test -e "$TMP/kinit.started"
t0=$(now_ms)
kill -TERM "$pid"
if ! wait_for 20 gone "$pid"; then
	fail "kinit: SIGTERM ends vigil run" "still running 20 s after it"
	kill -KILL "$pid"
fi
wait "$pid"
rc=$?
elapsed=$(($(now_ms) - t0))
expect_eq "kinit: the watchdog ends it (exit 3)" "$rc" 3
check "kinit: said" grep -q '"msg":"graceful stop took longer than the shutdown timeout; exiting","timeout_ms":2000' "$TMP/kinit.err"
check "kinit: 2 s after the signal, not before (${elapsed} ms)" test "$elapsed" -ge 1900
check "kinit: and not much later (${elapsed} ms)" test "$elapsed" -le 6000
# The kinit command (vigil's grandchild) reads until the FIFO's writers
# are gone: open it read-write (which never waits), write, close.
exec 7<>"$TMP/kinit.fifo"
echo done >&7
exec 7>&-

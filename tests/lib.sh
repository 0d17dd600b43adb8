# Helpers for integration tests (sourced). Every check prints "ok NAME" or
# "FAIL NAME: why"; the runner counts them.
set -u
: "${VIGIL:?VIGIL must point at the vigil binary}"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GEN=${GEN:-$ROOT/bench/gen}
# KEEP_TMP=1 leaves the files of a run (logs, records) for a post-mortem.
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vigil-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

ok() { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; }

# check NAME COMMAND...: ok when the command succeeds.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else fail "$name" "command failed: $*"; fi
}

# expect_eq NAME GOT WANT
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "got '$2', want '$3'"; fi
}

# ---- processes a test starts: all stopped on exit ----------------------
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	exec 9>&- 2>/dev/null
	if [ -n "${KEEP_TMP:-}" ]; then echo "note KEEP_TMP: files left in $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

# http_address ERRFILE: the address a vigil run (its stderr in ERRFILE)
# logged it listens on (--http 127.0.0.1:0 picks a port).
http_address() { grep -o '"msg":"http listening","address":"[^"]*"' "$1" | head -n 1 | cut -d'"' -f8; }

# window_closed_start ERRFILE: the start (epoch s) of the last window that
# vigil run closed, from its /metrics gauge vigil_window_start_seconds;
# empty before the first. (A --windows file is no witness while vigil
# runs: rows are written in 1 MiB blocks.)
window_closed_start() {
	local v
	v=$(curl -sf "http://$(http_address "$1")/metrics" | grep '^vigil_window_start_seconds ' | cut -d ' ' -f 2)
	echo "${v%%.*}"
}

# window_closed_from ERRFILE EPOCH_S: that vigil run has closed a window
# starting at or after EPOCH_S.
window_closed_from() {
	local s
	s=$(window_closed_start "$1")
	[ -n "$s" ] && [ "$s" -ge "$2" ]
}

# wait_for SECONDS COMMAND...: poll the condition every 50 ms until it
# holds or SECONDS of wall time have passed (however slow the check).
# The arguments are expanded once, at the call: a condition that reads
# something (wc -l, a metric) goes in a function, never in a "$(...)"
# argument, which would compare the same value every time.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	while [ "$SECONDS" -lt "$deadline" ]; do
		"$@" && return 0
		sleep 0.05
	done
	"$@"
}

# listening_pid PORT PID: PID listens on 127.0.0.1:PORT (scripts run
# side by side: a port answering may be another script's).
listening_pid() { ss -Hltnp "sport = :$1" 2>/dev/null | grep -q "pid=$2,"; }
port_in_use() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# free_port: a port nothing listens on, from 20000-32767: below Linux's
# ephemeral range, so no outgoing connection takes it meanwhile.
free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 12768))
		port_in_use "$p" || { echo "$p"; return 0; }
	done
	return 1
}

# am_ready: our Alertmanager answers /-/ready on AM_PORT.
am_ready() { listening_pid "$AM_PORT" "$AM_PID" && curl -sf "http://127.0.0.1:$AM_PORT/-/ready" -o /dev/null; }

# start_am: Debian's Alertmanager on 127.0.0.1:$AM_PORT with $TMP/am.yml,
# storage in $TMP/am, log in $TMP/am.log, no gossip; its pid in AM_PID.
# Without AM_PORT it takes a free port (free_port), and another if that
# one is taken meanwhile (5 tries); a port already named (a restart, a
# port in vigil's config) is tried alone. Ready once this process listens
# there and answers.
start_am() {
	local try deadline chosen=${AM_PORT:-}
	for try in 1 2 3 4 5; do
		[ -n "$chosen" ] || AM_PORT=$(free_port) || return 1
		prometheus-alertmanager --config.file="$TMP/am.yml" --storage.path="$TMP/am" \
			--web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= --log.level=warn \
			>>"$TMP/am.log" 2>&1 8>&- 9>&- &
		AM_PID=$!
		PIDS+=($AM_PID)
		deadline=$((SECONDS + 20))
		# (not wait_for: an Alertmanager that could not bind exits at once)
		while ! am_ready && kill -0 "$AM_PID" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
			sleep 0.05
		done
		am_ready && return 0
		kill "$AM_PID" 2>/dev/null
		wait "$AM_PID" 2>/dev/null
		[ -z "$chosen" ] || return 1
	done
	return 1
}

# start_broker ARGS...: the embedded broker, controlled through fd 9;
# sets BROKERS to its bootstrap servers and BROKER_PID.
start_broker() {
	mkfifo "$TMP/broker.in"
	"${BROKER_VIGIL:-$VIGIL}" broker "$@" <"$TMP/broker.in" >"$TMP/broker.out" 2>"$TMP/broker.err" &
	BROKER_PID=$!
	PIDS+=($BROKER_PID)
	exec 9>"$TMP/broker.in"
	wait_for 10 test -s "$TMP/broker.out" || { echo "FAIL broker: did not start"; return 1; }
	BROKERS=$(head -n 1 "$TMP/broker.out")
}

# broker_answered N: the broker has written more than N lines (its
# bootstrap line, then one answer per command).
broker_answered() { [ "$(wc -l <"$TMP/broker.out")" -gt "$1" ]; }

# broker_cmd LINE: send a fault-injection command once and wait for its
# answer (the line after those already there); succeeds when it is "ok".
# Sent once: commands are not idempotent ('errors' adds errors). The answer
# takes a millisecond or so; 60 s is for a machine too busy to run the
# broker at all. On failure, say what the broker answered.
broker_cmd() {
	local before answer
	before=$(wc -l <"$TMP/broker.out")
	echo "$1" >&9
	if wait_for 60 broker_answered "$before"; then
		answer=$(sed -n "$((before + 1))p" "$TMP/broker.out")
		[ "$answer" = ok ] && return 0
	else
		answer="(no answer in 60 s)"
	fi
	echo "note broker '$1': $answer" >&2
	return 1
}

# broker_dropped TOPIC PARTITIONS: how many messages the embedded broker
# dropped from the topic's heads (it keeps 5 MiB a partition): a loss that
# is the test's sizing, not vigil's. 0 when it kept everything.
broker_dropped() {
	local args=() p
	for p in $(seq 0 $(($2 - 1))); do args+=(-t "$1:$p:-2"); done
	kcat -Q -b "$BROKERS" "${args[@]}" 2>/dev/null | awk '{ n += $NF } END { print n + 0 }'
}

# broker_end TOPIC PARTITIONS: messages in the topic so far (sum of the
# partitions' end offsets).
broker_end() {
	local args=() p
	for p in $(seq 0 $(($2 - 1))); do args+=(-t "$1:$p:-1"); done
	kcat -Q -b "$BROKERS" "${args[@]}" 2>/dev/null | awk '{ n += $NF } END { print n + 0 }'
}

# ---- vigil run against the broker ---------------------------------------

# The tests' generated corpus (bench/gen's default start, 2026-11-01) is a
# backfill when produced today: older than aggregate.skew_behind's default
# (7d), so its records would count at their Kafka time. The tests that
# replay it run vigil with --skew-behind 0s (start_run does, unless
# RUN_SKEW_BEHIND is set, e.g. empty for the configured bound); the skew
# guard's defaults are tested with recent records (backlog.sh).
#
# start_run NAME ARGS...: vigil run in the background (its files are
# $TMP/NAME.*; RUN_ARCHIVE=off runs it without the archive, RUN_RECORDS
# names another --records file), waiting until it has partitions; its pid
# in RUN_PID. Without HTTP endpoints unless ARGS name an address (--http
# 127.0.0.1:0; the last --http wins): the default address, 127.0.0.1:9187,
# is one for the whole host, and the scripts run side by side.
start_run() {
	local name=$1
	shift
	"$VIGIL" run ${RUN_SKEW_BEHIND---skew-behind 0s} --brokers "$BROKERS" --http off "$@" --records "${RUN_RECORDS:-$TMP/$name.records}" --windows "$TMP/$name.windows" \
		--archive "${RUN_ARCHIVE:-$TMP/$name.archive}" 2>"$TMP/$name.err" &
	RUN_PID=$!
	PIDS+=($RUN_PID)
	wait_for 30 grep -q 'partitions assigned' "$TMP/$name.err"
}

# stop_run NAME: SIGTERM, wait for the exit; its status in RUN_STATUS and
# the seconds it took in RUN_SECS.
stop_run() {
	local t0=$SECONDS
	kill -TERM "$RUN_PID"
	wait "$RUN_PID"
	RUN_STATUS=$?
	RUN_SECS=$((SECONDS - t0))
}

# lines FILE: its line count (0 when missing).
lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
at_least() { [ "$(lines "$1")" -ge "$2" ]; }

# kcat producing NDJSON lines as messages, spread over the partitions.
produce() { kcat -P -b "$BROKERS" -t "$1" -X sticky.partitioning.linger.ms=0 -X partitioner=random -l "$2"; }

# Event ids in a records file, sorted.
ids() { grep -o '"event_id":"[^"]*"' "$@" | cut -d'"' -f4 | sort; }

# ---- summaries and window rows (backlog.sh, event_time.sh) --------------

# summary_num FILE KEY: a top-level number of the summary, the one JSON
# object vigil prints last on standard error (FILE's last line); empty when
# absent.
summary_num() { tail -n 1 "$1" | grep -o "\"$2\":[0-9]*" | head -n 1 | cut -d: -f2; }

# summary_sub FILE OBJECT KEY: a number inside one of the summary's
# objects, e.g. summary_sub FILE skewed ahead.
summary_sub() { tail -n 1 "$1" | grep -o "\"$2\":{[^}]*}" | head -n 1 | grep -o "\"$3\":[0-9]*" | cut -d: -f2; }

# level_total FILE...: the records the window rows of FILEs count (their
# level rows count each aggregated record once).
level_total() {
	local s
	s=$(grep -h '^{"window_start".*"level":"' "$@" | sed 's/.*"count":\([0-9]*\)}$/\1/' | paste -sd+)
	echo $((${s:-0}))
}

# rows_norm FILE: FILE's window rows as lines KEY<TAB>COUNTS<TAB>QUANTILES,
# sorted: KEY the window and the row's key fields, COUNTS its count (and
# 4xx, 5xx), QUANTILES its p50 p95 p99 max ("-" for rows without). The
# error rate, derived from the counts, is left out.
rows_norm() {
	grep '^{"window_start"' "$1" | sed -E \
		-e 's/,"error_rate":[^,}]*//' \
		-e 's/,"count":([0-9]+),"errors_4xx":([0-9]+),"errors_5xx":([0-9]+),"p50":([^,]*),"p95":([^,]*),"p99":([^,]*),"max":([^,}]*)\}$/}\t\1 \2 \3\t\4 \5 \6 \7/' \
		-e 's/,"count":([0-9]+)\}$/}\t\1\t-/' | LC_ALL=C sort
}

# rows_match NAME GOT WANT: the window rows of GOT are WANT's: the same
# windows and keys with identical counts, 4xx and 5xx; quantiles and max
# within 1% (relative; awk does that arithmetic, only when they differ).
rows_match() {
	local g="$TMP/rows_match.got" w="$TMP/rows_match.want" bad
	rows_norm "$2" >"$g"
	rows_norm "$3" >"$w"
	if [ ! -s "$w" ]; then
		fail "$1" "no rows to compare with in $3"
		return
	fi
	if ! cmp -s <(cut -f 1,2 "$g") <(cut -f 1,2 "$w"); then
		fail "$1" "$(wc -l <"$g") rows, want $(wc -l <"$w"); $(diff <(cut -f 1,2 "$g") <(cut -f 1,2 "$w") | grep -c '^[<>]') differ in key or counts (< got, > want): $(diff <(cut -f 1,2 "$g") <(cut -f 1,2 "$w") | grep -m 4 '^[<>]' | tr '\t\n' '  ')"
		return
	fi
	if cmp -s <(cut -f 3 "$g") <(cut -f 3 "$w"); then
		ok "$1"
		return
	fi
	bad=$(paste <(cut -f 3 "$g") <(cut -f 3 "$w") | awk -F '\t' '{
		n = split($1, a, " "); split($2, b, " ")
		for (i = 1; i <= n; i++) {
			d = a[i] - b[i]; m = b[i]
			if (d < 0) d = -d
			if (m < 0) m = -m
			if (d > 0.01 * m + 1e-9) { bad++; break }
		}
	} END { print bad + 0 }')
	if [ "$bad" -eq 0 ]; then ok "$1"; else fail "$1" "$bad rows with a quantile off by more than 1%"; fi
}

# iso_time EPOCH_S: the time as vigil writes window bounds.
iso_time() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%S.000Z; }

# max_window_end FILE: the latest window_end of FILE's rows (empty if none).
max_window_end() { grep -o '"window_end":"[^"]*"' "$1" 2>/dev/null | cut -d'"' -f4 | LC_ALL=C sort | tail -n 1; }

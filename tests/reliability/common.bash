# Helpers for the reliability scenarios (sourced after tests/lib.sh; the
# .bash suffix keeps it out of the runners' *.sh globs).
#
# Every scenario has a short version (make test, via run-integration.sh)
# and a long one (SOAK=1, make soak). RELIABILITY_SCALE=K divides the short
# record counts by K (make san sets it: the sanitizers are slower). Each
# scenario prints one "note NAME: figures" line, and FAIL lines when
# anything is lost.
SOAK=${SOAK:-0}
RELIABILITY_SCALE=${RELIABILITY_SCALE:-1}

# sized SHORT LONG: the record count for this run.
sized() { if [ "$SOAK" = 1 ]; then echo "$2"; else echo $(($1 / RELIABILITY_SCALE)); fi; }

# Event ids in NDJSON files (or standard input), sorted, duplicates kept.
event_ids() { grep -ao '"event_id":"[^"]*"' "$@" | cut -d'"' -f4 | sort; }

# lost WANT GOT: ids in the sorted file WANT missing from the sorted file GOT.
lost_ids() { comm -23 <(uniq "$1") <(uniq "$2") | wc -l; }

# Short group timeouts, so that a killed member's partitions move quickly
# (the embedded broker waits session.timeout.ms - 1 s for rejoins).
FAST_GROUP='session.timeout.ms: "4000", heartbeat.interval.ms: "500"'

# peak_rss_kb PID: VmHWM of a live process (kB), 0 when it is gone.
peak_rss_kb() { awk '/^VmHWM:/ { print $2; f = 1 } END { if (!f) print 0 }' "/proc/$1/status" 2>/dev/null || echo 0; }
rss_kb() { awk '/^VmRSS:/ { print $2; f = 1 } END { if (!f) print 0 }' "/proc/$1/status" 2>/dev/null || echo 0; }
open_fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

# http NAME PATH: a page of run NAME's HTTP server (started with --http
# 127.0.0.1:0, its address read from $TMP/NAME.err), " CODE" appended.
http() {
	local addr
	addr=$(grep -o '"msg":"http listening","address":"[^"]*"' "$TMP/$1.err" | cut -d'"' -f8)
	[ -n "$addr" ] || return 1
	curl -s -w ' %{http_code}' "http://$addr$2"
}
# metric NAME FAMILY: run NAME's metric, summed over its labels.
metric() { http "$1" /metrics | awk -v f="$2" '$1 == f || index($1, f "{") == 1 { n += $2 } END { print n + 0 }'; }

# run_summary ERRFILE KEY: a number from vigil run's closing JSON summary.
run_summary() { tail -n 1 "$1" | grep -o "\"$2\":[0-9]*" | head -n 1 | cut -d: -f2; }

# RELIABILITY_KEEP=DIR: copy the scenario's files there on exit (debugging).
if [ -n "${RELIABILITY_KEEP:-}" ]; then
	trap 'mkdir -p "$RELIABILITY_KEEP" && cp -r "$TMP"/. "$RELIABILITY_KEEP"/ 2>/dev/null; cleanup' EXIT
fi

# broker_dropped and broker_end are in tests/lib.sh.

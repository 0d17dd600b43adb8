#!/usr/bin/env bash
# A total log outage in vigil run, by the clock (issue 19, finding 1): two
# services log a few records stamped now, then nothing comes at all. Once
# the partitions have been quiet for idle_timeout, the clock moves the
# watermark on and windows keep closing, empty (/metrics'
# vigil_window_start_seconds keeps advancing); the absent rules fire for
# each service and once for the pipeline (by: []). Records from one
# service again resolve its alert and the pipeline's (annotated
# recovered); the other service's stays firing. Short windows from a test
# rules file; every wait is on a condition.
. "$(dirname "$0")/../lib.sh"

start_broker --topic logs:2 || exit 0
cat >"$TMP/rules.yaml" <<'YAML'
groups:
  - name: t
    rules:
      - alert: Silent
        absent: {window: 4s}
        labels: {severity: P2}
      - alert: NoRecords
        absent: {window: 4s}
        by: []
        labels: {severity: P1}
YAML
cat >"$TMP/vigil.yaml" <<YAML
aggregate: {window: 1s, lateness: 0s, idle_timeout: 2s}
rules: {files: [$TMP/rules.yaml]}
notify: {outbox: {dir: $TMP/outbox}}
YAML

# now_records SERVICE...: 20 records of each SERVICE stamped over the last
# second, produced to the logs topic.
now_records() {
	local svc
	for svc in "$@"; do
		awk -v now="$(date +%s%3N)" -v svc="$svc" 'BEGIN {
			for (i = 19; i >= 0; i--)
				printf "{\"ts\":%.3f,\"service\":\"%s\",\"level\":\"INFO\",\"message\":\"x\"}\n", (now - i * 50) / 1000, svc
		}'
	done >"$TMP/batch"
	produce logs "$TMP/batch" 2>>"$TMP/kcat.err" || fail "produce" "kcat: $(tail -n 1 "$TMP/kcat.err")"
}

# The start (epoch s) of the last window closed, from /metrics; has one
# starting at or after EPOCH_S closed?
closed_start() { window_closed_start "$TMP/live.err"; }
closed_from() { window_closed_from "$TMP/live.err" "$1"; }
# state_of NAME SERVICE: the last state of alert NAME for SERVICE ("-": no
# service label), or "none".
state_of() {
	local sel
	if [ "$2" = - ]; then sel='"labels":{"alertname":"'$1'","severity":"[^"]*"}'; else sel='"service":"'$2'"'; fi
	local s
	s=$(grep "\"alertname\":\"$1\"" "$TMP/alerts.ndjson" 2>/dev/null | grep -- "$sel" | tail -n 1 |
		grep -o '"state":"[a-z]*"' | cut -d'"' -f4)
	echo "${s:-none}"
}
is_state() { [ "$(state_of "$1" "$2")" = "$3" ]; }

RUN_ARCHIVE=off start_run live -c "$TMP/vigil.yaml" --topic logs --group outage --workers 1 --http 127.0.0.1:0 \
	--alerts "$TMP/alerts.ndjson" || fail "vigil run" "no assignment: $(tail -n 3 "$TMP/live.err")"

t0=$(date +%s)
now_records shop auth
wait_for 30 closed_from "$t0" || fail "the window of the records closes" "last closed: $(closed_start)"
first=$(closed_start)
# Nothing more is produced from here on.
wait_for 60 is_state NoRecords - firing
expect_eq "no record at all: NoRecords fires (by the clock)" "$(state_of NoRecords -)" firing
wait_for 10 is_state Silent auth firing
expect_eq "Silent fires for shop" "$(state_of Silent shop)" firing
expect_eq "Silent fires for auth" "$(state_of Silent auth)" firing
wait_for 20 closed_from $((${first:-0} + 8))
check "windows keep closing by the clock, empty (from $first to $(closed_start))" closed_from $((${first:-0} + 8))
check "the windows file has rows of the records' windows only" \
	test "$(grep -c '"window_start"' "$TMP/live.windows")" -le 8

# shop logs again: its alert and the pipeline's resolve, as recovered.
now_records shop
wait_for 30 is_state Silent shop resolved
expect_eq "shop's first record resolves its Silent" "$(state_of Silent shop)" resolved
wait_for 10 is_state NoRecords - resolved
expect_eq "and NoRecords" "$(state_of NoRecords -)" resolved
check "annotated resolution: recovered" \
	grep -q '"alertname":"NoRecords","state":"resolved".*"resolution":"recovered"' "$TMP/alerts.ndjson"
expect_eq "auth, still silent, stays firing" "$(state_of Silent auth)" firing

stop_run live
expect_eq "vigil run exits 0 on SIGTERM" "$RUN_STATUS" 0

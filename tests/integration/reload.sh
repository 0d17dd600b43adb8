#!/usr/bin/env bash
# SIGHUP on vigil run: the configuration file and its rule files are read
# again. A valid change applies (logged, a new rule fires on later
# windows); an invalid one is refused with its file and line, the running
# configuration stays, and the run goes on. Across both, every produced
# record is counted exactly once.
. "$(dirname "$0")/../lib.sh"

start_broker --topic logs:4 || exit 1

# Before: one rule that never fires. After: a rule that fires on every
# closed window that has records.
cat >"$TMP/rules.yaml" <<'YAML'
groups:
  - name: t
    rules:
      - alert: BeforeReload
        count: {window: 10s, above: 1000000000}
        labels: {severity: P4}
YAML
printf 'rules:\n  files: [%s]\nnotify:\n  outbox: {dir: %s}\n  catch_up: 0s\n' "$TMP/rules.yaml" "$TMP/outbox" >"$TMP/vigil.yaml"

# Batches of generated records, each later in event time than the last
# (bench/gen writes about 1000 per second of event time).
start=1793491200000
produced=0
# send COUNT SEED [RATE]: with a rate, in the background (PRODUCER_PID).
send() {
	"$GEN" --count "$1" --seed "$2" --start "$start" >"$TMP/batch$2.ndjson"
	start=$((start + $1 + 20000))
	produced=$((produced + $(lines "$TMP/batch$2.ndjson")))
	if [ $# -gt 2 ]; then
		"$VIGIL" produce --brokers "$BROKERS" --topic logs --rate "$3" "$TMP/batch$2.ndjson" 2>>"$TMP/produce.err" &
		PRODUCER_PID=$!
		PIDS+=($PRODUCER_PID)
	else
		"$VIGIL" produce --brokers "$BROKERS" --topic logs "$TMP/batch$2.ndjson" 2>>"$TMP/produce.err"
	fi
}

start_run r -c "$TMP/vigil.yaml" --group reload --workers 2 --alerts "$TMP/alerts.ndjson" ||
	{ fail "run starts" "no partitions assigned: $(tail -n 3 "$TMP/r.err")"; exit 1; }
send 20000 1
check "the first batch is processed" wait_for 60 at_least "$TMP/r.records" "$produced"

# A valid change: a second rule.
cat >>"$TMP/rules.yaml" <<'YAML'
      - alert: AfterReload
        count: {window: 10s, above: 0}
        labels: {severity: P4}
YAML
# And retention: access records are kept 7 days from now on.
cat >>"$TMP/vigil.yaml" <<'YAML'
retention:
  policy:
    - {category: access, days: 7}
    - {category: security, days: 365}
  default_days: 90
log: {level: warning}
YAML
# While records flow: a batch of 30000 over about 3 s, the signal once
# some of it is processed.
send 30000 2 10000
wait_for 30 at_least "$TMP/r.records" $((produced - 25000))
kill -HUP "$RUN_PID"
check "valid change: logged as reloaded" wait_for 30 grep -q '"component":"reload","msg":"configuration reloaded".*"rules":2' "$TMP/r.err"
wait "$PRODUCER_PID"
expect_eq "the batch during the reload is produced" "$?" 0
check "valid change: the new rule fires on later windows" \
	wait_for 60 grep -q '"alertname":"AfterReload"' "$TMP/alerts.ndjson"

# An invalid change: refused with file and line; the old rules stay.
cat >"$TMP/rules.yaml" <<'YAML'
groups:
  - name: t
    rules:
      - alert: Broken
        count: {window: 10s, above: lots}
YAML
kill -HUP "$RUN_PID"
check "invalid change: the error names file and line" \
	wait_for 30 grep -q "\"component\":\"reload\",\"msg\":\"configuration reload failed.*$TMP/rules.yaml:5: " "$TMP/r.err"
kill -0 "$RUN_PID" 2>/dev/null
expect_eq "invalid change: the run goes on" "$?" 0
# A configuration that cannot be read at all is refused too.
printf 'rules:\n  files: [%s]\n  bogus: 1\n' "$TMP/rules.yaml" >"$TMP/vigil.yaml"
kill -HUP "$RUN_PID"
check "invalid configuration file: refused with file and line" \
	wait_for 30 grep -q "configuration reload failed.*$TMP/vigil.yaml:3: " "$TMP/r.err"
send 20000 3
check "the last batch is processed" wait_for 60 at_least "$TMP/r.records" "$produced"
stop_run r
expect_eq "run exits 0 after reloads" "$RUN_STATUS" 0
# log.level: warning from the reload on (the stop's "partitions revoked"
# line is at info).
expect_eq "log.level reloaded: no info line after the reload" \
	"$(sed -n '/"msg":"configuration reloaded"/,$p' "$TMP/r.err" | grep -c '"level":"INFO"')" 1

summary=$(tail -n 1 "$TMP/r.err")
records=$(printf '%s' "$summary" | grep -o '"records":[0-9]*' | head -n 1 | cut -d: -f2)
expect_eq "every produced record counted exactly once (records == produced)" "$records" "$produced"
expect_eq "records file: no record twice" "$(ids "$TMP/r.records" | uniq -d | wc -l)" 0
check "summary: the rules of the last good reload" grep -q '"rules":2,' <<<"$summary"
check "summary: reloads counted" grep -q '"reloads":{"ok":1,"failed":2}' <<<"$summary"
check "retention before the reload: access records kept 90 days" test -d "$TMP/r.archive/90d/access"
check "retention after the reload: access records kept 7 days" test -d "$TMP/r.archive/7d/access"
"$VIGIL" verify "$TMP/r.archive" >/dev/null 2>&1
expect_eq "the archive across reloads verifies" "$?" 0

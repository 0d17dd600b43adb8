#!/usr/bin/env bash
# Silence in event time (issue 19, findings 1 and 2), with the shipped
# rules: a 2-hour generated stream (every 20th record kept) in which every
# service stops between minute 20 and 30 (a total log outage), and
# notifications stops for good at minute 40.
#
# - Windows close whether or not they hold records: the stream runs from
#   00:00:00 to 02:00:00.67, 721 base windows of 10 s, and the summary
#   counts 721 (661 before: the 60 empty ones of the outage were skipped).
# - The outage fires ServiceSilent for each service and NoRecords, at
#   00:25:00 (the 5m window [20m, 25m) is the first empty one), and each
#   resolves on the first window holding records again (00:30:10).
# - notifications stays silent: ServiceSilent stays firing to the end
#   (80 minutes after its last record), never resolved; with a short
#   forget_after (30m) it resolves at 01:10:00, annotated as forgotten.
. "$(dirname "$0")/../lib.sh"

services="auth-service db-proxy inventory notifications orders payments search user-service web-frontend"
incidents=()
for s in $services; do incidents+=(--incident "silent:$s@20m+10m"); done
"$GEN" --count 7200000 --seed 3 "${incidents[@]}" --incident silent:notifications@40m+90m |
	awk 'NR % 20 == 1' >"$TMP/s.ndjson"

# changes FILE NAME SERVICE: "AT STATE" per change of alert NAME (SERVICE
# "-": the instance without a service label), on one line; the re-sends of
# an escalation (labelled escalation="L2") are left out: escalation is
# not what this test is about.
changes() {
	local sel
	if [ "$3" = - ]; then sel='"labels":{"alertname":"'$2'","severity":"[^"]*"}'; else sel='"service":"'$3'"'; fi
	grep "\"alertname\":\"$2\"" "$1" | grep -- "$sel" | grep -v '"escalation":"L2"' | sed -E 's/^\{"at":"[^T]*T([^.]*)\.[0-9]*Z".*"state":"([a-z]*)".*/\1 \2/' |
		tr '\n' ' ' | sed 's/ $//'
}

for threads in 1 2; do
	t="threads $threads"
	"$VIGIL" aggregate --quiet --threads "$threads" --alerts "$TMP/a$threads.alerts" "$TMP/s.ndjson" 2>"$TMP/a$threads.err"
	expect_eq "$t: aggregate exits 0" "$?" 0
	expect_eq "$t: every 10 s window of the 2 hours closes, empty or not" "$(summary_num "$TMP/a$threads.err" windows)" 721
	f=$TMP/a$threads.alerts
	for s in $services; do
		[ "$s" = notifications ] && continue
		expect_eq "$t: outage: ServiceSilent fires for $s at 25m, resolves on its first record" \
			"$(changes "$f" ServiceSilent "$s")" "00:25:00 firing 00:30:10 resolved"
	done
	expect_eq "$t: outage: NoRecords fires at 25m, resolves on the first record" \
		"$(changes "$f" NoRecords -)" "00:25:00 firing 00:30:10 resolved"
	expect_eq "$t: notifications stopped for good: ServiceSilent stays firing (no resolve while silent)" \
		"$(changes "$f" ServiceSilent notifications)" "00:25:00 firing 00:30:10 resolved 00:45:00 firing"
	check "$t: resolved on a record says so (annotation resolution: recovered)" \
		grep -q '"alertname":"NoRecords","state":"resolved".*"annotations":{[^}]*"resolution":"recovered"' "$f"
done
check "threads 1 and 2: the same alert changes" cmp -s "$TMP/a1.alerts" "$TMP/a2.alerts"

# vigil replay: the same pipeline, alert changes on standard output.
"$VIGIL" replay "$TMP/s.ndjson" >"$TMP/replay.out" 2>"$TMP/replay.err"
expect_eq "replay: exits 0" "$?" 0
expect_eq "replay: the outage's NoRecords" "$(changes "$TMP/replay.out" NoRecords -)" "00:25:00 firing 00:30:10 resolved"
expect_eq "replay: notifications stays firing" \
	"$(changes "$TMP/replay.out" ServiceSilent notifications)" "00:25:00 firing 00:30:10 resolved 00:45:00 firing"

# A short forget_after: the silent service is forgotten 30m after the end
# of its last record's window (00:40:00), and its alert says so.
cat >"$TMP/rules.yaml" <<'YAML'
groups:
  - name: t
    rules:
      - alert: ServiceSilent
        absent: {window: 5m, forget_after: 30m}
        labels: {severity: P2}
YAML
printf 'rules:\n  files: [%s]\n' "$TMP/rules.yaml" >"$TMP/forget.yaml"
"$VIGIL" aggregate -c "$TMP/forget.yaml" --quiet --alerts "$TMP/forget.alerts" "$TMP/s.ndjson" 2>"$TMP/forget.err"
expect_eq "forget_after 30m: aggregate exits 0" "$?" 0
expect_eq "forget_after 30m: notifications resolves when forgotten" \
	"$(changes "$TMP/forget.alerts" ServiceSilent notifications)" "00:25:00 firing 00:30:10 resolved 00:45:00 firing 01:10:00 resolved"
check "forget_after 30m: ... annotated resolution: forgotten" \
	grep -q '"at":"2026-11-01T01:10:00.000Z","alertname":"ServiceSilent","state":"resolved".*"resolution":"forgotten"' \
	"$TMP/forget.alerts"

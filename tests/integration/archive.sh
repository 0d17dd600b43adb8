#!/usr/bin/env bash
# The archive end to end: vigil run writes it from the embedded broker;
# vigil cat, verify, prune and stats read it back; the stock zstdcat agrees.
# Then a SIGKILL mid-stream and a file-size limit (a full disk as the
# writer sees it): nothing produced is missing from the archive afterwards.
. "$(dirname "$0")/../lib.sh"
N=${ARCHIVE_RECORDS:-1000000}
# The broker keeps only the last 5 MiB per partition (older records are
# gone, and a consumer behind them skips ahead): enough partitions that
# each stream stays far under it, so it can be produced up front.
start_broker --topic rt:128 --topic crash:48 --topic full:24 --topic lc:1 || exit 1
# Short group timeouts so a killed member's partitions move quickly.
cat >"$TMP/fast.yaml" <<'YAML'
kafka:
  properties: {session.timeout.ms: "6000", heartbeat.interval.ms: "500"}
YAML

# ---- 1. round trip ----------------------------------------------------------
"$GEN" --count "$N" --seed 51 --truth "$TMP/rt.tsv" >"$TMP/rt.ndjson"
printf '%s\n' 'not json' '{"unterminated":' '[1,2]' >"$TMP/rt.bad"
produce rt "$TMP/rt.ndjson"
produce rt "$TMP/rt.bad"
t0=$SECONDS
"$VIGIL" run --skew-behind 0s --brokers "$BROKERS" --topic rt --group rt --exit-at-end --archive "$TMP/rt.archive" --http off 2>"$TMP/rt.err"
expect_eq "round trip: vigil run exits 0 at the end" "$?" 0
echo "note round trip: $N records through vigil run with the archive in $((SECONDS - t0)) s"
sort "$TMP/rt.ndjson" >"$TMP/rt.want"
"$VIGIL" cat "$TMP/rt.archive" | sort >"$TMP/rt.got"
check "vigil cat returns every record byte for byte ($N)" cmp -s "$TMP/rt.want" "$TMP/rt.got"
find "$TMP/rt.archive" -name '*.jsonl.zst' ! -path '*/dead-letter/*' -print0 | xargs -0 zstdcat | sort >"$TMP/rt.zstd"
check "zstdcat agrees with vigil cat" cmp -s "$TMP/rt.zstd" "$TMP/rt.got"
expect_eq "vigil cat --dead-letter returns the 3 bad messages" \
	"$("$VIGIL" cat --dead-letter "$TMP/rt.archive" | grep -c '"raw_b64"')" 3
"$VIGIL" verify "$TMP/rt.archive" >"$TMP/rt.verify" 2>&1
expect_eq "vigil verify: exit 0" "$?" 0
check "vigil verify: clean" grep -q '^verify: clean$' "$TMP/rt.verify"
expect_eq "vigil verify counts every record" "$(awk '$1 == "total" { print $4 }' "$TMP/rt.verify")" $((N + 3))

# Filters, against the generator's ground truth (LEVEL CATEGORY DAYS PRESENT ID).
want=$(awk -F'\t' '$2 == "security" && ($1 == "ERROR" || $1 == "CRITICAL")' "$TMP/rt.tsv" | wc -l)
expect_eq "cat --category security --level error: as many as the truth says" \
	"$("$VIGIL" cat --category security --level error "$TMP/rt.archive" | wc -l)" "$want"
"$VIGIL" cat --service orders "$TMP/rt.archive" | "$VIGIL" classify 2>/dev/null | cut -d, -f4 | sort | uniq -c >"$TMP/rt.svc"
want=$("$VIGIL" classify <"$TMP/rt.ndjson" 2>/dev/null | grep -c '"service":"orders"')
expect_eq "cat --service orders: exactly orders' records" "$(cat "$TMP/rt.svc" | tr -s ' ')" " $want \"service\":\"orders\""
want=$(grep -c 'timed out' "$TMP/rt.ndjson")
expect_eq "cat --grep: as many as grep finds" "$("$VIGIL" cat --grep 'timed out' "$TMP/rt.archive" | wc -l)" "$want"
# The first 10 s of the stream by event time, against vigil classify's times.
from=1793491200000 to=1793491210000
want=$("$VIGIL" classify <"$TMP/rt.ndjson" 2>/dev/null | grep -o '"ts_ms":[0-9]*' | cut -d: -f2 |
	awk -v f=$from -v t=$to '$1 >= f && $1 < t' | wc -l)
expect_eq "cat --from --to: the records of that time range" \
	"$("$VIGIL" cat --from 2026-11-01T00:00:00Z --to 2026-11-01T00:00:10Z "$TMP/rt.archive" | wc -l)" "$want"
"$VIGIL" stats "$TMP/rt.archive" >"$TMP/rt.stats"
check "vigil stats: total records" grep -q " $((N + 3)) records" "$TMP/rt.stats"
expect_eq "vigil stats: records by category add up" \
	"$(awk '/^category/ { on = 1; next } on && NF { s += $3 } END { print s }' "$TMP/rt.stats")" $((N + 3))

# Category names longer than 15 characters: one row each in vigil stats,
# whole, however many files they span (they were cut to 15 and got a row
# per file).
cat >"$TMP/lc.yaml" <<'YAML'
classify:
  categories: [application, payments-reconciliation, payments-reconciliation-eu]
  aliases: {}
  rules: []
aggregate: {counters: []}
rules: {files: []}
retention: {policy: [{days: 30}]}
YAML
for h in 00 01 02; do
	for c in payments-reconciliation payments-reconciliation-eu payments-reconciliation-eu; do
		printf '{"ts":"2026-11-01T%s:00:00Z","level":"info","category":"%s","msg":"m"}\n' $h $c
	done
done >"$TMP/lc.ndjson"
produce lc "$TMP/lc.ndjson"
"$VIGIL" run --skew-behind 0s -c "$TMP/lc.yaml" --brokers "$BROKERS" --topic lc --group lc --exit-at-end --archive "$TMP/lc.archive" \
	--http off 2>"$TMP/lc.err"
expect_eq "long category names: vigil run exits 0" "$?" 0
"$VIGIL" stats "$TMP/lc.archive" >"$TMP/lc.stats"
expect_eq "long category names: one whole row each in vigil stats" \
	"$(awk '/^category/ { on = 1; next } on && NF { print $1, $3 }' "$TMP/lc.stats" | sort | tr '\n' ' ')" \
	"payments-reconciliation 3 payments-reconciliation-eu 6 "

# ---- 2. prune at a fixed --now ----------------------------------------------
# Every record is from hour 00 of 2026-11-01: the 30-day class expires at
# 2026-12-01T01:00:00Z (hour end + 30 days), not a millisecond before.
cp -r "$TMP/rt.archive" "$TMP/pr"
find "$TMP/pr" -type f | sort >"$TMP/pr.before"
"$VIGIL" prune --now 2026-12-01T00:59:59.999Z "$TMP/pr" >"$TMP/pr.out0"
check "prune one ms before expiry removes nothing" grep -q '^prune: removed 0 files' "$TMP/pr.out0"
"$VIGIL" prune --dry-run --now 2026-12-01T01:00:00Z "$TMP/pr" >"$TMP/pr.dry"
expect_eq "prune --dry-run removes nothing" "$(find "$TMP/pr" -type f | wc -l)" "$(lines "$TMP/pr.before")"
"$VIGIL" prune --now 2026-12-01T01:00:00Z "$TMP/pr" >"$TMP/pr.out"
expect_eq "prune exits 0" "$?" 0
grep -o "$TMP/pr/[^ ]*" "$TMP/pr.out" | sort >"$TMP/pr.removed"
grep "^$TMP/pr/30d/" "$TMP/pr.before" >"$TMP/pr.expired"
check "prune removes exactly the expired (30d) files" cmp -s "$TMP/pr.removed" "$TMP/pr.expired"
check "prune --dry-run listed the same files" cmp -s <(grep -o "$TMP/pr/[^ ]*" "$TMP/pr.dry" | sort) "$TMP/pr.expired"
check "prune removes the emptied directories" test ! -e "$TMP/pr/30d"
check "prune keeps the other classes and dead letters" test -d "$TMP/pr/90d" -a -d "$TMP/pr/dead-letter"
check "prune reports bytes freed" grep -Eq '^prune: removed [1-9][0-9]* files, [1-9][0-9]* bytes freed' "$TMP/pr.out"
rm -rf "$TMP/pr"

# ---- 3. SIGKILL mid-stream, restart, repair ---------------------------------
C=$((N / 5))
"$GEN" --count "$C" --seed 52 >"$TMP/c.ndjson"
"$VIGIL" produce --brokers "$BROKERS" --topic crash --rate $((C / 10)) "$TMP/c.ndjson" 2>"$TMP/c.produce" &
PRODUCER=$!
PIDS+=($PRODUCER)
"$VIGIL" run --skew-behind 0s -c "$TMP/fast.yaml" --brokers "$BROKERS" --topic crash --group crash --archive "$TMP/c.archive" --http off 2>"$TMP/c1.err" &
RUN_PID=$!
PIDS+=($RUN_PID)
manifest_lines() { find "$TMP/c.archive" -name '*.manifest.jsonl*' -exec cat {} + 2>/dev/null | wc -l; }
wait_for 60 eval '[ "$(manifest_lines)" -ge 4 ]' || fail "crash: archive written" "no frames"
check "crash: the producer is still streaming at the kill" kill -0 "$PRODUCER"
kill -KILL "$RUN_PID"
wait "$RUN_PID" 2>/dev/null
wait "$PRODUCER"
expect_eq "crash: producer finished" "$?" 0
"$VIGIL" run --skew-behind 0s -c "$TMP/fast.yaml" --brokers "$BROKERS" --topic crash --group crash --exit-at-end --archive "$TMP/c.archive" --http off 2>"$TMP/c2.err"
expect_eq "crash: the restarted run exits 0 at the end" "$?" 0
"$VIGIL" verify "$TMP/c.archive" >"$TMP/c.v1" 2>"$TMP/c.v1.err"
expect_eq "crash: verify finds no corruption" "$?" 0
check "crash: verify reports the killed run's files as recoverable" grep -q 'recoverable' "$TMP/c.v1.err"
"$VIGIL" verify --repair "$TMP/c.archive" >"$TMP/c.v2" 2>"$TMP/c.v2.err"
expect_eq "crash: verify --repair exits 0" "$?" 0
"$VIGIL" verify "$TMP/c.archive" >"$TMP/c.v3" 2>&1
check "crash: verify is clean after --repair" grep -q '^verify: clean$' "$TMP/c.v3"
check "crash: no .part file left" test -z "$(find "$TMP/c.archive" -name '*.part')"
"$VIGIL" cat "$TMP/c.archive" | sort >"$TMP/c.got"
sort -u "$TMP/c.got" >"$TMP/c.uniq"
check "crash: every produced record is in the archive" cmp -s <(sort "$TMP/c.ndjson") "$TMP/c.uniq"
echo "note crash: $C records, 1 SIGKILL, $(($(lines "$TMP/c.got") - $(lines "$TMP/c.uniq"))) duplicates, $(grep -c repaired "$TMP/c.v2.err") files repaired"

# ---- 4. a full disk (RLIMIT_FSIZE): commits stop, then resume ---------------
# Small frames so files grow past the 64 KiB limit within the stream; the
# limit is lifted with prlimit while vigil runs.
cat >"$TMP/full.yaml" <<'YAML'
archive: {flush_bytes: 64KiB, flush_ms: 100ms}
kafka:
  properties: {session.timeout.ms: "6000", heartbeat.interval.ms: "500"}
YAML
F=$((N / 10))
"$GEN" --count "$F" --seed 53 >"$TMP/f.ndjson"
produce full "$TMP/f.ndjson"
# full_run ERRFILE: vigil run under a soft 64 KiB file-size limit (prlimit
# can lift it), its pid in RUN_PID.
full_run() {
	(
		ulimit -S -f 64
		exec "$VIGIL" run --skew-behind 0s -c "$TMP/full.yaml" --brokers "$BROKERS" --topic full --group full \
			--archive "$TMP/f.archive" --http off 2>"$1"
	) &
	RUN_PID=$!
	PIDS+=($RUN_PID)
}
full_run "$TMP/f1.err"
wait_for 60 grep -q 'archive write failed' "$TMP/f1.err"
check "full: the write error is reported" grep -q 'offsets are not committed until it recovers' "$TMP/f1.err"
# Kill it while full: what it committed must be on disk, so a restart
# (without the limit) leaves every record in the archive.
kill -KILL "$RUN_PID"
wait "$RUN_PID" 2>/dev/null
"$VIGIL" verify --repair "$TMP/f.archive" >/dev/null 2>&1
"$VIGIL" cat "$TMP/f.archive" | sort -u >"$TMP/f.before"
# A graceful stop while full cannot write what it holds: it says so and
# exits 3 (a supervisor must not take it for a clean stop).
full_run "$TMP/f1b.err"
wait_for 60 grep -q 'archive write failed' "$TMP/f1b.err"
kill -TERM "$RUN_PID"
wait "$RUN_PID"
expect_eq "full: SIGTERM while full exits 3" "$?" 3
check "full: ... saying the records will be read again" grep -q 'the next start reads them again' "$TMP/f1b.err"
"$VIGIL" verify --repair "$TMP/f.archive" >/dev/null 2>&1
full_run "$TMP/f2.err"
wait_for 60 grep -q 'archive write failed' "$TMP/f2.err"
prlimit --pid "$RUN_PID" --fsize=unlimited:unlimited
wait_for 60 grep -q 'archive writable again' "$TMP/f2.err"
check "full: the archive recovers when space returns" grep -q 'archive writable again' "$TMP/f2.err"
# Everything is archived once the committed offsets reach the end.
kill -TERM "$RUN_PID"
wait "$RUN_PID"
expect_eq "full: SIGTERM after recovery exits 0" "$?" 0
"$VIGIL" verify --repair "$TMP/f.archive" >/dev/null 2>&1
"$VIGIL" run --skew-behind 0s -c "$TMP/full.yaml" --brokers "$BROKERS" --topic full --group full --exit-at-end --archive "$TMP/f.archive" --http off 2>"$TMP/f3.err"
"$VIGIL" cat "$TMP/f.archive" | sort -u >"$TMP/f.got"
check "full: every produced record is in the archive" cmp -s <(sort "$TMP/f.ndjson") "$TMP/f.got"
echo "note full: $F records; $(lines "$TMP/f.before") archived before the kill while full"

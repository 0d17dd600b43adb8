#!/usr/bin/env bash
# vigil aggregate: quantiles within the sketch's accuracy of --exact, counts
# and error rates identical, the same rows with 1 and 2 threads, and the
# command's behaviour. AGG_RECORDS sets the size (default 1,000,000).
. "$(dirname "$0")/../lib.sh"
n=${AGG_RECORDS:-1000000}

"$GEN" --count "$n" --seed 3 >"$TMP/logs.ndjson"
"$VIGIL" aggregate "$TMP/logs.ndjson" >"$TMP/sketch" 2>"$TMP/sketch.err"
expect_eq "aggregate exits 0" "$?" 0
"$VIGIL" aggregate --exact "$TMP/logs.ndjson" >"$TMP/exact" 2>/dev/null
expect_eq "aggregate --exact exits 0" "$?" 0
expect_eq "same rows with and without --exact" "$(wc -l <"$TMP/sketch")" "$(wc -l <"$TMP/exact")"

# HTTP rows to "key count 4xx 5xx rate p50 p95 p99 max", joined on the key.
http_rows() {
	grep '"endpoint"' "$1" | sed -E 's/^\{"window_start":"([^"]*)".*"service":("[^"]*"|null),"endpoint":("[^"]*"|null),"method":("[^"]*"|null),"count":([0-9]+),"errors_4xx":([0-9]+),"errors_5xx":([0-9]+),"error_rate":([^,]*),"p50":([^,]*),"p95":([^,]*),"p99":([^,]*),"max":([^}]*)\}$/\1|\2|\3|\4 \5 \6 \7 \8 \9/' | sort
}
http_rows "$TMP/sketch" >"$TMP/s.rows"
http_rows "$TMP/exact" >"$TMP/e.rows"
grep '"endpoint"' "$TMP/sketch" | sed -E 's/.*"p50":([^,]*),"p95":([^,]*),"p99":([^,]*),"max":([^}]*)\}$/\1 \2 \3 \4/' | sort >"$TMP/s.q"
grep '"endpoint"' "$TMP/exact" | sed -E 's/.*"p50":([^,]*),"p95":([^,]*),"p99":([^,]*),"max":([^}]*)\}$/\1 \2 \3 \4/' | sort >/dev/null
# Put quantiles next to each other by key.
# (sed has no \10: the key in four groups, then the numbers by name.)
quant() {
	grep '"endpoint"' "$1" |
		sed -E 's/^\{"window_start":"([^"]*)".*"service":("[^"]*"|null),"endpoint":("[^"]*"|null),"method":("[^"]*"|null),(.*)\}$/\1|\2|\3|\4 \5/' |
		sed -E 's/ "count":/ /; s/,"errors_4xx":/ /; s/,"errors_5xx":/ /; s/,"error_rate":/ /; s/,"p50":/ /; s/,"p95":/ /; s/,"p99":/ /; s/,"max":/ /' | sort
}
quant "$TMP/sketch" >"$TMP/sq"
quant "$TMP/exact" >"$TMP/eq"
join "$TMP/sq" "$TMP/eq" | awk '
	{ keys++
	  if ($2 != $10 || $3 != $11 || $4 != $12 || $5 != $13) { cnt++; if (cnt <= 3) print "note count/rate differ: " $0 }
	  if ($2 >= 100) {
		checked++
		for (i = 6; i <= 9; i++) {
			e = $(i + 8); s = $i
			if (e == "null" || s == "null") { bad++; continue }
			err = (s > e ? s - e : e - s) / (e > 0 ? e : 1)
			if (err > worst) worst = err
			if (err > 0.01) { bad++; if (bad <= 3) print "note quantile off: " $0 }
		}
	  } }
	END { printf "summary %d %d %d %d %.5f\n", keys, checked, cnt + 0, bad + 0, worst }' >"$TMP/cmp"
grep '^note' "$TMP/cmp" || true
read -r _ keys checked cnt bad worst < <(grep '^summary' "$TMP/cmp")
echo "note aggregate: $keys HTTP keys, $checked with 100+ samples; worst quantile error $worst"
expect_eq "every HTTP row of the sketch run has an --exact twin" "$keys" "$(wc -l <"$TMP/eq")"
expect_eq "counts, 4xx, 5xx and error rates identical to --exact" "$cnt" 0
expect_eq "every quantile within 1% of --exact (keys with 100+ samples)" "$bad" 0
if [ "$checked" -gt 100 ]; then ok "enough keys compared"; else fail "enough keys compared" "$checked"; fi
# Non-HTTP rows are identical.
cmp -s <(grep -v '"endpoint"' "$TMP/sketch" | sort) <(grep -v '"endpoint"' "$TMP/exact" | sort)
expect_eq "record-count and counter rows identical to --exact" "$?" 0

"$VIGIL" aggregate --threads 2 "$TMP/logs.ndjson" 2>"$TMP/t2.err" | sort >"$TMP/t2"
cmp -s "$TMP/t2" <(sort "$TMP/sketch")
expect_eq "same rows with --threads 2 and --threads 1" "$?" 0

# Every record is counted once: record-count rows add up to the input.
total=$(grep '"level"' "$TMP/sketch" | sed -E 's/.*"count":([0-9]+)\}$/\1/' | awk '{ s += $1 } END { print s }')
expect_eq "record-count rows add up to every record" "$total" "$n"
check "summary is the last line" grep -q '^{"records":'"$n"',"rejected":0,.*"late":0,.*"windows":' <(tail -n 1 "$TMP/sketch.err")
check "pattern counter rows present" grep -q '"counter":"auth_failures"' "$TMP/sketch"

# --window chooses the window length.
head -n 120000 "$TMP/logs.ndjson" >"$TMP/small.ndjson"
"$VIGIL" aggregate --window 1m "$TMP/small.ndjson" >"$TMP/w1m" 2>/dev/null
first=$(head -n 1 "$TMP/w1m" | sed -E 's/.*"window_start":"([^"]*)","window_end":"([^"]*)".*/\1 \2/')
expect_eq "--window 1m: windows are one minute" "$first" "2026-11-01T00:00:00.000Z 2026-11-01T00:01:00.000Z"
"$VIGIL" aggregate --window 5x "$TMP/small.ndjson" >/dev/null 2>&1
expect_eq "bad --window is a usage error" "$?" 2
"$VIGIL" aggregate --threads 0 "$TMP/small.ndjson" >/dev/null 2>&1
expect_eq "bad --threads is a usage error" "$?" 2

# Late records: one far behind the stream is counted, not aggregated.
{ head -n 30000 "$TMP/small.ndjson"; echo '{"timestamp":"2026-10-31T00:00:00Z","level":"info","service":"late"}'; } >"$TMP/late.ndjson"
"$VIGIL" aggregate "$TMP/late.ndjson" >"$TMP/late.out" 2>"$TMP/late.err"
check "a record past its window's close is counted late" grep -q '"late":1,' "$TMP/late.err"
if grep -q '"service":"late"' "$TMP/late.out"; then fail "a late record is not aggregated" "found"; else ok "a late record is not aggregated"; fi

# The window store feeds only the rules: with none configured (and no
# reload to bring some, as vigil run has) it is left empty; the rows are
# the same either way.
printf 'rules:\n  files: []\n' >"$TMP/norules.yaml"
"$VIGIL" aggregate -c "$TMP/norules.yaml" "$TMP/small.ndjson" >"$TMP/nr.out" 2>"$TMP/nr.err"
check "no rules: the summary says so and the store is empty" grep -q '"store_bytes":0,"rules":0,' "$TMP/nr.err"
"$VIGIL" aggregate "$TMP/small.ndjson" >"$TMP/wr.out" 2>"$TMP/wr.err"
check "with the default rules the store holds the windows" grep -Eq '"store_bytes":[1-9][0-9]*,"rules":[1-9]' "$TMP/wr.err"
cmp -s "$TMP/nr.out" "$TMP/wr.out"
expect_eq "the same rows with and without rules" "$?" 0

# Bad records are counted, never aggregated, never fatal.
printf '{"level":"info","timestamp":"2026-11-01T00:00:01Z","service":"a"}\n{bad\n[1]\n' >"$TMP/bad.ndjson"
"$VIGIL" aggregate "$TMP/bad.ndjson" >"$TMP/bad.out" 2>"$TMP/bad.err"
expect_eq "bad records: exit 0" "$?" 0
check "bad records counted by reason" grep -q '"rejected":2,"rejected_by_reason":{"not_object":1,"syntax":1}' "$TMP/bad.err"

# Several threads read a regular file in 256 KiB ranges: a line ending on
# either side of a range boundary, or longer than a record may be, must be
# counted once with any thread count, and pipes must agree.
"$GEN" --count 4000 --seed 12 >"$TMP/lines.ndjson"
for nl_at in 1048574 1048575 1048576 1048577; do
	# Whole lines while they stay under nl_at - 200 bytes (bytes: LC_ALL=C).
	LC_ALL=C awk -v lim=$((nl_at - 200)) '{ size += length($0) + 1; if (size >= lim) exit; print }' \
		"$TMP/lines.ndjson" >"$TMP/edge"
	pad=$((nl_at - $(wc -c <"$TMP/edge") - 31))
	printf '{"level":"info","message":"%s"}\n' "$(head -c "$pad" /dev/zero | tr '\0' z)" >>"$TMP/edge"
	head -n 1000 "$TMP/lines.ndjson" >>"$TMP/edge"
	want=$(wc -l <"$TMP/edge")
	for t in 1 2 3; do
		got=$("$VIGIL" aggregate --quiet --threads "$t" "$TMP/edge" 2>&1 | sed -n 's/.*"aggregated":\([0-9]*\).*/\1/p')
		expect_eq "newline at byte $nl_at, --threads $t: every line once" "$got" "$want"
	done
done
# A line crossing a range boundary that is longer than the workers read
# past a range at first (4 KiB, doubling) but within a record's limit.
LC_ALL=C awk -v lim=$((1048576 - 5000)) '{ size += length($0) + 1; if (size >= lim) exit; print }' \
	"$TMP/lines.ndjson" >"$TMP/long"
printf '{"level":"info","message":"%s"}\n' "$(head -c 300000 /dev/zero | tr '\0' z)" >>"$TMP/long"
head -n 1000 "$TMP/lines.ndjson" >>"$TMP/long"
want=$(wc -l <"$TMP/long")
for t in 1 2 3; do
	got=$("$VIGIL" aggregate --quiet --threads "$t" "$TMP/long" 2>&1 | sed -n 's/.*"aggregated":\([0-9]*\).*/\1/p')
	expect_eq "a 300 kB line across a range boundary, --threads $t: every line once" "$got" "$want"
done
{ head -n 3000 "$TMP/lines.ndjson"; printf '{"a":"%s"}\n' "$(head -c 2000000 /dev/zero | tr '\0' x)"; tail -n 1000 "$TMP/lines.ndjson"; } >"$TMP/big"
for t in 1 3; do
	"$VIGIL" aggregate --quiet --threads "$t" "$TMP/big" 2>"$TMP/big.err$t"
	check "a 2 MB line with --threads $t: one size rejection, the rest aggregated" \
		grep -q '"records":4001,"rejected":1,"rejected_by_reason":{"size":1},"aggregated":4000' "$TMP/big.err$t"
done
got=$(cat "$TMP/big" | "$VIGIL" aggregate --quiet --threads 2 2>&1 | grep -o '"rejected":1,"rejected_by_reason":{"size":1},"aggregated":4000')
expect_eq "the same through a pipe with --threads 2" "$got" '"rejected":1,"rejected_by_reason":{"size":1},"aggregated":4000'

# Alerts in the same order whatever the threads: a latency incident makes
# HTTPLatencyP95 change state for several endpoints of one service in the
# same window; the notifications follow their label values, not the order
# in which threads added records to the window (--threads 2 gave one of two
# orders from run to run).
"$GEN" --count 120000 --rate 200 --incident latency@1m+7m >"$TMP/lat.ndjson"
"$VIGIL" aggregate --quiet --threads 1 --alerts "$TMP/lat1.alerts" "$TMP/lat.ndjson" 2>/dev/null
check "the incident's alerts: several endpoints change in one window" \
	test "$(cut -d, -f1 "$TMP/lat1.alerts" | sort | uniq -c | sort -rn | awk 'NR == 1 { print $1 }')" -ge 3
for i in 1 2 3 4 5 6; do
	"$VIGIL" aggregate --quiet --threads 2 --alerts "$TMP/lat2.alerts" "$TMP/lat.ndjson" 2>/dev/null
	check "--threads 2, run $i: the alerts of --threads 1, in the same order" cmp -s "$TMP/lat1.alerts" "$TMP/lat2.alerts"
done

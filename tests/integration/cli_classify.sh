#!/usr/bin/env bash
# vigil classify: output shape, rejections, summary, exit codes.
. "$(dirname "$0")/../lib.sh"

cat >"$TMP/in.ndjson" <<'IN'
{"timestamp":"2026-11-01T00:00:00.123Z","level":"warn","service":"orders","logger":"db.query","message":"slow query (1234 ms): SELECT 1","http":{"method":"get","path":"/api/v1/orders/123?x=1","status":503,"duration_ms":12.5}}
{"level":30,"time":1793491200123,"app":"web","msg":"Authentication failed for user a","category":"Security"}
[1]
{"a":01}

{"a":"\ud800"}
{"a":1} x
{"message":"no level"}
IN
"$VIGIL" classify "$TMP/in.ndjson" >"$TMP/out" 2>"$TMP/err"
expect_eq "exit 0 with rejected records" "$?" 0
expect_eq "one output line per accepted record" "$(wc -l <"$TMP/out")" 3
expect_eq "exact keys and values" "$(head -n 1 "$TMP/out")" \
	'{"level":"WARNING","category":"database","retention_days":90,"service":"orders","endpoint":"/api/v1/orders/:id","method":"GET","status":503,"duration_ms":12.5,"ts_ms":1793491200123}'
expect_eq "absent values are null" "$(sed -n 3p "$TMP/out")" \
	'{"level":"UNKNOWN","category":"application","retention_days":90,"service":null,"endpoint":null,"method":null,"status":null,"duration_ms":null,"ts_ms":null}'
expect_eq "rejections name reason and line" "$(grep -c '"error"' "$TMP/err")" 5
check "not_object on line 3" grep -q '{"error":"not_object","line":3' "$TMP/err"
check "number on line 4" grep -q '{"error":"number","line":4' "$TMP/err"
check "empty on line 5" grep -q '{"error":"empty","line":5' "$TMP/err"
check "escape on line 6" grep -q '{"error":"escape","line":6' "$TMP/err"
check "trailing on line 7" grep -q '{"error":"trailing","line":7' "$TMP/err"
last=$(tail -n 1 "$TMP/err")
case "$last" in
'{"records":8,"rejected":5,"rejected_by_reason":{"empty":1,"not_object":1,"trailing":1,"escape":1,"number":1},'*'"seconds":'*'"mb_per_s":'*'}') ok "summary is the last line" ;;
*) fail "summary is the last line" "$last" ;;
esac

# stdin and --quiet
"$VIGIL" classify --quiet <"$TMP/in.ndjson" >"$TMP/qout" 2>"$TMP/qerr"
expect_eq "--quiet writes no records" "$(wc -c <"$TMP/qout")" 0
expect_eq "--quiet writes only the summary" "$(wc -l <"$TMP/qerr")" 1

# oversize line: rejected as size, the next line still read
head -c 2000000 /dev/zero | tr '\0' 'x' >"$TMP/big"
{ printf '{"a":"'; cat "$TMP/big"; printf '"}\n{"level":"info"}\n'; } >"$TMP/big.ndjson"
"$VIGIL" classify "$TMP/big.ndjson" >"$TMP/bout" 2>"$TMP/berr"
check "2 MB record rejected as size" grep -q '{"error":"size","line":1' "$TMP/berr"
expect_eq "record after an oversize one is read" "$(wc -l <"$TMP/bout")" 1

# I/O and configuration errors are failures
"$VIGIL" classify /nonexistent/file >/dev/null 2>"$TMP/e1"
expect_eq "missing input exits 3" "$?" 3
printf 'limits:\n  max_depth: zero\n' >"$TMP/bad.yaml"
"$VIGIL" classify -c "$TMP/bad.yaml" </dev/null >/dev/null 2>"$TMP/e2"
expect_eq "bad config exits 1" "$?" 1
check "bad config names file and line" grep -q "bad.yaml:2: limits.max_depth" "$TMP/e2"
"$VIGIL" classify --bogus </dev/null >/dev/null 2>&1
expect_eq "unknown option exits 2" "$?" 2

# binary garbage never crashes
head -c 200000 /dev/urandom >"$TMP/rand"
"$VIGIL" classify "$TMP/rand" >/dev/null 2>"$TMP/rerr"
expect_eq "random bytes: exit 0" "$?" 0
check "random bytes: summary written" grep -q '"records":' "$TMP/rerr"

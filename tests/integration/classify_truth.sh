#!/usr/bin/env bash
# vigil classify against the generator's ground truth: every record whose
# category is present must agree on level, category and retention; at least
# 99% of those whose category is inferred must. TRUTH_RECORDS sets the size
# (default 1,000,000; the sanitizer pass uses fewer).
. "$(dirname "$0")/../lib.sh"
n=${TRUTH_RECORDS:-1000000}

"$GEN" --count "$n" --seed 7 --truth "$TMP/truth.tsv" >"$TMP/logs.ndjson"
"$VIGIL" classify "$TMP/logs.ndjson" >"$TMP/out.ndjson" 2>"$TMP/err"
expect_eq "classify exits 0" "$?" 0
expect_eq "no generated record is rejected" "$(tail -n 1 "$TMP/err" | sed -n 's/.*"rejected":\([0-9]*\).*/\1/p')" 0
expect_eq "one output line per record" "$(wc -l <"$TMP/out.ndjson")" "$n"

# Reduce the output to "LEVEL CATEGORY DAYS" and compare line by line.
sed -E 's/^\{"level":"([A-Z]+)","category":"([a-z_-]+)","retention_days":([0-9]+),.*/\1 \2 \3/' \
	"$TMP/out.ndjson" >"$TMP/got"
paste -d ' ' "$TMP/got" <(cut -f1-4 "$TMP/truth.tsv" | tr '\t' ' ') |
	awk '{ ok = ($1 == $4 && $2 == $5 && $3 == $6)
	       if ($7 == 1) { gp++; if (!ok) { gb++; if (gb <= 5) print "note given mismatch: " $0 } }
	       else { ip++; if (!ok) { ib++; if (ib <= 5) print "note inferred mismatch: " $0 } } }
	     END { printf "counts %d %d %d %d\n", gp, gb + 0, ip, ib + 0 }' >"$TMP/cmp"
grep '^note' "$TMP/cmp" || true
read -r _ gp gb ip ib < <(grep '^counts' "$TMP/cmp")
echo "note truth: $gp records with category present, $gb wrong; $ip inferred, $ib wrong"
expect_eq "every record with a category present agrees" "$gb" 0
if [ "$ip" -gt 0 ] && [ $((ib * 100)) -le "$ip" ]; then
	ok "at least 99% of inferred categories agree"
else
	fail "at least 99% of inferred categories agree" "$ib of $ip wrong"
fi

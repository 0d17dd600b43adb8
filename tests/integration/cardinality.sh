#!/usr/bin/env bash
# Endpoint cardinality: paths that are not ids (a scanner's random .php
# probes, random words) must not grow what the alert store keeps, nor the
# memory of vigil aggregate with the shipped rules, past what
# aggregate.max_endpoints allows; healthy traffic is stored as before.
# CARD_RECORDS sets the size (default 100,000: 5 minutes at 333/s).
. "$(dirname "$0")/../lib.sh"
n=${CARD_RECORDS:-100000}

"$GEN" --count "$n" --rate 333 --seed 5 >"$TMP/normal.ndjson"
"$GEN" --count "$n" --rate 333 --seed 5 --incident words@0+10h >"$TMP/words.ndjson"
"$GEN" --count "$n" --rate 333 --seed 5 --incident scanner@0+10h >"$TMP/scanner.ndjson"
printf 'rules:\n  files: []\n' >"$TMP/norules.yaml"
printf 'aggregate:\n  max_endpoints: 20\n' >"$TMP/cap20.yaml"

for s in normal words scanner; do
	"$VIGIL" aggregate --quiet "$TMP/$s.ndjson" >/dev/null 2>"$TMP/$s.err"
	expect_eq "$s: aggregate exits 0" "$?" 0
done
normal_eps=$(summary_num "$TMP/normal.err" store_endpoints)
normal_bytes=$(summary_num "$TMP/normal.err" store_bytes)
words_eps=$(summary_num "$TMP/words.err" store_endpoints)
words_bytes=$(summary_num "$TMP/words.err" store_bytes)

# Healthy traffic: every endpoint has its key, nothing is folded.
check "normal: the store knows the corpus's endpoints" test "${normal_eps:-0}" -gt 10 -a "${normal_eps:-0}" -lt 100
expect_eq "normal: nothing folded at the cap" "$(summary_sub "$TMP/normal.err" store_endpoints_folded cap)" 0
expect_eq "normal: nothing folded as a 404 probe" "$(summary_sub "$TMP/normal.err" store_endpoints_folded not_found)" 0

# Random words: at most max_endpoints (1000) per service (8 serve HTTP);
# the rest counted, and the store about the size of the healthy one's
# (each word's entry would otherwise be kept for the hour and the days).
check "words: at most 1000 endpoints per service" test "${words_eps:-99999}" -le 8000
check "words: the endpoints past the cap are counted" test "$(summary_sub "$TMP/words.err" store_endpoints_folded cap)" -gt 0
check "words: the store within 4x the healthy stream's ($words_bytes vs $normal_bytes bytes)" \
	test "${words_bytes:-999999999}" -le $((normal_bytes * 4))

# A scanner's probes (404 on a new path) mint no key.
expect_eq "scanner: the store knows the healthy endpoints only" "$(summary_num "$TMP/scanner.err" store_endpoints)" "$normal_eps"
check "scanner: its probes are counted" test "$(summary_sub "$TMP/scanner.err" store_endpoints_folded not_found)" -gt 0

# The cap is configuration.
"$VIGIL" config --check "$TMP/cap20.yaml" >/dev/null 2>&1
expect_eq "max_endpoints: 20 is accepted" "$?" 0
"$VIGIL" aggregate -c "$TMP/cap20.yaml" --quiet "$TMP/words.ndjson" >/dev/null 2>"$TMP/cap20.err"
check "max_endpoints: 20 keeps at most 20 per service" test "$(summary_num "$TMP/cap20.err" store_endpoints)" -le 160
printf 'aggregate:\n  max_endpoints: 0\n' >"$TMP/cap0.yaml"
"$VIGIL" config --check "$TMP/cap0.yaml" >/dev/null 2>"$TMP/cap0.err"
expect_eq "max_endpoints: 0 is refused" "$?" 1
check "max_endpoints: 0 refused with FILE:LINE" grep -q "cap0.yaml:2: aggregate.max_endpoints" "$TMP/cap0.err"

# Peak memory with the rules: within 3x of the rules off (it was 5x on
# this stream, and grew with its length).
if [ -x /usr/bin/time ]; then
	/usr/bin/time -f '%M' -o "$TMP/rss.rules" "$VIGIL" aggregate --quiet --threads 1 "$TMP/words.ndjson" >/dev/null 2>&1
	/usr/bin/time -f '%M' -o "$TMP/rss.off" "$VIGIL" aggregate -c "$TMP/norules.yaml" --quiet --threads 1 \
		"$TMP/words.ndjson" >/dev/null 2>&1
	r=$(tail -n 1 "$TMP/rss.rules") o=$(tail -n 1 "$TMP/rss.off")
	check "words: peak RSS with the rules within 3x the rules off (${r} vs ${o} KB)" test "$r" -le $((o * 3))
else
	echo "note no /usr/bin/time: peak RSS not checked"
fi

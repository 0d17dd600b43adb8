#!/usr/bin/env bash
# Event time in file mode (vigil aggregate): the skew guard and the time
# formats records carry.
#
# 1. A record stamped 2099 in the middle of 50,000 normal ones: it is
#    skewed (more than aggregate.skew_ahead after the clock, the reference
#    for "ahead" in file mode), counted, aggregated at the reference time and
#    never moves the watermark, so no later record is late and the rows of
#    the 50,000 are exactly those of a run without it.
# 2. A record 30 days older than the stream around it: skewed behind (the
#    reference for "behind" in file mode is the stream's newest event time),
#    aggregated at that reference, not late.
# 3. Time formats: zoneless RFC 3339, a leap second, epoch seconds,
#    milliseconds, microseconds and nanoseconds (numbers; seconds and
#    milliseconds also as strings): every record aggregated in the window its
#    time names, none counted no_time.
#
# Every event time is computed from the clock (within the last hour or so),
# so that the default skew_behind (7d) and skew_ahead (5m) judge them sane.
. "$(dirname "$0")/../lib.sh"

NOW_S=$(date +%s)

# aggregate NAME FILE: vigil aggregate over FILE; rows in $TMP/NAME.rows,
# standard error (the summary last) in $TMP/NAME.err; its status in AGG_STATUS.
aggregate() {
	"$VIGIL" aggregate "$2" >"$TMP/$1.rows" 2>"$TMP/$1.err"
	AGG_STATUS=$?
}

# ---- 1. one record stamped 2099 among 50,000 ------------------------------
"$GEN" --count 50000 --seed 81 --start $(((NOW_S - 3600) * 1000)) >"$TMP/normal.ndjson"
SKEW='{"timestamp":"2099-01-01T00:00:00.000Z","level":"ERROR","service":"skewsvc","logger":"app.clock","message":"a record from a host whose clock says 2099","event_id":"e-skew-2099"}'
{
	head -n 25000 "$TMP/normal.ndjson"
	echo "$SKEW"
	tail -n 25000 "$TMP/normal.ndjson"
} >"$TMP/with2099.ndjson"
aggregate plain "$TMP/normal.ndjson"
expect_eq "2099: the run without it exits 0" "$AGG_STATUS" 0
aggregate skew "$TMP/with2099.ndjson"
expect_eq "2099: vigil aggregate exits 0" "$AGG_STATUS" 0
expect_eq "2099: records" "$(summary_num "$TMP/skew.err" records)" 50001
expect_eq "2099: no record late" "$(summary_num "$TMP/skew.err" late)" 0
expect_eq "2099: skewed.ahead counts it" "$(summary_sub "$TMP/skew.err" skewed ahead)" 1
expect_eq "2099: skewed.behind counts nothing" "$(summary_sub "$TMP/skew.err" skewed behind)" 0
expect_eq "2099: every record aggregated (the skewed one at its reference time)" \
	"$(summary_num "$TMP/skew.err" aggregated)" 50001
expect_eq "2099: no_time 0" "$(summary_num "$TMP/skew.err" no_time)" 0
check "2099: the summary has the watermark delays" \
	grep -q '"watermark":{"behind_newest_ms":[0-9]*,"behind_clock_ms":[0-9]*}' <(tail -n 1 "$TMP/skew.err")
# The skewed record is its own key (service skewsvc): whatever window it
# is aggregated in, the other rows are byte for byte those of the run
# without it.
grep -v '"service":"skewsvc"' "$TMP/skew.rows" | LC_ALL=C sort >"$TMP/skew.others"
LC_ALL=C sort "$TMP/plain.rows" >"$TMP/plain.sorted"
if cmp -s "$TMP/skew.others" "$TMP/plain.sorted"; then
	ok "2099: the rows of the 50,000 normal records are unchanged"
else
	fail "2099: the rows of the 50,000 normal records are unchanged" \
		"$(diff "$TMP/skew.others" "$TMP/plain.sorted" | grep -c '^[<>]') rows differ (< with the 2099 record, > without); got $(level_total "$TMP/skew.others") records counted, want $(level_total "$TMP/plain.sorted")"
fi
srow=$(grep '"service":"skewsvc"' "$TMP/skew.rows")
expect_eq "2099: the skewed record is one row" "$(grep -c '"service":"skewsvc"' "$TMP/skew.rows")" 1
case "$srow" in *'"level":"ERROR","count":1}') ok "2099: counted once, as ERROR" ;; *) fail "2099: counted once, as ERROR" "$srow" ;; esac
# Aggregated at the stream's time: in file mode, times ahead are judged by
# the clock and a skewed record counts at the newest event time of its
# stream so far (the record before it, here), in that window.
newest=$(head -n 25000 "$TMP/normal.ndjson" | "$VIGIL" classify 2>/dev/null | grep -o '"ts_ms":[0-9]*' | cut -d: -f2 |
	sort -n | tail -n 1)
sstart=$(echo "$srow" | grep -o '"window_start":"[^"]*"' | cut -d'"' -f4)
expect_eq "2099: aggregated at its stream's newest time" "$sstart" "$(iso_time $((newest / 1000 - newest / 1000 % 10)))"

# ---- 2. a record 30 days older than the stream around it -----------------
OLD='{"timestamp":"'$(date -u -d "@$((NOW_S - 3600 - 30 * 86400))" +%Y-%m-%dT%H:%M:%S.000Z)'","level":"WARNING","service":"oldsvc","logger":"app.clock","message":"a record from a host whose clock is a month behind","event_id":"e-skew-old"}'
{
	head -n 25000 "$TMP/normal.ndjson"
	echo "$OLD"
	tail -n 25000 "$TMP/normal.ndjson"
} >"$TMP/withold.ndjson"
aggregate old "$TMP/withold.ndjson"
expect_eq "month behind: vigil aggregate exits 0" "$AGG_STATUS" 0
expect_eq "month behind: no record late" "$(summary_num "$TMP/old.err" late)" 0
expect_eq "month behind: skewed.behind counts it" "$(summary_sub "$TMP/old.err" skewed behind)" 1
expect_eq "month behind: skewed.ahead counts nothing" "$(summary_sub "$TMP/old.err" skewed ahead)" 0
expect_eq "month behind: every record aggregated" "$(summary_num "$TMP/old.err" aggregated)" 50001
grep -v '"service":"oldsvc"' "$TMP/old.rows" | LC_ALL=C sort >"$TMP/old.others"
check "month behind: the rows of the 50,000 normal records are unchanged" cmp -s "$TMP/old.others" "$TMP/plain.sorted"
# Aggregated at the stream's newest event time when it came: a window of
# the normal records' span (the middle of it), not a month back.
ostart=$(grep '"service":"oldsvc"' "$TMP/old.rows" | grep -o '"window_start":"[^"]*"' | cut -d'"' -f4)
first=$(grep -o '"window_start":"[^"]*"' "$TMP/plain.rows" | cut -d'"' -f4 | LC_ALL=C sort | head -n 1)
last=$(grep -o '"window_start":"[^"]*"' "$TMP/plain.rows" | cut -d'"' -f4 | LC_ALL=C sort | tail -n 1)
if [[ -n "$ostart" && ! "$ostart" < "$first" && ! "$ostart" > "$last" ]]; then
	ok "month behind: aggregated within the stream's span ($ostart)"
else
	fail "month behind: aggregated within the stream's span" "window_start '$ostart', want $first .. $last"
fi

# ---- 3. time formats -------------------------------------------------------
# One record per format, each its own service, S + 10 k seconds apart (S a
# window start 50 minutes ago), in time order after a leap second two days
# back: the window each lands in is known.
S=$((NOW_S - 3000 - NOW_S % 10))
D2=$(date -u -d "@$((NOW_S - 2 * 86400))" +%Y-%m-%d)
D1=$(date -u -d "@$((NOW_S - 86400))" +%Y-%m-%d)
zoneless() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%S; }
rec() { printf '{%s,"level":"INFO","service":"%s","logger":"app.time","message":"time format %s"}\n' "$2" "$1" "$1"; }
{
	rec t-leap '"time":"'"$D2"'T23:59:60Z"'
	rec t-zoneless '"timestamp":"'"$(zoneless "$S")"'"'
	rec t-zoneless-frac '"timestamp":"'"$(zoneless $((S + 10)))"'.250"'
	rec t-epoch-s '"ts":'$((S + 20))
	rec t-epoch-s-frac '"ts":'$((S + 30))'.5'
	rec t-epoch-ms '"ts":'$(((S + 40) * 1000 + 123))
	rec t-epoch-us '"ts":'$(((S + 50) * 1000000 + 123456))
	rec t-epoch-ns '"ts":'$(((S + 60) * 1000000000 + 123456789))
	rec t-epoch-s-str '"ts":"'$((S + 70))'"'
	rec t-epoch-ms-str '"ts":"'$(((S + 80) * 1000 + 5))'"'
} >"$TMP/formats.ndjson"
aggregate formats "$TMP/formats.ndjson"
expect_eq "formats: vigil aggregate exits 0" "$AGG_STATUS" 0
expect_eq "formats: records" "$(summary_num "$TMP/formats.err" records)" 10
expect_eq "formats: every record aggregated" "$(summary_num "$TMP/formats.err" aggregated)" 10
expect_eq "formats: none counted no_time" "$(summary_num "$TMP/formats.err" no_time)" 0
expect_eq "formats: none late" "$(summary_num "$TMP/formats.err" late)" 0
expect_eq "formats: none skewed" "$(summary_sub "$TMP/formats.err" skewed ahead)/$(summary_sub "$TMP/formats.err" skewed behind)" 0/0
# window_of SERVICE: the window_start of its (one) level row.
window_of() { grep "\"service\":\"$1\"" "$TMP/formats.rows" | grep -o '"window_start":"[^"]*"' | cut -d'"' -f4 | tr '\n' ' ' | sed 's/ $//'; }
# A leap second is the last second of its day (a window of 23:59:50) or
# the first of the next (00:00:00): either, not elsewhere.
lw=$(window_of t-leap)
case "$lw" in "${D2}T23:59:50.000Z" | "${D1}T00:00:00.000Z") ok "formats: leap second 23:59:60Z in its window ($lw)" ;;
*) fail "formats: leap second 23:59:60Z in its window" "got '$lw', want ${D2}T23:59:50.000Z or ${D1}T00:00:00.000Z" ;; esac
k=0
for svc in t-zoneless t-zoneless-frac t-epoch-s t-epoch-s-frac t-epoch-ms t-epoch-us t-epoch-ns t-epoch-s-str t-epoch-ms-str; do
	expect_eq "formats: $svc in its window (zoneless read as UTC)" "$(window_of "$svc")" "$(iso_time $((S + 10 * k)))"
	k=$((k + 1))
done

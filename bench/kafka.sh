#!/usr/bin/env bash
# make bench-kafka: with the embedded broker, in one run, interleaved, median
# of BENCH_RUNS (default 3): (a) a bare librdkafka consumer (bench/
# bare_consumer) and (b) vigil run (consume, parse, classify, aggregate)
# over the same records, each timed from its first message to its last.
# BENCH_ARCHIVE=off runs vigil without the archive.
# The corpus goes to 128 partitions (about 2.8 MB each) because the
# embedded broker keeps only the last 5 MiB of a partition.
set -eu
RECORDS=${BENCH_RECORDS:-1000000}
RUNS=${BENCH_RUNS:-3}
DIR=${BENCH_DIR:-bench/data}
PARTS=${BENCH_PARTITIONS:-128}
mkdir -p "$DIR"
. bench/corpus.sh
corpus_for "$RECORDS"
tmp=$(mktemp -d)
. scripts/embedded-broker.sh
trap 'stop_embedded_broker; rm -rf "$tmp"' EXIT
start_embedded_broker --topic "bench:$PARTS"
B=$BROKERS
echo "kafka.sh: producing $RECORDS records into $PARTS partitions at $B" >&2
./vigil produce --brokers "$B" --topic bench "$corpus" 2>"$tmp/produce.json"
bytes=$(wc -c <"$corpus")
archive=${BENCH_ARCHIVE:-}
label="vigil run (+aggregate, +zstd archive)"
[ "$archive" = off ] && label="vigil run (+aggregate, no archive)"
res="$DIR/kafka-results.txt"
: >"$res"
field() { sed -n "s/.*\"$1\":\\([0-9.]*\\).*/\\1/p"; }
# top NAME: the top-level number NAME of vigil's summary line on stdin, in any
# member order; nested objects ("archive", "skewed", ...) are emptied first.
top() { sed -n -e 's/^{//; s/}$//' -e ':a' -e 's/{[^{}]*}/()/g' -e 'ta' -e "s/^\\(.*,\\)\\{0,1\\}\"$1\":\\([0-9.]*\\).*/\\2/p"; }
for r in $(seq "$RUNS"); do
	[ -t 2 ] && printf 'kafka.sh: run %d/%d\r' "$r" "$RUNS" >&2
	/usr/bin/time -f '%U %S %M' -o "$tmp/time" bench/bare_consumer "$B" bench "bare$r" >"$tmp/bare.json"
	read -r u s m <"$tmp/time"
	echo "bare $(field messages <"$tmp/bare.json") $(field seconds <"$tmp/bare.json") $u $s $m" >>"$res"
	rm -rf "$tmp/archive"
	/usr/bin/time -f '%U %S %M' -o "$tmp/time" ./vigil run ${BENCH_CONFIG:+-c "$BENCH_CONFIG"} --brokers "$B" --topic bench --group "vigil$r" \
		--exit-at-end --archive "${archive:-$tmp/archive}" 2>"$tmp/vigil.err" >/dev/null
	read -r u s m <"$tmp/time"
	sum=$(tail -n 1 "$tmp/vigil.err")
	# The summary's own "records", not the archive's; "-" for a missing member.
	recs=$(echo "$sum" | top records) rej=$(echo "$sum" | top rejected)
	agg=$(echo "$sum" | top aggregated) late=$(echo "$sum" | top late)
	cs=$(echo "$sum" | top consume_seconds)
	echo "vigil ${recs:--} ${cs:--} $u $s $m ${rej:--} ${agg:--} ${late:--}" >>"$res"
done
[ -t 2 ] && printf '\n' >&2
# A vigil run whose windows dropped records (aggregated < records - rejected,
# or any late) is NOT A VALID RUN: it is left out of the medians ("bad"), and
# if no run is valid the figures are the invalid runs', flagged as such.
awk -v bytes="$bytes" -v runs="$RUNS" -v parts="$PARTS" -v label="$label" -v archive="${archive:-on}" \
	-v summary="$DIR/kafka-summary.json" '
	$1 == "vigil" { nv++; if ($2 == "-" || $8 == "-" || $9 == "-" || $8 != $2 - $7 || $9 != 0) {
		$1 = "bad"; bad = bad sprintf("NOT A VALID RUN: vigil run %d: %s records, %s rejected, %s aggregated into windows, %s late\n", nv, $2, $7, $8, $9) } }
	{ n[$1]++; k = $1 SUBSEP n[$1]; recs[k] = $2; secs[k] = $3; cpu[k] = $4 + $5; rss[k] = $6; agg[k] = $8; late[k] = $9 }
	function med(tool, arr,   i, m, v, t, j) {
		m = n[tool]
		for (i = 1; i <= m; i++) v[i] = arr[tool SUBSEP i]
		for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
		return v[int((m + 1) / 2)]
	}
	END {
		t = n["vigil"] ? "vigil" : "bad"; invalid = t == "bad" ? "  NOT A VALID RUN" : ""
		rb = med("bare", recs); sb = med("bare", secs); cb = med("bare", cpu); mb = med("bare", rss)
		rv = med(t, recs); sv = med(t, secs); cv = med(t, cpu); mv = med(t, rss); av = med(t, agg); lv = med(t, late)
		printf "kafka benchmark: %d records, %.1f MB, %d partitions, embedded broker, median of %d runs\n", rb, bytes / 1e6, parts, runs
		printf "%-37s %11s %8s %14s %10s %11s %8s\n", "consumer", "msgs/s", "MB/s", "CPU s/1M rec", "peak RSS", "aggregated", "late"
		printf "%-37s %11.0f %8.1f %14.3f %8.0f MB %11s %8s\n", "bare librdkafka consumer", rb / sb, bytes / 1e6 / sb, cb / rb * 1e6, mb / 1024, "-", "-"
		printf "%-37s %11.0f %8.1f %14.3f %8.0f MB %11d %8d%s\n", label, rv / sv, bytes / 1e6 / sv, cv / rv * 1e6, mv / 1024, av, lv, invalid
		printf "ratio vigil / bare: %.2f (target >= 0.8)%s\n", (rv / sv) / (rb / sb), invalid
		if (rv != rb) printf "WARNING: vigil processed %d records, the bare consumer %d\n", rv, rb
		printf "%s", bad
		if (n["bad"] && n["vigil"]) printf "vigil figures: median of the %d valid runs of %d\n", n["vigil"], nv
		printf "{\"benchmark\":\"kafka\",\"records\":%d,\"bytes\":%d,\"partitions\":%d,\"archive\":\"%s\",\"bare_records_per_s\":%.0f,\"vigil_records_per_s\":%.0f,\"ratio\":%.3f,\"bare_cpu_s_per_1m_records\":%.4f,\"vigil_cpu_s_per_1m_records\":%.4f,\"vigil_aggregated\":%d,\"vigil_late\":%d,\"runs\":%d,\"invalid_runs\":%d,\"valid\":%s}\n", rb, bytes, parts, archive, rb / sb, rv / sv, (rv / sv) / (rb / sb), cb / rb * 1e6, cv / rv * 1e6, av, lv, nv, n["bad"], n["bad"] ? "false" : "true" > summary
	}' "$res"

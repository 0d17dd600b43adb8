#!/usr/bin/env bash
# The end-to-end benchmark (part of make bench): the embedded broker, E2E_RECORDS
# (default 2M) generated records produced first, then `vigil run` with every
# sink on: aggregates, the shipped rules, the zstd archive (level 3), and the
# HTTP server scraped once a second (throughput and lag over the run). Runs
# with 1 and 2 workers, median of E2E_RUNS (default 1) each.
#
# Prints a table and writes $DIR/e2e-summary.json and $DIR/e2e-series.tsv
# (seconds, workers, records/s, lag) for the chart.
#
# The corpus goes to 256 partitions (about 2.7 MB each): the embedded broker
# keeps only the last 5 MiB of a partition.
set -eu
cd "$(dirname "$0")/.."
RECORDS=${E2E_RECORDS:-2000000}
RUNS=${E2E_RUNS:-1}
PARTS=${E2E_PARTITIONS:-256}
DIR=${BENCH_DIR:-bench/data}
# The metric families the scrape reads (vigil's /metrics).
REC_METRIC=vigil_records_total
LAG_METRIC=vigil_kafka_consumer_lag
mkdir -p "$DIR"
. bench/corpus.sh
corpus_for "$RECORDS"
tmp=$(mktemp -d)
. scripts/embedded-broker.sh
SCRAPER=
trap '[ -n "$SCRAPER" ] && kill "$SCRAPER" 2>/dev/null; stop_embedded_broker; rm -rf "$tmp"' EXIT
start_embedded_broker --topic "e2e:$PARTS"
echo "e2e.sh: producing $RECORDS records into $PARTS partitions at $BROKERS" >&2
./vigil produce --brokers "$BROKERS" --topic e2e "$corpus" 2>"$tmp/produce.json"
bytes=$(wc -c <"$corpus")

# scrape PORT WORKERS: one line per second, "seconds workers records lag",
# until vigil's HTTP server goes away.
scrape() {
	local port=$1 w=$2 t0 now m
	t0=$(date +%s.%N)
	while :; do
		if m=$(curl -sf --max-time 2 "http://127.0.0.1:$port/metrics"); then
			now=$(date +%s.%N)
			echo "$m" | awk -v t0="$t0" -v now="$now" -v w="$w" -v rm="$REC_METRIC" -v lm="$LAG_METRIC" '
				$1 == rm { r = $2 }
				index($1, lm) == 1 { lag += $NF }
				END { if (r != "") printf "%.2f %d %s %d\n", now - t0, w, r, lag }'
		fi
		sleep 1
	done
}

# top NAME: the top-level number NAME of vigil's summary line on stdin, in any
# member order; nested objects ("archive", "skewed", ...) are emptied first.
top() { sed -n -e 's/^{//; s/}$//' -e ':a' -e 's/{[^{}]*}/()/g' -e 'ta' -e "s/^\\(.*,\\)\\{0,1\\}\"$1\":\\([0-9.]*\\).*/\\2/p"; }

res="$DIR/e2e-results.txt"
series="$DIR/e2e-series.tsv"
: >"$res"
: >"$series"
for w in 1 2; do
	for r in $(seq "$RUNS"); do
		echo "e2e.sh: vigil run, $w worker(s), run $r/$RUNS" >&2
		rm -rf "$tmp/archive" "$tmp/outbox"
		port=$((30000 + RANDOM % 20000))
		printf 'notify:\n  outbox: {dir: %s}\n' "$tmp/outbox" >"$tmp/e2e.yaml"
		scrape "$port" "$w" >"$tmp/series.$w" &
		SCRAPER=$!
		/usr/bin/time -f '%U %S %M' -o "$tmp/time" ./vigil run -c "$tmp/e2e.yaml" --brokers "$BROKERS" --topic e2e \
			--group "e2e-$w-$r" --workers "$w" --exit-at-end --archive "$tmp/archive" --http "127.0.0.1:$port" \
			2>"$tmp/vigil.err" >/dev/null
		kill "$SCRAPER" 2>/dev/null
		wait "$SCRAPER" 2>/dev/null || true
		SCRAPER=
		[ "$r" -eq 1 ] && awk '{ print }' "$tmp/series.$w" >>"$series"
		read -r u s m <"$tmp/time"
		sum=$(tail -n 1 "$tmp/vigil.err")
		recs=$(echo "$sum" | top records) secs=$(echo "$sum" | top consume_seconds) rej=$(echo "$sum" | top rejected)
		agg=$(echo "$sum" | top aggregated) late=$(echo "$sum" | top late)
		[ "$recs" = "$RECORDS" ] || echo "e2e.sh: WARNING: vigil read $recs records of $RECORDS" >&2
		echo "$w ${recs:--} ${secs:--} $u $s $m ${rej:--} ${agg:--} ${late:--}" >>"$res"
	done
done
num() { sed -n "s/.*\"$1\":\\([0-9.]*\\).*/\\1/p" "$2" 2>/dev/null | head -n 1 || true; }
# The references' CPU per record, from the stage benchmarks of the same run.
ref_parse=$(sed -n 's/.*"simdjson-ondemand-lines":{[^}]*"cpu_s_per_1m_records":\([0-9.]*\).*/\1/p' "$DIR/parse-summary.json" 2>/dev/null || true)
ref_zstd=$(num zstd_cpu_s_per_1m_records "$DIR/archive-summary.json")
ref_kafka=$(num bare_cpu_s_per_1m_records "$DIR/kafka-summary.json")
# A run whose windows dropped records (aggregated < records - rejected, or any
# late) is NOT A VALID RUN: left out of its worker count's medians, or, if no
# run of that count is valid, the row is those runs' and flagged as such.
awk -v bytes="$bytes" -v n="$RECORDS" -v runs="$RUNS" -v parts="$PARTS" -v rp="${ref_parse:-0}" -v rz="${ref_zstd:-0}" \
	-v rk="${ref_kafka:-0}" -v summary="$DIR/e2e-summary.json" '
	{ runs_w[$1]++
	  if ($2 == "-" || $8 == "-" || $9 == "-" || $8 != $2 - $7 || $9 != 0) {
		bad = bad sprintf("NOT A VALID RUN: %d worker(s), run %d: %s records, %s rejected, %s aggregated into windows, %s late\n",
			$1, runs_w[$1], $2, $7, $8, $9)
		nbad[$1]++; $1 = "bad" $1 }
	  c[$1]++; k = $1 SUBSEP c[$1]; secs[k] = $3; cpu[k] = $4 + $5; rss[k] = $6; agg[k] = $8; late[k] = $9 }
	function med(w, arr,   i, j, m, v, t) { m = c[w]; for (i = 1; i <= m; i++) v[i] = arr[w SUBSEP i]
		for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
		return v[int((m + 1) / 2)] }
	END {
		ref = rp + rz + rk
		printf "end-to-end: %d records, %.1f MB, %d partitions, embedded broker, every sink on, median of %d\n", n, bytes / 1e6, parts, runs
		printf "%-10s %11s %8s %14s %10s %16s %11s %8s\n", "workers", "records/s", "MB/s", "CPU s/1M rec", "peak RSS", "CPU vs refs",
			"aggregated", "late"
		js = ""
		for (w = 1; w <= 2; w++) {
			t = c[w] ? w : "bad" w
			s = med(t, secs); cp = med(t, cpu) / n * 1e6; m = med(t, rss)
			printf "%-10d %11.0f %8.1f %14.3f %7.0f MB %16s %11d %8d%s\n", w, n / s, bytes / 1e6 / s, cp, m / 1024,
				(ref > 0 ? sprintf("%.2f", cp / ref) : "n/a"), med(t, agg), med(t, late), c[w] ? "" : "  NOT A VALID RUN"
			js = js sprintf("%s\"%d\":{\"records_per_s\":%.0f,\"mb_per_s\":%.1f,\"cpu_s_per_1m_records\":%.4f,\"peak_rss_mb\":%.0f,\"cpu_vs_refs\":%.3f,\"aggregated\":%d,\"late\":%d,\"invalid_runs\":%d,\"valid\":%s}",
				w > 1 ? "," : "", w, n / s, bytes / 1e6 / s, cp, m / 1024, (ref > 0 ? cp / ref : 0), med(t, agg), med(t, late),
				nbad[w], nbad[w] ? "false" : "true")
			rate[w] = n / s
		}
		printf "%s", bad
		printf "references, CPU s/1M records: simdjson %.3f + zstd -3 -T1 %.3f + bare consumer %.3f = %.3f (goal: vigil <= 1.2x)\n", rp, rz, rk, ref
		printf "2 workers: %.2fx one worker\n", rate[2] / rate[1]
		printf "{\"benchmark\":\"e2e\",\"records\":%d,\"bytes\":%d,\"partitions\":%d,\"ref_cpu_s_per_1m_records\":{\"parse\":%s,\"zstd\":%s,\"kafka\":%s},\"workers\":{%s},\"scaling_2w\":%.3f,\"runs\":%d,\"valid\":%s}\n",
			n, bytes, parts, rp, rz, rk, js, rate[2] / rate[1], runs, bad == "" ? "true" : "false" > summary
	}' "$res"

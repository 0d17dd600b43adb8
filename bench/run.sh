#!/usr/bin/env bash
# make bench: every stage benchmark, then the end-to-end run, in one run on
# one corpus; then one table of vigil against the reference tools,
# bench/results/<date>.json and bench/results/<date>.png (throughput and lag).
# Each stage also prints its own detailed table as it finishes.
# bench/run.sh --report prints the table again from the last run's figures.
set -eu
cd "$(dirname "$0")/.."
DIR=${BENCH_DIR:-bench/data}
export BENCH_DIR=$DIR
mkdir -p "$DIR" bench/results
[ "${1:-}" = --report ] || rm -f "$DIR"/parse-summary.json "$DIR"/aggregate-summary.json "$DIR"/archive-summary.json \
	"$DIR"/kafka-summary.json "$DIR"/e2e-summary.json
stage() {
	echo
	echo "== $1 ($(date -u +%H:%M:%S))"
	shift
	"$@"
}
if [ "${1:-}" != --report ]; then
	stage "parse: vigil vs simdjson On-Demand" bench/parse.sh
	stage "aggregate: parse + classify + aggregate vs parse + classify" bench/aggregate.sh
	stage "archive: vigil's writer vs zstd -3 -T1" bench/archive.sh
	# Ingest as the Kafka issue measures it: consume, parse, classify,
	# aggregate, no archive, against a bare librdkafka consumer.
	stage "ingest: vigil run vs a bare librdkafka consumer" env BENCH_ARCHIVE=off bench/kafka.sh
	stage "end to end: every sink on" bench/e2e.sh

	stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
	out="bench/results/$stamp.json"
	{
		# valid: false when a stage's vigil runs dropped records from their
		# windows (its summary's own "valid":false).
		valid=true
		cat "$DIR"/kafka-summary.json "$DIR"/e2e-summary.json 2>/dev/null | grep -q '"valid":false' && valid=false
		printf '{"date":"%s","host":{"cpus":%d,"kernel":"%s"},"vigil":"%s","valid":%s,"stages":{' "$stamp" "$(nproc)" \
			"$(uname -r)" "$(./vigil version 2>/dev/null | head -n 1)" "$valid"
		sep=
		for s in parse aggregate archive kafka e2e; do
			f="$DIR/$s-summary.json"
			[ -s "$f" ] || continue
			printf '%s"%s":%s' "$sep" "$s" "$(head -n 1 "$f")"
			sep=,
		done
		printf '}}\n'
	} >"$out"
	png="bench/results/$stamp.png"
	bench/plot.sh "$DIR/e2e-series.tsv" "$png" || png="(no chart: no /metrics samples)"

else
	stamp="(from $DIR)" out="$DIR/*-summary.json" png="$DIR/e2e-series.tsv"
fi
num() { sed -n "s/.*\"$1\":\\([-0-9.]*\\).*/\\1/p" | head -n 1; }
p=$(cat "$DIR/parse-summary.json")
a=$(cat "$DIR/aggregate-summary.json")
z=$(cat "$DIR/archive-summary.json")
k=$(cat "$DIR/kafka-summary.json")
e=$(cat "$DIR/e2e-summary.json")
vp=$(echo "$p" | sed 's/.*"vigil":{\([^}]*\)}.*/\1/' | num mb_per_s)
sp=$(echo "$p" | sed 's/.*"simdjson-ondemand-lines":{\([^}]*\)}.*/\1/' | num mb_per_s)
e1=$(echo "$e" | sed 's/.*"1":{\([^}]*\)}.*/\1/')
e2=$(echo "$e" | sed 's/.*"2":{\([^}]*\)}.*/\1/')
echo
echo "== vigil benchmark, $stamp, $(nproc) CPUs (results: $out, chart: $png)"
awk -v vp="$vp" -v sp="$sp" \
	-v c="$(echo "$a" | num classify_s)" -v a1="$(echo "$a" | num aggregate_1t_s)" \
	-v a2="$(echo "$a" | num aggregate_2t_s)" -v n="$(echo "$a" | num records)" \
	-v ov="$(echo "$a" | num overhead_pct)" -v sc="$(echo "$a" | num scaling_2t)" \
	-v va="$(echo "$z" | num vigil_mb_per_s)" -v za="$(echo "$z" | num zstd_mb_per_s)" \
	-v vk="$(echo "$k" | num vigil_records_per_s)" -v bk="$(echo "$k" | num bare_records_per_s)" \
	-v r1="$(echo "$e1" | num records_per_s)" -v m1="$(echo "$e1" | num mb_per_s)" \
	-v c1="$(echo "$e1" | num cpu_s_per_1m_records)" -v s1="$(echo "$e1" | num peak_rss_mb)" \
	-v x1="$(echo "$e1" | num cpu_vs_refs)" \
	-v r2="$(echo "$e2" | num records_per_s)" -v m2="$(echo "$e2" | num mb_per_s)" \
	-v c2="$(echo "$e2" | num cpu_s_per_1m_records)" -v s2="$(echo "$e2" | num peak_rss_mb)" \
	-v x2="$(echo "$e2" | num cpu_vs_refs)" 'function row(st, v, r, x) { printf "| %-38s | %-18s | %-34s | %7s |\n", st, v, r, x }
BEGIN {
	row("stage", "vigil", "reference", "ratio")
	printf "|%s|%s|%s|%s|\n", "----------------------------------------", "--------------------", "------------------------------------", "---------"
	row("parse + classify", sprintf("%.1f MB/s", vp), sprintf("simdjson On-Demand %.1f MB/s", sp), sprintf("%.2f", vp / sp))
	row("aggregate, 1 thread", sprintf("%.0f rec/s", n / a1), sprintf("parse + classify %.0f rec/s", n / c), sprintf("%.2f", 1 / (1 + ov / 100)))
	row("aggregate, 2 threads", sprintf("%.0f rec/s", n / a2), sprintf("aggregate, 1 thread %.0f rec/s", n / a1), sprintf("%.2f", sc))
	row("archive (zstd 3, fsync)", sprintf("%.1f MB/s", va), sprintf("zstd -3 -T1 %.1f MB/s", za), sprintf("%.2f", va / za))
	row("ingest (vigil run, no archive)", sprintf("%.0f rec/s", vk), sprintf("bare consumer %.0f rec/s", bk), sprintf("%.2f", vk / bk))
	row("end to end, 1 worker", sprintf("%.0f rec/s", r1), sprintf("%.1f MB/s, %.0f MB peak RSS", m1, s1), "")
	row("end to end, 2 workers", sprintf("%.0f rec/s", r2), sprintf("%.1f MB/s, %.0f MB peak RSS", m2, s2), sprintf("%.2f", r2 / r1))
	row("end to end CPU per record, 1 worker", sprintf("%.3f s/1M rec", c1), "simdjson + zstd + bare consumer", sprintf("%.2f", x1))
	row("end to end CPU per record, 2 workers", sprintf("%.3f s/1M rec", c2), "(goal: at most 1.2)", sprintf("%.2f", x2))
}'
# A stage whose vigil runs dropped records from their windows (its row: the
# median of its valid runs, or of the invalid ones if none was valid).
invalid() { # STAGE INVALID RUNS RECORDS AGGREGATED LATE
	[ "${2:-0}" -gt 0 ] || return 0
	if [ "$2" -lt "$3" ]; then
		echo "NOT A VALID RUN: $1: $2 of $3 vigil runs dropped records from their windows (its row: the valid runs)"
	else
		echo "NOT A VALID RUN: $1: $2 of $3 vigil runs dropped records from their windows (of $4 records: $5 aggregated, $6 late)"
	fi
}
invalid ingest "$(echo "$k" | num invalid_runs)" "$(echo "$k" | num runs)" "$(echo "$k" | num records)" \
	"$(echo "$k" | num vigil_aggregated)" "$(echo "$k" | num vigil_late)"
invalid "end to end, 1 worker" "$(echo "$e1" | num invalid_runs)" "$(echo "$e" | num runs)" "$(echo "$e" | num records)" \
	"$(echo "$e1" | num aggregated)" "$(echo "$e1" | num late)"
invalid "end to end, 2 workers" "$(echo "$e2" | num invalid_runs)" "$(echo "$e" | num runs)" "$(echo "$e" | num records)" \
	"$(echo "$e2" | num aggregated)" "$(echo "$e2" | num late)"

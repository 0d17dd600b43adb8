#!/usr/bin/env bash
# make demo: vigil's main job on an embedded default. Starts the embedded
# Kafka broker, streams generated service logs into it, runs the pipeline
# as a consumer group until it has read everything, and shows what came out.
# Everything it starts, it stops.
set -eu
cd "$(dirname "$0")/.."
RECORDS=${DEMO_RECORDS:-200000}
out=build/demo
mkdir -p "$out"
tmp=$(mktemp -d)
. scripts/embedded-broker.sh
trap 'stop_embedded_broker; rm -rf "$tmp"' EXIT
# 24 partitions: the embedded broker keeps the last 5 MiB of each.
start_embedded_broker --topic logs:24
B=$BROKERS
echo "== embedded Kafka broker at $B (topic logs, 24 partitions)"
echo "== producing $RECORDS generated service log records (bench/gen | vigil produce)"
bench/gen --count "$RECORDS" --seed 42 | ./vigil produce --brokers "$B" --topic logs
echo "== vigil run: consumer group 'demo', until every partition is at its end"
rm -rf "$out/archive"
./vigil run --brokers "$B" --topic logs --group demo --exit-at-end --windows "$out/windows.ndjson" \
	--archive "$out/archive" 2>"$out/run.log"
echo "== summary (last line of $out/run.log):"
tail -n 1 "$out/run.log"
echo "== the slowest endpoints in the first window ($out/windows.ndjson):"
head -n 400 "$out/windows.ndjson" | grep '"p99"' |
	awk -F'"p99":' '{ split($2, a, ","); print a[1] "\t" $0 }' | sort -g | tail -n 3 | cut -f 2-
echo "== 5xx error rates above 2% in any window:"
grep '"error_rate"' "$out/windows.ndjson" | awk -F'"error_rate":' '{ split($2, a, ","); if (a[1] > 0.02) print }' | head -n 3
echo "== archive ($out/archive): $(find "$out/archive" -name '*.jsonl.zst' | wc -l) files, $(du -sh "$out/archive" | cut -f1); read it back with:"
echo "   find $out/archive -name '*.jsonl.zst' | head -n 1 | xargs zstdcat | head -n 2"
echo "== records by category and level, all windows:"
grep '"level"' "$out/windows.ndjson" | sed -E 's/.*"category":"([^"]*)","level":"([^"]*)","count":([0-9]+).*/\1 \2 \3/' |
	awk '{ c[$1 " " $2] += $3 } END { for (k in c) printf "%8d %s\n", c[k], k }' | sort -rn | head -n 8

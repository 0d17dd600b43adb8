#!/bin/sh
# make bench-archive: in one run, interleaved, median of BENCH_RUNS (default
# 3): vigil's archive writer (bench/bench_archive: frames per flush, fsync,
# files by retention, category and hour) against the stock `zstd -LEVEL -T1`
# on the same bytes; throughput and compressed size.
set -eu
RECORDS=${BENCH_RECORDS:-1000000}
RUNS=${BENCH_RUNS:-3}
LEVEL=${BENCH_LEVEL:-3}
DIR=${BENCH_DIR:-bench/data}
mkdir -p "$DIR"
. bench/corpus.sh
corpus_for "$RECORDS"
tmp=$(mktemp -d "$DIR/archive-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
bytes=$(wc -c <"$corpus")
res="$DIR/archive-results.txt"
: >"$res"
for r in $(seq "$RUNS"); do
	[ -t 2 ] && printf 'archive.sh: run %d/%d\r' "$r" "$RUNS" >&2
	rm -rf "$tmp/a"
	s=$(bench/bench_archive "$corpus" "$tmp/a" "$LEVEL" | sed -n 's/.*"seconds":\([0-9.]*\).*/\1/p')
	size=$(find "$tmp/a" -name '*.jsonl.zst' -exec cat {} + | wc -c)
	echo "vigil $s $size" >>"$res"
	t0=$(date +%s.%N)
	/usr/bin/time -f '%U %S' -o "$tmp/time" zstd -q -f -"$LEVEL" -T1 "$corpus" -o "$tmp/z.zst"
	t1=$(date +%s.%N)
	echo "zstd $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') $(wc -c <"$tmp/z.zst") $(awk '{ print $1 + $2 }' "$tmp/time")" >>"$res"
done
[ -t 2 ] && printf '\n' >&2
awk -v bytes="$bytes" -v runs="$RUNS" -v level="$LEVEL" -v records="$RECORDS" -v summary="$DIR/archive-summary.json" '
	{ n[$1]++; s[$1, n[$1]] = $2; z[$1, n[$1]] = $3; c[$1, n[$1]] = $4 }
	function med(t, arr,   i, j, m, v, x) { m = n[t]; for (i = 1; i <= m; i++) v[i] = arr[t, i]
		for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] < v[i]) { x = v[i]; v[i] = v[j]; v[j] = x }
		return v[int((m + 1) / 2)] }
	END {
		sv = med("vigil", s); zv = med("vigil", z); sz = med("zstd", s); zz = med("zstd", z)
		printf "archive benchmark: %.1f MB, zstd level %d, median of %d runs (interleaved)\n", bytes / 1e6, level, runs
		printf "%-44s %9s %12s %8s\n", "writer", "MB/s", "compressed", "ratio"
		printf "%-44s %9.1f %12d %8.2f\n", "vigil archive (frames, fsync, by class/hour)", bytes / 1e6 / sv, zv, bytes / zv
		printf "%-44s %9.1f %12d %8.2f\n", "zstd -" level " -T1 (one stream)", bytes / 1e6 / sz, zz, bytes / zz
		printf "throughput vigil/zstd: %.2f (target >= 0.9); size vigil/zstd: %.3f (target within 5%%)\n", sz / sv, zv / zz
		cz = med("zstd", c)
		printf "{\"benchmark\":\"archive\",\"records\":%d,\"bytes\":%d,\"level\":%d,\"vigil_mb_per_s\":%.1f,\"zstd_mb_per_s\":%.1f,\"ratio\":%.3f,\"size_ratio\":%.4f,\"zstd_cpu_s_per_1m_records\":%.4f}\n", records, bytes, level, bytes / 1e6 / sv, bytes / 1e6 / sz, sz / sv, zv / zz, cz / records * 1e6 > summary
	}' "$res"

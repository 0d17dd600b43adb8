#!/usr/bin/env bash
# make bench-kafka-compare VIGILS="LABEL=BINARY[,ARG...] ...": the CPU of two
# or more vigil binaries (or one binary with different options) in Kafka
# mode, measured in one session. bench-kafka's figures from two sessions do
# not compare: this machine's load and the topic's batches (the producer's
# random partitioner and linger) differ between them by 10% or more.
#
# One embedded broker (the first binary's) and one topic, produced once;
# then BENCH_RUNS rounds (default 5), in each of which every binary runs
# `vigil run --exit-at-end` over the whole topic with a fresh consumer group
# and archive directory. The order alternates between rounds (A B, B A...).
# ARGs (comma-separated) are passed to that binary's run, e.g.
# VIGILS="main=build/vigil main-nohttp=build/vigil,--http,off". A run gets
# --http 127.0.0.1:PORT on a free port unless its ARGs name --http.
#
# Prints per label the medians of CPU (user+sys) s per 1M records, user,
# sys, wall and the summary's consume_seconds, and for each label after the
# first the per-round CPU ratio to the first (median, min, max). A run whose
# windows dropped records (aggregated != records - rejected, or late > 0) is
# not valid and left out. Every run's line goes to $DIR/kafka-compare.tsv.
# The corpus is corpus_for's (bench/corpus.sh; BENCH_DIR), or $CORPUS.
set -eu
RECORDS=${BENCH_RECORDS:-1000000}
RUNS=${BENCH_RUNS:-5}
DIR=${BENCH_DIR:-bench/data}
PARTS=${BENCH_PARTITIONS:-128}
[ $# -ge 2 ] || { echo "usage: $0 LABEL=BINARY[,ARG...] LABEL=BINARY[,ARG...]..." >&2; exit 2; }
labels=() bins=() args=()
for spec in "$@"; do
	labels+=("${spec%%=*}")
	rest=${spec#*=}
	bins+=("${rest%%,*}")
	case $rest in *,*) args+=("${rest#*,}") ;; *) args+=("") ;; esac
	[ -x "${bins[-1]}" ] || { echo "$0: ${bins[-1]} is not executable" >&2; exit 2; }
done
mkdir -p "$DIR"
if [ -n "${CORPUS:-}" ]; then
	corpus=$CORPUS
	cat "$corpus" >/dev/null
else
	. bench/corpus.sh
	corpus_for "$RECORDS"
fi
tmp=$(mktemp -d)
broker_pid=
stop_broker() {
	[ -n "$broker_pid" ] && kill -TERM "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
	exec 9>&- 2>/dev/null || true
}
trap 'stop_broker; rm -rf "$tmp"' EXIT
mkfifo "$tmp/broker.in"
"${bins[0]}" broker --topic "bench:$PARTS" <"$tmp/broker.in" >"$tmp/broker.out" 2>"$tmp/broker.err" &
broker_pid=$!
exec 9>"$tmp/broker.in"
for _ in $(seq 100); do [ -s "$tmp/broker.out" ] && break; sleep 0.1; done
B=$(head -n 1 "$tmp/broker.out")
[ -n "$B" ] || { echo "embedded broker did not start: $(cat "$tmp/broker.err")" >&2; exit 1; }
echo "kafka_compare.sh: producing $corpus into $PARTS partitions at $B" >&2
"${bins[0]}" produce --brokers "$B" --topic bench "$corpus" 2>"$tmp/produce.json"
# free_port: as tests/lib.sh's, below the ephemeral range.
free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 12768))
		ss -Hltn "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return 0; }
	done
	return 1
}
# top NAME: a top-level number of vigil's summary line (as in kafka.sh).
top() { sed -n -e 's/^{//; s/}$//' -e ':a' -e 's/{[^{}]*}/()/g' -e 'ta' -e "s/^\\(.*,\\)\\{0,1\\}\"$1\":\\([0-9.]*\\).*/\\2/p"; }
res=$DIR/kafka-compare.tsv
printf 'label\tround\tuser\tsys\tcpu_s_per_1m\twall\trss_kb\trecords\trejected\taggregated\tlate\tconsume_s\tvalid\n' >"$res"
n=${#bins[@]}
for r in $(seq "$RUNS"); do
	[ -t 2 ] && printf 'kafka_compare.sh: round %d/%d\r' "$r" "$RUNS" >&2
	for k in $(seq 0 $((n - 1))); do
		i=$((r % 2 ? k : n - 1 - k))
		extra=()
		[ -n "${args[$i]}" ] && IFS=, read -r -a extra <<<"${args[$i]}"
		case ",${args[$i]}," in *,--http,*) ;; *) extra+=(--http "127.0.0.1:$(free_port)") ;; esac
		rm -rf "$tmp/archive"
		/usr/bin/time -f '%U %S %e %M' -o "$tmp/time" "${bins[$i]}" run --brokers "$B" --topic bench \
			--group "compare$r-$i" --exit-at-end --archive "$tmp/archive" "${extra[@]}" \
			2>"$tmp/vigil.err" >/dev/null || true
		read -r u s e m <"$tmp/time"
		sum=$(tail -n 1 "$tmp/vigil.err")
		recs=$(echo "$sum" | top records) rej=$(echo "$sum" | top rejected)
		agg=$(echo "$sum" | top aggregated) late=$(echo "$sum" | top late)
		cs=$(echo "$sum" | top consume_seconds)
		valid=no
		[ -n "$recs" ] && [ -n "$agg" ] && [ "${late:-1}" = 0 ] && [ "$agg" = $((recs - ${rej:-0})) ] && valid=yes
		printf '%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "${labels[$i]}" "$r" "$u" "$s" \
			"$(awk -v u="$u" -v s="$s" -v n="${recs:-0}" 'BEGIN { printf "%.4f", n ? (u + s) / n * 1e6 : 0 }')" \
			"$e" "$m" "${recs:--}" "${rej:--}" "${agg:--}" "${late:--}" "${cs:--}" "$valid" >>"$res"
	done
done
[ -t 2 ] && printf '\n' >&2
awk -F'\t' -v first="${labels[0]}" -v runs="$RUNS" -v recs="$RECORDS" -v parts="$PARTS" '
	NR == 1 { next }
	!($1 in seen) { seen[$1] = 1; order[++nl] = $1 }
	$13 != "yes" { bad[$1]++; printf "NOT A VALID RUN: %s round %d: %s records, %s rejected, %s aggregated into windows, %s late\n", $1, $2, $8, $9, $10, $11; next }
	{ k = $1; m = ++nc[k]; c[k, m] = $5; u[k, m] = $3; s[k, m] = $4; w[k, m] = $6; cs[k, m] = $12; byr[k, $2] = $5 }
	function med(k, a, m,   i, j, t, v) {
		for (i = 1; i <= m; i++) v[i] = a[k, i]
		for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
		return m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
	}
	END {
		printf "kafka compare: %d records, %d partitions, embedded broker, %d interleaved rounds, medians of the valid runs\n", recs, parts, runs
		printf "%-20s %5s %13s %8s %8s %8s %10s\n", "vigil", "valid", "CPU s/1M rec", "user s", "sys s", "wall s", "consume s"
		for (i = 1; i <= nl; i++) { k = order[i]; m = nc[k]
			printf "%-20s %2d/%-2d %13.3f %8.2f %8.2f %8.2f %10.2f\n", k, m, m + bad[k], med(k, c, m), med(k, u, m), med(k, s, m), med(k, w, m), med(k, cs, m) }
		for (i = 2; i <= nl; i++) { k = order[i]; m = 0; lo = hi = ""
			for (r = 1; r <= runs; r++) if ((k, r) in byr && (first, r) in byr) {
				q[k, ++m] = byr[k, r] / byr[first, r]
				if (lo == "" || q[k, m] < lo) lo = q[k, m]
				if (hi == "" || q[k, m] > hi) hi = q[k, m]
			}
			if (m) printf "CPU ratio %s / %s: median %.3f over %d rounds (min %.3f, max %.3f)\n", k, first, med(k, q, m), m, lo, hi
		}
	}' "$res"

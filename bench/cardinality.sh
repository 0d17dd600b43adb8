#!/bin/sh
# make bench-cardinality: what endpoint cardinality costs the alert rules.
# Four streams from bench/gen (seed 1), each run through vigil aggregate
# --quiet --threads 1 with the shipped rules and with the rules off
# (rules.files: []), BENCH_RUNS times interleaved (default 3); prints the
# median wall time, the median CPU time (user + system: on a shared machine
# the steadier figure, as waiting for a core adds wall time, not CPU) and
# the largest peak RSS (/usr/bin/time -v) of each:
#   normal    3M records over 90 minutes of event time (555/s)
#   scanner   the same with 2% of requests turned into 404s on random
#             /xxxxxxxx.php paths (--incident scanner)
#   words     200k records over 10 minutes, every path a random word of
#             300,000 (--incident words)
#   words1m   1M records over 50 minutes, the same
# BENCH_CARD_STREAMS picks some of them (e.g. "words scanner");
# VIGIL=path measures another binary (the one before a change).
set -eu
RUNS=${BENCH_RUNS:-3}
DIR=${BENCH_DIR:-bench/data}
VIGIL=${VIGIL:-./vigil}
STREAMS=${BENCH_CARD_STREAMS:-normal scanner words words1m}
mkdir -p "$DIR"
command -v /usr/bin/time >/dev/null || { echo "cardinality.sh: needs /usr/bin/time (GNU time)" >&2; exit 1; }
norules="$DIR/cardinality-norules.yaml"
printf 'rules:\n  files: []\n' >"$norules"
gen_args() {
	case $1 in
	normal) echo "--count 3000000 --rate 555" ;;
	scanner) echo "--count 3000000 --rate 555 --incident scanner@0+90m" ;;
	words) echo "--count 200000 --rate 333 --incident words@0+10m" ;;
	words1m) echo "--count 1000000 --rate 333 --incident words@0+50m" ;;
	esac
}
res="$DIR/cardinality-results.txt"
: >"$res"
for s in $STREAMS; do
	f="$DIR/card-$s.ndjson"
	if [ ! -s "$f" ] || [ bench/gen -nt "$f" ]; then
		echo "cardinality.sh: generating $f" >&2
		# shellcheck disable=SC2046
		bench/gen --seed 1 $(gen_args "$s") >"$f.tmp" && mv "$f.tmp" "$f"
	fi
done
i=0
while [ "$i" -lt "$RUNS" ]; do
	i=$((i + 1))
	for s in $STREAMS; do
		f="$DIR/card-$s.ndjson"
		cat "$f" >/dev/null
		for mode in rules norules; do
			c=""
			[ "$mode" = norules ] && c="-c $norules"
			# shellcheck disable=SC2086
			/usr/bin/time -v "$VIGIL" aggregate $c --quiet --threads 1 "$f" >/dev/null 2>"$DIR/card.time" ||
				{ echo "cardinality.sh: vigil aggregate failed on $f" >&2; tail -n 3 "$DIR/card.time" >&2; exit 1; }
			wall=$(awk -F': ' '/Elapsed/ { n = split($2, p, ":"); s = 0; for (k = 1; k <= n; k++) s = s * 60 + p[k]; print s }' "$DIR/card.time")
			rss=$(awk -F': ' '/Maximum resident/ { print $2 }' "$DIR/card.time")
			cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { print s }' "$DIR/card.time")
			echo "$s $mode $wall $rss $cpu" >>"$res"
		done
	done
done
printf '%-9s %11s %11s %11s %11s %14s %14s\n' stream "wall rules" "wall off" "cpu rules" "cpu off" \
	"peak RSS rules" "peak RSS off"
for s in $STREAMS; do
	# med MODE COLUMN: the median of a column over the runs
	med() { awk -v s="$s" -v m="$1" -v c="$2" '$1 == s && $2 == m { print $c }' "$res" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
	top() { awk -v s="$s" -v m="$1" '$1 == s && $2 == m && $4 > x { x = $4 } END { print x }' "$res"; }
	printf '%-9s %10.2fs %10.2fs %10.2fs %10.2fs %11.0f MB %11.0f MB\n' "$s" "$(med rules 3)" "$(med norules 3)" \
		"$(med rules 5)" "$(med norules 5)" \
		"$(echo "$(top rules)" | awk '{ print $1 / 1024 }')" "$(echo "$(top norules)" | awk '{ print $1 / 1024 }')"
done

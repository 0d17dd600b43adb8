#!/bin/sh
# bench/plot.sh SERIES PNG: the end-to-end run's chart. SERIES has lines
# "seconds workers records lag" (bench/e2e.sh's scrape of /metrics, once a
# second); the chart shows records/s (from successive scrapes) and the
# consumer lag over the run, one line per worker count.
set -eu
series=$1
png=$2
data=$(mktemp)
trap 'rm -f "$data"' EXIT
# One gnuplot data block per worker count: seconds, records/s, lag.
awk '
	$2 != w { if (w != "") printf "\n\n"; w = $2; pt = ""; blocks++ }
	{ if (pt != "" && $1 > pt) printf "%s %.0f %s\n", $1, ($3 - pr) / ($1 - pt), $4; pt = $1; pr = $3 }
	END { if (!blocks) exit 1 }' "$series" >"$data" || { echo "plot.sh: no samples in $series" >&2; exit 1; }
gnuplot <<EOF
set terminal pngcairo size 1000,600
set output "$png"
set title "vigil end-to-end: throughput and consumer lag"
set xlabel "seconds"
set ylabel "records/s"
set y2label "lag (messages)"
set ytics nomirror
set y2tics
set key top right
set grid
plot "$data" index 0 using 1:2 with lines lw 2 title "records/s, 1 worker", \
     "$data" index 0 using 1:3 axes x1y2 with lines dt 2 title "lag, 1 worker", \
     "$data" index 1 using 1:2 with lines lw 2 title "records/s, 2 workers", \
     "$data" index 1 using 1:3 axes x1y2 with lines dt 2 title "lag, 2 workers"
EOF

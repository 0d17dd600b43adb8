#!/bin/sh
# bench/parse.sh - driver for `make bench-parse`.
#
# Compares vigil's extract+classify (bench/bench_parse) with simdjson
# On-Demand extracting the same fields (bench/ref_simdjson, one document per
# line and iterate_many), all over the same NDJSON corpus held in memory.
#
# Usage: bench/parse.sh [--records N] [--runs N] [--dir DIR] [NAME=VALUE...]
# Settings (environment, NAME=VALUE arguments or the options above):
#   BENCH_RECORDS  corpus size in records            (default 1000000)
#   BENCH_RUNS     rounds, at least 3                (default 5)
#   BENCH_DIR      corpus and results directory      (default bench/data)
#
# The corpus is generated once, by `bench/gen --count N --seed 1`, into
# $BENCH_DIR/corpus-N.ndjson, and regenerated when missing or older than
# bench/gen. Each round runs vigil, simdjson lines and simdjson many one
# after the other (interleaved, so drift hits all three alike). Every
# program prints one JSON line
#   {"tool":T,"records":N,"errors":N,"bytes":B,"seconds":S,"cpu_seconds":C,"checksum":X}
# which is appended to $BENCH_DIR/parse-results.jsonl. The table uses the
# median of seconds and cpu_seconds per tool; the summary is also written as
# one JSON line to $BENCH_DIR/parse-summary.json.
#
# Exits non-zero when a program fails, prints no usable JSON line, or
# reports records=0.
set -eu

prog=parse.sh
SEED=1   # fixed: the corpus file name only encodes the record count

die() {
	echo "$prog: $*" >&2
	exit 1
}

usage() {
	sed -n '8,12p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--records) [ $# -ge 2 ] || usage; BENCH_RECORDS=$2; shift ;;
	--records=*) BENCH_RECORDS=${1#*=} ;;
	--runs) [ $# -ge 2 ] || usage; BENCH_RUNS=$2; shift ;;
	--runs=*) BENCH_RUNS=${1#*=} ;;
	--dir) [ $# -ge 2 ] || usage; BENCH_DIR=$2; shift ;;
	--dir=*) BENCH_DIR=${1#*=} ;;
	BENCH_RECORDS=*) BENCH_RECORDS=${1#*=} ;;
	BENCH_RUNS=*) BENCH_RUNS=${1#*=} ;;
	BENCH_DIR=*) BENCH_DIR=${1#*=} ;;
	-h | --help) usage ;;
	*) echo "$prog: unknown argument '$1'" >&2; usage ;;
	esac
	shift
done

BENCH_RECORDS=${BENCH_RECORDS:-1000000}
BENCH_RUNS=${BENCH_RUNS:-5}
BENCH_DIR=${BENCH_DIR:-bench/data}

case $BENCH_RECORDS in '' | *[!0-9]*) die "BENCH_RECORDS must be a positive integer, got '$BENCH_RECORDS'" ;; esac
case $BENCH_RUNS in '' | *[!0-9]*) die "BENCH_RUNS must be a positive integer, got '$BENCH_RUNS'" ;; esac
# Strip leading zeros so the values are plain decimal everywhere.
BENCH_RECORDS=$(awk -v n="$BENCH_RECORDS" 'BEGIN { printf "%d", n }')
BENCH_RUNS=$(awk -v n="$BENCH_RUNS" 'BEGIN { printf "%d", n }')
[ "$BENCH_RECORDS" -gt 0 ] || die "BENCH_RECORDS must be > 0"
if [ "$BENCH_RUNS" -lt 3 ]; then
	echo "$prog: BENCH_RUNS=$BENCH_RUNS raised to the minimum of 3" >&2
	BENCH_RUNS=3
fi

# The programs live next to this script; BENCH_DIR is relative to the
# current directory (the repository root under make).
bindir=$(cd "$(dirname "$0")" && pwd)
GEN=$bindir/gen
VIGIL=$bindir/bench_parse
REF=$bindir/ref_simdjson

for b in "$VIGIL" "$REF"; do
	[ -x "$b" ] || die "$b is missing or not executable (build it first: make bench-parse)"
done

mkdir -p "$BENCH_DIR"
corpus=$BENCH_DIR/corpus-$BENCH_RECORDS.ndjson
results=$BENCH_DIR/parse-results.jsonl
summary=$BENCH_DIR/parse-summary.json

tmp=
trap 'rm -f ${tmp:+"$tmp"}' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- corpus ---------------------------------------------------------------
# "Older than bench/gen" via find -newer (test -nt is not POSIX).
if [ ! -s "$corpus" ] || { [ -e "$GEN" ] && [ -n "$(find "$GEN" -prune -newer "$corpus")" ]; }; then
	[ -x "$GEN" ] || die "$GEN is missing or not executable (build it first: make bench-parse)"
	echo "$prog: generating $corpus ($BENCH_RECORDS records, seed $SEED)" >&2
	tmp=$corpus.tmp.$$
	"$GEN" --count "$BENCH_RECORDS" --seed "$SEED" >"$tmp" ||
		die "'$GEN --count $BENCH_RECORDS --seed $SEED' failed"
	[ -s "$tmp" ] || die "$GEN produced an empty corpus"
	mv -f "$tmp" "$corpus"
	tmp=
fi
corpus_bytes=$(wc -c <"$corpus" | tr -d ' ')

# ---- JSON field access for awk (flat objects, as our programs print) ------
AWK_JSON='
function jraw(s, k,    i, r) {
	i = index(s, "\"" k "\"")
	if (!i) return ""
	r = substr(s, i + length(k) + 2)
	if (!sub(/^[ \t]*:[ \t]*/, "", r)) return ""
	return r
}
function jnum(s, k,    r) {
	r = jraw(s, k)
	if (match(r, /^-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?/)) return substr(r, 1, RLENGTH)
	return ""
}
function jstr(s, k,    r) {
	r = jraw(s, k)
	if (match(r, /^"[^"]*"/)) return substr(r, 2, RLENGTH - 2)
	return ""
}
'

# run_one ROUND TOOL COMMAND...: run, validate, append the line to $results.
run_one() {
	round=$1 want=$2
	shift 2
	if ! out=$("$@"); then
		die "run $round/$BENCH_RUNS: '$*' failed"
	fi
	line=$(printf '%s\n' "$out" | awk 'NF { l = $0 } END { print l }')
	[ -n "$line" ] || die "run $round/$BENCH_RUNS: '$*' printed nothing"
	# Prints "seconds records errors bytes" or the reason the line is unusable.
	if ! info=$(printf '%s\n' "$line" | awk -v want="$want" "$AWK_JSON"'
		{
			t = jstr($0, "tool"); r = jnum($0, "records"); e = jnum($0, "errors")
			b = jnum($0, "bytes"); s = jnum($0, "seconds"); c = jnum($0, "cpu_seconds")
			if (t != want) { print "tool is \"" t "\", expected \"" want "\""; exit 1 }
			if (r == "" || e == "" || b == "" || s == "" || c == "") {
				print "missing records/errors/bytes/seconds/cpu_seconds"; exit 1
			}
			if (r + 0 <= 0) { print "records=0"; exit 1 }
			if (s + 0 <= 0) { print "seconds=" s; exit 1 }
			printf "%.4f %d %d %.0f\n", s, r, e, b
		}'); then
		die "run $round/$BENCH_RUNS: '$*': $info; output: $line"
	fi
	printf '%s\n' "$line" >>"$results"
	# shellcheck disable=SC2086 # split "seconds records errors bytes"
	set -- $info
	if [ "$round" -eq 1 ] && [ "$3" -ne 0 ]; then
		echo "$prog: warning: $want reported $3 errors" >&2
	fi
	if [ "$round" -eq 1 ] && [ "$4" != "$corpus_bytes" ]; then
		echo "$prog: warning: $want reported $4 bytes, the corpus has $corpus_bytes" >&2
	fi
	if [ -t 2 ]; then
		printf '%s: run %d/%d  %-24s %9s s  %d records\n' "$prog" "$round" "$BENCH_RUNS" "$want" "$1" "$2" >&2
	fi
}

# ---- interleaved runs -----------------------------------------------------
: >"$results"
round=1
while [ "$round" -le "$BENCH_RUNS" ]; do
	run_one "$round" vigil "$VIGIL" "$corpus"
	run_one "$round" simdjson-ondemand-lines "$REF" "$corpus" --mode lines
	run_one "$round" simdjson-ondemand-many "$REF" "$corpus" --mode many
	round=$((round + 1))
done

# ---- medians, table, summary ----------------------------------------------
awk -v nrec="$BENCH_RECORDS" -v cbytes="$corpus_bytes" -v runs="$BENCH_RUNS" \
	-v summary="$summary" -v corpus="$corpus" -v prog="$prog" "$AWK_JSON"'
function median(tool, key,    m, i, j, v, a) {
	m = cnt[tool]
	for (i = 1; i <= m; i++) {
		v = val[tool, key, i]
		for (j = i - 1; j >= 1 && a[j] > v; j--) a[j + 1] = a[j]
		a[j + 1] = v
	}
	if (m % 2) return a[(m + 1) / 2]
	return (a[m / 2] + a[m / 2 + 1]) / 2
}
function jesc(s) {
	gsub(/\\/, "\\\\", s)
	gsub(/"/, "\\\"", s)
	return s
}
{
	t = jstr($0, "tool")
	n = ++cnt[t]
	val[t, "s", n] = jnum($0, "seconds") + 0
	val[t, "c", n] = jnum($0, "cpu_seconds") + 0
	rec[t] = jnum($0, "records") + 0
	err[t] = jnum($0, "errors") + 0
	byt[t] = jnum($0, "bytes") + 0
}
END {
	ntools = split("vigil simdjson-ondemand-lines simdjson-ondemand-many", tools, " ")
	label["vigil"] = "vigil (extract+classify)"
	label["simdjson-ondemand-lines"] = "simdjson on-demand lines"
	label["simdjson-ondemand-many"] = "simdjson on-demand many"
	for (i = 1; i <= ntools; i++) {
		t = tools[i]
		if (cnt[t] < 1) { printf "%s: no results for %s\n", prog, t > "/dev/stderr"; exit 1 }
		ms[t] = median(t, "s")
		mc[t] = median(t, "c")
		if (ms[t] <= 0) { printf "%s: median seconds of %s is 0\n", prog, t > "/dev/stderr"; exit 1 }
		rps[t] = rec[t] / ms[t]
		bps[t] = byt[t] / ms[t]
		cpm[t] = mc[t] / rec[t] * 1e6
	}
	if (rec["vigil"] != rec["simdjson-ondemand-lines"] || rec["vigil"] != rec["simdjson-ondemand-many"])
		printf "%s: warning: record counts differ: vigil %d, simdjson lines %d, many %d\n", prog,
			rec["vigil"], rec["simdjson-ondemand-lines"], rec["simdjson-ondemand-many"] > "/dev/stderr"
	for (i = 1; i <= ntools; i++) vs[tools[i]] = bps[tools[i]] / bps["vigil"]
	rl = bps["vigil"] / bps["simdjson-ondemand-lines"]
	rm = bps["vigil"] / bps["simdjson-ondemand-many"]

	printf "parse benchmark: %d records, %.1f MB, median of %d runs (interleaved)\n", nrec, cbytes / 1e6, runs
	printf "%-24s %10s %9s %14s %10s\n", "tool", "records/s", "MB/s", "CPU s/1M rec", "vs vigil"
	for (i = 1; i <= ntools; i++) {
		t = tools[i]
		printf "%-24s %10.0f %9.1f %14.3f %9.2fx\n", label[t], rps[t], bps[t] / 1e6, cpm[t], vs[t]
	}
	printf "ratio vigil/simdjson-lines: %.2f   vigil/simdjson-many: %.2f\n", rl, rm

	s = sprintf("{\"benchmark\":\"parse\",\"records\":%d,\"bytes\":%d,\"runs\":%d,\"interleaved\":true,\"corpus\":\"%s\",\"tools\":{", nrec, cbytes, runs, jesc(corpus))
	for (i = 1; i <= ntools; i++) {
		t = tools[i]
		s = s sprintf("%s\"%s\":{\"records\":%d,\"errors\":%d,\"bytes\":%d,\"median_seconds\":%.6f,\"median_cpu_seconds\":%.6f,\"records_per_s\":%.0f,\"mb_per_s\":%.2f,\"cpu_s_per_1m_records\":%.4f,\"vs_vigil\":%.4f}", (i > 1 ? "," : ""), t, rec[t], err[t], byt[t], ms[t], mc[t], rps[t], bps[t] / 1e6, cpm[t], vs[t])
	}
	s = s sprintf("},\"ratio_vigil_simdjson_lines\":%.4f,\"ratio_vigil_simdjson_many\":%.4f}", rl, rm)
	print s > summary
}' "$results"

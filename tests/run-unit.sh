#!/usr/bin/env bash
# Run Criterion test binaries; print each one's synthesis and a total.
# They run side by side, TEST_JOBS at a time (default 2; each runs its
# tests 2 at a time), and are reported in the order given (tests/pool.bash).
# Appends "PASSED FAILED" to $TEST_RESULTS when set.
set -u
. "$(dirname "$0")/pool.bash"
passed=0 failed=0

unit_done() {
	local name=$1 rc=$2 out=$4 syn p f c
	syn=$(grep -a 'Synthesis:' "$out" | tail -n 1)
	p=$(printf '%s' "$syn" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
	f=$(printf '%s' "$syn" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
	c=$(printf '%s' "$syn" | sed -n 's/.*Crashing: \([0-9]*\).*/\1/p')
	p=${p:-0} f=${f:-0} c=${c:-0}
	if [ "$rc" -ne 0 ] || [ -z "$syn" ]; then
		grep -av '^\[----\] *$' "$out" | tail -n 40 # with the assertions' [----] lines
		[ "$f" -eq 0 ] && [ "$c" -eq 0 ] && f=1 # crashed before its synthesis
	fi
	printf '%-34s %s\n' "$name" "${syn#*Synthesis: }"
	passed=$((passed + p))
	failed=$((failed + f + c))
}

for t in "$@"; do pool_add "$(basename "$t")" "$t" --jobs 2; done
pool_init "${TEST_JOBS:-2}"
pool_run $(seq 0 $(($# - 1))) unit_done
echo "unit: $passed passed, $failed failed"
[ -n "${TEST_RESULTS:-}" ] && echo "$passed $failed" >>"$TEST_RESULTS"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# Run Criterion test binaries; print each one's synthesis and a total.
# Appends "PASSED FAILED" to $TEST_RESULTS when set.
set -u
passed=0 failed=0
for t in "$@"; do
	out=$("$t" --jobs 2 2>&1)
	rc=$?
	syn=$(printf '%s\n' "$out" | grep -a 'Synthesis:' | tail -n 1)
	p=$(printf '%s' "$syn" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
	f=$(printf '%s' "$syn" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
	c=$(printf '%s' "$syn" | sed -n 's/.*Crashing: \([0-9]*\).*/\1/p')
	p=${p:-0} f=${f:-0} c=${c:-0}
	if [ "$rc" -ne 0 ] || [ -z "$syn" ]; then
		printf '%s\n' "$out" | grep -av '^\[----\]' | tail -n 40
		[ "$f" -eq 0 ] && [ "$c" -eq 0 ] && f=1 # crashed before its synthesis
	fi
	printf '%-34s %s\n' "$(basename "$t")" "${syn#*Synthesis: }"
	passed=$((passed + p))
	failed=$((failed + f + c))
done
echo "unit: $passed passed, $failed failed"
[ -n "${TEST_RESULTS:-}" ] && echo "$passed $failed" >>"$TEST_RESULTS"
[ "$failed" -eq 0 ]

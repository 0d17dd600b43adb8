#!/usr/bin/env bash
# Run every tests/integration/*.sh and tests/reliability/*.sh against $VIGIL
# (TEST_SCRIPTS, a list of globs, to run others). Each script prints
# "ok NAME" or "FAIL NAME: why" per check (see tests/lib.sh).
# Appends "PASSED FAILED" to $TEST_RESULTS when set.
set -u
cd "$(dirname "$0")/.."
export VIGIL=${VIGIL:-build/vigil}
case "$VIGIL" in /*) ;; *) VIGIL=$PWD/$VIGIL ;; esac
passed=0 failed=0
for t in ${TEST_SCRIPTS:-tests/integration/*.sh tests/reliability/*.sh}; do
	t0=$SECONDS
	out=$(bash "$t" 2>&1)
	rc=$?
	p=$(printf '%s\n' "$out" | grep -c '^ok ')
	f=$(printf '%s\n' "$out" | grep -c '^FAIL ')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		out="$out
FAIL $(basename "$t"): exited $rc"
	fi
	printf '%s\n' "$out" | grep -E '^(FAIL|note)' || true
	printf '%-34s %d passed, %d failed (%ds)\n' "$(basename "$t")" "$p" "$f" $((SECONDS - t0))
	passed=$((passed + p))
	failed=$((failed + f))
done
echo "integration: $passed passed, $failed failed"
[ -n "${TEST_RESULTS:-}" ] && echo "$passed $failed" >>"$TEST_RESULTS"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# Run every tests/integration/*.sh and tests/reliability/*.sh against $VIGIL
# (TEST_SCRIPTS, a list of globs, to run others). Each script prints "ok
# NAME" or "FAIL NAME: why" per check (see tests/lib.sh).
#
# The scripts run side by side, TEST_JOBS at a time (default 4; 1 runs them
# one after another): each starts its own broker and processes, on ports
# the system picks, in a directory of its own (tests/lib.sh). Each one's
# FAIL and note lines and its count are printed once it has ended, in the
# order of the globs. The longest start first: TEST_TIMES names a file of
# the seconds each took last time, rewritten at the end; scripts it does
# not know start before the others.
#
# Appends "PASSED FAILED" to $TEST_RESULTS when set.
set -u
cd "$(dirname "$0")/.."
. tests/pool.bash
export VIGIL=${VIGIL:-build/vigil}
case "$VIGIL" in /*) ;; *) VIGIL=$PWD/$VIGIL ;; esac
TIMES=${TEST_TIMES:-}
passed=0 failed=0
declare -A took

scripts=(${TEST_SCRIPTS:-tests/integration/*.sh tests/reliability/*.sh})
for t in "${scripts[@]}"; do pool_add "$(basename "$t")" bash "$t"; done

# The start order: unknown scripts first, then by the seconds they took.
order=$(
	for i in "${!scripts[@]}"; do
		s=$([ -n "$TIMES" ] && awk -v n="$(basename "${scripts[$i]}")" '$1 == n { print $2 }' "$TIMES" 2>/dev/null)
		echo "${s:-999999} $i"
	done | sort -k1,1nr -k2,2n | cut -d' ' -f2
)

script_done() {
	local name=$1 rc=$2 secs=$3 out=$4 p f
	p=$(grep -c '^ok ' "$out")
	f=$(grep -c '^FAIL ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "FAIL $name: exited $rc" >>"$out"
	fi
	grep -E '^(FAIL|note)' "$out"
	printf '%-34s %d passed, %d failed (%ds)\n' "$name" "$p" "$f" "$secs"
	passed=$((passed + p))
	failed=$((failed + f))
	took[$name]=$secs
}

pool_init "${TEST_JOBS:-4}"
pool_run $order script_done
echo "integration: $passed passed, $failed failed"
if [ -n "$TIMES" ]; then
	# Keep the others' times: a TEST_SCRIPTS run covers only some.
	{
		[ -f "$TIMES" ] && awk 'NR == FNR { new[$1] = 1; next } !($1 in new)' <(printf '%s\n' "${!took[@]}") "$TIMES"
		for n in "${!took[@]}"; do echo "$n ${took[$n]}"; done
	} | sort >"$TIMES.new" && mv "$TIMES.new" "$TIMES"
fi
[ -n "${TEST_RESULTS:-}" ] && echo "$passed $failed" >>"$TEST_RESULTS"
[ "$failed" -eq 0 ]

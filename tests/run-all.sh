#!/usr/bin/env bash
# `make test`: the suite plain, then under ASan+UBSan, and ThreadSanitizer
# for threaded code. Ends with one "tests: N passed, N failed" line and a
# non-zero exit on any failure.
#
# The three run side by side, as tracks: the plain suite, printed as it
# goes; the sanitizer build and its suite; the TSan build and its pass;
# the last two are printed whole once the plain suite is done. The builds
# run niced, the tests do not. The runners of every track share TEST_JOBS
# slots (default 4, tests/pool.bash): at most that many test scripts, test
# binaries or the TSan pass run at once, whichever track they belong to.
set -u
cd "$(dirname "$0")/.."
export TEST_RESULTS TEST_SLOTS
TEST_RESULTS=$(mktemp)
work=$(mktemp -d "${TMPDIR:-/tmp}/vigil-all.XXXXXX")
trap 'rm -f "$TEST_RESULTS"; rm -rf "$work"' EXIT
TEST_SLOTS=$work/slots
mkfifo "$TEST_SLOTS"
exec 7<>"$TEST_SLOTS"
for ((i = 0; i < ${TEST_JOBS:-4}; i++)); do printf x >&7; done
status=0
make_q() { make --no-print-directory "$@"; }

# step TITLE COMMAND...: a titled step; a failure fails the suite.
step() {
	echo "== $1"
	shift
	"$@" || status=1
}

# with_slot COMMAND...: run it in one of the shared slots.
with_slot() {
	local slot rc
	read -r -n 1 -u 7 slot
	"$@"
	rc=$?
	printf x >&7
	return "$rc"
}

# The sanitizer tracks, in the background; each one's log in $work. make
# -k: the integration tests run even when a unit test failed.
(
	step "unit + integration under ASan+UBSan" nice make --no-print-directory -j2 san-build
	make_q -k san || status=1
	exit "$status"
) >"$work/san.log" 2>&1 7>&- &
san=$!
(
	step "threaded code under ThreadSanitizer" nice make --no-print-directory -j2 tsan-build
	with_slot make_q tsan || status=1
	exit "$status"
) >"$work/tsan.log" 2>&1 &
tsan=$!

step "unit tests" make_q -j2 test-unit
step "integration tests" make_q test-integration
for track in san tsan; do
	wait "${!track}" || status=1
	cat "$work/$track.log"
done

passed=0 failed=0
while read -r p f; do
	passed=$((passed + p))
	failed=$((failed + f))
done <"$TEST_RESULTS"
# A step that failed to build reports no counts: count it as a failure.
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "tests: $passed passed, $failed failed"
exit "$status"

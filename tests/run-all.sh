#!/usr/bin/env bash
# `make test`: the suite plain, then under ASan+UBSan (and ThreadSanitizer
# for threaded code). Ends with one "tests: N passed, N failed" line and a
# non-zero exit on any failure.
set -u
cd "$(dirname "$0")/.."
export TEST_RESULTS
TEST_RESULTS=$(mktemp)
trap 'rm -f "$TEST_RESULTS"' EXIT
status=0
step() {
	echo "== $1"
	shift
	"$@" || status=1
}
step "unit tests" make --no-print-directory test-unit
step "integration tests" make --no-print-directory test-integration
step "unit + integration under ASan+UBSan" make --no-print-directory san
step "threaded code under ThreadSanitizer" make --no-print-directory tsan
passed=0 failed=0
while read -r p f; do
	passed=$((passed + p))
	failed=$((failed + f))
done <"$TEST_RESULTS"
# A step that failed to build reports no counts: count it as a failure.
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "tests: $passed passed, $failed failed"
exit "$status"

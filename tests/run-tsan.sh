#!/usr/bin/env bash
# ThreadSanitizer pass: the concurrent windows driver, the archive writer's
# syncer, the HTTP server under a publisher, the notifier thread, and vigil aggregate
# with 2 and 3 threads on generated records (output must equal 1 thread's).
# Appends "PASSED FAILED" to $TEST_RESULTS when set.
set -u
cd "$(dirname "$0")/.."
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}"
passed=0 failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
result() {
	if [ "$1" -eq 0 ]; then passed=$((passed + 1)); echo "ok $2"; else failed=$((failed + 1)); echo "FAIL $2"; fi
}
"$TSAN_WINDOW"
result $? "concurrent windows driver"
"$TSAN_ARCHIVE"
result $? "archive writer and its syncer thread, with failing fsyncs"
"$TSAN_HTTP"
result $? "HTTP server serving pages while the closer replaces them"
"$TSAN_NOTIFY"
result $? "notifier thread delivering while changes are pushed, dropped past the bound and counted"
bench/gen --count 60000 --seed 11 >"$tmp/in.ndjson"
"$VIGIL" aggregate --threads 1 "$tmp/in.ndjson" 2>/dev/null | sort >"$tmp/one"
for t in 2 3; do
	"$VIGIL" aggregate --threads "$t" "$tmp/in.ndjson" 2>"$tmp/err$t" | sort >"$tmp/many"
	rc=${PIPESTATUS[0]}
	[ "$rc" -eq 0 ] || tail -n 30 "$tmp/err$t"
	result "$rc" "vigil aggregate --threads $t under TSan"
	cmp -s "$tmp/one" "$tmp/many"
	result $? "vigil aggregate --threads $t output equals --threads 1"
done
# Through a pipe: the main thread hands chunks to the workers over a ring.
cat "$tmp/in.ndjson" | "$VIGIL" aggregate --threads 2 2>"$tmp/errp" | sort >"$tmp/many"
rc=${PIPESTATUS[1]}
[ "$rc" -eq 0 ] || tail -n 30 "$tmp/errp"
result "$rc" "vigil aggregate --threads 2 from a pipe under TSan"
cmp -s "$tmp/one" "$tmp/many"
result $? "vigil aggregate --threads 2 from a pipe equals --threads 1"
echo "tsan: $passed passed, $failed failed"
[ -n "${TEST_RESULTS:-}" ] && echo "$passed $failed" >>"$TEST_RESULTS"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# Command-line errors: an option without its value, and every bad value, is
# a usage error (exit 2) that names the option and the value; nothing bad
# is silently ignored (issue 21, item 6).
. "$(dirname "$0")/../lib.sh"

# usage_error NAME WANT ARGS...: exit 2, and stderr's first line is WANT.
usage_error() {
	local name=$1 want=$2 out rc
	shift 2
	out=$(timeout 20 "$VIGIL" "$@" 2>&1 </dev/null) # (a broker that took a bad value would run on)
	rc=$?
	expect_eq "$name: exit 2" "$rc" 2
	expect_eq "$name: says so" "$(printf '%s\n' "$out" | head -n 1)" "$want"
}

usage_error "run --brokers without a value" "vigil run: --brokers: expects a value (--brokers B)" run --brokers
usage_error "aggregate --threads without a value" "vigil aggregate: --threads: expects a value (--threads N)" \
	aggregate --threads
usage_error "run --workers -1" "vigil run: --workers: expected an integer from 1 to 256, got '-1'" \
	run --workers -1 --http off
usage_error "run --workers 0" "vigil run: --workers: expected an integer from 1 to 256, got '0'" run --workers 0
usage_error "run --workers 2x" "vigil run: --workers: expected an integer from 1 to 256, got '2x'" run --workers 2x
usage_error "demo --workers -3" "vigil demo: --workers: expected an integer from 1 to 256, got '-3'" \
	demo --workers -3
usage_error "broker --brokers x" "vigil broker: --brokers: expected an integer from 1 to 16, got 'x'" \
	broker --brokers x
usage_error "an unknown option is still one" "vigil run: unknown option '--bogus'" run --bogus

# Numbers that were read without a check (strtod/strtol without their end).
usage_error "demo --rate 40000x" "vigil demo: --rate: 1000 to 10000000 records/s, got '40000x'" demo --rate 40000x
usage_error "produce --rate fast" "vigil produce: --rate: expected records per second (0: no limit), got 'fast'" \
	produce --brokers 127.0.0.1:1 --topic t --rate fast
usage_error "produce --rate -5" "vigil produce: --rate: expected records per second (0: no limit), got '-5'" \
	produce --brokers 127.0.0.1:1 --topic t --rate -5
usage_error "broker --topic logs:4x" \
	"vigil broker: --topic: expected NAME or NAME:PARTITIONS (1 to 1000 partitions), got 'logs:4x'" broker --topic logs:4x
usage_error "broker --topic logs:0" \
	"vigil broker: --topic: expected NAME or NAME:PARTITIONS (1 to 1000 partitions), got 'logs:0'" broker --topic logs:0
usage_error "broker --topic :3" \
	"vigil broker: --topic: expected NAME or NAME:PARTITIONS (1 to 1000 partitions), got ':3'" broker --topic :3

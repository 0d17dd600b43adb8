#!/usr/bin/env bash
# vigil rules: --check on the configured rules, --test on rule test files
# (the shipped rules' own tests, and a test that must fail).
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

"$VIGIL" rules --check >"$TMP/check.out" 2>&1
expect_eq "rules --check: the shipped rules are valid" "$(cat "$TMP/check.out")" "10 rules: ok"

"$VIGIL" rules --test "$ROOT/config/rules.test.yaml" >"$TMP/test.out" 2>&1
expect_eq "rules --test: the shipped rules pass their own tests (exit 0)" "$?" 0
check "rules --test: every test ran" grep -q 'rules.test.yaml: 11 tests, 0 failed' "$TMP/test.out"

cat >"$TMP/bad.yaml" <<'YAML'
groups:
  - name: g
    rules:
      - alert: A
        error_rate: {of: 5xx, window: 1m, above: lots}
        labels: {severity: P2}
YAML
printf 'rules:\n  files: [%s]\n' "$TMP/bad.yaml" >"$TMP/bad-config.yaml"
"$VIGIL" rules -c "$TMP/bad-config.yaml" --check 2>"$TMP/bad.err"
expect_eq "rules --check: a bad rule exits 1" "$?" 1
check "rules --check: names the file, line and reason" grep -q "$TMP/bad.yaml:5: above: expected a number, got 'lots'" "$TMP/bad.err"
"$VIGIL" aggregate -c "$TMP/bad-config.yaml" </dev/null 2>"$TMP/agg.err"
expect_eq "a bad rule is refused at start" "$?" 1
check "with file and line" grep -q "bad.yaml:5:" "$TMP/agg.err"
# vigil run refuses it the same way, before any broker is asked.
echo 'the last good run' >"$TMP/run.windows"
timeout 60 "$VIGIL" run --skew-behind 0s -c "$TMP/bad-config.yaml" --brokers 127.0.0.1:9 --topic t --exit-at-end --archive off --http off \
	--windows "$TMP/run.windows" 2>"$TMP/run.err"
expect_eq "vigil run: a bad rule is refused at start (exit 1)" "$?" 1
expect_eq "vigil run: ... before truncating the --windows file" "$(cat "$TMP/run.windows")" 'the last good run'
check "vigil run: with file and line" grep -q "bad.yaml:5:" "$TMP/run.err"
check "vigil run: and nothing else claimed" sh -c "! grep -q 'out of memory' '$TMP/run.err'"

# A test whose expectation is wrong fails, and says what fired instead.
cat >"$TMP/wrong.test.yaml" <<'YAML'
rule_files: [builtin]
tests:
  - name: expects nothing during a burst
    series:
      - http: {service: orders, endpoint: /x}
        values: "100/50x60"
    expect:
      - {at: 10m, firing: []}
YAML
"$VIGIL" rules --test "$TMP/wrong.test.yaml" >"$TMP/wrong.out" 2>&1
expect_eq "rules --test: a failing test exits 1" "$?" 1
check "rules --test: the report names the test and what fired" \
	grep -q 'FAIL expects nothing during a burst (.*wrong.test.yaml:8, at 600s): expected 0 firing, got' "$TMP/wrong.out"
check "rules --test: and lists the alerts" grep -q '^alertname=HTTP5xxErrorRate,service=orders,severity=P1$' "$TMP/wrong.out"

# A rule test file keeps a configuration file's bounds (docs/limits.md):
# nested 120,000 deep it is refused at its line, not parsed for a minute;
# an endless one is refused by its size, not read whole.
printf 'rule_files: [builtin]\ntests: %s%s\n' "$(head -c 120000 /dev/zero | tr '\0' '[')" \
	"$(head -c 120000 /dev/zero | tr '\0' ']')" >"$TMP/deep.test.yaml"
out=$(timeout 20 "$VIGIL" rules --test "$TMP/deep.test.yaml" 2>&1)
expect_eq "rules --test: a test file nested 120,000 deep exits 1" "$?" 1
case $out in *"deep.test.yaml:2: "*"nest"*) ok "rules --test: said at its line" ;; *) fail "rules --test: said at its line" "$out" ;; esac
out=$(timeout 20 "$VIGIL" rules --test /dev/zero 2>&1)
expect_eq "rules --test /dev/zero exits 1" "$?" 1
case $out in *"/dev/zero: "*"at most 1 MiB"*) ok "rules --test /dev/zero: refused by its size" ;; *) fail "rules --test /dev/zero: refused by its size" "$out" ;; esac

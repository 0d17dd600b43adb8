#!/usr/bin/env bash
# vigil config: the shipped file is the default, and errors carry file:line.
. "$(dirname "$0")/../lib.sh"

"$VIGIL" config --default >"$TMP/default.yaml"
check "config/vigil.yaml is exactly vigil config --default" cmp -s "$TMP/default.yaml" "$ROOT/config/vigil.yaml"
check "shipped config passes --check" "$VIGIL" config --check "$ROOT/config/vigil.yaml"

printf 'classify:\n  rules:\n    - category: security\n      any:\n        message: "(oops"\n' >"$TMP/re.yaml"
out=$("$VIGIL" config --check "$TMP/re.yaml" 2>&1)
expect_eq "bad regex exits 1" "$?" 1
case "$out" in "$TMP/re.yaml:5: classify.rules: bad pattern for message"*) ok "bad regex names file and line" ;;
*) fail "bad regex names file and line" "$out" ;; esac

printf 'limits:\n  max_dept: 3\n' >"$TMP/typo.yaml"
out=$("$VIGIL" config --check "$TMP/typo.yaml" 2>&1)
case "$out" in "$TMP/typo.yaml:2: unknown key 'max_dept'"*) ok "typo is an error, not ignored" ;;
*) fail "typo is an error, not ignored" "$out" ;; esac

# config --check refuses what vigil run refuses at start, with the same
# FILE:LINE: a rule file that is not there, and a broken rule file.
printf 'log:\n  level: info\nrules:\n  files: [%s/missing.yaml]\n' "$TMP" >"$TMP/norules.yaml"
out=$("$VIGIL" config --check "$TMP/norules.yaml" 2>&1)
expect_eq "a missing rule file fails the check (exit 1, as vigil run)" "$?" 1
case "$out" in "$TMP/norules.yaml:4: rules.files: $TMP/missing.yaml: No such file or directory") ok "a missing rule file names the config's file and line" ;;
*) fail "a missing rule file names the config's file and line" "$out" ;; esac
run_out=$("$VIGIL" run -c "$TMP/norules.yaml" --http off --archive off 2>&1)
expect_eq "vigil run refuses the same configuration (exit 1)" "$?" 1
expect_eq "vigil run says the same" "$run_out" "vigil: $out"
printf 'groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: nonsense\n' >"$TMP/bad-rules.yaml"
printf 'rules:\n  files: [%s/bad-rules.yaml]\n' "$TMP" >"$TMP/badrules.yaml"
out=$("$VIGIL" config --check "$TMP/badrules.yaml" 2>&1)
expect_eq "a broken rule file fails the check" "$?" 1
case "$out" in "$TMP/bad-rules.yaml:"[0-9]*) ok "a broken rule file is said at its own line" ;;
*) fail "a broken rule file is said at its own line" "$out" ;; esac

# librdkafka's properties: config --check puts each through librdkafka's
# own rd_kafka_conf_set (vigil issue 21, item 4) and says it at its line,
# as vigil run does; consumer's and alert producer's alike.
printf 'kafka:\n  properties:\n    fetch.max.bytes: 1000000\n    no.such.property: 1\n' >"$TMP/prop.yaml"
out=$("$VIGIL" config --check "$TMP/prop.yaml" 2>&1)
expect_eq "an unknown kafka.properties entry fails the check" "$?" 1
expect_eq "it is said at its line with librdkafka's reason" "$out" \
	"$TMP/prop.yaml:4: kafka.properties: No such configuration property: \"no.such.property\""
run_out=$("$VIGIL" run -c "$TMP/prop.yaml" --http off --archive off 2>&1)
expect_eq "vigil run refuses it alike (exit 1)" "$?" 1
expect_eq "vigil run says the same" "$run_out" "vigil: $out"
printf 'kafka:\n  properties: {session.timeout.ms: soon}\n' >"$TMP/propval.yaml"
out=$("$VIGIL" config --check "$TMP/propval.yaml" 2>&1)
case "$out" in "$TMP/propval.yaml:2: kafka.properties: Invalid value"*"for configuration property \"session.timeout.ms\""*) ok "a value librdkafka refuses is said at its line" ;;
*) fail "a value librdkafka refuses is said at its line" "$out" ;; esac
printf 'notify:\n  kafka:\n    topic: alerts\n    properties:\n      acks: all\n      bogus.prop: 1\n' >"$TMP/nprop.yaml"
out=$("$VIGIL" config --check "$TMP/nprop.yaml" 2>&1)
expect_eq "an unknown notify.kafka.properties entry fails the check" "$out" \
	"$TMP/nprop.yaml:6: notify.kafka.properties: No such configuration property: \"bogus.prop\""

# Bounds on the file (vigil issue 21, items 2 and 3): refused at check
# time, quickly, with the file (and the line).
head -c 1048577 /dev/zero | tr '\0' '#' >"$TMP/big.yaml"
out=$("$VIGIL" config --check "$TMP/big.yaml" 2>&1)
expect_eq "a file over 1 MiB is refused" "$out" "$TMP/big.yaml: 1048577 bytes; a configuration file is at most 1 MiB"
{ printf 'kafka:\n  topics: '; head -c 120000 /dev/zero | tr '\0' '['; head -c 120000 /dev/zero | tr '\0' ']'; echo; } >"$TMP/deep.yaml"
t0=$SECONDS
out=$("$VIGIL" config --check "$TMP/deep.yaml" 2>&1)
case "$out" in "$TMP/deep.yaml:2: lists and mappings nested deeper than 32 levels"*) ok "a config nested 120,000 deep is refused at its line" ;;
*) fail "a config nested 120,000 deep is refused at its line" "$out" ;; esac
check "... within 10 s (was ~50 s)" test $((SECONDS - t0)) -le 10
# An alert rule file keeps the same bounds (it is read again on SIGHUP).
{ printf 'groups: '; head -c 120000 /dev/zero | tr '\0' '['; head -c 120000 /dev/zero | tr '\0' ']'; echo; } >"$TMP/deep-rules.yaml"
printf 'rules:\n  files: [%s/deep-rules.yaml]\n' "$TMP" >"$TMP/deeprules.yaml"
t0=$SECONDS
out=$("$VIGIL" config --check "$TMP/deeprules.yaml" 2>&1)
case "$out" in *"$TMP/deep-rules.yaml:1: lists and mappings nested deeper than 32 levels"*) ok "a rule file nested 120,000 deep is refused at its line" ;;
*) fail "a rule file nested 120,000 deep is refused at its line" "$out" ;; esac
check "... within 10 s" test $((SECONDS - t0)) -le 10
{ printf 'kafka:\n  topics:\n'; seq -f '    - t%g' 4097; } >"$TMP/topics.yaml"
out=$("$VIGIL" config --check "$TMP/topics.yaml" 2>&1)
expect_eq "more than 4096 topics are refused at check time" "$out" "$TMP/topics.yaml:3: kafka.topics: at most 4096 entries, got 4097"

"$VIGIL" config --check /nonexistent.yaml >/dev/null 2>&1
expect_eq "missing config file exits non-zero" "$?" 3
"$VIGIL" config >/dev/null 2>&1
expect_eq "config without arguments is a usage error" "$?" 2

# docs/configuration.md's reference is generated; it must match the binary.
"$ROOT/scripts/config-doc.sh" "$VIGIL" "$ROOT/docs/configuration.md" >"$TMP/configuration.md"
expect_eq "docs/configuration.md has the generated block's markers" "$?" 0
check "docs/configuration.md's reference is vigil config --default (make docs)" \
	cmp -s "$TMP/configuration.md" "$ROOT/docs/configuration.md"

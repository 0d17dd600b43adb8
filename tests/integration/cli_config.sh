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

"$VIGIL" config --check /nonexistent.yaml >/dev/null 2>&1
expect_eq "missing config file exits non-zero" "$?" 3
"$VIGIL" config >/dev/null 2>&1
expect_eq "config without arguments is a usage error" "$?" 2

# docs/configuration.md's reference is generated; it must match the binary.
"$ROOT/scripts/config-doc.sh" "$VIGIL" "$ROOT/docs/configuration.md" >"$TMP/configuration.md"
expect_eq "docs/configuration.md has the generated block's markers" "$?" 0
check "docs/configuration.md's reference is vigil config --default (make docs)" \
	cmp -s "$TMP/configuration.md" "$ROOT/docs/configuration.md"

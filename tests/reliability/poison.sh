#!/usr/bin/env bash
# Poison: malformed and hostile records (tests/tools/poison.c: truncated,
# bit-flipped, random bytes, invalid UTF-8, control characters, bad escapes
# and numbers, non-objects, trailing bytes, over limits.max_record_bytes,
# nested past limits.max_depth; hostile category values and regex-heavy
# messages) mixed into valid traffic through the broker. vigil run must not
# crash, must dead-letter every malformed record with its reason, and must
# archive every valid record (the hostile ones are valid JSON: archived,
# under a known category directory, nothing written outside the archive).
# Short: 10,000 poison among 20,000 valid; SOAK=1: among 200,000.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.bash"
POISON=${POISON:-$ROOT/build/poison}
V=$(sized 20000 200000)
P=10000 # all of them, under the sanitizers too
SEED=${POISON_SEED:-7}
MAX_BYTES=16384 MAX_DEPTH=32
cat >"$TMP/poison.yaml" <<YAML
limits: {max_record_bytes: $MAX_BYTES, max_depth: $MAX_DEPTH}
kafka:
  properties: {$FAST_GROUP}
YAML
start_broker --topic poison:32 || exit 1
"$GEN" --count "$V" --seed 91 --truth "$TMP/valid.tsv" | "$POISON" --count "$P" --seed "$SEED" --max-bytes $MAX_BYTES --max-depth $MAX_DEPTH \
	--truth "$TMP/truth.tsv" >"$TMP/mixed.ndjson"
check "poison: the generator ran" test -s "$TMP/truth.tsv"
# The smallest --max-bytes it accepts (1024) makes its records in time too
# (below 2,002 its regex-heavy message length once wrapped around).
"$GEN" --count 2000 --seed 91 | timeout 60 "$POISON" --count 500 --seed "$SEED" --max-bytes 1024 --max-depth 8 >"$TMP/small.ndjson"
expect_eq "poison: --max-bytes 1024 finishes" "$?" 0
t0=$SECONDS
"$VIGIL" produce --brokers "$BROKERS" --topic poison "$TMP/mixed.ndjson" 2>"$TMP/produce.err"
expect_eq "poison: every message produced" "$?" 0
mkdir -p "$TMP/cwd"
(cd "$TMP/cwd" && "$VIGIL" run --skew-behind 0s -c "$TMP/poison.yaml" --brokers "$BROKERS" --topic poison --group poison \
	--exit-at-end --archive "$TMP/archive" --http off 2>"$TMP/run.err")
rc=$?
secs=$((SECONDS - t0))
expect_eq "poison: vigil run survives and exits 0" "$rc" 0

# Dead letters: the same bytes, each once, with the reason the kind implies.
awk -F'\t' '$2 != "archive" { print $3 "\t" $2 "\t" $1 }' "$TMP/truth.tsv" | sort >"$TMP/dead.want"
"$VIGIL" cat --dead-letter "$TMP/archive" >"$TMP/dead.ndjson"
sed -n 's/.*"reason":"\([^"]*\)".*"raw_b64":"\([^"]*\)".*/\2\t\1/p' "$TMP/dead.ndjson" | sort >"$TMP/dead.got"
dead_want=$(lines "$TMP/dead.want")
dead_got=$(lines "$TMP/dead.got")
missing=$(comm -23 <(cut -f1 "$TMP/dead.want") <(cut -f1 "$TMP/dead.got") | wc -l)
extra=$(comm -13 <(cut -f1 "$TMP/dead.want") <(cut -f1 "$TMP/dead.got") | wc -l)
# KIND of every malformed record vigil did not dead-letter, for the report.
comm -23 <(cut -f1 "$TMP/dead.want") <(cut -f1 "$TMP/dead.got") >"$TMP/missing.b64"
missing_kinds=$(join -t "$(printf '\t')" "$TMP/missing.b64" "$TMP/dead.want" | cut -f3 | sort | uniq -c | tr -s ' ' | tr '\n' ',')
wrong=$(join -t "$(printf '\t')" "$TMP/dead.want" "$TMP/dead.got" | awk -F'\t' '$2 != "any" && $2 != $4' | wc -l)
noreason=$(cut -f2 "$TMP/dead.got" | grep -cvE '^[a-z0-9_]+$')
expect_eq "poison: every malformed record dead-lettered (missing; kinds: ${missing_kinds:-none})" "$missing" 0
expect_eq "poison: nothing else dead-lettered" "$extra" 0
expect_eq "poison: dead letters, each once" "$dead_got" "$dead_want"
expect_eq "poison: each with the reason its kind implies (wrong reasons)" "$wrong" 0
expect_eq "poison: each dead letter names a reason" "$noreason" 0

# Archive: every valid id, the hostile ones included, exactly once.
{
	cut -f5 "$TMP/valid.tsv"
	awk -F'\t' '$2 == "archive" { print $3 }' "$TMP/truth.tsv"
} | sort >"$TMP/want"
"$VIGIL" cat "$TMP/archive" | event_ids >"$TMP/got"
lost=$(lost_ids "$TMP/want" "$TMP/got")
dropped=$(broker_dropped poison 32)
[ "$dropped" -eq 0 ] || echo "note poison: the broker dropped $dropped old messages (it keeps 5 MiB a partition): harmless once read, else a loss below is the test's sizing"
expect_eq "poison: every valid record archived (lost)" "$lost" 0
expect_eq "poison: nothing malformed archived, nothing twice" "$(lines "$TMP/got")" "$(lines "$TMP/want")"
"$VIGIL" verify "$TMP/archive" >"$TMP/verify" 2>&1
check "poison: verify is clean" grep -q '^verify: clean$' "$TMP/verify"

# Containment: category directories are known ones; nothing outside the
# archive (the run's working directory stays empty).
cats=$(find "$TMP/archive" -mindepth 2 -maxdepth 2 -type d ! -path '*/dead-letter/*' -printf '%f\n' | sort -u | tr '\n' ' ')
unknown=$(find "$TMP/archive" -mindepth 2 -maxdepth 2 -type d ! -path '*/dead-letter/*' -printf '%f\n' |
	grep -cvxE 'application|security|access|database')
expect_eq "poison: only known category directories ($cats)" "$unknown" 0
expect_eq "poison: nothing written outside the archive" "$(find "$TMP/cwd" -mindepth 1 | wc -l)" 0
check "poison: no path component '..' in the archive" test -z "$(find "$TMP/archive" -name '..*')"

reasons=$(cut -f2 "$TMP/dead.got" | sort | uniq -c | awk '{ printf "%s%s=%s", sep, $2, $1; sep = "," }')
echo "note poison: valid=$V poison=$P dead_expected=$dead_want dead_lettered=$dead_got ($reasons)" \
	"missing=$missing wrong_reason=$wrong hostile_archived=$(awk -F'\t' '$2 == "archive"' "$TMP/truth.tsv" | wc -l)" \
	"lost_valid=$lost exit=$rc seed=$SEED seconds=$secs"

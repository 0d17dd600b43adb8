#!/usr/bin/env bash
# vigil demo outside the checkout: from any current directory it makes its
# own directory (a new one under TMPDIR without --dir; --dir's parents
# too) and finds bench/gen from where the binary is, or from --gen or
# VIGIL_GEN, or says how to name it. Each run is stopped with SIGINT once
# records come through: an interrupted demo sums up what it processed and
# exits 0.
. "$(dirname "$0")/../lib.sh"

# demo_briefly NAME ARGS...: run vigil demo (ARGS: the binary and its
# options) in the background from $TMP/elsewhere, stop it with SIGINT once
# records come through (a status line shows their event time); its exit
# status in DEMO_STATUS, its output in $TMP/NAME.out and $TMP/NAME.err.
demo_briefly() {
	local name=$1 pid
	shift
	(cd "$TMP/elsewhere" && exec "$@" --duration 30 --rate 40000 --http 127.0.0.1:0) \
		>"$TMP/$name.out" 2>"$TMP/$name.err" &
	pid=$!
	PIDS+=($pid)
	wait_for 90 eval 'grep -q "^demo .* event time [0-9]" "$TMP/$name.err" || ! kill -0 $pid 2>/dev/null'
	grep -q '^demo .* event time [0-9]' "$TMP/$name.err" ||
		fail "$name: records come through" "no status line with an event time: $(head -c 300 "$TMP/$name.err")"
	kill -INT "$pid" 2>/dev/null
	wait "$pid"
	DEMO_STATUS=$?
}

mkdir -p "$TMP/elsewhere" "$TMP/tmpdir" "$TMP/bin"

# Without --dir, from a directory with no build/ in it.
TMPDIR="$TMP/tmpdir" demo_briefly default "$VIGIL" demo
expect_eq "demo from another directory exits 0 (interrupted)" "$DEMO_STATUS" 0
dir=$(sed -n 's|^archive \(.*\)/archive: [0-9]* records in .*|\1|p' "$TMP/default.out")
case "$dir" in
"$TMP/tmpdir/vigil-demo."*) ok "demo without --dir uses a new directory under TMPDIR" ;;
*) fail "demo without --dir uses a new directory under TMPDIR" "archive in '$dir': $(grep -m 2 -i 'demo' "$TMP/default.err")" ;;
esac
check "demo without --dir: records reached its archive" grep -qE "^archive .*: [1-9][0-9]* records in" "$TMP/default.out"
check "demo without --dir: its archive is kept and vigil verify accepts it" \
	eval '[ -d "$dir/archive" ] && "$VIGIL" verify "$dir/archive" >/dev/null 2>&1'
check "demo: the summary says where its files are" grep -q "vigil verify $dir/archive" "$TMP/default.out"

# --dir whose parents do not exist; bench/gen named by VIGIL_GEN for a
# binary that has none near it.
cp "$VIGIL" "$TMP/bin/vigil"
VIGIL_GEN=$GEN demo_briefly nested "$TMP/bin/vigil" demo --dir nested/a/b
expect_eq "demo --dir with missing parents, bench/gen from VIGIL_GEN: exits 0" "$DEMO_STATUS" 0
check "demo --dir makes the directory and its parents" test -d "$TMP/elsewhere/nested/a/b/archive"

# No bench/gen to be found: a usage error that says how to name it.
(cd "$TMP/elsewhere" && env -u VIGIL_GEN "$TMP/bin/vigil" demo --duration 30 --rate 40000) >"$TMP/nogen.out" 2>"$TMP/nogen.err"
expect_eq "demo without bench/gen exits 2" "$?" 2
check "demo without bench/gen says to pass --gen or set VIGIL_GEN" \
	eval 'grep -q -- "--gen PATH" "$TMP/nogen.err" && grep -q "VIGIL_GEN" "$TMP/nogen.err"'
check "demo without bench/gen names the installed place it looked in" grep -q 'libexec/vigil/gen' "$TMP/nogen.err"
check "demo without bench/gen makes no directory" test ! -e "$TMP/elsewhere/build"

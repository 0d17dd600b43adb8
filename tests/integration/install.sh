#!/usr/bin/env bash
# make install into a temporary DESTDIR: the layout, the systemd unit
# (systemd-analyze verify where it is installed), and vigil config --check,
# vigil rules --test and vigil demo run from the installed layout, from a
# directory outside the source tree.
. "$(dirname "$0")/../lib.sh"

D=$TMP/root
P=$D/usr/local
UNIT=$P/lib/systemd/system/vigil.service
# The outer make's command-line variables (BUILD, CC, SAN) must not reach
# this one; INSTALL_VIGIL installs the binary under test without a rebuild.
install_it() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$ROOT" --no-print-directory install DESTDIR="$D" \
		INSTALL_VIGIL="$VIGIL" >"$TMP/install.out" 2>&1
}
install_it
expect_eq "make install DESTDIR=... exits 0" "$?" 0 || cat "$TMP/install.out"
for f in bin/vigil libexec/vigil/gen; do
	check "installed: PREFIX/$f, executable" test -x "$P/$f"
done
for f in share/vigil/vigil.yaml share/vigil/rules.yaml share/vigil/rules.test.yaml etc/vigil/vigil.yaml \
	share/doc/vigil/README.md share/doc/vigil/docs/configuration.md share/doc/vigil/docs/deploy.md \
	lib/systemd/system/vigil.service; do
	check "installed: PREFIX/$f" test -f "$P/$f"
done
check "installed configuration is the shipped one" cmp -s "$P/etc/vigil/vigil.yaml" "$ROOT/config/vigil.yaml"
check "nothing installed outside PREFIX" test "$(ls "$D")" = usr -a "$(ls "$D/usr")" = local

# A second install keeps an edited configuration.
echo "# edited" >>"$P/etc/vigil/vigil.yaml"
install_it
check "make install again keeps the edited SYSCONFDIR/vigil/vigil.yaml" grep -q '^# edited$' "$P/etc/vigil/vigil.yaml"
cp "$ROOT/config/vigil.yaml" "$P/etc/vigil/vigil.yaml"

# The unit: paths without DESTDIR, the daemon's settings.
check "unit runs PREFIX/bin/vigil with SYSCONFDIR's configuration" \
	grep -qx 'ExecStart=/usr/local/bin/vigil run -c /usr/local/etc/vigil/vigil.yaml' "$UNIT"
check "unit: a user of its own" grep -qE '^(DynamicUser=yes|User=.+)$' "$UNIT"
check "unit: ProtectSystem=strict" grep -qx 'ProtectSystem=strict' "$UNIT"
check "unit: a state directory for the archive and the outbox" grep -qE '^(StateDirectory|ReadWritePaths)=.' "$UNIT"
check "unit: Restart=on-failure" grep -qx 'Restart=on-failure' "$UNIT"
check "unit: KillSignal=SIGTERM" grep -qx 'KillSignal=SIGTERM' "$UNIT"
check "unit: ExecReload sends SIGHUP" grep -qE '^ExecReload=/bin/kill -HUP \$MAINPID$' "$UNIT"
check "unit: logs to the journal" grep -qx 'StandardError=journal' "$UNIT"
# seconds D: a duration as the configuration and systemd write it (s, m).
seconds() { case "$1" in *m) echo $((${1%m} * 60)) ;; *s) echo "${1%s}" ;; *) echo "$1" ;; esac; }
stop=$(seconds "$(sed -n 's/^TimeoutStopSec=//p' "$UNIT")")
drain=$(seconds "$("$VIGIL" config --default | sed -n 's/^  shutdown_timeout: //p')")
check "unit: TimeoutStopSec (${stop}s) above kafka.shutdown_timeout's default (${drain}s)" \
	test "${stop:-0}" -gt "${drain:-999999}"
if command -v systemd-analyze >/dev/null; then
	# verify checks that ExecStart's binary exists: point it into DESTDIR.
	mkdir -p "$TMP/unit"
	sed "s|^ExecStart=/|ExecStart=$D/|" "$UNIT" >"$TMP/unit/vigil.service"
	systemd-analyze verify "$TMP/unit/vigil.service" >"$TMP/verify.out" 2>&1
	rc=$?
	expect_eq "systemd-analyze verify accepts the unit" "$rc" 0
	check "systemd-analyze verify has nothing to say about it" test ! -s "$TMP/verify.out"
	[ -s "$TMP/verify.out" ] && echo "note install: systemd-analyze verify: $(head -c 400 "$TMP/verify.out" | tr '\n' ' ')"
else
	echo "note install: systemd-analyze is not installed; the unit was not verified"
fi

# The installed layout at work, from a directory outside the source tree.
mkdir -p "$TMP/elsewhere" "$TMP/tmpdir"
cd "$TMP/elsewhere" || exit 1
out=$("$P/bin/vigil" config --check "$P/etc/vigil/vigil.yaml" 2>&1)
expect_eq "installed vigil config --check accepts the installed configuration" "$?" 0
"$P/bin/vigil" rules --test "$P/share/vigil/rules.test.yaml" >"$TMP/ruletest.out" 2>&1
expect_eq "installed vigil rules --test runs the installed rule tests" "$?" 0

# vigil demo, stopped with SIGINT once records come through (its status
# line shows their event time): bench/gen found in
# PREFIX/libexec/vigil, its files in a new directory under TMPDIR.
TMPDIR="$TMP/tmpdir" "$P/bin/vigil" demo --duration 30 --rate 40000 --http 127.0.0.1:0 \
	>"$TMP/demo.out" 2>"$TMP/demo.err" &
pid=$!
PIDS+=($pid)
wait_for 90 eval 'grep -q "^demo .* event time [0-9]" "$TMP/demo.err" || ! kill -0 $pid 2>/dev/null'
check "installed vigil demo streams records through the pipeline" grep -q '^demo .* event time [0-9]' "$TMP/demo.err"
kill -INT "$pid" 2>/dev/null
wait "$pid"
expect_eq "installed vigil demo exits 0 (interrupted)" "$?" 0
check "installed vigil demo runs PREFIX/libexec/vigil/gen" \
	grep -q "^  $P/bin/../libexec/vigil/gen: " "$TMP/demo.out"
check "installed vigil demo processed records" grep -qE '^records: [0-9]+ produced, [1-9][0-9]* processed' "$TMP/demo.out"
check "installed vigil demo wrote under TMPDIR, not the current directory" \
	eval 'ls -d "$TMP"/tmpdir/vigil-demo.*/archive >/dev/null && [ -z "$(ls -A "$TMP/elsewhere")" ]'

#!/bin/sh
# t0920-service: lighthoused@.service does what it says. systemd may not
# run here (containers, CI), so its commands are run as systemd would run
# them -- specifiers and variables expanded, $$ as $ -- against a mount in
# the test's folder instead of /run and /var/lib.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
require_fuse

UNIT=$builddir/systemd/lighthoused@.service
[ -f "$UNIT" ] || skip_all "no lighthoused@.service was built (--without-systemdsystemunitdir)"

# the value of KEY= in the unit (the last one)
key() {
	sed -n "s/^$1=//p" "$UNIT" | tail -n 1
}

# a command line of the unit, as systemd would run it for the mount $MNT:
# %f the mount, %i its escaped name, the state folder ours, $$ a dollar
expand() {
	printf '%s\n' "$1" | sed -e "s|/var/lib/lighthouse/%i|$STATE|g" \
		-e "s|%f|$MNT|g" -e "s|%i|$inst|g" \
		-e "s|\${LIGHTHOUSE_PROJECT}|$PROJ|g" -e "s|\$LIGHTHOUSED_OPTS||g" \
		-e 's/\$\$/$/g' -e "s|^[-@]||" -e "s|^[^ ]*/sbin/lighthoused |$LIGHTHOUSED |"
}

inst=$(printf '%s' "$MNT" | sed -e 's|^/||' -e 's|/|-|g')

test_expect_success 'the unit runs the installed lighthoused in the foreground on its instance path' '
	key ExecStart | grep -q "^/.*/sbin/lighthoused -f --state /var/lib/lighthouse/%i --project \${LIGHTHOUSE_PROJECT} \$LIGHTHOUSED_OPTS %f$" &&
	key Type | grep -qx exec &&
	key StateDirectory | grep -qx "lighthouse/%i" &&
	key EnvironmentFile | grep -qx -- "-/etc/default/lighthouse" &&
	key Environment | grep -qx "LIGHTHOUSE_PROJECT=/var/lib/lighthouse/%i LIGHTHOUSED_OPTS=" &&
	key WantedBy | grep -qx multi-user.target &&
	! grep -q "@[a-zA-Z_]*@" "$UNIT"
'

test_expect_success 'start: the mount point is made, the daemon mounts, ready means answering' '
	rmdir "$MNT" &&
	eval "$(expand "$(key ExecStartPre)")" && [ -d "$MNT" ] &&
	start=$(expand "$(key ExecStart)") &&
	( cd / && eval "exec $start" ) >>"$LH_LOG" 2>&1 &
	echo $! >"$TMP/lh.pid" &&
	eval "$(expand "$(key ExecStartPost)")" &&
	grep -q "^lighthouse_up 1" "$MNT/stats" &&
	echo "rm -rf /" >"$MNT/requests/svc" && [ "$(decision svc)" = deny ]
'

test_expect_success 'the project is LIGHTHOUSE_PROJECT, the store in the state folder' '
	ctl events --type daemon.start --json | tail -1 | "$TEST_TOOL" json payload >p &&
	"$TEST_TOOL" json project <p | grep -qx "$(cd "$PROJ" && pwd -P)" &&
	"$TEST_TOOL" json mount <p | grep -qx "$(cd "$MNT" && pwd -P)"
'

test_expect_success 'stop: SIGTERM unmounts and the daemon stops cleanly; the stop command is harmless then' '
	pid=$(cat "$TMP/lh.pid") && kill -TERM $pid &&
	n=0; while kill -0 $pid 2>/dev/null; do n=$((n + 1)); [ $n -lt 200 ] || exit 1; sleep 0.05; done &&
	! grep -q " $MNT " /proc/mounts &&
	ctl events --type daemon.stop | grep -q daemon.stop &&
	{ eval "$(expand "$(key ExecStopPost)")" || :; } && [ -d "$MNT" ]
'

test_expect_success 'systemd-analyze verify finds nothing wrong with the unit' '
	command -v systemd-analyze >/dev/null || { echo "# no systemd-analyze: not checked"; exit 0; }
	mkdir -p unit &&
	sed -e "s|^ExecStart=[^ ]*|ExecStart=$LIGHTHOUSED|" -e "/^Documentation=/d" "$UNIT" >"unit/lighthoused@.service" &&
	systemd-analyze verify "unit/lighthoused@.service" >out 2>&1 || true
	! grep -v -e "^$" out
'

test_done

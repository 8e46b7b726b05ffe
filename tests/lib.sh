# lib.sh -- shared test library (after git's t/test-lib.sh), sourced by
# every tests/tNNNN-*.sh script.
#
#   test_expect_success 'what the user sees' '
#       commands && more commands
#   '
#
# Each test body runs in a subshell with `set -e`; a body that fails prints
# "not ok". Output is TAP, counted by automake's tap-driver. Every script
# gets a private work folder ($TMP) and a cleanup trap that unmounts and
# stops whatever it started. skip_all REASON skips a whole script (exit 77).
#
# Daemon helpers: lh_start [lighthoused options] mounts on $MNT with state
# in $STATE and project $PROJ; lh_stop unmounts and checks that the daemon
# exited 0. A pair must run in one shell (wait only reaches a child): at
# top level with test_start_daemon / test_stop_daemon, or both inside one
# test body. The cleanup trap unmounts whatever is left either way.

set -u

: "${builddir:=$(pwd)}"
: "${srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
case $srcdir in /*) ;; *) srcdir=$(cd "$srcdir" && pwd) ;; esac
case $builddir in /*) ;; *) builddir=$(cd "$builddir" && pwd) ;; esac

LIGHTHOUSED=$builddir/fs/lighthoused
LIGHTHOUSECTL=$builddir/ctl/lighthousectl
TEST_TOOL=$builddir/tests/test-tool
DATA=$srcdir/tests/data

mkdir -p "$builddir/tests/tmp"
TMP=$(mktemp -d "${LH_TEST_TMP:-$builddir/tests/tmp}/lh.XXXXXX")
MNT=$TMP/mnt
STATE=$TMP/state
PROJ=$TMP/project
mkdir -p "$MNT" "$STATE" "$PROJ"

test_count=0
test_failed=0
LH_PID=
LH_LOG=$TMP/lighthoused.log

say() { printf '# %s\n' "$*"; }

lh_cleanup() {
	if grep -q " $MNT " /proc/mounts 2>/dev/null; then
		fusermount3 -u "$MNT" 2>/dev/null || umount "$MNT" 2>/dev/null || true
	fi
	if [ -s "$TMP/lh.pid" ]; then
		kill "$(cat "$TMP/lh.pid")" 2>/dev/null || true
	fi
	if [ -n "$LH_PID" ]; then
		wait "$LH_PID" 2>/dev/null || true
	fi
	if [ -n "${KEEP_TMP:-}" ]; then
		say "kept $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap lh_cleanup EXIT

skip_all() {
	echo "1..0 # SKIP $*"
	exit 77
}

test_expect_success() {
	test_count=$((test_count + 1))
	if ( set -e${LH_TRACE:+x}; cd "$TMP"; eval "$2" ) >"$TMP/out.$test_count" 2>&1; then
		echo "ok $test_count - $1"
	else
		echo "not ok $test_count - $1"
		sed -e 's/^/#   /' "$TMP/out.$test_count" | tail -n 40
		test_failed=$((test_failed + 1))
	fi
}

# test_skip 'what' 'why': a test this machine cannot run, reported as a TAP skip.
test_skip() {
	test_count=$((test_count + 1))
	echo "ok $test_count - $1 # SKIP $2"
}

test_done() {
	echo "1..$test_count"
	[ "$test_failed" -eq 0 ]
	exit $?
}

# Skip the script when FUSE mounts cannot work here.
require_fuse() {
	[ -c /dev/fuse ] || skip_all "no /dev/fuse on this machine"
	[ -x "$LIGHTHOUSED" ] || skip_all "lighthoused is not built"
	if [ "$(id -u)" -ne 0 ] && ! command -v fusermount3 >/dev/null; then
		skip_all "not root and no fusermount3 (install the Debian package fuse3)"
	fi
}

# Start lighthoused in the foreground, in the background of this shell.
lh_start() {
	(cd "$PROJ" && exec "$LIGHTHOUSED" -f --state "$STATE" "$@" "$MNT") >>"$LH_LOG" 2>&1 &
	LH_PID=$!
	echo "$LH_PID" >"$TMP/lh.pid"
	n=0
	while ! [ -r "$MNT/stats" ] || ! grep -q '^lighthouse_up 1' "$MNT/stats" 2>/dev/null; do
		n=$((n + 1))
		if [ $n -gt 200 ] || ! kill -0 "$LH_PID" 2>/dev/null; then
			say "lighthoused did not come up:"
			sed -e 's/^/#   /' "$LH_LOG"
			return 1
		fi
		sleep 0.05
	done
}

# Unmount and check that the daemon exited 0.
lh_stop() {
	[ -n "$LH_PID" ] || return 0
	fusermount3 -u "$MNT" 2>/dev/null || umount "$MNT"
	rc=0
	wait "$LH_PID" || rc=$?
	LH_PID=
	: >"$TMP/lh.pid"
	if [ $rc -ne 0 ]; then
		say "lighthoused exited $rc:"
		sed -e 's/^/#   /' "$LH_LOG"
		return 1
	fi
}

# Start and stop the daemon as tests of their own, in the main shell.
test_start_daemon() {
	test_count=$((test_count + 1))
	if lh_start "$@" >"$TMP/out.$test_count" 2>&1; then
		echo "ok $test_count - lighthoused mounts${*:+ with $*}"
	else
		echo "not ok $test_count - lighthoused mounts${*:+ with $*}"
		sed -e 's/^/#   /' "$TMP/out.$test_count"
		test_failed=$((test_failed + 1))
	fi
}

test_stop_daemon() {
	test_count=$((test_count + 1))
	if lh_stop >"$TMP/out.$test_count" 2>&1; then
		echo "ok $test_count - unmounted, lighthoused exited 0"
	else
		echo "not ok $test_count - unmounted, lighthoused exited 0"
		sed -e 's/^/#   /' "$TMP/out.$test_count"
		test_failed=$((test_failed + 1))
	fi
}

# submit NAME TEXT: write a request the way a shell script does.
submit() {
	printf '%s' "$2" >"$MNT/requests/$1"
}

# decision NAME: the first line of results/NAME
decision() {
	head -n 1 "$MNT/results/$1"
}

# field NAME KEY: the value of "KEY: value" in results/NAME
field() {
	sed -n "s/^$2: //p" "$MNT/results/$1"
}

ctl() {
	"$LIGHTHOUSECTL" -m "$MNT" --state "$STATE" "$@"
}

# metric NAME: the value of a metric in the mount's stats file
metric() { sed -n "s/^$1 //p" "$MNT/stats"; }

# recorded: wait until the recorder has nothing left to do (a minute at most)
recorded() {
	n=0
	while [ "$(metric lighthouse_current_record_backlog)" != 0 ]; do
		n=$((n + 1)); [ $n -lt 1200 ] || return 1; sleep 0.05
	done
	sleep 0.1	# the last events' commit
}

#!/bin/sh
# t0800-security: one user cannot read or overwrite another's requests.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
require_fuse
[ "$(id -u)" -eq 0 ] || skip_all "needs root to act as two users"
command -v setpriv >/dev/null || skip_all "needs setpriv (util-linux)"

as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }

chmod 755 "$TMP"
d=$TMP; while [ "$d" != / ]; do d=$(dirname "$d"); [ -x "$d" ] || skip_all "$d is not searchable by others"; done
test_start_daemon

test_expect_success 'another user can submit requests of their own' '
	as_nobody sh -c "echo ls >$MNT/requests/theirs && head -1 $MNT/results/theirs" | grep -qx allow
'

test_expect_success 'and is recorded under their own uid' '
	id=$(field theirs request) &&
	ctl events --request $id --json | head -1 | "$TEST_TOOL" json uid | grep -qx 65534
'

test_expect_success 'but cannot read root'"'"'s verdict (EACCES)' '
	echo "cat secret" >"$MNT/requests/mine" && head -1 "$MNT/results/mine" >/dev/null &&
	! as_nobody cat "$MNT/results/mine" 2>err && grep -q "Permission denied" err &&
	! as_nobody cat "$MNT/results/mine.json" 2>err && grep -q "Permission denied" err
'

test_expect_success 'nor overwrite or remove root'"'"'s request' '
	! as_nobody sh -c "echo ls >$MNT/requests/mine" 2>err && grep -q "Permission denied" err &&
	! as_nobody rm -f "$MNT/requests/mine" 2>err &&
	[ "$(decision mine)" != "" ]
'

test_expect_success 'nor use the ctl file' '
	! as_nobody sh -c "echo status >$MNT/ctl" 2>err && grep -q "Permission denied" err
'

test_expect_success 'root reads everyone'"'"'s verdicts' '
	[ "$(decision theirs)" = allow ]
'

test_expect_success 'a store in a directory the daemon cannot write is refused at start' '
	mkdir -p "$TMP/ro" && chmod 555 "$TMP/ro" && mkdir -p "$TMP/m2" && chmod 777 "$TMP/m2" &&
	! as_nobody env HOME=/nonexistent "$LIGHTHOUSED" -f --state "$TMP/ro/state" "$TMP/m2" 2>err &&
	grep -q "cannot create state directory" err
'

test_expect_success 'a file only root may read stays so in current/, history/ and shadows/' '
	chmod 755 "$PROJ" && echo private >"$PROJ/root-only" && chmod 600 "$PROJ/root-only" &&
	echo public >"$PROJ/open" && chmod 644 "$PROJ/open" &&
	cat "$MNT/current/root-only" >/dev/null && n=0 &&
	until [ -e "$MNT/history/latest/root-only" ]; do n=$((n + 1)); [ $n -lt 100 ]; sleep 0.05; done &&
	! as_nobody cat "$MNT/current/root-only" 2>err && grep -q "Permission denied" err &&
	! as_nobody sh -c "echo x >>$MNT/current/root-only" 2>err && grep -q "Permission denied" err &&
	! as_nobody cat "$MNT/history/latest/root-only" 2>err && grep -q "Permission denied" err &&
	! as_nobody cat "$MNT/shadows/root-only.json" 2>err && grep -q "Permission denied" err &&
	[ "$(as_nobody cat "$MNT/current/open")" = public ] &&
	[ "$(as_nobody cat "$MNT/history/latest/open")" = public ]
'

test_stop_daemon

test_done

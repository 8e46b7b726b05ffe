#!/bin/sh
# t0710-store-faults: bad ground under the store. A corrupt or foreign
# database, a full disk, a read-only state directory: a clear error at
# start, or at run time a deny that says why -- never a verdict allowed
# without being recorded -- and recovery when the ground is good again.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
require_fuse
[ "$(id -u)" -eq 0 ] || skip_all "needs root to mount small and read-only file systems"

SMALL=$TMP/small
ROFS=$TMP/rofs
EXT=$TMP/ext

cleanup_mounts() {
	for m in "$EXT" "$ROFS" "$SMALL"; do
		grep -q " $m " /proc/mounts && umount "$m"
	done
	return 0
}
trap 'cleanup_mounts; lh_cleanup' EXIT

start_fails() { # STATE-DIR PATTERN
	! "$LIGHTHOUSED" --state "$1" "$MNT" 2>err && cat err && grep -q "$2" err &&
	! grep -q " $MNT " /proc/mounts
}

test_expect_success 'a corrupt, foreign, newer or damaged store stops the start, saying so' '
	mkdir -p c1 && head -c 10000 /dev/urandom >c1/events.db &&
	start_fails c1 "c1/events.db. is not a Lighthouse event store (not a SQLite database, or corrupt" &&
	"$TEST_TOOL" store-v1 c2 1 && "$TEST_TOOL" store-query -w c2 "PRAGMA application_id=7" &&
	start_fails c2 "is a SQLite database of another program" &&
	"$TEST_TOOL" store-open c3 && "$TEST_TOOL" store-query -w c3 "PRAGMA user_version=4" &&
	start_fails c3 "has schema version 4, newer than this Lighthouse (3); upgrade Lighthouse" &&
	"$TEST_TOOL" store-open c4 && "$TEST_TOOL" store-query -w c4 "DROP TABLE blobs" &&
	start_fails c4 "is damaged: table .blobs. is missing"
'

test_expect_success 'a read-only state directory stops the start' '
	mkdir -p "$ROFS" && mount -t tmpfs -o size=1m,ro tmpfs "$ROFS" &&
	start_fails "$ROFS/state" "cannot create state directory .*: Read-only file system" &&
	mount -o remount,rw "$ROFS" && "$TEST_TOOL" store-open "$ROFS/state" && mount -o remount,ro "$ROFS" &&
	start_fails "$ROFS/state" "state directory .* is not writable: Read-only file system" &&
	ctl --state "$ROFS/state" verify | grep -q "^ok:" &&
	umount "$ROFS"
'

mkdir -p "$SMALL"
mount -t tmpfs -o size=2m tmpfs "$SMALL" || skip_all "cannot mount a tmpfs"
STATE=$SMALL/state
test_start_daemon

# A request whose journal record still fits (tmpfs hands out whole pages,
# and the journal's last one has room) is durable and may be allowed: its
# commit fails and is retried until space comes back. Once commits fail,
# requests wait for them and are denied. So: ask until one is denied.
test_expect_success 'a full disk: requests are denied, saying why, and not recorded' '
	echo "ls" >"$MNT/requests/before" && [ "$(decision before)" = allow ] &&
	{ dd if=/dev/zero of="$SMALL/filler" bs=4k 2>/dev/null || true; } &&
	[ "$(df -k --output=avail "$SMALL" | tail -1 | tr -d " ")" = 0 ] &&
	: >journaled && n=0 &&
	while [ $n -lt 20 ]; do
		n=$((n + 1)) &&
		echo "ls" >"$MNT/requests/full" && d=$(decision full) &&
		if [ "$d" = allow ]; then field full request >>journaled; else break; fi
	done &&
	cat "$MNT/results/full" && [ "$(decision full)" = deny ] &&
	[ "$(field full rule)" = store.unavailable ] && [ "$(field full tier)" = limit ] &&
	field full reason | grep -q "the event store cannot record this request (No space left on device), so it is not allowed" &&
	"$TEST_TOOL" json decision <"$MNT/results/full.json" | grep -qx deny &&
	echo "git status" >"$MNT/requests/full2" && [ "$(decision full2)" = deny ] &&
	grep -q "^lighthouse_store_unrecorded_denials_total [2-9]" "$MNT/stats" &&
	ctl status >/dev/null && echo status | { exec 3<>"$MNT/ctl"; cat >&3; cat <&3; } >st &&
	grep -qx "store_error: No space left on device" st &&
	id=$(field full request) && [ -z "$(ctl events --request $id)" ] &&
	echo "allowed from the journal while the disk was full: $(wc -l <journaled)"
'

test_expect_success 'when space comes back, requests are recorded and allowed again' '
	rm -f "$SMALL/filler" &&
	echo "ls" >"$MNT/requests/after" && [ "$(decision after)" = allow ] &&
	id=$(field after request) && ctl events --request $id --type verdict | grep -q " allow "
'

test_expect_success 'what was allowed from the journal during the full disk reached the store' '
	for id in $(cat journaled); do
		ctl events --request $id --type verdict | grep -q " allow " || return 1
	done
'

test_stop_daemon

test_expect_success 'the store verifies after the full disk' '
	ctl verify | grep -q "^ok: .* the chain intact" &&
	umount "$SMALL"
'

# A file system that turns read-only under the daemon: ext4 remounts
# itself read-only on an error; the kernel can simulate one.
ext_ok=
if command -v mkfs.ext4 >/dev/null && [ -e /dev/loop-control ] &&
	truncate -s 16M "$TMP/ext.img" && mkfs.ext4 -q -F "$TMP/ext.img" 2>/dev/null &&
	mkdir -p "$EXT" && mount -o loop,errors=remount-ro "$TMP/ext.img" "$EXT" 2>/dev/null; then
	dev=$(basename "$(findmnt -n -o SOURCE "$EXT")")
	[ -w "/sys/fs/ext4/$dev/trigger_fs_error" ] && ext_ok=1
fi

if [ -n "$ext_ok" ]; then
	STATE=$EXT/state
	test_start_daemon
	test_expect_success 'the state file system turns read-only at run time: denied, saying why' '
		echo "ls" >"$MNT/requests/rw" && [ "$(decision rw)" = allow ] &&
		echo 1 >"/sys/fs/ext4/'"$dev"'/trigger_fs_error" &&
		echo "ls" >"$MNT/requests/ro" && cat "$MNT/results/ro" &&
		[ "$(decision ro)" = deny ] && [ "$(field ro rule)" = store.unavailable ] &&
		field ro reason | grep -q "cannot record this request (Read-only file system)" &&
		echo "ls -l" >"$MNT/requests/ro2" && [ "$(decision ro2)" = deny ]
	'
	test_stop_daemon
	test_expect_success 'what was recorded before stays readable and verifies' '
		ctl events --type verdict | grep -q " allow " &&
		ctl verify | grep -q "^ok:" &&
		umount "$EXT"
	'
else
	test_skip 'the state file system turns read-only at run time' "no ext4 loop mount with trigger_fs_error here"
fi

test_done

#!/bin/sh
# t0310-current-cache: current/ is cached by the kernel for long, and what
# changes behind the daemon's back (on the real directory) shows through
# the mount at once: the notifier invalidates exactly what changed. Our
# own changes cost no invalidation. Large directories list in pages and
# large files stream.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
require_fuse
FSOPS=$builddir/tests/fsops

# eventually CMD...: true within 5 s (the notifier is a thread of its own)
eventually() {
	n=0
	until "$@"; do
		n=$((n + 1))
		[ $n -lt 100 ] || return 1
		sleep 0.05
	done
}
# reads FILE TEXT / mode_is FILE MODE: checks made afresh at each try
reads() { [ "$(cat "$1" 2>/dev/null)" = "$2" ]; }
mode_is() { [ "$(stat -c %a "$1" 2>/dev/null)" = "$2" ]; }
invalidations() { grep "^lighthouse_current_invalidations_total" "$MNT/stats" | awk '{s+=$2} END {print s}'; }
# settled: the count of invalidations, once it has not moved for half a second
settled() {
	a=$(invalidations); sleep 0.5; b=$(invalidations)
	while [ "$a" != "$b" ]; do a=$b; sleep 0.5; b=$(invalidations); done
	echo "$b"
}

C=$MNT/current
mkdir -p "$PROJ/src"
echo one >"$PROJ/src/a"
echo keep >"$PROJ/src/b"
test_start_daemon -o current_entry_timeout=3600,current_attr_timeout=3600

test_expect_success 'a file rewritten on the real directory reads new through the mount' '
	[ "$(cat "$C/src/a")" = one ] &&
	echo two >"$PROJ/src/a" &&
	eventually reads "$C/src/a" two &&
	echo three-longer >"$PROJ/src/a" &&
	eventually reads "$C/src/a" three-longer &&
	[ "$(stat -c %s "$C/src/a")" = 13 ]
'

test_expect_success 'a name that did not exist appears (the negative entry is dropped)' '
	! stat "$C/src/new" 2>/dev/null && ! stat "$C/src/new" 2>/dev/null &&
	echo x >"$PROJ/src/new" &&
	eventually test -f "$C/src/new"
'

test_expect_success 'a listing follows outside creations, deletions and renames' '
	ls "$C/src" >/dev/null && ls "$C/src" >/dev/null &&
	touch "$PROJ/src/c" && eventually sh -c "ls \"$C/src\" | grep -qx c" &&
	rm "$PROJ/src/c" && eventually sh -c "! ls \"$C/src\" | grep -qx c" &&
	mv "$PROJ/src/new" "$PROJ/src/renamed" &&
	eventually sh -c "ls \"$C/src\" | grep -qx renamed" &&
	eventually sh -c "! ls \"$C/src\" | grep -qx new && ! [ -e \"$C/src/new\" ]"
'

test_expect_success 'a file deleted outside is gone, a mode changed outside shows' '
	cat "$C/src/renamed" >/dev/null && rm "$PROJ/src/renamed" &&
	eventually sh -c "! cat \"$C/src/renamed\" 2>/dev/null" &&
	stat -c %a "$C/src/b" >/dev/null && chmod 600 "$PROJ/src/b" &&
	eventually mode_is "$C/src/b" 600
'

test_expect_success 'a directory made outside is watched: what appears in it shows' '
	ls "$C" >/dev/null && mkdir -p "$PROJ/outside/deeper" &&
	eventually test -d "$C/outside/deeper" &&
	ls "$C/outside/deeper" >/dev/null &&
	echo hi >"$PROJ/outside/deeper/f" &&
	eventually reads "$C/outside/deeper/f" hi
'

test_expect_success 'our own changes cost the kernel no invalidation' '
	before=$(settled) &&
	mkdir "$C/own" &&
	for i in 1 2 3 4 5 6 7 8 9 10; do
		echo "$i" >"$C/own/f$i" && echo more >>"$C/own/f$i" && chmod 600 "$C/own/f$i" &&
		mv "$C/own/f$i" "$C/own/g$i" && ln "$C/own/g$i" "$C/own/h$i" && touch "$C/own/g$i"
	done &&
	truncate -s 1 "$C/own/g1" && rm "$C/own/h"* && ln -s g2 "$C/own/sl" && rm -r "$C/own" &&
	after=$(settled) && echo "$before -> $after" && [ "$before" = "$after" ]
'

test_expect_success 'a directory of 30000 entries lists whole, in many pages, by handle past the descriptor budget' '
	mkdir "$PROJ/big" && (cd "$PROJ/big" && seq 1 30000 | xargs touch) &&
	r0=$(($(metric "lighthouse_fuse_requests_total{op=\"readdirplus\"}") + $(metric "lighthouse_fuse_requests_total{op=\"readdir\"}"))) &&
	[ "$(ls -f "$C/big" | wc -l)" = 30002 ] &&
	[ "$(find "$C/big" -type f | wc -l)" = 30000 ] &&
	r1=$(($(metric "lighthouse_fuse_requests_total{op=\"readdirplus\"}") + $(metric "lighthouse_fuse_requests_total{op=\"readdir\"}"))) &&
	echo "readdir requests: $((r1 - r0))" && [ $((r1 - r0)) -gt 10 ] &&
	echo last >"$C/big/29999" && [ "$(cat "$PROJ/big/29999")" = last ] &&
	stat "$C/big/1" >/dev/null && rm -r "$C/big"
'

req() { metric "lighthouse_fuse_requests_total{op=\"$1\"}"; }
listings() { echo $(($(req readdirplus) + $(req readdir))); }

test_expect_success 'a small folder is listed again from the kernel, a big one with its attributes' '
	mkdir "$PROJ/small" "$PROJ/wide" && (cd "$PROJ/small" && seq 1 50 | xargs touch) &&
	(cd "$PROJ/wide" && seq 1 6000 | sed "s/^/name-/" | xargs touch) &&
	settled >/dev/null &&
	ls -f "$C/small" >/dev/null && r0=$(listings) &&
	[ "$(ls -f "$C/small" | wc -l)" = 52 ] && [ "$(listings)" = "$r0" ] &&
	ls -f "$C/wide" >/dev/null && l0=$(req lookup) &&
	[ "$(ls -l "$C/wide" | grep -c name-)" = 6000 ] &&
	echo "lookups for ls -l of 6000 names: $(($(req lookup) - l0))" &&
	[ $(($(req lookup) - l0)) -lt 600 ] &&
	rm -r "$C/small" "$C/wide"
'

test_expect_success 'a 256 MiB file streams through without the daemon holding it' '
	rss0=$(sed -n "s/^VmRSS: *\([0-9]*\) kB/\1/p" /proc/$LH_PID/status) &&
	dd if=/dev/urandom of="$TMP/big.bin" bs=1M count=16 2>/dev/null &&
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do cat "$TMP/big.bin"; done >"$C/big.bin" &&
	[ "$(stat -c %s "$PROJ/big.bin")" = 268435456 ] &&
	[ "$(cmp "$C/big.bin" "$PROJ/big.bin" && echo same)" = same ] &&
	rss1=$(sed -n "s/^VmRSS: *\([0-9]*\) kB/\1/p" /proc/$LH_PID/status) &&
	echo "daemon RSS $rss0 kB -> $rss1 kB" && [ $((rss1 - rss0)) -lt 65536 ] &&
	rm "$C/big.bin"
'

test_expect_success 'stats count the nodes, watches and outside changes' '
	[ "$(metric lighthouse_current_watches)" -ge 3 ] &&
	[ "$(metric lighthouse_current_external_changes_total)" -ge 5 ] &&
	metric lighthouse_current_nodes | grep -q "^[0-9]"
'

test_stop_daemon
test_done

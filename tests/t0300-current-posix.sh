#!/bin/sh
# t0300-current-posix: current/ behaves like the real directory. The same
# script of system calls (tests/data/posix-ops.txt) runs on a real
# directory and in current/; results, errno and the resulting tree must be
# equal. Then the same as another user: the permission checks of the real
# files hold through the mount, and what that user creates is theirs.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
require_fuse
FSOPS=$builddir/tests/fsops
[ -x "$FSOPS" ] || skip_all "tests/fsops is not built"

REAL=$TMP/real
mkdir -p "$REAL" "$PROJ/w"
test_start_daemon

test_expect_success 'the project shows in current/' '
	echo hi >"$PROJ/hello" &&
	[ "$(cat "$MNT/current/hello")" = hi ] &&
	[ -d "$MNT/current/w" ] &&
	[ "$(stat -c %a "$MNT/current")" = "$(stat -c %a "$PROJ")" ]
'

test_expect_success 'system calls: the same results and errno as on the real directory' '
	(cd "$REAL" && "$FSOPS" -f "$DATA/posix-ops.txt") >real.out &&
	(cd "$MNT/current/w" && "$FSOPS" -f "$DATA/posix-ops.txt") >mnt.out &&
	diff -u real.out mnt.out &&
	grep -q "^open f1 wronly,creat,excl 0644: EEXIST" mnt.out &&
	grep -q "^rename d/f1 d/x noreplace: EEXIST" mnt.out &&
	grep -q "^flock hard: ok EAGAIN ok" mnt.out &&
	grep -q "^posixlock hard: ok EAGAIN ok" mnt.out &&
	grep -q "^unlinked ul: ok nlink=0 size=10 still here" mnt.out
'

test_expect_success 'the tree left behind is the same, seen directly and through the mount' '
	(cd "$PROJ/w" && "$FSOPS" tree .) >proj.tree &&
	(cd "$MNT/current/w" && "$FSOPS" tree .) >mnt.tree &&
	(cd "$REAL" && "$FSOPS" tree .) >real.tree &&
	diff -u real.tree proj.tree && diff -u proj.tree mnt.tree &&
	grep -q "^escape symlink 0777 1 -> ../../../../../../etc/passwd" mnt.tree
'

if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
	chmod 755 "$TMP"
	cat >"$TMP/setup.txt" <<'SETUP'
mkdir pub 0777
chmod pub 0777
mkdir priv 0700
mkdir sticky 0777
chmod sticky 1777
open sticky/rootfile wronly,creat 0666
open pub/ro wronly,creat 0644
open priv/secret wronly,creat 0600
mkdir sgid 0777
chmod sgid 2777
chown sgid 0 100
SETUP
	cat >"$TMP/nobody.txt" <<'NOBODY'
open pub/ro wronly
read pub/ro
open pub/mine wronly,creat 0600
stat pub/mine
chmod pub/ro 0777
chown pub/mine 0 0
chmod pub/mine 0640
stat pub/mine
readdir priv
read priv/secret
open sticky/mine wronly,creat 0644
unlink sticky/rootfile
rename sticky/rootfile sticky/x
unlink sticky/mine
open sgid/f wronly,creat 0644
stat sgid/f
mkdir sgid/sub 0755
stat sgid/sub
utimes pub/ro 5
truncate pub/ro 0
mkdir pub/nd 0755
stat pub/nd
symlink x pub/nsl
lstat pub/nsl
setxattr pub/ro user.x 1
mkfifo pub/fifo 0600
stat pub/fifo
link pub/ro pub/rolink
NOBODY
	test_expect_success 'another user: the same permission errors, and what they create is theirs' '
		mkdir -p "$TMP/real2" "$PROJ/w2" &&
		(cd "$TMP/real2" && "$FSOPS" -f "$TMP/setup.txt") >/dev/null &&
		(cd "$MNT/current/w2" && "$FSOPS" -f "$TMP/setup.txt") >/dev/null &&
		(cd "$TMP/real2" && as_nobody "$FSOPS" -f "$TMP/nobody.txt") >real2.out &&
		(cd "$MNT/current/w2" && as_nobody "$FSOPS" -f "$TMP/nobody.txt") >mnt2.out &&
		diff -u real2.out mnt2.out &&
		grep -q "^open pub/ro wronly: EACCES" mnt2.out &&
		grep -q "^stat pub/mine: ok file 0600 1 0 65534 65534" mnt2.out &&
		grep -q "^unlink sticky/rootfile: EPERM" mnt2.out &&
		grep -q "^stat sgid/f: ok file 0644 1 0 65534 100" mnt2.out &&
		[ "$(stat -c %u:%g "$PROJ/w2/pub/mine")" = 65534:65534 ]
	'
else
	say "not root or no setpriv: the other-user checks are skipped"
fi

test_stop_daemon

test_expect_success 'the mount point inside the project is hidden from current/' '
	mkdir -p "$PROJ/inner" && MNT=$PROJ/inner && lh_start &&
	[ -d "$MNT/current/w" ] && ! ls "$MNT/current" | grep -qx inner &&
	! [ -e "$MNT/current/inner" ] &&
	find "$MNT/current" >/dev/null &&
	lh_stop
'

# The same again, with room for four descriptors: every file and folder
# past them is reached by file handle (where the daemon may use handles:
# the budget is -1 where it may not).
MNT=$TMP/mnt3
mkdir -p "$MNT" "$PROJ/w3" "$TMP/real3"
test_start_daemon -o current_fds=4

test_expect_success 'past the descriptor budget: the same results, errno and tree' '
	(cd "$TMP/real3" && "$FSOPS" -f "$DATA/posix-ops.txt") >real3.out &&
	(cd "$MNT/current/w3" && "$FSOPS" -f "$DATA/posix-ops.txt") >mnt3.out &&
	diff -u real3.out mnt3.out &&
	(cd "$TMP/real3" && "$FSOPS" tree .) >real3.tree &&
	(cd "$MNT/current/w3" && "$FSOPS" tree .) >mnt3.tree &&
	diff -u real3.tree mnt3.tree &&
	budget=$(metric lighthouse_current_fds_budget) && kept=$(metric lighthouse_current_fds_kept) &&
	echo "budget $budget, kept $kept" && { [ "$budget" = -1 ] || [ "$kept" -le 4 ]; }
'

test_expect_success 'past the descriptor budget: files made, written, moved and removed are recorded' '
	C=$MNT/current/w3 &&
	for i in $(seq 1 60); do
		echo "v$i" >"$C/n$i" && echo "w$i" >>"$C/n$i" && mv "$C/n$i" "$C/m$i" || return 1
	done &&
	for i in $(seq 1 20); do rm "$C/m$i" || return 1; done &&
	[ "$(cat "$C/m42")" = "$(printf "v42\nw42")" ] &&
	recorded &&
	(cd "$MNT/history/latest/w3" && ls m* | sort) >hist.ls &&
	(cd "$PROJ/w3" && ls m* | sort) >proj.ls &&
	diff -u proj.ls hist.ls && [ "$(wc -l <hist.ls)" = 40 ] &&
	cmp "$MNT/history/latest/w3/m42" "$PROJ/w3/m42"
'

# A node reached by handle does not keep its inode: deleted behind the
# daemon's back, its number may go to a new file (ext4 gives it at once)
# while the kernel still holds the old node -- here through an O_PATH
# descriptor, which the file system is not asked to open. The new file
# is a new node: the old one's handle would say ESTALE to every open.
test_expect_success 'past the budget: a new file with a deleted file'\''s inode number is itself' '
	C=$MNT/current/w3 && R=$PROJ/w3 &&
	echo old >"$C/reused" && recorded &&
	old=$(stat -c %i "$R/reused") &&
	mkfifo hold.fifo &&
	{ "$FSOPS" holdpath "$C/reused" <hold.fifo >hold.out & } &&
	exec 7>hold.fifo &&
	n=0 && until grep -q ok hold.out; do n=$((n + 1)); [ $n -lt 100 ] || return 1; sleep 0.05; done &&
	rm "$R/reused" &&
	hit= &&
	for i in $(seq 1 20); do
		echo "new $i" >"$R/new$i" &&
		if [ "$(stat -c %i "$R/new$i")" = "$old" ]; then hit=$i; fi || return 1
	done &&
	for i in $(seq 1 20); do [ "$(cat "$C/new$i")" = "new $i" ] || return 1; done &&
	exec 7>&- && wait &&
	if [ -n "$hit" ]; then
		say "new$hit took the deleted file'\''s inode number" &&
		[ "$(metric lighthouse_current_stale_nodes_total)" -ge 1 ]
	else
		say "this file system gave none of them the old number: nothing more to see"
	fi
'

test_stop_daemon

test_done

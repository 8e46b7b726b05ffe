#!/bin/sh
# t0340-current-record: every change made through current/ is recorded
# when it completes, with its content, attributed to the caller; changes
# made behind the daemon's back are recorded as external, whether the
# daemon ran then or not; refused operations are recorded as denied.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
require_fuse

C=$MNT/current
FSOPS=$builddir/tests/fsops
fev() { ctl events --type "file.*" "$@"; }
fjson() { ctl events --type "file.*" --json "$@"; }

mkdir -p "$PROJ/src"
echo 'int main(void) { return 0; }' >"$PROJ/src/main.c"
echo notes >"$PROJ/README"
test_start_daemon

test_expect_success 'the first start records the project as it is: its baseline' '
	recorded &&
	fjson --path src/main.c >out && grep -q "\"type\":\"file.created\"" out &&
	grep -q "\"external\":true" out && grep -q "\"blob\":\"[0-9a-f]\{32\}\"" out &&
	fev --path README | grep -q file.created && fev --path src | grep -q file.created
'

test_expect_success 'a file written through the mount: created, then modified, with its content' '
	echo "first" >"$C/new.txt" && recorded &&
	fjson --path new.txt >out && [ $(wc -l <out) = 1 ] &&
	grep -q "\"type\":\"file.created\"" out && grep -q "\"size\":6" out &&
	grep -q "\"uid\":0" out && grep -q "\"pid\":[1-9]" out && grep -q "\"agent\":\"sid:[0-9]*\"" out &&
	echo "second version" >"$C/new.txt" && recorded &&
	fjson --path new.txt | tail -1 | grep -q "\"type\":\"file.modified\".*\"size\":15" &&
	[ "$(cat "$MNT/history/latest/new.txt")" = "second version" ]
'

test_expect_success 'writing the same bytes again keeps the same content' '
	echo "second version" >"$C/new.txt" && recorded &&
	fjson --path new.txt | tail -2 | sed "s/.*\"blob\":\"\([0-9a-f]*\)\".*/\1/" >blobs &&
	[ $(sort -u blobs | wc -l) = 1 ] && [ $(wc -l <blobs) = 2 ]
'

# The recorder is kept busy with a big file while a small one is written
# again and again: each version is read when its writer lets go of it
# (at RELEASE), not when the recorder comes to it.
test_expect_success 'writes while the recorder is busy: every version is recorded as it was' '
	dd if=/dev/urandom of="$C/big.bin" bs=1M count=48 2>/dev/null &&
	for i in 1 2 3 4 5; do echo "version $i" >"$C/quick.txt"; sleep 0.02; done && recorded &&
	fjson --path quick.txt >out && [ $(wc -l <out) = 5 ] &&
	for i in 1 2 3 4 5; do
		seq=$(sed -n "${i}p" out | sed "s/^{\"seq\":\([0-9]*\),.*/\1/") &&
		[ "$(cat "$MNT/history/$seq/quick.txt")" = "version $i" ] || exit 1
	done
'

# Back to back, with no pause: close() does not wait for RELEASE, so the
# next writer's open (O_TRUNC) or first append can reach the daemon
# first. The content the late RELEASE was to record is taken before that
# change; before, about one version in fifty was lost.
test_expect_success 'versions written back to back, each by a new writer: none is lost' '
	for i in $(seq 1 300); do echo "v $i" >"$C/rapid.txt"; done && recorded &&
	fjson --path rapid.txt | sed "s/^{\"seq\":\([0-9]*\),.*/\1/" >seqs && [ $(wc -l <seqs) = 300 ] &&
	for s in $(cat seqs); do cat "$MNT/history/$s/rapid.txt"; done >versions &&
	seq 1 300 | sed "s/^/v /" >expected && cmp expected versions &&
	: >"$C/log.txt" && for i in $(seq 1 100); do echo "$i" >>"$C/log.txt"; done && recorded &&
	fjson --path log.txt | sed "s/^{\"seq\":\([0-9]*\),.*/\1/" >seqs && [ $(wc -l <seqs) = 101 ] &&
	i=0 && for s in $(cat seqs); do
		[ "$(wc -l <"$MNT/history/$s/log.txt")" = $i ] &&
		{ [ $i = 0 ] || [ "$(tail -1 "$MNT/history/$s/log.txt")" = $i ]; } || exit 1
		i=$((i + 1))
	done
'

test_expect_success 'chmod, symlink, mkdir, rename and delete each record what they did' '
	chmod 600 "$C/new.txt" && ln -s new.txt "$C/link" && mkdir "$C/docs" &&
	echo a >"$C/docs/a.md" && mkdir "$C/docs/sub" && echo b >"$C/docs/sub/b.md" &&
	mv "$C/docs" "$C/guide" && mv "$C/new.txt" "$C/renamed.txt" && recorded &&
	fev --path renamed.txt | grep -q "file.renamed .*new.txt" &&
	fjson --path new.txt | grep -q "\"type\":\"file.mode\".*\"prev_mode\":\"0644\"" &&
	fjson --path link | grep -q "\"kind\":\"symlink\".*\"target\":\"new.txt\"" &&
	fev --path guide | grep -q "file.renamed .*docs" &&
	fev --path guide/a.md | grep -q "file.renamed .*docs/a.md" &&
	fev --path guide/sub/b.md | grep -q "file.renamed .*docs/sub/b.md" &&
	rm -r "$C/guide" && recorded &&
	fev --path guide/sub/b.md | tail -1 | grep -q file.deleted &&
	fev --path guide | tail -1 | grep -q file.deleted &&
	[ "$(fev --type file.deleted | grep -n "guide/sub/b.md" | cut -d: -f1)" -lt \
	  "$(fev --type file.deleted | grep -n "\[guide\]" | cut -d: -f1)" ]
'

test_expect_success 'an editor that writes a new file and renames it over the old one' '
	printf "v1\n" >"$C/edit.txt" &&
	printf "v2\n" >"$C/.edit.txt.swp" && mv "$C/.edit.txt.swp" "$C/edit.txt" && recorded &&
	fjson --path edit.txt | tail -1 | grep -q "\"type\":\"file.renamed\".*\"from\":\".edit.txt.swp\"" &&
	[ "$(cat "$MNT/history/latest/edit.txt")" = v2 ] && ! [ -e "$MNT/history/latest/.edit.txt.swp" ]
'

# Written to after its name went: the kernel calls such a file
# "PATH (deleted)" (/proc/self/fd), which is no name of it. A file really
# named so, written while another name went, keeps its name.
test_expect_success 'a file written after its name was removed records no "NAME (deleted)"' '
	exec 3>"$C/gone.txt" && echo a >&3 && rm "$C/gone.txt" && echo b >&3 && exec 3>&- &&
	echo x >"$C/kept (deleted)" && echo y >"$C/other.txt" &&
	exec 3>>"$C/kept (deleted)" && echo z >&3 && rm "$C/other.txt" && exec 3>&- && recorded &&
	! ls "$MNT/history/latest" | grep -qx "gone.txt (deleted)" &&
	! fev | grep -q "gone.txt (deleted)" &&
	fev --path gone.txt >out && grep -q file.created out && tail -1 out | grep -q file.deleted &&
	[ "$(printf "x\nz")" = "$(cat "$MNT/history/latest/kept (deleted)")" ] &&
	fjson --path "kept (deleted)" | tail -1 | grep -q "\"size\":4"
'

# A temporary file written, closed and unlinked at once -- git does that
# with every loose object (tmp_obj_*), linking it to the object's name
# first. The RELEASE of the close comes while the unlink runs; the delete
# must be recorded after the content, or the temporary file lives on in
# history. It did, in 1 to 3 of 24 000 files; this test failed in 4 of
# 6 runs without the fix (a race: never in all of them).
test_expect_success 'a file closed and unlinked at once leaves no trace in history' '
	for d in o1 o2 o3 o4; do mkdir "$C/$d" || return 1; done &&
	for d in o1 o2 o3 o4; do "$FSOPS" objects "$C/$d" 6000 >"$d.out" & done; wait &&
	for d in o1 o2 o3 o4; do grep -qx "objects $C/$d 6000: ok" "$d.out" || return 1; done &&
	recorded &&
	(cd "$MNT/history/latest" && find o1 o2 o3 o4 -name "tmp_*") >left &&
	! [ -s left ] &&
	[ "$(find "$MNT/history/latest/o1" "$MNT/history/latest/o4" -name "obj_*" | wc -l)" = 6000 ] &&
	rm -rf "$C/o1" "$C/o2" "$C/o3" "$C/o4"
'

test_expect_success 'a large file streams into the store and back out whole' '
	dd if=/dev/urandom of="$TMP/big" bs=1M count=24 2>/dev/null && cp "$TMP/big" "$C/big.bin" &&
	recorded && fjson --path big.bin | grep -q "\"size\":25165824" &&
	cmp "$TMP/big" "$MNT/history/latest/big.bin"
'

if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	test_expect_success 'a change by another user is recorded as theirs' '
		chmod 755 "$TMP" "$PROJ" && mkdir "$C/shared" && chmod 777 "$C/shared" &&
		setpriv --reuid=65534 --regid=65534 --clear-groups -- sh -c "echo mine >$C/shared/theirs" &&
		recorded && fjson --path shared/theirs | grep -q "\"uid\":65534,\"gid\":65534"
	'
fi

test_expect_success 'a refused write is recorded as denied, with the rule' '
	! sh -c "echo KEY=1 >\"$C/.env\"" 2>/dev/null && recorded &&
	ctl events --type file.denied --json >out &&
	grep -q "\"path\":\".env\"" out && grep -q "\"op\":\"create\"" out &&
	grep -q "\"rule\":\"secrets.write\"" out
'

test_expect_success 'a change behind the daemon'"'"'s back is recorded as external' '
	echo "changed outside" >"$PROJ/README" && echo fresh >"$PROJ/src/outside.c" &&
	rm "$PROJ/renamed.txt" &&
	n=0; until fjson --path README | tail -1 | grep -q "\"type\":\"file.modified\".*\"external\":true"; do
		n=$((n + 1)); [ $n -lt 100 ]; sleep 0.05; done &&
	n=0; until fjson --path src/outside.c | grep -q "\"external\":true"; do
		n=$((n + 1)); [ $n -lt 100 ]; sleep 0.05; done &&
	n=0; until fev --path renamed.txt | tail -1 | grep -q file.deleted; do
		n=$((n + 1)); [ $n -lt 100 ]; sleep 0.05; done &&
	fjson --path README | tail -1 | grep -qv "\"uid\""
'

# The kernel holds the file (it was read through the mount): the outside
# writer's IN_MODIFY is news first, and its IN_CLOSE_WRITE must still
# record it.
test_expect_success 'a change behind its back to a file the kernel holds is recorded too' '
	echo "inside" >"$C/held.txt" && recorded && [ "$(cat "$C/held.txt")" = inside ] &&
	for i in 1 2 3; do
		echo "outside $i" >>"$PROJ/held.txt" &&
		n=0 && until [ "$(cat "$MNT/history/latest/held.txt")" = "$(cat "$PROJ/held.txt")" ]; do
			n=$((n + 1)); [ $n -lt 100 ] || return 1; sleep 0.05; done || return 1
	done &&
	fjson --path held.txt | tail -1 | grep -q "\"type\":\"file.modified\".*\"external\":true" &&
	[ "$(cat "$C/held.txt")" = "$(cat "$PROJ/held.txt")" ]
'

# The record has a content per path: a change through one name of a file
# with hard links changes every name of it, and each is recorded so --
# through the mount or outside it, after its folder moved, and after a
# restart (the scan learns the names).
same_in_history() {
	for p in "$@"; do
		n=0 && until [ "$(cat "$MNT/history/latest/$p" 2>/dev/null)" = "$(cat "$PROJ/$p")" ] &&
			[ "$(stat -c %a "$MNT/history/latest/$p")" = "$(stat -c %a "$PROJ/$p")" ]; do
			n=$((n + 1)); [ $n -lt 100 ] || { echo "history/latest/$p differs"; return 1; }
			sleep 0.05; done || return 1
	done
}
test_expect_success 'a change through one name of a file with hard links is recorded for every name' '
	echo a >"$C/lnk1" && ln "$C/lnk1" "$C/lnk2" && echo b >>"$C/lnk2" && recorded &&
	same_in_history lnk1 lnk2 &&
	mkdir "$C/lnkd" && ln "$C/lnk1" "$C/lnkd/lnk3" && mv "$C/lnkd" "$C/lnke" && recorded &&
	echo c >>"$C/lnk1" && recorded && same_in_history lnk1 lnk2 lnke/lnk3 &&
	chmod 600 "$C/lnk2" && recorded && same_in_history lnk1 lnk2 lnke/lnk3 &&
	truncate -s 1 "$C/lnke/lnk3" && recorded && same_in_history lnk1 lnk2 lnke/lnk3 &&
	echo d >>"$PROJ/lnk1" && same_in_history lnk1 lnk2 lnke/lnk3 &&
	fjson --path lnke/lnk3 | tail -1 | grep -q "\"external\":true" &&
	[ "$(metric lighthouse_current_link_names)" -ge 3 ]
'

test_stop_daemon

test_expect_success 'and so is what changed while no daemon ran, at the next start' '
	echo "offline edit" >"$PROJ/src/main.c" && mkdir "$PROJ/later" && echo x >"$PROJ/later/f" &&
	rm "$PROJ/edit.txt" && lh_start && recorded &&
	fjson --path src/main.c | tail -1 | grep -q "\"type\":\"file.modified\".*\"external\":true" &&
	fev --path later/f | grep -q file.created &&
	fev --path edit.txt | tail -1 | grep -q file.deleted &&
	[ "$(cat "$MNT/history/latest/src/main.c")" = "offline edit" ] &&
	echo e >>"$C/lnk2" && recorded && same_in_history lnk1 lnk2 lnke/lnk3 &&
	before=$(fev | wc -l) && lh_stop && lh_start && recorded && lh_stop &&
	[ $(fev | wc -l) = $before ]
'

test_done

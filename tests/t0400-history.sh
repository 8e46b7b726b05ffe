#!/bin/sh
# t0400-history: history/SEQ/, history/TIME/ and history/latest/ show the
# project as it was after an event, read-only; diff -r, grep -r and
# git diff --no-index work on them; lighthousectl replay writes the same
# tree out.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
require_fuse

C=$MNT/current
H=$MNT/history
last_seq() { ctl events --type "file.*" | tail -1 | cut -d" " -f1; }

mkdir -p "$PROJ/src"
printf 'int add(int a, int b) { return a + b; }\n' >"$PROJ/src/add.c"
printf 'old notes\n' >"$PROJ/NOTES"
test_start_daemon

test_expect_success 'history/ lists latest, and latest is the project as recorded' '
	recorded && [ "$(ls "$H")" = latest ] &&
	[ "$(cat "$H/latest/src/add.c")" = "int add(int a, int b) { return a + b; }" ] &&
	[ "$(cat "$H/latest/NOTES")" = "old notes" ]
'

test_expect_success 'history/SEQ/ keeps the state after that event while current/ moves on' '
	before=$(last_seq) && echo "$before" >before &&
	printf "int add(int a, int b) { return b + a; }\nint sub(int a, int b);\n" >"$C/src/add.c" &&
	echo "new notes" >"$C/NOTES" && mkdir "$C/lib" && echo lib >"$C/lib/x.c" &&
	rm "$C/NOTES" && recorded &&
	[ "$(cat "$H/$before/NOTES")" = "old notes" ] && ! [ -e "$H/latest/NOTES" ] &&
	! [ -e "$H/$before/lib" ] && [ "$(cat "$H/latest/lib/x.c")" = lib ] &&
	grep -q "b + a" "$H/latest/src/add.c" && grep -q "a + b" "$H/$before/src/add.c"
'

test_expect_success 'diff -r, grep -r and git diff --no-index work on history' '
	before=$(cat before) &&
	! diff -r "$H/$before/src" "$C/src" >d && grep -q "^< int add(int a, int b) { return a + b; }" d &&
	grep -q "^> int sub" d &&
	diff -r "$H/latest/src" "$C/src" &&
	grep -rn "return a + b" "$H/$before" | grep -q "src/add.c:1:" &&
	! grep -rq "return a + b" "$H/latest" &&
	if command -v git >/dev/null; then
		! git diff --no-index --stat "$H/$before/src/add.c" "$C/src/add.c" >g &&
		grep -q "1 file changed" g
	fi
'

test_expect_success 'history/TIME/ is the state at that time' '
	sleep 1.1 && t=$(date -u +%Y-%m-%dT%H:%M:%SZ) && sleep 1.1 &&
	echo after >"$C/late.txt" && recorded &&
	! [ -e "$H/$t/late.txt" ] && [ "$(cat "$H/latest/late.txt")" = after ] &&
	grep -q "b + a" "$H/$t/src/add.c" &&
	[ -z "$(ls "$H/2000-01-01")" ] && [ -z "$(ls "$H/2000-01-01T00:00:00+02:00")" ]
'

test_expect_success 'history is read-only: writes fail with EROFS' '
	! sh -c "echo x >\"$H/latest/late.txt\"" 2>err && grep -q "Read-only file system" err &&
	! touch "$H/latest/new" 2>err && grep -q "Read-only file system" err &&
	! rm "$H/latest/late.txt" 2>err && grep -q "Read-only file system" err &&
	! mkdir "$H/latest/d" 2>err && grep -q "Read-only file system" err &&
	! chmod 777 "$H/latest/late.txt" 2>err && grep -q "Read-only file system" err &&
	! mv "$H/latest/late.txt" "$H/latest/x" 2>err && grep -q "Read-only file system" err
'

test_expect_success 'names that are no event or time do not exist' '
	! [ -e "$H/99999999" ] && ! [ -e "$H/yesterday" ] && ! [ -e "$H/2026-13-45" ]
'

test_expect_success 'history hides what the policy hides in current/' '
	echo SECRET=1 >"$PROJ/.env" && n=0 &&
	until [ -e "$H/latest/.env" ]; do n=$((n + 1)); [ $n -lt 100 ]; sleep 0.05; done &&
	! cat "$H/latest/.env" 2>err && grep -q "Permission denied" err
'

test_expect_success 'lighthousectl replay writes the same trees out' '
	before=$(cat before) &&
	ctl replay --to "$before" "$TMP/r1" >out && grep -q "^replayed: event $before" out &&
	diff -r "$TMP/r1" "$H/$before" &&
	[ "$(stat -c %a "$TMP/r1/src/add.c")" = "$(stat -c %a "$H/$before/src/add.c")" ] &&
	ctl replay --to "$(last_seq)" "$TMP/r2" >/dev/null &&
	diff -r --exclude=.env "$TMP/r2" "$H/latest" &&
	! ctl replay --to "$before" "$TMP/r1" 2>err && grep -q "is not empty" err
'

test_expect_success 'a snapshot of 2000 files lists whole with find' '
	mkdir "$C/many" && (cd "$C/many" && seq 1 2000 | sed "s/^/f/" | xargs touch) && recorded &&
	[ $(find "$H/latest/many" -type f | wc -l) = 2000 ] &&
	s=$(last_seq) && [ $(find "$H/$s/many" | wc -l) = 2001 ]
'

test_stop_daemon

test_done

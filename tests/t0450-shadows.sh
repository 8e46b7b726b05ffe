#!/bin/sh
# t0450-shadows: shadows/PATH.json holds the annotations of current/PATH.
# Writing JSON appends them (recorded as annotation events); reading
# returns them at the lines they are on now: they follow their lines
# through edits, and are orphaned when those lines are gone.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
require_fuse

C=$MNT/current
S=$MNT/shadows
# field JSON-LINE KEY: a value from one annotation (compact JSON, one per line)
field() { printf '%s\n' "$1" | sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p"; }
annotate() { printf '%s' "$2" | dd of="$S/$1" status=none; }
nth() { grep '^{' "$S/$1" | sed -n "${2}p"; }

mkdir -p "$PROJ/src"
printf 'one\ntwo\nint f(void)\n{\n\treturn 1;\n}\nseven\n' >"$PROJ/src/f.c"
echo KEY=1 >"$PROJ/.env"
test_start_daemon

test_expect_success 'shadows/ mirrors the folders; a file without annotations reads []' '
	[ "$(ls "$S")" = src ] && [ -z "$(ls "$S/src")" ] &&
	[ "$(cat "$S/src/f.c.json")" = "[]" ] &&
	! cat "$S/src/nothere.c.json" 2>/dev/null
'

test_expect_success 'an annotation is appended, listed, recorded and read back at its lines' '
	annotate src/f.c.json "{\"line\":3,\"end_line\":6,\"text\":\"f returns 1\",\"tags\":[\"review\",\"bug\"],\"author\":\"alice\"}" &&
	[ "$(ls "$S/src")" = f.c.json ] &&
	a=$(nth src/f.c.json 1) && echo "$a" &&
	[ "$(field "$a" line)" = 3 ] && [ "$(field "$a" end_line)" = 6 ] &&
	[ "$(field "$a" author)" = "\"alice\"" ] && [ "$(field "$a" orphaned)" = false ] &&
	echo "$a" | grep -q "\"tags\":\[\"review\",\"bug\"\]" &&
	ctl events --type annotation --json >ev && grep -q "\"path\":\"src/f.c\"" ev &&
	grep -q "\"anchor\":\"int f(void)\\\\n{\\\\n\\\\treturn 1;\\\\n}\"" ev
'

test_expect_success 'several at once, as an array or one after another; the author defaults to the writer' '
	annotate src/f.c.json "[{\"line\":1,\"text\":\"first\"},{\"text\":\"the whole file\"}] {\"lines\":[7,7],\"text\":\"last\"}" &&
	[ $(grep -c "^{" "$S/src/f.c.json") = 4 ] &&
	a=$(grep "\"first\"" "$S/src/f.c.json") && field "$a" author | grep -q "sid:" &&
	w=$(grep "whole file" "$S/src/f.c.json") && ! echo "$w" | grep -q "\"line\""
'

test_expect_success 'annotations follow their lines when lines are added above' '
	sed -i "1i added-a\nadded-b" "$C/src/f.c" &&
	a=$(grep "f returns 1" "$S/src/f.c.json") &&
	[ "$(field "$a" line)" = 5 ] && [ "$(field "$a" end_line)" = 8 ] &&
	[ "$(field "$a" written_line)" = 3 ] &&
	l=$(grep "\"last\"" "$S/src/f.c.json") && [ "$(field "$l" line)" = 9 ]
'

test_expect_success 'edited lines keep it in place, marked changed; lines gone make it orphaned' '
	sed -i "s/return 1/return 2/" "$C/src/f.c" &&
	a=$(grep "f returns 1" "$S/src/f.c.json") &&
	[ "$(field "$a" line)" = 5 ] && echo "$a" | grep -q "\"changed\":true" &&
	sed -i "/seven/d" "$C/src/f.c" &&
	l=$(grep "\"last\"" "$S/src/f.c.json") && [ "$(field "$l" orphaned)" = true ] &&
	[ "$(field "$l" line)" = null ]
'

test_expect_success 'a bad annotation fails the close with EINVAL and records nothing' '
	n=$(ctl events --type annotation | wc -l) &&
	! annotate src/f.c.json "{\"line\":99,\"text\":\"beyond\"}" 2>err && grep -q "Invalid argument" err &&
	! annotate src/f.c.json "{\"text\":\"ok\"} not json" 2>err &&
	! annotate src/f.c.json "{\"line\":1}" 2>err &&
	! annotate src/f.c.json "{\"text\":\"x\",\"tags\":\"notalist\"}" 2>err &&
	! annotate src/f.c.json "{\"text\":\"a\",\"text\":\"b\"}" 2>err &&
	[ $(ctl events --type annotation | wc -l) = $n ]
'

test_expect_success 'a file deleted keeps its annotations, all orphaned' '
	rm "$C/src/f.c" &&
	[ $(grep -c "^{" "$S/src/f.c.json") = 4 ] &&
	! grep "^{" "$S/src/f.c.json" | grep -q "\"orphaned\":false"
'

test_expect_success 'nothing to annotate: no such file, or a secret' '
	! annotate src/none.c.json "{\"text\":\"x\"}" 2>err && grep -q "No such file" err &&
	! annotate .env.json "{\"text\":\"x\"}" 2>err && grep -q "Permission denied" err &&
	! cat "$S/.env.json" 2>err && grep -q "Permission denied" err &&
	! mkdir "$S/new" 2>/dev/null && ! rm "$S/src/f.c.json" 2>/dev/null
'

test_stop_daemon
test_done

#!/bin/sh
# t0022-journal: the store's journal keeps every acknowledged record and
# shrugs off a torn tail.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

J=$TMP/j

test_expect_success 'concurrent appends: every record replays, in order, none lost' '
	"$TEST_TOOL" journal-append "$J" 8 500 >out && grep -q "^appended 4000 records" out &&
	"$TEST_TOOL" journal-replay "$J" >out &&
	grep -qx "records 4000 events 8000 tail 0 holes 0 agents 2000" out
'

test_expect_success 'a torn last record (a crash mid-write) is ignored, the rest kept' '
	size=$(stat -c %s "$J/journal") &&
	truncate -s $((size - 7)) "$J/journal" &&
	"$TEST_TOOL" journal-replay "$J" >out &&
	grep -q "^records 3999 events 7998 tail [1-9][0-9]* holes 0" out
'

test_expect_success 'a changed byte stops the replay at that record' '
	# offset 100 is inside the first record'"'"'s first payload: {"thread":...
	[ "$(dd if="$J/journal" bs=1 skip=100 count=1 2>/dev/null)" = "\"" ] &&
	printf Z | dd of="$J/journal" bs=1 seek=100 conv=notrunc 2>/dev/null &&
	"$TEST_TOOL" journal-replay "$J" >out &&
	grep -q "^records 0 events 0 tail [1-9]" out
'

test_expect_success 'no journal at all is an empty one' '
	mkdir -p "$TMP/none" && "$TEST_TOOL" journal-replay "$TMP/none" | grep -qx "records 0 events 0 tail 0 holes 0 agents 0"
'

test_done

#!/bin/sh
# t0022-journal: the store's journal keeps every acknowledged record and
# shrugs off a torn tail.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

J=$TMP/j

test_expect_success 'concurrent appends: every record replays, in order, none lost' '
	"$TEST_TOOL" journal-append "$J" 8 500 >out && grep -q "^appended 4000 records" out &&
	"$TEST_TOOL" journal-replay "$J" >out &&
	grep -qx "records 4000 events 8000 tail 0 holes 0 agents 2000 gen 7" out
'

test_expect_success 'a torn last record (a crash mid-write) is ignored, the rest kept' '
	size=$(stat -c %s "$J/journal") &&
	truncate -s $((size - 7)) "$J/journal" &&
	"$TEST_TOOL" journal-replay "$J" >out &&
	grep -q "^records 3999 events 7998 tail [1-9][0-9]* holes 0" out
'

test_expect_success 'a changed byte stops the replay at that record' '
	# offset 116 is inside the first record'"'"'s first payload: {"thread":...
	[ "$(dd if="$J/journal" bs=1 skip=116 count=1 2>/dev/null)" = "\"" ] &&
	printf Z | dd of="$J/journal" bs=1 seek=116 conv=notrunc 2>/dev/null &&
	"$TEST_TOOL" journal-replay "$J" >out &&
	grep -q "^records 0 events 0 tail [1-9]" out
'

test_expect_success 'no journal at all is an empty one' '
	mkdir -p "$TMP/none" && "$TEST_TOOL" journal-replay "$TMP/none" | grep -qx "records 0 events 0 tail 0 holes 0 agents 0 gen 0"
'

# The store with the journal, as the daemon opens it.
S=$TMP/s

test_expect_success 'the store releases at the journal, and the database gets everything' '
	"$TEST_TOOL" store-journal "$S" 4 2000 --rotate 65536 >out && cat out &&
	grep -q "^released 8000 (late [0-9]*) failures 0 replayed 0 rotations [1-9]" out &&
	[ "$("$TEST_TOOL" store-query "$S" "SELECT count(*) FROM events")" = 16000 ] &&
	[ "$(stat -c %s "$S/journal")" = 16 ] &&
	ctl --state "$S" verify | grep -q "^ok: 16000 events"
'

test_expect_success 'killed before the database caught up: the next open replays the journal' '
	"$TEST_TOOL" store-journal "$TMP/k" 4 3000 --crash >out && cat out &&
	grep -q "^released 12000 (late 0) failures 0" out &&
	[ "$(stat -c %s "$TMP/k/journal")" -gt 16 ] &&
	"$TEST_TOOL" store-journal "$TMP/k" 0 0 >out && cat out &&
	grep -q "^released 0 (late 0) failures 0 replayed [0-9]* " out &&
	[ "$("$TEST_TOOL" store-query "$TMP/k" "SELECT count(*) FROM events")" = 24000 ] &&
	[ "$("$TEST_TOOL" store-query "$TMP/k" "SELECT count(DISTINCT request_id) FROM events")" = 12000 ] &&
	ctl --state "$TMP/k" verify | grep -q "^ok: 24000 events" &&
	"$TEST_TOOL" store-query "$TMP/k" "SELECT generation, offset FROM journal" | grep -qx "[1-9][0-9]*|0"
'

test_expect_success 'a journal of another database is refused at open, saying what to do' '
	"$TEST_TOOL" journal-append "$TMP/f" 1 10 >/dev/null &&
	! "$TEST_TOOL" store-journal "$TMP/f" 0 0 >out &&
	grep -q "the journal in .* (generation 7) does not belong to .*events.db. (generation 0); if the database was replaced on purpose, move the journal away" out
'

test_done

#!/bin/sh
# t0022-journal: the store's journal keeps every acknowledged record and
# shrugs off a torn tail; the store replays it after a kill and never
# replays another store's.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

J=$TMP/j
JF=$J/journal.0000000000000007

test_expect_success 'concurrent appends: every record replays, in order, none lost' '
	"$TEST_TOOL" journal-append "$J" 8 500 >out && grep -q "^appended 4000 records" out &&
	"$TEST_TOOL" journal-replay "$J" >out &&
	grep -qx "records 4000 events 8000 tail 0 holes 0 agents 2000 files 1 gen 7" out
'

test_expect_success 'a torn last record (a crash mid-write) is ignored, the rest kept' '
	size=$(stat -c %s "$JF") &&
	truncate -s $((size - 7)) "$JF" &&
	"$TEST_TOOL" journal-replay "$J" >out &&
	grep -q "^records 3999 events 7998 tail [1-9][0-9]* holes 0" out
'

test_expect_success 'a changed byte stops the replay at that record' '
	# offset 124 is inside the first record'"'"'s first payload: {"thread":...
	[ "$(dd if="$JF" bs=1 skip=124 count=1 2>/dev/null)" = "\"" ] &&
	printf Z | dd of="$JF" bs=1 seek=124 conv=notrunc 2>/dev/null &&
	"$TEST_TOOL" journal-replay "$J" >out &&
	grep -q "^records 0 events 0 tail [1-9]" out
'

test_expect_success 'no journal at all is an empty one' '
	mkdir -p "$TMP/none" && "$TEST_TOOL" journal-replay "$TMP/none" | grep -qx "records 0 events 0 tail 0 holes 0 agents 0 files 0 gen 0"
'

# The store with the journal, as the daemon opens it.
S=$TMP/s

test_expect_success 'the store releases at the journal, and the database gets everything' '
	"$TEST_TOOL" store-journal "$S" 4 2000 --rotate 65536 >out && cat out &&
	grep -q "^released 8000 (late [0-9]*) failures 0 replayed 0 rotations [1-9]" out &&
	[ "$("$TEST_TOOL" store-query "$S" "SELECT count(*) FROM events")" = 16000 ] &&
	! ls "$S"/journal.* 2>/dev/null &&
	ctl --state "$S" verify | grep -q "^ok: 16000 events"
'

test_expect_success 'killed before the database caught up: the next open replays the journal' '
	"$TEST_TOOL" store-journal "$TMP/k" 4 3000 --crash >out && cat out &&
	grep -q "^released 12000 (late 0) failures 0" out &&
	ls "$TMP"/k/journal.* >/dev/null &&
	in_db=$("$TEST_TOOL" store-query "$TMP/k" "SELECT count(*) FROM events") &&
	ctl --state "$TMP/k" events --type verdict >/dev/null 2>err && cat err &&
	if [ "$in_db" -lt 24000 ]; then
		grep -q "warning: $((24000 - in_db)) journaled events\{0,1\} of .* not in the database yet" err
	else
		! grep -q warning err
	fi &&
	"$TEST_TOOL" store-journal "$TMP/k" 0 0 >out && cat out &&
	grep -q "^released 0 (late 0) failures 0 replayed [0-9]* " out &&
	[ "$("$TEST_TOOL" store-query "$TMP/k" "SELECT count(*) FROM events")" = 24000 ] &&
	[ "$("$TEST_TOOL" store-query "$TMP/k" "SELECT count(DISTINCT request_id) FROM events")" = 12000 ] &&
	ctl --state "$TMP/k" verify | grep -q "^ok: 24000 events" &&
	"$TEST_TOOL" store-query "$TMP/k" "SELECT generation, offset FROM journal" | grep -qx "[1-9][0-9]*|0" &&
	! ls "$TMP"/k/journal.* 2>/dev/null
'

test_expect_success 'killed with the journal spread over many files: all of them are replayed' '
	"$TEST_TOOL" store-journal "$TMP/m" 4 3000 --crash --rotate 32768 >out && cat out &&
	grep -q "^released 12000 (late 0) failures 0 replayed 0 rotations [1-9]" out &&
	"$TEST_TOOL" store-journal "$TMP/m" 0 0 >out && cat out &&
	[ "$("$TEST_TOOL" store-query "$TMP/m" "SELECT count(*) FROM events")" = 24000 ] &&
	[ "$("$TEST_TOOL" store-query "$TMP/m" "SELECT count(DISTINCT request_id) FROM events")" = 12000 ] &&
	ctl --state "$TMP/m" verify | grep -q "^ok: 24000 events" &&
	! ls "$TMP"/m/journal.* 2>/dev/null
'

test_expect_success 'a journal of another database is refused at open, saying what to do' '
	"$TEST_TOOL" journal-append "$TMP/f" 1 10 >/dev/null &&
	! "$TEST_TOOL" store-journal "$TMP/f" 0 0 >out &&
	grep -q "the journal .*journal.0000000000000007. belongs to another event store (id 0000000000004c48, generation 7, not [0-9a-f]*, 7); if the database was replaced on purpose, move the journal away" out
'

test_done

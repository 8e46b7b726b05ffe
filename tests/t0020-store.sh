#!/bin/sh
# t0020-store: the event store commits everything, in order, once.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

test_expect_success 'concurrent producers: every event stored, seq without gaps' '
	"$TEST_TOOL" store-append "$TMP/s1" 16 200 >out &&
	grep -q "^events 3200 last_seq 3200" out
'

test_expect_success 'group commit: many events share a transaction under load' '
	commits=$(sed -n "s/.* commits \([0-9]*\).*/\1/p" out) &&
	[ "$commits" -lt 3200 ]
'

test_expect_success 'reopening continues the sequence' '
	"$TEST_TOOL" store-append "$TMP/s1" 1 10 >out &&
	grep -q "^events 3210 last_seq 3210" out
'

test_expect_success 'a file that is not a database is refused with a clear message' '
	mkdir -p "$TMP/s2" && echo "hello" >"$TMP/s2/events.db" &&
	! "$TEST_TOOL" store-open "$TMP/s2" >out &&
	grep -q "is not a Lighthouse event store" out
'

test_expect_success 'another program'"'"'s SQLite database is refused' '
	command -v sqlite3 >/dev/null || { echo "no sqlite3 CLI: skipped"; exit 0; }
	mkdir -p "$TMP/s3" && sqlite3 "$TMP/s3/events.db" "CREATE TABLE t(x)" &&
	! "$TEST_TOOL" store-open "$TMP/s3" >out &&
	grep -q "database of another program" out
'

test_expect_success 'a state directory that cannot be written is refused' '
	[ "$(id -u)" -ne 0 ] || { echo "root can write anywhere: checked as nobody in t0800"; exit 0; }
	mkdir -p "$TMP/ro" && chmod 500 "$TMP/ro" &&
	! "$TEST_TOOL" store-open "$TMP/ro/state" >out && grep -q "cannot create" out
'

test_done

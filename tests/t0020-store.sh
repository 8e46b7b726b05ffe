#!/bin/sh
# t0020-store: the event store commits everything, in order, once, with a
# checksum chain; migrates version 1 stores; refuses what is not its own.
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

test_expect_success 'every row carries its chain checksum, and the chain verifies' '
	[ "$("$TEST_TOOL" store-query "$TMP/s1" "SELECT count(*) FROM events WHERE length(hash) = 16")" = 3210 ] &&
	"$LIGHTHOUSECTL" --state "$TMP/s1" verify >out &&
	grep -qx "ok: 3210 events, seq 1 to 3210, 0 gaps accounted for, the chain intact" out &&
	grep -q "^head: 3210 [0-9a-f]\{32\}$" out
'

test_expect_success 'the schema is version 3, with every table and index of schema.sql' '
	[ "$("$TEST_TOOL" store-query "$TMP/s1" "PRAGMA user_version")" = 3 ] &&
	for t in events gaps chunks blobs blob_chunks journal events_request events_type events_time \
		events_agent events_session events_path events_blob blob_chunks_chunk; do
		"$TEST_TOOL" store-query "$TMP/s1" "SELECT name FROM sqlite_master" | grep -qx $t ||
		{ echo "missing $t"; exit 1; }
		grep -q " $t" "$srcdir/store/schema.sql" || { echo "$t undocumented"; exit 1; }
	done
'

test_expect_success 'every filter of lighthousectl events is served by an index' '
	plan() { "$TEST_TOOL" store-query "$TMP/s1" "EXPLAIN QUERY PLAN $1"; }
	plan "SELECT seq FROM events WHERE seq > 0 AND type = '"'"'verdict'"'"' ORDER BY seq" | grep -q "INDEX events_type" &&
	plan "SELECT seq FROM events WHERE seq > 0 AND (type = '"'"'file.created'"'"' OR type = '"'"'file.mode'"'"') ORDER BY seq" | grep -q "INDEX events_type" &&
	plan "SELECT seq FROM events WHERE seq > 0 AND seq IN (SELECT seq FROM events WHERE time_ns >= 5 AND time_ns <= 6) ORDER BY seq" | grep -q "INDEX events_time" &&
	plan "SELECT seq FROM events WHERE seq > 0 AND agent = '"'"'a'"'"' ORDER BY seq" | grep -q "INDEX events_agent" &&
	plan "SELECT seq FROM events WHERE seq > 0 AND session = '"'"'s'"'"' ORDER BY seq" | grep -q "INDEX events_session" &&
	plan "SELECT seq FROM events WHERE seq > 0 AND request_id = 7 ORDER BY seq" | grep -q "INDEX events_request" &&
	plan "SELECT seq FROM events WHERE path = '"'"'src/a'"'"' AND type NOT IN ('"'"'request'"'"','"'"'verdict'"'"')" | grep -q "INDEX events_path" &&
	plan "SELECT 1 FROM events WHERE blob = x'"'"'00'"'"'" | grep -q "INDEX events_blob"
'

test_expect_success 'a second writer on the same state directory is refused, naming the holder' '
	{ "$TEST_TOOL" store-open "$TMP/s1" --hold 2 >hold.out & } &&
	holder=$! &&
	n=0 && while ! grep -q ok hold.out 2>/dev/null; do n=$((n + 1)); [ $n -lt 100 ] || break; sleep 0.05; done &&
	! "$TEST_TOOL" store-open "$TMP/s1" >out &&
	wait $holder && grep -q "is in use by another process (pid $holder)" out
'

test_expect_success 'a version 1 store is migrated: rows kept, chain computed, migration recorded' '
	"$TEST_TOOL" store-v1 "$TMP/v1" 50 &&
	[ "$("$TEST_TOOL" store-query "$TMP/v1" "PRAGMA user_version")" = 1 ] &&
	! "$LIGHTHOUSECTL" --state "$TMP/v1" events >out 2>&1 && grep -q "schema version 1; start lighthoused" out &&
	"$TEST_TOOL" store-open "$TMP/v1" >out && grep -qx ok out &&
	[ "$("$TEST_TOOL" store-query "$TMP/v1" "PRAGMA user_version")" = 3 ] &&
	"$LIGHTHOUSECTL" --state "$TMP/v1" events --json >ev &&
	[ $(wc -l <ev) = 101 ] &&
	tail -n 1 ev | grep -q "\"seq\":101,.*\"type\":\"store.migrate\".*\"payload\":{\"from\":1,\"to\":3,\"events\":100,\"gaps\":0}" &&
	[ $("$LIGHTHOUSECTL" --state "$TMP/v1" events --type verdict --decision deny | wc -l) = 17 ] &&
	"$LIGHTHOUSECTL" --state "$TMP/v1" events --request 7 >r7 && [ $(wc -l <r7) = 2 ] &&
	"$LIGHTHOUSECTL" --state "$TMP/v1" verify | grep -q "^ok: 101 events" &&
	! "$TEST_TOOL" store-query "$TMP/v1" "SELECT name FROM sqlite_master" | grep -q events_v1
'

test_expect_success 'a version 2 store gains the journal table, rows untouched' '
	"$TEST_TOOL" store-append "$TMP/v2" 2 20 >/dev/null &&
	"$TEST_TOOL" store-query -w "$TMP/v2" "DROP TABLE journal" &&
	"$TEST_TOOL" store-query -w "$TMP/v2" "PRAGMA user_version=2" &&
	"$TEST_TOOL" store-open "$TMP/v2" >out && grep -qx ok out &&
	[ "$("$TEST_TOOL" store-query "$TMP/v2" "PRAGMA user_version")" = 3 ] &&
	[ "$("$TEST_TOOL" store-query "$TMP/v2" "SELECT generation, offset FROM journal")" = "0|0" ] &&
	"$LIGHTHOUSECTL" --state "$TMP/v2" verify | grep -q "^ok: 40 events"
'

test_expect_success 'after the migration request ids continue past the old ones' '
	"$TEST_TOOL" store-append "$TMP/v1" 1 1 &&
	[ "$("$TEST_TOOL" store-query "$TMP/v1" "SELECT request_id FROM events ORDER BY seq DESC LIMIT 1")" = 51 ]
'

test_expect_success 'a hole in a version 1 log becomes a gap that verify accounts for' '
	"$TEST_TOOL" store-v1 "$TMP/v1h" 5 &&
	"$TEST_TOOL" store-query -w "$TMP/v1h" "DELETE FROM events WHERE seq IN (4, 5)" &&
	"$TEST_TOOL" store-open "$TMP/v1h" &&
	[ "$("$TEST_TOOL" store-query "$TMP/v1h" "SELECT first_seq, last_seq, vacuum_seq FROM gaps")" = "4|5|11" ] &&
	"$LIGHTHOUSECTL" --state "$TMP/v1h" verify | grep -q "^ok: 9 events, seq 1 to 11, 1 gaps accounted for"
'

test_expect_success 'every event type has a builder, and the builders refuse what is incomplete' '
	"$TEST_TOOL" store-events "$TMP/e" >out &&
	for t in file.created file.modified file.mode file.renamed file.deleted escalation decision annotation; do
		grep -q "^$t ok seq" out || { echo "$t"; exit 1; }
	done &&
	grep -qx "refused: 1 1 1 1 1" out &&
	grep -qx "ghost blob: No such file or directory" out &&
	"$LIGHTHOUSECTL" --state "$TMP/e" events --json >ev &&
	grep -q "\"type\":\"file.renamed\",.*\"path\":\"src/b.c\",\"blob\":\"[0-9a-f]\{32\}\",\"payload\":{\"kind\":\"file\",\"from\":\"src/a.c\",\"size\":13,\"mode\":\"0755\"}" ev &&
	grep -q "\"type\":\"file.mode\",.*\"payload\":{\"kind\":\"file\",\"size\":13,\"mode\":\"0755\",\"prev_mode\":\"0644\"}" ev &&
	grep -q "\"type\":\"file.created\",.*\"path\":\"src/link\",\"payload\":{\"kind\":\"symlink\",\"size\":3,\"mode\":\"0777\",\"target\":\"b.c\"}" ev &&
	grep -q "\"type\":\"file.deleted\",.*\"path\":\"src/b.c\",\"payload\":{\"kind\":\"file\"}" ev &&
	grep -q "\"type\":\"escalation\",.*\"request\":7,\"payload\":{\"to\":\"experts\",\"reason\":\"deletes outside the project\",\"tier\":\"risk\",\"score\":73,\"timeout_s\":300}" ev &&
	grep -q "\"type\":\"decision\",.*\"agent\":\"claude\",\"session\":\"s-7\",\"request\":7,\"payload\":{\"decision\":\"deny\",\"by\":\"expert\",\"who\":\"reviewer-1\",\"reason\":\"too broad\",\"learned_rule\":\"learned.rm-outside\"}" ev &&
	grep -q "\"type\":\"annotation\",.*\"path\":\"src/b.c\",\"payload\":{\"text\":\"generated; do not edit\",\"author\":\"alice\"}" ev &&
	while read -r l; do echo "$l" | "$TEST_TOOL" json seq >/dev/null || exit 1; done <ev &&
	"$LIGHTHOUSECTL" --state "$TMP/e" verify | grep -q "^ok: 2 blobs, 2 chunks"
'

test_expect_success 'a file that is not a database is refused with a clear message' '
	mkdir -p "$TMP/s2" && echo "hello" >"$TMP/s2/events.db" &&
	! "$TEST_TOOL" store-open "$TMP/s2" >out &&
	grep -q "is not a Lighthouse event store" out
'

test_expect_success 'another program'"'"'s SQLite database is refused' '
	"$TEST_TOOL" store-v1 "$TMP/s3" 1 &&
	"$TEST_TOOL" store-query -w "$TMP/s3" "PRAGMA application_id=42" &&
	! "$TEST_TOOL" store-open "$TMP/s3" >out &&
	grep -q "database of another program" out
'

test_expect_success 'a store of a newer schema is refused: upgrade Lighthouse' '
	"$TEST_TOOL" store-open "$TMP/s4" &&
	"$TEST_TOOL" store-query -w "$TMP/s4" "PRAGMA user_version=9" &&
	! "$TEST_TOOL" store-open "$TMP/s4" >out &&
	grep -q "has schema version 9, newer than this Lighthouse (3); upgrade Lighthouse" out
'

test_expect_success 'a store with a table missing is refused as damaged' '
	"$TEST_TOOL" store-open "$TMP/s5" &&
	"$TEST_TOOL" store-query -w "$TMP/s5" "DROP TABLE gaps" &&
	! "$TEST_TOOL" store-open "$TMP/s5" >out &&
	grep -q "is damaged: table .gaps. is missing" out
'

test_expect_success 'a store whose header was overwritten is refused' '
	cp -r "$TMP/s1" "$TMP/s6" && rm -f "$TMP/s6/events.lock" &&
	printf "garbage garbage garbage garbage garbage garbage garbage garbage garbage garbage!!" |
		dd of="$TMP/s6/events.db" bs=1 seek=0 conv=notrunc 2>/dev/null &&
	! "$TEST_TOOL" store-open "$TMP/s6" >out &&
	grep -q "is not a Lighthouse event store (not a SQLite database, or corrupt" out
'

test_expect_success 'a store cut in half is refused at open, or found damaged by verify' '
	cp -r "$TMP/s1" "$TMP/s7" && rm -f "$TMP/s7/events.lock" &&
	size=$(stat -c %s "$TMP/s7/events.db") &&
	truncate -s $((size / 2)) "$TMP/s7/events.db" &&
	if "$TEST_TOOL" store-open "$TMP/s7" >out; then
		! "$LIGHTHOUSECTL" --state "$TMP/s7" verify >out 2>&1
	fi &&
	grep -E -q "malformed|corrupt|damaged|missing" out
'

test_expect_success 'a state directory that cannot be written is refused' '
	[ "$(id -u)" -ne 0 ] || { echo "root can write anywhere: checked as nobody in t0800"; exit 0; }
	mkdir -p "$TMP/ro" && chmod 500 "$TMP/ro" &&
	! "$TEST_TOOL" store-open "$TMP/ro/state" >out && grep -q "cannot create" out
'

test_done

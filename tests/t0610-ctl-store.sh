#!/bin/sh
# t0610-ctl-store: lighthousectl on the event store -- events filters and
# --follow, verify, export and import, vacuum.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
require_fuse

fe() { "$TEST_TOOL" file-event "$STATE" "$@" >/dev/null; }
jreq() { # NAME SESSION AGENT COMMAND
	printf '{"session_id":"%s","agent_id":"%s","tool_name":"Bash","tool_input":{"command":"%s"}}' \
		"$2" "$3" "$4" >"$MNT/requests/$1"
}

test_expect_success 'file history recorded before the daemon starts' '
	echo one >v1 && echo two >v2 && echo three >v3 && echo bee >b && echo sea >c &&
	fe file.created src/a.txt v1 && fe file.modified src/a.txt v2 && fe file.modified src/a.txt v3 &&
	fe file.created src/b.txt b && fe file.deleted src/b.txt &&
	fe file.created src/c.txt c && fe file.renamed src/d.txt c src/c.txt &&
	[ $(ctl events --type "file.*" | wc -l) = 7 ]
'

test_start_daemon

test_expect_success 'requests with sessions and agents' '
	jreq j1 s1 claude-1 "ls" && head -1 "$MNT/results/j1" &&
	jreq j2 s1 claude-2 "rm -rf /" && head -1 "$MNT/results/j2" &&
	jreq j3 s2 claude-1 "git status" && head -1 "$MNT/results/j3" &&
	echo "rm -rf ~" >"$MNT/requests/p1" && [ "$(decision p1)" = deny ]
'

test_expect_success 'events --type takes a list and families' '
	[ $(ctl events --type verdict | wc -l) = 4 ] &&
	[ $(ctl events --type verdict,request | wc -l) = 8 ] &&
	[ $(ctl events --type "file.*" | wc -l) = 7 ] &&
	[ $(ctl events --type "file.*,daemon.start" | wc -l) = 8 ] &&
	! ctl events --type "Verdict;" 2>err && grep -q "bad event type" err
'

test_expect_success 'events --agent and --session' '
	ctl events --agent claude-1 --json >out && [ $(wc -l <out) = 4 ] &&
	! grep -v "\"agent\":\"claude-1\"" out &&
	ctl events --session s1 --type request --json >out && [ $(wc -l <out) = 2 ] &&
	ctl events --session s2 --agent claude-1 | grep -q " request .*git status"
'

test_expect_success 'events --path: one path, or everything under a folder' '
	[ $(ctl events --path src/a.txt | wc -l) = 3 ] &&
	[ $(ctl events --path src/ | wc -l) = 7 ] &&
	[ $(ctl events --path j2 | wc -l) = 2 ] &&
	[ $(ctl events --path sr | wc -l) = 0 ]
'

test_expect_success 'events --decision: the verdicts (and decisions) that decided so' '
	ctl events --decision deny >out && [ $(wc -l <out) = 2 ] &&
	! grep -v " verdict .* deny " out &&
	[ $(ctl events --decision allow | wc -l) = 2 ] &&
	! ctl events --decision perhaps 2>err && grep -q "^usage:" err
'

test_expect_success 'events --since and --until take a seq or a time' '
	ctl events --type request --json --limit 1 >first &&
	seq=$("$TEST_TOOL" json seq <first) && t=$("$TEST_TOOL" json time <first) &&
	ctl events --since "$t" --json >out &&
	[ "$(head -1 out | "$TEST_TOOL" json seq)" = "$seq" ] &&
	[ $(ctl events --since "$t" | wc -l) = $(ctl events --since $((seq - 1)) | wc -l) ] &&
	ctl events --until "$t" --json >out && grep -q "\"seq\":$seq," out &&
	! grep -q "\"seq\":$((seq + 2))," out &&
	ctl events --until "${t%T*}" | grep -q "^$seq " &&
	ctl events --since 2000-01-01 --until 2000-12-31T23:59:59Z >out && [ ! -s out ] &&
	[ $(ctl events --since 2000-01-01T00:00:00+02:00 | wc -l) = $(ctl events | wc -l) ] &&
	! ctl events --since 2026-13-01 2>err && grep -q "^usage:" err
'

test_expect_success 'events --follow prints new events as they are committed' '
	last=$(ctl events --json | tail -1 | "$TEST_TOOL" json seq) &&
	{ "$LIGHTHOUSECTL" --state "$STATE" events --follow --type verdict --json --since $last >follow.out & } &&
	fpid=$! && sleep 0.3 &&
	echo "ls -l" >"$MNT/requests/f1" && id=$(field f1 request) &&
	n=0 && while ! grep -q "\"request\":$id," follow.out; do
		n=$((n + 1)); [ $n -lt 100 ] || break; sleep 0.05; done &&
	kill $fpid && { wait $fpid || true; } &&
	cat follow.out && [ $(wc -l <follow.out) = 1 ] && grep -q "\"decision\":\"allow\"" follow.out
'

test_expect_success 'events --follow does not take --until' '
	ctl events --follow --until 5 >/dev/null 2>err; [ $? -eq 2 ] && grep -q "does not go with --until" err
'

test_expect_success 'verify while the daemon writes' '
	ctl verify >out && grep -q "^ok: [0-9]* events, seq 1 to [0-9]*, 0 gaps accounted for, the chain intact" out &&
	grep -q "^ok: 5 blobs, 5 chunks" out
'

test_expect_success 'vacuum goes through the daemon that holds the store' '
	verdicts=$(ctl events --type verdict,request | wc -l) &&
	ctl vacuum --keep-days 0 >out && cat out &&
	grep -qx "dropped: 5 file events, in 2 gaps" out &&
	grep -qx "contents: 3 blobs, 3 chunks dropped" out &&
	[ $(ctl events --type verdict,request | wc -l) = $verdicts ] &&
	ctl events --type "file.*" >files && [ $(wc -l <files) = 2 ] &&
	grep -q "^3 .* file.modified .*\[src/a.txt\]" files &&
	grep -q "^7 .* file.renamed .*\[src/d.txt\].*src/c.txt" files &&
	ctl events --type store.vacuum --json >vac && [ $(wc -l <vac) = 2 ] &&
	grep -q "\"dropped\":5,\"first\":1,\"last\":6,\"gaps\":2,\"gaps_hash\":\"[0-9a-f]\{32\}\"" vac &&
	ctl verify >out && grep -q "^ok: .* 2 gaps accounted for, the chain intact" out &&
	grep -q "^ok: 2 blobs, 2 chunks" out
'

test_expect_success 'vacuum keeps what is younger than the retention' '
	ctl vacuum --keep-days 1 >out && grep -qx "dropped: 0 file events, in 0 gaps" out
'

test_expect_success 'vacuum asks a daemon only about its own store' '
	{ "$TEST_TOOL" store-open "$TMP/other" --hold 2 >hold & } &&
	n=0 && while ! grep -q ok hold 2>/dev/null; do n=$((n + 1)); [ $n -lt 100 ] || break; sleep 0.05; done &&
	! "$LIGHTHOUSECTL" -m "$MNT" --state "$TMP/other" vacuum 2>err && cat err &&
	wait && grep -q "keeps its store in .*, not .*other" err
'

test_stop_daemon

test_expect_success 'export, import, export: the same bytes, and the chain verifies' '
	ctl export >e1 && head -1 e1 | grep -qx "{\"lighthouse_export\":1,\"schema\":3}" &&
	grep -q "^{\"gap\":{\"first\":1,\"last\":2,\"hash\":\"[0-9a-f]\{32\}\",\"vacuum\":" e1 &&
	grep -q "^{\"blob\":" e1 && grep -q "^{\"chunk\":" e1 &&
	"$LIGHTHOUSECTL" --state "$TMP/imported" import <e1 >out &&
	grep -q "^imported: [0-9]* events (last seq [0-9]*), 2 gaps, 2 blobs, 2 chunks" out &&
	"$LIGHTHOUSECTL" --state "$TMP/imported" export --output e2 &&
	cmp e1 e2 &&
	"$LIGHTHOUSECTL" --state "$TMP/imported" verify >v1 && ctl verify >v2 &&
	[ "$(tail -1 v1)" = "$(tail -1 v2)" ]
'

test_expect_success 'import refuses a state directory that has a store' '
	! "$LIGHTHOUSECTL" --state "$TMP/imported" import --input e1 2>err &&
	grep -q "already exists: import goes into a state directory without a store" err
'

test_expect_success 'import refuses an edited export, naming the line, and leaves no store' '
	sed "5s/\"decision\":\"deny\"/\"decision\":\"allow\"/; 5s/\"pid\":/\"pid\":1/" e1 >edited &&
	! cmp -s e1 edited &&
	! "$LIGHTHOUSECTL" --state "$TMP/imp2" import <edited 2>err &&
	grep -q "failed: line 5: seq [0-9]*: its checksum does not match the event (the line was changed)" err &&
	[ ! -e "$TMP/imp2/events.db" ] &&
	sed 4d e1 >short &&
	! "$LIGHTHOUSECTL" --state "$TMP/imp3" import <short 2>err && grep -q "was expected (lines missing" err &&
	echo "{\"seq\":1}" | { ! "$LIGHTHOUSECTL" --state "$TMP/imp4" import 2>err; } &&
	grep -q "line 1: not a Lighthouse export" err
'

test_expect_success 'verify on a tampered copy reports the first bad row and exits 1' '
	cp -r "$STATE" "$TMP/t1" &&
	seq=$(ctl events --type verdict --decision deny --json --limit 1 | "$TEST_TOOL" json seq) &&
	"$TEST_TOOL" store-query -w "$TMP/t1" "UPDATE events SET payload = replace(payload, \"deny\", \"allow\") WHERE seq = $seq" &&
	"$LIGHTHOUSECTL" --state "$TMP/t1" verify >out; [ $? -eq 1 ] && cat out &&
	grep -qx "bad: seq $seq: checksum mismatch: the row was changed after it was written (type verdict)" out &&
	grep -qx "checked: $((seq - 1 - 5)) events before it, the chain intact up to seq $((seq - 1))" out
'

test_expect_success 'verify finds deleted rows, and changed gap records' '
	rm -rf "$TMP/t2" && cp -r "$STATE" "$TMP/t2" &&
	"$TEST_TOOL" store-query -w "$TMP/t2" "DELETE FROM events WHERE seq = 9" &&
	"$LIGHTHOUSECTL" --state "$TMP/t2" verify >out; [ $? -eq 1 ] &&
	grep -qx "bad: seq 9: row missing: seq 9 to 9 are missing (rows deleted, and no vacuum recorded it)" out &&
	rm -rf "$TMP/t3" && cp -r "$STATE" "$TMP/t3" &&
	"$TEST_TOOL" store-query -w "$TMP/t3" "DELETE FROM events WHERE seq = 3; UPDATE gaps SET last_seq = 3 WHERE first_seq = 1" &&
	"$LIGHTHOUSECTL" --state "$TMP/t3" verify >out; [ $? -eq 1 ] && cat out &&
	vseq=$(ctl events --type store.vacuum --json --limit 1 | "$TEST_TOOL" json seq) &&
	grep -qx "bad: seq $vseq: this vacuum.s gap records were changed (gaps_hash [0-9a-f]*, records make [0-9a-f]*)" out
'

test_expect_success 'vacuum without a daemon compacts the file too' '
	fe file.modified src/a.txt v1 && fe file.modified src/a.txt v2 &&
	ctl vacuum --keep-days 0 >out && cat out && grep -qx "dropped: 2 file events, in 2 gaps" out &&
	ctl verify | grep -q "^ok: .* 4 gaps accounted for" &&
	[ "$("$TEST_TOOL" store-query "$STATE" "PRAGMA freelist_count")" = 0 ]
'

test_expect_success 'usage errors' '
	ctl vacuum --keep-days -1 >/dev/null 2>&1; [ $? -eq 2 ] &&
	ctl verify extra >/dev/null 2>&1; [ $? -eq 2 ] &&
	ctl export --nope >/dev/null 2>&1; [ $? -eq 2 ] &&
	"$LIGHTHOUSECTL" --state "$TMP/none" verify >/dev/null 2>err; [ $? -eq 2 ] && grep -q "no event store" err
'

test_done

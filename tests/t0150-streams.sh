#!/bin/sh
# t0150-streams: streams/ -- live JSON lines from the store, blocking like
# tail -f, from the moment of the open or from ?since=SEQ.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
require_fuse

# wait_for FILE LINES: until FILE has LINES lines (no timing assertion: a bound on waiting)
wait_for() {
	n=0
	while [ "$(wc -l <"$1" 2>/dev/null || echo 0)" -lt "$2" ]; do
		n=$((n + 1)); [ $n -lt 200 ] || return 1; sleep 0.05
	done
}

test_expect_success 'escalations and file changes recorded before the daemon starts' '
	"$TEST_TOOL" store-events "$STATE" >/dev/null
'

test_start_daemon

test_expect_success 'streams/ lists the five streams, read-only' '
	[ "$(ls "$MNT/streams" | tr "\n" " ")" = "all escalations files requests verdicts " ] &&
	[ "$(stat -c %A "$MNT/streams/all")" = "-r--------" ] &&
	! sh -c "echo x >\"$MNT/streams/all\"" 2>err && grep -q "Permission denied" err
'

test_expect_success 'a read blocks until events are committed, and starts at the open' '
	echo "ls before" >"$MNT/requests/before" && head -1 "$MNT/results/before" &&
	{ head -n 2 "$MNT/streams/verdicts" >v.out & } && hpid=$! &&
	sleep 0.3 && [ ! -s v.out ] &&
	echo "ls one" >"$MNT/requests/one" && head -1 "$MNT/results/one" &&
	echo "rm -rf /" >"$MNT/requests/two" && head -1 "$MNT/results/two" &&
	wait $hpid &&
	[ $(wc -l <v.out) = 2 ] &&
	head -1 v.out | grep -q "\"type\":\"verdict\",.*\"request\":$(field one request),.*\"decision\":\"allow\"" &&
	tail -1 v.out | grep -q "\"request\":$(field two request),.*\"decision\":\"deny\"" &&
	! grep -q "\"path\":\"before\"" v.out
'

test_expect_success 'every line is one JSON object, in seq order' '
	head -n 15 "$MNT/streams/all?since=0" >all.out &&
	[ $(wc -l <all.out) = 15 ] &&
	prev=0 && while read -r l; do
		s=$(echo "$l" | "$TEST_TOOL" json seq) || exit 1
		[ "$s" -gt "$prev" ] || exit 1
		prev=$s
	done <all.out
'

test_expect_success '?since=SEQ catches up from after SEQ, then follows' '
	head -n 3 "$MNT/streams/all?since=0" >out &&
	[ "$(cut -c1-9 out | tr "\n" " ")" = "{\"seq\":1, {\"seq\":2, {\"seq\":3, " ] &&
	head -n 1 "$MNT/streams/all?since=12" | grep -q "^{\"seq\":13,"
'

test_expect_success 'each stream has its types' '
	head -n 7 "$MNT/streams/files?since=0" >f.out &&
	[ "$(sed "s/.*\"type\":\"\([a-z.]*\)\".*/\1/" f.out | sort -u | tr "\n" " ")" = "file.created file.deleted file.mode file.modified file.renamed " ] &&
	head -n 2 "$MNT/streams/escalations?since=0" >e.out &&
	head -1 e.out | grep -q "\"type\":\"escalation\"" && tail -1 e.out | grep -q "\"type\":\"decision\"" &&
	head -n 2 "$MNT/streams/verdicts?since=0" | head -1 | grep -q "\"type\":\"decision\"" &&
	head -n 3 "$MNT/streams/requests?since=0" >r.out && ! grep -v "\"type\":\"request\"" r.out
'

test_expect_success 'many readers at once each get every line' '
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do
		{ head -n 4 "$MNT/streams/all" >r$i.out & }
	done &&
	sleep 0.3 &&
	echo "ls a" >"$MNT/requests/m1" && head -1 "$MNT/results/m1" &&
	echo "ls b" >"$MNT/requests/m2" && head -1 "$MNT/results/m2" &&
	wait &&
	for i in 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do cmp r1.out r$i.out || exit 1; done &&
	[ $(wc -l <r1.out) = 4 ]
'

test_expect_success 'a reader that stops reading does not hold anyone up' '
	exec 5<"$MNT/streams/all" &&
	for i in $(seq 1 200); do echo "ls $i" >"$MNT/requests/s$i"; done &&
	[ "$(decision s200)" = allow ] &&
	head -c 100 <&5 | grep -q "^{\"seq\":" &&
	exec 5<&-
'

test_expect_success 'a line longer than a read continues in the next read' '
	{ head -n 1 "$MNT/streams/requests" >long.out & } && hpid=$! && sleep 0.2 &&
	big=$(head -c 150000 /dev/zero | tr "\0" "x") &&
	printf "echo %s" "$big" >"$MNT/requests/big" && head -1 "$MNT/results/big" &&
	wait $hpid &&
	[ $(wc -c <long.out) -gt 150000 ] && grep -q "\"input\":\"echo xxxx" long.out &&
	seq=$("$TEST_TOOL" json seq <long.out) &&
	reads=$(( ($(wc -c <long.out) + 99) / 100 )) &&
	dd if="$MNT/streams/requests?since=$((seq - 1))" bs=100 count=$reads 2>/dev/null >small.out &&
	cmp long.out small.out
'

test_expect_success 'O_NONBLOCK: EAGAIN when nothing is new' '
	! dd if="$MNT/streams/all" iflag=nonblock bs=4096 count=1 of=/dev/null 2>err &&
	grep -q "Resource temporarily unavailable" err &&
	dd if="$MNT/streams/all?since=0" iflag=nonblock bs=4096 count=1 2>/dev/null | grep -q "^{\"seq\":1,"
'

test_expect_success 'an interrupted read ends, and the daemon serves on' '
	timeout -s INT 0.5 cat "$MNT/streams/all" >/dev/null; [ $? -eq 124 ] &&
	echo "ls after" >"$MNT/requests/after" && [ "$(decision after)" = allow ]
'

test_expect_success 'unknown streams and bad ?since= do not exist' '
	! cat "$MNT/streams/nope" 2>/dev/null &&
	! cat "$MNT/streams/all?since=x" 2>/dev/null &&
	! cat "$MNT/streams/all?from=1" 2>/dev/null &&
	! cat "$MNT/streams/all?since=99999999999999999999" 2>/dev/null
'

test_expect_success 'another user cannot read the streams' '
	[ "$(id -u)" -eq 0 ] || { echo "not root: one user only"; exit 0; }
	command -v setpriv >/dev/null || { echo "no setpriv"; exit 0; }
	chmod 755 "$TMP" &&
	! setpriv --reuid=65534 --regid=65534 --clear-groups -- cat "$MNT/streams/all?since=0" 2>err &&
	grep -q "Permission denied" err
'

test_stop_daemon

test_done

#!/bin/sh
# t0200-requests: requests in, verdicts out, as the brief says.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
require_fuse

test_start_daemon

test_expect_success 'a shell command: the decision word first, then key: value lines' '
	echo "rm -rf ~" >"$MNT/requests/job1" &&
	cat "$MNT/results/job1" >out &&
	[ "$(head -1 out)" = deny ] &&
	grep -q "^reason: recursive delete of the home directory" out &&
	grep -qx "rule: fs.rm-home" out &&
	grep -qx "tier: policy" out &&
	grep -q "^request: [0-9][0-9]*$" out &&
	grep -q "^latency_us: [0-9][0-9]*$" out
'

test_expect_success 'results/NAME.json holds the same verdict as one JSON object' '
	"$TEST_TOOL" json decision <"$MNT/results/job1.json" | grep -qx deny &&
	"$TEST_TOOL" json rule <"$MNT/results/job1.json" | grep -qx fs.rm-home &&
	"$TEST_TOOL" json tier <"$MNT/results/job1.json" | grep -qx policy &&
	[ "$("$TEST_TOOL" json request <"$MNT/results/job1.json")" = "$(field job1 request)" ] &&
	[ "$("$TEST_TOOL" json reason <"$MNT/results/job1.json")" = "$(field job1 reason)" ]
'

test_expect_success 'the TOOL INPUT form' '
	echo "Read /etc/shadow" >"$MNT/requests/tool" &&
	[ "$(decision tool)" = deny ] && [ "$(field tool rule)" = secrets.read ] &&
	printf "Write %s/src/a.c\nint main(void) { return 0; }\n" "$PROJ" >"$MNT/requests/w" &&
	[ "$(decision w)" = allow ] && [ "$(field w rule)" = tools.edit ]
'

test_expect_success 'the Claude Code PreToolUse JSON form' '
	printf "{\"session_id\":\"s-42\",\"transcript_path\":\"/x.jsonl\",\"cwd\":\"%s\",\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"git push --force origin main\",\"description\":\"push\"},\"tool_use_id\":\"toolu_1\"}" "$PROJ" >"$MNT/requests/hook" &&
	[ "$(decision hook)" = deny ] && [ "$(field hook rule)" = git.force-push-protected ]
'

test_expect_success 'write then read the same descriptor' '
	"$TEST_TOOL" channel "$MNT" same "git status" >out &&
	[ "$(head -1 out)" = allow ]
'

test_expect_success 'the channel: many requests on one open file, one verdict each' '
	"$TEST_TOOL" channel "$MNT" chan "ls" "rm -rf /" "git reset --hard" "ls" >out &&
	[ "$(grep -c "^--$" out)" -eq 4 ] &&
	[ "$(grep -x -E "allow|deny|ask" out | tr "\n" " ")" = "allow deny ask allow " ] &&
	[ "$(grep -c "^cache: hit" out)" -eq 1 ]
'

test_expect_success 'each request has its own id, and the store has them all' '
	ids=$(grep "^request:" out | sed "s/request: //" | sort -u | wc -l) && [ "$ids" -eq 4 ] &&
	for id in $(grep "^request:" out | sed "s/request: //"); do
		ctl events --request $id --json >ev && [ "$(wc -l <ev)" -eq 2 ] &&
		grep -q "\"type\":\"verdict\"" ev || exit 1
	done
'

test_expect_success 'a read of a result blocks until the request is closed' '
	exec 4>"$MNT/requests/slow" && printf "rm -rf /" >&4 || exit 1
	( exec 4>&-; head -1 "$MNT/results/slow" >"$TMP/slow.out" ) &
	reader=$!
	sleep 0.5 &&
	kill -0 $reader && [ ! -s "$TMP/slow.out" ] &&
	exec 4>&- && wait $reader && [ "$(cat "$TMP/slow.out")" = deny ]
'

test_expect_success 'a non-blocking read of a pending result gets EAGAIN' '
	exec 4>"$MNT/requests/nb" && printf "ls" >&4 &&
	! dd if="$MNT/results/nb" iflag=nonblock of=/dev/null 2>err &&
	grep -q "Resource temporarily unavailable" err &&
	exec 4>&- && sleep 0.2 && [ "$(decision nb)" = allow ]
'

test_expect_success 'writing the same name again makes a new request and verdict' '
	echo ls >"$MNT/requests/again" && a=$(field again request) &&
	echo "rm -rf /" >"$MNT/requests/again" && b=$(field again request) &&
	[ "$a" != "$b" ] && [ "$(decision again)" = deny ]
'

test_expect_success 'appending is a new request too (not a longer one)' '
	echo ls >"$MNT/requests/app" && echo "rm -rf /" >>"$MNT/requests/app" &&
	[ "$(decision app)" = deny ] && [ "$(cat "$MNT/requests/app")" = "rm -rf /" ]
'

test_expect_success 'listing results/ shows recent verdicts, text and JSON' '
	ls "$MNT/results" >list &&
	grep -qx job1 list && grep -qx job1.json list && grep -qx chan list &&
	ls "$MNT/requests" | grep -qx job1
'

test_expect_success 'rm removes a name; its events stay' '
	id=$(field job1 request) && rm "$MNT/requests/job1" &&
	! ls "$MNT/results/job1" 2>/dev/null &&
	ctl events --request $id | grep -q verdict
'

test_expect_success 'a request is recorded with caller, input and verdict' '
	echo "make -j4" >"$MNT/requests/rec" && id=$(field rec request) &&
	ctl events --request $id --json >ev &&
	head -1 ev | "$TEST_TOOL" json type | grep -qx request &&
	head -1 ev | "$TEST_TOOL" json uid | grep -qx "$(id -u)" &&
	head -1 ev | "$TEST_TOOL" json pid | grep -q "^[0-9][0-9]*$" &&
	head -1 ev | "$TEST_TOOL" json payload | grep -q "\"input\":\"make -j4\"" &&
	tail -1 ev | "$TEST_TOOL" json payload | grep -q "\"decision\":\"allow\""
'

test_expect_success 'relative paths are judged against the writer'"'"'s cwd' '
	mkdir -p "$PROJ/lib" &&
	(cd "$PROJ" && echo "rm -rf lib" >"$MNT/requests/rel") && [ "$(decision rel)" = allow ] &&
	(cd /usr && echo "rm -rf lib" >"$MNT/requests/rel2") && [ "$(decision rel2)" = deny ] &&
	field rel2 reason | grep -q "/usr/lib"
'

test_expect_success 'twenty writers at once: every verdict right, none lost' '
	i=0; while [ $i -lt 20 ]; do
		( for k in 1 2 3 4 5; do
			echo "rm -rf /" >"$MNT/requests/p$i-$k" && echo "ls" >"$MNT/requests/q$i-$k" &&
			[ "$(head -1 "$MNT/results/p$i-$k")" = deny ] &&
			[ "$(head -1 "$MNT/results/q$i-$k")" = allow ] || echo FAIL
		done ) >"$TMP/par.$i" &
		i=$((i + 1))
	done; wait &&
	! grep -q FAIL "$TMP"/par.* &&
	[ "$(ls "$MNT/results" | grep -c -E "^[pq][0-9]+-[0-9]$")" -eq 200 ]
'

test_stop_daemon

test_done

#!/bin/sh
# t0210-bad-input: bad input is denied with a reason, never a crash.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
require_fuse

test_start_daemon

invalid() {
	[ "$(decision "$1")" = deny ] && field "$1" reason | grep -q "^invalid request: $2"
}

test_expect_success 'an empty file' '
	: >"$MNT/requests/empty" && invalid empty "empty" &&
	touch "$MNT/requests/touched" && invalid touched "empty"
'

test_expect_success 'binary bytes and NUL' '
	printf "\000\001\002rm" >"$MNT/requests/bin" && invalid bin "contains a NUL byte at offset 0"
'

test_expect_success 'invalid UTF-8' '
	printf "ls \377\376" >"$MNT/requests/utf" && invalid utf "not valid UTF-8 (byte 0xff at offset 3)"
'

test_expect_success 'truncated JSON' '
	printf "{\"tool_name\": \"Bash\", \"tool_input\": {\"comm" >"$MNT/requests/trunc" &&
	invalid trunc "malformed JSON"
'

test_expect_success 'JSON without tool_name, or of the wrong shape' '
	printf "{\"tool_input\":{\"command\":\"ls\"}}" >"$MNT/requests/notool" &&
	invalid notool "JSON request without tool_name" &&
	printf "{\"tool_name\":\"Bash\",\"tool_input\":{\"command\":[\"rm\"]}}" >"$MNT/requests/type" &&
	invalid type "tool_input.command must be a string" &&
	printf "{\"tool_name\":\"Bash\",\"tool_input\":\"ls\"}" >"$MNT/requests/shape" &&
	invalid shape "tool_input must be an object" &&
	printf "{\"tool_name\":\"Read\",\"tool_input\":{}}" >"$MNT/requests/nopath" &&
	invalid nopath "Read request without tool_input.file_path"
'

test_expect_success 'ambiguous JSON: duplicate keys' '
	printf "{\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"ls\",\"command\":\"rm -rf /\"}}" >"$MNT/requests/dup" &&
	invalid dup "malformed JSON.*duplicate object key"
'

test_expect_success 'a 10 MB write fails with EFBIG and the verdict says why' '
	! head -c 10485760 /dev/zero | tr "\000" x >"$MNT/requests/big" 2>err &&
	grep -q "File too large" err &&
	invalid big "too large" && field big reason | grep -q "the limit is 1048576"
'

test_expect_success 'names with odd characters' '
	echo ls >"$MNT/requests/with space" && [ "$(decision "with space")" = allow ] &&
	echo ls >"$MNT/requests/ünïcødé-名前" && [ "$(decision "ünïcødé-名前")" = allow ] &&
	echo ls >"$MNT/requests/-dash" && [ "$(head -1 -- "$MNT/results/-dash")" = allow ] &&
	echo ls >"$MNT/requests/.hidden" && [ "$(decision .hidden)" = allow ] &&
	! { echo ls >"$MNT/requests/$(printf "a\nb")"; } 2>err && grep -q "Invalid argument" err &&
	! { echo ls >"$MNT/requests/$(head -c 240 /dev/zero | tr "\000" n)"; } 2>err &&
	grep -q "File name too long" err &&
	! { echo ls >"$MNT/requests/../results/x"; } 2>err
'

test_expect_success 'a request named NAME.json does not hide another'"'"'s verdict' '
	echo "rm -rf /" >"$MNT/requests/v" && echo ls >"$MNT/requests/v.json" &&
	[ "$(decision v)" = deny ] && [ "$(decision v.json)" = allow ] &&
	"$TEST_TOOL" json decision <"$MNT/results/v.json.json" | grep -qx allow
'

test_expect_success 'nothing crashed and everything was recorded' '
	kill -0 "$LH_PID" &&
	n=$(ctl events --type verdict | wc -l) && [ "$n" -ge 16 ] &&
	ctl events --type request --json | grep "\"name\":\"bin\"" | grep -q "raw_base64"
'

test_stop_daemon

test_done

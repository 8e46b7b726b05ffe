#!/bin/sh
# t0900-hook: lighthouse-hook answering real payload shapes of Claude Code,
# Codex, Gemini CLI and Cursor against a real mount, as the agent sees it:
# exit status, stdout and stderr, compared exactly (request numbers aside).
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
require_fuse

HOOK=$builddir/hook/lighthouse-hook
[ -x "$HOOK" ] || skip_all "lighthouse-hook is not built"

# run_hook [OPTIONS] <PAYLOAD: stdout in out, stderr in err, exit status in $rc
run_hook() {
	rc=0
	"$HOOK" --mount "$MNT" "$@" >out 2>err || rc=$?
}

# the answer with request numbers as N (they depend on what ran before)
norm() {
	sed -e 's/request [0-9][0-9]*/request N/g' "$@"
}

test_cmp() {
	diff -u "$1" "$2"
}

# The id of the request named in the answer on stderr
request_id() {
	sed -n 's/.*request \([0-9][0-9]*\)).*/\1/p' err
}

# ---- payloads, as the agents send them ------------------------------------------------

claude() {		# FILE TOOL INPUT [EXTRA-FIELDS]
	printf '{"session_id":"3f1c2a9e-5b7d-4e1a-9c2f-0a1b2c3d4e5f","transcript_path":"/home/alice/.claude/projects/p/3f1c2a9e.jsonl","cwd":"%s","permission_mode":"default","hook_event_name":"PreToolUse","tool_name":"%s","tool_input":%s,"tool_use_id":"toolu_01ABC"%s}' \
		"$PROJ" "$2" "$3" "${4:-}" >"$TMP/$1"
}

codex() {		# FILE TOOL INPUT
	printf '{"session_id":"019a1f2e-codex","turn_id":"t-1","transcript_path":null,"cwd":"%s","hook_event_name":"PreToolUse","model":"gpt-5-codex","tool_name":"%s","tool_use_id":"call_7Q","tool_input":%s}' \
		"$PROJ" "$2" "$3" >"$TMP/$1"
}

gemini() {		# FILE TOOL INPUT
	printf '{"session_id":"g-5c1e","transcript_path":"/home/alice/.gemini/tmp/chats/session.json","cwd":"%s","hook_event_name":"BeforeTool","timestamp":"2026-11-22T10:30:00.000Z","tool_name":"%s","tool_input":%s}' \
		"$PROJ" "$2" "$3" >"$TMP/$1"
}

cursor_shell() {	# FILE COMMAND
	printf '{"conversation_id":"c-81f","generation_id":"g-2a","model":"composer-2.5","hook_event_name":"beforeShellExecution","cursor_version":"3.11.25","workspace_roots":["%s"],"user_email":"alice@example.com","command":"%s","cwd":"%s"}' \
		"$PROJ" "$2" "$PROJ" >"$TMP/$1"
}

cursor_tool() {		# FILE TOOL INPUT
	printf '{"conversation_id":"c-81f","generation_id":"g-2a","model":"composer-2.5","hook_event_name":"preToolUse","cursor_version":"3.11.25","workspace_roots":["%s"],"session_id":"c-81f","tool_use_id":"tu-9","transcript_path":"/home/alice/.cursor/t.jsonl","tool_name":"%s","tool_input":%s}' \
		"$PROJ" "$2" "$3" >"$TMP/$1"
}

claude c-ls Bash '{"command":"ls -la","description":"List files"}'
claude c-rm Bash '{"command":"rm -rf /","description":"Clean up","timeout":120000}'
claude c-reset Bash '{"command":"git reset --hard","run_in_background":false}'
claude c-write Write "{\"file_path\":\"$PROJ/src/main.c\",\"content\":\"int main(void)\\n{\\n\\treturn 0;\\n}\\n\"}"
claude c-edit Edit '{"file_path":"/etc/passwd","old_string":"root:x:0:0","new_string":"root::0:0","replace_all":false}'
claude c-read Read "{\"file_path\":\"$PROJ/README.md\",\"offset\":1,\"limit\":200}"
claude c-shadow Read '{"file_path":"/etc/shadow"}'
claude c-mcp mcp__github__create_issue '{"owner":"alice","repo":"proj","title":"Flaky test","body":"see CI"}'
claude c-sub Bash '{"command":"rm -rf /","description":"sub-agent cleanup"}' \
	',"agent_id":"a-7f3e","agent_type":"code-reviewer"'
claude c-uni Bash '{"command":"rm -rf /ünïcödé/日本","description":"Ünïcödé 🚀"}'
claude c-uniw Write "{\"file_path\":\"$PROJ/docs/naïve.md\",\"content\":\"Grüße, 世界 🚀\\n\"}"
printf '\357\273\277' >"$TMP/c-bom" && cat "$TMP/c-ls" >>"$TMP/c-bom"

# a Write over the daemon's 1 MiB request limit, and one under it
{
	printf '{"session_id":"s","cwd":"%s","hook_event_name":"PreToolUse","tool_name":"Write","tool_input":{"file_path":"%s/big.txt","content":"' "$PROJ" "$PROJ"
	head -c 2097152 /dev/zero | tr '\0' x
	printf '"},"tool_use_id":"toolu_big"}'
} >"$TMP/c-huge"
{
	printf '{"session_id":"s","cwd":"%s","hook_event_name":"PreToolUse","tool_name":"Write","tool_input":{"file_path":"%s/big.txt","content":"' "$PROJ" "$PROJ"
	head -c 900000 /dev/zero | tr '\0' y
	printf '"},"tool_use_id":"toolu_big"}'
} >"$TMP/c-large"

codex x-ls Bash '{"command":"ls -la"}'
codex x-rm Bash '{"command":"rm -rf /"}'
codex x-reset Bash '{"command":"git reset --hard"}'
codex x-patch apply_patch "{\"command\":\"*** Begin Patch\\n*** Add File: $PROJ/src/new.c\\n+int y;\\n*** Update File: $PROJ/src/main.c\\n@@\\n-\\treturn 0;\\n+\\treturn 1;\\n*** End Patch\\n\"}"
codex x-patch-rm apply_patch "{\"command\":\"*** Begin Patch\\n*** Add File: $PROJ/src/ok.c\\n+int z;\\n*** Delete File: /etc/passwd\\n*** End Patch\\n\"}"

gemini g-ls run_shell_command '{"command":"ls -la","description":"List the files"}'
gemini g-rm run_shell_command '{"command":"rm -rf /","description":"Clean"}'
gemini g-write write_file "{\"file_path\":\"$PROJ/src/util.c\",\"content\":\"int u;\\n\"}"
gemini g-read read_file '{"absolute_path":"/etc/shadow"}'
gemini g-mcp mcp__db__query '{"sql":"select 1"}'

cursor_shell u-ls 'ls -la'
cursor_shell u-rm 'rm -rf /'
cursor_tool u-reset Shell '{"command":"git reset --hard","cwd":""}'
cursor_tool u-delete Delete '{"file_path":"/etc/passwd"}'
cursor_tool u-write Write "{\"file_path\":\"$PROJ/src/c.c\",\"content\":\"int c;\\n\"}"
printf '{"conversation_id":"c-81f","generation_id":"g-2a","hook_event_name":"beforeReadFile","workspace_roots":["%s"],"file_path":"/etc/shadow","content":"root:$y$j9T$S3CR3T-HASH:19000:0:99999:7:::\\n","attachments":[]}' \
	"$PROJ" >"$TMP/u-shadow"
printf '{"conversation_id":"c-81f","generation_id":"g-2a","hook_event_name":"beforeMCPExecution","workspace_roots":["%s"],"tool_name":"database_query","tool_input":"{\\"query\\": \\"SELECT * FROM users\\"}","url":"http://localhost:3000","command":"npx mcp-server"}' \
	"$PROJ" >"$TMP/u-mcp"

# ---- what the agents should see -------------------------------------------------------

RM_ROOT='recursive delete of /, a system or top-level folder; delete specific files inside the project instead (rule fs.rm-broad, request N)'
RESET='git reset --hard throws away uncommitted work; commit or stash it first (rule git.reset-hard, request N)'
PASSWD_RM="deleting system files (/etc/passwd) breaks the machine; it is not the agent's to change (rule fs.rm-system-file, request N)"
SHADOW="reading /etc/shadow: private keys and credentials stay out of the agent's context; ask a person for what you need (rule secrets.read, request N)"
ASKED='. Ask the user to run it, or to allow it in the Lighthouse policy'

test_start_daemon

# -- Claude Code

test_expect_success 'claude: Bash allowed, the allow decision as JSON on stdout' '
	run_hook <c-ls && [ $rc = 0 ] && [ ! -s err ] &&
	echo "{\"hookSpecificOutput\":{\"hookEventName\":\"PreToolUse\",\"permissionDecision\":\"allow\",\"permissionDecisionReason\":\"Lighthouse allows this Bash call: a read-only command (rule dev.read-only)\"}}" >expect &&
	test_cmp expect out
'

test_expect_success 'claude: Bash denied, exit 2 with the reason on stderr, nothing on stdout' '
	run_hook <c-rm && [ $rc = 2 ] && [ ! -s out ] &&
	echo "Lighthouse denied this Bash call: $RM_ROOT" >expect &&
	norm err >got && test_cmp expect got
'

test_expect_success 'claude: ask, as permissionDecision "ask" with the reason' '
	run_hook <c-reset && [ $rc = 0 ] && [ ! -s err ] &&
	echo "{\"hookSpecificOutput\":{\"hookEventName\":\"PreToolUse\",\"permissionDecision\":\"ask\",\"permissionDecisionReason\":\"Lighthouse asks a person to confirm this Bash call: $RESET\"}}" >expect &&
	norm out >got && test_cmp expect got
'

test_expect_success 'claude: Write into the project allowed, Edit of /etc/passwd denied' '
	run_hook <c-write && [ $rc = 0 ] &&
	echo "{\"hookSpecificOutput\":{\"hookEventName\":\"PreToolUse\",\"permissionDecision\":\"allow\",\"permissionDecisionReason\":\"Lighthouse allows this Write call: editing a file of the project (rule tools.edit)\"}}" >expect &&
	test_cmp expect out &&
	run_hook <c-edit && [ $rc = 2 ] && [ ! -s out ] &&
	echo "Lighthouse denied this Edit call: writing /etc/passwd changes the system; propose the change to a person instead (rule write.system, request N)" >expect &&
	norm err >got && test_cmp expect got
'

test_expect_success 'claude: Read of the project allowed, of /etc/shadow denied' '
	run_hook <c-read && [ $rc = 0 ] &&
	echo "{\"hookSpecificOutput\":{\"hookEventName\":\"PreToolUse\",\"permissionDecision\":\"allow\",\"permissionDecisionReason\":\"Lighthouse allows this Read call: an everyday read-only tool (rule tools.everyday)\"}}" >expect &&
	test_cmp expect out &&
	run_hook <c-shadow && [ $rc = 2 ] && [ ! -s out ] &&
	echo "Lighthouse denied this Read call: $SHADOW" >expect &&
	norm err >got && test_cmp expect got
'

test_expect_success 'claude: an MCP tool the policy does not know is asked about' '
	run_hook <c-mcp && [ $rc = 0 ] && [ ! -s err ] &&
	echo "{\"hookSpecificOutput\":{\"hookEventName\":\"PreToolUse\",\"permissionDecision\":\"ask\",\"permissionDecisionReason\":\"Lighthouse asks a person to confirm this mcp__github__create_issue call: the policy has no rules for tool '"'"'mcp__github__create_issue'"'"' (request N)\"}}" >expect &&
	norm out >got && test_cmp expect got
'

test_expect_success 'claude: a sub-agent call is judged and recorded as sent, agent_id included' '
	run_hook <c-sub && [ $rc = 2 ] &&
	echo "Lighthouse denied this Bash call: $RM_ROOT" >expect &&
	norm err >got && test_cmp expect got &&
	id=$(request_id) && [ -n "$id" ] &&
	ctl events --request $id --json | head -1 >ev &&
	"$TEST_TOOL" json agent <ev | grep -qx a-7f3e &&
	"$TEST_TOOL" json session <ev | grep -qx 3f1c2a9e-5b7d-4e1a-9c2f-0a1b2c3d4e5f &&
	"$TEST_TOOL" json payload <ev | "$TEST_TOOL" json raw >raw &&
	[ "$(cat raw)" = "$(cat c-sub)" ]
'

test_expect_success 'claude: unicode in the command and the reason comes back intact' '
	run_hook <c-uni && [ $rc = 0 ] &&
	echo "{\"hookSpecificOutput\":{\"hookEventName\":\"PreToolUse\",\"permissionDecision\":\"ask\",\"permissionDecisionReason\":\"Lighthouse asks a person to confirm this Bash call: recursive delete outside the project (/ünïcödé/日本); confirm, or work inside the project (rule fs.rm-outside, request N)\"}}" >expect &&
	norm out >got && test_cmp expect got &&
	run_hook <c-uniw && [ $rc = 0 ] &&
	grep -q "\"permissionDecision\":\"allow\"" out
'

test_expect_success 'claude: a payload with a byte order mark is read' '
	run_hook <c-bom && [ $rc = 0 ] && grep -q "\"permissionDecision\":\"allow\"" out
'

test_expect_success 'claude: a Write of 900 kB is judged; one over the 1 MiB request limit is denied' '
	run_hook <c-large && [ $rc = 0 ] &&
	grep -q "\"permissionDecision\":\"allow\"" out &&
	run_hook <c-huge && [ $rc = 2 ] && [ ! -s out ] &&
	grep -q "^Lighthouse denied this Write call: invalid request: too large ([0-9]* bytes or more; the limit is 1048576, set by -o max_request) (request [0-9]*)$" err
'

test_expect_success 'claude: --quiet-allow says nothing on allow, still denies' '
	run_hook --quiet-allow <c-ls && [ $rc = 0 ] && [ ! -s out ] && [ ! -s err ] &&
	LIGHTHOUSE_HOOK_QUIET_ALLOW=1 run_hook <c-ls && [ $rc = 0 ] && [ ! -s out ] &&
	run_hook --quiet-allow <c-rm && [ $rc = 2 ]
'

test_expect_success 'a payload that is not a JSON object is denied, never run as a shell command' '
	printf "ls" >p && run_hook <p && [ $rc = 2 ] && [ ! -s out ] &&
	echo "Lighthouse could not judge this tool call, so it is denied: the hook payload is not valid JSON (line 1 column 2: '"'"'['"'"' or '"'"'{'"'"' expected near '"'"'ls'"'"')" >expect &&
	test_cmp expect err &&
	printf "[\"Bash\"]" >p && run_hook <p && [ $rc = 2 ] &&
	grep -qx "Lighthouse could not judge this tool call, so it is denied: the hook payload is not a JSON object" err &&
	printf "{\"tool_name\":\"Read\",\"tool_name\":\"Bash\",\"tool_input\":{}}" >p && run_hook <p && [ $rc = 2 ] &&
	grep -q "not valid JSON (.*duplicate object key" err &&
	run_hook </dev/null && [ $rc = 2 ]
'

# -- Codex

test_expect_success 'codex: allow prints nothing, deny is exit 2 with the reason' '
	run_hook <x-ls && [ $rc = 0 ] && [ ! -s out ] && [ ! -s err ] &&
	run_hook <x-rm && [ $rc = 2 ] && [ ! -s out ] &&
	echo "Lighthouse denied this Bash call: $RM_ROOT" >expect &&
	norm err >got && test_cmp expect got
'

test_expect_success 'codex: ask is a deny (Codex cannot ask from a hook), and says so' '
	run_hook <x-reset && [ $rc = 2 ] && [ ! -s out ] &&
	echo "Lighthouse wants a person to confirm this Bash call, and Codex cannot ask from a hook, so it is denied: $RESET$ASKED" >expect &&
	norm err >got && test_cmp expect got &&
	run_hook --agent codex <c-reset && [ $rc = 2 ]
'

test_expect_success 'codex: apply_patch is judged per file, the most severe wins' '
	run_hook <x-patch && [ $rc = 0 ] && [ ! -s out ] && [ ! -s err ] &&
	run_hook <x-patch-rm && [ $rc = 2 ] &&
	echo "Lighthouse denied this apply_patch call: $PASSWD_RM" >expect &&
	norm err >got && test_cmp expect got &&
	id=$(request_id) &&
	ctl events --request $((id - 1)) --json | head -1 | "$TEST_TOOL" json payload >ev &&
	"$TEST_TOOL" json tool <ev | grep -qx Write &&
	"$TEST_TOOL" json input <ev | grep -qx "$PROJ/src/ok.c"
'

# -- Gemini CLI

test_expect_success 'gemini: allow as {"decision":"allow"}, nothing else on stdout' '
	run_hook <g-ls && [ $rc = 0 ] && [ ! -s err ] &&
	echo "{\"decision\":\"allow\"}" >expect && test_cmp expect out &&
	run_hook <g-write && [ $rc = 0 ] && test_cmp expect out &&
	run_hook --quiet-allow <g-ls && [ $rc = 0 ] && echo "{}" >expect && test_cmp expect out
'

test_expect_success 'gemini: deny as {"decision":"deny","reason":...}, exit 2, reason on stderr' '
	run_hook <g-rm && [ $rc = 2 ] &&
	echo "{\"decision\":\"deny\",\"reason\":\"Lighthouse denied this Bash call: $RM_ROOT\"}" >expect &&
	norm out >got && test_cmp expect got &&
	echo "Lighthouse denied this Bash call: $RM_ROOT" >expect &&
	norm err >got && test_cmp expect got &&
	run_hook <g-read && [ $rc = 2 ] &&
	echo "{\"decision\":\"deny\",\"reason\":\"Lighthouse denied this Read call: $SHADOW\"}" >expect &&
	norm out >got && test_cmp expect got
'

test_expect_success 'gemini: an ask is a deny that says a person must confirm' '
	run_hook <g-mcp && [ $rc = 2 ] &&
	echo "{\"decision\":\"deny\",\"reason\":\"Lighthouse wants a person to confirm this mcp__db__query call, and Gemini CLI cannot ask from a hook, so it is denied: the policy has no rules for tool '"'"'mcp__db__query'"'"' (request N)$ASKED\"}" >expect &&
	norm out >got && test_cmp expect got
'

test_expect_success 'gemini: run_shell_command is recorded as Bash, its own name kept' '
	run_hook <g-rm && id=$(request_id) &&
	ctl events --request $id --json | head -1 | "$TEST_TOOL" json payload >ev &&
	"$TEST_TOOL" json tool <ev | grep -qx Bash &&
	"$TEST_TOOL" json raw <ev >raw &&
	"$TEST_TOOL" json original_tool_name <raw | grep -qx run_shell_command &&
	"$TEST_TOOL" json hook_event_name <raw | grep -qx BeforeTool &&
	"$TEST_TOOL" json timestamp <raw | grep -qx 2026-11-22T10:30:00.000Z
'

# -- Cursor

test_expect_success 'cursor: beforeShellExecution allow and deny, always one JSON object' '
	run_hook <u-ls && [ $rc = 0 ] && [ ! -s err ] &&
	echo "{\"permission\":\"allow\"}" >expect && test_cmp expect out &&
	run_hook <u-rm && [ $rc = 2 ] &&
	echo "{\"permission\":\"deny\",\"user_message\":\"Lighthouse denied this Bash call: $RM_ROOT\",\"agent_message\":\"Lighthouse denied this Bash call: $RM_ROOT\"}" >expect &&
	norm out >got && test_cmp expect got &&
	echo "Lighthouse denied this Bash call: $RM_ROOT" >expect &&
	norm err >got && test_cmp expect got
'

test_expect_success 'cursor: preToolUse Shell ask, Delete of a system file denied, Write allowed' '
	run_hook <u-reset && [ $rc = 0 ] && [ ! -s err ] &&
	echo "{\"permission\":\"ask\",\"user_message\":\"Lighthouse asks a person to confirm this Bash call: $RESET\",\"agent_message\":\"Lighthouse asks a person to confirm this Bash call: $RESET\"}" >expect &&
	norm out >got && test_cmp expect got &&
	run_hook <u-delete && [ $rc = 2 ] &&
	echo "{\"permission\":\"deny\",\"user_message\":\"Lighthouse denied this Bash call: $PASSWD_RM\",\"agent_message\":\"Lighthouse denied this Bash call: $PASSWD_RM\"}" >expect &&
	norm out >got && test_cmp expect got &&
	run_hook <u-write && [ $rc = 0 ] && echo "{\"permission\":\"allow\"}" >expect && test_cmp expect out
'

test_expect_success 'cursor: beforeReadFile of a secret denied, its content not recorded' '
	run_hook <u-shadow && [ $rc = 2 ] &&
	echo "{\"permission\":\"deny\",\"user_message\":\"Lighthouse denied this Read call: $SHADOW\",\"agent_message\":\"Lighthouse denied this Read call: $SHADOW\"}" >expect &&
	norm out >got && test_cmp expect got &&
	id=$(request_id) && ctl events --request $id --json >ev &&
	grep -q "/etc/shadow" ev && ! grep -q "S3CR3T-HASH" ev
'

test_expect_success 'cursor: beforeMCPExecution with tool_input as a JSON text is asked about' '
	run_hook <u-mcp && [ $rc = 0 ] &&
	grep -q "^{\"permission\":\"ask\",\"user_message\":\"Lighthouse asks a person to confirm this database_query call: the policy has no rules for tool" out
'

# -- failing closed

test_expect_success 'a missing mount means deny, in every agent'"'"'s protocol' '
	nomount="$TMP/nomount" &&
	why="there is no Lighthouse mount at $nomount (No such file or directory); start lighthoused there, or point the hook at the mount with --mount or LIGHTHOUSE_MOUNT" &&
	run_hook --mount "$nomount" <c-ls && [ $rc = 2 ] && [ ! -s out ] &&
	echo "Lighthouse could not judge this Bash call, so it is denied: $why" >expect &&
	test_cmp expect err &&
	run_hook --mount "$nomount" <g-ls && [ $rc = 2 ] &&
	echo "{\"decision\":\"deny\",\"reason\":\"Lighthouse could not judge this Bash call, so it is denied: $why\"}" >expect &&
	test_cmp expect out &&
	run_hook --mount "$nomount" <u-ls && [ $rc = 2 ] &&
	echo "{\"permission\":\"deny\",\"user_message\":\"Lighthouse could not judge this Bash call, so it is denied: $why\",\"agent_message\":\"Lighthouse could not judge this Bash call, so it is denied: $why\"}" >expect &&
	test_cmp expect out &&
	run_hook --mount "$nomount" <x-ls && [ $rc = 2 ] && [ ! -s out ]
'

test_expect_success 'the mount comes from LIGHTHOUSE_MOUNT, else /run/lighthouse' '
	LIGHTHOUSE_MOUNT=$MNT "$HOOK" <c-ls >out && grep -q "\"allow\"" out &&
	if [ ! -e /run/lighthouse ]; then
		env -u LIGHTHOUSE_MOUNT "$HOOK" <c-ls 2>err; [ $? = 2 ] &&
		grep -q "there is no Lighthouse mount at /run/lighthouse " err
	fi
'

test_expect_success 'a folder that is not a Lighthouse mount means deny, and nothing is left there' '
	mkdir -p plain/requests &&
	run_hook --mount "$TMP/plain" <c-ls && [ $rc = 2 ] &&
	echo "Lighthouse could not judge this Bash call, so it is denied: $TMP/plain is not a Lighthouse mount (no verdict from $TMP/plain/requests); start lighthoused there, or point the hook at the mount with --mount or LIGHTHOUSE_MOUNT" >expect &&
	test_cmp expect err && [ -z "$(ls plain/requests)" ]
'

test_expect_success 'fail-open only when asked for, and it says so' '
	run_hook --mount "$TMP/nomount" --fail-open <c-rm && [ $rc = 0 ] && [ ! -s out ] &&
	echo "lighthouse-hook: fail-open: could not judge this Bash call (there is no Lighthouse mount at $TMP/nomount (No such file or directory); start lighthoused there, or point the hook at the mount with --mount or LIGHTHOUSE_MOUNT); it goes on without Lighthouse" >expect &&
	test_cmp expect err &&
	LIGHTHOUSE_HOOK_FAIL_OPEN=1 run_hook --mount "$TMP/nomount" <u-rm && [ $rc = 0 ] &&
	echo "{\"permission\":\"allow\"}" >expect && test_cmp expect out &&
	LIGHTHOUSE_HOOK_FAIL_OPEN=1 run_hook --mount "$TMP/nomount" <g-rm && [ $rc = 0 ] &&
	echo "{}" >expect && test_cmp expect out &&
	run_hook --fail-open <c-rm && [ $rc = 2 ]
'

test_expect_success 'a stopped daemon: deny at the deadline, and the daemon goes on after' '
	kill -STOP "$LH_PID" &&
	run_hook --timeout 0.5 <c-ls; kill -CONT "$LH_PID" &&
	[ $rc = 2 ] && [ ! -s out ] &&
	echo "Lighthouse could not judge this Bash call, so it is denied: the Lighthouse daemon at $MNT did not answer within 0.5 s" >expect &&
	test_cmp expect err &&
	kill -STOP "$LH_PID" &&
	LIGHTHOUSE_HOOK_TIMEOUT=0.5 run_hook <u-ls; kill -CONT "$LH_PID" &&
	[ $rc = 2 ] && grep -q "^{\"permission\":\"deny\"" out &&
	run_hook <c-ls && [ $rc = 0 ] && grep -q "\"allow\"" out
'

test_expect_success 'bad options deny too (a hook set up wrong must not let calls through)' '
	run_hook --bogus <c-ls && [ $rc = 2 ] && [ ! -s out ] &&
	echo "lighthouse-hook: unknown option or missing value: '"'"'--bogus'"'"' (see lighthouse-hook --help)" >expect &&
	test_cmp expect err &&
	run_hook --agent vim <c-ls && [ $rc = 2 ] &&
	run_hook --timeout 0 <c-ls && [ $rc = 2 ] &&
	LIGHTHOUSE_HOOK_TIMEOUT=soon run_hook <c-ls && [ $rc = 2 ]
'

test_expect_success 'each call is its own request, listed under results/ until it expires' '
	ls "$MNT/results" | grep -c "^hook-claude-[0-9]*-[0-9a-f]\{16\}$" >n &&
	[ "$(cat n)" -ge 10 ] &&
	name=$(ls "$MNT/results" | grep "^hook-gemini-" | head -1) &&
	head -1 "$MNT/results/$name" | grep -qx -E "allow|ask|deny"
'

test_expect_success 'twenty hooks at once, every answer right' '
	i=0; while [ $i -lt 20 ]; do
		( "$HOOK" --mount "$MNT" <c-ls >/dev/null 2>&1 && echo ok || echo FAIL
		  "$HOOK" --mount "$MNT" <c-rm >/dev/null 2>&1 && echo FAIL || echo ok ) >par.$i &
		i=$((i + 1))
	done; wait &&
	! grep -q FAIL par.* && [ "$(cat par.* | grep -c ok)" -eq 40 ]
'

test_expect_success 'the three programs print the version of configure.ac' '
	v=$(sed -n "s/^AC_INIT(\[lighthouse\], \[\([^]]*\)\].*/\1/p" "$srcdir/configure.ac") &&
	[ -n "$v" ] &&
	[ "$("$HOOK" --version)" = "lighthouse-hook $v" ] &&
	[ "$("$LIGHTHOUSECTL" --version)" = "lighthousectl $v" ] &&
	"$LIGHTHOUSED" --version | grep -qx "lighthoused $v (libfuse [0-9.]*)"
'

test_stop_daemon

test_expect_success 'a daemon that died (ENOTCONN) means deny' '
	lh_start && kill -9 "$LH_PID" && { wait "$LH_PID" || :; } &&
	run_hook <c-ls; fusermount3 -u "$MNT" 2>/dev/null || umount "$MNT"
	[ $rc = 2 ] &&
	echo "Lighthouse could not judge this Bash call, so it is denied: the Lighthouse daemon behind $MNT is gone (Transport endpoint is not connected); restart it" >expect &&
	test_cmp expect err
'

test_done

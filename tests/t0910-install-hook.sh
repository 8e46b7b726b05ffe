#!/bin/sh
# t0910-install-hook: lighthousectl install-hook / uninstall-hook on the
# agents' settings files: merged with what is there, idempotent, dry runs
# that change nothing, and removal of exactly what was added.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

test_cmp() {
	diff -u "$1" "$2"
}

HK=/opt/lh/bin/lighthouse-hook
P=$TMP/proj
mkdir -p "$P/.claude" "$TMP/home"

# what a user has before: hooks of their own, settings we know nothing of
cat >"$TMP/settings.orig" <<\EOF
{
  "permissions": {
    "allow": ["Bash(npm run test:*)"],
    "deny": []
  },
  "hooks": {
    "PreToolUse": [
      {
        "matcher": "Bash",
        "hooks": [
          { "type": "command", "command": "/home/alice/bin/audit.sh" }
        ]
      }
    ],
    "PostToolUse": [
      { "matcher": "Write", "hooks": [{ "type": "command", "command": "prettier --write" }] }
    ]
  },
  "model": "opus",
  "env": { "FOO": "Grüße 🚀" }
}
EOF

# the same, rewritten, with our hook added last to PreToolUse
cat >"$TMP/settings.installed" <<EOF
{
  "permissions": {
    "allow": [
      "Bash(npm run test:*)"
    ],
    "deny": []
  },
  "hooks": {
    "PreToolUse": [
      {
        "matcher": "Bash",
        "hooks": [
          {
            "type": "command",
            "command": "/home/alice/bin/audit.sh"
          }
        ]
      },
      {
        "matcher": "*",
        "hooks": [
          {
            "type": "command",
            "command": "$HK --agent claude",
            "timeout": 30,
            "onFailure": "block"
          }
        ]
      }
    ],
    "PostToolUse": [
      {
        "matcher": "Write",
        "hooks": [
          {
            "type": "command",
            "command": "prettier --write"
          }
        ]
      }
    ]
  },
  "model": "opus",
  "env": {
    "FOO": "Grüße 🚀"
  }
}
EOF

ENTRY="{\"matcher\":\"*\",\"hooks\":[{\"type\":\"command\",\"command\":\"$HK --agent claude\",\"timeout\":30,\"onFailure\":\"block\"}]}"
HOOKOBJ="{\"type\":\"command\",\"command\":\"$HK --agent claude\",\"timeout\":30,\"onFailure\":\"block\"}"

test_expect_success 'install-hook --dry-run prints the change and a diff, writes nothing' '
	cp settings.orig "$P/.claude/settings.json" &&
	ctl install-hook --agent claude --project "$P" --hook $HK --dry-run >out &&
	test_cmp settings.orig "$P/.claude/settings.json" &&
	head -1 out >first &&
	echo "$P/.claude/settings.json: would add to hooks.PreToolUse: $ENTRY" >expect &&
	test_cmp expect first &&
	grep -qx -- "--- $P/.claude/settings.json" out &&
	grep -qx -- "+        \"matcher\": \"\*\"," out &&
	grep -qx -- "-    \"allow\": \[\"Bash(npm run test:\*)\"\]," out &&
	! ls "$P/.claude" | grep -q "lh-"
'

test_expect_success 'install-hook merges with the hooks and settings already there' '
	ctl install-hook --agent claude --project "$P" --hook $HK >out &&
	echo "$P/.claude/settings.json: add to hooks.PreToolUse: $ENTRY" >expect &&
	test_cmp expect out &&
	test_cmp settings.installed "$P/.claude/settings.json"
'

test_expect_success 'installing twice adds it once and changes nothing' '
	cp "$P/.claude/settings.json" before &&
	ctl install-hook --agent claude --project "$P" --hook $HK >out &&
	printf "%s\n" "$P/.claude/settings.json: already in hooks.PreToolUse: $ENTRY" \
		"$P/.claude/settings.json: nothing to change" >expect &&
	test_cmp expect out && test_cmp before "$P/.claude/settings.json"
'

test_expect_success 'uninstall-hook --dry-run shows the removal, writes nothing' '
	ctl uninstall-hook --agent claude --project "$P" --dry-run >out &&
	test_cmp settings.installed "$P/.claude/settings.json" &&
	head -1 out >first &&
	echo "$P/.claude/settings.json: would remove from hooks.PreToolUse: $HOOKOBJ" >expect &&
	test_cmp expect first &&
	[ "$(grep -c "^-" out)" -eq 12 ] && ! grep -q "^+[^+]" out
'

test_expect_success 'uninstall-hook removes exactly what install-hook added' '
	ctl uninstall-hook --agent claude --project "$P" >out &&
	echo "$P/.claude/settings.json: remove from hooks.PreToolUse: $HOOKOBJ" >expect &&
	test_cmp expect out &&
	for key in permissions hooks model env; do
		"$TEST_TOOL" json $key <settings.orig >want &&
		"$TEST_TOOL" json $key <"$P/.claude/settings.json" >got &&
		test_cmp want got || exit 1
	done &&
	[ "$(grep -c "^  \"" "$P/.claude/settings.json")" -eq 4 ] &&
	ctl uninstall-hook --agent claude --project "$P" >out &&
	echo "$P/.claude/settings.json: nothing to change" >expect && test_cmp expect out
'

test_expect_success 'a file that held only our hook is left without a hooks key' '
	mkdir -p p2 &&
	ctl install-hook --agent claude --project p2 --hook $HK >/dev/null &&
	[ -f p2/.claude/settings.json ] &&
	ctl uninstall-hook --agent claude --project p2 >/dev/null &&
	echo "{}" >expect && test_cmp expect p2/.claude/settings.json
'

test_expect_success 'only our hook object goes when a user put it into a group of theirs' '
	mkdir -p p3/.claude &&
	cat >p3/.claude/settings.json <<-EOF &&
	{"hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [
	  {"type": "command", "command": "/home/alice/bin/audit.sh"},
	  {"type": "command", "command": "lighthouse-hook --agent claude --timeout 5"}]}]}}
	EOF
	ctl uninstall-hook --agent claude --project p3 >out &&
	grep -q "remove from hooks.PreToolUse: {\"type\":\"command\",\"command\":\"lighthouse-hook --agent claude --timeout 5\"}" out &&
	"$TEST_TOOL" json hooks <p3/.claude/settings.json >got &&
	echo "{\"PreToolUse\":[{\"matcher\":\"Bash\",\"hooks\":[{\"type\":\"command\",\"command\":\"/home/alice/bin/audit.sh\"}]}]}" >expect &&
	test_cmp expect got
'

test_expect_success 'a different mount replaces our old entry instead of adding a second' '
	mkdir -p p4 &&
	ctl install-hook --agent claude --project p4 --hook $HK >/dev/null &&
	ctl install-hook --agent claude --project p4 --hook $HK --mount "/srv/my lh" >out &&
	grep -q "remove from hooks.PreToolUse: $(echo "$HOOKOBJ" | sed "s/[][*.]/\\\\&/g")" out &&
	grep -q "add to hooks.PreToolUse: .*--agent claude --mount '"'"'/srv/my lh'"'"'" out &&
	[ "$(grep -c lighthouse-hook p4/.claude/settings.json)" -eq 1 ]
'

test_expect_success '--user writes ~/.claude/settings.json, or under CLAUDE_CONFIG_DIR' '
	HOME=$TMP/home ctl install-hook --agent claude --user --hook $HK >out &&
	grep -q "^$TMP/home/.claude/settings.json: add to hooks.PreToolUse: " out &&
	"$TEST_TOOL" json hooks <home/.claude/settings.json | grep -qF "$HK --agent claude" &&
	HOME=$TMP/home CLAUDE_CONFIG_DIR=$TMP/cc ctl install-hook --agent claude --user --hook $HK >out &&
	[ -f cc/settings.json ] &&
	HOME=$TMP/home ctl uninstall-hook --agent claude --user >out &&
	echo "{}" >expect && test_cmp expect home/.claude/settings.json
'

test_expect_success 'codex: ~/.codex/hooks.json, or under CODEX_HOME' '
	HOME=$TMP/home ctl install-hook --agent codex --user --hook $HK >out &&
	echo "$TMP/home/.codex/hooks.json: add to hooks.PreToolUse: {\"hooks\":[{\"type\":\"command\",\"command\":\"$HK --agent codex\",\"timeout\":30}]}" >expect &&
	test_cmp expect out &&
	HOME=$TMP/home CODEX_HOME=$TMP/cx ctl install-hook --agent codex --user --hook $HK >/dev/null &&
	[ -f cx/hooks.json ]
'

test_expect_success 'gemini: hooks.BeforeTool in .gemini/settings.json, other settings kept' '
	mkdir -p p5/.gemini &&
	echo "{\"theme\": \"GitHub\", \"hooks\": {\"AfterTool\": []}}" >p5/.gemini/settings.json &&
	ctl install-hook --agent gemini --project p5 --hook $HK >out &&
	echo "p5/.gemini/settings.json: add to hooks.BeforeTool: {\"matcher\":\".*\",\"hooks\":[{\"type\":\"command\",\"name\":\"lighthouse\",\"command\":\"$HK --agent gemini\",\"timeout\":30000}]}" >expect &&
	test_cmp expect out &&
	"$TEST_TOOL" json theme <p5/.gemini/settings.json | grep -qx GitHub &&
	ctl uninstall-hook --agent gemini --project p5 >/dev/null &&
	"$TEST_TOOL" json hooks <p5/.gemini/settings.json | grep -qx "{\"AfterTool\":\[\]}"
'

test_expect_success 'cursor: version 1 and four fail-closed hooks in .cursor/hooks.json' '
	mkdir -p p6 &&
	ctl install-hook --agent cursor --project p6 --hook $HK >out &&
	c="{\"command\":\"$HK --agent cursor\",\"failClosed\":true}" &&
	printf "%s\n" "p6/.cursor/hooks.json: set version: 1" \
		"p6/.cursor/hooks.json: add to hooks.beforeShellExecution: $c" \
		"p6/.cursor/hooks.json: add to hooks.beforeMCPExecution: $c" \
		"p6/.cursor/hooks.json: add to hooks.beforeReadFile: $c" \
		"p6/.cursor/hooks.json: add to hooks.preToolUse: {\"command\":\"$HK --agent cursor\",\"matcher\":\"Write|StrReplace|Edit|MultiEdit|Delete\",\"failClosed\":true}" >expect &&
	test_cmp expect out &&
	"$TEST_TOOL" json version <p6/.cursor/hooks.json | grep -qx 1 &&
	ctl uninstall-hook --agent cursor --project p6 >out && [ "$(grep -c "remove from" out)" -eq 4 ] &&
	echo "{\"version\":1}" >expect && "$TEST_TOOL" json version <p6/.cursor/hooks.json | grep -qx 1 &&
	! grep -q hooks p6/.cursor/hooks.json
'

test_expect_success 'the mode of the file stays, a symbolic link stays a link' '
	mkdir -p p7/.claude dotfiles &&
	echo "{}" >dotfiles/claude.json && chmod 600 dotfiles/claude.json &&
	ln -s "$TMP/dotfiles/claude.json" p7/.claude/settings.json &&
	ctl install-hook --agent claude --project p7 --hook $HK >/dev/null &&
	[ -L p7/.claude/settings.json ] &&
	grep -q "lighthouse-hook --agent claude" dotfiles/claude.json &&
	[ "$(stat -c %a dotfiles/claude.json)" = 600 ]
'

test_expect_success 'a settings file that is not a JSON object is not touched' '
	mkdir -p p8/.claude &&
	printf "{\"hooks\": {\"PreToolUse\": [}" >p8/.claude/settings.json && cp p8/.claude/settings.json before &&
	! ctl install-hook --agent claude --project p8 --hook $HK >out 2>err &&
	grep -q "is not JSON (line 1 column 27: unexpected token near" err && test_cmp before p8/.claude/settings.json &&
	echo "{\"hooks\": []}" >p8/.claude/settings.json &&
	! ctl install-hook --agent claude --project p8 --hook $HK 2>err &&
	grep -q "\"hooks\" is not an object; not touching it" err
'

test_expect_success 'without a file, uninstall has nothing to do' '
	mkdir -p p9 && ctl uninstall-hook --agent codex --project p9 >out &&
	echo "p9/.codex/hooks.json: not there, nothing to remove" >expect && test_cmp expect out &&
	[ ! -e p9/.codex ]
'

test_expect_success 'usage errors exit 2' '
	ctl install-hook --project p9 >/dev/null 2>err; [ $? -eq 2 ] &&
	grep -q "^usage: lighthousectl install-hook --agent AGENT" err &&
	ctl install-hook --agent claude --project p9 --user >/dev/null 2>&1; [ $? -eq 2 ] &&
	ctl install-hook --agent vim --user >/dev/null 2>&1; [ $? -eq 2 ] &&
	ctl uninstall-hook --agent claude --user --mount x >/dev/null 2>&1; [ $? -eq 2 ] &&
	! ctl install-hook --agent claude --project nosuchdir 2>err &&
	grep -q "is not a directory" err
'

test_done

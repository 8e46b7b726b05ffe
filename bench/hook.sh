#!/bin/sh
# bench/hook.sh -- what lighthouse-hook costs an agent per tool call.
#
# Mounts lighthoused (built-in policy) on a temporary folder and runs, one
# after the other, RUNS times: a hook that only runs `true` through
# /bin/sh (the floor: what any hook costs), `/bin/true` (the floor plus
# starting a program), and lighthouse-hook answering a Claude Code Bash
# payload that is allowed (`ls -la`) and one that is denied (`rm -rf /`).
# Each is timed from process start to exit by bench/hook-bench, the way an
# agent starts its hook (payload on a stdin pipe, output drained). The
# commands repeat, so the daemon answers from its verdict cache, as it
# does for an agent's everyday commands.
#
#   ./bench/hook.sh [RUNS]       from the build folder (default 300)
#
# Prints `metric value unit` lines; compare the *_minus_floor lines.
. "${srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

RUNS=${1:-300}
BENCH=$builddir/bench/hook-bench
HOOK=$builddir/hook/lighthouse-hook
for p in "$BENCH" "$HOOK" "$LIGHTHOUSED"; do
	[ -x "$p" ] || { echo "bench/hook.sh: $p is not built (make first)" >&2; exit 1; }
done
[ -c /dev/fuse ] || { echo "bench/hook.sh: no /dev/fuse here" >&2; exit 1; }

payload() {
	printf '{"session_id":"3f1c2a9e","transcript_path":"/tmp/t.jsonl","cwd":"%s","permission_mode":"default","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"%s","description":"bench"},"tool_use_id":"toolu_bench"}' \
		"$PROJ" "$1"
}
payload 'ls -la' >"$TMP/allow.json"
payload 'rm -rf /' >"$TMP/deny.json"

lh_start >/dev/null || exit 1
"$BENCH" -n "$RUNS" \
	floor true "$TMP/allow.json" \
	bin_true /bin/true "$TMP/allow.json" \
	allow "$HOOK --mount $MNT --agent claude" "$TMP/allow.json" \
	deny "$HOOK --mount $MNT --agent claude" "$TMP/deny.json"
rc=$?
lh_stop >/dev/null || rc=1
exit $rc

#!/bin/sh
# t0520-learned: what experts and people decide becomes policy -- remember
# exact or pattern, the next request answered from policy (and the cache),
# forget, kept across restarts, replay of the record with a candidate.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
require_fuse

cat >"$TMP/esc.policy" <<\EOP
include builtin:default
rule t.deploy escalate
  command deploy-tool
  tags deploy
  reason deploying is for a person to approve
EOP

# expert NAME DECISION [REMEMBER]: a scripted expert (see t0510)
expert() {
	dir="$MNT/experts/$1"
	while id=$(head -1 "$dir/next" 2>/dev/null) && [ -n "$id" ]; do
		mv "$dir/queue/$id" "$dir/inprogress/$id" 2>/dev/null || continue
		{ echo "$2"; echo "reason: $1 checked it"; [ -z "${3:-}" ] || echo "remember: $3"; } \
			>"$dir/inprogress/$id" 2>/dev/null || continue
	done
}

pending_id() {
	ctl pending | awk -v t="  Bash: $1" '/^[0-9]/ { id = $1 } $0 == t { print id }'
}

# until_ok COMMAND: poll (at most 60 s) until COMMAND succeeds
until_ok() {
	n=0
	while ! eval "$1"; do
		n=$((n + 1)); [ $n -lt 600 ] || { echo "gave up waiting for: $1"; return 1; }; sleep 0.1
	done
}

test_start_daemon --policy "$TMP/esc.policy" -o escalation_timeout=120

test_expect_success 'an expert says remember: exact; the same request is then answered by policy' '
	mkdir "$MNT/experts/ops" && echo deploy >"$MNT/experts/ops/capabilities" &&
	{ expert ops allow exact & x=$!; } &&
	(cd "$PROJ" && echo "deploy-tool push web --env staging" >"$MNT/requests/r1") &&
	cat "$MNT/results/r1" >out && rmdir "$MNT/experts/ops" && wait $x &&
	id=$(sed -n "s/^request: //p" out) &&
	[ "$(head -1 out)" = allow ] && grep -qx "tier: expert" out && grep -qx "rule: learned.$id" out &&
	grep -qx "rule learned.$id allow" "$MNT/policy/learned" &&
	grep -q "^# learned.$id: allowed by ops (expert) at 20.*, from request $id$" "$MNT/policy/learned" &&
	grep -qx "  raw ^deploy-tool push web --env staging\\\\z" "$MNT/policy/learned" &&
	grep -qx "  cwd $PROJ" "$MNT/policy/learned" &&
	(cd "$PROJ" && echo "deploy-tool push web --env staging" >"$MNT/requests/r2") &&
	cat "$MNT/results/r2" >out2 && [ "$(head -1 out2)" = allow ] &&
	grep -qx "tier: learned" out2 && grep -qx "rule: learned.$id" out2 &&
	grep -qx "reason: decided before (request $id, ops): allowed by expert ops: ops checked it" out2 &&
	grep -qx "cache: miss" out2 &&
	(cd "$PROJ" && echo "deploy-tool push web --env staging" >"$MNT/requests/r3") &&
	field r3 cache | grep -qx hit && field r3 rule | grep -qx "learned.$id" &&
	ctl pending | grep -qx "nothing pending"
'

test_expect_success 'an exact rule is only that request: another folder or another argument asks again' '
	(cd "$TMP" && echo "deploy-tool push web --env staging" >"$MNT/requests/r4") &&
	(cd "$PROJ" && echo "deploy-tool push web --env prod" >"$MNT/requests/r5") &&
	until_ok "[ -n \"\$(pending_id \"deploy-tool push web --env prod\")\" ]" &&
	[ -n "$(pending_id "deploy-tool push web --env staging")" ] &&
	ctl deny "$(pending_id "deploy-tool push web --env prod")" --reason "not prod" >/dev/null &&
	ctl deny "$(pending_id "deploy-tool push web --env staging")" --reason "not from there" >/dev/null &&
	[ "$(decision r4)" = deny ] && [ "$(decision r5)" = deny ]
'

test_expect_success 'a person approves with --remember=pattern: the command, its object, its options, its place' '
	(cd "$PROJ" && echo "deploy-tool rollout api -q" >"$MNT/requests/p1") &&
	until_ok "[ -n \"\$(pending_id \"deploy-tool rollout api -q\")\" ]" &&
	id=$(pending_id "deploy-tool rollout api -q") &&
	ctl approve "$id" --remember=pattern --reason "rollouts are routine" >out &&
	grep -qx "approved $id: allow, remembered as learned.$id" out &&
	[ "$(decision p1)" = allow ] && field p1 rule | grep -qx "learned.$id" &&
	grep -qx "  subcommand rollout" "$MNT/policy/learned" &&
	grep -qx "  arg api" "$MNT/policy/learned" &&
	mkdir -p "$PROJ/sub" &&
	(cd "$PROJ/sub" && echo "deploy-tool rollout api" >"$MNT/requests/p2") &&
	[ "$(decision p2)" = allow ] && field p2 tier | grep -qx learned &&
	(cd "$PROJ" && echo "deploy-tool rollout api --force" >"$MNT/requests/p3") &&
	(cd "$PROJ" && echo "deploy-tool rollout worker" >"$MNT/requests/p4") &&
	(cd "$PROJ" && echo "deploy-tool destroy api" >"$MNT/requests/p5") &&
	until_ok "[ -n \"\$(pending_id \"deploy-tool destroy api\")\" ]" &&
	until_ok "[ -n \"\$(pending_id \"deploy-tool rollout worker\")\" ]" &&
	until_ok "[ -n \"\$(pending_id \"deploy-tool rollout api --force\")\" ]" &&
	for t in "deploy-tool destroy api" "deploy-tool rollout worker" "deploy-tool rollout api --force"; do
		ctl deny "$(pending_id "$t")" --reason no >/dev/null || exit 1; done &&
	for n in p3 p4 p5; do [ "$(decision $n)" = deny ] || exit 1; done
'

test_expect_success 'a learned rule cannot undo a deny of the policy' '
	echo "deploy-tool rollout api; rm -rf /" >"$MNT/requests/p6" &&
	[ "$(decision p6)" = deny ] && field p6 rule | grep -qx fs.rm-broad
'

test_expect_success 'a remembered deny answers deny from then on' '
	(cd "$PROJ" && echo "deploy-tool wipe cache" >"$MNT/requests/w1") &&
	until_ok "[ -n \"\$(pending_id \"deploy-tool wipe cache\")\" ]" &&
	id=$(pending_id "deploy-tool wipe cache") &&
	ctl deny "$id" --reason "never wipe the cache" --remember >/dev/null &&
	# lighthousectl returns once the rule applies: no wait needed here
	(cd "$PROJ" && echo "deploy-tool wipe cache" >"$MNT/requests/w2") &&
	[ "$(decision w1)" = deny ] && field w1 tier | grep -qx human &&
	[ "$(decision w2)" = deny ] && field w2 tier | grep -qx learned && field w2 rule | grep -qx "learned.$id"
'

test_expect_success 'forget: the rule decides nothing from the next request on' '
	rule=$(field p2 rule) &&
	ctl policy forget "$rule" >out && grep -qx "forgot $rule; it decides nothing from now on" out &&
	! grep -q "^rule $rule " "$MNT/policy/learned" &&
	(cd "$PROJ" && echo "deploy-tool rollout api" >"$MNT/requests/f1") &&
	until_ok "[ -n \"\$(pending_id \"deploy-tool rollout api\")\" ]" &&
	ctl approve "$(pending_id "deploy-tool rollout api")" >/dev/null && [ "$(decision f1)" = allow ] &&
	field f1 tier | grep -qx human &&
	{ ctl policy forget "$rule" >out; [ $? -eq 1 ]; } && grep -q "^error: no learned rule" out &&
	ctl events --type rule.forget --json | grep -q "\"id\":\"$rule\""
'

test_stop_daemon

test_expect_success 'learned rules come back from the store after a restart' '
	lh_start --policy "$TMP/esc.policy" -o escalation_timeout=120 &&
	grep -q "^rule learned\.[0-9]* allow$" "$MNT/policy/learned" &&
	grep -q "^rule learned\.[0-9]* deny$" "$MNT/policy/learned" &&
	(cd "$PROJ" && echo "deploy-tool push web --env staging" >"$MNT/requests/again") &&
	[ "$(decision again)" = allow ] && field again tier | grep -qx learned &&
	(cd "$PROJ" && echo "deploy-tool wipe cache" >"$MNT/requests/again2") &&
	[ "$(decision again2)" = deny ] &&
	ctl status | grep -q "^escalations: 0 pending, 0 experts, 2 learned rules$" &&
	lh_stop
'

test_expect_success 'policy replay: the record judged with a candidate, the changes listed' '
	cat >cand.policy <<-\EOP &&
	include builtin:default
	rule t.deploy-ok allow
	  command deploy-tool
	EOP
	{ ctl policy replay cand.policy >out; [ $? -eq 1 ]; } &&
	grep -q "^[0-9]*  escalate -> allow  t.deploy-ok  Bash: deploy-tool push web --env prod$" out &&
	grep -q "^replayed [0-9]* requests with cand.policy and 2 learned rules (0 skipped: not judged by the policy): [1-9][0-9]* would change$" out &&
	{ ctl policy replay --json cand.policy >json; [ $? -eq 1 ]; } &&
	head -1 json | "$TEST_TOOL" json now | grep -qx allow &&
	{ ctl policy replay "$TMP/esc.policy" >out; [ $? -eq 1 ]; } &&
	grep -q "^[0-9]*  escalate -> allow  learned\.[0-9]*  Bash: deploy-tool push web --env staging$" out &&
	grep -q "^[0-9]*  allow -> escalate  t.deploy  Bash: deploy-tool rollout api$" out &&
	! grep -q "rollout api -q" out
'

test_done

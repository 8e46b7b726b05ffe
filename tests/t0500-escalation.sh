#!/bin/sh
# t0500-escalation: a request the policy escalates waits for a decision; a
# person decides with lighthousectl pending / approve / deny; the deadline
# ends in deny; context/ holds what the request touched.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
require_fuse

# deploy-tool escalates (rule t.review); everything else is the built-in policy
cat >"$TMP/esc.policy" <<\EOP
include builtin:default
rule t.review escalate
  command deploy-tool
  tags deploy
  reason deploying is for a person to approve
EOP
me=$(id -un)
echo "replicas: 3" >"$PROJ/config.yaml"
echo "API_KEY=hunter2" >"$PROJ/.env"

# pending_id TEXT: the id of the pending escalation whose input is TEXT
pending_id() {
	ctl pending | awk -v t="  Bash: $1" '/^[0-9]/ { id = $1 } $0 == t { print id }'
}

# wait_pending TEXT: until it is listed (it is, once its events are committed; at most 60 s)
wait_pending() {
	n=0
	while [ -z "$(pending_id "$1")" ]; do
		n=$((n + 1)); [ $n -lt 600 ] || return 1; sleep 0.1
	done
}

test_start_daemon --policy "$TMP/esc.policy" -o escalation_timeout=120 -o threads=4

test_expect_success 'an escalated request waits: reads block, O_NONBLOCK gets EAGAIN, lookups answer' '
	(cd "$PROJ" && echo "deploy-tool push config.yaml" >"$MNT/requests/e1") &&
	wait_pending "deploy-tool push config.yaml" &&
	! dd if="$MNT/results/e1" iflag=nonblock of=/dev/null 2>err &&
	grep -q "Resource temporarily unavailable" err &&
	ls -l "$MNT/results/e1" >/dev/null && ls "$MNT/results" | grep -qx e1 &&
	{ cat "$MNT/results/e1" >e1.out & reader=$!; } &&
	sleep 0.5 && kill -0 $reader && [ ! -s e1.out ] &&
	id=$(pending_id "deploy-tool push config.yaml") &&
	ctl approve "$id" --reason "checked the config" >out &&
	grep -qx "approved $id: allow" out &&
	wait $reader &&
	[ "$(head -1 e1.out)" = allow ] &&
	grep -qx "tier: human" e1.out && grep -qx "decided_by: $me" e1.out &&
	grep -qx "escalated: t.review" e1.out && grep -qx "rule: t.review" e1.out &&
	grep -qx "reason: approved by $me: checked the config" e1.out &&
	grep -qx "request: $id" e1.out
'

test_expect_success 'pending lists what waits, with its context' '
	(cd "$PROJ" && echo "deploy-tool push --force config.yaml" >"$MNT/requests/e2") &&
	wait_pending "deploy-tool push --force config.yaml" &&
	id=$(pending_id "deploy-tool push --force config.yaml") &&
	ctl pending >out &&
	grep -q "^$id  pending .* ago, deadline in [0-9ms]*  sid:[0-9]* (uid $(id -u), $me)$" out &&
	grep -qx "  cwd: $PROJ" out &&
	grep -qx "  escalated by: t.review (policy)" out &&
	grep -qx "  reason: needs review by a person: deploying is for a person to approve" out &&
	grep -qx "  experts: quorum 1, votes 0; offered to -; claimed by -" out &&
	grep -q "^  needs: .*deploy" out &&
	grep -qx "  context: $MNT/context/$id/" out || { cat out; exit 1; }
'

test_expect_success 'context/ID: manifest, the request as written, the files it touches as they were' '
	id=$(pending_id "deploy-tool push --force config.yaml") &&
	ls "$MNT/context" | grep -qx "$id" &&
	ls "$MNT/context/$id" | tr "\n" " " | grep -qx "files manifest.json recent request " &&
	m="$MNT/context/$id/manifest.json" &&
	"$TEST_TOOL" json request <"$m" | grep -qx "$id" &&
	"$TEST_TOOL" json name <"$m" | grep -qx e2 &&
	"$TEST_TOOL" json state <"$m" | grep -qx pending &&
	"$TEST_TOOL" json input <"$m" | grep -qx "deploy-tool push --force config.yaml" &&
	"$TEST_TOOL" json cwd <"$m" | grep -qx "$PROJ" &&
	"$TEST_TOOL" json caller <"$m" | grep -q "\"uid\":$(id -u)" &&
	"$TEST_TOOL" json escalated_by <"$m" | grep -q "\"rule\":\"t.review\"" &&
	"$TEST_TOOL" json time <"$m" | grep -q "^20[0-9-]*T" &&
	"$TEST_TOOL" json deadline <"$m" | grep -q "^20[0-9-]*T" &&
	"$TEST_TOOL" json files <"$m" | grep -q "\"path\":\"$PROJ/config.yaml\",\"access\":\"read\",\"kind\":\"file\",\"copy\":\"files/config.yaml\"" &&
	[ "$(cat "$MNT/context/$id/request")" = "deploy-tool push --force config.yaml" ] &&
	echo "replicas: 300" >"$PROJ/config.yaml" &&
	[ "$(cat "$MNT/context/$id/files/config.yaml")" = "replicas: 3" ] &&
	ctl approve "$id" >/dev/null && [ "$(decision e2)" = allow ]
'

test_expect_success 'a secret the request touches is named, never copied; recent shows the agent before' '
	printf "{\"session_id\":\"s-ctx\",\"cwd\":\"%s\",\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"git status\"}}" "$PROJ" >"$MNT/requests/c0" &&
	[ "$(decision c0)" = allow ] &&
	printf "{\"session_id\":\"s-ctx\",\"cwd\":\"%s\",\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"deploy-tool push .env\"}}" "$PROJ" >"$MNT/requests/c1" &&
	wait_pending "deploy-tool push .env" &&
	id=$(pending_id "deploy-tool push .env") &&
	"$TEST_TOOL" json files <"$MNT/context/$id/manifest.json" | grep -q "\"path\":\"$PROJ/.env\",\"access\":\"read\",\"kind\":\"withheld\"" &&
	! ls "$MNT/context/$id/files" | grep -q . &&
	! grep -rq hunter2 "$MNT/context/$id/" &&
	grep -q "^[0-9]*  20.*  allow  dev.git  Bash: git status$" "$MNT/context/$id/recent" &&
	"$TEST_TOOL" json agent <"$MNT/context/$id/manifest.json" | grep -qx s-ctx
'

test_expect_success 'deny says why; a decision is final; bad ids and a deny without a reason are refused' '
	id=$(pending_id "deploy-tool push .env") &&
	{ cat "$MNT/results/c1" >c1.out & reader=$!; } &&
	{ ctl deny "$id" >out 2>&1; [ $? -eq 2 ]; } && grep -q "^usage: lighthousectl deny ID --reason TEXT" out &&
	ctl deny "$id" --reason "no secrets out of the project" >out &&
	wait $reader && [ "$(head -1 c1.out)" = deny ] &&
	grep -qx "reason: denied by $me: no secrets out of the project" c1.out &&
	{ ctl approve "$id" >out; [ $? -eq 1 ]; } && grep -qx "error: request $id is decided already" out &&
	{ ctl approve 999999 >out; [ $? -eq 1 ]; } && grep -q "^error: request 999999 is not escalated" out &&
	! ctl pending | grep -q "^$id "
'

test_expect_success 'a decision is an event: who, what, why' '
	id=$(sed -n "s/^request: //p" c1.out) &&
	ctl events --request "$id" --json >ev &&
	grep "\"type\":\"verdict\"" ev | grep -q "\"escalated\":true" &&
	grep "\"type\":\"escalation\"" ev | grep -q "\"to\":\"human\"" &&
	grep "\"type\":\"escalation\"" ev | grep -q "\"rule\":\"t.review\"" &&
	grep "\"type\":\"decision\"" ev | grep -q "\"decision\":\"deny\",\"by\":\"human\",\"who\":\"$me\""
'

test_expect_success 'the deadline ends in deny, and the reason says so' '
	ctl config escalation_timeout 1 >/dev/null &&
	echo "deploy-tool rollout" >"$MNT/requests/late" &&
	cat "$MNT/results/late" >out &&
	ctl config escalation_timeout 120 >/dev/null &&
	[ "$(head -1 out)" = deny ] &&
	grep -qx "tier: limit" out && grep -qx "rule: escalation.timeout" out &&
	grep -q "^reason: no decision within 1 s: the escalation timed out (needs review by a person: deploying" out &&
	grep -qx "decided_by: timeout" out
'

test_expect_success 'escalation_timeout 0: escalate is answered at once as ask' '
	ctl config escalation_timeout 0 >/dev/null &&
	echo "deploy-tool status" >"$MNT/requests/off" &&
	head -1 "$MNT/results/off" >out &&
	ctl config escalation_timeout 120 >/dev/null &&
	[ "$(cat out)" = ask ] && field off reason | grep -q "^needs review by a person"
'

test_expect_success 'many escalations wait at once without a thread each; the mount still answers' '
	i=0; while [ $i -lt 40 ]; do
		echo "deploy-tool push shard-$i" >"$MNT/requests/m$i" &&
		{ cat "$MNT/results/m$i" >"m$i.out" & echo $! >>readers; } || exit 1
		i=$((i + 1))
	done &&
	n=0; while [ "$(ctl pending | grep -c "^[0-9]*  pending")" -lt 40 ]; do
		n=$((n + 1)); [ $n -lt 600 ] || exit 1; sleep 0.1; done &&
	grep -q "^lighthouse_escalations_pending 40$" "$MNT/stats" &&
	# four FUSE threads at most (-o threads=4), forty reads parked: no thread each
	echo ls >"$MNT/requests/alive" && [ "$(decision alive)" = allow ] &&
	for id in $(ctl pending | awk "/^[0-9]/ { print \$1 }"); do
		ctl approve "$id" >/dev/null || exit 1
	done &&
	for p in $(cat readers); do wait $p || exit 1; done &&
	[ "$(cat m*.out | grep -cx allow)" -eq 40 ] &&
	ctl pending | grep -qx "nothing pending"
'

test_stop_daemon

test_done

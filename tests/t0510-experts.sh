#!/bin/sh
# t0510-experts: expert agents -- shell scripts here -- register under
# experts/, see their queue, claim by rename, decide by writing; routing by
# capability and load, claim expiry, quorum, a person's decision winning.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
require_fuse

cat >"$TMP/esc.policy" <<\EOP
include builtin:default
rule t.deploy escalate
  command deploy-tool
  tags deploy
  reason deploying is for a person to approve
rule t.db escalate
  command mydb
  tags database
  reason dropping tables needs a look
rule t.quorum escalate
  command launch-tool
  tags deploy
  quorum 2
  reason launching needs two experts
rule t.nobody escalate
  command odd-tool
  reason nobody knows this one
EOP
me=$(id -un)

# expert NAME DECISION [REMEMBER]: a scripted expert agent. It waits for its
# queue (experts/NAME/next), claims what comes (mv queue/ID inprogress/),
# answers DECISION, and stops when it is unregistered (rmdir) or unmounted.
expert() {
	dir="$MNT/experts/$1"
	while id=$(head -1 "$dir/next" 2>/dev/null) && [ -n "$id" ]; do
		mv "$dir/queue/$id" "$dir/inprogress/$id" 2>/dev/null || continue
		{ echo "$2"; echo "reason: $1 looked at request $id"; [ -z "${3:-}" ] || echo "remember: $3"; } \
			>"$dir/inprogress/$id" 2>/dev/null || continue
		echo "$id" >>"$TMP/$1.decided"
	done
}

# until_ok COMMAND: poll (at most 60 s) until COMMAND succeeds
until_ok() {
	n=0
	while ! eval "$1"; do
		n=$((n + 1)); [ $n -lt 600 ] || { echo "gave up waiting for: $1"; return 1; }; sleep 0.1
	done
}

# the id a request got, once its escalation is listed
pending_id() {
	ctl pending | awk -v t="  Bash: $1" '/^[0-9]/ { id = $1 } $0 == t { print id }'
}

test_start_daemon --policy "$TMP/esc.policy" -o escalation_timeout=120

test_expect_success 'an expert registers with mkdir and its capabilities file, or with lighthousectl' '
	mkdir "$MNT/experts/sec" && echo "deploy, security" >"$MNT/experts/sec/capabilities" &&
	[ "$(cat "$MNT/experts/sec/capabilities")" = "deploy security" ] &&
	[ "$(ls "$MNT/experts/sec" | tr "\n" " ")" = "capabilities inprogress next queue " ] &&
	ctl expert add dba --caps database,git >out && grep -qx "expert dba: database git" out &&
	ctl expert list >out &&
	grep -q "^sec  queued 0  in progress 0  decided 0  capabilities: deploy security$" out &&
	grep -q "^dba  queued 0  in progress 0  decided 0  capabilities: database git$" out &&
	ls "$MNT/experts" | grep -qx dba &&
	! mkdir "$MNT/experts/sec" 2>/dev/null && ! mkdir "$MNT/experts/a b" 2>/dev/null
'

test_expect_success 'escalations go to the experts whose capabilities they need; O_NONBLOCK next: EAGAIN' '
	! dd if="$MNT/experts/sec/next" iflag=nonblock of=/dev/null 2>err &&
	grep -q "Resource temporarily unavailable" err &&
	echo "deploy-tool push web" >"$MNT/requests/d1" &&
	echo "mydb drop users" >"$MNT/requests/b1" &&
	echo "odd-tool run" >"$MNT/requests/o1" &&
	until_ok "[ -n \"\$(pending_id \"odd-tool run\")\" ]" &&
	d=$(pending_id "deploy-tool push web") && b=$(pending_id "mydb drop users") &&
	o=$(pending_id "odd-tool run") &&
	[ "$(ls "$MNT/experts/sec/queue")" = "$d" ] && [ "$(ls "$MNT/experts/dba/queue")" = "$b" ] &&
	[ "$(head -1 "$MNT/experts/sec/next")" = "$d" ] &&
	# a read shorter than the queue gets what fits, not an I/O error
	[ "$(dd if="$MNT/experts/sec/next" bs=1 count=1 2>/dev/null)" = "$(printf %s "$d" | cut -c1)" ] &&
	grep -qx "request: $d" "$MNT/experts/sec/queue/$d" &&
	grep -qx "input: deploy-tool push web" "$MNT/experts/sec/queue/$d" &&
	grep -qx "escalated_by: t.deploy (policy)" "$MNT/experts/sec/queue/$d" &&
	grep -qx "context: $MNT/context/$d/" "$MNT/experts/sec/queue/$d" &&
	ctl pending | grep -A6 "^$o " | grep -qx "  experts: quorum 1, votes 0; offered to -; claimed by -" &&
	"$TEST_TOOL" json offered_to <"$MNT/context/$d/manifest.json" | grep -qx "\[\"sec\"\]"
'

test_expect_success 'claim by rename, atomically; decide by writing; the agent reads it' '
	d=$(pending_id "deploy-tool push web") &&
	! mv "$MNT/experts/sec/queue/$d" "$MNT/experts/dba/inprogress/$d" 2>/dev/null &&
	mv "$MNT/experts/sec/queue/$d" "$MNT/experts/sec/inprogress/$d" &&
	! mv "$MNT/experts/sec/queue/$d" "$MNT/experts/sec/inprogress/$d" 2>/dev/null &&
	[ -z "$(ls "$MNT/experts/sec/queue")" ] && [ "$(ls "$MNT/experts/sec/inprogress")" = "$d" ] &&
	grep -q "^claimed_until: 20" "$MNT/experts/sec/inprogress/$d" &&
	ctl pending | grep -A6 "^$d " | grep -qx "  experts: quorum 1, votes 0; offered to -; claimed by sec" &&
	! echo maybe >"$MNT/experts/sec/inprogress/$d" 2>err &&
	! printf "allow\nbecause: I say so\n" >"$MNT/experts/sec/inprogress/$d" 2>>err &&
	[ -n "$(pending_id "deploy-tool push web")" ] &&
	printf "allow\nreason: web is stateless\n" >"$MNT/experts/sec/inprogress/$d" &&
	cat "$MNT/results/d1" >out &&
	[ "$(head -1 out)" = allow ] && grep -qx "tier: expert" out && grep -qx "decided_by: sec" out &&
	grep -qx "reason: allowed by expert sec: web is stateless" out &&
	[ -z "$(ls "$MNT/experts/sec/inprogress")" ] &&
	ctl expert list | grep -q "^sec  queued 0  in progress 0  decided 1 "
'

test_expect_success 'a decision may be a JSON object; an expert decision is an event' '
	b=$(pending_id "mydb drop users") &&
	mv "$MNT/experts/dba/queue/$b" "$MNT/experts/dba/inprogress/" &&
	echo "{\"decision\":\"deny\",\"reason\":\"users is not a scratch table\"}" >"$MNT/experts/dba/inprogress/$b" &&
	[ "$(decision b1)" = deny ] && field b1 reason | grep -qx "denied by expert dba: users is not a scratch table" &&
	ctl events --request "$b" --json | grep "\"type\":\"decision\"" |
		grep -q "\"decision\":\"deny\",\"by\":\"expert\",\"who\":\"dba\""
'

test_expect_success 'a person decides what no expert can take; human decisions win over experts' '
	o=$(pending_id "odd-tool run") && ctl approve "$o" >/dev/null && [ "$(decision o1)" = allow ] &&
	echo "deploy-tool push api" >"$MNT/requests/d2" &&
	until_ok "[ -n \"\$(ls \"$MNT/experts/sec/queue\")\" ]" &&
	d=$(ls "$MNT/experts/sec/queue") && mv "$MNT/experts/sec/queue/$d" "$MNT/experts/sec/inprogress/" &&
	ctl deny "$d" --reason "not during the freeze" >/dev/null &&
	[ "$(decision d2)" = deny ] && field d2 tier | grep -qx human &&
	[ -z "$(ls "$MNT/experts/sec/inprogress")" ] &&
	! echo allow >"$MNT/experts/sec/inprogress/$d" 2>/dev/null &&
	[ "$(decision d2)" = deny ]
'

test_expect_success 'scripted experts answer as requests come; load is shared between equals' '
	mkdir "$MNT/experts/sec2" && echo deploy >"$MNT/experts/sec2/capabilities" &&
	echo "deploy-tool push a" >"$MNT/requests/l1" && echo "deploy-tool push b" >"$MNT/requests/l2" &&
	until_ok "[ -n \"\$(pending_id \"deploy-tool push b\")\" ]" &&
	[ "$(ls "$MNT/experts/sec/queue" | wc -l)" -eq 1 ] && [ "$(ls "$MNT/experts/sec2/queue" | wc -l)" -eq 1 ] &&
	{ expert sec allow & a=$!; } && { expert sec2 allow & b=$!; } &&
	i=0; while [ $i -lt 6 ]; do echo "deploy-tool push s$i" >"$MNT/requests/s$i"; i=$((i + 1)); done &&
	for n in l1 l2 s0 s1 s2 s3 s4 s5; do [ "$(decision $n)" = allow ] || exit 1; done &&
	rmdir "$MNT/experts/sec2" && wait $b && mkdir "$MNT/experts/sec2" && echo deploy >"$MNT/experts/sec2/capabilities" &&
	rmdir "$MNT/experts/sec" && wait $a &&
	[ "$(cat "$TMP/sec.decided" "$TMP/sec2.decided" | wc -l)" -eq 8 ] &&
	[ -s "$TMP/sec.decided" ] && [ -s "$TMP/sec2.decided" ]
'

test_expect_success 'a claim not decided in time goes back to the queue, to another expert' '
	ctl config claim_timeout 1 >/dev/null &&
	mkdir "$MNT/experts/slow" && echo deploy >"$MNT/experts/slow/capabilities" &&
	echo "deploy-tool push slowly" >"$MNT/requests/x1" &&
	until_ok "[ -n \"\$(ls \"$MNT/experts/slow/queue\" \"$MNT/experts/sec2/queue\")\" ]" &&
	id=$(pending_id "deploy-tool push slowly") &&
	{ mv "$MNT/experts/slow/queue/$id" "$MNT/experts/slow/inprogress/" 2>/dev/null ||
	  mv "$MNT/experts/sec2/queue/$id" "$MNT/experts/slow/inprogress/" 2>/dev/null ||
	  { rm "$MNT/experts/sec2/queue/$id" && until_ok "[ -e \"$MNT/experts/slow/queue/$id\" ]" &&
	    mv "$MNT/experts/slow/queue/$id" "$MNT/experts/slow/inprogress/"; }; } &&
	[ "$(ls "$MNT/experts/slow/inprogress")" = "$id" ] &&
	until_ok "[ -e \"$MNT/experts/sec2/queue/$id\" ]" &&
	[ -z "$(ls "$MNT/experts/slow/inprogress")" ] &&
	! echo allow >"$MNT/experts/slow/inprogress/$id" 2>/dev/null &&
	ctl config claim_timeout 60 >/dev/null &&
	mv "$MNT/experts/sec2/queue/$id" "$MNT/experts/sec2/inprogress/" &&
	echo deny >"$MNT/experts/sec2/inprogress/$id" &&
	[ "$(decision x1)" = deny ] && field x1 decided_by | grep -qx sec2 &&
	grep -q "^lighthouse_expert_claims_expired_total [1-9]" "$MNT/stats" &&
	ctl events --type escalation.release --json | grep "\"request\":$id" | grep -q "\"why\":\"expired\"" &&
	rmdir "$MNT/experts/slow"
'

test_expect_success 'quorum 2: two experts must agree; when they do not, the more severe stands' '
	mkdir "$MNT/experts/sec" && echo deploy >"$MNT/experts/sec/capabilities" &&
	{ expert sec allow & a=$!; } && { expert sec2 allow & b=$!; } &&
	echo "launch-tool go" >"$MNT/requests/q1" && cat "$MNT/results/q1" >out &&
	[ "$(head -1 out)" = allow ] && grep -qx "tier: expert" out &&
	grep -q "^reason: experts sec[2]*, sec[2]* agree (allow): " out &&
	id=$(sed -n "s/^request: //p" out) &&
	[ "$(ctl events --request "$id" --json | grep "\"type\":\"decision\"" | grep -c "\"vote\":true")" -eq 2 ] &&
	rmdir "$MNT/experts/sec2" && wait $b &&
	mkdir "$MNT/experts/sec2" && echo deploy >"$MNT/experts/sec2/capabilities" &&
	{ expert sec2 deny & b=$!; } &&
	echo "launch-tool go again" >"$MNT/requests/q2" && cat "$MNT/results/q2" >out &&
	[ "$(head -1 out)" = deny ] &&
	grep -q "^reason: experts disagree, the most severe stands: sec[2]* [a-z]* (" out &&
	rmdir "$MNT/experts/sec" "$MNT/experts/sec2" && wait $a && wait $b
'

test_expect_success 'an expert may answer ask: the agent asks its own person' '
	mkdir "$MNT/experts/sec" && echo deploy >"$MNT/experts/sec/capabilities" &&
	echo "deploy-tool push maybe" >"$MNT/requests/a1" &&
	until_ok "[ -n \"\$(ls \"$MNT/experts/sec/queue\")\" ]" &&
	id=$(ls "$MNT/experts/sec/queue") && mv "$MNT/experts/sec/queue/$id" "$MNT/experts/sec/inprogress/" &&
	printf "ask\nreason: only the user knows if now is a good time\n" >"$MNT/experts/sec/inprogress/$id" &&
	cat "$MNT/results/a1" >out && [ "$(head -1 out)" = ask ] &&
	grep -qx "tier: expert" out && grep -qx "decided_by: sec" out &&
	grep -q "only the user knows if now is a good time" out
'

test_expect_success 'the deadline passes while an expert holds the claim: deny, and the claim is gone' '
	ctl config escalation_timeout 6 >/dev/null && ctl config claim_timeout 600 >/dev/null &&
	echo "deploy-tool push forgotten" >"$MNT/requests/t1" &&
	until_ok "[ -n \"\$(ls \"$MNT/experts/sec/queue\")\" ]" &&
	id=$(ls "$MNT/experts/sec/queue") && mv "$MNT/experts/sec/queue/$id" "$MNT/experts/sec/inprogress/" &&
	cat "$MNT/results/t1" >out &&
	ctl config escalation_timeout 120 >/dev/null && ctl config claim_timeout 60 >/dev/null &&
	[ "$(head -1 out)" = deny ] && grep -qx "decided_by: timeout" out &&
	grep -q "^reason: no decision within 6 s: the escalation timed out" out &&
	[ -z "$(ls "$MNT/experts/sec/inprogress")" ] &&
	! echo allow >"$MNT/experts/sec/inprogress/$id" 2>/dev/null &&
	[ "$(decision t1)" = deny ] &&
	rmdir "$MNT/experts/sec"
'

test_expect_success 'an expert unregistered: what it held goes to the others, and to a person' '
	ctl expert remove dba >/dev/null && ! ls "$MNT/experts" | grep -qx dba &&
	echo "mydb drop sessions" >"$MNT/requests/b2" &&
	until_ok "[ -n \"\$(pending_id \"mydb drop sessions\")\" ]" &&
	ctl pending | grep -A6 "^$(pending_id "mydb drop sessions") " | grep -q "offered to -; claimed by -" &&
	ctl approve "$(pending_id "mydb drop sessions")" >/dev/null && [ "$(decision b2)" = allow ]
'

test_stop_daemon

test_done

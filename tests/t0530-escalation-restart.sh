#!/bin/sh
# t0530-escalation-restart: escalations pending when lighthoused stops --
# cleanly or by kill -9 -- are pending again after a restart, under the
# same ids, with the experts, their queues and the votes already cast; one
# whose deadline passed while the daemon was down is denied, saying so.
# None is lost, none is allowed by default.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
require_fuse

cat >"$TMP/esc.policy" <<\EOP
include builtin:default
rule t.deploy escalate
  command deploy-tool
  tags deploy
  reason deploying is for a person to approve
rule t.quorum escalate
  command launch-tool
  tags deploy
  quorum 2
  reason launching needs two experts
EOP

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

# expert NAME DECISION: a scripted expert (see t0510); it stops when it is
# unregistered or the mount goes away
expert() {
	dir="$MNT/experts/$1"
	while id=$(head -1 "$dir/next" 2>/dev/null) && [ -n "$id" ]; do
		mv "$dir/queue/$id" "$dir/inprogress/$id" 2>/dev/null || continue
		printf '%s\nreason: %s looked again\n' "$2" "$1" >"$dir/inprogress/$id" 2>/dev/null || continue
	done
}

test_start_daemon --policy "$TMP/esc.policy" -o escalation_timeout=120

test_expect_success 'before the stop: a claim, an offer, one vote of two, a short deadline' '
	mkdir "$MNT/experts/sec" && echo deploy >"$MNT/experts/sec/capabilities" &&
	mkdir "$MNT/experts/sec2" && echo deploy >"$MNT/experts/sec2/capabilities" &&
	echo "deploy-tool push claimed" >"$MNT/requests/c1" &&
	echo "deploy-tool push offered" >"$MNT/requests/o1" &&
	echo "launch-tool go" >"$MNT/requests/q1" &&
	until_ok "[ -n \"\$(pending_id \"launch-tool go\")\" ]" &&
	until_ok "[ -n \"\$(pending_id \"deploy-tool push offered\")\" ]" &&
	c=$(pending_id "deploy-tool push claimed") && [ -n "$c" ] &&
	for x in sec sec2; do [ ! -e "$MNT/experts/$x/queue/$c" ] || who=$x; done &&
	mv "$MNT/experts/$who/queue/$c" "$MNT/experts/$who/inprogress/" &&
	q=$(pending_id "launch-tool go") &&
	[ -e "$MNT/experts/sec2/queue/$q" ] && [ -e "$MNT/experts/sec/queue/$q" ] &&
	mv "$MNT/experts/sec2/queue/$q" "$MNT/experts/sec2/inprogress/" &&
	printf "allow\nreason: sec2 says go\n" >"$MNT/experts/sec2/inprogress/$q" &&
	ctl pending | grep -A6 "^$q " | grep -q "^  experts: quorum 2, votes 1 sec2:allow;" &&
	ctl config escalation_timeout 5 >/dev/null &&
	echo "deploy-tool push late" >"$MNT/requests/l1" &&
	until_ok "[ -n \"\$(pending_id \"deploy-tool push late\")\" ]" &&
	ctl config escalation_timeout 120 >/dev/null &&
	l=$(pending_id "deploy-tool push late") &&
	"$TEST_TOOL" json deadline <"$MNT/context/$l/manifest.json" >deadline &&
	printf "%s %s %s %s\n" "$c" "$(pending_id "deploy-tool push offered")" "$q" "$l" >"$TMP/ids"
'

test_stop_daemon

test_expect_success 'a deadline may pass while the daemon is down' '
	end=$(date -d "$(cat deadline)" +%s) && [ -n "$end" ] &&
	until_ok "[ \$(date +%s) -gt $end ]"
'

test_start_daemon --policy "$TMP/esc.policy" -o escalation_timeout=120

test_expect_success 'after a clean restart: the same escalations pending, the late one denied' '
	read c o q l <"$TMP/ids" &&
	[ "$(pending_id "deploy-tool push claimed")" = "$c" ] &&
	[ "$(pending_id "deploy-tool push offered")" = "$o" ] &&
	[ "$(pending_id "launch-tool go")" = "$q" ] &&
	[ -z "$(pending_id "deploy-tool push late")" ] &&
	cat "$MNT/results/l1" >out &&
	[ "$(head -1 out)" = deny ] && grep -qx "request: $l" out &&
	grep -qx "decided_by: timeout" out && grep -qx "rule: escalation.timeout" out &&
	grep -q "^reason: no decision before the deadline, which passed while lighthoused was not running" out &&
	! dd if="$MNT/results/c1" iflag=nonblock of=/dev/null 2>err &&
	grep -q "Resource temporarily unavailable" err &&
	ls "$MNT/experts" | tr "\n" " " | grep -qx "sec sec2 " &&
	[ "$(cat "$MNT/experts/sec/capabilities")" = deploy ] &&
	ctl pending | grep -A6 "^$q " | grep -q "^  experts: quorum 2, votes 1 sec2:allow;" &&
	ls "$MNT/context" | grep -qx "$c" &&
	"$TEST_TOOL" json input <"$MNT/context/$c/manifest.json" | grep -qx "deploy-tool push claimed"
'

test_expect_success 'experts answer what came back; the vote cast before the restart counts' '
	read c o q l <"$TMP/ids" &&
	until_ok "[ -e \"$MNT/experts/sec/queue/$q\" ]" &&
	{ expert sec allow & a=$!; } &&
	cat "$MNT/results/q1" >out && [ "$(head -1 out)" = allow ] &&
	grep -q "^reason: experts sec[2]*, sec[2]* agree (allow): " out &&
	{ expert sec2 allow & b=$!; } &&
	[ "$(decision c1)" = allow ] && [ "$(decision o1)" = allow ] &&
	field c1 tier | grep -qx expert && field o1 request | grep -qx "$o" &&
	rmdir "$MNT/experts/sec" "$MNT/experts/sec2" && wait $a && wait $b &&
	ctl pending | grep -qx "nothing pending" &&
	ctl events --request "$q" --json | grep "\"type\":\"decision\"" | grep -c "\"vote\":true" >n &&
	[ "$(cat n)" -eq 2 ]
'

test_stop_daemon

test_expect_success 'kill -9 with a reader blocked: after the restart the same read is answered' '
	lh_start --policy "$TMP/esc.policy" -o escalation_timeout=120 &&
	echo "deploy-tool push crash" >"$MNT/requests/k1" &&
	until_ok "[ -n \"\$(pending_id \"deploy-tool push crash\")\" ]" &&
	k=$(pending_id "deploy-tool push crash") &&
	{ cat "$MNT/results/k1" >k1.out 2>k1.err & reader=$!; } &&
	kill -KILL "$LH_PID" && { wait "$LH_PID" || true; } && LH_PID= &&
	{ wait $reader; [ $? -ne 0 ]; } && ! grep -q . k1.out &&
	fusermount3 -u "$MNT" &&
	lh_start --policy "$TMP/esc.policy" -o escalation_timeout=120 &&
	[ "$(pending_id "deploy-tool push crash")" = "$k" ] &&
	{ cat "$MNT/results/k1" >k1.out & reader=$!; } &&
	ctl approve "$k" --reason "after the crash" >/dev/null &&
	wait $reader && [ "$(head -1 k1.out)" = allow ] && grep -qx "request: $k" k1.out &&
	grep -q "^reason: approved by .*: after the crash$" k1.out &&
	lh_stop
'

test_expect_success 'a decision committed before a kill -9 is not asked again' '
	lh_start --policy "$TMP/esc.policy" -o escalation_timeout=120 &&
	echo "deploy-tool push once" >"$MNT/requests/d1" &&
	until_ok "[ -n \"\$(pending_id \"deploy-tool push once\")\" ]" &&
	d=$(pending_id "deploy-tool push once") &&
	ctl deny "$d" --reason "not today" >/dev/null && [ "$(decision d1)" = deny ] &&
	kill -KILL "$LH_PID" && { wait "$LH_PID" || true; } && LH_PID= &&
	fusermount3 -u "$MNT" &&
	lh_start --policy "$TMP/esc.policy" -o escalation_timeout=120 &&
	ctl pending | grep -qx "nothing pending" &&
	ctl events --request "$d" --json | grep "\"type\":\"decision\"" >dec &&
	[ "$(wc -l <dec)" -eq 1 ] &&
	lh_stop
'

test_done

#!/bin/sh
# t0240-agents: who asks is recorded; one agent's flood is denied (and
# slowed to its retry-after when it does not wait), the others are not; an
# SLA breach is recorded and shown.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
require_fuse

json() { # json SESSION COMMAND [AGENT]
	printf '{"session_id":"%s",%s"cwd":"%s","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"%s"}}' \
		"$1" "${3:+\"agent_id\":\"$3\",}" "$PROJ" "$2"
}

test_start_daemon -o rate_agent=5 -o rate_agent_burst=5 -o sla_p99_us=1 -o sla_window=2

test_expect_success 'an agent is what the request declares, else the writer'"'"'s session' '
	json s-1 "ls" >"$MNT/requests/a1" && head -1 "$MNT/results/a1" >/dev/null &&
	json s-2 "ls" sub-7 >"$MNT/requests/a2" && head -1 "$MNT/results/a2" >/dev/null &&
	echo ls >"$MNT/requests/a3" && head -1 "$MNT/results/a3" >/dev/null &&
	ctl events --type request --json >ev &&
	grep "\"path\":\"a1\"" ev | grep -q "\"agent\":\"s-1\"" &&
	grep "\"path\":\"a2\"" ev | grep -q "\"agent\":\"sub-7\"" &&
	sid=$(ps -o sid= -p $$ | tr -d " ") &&
	grep "\"path\":\"a3\"" ev | grep -q "\"agent\":\"sid:$sid\""
'

test_expect_success 'an agent over its rate is denied at once, with a retry-after hint' '
	i=0; while [ $i -lt 20 ]; do
		json flood "ls" >"$MNT/requests/f$i"; i=$((i + 1)); done &&
	i=0; limited=0; while [ $i -lt 20 ]; do
		if [ "$(field f$i rule)" = rate.agent ]; then limited=$((limited + 1)); fi
		i=$((i + 1)); done &&
	[ $limited -ge 10 ] &&
	field f19 reason | grep -q "^rate limited: agent .flood. is over 5 requests a second; retry after [0-9]* ms" &&
	[ "$(field f19 tier)" = limit ]
'

test_expect_success 'asking again before the retry-after: the answer waits until then' '
	i=0; while [ "$(field f$i rule)" != rate.agent ]; do i=$((i + 1)); done &&
	field f$i reason | grep -q "^rate limited: agent .flood. is over 5 requests a second; retry after [0-9]* ms$" &&
	field f19 reason | grep -q "; retry after [0-9]* ms (this answer was held [0-9]* ms: the agent asked before its last retry-after)$" &&
	grep -q "^lighthouse_rate_held_total [1-9]" "$MNT/stats" &&
	grep -q "^lighthouse_rate_held 0$" "$MNT/stats"
'

test_expect_success 'another agent is not held back by the flood' '
	json calm "ls" >"$MNT/requests/c1" && [ "$(decision c1)" = allow ] &&
	[ "$(field c1 rule)" = dev.read-only ]
'

test_expect_success 'after a pause the flooding agent may ask again' '
	sleep 1.2 && json flood "ls" >"$MNT/requests/f-after" && [ "$(decision f-after)" = allow ]
'

test_expect_success 'rate-limited requests are recorded too, and counted in stats' '
	ctl events --type verdict --json | grep -c "rate.agent" | grep -qv "^0$" &&
	grep -q "^lighthouse_rate_limited_total [1-9]" "$MNT/stats" &&
	grep -q "^lighthouse_agent_requests_total{agent=\"flood\",uid=\"$(id -u)\"} 2[01]$" "$MNT/stats" &&
	grep -q "^lighthouse_agent_rate_limited_total{agent=\"flood\"} [1-9]" "$MNT/stats"
'

test_expect_success 'the per-uid limit holds all agents of a user together' '
	ctl config rate_agent 0 >/dev/null && ctl config rate_uid 3 >/dev/null &&
	ctl config rate_uid_burst 3 >/dev/null && sleep 1.1 &&
	i=0; while [ $i -lt 12 ]; do json "u$i" "ls" >"$MNT/requests/u$i"; i=$((i + 1)); done &&
	i=0; limited=0; while [ $i -lt 12 ]; do
		[ "$(field u$i rule)" = rate.uid ] && limited=$((limited + 1)); i=$((i + 1)); done
	[ $limited -ge 6 ] &&
	ctl config rate_uid 0 >/dev/null
'

test_expect_success 'an SLA breach is recorded as an event and shown by status' '
	i=0; while [ $i -lt 30 ]; do echo "ls $i" >"$MNT/requests/s$i"; i=$((i + 1)); done &&
	n=0; while ! ctl events --type sla.breach | grep -q sla.breach; do
		n=$((n + 1)); [ $n -lt 40 ]; sleep 0.1; done &&
	exec 3<>"$MNT/ctl" && echo status >&3 && cat <&3 >out && exec 3>&- &&
	grep -q "^sla: breached since .* (verdict p99 [0-9]* us > 1 us)$" out &&
	grep -q "^lighthouse_sla_breached 1$" "$MNT/stats"
'

test_stop_daemon

test_done

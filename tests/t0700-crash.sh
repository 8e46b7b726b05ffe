#!/bin/sh
# t0700-crash: kill -9 in the middle of a load of concurrent clients loses
# no verdict any client has read (store/store.c: the durability point). Five rounds on one state directory, each
# in one test (a daemon is waited for by the shell that started it):
# start, load, SIGKILL, restart on the same state, check, verify, stop.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
require_fuse

ROUNDS=5
CLIENTS=32

for round in $(seq 1 $ROUNDS); do
	test_expect_success "round $round: SIGKILL under $CLIENTS clients; after a restart every verdict read is in the store" '
		r='$round' &&
		lh_start &&
		{ "$TEST_TOOL" crash-clients "$MNT" '$CLIENTS' 30 "$TMP/read.$r" >"$TMP/clients.$r" & } &&
		cpid=$! &&
		n=0 && while [ "$(sed -n "s/^lighthouse_store_events_total //p" "$MNT/stats")" -lt 2000 ]; do
			n=$((n + 1)); [ $n -lt 200 ] || break; sleep 0.05; done &&
		kill -KILL "$LH_PID" && { wait "$LH_PID" || true; } &&
		wait $cpid && fusermount3 -u "$MNT" &&
		lh_start &&
		"$TEST_TOOL" crash-check "$STATE" "$TMP/read.$r" >"$TMP/check.$r" &&
		cat "$TMP/clients.$r" && tail -n 1 "$TMP/check.$r" &&
		grep -q "^read [1-9][0-9]* found [1-9][0-9]* missing 0 differ 0$" "$TMP/check.$r" &&
		grep -q "^verdicts [1-9][0-9]* disconnected '$CLIENTS' other_errors 0$" "$TMP/clients.$r" &&
		! grep -v "^[0-9]* [a-z]*$" "$TMP/read.$r" &&
		ctl verify >"$TMP/verify.$r" && grep -q "^ok: .* the chain intact" "$TMP/verify.$r" &&
		echo "ls" >"$MNT/requests/after$r" && [ "$(decision after$r)" = allow ] &&
		lh_stop
	'
	say "round $round: clients: $(cat "$TMP/clients.$round" 2>/dev/null); store: $(tail -n 1 "$TMP/check.$round" 2>/dev/null)"
done

# Verdicts are released at the journal append, before the commit: a kill
# under load leaves records the database lacks, and the restart replays them.
test_expect_success 'the restarts replayed the journal (what the kills left uncommitted)' '
	grep "replayed [0-9]* events from the journal" "$LH_LOG" >replays &&
	cat replays && [ "$(wc -l <replays)" -ge 1 ]
'
say "journal replays: $(grep -c "replayed [0-9]* events from the journal" "$LH_LOG")"

test_expect_success 'the store holds every round, in one chain' '
	[ $(ctl events --type daemon.start | wc -l) = $((2 * ROUNDS)) ] &&
	[ $(ctl events --type daemon.stop | wc -l) = $ROUNDS ] &&
	ctl verify | grep -q "^ok: [0-9]* events, seq 1 to [0-9]*, 0 gaps"
'

test_done

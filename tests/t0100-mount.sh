#!/bin/sh
# t0100-mount: lighthoused mounts the whole tree, serves stats and ctl,
# and shuts down cleanly.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
require_fuse

test_expect_success 'mounts with only a mount point (defaults for state, policy, project)' '
	export XDG_STATE_HOME="$TMP/xdg" &&
	(cd "$PROJ" && exec "$LIGHTHOUSED" -f "$MNT") >"$LH_LOG" 2>&1 &
	pid=$!
	echo $pid >"$TMP/lh.pid"
	n=0; while ! grep -q "^lighthouse_up 1" "$MNT/stats" 2>/dev/null; do
		n=$((n + 1)); [ $n -lt 200 ] && kill -0 $pid; sleep 0.05; done
	echo "git status" >"$MNT/requests/first" &&
	[ "$(head -1 "$MNT/results/first")" = allow ] &&
	[ -f "$TMP/xdg/lighthouse/events.db" ] &&
	grep -q "(project $PROJ, state $TMP/xdg/lighthouse)" "$LH_LOG" &&
	fusermount3 -u "$MNT" && wait $pid
'

test_start_daemon

test_expect_success 'the tree has every folder of the brief, and they list' '
	for d in requests results current history shadows context experts streams policy; do
		[ -d "$MNT/$d" ] || { echo "missing $d"; exit 1; }
		ls "$MNT/$d" >/dev/null
	done &&
	[ -f "$MNT/stats" ] && [ -f "$MNT/ctl" ] && [ -f "$MNT/policy/active" ] &&
	[ -z "$(ls "$MNT/current")" ] && [ "$(ls "$MNT/history")" = latest ] &&
	[ "$(ls "$MNT/streams" | tr "\n" " ")" = "all escalations files requests verdicts " ]
'

test_expect_success 'policy/active shows the policy in force' '
	grep -q "^rule fs.rm-broad deny" "$MNT/policy/active"
'

test_expect_success 'stats is Prometheus text with the metrics the brief names' '
	echo "rm -rf /" >"$MNT/requests/m1" && cat "$MNT/results/m1" >/dev/null &&
	cat "$MNT/stats" >stats.txt &&
	grep -q "^# TYPE lighthouse_verdicts_total counter" stats.txt &&
	grep -q "^lighthouse_verdicts_total{decision=\"deny\"} [1-9]" stats.txt &&
	grep -q "^lighthouse_verdicts_by_tier_total{tier=\"policy\"} [1-9]" stats.txt &&
	grep -q "^lighthouse_cache_misses_total [1-9]" stats.txt &&
	grep -q "^lighthouse_verdict_latency_microseconds_bucket{kind=\"fresh\",le=\"+Inf\"} [1-9]" stats.txt &&
	grep -q "^lighthouse_fuse_handler_microseconds_count{op=\"lookup\"} [1-9]" stats.txt &&
	grep -q "^lighthouse_store_events_total [1-9]" stats.txt &&
	grep -q "^lighthouse_store_batch_size_count [1-9]" stats.txt &&
	grep -q "^lighthouse_fuse_requests_total{op=\"create\"} [1-9]" stats.txt &&
	! grep -v -E "^(#|lighthouse_[a-z0-9_]+(\{[a-z]+=\"[^\"]*\"(,[a-z]+=\"[^\"]*\")*\})? [-0-9.e+]+$)" stats.txt
'

test_expect_success 'ctl answers status and rejects unknown commands' '
	exec 3<>"$MNT/ctl" && echo status >&3 && cat <&3 >out && exec 3>&- &&
	grep -q "^mounted: $MNT" out && grep -q "^events_stored: [1-9]" out &&
	exec 3<>"$MNT/ctl" && echo frobnicate >&3 && cat <&3 >out && exec 3>&- &&
	grep -q "^error: unknown command .frobnicate." out
'

test_expect_success 'directories refuse what they cannot hold' '
	! mkdir "$MNT/requests/dir" 2>err && grep -q "Operation not permitted" err &&
	! touch "$MNT/newfile" 2>err && grep -q "Permission denied" err &&
	! sh -c "echo x >$MNT/results/r1" 2>err && grep -q "Permission denied" err &&
	! rm -f "$MNT/stats" 2>err
'

test_stop_daemon

test_expect_success 'SIGTERM stops the daemon with exit status 0 and records the stop' '
	lh_start && kill -TERM "$LH_PID" && rc=0 && { wait "$LH_PID" || rc=$?; } &&
	{ [ $rc -eq 0 ] || { echo "lighthoused exited $rc:"; cat "$LH_LOG"; false; }; } &&
	! grep -q " $MNT " /proc/mounts &&
	"$LIGHTHOUSECTL" --state "$STATE" events --type daemon.stop | grep -q daemon.stop
'

# The kernel sends RELEASE after close() returns and may drop it when the
# mount goes: the daemon frees what is still open as it stops (the sanitizer
# build fails the exit status of a daemon that leaks them).
test_expect_success 'a daemon stopped while files of every kind are open exits 0' '
	lh_start && echo x >"$MNT/current/held" && recorded &&
	exec 3<"$MNT/history/latest" 4<>"$MNT/requests/held" 5<"$MNT/streams/all" \
		6<"$MNT/current/held" 7<"$MNT/current" 8<"$MNT/shadows/held.json" \
		9<"$MNT/history/latest/held" &&
	kill -TERM "$LH_PID" && rc=0 && { wait "$LH_PID" || rc=$?; } && LH_PID= &&
	exec 3<&- 4<&- 5<&- 6<&- 7<&- 8<&- 9<&- &&
	{ [ $rc -eq 0 ] || { echo "lighthoused exited $rc:"; cat "$LH_LOG"; false; }; } &&
	! grep -q " $MNT " /proc/mounts
'

test_expect_success 'SIGHUP reloads the policy, a broken one is refused and kept out' '
	cp "$srcdir/validator/default.policy" "$TMP/p.policy" &&
	lh_start --policy "$TMP/p.policy" &&
	echo "docker ps" >"$MNT/requests/d1" && [ "$(head -1 "$MNT/results/d1")" = allow ] &&
	printf "rule local.docker deny\n  command docker\n" >>"$TMP/p.policy" &&
	kill -HUP "$LH_PID" && sleep 1.5 &&
	echo "docker ps" >"$MNT/requests/d2" && [ "$(head -1 "$MNT/results/d2")" = deny ] &&
	echo "rule broken" >>"$TMP/p.policy" &&
	kill -HUP "$LH_PID" && sleep 1.5 &&
	echo "docker ps" >"$MNT/requests/d3" && [ "$(head -1 "$MNT/results/d3")" = deny ] &&
	"$LIGHTHOUSECTL" --state "$STATE" events --type policy.reject | grep -q "p.policy:[0-9]*: .rule. needs an id and an action" &&
	lh_stop
'

test_expect_success 'start-up errors reach the terminal and the exit status' '
	! "$LIGHTHOUSED" --state "$STATE" "$TMP/nosuchdir" 2>err && grep -q "mount point .*No such file" err &&
	echo "rule x" >"$TMP/bad.policy" &&
	! "$LIGHTHOUSED" --state "$STATE" --policy "$TMP/bad.policy" "$MNT" 2>err &&
	grep -q "bad.policy:1: .rule. needs an id" err &&
	mkdir -p "$TMP/junk" && echo junk >"$TMP/junk/events.db" &&
	! "$LIGHTHOUSED" --state "$TMP/junk" "$MNT" 2>err &&
	grep -q "is not a Lighthouse event store" err &&
	! grep -q " $MNT " /proc/mounts
'

test_expect_success 'daemonizes by default and still reports success' '
	before=$(ctl events --type daemon.stop | wc -l) &&
	(cd "$PROJ" && "$LIGHTHOUSED" --state "$STATE" "$MNT") &&
	echo ls >"$MNT/requests/bg" && [ "$(head -1 "$MNT/results/bg")" = allow ] &&
	fusermount3 -u "$MNT" &&
	n=0; while [ "$(ctl events --type daemon.stop | wc -l)" -le "$before" ]; do
		n=$((n + 1)); [ $n -lt 100 ]; sleep 0.05; done
'

test_done

#!/bin/sh
# t0230-expiry: old verdicts leave results/ but stay in the store.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
require_fuse

test_start_daemon -o result_ttl=1

test_expect_success 'a judged name disappears after result_ttl' '
	echo "rm -rf /" >"$MNT/requests/old" && id=$(field old request) &&
	[ -f "$MNT/results/old" ] &&
	n=0; while [ -e "$MNT/results/old" ] && [ $n -lt 60 ]; do sleep 0.1; n=$((n + 1)); done &&
	[ ! -e "$MNT/results/old" ] && [ ! -e "$MNT/requests/old" ] &&
	! ls "$MNT/results" | grep -qx old &&
	ctl events --request $id | grep -q verdict &&
	grep -q "^lighthouse_results_expired_total [1-9]" "$MNT/stats"
'

test_expect_success 'an open request is not expired' '
	exec 5>"$MNT/requests/held" && printf ls >&5 && sleep 2.5 &&
	[ -e "$MNT/requests/held" ] && exec 5>&- && [ "$(decision held)" = allow ]
'

test_expect_success 'the TTL can be changed at run time' '
	ctl config result_ttl 3600 | grep -qx "result_ttl 3600" &&
	echo ls >"$MNT/requests/kept" && sleep 2.2 && [ -e "$MNT/results/kept" ]
'

test_stop_daemon

test_done

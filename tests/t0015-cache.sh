#!/bin/sh
# t0015-cache: the verdict cache is bounded in entries and bytes, keyed by
# everything a verdict depends on, and counts per tier; stats shows it.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

test_expect_success 'bounds, generations, flags, per-tier counters, keys' '
	"$TEST_TOOL" cache
'

if [ -c /dev/fuse ] && [ -x "$LIGHTHOUSED" ]; then
	test_start_daemon

	test_expect_success 'stats shows the cache bytes and its counters by tier' '
		echo "rm -rf /" >"$MNT/requests/c1" && head -1 "$MNT/results/c1" | grep -qx deny &&
		echo "rm -rf /" >"$MNT/requests/c2" && head -1 "$MNT/results/c2" | grep -qx deny &&
		cat "$MNT/stats" >stats.txt &&
		grep -q "^lighthouse_cache_bytes [1-9]" stats.txt &&
		grep -q "^lighthouse_cache_max_bytes [1-9]" stats.txt &&
		grep -q "^# TYPE lighthouse_cache_hits_by_tier_total counter" stats.txt &&
		grep -q "^lighthouse_cache_hits_by_tier_total{tier=\"policy\"} [1-9]" stats.txt &&
		grep -q "^lighthouse_cache_misses_by_tier_total{tier=\"policy\"} [1-9]" stats.txt &&
		grep -q "^lighthouse_cache_evictions_by_tier_total{tier=\"risk\"} 0" stats.txt
	'

	test_stop_daemon
else
	say "no FUSE here: the stats part is not run"
fi

test_done

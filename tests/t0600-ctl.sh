#!/bin/sh
# t0600-ctl: lighthousectl, as an admin uses it.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
require_fuse

test_expect_success 'status without a daemon says not mounted and exits 1' '
	! ctl status >out && grep -q "^mounted: no" out
'

test_start_daemon

test_expect_success 'status of a running daemon' '
	echo "rm -rf /" >"$MNT/requests/a" && head -1 "$MNT/results/a" >/dev/null &&
	echo "ls" >"$MNT/requests/b" && head -1 "$MNT/results/b" >/dev/null &&
	echo "ls" >"$MNT/requests/c" && head -1 "$MNT/results/c" >/dev/null &&
	ctl status >out &&
	grep -qx "mounted: yes ($MNT)" out && grep -q "^uptime: [0-9]*s$" out &&
	grep -qx "requests: 3" out && grep -qx "decisions: allow 2, ask 0, deny 1" out &&
	grep -q "^cache_hit_ratio: 0.333 (1 hits, 2 misses)$" out &&
	grep -q "^events_stored: [1-9]" out
'

test_expect_success 'status finds the mount by itself, or asks for -m when there are several' '
	# other test scripts may have mounts of their own at the same time
	"$LIGHTHOUSECTL" --state "$STATE" status >out 2>err || true
	grep -qx "mounted: yes ($MNT)" out ||
	{ grep -qx "mounted: no" out && grep -q "Lighthouse mounts.*choose one with -m" err; }
'

test_expect_success 'events prints lines, --json prints JSON lines, filters work' '
	ctl events >out && grep -q " request .* \[a\]  Bash  rm -rf /$" out &&
	grep -q " verdict .* \[a\]  deny  fs.rm-broad  recursive delete" out &&
	ctl events --json >out && while read -r l; do
		echo "$l" | "$TEST_TOOL" json seq >/dev/null || exit 1; done <out &&
	ctl events --type verdict | grep -c verdict | grep -qx 3 &&
	first=$(ctl events --json --limit 1 | "$TEST_TOOL" json seq) &&
	ctl events --since $first --limit 2 --json | head -1 | "$TEST_TOOL" json seq | grep -qx $((first + 1))
'

test_expect_success 'reload and config go through the ctl file' '
	ctl reload | grep -q "^policy loaded: builtin:default, [0-9]* rules, generation 2" &&
	ctl config | grep -qx "result_ttl 600" &&
	ctl config max_results 5000 | grep -qx "max_results 5000" &&
	! ctl config max_request 10 >out && grep -q "set when mounting" out &&
	! ctl config nosuch 1 >out && grep -q "unknown setting" out
'

test_expect_success 'top prints a plain view when not on a terminal' '
	( for i in 1 2 3 4 5 6; do echo "ls $i" >"$MNT/requests/t$i"; head -1 "$MNT/results/t$i" >/dev/null; done ) &&
	ctl top -d 0.2 -n 2 >out &&
	[ "$(grep -c "^lighthouse $MNT " out)" -eq 2 ] &&
	grep -q "req/s" out && grep -q "^verdict latency  p50 " out &&
	grep -q "^AGENT  *REQ/S  *REQUESTS  *DENIED  *RATE-LIMITED$" out &&
	grep -q "^sid:[0-9]*  *[0-9.]*  *[0-9]*  *[0-9]*  *0$" out &&
	ctl top -d 0.1 >out && [ "$(grep -c "^lighthouse $MNT " out)" -eq 1 ]
'

test_expect_success 'policy show prints the policy in force' '
	ctl policy show | grep -q "^rule git.force-push-protected deny"
'

test_expect_success 'usage errors exit 2 and print the usage line' '
	ctl events --since >/dev/null 2>err; [ $? -eq 2 ] && grep -q "^usage: lighthousectl events" err &&
	ctl nosuch >/dev/null 2>err; [ $? -eq 2 ] &&
	ctl check >/dev/null 2>err; [ $? -eq 2 ]
'

test_expect_success 'every usage line appears in the SYNOPSIS of lighthousectl(8)' '
	command -v mandoc >/dev/null || command -v man >/dev/null || { echo "no mandoc and no man"; exit 1; }
	"$LIGHTHOUSECTL" --help | sed -n "s/^  lighthousectl //p" >usages &&
	[ -s usages ] &&
	if command -v mandoc >/dev/null; then
		mandoc -Tascii "$srcdir/man/lighthousectl.8" | col -b | tr -s " " >man.txt
	else
		man -l "$srcdir/man/lighthousectl.8" 2>/dev/null | col -b | tr -s " " >man.txt
	fi &&
	while read -r u; do
		grep -qF -- "lighthousectl $u" man.txt ||
		{ echo "not in the man page: $u"; exit 1; }
	done <usages
'

test_stop_daemon

test_done

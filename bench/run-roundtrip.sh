#!/bin/sh
# run-roundtrip.sh -- lighthoused against a do-nothing FUSE filesystem, side
# by side in one run.
#
#   bench/run-roundtrip.sh [N] [M]        (from the build directory)
#   make bench [BENCH_ARGS="N M"]
#
# Mounts fs/lighthoused (fresh state and project in a temporary folder) and
# bench/nullfs, runs bench/roundtrip on both mounts phase by phase (N
# sequential round trips, default 2000; M concurrent clients for SECS
# seconds, default 16 and 1), runs bench/judge in-process, then prints the
# ratios lighthouse / nullfs. LIGHTHOUSE.md asks for latency ratios of at
# most 1.25 and throughput ratios of at least 0.8.
#
# Both daemons are unmounted with fusermount3 -u and must then exit 0. On
# any failure or interrupt the trap unmounts, stops the daemons (by PID)
# and removes the temporary folder. Exit status: 0 when everything ran.
#
# Environment: BUILDDIR (default: the current directory if it holds
# fs/lighthoused, else the folder above this script), SECS (concurrent
# phase length), JUDGE_N (in-process judgments per kind, default 20000).
set -u

N=${1:-2000}
M=${2:-16}
SECS=${SECS:-1}
JUDGE_N=${JUDGE_N:-20000}

if [ -z "${BUILDDIR:-}" ]; then
	if [ -x ./fs/lighthoused ]; then
		BUILDDIR=.
	else
		BUILDDIR=$(cd "$(dirname "$0")/.." && pwd)
	fi
fi

die() {
	echo "run-roundtrip: $*" >&2
	exit 1
}

for p in fs/lighthoused bench/nullfs bench/roundtrip bench/judge; do
	[ -x "$BUILDDIR/$p" ] || die "'$BUILDDIR/$p' is not built (run make)"
done
command -v fusermount3 >/dev/null || die "fusermount3 not found (Debian package fuse3)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lh-bench.XXXXXX") || die "cannot make a temporary folder"
lh_pid=
null_pid=

# Is process $1 running (not gone, not a zombie waiting for our wait)?
alive() {
	[ -r "/proc/$1/status" ] &&
		! grep -qs '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null &&
		[ -r "/proc/$1/status" ]
}

mounted() {
	grep -q " $1 fuse" /proc/mounts
}

# Unmount $1, wait up to 5 s for daemon $2 to exit; its exit status goes
# to $stopped (not printed: wait works only in this shell, not a subshell).
stop() {
	i=0
	if mounted "$1"; then
		fusermount3 -u "$1" || fusermount3 -uz "$1"
	fi
	while alive "$2" && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if alive "$2"; then
		echo "run-roundtrip: pid $2 still runs after its unmount: killing it" >&2
		kill "$2"
	fi
	wait "$2"
	stopped=$?
}

# shellcheck disable=SC2317 # (called by the trap)
cleanup() {
	st=$?
	trap - EXIT INT TERM
	[ -n "$lh_pid" ] && stop "$tmp/lh" "$lh_pid"
	[ -n "$null_pid" ] && stop "$tmp/null" "$null_pid"
	if [ "$st" -ne 0 ]; then
		for f in lh.log null.log; do
			[ -s "$tmp/$f" ] && { echo "--- $f" >&2; tail -20 "$tmp/$f" >&2; }
		done
	fi
	rm -rf "$tmp"
	exit "$st"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Wait until $1/stats is readable while daemon $2 runs.
wait_ready() {
	i=0
	until head -c1 "$1/stats" >/dev/null 2>&1; do
		alive "$2" || die "$3 exited while starting"
		[ $i -lt 100 ] || die "$3 did not mount within 10 s"
		sleep 0.1
		i=$((i + 1))
	done
}

mkdir "$tmp/lh" "$tmp/null" "$tmp/state" "$tmp/project" || die "cannot make folders in $tmp"
"$BUILDDIR/fs/lighthoused" -f -o rate_agent=0${LH_OPTS:+,$LH_OPTS} --state "$tmp/state" --project "$tmp/project" "$tmp/lh" \
	2>"$tmp/lh.log" &
lh_pid=$!
"$BUILDDIR/bench/nullfs" -f "$tmp/null" 2>"$tmp/null.log" &
null_pid=$!
wait_ready "$tmp/lh" "$lh_pid" lighthoused
wait_ready "$tmp/null" "$null_pid" nullfs

echo "# run-roundtrip: $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -sr), $(nproc) cpus, N=$N M=$M SECS=$SECS"
"$BUILDDIR/bench/roundtrip" --n "$N" --clients "$M" --secs "$SECS" \
	"$tmp/lh" lighthouse "$tmp/null" nullfs >"$tmp/rt.out"
rt=$?
"$BUILDDIR/bench/judge" --n "$JUDGE_N" lighthouse >"$tmp/judge.out"
judge=$?

grep '^lighthouse\.' "$tmp/rt.out"
grep '^nullfs\.' "$tmp/rt.out"
cat "$tmp/judge.out"
awk '
$1 ~ /^lighthouse\./ { k = substr($1, 12); lh[k] = $2; order[++n] = k }
$1 ~ /^nullfs\./ { nu[substr($1, 8)] = $2 }
END {
	for (i = 1; i <= n; i++) {
		k = order[i]
		if (k ~ /(p50|p99|throughput|fuse_requests_per_rt)$/ && (k in nu) && nu[k] > 0)
			printf "ratio.%s %.2f x\n", k, lh[k] / nu[k]
	}
}' "$tmp/rt.out"

stop "$tmp/lh" "$lh_pid"
lh_rc=$stopped
lh_pid=
stop "$tmp/null" "$null_pid"
null_rc=$stopped
null_pid=
echo "# lighthoused exit $lh_rc, nullfs exit $null_rc"

[ "$rt" -eq 0 ] || die "roundtrip failed (exit $rt)"
[ "$judge" -eq 0 ] || die "judge failed (exit $judge)"
[ "$lh_rc" = 0 ] || die "lighthoused exited $lh_rc after its unmount"
[ "$null_rc" = 0 ] || die "nullfs exited $null_rc after its unmount"
exit 0

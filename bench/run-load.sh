#!/bin/sh
# run-load.sh -- many agents at once: lighthoused against nullfs, side by
# side in one run (issue 6).
#
#   bench/run-load.sh [SECS]            from the build directory
#   SCENARIOS="saturate think flood" bench/run-load.sh 3
#
# saturate  1, 100 and 1000 agents in a closed loop, two-file path and
#           channel, on both mounts: throughput and percentiles, ratios
#           lighthouse / nullfs (the brief: >= 0.8 throughput with 1000)
# think     1000 agents pausing 5 s on average between requests (a tool-call
#           rate), for 4 x SECS: p99 ratio (the brief: <= 2x) and errors
# flood     20 calm agents (think 20 ms) alone, then with one agent flooding
#           on a channel; the calm agents' p99 with / without the flood
#           (the brief: <= 2x), and how many of the flood's requests were
#           rate-limited. Uses lighthoused's default rate limits.
#
# Prints `metric value unit` lines. Both daemons are unmounted after each
# scenario and must exit 0.
set -u

SECS=${1:-3}
SCENARIOS=${SCENARIOS:-saturate think flood}
B=${BUILDDIR:-.}
[ -x "$B/bench/loadgen" ] || B=$(dirname "$0")/..
B=$(cd "$B" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lh-load.XXXXXX")
lh_pid= null_pid=

cleanup() {
	fusermount3 -u "$tmp/lh" 2>/dev/null
	fusermount3 -u "$tmp/null" 2>/dev/null
	[ -n "$lh_pid" ] && kill "$lh_pid" 2>/dev/null
	[ -n "$null_pid" ] && kill "$null_pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

up() { # wait for MOUNT/stats
	n=0
	while ! grep -q '^lighthouse_' "$1/stats" 2>/dev/null; do
		n=$((n + 1)); [ $n -gt 200 ] && { echo "run-load: $1 did not come up" >&2; exit 1; }
		sleep 0.05
	done
}

start() { # start [lighthoused options]: both mounts
	mkdir -p "$tmp/lh" "$tmp/null" "$tmp/state" "$tmp/project"
	rm -rf "$tmp/state"/*
	# escalation_timeout=0: what would escalate is answered `ask` at once. The
	# mix's risky commands would otherwise wait for a person for minutes;
	# bench/escalation measures escalating.
	(cd "$tmp/project" && exec "$B/fs/lighthoused" -f -o escalation_timeout=0 --state "$tmp/state" "$@" "$tmp/lh") 2>"$tmp/lh.log" &
	lh_pid=$!
	"$B/bench/nullfs" -f "$tmp/null" 2>"$tmp/null.log" &
	null_pid=$!
	up "$tmp/lh"
	up "$tmp/null"
}

stop() {
	fusermount3 -u "$tmp/lh" && wait "$lh_pid" || echo "# lighthoused did not exit 0" >&2
	fusermount3 -u "$tmp/null" && wait "$null_pid" || echo "# nullfs did not exit 0" >&2
	lh_pid= null_pid=
}

val() { sed -n "s/^$1 \([0-9.]*\) .*/\1/p" "$tmp/out"; }

ratio() { # ratio NAME A B UNIT
	awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { if (b > 0) printf "%s %.2f x\n", n, a / b }'
}

run() { # run MOUNT LABEL ARGS...: loadgen, output appended to $tmp/out
	m=$1 l=$2
	shift 2
	(cd "$tmp/project" && "$B/bench/loadgen" "$@" "$m" "$l") >>"$tmp/out" 2>>"$tmp/loadgen.err" ||
		echo "# loadgen $l $*: errors, see below" >&2
}

: >"$tmp/out"
for s in $SCENARIOS; do
	case $s in
	saturate)
		start -o rate_agent=0
		for mode in twofile channel; do
			for n in 1 100 1000; do
				run "$tmp/lh" lighthouse --agents $n --mode $mode --secs "$SECS"
				run "$tmp/null" nullfs --agents $n --mode $mode --secs "$SECS"
				for q in p50 p99; do
					ratio "ratio.$mode.agents$n.$q" "$(val lighthouse.$mode.all.agents$n.$q)" \
						"$(val nullfs.$mode.all.agents$n.$q)" >>"$tmp/ratios"
				done
				ratio "ratio.$mode.agents$n.throughput" "$(val lighthouse.$mode.agents$n.throughput)" \
					"$(val nullfs.$mode.agents$n.throughput)" >>"$tmp/ratios"
			done
		done
		stop
		;;
	think)
		start
		for mode in twofile channel; do
			run "$tmp/lh" lighthouse-think --agents 1000 --mode $mode --think 5000 --warmup 5 --secs $((SECS * 4))
			run "$tmp/null" nullfs-think --agents 1000 --mode $mode --think 5000 --warmup 5 --secs $((SECS * 4))
			ratio "ratio.think.$mode.agents1000.p99" "$(val lighthouse-think.$mode.all.agents1000.p99)" \
				"$(val nullfs-think.$mode.all.agents1000.p99)" >>"$tmp/ratios"
		done
		stop
		;;
	flood)
		start
		run "$tmp/lh" calm-alone --agents 20 --think 20 --secs "$SECS"
		run "$tmp/lh" flood --agents 1 --mode channel --secs $((SECS + 2)) --warmup 0 &
		fl=$!
		sleep 1
		run "$tmp/lh" calm-flood --agents 20 --think 20 --secs "$SECS"
		wait $fl
		ratio "ratio.flood.calm.p99" "$(val calm-flood.twofile.all.agents20.p99)" \
			"$(val calm-alone.twofile.all.agents20.p99)" >>"$tmp/ratios"
		echo "flood.rate_limited $(sed -n 's/^lighthouse_rate_limited_total //p' "$tmp/lh/stats") req" >>"$tmp/ratios"
		stop
		;;
	esac
done
cat "$tmp/out" "$tmp/ratios" 2>/dev/null
[ -s "$tmp/loadgen.err" ] && sed 's/^/# /' "$tmp/loadgen.err"
exit 0

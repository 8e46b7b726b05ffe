#!/bin/sh
# soak.sh -- a long run under load, watching lighthoused's memory.
#
#   bench/soak.sh [SECS] [AGENTS]     default 120 s, 200 agents
#
# Mounts lighthoused, runs bench/loadgen (AGENTS agents, 10 ms think time,
# the two-file path) for SECS seconds, and samples the daemon's resident
# memory every 2 s: `soak.rss_kb SECOND KB` lines, then the RSS after
# warm-up (a fifth of the run), at the end, and the growth between them.
# The brief: memory stays flat after warm-up. Not part of make check.
set -u

SECS=${1:-120}
AGENTS=${2:-200}
B=${BUILDDIR:-.}
[ -x "$B/bench/loadgen" ] || B=$(dirname "$0")/..
B=$(cd "$B" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lh-soak.XXXXXX")
pid=
trap 'fusermount3 -u "$tmp/lh" 2>/dev/null; [ -n "$pid" ] && kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

mkdir -p "$tmp/lh" "$tmp/project"
# escalation_timeout=0: the mix's risky commands are answered `ask` at once
# instead of waiting for a person (see run-load.sh)
(cd "$tmp/project" && exec "$B/fs/lighthoused" -f -o escalation_timeout=0 --state "$tmp/state" "$tmp/lh") 2>"$tmp/lh.log" &
pid=$!
n=0; while ! grep -q '^lighthouse_up 1' "$tmp/lh/stats" 2>/dev/null; do
	n=$((n + 1)); [ $n -gt 200 ] && { echo "soak: lighthoused did not come up" >&2; exit 1; }; sleep 0.05; done

(cd "$tmp/project" && "$B/bench/loadgen" --agents "$AGENTS" --think 10 --warmup 0 --secs "$SECS" "$tmp/lh" soak) >"$tmp/load" 2>&1 &
load=$!
t=0 warm= last=
while kill -0 $load 2>/dev/null; do
	rss=$(sed -n 's/^VmRSS:[ \t]*\([0-9]*\) kB/\1/p' /proc/$pid/status)
	echo "soak.rss_kb $t $rss"
	[ $t -ge $((SECS / 5)) ] && [ -z "$warm" ] && warm=$rss
	last=$rss
	sleep 2
	t=$((t + 2))
done
wait $load
grep -E "all|throughput|errors" "$tmp/load"
echo "soak.rss_after_warmup ${warm:-0} kB"
echo "soak.rss_end ${last:-0} kB"
awk -v w="${warm:-0}" -v e="${last:-0}" 'BEGIN { if (w > 0) printf "soak.rss_growth %.1f %%\n", 100 * (e - w) / w }'
fusermount3 -u "$tmp/lh" && wait $pid && echo "soak.daemon_exit 0 status"
pid=

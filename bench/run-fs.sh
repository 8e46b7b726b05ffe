#!/bin/sh
# run-fs.sh [--quick] -- current/ against the floor and the real directory,
# side by side in one run (bench/fs.c says what each metric does).
#
# Three copies of the same material: one stays a plain directory
# (native), one is the source of bench/passthrough (the floor: a minimal
# passthrough FUSE filesystem with current/'s kernel caching choices), one
# is the project of a lighthoused mount (current/). All are made before
# anything is mounted, on one tmpfs (/dev/shm, or $BENCH_DIR): on a disk
# filesystem the three directories would not be equal -- ext4's inode
# allocator, for one, costs a create what the history of its block group
# makes it cost. The event store stays on disk ($TMPDIR). Prints
# bench/fs's `metric value unit` lines, ratios and a table; unmounts and
# removes everything on exit.
set -u
B=${BUILDDIR:-$(pwd)}
W=$(mktemp -d "${BENCH_DIR:-/dev/shm}/lh-fs.XXXXXX")
S=$(mktemp -d "${TMPDIR:-/tmp}/lh-fs-state.XXXXXX")
LH_PID= PT_PID=

cleanup() {
	for m in "$W/mnt" "$W/ptmnt" "$W/hmnt"; do
		grep -q " $m " /proc/mounts && fusermount3 -u "$m"
	done
	[ -n "$LH_PID" ] && wait "$LH_PID"
	[ -n "$PT_PID" ] && wait "$PT_PID"
	rm -rf "$W" "$S"
}
trap cleanup EXIT

mkdir -p "$W/mnt" "$W/ptmnt"
for d in native ptsrc project; do
	"$B/bench/fs" --setup "$W/$d" || exit 1
done

"$B/bench/passthrough" --source "$W/ptsrc" "$W/ptmnt" 2>"$W/pt.log" &
PT_PID=$!
"$B/fs/lighthoused" -f --state "$S" --project "$W/project" "$W/mnt" 2>"$W/lh.log" &
LH_PID=$!
n=0
until grep -q " $W/ptmnt " /proc/mounts && grep -q '^lighthouse_up 1' "$W/mnt/stats" 2>/dev/null; do
	n=$((n + 1))
	if [ $n -gt 200 ]; then
		echo "run-fs.sh: the mounts did not come up" >&2
		cat "$W/pt.log" "$W/lh.log" >&2
		exit 1
	fi
	sleep 0.05
done

metric() { sed -n "s/^$1 //p" "$2"; }
# the recorder's first scan of the project (its baseline) comes first
t0=$(date +%s%N)
while [ "$(metric lighthouse_current_record_backlog "$W/mnt/stats")" != 0 ] ||
	[ "$(metric lighthouse_store_queue_depth "$W/mnt/stats")" != 0 ]; do sleep 0.1; done
echo "fs.baseline_record $(( ($(date +%s%N) - t0) / 1000000 )) ms ($(metric lighthouse_current_recorded_total "$W/mnt/stats") events)"
# the baseline left hundreds of MB dirty in the state directory: written
# back now, not by the kernel's flusher in the middle of a metric 30 s on
sync -f "$S/"

echo "# bench/fs: $(nproc) CPUs, kernel $(uname -r), material on $(stat -f -c %T "$W")"
"$B/bench/fs" --stats "$W/mnt/stats" --pid current="$LH_PID" --pid passthrough="$PT_PID" "$@" current="$W/mnt/current" passthrough="$W/ptmnt" \
	native="$W/native"
fusermount3 -u "$W/mnt" && wait "$LH_PID"
LH_PID=

# history/: a find over a snapshot of 10 000 files, in a project of its own
"$B/bench/fs" --setup-tree "$W/h10k" 10000
mkdir -p "$W/hmnt"
"$B/fs/lighthoused" -f --state "$S/h" --project "$W/h10k" "$W/hmnt" 2>"$W/lh2.log" &
LH_PID=$!
until grep -q '^lighthouse_up 1' "$W/hmnt/stats" 2>/dev/null; do sleep 0.05; done
while [ "$(metric lighthouse_current_record_backlog "$W/hmnt/stats")" != 0 ]; do sleep 0.1; done
sleep 0.5
seq=$("$B/ctl/lighthousectl" --state "$S/h" events --type "file.*" | tail -1 | cut -d" " -f1)
for pass in first again; do
	"$B/bench/fs" --walk "$W/hmnt/history/$seq" | sed "s/^walk\./history_find_$pass./"
done
t0=$(date +%s%N)
n=$(find "$W/hmnt/history/latest" | wc -l)
echo "history_find_latest.find $(( ($(date +%s%N) - t0) / 1000000 )) ms ($n entries, find(1))"
fusermount3 -u "$W/hmnt" && wait "$LH_PID"
LH_PID=

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
	for m in "$W/mnt" "$W/ptmnt"; do
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

echo "# bench/fs: $(nproc) CPUs, kernel $(uname -r), material on $(stat -f -c %T "$W")"
"$B/bench/fs" --stats "$W/mnt/stats" "$@" current="$W/mnt/current" passthrough="$W/ptmnt" \
	native="$W/native"

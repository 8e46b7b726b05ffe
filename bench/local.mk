# ---- hook round trip (bench/hook*) -------------------------------------------
# bench/hook.sh mounts lighthoused and measures lighthouse-hook from process
# start to exit, allow and deny, against a hook that only runs `true`
# through the same shell (the floor), in the same run.
noinst_PROGRAMS += bench/hook-bench
bench_hook_bench_SOURCES = bench/hook-bench.c
bench_hook_bench_LDADD = common/libcommon.a
EXTRA_DIST += bench/hook.sh

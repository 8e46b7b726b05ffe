# bench/ -- benchmarks; each prints `metric value unit` lines.
#
#   bench/nullfs     the file protocol of requests/ and results/, judging
#                    nothing: the baseline lighthoused is compared with
#   bench/roundtrip  round trips through one or more mounts
#   bench/judge      the validator's judgment in-process
#
# `make bench` runs bench/run-roundtrip.sh (BENCH_ARGS="N M" to size it).
noinst_PROGRAMS += bench/nullfs bench/roundtrip bench/judge
bench_nullfs_SOURCES = bench/nullfs.c
bench_nullfs_CFLAGS = $(AM_CFLAGS) $(FUSE_CFLAGS)
bench_nullfs_LDADD = common/libcommon.a $(FUSE_LIBS)
bench_roundtrip_SOURCES = bench/roundtrip.c
bench_roundtrip_LDADD = common/libcommon.a
bench_judge_SOURCES = bench/judge.c
bench_judge_LDADD = $(VALIDATOR_LIBS)
EXTRA_DIST += bench/run-roundtrip.sh

.PHONY: bench
bench: fs/lighthoused bench/nullfs bench/roundtrip bench/judge
	BUILDDIR='$(abs_top_builddir)' $(SHELL) $(srcdir)/bench/run-roundtrip.sh $(BENCH_ARGS)

# bench/loadgen: many agents at once (issue 6); bench/run-load.sh runs it on
# lighthoused and nullfs side by side, bench/soak.sh watches the daemon's
# memory over a long run.
noinst_PROGRAMS += bench/loadgen
bench_loadgen_SOURCES = bench/loadgen.c
bench_loadgen_LDADD = common/libcommon.a -lm
EXTRA_DIST += bench/run-load.sh bench/soak.sh
noinst_PROGRAMS += bench/cachemem
bench_cachemem_SOURCES = bench/cachemem.c
bench_cachemem_LDADD = $(VALIDATOR_LIBS)

# ---- hook round trip (bench/hook*) -------------------------------------------
# bench/hook.sh mounts lighthoused and measures lighthouse-hook from process
# start to exit, allow and deny, against a hook that only runs `true`
# through the same shell (the floor), in the same run.
noinst_PROGRAMS += bench/hook-bench
bench_hook_bench_SOURCES = bench/hook-bench.c
bench_hook_bench_LDADD = common/libcommon.a
EXTRA_DIST += bench/hook.sh

# ---- bench/validator: the speed layer in process (issue 3) ----------------
# `make bench-validator` prints metric lines: cached and uncached throughput
# and latency percentiles with the default and generated policies, and the
# accuracy of the labeled corpus. Built with everything else so it does not
# rot; run only on demand (about half a minute).
noinst_PROGRAMS += bench/validator
bench_validator_SOURCES = bench/validator.c tests/corpus.c tests/corpus.h \
	tests/cases.c tests/cases.h
bench_validator_CFLAGS = $(AM_CFLAGS)
bench_validator_LDADD = $(VALIDATOR_LIBS)
.PHONY: bench-validator
bench-validator: bench/validator
	./bench/validator --corpus $(srcdir)/tests/data/corpus.tsv
# ---- end of bench/validator ------------------------------------------------
# ---- bench/store (issue 4: the event store) ---------------------------------
# Events/s with 1, 16 and 256 producers against a raw SQLite loop of the
# same rows (the ratio), and the round trip through a mount under 256
# clients (p50/p99). `make bench-store` runs it.
noinst_PROGRAMS += bench/store
bench_store_SOURCES = bench/store.c
bench_store_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS) $(XXHASH_CFLAGS)
bench_store_LDADD = $(STORE_LIBS)

bench-store: bench/store$(EXEEXT) fs/lighthoused$(EXEEXT)
	./bench/store$(EXEEXT) --lighthoused ./fs/lighthoused$(EXEEXT)
.PHONY: bench-store
# ---- end of bench/store -------------------------------------------------------

# ---- current/ (issue 5) -----------------------------------------------------
# bench/passthrough: a minimal passthrough FUSE filesystem, the floor;
# bench/fs: stat, open+read, create+write, listings, a metadata storm and
# sequential I/O on current/, the floor and the real directory side by
# side. bench/run-fs.sh mounts both and runs it (`make bench-fs`).
noinst_PROGRAMS += bench/passthrough bench/fs
bench_passthrough_SOURCES = bench/passthrough.c
bench_passthrough_CFLAGS = $(AM_CFLAGS) $(FUSE_CFLAGS)
bench_passthrough_LDADD = common/libcommon.a $(FUSE_LIBS)
bench_fs_SOURCES = bench/fs.c
EXTRA_DIST += bench/run-fs.sh

.PHONY: bench-fs
bench-fs: fs/lighthoused bench/passthrough bench/fs
	BUILDDIR='$(abs_top_builddir)' $(SHELL) $(srcdir)/bench/run-fs.sh $(BENCH_FS_ARGS)
# ---- bench/escalation (issue 7: experts and people in the loop) ------------
# The time from an agent's request to an expert seeing it (a parked read of
# experts/NAME/next) and from the expert's decision to the agent's blocked
# read returning, with 100 other escalations pending; an ordinary round
# trip on the same mount for scale. `make bench-escalation` runs it.
noinst_PROGRAMS += bench/escalation
bench_escalation_SOURCES = bench/escalation.c
bench_escalation_LDADD = common/libcommon.a
.PHONY: bench-escalation
bench-escalation: bench/escalation$(EXEEXT) fs/lighthoused$(EXEEXT)
	./bench/escalation$(EXEEXT) --lighthoused ./fs/lighthoused$(EXEEXT)
# ---- end of bench/escalation ------------------------------------------------

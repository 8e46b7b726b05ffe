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

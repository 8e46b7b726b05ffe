
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

# tests/ -- unit tests (test-tool, in-process) and mount tests (tNNNN-*.sh
# scripts driving the real binaries on a real mount). Families:
#   t00xx build and units   t01xx mount   t02xx requests   t05xx escalation   t06xx ctl
#   t07xx crash             t08xx security        t09xx agents' hooks
noinst_PROGRAMS += tests/test-tool
tests_test_tool_SOURCES = tests/test-tool.c tests/cases.c tests/cases.h \
	tests/corpus.c tests/corpus.h
tests_test_tool_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(SQLITE_CFLAGS)
tests_test_tool_LDADD = $(VALIDATOR_LIBS) $(STORE_LIBS)

TESTS += \
	tests/t0001-sources.sh \
	tests/t0002-man.sh \
	tests/t0010-shell-parse.sh \
	tests/t0011-verdict-cases.sh \
	tests/t0012-policy-language.sh \
	tests/t0013-fuzz.sh \
	tests/t0014-interpreters.sh \
	tests/t0015-cache.sh \
	tests/t0016-corpus.sh \
	tests/t0017-learned-rules.sh \
	tests/t0020-store.sh \
	tests/t0021-blobs.sh \
	tests/t0022-journal.sh \
	tests/t0100-mount.sh \
	tests/t0150-streams.sh \
	tests/t0200-requests.sh \
	tests/t0210-bad-input.sh \
	tests/t0220-verdict-cases-mount.sh \
	tests/t0230-expiry.sh \
	tests/t0240-agents.sh \
	tests/t0500-escalation.sh \
	tests/t0510-experts.sh \
	tests/t0520-learned.sh \
	tests/t0530-escalation-restart.sh \
	tests/t0600-ctl.sh \
	tests/t0610-ctl-store.sh \
	tests/t0700-crash.sh \
	tests/t0710-store-faults.sh \
	tests/t0800-security.sh \
	tests/t0900-hook.sh \
	tests/t0910-install-hook.sh \
	tests/t0920-service.sh

EXTRA_DIST += $(TESTS) tests/lib.sh tests/data/verdicts.tsv tests/data/corpus.tsv

# TAP output, counted per assertion; skips exit 77 with a "1..0 # SKIP" plan.
TEST_EXTENSIONS = .sh
SH_LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh --ignore-exit
AM_TESTS_ENVIRONMENT = builddir='$(abs_top_builddir)' srcdir='$(abs_top_srcdir)'; export builddir srcdir;

# ---- current/ (issue 5) -----------------------------------------------------
# tests/fsops: a script of file system calls with their errno, run on a real
# directory and through current/ by the differential tests (t03xx).
noinst_PROGRAMS += tests/fsops
tests_fsops_SOURCES = tests/fsops.c
TESTS += \
	tests/t0300-current-posix.sh \
	tests/t0310-current-cache.sh \
	tests/t0320-current-tools.sh \
	tests/t0330-current-policy.sh \
	tests/t0340-current-record.sh \
	tests/t0400-history.sh \
	tests/t0450-shadows.sh
EXTRA_DIST += tests/data/posix-ops.txt

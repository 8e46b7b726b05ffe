# tests/ -- unit tests (test-tool, in-process) and mount tests (tNNNN-*.sh
# scripts driving the real binaries on a real mount).
noinst_PROGRAMS += tests/test-tool
tests_test_tool_SOURCES = tests/test-tool.c tests/cases.c tests/cases.h
tests_test_tool_LDADD = $(VALIDATOR_LIBS)

# common/ -- small helpers several rooms need: allocation, bounded buffers,
# arenas, UTF-8, time, logging. No dependencies beyond libc.
noinst_LIBRARIES += common/libcommon.a
common_libcommon_a_SOURCES = \
	common/arena.c common/arena.h \
	common/banned.h \
	common/buf.c common/buf.h \
	common/clock.c common/clock.h \
	common/log.c common/log.h \
	common/utf8.c common/utf8.h \
	common/xalloc.c common/xalloc.h

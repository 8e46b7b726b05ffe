# hook/ -- lighthouse-hook, the agents' pre-tool hook: started once per tool
# call, so it stays small. Jansson and common/ only: the judging is the
# daemon's, so no validator, SQLite or FUSE here (the link enforces it).
bin_PROGRAMS += hook/lighthouse-hook
hook_lighthouse_hook_SOURCES = \
	hook/agent.c \
	hook/hook.h \
	hook/lighthouse-hook.c \
	hook/submit.c
hook_lighthouse_hook_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
hook_lighthouse_hook_LDADD = common/libcommon.a $(JANSSON_LIBS)

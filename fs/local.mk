# fs/ -- lighthoused: the FUSE operations and the virtual tree.
sbin_PROGRAMS += fs/lighthoused
fs_lighthoused_SOURCES = \
	fs/agents.c \
	fs/context.c \
	fs/ctl.c \
	fs/current.c \
	fs/current.h \
	fs/current_watch.c \
	fs/history.c \
	fs/escalate.c \
	fs/experts.c \
	fs/fs.h \
	fs/hold.c \
	fs/ident.c \
	fs/learned.c \
	fs/links.c \
	fs/links.h \
	fs/main.c \
	fs/ops.c \
	fs/record.c \
	fs/reqtab.c \
	fs/shadows.c \
	fs/stats.c \
	fs/streams.c
fs_lighthoused_CFLAGS = $(AM_CFLAGS) $(FUSE_CFLAGS) $(JANSSON_CFLAGS)
fs_lighthoused_LDADD = store/libstore.a $(VALIDATOR_LIBS) $(STORE_LIBS) $(FUSE_LIBS)

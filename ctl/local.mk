# ctl/ -- lighthousectl, the admin CLI: a command table and one thin
# cmd_*.c per command.
bin_PROGRAMS += ctl/lighthousectl
ctl_lighthousectl_SOURCES = \
	ctl/cmd_check.c \
	ctl/cmd_events.c \
	ctl/cmd_expert.c \
	ctl/cmd_export.c \
	ctl/cmd_hook.c \
	ctl/cmd_pending.c \
	ctl/cmd_policy.c \
	ctl/cmd_reload.c \
	ctl/cmd_replay.c \
	ctl/cmd_status.c \
	ctl/cmd_top.c \
	ctl/cmd_vacuum.c \
	ctl/cmd_verify.c \
	ctl/ctl.h \
	ctl/lighthousectl.c
ctl_lighthousectl_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
ctl_lighthousectl_LDADD = $(VALIDATOR_LIBS) $(STORE_LIBS)

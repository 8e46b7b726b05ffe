/*
 * cmd_expert.c -- lighthousectl expert add / list / remove: the experts
 * that escalations are routed to, registered through MOUNT/ctl. (An
 * expert agent can also register itself: mkdir MOUNT/experts/NAME and
 * write its capabilities file.) Registrations are events: they outlive a
 * restart of the daemon.
 *
 *   lighthousectl expert add security-bot --caps git,database,security
 */
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "ctl/ctl.h"
#include "common/banned.h"

int cmd_expert(struct ctl_env *env, int argc, char **argv)
{
	struct lh_buf cmd = LH_BUF_INIT;
	int rc, i;

	if (argc == 2 && !strcmp(argv[1], "list"))
		return ctl_send(env, "expert list");
	if (argc == 3 && !strcmp(argv[1], "remove") && !strpbrk(argv[2], " \n")) {
		lh_buf_addf(&cmd, "expert remove %s", argv[2]);
	} else if (argc >= 3 && !strcmp(argv[1], "add") && !strpbrk(argv[2], " \n")) {
		const char *caps = "";

		for (i = 3; i < argc; i++) {
			if (!strcmp(argv[i], "--caps") && i + 1 < argc)
				caps = argv[++i];
			else if (!strncmp(argv[i], "--caps=", 7))
				caps = argv[i] + 7;
			else
				return ctl_usage("expert");
		}
		if (strchr(caps, '\n'))
			return ctl_usage("expert");
		lh_buf_addf(&cmd, "expert add %s ", argv[2]);
		/* one word on the ctl line: blanks become commas */
		for (; *caps; caps++)
			lh_buf_addc(&cmd, *caps == ' ' || *caps == '\t' ? ',' : *caps);
	} else {
		return ctl_usage("expert");
	}
	rc = ctl_send(env, cmd.data);
	lh_buf_release(&cmd);
	return rc;
}

/*
 * cmd_reload.c -- lighthousectl reload and lighthousectl config: commands
 * sent through MOUNT/ctl (only the daemon's owner and root may).
 */
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "ctl/ctl.h"
#include "common/banned.h"

static int send(struct ctl_env *env, const char *cmd)
{
	struct lh_buf reply = LH_BUF_INIT;
	int rc = ctl_command(env, cmd, &reply);

	if (!rc) {
		fputs(reply.data, stdout);
		if (!strncmp(reply.data, "error:", 6) || strstr(reply.data, "rejected"))
			rc = -1;
	}
	lh_buf_release(&reply);
	return rc ? CTL_FAIL : CTL_OK;
}

int cmd_reload(struct ctl_env *env, int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return ctl_usage("reload");
	return send(env, "reload");
}

int cmd_config(struct ctl_env *env, int argc, char **argv)
{
	struct lh_buf cmd = LH_BUF_INIT;
	int rc, i;

	if (argc > 3)
		return ctl_usage("config");
	lh_buf_adds(&cmd, "config");
	for (i = 1; i < argc; i++) {
		if (strchr(argv[i], '\n')) {
			lh_buf_release(&cmd);
			return ctl_usage("config");
		}
		lh_buf_addf(&cmd, " %s", argv[i]);
	}
	rc = send(env, cmd.data);
	lh_buf_release(&cmd);
	return rc;
}

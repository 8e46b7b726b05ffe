/*
 * cmd_pending.c -- lighthousectl pending, approve and deny: a person's
 * side of escalation, sent through MOUNT/ctl (only the daemon's owner and
 * root may). The daemon names the person after the uid that opened the
 * ctl file, and a person's decision wins over whatever experts hold.
 *
 *   lighthousectl pending                       what waits, with its context
 *   lighthousectl approve 4711 --remember        allow, and learn the exact request
 *   lighthousectl deny 4711 --reason "not on prod"
 */
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "ctl/ctl.h"
#include "common/banned.h"

int cmd_pending(struct ctl_env *env, int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return ctl_usage("pending");
	return ctl_send(env, "pending");
}

/* approve|deny ID [--remember[=exact|pattern]] [--reason TEXT] */
static int decide(struct ctl_env *env, int argc, char **argv, int need_reason)
{
	const char *remember = NULL, *reason = NULL, *id = NULL;
	struct lh_buf cmd = LH_BUF_INIT;
	int i, rc;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--remember")) {
			remember = "exact";
		} else if (!strncmp(a, "--remember=", 11)) {
			remember = a + 11;
			if (strcmp(remember, "exact") && strcmp(remember, "pattern"))
				return ctl_usage(argv[0]);
		} else if (!strcmp(a, "--reason") && i + 1 < argc) {
			reason = argv[++i];
		} else if (!strncmp(a, "--reason=", 9)) {
			reason = a + 9;
		} else if (!id && a[0] >= '1' && a[0] <= '9' && strspn(a, "0123456789") == strlen(a)) {
			id = a;
		} else {
			return ctl_usage(argv[0]);
		}
	}
	if (!id || (need_reason && (!reason || !reason[0])))
		return ctl_usage(argv[0]);
	if (reason && strpbrk(reason, "\n\r")) {
		fprintf(stderr, "lighthousectl: the reason is one line\n");
		return CTL_USAGE;
	}
	lh_buf_addf(&cmd, "%s %s", argv[0], id);
	if (remember)
		lh_buf_addf(&cmd, " remember=%s", remember);
	if (reason && reason[0])
		lh_buf_addf(&cmd, " reason=%s", reason);
	rc = ctl_send(env, cmd.data);
	lh_buf_release(&cmd);
	return rc;
}

int cmd_approve(struct ctl_env *env, int argc, char **argv)
{
	return decide(env, argc, argv, 0);
}

int cmd_deny(struct ctl_env *env, int argc, char **argv)
{
	return decide(env, argc, argv, 1);
}

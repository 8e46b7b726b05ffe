/*
 * cmd_policy.c -- lighthousectl policy check FILE: compile a policy file
 * and print its errors as FILE:LINE: MESSAGE (exit 1), or a one-line
 * summary (exit 0). lighthousectl policy show: the policy in force, from
 * the mount.
 */
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "ctl/ctl.h"
#include "validator/policy.h"
#include "common/banned.h"

int cmd_policy(struct ctl_env *env, int argc, char **argv)
{
	struct lh_buf err = LH_BUF_INIT;
	struct lh_policy *pol;
	int rc;

	if (argc == 2 && !strcmp(argv[1], "show")) {
		const char *mount = ctl_mount(env, 0);
		struct lh_buf path = LH_BUF_INIT, text = LH_BUF_INIT;

		if (!mount)
			return CTL_FAIL;
		lh_buf_addf(&path, "%s/policy/active", mount);
		rc = ctl_read_file(path.data, &text);
		if (rc)
			fprintf(stderr, "lighthousectl: cannot read '%s': %s\n", path.data, strerror(-rc));
		else
			fwrite(text.data, 1, text.len, stdout);
		lh_buf_release(&path);
		lh_buf_release(&text);
		return rc ? CTL_FAIL : CTL_OK;
	}
	if (argc != 3 || strcmp(argv[1], "check"))
		return ctl_usage("policy");
	rc = lh_policy_load(&pol, argv[2], &err);
	if (rc) {
		fputs(err.data, stdout);
		lh_buf_release(&err);
		return CTL_FAIL;
	}
	printf("%s: ok, %d rules\n", argv[2], lh_policy_nrules(pol));
	lh_policy_free(pol);
	return CTL_OK;
}

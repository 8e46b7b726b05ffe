/*
 * cmd_check.c -- lighthousectl check: judge a request offline, with the
 * same validator code and policy as the daemon, and print the verdict in
 * the same text format. Exit 0 allow, 1 deny, 3 ask, 2 usage error or a
 * policy that does not compile.
 *
 *   lighthousectl check rm -rf /             a shell command (words joined)
 *   lighthousectl check Read /etc/shadow     TOOL INPUT
 *   lighthousectl check - < payload.json     the request from stdin, as is
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pwd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "ctl/ctl.h"
#include "validator/validator.h"
#include "common/banned.h"

int cmd_check(struct ctl_env *env, int argc, char **argv)
{
	const char *cwd_opt = NULL, *project_opt = NULL;
	struct lh_buf in = LH_BUF_INIT, err = LH_BUF_INIT;
	struct lh_validator_opts vo;
	struct lh_validator *v;
	struct lh_policy *pol;
	struct lh_request req;
	struct lh_verdict vd;
	struct lh_judge_in ji;
	struct passwd *pw = getpwuid(getuid());
	char cwd[PATH_MAX], project[PATH_MAX];
	int i = 1, json = 0, k, rc;
	int64_t t0;

	while (i < argc && argv[i][0] == '-' && argv[i][1] == '-') {
		if (!strcmp(argv[i], "--cwd") && i + 1 < argc) {
			cwd_opt = argv[i + 1];
			i += 2;
		} else if (!strcmp(argv[i], "--project") && i + 1 < argc) {
			project_opt = argv[i + 1];
			i += 2;
		} else if (!strcmp(argv[i], "--json")) {
			json = 1;
			i++;
		} else if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else {
			break;
		}
	}
	if (i >= argc)
		return ctl_usage("check");
	if (!strcmp(argv[i], "-") && i + 1 == argc) {
		char chunk[65536];
		size_t n;

		while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
			lh_buf_add(&in, chunk, n);
	} else {
		for (k = i; k < argc; k++) {
			if (k > i)
				lh_buf_addc(&in, ' ');
			lh_buf_adds(&in, argv[k]);
		}
	}
	if (!getcwd(cwd, sizeof(cwd)))
		snprintf(cwd, sizeof(cwd), "/");
	if (cwd_opt)
		snprintf(cwd, sizeof(cwd), "%s", cwd_opt);
	if (!realpath(project_opt ? project_opt : cwd, project))
		snprintf(project, sizeof(project), "%s", project_opt ? project_opt : cwd);

	rc = env->policy ? lh_policy_load(&pol, env->policy, &err) : lh_policy_builtin(&pol, &err);
	if (rc) {
		fprintf(stderr, "lighthousectl: the policy has errors:\n%s", err.data);
		lh_buf_release(&err);
		lh_buf_release(&in);
		return CTL_USAGE;
	}
	memset(&vo, 0, sizeof(vo));
	vo.project = project;
	vo.cache_entries = 1024;
	if (lh_validator_new(&v, pol, &vo)) {
		fprintf(stderr, "lighthousectl: cannot start the validator\n");
		lh_buf_release(&err);
		lh_buf_release(&in);
		return CTL_USAGE;
	}
	memset(&ji, 0, sizeof(ji));
	ji.data = in.data;
	ji.len = in.len;
	ji.total = in.len;
	ji.cwd = cwd;
	ji.home = pw ? pw->pw_dir : getenv("HOME");
	ji.user = pw ? pw->pw_name : NULL;
	t0 = lh_mono_ns();
	lh_validator_judge(v, &ji, &req, &vd);
	t0 = (lh_mono_ns() - t0) / 1000;
	if (json) {
		struct lh_buf j = LH_BUF_INIT;

		lh_buf_addf(&j, "{\"decision\":\"%s\",\"reason\":", lh_decision_name(vd.decision));
		lh_buf_add_json_str(&j, vd.reason, strlen(vd.reason));
		if (vd.rule[0]) {
			lh_buf_adds(&j, ",\"rule\":");
			lh_buf_add_json_str(&j, vd.rule, strlen(vd.rule));
		} else {
			lh_buf_adds(&j, ",\"rule\":null");
		}
		lh_buf_addf(&j, ",\"tier\":\"%s\",\"request\":null,\"latency_us\":%lld,\"cached\":false}\n",
			    lh_tier_name(vd.tier), (long long)t0);
		fputs(j.data, stdout);
		lh_buf_release(&j);
	} else {
		printf("%s\nreason: %s\nrule: %s\ntier: %s\nrequest: -\nlatency_us: %lld\ncache: miss\n",
		       lh_decision_name(vd.decision), vd.reason, vd.rule[0] ? vd.rule : "-",
		       lh_tier_name(vd.tier), (long long)t0);
	}
	lh_request_release(&req);
	lh_validator_free(v);
	lh_buf_release(&in);
	lh_buf_release(&err);
	return vd.decision == LH_ALLOW ? CTL_OK : vd.decision == LH_DENY ? CTL_FAIL : 3;
}

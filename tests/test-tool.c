/*
 * test-tool.c -- internals exposed for tests (after git's t/helper).
 *
 * Product binaries stay free of test hooks; tests and fuzzers call in here:
 *
 *   test-tool shell CMD             print the simple commands CMD parses into
 *   test-tool judge [opts] [REQ]    judge REQ (or stdin) in-process, print the verdict
 *   test-tool cases [opts] FILE     run declarative verdict cases in-process
 *   test-tool match PATTERN PATH [HOME]  exit 0 if the path pattern matches
 *   test-tool resolve WORD CWD HOME print the resolved path
 *   test-tool fuzz-request [N]      feed N random inputs to the request and
 *                                   shell parsers and the policy
 *
 * judge and cases options: --policy FILE, --cwd DIR, --home DIR,
 * --project DIR, --user NAME.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/buf.h"
#include "validator/path.h"
#include "validator/shell.h"
#include "validator/validator.h"
#include "tests/cases.h"
#include "common/banned.h"

struct opts {
	const char *policy, *cwd, *home, *project, *user;
};

static int parse_opts(int argc, char **argv, struct opts *o)
{
	int i = 0;

	memset(o, 0, sizeof(*o));
	o->cwd = "/home/agent/project";
	o->home = "/home/agent";
	o->project = "/home/agent/project";
	o->user = "agent";
	while (i < argc && !strncmp(argv[i], "--", 2) && i + 1 < argc) {
		if (!strcmp(argv[i], "--policy"))
			o->policy = argv[i + 1];
		else if (!strcmp(argv[i], "--cwd"))
			o->cwd = argv[i + 1];
		else if (!strcmp(argv[i], "--home"))
			o->home = argv[i + 1];
		else if (!strcmp(argv[i], "--project"))
			o->project = argv[i + 1];
		else if (!strcmp(argv[i], "--user"))
			o->user = argv[i + 1];
		else
			break;
		i += 2;
	}
	return i;
}

static struct lh_validator *make_validator(const struct opts *o)
{
	struct lh_buf err = LH_BUF_INIT;
	struct lh_policy *pol;
	struct lh_validator *v;
	struct lh_validator_opts vo = { o->project, 4096, 0 };
	int rc = o->policy ? lh_policy_load(&pol, o->policy, &err) : lh_policy_builtin(&pol, &err);

	if (rc) {
		fputs(err.data, stderr);
		exit(2);
	}
	lh_buf_release(&err);
	if (lh_validator_new(&v, pol, &vo)) {
		fprintf(stderr, "test-tool: cannot create validator\n");
		exit(2);
	}
	return v;
}

static int cmd_shell(int argc, char **argv)
{
	struct lh_shell_env env = { "/home/agent", "/home/agent/project", "agent" };
	struct lh_arena a;
	struct lh_script s;
	int k, i;

	if (argc < 1) {
		fprintf(stderr, "usage: test-tool shell CMD\n");
		return 2;
	}
	lh_arena_init(&a, 64 << 20);
	lh_shell_parse(&s, &a, argv[0], strlen(argv[0]), &env);
	for (k = 0; k < s.ncmds; k++) {
		const struct lh_scmd *c = &s.cmds[k];

		printf("[%s]", c->name);
		for (i = 0; i < c->argc; i++)
			printf(" <%s>%s", c->argv[i], c->wflags[i] & LH_W_DYNAMIC ? "*" : "");
		for (i = 0; i < c->nredirs; i++)
			printf(" redir(%d,%d,%s)", c->redirs[i].op, c->redirs[i].fd,
			       c->redirs[i].target ? c->redirs[i].target : "");
		if (c->pipe_from)
			printf(" from=%s", c->pipe_from);
		if (c->wrappers[0])
			printf(" wrappers=%s", c->wrappers);
		printf(" ctx=%#x depth=%d\n", c->ctx, c->depth);
	}
	if (s.error)
		printf("error: %s\n", s.error);
	lh_arena_release(&a);
	return 0;
}

static int cmd_judge(int argc, char **argv)
{
	struct opts o;
	int i = parse_opts(argc, argv, &o);
	struct lh_validator *v = make_validator(&o);
	struct lh_buf in = LH_BUF_INIT;
	struct lh_request req;
	struct lh_verdict vd;
	struct lh_judge_in ji;

	if (i < argc) {
		lh_buf_adds(&in, argv[i]);
	} else {
		char chunk[4096];
		size_t n;

		while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
			lh_buf_add(&in, chunk, n);
	}
	memset(&ji, 0, sizeof(ji));
	ji.data = in.data;
	ji.len = in.len;
	ji.total = in.len;
	ji.cwd = o.cwd;
	ji.home = o.home;
	ji.user = o.user;
	lh_validator_judge(v, &ji, &req, &vd);
	printf("%s\nreason: %s\nrule: %s\ntier: %s\n", lh_decision_name(vd.decision),
	       vd.reason, vd.rule[0] ? vd.rule : "-", lh_tier_name(vd.tier));
	lh_request_release(&req);
	lh_buf_release(&in);
	lh_validator_free(v);
	return vd.decision == LH_ALLOW ? 0 : vd.decision == LH_ASK ? 3 : 4;
}

struct run_arg {
	struct lh_validator *v;
	const struct opts *o;
};

static int judge_case(void *arg, const struct lh_case *c, char *decision, size_t dn,
		      char *rule, size_t rn)
{
	struct run_arg *ra = arg;
	struct lh_request req;
	struct lh_verdict vd;
	struct lh_judge_in ji;

	memset(&ji, 0, sizeof(ji));
	ji.data = c->request;
	ji.len = strlen(c->request);
	ji.total = ji.len;
	ji.cwd = ra->o->cwd;
	ji.home = ra->o->home;
	ji.user = ra->o->user;
	lh_validator_judge(ra->v, &ji, &req, &vd);
	snprintf(decision, dn, "%s", lh_decision_name(vd.decision));
	snprintf(rule, rn, "%s", vd.rule[0] ? vd.rule : "-");
	lh_request_release(&req);
	return 0;
}

static int cmd_cases(int argc, char **argv)
{
	struct opts o;
	int i = parse_opts(argc, argv, &o), rc;
	struct run_arg ra;

	if (i >= argc) {
		fprintf(stderr, "usage: test-tool cases [opts] FILE\n");
		return 2;
	}
	ra.v = make_validator(&o);
	ra.o = &o;
	rc = lh_cases_run(argv[i], judge_case, &ra, stdout);
	lh_validator_free(ra.v);
	return rc ? 1 : 0;
}

static int cmd_match(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	return lh_path_match(argv[0], argv[1], argc > 2 ? argv[2] : NULL) ? 0 : 1;
}

static int cmd_resolve(int argc, char **argv)
{
	struct lh_arena a;

	if (argc < 3)
		return 2;
	lh_arena_init(&a, 0);
	printf("%s\n", lh_path_resolve(&a, argv[0], argv[1], argv[2]));
	lh_arena_release(&a);
	return 0;
}

/* Random and mutated inputs through every parser: must never crash. */
static int cmd_fuzz(int argc, char **argv)
{
	static const char *const seeds[] = {
		"rm -rf /", "sudo env X=1 bash -c 'rm -rf ~'", "x=/; rm -rf $x",
		"find / -delete", "curl x | sh", "{\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"ls\"}}",
		"echo $'\\x41' \"$(ls `pwd`)\" <<EOF\nbody $(id)\nEOF\n", "a() { a|a& }; a",
		"for i in 1 2; do echo $i; done | xargs -I{} rm {}", "case $x in a) ls;; esac",
		"Read /etc/shadow", "Write ~/.bashrc\ncurl x | sh", "[[ -f x ]] && (cd /; ls) > /dev/null 2>&1 &",
	};
	struct opts o;
	struct lh_validator *v;
	long n = argc > 0 ? strtol(argv[0], NULL, 10) : 20000, k;
	unsigned seed = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1;
	const char alphabet[] = "ab /~$(){}[]<>|&;'\"`\\\n\t=*?!#-+:,.{}0123456789xrmcf";

	parse_opts(0, NULL, &o);
	v = make_validator(&o);
	srand(seed);
	for (k = 0; k < n; k++) {
		char buf[512];
		size_t len = 0, m;
		const char *s = seeds[(size_t)rand() % (sizeof(seeds) / sizeof(seeds[0]))];
		struct lh_request req;
		struct lh_verdict vd;
		struct lh_judge_in ji;

		/* mutate a seed: copy with random insertions, deletions, flips */
		for (m = 0; s[m] && len < sizeof(buf) - 8; m++) {
			int r = rand() % 20;

			if (r == 0)
				continue;
			if (r == 1)
				buf[len++] = alphabet[(size_t)rand() % (sizeof(alphabet) - 1)];
			if (r == 2)
				buf[len++] = (char)(rand() % 256);
			buf[len++] = s[m];
		}
		while (rand() % 4 == 0 && len < sizeof(buf) - 1)
			buf[len++] = alphabet[(size_t)rand() % (sizeof(alphabet) - 1)];
		memset(&ji, 0, sizeof(ji));
		ji.data = buf;
		ji.len = len;
		ji.total = len;
		ji.cwd = o.cwd;
		ji.home = o.home;
		lh_validator_judge(v, &ji, &req, &vd);
		if (vd.decision > LH_DENY || !vd.reason[0]) {
			fprintf(stderr, "bad verdict for input %zu bytes\n", len);
			return 1;
		}
		lh_request_release(&req);
	}
	lh_validator_free(v);
	printf("fuzz: %ld inputs judged without a crash\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: test-tool (shell|judge|cases|match|resolve|fuzz-request) ...\n");
		return 2;
	}
	if (!strcmp(argv[1], "shell"))
		return cmd_shell(argc - 2, argv + 2);
	if (!strcmp(argv[1], "judge"))
		return cmd_judge(argc - 2, argv + 2);
	if (!strcmp(argv[1], "cases"))
		return cmd_cases(argc - 2, argv + 2);
	if (!strcmp(argv[1], "match"))
		return cmd_match(argc - 2, argv + 2);
	if (!strcmp(argv[1], "resolve"))
		return cmd_resolve(argc - 2, argv + 2);
	if (!strcmp(argv[1], "fuzz-request"))
		return cmd_fuzz(argc - 2, argv + 2);
	fprintf(stderr, "test-tool: unknown command '%s'\n", argv[1]);
	return 2;
}

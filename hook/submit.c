/*
 * submit.c -- one round trip through a Lighthouse mount, under a deadline.
 *
 * DESIGN
 *
 * The request goes through the channel of fs/reqtab.c: open
 * MOUNT/requests/NAME (O_RDWR | O_CREAT | O_EXCL) once, write the request,
 * read the same descriptor: the read returns the verdict in the text form
 * of results/NAME (the decision word, then `key: value` lines). A Codex
 * patch touching several files is several requests on that one descriptor
 * (write, read, write, read). Four FUSE requests for one verdict: LOOKUP
 * and CREATE of the name, WRITE, READ; the RELEASE of close() is
 * asynchronous.
 *
 * NAME is hook-AGENT-PID-RANDOM: unique per call, so no two calls share a
 * record, and O_EXCL makes sure of it. The name is not unlinked after the
 * verdict: an unlink would be one more FUSE round trip on every tool call
 * of every agent, and the daemon already bounds what stays listed
 * (result_ttl, max_results) while the event store keeps every request and
 * verdict forever. Until it expires, results/NAME shows the verdict to an
 * admin who wants to look.
 *
 * Why a child process. The agent waits for the hook process to exit, and
 * for its stdout and stderr to close. A FUSE request to a daemon that is
 * stopped (SIGSTOP, a debugger, a livelock) cannot be interrupted by a
 * signal the process handles: the kernel sends the daemon an INTERRUPT and
 * then waits for its answer, killable only by a fatal signal -- and if the
 * daemon had already read the request, not even that. A SIGALRM without
 * SA_RESTART works only while the daemon is alive (lighthoused answers an
 * interrupted parked read with EINTR). So the mount is touched only by a
 * child, whose stdin, stdout and stderr are /dev/null; the parent waits
 * for the child's answer on a pipe with poll() until the deadline, then
 * kills the child and answers the agent itself. A child stuck in the
 * kernel holds nothing the agent waits for. PR_SET_PDEATHSIG takes the
 * child down with the parent.
 *
 * The child tells the parent what happened on the pipe:
 *
 *   "ok\n" VERDICT "\0" [VERDICT "\0" ...]     one per request, in order
 *   "err STAGE ERRNO\n"                       STAGE: open, nomount,
 *                                             norequests, exists, write,
 *                                             read, empty
 *
 * A write refused with EFBIG (the request is over the daemon's
 * max_request) is not an error here: the daemon has counted the bytes and
 * its verdict says "invalid request: too large", which is recorded.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "hook/hook.h"
#include "common/banned.h"

#define VERDICT_MAX 65536	/* one read of the channel; a verdict is far smaller */

/* ---- the child: touches the mount ------------------------------------------------ */

static void say(int fd, const char *p, size_t n)
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

static void fail(int fd, const char *stage, int e)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "err %s %d\n", stage, e);

	say(fd, line, (size_t)n);
	_exit(0);
}

static void detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

static void child(const char *mount, const char *name, const struct lh_hook_reqs *reqs, int out,
		  pid_t parent)
{
	struct lh_buf path = LH_BUF_INIT, msg = LH_BUF_INIT;
	static char verdict[VERDICT_MAX];
	size_t k;
	int fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	detach_stdio();
	lh_buf_addf(&path, "%s/requests/%s", mount, name);
	fd = open(path.data, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		struct stat st;

		if (e == ENOENT)
			fail(out, stat(mount, &st) ? "nomount" : "norequests", e);
		fail(out, e == EEXIST ? "exists" : "open", e);
	}
	lh_buf_adds(&msg, "ok\n");
	for (k = 0; k < reqs->n; k++) {
		const char *p = reqs->r[k].data;
		size_t left = reqs->r[k].len;
		ssize_t n;

		while (left) {
			n = write(fd, p, left);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EFBIG)
				break;		/* the daemon's verdict will say so */
			if (n < 0)
				fail(out, "write", errno);
			p += n;
			left -= (size_t)n;
		}
		do
			n = read(fd, verdict, sizeof(verdict));
		while (n < 0 && errno == EINTR);
		if (n < 0)
			fail(out, "read", errno);
		if (n == 0) {
			/* a plain directory, not a mount: take the request back */
			unlink(path.data);
			fail(out, "empty", 0);
		}
		lh_buf_add(&msg, verdict, (size_t)n);
		lh_buf_addc(&msg, '\0');
	}
	say(out, msg.data, msg.len);
	_exit(0);
}

/* ---- the parent: waits, with a deadline -------------------------------------------- */

static void stage_reason(const char *stage, int e, const char *mount, struct lh_buf *err)
{
	if (!strcmp(stage, "nomount"))
		lh_buf_addf(err, "there is no Lighthouse mount at %s (%s); start lighthoused there, "
			    "or point the hook at the mount with --mount or LIGHTHOUSE_MOUNT",
			    mount, strerror(e));
	else if (!strcmp(stage, "norequests") || !strcmp(stage, "empty"))
		lh_buf_addf(err, "%s is not a Lighthouse mount (no verdict from %s/requests); start "
			    "lighthoused there, or point the hook at the mount with --mount or "
			    "LIGHTHOUSE_MOUNT", mount, mount);
	else if (e == ENOTCONN)
		lh_buf_addf(err, "the Lighthouse daemon behind %s is gone (%s); restart it", mount,
			    strerror(e));
	else if (e == EACCES || e == EPERM)
		lh_buf_addf(err, "no permission to submit requests at %s/requests (%s)", mount,
			    strerror(e));
	else
		lh_buf_addf(err, "cannot %s the request at %s/requests: %s",
			    !strcmp(stage, "open") ? "create" : stage, mount, strerror(e));
}

/* Has the child said all it will say: an error line, or n verdicts? */
static int complete(const struct lh_buf *got, size_t n)
{
	if (got->len >= 4 && !memcmp(got->data, "err ", 4))
		return memchr(got->data, '\n', got->len) != NULL;
	if (got->len < 3)
		return 0;
	{
		const char *p = got->data + 3, *end = got->data + got->len;

		while (n && (p = memchr(p, '\0', (size_t)(end - p)))) {
			p++;
			n--;
		}
	}
	return n == 0;
}

/*
 * Read the child's answer until it is complete, EOF, or the deadline. We
 * do not wait for the child to exit: tearing a process down takes time
 * the agent need not spend (the zombie is reaped when we are gone).
 * 0, -ETIMEDOUT or -errno.
 */
static int collect(int fd, int64_t deadline_ns, size_t nreq, struct lh_buf *got)
{
	char chunk[16384];

	for (;;) {
		int64_t left = deadline_ns - lh_mono_ns();
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int rc;

		if (left <= 0)
			return -ETIMEDOUT;
		rc = poll(&pfd, 1, (int)((left + 999999) / 1000000));
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (rc <= 0)
			continue;
		n = read(fd, chunk, sizeof(chunk));
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (lh_buf_add(got, chunk, (size_t)n))
			return -E2BIG;
		if (complete(got, nreq))
			return 0;
	}
}

int lh_hook_submit(const char *mount, const char *name, const struct lh_hook_reqs *reqs,
		   int64_t deadline_ns, struct lh_hook_verdict *v, struct lh_buf *err)
{
	struct lh_buf got;
	pid_t pid, self = getpid();
	int p[2], rc;

	lh_buf_init(&got, (VERDICT_MAX + 1) * LH_HOOK_MAX_REQUESTS + 64);
	if (pipe2(p, O_CLOEXEC)) {
		rc = -errno;
		lh_buf_addf(err, "cannot make a pipe: %s", strerror(-rc));
		return rc;
	}
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		lh_buf_addf(err, "cannot fork: %s", strerror(-rc));
		close(p[0]);
		close(p[1]);
		return rc;
	}
	if (pid == 0) {
		close(p[0]);
		child(mount, name, reqs, p[1], self);
	}
	close(p[1]);
	rc = collect(p[0], deadline_ns, reqs->n, &got);
	close(p[0]);
	if (rc) {
		/* stuck in the mount, or gone strange: it must not outlive us */
		kill(pid, SIGKILL);
		waitpid(pid, NULL, WNOHANG);
		if (rc == -ETIMEDOUT)
			lh_buf_addf(err, "the Lighthouse daemon at %s did not answer in time", mount);
		else
			lh_buf_addf(err, "lost the answer from %s: %s", mount, strerror(-rc));
		goto out;
	}
	if (!strncmp(got.data, "err ", 4)) {
		char stage[16] = "";
		int e = 0;

		if (sscanf(got.data + 4, "%15s %d", stage, &e) != 2) {
			rc = -EPROTO;
			lh_buf_addf(err, "the request at %s failed in an unknown way", mount);
			goto out;
		}
		rc = !strcmp(stage, "exists") ? -EEXIST : -(e ? e : ENOENT);
		stage_reason(stage, e, mount, err);
		goto out;
	}
	if (strncmp(got.data, "ok\n", 3)) {
		rc = -EPROTO;
		lh_buf_addf(err, "the request at %s failed in an unknown way", mount);
		goto out;
	}
	{
		const char *at = got.data + 3, *end = got.data + got.len;
		size_t k;

		for (k = 0; k < reqs->n; k++) {
			const char *nul = memchr(at, '\0', (size_t)(end - at));
			struct lh_hook_verdict one;

			if (!nul || lh_hook_verdict_parse(at, (size_t)(nul - at), &one)) {
				rc = -EPROTO;
				lh_buf_addf(err, "the answer from %s is not a Lighthouse verdict", mount);
				goto out;
			}
			if (k == 0)
				*v = one;
			else
				lh_hook_verdict_merge(v, &one);
			at = nul + 1;
		}
	}
	rc = 0;
out:
	lh_buf_release(&got);
	return rc;
}

/* ---- verdicts ------------------------------------------------------------------------ */

static void copy_field(char *dst, size_t cap, const char *p, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, p, n);
	dst[n] = '\0';
}

int lh_hook_verdict_parse(const char *text, size_t len, struct lh_hook_verdict *v)
{
	const char *p = text, *end = text + len;
	int have_reason = 0;

	memset(v, 0, sizeof(*v));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (p == text) {
			if (n == 5 && !memcmp(p, "allow", 5))
				v->decision = LH_HOOK_ALLOW;
			else if (n == 3 && !memcmp(p, "ask", 3))
				v->decision = LH_HOOK_ASK;
			else if (n == 4 && !memcmp(p, "deny", 4))
				v->decision = LH_HOOK_DENY;
			else
				return -EINVAL;
		} else if (n > 8 && !memcmp(p, "reason: ", 8)) {
			copy_field(v->reason, sizeof(v->reason), p + 8, n - 8);
			have_reason = 1;
		} else if (n > 6 && !memcmp(p, "rule: ", 6)) {
			copy_field(v->rule, sizeof(v->rule), p + 6, n - 6);
			if (!strcmp(v->rule, "-"))
				v->rule[0] = '\0';
		} else if (n > 9 && !memcmp(p, "request: ", 9)) {
			copy_field(v->request, sizeof(v->request), p + 9, n - 9);
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	return p == text || !have_reason ? -EINVAL : 0;
}

void lh_hook_verdict_merge(struct lh_hook_verdict *acc, const struct lh_hook_verdict *v)
{
	/* deny > ask > allow; among equals the first stays */
	if (v->decision > acc->decision)
		*acc = *v;
}

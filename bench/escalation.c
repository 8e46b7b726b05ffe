/*
 * escalation.c -- what escalating a request costs on top of the people
 * and experts who decide it: the time from the agent's request to an
 * expert seeing it, and from the expert's decision to the agent's blocked
 * read returning, while other escalations wait.
 *
 *   bench/escalation [--n N] [--pending P] [--lighthoused PATH]
 *
 * lighthoused is started on a private mount (under /tmp) with a policy
 * that escalates two commands, and two experts are registered:
 *
 *   idle   capabilities `bg`: P escalations (`bench-bg job I`) are offered
 *          to it first and left there, each with an agent thread blocked
 *          in a read of its result -- the load the measured ones meet;
 *   bench  capabilities `fg`: a thread playing a scripted expert.
 *
 * Each of N timed round (after a few untimed ones):
 *
 *   1. the expert thread opens experts/bench/next and reads it; the read
 *      parks, as `head -1 next` does in a shell expert;
 *   2. the agent (the main thread) takes t0 and writes requests/fg-I
 *      (`bench-fg job I`: open, write, close), then reads results/fg-I,
 *      which blocks;
 *   3. the expert's read returns the request's id: t_seen. It claims the
 *      request (rename queue/ID inprogress/ID), takes t_dec and writes
 *      its decision into inprogress/ID (open, write, close);
 *   4. the agent's read returns the verdict: t_ret; it must be allow.
 *
 *   to_expert = t_seen - t0     request written -> the expert sees it
 *   to_agent  = t_ret - t_dec   decision written -> the agent has it
 *
 * Both include the FUSE requests of the writes (the close of a request or
 * a decision is answered before the daemon judges it; judging, recording
 * and routing run in its RELEASE) and the journal append that makes each
 * durable. For scale, the same run measures an ordinary round trip (a
 * fresh command the policy allows, write then read) on the same mount.
 *
 * At the end the idle expert decides its P escalations, every parked
 * agent read must return allow, and lighthoused is stopped (SIGTERM).
 *
 * Output, one figure a line (`metric value unit`):
 *
 *   escalation.pending 100 escalations
 *   escalation.to_expert.p50 180.2 us
 *   escalation.to_agent.p99 420.0 us
 *   roundtrip.allow.p50 95.1 us
 *
 * Exit status 1 when a verdict is wrong or the mount fails.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/xalloc.h"
#include "common/banned.h"

#define WARMUP 20
#define VERDICT_MAX 4096
#define WAIT_TRIES 600		/* of 100 ms: a minute for a loaded machine */

static const char *policy_text =
	"include builtin:default\n"
	"rule bench.fg escalate\n"
	"  command bench-fg\n"
	"  tags fg\n"
	"  reason the benchmark's measured escalations\n"
	"rule bench.bg escalate\n"
	"  command bench-bg\n"
	"  tags bg\n"
	"  reason the benchmark's waiting escalations\n";

static char mnt[256];		/* under /tmp: short */

/* One round between the agent (main thread) and the expert thread. */
struct round {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int go;				/* agent -> expert: read next */
	int reading;			/* expert -> agent: about to read */
	int done;			/* expert -> agent: decided */
	int failed;
	int64_t t_seen, t_dec;
};

static struct round rd = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0, 0 };
static unsigned long rounds;

/* out = the mount point, then fmt: a path in the mount */
static void __attribute__((format(printf, 2, 3))) mpath(char out[PATH_MAX], const char *fmt, ...)
{
	va_list ap;
	size_t n = (size_t)snprintf(out, PATH_MAX, "%s/", mnt);

	va_start(ap, fmt);
	vsnprintf(out + n, PATH_MAX - n, fmt, ap);
	va_end(ap);
}

static int write_file(const char *path, const char *text, int flags)
{
	size_t len = strlen(text);
	int fd = open(path, flags, 0644), rc = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		rc = -EIO;
	if (close(fd) && !rc)
		rc = -errno;
	return rc;
}

/* Read a whole file (blocking as it may); 0 and its text, or -errno. */
static int read_file(const char *path, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -errno;
	while (got + 1 < size && (n = read(fd, buf + got, size - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	n = n < 0 ? -errno : 0;
	close(fd);
	return (int)n;
}

static int is_allow(const char *verdict)
{
	return !strncmp(verdict, "allow\n", 6);
}

/* Claim request `id` of expert `name` and decide allow. */
static int decide(const char *name, const char *id, int64_t *t_dec)
{
	char from[PATH_MAX], to[PATH_MAX];
	int rc;

	mpath(from, "experts/%s/queue/%s", name, id);
	mpath(to, "experts/%s/inprogress/%s", name, id);
	if (rename(from, to))
		return -errno;
	if (t_dec)
		*t_dec = lh_mono_ns();
	rc = write_file(to, "allow\nreason: the benchmark allows it\n", O_WRONLY | O_TRUNC);
	return rc;
}

static void *expert_main(void *arg)
{
	char next[PATH_MAX], ids[VERDICT_MAX], *nl;
	unsigned long i;

	(void)arg;
	mpath(next, "experts/bench/next");
	for (i = 0; i < rounds; i++) {
		int64_t t_seen, t_dec = 0;
		int rc, fd;
		ssize_t n;

		pthread_mutex_lock(&rd.mu);
		while (!rd.go)
			pthread_cond_wait(&rd.cv, &rd.mu);
		rd.go = 0;
		pthread_mutex_unlock(&rd.mu);
		fd = open(next, O_RDONLY);
		pthread_mutex_lock(&rd.mu);
		rd.reading = 1;
		pthread_cond_broadcast(&rd.cv);
		pthread_mutex_unlock(&rd.mu);
		n = fd < 0 ? -1 : read(fd, ids, sizeof(ids) - 1);
		t_seen = lh_mono_ns();
		if (fd >= 0)
			close(fd);
		rc = n > 0 ? 0 : -EIO;
		if (!rc) {
			ids[n] = '\0';
			nl = strchr(ids, '\n');
			if (nl)
				*nl = '\0';
			rc = decide("bench", ids, &t_dec);
		}
		if (rc)
			fprintf(stderr, "bench/escalation: the expert failed in round %lu: %s\n", i, strerror(-rc));
		pthread_mutex_lock(&rd.mu);
		rd.t_seen = t_seen;
		rd.t_dec = t_dec;
		rd.failed = rc != 0;
		rd.done = 1;
		pthread_cond_broadcast(&rd.cv);
		pthread_mutex_unlock(&rd.mu);
		if (rc)
			break;
	}
	return NULL;
}

/* An agent blocked in the read of one waiting escalation's result. */
struct waiter {
	pthread_t th;
	char name[32];
	int ok;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	char path[PATH_MAX], verdict[VERDICT_MAX];

	mpath(path, "results/%s", w->name);
	w->ok = !read_file(path, verdict, sizeof(verdict)) && is_allow(verdict);
	if (!w->ok)
		fprintf(stderr, "bench/escalation: %s: not allowed: %.60s\n", w->name, verdict);
	return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct(int64_t *v, size_t n, double p)
{
	size_t k = (size_t)(p * (double)(n - 1) + 0.5);

	return (double)v[k] / 1000.0;
}

static void report(const char *metric, int64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_i64);
	printf("%s.p50 %.1f us\n", metric, pct(v, n, 0.50));
	printf("%s.p99 %.1f us\n", metric, pct(v, n, 0.99));
	printf("%s.max %.1f us\n", metric, pct(v, n, 1.0));
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	return nanosleep(&ts, NULL);
}

static int mounted(void)
{
	char path[PATH_MAX], line[256];
	FILE *f;
	int up = 0;

	mpath(path, "stats");
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strcmp(line, "lighthouse_up 1\n"))
			up = 1;
	if (f)
		fclose(f);
	return up;
}

/* after the daemon stopped: is its mount point still in /proc/mounts? */
static int still_mounted(void)
{
	char line[PATH_MAX + 256], want[sizeof(mnt) + 2];
	FILE *f = fopen("/proc/mounts", "r");
	int yes = 0;

	snprintf(want, sizeof(want), " %s ", mnt);
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, want))
			yes = 1;
	if (f)
		fclose(f);
	return yes;
}

static pid_t start_daemon(const char *lighthoused, const char *base)
{
	char state[512], proj[512], policy[512], prog[PATH_MAX];
	pid_t pid;
	int tries = 0;

	/* the daemon runs in its project folder: a relative path would not do */
	if (!realpath(lighthoused, prog)) {
		fprintf(stderr, "bench/escalation: '%s': %s\n", lighthoused, strerror(errno));
		return -1;
	}

	snprintf(state, sizeof(state), "%s/state", base);
	snprintf(proj, sizeof(proj), "%s/project", base);
	snprintf(policy, sizeof(policy), "%s/bench.policy", base);
	if (mkdir(mnt, 0700) || mkdir(state, 0700) || mkdir(proj, 0700) ||
	    write_file(policy, policy_text, O_WRONLY | O_CREAT | O_TRUNC)) {
		perror("bench/escalation: cannot prepare its folder");
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		if (chdir(proj))
			_exit(127);
		execl(prog, "lighthoused", "-f", "--state", state, "--policy", policy,
		      "-o", "escalation_timeout=3600", "-o", "claim_timeout=3600",
		      "-o", "rate_agent=0", "-o", "rate_uid=0", mnt, (char *)NULL);
		fprintf(stderr, "bench/escalation: cannot run '%s': %s\n", lighthoused, strerror(errno));
		_exit(127);
	}
	while (pid > 0 && !mounted()) {
		if (++tries > WAIT_TRIES * 2 || waitpid(pid, NULL, WNOHANG) == pid) {
			fprintf(stderr, "bench/escalation: lighthoused did not mount on '%s'\n", mnt);
			kill(pid, SIGTERM);
			waitpid(pid, NULL, 0);
			return -1;
		}
		sleep_ms(50);
	}
	return pid;
}

static int add_expert(const char *name, const char *caps)
{
	char path[PATH_MAX];

	mpath(path, "experts/%s", name);
	if (mkdir(path, 0755))
		return -errno;
	mpath(path, "experts/%s/capabilities", name);
	return write_file(path, caps, O_WRONLY | O_TRUNC);
}

static int nwaiters;		/* agent threads started by load_up */

/* The P escalations that wait, each with an agent blocked on its result. */
static int load_up(struct waiter *w, int pending)
{
	char path[PATH_MAX], text[64], queue[PATH_MAX];
	int i, tries = 0;

	for (i = 0; i < pending; i++) {
		snprintf(w[i].name, sizeof(w[i].name), "bg-%d", i);
		mpath(path, "requests/%s", w[i].name);
		snprintf(text, sizeof(text), "bench-bg job %d\n", i);
		if (write_file(path, text, O_WRONLY | O_CREAT | O_TRUNC)) {
			perror("bench/escalation: cannot write a request");
			return -1;
		}
		if (pthread_create(&w[i].th, NULL, waiter_main, &w[i])) {
			fprintf(stderr, "bench/escalation: cannot start a waiting agent\n");
			return -1;
		}
		nwaiters++;
	}
	mpath(queue, "experts/idle/queue");
	while (count_entries(queue) < pending) {
		if (++tries > WAIT_TRIES) {
			fprintf(stderr, "bench/escalation: only %d of %d escalations reached the idle expert\n",
				count_entries(queue), pending);
			return -1;
		}
		sleep_ms(100);
	}
	return 0;
}

/* The idle expert decides what it holds; every waiting agent must get allow. */
static int unload(struct waiter *w, int pending)
{
	char next[PATH_MAX], *ids = xmalloc(65536), *p, *nl;
	int i, bad = 0, rc;

	mpath(next, "experts/idle/next");
	rc = read_file(next, ids, 65536);
	for (p = ids; !rc && *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			break;
		*nl = '\0';
		if (decide("idle", p, NULL))
			bad++;
	}
	free(ids);
	for (i = 0; i < nwaiters; i++) {
		pthread_join(w[i].th, NULL);
		bad += !w[i].ok;
	}
	return rc || bad || nwaiters < pending ? -1 : 0;
}

/* One ordinary round trip: a fresh command the policy allows. */
static int plain_round(unsigned long i, int64_t *ns)
{
	char path[PATH_MAX], name[32], text[64], verdict[VERDICT_MAX];
	int64_t t0 = lh_mono_ns();

	snprintf(name, sizeof(name), "rt-%lu", i);
	snprintf(text, sizeof(text), "ls /tmp/fresh-%lu\n", i);
	mpath(path, "requests/%s", name);
	if (write_file(path, text, O_WRONLY | O_CREAT | O_TRUNC))
		return -1;
	mpath(path, "results/%s", name);
	if (read_file(path, verdict, sizeof(verdict)) || !is_allow(verdict))
		return -1;
	*ns = lh_mono_ns() - t0;
	return 0;
}

int main(int argc, char **argv)
{
	const char *lighthoused = "fs/lighthoused";
	unsigned long n = 300, i;
	int pending = 100, rc = 1, k;
	char base[] = "/tmp/lh-bench-esc.XXXXXX", cmd[PATH_MAX + 16];
	int64_t *to_expert, *to_agent, *whole, *plain;
	struct waiter *w;
	pthread_t expert;
	pid_t pid;

	for (k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--n") && k + 1 < argc)
			n = strtoul(argv[++k], NULL, 10);
		else if (!strcmp(argv[k], "--pending") && k + 1 < argc)
			pending = (int)strtol(argv[++k], NULL, 10);
		else if (!strcmp(argv[k], "--lighthoused") && k + 1 < argc)
			lighthoused = argv[++k];
		else
			goto usage;
	}
	if (n < 1 || n > 1000000 || pending < 0 || pending > 10000)
		goto usage;
	if (access("/dev/fuse", R_OK | W_OK)) {
		printf("# skipped: /dev/fuse is not usable here\n");
		return 0;
	}
	if (!mkdtemp(base)) {
		perror("bench/escalation: mkdtemp");
		return 1;
	}
	snprintf(mnt, sizeof(mnt), "%s/mnt", base);
	to_expert = xcalloc(n, sizeof(*to_expert));
	to_agent = xcalloc(n, sizeof(*to_agent));
	whole = xcalloc(n, sizeof(*whole));
	plain = xcalloc(n, sizeof(*plain));
	w = xcalloc((size_t)pending + 1, sizeof(*w));
	pid = start_daemon(lighthoused, base);
	if (pid < 0)
		goto out_dir;
	if (add_expert("idle", "bg\n") || add_expert("bench", "fg\n")) {
		perror("bench/escalation: cannot register the experts");
		goto out_daemon;
	}
	if (load_up(w, pending))
		goto out_daemon;
	rounds = n + WARMUP;
	if (pthread_create(&expert, NULL, expert_main, NULL))
		goto out_daemon;
	for (i = 0; i < rounds; i++) {
		char path[PATH_MAX], name[32], text[64], verdict[VERDICT_MAX];
		int64_t t0, t_ret;
		int bad;

		/* let the expert park its read of next first */
		pthread_mutex_lock(&rd.mu);
		rd.go = 1;
		rd.reading = 0;
		rd.done = 0;
		pthread_cond_broadcast(&rd.cv);
		while (!rd.reading)
			pthread_cond_wait(&rd.cv, &rd.mu);
		pthread_mutex_unlock(&rd.mu);
		sleep_ms(1);
		snprintf(name, sizeof(name), "fg-%lu", i);
		snprintf(text, sizeof(text), "bench-fg job %lu\n", i);
		t0 = lh_mono_ns();
		mpath(path, "requests/%s", name);
		bad = write_file(path, text, O_WRONLY | O_CREAT | O_TRUNC) != 0;
		mpath(path, "results/%s", name);
		bad |= read_file(path, verdict, sizeof(verdict)) != 0 || !is_allow(verdict);
		t_ret = lh_mono_ns();
		pthread_mutex_lock(&rd.mu);
		while (!rd.done)
			pthread_cond_wait(&rd.cv, &rd.mu);
		bad |= rd.failed;
		if (i >= WARMUP) {
			to_expert[i - WARMUP] = rd.t_seen - t0;
			to_agent[i - WARMUP] = t_ret - rd.t_dec;
			whole[i - WARMUP] = t_ret - t0;
		}
		pthread_mutex_unlock(&rd.mu);
		if (bad) {
			fprintf(stderr, "bench/escalation: round %lu failed: %.60s\n", i, verdict);
			pthread_join(expert, NULL);
			goto out_unload;
		}
	}
	pthread_join(expert, NULL);
	for (i = 0; i < n + WARMUP; i++) {
		int64_t ns;

		if (plain_round(i, &ns)) {
			fprintf(stderr, "bench/escalation: an ordinary round trip failed\n");
			goto out_unload;
		}
		if (i >= WARMUP)
			plain[i - WARMUP] = ns;
	}
	printf("# %lu escalations decided by a scripted expert, %d others pending\n", n, pending);
	printf("escalation.pending %d escalations\n", pending);
	report("escalation.to_expert", to_expert, n);
	report("escalation.to_agent", to_agent, n);
	report("escalation.whole", whole, n);
	report("roundtrip.allow", plain, n);
	fflush(stdout);
	rc = 0;
out_unload:
	if (unload(w, pending)) {
		fprintf(stderr, "bench/escalation: the waiting escalations did not all end in allow\n");
		rc = 1;
	}
out_daemon:
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	if (still_mounted()) {
		snprintf(cmd, sizeof(cmd), "fusermount3 -u -z '%s'", mnt);
		if (system(cmd))
			fprintf(stderr, "bench/escalation: cannot unmount '%s'\n", mnt);
	}
out_dir:
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd))
		fprintf(stderr, "bench/escalation: cannot remove '%s'\n", base);
	free(to_expert);
	free(to_agent);
	free(whole);
	free(plain);
	free(w);
	return rc;
usage:
	fprintf(stderr, "usage: bench/escalation [--n N] [--pending P] [--lighthoused PATH]\n");
	return 2;
}

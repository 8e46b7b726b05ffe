/*
 * hook-bench.c -- what a hook costs the agent: process start to exit.
 *
 *   hook-bench [-n RUNS] NAME COMMAND PAYLOAD [NAME COMMAND PAYLOAD ...]
 *
 * Each run starts `/bin/sh -c COMMAND` the way an agent starts its hook:
 * the payload written into a pipe on stdin, stdout and stderr read from
 * pipes until they close, then the exit status collected. The time is
 * from just before the spawn to just after the wait. The cases run
 * interleaved (one run of each, RUNS times), so that whatever else the
 * machine does falls on all of them alike; the first case is the floor
 * the others are compared with, in the same run.
 *
 * Prints `metric value unit` lines: median, p90 and p99 per case, then
 * for each other case its median minus the floor's, and their ratio.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/xalloc.h"
#include "common/banned.h"

extern char **environ;

struct bcase {
	const char *name;
	const char *command;
	struct lh_buf payload;
	int64_t *ns;
	int bad;			/* runs whose exit status was not 0 or 2 */
};

static int slurp(const char *path, struct lh_buf *b)
{
	char chunk[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		lh_buf_add(b, chunk, (size_t)n);
	close(fd);
	return n < 0 ? -EIO : 0;
}

/* One run; returns the exit status, or -1. */
static int run_once(struct bcase *c, int64_t *ns)
{
	int in[2], out[2];
	posix_spawn_file_actions_t fa;
	char sh[] = "sh", dash_c[] = "-c";
	char *argv[] = { sh, dash_c, (char *)c->command, NULL };
	size_t off = 0;
	int64_t t0;
	pid_t pid;
	int status = -1, done_in = 0, done_out = 0;

	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, out[1], 2);
	t0 = lh_mono_ns();
	if (posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ)) {
		posix_spawn_file_actions_destroy(&fa);
		return -1;
	}
	close(in[0]);
	close(out[1]);
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	/* feed stdin, drain stdout and stderr until the hook has closed them */
	while (!done_out) {
		struct pollfd p[2] = { { .fd = out[0], .events = POLLIN },
				       { .fd = in[1], .events = POLLOUT } };
		char sink[65536];
		ssize_t n;

		if (poll(p, done_in ? 1 : 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents) {
			n = read(out[0], sink, sizeof(sink));
			if (n == 0 || (n < 0 && errno != EINTR))
				done_out = 1;
		}
		if (!done_in && p[1].revents) {
			n = write(in[1], c->payload.data + off, c->payload.len - off);
			if (n > 0)
				off += (size_t)n;
			if ((n < 0 && errno != EAGAIN && errno != EINTR) || off == c->payload.len) {
				close(in[1]);	/* EPIPE too: a hook need not read it all */
				done_in = 1;
			}
		}
	}
	if (!done_in)
		close(in[1]);
	close(out[0]);
	waitpid(pid, &status, 0);
	*ns = lh_mono_ns() - t0;
	posix_spawn_file_actions_destroy(&fa);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct(const int64_t *sorted, int n, double p)
{
	int k = (int)(p * (n - 1) + 0.5);

	return (double)sorted[k] / 1e6;
}

int main(int argc, char **argv)
{
	struct bcase *cases;
	int runs = 200, ncase, i, k, a = 1;

	signal(SIGPIPE, SIG_IGN);
	if (argc > 2 && !strcmp(argv[1], "-n")) {
		runs = (int)strtol(argv[2], NULL, 10);
		a = 3;
	}
	if (runs < 5 || argc - a < 3 || (argc - a) % 3) {
		fprintf(stderr, "usage: hook-bench [-n RUNS] NAME COMMAND PAYLOAD [NAME COMMAND PAYLOAD ...]\n");
		return 2;
	}
	ncase = (argc - a) / 3;
	cases = xcalloc((size_t)ncase, sizeof(*cases));
	for (k = 0; k < ncase; k++) {
		cases[k].name = argv[a + 3 * k];
		cases[k].command = argv[a + 3 * k + 1];
		if (slurp(argv[a + 3 * k + 2], &cases[k].payload)) {
			fprintf(stderr, "hook-bench: cannot read '%s'\n", argv[a + 3 * k + 2]);
			return 1;
		}
		cases[k].ns = xcalloc((size_t)runs, sizeof(int64_t));
	}
	for (k = 0; k < ncase; k++) {		/* warm the page cache and the verdict cache */
		int64_t ns;

		run_once(&cases[k], &ns);
	}
	for (i = 0; i < runs; i++)
		for (k = 0; k < ncase; k++) {
			int st = run_once(&cases[k], &cases[k].ns[i]);

			if (st != 0 && st != 2)
				cases[k].bad++;
		}
	for (k = 0; k < ncase; k++) {
		qsort(cases[k].ns, (size_t)runs, sizeof(int64_t), cmp64);
		printf("hook_%s_median %.3f ms\n", cases[k].name, pct(cases[k].ns, runs, 0.5));
		printf("hook_%s_p90 %.3f ms\n", cases[k].name, pct(cases[k].ns, runs, 0.9));
		printf("hook_%s_p99 %.3f ms\n", cases[k].name, pct(cases[k].ns, runs, 0.99));
		if (cases[k].bad)
			printf("hook_%s_failed_runs %d runs\n", cases[k].name, cases[k].bad);
	}
	for (k = 1; k < ncase; k++) {
		double f = pct(cases[0].ns, runs, 0.5), m = pct(cases[k].ns, runs, 0.5);

		printf("hook_%s_minus_%s %.3f ms\n", cases[k].name, cases[0].name, m - f);
		printf("hook_%s_ratio_to_%s %.2f x\n", cases[k].name, cases[0].name, m / f);
	}
	printf("hook_runs %d runs\n", runs);
	for (k = 0; k < ncase; k++) {
		lh_buf_release(&cases[k].payload);
		free(cases[k].ns);
	}
	free(cases);
	return 0;
}

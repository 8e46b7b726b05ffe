/*
 * judge.c -- what a verdict costs inside the daemon, without the mount.
 *
 *   judge [--n N] LABEL
 *
 * Calls lh_validator_judge on one thread the way lighthoused does (the
 * built-in policy, a 1 Mi entry verdict cache, the caller's cwd, home and
 * user) for the commands bench/roundtrip sends: a cached one (`git
 * status`, judged once before timing so the cache holds it) and fresh ones
 * (`ls /tmp/fresh-...`, unique each time, so the policy and the risk tier
 * judge every one). It leaves out what lighthoused adds around the call:
 * the FUSE requests, the event store commit, rendering the verdict.
 *
 * Each call is timed with the monotonic clock; the clock's own cost is
 * printed too (timer_overhead), as it is not negligible against a cache
 * hit. Throughput is verdicts per second over the whole loop on one
 * thread, releasing each decoded request as lighthoused does.
 *
 * Output: `LABEL.judge.cached.p50 180 ns`, `...p99`, `...throughput`,
 * `...cache_hits` (should be 100 % cached, 0 % fresh).
 *
 * Then the same for what current/ asks of the policy on every create,
 * unlink or open for writing (lh_validator_judge_file: `Write PATH`): a
 * file of the project judged before (`judge.file_cached`) and a new name
 * each time (`judge.file_fresh`, as a storm of creates asks), so that every
 * path class of the policy is tested against it; and both again with the
 * CPU caches emptied before each call (`_cold`), as the daemon meets them
 * between two requests: the figure that counts for a storm.
 */
#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/xalloc.h"
#include "validator/validator.h"
#include "common/banned.h"

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int64_t pct(const int64_t *v, size_t n, double p)
{
	size_t k = (size_t)(p * (double)n + 0.999999);

	if (k < 1)
		k = 1;
	return v[(k > n ? n : k) - 1];
}

struct bench {
	struct lh_validator *v;
	struct lh_judge_in in;		/* cwd, home and user; data set per call */
	int64_t *lat;
	size_t n;
};

static void report(struct bench *b, const char *label, const char *what, int64_t t_start,
		   int64_t t_end, unsigned long hits)
{
	qsort(b->lat, b->n, sizeof(*b->lat), cmp_i64);
	printf("%s.judge.%s.p50 %" PRId64 " ns\n", label, what, pct(b->lat, b->n, 0.50));
	printf("%s.judge.%s.p99 %" PRId64 " ns\n", label, what, pct(b->lat, b->n, 0.99));
	printf("%s.judge.%s.throughput %.0f verdicts/s\n", label, what,
	       (double)b->n * 1e9 / (double)(t_end - t_start));
	printf("%s.judge.%s.cache_hits %.0f %%\n", label, what,
	       100.0 * (double)hits / (double)b->n);
}

/*
 * Write PATH of a project file, as current/ judges a create or unlink.
 * cold: between two calls, walk a buffer larger than the CPU's L2, as the
 * kernel's and FUSE's work between two requests of a storm does.
 */
static void run_file(struct bench *b, const char *label, const char *project, int fresh, int cold)
{
	static volatile unsigned char *evict;
	const size_t evict_size = (size_t)8 << 20;
	char path[4200], what[32];
	unsigned long hits = 0;
	int64_t t_start, t_end;
	size_t i;

	t_start = lh_mono_ns();
	for (i = 0; i < b->n; i++) {
		struct lh_verdict vd;
		int64_t t0;

		if (fresh)
			/* not the names of a run before: the cache must not hold them */
			snprintf(path, sizeof(path), "%s/storm.%ld.%s/s%zu", project, (long)getpid(),
				 cold ? "cold" : "warm", i);
		else
			snprintf(path, sizeof(path), "%s/src/main.c", project);
		if (cold) {
			size_t k;

			if (!evict)
				evict = xcalloc(1, evict_size);
			for (k = 0; k < evict_size; k += 64)
				evict[k]++;
		}
		t0 = lh_mono_ns();
		lh_validator_judge_file(b->v, LH_FILE_WRITE, path, b->in.home, b->in.user, &vd);
		b->lat[i] = lh_mono_ns() - t0;
		hits += vd.cached;
		if (vd.decision != LH_ALLOW) {
			fprintf(stderr, "judge: Write %s: not allowed (%s)\n", path, vd.rule);
			exit(1);
		}
	}
	t_end = lh_mono_ns();
	snprintf(what, sizeof(what), "file_%s%s", fresh ? "fresh" : "cached", cold ? "_cold" : "");
	report(b, label, what, t_start, t_end, hits);
}

static void run(struct bench *b, const char *label, int fresh)
{
	char cmd[128];
	unsigned long hits = 0;
	int64_t t_start, t_end;
	size_t i;

	t_start = lh_mono_ns();
	for (i = 0; i < b->n; i++) {
		struct lh_request req;
		struct lh_verdict vd;
		int64_t t0;
		int len;

		if (fresh)
			len = snprintf(cmd, sizeof(cmd), "ls /tmp/fresh-judge-%ld-%zu\n",
				       (long)getpid(), i);
		else
			len = snprintf(cmd, sizeof(cmd), "git status\n");
		b->in.data = cmd;
		b->in.len = b->in.total = (size_t)len;
		t0 = lh_mono_ns();
		lh_validator_judge(b->v, &b->in, &req, &vd);
		b->lat[i] = lh_mono_ns() - t0;
		hits += vd.cached;
		lh_request_release(&req);
	}
	t_end = lh_mono_ns();
	report(b, label, fresh ? "fresh" : "cached", t_start, t_end, hits);
}

int main(int argc, char **argv)
{
	struct lh_buf err = LH_BUF_INIT;
	struct lh_validator_opts vo;
	struct lh_policy *pol;
	struct lh_request req;
	struct lh_verdict vd;
	struct bench b;
	struct passwd *pw = getpwuid(getuid());
	unsigned long n = 20000;
	const char *label;
	char cwd[4096];
	int64_t t0, min = INT64_MAX;
	char *end;
	int i = 1, status = 1;

	if (argc == 4 && !strcmp(argv[1], "--n")) {
		errno = 0;
		n = strtoul(argv[2], &end, 10);
		if (errno || *end || !n) {
			fprintf(stderr, "judge: --n wants a positive number, not '%s'\n", argv[2]);
			return 2;
		}
		i = 3;
	}
	if (i != argc - 1) {
		fprintf(stderr, "usage: judge [--n N] LABEL\n");
		return 2;
	}
	label = argv[i];
	if (!getcwd(cwd, sizeof(cwd)))
		snprintf(cwd, sizeof(cwd), "/");
	if (lh_policy_builtin(&pol, &err)) {
		fprintf(stderr, "judge: the built-in policy: %s", err.data);
		goto out;
	}
	memset(&vo, 0, sizeof(vo));
	vo.project = cwd;
	vo.cache_entries = 1u << 20;	/* lighthoused's default */
	if (lh_validator_new(&b.v, pol, &vo)) {
		fprintf(stderr, "judge: cannot create the validator\n");
		goto out;
	}
	memset(&b.in, 0, sizeof(b.in));
	b.in.cwd = cwd;
	b.in.home = pw ? pw->pw_dir : "/";
	b.in.user = pw ? pw->pw_name : NULL;
	b.n = n;
	b.lat = xmalloc(n * sizeof(*b.lat));

	/* the clock's own cost: the least of many back-to-back reads */
	for (i = 0; i < 10000; i++) {
		t0 = lh_mono_ns();
		t0 = lh_mono_ns() - t0;
		if (t0 < min)
			min = t0;
	}
	printf("%s.judge.timer_overhead %" PRId64 " ns\n", label, min);

	/* put the cached command in the cache */
	b.in.data = "git status\n";
	b.in.len = b.in.total = strlen(b.in.data);
	lh_validator_judge(b.v, &b.in, &req, &vd);
	lh_request_release(&req);

	run(&b, label, 0);
	run(&b, label, 1);
	run_file(&b, label, cwd, 0, 0);
	run_file(&b, label, cwd, 1, 0);
	b.n = n / 10 ? n / 10 : 1;	/* each call walks 8 MiB first */
	run_file(&b, label, cwd, 0, 1);
	run_file(&b, label, cwd, 1, 1);
	free(b.lat);
	lh_validator_free(b.v);
	status = 0;
out:
	lh_buf_release(&err);
	return status;
}

/*
 * cachemem.c -- the memory a full verdict cache costs.
 *
 *   cachemem [--n N] LABEL
 *
 * Judges N distinct cacheable requests (default 1,000,000: `ls
 * /srv/file-I`, `rm -rf ./build-I`, `git checkout topic-I`... so that the
 * cache holds N verdicts with a handful of distinct reasons, as it would
 * in the daemon) with a cache of N entries, and reports the process's
 * resident memory before and after, and per cached verdict. Prints
 * `metric value unit` lines; the brief's target is under 100 MB for the
 * daemon with 1 M cached verdicts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "validator/validator.h"
#include "common/banned.h"

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

int main(int argc, char **argv)
{
	static const char *const shapes[] = { "ls /srv/file-", "rm -rf ./build-",
		"git checkout topic-", "cat src/mod", "make target" };
	struct lh_validator_opts vo;
	struct lh_validator_stats st;
	struct lh_validator *v;
	struct lh_policy *pol;
	struct lh_buf err = LH_BUF_INIT, in = LH_BUF_INIT;
	const char *label = "lighthouse";
	long n = 1000000, i, before, after;
	int64_t t0;

	if (argc >= 3 && !strcmp(argv[1], "--n")) {
		n = strtol(argv[2], NULL, 10);
		argv += 2;
		argc -= 2;
	}
	if (argc > 1)
		label = argv[1];
	if (n < 1 || lh_policy_builtin(&pol, &err)) {
		fprintf(stderr, "usage: cachemem [--n N] [LABEL]\n%s", err.data);
		return 2;
	}
	memset(&vo, 0, sizeof(vo));
	vo.project = "/home/agent/project";
	vo.cache_entries = (size_t)n;
	if (lh_validator_new(&v, pol, &vo))
		return 1;
	before = rss_kb();
	t0 = lh_mono_ns();
	for (i = 0; i < n; i++) {
		struct lh_judge_in ji;
		struct lh_request req;
		struct lh_verdict vd;

		lh_buf_reset(&in);
		lh_buf_addf(&in, "%s%ld", shapes[i % 5], i);
		memset(&ji, 0, sizeof(ji));
		ji.data = in.data;
		ji.len = in.len;
		ji.total = in.len;
		ji.cwd = "/home/agent/project";
		ji.home = "/home/agent";
		ji.user = "agent";
		lh_validator_judge(v, &ji, &req, &vd);
		lh_request_release(&req);
	}
	after = rss_kb();
	lh_validator_get_stats(v, &st);
	printf("%s.cachemem.verdicts_cached %" PRIu64 " entries\n", label, st.cache_entries);
	printf("%s.cachemem.rss_before %.1f MB\n", label, before / 1024.0);
	printf("%s.cachemem.rss_after %.1f MB\n", label, after / 1024.0);
	printf("%s.cachemem.bytes_per_verdict %.0f bytes\n", label,
	       st.cache_entries ? (double)(after - before) * 1024.0 / (double)st.cache_entries : 0.0);
	printf("%s.cachemem.fill_rate %.0f verdicts/s\n", label,
	       (double)n / ((double)(lh_mono_ns() - t0) / 1e9));
	lh_validator_free(v);
	lh_buf_release(&in);
	return 0;
}

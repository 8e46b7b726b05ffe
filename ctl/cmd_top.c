/*
 * cmd_top.c -- lighthousectl top: a live view of the daemon, like top(1).
 *
 * Every interval it reads MOUNT/stats (anyone may), and shows what changed
 * since the last read: requests a second and decisions by kind, verdict
 * latency percentiles (from the histogram buckets' deltas), the cache hit
 * ratio, the busiest agents, what is pending, and the store. On a terminal
 * it redraws in place until interrupted; otherwise it prints plain blocks,
 * one per interval, -n times (default 1 when not a terminal).
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/xalloc.h"
#include "ctl/ctl.h"
#include "common/banned.h"

#define MAX_SERIES 4096

struct series {
	char *key;		/* name{labels} as written */
	double value;
};

struct sample {
	struct series *v;
	int n;
	int64_t mono;
};

static void sample_free(struct sample *s)
{
	int k;

	for (k = 0; k < s->n; k++)
		free(s->v[k].key);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int sample_read(const char *mount, struct sample *s)
{
	struct lh_buf path = LH_BUF_INIT, text = LH_BUF_INIT;
	char *line, *save = NULL;
	int rc;

	lh_buf_addf(&path, "%s/stats", mount);
	rc = ctl_read_file(path.data, &text);
	lh_buf_release(&path);
	if (rc) {
		lh_buf_release(&text);
		return rc;
	}
	s->v = xcalloc(MAX_SERIES, sizeof(*s->v));
	s->n = 0;
	s->mono = lh_mono_ns();
	for (line = strtok_r(text.data, "\n", &save); line && s->n < MAX_SERIES;
	     line = strtok_r(NULL, "\n", &save)) {
		char *sp;

		if (line[0] == '#' || !(sp = strrchr(line, ' ')))
			continue;
		*sp = '\0';
		s->v[s->n].key = xstrdup(line);
		s->v[s->n].value = strtod(sp + 1, NULL);
		s->n++;
	}
	lh_buf_release(&text);
	return 0;
}

static double get(const struct sample *s, const char *key)
{
	int k;

	for (k = 0; k < s->n; k++)
		if (!strcmp(s->v[k].key, key))
			return s->v[k].value;
	return 0;
}

/* now - before, for one series (0 before means the whole count). */
static double delta(const struct sample *now, const struct sample *before, const char *key)
{
	return get(now, key) - (before ? get(before, key) : 0);
}

/* A percentile of the verdict latency from bucket deltas (cached + fresh). */
static double percentile(const struct sample *now, const struct sample *before, double q)
{
	static const char *const bounds[] = { "10", "25", "50", "100", "250", "500", "1000", "2500",
		"5000", "10000", "25000", "50000", "100000", "250000", "1000000", "+Inf" };
	double cum[16], total;
	char key[160];
	int b;

	for (b = 0; b < 16; b++) {
		cum[b] = 0;
		snprintf(key, sizeof(key), "lighthouse_verdict_latency_microseconds_bucket{kind=\"cached\",le=\"%s\"}", bounds[b]);
		cum[b] += delta(now, before, key);
		snprintf(key, sizeof(key), "lighthouse_verdict_latency_microseconds_bucket{kind=\"fresh\",le=\"%s\"}", bounds[b]);
		cum[b] += delta(now, before, key);
	}
	total = cum[15];
	if (total <= 0)
		return NAN;
	for (b = 0; b < 16; b++)
		if (cum[b] >= q * total)
			return b < 15 ? strtod(bounds[b], NULL) : INFINITY;
	return INFINITY;
}

struct agent_rate {
	char name[128];
	double total, rate, deny, limited;
};

static int by_rate(const void *x, const void *y)
{
	const struct agent_rate *a = x, *b = y;

	if (a->rate != b->rate)
		return a->rate < b->rate ? 1 : -1;
	return a->total < b->total ? 1 : a->total > b->total ? -1 : 0;
}

static void fmt_us(char *out, size_t n, double us)
{
	if (isnan(us))
		snprintf(out, n, "-");
	else if (isinf(us))
		snprintf(out, n, ">1s");
	else if (us >= 1000)
		snprintf(out, n, "<=%.1fms", us / 1000);
	else
		snprintf(out, n, "<=%.0fus", us);
}

static void show(const char *mount, const struct sample *now, const struct sample *before, FILE *out)
{
	double secs = before ? (double)(now->mono - before->mono) / 1e9 : 1;
	double allow = delta(now, before, "lighthouse_verdicts_total{decision=\"allow\"}");
	double ask = delta(now, before, "lighthouse_verdicts_total{decision=\"ask\"}");
	double deny = delta(now, before, "lighthouse_verdicts_total{decision=\"deny\"}");
	double hits = delta(now, before, "lighthouse_cache_hits_total");
	double misses = delta(now, before, "lighthouse_cache_misses_total");
	double events = delta(now, before, "lighthouse_store_events_total");
	double commits = delta(now, before, "lighthouse_store_commits_total");
	double limited = delta(now, before, "lighthouse_rate_limited_total");
	char p50[32], p95[32], p99[32], when[32];
	struct agent_rate ag[64];
	int na = 0, k;

	if (secs <= 0)
		secs = 1;
	fmt_us(p50, sizeof(p50), percentile(now, before, 0.50));
	fmt_us(p95, sizeof(p95), percentile(now, before, 0.95));
	fmt_us(p99, sizeof(p99), percentile(now, before, 0.99));
	lh_format_time(when, lh_wall_ns());
	when[19] = '\0';
	fprintf(out, "lighthouse %s  %s  up %.0fs  policy %.0f rules  agents %.0f\n", mount, when,
		get(now, "lighthouse_uptime_seconds"), get(now, "lighthouse_policy_rules"),
		get(now, "lighthouse_agents"));
	fprintf(out, "%s %.1fs: %8.0f req/s   allow %.0f/s  ask %.0f/s  deny %.0f/s  rate-limited %.0f/s\n",
		before ? "last" : "since start,", secs, (allow + ask + deny) / secs, allow / secs,
		ask / secs, deny / secs, limited / secs);
	fprintf(out, "verdict latency  p50 %s  p95 %s  p99 %s   cache hits %.1f%%\n", p50, p95, p99,
		hits + misses > 0 ? 100.0 * hits / (hits + misses) : 0.0);
	fprintf(out, "pending requests %.0f  parked reads %.0f  store queue %.0f  events %.0f/s  commits %.0f/s (%.1f events each)\n",
		get(now, "lighthouse_requests_pending"), get(now, "lighthouse_reads_parked"),
		get(now, "lighthouse_store_queue_depth"), events / secs, commits / secs,
		commits > 0 ? events / commits : 0.0);
	if (get(now, "lighthouse_sla_threshold_microseconds") > 0)
		fprintf(out, "sla p99 <= %.0fus: %s (last window %.0fus)\n",
			get(now, "lighthouse_sla_threshold_microseconds"),
			get(now, "lighthouse_sla_breached") == 1 ? "BREACHED" : "ok",
			get(now, "lighthouse_sla_verdict_p99_microseconds"));

	/* busiest agents, by requests a second over the interval */
	for (k = 0; k < now->n && na < 64; k++) {
		const char *key = now->v[k].key, *q, *e;
		char other[256];

		if (strncmp(key, "lighthouse_agent_requests_total{agent=\"", 39))
			continue;
		q = key + 39;
		e = strstr(q, "\",uid=");
		if (!e || (size_t)(e - q) >= sizeof(ag[na].name))
			continue;
		memcpy(ag[na].name, q, (size_t)(e - q));
		ag[na].name[e - q] = '\0';
		ag[na].total = now->v[k].value;
		ag[na].rate = delta(now, before, key) / secs;
		snprintf(other, sizeof(other), "lighthouse_agent_verdicts_total{agent=\"%s\",decision=\"deny\"}", ag[na].name);
		ag[na].deny = get(now, other);
		snprintf(other, sizeof(other), "lighthouse_agent_rate_limited_total{agent=\"%s\"}", ag[na].name);
		ag[na].limited = get(now, other);
		na++;
	}
	if (na > 1)
		qsort(ag, (size_t)na, sizeof(ag[0]), by_rate);
	fprintf(out, "\n%-40s %10s %10s %10s %12s\n", "AGENT", "REQ/S", "REQUESTS", "DENIED", "RATE-LIMITED");
	for (k = 0; k < na && k < 10; k++)
		fprintf(out, "%-40.40s %10.1f %10.0f %10.0f %12.0f\n", ag[k].name, ag[k].rate, ag[k].total,
			ag[k].deny, ag[k].limited);
	if (!na)
		fprintf(out, "(no agent has asked yet)\n");
}

static volatile sig_atomic_t stop;

static void on_int(int sig)
{
	(void)sig;
	stop = 1;
}

int cmd_top(struct ctl_env *env, int argc, char **argv)
{
	const char *mount;
	struct sample prev, cur;
	double interval = 1.0;
	long count = -1, k;
	int tty = isatty(STDOUT_FILENO), i;

	for (i = 1; i < argc; i++) {
		char *end;

		if (!strcmp(argv[i], "-d") && i + 1 < argc) {
			interval = strtod(argv[++i], &end);
			if (*end || interval < 0.1 || interval > 3600)
				return ctl_usage("top");
		} else if (!strcmp(argv[i], "-n") && i + 1 < argc) {
			count = strtol(argv[++i], &end, 10);
			if (*end || count < 1)
				return ctl_usage("top");
		} else {
			return ctl_usage("top");
		}
	}
	if (count < 0)
		count = tty ? -1 : 1;
	mount = ctl_mount(env, 0);
	if (!mount)
		return CTL_FAIL;
	signal(SIGINT, on_int);
	signal(SIGTERM, on_int);
	memset(&prev, 0, sizeof(prev));
	if (sample_read(mount, &prev)) {
		fprintf(stderr, "lighthousectl: cannot read '%s/stats': is lighthoused mounted there?\n", mount);
		return CTL_FAIL;
	}
	for (k = 0; count < 0 || k < count; k++) {
		struct timespec ts = { (time_t)interval, (long)((interval - (double)(time_t)interval) * 1e9) };

		while (nanosleep(&ts, &ts) && errno == EINTR && !stop)
			;
		if (stop)
			break;
		memset(&cur, 0, sizeof(cur));
		if (sample_read(mount, &cur)) {
			fprintf(stderr, "lighthousectl: '%s' stopped answering\n", mount);
			sample_free(&prev);
			return CTL_FAIL;
		}
		if (tty)
			fputs("\033[H\033[2J", stdout);
		else if (k)
			putchar('\n');
		show(mount, &cur, &prev, stdout);
		fflush(stdout);
		sample_free(&prev);
		prev = cur;
	}
	sample_free(&prev);
	return CTL_OK;
}

/*
 * cmd_status.c -- lighthousectl status: is the daemon up, and how is it
 * doing. Reads MOUNT/stats (anyone may); without a mount, says so and
 * reports what the store holds. Exit 0 when mounted, 1 when not.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "ctl/ctl.h"
#include "store/store.h"
#include "common/banned.h"

static void store_summary(const char *state)
{
	struct lh_store_reader *r;
	struct lh_buf err = LH_BUF_INIT;
	int64_t events = 0, last = 0;

	if (lh_store_reader_open(&r, state, &err)) {
		printf("store: %s", err.data);
		if (err.len && err.data[err.len - 1] != '\n')
			putchar('\n');
	} else {
		if (!lh_store_reader_count(r, &events, &last))
			printf("store: %s\nevents_stored: %" PRId64 "\nlast_seq: %" PRId64 "\n", state,
			       events, last);
		lh_store_reader_close(r);
	}
	lh_buf_release(&err);
}

int cmd_status(struct ctl_env *env, int argc, char **argv)
{
	struct lh_buf path = LH_BUF_INIT, text = LH_BUF_INIT;
	const char *mount;
	double up, allow, ask, deny, hits, misses, events;
	int rc;

	(void)argv;
	if (argc != 1)
		return ctl_usage("status");
	mount = ctl_mount(env, 1);
	if (!mount) {
		printf("mounted: no\n");
		ctl_mount(env, 0);	/* says why: none found, or several */
		store_summary(env->state);
		return CTL_FAIL;
	}
	lh_buf_addf(&path, "%s/stats", mount);
	rc = ctl_read_file(path.data, &text);
	if (rc || ctl_metric(text.data, "lighthouse_up") != 1) {
		printf("mounted: no (%s does not answer: %s)\n", mount, rc ? strerror(-rc) : "not Lighthouse");
		store_summary(env->state);
		lh_buf_release(&path);
		lh_buf_release(&text);
		return CTL_FAIL;
	}
	up = ctl_metric(text.data, "lighthouse_uptime_seconds");
	allow = ctl_metric(text.data, "lighthouse_verdicts_total{decision=\"allow\"}");
	ask = ctl_metric(text.data, "lighthouse_verdicts_total{decision=\"ask\"}");
	deny = ctl_metric(text.data, "lighthouse_verdicts_total{decision=\"deny\"}");
	hits = ctl_metric(text.data, "lighthouse_cache_hits_total");
	misses = ctl_metric(text.data, "lighthouse_cache_misses_total");
	events = ctl_metric(text.data, "lighthouse_store_events_stored");
	printf("mounted: yes (%s)\n", mount);
	printf("uptime: %.0fs\n", up);
	printf("requests: %.0f\n", allow + ask + deny);
	printf("decisions: allow %.0f, ask %.0f, deny %.0f\n", allow, ask, deny);
	printf("cache_hit_ratio: %.3f (%.0f hits, %.0f misses)\n",
	       hits + misses > 0 ? hits / (hits + misses) : 0.0, hits, misses);
	printf("events_stored: %.0f\n", events);
	printf("policy_rules: %.0f\n", ctl_metric(text.data, "lighthouse_policy_rules"));
	printf("pending: %.0f\n", ctl_metric(text.data, "lighthouse_requests_pending"));
	printf("escalations: %.0f pending, %.0f experts, %.0f learned rules\n",
	       ctl_metric(text.data, "lighthouse_escalations_pending"),
	       ctl_metric(text.data, "lighthouse_experts"),
	       ctl_metric(text.data, "lighthouse_learned_rules"));
	printf("rate_limited: %.0f\n", ctl_metric(text.data, "lighthouse_rate_limited_total"));
	{
		double thr = ctl_metric(text.data, "lighthouse_sla_threshold_microseconds");
		double p99 = ctl_metric(text.data, "lighthouse_sla_verdict_p99_microseconds");

		if (thr <= 0)
			printf("sla: off (verdict p99 %.0f us)\n", p99);
		else if (ctl_metric(text.data, "lighthouse_sla_breached") == 1)
			printf("sla: breached (verdict p99 %.0f us > %.0f us; %.0f breaches since start)\n",
			       p99, thr, ctl_metric(text.data, "lighthouse_sla_breaches_total"));
		else
			printf("sla: ok (verdict p99 %.0f us <= %.0f us)\n", p99, thr);
	}
	lh_buf_release(&path);
	lh_buf_release(&text);
	return CTL_OK;
}

/*
 * stats.c -- the `stats` file: metrics in the Prometheus text exposition
 * format (version 0.0.4). Counters are atomics bumped on the hot path
 * without locks; rendering reads them all once per open of the file.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "fs/fs.h"
#include "store/store.h"
#include "validator/validator.h"
#include "common/banned.h"

/* Verdict latency bucket bounds, microseconds (the last is +Inf). */
const unsigned fs_lat_bounds[FS_LAT_BUCKETS] = {
	10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000,
	100000, 250000, 1000000, 0
};

static const char *const op_names[OP_COUNT] = {
	"lookup", "forget", "getattr", "setattr", "open", "create", "read", "write",
	"flush", "release", "opendir", "readdir", "releasedir", "unlink", "statfs", "other"
};

void fs_stats_verdict(struct lh_fs *fs, int decision, int tier, int cached, uint64_t us)
{
	int b;

	for (b = 0; b < FS_LAT_BUCKETS - 1 && us > fs_lat_bounds[b]; b++)
		;
	atomic_fetch_add(&fs->stats.verdict_lat[b], 1);
	atomic_fetch_add(&fs->stats.verdict_lat_sum_us, us);
	atomic_fetch_add(&fs->stats.verdicts, 1);
	atomic_fetch_add(&fs->stats.verdicts_by_decision[decision], 1);
	atomic_fetch_add(&fs->stats.verdicts_by_tier[tier & 7], 1);
	if (cached)
		atomic_fetch_add(&fs->stats.cache_hits, 1);
}

static void metric(struct lh_buf *o, const char *name, const char *type, const char *help)
{
	lh_buf_addf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int fs_stats_render(struct lh_fs *fs, struct lh_buf *o)
{
	struct lh_validator_stats vs;
	struct lh_store_stats ss;
	uint64_t cum = 0, names, pending, parked;
	int k;

	lh_validator_get_stats(fs->validator, &vs);
	lh_store_get_stats(fs->store, &ss);
	reqtab_counts(fs, &names, &pending, &parked);

	metric(o, "lighthouse_up", "gauge", "1 while lighthoused serves this mount");
	lh_buf_adds(o, "lighthouse_up 1\n");
	metric(o, "lighthouse_uptime_seconds", "gauge", "seconds since lighthoused started");
	lh_buf_addf(o, "lighthouse_uptime_seconds %.3f\n",
		    (double)(lh_mono_ns() - fs->started_mono) / 1e9);
	metric(o, "lighthouse_start_time_seconds", "gauge", "when lighthoused started (unix time)");
	lh_buf_addf(o, "lighthouse_start_time_seconds %" PRId64 "\n", fs->started_wall / 1000000000);

	metric(o, "lighthouse_verdicts_total", "counter", "verdicts answered, by decision and tier");
	{
		static const char *const dn[] = { "allow", "ask", "deny" };
		static const char *const tn[] = { "input", "policy", "risk", "default", "limit" };
		int d;

		for (d = 0; d < 3; d++)
			lh_buf_addf(o, "lighthouse_verdicts_total{decision=\"%s\"} %" PRIu64 "\n", dn[d],
				    (uint64_t)atomic_load(&fs->stats.verdicts_by_decision[d]));
		metric(o, "lighthouse_verdicts_by_tier_total", "counter", "verdicts answered, by the tier that decided");
		for (d = 0; d < 5; d++)
			lh_buf_addf(o, "lighthouse_verdicts_by_tier_total{tier=\"%s\"} %" PRIu64 "\n", tn[d],
				    (uint64_t)atomic_load(&fs->stats.verdicts_by_tier[d]));
	}
	metric(o, "lighthouse_verdict_latency_microseconds", "histogram",
	       "time from a complete request to its committed verdict");
	for (k = 0; k < FS_LAT_BUCKETS; k++) {
		cum += atomic_load(&fs->stats.verdict_lat[k]);
		if (fs_lat_bounds[k])
			lh_buf_addf(o, "lighthouse_verdict_latency_microseconds_bucket{le=\"%u\"} %" PRIu64 "\n",
				    fs_lat_bounds[k], cum);
		else
			lh_buf_addf(o, "lighthouse_verdict_latency_microseconds_bucket{le=\"+Inf\"} %" PRIu64 "\n", cum);
	}
	lh_buf_addf(o, "lighthouse_verdict_latency_microseconds_sum %" PRIu64 "\n",
		    (uint64_t)atomic_load(&fs->stats.verdict_lat_sum_us));
	lh_buf_addf(o, "lighthouse_verdict_latency_microseconds_count %" PRIu64 "\n", cum);

	metric(o, "lighthouse_cache_hits_total", "counter", "verdict cache hits");
	lh_buf_addf(o, "lighthouse_cache_hits_total %" PRIu64 "\n", vs.cache_hits);
	metric(o, "lighthouse_cache_misses_total", "counter", "verdict cache misses");
	lh_buf_addf(o, "lighthouse_cache_misses_total %" PRIu64 "\n", vs.cache_misses);
	metric(o, "lighthouse_cache_evictions_total", "counter", "verdict cache evictions");
	lh_buf_addf(o, "lighthouse_cache_evictions_total %" PRIu64 "\n", vs.cache_evictions);
	metric(o, "lighthouse_cache_entries", "gauge", "verdicts in the cache");
	lh_buf_addf(o, "lighthouse_cache_entries %" PRIu64 "\n", vs.cache_entries);
	metric(o, "lighthouse_cache_capacity", "gauge", "verdict cache size");
	lh_buf_addf(o, "lighthouse_cache_capacity %" PRIu64 "\n", vs.cache_capacity);
	metric(o, "lighthouse_cache_bytes", "gauge", "bytes charged for the verdicts in the cache");
	lh_buf_addf(o, "lighthouse_cache_bytes %" PRIu64 "\n", vs.cache_bytes);
	metric(o, "lighthouse_cache_max_bytes", "gauge", "verdict cache byte bound");
	lh_buf_addf(o, "lighthouse_cache_max_bytes %" PRIu64 "\n", vs.cache_max_bytes);
	{
		static const char *const tn[] = { "input", "policy", "risk", "default", "limit" };
		static const struct {
			const char *name, *help;
			size_t off;
		} by_tier[] = {
			{ "lighthouse_cache_hits_by_tier_total", "verdict cache hits, by the tier of the verdict",
			  offsetof(struct lh_validator_stats, cache_hits_by_tier) },
			{ "lighthouse_cache_misses_by_tier_total", "verdict cache misses, by the tier that then judged",
			  offsetof(struct lh_validator_stats, cache_misses_by_tier) },
			{ "lighthouse_cache_evictions_by_tier_total", "verdict cache evictions, by the tier of the verdict",
			  offsetof(struct lh_validator_stats, cache_evictions_by_tier) },
		};
		size_t m;
		int t;

		for (m = 0; m < sizeof(by_tier) / sizeof(by_tier[0]); m++) {
			const uint64_t *v = (const uint64_t *)((const char *)&vs + by_tier[m].off);

			metric(o, by_tier[m].name, "counter", by_tier[m].help);
			for (t = 0; t < LH_TIER_COUNT && t < 5; t++)
				lh_buf_addf(o, "%s{tier=\"%s\"} %" PRIu64 "\n", by_tier[m].name, tn[t], v[t]);
		}
	}
	metric(o, "lighthouse_policy_rules", "gauge", "rules in the active policy");
	lh_buf_addf(o, "lighthouse_policy_rules %d\n", vs.policy_rules);
	metric(o, "lighthouse_policy_generation", "gauge", "policy loads since start (1 = the first)");
	lh_buf_addf(o, "lighthouse_policy_generation %u\n", vs.policy_generation);
	metric(o, "lighthouse_policy_reloads_total", "counter", "policy reloads, by result");
	lh_buf_addf(o, "lighthouse_policy_reloads_total{result=\"ok\"} %" PRIu64 "\n",
		    (uint64_t)atomic_load(&fs->stats.reloads));
	lh_buf_addf(o, "lighthouse_policy_reloads_total{result=\"rejected\"} %" PRIu64 "\n",
		    (uint64_t)atomic_load(&fs->stats.reload_failures));

	metric(o, "lighthouse_requests_invalid_total", "counter", "requests denied as invalid input");
	lh_buf_addf(o, "lighthouse_requests_invalid_total %" PRIu64 "\n",
		    (uint64_t)atomic_load(&fs->stats.invalid));
	metric(o, "lighthouse_requests_too_large_total", "counter", "writes refused past the request size limit");
	lh_buf_addf(o, "lighthouse_requests_too_large_total %" PRIu64 "\n",
		    (uint64_t)atomic_load(&fs->stats.too_large));
	metric(o, "lighthouse_requests_listed", "gauge", "names under requests/");
	lh_buf_addf(o, "lighthouse_requests_listed %" PRIu64 "\n", names);
	metric(o, "lighthouse_requests_pending", "gauge", "requests written but not yet answered");
	lh_buf_addf(o, "lighthouse_requests_pending %" PRIu64 "\n", pending);
	metric(o, "lighthouse_reads_parked", "gauge", "reads waiting for a verdict now");
	lh_buf_addf(o, "lighthouse_reads_parked %" PRIu64 "\n", parked);
	metric(o, "lighthouse_reads_parked_total", "counter", "reads that waited for a verdict");
	lh_buf_addf(o, "lighthouse_reads_parked_total %" PRIu64 "\n",
		    (uint64_t)atomic_load(&fs->stats.parked_reads));
	metric(o, "lighthouse_reads_eagain_total", "counter", "non-blocking reads answered EAGAIN");
	lh_buf_addf(o, "lighthouse_reads_eagain_total %" PRIu64 "\n",
		    (uint64_t)atomic_load(&fs->stats.nonblock_again));
	metric(o, "lighthouse_results_expired_total", "counter", "names expired from requests/ and results/");
	lh_buf_addf(o, "lighthouse_results_expired_total %" PRIu64 "\n",
		    (uint64_t)atomic_load(&fs->stats.expired));

	metric(o, "lighthouse_store_events_total", "counter", "events committed since start");
	lh_buf_addf(o, "lighthouse_store_events_total %" PRIu64 "\n", ss.events);
	metric(o, "lighthouse_store_events_stored", "gauge", "events in the store");
	lh_buf_addf(o, "lighthouse_store_events_stored %" PRId64 "\n", ss.total_events);
	metric(o, "lighthouse_store_last_seq", "gauge", "newest event sequence number");
	lh_buf_addf(o, "lighthouse_store_last_seq %" PRId64 "\n", ss.last_seq);
	metric(o, "lighthouse_store_commits_total", "counter", "store transactions");
	lh_buf_addf(o, "lighthouse_store_commits_total %" PRIu64 "\n", ss.commits);
	metric(o, "lighthouse_store_commit_failures_total", "counter", "failed store transactions");
	lh_buf_addf(o, "lighthouse_store_commit_failures_total %" PRIu64 "\n", ss.failures);
	metric(o, "lighthouse_store_unrecorded_denials_total", "counter",
	       "requests denied because the store could not record them");
	lh_buf_addf(o, "lighthouse_store_unrecorded_denials_total %" PRIu64 "\n",
		    (uint64_t)atomic_load(&fs->stats.store_failures));
	metric(o, "lighthouse_store_batch_size", "histogram", "events per group commit");
	cum = 0;
	for (k = 0; k < 8; k++) {
		cum += ss.batch_hist[k];
		if (k < 7)
			lh_buf_addf(o, "lighthouse_store_batch_size_bucket{le=\"%d\"} %" PRIu64 "\n",
				    (2 << k) - 1, cum);
		else
			lh_buf_addf(o, "lighthouse_store_batch_size_bucket{le=\"+Inf\"} %" PRIu64 "\n", cum);
	}
	lh_buf_addf(o, "lighthouse_store_batch_size_sum %" PRIu64 "\n", ss.events);
	lh_buf_addf(o, "lighthouse_store_batch_size_count %" PRIu64 "\n", ss.commits);
	metric(o, "lighthouse_store_commit_microseconds_sum", "counter", "time spent committing");
	lh_buf_addf(o, "lighthouse_store_commit_microseconds_sum %" PRIu64 "\n", ss.commit_us_sum);
	metric(o, "lighthouse_store_commit_microseconds_max", "gauge", "longest commit");
	lh_buf_addf(o, "lighthouse_store_commit_microseconds_max %" PRIu64 "\n", ss.commit_us_max);
	metric(o, "lighthouse_store_queue_depth", "gauge", "submissions waiting for the writer");
	lh_buf_addf(o, "lighthouse_store_queue_depth %" PRIu64 "\n", ss.queued);

	metric(o, "lighthouse_fuse_requests_total", "counter", "FUSE requests received, by operation");
	for (k = 0; k < OP_COUNT; k++)
		lh_buf_addf(o, "lighthouse_fuse_requests_total{op=\"%s\"} %" PRIu64 "\n", op_names[k],
			    (uint64_t)atomic_load(&fs->stats.ops[k]));
	return 0;
}

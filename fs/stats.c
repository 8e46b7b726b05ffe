/*
 * stats.c -- the `stats` file: metrics in the Prometheus text exposition
 * format (version 0.0.4). Counters are atomics bumped on the hot path
 * without locks; rendering reads them all once per open of the file.
 *
 * Histograms: every FUSE operation's handler time (what a request costs
 * inside the daemon; a parked read counts until it is parked), and the
 * verdict latency -- from a complete request to its committed verdict --
 * by kind: cached, fresh (judged), invalid, rate-limited. Percentiles are
 * derived from the buckets (histogram_quantile, or lighthousectl top).
 *
 * The SLA: once a second the maintenance thread takes the verdicts of the
 * last sla_window seconds (deltas of the histograms), and when their p99
 * is above sla_p99_us records an sla.breach event; sla.recovered when it
 * is back under.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "fs/fs.h"
#include "store/store.h"
#include "validator/validator.h"
#include "common/banned.h"

/* Verdict latency bucket bounds, microseconds (the last is +Inf). */
const unsigned fs_lat_bounds[FS_LAT_BUCKETS] = {
	10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000,
	100000, 250000, 1000000, 0
};

/* FUSE handler time bucket bounds, microseconds (the last is +Inf). */
const unsigned fs_op_bounds[FS_OP_BUCKETS] = {
	1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000, 25000, 100000, 0
};

static const char *const kind_names[KIND_COUNT] = { "cached", "fresh", "invalid", "limited",
						     "escalated" };

static const char *const op_names[OP_COUNT] = {
	"lookup", "forget", "getattr", "setattr", "open", "create", "read", "write",
	"flush", "release", "opendir", "readdir", "releasedir", "unlink", "statfs",
	"readdirplus", "mkdir", "mknod", "rmdir", "rename", "link", "symlink", "readlink",
	"fsync", "getxattr", "setxattr", "listxattr", "removexattr", "fallocate",
	"copy_file_range", "lseek", "other"
};

void fs_stats_verdict(struct lh_fs *fs, int decision, int tier, enum fs_kind kind, uint64_t us)
{
	int b;

	for (b = 0; b < FS_LAT_BUCKETS - 1 && us > fs_lat_bounds[b]; b++)
		;
	atomic_fetch_add(&fs->stats.verdict_lat[kind][b], 1);
	atomic_fetch_add(&fs->stats.verdict_lat_sum_us[kind], us);
	atomic_fetch_add(&fs->stats.verdicts, 1);
	atomic_fetch_add(&fs->stats.verdicts_by_decision[decision], 1);
	atomic_fetch_add(&fs->stats.verdicts_by_tier[tier & 7], 1);
	if (kind == KIND_CACHED)
		atomic_fetch_add(&fs->stats.cache_hits, 1);
}

void fs_stats_op(struct lh_fs *fs, enum fs_op op, int64_t start_ns)
{
	uint64_t ns = (uint64_t)(lh_mono_ns() - start_ns), us = ns / 1000;
	int b;

	for (b = 0; b < FS_OP_BUCKETS - 1 && us >= fs_op_bounds[b]; b++)
		;
	atomic_fetch_add_explicit(&fs->stats.op_lat[op][b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&fs->stats.op_lat_sum_ns[op], ns, memory_order_relaxed);
}

/* A label value, escaped as the exposition format wants. */
static void label(struct lh_buf *o, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			lh_buf_addc(o, '\\');
		if (*s == '\n') {
			lh_buf_adds(o, "\\n");
			continue;
		}
		lh_buf_addc(o, *s);
	}
}

/* The p99 of the verdicts counted in `delta` (bucket upper bound). */
static uint64_t p99_of(const uint64_t *delta, uint64_t total)
{
	uint64_t want = total - total / 100, cum = 0;
	int b;

	for (b = 0; b < FS_LAT_BUCKETS; b++) {
		cum += delta[b];
		if (cum >= want && cum)
			return fs_lat_bounds[b] ? fs_lat_bounds[b] : 10 * fs_lat_bounds[FS_LAT_BUCKETS - 2];
	}
	return 0;
}

void fs_stats_sla(struct lh_fs *fs)
{
	/* one snapshot a second, a ring of the last 600 */
	static uint64_t ring[601][FS_LAT_BUCKETS];
	static unsigned head, filled;
	unsigned window = fs->cfg.sla_window ? fs->cfg.sla_window : 10, b, k;
	uint64_t delta[FS_LAT_BUCKETS], total = 0, p99;

	if (window > 600)
		window = 600;
	for (b = 0; b < FS_LAT_BUCKETS; b++) {
		ring[head][b] = 0;
		for (k = 0; k < KIND_COUNT; k++)
			/* a request waiting for a person is not the speed layer being slow */
			if (k != KIND_LIMITED && k != KIND_INVALID && k != KIND_ESCALATED)
				ring[head][b] += atomic_load(&fs->stats.verdict_lat[k][b]);
	}
	if (filled < 601)
		filled++;
	{
		unsigned back = window < filled - 1 ? window : filled - 1;
		unsigned old = (head + 601 - back) % 601;

		for (b = 0; b < FS_LAT_BUCKETS; b++) {
			delta[b] = ring[head][b] - ring[old][b];
			total += delta[b];
		}
	}
	head = (head + 1) % 601;
	p99 = total >= 20 ? p99_of(delta, total) : 0;
	atomic_store(&fs->stats.sla_p99_us, p99);
	if (!fs->cfg.sla_p99_us)
		return;
	if (p99 > fs->cfg.sla_p99_us && !atomic_load(&fs->stats.sla_breached)) {
		atomic_store(&fs->stats.sla_breached, 1);
		atomic_store(&fs->stats.sla_since_wall, lh_wall_ns());
		atomic_fetch_add(&fs->stats.sla_breaches, 1);
		fs_record_sla(fs, "sla.breach", p99, total, window);
		lh_warn("SLA breached: verdict p99 %" PRIu64 " us over the last %u s (threshold %u us)",
			p99, window, fs->cfg.sla_p99_us);
	} else if (p99 <= fs->cfg.sla_p99_us && atomic_load(&fs->stats.sla_breached) && total >= 20) {
		atomic_store(&fs->stats.sla_breached, 0);
		fs_record_sla(fs, "sla.recovered", p99, total, window);
	}
}

static void metric(struct lh_buf *o, const char *name, const char *type, const char *help)
{
	lh_buf_addf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int fs_stats_render(struct lh_fs *fs, struct lh_buf *o)
{
	struct lh_validator_stats vs;
	struct lh_store_stats ss;
	uint64_t cum = 0, names, pending, parked, records;
	int k, kd;

	lh_validator_get_stats(fs->validator, &vs);
	lh_store_get_stats(fs->store, &ss);
	reqtab_counts(fs, &names, &pending, &parked, &records);

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
		int d;

		for (d = 0; d < 3; d++)
			lh_buf_addf(o, "lighthouse_verdicts_total{decision=\"%s\"} %" PRIu64 "\n", dn[d],
				    (uint64_t)atomic_load(&fs->stats.verdicts_by_decision[d]));
		metric(o, "lighthouse_verdicts_by_tier_total", "counter", "verdicts answered, by the tier that decided");
		for (d = 0; d < LH_TIER_COUNT; d++)
			lh_buf_addf(o, "lighthouse_verdicts_by_tier_total{tier=\"%s\"} %" PRIu64 "\n",
				    lh_tier_name((enum lh_tier)d),
				    (uint64_t)atomic_load(&fs->stats.verdicts_by_tier[d]));
	}
	metric(o, "lighthouse_verdict_latency_microseconds", "histogram",
	       "time from a complete request to its committed verdict, by kind");
	for (kd = 0; kd < KIND_COUNT; kd++) {
		cum = 0;
		for (k = 0; k < FS_LAT_BUCKETS; k++) {
			cum += atomic_load(&fs->stats.verdict_lat[kd][k]);
			if (fs_lat_bounds[k])
				lh_buf_addf(o, "lighthouse_verdict_latency_microseconds_bucket{kind=\"%s\",le=\"%u\"} %" PRIu64 "\n",
					    kind_names[kd], fs_lat_bounds[k], cum);
			else
				lh_buf_addf(o, "lighthouse_verdict_latency_microseconds_bucket{kind=\"%s\",le=\"+Inf\"} %" PRIu64 "\n",
					    kind_names[kd], cum);
		}
		lh_buf_addf(o, "lighthouse_verdict_latency_microseconds_sum{kind=\"%s\"} %" PRIu64 "\n",
			    kind_names[kd], (uint64_t)atomic_load(&fs->stats.verdict_lat_sum_us[kd]));
		lh_buf_addf(o, "lighthouse_verdict_latency_microseconds_count{kind=\"%s\"} %" PRIu64 "\n",
			    kind_names[kd], cum);
	}
	metric(o, "lighthouse_sla_verdict_p99_microseconds", "gauge",
	       "verdict p99 over the last sla_window seconds (0: too few verdicts)");
	lh_buf_addf(o, "lighthouse_sla_verdict_p99_microseconds %" PRIu64 "\n",
		    (uint64_t)atomic_load(&fs->stats.sla_p99_us));
	metric(o, "lighthouse_sla_threshold_microseconds", "gauge", "the SLA's verdict p99 threshold (0: off)");
	lh_buf_addf(o, "lighthouse_sla_threshold_microseconds %u\n", fs->cfg.sla_p99_us);
	metric(o, "lighthouse_sla_breached", "gauge", "1 while the verdict p99 is above the threshold");
	lh_buf_addf(o, "lighthouse_sla_breached %" PRIu64 "\n", (uint64_t)atomic_load(&fs->stats.sla_breached));
	metric(o, "lighthouse_sla_breaches_total", "counter", "SLA breaches since start");
	lh_buf_addf(o, "lighthouse_sla_breaches_total %" PRIu64 "\n", (uint64_t)atomic_load(&fs->stats.sla_breaches));

	metric(o, "lighthouse_rate_limited_total", "counter", "requests denied by a rate limit");
	lh_buf_addf(o, "lighthouse_rate_limited_total %" PRIu64 "\n",
		    (uint64_t)atomic_load(&fs->stats.rate_limited));
	metric(o, "lighthouse_rate_held_total", "counter",
	       "rate-limited answers held until their retry-after (the agent asked again too soon)");
	lh_buf_addf(o, "lighthouse_rate_held_total %" PRIu64 "\n", (uint64_t)atomic_load(&fs->stats.rate_held));
	metric(o, "lighthouse_rate_held", "gauge", "answers held now");
	lh_buf_addf(o, "lighthouse_rate_held %zu\n", fs->holds ? holds_count(fs->holds) : 0);
	{
		static const char *const by[4] = { "expert", "human", "timeout", "restart" };
		uint64_t waiting, experts;
		int b;

		esc_counts(fs, &waiting, &experts);
		metric(o, "lighthouse_escalations_pending", "gauge",
		       "escalated requests waiting for an expert or a person");
		lh_buf_addf(o, "lighthouse_escalations_pending %" PRIu64 "\n", waiting);
		metric(o, "lighthouse_escalations_total", "counter", "requests escalated since start");
		lh_buf_addf(o, "lighthouse_escalations_total %" PRIu64 "\n",
			    (uint64_t)atomic_load(&fs->stats.escalations));
		metric(o, "lighthouse_escalations_decided_total", "counter",
		       "escalations decided, by who decided (restart: the deadline passed while down)");
		for (b = 0; b < 4; b++)
			lh_buf_addf(o, "lighthouse_escalations_decided_total{by=\"%s\"} %" PRIu64 "\n", by[b],
				    (uint64_t)atomic_load(&fs->stats.escalations_by[b]));
		metric(o, "lighthouse_expert_claims_total", "counter", "escalations claimed by experts");
		lh_buf_addf(o, "lighthouse_expert_claims_total %" PRIu64 "\n",
			    (uint64_t)atomic_load(&fs->stats.claims));
		metric(o, "lighthouse_expert_claims_expired_total", "counter",
		       "claims not decided in time, gone back to the queue");
		lh_buf_addf(o, "lighthouse_expert_claims_expired_total %" PRIu64 "\n",
			    (uint64_t)atomic_load(&fs->stats.claims_expired));
		metric(o, "lighthouse_experts", "gauge", "expert agents registered");
		lh_buf_addf(o, "lighthouse_experts %" PRIu64 "\n", experts);
		metric(o, "lighthouse_learned_rules", "gauge", "rules learned from decisions, in force");
		lh_buf_addf(o, "lighthouse_learned_rules %d\n", learned_count(fs));
	}
	metric(o, "lighthouse_agents", "gauge", "agents (and uids) the daemon keeps counts for");
	lh_buf_addf(o, "lighthouse_agents %zu\n", agents_count(fs));
	{
		struct fs_agent_row top[10];
		int n = agents_top(fs, top, 10), a;

		metric(o, "lighthouse_agent_requests_total", "counter", "requests of the busiest agents");
		for (a = 0; a < n; a++) {
			lh_buf_adds(o, "lighthouse_agent_requests_total{agent=\"");
			label(o, top[a].name);
			lh_buf_addf(o, "\",uid=\"%u\"} %" PRIu64 "\n", (unsigned)top[a].uid, top[a].requests);
		}
		metric(o, "lighthouse_agent_verdicts_total", "counter", "decisions for the busiest agents");
		for (a = 0; a < n; a++) {
			static const char *const dn[] = { "allow", "ask", "deny" };
			int d;

			for (d = 0; d < 3; d++) {
				lh_buf_adds(o, "lighthouse_agent_verdicts_total{agent=\"");
				label(o, top[a].name);
				lh_buf_addf(o, "\",decision=\"%s\"} %" PRIu64 "\n", dn[d], top[a].decisions[d]);
			}
		}
		metric(o, "lighthouse_agent_rate_limited_total", "counter", "rate-limited requests of the busiest agents");
		for (a = 0; a < n; a++) {
			lh_buf_adds(o, "lighthouse_agent_rate_limited_total{agent=\"");
			label(o, top[a].name);
			lh_buf_addf(o, "\"} %" PRIu64 "\n", top[a].limited);
		}
	}

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
	metric(o, "lighthouse_file_cache_hits_total", "counter", "file-access verdict cache hits");
	lh_buf_addf(o, "lighthouse_file_cache_hits_total %" PRIu64 "\n", vs.file_cache_hits);
	metric(o, "lighthouse_file_cache_misses_total", "counter", "file-access verdict cache misses");
	lh_buf_addf(o, "lighthouse_file_cache_misses_total %" PRIu64 "\n", vs.file_cache_misses);
	metric(o, "lighthouse_file_cache_entries", "gauge", "file-access verdicts in the cache");
	lh_buf_addf(o, "lighthouse_file_cache_entries %" PRIu64 "\n", vs.file_cache_entries);
	metric(o, "lighthouse_file_cache_capacity", "gauge", "file-access verdict cache size");
	lh_buf_addf(o, "lighthouse_file_cache_capacity %" PRIu64 "\n", vs.file_cache_capacity);
	{
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
			for (t = 0; t < LH_TIER_COUNT; t++)
				lh_buf_addf(o, "%s{tier=\"%s\"} %" PRIu64 "\n", by_tier[m].name,
					    lh_tier_name((enum lh_tier)t), v[t]);
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
	metric(o, "lighthouse_requests_in_memory", "gauge",
	       "requests the daemon holds (listed, open, or looked up by the kernel)");
	lh_buf_addf(o, "lighthouse_requests_in_memory %" PRIu64 "\n", records);
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
	metric(o, "lighthouse_store_journal_appends_total", "counter",
	       "submissions released at the journal append (before their commit)");
	lh_buf_addf(o, "lighthouse_store_journal_appends_total %" PRIu64 "\n", ss.journal_appends);
	metric(o, "lighthouse_store_journal_bytes", "gauge", "size of the journal file appended to now");
	lh_buf_addf(o, "lighthouse_store_journal_bytes %" PRIu64 "\n", ss.journal_bytes);
	metric(o, "lighthouse_store_journal_rotations_total", "counter",
	       "new journal files started (one is full at opts.journal_rotate bytes)");
	lh_buf_addf(o, "lighthouse_store_journal_rotations_total %" PRIu64 "\n", ss.journal_rotations);
	metric(o, "lighthouse_store_journal_replayed_events", "gauge",
	       "events replayed from the journal at start (a previous run was killed)");
	lh_buf_addf(o, "lighthouse_store_journal_replayed_events %" PRIu64 "\n", ss.journal_replayed);

	current_stats_render(fs, o);

	metric(o, "lighthouse_fuse_requests_total", "counter", "FUSE requests received, by operation");
	for (k = 0; k < OP_COUNT; k++)
		lh_buf_addf(o, "lighthouse_fuse_requests_total{op=\"%s\"} %" PRIu64 "\n", op_names[k],
			    (uint64_t)atomic_load(&fs->stats.ops[k]));
	metric(o, "lighthouse_fuse_handler_microseconds", "histogram",
	       "time a FUSE operation spends in its handler, by operation");
	for (kd = 0; kd < OP_COUNT; kd++) {
		cum = 0;
		for (k = 0; k < FS_OP_BUCKETS; k++) {
			cum += atomic_load(&fs->stats.op_lat[kd][k]);
			if (fs_op_bounds[k])
				lh_buf_addf(o, "lighthouse_fuse_handler_microseconds_bucket{op=\"%s\",le=\"%u\"} %" PRIu64 "\n",
					    op_names[kd], fs_op_bounds[k], cum);
			else
				lh_buf_addf(o, "lighthouse_fuse_handler_microseconds_bucket{op=\"%s\",le=\"+Inf\"} %" PRIu64 "\n",
					    op_names[kd], cum);
		}
		lh_buf_addf(o, "lighthouse_fuse_handler_microseconds_sum{op=\"%s\"} %.3f\n", op_names[kd],
			    (double)atomic_load(&fs->stats.op_lat_sum_ns[kd]) / 1000.0);
		lh_buf_addf(o, "lighthouse_fuse_handler_microseconds_count{op=\"%s\"} %" PRIu64 "\n",
			    op_names[kd], cum);
	}
	return 0;
}

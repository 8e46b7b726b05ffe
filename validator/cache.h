/*
 * cache.h -- the verdict cache: tier 1 of the speed layer.
 *
 * Keyed by a 128-bit xxh3 of the normalized request (seeded with a random
 * value per process, so keys cannot be precomputed by whoever writes the
 * requests). Bounded twice: a fixed number of entries, and a number of
 * bytes (entries plus the rule and reason texts they hold). Sharded (one
 * small lock per shard, no global lock), set-associative with CLOCK
 * replacement in each set for the entry bound and a CLOCK sweep over the
 * shard for the byte bound. Every entry is stamped with the policy
 * generation it was judged under; a lookup under another generation is a
 * miss, so a policy reload invalidates the whole cache at once without
 * touching it. Hits and evictions are counted per tier of the verdict
 * held (LH_TIER_*).
 */
#ifndef LH_CACHE_H
#define LH_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "validator/verdict.h"

struct lh_cache;

struct lh_cache_key {
	uint64_t lo, hi;
};

struct lh_cache_stats {
	uint64_t hits, misses, inserts, evictions;
	uint64_t hits_by_tier[LH_TIER_COUNT];		/* tier of the verdict hit */
	uint64_t evictions_by_tier[LH_TIER_COUNT];	/* tier of the verdict evicted */
	uint64_t evictions_bytes;	/* of the evictions, those for the byte bound */
	uint64_t entries;	/* live entries (any generation) */
	uint64_t capacity;	/* entry bound */
	uint64_t bytes;		/* bytes charged for the live entries */
	uint64_t max_bytes;	/* byte bound */
	uint64_t bodies;	/* distinct rule/reason texts held */
};

/* At most `entries` verdicts and `max_bytes` bytes (see cache.c). */
struct lh_cache *lh_cache_new(size_t entries, size_t max_bytes);
void lh_cache_free(struct lh_cache *c);

/* 1 on a hit (out filled, out->cached set), 0 on a miss. */
int lh_cache_get(struct lh_cache *c, const struct lh_cache_key *k, uint32_t gen,
		 struct lh_verdict *out);
void lh_cache_put(struct lh_cache *c, const struct lh_cache_key *k, uint32_t gen,
		  const struct lh_verdict *v);
void lh_cache_get_stats(struct lh_cache *c, struct lh_cache_stats *st);

#endif

/*
 * validator.h -- the speed layer: request in, verdict out.
 *
 *   lh_validator_judge: decode the request (request.c), look the
 *   normalized request up in the verdict cache (cache.c), else judge it
 *   with the policy (policy.c: rules, then the risk tier) and cache the
 *   verdict.
 *
 * Thread safety: any number of threads judge at once. Each thread keeps
 * its own scratch memory and its own reference to the policy it last used;
 * lh_validator_set_policy publishes a new policy with a new generation,
 * and each thread switches to it at the start of its next judgment, so a
 * judgment always sees one whole policy. The old policy is freed when its
 * last thread lets go of it.
 *
 * The validator links PCRE2, xxHash and Jansson and nothing of FUSE or
 * SQLite.
 */
#ifndef LH_VALIDATOR_H
#define LH_VALIDATOR_H

#include <stddef.h>
#include <stdint.h>

#include "validator/policy.h"
#include "validator/request.h"
#include "validator/verdict.h"

struct lh_validator;

struct lh_validator_opts {
	const char *project;	/* project root (absolute); NULL: none */
	size_t cache_entries;	/* 0: default (1 Mi) */
	size_t max_request;	/* bytes; 0: LH_REQUEST_MAX_DEFAULT */
	size_t cache_bytes;	/* 0: default (LH_CACHE_BYTES_DEFAULT) */
};

#define LH_CACHE_BYTES_DEFAULT ((size_t)128 << 20)

/*
 * File accesses through the mount (lh_validator_judge_file) have a cache
 * of their own: a build that writes a million new files must not evict
 * the verdicts of commands, and a storm of new names should touch a few
 * MiB, not fault in the command cache's table a page at a time.
 */
#define LH_FILE_CACHE_ENTRIES ((size_t)1 << 16)
#define LH_FILE_CACHE_BYTES ((size_t)16 << 20)

struct lh_judge_in {
	const char *data;	/* the request as written */
	size_t len;		/* bytes in data */
	size_t total;		/* bytes the agent wrote (> len when cut at the limit) */
	const char *cwd;	/* the caller's cwd, used when the request declares none */
	const char *home;	/* the caller's home */
	const char *user;	/* the caller's user name, or NULL */
};

struct lh_validator_stats {
	uint64_t judged;
	uint64_t cache_hits, cache_misses, cache_evictions, cache_entries, cache_capacity;
	uint64_t cache_bytes, cache_max_bytes;	/* bytes charged now, byte bound */
	uint64_t cache_evictions_bytes;		/* evictions made for the byte bound */
	/* per tier (LH_TIER_*) of the verdict: hit, judged after a miss, evicted */
	uint64_t cache_hits_by_tier[LH_TIER_COUNT];
	uint64_t cache_misses_by_tier[LH_TIER_COUNT];
	uint64_t cache_evictions_by_tier[LH_TIER_COUNT];
	/* the file-access cache: hits, misses, entries, capacity */
	uint64_t file_cache_hits, file_cache_misses, file_cache_entries, file_cache_capacity;
	uint64_t by_decision[3];		/* allow ask deny */
	uint64_t by_tier[LH_TIER_COUNT];	/* tier that decided (cache hits counted by their tier) */
	uint32_t policy_generation;
	int policy_rules;
};

/* Takes ownership of `pol`. */
int lh_validator_new(struct lh_validator **out, struct lh_policy *pol,
		     const struct lh_validator_opts *opts);
void lh_validator_free(struct lh_validator *v);

/* Publish a new policy (takes ownership). Returns its generation. */
uint32_t lh_validator_set_policy(struct lh_validator *v, struct lh_policy *pol);

/*
 * Judge one request. `req` receives the decoded request (release it with
 * lh_request_release); `out` the verdict. Never fails: bad input is a
 * deny verdict whose reason starts with "invalid request: ".
 */
void lh_validator_judge(struct lh_validator *v, const struct lh_judge_in *in,
			struct lh_request *req, struct lh_verdict *out);

/* What a file operation of current/ does to its path. */
enum lh_file_access {
	LH_FILE_READ,		/* open for reading */
	LH_FILE_WRITE,		/* create, write, truncate, chmod, rename onto or away, unlink */
};

/*
 * May a caller read or write the file `path` (absolute, normalized)?
 * Judged as the Read or Write tool request of that path would be, so that
 * the policy's rules for the agents' file tools guard the files of
 * current/ too, through the same verdict cache. Not counted among the
 * verdicts (lh_validator_get_stats): it answers a file operation, not an
 * agent's request.
 */
void lh_validator_judge_file(struct lh_validator *v, enum lh_file_access acc, const char *path,
			     const char *home, const char *user, struct lh_verdict *out);

void lh_validator_get_stats(struct lh_validator *v, struct lh_validator_stats *st);

/*
 * Escalation (see policy.h for what each does): the paths and commands a
 * request touches, the learned rule text for a decision on it, and what an
 * escalation by `rule` needs -- all with the current policy.
 */
void lh_validator_inspect(struct lh_validator *v, const struct lh_judge_in *in, lh_touch_fn fn,
			  void *arg);
int lh_validator_learn(struct lh_validator *v, const struct lh_judge_in *in,
		       const struct lh_learn *l, struct lh_buf *out, struct lh_buf *err);
void lh_validator_rule_info(struct lh_validator *v, const char *rule, int *quorum,
			    struct lh_buf *tags);

/* Source name and rule count of the current policy (copied out). */
void lh_validator_policy_info(struct lh_validator *v, char *source, size_t n, int *rules);
/* The current policy's text, copied into a malloc'd buffer. */
char *lh_validator_policy_text(struct lh_validator *v, size_t *len);

#endif

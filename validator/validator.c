/*
 * validator.c -- the speed layer's front door (see validator.h).
 *
 * Per-thread state (struct tls) is found through a pthread key: the
 * scratch arena and PCRE2 match data, a streaming xxh3 state, and a
 * reference to the policy the thread judged with last. The hot path takes
 * no lock of the validator's: it reads the published generation (an
 * atomic load) and only when that changed takes `mu` to swap its policy
 * reference.
 *
 * Lock order: v->mu, then nothing (the cache's locks are taken without it).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "validator/cache.h"
#include "validator/validator.h"
#include "common/banned.h"

struct polref {
	struct lh_policy *pol;
	uint32_t gen;
	int refs;			/* protected by v->mu */
};

struct tls {
	struct lh_validator *v;
	struct polref *ref;		/* the policy this thread judges with */
	struct lh_scratch scratch;
	XXH3_state_t *hash;
	struct tls *next, *prev;	/* all threads' states; protected by v->mu */
};

struct lh_validator {
	pthread_mutex_t mu;
	struct polref *cur;		/* protected by mu */
	_Atomic uint32_t gen;		/* generation of cur */
	pthread_key_t key;
	struct tls *threads;		/* protected by mu */
	struct lh_cache *cache;		/* verdicts of requests */
	struct lh_cache *fcache;	/* verdicts of file accesses */
	char *project;
	size_t max_request;
	uint64_t seed;			/* cache key seed, random per process */
	_Atomic uint64_t judged;
	_Atomic uint64_t by_decision[3];
	_Atomic uint64_t by_tier[LH_TIER_COUNT];
	_Atomic uint64_t misses_by_tier[LH_TIER_COUNT];	/* tier that judged after a miss */
};

static void ref_put_locked(struct lh_validator *v, struct polref *r)
{
	if (r && --r->refs == 0) {
		lh_policy_free(r->pol);
		free(r);
	}
	(void)v;
}

static void tls_free_locked(struct tls *t)
{
	struct lh_validator *v = t->v;

	if (t->prev)
		t->prev->next = t->next;
	else
		v->threads = t->next;
	if (t->next)
		t->next->prev = t->prev;
	ref_put_locked(v, t->ref);
	lh_scratch_release(&t->scratch);
	XXH3_freeState(t->hash);
	free(t);
}

static void tls_destroy(void *arg)
{
	struct tls *t = arg;
	struct lh_validator *v = t->v;

	pthread_mutex_lock(&v->mu);
	tls_free_locked(t);
	pthread_mutex_unlock(&v->mu);
}

int lh_validator_new(struct lh_validator **out, struct lh_policy *pol,
		     const struct lh_validator_opts *opts)
{
	struct lh_validator *v = xcalloc(1, sizeof(*v));
	int rc;

	rc = pthread_key_create(&v->key, tls_destroy);
	if (rc) {
		free(v);
		lh_policy_free(pol);
		return -rc;
	}
	pthread_mutex_init(&v->mu, NULL);
	v->cur = xcalloc(1, sizeof(*v->cur));
	v->cur->pol = pol;
	v->cur->gen = 1;
	v->cur->refs = 1;
	atomic_store(&v->gen, 1);
	v->cache = lh_cache_new(opts && opts->cache_entries ? opts->cache_entries : 1u << 20,
				opts && opts->cache_bytes ? opts->cache_bytes : LH_CACHE_BYTES_DEFAULT);
	v->fcache = lh_cache_new(LH_FILE_CACHE_ENTRIES, LH_FILE_CACHE_BYTES);
	v->project = opts && opts->project ? xstrdup(opts->project) : NULL;
	v->max_request = opts && opts->max_request ? opts->max_request : LH_REQUEST_MAX_DEFAULT;
	if (getrandom(&v->seed, sizeof(v->seed), 0) != sizeof(v->seed))
		v->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)v;
	*out = v;
	return 0;
}

void lh_validator_free(struct lh_validator *v)
{
	if (!v)
		return;
	pthread_mutex_lock(&v->mu);
	while (v->threads)
		tls_free_locked(v->threads);
	ref_put_locked(v, v->cur);
	pthread_mutex_unlock(&v->mu);
	/* other threads' keys now point at freed states: never touched again */
	pthread_key_delete(v->key);
	pthread_mutex_destroy(&v->mu);
	lh_cache_free(v->cache);
	lh_cache_free(v->fcache);
	free(v->project);
	free(v);
}

uint32_t lh_validator_set_policy(struct lh_validator *v, struct lh_policy *pol)
{
	struct polref *r = xcalloc(1, sizeof(*r)), *old;

	r->pol = pol;
	r->refs = 1;
	pthread_mutex_lock(&v->mu);
	old = v->cur;
	r->gen = old->gen + 1;
	v->cur = r;
	atomic_store(&v->gen, r->gen);
	ref_put_locked(v, old);
	pthread_mutex_unlock(&v->mu);
	return r->gen;
}

static struct tls *get_tls(struct lh_validator *v)
{
	struct tls *t = pthread_getspecific(v->key);
	uint32_t gen = atomic_load_explicit(&v->gen, memory_order_acquire);

	if (!t) {
		t = xcalloc(1, sizeof(*t));
		t->v = v;
		lh_scratch_init(&t->scratch);
		t->hash = XXH3_createState();
		if (!t->hash) {
			fprintf(stderr, "lighthouse: out of memory creating a hash state\n");
			abort();
		}
		pthread_setspecific(v->key, t);
		pthread_mutex_lock(&v->mu);
		t->next = v->threads;
		if (v->threads)
			v->threads->prev = t;
		v->threads = t;
		pthread_mutex_unlock(&v->mu);
	}
	if (!t->ref || t->ref->gen != gen) {
		pthread_mutex_lock(&v->mu);
		ref_put_locked(v, t->ref);
		t->ref = v->cur;
		t->ref->refs++;
		pthread_mutex_unlock(&v->mu);
	}
	return t;
}

static void hash_field(XXH3_state_t *h, const char *s)
{
	static const char none = '\xff';	/* never in valid UTF-8: absent field */

	if (!s) {
		XXH3_128bits_update(h, &none, 1);
		return;
	}
	XXH3_128bits_update(h, s, strlen(s) + 1);
}

void lh_validator_judge(struct lh_validator *v, const struct lh_judge_in *in,
			struct lh_request *req, struct lh_verdict *out)
{
	struct tls *t = get_tls(v);
	struct lh_judge_env env;
	struct lh_cache_key key;
	XXH128_hash_t h;

	memset(out, 0, sizeof(*out));
	lh_request_parse(req, in->data, in->len, in->total, v->max_request);
	if (req->invalid) {
		lh_verdict_set(out, LH_DENY, LH_TIER_INPUT, "", "invalid request: %s", req->invalid);
		goto count;
	}
	env.cwd = req->cwd ? req->cwd : in->cwd ? in->cwd : v->project ? v->project : "/";
	env.home = in->home ? in->home : "/nonexistent";
	env.user = in->user;
	env.project = v->project;

	XXH3_128bits_reset_withSeed(t->hash, v->seed);
	hash_field(t->hash, req->tool);
	hash_field(t->hash, req->input);
	hash_field(t->hash, req->content);
	hash_field(t->hash, req->old);
	hash_field(t->hash, env.cwd);
	hash_field(t->hash, env.home);
	hash_field(t->hash, env.user);
	h = XXH3_128bits_digest(t->hash);
	key.lo = h.low64;
	key.hi = h.high64;
	if (lh_cache_get(v->cache, &key, t->ref->gen, out))
		goto count;
	lh_policy_judge(t->ref->pol, req, &env, &t->scratch, out);
	atomic_fetch_add_explicit(&v->misses_by_tier[out->tier], 1, memory_order_relaxed);
	if (out->cacheable)
		lh_cache_put(v->cache, &key, t->ref->gen, out);
count:
	atomic_fetch_add_explicit(&v->judged, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&v->by_decision[out->decision], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&v->by_tier[out->tier], 1, memory_order_relaxed);
}

void lh_validator_judge_file(struct lh_validator *v, enum lh_file_access acc, const char *path,
			     const char *home, const char *user, struct lh_verdict *out)
{
	struct tls *t = get_tls(v);
	struct lh_request req;
	struct lh_judge_env env;
	struct lh_cache_key key;
	XXH128_hash_t h;

	memset(out, 0, sizeof(*out));
	memset(&req, 0, sizeof(req));
	req.form = LH_FORM_TOOL;
	req.tool = (char *)(acc == LH_FILE_READ ? "Read" : "Write");
	req.input = (char *)path;
	env.cwd = v->project ? v->project : "/";
	env.home = home ? home : "/nonexistent";
	env.user = user;
	env.project = v->project;

	/* the key of the request `Read PATH` / `Write PATH` from that caller */
	XXH3_128bits_reset_withSeed(t->hash, v->seed);
	hash_field(t->hash, req.tool);
	hash_field(t->hash, req.input);
	hash_field(t->hash, NULL);
	hash_field(t->hash, NULL);
	hash_field(t->hash, env.cwd);
	hash_field(t->hash, env.home);
	hash_field(t->hash, env.user);
	h = XXH3_128bits_digest(t->hash);
	key.lo = h.low64;
	key.hi = h.high64;
	if (lh_cache_get(v->fcache, &key, t->ref->gen, out))
		return;
	lh_policy_judge(t->ref->pol, &req, &env, &t->scratch, out);
	if (out->cacheable)
		lh_cache_put(v->fcache, &key, t->ref->gen, out);
}

void lh_validator_get_stats(struct lh_validator *v, struct lh_validator_stats *st)
{
	struct lh_cache_stats cs, fcs;
	int k;

	memset(st, 0, sizeof(*st));
	lh_cache_get_stats(v->cache, &cs);
	lh_cache_get_stats(v->fcache, &fcs);
	st->judged = atomic_load(&v->judged);
	st->cache_hits = cs.hits;
	st->cache_misses = cs.misses;
	st->cache_evictions = cs.evictions;
	st->cache_entries = cs.entries;
	st->cache_capacity = cs.capacity;
	st->cache_bytes = cs.bytes;
	st->cache_max_bytes = cs.max_bytes;
	st->cache_evictions_bytes = cs.evictions_bytes;
	st->file_cache_hits = fcs.hits;
	st->file_cache_misses = fcs.misses;
	st->file_cache_entries = fcs.entries;
	st->file_cache_capacity = fcs.capacity;
	for (k = 0; k < LH_TIER_COUNT; k++) {
		st->cache_hits_by_tier[k] = cs.hits_by_tier[k];
		st->cache_misses_by_tier[k] = atomic_load(&v->misses_by_tier[k]);
		st->cache_evictions_by_tier[k] = cs.evictions_by_tier[k];
	}
	for (k = 0; k < 3; k++)
		st->by_decision[k] = atomic_load(&v->by_decision[k]);
	for (k = 0; k < LH_TIER_COUNT; k++)
		st->by_tier[k] = atomic_load(&v->by_tier[k]);
	pthread_mutex_lock(&v->mu);
	st->policy_generation = v->cur->gen;
	st->policy_rules = lh_policy_nrules(v->cur->pol);
	pthread_mutex_unlock(&v->mu);
}

void lh_validator_policy_info(struct lh_validator *v, char *source, size_t n, int *rules)
{
	pthread_mutex_lock(&v->mu);
	snprintf(source, n, "%s", lh_policy_source(v->cur->pol));
	if (rules)
		*rules = lh_policy_nrules(v->cur->pol);
	pthread_mutex_unlock(&v->mu);
}

char *lh_validator_policy_text(struct lh_validator *v, size_t *len)
{
	const char *t;
	char *copy;
	size_t n;

	pthread_mutex_lock(&v->mu);
	t = lh_policy_text(v->cur->pol, &n);
	copy = xmalloc(n + 1);
	memcpy(copy, t, n);
	copy[n] = '\0';
	pthread_mutex_unlock(&v->mu);
	if (len)
		*len = n;
	return copy;
}

/* ---- escalation: what lighthoused needs to know about an escalated request ---- */

/* Decode in the way lh_validator_judge does; 0, or -EINVAL for bad input. */
static int decode(struct lh_validator *v, const struct lh_judge_in *in, struct lh_request *req,
		  struct lh_judge_env *env)
{
	lh_request_parse(req, in->data, in->len, in->total, v->max_request);
	if (req->invalid)
		return -EINVAL;
	env->cwd = req->cwd ? req->cwd : in->cwd ? in->cwd : v->project ? v->project : "/";
	env->home = in->home ? in->home : "/nonexistent";
	env->user = in->user;
	env->project = v->project;
	return 0;
}

void lh_validator_inspect(struct lh_validator *v, const struct lh_judge_in *in, lh_touch_fn fn,
			  void *arg)
{
	struct tls *t = get_tls(v);
	struct lh_request req;
	struct lh_judge_env env;

	if (!decode(v, in, &req, &env))
		lh_policy_inspect(t->ref->pol, &req, &env, &t->scratch, fn, arg);
	lh_request_release(&req);
}

int lh_validator_learn(struct lh_validator *v, const struct lh_judge_in *in,
		       const struct lh_learn *l, struct lh_buf *out, struct lh_buf *err)
{
	struct tls *t = get_tls(v);
	struct lh_request req;
	struct lh_judge_env env;
	int rc = decode(v, in, &req, &env);

	if (rc)
		lh_buf_addf(err, "the request cannot be judged: %s", req.invalid);
	else
		rc = lh_policy_learn(t->ref->pol, &req, &env, &t->scratch, l, out, err);
	lh_request_release(&req);
	return rc;
}

void lh_validator_rule_info(struct lh_validator *v, const char *rule, int *quorum,
			    struct lh_buf *tags)
{
	pthread_mutex_lock(&v->mu);
	lh_policy_rule_info(v->cur->pol, rule, quorum, tags);
	pthread_mutex_unlock(&v->mu);
}

/*
 * cache.c -- sharded, set-associative verdict cache (see cache.h).
 *
 * Layout: NSHARDS shards, each a mutex and an array of 8-way sets. The
 * low bits of the key pick the shard, the next bits the set. An entry is
 * 40 bytes: the key, the policy generation, the decision, tier, flags and
 * risk score, and a pointer to an interned body holding the rule id and
 * the reason; bodies are shared by all entries with the same texts and
 * freed with their last entry. A million entries cost about 40 MB plus the
 * distinct texts, and the set arrays are allocated with calloc so that
 * untouched sets cost no resident memory.
 *
 * Two bounds. Entries: a full set evicts by CLOCK within the set. Bytes:
 * each live entry is charged its own size plus its body's (the body
 * counted once per entry, an upper bound when bodies are shared), against
 * max_bytes / NSHARDS per shard; a put that would pass the shard's share
 * first sweeps a second CLOCK hand over the whole shard, evicting entries
 * not used since it last passed (and any of an old generation), until the
 * new entry fits. The sweep looks at each entry at most twice per put.
 *
 * Locks: a shard lock and an intern stripe lock are never held together
 * (a body is looked up before the shard is locked and released after it
 * is unlocked). A hit copies the body's texts while holding the shard
 * lock, which keeps the body alive.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "common/xalloc.h"
#include "validator/cache.h"
#include "common/banned.h"

#define NSHARDS 64
#define WAYS 8
#define NSTRIPES 16

struct body {
	struct body *next;		/* in its intern bucket */
	uint64_t hash;
	unsigned refs;			/* protected by the stripe lock */
	unsigned charge;		/* bytes an entry holding it is charged */
	char *rule;			/* points into text[] */
	char text[];			/* reason NUL rule NUL */
};

#define E_VALID 0x01
#define E_USED 0x02			/* CLOCK reference bit */
#define E_ESCALATE 0x04			/* the verdict's escalate flag */

struct entry {
	uint64_t lo, hi;
	uint32_t gen;
	uint8_t decision, tier, flags, pad;
	int32_t risk;
	struct body *body;
};

struct set {
	struct entry e[WAYS];
};

struct shard {
	pthread_mutex_t mu;
	struct set *sets;
	size_t nsets;
	uint8_t *hands;			/* CLOCK hand per set */
	size_t sweep;			/* byte-bound CLOCK hand: set * WAYS + way */
	size_t bytes, max_bytes;	/* charged, bound; protected by mu */
	uint64_t hits, misses, inserts, evictions, evictions_bytes, live; /* protected by mu */
	uint64_t hits_by_tier[LH_TIER_COUNT];	/* protected by mu */
	uint64_t evictions_by_tier[LH_TIER_COUNT];	/* protected by mu */
} __attribute__((aligned(64)));

struct stripe {
	pthread_mutex_t mu;
	struct body **buckets;
	size_t nbuckets;		/* power of two */
	size_t n;
} __attribute__((aligned(64)));

struct lh_cache {
	struct shard shards[NSHARDS];
	struct stripe stripes[NSTRIPES];
	size_t capacity;
	size_t max_bytes;
};

struct lh_cache *lh_cache_new(size_t entries, size_t max_bytes)
{
	struct lh_cache *c = xcalloc(1, sizeof(*c));
	size_t per = (entries + NSHARDS - 1) / NSHARDS;
	size_t nsets = (per + WAYS - 1) / WAYS;
	int k;

	if (nsets < 1)
		nsets = 1;
	for (k = 0; k < NSHARDS; k++) {
		pthread_mutex_init(&c->shards[k].mu, NULL);
		c->shards[k].sets = xcalloc(nsets, sizeof(struct set));
		c->shards[k].hands = xcalloc(nsets, 1);
		c->shards[k].nsets = nsets;
		c->shards[k].max_bytes = max_bytes / NSHARDS;
	}
	for (k = 0; k < NSTRIPES; k++) {
		pthread_mutex_init(&c->stripes[k].mu, NULL);
		c->stripes[k].nbuckets = 64;
		c->stripes[k].buckets = xcalloc(64, sizeof(struct body *));
	}
	c->capacity = nsets * WAYS * NSHARDS;
	c->max_bytes = (max_bytes / NSHARDS) * NSHARDS;
	return c;
}

void lh_cache_free(struct lh_cache *c)
{
	int k;
	size_t b;

	if (!c)
		return;
	for (k = 0; k < NSHARDS; k++) {
		pthread_mutex_destroy(&c->shards[k].mu);
		free(c->shards[k].sets);
		free(c->shards[k].hands);
	}
	for (k = 0; k < NSTRIPES; k++) {
		for (b = 0; b < c->stripes[k].nbuckets; b++) {
			struct body *x = c->stripes[k].buckets[b];

			while (x) {
				struct body *next = x->next;

				free(x);
				x = next;
			}
		}
		free(c->stripes[k].buckets);
		pthread_mutex_destroy(&c->stripes[k].mu);
	}
	free(c);
}

static struct body *body_get(struct lh_cache *c, const char *rule, const char *reason)
{
	size_t rl = strlen(rule), sl = strlen(reason);
	uint64_t h = XXH3_64bits(reason, sl) ^ (XXH3_64bits(rule, rl) * 0x9E3779B97F4A7C15ull);
	struct stripe *st = &c->stripes[h % NSTRIPES];
	struct body *b;
	size_t i;

	pthread_mutex_lock(&st->mu);
	i = (h >> 8) & (st->nbuckets - 1);
	for (b = st->buckets[i]; b; b = b->next)
		if (b->hash == h && !strcmp(b->text, reason) && !strcmp(b->rule, rule)) {
			b->refs++;
			pthread_mutex_unlock(&st->mu);
			return b;
		}
	b = xmalloc(sizeof(*b) + sl + rl + 2);
	memcpy(b->text, reason, sl + 1);
	b->rule = b->text + sl + 1;
	memcpy(b->rule, rule, rl + 1);
	b->hash = h;
	b->refs = 1;
	b->charge = (unsigned)(sizeof(struct entry) + sizeof(*b) + sl + rl + 2);
	if (st->n + 1 > st->nbuckets) {
		size_t nb = st->nbuckets * 2, k;
		struct body **v = xcalloc(nb, sizeof(*v));

		for (k = 0; k < st->nbuckets; k++) {
			struct body *x = st->buckets[k];

			while (x) {
				struct body *next = x->next;
				size_t j = (x->hash >> 8) & (nb - 1);

				x->next = v[j];
				v[j] = x;
				x = next;
			}
		}
		free(st->buckets);
		st->buckets = v;
		st->nbuckets = nb;
		i = (h >> 8) & (nb - 1);
	}
	b->next = st->buckets[i];
	st->buckets[i] = b;
	st->n++;
	pthread_mutex_unlock(&st->mu);
	return b;
}

static void body_put(struct lh_cache *c, struct body *b)
{
	struct stripe *st = &c->stripes[b->hash % NSTRIPES];
	struct body **pp;

	pthread_mutex_lock(&st->mu);
	if (--b->refs) {
		pthread_mutex_unlock(&st->mu);
		return;
	}
	for (pp = &st->buckets[(b->hash >> 8) & (st->nbuckets - 1)]; *pp; pp = &(*pp)->next)
		if (*pp == b) {
			*pp = b->next;
			break;
		}
	st->n--;
	pthread_mutex_unlock(&st->mu);
	free(b);
}

static struct shard *shard_of(struct lh_cache *c, const struct lh_cache_key *k, size_t *set)
{
	struct shard *s = &c->shards[k->lo % NSHARDS];

	*set = (size_t)((k->lo / NSHARDS) % s->nsets);
	return s;
}

int lh_cache_get(struct lh_cache *c, const struct lh_cache_key *k, uint32_t gen,
		 struct lh_verdict *out)
{
	size_t si;
	struct shard *s = shard_of(c, k, &si);
	struct set *set = &s->sets[si];
	int w;

	pthread_mutex_lock(&s->mu);
	for (w = 0; w < WAYS; w++) {
		struct entry *e = &set->e[w];

		if ((e->flags & E_VALID) && e->lo == k->lo && e->hi == k->hi && e->gen == gen) {
			size_t rl = strlen(e->body->rule), sl = strlen(e->body->text);

			out->decision = (enum lh_decision)e->decision;
			out->tier = (enum lh_tier)e->tier;
			out->risk = e->risk;
			out->cached = 1;
			out->cacheable = 1;
			out->escalate = !!(e->flags & E_ESCALATE);
			memcpy(out->rule, e->body->rule, rl + 1);
			memcpy(out->reason, e->body->text, sl + 1);
			e->flags |= E_USED;
			s->hits++;
			s->hits_by_tier[e->tier < LH_TIER_COUNT ? e->tier : 0]++;
			pthread_mutex_unlock(&s->mu);
			return 1;
		}
	}
	s->misses++;
	pthread_mutex_unlock(&s->mu);
	return 0;
}

/* Take an entry out; its body is returned for body_put after unlocking. */
static struct body *drop_entry(struct shard *s, struct entry *e)
{
	struct body *b = e->body;

	s->bytes -= b->charge;
	s->live--;
	s->evictions_by_tier[e->tier < LH_TIER_COUNT ? e->tier : 0]++;
	e->flags = 0;
	e->body = NULL;
	return b;
}

/*
 * Make room for `need` more bytes in the shard: sweep the shard's CLOCK
 * hand, evicting entries not used since it passed (or of an old
 * generation). At most two turns; evicted bodies go to *freed.
 */
static void make_room(struct shard *s, size_t need, uint32_t gen, struct body **freed,
		      int *nfreed, int maxfreed)
{
	size_t total = s->nsets * WAYS, looked;

	for (looked = 0; s->bytes + need > s->max_bytes && looked < 2 * total; looked++) {
		struct entry *e = &s->sets[s->sweep / WAYS].e[s->sweep % WAYS];

		s->sweep = (s->sweep + 1) % total;
		if (!(e->flags & E_VALID))
			continue;
		if ((e->flags & E_USED) && e->gen == gen) {
			e->flags &= (uint8_t)~E_USED;
			continue;
		}
		if (*nfreed >= maxfreed)
			break;
		freed[(*nfreed)++] = drop_entry(s, e);
		s->evictions++;
		s->evictions_bytes++;
	}
}

#define MAX_FREED 64	/* bodies released by one put */

void lh_cache_put(struct lh_cache *c, const struct lh_cache_key *k, uint32_t gen,
		  const struct lh_verdict *v)
{
	size_t si;
	struct shard *s = shard_of(c, k, &si);
	struct set *set = &s->sets[si];
	struct body *b = body_get(c, v->rule, v->reason);
	struct body *freed[MAX_FREED + 1];
	struct entry *victim = NULL;
	int w, nfreed = 0;

	if (b->charge > s->max_bytes) {
		/* larger than the shard's whole share: not cached */
		body_put(c, b);
		return;
	}
	pthread_mutex_lock(&s->mu);
	for (w = 0; w < WAYS; w++) {
		struct entry *e = &set->e[w];

		if ((e->flags & E_VALID) && e->lo == k->lo && e->hi == k->hi) {
			victim = e;	/* same key (maybe an old generation): replace */
			break;
		}
		if (!victim && !(e->flags & E_VALID))
			victim = e;
	}
	if (!victim) {
		/* CLOCK: the first entry not used since the hand last passed */
		uint8_t h = s->hands[si];

		for (;;) {
			struct entry *e = &set->e[h % WAYS];

			h = (uint8_t)((h + 1) % WAYS);
			if ((e->flags & E_USED) && e->gen == gen) {
				e->flags &= (uint8_t)~E_USED;
				continue;
			}
			victim = e;
			break;
		}
		s->hands[si] = h;
		s->evictions++;
		freed[nfreed++] = drop_entry(s, victim);
	} else if (victim->flags & E_VALID) {
		/* a replacement, not an eviction */
		s->bytes -= victim->body->charge;
		s->live--;
		freed[nfreed++] = victim->body;
		victim->flags = 0;
	}
	if (s->bytes + b->charge > s->max_bytes)
		make_room(s, b->charge, gen, freed, &nfreed, MAX_FREED);
	if (s->bytes + b->charge > s->max_bytes) {
		/* the sweep could not free enough: leave the slot empty */
		pthread_mutex_unlock(&s->mu);
		freed[nfreed++] = b;
		goto out;
	}
	victim->lo = k->lo;
	victim->hi = k->hi;
	victim->gen = gen;
	victim->decision = (uint8_t)v->decision;
	victim->tier = (uint8_t)v->tier;
	victim->risk = v->risk;
	victim->flags = E_VALID | (v->escalate ? E_ESCALATE : 0);
	victim->body = b;
	s->bytes += b->charge;
	s->live++;
	s->inserts++;
	pthread_mutex_unlock(&s->mu);
out:
	for (w = 0; w < nfreed; w++)
		body_put(c, freed[w]);
}

void lh_cache_get_stats(struct lh_cache *c, struct lh_cache_stats *st)
{
	int k, t;

	memset(st, 0, sizeof(*st));
	for (k = 0; k < NSHARDS; k++) {
		struct shard *s = &c->shards[k];

		pthread_mutex_lock(&s->mu);
		st->hits += s->hits;
		st->misses += s->misses;
		st->inserts += s->inserts;
		st->evictions += s->evictions;
		st->evictions_bytes += s->evictions_bytes;
		st->entries += s->live;
		st->bytes += s->bytes;
		for (t = 0; t < LH_TIER_COUNT; t++) {
			st->hits_by_tier[t] += s->hits_by_tier[t];
			st->evictions_by_tier[t] += s->evictions_by_tier[t];
		}
		pthread_mutex_unlock(&s->mu);
	}
	for (k = 0; k < NSTRIPES; k++) {
		pthread_mutex_lock(&c->stripes[k].mu);
		st->bodies += c->stripes[k].n;
		pthread_mutex_unlock(&c->stripes[k].mu);
	}
	st->capacity = c->capacity;
	st->max_bytes = c->max_bytes;
}

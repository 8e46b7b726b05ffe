/*
 * agents.c -- who is asking, how much, and whether they may ask now.
 *
 * An agent is named by what its request declares (agent_id, else
 * session_id) or, when it declares nothing, by the kernel session of the
 * writing process ("sid:1234": a shell script and the processes it starts
 * share it). Each agent and each uid has a token bucket: `rate` tokens a
 * second up to `burst`; a request takes one. Over the limit the request is
 * denied at once with a retry-after hint -- one agent's flood costs the
 * others nothing but the FUSE requests it makes.
 *
 * Holding: an agent that asks again before the retry-after it was given
 * (a tight loop that ignores the hint) has that answer -- also `rate
 * limited` -- held until the time it was told, at most HOLD_MAX_NS, in
 * the request's own parked read (no thread waits). The first limited
 * answer is always immediate; only the loop is slowed to the rate it was
 * told. Without this, on a small machine a flooding agent's loop of
 * instant denials takes a CPU from the others however cheap each denial.
 *
 * The table is bounded (MAX_AGENTS); when it is full the agent seen least
 * recently is forgotten (its bucket refills, its counters restart). It is
 * an open hash of agent slots guarded by one mutex: the critical section
 * is a few arithmetic operations per request.
 *
 * Counters per agent (requests, decisions, rate-limited) feed the `stats`
 * file's top agents and `lighthousectl top`.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/xalloc.h"
#include "fs/fs.h"
#include "common/banned.h"

#define MAX_AGENTS 16384
#define TABLE_SIZE (MAX_AGENTS * 2)	/* power of two, load <= 1/2 */
#define HOLD_MAX_NS 1000000000ll	/* a held answer waits at most this long */

struct bucket {
	double tokens;
	int64_t last_ns;
};

struct agent {
	char name[FS_AGENT_MAX];	/* "" for an empty slot; uid buckets are "\1uid" */
	uid_t uid;
	struct bucket b;
	int64_t seen_ns;
	int64_t retry_ns;		/* the last limited answer said: retry after this */
	uint64_t requests, limited;
	uint64_t decisions[3];
};

struct agents {
	pthread_mutex_t mu;
	struct agent *v;		/* TABLE_SIZE slots; protected by mu */
	size_t n;			/* slots in use */
};

static uint64_t hash_name(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

struct agents *agents_new(void)
{
	struct agents *a = xcalloc(1, sizeof(*a));

	pthread_mutex_init(&a->mu, NULL);
	a->v = xcalloc(TABLE_SIZE, sizeof(*a->v));
	return a;
}

void agents_free(struct agents *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->mu);
	free(a->v);
	free(a);
}

/* Remove slot i, keeping linear probing intact (backward-shift deletion). */
static void remove_slot(struct agents *a, size_t i)
{
	size_t j = i;

	for (;;) {
		size_t k;

		a->v[i].name[0] = '\0';
		for (;;) {
			j = (j + 1) & (TABLE_SIZE - 1);
			if (!a->v[j].name[0]) {
				a->n--;
				return;
			}
			k = hash_name(a->v[j].name) & (TABLE_SIZE - 1);
			/* can slot j move back to i? only if its home is not in (i, j] */
			if ((i <= j) ? (k <= i || k > j) : (k <= i && k > j))
				break;
		}
		a->v[i] = a->v[j];
		i = j;
	}
}

static void evict_oldest(struct agents *a)
{
	size_t i, old = TABLE_SIZE;

	for (i = 0; i < TABLE_SIZE; i++)
		if (a->v[i].name[0] && (old == TABLE_SIZE || a->v[i].seen_ns < a->v[old].seen_ns))
			old = i;
	if (old < TABLE_SIZE)
		remove_slot(a, old);
}

/* Find or add; caller holds mu. */
static struct agent *get(struct agents *a, const char *name, uid_t uid, int64_t now)
{
	size_t i;

	for (i = hash_name(name) & (TABLE_SIZE - 1);; i = (i + 1) & (TABLE_SIZE - 1)) {
		if (!a->v[i].name[0])
			break;
		if (!strcmp(a->v[i].name, name))
			return &a->v[i];
	}
	if (a->n >= MAX_AGENTS) {
		evict_oldest(a);
		for (i = hash_name(name) & (TABLE_SIZE - 1); a->v[i].name[0];
		     i = (i + 1) & (TABLE_SIZE - 1))
			;
	}
	memset(&a->v[i], 0, sizeof(a->v[i]));
	snprintf(a->v[i].name, sizeof(a->v[i].name), "%s", name);
	a->v[i].uid = uid;
	a->v[i].b.last_ns = now;
	a->v[i].b.tokens = -1;	/* full on first use */
	a->n++;
	return &a->v[i];
}

/* Take a token; returns 0, or the microseconds until one is there. */
static int64_t take(struct bucket *b, unsigned rate, unsigned burst, int64_t now)
{
	double cap = burst ? burst : rate;

	if (!rate)
		return 0;
	if (b->tokens < 0)
		b->tokens = cap;
	b->tokens += (double)(now - b->last_ns) * rate / 1e9;
	if (b->tokens > cap)
		b->tokens = cap;
	b->last_ns = now;
	if (b->tokens >= 1) {
		b->tokens -= 1;
		return 0;
	}
	return (int64_t)((1 - b->tokens) * 1e6 / rate) + 1;
}

int64_t agents_admit(struct lh_fs *fs, const char *agent, uid_t uid, const char **which,
		     int64_t *hold_ns)
{
	struct agents *a = fs->agents;
	int64_t now = lh_mono_ns(), wait = 0;
	char ukey[32];
	struct agent *ag, *u;

	snprintf(ukey, sizeof(ukey), "\001uid %u", (unsigned)uid);
	*which = NULL;
	pthread_mutex_lock(&a->mu);
	ag = get(a, agent, uid, now);
	ag->seen_ns = now;
	ag->requests++;
	wait = take(&ag->b, fs->cfg.rate_agent, fs->cfg.rate_agent_burst, now);
	if (wait) {
		*which = "agent";
	} else if (fs->cfg.rate_uid) {
		u = get(a, ukey, uid, now);
		u->seen_ns = now;
		wait = take(&u->b, fs->cfg.rate_uid, fs->cfg.rate_uid_burst, now);
		if (wait) {
			*which = "uid";
			/* give the agent its token back: the uid refused it */
			ag = get(a, agent, uid, now);
			ag->b.tokens += 1;
		}
	}
	*hold_ns = 0;
	if (wait) {
		ag = get(a, agent, uid, now);
		ag->limited++;
		atomic_fetch_add(&fs->stats.rate_limited, 1);
		if (now < ag->retry_ns) {
			/* asked again before the time it was told: hold this answer */
			*hold_ns = ag->retry_ns < now + HOLD_MAX_NS ? ag->retry_ns : now + HOLD_MAX_NS;
			atomic_fetch_add(&fs->stats.rate_held, 1);
		}
		if (now + wait * 1000 > ag->retry_ns)
			ag->retry_ns = now + wait * 1000;
	}
	pthread_mutex_unlock(&a->mu);
	return wait;
}

void agents_decided(struct lh_fs *fs, const char *agent, uid_t uid, int decision)
{
	struct agents *a = fs->agents;

	pthread_mutex_lock(&a->mu);
	get(a, agent, uid, lh_mono_ns())->decisions[decision]++;
	pthread_mutex_unlock(&a->mu);
}

static int by_requests(const void *x, const void *y)
{
	const struct fs_agent_row *a = x, *b = y;

	return a->requests < b->requests ? 1 : a->requests > b->requests ? -1 : strcmp(a->name, b->name);
}

int agents_top(struct lh_fs *fs, struct fs_agent_row *out, int max)
{
	struct agents *a = fs->agents;
	struct fs_agent_row *all;
	size_t i;
	int n = 0, k;

	pthread_mutex_lock(&a->mu);
	all = xcalloc(a->n + 1, sizeof(*all));
	for (i = 0; i < TABLE_SIZE; i++) {
		const struct agent *g = &a->v[i];

		if (!g->name[0] || g->name[0] == '\001')
			continue;
		memcpy(all[n].name, g->name, sizeof(all[n].name));
		all[n].uid = g->uid;
		all[n].requests = g->requests;
		all[n].limited = g->limited;
		memcpy(all[n].decisions, g->decisions, sizeof(all[n].decisions));
		n++;
	}
	pthread_mutex_unlock(&a->mu);
	if (n > 1)
		qsort(all, (size_t)n, sizeof(*all), by_requests);
	k = n < max ? n : max;
	memcpy(out, all, sizeof(*out) * (size_t)k);
	free(all);
	return k;
}

size_t agents_count(struct lh_fs *fs)
{
	size_t n;

	pthread_mutex_lock(&fs->agents->mu);
	n = fs->agents->n;
	pthread_mutex_unlock(&fs->agents->mu);
	return n;
}

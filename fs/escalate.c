/*
 * escalate.c -- escalations: requests the speed layer could not decide,
 * held until expert agents or a person decide them; and the registry of
 * experts. This file is the model; experts/ (experts.c), context/
 * (context.c) and the ctl commands are views of it.
 *
 * DESIGN
 *
 * A request whose verdict escalates is recorded with its request, verdict
 * and escalation events (reqtab.c:judge); once they are committed,
 * esc_open makes it an *item* here, and its record in reqtab.c stays
 * pending: every read of its result is parked (a fuse_req_t in a list, no
 * thread), an O_NONBLOCK read gets EAGAIN.
 *
 * Routing. An item needs `quorum` expert decisions (votes). It is
 * *offered* -- it appears in experts/NAME/queue/ -- to as many experts as
 * it still needs, chosen among the registered experts whose capabilities
 * name one of the item's capability words (else the generalists, whose
 * capabilities are empty or `*`), the least loaded first (offers plus
 * claims), then the one offered something longest ago. An expert *claims*
 * an offer by renaming queue/ID to inprogress/ID (atomic under the lock),
 * and decides by writing its decision into inprogress/ID. An offer not
 * claimed, or a claim not decided, within claim_timeout is taken back and
 * offered again -- to another capable expert when there is one (the expert
 * who let it go comes last). With no capable expert at all the item waits
 * for a person.
 *
 * Deciding. When `quorum` votes are in, the item is decided: their
 * decision if they agree, else the most severe of them. A person
 * (lighthousectl approve / deny) decides at once, whatever experts hold or
 * voted: human decisions win. escalation_timeout after the request the
 * worker decides deny. A decision is final once its events (a `decision`
 * event, and a `rule.learn` event when it is to be remembered) are
 * committed: then (and only then) the agent's parked reads are answered
 * (reqtab_decided), so no agent sees a decision the store could lose. A
 * remembered decision is also published as a learned rule (learned.c)
 * before the agent's read returns, so the agent's next identical request
 * is answered by the policy. A person's approve / deny is answered only
 * then too (struct fin_wait), so what they ask next meets their rule.
 *
 * The worker thread sleeps until the next deadline (an item's, a claim's,
 * an offer's) or a job: publishing learned rules after a commit (compiling
 * a policy is too slow for the store's writer thread, which runs the
 * completion callbacks). Decided items stay listed (context/, pending
 * shows them no more) for result_ttl, then are dropped.
 *
 * Restart. Events are the truth: at start-up esc_recover rebuilds the
 * experts from expert.add / expert.remove events, and every escalation
 * without a final decision event is pending again under its request id,
 * with its deadline; one whose deadline passed while the daemon was down
 * is decided deny, with a reason that says so. Nothing is lost, nothing
 * is allowed by default.
 *
 * experts/NAME/next: a read returns the IDs in the expert's queue (the
 * whole lines the read has room for), or parks until there is one (so a
 * scripted expert blocks in `head -1` instead of polling); O_NONBLOCK
 * gets EAGAIN.
 *
 * Locking: esc->mu guards everything here; it is a leaf lock. No FUSE
 * reply, store submission, validator or reqtab call is made while holding
 * it: changes that must reply (wake `next` readers) or record collect
 * their work under the lock and do it after. A parked `next` read
 * registers its interrupt callback before taking the lock and asks
 * whether it was interrupted under the lock, before parking.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/utf8.h"
#include "common/xalloc.h"
#include "fs/fs.h"
#include "store/store.h"
#include "validator/validator.h"
#include "common/banned.h"

#define NBUCKETS 256
#define EXPERT_NAME_MAX 64
#define CAPS_MAX 512
#define MAX_DROPPED 32
#define MAX_EXPERT_ID 0xFFFF	/* inode numbers hold 16 bits of it */
#define HUMAN_WAIT_S 5		/* a person's decision: answered once final, or after this */

struct nwaiter {			/* a parked read of experts/NAME/next */
	struct nwaiter *next;
	fuse_req_t req;
	size_t size;			/* what the read asked for */
};

struct expert {
	uint32_t id;			/* never reused: inode numbers */
	char name[EXPERT_NAME_MAX];
	uid_t uid;
	gid_t gid;
	char caps[CAPS_MAX];		/* as written; "" or "*": every escalation */
	int removed;
	int queued, claimed;		/* offers and claims it holds: its load */
	uint64_t decided;
	int64_t last_offer_ns;		/* monotonic */
	struct nwaiter *waiters;
	struct expert *next;
};

struct offer {
	uint32_t expert;
	int64_t since_ns;		/* monotonic */
};

struct claim {
	uint32_t expert;
	int64_t until_ns;		/* monotonic */
	int64_t until_wall;
};

struct vote {
	char expert[EXPERT_NAME_MAX];
	enum lh_decision d;
	char reason[LH_REASON_MAX];
	int remember;			/* REM_* */
};

enum { REM_NO, REM_EXACT, REM_PATTERN };
enum istate { E_PENDING, E_DECIDING, E_DONE };
enum { BY_EXPERT, BY_HUMAN, BY_TIMEOUT, BY_RESTART };

struct item {
	struct esc_request rq;		/* every string owned */
	struct item *hnext;
	struct item *prev, *next;	/* in order of escalation */
	enum istate state;
	int64_t deadline_ns;		/* monotonic */
	struct offer offers[LH_QUORUM_MAX];
	int noffers;
	struct claim claims[LH_QUORUM_MAX];
	int nclaims;
	uint32_t dropped[MAX_DROPPED];	/* experts who let it go */
	int ndropped;
	struct vote votes[LH_QUORUM_MAX];
	int nvotes;
	/* the outcome, once decided */
	char decision[8], by[16], who[256], why[LH_REASON_MAX], learned_rule[LH_RULE_MAX];
	int64_t decided_wall;
	int64_t purge_ns;		/* monotonic: dropped from the lists then */
};

struct job {
	struct job *next;
	struct fin *fin;
};

struct esc {
	pthread_mutex_t mu;
	pthread_cond_t cv;		/* the worker: a job, or a deadline moved */
	struct item *buckets[NBUCKETS];	/* protected by mu, as is everything below */
	struct item *head, *tail;
	struct expert *experts;
	uint32_t next_expert;
	uint64_t npending;
	struct job *jobs, *jobs_tail;
	int64_t sleep_until;		/* monotonic: the worker's wake-up while it waits, else 0 */
	pthread_t worker;
	int running, stopping;
};

/* A decision on its way into the store (finalize -> committed -> deliver). */
struct fin {
	struct lh_fs *fs;
	uint64_t id;
	int by_idx;			/* BY_* */
	struct fs_decided out;		/* the verdict for the agent */
	char by[16], who[256];
	char *rule_text;		/* the learned rule(s), when remembered */
	struct fin_wait *wait;		/* a person waiting for it, or NULL */
};

/*
 * A person's decision is answered (lighthousectl approve / deny returns)
 * once it is final: committed, its learned rule published, the agent
 * answered. So a request the person makes next is judged by that rule.
 * Shared by the waiting ctl thread and the decision; the last one frees.
 */
struct fin_wait {
	pthread_mutex_t mu;
	pthread_cond_t cv;		/* monotonic clock */
	int done;			/* protected by mu, as is refs */
	int refs;
};

/* Work collected under the lock, done after it. */
struct wake {
	struct wake *next;
	fuse_req_t req;			/* a `next` read to answer (err 0: with text) */
	int err;
	size_t len;
	char text[];
};

struct todo {
	struct wake *wakes;
	struct lh_buf events;		/* claim events: JSON lines "id expert why" */
};

static struct fin_wait *fin_wait_new(void)
{
	struct fin_wait *w = xcalloc(1, sizeof(*w));
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&w->mu, NULL);
	w->refs = 2;
	return w;
}

/* Drop a reference; done: the decision is final (or will never be). */
static void fin_wait_put(struct fin_wait *w, int done)
{
	int last;

	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	if (done) {
		w->done = 1;
		pthread_cond_broadcast(&w->cv);
	}
	last = !--w->refs;
	pthread_mutex_unlock(&w->mu);
	if (last) {
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
		free(w);
	}
}

/* Wait at most `secs` for the decision; 1 if it is final. */
static int fin_wait_for(struct fin_wait *w, int secs)
{
	struct timespec until;
	int done, rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += secs;
	pthread_mutex_lock(&w->mu);
	while (!w->done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&w->cv, &w->mu, &until);
	done = w->done;
	pthread_mutex_unlock(&w->mu);
	return done;
}

static struct item *find(struct esc *e, uint64_t id)
{
	struct item *it;

	for (it = e->buckets[id % NBUCKETS]; it; it = it->hnext)
		if (it->rq.id == id)
			return it;
	return NULL;
}

static struct expert *expert_id(struct esc *e, uint32_t id)
{
	struct expert *x;

	for (x = e->experts; x; x = x->next)
		if (x->id == id && !x->removed)
			return x;
	return NULL;
}

static struct expert *expert_named(struct esc *e, const char *name)
{
	struct expert *x;

	for (x = e->experts; x; x = x->next)
		if (!x->removed && !strcmp(x->name, name))
			return x;
	return NULL;
}

/* Text for one line of a verdict or a listing: no control characters, valid UTF-8. */
static void clean_text(char *dst, size_t cap, const char *src, size_t n)
{
	size_t o = 0, i = 0;

	while (i < n && o + 4 < cap) {
		size_t k = lh_utf8_seq(src + i, n - i);

		if (!k) {
			dst[o++] = '?';
			i++;
		} else if (k == 1 && ((unsigned char)src[i] < 0x20 || src[i] == 0x7f)) {
			dst[o++] = ' ';
			i++;
		} else {
			memcpy(dst + o, src + i, k);
			o += k;
			i += k;
		}
	}
	while (o && dst[o - 1] == ' ')
		o--;
	dst[o] = '\0';
}

/* snprintf for texts that may be cut (reasons are cut again on a UTF-8 boundary) */
static void textf(char *dst, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void textf(char *dst, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, n, fmt, ap);
	va_end(ap);
}

static int valid_expert_name(const char *s)
{
	size_t n = strlen(s), i;

	if (!n || n >= EXPERT_NAME_MAX || !strcmp(s, ".") || !strcmp(s, ".."))
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

/* Capability words: separated by blanks, commas or newlines, lowercase. */
static void caps_normalize(char *out, size_t cap, const char *in)
{
	size_t o = 0;
	int sep = 0;

	for (; *in && o + 2 < cap; in++) {
		char c = *in;

		if (c == ' ' || c == ',' || c == '\n' || c == '\t' || c == '\r') {
			sep = o > 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-' || c == '*'))
			continue;
		if (sep) {
			out[o++] = ' ';
			sep = 0;
		}
		out[o++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	out[o] = '\0';
}

static int has_word(const char *words, const char *w)
{
	size_t n = strlen(w);
	const char *p = words;

	while ((p = strstr(p, w))) {
		if ((p == words || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return 1;
		p += n;
	}
	return 0;
}

/* 2: names one of the item's words; 1: a generalist; 0: not for it */
static int capable(const struct expert *x, const struct item *it)
{
	const char *p = x->caps;

	if (!x->caps[0] || has_word(x->caps, "*"))
		return 1;
	while (*p) {
		char w[128];
		size_t n = strcspn(p, " ");

		if (n < sizeof(w)) {
			memcpy(w, p, n);
			w[n] = '\0';
			if (has_word(it->rq.caps, w))
				return 2;
		}
		p += n;
		while (*p == ' ')
			p++;
	}
	return 0;
}

static int holds(const struct item *it, uint32_t x, int claimed)
{
	int k;

	if (claimed) {
		for (k = 0; k < it->nclaims; k++)
			if (it->claims[k].expert == x)
				return 1;
	} else {
		for (k = 0; k < it->noffers; k++)
			if (it->offers[k].expert == x)
				return 1;
	}
	return 0;
}

static int voted(const struct item *it, const struct expert *x)
{
	int k;

	for (k = 0; k < it->nvotes; k++)
		if (!strcmp(it->votes[k].expert, x->name))
			return 1;
	return 0;
}

static int dropped(const struct item *it, uint32_t x)
{
	int k;

	for (k = 0; k < it->ndropped; k++)
		if (it->dropped[k] == x)
			return 1;
	return 0;
}

static void add_dropped(struct item *it, uint32_t x)
{
	if (dropped(it, x))
		return;
	if (it->ndropped == MAX_DROPPED) {
		memmove(it->dropped, it->dropped + 1, sizeof(it->dropped[0]) * (MAX_DROPPED - 1));
		it->ndropped--;
	}
	it->dropped[it->ndropped++] = x;
}

/* The IDs of an expert's queue, oldest first, one per line. */
static void queue_text(struct esc *e, const struct expert *x, struct lh_buf *out)
{
	struct item *it;

	for (it = e->head; it; it = it->next)
		if (it->state == E_PENDING && holds(it, x->id, 0))
			lh_buf_addf(out, "%" PRIu64 "\n", it->rq.id);
}

static void wake_add(struct todo *td, fuse_req_t req, int err, const char *text, size_t len)
{
	struct wake *w = xmalloc(sizeof(*w) + len + 1);

	w->req = req;
	w->err = err;
	w->len = len;
	if (len)
		memcpy(w->text, text, len);
	w->text[len] = '\0';
	w->next = td->wakes;
	td->wakes = w;
}

/*
 * How much of a queue's text a read of `size` bytes gets: whole lines, as
 * many as fit (a reply longer than the read is an error to the kernel); a
 * read too small for one line gets its first bytes.
 */
static size_t fit_lines(const char *text, size_t len, size_t size)
{
	size_t n;

	if (len <= size)
		return len;
	for (n = size; n > 0 && text[n - 1] != '\n'; n--)
		;
	return n ? n : size;
}

/* Caller holds mu: the expert's queue changed; answer its parked `next` reads. */
static void wake_expert(struct esc *e, struct expert *x, struct todo *td)
{
	struct lh_buf q = LH_BUF_INIT;

	if (!x->waiters)
		return;
	queue_text(e, x, &q);
	if (q.len) {
		while (x->waiters) {
			struct nwaiter *w = x->waiters;

			x->waiters = w->next;
			wake_add(td, w->req, 0, q.data, fit_lines(q.data, q.len, w->size));
			free(w);
		}
	}
	lh_buf_release(&q);
}

static void todo_event(struct todo *td, uint64_t id, const char *expert, const char *what)
{
	lh_buf_addf(&td->events, "%" PRIu64 " %s %s\n", id, expert, what);
}

/* Caller holds mu: offer `it` to as many capable experts as it still needs. */
static void route(struct esc *e, struct item *it, struct todo *td)
{
	int need = it->rq.quorum - it->nvotes - it->nclaims - it->noffers;

	while (need > 0 && it->state == E_PENDING && it->noffers < LH_QUORUM_MAX) {
		struct expert *x, *best = NULL;
		int best_rank = 0;

		for (x = e->experts; x; x = x->next) {
			int c, rank;

			if (x->removed || holds(it, x->id, 0) || holds(it, x->id, 1) || voted(it, x))
				continue;
			c = capable(x, it);
			if (!c)
				continue;
			/* specialists before generalists; who let it go, last */
			rank = (c == 2 ? 0 : 1) + (dropped(it, x->id) ? 2 : 0);
			if (!best || rank < best_rank ||
			    (rank == best_rank && (x->queued + x->claimed < best->queued + best->claimed ||
						   (x->queued + x->claimed == best->queued + best->claimed &&
						    x->last_offer_ns < best->last_offer_ns)))) {
				best = x;
				best_rank = rank;
			}
		}
		if (!best)
			return;
		it->offers[it->noffers].expert = best->id;
		it->offers[it->noffers].since_ns = lh_mono_ns();
		it->noffers++;
		best->queued++;
		best->last_offer_ns = lh_mono_ns();
		wake_expert(e, best, td);
		need--;
	}
}

/* Caller holds mu: is any registered expert capable of it? */
static int any_capable(struct esc *e, const struct item *it)
{
	struct expert *x;

	for (x = e->experts; x; x = x->next)
		if (!x->removed && capable(x, it))
			return 1;
	return 0;
}

/* Caller holds mu: take back every offer and claim (the item is being decided). */
static void withdraw(struct esc *e, struct item *it, struct todo *td)
{
	int k;

	for (k = 0; k < it->noffers; k++) {
		struct expert *x = expert_id(e, it->offers[k].expert);

		if (x)
			x->queued--;
	}
	for (k = 0; k < it->nclaims; k++) {
		struct expert *x = expert_id(e, it->claims[k].expert);

		if (x) {
			x->claimed--;
			if (td)
				todo_event(td, it->rq.id, x->name, "withdrawn");
		}
	}
	it->noffers = it->nclaims = 0;
}

static void rq_copy(struct esc_request *d, const struct esc_request *s)
{
	*d = *s;
	d->name = xstrdup(s->name ? s->name : "");
	d->agent = xstrdup(s->agent ? s->agent : "");
	d->user = xstrdup(s->user ? s->user : "");
	d->session = s->session ? xstrdup(s->session) : NULL;
	d->tool = xstrdup(s->tool ? s->tool : "");
	d->input = xstrdup(s->input ? s->input : "");
	d->cwd = xstrdup(s->cwd ? s->cwd : "");
	d->raw = xmemdup(s->raw ? s->raw : "", s->raw ? s->raw_len + 1 : 1);
	d->rule = xstrdup(s->rule ? s->rule : "");
	d->reason = xstrdup(s->reason ? s->reason : "");
	d->tier = xstrdup(s->tier ? s->tier : "");
	d->caps = xstrdup(s->caps ? s->caps : "");
}

static void rq_release(struct esc_request *r)
{
	free((char *)r->name);
	free((char *)r->agent);
	free((char *)r->user);
	free((char *)r->session);
	free((char *)r->tool);
	free((char *)r->input);
	free((char *)r->cwd);
	free((char *)r->raw);
	free((char *)r->rule);
	free((char *)r->reason);
	free((char *)r->tier);
	free((char *)r->caps);
	context_free(r->ctx);
}

static void item_free(struct item *it)
{
	rq_release(&it->rq);
	free(it);
}

/* Caller holds mu. */
static void item_unlink(struct esc *e, struct item *it)
{
	struct item **pp;

	for (pp = &e->buckets[it->rq.id % NBUCKETS]; *pp; pp = &(*pp)->hnext)
		if (*pp == it) {
			*pp = it->hnext;
			break;
		}
	if (it->prev)
		it->prev->next = it->next;
	else
		e->head = it->next;
	if (it->next)
		it->next->prev = it->prev;
	else
		e->tail = it->prev;
}

/* ---- doing what was collected ------------------------------------------------- */

static void submit_one(struct lh_fs *fs, const char *type, int64_t request_id, const char *agent,
		       const struct lh_buf *payload)
{
	struct lh_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.uid = ev.gid = ev.pid = -1;
	ev.request_id = request_id;
	ev.agent = agent;
	ev.payload = payload->data;
	ev.payload_len = payload->len;
	if (lh_store_submit(fs->store, &ev, 1, NULL, NULL))
		lh_warn("cannot record a %s event: the store is closing", type);
}

static void todo_run(struct lh_fs *fs, struct todo *td)
{
	const char *p = td->events.data;

	while (td->wakes) {
		struct wake *w = td->wakes;

		td->wakes = w->next;
		if (w->err)
			fuse_reply_err(w->req, w->err);
		else
			fuse_reply_buf(w->req, w->text, w->len);
		free(w);
	}
	/* "ID EXPERT WHAT" lines: claim events */
	while (*p) {
		char expert[EXPERT_NAME_MAX], what[32];
		uint64_t id;
		int n = 0;

		if (sscanf(p, "%" SCNu64 " %63s %31s%n", &id, expert, what, &n) == 3) {
			struct lh_buf pl = LH_BUF_INIT;

			lh_buf_adds(&pl, "{\"expert\":");
			lh_buf_add_json_str(&pl, expert, strlen(expert));
			if (!strcmp(what, "claimed")) {
				lh_buf_addf(&pl, ",\"timeout_s\":%u}", fs->cfg.claim_timeout);
				submit_one(fs, "escalation.claim", (int64_t)id, expert, &pl);
			} else {
				lh_buf_addf(&pl, ",\"why\":\"%s\"}", what);
				submit_one(fs, "escalation.release", (int64_t)id, expert, &pl);
			}
			lh_buf_release(&pl);
		}
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
	lh_buf_release(&td->events);
}

/* ---- lifecycle ------------------------------------------------------------------ */

struct esc *esc_new(struct lh_fs *fs)
{
	struct esc *e = xcalloc(1, sizeof(*e));

	(void)fs;
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->cv, NULL);
	e->next_expert = 1;
	return e;
}

void esc_free(struct lh_fs *fs)
{
	struct esc *e = fs->esc;

	if (!e)
		return;
	while (e->head) {
		struct item *it = e->head;

		e->head = it->next;
		item_free(it);
	}
	while (e->experts) {
		struct expert *x = e->experts;

		e->experts = x->next;
		while (x->waiters) {
			struct nwaiter *w = x->waiters;

			x->waiters = w->next;
			free(w);
		}
		free(x);
	}
	while (e->jobs) {
		struct job *j = e->jobs;

		e->jobs = j->next;
		fin_wait_put(j->fin->wait, 0);
		free(j->fin->rule_text);
		free(j->fin);
		free(j);
	}
	pthread_mutex_destroy(&e->mu);
	pthread_cond_destroy(&e->cv);
	free(e);
	fs->esc = NULL;
}

void esc_counts(struct lh_fs *fs, uint64_t *pending, uint64_t *experts)
{
	struct esc *e = fs->esc;
	struct expert *x;

	*experts = 0;
	pthread_mutex_lock(&e->mu);
	*pending = e->npending;
	for (x = e->experts; x; x = x->next)
		if (!x->removed)
			(*experts)++;
	pthread_mutex_unlock(&e->mu);
}

/* ---- deciding ------------------------------------------------------------------- */

static void deliver(struct fin *f);

static void committed(void *arg, int status, int64_t seq)
{
	struct fin *f = arg;
	struct lh_fs *fs = f->fs;
	struct esc *e = fs->esc;

	(void)seq;
	if (status) {
		lh_verdict_set(&f->out.verdict, LH_DENY, LH_TIER_LIMIT, "store.unavailable",
			       "the event store cannot record the decision on this request (%s), so it is not allowed",
			       strerror(-status));
		free(f->rule_text);
		f->rule_text = NULL;
		f->out.by[0] = '\0';
		deliver(f);
		return;
	}
	if (f->rule_text) {
		struct job *j = xcalloc(1, sizeof(*j));
		int run_here;

		learned_add(fs, f->out.verdict.rule, f->rule_text);
		atomic_fetch_add(&fs->stats.learned_rules, 1);
		/* compiling a policy is for the worker, not for the store's writer */
		j->fin = f;
		pthread_mutex_lock(&e->mu);
		run_here = !e->running;
		if (!run_here) {
			if (e->jobs_tail)
				e->jobs_tail->next = j;
			else
				e->jobs = j;
			e->jobs_tail = j;
			pthread_cond_signal(&e->cv);
		}
		pthread_mutex_unlock(&e->mu);
		if (run_here) {
			free(j);
			learned_publish(fs, NULL);
			deliver(f);
		}
		return;
	}
	deliver(f);
}

static void deliver(struct fin *f)
{
	struct lh_fs *fs = f->fs;
	struct esc *e = fs->esc;
	struct item *it;

	reqtab_decided(fs, f->id, &f->out);
	atomic_fetch_add(&fs->stats.escalations_by[f->by_idx], 1);
	pthread_mutex_lock(&e->mu);
	it = find(e, f->id);
	if (it && it->state != E_DONE) {
		it->state = E_DONE;
		e->npending--;
		snprintf(it->decision, sizeof(it->decision), "%s",
			 lh_decision_name(f->out.verdict.decision));
		snprintf(it->by, sizeof(it->by), "%s", f->by);
		snprintf(it->who, sizeof(it->who), "%s", f->who);
		snprintf(it->why, sizeof(it->why), "%s", f->out.verdict.reason);
		if (!strncmp(f->out.verdict.rule, LH_LEARNED_PREFIX, strlen(LH_LEARNED_PREFIX)))
			snprintf(it->learned_rule, sizeof(it->learned_rule), "%s", f->out.verdict.rule);
		it->decided_wall = lh_wall_ns();
		it->purge_ns = lh_mono_ns() + (int64_t)fs->cfg.result_ttl * 1000000000;
	}
	pthread_mutex_unlock(&e->mu);
	fin_wait_put(f->wait, 1);
	free(f->rule_text);
	free(f);
}

static const char *remember_name(int rem)
{
	return rem == REM_EXACT ? "exact" : rem == REM_PATTERN ? "pattern" : NULL;
}

static int parse_remember(const char *s, int *rem)
{
	if (!s || !s[0] || !strcmp(s, "no") || !strcmp(s, "none")) {
		*rem = REM_NO;
		return 0;
	}
	if (!strcmp(s, "exact") || !strcmp(s, "yes")) {
		*rem = REM_EXACT;
		return 0;
	}
	if (!strcmp(s, "pattern")) {
		*rem = REM_PATTERN;
		return 0;
	}
	return -EINVAL;
}

/*
 * Record the decision on item `it` (state E_DECIDING, so nothing frees or
 * changes its request) and deliver it once committed. `last` is the vote
 * that completed a quorum, recorded with it; `wait`, when not NULL, is
 * told when the decision is final. Called without mu.
 */
static void finalize(struct lh_fs *fs, struct item *it, enum lh_decision d, int by_idx,
		     const char *who, const char *why, int remember, const struct vote *last,
		     struct lh_buf *msg, struct fin_wait *wait)
{
	static const char *const by_names[] = { "expert", "human", "timeout", "timeout" };
	const struct esc_request *rq = &it->rq;
	struct fin *f = xcalloc(1, sizeof(*f));
	struct lh_buf rule = LH_BUF_INIT, err = LH_BUF_INIT, dp = LH_BUF_INIT, rp = LH_BUF_INIT,
		      vp = LH_BUF_INIT;
	struct lh_verdict *v = &f->out.verdict;
	struct lh_event ev[3];
	struct lh_expert_decision xd;
	int nev = 0, rc;
	char rule_id[LH_RULE_MAX];
	f->fs = fs;
	f->id = rq->id;
	f->by_idx = by_idx;
	f->wait = wait;
	snprintf(f->by, sizeof(f->by), "%s", by_names[by_idx]);
	snprintf(f->who, sizeof(f->who), "%s", who);
	snprintf(f->out.by, sizeof(f->out.by), "%s", who);
	snprintf(f->out.escalated, sizeof(f->out.escalated), "%s", rq->rule);
	lh_verdict_set(v, d, by_idx == BY_EXPERT ? LH_TIER_EXPERT : by_idx == BY_HUMAN ? LH_TIER_HUMAN :
		       LH_TIER_LIMIT, by_idx >= BY_TIMEOUT ? "escalation.timeout" : rq->rule, "%s", why);
	rule_id[0] = '\0';
	if (remember != REM_NO) {
		struct fs_ident id;
		struct lh_judge_in in;
		struct lh_learn l;
		struct lh_buf comment = LH_BUF_INIT, reason = LH_BUF_INIT;
		char when[32];

		snprintf(rule_id, sizeof(rule_id), "%s%" PRIu64, LH_LEARNED_PREFIX, rq->id);
		ident_of_uid(rq->uid, &id);
		lh_format_time(when, lh_wall_ns());
		lh_buf_addf(&comment, "%s: %s by %s (%s) at %s, from request %" PRIu64 "\n",
			    rule_id, d == LH_ALLOW ? "allowed" : d == LH_DENY ? "denied" : "asked",
			    who, by_idx == BY_HUMAN ? "person" : "expert", when, rq->id);
		lh_buf_addf(&comment, "asked by %s (uid %u%s%s): %s: ", rq->agent, (unsigned)rq->uid,
		    rq->user[0] ? ", " : "", rq->user, rq->tool);
		lh_buf_add(&comment, rq->input, strlen(rq->input) > 200 ? 200 : strlen(rq->input));
		lh_buf_addf(&comment, "%s\nescalated by %s; remember %s", strlen(rq->input) > 200 ? "..." : "",
			    rq->rule[0] ? rq->rule : "the risk tier", remember_name(remember));
		lh_buf_addf(&reason, "decided before (request %" PRIu64 ", %s): %s", rq->id, who, why);
		memset(&l, 0, sizeof(l));
		l.id = rule_id;
		l.decision = d;
		l.pattern = remember == REM_PATTERN;
		l.priority = (by_idx == BY_HUMAN ? 30 : 10) + (remember == REM_EXACT ? 10 : 0);
		l.comment = comment.data;
		l.reason = reason.data;
		memset(&in, 0, sizeof(in));
		in.data = rq->raw;
		in.len = rq->raw_len;
		in.total = rq->raw_len;
		in.cwd = rq->cwd[0] ? rq->cwd : NULL;
		in.home = id.home;
		in.user = id.user[0] ? id.user : NULL;
		rc = lh_validator_learn(fs->validator, &in, &l, &rule, &err);
		lh_buf_release(&comment);
		lh_buf_release(&reason);
		if (rc) {
			lh_warn("request %" PRIu64 ": not remembered: %s", rq->id, err.data);
			if (msg)
				lh_buf_addf(msg, "not remembered: %s\n", err.data);
			rule_id[0] = '\0';
			lh_buf_reset(&rule);
		} else {
			snprintf(v->rule, sizeof(v->rule), "%s", rule_id);
			f->rule_text = lh_buf_detach(&rule, NULL);
		}
	}

	memset(ev, 0, sizeof(ev));
	/* the vote that completed a quorum, recorded with the decision */
	if (last) {
		memset(&xd, 0, sizeof(xd));
		xd.request_id = (int64_t)rq->id;
		xd.decision = lh_decision_name(last->d);
		xd.by = "expert";
		xd.who = last->expert;
		xd.reason = last->reason;
		xd.remember = remember_name(last->remember);
		xd.vote = 1;
		xd.quorum = rq->quorum;
		lh_event_decision(&ev[nev], &vp, &xd);
		ev[nev].agent = rq->agent;
		nev++;
	}
	if (f->rule_text) {
		lh_buf_adds(&rp, "{\"id\":");
		lh_buf_add_json_str(&rp, rule_id, strlen(rule_id));
		lh_buf_addf(&rp, ",\"decision\":\"%s\",\"kind\":\"%s\",\"by\":\"%s\",\"who\":",
			    lh_decision_name(d), remember_name(remember), by_names[by_idx]);
		lh_buf_add_json_str(&rp, who, strlen(who));
		lh_buf_addf(&rp, ",\"request\":%" PRIu64 ",\"text\":", rq->id);
		lh_buf_add_json_str(&rp, f->rule_text, strlen(f->rule_text));
		lh_buf_addc(&rp, '}');
		ev[nev].type = "rule.learn";
		ev[nev].uid = ev[nev].gid = ev[nev].pid = -1;
		ev[nev].request_id = (int64_t)rq->id;
		ev[nev].agent = rq->agent;
		ev[nev].payload = rp.data;
		ev[nev].payload_len = rp.len;
		nev++;
	}
	memset(&xd, 0, sizeof(xd));
	xd.request_id = (int64_t)rq->id;
	xd.decision = lh_decision_name(d);
	xd.by = by_names[by_idx];
	xd.who = who;
	xd.reason = v->reason;
	xd.learned_rule = rule_id[0] ? rule_id : NULL;
	xd.restart = by_idx == BY_RESTART;
	lh_event_decision(&ev[nev], &dp, &xd);
	ev[nev].agent = rq->agent;
	nev++;

	if (msg)
		lh_buf_addf(msg, "%s %" PRIu64 ": %s%s%s\n",
			    d == LH_ALLOW ? "approved" : d == LH_DENY ? "denied" : "asked", rq->id,
			    lh_decision_name(d), rule_id[0] ? ", remembered as " : "", rule_id);
	/* no lock is held here: the callback may run before submit returns */
	rc = lh_store_submit(fs->store, ev, nev, committed, f);
	lh_buf_release(&rule);
	lh_buf_release(&err);
	lh_buf_release(&dp);
	lh_buf_release(&rp);
	lh_buf_release(&vp);
	if (rc)
		committed(f, rc, 0);
}

/* the decision of a quorum's votes: theirs when they agree, else the most severe */
static void tally(const struct item *it, enum lh_decision *d, char *who, size_t wn, char *why,
		  size_t yn, int *remember)
{
	int k, agree = 1, rem = REM_PATTERN;

	*d = it->votes[0].d;
	for (k = 1; k < it->nvotes; k++) {
		if (it->votes[k].d != it->votes[0].d)
			agree = 0;
		if (it->votes[k].d > *d)
			*d = it->votes[k].d;
	}
	who[0] = '\0';
	for (k = 0; k < it->nvotes; k++) {
		size_t l = strlen(who);

		snprintf(who + l, wn - l, "%s%s", k ? ", " : "", it->votes[k].expert);
		if (it->votes[k].remember == REM_NO)
			rem = REM_NO;
		else if (it->votes[k].remember == REM_EXACT && rem != REM_NO)
			rem = REM_EXACT;
	}
	*remember = agree ? rem : REM_NO;
	if (it->nvotes == 1) {
		textf(why, yn, "%s by expert %s: %s",
			 *d == LH_ALLOW ? "allowed" : *d == LH_DENY ? "denied" : "to be confirmed",
			 it->votes[0].expert, it->votes[0].reason);
	} else if (agree) {
		textf(why, yn, "experts %s agree (%s): %s", who, lh_decision_name(*d),
			 it->votes[0].reason);
	} else {
		size_t l;

		textf(why, yn, "experts disagree, the most severe stands:");
		for (k = 0; k < it->nvotes; k++) {
			l = strlen(why);
			textf(why + l, yn - l, " %s %s (%s)%s", it->votes[k].expert,
				 lh_decision_name(it->votes[k].d), it->votes[k].reason,
				 k + 1 < it->nvotes ? ";" : "");
		}
	}
}

int esc_decide_human(struct lh_fs *fs, uint64_t id, const char *who, enum lh_decision d,
		     const char *reason, const char *remember, struct lh_buf *msg)
{
	struct esc *e = fs->esc;
	struct todo td = { NULL, LH_BUF_INIT };
	struct fin_wait *wait;
	struct item *it;
	char why[LH_REASON_MAX], clean[LH_REASON_MAX];
	int rem;

	if (parse_remember(remember, &rem)) {
		lh_buf_addf(msg, "error: remember must be exact or pattern, not '%s'\n", remember);
		return -EINVAL;
	}
	clean_text(clean, sizeof(clean), reason ? reason : "", reason ? strlen(reason) : 0);
	pthread_mutex_lock(&e->mu);
	it = find(e, id);
	if (!it || it->state != E_PENDING) {
		pthread_mutex_unlock(&e->mu);
		lh_buf_addf(msg, "error: request %" PRIu64 " %s\n", id,
			    !it ? "is not escalated (see lighthousectl pending)" :
			    it->state == E_DECIDING ? "is being decided already" : "is decided already");
		return !it ? -ENOENT : -EALREADY;
	}
	it->state = E_DECIDING;
	withdraw(e, it, &td);
	pthread_mutex_unlock(&e->mu);
	todo_run(fs, &td);
	if (d == LH_ALLOW)
		textf(why, sizeof(why), "approved by %s%s%s", who, clean[0] ? ": " : "", clean);
	else if (d == LH_DENY)
		textf(why, sizeof(why), "denied by %s%s%s", who, clean[0] ? ": " : "", clean);
	else
		textf(why, sizeof(why), "%s wants it confirmed%s%s", who, clean[0] ? ": " : "", clean);
	wait = fin_wait_new();
	finalize(fs, it, d, BY_HUMAN, who, why, rem, NULL, msg, wait);
	if (!fin_wait_for(wait, HUMAN_WAIT_S))
		lh_buf_addf(msg, "note: the decision is not recorded yet; it applies once it is\n");
	fin_wait_put(wait, 0);
	return 0;
}

int esc_vote(struct lh_fs *fs, uint32_t expert, uint64_t id, enum lh_decision d,
	     const char *reason, const char *remember, struct lh_buf *msg)
{
	struct esc *e = fs->esc;
	struct todo td = { NULL, LH_BUF_INIT };
	struct lh_buf one = LH_BUF_INIT;
	struct lh_expert_decision xd;
	struct lh_event ev;
	struct expert *x;
	struct item *it;
	struct vote *vt, last;
	char who[256], why[LH_REASON_MAX];
	int k, rem, final_rem = REM_NO, decided = 0, nvotes, quorum;
	enum lh_decision fd = d;

	if (parse_remember(remember, &rem)) {
		lh_buf_addf(msg, "remember must be exact or pattern, not '%s'", remember);
		return -EINVAL;
	}
	pthread_mutex_lock(&e->mu);
	x = expert_id(e, expert);
	it = find(e, id);
	if (!x || !it || it->state != E_PENDING || !holds(it, expert, 1)) {
		pthread_mutex_unlock(&e->mu);
		lh_buf_addf(msg, "request %" PRIu64 " is not claimed by this expert (any more)", id);
		return -ENOENT;
	}
	for (k = 0; k < it->nclaims; k++)
		if (it->claims[k].expert == expert) {
			it->claims[k] = it->claims[--it->nclaims];
			break;
		}
	x->claimed--;
	x->decided++;
	vt = &it->votes[it->nvotes++];
	snprintf(vt->expert, sizeof(vt->expert), "%s", x->name);
	vt->d = d;
	clean_text(vt->reason, sizeof(vt->reason), reason ? reason : "", reason ? strlen(reason) : 0);
	if (!vt->reason[0])
		snprintf(vt->reason, sizeof(vt->reason), "no reason given");
	vt->remember = rem;
	nvotes = it->nvotes;
	quorum = it->rq.quorum;
	last = *vt;
	/* the vote as an event: alone, or with the decision it completes */
	memset(&xd, 0, sizeof(xd));
	xd.request_id = (int64_t)id;
	xd.decision = lh_decision_name(d);
	xd.by = "expert";
	xd.who = vt->expert;
	xd.reason = vt->reason;
	xd.remember = remember_name(rem);
	xd.vote = 1;
	xd.quorum = it->rq.quorum;
	lh_event_decision(&ev, &one, &xd);
	if (it->nvotes >= it->rq.quorum) {
		decided = 1;
		it->state = E_DECIDING;
		withdraw(e, it, &td);
		tally(it, &fd, who, sizeof(who), why, sizeof(why), &final_rem);
	} else {
		route(e, it, &td);
	}
	pthread_mutex_unlock(&e->mu);
	todo_run(fs, &td);
	if (!decided) {
		submit_one(fs, "decision", (int64_t)id, NULL, &one);
		lh_buf_addf(msg, "vote %d of %d recorded", nvotes, quorum);
	} else {
		finalize(fs, it, fd, BY_EXPERT, who, why, final_rem, quorum > 1 ? &last : NULL, NULL, NULL);
	}
	lh_buf_release(&one);
	return 0;
}

/* ---- opening -------------------------------------------------------------------- */

static const struct {
	const char *family, *cap;
} cap_aliases[] = {
	{ "db", "database" }, { "container", "containers" }, { "net", "network" },
	{ "fs", "files" }, { "write", "files" }, { "secrets", "security" },
	{ "priv", "security" }, { "perm", "security" }, { "persist", "security" },
	{ "exec", "security" }, { "shell", "security" }, { "sys", "system" },
	{ "disk", "system" }, { "dev", "development" },
};

static void add_cap(struct lh_buf *caps, const char *w, size_t n)
{
	char word[128];
	size_t i;

	if (!n || n >= sizeof(word))
		return;
	for (i = 0; i < n; i++)
		word[i] = (char)(w[i] >= 'A' && w[i] <= 'Z' ? w[i] - 'A' + 'a' : w[i]);
	word[n] = '\0';
	if (has_word(caps->data, word) || caps->len + n + 2 > CAPS_MAX)
		return;
	lh_buf_addf(caps, "%s%s", caps->len ? " " : "", word);
}

void esc_describe(struct lh_fs *fs, const struct lh_verdict *v, const char *tool,
		  const struct ctxpkg *ctx, int *quorum, struct lh_buf *caps)
{
	struct lh_buf tags = LH_BUF_INIT;
	const char *p;
	size_t k, n;

	lh_validator_rule_info(fs->validator, v->rule, quorum, &tags);
	if (v->rule[0]) {
		n = strcspn(v->rule, ".");
		add_cap(caps, v->rule, n);
		for (k = 0; k < sizeof(cap_aliases) / sizeof(cap_aliases[0]); k++)
			if (strlen(cap_aliases[k].family) == n &&
			    !strncmp(v->rule, cap_aliases[k].family, n))
				add_cap(caps, cap_aliases[k].cap, strlen(cap_aliases[k].cap));
	}
	if (v->tier == LH_TIER_RISK)
		add_cap(caps, "security", 8);
	for (p = tags.data; *p;) {
		n = strcspn(p, " ");
		add_cap(caps, p, n);
		p += n;
		while (*p == ' ')
			p++;
	}
	add_cap(caps, tool, strlen(tool));
	for (p = ctx ? context_commands(ctx) : ""; *p;) {
		n = strcspn(p, " ");
		add_cap(caps, p, n);
		p += n;
		while (*p == ' ')
			p++;
	}
	lh_buf_release(&tags);
}

/* Caller holds mu: add an item for rq (taking its context). */
static struct item *item_add(struct esc *e, const struct esc_request *rq)
{
	struct item *it = xcalloc(1, sizeof(*it));
	int64_t left = rq->deadline_wall - lh_wall_ns();

	rq_copy(&it->rq, rq);
	it->state = E_PENDING;
	it->deadline_ns = lh_mono_ns() + (left > 0 ? left : 0);
	it->hnext = e->buckets[rq->id % NBUCKETS];
	e->buckets[rq->id % NBUCKETS] = it;
	it->prev = e->tail;
	if (e->tail)
		e->tail->next = it;
	else
		e->head = it;
	e->tail = it;
	e->npending++;
	return it;
}

/*
 * Caller holds mu: something is due at `when` (monotonic). Wake the worker
 * only if it sleeps past that: it rescans every item when it wakes, and
 * does so at least once a second anyway, so most escalations and claims
 * need not wake it at all.
 */
static void wake_worker(struct esc *e, int64_t when)
{
	if (e->sleep_until && when < e->sleep_until)
		pthread_cond_signal(&e->cv);
}

void esc_open(struct lh_fs *fs, const struct esc_request *rq)
{
	struct esc *e = fs->esc;
	struct todo td = { NULL, LH_BUF_INIT };
	struct item *it;

	atomic_fetch_add(&fs->stats.escalations, 1);
	pthread_mutex_lock(&e->mu);
	it = find(e, rq->id);
	if (it) {
		/* cannot happen: request ids are unique */
		pthread_mutex_unlock(&e->mu);
		context_free(rq->ctx);
		return;
	}
	it = item_add(e, rq);
	route(e, it, &td);
	{
		int64_t hold = lh_mono_ns() + (int64_t)fs->cfg.claim_timeout * 1000000000;

		wake_worker(e, it->deadline_ns < hold ? it->deadline_ns : hold);
	}
	pthread_mutex_unlock(&e->mu);
	todo_run(fs, &td);
}

/* ---- the worker ---------------------------------------------------------------- */


/* Caller holds mu: take back what is overdue; collect items past their deadline. */
static int64_t tick(struct lh_fs *fs, struct todo *td, uint64_t *expired, int *nexpired, int max)
{
	struct esc *e = fs->esc;
	int64_t now = lh_mono_ns(), next = now + 1000000000;
	int64_t hold = (int64_t)fs->cfg.claim_timeout * 1000000000;
	struct item *it, *nx;

	for (it = e->head; it; it = nx) {
		int k, moved = 0;

		nx = it->next;
		if (it->state == E_DONE) {
			if (now >= it->purge_ns) {
				item_unlink(e, it);
				item_free(it);
			} else if (it->purge_ns < next) {
				next = it->purge_ns;
			}
			continue;
		}
		if (it->state != E_PENDING)
			continue;
		if (now >= it->deadline_ns && *nexpired < max) {
			it->state = E_DECIDING;
			withdraw(e, it, td);
			expired[(*nexpired)++] = it->rq.id;
			continue;
		}
		if (it->deadline_ns < next)
			next = it->deadline_ns;
		for (k = 0; k < it->nclaims;) {
			struct expert *x = expert_id(e, it->claims[k].expert);

			if (now < it->claims[k].until_ns) {
				if (it->claims[k].until_ns < next)
					next = it->claims[k].until_ns;
				k++;
				continue;
			}
			/* claimed and not decided in time: back to the queue */
			if (x) {
				x->claimed--;
				todo_event(td, it->rq.id, x->name, "expired");
			}
			add_dropped(it, it->claims[k].expert);
			it->claims[k] = it->claims[--it->nclaims];
			atomic_fetch_add(&fs->stats.claims_expired, 1);
			moved = 1;
		}
		for (k = 0; k < it->noffers;) {
			struct expert *x = expert_id(e, it->offers[k].expert);

			if (now < it->offers[k].since_ns + hold) {
				if (it->offers[k].since_ns + hold < next)
					next = it->offers[k].since_ns + hold;
				k++;
				continue;
			}
			/* offered and not claimed in time: to someone else, if there is one */
			if (x)
				x->queued--;
			add_dropped(it, it->offers[k].expert);
			it->offers[k] = it->offers[--it->noffers];
			moved = 1;
		}
		if (moved)
			route(e, it, td);
	}
	return next;
}

static void *worker(void *arg)
{
	struct lh_fs *fs = arg;
	struct esc *e = fs->esc;

	pthread_mutex_lock(&e->mu);
	for (;;) {
		struct todo td = { NULL, LH_BUF_INIT };
		uint64_t expired[64];
		int nexpired = 0, k;
		int64_t next;

		if (e->jobs) {
			struct job *j = e->jobs;

			e->jobs = j->next;
			if (!e->jobs)
				e->jobs_tail = NULL;
			pthread_mutex_unlock(&e->mu);
			learned_publish(fs, NULL);
			deliver(j->fin);
			free(j);
			pthread_mutex_lock(&e->mu);
			continue;
		}
		if (e->stopping)
			break;
		next = tick(fs, &td, expired, &nexpired, (int)(sizeof(expired) / sizeof(expired[0])));
		if (!td.wakes && !td.events.len && !nexpired) {
			struct timespec until;
			int64_t wall = lh_wall_ns() + (next - lh_mono_ns());

			/* pthread_cond_timedwait counts CLOCK_REALTIME */
			until.tv_sec = (time_t)(wall / 1000000000);
			until.tv_nsec = (long)(wall % 1000000000);
			e->sleep_until = next;
			pthread_cond_timedwait(&e->cv, &e->mu, &until);
			e->sleep_until = 0;
			continue;
		}
		pthread_mutex_unlock(&e->mu);
		todo_run(fs, &td);
		for (k = 0; k < nexpired; k++) {
			struct item *it;
			char why[LH_REASON_MAX];

			pthread_mutex_lock(&e->mu);
			it = find(e, expired[k]);
			pthread_mutex_unlock(&e->mu);
			if (!it)
				continue;
			textf(why, sizeof(why), "no decision within %u s: the escalation timed out (%s)",
				 fs->cfg.escalation_timeout, it->rq.reason);
			finalize(fs, it, LH_DENY, BY_TIMEOUT, "timeout", why, REM_NO, NULL, NULL, NULL);
		}
		pthread_mutex_lock(&e->mu);
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

int esc_start(struct lh_fs *fs)
{
	struct esc *e = fs->esc;
	int rc;

	pthread_mutex_lock(&e->mu);
	e->running = 1;
	pthread_mutex_unlock(&e->mu);
	rc = pthread_create(&e->worker, NULL, worker, fs);
	if (rc) {
		pthread_mutex_lock(&e->mu);
		e->running = 0;
		pthread_mutex_unlock(&e->mu);
		return -rc;
	}
	pthread_setname_np(e->worker, "lh-escalate");
	return 0;
}

void esc_stop(struct lh_fs *fs)
{
	struct esc *e = fs->esc;
	int running;

	pthread_mutex_lock(&e->mu);
	running = e->running;
	e->stopping = 1;
	pthread_cond_signal(&e->cv);
	pthread_mutex_unlock(&e->mu);
	if (running)
		pthread_join(e->worker, NULL);
	pthread_mutex_lock(&e->mu);
	e->running = 0;
	pthread_mutex_unlock(&e->mu);
}

/* ---- experts -------------------------------------------------------------------- */

static void record_expert(struct lh_fs *fs, const char *type, const struct expert *x)
{
	struct lh_buf p = LH_BUF_INIT;

	lh_buf_adds(&p, "{\"name\":");
	lh_buf_add_json_str(&p, x->name, strlen(x->name));
	if (!strcmp(type, "expert.add")) {
		lh_buf_adds(&p, ",\"capabilities\":");
		lh_buf_add_json_str(&p, x->caps, strlen(x->caps));
		lh_buf_addf(&p, ",\"uid\":%u,\"gid\":%u", (unsigned)x->uid, (unsigned)x->gid);
	}
	lh_buf_addc(&p, '}');
	submit_one(fs, type, 0, NULL, &p);
	lh_buf_release(&p);
}

/* Caller holds mu: a new or changed expert may take what waits. */
static void route_all(struct esc *e, struct todo *td)
{
	struct item *it;

	for (it = e->head; it; it = it->next)
		if (it->state == E_PENDING)
			route(e, it, td);
}

/* Register (or update); record says whether to write an event. */
static int expert_add(struct lh_fs *fs, const char *name, uid_t uid, gid_t gid, const char *caps,
		      int record, int update, struct lh_buf *msg)
{
	struct esc *e = fs->esc;
	struct todo td = { NULL, LH_BUF_INIT };
	struct expert *x, copy;

	if (!valid_expert_name(name)) {
		if (msg)
			lh_buf_addf(msg, "error: an expert's name is letters, digits, '.', '_' or '-' (at most %d), not '%s'\n",
				    EXPERT_NAME_MAX - 1, name);
		return -EINVAL;
	}
	pthread_mutex_lock(&e->mu);
	x = expert_named(e, name);
	if (x && !update) {
		pthread_mutex_unlock(&e->mu);
		if (msg)
			lh_buf_addf(msg, "error: expert '%s' exists\n", name);
		return -EEXIST;
	}
	if (!x) {
		if (e->next_expert > MAX_EXPERT_ID) {
			pthread_mutex_unlock(&e->mu);
			if (msg)
				lh_buf_adds(msg, "error: too many experts registered since start\n");
			return -ENOSPC;
		}
		x = xcalloc(1, sizeof(*x));
		x->id = e->next_expert++;
		snprintf(x->name, sizeof(x->name), "%s", name);
		x->uid = uid;
		x->gid = gid;
		x->next = e->experts;
		e->experts = x;
	}
	caps_normalize(x->caps, sizeof(x->caps), caps ? caps : "");
	route_all(e, &td);
	copy = *x;
	pthread_mutex_unlock(&e->mu);
	todo_run(fs, &td);
	if (record)
		record_expert(fs, "expert.add", &copy);
	if (msg)
		lh_buf_addf(msg, "expert %s: %s\n", name, copy.caps[0] ? copy.caps : "every escalation");
	return 0;
}

int esc_expert_add(struct lh_fs *fs, const char *name, uid_t uid, gid_t gid, const char *caps,
		   struct lh_buf *msg)
{
	return expert_add(fs, name, uid, gid, caps, 1, 0, msg);
}

int esc_expert_set_caps(struct lh_fs *fs, uint32_t expert, const char *caps)
{
	struct esc *e = fs->esc;
	struct expert *x;
	char name[EXPERT_NAME_MAX];
	uid_t uid;
	gid_t gid;

	pthread_mutex_lock(&e->mu);
	x = expert_id(e, expert);
	if (!x) {
		pthread_mutex_unlock(&e->mu);
		return -ENOENT;
	}
	snprintf(name, sizeof(name), "%s", x->name);
	uid = x->uid;
	gid = x->gid;
	pthread_mutex_unlock(&e->mu);
	return expert_add(fs, name, uid, gid, caps, 1, 1, NULL);
}

static int expert_remove(struct lh_fs *fs, const char *name, uid_t uid, int record,
			 struct lh_buf *msg)
{
	struct esc *e = fs->esc;
	struct todo td = { NULL, LH_BUF_INIT };
	struct expert *x, copy;
	struct item *it;

	pthread_mutex_lock(&e->mu);
	x = expert_named(e, name);
	if (!x) {
		pthread_mutex_unlock(&e->mu);
		if (msg)
			lh_buf_addf(msg, "error: no expert '%s'\n", name);
		return -ENOENT;
	}
	if (uid != (uid_t)-1 && uid != 0 && uid != fs->owner && uid != x->uid) {
		pthread_mutex_unlock(&e->mu);
		if (msg)
			lh_buf_addf(msg, "error: expert '%s' is not yours\n", name);
		return -EACCES;
	}
	x->removed = 1;
	/* what it was offered or held goes to others */
	for (it = e->head; it; it = it->next) {
		int k, moved = 0;

		for (k = 0; k < it->noffers;)
			if (it->offers[k].expert == x->id) {
				it->offers[k] = it->offers[--it->noffers];
				moved = 1;
			} else {
				k++;
			}
		for (k = 0; k < it->nclaims;)
			if (it->claims[k].expert == x->id) {
				it->claims[k] = it->claims[--it->nclaims];
				todo_event(&td, it->rq.id, x->name, "removed");
				moved = 1;
			} else {
				k++;
			}
		if (moved && it->state == E_PENDING)
			route(e, it, &td);
	}
	while (x->waiters) {
		struct nwaiter *w = x->waiters;

		x->waiters = w->next;
		wake_add(&td, w->req, ENOENT, NULL, 0);
		free(w);
	}
	copy = *x;
	pthread_mutex_unlock(&e->mu);
	todo_run(fs, &td);
	if (record)
		record_expert(fs, "expert.remove", &copy);
	if (msg)
		lh_buf_addf(msg, "expert %s removed\n", name);
	return 0;
}

int esc_expert_remove(struct lh_fs *fs, const char *name, uid_t uid, struct lh_buf *msg)
{
	return expert_remove(fs, name, uid, 1, msg);
}

void esc_expert_list(struct lh_fs *fs, struct lh_buf *out)
{
	struct esc *e = fs->esc;
	struct expert *x;
	int n = 0;

	pthread_mutex_lock(&e->mu);
	for (x = e->experts; x; x = x->next) {
		if (x->removed)
			continue;
		lh_buf_addf(out, "%s  queued %d  in progress %d  decided %" PRIu64 "  capabilities: %s\n",
			    x->name, x->queued, x->claimed, x->decided,
			    x->caps[0] ? x->caps : "* (every escalation)");
		n++;
	}
	pthread_mutex_unlock(&e->mu);
	if (!n)
		lh_buf_adds(out, "no experts registered: escalations wait for a person\n");
}

static void info_of(const struct expert *x, struct esc_expert_info *out)
{
	out->id = x->id;
	snprintf(out->name, sizeof(out->name), "%s", x->name);
	out->uid = x->uid;
	out->gid = x->gid;
	snprintf(out->caps, sizeof(out->caps), "%s", x->caps);
}

int esc_expert_by_name(struct lh_fs *fs, const char *name, struct esc_expert_info *out)
{
	struct esc *e = fs->esc;
	struct expert *x;

	pthread_mutex_lock(&e->mu);
	x = expert_named(e, name);
	if (x)
		info_of(x, out);
	pthread_mutex_unlock(&e->mu);
	return x ? 0 : -ENOENT;
}

int esc_expert_by_id(struct lh_fs *fs, uint32_t id, struct esc_expert_info *out)
{
	struct esc *e = fs->esc;
	struct expert *x;

	pthread_mutex_lock(&e->mu);
	x = expert_id(e, id);
	if (x)
		info_of(x, out);
	pthread_mutex_unlock(&e->mu);
	return x ? 0 : -ENOENT;
}

void esc_expert_names(struct lh_fs *fs, struct dirsnap *d)
{
	struct esc *e = fs->esc;
	struct expert *x;

	pthread_mutex_lock(&e->mu);
	for (x = e->experts; x; x = x->next)
		if (!x->removed)
			dirsnap_add(d, x->name, strlen(x->name),
				    FS_INO(FS_KIND_EXPERT, (uint64_t)x->id << 4 | EXP_DIR), S_IFDIR);
	pthread_mutex_unlock(&e->mu);
}

void esc_expert_items(struct lh_fs *fs, uint32_t expert, int claimed, struct dirsnap *d)
{
	struct esc *e = fs->esc;
	struct item *it;

	pthread_mutex_lock(&e->mu);
	for (it = e->head; it; it = it->next) {
		char name[24];
		int n;

		if (it->state != E_PENDING || !holds(it, expert, claimed) || it->rq.id >> 40)
			continue;
		n = snprintf(name, sizeof(name), "%" PRIu64, it->rq.id);
		dirsnap_add(d, name, (size_t)n,
			    FS_INO(claimed ? FS_KIND_CLAIMED : FS_KIND_QUEUED,
				   (uint64_t)expert << 40 | it->rq.id), S_IFREG);
	}
	pthread_mutex_unlock(&e->mu);
}

int esc_expert_holds(struct lh_fs *fs, uint32_t expert, uint64_t id, int claimed)
{
	struct esc *e = fs->esc;
	struct item *it;
	int yes;

	pthread_mutex_lock(&e->mu);
	it = find(e, id);
	yes = it && it->state == E_PENDING && expert_id(e, expert) && holds(it, expert, claimed);
	pthread_mutex_unlock(&e->mu);
	return yes;
}

int esc_claim(struct lh_fs *fs, uint32_t expert, uint64_t id)
{
	struct esc *e = fs->esc;
	struct todo td = { NULL, LH_BUF_INIT };
	struct expert *x;
	struct item *it;
	int k;

	pthread_mutex_lock(&e->mu);
	x = expert_id(e, expert);
	it = find(e, id);
	if (!x || !it || it->state != E_PENDING || !holds(it, expert, 0)) {
		pthread_mutex_unlock(&e->mu);
		return -ENOENT;
	}
	for (k = 0; k < it->noffers; k++)
		if (it->offers[k].expert == expert) {
			it->offers[k] = it->offers[--it->noffers];
			break;
		}
	it->claims[it->nclaims].expert = expert;
	it->claims[it->nclaims].until_ns = lh_mono_ns() + (int64_t)fs->cfg.claim_timeout * 1000000000;
	it->claims[it->nclaims].until_wall = lh_wall_ns() + (int64_t)fs->cfg.claim_timeout * 1000000000;
	it->nclaims++;
	x->queued--;
	x->claimed++;
	todo_event(&td, id, x->name, "claimed");
	wake_worker(e, it->claims[it->nclaims - 1].until_ns);
	pthread_mutex_unlock(&e->mu);
	atomic_fetch_add(&fs->stats.claims, 1);
	todo_run(fs, &td);
	return 0;
}

/* Give a claim back (inprogress/ID -> queue/ID) or decline an offer (rm queue/ID). */
static int let_go(struct lh_fs *fs, uint32_t expert, uint64_t id, int claimed)
{
	struct esc *e = fs->esc;
	struct todo td = { NULL, LH_BUF_INIT };
	struct expert *x;
	struct item *it;
	int k;

	pthread_mutex_lock(&e->mu);
	x = expert_id(e, expert);
	it = find(e, id);
	if (!x || !it || it->state != E_PENDING || !holds(it, expert, claimed)) {
		pthread_mutex_unlock(&e->mu);
		return -ENOENT;
	}
	if (claimed) {
		for (k = 0; k < it->nclaims; k++)
			if (it->claims[k].expert == expert) {
				it->claims[k] = it->claims[--it->nclaims];
				break;
			}
		x->claimed--;
		/* back into its own queue, offered anew */
		it->offers[it->noffers].expert = expert;
		it->offers[it->noffers].since_ns = lh_mono_ns();
		it->noffers++;
		x->queued++;
		todo_event(&td, id, x->name, "returned");
		wake_expert(e, x, &td);
	} else {
		for (k = 0; k < it->noffers; k++)
			if (it->offers[k].expert == expert) {
				it->offers[k] = it->offers[--it->noffers];
				break;
			}
		x->queued--;
		add_dropped(it, expert);
		route(e, it, &td);
	}
	pthread_mutex_unlock(&e->mu);
	todo_run(fs, &td);
	return 0;
}

int esc_unclaim(struct lh_fs *fs, uint32_t expert, uint64_t id)
{
	return let_go(fs, expert, id, 1);
}

int esc_decline(struct lh_fs *fs, uint32_t expert, uint64_t id)
{
	return let_go(fs, expert, id, 0);
}

/* ---- experts/NAME/next ------------------------------------------------------------ */

static void on_next_interrupt(fuse_req_t req, void *data)
{
	struct lh_fs *fs = data;
	struct esc *e = fs->esc;
	struct nwaiter *found = NULL;
	struct expert *x;

	pthread_mutex_lock(&e->mu);
	for (x = e->experts; x && !found; x = x->next) {
		struct nwaiter **pp;

		for (pp = &x->waiters; *pp; pp = &(*pp)->next)
			if ((*pp)->req == req) {
				found = *pp;
				*pp = found->next;
				break;
			}
	}
	pthread_mutex_unlock(&e->mu);
	if (!found)
		return;			/* already answered */
	fuse_reply_err(req, EINTR);
	free(found);
}

void esc_next(struct lh_fs *fs, fuse_req_t req, uint32_t expert, size_t size, int nonblock)
{
	struct esc *e = fs->esc;
	struct lh_buf q = LH_BUF_INIT;
	struct expert *x;
	int err = 0;

	fuse_req_interrupt_func(req, on_next_interrupt, fs);
	pthread_mutex_lock(&e->mu);
	x = expert_id(e, expert);
	if (!x) {
		err = ENOENT;
	} else {
		queue_text(e, x, &q);
		if (!q.len) {
			if (nonblock) {
				err = EAGAIN;
			} else if (fuse_req_interrupted(req)) {
				err = EINTR;
			} else {
				struct nwaiter *w = xcalloc(1, sizeof(*w));

				/* once parked and unlocked, req belongs to whoever wakes it */
				w->req = req;
				w->size = size;
				w->next = x->waiters;
				x->waiters = w;
				pthread_mutex_unlock(&e->mu);
				return;
			}
		}
	}
	pthread_mutex_unlock(&e->mu);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, q.data, fit_lines(q.data, q.len, size));
	lh_buf_release(&q);
}

void esc_abort_parked(struct lh_fs *fs, int err)
{
	struct esc *e = fs->esc;
	struct todo td = { NULL, LH_BUF_INIT };
	struct expert *x;

	pthread_mutex_lock(&e->mu);
	for (x = e->experts; x; x = x->next)
		while (x->waiters) {
			struct nwaiter *w = x->waiters;

			x->waiters = w->next;
			wake_add(&td, w->req, err, NULL, 0);
			free(w);
		}
	pthread_mutex_unlock(&e->mu);
	todo_run(fs, &td);
}

/* ---- views ---------------------------------------------------------------------- */

/* Caller holds mu. */
static void view_of(struct esc *e, const struct item *it, uint32_t expert, struct esc_view *v,
		    struct lh_buf *offered, struct lh_buf *claimed, struct lh_buf *votes)
{
	int k;

	memset(v, 0, sizeof(*v));
	v->rq = &it->rq;
	v->state = it->state == E_PENDING ? "pending" : it->state == E_DECIDING ? "deciding" : "decided";
	v->nvotes = it->nvotes;
	for (k = 0; k < it->noffers; k++) {
		struct expert *x = expert_id(e, it->offers[k].expert);

		if (x)
			lh_buf_addf(offered, "%s%s", offered->len ? " " : "", x->name);
	}
	for (k = 0; k < it->nclaims; k++) {
		struct expert *x = expert_id(e, it->claims[k].expert);

		if (x)
			lh_buf_addf(claimed, "%s%s", claimed->len ? " " : "", x->name);
		if (it->claims[k].expert == expert)
			v->claim_until_wall = it->claims[k].until_wall;
	}
	for (k = 0; k < it->nvotes; k++)
		lh_buf_addf(votes, "%s%s:%s", votes->len ? " " : "", it->votes[k].expert,
			    lh_decision_name(it->votes[k].d));
	v->offered = offered->data;
	v->claimed = claimed->data;
	v->votes = votes->data;
	if (it->state == E_DONE) {
		v->decision = it->decision;
		v->by = it->by;
		v->who = it->who;
		v->why = it->why;
		v->learned_rule = it->learned_rule;
		v->decided_wall = it->decided_wall;
	}
}

int esc_with(struct lh_fs *fs, uint64_t id, uint32_t expert, esc_view_fn fn, void *arg)
{
	struct esc *e = fs->esc;
	struct lh_buf o = LH_BUF_INIT, c = LH_BUF_INIT, vt = LH_BUF_INIT;
	struct esc_view v;
	struct item *it;

	pthread_mutex_lock(&e->mu);
	it = find(e, id);
	if (it) {
		view_of(e, it, expert, &v, &o, &c, &vt);
		fn(arg, &v);
	}
	pthread_mutex_unlock(&e->mu);
	lh_buf_release(&o);
	lh_buf_release(&c);
	lh_buf_release(&vt);
	return it ? 0 : -ENOENT;
}

void esc_ids(struct lh_fs *fs, struct dirsnap *d)
{
	struct esc *e = fs->esc;
	struct item *it;

	pthread_mutex_lock(&e->mu);
	for (it = e->head; it; it = it->next) {
		char name[24];
		int n = snprintf(name, sizeof(name), "%" PRIu64, it->rq.id);

		if (it->rq.id >> 48)
			continue;
		dirsnap_add(d, name, (size_t)n, FS_INO(FS_KIND_CTX, it->rq.id << 8 | CTX_DIR), S_IFDIR);
	}
	pthread_mutex_unlock(&e->mu);
}

static void span(char *out, size_t n, int64_t ns)
{
	int64_t s = ns / 1000000000;

	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(out, n, "%" PRId64 "s", s);
	else if (s < 7200)
		snprintf(out, n, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
	else
		snprintf(out, n, "%" PRId64 "h%02" PRId64 "m", s / 3600, s / 60 % 60);
}

void esc_pending_render(struct lh_fs *fs, struct lh_buf *out)
{
	struct esc *e = fs->esc;
	struct item *it;
	int n = 0;
	int64_t now = lh_wall_ns();

	pthread_mutex_lock(&e->mu);
	for (it = e->head; it; it = it->next) {
		struct lh_buf o = LH_BUF_INIT, c = LH_BUF_INIT, vt = LH_BUF_INIT;
		struct esc_view v;
		char age[32], left[32], input[256];

		if (it->state == E_DONE)
			continue;
		view_of(e, it, 0, &v, &o, &c, &vt);
		span(age, sizeof(age), now - it->rq.created_wall);
		span(left, sizeof(left), it->rq.deadline_wall - now);
		clean_text(input, sizeof(input), it->rq.input, strlen(it->rq.input));
		lh_buf_addf(out, "%" PRIu64 "  %s %s ago, deadline in %s  %s (uid %u%s%s)\n", it->rq.id,
			    v.state, age, left, it->rq.agent, (unsigned)it->rq.uid,
			    it->rq.user[0] ? ", " : "", it->rq.user);
		lh_buf_addf(out, "  %s: %s\n  cwd: %s\n", it->rq.tool, input, it->rq.cwd);
		if (it->rq.rule[0])
			lh_buf_addf(out, "  escalated by: %s (%s)\n", it->rq.rule, it->rq.tier);
		else
			lh_buf_addf(out, "  escalated by: the %s tier, risk score %d\n", it->rq.tier,
				    it->rq.risk);
		lh_buf_addf(out, "  reason: %s\n", it->rq.reason);
		lh_buf_addf(out, "  experts: quorum %d, votes %d%s%s; offered to %s; claimed by %s\n",
			    it->rq.quorum, it->nvotes, vt.len ? " " : "", vt.data, o.len ? o.data : "-",
			    c.len ? c.data : "-");
		lh_buf_addf(out, "  needs: %s\n  context: %s/context/%" PRIu64 "/\n", it->rq.caps,
			    fs->mountpoint, it->rq.id);
		lh_buf_release(&o);
		lh_buf_release(&c);
		lh_buf_release(&vt);
		n++;
	}
	pthread_mutex_unlock(&e->mu);
	if (!n)
		lh_buf_adds(out, "nothing pending\n");
}

/* ---- restart ---------------------------------------------------------------------- */

struct pend {
	struct pend *next;
	int64_t id;
	json_t *esc;			/* the escalation event's payload */
	json_t *votes;			/* array of vote payloads */
	int decided;
};

struct scan {
	struct lh_fs *fs;
	struct pend *list;
	int nexperts;
};

static struct pend *pend_find(struct scan *s, int64_t id)
{
	struct pend *p;

	for (p = s->list; p; p = p->next)
		if (p->id == id)
			return p;
	return NULL;
}

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int scan_event(void *arg, const struct lh_event_row *row)
{
	struct scan *s = arg;
	json_t *pl = json_loads(row->payload, 0, NULL);
	struct pend *p;

	if (!pl)
		return 0;
	if (!strcmp(row->type, "expert.add") || !strcmp(row->type, "expert.remove")) {
		const char *name = jstr(pl, "name");

		if (name && !strcmp(row->type, "expert.add")) {
			json_t *uid = json_object_get(pl, "uid"), *gid = json_object_get(pl, "gid");

			expert_add(s->fs, name, json_is_integer(uid) ? (uid_t)json_integer_value(uid) : s->fs->owner,
				   json_is_integer(gid) ? (gid_t)json_integer_value(gid) : 0,
				   jstr(pl, "capabilities"), 0, 1, NULL);
		} else if (name) {
			expert_remove(s->fs, name, (uid_t)-1, 0, NULL);
		}
	} else if (!strcmp(row->type, "escalation") && row->request_id) {
		p = xcalloc(1, sizeof(*p));
		p->id = row->request_id;
		p->esc = json_incref(pl);
		p->votes = json_array();
		p->next = s->list;
		s->list = p;
	} else if (!strcmp(row->type, "decision") && (p = pend_find(s, row->request_id))) {
		if (json_is_true(json_object_get(pl, "vote")))
			json_array_append(p->votes, pl);
		else
			p->decided = 1;
	}
	json_decref(pl);
	return 0;
}

struct reqrow {
	json_t *request, *verdict;
	int64_t uid, gid, pid, time_ns;
	char *agent, *session;
};

static int scan_request(void *arg, const struct lh_event_row *row)
{
	struct reqrow *r = arg;

	if (!strcmp(row->type, "request") && !r->request) {
		r->request = json_loads(row->payload, 0, NULL);
		r->uid = row->uid;
		r->gid = row->gid;
		r->pid = row->pid;
		r->time_ns = row->time_ns;
		r->agent = row->agent ? xstrdup(row->agent) : NULL;
		r->session = row->session ? xstrdup(row->session) : NULL;
	} else if (!strcmp(row->type, "verdict") && !r->verdict) {
		r->verdict = json_loads(row->payload, 0, NULL);
	}
	return 0;
}

/* One escalation without a final decision: pending again, or decided deny. */
static void recover_one(struct lh_fs *fs, struct lh_store_reader *rd, struct pend *p)
{
	struct lh_event_filter f;
	struct reqrow r;
	struct lh_buf raw = LH_BUF_INIT, err = LH_BUF_INIT, caps = LH_BUF_INIT;
	struct esc_request rq;
	struct lh_judge_in in;
	struct fs_ident id;
	const char *form, *tool, *input, *content;
	json_t *dl, *q, *sc;
	size_t k;

	memset(&r, 0, sizeof(r));
	memset(&f, 0, sizeof(f));
	f.request_id = p->id;
	if (lh_store_reader_each(rd, &f, scan_request, &r, &err) || !r.request || !r.verdict) {
		lh_warn("escalated request %" PRId64 " cannot be recovered: its events are incomplete", p->id);
		goto out;
	}
	form = jstr(r.request, "form");
	tool = jstr(r.request, "tool");
	input = jstr(r.request, "input");
	content = jstr(r.request, "content");
	if (!tool || !input)
		goto out;
	/* the request as it was written, to judge and learn from again */
	if (jstr(r.request, "raw"))
		lh_buf_adds(&raw, jstr(r.request, "raw"));
	else if (form && !strcmp(form, "tool"))
		lh_buf_addf(&raw, "%s %s%s%s", tool, input, content ? "\n" : "", content ? content : "");
	else
		lh_buf_adds(&raw, input);
	memset(&rq, 0, sizeof(rq));
	rq.id = (uint64_t)p->id;
	rq.name = jstr(r.request, "name");
	rq.agent = r.agent ? r.agent : "";
	rq.session = r.session;
	rq.uid = r.uid >= 0 ? (uid_t)r.uid : fs->owner;
	rq.gid = r.gid >= 0 ? (gid_t)r.gid : 0;
	rq.pid = r.pid >= 0 ? (pid_t)r.pid : 0;
	rq.tool = tool;
	rq.input = input;
	rq.cwd = jstr(r.request, "cwd");
	rq.raw = raw.data;
	rq.raw_len = raw.len;
	rq.rule = jstr(r.verdict, "rule") ? jstr(r.verdict, "rule") : "";
	rq.reason = jstr(r.verdict, "reason") ? jstr(r.verdict, "reason") : "";
	rq.tier = jstr(r.verdict, "tier") ? jstr(r.verdict, "tier") : "";
	sc = json_object_get(p->esc, "score");
	rq.risk = json_is_integer(sc) ? (int)json_integer_value(sc) : 0;
	q = json_object_get(p->esc, "quorum");
	rq.quorum = json_is_integer(q) ? (int)json_integer_value(q) : 1;
	if (rq.quorum < 1 || rq.quorum > LH_QUORUM_MAX)
		rq.quorum = 1;
	rq.caps = jstr(p->esc, "capabilities") ? jstr(p->esc, "capabilities") : "";
	rq.created_wall = r.time_ns;
	dl = json_object_get(p->esc, "deadline_ns");
	rq.deadline_wall = json_is_integer(dl) ? json_integer_value(dl) :
			   r.time_ns + (int64_t)fs->cfg.escalation_timeout * 1000000000;
	/* the files as they are now: the daemon was not there to keep them */
	ident_of_uid(rq.uid, &id);
	rq.user = id.user;
	memset(&in, 0, sizeof(in));
	in.data = raw.data;
	in.len = raw.len;
	in.total = raw.len;
	in.cwd = rq.cwd;
	in.home = id.home;
	in.user = id.user[0] ? id.user : NULL;
	rq.ctx = context_build(fs, &in);
	if (reqtab_recover(fs, &rq)) {
		context_free(rq.ctx);
		goto out;
	}
	{
		struct esc *e = fs->esc;
		struct todo td = { NULL, LH_BUF_INIT };
		struct item *it;
		int expired = rq.deadline_wall <= lh_wall_ns();

		pthread_mutex_lock(&e->mu);
		it = item_add(e, &rq);
		/* votes cast before the restart still count */
		for (k = 0; k < json_array_size(p->votes) && it->nvotes < it->rq.quorum - 1; k++) {
			json_t *v = json_array_get(p->votes, k);
			struct vote *vt = &it->votes[it->nvotes];
			int d = jstr(v, "decision") ? lh_decision_parse(jstr(v, "decision")) : -1;

			if (d < 0 || !jstr(v, "who"))
				continue;
			snprintf(vt->expert, sizeof(vt->expert), "%s", jstr(v, "who"));
			vt->d = (enum lh_decision)d;
			snprintf(vt->reason, sizeof(vt->reason), "%s",
				 jstr(v, "reason") ? jstr(v, "reason") : "");
			parse_remember(jstr(v, "remember"), &vt->remember);
			it->nvotes++;
		}
		if (expired)
			it->state = E_DECIDING;
		else
			route(e, it, &td);
		pthread_mutex_unlock(&e->mu);
		todo_run(fs, &td);
		if (expired) {
			char why[LH_REASON_MAX];

			textf(why, sizeof(why),
				 "no decision before the deadline, which passed while lighthoused was not running: the escalation timed out (%s)",
				 rq.reason);
			finalize(fs, it, LH_DENY, BY_RESTART, "timeout", why, REM_NO, NULL, NULL, NULL);
			lh_info("escalated request %" PRId64 " timed out while the daemon was down: denied", p->id);
		} else {
			lh_info("escalated request %" PRId64 " is pending again", p->id);
		}
	}
out:
	json_decref(r.request);
	json_decref(r.verdict);
	free(r.agent);
	free(r.session);
	lh_buf_release(&raw);
	lh_buf_release(&err);
	lh_buf_release(&caps);
}

int esc_recover(struct lh_fs *fs, struct lh_buf *err)
{
	struct lh_store_reader *rd;
	struct lh_event_filter f;
	struct scan s;
	struct pend *p;
	int rc;

	memset(&s, 0, sizeof(s));
	s.fs = fs;
	rc = lh_store_reader_open(&rd, fs->state_dir, err);
	if (rc)
		return rc;
	/* the events that matter, in the order they happened */
	memset(&f, 0, sizeof(f));
	f.types = "expert.add,expert.remove,escalation,decision";
	rc = lh_store_reader_each(rd, &f, scan_event, &s, err);
	for (p = s.list; p && !rc; p = p->next)
		if (!p->decided)
			recover_one(fs, rd, p);
	while (s.list) {
		p = s.list;
		s.list = p->next;
		json_decref(p->esc);
		json_decref(p->votes);
		free(p);
	}
	lh_store_reader_close(rd);
	return rc;
}

int esc_event(const struct esc_request *rq, int to_experts, unsigned timeout_s,
	      struct lh_event *ev, struct lh_buf *buf)
{
	struct lh_escalation e;

	memset(&e, 0, sizeof(e));
	e.request_id = (int64_t)rq->id;
	e.to = to_experts ? "experts" : "human";
	e.reason = rq->reason;
	e.tier = rq->tier;
	e.score = rq->risk ? rq->risk : -1;
	e.timeout_s = (int)timeout_s;
	e.rule = rq->rule && rq->rule[0] ? rq->rule : NULL;
	e.deadline_ns = rq->deadline_wall;
	e.quorum = rq->quorum;
	e.capabilities = rq->caps;
	return lh_event_escalation(ev, buf, &e);
}

int esc_has_experts_for(struct lh_fs *fs, const char *caps)
{
	struct esc *e = fs->esc;
	struct item probe;
	int yes;

	memset(&probe, 0, sizeof(probe));
	probe.rq.caps = caps;
	pthread_mutex_lock(&e->mu);
	yes = any_capable(e, &probe);
	pthread_mutex_unlock(&e->mu);
	return yes;
}

int esc_is_expert_uid(struct lh_fs *fs, uid_t uid)
{
	struct esc *e = fs->esc;
	struct expert *x;
	int yes = 0;

	pthread_mutex_lock(&e->mu);
	for (x = e->experts; x && !yes; x = x->next)
		yes = !x->removed && x->uid == uid;
	pthread_mutex_unlock(&e->mu);
	return yes;
}

/*
 * reqtab.c -- requests/ and results/: how a file write becomes a verdict.
 *
 * DESIGN
 *
 * A *slot* is a name under requests/ (and results/). A *record* is one
 * request written under that name, and its verdict. A *handle* is an open
 * requests/NAME file.
 *
 *   open for writing  -> a new record, the slot's latest
 *   write             -> bytes appended to the handle's record; after the
 *                        handle has read a verdict, a write starts a new
 *                        record (the channel: write, read, write, read)
 *                        and, being a whole request, is judged at once:
 *                        the commit overlaps the agent's turn to read
 *   read (same fd)    -> the record is complete: judge it, then answer
 *                        with its verdict once committed
 *   release           -> if the record was not judged yet, judge it now
 *   read results/NAME -> the slot's latest record's verdict; blocks (the
 *                        read is parked) until it is committed
 *
 * Judging (judge()) runs the validator in the calling FUSE thread, then
 * submits the request and verdict events to the store. The store's writer
 * thread calls committed() after the commit: it renders the verdict,
 * marks the record done and answers every parked read. No FUSE thread
 * sleeps waiting for a verdict; a parked read is just a fuse_req_t in a
 * list. This is the durability point: nobody can read a verdict that is
 * not in the store.
 *
 * close() does not wait for RELEASE, so `cat results/x` can arrive before
 * the release of `echo ... > requests/x` has been processed: the record
 * is then still open, and the read parks until the release judges it.
 * There is no FLUSH: every handle is opened with noflush.
 *
 * Kernel caching: entries under requests/ and results/ have no entry
 * timeout (names are reused for new requests); a result's attributes are
 * cached once it is judged (its inode is that request's forever) and its
 * pages too when it was judged before it was first looked up. A lookup of
 * a result whose verdict is being committed (microseconds away) waits for
 * it, like a read would, so that the kernel gets the final size and the
 * agent's read costs one READ; a lookup of a request still being written
 * answers at once.
 *
 * Escalation: a request whose verdict escalates (and escalation is on) is
 * recorded with a third event, `escalation`, and its context package is
 * taken (context.c: the files it touches, as they are now). When that is
 * committed the record does not become done: it becomes R_ESCALATED and
 * escalate.c holds it until an expert or a person decides, or its
 * deadline passes; its reads stay parked (O_NONBLOCK: EAGAIN) and are
 * answered by reqtab_decided, after the decision is committed. A lookup
 * does not wait for an escalation: it is answered at once with a size
 * that is not final (attributes not cached, reads direct), so `ls -l
 * results/` never hangs. The commit's reference is the escalation's until
 * then.
 *
 * Expiry: slots sit on an LRU list by last activity. The maintenance
 * thread unlists slots judged longer than result_ttl ago (or the oldest,
 * past max_results) and then tells the kernel to drop those names
 * (fuse_lowlevel_notify_inval_entry), outside any operation. The records
 * stay in the store.
 *
 * Lifetimes: a record lives while its slot points at it, a handle or a
 * parked read uses it, its commit is in flight, or the kernel holds a
 * lookup of one of its result inodes. A slot lives while listed, open, or
 * looked up.
 *
 * Replies: a reply wakes the client before the handler returns, so its
 * close (RELEASE) may run on another worker while we are still in
 * fuse_reply_buf. Every reply is sent from memory we hold a reference to
 * (a record) or own (a copy), never from a handle RELEASE may free.
 *
 * Interrupts: a read registers on_interrupt before taking t->mu; whether
 * it was interrupted already is asked under t->mu before it is parked,
 * never after: once parked, on_commit may answer it and libfuse free it.
 *
 * Locking: one mutex, t->mu, guards every table, list and counter here.
 * No FUSE reply, validator call or store call is made while holding it.
 * (An interrupted parked read is answered from the interrupt callback,
 * which libfuse calls holding the request's own lock: so we never call
 * into libfuse for a request while holding t->mu.)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/utf8.h"
#include "common/xalloc.h"
#include "fs/fs.h"
#include "store/store.h"
#include "validator/validator.h"
#include "common/banned.h"

#define NAME_MAX_LEN 200

enum rstate { R_OPEN, R_JUDGING, R_ESCALATED, R_DONE };

/* What an escalated record carries until escalate.c takes it over. */
struct escinfo {
	char *tool, *input, *cwd, *session, *caps;
	int quorum;
	int64_t created_wall, deadline_wall;
	struct ctxpkg *ctx;
};

struct slot;

struct record {
	uint64_t id;			/* request id; results inode id */
	struct record *hnext;		/* id hash chain */
	uint64_t slot_id;		/* the name it was written under (may be gone) */
	char *name;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	struct lh_buf input;		/* the request as written (bounded) */
	size_t total;			/* bytes written, including refused ones */
	char cwd[512];			/* the writer's cwd, "" unknown */
	char agent[FS_AGENT_MAX];	/* who asked (declared, else the writer's session) */
	int limited;			/* denied by a rate limit */
	int invalid;			/* denied as invalid input */
	int wrote;			/* any write happened */
	enum rstate state;
	int64_t t_complete;		/* monotonic ns when judging started */
	struct lh_verdict verdict;
	char *text, *json;		/* the rendered verdict, once done */
	size_t text_len, json_len;
	struct waiter *waiters;		/* parked reads */
	uint64_t nlookup_text, nlookup_json;
	int refs;			/* slot latest, handles, commit, waiters, result handles */
	int gave_pending_attr;		/* the kernel saw size 0: never page-cache it */
	int64_t hold_ns;		/* rate-limited and held: answer at this time (agents.c) */
	struct escinfo *esc;		/* escalated: until committed and handed over */
	char by[128];			/* escalated and decided: who decided */
	char escalated[LH_RULE_MAX];	/* escalated and decided: the rule that escalated */
	int was_escalated;
};

struct slot {
	uint64_t id;
	char *name;
	struct slot *nnext;		/* name hash chain */
	struct slot *inext;		/* id hash chain */
	struct slot *lru_prev, *lru_next;
	uid_t uid;
	gid_t gid;
	struct record *latest;
	uint64_t nlookup;
	int handles;
	int listed;
	int64_t touched;		/* monotonic ns of last activity */
};

struct handle {
	struct fs_open_link link;	/* first: listed while open (fs.h) */
	struct slot *slot;
	struct record *rec;		/* the record this handle writes or last wrote */
	int writable;
	int nonblock;
	int channel;			/* a verdict was read here: each write is a request */
	size_t rcursor;			/* bytes of rec's verdict already read */
	struct lh_buf snapshot;		/* read-only opens: the request text */
};

enum wkind { W_TEXT, W_JSON, W_CHANNEL, W_LOOKUP, W_LOOKUP_JSON };

struct waiter {
	struct waiter *next;		/* in rec->waiters */
	struct waiter *gprev, *gnext;	/* in t->parked */
	fuse_req_t req;
	struct record *rec;
	enum wkind kind;
	off_t off;
	size_t size;
	struct handle *h;		/* W_CHANNEL */
};

struct table {
	void **v;
	size_t cap;			/* power of two */
	size_t n;
};

struct reqtab {
	pthread_mutex_t mu;
	struct table names;		/* slots by name */
	struct table slots;		/* slots by id */
	struct table recs;		/* records by id */
	struct slot *lru_head, *lru_tail;	/* listed slots, oldest first */
	uint64_t listed;
	uint64_t pending;
	uint64_t next_slot;
	struct waiter *parked;		/* all parked reads */
	uint64_t nparked;
};

/* ---- hash tables (chained through the objects) ----------------------------- */

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;	/* FNV-1a */
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

static uint64_t hash_id(uint64_t id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdull;
	id ^= id >> 33;
	return id;
}

#define SLOT_NAME_NEXT(x) (((struct slot *)(x))->nnext)

static void table_init(struct table *t)
{
	t->cap = 256;
	t->n = 0;
	t->v = xcalloc(t->cap, sizeof(void *));
}

/* Generic chained table with a `next` accessor per table kind. */
enum tkind { TK_NAME, TK_SLOT, TK_REC };

static void **next_of(enum tkind k, void *o)
{
	switch (k) {
	case TK_NAME: return (void **)&((struct slot *)o)->nnext;
	case TK_SLOT: return (void **)&((struct slot *)o)->inext;
	default: return (void **)&((struct record *)o)->hnext;
	}
}

static uint64_t key_of(enum tkind k, void *o)
{
	switch (k) {
	case TK_NAME: return hash_bytes(((struct slot *)o)->name, strlen(((struct slot *)o)->name));
	case TK_SLOT: return hash_id(((struct slot *)o)->id);
	default: return hash_id(((struct record *)o)->id);
	}
}

static void table_add(struct table *t, enum tkind k, void *o)
{
	size_t i;

	if (t->n + 1 > t->cap) {
		size_t cap = t->cap * 2, j;
		void **v = xcalloc(cap, sizeof(void *));

		for (j = 0; j < t->cap; j++) {
			void *x = t->v[j];

			while (x) {
				void *next = *next_of(k, x);
				size_t b = key_of(k, x) & (cap - 1);

				*next_of(k, x) = v[b];
				v[b] = x;
				x = next;
			}
		}
		free(t->v);
		t->v = v;
		t->cap = cap;
	}
	i = key_of(k, o) & (t->cap - 1);
	*next_of(k, o) = t->v[i];
	t->v[i] = o;
	t->n++;
}

static void table_del(struct table *t, enum tkind k, void *o)
{
	void **pp = &t->v[key_of(k, o) & (t->cap - 1)];

	while (*pp) {
		if (*pp == o) {
			*pp = *next_of(k, o);
			t->n--;
			return;
		}
		pp = next_of(k, *pp);
	}
}

static struct slot *find_name(struct reqtab *t, const char *name)
{
	struct slot *s = t->names.v[hash_bytes(name, strlen(name)) & (t->names.cap - 1)];

	for (; s; s = s->nnext)
		if (!strcmp(s->name, name))
			return s;
	return NULL;
}

static struct slot *find_slot(struct reqtab *t, uint64_t id)
{
	struct slot *s = t->slots.v[hash_id(id) & (t->slots.cap - 1)];

	for (; s; s = s->inext)
		if (s->id == id)
			return s;
	return NULL;
}

static struct record *find_rec(struct reqtab *t, uint64_t id)
{
	struct record *r = t->recs.v[hash_id(id) & (t->recs.cap - 1)];

	for (; r; r = r->hnext)
		if (r->id == id)
			return r;
	return NULL;
}

/* ---- lifetimes (t->mu held) ------------------------------------------------ */

static void rec_put(struct reqtab *t, struct record *r)
{
	if (--r->refs > 0 || r->nlookup_text || r->nlookup_json)
		return;
	table_del(&t->recs, TK_REC, r);
	lh_buf_release(&r->input);
	free(r->name);
	free(r->text);
	free(r->json);
	free(r);
}

static void lru_unlink(struct reqtab *t, struct slot *s)
{
	if (s->lru_prev)
		s->lru_prev->lru_next = s->lru_next;
	else if (t->lru_head == s)
		t->lru_head = s->lru_next;
	if (s->lru_next)
		s->lru_next->lru_prev = s->lru_prev;
	else if (t->lru_tail == s)
		t->lru_tail = s->lru_prev;
	s->lru_prev = s->lru_next = NULL;
}

static void touch(struct reqtab *t, struct slot *s)
{
	s->touched = lh_mono_ns();
	if (!s->listed || t->lru_tail == s)
		return;
	lru_unlink(t, s);
	s->lru_prev = t->lru_tail;
	if (t->lru_tail)
		t->lru_tail->lru_next = s;
	else
		t->lru_head = s;
	t->lru_tail = s;
}

static void slot_maybe_free(struct reqtab *t, struct slot *s)
{
	if (s->listed || s->nlookup || s->handles)
		return;
	table_del(&t->slots, TK_SLOT, s);
	if (s->latest)
		rec_put(t, s->latest);
	free(s->name);
	free(s);
}

static void slot_unlist(struct reqtab *t, struct slot *s)
{
	if (!s->listed)
		return;
	table_del(&t->names, TK_NAME, s);
	lru_unlink(t, s);
	s->listed = 0;
	t->listed--;
}

/*
 * A new request under slot s. It becomes the slot's latest (what
 * results/NAME shows) unless the name was removed meanwhile.
 */
static struct record *new_record(struct lh_fs *fs, struct slot *s, const struct fuse_ctx *ctx)
{
	struct reqtab *t = fs->reqs;
	struct record *r = xcalloc(1, sizeof(*r));

	r->id = (uint64_t)lh_store_next_request_id(fs->store);
	r->slot_id = s->id;
	r->name = xstrdup(s->name);
	r->uid = ctx->uid;
	r->gid = ctx->gid;
	r->pid = ctx->pid;
	lh_buf_init(&r->input, fs->cfg.max_request);
	r->state = R_OPEN;
	table_add(&t->recs, TK_REC, r);
	t->pending++;
	if (s->listed) {
		r->refs = 1;		/* the slot's latest */
		if (s->latest)
			rec_put(t, s->latest);
		s->latest = r;
		touch(t, s);
	}
	return r;
}

/* ---- names ------------------------------------------------------------------- */

/* Can `name` be a request name? Returns 0 or -errno. */
static int name_ok(const char *name)
{
	size_t n = strlen(name), i;

	if (!n || n > NAME_MAX_LEN)
		return -ENAMETOOLONG;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	for (i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f || name[i] == '/')
			return -EINVAL;
	if (lh_utf8_check(name, n) != n)
		return -EINVAL;
	return 0;
}

/*
 * results/NAME: the text verdict of slot NAME; results/NAME.json: the JSON
 * verdict of slot NAME -- unless a slot is itself called NAME.json.
 */
static struct slot *result_slot(struct reqtab *t, const char *name, int *json)
{
	struct slot *s = find_name(t, name);
	size_t n = strlen(name);

	*json = 0;
	if (s)
		return s;
	if (n > 5 && !strcmp(name + n - 5, ".json")) {
		char base[NAME_MAX_LEN + 8];

		if (n - 5 >= sizeof(base))
			return NULL;
		memcpy(base, name, n - 5);
		base[n - 5] = '\0';
		s = find_name(t, base);
		if (s)
			*json = 1;
	}
	return s;
}

static int may_access(const struct fuse_ctx *ctx, uid_t owner)
{
	return ctx->uid == 0 || ctx->uid == owner;
}

/* ---- attributes ------------------------------------------------------------ */

static void attr_slot(struct lh_fs *fs, struct slot *s, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = FS_INO(FS_KIND_REQ, s->id);
	st->st_mode = S_IFREG | 0600;
	st->st_nlink = 1;
	st->st_uid = s->uid;
	st->st_gid = s->gid;
	st->st_size = s->latest ? (off_t)s->latest->input.len : 0;
	st->st_blksize = 4096;
	st->st_mtime = st->st_ctime = st->st_atime = fs->started_wall / 1000000000;
}

static void attr_rec(struct lh_fs *fs, struct record *r, int json, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = FS_INO(json ? FS_KIND_JSON : FS_KIND_RES, r->id);
	st->st_mode = S_IFREG | 0400;
	st->st_nlink = 1;
	st->st_uid = r->uid;
	st->st_gid = r->gid;
	st->st_blksize = 4096;
	if (r->state == R_DONE)
		st->st_size = (off_t)(json ? r->json_len : r->text_len);
	st->st_mtime = st->st_ctime = st->st_atime = fs->started_wall / 1000000000;
}

/* ---- judging and committing ----------------------------------------------- */

static void add_field(struct lh_buf *b, const char *key, const char *val)
{
	if (!val)
		return;
	lh_buf_addf(b, ",\"%s\":", key);
	lh_buf_add_json_str(b, val, strlen(val));
}

static void add_base64(struct lh_buf *b, const unsigned char *p, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		char q[4] = { tab[p[i] >> 2], tab[((p[i] & 3) << 4) | (p[i + 1] >> 4)],
			      tab[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)], tab[p[i + 2] & 63] };

		lh_buf_add(b, q, 4);
	}
	if (n - i == 1) {
		char q[4] = { tab[p[i] >> 2], tab[(p[i] & 3) << 4], '=', '=' };

		lh_buf_add(b, q, 4);
	} else if (n - i == 2) {
		char q[4] = { tab[p[i] >> 2], tab[((p[i] & 3) << 4) | (p[i + 1] >> 4)],
			      tab[(p[i + 1] & 15) << 2], '=' };

		lh_buf_add(b, q, 4);
	}
}

static void render(struct record *r, uint64_t latency_us)
{
	const struct lh_verdict *v = &r->verdict;
	struct lh_buf t = LH_BUF_INIT, j = LH_BUF_INIT;

	lh_buf_addf(&t, "%s\nreason: %s\nrule: %s\ntier: %s\nrequest: %" PRIu64
		    "\nlatency_us: %" PRIu64 "\ncache: %s\n",
		    lh_decision_name(v->decision), v->reason, v->rule[0] ? v->rule : "-",
		    lh_tier_name(v->tier), r->id, latency_us, v->cached ? "hit" : "miss");
	if (r->was_escalated)
		lh_buf_addf(&t, "escalated: %s\ndecided_by: %s\n", r->escalated[0] ? r->escalated : "risk",
			    r->by[0] ? r->by : "-");
	lh_buf_addf(&j, "{\"decision\":\"%s\",\"reason\":", lh_decision_name(v->decision));
	lh_buf_add_json_str(&j, v->reason, strlen(v->reason));
	if (v->rule[0]) {
		lh_buf_adds(&j, ",\"rule\":");
		lh_buf_add_json_str(&j, v->rule, strlen(v->rule));
	} else {
		lh_buf_adds(&j, ",\"rule\":null");
	}
	lh_buf_addf(&j, ",\"tier\":\"%s\",\"request\":%" PRIu64 ",\"latency_us\":%" PRIu64
		    ",\"cached\":%s",
		    lh_tier_name(v->tier), r->id, latency_us, v->cached ? "true" : "false");
	if (r->was_escalated) {
		lh_buf_adds(&j, ",\"escalated\":");
		lh_buf_add_json_str(&j, r->escalated[0] ? r->escalated : "risk",
				    strlen(r->escalated[0] ? r->escalated : "risk"));
		lh_buf_adds(&j, ",\"decided_by\":");
		lh_buf_add_json_str(&j, r->by, strlen(r->by));
	}
	lh_buf_adds(&j, "}\n");
	r->text = lh_buf_detach(&t, &r->text_len);
	r->json = lh_buf_detach(&j, &r->json_len);
}

static void reply_slice(fuse_req_t req, const char *data, size_t len, off_t off, size_t size)
{
	if (off < 0 || (size_t)off >= len)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_buf(req, data + off, len - (size_t)off < size ? len - (size_t)off : size);
}

struct commit_ctx {
	struct lh_fs *fs;
	struct record *r;
};

static void complete(struct lh_fs *fs, struct record *r);

/* A held answer's time has come (hold.c). */
static void release_held(void *arg)
{
	struct commit_ctx *cc = arg;
	struct lh_fs *fs = cc->fs;
	struct record *r = cc->r;

	free(cc);
	complete(fs, r);
}

static void escinfo_free(struct escinfo *x)
{
	if (!x)
		return;
	free(x->tool);
	free(x->input);
	free(x->cwd);
	free(x->session);
	free(x->caps);
	context_free(x->ctx);
	free(x);
}

static void escalated(struct lh_fs *fs, struct record *r);
static void complete(struct lh_fs *fs, struct record *r);

static void on_commit(void *arg, int status, int64_t seq)
{
	struct commit_ctx *cc = arg;
	struct lh_fs *fs = cc->fs;
	struct record *r = cc->r;

	(void)seq;
	if (!status && r->hold_ns > lh_mono_ns() && !holds_add(fs->holds, r->hold_ns, release_held, cc))
		return;		/* recorded; answered at its time (agents.c) */
	free(cc);
	if (!status && r->esc) {
		escalated(fs, r);
		return;
	}
	escinfo_free(r->esc);
	r->esc = NULL;
	if (status) {
		char why[160];

		snprintf(why, sizeof(why), "%s", strerror(-status));
		lh_verdict_set(&r->verdict, LH_DENY, LH_TIER_LIMIT, "store.unavailable",
			       "the event store cannot record this request (%s), so it is not allowed",
			       why);
		atomic_fetch_add(&fs->stats.store_failures, 1);
	}
	complete(fs, r);
}

/* The verdict of r is final: render it, answer every parked read, drop the commit's reference. */
static void complete(struct lh_fs *fs, struct record *r)
{
	struct reqtab *t = fs->reqs;
	struct waiter *w, *list;
	uint64_t us;

	us = (uint64_t)(lh_mono_ns() - r->t_complete) / 1000;
	render(r, us);
	fs_stats_verdict(fs, r->verdict.decision, r->verdict.tier,
			 r->limited ? KIND_LIMITED : r->invalid ? KIND_INVALID :
			 r->was_escalated ? KIND_ESCALATED :
			 r->verdict.cached ? KIND_CACHED : KIND_FRESH, us);

	pthread_mutex_lock(&t->mu);
	r->state = R_DONE;
	t->pending--;
	list = r->waiters;
	r->waiters = NULL;
	for (w = list; w; w = w->next) {
		if (w->gprev)
			w->gprev->gnext = w->gnext;
		else
			t->parked = w->gnext;
		if (w->gnext)
			w->gnext->gprev = w->gprev;
		t->nparked--;
		if (w->kind == W_CHANNEL) {
			/* the channel's cursor moves under the lock */
			size_t avail = r->text_len - w->h->rcursor;

			w->off = (off_t)w->h->rcursor;
			if (w->size > avail)
				w->size = avail;
			w->h->rcursor += w->size;
		} else if (w->kind == W_LOOKUP) {
			r->nlookup_text++;
		} else if (w->kind == W_LOOKUP_JSON) {
			r->nlookup_json++;
		}
	}
	{
		struct slot *s = find_slot(t, r->slot_id);

		if (s && s->listed)
			touch(t, s);
	}
	pthread_mutex_unlock(&t->mu);

	while (list) {
		w = list;
		list = w->next;
		if (w->kind == W_LOOKUP || w->kind == W_LOOKUP_JSON) {
			struct fuse_entry_param e;
			int json = w->kind == W_LOOKUP_JSON;

			memset(&e, 0, sizeof(e));
			e.ino = FS_INO(json ? FS_KIND_JSON : FS_KIND_RES, r->id);
			e.generation = 1;
			attr_rec(fs, r, json, &e.attr);
			e.attr_timeout = fs->cfg.attr_timeout;
			if (fuse_reply_entry(w->req, &e)) {
				/* the kernel did not take it: no forget will come */
				pthread_mutex_lock(&t->mu);
				if (json)
					r->nlookup_json--;
				else
					r->nlookup_text--;
				pthread_mutex_unlock(&t->mu);
			}
		} else if (w->kind == W_JSON) {
			reply_slice(w->req, r->json, r->json_len, w->off, w->size);
		} else {
			reply_slice(w->req, r->text, r->text_len, w->off, w->size);
		}
		pthread_mutex_lock(&t->mu);
		rec_put(t, r);		/* the waiter's */
		pthread_mutex_unlock(&t->mu);
		free(w);
	}
	pthread_mutex_lock(&t->mu);
	rec_put(t, r);			/* the commit's */
	pthread_mutex_unlock(&t->mu);
}

/* Caller holds t->mu: unlink waiter w from r's list and the parked list. */
static void unpark(struct reqtab *t, struct record *r, struct waiter *w)
{
	struct waiter **pp;

	for (pp = &r->waiters; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	if (w->gprev)
		w->gprev->gnext = w->gnext;
	else
		t->parked = w->gnext;
	if (w->gnext)
		w->gnext->gprev = w->gprev;
	t->nparked--;
}

/*
 * r's request, verdict and escalation are committed: it waits for a
 * decision now (escalate.c). Lookups parked while it was being committed
 * are answered with attributes that are not final; reads stay parked.
 */
static void escalated(struct lh_fs *fs, struct record *r)
{
	struct reqtab *t = fs->reqs;
	struct escinfo *x = r->esc;
	struct waiter *w, *next, *lookups = NULL;
	struct esc_request rq;
	struct fs_ident id;

	pthread_mutex_lock(&t->mu);
	r->state = R_ESCALATED;
	r->esc = NULL;
	for (w = r->waiters; w; w = next) {
		next = w->next;
		if (w->kind != W_LOOKUP && w->kind != W_LOOKUP_JSON)
			continue;
		unpark(t, r, w);
		if (w->kind == W_LOOKUP)
			r->nlookup_text++;
		else
			r->nlookup_json++;
		r->gave_pending_attr = 1;
		w->next = lookups;
		lookups = w;
	}
	{
		struct slot *s = find_slot(t, r->slot_id);

		if (s && s->listed)
			touch(t, s);
	}
	pthread_mutex_unlock(&t->mu);

	while (lookups) {
		struct fuse_entry_param e;
		int json;

		w = lookups;
		lookups = w->next;
		json = w->kind == W_LOOKUP_JSON;
		memset(&e, 0, sizeof(e));
		e.ino = FS_INO(json ? FS_KIND_JSON : FS_KIND_RES, r->id);
		e.generation = 1;
		attr_rec(fs, r, json, &e.attr);
		if (fuse_reply_entry(w->req, &e)) {
			pthread_mutex_lock(&t->mu);
			if (json)
				r->nlookup_json--;
			else
				r->nlookup_text--;
			pthread_mutex_unlock(&t->mu);
		}
		pthread_mutex_lock(&t->mu);
		rec_put(t, r);		/* the waiter's */
		pthread_mutex_unlock(&t->mu);
		free(w);
	}

	/* the fields read here never change once judged */
	ident_of_uid(r->uid, &id);
	memset(&rq, 0, sizeof(rq));
	rq.id = r->id;
	rq.name = r->name;
	rq.agent = r->agent;
	rq.user = id.user;
	rq.session = x->session;
	rq.uid = r->uid;
	rq.gid = r->gid;
	rq.pid = r->pid;
	rq.tool = x->tool;
	rq.input = x->input;
	rq.cwd = x->cwd;
	rq.raw = r->input.data;
	rq.raw_len = r->input.len;
	rq.rule = r->verdict.rule;
	rq.reason = r->verdict.reason;
	rq.tier = lh_tier_name(r->verdict.tier);
	rq.risk = r->verdict.risk;
	rq.quorum = x->quorum;
	rq.caps = x->caps;
	rq.created_wall = x->created_wall;
	rq.deadline_wall = x->deadline_wall;
	rq.ctx = x->ctx;
	x->ctx = NULL;
	esc_open(fs, &rq);
	escinfo_free(x);
}

int reqtab_decided(struct lh_fs *fs, uint64_t id, const struct fs_decided *d)
{
	struct reqtab *t = fs->reqs;
	struct record *r;

	pthread_mutex_lock(&t->mu);
	r = find_rec(t, id);
	if (!r || r->state != R_ESCALATED) {
		pthread_mutex_unlock(&t->mu);
		return -ENOENT;
	}
	/* nobody reads the verdict of a record that is not done */
	r->verdict = d->verdict;
	r->verdict.cached = 0;
	r->verdict.escalate = 0;
	snprintf(r->by, sizeof(r->by), "%s", d->by);
	snprintf(r->escalated, sizeof(r->escalated), "%s", d->escalated);
	r->was_escalated = 1;
	pthread_mutex_unlock(&t->mu);
	complete(fs, r);
	return 0;
}

int reqtab_recover(struct lh_fs *fs, const struct esc_request *rq)
{
	struct reqtab *t = fs->reqs;
	struct record *r;
	struct slot *s;

	if (!rq->name || name_ok(rq->name))
		return -EINVAL;
	pthread_mutex_lock(&t->mu);
	if (find_rec(t, rq->id)) {
		pthread_mutex_unlock(&t->mu);
		return -EEXIST;
	}
	s = find_name(t, rq->name);
	if (!s) {
		s = xcalloc(1, sizeof(*s));
		s->id = t->next_slot++;
		s->name = xstrdup(rq->name);
		s->uid = rq->uid;
		s->gid = rq->gid;
		s->listed = 1;
		table_add(&t->names, TK_NAME, s);
		table_add(&t->slots, TK_SLOT, s);
		t->listed++;
	}
	r = xcalloc(1, sizeof(*r));
	r->id = rq->id;
	r->slot_id = s->id;
	r->name = xstrdup(rq->name);
	r->uid = rq->uid;
	r->gid = rq->gid;
	r->pid = rq->pid;
	lh_buf_init(&r->input, 0);
	lh_buf_add(&r->input, rq->raw, rq->raw_len);
	r->total = rq->raw_len;
	snprintf(r->cwd, sizeof(r->cwd), "%s", rq->cwd ? rq->cwd : "");
	snprintf(r->agent, sizeof(r->agent), "%s", rq->agent ? rq->agent : "");
	r->wrote = 1;
	r->state = R_ESCALATED;
	r->t_complete = lh_mono_ns();
	lh_verdict_set(&r->verdict, LH_ASK, LH_TIER_POLICY, rq->rule, "%s", rq->reason);
	r->verdict.escalate = 1;
	r->refs = 1;			/* the escalation's (the commit's, before the restart) */
	table_add(&t->recs, TK_REC, r);
	t->pending++;
	if (!s->latest || s->latest->id < r->id) {
		r->refs++;
		if (s->latest)
			rec_put(t, s->latest);
		s->latest = r;
	}
	touch(t, s);
	pthread_mutex_unlock(&t->mu);
	return 0;
}

/*
 * Judge record r (its state was set to R_JUDGING, with a reference for the
 * commit, by the caller under t->mu) and hand its events to the store.
 */
static void judge(struct lh_fs *fs, struct record *r)
{
	struct fs_ident id;
	struct lh_judge_in in;
	struct lh_request req;
	struct lh_verdict *v = &r->verdict;
	struct lh_event ev[3];
	struct lh_buf rp = LH_BUF_INIT, vp = LH_BUF_INIT, ep = LH_BUF_INIT;
	struct commit_ctx *cc;
	static const char *const forms[] = { "json", "tool", "shell" };
	char uid[24];
	int rc, nev = 2;
	int64_t judge_ns;

	ident_of_uid(r->uid, &id);
	memset(&in, 0, sizeof(in));
	in.data = r->input.data;
	in.len = r->input.len;
	in.total = r->total;
	in.cwd = r->cwd[0] ? r->cwd : NULL;
	in.home = id.home;
	in.user = id.user[0] ? id.user : NULL;
	lh_validator_judge(fs->validator, &in, &req, v);
	if (req.invalid) {
		atomic_fetch_add(&fs->stats.invalid, 1);
		r->invalid = 1;
	}

	/* who asked: what the request declares, else the writer's session */
	if (req.agent && req.agent[0])
		snprintf(r->agent, sizeof(r->agent), "%s", req.agent);
	else if (req.session && req.session[0])
		snprintf(r->agent, sizeof(r->agent), "%s", req.session);
	else if (!r->agent[0])		/* else captured at the first write */
		ident_session_of_pid(r->pid, r->agent, sizeof(r->agent));
	{
		const char *which;
		int64_t wait = agents_admit(fs, r->agent, r->uid, &which, &r->hold_ns);

		if (wait) {
			lh_verdict_set(v, LH_DENY, LH_TIER_LIMIT,
				       !strcmp(which, "agent") ? "rate.agent" : "rate.uid",
				       "rate limited: %s '%s' is over %u requests a second; retry after %" PRId64 " ms",
				       which, !strcmp(which, "agent") ? r->agent : id.user[0] ? id.user : "?",
				       !strcmp(which, "agent") ? fs->cfg.rate_agent : fs->cfg.rate_uid,
				       (wait + 999) / 1000);
			if (r->hold_ns) {
				size_t n = strlen(v->reason);

				snprintf(v->reason + n, sizeof(v->reason) - n,
					 " (this answer was held %" PRId64 " ms: the agent asked before its last retry-after)",
					 (r->hold_ns - lh_mono_ns() + 999999) / 1000000);
			}
			v->cached = 0;
			r->limited = 1;
		}
	}
	agents_decided(fs, r->agent, r->uid, v->decision);
	if (v->escalate && v->decision == LH_ASK && !r->limited && !req.invalid &&
	    fs->cfg.escalation_timeout) {
		/* held for experts or a person: what they will need to decide */
		struct escinfo *x = xcalloc(1, sizeof(*x));
		struct lh_buf caps = LH_BUF_INIT;

		x->ctx = context_build(fs, &in);
		esc_describe(fs, v, req.tool, x->ctx, &x->quorum, &caps);
		x->tool = xstrdup(req.tool);
		x->input = xstrdup(req.input);
		x->cwd = xstrdup(req.cwd ? req.cwd : in.cwd ? in.cwd : fs->project);
		x->session = req.session ? xstrdup(req.session) : NULL;
		x->caps = lh_buf_detach(&caps, NULL);
		x->created_wall = lh_wall_ns();
		x->deadline_wall = x->created_wall + (int64_t)fs->cfg.escalation_timeout * 1000000000;
		r->esc = x;
	}
	judge_ns = lh_mono_ns() - r->t_complete;

	/* the request event: everything needed to judge it again */
	lh_buf_adds(&rp, "{\"name\":");
	lh_buf_add_json_str(&rp, r->name, strlen(r->name));
	lh_buf_addf(&rp, ",\"form\":\"%s\",\"bytes\":%zu", forms[req.form], r->total);
	add_field(&rp, "tool", req.tool);
	add_field(&rp, "input", req.input);
	add_field(&rp, "content", req.content);
	add_field(&rp, "old", req.old);
	add_field(&rp, "cwd", req.cwd ? req.cwd : in.cwd);
	add_field(&rp, "event", req.event);
	if (req.form == LH_FORM_JSON || req.invalid) {
		if (lh_utf8_check(r->input.data, r->input.len) == r->input.len &&
		    !memchr(r->input.data, '\0', r->input.len)) {
			lh_buf_adds(&rp, ",\"raw\":");
			lh_buf_add_json_str(&rp, r->input.data, r->input.len);
		} else {
			lh_buf_adds(&rp, ",\"raw_base64\":\"");
			add_base64(&rp, (const unsigned char *)r->input.data, r->input.len);
			lh_buf_addc(&rp, '"');
		}
	}
	lh_buf_addc(&rp, '}');

	lh_buf_addf(&vp, "{\"decision\":\"%s\",\"reason\":", lh_decision_name(v->decision));
	lh_buf_add_json_str(&vp, v->reason, strlen(v->reason));
	add_field(&vp, "rule", v->rule[0] ? v->rule : NULL);
	lh_buf_addf(&vp, ",\"tier\":\"%s\",\"cached\":%s,\"judge_us\":%" PRId64 "%s}",
		    lh_tier_name(v->tier), v->cached ? "true" : "false", judge_ns / 1000,
		    r->esc ? ",\"escalated\":true" : "");

	memset(ev, 0, sizeof(ev));
	snprintf(uid, sizeof(uid), "%u", (unsigned)r->uid);
	ev[0].type = "request";
	ev[0].uid = r->uid;
	ev[0].gid = r->gid;
	ev[0].pid = r->pid;
	ev[0].session = req.session;
	ev[0].agent = r->agent;
	ev[0].request_id = (int64_t)r->id;
	ev[0].path = r->name;
	ev[0].payload = rp.data;
	ev[0].payload_len = rp.len;
	ev[1] = ev[0];
	ev[1].type = "verdict";
	ev[1].payload = vp.data;
	ev[1].payload_len = vp.len;
	if (r->esc) {
		struct esc_request rq;

		memset(&rq, 0, sizeof(rq));
		rq.id = r->id;
		rq.rule = v->rule;
		rq.reason = v->reason;
		rq.tier = lh_tier_name(v->tier);
		rq.risk = v->risk;
		rq.quorum = r->esc->quorum;
		rq.caps = r->esc->caps;
		rq.deadline_wall = r->esc->deadline_wall;
		esc_event(&rq, esc_has_experts_for(fs, rq.caps), fs->cfg.escalation_timeout, &ev[2], &ep);
		/* the builder filled type, request id and payload */
		ev[2].uid = ev[0].uid;
		ev[2].gid = ev[0].gid;
		ev[2].pid = ev[0].pid;
		ev[2].session = ev[0].session;
		ev[2].agent = ev[0].agent;
		ev[2].path = ev[0].path;
		nev = 3;
	}

	cc = xmalloc(sizeof(*cc));
	cc->fs = fs;
	cc->r = r;
	/* no lock is held: on_commit may run before lh_store_submit returns */
	rc = lh_store_submit(fs->store, ev, nev, on_commit, cc);
	lh_buf_release(&rp);
	lh_buf_release(&vp);
	lh_buf_release(&ep);
	lh_request_release(&req);
	if (rc)
		on_commit(cc, rc, 0);
}

/* Caller holds t->mu: start judging r; returns 1 if the caller must judge(). */
static int begin_judging(struct reqtab *t, struct record *r)
{
	if (r->state != R_OPEN)
		return 0;
	r->state = R_JUDGING;
	r->t_complete = lh_mono_ns();
	r->refs++;			/* the commit's */
	(void)t;
	return 1;
}

/* ---- parked reads ------------------------------------------------------------ */

static void on_interrupt(fuse_req_t req, void *data)
{
	struct lh_fs *fs = data;
	struct reqtab *t = fs->reqs;
	struct waiter *w, **pp;
	struct record *r = NULL;

	pthread_mutex_lock(&t->mu);
	for (w = t->parked; w; w = w->gnext)
		if (w->req == req)
			break;
	if (w) {
		r = w->rec;
		for (pp = &r->waiters; *pp; pp = &(*pp)->next)
			if (*pp == w) {
				*pp = w->next;
				break;
			}
		if (w->gprev)
			w->gprev->gnext = w->gnext;
		else
			t->parked = w->gnext;
		if (w->gnext)
			w->gnext->gprev = w->gprev;
		t->nparked--;
	}
	pthread_mutex_unlock(&t->mu);
	if (!w)
		return;			/* already answered */
	fuse_reply_err(req, EINTR);
	pthread_mutex_lock(&t->mu);
	rec_put(t, r);
	pthread_mutex_unlock(&t->mu);
	free(w);
}

/* Caller holds t->mu. Park a read until r is committed. */
static void park(struct lh_fs *fs, fuse_req_t req, struct record *r, enum wkind kind, off_t off,
		 size_t size, struct handle *h)
{
	struct reqtab *t = fs->reqs;
	struct waiter *w = xcalloc(1, sizeof(*w));

	w->req = req;
	w->rec = r;
	w->kind = kind;
	w->off = off;
	w->size = size;
	w->h = h;
	w->next = r->waiters;
	r->waiters = w;
	w->gnext = t->parked;
	if (t->parked)
		t->parked->gprev = w;
	t->parked = w;
	t->nparked++;
	r->refs++;
	atomic_fetch_add(&fs->stats.parked_reads, 1);
}

/* ---- operations ---------------------------------------------------------------- */

struct reqtab *reqtab_new(struct lh_fs *fs)
{
	struct reqtab *t = xcalloc(1, sizeof(*t));

	(void)fs;
	pthread_mutex_init(&t->mu, NULL);
	table_init(&t->names);
	table_init(&t->slots);
	table_init(&t->recs);
	t->next_slot = 1;
	return t;
}

void reqtab_free(struct reqtab *t)
{
	size_t i;

	if (!t)
		return;
	/* at exit nothing is parked or in flight: free what is left */
	for (i = 0; i < t->slots.cap; i++) {
		struct slot *s = t->slots.v[i];

		while (s) {
			struct slot *next = s->inext;

			free(s->name);
			free(s);
			s = next;
		}
	}
	for (i = 0; i < t->recs.cap; i++) {
		struct record *r = t->recs.v[i];

		while (r) {
			struct record *next = r->hnext;

			lh_buf_release(&r->input);
			escinfo_free(r->esc);
			free(r->name);
			free(r->text);
			free(r->json);
			free(r);
			r = next;
		}
	}
	while (t->parked) {
		struct waiter *w = t->parked;

		t->parked = w->gnext;
		free(w);
	}
	free(t->names.v);
	free(t->slots.v);
	free(t->recs.v);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

static void entry_for_slot(struct lh_fs *fs, struct slot *s, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = FS_INO(FS_KIND_REQ, s->id);
	e->generation = 1;
	attr_slot(fs, s, &e->attr);
	e->attr_timeout = 0;
	e->entry_timeout = 0;
	s->nlookup++;
}

void reqtab_lookup(struct lh_fs *fs, fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct reqtab *t = fs->reqs;
	struct fuse_entry_param e;
	struct slot *s;
	int json = 0;

	if (parent == FS_INO_RESULTS)
		fuse_req_interrupt_func(req, on_interrupt, fs);
	pthread_mutex_lock(&t->mu);
	if (parent == FS_INO_REQUESTS) {
		s = find_name(t, name);
		if (!s) {
			pthread_mutex_unlock(&t->mu);
			fuse_reply_err(req, ENOENT);
			return;
		}
		entry_for_slot(fs, s, &e);
	} else {
		struct record *r;

		s = result_slot(t, name, &json);
		r = s ? s->latest : NULL;
		if (!r) {
			pthread_mutex_unlock(&t->mu);
			fuse_reply_err(req, ENOENT);
			return;
		}
		if (r->state == R_JUDGING && !fuse_req_interrupted(req)) {
			/* answered by on_commit with the final attributes */
			park(fs, req, r, json ? W_LOOKUP_JSON : W_LOOKUP, 0, 0, NULL);
			pthread_mutex_unlock(&t->mu);
			return;
		}
		memset(&e, 0, sizeof(e));
		e.ino = FS_INO(json ? FS_KIND_JSON : FS_KIND_RES, r->id);
		e.generation = 1;
		attr_rec(fs, r, json, &e.attr);
		e.entry_timeout = 0;
		if (r->state == R_DONE) {
			e.attr_timeout = fs->cfg.attr_timeout;
		} else {
			e.attr_timeout = 0;
			r->gave_pending_attr = 1;
		}
		if (json)
			r->nlookup_json++;
		else
			r->nlookup_text++;
	}
	pthread_mutex_unlock(&t->mu);
	fuse_reply_entry(req, &e);
}

void reqtab_forget(struct lh_fs *fs, fuse_ino_t ino, uint64_t n)
{
	struct reqtab *t = fs->reqs;
	uint64_t kind = FS_INO_KIND(ino), id = FS_INO_ID(ino);

	pthread_mutex_lock(&t->mu);
	if (kind == FS_KIND_REQ) {
		struct slot *s = find_slot(t, id);

		if (s) {
			s->nlookup = s->nlookup > n ? s->nlookup - n : 0;
			slot_maybe_free(t, s);
		}
	} else {
		struct record *r = find_rec(t, id);

		if (r) {
			uint64_t *c = kind == FS_KIND_JSON ? &r->nlookup_json : &r->nlookup_text;

			*c = *c > n ? *c - n : 0;
			r->refs++;
			rec_put(t, r);
		}
	}
	pthread_mutex_unlock(&t->mu);
}

int reqtab_getattr(struct lh_fs *fs, fuse_ino_t ino, struct stat *st)
{
	struct reqtab *t = fs->reqs;
	uint64_t kind = FS_INO_KIND(ino), id = FS_INO_ID(ino);
	int rc = 0;

	pthread_mutex_lock(&t->mu);
	if (kind == FS_KIND_REQ) {
		struct slot *s = find_slot(t, id);

		if (s)
			attr_slot(fs, s, st);
		else
			rc = -ENOENT;
	} else {
		struct record *r = find_rec(t, id);

		if (r) {
			attr_rec(fs, r, kind == FS_KIND_JSON, st);
			if (r->state != R_DONE)
				r->gave_pending_attr = 1;
		} else {
			rc = -ENOENT;
		}
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

/* A handle off the open list; what it holds of the table is the caller's. */
static void handle_free(struct fs_open_link *l)
{
	struct handle *h = (struct handle *)(void *)l;

	fs_open_del(&h->link);
	lh_buf_release(&h->snapshot);
	free(h);
}

/* Caller holds t->mu. A write handle on slot s with a fresh record. */
static struct handle *write_handle(struct lh_fs *fs, struct slot *s, const struct fuse_ctx *ctx,
				   struct fuse_file_info *fi)
{
	struct handle *h = xcalloc(1, sizeof(*h));

	h->slot = s;
	h->writable = 1;
	h->nonblock = !!(fi->flags & O_NONBLOCK);
	h->rec = new_record(fs, s, ctx);
	h->rec->refs++;
	s->handles++;
	lh_buf_init(&h->snapshot, 0);
	return h;
}

void reqtab_create(struct lh_fs *fs, fuse_req_t req, const char *name, mode_t mode,
		   struct fuse_file_info *fi)
{
	struct reqtab *t = fs->reqs;
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct fuse_entry_param e;
	struct handle *h;
	struct slot *s;
	int rc = name_ok(name);

	(void)mode;
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	pthread_mutex_lock(&t->mu);
	s = find_name(t, name);
	if (s && !may_access(ctx, s->uid)) {
		pthread_mutex_unlock(&t->mu);
		fuse_reply_err(req, EACCES);
		return;
	}
	if (s && (fi->flags & O_EXCL)) {
		pthread_mutex_unlock(&t->mu);
		fuse_reply_err(req, EEXIST);
		return;
	}
	if (!s) {
		s = xcalloc(1, sizeof(*s));
		s->id = t->next_slot++;
		s->name = xstrdup(name);
		s->uid = ctx->uid;
		s->gid = ctx->gid;
		s->listed = 1;
		table_add(&t->names, TK_NAME, s);
		table_add(&t->slots, TK_SLOT, s);
		t->listed++;
	}
	h = write_handle(fs, s, ctx, fi);
	entry_for_slot(fs, s, &e);
	pthread_mutex_unlock(&t->mu);
	fs_open_add(&h->link, handle_free);
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->direct_io = 1;
	fi->noflush = 1;
	if (fuse_reply_create(req, &e, fi)) {
		/* the caller is gone: undo as a release would */
		reqtab_release(fs, NULL, e.ino, fi);
		reqtab_forget(fs, e.ino, 1);
	}
}

struct rhandle {
	struct fs_open_link link;	/* first: listed while open (fs.h) */
	struct record *r;
	int json;
	int nonblock;
};

void reqtab_open(struct lh_fs *fs, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct reqtab *t = fs->reqs;
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	uint64_t kind = FS_INO_KIND(ino), id = FS_INO_ID(ino);
	int acc = fi->flags & O_ACCMODE;

	pthread_mutex_lock(&t->mu);
	if (kind == FS_KIND_REQ) {
		struct slot *s = find_slot(t, id);
		struct handle *h;

		if (!s || !s->listed) {
			pthread_mutex_unlock(&t->mu);
			fuse_reply_err(req, ENOENT);
			return;
		}
		if (!may_access(ctx, s->uid)) {
			pthread_mutex_unlock(&t->mu);
			fuse_reply_err(req, EACCES);
			return;
		}
		if (acc == O_WRONLY || acc == O_RDWR) {
			h = write_handle(fs, s, ctx, fi);
		} else {
			h = xcalloc(1, sizeof(*h));
			h->slot = s;
			s->handles++;
			lh_buf_init(&h->snapshot, 0);
			if (s->latest)
				lh_buf_add(&h->snapshot, s->latest->input.data, s->latest->input.len);
		}
		pthread_mutex_unlock(&t->mu);
		fs_open_add(&h->link, handle_free);
		fi->fh = (uint64_t)(uintptr_t)h;
		fi->direct_io = 1;
		fi->noflush = 1;
		if (fuse_reply_open(req, fi))
			reqtab_release(fs, NULL, ino, fi);
		return;
	} else {
		struct record *r = find_rec(t, id);
		struct rhandle *rh;

		if (!r) {
			pthread_mutex_unlock(&t->mu);
			fuse_reply_err(req, ENOENT);
			return;
		}
		if (!may_access(ctx, r->uid)) {
			pthread_mutex_unlock(&t->mu);
			fuse_reply_err(req, EACCES);
			return;
		}
		if (acc != O_RDONLY) {
			pthread_mutex_unlock(&t->mu);
			fuse_reply_err(req, EACCES);
			return;
		}
		rh = xcalloc(1, sizeof(*rh));
		rh->r = r;
		rh->json = kind == FS_KIND_JSON;
		rh->nonblock = !!(fi->flags & O_NONBLOCK);
		r->refs++;
		if (r->state == R_DONE && !r->gave_pending_attr) {
			fi->keep_cache = 1;	/* this inode's content never changes */
		} else {
			fi->direct_io = 1;
		}
		pthread_mutex_unlock(&t->mu);
		fs_open_add(&rh->link, fs_open_free);
		fi->fh = (uint64_t)(uintptr_t)rh;
		fi->noflush = 1;
		if (fuse_reply_open(req, fi))
			reqtab_release(fs, NULL, ino, fi);
	}
}

/* The writer's cwd and session, read while it is surely alive. */
static void capture_writer(struct reqtab *t, struct record *r, pid_t pid)
{
	char cwd[sizeof(r->cwd)], sid[sizeof(r->agent)];

	ident_cwd_of_pid(pid, cwd, sizeof(cwd));
	ident_session_of_pid(pid, sid, sizeof(sid));
	pthread_mutex_lock(&t->mu);
	memcpy(r->cwd, cwd, sizeof(cwd));
	memcpy(r->agent, sid, sizeof(sid));
	pthread_mutex_unlock(&t->mu);
}

void reqtab_write(struct lh_fs *fs, fuse_req_t req, fuse_ino_t ino, const char *buf,
		  size_t size, struct fuse_file_info *fi)
{
	struct reqtab *t = fs->reqs;
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct record *r;
	int first, rc, do_judge, need_cwd;

	(void)ino;
	if (FS_INO_KIND(ino) != FS_KIND_REQ || !h->writable) {
		fuse_reply_err(req, EBADF);
		return;
	}
	pthread_mutex_lock(&t->mu);
	r = h->rec;
	if (r->state != R_OPEN) {
		/* the channel: a write after a verdict is the next request */
		r = new_record(fs, h->slot, fuse_req_ctx(req));
		r->refs++;
		rec_put(t, h->rec);
		h->rec = r;
		h->rcursor = 0;
	}
	first = !r->wrote;
	r->wrote = 1;
	r->total += size;
	rc = lh_buf_add(&r->input, buf, size);
	if (rc)
		atomic_fetch_add(&fs->stats.too_large, 1);
	/*
	 * On a channel a write is a whole request: judge it now, before the
	 * reply. The verdict is released at the journal append, inside
	 * judge(), so the agent's next read finds it done and is answered by
	 * whichever worker takes it, without parking (measured: a third less
	 * latency under 16 clients than judging after the reply, which parked
	 * every other read). A write of exactly max_write bytes may be one
	 * piece of a larger write(): wait for the read.
	 */
	do_judge = h->channel && size != fs->max_write && begin_judging(t, r);
	pthread_mutex_unlock(&t->mu);
	/*
	 * Relative paths in a plain command are relative to the writer's cwd,
	 * and who asks is the writer's session: read both while the writer is
	 * surely alive (before the reply). Judging comes at the release, which
	 * close() does not wait for: by then a shell's `echo ... >` is gone.
	 */
	need_cwd = first && size && buf[0] != '{';
	if (need_cwd)
		capture_writer(t, r, fuse_req_ctx(req)->pid);
	if (do_judge)
		judge(fs, r);
	if (rc)
		fuse_reply_err(req, EFBIG);
	else
		fuse_reply_write(req, size);
}

void reqtab_read(struct lh_fs *fs, fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		 struct fuse_file_info *fi)
{
	struct reqtab *t = fs->reqs;
	uint64_t kind = FS_INO_KIND(ino);

	if (kind == FS_KIND_REQ) {
		struct handle *h = (struct handle *)(uintptr_t)fi->fh;
		struct record *r;
		int do_judge = 0;

		if (!h->writable) {
			/* from a copy: the close that frees h may race the reply */
			char *copy = xmemdup(h->snapshot.data, h->snapshot.len + 1);

			reply_slice(req, copy, h->snapshot.len, off, size);
			free(copy);
			return;
		}
		fuse_req_interrupt_func(req, on_interrupt, fs);
		pthread_mutex_lock(&t->mu);
		h->channel = 1;
		r = h->rec;
		if (r->state == R_OPEN && !r->wrote) {
			/* nothing asked on this handle yet */
			pthread_mutex_unlock(&t->mu);
			fuse_reply_buf(req, NULL, 0);
			return;
		}
		do_judge = begin_judging(t, r);
		if (r->state == R_DONE) {
			size_t avail = r->text_len - h->rcursor, n = size < avail ? size : avail;
			off_t at = (off_t)h->rcursor;

			/* a write on this fd meanwhile may retire r: hold it for the reply */
			h->rcursor += n;
			r->refs++;
			pthread_mutex_unlock(&t->mu);
			reply_slice(req, r->text, r->text_len, at, n);
			pthread_mutex_lock(&t->mu);
			rec_put(t, r);
			pthread_mutex_unlock(&t->mu);
			return;
		}
		if (h->nonblock) {
			pthread_mutex_unlock(&t->mu);
			atomic_fetch_add(&fs->stats.nonblock_again, 1);
			fuse_reply_err(req, EAGAIN);
		} else if (fuse_req_interrupted(req)) {
			/* asked before parking: once parked, on_commit may answer and free req */
			pthread_mutex_unlock(&t->mu);
			fuse_reply_err(req, EINTR);
		} else {
			/* once parked and unlocked, req belongs to the commit path */
			park(fs, req, r, W_CHANNEL, 0, size, h);
			pthread_mutex_unlock(&t->mu);
		}
		if (do_judge)
			judge(fs, r);
		return;
	} else {
		struct rhandle *rh = (struct rhandle *)(uintptr_t)fi->fh;
		struct record *r = rh->r;

		fuse_req_interrupt_func(req, on_interrupt, fs);
		pthread_mutex_lock(&t->mu);
		if (r->state == R_DONE) {
			/* the close that drops rh's reference may race the reply */
			r->refs++;
			pthread_mutex_unlock(&t->mu);
			if (rh->json)
				reply_slice(req, r->json, r->json_len, off, size);
			else
				reply_slice(req, r->text, r->text_len, off, size);
			pthread_mutex_lock(&t->mu);
			rec_put(t, r);
			pthread_mutex_unlock(&t->mu);
			return;
		}
		if (rh->nonblock) {
			pthread_mutex_unlock(&t->mu);
			atomic_fetch_add(&fs->stats.nonblock_again, 1);
			fuse_reply_err(req, EAGAIN);
			return;
		}
		if (fuse_req_interrupted(req)) {
			pthread_mutex_unlock(&t->mu);
			fuse_reply_err(req, EINTR);
			return;
		}
		/* once parked and unlocked, req belongs to the commit path */
		park(fs, req, r, rh->json ? W_JSON : W_TEXT, off, size, NULL);
		pthread_mutex_unlock(&t->mu);
	}
}

void reqtab_release(struct lh_fs *fs, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct reqtab *t = fs->reqs;
	uint64_t kind = FS_INO_KIND(ino);

	if (kind == FS_KIND_REQ) {
		struct handle *h = (struct handle *)(uintptr_t)fi->fh;
		struct record *r = h->rec;
		struct slot *s = h->slot;
		int do_judge = 0;

		pthread_mutex_lock(&t->mu);
		if (h->writable && r) {
			/* the file is closed: what it holds is the request */
			do_judge = begin_judging(t, r);
		}
		s->handles--;
		touch(t, s);
		pthread_mutex_unlock(&t->mu);
		if (req)
			fuse_reply_err(req, 0);
		if (do_judge)
			judge(fs, r);
		pthread_mutex_lock(&t->mu);
		if (r)
			rec_put(t, r);
		slot_maybe_free(t, s);
		pthread_mutex_unlock(&t->mu);
		handle_free(&h->link);
		return;
	}
	{
		struct rhandle *rh = (struct rhandle *)(uintptr_t)fi->fh;

		pthread_mutex_lock(&t->mu);
		rec_put(t, rh->r);
		pthread_mutex_unlock(&t->mu);
		fs_open_free(&rh->link);
		if (req)
			fuse_reply_err(req, 0);
	}
}

void reqtab_setattr(struct lh_fs *fs, fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		    int to_set, struct fuse_file_info *fi)
{
	struct reqtab *t = fs->reqs;
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct stat st;
	int rc;

	(void)attr;
	(void)fi;
	if (FS_INO_KIND(ino) != FS_KIND_REQ) {
		fuse_reply_err(req, EACCES);
		return;
	}
	if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	/*
	 * Truncation and times (touch, shells' O_TRUNC) are accepted and mean
	 * nothing: every open for writing starts an empty request anyway.
	 */
	pthread_mutex_lock(&t->mu);
	{
		struct slot *s = find_slot(t, FS_INO_ID(ino));

		rc = !s ? -ENOENT : !may_access(ctx, s->uid) ? -EACCES : 0;
	}
	pthread_mutex_unlock(&t->mu);
	if (!rc)
		rc = reqtab_getattr(fs, ino, &st);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, 0);
}

void reqtab_unlink(struct lh_fs *fs, fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct reqtab *t = fs->reqs;
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct slot *s;
	int json = 0;

	pthread_mutex_lock(&t->mu);
	s = parent == FS_INO_REQUESTS ? find_name(t, name) : result_slot(t, name, &json);
	if (!s) {
		pthread_mutex_unlock(&t->mu);
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (!may_access(ctx, s->uid)) {
		pthread_mutex_unlock(&t->mu);
		fuse_reply_err(req, EACCES);
		return;
	}
	/* the name goes; the records stay in the store */
	slot_unlist(t, s);
	slot_maybe_free(t, s);
	pthread_mutex_unlock(&t->mu);
	fuse_reply_err(req, 0);
}

/* ---- directory listings ---------------------------------------------------- */

void reqtab_dirsnap(struct lh_fs *fs, fuse_ino_t dir, struct dirsnap *d)
{
	struct reqtab *t = fs->reqs;
	struct slot *s;

	pthread_mutex_lock(&t->mu);
	for (s = t->lru_head; s; s = s->lru_next) {
		size_t n = strlen(s->name);
		char j[NAME_MAX_LEN + 8];

		if (dir == FS_INO_REQUESTS) {
			dirsnap_add(d, s->name, n, FS_INO(FS_KIND_REQ, s->id), S_IFREG);
			continue;
		}
		if (!s->latest)
			continue;
		dirsnap_add(d, s->name, n, FS_INO(FS_KIND_RES, s->latest->id), S_IFREG);
		/* NAME.json, unless a request is itself called NAME.json */
		memcpy(j, s->name, n);
		memcpy(j + n, ".json", 6);
		if (!find_name(t, j))
			dirsnap_add(d, j, n + 5, FS_INO(FS_KIND_JSON, s->latest->id), S_IFREG);
	}
	pthread_mutex_unlock(&t->mu);
}

void reqtab_abort_parked(struct lh_fs *fs, int err)
{
	struct reqtab *t = fs->reqs;

	for (;;) {
		struct waiter *w, **pp;
		struct record *r;

		pthread_mutex_lock(&t->mu);
		w = t->parked;
		if (!w) {
			pthread_mutex_unlock(&t->mu);
			return;
		}
		r = w->rec;
		t->parked = w->gnext;
		if (t->parked)
			t->parked->gprev = NULL;
		t->nparked--;
		for (pp = &r->waiters; *pp; pp = &(*pp)->next)
			if (*pp == w) {
				*pp = w->next;
				break;
			}
		pthread_mutex_unlock(&t->mu);
		fuse_reply_err(w->req, err);
		pthread_mutex_lock(&t->mu);
		rec_put(t, r);
		pthread_mutex_unlock(&t->mu);
		free(w);
	}
}

/* ---- expiry ------------------------------------------------------------------------ */

void reqtab_expire(struct lh_fs *fs)
{
	struct reqtab *t = fs->reqs;
	int64_t now = lh_mono_ns(), ttl = (int64_t)fs->cfg.result_ttl * 1000000000;
	struct gone {
		struct gone *next;
		char name[];
	} *list = NULL, *g;
	struct slot *s, *next;

	pthread_mutex_lock(&t->mu);
	for (s = t->lru_head; s; s = next) {
		int old = now - s->touched >= ttl;
		int over = t->listed > fs->cfg.max_results;

		next = s->lru_next;
		if (!old && !over)
			break;		/* the rest are younger */
		if (s->handles || !s->latest || s->latest->state != R_DONE)
			continue;	/* busy: judged later, or still open */
		g = xmalloc(sizeof(*g) + strlen(s->name) + 1);
		memcpy(g->name, s->name, strlen(s->name) + 1);
		g->next = list;
		list = g;
		slot_unlist(t, s);
		slot_maybe_free(t, s);
		atomic_fetch_add(&fs->stats.expired, 1);
	}
	pthread_mutex_unlock(&t->mu);

	/* outside any operation: tell the kernel the names are gone */
	while (list) {
		size_t n;

		g = list;
		list = g->next;
		n = strlen(g->name);
		fuse_lowlevel_notify_inval_entry(fs->se, FS_INO_REQUESTS, g->name, n);
		fuse_lowlevel_notify_inval_entry(fs->se, FS_INO_RESULTS, g->name, n);
		if (n + 5 <= NAME_MAX_LEN + 5) {
			char j[NAME_MAX_LEN + 8];

			memcpy(j, g->name, n);
			memcpy(j + n, ".json", 6);
			fuse_lowlevel_notify_inval_entry(fs->se, FS_INO_RESULTS, j, n + 5);
		}
		free(g);
	}
}

void reqtab_counts(struct lh_fs *fs, uint64_t *names, uint64_t *pending, uint64_t *parked,
		   uint64_t *records)
{
	struct reqtab *t = fs->reqs;

	pthread_mutex_lock(&t->mu);
	*records = t->recs.n;
	*names = t->listed;
	*pending = t->pending;
	*parked = t->nparked;
	pthread_mutex_unlock(&t->mu);
}

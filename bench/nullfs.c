/*
 * nullfs.c -- a FUSE filesystem that serves Lighthouse's file protocol and
 * judges nothing: the baseline bench/roundtrip compares lighthoused with.
 *
 * DESIGN
 *
 * A round trip through a mount costs mostly its FUSE requests, so nullfs
 * makes the kernel send exactly the requests lighthoused makes it send,
 * and then does as little as possible with them. It copies lighthoused's
 * protocol and every caching choice (fs/ops.c, fs/reqtab.c) and leaves
 * out the validator, the event store, identity, expiry, listings, unlink,
 * results/NAME.json and the other folders:
 *
 *   requests/NAME  create or open for writing starts a request; writes
 *                  append; release completes it. A read on the same fd
 *                  completes it and returns its verdict; a write after
 *                  that read starts the next request (the channel).
 *   results/NAME   the verdict of NAME's latest request: a fixed "allow"
 *                  text as long as lighthoused's verdicts. A read before
 *                  the request is complete parks until its release.
 *   stats          lighthouse_fuse_requests_total{op="..."} N and
 *                  lighthouse_reads_parked_total N, the same Prometheus
 *                  lines lighthoused writes, counted the same way (one per
 *                  FUSE request that reaches us; a batch forget is one).
 *
 * Kernel caching, as lighthoused: the fixed entries are cached 86400 s
 * (directories' attributes too, the stats file's 1 s); names under
 * requests/ and results/ have entry_timeout 0 (names are reused for new
 * requests); request attributes are not cached; a result's are (3600 s)
 * once it is judged, and its pages too (keep_cache) when it was judged
 * before the kernel first saw it, else its opens are direct_io; request
 * and stats opens are direct_io; every open is noflush. init asks for
 * parallel dirops and atomic O_TRUNC and drops auto_inval_data and the
 * writeback cache. The session loop runs lighthoused's default threads
 * (16 at most, 4 idle), and as root it mounts with allow_other too.
 *
 * Inodes: 1-4 are the fixed tree. A request name's inode is its slot's
 * address, a result's inode its record's, tagged with the kind in the top
 * byte (libfuse's passthrough_ll uses addresses the same way; the
 * kernel's lookup counts keep them valid). Each request is a new record,
 * so results/NAME is a new inode per request, as in lighthoused.
 *
 * Lifetimes: a record lives while it is its slot's latest, a handle or a
 * parked read holds it, or the kernel holds a lookup of it. Slots live
 * until unmount.
 *
 * Locking: one mutex, nf->mu, guards slots, records and the parked list.
 * No reply is sent while holding it. libfuse calls on_interrupt holding
 * the request's own lock, and on_interrupt takes nf->mu: so a read
 * registers on_interrupt before taking nf->mu, checks for an interrupt
 * under nf->mu before parking, and never touches its fuse_req_t once it
 * is on the parked list (another thread may answer it, and libfuse free
 * it, as soon as nf->mu is let go). An interrupted parked read is found by
 * its fuse_req_t on the list, never through a pointer libfuse keeps.
 */
#define FUSE_USE_VERSION 312

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fuse_lowlevel.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "common/banned.h"

enum { INO_ROOT = 1, INO_REQUESTS, INO_RESULTS, INO_STATS };

#define KIND_SHIFT 56
#define KIND_REQ 1ULL
#define KIND_RES 2ULL
#define INO_KIND(ino) ((uint64_t)(ino) >> KIND_SHIFT)
#define INO_PTR(ino) ((void *)(uintptr_t)((uint64_t)(ino) & ((1ULL << KIND_SHIFT) - 1)))

#define FIXED_TIMEOUT 86400.0		/* the fixed tree never changes */
#define RESULT_ATTR_TIMEOUT 3600.0	/* lighthoused's default -o attr_timeout */
#define MAX_REQUEST (1u << 20)		/* lighthoused's default -o max_request */
#define MAX_THREADS 16			/* lighthoused's default -o threads */
#define IDLE_THREADS 4

enum op {
	OP_LOOKUP, OP_FORGET, OP_GETATTR, OP_SETATTR, OP_OPEN, OP_CREATE, OP_READ,
	OP_WRITE, OP_FLUSH, OP_RELEASE, OP_OPENDIR, OP_READDIR, OP_RELEASEDIR,
	OP_UNLINK, OP_STATFS, OP_OTHER, OP_COUNT
};

/* The names and order of fs/stats.c. */
static const char *const op_names[OP_COUNT] = {
	"lookup", "forget", "getattr", "setattr", "open", "create", "read", "write",
	"flush", "release", "opendir", "readdir", "releasedir", "unlink", "statfs", "other"
};

struct rec {
	struct rec *prev, *next;	/* all records, to free at exit */
	uint64_t id;
	struct lh_buf input;		/* the request as written (bounded) */
	int wrote;			/* any write happened */
	int done;			/* judged: text is final */
	int pending_attr;		/* the kernel saw it unjudged: never page-cache it */
	char text[160];			/* the verdict */
	size_t text_len;
	int refs;			/* slot latest, handles, parked reads */
	uint64_t nlookup;		/* the kernel's lookups of results/NAME */
};

struct slot {
	struct slot *next;		/* name hash chain */
	char *name;
	struct rec *latest;		/* what results/NAME shows (a reference) */
};

/* An open requests/NAME or results/NAME. */
struct handle {
	struct rec *rec;		/* a reference: the record written, read or shown */
	int writable;
	int nonblock;
	size_t rcursor;			/* channel: verdict bytes already read */
};

struct waiter {
	struct waiter *next;		/* in nf->parked */
	fuse_req_t req;
	struct rec *rec;
	off_t off;
	size_t size;
};

struct nullfs {
	pthread_mutex_t mu;
	struct slot **names;		/* by name; protected by mu */
	size_t cap, n;			/* cap is a power of two */
	struct rec *recs;		/* protected by mu */
	struct waiter *parked;		/* protected by mu */
	uint64_t next_id;		/* protected by mu */
	_Atomic uint64_t ops[OP_COUNT];
	_Atomic uint64_t parked_reads;	/* reads that waited for a verdict */
	uid_t uid;
	gid_t gid;
	time_t started;
};

static struct nullfs *nf_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void count(fuse_req_t req, enum op op)
{
	atomic_fetch_add_explicit(&nf_of(req)->ops[op], 1, memory_order_relaxed);
}

static void *ino_ptr_check(void *p)
{
	if ((uint64_t)(uintptr_t)p >> KIND_SHIFT) {
		fprintf(stderr, "nullfs: an address does not fit an inode number\n");
		abort();
	}
	return p;
}

static fuse_ino_t slot_ino(struct slot *s)
{
	return (KIND_REQ << KIND_SHIFT) | (uintptr_t)ino_ptr_check(s);
}

static fuse_ino_t rec_ino(struct rec *r)
{
	return (KIND_RES << KIND_SHIFT) | (uintptr_t)ino_ptr_check(r);
}

/* ---- slots and records (nf->mu held) ------------------------------------------ */

static size_t hash_name(const char *s)
{
	uint64_t h = 1469598103934665603ull;	/* FNV-1a */

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return (size_t)h;
}

static struct slot *find_slot(struct nullfs *nf, const char *name)
{
	struct slot *s = nf->names[hash_name(name) & (nf->cap - 1)];

	while (s && strcmp(s->name, name))
		s = s->next;
	return s;
}

static struct slot *add_slot(struct nullfs *nf, const char *name)
{
	struct slot *s = xcalloc(1, sizeof(*s));
	size_t b;

	if (nf->n + 1 > nf->cap) {
		size_t cap = nf->cap * 2, i;
		struct slot **v = xcalloc(cap, sizeof(*v));

		for (i = 0; i < nf->cap; i++)
			while (nf->names[i]) {
				struct slot *x = nf->names[i];

				nf->names[i] = x->next;
				b = hash_name(x->name) & (cap - 1);
				x->next = v[b];
				v[b] = x;
			}
		free(nf->names);
		nf->names = v;
		nf->cap = cap;
	}
	s->name = xstrdup(name);
	b = hash_name(name) & (nf->cap - 1);
	s->next = nf->names[b];
	nf->names[b] = s;
	nf->n++;
	return s;
}

static void rec_free(struct rec *r)
{
	lh_buf_release(&r->input);
	free(r);
}

static void rec_put(struct nullfs *nf, struct rec *r)
{
	if (--r->refs > 0 || r->nlookup)
		return;
	if (r->prev)
		r->prev->next = r->next;
	else
		nf->recs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	rec_free(r);
}

/* A new request under slot s, now its latest; the caller gets a reference. */
static struct rec *rec_new(struct nullfs *nf, struct slot *s)
{
	struct rec *r = xcalloc(1, sizeof(*r));

	r->id = ++nf->next_id;
	lh_buf_init(&r->input, MAX_REQUEST);
	r->refs = 2;			/* the slot's latest, the caller's */
	r->next = nf->recs;
	if (nf->recs)
		nf->recs->prev = r;
	nf->recs = r;
	if (s->latest)
		rec_put(nf, s->latest);
	s->latest = r;
	return r;
}

/*
 * Judge r (instantly) and take its parked reads off the list; the caller
 * answers them with answer() once it has let go of nf->mu.
 */
static struct waiter *judge(struct nullfs *nf, struct rec *r)
{
	struct waiter *list = NULL, **pp = &nf->parked;
	int n;

	if (r->done)
		return NULL;
	n = snprintf(r->text, sizeof(r->text),
		     "allow\nreason: nullfs judges nothing\nrule: -\ntier: none\nrequest: %" PRIu64
		     "\nlatency_us: 0\ncache: miss\n", r->id);
	r->text_len = n > 0 && (size_t)n < sizeof(r->text) ? (size_t)n : 0;
	r->done = 1;
	while (*pp) {
		struct waiter *w = *pp;

		if (w->rec == r) {
			*pp = w->next;
			w->next = list;
			list = w;
		} else {
			pp = &w->next;
		}
	}
	return list;
}

/* ---- replies --------------------------------------------------------------------- */

static void reply_slice(fuse_req_t req, const char *data, size_t len, off_t off, size_t size)
{
	if (off < 0 || (size_t)off >= len)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_buf(req, data + off, len - (size_t)off < size ? len - (size_t)off : size);
}

static void answer(struct nullfs *nf, struct waiter *list)
{
	while (list) {
		struct waiter *w = list;

		list = w->next;
		reply_slice(w->req, w->rec->text, w->rec->text_len, w->off, w->size);
		pthread_mutex_lock(&nf->mu);
		rec_put(nf, w->rec);
		pthread_mutex_unlock(&nf->mu);
		free(w);
	}
}

static void on_interrupt(fuse_req_t req, void *data)
{
	struct nullfs *nf = data;
	struct waiter *w = NULL, **pp;

	pthread_mutex_lock(&nf->mu);
	for (pp = &nf->parked; *pp; pp = &(*pp)->next)
		if ((*pp)->req == req) {
			w = *pp;
			*pp = w->next;
			break;
		}
	pthread_mutex_unlock(&nf->mu);
	if (!w)
		return;			/* already answered */
	fuse_reply_err(req, EINTR);
	pthread_mutex_lock(&nf->mu);
	rec_put(nf, w->rec);
	pthread_mutex_unlock(&nf->mu);
	free(w);
}

/* ---- attributes -------------------------------------------------------------------- */

static void base_attr(struct nullfs *nf, fuse_ino_t ino, mode_t mode, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = mode;
	st->st_nlink = S_ISDIR(mode) ? 2 : 1;
	st->st_uid = nf->uid;
	st->st_gid = nf->gid;
	st->st_blksize = 4096;
	st->st_atime = st->st_mtime = st->st_ctime = nf->started;
}

/* Attributes of ino; *timeout is how long the kernel may cache them. */
static int get_attr(struct nullfs *nf, fuse_ino_t ino, struct stat *st, double *timeout)
{
	*timeout = 0;
	switch (INO_KIND(ino)) {
	case KIND_REQ: {
		struct slot *s = INO_PTR(ino);

		base_attr(nf, ino, S_IFREG | 0600, st);
		st->st_size = s->latest ? (off_t)s->latest->input.len : 0;
		return 0;
	}
	case KIND_RES: {
		struct rec *r = INO_PTR(ino);

		base_attr(nf, ino, S_IFREG | 0400, st);
		if (r->done) {
			st->st_size = (off_t)r->text_len;
			*timeout = RESULT_ATTR_TIMEOUT;
		} else {
			r->pending_attr = 1;
		}
		return 0;
	}
	}
	switch (ino) {
	case INO_ROOT:
		base_attr(nf, ino, S_IFDIR | 0755, st);
		break;
	case INO_REQUESTS:
		base_attr(nf, ino, S_IFDIR | 01777, st);
		break;
	case INO_RESULTS:
		base_attr(nf, ino, S_IFDIR | 0555, st);
		break;
	case INO_STATS:
		base_attr(nf, ino, S_IFREG | 0444, st);
		*timeout = 1.0;
		return 0;
	default:
		return -ENOENT;
	}
	*timeout = FIXED_TIMEOUT;
	return 0;
}

/* ---- operations ---------------------------------------------------------------------- */

static void nf_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	conn->want &= ~(unsigned)FUSE_CAP_AUTO_INVAL_DATA;
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
}

static void nf_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct nullfs *nf = nf_of(req);
	struct fuse_entry_param e;
	struct slot *s;
	double timeout;

	count(req, OP_LOOKUP);
	memset(&e, 0, sizeof(e));
	e.generation = 1;
	if (parent == INO_ROOT) {
		e.ino = !strcmp(name, "requests") ? INO_REQUESTS : !strcmp(name, "results") ?
			INO_RESULTS : !strcmp(name, "stats") ? INO_STATS : 0;
		if (!e.ino) {
			fuse_reply_err(req, ENOENT);
			return;
		}
		get_attr(nf, e.ino, &e.attr, &e.attr_timeout);
		e.entry_timeout = FIXED_TIMEOUT;
		fuse_reply_entry(req, &e);
		return;
	}
	if (parent != INO_REQUESTS && parent != INO_RESULTS) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	pthread_mutex_lock(&nf->mu);
	s = find_slot(nf, name);
	if (s && parent == INO_REQUESTS) {
		e.ino = slot_ino(s);
	} else if (s && s->latest) {
		e.ino = rec_ino(s->latest);
		s->latest->nlookup++;
	}
	if (e.ino)
		get_attr(nf, e.ino, &e.attr, &timeout);
	pthread_mutex_unlock(&nf->mu);
	if (!e.ino) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	e.attr_timeout = timeout;
	e.entry_timeout = 0;		/* names are reused for new requests */
	fuse_reply_entry(req, &e);
}

static void forget_one(struct nullfs *nf, fuse_ino_t ino, uint64_t n)
{
	struct rec *r;

	if (INO_KIND(ino) != KIND_RES)
		return;			/* fixed inodes and slots outlive the kernel's lookups */
	r = INO_PTR(ino);
	pthread_mutex_lock(&nf->mu);
	r->nlookup = r->nlookup > n ? r->nlookup - n : 0;
	r->refs++;
	rec_put(nf, r);
	pthread_mutex_unlock(&nf->mu);
}

static void nf_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	count(req, OP_FORGET);
	forget_one(nf_of(req), ino, nlookup);
	fuse_reply_none(req);
}

static void nf_forget_multi(fuse_req_t req, size_t n, struct fuse_forget_data *v)
{
	size_t k;

	count(req, OP_FORGET);
	for (k = 0; k < n; k++)
		forget_one(nf_of(req), v[k].ino, v[k].nlookup);
	fuse_reply_none(req);
}

static void nf_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct nullfs *nf = nf_of(req);
	struct stat st;
	double timeout;
	int rc;

	(void)fi;
	count(req, OP_GETATTR);
	pthread_mutex_lock(&nf->mu);
	rc = get_attr(nf, ino, &st, &timeout);
	pthread_mutex_unlock(&nf->mu);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, INO_KIND(ino) ? 0 : timeout);
}

static void nf_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct nullfs *nf = nf_of(req);
	struct stat st;
	double timeout;

	(void)attr;
	(void)fi;
	count(req, OP_SETATTR);
	if (INO_KIND(ino) != KIND_REQ) {
		fuse_reply_err(req, INO_KIND(ino) ? EACCES : EPERM);
		return;
	}
	if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	/* truncation and times mean nothing: each open for writing starts afresh */
	pthread_mutex_lock(&nf->mu);
	get_attr(nf, ino, &st, &timeout);
	pthread_mutex_unlock(&nf->mu);
	fuse_reply_attr(req, &st, 0);
}

/* Open slot s: for writing, a new request; else its latest, read-only. */
static struct handle *open_slot(struct nullfs *nf, struct slot *s, struct fuse_file_info *fi)
{
	struct handle *h = xcalloc(1, sizeof(*h));
	int acc = fi->flags & O_ACCMODE;

	h->nonblock = !!(fi->flags & O_NONBLOCK);
	if (acc == O_WRONLY || acc == O_RDWR) {
		h->writable = 1;
		h->rec = rec_new(nf, s);
	} else if (s->latest) {
		h->rec = s->latest;
		h->rec->refs++;
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->direct_io = 1;
	fi->noflush = 1;
	return h;
}

static void release_handle(struct nullfs *nf, struct handle *h)
{
	pthread_mutex_lock(&nf->mu);
	if (h->rec)
		rec_put(nf, h->rec);
	pthread_mutex_unlock(&nf->mu);
	free(h);
}

static void nf_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct nullfs *nf = nf_of(req);
	struct fuse_entry_param e;
	struct handle *h;
	struct slot *s;

	(void)mode;
	count(req, OP_CREATE);
	if (parent != INO_REQUESTS) {
		fuse_reply_err(req, EACCES);
		return;
	}
	pthread_mutex_lock(&nf->mu);
	s = find_slot(nf, name);
	if (s && (fi->flags & O_EXCL)) {
		pthread_mutex_unlock(&nf->mu);
		fuse_reply_err(req, EEXIST);
		return;
	}
	if (!s)
		s = add_slot(nf, name);
	h = open_slot(nf, s, fi);
	memset(&e, 0, sizeof(e));
	e.ino = slot_ino(s);
	e.generation = 1;
	get_attr(nf, e.ino, &e.attr, &e.attr_timeout);
	pthread_mutex_unlock(&nf->mu);
	if (fuse_reply_create(req, &e, fi))
		release_handle(nf, h);	/* the caller is gone */
}

static void nf_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct nullfs *nf = nf_of(req);
	int acc = fi->flags & O_ACCMODE;
	struct handle *h;

	count(req, OP_OPEN);
	if (ino == INO_STATS) {
		struct lh_buf *b = xmalloc(sizeof(*b));
		int k;

		if (acc != O_RDONLY) {
			free(b);
			fuse_reply_err(req, EACCES);
			return;
		}
		lh_buf_init(b, 0);
		lh_buf_addf(b, "# HELP lighthouse_up 1 while the filesystem serves this mount\n"
			       "# TYPE lighthouse_up gauge\nlighthouse_up 1\n"
			       "# HELP lighthouse_reads_parked_total reads that waited for a verdict\n"
			       "# TYPE lighthouse_reads_parked_total counter\n"
			       "lighthouse_reads_parked_total %" PRIu64 "\n",
			    (uint64_t)atomic_load(&nf->parked_reads));
		lh_buf_adds(b, "# HELP lighthouse_fuse_requests_total FUSE requests received, by operation\n"
			       "# TYPE lighthouse_fuse_requests_total counter\n");
		for (k = 0; k < OP_COUNT; k++)
			lh_buf_addf(b, "lighthouse_fuse_requests_total{op=\"%s\"} %" PRIu64 "\n",
				    op_names[k], (uint64_t)atomic_load(&nf->ops[k]));
		fi->fh = (uint64_t)(uintptr_t)b;
		fi->direct_io = 1;
		fi->noflush = 1;
		if (fuse_reply_open(req, fi)) {
			lh_buf_release(b);
			free(b);
		}
		return;
	}
	if (!INO_KIND(ino)) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if (INO_KIND(ino) == KIND_RES && acc != O_RDONLY) {
		fuse_reply_err(req, EACCES);
		return;
	}
	pthread_mutex_lock(&nf->mu);
	if (INO_KIND(ino) == KIND_REQ) {
		h = open_slot(nf, INO_PTR(ino), fi);
	} else {
		h = xcalloc(1, sizeof(*h));
		h->rec = INO_PTR(ino);
		h->rec->refs++;
		h->nonblock = !!(fi->flags & O_NONBLOCK);
		fi->fh = (uint64_t)(uintptr_t)h;
		if (h->rec->done && !h->rec->pending_attr)
			fi->keep_cache = 1;	/* this inode's content never changes */
		else
			fi->direct_io = 1;
		fi->noflush = 1;
	}
	pthread_mutex_unlock(&nf->mu);
	if (fuse_reply_open(req, fi))
		release_handle(nf, h);
}

static void nf_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct nullfs *nf = nf_of(req);
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	int rc;

	(void)off;
	count(req, OP_WRITE);
	if (INO_KIND(ino) != KIND_REQ || !h->writable) {
		fuse_reply_err(req, EBADF);
		return;
	}
	pthread_mutex_lock(&nf->mu);
	if (h->rec->done) {
		/* the channel: a write after a verdict is the next request */
		struct slot *s = INO_PTR(ino);

		rec_put(nf, h->rec);
		h->rec = rec_new(nf, s);
		h->rcursor = 0;
	}
	h->rec->wrote = 1;
	rc = lh_buf_add(&h->rec->input, buf, size);
	pthread_mutex_unlock(&nf->mu);
	if (rc)
		fuse_reply_err(req, EFBIG);
	else
		fuse_reply_write(req, size);
}

static void nf_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct nullfs *nf = nf_of(req);
	struct handle *h;
	struct waiter *list, *w;
	struct rec *r;
	off_t at;

	count(req, OP_READ);
	if (ino == INO_STATS) {
		struct lh_buf *b = (struct lh_buf *)(uintptr_t)fi->fh;

		reply_slice(req, b->data, b->len, off, size);
		return;
	}
	h = (struct handle *)(uintptr_t)fi->fh;
	r = h->rec;
	if (INO_KIND(ino) == KIND_REQ && !h->writable) {
		/* the request text; another handle may still append: copy it */
		char *copy = NULL;
		size_t len = 0;

		pthread_mutex_lock(&nf->mu);
		if (r && off >= 0 && (size_t)off < r->input.len) {
			len = r->input.len - (size_t)off < size ? r->input.len - (size_t)off : size;
			copy = xmemdup(r->input.data + off, len);
		}
		pthread_mutex_unlock(&nf->mu);
		fuse_reply_buf(req, copy, len);
		free(copy);
		return;
	}
	if (INO_KIND(ino) == KIND_REQ) {
		/* the channel: the request is complete; answer from the cursor */
		pthread_mutex_lock(&nf->mu);
		if (!r->done && !r->wrote) {
			pthread_mutex_unlock(&nf->mu);
			fuse_reply_buf(req, NULL, 0);	/* nothing asked yet */
			return;
		}
		list = judge(nf, r);
		at = (off_t)h->rcursor;
		if (size > r->text_len - h->rcursor)
			size = r->text_len - h->rcursor;
		h->rcursor += size;
		pthread_mutex_unlock(&nf->mu);
		reply_slice(req, r->text, r->text_len, at, size);
		answer(nf, list);
		return;
	}
	fuse_req_interrupt_func(req, on_interrupt, nf);
	pthread_mutex_lock(&nf->mu);
	if (r->done) {
		pthread_mutex_unlock(&nf->mu);
		reply_slice(req, r->text, r->text_len, off, size);
		return;
	}
	if (h->nonblock || fuse_req_interrupted(req)) {
		pthread_mutex_unlock(&nf->mu);
		fuse_reply_err(req, h->nonblock ? EAGAIN : EINTR);
		return;
	}
	/*
	 * The writer has not closed yet: park until its release. An interrupt
	 * from now on finds the read on the list (on_interrupt waits for
	 * nf->mu); once the lock is let go req may be answered and freed, so
	 * it is not touched again here.
	 */
	w = xcalloc(1, sizeof(*w));
	w->req = req;
	w->rec = r;
	w->off = off;
	w->size = size;
	w->next = nf->parked;
	nf->parked = w;
	r->refs++;
	atomic_fetch_add(&nf->parked_reads, 1);
	pthread_mutex_unlock(&nf->mu);
}

static void nf_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	count(req, OP_FLUSH);
	fuse_reply_err(req, 0);
}

static void nf_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct nullfs *nf = nf_of(req);
	struct waiter *list = NULL;
	struct handle *h;

	count(req, OP_RELEASE);
	if (ino == INO_STATS) {
		struct lh_buf *b = (struct lh_buf *)(uintptr_t)fi->fh;

		lh_buf_release(b);
		free(b);
		fuse_reply_err(req, 0);
		return;
	}
	h = (struct handle *)(uintptr_t)fi->fh;
	if (h->writable) {
		/* the file is closed: what it holds is the request */
		pthread_mutex_lock(&nf->mu);
		list = judge(nf, h->rec);
		pthread_mutex_unlock(&nf->mu);
	}
	fuse_reply_err(req, 0);
	answer(nf, list);
	release_handle(nf, h);
}

static const struct fuse_lowlevel_ops nf_ops = {
	.init = nf_init,
	.lookup = nf_lookup,
	.forget = nf_forget,
	.forget_multi = nf_forget_multi,
	.getattr = nf_getattr,
	.setattr = nf_setattr,
	.create = nf_create,
	.open = nf_open,
	.read = nf_read,
	.write = nf_write,
	.flush = nf_flush,
	.release = nf_release,
};

/* ---- main ------------------------------------------------------------------------------ */

/* The loop has ended: answer the reads still parked. */
static void abort_parked(struct nullfs *nf)
{
	while (nf->parked) {
		struct waiter *w = nf->parked;

		nf->parked = w->next;
		fuse_reply_err(w->req, ENOTCONN);
		free(w);
	}
}

/* Free everything (nothing is parked any more). */
static void nullfs_clear(struct nullfs *nf)
{
	size_t i;

	while (nf->recs) {
		struct rec *r = nf->recs;

		nf->recs = r->next;
		rec_free(r);
	}
	for (i = 0; i < nf->cap; i++)
		while (nf->names[i]) {
			struct slot *s = nf->names[i];

			nf->names[i] = s->next;
			free(s->name);
			free(s);
		}
	free(nf->names);
	pthread_mutex_destroy(&nf->mu);
}

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts;
	struct fuse_loop_config *loop;
	struct fuse_session *se;
	struct nullfs nf;
	int rc, status = 1;

	memset(&nf, 0, sizeof(nf));
	pthread_mutex_init(&nf.mu, NULL);
	nf.cap = 256;
	nf.names = xcalloc(nf.cap, sizeof(*nf.names));
	nf.uid = getuid();
	nf.gid = getgid();
	nf.started = time(NULL);

	if (fuse_parse_cmdline(&args, &opts)) {
		status = 2;
		goto out;
	}
	if (opts.show_help || !opts.mountpoint) {
		printf("usage: nullfs [-f] [-d] MOUNTPOINT\n\n"
		       "Serve Lighthouse's requests/ and results/ protocol, judging nothing:\n"
		       "the baseline of bench/roundtrip.\n");
		status = opts.show_help ? 0 : 2;
		goto out_opts;
	}
	fuse_opt_add_arg(&args, "-ofsname=nullfs,subtype=nullfs");
	if (getuid() == 0)
		fuse_opt_add_arg(&args, "-oallow_other");
	se = fuse_session_new(&args, &nf_ops, sizeof(nf_ops), &nf);
	if (!se)
		goto out_opts;
	if (fuse_set_signal_handlers(se))
		goto out_session;
	if (fuse_session_mount(se, opts.mountpoint)) {
		fprintf(stderr, "nullfs: cannot mount on '%s'\n", opts.mountpoint);
		goto out_signals;
	}
	fuse_daemonize(opts.foreground);
	loop = fuse_loop_cfg_create();
	fuse_loop_cfg_set_max_threads(loop, MAX_THREADS);
	fuse_loop_cfg_set_idle_threads(loop, IDLE_THREADS);
	rc = fuse_session_loop_mt(se, loop);
	fuse_loop_cfg_destroy(loop);
	status = rc < 0 ? 1 : 0;	/* > 0: ended by a signal, a clean stop */
	abort_parked(&nf);
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out_opts:
	free(opts.mountpoint);
out:
	fuse_opt_free_args(&args);
	nullfs_clear(&nf);
	return status;
}

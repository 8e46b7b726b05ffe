/*
 * streams.c -- streams/: live event streams, one JSON object per line.
 *
 *   streams/all           every event
 *   streams/requests      request
 *   streams/verdicts      verdict, decision
 *   streams/files         file.*
 *   streams/escalations   escalation, decision
 *
 * A stream file is like the end of a pipe that never closes: an open
 * starts at the newest committed event, and reads return the events
 * committed after it, in order, as they come -- a read with nothing new
 * blocks until there is (O_NONBLOCK: EAGAIN). NAME?since=SEQ (looked up
 * by that name; it is not listed) starts after event SEQ instead, to
 * catch up and then follow. Offsets mean nothing (direct I/O; a seek is
 * accepted and changes nothing, so head(1) can put the offset back); a
 * line longer than a read is continued by the next read.
 *
 * DESIGN
 *
 * Readers are served from the store, never from a queue in memory: each
 * open file keeps only a cursor (the last seq it has read past) and the
 * unread end of a line. The store's writer signals the newest committed
 * seq through a commit hook (lh_store_set_commit_hook) and does nothing
 * else for streams, so a slow or stopped reader costs the writer nothing:
 * it simply has not asked for its next lines yet.
 *
 * Reads use the parked-read pattern of reqtab.c. A FUSE worker answers
 * from the unread end of a line, or parks the read (a fuse_req_t in a
 * list; no thread sleeps for it) and wakes the streams thread. That one
 * thread, with its own read-only store connection, takes each parked read
 * whose cursor is behind the newest seq, queries the events after the
 * cursor (up to the newest seq, filtered by the stream's types, as many
 * lines as the read can take), answers, and parks it again when no event
 * in between matched. A read the thread has taken is not in the list, so
 * an interrupt finds nothing and the answer goes out anyway; one waiting
 * in the list is answered EINTR. Whether a read was interrupted before
 * it could be found is asked under st->mu just before it is parked, never
 * after: once parked, another thread may answer it and libfuse free it.
 * At shutdown every parked read gets end of file.
 *
 * Inodes: FS_KIND_STREAM, the stream's index in the low 4 bits and
 * since+1 above them (0: from the open), so a name always has the same
 * inode and the kernel may cache entries and attributes.
 *
 * Locking: st->mu guards the parked list, every handle's cursor and
 * pending bytes, and the newest seq. It is a leaf: never held across a
 * FUSE reply or a store call. The writer thread takes it in the commit
 * hook, holding no store lock. Interrupt callbacks are registered before
 * st->mu is taken (libfuse calls them holding the request's lock).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "fs/fs.h"
#include "store/store.h"
#include "common/banned.h"

#define QUERY_ROWS 1024
#define SINCE_MAX ((1ULL << (FS_KIND_SHIFT - 4)) - 2)

static const struct {
	const char *name;
	const char *types;	/* lh_event_filter.types; NULL: all */
} defs[] = {
	{ "all", NULL },
	{ "requests", "request" },
	{ "verdicts", "verdict,decision" },
	{ "files", "file.*" },
	{ "escalations", "escalation,decision" },
};

#define NSTREAMS (int)(sizeof(defs) / sizeof(defs[0]))

struct shandle {
	struct fs_open_link link;	/* first: listed while open (fs.h) */
	int cls;
	int nonblock;
	int refs;			/* the open file, and each read in flight; protected by mu */
	int64_t cursor;			/* events up to here are read; protected by mu */
	struct lh_buf pending;		/* the unread end of a line; protected by mu */
};

struct sread {
	struct sread *next, *prev;
	fuse_req_t req;
	struct shandle *h;
	size_t size;
};

struct streams {
	struct lh_fs *fs;
	pthread_mutex_t mu;
	pthread_cond_t cv;		/* a read parked, a commit, or stop */
	struct sread *parked;		/* protected by mu */
	int64_t newest;			/* newest committed seq; protected by mu */
	int stop;			/* protected by mu */
	int joined;			/* streams_stop has run */
	pthread_t thread;
	struct lh_store_reader *reader;	/* the thread's own */
	int reader_failed;		/* the thread's own: logged once */
};

static uint64_t ino_of(int cls, uint64_t since_plus1)
{
	return FS_INO(FS_KIND_STREAM, (since_plus1 << 4) | (uint64_t)cls);
}

static int cls_of(fuse_ino_t ino)
{
	return (int)(FS_INO_ID(ino) & 15);
}

static int may_read(struct lh_fs *fs, fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	/* events show every user's requests: the daemon's owner and root only */
	return ctx->uid == 0 || ctx->uid == fs->owner;
}

static void attr(struct lh_fs *fs, fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = S_IFREG | 0400;
	st->st_nlink = 1;
	st->st_uid = fs->owner;
	st->st_gid = getgid();
	st->st_blksize = 4096;
	st->st_atime = st->st_mtime = st->st_ctime = fs->started_wall / 1000000000;
}

/* "verdicts" or "all?since=42" -> class and since+1 (0: from the open). */
static int parse_name(const char *name, int *cls, uint64_t *since_plus1)
{
	size_t n = strcspn(name, "?");
	int k;

	for (k = 0; k < NSTREAMS; k++)
		if (strlen(defs[k].name) == n && !strncmp(defs[k].name, name, n))
			break;
	if (k == NSTREAMS)
		return -ENOENT;
	*cls = k;
	*since_plus1 = 0;
	if (name[n]) {
		const char *p = name + n + 1;
		uint64_t v = 0;

		if (strncmp(p, "since=", 6) || !p[6])
			return -ENOENT;
		for (p += 6; *p; p++) {
			if (*p < '0' || *p > '9' || v > SINCE_MAX / 10)
				return -ENOENT;
			v = v * 10 + (uint64_t)(*p - '0');
		}
		if (v > SINCE_MAX)
			return -ENOENT;
		*since_plus1 = v + 1;
	}
	return 0;
}

void streams_lookup(struct lh_fs *fs, fuse_req_t req, const char *name)
{
	struct fuse_entry_param e;
	uint64_t since_plus1;
	int cls;

	if (parse_name(name, &cls, &since_plus1)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = ino_of(cls, since_plus1);
	e.generation = 1;
	attr(fs, e.ino, &e.attr);
	e.attr_timeout = 86400.0;
	e.entry_timeout = 86400.0;
	fuse_reply_entry(req, &e);
}

void streams_getattr(struct lh_fs *fs, fuse_req_t req, fuse_ino_t ino)
{
	struct stat st;

	attr(fs, ino, &st);
	fuse_reply_attr(req, &st, 86400.0);
}

void streams_dirsnap(struct lh_fs *fs, struct dirsnap *d)
{
	int k;

	(void)fs;
	for (k = 0; k < NSTREAMS; k++)
		dirsnap_add(d, defs[k].name, strlen(defs[k].name), ino_of(k, 0), S_IFREG);
}

/* ---- open and release -------------------------------------------------------------- */

static void handle_free(struct fs_open_link *l)
{
	struct shandle *h = (struct shandle *)(void *)l;

	fs_open_del(&h->link);
	lh_buf_release(&h->pending);
	free(h);
}

static void handle_put(struct streams *st, struct shandle *h)
{
	int last;

	pthread_mutex_lock(&st->mu);
	last = --h->refs == 0;
	pthread_mutex_unlock(&st->mu);
	if (last)
		handle_free(&h->link);
}

void streams_open(struct lh_fs *fs, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct streams *st = fs->streams;
	uint64_t since_plus1 = FS_INO_ID(ino) >> 4;
	struct shandle *h;

	if (!may_read(fs, req)) {
		fuse_reply_err(req, EACCES);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EACCES);
		return;
	}
	if (cls_of(ino) >= NSTREAMS) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	h = xcalloc(1, sizeof(*h));
	h->cls = cls_of(ino);
	h->nonblock = !!(fi->flags & O_NONBLOCK);
	h->refs = 1;
	lh_buf_init(&h->pending, 0);
	/*
	 * From the moment it opened, or after SEQ. A verdict is handed out at
	 * the journal, before its commit: wait for the commits of what was
	 * handed out before this open, so that none of it shows up later as
	 * if it were new. (While commits fail, sync answers at once.)
	 */
	if (!since_plus1)
		(void)lh_store_sync(fs->store);
	h->cursor = since_plus1 ? (int64_t)since_plus1 - 1 : lh_store_last_seq(fs->store);
	(void)st;
	fs_open_add(&h->link, handle_free);
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->direct_io = 1;
	fi->noflush = 1;
	if (fuse_reply_open(req, fi))
		handle_free(&h->link);
}

void streams_release(struct lh_fs *fs, fuse_req_t req, struct fuse_file_info *fi)
{
	handle_put(fs->streams, (struct shandle *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/* ---- reads ---------------------------------------------------------------------------- */

/* Caller holds mu. */
static void unpark(struct streams *st, struct sread *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		st->parked = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->next = r->prev = NULL;
}

/* Caller holds mu. */
static void park(struct streams *st, struct sread *r)
{
	r->prev = NULL;
	r->next = st->parked;
	if (st->parked)
		st->parked->prev = r;
	st->parked = r;
}

static void on_interrupt(fuse_req_t req, void *data)
{
	struct streams *st = data;
	struct sread *r;

	pthread_mutex_lock(&st->mu);
	for (r = st->parked; r; r = r->next)
		if (r->req == req)
			break;
	if (r)
		unpark(st, r);
	pthread_mutex_unlock(&st->mu);
	if (!r)
		return;		/* being answered, or answered */
	fuse_reply_err(req, EINTR);
	handle_put(st, r->h);
	free(r);
}

/* Caller holds mu: give up to r->size bytes of the pending line; NULL if none. */
static char *take_pending(struct shandle *h, size_t size, size_t *n)
{
	char *copy;

	if (!h->pending.len)
		return NULL;
	*n = h->pending.len < size ? h->pending.len : size;
	copy = xmemdup(h->pending.data, *n ? *n : 1);
	memmove(h->pending.data, h->pending.data + *n, h->pending.len - *n);
	lh_buf_setlen(&h->pending, h->pending.len - *n);
	return copy;
}

void streams_read(struct lh_fs *fs, fuse_req_t req, size_t size, struct fuse_file_info *fi)
{
	struct streams *st = fs->streams;
	struct shandle *h = (struct shandle *)(uintptr_t)fi->fh;
	struct sread *r;
	char *copy;
	size_t n;

	fuse_req_interrupt_func(req, on_interrupt, st);
	pthread_mutex_lock(&st->mu);
	copy = take_pending(h, size, &n);
	if (copy) {
		pthread_mutex_unlock(&st->mu);
		fuse_reply_buf(req, copy, n);
		free(copy);
		return;
	}
	if (h->nonblock && h->cursor >= st->newest) {
		pthread_mutex_unlock(&st->mu);
		fuse_reply_err(req, EAGAIN);
		return;
	}
	/*
	 * Interrupted before on_interrupt was registered? Then it ran at
	 * registration and found nothing. Asked under mu, the one lock
	 * on_interrupt needs: once parked, the read belongs to whoever
	 * answers it, and req must not be touched here again.
	 */
	if (fuse_req_interrupted(req)) {
		pthread_mutex_unlock(&st->mu);
		fuse_reply_err(req, EINTR);
		return;
	}
	r = xcalloc(1, sizeof(*r));
	r->req = req;
	r->h = h;
	r->size = size;
	h->refs++;
	park(st, r);
	pthread_cond_signal(&st->cv);
	pthread_mutex_unlock(&st->mu);
}

struct collect {
	struct lh_buf out;
	size_t size;
	int64_t last;			/* newest seq taken */
	struct lh_buf line;
};

static int collect_row(void *arg, const struct lh_event_row *row)
{
	struct collect *c = arg;

	lh_buf_reset(&c->line);
	lh_event_row_json(row, &c->line);
	lh_buf_addc(&c->line, '\n');
	/* whole lines while they fit; the first one even when it does not */
	if (c->out.len && c->out.len + c->line.len > c->size)
		return 1;
	lh_buf_add(&c->out, c->line.data, c->line.len);
	c->last = row->seq;
	return c->out.len >= c->size;
}

/* The streams thread: the events after r's cursor, up to newest. */
static int query(struct streams *st, int cls, int64_t cursor, int64_t newest, struct collect *c)
{
	struct lh_event_filter f;
	struct lh_buf err = LH_BUF_INIT;
	int rc;

	if (!st->reader) {
		rc = lh_store_reader_open(&st->reader, st->fs->state_dir, &err);
		if (rc) {
			if (!st->reader_failed)
				lh_err("streams/: %s", err.data);
			st->reader_failed = 1;
			lh_buf_release(&err);
			return rc;
		}
	}
	memset(&f, 0, sizeof(f));
	f.since_seq = cursor;
	f.until_seq = newest;
	f.types = defs[cls].types;
	f.limit = QUERY_ROWS;
	rc = lh_store_reader_each(st->reader, &f, collect_row, c, &err);
	if (rc)
		lh_err("streams/: %s", err.data);
	lh_buf_release(&err);
	return rc;
}

/* Caller holds mu: a parked read that may have something to read. */
static struct sread *next_ready(struct streams *st)
{
	struct sread *r;

	for (r = st->parked; r; r = r->next)
		if (r->h->cursor < st->newest)
			return r;
	return NULL;
}

static void *streams_main(void *arg)
{
	struct streams *st = arg;
	struct collect c;

	lh_buf_init(&c.out, 0);
	lh_buf_init(&c.line, 0);
	pthread_mutex_lock(&st->mu);
	while (!st->stop) {
		struct sread *r = next_ready(st);
		int64_t newest, cursor;
		int rc;

		if (!r) {
			pthread_cond_wait(&st->cv, &st->mu);
			continue;
		}
		unpark(st, r);		/* taken: an interrupt no longer finds it */
		newest = st->newest;
		cursor = r->h->cursor;
		pthread_mutex_unlock(&st->mu);

		lh_buf_reset(&c.out);
		c.size = r->size;
		c.last = cursor;
		rc = query(st, r->h->cls, cursor, newest, &c);

		pthread_mutex_lock(&st->mu);
		if (rc) {
			pthread_mutex_unlock(&st->mu);
			fuse_reply_err(r->req, EIO);
		} else if (c.out.len) {
			size_t n = c.out.len < r->size ? c.out.len : r->size;

			r->h->cursor = c.last;
			lh_buf_add(&r->h->pending, c.out.data + n, c.out.len - n);
			pthread_mutex_unlock(&st->mu);
			fuse_reply_buf(r->req, c.out.data, n);
		} else {
			/* nothing of this stream up to newest */
			r->h->cursor = newest;
			if (!r->h->nonblock && !fuse_req_interrupted(r->req)) {
				/* under mu: an interrupt from now on finds it */
				park(st, r);
				continue;
			}
			pthread_mutex_unlock(&st->mu);
			fuse_reply_err(r->req, r->h->nonblock ? EAGAIN : EINTR);
		}
		handle_put(st, r->h);
		free(r);
		pthread_mutex_lock(&st->mu);
	}
	pthread_mutex_unlock(&st->mu);
	lh_buf_release(&c.out);
	lh_buf_release(&c.line);
	return NULL;
}

/* The store's commit hook: the writer thread, after each commit. */
static void on_commit(void *arg, int64_t last_seq)
{
	struct streams *st = arg;

	pthread_mutex_lock(&st->mu);
	if (last_seq > st->newest) {
		st->newest = last_seq;
		if (st->parked)
			pthread_cond_signal(&st->cv);
	}
	pthread_mutex_unlock(&st->mu);
}

/* ---- life ---------------------------------------------------------------------------- */

struct streams *streams_new(struct lh_fs *fs)
{
	struct streams *st = xcalloc(1, sizeof(*st));
	int rc;

	st->fs = fs;
	pthread_mutex_init(&st->mu, NULL);
	pthread_cond_init(&st->cv, NULL);
	st->newest = lh_store_last_seq(fs->store);
	rc = pthread_create(&st->thread, NULL, streams_main, st);
	if (rc) {
		lh_err("cannot start the streams thread: %s", strerror(rc));
		pthread_mutex_destroy(&st->mu);
		pthread_cond_destroy(&st->cv);
		free(st);
		return NULL;
	}
	pthread_setname_np(st->thread, "lh-streams");
	lh_store_set_commit_hook(fs->store, on_commit, st);
	return st;
}

void streams_stop(struct lh_fs *fs)
{
	struct streams *st = fs->streams;

	if (!st || st->joined)
		return;
	st->joined = 1;
	pthread_mutex_lock(&st->mu);
	st->stop = 1;
	pthread_cond_signal(&st->cv);
	pthread_mutex_unlock(&st->mu);
	pthread_join(st->thread, NULL);
	/* the end of every stream: parked reads get end of file */
	for (;;) {
		struct sread *r;

		pthread_mutex_lock(&st->mu);
		r = st->parked;
		if (r)
			unpark(st, r);
		pthread_mutex_unlock(&st->mu);
		if (!r)
			break;
		fuse_reply_buf(r->req, NULL, 0);
		handle_put(st, r->h);
		free(r);
	}
}

void streams_free(struct lh_fs *fs)
{
	struct streams *st = fs->streams;

	if (!st)
		return;
	if (fs->store)
		lh_store_set_commit_hook(fs->store, NULL, NULL);	/* a failed start: the store outlives us */
	lh_store_reader_close(st->reader);
	pthread_mutex_destroy(&st->mu);
	pthread_cond_destroy(&st->cv);
	free(st);
	fs->streams = NULL;
}

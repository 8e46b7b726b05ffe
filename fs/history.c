/*
 * history.c -- history/: the project as it was after any event,
 * read-only, rebuilt from the store.
 *
 *   history/latest/       the project as recorded now
 *   history/SEQ/          ... after event SEQ (a sequence number)
 *   history/TIME/         ... after the newest event at or before TIME,
 *                         ISO 8601: 2026-11-22T10:30:00Z, with seconds,
 *                         fractions and an offset (+01:00) optional, or a
 *                         date alone (its midnight, UTC)
 *
 * Listing history/ shows latest; any SEQ or TIME may be looked up. Every
 * file, folder and link below has the mode, size, modification time and
 * content (or target) the file events left; owner and group are the
 * daemon's. Anything that would change a file fails with EROFS, and
 * reading a path the policy guards in current/ is refused the same way
 * (EACCES).
 *
 * DESIGN
 *
 * A *snapshot* is a tree (store/replay.h) rebuilt by replaying the file
 * events up to the newest file event at or before the asked sequence
 * number -- so history/120 and history/121 share one when event 121 is
 * not a file event -- and then frozen and numbered (lh_tree_index).
 * latest is a copy of the recorder's tree. The last few snapshots stay
 * cached (SNAP_CACHE): a diff -r against an old state rebuilds it once.
 *
 * A *view* is a name looked up in history/ and the snapshot it shows.
 * Inode numbers are FS_KIND_HIST | view << 32 | node index: directories
 * must have one parent, so two names of one snapshot (latest and its
 * SEQ) are two views with their own inodes. A view lives while the kernel
 * holds lookups of any of its inodes, counted all together (open files and
 * folders count too); a name finds its view again while it lives and
 * still means it: a SEQ always does, latest until the recorder records
 * something (history_changed: the kernel is told to forget the name, from
 * the recorder's thread, never from an operation). A view is
 * immutable, so the kernel caches it for a day: entries, attributes,
 * pages, listings. st_ino is the inode number, never the real file's, so
 * that diff -r does not take history/N/a and current/a for one file.
 *
 * Contents are read from the store chunk by chunk at the offset asked
 * (lh_store_reader_blob_pread), through a small pool of reader
 * connections: a 4 GB file is never in memory.
 *
 * Locks: h->mu guards views, names, the snapshot cache and the reader
 * pool; it is a leaf and is never held while a snapshot is rebuilt or a
 * reader reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "fs/fs.h"
#include "store/replay.h"
#include "store/store.h"
#include "validator/validator.h"
#include "common/banned.h"

#define TIMEOUT 86400.0
#define SNAP_CACHE 8
#define READERS 4
#define VIEW_BITS 24
#define VIEW_BUCKETS 1024

struct hsnap {
	struct lh_tree *tree;		/* frozen and indexed */
	int64_t seq;			/* the file event it ends with (latest: the recorder's) */
	int refs;			/* views and the cache; protected by h->mu */
};

struct hview {
	struct hview *next;		/* id chain; protected by h->mu */
	uint32_t id;
	char name[64];			/* the name it was looked up by */
	struct hsnap *snap;
	uint64_t nlookup;		/* the kernel's lookups of its inodes; protected by h->mu */
	int named;			/* its name still means it; protected by h->mu */
	int timeless;			/* a TIME still in the future: the name is not cached */
};

struct history {
	struct lh_fs *fs;
	pthread_mutex_t mu;
	struct hview *views[VIEW_BUCKETS];	/* protected by mu */
	uint32_t next_id;			/* protected by mu */
	struct hsnap *cache[SNAP_CACHE];	/* most recent first; protected by mu */
	struct hview *latest;			/* the view named latest; protected by mu */
	int latest_seen;			/* the kernel knows it; protected by mu */
	struct lh_store_reader *readers[READERS];	/* idle; protected by mu */
	int nreaders;				/* protected by mu */
};

/* An open file of history/. */
struct hfile {
	struct fs_open_link link;	/* first: listed while open (fs.h) */
	struct hview *view;		/* holds a lookup of the view */
	struct lh_blob_id blob;
	int has_blob;
	int64_t size;
};

static struct history *hist_of(fuse_req_t req)
{
	return ((struct lh_fs *)fuse_req_userdata(req))->hist;
}

static fuse_ino_t ino_of(const struct hview *v, uint32_t index)
{
	return FS_INO(FS_KIND_HIST, ((uint64_t)v->id << 32) | index);
}

/* ---- readers --------------------------------------------------------------------- */

static struct lh_store_reader *reader_get(struct history *h, int *err)
{
	struct lh_store_reader *r = NULL;
	struct lh_buf msg = LH_BUF_INIT;
	int rc;

	pthread_mutex_lock(&h->mu);
	if (h->nreaders)
		r = h->readers[--h->nreaders];
	pthread_mutex_unlock(&h->mu);
	if (r)
		return r;
	rc = lh_store_reader_open(&r, h->fs->state_dir, &msg);
	if (rc) {
		lh_warn("history/: cannot read the store: %s", msg.data);
		*err = -rc;
		r = NULL;
	}
	lh_buf_release(&msg);
	return r;
}

static void reader_put(struct history *h, struct lh_store_reader *r)
{
	pthread_mutex_lock(&h->mu);
	if (h->nreaders < READERS) {
		h->readers[h->nreaders++] = r;
		r = NULL;
	}
	pthread_mutex_unlock(&h->mu);
	if (r)
		lh_store_reader_close(r);
}

/* ---- snapshots ------------------------------------------------------------------- */

static void snap_put_locked(struct hsnap *s)
{
	if (s && --s->refs == 0) {
		lh_tree_free(s->tree);
		free(s);
	}
}

/* Keep s as the most recent snapshot (the cache holds a reference). */
static void cache_add_locked(struct history *h, struct hsnap *s)
{
	int k;

	snap_put_locked(h->cache[SNAP_CACHE - 1]);
	for (k = SNAP_CACHE - 1; k > 0; k--)
		h->cache[k] = h->cache[k - 1];
	h->cache[0] = s;
	s->refs++;
}

/* The snapshot ending with file event file_seq: cached, or rebuilt now. */
static int snap_get(struct history *h, int64_t file_seq, struct hsnap **out)
{
	struct lh_store_reader *r;
	struct lh_buf msg = LH_BUF_INIT;
	struct lh_tree *t = NULL;
	struct hsnap *s = NULL;
	int k, err = EIO, rc;

	pthread_mutex_lock(&h->mu);
	for (k = 0; k < SNAP_CACHE; k++)
		if (h->cache[k] && h->cache[k]->seq == file_seq && h->cache[k] != NULL) {
			s = h->cache[k];
			s->refs++;
			pthread_mutex_unlock(&h->mu);
			*out = s;
			return 0;
		}
	pthread_mutex_unlock(&h->mu);
	r = reader_get(h, &err);
	if (!r)
		return -err;
	rc = file_seq > 0 ? lh_tree_replay(r, file_seq, &t, &msg) : 0;
	if (file_seq <= 0)
		t = lh_tree_new();
	reader_put(h, r);
	if (rc) {
		lh_warn("history/: cannot replay to event %" PRId64 ": %s", file_seq, msg.data);
		lh_buf_release(&msg);
		return rc;
	}
	lh_buf_release(&msg);
	lh_tree_index(t);
	s = xcalloc(1, sizeof(*s));
	s->tree = t;
	s->seq = file_seq;
	s->refs = 1;
	pthread_mutex_lock(&h->mu);
	cache_add_locked(h, s);
	pthread_mutex_unlock(&h->mu);
	*out = s;
	return 0;
}

/* ---- names ----------------------------------------------------------------------- */

/* "2026-11-22T10:30:00Z" and its variants (see above) -> ns since 1970; -EINVAL if not one. */
static int parse_time(const char *s, int64_t *ns)
{
	struct tm tm;
	int64_t frac = 0, scale = 100000000, off = 0;
	const char *p;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%d", &tm);
	if (!p)
		return -EINVAL;
	if (*p == 'T') {
		const char *q = strptime(p + 1, "%H:%M", &tm);

		if (!q)
			return -EINVAL;
		p = q;
		if (*p == ':') {
			q = strptime(p + 1, "%S", &tm);
			if (!q)
				return -EINVAL;
			p = q;
			if (*p == '.' || *p == ',') {
				for (p++; *p >= '0' && *p <= '9'; p++) {
					frac += (*p - '0') * scale;
					scale /= 10;
				}
			}
		}
		if (*p == 'Z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int hh = 0, mm = 0, sign = *p == '-' ? -1 : 1;

			if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2 && sscanf(p + 1, "%2d%2d", &hh, &mm) != 2)
				return -EINVAL;
			off = sign * (hh * 3600 + mm * 60);
			p += strlen(p);
		} else if (*p) {
			return -EINVAL;
		}
	}
	if (*p)
		return -EINVAL;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*ns = ((int64_t)t - off) * 1000000000 + frac;
	return 0;
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static struct hview *find_view_locked(struct history *h, uint32_t id)
{
	struct hview *v;

	for (v = h->views[id % VIEW_BUCKETS]; v; v = v->next)
		if (v->id == id)
			return v;
	return NULL;
}

static struct hview *find_named_locked(struct history *h, const char *name)
{
	size_t b;
	struct hview *v;

	for (b = 0; b < VIEW_BUCKETS; b++)
		for (v = h->views[b]; v; v = v->next)
			if (v->named && !strcmp(v->name, name))
				return v;
	return NULL;
}

static void view_free_locked(struct history *h, struct hview *v)
{
	struct hview **pp;

	for (pp = &h->views[v->id % VIEW_BUCKETS]; *pp; pp = &(*pp)->next)
		if (*pp == v) {
			*pp = v->next;
			break;
		}
	if (h->latest == v)
		h->latest = NULL;
	snap_put_locked(v->snap);
	free(v);
}

static void view_unref_locked(struct history *h, struct hview *v, uint64_t n)
{
	v->nlookup = n > v->nlookup ? 0 : v->nlookup - n;
	if (!v->nlookup)
		view_free_locked(h, v);	/* the kernel forgot it: a new lookup makes a new one */
}

static struct hview *view_new_locked(struct history *h, const char *name, struct hsnap *s)
{
	struct hview *v = xcalloc(1, sizeof(*v));

	do {
		h->next_id = (h->next_id + 1) & ((1u << VIEW_BITS) - 1);
	} while (!h->next_id || find_view_locked(h, h->next_id));
	v->id = h->next_id;
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->snap = s;
	v->named = 1;
	v->next = h->views[v->id % VIEW_BUCKETS];
	h->views[v->id % VIEW_BUCKETS] = v;
	return v;
}

/* The view that name in history/ means now, created if needed, with one lookup taken. */
static int view_of_name(struct history *h, const char *name, struct hview **out)
{
	struct lh_fs *fs = h->fs;
	struct lh_store_reader *r;
	struct lh_buf msg = LH_BUF_INIT;
	struct hsnap *s = NULL;
	struct hview *v;
	int64_t seq = 0, file_seq = 0, ns = 0;
	int rc = 0, err = EIO, timeless = 0;

	pthread_mutex_lock(&h->mu);
	v = find_named_locked(h, name);
	if (v && !v->timeless) {
		if (v == h->latest)
			h->latest_seen = 1;
		v->nlookup++;
		*out = v;
		pthread_mutex_unlock(&h->mu);
		return 0;
	}
	pthread_mutex_unlock(&h->mu);
	if (!strcmp(name, "latest")) {
		struct lh_tree *t = record_tree_clone(fs);

		if (!t)
			return -ENOENT;
		lh_tree_index(t);
		s = xcalloc(1, sizeof(*s));
		s->tree = t;
		s->seq = t->seq;
		s->refs = 1;
		pthread_mutex_lock(&h->mu);
		v = h->latest;
		if (v) {
			/* another thread was quicker */
			snap_put_locked(s);
		} else {
			v = view_new_locked(h, name, s);
			h->latest = v;
		}
		h->latest_seen = 1;
		v->nlookup++;
		*out = v;
		pthread_mutex_unlock(&h->mu);
		return 0;
	}
	if (all_digits(name)) {
		if (strlen(name) > 18)
			return -ENOENT;
		seq = strtoll(name, NULL, 10);
		if (seq > lh_store_last_seq(fs->store))
			return -ENOENT;	/* not yet */
	} else if (parse_time(name, &ns) == 0) {
		timeless = ns > lh_wall_ns();
	} else {
		return -ENOENT;
	}
	r = reader_get(h, &err);
	if (!r)
		return -err;
	if (!all_digits(name))
		rc = lh_store_seq_at(r, ns, &seq, &msg);
	if (!rc)
		rc = seq > 0 ? lh_store_file_seq_at(r, seq, &file_seq, &msg) : 0;
	reader_put(h, r);
	if (rc) {
		lh_warn("history/%s: %s", name, msg.data);
		lh_buf_release(&msg);
		return rc;
	}
	lh_buf_release(&msg);
	rc = snap_get(h, file_seq, &s);
	if (rc)
		return rc;
	pthread_mutex_lock(&h->mu);
	v = find_named_locked(h, name);
	if (v && !v->timeless) {
		snap_put_locked(s);
	} else {
		if (v)
			v->named = 0;	/* a TIME that has moved on: a view of its own */
		v = view_new_locked(h, name, s);
		v->timeless = timeless;
	}
	v->nlookup++;
	*out = v;
	pthread_mutex_unlock(&h->mu);
	return 0;
}

/* The view and node of an inode of a view. */
static struct lh_tree_node *node_of(struct history *h, fuse_ino_t ino, struct hview **vout)
{
	uint64_t id = FS_INO_ID(ino);
	uint32_t vid = (uint32_t)(id >> 32), index = (uint32_t)id;
	struct hview *v;

	pthread_mutex_lock(&h->mu);
	v = find_view_locked(h, vid);
	pthread_mutex_unlock(&h->mu);
	if (!v || index >= v->snap->tree->nindex)
		return NULL;
	*vout = v;
	return v->snap->tree->by_index[index];
}

/* ---- attributes ------------------------------------------------------------------ */

static void node_attr(struct history *h, struct hview *v, const struct lh_tree_node *n,
		      struct stat *st)
{
	struct lh_fs *fs = h->fs;
	int64_t t = n->mtime_ns ? n->mtime_ns : n->time_ns ? n->time_ns : fs->started_wall;

	memset(st, 0, sizeof(*st));
	st->st_ino = ino_of(v, n->index);
	st->st_uid = fs->owner;
	st->st_gid = getgid();
	st->st_blksize = 4096;
	st->st_mtim.tv_sec = t / 1000000000;
	st->st_mtim.tv_nsec = t % 1000000000;
	st->st_atim = st->st_ctim = st->st_mtim;
	switch (n->kind) {
	case LH_TREE_DIR:
		st->st_mode = S_IFDIR | (n->mode & 07777);
		st->st_nlink = 2;
		st->st_size = 4096;
		break;
	case LH_TREE_LINK:
		st->st_mode = S_IFLNK | 0777;
		st->st_nlink = 1;
		st->st_size = n->target ? (off_t)strlen(n->target) : 0;
		break;
	default:
		st->st_mode = S_IFREG | (n->mode & 07777);
		st->st_nlink = 1;
		st->st_size = n->size > 0 ? n->size : 0;
		break;
	}
	st->st_blocks = (st->st_size + 511) / 512;
}

static void fill_entry(struct history *h, struct hview *v, const struct lh_tree_node *n,
		       struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = ino_of(v, n->index);
	e->generation = 1;
	node_attr(h, v, n, &e->attr);
	e->attr_timeout = TIMEOUT;
	e->entry_timeout = TIMEOUT;
}

/* ---- operations ------------------------------------------------------------------ */

static void h_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct history *h = hist_of(req);
	struct fuse_entry_param e;
	struct lh_tree_node *dir, *n;
	struct hview *v = NULL;
	int rc;

	if (parent == FS_INO_HISTORY) {
		rc = view_of_name(h, name, &v);		/* its lookup is taken */
		if (rc) {
			fuse_reply_err(req, -rc);
			return;
		}
		n = v->snap->tree->root;
	} else {
		/* the kernel holds the parent: its view lives through this */
		dir = node_of(h, parent, &v);
		n = dir ? lh_tree_child(dir, name) : NULL;
		if (!n) {
			memset(&e, 0, sizeof(e));
			e.entry_timeout = dir ? TIMEOUT : 0;	/* a view never grows */
			fuse_reply_entry(req, &e);
			return;
		}
		pthread_mutex_lock(&h->mu);
		v->nlookup++;
		pthread_mutex_unlock(&h->mu);
	}
	fill_entry(h, v, n, &e);
	if (parent == FS_INO_HISTORY && v->timeless)
		e.entry_timeout = 0;
	if (fuse_reply_entry(req, &e)) {
		pthread_mutex_lock(&h->mu);
		view_unref_locked(h, v, 1);
		pthread_mutex_unlock(&h->mu);
	}
}

static void forget_ino(struct history *h, fuse_ino_t ino, uint64_t n)
{
	struct hview *v;

	if (ino == FS_INO_HISTORY)
		return;
	pthread_mutex_lock(&h->mu);
	v = find_view_locked(h, (uint32_t)(FS_INO_ID(ino) >> 32));
	if (v)
		view_unref_locked(h, v, n);
	pthread_mutex_unlock(&h->mu);
}

static void h_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	forget_ino(hist_of(req), ino, nlookup);
	fuse_reply_none(req);
}

static void h_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f)
{
	size_t k;

	for (k = 0; k < count; k++)
		forget_ino(hist_of(req), f[k].ino, f[k].nlookup);
	fuse_reply_none(req);
}

static void h_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct history *h = hist_of(req);
	struct lh_tree_node *n;
	struct hview *v;
	struct stat st;

	(void)fi;
	if (ino == FS_INO_HISTORY) {
		fs_fill_attr(h->fs, ino, &st);
		fuse_reply_attr(req, &st, TIMEOUT);
		return;
	}
	n = node_of(h, ino, &v);
	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	node_attr(h, v, n, &st);
	fuse_reply_attr(req, &st, TIMEOUT);
}

static void h_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct hview *v;
	struct lh_tree_node *n = node_of(hist_of(req), ino, &v);

	if (!n || n->kind != LH_TREE_LINK || !n->target)
		fuse_reply_err(req, EINVAL);
	else
		fuse_reply_readlink(req, n->target);
}

/* Would the policy let the caller read this path in current/? */
static int may_read(struct history *h, fuse_req_t req, const struct lh_tree_node *n)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct lh_buf p = LH_BUF_INIT;
	struct fs_ident id;
	struct lh_verdict v;

	lh_buf_adds(&p, h->fs->project);
	lh_buf_addc(&p, '/');
	lh_tree_path(n, &p);
	ident_of_uid(ctx->uid, &id);
	lh_validator_judge_file(h->fs->validator, LH_FILE_READ, p.data, id.home,
				id.user[0] ? id.user : NULL, &v);
	lh_buf_release(&p);
	return v.decision == LH_DENY ? -EACCES : 0;
}

static void h_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct history *h = hist_of(req);
	struct lh_tree_node *n;
	struct hfile *f;
	struct hview *v;
	int rc;

	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	n = node_of(h, ino, &v);
	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	rc = may_read(h, req, n);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	f = xcalloc(1, sizeof(*f));
	f->view = v;
	f->has_blob = n->has_blob;
	memcpy(f->blob.b, n->blob, 16);
	f->size = n->size;
	pthread_mutex_lock(&h->mu);
	v->nlookup++;		/* the view outlives the open file */
	pthread_mutex_unlock(&h->mu);
	fs_open_add(&f->link, fs_open_free);
	fi->fh = (uint64_t)(uintptr_t)f;
	fi->keep_cache = 1;
	fi->noflush = 1;
	if (fuse_reply_open(req, fi)) {
		pthread_mutex_lock(&h->mu);
		view_unref_locked(h, v, 1);
		pthread_mutex_unlock(&h->mu);
		fs_open_free(&f->link);
	}
}

static void h_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	struct history *h = hist_of(req);
	struct hfile *f = (struct hfile *)(uintptr_t)fi->fh;
	struct lh_store_reader *r;
	char *buf;
	size_t got = 0;
	int rc = 0, err = EIO;

	(void)ino;
	if (!f->has_blob || off < 0 || off >= f->size) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if ((int64_t)size > f->size - off)
		size = (size_t)(f->size - off);
	r = reader_get(h, &err);
	if (!r) {
		fuse_reply_err(req, err);
		return;
	}
	buf = xmalloc(size ? size : 1);
	rc = lh_store_reader_blob_pread(r, &f->blob, buf, size, (uint64_t)off, &got);
	reader_put(h, r);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_buf(req, buf, got);
	free(buf);
}

static void h_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct history *h = hist_of(req);
	struct hfile *f = (struct hfile *)(uintptr_t)fi->fh;

	(void)ino;
	pthread_mutex_lock(&h->mu);
	view_unref_locked(h, f->view, 1);
	pthread_mutex_unlock(&h->mu);
	fs_open_free(&f->link);
	fuse_reply_err(req, 0);
}

/* An open folder: the view is held like an open file's. */
struct hdir {
	struct fs_open_link link;	/* first: listed while open (fs.h) */
	struct hview *view;
	struct lh_tree_node *node;	/* NULL: history/ itself */
};

static void h_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct history *h = hist_of(req);
	struct hdir *d = xcalloc(1, sizeof(*d));

	if (ino != FS_INO_HISTORY) {
		d->node = node_of(h, ino, &d->view);
		if (!d->node || d->node->kind != LH_TREE_DIR) {
			int err = d->node ? ENOTDIR : ESTALE;

			free(d);
			fuse_reply_err(req, err);
			return;
		}
		pthread_mutex_lock(&h->mu);
		d->view->nlookup++;
		pthread_mutex_unlock(&h->mu);
		fi->cache_readdir = 1;
		fi->keep_cache = 1;
	}
	fs_open_add(&d->link, fs_open_free);
	fi->fh = (uint64_t)(uintptr_t)d;
	if (fuse_reply_open(req, fi)) {
		if (d->view) {
			pthread_mutex_lock(&h->mu);
			view_unref_locked(h, d->view, 1);
			pthread_mutex_unlock(&h->mu);
		}
		fs_open_free(&d->link);
	}
}

static void readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi, int plus)
{
	struct history *h = hist_of(req);
	struct hdir *d = (struct hdir *)(uintptr_t)fi->fh;
	char *buf = xmalloc(size);
	size_t used = 0, n = d->node ? d->node->nkids + 2 : 3;
	off_t i;

	for (i = off; i >= 0 && (size_t)i < n; i++) {
		struct fuse_entry_param e;
		const struct lh_tree_node *kid = NULL;
		const char *name;
		size_t need;

		memset(&e, 0, sizeof(e));
		if (i < 2) {
			name = i ? ".." : ".";
			e.attr.st_ino = i || !d->node ? ino : ino_of(d->view, d->node->index);
			e.attr.st_mode = S_IFDIR;
		} else if (!d->node) {
			/* view 0 is never used: a number for the listing, which must not be 0 */
			name = "latest";
			e.attr.st_ino = FS_INO(FS_KIND_HIST, 0);
			e.attr.st_mode = S_IFDIR;
		} else {
			kid = d->node->kids[i - 2];
			name = kid->name;
			if (plus)
				fill_entry(h, d->view, kid, &e);
			else
				node_attr(h, d->view, kid, &e.attr);
		}
		need = plus ? fuse_add_direntry_plus(req, buf + used, size - used, name, &e, i + 1) :
			      fuse_add_direntry(req, buf + used, size - used, name, &e.attr, i + 1);
		if (need > size - used)
			break;
		if (plus && e.ino) {
			pthread_mutex_lock(&h->mu);
			d->view->nlookup++;
			pthread_mutex_unlock(&h->mu);
		}
		used += need;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void h_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	readdir_common(req, ino, size, off, fi, 0);
}

static void h_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			  struct fuse_file_info *fi)
{
	readdir_common(req, ino, size, off, fi, 1);
}

static void h_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct history *h = hist_of(req);
	struct hdir *d = (struct hdir *)(uintptr_t)fi->fh;

	(void)ino;
	if (d->view) {
		pthread_mutex_lock(&h->mu);
		view_unref_locked(h, d->view, 1);
		pthread_mutex_unlock(&h->mu);
	}
	fs_open_free(&d->link);
	fuse_reply_err(req, 0);
}

static void h_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	(void)ino;
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = sv.f_frsize = 4096;
	sv.f_namemax = 255;
	sv.f_flag = ST_RDONLY;
	fuse_reply_statfs(req, &sv);
}

/* Everything that would change history/. */
static void h_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		      struct fuse_file_info *fi)
{
	(void)ino;
	(void)attr;
	(void)to_set;
	(void)fi;
	fuse_reply_err(req, EROFS);
}

static void h_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	(void)parent;
	(void)name;
	(void)mode;
	(void)rdev;
	fuse_reply_err(req, EROFS);
}

static void h_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	(void)parent;
	(void)name;
	(void)mode;
	fuse_reply_err(req, EROFS);
}

static void h_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)parent;
	(void)name;
	fuse_reply_err(req, EROFS);
}

static void h_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	(void)link;
	(void)parent;
	(void)name;
	fuse_reply_err(req, EROFS);
}

static void h_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		     const char *newname, unsigned int flags)
{
	(void)parent;
	(void)name;
	(void)newparent;
	(void)newname;
	(void)flags;
	fuse_reply_err(req, EROFS);
}

static void h_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	(void)ino;
	(void)newparent;
	(void)newname;
	fuse_reply_err(req, EROFS);
}

static void h_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     struct fuse_file_info *fi)
{
	(void)parent;
	(void)name;
	(void)mode;
	(void)fi;
	fuse_reply_err(req, EROFS);
}

static void h_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	(void)ino;
	(void)buf;
	(void)size;
	(void)off;
	(void)fi;
	fuse_reply_err(req, EROFS);
}

static void h_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void h_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void h_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
		       size_t size, int flags)
{
	(void)ino;
	(void)name;
	(void)value;
	(void)size;
	(void)flags;
	fuse_reply_err(req, EROFS);
}

static void h_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	(void)ino;
	(void)name;
	(void)size;
	fuse_reply_err(req, ENODATA);
}

static void h_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	(void)ino;
	if (size)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_xattr(req, 0);
}

static void h_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	(void)ino;
	(void)name;
	fuse_reply_err(req, EROFS);
}

static void h_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
			struct fuse_file_info *fi)
{
	(void)ino;
	(void)mode;
	(void)offset;
	(void)length;
	(void)fi;
	fuse_reply_err(req, EROFS);
}

const struct fuse_lowlevel_ops history_ops = {
	.lookup = h_lookup,
	.forget = h_forget,
	.forget_multi = h_forget_multi,
	.getattr = h_getattr,
	.setattr = h_setattr,
	.readlink = h_readlink,
	.mknod = h_mknod,
	.mkdir = h_mkdir,
	.unlink = h_unlink,
	.rmdir = h_unlink,
	.symlink = h_symlink,
	.rename = h_rename,
	.link = h_link,
	.open = h_open,
	.read = h_read,
	.write = h_write,
	.flush = h_flush,
	.release = h_release,
	.fsync = h_fsync,
	.opendir = h_opendir,
	.readdir = h_readdir,
	.releasedir = h_releasedir,
	.fsyncdir = h_fsync,
	.statfs = h_statfs,
	.setxattr = h_setxattr,
	.getxattr = h_getxattr,
	.listxattr = h_listxattr,
	.removexattr = h_removexattr,
	.create = h_create,
	.fallocate = h_fallocate,
	.readdirplus = h_readdirplus,
};

/* ---- the recorder moved on --------------------------------------------------------- */

void history_changed(struct lh_fs *fs)
{
	struct history *h = fs->hist;
	int tell = 0;

	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	if (h->latest) {
		/* the name means the next copy now; the old view lives while held */
		h->latest->named = 0;
		if (!h->latest->nlookup)
			view_free_locked(h, h->latest);
		h->latest = NULL;
		tell = h->latest_seen;
		h->latest_seen = 0;
	}
	pthread_mutex_unlock(&h->mu);
	if (tell)
		fuse_lowlevel_notify_inval_entry(fs->se, FS_INO_HISTORY, "latest", 6);
}

void history_forget(struct lh_fs *fs, fuse_ino_t ino, uint64_t nlookup)
{
	forget_ino(fs->hist, ino, nlookup);
}

int history_new(struct lh_fs *fs, struct lh_buf *err)
{
	struct history *h = xcalloc(1, sizeof(*h));

	(void)err;
	h->fs = fs;
	pthread_mutex_init(&h->mu, NULL);
	fs->hist = h;
	return 0;
}

void history_free(struct lh_fs *fs)
{
	struct history *h = fs->hist;
	size_t b;
	int k;

	if (!h)
		return;
	for (b = 0; b < VIEW_BUCKETS; b++)
		while (h->views[b]) {
			h->views[b]->named = 0;
			view_free_locked(h, h->views[b]);
		}
	for (k = 0; k < SNAP_CACHE; k++)
		snap_put_locked(h->cache[k]);
	for (k = 0; k < h->nreaders; k++)
		lh_store_reader_close(h->readers[k]);
	pthread_mutex_destroy(&h->mu);
	free(h);
	fs->hist = NULL;
}

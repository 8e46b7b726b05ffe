/*
 * ops.c -- the FUSE low-level operations: the fixed tree of the mount and
 * the dispatch to the rooms that own the rest (reqtab.c for requests/ and
 * results/, streams.c for streams/; current*.c for current/, history.c
 * and shadows.c, each through its own operations table (room_of);
 * experts.c for experts/ and context.c for context/, through tables that
 * implement some operations only (fs_room_of)).
 *
 *   /            requests/ results/ current/ history/ shadows/ context/
 *                experts/ streams/ policy/ stats ctl
 *   policy/      active (the policy in force, read-only)
 *
 * The fixed entries never change, so the kernel may cache them for a day:
 * a path walk into requests/ costs no LOOKUP of "requests". Every reply is
 * sent exactly once; an operation we do not implement gets ENOSYS from
 * libfuse, which the kernel remembers (no repeated getxattr, access...).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "fs/fs.h"
#include "validator/validator.h"
#include "common/banned.h"

#define FIXED_TIMEOUT 86400.0

struct fixed {
	const char *name;
	fuse_ino_t ino;
	fuse_ino_t parent;
	mode_t mode;
};

static const struct fixed fixed_tree[] = {
	{ "requests", FS_INO_REQUESTS, FS_INO_ROOT, S_IFDIR | 01777 },
	{ "results", FS_INO_RESULTS, FS_INO_ROOT, S_IFDIR | 0555 },
	{ "current", FS_INO_CURRENT, FS_INO_ROOT, S_IFDIR | 0555 },
	{ "history", FS_INO_HISTORY, FS_INO_ROOT, S_IFDIR | 0555 },
	{ "shadows", FS_INO_SHADOWS, FS_INO_ROOT, S_IFDIR | 0555 },
	{ "context", FS_INO_CONTEXT, FS_INO_ROOT, S_IFDIR | 0555 },
	{ "experts", FS_INO_EXPERTS, FS_INO_ROOT, S_IFDIR | 01777 },
	{ "streams", FS_INO_STREAMS, FS_INO_ROOT, S_IFDIR | 0555 },
	{ "policy", FS_INO_POLICY, FS_INO_ROOT, S_IFDIR | 0555 },
	{ "stats", FS_INO_STATS, FS_INO_ROOT, S_IFREG | 0444 },
	{ "ctl", FS_INO_CTL, FS_INO_ROOT, S_IFREG | 0600 },
	{ "active", FS_INO_POLICY_ACTIVE, FS_INO_POLICY, S_IFREG | 0444 },
	{ "learned", FS_INO_POLICY_LEARNED, FS_INO_POLICY, S_IFREG | 0444 },
};

#define NFIXED (sizeof(fixed_tree) / sizeof(fixed_tree[0]))

static struct lh_fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void count(struct lh_fs *fs, enum fs_op op)
{
	atomic_fetch_add_explicit(&fs->stats.ops[op], 1, memory_order_relaxed);
}

/*
 * The room of experts/ and context/ (escalation): its own, or for their
 * directories of the fixed tree, the room that owns what is in them. Its
 * tables implement some operations only: callers check for NULL.
 */
const struct fuse_lowlevel_ops *fs_room_of(fuse_ino_t ino)
{
	switch (FS_INO_KIND(ino)) {
	case 0:
		return ino == FS_INO_EXPERTS ? &experts_ops : ino == FS_INO_CONTEXT ? &context_ops : NULL;
	case FS_KIND_EXPERT:
	case FS_KIND_QUEUED:
	case FS_KIND_CLAIMED:
		return &experts_ops;
	case FS_KIND_CTX:
	case FS_KIND_CTXFILE:
		return &context_ops;
	}
	return NULL;
}

/* The escalation room of an inode that is not of the fixed tree. */
static const struct fuse_lowlevel_ops *room(fuse_ino_t ino)
{
	return FS_INO_KIND(ino) ? fs_room_of(ino) : NULL;
}

/* An inode of requests/ or results/ (reqtab.c). */
static int is_dynamic(fuse_ino_t ino)
{
	uint64_t k = FS_INO_KIND(ino);

	return k == FS_KIND_REQ || k == FS_KIND_RES || k == FS_KIND_JSON;
}

/* A file of streams/ (streams.c). */
static int is_stream(fuse_ino_t ino)
{
	return FS_INO_KIND(ino) == FS_KIND_STREAM;
}

/* The room that answers every operation on an inode, or NULL: ours. */
static const struct fuse_lowlevel_ops *room_of(fuse_ino_t ino)
{
	if (ino == FS_INO_CURRENT || FS_INO_KIND(ino) == FS_KIND_CUR)
		return &current_ops;
	if (ino == FS_INO_HISTORY || FS_INO_KIND(ino) == FS_KIND_HIST)
		return &history_ops;
	if (ino == FS_INO_SHADOWS || FS_INO_KIND(ino) == FS_KIND_SHADOW)
		return &shadows_ops;
	return NULL;
}

int fs_parse_id(const char *name, unsigned bits, uint64_t *id)
{
	char *end;
	unsigned long long v;

	if (name[0] < '1' || name[0] > '9')
		return -ENOENT;
	errno = 0;
	v = strtoull(name, &end, 10);
	if (errno || *end || v >> bits)
		return -ENOENT;
	*id = v;
	return 0;
}

void fs_fill_attr(struct lh_fs *fs, fuse_ino_t ino, struct stat *st)
{
	size_t k;

	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = fs->owner;
	st->st_gid = getgid();
	st->st_atime = st->st_mtime = st->st_ctime = fs->started_wall / 1000000000;
	st->st_blksize = 4096;
	if (ino == FS_INO_ROOT) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2 + 9;
		return;
	}
	for (k = 0; k < NFIXED; k++)
		if (fixed_tree[k].ino == ino) {
			st->st_mode = fixed_tree[k].mode;
			st->st_nlink = S_ISDIR(st->st_mode) ? 2 : 1;
			return;
		}
}

static int fixed_lookup(fuse_ino_t parent, const char *name, fuse_ino_t *ino)
{
	size_t k;

	for (k = 0; k < NFIXED; k++)
		if (fixed_tree[k].parent == parent && !strcmp(fixed_tree[k].name, name)) {
			*ino = fixed_tree[k].ino;
			return 0;
		}
	return -ENOENT;
}

/* ---- directory snapshots ----------------------------------------------------- */

/* Every room's open handles (fs.h fs_open_link). open_mu is a leaf. */
static pthread_mutex_t open_mu = PTHREAD_MUTEX_INITIALIZER;
static struct fs_open_link *open_list;

void fs_open_add(struct fs_open_link *l, void (*free_fn)(struct fs_open_link *l))
{
	l->free = free_fn;
	pthread_mutex_lock(&open_mu);
	l->prev = NULL;
	l->next = open_list;
	if (open_list)
		open_list->prev = l;
	open_list = l;
	pthread_mutex_unlock(&open_mu);
}

void fs_open_del(struct fs_open_link *l)
{
	pthread_mutex_lock(&open_mu);
	if (l->prev)
		l->prev->next = l->next;
	else
		open_list = l->next;
	if (l->next)
		l->next->prev = l->prev;
	pthread_mutex_unlock(&open_mu);
}

void fs_open_free(struct fs_open_link *l)
{
	fs_open_del(l);
	free(l);
}

static void dirsnap_free_link(struct fs_open_link *l)
{
	dirsnap_release((struct dirsnap *)(void *)l);
}

void dirsnap_add(struct dirsnap *d, const char *name, size_t len, fuse_ino_t ino, mode_t type)
{
	if (!d->cap)
		fs_open_add(&d->link, dirsnap_free_link);	/* the first name: open from now on */
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 16;
		d->v = xrealloc(d->v, sizeof(*d->v) * d->cap);
	}
	d->v[d->n].name = xstrndup(name, len);
	d->v[d->n].ino = ino;
	d->v[d->n].type = type;
	d->n++;
}

void dirsnap_release(struct dirsnap *d)
{
	size_t i;

	if (!d)
		return;
	if (d->cap)
		fs_open_del(&d->link);
	for (i = 0; i < d->n; i++)
		free(d->v[i].name);
	free(d->v);
	free(d);
}

/* ---- files of the fixed tree ----------------------------------------------------- */

/*
 * An open stats, ctl or policy/active file. A reply wakes the client
 * before the handler returns: its next read, or its close (RELEASE, which
 * frees this), may be handled by another worker at once. So the ctl cursor
 * moves under `mu` before the reply, and every reply is sent from a copy
 * owned by the replying thread, never from memory RELEASE may free.
 */
struct sfile {
	struct fs_open_link link;	/* first: listed while open (fs.h) */
	pthread_mutex_t mu;
	struct lh_buf data;		/* what reads return; protected by mu */
	size_t cursor;			/* ctl: replies read so far; protected by mu */
	struct lh_buf line;		/* ctl: a command line being written; protected by mu */
	uid_t uid;			/* ctl: the opener */
};

static void sfile_free(struct sfile *f);

static void sfile_free_link(struct fs_open_link *l)
{
	sfile_free((struct sfile *)(void *)l);
}

static struct sfile *sfile_new(void)
{
	struct sfile *f = xcalloc(1, sizeof(*f));

	pthread_mutex_init(&f->mu, NULL);
	lh_buf_init(&f->data, 0);
	lh_buf_init(&f->line, 4096);
	fs_open_add(&f->link, sfile_free_link);
	return f;
}

static void sfile_free(struct sfile *f)
{
	fs_open_del(&f->link);
	lh_buf_release(&f->data);
	lh_buf_release(&f->line);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

static void do_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct lh_fs *fs = fs_of(req);
	const struct fuse_lowlevel_ops *r = room_of(parent);
	struct fuse_entry_param e;
	fuse_ino_t ino;

	if (r) {
		r->lookup(req, parent, name);
		return;
	}
	if (parent == FS_INO_REQUESTS || parent == FS_INO_RESULTS) {
		reqtab_lookup(fs, req, parent, name);
		return;
	}
	if (parent == FS_INO_STREAMS) {
		streams_lookup(fs, req, name);
		return;
	}
	if (fs_room_of(parent)) {
		fs_room_of(parent)->lookup(req, parent, name);
		return;
	}
	if (fixed_lookup(parent, name, &ino)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = ino;
	e.generation = 1;
	fs_fill_attr(fs, ino, &e.attr);
	e.attr_timeout = S_ISDIR(e.attr.st_mode) ? FIXED_TIMEOUT : 1.0;
	e.entry_timeout = FIXED_TIMEOUT;
	if (ino == FS_INO_CURRENT) {
		current_root_attr(fs, &e.attr);
		e.attr.st_ino = FS_INO_CURRENT;
		e.attr_timeout = fs->cfg.cur_attr_timeout;
	}
	fuse_reply_entry(req, &e);
}

static void do_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct lh_fs *fs = fs_of(req);
	const struct fuse_lowlevel_ops *r = room_of(ino);

	if (r) {
		r->forget(req, ino, nlookup);
		return;
	}
	if (is_dynamic(ino))
		reqtab_forget(fs, ino, nlookup);
	fuse_reply_none(req);
}

static void do_forget_multi(fuse_req_t req, size_t n, struct fuse_forget_data *v)
{
	struct lh_fs *fs = fs_of(req);
	size_t k;

	for (k = 0; k < n; k++) {
		const struct fuse_lowlevel_ops *r = room_of(v[k].ino);

		if (r == &current_ops)
			current_forget(fs, v[k].ino, v[k].nlookup);
		else if (r == &history_ops)
			history_forget(fs, v[k].ino, v[k].nlookup);
		else if (r == &shadows_ops)
			shadows_forget(fs, v[k].ino, v[k].nlookup);
		else if (is_dynamic(v[k].ino))
			reqtab_forget(fs, v[k].ino, v[k].nlookup);
	}
	fuse_reply_none(req);
}

static void do_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct lh_fs *fs = fs_of(req);
	const struct fuse_lowlevel_ops *r = room_of(ino);
	struct stat st;

	if (r) {
		r->getattr(req, ino, fi);
		return;
	}
	if (is_stream(ino)) {
		streams_getattr(fs, req, ino);
		return;
	}
	if (room(ino)) {
		room(ino)->getattr(req, ino, fi);
		return;
	}
	if (is_dynamic(ino)) {
		int rc = reqtab_getattr(fs, ino, &st);

		if (rc) {
			fuse_reply_err(req, -rc);
			return;
		}
		fuse_reply_attr(req, &st, 0);
		return;
	}
	fs_fill_attr(fs, ino, &st);
	fuse_reply_attr(req, &st, S_ISDIR(st.st_mode) ? FIXED_TIMEOUT : 1.0);
}

static void do_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct lh_fs *fs = fs_of(req);
	const struct fuse_lowlevel_ops *r = room_of(ino);
	struct stat st;

	if (r) {
		r->setattr(req, ino, attr, to_set, fi);
		return;
	}
	if (FS_INO_KIND(ino) == FS_KIND_REQ) {
		reqtab_setattr(fs, req, ino, attr, to_set, fi);
		return;
	}
	if (room(ino) && room(ino)->setattr) {
		room(ino)->setattr(req, ino, attr, to_set, fi);
		return;
	}
	if (ino == FS_INO_CTL && !(to_set & ~(FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_ATIME |
						FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW |
						FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_CTIME))) {
		/* `> ctl` truncates: nothing to truncate, commands are not stored */
		fs_fill_attr(fs, ino, &st);
		fuse_reply_attr(req, &st, 1.0);
		return;
	}
	fuse_reply_err(req, is_dynamic(ino) || is_stream(ino) ? EACCES : EPERM);
}

static int may_ctl(struct lh_fs *fs, fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	return ctx->uid == 0 || ctx->uid == fs->owner;
}

static void do_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct lh_fs *fs = fs_of(req);
	const struct fuse_lowlevel_ops *r = room_of(ino);
	struct sfile *f;
	int acc = fi->flags & O_ACCMODE;

	if (r) {
		r->open(req, ino, fi);
		return;
	}
	if (is_stream(ino)) {
		streams_open(fs, req, ino, fi);
		return;
	}
	if (room(ino)) {
		room(ino)->open(req, ino, fi);
		return;
	}
	if (is_dynamic(ino)) {
		reqtab_open(fs, req, ino, fi);
		return;
	}
	if (ino != FS_INO_STATS && ino != FS_INO_CTL && ino != FS_INO_POLICY_ACTIVE &&
	    ino != FS_INO_POLICY_LEARNED) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if (ino == FS_INO_CTL ? !may_ctl(fs, req) : acc != O_RDONLY) {
		fuse_reply_err(req, EACCES);
		return;
	}
	f = sfile_new();
	if (ino == FS_INO_STATS) {
		fs_stats_render(fs, &f->data);
	} else if (ino == FS_INO_POLICY_ACTIVE) {
		size_t len;
		char *text = lh_validator_policy_text(fs->validator, &len);

		lh_buf_add(&f->data, text, len);
		free(text);
	} else if (ino == FS_INO_POLICY_LEARNED) {
		learned_render(fs, &f->data);
	} else {
		f->uid = fuse_req_ctx(req)->uid;	/* ctl: who gives the commands */
	}
	fi->fh = (uint64_t)(uintptr_t)f;
	fi->direct_io = 1;
	fi->noflush = 1;
	if (fuse_reply_open(req, fi))
		sfile_free(f);
}

static void do_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct lh_fs *fs = fs_of(req);
	const struct fuse_lowlevel_ops *r = room_of(parent);

	if (r) {
		r->create(req, parent, name, mode, fi);
		return;
	}
	if (parent == FS_INO_REQUESTS) {
		reqtab_create(fs, req, name, mode, fi);
		return;
	}
	if (room(parent) && room(parent)->create) {
		room(parent)->create(req, parent, name, mode, fi);
		return;
	}
	fuse_reply_err(req, EACCES);
}

static void do_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct lh_fs *fs = fs_of(req);
	const struct fuse_lowlevel_ops *r = room_of(ino);
	struct sfile *f;

	if (r) {
		r->read(req, ino, size, off, fi);
		return;
	}
	if (is_stream(ino)) {
		streams_read(fs, req, size, fi);
		return;
	}
	if (room(ino)) {
		room(ino)->read(req, ino, size, off, fi);
		return;
	}
	if (is_dynamic(ino)) {
		reqtab_read(fs, req, ino, size, off, fi);
		return;
	}
	f = (struct sfile *)(uintptr_t)fi->fh;
	if (ino == FS_INO_CTL) {
		/* replies are read in order, whatever the file offset */
		char *copy;
		size_t n;

		pthread_mutex_lock(&f->mu);
		n = f->cursor < f->data.len ? f->data.len - f->cursor : 0;
		if (n > size)
			n = size;
		copy = xmemdup(f->data.data + f->cursor, n ? n : 1);
		f->cursor += n;
		pthread_mutex_unlock(&f->mu);
		fuse_reply_buf(req, copy, n);
		free(copy);
		return;
	}
	if (off < 0 || (size_t)off >= f->data.len) {
		fuse_reply_buf(req, NULL, 0);
	} else {
		size_t n = f->data.len - (size_t)off < size ? f->data.len - (size_t)off : size;
		char *copy = xmemdup(f->data.data + off, n);

		fuse_reply_buf(req, copy, n);
		free(copy);
	}
}

static void run_ctl_lines(struct lh_fs *fs, struct sfile *f, int final)
{
	for (;;) {
		char *nl = memchr(f->line.data, '\n', f->line.len);
		size_t n;

		if (!nl && !(final && f->line.len))
			return;
		n = nl ? (size_t)(nl - f->line.data) : f->line.len;
		fs_ctl_command(fs, f->uid, f->line.data, n, &f->data);
		if (nl) {
			size_t rest = f->line.len - n - 1;

			memmove(f->line.data, nl + 1, rest);
			lh_buf_setlen(&f->line, rest);
		} else {
			lh_buf_reset(&f->line);
		}
	}
}

static void do_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct lh_fs *fs = fs_of(req);
	const struct fuse_lowlevel_ops *r = room_of(ino);
	struct sfile *f;

	if (r) {
		r->write(req, ino, buf, size, off, fi);
		return;
	}
	if (room(ino)) {
		if (room(ino)->write)
			room(ino)->write(req, ino, buf, size, off, fi);
		else
			fuse_reply_err(req, EBADF);
		return;
	}
	if (is_dynamic(ino)) {
		reqtab_write(fs, req, ino, buf, size, fi);
		return;
	}
	if (ino != FS_INO_CTL) {
		fuse_reply_err(req, EBADF);
		return;
	}
	f = (struct sfile *)(uintptr_t)fi->fh;
	pthread_mutex_lock(&f->mu);
	if (lh_buf_add(&f->line, buf, size)) {
		pthread_mutex_unlock(&f->mu);
		fuse_reply_err(req, E2BIG);
		return;
	}
	/* a write holds whole commands: run them now so a read sees the answer */
	run_ctl_lines(fs, f, 1);
	pthread_mutex_unlock(&f->mu);
	fuse_reply_write(req, size);
}

static void do_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	const struct fuse_lowlevel_ops *r = room_of(ino);

	if (r) {
		r->flush(req, ino, fi);
		return;
	}
	fuse_reply_err(req, 0);
}

static void do_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct lh_fs *fs = fs_of(req);
	const struct fuse_lowlevel_ops *r = room_of(ino);

	if (r) {
		r->release(req, ino, fi);
		return;
	}
	if (is_stream(ino)) {
		streams_release(fs, req, fi);
		return;
	}
	if (room(ino)) {
		room(ino)->release(req, ino, fi);
		return;
	}
	if (is_dynamic(ino)) {
		reqtab_release(fs, req, ino, fi);
		return;
	}
	sfile_free((struct sfile *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void do_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct lh_fs *fs = fs_of(req);
	const struct fuse_lowlevel_ops *r = room_of(ino);
	struct dirsnap *d;
	size_t k;

	if (r) {
		r->opendir(req, ino, fi);
		return;
	}
	if (fs_room_of(ino)) {
		/* the room makes the listing; readdir and releasedir are these below */
		fs_room_of(ino)->opendir(req, ino, fi);
		return;
	}
	if (is_dynamic(ino) || is_stream(ino)) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	d = xcalloc(1, sizeof(*d));
	dirsnap_add(d, ".", 1, ino, S_IFDIR);
	dirsnap_add(d, "..", 2, FS_INO_ROOT, S_IFDIR);
	if (ino == FS_INO_REQUESTS || ino == FS_INO_RESULTS) {
		reqtab_dirsnap(fs, ino, d);
	} else if (ino == FS_INO_STREAMS) {
		streams_dirsnap(fs, d);
	} else {
		for (k = 0; k < NFIXED; k++)
			if (fixed_tree[k].parent == ino)
				dirsnap_add(d, fixed_tree[k].name, strlen(fixed_tree[k].name),
					    fixed_tree[k].ino, fixed_tree[k].mode & S_IFMT);
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	if (fuse_reply_open(req, fi))
		dirsnap_release(d);
}

void dirsnap_reply(fuse_req_t req, struct dirsnap *d, size_t size, off_t off, int plus)
{
	char *buf = xmalloc(size);
	size_t used = 0;
	off_t i;

	for (i = off; i >= 0 && (size_t)i < d->n; i++) {
		struct fuse_entry_param e;
		size_t need;

		/* plus: names only (ino 0), the kernel looks them up as before */
		memset(&e, 0, sizeof(e));
		e.attr.st_ino = d->v[i].ino;
		e.attr.st_mode = d->v[i].type;
		if (plus)
			need = fuse_add_direntry_plus(req, buf + used, size - used, d->v[i].name, &e,
						      i + 1);
		else
			need = fuse_add_direntry(req, buf + used, size - used, d->v[i].name, &e.attr,
						 i + 1);
		if (need > size - used)
			break;
		used += need;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	const struct fuse_lowlevel_ops *r = room_of(ino);

	if (r) {
		r->readdir(req, ino, size, off, fi);
		return;
	}
	dirsnap_reply(req, (struct dirsnap *)(uintptr_t)fi->fh, size, off, 0);
}

static void do_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	const struct fuse_lowlevel_ops *r = room_of(ino);

	if (r) {
		r->readdirplus(req, ino, size, off, fi);
		return;
	}
	dirsnap_reply(req, (struct dirsnap *)(uintptr_t)fi->fh, size, off, 1);
}

static void do_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	const struct fuse_lowlevel_ops *r = room_of(ino);

	if (r) {
		r->releasedir(req, ino, fi);
		return;
	}
	dirsnap_release((struct dirsnap *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void do_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct lh_fs *fs = fs_of(req);
	const struct fuse_lowlevel_ops *r = room_of(parent);

	if (r) {
		r->unlink(req, parent, name);
		return;
	}
	if (parent == FS_INO_REQUESTS || parent == FS_INO_RESULTS) {
		reqtab_unlink(fs, req, parent, name);
		return;
	}
	if (fs_room_of(parent) && fs_room_of(parent)->unlink) {
		fs_room_of(parent)->unlink(req, parent, name);
		return;
	}
	fuse_reply_err(req, EPERM);
}

/*
 * The operations only rooms implement. The fixed tree and requests/ refuse
 * them with an error other than ENOSYS: the kernel takes ENOSYS as "this
 * filesystem never does that" and would stop asking for current/ too.
 */
static void do_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	const struct fuse_lowlevel_ops *r = room_of(parent);

	if (r)
		r->mkdir(req, parent, name, mode);
	else if (fs_room_of(parent) && fs_room_of(parent)->mkdir)
		fs_room_of(parent)->mkdir(req, parent, name, mode);
	else
		fuse_reply_err(req, EPERM);
}

static void do_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     dev_t rdev)
{
	const struct fuse_lowlevel_ops *r = room_of(parent);

	if (r)
		r->mknod(req, parent, name, mode, rdev);
	else
		fuse_reply_err(req, EPERM);
}

static void do_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	const struct fuse_lowlevel_ops *r = room_of(parent);

	if (r)
		r->rmdir(req, parent, name);
	else if (fs_room_of(parent) && fs_room_of(parent)->rmdir)
		fs_room_of(parent)->rmdir(req, parent, name);
	else
		fuse_reply_err(req, EPERM);
}

static void do_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	const struct fuse_lowlevel_ops *r = room_of(parent);

	if (r && r == room_of(newparent))
		r->rename(req, parent, name, newparent, newname, flags);
	else if (r || room_of(newparent))
		fuse_reply_err(req, EXDEV);
	else if (fs_room_of(parent) && fs_room_of(parent)->rename)
		fs_room_of(parent)->rename(req, parent, name, newparent, newname, flags);	/* a claim */
	else
		fuse_reply_err(req, EPERM);
}

static void do_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	const struct fuse_lowlevel_ops *r = room_of(newparent);

	if (r && r == room_of(ino))
		r->link(req, ino, newparent, newname);
	else
		fuse_reply_err(req, r || room_of(ino) ? EXDEV : EPERM);
}

static void do_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	const struct fuse_lowlevel_ops *r = room_of(parent);

	if (r)
		r->symlink(req, link, parent, name);
	else
		fuse_reply_err(req, EPERM);
}

static void do_readlink(fuse_req_t req, fuse_ino_t ino)
{
	const struct fuse_lowlevel_ops *r = room_of(ino);

	if (r)
		r->readlink(req, ino);
	else
		fuse_reply_err(req, EINVAL);
}

static void do_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	const struct fuse_lowlevel_ops *r = room_of(ino);

	if (r)
		r->fsync(req, ino, datasync, fi);
	else
		fuse_reply_err(req, 0);
}

static void do_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	const struct fuse_lowlevel_ops *r = room_of(ino);

	if (r)
		r->fsyncdir(req, ino, datasync, fi);
	else
		fuse_reply_err(req, 0);
}

static void do_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	const struct fuse_lowlevel_ops *r = room_of(ino);

	if (r)
		r->setxattr(req, ino, name, value, size, flags);
	else
		fuse_reply_err(req, ENOTSUP);
}

static void do_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	const struct fuse_lowlevel_ops *r = room_of(ino);

	if (r)
		r->getxattr(req, ino, name, size);
	else
		fuse_reply_err(req, ENODATA);
}

static void do_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	const struct fuse_lowlevel_ops *r = room_of(ino);

	if (r)
		r->listxattr(req, ino, size);
	else if (size)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_xattr(req, 0);
}

static void do_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	const struct fuse_lowlevel_ops *r = room_of(ino);

	if (r)
		r->removexattr(req, ino, name);
	else
		fuse_reply_err(req, ENOTSUP);
}

static void do_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
			 struct fuse_file_info *fi)
{
	const struct fuse_lowlevel_ops *r = room_of(ino);

	if (r)
		r->fallocate(req, ino, mode, offset, length, fi);
	else
		fuse_reply_err(req, EOPNOTSUPP);
}

static void do_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			       struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
			       struct fuse_file_info *fi_out, size_t len, int flags)
{
	const struct fuse_lowlevel_ops *r = room_of(ino_out);

	/* EXDEV: the kernel copies through read and write instead */
	if (r && r == room_of(ino_in) && r->copy_file_range)
		r->copy_file_range(req, ino_in, off_in, fi_in, ino_out, off_out, fi_out, len, flags);
	else
		fuse_reply_err(req, EXDEV);
}

static void do_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		     struct fuse_file_info *fi)
{
	const struct fuse_lowlevel_ops *r = room_of(ino);

	/* SEEK_DATA and SEEK_HOLE only; EOPNOTSUPP makes cp copy plainly */
	if (r && r->lseek)
		r->lseek(req, ino, off, whence, fi);
	else
		fuse_reply_err(req, EOPNOTSUPP);
}

static void do_statfs(fuse_req_t req, fuse_ino_t ino)
{
	const struct fuse_lowlevel_ops *r = room_of(ino);
	struct statvfs sv;

	if (r) {
		r->statfs(req, ino);
		return;
	}
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_namemax = 255;
	fuse_reply_statfs(req, &sv);
}

/*
 * Every operation is counted and its handler timed (stats.c): the thin
 * wrappers below do it around the do_* handlers. The handler may have
 * replied (and libfuse freed req) by the time it returns: the wrapper
 * takes what it needs from req before the call.
 */
#define TIMED(name, op, params, args)					\
	static void lh_##name params					\
	{								\
		struct lh_fs *fs_ = fs_of(req);				\
		int64_t t0_ = lh_mono_ns();				\
									\
		count(fs_, op);						\
		do_##name args;						\
		fs_stats_op(fs_, op, t0_);				\
	}

TIMED(lookup, OP_LOOKUP, (fuse_req_t req, fuse_ino_t parent, const char *name), (req, parent, name))
TIMED(forget, OP_FORGET, (fuse_req_t req, fuse_ino_t ino, uint64_t nlookup), (req, ino, nlookup))
TIMED(forget_multi, OP_FORGET, (fuse_req_t req, size_t n, struct fuse_forget_data *v), (req, n, v))
TIMED(getattr, OP_GETATTR, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi), (req, ino, fi))
TIMED(setattr, OP_SETATTR, (fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi), (req, ino, attr, to_set, fi))
TIMED(open, OP_OPEN, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi), (req, ino, fi))
TIMED(create, OP_CREATE, (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi), (req, parent, name, mode, fi))
TIMED(read, OP_READ, (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi), (req, ino, size, off, fi))
TIMED(write, OP_WRITE, (fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off, struct fuse_file_info *fi), (req, ino, buf, size, off, fi))
TIMED(flush, OP_FLUSH, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi), (req, ino, fi))
TIMED(release, OP_RELEASE, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi), (req, ino, fi))
TIMED(opendir, OP_OPENDIR, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi), (req, ino, fi))
TIMED(readdir, OP_READDIR, (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi), (req, ino, size, off, fi))
TIMED(releasedir, OP_RELEASEDIR, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi), (req, ino, fi))
TIMED(unlink, OP_UNLINK, (fuse_req_t req, fuse_ino_t parent, const char *name), (req, parent, name))
TIMED(statfs, OP_STATFS, (fuse_req_t req, fuse_ino_t ino), (req, ino))
TIMED(readdirplus, OP_READDIRPLUS, (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi), (req, ino, size, off, fi))
TIMED(mkdir, OP_MKDIR, (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode), (req, parent, name, mode))
TIMED(mknod, OP_MKNOD, (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev), (req, parent, name, mode, rdev))
TIMED(rmdir, OP_RMDIR, (fuse_req_t req, fuse_ino_t parent, const char *name), (req, parent, name))
TIMED(rename, OP_RENAME, (fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent, const char *newname, unsigned int flags), (req, parent, name, newparent, newname, flags))
TIMED(link, OP_LINK, (fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname), (req, ino, newparent, newname))
TIMED(symlink, OP_SYMLINK, (fuse_req_t req, const char *link, fuse_ino_t parent, const char *name), (req, link, parent, name))
TIMED(readlink, OP_READLINK, (fuse_req_t req, fuse_ino_t ino), (req, ino))
TIMED(fsync, OP_FSYNC, (fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi), (req, ino, datasync, fi))
TIMED(fsyncdir, OP_FSYNC, (fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi), (req, ino, datasync, fi))
TIMED(setxattr, OP_SETXATTR, (fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size, int flags), (req, ino, name, value, size, flags))
TIMED(getxattr, OP_GETXATTR, (fuse_req_t req, fuse_ino_t ino, const char *name, size_t size), (req, ino, name, size))
TIMED(listxattr, OP_LISTXATTR, (fuse_req_t req, fuse_ino_t ino, size_t size), (req, ino, size))
TIMED(removexattr, OP_REMOVEXATTR, (fuse_req_t req, fuse_ino_t ino, const char *name), (req, ino, name))
TIMED(fallocate, OP_FALLOCATE, (fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length, struct fuse_file_info *fi), (req, ino, mode, offset, length, fi))
TIMED(copy_file_range, OP_COPY_FILE_RANGE, (fuse_req_t req, fuse_ino_t ino_in, off_t off_in, struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out, struct fuse_file_info *fi_out, size_t len, int flags), (req, ino_in, off_in, fi_in, ino_out, off_out, fi_out, len, flags))
TIMED(lseek, OP_LSEEK, (fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info *fi), (req, ino, off, whence, fi))

static void lh_init(void *userdata, struct fuse_conn_info *conn)
{
	struct lh_fs *fs = userdata;

	fs->max_write = conn->max_write;
	/* parallel lookups and readdirs in one directory: many agents, one requests/ */
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/*
	 * Our files change under the kernel only where we say so: the
	 * virtual files never behind its back, current/ through the
	 * notifier's invalidations (current_watch.c). No writeback cache: a
	 * write reaches the real file (and the change its record) when it is
	 * made, and requests/ is read as written.
	 */
	conn->want &= ~(unsigned)FUSE_CAP_AUTO_INVAL_DATA;
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
	/*
	 * The kernel clears set-user-ID and set-group-ID bits itself when an
	 * unprivileged caller writes or truncates (it asks us to change the
	 * mode): the daemon, often root, would keep them.
	 */
	conn->want &= ~(unsigned)FUSE_CAP_HANDLE_KILLPRIV;
	/* symbolic links of current/ in the page cache; the notifier drops them */
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	/* reads of current/ go from the real file to the kernel without a copy */
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE | (conn->capable & FUSE_CAP_SPLICE_MOVE);
	/*
	 * Locks are the kernel's (no flock, getlk or setlk operations): flock
	 * and POSIX locks on current/ exclude each other among all users of
	 * the mount, with the exact semantics of a local filesystem -- a
	 * close releases at once. Passed to the real files they could not:
	 * a POSIX lock's owner is a process, which the daemon cannot be for
	 * its callers, and RELEASE, which would drop a flock, comes after
	 * close() has returned. They do not exclude processes working on
	 * the real directory directly.
	 */
}

const struct fuse_lowlevel_ops lh_fs_ops = {
	.init = lh_init,
	.lookup = lh_lookup,
	.forget = lh_forget,
	.forget_multi = lh_forget_multi,
	.getattr = lh_getattr,
	.setattr = lh_setattr,
	.readlink = lh_readlink,
	.mknod = lh_mknod,
	.mkdir = lh_mkdir,
	.unlink = lh_unlink,
	.rmdir = lh_rmdir,
	.symlink = lh_symlink,
	.rename = lh_rename,
	.link = lh_link,
	.open = lh_open,
	.create = lh_create,
	.read = lh_read,
	.write = lh_write,
	.flush = lh_flush,
	.release = lh_release,
	.opendir = lh_opendir,
	.readdir = lh_readdir,
	.releasedir = lh_releasedir,
	.statfs = lh_statfs,
	.fsync = lh_fsync,
	.fsyncdir = lh_fsyncdir,
	.setxattr = lh_setxattr,
	.getxattr = lh_getxattr,
	.listxattr = lh_listxattr,
	.removexattr = lh_removexattr,
	.fallocate = lh_fallocate,
	.readdirplus = lh_readdirplus,
	.copy_file_range = lh_copy_file_range,
	.lseek = lh_lseek,
};

void ops_free_open(void)
{
	while (open_list)
		open_list->free(open_list);
}

/*
 * current.c -- current/: the project directory, read-write, passed
 * through to the real files.
 *
 * DESIGN
 *
 * Every operation reaches the real inode by descriptor: each node (see
 * current.h) holds an O_PATH | O_NOFOLLOW descriptor, names are resolved
 * one component at a time with openat(parent, name, O_NOFOLLOW), and
 * operations that need a real open (open, truncate, chmod, xattrs) go
 * through /proc/self/fd/N of the node, which names the inode itself, not
 * a path. So the daemon never follows a symbolic link, and a rename in
 * the project while an operation runs cannot send it elsewhere. A
 * symbolic link is only ever read (readlink) and handed to the kernel,
 * which resolves it for the caller, with the caller's rights, as it would
 * on the real directory.
 *
 * Permissions: the mount has default_permissions, so the kernel checks
 * every access against the attributes we report -- the real file's mode,
 * owner and group, with the caller's own groups -- before the request
 * reaches us, exactly as it checks them on the real directory (sticky
 * directories, chmod by the owner only, and so on). The daemon, often
 * root, then performs the operation; what it creates it gives to the
 * caller (fchownat), keeping the group a set-group-ID directory imposes.
 * POSIX ACLs are not enforced by the kernel on a FUSE mount without
 * posix_acl: only the mode bits count (the ACL mask is the group bits,
 * so an ACL can only make the mount stricter than the real directory).
 *
 * The policy guards file I/O (policy_check): creating, writing,
 * truncating, changing the mode, owner, times or extended attributes,
 * renaming onto or away from, and deleting a path is judged as the Write
 * tool on that path would be; opening for reading as the Read tool. A deny
 * is EACCES; ask is not a file operation's to ask, so it allows (the
 * agent's tool call was asked about before it ran).
 *
 * Kernel caching: entries, negative entries and attributes are cached
 * for -o current_entry_timeout / current_attr_timeout seconds; file pages
 * are kept across opens (keep_cache) and directory listings are cached by
 * the kernel (cache_readdir). That is only right because the kernel
 * learns of every change: the ones made through the mount it sees
 * itself, and the ones made behind our back the notifier
 * (current_watch.c) sees with inotify and turns into
 * fuse_lowlevel_notify_inval_inode / _entry calls for exactly the
 * inodes and names that changed, from its own thread -- never from inside
 * an operation, where the kernel holds the locks those calls need.
 *
 * Directories are listed as they are read (readdir(3) on the real
 * directory, its d_off as our offset), one reply buffer at a time, so a
 * directory of 100 000 entries is never in memory whole; READDIRPLUS
 * looks each entry up as it goes, so that `ls -l` or `find -type` need no
 * LOOKUP of their own. File contents stream: a READ is answered from the
 * real descriptor (spliced when the kernel allows), a WRITE written at its
 * offset.
 *
 * The mount point itself, when it lies inside the project, is hidden from
 * current/: listing it would make every walk of current/ recurse into
 * the mount forever.
 *
 * Locks: cur->mu (the node table and the nodes' counts) is a leaf lock;
 * no system call that could reach the FUSE mount and no reply is made
 * while holding it. (One system call is made under it: fgetxattr of an
 * open handle's real file, which the lock keeps from being closed.)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "fs/current.h"
#include "validator/validator.h"
#include "common/banned.h"

/* An open file of current/ (fi->fh). */
struct chandle {
	struct fs_open_link link;	/* first: listed while open (fs.h) */
	int fd;				/* the real file, opened as the caller asked */
	char *path;			/* its path when opened, NULL unknown ... */
	uint64_t path_gen;		/* ... valid while cur->name_gen is this */
	uint64_t wgen;			/* the node's wgen after its last change through
					   it (recorded at its release), 0 none */
	int created;			/* this handle's CREATE made the file */
	struct rec_who who;		/* who opened it, then who wrote first */
};

/* An open directory of current/ (fi->fh). */
struct cdir {
	struct fs_open_link link;	/* first: listed while open (fs.h) */
	DIR *dp;
	off_t offset;			/* where dp stands */
	struct dirent *entry;		/* read from dp, not yet sent */
};

static struct current *cur_of(fuse_req_t req)
{
	return ((struct lh_fs *)fuse_req_userdata(req))->cur;
}

static void proc_path(char out[64], int fd)
{
	snprintf(out, 64, "/proc/self/fd/%d", fd);
}

/* ---- reaching inodes: descriptors while they last, then handles ------------- */

/* r becomes the handle of the inode fd is open on (any descriptor): 0, or -1 (none here). */
static int take_handle(struct current *cur, struct cref *r, int fd)
{
	struct {
		struct file_handle h;
		unsigned char bytes[MAX_HANDLE_SZ];
	} fh;
	int mount_id;

	fh.h.handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(fd, "", &fh.h, &mount_id, AT_EMPTY_PATH) || mount_id != cur->mount_id)
		return -1;
	r->fh = xmemdup(&fh, sizeof(fh.h) + fh.h.handle_bytes);
	r->fd = -1;
	return 0;
}

void cur_ref_set(struct current *cur, struct cref *r, int fd, int dir)
{
	r->fh = NULL;
	r->fd = fd;
	if (atomic_fetch_add(&cur->fds_kept, 1) < (dir ? cur->dir_budget : cur->fd_budget) ||
	    !cur->handles)
		return;
	atomic_fetch_sub(&cur->fds_kept, 1);
	if (take_handle(cur, r, fd)) {
		atomic_fetch_add(&cur->fds_kept, 1);	/* keep it after all, over budget */
		return;
	}
	close(fd);
}

/*
 * Past the budget, a new inode's reference can be its handle straight
 * away: taken from any descriptor open on it (fd stays the caller's).
 * 0, or -1 when under the budget or without handles (keep a descriptor).
 */
static int ref_set_handle(struct current *cur, struct cref *r, int fd)
{
	if (!cur->handles || atomic_load(&cur->fds_kept) < cur->fd_budget)
		return -1;
	return take_handle(cur, r, fd);
}

int cur_ref_get(struct current *cur, const struct cref *r)
{
	int fd;

	if (r->fd >= 0)
		return r->fd;
	fd = open_by_handle_at(cur->mount_fd, r->fh, O_PATH | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

void cur_ref_put(const struct cref *r, int fd)
{
	if (fd >= 0 && fd != r->fd)
		close(fd);
}

void cur_ref_clear(struct current *cur, struct cref *r)
{
	if (r->fd >= 0) {
		close(r->fd);
		atomic_fetch_sub(&cur->fds_kept, 1);
	}
	free(r->fh);
	r->fd = -1;
	r->fh = NULL;
}

/* ---- the node table ---------------------------------------------------------- */

static size_t bucket_of(const struct current *cur, dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)ino * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)dev * 0xC2B2AE3D27D4EB4Full);

	return (size_t)(h ^ (h >> 31)) & (cur->nbuckets - 1);
}

static struct cnode *find_locked(struct current *cur, dev_t dev, ino_t ino)
{
	struct cnode *n;

	for (n = cur->table[bucket_of(cur, dev, ino)]; n; n = n->hnext)
		if (n->ino == ino && n->dev == dev)
			return n;
	return NULL;
}

static void grow_locked(struct current *cur)
{
	size_t old = cur->nbuckets, k;
	struct cnode **ot = cur->table;

	cur->nbuckets = old * 2;
	cur->table = xcalloc(cur->nbuckets, sizeof(*cur->table));
	for (k = 0; k < old; k++) {
		struct cnode *n = ot[k], *next;

		for (; n; n = next) {
			size_t b = bucket_of(cur, n->dev, n->ino);

			next = n->hnext;
			n->hnext = cur->table[b];
			cur->table[b] = n;
		}
	}
	free(ot);
}

static void insert_locked(struct current *cur, struct cnode *n)
{
	size_t b;

	if (cur->nnodes >= cur->nbuckets)
		grow_locked(cur);
	b = bucket_of(cur, n->dev, n->ino);
	n->hnext = cur->table[b];
	cur->table[b] = n;
	cur->nnodes++;
	atomic_fetch_add_explicit(&cur->stats.nodes, 1, memory_order_relaxed);
}

/* Out of the table, if it is there (a stale node left it already: live_node_locked). */
static void unhash_locked(struct current *cur, struct cnode *n)
{
	struct cnode **pp = &cur->table[bucket_of(cur, n->dev, n->ino)];

	while (*pp && *pp != n)
		pp = &(*pp)->hnext;
	if (!*pp)
		return;
	*pp = n->hnext;
	n->hnext = NULL;
	cur->nnodes--;
}

/* A node goes: out of the table and of the count. */
static void remove_locked(struct current *cur, struct cnode *n)
{
	unhash_locked(cur, n);
	atomic_fetch_sub_explicit(&cur->stats.nodes, 1, memory_order_relaxed);
}

struct cnode *cur_node(struct current *cur, fuse_ino_t ino)
{
	if (ino == FS_INO_CURRENT)
		return cur->root;
	return (struct cnode *)(uintptr_t)FS_INO_ID(ino);
}

fuse_ino_t cur_nodeid(struct current *cur, const struct cnode *n)
{
	if (n == cur->root)
		return FS_INO_CURRENT;
	return FS_INO(FS_KIND_CUR, (uint64_t)(uintptr_t)n);
}

/* Take n out of the table if nothing holds it; called with mu held. Free it after. */
static struct cnode *unused_locked(struct current *cur, struct cnode *n)
{
	if (n->nlookup || n->refs || n == cur->root)
		return NULL;
	remove_locked(cur, n);
	return n;
}

static void free_node(struct current *cur, struct cnode *n)
{
	if (!n)
		return;
	cur_ref_clear(cur, &n->ref);
	free(n->path);
	free(n);
}

static void forget_one(struct current *cur, struct cnode *n, uint64_t count)
{
	struct cnode *dead;

	pthread_mutex_lock(&cur->mu);
	n->nlookup = count > n->nlookup ? 0 : n->nlookup - count;
	dead = unused_locked(cur, n);
	pthread_mutex_unlock(&cur->mu);
	free_node(cur, dead);
}

struct cnode *cur_find_ref(struct current *cur, dev_t dev, ino_t ino)
{
	struct cnode *n;

	pthread_mutex_lock(&cur->mu);
	n = find_locked(cur, dev, ino);
	if (n)
		n->refs++;
	pthread_mutex_unlock(&cur->mu);
	return n;
}

void cur_unref(struct current *cur, struct cnode *n)
{
	struct cnode *dead;

	pthread_mutex_lock(&cur->mu);
	n->refs--;
	dead = unused_locked(cur, n);
	pthread_mutex_unlock(&cur->mu);
	free_node(cur, dead);
}

/*
 * The node of the inode st describes, if there is one: it gains a lookup.
 * Only a node that holds a descriptor counts: it keeps the inode alive,
 * so no other inode can have its number. (A node reached by handle may
 * stand for an inode deleted since, whose number is in use again.)
 */
static struct cnode *node_again(struct current *cur, const struct stat *st)
{
	struct cnode *n;

	pthread_mutex_lock(&cur->mu);
	n = find_locked(cur, st->st_dev, st->st_ino);
	if (n && n->ref.fd >= 0 && (n->type == (st->st_mode & S_IFMT)))
		n->nlookup++;
	else
		n = NULL;
	pthread_mutex_unlock(&cur->mu);
	return n;
}

struct handle_buf {
	struct file_handle h;
	unsigned char bytes[MAX_HANDLE_SZ];
};

static int same_handle(const struct file_handle *a, const struct file_handle *b)
{
	return a->handle_type == b->handle_type && a->handle_bytes == b->handle_bytes &&
	       !memcmp(a->f_handle, b->f_handle, a->handle_bytes);
}

/*
 * The node in the table for st's inode, with one more lookup, or NULL.
 * A node that holds a descriptor keeps its inode alive, so that no other
 * inode has its number; one reached by handle may stand for an inode
 * deleted since, whose number the file system gave to a new one (ext4
 * does so at once). Such a node is compared by handle with the inode
 * we have (*h; taken from fd the first time one is needed: the mutex
 * is let go meanwhile, so this returns NULL with *retry set, and the
 * caller looks again). A stale node leaves the table: it lives on for
 * the kernel's lookups, as a deleted inode does, but the number is the
 * new inode's. Called with cur->mu held.
 */
static struct cnode *live_node_locked(struct current *cur, const struct stat *st, int fd,
				      const struct file_handle **h, struct handle_buf *buf,
				      int *retry)
{
	struct cnode *n = find_locked(cur, st->st_dev, st->st_ino);
	int mount_id;

	*retry = 0;
	if (n && n->ref.fd < 0 && n->ref.fh) {
		if (!*h) {
			pthread_mutex_unlock(&cur->mu);
			buf->h.handle_bytes = MAX_HANDLE_SZ;
			if (fd >= 0 && name_to_handle_at(fd, "", &buf->h, &mount_id, AT_EMPTY_PATH) == 0)
				*h = &buf->h;
			pthread_mutex_lock(&cur->mu);
			if (*h) {
				*retry = 1;
				return NULL;
			}
			/* no handle to compare with: as before, the number decides */
			n = find_locked(cur, st->st_dev, st->st_ino);
		} else if (!same_handle(n->ref.fh, *h)) {
			unhash_locked(cur, n);
			atomic_fetch_add_explicit(&cur->stats.stale_nodes, 1, memory_order_relaxed);
			n = NULL;
		}
	}
	if (n)
		n->nlookup++;
	return n;
}

/*
 * The node of the inode `fd` is open on (an O_PATH descriptor we own):
 * an existing node gains a lookup and fd is closed; else fd becomes the
 * new node's. A new node is complete (its reference settled, a directory
 * watched) before other threads can find it in the table.
 */
static struct cnode *node_make(struct current *cur, int fd, const struct cref *ready,
			       const struct stat *st)
{
	const struct file_handle *h = ready ? ready->fh : NULL;
	struct handle_buf buf;
	struct cnode *n, *fresh;
	int retry;

	pthread_mutex_lock(&cur->mu);
	do
		n = live_node_locked(cur, st, fd, &h, &buf, &retry);
	while (retry);
	pthread_mutex_unlock(&cur->mu);
	if (n) {
		if (ready)
			free(ready->fh);
		else
			close(fd);
		return n;
	}
	fresh = xcalloc(1, sizeof(*fresh));
	fresh->open_fd = -1;
	fresh->dev = st->st_dev;
	fresh->ino = st->st_ino;
	fresh->type = st->st_mode & S_IFMT;
	fresh->nlookup = 1;
	fresh->known_ctime = st->st_ctim;
	if (ready) {
		fresh->ref = *ready;
	} else {
		if (S_ISDIR(st->st_mode))
			cur_watch_dir(cur, st->st_dev, st->st_ino, fd);
		cur_ref_set(cur, &fresh->ref, fd, S_ISDIR(st->st_mode));
	}
	/* fd is fresh's now, or closed for its handle */
	if (!h)
		h = fresh->ref.fh;
	pthread_mutex_lock(&cur->mu);
	do
		n = live_node_locked(cur, st, fresh->ref.fd, &h, &buf, &retry);
	while (retry);
	if (!n)
		insert_locked(cur, fresh);
	pthread_mutex_unlock(&cur->mu);
	if (n) {
		free_node(cur, fresh);	/* another thread was quicker */
		return n;
	}
	return fresh;
}

static struct cnode *node_of_fd(struct current *cur, int fd, const struct stat *st)
{
	return node_make(cur, fd, NULL, st);
}

/* The same, for a regular file whose reference is a handle already (ref_set_handle). */
static struct cnode *node_of_handle(struct current *cur, const struct cref *ref,
				    const struct stat *st)
{
	return node_make(cur, -1, ref, st);
}

static int is_hidden(const struct current *cur, const struct cnode *dir, const char *name)
{
	return cur->mp_name && dir->ino == cur->mp_parent_ino && dir->dev == cur->mp_parent_dev &&
	       !strcmp(name, cur->mp_name);
}

static void fill_entry(struct current *cur, struct cnode *n, const struct stat *st,
		       struct fuse_entry_param *e)
{
	struct lh_fs *fs = cur->fs;

	memset(e, 0, sizeof(*e));
	e->ino = cur_nodeid(cur, n);
	e->generation = 1;
	e->attr = *st;
	e->attr_timeout = fs->cfg.cur_attr_timeout;
	e->entry_timeout = fs->cfg.cur_entry_timeout;
}

static void learn_path(struct current *cur, struct cnode *dir, struct cnode *child, const char *name,
		       uint64_t dir_gen, uint64_t name_gen);

/* Look `name` up in `dir`: a node with one more lookup, and its entry. */
static int lookup_name(struct current *cur, struct cnode *dir, const char *name,
		       struct fuse_entry_param *e)
{
	struct stat st;
	struct cnode *n;
	int fd, dfd;
	uint64_t dgen = atomic_load(&cur->dir_gen), ngen = atomic_load(&cur->name_gen);

	if (is_hidden(cur, dir, name))
		return -ENOENT;
	dfd = cur_ref_get(cur, &dir->ref);
	if (dfd < 0)
		return dfd;
	/*
	 * A stat first: a missing name (most lookups of a build are) costs
	 * less so, and an inode that has a node already needs no descriptor
	 * of its own.
	 */
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW)) {
		int rc = -errno;

		cur_ref_put(&dir->ref, dfd);
		return rc;
	}
	n = node_again(cur, &st);
	if (n) {
		cur_ref_put(&dir->ref, dfd);
		learn_path(cur, dir, n, name, dgen, ngen);
		fill_entry(cur, n, &st, e);
		return 0;
	}
	fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	cur_ref_put(&dir->ref, dfd);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	n = node_of_fd(cur, fd, &st);
	learn_path(cur, dir, n, name, dgen, ngen);
	fill_entry(cur, n, &st, e);
	return 0;
}

/* ---- paths and the policy -------------------------------------------------------- */

#define DELETED " (deleted)"

/*
 * The absolute path of the inode fd is open on, as /proc/self/fd tells.
 * The kernel names an inode whose name was unlinked "PATH (deleted)" (it
 * may have other names still): that is no path of it, -ENOENT, unless a
 * file of that very name is this inode.
 */
static int fd_path(int fd, char *buf, size_t size)
{
	char link[64];
	struct stat a, b;
	ssize_t len;

	proc_path(link, fd);
	len = readlink(link, buf, size - 1);
	if (len < 0)
		return -errno;
	if (len == 0 || buf[0] != '/')
		return -ENOENT;
	buf[len] = '\0';
	if ((size_t)len > sizeof(DELETED) - 1 && !strcmp(buf + len - (sizeof(DELETED) - 1), DELETED) &&
	    (fstat(fd, &a) || lstat(buf, &b) || a.st_dev != b.st_dev || a.st_ino != b.st_ino))
		return -ENOENT;
	return 0;
}

int cur_relpath(struct current *cur, int fd, const char *name, char *out, size_t n)
{
	char buf[PATH_MAX];
	const char *rel;
	int rc = fd_path(fd, buf, sizeof(buf)), w;

	if (rc)
		return rc;
	if (strncmp(buf, cur->project, cur->project_len) ||
	    (buf[cur->project_len] && buf[cur->project_len] != '/'))
		return -ENOENT;		/* moved out of the project */
	rel = buf + cur->project_len;
	if (*rel == '/')
		rel++;
	if (name)
		w = snprintf(out, n, "%s%s%s", rel, *rel ? "/" : "", name);
	else
		w = snprintf(out, n, "%s", rel);
	return w < 0 || (size_t)w >= n ? -ENAMETOOLONG : 0;
}

/* Who asks, for the record. */
static void who_of(fuse_req_t req, struct rec_who *w)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	record_who(((struct lh_fs *)fuse_req_userdata(req)), ctx->uid, ctx->gid, ctx->pid, w);
}

void cur_paths_moved(struct current *cur, int dirs)
{
	atomic_fetch_add(&cur->name_gen, 1);
	if (dirs)
		atomic_fetch_add(&cur->dir_gen, 1);
}

static uint64_t path_gen_of(struct current *cur, const struct cnode *n)
{
	return atomic_load(S_ISDIR(n->type) ? &cur->dir_gen : &cur->name_gen);
}

/* n's path (fd open on it), from the cache while it is valid; /name appended. */
static int node_relpath(struct current *cur, struct cnode *n, int fd, const char *name, char *out,
			size_t size)
{
	uint64_t gen = path_gen_of(cur, n);
	char base[PATH_MAX];
	int hit = 0, rc, w;

	pthread_mutex_lock(&cur->mu);
	if (n->path && n->path_gen == gen) {
		snprintf(base, sizeof(base), "%s", n->path);
		hit = 1;
	}
	pthread_mutex_unlock(&cur->mu);
	if (!hit) {
		/* gen was read first: a move during the readlink makes this stale, not wrong */
		rc = cur_relpath(cur, fd, NULL, base, sizeof(base));
		if (rc)
			return rc;
		pthread_mutex_lock(&cur->mu);
		free(n->path);
		n->path = xstrdup(base);
		n->path_gen = gen;
		pthread_mutex_unlock(&cur->mu);
	}
	if (name)
		w = snprintf(out, size, "%s%s%s", base, base[0] ? "/" : "", name);
	else
		w = snprintf(out, size, "%s", base);
	return w < 0 || (size_t)w >= size ? -ENAMETOOLONG : 0;
}

/* A child found by name in a folder whose path is known: its path is known too. */
static void learn_path(struct current *cur, struct cnode *dir, struct cnode *child, const char *name,
		       uint64_t dir_gen, uint64_t name_gen)
{
	pthread_mutex_lock(&cur->mu);
	if (dir->path && dir->path_gen == dir_gen && (!child->path || child->path_gen !=
	    (S_ISDIR(child->type) ? dir_gen : name_gen))) {
		size_t len = strlen(dir->path) + strlen(name) + 2;

		free(child->path);
		child->path = xmalloc(len);
		snprintf(child->path, len, "%s%s%s", dir->path, dir->path[0] ? "/" : "", name);
		child->path_gen = S_ISDIR(child->type) ? dir_gen : name_gen;
	}
	pthread_mutex_unlock(&cur->mu);
}

/* Where fd's inode is, absolute, /name appended; -ENOENT when it has no name (deleted). */
static int real_path(int fd, const char *name, char *out, size_t n)
{
	char buf[PATH_MAX];
	int rc = fd_path(fd, buf, sizeof(buf)), w;

	if (rc)
		return rc;
	w = name ? snprintf(out, n, "%s/%s", buf, name) : snprintf(out, n, "%s", buf);
	return w < 0 || (size_t)w >= n ? -ENAMETOOLONG : 0;
}

/*
 * Judge a file operation `op` on dir/name (or on the node itself, name
 * NULL) against the policy. 0, or -EACCES when the policy denies it (and
 * the denial is recorded). The path judged, relative to the project, is
 * left in rel (for the record), "" with *known 0 when it has none (the
 * inode is gone).
 */
static int policy_check(struct current *cur, fuse_req_t req, enum lh_file_access acc,
			struct cnode *n, int fd, const char *name, const char *op, char *rel,
			size_t relsize, int *known)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct lh_fs *fs = cur->fs;
	struct fs_ident id;
	struct lh_verdict v;
	struct rec_who who;
	char abs[PATH_MAX + 8];
	int rc;

	*known = 0;
	rc = node_relpath(cur, n, fd, name, rel, relsize);
	if (rc == -ENAMETOOLONG) {
		rel[0] = '\0';
		return rc;
	}
	if (rc) {
		/*
		 * Not in the project now: moved out of it behind our back (a
		 * caller's cwd can still be in it) or deleted. Nothing the
		 * record can name -- counted, not silent -- but the policy
		 * judges where it really is: a write there is a write.
		 */
		rel[0] = '\0';
		if (acc == LH_FILE_WRITE)
			atomic_fetch_add_explicit(&cur->stats.unnamed, 1, memory_order_relaxed);
		rc = real_path(fd, name, abs, sizeof(abs));
		if (rc)
			return rc == -ENAMETOOLONG ? rc : 0;	/* deleted: the operation meets that */
	} else {
		*known = 1;
		snprintf(abs, sizeof(abs), "%s%s%s", cur->project, rel[0] ? "/" : "", rel);
	}
	ident_of_uid(ctx->uid, &id);
	lh_validator_judge_file(fs->validator, acc, abs, id.home, id.user[0] ? id.user : NULL, &v);
	if (v.decision != LH_DENY)
		return 0;
	atomic_fetch_add_explicit(&cur->stats.denied, 1, memory_order_relaxed);
	who_of(req, &who);
	record_denied(fs, &who, *known ? rel : abs, op, v.rule, v.reason);
	return -EACCES;
}

/* ---- who owns what we create ---------------------------------------------------- */

/*
 * Give a new inode (fd: O_PATH or open on it) to the caller, as the real
 * directory would have: the caller's uid, and its gid unless the parent
 * directory is set-group-ID. Only root can; a daemon of one user creates
 * that user's files already. 1 if the inode changed, 0 if it needed
 * nothing, or -errno.
 */
static int give_to_caller(fuse_req_t req, int pfd, int fd, mode_t mode)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	static uid_t euid = (uid_t)-2;
	struct stat pst;
	gid_t gid = ctx->gid;

	if (euid == (uid_t)-2)
		euid = geteuid();	/* the daemon's, for good: a benign race to fill it */
	if (euid != 0 || (ctx->uid == 0 && ctx->gid == 0))
		return 0;
	if (fstat(pfd, &pst) == 0 && (pst.st_mode & S_ISGID))
		gid = (gid_t)-1;
	if (fchownat(fd, "", ctx->uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return -errno;
	if (S_ISREG(mode) && (mode & (S_ISUID | S_ISGID))) {
		char p[64];

		/* chown cleared them */
		proc_path(p, fd);
		if (chmod(p, mode & 07777))
			return -errno;
	}
	return 1;
}

/* ---- marking our own changes -------------------------------------------------------- */

static void busy_begin(struct current *cur, struct cnode *n)
{
	pthread_mutex_lock(&cur->mu);
	n->busy++;
	n->began++;
	pthread_mutex_unlock(&cur->mu);
}

/* h changed n: its RELEASE records the content. Called with cur->mu held. */
static void changed_by_locked(struct cnode *n, struct chandle *h)
{
	h->wgen = ++n->wgen;
	n->writer = h;
}

static void changed_by(struct current *cur, struct cnode *n, struct chandle *h)
{
	pthread_mutex_lock(&cur->mu);
	changed_by_locked(n, h);
	pthread_mutex_unlock(&cur->mu);
}

/* A handle h of n opened on the real descriptor h->fd (not O_PATH); wrote: changed n already. */
static void handle_opened(struct current *cur, struct cnode *n, struct chandle *h, int wrote)
{
	pthread_mutex_lock(&cur->mu);
	if (n->open_fd < 0)
		n->open_fd = h->fd;
	if (wrote)
		changed_by_locked(n, h);
	pthread_mutex_unlock(&cur->mu);
}

/* ... and about to be closed. */
static void handle_closing(struct current *cur, struct cnode *n, struct chandle *h)
{
	pthread_mutex_lock(&cur->mu);
	if (n->open_fd == h->fd)
		n->open_fd = -1;
	if (n->writer == h)
		n->writer = NULL;
	pthread_mutex_unlock(&cur->mu);
}

/* Whether n holds changes of a handle other than self that are not recorded yet. */
static int pending_locked(const struct cnode *n, const struct chandle *self)
{
	return n->wgen != n->rgen && n->writer && n->writer != self;
}

/* Wait until no record of n's content is on its way to the queue. Called with cur->mu held. */
static void wait_settled_locked(struct current *cur, struct cnode *n)
{
	while (n->settling)
		pthread_cond_wait(&cur->settled, &cur->mu);
}

/*
 * A record of n's content up to change g was read (it, NULL if none):
 * queue it, unless a RELEASE or take_pending that ran meanwhile recorded
 * that much already -- then this read may have met the truncation that
 * followed that record. Either way exactly one of them is queued. The
 * caller holds cur->ns, so that records queue in the order of the names.
 *
 * Between taking rgen and the queue the record is `settling`: RELEASE and
 * an unlink hold cur->ns both for reading, and an unlink that found
 * nothing pending (rgen taken) must not queue its delete before this
 * content is in the queue -- the delete of a path the record does not
 * have yet is nothing, and the content after it a file that lives on in
 * history (git's tmp_obj_*, linked to the object's name and unlinked
 * right after its close: 1 in 10 000). So take_pending waits for it, and
 * so does the next settle of n, which keeps n's records in their order.
 */
static void settle(struct current *cur, struct cnode *n, uint64_t g, struct rec_item *it)
{
	int taken;

	pthread_mutex_lock(&cur->mu);
	wait_settled_locked(cur, n);
	taken = n->rgen >= g;
	if (!taken) {
		n->rgen = g;
		n->settling++;
	}
	pthread_mutex_unlock(&cur->mu);
	if (taken) {
		record_item_drop(it);
		return;
	}
	record_item_queue(cur->fs, it);
	pthread_mutex_lock(&cur->mu);
	if (!--n->settling)
		pthread_cond_broadcast(&cur->settled);
	pthread_mutex_unlock(&cur->mu);
}

/*
 * Before a change of n that does not come through the handle that changed
 * it last (self: the handle making it, NULL for a change by path, a
 * rename or an unlink): record what that handle left, now. Its RELEASE,
 * which would have, may come later than this change -- close() does not
 * wait for it -- and would then take this change's content for its own:
 * `echo a > f; echo b > f` lost "a" once in fifty. A content up to the
 * snapshot size (record.c) is read now; a bigger one is read by the
 * recorder when it comes to it. The caller holds cur->ns (for the path).
 */
static void take_pending(struct current *cur, struct cnode *n, const struct chandle *self)
{
	struct rec_item *it = NULL;
	struct rec_who who;
	char rel[PATH_MAX], p[64];
	const char *path = NULL;
	uint64_t g;
	int fd, rfd;

	if (!S_ISREG(n->type))
		return;
	pthread_mutex_lock(&cur->mu);
	if (!pending_locked(n, self)) {
		/* recorded, or on its way: in the queue before what follows */
		wait_settled_locked(cur, n);
		pthread_mutex_unlock(&cur->mu);
		return;
	}
	who = n->writer->who;
	if (n->writer->path && n->writer->path_gen == atomic_load(&cur->name_gen)) {
		snprintf(rel, sizeof(rel), "%s", n->writer->path);
		path = rel;
	}
	g = n->wgen;
	pthread_mutex_unlock(&cur->mu);
	fd = cur_ref_get(cur, &n->ref);
	if (fd < 0)
		return;
	if (!path && node_relpath(cur, n, fd, NULL, rel, sizeof(rel)) == 0)
		path = rel;
	if (path) {
		proc_path(p, fd);
		rfd = open(p, O_RDONLY | O_CLOEXEC);
		it = record_content_take(cur->fs, &who, path, n->dev, n->ino, rfd);
		if (rfd >= 0)
			close(rfd);
	}
	cur_ref_put(&n->ref, fd);
	settle(cur, n, g, it);
}

/* take_pending for a caller that does not hold cur->ns: taken only when needed. */
static void take_pending_ns(struct current *cur, struct cnode *n, const struct chandle *self)
{
	int p;

	pthread_mutex_lock(&cur->mu);
	p = pending_locked(n, self);
	if (!p)
		wait_settled_locked(cur, n);
	pthread_mutex_unlock(&cur->mu);
	if (p) {
		pthread_rwlock_rdlock(&cur->ns);
		take_pending(cur, n, self);
		pthread_rwlock_unlock(&cur->ns);
	}
}

/*
 * Before h's first change of n (a write, an allocation, a copy into it):
 * the changes of another writer go first (`echo a > f; echo b >> f`).
 */
static void first_change(struct current *cur, struct cnode *n, struct chandle *h)
{
	if (!h->wgen)
		take_pending_ns(cur, n, h);
}

/*
 * The change is done: remember the ctime it left (st may be NULL: look);
 * h, when not NULL, made it (changed_by).
 */
static void busy_end_by(struct current *cur, struct cnode *n, const struct stat *st,
			struct chandle *h)
{
	struct stat own;
	int fd = st ? -1 : cur_ref_get(cur, &n->ref);

	if (fd >= 0 && fstat(fd, &own) == 0)
		st = &own;
	cur_ref_put(&n->ref, fd);
	pthread_mutex_lock(&cur->mu);
	n->busy--;
	if (st)
		n->known_ctime = st->st_ctim;
	if (h)
		changed_by_locked(n, h);
	pthread_mutex_unlock(&cur->mu);
}

static void busy_end(struct current *cur, struct cnode *n, const struct stat *st)
{
	busy_end_by(cur, n, st, NULL);
}

/* ---- operations ------------------------------------------------------------------ */

static void c_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct current *cur = cur_of(req);
	struct fuse_entry_param e;
	int rc = lookup_name(cur, cur_node(cur, parent), name, &e);

	if (rc == -ENOENT) {
		/* a negative entry: the notifier drops it if the name appears */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = cur->fs->cfg.cur_entry_timeout;
		fuse_reply_entry(req, &e);
		return;
	}
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (fuse_reply_entry(req, &e))
		forget_one(cur, cur_node(cur, e.ino), 1);
}

static void c_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct current *cur = cur_of(req);

	forget_one(cur, cur_node(cur, ino), nlookup);
	fuse_reply_none(req);
}

static void c_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *v)
{
	struct current *cur = cur_of(req);
	size_t k;

	for (k = 0; k < count; k++)
		forget_one(cur, cur_node(cur, v[k].ino), v[k].nlookup);
	fuse_reply_none(req);
}

static void c_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct current *cur = cur_of(req);
	struct cnode *n = cur_node(cur, ino);
	struct stat st;
	int fd, rc;

	/* an open file answers for itself, even once its name is gone */
	if (fi && !S_ISDIR(n->type)) {
		rc = fstat(((struct chandle *)(uintptr_t)fi->fh)->fd, &st) ? errno : 0;
	} else {
		fd = cur_ref_get(cur, &n->ref);
		rc = fd < 0 ? -fd : fstat(fd, &st) ? errno : 0;
		cur_ref_put(&n->ref, fd);
	}
	if (rc)
		fuse_reply_err(req, rc);
	else
		fuse_reply_attr(req, &st, cur->fs->cfg.cur_attr_timeout);
}

static int set_times(struct cnode *n, int nfd, int fd, const struct stat *attr, int valid)
{
	struct timespec tv[2];
	char p[64];

	tv[0].tv_sec = tv[1].tv_sec = 0;
	tv[0].tv_nsec = tv[1].tv_nsec = UTIME_OMIT;
	if (valid & FUSE_SET_ATTR_ATIME_NOW)
		tv[0].tv_nsec = UTIME_NOW;
	else if (valid & FUSE_SET_ATTR_ATIME)
		tv[0] = attr->st_atim;
	if (valid & FUSE_SET_ATTR_MTIME_NOW)
		tv[1].tv_nsec = UTIME_NOW;
	else if (valid & FUSE_SET_ATTR_MTIME)
		tv[1] = attr->st_mtim;
	if (fd >= 0)
		return futimens(fd, tv) ? -errno : 0;
	if (S_ISLNK(n->type)) {
		/* no race-free way to set a link's times but through its parent */
		if (utimensat(nfd, "", tv, AT_EMPTY_PATH) == 0)
			return 0;
		return errno == EINVAL ? -EPERM : -errno;
	}
	proc_path(p, nfd);
	return utimensat(AT_FDCWD, p, tv, 0) ? -errno : 0;
}

static void c_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid,
		      struct fuse_file_info *fi)
{
	struct current *cur = cur_of(req);
	struct cnode *n = cur_node(cur, ino);
	struct chandle *h = fi ? (struct chandle *)(uintptr_t)fi->fh : NULL;
	int fd = h ? h->fd : -1, nfd;
	struct stat st;
	char p[64], rel[PATH_MAX];
	int rc, known;

	nfd = cur_ref_get(cur, &n->ref);
	if (nfd < 0) {
		fuse_reply_err(req, -nfd);
		return;
	}
	pthread_rwlock_rdlock(&cur->ns);
	rc = policy_check(cur, req, LH_FILE_WRITE, n, nfd, NULL,
			  valid & FUSE_SET_ATTR_SIZE ? "truncate" :
			  valid & FUSE_SET_ATTR_MODE ? "chmod" :
			  valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID) ? "chown" : "utimes",
			  rel, sizeof(rel), &known);
	if (rc)
		goto out;
	proc_path(p, nfd);
	if (valid & FUSE_SET_ATTR_SIZE)
		take_pending(cur, n, h);
	busy_begin(cur, n);
	if (valid & FUSE_SET_ATTR_MODE) {
		rc = fd >= 0 ? fchmod(fd, attr->st_mode & 07777) : chmod(p, attr->st_mode & 07777);
		if (rc) {
			rc = -errno;
			goto out_busy;
		}
	}
	if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		uid_t uid = valid & FUSE_SET_ATTR_UID ? attr->st_uid : (uid_t)-1;
		gid_t gid = valid & FUSE_SET_ATTR_GID ? attr->st_gid : (gid_t)-1;

		if (fchownat(nfd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) {
			rc = -errno;
			goto out_busy;
		}
	}
	if (valid & FUSE_SET_ATTR_SIZE) {
		rc = fd >= 0 ? ftruncate(fd, attr->st_size) : truncate(p, attr->st_size);
		if (rc) {
			rc = -errno;
			goto out_busy;
		}
	}
	if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW |
		     FUSE_SET_ATTR_MTIME_NOW)) {
		rc = set_times(n, nfd, fd, attr, valid);
		if (rc)
			goto out_busy;
	}
	rc = fstat(nfd, &st) ? -errno : 0;
out_busy:
	busy_end(cur, n, rc ? NULL : &st);
	/* through an open file: recorded with the content at its release */
	if (!rc && h && (valid & (FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_MTIME |
				  FUSE_SET_ATTR_MTIME_NOW)))
		changed_by(cur, n, h);
	if (!rc && known && !h) {
		struct rec_who who;

		/* a change through an open file is recorded at its release */
		who_of(req, &who);
		if (valid & FUSE_SET_ATTR_SIZE)
			record_content(cur->fs, &who, rel, open(p, O_RDONLY | O_CLOEXEC));
		else
			record_state(cur->fs, &who, rel, fcntl(nfd, F_DUPFD_CLOEXEC, 0));
	}
out:
	pthread_rwlock_unlock(&cur->ns);
	cur_ref_put(&n->ref, nfd);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, cur->fs->cfg.cur_attr_timeout);
}

static void c_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct current *cur = cur_of(req);
	struct cnode *n = cur_node(cur, ino);
	char buf[PATH_MAX + 1];
	int fd = cur_ref_get(cur, &n->ref);
	ssize_t len;

	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	len = readlinkat(fd, "", buf, sizeof(buf));
	cur_ref_put(&n->ref, fd);
	if (len < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	if ((size_t)len == sizeof(buf)) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	buf[len] = '\0';
	fuse_reply_readlink(req, buf);
}

/*
 * The operations that make, remove or move names share a frame: the
 * directory's descriptor, the policy's judgment of dir/name, the hidden
 * mount point, and the expectation of the notifier's event.
 */
struct namedop {
	struct current *cur;
	struct cnode *dir;
	int dfd;
	const char *name;
	char path[PATH_MAX];		/* dir/name relative to the project, for the record */
	int known;			/* path is known */
	int locked;			/* holds cur->ns for reading */
	struct rec_who who;
};

static int namedop_begin(struct namedop *o, fuse_req_t req, fuse_ino_t parent, const char *name,
			 const char *op, int hidden_err)
{
	int rc;

	o->cur = cur_of(req);
	o->dir = cur_node(o->cur, parent);
	o->name = name;
	o->known = 0;
	o->locked = 0;
	if (strcmp(op, "rename")) {
		/* a rename takes the lock for writing around both its names */
		pthread_rwlock_rdlock(&o->cur->ns);
		o->locked = 1;
	}
	who_of(req, &o->who);
	o->dfd = cur_ref_get(o->cur, &o->dir->ref);
	if (o->dfd < 0)
		return o->dfd;
	rc = policy_check(o->cur, req, LH_FILE_WRITE, o->dir, o->dfd, name, op, o->path, sizeof(o->path),
			  &o->known);
	if (!rc && is_hidden(o->cur, o->dir, name))
		rc = hidden_err;
	return rc;
}

static void namedop_end(struct namedop *o)
{
	if (o->dfd >= 0)
		cur_ref_put(&o->dir->ref, o->dfd);
	o->dfd = -1;
	if (o->locked)
		pthread_rwlock_unlock(&o->cur->ns);
	o->locked = 0;
}

/*
 * Unlinking or renaming a name changes its inode's ctime too: the node of
 * dir/name, if the kernel holds one, is busy meanwhile and learns the new
 * ctime after (victim_end), so that the notifier takes none of it for an
 * outside change.
 */
static struct cnode *victim_begin(struct namedop *o, int unlink)
{
	struct stat st;
	struct cnode *n;

	if (fstatat(o->dfd, o->name, &st, AT_SYMLINK_NOFOLLOW))
		return NULL;
	n = cur_find_ref(o->cur, st.st_dev, st.st_ino);
	if (!n)
		return NULL;
	/* what it holds was written under this name: recorded so, before it moves or goes */
	take_pending(o->cur, n, NULL);
	if (unlink && st.st_nlink <= 1 && !S_ISDIR(st.st_mode)) {
		cur_unref(o->cur, n);
		return NULL;	/* its last name goes: no event can name it after */
	}
	busy_begin(o->cur, n);
	return n;
}

static void victim_end(struct namedop *o, struct cnode *n)
{
	if (!n)
		return;
	busy_end(o->cur, n, NULL);
	cur_unref(o->cur, n);
}

/*
 * The end of every operation that makes a name: give the new inode to the
 * caller, look it up and answer with its entry.
 */
static void reply_made(struct namedop *o, fuse_req_t req, mode_t mode)
{
	struct current *cur = o->cur;
	struct fuse_entry_param e;
	int rc = lookup_name(cur, o->dir, o->name, &e), fd;
	struct cnode *n;

	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	n = cur_node(cur, e.ino);
	fd = cur_ref_get(cur, &n->ref);
	rc = fd < 0 ? fd : 0;
	busy_begin(cur, n);
	if (!rc)
		rc = give_to_caller(req, o->dfd, fd, mode);
	if (rc > 0)
		rc = fstat(fd, &e.attr) ? -errno : 0;
	busy_end(cur, n, rc ? NULL : &e.attr);
	if (!rc && o->known)
		record_state(cur->fs, &o->who, o->path, fcntl(fd, F_DUPFD_CLOEXEC, 0));
	cur_ref_put(&n->ref, fd);
	if (rc) {
		forget_one(cur, n, 1);
		fuse_reply_err(req, -rc);
		return;
	}
	if (fuse_reply_entry(req, &e))
		forget_one(cur, n, 1);
}

static void c_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	struct namedop o;
	int rc = namedop_begin(&o, req, parent, name, "mknod", -EEXIST);

	if (!rc) {
		cur_expect(o.cur, o.dir, name, 1);
		rc = mknodat(o.dfd, name, mode, rdev) ? -errno : 0;
		if (rc)
			cur_expect_cancel(o.cur, o.dir, name, 1);
	}
	if (rc)
		fuse_reply_err(req, -rc);
	else
		reply_made(&o, req, mode);
	namedop_end(&o);
}

static void c_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct namedop o;
	int rc = namedop_begin(&o, req, parent, name, "mkdir", -EEXIST);

	if (!rc) {
		cur_expect(o.cur, o.dir, name, 1);
		rc = mkdirat(o.dfd, name, mode) ? -errno : 0;
		if (rc)
			cur_expect_cancel(o.cur, o.dir, name, 1);
	}
	if (rc)
		fuse_reply_err(req, -rc);
	else
		reply_made(&o, req, S_IFDIR | mode);
	namedop_end(&o);
}

static void c_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct namedop o;
	int rc = namedop_begin(&o, req, parent, name, "symlink", -EEXIST);

	if (!rc) {
		cur_expect(o.cur, o.dir, name, 1);
		rc = symlinkat(link, o.dfd, name) ? -errno : 0;
		if (rc)
			cur_expect_cancel(o.cur, o.dir, name, 1);
	}
	if (rc)
		fuse_reply_err(req, -rc);
	else
		reply_made(&o, req, S_IFLNK | 0777);
	namedop_end(&o);
}

static void c_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct namedop o;
	struct cnode *n;
	struct fuse_entry_param e;
	char p[64];
	int rc = namedop_begin(&o, req, newparent, newname, "link", -EEXIST), fd = -1;

	if (rc)
		goto out;
	n = cur_node(o.cur, ino);
	fd = cur_ref_get(o.cur, &n->ref);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	proc_path(p, fd);
	cur_expect(o.cur, o.dir, newname, 1);
	busy_begin(o.cur, n);
	rc = linkat(AT_FDCWD, p, o.dfd, newname, AT_SYMLINK_FOLLOW) ? -errno : 0;
	busy_end(o.cur, n, NULL);
	if (!rc && o.known) {
		char rel[PATH_MAX];

		/* the name it had: the recorder learns the file has two (links.h) */
		if (S_ISREG(n->type) && node_relpath(o.cur, n, fd, NULL, rel, sizeof(rel)) == 0)
			record_state(o.cur->fs, &o.who, rel, fcntl(fd, F_DUPFD_CLOEXEC, 0));
		record_state(o.cur->fs, &o.who, o.path, fcntl(fd, F_DUPFD_CLOEXEC, 0));
	}
	cur_ref_put(&n->ref, fd);
	if (rc) {
		cur_expect_cancel(o.cur, o.dir, newname, 1);
		goto out;
	}
	rc = lookup_name(o.cur, o.dir, newname, &e);
	if (rc)
		goto out;
	namedop_end(&o);
	if (fuse_reply_entry(req, &e))
		forget_one(o.cur, cur_node(o.cur, e.ino), 1);
	return;
out:
	namedop_end(&o);
	fuse_reply_err(req, -rc);
}

static void c_unlink_common(fuse_req_t req, fuse_ino_t parent, const char *name, int flags)
{
	struct namedop o;
	struct cnode *victim;
	int rc = namedop_begin(&o, req, parent, name, flags ? "rmdir" : "unlink",
			       flags ? -EBUSY : -EISDIR);

	if (!rc) {
		victim = victim_begin(&o, !flags);
		cur_expect(o.cur, o.dir, name, 1);
		cur_paths_moved(o.cur, flags != 0);
		rc = unlinkat(o.dfd, name, flags) ? -errno : 0;
		if (rc)
			cur_expect_cancel(o.cur, o.dir, name, 1);
		else if (o.known)
			record_delete(o.cur->fs, &o.who, o.path);
		victim_end(&o, victim);
	}
	namedop_end(&o);
	fuse_reply_err(req, -rc);
}

static void c_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	c_unlink_common(req, parent, name, 0);
}

static void c_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	c_unlink_common(req, parent, name, AT_REMOVEDIR);
}

static void c_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		     const char *newname, unsigned int flags)
{
	struct namedop from, to;
	struct cnode *moved, *replaced;
	int rc, events = flags & RENAME_EXCHANGE ? 2 : 1;

	to.dfd = -1;
	to.locked = 0;
	pthread_rwlock_wrlock(&cur_of(req)->ns);
	rc = namedop_begin(&from, req, parent, name, "rename", -EBUSY);
	if (!rc)
		rc = namedop_begin(&to, req, newparent, newname, "rename", -EBUSY);
	if (rc)
		goto out;
	moved = victim_begin(&from, 0);
	replaced = victim_begin(&to, 0);
	if (replaced == moved && moved) {
		/* two names of one inode: one reference is enough */
		busy_end(to.cur, replaced, NULL);
		cur_unref(to.cur, replaced);
		replaced = NULL;
	}
	cur_expect(from.cur, from.dir, name, events);
	cur_expect(to.cur, to.dir, newname, events);
	{
		struct stat st;

		/* before the move: an operation that overlaps it must not trust its cache */
		cur_paths_moved(from.cur, (flags & RENAME_EXCHANGE) ||
				(fstatat(from.dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
				 S_ISDIR(st.st_mode)));
	}
	rc = renameat2(from.dfd, name, to.dfd, newname, flags) ? -errno : 0;
	if (rc) {
		cur_expect_cancel(from.cur, from.dir, name, events);
		cur_expect_cancel(to.cur, to.dir, newname, events);
	} else if (from.known && to.known) {
		int fd = openat(to.dfd, newname, O_PATH | O_NOFOLLOW | O_CLOEXEC);

		if (flags & RENAME_EXCHANGE) {
			/* each path has the other's state now: not a move for either */
			record_state(from.cur->fs, &from.who, to.path, fd);
			record_state(from.cur->fs, &from.who, from.path,
				     openat(from.dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC));
		} else {
			record_rename(from.cur->fs, &from.who, from.path, to.path, fd);
		}
	}
	victim_end(&from, moved);
	victim_end(&to, replaced);
out:
	namedop_end(&from);
	if (to.dfd >= 0)
		namedop_end(&to);
	pthread_rwlock_unlock(&cur_of(req)->ns);
	fuse_reply_err(req, -rc);
}

/* Open flags for the real file: never follow, never make a controlling tty. */
static int real_flags(int flags)
{
	flags &= ~(O_NOFOLLOW | O_CREAT | O_EXCL | O_NOCTTY | O_DIRECT);
	return flags | O_CLOEXEC;
}

/*
 * A regular file opened write-only by the caller is opened read-write
 * by the daemon when it may read it (it made the file, or the mode lets
 * it): RELEASE then reads what was written straight from the handle,
 * without opening the file again. The kernel still lets the caller only
 * write through it. Not for anything else: a FIFO opened for reading
 * and writing has a reader.
 */
static int rdwr_flags(int flags)
{
	return (flags & O_ACCMODE) == O_WRONLY ? (flags & ~O_ACCMODE) | O_RDWR : flags;
}

/* Off the open list, the real file closed (handle_closing is the caller's). */
static void handle_free(struct chandle *h)
{
	fs_open_del(&h->link);
	close(h->fd);
	free(h->path);
	free(h);
}

static void handle_free_link(struct fs_open_link *l)
{
	handle_free((struct chandle *)(void *)l);
}

static void cdir_free(struct cdir *d)
{
	fs_open_del(&d->link);
	closedir(d->dp);
	free(d);
}

static void cdir_free_link(struct fs_open_link *l)
{
	cdir_free((struct cdir *)(void *)l);
}

static void setup_open(struct fuse_file_info *fi, struct chandle *h)
{
	fs_open_add(&h->link, handle_free_link);
	fi->fh = (uint64_t)(uintptr_t)h;
	/*
	 * Pages stay cached across opens: the notifier drops them when the
	 * file changes behind our back. No FLUSH on close: there is nothing
	 * to flush (no writeback cache, POSIX locks are the kernel's), and
	 * the change is recorded at RELEASE.
	 */
	fi->keep_cache = 1;
	fi->noflush = 1;
	if (fi->flags & O_DIRECT)
		fi->direct_io = 1;
}

static struct chandle *new_handle(fuse_req_t req, int fd)
{
	struct chandle *h = xcalloc(1, sizeof(*h));

	h->fd = fd;
	who_of(req, &h->who);
	return h;
}

static void c_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct current *cur = cur_of(req);
	struct cnode *n = cur_node(cur, ino);
	struct chandle *h;
	int acc = fi->flags & O_ACCMODE, wr = acc != O_RDONLY || (fi->flags & O_TRUNC);
	char p[64], rel[PATH_MAX];
	int rc, fd, nfd, known;
	uint64_t gen = atomic_load(&cur->name_gen);

	nfd = cur_ref_get(cur, &n->ref);
	if (nfd < 0) {
		fuse_reply_err(req, -nfd);
		return;
	}
	rc = policy_check(cur, req, wr ? LH_FILE_WRITE : LH_FILE_READ, n, nfd, NULL,
			  wr ? "write" : "read", rel, sizeof(rel), &known);
	if (!rc && wr && acc == O_RDWR)
		rc = policy_check(cur, req, LH_FILE_READ, n, nfd, NULL, "read", rel, sizeof(rel), &known);
	if (rc) {
		cur_ref_put(&n->ref, nfd);
		fuse_reply_err(req, -rc);
		return;
	}
	proc_path(p, nfd);
	if (fi->flags & O_TRUNC) {
		take_pending_ns(cur, n, NULL);
		busy_begin(cur, n);
	}
	fd = -1;
	if (S_ISREG(n->type) && acc == O_WRONLY)
		fd = open(p, rdwr_flags(real_flags(fi->flags)));
	if (fd < 0)
		fd = open(p, real_flags(fi->flags));
	rc = fd < 0 ? -errno : 0;
	if (fi->flags & O_TRUNC)
		busy_end(cur, n, NULL);
	cur_ref_put(&n->ref, nfd);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	h = new_handle(req, fd);
	if (wr && known && !S_ISDIR(n->type)) {
		h->path = xstrdup(rel);
		h->path_gen = gen;
	}
	handle_opened(cur, n, h, !!(fi->flags & O_TRUNC));
	setup_open(fi, h);
	if (fuse_reply_open(req, fi)) {
		handle_closing(cur, n, h);
		handle_free(h);
	}
}

static void c_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     struct fuse_file_info *fi)
{
	struct namedop o;
	struct cnode *n;
	struct fuse_entry_param e;
	struct chandle *h;
	struct stat st, mine;
	struct cref ref;
	char p[64];
	int rc, fd, pfd, created = 1;
	uint64_t gen = atomic_load(&cur_of(req)->name_gen);

	rc = namedop_begin(&o, req, parent, name, "create", -EEXIST);
	if (rc)
		goto out;
	cur_expect(o.cur, o.dir, name, 1);
	fd = openat(o.dfd, name, rdwr_flags(real_flags(fi->flags)) | O_CREAT | O_EXCL | O_NOFOLLOW,
		    mode);
	if (fd < 0 && errno == EACCES)	/* a server may judge the new file's mode */
		fd = openat(o.dfd, name, real_flags(fi->flags) | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
	if (fd < 0 && errno == EEXIST && !(fi->flags & O_EXCL)) {
		/* it appeared since the kernel looked: open what is there */
		created = 0;
		fd = openat(o.dfd, name, real_flags(fi->flags) | O_NOFOLLOW);
	}
	rc = fd < 0 ? -errno : 0;
	if (!created || rc)
		cur_expect_cancel(o.cur, o.dir, name, 1);
	if (rc)
		goto out;
	/*
	 * The node: the very inode we opened, not whatever has the name now.
	 * Past the descriptor budget its handle, taken from the open file.
	 * Else an O_PATH descriptor: the name is cheaper to open than the
	 * magic link; if it is another inode already, the magic link leads to
	 * ours (followed: O_NOFOLLOW would open the link).
	 */
	if (fstat(fd, &mine)) {
		rc = -errno;
		close(fd);
		goto out;
	}
	if (S_ISREG(mine.st_mode) && ref_set_handle(o.cur, &ref, fd) == 0) {
		st = mine;
		n = node_of_handle(o.cur, &ref, &st);
		goto have_node;
	}
	pfd = openat(o.dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd >= 0 && (fstat(pfd, &st) || st.st_ino != mine.st_ino || st.st_dev != mine.st_dev)) {
		close(pfd);
		pfd = -1;
	}
	if (pfd < 0) {
		proc_path(p, fd);
		pfd = open(p, O_PATH | O_CLOEXEC);
		if (pfd >= 0 && fstat(pfd, &st)) {
			close(pfd);
			pfd = -1;
		}
	}
	if (pfd < 0) {
		rc = -errno;
		close(fd);
		goto out;
	}
	n = node_of_fd(o.cur, pfd, &st);
have_node:
	if (created) {
		busy_begin(o.cur, n);
		rc = give_to_caller(req, o.dfd, fd, mode);
		if (rc > 0)
			rc = fstat(fd, &st) ? -errno : 0;
		busy_end(o.cur, n, rc ? NULL : &st);
		if (rc) {
			forget_one(o.cur, n, 1);
			close(fd);
			goto out;
		}
	}
	namedop_end(&o);
	fill_entry(o.cur, n, &st, &e);
	h = xcalloc(1, sizeof(*h));
	h->fd = fd;
	h->who = o.who;
	h->created = created;
	if (o.known) {
		h->path = xstrdup(o.path);
		h->path_gen = gen;
	}
	handle_opened(o.cur, n, h, created || (fi->flags & O_TRUNC));
	setup_open(fi, h);
	if (fuse_reply_create(req, &e, fi)) {
		handle_closing(o.cur, n, h);
		forget_one(o.cur, n, 1);
		handle_free(h);
	}
	return;
out:
	namedop_end(&o);
	fuse_reply_err(req, -rc);
}

static void c_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	struct chandle *h = (struct chandle *)(uintptr_t)fi->fh;
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);

	(void)ino;
	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = h->fd;
	buf.buf[0].pos = off;
	fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

static void c_write(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct current *cur = cur_of(req);
	struct chandle *h = (struct chandle *)(uintptr_t)fi->fh;
	struct cnode *n = cur_node(cur, ino);
	struct stat st;
	ssize_t done;
	int err;

	first_change(cur, n, h);
	busy_begin(cur, n);
	done = pwrite(h->fd, data, size, off);
	err = errno;
	/* before the change makes h the node's writer, which others read */
	if (done >= 0 && !h->wgen && fuse_req_ctx(req)->pid != h->who.pid)
		who_of(req, &h->who);
	busy_end_by(cur, n, fstat(h->fd, &st) ? NULL : &st, done >= 0 ? h : NULL);
	if (done < 0)
		fuse_reply_err(req, err);
	else
		fuse_reply_write(req, (size_t)done);
}

static void c_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void c_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct current *cur = cur_of(req);
	struct chandle *h = (struct chandle *)(uintptr_t)fi->fh;
	struct cnode *n = cur_node(cur, ino);
	char rel[PATH_MAX];
	const char *path = NULL;
	int record;

	/*
	 * The change is complete. The recorder opens the file by its path
	 * (the one it had when opened, unless a name moved since) and checks
	 * the inode; the daemon holds no writer of it after this (an exec of
	 * a program just built must not fail with ETXTBSY).
	 */
	pthread_mutex_lock(&cur->mu);
	/* not if all its changes were recorded already (take_pending) */
	record = h->wgen > n->rgen;
	pthread_mutex_unlock(&cur->mu);
	if (record) {
		struct rec_item *it = NULL;

		pthread_rwlock_rdlock(&cur->ns);
		if (h->path && h->path_gen == atomic_load(&cur->name_gen))
			path = h->path;
		else if (cur_relpath(cur, h->fd, NULL, rel, sizeof(rel)) == 0)
			path = rel;
		if (path)
			it = record_content_take(cur->fs, &h->who, path, n->dev, n->ino, h->fd);
		settle(cur, n, h->wgen, it);
		pthread_rwlock_unlock(&cur->ns);
	}
	/* h stays the writer until now: a truncation meanwhile records its content first */
	handle_closing(cur, n, h);
	handle_free(h);
	fuse_reply_err(req, 0);
}

static void c_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct chandle *h = (struct chandle *)(uintptr_t)fi->fh;
	int rc = datasync ? fdatasync(h->fd) : fsync(h->fd);

	(void)ino;
	fuse_reply_err(req, rc ? errno : 0);
}

/*
 * A folder this big (st_size: some 3 000 names on tmpfs, ext4 or btrfs)
 * is listed by the daemon each time, never from the kernel's copy.
 */
#define BIG_DIR_BYTES (64 * 1024)

static void c_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct current *cur = cur_of(req);
	struct cnode *n = cur_node(cur, ino);
	struct cdir *d;
	struct stat st;
	int fd, nfd = cur_ref_get(cur, &n->ref);

	if (nfd < 0) {
		fuse_reply_err(req, -nfd);
		return;
	}
	fd = openat(nfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cur_ref_put(&n->ref, nfd);
	if (fd < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	d = xcalloc(1, sizeof(*d));
	d->dp = fdopendir(fd);
	if (!d->dp) {
		int err = errno;

		close(fd);
		free(d);
		fuse_reply_err(req, err);
		return;
	}
	fs_open_add(&d->link, cdir_free_link);
	fi->fh = (uint64_t)(uintptr_t)d;
	/*
	 * The kernel keeps listings; the notifier drops them on outside
	 * changes. Not those of big folders: a kept listing is read again
	 * without a request, so without READDIRPLUS, and `ls -l` or find
	 * then costs one LOOKUP per name where READDIRPLUS brings the
	 * attributes of a page of names at once.
	 */
	if (fstat(fd, &st) == 0 && st.st_size < BIG_DIR_BYTES) {
		fi->cache_readdir = 1;
		fi->keep_cache = 1;
	}
	if (fuse_reply_open(req, fi))
		cdir_free(d);
}

static int is_dot(const char *name)
{
	return name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]));
}

static void readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi, int plus)
{
	struct current *cur = cur_of(req);
	struct cnode *dir = cur_node(cur, ino);
	struct cdir *d = (struct cdir *)(uintptr_t)fi->fh;
	char *buf = xmalloc(size), *p = buf;
	size_t rem = size;
	int err = 0;

	if (off != d->offset) {
		seekdir(d->dp, off);
		d->entry = NULL;
		d->offset = off;
	}
	for (;;) {
		struct dirent *de;
		off_t next;
		size_t need;

		if (!d->entry) {
			errno = 0;
			d->entry = readdir(d->dp);
			if (!d->entry) {
				err = errno;
				break;
			}
		}
		de = d->entry;
		next = de->d_off;
		if (is_hidden(cur, dir, de->d_name)) {
			d->entry = NULL;
			d->offset = next;
			continue;
		}
		if (plus) {
			struct fuse_entry_param e;

			memset(&e, 0, sizeof(e));
			if (is_dot(de->d_name) || lookup_name(cur, dir, de->d_name, &e)) {
				/* no entry for the kernel, only the name (it vanished, or . and ..) */
				memset(&e, 0, sizeof(e));
				e.attr.st_ino = de->d_ino;
				e.attr.st_mode = (mode_t)DTTOIF(de->d_type);
			}
			need = fuse_add_direntry_plus(req, p, rem, de->d_name, &e, next);
			if (need > rem) {
				if (e.ino)
					forget_one(cur, cur_node(cur, e.ino), 1);
				break;
			}
		} else {
			struct stat st;

			memset(&st, 0, sizeof(st));
			st.st_ino = de->d_ino;
			st.st_mode = (mode_t)DTTOIF(de->d_type);
			need = fuse_add_direntry(req, p, rem, de->d_name, &st, next);
			if (need > rem)
				break;
		}
		p += need;
		rem -= need;
		d->entry = NULL;
		d->offset = next;
	}
	if (err && p == buf)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, buf, size - rem);
	free(buf);
}

static void c_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	readdir_common(req, ino, size, off, fi, 0);
}

static void c_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			  struct fuse_file_info *fi)
{
	readdir_common(req, ino, size, off, fi, 1);
}

static void c_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cdir *d = (struct cdir *)(uintptr_t)fi->fh;

	(void)ino;
	cdir_free(d);
	fuse_reply_err(req, 0);
}

static void c_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct cdir *d = (struct cdir *)(uintptr_t)fi->fh;
	int fd = dirfd(d->dp);
	int rc = datasync ? fdatasync(fd) : fsync(fd);

	(void)ino;
	fuse_reply_err(req, rc ? errno : 0);
}

static void c_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct current *cur = cur_of(req);
	struct cnode *n = cur_node(cur, ino);
	struct statvfs sv;
	int fd = cur_ref_get(cur, &n->ref), rc;

	rc = fd < 0 ? -fd : fstatvfs(fd, &sv) ? errno : 0;
	cur_ref_put(&n->ref, fd);
	if (rc)
		fuse_reply_err(req, rc);
	else
		fuse_reply_statfs(req, &sv);
}

/*
 * Extended attributes go through /proc/self/fd/N, which names the inode;
 * a symbolic link has no such name that would not follow it, so its
 * attributes are not supported (as libfuse's passthrough does). *fd is the
 * node's descriptor to put back.
 */
static int xattr_path(struct current *cur, struct cnode *n, int *fd, char p[64])
{
	*fd = -1;
	if (S_ISLNK(n->type))
		return -ENOTSUP;
	*fd = cur_ref_get(cur, &n->ref);
	if (*fd < 0)
		return *fd;
	proc_path(p, *fd);
	return 0;
}

static void c_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
		       size_t size, int flags)
{
	struct current *cur = cur_of(req);
	struct cnode *n = cur_node(cur, ino);
	char p[64], rel[PATH_MAX];
	int known, fd, rc = xattr_path(cur, n, &fd, p);

	if (!rc)
		rc = policy_check(cur, req, LH_FILE_WRITE, n, fd, NULL, "setxattr", rel, sizeof(rel), &known);
	if (!rc) {
		busy_begin(cur, n);
		rc = setxattr(p, name, value, size, flags) ? -errno : 0;
		busy_end(cur, n, NULL);
	}
	cur_ref_put(&n->ref, fd);
	if (!rc && !strncmp(name, "system.", 7))
		cur_watch_inval_attrs(cur, n);	/* an ACL: the mode bits changed too */
	fuse_reply_err(req, -rc);
}

static void c_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct current *cur = cur_of(req);
	struct cnode *n = cur_node(cur, ino);
	char p[64], *buf = NULL;
	ssize_t len = -1;
	int fd, rc = 0;

	if (size)
		buf = xmalloc(size);
	/* an open handle's descriptor spares the walk of /proc (the lock keeps it open) */
	pthread_mutex_lock(&cur->mu);
	fd = n->open_fd;
	if (fd >= 0) {
		len = fgetxattr(fd, name, buf, size);
		rc = len < 0 ? -errno : 0;
	}
	pthread_mutex_unlock(&cur->mu);
	if (fd < 0) {
		rc = xattr_path(cur, n, &fd, p);
		if (!rc) {
			len = getxattr(p, name, buf, size);
			if (len < 0)
				rc = -errno;
		}
		cur_ref_put(&n->ref, fd);
	}
	if (rc)
		fuse_reply_err(req, -rc);
	else if (size)
		fuse_reply_buf(req, buf, (size_t)len);
	else
		fuse_reply_xattr(req, (size_t)len);
	free(buf);
}

static void c_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct current *cur = cur_of(req);
	struct cnode *n = cur_node(cur, ino);
	char p[64], *buf = NULL;
	ssize_t len = -1;
	int fd, rc = xattr_path(cur, n, &fd, p);

	if (!rc) {
		if (size)
			buf = xmalloc(size);
		len = listxattr(p, buf, size);
		if (len < 0)
			rc = -errno;
	}
	cur_ref_put(&n->ref, fd);
	if (rc)
		fuse_reply_err(req, -rc);
	else if (size)
		fuse_reply_buf(req, buf, (size_t)len);
	else
		fuse_reply_xattr(req, (size_t)len);
	free(buf);
}

static void c_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct current *cur = cur_of(req);
	struct cnode *n = cur_node(cur, ino);
	char p[64], rel[PATH_MAX];
	int known, fd, rc = xattr_path(cur, n, &fd, p);

	if (!rc)
		rc = policy_check(cur, req, LH_FILE_WRITE, n, fd, NULL, "removexattr", rel, sizeof(rel),
				  &known);
	if (!rc) {
		busy_begin(cur, n);
		rc = removexattr(p, name) ? -errno : 0;
		busy_end(cur, n, NULL);
	}
	cur_ref_put(&n->ref, fd);
	if (!rc && !strncmp(name, "system.", 7))
		cur_watch_inval_attrs(cur, n);
	fuse_reply_err(req, -rc);
}

static void c_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
			struct fuse_file_info *fi)
{
	struct current *cur = cur_of(req);
	struct chandle *h = (struct chandle *)(uintptr_t)fi->fh;
	struct cnode *n = cur_node(cur, ino);
	struct stat st;
	int rc;

	first_change(cur, n, h);
	busy_begin(cur, n);
	rc = fallocate(h->fd, mode, offset, length) ? errno : 0;
	busy_end_by(cur, n, fstat(h->fd, &st) ? NULL : &st, rc ? NULL : h);
	fuse_reply_err(req, rc);
}

static void c_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			      struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
			      struct fuse_file_info *fi_out, size_t len, int flags)
{
	struct current *cur = cur_of(req);
	struct chandle *in = (struct chandle *)(uintptr_t)fi_in->fh;
	struct chandle *out = (struct chandle *)(uintptr_t)fi_out->fh;
	struct cnode *n = cur_node(cur, ino_out);
	struct stat st;
	ssize_t done;
	int err;

	(void)ino_in;
	first_change(cur, n, out);
	busy_begin(cur, n);
	done = copy_file_range(in->fd, &off_in, out->fd, &off_out, len, (unsigned)flags);
	err = errno;
	busy_end_by(cur, n, fstat(out->fd, &st) ? NULL : &st, done >= 0 ? out : NULL);
	if (done < 0)
		fuse_reply_err(req, err);
	else
		fuse_reply_write(req, (size_t)done);
}

static void c_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		    struct fuse_file_info *fi)
{
	struct chandle *h = (struct chandle *)(uintptr_t)fi->fh;
	off_t res;

	(void)ino;
	res = lseek(h->fd, off, whence);
	if (res < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_lseek(req, res);
}

const struct fuse_lowlevel_ops current_ops = {
	.lookup = c_lookup,
	.forget = c_forget,
	.forget_multi = c_forget_multi,
	.getattr = c_getattr,
	.setattr = c_setattr,
	.readlink = c_readlink,
	.mknod = c_mknod,
	.mkdir = c_mkdir,
	.unlink = c_unlink,
	.rmdir = c_rmdir,
	.symlink = c_symlink,
	.rename = c_rename,
	.link = c_link,
	.open = c_open,
	.read = c_read,
	.write = c_write,
	.flush = c_flush,
	.release = c_release,
	.fsync = c_fsync,
	.opendir = c_opendir,
	.readdir = c_readdir,
	.releasedir = c_releasedir,
	.fsyncdir = c_fsyncdir,
	.statfs = c_statfs,
	.setxattr = c_setxattr,
	.getxattr = c_getxattr,
	.listxattr = c_listxattr,
	.removexattr = c_removexattr,
	.create = c_create,
	.fallocate = c_fallocate,
	.readdirplus = c_readdirplus,
	.copy_file_range = c_copy_file_range,
	.lseek = c_lseek,
};

/* ---- start and stop ---------------------------------------------------------------- */

int current_hidden(struct lh_fs *fs, int dirfd, const char *name)
{
	struct current *cur = fs->cur;
	struct stat st;

	if (!cur->mp_name || strcmp(name, cur->mp_name) || fstat(dirfd, &st))
		return 0;
	return st.st_ino == cur->mp_parent_ino && st.st_dev == cur->mp_parent_dev;
}

int current_hidden_path(struct lh_fs *fs, const char *dir, const char *name)
{
	struct current *cur = fs->cur;
	const char *rel;
	size_t dl = strlen(dir);

	if (!cur->mp_name || strcmp(name, cur->mp_name))
		return 0;
	rel = fs->mountpoint + cur->project_len;	/* "/a/b/mnt" below the project */
	if (*rel == '/')
		rel++;
	return !strncmp(rel, dir, dl) && (dl ? rel[dl] == '/' : 1) &&
	       !strcmp(rel + dl + (dl ? 1 : 0), name);
}

void current_watch_fd(struct lh_fs *fs, int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0)
		cur_watch_dir(fs->cur, st.st_dev, st.st_ino, fd);
}

void current_stop(struct lh_fs *fs)
{
	if (fs->cur)
		cur_watch_stop(fs->cur);
}

void current_forget(struct lh_fs *fs, fuse_ino_t ino, uint64_t nlookup)
{
	forget_one(fs->cur, cur_node(fs->cur, ino), nlookup);
}

void current_root_attr(struct lh_fs *fs, struct stat *st)
{
	if (fstat(fs->cur->root->ref.fd, st))
		fs_fill_attr(fs, FS_INO_CURRENT, st);
}

void current_stats_render(struct lh_fs *fs, struct lh_buf *o)
{
	struct cur_stats *st = &fs->cur->stats;

	lh_buf_adds(o, "# HELP lighthouse_current_nodes inodes of current/ the kernel holds\n"
		       "# TYPE lighthouse_current_nodes gauge\n");
	lh_buf_addf(o, "lighthouse_current_nodes %" PRIu64 "\n", (uint64_t)atomic_load(&st->nodes));
	lh_buf_adds(o, "# HELP lighthouse_current_denied_total file operations the policy refused\n"
		       "# TYPE lighthouse_current_denied_total counter\n");
	lh_buf_addf(o, "lighthouse_current_denied_total %" PRIu64 "\n", (uint64_t)atomic_load(&st->denied));
	lh_buf_adds(o, "# HELP lighthouse_current_external_changes_total changes made behind the daemon's back\n"
		       "# TYPE lighthouse_current_external_changes_total counter\n");
	lh_buf_addf(o, "lighthouse_current_external_changes_total %" PRIu64 "\n",
		    (uint64_t)atomic_load(&st->external));
	lh_buf_adds(o, "# HELP lighthouse_current_invalidations_total kernel cache invalidations sent\n"
		       "# TYPE lighthouse_current_invalidations_total counter\n");
	lh_buf_addf(o, "lighthouse_current_invalidations_total{kind=\"inode\"} %" PRIu64 "\n",
		    (uint64_t)atomic_load(&st->inval_inode));
	lh_buf_addf(o, "lighthouse_current_invalidations_total{kind=\"entry\"} %" PRIu64 "\n",
		    (uint64_t)atomic_load(&st->inval_entry));
	lh_buf_adds(o, "# HELP lighthouse_current_watches directories of the project watched\n"
		       "# TYPE lighthouse_current_watches gauge\n");
	lh_buf_addf(o, "lighthouse_current_watches %" PRIu64 "\n", (uint64_t)atomic_load(&st->watches));
	lh_buf_adds(o, "# HELP lighthouse_current_stale_nodes_total inodes reached by handle that were deleted and whose number a new inode took\n"
		       "# TYPE lighthouse_current_stale_nodes_total counter\n");
	lh_buf_addf(o, "lighthouse_current_stale_nodes_total %" PRIu64 "\n",
		    (uint64_t)atomic_load(&st->stale_nodes));
	lh_buf_adds(o, "# HELP lighthouse_current_unnamed_writes_total changes to a file or folder no longer in the project (deleted, moved out): not recorded\n"
		       "# TYPE lighthouse_current_unnamed_writes_total counter\n");
	lh_buf_addf(o, "lighthouse_current_unnamed_writes_total %" PRIu64 "\n",
		    (uint64_t)atomic_load(&st->unnamed));
	lh_buf_adds(o, "# HELP lighthouse_current_fds_kept descriptors current/ keeps open\n"
		       "# TYPE lighthouse_current_fds_kept gauge\n");
	lh_buf_addf(o, "lighthouse_current_fds_kept %d\n", atomic_load(&fs->cur->fds_kept));
	lh_buf_adds(o, "# HELP lighthouse_current_fds_budget descriptors current/ may keep; past them, file handles\n"
		       "# TYPE lighthouse_current_fds_budget gauge\n");
	lh_buf_addf(o, "lighthouse_current_fds_budget %d\n", fs->cur->handles ? fs->cur->fd_budget : -1);
	record_stats_render(fs, o);
}

/* Nodes hold descriptors: allow as many as the system does; returns the limit. */
static long raise_fd_limit(void)
{
	struct rlimit rl;
	long nr_open = 0;
	FILE *f;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 1024;
	f = fopen("/proc/sys/fs/nr_open", "re");
	if (f) {
		if (fscanf(f, "%ld", &nr_open) != 1)
			nr_open = 0;
		fclose(f);
	}
	if (nr_open > 0 && (rlim_t)nr_open > rl.rlim_max) {
		struct rlimit more = { (rlim_t)nr_open, (rlim_t)nr_open };

		if (setrlimit(RLIMIT_NOFILE, &more) == 0)
			return nr_open;		/* CAP_SYS_RESOURCE */
	}
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) || getrlimit(RLIMIT_NOFILE, &rl))
		return 1024;
	return rl.rlim_cur == RLIM_INFINITY ? 1L << 20 : (long)rl.rlim_cur;
}

/* Can nodes beyond the budget be reached by handle here? */
static void probe_handles(struct current *cur)
{
	struct {
		struct file_handle h;
		unsigned char bytes[MAX_HANDLE_SZ];
	} fh;
	int fd;

	fh.h.handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(cur->root->ref.fd, "", &fh.h, &cur->mount_id, AT_EMPTY_PATH))
		return;
	fd = open_by_handle_at(cur->mount_fd, &fh.h, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return;
	close(fd);
	cur->handles = 1;
}

int current_new(struct lh_fs *fs, struct lh_buf *err)
{
	struct current *cur = xcalloc(1, sizeof(*cur));
	struct stat st;
	char *slash;
	long limit;
	int fd, rc;

	limit = raise_fd_limit();
	cur->fs = fs;
	cur->fd_budget = (int)(limit / 2);
	cur->dir_budget = (int)(limit / 4 * 3);
	if (fs->cfg.cur_fds && fs->cfg.cur_fds < (unsigned)cur->fd_budget) {
		cur->fd_budget = fs->cfg.cur_fds > 1 ? (int)fs->cfg.cur_fds : 2;	/* the root's and one */
		cur->dir_budget = cur->fd_budget;
	}
	pthread_mutex_init(&cur->mu, NULL);
	pthread_cond_init(&cur->settled, NULL);
	pthread_rwlock_init(&cur->ns, NULL);
	cur->nbuckets = 1024;
	cur->table = xcalloc(cur->nbuckets, sizeof(*cur->table));
	cur->project = xstrdup(fs->project);
	cur->project_len = strlen(cur->project);
	if (cur->project_len == 1)
		cur->project_len = 0;	/* the project is /: every path is inside */
	cur->mount_fd = open(fs->project, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = open(fs->project, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur->mount_fd < 0 || fd < 0 || fstat(fd, &st)) {
		rc = -errno;
		lh_buf_addf(err, "project '%s': %s", fs->project, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	cur->root = xcalloc(1, sizeof(*cur->root));
	cur->root->open_fd = -1;
	cur->root->dev = st.st_dev;
	cur->root->ino = st.st_ino;
	cur->root->ref.fd = fd;
	cur->root->type = S_IFDIR;
	cur->root->nlookup = 1;
	cur->root->known_ctime = st.st_ctim;
	insert_locked(cur, cur->root);
	atomic_store(&cur->fds_kept, 1);
	probe_handles(cur);
	if (!cur->handles && limit < 65536)
		lh_info("current/ can hold about %ld files and directories at once (RLIMIT_NOFILE, "
			"and no file handles without CAP_DAC_READ_SEARCH)", limit / 2);

	/* the mount point, if it is in the project, must not show in current/ */
	slash = strrchr(fs->mountpoint, '/');
	if (slash && !strncmp(fs->mountpoint, cur->project, cur->project_len) &&
	    fs->mountpoint[cur->project_len] == '/') {
		char *parent = xstrndup(fs->mountpoint, (size_t)(slash - fs->mountpoint));

		if (stat(parent[0] ? parent : "/", &st) == 0) {
			cur->mp_parent_dev = st.st_dev;
			cur->mp_parent_ino = st.st_ino;
			cur->mp_name = xstrdup(slash + 1);
		}
		free(parent);
	}
	fs->cur = cur;
	rc = cur_watch_start(cur, err);
	if (rc) {
		fs->cur = NULL;
		goto fail;
	}
	return 0;
fail:
	if (cur->root) {
		close(cur->root->ref.fd);
		free(cur->root);
	}
	if (cur->mount_fd >= 0)
		close(cur->mount_fd);
	free(cur->table);
	free(cur->project);
	free(cur->mp_name);
	pthread_mutex_destroy(&cur->mu);
	pthread_cond_destroy(&cur->settled);
	pthread_rwlock_destroy(&cur->ns);
	free(cur);
	return rc;
}

void current_free(struct lh_fs *fs)
{
	struct current *cur = fs->cur;
	size_t k;

	if (!cur)
		return;
	cur_watch_stop(cur);
	for (k = 0; k < cur->nbuckets; k++) {
		struct cnode *n = cur->table[k], *next;

		for (; n; n = next) {
			next = n->hnext;
			cur_ref_clear(cur, &n->ref);
			free(n->path);
			free(n);
		}
	}
	close(cur->mount_fd);
	free(cur->table);
	free(cur->project);
	free(cur->mp_name);
	pthread_mutex_destroy(&cur->mu);
	pthread_cond_destroy(&cur->settled);
	pthread_rwlock_destroy(&cur->ns);
	free(cur);
	fs->cur = NULL;
}

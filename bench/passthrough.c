/*
 * passthrough.c -- a minimal low-level passthrough FUSE filesystem: the
 * floor bench/fs compares current/ with. No recording, no policy, no
 * notifier: what any FUSE passthrough costs on this kernel.
 *
 *   bench/passthrough [-o FUSE-OPTIONS] --source DIR MOUNTPOINT
 *
 * DESIGN
 *
 * It makes the kernel send the requests lighthoused's current/ makes it
 * send, and does as little as possible with them. The kernel-facing
 * choices are current/'s (fs/current.c, fs/ops.c lh_init): entries,
 * negative entries and attributes cached for 60 s (-o timeout=), pages
 * kept across opens, directory listings cached, READDIRPLUS, no FLUSH
 * (noflush), no writeback cache, the kernel's own locks, splice for
 * reads, default_permissions (and allow_other as root), extended
 * attributes answered (so writes cost the same GETXATTR of
 * security.capability), the same worker threads (16 at most, 4 idle).
 *
 * Inodes: a node per real inode, keyed by (st_dev, st_ino) so hard links
 * share it, holding its parent and name: operations rebuild the path
 * from the source directory and use it (the simplest passthrough, as
 * libfuse's high-level one; it needs no descriptor per inode). Its
 * inode number is its address. One mutex guards the table and the
 * names.
 */
#define FUSE_USE_VERSION 312

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fuse_lowlevel.h>

#include "common/xalloc.h"
#include "common/banned.h"

#define NBUCKETS (1 << 18)

struct node {
	struct node *hnext;		/* protected by mu */
	struct node *parent;		/* protected by mu; NULL for the root */
	char *name;			/* protected by mu */
	dev_t dev;
	ino_t ino;
	uint64_t nlookup;		/* protected by mu */
};

struct pt {
	int src;			/* the source directory */
	double timeout;
	pthread_mutex_t mu;
	struct node root;
	struct node *table[NBUCKETS];	/* protected by mu */
};

static struct pt pt;

struct pdir {
	DIR *dp;
	off_t offset;
	struct dirent *entry;
};

static size_t bucket(dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)ino * 0x9E3779B97F4A7C15ull) ^ (uint64_t)dev;

	return (size_t)(h ^ (h >> 29)) & (NBUCKETS - 1);
}

static struct node *node_of(fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? &pt.root : (struct node *)(uintptr_t)ino;
}

static fuse_ino_t ino_of(struct node *n)
{
	return n == &pt.root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)n;
}

/* The path of n (relative to the source, "." for the root), with /name appended. */
static int path_of(struct node *n, const char *name, char *out, size_t size)
{
	const char *parts[256];
	int k = 0;
	size_t len = 0;

	pthread_mutex_lock(&pt.mu);
	for (; n && n != &pt.root && k < 255; n = n->parent)
		parts[k++] = n->name;
	if (n != &pt.root) {
		pthread_mutex_unlock(&pt.mu);
		return -ENAMETOOLONG;
	}
	out[0] = '.';
	out[1] = '\0';
	len = 1;
	while (k-- > 0) {
		int w = snprintf(out + len, size - len, "/%s", parts[k]);

		if (w < 0 || (size_t)w >= size - len) {
			pthread_mutex_unlock(&pt.mu);
			return -ENAMETOOLONG;
		}
		len += (size_t)w;
	}
	pthread_mutex_unlock(&pt.mu);
	if (name) {
		int w = snprintf(out + len, size - len, "/%s", name);

		if (w < 0 || (size_t)w >= size - len)
			return -ENAMETOOLONG;
	}
	return 0;
}

static int do_lookup(struct node *parent, const char *name, struct fuse_entry_param *e)
{
	char path[PATH_MAX];
	struct node *n;
	int rc = path_of(parent, name, path, sizeof(path));

	memset(e, 0, sizeof(*e));
	if (rc)
		return rc;
	if (fstatat(pt.src, path, &e->attr, AT_SYMLINK_NOFOLLOW))
		return -errno;
	pthread_mutex_lock(&pt.mu);
	for (n = pt.table[bucket(e->attr.st_dev, e->attr.st_ino)]; n; n = n->hnext)
		if (n->ino == e->attr.st_ino && n->dev == e->attr.st_dev)
			break;
	if (!n) {
		size_t b = bucket(e->attr.st_dev, e->attr.st_ino);

		n = xcalloc(1, sizeof(*n));
		n->dev = e->attr.st_dev;
		n->ino = e->attr.st_ino;
		n->parent = parent;
		n->name = xstrdup(name);
		n->hnext = pt.table[b];
		pt.table[b] = n;
	}
	n->nlookup++;
	pthread_mutex_unlock(&pt.mu);
	e->ino = ino_of(n);
	e->attr_timeout = pt.timeout;
	e->entry_timeout = pt.timeout;
	return 0;
}

static void forget_one(fuse_ino_t ino, uint64_t count)
{
	struct node *n = node_of(ino), **pp;

	if (n == &pt.root)
		return;
	pthread_mutex_lock(&pt.mu);
	n->nlookup -= count < n->nlookup ? count : n->nlookup;
	if (n->nlookup) {
		pthread_mutex_unlock(&pt.mu);
		return;
	}
	for (pp = &pt.table[bucket(n->dev, n->ino)]; *pp; pp = &(*pp)->hnext)
		if (*pp == n) {
			*pp = n->hnext;
			break;
		}
	pthread_mutex_unlock(&pt.mu);
	free(n->name);
	free(n);
}

static void p_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	int rc = do_lookup(node_of(parent), name, &e);

	if (rc == -ENOENT) {
		memset(&e, 0, sizeof(e));
		e.entry_timeout = pt.timeout;
		fuse_reply_entry(req, &e);
	} else if (rc) {
		fuse_reply_err(req, -rc);
	} else if (fuse_reply_entry(req, &e)) {
		forget_one(e.ino, 1);
	}
}

static void p_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	forget_one(ino, nlookup);
	fuse_reply_none(req);
}

static void p_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *v)
{
	size_t k;

	for (k = 0; k < count; k++)
		forget_one(v[k].ino, v[k].nlookup);
	fuse_reply_none(req);
}

#define PATH_OR_REPLY(n, name, path)						\
	do {									\
		int rc_ = path_of((n), (name), (path), sizeof(path));		\
		if (rc_) {							\
			fuse_reply_err(req, -rc_);				\
			return;							\
		}								\
	} while (0)

static void p_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	char path[PATH_MAX];
	struct stat st;

	if (fi ? fstat((int)fi->fh, &st) == 0 : 0) {
		fuse_reply_attr(req, &st, pt.timeout);
		return;
	}
	PATH_OR_REPLY(node_of(ino), NULL, path);
	if (fstatat(pt.src, path, &st, AT_SYMLINK_NOFOLLOW))
		fuse_reply_err(req, errno);
	else
		fuse_reply_attr(req, &st, pt.timeout);
}

static void p_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid,
		      struct fuse_file_info *fi)
{
	char path[PATH_MAX];
	struct stat st;
	int fd = fi ? (int)fi->fh : -1;

	PATH_OR_REPLY(node_of(ino), NULL, path);
	if ((valid & FUSE_SET_ATTR_MODE) && fchmodat(pt.src, path, attr->st_mode & 07777, 0))
		goto err;
	if ((valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) &&
	    fchownat(pt.src, path, valid & FUSE_SET_ATTR_UID ? attr->st_uid : (uid_t)-1,
		     valid & FUSE_SET_ATTR_GID ? attr->st_gid : (gid_t)-1, AT_SYMLINK_NOFOLLOW))
		goto err;
	if (valid & FUSE_SET_ATTR_SIZE) {
		if (fd >= 0 ? ftruncate(fd, attr->st_size) : 0)
			goto err;
		if (fd < 0) {
			int t = openat(pt.src, path, O_WRONLY | O_CLOEXEC);

			if (t < 0 || ftruncate(t, attr->st_size)) {
				if (t >= 0)
					close(t);
				goto err;
			}
			close(t);
		}
	}
	if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
		struct timespec tv[2];

		tv[0] = attr->st_atim;
		tv[1] = attr->st_mtim;
		if (!(valid & FUSE_SET_ATTR_ATIME))
			tv[0].tv_nsec = UTIME_OMIT;
		else if (valid & FUSE_SET_ATTR_ATIME_NOW)
			tv[0].tv_nsec = UTIME_NOW;
		if (!(valid & FUSE_SET_ATTR_MTIME))
			tv[1].tv_nsec = UTIME_OMIT;
		else if (valid & FUSE_SET_ATTR_MTIME_NOW)
			tv[1].tv_nsec = UTIME_NOW;
		if (utimensat(pt.src, path, tv, AT_SYMLINK_NOFOLLOW))
			goto err;
	}
	if (fstatat(pt.src, path, &st, AT_SYMLINK_NOFOLLOW))
		goto err;
	fuse_reply_attr(req, &st, pt.timeout);
	return;
err:
	fuse_reply_err(req, errno);
}

static void p_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char path[PATH_MAX], buf[PATH_MAX];
	ssize_t n;

	PATH_OR_REPLY(node_of(ino), NULL, path);
	n = readlinkat(pt.src, path, buf, sizeof(buf) - 1);
	if (n < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	buf[n] = '\0';
	fuse_reply_readlink(req, buf);
}

static void reply_new(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	int rc = do_lookup(node_of(parent), name, &e);

	if (rc)
		fuse_reply_err(req, -rc);
	else if (fuse_reply_entry(req, &e))
		forget_one(e.ino, 1);
}

static void p_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	char path[PATH_MAX];

	PATH_OR_REPLY(node_of(parent), name, path);
	if (mkdirat(pt.src, path, mode))
		fuse_reply_err(req, errno);
	else
		reply_new(req, parent, name);
}

static void p_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	char path[PATH_MAX];

	PATH_OR_REPLY(node_of(parent), name, path);
	if (symlinkat(link, pt.src, path))
		fuse_reply_err(req, errno);
	else
		reply_new(req, parent, name);
}

static void p_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	char path[PATH_MAX];

	PATH_OR_REPLY(node_of(parent), name, path);
	fuse_reply_err(req, unlinkat(pt.src, path, 0) ? errno : 0);
}

static void p_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	char path[PATH_MAX];

	PATH_OR_REPLY(node_of(parent), name, path);
	fuse_reply_err(req, unlinkat(pt.src, path, AT_REMOVEDIR) ? errno : 0);
}

static void p_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		     const char *newname, unsigned int flags)
{
	char from[PATH_MAX], to[PATH_MAX];
	struct stat st;
	struct node *n;

	PATH_OR_REPLY(node_of(parent), name, from);
	PATH_OR_REPLY(node_of(newparent), newname, to);
	if (fstatat(pt.src, from, &st, AT_SYMLINK_NOFOLLOW) ||
	    renameat2(pt.src, from, pt.src, to, flags)) {
		fuse_reply_err(req, errno);
		return;
	}
	/* the node keeps its name: its children's paths follow */
	pthread_mutex_lock(&pt.mu);
	for (n = pt.table[bucket(st.st_dev, st.st_ino)]; n; n = n->hnext)
		if (n->ino == st.st_ino && n->dev == st.st_dev) {
			free(n->name);
			n->name = xstrdup(newname);
			n->parent = node_of(newparent);
		}
	pthread_mutex_unlock(&pt.mu);
	fuse_reply_err(req, 0);
}

static void p_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	char path[PATH_MAX];
	int fd;

	PATH_OR_REPLY(node_of(ino), NULL, path);
	fd = openat(pt.src, path, (fi->flags & ~(O_NOFOLLOW | O_CREAT | O_EXCL)) | O_CLOEXEC);
	if (fd < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	fi->fh = (uint64_t)fd;
	fi->keep_cache = 1;
	fi->noflush = 1;
	if (fuse_reply_open(req, fi))
		close(fd);
}

static void p_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     struct fuse_file_info *fi)
{
	char path[PATH_MAX];
	struct fuse_entry_param e;
	int fd, rc;

	PATH_OR_REPLY(node_of(parent), name, path);
	fd = openat(pt.src, path, fi->flags | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	rc = do_lookup(node_of(parent), name, &e);
	if (rc) {
		close(fd);
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uint64_t)fd;
	fi->keep_cache = 1;
	fi->noflush = 1;
	if (fuse_reply_create(req, &e, fi)) {
		forget_one(e.ino, 1);
		close(fd);
	}
}

static void p_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);

	(void)ino;
	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = (int)fi->fh;
	buf.buf[0].pos = off;
	fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

static void p_write(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	ssize_t n = pwrite((int)fi->fh, data, size, off);

	(void)ino;
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_write(req, (size_t)n);
}

static void p_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	close((int)fi->fh);
	fuse_reply_err(req, 0);
}

static void p_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino;
	fuse_reply_err(req, (datasync ? fdatasync((int)fi->fh) : fsync((int)fi->fh)) ? errno : 0);
}

static void p_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	char path[PATH_MAX];
	struct pdir *d;
	int fd;

	PATH_OR_REPLY(node_of(ino), NULL, path);
	fd = openat(pt.src, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	d = xcalloc(1, sizeof(*d));
	d->dp = fdopendir(fd);
	if (!d->dp) {
		close(fd);
		free(d);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	if (fuse_reply_open(req, fi)) {
		closedir(d->dp);
		free(d);
	}
}

static void readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi, int plus)
{
	struct pdir *d = (struct pdir *)(uintptr_t)fi->fh;
	char *buf = xmalloc(size), *p = buf;
	size_t rem = size;

	if (off != d->offset) {
		seekdir(d->dp, off);
		d->entry = NULL;
		d->offset = off;
	}
	for (;;) {
		struct fuse_entry_param e;
		size_t need;
		const char *name;

		if (!d->entry) {
			d->entry = readdir(d->dp);
			if (!d->entry)
				break;
		}
		name = d->entry->d_name;
		memset(&e, 0, sizeof(e));
		if (plus && strcmp(name, ".") && strcmp(name, "..") &&
		    do_lookup(node_of(ino), name, &e) == 0) {
			need = fuse_add_direntry_plus(req, p, rem, name, &e, d->entry->d_off);
		} else {
			memset(&e, 0, sizeof(e));
			e.attr.st_ino = d->entry->d_ino;
			e.attr.st_mode = (mode_t)DTTOIF(d->entry->d_type);
			need = plus ? fuse_add_direntry_plus(req, p, rem, name, &e, d->entry->d_off) :
				      fuse_add_direntry(req, p, rem, name, &e.attr, d->entry->d_off);
		}
		if (need > rem) {
			if (e.ino)
				forget_one(e.ino, 1);
			break;
		}
		p += need;
		rem -= need;
		d->offset = d->entry->d_off;
		d->entry = NULL;
	}
	fuse_reply_buf(req, buf, size - rem);
	free(buf);
}

static void p_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	readdir_common(req, ino, size, off, fi, 0);
}

static void p_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			  struct fuse_file_info *fi)
{
	readdir_common(req, ino, size, off, fi, 1);
}

static void p_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct pdir *d = (struct pdir *)(uintptr_t)fi->fh;

	(void)ino;
	closedir(d->dp);
	free(d);
	fuse_reply_err(req, 0);
}

static void p_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	(void)ino;
	if (fstatvfs(pt.src, &sv))
		fuse_reply_err(req, errno);
	else
		fuse_reply_statfs(req, &sv);
}

static void p_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	char path[PATH_MAX], full[PATH_MAX + 64], *buf = NULL;
	ssize_t n;

	PATH_OR_REPLY(node_of(ino), NULL, path);
	snprintf(full, sizeof(full), "/proc/self/fd/%d/%s", pt.src, path);
	if (size)
		buf = xmalloc(size);
	n = lgetxattr(full, name, buf, size);
	if (n < 0)
		fuse_reply_err(req, errno);
	else if (size)
		fuse_reply_buf(req, buf, (size_t)n);
	else
		fuse_reply_xattr(req, (size_t)n);
	free(buf);
}

static void p_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	char path[PATH_MAX], full[PATH_MAX + 64], *buf = NULL;
	ssize_t n;

	PATH_OR_REPLY(node_of(ino), NULL, path);
	snprintf(full, sizeof(full), "/proc/self/fd/%d/%s", pt.src, path);
	if (size)
		buf = xmalloc(size);
	n = llistxattr(full, buf, size);
	if (n < 0)
		fuse_reply_err(req, errno);
	else if (size)
		fuse_reply_buf(req, buf, (size_t)n);
	else
		fuse_reply_xattr(req, (size_t)n);
	free(buf);
}

static void p_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
		       size_t size, int flags)
{
	char path[PATH_MAX], full[PATH_MAX + 64];

	PATH_OR_REPLY(node_of(ino), NULL, path);
	snprintf(full, sizeof(full), "/proc/self/fd/%d/%s", pt.src, path);
	fuse_reply_err(req, lsetxattr(full, name, value, size, flags) ? errno : 0);
}

static void p_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	char path[PATH_MAX], full[PATH_MAX + 64];

	PATH_OR_REPLY(node_of(ino), NULL, path);
	snprintf(full, sizeof(full), "/proc/self/fd/%d/%s", pt.src, path);
	fuse_reply_err(req, lremovexattr(full, name) ? errno : 0);
}

static void p_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* current/'s choices (fs/ops.c lh_init) */
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	conn->want &= ~(unsigned)FUSE_CAP_AUTO_INVAL_DATA;
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
	conn->want &= ~(unsigned)FUSE_CAP_HANDLE_KILLPRIV;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE | (conn->capable & FUSE_CAP_SPLICE_MOVE);
}

static const struct fuse_lowlevel_ops ops = {
	.init = p_init,
	.lookup = p_lookup,
	.forget = p_forget,
	.forget_multi = p_forget_multi,
	.getattr = p_getattr,
	.setattr = p_setattr,
	.readlink = p_readlink,
	.mkdir = p_mkdir,
	.symlink = p_symlink,
	.unlink = p_unlink,
	.rmdir = p_rmdir,
	.rename = p_rename,
	.open = p_open,
	.create = p_create,
	.read = p_read,
	.write = p_write,
	.release = p_release,
	.fsync = p_fsync,
	.opendir = p_opendir,
	.readdir = p_readdir,
	.readdirplus = p_readdirplus,
	.releasedir = p_releasedir,
	.statfs = p_statfs,
	.getxattr = p_getxattr,
	.listxattr = p_listxattr,
	.setxattr = p_setxattr,
	.removexattr = p_removexattr,
};

struct options {
	char *source;
	double timeout;
};

static const struct fuse_opt opts[] = {
	{ "--source=%s", offsetof(struct options, source), 0 },
	{ "--source %s", offsetof(struct options, source), 0 },
	{ "timeout=%lf", offsetof(struct options, timeout), 0 },
	FUSE_OPT_END
};

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts cl;
	struct options o = { NULL, 60.0 };
	struct fuse_session *se;
	struct fuse_loop_config *loop;
	struct stat st;
	int rc = 1;

	if (fuse_opt_parse(&args, &o, opts, NULL) || fuse_parse_cmdline(&args, &cl) ||
	    !cl.mountpoint || !o.source) {
		fprintf(stderr, "usage: passthrough [-o timeout=SECONDS] --source DIR MOUNTPOINT\n");
		return 2;
	}
	umask(0);
	pt.src = open(o.source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pt.src < 0 || fstat(pt.src, &st)) {
		perror(o.source);
		return 1;
	}
	pt.timeout = o.timeout;
	pt.root.dev = st.st_dev;
	pt.root.ino = st.st_ino;
	pthread_mutex_init(&pt.mu, NULL);
	fuse_opt_add_arg(&args, "-ofsname=passthrough,default_permissions");
	if (getuid() == 0)
		fuse_opt_add_arg(&args, "-oallow_other");
	se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
	if (!se)
		goto out;
	if (fuse_set_signal_handlers(se) || fuse_session_mount(se, cl.mountpoint))
		goto out_se;
	loop = fuse_loop_cfg_create();
	fuse_loop_cfg_set_max_threads(loop, 16);
	fuse_loop_cfg_set_idle_threads(loop, 4);
	rc = fuse_session_loop_mt(se, loop) ? 1 : 0;
	fuse_loop_cfg_destroy(loop);
	fuse_session_unmount(se);
	fuse_remove_signal_handlers(se);
out_se:
	fuse_session_destroy(se);
out:
	free(cl.mountpoint);
	free(o.source);
	fuse_opt_free_args(&args);
	return rc;
}

/*
 * current.h -- inside current/: the inode table shared by the files of
 * the room (current.c the operations, current_watch.c the notifier that
 * notices changes made behind the daemon's back and tells the kernel).
 * Nothing outside fs/current*.c includes this; the rest of fs/ sees
 * current/ through fs.h.
 *
 * A node is one real inode of the project, known by (st_dev, st_ino) and
 * reached by descriptor (openat, fstatat(AT_EMPTY_PATH), /proc/self/fd/N),
 * never by a path another process could swap under us. Its FUSE inode
 * number is its address tagged with FS_KIND_CUR (the project directory
 * itself is FS_INO_CURRENT).
 *
 * How a node (or a watched directory) reaches its inode is a struct cref:
 * an O_PATH | O_NOFOLLOW descriptor held open while the budget of
 * descriptors lasts (half of RLIMIT_NOFILE: the other half is for the
 * files callers open), else its file handle (name_to_handle_at), opened
 * again for each use (open_by_handle_at, a couple of microseconds; it
 * needs CAP_DAC_READ_SEARCH, which a root daemon has). So a directory of
 * 100 000 entries can be listed with READDIRPLUS under a limit of 20 000
 * descriptors. Without handles (another user, a filesystem without
 * them) every node keeps its descriptor and the limit is the limit.
 *
 * Lifetime: a node lives while the kernel holds lookups of it (nlookup,
 * balanced by FORGET) or a thread outside an operation holds a reference
 * (refs: the notifier, the recorder). Both counts are protected by
 * cur->mu; the node is freed when both reach zero.
 */
#ifndef LH_CURRENT_H
#define LH_CURRENT_H

#include <dirent.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fs/fs.h"

struct cref {
	int fd;				/* O_PATH | O_NOFOLLOW on the inode, or -1 */
	struct file_handle *fh;		/* when fd is -1: its handle */
};

struct chandle;			/* an open file of current/ (current.c) */

struct cnode {
	struct cnode *hnext;		/* (dev, ino) hash chain; protected by cur->mu */
	dev_t dev;
	ino_t ino;
	struct cref ref;		/* how to reach the real inode */
	mode_t type;			/* S_IFMT bits; an inode never changes type */
	uint64_t nlookup;		/* the kernel's lookups; protected by cur->mu */
	int refs;			/* references outside operations; protected by cur->mu */
	/*
	 * Changes we make ourselves are not news: ops that change the inode
	 * count themselves in `busy` while they run and leave its ctime in
	 * `known_ctime` when done, and the notifier compares. `began`
	 * counts those operations, so that the notifier can tell a stat it
	 * made before one of them ended. Protected by cur->mu.
	 */
	int busy;
	uint64_t began;
	struct timespec known_ctime;
	int outside;			/* changed from outside, not recorded yet (current_watch.c) */
	/*
	 * Its path relative to the project, as last computed (readlink of
	 * /proc/self/fd, which costs more than the rest of an operation),
	 * and the generation it is valid for: a folder's until a folder
	 * moves (cur->dir_gen), a file's until any name moves or goes
	 * (cur->name_gen). Protected by cur->mu.
	 */
	char *path;
	uint64_t path_gen;
	/*
	 * Changes made through open handles (writes, truncations, and what
	 * RELEASE records with the content), counted: wgen. rgen is the
	 * count the last record of the content took in, so the inode is
	 * dirty -- changed, not recorded yet -- while they differ; writer is
	 * the handle that made the last change, until its release. RELEASE
	 * records, but comes after close() has returned: the caller may have
	 * renamed, unlinked, truncated or rewritten the file by then, so
	 * those operations record a dirty inode's content first
	 * (current.c:take_pending), and a RELEASE whose changes were
	 * recorded so records nothing. settling counts the records that
	 * took their rgen and are on their way to the queue: until they are
	 * in it, no later change's record may go first (current.c:settle).
	 * Protected by cur->mu.
	 */
	uint64_t wgen, rgen;
	struct chandle *writer;
	int settling;
	/*
	 * The real descriptor of one open handle of it, -1 if none: reads
	 * of extended attributes use it (fgetxattr) instead of the magic
	 * link, which costs a path walk of /proc. The kernel asks for
	 * security.capability at the first write of every file. Release
	 * clears it before closing. Protected by cur->mu.
	 */
	int open_fd;
};

struct cur_stats {
	_Atomic uint64_t nodes;		/* nodes alive */
	_Atomic uint64_t denied;	/* operations refused by the policy */
	_Atomic uint64_t external;	/* changes noticed behind our back */
	_Atomic uint64_t inval_inode;	/* fuse_lowlevel_notify_inval_inode calls */
	_Atomic uint64_t inval_entry;	/* fuse_lowlevel_notify_inval_entry calls */
	_Atomic uint64_t watches;	/* directories watched now */
	_Atomic uint64_t stale_nodes;	/* nodes by handle whose inode number a new inode took */
	_Atomic uint64_t unnamed;	/* changes judged without a path: the inode left the project */
};

struct current {
	struct lh_fs *fs;
	pthread_mutex_t mu;		/* the table and every node's counts */
	pthread_cond_t settled;		/* a node's settling went to 0; with mu */
	struct cnode **table;		/* (dev, ino) buckets; protected by mu */
	size_t nbuckets, nnodes;	/* protected by mu */
	struct cnode *root;		/* the project directory; never freed, keeps its fd */
	int mount_fd;			/* the project directory, O_RDONLY: open_by_handle_at's */
	int mount_id;			/* its mount: handles are used on it only */
	int handles;			/* open_by_handle_at works here */
	int fd_budget;			/* descriptors nodes and watches may keep ... */
	int dir_budget;			/* ... folders' up to this many: every operation in
					   a folder reaches it, a file's seldom */
	_Atomic int fds_kept;		/* ... and keep now */
	char *project;			/* its absolute path */
	size_t project_len;
	/* the mount point, when it lies inside the project: hidden */
	dev_t mp_parent_dev;
	ino_t mp_parent_ino;
	char *mp_name;			/* NULL: not inside */
	struct cur_watch *watch;	/* the notifier (current_watch.c) */
	struct cur_stats stats;
	/*
	 * Paths are computed, used and queued for the record in the order
	 * the names changed: renames hold this for writing from their paths
	 * to their record, every other operation that names a path for the
	 * record holds it for reading. Outermost lock of current/.
	 */
	pthread_rwlock_t ns;
	_Atomic uint64_t dir_gen;	/* bumped when a folder may have moved or gone */
	_Atomic uint64_t name_gen;	/* bumped when any name may have moved or gone */
};

/* current.c */
/* Make r reach the inode fd is open on (O_PATH; dir: a folder); fd is kept or closed. */
void cur_ref_set(struct current *cur, struct cref *r, int fd, int dir);
/* A descriptor for one use (r->fd, or opened from the handle), or -errno. */
int cur_ref_get(struct current *cur, const struct cref *r);
void cur_ref_put(const struct cref *r, int fd);
void cur_ref_clear(struct current *cur, struct cref *r);
struct cnode *cur_node(struct current *cur, fuse_ino_t ino);
fuse_ino_t cur_nodeid(struct current *cur, const struct cnode *n);
/* Take and drop a reference outside an operation. */
struct cnode *cur_find_ref(struct current *cur, dev_t dev, ino_t ino);
void cur_unref(struct current *cur, struct cnode *n);
/* The path of what fd is open on, relative to the project ("" for the root), /name appended. */
int cur_relpath(struct current *cur, int fd, const char *name, char *out, size_t n);
/* Names moved or went (outside the mount too): cached paths are stale. */
void cur_paths_moved(struct current *cur, int dirs);

/* current_watch.c: the notifier */
int cur_watch_start(struct current *cur, struct lh_buf *err);
void cur_watch_stop(struct current *cur);
/* Watch a directory that has a new node; fd is open on it (O_PATH), only borrowed. */
void cur_watch_dir(struct current *cur, dev_t dev, ino_t ino, int fd);
/*
 * We are about to change the name `name` in directory `dir` ourselves: the
 * notifier will see the event and must not take it for an outside change.
 * `n` events are expected; cur_expect_cancel withdraws them when the
 * change failed.
 */
void cur_expect(struct current *cur, const struct cnode *dir, const char *name, int n);
void cur_expect_cancel(struct current *cur, const struct cnode *dir, const char *name, int n);
/*
 * Have the notifier invalidate n's attributes in the kernel and wait for
 * it: for a change of ours the kernel cannot see for what it is.
 */
void cur_watch_inval_attrs(struct current *cur, struct cnode *n);

#endif

/*
 * current_watch.c -- the notifier: what changes in the project behind the
 * daemon's back, and what the kernel must forget because of it.
 *
 * DESIGN
 *
 * The kernel caches current/ (entries, negative entries, attributes,
 * pages, directory listings: current.c) for long timeouts, which is only
 * right if it hears of every change. It sees the changes made through the
 * mount itself. For the others -- an editor, a build or git running on the
 * real directory -- this thread watches, with inotify, every directory of
 * the project the kernel has looked up (a directory it never looked up
 * holds nothing it could cache), and on each change calls
 *
 *   fuse_lowlevel_notify_inval_entry   for the name that appeared, went
 *                                      or moved (drops the dentry, or
 *                                      the negative dentry)
 *   fuse_lowlevel_notify_inval_inode   for the directory whose listing
 *                                      changed, and for the file whose
 *                                      attributes or content changed
 *
 * for exactly those inodes and names. These calls take the locks of the
 * directory in the kernel, which an operation in flight may hold while it
 * waits for its reply: so they are made here, never from an operation.
 *
 * Our own changes produce the same events and must not cost the kernel
 * its cache. Two filters tell them apart:
 *
 *   names    an operation that makes, removes or moves a name registers
 *            the event it will cause (cur_expect) before its system call,
 *            and withdraws it if the call fails; the notifier consumes the
 *            expectation instead of acting. Expectations not consumed in
 *            EXPECT_TTL are dropped.
 *   content  an operation that changes an inode counts itself busy on the
 *            node while it runs and leaves the inode's ctime in the node
 *            when done (current.c busy_begin / busy_end); an attribute or
 *            content event on an inode whose ctime is the one we left was
 *            ours. While the node is busy the verdict waits (a recheck a
 *            few milliseconds later). The stat is made before the lock,
 *            so a change of ours can run whole in between and leave a
 *            newer ctime than the stat saw: a ctime that differs is
 *            stat'ed again, and counts only if no change of ours began
 *            since the first look (the node's `began`).
 *
 * A watch keeps its own reference to the directory (a descriptor or a
 * handle, current.h; events name a child of it: fstatat through it finds
 * the child's inode) and lives
 * until the directory goes (IN_IGNORED), whether or not the kernel still
 * holds its node. When inotify cannot watch more (fs.inotify
 * .max_user_watches), the directory goes unwatched: a warning says so,
 * and changes there show after the timeouts only. When the event queue
 * overflows, every node's attributes and pages are invalidated.
 *
 * One change of ours the kernel does not see for what it is: setting a
 * POSIX ACL (system.posix_acl_*, which cp -a uses to set modes) rewrites
 * the mode bits, while the kernel only takes a setxattr to change the
 * ctime. That operation asks this thread to invalidate the inode's
 * attributes and waits for it (cur_watch_inval_attrs) before it replies.
 *
 * Our own changes are most of the events (a create makes two), and a
 * thread woken for each would take the CPU from the operations: after a
 * wake-up the notifier lets events gather for GATHER_NS and reads them in
 * one go. So an outside change reaches the kernel some 10 ms later.
 *
 * Locks: cw->mu guards the watch and expectation tables; it is a leaf,
 * never held across a system call that could reach the mount. The
 * descriptors of watches are closed by this thread only, so it uses them
 * without the lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "fs/current.h"
#include "common/banned.h"

#define WATCH_MASK (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY | IN_ATTRIB | \
		    IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK)
#define NAME_EVENTS (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)
#define EXPECT_TTL_NS (5 * 1000000000LL)
#define RECHECK_NS (20 * 1000000LL)
#define GATHER_NS (10 * 1000000L)	/* events gathered per wake-up */
#define NBUCKETS 4096		/* power of two */

struct watch {
	struct watch *wd_next;		/* by_wd chain; protected by cw->mu */
	struct watch *ino_next;		/* by_ino chain; protected by cw->mu */
	int wd;
	struct cref ref;		/* the directory; cleared by the notifier only */
	dev_t dev;
	ino_t ino;
};

struct expect {
	struct expect *next;		/* protected by cw->mu */
	dev_t dev;			/* the directory */
	ino_t ino;
	int count;			/* events still expected */
	int64_t until_ns;		/* dropped after this (monotonic) */
	char name[];
};

/* A content event on a busy node, looked at again later (notifier only). */
struct recheck {
	int wd;
	uint32_t mask;
	int64_t at_ns;
	char name[NAME_MAX + 1];
};

/* An operation waiting for the notifier to invalidate an inode's attributes. */
struct inval_wait {
	struct inval_wait *next;	/* protected by cw->mu */
	fuse_ino_t ino;
	int done;			/* protected by cw->mu */
};

struct cur_watch {
	struct current *cur;
	int ifd;			/* inotify */
	int stop_fd;			/* eventfd: stop the thread */
	int wake_fd;			/* eventfd: an invalidation is asked for */
	struct inval_wait *asked;	/* protected by mu */
	pthread_cond_t done;		/* an asked invalidation was made */
	pthread_t thread;
	int running;
	pthread_mutex_t mu;
	struct watch *by_wd[NBUCKETS];	/* protected by mu */
	struct watch *by_ino[NBUCKETS];	/* protected by mu */
	struct expect *exp[NBUCKETS];	/* protected by mu */
	int full_warned;		/* protected by mu */
	struct recheck *rc;		/* notifier only */
	size_t nrc, caprc;
	int last_wd;			/* the last change given to the recorder in this batch */
	char last_name[NAME_MAX + 1];
};

static size_t ino_bucket(dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)ino * 0x9E3779B97F4A7C15ull) ^ (uint64_t)dev;

	return (size_t)(h ^ (h >> 29)) & (NBUCKETS - 1);
}

static size_t exp_bucket(dev_t dev, ino_t ino, const char *name)
{
	uint64_t h = ((uint64_t)ino * 0x9E3779B97F4A7C15ull) ^ (uint64_t)dev;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 1099511628211ull;
	return (size_t)(h ^ (h >> 29)) & (NBUCKETS - 1);
}

static struct watch *find_wd_locked(struct cur_watch *cw, int wd)
{
	struct watch *w;

	for (w = cw->by_wd[(unsigned)wd & (NBUCKETS - 1)]; w; w = w->wd_next)
		if (w->wd == wd)
			return w;
	return NULL;
}

static struct watch *find_ino_locked(struct cur_watch *cw, dev_t dev, ino_t ino)
{
	struct watch *w;

	for (w = cw->by_ino[ino_bucket(dev, ino)]; w; w = w->ino_next)
		if (w->ino == ino && w->dev == dev)
			return w;
	return NULL;
}

/* Watch the directory `fd` (an O_PATH descriptor we own: kept or closed). */
static void watch_fd(struct cur_watch *cw, int fd, dev_t dev, ino_t ino)
{
	char path[64];
	struct watch *w;
	int wd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	wd = inotify_add_watch(cw->ifd, path, WATCH_MASK);
	if (wd < 0) {
		int err = errno, warn;

		pthread_mutex_lock(&cw->mu);
		warn = !cw->full_warned && (err == ENOSPC || err == ENOMEM);
		if (warn)
			cw->full_warned = 1;
		pthread_mutex_unlock(&cw->mu);
		if (warn)
			lh_warn("current/: cannot watch more directories (%s; see "
				"/proc/sys/fs/inotify/max_user_watches): changes made outside the "
				"mount in unwatched directories show only after the timeouts",
				strerror(err));
		close(fd);
		return;
	}
	pthread_mutex_lock(&cw->mu);
	if (find_wd_locked(cw, wd)) {
		pthread_mutex_unlock(&cw->mu);
		close(fd);
		return;
	}
	w = xcalloc(1, sizeof(*w));
	w->wd = wd;
	w->dev = dev;
	w->ino = ino;
	w->wd_next = cw->by_wd[(unsigned)wd & (NBUCKETS - 1)];
	cw->by_wd[(unsigned)wd & (NBUCKETS - 1)] = w;
	w->ino_next = cw->by_ino[ino_bucket(dev, ino)];
	cw->by_ino[ino_bucket(dev, ino)] = w;
	/* before the notifier can find it, as nobody else uses the reference */
	cur_ref_set(cw->cur, &w->ref, fd, 1);
	pthread_mutex_unlock(&cw->mu);
	atomic_fetch_add_explicit(&cw->cur->stats.watches, 1, memory_order_relaxed);
}

void cur_watch_dir(struct current *cur, dev_t dev, ino_t ino, int nfd)
{
	struct cur_watch *cw = cur->watch;
	int known, fd;

	pthread_mutex_lock(&cw->mu);
	known = find_ino_locked(cw, dev, ino) != NULL;
	pthread_mutex_unlock(&cw->mu);
	if (known)
		return;
	fd = fcntl(nfd, F_DUPFD_CLOEXEC, 0);
	if (fd >= 0)
		watch_fd(cw, fd, dev, ino);
}

/* The directory is gone: IN_IGNORED. Notifier only. */
static void unwatch(struct cur_watch *cw, struct watch *w)
{
	struct watch **pp;

	pthread_mutex_lock(&cw->mu);
	for (pp = &cw->by_wd[(unsigned)w->wd & (NBUCKETS - 1)]; *pp; pp = &(*pp)->wd_next)
		if (*pp == w) {
			*pp = w->wd_next;
			break;
		}
	for (pp = &cw->by_ino[ino_bucket(w->dev, w->ino)]; *pp; pp = &(*pp)->ino_next)
		if (*pp == w) {
			*pp = w->ino_next;
			break;
		}
	pthread_mutex_unlock(&cw->mu);
	cur_ref_clear(cw->cur, &w->ref);
	free(w);
	atomic_fetch_sub_explicit(&cw->cur->stats.watches, 1, memory_order_relaxed);
}

/* ---- expectations ------------------------------------------------------------------ */

static struct expect **find_expect_locked(struct cur_watch *cw, dev_t dev, ino_t ino,
					  const char *name)
{
	struct expect **pp;

	for (pp = &cw->exp[exp_bucket(dev, ino, name)]; *pp; pp = &(*pp)->next)
		if ((*pp)->ino == ino && (*pp)->dev == dev && !strcmp((*pp)->name, name))
			return pp;
	return NULL;
}

void cur_expect(struct current *cur, const struct cnode *dir, const char *name, int n)
{
	struct cur_watch *cw = cur->watch;
	struct expect **pp, *e;
	size_t len = strlen(name);

	pthread_mutex_lock(&cw->mu);
	pp = find_expect_locked(cw, dir->dev, dir->ino, name);
	if (pp) {
		(*pp)->count += n;
		(*pp)->until_ns = lh_mono_ns() + EXPECT_TTL_NS;
	} else {
		size_t b = exp_bucket(dir->dev, dir->ino, name);

		e = xmalloc(sizeof(*e) + len + 1);
		e->dev = dir->dev;
		e->ino = dir->ino;
		e->count = n;
		e->until_ns = lh_mono_ns() + EXPECT_TTL_NS;
		memcpy(e->name, name, len + 1);
		e->next = cw->exp[b];
		cw->exp[b] = e;
	}
	pthread_mutex_unlock(&cw->mu);
}

/* Take n expected events of dir/name; returns how many there were (at most n). */
static int expect_take(struct cur_watch *cw, dev_t dev, ino_t ino, const char *name, int n)
{
	struct expect **pp, *e;
	int took = 0;

	pthread_mutex_lock(&cw->mu);
	pp = find_expect_locked(cw, dev, ino, name);
	if (pp) {
		e = *pp;
		took = e->count < n ? e->count : n;
		e->count -= took;
		if (e->count <= 0) {
			*pp = e->next;
			free(e);
		}
	}
	pthread_mutex_unlock(&cw->mu);
	return took;
}

void cur_expect_cancel(struct current *cur, const struct cnode *dir, const char *name, int n)
{
	expect_take(cur->watch, dir->dev, dir->ino, name, n);
}

static void expire_expectations(struct cur_watch *cw, int64_t now)
{
	size_t b;

	pthread_mutex_lock(&cw->mu);
	for (b = 0; b < NBUCKETS; b++) {
		struct expect **pp = &cw->exp[b];

		while (*pp) {
			struct expect *e = *pp;

			if (e->until_ns < now) {
				*pp = e->next;
				free(e);
			} else {
				pp = &e->next;
			}
		}
	}
	pthread_mutex_unlock(&cw->mu);
}

/* ---- telling the kernel -------------------------------------------------------------- */

static void inval_inode(struct current *cur, struct cnode *n)
{
	atomic_fetch_add_explicit(&cur->stats.inval_inode, 1, memory_order_relaxed);
	fuse_lowlevel_notify_inval_inode(cur->fs->se, cur_nodeid(cur, n), 0, 0);
}

/*
 * Give the recorder an outside change of w's child `name` (it compares
 * with what it recorded, so one too many costs a look, not an event);
 * the events of one file in a batch go once.
 */
static void tell_recorder(struct cur_watch *cw, struct watch *w, const char *name)
{
	struct current *cur = cw->cur;
	char dir[PATH_MAX];
	int wfd;

	if (w->wd == cw->last_wd && !strcmp(cw->last_name, name))
		return;
	cw->last_wd = w->wd;
	snprintf(cw->last_name, sizeof(cw->last_name), "%s", name);
	wfd = cur_ref_get(cur, &w->ref);
	if (wfd < 0)
		return;
	if (cur_relpath(cur, wfd, NULL, dir, sizeof(dir)) == 0 && !current_hidden(cur->fs, wfd, name))
		record_outside(cur->fs, wfd, dir, name);
	cur_ref_put(&w->ref, wfd);
}

/* A name of the directory watched by w appeared, went or moved behind our back. */
static void name_changed(struct cur_watch *cw, struct watch *w, const char *name, uint32_t mask)
{
	struct current *cur = cw->cur;
	struct cnode *dir = cur_find_ref(cur, w->dev, w->ino);

	atomic_fetch_add_explicit(&cur->stats.external, 1, memory_order_relaxed);
	if (mask & (IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE))
		cur_paths_moved(cur, !!(mask & IN_ISDIR));
	if (dir) {
		atomic_fetch_add_explicit(&cur->stats.inval_entry, 1, memory_order_relaxed);
		fuse_lowlevel_notify_inval_entry(cur->fs->se, cur_nodeid(cur, dir), name, strlen(name));
		inval_inode(cur, dir);	/* its listing and times */
		cur_unref(cur, dir);
	}
	if ((mask & (IN_CREATE | IN_MOVED_TO)) && (mask & IN_ISDIR)) {
		/* watch it now: what the kernel will find there must be watched */
		int wfd = cur_ref_get(cur, &w->ref), fd = -1;
		struct stat st;

		if (wfd >= 0)
			fd = openat(wfd, name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
		cur_ref_put(&w->ref, wfd);
		if (fd >= 0 && fstat(fd, &st) == 0)
			watch_fd(cw, fd, st.st_dev, st.st_ino);
		else if (fd >= 0)
			close(fd);
	}
	tell_recorder(cw, w, name);
}

static int same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* Stat w's child `name` (NULL: w itself) without following a link; 0 or -1. */
static int stat_child(struct current *cur, struct watch *w, const char *name, struct stat *st)
{
	int wfd = cur_ref_get(cur, &w->ref), rc;

	if (wfd < 0)
		return -1;
	rc = fstatat(wfd, name ? name : "", st, name ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH);
	cur_ref_put(&w->ref, wfd);
	return rc;
}

/*
 * The attributes or content of w's child `name` changed: ours, not yet
 * known (recheck later), or news. Returns 1 when it must be looked at again.
 */
static int content_changed(struct cur_watch *cw, struct watch *w, const char *name,
			   uint32_t mask)
{
	struct current *cur = cw->cur;
	struct cnode *n;
	struct stat st;
	uint64_t began;
	int busy, news, tell = 0;
	/* a file's record waits for its writer's close; a mode change is whole */
	int record = name && (mask & (IN_CLOSE_WRITE | IN_ATTRIB));

	if (stat_child(cur, w, name, &st))
		return 0;	/* gone: its name event tells */
	n = cur_find_ref(cur, st.st_dev, st.st_ino);
	if (!n) {
		/* the kernel holds nothing of it; the record may lack it */
		if (record)
			tell_recorder(cw, w, name);
		return 0;
	}
	pthread_mutex_lock(&cur->mu);
	busy = n->busy > 0;
	news = !busy && !same_time(&n->known_ctime, &st.st_ctim);
	began = n->began;
	pthread_mutex_unlock(&cur->mu);
	if (news) {
		/*
		 * The stat may be older than a change of ours that ran and
		 * ended before the lock: `echo >> f` twice in a row. Look
		 * again, and believe it only if none of ours began since.
		 */
		int rc = stat_child(cur, w, name, &st);

		pthread_mutex_lock(&cur->mu);
		busy = n->busy > 0 || n->began != began;
		news = !rc && !busy && st.st_dev == n->dev && st.st_ino == n->ino &&
		       !same_time(&n->known_ctime, &st.st_ctim);
		if (news)
			n->known_ctime = st.st_ctim;
		pthread_mutex_unlock(&cur->mu);
	}
	if (!busy && (news || record)) {
		/*
		 * An outside writer's IN_MODIFY comes before its IN_CLOSE_WRITE,
		 * and takes the news (the ctime) with it: the node remembers that
		 * a change from outside waits for its record until then.
		 */
		pthread_mutex_lock(&cur->mu);
		if (record && (news || n->outside)) {
			n->outside = 0;
			tell = 1;
		} else if (news) {
			n->outside = 1;
		}
		pthread_mutex_unlock(&cur->mu);
	}
	if (news) {
		atomic_fetch_add_explicit(&cur->stats.external, 1, memory_order_relaxed);
		inval_inode(cur, n);
	}
	if (tell)
		tell_recorder(cw, w, name);
	cur_unref(cur, n);
	return busy;
}

static void add_recheck(struct cur_watch *cw, int wd, const char *name, uint32_t mask, int64_t now)
{
	size_t k;

	for (k = 0; k < cw->nrc; k++)
		if (cw->rc[k].wd == wd && !strcmp(cw->rc[k].name, name)) {
			cw->rc[k].mask |= mask;
			return;
		}
	if (cw->nrc == cw->caprc) {
		cw->caprc = cw->caprc ? cw->caprc * 2 : 16;
		cw->rc = xrealloc(cw->rc, cw->caprc * sizeof(*cw->rc));
	}
	cw->rc[cw->nrc].wd = wd;
	cw->rc[cw->nrc].mask = mask;
	cw->rc[cw->nrc].at_ns = now + RECHECK_NS;
	snprintf(cw->rc[cw->nrc].name, sizeof(cw->rc[cw->nrc].name), "%s", name);
	cw->nrc++;
}

static void run_rechecks(struct cur_watch *cw, int64_t now)
{
	size_t k = 0;

	while (k < cw->nrc) {
		struct recheck r = cw->rc[k];
		struct watch *w;

		if (r.at_ns > now) {
			k++;
			continue;
		}
		cw->rc[k] = cw->rc[--cw->nrc];
		pthread_mutex_lock(&cw->mu);
		w = find_wd_locked(cw, r.wd);
		pthread_mutex_unlock(&cw->mu);
		if (w && content_changed(cw, w, r.name[0] ? r.name : NULL, r.mask))
			add_recheck(cw, r.wd, r.name, r.mask, now);
	}
}

/* The queue overflowed: events were lost, so forget what the kernel knows. */
static void overflow(struct cur_watch *cw)
{
	struct current *cur = cw->cur;
	struct cnode **v = NULL;
	size_t n = 0, k;

	lh_warn("current/: the inotify queue overflowed; dropping the kernel's caches of current/");
	pthread_mutex_lock(&cur->mu);
	v = xcalloc(cur->nnodes + 1, sizeof(*v));
	for (k = 0; k < cur->nbuckets; k++) {
		struct cnode *c;

		for (c = cur->table[k]; c; c = c->hnext) {
			c->refs++;
			v[n++] = c;
		}
	}
	pthread_mutex_unlock(&cur->mu);
	for (k = 0; k < n; k++) {
		inval_inode(cur, v[k]);
		cur_unref(cur, v[k]);
	}
	free(v);
}

static void handle(struct cur_watch *cw, const struct inotify_event *ev, int64_t now)
{
	const char *name = ev->len ? ev->name : NULL;
	struct watch *w;

	if (ev->mask & IN_Q_OVERFLOW) {
		overflow(cw);
		return;
	}
	pthread_mutex_lock(&cw->mu);
	w = find_wd_locked(cw, ev->wd);
	pthread_mutex_unlock(&cw->mu);
	if (!w)
		return;
	if (ev->mask & IN_IGNORED) {
		unwatch(cw, w);
		return;
	}
	if (ev->mask & IN_DELETE_SELF)
		return;		/* IN_IGNORED follows */
	if (ev->mask & IN_MOVE_SELF) {
		cur_paths_moved(cw->cur, 1);	/* a watched folder moved: paths below it did */
		return;
	}
	if (name && (ev->mask & NAME_EVENTS)) {
		if (!expect_take(cw, w->dev, w->ino, name, 1))
			name_changed(cw, w, name, ev->mask);
		return;
	}
	if (content_changed(cw, w, name, ev->mask))
		add_recheck(cw, ev->wd, name ? name : "", ev->mask, now);
}

void cur_watch_inval_attrs(struct current *cur, struct cnode *n)
{
	struct cur_watch *cw = cur->watch;
	struct inval_wait w = { NULL, cur_nodeid(cur, n), 0 };
	struct timespec until;
	uint64_t one = 1;
	ssize_t r;

	pthread_mutex_lock(&cw->mu);
	w.next = cw->asked;
	cw->asked = &w;
	pthread_mutex_unlock(&cw->mu);
	r = write(cw->wake_fd, &one, sizeof(one));
	(void)r;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	pthread_mutex_lock(&cw->mu);
	while (!w.done) {
		if (pthread_cond_timedwait(&cw->done, &cw->mu, &until)) {
			struct inval_wait **pp;

			/* the notifier is stuck or gone: withdraw, the timeout will do */
			for (pp = &cw->asked; *pp; pp = &(*pp)->next)
				if (*pp == &w) {
					*pp = w.next;
					break;
				}
			break;
		}
	}
	pthread_mutex_unlock(&cw->mu);
}

static void run_asked(struct cur_watch *cw)
{
	struct inval_wait *list, *w;

	pthread_mutex_lock(&cw->mu);
	list = cw->asked;
	cw->asked = NULL;
	pthread_mutex_unlock(&cw->mu);
	for (w = list; w; w = w->next) {
		atomic_fetch_add_explicit(&cw->cur->stats.inval_inode, 1, memory_order_relaxed);
		fuse_lowlevel_notify_inval_inode(cw->cur->fs->se, w->ino, -1, 0);
	}
	pthread_mutex_lock(&cw->mu);
	for (w = list; w; w = w->next)
		w->done = 1;
	pthread_cond_broadcast(&cw->done);
	pthread_mutex_unlock(&cw->mu);
}

static void *notifier(void *arg)
{
	struct cur_watch *cw = arg;
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
	int64_t last_expire = lh_mono_ns();

	for (;;) {
		struct pollfd p[3] = { { cw->ifd, POLLIN, 0 }, { cw->stop_fd, POLLIN, 0 },
				       { cw->wake_fd, POLLIN, 0 } };
		int64_t now;
		ssize_t len;
		uint64_t v;

		if (poll(p, 3, cw->nrc ? 5 : 1000) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (p[2].revents & POLLIN) {
			len = read(cw->wake_fd, &v, sizeof(v));
			(void)len;
		}
		run_asked(cw);
		if (p[0].revents & POLLIN) {
			struct timespec gather = { 0, GATHER_NS };

			nanosleep(&gather, NULL);
			run_asked(cw);	/* an operation waits for these */
		}
		now = lh_mono_ns();
		cw->last_wd = -1;
		while ((p[0].revents & POLLIN) && (len = read(cw->ifd, buf, sizeof(buf))) > 0) {
			char *q = buf;

			while (q < buf + len) {
				const struct inotify_event *ev = (const struct inotify_event *)q;

				handle(cw, ev, now);
				q += sizeof(*ev) + ev->len;
			}
		}
		if (cw->nrc)
			run_rechecks(cw, now);
		if (now - last_expire > 1000000000LL) {
			expire_expectations(cw, now);
			last_expire = now;
		}
	}
	return NULL;
}

int cur_watch_start(struct current *cur, struct lh_buf *err)
{
	struct cur_watch *cw = xcalloc(1, sizeof(*cw));
	int rc;

	cw->cur = cur;
	pthread_mutex_init(&cw->mu, NULL);
	pthread_cond_init(&cw->done, NULL);
	cw->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	cw->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	cw->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (cw->ifd < 0 || cw->stop_fd < 0 || cw->wake_fd < 0) {
		rc = -errno;
		lh_buf_addf(err, "current/: cannot watch the project: %s", strerror(errno));
		goto fail;
	}
	cur->watch = cw;
	cur_watch_dir(cur, cur->root->dev, cur->root->ino, cur->root->ref.fd);
	rc = -pthread_create(&cw->thread, NULL, notifier, cw);
	if (rc) {
		lh_buf_addf(err, "current/: cannot start the notifier: %s", strerror(-rc));
		cur->watch = NULL;
		goto fail;
	}
	pthread_setname_np(cw->thread, "lh-notifier");
	cw->running = 1;
	return 0;
fail:
	if (cw->ifd >= 0)
		close(cw->ifd);
	if (cw->stop_fd >= 0)
		close(cw->stop_fd);
	if (cw->wake_fd >= 0)
		close(cw->wake_fd);
	pthread_cond_destroy(&cw->done);
	pthread_mutex_destroy(&cw->mu);
	free(cw);
	return rc;
}

void cur_watch_stop(struct current *cur)
{
	struct cur_watch *cw = cur->watch;
	size_t b;

	if (!cw)
		return;
	if (cw->running) {
		uint64_t one = 1;
		ssize_t n = write(cw->stop_fd, &one, sizeof(one));

		(void)n;
		pthread_join(cw->thread, NULL);
	}
	for (b = 0; b < NBUCKETS; b++) {
		struct watch *w, *wn;
		struct expect *e, *en;

		for (w = cw->by_wd[b]; w; w = wn) {
			wn = w->wd_next;
			cur_ref_clear(cw->cur, &w->ref);
			free(w);
		}
		for (e = cw->exp[b]; e; e = en) {
			en = e->next;
			free(e);
		}
	}
	run_asked(cw);		/* nobody waits past the notifier's end */
	close(cw->ifd);
	close(cw->stop_fd);
	close(cw->wake_fd);
	free(cw->rc);
	pthread_cond_destroy(&cw->done);
	pthread_mutex_destroy(&cw->mu);
	free(cw);
	cur->watch = NULL;
}

/*
 * record.c -- every change to the project becomes a file event with the
 * new content as a blob: the changes made through current/, attributed
 * to their caller, and the ones made behind the daemon's back, marked
 * external.
 *
 * DESIGN
 *
 * Operations do not record; they queue what changed (record_*): a path
 * and a descriptor of the inode as it is now -- O_RDONLY on a file whose
 * content changed (reopened from the caller's handle at RELEASE, so that
 * the daemon never holds a file open for writing after its caller closed
 * it: an exec of a freshly built program would fail with ETXTBSY), or
 * O_PATH on an inode whose state changed. One thread, the recorder, takes
 * the queue in order and for each path compares the inode with the tree
 * of the project as recorded (store/replay.h) and records what differs:
 *
 *   not in the tree              file.created
 *   only the mode differs        file.mode
 *   anything else differs        file.modified (kind, size, content,
 *                                link target, modification time)
 *   nothing differs              nothing (a write of the same bytes, our
 *                                own change seen again by the notifier)
 *   gone                         file.deleted, for all below it too
 *   moved                        file.renamed, for all below it too
 *
 * so the newest event of every path is its state (vacuum relies on it) and
 * replaying the events rebuilds the tree (history/). The content is read
 * when the item is recorded, not when it was queued: an event holds the
 * file as it was then, and a change right after it is recorded again,
 * on its own item. Contents stream into the store chunk by chunk
 * (lh_blob_writer): a 4 GB file is never in memory. A file whose size and
 * modification time are those the tree has keeps its recorded content
 * without being read again (a chmod, a rename).
 *
 * At start the tree is replayed from the store, and a scan thread walks
 * the project once: it watches every directory (the notifier then sees
 * every later outside change), and queues whatever differs from the tree
 * -- the changes made while no daemon ran, or, at the first start, the
 * whole project: its baseline. The notifier queues the outside changes
 * it sees while we run (record_outside). Both are recorded as external,
 * without a caller.
 *
 * Attribution: the uid, gid and pid of the caller (for a write, of the
 * opener and first writer), the process's kernel session as the agent
 * (as agents.c names an agent that declares nothing).
 *
 * The queue is bounded (QUEUE_MAX items, each holding a descriptor):
 * when it is full, operations wait. Each recorded event goes to the
 * store's queue at once; contents are committed before the events that
 * name them: a content is sealed (lh_blob_writer_seal) and its event
 * queued after it, in order, so the recorder never waits for a commit;
 * the writers are freed when it is idle. It wakes once for a burst of
 * changes, not once per change: on a machine of two CPUs a thread woken
 * per create takes the CPU from the creates. After a wake-up it naps
 * GATHER_NS, and naps again while each nap brings GATHER_ITEMS more (a
 * storm), up to BATCH_MAX queued or GATHER_MAX_NS. What one wake-up
 * recorded is one submission, so one transaction of the store, and every
 * transaction pays its WAL frames and shared-memory locks: 50 000 creates
 * made 3 340 commits with a fixed 2 ms nap (the store writer used 1.8 s
 * of CPU, the recorder 0.6 s), 850 with 10 ms (0.6 s and 0.2 s), and
 * some 290 of 170 events with the naps that go on while the storm does
 * (0.4 s and 0.15 s). A lone change reaches history/ some 10 ms later, a
 * change in a storm up to 50 ms later. When the
 * queue runs dry, history/ hears that the tree moved on
 * (history_changed).
 *
 * Locks: rec->mu (the queue) and rec->tree_mu (the tree) are leaves; the
 * recorder takes tree_mu to change the tree, readers (history/, the
 * scan) to read it; neither is held across a store call.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "fs/current.h"
#include "fs/links.h"
#include "store/replay.h"
#include "store/store.h"
#include "validator/validator.h"
#include "common/banned.h"

#define QUEUE_MAX 4096
#define CHUNK (64 * 1024)
#define GATHER_ITEMS 16			/* a nap that brought this many: the burst goes on */
#define BATCH_MAX 256			/* events in one submission at most */
#define SESSIONS 256			/* callers whose session is remembered */
#define GATHER_NS (10 * 1000000L)	/* one nap of the gathering */
#define GATHER_MAX_NS (50 * 1000000L)	/* all the naps of one wake-up */
#define SNAP_MAX (64 * 1024)		/* contents up to this are read when the change completes */
#define SNAP_BUDGET (16 * 1024 * 1024)	/* ... while the queue holds less than this of them */

enum rec_kind {
	REC_CONTENT,		/* fd: O_RDONLY on a file whose content changed */
	REC_STATE,		/* fd: O_PATH on an inode whose state changed */
	REC_DELETE,		/* path is gone */
	REC_RENAME,		/* from moved to path; fd: O_PATH on it */
	REC_DENIED,		/* the policy refused an operation on path */
	REC_OUTSIDE,		/* fd: O_PATH on a directory; its entry `name` changed */
	REC_SCANNED,		/* the scan is over */
};

struct rec_item {
	struct rec_item *next;
	enum rec_kind kind;
	int fd;
	char *path;
	char *from;			/* REC_RENAME */
	char *name;			/* REC_OUTSIDE */
	char *op, *rule, *reason;	/* REC_DENIED */
	struct rec_who who;
	int external;
	int scanned;			/* REC_OUTSIDE from the scan: it walks subfolders itself */
	dev_t dev;			/* REC_CONTENT without fd: the inode path should be */
	ino_t ino;
	unsigned char *snap;		/* REC_CONTENT: the content as the change left it */
	size_t snap_len;
	struct stat snap_st;
};

/* bytes of snapshots queued (one recorder per process) */
static atomic_size_t snap_bytes;

/* A new O_RDONLY descriptor of fd's inode (the magic link leads to it), or -1. */
static int reopen_rdonly(int fd)
{
	char p[64];

	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	return open(p, O_RDONLY | O_CLOEXEC);
}

struct recorder {
	struct lh_fs *fs;
	pthread_t thread, scanner;
	int running, scanning;
	int root;			/* the project, O_PATH: contents are opened beneath it */
	pthread_mutex_t mu;
	pthread_cond_t more;		/* an item was queued */
	pthread_cond_t room;		/* an item was taken */
	struct rec_item *head, *tail;	/* protected by mu */
	size_t n;			/* protected by mu */
	int stop;			/* protected by mu */
	_Atomic int stop_scan;		/* the scan ends early */
	int busy;			/* an item is being recorded; protected by mu */
	pthread_mutex_t tree_mu;
	struct lh_tree *tree;		/* the project as recorded; protected by tree_mu */
	struct lh_links *links;		/* the names of files that have more than one */
	int scan_done;			/* protected by tree_mu */
	struct lh_blob_id empty;	/* the empty content, once stored (recorder thread) */
	int have_empty;
	struct lh_blob_writer **sealed;	/* writers of contents sent, freed later (recorder thread) */
	size_t nsealed, capsealed;
	/* events built but not yet submitted: one submission per burst (recorder thread) */
	struct lh_event *batch;
	char **batch_mem;		/* what their strings point into */
	size_t nbatch;
	_Atomic size_t unsubmitted;	/* nbatch, for record_backlog */
	/* the session of recent callers: /proc/PID/stat once a second per pid */
	pthread_mutex_t sess_mu;
	struct {
		pid_t pid;		/* protected by sess_mu */
		int64_t until_ns;
		char session[FS_AGENT_MAX];
	} sessions[SESSIONS];
	struct lh_buf scratch;		/* recorder thread only */
	_Atomic uint64_t events, external, denied, failures, bytes;
};

static void item_free(struct rec_item *it)
{
	if (it->snap) {
		atomic_fetch_sub(&snap_bytes, it->snap_len);
		free(it->snap);
	}
	if (it->fd >= 0)
		close(it->fd);
	free(it->path);
	free(it->from);
	free(it->name);
	free(it->op);
	free(it->rule);
	free(it->reason);
	free(it);
}

static struct rec_item *item_new(enum rec_kind kind, const struct rec_who *who, const char *path,
				 int fd)
{
	struct rec_item *it = xcalloc(1, sizeof(*it));

	it->kind = kind;
	it->fd = fd;
	it->path = path ? xstrdup(path) : NULL;
	if (who) {
		it->who = *who;
	} else {
		it->who.uid = it->who.gid = (uid_t)-1;
		it->who.pid = -1;
		it->external = 1;
	}
	return it;
}

static void enqueue(struct recorder *rec, struct rec_item *it)
{
	pthread_mutex_lock(&rec->mu);
	while (rec->n >= QUEUE_MAX && !rec->stop)
		pthread_cond_wait(&rec->room, &rec->mu);
	if (rec->stop) {
		pthread_mutex_unlock(&rec->mu);
		item_free(it);
		return;
	}
	if (rec->tail)
		rec->tail->next = it;
	else
		rec->head = it;
	rec->tail = it;
	rec->n++;
	pthread_cond_signal(&rec->more);
	pthread_mutex_unlock(&rec->mu);
}

/* ---- what operations queue -------------------------------------------------------- */

/*
 * Read a small file's content now, as the change left it: the recorder
 * comes a moment later, and the same path may have been written again
 * meanwhile (two `echo >` in a row). Each version is then recorded as
 * it was. A larger file, a full budget or a file that changes while it
 * is read is left to the recorder, which reads it when it comes.
 */
static void take_snapshot(struct rec_item *it, int fd)
{
	struct stat st;
	unsigned char *buf;
	size_t size, got = 0;
	ssize_t n;
	int rfd = fd;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > SNAP_MAX)
		return;
	size = (size_t)st.st_size;
	if (size == 0) {
		/* nothing to read: a write that follows is its own change */
		it->snap = xmalloc(1);
		it->snap_len = 0;
		it->snap_st = st;
		return;
	}
	if (atomic_fetch_add(&snap_bytes, size) + size > SNAP_BUDGET) {
		atomic_fetch_sub(&snap_bytes, size);
		return;
	}
	if ((fcntl(fd, F_GETFL) & O_ACCMODE) == O_WRONLY) {
		rfd = reopen_rdonly(fd);
		if (rfd < 0) {
			atomic_fetch_sub(&snap_bytes, size);
			return;
		}
	}
	buf = xmalloc(size + 1);
	/* one byte more than its size: a file that grew meanwhile is not taken */
	while (got < size + 1) {
		n = pread(rfd, buf + got, size + 1 - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (rfd != fd)
		close(rfd);
	if (got != size) {
		atomic_fetch_sub(&snap_bytes, size);
		free(buf);
		return;
	}
	it->snap = buf;
	it->snap_len = size;
	it->snap_st = st;
}

void record_content(struct lh_fs *fs, const struct rec_who *who, const char *path, int fd)
{
	struct rec_item *it;

	if (!fs->rec || fd < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	it = item_new(REC_CONTENT, who, path, fd);
	take_snapshot(it, fd);
	if (it->snap) {
		close(fd);
		it->fd = -1;
	}
	enqueue(fs->rec, it);
}

struct rec_item *record_content_take(struct lh_fs *fs, const struct rec_who *who, const char *path,
				     dev_t dev, ino_t ino, int fd)
{
	struct rec_item *it;

	if (!fs->rec)
		return NULL;
	it = item_new(REC_CONTENT, who, path, -1);
	it->dev = dev;
	it->ino = ino;
	if (fd >= 0)
		take_snapshot(it, fd);
	return it;
}

void record_item_queue(struct lh_fs *fs, struct rec_item *it)
{
	if (it)
		enqueue(fs->rec, it);
}

void record_item_drop(struct rec_item *it)
{
	if (it)
		item_free(it);
}

void record_state(struct lh_fs *fs, const struct rec_who *who, const char *path, int fd)
{
	if (!fs->rec || fd < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	enqueue(fs->rec, item_new(REC_STATE, who, path, fd));
}

void record_delete(struct lh_fs *fs, const struct rec_who *who, const char *path)
{
	if (fs->rec)
		enqueue(fs->rec, item_new(REC_DELETE, who, path, -1));
}

void record_rename(struct lh_fs *fs, const struct rec_who *who, const char *from, const char *to,
		   int fd)
{
	struct rec_item *it;

	if (!fs->rec) {
		if (fd >= 0)
			close(fd);
		return;
	}
	it = item_new(REC_RENAME, who, to, fd);
	it->from = xstrdup(from);
	enqueue(fs->rec, it);
}

void record_denied(struct lh_fs *fs, const struct rec_who *who, const char *path, const char *op,
		   const char *rule, const char *reason)
{
	struct rec_item *it;

	if (!fs->rec)
		return;
	it = item_new(REC_DENIED, who, path, -1);
	it->op = xstrdup(op);
	it->rule = rule && rule[0] ? xstrdup(rule) : NULL;
	it->reason = reason ? xstrdup(reason) : NULL;
	enqueue(fs->rec, it);
}

static void queue_outside(struct lh_fs *fs, int dirfd, const char *dirpath, const char *name,
			  int scanned)
{
	struct rec_item *it;
	int fd;

	if (!fs->rec)
		return;
	fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return;
	it = item_new(REC_OUTSIDE, NULL, dirpath, fd);
	it->name = xstrdup(name);
	it->scanned = scanned;
	enqueue(fs->rec, it);
}

void record_outside(struct lh_fs *fs, int dirfd, const char *dirpath, const char *name)
{
	queue_outside(fs, dirfd, dirpath, name, 0);
}

uint64_t record_backlog(struct lh_fs *fs)
{
	struct recorder *rec = fs->rec;
	uint64_t n;

	if (!rec)
		return 0;
	pthread_mutex_lock(&rec->mu);
	n = rec->n + (uint64_t)rec->busy;
	pthread_mutex_unlock(&rec->mu);
	n += atomic_load(&rec->unsubmitted);
	pthread_mutex_lock(&rec->tree_mu);
	if (!rec->scan_done)
		n++;
	pthread_mutex_unlock(&rec->tree_mu);
	return n;
}

struct lh_tree *record_tree_clone(struct lh_fs *fs)
{
	struct recorder *rec = fs->rec;
	struct lh_tree *t;

	if (!rec)
		return NULL;
	pthread_mutex_lock(&rec->tree_mu);
	t = lh_tree_clone(rec->tree);
	pthread_mutex_unlock(&rec->tree_mu);
	return t;
}

/* ---- recording (the recorder thread) ------------------------------------------------- */

/* What an inode is now, as a tree change (blob not yet known). */
struct now {
	struct stat st;
	char kind;
	char target[PATH_MAX];
	int has_target;
	struct lh_blob_id blob;
	int has_blob;
	struct lh_blob_writer *w;	/* freed once the event is submitted */
};

static int64_t mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/*
 * A writer whose content was sealed: freed once the events naming it are
 * submitted and its chunks committed -- later, in a batch, so the
 * recorder does not wait for each commit.
 */
static void retire(struct recorder *rec, struct lh_blob_writer *w)
{
	if (!w)
		return;
	if (rec->nsealed == rec->capsealed) {
		rec->capsealed = rec->capsealed ? rec->capsealed * 2 : 64;
		rec->sealed = xrealloc(rec->sealed, rec->capsealed * sizeof(*rec->sealed));
	}
	rec->sealed[rec->nsealed++] = w;
}

static void free_sealed(struct recorder *rec)
{
	size_t k;

	for (k = 0; k < rec->nsealed; k++)
		lh_blob_writer_free(rec->sealed[k]);
	rec->nsealed = 0;
}

/* Store the content of fd (O_RDONLY), from its start. */
static int put_content(struct recorder *rec, int fd, const struct rec_item *it, struct now *now)
{
	unsigned char *buf;
	uint64_t size;
	off_t off = 0;
	ssize_t got;
	int rc = 0;

	if (now->st.st_size == 0 && rec->have_empty) {
		now->blob = rec->empty;
		now->has_blob = 1;
		return 0;
	}
	now->w = lh_blob_writer_new(rec->fs->store);
	if (!now->w)
		return -ENOMEM;
	if (it && it->snap) {
		rc = lh_blob_writer_add(now->w, it->snap, it->snap_len);
		goto seal;
	}
	buf = xmalloc(CHUNK);
	while ((got = pread(fd, buf, CHUNK, off)) != 0) {
		if (got < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		rc = lh_blob_writer_add(now->w, buf, (size_t)got);
		if (rc)
			break;
		off += got;
	}
	free(buf);
seal:
	/*
	 * Sealed, not finished: the events naming it follow it in the
	 * store's queue, so they need not wait for its commit.
	 */
	if (!rc)
		rc = lh_blob_writer_seal(now->w, &now->blob, &size);
	if (!rc) {
		now->has_blob = 1;
		atomic_fetch_add_explicit(&rec->bytes, size, memory_order_relaxed);
		if (!size) {
			/* empty files are many (touch, the storm): stored once, known after */
			rec->empty = now->blob;
			rec->have_empty = 1;
		}
	}
	return rc;
}

/*
 * Look at the inode fd is on. `old` is what the tree has for the path
 * (or NULL); its content is reused when size and mtime say the file did
 * not change and the item is not about content.
 */
static int look(struct recorder *rec, int fd, const struct rec_item *it, int content,
		const struct lh_tree_node *old, struct now *now)
{
	int rfd, rc = 0;

	memset(now, 0, sizeof(*now));
	if (content && it && it->snap) {
		now->st = it->snap_st;
		now->kind = LH_TREE_FILE;
		return put_content(rec, -1, it, now);
	}
	if (fstat(fd, &now->st))
		return -errno;
	if (S_ISDIR(now->st.st_mode)) {
		now->kind = LH_TREE_DIR;
		return 0;
	}
	if (S_ISLNK(now->st.st_mode)) {
		ssize_t n = readlinkat(fd, "", now->target, sizeof(now->target) - 1);

		if (n < 0)
			return -errno;
		now->target[n] = '\0';
		now->has_target = 1;
		now->kind = LH_TREE_LINK;
		return 0;
	}
	if (!S_ISREG(now->st.st_mode))
		return -EOPNOTSUPP;	/* fifos, sockets, devices: no content to keep */
	now->kind = LH_TREE_FILE;
	if (!content && old && old->kind == LH_TREE_FILE && old->has_blob &&
	    old->size == now->st.st_size && old->mtime_ns == mtime_ns(&now->st)) {
		memcpy(now->blob.b, old->blob, 16);
		now->has_blob = 1;
		return 0;
	}
	if (fcntl(fd, F_GETFL) & O_PATH) {
		rfd = reopen_rdonly(fd);
		if (rfd < 0)
			return -errno;
		rc = put_content(rec, rfd, NULL, now);
		close(rfd);
	} else {
		rc = put_content(rec, fd, NULL, now);
	}
	return rc;
}

static int same(const struct lh_tree_node *old, const struct now *now)
{
	if (!old || old->kind != now->kind || old->mode != (now->st.st_mode & 07777))
		return 0;
	if (now->kind == LH_TREE_DIR)
		return 1;
	if (now->kind == LH_TREE_LINK)
		return old->target && !strcmp(old->target, now->target);
	return old->has_blob && !memcmp(old->blob, now->blob.b, 16) &&
	       old->size == now->st.st_size && old->mtime_ns == mtime_ns(&now->st);
}

static const char *kind_name(char kind)
{
	return kind == LH_TREE_DIR ? "dir" : kind == LH_TREE_LINK ? "symlink" : "file";
}

static void done_cb(void *arg, int status, int64_t seq)
{
	(void)seq;
	if (status)
		atomic_fetch_add_explicit(&((struct recorder *)arg)->failures, 1, memory_order_relaxed);
}

/*
 * Submit the events built so far, in one submission: the store commits
 * them in one transaction (a transaction per event would cost every
 * event its own writes of the same index pages).
 */
static void submit_batch(struct recorder *rec)
{
	size_t k;

	if (!rec->nbatch)
		return;
	if (lh_store_submit(rec->fs->store, rec->batch, (int)rec->nbatch, done_cb, rec))
		atomic_fetch_add_explicit(&rec->failures, rec->nbatch, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&rec->events, rec->nbatch, memory_order_relaxed);
	for (k = 0; k < rec->nbatch; k++)
		free(rec->batch_mem[k]);
	rec->nbatch = 0;
	atomic_store(&rec->unsubmitted, 0);
}

/* A copy of the event's strings in one allocation, for the batch. */
static void batch_add(struct recorder *rec, const struct lh_event *ev)
{
	const char *s[5] = { ev->type, ev->path, ev->agent, ev->payload, NULL };
	size_t len = 0, k;
	struct lh_event *copy;
	char *mem, *p;

	if (!rec->batch) {
		rec->batch = xcalloc(BATCH_MAX, sizeof(*rec->batch));
		rec->batch_mem = xcalloc(BATCH_MAX, sizeof(*rec->batch_mem));
	}
	for (k = 0; k < 4; k++)
		len += s[k] ? strlen(s[k]) + 1 : 0;
	mem = p = xmalloc(len + sizeof(struct lh_blob_id));
	copy = &rec->batch[rec->nbatch];
	*copy = *ev;
	if (ev->blob) {
		memcpy(p, ev->blob, sizeof(struct lh_blob_id));
		copy->blob = (const struct lh_blob_id *)(void *)p;
		p += sizeof(struct lh_blob_id);
	}
	for (k = 0; k < 4; k++) {
		const char **dst = k == 0 ? &copy->type : k == 1 ? &copy->path : k == 2 ? &copy->agent :
				   &copy->payload;

		if (!s[k])
			continue;
		memcpy(p, s[k], strlen(s[k]) + 1);
		*dst = p;
		p += strlen(s[k]) + 1;
	}
	rec->batch_mem[rec->nbatch++] = mem;
	atomic_store(&rec->unsubmitted, rec->nbatch);
	if (rec->nbatch == BATCH_MAX)
		submit_batch(rec);
}

/* Queue one event for the store and apply it to the tree. */
static void emit(struct recorder *rec, const struct rec_item *it, const struct lh_file_change *fc,
		 const char *agent)
{
	struct lh_event ev;
	struct lh_tree_change c;
	int64_t now = lh_wall_ns();

	if (lh_event_file(&ev, &rec->scratch, fc)) {
		atomic_fetch_add_explicit(&rec->failures, 1, memory_order_relaxed);
		return;
	}
	ev.time_ns = now;
	ev.uid = it->external ? -1 : (int64_t)it->who.uid;
	ev.gid = it->external ? -1 : (int64_t)it->who.gid;
	ev.pid = it->external ? -1 : (int64_t)it->who.pid;
	ev.agent = agent;
	batch_add(rec, &ev);
	if (it->external)
		atomic_fetch_add_explicit(&rec->external, 1, memory_order_relaxed);
	memset(&c, 0, sizeof(c));
	c.type = fc->type;
	c.path = fc->path;
	c.from = fc->from;
	c.kind = fc->kind && !strcmp(fc->kind, "dir") ? LH_TREE_DIR :
		 fc->kind && !strcmp(fc->kind, "symlink") ? LH_TREE_LINK : LH_TREE_FILE;
	c.mode = fc->mode;
	c.size = fc->size;
	c.blob = fc->blob ? fc->blob->b : NULL;
	c.target = fc->target;
	c.mtime_ns = fc->mtime_ns;
	c.time_ns = now;
	pthread_mutex_lock(&rec->tree_mu);
	lh_tree_apply(rec->tree, &c);
	pthread_mutex_unlock(&rec->tree_mu);
}

static void fill_change(struct lh_file_change *fc, const char *type, const char *path,
			const struct now *now, const struct rec_item *it)
{
	memset(fc, 0, sizeof(*fc));
	fc->type = type;
	fc->path = path;
	fc->kind = kind_name(now->kind);
	fc->target = now->has_target ? now->target : NULL;
	fc->blob = now->has_blob ? &now->blob : NULL;
	fc->size = now->kind == LH_TREE_DIR ? -1 : (int64_t)now->st.st_size;
	fc->mode = (int)(now->st.st_mode & 07777);
	fc->prev_mode = -1;
	fc->mtime_ns = now->kind == LH_TREE_DIR ? 0 : mtime_ns(&now->st);
	fc->external = it->external;
}

/* The tree's node for a path, copied out (the tree may change once the lock is let go). */
static int tree_get(struct recorder *rec, const char *path, struct lh_tree_node *copy)
{
	struct lh_tree_node *n;
	int found;

	pthread_mutex_lock(&rec->tree_mu);
	n = lh_tree_lookup(rec->tree, path);
	found = n && n != rec->tree->root;
	if (found) {
		*copy = *n;
		copy->target = n->target ? xstrdup(n->target) : NULL;
		copy->kids = NULL;
		copy->name = NULL;
	}
	pthread_mutex_unlock(&rec->tree_mu);
	return found;
}

/*
 * The session of a caller, found while the caller still runs (a short
 * process -- ln, mkdir -- is gone by the time its change is recorded),
 * and remembered a second per pid: /proc/PID/stat once per process.
 */
void record_who(struct lh_fs *fs, uid_t uid, gid_t gid, pid_t pid, struct rec_who *w)
{
	struct recorder *rec = fs->rec;
	size_t k = (size_t)pid % SESSIONS;
	int64_t now;

	w->uid = uid;
	w->gid = gid;
	w->pid = pid;
	w->agent[0] = '\0';
	if (!rec || pid <= 0)
		return;
	now = lh_mono_ns();
	pthread_mutex_lock(&rec->sess_mu);
	if (rec->sessions[k].pid == pid && rec->sessions[k].until_ns > now) {
		snprintf(w->agent, sizeof(w->agent), "%s", rec->sessions[k].session);
		pthread_mutex_unlock(&rec->sess_mu);
		return;
	}
	pthread_mutex_unlock(&rec->sess_mu);
	ident_session_of_pid(pid, w->agent, sizeof(w->agent));
	pthread_mutex_lock(&rec->sess_mu);
	rec->sessions[k].pid = pid;
	rec->sessions[k].until_ns = now + 1000000000LL;
	snprintf(rec->sessions[k].session, sizeof(rec->sessions[k].session), "%s", w->agent);
	pthread_mutex_unlock(&rec->sess_mu);
}

/* The agent a change is attributed to. */
static void agent_of(struct recorder *rec, const struct rec_item *it, char *out, size_t n)
{
	(void)rec;
	if (it->external)
		out[0] = '\0';
	else
		snprintf(out, n, "%s", it->who.agent);
}

static void record_links(struct recorder *rec, const struct rec_item *it, const char *path,
			 const struct stat *st, int content);

/*
 * Record the state of path as the inode on fd shows it (fd -1: as the
 * item's snapshot does), if that differs from the tree. `links`: and then the file's other names,
 * which changed with it.
 */
static void record_path(struct recorder *rec, const struct rec_item *it, const char *path, int fd,
			int content, int links)
{
	struct lh_tree_node old;
	struct lh_file_change fc;
	struct now now;
	char agent[FS_AGENT_MAX];
	int had = tree_get(rec, path, &old), rc;
	const char *type;

	if ((rc = look(rec, fd, it, content, had ? &old : NULL, &now))) {
		if (rc != -EOPNOTSUPP && rc != -ENOENT) {
			atomic_fetch_add_explicit(&rec->failures, 1, memory_order_relaxed);
			lh_warn("current/%s: not recorded: %s", path, strerror(-rc));
		}
		if (now.w)
			retire(rec, now.w);
		if (had)
			free(old.target);
		return;
	}
	if (now.kind == LH_TREE_FILE)
		lh_links_saw(rec->links, &now.st, path);
	if (had && same(&old, &now)) {
		free(old.target);
		if (now.w)
			retire(rec, now.w);
		return;
	}
	if (!had || old.kind != now.kind)
		type = "file.created";
	else if (old.mode != (now.st.st_mode & 07777) &&
		 (now.kind != LH_TREE_FILE || (old.has_blob && !memcmp(old.blob, now.blob.b, 16))))
		type = "file.mode";
	else
		type = "file.modified";
	fill_change(&fc, type, path, &now, it);
	if (!strcmp(type, "file.mode"))
		fc.prev_mode = (int)old.mode;
	if (had && old.kind != now.kind) {
		/* a file became a folder or the reverse: what was there went first */
		struct lh_file_change del;

		memset(&del, 0, sizeof(del));
		del.type = "file.deleted";
		del.path = path;
		del.kind = kind_name(old.kind);
		del.external = it->external;
		agent_of(rec, it, agent, sizeof(agent));
		emit(rec, it, &del, agent[0] ? agent : NULL);
	}
	agent_of(rec, it, agent, sizeof(agent));
	emit(rec, it, &fc, agent[0] ? agent : NULL);
	if (had)
		free(old.target);
	if (now.w)
		retire(rec, now.w);
	if (links && now.kind == LH_TREE_FILE && now.st.st_nlink > 1)
		record_links(rec, it, path, &now.st, content);
}

/* ... and the other names of a file that has them. */
static void record_now(struct recorder *rec, const struct rec_item *it, const char *path, int fd,
		       int content)
{
	record_path(rec, it, path, fd, content, 1);
}

/* Open path beneath the project with flags, following no symbolic link on the way; or -1. */
static int open_beneath(struct recorder *rec, const char *path, int flags)
{
	struct open_how how;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC);
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	return (int)syscall(SYS_openat2, rec->root, path[0] ? path : ".", &how, sizeof(how));
}

/* links.c asks: is path still a name of (dev, ino), which has others? */
static int link_still(void *arg, dev_t dev, ino_t ino, const char *path)
{
	struct stat st;
	int fd = open_beneath(arg, path, O_PATH), yes;

	if (fd < 0)
		return 0;
	yes = fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino && st.st_nlink > 1;
	close(fd);
	return yes;
}

/*
 * A file with other names changed (its content, mode or times): so did
 * they -- the record has a content per path. Each name still of the
 * inode is recorded as it is now (with the item's snapshot, when there
 * is one: the same inode), attributed as the change was; the others are
 * forgotten.
 */
static void record_links(struct recorder *rec, const struct rec_item *it, const char *path,
			 const struct stat *st, int content)
{
	char **names = lh_links_others(rec->links, st->st_dev, st->st_ino, path);
	struct stat nst;
	size_t k;

	for (k = 0; names && names[k]; k++) {
		int fd = open_beneath(rec, names[k], O_PATH);

		if (fd >= 0 && fstat(fd, &nst) == 0 && nst.st_dev == st->st_dev &&
		    nst.st_ino == st->st_ino)
			record_path(rec, it, names[k], fd, content, 0);
		else
			lh_links_drop(rec->links, st->st_dev, st->st_ino, names[k]);
		if (fd >= 0)
			close(fd);
	}
	lh_links_names_free(names);
}

/* Paths below a folder of the tree, depth first (parents first), for deletes and renames. */
struct below {
	char **paths;
	struct lh_tree_node *states;
	size_t n, cap;
};

static int collect(void *arg, const struct lh_tree_node *n)
{
	struct below *b = arg;
	struct lh_buf p = LH_BUF_INIT;

	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 16;
		b->paths = xrealloc(b->paths, b->cap * sizeof(*b->paths));
		b->states = xrealloc(b->states, b->cap * sizeof(*b->states));
	}
	lh_tree_path(n, &p);
	b->paths[b->n] = lh_buf_detach(&p, NULL);
	b->states[b->n] = *n;
	b->states[b->n].target = n->target ? xstrdup(n->target) : NULL;
	b->n++;
	return 0;
}

static void below_of(struct recorder *rec, const char *path, struct below *b)
{
	struct lh_tree_node *n;

	memset(b, 0, sizeof(*b));
	pthread_mutex_lock(&rec->tree_mu);
	n = lh_tree_lookup(rec->tree, path);
	if (n && n->kind == LH_TREE_DIR && n != rec->tree->root)
		lh_tree_walk(n, collect, b);
	pthread_mutex_unlock(&rec->tree_mu);
}

static void below_free(struct below *b)
{
	size_t k;

	for (k = 0; k < b->n; k++) {
		free(b->paths[k]);
		free(b->states[k].target);
	}
	free(b->paths);
	free(b->states);
}

static void record_gone(struct recorder *rec, const struct rec_item *it, const char *path)
{
	struct lh_tree_node old;
	struct lh_file_change fc;
	struct below b;
	char agent[FS_AGENT_MAX];
	size_t k;

	if (!tree_get(rec, path, &old))
		return;
	agent_of(rec, it, agent, sizeof(agent));
	below_of(rec, path, &b);
	/* the deepest first, so that every path's newest event says it is gone */
	for (k = b.n; k-- > 0;) {
		memset(&fc, 0, sizeof(fc));
		fc.type = "file.deleted";
		fc.path = b.paths[k];
		fc.kind = kind_name(b.states[k].kind);
		fc.external = it->external;
		emit(rec, it, &fc, agent[0] ? agent : NULL);
	}
	below_free(&b);
	memset(&fc, 0, sizeof(fc));
	fc.type = "file.deleted";
	fc.path = path;
	fc.kind = kind_name(old.kind);
	fc.external = it->external;
	emit(rec, it, &fc, agent[0] ? agent : NULL);
	free(old.target);
}

static void record_moved(struct recorder *rec, const struct rec_item *it)
{
	struct lh_tree_node old;
	struct lh_file_change fc;
	struct now now;
	struct below b;
	struct lh_buf np = LH_BUF_INIT;
	char agent[FS_AGENT_MAX];
	size_t k, fl = strlen(it->from);
	int had = tree_get(rec, it->from, &old);

	if (!had) {
		/* we never knew it: it is new where it is now */
		record_now(rec, it, it->path, it->fd, 0);
		return;
	}
	if (look(rec, it->fd, NULL, 0, &old, &now)) {
		free(old.target);
		record_gone(rec, it, it->from);
		return;
	}
	lh_links_moved(rec->links, it->from, it->path);
	if (now.kind == LH_TREE_FILE)
		lh_links_saw(rec->links, &now.st, it->path);
	agent_of(rec, it, agent, sizeof(agent));
	below_of(rec, it->from, &b);
	fill_change(&fc, "file.renamed", it->path, &now, it);
	fc.from = it->from;
	emit(rec, it, &fc, agent[0] ? agent : NULL);
	if (now.w)
		retire(rec, now.w);
	/* and one for every path below it: each path's newest event is its state */
	for (k = 0; k < b.n; k++) {
		const struct lh_tree_node *s = &b.states[k];
		struct lh_blob_id id;

		lh_buf_reset(&np);
		lh_buf_addf(&np, "%s%s", it->path, b.paths[k] + fl);
		memset(&fc, 0, sizeof(fc));
		fc.type = "file.renamed";
		fc.path = np.data;
		fc.from = b.paths[k];
		fc.kind = kind_name(s->kind);
		fc.target = s->target;
		if (s->has_blob) {
			memcpy(id.b, s->blob, 16);
			fc.blob = &id;
		} else if (s->kind == LH_TREE_FILE) {
			continue;	/* a file we never had the content of */
		}
		fc.size = s->kind == LH_TREE_DIR ? -1 : s->size;
		fc.mode = (int)s->mode;
		fc.prev_mode = -1;
		fc.mtime_ns = s->mtime_ns;
		fc.external = it->external;
		emit(rec, it, &fc, agent[0] ? agent : NULL);
	}
	lh_buf_release(&np);
	below_free(&b);
	free(old.target);
}

static void record_denial(struct recorder *rec, const struct rec_item *it)
{
	struct lh_file_denial d = { it->path, it->op, it->rule, it->reason };
	struct lh_event ev;
	char agent[FS_AGENT_MAX];

	if (lh_event_file_denied(&ev, &rec->scratch, &d))
		return;
	agent_of(rec, it, agent, sizeof(agent));
	ev.uid = it->who.uid;
	ev.gid = it->who.gid;
	ev.pid = it->who.pid;
	ev.agent = agent[0] ? agent : NULL;
	batch_add(rec, &ev);
	atomic_fetch_add_explicit(&rec->denied, 1, memory_order_relaxed);
}

static void scan_dir(struct recorder *rec, int dfd, const char *path);

/* Something changed at dir/name outside the mount: look and record what differs. */
static void record_outside_item(struct recorder *rec, struct rec_item *it)
{
	struct lh_buf p = LH_BUF_INIT;
	int fd, had_dir = 0;
	struct lh_tree_node old;

	lh_buf_addf(&p, "%s%s%s", it->path, it->path[0] ? "/" : "", it->name);
	fd = openat(it->fd, it->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			record_gone(rec, it, p.data);
		lh_buf_release(&p);
		return;
	}
	if (tree_get(rec, p.data, &old)) {
		had_dir = old.kind == LH_TREE_DIR;
		free(old.target);
	}
	record_now(rec, it, p.data, fd, 1);
	{
		struct stat st;

		/* a folder that appeared: what is in it appeared too */
		if (!had_dir && !it->scanned && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
			int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			if (dfd >= 0) {
				scan_dir(rec, dfd, p.data);
				close(dfd);
			}
		}
	}
	close(fd);
	lh_buf_release(&p);
}

/*
 * Record a directory's entries that differ from the tree, and the tree's
 * entries it no longer has, recursively (the recorder thread's own walk,
 * for a folder that appeared outside).
 */
static void scan_dir(struct recorder *rec, int dfd, const char *path)
{
	struct rec_item it;
	DIR *d;
	struct dirent *de;
	int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);

	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	memset(&it, 0, sizeof(it));
	it.external = 1;
	it.fd = dfd;
	it.path = (char *)path;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		it.name = de->d_name;
		record_outside_item(rec, &it);
	}
	closedir(d);
}

/*
 * Open the file of a REC_CONTENT item that came without a descriptor: by
 * its path beneath the project, if that is still its inode. Else the
 * name moved or went after the item was queued (the path was right then:
 * cur->ns orders them), and the items that say so come after this one:
 * the content is recorded under this path, read through the inode's node,
 * which holds it even once it has no name. Without a node it is lost.
 */
static int open_item(struct recorder *rec, struct rec_item *it)
{
	struct stat st;
	struct cnode *n;
	int fd, nfd;

	fd = open_beneath(rec, it->path, O_RDONLY);
	if (fd >= 0) {
		if (fstat(fd, &st) == 0 && st.st_ino == it->ino && st.st_dev == it->dev)
			return fd;
		close(fd);
	}
	n = cur_find_ref(rec->fs->cur, it->dev, it->ino);
	if (!n)
		return -1;
	fd = -1;
	nfd = cur_ref_get(rec->fs->cur, &n->ref);
	if (nfd >= 0)
		fd = reopen_rdonly(nfd);
	cur_ref_put(&n->ref, nfd);
	cur_unref(rec->fs->cur, n);
	return fd;
}

static void record_item(struct recorder *rec, struct rec_item *it)
{
	switch (it->kind) {
	case REC_CONTENT:
		if (it->snap)
			record_now(rec, it, it->path, -1, 1);
		else if (it->fd < 0)
			it->fd = open_item(rec, it);
		if (!it->snap && it->fd >= 0)
			record_now(rec, it, it->path, it->fd, 1);
		break;
	case REC_STATE:
		record_now(rec, it, it->path, it->fd, 0);
		break;
	case REC_DELETE:
		record_gone(rec, it, it->path);
		break;
	case REC_RENAME:
		record_moved(rec, it);
		break;
	case REC_DENIED:
		record_denial(rec, it);
		break;
	case REC_OUTSIDE:
		record_outside_item(rec, it);
		break;
	case REC_SCANNED:
		pthread_mutex_lock(&rec->tree_mu);
		rec->scan_done = 1;
		pthread_mutex_unlock(&rec->tree_mu);
		break;
	}
}

/*
 * Called with rec->mu held, after a wake-up: let a burst gather, so that
 * one wake-up (and one store transaction) serves many changes. A lone
 * change waits GATHER_NS; while changes keep coming (a storm: the last
 * nap brought GATHER_ITEMS or more) the naps go on, up to BATCH_MAX
 * queued or GATHER_MAX_NS in all.
 */
static void gather(struct recorder *rec)
{
	int64_t spent = 0;
	size_t before;

	while (rec->n < BATCH_MAX && spent < GATHER_MAX_NS && !rec->stop) {
		struct timespec nap = { 0, GATHER_NS };

		before = rec->n;
		pthread_mutex_unlock(&rec->mu);
		nanosleep(&nap, NULL);
		pthread_mutex_lock(&rec->mu);
		spent += GATHER_NS;
		if (rec->n - before < GATHER_ITEMS)
			break;	/* the burst is over */
	}
}

static void *recorder_main(void *arg)
{
	struct recorder *rec = arg;

	for (;;) {
		struct rec_item *it;

		pthread_mutex_lock(&rec->mu);
		if (!rec->head) {
			pthread_mutex_unlock(&rec->mu);
			submit_batch(rec);
			pthread_mutex_lock(&rec->mu);
		}
		if (!rec->head && !rec->stop) {
			pthread_mutex_unlock(&rec->mu);
			/* idle: what was sealed is committed by now, or soon */
			free_sealed(rec);
			pthread_mutex_lock(&rec->mu);
			while (!rec->head && !rec->stop)
				pthread_cond_wait(&rec->more, &rec->mu);
			gather(rec);
		}
		it = rec->head;
		if (!it) {
			pthread_mutex_unlock(&rec->mu);
			break;		/* stopping, and nothing left */
		}
		rec->head = it->next;
		if (!rec->head)
			rec->tail = NULL;
		rec->n--;
		rec->busy = 1;
		pthread_cond_signal(&rec->room);
		pthread_mutex_unlock(&rec->mu);
		record_item(rec, it);
		item_free(it);
		if (rec->nsealed >= 1024)
			free_sealed(rec);
		pthread_mutex_lock(&rec->mu);
		rec->busy = 0;
		pthread_mutex_unlock(&rec->mu);
		if (!rec->head)
			history_changed(rec->fs);
	}
	return NULL;
}

/* ---- the scan at start ------------------------------------------------------------------ */

/*
 * Walk the project: watch every directory, and queue every entry whose
 * kind, mode, size or modification time differ from the tree, and every
 * entry of the tree that is gone. The recorder compares contents.
 */
static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void scan_walk(struct recorder *rec, int dfd, const char *path, int depth)
{
	struct lh_fs *fs = rec->fs;
	struct lh_tree_node *tn;
	char **seen = NULL;
	size_t nseen = 0, cap = 0, k;
	DIR *d;
	struct dirent *de;
	int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);

	if (fd < 0 || depth > 256)
		goto out_fd;
	d = fdopendir(fd);
	if (!d)
		goto out_fd;
	while (!atomic_load(&rec->stop_scan) && (de = readdir(d))) {
		struct lh_buf p = LH_BUF_INIT;
		struct stat st;
		int differs = 1;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (current_hidden(fs, dfd, de->d_name))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		lh_buf_addf(&p, "%s%s%s", path, path[0] ? "/" : "", de->d_name);
		if (S_ISREG(st.st_mode) && st.st_nlink > 1)
			lh_links_saw(rec->links, &st, p.data);
		if (nseen == cap) {
			cap = cap ? cap * 2 : 64;
			seen = xrealloc(seen, cap * sizeof(*seen));
		}
		seen[nseen++] = xstrdup(de->d_name);
		pthread_mutex_lock(&rec->tree_mu);
		tn = lh_tree_lookup(rec->tree, p.data);
		if (tn && tn != rec->tree->root) {
			char kind = S_ISDIR(st.st_mode) ? LH_TREE_DIR : S_ISLNK(st.st_mode) ? LH_TREE_LINK :
				    LH_TREE_FILE;

			differs = tn->kind != kind || tn->mode != (st.st_mode & 07777) ||
				  (kind == LH_TREE_FILE && (tn->size != st.st_size ||
							    tn->mtime_ns != mtime_ns(&st)));
		}
		pthread_mutex_unlock(&rec->tree_mu);
		if (differs && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode)))
			queue_outside(fs, dfd, path, de->d_name, 1);
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub >= 0) {
				current_watch_fd(fs, sub);
				scan_walk(rec, sub, p.data, depth + 1);
				close(sub);
			}
		}
		lh_buf_release(&p);
	}
	closedir(d);
	if (atomic_load(&rec->stop_scan))
		goto out_seen;
	/* what the tree has here and the disk has not */
	{
		char **gone = NULL;
		size_t ngone = 0;

		if (nseen)
			qsort(seen, nseen, sizeof(*seen), cmp_name);
		pthread_mutex_lock(&rec->tree_mu);
		tn = path[0] ? lh_tree_lookup(rec->tree, path) : rec->tree->root;
		if (tn) {
			gone = xcalloc(tn->nkids + 1, sizeof(*gone));
			for (k = 0; k < tn->nkids; k++)
				if (!nseen ||
				    !bsearch(&tn->kids[k]->name, seen, nseen, sizeof(*seen), cmp_name))
					gone[ngone++] = xstrdup(tn->kids[k]->name);
		}
		pthread_mutex_unlock(&rec->tree_mu);
		for (k = 0; k < ngone; k++) {
			queue_outside(fs, dfd, path, gone[k], 1);
			free(gone[k]);
		}
		free(gone);
	}
out_seen:
	for (k = 0; k < nseen; k++)
		free(seen[k]);
	free(seen);
	return;
out_fd:
	if (fd >= 0)
		close(fd);
}

static void *scanner_main(void *arg)
{
	struct recorder *rec = arg;
	int fd = open(rec->fs->project, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		scan_walk(rec, fd, "", 0);
		close(fd);
	}
	enqueue(rec, item_new(REC_SCANNED, NULL, NULL, -1));
	return NULL;
}

/* ---- start and stop ------------------------------------------------------------------- */

int record_start(struct lh_fs *fs, int scan, struct lh_buf *err)
{
	struct recorder *rec = xcalloc(1, sizeof(*rec));
	struct lh_store_reader *r = NULL;
	int rc;

	rec->fs = fs;
	rec->root = open(fs->project, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rec->root < 0) {
		rc = -errno;
		lh_buf_addf(err, "recorder: project '%s': %s", fs->project, strerror(errno));
		free(rec);
		return rc;
	}
	pthread_mutex_init(&rec->mu, NULL);
	pthread_mutex_init(&rec->tree_mu, NULL);
	pthread_mutex_init(&rec->sess_mu, NULL);
	pthread_cond_init(&rec->more, NULL);
	pthread_cond_init(&rec->room, NULL);
	lh_buf_init(&rec->scratch, 0);
	rec->links = lh_links_new(link_still, rec);
	/* the project as recorded so far */
	rc = lh_store_reader_open(&r, fs->state_dir, err);
	if (!rc)
		rc = lh_tree_replay(r, 0, &rec->tree, err);
	if (r)
		lh_store_reader_close(r);
	if (rc)
		goto fail;
	fs->rec = rec;
	rc = -pthread_create(&rec->thread, NULL, recorder_main, rec);
	if (rc) {
		fs->rec = NULL;
		lh_buf_addf(err, "cannot start the recorder: %s", strerror(-rc));
		goto fail;
	}
	pthread_setname_np(rec->thread, "lh-recorder");
	rec->running = 1;
	if (scan && pthread_create(&rec->scanner, NULL, scanner_main, rec) == 0) {
		pthread_setname_np(rec->scanner, "lh-scanner");
		rec->scanning = 1;
	} else {
		rec->scan_done = 1;
	}
	return 0;
fail:
	close(rec->root);
	lh_tree_free(rec->tree);
	lh_links_free(rec->links);
	lh_buf_release(&rec->scratch);
	pthread_mutex_destroy(&rec->mu);
	pthread_mutex_destroy(&rec->tree_mu);
	pthread_mutex_destroy(&rec->sess_mu);
	pthread_cond_destroy(&rec->more);
	pthread_cond_destroy(&rec->room);
	free(rec);
	return rc;
}

void record_stop_scan(struct lh_fs *fs)
{
	struct recorder *rec = fs->rec;

	if (!rec || !rec->scanning)
		return;
	atomic_store(&rec->stop_scan, 1);
	pthread_join(rec->scanner, NULL);
	rec->scanning = 0;
}

void record_stop(struct lh_fs *fs)
{
	struct recorder *rec = fs->rec;

	if (!rec)
		return;
	record_stop_scan(fs);
	/* what is queued is recorded, then the thread ends */
	pthread_mutex_lock(&rec->mu);
	rec->stop = 1;
	pthread_cond_broadcast(&rec->more);
	pthread_cond_broadcast(&rec->room);
	pthread_mutex_unlock(&rec->mu);
	if (rec->running)
		pthread_join(rec->thread, NULL);
	submit_batch(rec);
	free_sealed(rec);
	free(rec->sealed);
	free(rec->batch);
	free(rec->batch_mem);
	while (rec->head) {
		struct rec_item *it = rec->head;

		rec->head = it->next;
		item_free(it);
	}
	fs->rec = NULL;
	close(rec->root);
	lh_tree_free(rec->tree);
	lh_links_free(rec->links);
	lh_buf_release(&rec->scratch);
	pthread_mutex_destroy(&rec->mu);
	pthread_mutex_destroy(&rec->tree_mu);
	pthread_mutex_destroy(&rec->sess_mu);
	pthread_cond_destroy(&rec->more);
	pthread_cond_destroy(&rec->room);
	free(rec);
}

void record_stats_render(struct lh_fs *fs, struct lh_buf *o)
{
	struct recorder *rec = fs->rec;

	if (!rec)
		return;
	lh_buf_adds(o, "# HELP lighthouse_current_recorded_total file events recorded (outside changes included)\n"
		       "# TYPE lighthouse_current_recorded_total counter\n");
	lh_buf_addf(o, "lighthouse_current_recorded_total %" PRIu64 "\n", (uint64_t)atomic_load(&rec->events));
	lh_buf_adds(o, "# HELP lighthouse_current_recorded_external_total changes made outside the mount, recorded\n"
		       "# TYPE lighthouse_current_recorded_external_total counter\n");
	lh_buf_addf(o, "lighthouse_current_recorded_external_total %" PRIu64 "\n",
		    (uint64_t)atomic_load(&rec->external));
	lh_buf_adds(o, "# HELP lighthouse_current_recorded_denials_total refused file operations, recorded\n"
		       "# TYPE lighthouse_current_recorded_denials_total counter\n");
	lh_buf_addf(o, "lighthouse_current_recorded_denials_total %" PRIu64 "\n", (uint64_t)atomic_load(&rec->denied));
	lh_buf_adds(o, "# HELP lighthouse_current_record_failures_total events the store could not take\n"
		       "# TYPE lighthouse_current_record_failures_total counter\n");
	lh_buf_addf(o, "lighthouse_current_record_failures_total %" PRIu64 "\n",
		    (uint64_t)atomic_load(&rec->failures));
	lh_buf_adds(o, "# HELP lighthouse_current_recorded_bytes_total bytes of content stored for changes\n"
		       "# TYPE lighthouse_current_recorded_bytes_total counter\n");
	lh_buf_addf(o, "lighthouse_current_recorded_bytes_total %" PRIu64 "\n", (uint64_t)atomic_load(&rec->bytes));
	lh_buf_adds(o, "# HELP lighthouse_current_record_backlog changes waiting to be recorded (the first scan counts one)\n"
		       "# TYPE lighthouse_current_record_backlog gauge\n");
	lh_buf_addf(o, "lighthouse_current_record_backlog %" PRIu64 "\n", record_backlog(fs));
	lh_buf_adds(o, "# HELP lighthouse_current_link_names names of files with more than one, kept to record them together\n"
		       "# TYPE lighthouse_current_link_names gauge\n");
	lh_buf_addf(o, "lighthouse_current_link_names %zu\n", lh_links_count(rec->links));
}

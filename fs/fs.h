/*
 * fs.h -- inside lighthoused: the daemon context and the interfaces
 * between the files of fs/ (ops.c dispatches, reqtab.c owns requests/ and
 * results/, stats.c counts, ctl.c answers the ctl file, ident.c knows
 * callers). Nothing outside fs/ includes this.
 *
 * Inode numbers: the fixed tree has small numbers (FS_INO_*); dynamic
 * inodes carry their kind in the top byte and an id below it:
 *
 *   requests/NAME        FS_KIND_REQ  | slot id
 *   results/NAME         FS_KIND_RES  | request id
 *   results/NAME.json    FS_KIND_JSON | request id
 *   streams/NAME[?since=SEQ]  FS_KIND_STREAM | (SEQ+1 or 0) << 4 | stream
 *   current/PATH         FS_KIND_CUR  | address of its node (current.h)
 *   history/NAME/PATH    FS_KIND_HIST | view << 32 | node (history.c)
 *   shadows/PATH[.json]  FS_KIND_SHADOW | id of the path looked up (shadows.c)
 *   experts/NAME[/PART]  FS_KIND_EXPERT | expert id << 4 | part (EXP_*)
 *   experts/NAME/queue/ID        FS_KIND_QUEUED | expert id << 40 | request id
 *   experts/NAME/inprogress/ID   FS_KIND_CLAIMED | expert id << 40 | request id
 *   context/ID[/PART]    FS_KIND_CTX | request id << 8 | part (CTX_*)
 *   context/ID/files/F   FS_KIND_CTXFILE | request id << 8 | file index
 *
 * A result inode belongs to one request and never changes once judged, so
 * the kernel may cache it (attributes and pages); writing requests/NAME
 * again makes a new request and so a new results/NAME inode.
 *
 * Rooms: current/ (current*.c) owns FS_INO_CURRENT and the FS_KIND_CUR
 * inodes, history/ (history.c) FS_INO_HISTORY and the FS_KIND_HIST ones,
 * shadows/ (shadows.c) FS_INO_SHADOWS and the FS_KIND_SHADOW ones;
 * each answers every operation on them through its own fuse_lowlevel_ops
 * table, to which ops.c dispatches.
 */
#ifndef LH_FS_H
#define LH_FS_H

#define FUSE_USE_VERSION 312

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <fuse_lowlevel.h>

#include "validator/verdict.h"

struct lh_store;
struct lh_validator;
struct lh_policy;
struct lh_buf;
struct reqtab;
struct agents;
struct streams;
struct current;
struct recorder;
struct history;
struct shadows;
struct lh_tree;
struct esc;
struct learned;
struct ctxpkg;

enum {
	FS_INO_ROOT = 1,
	FS_INO_REQUESTS,
	FS_INO_RESULTS,
	FS_INO_CURRENT,
	FS_INO_HISTORY,
	FS_INO_SHADOWS,
	FS_INO_CONTEXT,
	FS_INO_EXPERTS,
	FS_INO_STREAMS,
	FS_INO_POLICY,
	FS_INO_STATS,
	FS_INO_CTL,
	FS_INO_POLICY_ACTIVE,
	FS_INO_POLICY_LEARNED,
	FS_INO_FIXED_MAX
};

#define FS_KIND_SHIFT 56
#define FS_KIND_REQ 1ULL
#define FS_KIND_RES 2ULL
#define FS_KIND_JSON 3ULL
#define FS_KIND_STREAM 4ULL
#define FS_KIND_CUR 5ULL
#define FS_KIND_HIST 6ULL
#define FS_KIND_SHADOW 7ULL
/* escalation's rooms (experts.c, context.c): kinds from 8, out of the way of others */
#define FS_KIND_EXPERT 8ULL
#define FS_KIND_QUEUED 9ULL
#define FS_KIND_CLAIMED 10ULL
#define FS_KIND_CTX 11ULL
#define FS_KIND_CTXFILE 12ULL
#define FS_INO(kind, id) (((kind) << FS_KIND_SHIFT) | (id))
#define FS_INO_KIND(ino) ((uint64_t)(ino) >> FS_KIND_SHIFT)
#define FS_INO_ID(ino) ((uint64_t)(ino) & ((1ULL << FS_KIND_SHIFT) - 1))

/* Settings from the command line (-o NAME=VALUE) and lighthousectl config. */
struct fs_config {
	unsigned result_ttl;		/* seconds a judged request stays listed */
	unsigned max_results;		/* names listed at most in requests/ and results/ */
	unsigned max_request;		/* bytes of one request */
	unsigned cache_entries;		/* verdict cache entries */
	unsigned threads;		/* FUSE worker threads at most */
	unsigned batch_usec;		/* group commit: wait this long to fill a batch */
	int sync_full;			/* fsync every commit */
	double attr_timeout;		/* seconds the kernel caches immutable attributes */
	unsigned rate_agent;		/* requests a second per agent (0: no limit) */
	unsigned rate_agent_burst;	/* bucket size per agent */
	unsigned rate_uid;		/* requests a second per uid (0: no limit) */
	unsigned rate_uid_burst;	/* bucket size per uid */
	unsigned sla_p99_us;		/* verdict p99 above this over sla_window is a breach (0: off) */
	unsigned sla_window;		/* seconds the SLA is measured over */
	double cur_entry_timeout;	/* seconds the kernel caches names of current/ */
	double cur_attr_timeout;	/* seconds the kernel caches attributes of current/ */
	unsigned cur_scan;		/* reconcile the project with the store at start */
	unsigned cur_fds;		/* descriptors current/'s nodes keep at most (0: half the limit) */
	unsigned escalation_timeout;	/* seconds an escalation waits for a decision (0: off) */
	unsigned claim_timeout;		/* seconds an expert may hold an escalation undecided */
};

/* FUSE operations we count (fs_stats.ops[]). */
enum fs_op {
	OP_LOOKUP, OP_FORGET, OP_GETATTR, OP_SETATTR, OP_OPEN, OP_CREATE, OP_READ,
	OP_WRITE, OP_FLUSH, OP_RELEASE, OP_OPENDIR, OP_READDIR, OP_RELEASEDIR,
	OP_UNLINK, OP_STATFS, OP_READDIRPLUS, OP_MKDIR, OP_MKNOD, OP_RMDIR, OP_RENAME,
	OP_LINK, OP_SYMLINK, OP_READLINK, OP_FSYNC, OP_GETXATTR, OP_SETXATTR, OP_LISTXATTR,
	OP_REMOVEXATTR, OP_FALLOCATE, OP_COPY_FILE_RANGE, OP_LSEEK, OP_OTHER, OP_COUNT
};

#define FS_LAT_BUCKETS 16
#define FS_OP_BUCKETS 14

/* Kinds of verdicts, for the latency histograms. */
enum fs_kind { KIND_CACHED, KIND_FRESH, KIND_INVALID, KIND_LIMITED, KIND_ESCALATED, KIND_COUNT };

struct fs_stats {
	_Atomic uint64_t ops[OP_COUNT];
	_Atomic uint64_t op_lat[OP_COUNT][FS_OP_BUCKETS];	/* handler time (fs_op_bounds) */
	_Atomic uint64_t op_lat_sum_ns[OP_COUNT];
	_Atomic uint64_t verdict_lat[KIND_COUNT][FS_LAT_BUCKETS];	/* by fs_lat_bounds */
	_Atomic uint64_t verdict_lat_sum_us[KIND_COUNT];
	_Atomic uint64_t verdicts;
	_Atomic uint64_t verdicts_by_tier[8];
	_Atomic uint64_t verdicts_by_decision[3];
	_Atomic uint64_t cache_hits;
	_Atomic uint64_t store_failures;	/* verdicts denied because the store could not record */
	_Atomic uint64_t parked_reads;		/* reads that waited for a verdict */
	_Atomic uint64_t nonblock_again;	/* O_NONBLOCK reads answered EAGAIN */
	_Atomic uint64_t expired;		/* names expired from requests/ and results/ */
	_Atomic uint64_t too_large;		/* requests over the size limit */
	_Atomic uint64_t invalid;		/* requests denied as invalid */
	_Atomic uint64_t reloads, reload_failures;
	_Atomic uint64_t rate_limited;		/* requests denied by a rate limit */
	_Atomic uint64_t rate_held;		/* of which answered only at their retry-after */
	/* the SLA, written by the maintenance thread */
	_Atomic uint64_t sla_p99_us;		/* verdict p99 over the last window */
	_Atomic uint64_t sla_breached;		/* 1 while the p99 is above the threshold */
	_Atomic int64_t sla_since_wall;		/* when the current breach began */
	_Atomic uint64_t sla_breaches;		/* breaches since start */
	/* escalation */
	_Atomic uint64_t escalations;		/* requests escalated since start */
	_Atomic uint64_t escalations_by[4];	/* decided by: expert, human, timeout, restart */
	_Atomic uint64_t claims, claims_expired;
	_Atomic uint64_t learned_rules;		/* decisions remembered as rules since start */
};

extern const unsigned fs_lat_bounds[FS_LAT_BUCKETS];	/* microseconds; last is +Inf */
extern const unsigned fs_op_bounds[FS_OP_BUCKETS];	/* microseconds; last is +Inf */

#define FS_AGENT_MAX 96

struct fs_agent_row {
	char name[FS_AGENT_MAX];
	uid_t uid;
	uint64_t requests, limited;
	uint64_t decisions[3];
};

struct lh_fs {
	struct fuse_session *se;
	struct lh_validator *validator;
	struct lh_store *store;
	struct reqtab *reqs;
	struct agents *agents;
	struct holds *holds;		/* answers held until a time (hold.c) */
	struct streams *streams;	/* streams/ (streams.c) */
	struct current *cur;		/* current/ */
	struct recorder *rec;		/* the recorder of changes (record.c) */
	struct history *hist;		/* history/ (history.c) */
	struct shadows *shadows;	/* shadows/ (shadows.c) */
	struct esc *esc;		/* escalations and experts (escalate.c) */
	struct learned *learned;	/* rules learned from decisions (learned.c) */
	struct fs_config cfg;
	struct fs_stats stats;
	char *project;			/* absolute project directory */
	char *state_dir;
	char *policy_path;		/* NULL: built-in default */
	char *mountpoint;
	pid_t pid;
	int64_t started_mono, started_wall;
	uid_t owner;			/* user running the daemon */
	pthread_mutex_t reload_mu;	/* serializes policy reloads */
	unsigned max_write;		/* the kernel splits writes larger than this */
	atomic_uint policy_gen;
};

/* ops.c */
extern const struct fuse_lowlevel_ops lh_fs_ops;
void fs_fill_attr(struct lh_fs *fs, fuse_ino_t ino, struct stat *st);
/* A name that is a request id ("42": no sign, no leading 0, below 2^bits), or -ENOENT. */
int fs_parse_id(const char *name, unsigned bits, uint64_t *id);

/* current.c: current/, the project passed through (its operations; see current.h) */
extern const struct fuse_lowlevel_ops current_ops;
int current_new(struct lh_fs *fs, struct lh_buf *err);
void current_free(struct lh_fs *fs);
/* One of a batch of FORGETs (forget_multi) for a current/ inode. */
void current_forget(struct lh_fs *fs, fuse_ino_t ino, uint64_t nlookup);
/* Stop the notifier (before the recorder stops: it feeds it). */
void current_stop(struct lh_fs *fs);
/* The attributes of current/ itself: the project directory's. */
void current_root_attr(struct lh_fs *fs, struct stat *st);
/* current/'s metrics for the stats file. */
void current_stats_render(struct lh_fs *fs, struct lh_buf *out);
/* Is dir/name the mount point, hidden from current/? (fd on the directory) */
int current_hidden(struct lh_fs *fs, int dirfd, const char *name);
/* ... the same, dir a path relative to the project */
int current_hidden_path(struct lh_fs *fs, const char *dir, const char *name);
/* Watch the directory fd is open on (the scan watches every directory). */
void current_watch_fd(struct lh_fs *fs, int fd);

/*
 * record.c: changes become file events. Operations queue what changed;
 * the descriptors passed are taken (closed by the recorder).
 */
struct rec_who {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	char agent[FS_AGENT_MAX];	/* the caller's kernel session, "" unknown */
};

/* Who the kernel says is calling, with the caller's session (cached a second per pid). */
void record_who(struct lh_fs *fs, uid_t uid, gid_t gid, pid_t pid, struct rec_who *w);

int record_start(struct lh_fs *fs, int scan, struct lh_buf *err);
/* Stop the first scan (it resumes at the next start). */
void record_stop_scan(struct lh_fs *fs);
/* Record what is queued, then stop. */
void record_stop(struct lh_fs *fs);
/* path's content changed: fd O_RDONLY on it */
void record_content(struct lh_fs *fs, const struct rec_who *who, const char *path, int fd);
/*
 * path's content changed, in two steps: the item (NULL when nothing
 * records), with a small content read now from fd (-1: none; the caller
 * keeps it) -- a bigger one the recorder opens by path, if it is still
 * inode (dev, ino) -- then queued or dropped, so that the caller can
 * learn, after the read, whether someone else recorded that content.
 */
struct rec_item;
struct rec_item *record_content_take(struct lh_fs *fs, const struct rec_who *who, const char *path,
				     dev_t dev, ino_t ino, int fd);
void record_item_queue(struct lh_fs *fs, struct rec_item *it);
void record_item_drop(struct rec_item *it);
/* path's state changed (made, mode, link...): fd O_PATH on it */
void record_state(struct lh_fs *fs, const struct rec_who *who, const char *path, int fd);
void record_delete(struct lh_fs *fs, const struct rec_who *who, const char *path);
/* from moved to `to`: fd O_PATH on it */
void record_rename(struct lh_fs *fs, const struct rec_who *who, const char *from, const char *to,
		   int fd);
void record_denied(struct lh_fs *fs, const struct rec_who *who, const char *path, const char *op,
		   const char *rule, const char *reason);
/* dirpath/name changed outside the mount (dirfd on dirpath: duplicated) */
void record_outside(struct lh_fs *fs, int dirfd, const char *dirpath, const char *name);
/* Changes queued or being recorded (1 more while the first scan runs). */
uint64_t record_backlog(struct lh_fs *fs);
/* A copy of the project as recorded (history/latest). */
struct lh_tree *record_tree_clone(struct lh_fs *fs);
void record_stats_render(struct lh_fs *fs, struct lh_buf *out);

/* shadows.c: shadows/ */
extern const struct fuse_lowlevel_ops shadows_ops;
int shadows_new(struct lh_fs *fs, struct lh_buf *err);
void shadows_free(struct lh_fs *fs);
void shadows_forget(struct lh_fs *fs, fuse_ino_t ino, uint64_t nlookup);

/* history.c: history/ */
extern const struct fuse_lowlevel_ops history_ops;
int history_new(struct lh_fs *fs, struct lh_buf *err);
void history_forget(struct lh_fs *fs, fuse_ino_t ino, uint64_t nlookup);
void history_free(struct lh_fs *fs);
/* The recorder recorded changes: history/latest moves on. */
void history_changed(struct lh_fs *fs);

/* reqtab.c: requests/ and results/ */
struct reqtab *reqtab_new(struct lh_fs *fs);
void reqtab_free(struct reqtab *t);
void reqtab_lookup(struct lh_fs *fs, fuse_req_t req, fuse_ino_t parent, const char *name);
void reqtab_forget(struct lh_fs *fs, fuse_ino_t ino, uint64_t n);
int reqtab_getattr(struct lh_fs *fs, fuse_ino_t ino, struct stat *st);
void reqtab_create(struct lh_fs *fs, fuse_req_t req, const char *name, mode_t mode,
		   struct fuse_file_info *fi);
void reqtab_open(struct lh_fs *fs, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void reqtab_read(struct lh_fs *fs, fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		 struct fuse_file_info *fi);
void reqtab_write(struct lh_fs *fs, fuse_req_t req, fuse_ino_t ino, const char *buf,
		  size_t size, struct fuse_file_info *fi);
void reqtab_release(struct lh_fs *fs, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void reqtab_unlink(struct lh_fs *fs, fuse_req_t req, fuse_ino_t parent, const char *name);
void reqtab_setattr(struct lh_fs *fs, fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		    int to_set, struct fuse_file_info *fi);
/* The names of requests/ or results/, for readdir. */
struct dirsnap;
void reqtab_dirsnap(struct lh_fs *fs, fuse_ino_t dir, struct dirsnap *d);
/* Answer parked reads that can no longer be answered (shutdown). */
void reqtab_abort_parked(struct lh_fs *fs, int err);

/* ops.c: a directory listing taken at opendir (fi->fh of the open directory) */
struct dirsnap_ent {
	char *name;
	fuse_ino_t ino;
	mode_t type;		/* S_IFDIR or S_IFREG */
};

/*
 * Handles the kernel may never release: a client that still holds one
 * when the daemon stops (SIGTERM, unmount) gets no RELEASE to us, and the
 * kernel sends RELEASE after close() returns, so it can be lost when the
 * mount goes at once. Every handle a room gives the kernel (fi->fh) starts
 * with one of these and is listed from its open to its release; after the
 * session loop, ops_free_open frees what is still listed with each one's
 * `free`, which takes it off the list first.
 */
struct fs_open_link {
	struct fs_open_link *prev, *next;
	void (*free)(struct fs_open_link *l);
};

/* List a handle, with the function that frees it; take it off (ops.c). */
void fs_open_add(struct fs_open_link *l, void (*free_fn)(struct fs_open_link *l));
void fs_open_del(struct fs_open_link *l);
/* The `free` of a handle that owns nothing else: off the list, freed. */
void fs_open_free(struct fs_open_link *l);

struct dirsnap {
	struct fs_open_link link;	/* first: listed while open (fs.h) */
	struct dirsnap_ent *v;
	size_t n, cap;
};

void dirsnap_add(struct dirsnap *d, const char *name, size_t len, fuse_ino_t ino, mode_t type);
/* Answer READDIR(PLUS) from a listing (plus: names only, the kernel looks them up). */
void dirsnap_reply(fuse_req_t req, struct dirsnap *d, size_t size, off_t off, int plus);
void dirsnap_release(struct dirsnap *d);
/* After the session loop: free every handle still listed (fs_open_link). */
void ops_free_open(void);
/* Expire old names; run by the maintenance thread. */
void reqtab_expire(struct lh_fs *fs);
void reqtab_counts(struct lh_fs *fs, uint64_t *names, uint64_t *pending, uint64_t *parked,
		   uint64_t *records);

/* hold.c: run fn(arg) at a monotonic time, from one thread */
struct holds *holds_new(void);
int holds_start(struct holds *h);
/* 0, or -ESHUTDOWN when stopped or not started: then the caller runs fn now. */
int holds_add(struct holds *h, int64_t at_ns, void (*fn)(void *arg), void *arg);
size_t holds_count(struct holds *h);
/* Run everything still held, now, and stop the thread. */
void holds_stop(struct holds *h);
void holds_free(struct holds *h);
/* reqtab.c: escalated requests (see escalate.c) */
/* The final verdict of an escalated request, once its events are committed. */
struct fs_decided {
	struct lh_verdict verdict;	/* decision, tier (expert, human, limit), rule, reason */
	char by[128];			/* who decided: "alice", "security-bot", "timeout" */
	char escalated[LH_RULE_MAX];	/* the rule that escalated ("" for the risk tier) */
};
int reqtab_decided(struct lh_fs *fs, uint64_t id, const struct fs_decided *d);
/* Restart: an escalated request of the store is pending again (0 or -errno). */
struct esc_request;
int reqtab_recover(struct lh_fs *fs, const struct esc_request *rq);

/* agents.c: identity, rate limits, per-agent counters */
struct agents *agents_new(void);
void agents_free(struct agents *a);
/*
 * Count a request; 0 when admitted, else microseconds to wait ("agent" or
 * "uid" in *which). *hold_ns: 0, or the monotonic time until which the
 * (limited) answer is to be held: the agent asked before its retry-after.
 */
int64_t agents_admit(struct lh_fs *fs, const char *agent, uid_t uid, const char **which,
		     int64_t *hold_ns);
void agents_decided(struct lh_fs *fs, const char *agent, uid_t uid, int decision);
/* The busiest agents, most requests first; returns how many were written. */
int agents_top(struct lh_fs *fs, struct fs_agent_row *out, int max);
size_t agents_count(struct lh_fs *fs);

/* streams.c: streams/ */
struct streams *streams_new(struct lh_fs *fs);
/* End every stream: parked reads get end of file. After the store is closed. */
void streams_stop(struct lh_fs *fs);
void streams_free(struct lh_fs *fs);
void streams_lookup(struct lh_fs *fs, fuse_req_t req, const char *name);
void streams_getattr(struct lh_fs *fs, fuse_req_t req, fuse_ino_t ino);
void streams_dirsnap(struct lh_fs *fs, struct dirsnap *d);
void streams_open(struct lh_fs *fs, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void streams_read(struct lh_fs *fs, fuse_req_t req, size_t size, struct fuse_file_info *fi);
void streams_release(struct lh_fs *fs, fuse_req_t req, struct fuse_file_info *fi);

/* stats.c */
void fs_stats_verdict(struct lh_fs *fs, int decision, int tier, enum fs_kind kind, uint64_t us);
void fs_stats_op(struct lh_fs *fs, enum fs_op op, int64_t start_ns);
int fs_stats_render(struct lh_fs *fs, struct lh_buf *out);
/* The SLA check, once a second from the maintenance thread. */
void fs_stats_sla(struct lh_fs *fs);

/* ctl.c: the ctl file; returns the reply text for one command line. */
int fs_ctl_command(struct lh_fs *fs, uid_t uid, const char *line, size_t len, struct lh_buf *reply);
int fs_reload_policy(struct lh_fs *fs, struct lh_buf *msg);
/* Record an sla.breach or sla.recovered event. */
void fs_record_sla(struct lh_fs *fs, const char *type, uint64_t p99, uint64_t verdicts,
		   unsigned window);
/* Check settings against the table's ranges; messages appended to err. */
int fs_config_check(const struct fs_config *cfg, struct lh_buf *err);

/* ---- escalation (escalate.c: the model; experts.c, context.c: its views) ---- */

/* An escalated request, as judge() hands it over (strings are copied). */
struct esc_request {
	uint64_t id;
	const char *name;		/* requests/NAME */
	const char *agent, *session;	/* who asked; session may be NULL */
	const char *user;		/* the caller's user name ("" unknown) */
	uid_t uid;
	gid_t gid;
	pid_t pid;
	const char *tool, *input, *cwd;	/* the request, decoded */
	const char *raw;		/* the request as written */
	size_t raw_len;
	const char *rule, *reason, *tier;	/* the verdict that escalated */
	int risk;			/* its risk score (0: none) */
	int quorum;			/* experts who must agree */
	const char *caps;		/* capability words it needs, space separated */
	int64_t created_wall, deadline_wall;
	struct ctxpkg *ctx;		/* the context package; taken over by esc_open */
};

/* What the views (experts/, context/, ctl) see of one escalation, under esc's lock. */
struct esc_view {
	const struct esc_request *rq;
	const char *state;		/* "pending", "deciding" or "decided" */
	int nvotes;
	const char *offered, *claimed;	/* expert names, blank separated ("" none) */
	const char *votes;		/* "NAME:DECISION ..." */
	int64_t claim_until_wall;	/* for the viewing expert's claim, else 0 */
	/* once decided */
	const char *decision, *by, *who, *why, *learned_rule;
	int64_t decided_wall;
};

enum { EXP_DIR, EXP_CAPS, EXP_QUEUE, EXP_INPROGRESS, EXP_NEXT, EXP_PARTS };
enum { CTX_DIR, CTX_MANIFEST, CTX_REQUEST, CTX_RECENT, CTX_FILES, CTX_PARTS };

struct esc *esc_new(struct lh_fs *fs);
void esc_free(struct lh_fs *fs);
/* The worker thread: deadlines, claims, publishing learned rules. */
int esc_start(struct lh_fs *fs);
void esc_stop(struct lh_fs *fs);
/* Start-up: experts from the store, then escalations left pending (before mounting). */
int esc_recover(struct lh_fs *fs, struct lh_buf *err);
/* The capability words and quorum an escalation needs (judge(), before recording it). */
void esc_describe(struct lh_fs *fs, const struct lh_verdict *v, const char *tool,
		  const struct ctxpkg *ctx, int *quorum, struct lh_buf *caps);
/* The escalation event (lh_event_escalation) for rq; buf holds its payload. */
struct lh_event;
int esc_event(const struct esc_request *rq, int to_experts, unsigned timeout_s,
	      struct lh_event *ev, struct lh_buf *buf);
int esc_has_experts_for(struct lh_fs *fs, const char *caps);
/* Is uid the user of a registered expert (who may read context/)? */
int esc_is_expert_uid(struct lh_fs *fs, uid_t uid);
/* Hold an escalated request until it is decided (its events are committed). */
void esc_open(struct lh_fs *fs, const struct esc_request *rq);
/* Decisions of people (lighthousectl approve / deny): 0 or -errno with msg. */
int esc_decide_human(struct lh_fs *fs, uint64_t id, const char *who, enum lh_decision d,
		     const char *reason, const char *remember, struct lh_buf *msg);
/* lighthousectl pending, expert add/list/remove */
void esc_pending_render(struct lh_fs *fs, struct lh_buf *out);
int esc_expert_add(struct lh_fs *fs, const char *name, uid_t uid, gid_t gid, const char *caps,
		   struct lh_buf *msg);
int esc_expert_remove(struct lh_fs *fs, const char *name, uid_t uid, struct lh_buf *msg);
void esc_expert_list(struct lh_fs *fs, struct lh_buf *out);
void esc_counts(struct lh_fs *fs, uint64_t *pending, uint64_t *experts);
void esc_abort_parked(struct lh_fs *fs, int err);

/* Views: fn runs under esc's lock; it must not call into FUSE, the store or reqtab. */
typedef void (*esc_view_fn)(void *arg, const struct esc_view *v);
int esc_with(struct lh_fs *fs, uint64_t id, uint32_t expert, esc_view_fn fn, void *arg);
/* context/: the escalations to list, newest last */
void esc_ids(struct lh_fs *fs, struct dirsnap *d);

/* experts/ (experts.c, with the registry's accessors in escalate.c) */
struct esc_expert_info {
	uint32_t id;
	char name[64];
	uid_t uid;
	gid_t gid;
	char caps[512];
};
int esc_expert_by_name(struct lh_fs *fs, const char *name, struct esc_expert_info *out);
int esc_expert_by_id(struct lh_fs *fs, uint32_t id, struct esc_expert_info *out);
void esc_expert_names(struct lh_fs *fs, struct dirsnap *d);
/* queue/ (claimed 0) or inprogress/ (claimed 1) of an expert */
void esc_expert_items(struct lh_fs *fs, uint32_t expert, int claimed, struct dirsnap *d);
int esc_expert_holds(struct lh_fs *fs, uint32_t expert, uint64_t id, int claimed);
int esc_expert_set_caps(struct lh_fs *fs, uint32_t expert, const char *caps);
int esc_claim(struct lh_fs *fs, uint32_t expert, uint64_t id);
int esc_unclaim(struct lh_fs *fs, uint32_t expert, uint64_t id);
int esc_decline(struct lh_fs *fs, uint32_t expert, uint64_t id);
int esc_vote(struct lh_fs *fs, uint32_t expert, uint64_t id, enum lh_decision d,
	     const char *reason, const char *remember, struct lh_buf *msg);
/* experts/NAME/next: answer with the queue now, or park until it is not empty */
void esc_next(struct lh_fs *fs, fuse_req_t req, uint32_t expert, size_t size, int nonblock);

extern const struct fuse_lowlevel_ops experts_ops;
extern const struct fuse_lowlevel_ops context_ops;
/* the room of a dynamic inode (experts_ops, context_ops), or NULL */
const struct fuse_lowlevel_ops *fs_room_of(fuse_ino_t ino);

/* context.c: the context package of an escalation */
struct lh_judge_in;
struct ctxpkg *context_build(struct lh_fs *fs, const struct lh_judge_in *in);
void context_free(struct ctxpkg *c);
/* command names the request runs, blank separated */
const char *context_commands(const struct ctxpkg *c);

/* learned.c: rules learned from decisions, policy/learned */
struct learned *learned_new(void);
void learned_free(struct learned *l);
/* Read the learned rules from the store (start-up). */
int learned_load(struct lh_fs *fs, struct lh_buf *err);
/* The readable file policy/learned (also what is compiled). */
void learned_render(struct lh_fs *fs, struct lh_buf *out);
/* A rule committed to the store: in force after the next learned_publish. */
void learned_add(struct lh_fs *fs, const char *id, const char *text);
int learned_forget(struct lh_fs *fs, const char *id, const char *who, struct lh_buf *msg);
/* Compile the policy (file or built-in) with the learned rules. */
int fs_policy_compile(struct lh_fs *fs, struct lh_policy **out, struct lh_buf *err);
/* Compile and publish the policy with the learned rules now known. */
int learned_publish(struct lh_fs *fs, struct lh_buf *msg);
int learned_count(struct lh_fs *fs);

/* ident.c: who a caller is */
struct fs_ident {
	char home[256];
	char user[64];
};
void ident_of_uid(uid_t uid, struct fs_ident *id);
/* The kernel session of a process ("sid:N"), or "pid:N" when it is gone. */
void ident_session_of_pid(pid_t pid, char *out, size_t n);
/* The cwd of a process, or "" when it cannot be read. */
void ident_cwd_of_pid(pid_t pid, char *out, size_t n);

#endif

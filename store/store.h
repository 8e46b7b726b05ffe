/*
 * store.h -- the event store: every request, verdict and change, in order,
 * chained, with the contents of files as deduplicated blobs.
 *
 * One SQLite database in WAL mode under the state directory, written by
 * one writer thread (see store.c for the durability point and group
 * commit), read by any number of readers through their own connections.
 * schema.sql documents every table and column; chain.c the checksum chain;
 * blob.c the chunked contents. The store knows nothing of FUSE; the
 * validator knows nothing of it.
 *
 * Rooms of store/: store.c (writer, queue, group commit), schema.c
 * (creation, migrations, refusing foreign files), chain.c (row checksums),
 * cdc.c (content-defined chunking), blob.c (blob put and get), events.c
 * (the event types and their payloads), reader.c (queries), verify.c,
 * export.c (export and import), vacuum.c (retention).
 */
#ifndef LH_STORE_H
#define LH_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct lh_buf;
struct lh_store;

#define LH_STORE_FILE "events.db"
#define LH_STORE_LOCK "events.lock"

/* A content id: xxh3-128 of the content, big-endian (XXH128_canonical_t). */
struct lh_blob_id {
	unsigned char b[16];
};

#define LH_HEX_ID 33	/* 32 hex digits and a NUL */

void lh_blob_id_hex(const struct lh_blob_id *id, char out[LH_HEX_ID]);
/* Parse 32 hex digits; returns 0 or -EINVAL. */
int lh_blob_id_parse(const char *hex, struct lh_blob_id *id);

/* An event to record. Strings may be NULL; all are copied on submit. */
struct lh_event {
	const char *type;	/* one of lh_event_types[] (see events.c) */
	int64_t time_ns;	/* wall clock; 0: now */
	int64_t uid, gid, pid;	/* caller; -1 unknown */
	const char *agent;	/* declared agent name, or NULL */
	const char *session;	/* declared session id, or NULL */
	int64_t request_id;	/* 0: none */
	const char *path;	/* file or request name, or NULL */
	const struct lh_blob_id *blob;	/* content stored with lh_blob_writer, or NULL */
	const char *payload;	/* a JSON object (text) */
	size_t payload_len;
};

struct lh_store_opts {
	const char *dir;	/* state directory (created if missing) */
	int sync_full;		/* fsync every commit (power-loss safe) */
	int batch_max;		/* events per transaction at most (0: 4096) */
	int batch_usec;		/* wait this long to fill a batch (0: never wait) */
	int queue_max;		/* submissions queued at most before callers wait (0: 65536) */
	size_t queue_bytes;	/* bytes queued at most before callers wait (0: 64 MiB) */
	int cache_mib;		/* the writer's page cache (0: 64 MiB) */
	int journal;		/* release submissions at the journal append (journal.h)
				 * rather than at the commit; the daemon sets it */
	size_t journal_rotate;	/* start a new journal file past this many bytes
				 * (0: 64 MiB) */
};

/*
 * Called once the events of a submission are durable (status 0) or could
 * not be made so (negative errno). Durable means committed to the database,
 * from the writer thread, with first_seq the sequence number of the
 * submission's first event; or, with opts.journal, appended to the
 * journal, from the submitting thread inside lh_store_submit, with
 * first_seq 0 (the database numbers the rows when it ingests them).
 */
typedef void (*lh_store_done_fn)(void *arg, int status, int64_t first_seq);

/*
 * Open (creating or migrating) the store of a state directory and start
 * its writer. Only one process may write a store: the state directory is
 * locked (LH_STORE_LOCK) and a second opener gets -EBUSY with a message.
 */
int lh_store_open(struct lh_store **out, const struct lh_store_opts *opts, struct lh_buf *err);
/* Commit everything queued, stop the writer, close. */
void lh_store_close(struct lh_store *s);

/*
 * Queue events for the next group commit; `done` runs once they are
 * durable (see lh_store_done_fn: with opts.journal, events that name no
 * blob are durable at the journal append, before this returns). Waits
 * while the queue is full (nothing is dropped). Returns 0 (done has run or
 * will run), or -errno and done never runs: -ESHUTDOWN once the store is
 * closing, the journal's error (-ENOSPC...). An event whose blob is not in
 * the store fails (status -ENOENT) without failing the others of its batch.
 */
int lh_store_submit(struct lh_store *s, const struct lh_event *ev, int n,
		    lh_store_done_fn done, void *arg);
/* Submit and wait for the commit (never released at the journal). */
int lh_store_append(struct lh_store *s, const struct lh_event *ev, int n, int64_t *first_seq);

/*
 * Wait until everything submitted before the call is committed to the
 * database (what was released at the journal included): readers of the
 * database then see it. 0 or -errno.
 */
int lh_store_sync(struct lh_store *s);

/* A new request id: unique and increasing across restarts. */
int64_t lh_store_next_request_id(struct lh_store *s);

/* The newest committed sequence number. */
int64_t lh_store_last_seq(struct lh_store *s);

/*
 * Called by the writer thread after each successful commit with the newest
 * committed sequence number, after the completion callbacks. It must be
 * quick and must not call into the store: it only signals (streams/).
 */
typedef void (*lh_store_commit_fn)(void *arg, int64_t last_seq);
void lh_store_set_commit_hook(struct lh_store *s, lh_store_commit_fn fn, void *arg);

struct lh_store_stats {
	uint64_t events;		/* committed since open */
	uint64_t commits;		/* transactions since open */
	uint64_t failures;		/* failed transactions */
	uint64_t batch_hist[8];		/* events per commit: 1, 2-3, 4-7, ... 128+ */
	uint64_t commit_us_sum;		/* total commit time */
	uint64_t commit_us_max;
	uint64_t queued;		/* submissions waiting now */
	uint64_t queue_waits;		/* times a caller waited on a full queue */
	int64_t last_seq;		/* newest committed sequence number */
	int64_t total_events;		/* events in the database */
	int last_error;			/* errno of the last failed commit, 0 if none */
	uint64_t journal_appends;	/* submissions released at the journal since open */
	uint64_t journal_bytes;		/* the current journal file's size (0: no journal) */
	uint64_t journal_rotations;	/* journal files started since open (one was full) */
	uint64_t journal_replayed;	/* events replayed from it at open */
	int journal_error;		/* errno of the last failed append, 0 if none */
};

void lh_store_get_stats(struct lh_store *s, struct lh_store_stats *st);

/* ---- event types (events.c) --------------------------------------------- */

/*
 * The event types, one table: names, what vacuum may drop, and the payload
 * each carries (schema.sql and lighthouse(7) document the same).
 */
struct lh_event_type {
	const char *name;
	int keep;		/* vacuum never drops it (the audit record) */
	const char *payload;	/* the payload's keys, for people */
};

extern const struct lh_event_type lh_event_types[];

const struct lh_event_type *lh_event_type_find(const char *name);
/* Is `types` a valid filter ("verdict,decision", "file.*")? 0 or -EINVAL. */
int lh_event_types_check(const char *types, struct lh_buf *err);

/* A change seen in current/ (produced by the shadow tree). */
struct lh_file_change {
	const char *type;		/* "file.created", "file.modified", "file.deleted",
					 * "file.renamed" or "file.mode" */
	const char *path;		/* relative to the project */
	const char *from;		/* file.renamed: the old path */
	const char *kind;		/* "file", "dir" or "symlink" (NULL: "file") */
	const char *target;		/* symlink: where it points */
	const struct lh_blob_id *blob;	/* the content after the change (files) */
	int64_t size;			/* bytes after the change; -1 unknown */
	int mode;			/* permission bits after the change; -1 unknown */
	int prev_mode;			/* file.mode: before; -1 unknown */
	int64_t mtime_ns;		/* modification time after the change; 0 unknown */
	int external;			/* made outside the mount, noticed by the daemon */
};

/* A file operation of current/ that the policy refused. */
struct lh_file_denial {
	const char *path;		/* relative to the project */
	const char *op;			/* "read", "write", "create", "delete", "rename", ... */
	const char *rule;		/* the rule that denied, or NULL */
	const char *reason;
};

struct lh_escalation {
	int64_t request_id;
	const char *to;			/* "experts" or "human" */
	const char *reason;		/* why it is escalated */
	const char *tier;		/* the tier that escalated (risk, policy) */
	int score;			/* risk score, -1 none */
	int timeout_s;			/* deny after this long without a decision */
	const char *rule;		/* the rule that escalated, or NULL (risk tier) */
	int64_t deadline_ns;		/* wall clock of the deadline, 0: none */
	int quorum;			/* experts who must agree, 0: not said */
	const char *capabilities;	/* what an expert needs to take it, blank separated, or NULL */
};

struct lh_expert_decision {
	int64_t request_id;
	const char *decision;		/* "allow", "ask" or "deny" */
	const char *by;			/* "expert", "human" or "timeout" */
	const char *who;		/* the expert agent or user, or NULL */
	const char *reason;
	const char *learned_rule;	/* the rule it became, or NULL */
	const char *remember;		/* an expert's vote: "exact" or "pattern", or NULL */
	int vote;			/* one expert's vote of a quorum, not the decision */
	int quorum;			/* with vote: the quorum */
	int restart;			/* decided at start-up (its deadline passed while down) */
};

struct lh_annotation {
	const char *path;		/* the file of current/ it is attached to */
	const char *text;
	const char *author;
	int line, end_line;		/* the lines it was written on, 1-based; 0: the whole file */
	const char *tags;		/* a JSON array of strings, or NULL */
	const char *anchor;		/* the text of those lines, when written */
	const char *before, *after;	/* a few lines around them, for re-anchoring */
};

/*
 * Fill ev (type, path, blob, request_id) and render its payload into buf;
 * ev->payload points into buf. The caller sets the identity fields
 * (uid, gid, pid, agent, session) and submits. 0 or -EINVAL (bad type,
 * missing required field).
 */
int lh_event_file(struct lh_event *ev, struct lh_buf *buf, const struct lh_file_change *fc);
int lh_event_escalation(struct lh_event *ev, struct lh_buf *buf, const struct lh_escalation *e);
int lh_event_decision(struct lh_event *ev, struct lh_buf *buf, const struct lh_expert_decision *d);
int lh_event_annotation(struct lh_event *ev, struct lh_buf *buf, const struct lh_annotation *a);
int lh_event_file_denied(struct lh_event *ev, struct lh_buf *buf, const struct lh_file_denial *d);

/* ---- blobs (blob.c) ----------------------------------------------------- */

/*
 * Storing a content: add it piece by piece; it is cut into
 * content-defined chunks (cdc.c) as it comes, and each chunk goes to the
 * writer at once, so at most one chunk (64 KiB) is held here, whatever
 * the size of the content. Identical chunks are stored once.
 *
 *   w = lh_blob_writer_new(s);
 *   lh_blob_writer_add(w, p, n) ...;
 *   lh_blob_writer_finish(w, &id);    -- waits until the blob is committed
 *   submit the events that reference id;
 *   lh_blob_writer_free(w);
 *
 * Free the writer only after submitting the events that reference the
 * blob: until then vacuum leaves unreferenced chunks alone. Once finished
 * or sealed, a writer takes nothing more (add: -EINVAL); its buffers go
 * to the next writer.
 */
struct lh_blob_writer;

struct lh_blob_writer *lh_blob_writer_new(struct lh_store *s);
int lh_blob_writer_add(struct lh_blob_writer *w, const void *p, size_t n);
int lh_blob_writer_finish(struct lh_blob_writer *w, struct lh_blob_id *id, uint64_t *size);
/*
 * lh_blob_writer_finish without waiting for the commit: the id is known
 * at once, and the blob is committed before any event submitted after it
 * (the writer's queue is in order); an event naming it fails (-ENOENT)
 * if it could not be stored. For producers of many contents, that wait
 * is a commit each. Free the writer after submitting those events.
 */
int lh_blob_writer_seal(struct lh_blob_writer *w, struct lh_blob_id *id, uint64_t *size);
void lh_blob_writer_free(struct lh_blob_writer *w);
/* Store what fd reads until end of file (one writer, new to free). */
int lh_store_put_fd(struct lh_store *s, int fd, struct lh_blob_id *id, uint64_t *size);

/* ---- reading (reader.c) ------------------------------------------------- */

struct lh_store_reader;

struct lh_event_row {
	int64_t seq;
	int64_t time_ns;
	const char *type;
	int64_t uid, gid, pid;		/* -1 when unknown */
	const char *agent, *session;	/* NULL when absent */
	int64_t request_id;		/* 0 when none */
	const char *path;
	const struct lh_blob_id *blob;	/* NULL when none */
	const char *payload;
	const unsigned char *hash;	/* 16 bytes: the chain checksum */
};

struct lh_event_filter {
	int64_t since_seq;		/* events with seq > since_seq */
	int64_t until_seq;		/* ... and seq <= until_seq (0: no bound) */
	int64_t since_ns;		/* ... and time >= since_ns (0: no bound) */
	int64_t until_ns;		/* ... and time <= until_ns (0: no bound) */
	const char *types;		/* "request", "verdict,decision", "file.*"; NULL: any */
	const char *agent;		/* exact agent, or NULL */
	const char *session;		/* exact session, or NULL */
	const char *path;		/* exact path; ending in '/': everything under it */
	const char *decision;		/* verdicts and decisions with this decision */
	int64_t request_id;		/* 0: any */
	int64_t limit;			/* 0: no limit */
	int newest_first;
};

typedef int (*lh_event_fn)(void *arg, const struct lh_event_row *row);

/* Open the database of a state directory for reading. */
int lh_store_reader_open(struct lh_store_reader **out, const char *dir, struct lh_buf *err);
void lh_store_reader_close(struct lh_store_reader *r);
/* Call fn for each matching event; stops early when fn returns non-zero. */
int lh_store_reader_each(struct lh_store_reader *r, const struct lh_event_filter *f,
			 lh_event_fn fn, void *arg, struct lh_buf *err);
int lh_store_reader_count(struct lh_store_reader *r, int64_t *events, int64_t *last_seq);
/*
 * Events in the journal files of dir that the database does not hold yet
 * (a daemon that stopped while it could not commit: the next open of the
 * store replays them). 0 or -errno with a message (a foreign journal).
 */
int lh_store_reader_unreplayed(struct lh_store_reader *r, const char *dir, int64_t *events,
			       struct lh_buf *err);

/* A blob's size; -ENOENT when it is not in the store. */
int lh_store_reader_blob_size(struct lh_store_reader *r, const struct lh_blob_id *id,
			      uint64_t *size);
/* Call fn with the blob's content, chunk by chunk, in order. */
typedef int (*lh_blob_fn)(void *arg, const void *data, size_t len);
int lh_store_reader_blob(struct lh_store_reader *r, const struct lh_blob_id *id,
			 lh_blob_fn fn, void *arg, struct lh_buf *err);
/* Read up to n bytes of a blob at offset off (random access); *got bytes read. */
int lh_store_reader_blob_pread(struct lh_store_reader *r, const struct lh_blob_id *id,
			       void *buf, size_t n, uint64_t off, size_t *got);

/* Format an event as one JSON object (no newline). */
int lh_event_row_json(const struct lh_event_row *row, struct lh_buf *out);

/* ---- integrity, export, retention ----------------------------------------- */

struct lh_verify {
	int64_t events;			/* rows checked */
	int64_t first_seq, last_seq;
	int64_t gaps;			/* ranges dropped by vacuum, each accounted for */
	int64_t blobs, chunks;		/* checked */
	char head[LH_HEX_ID];		/* chain checksum of the last row */
	int64_t bad_seq;		/* first bad row (0: none, or not an event) */
	char what[512];			/* what is wrong with it */
};

/*
 * Walk the chain from the first row to the last, then every chunk and
 * blob: 0 when all is well, -EUCLEAN with v->bad_seq and v->what for the
 * first bad row, another -errno (and err) when the store cannot be read.
 */
int lh_store_verify(const char *dir, struct lh_verify *v, struct lh_buf *err);

/*
 * The whole store as JSON lines (events and vacuum gaps in order, then
 * blobs, then chunks): see export.c for the format. Import reads it into a
 * state directory without a store, checking every line's checksum;
 * export -> import -> export is byte-identical.
 */
int lh_store_export(const char *dir, FILE *out, struct lh_buf *err);

struct lh_import_stats {
	int64_t events, gaps, blobs, chunks, last_seq;
};

int lh_store_import(const char *dir, FILE *in, struct lh_import_stats *st, struct lh_buf *err);

struct lh_vacuum {
	int64_t cutoff_ns;		/* events before this may go */
	int64_t dropped;		/* events dropped */
	int64_t gaps;			/* gap records written */
	int64_t blobs, chunks;		/* contents dropped */
	int64_t passes;			/* store.vacuum events written */
	int chunks_skipped;		/* a blob was being stored: chunks left for next time */
};

/*
 * Drop superseded history older than cutoff_ns through the writer (so it
 * runs while the daemon serves): file events that a newer file event on
 * the same path, also older than the cutoff, replaces (the newest state of
 * every path at the cutoff stays), then contents nothing references. The
 * audit record -- requests, verdicts, escalations, decisions, policy,
 * daemon and store events -- is never dropped. Every pass records a
 * store.vacuum event, and the chain still verifies.
 */
int lh_store_vacuum(struct lh_store *s, int64_t cutoff_ns, struct lh_vacuum *res,
		    struct lh_buf *err);
/* The result for people: "kept_days: N" and key: value lines. */
void lh_vacuum_report(const struct lh_vacuum *res, long keep_days, struct lh_buf *out);
/* Rewrite the database file to give freed pages back (SQL VACUUM); stalls the writer. */
int lh_store_compact(struct lh_store *s, struct lh_buf *err);

#endif

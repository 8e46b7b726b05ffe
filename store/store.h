/*
 * store.h -- the event store: every request, verdict and change, in order.
 *
 * One SQLite database in WAL mode under the state directory, written by
 * one writer thread (see store.c for the durability point and group
 * commit), read by any number of readers through their own connections.
 * The store knows nothing of FUSE; the validator knows nothing of it.
 */
#ifndef LH_STORE_H
#define LH_STORE_H

#include <stddef.h>
#include <stdint.h>

struct lh_buf;
struct lh_store;

#define LH_STORE_FILE "events.db"

/* An event to record. Strings may be NULL; all are copied on submit. */
struct lh_event {
	const char *type;	/* "request", "verdict", "daemon.start", ... */
	int64_t time_ns;	/* wall clock; 0: now */
	int64_t uid, gid, pid;	/* caller; -1 unknown */
	const char *agent;	/* declared agent name, or NULL */
	const char *session;	/* declared session id, or NULL */
	int64_t request_id;	/* 0: none */
	const char *path;	/* file or request name, or NULL */
	const char *payload;	/* a JSON object (text) */
	size_t payload_len;
};

struct lh_store_opts {
	const char *dir;	/* state directory (created if missing) */
	int sync_full;		/* fsync every commit (power-loss safe) */
	int batch_max;		/* events per transaction at most (0: 4096) */
	int batch_usec;		/* wait this long to fill a batch (0: never wait) */
	int queue_max;		/* submissions queued at most before callers wait (0: 65536) */
};

/*
 * Called once the events of a submission are committed (status 0) or could
 * not be (negative errno), from the writer thread. first_seq is the
 * sequence number of the submission's first event.
 */
typedef void (*lh_store_done_fn)(void *arg, int status, int64_t first_seq);

int lh_store_open(struct lh_store **out, const struct lh_store_opts *opts, struct lh_buf *err);
/* Commit everything queued, stop the writer, close. */
void lh_store_close(struct lh_store *s);

/*
 * Queue events for the next group commit; `done` runs after the commit.
 * Waits while the queue is full (nothing is dropped). Returns 0, or
 * -ESHUTDOWN once the store is closing.
 */
int lh_store_submit(struct lh_store *s, const struct lh_event *ev, int n,
		    lh_store_done_fn done, void *arg);
/* Submit and wait for the commit. */
int lh_store_append(struct lh_store *s, const struct lh_event *ev, int n, int64_t *first_seq);

/* A new request id: unique and increasing across restarts. */
int64_t lh_store_next_request_id(struct lh_store *s);

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
};

void lh_store_get_stats(struct lh_store *s, struct lh_store_stats *st);

/* ---- reading ------------------------------------------------------------ */

struct lh_store_reader;

struct lh_event_row {
	int64_t seq;
	int64_t time_ns;
	const char *type;
	int64_t uid, gid, pid;		/* -1 when unknown */
	const char *agent, *session;	/* NULL when absent */
	int64_t request_id;		/* 0 when none */
	const char *path;
	const char *payload;
};

struct lh_event_filter {
	int64_t since_seq;		/* events with seq > since_seq */
	int64_t until_seq;		/* ... and seq <= until_seq (0: no bound) */
	const char *type;		/* exact type, or NULL */
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

/* Format an event as one JSON object (no newline). */
int lh_event_row_json(const struct lh_event_row *row, struct lh_buf *out);

#endif

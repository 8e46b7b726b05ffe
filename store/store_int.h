/*
 * store_int.h -- what the files of store/ share and nothing else sees (as
 * SQLite's btreeInt.h): the store handle, the queue items, the writer's
 * transaction helpers, the schema, the checksum chain and the chunker.
 */
#ifndef LH_STORE_INT_H
#define LH_STORE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <sqlite3.h>
#include <xxhash.h>

#include "common/buf.h"
#include "store/store.h"

#define SCHEMA_VERSION 3
#define APPLICATION_ID 0x4C484F55	/* "LHOU" */

/* ---- queue items ---------------------------------------------------------- */

enum item_kind {
	IT_EVENTS,		/* events to insert */
	IT_CHUNK,		/* a chunk of a blob being stored */
	IT_BLOB,		/* a blob: its chunk list */
	IT_JOB,			/* a function the writer runs alone (vacuum) */
};

struct chunk_ref {
	uint64_t off;			/* offset of the chunk in the blob */
	struct lh_blob_id id;
};

struct qev {
	struct lh_event e;		/* strings point into the item's memory */
	struct lh_blob_id blob;		/* e.blob points here when set */
};

typedef int (*store_job_fn)(struct lh_store *s, void *arg);

struct item {
	struct item *next;
	enum item_kind kind;
	int n;				/* IT_EVENTS: events; IT_BLOB: chunks */
	size_t bytes;			/* counted against the queue's byte bound */
	lh_store_done_fn done;
	void *arg;
	uint64_t jgen, jend;		/* released at the journal: its file and end there;
					 * jend 0 if not */
	int lazy;			/* does not wake an idle writer: a chunk or blob record
					 * whose events, queued after it, will (store_enqueue) */
	union {
		struct qev *ev;					/* IT_EVENTS */
		struct {
			struct lh_blob_id id;
			const unsigned char *data;
			size_t len;
		} chunk;					/* IT_CHUNK */
		struct {
			struct lh_blob_id id;
			uint64_t size;
			int64_t time_ns;
			struct chunk_ref *refs;
		} blob;						/* IT_BLOB */
		struct {
			store_job_fn fn;
			void *arg;
		} job;						/* IT_JOB */
	} u;
	char mem[];
};

/* ---- the store ------------------------------------------------------------- */

struct lh_store {
	sqlite3 *db;			/* used by the writer thread only */
	sqlite3_stmt *ins_event;	/* the writer's prepared statements */
	sqlite3_stmt *ins_chunk;
	sqlite3_stmt *ins_blob;
	sqlite3_stmt *ins_blob_chunk;
	sqlite3_stmt *has_blob;
	sqlite3_stmt *has_chunk;
	char *path;			/* STATE/events.db */
	char *dir;
	int lock_fd;			/* flock'd STATE/events.lock */
	pthread_t writer;
	pthread_mutex_t mu;
	pthread_cond_t nonempty;	/* signalled when an item is queued */
	pthread_cond_t notfull;		/* signalled when the queue drains */
	struct item *head, *tail;	/* protected by mu */
	int queued;			/* items; protected by mu */
	int queued_events;		/* events in them; protected by mu */
	size_t queued_bytes;		/* protected by mu */
	int stopping;			/* protected by mu */
	int urgent;			/* queued items a caller waits for (not released at
					 * the journal); protected by mu */
	int writer_idle;		/* the writer waits for work; protected by mu */
	int writer_lazy;		/* the writer fills a batch nobody waits for;
					 * protected by mu */
	int lazy;			/* queued lazy items; protected by mu */
	int kicked;			/* store_kick since the last batch; protected by mu */
	int batch_max, batch_usec, queue_max;
	size_t queue_bytes_max;
	struct lh_store_stats stats;	/* protected by mu */

	/* the writer thread's own */
	int64_t last_seq;		/* newest committed row */
	unsigned char last_hash[16];	/* its chain checksum */
	int64_t tx_seq;			/* inside a transaction: newest inserted row */
	unsigned char tx_hash[16];
	int64_t tx_events;		/* rows inserted in this transaction */
	struct lh_buf scratch;		/* canonical row bytes */
	int wal_pages;

	_Atomic int64_t committed_seq;	/* last_seq, for other threads */
	_Atomic int64_t next_request;
	_Atomic int blob_writers;	/* lh_blob_writer alive: vacuum keeps orphan chunks */
	/*
	 * One freed writer's chunk buffer and hash state, for the next: a
	 * recorder writing small files one after another would otherwise
	 * grow and trim its malloc arena by 64 KiB for each (blob.c).
	 */
	unsigned char *_Atomic spare_chunk;
	XXH3_state_t *_Atomic spare_whole;
	lh_store_commit_fn hook;	/* protected by mu; the writer copies it per batch */
	void *hook_arg;			/* protected by mu */

	/* the journal (journal.h): NULL unless opts.journal */
	struct lh_journal *journal;
	pthread_mutex_t jmu;		/* an append and its enqueue, in journal order; before mu */
	_Atomic int failing;		/* the last commit failed: -errno; 0 */
	uint64_t j_id;			/* the database's journal.store_id */
	uint64_t j_rotate;		/* opts.journal_rotate: bytes per journal file */
	sqlite3_stmt *upd_journal;	/* the writer's: UPDATE journal SET generation, offset */
	uint64_t j_oldest;		/* the writer's: the oldest journal file still there */
	uint64_t j_gen, j_ingested;	/* the writer's: the database holds journal file
					 * j_gen up to j_ingested, and all older ones */
};

/* SQLite result codes to -errno, the one place (store.c). */
int store_errno(sqlite3 *db, int rc);
int store_exec(sqlite3 *db, const char *sql, struct lh_buf *err);
int store_query_int(sqlite3 *db, const char *sql, int64_t *out, struct lh_buf *err);

/* Queue an item (store.c); waits while the queue is full. */
int store_enqueue(struct lh_store *s, struct item *it);
/* Wake the writer for the lazy items queued (store.c). */
void store_kick(struct lh_store *s);
/* Run fn in the writer thread, alone, and wait for its result. */
int store_run_job(struct lh_store *s, store_job_fn fn, void *arg);

/* Writer thread only: transactions and inserts that keep the chain. */
int store_tx_begin(struct lh_store *s);
int store_tx_commit(struct lh_store *s);
void store_tx_rollback(struct lh_store *s);
int store_insert_event(struct lh_store *s, const struct lh_event *e);

/* ---- schema.c ----------------------------------------------------------------- */

/* Create, check or migrate the schema of an open database. */
int store_schema_prepare(sqlite3 *db, const char *path, struct lh_buf *err);
/* The version 2 schema (tables and indexes) and what version 3 adds, for creation and import. */
extern const char store_schema_v2[];
extern const char store_schema_v3[];
/* Is this an open Lighthouse store of a version we read? 0 or -errno. */
int store_schema_check_reader(sqlite3 *db, const char *path, struct lh_buf *err);

/* ---- chain.c ------------------------------------------------------------------ */

/* hash = xxh3-128(prev || canonical bytes of row); scratch is reused. */
void chain_hash(const unsigned char prev[16], const struct lh_event_row *row,
		struct lh_buf *scratch, unsigned char out[16]);
/* The digest of a vacuum pass's gaps: fold one (first, last, hash) in. */
void chain_gap_fold(struct lh_buf *acc, int64_t first, int64_t last, const unsigned char hash[16]);
void chain_gap_digest(const struct lh_buf *acc, char out[LH_HEX_ID]);
void hex16(const unsigned char b[16], char out[LH_HEX_ID]);
int unhex16(const char *hex, unsigned char b[16]);
/* xxh3-128 of bytes, big-endian. */
void hash128(const void *p, size_t n, unsigned char out[16]);

/* ---- cdc.c -------------------------------------------------------------------- */

#define CDC_MIN (4 * 1024)
#define CDC_AVG (16 * 1024)
#define CDC_MAX (64 * 1024)

struct cdc {
	uint64_t fp;			/* the gear hash of the last 64 bytes */
	size_t len;			/* bytes in the current chunk */
};

void cdc_init(struct cdc *c);
/*
 * Feed p[0..n): returns how many bytes belong to the current chunk, which
 * ends there if *cut is set (then the state is reset for the next chunk).
 */
size_t cdc_next(struct cdc *c, const unsigned char *p, size_t n, int *cut);

/* ---- events.c: the event row <-> a submitted event --------------------------- */

void store_row_of_event(struct lh_event_row *row, const struct lh_event *e, int64_t seq);
/* Bind a row and its hash to an INSERT INTO events(ROW_COLUMNS) and step it: an SQLite code. */
int store_row_insert(sqlite3 *db, sqlite3_stmt *st, const struct lh_event_row *row,
		     const unsigned char hash[16]);

/* ---- reader.c ----------------------------------------------------------------- */

sqlite3 *store_reader_db(struct lh_store_reader *r);
const char *store_reader_path(struct lh_store_reader *r);
/* Fill a row from a statement whose columns are ROW_COLUMNS. */
#define ROW_COLUMNS "seq,time_ns,type,uid,gid,pid,agent,session,request_id,path,blob,payload,hash"
void store_row_from_stmt(sqlite3_stmt *st, struct lh_event_row *row, struct lh_blob_id *blob);

#endif

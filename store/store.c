/*
 * store.c -- the writer of the event store: a bounded queue, one writer
 * thread, group commit (see store.h; schema.sql documents the tables,
 * chain.c the checksums, blob.c the contents).
 *
 * DESIGN
 *
 * Producers: FUSE threads never touch SQLite. They hand a submission (one
 * or more events copied into one allocation, and a completion callback)
 * to lh_store_submit, which appends it to a queue and wakes the writer
 * thread. The queue is bounded by submissions (queue_max) and by bytes
 * (queue_bytes, which chunks of file contents count against): when it is
 * full the caller waits on `notfull`. Nothing is ever dropped, and memory
 * stays bounded however fast producers are.
 *
 * Group commit, by count and by time: the writer takes what is queued, in
 * order, up to batch_max units (an event, a chunk or a blob record is one
 * unit; 4096 by default); when batch_usec is set and fewer events are
 * queued, it first waits up to batch_usec for more (by time); when nobody
 * waits for the batch (all of it was released at the journal), it waits
 * JOURNAL_BATCH_USEC at least, until a submission that does wait arrives.
 * It inserts the batch with reused prepared statements inside one
 * transaction (BEGIN ... COMMIT), and only then runs the callbacks, in
 * order. Under load many submissions share one transaction, so a commit's
 * cost is paid once per batch; a submission that waits for its commit,
 * with batch_usec 0, waits for nothing else. Producers wake the writer
 * only when it is idle, when a batch is full, or when a lazy fill gets a
 * submission that waits: not once per item. Contents sealed for the
 * events that will name them (lh_blob_writer_seal: chunks and blob
 * records, `lazy` items) do not wake it even then: those events, queued
 * after them, will, and take them along in one transaction. Without that
 * a recorder storing a burst of small files made the writer commit once
 * per content. A lazy item wakes it when the queue is half full, and a
 * writer of contents that is freed wakes it (store_kick), so nothing
 * waits for a wake-up that is not coming.
 *
 * Durability point. A submission is durable once its events are in the
 * journal (journal.h), when the store was opened with opts.journal (the
 * daemon does), or else once its transaction is committed. Either way its
 * callback learns its status only after that point, and the daemon answers
 * an agent's read of a verdict only from a callback (fs/reqtab.c), so no
 * agent ever sees a verdict the store could lose to a crash of the daemon.
 *
 *   journal   lh_store_submit appends the events as one record with one
 *             write(2) (about a microsecond) under jmu, queues them, and
 *             runs the callback before returning: the verdict no longer
 *             waits for a hand-off to the writer thread and a commit (tens
 *             of microseconds, and under load the wait for the batch in
 *             progress). The writer then inserts them in queue order, and
 *             each transaction that does also records in the `journal` row
 *             how far the database has ingested the journal. At open, the
 *             records past that point (a kill -9 left them) are inserted
 *             before the writer starts -- the daemon serves nothing before
 *             -- and the journal starts a new generation, empty. The
 *             journal is a series of files: when one passes
 *             opts.journal_rotate (64 MiB) the submitter that filled it
 *             switches appends to the next (no one waits for the writer),
 *             and the writer removes a file once it has committed a record
 *             of a newer one; at a clean close none is left.
 *             Events that name a blob are never released at the journal:
 *             the blob's chunks are not in it, so they wait for the commit.
 *   commit    sqlite3_step("COMMIT") returning SQLITE_DONE.
 *
 * Both points survive the daemon being killed at any moment: a write(2)
 * that has returned, like a commit in WAL mode with synchronous=NORMAL,
 * is in the operating system's page cache. Neither survives a power cut
 * unless sync_full, which fdatasyncs every journal append and sets
 * synchronous=FULL. The order of events in the database is the order of
 * the journal, since jmu covers an append and its enqueue.
 *
 * Failures. A journal append that fails (disk full, read-only file system)
 * fails the submission: the daemon denies, saying why. A failed commit
 * rolls back; submissions released at the journal are put back at the
 * head of the queue and retried, backing off from 100 ms to 2 s -- they
 * were acknowledged, they must reach the database -- while the others get
 * the errno. While commits fail, new submissions wait for commits rather
 * than pile up in the journal, so requests are denied with the reason
 * until the database takes writes again.
 *
 * Chain: the writer is the only inserter, so it assigns sequence numbers
 * (commit order, no gaps) and computes each row's chain checksum
 * (chain.c) inside the transaction. tx_seq/tx_hash advance as rows are
 * inserted and become last_seq/last_hash only when the commit succeeds;
 * a rollback leaves them as they were.
 *
 * Other items share the queue and its order: chunks and blob records of
 * contents being stored (blob.c), inserted in the batches like events; and
 * jobs (vacuum), which the writer runs alone, between batches, in
 * transactions of their own. FIFO order is what makes "the blob is
 * committed before the event that names it" hold without more locking.
 *
 * One writer per store: lh_store_open takes an flock on STATE/events.lock
 * (holding the pid, for the message a second opener gets), so two daemons
 * on one state directory cannot fork the chain.
 *
 * Checkpoints: automatic checkpoints are off (they would stall a commit);
 * the writer runs a passive checkpoint when the queue is empty and the WAL
 * has grown past CHECKPOINT_PAGES, and a blocking one past 16 times that.
 *
 * Request ids come from an atomic counter that starts past the largest id
 * in the database.
 *
 * Lock order: s->jmu, then s->mu (a leaf). Callbacks and the commit hook
 * run without either; the writer never takes jmu.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/xalloc.h"
#include "store/journal.h"
#include "store/store_int.h"
#include "common/banned.h"

#define CHECKPOINT_PAGES 4000
/*
 * How long the writer lets a batch fill when nobody waits for it (all of
 * it was released at the journal): the database lags the verdicts by
 * about this much, and commits cost the machine a fraction of what they
 * would one verdict at a time.
 */
#define JOURNAL_BATCH_USEC 1000

/* The one place SQLite result codes become errno values. */
int store_errno(sqlite3 *db, int rc)
{
	int sys = db ? sqlite3_system_errno(db) : 0;

	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_FULL:
		/* the system's reason says more: ENOSPC, EROFS, EACCES, EIO */
		if (sys > 0)
			return -sys;
		break;
	default:
		break;
	}
	switch (rc & 0xff) {
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EUCLEAN;
	case SQLITE_TOOBIG:
		return -E2BIG;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	default:
		return -EIO;
	}
}

int store_exec(sqlite3 *db, const char *sql, struct lh_buf *err)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		if (err)
			lh_buf_addf(err, "%s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return store_errno(db, rc) ? store_errno(db, rc) : -EIO;
	}
	return 0;
}

int store_query_int(sqlite3 *db, const char *sql, int64_t *out, struct lh_buf *err)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK) {
		if (err)
			lh_buf_addf(err, "%s", sqlite3_errmsg(db));
		return store_errno(db, rc) ? store_errno(db, rc) : -EIO;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		*out = 0;
	else if (err)
		lh_buf_addf(err, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return 0;
	return store_errno(db, rc) ? store_errno(db, rc) : -EIO;
}

static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct lh_store *s = arg;

	(void)db;
	(void)name;
	s->wal_pages = pages;
	return SQLITE_OK;
}

/* ---- transactions (writer thread) ----------------------------------------------- */

int store_tx_begin(struct lh_store *s)
{
	s->tx_seq = s->last_seq;
	memcpy(s->tx_hash, s->last_hash, 16);
	s->tx_events = 0;
	return store_exec(s->db, "BEGIN", NULL);
}

int store_tx_commit(struct lh_store *s)
{
	int rc = store_exec(s->db, "COMMIT", NULL);

	if (rc)
		return rc;
	/* the durability point has passed */
	s->last_seq = s->tx_seq;
	memcpy(s->last_hash, s->tx_hash, 16);
	atomic_store(&s->committed_seq, s->last_seq);
	return 0;
}

void store_tx_rollback(struct lh_store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->tx_seq = s->last_seq;
	memcpy(s->tx_hash, s->last_hash, 16);
}

/* Insert one event as the next row of the chain, in the open transaction. */
int store_insert_event(struct lh_store *s, const struct lh_event *e)
{
	struct lh_event_row row;
	unsigned char hash[16];
	int rc;

	store_row_of_event(&row, e, s->tx_seq + 1);
	chain_hash(s->tx_hash, &row, &s->scratch, hash);
	rc = store_row_insert(s->db, s->ins_event, &row, hash);
	if (rc != SQLITE_DONE)
		return store_errno(s->db, rc) ? store_errno(s->db, rc) : -EIO;
	s->tx_seq = row.seq;
	memcpy(s->tx_hash, hash, 16);
	s->tx_events++;
	return 0;
}

/* Does the store hold this blob (or chunk)? 1, 0, or -errno. */
static int exists(struct lh_store *s, sqlite3_stmt *st, const struct lh_blob_id *id)
{
	int rc;

	sqlite3_bind_blob(st, 1, id->b, 16, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return store_errno(s->db, rc) ? store_errno(s->db, rc) : -EIO;
}

static int put_chunk(struct lh_store *s, struct item *it)
{
	sqlite3_stmt *st = s->ins_chunk;
	int rc;

	/* OR IGNORE: a chunk already stored is checked by its unique id, not rewritten */
	sqlite3_bind_blob(st, 1, it->u.chunk.id.b, 16, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)it->u.chunk.len);
	sqlite3_bind_blob(st, 3, it->u.chunk.data, (int)it->u.chunk.len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : (store_errno(s->db, rc) ? store_errno(s->db, rc) : -EIO);
}

/*
 * A blob record: its chunks must all be stored (one of them may have
 * failed in an earlier transaction); then the row and its chunk list.
 * Returns 0, -errno to fail the batch, or 1 to fail this item only.
 */
static int put_blob(struct lh_store *s, struct item *it)
{
	sqlite3_stmt *st = s->ins_blob;
	int k, rc;

	for (k = 0; k < it->n; k++) {
		rc = exists(s, s->has_chunk, &it->u.blob.refs[k].id);
		if (rc <= 0)
			return rc < 0 ? rc : 1;
	}
	sqlite3_bind_blob(st, 1, it->u.blob.id.b, 16, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)it->u.blob.size);
	sqlite3_bind_int64(st, 3, it->n);
	sqlite3_bind_int64(st, 4, it->u.blob.time_ns);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_errno(s->db, rc) ? store_errno(s->db, rc) : -EIO;
	if (!sqlite3_changes(s->db))
		return 0;	/* the same content was stored before */
	st = s->ins_blob_chunk;
	for (k = 0; k < it->n; k++) {
		sqlite3_bind_blob(st, 1, it->u.blob.id.b, 16, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (int64_t)it->u.blob.refs[k].off);
		sqlite3_bind_blob(st, 3, it->u.blob.refs[k].id.b, 16, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return store_errno(s->db, rc) ? store_errno(s->db, rc) : -EIO;
	}
	return 0;
}

/*
 * Insert and commit a batch. Returns 0 or -errno for the whole batch;
 * status[i] is set for items that failed alone, firsts[i] to the first
 * sequence number of each events item.
 */
static int commit_batch(struct lh_store *s, struct item *batch, int64_t *firsts, int *status)
{
	struct item *it;
	uint64_t jgen = 0, jend = 0;
	int rc, k, i = 0;

	rc = store_tx_begin(s);
	if (rc)
		return rc;
	for (it = batch; it; it = it->next, i++) {
		status[i] = 0;
		firsts[i] = 0;
		switch (it->kind) {
		case IT_EVENTS:
			/* an event naming a blob the store does not hold fails alone */
			for (k = 0; k < it->n; k++) {
				if (!it->u.ev[k].e.blob)
					continue;
				rc = exists(s, s->has_blob, it->u.ev[k].e.blob);
				if (rc < 0)
					goto fail;
				if (!rc)
					status[i] = -ENOENT;
			}
			if (status[i])
				break;
			firsts[i] = s->tx_seq + 1;
			for (k = 0; k < it->n; k++) {
				rc = store_insert_event(s, &it->u.ev[k].e);
				if (rc)
					goto fail;
			}
			if (it->jend) {
				/* the queue is in journal order: the last is the furthest */
				jgen = it->jgen;
				jend = it->jend;
			}
			break;
		case IT_CHUNK:
			rc = put_chunk(s, it);
			if (rc)
				goto fail;
			break;
		case IT_BLOB:
			rc = put_blob(s, it);
			if (rc < 0)
				goto fail;
			if (rc)
				status[i] = -EIO;	/* a chunk of it was lost */
			break;
		case IT_JOB:
			break;	/* never batched */
		}
	}
	if (jend) {
		/* what the database holds of the journal, in the same transaction */
		sqlite3_bind_int64(s->upd_journal, 1, (int64_t)jgen);
		sqlite3_bind_int64(s->upd_journal, 2, (int64_t)jend);
		rc = sqlite3_step(s->upd_journal);
		sqlite3_reset(s->upd_journal);
		if (rc != SQLITE_DONE) {
			rc = store_errno(s->db, rc) ? store_errno(s->db, rc) : -EIO;
			goto fail;
		}
	}
	rc = store_tx_commit(s);
	if (rc)
		goto fail;
	if (jend) {
		s->j_gen = jgen;
		s->j_ingested = jend;
	}
	return 0;
fail:
	store_tx_rollback(s);
	return rc;
}

/*
 * Writer thread, after a commit: journal files older than the one the
 * database has read into are wholly ingested: remove them.
 */
static void drop_ingested(struct lh_store *s)
{
	while (s->j_oldest < s->j_gen) {
		lh_journal_remove(s->dir, s->j_oldest);
		s->j_oldest++;
	}
}

static void count_commit(struct lh_store *s, int rc, int events, int64_t us)
{
	pthread_mutex_lock(&s->mu);
	if (rc) {
		s->stats.failures++;
		s->stats.last_error = -rc;
	} else {
		int b = 0, n = events;

		while (n > 1 && b < 7) {
			n >>= 1;
			b++;
		}
		s->stats.events += (uint64_t)events;
		s->stats.total_events += events;
		s->stats.commits++;
		s->stats.batch_hist[b]++;
		s->stats.commit_us_sum += (uint64_t)us;
		if ((uint64_t)us > s->stats.commit_us_max)
			s->stats.commit_us_max = (uint64_t)us;
		s->stats.last_seq = s->last_seq;
		s->stats.last_error = 0;
	}
	pthread_mutex_unlock(&s->mu);
}

static void maybe_checkpoint(struct lh_store *s)
{
	int mode;

	if (s->wal_pages <= CHECKPOINT_PAGES)
		return;
	mode = s->wal_pages > 16 * CHECKPOINT_PAGES ? SQLITE_CHECKPOINT_RESTART : SQLITE_CHECKPOINT_PASSIVE;
	if (mode == SQLITE_CHECKPOINT_PASSIVE) {
		int busy;

		pthread_mutex_lock(&s->mu);
		busy = s->head != NULL;
		pthread_mutex_unlock(&s->mu);
		if (busy)
			return;		/* the next idle moment will do */
	}
	sqlite3_wal_checkpoint_v2(s->db, NULL, mode, NULL, NULL);
}

static int half_full_locked(const struct lh_store *s)
{
	return s->queued * 2 >= s->queue_max || s->queued_bytes * 2 >= s->queue_bytes_max;
}

/*
 * Only lazy items are queued, and nothing asks for them yet: an idle
 * writer sleeps on, as if the queue were empty. (It may find them queued
 * when it comes back from a commit; without this it would commit them
 * then, alone, and the events that name them in a second transaction.)
 */
static int only_lazy(const struct lh_store *s)
{
	return s->lazy == s->queued && !s->kicked && !half_full_locked(s);
}

/* Someone waits for it: not released at the journal, and not lazy. */
static int urgent(const struct item *it)
{
	return !it->jend && !it->lazy;
}

/*
 * Caller holds mu and the queue is not empty: take the next batch, up to
 * batch_max units (an event, a chunk or a blob record is one unit); a
 * job goes alone.
 */
static struct item *take_batch(struct lh_store *s, int *nitems, int *nevents)
{
	struct item *batch = s->head, *it, *last = batch;
	int events = 0, units = 0, count = 0, nurgent = 0, nlazy = 0;
	size_t bytes = 0;

	*nitems = *nevents = 0;
	if (!batch)
		return NULL;
	for (it = batch; it; it = it->next) {
		int n = it->kind == IT_EVENTS ? it->n : 1;

		if (it->kind == IT_JOB && count)
			break;
		if (count && units + n > s->batch_max)
			break;
		units += n;
		events += it->kind == IT_EVENTS ? it->n : 0;
		bytes += it->bytes;
		nurgent += urgent(it);
		nlazy += it->lazy;
		count++;
		last = it;
		if (it->kind == IT_JOB)
			break;
	}
	s->head = last->next;
	if (!s->head)
		s->tail = NULL;
	last->next = NULL;
	s->queued -= count;
	s->queued_events -= events;
	s->queued_bytes -= bytes;
	s->urgent -= nurgent;
	s->lazy -= nlazy;
	s->kicked = 0;
	s->stats.queued = (uint64_t)s->queued;
	pthread_cond_broadcast(&s->notfull);
	*nitems = count;
	*nevents = events;
	return batch;
}

/*
 * A commit failed with a bare I/O error. SQLite does not always keep the
 * system's errno (it may be overwritten before it is read), and the
 * person reading the deny wants the reason: ask the state directory by
 * writing a byte to a probe file there. -EROFS, -ENOSPC, ... or rc.
 */
static int explain(struct lh_store *s, int rc)
{
	struct lh_buf p = LH_BUF_INIT;
	int fd, why = 0;

	if (rc != -EIO)
		return rc;
	lh_buf_addf(&p, "%s/.probe", s->dir);
	fd = open(p.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, "", 1) != 1 || fsync(fd))
		why = -errno;
	if (fd >= 0) {
		close(fd);
		unlink(p.data);
	}
	lh_buf_release(&p);
	return why ? why : rc;
}

/*
 * Writer thread, holding mu: put back at the head of the queue the items
 * of a failed batch that were released at the journal (they must reach
 * the database), then wait before the next try.
 */
static void requeue(struct lh_store *s, struct item *keep, int *backoff_ms)
{
	struct item *last = keep;
	struct timespec until;
	int count = 0, events = 0;
	size_t bytes = 0;

	for (;; last = last->next) {
		count++;
		events += last->n;
		bytes += last->bytes;
		s->lazy += last->lazy;
		if (!last->next)
			break;
	}
	last->next = s->head;
	s->head = keep;
	if (!s->tail)
		s->tail = last;
	s->queued += count;
	s->queued_events += events;
	s->queued_bytes += bytes;
	s->stats.queued = (uint64_t)s->queued;
	*backoff_ms = *backoff_ms ? (*backoff_ms * 2 > 2000 ? 2000 : *backoff_ms * 2) : 100;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (long)*backoff_ms * 1000000;
	until.tv_sec += until.tv_nsec / 1000000000;
	until.tv_nsec %= 1000000000;
	while (!s->stopping && pthread_cond_timedwait(&s->nonempty, &s->mu, &until) == 0)
		;
}

static void *writer_main(void *arg)
{
	struct lh_store *s = arg;
	int64_t *firsts = NULL;
	int *status = NULL;
	int cap = 0, backoff_ms = 0;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct item *batch, *it, *keep, **kp;
		lh_store_commit_fn hook;
		void *hook_arg;
		int events, count, rc, i, stopping, wait_us;
		int64_t t0, us;

		s->writer_idle = 1;
		while ((!s->head || only_lazy(s)) && !s->stopping)
			pthread_cond_wait(&s->nonempty, &s->mu);
		s->writer_idle = 0;
		if (!s->head)
			break;
		wait_us = s->batch_usec;
		s->writer_lazy = !s->urgent && s->journal;
		if (s->writer_lazy && wait_us < JOURNAL_BATCH_USEC)
			wait_us = JOURNAL_BATCH_USEC;
		if (wait_us > 0 && !s->stopping && s->queued_events < s->batch_max &&
		    s->head->kind != IT_JOB) {
			/*
			 * By time: give the batch wait_us to fill. Enqueues do
			 * not wake us for each item, only when the batch is full
			 * or, in a lazy fill, when someone waits for a commit.
			 */
			struct timespec until;

			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += (long)wait_us * 1000;
			until.tv_sec += until.tv_nsec / 1000000000;
			until.tv_nsec %= 1000000000;
			while (s->queued_events < s->batch_max && !s->stopping &&
			       !(s->writer_lazy && s->urgent) &&
			       pthread_cond_timedwait(&s->nonempty, &s->mu, &until) == 0)
				;
		}
		s->writer_lazy = 0;
		batch = take_batch(s, &count, &events);
		if (!batch)
			continue;	/* only the writer takes items: cannot happen */
		hook = s->hook;
		hook_arg = s->hook_arg;
		stopping = s->stopping;
		pthread_mutex_unlock(&s->mu);

		if (batch->kind == IT_JOB) {
			rc = batch->u.job.fn(s, batch->u.job.arg);
			if (batch->done)
				batch->done(batch->arg, rc, 0);
			free(batch);
			if (hook)
				hook(hook_arg, s->last_seq);
			pthread_mutex_lock(&s->mu);
			s->stats.last_seq = s->last_seq;
			continue;
		}
		if (count > cap) {
			cap = count * 2;
			firsts = xrealloc(firsts, sizeof(*firsts) * (size_t)cap);
			status = xrealloc(status, sizeof(*status) * (size_t)cap);
		}
		t0 = lh_mono_ns();
		rc = explain(s, commit_batch(s, batch, firsts, status));
		us = (lh_mono_ns() - t0) / 1000;
		keep = NULL;
		kp = &keep;
		for (it = batch, i = 0; it; i++) {
			struct item *next = it->next;

			if (rc && it->jend && !stopping) {
				/* acknowledged at the journal: retry (on stop, the next open replays it) */
				*kp = it;
				kp = &it->next;
				it = next;
				continue;
			}
			if (it->done)
				it->done(it->arg, rc ? rc : status[i], rc || status[i] ? 0 : firsts[i]);
			free(it);
			it = next;
		}
		*kp = NULL;
		atomic_store(&s->failing, rc);
		count_commit(s, rc, rc ? 0 : (int)s->tx_events, us);
		if (!rc && hook)
			hook(hook_arg, s->last_seq);
		if (!rc) {
			backoff_ms = 0;
			maybe_checkpoint(s);
			if (s->journal)
				drop_ingested(s);
		}
		pthread_mutex_lock(&s->mu);
		if (keep)
			requeue(s, keep, &backoff_ms);
	}
	pthread_mutex_unlock(&s->mu);
	free(firsts);
	free(status);
	return NULL;
}

/* ---- open and close ----------------------------------------------------------------- */

static int mkdirs(const char *dir, struct lh_buf *err)
{
	char path[4096];
	size_t i, n = strlen(dir);

	if (n >= sizeof(path)) {
		lh_buf_addf(err, "state directory '%s' is too long", dir);
		return -ENAMETOOLONG;
	}
	memcpy(path, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) && errno != EEXIST) {
			lh_buf_addf(err, "cannot create state directory '%s': %s", path, strerror(errno));
			return -errno;
		}
		path[i] = i < n ? '/' : '\0';
	}
	return 0;
}

/* One writer per state directory: an flock, and our pid for the message. */
static int lock_dir(const char *dir, int *fd_out, struct lh_buf *err)
{
	struct lh_buf p = LH_BUF_INIT;
	char pid[32];
	int fd, rc = 0;

	lh_buf_addf(&p, "%s/%s", dir, LH_STORE_LOCK);
	fd = open(p.data, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		lh_buf_addf(err, "cannot create '%s': %s", p.data, strerror(errno));
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);

		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		if (rc == -EBUSY)
			lh_buf_addf(err, "the event store in '%s' is in use by another process%s%s%s", dir,
				    pid[0] ? " (pid " : "", pid, pid[0] ? ")" : "");
		else
			lh_buf_addf(err, "cannot lock '%s': %s", p.data, strerror(-rc));
		close(fd);
		goto out;
	}
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, pid, strlen(pid), 0) < 0) {
		rc = -errno;
		lh_buf_addf(err, "cannot write '%s': %s", p.data, strerror(errno));
		close(fd);
		goto out;
	}
	*fd_out = fd;
out:
	lh_buf_release(&p);
	return rc;
}

static int prepare(struct lh_store *s, sqlite3_stmt **st, const char *sql, struct lh_buf *err)
{
	int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);

	if (rc != SQLITE_OK) {
		lh_buf_addf(err, "cannot prepare a statement on '%s': %s", s->path, sqlite3_errmsg(s->db));
		return store_errno(s->db, rc) ? store_errno(s->db, rc) : -EIO;
	}
	return 0;
}

static int set_wal(struct lh_store *s, struct lh_buf *err)
{
	sqlite3_stmt *st;
	const unsigned char *mode = NULL;
	int rc, ok;

	rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		lh_buf_addf(err, "cannot put '%s' in WAL mode: %s", s->path, sqlite3_errmsg(s->db));
		return -EIO;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		mode = sqlite3_column_text(st, 0);
	ok = mode && !strcmp((const char *)mode, "wal");
	if (!ok)
		lh_buf_addf(err, "cannot put '%s' in WAL mode: %s", s->path, sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	return ok ? 0 : -EIO;
}

/* Where the chain and the counters stand. */
static int load_heads(struct lh_store *s, struct lh_buf *err)
{
	sqlite3_stmt *st;
	int64_t v;
	int rc;

	rc = sqlite3_prepare_v2(s->db, "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1", -1, &st,
				NULL);
	if (rc != SQLITE_OK)
		goto fail;
	rc = sqlite3_step(st);
	memset(s->last_hash, 0, 16);
	s->last_seq = 0;
	if (rc == SQLITE_ROW) {
		s->last_seq = sqlite3_column_int64(st, 0);
		if (sqlite3_column_bytes(st, 1) == 16)
			memcpy(s->last_hash, sqlite3_column_blob(st, 1), 16);
		rc = SQLITE_DONE;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		goto fail;
	rc = store_query_int(s->db, "SELECT coalesce(max(request_id),0) FROM events", &v, err);
	if (rc)
		return rc;
	atomic_store(&s->next_request, v + 1);
	rc = store_query_int(s->db, "SELECT count(*) FROM events", &s->stats.total_events, err);
	if (rc)
		return rc;
	atomic_store(&s->committed_seq, s->last_seq);
	s->stats.last_seq = s->last_seq;
	return 0;
fail:
	lh_buf_addf(err, "cannot read '%s': %s", s->path, sqlite3_errmsg(s->db));
	return store_errno(s->db, rc) ? store_errno(s->db, rc) : -EIO;
}

struct replay {
	struct lh_store *s;
	int rc;
	uint64_t events;
};

static int replay_event(void *arg, int64_t seq, const struct lh_event *ev, uint64_t end)
{
	struct replay *rp = arg;

	(void)seq;
	(void)end;
	rp->rc = store_insert_event(rp->s, ev);
	if (rp->rc)
		return 1;
	rp->events++;
	return 0;
}

/* Set the journal row, in the open transaction or one of its own. */
static int set_journal_row(struct lh_store *s, uint64_t gen, uint64_t offset)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "UPDATE journal SET generation=%" PRIu64 ", offset=%" PRIu64 " WHERE id=1",
		 gen, offset);
	return store_exec(s->db, sql, NULL);
}

/*
 * Open the journal: insert what the database does not hold yet (what a
 * kill -9 left: file `generation` from `offset` on, and any newer file),
 * in one transaction that also moves the row to a new, empty generation;
 * then remove the old files. Before the writer starts.
 */
static int journal_start(struct lh_store *s, int sync_full, struct lh_buf *err)
{
	struct replay rp = { s, 0, 0 };
	int64_t id = 0, gen = 0, off = 0;
	uint64_t *files = NULL, next;
	size_t n = 0, k;
	int rc;

	rc = store_query_int(s->db, "SELECT store_id FROM journal WHERE id=1", &id, err);
	if (!rc)
		rc = store_query_int(s->db, "SELECT generation FROM journal WHERE id=1", &gen, err);
	if (!rc)
		rc = store_query_int(s->db, "SELECT offset FROM journal WHERE id=1", &off, err);
	if (!rc)
		rc = lh_journal_list(s->dir, &files, &n, err);
	if (rc) {
		lh_buf_addf(err, " (reading '%s')", s->path);
		return rc;
	}
	s->j_id = (uint64_t)id;
	next = (uint64_t)gen + 1;
	rc = store_tx_begin(s);
	for (k = 0; !rc && k < n; k++) {
		if (files[k] < (uint64_t)gen)
			continue;	/* wholly ingested; removed below */
		rc = lh_journal_replay(s->dir, s->j_id, files[k], files[k] == (uint64_t)gen ? (uint64_t)off : 0,
				       replay_event, &rp, NULL, NULL, NULL, err);
		if (!rc && rp.rc) {
			rc = rp.rc;
			lh_buf_addf(err, "cannot replay the journal into '%s': %s", s->path, strerror(-rc));
		}
		if (files[k] + 1 > next)
			next = files[k] + 1;
	}
	if (!rc) {
		rc = set_journal_row(s, next, 0);
		if (rc)
			lh_buf_addf(err, "cannot write '%s': %s", s->path, strerror(-rc));
	}
	if (!rc) {
		rc = store_tx_commit(s);
		if (rc)
			lh_buf_addf(err, "cannot commit the journal's events to '%s': %s", s->path, strerror(-rc));
	}
	if (rc) {
		store_tx_rollback(s);
		free(files);
		return rc;
	}
	for (k = 0; k < n; k++)
		lh_journal_remove(s->dir, files[k]);
	free(files);
	if (rp.events) {
		int64_t v = 0;

		/* request ids go on past the replayed ones */
		rc = store_query_int(s->db, "SELECT coalesce(max(request_id),0) FROM events", &v, err);
		if (rc)
			return rc;
		if (v + 1 > atomic_load(&s->next_request))
			atomic_store(&s->next_request, v + 1);
	}
	s->stats.journal_replayed = rp.events;
	s->stats.total_events += (int64_t)rp.events;
	s->stats.last_seq = s->last_seq;
	rc = lh_journal_open(&s->journal, s->dir, sync_full, s->j_id, next, err);
	if (rc)
		return rc;
	s->j_oldest = s->j_gen = next;
	s->j_ingested = LH_JOURNAL_HEADER;
	return 0;
}

/*
 * At close, the writer stopped: when the database holds the whole journal
 * (no commit failed), leave no file behind.
 */
static void journal_finish(struct lh_store *s)
{
	uint64_t gen = lh_journal_generation(s->journal);

	if (atomic_load(&s->failing) || s->j_gen != gen || s->j_ingested != lh_journal_size(s->journal))
		return;		/* the next open replays what is missing */
	if (!set_journal_row(s, gen + 1, 0))
		lh_journal_remove(s->dir, gen);
	drop_ingested(s);
}

/*
 * SQLite keeps memory statistics under a global mutex taken on every
 * allocation; we never read them, and the writer allocates per row. Off,
 * before SQLite initializes (a no-op if something initialized it first).
 */
static void sqlite_setup(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int lh_store_open(struct lh_store **out, const struct lh_store_opts *o, struct lh_buf *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	struct lh_store *s;
	struct lh_buf msg = LH_BUF_INIT;
	int rc;

	*out = NULL;
	pthread_once(&once, sqlite_setup);
	rc = mkdirs(o->dir, err);
	if (rc)
		return rc;
	if (access(o->dir, W_OK)) {
		lh_buf_addf(err, "state directory '%s' is not writable: %s", o->dir, strerror(errno));
		return -errno;
	}
	s = xcalloc(1, sizeof(*s));
	s->lock_fd = -1;
	s->dir = xstrdup(o->dir);
	lh_buf_addf(&msg, "%s/%s", o->dir, LH_STORE_FILE);
	s->path = lh_buf_detach(&msg, NULL);
	lh_buf_init(&s->scratch, 0);
	s->batch_max = o->batch_max > 0 ? o->batch_max : 4096;
	s->batch_usec = o->batch_usec > 0 ? o->batch_usec : 0;
	s->queue_max = o->queue_max > 0 ? o->queue_max : 65536;
	s->queue_bytes_max = o->queue_bytes > 0 ? o->queue_bytes : 64u << 20;
	rc = lock_dir(o->dir, &s->lock_fd, err);
	if (rc)
		goto fail;
	rc = sqlite3_open_v2(s->path, &s->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		lh_buf_addf(err, "cannot open '%s': %s", s->path,
			    s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		rc = store_errno(s->db, rc) ? store_errno(s->db, rc) : -EIO;
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, 5000);
	rc = store_schema_prepare(s->db, s->path, err);
	if (rc)
		goto fail;
	rc = set_wal(s, err);
	if (rc)
		goto fail;
	/*
	 * A page cache big enough for the hot pages of every index: the
	 * secondary indexes are written at scattered places.
	 */
	rc = store_exec(s->db, o->sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", err);
	if (!rc) {
		char sql[128];

		snprintf(sql, sizeof(sql), "PRAGMA wal_autocheckpoint=0; PRAGMA temp_store=MEMORY;"
					   " PRAGMA cache_size=-%d", (o->cache_mib > 0 ? o->cache_mib : 64) * 1024);
		rc = store_exec(s->db, sql, err);
	}
	if (rc)
		goto fail;
	if ((rc = prepare(s, &s->ins_event,
			  "INSERT INTO events(" ROW_COLUMNS ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)", err)) ||
	    (rc = prepare(s, &s->ins_chunk, "INSERT OR IGNORE INTO chunks(id,size,data) VALUES(?,?,?)", err)) ||
	    (rc = prepare(s, &s->ins_blob,
			  "INSERT OR IGNORE INTO blobs(id,size,chunks,time_ns) VALUES(?,?,?,?)", err)) ||
	    (rc = prepare(s, &s->ins_blob_chunk, "INSERT INTO blob_chunks(blob,off,chunk) VALUES(?,?,?)", err)) ||
	    (rc = prepare(s, &s->has_blob, "SELECT 1 FROM blobs WHERE id=?", err)) ||
	    (rc = prepare(s, &s->has_chunk, "SELECT 1 FROM chunks WHERE id=?", err)))
		goto fail;
	rc = load_heads(s, err);
	if (rc)
		goto fail;
	if (o->journal) {
		s->j_rotate = o->journal_rotate > 0 ? o->journal_rotate : 64u << 20;
		rc = prepare(s, &s->upd_journal, "UPDATE journal SET generation=?, offset=? WHERE id=1", err);
		if (!rc)
			rc = journal_start(s, o->sync_full, err);
		if (rc)
			goto fail;
	}
	sqlite3_wal_hook(s->db, wal_hook, s);
	pthread_mutex_init(&s->jmu, NULL);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->nonempty, NULL);
	pthread_cond_init(&s->notfull, NULL);
	rc = pthread_create(&s->writer, NULL, writer_main, s);
	if (rc) {
		lh_buf_addf(err, "cannot start the store writer thread: %s", strerror(rc));
		pthread_mutex_destroy(&s->jmu);
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->nonempty);
		pthread_cond_destroy(&s->notfull);
		rc = -rc;
		goto fail;
	}
	pthread_setname_np(s->writer, "lh-store");
	*out = s;
	return 0;
fail:
	lh_journal_close(s->journal);
	sqlite3_finalize(s->upd_journal);
	sqlite3_finalize(s->ins_event);
	sqlite3_finalize(s->ins_chunk);
	sqlite3_finalize(s->ins_blob);
	sqlite3_finalize(s->ins_blob_chunk);
	sqlite3_finalize(s->has_blob);
	sqlite3_finalize(s->has_chunk);
	if (s->db)
		sqlite3_close(s->db);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	lh_buf_release(&s->scratch);
	free(s->path);
	free(s->dir);
	free(s);
	return rc;
}

void lh_store_close(struct lh_store *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stopping = 1;
	pthread_cond_broadcast(&s->nonempty);
	pthread_cond_broadcast(&s->notfull);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->writer, NULL);
	if (s->journal)
		journal_finish(s);
	lh_journal_close(s->journal);
	sqlite3_finalize(s->upd_journal);
	sqlite3_finalize(s->ins_event);
	sqlite3_finalize(s->ins_chunk);
	sqlite3_finalize(s->ins_blob);
	sqlite3_finalize(s->ins_blob_chunk);
	sqlite3_finalize(s->has_blob);
	sqlite3_finalize(s->has_chunk);
	sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	sqlite3_close(s->db);
	close(s->lock_fd);	/* releases the flock */
	pthread_mutex_destroy(&s->jmu);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->nonempty);
	pthread_cond_destroy(&s->notfull);
	lh_buf_release(&s->scratch);
	free(atomic_load(&s->spare_chunk));
	XXH3_freeState(atomic_load(&s->spare_whole));
	free(s->path);
	free(s->dir);
	free(s);
}

/* ---- submitting ------------------------------------------------------------------ */

/* Wake the writer for lazy items queued: someone waits for them. */
void store_kick(struct lh_store *s)
{
	pthread_mutex_lock(&s->mu);
	if (s->head) {
		s->kicked = 1;
		pthread_cond_signal(&s->nonempty);
	}
	pthread_mutex_unlock(&s->mu);
}

int store_enqueue(struct lh_store *s, struct item *it)
{
	int n = it->kind == IT_EVENTS ? it->n : 0;

	it->next = NULL;
	pthread_mutex_lock(&s->mu);
	/* full by count or by bytes; an empty queue takes any one item */
	while ((s->queued >= s->queue_max ||
		(s->queued && s->queued_bytes + it->bytes > s->queue_bytes_max)) && !s->stopping) {
		s->stats.queue_waits++;
		pthread_cond_signal(&s->nonempty);	/* lazy items may fill it while it sleeps */
		pthread_cond_wait(&s->notfull, &s->mu);
	}
	if (s->stopping) {
		pthread_mutex_unlock(&s->mu);
		return -ESHUTDOWN;
	}
	if (s->tail)
		s->tail->next = it;
	else
		s->head = it;
	s->tail = it;
	s->queued++;
	s->queued_events += n;
	s->queued_bytes += it->bytes;
	s->urgent += urgent(it);
	s->lazy += it->lazy;
	s->stats.queued = (uint64_t)s->queued;
	/*
	 * Wake the writer only when that changes what it does. A lazy item
	 * (contents) leaves it asleep until the events that name it come, or
	 * until the queue is half full: a commit per content would cost the
	 * store its WAL frames and locks for each created file.
	 */
	if (s->queued_events >= s->batch_max ||
	    (it->lazy ? s->writer_idle && half_full_locked(s) :
	     s->writer_idle || (s->writer_lazy && !it->jend)))
		pthread_cond_signal(&s->nonempty);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static size_t slen(const char *p)
{
	return p ? strlen(p) + 1 : 0;
}

static const char *scopy(char **dst, const char *src, size_t n)
{
	char *d = *dst;

	if (!src)
		return NULL;
	memcpy(d, src, n);
	d[n] = '\0';
	*dst += n + 1;
	return d;
}

/*
 * Release a submission at the journal: append its events, queue them in
 * the same order (jmu), and report them durable. -errno if the append
 * failed (the item is not queued).
 */
static int submit_journaled(struct lh_store *s, struct item *it, lh_store_done_fn done, void *arg)
{
	struct lh_event local[4], *ev = local;
	uint64_t jgen = 0, jend = 0;
	int k, rc;

	if (it->n > 4)
		ev = xmalloc(sizeof(*ev) * (size_t)it->n);
	for (k = 0; k < it->n; k++)
		ev[k] = it->u.ev[k].e;
	it->done = NULL;
	pthread_mutex_lock(&s->jmu);
	rc = lh_journal_append(s->journal, ev, it->n, 0, &jgen, &jend);
	it->jgen = jgen;
	it->jend = jend;
	/* once queued, the item is the writer's: it may be freed at any moment */
	if (!rc)
		rc = store_enqueue(s, it);
	if (jend >= s->j_rotate && !lh_journal_switch(s->journal, jgen + 1)) {
		/* full: the next appends start a new file; the writer removes this one once read */
		pthread_mutex_lock(&s->mu);
		s->stats.journal_rotations++;
		pthread_mutex_unlock(&s->mu);
	}
	pthread_mutex_unlock(&s->jmu);
	if (ev != local)
		free(ev);
	pthread_mutex_lock(&s->mu);
	if (rc == -ESHUTDOWN || !rc) {
		/* appended: durable, even if the store is closing (the next open replays it) */
		s->stats.journal_appends++;
		s->stats.journal_error = 0;
	} else {
		s->stats.journal_error = -rc;
	}
	pthread_mutex_unlock(&s->mu);
	if (rc == -ESHUTDOWN && jend) {
		free(it);
		rc = 0;
	} else if (rc) {
		return rc;
	}
	if (done)
		done(arg, 0, 0);
	return 0;
}

static int submit(struct lh_store *s, const struct lh_event *ev, int n, lh_store_done_fn done, void *arg,
		  int journal)
{
	struct item *it;
	size_t bytes = 0;
	char *p;
	int k, rc;
	int64_t now = 0;

	for (k = 0; k < n; k++)
		bytes += slen(ev[k].type ? ev[k].type : "") + slen(ev[k].agent) + slen(ev[k].session) +
			 slen(ev[k].path) + (ev[k].payload ? ev[k].payload_len + 1 : 0);
	it = xmalloc(sizeof(*it) + sizeof(struct qev) * (size_t)n + bytes);
	it->kind = IT_EVENTS;
	it->n = n;
	it->bytes = sizeof(*it) + sizeof(struct qev) * (size_t)n + bytes;
	it->done = done;
	it->arg = arg;
	it->jgen = it->jend = 0;
	it->lazy = 0;
	it->u.ev = (struct qev *)(void *)it->mem;
	p = it->mem + sizeof(struct qev) * (size_t)n;
	for (k = 0; k < n; k++) {
		struct qev *q = &it->u.ev[k];
		struct lh_event *e = &q->e;

		*e = ev[k];
		if (!e->time_ns) {
			if (!now)
				now = lh_wall_ns();
			e->time_ns = now;
		}
		e->type = scopy(&p, ev[k].type ? ev[k].type : "", ev[k].type ? strlen(ev[k].type) : 0);
		e->agent = scopy(&p, ev[k].agent, ev[k].agent ? strlen(ev[k].agent) : 0);
		e->session = scopy(&p, ev[k].session, ev[k].session ? strlen(ev[k].session) : 0);
		e->path = scopy(&p, ev[k].path, ev[k].path ? strlen(ev[k].path) : 0);
		e->payload = scopy(&p, ev[k].payload, ev[k].payload_len);
		if (ev[k].blob) {
			q->blob = *ev[k].blob;
			e->blob = &q->blob;
			journal = 0;	/* the blob's chunks are not in the journal */
		}
	}
	if (journal && s->journal && !atomic_load(&s->failing)) {
		rc = submit_journaled(s, it, done, arg);
		if (rc)
			free(it);
		return rc;
	}
	rc = store_enqueue(s, it);
	if (rc)
		free(it);
	return rc;
}

int lh_store_submit(struct lh_store *s, const struct lh_event *ev, int n,
		    lh_store_done_fn done, void *arg)
{
	return submit(s, ev, n, done, arg, 1);
}

struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
	int status;
	int64_t first;
};

static void wake(void *arg, int status, int64_t first)
{
	struct waiter *w = arg;

	pthread_mutex_lock(&w->mu);
	w->done = 1;
	w->status = status;
	w->first = first;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static void waiter_init(struct waiter *w)
{
	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
}

static int waiter_wait(struct waiter *w, int64_t *first)
{
	pthread_mutex_lock(&w->mu);
	while (!w->done)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	if (first)
		*first = w->first;
	return w->status;
}

static void waiter_release(struct waiter *w)
{
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
}

int lh_store_append(struct lh_store *s, const struct lh_event *ev, int n, int64_t *first_seq)
{
	struct waiter w;
	int rc;

	waiter_init(&w);
	rc = submit(s, ev, n, wake, &w, 0);
	if (rc) {
		waiter_release(&w);
		return rc;
	}
	return waiter_wait(&w, first_seq);
}

int store_run_job(struct lh_store *s, store_job_fn fn, void *arg)
{
	struct item *it = xcalloc(1, sizeof(*it));
	struct waiter w;
	int rc;

	waiter_init(&w);
	it->kind = IT_JOB;
	it->bytes = sizeof(*it);
	it->done = wake;
	it->arg = &w;
	it->u.job.fn = fn;
	it->u.job.arg = arg;
	rc = store_enqueue(s, it);
	if (rc) {
		free(it);
		waiter_release(&w);
		return rc;
	}
	return waiter_wait(&w, NULL);
}

static int sync_job(struct lh_store *s, void *arg)
{
	(void)s;
	(void)arg;
	return 0;
}

int lh_store_sync(struct lh_store *s)
{
	int rc = atomic_load(&s->failing);

	/* while commits fail, the answer is known: do not wait for the retries */
	if (rc)
		return rc;
	/* a job runs alone, after every batch queued before it has committed */
	return store_run_job(s, sync_job, NULL);
}

int64_t lh_store_next_request_id(struct lh_store *s)
{
	return atomic_fetch_add(&s->next_request, 1);
}

int64_t lh_store_last_seq(struct lh_store *s)
{
	return atomic_load(&s->committed_seq);
}

void lh_store_set_commit_hook(struct lh_store *s, lh_store_commit_fn fn, void *arg)
{
	pthread_mutex_lock(&s->mu);
	s->hook_arg = arg;
	s->hook = fn;
	pthread_mutex_unlock(&s->mu);
}

void lh_store_get_stats(struct lh_store *s, struct lh_store_stats *st)
{
	uint64_t size = s->journal ? lh_journal_size(s->journal) : 0;

	pthread_mutex_lock(&s->mu);
	*st = s->stats;
	pthread_mutex_unlock(&s->mu);
	st->journal_bytes = size;
}

/*
 * store.c -- the SQLite event store (see store.h; schema.sql documents the
 * tables).
 *
 * DESIGN
 *
 * Writers: FUSE threads never touch SQLite. They hand a submission (one or
 * more events, copied into one allocation, and a completion callback) to
 * lh_store_submit, which appends it to a bounded queue and wakes the
 * writer thread. When the queue is full the caller waits: nothing is ever
 * dropped.
 *
 * Group commit: the writer takes everything queued (up to batch_max
 * events; optionally waiting batch_usec for a batch to fill), inserts it
 * with one reused prepared statement inside one transaction, commits, and
 * only then runs the callbacks. Under load many submissions share one
 * transaction, so the cost of a commit is paid once per batch; with one
 * client there is no waiting at all.
 *
 * Durability point: sqlite3_step("COMMIT") returning SQLITE_DONE. In WAL
 * mode with synchronous=NORMAL (the default) the commit has been written
 * to the WAL file in the operating system's page cache: it survives the
 * daemon being killed at any moment (kill -9), but not a power cut; with
 * sync_full (synchronous=FULL) the WAL is fsync'd at every commit and it
 * survives both. The daemon replies to an agent's read of a verdict only
 * from a completion callback, so no agent ever sees a verdict that the
 * store could lose to a crash of the daemon.
 *
 * Checkpoints: automatic checkpoints are off (they would stall a commit);
 * the writer runs a passive checkpoint when the queue is empty and the WAL
 * has grown past CHECKPOINT_PAGES, and a blocking one past 16 times that.
 *
 * Sequence numbers are assigned by the writer (the only inserter), so they
 * follow commit order without gaps. Request ids come from an atomic counter
 * that starts past the largest id in the database.
 *
 * Lock order: s->mu only (the callbacks run without it).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/xalloc.h"
#include "store/store.h"
#include "common/banned.h"

#define SCHEMA_VERSION 1
#define APPLICATION_ID 0x4C484F55	/* "LHOU" */
#define CHECKPOINT_PAGES 4000

struct qev {
	struct lh_event e;		/* strings point into the item's memory */
};

struct item {
	struct item *next;
	int n;
	lh_store_done_fn done;
	void *arg;
	struct qev *ev;
	char mem[];
};

struct lh_store {
	sqlite3 *db;			/* used by the writer thread only */
	sqlite3_stmt *insert;
	char *path;
	pthread_t writer;
	pthread_mutex_t mu;
	pthread_cond_t nonempty;	/* signalled when an item is queued */
	pthread_cond_t notfull;		/* signalled when the queue drains */
	struct item *head, *tail;	/* protected by mu */
	int queued;			/* protected by mu */
	int stopping;			/* protected by mu */
	int batch_max, batch_usec, queue_max;
	int64_t last_seq;		/* writer only; copy in stats */
	_Atomic int64_t next_request;
	struct lh_store_stats stats;	/* protected by mu */
	int wal_pages;			/* writer only */
};

/* The one place SQLite result codes become errno values. */
static int sqlite_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
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
	default:
		return -EIO;
	}
}

static int exec(sqlite3 *db, const char *sql, struct lh_buf *err)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		if (err)
			lh_buf_addf(err, "%s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return sqlite_errno(rc) ? sqlite_errno(rc) : -EIO;
	}
	return 0;
}

static int query_int(sqlite3 *db, const char *sql, int64_t *out, struct lh_buf *err)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK) {
		if (err)
			lh_buf_addf(err, "%s", sqlite3_errmsg(db));
		return sqlite_errno(rc) ? sqlite_errno(rc) : -EIO;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		*out = 0;
	else if (err)
		lh_buf_addf(err, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : (sqlite_errno(rc) ? sqlite_errno(rc) : -EIO);
}

static const char schema_v1[] =
	"CREATE TABLE events ("
	" seq INTEGER PRIMARY KEY,"
	" time_ns INTEGER NOT NULL,"
	" type TEXT NOT NULL,"
	" uid INTEGER, gid INTEGER, pid INTEGER,"
	" agent TEXT, session TEXT,"
	" request_id INTEGER,"
	" path TEXT,"
	" payload TEXT NOT NULL);"
	"CREATE INDEX events_request ON events(request_id) WHERE request_id IS NOT NULL;"
	"CREATE INDEX events_type ON events(type, seq);";

/* Create or migrate the schema; refuse foreign and newer databases. */
static int prepare_schema(sqlite3 *db, const char *path, struct lh_buf *err)
{
	int64_t version, app, tables;
	int rc;

	rc = query_int(db, "PRAGMA user_version", &version, NULL);
	if (rc == -EUCLEAN || rc == -EIO) {
		lh_buf_addf(err, "'%s' is not a Lighthouse event store (not a SQLite database, or corrupt); move it away or choose another --state",
			    path);
		return -EUCLEAN;
	}
	if (rc) {
		lh_buf_addf(err, "cannot read '%s': %s", path, strerror(-rc));
		return rc;
	}
	if (query_int(db, "PRAGMA application_id", &app, err) ||
	    query_int(db, "SELECT count(*) FROM sqlite_master", &tables, err))
		return -EIO;
	if ((app && app != APPLICATION_ID) || (!app && tables)) {
		lh_buf_addf(err, "'%s' is a SQLite database of another program, not a Lighthouse event store; choose another --state",
			    path);
		return -EUCLEAN;
	}
	if (version > SCHEMA_VERSION) {
		lh_buf_addf(err, "'%s' has schema version %" PRId64 ", newer than this Lighthouse (%d); upgrade Lighthouse",
			    path, version, SCHEMA_VERSION);
		return -EPROTO;
	}
	if (version == SCHEMA_VERSION)
		return 0;
	if (exec(db, "BEGIN IMMEDIATE", err))
		return -EIO;
	if (version == 0 && exec(db, schema_v1, err))
		goto fail;
	/* later versions migrate here, one step at a time */
	{
		char sql[96];

		snprintf(sql, sizeof(sql), "PRAGMA application_id=%d; PRAGMA user_version=%d",
			 APPLICATION_ID, SCHEMA_VERSION);
		if (exec(db, sql, err))
			goto fail;
	}
	if (exec(db, "COMMIT", err))
		goto fail;
	return 0;
fail:
	exec(db, "ROLLBACK", NULL);
	return -EIO;
}

static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct lh_store *s = arg;

	(void)db;
	(void)name;
	s->wal_pages = pages;
	return SQLITE_OK;
}

static int insert_one(struct lh_store *s, const struct lh_event *e, int64_t seq)
{
	sqlite3_stmt *st = s->insert;
	int rc;

	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_int64(st, 2, e->time_ns);
	sqlite3_bind_text(st, 3, e->type, -1, SQLITE_STATIC);
	if (e->uid >= 0)
		sqlite3_bind_int64(st, 4, e->uid);
	else
		sqlite3_bind_null(st, 4);
	if (e->gid >= 0)
		sqlite3_bind_int64(st, 5, e->gid);
	else
		sqlite3_bind_null(st, 5);
	if (e->pid >= 0)
		sqlite3_bind_int64(st, 6, e->pid);
	else
		sqlite3_bind_null(st, 6);
	sqlite3_bind_text(st, 7, e->agent, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, e->session, -1, SQLITE_STATIC);
	if (e->request_id)
		sqlite3_bind_int64(st, 9, e->request_id);
	else
		sqlite3_bind_null(st, 9);
	sqlite3_bind_text(st, 10, e->path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, e->payload ? e->payload : "{}",
			  e->payload ? (int)e->payload_len : 2, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : rc;
}

/* Insert and commit a batch. Returns 0 or -errno; sets first seqs. */
static int commit_batch(struct lh_store *s, struct item *batch, int64_t *firsts)
{
	int64_t seq = s->last_seq;
	struct item *it;
	int rc, k, i = 0;

	rc = sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return sqlite_errno(rc) ? sqlite_errno(rc) : -EIO;
	for (it = batch; it; it = it->next, i++) {
		firsts[i] = seq + 1;
		for (k = 0; k < it->n; k++) {
			rc = insert_one(s, &it->ev[k].e, ++seq);
			if (rc)
				goto fail;
		}
	}
	rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	s->last_seq = seq;
	return 0;
fail:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return sqlite_errno(rc) ? sqlite_errno(rc) : -EIO;
}

static void *writer_main(void *arg)
{
	struct lh_store *s = arg;
	int64_t *firsts = NULL;
	int cap = 0;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct item *batch, *it, *last;
		int events = 0, count = 0, rc;
		int64_t t0, us;

		while (!s->head && !s->stopping)
			pthread_cond_wait(&s->nonempty, &s->mu);
		if (!s->head)
			break;
		if (s->batch_usec > 0 && !s->stopping) {
			struct timespec until;
			int total = 0;

			for (it = s->head; it; it = it->next)
				total += it->n;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += (long)s->batch_usec * 1000;
			until.tv_sec += until.tv_nsec / 1000000000;
			until.tv_nsec %= 1000000000;
			while (total < s->batch_max && !s->stopping &&
			       pthread_cond_timedwait(&s->nonempty, &s->mu, &until) == 0) {
				total = 0;
				for (it = s->head; it; it = it->next)
					total += it->n;
			}
		}
		/* take up to batch_max events (always at least one submission) */
		batch = last = s->head;
		if (!batch)
			continue;	/* only the writer removes items: cannot happen */
		for (it = s->head; it; it = it->next) {
			if (count && events + it->n > s->batch_max)
				break;
			events += it->n;
			count++;
			last = it;
		}
		s->head = last->next;
		if (!s->head)
			s->tail = NULL;
		last->next = NULL;
		s->queued -= count;
		s->stats.queued = (uint64_t)s->queued;
		pthread_cond_broadcast(&s->notfull);
		pthread_mutex_unlock(&s->mu);

		if (count > cap) {
			cap = count * 2;
			firsts = xrealloc(firsts, sizeof(*firsts) * (size_t)cap);
		}
		t0 = lh_mono_ns();
		rc = commit_batch(s, batch, firsts);
		us = (lh_mono_ns() - t0) / 1000;
		for (it = batch, count = 0; it; count++) {
			struct item *next = it->next;

			if (it->done)
				it->done(it->arg, rc, rc ? 0 : firsts[count]);
			free(it);
			it = next;
		}
		if (!rc && s->wal_pages > CHECKPOINT_PAGES) {
			int mode = s->wal_pages > 16 * CHECKPOINT_PAGES ? SQLITE_CHECKPOINT_RESTART
									 : SQLITE_CHECKPOINT_PASSIVE;

			pthread_mutex_lock(&s->mu);
			if (!s->head || mode != SQLITE_CHECKPOINT_PASSIVE) {
				pthread_mutex_unlock(&s->mu);
				sqlite3_wal_checkpoint_v2(s->db, NULL, mode, NULL, NULL);
			} else {
				pthread_mutex_unlock(&s->mu);
			}
		}

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
	}
	pthread_mutex_unlock(&s->mu);
	free(firsts);
	return NULL;
}

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

int lh_store_open(struct lh_store **out, const struct lh_store_opts *o, struct lh_buf *err)
{
	struct lh_store *s;
	struct lh_buf msg = LH_BUF_INIT;
	int64_t v;
	int rc;

	*out = NULL;
	rc = mkdirs(o->dir, err);
	if (rc)
		return rc;
	if (access(o->dir, W_OK)) {
		lh_buf_addf(err, "state directory '%s' is not writable: %s", o->dir, strerror(errno));
		return -errno;
	}
	s = xcalloc(1, sizeof(*s));
	lh_buf_addf(&msg, "%s/%s", o->dir, LH_STORE_FILE);
	s->path = lh_buf_detach(&msg, NULL);
	s->batch_max = o->batch_max > 0 ? o->batch_max : 4096;
	s->batch_usec = o->batch_usec > 0 ? o->batch_usec : 0;
	s->queue_max = o->queue_max > 0 ? o->queue_max : 65536;
	rc = sqlite3_open_v2(s->path, &s->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		lh_buf_addf(err, "cannot open '%s': %s", s->path,
			    s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		rc = sqlite_errno(rc) ? sqlite_errno(rc) : -EIO;
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, 5000);
	rc = prepare_schema(s->db, s->path, err);
	if (rc)
		goto fail;
	{
		sqlite3_stmt *st;
		const unsigned char *mode = NULL;

		rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
		if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
			mode = sqlite3_column_text(st, 0);
		if (!mode || strcmp((const char *)mode, "wal")) {
			lh_buf_addf(err, "cannot put '%s' in WAL mode: %s", s->path, sqlite3_errmsg(s->db));
			if (rc == SQLITE_OK)
				sqlite3_finalize(st);
			rc = -EIO;
			goto fail;
		}
		sqlite3_finalize(st);
	}
	if (exec(s->db, o->sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", err) ||
	    exec(s->db, "PRAGMA wal_autocheckpoint=0", err) ||
	    exec(s->db, "PRAGMA temp_store=MEMORY", err)) {
		rc = -EIO;
		goto fail;
	}
	rc = sqlite3_prepare_v3(s->db,
				"INSERT INTO events(seq,time_ns,type,uid,gid,pid,agent,session,request_id,path,payload)"
				" VALUES(?,?,?,?,?,?,?,?,?,?,?)",
				-1, SQLITE_PREPARE_PERSISTENT, &s->insert, NULL);
	if (rc != SQLITE_OK) {
		lh_buf_addf(err, "cannot prepare the insert into '%s': %s", s->path, sqlite3_errmsg(s->db));
		rc = -EIO;
		goto fail;
	}
	if (query_int(s->db, "SELECT coalesce(max(seq),0) FROM events", &s->last_seq, err) ||
	    query_int(s->db, "SELECT coalesce(max(request_id),0) FROM events", &v, err) ||
	    query_int(s->db, "SELECT count(*) FROM events", &s->stats.total_events, err)) {
		rc = -EIO;
		goto fail;
	}
	atomic_store(&s->next_request, v + 1);
	s->stats.last_seq = s->last_seq;
	sqlite3_wal_hook(s->db, wal_hook, s);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->nonempty, NULL);
	pthread_cond_init(&s->notfull, NULL);
	rc = pthread_create(&s->writer, NULL, writer_main, s);
	if (rc) {
		lh_buf_addf(err, "cannot start the store writer thread: %s", strerror(rc));
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->nonempty);
		pthread_cond_destroy(&s->notfull);
		rc = -rc;
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (s->insert)
		sqlite3_finalize(s->insert);
	if (s->db)
		sqlite3_close(s->db);
	free(s->path);
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
	sqlite3_finalize(s->insert);
	sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->nonempty);
	pthread_cond_destroy(&s->notfull);
	free(s->path);
	free(s);
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

int lh_store_submit(struct lh_store *s, const struct lh_event *ev, int n,
		    lh_store_done_fn done, void *arg)
{
	struct item *it;
	size_t bytes = 0;
	char *p;
	int k;
	int64_t now = 0;

	for (k = 0; k < n; k++)
		bytes += slen(ev[k].type) + slen(ev[k].agent) + slen(ev[k].session) +
			 slen(ev[k].path) + (ev[k].payload ? ev[k].payload_len + 1 : 0);
	it = xmalloc(sizeof(*it) + sizeof(struct qev) * (size_t)n + bytes);
	it->next = NULL;
	it->n = n;
	it->done = done;
	it->arg = arg;
	it->ev = (struct qev *)it->mem;
	p = it->mem + sizeof(struct qev) * (size_t)n;
	for (k = 0; k < n; k++) {
		struct lh_event *e = &it->ev[k].e;

		*e = ev[k];
		if (!e->time_ns) {
			if (!now)
				now = lh_wall_ns();
			e->time_ns = now;
		}
		e->type = scopy(&p, ev[k].type, slen(ev[k].type) - 1);
		e->agent = scopy(&p, ev[k].agent, ev[k].agent ? strlen(ev[k].agent) : 0);
		e->session = scopy(&p, ev[k].session, ev[k].session ? strlen(ev[k].session) : 0);
		e->path = scopy(&p, ev[k].path, ev[k].path ? strlen(ev[k].path) : 0);
		e->payload = scopy(&p, ev[k].payload, ev[k].payload_len);
	}
	pthread_mutex_lock(&s->mu);
	while (s->queued >= s->queue_max && !s->stopping) {
		s->stats.queue_waits++;
		pthread_cond_wait(&s->notfull, &s->mu);
	}
	if (s->stopping) {
		pthread_mutex_unlock(&s->mu);
		free(it);
		return -ESHUTDOWN;
	}
	if (s->tail)
		s->tail->next = it;
	else
		s->head = it;
	s->tail = it;
	s->queued++;
	s->stats.queued = (uint64_t)s->queued;
	pthread_cond_signal(&s->nonempty);
	pthread_mutex_unlock(&s->mu);
	return 0;
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

int lh_store_append(struct lh_store *s, const struct lh_event *ev, int n, int64_t *first_seq)
{
	struct waiter w;
	int rc;

	memset(&w, 0, sizeof(w));
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	rc = lh_store_submit(s, ev, n, wake, &w);
	if (!rc) {
		pthread_mutex_lock(&w.mu);
		while (!w.done)
			pthread_cond_wait(&w.cv, &w.mu);
		pthread_mutex_unlock(&w.mu);
		rc = w.status;
		if (first_seq)
			*first_seq = w.first;
	}
	pthread_mutex_destroy(&w.mu);
	pthread_cond_destroy(&w.cv);
	return rc;
}

int64_t lh_store_next_request_id(struct lh_store *s)
{
	return atomic_fetch_add(&s->next_request, 1);
}

void lh_store_get_stats(struct lh_store *s, struct lh_store_stats *st)
{
	pthread_mutex_lock(&s->mu);
	*st = s->stats;
	pthread_mutex_unlock(&s->mu);
}

/* ---- reading ------------------------------------------------------------------- */

struct lh_store_reader {
	sqlite3 *db;
	char *path;
};

int lh_store_reader_open(struct lh_store_reader **out, const char *dir, struct lh_buf *err)
{
	struct lh_store_reader *r = xcalloc(1, sizeof(*r));
	struct lh_buf p = LH_BUF_INIT;
	int64_t app = 0;
	int rc;

	*out = NULL;
	lh_buf_addf(&p, "%s/%s", dir, LH_STORE_FILE);
	r->path = lh_buf_detach(&p, NULL);
	if (access(r->path, F_OK)) {
		lh_buf_addf(err, "no event store at '%s' (has lighthoused run with --state %s?)", r->path, dir);
		rc = -ENOENT;
		goto fail;
	}
	rc = sqlite3_open_v2(r->path, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		lh_buf_addf(err, "cannot open '%s': %s", r->path,
			    r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc));
		rc = sqlite_errno(rc) ? sqlite_errno(rc) : -EIO;
		goto fail;
	}
	sqlite3_busy_timeout(r->db, 5000);
	rc = query_int(r->db, "PRAGMA application_id", &app, NULL);
	if (rc || app != APPLICATION_ID) {
		lh_buf_addf(err, "'%s' is not a Lighthouse event store", r->path);
		rc = -EUCLEAN;
		goto fail;
	}
	*out = r;
	return 0;
fail:
	if (r->db)
		sqlite3_close(r->db);
	free(r->path);
	free(r);
	return rc;
}

void lh_store_reader_close(struct lh_store_reader *r)
{
	if (!r)
		return;
	sqlite3_close(r->db);
	free(r->path);
	free(r);
}

int lh_store_reader_count(struct lh_store_reader *r, int64_t *events, int64_t *last_seq)
{
	if (query_int(r->db, "SELECT count(*) FROM events", events, NULL) ||
	    query_int(r->db, "SELECT coalesce(max(seq),0) FROM events", last_seq, NULL))
		return -EIO;
	return 0;
}

int lh_store_reader_each(struct lh_store_reader *r, const struct lh_event_filter *f,
			 lh_event_fn fn, void *arg, struct lh_buf *err)
{
	struct lh_buf sql = LH_BUF_INIT;
	sqlite3_stmt *st;
	int rc, k = 1;

	lh_buf_adds(&sql, "SELECT seq,time_ns,type,uid,gid,pid,agent,session,request_id,path,payload"
			  " FROM events WHERE seq > ?");
	if (f->until_seq)
		lh_buf_adds(&sql, " AND seq <= ?");
	if (f->type)
		lh_buf_adds(&sql, " AND type = ?");
	if (f->request_id)
		lh_buf_adds(&sql, " AND request_id = ?");
	lh_buf_adds(&sql, f->newest_first ? " ORDER BY seq DESC" : " ORDER BY seq");
	if (f->limit)
		lh_buf_adds(&sql, " LIMIT ?");
	rc = sqlite3_prepare_v2(r->db, sql.data, -1, &st, NULL);
	lh_buf_release(&sql);
	if (rc != SQLITE_OK) {
		lh_buf_addf(err, "cannot query '%s': %s", r->path, sqlite3_errmsg(r->db));
		return sqlite_errno(rc) ? sqlite_errno(rc) : -EIO;
	}
	sqlite3_bind_int64(st, k++, f->since_seq);
	if (f->until_seq)
		sqlite3_bind_int64(st, k++, f->until_seq);
	if (f->type)
		sqlite3_bind_text(st, k++, f->type, -1, SQLITE_STATIC);
	if (f->request_id)
		sqlite3_bind_int64(st, k++, f->request_id);
	if (f->limit)
		sqlite3_bind_int64(st, k++, f->limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct lh_event_row row;

		row.seq = sqlite3_column_int64(st, 0);
		row.time_ns = sqlite3_column_int64(st, 1);
		row.type = (const char *)sqlite3_column_text(st, 2);
		row.uid = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 3);
		row.gid = sqlite3_column_type(st, 4) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 4);
		row.pid = sqlite3_column_type(st, 5) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 5);
		row.agent = (const char *)sqlite3_column_text(st, 6);
		row.session = (const char *)sqlite3_column_text(st, 7);
		row.request_id = sqlite3_column_int64(st, 8);
		row.path = (const char *)sqlite3_column_text(st, 9);
		row.payload = (const char *)sqlite3_column_text(st, 10);
		if (!row.type)
			row.type = "";
		if (!row.payload)
			row.payload = "{}";
		if (fn(arg, &row)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		lh_buf_addf(err, "cannot read '%s': %s", r->path, sqlite3_errmsg(r->db));
		return sqlite_errno(rc) ? sqlite_errno(rc) : -EIO;
	}
	return 0;
}

int lh_event_row_json(const struct lh_event_row *row, struct lh_buf *out)
{
	char when[32];
	int rc;

	lh_format_time(when, row->time_ns);
	rc = lh_buf_addf(out, "{\"seq\":%" PRId64 ",\"time\":\"%s\",\"type\":", row->seq, when);
	rc = rc ? rc : lh_buf_add_json_str(out, row->type, strlen(row->type));
	if (!rc && row->uid >= 0)
		rc = lh_buf_addf(out, ",\"uid\":%" PRId64, row->uid);
	if (!rc && row->gid >= 0)
		rc = lh_buf_addf(out, ",\"gid\":%" PRId64, row->gid);
	if (!rc && row->pid >= 0)
		rc = lh_buf_addf(out, ",\"pid\":%" PRId64, row->pid);
	if (!rc && row->agent) {
		rc = lh_buf_adds(out, ",\"agent\":");
		rc = rc ? rc : lh_buf_add_json_str(out, row->agent, strlen(row->agent));
	}
	if (!rc && row->session) {
		rc = lh_buf_adds(out, ",\"session\":");
		rc = rc ? rc : lh_buf_add_json_str(out, row->session, strlen(row->session));
	}
	if (!rc && row->request_id)
		rc = lh_buf_addf(out, ",\"request\":%" PRId64, row->request_id);
	if (!rc && row->path) {
		rc = lh_buf_adds(out, ",\"path\":");
		rc = rc ? rc : lh_buf_add_json_str(out, row->path, strlen(row->path));
	}
	if (!rc)
		rc = lh_buf_addf(out, ",\"payload\":%s}", row->payload);
	return rc;
}

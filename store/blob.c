/*
 * blob.c -- file contents in the store: content-addressed, deduplicated,
 * chunked, streamed both ways.
 *
 * On disk (schema.sql): a blob is a row of `blobs` (id = xxh3-128 of the
 * whole content, size, number of chunks, when stored) and its ordered
 * chunk list in `blob_chunks` (blob, offset of the chunk in the blob,
 * chunk id); a chunk is a row of `chunks` (id = xxh3-128 of its bytes,
 * size, bytes). Chunks are cut by content (cdc.c), 4 to 64 KiB, about 16
 * KiB on average. The same chunk in many blobs is stored once, the same
 * content twice is one blob.
 *
 * Putting (producer side, any thread): lh_blob_writer_add cuts chunks as
 * bytes come and queues each chunk to the writer thread at once (an
 * IT_CHUNK item, its bytes counted against the queue's byte bound, so a
 * fast producer waits rather than filling memory). At most one chunk and
 * the list of chunk ids are held here. lh_blob_writer_finish queues the
 * blob record (IT_BLOB) and waits until it is committed: the queue is
 * FIFO, so its chunks were committed before it, and the writer checks
 * that they all are (one may have failed, in an earlier transaction)
 * before it records the blob. The id it returns names committed content.
 * lh_blob_writer_seal queues the record without waiting, for an event
 * the caller queues next; its chunks and record are lazy items (store.c):
 * that event wakes the writer for them, or freeing the writer does.
 *
 * Vacuum may drop chunks no blob references, which a blob being stored
 * has until its record is committed: while any lh_blob_writer is alive
 * (s->blob_writers) vacuum leaves such chunks alone.
 *
 * Getting (reader side): a blob is read chunk by chunk in offset order
 * through one statement, so only one chunk is in memory at a time;
 * lh_store_reader_blob_pread seeks to the chunk holding an offset through
 * the (blob, off) primary key.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

#include "common/clock.h"
#include "common/xalloc.h"
#include "store/store_int.h"
#include "common/banned.h"

struct lh_blob_writer {
	struct lh_store *s;
	struct cdc cdc;
	unsigned char *chunk;		/* the chunk being cut, CDC_MAX bytes */
	size_t len;
	XXH3_state_t *whole;		/* the content's hash, streaming */
	uint64_t size;
	struct chunk_ref *refs;
	size_t nrefs, cap;
	pthread_mutex_t mu;
	int failed;			/* first failed chunk's status; protected by mu */
	int pending;			/* chunks not yet committed; protected by mu */
	pthread_cond_t idle;		/* pending reached 0 */
};

struct lh_blob_writer *lh_blob_writer_new(struct lh_store *s)
{
	struct lh_blob_writer *w = xcalloc(1, sizeof(*w));

	w->s = s;
	cdc_init(&w->cdc);
	w->chunk = atomic_exchange(&s->spare_chunk, NULL);
	if (!w->chunk)
		w->chunk = xmalloc(CDC_MAX);
	w->whole = atomic_exchange(&s->spare_whole, NULL);
	if (!w->whole)
		w->whole = XXH3_createState();
	if (!w->whole) {
		free(w->chunk);
		free(w);
		return NULL;
	}
	XXH3_128bits_reset(w->whole);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->idle, NULL);
	atomic_fetch_add(&s->blob_writers, 1);
	return w;
}

static void chunk_done(void *arg, int status, int64_t seq)
{
	struct lh_blob_writer *w = arg;

	(void)seq;
	pthread_mutex_lock(&w->mu);
	if (status && !w->failed)
		w->failed = status;
	if (--w->pending == 0)
		pthread_cond_broadcast(&w->idle);
	pthread_mutex_unlock(&w->mu);
}

/* Queue the chunk cut so far. */
static int emit(struct lh_blob_writer *w)
{
	struct item *it;
	int rc;

	if (!w->len)
		return 0;
	if (w->nrefs == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->refs = xrealloc(w->refs, sizeof(*w->refs) * w->cap);
	}
	it = xmalloc(sizeof(*it) + w->len);
	memset(it, 0, sizeof(*it));
	it->kind = IT_CHUNK;
	it->lazy = 1;
	it->bytes = sizeof(*it) + w->len;
	it->done = chunk_done;
	it->arg = w;
	memcpy(it->mem, w->chunk, w->len);
	hash128(w->chunk, w->len, it->u.chunk.id.b);
	it->u.chunk.data = (const unsigned char *)it->mem;
	it->u.chunk.len = w->len;
	w->refs[w->nrefs].off = w->size - w->len;
	w->refs[w->nrefs].id = it->u.chunk.id;
	w->nrefs++;
	w->len = 0;
	pthread_mutex_lock(&w->mu);
	w->pending++;
	pthread_mutex_unlock(&w->mu);
	rc = store_enqueue(w->s, it);
	if (rc) {
		free(it);
		chunk_done(w, rc, 0);
	}
	return rc;
}

int lh_blob_writer_add(struct lh_blob_writer *w, const void *data, size_t n)
{
	const unsigned char *p = data;

	if (!w->whole)
		return -EINVAL;	/* sealed or finished already */
	XXH3_128bits_update(w->whole, data, n);
	while (n) {
		int cut;
		size_t k = cdc_next(&w->cdc, p, n, &cut);

		memcpy(w->chunk + w->len, p, k);
		w->len += k;
		w->size += k;
		p += k;
		n -= k;
		if (cut) {
			int rc = emit(w);

			if (rc)
				return rc;
		}
	}
	return 0;
}

struct done_wait {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done, status;
};

static void blob_done(void *arg, int status, int64_t seq)
{
	struct done_wait *d = arg;

	(void)seq;
	pthread_mutex_lock(&d->mu);
	d->done = 1;
	d->status = status;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

/*
 * The chunk buffer and hash state, once the content is whole, go to the
 * store for the next writer: a writer lives on until its chunks are
 * committed, and the recorder has many such in flight.
 */
static void give_back(struct lh_blob_writer *w)
{
	if (w->whole)
		XXH3_freeState(atomic_exchange(&w->s->spare_whole, w->whole));
	if (w->chunk)
		free(atomic_exchange(&w->s->spare_chunk, w->chunk));
	w->whole = NULL;
	w->chunk = NULL;
}

/* The blob record of what was added (its chunks are queued): id and size known now. */
static int blob_item(struct lh_blob_writer *w, struct lh_blob_id *id, uint64_t *size,
		     struct item **out)
{
	XXH128_canonical_t c;
	struct item *it;
	int rc;

	rc = emit(w);
	if (rc)
		return rc;
	XXH128_canonicalFromHash(&c, XXH3_128bits_digest(w->whole));
	give_back(w);
	memcpy(id->b, c.digest, 16);
	if (size)
		*size = w->size;
	it = xmalloc(sizeof(*it) + sizeof(*w->refs) * w->nrefs);
	memset(it, 0, sizeof(*it));
	it->kind = IT_BLOB;
	it->n = (int)w->nrefs;
	it->bytes = sizeof(*it) + sizeof(*w->refs) * w->nrefs;
	it->u.blob.id = *id;
	it->u.blob.size = w->size;
	it->u.blob.time_ns = lh_wall_ns();
	it->u.blob.refs = (struct chunk_ref *)(void *)it->mem;
	if (w->nrefs)
		memcpy(it->mem, w->refs, sizeof(*w->refs) * w->nrefs);
	*out = it;
	return 0;
}

int lh_blob_writer_seal(struct lh_blob_writer *w, struct lh_blob_id *id, uint64_t *size)
{
	struct item *it;
	int rc = blob_item(w, id, size, &it);

	if (rc)
		return rc;
	/* the queue is in order: committed before any event submitted after this,
	 * and the event wakes the writer for both */
	it->lazy = 1;
	rc = store_enqueue(w->s, it);
	if (rc)
		free(it);
	return rc;
}

int lh_blob_writer_finish(struct lh_blob_writer *w, struct lh_blob_id *id, uint64_t *size)
{
	struct done_wait d;
	struct item *it;
	int rc;

	rc = blob_item(w, id, size, &it);
	if (rc)
		return rc;
	memset(&d, 0, sizeof(d));
	pthread_mutex_init(&d.mu, NULL);
	pthread_cond_init(&d.cv, NULL);
	it->done = blob_done;
	it->arg = &d;
	rc = store_enqueue(w->s, it);
	if (rc) {
		free(it);
		store_kick(w->s);	/* the record did not queue: its lazy chunks still must go */
	} else {
		pthread_mutex_lock(&d.mu);
		while (!d.done)
			pthread_cond_wait(&d.cv, &d.mu);
		pthread_mutex_unlock(&d.mu);
		rc = d.status;
	}
	pthread_mutex_destroy(&d.mu);
	pthread_cond_destroy(&d.cv);
	pthread_mutex_lock(&w->mu);
	while (w->pending)
		pthread_cond_wait(&w->idle, &w->mu);
	if (!rc && w->failed)
		rc = w->failed;
	pthread_mutex_unlock(&w->mu);
	return rc;
}

void lh_blob_writer_free(struct lh_blob_writer *w)
{
	if (!w)
		return;
	/* chunks still in the queue point back here through their callbacks */
	store_kick(w->s);	/* they are lazy: nothing else may come to wake the writer */
	pthread_mutex_lock(&w->mu);
	while (w->pending)
		pthread_cond_wait(&w->idle, &w->mu);
	pthread_mutex_unlock(&w->mu);
	atomic_fetch_sub(&w->s->blob_writers, 1);
	give_back(w);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->idle);
	free(w->refs);
	free(w);
}

int lh_store_put_fd(struct lh_store *s, int fd, struct lh_blob_id *id, uint64_t *size)
{
	struct lh_blob_writer *w = lh_blob_writer_new(s);
	unsigned char *buf;
	ssize_t n;
	int rc = 0;

	if (!w)
		return -ENOMEM;
	buf = xmalloc(CDC_MAX);
	while ((n = read(fd, buf, CDC_MAX)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		rc = lh_blob_writer_add(w, buf, (size_t)n);
		if (rc)
			break;
	}
	free(buf);
	if (!rc)
		rc = lh_blob_writer_finish(w, id, size);
	lh_blob_writer_free(w);
	return rc;
}

/* ---- reading ---------------------------------------------------------------------- */

int lh_store_reader_blob_size(struct lh_store_reader *r, const struct lh_blob_id *id,
			      uint64_t *size)
{
	sqlite3 *db = store_reader_db(r);
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, "SELECT size FROM blobs WHERE id=?", -1, &st, NULL);

	if (rc != SQLITE_OK)
		return store_errno(db, rc) ? store_errno(db, rc) : -EIO;
	sqlite3_bind_blob(st, 1, id->b, 16, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*size = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return -ENOENT;
	return store_errno(db, rc) ? store_errno(db, rc) : -EIO;
}

int lh_store_reader_blob(struct lh_store_reader *r, const struct lh_blob_id *id,
			 lh_blob_fn fn, void *arg, struct lh_buf *err)
{
	sqlite3 *db = store_reader_db(r);
	sqlite3_stmt *st = NULL;
	uint64_t size, got = 0;
	int rc;

	rc = lh_store_reader_blob_size(r, id, &size);
	if (rc) {
		char hex[LH_HEX_ID];

		lh_blob_id_hex(id, hex);
		lh_buf_addf(err, "blob %s: %s", hex, rc == -ENOENT ? "not in the store" : strerror(-rc));
		return rc;
	}
	/* one transaction: the chunk list and the chunks of one snapshot */
	rc = sqlite3_prepare_v2(db, "SELECT bc.off, c.data FROM blob_chunks bc JOIN chunks c ON c.id = bc.chunk"
				    " WHERE bc.blob = ? ORDER BY bc.off", -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_bind_blob(st, 1, id->b, 16, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *data = sqlite3_column_blob(st, 1);
		size_t n = (size_t)sqlite3_column_bytes(st, 1);

		if ((uint64_t)sqlite3_column_int64(st, 0) != got) {
			lh_buf_addf(err, "blob chunk list broken at offset %llu", (unsigned long long)got);
			sqlite3_finalize(st);
			return -EUCLEAN;
		}
		got += n;
		if (fn(arg, data, n)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	return 0;
fail:
	lh_buf_addf(err, "cannot read a blob from '%s': %s", store_reader_path(r), sqlite3_errmsg(db));
	rc = store_errno(db, rc) ? store_errno(db, rc) : -EIO;
	sqlite3_finalize(st);
	return rc;
}

int lh_store_reader_blob_pread(struct lh_store_reader *r, const struct lh_blob_id *id,
			       void *buf, size_t n, uint64_t off, size_t *got)
{
	sqlite3 *db = store_reader_db(r);
	sqlite3_stmt *st = NULL;
	int64_t start = 0;
	int rc;

	*got = 0;
	/* the chunk that holds off, then the ones after it */
	rc = sqlite3_prepare_v2(db, "SELECT off FROM blob_chunks WHERE blob = ?1 AND off <= ?2"
				    " ORDER BY off DESC LIMIT 1", -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_bind_blob(st, 1, id->b, 16, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)off);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		start = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (rc == SQLITE_DONE)
		return 0;	/* empty, or past the end */
	if (rc != SQLITE_ROW)
		goto fail;
	rc = sqlite3_prepare_v2(db, "SELECT bc.off, c.data FROM blob_chunks bc JOIN chunks c ON c.id = bc.chunk"
				    " WHERE bc.blob = ?1 AND bc.off >= ?2 ORDER BY bc.off", -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_bind_blob(st, 1, id->b, 16, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, start);
	while (*got < n && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t coff = (uint64_t)sqlite3_column_int64(st, 0);
		const unsigned char *data = sqlite3_column_blob(st, 1);
		size_t len = (size_t)sqlite3_column_bytes(st, 1), skip, take;

		if (off + *got < coff)
			break;		/* a hole: the list is broken */
		skip = (size_t)(off + *got - coff);
		if (skip >= len)
			continue;
		take = len - skip < n - *got ? len - skip : n - *got;
		memcpy((unsigned char *)buf + *got, data + skip, take);
		*got += take;
	}
	sqlite3_finalize(st);
	return 0;
fail:
	rc = store_errno(db, rc) ? store_errno(db, rc) : -EIO;
	sqlite3_finalize(st);
	return rc;
}

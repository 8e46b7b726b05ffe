/*
 * verify.c -- `lighthousectl verify`: walk the checksum chain from the
 * first row to the last, then every chunk and every blob, and report the
 * first thing that is wrong (chain.c describes what the chain proves).
 *
 * Everything is read in one read transaction, so a daemon writing
 * meanwhile does not disturb the walk: it checks the snapshot of the last
 * commit when it started.
 *
 * Checks, in order; the first failure ends the walk:
 *
 *   events   seq follows seq, or a gap record covers the hole exactly;
 *            hash(n) = xxh3-128(hash(n-1) || row(n)), continuing from a
 *            gap's recorded hash across the hole; a blob an event names
 *            is in the store
 *   gaps     every gap belongs to a store.vacuum (or store.migrate) event
 *            whose gaps_hash is the digest of exactly its gaps; no gap
 *            reaches past the last row
 *   chunks   xxh3-128 of the bytes is the id, the size is the length
 *   blobs    the chunk list covers offsets 0..size without holes, every
 *            chunk is there, and xxh3-128 of the whole is the id
 *
 * The newest rows of a log can be cut off without breaking the chain:
 * that shows only against a head checksum kept elsewhere, which is why the
 * head is reported.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "common/xalloc.h"
#include "store/store_int.h"
#include "common/banned.h"

struct gap {
	int64_t first, last, vacuum;
	unsigned char hash[16];
};

struct pass {
	int64_t seq;			/* the store.vacuum / store.migrate event */
	char gaps_hash[LH_HEX_ID];	/* from its payload; "" none */
	int seen;			/* the event was found */
	struct lh_buf acc;		/* its gaps, folded */
};

struct walk {
	struct gap *gaps;
	size_t ngaps, gi;
	struct pass *passes;
	size_t npasses;
};

static struct pass *pass_of(struct walk *w, int64_t seq)
{
	size_t k;

	for (k = 0; k < w->npasses; k++)
		if (w->passes[k].seq == seq)
			return &w->passes[k];
	w->passes = xrealloc(w->passes, sizeof(*w->passes) * (w->npasses + 1));
	memset(&w->passes[w->npasses], 0, sizeof(w->passes[0]));
	w->passes[w->npasses].seq = seq;
	lh_buf_init(&w->passes[w->npasses].acc, 0);
	return &w->passes[w->npasses++];
}

static int bad(struct lh_verify *v, int64_t seq, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int bad(struct lh_verify *v, int64_t seq, const char *fmt, ...)
{
	va_list ap;

	v->bad_seq = seq;
	va_start(ap, fmt);
	vsnprintf(v->what, sizeof(v->what), fmt, ap);
	va_end(ap);
	return -EUCLEAN;
}

/* The string value of "key":"..." in a payload we wrote, or "" */
static void payload_str(const char *payload, const char *key, char *out, size_t n)
{
	char pat[64];
	const char *p;
	size_t len;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	out[0] = '\0';
	p = strstr(payload, pat);
	if (!p)
		return;
	p += strlen(pat);
	len = strcspn(p, "\"");
	if (len >= n)
		len = n - 1;
	memcpy(out, p, len);
	out[len] = '\0';
}

static int load_gaps(sqlite3 *db, struct walk *w)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, "SELECT first_seq, last_seq, hash, vacuum_seq FROM gaps ORDER BY first_seq",
				    -1, &st, NULL);
	size_t cap = 0;

	if (rc != SQLITE_OK)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct gap *g;

		if (w->ngaps == cap) {
			cap = cap ? cap * 2 : 64;
			w->gaps = xrealloc(w->gaps, sizeof(*w->gaps) * cap);
		}
		g = &w->gaps[w->ngaps++];
		g->first = sqlite3_column_int64(st, 0);
		g->last = sqlite3_column_int64(st, 1);
		g->vacuum = sqlite3_column_int64(st, 3);
		memset(g->hash, 0, 16);
		if (sqlite3_column_bytes(st, 2) == 16)
			memcpy(g->hash, sqlite3_column_blob(st, 2), 16);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int walk_events(sqlite3 *db, struct walk *w, struct lh_verify *v, int *sqlrc)
{
	sqlite3_stmt *st = NULL, *has_blob = NULL;
	struct lh_buf scratch = LH_BUF_INIT;
	unsigned char prev[16] = { 0 }, h[16];
	int64_t expect = 1;
	int rc = 0, src;

	src = sqlite3_prepare_v2(db, "SELECT " ROW_COLUMNS " FROM events ORDER BY seq", -1, &st, NULL);
	if (src == SQLITE_OK)
		src = sqlite3_prepare_v2(db, "SELECT 1 FROM blobs WHERE id=?", -1, &has_blob, NULL);
	if (src != SQLITE_OK)
		goto out;
	while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
		struct lh_event_row row;
		struct lh_blob_id blob;
		char hex[LH_HEX_ID];

		store_row_from_stmt(st, &row, &blob);
		/* holes must be gaps, exactly */
		while (row.seq > expect) {
			struct gap *g = w->gi < w->ngaps ? &w->gaps[w->gi] : NULL;

			if (!g || g->first != expect || g->last >= row.seq) {
				rc = bad(v, expect, "%s: seq %" PRId64 " to %" PRId64 " are missing (rows deleted, and no vacuum recorded it)",
					 expect == row.seq - 1 ? "row missing" : "rows missing", expect, row.seq - 1);
				break;
			}
			memcpy(prev, g->hash, 16);
			chain_gap_fold(&pass_of(w, g->vacuum)->acc, g->first, g->last, g->hash);
			expect = g->last + 1;
			v->gaps++;
			w->gi++;
		}
		if (rc)
			break;
		if (w->gi < w->ngaps && w->gaps[w->gi].first <= row.seq) {
			rc = bad(v, row.seq, "a gap record (%" PRId64 " to %" PRId64 ") covers a row that is present",
				 w->gaps[w->gi].first, w->gaps[w->gi].last);
			break;
		}
		if (!row.hash) {
			rc = bad(v, row.seq, "the row has no checksum");
			break;
		}
		chain_hash(prev, &row, &scratch, h);
		if (memcmp(h, row.hash, 16)) {
			rc = bad(v, row.seq, "checksum mismatch: the row was changed after it was written (type %s)",
				 row.type);
			break;
		}
		if (row.blob) {
			sqlite3_bind_blob(has_blob, 1, row.blob->b, 16, SQLITE_STATIC);
			src = sqlite3_step(has_blob);
			sqlite3_reset(has_blob);
			if (src == SQLITE_DONE) {
				lh_blob_id_hex(row.blob, hex);
				rc = bad(v, row.seq, "its content, blob %s, is not in the store", hex);
				break;
			}
			if (src != SQLITE_ROW)
				goto out;
		}
		if (!strcmp(row.type, "store.vacuum") || !strcmp(row.type, "store.migrate")) {
			struct pass *p = pass_of(w, row.seq);

			p->seen = 1;
			payload_str(row.payload, "gaps_hash", p->gaps_hash, sizeof(p->gaps_hash));
		}
		memcpy(prev, h, 16);
		if (!v->events)
			v->first_seq = row.seq;
		v->last_seq = row.seq;
		v->events++;
		expect = row.seq + 1;
		hex16(h, v->head);
	}
	if (rc || src != SQLITE_DONE)
		goto out;
	src = SQLITE_OK;
	if (w->gi < w->ngaps)
		rc = bad(v, w->gaps[w->gi].first, "a gap record (%" PRId64 " to %" PRId64 ") lies past the last row",
			 w->gaps[w->gi].first, w->gaps[w->gi].last);
out:
	sqlite3_finalize(st);
	sqlite3_finalize(has_blob);
	lh_buf_release(&scratch);
	*sqlrc = src == SQLITE_DONE || src == SQLITE_ROW ? SQLITE_OK : src;
	return rc;
}

static int check_passes(struct walk *w, struct lh_verify *v)
{
	size_t k;

	for (k = 0; k < w->npasses; k++) {
		struct pass *p = &w->passes[k];
		char digest[LH_HEX_ID];

		if (!p->seen && p->acc.len)
			return bad(v, p->seq, "gap records name seq %" PRId64 " as their vacuum, which is not a store.vacuum event",
				   p->seq);
		if (!p->acc.len) {
			if (p->gaps_hash[0])
				return bad(v, p->seq, "this vacuum's gap records are missing");
			continue;
		}
		chain_gap_digest(&p->acc, digest);
		if (strcmp(digest, p->gaps_hash))
			return bad(v, p->seq, "this vacuum's gap records were changed (gaps_hash %s, records make %s)",
				   p->gaps_hash[0] ? p->gaps_hash : "missing", digest);
	}
	return 0;
}

/* The first event that names a blob, for the report. */
static int64_t seq_of_blob(sqlite3 *db, const unsigned char id[16])
{
	sqlite3_stmt *st;
	int64_t seq = 0;

	if (sqlite3_prepare_v2(db, "SELECT min(seq) FROM events WHERE blob=?", -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		seq = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return seq;
}

static int check_chunks(sqlite3 *db, struct lh_verify *v, int *sqlrc)
{
	sqlite3_stmt *st;
	int rc = 0, src = sqlite3_prepare_v2(db, "SELECT id, size, data FROM chunks", -1, &st, NULL);

	if (src != SQLITE_OK) {
		*sqlrc = src;
		return 0;
	}
	while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
		unsigned char h[16];
		char hex[LH_HEX_ID];
		const void *data = sqlite3_column_blob(st, 2);
		int n = sqlite3_column_bytes(st, 2);

		hash128(data, (size_t)n, h);
		if (sqlite3_column_bytes(st, 0) != 16 || memcmp(h, sqlite3_column_blob(st, 0), 16) ||
		    sqlite3_column_int64(st, 1) != n) {
			if (sqlite3_column_bytes(st, 0) == 16)
				hex16(sqlite3_column_blob(st, 0), hex);
			else
				snprintf(hex, sizeof(hex), "?");
			rc = bad(v, 0, "chunk %s: its bytes do not match its id or size (changed or damaged)", hex);
		}
		v->chunks++;
	}
	sqlite3_finalize(st);
	*sqlrc = rc || src == SQLITE_DONE ? SQLITE_OK : src;
	return rc;
}

static int check_blobs(sqlite3 *db, struct lh_verify *v, int *sqlrc)
{
	sqlite3_stmt *st = NULL, *list = NULL;
	XXH3_state_t *whole = XXH3_createState();
	int rc = 0, src;

	src = sqlite3_prepare_v2(db, "SELECT id, size, chunks FROM blobs ORDER BY id", -1, &st, NULL);
	if (src == SQLITE_OK)
		src = sqlite3_prepare_v2(db, "SELECT bc.off, c.data, c.id FROM blob_chunks bc"
					     " LEFT JOIN chunks c ON c.id = bc.chunk WHERE bc.blob = ? ORDER BY bc.off",
					 -1, &list, NULL);
	if (src != SQLITE_OK || !whole)
		goto out;
	while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
		unsigned char id[16], h[16];
		char hex[LH_HEX_ID];
		int64_t size = sqlite3_column_int64(st, 1), nchunks = sqlite3_column_int64(st, 2);
		int64_t off = 0, count = 0;
		XXH128_canonical_t c;

		if (sqlite3_column_bytes(st, 0) != 16) {
			rc = bad(v, 0, "a blob has a malformed id");
			break;
		}
		memcpy(id, sqlite3_column_blob(st, 0), 16);
		hex16(id, hex);
		XXH3_128bits_reset(whole);
		sqlite3_bind_blob(list, 1, id, 16, SQLITE_STATIC);
		while (!rc && (src = sqlite3_step(list)) == SQLITE_ROW) {
			if (sqlite3_column_int64(list, 0) != off)
				rc = bad(v, seq_of_blob(db, id), "blob %s: its chunk list has a hole or an overlap at offset %" PRId64,
					 hex, off);
			else if (sqlite3_column_type(list, 2) == SQLITE_NULL)
				rc = bad(v, seq_of_blob(db, id), "blob %s: the chunk at offset %" PRId64 " is missing",
					 hex, off);
			else {
				int n = sqlite3_column_bytes(list, 1);

				XXH3_128bits_update(whole, sqlite3_column_blob(list, 1), (size_t)n);
				off += n;
				count++;
			}
		}
		sqlite3_reset(list);
		if (rc)
			break;
		if (src != SQLITE_DONE)
			goto out;
		XXH128_canonicalFromHash(&c, XXH3_128bits_digest(whole));
		memcpy(h, c.digest, 16);
		if (off != size || count != nchunks)
			rc = bad(v, seq_of_blob(db, id), "blob %s: its chunks hold %" PRId64 " bytes in %" PRId64
				 " chunks, the record says %" PRId64 " in %" PRId64, hex, off, count, size, nchunks);
		else if (memcmp(h, id, 16))
			rc = bad(v, seq_of_blob(db, id), "blob %s: its content does not hash to its id", hex);
		v->blobs++;
	}
	if (!rc && src == SQLITE_DONE)
		src = SQLITE_OK;
out:
	sqlite3_finalize(st);
	sqlite3_finalize(list);
	XXH3_freeState(whole);
	*sqlrc = rc ? SQLITE_OK : src;
	return rc;
}

int lh_store_verify(const char *dir, struct lh_verify *v, struct lh_buf *err)
{
	struct lh_store_reader *r;
	struct walk w;
	sqlite3 *db;
	int rc, src = SQLITE_OK;
	size_t k;

	memset(v, 0, sizeof(*v));
	memset(&w, 0, sizeof(w));
	rc = lh_store_reader_open(&r, dir, err);
	if (rc)
		return rc;
	db = store_reader_db(r);
	src = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	if (src == SQLITE_OK)
		src = load_gaps(db, &w);
	if (src == SQLITE_OK)
		rc = walk_events(db, &w, v, &src);
	if (!rc && src == SQLITE_OK)
		rc = check_passes(&w, v);
	if (!rc && src == SQLITE_OK)
		rc = check_chunks(db, v, &src);
	if (!rc && src == SQLITE_OK)
		rc = check_blobs(db, v, &src);
	if (!rc && src != SQLITE_OK) {
		/* SQLite itself found the file damaged, or could not read it */
		lh_buf_addf(err, "cannot read '%s': %s", store_reader_path(r), sqlite3_errmsg(db));
		rc = store_errno(db, src) ? store_errno(db, src) : -EIO;
		if (rc == -EUCLEAN)
			bad(v, v->last_seq + 1, "the database file is damaged after seq %" PRId64 ": %s",
			    v->last_seq, sqlite3_errmsg(db));
	}
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	for (k = 0; k < w.npasses; k++)
		lh_buf_release(&w.passes[k].acc);
	free(w.passes);
	free(w.gaps);
	lh_store_reader_close(r);
	return rc;
}

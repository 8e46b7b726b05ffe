/*
 * vacuum.c -- retention: drop superseded file history older than a
 * cutoff, and the contents nothing references any more, without ever
 * touching the audit record and without breaking the chain.
 *
 * What goes: a file.* event older than the cutoff when a newer file event
 * of the same path, also older than the cutoff, replaces it -- a rename
 * counts as an event of both its old and its new path -- and a
 * file.deleted that is the newest event of its path before the cutoff.
 * So the newest state of every path at the cutoff stays (events.c: every
 * file event carries the whole state), and history/ can still show any
 * moment from the cutoff on. What stays, always: requests, verdicts,
 * escalations, decisions, annotations, policy, daemon and store events
 * (the `keep` column of lh_event_types). Then blobs that no event names
 * and that were stored before the cutoff, and chunks no blob lists.
 *
 * How: the list of rows to drop is computed from a snapshot by a reader
 * connection of this thread (a scan of old file events, newest first,
 * remembering the paths already seen); the writer thread then drops them
 * in passes of at most PASS_ROWS rows, each pass one transaction of its
 * own between two batches, so verdicts keep flowing while a big vacuum
 * runs. A pass records each run of consecutive dropped rows as a gap
 * (first, last, hash of last, this pass's seq) and appends a store.vacuum
 * event carrying gaps_hash, the digest of its gaps (chain.c): verify then
 * continues the chain across the holes, and notices a gap record changed.
 *
 * Contents go in a last pass, and only while no lh_blob_writer is alive:
 * a blob being stored has chunks no blob lists yet (blob.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

#include "common/clock.h"
#include "common/xalloc.h"
#include "store/store_int.h"
#include "common/banned.h"

#define PASS_ROWS 4096

/* ---- a set of paths ----------------------------------------------------------- */

struct pathset {
	char **v;
	size_t cap, n;
};

static int pathset_add(struct pathset *s, const char *p)
{
	size_t i;

	if (2 * (s->n + 1) > s->cap) {
		struct pathset big = { NULL, s->cap ? s->cap * 2 : 1024, 0 };

		big.v = xcalloc(big.cap, sizeof(char *));
		for (i = 0; i < s->cap; i++)
			if (s->v[i]) {
				size_t j = XXH3_64bits(s->v[i], strlen(s->v[i])) & (big.cap - 1);

				while (big.v[j])
					j = (j + 1) & (big.cap - 1);
				big.v[j] = s->v[i];
				big.n++;
			}
		free(s->v);
		*s = big;
	}
	for (i = XXH3_64bits(p, strlen(p)) & (s->cap - 1); s->v[i]; i = (i + 1) & (s->cap - 1))
		if (!strcmp(s->v[i], p))
			return 0;
	s->v[i] = xstrdup(p);
	s->n++;
	return 1;
}

static int pathset_has(const struct pathset *s, const char *p)
{
	size_t i;

	if (!s->cap)
		return 0;
	for (i = XXH3_64bits(p, strlen(p)) & (s->cap - 1); s->v[i]; i = (i + 1) & (s->cap - 1))
		if (!strcmp(s->v[i], p))
			return 1;
	return 0;
}

static void pathset_free(struct pathset *s)
{
	size_t i;

	for (i = 0; i < s->cap; i++)
		free(s->v[i]);
	free(s->v);
}

/* ---- which rows go ------------------------------------------------------------- */

static int drop_list(const char *dir, int64_t cutoff, int64_t **out, size_t *n, struct lh_buf *err)
{
	struct lh_store_reader *r;
	struct pathset seen = { NULL, 0, 0 };
	sqlite3_stmt *st = NULL;
	sqlite3 *db;
	int64_t *v = NULL;
	size_t cap = 0, k;
	int rc;

	*out = NULL;
	*n = 0;
	rc = lh_store_reader_open(&r, dir, err);
	if (rc)
		return rc;
	db = store_reader_db(r);
	rc = sqlite3_prepare_v2(db, "SELECT seq, type, path, CASE WHEN type = 'file.renamed'"
				    " THEN json_extract(payload, '$.from') END"
				    " FROM events WHERE type GLOB 'file.*' AND time_ns < ? ORDER BY seq DESC",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		goto sqlfail;
	sqlite3_bind_int64(st, 1, cutoff);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(st, 1);
		const char *path = (const char *)sqlite3_column_text(st, 2);
		const char *from = (const char *)sqlite3_column_text(st, 3);
		int drop;

		if (!path)
			continue;
		/* newest first: a path seen already has a newer state */
		drop = pathset_has(&seen, path) || !strcmp(type, "file.deleted");
		pathset_add(&seen, path);
		if (from)
			pathset_add(&seen, from);
		if (!drop)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 1024;
			v = xrealloc(v, sizeof(*v) * cap);
		}
		v[(*n)++] = sqlite3_column_int64(st, 0);
	}
	if (rc != SQLITE_DONE)
		goto sqlfail;
	/* oldest first, for the passes */
	for (k = 0; k < *n / 2; k++) {
		int64_t t = v[k];

		v[k] = v[*n - 1 - k];
		v[*n - 1 - k] = t;
	}
	*out = v;
	v = NULL;
	rc = 0;
	goto out;
sqlfail:
	lh_buf_addf(err, "cannot read '%s': %s", store_reader_path(r), sqlite3_errmsg(db));
	rc = store_errno(db, rc) ? store_errno(db, rc) : -EIO;
out:
	sqlite3_finalize(st);
	free(v);
	pathset_free(&seen);
	lh_store_reader_close(r);
	return rc;
}

/* ---- passes, in the writer thread -------------------------------------------------- */

struct pass {
	int64_t cutoff;
	const int64_t *seqs;
	size_t n;
	struct lh_vacuum *res;
	char error[256];
};

static int record_pass(struct lh_store *s, struct pass *p, const char *fields)
{
	struct lh_buf payload = LH_BUF_INIT;
	struct lh_event ev;
	char when[32];
	int rc;

	lh_format_time(when, p->cutoff);
	lh_buf_addf(&payload, "{\"cutoff\":\"%s\",\"cutoff_ns\":%" PRId64 ",%s}", when, p->cutoff, fields);
	memset(&ev, 0, sizeof(ev));
	ev.type = "store.vacuum";
	ev.time_ns = lh_wall_ns();
	ev.uid = (int64_t)getuid();
	ev.gid = (int64_t)getgid();
	ev.pid = (int64_t)getpid();
	ev.payload = payload.data;
	ev.payload_len = payload.len;
	rc = store_insert_event(s, &ev);
	lh_buf_release(&payload);
	p->res->passes++;
	return rc;
}

static int drop_pass(struct lh_store *s, void *arg)
{
	struct pass *p = arg;
	sqlite3_stmt *get = NULL, *del = NULL, *gap = NULL;
	struct lh_buf acc = LH_BUF_INIT, fields = LH_BUF_INIT;
	unsigned char run_hash[16];
	int64_t vseq, run_first = 0, run_last = 0, dropped = 0, gaps = 0, lo = 0, hi = 0;
	char digest[LH_HEX_ID];
	size_t k;
	int rc;

	rc = store_tx_begin(s);
	if (rc)
		return rc;
	vseq = s->tx_seq + 1;	/* this pass's store.vacuum event */
	if (sqlite3_prepare_v2(s->db, "SELECT hash FROM events WHERE seq = ?", -1, &get, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, "DELETE FROM events WHERE seq = ?", -1, &del, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, "INSERT INTO gaps(first_seq, last_seq, hash, vacuum_seq) VALUES(?,?,?,?)", -1,
			       &gap, NULL) != SQLITE_OK)
		goto sqlfail;
	for (k = 0; k <= p->n; k++) {
		int64_t seq = k < p->n ? p->seqs[k] : 0;
		unsigned char h[16] = { 0 };

		if (k < p->n) {
			sqlite3_bind_int64(get, 1, seq);
			rc = sqlite3_step(get);
			if (rc == SQLITE_ROW && sqlite3_column_bytes(get, 0) == 16)
				memcpy(h, sqlite3_column_blob(get, 0), 16);
			sqlite3_reset(get);
			if (rc == SQLITE_DONE)
				continue;	/* gone already */
			if (rc != SQLITE_ROW)
				goto sqlfail;
		}
		if (run_first && k < p->n && seq == run_last + 1) {
			run_last = seq;
			memcpy(run_hash, h, 16);
		} else {
			if (run_first) {
				/* close the run: a gap whose hash carries the chain across */
				sqlite3_bind_int64(gap, 1, run_first);
				sqlite3_bind_int64(gap, 2, run_last);
				sqlite3_bind_blob(gap, 3, run_hash, 16, SQLITE_STATIC);
				sqlite3_bind_int64(gap, 4, vseq);
				rc = sqlite3_step(gap);
				sqlite3_reset(gap);
				if (rc != SQLITE_DONE)
					goto sqlfail;
				chain_gap_fold(&acc, run_first, run_last, run_hash);
				gaps++;
			}
			if (k == p->n)
				break;
			run_first = run_last = seq;
			memcpy(run_hash, h, 16);
		}
		sqlite3_bind_int64(del, 1, seq);
		rc = sqlite3_step(del);
		sqlite3_reset(del);
		if (rc != SQLITE_DONE)
			goto sqlfail;
		if (!lo)
			lo = seq;
		hi = seq;
		dropped++;
	}
	if (!dropped) {
		store_tx_rollback(s);
		rc = 0;
		goto out;
	}
	chain_gap_digest(&acc, digest);
	lh_buf_addf(&fields, "\"dropped\":%" PRId64 ",\"first\":%" PRId64 ",\"last\":%" PRId64
		    ",\"gaps\":%" PRId64 ",\"gaps_hash\":\"%s\"", dropped, lo, hi, gaps, digest);
	rc = record_pass(s, p, fields.data);
	if (!rc)
		rc = store_tx_commit(s);
	if (rc) {
		snprintf(p->error, sizeof(p->error), "%s", sqlite3_errmsg(s->db));
		store_tx_rollback(s);
		goto out;
	}
	p->res->dropped += dropped;
	p->res->gaps += gaps;
	goto out;
sqlfail:
	snprintf(p->error, sizeof(p->error), "%s", sqlite3_errmsg(s->db));
	rc = store_errno(s->db, rc) ? store_errno(s->db, rc) : -EIO;
	store_tx_rollback(s);
out:
	sqlite3_finalize(get);
	sqlite3_finalize(del);
	sqlite3_finalize(gap);
	lh_buf_release(&acc);
	lh_buf_release(&fields);
	return rc;
}

#define UNREFERENCED "time_ns < ?1 AND NOT EXISTS (SELECT 1 FROM events WHERE events.blob = blobs.id)"

static int contents_pass(struct lh_store *s, void *arg)
{
	struct pass *p = arg;
	sqlite3_stmt *st[3] = { NULL, NULL, NULL };
	static const char *const sql[3] = {
		"DELETE FROM blob_chunks WHERE blob IN (SELECT id FROM blobs WHERE " UNREFERENCED ")",
		"DELETE FROM blobs WHERE " UNREFERENCED,
		"DELETE FROM chunks WHERE NOT EXISTS (SELECT 1 FROM blob_chunks WHERE blob_chunks.chunk = chunks.id)",
	};
	int64_t changes[3] = { 0, 0, 0 };
	int k, rc;

	if (atomic_load(&s->blob_writers)) {
		p->res->chunks_skipped = 1;
		return 0;
	}
	rc = store_tx_begin(s);
	if (rc)
		return rc;
	for (k = 0; k < 3; k++) {
		if (sqlite3_prepare_v2(s->db, sql[k], -1, &st[k], NULL) != SQLITE_OK)
			goto sqlfail;
		if (k < 2)
			sqlite3_bind_int64(st[k], 1, p->cutoff);
		rc = sqlite3_step(st[k]);
		if (rc != SQLITE_DONE)
			goto sqlfail;
		changes[k] = sqlite3_changes(s->db);
	}
	if (changes[1] || changes[2]) {
		char fields[128];

		snprintf(fields, sizeof(fields), "\"blobs\":%" PRId64 ",\"chunks\":%" PRId64, changes[1], changes[2]);
		rc = record_pass(s, p, fields);
		if (rc)
			goto sqlfail;
	}
	rc = store_tx_commit(s);
	if (rc)
		goto sqlfail;
	p->res->blobs += changes[1];
	p->res->chunks += changes[2];
	goto out;
sqlfail:
	snprintf(p->error, sizeof(p->error), "%s", sqlite3_errmsg(s->db));
	rc = store_errno(s->db, rc) ? store_errno(s->db, rc) : -EIO;
	store_tx_rollback(s);
out:
	for (k = 0; k < 3; k++)
		sqlite3_finalize(st[k]);
	return rc;
}

int lh_store_vacuum(struct lh_store *s, int64_t cutoff_ns, struct lh_vacuum *res, struct lh_buf *err)
{
	struct pass p;
	int64_t *seqs = NULL;
	size_t n = 0, at;
	int rc;

	memset(res, 0, sizeof(*res));
	res->cutoff_ns = cutoff_ns;
	rc = drop_list(s->dir, cutoff_ns, &seqs, &n, err);
	if (rc)
		return rc;
	memset(&p, 0, sizeof(p));
	p.cutoff = cutoff_ns;
	p.res = res;
	for (at = 0; at < n && !rc; at += PASS_ROWS) {
		p.seqs = seqs + at;
		p.n = n - at < PASS_ROWS ? n - at : PASS_ROWS;
		rc = store_run_job(s, drop_pass, &p);
	}
	if (!rc)
		rc = store_run_job(s, contents_pass, &p);
	if (rc)
		lh_buf_addf(err, "vacuum failed: %s", p.error[0] ? p.error : strerror(-rc));
	free(seqs);
	return rc;
}

static int compact(struct lh_store *s, void *arg)
{
	struct lh_buf *err = arg;
	int rc = store_exec(s->db, "VACUUM", err);

	if (!rc)
		sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	return rc;
}

int lh_store_compact(struct lh_store *s, struct lh_buf *err)
{
	return store_run_job(s, compact, err);
}

void lh_vacuum_report(const struct lh_vacuum *res, long keep_days, struct lh_buf *out)
{
	char when[32];

	lh_format_time(when, res->cutoff_ns);
	lh_buf_addf(out, "kept: %ld days (history before %s that a newer state replaces goes)\n", keep_days, when);
	lh_buf_addf(out, "dropped: %" PRId64 " file events, in %" PRId64 " gaps\n", res->dropped, res->gaps);
	lh_buf_addf(out, "contents: %" PRId64 " blobs, %" PRId64 " chunks dropped%s\n", res->blobs, res->chunks,
		    res->chunks_skipped ? " (a content was being stored: unreferenced ones are left for next time)" : "");
	lh_buf_addf(out, "recorded: %" PRId64 " store.vacuum events\n", res->passes);
}

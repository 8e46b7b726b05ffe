/*
 * schema.c -- the tables of the event store, their versions, and the
 * migrations between them (schema.sql documents every column; this file
 * is the authority).
 *
 * PRAGMA user_version holds the schema version, PRAGMA application_id
 * 0x4C484F55 ("LHOU"). At open (store_schema_prepare):
 *
 *   not a database, or corrupt     refused: "not a Lighthouse event store"
 *   another program's database     refused (tables, no or another app id)
 *   a newer version                refused: upgrade Lighthouse
 *   empty                          version 3 created
 *   version 1                      migrated to 2, then 3, in one transaction
 *   version 2                      migrated to 3 (the journal table)
 *   version 3                      checked: every table is there
 *
 * Version 1 (issue 2): events without chain checksums or blobs.
 * Version 2: events gain `blob` and `hash` (chain.c); gaps, chunks, blobs
 * and blob_chunks appear; indexes for every filter of `lighthousectl
 * events`. The path index leaves out requests and verdicts: their names
 * are often unique, so each row would land at a random place of the index
 * and every commit would rewrite hundreds of its pages -- it halved the
 * writer's rate -- while a request's handle is its id (events_request);
 * --path finds request names by scanning the requests instead. The migration rebuilds events in seq order computing the
 * chain (a hole in a version 1 log becomes a gap record) and appends a
 * store.migrate event, so the migration itself is on the record.
 * Version 3: the `journal` table, one row: how much of STATE/journal the
 * database holds (journal.c), updated in the transaction that ingests it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "store/store_int.h"
#include "common/banned.h"

const char store_schema_v2[] =
	"CREATE TABLE events ("
	" seq INTEGER PRIMARY KEY,"
	" time_ns INTEGER NOT NULL,"
	" type TEXT NOT NULL,"
	" uid INTEGER, gid INTEGER, pid INTEGER,"
	" agent TEXT, session TEXT,"
	" request_id INTEGER,"
	" path TEXT,"
	" blob BLOB,"
	" payload TEXT NOT NULL,"
	" hash BLOB NOT NULL);"
	"CREATE INDEX events_request ON events(request_id) WHERE request_id IS NOT NULL;"
	"CREATE INDEX events_type ON events(type, seq);"
	"CREATE INDEX events_time ON events(time_ns);"
	"CREATE INDEX events_agent ON events(agent, seq) WHERE agent IS NOT NULL;"
	"CREATE INDEX events_session ON events(session, seq) WHERE session IS NOT NULL;"
	"CREATE INDEX events_path ON events(path, seq) WHERE path IS NOT NULL AND type NOT IN ('request','verdict');"
	"CREATE INDEX events_blob ON events(blob) WHERE blob IS NOT NULL;"
	"CREATE TABLE gaps ("
	" first_seq INTEGER PRIMARY KEY,"
	" last_seq INTEGER NOT NULL,"
	" hash BLOB NOT NULL,"
	" vacuum_seq INTEGER NOT NULL);"
	"CREATE TABLE chunks ("
	" id BLOB PRIMARY KEY,"
	" size INTEGER NOT NULL,"
	" data BLOB NOT NULL);"
	"CREATE TABLE blobs ("
	" id BLOB PRIMARY KEY,"
	" size INTEGER NOT NULL,"
	" chunks INTEGER NOT NULL,"
	" time_ns INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE blob_chunks ("
	" blob BLOB NOT NULL,"
	" off INTEGER NOT NULL,"
	" chunk BLOB NOT NULL,"
	" PRIMARY KEY (blob, off)) WITHOUT ROWID;"
	"CREATE INDEX blob_chunks_chunk ON blob_chunks(chunk);";

const char store_schema_v3[] =
	"CREATE TABLE journal ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" generation INTEGER NOT NULL,"
	" offset INTEGER NOT NULL);"
	"INSERT INTO journal(id, generation, offset) VALUES (1, 0, 0);";

static const char *const v3_tables[] = { "events", "gaps", "chunks", "blobs", "blob_chunks", "journal", NULL };

static int set_version(sqlite3 *db, struct lh_buf *err)
{
	char sql[96];

	snprintf(sql, sizeof(sql), "PRAGMA application_id=%d; PRAGMA user_version=%d", APPLICATION_ID,
		 SCHEMA_VERSION);
	return store_exec(db, sql, err);
}

/* Every table of the current version is there. */
static int check_tables(sqlite3 *db, const char *path, struct lh_buf *err)
{
	int k;

	for (k = 0; v3_tables[k]; k++) {
		char sql[128];
		int64_t n = 0;

		snprintf(sql, sizeof(sql), "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='%s'",
			 v3_tables[k]);
		if (store_query_int(db, sql, &n, NULL) || n != 1) {
			lh_buf_addf(err, "'%s' is damaged: table '%s' is missing; run lighthousectl verify, or move it away",
				    path, v3_tables[k]);
			return -EUCLEAN;
		}
	}
	return 0;
}

/*
 * Version 1 -> 2: rebuild events with blob and hash columns, the chain
 * computed in seq order, then the new tables and indexes.
 */
static int migrate_v1(sqlite3 *db, const char *path, struct lh_buf *err)
{
	sqlite3_stmt *sel = NULL, *ins = NULL, *gap = NULL;
	struct lh_buf scratch = LH_BUF_INIT, gaps = LH_BUF_INIT, payload = LH_BUF_INIT;
	unsigned char prev[16] = { 0 }, hash[16];
	int64_t last = 0, rows = 0, holes = 0;
	struct lh_event_row row;
	char digest[LH_HEX_ID];
	int rc;

	rc = store_exec(db, "DROP INDEX IF EXISTS events_request; DROP INDEX IF EXISTS events_type;"
			    " ALTER TABLE events RENAME TO events_v1;", err);
	if (!rc)
		rc = store_exec(db, store_schema_v2, err);
	if (rc)
		goto out;
	rc = sqlite3_prepare_v2(db, "SELECT seq,time_ns,type,uid,gid,pid,agent,session,request_id,path,NULL,"
				    "payload,NULL FROM events_v1 ORDER BY seq", -1, &sel, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "INSERT INTO events(" ROW_COLUMNS ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
					-1, &ins, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "INSERT INTO gaps(first_seq,last_seq,hash,vacuum_seq) VALUES(?,?,?,?)",
					-1, &gap, NULL);
	if (rc != SQLITE_OK)
		goto sqlfail;
	lh_buf_init(&scratch, 0);
	while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
		store_row_from_stmt(sel, &row, NULL);
		if (row.seq != last + 1) {
			/* a hole in the old log: recorded, so that verify accounts for it */
			chain_gap_fold(&gaps, last + 1, row.seq - 1, prev);
			holes++;
		}
		chain_hash(prev, &row, &scratch, hash);
		rc = store_row_insert(db, ins, &row, hash);
		if (rc != SQLITE_DONE)
			goto sqlfail;
		memcpy(prev, hash, 16);
		last = row.seq;
		rows++;
	}
	if (rc != SQLITE_DONE)
		goto sqlfail;
	/* the migration, on the record, carrying the digest of its gaps */
	chain_gap_digest(&gaps, digest);
	lh_buf_addf(&payload, "{\"from\":1,\"to\":%d,\"events\":%" PRId64 ",\"gaps\":%" PRId64, SCHEMA_VERSION,
		    rows, holes);
	if (holes)
		lh_buf_addf(&payload, ",\"gaps_hash\":\"%s\"", digest);
	lh_buf_addc(&payload, '}');
	memset(&row, 0, sizeof(row));
	row.seq = last + 1;
	row.time_ns = lh_wall_ns();
	row.type = "store.migrate";
	row.uid = row.gid = row.pid = -1;
	row.payload = payload.data;
	chain_hash(prev, &row, &scratch, hash);
	if (store_row_insert(db, ins, &row, hash) != SQLITE_DONE)
		goto sqlfail;
	if (holes) {
		/* replay the holes into gap rows, now that vacuum_seq is known */
		size_t off;

		for (off = 0; off + 32 <= gaps.len; off += 32) {
			const unsigned char *g = (const unsigned char *)gaps.data + off;
			uint64_t a = 0, b = 0;
			int i;

			for (i = 0; i < 8; i++) {
				a |= (uint64_t)g[i] << (8 * i);
				b |= (uint64_t)g[8 + i] << (8 * i);
			}
			sqlite3_bind_int64(gap, 1, (int64_t)a);
			sqlite3_bind_int64(gap, 2, (int64_t)b);
			sqlite3_bind_blob(gap, 3, g + 16, 16, SQLITE_STATIC);
			sqlite3_bind_int64(gap, 4, last + 1);
			if (sqlite3_step(gap) != SQLITE_DONE)
				goto sqlfail;
			sqlite3_reset(gap);
		}
	}
	sqlite3_finalize(sel);
	sel = NULL;
	rc = store_exec(db, "DROP TABLE events_v1", err);
	goto out;
sqlfail:
	lh_buf_addf(err, "cannot migrate '%s' to schema version %d: %s", path, SCHEMA_VERSION, sqlite3_errmsg(db));
	rc = -EIO;
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(ins);
	sqlite3_finalize(gap);
	lh_buf_release(&scratch);
	lh_buf_release(&gaps);
	lh_buf_release(&payload);
	return rc;
}

/* Read the header fields; a file SQLite cannot read is not ours. */
static int identify(sqlite3 *db, const char *path, int64_t *version, int64_t *app, int64_t *tables,
		    struct lh_buf *err)
{
	int rc = store_query_int(db, "PRAGMA user_version", version, NULL);

	if (!rc)
		rc = store_query_int(db, "PRAGMA application_id", app, NULL);
	if (!rc)
		rc = store_query_int(db, "SELECT count(*) FROM sqlite_master", tables, NULL);
	if (rc == -EUCLEAN || rc == -EIO) {
		lh_buf_addf(err, "'%s' is not a Lighthouse event store (not a SQLite database, or corrupt: %s); move it away or choose another --state",
			    path, sqlite3_errmsg(db));
		return -EUCLEAN;
	}
	if (rc) {
		lh_buf_addf(err, "cannot read '%s': %s", path, strerror(-rc));
		return rc;
	}
	if ((*app && *app != APPLICATION_ID) || (!*app && *tables)) {
		lh_buf_addf(err, "'%s' is a SQLite database of another program, not a Lighthouse event store; choose another --state",
			    path);
		return -EUCLEAN;
	}
	if (*version > SCHEMA_VERSION) {
		lh_buf_addf(err, "'%s' has schema version %" PRId64 ", newer than this Lighthouse (%d); upgrade Lighthouse",
			    path, *version, SCHEMA_VERSION);
		return -EPROTO;
	}
	return 0;
}

int store_schema_prepare(sqlite3 *db, const char *path, struct lh_buf *err)
{
	int64_t version = 0, app = 0, tables = 0;
	int rc;

	rc = identify(db, path, &version, &app, &tables, err);
	if (rc)
		return rc;
	if (version == SCHEMA_VERSION)
		return check_tables(db, path, err);
	rc = store_exec(db, "BEGIN IMMEDIATE", err);
	if (rc) {
		lh_buf_addf(err, " (cannot write '%s')", path);
		return rc;
	}
	if (version == 0)
		rc = store_exec(db, store_schema_v2, err);
	else if (version == 1)
		rc = migrate_v1(db, path, err);
	/* later versions migrate here, one step at a time */
	if (!rc)
		rc = store_exec(db, store_schema_v3, err);
	if (!rc)
		rc = set_version(db, err);
	if (!rc)
		rc = store_exec(db, "COMMIT", err);
	if (rc) {
		store_exec(db, "ROLLBACK", NULL);
		return rc;
	}
	return 0;
}

int store_schema_check_reader(sqlite3 *db, const char *path, struct lh_buf *err)
{
	int64_t version = 0, app = 0, tables = 0;
	int rc = identify(db, path, &version, &app, &tables, err);

	if (rc)
		return rc;
	if (app != APPLICATION_ID) {
		lh_buf_addf(err, "'%s' is not a Lighthouse event store", path);
		return -EUCLEAN;
	}
	if (version < SCHEMA_VERSION) {
		lh_buf_addf(err, "'%s' has schema version %" PRId64 "; start lighthoused on it once to migrate it to version %d",
			    path, version, SCHEMA_VERSION);
		return -EPROTO;
	}
	return check_tables(db, path, err);
}

/*
 * reader.c -- reading the store: a read-only connection of its own, the
 * queries behind `lighthousectl events` and streams/, and the JSON form of
 * an event.
 *
 * A reader never blocks the writer (WAL: readers see the snapshot of the
 * last commit when their statement starts) and the writer never waits for
 * a reader, so a slow reader slows nobody else. Every filter has an index
 * (schema.c): seq is the primary key; type, time, agent, session, path,
 * request and blob have their own. --decision reads the decision from the
 * payloads of verdicts and decisions, found by the type index.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/xalloc.h"
#include "store/store_int.h"
#include "common/banned.h"

struct lh_store_reader {
	sqlite3 *db;
	char *path;
};

sqlite3 *store_reader_db(struct lh_store_reader *r)
{
	return r->db;
}

const char *store_reader_path(struct lh_store_reader *r)
{
	return r->path;
}

/* "file:" URI of a path, for immutable opens: %, ? and # escaped. */
static char *file_uri(const char *path)
{
	struct lh_buf b = LH_BUF_INIT;
	const char *p;

	lh_buf_adds(&b, "file:");
	for (p = path; *p; p++) {
		if (*p == '%' || *p == '?' || *p == '#')
			lh_buf_addf(&b, "%%%02X", (unsigned)(unsigned char)*p);
		else
			lh_buf_addc(&b, *p);
	}
	lh_buf_adds(&b, "?immutable=1");
	return lh_buf_detach(&b, NULL);
}

static int open_db(struct lh_store_reader *r, int immutable, struct lh_buf *err)
{
	char *uri = immutable ? file_uri(r->path) : NULL;
	int rc;

	rc = sqlite3_open_v2(immutable ? uri : r->path, &r->db,
			     SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | (immutable ? SQLITE_OPEN_URI : 0), NULL);
	free(uri);
	if (rc != SQLITE_OK) {
		lh_buf_addf(err, "cannot open '%s': %s", r->path,
			    r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc));
		return store_errno(r->db, rc) ? store_errno(r->db, rc) : -EIO;
	}
	sqlite3_extended_result_codes(r->db, 1);
	sqlite3_busy_timeout(r->db, 5000);
	return store_schema_check_reader(r->db, r->path, err);
}

int lh_store_reader_open(struct lh_store_reader **out, const char *dir, struct lh_buf *err)
{
	struct lh_store_reader *r = xcalloc(1, sizeof(*r));
	struct lh_buf p = LH_BUF_INIT, first = LH_BUF_INIT;
	int rc;

	*out = NULL;
	lh_buf_addf(&p, "%s/%s", dir, LH_STORE_FILE);
	r->path = lh_buf_detach(&p, NULL);
	if (access(r->path, F_OK)) {
		lh_buf_addf(err, "no event store at '%s' (has lighthoused run with --state %s?)", r->path, dir);
		rc = -ENOENT;
		goto fail;
	}
	rc = open_db(r, 0, &first);
	if (rc && access(dir, W_OK)) {
		/*
		 * A WAL database whose -shm file is gone cannot be opened read-only
		 * where that file cannot be created (a read-only file system,
		 * another user's state directory). Nobody can be writing it there
		 * either: read it as an immutable file.
		 */
		sqlite3_close(r->db);
		r->db = NULL;
		lh_buf_release(&first);
		rc = open_db(r, 1, &first);
	}
	if (rc) {
		lh_buf_add(err, first.data, first.len);
		goto fail;
	}
	lh_buf_release(&first);
	*out = r;
	return 0;
fail:
	lh_buf_release(&first);
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
	if (store_query_int(r->db, "SELECT count(*) FROM events", events, NULL) ||
	    store_query_int(r->db, "SELECT coalesce(max(seq),0) FROM events", last_seq, NULL))
		return -EIO;
	return 0;
}

void store_row_from_stmt(sqlite3_stmt *st, struct lh_event_row *row, struct lh_blob_id *blob)
{
	row->seq = sqlite3_column_int64(st, 0);
	row->time_ns = sqlite3_column_int64(st, 1);
	row->type = (const char *)sqlite3_column_text(st, 2);
	row->uid = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 3);
	row->gid = sqlite3_column_type(st, 4) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 4);
	row->pid = sqlite3_column_type(st, 5) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 5);
	row->agent = (const char *)sqlite3_column_text(st, 6);
	row->session = (const char *)sqlite3_column_text(st, 7);
	row->request_id = sqlite3_column_int64(st, 8);
	row->path = (const char *)sqlite3_column_text(st, 9);
	row->blob = NULL;
	if (blob && sqlite3_column_bytes(st, 10) == 16) {
		memcpy(blob->b, sqlite3_column_blob(st, 10), 16);
		row->blob = blob;
	}
	row->payload = (const char *)sqlite3_column_text(st, 11);
	row->hash = sqlite3_column_bytes(st, 12) == 16 ? sqlite3_column_blob(st, 12) : NULL;
	if (!row->type)
		row->type = "";
	if (!row->payload)
		row->payload = "{}";
}

/* The bound values of a query, in order. */
struct binds {
	struct {
		int text;
		int64_t i;
		const char *s;
		char *own;
	} v[64];
	int n;
};

static void bind_i(struct binds *b, int64_t v)
{
	if (b->n < 64) {
		b->v[b->n].text = 0;
		b->v[b->n].i = v;
		b->v[b->n].own = NULL;
		b->n++;
	}
}

static void bind_s(struct binds *b, const char *s, char *own)
{
	if (b->n < 64) {
		b->v[b->n].text = 1;
		b->v[b->n].s = s;
		b->v[b->n].own = own;
		b->n++;
	} else {
		free(own);
	}
}

/*
 * "verdict,decision,file.*" -> (type = ? OR ...): a family becomes its
 * known types, each an equality the type index can seek (a range or GLOB
 * makes SQLite scan in seq order instead); a family with no known type
 * (written by a later version) falls back to GLOB.
 */
static int add_types(struct lh_buf *sql, struct binds *b, const char *types)
{
	const char *p = types;
	int first = 1;

	lh_buf_adds(sql, " AND (");
	for (;;) {
		size_t n = strcspn(p, ","), len;
		const struct lh_event_type *t;
		int known = 0;

		if (n >= 2 && p[n - 1] == '*') {
			for (t = lh_event_types; t->name; t++) {
				len = n - 1;
				if (strncmp(t->name, p, len))
					continue;
				if (b->n >= 60)
					return -E2BIG;
				lh_buf_adds(sql, first ? "type = ?" : " OR type = ?");
				bind_s(b, t->name, NULL);
				first = 0;
				known = 1;
			}
		}
		if (!known) {
			char *own = xstrndup(p, n);

			if (b->n >= 60) {
				free(own);
				return -E2BIG;
			}
			lh_buf_adds(sql, first ? "" : " OR ");
			lh_buf_adds(sql, n >= 2 && p[n - 1] == '*' ? "type GLOB ?" : "type = ?");
			bind_s(b, own, own);
			first = 0;
		}
		if (!p[n])
			break;
		p += n + 1;
	}
	lh_buf_addc(sql, ')');
	return 0;
}

int lh_store_reader_each(struct lh_store_reader *r, const struct lh_event_filter *f,
			 lh_event_fn fn, void *arg, struct lh_buf *err)
{
	struct lh_buf sql = LH_BUF_INIT;
	struct binds b;
	sqlite3_stmt *st = NULL;
	int rc, k;

	b.n = 0;
	if (f->types) {
		rc = lh_event_types_check(f->types, err);
		if (rc)
			return rc;
	}
	lh_buf_adds(&sql, "SELECT " ROW_COLUMNS " FROM events WHERE seq > ?");
	bind_i(&b, f->since_seq);
	if (f->until_seq) {
		lh_buf_adds(&sql, " AND seq <= ?");
		bind_i(&b, f->until_seq);
	}
	if (f->since_ns || f->until_ns) {
		/* by the time index, whatever the planner thinks of seq order */
		lh_buf_adds(&sql, " AND seq IN (SELECT seq FROM events WHERE time_ns >= ? AND time_ns <= ?)");
		bind_i(&b, f->since_ns);
		bind_i(&b, f->until_ns ? f->until_ns : INT64_MAX);
	}
	if (f->types && add_types(&sql, &b, f->types)) {
		lh_buf_addf(err, "too many event types in '%s'", f->types);
		rc = -E2BIG;
		goto out;
	}
	if (f->agent) {
		lh_buf_adds(&sql, " AND agent = ?");
		bind_s(&b, f->agent, NULL);
	}
	if (f->session) {
		lh_buf_adds(&sql, " AND session = ?");
		bind_s(&b, f->session, NULL);
	}
	if (f->path) {
		size_t n = strlen(f->path);
		const char *cond = "path = ?";
		char *hi = NULL;
		int twice;

		if (n > 1 && f->path[n - 1] == '/') {
			/* everything under a folder: a range of the path index */
			hi = xstrdup(f->path);
			hi[n - 1] = '/' + 1;
			cond = "path >= ? AND path < ?";
		}
		/* file events through the path index; request names by scanning requests */
		lh_buf_addf(&sql, " AND seq IN (SELECT seq FROM events WHERE %s AND type NOT IN ('request','verdict')"
				  " UNION ALL SELECT seq FROM events WHERE type IN ('request','verdict') AND %s)",
			    cond, cond);
		for (twice = 0; twice < 2; twice++) {
			bind_s(&b, f->path, NULL);
			if (hi)
				bind_s(&b, hi, twice ? hi : NULL);
		}
	}
	if (f->decision) {
		lh_buf_adds(&sql, " AND type IN ('verdict','decision') AND json_extract(payload,'$.decision') = ?");
		bind_s(&b, f->decision, NULL);
	}
	if (f->request_id) {
		lh_buf_adds(&sql, " AND request_id = ?");
		bind_i(&b, f->request_id);
	}
	lh_buf_adds(&sql, f->newest_first ? " ORDER BY seq DESC" : " ORDER BY seq");
	if (f->limit) {
		lh_buf_adds(&sql, " LIMIT ?");
		bind_i(&b, f->limit);
	}
	rc = sqlite3_prepare_v2(r->db, sql.data, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		lh_buf_addf(err, "cannot query '%s': %s", r->path, sqlite3_errmsg(r->db));
		rc = store_errno(r->db, rc) ? store_errno(r->db, rc) : -EIO;
		goto out;
	}
	for (k = 0; k < b.n; k++) {
		if (b.v[k].text)
			sqlite3_bind_text(st, k + 1, b.v[k].s, -1, SQLITE_STATIC);
		else
			sqlite3_bind_int64(st, k + 1, b.v[k].i);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct lh_event_row row;
		struct lh_blob_id blob;

		store_row_from_stmt(st, &row, &blob);
		if (fn(arg, &row)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE) {
		lh_buf_addf(err, "cannot read '%s': %s", r->path, sqlite3_errmsg(r->db));
		rc = store_errno(r->db, rc) ? store_errno(r->db, rc) : -EIO;
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	for (k = 0; k < b.n; k++)
		free(b.v[k].own);
	lh_buf_release(&sql);
	return rc;
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
	if (!rc && row->blob) {
		char hex[LH_HEX_ID];

		lh_blob_id_hex(row->blob, hex);
		rc = lh_buf_addf(out, ",\"blob\":\"%s\"", hex);
	}
	if (!rc)
		rc = lh_buf_addf(out, ",\"payload\":%s}", row->payload);
	return rc;
}

/*
 * export.c -- the whole store as JSON lines, and back.
 *
 * FORMAT (one JSON object per line, UTF-8, "\n" after each):
 *
 *   {"lighthouse_export":1,"schema":3}                      first line
 *   {"seq":S,"time":"ISO","time_ns":T,"type":"...",         an event, in
 *    "uid":U,"gid":G,"pid":P,"agent":"...","session":"...",  seq order; keys
 *    "request":R,"path":"...","blob":"HEX","payload":{...},  absent when the
 *    "hash":"HEX"}                                           column is NULL
 *   {"gap":{"first":A,"last":B,"hash":"HEX","vacuum":V}}    before the event
 *                                                           after the hole
 *   {"blob":"HEX","size":N,"time_ns":T,"chunks":[[OFF,"HEX"],...]}
 *   {"chunk":"HEX","data":"BASE64"}
 *
 * Events and gaps come first, in seq order, then blobs and chunks, each by
 * id, so the same store always exports to the same bytes. "time" is for
 * people; "time_ns" is the value. The payload is copied as it is stored,
 * byte for byte (when it is not a JSON value, it goes as a string in
 * "payload_text"); a text column that is not valid UTF-8 goes in base64
 * as KEY_base64. HEX is 32 lowercase hex digits (xxh3-128, chain.c).
 *
 * Export reads one snapshot (one read transaction), so it may run while
 * the daemon writes, and streams: one chunk at a time in memory.
 *
 * Import reads such lines into a state directory that has no store yet.
 * It recomputes the chain as it goes and refuses a line whose checksum
 * does not follow (an edited export), a chunk whose bytes do not hash to
 * its id, unknown keys, and lines out of order. It builds the database
 * under another name and renames it into place when complete and
 * verified (verify.c), so a failed import leaves no store behind.
 * export -> import -> export gives the same bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/utf8.h"
#include "common/xalloc.h"
#include "store/store_int.h"
#include "common/banned.h"

#define LINE_MAX_BYTES (64u << 20)
#define IMPORT_TX_LINES 20000

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void add_base64(struct lh_buf *b, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		char q[4] = { b64[p[i] >> 2], b64[((p[i] & 3) << 4) | (p[i + 1] >> 4)],
			      b64[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)], b64[p[i + 2] & 63] };

		lh_buf_add(b, q, 4);
	}
	if (n - i == 1) {
		char q[4] = { b64[p[i] >> 2], b64[(p[i] & 3) << 4], '=', '=' };

		lh_buf_add(b, q, 4);
	} else if (n - i == 2) {
		char q[4] = { b64[p[i] >> 2], b64[((p[i] & 3) << 4) | (p[i + 1] >> 4)],
			      b64[(p[i + 1] & 15) << 2], '=' };

		lh_buf_add(b, q, 4);
	}
}

/* Decode strict, padded base64; returns 0 or -EINVAL. */
static int unbase64(const char *s, struct lh_buf *out)
{
	size_t n = strlen(s), i;

	if (n % 4)
		return -EINVAL;
	for (i = 0; i < n; i += 4) {
		int v[4], k, pad = s[i + 2] == '=' ? 2 : s[i + 3] == '=' ? 1 : 0;
		unsigned char o[3];

		/* padding only at the very end, and "x=" only after "=" */
		if (pad && (i + 4 != n || (pad == 2 && s[i + 3] != '=')))
			return -EINVAL;
		for (k = 0; k < 4; k++) {
			const char *p;

			if (k >= 4 - pad) {
				v[k] = 0;
				continue;
			}
			p = s[i + k] ? strchr(b64, s[i + k]) : NULL;
			if (!p)
				return -EINVAL;
			v[k] = (int)(p - b64);
		}
		o[0] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		o[1] = (unsigned char)(v[1] << 4 | v[2] >> 2);
		o[2] = (unsigned char)(v[2] << 6 | v[3]);
		lh_buf_add(out, o, (size_t)(3 - pad));
	}
	return 0;
}

/* ---- export -------------------------------------------------------------------------- */

static void add_text(struct lh_buf *b, const char *key, const char *s)
{
	size_t n;

	if (!s)
		return;
	n = strlen(s);
	if (lh_utf8_check(s, n) == n) {
		lh_buf_addf(b, ",\"%s\":", key);
		lh_buf_add_json_str(b, s, n);
	} else {
		lh_buf_addf(b, ",\"%s_base64\":\"", key);
		add_base64(b, (const unsigned char *)s, n);
		lh_buf_addc(b, '"');
	}
}

/* Can the payload go into the line as it is, and come back the same? */
static int payload_is_json(const char *p)
{
	size_t n = strlen(p);
	json_t *j;

	if (!n || p[0] == ' ' || p[0] == '\t' || p[0] == '\n' || p[0] == '\r' ||
	    p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\n' || p[n - 1] == '\r')
		return 0;
	j = json_loads(p, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
	if (!j)
		return 0;
	json_decref(j);
	return 1;
}

static void event_line(struct lh_buf *b, const struct lh_event_row *row)
{
	char when[32], hex[LH_HEX_ID];

	lh_format_time(when, row->time_ns);
	lh_buf_addf(b, "{\"seq\":%" PRId64 ",\"time\":\"%s\",\"time_ns\":%" PRId64, row->seq, when, row->time_ns);
	add_text(b, "type", row->type);
	if (row->uid >= 0)
		lh_buf_addf(b, ",\"uid\":%" PRId64, row->uid);
	if (row->gid >= 0)
		lh_buf_addf(b, ",\"gid\":%" PRId64, row->gid);
	if (row->pid >= 0)
		lh_buf_addf(b, ",\"pid\":%" PRId64, row->pid);
	add_text(b, "agent", row->agent);
	add_text(b, "session", row->session);
	if (row->request_id)
		lh_buf_addf(b, ",\"request\":%" PRId64, row->request_id);
	add_text(b, "path", row->path);
	if (row->blob) {
		lh_blob_id_hex(row->blob, hex);
		lh_buf_addf(b, ",\"blob\":\"%s\"", hex);
	}
	if (payload_is_json(row->payload)) {
		lh_buf_adds(b, ",\"payload\":");
		lh_buf_adds(b, row->payload);
	} else {
		lh_buf_adds(b, ",\"payload_text\":");
		lh_buf_add_json_str(b, row->payload, strlen(row->payload));
	}
	if (row->hash)
		hex16(row->hash, hex);
	else
		hex[0] = '\0';
	lh_buf_addf(b, ",\"hash\":\"%s\"}\n", hex);
}

static int emit(FILE *out, struct lh_buf *b)
{
	int rc = fwrite(b->data, 1, b->len, out) == b->len ? 0 : -EIO;

	lh_buf_reset(b);
	return rc;
}

static int export_events(sqlite3 *db, FILE *out, struct lh_buf *b)
{
	sqlite3_stmt *ev = NULL, *gp = NULL;
	int rc, grc, wrc = 0;

	rc = sqlite3_prepare_v2(db, "SELECT " ROW_COLUMNS " FROM events ORDER BY seq", -1, &ev, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "SELECT first_seq, last_seq, hash, vacuum_seq FROM gaps ORDER BY first_seq",
					-1, &gp, NULL);
	if (rc != SQLITE_OK)
		goto out;
	grc = sqlite3_step(gp);
	while (!wrc && (rc = sqlite3_step(ev)) == SQLITE_ROW) {
		struct lh_event_row row;
		struct lh_blob_id blob;

		store_row_from_stmt(ev, &row, &blob);
		while (grc == SQLITE_ROW && sqlite3_column_int64(gp, 0) < row.seq) {
			char hex[LH_HEX_ID] = "";

			if (sqlite3_column_bytes(gp, 2) == 16)
				hex16(sqlite3_column_blob(gp, 2), hex);
			lh_buf_addf(b, "{\"gap\":{\"first\":%" PRId64 ",\"last\":%" PRId64 ",\"hash\":\"%s\",\"vacuum\":%" PRId64 "}}\n",
				    (int64_t)sqlite3_column_int64(gp, 0), (int64_t)sqlite3_column_int64(gp, 1), hex,
				    (int64_t)sqlite3_column_int64(gp, 3));
			grc = sqlite3_step(gp);
		}
		event_line(b, &row);
		wrc = emit(out, b);
	}
	if (wrc)
		rc = SQLITE_IOERR;
	else if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
out:
	sqlite3_finalize(ev);
	sqlite3_finalize(gp);
	return rc;
}

static int export_blobs(sqlite3 *db, FILE *out, struct lh_buf *b)
{
	sqlite3_stmt *bl = NULL, *list = NULL, *ch = NULL;
	char hex[LH_HEX_ID];
	int rc, wrc = 0;

	rc = sqlite3_prepare_v2(db, "SELECT id, size, time_ns FROM blobs ORDER BY id", -1, &bl, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "SELECT off, chunk FROM blob_chunks WHERE blob = ? ORDER BY off", -1, &list,
					NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "SELECT id, data FROM chunks ORDER BY id", -1, &ch, NULL);
	if (rc != SQLITE_OK)
		goto out;
	while (!wrc && (rc = sqlite3_step(bl)) == SQLITE_ROW) {
		int first = 1;

		if (sqlite3_column_bytes(bl, 0) != 16)
			continue;
		hex16(sqlite3_column_blob(bl, 0), hex);
		lh_buf_addf(b, "{\"blob\":\"%s\",\"size\":%" PRId64 ",\"time_ns\":%" PRId64 ",\"chunks\":[", hex,
			    (int64_t)sqlite3_column_int64(bl, 1), (int64_t)sqlite3_column_int64(bl, 2));
		sqlite3_bind_blob(list, 1, sqlite3_column_blob(bl, 0), 16, SQLITE_TRANSIENT);
		while ((rc = sqlite3_step(list)) == SQLITE_ROW) {
			if (sqlite3_column_bytes(list, 1) != 16)
				continue;
			hex16(sqlite3_column_blob(list, 1), hex);
			lh_buf_addf(b, "%s[%" PRId64 ",\"%s\"]", first ? "" : ",", (int64_t)sqlite3_column_int64(list, 0), hex);
			first = 0;
		}
		sqlite3_reset(list);
		if (rc != SQLITE_DONE)
			goto out;
		lh_buf_adds(b, "]}\n");
		wrc = emit(out, b);
	}
	if (!wrc && rc != SQLITE_DONE)
		goto out;
	while (!wrc && (rc = sqlite3_step(ch)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(ch, 0) != 16)
			continue;
		hex16(sqlite3_column_blob(ch, 0), hex);
		lh_buf_addf(b, "{\"chunk\":\"%s\",\"data\":\"", hex);
		add_base64(b, sqlite3_column_blob(ch, 1), (size_t)sqlite3_column_bytes(ch, 1));
		lh_buf_adds(b, "\"}\n");
		wrc = emit(out, b);
	}
	if (wrc)
		rc = SQLITE_IOERR;
	else if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
out:
	sqlite3_finalize(bl);
	sqlite3_finalize(list);
	sqlite3_finalize(ch);
	return rc;
}

int lh_store_export(const char *dir, FILE *out, struct lh_buf *err)
{
	struct lh_store_reader *r;
	struct lh_buf b = LH_BUF_INIT;
	sqlite3 *db;
	int rc;

	rc = lh_store_reader_open(&r, dir, err);
	if (rc)
		return rc;
	db = store_reader_db(r);
	rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	if (rc == SQLITE_OK) {
		lh_buf_addf(&b, "{\"lighthouse_export\":1,\"schema\":%d}\n", SCHEMA_VERSION);
		rc = emit(out, &b) ? SQLITE_IOERR : SQLITE_OK;
	}
	if (rc == SQLITE_OK)
		rc = export_events(db, out, &b);
	if (rc == SQLITE_OK)
		rc = export_blobs(db, out, &b);
	if (rc != SQLITE_OK) {
		if (ferror(out))
			lh_buf_addf(err, "cannot write the export: %s", strerror(errno));
		else
			lh_buf_addf(err, "cannot read '%s': %s", store_reader_path(r), sqlite3_errmsg(db));
		rc = ferror(out) ? -EIO : (store_errno(db, rc) ? store_errno(db, rc) : -EIO);
	}
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	lh_buf_release(&b);
	lh_store_reader_close(r);
	if (!rc && fflush(out)) {
		lh_buf_addf(err, "cannot write the export: %s", strerror(errno));
		rc = -EIO;
	}
	return rc;
}

/* ---- import -------------------------------------------------------------------------- */

/* Skip one JSON value in text we know is valid JSON; returns its end. */
static size_t skip_value(const char *p, size_t i, size_t n)
{
	int depth = 0;

	do {
		char c = p[i];

		if (c == '"') {
			for (i++; i < n && p[i] != '"'; i++)
				if (p[i] == '\\')
					i++;
			i++;
		} else if (c == '{' || c == '[') {
			depth++;
			i++;
		} else if (c == '}' || c == ']') {
			depth--;
			i++;
		} else if (depth) {
			i++;
		} else {
			while (i < n && !strchr(",}] \t\r\n", p[i]))
				i++;
		}
	} while (depth > 0 && i < n);
	return i;
}

static size_t skip_ws(const char *p, size_t i, size_t n)
{
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
		i++;
	return i;
}

/* The exact bytes of the top-level "payload" value of a line. */
static int payload_span(const char *p, size_t n, size_t *off, size_t *len)
{
	size_t i = skip_ws(p, 0, n);

	if (i >= n || p[i] != '{')
		return -EINVAL;
	i++;
	for (;;) {
		size_t k0, k1, v0;

		i = skip_ws(p, i, n);
		if (i >= n || p[i] != '"')
			return -EINVAL;
		k0 = i + 1;
		i = skip_value(p, i, n);
		k1 = i - 1;
		i = skip_ws(p, i, n);
		if (i >= n || p[i] != ':')
			return -EINVAL;
		v0 = i = skip_ws(p, i + 1, n);
		i = skip_value(p, i, n);
		if (k1 - k0 == 7 && !memcmp(p + k0, "payload", 7)) {
			*off = v0;
			*len = i - v0;
			return 0;
		}
		i = skip_ws(p, i, n);
		if (i >= n || p[i] != ',')
			return -EINVAL;
		i++;
	}
}

struct importer {
	sqlite3 *db;
	sqlite3_stmt *ins, *gap, *blob, *blob_chunk, *chunk;
	struct lh_buf scratch, bytes;
	unsigned char prev[16];
	int64_t expect;			/* next seq */
	int header;
	long line;
	struct lh_import_stats *st;
	struct lh_buf *err;
};

static int fail(struct importer *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct importer *im, const char *fmt, ...)
{
	va_list ap;

	lh_buf_addf(im->err, "line %ld: ", im->line);
	va_start(ap, fmt);
	lh_buf_vaddf(im->err, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int sqlfail(struct importer *im)
{
	lh_buf_addf(im->err, "line %ld: cannot write: %s", im->line, sqlite3_errmsg(im->db));
	return -EIO;
}

static int only_keys(struct importer *im, json_t *o, const char *const *keys)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v) {
		int k, ok = 0;

		for (k = 0; keys[k] && !ok; k++)
			ok = !strcmp(keys[k], key);
		if (!ok)
			return fail(im, "unknown key '%s'", key);
	}
	return 0;
}

static int get_hex(struct importer *im, json_t *o, const char *key, unsigned char out[16])
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v) || unhex16(json_string_value(v), out))
		return fail(im, "'%s' must be 32 hex digits", key);
	return 0;
}

static int get_int(struct importer *im, json_t *o, const char *key, int64_t *out, int required)
{
	json_t *v = json_object_get(o, key);

	if (!v && !required)
		return 1;
	if (!json_is_integer(v))
		return fail(im, "'%s' must be an integer", key);
	*out = json_integer_value(v);
	return 0;
}

/* A text column: KEY as a string, or KEY_base64. NULL when absent. */
static int get_text(struct importer *im, json_t *o, const char *key, char **out)
{
	char b64key[32];
	json_t *v = json_object_get(o, key), *v64;

	*out = NULL;
	snprintf(b64key, sizeof(b64key), "%s_base64", key);
	v64 = json_object_get(o, b64key);
	if (v && v64)
		return fail(im, "both '%s' and '%s'", key, b64key);
	if (v) {
		if (!json_is_string(v))
			return fail(im, "'%s' must be a string", key);
		*out = xstrdup(json_string_value(v));
	} else if (v64) {
		struct lh_buf b = LH_BUF_INIT;

		if (!json_is_string(v64) || unbase64(json_string_value(v64), &b) ||
		    memchr(b.data, '\0', b.len)) {
			lh_buf_release(&b);
			return fail(im, "'%s' must be base64 text", b64key);
		}
		*out = lh_buf_detach(&b, NULL);
	}
	return 0;
}

static int import_event(struct importer *im, json_t *o, const char *line, size_t len)
{
	static const char *const keys[] = {
		"seq", "time", "time_ns", "type", "type_base64", "uid", "gid", "pid", "agent", "agent_base64",
		"session", "session_base64", "request", "path", "path_base64", "blob", "payload",
		"payload_text", "hash", NULL
	};
	struct lh_event_row row;
	struct lh_blob_id blob;
	unsigned char want[16], h[16];
	char *type = NULL, *agent = NULL, *session = NULL, *path = NULL, *payload = NULL;
	int rc;

	memset(&row, 0, sizeof(row));
	row.uid = row.gid = row.pid = -1;
	if ((rc = only_keys(im, o, keys)) || (rc = get_int(im, o, "seq", &row.seq, 1)) ||
	    (rc = get_int(im, o, "time_ns", &row.time_ns, 1)) || (rc = get_hex(im, o, "hash", want)))
		return rc;
	if (get_int(im, o, "uid", &row.uid, 0) < 0 || get_int(im, o, "gid", &row.gid, 0) < 0 ||
	    get_int(im, o, "pid", &row.pid, 0) < 0 || get_int(im, o, "request", &row.request_id, 0) < 0)
		return -EINVAL;
	if ((rc = get_text(im, o, "type", &type)) || (rc = get_text(im, o, "agent", &agent)) ||
	    (rc = get_text(im, o, "session", &session)) || (rc = get_text(im, o, "path", &path)))
		goto out;
	if (!type) {
		rc = fail(im, "an event without a type");
		goto out;
	}
	if (json_object_get(o, "blob")) {
		rc = get_hex(im, o, "blob", blob.b);
		if (rc)
			goto out;
		row.blob = &blob;
	}
	if (json_object_get(o, "payload")) {
		size_t off, n;

		if (payload_span(line, len, &off, &n)) {
			rc = fail(im, "cannot find the payload");
			goto out;
		}
		payload = xstrndup(line + off, n);
	} else if (json_is_string(json_object_get(o, "payload_text"))) {
		payload = xstrdup(json_string_value(json_object_get(o, "payload_text")));
	} else {
		rc = fail(im, "an event without a payload");
		goto out;
	}
	if (row.seq != im->expect) {
		rc = fail(im, "seq %" PRId64 " where %" PRId64 " was expected (lines missing or out of order)",
			  row.seq, im->expect);
		goto out;
	}
	row.type = type;
	row.agent = agent;
	row.session = session;
	row.path = path;
	row.payload = payload;
	chain_hash(im->prev, &row, &im->scratch, h);
	if (memcmp(h, want, 16)) {
		rc = fail(im, "seq %" PRId64 ": its checksum does not match the event (the line was changed)", row.seq);
		goto out;
	}
	if (store_row_insert(im->db, im->ins, &row, h) != SQLITE_DONE) {
		rc = sqlfail(im);
		goto out;
	}
	memcpy(im->prev, h, 16);
	im->expect = row.seq + 1;
	im->st->events++;
	im->st->last_seq = row.seq;
out:
	free(type);
	free(agent);
	free(session);
	free(path);
	free(payload);
	return rc;
}

static int import_gap(struct importer *im, json_t *o)
{
	static const char *const outer[] = { "gap", NULL };
	static const char *const inner[] = { "first", "last", "hash", "vacuum", NULL };
	json_t *g = json_object_get(o, "gap");
	int64_t first, last, vacuum;
	unsigned char h[16];
	int rc;

	if ((rc = only_keys(im, o, outer)))
		return rc;
	if (!json_is_object(g))
		return fail(im, "'gap' must be an object");
	if ((rc = only_keys(im, g, inner)) || (rc = get_int(im, g, "first", &first, 1)) ||
	    (rc = get_int(im, g, "last", &last, 1)) || (rc = get_int(im, g, "vacuum", &vacuum, 1)) ||
	    (rc = get_hex(im, g, "hash", h)))
		return rc;
	if (first != im->expect || last < first)
		return fail(im, "a gap from %" PRId64 " to %" PRId64 " where seq %" PRId64 " was expected", first,
			    last, im->expect);
	sqlite3_bind_int64(im->gap, 1, first);
	sqlite3_bind_int64(im->gap, 2, last);
	sqlite3_bind_blob(im->gap, 3, h, 16, SQLITE_STATIC);
	sqlite3_bind_int64(im->gap, 4, vacuum);
	rc = sqlite3_step(im->gap);
	sqlite3_reset(im->gap);
	if (rc != SQLITE_DONE)
		return sqlfail(im);
	memcpy(im->prev, h, 16);
	im->expect = last + 1;
	im->st->gaps++;
	return 0;
}

static int import_blob(struct importer *im, json_t *o)
{
	static const char *const keys[] = { "blob", "size", "time_ns", "chunks", NULL };
	json_t *list = json_object_get(o, "chunks"), *e;
	unsigned char id[16];
	int64_t size, t;
	size_t k;
	int rc;

	if ((rc = only_keys(im, o, keys)) || (rc = get_hex(im, o, "blob", id)) ||
	    (rc = get_int(im, o, "size", &size, 1)) || (rc = get_int(im, o, "time_ns", &t, 1)))
		return rc;
	if (!json_is_array(list))
		return fail(im, "'chunks' must be a list");
	sqlite3_bind_blob(im->blob, 1, id, 16, SQLITE_STATIC);
	sqlite3_bind_int64(im->blob, 2, size);
	sqlite3_bind_int64(im->blob, 3, (int64_t)json_array_size(list));
	sqlite3_bind_int64(im->blob, 4, t);
	rc = sqlite3_step(im->blob);
	sqlite3_reset(im->blob);
	if (rc != SQLITE_DONE)
		return sqlfail(im);
	json_array_foreach(list, k, e) {
		unsigned char cid[16];

		if (!json_is_array(e) || json_array_size(e) != 2 || !json_is_integer(json_array_get(e, 0)) ||
		    !json_is_string(json_array_get(e, 1)) || unhex16(json_string_value(json_array_get(e, 1)), cid))
			return fail(im, "a chunk reference must be [OFFSET, \"HEX\"]");
		sqlite3_bind_blob(im->blob_chunk, 1, id, 16, SQLITE_STATIC);
		sqlite3_bind_int64(im->blob_chunk, 2, json_integer_value(json_array_get(e, 0)));
		sqlite3_bind_blob(im->blob_chunk, 3, cid, 16, SQLITE_STATIC);
		rc = sqlite3_step(im->blob_chunk);
		sqlite3_reset(im->blob_chunk);
		if (rc != SQLITE_DONE)
			return sqlfail(im);
	}
	im->st->blobs++;
	return 0;
}

static int import_chunk(struct importer *im, json_t *o)
{
	static const char *const keys[] = { "chunk", "data", NULL };
	json_t *data = json_object_get(o, "data");
	unsigned char id[16], h[16];
	int rc;

	if ((rc = only_keys(im, o, keys)) || (rc = get_hex(im, o, "chunk", id)))
		return rc;
	lh_buf_reset(&im->bytes);
	if (!json_is_string(data) || unbase64(json_string_value(data), &im->bytes))
		return fail(im, "'data' must be base64");
	hash128(im->bytes.data, im->bytes.len, h);
	if (memcmp(h, id, 16))
		return fail(im, "the chunk's bytes do not match its id (the line was changed)");
	sqlite3_bind_blob(im->chunk, 1, id, 16, SQLITE_STATIC);
	sqlite3_bind_int64(im->chunk, 2, (int64_t)im->bytes.len);
	sqlite3_bind_blob(im->chunk, 3, im->bytes.data, (int)im->bytes.len, SQLITE_STATIC);
	rc = sqlite3_step(im->chunk);
	sqlite3_reset(im->chunk);
	if (rc != SQLITE_DONE)
		return sqlfail(im);
	im->st->chunks++;
	return 0;
}

static int import_line(struct importer *im, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	int rc;

	if (!o || !json_is_object(o)) {
		rc = fail(im, "not a JSON object%s%s", o ? "" : ": ", o ? "" : jerr.text);
		json_decref(o);
		return rc;
	}
	if (!im->header) {
		json_t *v = json_object_get(o, "lighthouse_export"), *s = json_object_get(o, "schema");

		/* schema 2's export lines are schema 3's: version 3 added only the journal table */
		if (!json_is_integer(v) || json_integer_value(v) != 1 || !json_is_integer(s) ||
		    json_integer_value(s) < 2 || json_integer_value(s) > SCHEMA_VERSION)
			rc = fail(im, "not a Lighthouse export of schema 2 to %d (the first line must be {\"lighthouse_export\":1,\"schema\":%d})",
				  SCHEMA_VERSION, SCHEMA_VERSION);
		else
			rc = 0;
		im->header = 1;
	} else if (json_object_get(o, "seq")) {
		rc = import_event(im, o, line, len);
	} else if (json_object_get(o, "gap")) {
		rc = import_gap(im, o);
	} else if (json_object_get(o, "blob")) {
		rc = import_blob(im, o);
	} else if (json_object_get(o, "chunk")) {
		rc = import_chunk(im, o);
	} else {
		rc = fail(im, "neither an event, a gap, a blob nor a chunk");
	}
	json_decref(o);
	return rc;
}

static int open_target(struct importer *im, const char *tmp)
{
	int rc;

	unlink(tmp);
	rc = sqlite3_open_v2(tmp, &im->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_extended_result_codes(im->db, 1);
	/* a scratch file until renamed: no journal, and one fsync at the end */
	if (store_exec(im->db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-65536", im->err) ||
	    store_exec(im->db, store_schema_v2, im->err) || store_exec(im->db, store_schema_v3, im->err))
		return -EIO;
	{
		char sql[96];

		snprintf(sql, sizeof(sql), "PRAGMA application_id=%d; PRAGMA user_version=%d", APPLICATION_ID,
			 SCHEMA_VERSION);
		if (store_exec(im->db, sql, im->err))
			return -EIO;
	}
	if ((rc = sqlite3_prepare_v2(im->db, "INSERT INTO events(" ROW_COLUMNS ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
				     -1, &im->ins, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(im->db, "INSERT INTO gaps(first_seq,last_seq,hash,vacuum_seq) VALUES(?,?,?,?)", -1,
				     &im->gap, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(im->db, "INSERT INTO blobs(id,size,chunks,time_ns) VALUES(?,?,?,?)", -1, &im->blob,
				     NULL)) != SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(im->db, "INSERT INTO blob_chunks(blob,off,chunk) VALUES(?,?,?)", -1,
				     &im->blob_chunk, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(im->db, "INSERT INTO chunks(id,size,data) VALUES(?,?,?)", -1, &im->chunk,
				     NULL)) != SQLITE_OK)
		goto fail;
	return store_exec(im->db, "BEGIN", im->err);
fail:
	lh_buf_addf(im->err, "cannot create '%s': %s", tmp, im->db ? sqlite3_errmsg(im->db) : sqlite3_errstr(rc));
	return -EIO;
}

static int fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd))
		rc = -errno;
	close(fd);
	return rc;
}

int lh_store_import(const char *dir, FILE *in, struct lh_import_stats *st, struct lh_buf *err)
{
	struct importer im;
	struct lh_buf path = LH_BUF_INIT, tmp = LH_BUF_INIT, lock = LH_BUF_INIT;
	struct lh_verify v;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc, lock_fd = -1;

	memset(&im, 0, sizeof(im));
	memset(st, 0, sizeof(*st));
	im.st = st;
	im.err = err;
	im.expect = 1;
	lh_buf_init(&im.scratch, 0);
	lh_buf_init(&im.bytes, 0);
	lh_buf_addf(&path, "%s/%s", dir, LH_STORE_FILE);
	lh_buf_addf(&tmp, "%s/%s.import", dir, LH_STORE_FILE);
	lh_buf_addf(&lock, "%s/%s", dir, LH_STORE_LOCK);
	if (mkdir(dir, 0700) && errno != EEXIST) {
		lh_buf_addf(err, "cannot create state directory '%s': %s", dir, strerror(errno));
		rc = -errno;
		goto out;
	}
	lock_fd = open(lock.data, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB)) {
		rc = lock_fd < 0 ? -errno : -EBUSY;
		lh_buf_addf(err, "cannot lock '%s': %s", lock.data,
			    rc == -EBUSY ? "a daemon or another import uses it" : strerror(-rc));
		goto out;
	}
	if (!access(path.data, F_OK)) {
		lh_buf_addf(err, "'%s' already exists: import goes into a state directory without a store",
			    path.data);
		rc = -EEXIST;
		goto out;
	}
	rc = open_target(&im, tmp.data);
	if (rc)
		goto out;
	while ((n = getline(&line, &cap, in)) > 0) {
		im.line++;
		if ((size_t)n > LINE_MAX_BYTES) {
			rc = fail(&im, "longer than %u bytes", LINE_MAX_BYTES);
			goto out;
		}
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		rc = import_line(&im, line, (size_t)n);
		if (rc)
			goto out;
		if (im.line % IMPORT_TX_LINES == 0 &&
		    (store_exec(im.db, "COMMIT", err) || store_exec(im.db, "BEGIN", err))) {
			rc = -EIO;
			goto out;
		}
	}
	if (ferror(in)) {
		lh_buf_addf(err, "cannot read the input: %s", strerror(errno));
		rc = -EIO;
		goto out;
	}
	if (!im.header) {
		lh_buf_adds(err, "the input is empty");
		rc = -EINVAL;
		goto out;
	}
	rc = store_exec(im.db, "COMMIT", err);
	if (rc)
		goto out;
	sqlite3_finalize(im.ins);
	sqlite3_finalize(im.gap);
	sqlite3_finalize(im.blob);
	sqlite3_finalize(im.blob_chunk);
	sqlite3_finalize(im.chunk);
	im.ins = im.gap = im.blob = im.blob_chunk = im.chunk = NULL;
	sqlite3_close(im.db);
	im.db = NULL;
	rc = fsync_path(tmp.data);
	if (!rc && rename(tmp.data, path.data))
		rc = -errno;
	if (!rc)
		rc = fsync_path(dir);
	if (rc) {
		lh_buf_addf(err, "cannot put '%s' in place: %s", path.data, strerror(-rc));
		goto out;
	}
	/* the chain was checked line by line; now the gaps, blobs and chunks */
	rc = lh_store_verify(dir, &v, err);
	if (rc == -EUCLEAN)
		lh_buf_addf(err, "the imported store does not verify: seq %" PRId64 ": %s", v.bad_seq, v.what);
	if (rc)
		unlink(path.data);
out:
	sqlite3_finalize(im.ins);
	sqlite3_finalize(im.gap);
	sqlite3_finalize(im.blob);
	sqlite3_finalize(im.blob_chunk);
	sqlite3_finalize(im.chunk);
	if (im.db) {
		sqlite3_close(im.db);
		unlink(tmp.data);
	}
	if (lock_fd >= 0)
		close(lock_fd);
	free(line);
	lh_buf_release(&im.scratch);
	lh_buf_release(&im.bytes);
	lh_buf_release(&path);
	lh_buf_release(&tmp);
	lh_buf_release(&lock);
	return rc;
}

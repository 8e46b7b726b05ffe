/*
 * events.c -- the event types, one table, and the payloads of the types
 * whose producers live in other rooms (the shadow tree records file
 * changes, escalation records escalations and decisions): building their
 * payloads here keeps one format however many producers there are.
 *
 * Types are dotted families (file.created, policy.load): a filter names a
 * type exactly or a family with ".*" ("verdict,decision", "file.*").
 *
 * Every file.* event but file.deleted carries the complete state of the
 * path after the change -- kind, size, mode, and for a file its content
 * as a blob (also file.renamed and file.mode, whose content did not
 * change) -- so that the newest event of a path before a point in time is
 * enough to rebuild that path at that time. Vacuum (vacuum.c) relies on
 * it to drop older file events without losing a state.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "store/store_int.h"
#include "common/banned.h"

const struct lh_event_type lh_event_types[] = {
	{ "request", 1, "name, form, bytes, tool, input, content, old, cwd, event, raw | raw_base64" },
	{ "verdict", 1, "decision, reason, rule, tier, cached, judge_us, escalated" },
	{ "escalation", 1, "to, reason, tier, score, timeout_s, rule, deadline, deadline_ns, quorum, capabilities" },
	{ "escalation.claim", 1, "expert, timeout_s" },
	{ "escalation.release", 1, "expert, why (expired, returned, withdrawn, removed)" },
	{ "decision", 1, "decision, by, who, reason, learned_rule, remember, vote, quorum, restart" },
	{ "expert.add", 1, "name, capabilities, uid, gid" },
	{ "expert.remove", 1, "name" },
	{ "rule.learn", 1, "id, decision, kind, by, who, request, text" },
	{ "rule.forget", 1, "id, who" },
	{ "file.created", 0, "kind, size, mode, target, mtime, external" },
	{ "file.modified", 0, "kind, size, mode, mtime, external" },
	{ "file.deleted", 0, "kind, external" },
	{ "file.renamed", 0, "from, kind, size, mode, target, mtime, external" },
	{ "file.mode", 0, "kind, size, mode, prev_mode, mtime, external" },
	{ "file.denied", 1, "op, rule, reason" },
	{ "annotation", 1, "text, author, line, end_line, tags, anchor, before, after" },
	{ "policy.load", 1, "source, rules, generation" },
	{ "policy.reject", 1, "source, errors" },
	{ "daemon.start", 1, "version, pid, mount, project, policy, rules" },
	{ "daemon.stop", 1, "version, pid, mount, project, policy, rules" },
	{ "store.migrate", 1, "from, to, events, gaps, gaps_hash" },
	{ "store.vacuum", 1, "cutoff, cutoff_ns, dropped, first, last, gaps, gaps_hash, blobs, chunks" },
	{ NULL, 0, NULL }
};

const struct lh_event_type *lh_event_type_find(const char *name)
{
	const struct lh_event_type *t;

	for (t = lh_event_types; t->name; t++)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}

int lh_event_types_check(const char *types, struct lh_buf *err)
{
	const char *p = types;

	for (;;) {
		size_t n = strcspn(p, ","), i;

		if (!n) {
			lh_buf_addf(err, "empty event type in '%s'", types);
			return -EINVAL;
		}
		for (i = 0; i < n; i++) {
			char c = p[i];
			int star = c == '*' && i == n - 1 && i >= 2 && p[i - 1] == '.';

			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
			      c == '-' || star)) {
				lh_buf_addf(err, "bad event type '%.*s' (a type such as verdict, or a family such as file.*)",
					    (int)n, p);
				return -EINVAL;
			}
		}
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

/* ---- rows -------------------------------------------------------------------- */

void store_row_of_event(struct lh_event_row *row, const struct lh_event *e, int64_t seq)
{
	row->seq = seq;
	row->time_ns = e->time_ns;
	row->type = e->type ? e->type : "";
	row->uid = e->uid >= 0 ? e->uid : -1;
	row->gid = e->gid >= 0 ? e->gid : -1;
	row->pid = e->pid >= 0 ? e->pid : -1;
	row->agent = e->agent;
	row->session = e->session;
	row->request_id = e->request_id;
	row->path = e->path;
	row->blob = e->blob;
	row->payload = e->payload ? e->payload : "{}";
	row->hash = NULL;
}

static void bind_opt_int(sqlite3_stmt *st, int k, int present, int64_t v)
{
	if (present)
		sqlite3_bind_int64(st, k, v);
	else
		sqlite3_bind_null(st, k);
}

int store_row_insert(sqlite3 *db, sqlite3_stmt *st, const struct lh_event_row *row,
		     const unsigned char hash[16])
{
	int rc;

	(void)db;
	sqlite3_bind_int64(st, 1, row->seq);
	sqlite3_bind_int64(st, 2, row->time_ns);
	sqlite3_bind_text(st, 3, row->type, -1, SQLITE_STATIC);
	bind_opt_int(st, 4, row->uid >= 0, row->uid);
	bind_opt_int(st, 5, row->gid >= 0, row->gid);
	bind_opt_int(st, 6, row->pid >= 0, row->pid);
	sqlite3_bind_text(st, 7, row->agent, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, row->session, -1, SQLITE_STATIC);
	bind_opt_int(st, 9, row->request_id != 0, row->request_id);
	sqlite3_bind_text(st, 10, row->path, -1, SQLITE_STATIC);
	if (row->blob)
		sqlite3_bind_blob(st, 11, row->blob->b, 16, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 11);
	sqlite3_bind_text(st, 12, row->payload, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 13, hash, 16, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

/* ---- payloads ------------------------------------------------------------------ */

static void key_str(struct lh_buf *b, const char *key, const char *val)
{
	if (!val)
		return;
	lh_buf_addf(b, "%s\"%s\":", b->len > 1 ? "," : "", key);
	lh_buf_add_json_str(b, val, strlen(val));
}

static void key_int(struct lh_buf *b, const char *key, int64_t val)
{
	lh_buf_addf(b, "%s\"%s\":%" PRId64, b->len > 1 ? "," : "", key, val);
}

static void key_mode(struct lh_buf *b, const char *key, int mode)
{
	if (mode >= 0)
		lh_buf_addf(b, "%s\"%s\":\"%04o\"", b->len > 1 ? "," : "", key, (unsigned)mode & 07777);
}

static void start(struct lh_event *ev, struct lh_buf *buf, const char *type)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->uid = ev->gid = ev->pid = -1;
	lh_buf_reset(buf);
	lh_buf_addc(buf, '{');
}

static int finish(struct lh_event *ev, struct lh_buf *buf)
{
	int rc = lh_buf_addc(buf, '}');

	ev->payload = buf->data;
	ev->payload_len = buf->len;
	return rc;
}

int lh_event_file(struct lh_event *ev, struct lh_buf *buf, const struct lh_file_change *fc)
{
	const struct lh_event_type *t = fc->type ? lh_event_type_find(fc->type) : NULL;
	const char *kind = fc->kind ? fc->kind : "file";

	if (!t || strncmp(t->name, "file.", 5) || !fc->path || !fc->path[0])
		return -EINVAL;
	if (!strcmp(t->name, "file.renamed") && !fc->from)
		return -EINVAL;
	if (strcmp(kind, "file") && strcmp(kind, "dir") && strcmp(kind, "symlink"))
		return -EINVAL;
	/* a file's state includes its content, except once it is gone */
	if (!strcmp(kind, "file") && strcmp(t->name, "file.deleted") && !fc->blob)
		return -EINVAL;
	start(ev, buf, t->name);
	ev->path = fc->path;
	ev->blob = strcmp(t->name, "file.deleted") ? fc->blob : NULL;
	key_str(buf, "kind", kind);
	key_str(buf, "from", fc->from);
	if (strcmp(t->name, "file.deleted")) {
		if (fc->size >= 0)
			key_int(buf, "size", fc->size);
		key_mode(buf, "mode", fc->mode);
		key_str(buf, "target", fc->target);
	}
	if (!strcmp(t->name, "file.mode"))
		key_mode(buf, "prev_mode", fc->prev_mode);
	if (fc->mtime_ns && strcmp(t->name, "file.deleted"))
		key_int(buf, "mtime", fc->mtime_ns);
	if (fc->external)
		lh_buf_adds(buf, ",\"external\":true");
	return finish(ev, buf);
}

int lh_event_escalation(struct lh_event *ev, struct lh_buf *buf, const struct lh_escalation *e)
{
	if (e->request_id <= 0 || !e->to || (strcmp(e->to, "experts") && strcmp(e->to, "human")) ||
	    !e->reason)
		return -EINVAL;
	start(ev, buf, "escalation");
	ev->request_id = e->request_id;
	key_str(buf, "to", e->to);
	key_str(buf, "reason", e->reason);
	key_str(buf, "tier", e->tier);
	if (e->score >= 0)
		key_int(buf, "score", e->score);
	if (e->timeout_s > 0)
		key_int(buf, "timeout_s", e->timeout_s);
	key_str(buf, "rule", e->rule);
	if (e->deadline_ns > 0) {
		char when[32];

		lh_format_time(when, e->deadline_ns);
		key_str(buf, "deadline", when);
		key_int(buf, "deadline_ns", e->deadline_ns);
	}
	if (e->quorum > 0)
		key_int(buf, "quorum", e->quorum);
	key_str(buf, "capabilities", e->capabilities);
	return finish(ev, buf);
}

int lh_event_decision(struct lh_event *ev, struct lh_buf *buf, const struct lh_expert_decision *d)
{
	if (d->request_id <= 0 || !d->decision ||
	    (strcmp(d->decision, "allow") && strcmp(d->decision, "ask") && strcmp(d->decision, "deny")) ||
	    !d->by || (strcmp(d->by, "expert") && strcmp(d->by, "human") && strcmp(d->by, "timeout")))
		return -EINVAL;
	start(ev, buf, "decision");
	ev->request_id = d->request_id;
	key_str(buf, "decision", d->decision);
	key_str(buf, "by", d->by);
	key_str(buf, "who", d->who);
	key_str(buf, "reason", d->reason);
	key_str(buf, "learned_rule", d->learned_rule);
	key_str(buf, "remember", d->remember);
	if (d->vote) {
		lh_buf_adds(buf, ",\"vote\":true");
		key_int(buf, "quorum", d->quorum);
	}
	if (d->restart)
		lh_buf_adds(buf, ",\"restart\":true");
	return finish(ev, buf);
}

int lh_event_annotation(struct lh_event *ev, struct lh_buf *buf, const struct lh_annotation *a)
{
	if (!a->path || !a->path[0] || !a->text)
		return -EINVAL;
	start(ev, buf, "annotation");
	ev->path = a->path;
	key_str(buf, "text", a->text);
	key_str(buf, "author", a->author);
	if (a->line > 0) {
		key_int(buf, "line", a->line);
		key_int(buf, "end_line", a->end_line >= a->line ? a->end_line : a->line);
	}
	if (a->tags)
		lh_buf_addf(buf, ",\"tags\":%s", a->tags);
	key_str(buf, "anchor", a->anchor);
	key_str(buf, "before", a->before);
	key_str(buf, "after", a->after);
	return finish(ev, buf);
}

int lh_event_file_denied(struct lh_event *ev, struct lh_buf *buf, const struct lh_file_denial *d)
{
	if (!d->path || !d->op)
		return -EINVAL;
	start(ev, buf, "file.denied");
	ev->path = d->path;
	key_str(buf, "op", d->op);
	key_str(buf, "rule", d->rule);
	key_str(buf, "reason", d->reason);
	return finish(ev, buf);
}

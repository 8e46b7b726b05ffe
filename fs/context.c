/*
 * context.c -- context/: one folder per escalation, what an expert or a
 * person needs to decide it.
 *
 *   context/ID/manifest.json   the request, its caller, agent and session,
 *                              the rule or risk score that escalated it, when,
 *                              the deadline, the quorum and votes, the files
 *                              below, and once decided, the decision
 *   context/ID/request         the request as the agent wrote it
 *   context/ID/recent          the agent's last requests before it, with
 *                              their verdicts (from the event store)
 *   context/ID/files/NAME      the project files the request touches, as
 *                              they were when it was made
 *
 * DESIGN
 *
 * The package is taken when the request is judged (context_build, in the
 * FUSE thread that judged it, before its events are committed): the
 * validator lists the commands the request runs and the paths it reads
 * and writes (lh_validator_inspect), and each path inside the project is
 * copied -- a regular file's content up to FILE_MAX bytes, a folder's
 * listing -- at most MAX_FILES of them and TOTAL_MAX bytes in all. Paths
 * outside the project are named in the manifest, never copied; a path
 * whose real location (symbolic links followed) leaves the project, or
 * that is in class secrets, is listed as withheld. So a package is the
 * state the request saw, bounded in size, and shows nothing the project
 * does not hold. A file's NAME is its path in the project with '%' and
 * '/' written %25 and %2F (the project itself: %2E).
 *
 * The package belongs to the escalation (escalate.c) and every view is
 * rendered under its lock into the open file's own buffer (esc_with), so
 * a read never races a decision. `recent` is read from the event store
 * when it is opened. Everything here is read-only; only the request's
 * user, the daemon's owner, root and the users of registered experts may
 * look.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "fs/fs.h"
#include "store/store.h"
#include "validator/path.h"
#include "validator/validator.h"
#include "common/banned.h"

#define MAX_FILES 16		/* files copied into one package */
#define MAX_PATHS 64		/* paths named in its manifest */
#define FILE_MAX (64 * 1024)	/* bytes of one file */
#define TOTAL_MAX (256 * 1024)	/* bytes of all its files */
#define LIST_MAX 200		/* entries of a folder's listing */
#define RECENT_MAX 20		/* requests in `recent` */
#define RECENT_SCAN 4000	/* requests looked through for them */

struct cpath {
	char *path;			/* resolved, absolute */
	const char *access;		/* "read" or "write" */
	const char *kind;		/* file, dir, missing, other, withheld, outside */
	char *name;			/* files/NAME, or NULL when not copied */
	char *data;			/* the copy */
	size_t len;
	int64_t size;			/* the file's size (-1 unknown) */
	int truncated;
};

struct ctxpkg {
	char *commands;			/* blank separated, unique */
	struct cpath paths[MAX_PATHS];
	int npaths;
	size_t total;
	int64_t taken_wall;
};

struct build {
	struct lh_fs *fs;
	struct ctxpkg *c;
	struct lh_buf commands;
	int nfiles;
};

const char *context_commands(const struct ctxpkg *c)
{
	return c && c->commands ? c->commands : "";
}

void context_free(struct ctxpkg *c)
{
	int k;

	if (!c)
		return;
	for (k = 0; k < c->npaths; k++) {
		free(c->paths[k].path);
		free(c->paths[k].name);
		free(c->paths[k].data);
	}
	free(c->commands);
	free(c);
}

static void encode_name(struct lh_buf *out, const char *rel)
{
	if (!rel[0]) {
		lh_buf_adds(out, "%2E");
		return;
	}
	for (; *rel; rel++) {
		if (*rel == '/')
			lh_buf_adds(out, "%2F");
		else if (*rel == '%')
			lh_buf_adds(out, "%25");
		else
			lh_buf_addc(out, *rel);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Copy what path holds into p (p->path is inside the project). */
static void take(struct build *b, struct cpath *p)
{
	const char *project = b->fs->project;
	char real[PATH_MAX];
	struct stat st;
	int fd;

	if (lstat(p->path, &st)) {
		p->kind = "missing";
		return;
	}
	if (!realpath(p->path, real) || !lh_path_within(real, project)) {
		p->kind = "withheld";	/* a link out of the project */
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(real);
		struct dirent *de;
		char **names = NULL;
		int n = 0, k;
		struct lh_buf out = LH_BUF_INIT;

		p->kind = "dir";
		if (!d)
			return;
		while ((de = readdir(d)) && n < LIST_MAX) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			names = xrealloc(names, sizeof(*names) * (size_t)(n + 1));
			names[n++] = xstrdup(de->d_name);
		}
		p->truncated = de != NULL;
		closedir(d);
		qsort(names, (size_t)n, sizeof(*names), cmp_str);
		for (k = 0; k < n; k++) {
			lh_buf_addf(&out, "%s\n", names[k]);
			free(names[k]);
		}
		free(names);
		p->data = lh_buf_detach(&out, &p->len);
		p->size = (int64_t)n;
	} else if (S_ISREG(st.st_mode)) {
		size_t want = FILE_MAX, got = 0;

		p->kind = "file";
		p->size = (int64_t)st.st_size;
		if (want > TOTAL_MAX - b->c->total)
			want = TOTAL_MAX - b->c->total;
		fd = open(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			return;
		p->data = xmalloc(want + 1);
		while (got < want) {
			ssize_t n = read(fd, p->data + got, want - got);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		close(fd);
		p->data[got] = '\0';
		p->len = got;
		p->truncated = (int64_t)got < p->size;
	} else {
		p->kind = "other";
		return;
	}
	b->c->total += p->len;
}

static void on_touch(void *arg, enum lh_touch kind, const char *what, int secret)
{
	struct build *b = arg;
	struct ctxpkg *c = b->c;
	struct cpath *p;
	int k;

	if (kind == LH_TOUCH_COMMAND) {
		size_t n = strlen(what);
		const char *q = b->commands.data;

		while ((q = strstr(q, what)))
			if ((q == b->commands.data || q[-1] == ' ') && (q[n] == ' ' || !q[n]))
				return;
			else
				q += n;
		if (b->commands.len + n < 400)
			lh_buf_addf(&b->commands, "%s%s", b->commands.len ? " " : "", what);
		return;
	}
	for (k = 0; k < c->npaths; k++)
		if (!strcmp(c->paths[k].path, what)) {
			if (kind == LH_TOUCH_WRITE)
				c->paths[k].access = "write";
			return;
		}
	if (c->npaths == MAX_PATHS)
		return;
	if (kind == LH_TOUCH_READ && !strpbrk(what, "*?[") && access(what, F_OK) && errno == ENOENT)
		return;	/* a word taken for a path (git push origin): nothing to show */
	p = &c->paths[c->npaths++];
	p->path = xstrdup(what);
	p->access = kind == LH_TOUCH_WRITE ? "write" : "read";
	p->size = -1;
	if (!lh_path_within(what, b->fs->project)) {
		p->kind = "outside";
	} else if (secret) {
		p->kind = "withheld";
	} else if (strpbrk(what, "*?[")) {
		p->kind = "pattern";
	} else if (b->nfiles < MAX_FILES && c->total < TOTAL_MAX) {
		struct lh_buf name = LH_BUF_INIT;
		const char *rel = what + strlen(b->fs->project);

		while (*rel == '/')
			rel++;
		take(b, p);
		if (p->data) {
			encode_name(&name, rel);
			p->name = lh_buf_detach(&name, NULL);
			b->nfiles++;
		}
	} else {
		p->kind = "not copied";
	}
}

struct ctxpkg *context_build(struct lh_fs *fs, const struct lh_judge_in *in)
{
	struct build b;

	memset(&b, 0, sizeof(b));
	b.fs = fs;
	b.c = xcalloc(1, sizeof(*b.c));
	b.c->taken_wall = lh_wall_ns();
	lh_buf_init(&b.commands, 0);
	lh_validator_inspect(fs->validator, in, on_touch, &b);
	b.c->commands = lh_buf_detach(&b.commands, NULL);
	return b.c;
}

/* ---- rendering ----------------------------------------------------------------- */

static void jkey(struct lh_buf *o, const char *key, const char *val)
{
	lh_buf_addf(o, ",\"%s\":", key);
	if (val)
		lh_buf_add_json_str(o, val, strlen(val));
	else
		lh_buf_adds(o, "null");
}

static void jwords(struct lh_buf *o, const char *key, const char *words)
{
	const char *p = words;
	int n = 0;

	lh_buf_addf(o, ",\"%s\":[", key);
	while (p && *p) {
		size_t l = strcspn(p, " ");

		if (l) {
			lh_buf_adds(o, n++ ? "," : "");
			lh_buf_add_json_str(o, p, l);
		}
		p += l;
		while (*p == ' ')
			p++;
	}
	lh_buf_addc(o, ']');
}

static void manifest(const struct esc_view *v, struct lh_buf *o, const char *mount,
		     const char *project)
{
	const struct esc_request *rq = v->rq;
	const struct ctxpkg *c = rq->ctx;
	char when[32];
	int k;

	lh_buf_addf(o, "{\"request\":%" PRIu64, rq->id);
	jkey(o, "name", rq->name);
	jkey(o, "state", v->state);
	lh_buf_addf(o, ",\"caller\":{\"uid\":%u,\"gid\":%u,\"pid\":%d", (unsigned)rq->uid,
		    (unsigned)rq->gid, (int)rq->pid);
	jkey(o, "user", rq->user[0] ? rq->user : NULL);
	lh_buf_addc(o, '}');
	jkey(o, "agent", rq->agent);
	jkey(o, "session", rq->session);
	jkey(o, "tool", rq->tool);
	jkey(o, "input", rq->input);
	jkey(o, "cwd", rq->cwd);
	lh_buf_adds(o, ",\"escalated_by\":{\"rule\":");
	if (rq->rule[0])
		lh_buf_add_json_str(o, rq->rule, strlen(rq->rule));
	else
		lh_buf_adds(o, "null");
	jkey(o, "tier", rq->tier);
	lh_buf_addf(o, ",\"risk\":%d", rq->risk);
	jkey(o, "reason", rq->reason);
	lh_buf_addc(o, '}');
	lh_format_time(when, rq->created_wall);
	jkey(o, "time", when);
	lh_format_time(when, rq->deadline_wall);
	jkey(o, "deadline", when);
	lh_buf_addf(o, ",\"quorum\":%d,\"votes\":%d", rq->quorum, v->nvotes);
	jwords(o, "voted", v->votes);
	jwords(o, "capabilities", rq->caps);
	jwords(o, "offered_to", v->offered);
	jwords(o, "claimed_by", v->claimed);
	jwords(o, "commands", context_commands(c));
	if (c) {
		lh_format_time(when, c->taken_wall);
		jkey(o, "files_taken", when);
	}
	lh_buf_adds(o, ",\"files\":[");
	for (k = 0; c && k < c->npaths; k++) {
		const struct cpath *p = &c->paths[k];
		struct lh_buf f = LH_BUF_INIT;

		lh_buf_adds(o, k ? ",{\"path\":" : "{\"path\":");
		lh_buf_add_json_str(o, p->path, strlen(p->path));
		jkey(o, "access", p->access);
		jkey(o, "kind", p->kind);
		if (p->name) {
			const char *rel = p->path + strlen(project);

			while (*rel == '/')
				rel++;
			lh_buf_addf(&f, "files/%s", p->name);
			jkey(o, "copy", f.data);
			/* the file as it is now, in the project seen through the mount */
			lh_buf_reset(&f);
			lh_buf_addf(&f, "%s/current%s%s", mount, rel[0] ? "/" : "", rel);
			jkey(o, "current", f.data);
			lh_buf_addf(o, ",\"size\":%" PRId64 ",\"truncated\":%s", p->size,
				    p->truncated ? "true" : "false");
		}
		lh_buf_release(&f);
		lh_buf_addc(o, '}');
	}
	lh_buf_addc(o, ']');
	if (v->decision) {
		lh_buf_adds(o, ",\"decision\":{\"decision\":");
		lh_buf_add_json_str(o, v->decision, strlen(v->decision));
		jkey(o, "by", v->by);
		jkey(o, "who", v->who);
		jkey(o, "reason", v->why);
		jkey(o, "learned_rule", v->learned_rule && v->learned_rule[0] ? v->learned_rule : NULL);
		lh_format_time(when, v->decided_wall);
		jkey(o, "time", when);
		lh_buf_addc(o, '}');
	}
	lh_buf_adds(o, "}\n");
}

/* ---- the FUSE room ------------------------------------------------------------------ */

#define CTX_ID(ino) (FS_INO_ID(ino) >> 8)
#define CTX_PART(ino) ((int)(FS_INO_ID(ino) & 0xff))

static struct lh_fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static const char *const part_names[CTX_PARTS] = { NULL, "manifest.json", "request", "recent", "files" };

struct look {
	const char *mount, *project;
	int part;			/* CTX_* or -1 for a file */
	int index;			/* the file's index */
	const char *name;		/* lookup of files/NAME */
	uid_t uid;			/* the request's user */
	int found;
	struct lh_buf *out;		/* rendered content, when wanted */
	struct dirsnap *dir;		/* listing of files/, when wanted */
	uint64_t id;
	off_t size;
};

static void look_fn(void *arg, const struct esc_view *v)
{
	struct look *l = arg;
	const struct ctxpkg *c = v->rq->ctx;
	int k;

	l->uid = v->rq->uid;
	l->found = 1;
	if (l->name) {
		l->found = 0;
		for (k = 0; c && k < c->npaths; k++)
			if (c->paths[k].name && !strcmp(c->paths[k].name, l->name)) {
				l->index = k;
				l->size = (off_t)c->paths[k].len;
				l->found = 1;
			}
		return;
	}
	if (l->dir) {
		for (k = 0; c && k < c->npaths; k++)
			if (c->paths[k].name)
				dirsnap_add(l->dir, c->paths[k].name, strlen(c->paths[k].name),
					    FS_INO(FS_KIND_CTXFILE, l->id << 8 | (uint64_t)k), S_IFREG);
		return;
	}
	if (l->part < 0) {
		if (!c || l->index >= c->npaths || !c->paths[l->index].name) {
			l->found = 0;
			return;
		}
		l->size = (off_t)c->paths[l->index].len;
		if (l->out)
			lh_buf_add(l->out, c->paths[l->index].data, c->paths[l->index].len);
		return;
	}
	if (!l->out)
		return;
	if (l->part == CTX_MANIFEST)
		manifest(v, l->out, l->mount, l->project);
	else if (l->part == CTX_REQUEST)
		lh_buf_add(l->out, v->rq->raw, v->rq->raw_len);
}

static int may_see(struct lh_fs *fs, fuse_req_t req, uid_t owner)
{
	uid_t uid = fuse_req_ctx(req)->uid;

	return uid == 0 || uid == fs->owner || uid == owner || esc_is_expert_uid(fs, uid);
}

static void fill(struct lh_fs *fs, fuse_ino_t ino, mode_t mode, off_t size, uid_t uid,
		 struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = mode;
	st->st_nlink = S_ISDIR(mode) ? 2 : 1;
	st->st_uid = uid;
	st->st_gid = getgid();
	st->st_size = size;
	st->st_blksize = 4096;
	st->st_atime = st->st_mtime = st->st_ctime = fs->started_wall / 1000000000;
}

/* Attributes of a context inode; -ENOENT when its escalation is gone. */
static int attr_of(struct lh_fs *fs, fuse_ino_t ino, struct stat *st)
{
	struct look l;

	memset(&l, 0, sizeof(l));
	l.id = CTX_ID(ino);
	l.part = FS_INO_KIND(ino) == FS_KIND_CTXFILE ? -1 : CTX_PART(ino);
	l.index = CTX_PART(ino);
	l.mount = fs->mountpoint;
	l.project = fs->project;
	if (esc_with(fs, l.id, 0, look_fn, &l) || !l.found)
		return -ENOENT;
	if (l.part == CTX_DIR || l.part == CTX_FILES)
		fill(fs, ino, S_IFDIR | 0555, 0, l.uid, st);
	else
		/* generated files: their size is known once opened (direct_io) */
		fill(fs, ino, S_IFREG | 0444, l.part < 0 ? l.size : 0, l.uid, st);
	return 0;
}

static void reply_entry(fuse_req_t req, fuse_ino_t ino)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	if (attr_of(fs_of(req), ino, &e.attr)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	e.ino = ino;
	e.generation = 1;
	e.attr_timeout = 0;
	e.entry_timeout = 0;
	fuse_reply_entry(req, &e);
}

static void ctx_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct lh_fs *fs = fs_of(req);
	uint64_t id;
	int k;

	if (parent == FS_INO_CONTEXT) {
		if (fs_parse_id(name, 48, &id)) {
			fuse_reply_err(req, ENOENT);
			return;
		}
		reply_entry(req, FS_INO(FS_KIND_CTX, id << 8 | CTX_DIR));
		return;
	}
	if (FS_INO_KIND(parent) != FS_KIND_CTX) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	id = CTX_ID(parent);
	if (CTX_PART(parent) == CTX_DIR) {
		for (k = 1; k < CTX_PARTS; k++)
			if (!strcmp(name, part_names[k])) {
				reply_entry(req, FS_INO(FS_KIND_CTX, id << 8 | (uint64_t)k));
				return;
			}
	} else if (CTX_PART(parent) == CTX_FILES) {
		struct look l;

		memset(&l, 0, sizeof(l));
		l.name = name;
		l.id = id;
		if (!esc_with(fs, id, 0, look_fn, &l) && l.found) {
			reply_entry(req, FS_INO(FS_KIND_CTXFILE, id << 8 | (uint64_t)l.index));
			return;
		}
	}
	fuse_reply_err(req, ENOENT);
}

static void ctx_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	int rc = attr_of(fs_of(req), ino, &st);

	(void)fi;
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, 0);
}

static void ctx_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct lh_fs *fs = fs_of(req);
	struct dirsnap *d = xcalloc(1, sizeof(*d));

	dirsnap_add(d, ".", 1, ino, S_IFDIR);
	if (ino == FS_INO_CONTEXT) {
		dirsnap_add(d, "..", 2, FS_INO_ROOT, S_IFDIR);
		esc_ids(fs, d);
	} else {
		struct look l;
		int k;

		memset(&l, 0, sizeof(l));
		l.id = CTX_ID(ino);
		if (esc_with(fs, l.id, 0, look_fn, &l)) {
			fuse_reply_err(req, ENOENT);
			goto fail;
		}
		if (!may_see(fs, req, l.uid)) {
			fuse_reply_err(req, EACCES);
			goto fail;
		}
		if (CTX_PART(ino) == CTX_DIR) {
			dirsnap_add(d, "..", 2, FS_INO_CONTEXT, S_IFDIR);
			for (k = 1; k < CTX_PARTS; k++)
				dirsnap_add(d, part_names[k], strlen(part_names[k]),
					    FS_INO(FS_KIND_CTX, l.id << 8 | (uint64_t)k),
					    k == CTX_FILES ? S_IFDIR : S_IFREG);
		} else {
			dirsnap_add(d, "..", 2, FS_INO(FS_KIND_CTX, l.id << 8 | CTX_DIR), S_IFDIR);
			l.dir = d;
			esc_with(fs, l.id, 0, look_fn, &l);
		}
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	if (fuse_reply_open(req, fi))
		dirsnap_release(d);
	return;
fail:
	dirsnap_release(d);
}

/* recent: the agent's requests before this one, newest first */
struct recent {
	const char *agent;
	uint64_t before;
	struct {
		int64_t id;
		char when[32];
		char *what;		/* TOOL: INPUT (first line, cut) */
	} v[RECENT_MAX];
	int n;
	char decision[16], rule[LH_RULE_MAX];	/* of the request being looked up */
};

static int recent_request(void *arg, const struct lh_event_row *row)
{
	struct recent *r = arg;
	json_t *pl;
	struct lh_buf what = LH_BUF_INIT;
	const char *tool, *input;

	if (!row->agent || strcmp(row->agent, r->agent) || (uint64_t)row->request_id >= r->before)
		return 0;
	pl = json_loads(row->payload, 0, NULL);
	tool = pl ? json_string_value(json_object_get(pl, "tool")) : NULL;
	input = pl ? json_string_value(json_object_get(pl, "input")) : NULL;
	lh_buf_addf(&what, "%s: ", tool ? tool : "?");
	if (input) {
		size_t n = strcspn(input, "\n");

		lh_buf_add(&what, input, n > 160 ? 160 : n);
		if (n > 160 || input[n])
			lh_buf_adds(&what, " ...");
	}
	json_decref(pl);
	r->v[r->n].id = row->request_id;
	lh_format_time(r->v[r->n].when, row->time_ns);
	r->v[r->n].what = lh_buf_detach(&what, NULL);
	r->n++;
	return r->n == RECENT_MAX;
}

static int recent_verdict(void *arg, const struct lh_event_row *row)
{
	struct recent *r = arg;
	json_t *pl;
	const char *d, *rule;

	if (strcmp(row->type, "verdict") && strcmp(row->type, "decision"))
		return 0;
	pl = json_loads(row->payload, 0, NULL);
	if (!pl)
		return 0;
	if (json_is_true(json_object_get(pl, "vote"))) {
		json_decref(pl);
		return 0;
	}
	d = json_string_value(json_object_get(pl, "decision"));
	rule = json_string_value(json_object_get(pl, "rule"));
	if (!rule)
		rule = json_string_value(json_object_get(pl, "learned_rule"));
	if (json_is_true(json_object_get(pl, "escalated")))
		d = "escalated";
	snprintf(r->decision, sizeof(r->decision), "%s", d ? d : "?");
	if (rule || strcmp(row->type, "decision"))
		snprintf(r->rule, sizeof(r->rule), "%s", rule ? rule : "-");
	json_decref(pl);
	return 0;
}

static void render_recent(struct lh_fs *fs, uint64_t id, const char *agent, struct lh_buf *out)
{
	struct lh_store_reader *rd;
	struct lh_buf err = LH_BUF_INIT;
	struct lh_event_filter f;
	struct recent r;
	int k;

	memset(&r, 0, sizeof(r));
	r.agent = agent;
	r.before = id;
	lh_buf_addf(out, "# the last requests of agent %s before request %" PRIu64
		    ", newest first\n# ID  TIME  DECISION  RULE  TOOL: INPUT\n", agent, id);
	if (lh_store_reader_open(&rd, fs->state_dir, &err)) {
		lh_buf_addf(out, "# the event store cannot be read: %s\n", err.data);
		lh_buf_release(&err);
		return;
	}
	/* what was released at the journal but not yet committed, too */
	lh_store_sync(fs->store);
	memset(&f, 0, sizeof(f));
	f.types = "request";
	f.agent = agent;
	f.newest_first = 1;
	f.limit = RECENT_SCAN;
	lh_store_reader_each(rd, &f, recent_request, &r, &err);
	for (k = 0; k < r.n; k++) {
		memset(&f, 0, sizeof(f));
		f.request_id = r.v[k].id;
		snprintf(r.decision, sizeof(r.decision), "?");
		snprintf(r.rule, sizeof(r.rule), "-");
		lh_store_reader_each(rd, &f, recent_verdict, &r, &err);
		lh_buf_addf(out, "%" PRId64 "  %s  %s  %s  %s\n", r.v[k].id, r.v[k].when, r.decision,
			    r.rule, r.v[k].what);
		free(r.v[k].what);
	}
	if (!r.n)
		lh_buf_adds(out, "# none\n");
	lh_store_reader_close(rd);
	lh_buf_release(&err);
}

struct cfile {
	struct fs_open_link link;	/* first: listed while open (fs.h) */
	struct lh_buf data;
};

static void cfile_free(struct fs_open_link *l)
{
	struct cfile *f = (struct cfile *)(void *)l;

	fs_open_del(&f->link);
	lh_buf_release(&f->data);
	free(f);
}

struct agent_of {
	char agent[FS_AGENT_MAX];
	uid_t uid;
};

static void agent_fn(void *arg, const struct esc_view *v)
{
	struct agent_of *a = arg;

	snprintf(a->agent, sizeof(a->agent), "%s", v->rq->agent);
	a->uid = v->rq->uid;
}

static void ctx_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct lh_fs *fs = fs_of(req);
	struct cfile *f;
	struct look l;

	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EACCES);
		return;
	}
	memset(&l, 0, sizeof(l));
	l.id = CTX_ID(ino);
	l.part = FS_INO_KIND(ino) == FS_KIND_CTXFILE ? -1 : CTX_PART(ino);
	l.index = CTX_PART(ino);
	l.mount = fs->mountpoint;
	l.project = fs->project;
	if (l.part == CTX_DIR || l.part == CTX_FILES) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	f = xcalloc(1, sizeof(*f));
	fs_open_add(&f->link, cfile_free);
	lh_buf_init(&f->data, 0);
	l.out = &f->data;
	if (esc_with(fs, l.id, 0, look_fn, &l) || !l.found) {
		fuse_reply_err(req, ENOENT);
		goto fail;
	}
	if (!may_see(fs, req, l.uid)) {
		fuse_reply_err(req, EACCES);
		goto fail;
	}
	if (l.part == CTX_RECENT) {
		struct agent_of a;

		esc_with(fs, l.id, 0, agent_fn, &a);
		render_recent(fs, l.id, a.agent, &f->data);
	}
	fi->fh = (uint64_t)(uintptr_t)f;
	fi->direct_io = 1;
	fi->noflush = 1;
	if (fuse_reply_open(req, fi))
		goto fail;
	return;
fail:
	cfile_free(&f->link);
}

static void ctx_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct cfile *f = (struct cfile *)(uintptr_t)fi->fh;

	(void)ino;
	if (off < 0 || (size_t)off >= f->data.len) {
		fuse_reply_buf(req, NULL, 0);
	} else {
		/* from a copy: the close that frees f may race the reply */
		size_t n = f->data.len - (size_t)off < size ? f->data.len - (size_t)off : size;
		char *copy = xmemdup(f->data.data + off, n);

		fuse_reply_buf(req, copy, n);
		free(copy);
	}
}

static void ctx_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cfile *f = (struct cfile *)(uintptr_t)fi->fh;

	(void)ino;
	cfile_free(&f->link);
	fuse_reply_err(req, 0);
}

const struct fuse_lowlevel_ops context_ops = {
	.lookup = ctx_lookup,
	.getattr = ctx_getattr,
	.opendir = ctx_opendir,
	.open = ctx_open,
	.read = ctx_read,
	.release = ctx_release,
};

/*
 * shadows.c -- shadows/: annotations attached to the files of current/.
 *
 *   shadows/DIR/            one folder per folder of current/
 *   shadows/DIR/NAME.json   the annotations of current/DIR/NAME
 *
 * Reading NAME.json gives a JSON array of the file's annotations, each at
 * the lines it is on now:
 *
 *   {"id":SEQ,"line":L,"end_line":M,"text":...,"author":...,"tags":[...],
 *    "time":...,"uid":U,"written_line":L0,"orphaned":false}
 *
 * Writing it appends annotations: one JSON object, an array of them, or
 * several objects one after another, each {"text": ...} with "line" and
 * "end_line" (1-based; none: the whole file), "author" (default: the
 * writer's agent) and "tags" (strings). They are checked and recorded,
 * as annotation events, when the file is closed (flushed): a bad one
 * fails the close with EINVAL and none of that write is recorded. Writing
 * never removes annotations (O_TRUNC is ignored).
 *
 * DESIGN
 *
 * An annotation is stored with the text of its lines when written (the
 * anchor) and two lines on each side. Reading finds it again in the
 * file as it is now: where the anchor's lines appear (the place whose
 * surrounding lines match best, then the nearest to where it was); if
 * they appear nowhere but the surrounding lines still frame a place, it
 * is there ("changed": true, the lines were edited); else it is orphaned
 * (its lines are gone, or the file is). So an annotation follows its
 * lines through edits above them, moves and renames of code within the
 * file.
 *
 * Names resolve beneath the project with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS): a symbolic link is never followed. NAME.json
 * exists when NAME is a regular file of current/, or when it has
 * annotations (an orphaned file's); a listing shows the folders and the
 * annotated files. A NAME.json has the owner and mode of NAME: its
 * anchors are NAME's lines, readable by who may read NAME, and the policy
 * that guards reading NAME guards its annotations (EACCES).
 *
 * Inodes are FS_KIND_SHADOW | an id per path looked up, kept while the
 * kernel holds lookups of it. Files are direct_io and have no size
 * (their text is made at each open); names are cached for a second.
 *
 * Locks: sh->mu guards the inode table and the reader; leaf.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "fs/fs.h"
#include "store/store.h"
#include "validator/validator.h"
#include "common/banned.h"

#define ENTRY_TIMEOUT 1.0
#define NBUCKETS 1024
#define WRITE_MAX (1024 * 1024)		/* bytes of annotations written at once */
#define TEXT_MAX (64 * 1024)		/* bytes of one annotation's text */
#define CONTENT_MAX (32 * 1024 * 1024)	/* a file larger than this is not read to anchor */
#define CONTEXT 2			/* lines kept on each side */

struct snode {
	struct snode *next;		/* id chain; protected by sh->mu */
	struct snode *pnext;		/* path chain; protected by sh->mu */
	uint64_t id;
	char *path;			/* the file or folder of current/, relative */
	int json;			/* NAME.json (else a folder) */
	uint64_t nlookup;		/* protected by sh->mu */
};

struct shadows {
	struct lh_fs *fs;
	int root;			/* the project, O_PATH */
	pthread_mutex_t mu;
	struct snode *table[NBUCKETS];	/* by id; protected by mu */
	struct snode *paths[NBUCKETS];	/* by path; protected by mu */
	uint64_t next_id;		/* protected by mu */
	struct lh_store_reader *reader;	/* protected by mu */
};

/* An open NAME.json. */
struct sfile {
	struct fs_open_link link;	/* first: listed while open (fs.h) */
	struct lh_buf text;		/* reading: the annotations as JSON */
	struct lh_buf in;		/* writing: what was written since the last flush */
	char *path;			/* the annotated file */
	struct rec_who who;
	int writer;
};

static struct shadows *sh_of(fuse_req_t req)
{
	return ((struct lh_fs *)fuse_req_userdata(req))->shadows;
}

static void sfile_free(struct fs_open_link *l)
{
	struct sfile *f = (struct sfile *)(void *)l;

	fs_open_del(&f->link);
	lh_buf_release(&f->text);
	lh_buf_release(&f->in);
	free(f->path);
	free(f);
}

/* ---- paths beneath the project ------------------------------------------------------ */

static int open_beneath(struct shadows *sh, const char *path, int flags)
{
	struct open_how how;
	long fd;

	if (!path[0])
		path = ".";
	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW);
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	fd = syscall(SYS_openat2, sh->root, path, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

static int stat_beneath(struct shadows *sh, const char *path, struct stat *st)
{
	int fd = open_beneath(sh, path, O_PATH), rc;

	if (fd < 0)
		return fd;
	rc = fstat(fd, st) ? -errno : 0;
	close(fd);
	return rc;
}

static int join(char *out, size_t n, const char *dir, const char *name)
{
	int w = snprintf(out, n, "%s%s%s", dir, dir[0] ? "/" : "", name);

	return w < 0 || (size_t)w >= n ? -ENAMETOOLONG : 0;
}

/* ---- inodes ------------------------------------------------------------------------ */

static struct snode *find_id_locked(struct shadows *sh, uint64_t id)
{
	struct snode *n;

	for (n = sh->table[id % NBUCKETS]; n; n = n->next)
		if (n->id == id)
			return n;
	return NULL;
}

static size_t path_bucket(const char *path, int json)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)json;

	for (; *path; path++)
		h = (h ^ (unsigned char)*path) * 1099511628211ull;
	return (size_t)(h ^ (h >> 29)) & (NBUCKETS - 1);
}

static struct snode *node_get(struct shadows *sh, const char *path, int json)
{
	size_t pb = path_bucket(path, json);
	struct snode *n;

	pthread_mutex_lock(&sh->mu);
	for (n = sh->paths[pb]; n; n = n->pnext)
		if (n->json == json && !strcmp(n->path, path)) {
			n->nlookup++;
			pthread_mutex_unlock(&sh->mu);
			return n;
		}
	n = xcalloc(1, sizeof(*n));
	n->id = ++sh->next_id;
	n->path = xstrdup(path);
	n->json = json;
	n->nlookup = 1;
	n->next = sh->table[n->id % NBUCKETS];
	sh->table[n->id % NBUCKETS] = n;
	n->pnext = sh->paths[pb];
	sh->paths[pb] = n;
	pthread_mutex_unlock(&sh->mu);
	return n;
}

static void node_forget(struct shadows *sh, uint64_t id, uint64_t count)
{
	struct snode **pp, *n;

	pthread_mutex_lock(&sh->mu);
	for (pp = &sh->table[id % NBUCKETS]; (n = *pp); pp = &n->next)
		if (n->id == id) {
			n->nlookup = count > n->nlookup ? 0 : n->nlookup - count;
			if (!n->nlookup) {
				struct snode **qq = &sh->paths[path_bucket(n->path, n->json)];

				*pp = n->next;
				while (*qq && *qq != n)
					qq = &(*qq)->pnext;
				if (*qq)
					*qq = n->pnext;
				free(n->path);
				free(n);
			}
			break;
		}
	pthread_mutex_unlock(&sh->mu);
}

/* The path and kind of an inode: copied out, as the node may go. */
static int node_path(struct shadows *sh, fuse_ino_t ino, char *out, size_t n, int *json)
{
	struct snode *s;

	if (ino == FS_INO_SHADOWS) {
		out[0] = '\0';
		*json = 0;
		return 0;
	}
	pthread_mutex_lock(&sh->mu);
	s = find_id_locked(sh, FS_INO_ID(ino));
	if (s) {
		snprintf(out, n, "%s", s->path);
		*json = s->json;
	}
	pthread_mutex_unlock(&sh->mu);
	return s ? 0 : -ESTALE;
}

/* ---- annotations in the store ------------------------------------------------------- */

struct collect {
	json_t *list;			/* the events' payloads, with id, time, uid, agent */
	struct lh_buf names;		/* listing: "name\0name\0" of annotated children */
	const char *under;		/* listing: "dir/" */
};

static int take_annotation(void *arg, const struct lh_event_row *row)
{
	struct collect *c = arg;
	json_error_t err;
	json_t *j = json_loads(row->payload, 0, &err);
	char when[32];

	if (!j)
		return 0;
	json_object_set_new(j, "id", json_integer(row->seq));
	lh_format_time(when, row->time_ns);
	json_object_set_new(j, "time", json_string(when));
	if (row->uid >= 0)
		json_object_set_new(j, "uid", json_integer(row->uid));
	if (row->agent)
		json_object_set_new(j, "agent", json_string(row->agent));
	json_array_append_new(c->list, j);
	return 0;
}

static int take_name(void *arg, const struct lh_event_row *row)
{
	struct collect *c = arg;
	const char *rest = row->path + strlen(c->under);

	if (!strchr(rest, '/')) {
		lh_buf_adds(&c->names, rest);
		lh_buf_addc(&c->names, '\0');
	}
	return 0;
}

static int reader_each(struct shadows *sh, struct lh_event_filter *f, lh_event_fn fn, void *arg)
{
	struct lh_buf err = LH_BUF_INIT;
	int rc = 0;

	pthread_mutex_lock(&sh->mu);
	if (!sh->reader)
		rc = lh_store_reader_open(&sh->reader, sh->fs->state_dir, &err);
	if (!rc)
		rc = lh_store_reader_each(sh->reader, f, fn, arg, &err);
	pthread_mutex_unlock(&sh->mu);
	if (rc < 0)
		lh_warn("shadows/: cannot read the store: %s", err.data);
	lh_buf_release(&err);
	return rc < 0 ? rc : 0;
}

static int has_annotations(struct shadows *sh, const char *path)
{
	struct lh_event_filter f;
	struct collect c;
	int n;

	memset(&f, 0, sizeof(f));
	f.types = "annotation";
	f.path = path;
	f.limit = 1;
	c.list = json_array();
	reader_each(sh, &f, take_annotation, &c);
	n = (int)json_array_size(c.list);
	json_decref(c.list);
	return n > 0;
}

/* ---- lines ------------------------------------------------------------------------- */

struct lines {
	char *data;
	const char **v;			/* each line, NUL-terminated in data */
	size_t n;
};

static void lines_free(struct lines *l)
{
	free(l->data);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static void split(struct lines *l, char *data, size_t len)
{
	size_t i, start = 0, cap = 64;

	l->data = data;
	l->v = xmalloc(cap * sizeof(*l->v));
	l->n = 0;
	for (i = 0; i <= len; i++) {
		if (i < len && data[i] != '\n')
			continue;
		if (i == len && start == len)
			break;	/* no line after the last newline */
		if (l->n == cap) {
			cap *= 2;
			l->v = xrealloc(l->v, cap * sizeof(*l->v));
		}
		data[i] = '\0';
		l->v[l->n++] = data + start;
		start = i + 1;
	}
}

/* The lines of path in current/: 0, -ENOENT, or -EFBIG past CONTENT_MAX. */
static int read_lines(struct shadows *sh, const char *path, struct lines *l)
{
	struct stat st;
	char *data;
	size_t got = 0;
	int fd = open_beneath(sh, path, O_RDONLY);

	memset(l, 0, sizeof(*l));
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > CONTENT_MAX) {
		int rc = !S_ISREG(st.st_mode) ? -ENOENT : -EFBIG;

		close(fd);
		return rc;
	}
	data = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, data + got, (size_t)st.st_size - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	data[got] = '\0';
	split(l, data, got);
	return 0;
}

/* lines[from, to) joined by newlines. */
static char *join_lines(const struct lines *l, size_t from, size_t to)
{
	struct lh_buf b = LH_BUF_INIT;
	size_t k;

	for (k = from; k < to && k < l->n; k++) {
		if (k > from)
			lh_buf_addc(&b, '\n');
		lh_buf_adds(&b, l->v[k]);
	}
	return lh_buf_detach(&b, NULL);
}

/* Does `text` (lines joined by \n) equal l's lines from `at`? How many lines it has in *nl. */
static int lines_at(const struct lines *l, size_t at, const char *text, size_t *nl)
{
	const char *p = text;
	size_t k = 0;

	for (;;) {
		size_t len = strcspn(p, "\n");

		if (at + k >= l->n || strlen(l->v[at + k]) != len || strncmp(l->v[at + k], p, len))
			return 0;
		k++;
		if (!p[len])
			break;
		p += len + 1;
	}
	*nl = k;
	return 1;
}

static size_t count_lines(const char *text)
{
	size_t n = 1;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

/*
 * Where the annotation is now: 1-based start line in *line and *end,
 * *changed when only its surroundings placed it; -1 when orphaned.
 */
static int locate(const struct lines *l, const char *anchor, const char *before, const char *after,
		  long written, long *line, long *end, int *changed)
{
	size_t k, nl = count_lines(anchor), nb = before ? count_lines(before) : 0,
	       na = after ? count_lines(after) : 0, tmp;
	long best = -1, best_score = -1, best_dist = 0;

	*changed = 0;
	for (k = 0; k + nl <= l->n; k++) {
		long score = 0, dist;

		if (!lines_at(l, k, anchor, &tmp))
			continue;
		if (before && k >= nb && lines_at(l, k - nb, before, &tmp))
			score++;
		if (after && lines_at(l, k + nl, after, &tmp))
			score++;
		dist = labs((long)k + 1 - written);
		if (score > best_score || (score == best_score && dist < best_dist)) {
			best = (long)k;
			best_score = score;
			best_dist = dist;
		}
	}
	if (best >= 0) {
		*line = best + 1;
		*end = best + (long)nl;
		return 0;
	}
	if (!before || !after)
		return -1;
	/* the lines changed: is there still a place the surroundings frame? */
	for (k = 0; k + nb <= l->n; k++) {
		size_t gap;

		if (!lines_at(l, k, before, &tmp))
			continue;
		for (gap = 1; gap <= nl + 5 && k + nb + gap + na <= l->n; gap++)
			if (lines_at(l, k + nb + gap, after, &tmp)) {
				long dist = labs((long)(k + nb) + 1 - written);

				if (best < 0 || dist < best_dist) {
					best = (long)(k + nb);
					best_dist = dist;
					*end = (long)(k + nb + gap);
				}
				break;
			}
	}
	if (best < 0)
		return -1;
	*line = best + 1;
	*changed = 1;
	return 0;
}

/* The annotations of path as JSON text, placed in the file as it is now. */
static int render(struct shadows *sh, const char *path, struct lh_buf *out)
{
	struct lh_event_filter f;
	struct collect c;
	struct lines l;
	size_t k;
	int have = read_lines(sh, path, &l) == 0;

	memset(&f, 0, sizeof(f));
	f.types = "annotation";
	f.path = path;
	c.list = json_array();
	reader_each(sh, &f, take_annotation, &c);
	lh_buf_adds(out, "[");
	for (k = 0; k < json_array_size(c.list); k++) {
		json_t *a = json_array_get(c.list, k), *o = json_object();
		const char *anchor = json_string_value(json_object_get(a, "anchor"));
		long written = (long)json_integer_value(json_object_get(a, "line"));
		long wend = (long)json_integer_value(json_object_get(a, "end_line"));
		long line = 0, end = 0;
		int orphaned = !have, changed = 0;
		char *s;

		if (have && written > 0) {
			orphaned = !anchor ||
				   locate(&l, anchor, json_string_value(json_object_get(a, "before")),
					  json_string_value(json_object_get(a, "after")), written, &line,
					  &end, &changed) != 0;
		}
		json_object_set(o, "id", json_object_get(a, "id"));
		if (written > 0 && !orphaned) {
			json_object_set_new(o, "line", json_integer(line));
			json_object_set_new(o, "end_line", json_integer(end));
		} else if (written > 0) {
			json_object_set_new(o, "line", json_null());
			json_object_set_new(o, "end_line", json_null());
		}
		json_object_set(o, "text", json_object_get(a, "text"));
		if (json_object_get(a, "author"))
			json_object_set(o, "author", json_object_get(a, "author"));
		json_object_set_new(o, "tags", json_object_get(a, "tags") ?
				    json_incref(json_object_get(a, "tags")) : json_array());
		json_object_set(o, "time", json_object_get(a, "time"));
		if (json_object_get(a, "uid"))
			json_object_set(o, "uid", json_object_get(a, "uid"));
		if (json_object_get(a, "agent"))
			json_object_set(o, "agent", json_object_get(a, "agent"));
		if (written > 0) {
			json_object_set_new(o, "written_line", json_integer(written));
			json_object_set_new(o, "written_end_line", json_integer(wend));
		}
		json_object_set_new(o, "orphaned", json_boolean(orphaned));
		if (changed)
			json_object_set_new(o, "changed", json_true());
		s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		lh_buf_adds(out, k ? ",\n" : "\n");
		lh_buf_adds(out, s);
		free(s);
		json_decref(o);
	}
	lh_buf_adds(out, k ? "\n]\n" : "]\n");
	json_decref(c.list);
	if (have)
		lines_free(&l);
	return 0;
}

/* ---- writing annotations -------------------------------------------------------------- */

struct parsed {
	json_t *items;			/* the objects written */
};

static int check_one(json_t *o, struct lh_buf *why)
{
	json_t *text = json_object_get(o, "text"), *line = json_object_get(o, "line"),
	       *end = json_object_get(o, "end_line"), *lines = json_object_get(o, "lines"),
	       *tags = json_object_get(o, "tags"), *author = json_object_get(o, "author"), *t;
	size_t k;

	if (!json_is_object(o))
		return lh_buf_adds(why, "an annotation is a JSON object"), -EINVAL;
	if (!json_is_string(text) || !json_string_length(text) || json_string_length(text) > TEXT_MAX)
		return lh_buf_adds(why, "\"text\" must be a string of 1 to 65536 bytes"), -EINVAL;
	if (lines) {
		if (!json_is_array(lines) || json_array_size(lines) < 1 || json_array_size(lines) > 2 ||
		    !json_is_integer(json_array_get(lines, 0)))
			return lh_buf_adds(why, "\"lines\" is [FIRST, LAST]"), -EINVAL;
		line = json_array_get(lines, 0);
		end = json_array_size(lines) > 1 ? json_array_get(lines, 1) : line;
		json_object_set(o, "line", line);
		json_object_set(o, "end_line", end);
	}
	if ((line && (!json_is_integer(line) || json_integer_value(line) < 0)) ||
	    (end && (!json_is_integer(end) || json_integer_value(end) < json_integer_value(line))))
		return lh_buf_adds(why, "\"line\" and \"end_line\" are line numbers, first to last"),
		       -EINVAL;
	if (end && !line)
		return lh_buf_adds(why, "\"end_line\" without \"line\""), -EINVAL;
	if (author && !json_is_string(author))
		return lh_buf_adds(why, "\"author\" must be a string"), -EINVAL;
	if (tags) {
		if (!json_is_array(tags) || json_array_size(tags) > 64)
			return lh_buf_adds(why, "\"tags\" must be an array of strings"), -EINVAL;
		json_array_foreach(tags, k, t)
			if (!json_is_string(t))
				return lh_buf_adds(why, "\"tags\" must be an array of strings"), -EINVAL;
	}
	return 0;
}

/* One object, an array of them, or objects one after another. */
static int parse_input(const char *buf, size_t len, json_t **items, struct lh_buf *why)
{
	size_t off = 0;
	int rc = 0;

	*items = json_array();
	while (off < len) {
		json_error_t err;
		json_t *v;
		size_t k;

		while (off < len && (buf[off] == ' ' || buf[off] == '\n' || buf[off] == '\t' ||
				     buf[off] == '\r'))
			off++;
		if (off == len)
			break;
		v = json_loadb(buf + off, len - off, JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &err);
		if (!v) {
			lh_buf_addf(why, "bad JSON at byte %zu: %s", off + (size_t)err.position, err.text);
			rc = -EINVAL;
			break;
		}
		off += (size_t)err.position;
		if (json_is_array(v)) {
			json_t *o;

			json_array_foreach(v, k, o)
				json_array_append(*items, o);
			json_decref(v);
		} else {
			json_array_append_new(*items, v);
		}
	}
	if (!rc && !json_array_size(*items)) {
		lh_buf_adds(why, "nothing to record");
		rc = -EINVAL;
	}
	if (rc) {
		json_decref(*items);
		*items = NULL;
	}
	return rc;
}

/* Check, anchor and record what was written; nothing is recorded if any is bad. */
static int record_written(struct shadows *sh, struct sfile *f)
{
	struct lh_fs *fs = sh->fs;
	struct lh_buf why = LH_BUF_INIT, payload = LH_BUF_INIT;
	struct lh_event *evs = NULL;
	struct lines l;
	char agent[FS_AGENT_MAX];
	char **owned = NULL;
	json_t *items, *o;
	size_t k, n, nowned = 0;
	int rc, have;

	if (!f->in.len)
		return 0;
	rc = parse_input(f->in.data, f->in.len, &items, &why);
	lh_buf_reset(&f->in);
	if (rc)
		goto out;
	json_array_foreach(items, k, o) {
		rc = check_one(o, &why);
		if (rc)
			goto out_items;
	}
	have = read_lines(sh, f->path, &l) == 0;
	ident_session_of_pid(f->who.pid, agent, sizeof(agent));
	n = json_array_size(items);
	evs = xcalloc(n, sizeof(*evs));
	owned = xcalloc(n * 5 + 1, sizeof(*owned));
	json_array_foreach(items, k, o) {
		struct lh_annotation a;
		long line = (long)json_integer_value(json_object_get(o, "line"));
		long end = json_object_get(o, "end_line") ?
			   (long)json_integer_value(json_object_get(o, "end_line")) : line;
		char *tags = json_object_get(o, "tags") ?
			     json_dumps(json_object_get(o, "tags"), JSON_COMPACT) : NULL;

		memset(&a, 0, sizeof(a));
		a.path = f->path;
		a.text = json_string_value(json_object_get(o, "text"));
		a.author = json_object_get(o, "author") ? json_string_value(json_object_get(o, "author")) :
			   agent;
		a.line = (int)line;
		a.end_line = (int)end;
		a.tags = tags;
		if (line > 0) {
			if (!have || (size_t)end > l.n) {
				lh_buf_addf(&why, "lines %ld-%ld are not in '%s'%s", line, end, f->path,
					    have ? "" : " (no such file, or too large)");
				free(tags);
				rc = -EINVAL;
				break;
			}
			a.anchor = owned[nowned++] = join_lines(&l, (size_t)line - 1, (size_t)end);
			a.before = owned[nowned++] = join_lines(&l, line - 1 > CONTEXT ? (size_t)line - 1 - CONTEXT : 0,
								(size_t)line - 1);
			a.after = owned[nowned++] = join_lines(&l, (size_t)end, (size_t)end + CONTEXT);
			if (!a.before[0])
				a.before = NULL;
			if (!a.after[0])
				a.after = NULL;
		}
		owned[nowned++] = tags;
		lh_buf_reset(&payload);
		rc = lh_event_annotation(&evs[k], &payload, &a);
		if (rc)
			break;
		/* the payload buffer is reused: keep a copy for the submission */
		evs[k].payload = owned[nowned++] = xmemdup(payload.data, payload.len + 1);
		evs[k].uid = f->who.uid;
		evs[k].gid = f->who.gid;
		evs[k].pid = f->who.pid;
		evs[k].agent = agent;
	}
	if (have)
		lines_free(&l);
	if (!rc)
		rc = lh_store_append(fs->store, evs, (int)n, NULL);
	for (k = 0; k < nowned; k++)
		free(owned[k]);
	free(owned);
	free(evs);
out_items:
	json_decref(items);
out:
	if (rc && why.len)
		lh_info("shadows/%s.json: annotation refused: %s", f->path, why.data);
	lh_buf_release(&why);
	lh_buf_release(&payload);
	return rc;
}

/* ---- operations -------------------------------------------------------------------------- */

/* Attributes: a folder's or NAME's, with NAME.json a regular file of no size. */
static int attr_of(struct shadows *sh, fuse_ino_t ino, const char *path, int json, struct stat *st)
{
	int rc = stat_beneath(sh, path, st);

	if (rc && json) {
		/* an orphaned file's annotations: the daemon's, read-only */
		memset(st, 0, sizeof(*st));
		st->st_mode = S_IFREG | 0444;
		st->st_uid = sh->fs->owner;
		st->st_gid = getgid();
		st->st_mtim.tv_sec = sh->fs->started_wall / 1000000000;
		rc = 0;
	} else if (rc) {
		return rc;
	} else if (json) {
		st->st_mode = S_IFREG | (st->st_mode & 0666);
	} else if (!S_ISDIR(st->st_mode)) {
		return -ENOTDIR;
	}
	st->st_ino = ino;
	st->st_nlink = json ? 1 : 2;
	if (json) {
		st->st_size = 0;
		st->st_blocks = 0;
	}
	return 0;
}

static void s_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct shadows *sh = sh_of(req);
	struct fuse_entry_param e;
	char dir[PATH_MAX], p[PATH_MAX];
	size_t len = strlen(name);
	struct stat st;
	struct snode *n;
	int json, rc = node_path(sh, parent, dir, sizeof(dir), &json);

	memset(&e, 0, sizeof(e));
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (join(p, sizeof(p), dir, name)) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	if (stat_beneath(sh, p, &st) == 0 && S_ISDIR(st.st_mode) &&
	    !current_hidden_path(sh->fs, dir, name)) {
		json = 0;
	} else if (len > 5 && !strcmp(name + len - 5, ".json")) {
		p[strlen(p) - 5] = '\0';
		rc = stat_beneath(sh, p, &st);
		if ((rc || !S_ISREG(st.st_mode)) && !has_annotations(sh, p)) {
			e.entry_timeout = ENTRY_TIMEOUT;
			fuse_reply_entry(req, &e);
			return;
		}
		json = 1;
	} else {
		e.entry_timeout = ENTRY_TIMEOUT;
		fuse_reply_entry(req, &e);
		return;
	}
	n = node_get(sh, p, json);
	e.ino = FS_INO(FS_KIND_SHADOW, n->id);
	e.generation = 1;
	rc = attr_of(sh, e.ino, p, json, &e.attr);
	if (rc) {
		node_forget(sh, n->id, 1);
		fuse_reply_err(req, -rc);
		return;
	}
	e.entry_timeout = ENTRY_TIMEOUT;
	if (fuse_reply_entry(req, &e))
		node_forget(sh, n->id, 1);
}

static void s_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	if (ino != FS_INO_SHADOWS)
		node_forget(sh_of(req), FS_INO_ID(ino), nlookup);
	fuse_reply_none(req);
}

static void s_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *v)
{
	size_t k;

	for (k = 0; k < count; k++)
		if (v[k].ino != FS_INO_SHADOWS)
			node_forget(sh_of(req), FS_INO_ID(v[k].ino), v[k].nlookup);
	fuse_reply_none(req);
}

static void s_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct shadows *sh = sh_of(req);
	char p[PATH_MAX];
	struct stat st;
	int json, rc = node_path(sh, ino, p, sizeof(p), &json);

	(void)fi;
	if (!rc)
		rc = attr_of(sh, ino, p, json, &st);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, 0);
}

static void s_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		      struct fuse_file_info *fi)
{
	struct shadows *sh = sh_of(req);
	char p[PATH_MAX];
	struct stat st;
	int json, rc = node_path(sh, ino, p, sizeof(p), &json);

	(void)fi;
	/* `>` truncates: annotations are only ever added, so that is nothing */
	if (!rc && (!json || (to_set & FUSE_SET_ATTR_SIZE && attr->st_size) ||
		    (to_set & ~(FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
				FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_CTIME))))
		rc = -EPERM;
	if (!rc)
		rc = attr_of(sh, ino, p, json, &st);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, 0);
}

/* Reading annotations shows lines of the file: the policy's read rule for it applies. */
static int may_read(struct shadows *sh, fuse_req_t req, const char *path)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct fs_ident id;
	struct lh_verdict v;
	char abs[PATH_MAX + 8];

	snprintf(abs, sizeof(abs), "%s/%s", sh->fs->project, path);
	ident_of_uid(ctx->uid, &id);
	lh_validator_judge_file(sh->fs->validator, LH_FILE_READ, abs, id.home,
				id.user[0] ? id.user : NULL, &v);
	return v.decision == LH_DENY ? -EACCES : 0;
}

static void open_json(fuse_req_t req, const char *path, struct fuse_file_info *fi,
		      struct fuse_entry_param *e)
{
	struct shadows *sh = sh_of(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct sfile *f;
	int rc = may_read(sh, req, path);

	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	f = xcalloc(1, sizeof(*f));
	lh_buf_init(&f->text, 0);
	lh_buf_init(&f->in, WRITE_MAX);
	f->path = xstrdup(path);
	f->who.uid = ctx->uid;
	f->who.gid = ctx->gid;
	f->who.pid = ctx->pid;
	f->writer = (fi->flags & O_ACCMODE) != O_RDONLY;
	if (!f->writer)
		render(sh, path, &f->text);
	fs_open_add(&f->link, sfile_free);
	fi->fh = (uint64_t)(uintptr_t)f;
	fi->direct_io = 1;
	fi->noflush = !f->writer;	/* a writer's close records: it must wait for it */
	if (e ? fuse_reply_create(req, e, fi) : fuse_reply_open(req, fi))
		sfile_free(&f->link);
}

static void s_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct shadows *sh = sh_of(req);
	char p[PATH_MAX];
	int json, rc = node_path(sh, ino, p, sizeof(p), &json);

	if (!rc && !json)
		rc = -EISDIR;
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	open_json(req, p, fi, NULL);
}

static void s_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     struct fuse_file_info *fi)
{
	struct shadows *sh = sh_of(req);
	struct fuse_entry_param e;
	char dir[PATH_MAX], p[PATH_MAX];
	size_t len = strlen(name);
	struct stat st;
	struct snode *n;
	int json, rc = node_path(sh, parent, dir, sizeof(dir), &json);

	(void)mode;
	if (!rc && (len <= 5 || strcmp(name + len - 5, ".json")))
		rc = -EACCES;	/* nothing but NAME.json lives here */
	if (!rc)
		rc = join(p, sizeof(p), dir, name);
	if (!rc) {
		p[strlen(p) - 5] = '\0';
		if (stat_beneath(sh, p, &st) || !S_ISREG(st.st_mode))
			rc = -ENOENT;	/* no such file of current/ to annotate */
	}
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	n = node_get(sh, p, 1);
	memset(&e, 0, sizeof(e));
	e.ino = FS_INO(FS_KIND_SHADOW, n->id);
	e.generation = 1;
	e.entry_timeout = ENTRY_TIMEOUT;
	attr_of(sh, e.ino, p, 1, &e.attr);
	open_json(req, p, fi, &e);
}

static void s_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	struct sfile *f = (struct sfile *)(uintptr_t)fi->fh;
	size_t n;
	char *copy;

	(void)ino;
	if (off < 0 || (size_t)off >= f->text.len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	/*
	 * Reply from a copy: once the kernel has the reply, the reader may
	 * close and RELEASE free the text on another thread while this one
	 * is still returning from writev (ASan checks the buffer then).
	 */
	n = f->text.len - (size_t)off < size ? f->text.len - (size_t)off : size;
	copy = xmalloc(n);
	memcpy(copy, f->text.data + off, n);
	fuse_reply_buf(req, copy, n);
	free(copy);
}

static void s_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct sfile *f = (struct sfile *)(uintptr_t)fi->fh;

	(void)ino;
	(void)off;
	if (lh_buf_add(&f->in, buf, size)) {
		fuse_reply_err(req, EFBIG);
		return;
	}
	fuse_reply_write(req, size);
}

static void s_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct sfile *f = (struct sfile *)(uintptr_t)fi->fh;

	(void)ino;
	fuse_reply_err(req, f->writer ? -record_written(sh_of(req), f) : 0);
}

static void s_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct sfile *f = (struct sfile *)(uintptr_t)fi->fh;

	(void)ino;
	if (f->writer)
		record_written(sh_of(req), f);	/* what no flush took; nobody to tell */
	sfile_free(&f->link);
	fuse_reply_err(req, 0);
}

/* An open folder: its entries, made at opendir. */
static void s_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct shadows *sh = sh_of(req);
	char p[PATH_MAX], under[PATH_MAX + 1];
	struct dirsnap *d;
	struct lh_event_filter flt;
	struct collect c;
	DIR *dp;
	struct dirent *de;
	int json, fd, rc = node_path(sh, ino, p, sizeof(p), &json);

	if (!rc && json)
		rc = -ENOTDIR;
	fd = rc ? rc : open_beneath(sh, p, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	dp = fdopendir(fd);
	if (!dp) {
		close(fd);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	d = xcalloc(1, sizeof(*d));
	dirsnap_add(d, ".", 1, ino, S_IFDIR);
	dirsnap_add(d, "..", 2, FS_INO_ROOT, S_IFDIR);
	while ((de = readdir(dp)))
		if (de->d_type == DT_DIR && strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    !current_hidden_path(sh->fs, p, de->d_name))
			dirsnap_add(d, de->d_name, strlen(de->d_name), FS_INO(FS_KIND_SHADOW, 0) | 1,
				    S_IFDIR);
	closedir(dp);
	/* the annotated files here */
	snprintf(under, sizeof(under), "%s%s", p, p[0] ? "/" : "");
	memset(&flt, 0, sizeof(flt));
	flt.types = "annotation";
	flt.path = under[0] ? under : NULL;
	c.list = NULL;
	c.under = under;
	lh_buf_init(&c.names, 0);
	if (under[0]) {
		reader_each(sh, &flt, take_name, &c);
	} else {
		/* the top: every annotation's path that has no folder */
		struct lh_event_filter all = flt;

		all.path = NULL;
		reader_each(sh, &all, take_name, &c);
	}
	{
		const char *q = c.names.data;

		while (q < c.names.data + c.names.len) {
			struct lh_buf name = LH_BUF_INIT;
			size_t k, dup = 0;

			lh_buf_addf(&name, "%s.json", q);
			for (k = 0; k < d->n; k++)
				if (!strcmp(d->v[k].name, name.data))
					dup = 1;
			if (!dup)
				dirsnap_add(d, name.data, name.len, FS_INO(FS_KIND_SHADOW, 0) | 2, S_IFREG);
			lh_buf_release(&name);
			q += strlen(q) + 1;
		}
	}
	lh_buf_release(&c.names);
	fi->fh = (uint64_t)(uintptr_t)d;
	if (fuse_reply_open(req, fi))
		dirsnap_release(d);
}

static void s_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	(void)ino;
	dirsnap_reply(req, (struct dirsnap *)(uintptr_t)fi->fh, size, off, 0);
}

static void s_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			  struct fuse_file_info *fi)
{
	(void)ino;
	dirsnap_reply(req, (struct dirsnap *)(uintptr_t)fi->fh, size, off, 1);
}

static void s_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	dirsnap_release((struct dirsnap *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void s_refuse(fuse_req_t req)
{
	fuse_reply_err(req, EPERM);
}

static void s_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	(void)parent;
	(void)name;
	(void)mode;
	(void)rdev;
	s_refuse(req);
}

static void s_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	(void)parent;
	(void)name;
	(void)mode;
	s_refuse(req);
}

static void s_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)parent;
	(void)name;
	s_refuse(req);
}

static void s_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	(void)link;
	(void)parent;
	(void)name;
	s_refuse(req);
}

static void s_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		     const char *newname, unsigned int flags)
{
	(void)parent;
	(void)name;
	(void)newparent;
	(void)newname;
	(void)flags;
	s_refuse(req);
}

static void s_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	(void)ino;
	(void)newparent;
	(void)newname;
	s_refuse(req);
}

static void s_readlink(fuse_req_t req, fuse_ino_t ino)
{
	(void)ino;
	fuse_reply_err(req, EINVAL);
}

static void s_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	(void)ino;
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = sv.f_frsize = 4096;
	sv.f_namemax = 255;
	fuse_reply_statfs(req, &sv);
}

static void s_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void s_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	(void)ino;
	(void)name;
	(void)size;
	fuse_reply_err(req, ENODATA);
}

static void s_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	(void)ino;
	if (size)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_xattr(req, 0);
}

static void s_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
		       size_t size, int flags)
{
	(void)ino;
	(void)name;
	(void)value;
	(void)size;
	(void)flags;
	fuse_reply_err(req, ENOTSUP);
}

static void s_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	(void)ino;
	(void)name;
	fuse_reply_err(req, ENOTSUP);
}

const struct fuse_lowlevel_ops shadows_ops = {
	.lookup = s_lookup,
	.forget = s_forget,
	.forget_multi = s_forget_multi,
	.getattr = s_getattr,
	.setattr = s_setattr,
	.readlink = s_readlink,
	.mknod = s_mknod,
	.mkdir = s_mkdir,
	.unlink = s_unlink,
	.rmdir = s_unlink,
	.symlink = s_symlink,
	.rename = s_rename,
	.link = s_link,
	.open = s_open,
	.read = s_read,
	.write = s_write,
	.flush = s_flush,
	.release = s_release,
	.fsync = s_fsync,
	.opendir = s_opendir,
	.readdir = s_readdir,
	.releasedir = s_releasedir,
	.fsyncdir = s_fsync,
	.statfs = s_statfs,
	.setxattr = s_setxattr,
	.getxattr = s_getxattr,
	.listxattr = s_listxattr,
	.removexattr = s_removexattr,
	.create = s_create,
	.readdirplus = s_readdirplus,
};

void shadows_forget(struct lh_fs *fs, fuse_ino_t ino, uint64_t nlookup)
{
	if (ino != FS_INO_SHADOWS)
		node_forget(fs->shadows, FS_INO_ID(ino), nlookup);
}

int shadows_new(struct lh_fs *fs, struct lh_buf *err)
{
	struct shadows *sh = xcalloc(1, sizeof(*sh));

	sh->fs = fs;
	sh->root = open(fs->project, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (sh->root < 0) {
		lh_buf_addf(err, "shadows/: project '%s': %s", fs->project, strerror(errno));
		free(sh);
		return -errno;
	}
	pthread_mutex_init(&sh->mu, NULL);
	fs->shadows = sh;
	return 0;
}

void shadows_free(struct lh_fs *fs)
{
	struct shadows *sh = fs->shadows;
	size_t b;

	if (!sh)
		return;
	for (b = 0; b < NBUCKETS; b++)
		while (sh->table[b]) {
			struct snode *n = sh->table[b];

			sh->table[b] = n->next;
			free(n->path);
			free(n);
		}
	if (sh->reader)
		lh_store_reader_close(sh->reader);
	close(sh->root);
	pthread_mutex_destroy(&sh->mu);
	free(sh);
	fs->shadows = NULL;
}

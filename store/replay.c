/*
 * replay.c -- the project tree after any event: file events applied in
 * order (replay.h says how each applies).
 *
 * A tree is nodes with sorted children (binary search by name, insertion
 * by memmove): a listing is in name order at no cost, a lookup is a
 * binary search per path component, and a directory of 100 000 entries
 * costs one array of pointers. lh_tree_index numbers the nodes of a
 * finished tree so that a reader (history/ in lighthoused) can name any
 * node by a small integer.
 *
 * Replaying reads the file.* events up to a sequence number through a
 * reader, one row at a time, and applies each: the memory is the tree,
 * never the events. Payloads are parsed with Jansson (kind, size, mode,
 * target, from, mtime; the content is the row's blob).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "store/replay.h"
#include "store/store.h"
#include "common/banned.h"

static struct lh_tree_node *node_new(const char *name, size_t len, struct lh_tree_node *parent)
{
	struct lh_tree_node *n = xcalloc(1, sizeof(*n));

	n->name = xstrndup(name, len);
	n->parent = parent;
	n->kind = LH_TREE_DIR;
	n->mode = 0755;
	n->size = -1;
	return n;
}

static void node_free(struct lh_tree_node *n)
{
	size_t k;

	for (k = 0; k < n->nkids; k++)
		node_free(n->kids[k]);
	free(n->kids);
	free(n->name);
	free(n->target);
	free(n);
}

struct lh_tree *lh_tree_new(void)
{
	struct lh_tree *t = xcalloc(1, sizeof(*t));

	t->root = node_new("", 0, NULL);
	return t;
}

void lh_tree_free(struct lh_tree *t)
{
	if (!t)
		return;
	node_free(t->root);
	free(t->by_index);
	free(t);
}

static struct lh_tree_node *node_clone(const struct lh_tree_node *n, struct lh_tree_node *parent)
{
	struct lh_tree_node *c = xmalloc(sizeof(*c));
	size_t k;

	*c = *n;
	c->name = xstrdup(n->name);
	c->target = n->target ? xstrdup(n->target) : NULL;
	c->parent = parent;
	c->cap = n->nkids;
	c->kids = n->nkids ? xmalloc(n->nkids * sizeof(*c->kids)) : NULL;
	for (k = 0; k < n->nkids; k++)
		c->kids[k] = node_clone(n->kids[k], c);
	return c;
}

struct lh_tree *lh_tree_clone(const struct lh_tree *t)
{
	struct lh_tree *c = xcalloc(1, sizeof(*c));

	c->root = node_clone(t->root, NULL);
	c->seq = t->seq;
	c->time_ns = t->time_ns;
	c->nodes = t->nodes;
	return c;
}

/* Where name is, or would go, among dir's children. */
static size_t find_slot(const struct lh_tree_node *dir, const char *name, size_t len, int *found)
{
	size_t lo = 0, hi = dir->nkids;

	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *kn = dir->kids[mid]->name;
		int c = strncmp(kn, name, len);

		if (!c)
			c = kn[len] ? 1 : 0;
		if (!c) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct lh_tree_node *lh_tree_child(const struct lh_tree_node *dir, const char *name)
{
	int found;
	size_t k = find_slot(dir, name, strlen(name), &found);

	return found ? dir->kids[k] : NULL;
}

static void insert_kid(struct lh_tree_node *dir, size_t at, struct lh_tree_node *n)
{
	if (dir->nkids == dir->cap) {
		dir->cap = dir->cap ? dir->cap * 2 : 4;
		dir->kids = xrealloc(dir->kids, dir->cap * sizeof(*dir->kids));
	}
	memmove(dir->kids + at + 1, dir->kids + at, (dir->nkids - at) * sizeof(*dir->kids));
	dir->kids[at] = n;
	dir->nkids++;
	n->parent = dir;
}

static void remove_kid(struct lh_tree_node *dir, size_t at)
{
	memmove(dir->kids + at, dir->kids + at + 1, (dir->nkids - at - 1) * sizeof(*dir->kids));
	dir->nkids--;
}

static size_t count(const struct lh_tree_node *n)
{
	size_t k, c = 1;

	for (k = 0; k < n->nkids; k++)
		c += count(n->kids[k]);
	return c;
}

/* The next component of *p (advanced past it and its slashes); 0 at the end. */
static size_t component(const char **p)
{
	const char *s = *p;
	size_t n;

	while (*s == '/')
		s++;
	n = strcspn(s, "/");
	*p = s;
	return n;
}

/*
 * Walk to path; with create, missing folders appear on the way and the
 * last component too (as a folder, until the caller sets its state).
 * *parent and *slot tell where the last component is or would go.
 */
static struct lh_tree_node *walk(struct lh_tree *t, const char *path, int create,
				 struct lh_tree_node **parent, size_t *slot)
{
	struct lh_tree_node *dir = t->root;
	const char *p = path;
	size_t n;

	*parent = NULL;
	while ((n = component(&p)) > 0) {
		int found;
		size_t k;

		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
			p += n;
			continue;	/* never in a recorded path; ignored rather than obeyed */
		}
		k = find_slot(dir, p, n, &found);
		*parent = dir;
		*slot = k;
		if (!found) {
			struct lh_tree_node *c;

			if (!create)
				return NULL;
			c = node_new(p, n, dir);
			insert_kid(dir, k, c);
			t->nodes++;
		}
		dir = dir->kids[k];
		p += n;
		if (*p && dir->kind != LH_TREE_DIR) {
			if (!create)
				return NULL;
			/* a file where a folder must be: the events say it is a folder now */
			dir->kind = LH_TREE_DIR;
			dir->has_blob = 0;
		}
	}
	return dir;
}

struct lh_tree_node *lh_tree_lookup(const struct lh_tree *t, const char *path)
{
	struct lh_tree_node *parent;
	size_t slot;

	return walk((struct lh_tree *)t, path, 0, &parent, &slot);
}

static void set_state(struct lh_tree_node *n, const struct lh_tree_change *c)
{
	n->kind = c->kind ? c->kind : LH_TREE_FILE;
	if (c->mode >= 0)
		n->mode = (unsigned)c->mode & 07777;
	n->size = c->size;
	n->has_blob = c->blob != NULL;
	if (c->blob)
		memcpy(n->blob, c->blob, 16);
	free(n->target);
	n->target = c->target ? xstrdup(c->target) : NULL;
	n->mtime_ns = c->mtime_ns;
	n->seq = c->seq;
	n->time_ns = c->time_ns;
	if (n->kind != LH_TREE_DIR) {
		size_t k;

		/* a file or a link holds nothing below it */
		for (k = 0; k < n->nkids; k++)
			node_free(n->kids[k]);
		n->nkids = 0;
	}
}

/* Take the node at path out of the tree (not freed). */
static struct lh_tree_node *detach(struct lh_tree *t, const char *path)
{
	struct lh_tree_node *parent, *n;
	size_t slot;

	n = walk(t, path, 0, &parent, &slot);
	if (!n || !parent)
		return NULL;
	remove_kid(parent, slot);
	t->nodes -= count(n);
	return n;
}

int lh_tree_apply(struct lh_tree *t, const struct lh_tree_change *c)
{
	struct lh_tree_node *n, *parent, *moved = NULL;
	size_t slot;

	if (!c->type || strncmp(c->type, "file.", 5) || !c->path || !c->path[0])
		return -EINVAL;
	t->seq = c->seq;
	t->time_ns = c->time_ns;
	if (!strcmp(c->type, "file.denied"))
		return 0;
	if (!strcmp(c->type, "file.deleted")) {
		n = detach(t, c->path);
		if (n)
			node_free(n);
		return 0;
	}
	if (!strcmp(c->type, "file.renamed") && c->from && strcmp(c->from, c->path))
		moved = detach(t, c->from);
	n = walk(t, c->path, 0, &parent, &slot);
	if (moved) {
		/* what is at path is replaced by what moved there, with all below it */
		if (n) {
			remove_kid(parent, slot);
			t->nodes -= count(n);
			node_free(n);
		}
		n = walk(t, c->path, 1, &parent, &slot);
		if (!n || !parent) {
			node_free(moved);
			return -EINVAL;
		}
		free(moved->name);
		moved->name = n->name;
		n->name = NULL;
		parent->kids[slot] = moved;
		moved->parent = parent;
		t->nodes += count(moved) - 1;
		free(n->target);
		free(n->kids);
		free(n);
		n = moved;
	} else if (!n) {
		n = walk(t, c->path, 1, &parent, &slot);
		if (!n)
			return -EINVAL;
	}
	set_state(n, c);
	return 0;
}

static void index_node(struct lh_tree *t, struct lh_tree_node *n)
{
	size_t k;

	n->index = (uint32_t)t->nindex;
	t->by_index[t->nindex++] = n;
	for (k = 0; k < n->nkids; k++)
		index_node(t, n->kids[k]);
}

void lh_tree_index(struct lh_tree *t)
{
	free(t->by_index);
	t->by_index = xmalloc((count(t->root)) * sizeof(*t->by_index));
	t->nindex = 0;
	index_node(t, t->root);
}

int lh_tree_path(const struct lh_tree_node *n, struct lh_buf *out)
{
	const struct lh_tree_node *v[256];
	int k = 0, rc = 0;

	for (; n && n->parent && k < 256; n = n->parent)
		v[k++] = n;
	if (n && n->parent)
		return -ENAMETOOLONG;
	while (k-- > 0) {
		rc = lh_buf_adds(out, v[k]->name);
		if (!rc && k)
			rc = lh_buf_addc(out, '/');
		if (rc)
			break;
	}
	return rc;
}

int lh_tree_walk(const struct lh_tree_node *dir, int (*fn)(void *arg, const struct lh_tree_node *n),
		 void *arg)
{
	size_t k;
	int rc;

	for (k = 0; k < dir->nkids; k++) {
		rc = fn(arg, dir->kids[k]);
		if (!rc && dir->kids[k]->nkids)
			rc = lh_tree_walk(dir->kids[k], fn, arg);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- from the store ---------------------------------------------------------- */

int lh_tree_change_of_row(const struct lh_event_row *row, struct lh_tree_change *c,
			  struct lh_buf *scratch)
{
	json_t *j, *v;
	json_error_t jerr;
	const char *kind;

	memset(c, 0, sizeof(*c));
	c->type = row->type;
	c->path = row->path;
	c->seq = row->seq;
	c->time_ns = row->time_ns;
	c->mode = -1;
	c->size = -1;
	c->blob = row->blob ? row->blob->b : NULL;
	c->kind = LH_TREE_FILE;
	j = json_loads(row->payload ? row->payload : "{}", 0, &jerr);
	if (!j)
		return -EINVAL;
	kind = json_string_value(json_object_get(j, "kind"));
	if (kind && !strcmp(kind, "dir"))
		c->kind = LH_TREE_DIR;
	else if (kind && !strcmp(kind, "symlink"))
		c->kind = LH_TREE_LINK;
	v = json_object_get(j, "size");
	if (json_is_integer(v))
		c->size = json_integer_value(v);
	v = json_object_get(j, "mode");
	if (json_is_string(v))
		c->mode = (int)strtol(json_string_value(v), NULL, 8);
	v = json_object_get(j, "mtime");
	if (json_is_integer(v))
		c->mtime_ns = json_integer_value(v);
	/* the strings outlive the JSON in scratch: "from\0target\0" */
	lh_buf_reset(scratch);
	v = json_object_get(j, "from");
	lh_buf_adds(scratch, json_is_string(v) ? json_string_value(v) : "");
	lh_buf_addc(scratch, '\0');
	{
		size_t at = scratch->len;

		v = json_object_get(j, "target");
		lh_buf_adds(scratch, json_is_string(v) ? json_string_value(v) : "");
		c->from = scratch->data[0] ? scratch->data : NULL;
		c->target = scratch->data[at] ? scratch->data + at : NULL;
	}
	json_decref(j);
	return 0;
}

struct replay_ctx {
	struct lh_tree *t;
	struct lh_buf scratch;
	int rc;
};

static int replay_row(void *arg, const struct lh_event_row *row)
{
	struct replay_ctx *x = arg;
	struct lh_tree_change c;

	if (!row->path || strncmp(row->type, "file.", 5))
		return 0;
	if (lh_tree_change_of_row(row, &c, &x->scratch))
		return 0;	/* a payload we cannot read changes nothing */
	lh_tree_apply(x->t, &c);
	return 0;
}

int lh_tree_replay(struct lh_store_reader *r, int64_t until_seq, struct lh_tree **out,
		   struct lh_buf *err)
{
	struct replay_ctx x;
	struct lh_event_filter f;
	int rc;

	memset(&f, 0, sizeof(f));
	f.types = "file.*";
	f.until_seq = until_seq;
	x.t = lh_tree_new();
	lh_buf_init(&x.scratch, 0);
	x.rc = 0;
	rc = lh_store_reader_each(r, &f, replay_row, &x, err);
	lh_buf_release(&x.scratch);
	if (rc) {
		lh_tree_free(x.t);
		return rc;
	}
	if (until_seq > x.t->seq)
		x.t->seq = until_seq;
	*out = x.t;
	return 0;
}

struct newest {
	int64_t seq;
};

static int take_seq(void *arg, const struct lh_event_row *row)
{
	((struct newest *)arg)->seq = row->seq;
	return 1;
}

int lh_store_seq_at(struct lh_store_reader *r, int64_t time_ns, int64_t *seq, struct lh_buf *err)
{
	struct lh_event_filter f;
	struct newest n = { 0 };
	int rc;

	memset(&f, 0, sizeof(f));
	f.until_ns = time_ns > 0 ? time_ns : 1;
	f.newest_first = 1;
	f.limit = 1;
	rc = lh_store_reader_each(r, &f, take_seq, &n, err);
	*seq = n.seq;
	return rc < 0 ? rc : 0;
}

int lh_store_file_seq_at(struct lh_store_reader *r, int64_t seq, int64_t *file_seq,
			 struct lh_buf *err)
{
	struct lh_event_filter f;
	struct newest n = { 0 };
	int rc;

	memset(&f, 0, sizeof(f));
	f.types = "file.*";
	f.until_seq = seq;
	f.newest_first = 1;
	f.limit = 1;
	rc = lh_store_reader_each(r, &f, take_seq, &n, err);
	*file_seq = n.seq;
	return rc < 0 ? rc : 0;
}

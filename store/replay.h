/*
 * replay.h -- the project tree as file events left it: replaying the
 * file.* events of the store in order rebuilds the tree after any event
 * (history/ of lighthoused, `lighthousectl replay`), and the same tree,
 * kept up to date, is the recorder's memory of the project.
 *
 * A tree is paths and their states: kind, permission bits, size, content
 * (a blob id) or link target, and the event that set them. Applying an
 * event (lh_tree_apply):
 *
 *   file.created, file.modified, file.mode   the path gets the state the
 *                                            event carries; missing parent
 *                                            folders appear
 *   file.deleted                             the path goes, with all below it
 *   file.renamed (path, from)                what was at `from` moves to
 *                                            path, all below it too, and
 *                                            path gets the state
 *
 * A renamed or deleted folder's contents may have events of their own in
 * the same batch (the recorder writes one per path, so that the newest
 * event of every path is its state, as vacuum needs): applied after the
 * folder's, they find the tree already as they say, and change nothing.
 *
 * Thread safety: none inside; a tree is built by one thread and then
 * read by many (history/ shares immutable trees), or guarded by its
 * owner.
 */
#ifndef LH_REPLAY_H
#define LH_REPLAY_H

#include <stddef.h>
#include <stdint.h>

struct lh_buf;

enum lh_tree_kind { LH_TREE_FILE = 'f', LH_TREE_DIR = 'd', LH_TREE_LINK = 'l' };

struct lh_tree_node {
	char *name;			/* "" for the root */
	struct lh_tree_node *parent;
	struct lh_tree_node **kids;	/* sorted by name (strcmp) */
	size_t nkids, cap;
	char kind;			/* enum lh_tree_kind */
	unsigned mode;			/* permission bits */
	int64_t size;			/* bytes; -1 unknown */
	unsigned char blob[16];		/* content id (files) */
	int has_blob;
	char *target;			/* symbolic link target, or NULL */
	int64_t mtime_ns;		/* modification time (0: unknown) */
	int64_t seq;			/* the event that set this state (0: implied) */
	int64_t time_ns;		/* ... and its time */
	uint32_t index;			/* position in the tree's index (lh_tree_index) */
};

struct lh_tree {
	struct lh_tree_node *root;
	int64_t seq;			/* the last event applied */
	int64_t time_ns;		/* ... and its time */
	size_t nodes;			/* nodes below the root */
	struct lh_tree_node **by_index;	/* lh_tree_index: every node, root first */
	size_t nindex;
};

/* One file event, parsed. Strings are borrowed for the call. */
struct lh_tree_change {
	const char *type;		/* "file.created", ... */
	const char *path;		/* relative to the project */
	const char *from;		/* file.renamed */
	char kind;			/* enum lh_tree_kind (0: file) */
	int mode;			/* -1 unknown */
	int64_t size;			/* -1 unknown */
	const unsigned char *blob;	/* 16 bytes, or NULL */
	const char *target;
	int64_t mtime_ns;		/* 0 unknown */
	int64_t seq;
	int64_t time_ns;
};

struct lh_tree *lh_tree_new(void);
void lh_tree_free(struct lh_tree *t);
/* A deep copy (the index is not copied). */
struct lh_tree *lh_tree_clone(const struct lh_tree *t);
/* Apply one event; 0, or -EINVAL for an event that is not a file event. */
int lh_tree_apply(struct lh_tree *t, const struct lh_tree_change *c);
/* The node at path ("" or "." for the root), or NULL. */
struct lh_tree_node *lh_tree_lookup(const struct lh_tree *t, const char *path);
/* The child of dir called name, or NULL. */
struct lh_tree_node *lh_tree_child(const struct lh_tree_node *dir, const char *name);
/* Number the nodes (depth first, the root 0) for by_index; a tree is frozen after. */
void lh_tree_index(struct lh_tree *t);
/* The path of a node, relative to the root ("" for the root). */
int lh_tree_path(const struct lh_tree_node *n, struct lh_buf *out);
/* Call fn for every node below dir, parents before children; stops on non-zero. */
int lh_tree_walk(const struct lh_tree_node *dir, int (*fn)(void *arg, const struct lh_tree_node *n),
		 void *arg);

/* ---- from the store ------------------------------------------------------- */

struct lh_store_reader;
struct lh_event_row;

/* Parse a file.* event row; strings point into the row and into *scratch. */
int lh_tree_change_of_row(const struct lh_event_row *row, struct lh_tree_change *c,
			  struct lh_buf *scratch);
/* The tree after event until_seq (0: after the newest), replayed from the store. */
int lh_tree_replay(struct lh_store_reader *r, int64_t until_seq, struct lh_tree **out,
		   struct lh_buf *err);
/* The newest event at or before time_ns: its seq, or 0 when there is none. */
int lh_store_seq_at(struct lh_store_reader *r, int64_t time_ns, int64_t *seq, struct lh_buf *err);
/* The newest file event at or before seq (0: none). */
int lh_store_file_seq_at(struct lh_store_reader *r, int64_t seq, int64_t *file_seq,
			 struct lh_buf *err);

#endif

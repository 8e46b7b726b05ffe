/*
 * path.h -- resolving command arguments to the paths they name, and
 * matching them against the policy's path patterns.
 *
 * Resolution is lexical, as an agent's shell would see the words: `~` and
 * `~user` expand, relative words are taken against the request's cwd, and
 * `.`, `..` and repeated slashes are folded. Symlinks are not followed (the
 * paths may not exist yet, or may be on another machine). Glob characters
 * stay in the result: `/`+`*` is a path that names everything under `/`.
 *
 * Patterns (lighthouse-policy(5)) are globs: `*` and `?` within one path
 * segment, `**` across segments, `[...]` classes; a leading `~` is the
 * caller's home; a pattern without a slash matches the last segment (as in
 * gitignore). When the path itself holds glob characters the match asks
 * whether both could name a common file, so `cat ~/.ssh/<star>` touches the
 * pattern `~/.ssh/id_*`.
 */
#ifndef LH_PATH_H
#define LH_PATH_H

#include <stddef.h>
#include <stdint.h>

struct lh_arena;

/*
 * Resolve `word` to an absolute, lexically normalized path, allocated in
 * the arena. NULL when the arena is exhausted.
 */
char *lh_path_resolve(struct lh_arena *a, const char *word, const char *cwd,
		      const char *home);

/* Is `path` equal to `dir` or below it? Both absolute and normalized. */
int lh_path_within(const char *path, const char *dir);

/* Does the glob `pattern` match `path` (see above)? */
int lh_path_match(const char *pattern, const char *path, const char *home);

/*
 * The same, for many patterns against one path: each pattern prepared
 * once (when the policy is compiled), the path once per test. The
 * structures point into the strings they were made from.
 */
struct lh_pathpat {
	const char *pat;	/* the pattern, without a leading ~ */
	size_t len;
	size_t head, tail;	/* literal bytes before the first and after the last wildcard */
	/*
	 * Up to 8 bytes of the literal head and of the literal tail, as
	 * words with the bytes that count under the masks (0: none): a path
	 * whose words differ cannot match (see lh_path_cannot_match).
	 */
	uint64_t h8, h8m, t8, t8m;
	unsigned home : 1;	/* began with ~: under the caller's home */
	unsigned base : 1;	/* no slash: matches the last segment */
};

struct lh_pathtext {
	const char *path;
	size_t len;
	const char *base;	/* last segment */
	size_t blen;
	size_t hlen;		/* length of the home prefix, when home_ok */
	/* the first 8 bytes of the path, of what follows the home, of the last segment; the last 8 */
	uint64_t h8_path, h8_home, h8_base, t8;
	uint16_t key[4];	/* by LH_PATHKEY_* kind: the byte a pattern's key must equal */
	unsigned glob : 1;	/* the path holds wildcards */
	unsigned all_wild_base : 1;
	unsigned home_ok : 1;	/* the path is the home folder or below it */
};

void lh_pathpat_init(struct lh_pathpat *pp, const char *pattern);

/*
 * A pattern's key: its kind (absolute, under the home, last segment) and
 * the one literal byte a path must have for it to match, the second of
 * an absolute or home pattern (the first is always /) or the first of a
 * last-segment one; LH_PATHKEY_ANY when the pattern has no such byte.
 * A path without wildcards whose key of that kind (lh_pathtext.key)
 * differs cannot match. Kept apart from the prepared patterns, two bytes
 * each, they let a class skip most of its patterns without touching them.
 */
enum { LH_PATHKEY_ABS = 1, LH_PATHKEY_HOME = 2, LH_PATHKEY_BASE = 3 };
#define LH_PATHKEY_ANY 0xffff
uint16_t lh_pathpat_key(const struct lh_pathpat *pp);

/* 1 when a pattern of that key certainly does not match the path. */
static inline int lh_path_key_differs(uint16_t key, const struct lh_pathtext *pt)
{
	return !pt->glob && key != LH_PATHKEY_ANY && key != pt->key[key >> 8];
}
void lh_pathtext_init(struct lh_pathtext *pt, const char *path, const char *home);
int lh_path_match_pp(const struct lh_pathpat *pp, const struct lh_pathtext *pt);

/*
 * A quick no: 1 when the pattern certainly does not match the path (the
 * path holds no wildcards, and its first or last bytes are not the
 * pattern's literal ones), 0 when lh_path_match_pp must tell. Most of a
 * policy's patterns fail here, a few instructions each, which is what
 * makes a class of a hundred patterns cheap to test a new file name
 * against. Words are compared whole, so a path shorter than a literal end
 * differs in the padding (a pattern holds no NUL).
 */
static inline int lh_path_cannot_match(const struct lh_pathpat *pp, const struct lh_pathtext *pt)
{
	uint64_t first;

	if (pt->glob)
		return 0;
	if (pp->home) {
		if (!pt->home_ok)
			return 1;
		first = pt->h8_home;
	} else {
		first = pp->base ? pt->h8_base : pt->h8_path;
	}
	return (first & pp->h8m) != pp->h8 || (pt->t8 & pp->t8m) != pp->t8;
}

/* Does the word contain unquoted-glob characters (* ? [)? */
int lh_path_has_glob(const char *s);

#endif

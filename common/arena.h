/*
 * arena.h -- a bump allocator for work whose pieces all die together.
 *
 * Judging one request allocates many small strings (words, argv arrays,
 * resolved paths); they all live until the verdict is made and are freed at
 * once with lh_arena_clear, which keeps the first block for reuse so that a
 * thread judging request after request does not call malloc at all in the
 * steady state. The arena has a byte bound: parsing input sized by an agent
 * must fail cleanly (NULL from lh_arena_alloc), never exhaust memory.
 */
#ifndef LH_ARENA_H
#define LH_ARENA_H

#include <stddef.h>

struct lh_arena_block;

struct lh_arena {
	struct lh_arena_block *head;	/* current block; older ones chained behind */
	size_t used;			/* bytes handed out, all blocks */
	size_t limit;			/* bound on used; 0 means none */
};

void lh_arena_init(struct lh_arena *a, size_t limit);
void lh_arena_clear(struct lh_arena *a);	/* free all but the first block */
void lh_arena_release(struct lh_arena *a);	/* free everything */

/* NULL when the arena's limit would be passed. */
void *lh_arena_alloc(struct lh_arena *a, size_t n);
char *lh_arena_strndup(struct lh_arena *a, const char *s, size_t n);

#endif

/*
 * arena.c -- bump allocator (see arena.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/xalloc.h"
#include "common/banned.h"

#define BLOCK_MIN 16384

struct lh_arena_block {
	struct lh_arena_block *next;	/* older block */
	size_t size;			/* bytes in data[] */
	size_t off;			/* next free byte in data[] */
	_Alignas(max_align_t) unsigned char data[];
};

void lh_arena_init(struct lh_arena *a, size_t limit)
{
	a->head = NULL;
	a->used = 0;
	a->limit = limit;
}

void lh_arena_clear(struct lh_arena *a)
{
	struct lh_arena_block *b = a->head;

	if (!b)
		return;
	while (b->next) {
		struct lh_arena_block *next = b->next;

		free(b);
		b = next;
	}
	b->off = 0;
	a->head = b;
	a->used = 0;
}

void lh_arena_release(struct lh_arena *a)
{
	lh_arena_clear(a);
	free(a->head);
	a->head = NULL;
}

void *lh_arena_alloc(struct lh_arena *a, size_t n)
{
	struct lh_arena_block *b = a->head;
	size_t need = (n + 15) & ~(size_t)15;
	void *p;

	if (need < n || (a->limit && (need > a->limit || a->used > a->limit - need)))
		return NULL;
	if (!b || b->size - b->off < need) {
		size_t size = need > BLOCK_MIN ? need : BLOCK_MIN;

		/* reuse an empty first block that is too small? no: chain a new one */
		b = xmalloc(sizeof(*b) + size);
		b->size = size;
		b->off = 0;
		b->next = a->head;
		a->head = b;
	}
	p = b->data + b->off;
	b->off += need;
	a->used += need;
	return p;
}

char *lh_arena_strndup(struct lh_arena *a, const char *s, size_t n)
{
	char *p = lh_arena_alloc(a, n + 1);

	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

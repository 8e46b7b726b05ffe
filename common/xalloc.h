/*
 * xalloc.h -- allocation that cannot fail.
 *
 * Internal allocations go through these: on exhaustion they print a message
 * and abort, so callers stay readable. Anything sized by agent input must be
 * bounded before it gets here (see lh_buf's limit).
 */
#ifndef LH_XALLOC_H
#define LH_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);

#endif

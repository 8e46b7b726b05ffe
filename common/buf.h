/*
 * buf.h -- a bounded, growable byte buffer (after git's strbuf and curl's
 * dynbuf).
 *
 * Invariants: `data` is never NULL and always NUL-terminated, so a buffer
 * can be used as a C string at any time; `len` never exceeds `max` (when
 * max is non-zero). An append that would pass the bound fails with -E2BIG
 * and leaves the buffer unchanged: input from agents is sized by the agent,
 * so it must be refused cleanly, never allowed to exhaust memory.
 */
#ifndef LH_BUF_H
#define LH_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct lh_buf {
	char *data;		/* never NULL, always NUL-terminated */
	size_t len;		/* bytes used, not counting the NUL */
	size_t cap;		/* bytes allocated; 0 while data is the shared empty string */
	size_t max;		/* largest len allowed; 0 means unbounded (internal use) */
};

extern char lh_buf_empty[];

#define LH_BUF_INIT { lh_buf_empty, 0, 0, 0 }

void lh_buf_init(struct lh_buf *b, size_t max);
void lh_buf_release(struct lh_buf *b);
void lh_buf_reset(struct lh_buf *b);
char *lh_buf_detach(struct lh_buf *b, size_t *len);

int lh_buf_add(struct lh_buf *b, const void *p, size_t n);
int lh_buf_adds(struct lh_buf *b, const char *s);
int lh_buf_addc(struct lh_buf *b, char c);
int lh_buf_addf(struct lh_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int lh_buf_vaddf(struct lh_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
void lh_buf_setlen(struct lh_buf *b, size_t len);

/* JSON string literal of s (quotes included); invalid UTF-8 becomes U+FFFD. */
int lh_buf_add_json_str(struct lh_buf *b, const char *s, size_t n);

#endif

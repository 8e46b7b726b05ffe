/*
 * buf.c -- bounded growable buffer (see buf.h for the invariants).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/utf8.h"
#include "common/xalloc.h"
#include "common/banned.h"

char lh_buf_empty[1];

void lh_buf_init(struct lh_buf *b, size_t max)
{
	b->data = lh_buf_empty;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void lh_buf_release(struct lh_buf *b)
{
	if (b->cap)
		free(b->data);
	lh_buf_init(b, b->max);
}

void lh_buf_reset(struct lh_buf *b)
{
	b->len = 0;
	if (b->cap)
		b->data[0] = '\0';
}

char *lh_buf_detach(struct lh_buf *b, size_t *len)
{
	char *p = b->cap ? b->data : xstrdup("");

	if (len)
		*len = b->len;
	lh_buf_init(b, b->max);
	return p;
}

static int grow(struct lh_buf *b, size_t extra)
{
	size_t want, cap;

	if (extra > ((size_t)-1) / 2 - b->len)
		return -E2BIG;
	want = b->len + extra;
	if (b->max && want > b->max)
		return -E2BIG;
	if (want + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < want + 1)
		cap *= 2;
	if (b->cap) {
		b->data = xrealloc(b->data, cap);
	} else {
		b->data = xmalloc(cap);
		b->data[0] = '\0';
	}
	b->cap = cap;
	return 0;
}

int lh_buf_add(struct lh_buf *b, const void *p, size_t n)
{
	int rc;

	if (!n)
		return 0;
	rc = grow(b, n);
	if (rc)
		return rc;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int lh_buf_adds(struct lh_buf *b, const char *s)
{
	return lh_buf_add(b, s, strlen(s));
}

int lh_buf_addc(struct lh_buf *b, char c)
{
	return lh_buf_add(b, &c, 1);
}

int lh_buf_vaddf(struct lh_buf *b, const char *fmt, va_list ap)
{
	char small[256];
	va_list cp;
	int n, rc;

	va_copy(cp, ap);
	n = vsnprintf(small, sizeof(small), fmt, cp);
	va_end(cp);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n < sizeof(small))
		return lh_buf_add(b, small, (size_t)n);
	rc = grow(b, (size_t)n);
	if (rc)
		return rc;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int lh_buf_addf(struct lh_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = lh_buf_vaddf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void lh_buf_setlen(struct lh_buf *b, size_t len)
{
	if (len > b->len)
		return;
	b->len = len;
	if (b->cap)
		b->data[len] = '\0';
}

int lh_buf_add_json_str(struct lh_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, run = 0;
	int rc = lh_buf_addc(b, '"');

	while (!rc && i < n) {
		unsigned char c = (unsigned char)s[i];
		size_t ok;

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			run++;
			i++;
			continue;
		}
		rc = lh_buf_add(b, s + i - run, run);
		run = 0;
		if (rc)
			break;
		if (c >= 0x80) {
			ok = lh_utf8_seq(s + i, n - i);
			if (ok) {
				rc = lh_buf_add(b, s + i, ok);
				i += ok;
			} else {
				rc = lh_buf_adds(b, "\\ufffd");
				i++;
			}
			continue;
		}
		switch (c) {
		case '"': rc = lh_buf_adds(b, "\\\""); break;
		case '\\': rc = lh_buf_adds(b, "\\\\"); break;
		case '\n': rc = lh_buf_adds(b, "\\n"); break;
		case '\r': rc = lh_buf_adds(b, "\\r"); break;
		case '\t': rc = lh_buf_adds(b, "\\t"); break;
		default: {
			char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

			rc = lh_buf_add(b, u, sizeof(u));
		}
		}
		i++;
	}
	if (!rc)
		rc = lh_buf_add(b, s + i - run, run);
	if (!rc)
		rc = lh_buf_addc(b, '"');
	return rc;
}

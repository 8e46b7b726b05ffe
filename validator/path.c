/*
 * path.c -- lexical path resolution and glob matching (see path.h).
 *
 * The matcher is a memoized search over (pattern position, path position):
 * both strings may hold wildcards, so it decides whether the two languages
 * intersect rather than whether one string is in the other's language. With
 * at most LH_MATCH_MAX bytes on each side the memo fits on the stack and the
 * work is bounded by the product of the lengths.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/xalloc.h"
#include "validator/path.h"
#include "common/banned.h"

#define LH_MATCH_MAX 4096		/* longer paths than PATH_MAX never match */
#define MEMO_STACK_BITS 65536

char *lh_path_resolve(struct lh_arena *a, const char *word, const char *cwd,
		      const char *home)
{
	size_t wl = strlen(word), cl = cwd ? strlen(cwd) : 1, hl = home ? strlen(home) : 0;
	size_t cap = wl + cl + hl + 16;
	char *buf = lh_arena_alloc(a, cap), *out;
	const char *s;
	size_t len = 0, o;

	if (!buf)
		return NULL;
	if (word[0] == '~' && (word[1] == '/' || !word[1]) && home) {
		memcpy(buf, home, hl);
		len = hl;
		s = word + 1;
	} else if (word[0] == '~' && word[1] != '/') {
		/* ~user: assume the usual home layout */
		const char *slash = strchr(word, '/');
		size_t ul = slash ? (size_t)(slash - word - 1) : wl - 1;

		memcpy(buf, "/home/", 6);
		memcpy(buf + 6, word + 1, ul);
		len = 6 + ul;
		if (ul == 4 && !memcmp(word + 1, "root", 4)) {
			memcpy(buf, "/root", 5);
			len = 5;
		}
		s = slash ? slash : "";
	} else if (word[0] == '/') {
		len = 0;
		s = word;
	} else {
		if (cwd) {
			memcpy(buf, cwd, cl);
			len = cl;
		} else {
			buf[0] = '/';
			len = 1;
		}
		buf[len++] = '/';
		s = word;
	}
	memcpy(buf + len, s, strlen(s) + 1);

	/* fold . .. and // in place */
	out = lh_arena_alloc(a, strlen(buf) + 2);
	if (!out)
		return NULL;
	o = 0;
	s = buf;
	while (*s) {
		const char *e;
		size_t n;

		while (*s == '/')
			s++;
		if (!*s)
			break;
		e = strchr(s, '/');
		n = e ? (size_t)(e - s) : strlen(s);
		if (n == 1 && s[0] == '.') {
			/* nothing */
		} else if (n == 2 && s[0] == '.' && s[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		} else {
			out[o++] = '/';
			memcpy(out + o, s, n);
			o += n;
		}
		s += n;
	}
	if (!o)
		out[o++] = '/';
	out[o] = '\0';
	return out;
}

int lh_path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 1 && dir[0] == '/')
		return path[0] == '/';
	if (strncmp(path, dir, n))
		return 0;
	return path[n] == '\0' || path[n] == '/';
}

int lh_path_has_glob(const char *s)
{
	return strpbrk(s, "*?[{") != NULL;
}

struct mstate {
	const char *p, *t;
	size_t pn, tn;
	int tglob;			/* the path holds wildcards too */
	uint8_t *seen;			/* (pn + 1) x (tn + 1) bits */
};

/* Length of the bracket expression at s (s[0] == '['), or 0 if unclosed. */
static size_t bracket_len(const char *s, size_t n)
{
	size_t i = 1;

	if (i < n && (s[i] == '!' || s[i] == '^'))
		i++;
	if (i < n && s[i] == ']')
		i++;
	while (i < n && s[i] != ']')
		i++;
	return i < n ? i + 1 : 0;
}

static int bracket_has(const char *s, size_t len, char c)
{
	size_t i = 1;
	int neg = 0, hit = 0;

	if (s[i] == '!' || s[i] == '^') {
		neg = 1;
		i++;
	}
	for (; i < len - 1; i++) {
		if (i + 2 < len - 1 && s[i + 1] == '-') {
			if (c >= s[i] && c <= s[i + 2])
				hit = 1;
			i += 2;
		} else if (s[i] == c) {
			hit = 1;
		}
	}
	return hit != neg;
}

enum tok { T_LIT, T_ANY, T_STAR, T_DSTAR, T_CLASS, T_END };

struct token {
	enum tok kind;
	char c;				/* T_LIT */
	size_t len;			/* bytes in the source */
};

/* A pattern token: \x is a literal x, so "\*" names a literal star. */
static struct token ptok(const struct mstate *st, size_t i)
{
	struct token t = { T_END, 0, 0 };
	const char *p = st->p;

	if (i >= st->pn)
		return t;
	t.len = 1;
	switch (p[i]) {
	case '\\':
		t.kind = T_LIT;
		if (i + 1 < st->pn) {
			t.c = p[i + 1];
			t.len = 2;
		} else {
			t.c = '\\';
		}
		return t;
	case '?':
		t.kind = T_ANY;
		return t;
	case '*':
		if (i + 1 < st->pn && p[i + 1] == '*') {
			t.kind = T_DSTAR;
			t.len = 2;
			return t;
		}
		t.kind = T_STAR;
		return t;
	case '[':
		t.len = bracket_len(p + i, st->pn - i);
		if (t.len) {
			t.kind = T_CLASS;
			return t;
		}
		t.len = 1;
		break;
	}
	t.kind = T_LIT;
	t.c = p[i];
	return t;
}

/* A path token: wildcards only when the path holds them ({a,b} is a star). */
static struct token ttok(const struct mstate *st, size_t j)
{
	struct token t = { T_END, 0, 0 };
	const char *s = st->t;

	if (j >= st->tn)
		return t;
	t.len = 1;
	t.kind = T_LIT;
	t.c = s[j];
	if (!st->tglob)
		return t;
	switch (s[j]) {
	case '*':
		t.kind = T_STAR;
		while (j + t.len < st->tn && s[j + t.len] == '*')
			t.len++;
		break;
	case '?':
		t.kind = T_ANY;
		break;
	case '[':
		t.len = bracket_len(s + j, st->tn - j);
		if (t.len)
			t.kind = T_CLASS;
		else
			t.len = 1;
		break;
	case '{': {
		/* {a,b} and {1..9} expand; {} and {x} stay as they are */
		const char *close = memchr(s + j, '}', st->tn - j);
		size_t blen = close ? (size_t)(close - (s + j)) : 0;

		if (close && !memchr(s + j, '/', blen) &&
		    (memchr(s + j, ',', blen) || memmem(s + j, blen, "..", 2))) {
			t.kind = T_STAR;
			t.len = (size_t)(close - (s + j)) + 1;
		}
		break;
	}
	}
	return t;
}

static int m(struct mstate *st, size_t i, size_t j)
{
	struct token P, T;
	size_t bit;

	if (i == st->pn && j == st->tn)
		return 1;
	bit = i * (st->tn + 1) + j;
	if (st->seen[bit / 8] & (1u << (bit % 8)))
		return 0;
	st->seen[bit / 8] |= (uint8_t)(1u << (bit % 8));
	P = ptok(st, i);
	T = ttok(st, j);

	if (P.kind == T_DSTAR) {
		/* ** (and **\/ as zero or more folders) */
		if (i + 2 < st->pn && st->p[i + 2] == '/' && m(st, i + 3, j))
			return 1;
		if (m(st, i + 2, j))
			return 1;
		return T.kind != T_END && m(st, i, j + T.len);
	}
	if (P.kind == T_STAR) {
		if (m(st, i + 1, j))
			return 1;
		return T.kind != T_END && !(T.kind == T_LIT && T.c == '/') && m(st, i, j + T.len);
	}
	if (T.kind == T_STAR) {
		/*
		 * A wildcard in the path stands for any text of one folder level,
		 * except that, as in the shell, it does not match a leading dot.
		 */
		int seg_start = (j == 0 || st->t[j - 1] == '/') && (i == 0 || st->p[i - 1] == '/');

		if (m(st, i, j + T.len))
			return 1;
		if (P.kind == T_END || (P.kind == T_LIT && P.c == '/'))
			return 0;
		if (seg_start && P.kind == T_LIT && P.c == '.' && st->t[j] != '{')
			return 0;
		return m(st, i + P.len, j);
	}
	if (P.kind == T_END || T.kind == T_END)
		return 0;
	if (T.kind == T_LIT && T.c == '/')
		return P.kind == T_LIT && P.c == '/' && m(st, i + P.len, j + 1);
	switch (P.kind) {
	case T_ANY:
		return m(st, i + 1, j + T.len);
	case T_CLASS:
		if (T.kind == T_LIT && !bracket_has(st->p + i, P.len, T.c))
			return 0;
		return m(st, i + P.len, j + T.len);
	case T_LIT:
		if (P.c == '/')
			return 0;
		if (T.kind == T_LIT && T.c != P.c)
			return 0;
		if (T.kind == T_CLASS && !bracket_has(st->t + j, T.len, P.c))
			return 0;
		return m(st, i + P.len, j + T.len);
	default:
		return 0;
	}
}

static int match_at(const char *pat, size_t pn, const char *text, size_t tn, int tglob)
{
	uint8_t stack[MEMO_STACK_BITS / 8];
	size_t bits = (pn + 1) * (tn + 1);
	struct mstate st;
	int rc;

	if (pn > LH_MATCH_MAX || tn > LH_MATCH_MAX)
		return 0;
	st.p = pat;
	st.t = text;
	st.pn = pn;
	st.tn = tn;
	st.tglob = tglob;
	st.seen = bits <= MEMO_STACK_BITS ? stack : xmalloc(bits / 8 + 1);
	memset(st.seen, 0, bits / 8 + 1);
	rc = m(&st, 0, 0);
	if (st.seen != stack)
		free(st.seen);
	return rc;
}

/*
 * Can `pattern` match the glob-free `text` (tn bytes) at all? A cheap
 * test of the pattern's literal head and tail and, in between, of each of
 * its literal runs in order (**\/.git/hooks/<star> needs "/.git/hooks/"
 * in the text). It rejects most patterns of a class before the matcher
 * runs, and never rejects a text the matcher would accept.
 */
static int may_match(const char *pattern, size_t pn, const char *text, size_t tn)
{
	size_t head = strcspn(pattern, "*?[\\"), tail = 0, i, at;

	if (head > pn)
		head = pn;
	if (head > tn || memcmp(pattern, text, head))
		return 0;
	if (head == pn)
		return tn == pn;	/* no wildcard: equal or not */
	while (tail < pn - head && !strchr("*?]\\", pattern[pn - 1 - tail]))
		tail++;
	if (tail > tn - head || memcmp(pattern + pn - tail, text + tn - tail, tail))
		return 0;
	/* the literal runs in between, in order, within text[head .. tn - tail) */
	for (i = head, at = head; i < pn - tail;) {
		size_t run;
		const char *hit;

		if (pattern[i] == '*' || pattern[i] == '?' || pattern[i] == '\\') {
			i += pattern[i] == '\\' ? 2 : 1;
			continue;
		}
		if (pattern[i] == '[') {
			while (i < pn && pattern[i] != ']')
				i++;
			i++;
			continue;
		}
		run = strcspn(pattern + i, "*?[\\");
		if (i + run > pn - tail)
			run = pn - tail - i;
		if (at > tn - tail)
			return 0;
		hit = memmem(text + at, tn - tail - at, pattern + i, run);
		if (!hit)
			return 0;
		at = (size_t)(hit - text) + run;
		i += run;
	}
	return 1;
}

/* Up to 8 bytes from s, the first at the low end: a word, NUL-padded. */
static uint64_t word_at(const char *s, size_t n)
{
	unsigned char b[8] = { 0 };
	uint64_t w = 0;
	int i;

	memcpy(b, s, n < 8 ? n : 8);
	for (i = 7; i >= 0; i--)
		w = w << 8 | b[i];
	return w;
}

/* The last up to 8 bytes of s (n long), the very last one at the high end. */
static uint64_t word_ending(const char *s, size_t n)
{
	size_t k = n < 8 ? n : 8;

	return k ? word_at(s + n - k, k) << (8 * (8 - k)) : 0;
}

/* A mask of the low k bytes (k <= 8), or of the high ones. */
static uint64_t low_bytes(size_t k)
{
	return k >= 8 ? ~(uint64_t)0 : ((uint64_t)1 << (8 * k)) - 1;
}

static uint64_t high_bytes(size_t k)
{
	return k == 0 ? 0 : ~low_bytes(8 - (k >= 8 ? 8 : k));
}

void lh_pathpat_init(struct lh_pathpat *pp, const char *pattern)
{
	memset(pp, 0, sizeof(*pp));
	pp->home = pattern[0] == '~';
	pp->pat = pattern + pp->home;
	pp->len = strlen(pp->pat);
	pp->base = !pp->home && !strchr(pattern, '/');
	pp->head = strcspn(pp->pat, "*?[\\");
	if (pp->head > pp->len)
		pp->head = pp->len;
	while (pp->tail < pp->len - pp->head && !strchr("*?]\\", pp->pat[pp->len - 1 - pp->tail]))
		pp->tail++;
	pp->h8m = low_bytes(pp->head);
	pp->h8 = word_at(pp->pat, pp->head) & pp->h8m;
	pp->t8m = high_bytes(pp->tail);
	pp->t8 = word_ending(pp->pat + pp->len - pp->tail, pp->tail) & pp->t8m;
}

uint16_t lh_pathpat_key(const struct lh_pathpat *pp)
{
	if (pp->base)
		return pp->head >= 1 ? (uint16_t)(LH_PATHKEY_BASE << 8 | (unsigned char)pp->pat[0]) :
				       LH_PATHKEY_ANY;
	if (pp->head < 2)
		return LH_PATHKEY_ANY;
	return (uint16_t)((pp->home ? LH_PATHKEY_HOME : LH_PATHKEY_ABS) << 8 |
			  (unsigned char)pp->pat[1]);
}

void lh_pathtext_init(struct lh_pathtext *pt, const char *path, const char *home)
{
	const char *slash = strrchr(path, '/');

	memset(pt, 0, sizeof(*pt));
	pt->path = path;
	pt->len = strlen(path);
	pt->glob = lh_path_has_glob(path);
	pt->base = slash ? slash + 1 : path;
	pt->blen = pt->len - (size_t)(pt->base - path);
	pt->all_wild_base = pt->glob && strspn(pt->base, "*?") == pt->blen;
	pt->h8_path = word_at(path, pt->len);
	pt->h8_base = word_at(pt->base, pt->blen);
	pt->t8 = word_ending(path, pt->len);
	/* a key no pattern has, unless the path has one of that kind */
	pt->key[0] = pt->key[LH_PATHKEY_HOME] = 0;
	pt->key[LH_PATHKEY_ABS] = (uint16_t)(LH_PATHKEY_ABS << 8 |
					     (pt->len >= 2 ? (unsigned char)path[1] : 0));
	pt->key[LH_PATHKEY_BASE] = (uint16_t)(LH_PATHKEY_BASE << 8 | (unsigned char)pt->base[0]);
	if (home) {
		size_t hl = strlen(home);

		while (hl > 1 && home[hl - 1] == '/')
			hl--;
		if (!strncmp(path, home, hl) && (!path[hl] || path[hl] == '/')) {
			pt->home_ok = 1;
			pt->hlen = hl;
			pt->h8_home = word_at(path + hl, pt->len - hl);
			pt->key[LH_PATHKEY_HOME] = (uint16_t)(LH_PATHKEY_HOME << 8 |
							      (pt->len - hl >= 2 ? (unsigned char)path[hl + 1] : 0));
		}
	}
}

int lh_path_match_pp(const struct lh_pathpat *pp, const struct lh_pathtext *pt)
{
	const char *text = pt->path;
	size_t tn = pt->len;

	if (pp->home) {
		if (!pt->home_ok)
			return 0;
		text += pt->hlen;
		tn -= pt->hlen;
	} else if (pp->base) {
		/*
		 * A bare wildcard (`grep x *`) could be any file; naming every
		 * basename pattern for it would make the pattern meaningless.
		 */
		if (pt->all_wild_base)
			return 0;
		text = pt->base;
		tn = pt->blen;
	}
	if (!pt->glob) {
		/* the literal head and tail first: most patterns fail there */
		if (pp->head > tn || memcmp(pp->pat, text, pp->head))
			return 0;
		if (pp->head == pp->len)
			return tn == pp->len;
		if (pp->tail > tn - pp->head ||
		    memcmp(pp->pat + pp->len - pp->tail, text + tn - pp->tail, pp->tail))
			return 0;
		if (!may_match(pp->pat, pp->len, text, tn))
			return 0;
	}
	return match_at(pp->pat, pp->len, text, tn, pt->glob);
}

int lh_path_match(const char *pattern, const char *path, const char *home)
{
	struct lh_pathpat pp;
	struct lh_pathtext pt;

	if (pattern[0] == '~' && !home)
		return 0;
	lh_pathpat_init(&pp, pattern);
	lh_pathtext_init(&pt, path, home);
	return lh_path_match_pp(&pp, &pt);
}

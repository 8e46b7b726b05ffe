/*
 * shell.c -- a bash-compatible parser for judging commands (see shell.h).
 *
 * DESIGN
 *
 * This is a recursive-descent parser over the raw bytes; there is no
 * separate token stream. Its grammar is bash's, flattened for judging:
 *
 *   list      := and_or ((';' | '&' | '\n') and_or)*
 *   and_or    := pipeline (('&&' | '||') newline* pipeline)*
 *   pipeline  := ['!'] ['time' ['-p']] command (('|' | '|&') newline* command)*
 *   command   := simple | '(' list ')' | '{' list '}' | keyword-introduced
 *   simple    := (assignment | redirection)* word (word | redirection)*
 *
 * Keywords (if, then, elif, else, fi, while, until, do, done, for, select,
 * case, esac, function, [[ ]], (( ))) are not interpreted as control flow:
 * they are stepped over and every command between them is listed. A guard
 * judges what could run, not what will.
 *
 * Words are decoded as bash decodes them: backslash escapes, '...', "...",
 * $'...' (ANSI-C), $"...", tilde expansion, $VAR and ${VAR} when the value
 * is known (assigned earlier in the same request, or HOME/PWD/USER), and
 * command, process and arithmetic substitutions, whose contents are parsed
 * recursively and listed with LH_CTX_SUBST. An expansion whose value we do
 * not know leaves its source text in the word and marks it LH_W_DYNAMIC; an
 * unquoted known value containing blanks is split into several words, as
 * bash's word splitting would.
 *
 * Wrappers are then peeled off each simple command (unwrap()): privilege
 * wrappers (sudo, doas, su, pkexec, runuser), environment and scheduling
 * wrappers (env, nice, nohup, timeout, stdbuf, ionice, setsid, time,
 * chroot, flock), command runners (xargs, parallel, find -exec, watch) and
 * interpreters of strings (sh/bash/zsh/dash/ksh -c, eval, ssh host CMD,
 * su -c, here-docs and here-strings fed to a shell). Strings are parsed
 * with a nested parser one level deeper.
 *
 * Bounds: nesting depth (LH_SHELL_MAX_DEPTH), commands (LH_SHELL_MAX_CMDS),
 * words (LH_SHELL_MAX_WORDS), alias expansions, and memory through the
 * arena's byte limit. Hitting one stops the parse with `error` set.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/arena.h"
#include "validator/interp.h"
#include "validator/path.h"
#include "validator/shell.h"
#include "common/banned.h"

#define MAX_HEREDOCS 16
#define MAX_ALIAS_DEPTH 8
/*
 * Marks inside a decoded word, used only by the parser that read the word
 * and only when its source holds none of these bytes (parser.marks_ok):
 * word-splitting points of unquoted expansions, and the unquoted braces
 * and commas of a brace expansion.
 */
#define SPLIT_MARK '\x01'
#define BR_OPEN '\x02'
#define BR_SEP '\x03'
#define BR_CLOSE '\x04'
#define MAX_BRACE_WORDS 64	/* words one brace expansion may make */
#define MAX_SEQ_WORDS 64	/* words one {x..y} sequence may make */
#define MAX_FOR_VALUES 16	/* a for loop over more values leaves its variable unknown */
#define MAX_LOOP_BODIES 64	/* loop bodies parsed once per value, per request */
#define MAX_XARGS_ITEMS 16	/* known xargs input items used as arguments */

struct var {
	struct var *next;
	const char *name;
	const char *value;	/* NULL: unknown */
};

struct alias {
	struct alias *next;
	const char *name;
	const char *value;
};

struct shared {
	struct lh_script *out;
	struct lh_arena *arena;
	const struct lh_shell_env *env;
	struct var *vars;		/* newest first */
	struct alias *aliases;		/* newest first */
	int alias_depth;
	int loop_bodies;		/* for-loop bodies parsed so far (MAX_LOOP_BODIES) */
	const char *cwd;		/* after a cd: see lh_scmd.cwd */
	int stop;			/* an error or a limit stopped the parse */
	int oom;
};

struct heredoc {
	struct lh_redir *r;		/* filled when the body is read */
	const char *delim;
	int strip_tabs;
	int expand;			/* unquoted delimiter: body is expanded */
	int lang;			/* fed to a shell or interpreter (lh_lang): read the body */
	unsigned ctx;
	const char *wrappers;
};

struct parser {
	struct shared *sh;
	const char *s;
	size_t n, i;
	int depth;
	unsigned ctx;			/* inherited context */
	const char *wrappers;		/* inherited wrappers */
	const char *pipe_from;		/* for commands of the current pipeline element */
	unsigned elem_ctx;		/* PIPE_IN for the current element */
	struct heredoc hd[MAX_HEREDOCS];
	int nhd;
	int stdin_lang;			/* the last simple command reads a program from stdin (lh_lang) */
	int marks_ok;			/* s holds no SPLIT_MARK or BR_* byte of its own */
	int open_loops;			/* while/until/for bodies whose 'done' is still to come */
	const char *feed_text;		/* what the element before this one in the pipeline
					   writes, when known (echo, printf, cat <<<) */
	const char *feed_items;		/* or the files it lists (find ROOT: ROOT/<star>) */
};

struct word {
	const char *v;
	size_t len;
	unsigned flags;
	size_t start, end;		/* raw span in p->s */
};

/* word builder: a string growing inside the arena */
struct wb {
	char *p;
	size_t len, cap;
	unsigned flags;
	struct shared *sh;
};

static void fail(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail(struct parser *p, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	if (p->sh->stop)
		return;
	p->sh->stop = 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->sh->out->error = lh_arena_strndup(p->sh->arena, msg, strlen(msg));
	if (!p->sh->out->error)
		p->sh->out->error = "out of memory";
}

static void *alloc(struct parser *p, size_t n)
{
	void *m = lh_arena_alloc(p->sh->arena, n);

	if (!m && !p->sh->stop) {
		p->sh->oom = 1;
		p->sh->out->truncated = 1;
		fail(p, "command too large to judge");
	}
	return m;
}

static const char *sdup(struct parser *p, const char *s, size_t n)
{
	char *d = alloc(p, n + 1);

	if (!d)
		return "";
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static void wb_init(struct wb *b, struct parser *p)
{
	b->p = NULL;
	b->len = b->cap = 0;
	b->flags = 0;
	b->sh = p->sh;
}

static void wb_add(struct wb *b, const char *s, size_t n)
{
	if (b->sh->stop && b->sh->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 32;
		char *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		np = lh_arena_alloc(b->sh->arena, cap);
		if (!np) {
			b->sh->oom = 1;
			b->sh->out->truncated = 1;
			if (!b->sh->stop) {
				b->sh->stop = 1;
				b->sh->out->error = "command too large to judge";
			}
			return;
		}
		if (b->len)
			memcpy(np, b->p, b->len);
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void wb_addc(struct wb *b, char c)
{
	wb_add(b, &c, 1);
}

static const char *wb_str(struct wb *b)
{
	return b->p ? b->p : "";
}

static int peekc(const struct parser *p, size_t k)
{
	return p->i + k < p->n ? (unsigned char)p->s[p->i + k] : -1;
}

static int is_blank(int c)
{
	return c == ' ' || c == '\t';
}

static int is_meta(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '&' ||
	       c == '|' || c == '(' || c == ')' || c == '<' || c == '>';
}

static int is_name_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_name_char(int c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

const char *lh_shell_basename(const char *word)
{
	const char *slash = strrchr(word, '/');

	return slash && slash[1] ? slash + 1 : word;
}

/* ---- variables and aliases ---------------------------------------- */

static const char *var_get(struct parser *p, const char *name, size_t n, int *known)
{
	const struct lh_shell_env *env = p->sh->env;
	struct var *v;

	for (v = p->sh->vars; v; v = v->next)
		if (strlen(v->name) == n && !memcmp(v->name, name, n)) {
			*known = v->value != NULL;
			return v->value;
		}
	*known = 1;
	if (n == 4 && !memcmp(name, "HOME", 4) && env->home)
		return env->home;
	if (n == 3 && !memcmp(name, "PWD", 3) && env->cwd)
		return env->cwd;
	if (n == 4 && !memcmp(name, "USER", 4) && env->user)
		return env->user;
	if (n == 7 && !memcmp(name, "LOGNAME", 7) && env->user)
		return env->user;
	if (n == 3 && !memcmp(name, "IFS", 3))
		return " \t\n";	/* rm${IFS}-rf${IFS}/ splits as bash splits it */
	*known = 0;
	return NULL;
}

static void var_set(struct parser *p, const char *name, size_t n, const char *value)
{
	struct var *v = alloc(p, sizeof(*v));

	if (!v)
		return;
	v->name = sdup(p, name, n);
	v->value = value;
	v->next = p->sh->vars;
	p->sh->vars = v;
}

static const char *alias_get(struct parser *p, const char *name)
{
	struct alias *a;

	for (a = p->sh->aliases; a; a = a->next)
		if (!strcmp(a->name, name))
			return a->value;
	return NULL;
}

/* ---- forward declarations ----------------------------------------- */

static void parse_list(struct parser *p, int term);
static int read_word(struct parser *p, struct word *w);
static void unwrap(struct parser *p, const char **argv, unsigned char *wf, int argc,
		   struct lh_redir *redirs, int nredirs, unsigned ctx,
		   const char *wrappers, int *stdin_lang);

static int enter(struct parser *p)
{
	if (p->depth + 1 > LH_SHELL_MAX_DEPTH) {
		p->sh->out->truncated = 1;
		fail(p, "nesting too deep (more than %d levels)", LH_SHELL_MAX_DEPTH);
		return 0;
	}
	if (p->depth + 1 > p->sh->out->max_depth)
		p->sh->out->max_depth = p->depth + 1;
	return 1;
}

static int marks_ok(const char *s, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++)
		if ((s[k] >= SPLIT_MARK && s[k] <= BR_CLOSE) || s[k] == LH_INTERP_DYN)
			return 0;
	return 1;
}

/*
 * Parse a separate string run by the same shell (eval, an alias): a cd in
 * it moves what follows.
 */
static void subparse_here(struct parser *p, const char *s, size_t n, unsigned ctx,
			  const char *wrappers)
{
	struct parser q;

	if (!enter(p))
		return;
	memset(&q, 0, sizeof(q));
	q.sh = p->sh;
	q.s = s;
	q.n = n;
	q.depth = p->depth + 1;
	q.ctx = ctx;
	q.wrappers = wrappers;
	q.marks_ok = marks_ok(s, n);
	parse_list(&q, 0);
}

/*
 * Parse a separate string run by another shell or process (a -c argument,
 * a substitution, a script on stdin): its cd stays inside it.
 */
static void subparse(struct parser *p, const char *s, size_t n, unsigned ctx,
		     const char *wrappers)
{
	const char *cwd = p->sh->cwd;

	subparse_here(p, s, n, ctx, wrappers);
	p->sh->cwd = cwd;
}

/* ---- substitutions --------------------------------------------------- */

/* $( ... ): p->i is just past "$(". Parses up to and including ')'. */
static void command_subst(struct parser *p)
{
	unsigned save_ctx = p->ctx, save_elem = p->elem_ctx;
	const char *save_from = p->pipe_from, *save_cwd = p->sh->cwd;

	if (!enter(p))
		return;
	p->depth++;
	p->ctx |= LH_CTX_SUBST;
	p->elem_ctx = 0;
	p->pipe_from = NULL;
	parse_list(p, ')');
	p->depth--;
	p->ctx = save_ctx;
	p->elem_ctx = save_elem;
	p->pipe_from = save_from;
	p->sh->cwd = save_cwd;
}

static const char *echo_output(struct parser *p, int from);

/*
 * The output of a substitution we know: $(pwd) is the folder the shell is
 * in; $(echo WORDS) and $(printf ...) of known words are what they print
 * (`from` is the first command the substitution emitted). NULL for
 * anything else.
 */
static const char *known_subst(struct parser *p, const char *s, size_t n, int from)
{
	const char *cwd = p->sh->cwd ? p->sh->cwd : p->sh->env->cwd;

	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (cwd && cwd[0] && ((n == 3 && !memcmp(s, "pwd", 3)) ||
			      (n == 6 && (!memcmp(s, "pwd -L", 6) || !memcmp(s, "pwd -P", 6)))))
		return cwd;
	return echo_output(p, from);
}

/* `...`: p->i is at the opening backquote. */
static void backtick(struct parser *p)
{
	struct wb inner;
	size_t i = p->i + 1;

	wb_init(&inner, p);
	while (i < p->n && p->s[i] != '`') {
		if (p->s[i] == '\\' && i + 1 < p->n &&
		    (p->s[i + 1] == '`' || p->s[i + 1] == '\\' || p->s[i + 1] == '$')) {
			wb_addc(&inner, p->s[i + 1]);
			i += 2;
			continue;
		}
		wb_addc(&inner, p->s[i]);
		i++;
	}
	if (i >= p->n) {
		fail(p, "unterminated backquote at offset %zu", p->i);
		p->i = p->n;
		return;
	}
	p->i = i + 1;
	subparse(p, wb_str(&inner), inner.len, p->ctx | LH_CTX_SUBST, p->wrappers);
}

/*
 * Walk an arithmetic expansion or command to its closing "))", parsing any
 * command substitution inside it. p->i is just past the opening "((".
 */
static void skip_arith(struct parser *p)
{
	int depth = 0;

	while (p->i < p->n && !p->sh->stop) {
		int c = p->s[p->i];

		if (c == '$' && peekc(p, 1) == '(' && peekc(p, 2) != '(') {
			p->i += 2;
			command_subst(p);
			continue;
		}
		if (c == '`') {
			backtick(p);
			continue;
		}
		if (c == '(')
			depth++;
		if (c == ')') {
			if (depth == 0 && peekc(p, 1) == ')') {
				p->i += 2;
				return;
			}
			depth--;
		}
		p->i++;
	}
	fail(p, "unterminated arithmetic expression");
}

static void decode_dq(struct parser *p, struct wb *b, int heredoc);
static void expand_dollar(struct parser *p, struct wb *b, int in_dq);

/* Decode $'...' into b; p->i is at the opening quote. */
static void ansi_c(struct parser *p, struct wb *b)
{
	size_t i = p->i + 1;

	while (i < p->n && p->s[i] != '\'') {
		char c = p->s[i], out;
		unsigned v;
		int k;

		if (c != '\\' || i + 1 >= p->n) {
			wb_addc(b, c);
			i++;
			continue;
		}
		c = p->s[i + 1];
		i += 2;
		if (strchr("xuUc01234567", c))
			b->flags |= LH_W_ESCAPED;	/* a spelling that hides the word */
		switch (c) {
		case 'n': out = '\n'; break;
		case 't': out = '\t'; break;
		case 'r': out = '\r'; break;
		case 'a': out = '\a'; break;
		case 'b': out = '\b'; break;
		case 'f': out = '\f'; break;
		case 'v': out = '\v'; break;
		case 'e': case 'E': out = 27; break;
		case 'c':
			if (i < p->n) {
				out = (char)(p->s[i] & 0x1f);
				i++;
			} else {
				out = 'c';
			}
			break;
		case 'x':
			for (v = 0, k = 0; k < 2 && i < p->n; k++, i++) {
				char h = p->s[i];

				if (h >= '0' && h <= '9')
					v = v * 16 + (unsigned)(h - '0');
				else if ((h | 32) >= 'a' && (h | 32) <= 'f')
					v = v * 16 + (unsigned)((h | 32) - 'a' + 10);
				else
					break;
			}
			if (!k) {
				wb_add(b, "\\x", 2);
				continue;
			}
			out = (char)v;
			break;
		case 'u': case 'U': {
			unsigned maxd = c == 'u' ? 4 : 8;
			char enc[4];
			int len;

			for (v = 0, k = 0; (unsigned)k < maxd && i < p->n; k++, i++) {
				char h = p->s[i];

				if (h >= '0' && h <= '9')
					v = v * 16 + (unsigned)(h - '0');
				else if ((h | 32) >= 'a' && (h | 32) <= 'f')
					v = v * 16 + (unsigned)((h | 32) - 'a' + 10);
				else
					break;
			}
			if (!k || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
				wb_addc(b, '?');
				continue;
			}
			if (v < 0x80) {
				enc[0] = (char)v;
				len = 1;
			} else if (v < 0x800) {
				enc[0] = (char)(0xC0 | (v >> 6));
				enc[1] = (char)(0x80 | (v & 0x3F));
				len = 2;
			} else if (v < 0x10000) {
				enc[0] = (char)(0xE0 | (v >> 12));
				enc[1] = (char)(0x80 | ((v >> 6) & 0x3F));
				enc[2] = (char)(0x80 | (v & 0x3F));
				len = 3;
			} else {
				enc[0] = (char)(0xF0 | (v >> 18));
				enc[1] = (char)(0x80 | ((v >> 12) & 0x3F));
				enc[2] = (char)(0x80 | ((v >> 6) & 0x3F));
				enc[3] = (char)(0x80 | (v & 0x3F));
				len = 4;
			}
			wb_add(b, enc, (size_t)len);
			continue;
		}
		case '0': case '1': case '2': case '3':
		case '4': case '5': case '6': case '7':
			v = (unsigned)(c - '0');
			for (k = 1; k < 3 && i < p->n && p->s[i] >= '0' && p->s[i] <= '7'; k++, i++)
				v = v * 8 + (unsigned)(p->s[i] - '0');
			out = (char)v;
			break;
		default:
			out = c;	/* \\ \' \" \? and unknown escapes */
		}
		if (out == '\0') {
			/* bash stops the string at a NUL */
			while (i < p->n && p->s[i] != '\'')
				i += (p->s[i] == '\\' && i + 1 < p->n) ? 2 : 1;
			break;
		}
		wb_addc(b, out);
	}
	if (i >= p->n) {
		fail(p, "unterminated $'...' quote at offset %zu", p->i - 1);
		p->i = p->n;
		return;
	}
	p->i = i + 1;
	b->flags |= LH_W_QUOTED;
}

/* Add a known expansion value; unquoted blanks become split points. */
static const char *var_get(struct parser *p, const char *name, size_t n, int *known);

static void add_value(struct parser *p, struct wb *b, const char *v, int in_dq)
{
	const char *ifs;
	size_t k;
	int known;

	if (in_dq || !p->marks_ok) {
		wb_add(b, v, strlen(v));
		return;
	}
	/* split at the characters of IFS, as set in the request (IFS=,; $x) */
	ifs = var_get(p, "IFS", 3, &known);
	if (!known) {
		wb_add(b, v, strlen(v));
		b->flags |= LH_W_DYNAMIC;	/* split where, we cannot know */
		return;
	}
	for (k = 0; v[k]; k++) {
		char c = v[k];

		if (c && strchr(ifs, c))
			wb_addc(b, SPLIT_MARK);
		else {
			if (c == '*' || c == '?' || c == '[')
				b->flags |= LH_W_GLOB;
			wb_addc(b, c);
		}
	}
}

/* ${...}: p->i is at '{'. */
static void param_expansion(struct parser *p, struct wb *b, size_t dollar, int in_dq)
{
	size_t start = p->i + 1, i = start, name_end;
	int depth = 1, known;
	const char *val;

	while (i < p->n && depth > 0) {
		char c = p->s[i];

		if (c == '\\' && i + 1 < p->n) {
			i += 2;
			continue;
		}
		if (c == '\'' && !in_dq) {
			const char *q = memchr(p->s + i + 1, '\'', p->n - i - 1);

			i = q ? (size_t)(q - p->s) + 1 : p->n;
			continue;
		}
		if (c == '{')
			depth++;
		else if (c == '}')
			depth--;
		i++;
	}
	if (depth > 0) {
		fail(p, "unterminated ${...} at offset %zu", dollar);
		p->i = p->n;
		return;
	}
	/* i is just past the closing brace */
	name_end = start;
	while (name_end < i - 1 && is_name_char((unsigned char)p->s[name_end]))
		name_end++;
	if (name_end > start && name_end == i - 1 && is_name_start((unsigned char)p->s[start])) {
		val = var_get(p, p->s + start, name_end - start, &known);
		p->i = i;
		if (known) {
			add_value(p, b, val, in_dq);
			return;
		}
		wb_add(b, p->s + dollar, i - dollar);
		b->flags |= LH_W_DYNAMIC;
		return;
	}
	/*
	 * ${x:-word} and ${x-word} with x unknown, unquoted and a word of its
	 * own: either x's value or the word. Judge both: the word's value,
	 * and a run-time word beside it (rm -rf ${DIR:-/} may delete /).
	 */
	if (name_end > start && is_name_start((unsigned char)p->s[start])) {
		size_t w = name_end;
		const char *dflt;
		int colon = 0;

		if (w < i - 1 && p->s[w] == ':') {
			w++;
			colon = 1;
		}
		val = var_get(p, p->s + start, name_end - start, &known);
		if (known && w < i - 1 && (p->s[w] == '-' || p->s[w] == '=') &&
		    (val[0] || !colon)) {
			/* set: its value */
			p->i = i;
			add_value(p, b, val, in_dq);
			return;
		}
		if (w < i - 1 && (p->s[w] == '-' || p->s[w] == '=') && !in_dq && !b->len &&
		    p->marks_ok && (i >= p->n || is_meta((unsigned char)p->s[i]))) {
			size_t ws = w + 1, we = i - 1;

			if (we - ws >= 2 && (p->s[ws] == '"' || p->s[ws] == '\'') &&
			    p->s[we - 1] == p->s[ws]) {
				ws++;
				we--;
			}
			dflt = sdup(p, p->s + ws, we - ws);
			if (!strpbrk(dflt, "$`\\\"'{}")) {
				if (dflt[0] == '~' && (!dflt[1] || dflt[1] == '/') && p->sh->env->home) {
					size_t hl = strlen(p->sh->env->home), rl = strlen(dflt + 1);
					char *t = alloc(p, hl + rl + 1);

					if (!t)
						return;
					memcpy(t, p->sh->env->home, hl);
					memcpy(t + hl, dflt + 1, rl + 1);
					dflt = t;
				}
				p->i = i;
				add_value(p, b, dflt, 0);
				wb_addc(b, SPLIT_MARK);
				wb_addc(b, LH_INTERP_DYN);
				return;
			}
		}
	}
	/*
	 * Anything else (${x:-word}, ${#x}, ${x/a/b}...): the value is not
	 * known, but the word parts may hold substitutions that would run.
	 */
	{
		struct parser q = *p;
		struct wb scratch;

		q.s = p->s;
		q.n = i - 1;
		q.i = start;
		q.nhd = 0;
		wb_init(&scratch, p);
		while (q.i < q.n && !p->sh->stop) {
			char c = q.s[q.i];

			if (c == '$')
				expand_dollar(&q, &scratch, 1);
			else if (c == '`')
				backtick(&q);
			else if (c == '"')
				decode_dq(&q, &scratch, 0);
			else
				q.i++;
		}
	}
	p->i = i;
	wb_add(b, p->s + dollar, i - dollar);
	b->flags |= LH_W_DYNAMIC;
}

/* p->i is at '$'. */
static void expand_dollar(struct parser *p, struct wb *b, int in_dq)
{
	size_t dollar = p->i;
	int c = peekc(p, 1), known;

	if (c == '\'' && !in_dq) {
		p->i++;
		ansi_c(p, b);
		return;
	}
	if (c == '"' && !in_dq) {
		p->i++;
		decode_dq(p, b, 0);
		b->flags |= LH_W_QUOTED;
		return;
	}
	if (c == '(') {
		if (peekc(p, 2) == '(') {
			p->i += 3;
			skip_arith(p);
		} else {
			const char *v;
			int from = p->sh->out->ncmds;

			p->i += 2;
			command_subst(p);
			v = p->i > dollar + 3 ? known_subst(p, p->s + dollar + 2, p->i - dollar - 3, from) :
				NULL;
			if (v) {
				add_value(p, b, v, in_dq);
				return;
			}
		}
		wb_add(b, p->s + dollar, (p->i > dollar ? p->i : dollar) - dollar);
		b->flags |= LH_W_DYNAMIC;
		return;
	}
	if (c == '[') {		/* old arithmetic $[...] */
		const char *q = memchr(p->s + p->i, ']', p->n - p->i);

		p->i = q ? (size_t)(q - p->s) + 1 : p->n;
		wb_add(b, p->s + dollar, p->i - dollar);
		b->flags |= LH_W_DYNAMIC;
		return;
	}
	if (c == '{') {
		p->i++;
		param_expansion(p, b, dollar, in_dq);
		return;
	}
	if (c >= 0 && is_name_start(c)) {
		size_t s = p->i + 1, e = s;
		const char *val;

		while (e < p->n && is_name_char((unsigned char)p->s[e]))
			e++;
		val = var_get(p, p->s + s, e - s, &known);
		p->i = e;
		if (known) {
			add_value(p, b, val, in_dq);
		} else {
			wb_add(b, p->s + dollar, e - dollar);
			b->flags |= LH_W_DYNAMIC;
		}
		return;
	}
	if (c >= 0 && (strchr("0123456789@*#?-$!", c) != NULL)) {
		p->i += 2;
		wb_add(b, p->s + dollar, 2);
		b->flags |= LH_W_DYNAMIC;
		return;
	}
	wb_addc(b, '$');
	p->i++;
}

/*
 * "..." (heredoc == 0, p->i at the opening quote) or the body of an
 * unquoted here-doc (heredoc == 1, the whole of p->s).
 */
static void decode_dq(struct parser *p, struct wb *b, int heredoc)
{
	size_t open = p->i;

	if (!heredoc)
		p->i++;
	while (p->i < p->n && !p->sh->stop) {
		int c = p->s[p->i];

		if (c == '"' && !heredoc) {
			p->i++;
			b->flags |= LH_W_QUOTED;
			return;
		}
		if (c == '\\') {
			int d = peekc(p, 1);

			if (d == '\n') {
				p->i += 2;
				continue;
			}
			if (d == '$' || d == '`' || d == '\\' || (d == '"' && !heredoc)) {
				wb_addc(b, (char)d);
				p->i += 2;
				continue;
			}
			wb_addc(b, '\\');
			p->i++;
			continue;
		}
		if (c == '$') {
			expand_dollar(p, b, 1);
			continue;
		}
		if (c == '`') {
			size_t s = p->i;
			const char *v;
			int from = p->sh->out->ncmds;

			backtick(p);
			v = p->i > s + 2 ? known_subst(p, p->s + s + 1, p->i - s - 2, from) : NULL;
			if (v) {
				add_value(p, b, v, 1);
				continue;
			}
			wb_add(b, p->s + s, p->i - s);
			b->flags |= LH_W_DYNAMIC;
			continue;
		}
		wb_addc(b, (char)c);
		p->i++;
	}
	if (!heredoc && !p->sh->stop) {
		fail(p, "unterminated double quote at offset %zu", open);
		p->i = p->n;
	}
}

/* <( ... ) or >( ... ) at p->i. */
static void process_subst(struct parser *p, struct wb *b)
{
	size_t start = p->i;

	p->i += 2;
	command_subst(p);
	wb_add(b, p->s + start, p->i - start);
	b->flags |= LH_W_DYNAMIC | LH_W_PROCSUB;
}

/* ---- words ------------------------------------------------------------ */

static void skip_blanks(struct parser *p)
{
	for (;;) {
		int c = peekc(p, 0);

		if (is_blank(c)) {
			p->i++;
		} else if (c == '\\' && peekc(p, 1) == '\n') {
			p->i += 2;
		} else if (c == '#') {
			/* a comment only where a word could start */
			while (p->i < p->n && p->s[p->i] != '\n')
				p->i++;
		} else {
			return;
		}
	}
}

static void tilde(struct parser *p, struct wb *b)
{
	const char *home = p->sh->env->home;
	int c = peekc(p, 1);

	if ((c < 0 || c == '/' || is_meta(c)) && home) {
		wb_add(b, home, strlen(home));
		p->i++;
		return;
	}
	if (c == '+' && (peekc(p, 2) < 0 || peekc(p, 2) == '/' || is_meta(peekc(p, 2))) &&
	    p->sh->env->cwd) {
		wb_add(b, p->sh->env->cwd, strlen(p->sh->env->cwd));
		p->i += 2;
		return;
	}
	wb_addc(b, '~');	/* ~user: the path code resolves it */
	p->i++;
}

/*
 * Read one word at p->i. Returns 0 when there is none (an operator or the
 * end is next).
 */
static int read_word(struct parser *p, struct word *w)
{
	struct wb b;
	size_t start = p->i;
	int any = 0, brace = 0, eq_seen = 0;

	wb_init(&b, p);
	while (p->i < p->n && !p->sh->stop) {
		int c = (unsigned char)p->s[p->i];

		if (is_meta(c)) {
			if ((c == '<' || c == '>') && peekc(p, 1) == '(' && !any) {
				process_subst(p, &b);
				any = 1;
				continue;
			}
			if (c == '(' && eq_seen && b.len && b.p[b.len - 1] == '=' && !(b.flags & LH_W_QUOTED)) {
				/* name=(a b c): an array; its elements are read, its value not kept */
				size_t open = p->i;
				int depth = 0;

				while (p->i < p->n && !p->sh->stop) {
					int d = p->s[p->i];

					if (d == '\\') {
						p->i += 2;
						continue;
					}
					if (d == '\'' || d == '"') {
						struct wb skip;

						wb_init(&skip, p);
						if (d == '"') {
							decode_dq(p, &skip, 0);
						} else {
							const char *q = memchr(p->s + p->i + 1, '\'', p->n - p->i - 1);

							p->i = q ? (size_t)(q - p->s) + 1 : p->n;
						}
						continue;
					}
					if (d == '$') {
						struct wb skip;

						wb_init(&skip, p);
						expand_dollar(p, &skip, 0);
						continue;
					}
					if (d == '(')
						depth++;
					else if (d == ')' && --depth == 0) {
						p->i++;
						break;
					}
					p->i++;
				}
				if (depth > 0 && !p->sh->stop) {
					fail(p, "unterminated array at offset %zu", open);
					break;
				}
				wb_add(&b, p->s + open, p->i - open);
				b.flags |= LH_W_DYNAMIC;
				any = 1;
				continue;
			}
			break;
		}
		switch (c) {
		case '\\':
			if (peekc(p, 1) == '\n') {
				p->i += 2;
				continue;
			}
			if (p->i + 1 < p->n) {
				wb_addc(&b, p->s[p->i + 1]);
				p->i += 2;
			} else {
				wb_addc(&b, '\\');
				p->i++;
			}
			b.flags |= LH_W_QUOTED;
			break;
		case '\'': {
			const char *q = memchr(p->s + p->i + 1, '\'', p->n - p->i - 1);

			if (!q) {
				fail(p, "unterminated single quote at offset %zu", p->i);
				p->i = p->n;
				break;
			}
			wb_add(&b, p->s + p->i + 1, (size_t)(q - (p->s + p->i + 1)));
			p->i = (size_t)(q - p->s) + 1;
			b.flags |= LH_W_QUOTED;
			break;
		}
		case '"':
			decode_dq(p, &b, 0);
			break;
		case '$':
			expand_dollar(p, &b, 0);
			break;
		case '`': {
			size_t s = p->i;
			const char *v;
			int from = p->sh->out->ncmds;

			backtick(p);
			v = p->i > s + 2 ? known_subst(p, p->s + s + 1, p->i - s - 2, from) : NULL;
			if (v) {
				add_value(p, &b, v, 0);
				break;
			}
			wb_add(&b, p->s + s, p->i - s);
			b.flags |= LH_W_DYNAMIC;
			break;
		}
		case '~':
			if (!any || (eq_seen && (p->s[p->i - 1] == '=' || p->s[p->i - 1] == ':')))
				tilde(p, &b);
			else {
				wb_addc(&b, '~');
				p->i++;
			}
			break;
		case '*': case '?': case '[':
			b.flags |= LH_W_GLOB;
			wb_addc(&b, (char)c);
			p->i++;
			break;
		case '{':
			/* brace expansion happens after the word is read (expand_braces) */
			if (p->marks_ok) {
				brace++;
				wb_addc(&b, BR_OPEN);
			} else {
				wb_addc(&b, '{');
			}
			p->i++;
			break;
		case ',':
			wb_addc(&b, brace ? BR_SEP : ',');
			p->i++;
			break;
		case '}':
			if (brace) {
				brace--;
				wb_addc(&b, BR_CLOSE);
			} else {
				wb_addc(&b, '}');
			}
			p->i++;
			break;
		case '=':
			eq_seen = 1;
			wb_addc(&b, '=');
			p->i++;
			break;
		default:
			wb_addc(&b, (char)c);
			p->i++;
		}
		any = 1;
	}
	if (!any)
		return 0;
	if (++p->sh->out->nwords > LH_SHELL_MAX_WORDS) {
		p->sh->out->truncated = 1;
		fail(p, "too many words (more than %d)", LH_SHELL_MAX_WORDS);
	}
	w->v = wb_str(&b);
	w->len = b.len;
	w->flags = b.flags;
	w->start = start;
	w->end = p->i;
	return 1;
}

/* ---- brace expansion and word splitting ------------------------------ */

static int is_brace_mark(char c)
{
	return c == BR_OPEN || c == BR_SEP || c == BR_CLOSE;
}

/*
 * A part known only at run time (LH_INTERP_DYN, from interpreter code or
 * ${x:-word}) makes the whole word a run-time word, shown with '?'.
 */
static const char *undyn(struct parser *p, const char *s, unsigned *flags)
{
	char *d, *x;

	if (!strchr(s, LH_INTERP_DYN))
		return s;
	*flags |= LH_W_DYNAMIC;
	d = (char *)sdup(p, s, strlen(s));
	for (x = d; *x; x++)
		if (*x == LH_INTERP_DYN)
			*x = '?';
	return d;
}

/* The word with its brace marks turned back into the characters typed. */
static const char *unmark(struct parser *p, const char *s)
{
	const char *q;
	char *d, *x;

	for (q = s; *q && !is_brace_mark(*q); q++)
		;
	if (!*q)
		return s;
	d = (char *)sdup(p, s, strlen(s));
	for (x = d; *x; x++)
		if (*x == BR_OPEN)
			*x = '{';
		else if (*x == BR_SEP)
			*x = ',';
		else if (*x == BR_CLOSE)
			*x = '}';
	return d;
}

struct words_out {
	struct word *v;
	int n, cap;
};

static void words_push(struct parser *p, struct words_out *o, const struct word *proto,
		       const char *s, size_t len)
{
	if (o->n == o->cap) {
		int cap = o->cap ? o->cap * 2 : 16;
		struct word *v = alloc(p, sizeof(*v) * (size_t)cap);

		if (!v)
			return;
		if (o->n)
			memcpy(v, o->v, sizeof(*v) * (size_t)o->n);
		o->v = v;
		o->cap = cap;
	}
	o->v[o->n] = *proto;
	o->v[o->n].v = sdup(p, s, len);
	o->v[o->n].len = len;
	o->n++;
}

struct brace_out {
	const char **v;			/* expanded words, marks still in them */
	int n, overflow;
};

static void brace_push(struct parser *p, struct brace_out *o, const char *s, size_t n)
{
	if (o->n >= MAX_BRACE_WORDS) {
		o->overflow = 1;
		return;
	}
	o->v[o->n++] = sdup(p, s, n);
}

/* pre + mid + post, as one new string */
static char *concat3(struct parser *p, const char *a, size_t an, const char *b, size_t bn,
		     const char *c, size_t cn)
{
	char *d = alloc(p, an + bn + cn + 1);

	if (!d)
		return NULL;
	memcpy(d, a, an);
	memcpy(d + an, b, bn);
	memcpy(d + an + bn, c, cn);
	d[an + bn + cn] = '\0';
	return d;
}

static int parse_seq_end(const char *s, size_t n, long *num, int *ch, int *width)
{
	size_t k = 0;
	long v = 0;
	int neg = 0;

	*ch = -1;
	*width = 0;
	if (n == 1 && ((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) {
		*ch = (unsigned char)s[0];
		return 1;
	}
	if (k < n && (s[k] == '-' || s[k] == '+'))
		neg = s[k++] == '-';
	if (k == n || n - k > 9)
		return 0;
	if (s[k] == '0' && n - k > 1)
		*width = (int)n;
	for (; k < n; k++) {
		if (s[k] < '0' || s[k] > '9')
			return 0;
		v = v * 10 + (s[k] - '0');
	}
	*num = neg ? -v : v;
	return 1;
}

/* {x..y} or {x..y..step} between s[i] and s[j]: 1 when it is one. */
static int brace_seq(struct parser *p, const char *s, size_t n, size_t i, size_t j,
		     struct brace_out *o, int depth);

static void brace_expand(struct parser *p, const char *s, size_t n, struct brace_out *o,
			 int depth)
{
	size_t i, j, a;
	int d, nsep = 0;

	if (o->overflow || p->sh->stop)
		return;
	if (depth > MAX_BRACE_WORDS) {
		o->overflow = 1;
		return;
	}
	for (i = 0; i < n && s[i] != BR_OPEN; i++)
		;
	if (i == n) {
		brace_push(p, o, s, n);
		return;
	}
	for (d = 0, j = i; j < n; j++) {
		if (s[j] == BR_OPEN)
			d++;
		else if (s[j] == BR_CLOSE && --d == 0)
			break;
		else if (s[j] == BR_SEP && d == 1)
			nsep++;
	}
	if (j == n) {
		/* no closing brace: this one is a literal character */
		char *c = concat3(p, s, i, "{", 1, s + i + 1, n - i - 1);

		if (c)
			brace_expand(p, c, n, o, depth + 1);
		return;
	}
	if (nsep) {
		for (a = i + 1;;) {
			size_t b = a;
			char *c;

			for (d = 0; b < j; b++) {
				if (s[b] == BR_OPEN)
					d++;
				else if (s[b] == BR_CLOSE)
					d--;
				else if (s[b] == BR_SEP && d == 0)
					break;
			}
			c = concat3(p, s, i, s + a, b - a, s + j + 1, n - j - 1);
			if (!c)
				return;
			brace_expand(p, c, strlen(c), o, depth + 1);
			if (b >= j || o->overflow)
				break;
			a = b + 1;
		}
		return;
	}
	if (brace_seq(p, s, n, i, j, o, depth))
		return;
	{
		/* {} and {word}: literal braces; what is inside may still expand */
		char *c = concat3(p, s, n, "", 0, "", 0);

		if (!c)
			return;
		c[i] = '{';
		c[j] = '}';
		brace_expand(p, c, n, o, depth + 1);
	}
}

static int brace_seq(struct parser *p, const char *s, size_t n, size_t i, size_t j,
		     struct brace_out *o, int depth)
{
	const char *in = s + i + 1, *dots, *dots2;
	size_t len = j - i - 1, k;
	long x = 0, y = 0, step = 1, count;
	int cx, cy, wx, wy, w;

	for (k = 0; k < len; k++)
		if (is_brace_mark(in[k]))
			return 0;
	dots = memmem(in, len, "..", 2);
	if (!dots)
		return 0;
	if (!parse_seq_end(in, (size_t)(dots - in), &x, &cx, &wx))
		return 0;
	dots2 = memmem(dots + 2, len - (size_t)(dots + 2 - in), "..", 2);
	if (!parse_seq_end(dots + 2, (size_t)((dots2 ? dots2 : in + len) - (dots + 2)), &y, &cy,
			   &wy))
		return 0;
	if (dots2) {
		int cs, ws;

		if (!parse_seq_end(dots2 + 2, (size_t)(in + len - (dots2 + 2)), &step, &cs, &ws) ||
		    cs >= 0)
			return 0;
		if (step < 0)
			step = -step;
		if (!step)
			step = 1;
	}
	if ((cx >= 0) != (cy >= 0))
		return 0;
	if (cx >= 0) {
		x = cx;
		y = cy;
	}
	count = (x <= y ? y - x : x - y) / step + 1;
	if (count > MAX_SEQ_WORDS) {
		o->overflow = 1;
		return 1;
	}
	w = wx > wy ? wx : wy;
	for (; count > 0 && !o->overflow; count--) {
		char item[32];
		char *c;

		if (cx >= 0)
			snprintf(item, sizeof(item), "%c", (char)x);
		else
			snprintf(item, sizeof(item), "%0*ld", w, x);
		c = concat3(p, s, i, item, strlen(item), s + j + 1, n - j - 1);
		if (!c)
			return 1;
		brace_expand(p, c, strlen(c), o, depth + 1);
		x += x <= y ? step : -step;
	}
	return 1;
}

/*
 * Brace expansion, then splitting at SPLIT_MARKs, of every word: bash's
 * order (a variable's value is never brace-expanded: it holds no marks).
 * A brace expansion past its bounds keeps the word as typed, marked as a
 * glob, which path matching treats as a wildcard.
 */
static int expand_words(struct parser *p, struct word **wv, int n)
{
	struct words_out o = { NULL, 0, 0 };
	int k, need = 0;

	for (k = 0; k < n && !need; k++)
		need = strchr((*wv)[k].v, SPLIT_MARK) || strchr((*wv)[k].v, BR_OPEN) ||
		       strchr((*wv)[k].v, BR_SEP) || strchr((*wv)[k].v, BR_CLOSE);
	if (!need)
		return n;
	for (k = 0; k < n && !p->sh->stop; k++) {
		const struct word *w = &(*wv)[k];
		const char *one[1];
		struct brace_out bo = { one, 0, 0 };
		const char *many[MAX_BRACE_WORDS];
		int b, groups = 0;
		struct word proto = *w;
		const char *q;

		for (q = w->v; *q; q++)
			groups += *q == BR_OPEN;
		if (!groups) {
			one[0] = w->v;
			bo.n = 1;
		} else {
			bo.v = many;
			if (groups <= MAX_BRACE_WORDS)
				brace_expand(p, w->v, strlen(w->v), &bo, 0);
			else
				bo.overflow = 1;
			if (bo.overflow) {
				/* too many words: keep it as typed, a wildcard */
				many[0] = w->v;
				bo.n = 1;
				proto.flags |= LH_W_GLOB;
			} else if (bo.n > 1) {
				p->sh->out->nwords += bo.n - 1;
				if (p->sh->out->nwords > LH_SHELL_MAX_WORDS) {
					p->sh->out->truncated = 1;
					fail(p, "too many words (more than %d)", LH_SHELL_MAX_WORDS);
					return n;
				}
			}
		}
		for (b = 0; b < bo.n; b++) {
			const char *str = unmark(p, bo.v[b]), *sp;

			if (!strchr(str, SPLIT_MARK)) {
				words_push(p, &o, &proto, str, strlen(str));
				continue;
			}
			while ((sp = strchr(str, SPLIT_MARK)) || *str) {
				size_t len = sp ? (size_t)(sp - str) : strlen(str);

				if (len)
					words_push(p, &o, &proto, str, len);
				if (!sp)
					break;
				str = sp + 1;
			}
		}
	}
	if (p->sh->stop)
		return n;
	*wv = o.v;
	return o.n;
}

/* Is the raw word at p->i exactly `kw` followed by a separator? */
static int at_keyword(const struct parser *p, const char *kw)
{
	size_t n = strlen(kw);
	int c;

	if (p->n - p->i < n || memcmp(p->s + p->i, kw, n))
		return 0;
	c = p->i + n < p->n ? (unsigned char)p->s[p->i + n] : -1;
	return c < 0 || is_meta(c);
}

/* ---- emitting commands ------------------------------------------------ */

static int append_cmd(struct parser *p, struct lh_scmd *c)
{
	struct lh_script *out = p->sh->out;

	if (out->ncmds >= LH_SHELL_MAX_CMDS) {
		out->truncated = 1;
		fail(p, "too many commands (more than %d)", LH_SHELL_MAX_CMDS);
		return -1;
	}
	if (out->ncmds == out->cap) {
		int cap = out->cap ? out->cap * 2 : 16;
		struct lh_scmd *v = alloc(p, sizeof(*v) * (size_t)cap);

		if (!v)
			return -1;
		if (out->ncmds)
			memcpy(v, out->cmds, sizeof(*v) * (size_t)out->ncmds);
		out->cmds = v;
		out->cap = cap;
	}
	out->cmds[out->ncmds++] = *c;
	return 0;
}

/*
 * cd DIR, pushd DIR, popd: where the commands after it run. A place known
 * only at run time is "", whose relative paths are run-time paths.
 */
static void change_dir(struct parser *p, const struct lh_scmd *c)
{
	const struct lh_shell_env *env = p->sh->env;
	const char *base = p->sh->cwd ? p->sh->cwd : env->cwd, *to = NULL;
	int k, dynamic = 0;

	if (strcmp(c->name, "cd") && strcmp(c->name, "pushd") && strcmp(c->name, "popd"))
		return;
	if (!strcmp(c->name, "popd")) {
		p->sh->cwd = "";
		return;
	}
	for (k = 1; k < c->argc; k++) {
		const char *a = c->argv[k];

		if (!strcmp(a, "--")) {
			if (k + 1 < c->argc) {
				to = c->argv[k + 1];
				dynamic = c->wflags[k + 1] & LH_W_DYNAMIC;
			}
			break;
		}
		if (a[0] == '-' && a[1] && strspn(a + 1, "LPe@") == strlen(a + 1))
			continue;
		to = a;
		dynamic = c->wflags[k] & LH_W_DYNAMIC;
		break;
	}
	if (!to)
		to = env->home ? env->home : "";	/* cd alone: home */
	if (dynamic || !strcmp(to, "-") || !to[0] ||
	    ((!base || !base[0]) && to[0] != '/' && to[0] != '~')) {
		p->sh->cwd = "";
		return;
	}
	p->sh->cwd = lh_path_resolve(p->sh->arena, to, base && base[0] ? base : "/", env->home);
	if (!p->sh->cwd)
		p->sh->cwd = "";
}

static void emit(struct parser *p, const char **argv, const unsigned char *wf, int argc,
		 struct lh_redir *redirs, int nredirs, unsigned ctx, const char *wrappers)
{
	struct lh_scmd c;
	const char **av;
	unsigned char *f;

	if (argc <= 0 || p->sh->stop)
		return;
	av = alloc(p, sizeof(*av) * (size_t)(argc + 1));
	f = alloc(p, (size_t)argc);
	if (!av || !f)
		return;
	memcpy(av, argv, sizeof(*av) * (size_t)argc);
	av[argc] = NULL;
	memcpy(f, wf, (size_t)argc);
	c.argv = av;
	c.wflags = f;
	c.argc = argc;
	c.name = (wf[0] & LH_W_DYNAMIC) ? "" : lh_shell_basename(av[0]);
	c.redirs = redirs;
	c.nredirs = nredirs;
	c.pipe_from = (ctx & LH_CTX_SUBST) && !(p->ctx & LH_CTX_SUBST) ? NULL : p->pipe_from;
	c.wrappers = wrappers ? wrappers : "";
	c.ctx = ctx | p->elem_ctx;
	if (!c.pipe_from)
		c.ctx &= ~(unsigned)LH_CTX_PIPE_IN;
	c.depth = p->depth;
	c.cwd = p->sh->cwd;
	if (append_cmd(p, &c) == 0 && !(ctx & LH_CTX_DEFINITION))
		change_dir(p, &c);
}

static const char *join_words(struct parser *p, const char *const *argv, int argc)
{
	size_t n = 0;
	char *s, *q;
	int k;

	for (k = 0; k < argc; k++)
		n += strlen(argv[k]) + 1;
	s = alloc(p, n + 1);
	if (!s)
		return "";
	q = s;
	for (k = 0; k < argc; k++) {
		size_t l = strlen(argv[k]);

		memcpy(q, argv[k], l);
		q += l;
		if (k + 1 < argc)
			*q++ = ' ';
	}
	*q = '\0';
	return s;
}

static const char *add_wrapper(struct parser *p, const char *wrappers, const char *name)
{
	size_t a = wrappers ? strlen(wrappers) : 0, b = strlen(name);
	char *s = alloc(p, a + b + 2);

	if (!s)
		return wrappers;
	if (a) {
		memcpy(s, wrappers, a);
		s[a++] = ' ';
	}
	memcpy(s + a, name, b + 1);
	return s;
}

/* ---- interpreters ------------------------------------------------------------ */

struct interp_run {
	struct parser *p;
	enum lh_lang lang;
	unsigned ctx;
	const char *wrappers;
};

static void emit(struct parser *p, const char **argv, const unsigned char *wf, int argc,
		 struct lh_redir *redirs, int nredirs, unsigned ctx, const char *wrappers);

/*
 * Words of commands made from interpreter code that hold LH_INTERP_DYN
 * are run-time words: flag them (and their redirections) and show the
 * unknown part as '?'.
 */
static void mark_dynamic(struct parser *p, int from)
{
	int k, i;

	for (k = from; k < p->sh->out->ncmds; k++) {
		struct lh_scmd *c = &p->sh->out->cmds[k];

		for (i = 0; i < c->argc; i++) {
			char *w = (char *)c->argv[i], *q;

			if (!strchr(w, LH_INTERP_DYN))
				continue;
			for (q = w; *q; q++)
				if (*q == LH_INTERP_DYN)
					*q = '?';
			((unsigned char *)c->wflags)[i] |= LH_W_DYNAMIC;
			if (!i)
				c->name = "";
		}
		for (i = 0; i < c->nredirs; i++) {
			char *t = (char *)c->redirs[i].target, *q;

			if (!t || !strchr(t, LH_INTERP_DYN))
				continue;
			for (q = t; *q; q++)
				if (*q == LH_INTERP_DYN)
					*q = '?';
			c->redirs[i].dynamic = 1;
		}
	}
}

/*
 * A command line found in interpreter code. Our parser is stricter than a
 * shell in places and the line may be a guess (a string that was not a
 * command at all): a syntax error in it keeps what was parsed and is not
 * an error of the request. Limits still stop everything.
 */
static void subparse_lenient(struct parser *p, const char *s, size_t n, unsigned ctx,
			     const char *wrappers)
{
	const char *err = p->sh->out->error;

	subparse(p, s, n, ctx, wrappers);
	if (p->sh->stop && !p->sh->oom && !p->sh->out->truncated) {
		p->sh->stop = 0;
		p->sh->out->error = err;
	}
}

static void run_code(struct parser *p, enum lh_lang lang, const char *code, size_t n,
		     unsigned ctx, const char *wrappers);

static void on_interp(void *arg, const struct lh_interp_act *a)
{
	struct interp_run *ir = arg;
	struct parser *p = ir->p;
	int from = p->sh->out->ncmds, k;

	if (p->sh->stop)
		return;
	switch (a->kind) {
	case LH_INTERP_SHELL:
		subparse_lenient(p, a->text, strlen(a->text), ir->ctx | LH_CTX_STRING, ir->wrappers);
		break;
	case LH_INTERP_ARGV:
	case LH_INTERP_CHMOD: {
		int off = a->kind == LH_INTERP_CHMOD, n = a->argc + off;
		const char **av = alloc(p, sizeof(*av) * (size_t)(n + 1));
		unsigned char *wf = alloc(p, (size_t)n + 1);

		if (!av || !wf)
			return;
		if (off)
			av[0] = "chmod";
		for (k = 0; k < a->argc; k++)
			av[k + off] = sdup(p, a->argv[k], strlen(a->argv[k]));
		av[n] = NULL;
		memset(wf, 0, (size_t)n + 1);
		if (n > 0)
			unwrap(p, av, wf, n, NULL, 0, ir->ctx, ir->wrappers, NULL);
		break;
	}
	case LH_INTERP_DELETE:
	case LH_INTERP_RMTREE: {
		const char *av[5];
		unsigned char wf[4] = { 0, 0, 0, 0 };
		int n = 0;

		av[n++] = "rm";
		if (a->kind == LH_INTERP_RMTREE)
			av[n++] = "-rf";
		av[n++] = "--";
		av[n++] = sdup(p, a->text, strlen(a->text));
		av[n] = NULL;
		emit(p, av, wf, n, NULL, 0, ir->ctx, ir->wrappers);
		break;
	}
	case LH_INTERP_WRITE: {
		static const char *colon[] = { ":" };
		static const unsigned char cf[] = { 0 };
		struct lh_redir *r = alloc(p, sizeof(*r));

		if (!r)
			return;
		memset(r, 0, sizeof(*r));
		r->op = LH_REDIR_OUT;
		r->fd = 1;
		r->target = sdup(p, a->text, strlen(a->text));
		emit(p, colon, cf, 1, r, 1, ir->ctx, ir->wrappers);
		break;
	}
	case LH_INTERP_CODE:
		run_code(p, ir->lang, a->text, strlen(a->text), ir->ctx, ir->wrappers);
		break;
	}
	mark_dynamic(p, from);
}

/* Judge interpreter code: what it runs, deletes and writes (interp.h). */
static void run_code(struct parser *p, enum lh_lang lang, const char *code, size_t n,
		     unsigned ctx, const char *wrappers)
{
	struct interp_run ir = { p, lang, ctx | LH_CTX_INTERP, wrappers };

	if (!enter(p))
		return;
	p->depth++;
	if (lh_interp_scan(p->sh->arena, lang, code, n, on_interp, &ir) == -ENOMEM &&
	    !p->sh->stop) {
		p->sh->oom = 1;
		p->sh->out->truncated = 1;
		fail(p, "command too large to judge");
	}
	p->depth--;
}

/* A crontab read from stdin: each line's command runs later, unattended. */
static void run_crontab(struct parser *p, const char *text, unsigned ctx, const char *wrappers)
{
	while (*text && !p->sh->stop) {
		const char *e = strchr(text, '\n'), *q = text;
		size_t len = e ? (size_t)(e - text) : strlen(text);
		int fields = 5, k;

		while (q < text + len && (*q == ' ' || *q == '\t'))
			q++;
		if (q < text + len && *q != '#' && !(is_name_start((unsigned char)*q) &&
						     memchr(q, '=', (size_t)(text + len - q)) &&
						     strcspn(q, "= \t") < strcspn(q, " \t"))) {
			if (*q == '@')
				fields = 1;	/* @reboot, @daily... */
			for (k = 0; k < fields && q < text + len; k++) {
				while (q < text + len && *q != ' ' && *q != '\t')
					q++;
				while (q < text + len && (*q == ' ' || *q == '\t'))
					q++;
			}
			if (q < text + len)
				subparse(p, q, (size_t)(text + len - q), ctx, wrappers);
		}
		text += len;
		if (*text == '\n')
			text++;
	}
}

/* A program read from stdin (a here-document, a here-string, a pipe). */
static void run_stdin(struct parser *p, int lang, const char *text, unsigned ctx,
		      const char *wrappers)
{
	if (lang == LH_LANG_CRON)
		run_crontab(p, text, ctx, wrappers);
	else if (lang == LH_LANG_SHELL)
		subparse(p, text, strlen(text), ctx | LH_CTX_STDIN_SCRIPT, wrappers);
	else if (lang != LH_LANG_NONE)
		run_code(p, (enum lh_lang)lang, text, strlen(text), ctx | LH_CTX_STDIN_SCRIPT,
			 wrappers);
}

/* Options of an interpreter that take the next word as their value. */
static int interp_opt_value(enum lh_lang lang, const char *a)
{
	static const char *const node[] = { "-r", "--require", "--import", "--loader",
		"--experimental-loader", "-C", "--conditions", "--title", "--env-file", NULL };
	static const char *const awk[] = { "-F", "-v", "-f", "-i", "--include", "--field-separator",
		"--assign", "--file", NULL };
	const char *const *v = lang == LH_LANG_NODE ? node : lang == LH_LANG_AWK ? awk : NULL;

	for (; v && *v; v++)
		if (!strcmp(*v, a))
			return 1;
	return 0;
}

/*
 * Returns 1 when the inline code is known only at run time.
 *
 * Find an interpreter's program among its arguments: inline code
 * (-c, -e, -E, --eval, -p, -r, the first awk argument), a script file, or
 * stdin. Inline code is scanned now; a program read from stdin is
 * reported through *stdin_lang so that here-documents and pipes feeding
 * it are scanned when they are read.
 */
static int interp_program(struct parser *p, enum lh_lang lang, const char **argv,
			  const unsigned char *wf, int argc, unsigned ctx, const char *wrappers,
			  int *stdin_lang)
{
	struct wb code;
	int i, have_code = 0, script = 0, dynamic = 0;

	wb_init(&code, p);
	for (i = 1; i < argc && !script; i++) {
		const char *a = argv[i];
		int j;

		if (!strcmp(a, "-")) {
			break;			/* the program comes from stdin */
		}
		if (!strcmp(a, "--") || a[0] != '-' || !a[1]) {
			/* the program (awk) or a script file; what follows are its arguments */
			if (!strcmp(a, "--")) {
				if (++i >= argc)
					break;
				a = argv[i];
			}
			if (lang == LH_LANG_AWK && !have_code) {
				if (wf[i] & LH_W_DYNAMIC)
					dynamic = 1;
				wb_add(&code, a, strlen(a));
				have_code = 1;
			}
			script = 1;
			break;
		}
		if (a[1] == '-') {
			/* long options */
			const char *eq = strchr(a, '=');
			size_t l = eq ? (size_t)(eq - a) : strlen(a);

			if ((lang == LH_LANG_NODE && ((l == 6 && !strncmp(a, "--eval", 6)) ||
						      (l == 7 && !strncmp(a, "--print", 7)))) ||
			    (lang == LH_LANG_AWK && l == 8 && !strncmp(a, "--source", 8))) {
				const char *v = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;

				if (v) {
					if (wf[i] & LH_W_DYNAMIC)
						dynamic = 1;
					if (have_code)
						wb_addc(&code, '\n');
					wb_add(&code, v, strlen(v));
					have_code = 1;
				}
				continue;
			}
			if (lang == LH_LANG_AWK && l == 6 && !strncmp(a, "--file", 6))
				have_code = -1;
			if (!eq && interp_opt_value(lang, a))
				i++;
			continue;
		}
		if (interp_opt_value(lang, a)) {
			if (lang == LH_LANG_AWK && !strcmp(a, "-f"))
				have_code = -1;	/* the program is in a file */
			i++;
			continue;
		}
		/* a bundle of short options */
		for (j = 1; a[j]; j++) {
			char o = a[j];
			int code_opt = (lang == LH_LANG_PYTHON && o == 'c') ||
				       ((lang == LH_LANG_PERL || lang == LH_LANG_RUBY) &&
					(o == 'e' || o == 'E')) ||
				       (lang == LH_LANG_NODE && (o == 'e' || o == 'p')) ||
				       (lang == LH_LANG_PHP && (o == 'r' || o == 'B' || o == 'R' ||
								o == 'E')) ||
				       (lang == LH_LANG_AWK && o == 'e');

			if (code_opt) {
				const char *v = a[j + 1] ? a + j + 1 : i + 1 < argc ? argv[++i] : NULL;

				if (v) {
					if (wf[i] & LH_W_DYNAMIC)
						dynamic = 1;
					if (have_code > 0)
						wb_addc(&code, '\n');
					wb_add(&code, v, strlen(v));
					have_code = 1;
				}
				if (lang == LH_LANG_PYTHON)
					script = 1;	/* the rest are sys.argv */
				break;
			}
			if (lang == LH_LANG_PYTHON && o == 'm') {
				script = 1;		/* a module: its code is a file */
				break;
			}
			if ((lang == LH_LANG_PYTHON && strchr("WXQ", o)) ||
			    (lang == LH_LANG_RUBY && strchr("IrCEF", o)) ||
			    (lang == LH_LANG_PHP && strchr("cdfzt", o)) ||
			    (lang == LH_LANG_AWK && strchr("Fvfi", o)) ||
			    (lang == LH_LANG_PERL && o == 'I')) {
				if (lang == LH_LANG_PHP && o == 'f')
					script = 1;
				if (lang == LH_LANG_AWK && o == 'f')
					have_code = -1;
				if (!a[j + 1])
					i++;	/* the value is the next word */
				break;
			}
			if (lang == LH_LANG_PERL && strchr("iMmxCdDFV", o))
				break;		/* the rest of the word is the value */
			if ((lang == LH_LANG_PERL || lang == LH_LANG_RUBY) && (o == 'l' || o == '0')) {
				while (a[j + 1] >= '0' && a[j + 1] <= '9')
					j++;
				continue;
			}
		}
	}
	if (have_code > 0 && !dynamic) {
		run_code(p, lang, wb_str(&code), code.len, ctx, wrappers);
		return 0;
	}
	if (have_code || script || dynamic || lang == LH_LANG_AWK)
		return dynamic;
	if (i >= argc || !strcmp(argv[i], "-")) {
		if (stdin_lang)
			*stdin_lang = lang;
	}
	return 0;
}

/*
 * Items of a known xargs input, split at blanks and newlines: at most max,
 * else -1 (too many to list: the input is treated as unknown).
 */
static int split_items(struct parser *p, const char *text, const char **items, int max)
{
	int n = 0;

	while (*text) {
		size_t l;

		while (*text == ' ' || *text == '\t' || *text == '\n')
			text++;
		l = strcspn(text, " \t\n");
		if (!l)
			break;
		if (n == max)
			return -1;
		items[n++] = sdup(p, text, l);
		text += l;
	}
	return n;
}

/* `word` with every `what` in it replaced by `with`. */
static const char *replace_all(struct parser *p, const char *word, const char *what,
			       const char *with)
{
	size_t wl = strlen(what), xl = strlen(with), n = 0;
	const char *q;
	char *out, *o;

	for (q = word; (q = strstr(q, what)); q += wl)
		n++;
	if (!n)
		return word;
	out = alloc(p, strlen(word) + n * xl + 1);
	if (!out)
		return word;
	for (o = out, q = word;;) {
		const char *hit = strstr(q, what);
		size_t l = hit ? (size_t)(hit - q) : strlen(q);

		memcpy(o, q, l);
		o += l;
		if (!hit)
			break;
		memcpy(o, with, xl);
		o += xl;
		q = hit + wl;
	}
	*o = '\0';
	return out;
}

/* ---- wrappers ----------------------------------------------------------- */

enum wkind {
	W_OPTS,		/* options, then the command */
	W_ENV,		/* env: options, NAME=VALUE..., command */
	W_COMMAND,	/* command [-p] cmd; command -v is a lookup */
	W_SHELL,	/* sh -c STRING, sh SCRIPT, sh (stdin) */
	W_EVAL,		/* eval WORDS */
	W_SU,		/* su [-] [user] [-c CMD] */
	W_SSH,		/* ssh [opts] host [CMD...] */
	W_WATCH,	/* watch [opts] CMD... (a string unless -x) */
	W_XARGS,	/* xargs [opts] [CMD...] */
	W_PARALLEL,	/* parallel [opts] CMD ::: ARGS */
	W_FIND,		/* find ROOTS EXPR with -exec/-execdir/-ok/-okdir */
	W_BUSYBOX,	/* busybox APPLET ARGS */
	W_FLOCK,	/* flock [opts] FILE (CMD | -c STRING) */
	W_CSTRING,	/* script -c STRING, sg GROUP (-c STRING | STRING) */
};

struct wrapper {
	const char *name;
	enum wkind kind;
	const char *short_arg;		/* short options that take a value */
	const char *const *long_arg;	/* long options that take a value */
	int positionals;		/* words to skip after options (timeout DURATION) */
	unsigned ctx;			/* context the wrapper adds */
};

static const char *const sudo_long[] = { "--user", "--group", "--prompt", "--close-from",
	"--chdir", "--host", "--role", "--type", "--command-timeout", "--other-user",
	"--chroot", NULL };
static const char *const env_long[] = { "--unset", "--chdir", "--split-string",
	"--block-signal", "--default-signal", "--ignore-signal", NULL };
static const char *const nice_long[] = { "--adjustment", NULL };
static const char *const timeout_long[] = { "--signal", "--kill-after", NULL };
static const char *const stdbuf_long[] = { "--input", "--output", "--error", NULL };
static const char *const ionice_long[] = { "--class", "--classdata", NULL };
static const char *const time_long[] = { "--output", "--format", NULL };
static const char *const chroot_long[] = { "--userspec", "--groups", NULL };
static const char *const xargs_long[] = { "--arg-file", "--delimiter", "--max-args",
	"--max-procs", "--max-chars", "--process-slot-var", NULL };
static const char *const runuser_long[] = { "--user", "--group", "--supp-group",
	"--shell", "--command", NULL };
static const char *const shell_long[] = { "--rcfile", "--init-file", NULL };
static const char *const watch_long[] = { "--interval", NULL };
static const char *const flock_long[] = { "--timeout", "--wait", "--conflict-exit-code",
	"--command", NULL };
static const char *const none_long[] = { NULL };

static const struct wrapper wrapper_table[] = {
	{ "sudo", W_OPTS, "ugpCDhrtTUR", sudo_long, 0, LH_CTX_PRIV },
	{ "doas", W_OPTS, "uC", none_long, 0, LH_CTX_PRIV },
	{ "pkexec", W_OPTS, "u", none_long, 0, LH_CTX_PRIV },
	{ "runuser", W_OPTS, "ugGsc", runuser_long, 0, LH_CTX_PRIV },
	{ "gosu", W_OPTS, "", none_long, 1, LH_CTX_PRIV },
	{ "su-exec", W_OPTS, "", none_long, 1, LH_CTX_PRIV },
	{ "chroot", W_OPTS, "", chroot_long, 1, LH_CTX_PRIV },
	{ "env", W_ENV, "uCS", env_long, 0, 0 },
	{ "command", W_COMMAND, "", none_long, 0, 0 },
	{ "builtin", W_OPTS, "", none_long, 0, 0 },
	{ "exec", W_OPTS, "a", none_long, 0, 0 },
	{ "nice", W_OPTS, "n", nice_long, 0, 0 },
	{ "nohup", W_OPTS, "", none_long, 0, 0 },
	{ "setsid", W_OPTS, "", none_long, 0, 0 },
	{ "time", W_OPTS, "of", time_long, 0, 0 },
	{ "timeout", W_OPTS, "sk", timeout_long, 1, 0 },
	{ "stdbuf", W_OPTS, "ioe", stdbuf_long, 0, 0 },
	{ "ionice", W_OPTS, "cnp", ionice_long, 0, 0 },
	{ "chrt", W_OPTS, "", none_long, 1, 0 },
	{ "taskset", W_OPTS, "", none_long, 1, 0 },
	{ "unbuffer", W_OPTS, "", none_long, 0, 0 },
	{ "rlwrap", W_OPTS, "", none_long, 0, 0 },
	{ "caffeinate", W_OPTS, "", none_long, 0, 0 },
	{ "proxychains", W_OPTS, "f", none_long, 0, 0 },
	{ "proxychains4", W_OPTS, "f", none_long, 0, 0 },
	{ "torsocks", W_OPTS, "", none_long, 0, 0 },
	{ "sh", W_SHELL, "o", shell_long, 0, 0 },
	{ "bash", W_SHELL, "o", shell_long, 0, 0 },
	{ "zsh", W_SHELL, "o", shell_long, 0, 0 },
	{ "dash", W_SHELL, "o", shell_long, 0, 0 },
	{ "ksh", W_SHELL, "o", shell_long, 0, 0 },
	{ "mksh", W_SHELL, "o", shell_long, 0, 0 },
	{ "ash", W_SHELL, "o", shell_long, 0, 0 },
	{ "yash", W_SHELL, "o", shell_long, 0, 0 },
	{ "posh", W_SHELL, "o", shell_long, 0, 0 },
	{ "fish", W_SHELL, "", shell_long, 0, 0 },
	{ "csh", W_SHELL, "", shell_long, 0, 0 },
	{ "tcsh", W_SHELL, "", shell_long, 0, 0 },
	{ "eval", W_EVAL, "", none_long, 0, 0 },
	{ "su", W_SU, "sgGw", none_long, 0, LH_CTX_PRIV },
	{ "ssh", W_SSH, "BbcDEeFIiJLlmOopQRSWw", none_long, 0, LH_CTX_REMOTE },
	{ "watch", W_WATCH, "nq", watch_long, 0, 0 },
	{ "xargs", W_XARGS, "aEIdLnPs", xargs_long, 0, LH_CTX_EXEC },
	{ "parallel", W_PARALLEL, "jPS", none_long, 0, LH_CTX_EXEC },
	{ "find", W_FIND, "", none_long, 0, 0 },
	{ "busybox", W_BUSYBOX, "", none_long, 0, 0 },
	{ "flock", W_FLOCK, "wEc", flock_long, 0, 0 },
	/* programs that run a program: tracers, sandboxes, session and package runners */
	{ "strace", W_OPTS, "oepsuEabIOPSX", none_long, 0, 0 },
	{ "ltrace", W_OPTS, "oepsunaADFlxw", none_long, 0, 0 },
	{ "valgrind", W_OPTS, "", none_long, 0, 0 },
	{ "unshare", W_OPTS, "", none_long, 0, 0 },
	{ "setpriv", W_OPTS, "", none_long, 0, 0 },
	{ "systemd-run", W_OPTS, "pEMu", none_long, 0, 0 },
	{ "firejail", W_OPTS, "", none_long, 0, 0 },
	{ "catchsegv", W_OPTS, "", none_long, 0, 0 },
	{ "xvfb-run", W_OPTS, "sfenp", none_long, 0, 0 },
	{ "dbus-run-session", W_OPTS, "", none_long, 0, 0 },
	{ "faketime", W_OPTS, "", none_long, 1, 0 },
	{ "npx", W_OPTS, "pc", none_long, 0, 0 },
	{ "pnpx", W_OPTS, "pc", none_long, 0, 0 },
	{ "bunx", W_OPTS, "pc", none_long, 0, 0 },
	{ "script", W_CSTRING, "", none_long, 0, 0 },
	{ "sg", W_CSTRING, "", none_long, 0, 0 },
};

static const struct wrapper *find_wrapper(const char *name)
{
	size_t k;

	for (k = 0; k < sizeof(wrapper_table) / sizeof(wrapper_table[0]); k++)
		if (wrapper_table[k].name[0] == name[0] && !strcmp(wrapper_table[k].name, name))
			return &wrapper_table[k];
	return NULL;
}

static int in_list(const char *const *list, const char *s, size_t n)
{
	for (; *list; list++)
		if (strlen(*list) == n && !memcmp(*list, s, n))
			return 1;
	return 0;
}

/*
 * Skip the options of a wrapper. Returns the index of the first word after
 * them (argc when none is left).
 */
static int skip_opts(const char **argv, int argc, const struct wrapper *w, int start)
{
	int i = start;

	while (i < argc) {
		const char *a = argv[i];
		const char *eq;
		int j;

		if (!strcmp(a, "--"))
			return i + 1;
		if (a[0] != '-' || !a[1])
			return i;
		if (a[1] == '-') {
			eq = strchr(a, '=');
			if (!eq && in_list(w->long_arg, a, strlen(a)))
				i++;
			i++;
			continue;
		}
		for (j = 1; a[j]; j++) {
			if (strchr(w->short_arg, a[j])) {
				if (!a[j + 1])
					i++;
				break;
			}
		}
		i++;
	}
	return i < argc ? i : argc;	/* an option missing its value ends the words */
}

static int is_assignment(const char *w)
{
	const char *q = w;

	if (!is_name_start((unsigned char)*q))
		return 0;
	while (is_name_char((unsigned char)*q))
		q++;
	return *q == '=' || (q[0] == '+' && q[1] == '=');
}

static int is_stdin_path(const char *w)
{
	return !strcmp(w, "/dev/stdin") || !strcmp(w, "/proc/self/fd/0") || !strcmp(w, "/dev/fd/0");
}

/* sh -c: returns 1 if the shell reads its commands from stdin. */
static int unwrap_shell(struct parser *p, const char **argv, const unsigned char *wf, int argc,
			unsigned ctx, const char *wrappers, int *handled)
{
	int i = 1, cflag = 0;

	*handled = 0;
	while (i < argc) {
		const char *a = argv[i];

		if (!strcmp(a, "--") || !strcmp(a, "-")) {
			i++;
			break;
		}
		if ((a[0] != '-' && a[0] != '+') || !a[1])
			break;
		if (a[0] == '-' && a[1] == '-') {
			if (in_list(shell_long, a, strlen(a)))
				i++;
			i++;
			continue;
		}
		if (strchr(a + 1, 'c') && a[0] == '-')
			cflag = 1;
		if (strchr(a + 1, 'o'))
			i++;
		i++;
	}
	if (cflag) {
		if (i < argc) {
			*handled = 1;
			if (wf[i] & LH_W_DYNAMIC) {
				/* the string is not known: judge the shell itself */
				*handled = -1;
				return 0;
			}
			subparse(p, argv[i], strlen(argv[i]), ctx | LH_CTX_STRING, wrappers);
		}
		return 0;
	}
	/* no script file, or /dev/stdin: commands come from stdin */
	return i >= argc || is_stdin_path(argv[i]);
}

static void unwrap_find(struct parser *p, const char **argv, unsigned char *wf, int argc,
			struct lh_redir *redirs, int nredirs, unsigned ctx,
			const char *wrappers)
{
	const char *root = ".", *entries;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] == '-' || a[0] == '(' || a[0] == '!' || a[0] == ',')
			break;
		if (i == 1)
			root = a;
	}
	/*
	 * {} is each file found under the root: ROOT/ followed by a wildcard
	 * (`find / -exec rm -rf {}` deletes everything under /).
	 */
	{
		size_t rl = strlen(root);
		char *e = alloc(p, rl + 3);

		if (!e)
			return;
		memcpy(e, root, rl);
		if (rl && root[rl - 1] == '/')
			rl--;
		memcpy(e + rl, "/*", 3);
		entries = e;
	}
	/* find itself, without the commands it runs (judged on their own below) */
	{
		const char **own = alloc(p, sizeof(*own) * (size_t)(argc + 1));
		unsigned char *of = alloc(p, (size_t)argc + 1);
		int j, n = 0, skip = 0;

		if (!own || !of)
			return;
		for (j = 0; j < argc; j++) {
			const char *a = argv[j];

			if (skip) {
				if (!strcmp(a, ";") || !strcmp(a, "+"))
					skip = 0;
				continue;
			}
			if (!strcmp(a, "-exec") || !strcmp(a, "-execdir") || !strcmp(a, "-ok") ||
			    !strcmp(a, "-okdir")) {
				skip = 1;
				continue;
			}
			own[n] = a;
			of[n++] = wf[j];
		}
		own[n] = NULL;
		emit(p, own, of, n, redirs, nredirs, ctx, wrappers);
	}
	for (; i < argc; i++) {
		const char *a = argv[i];
		int j, n;
		const char **sub;
		unsigned char *sf;

		if (strcmp(a, "-exec") && strcmp(a, "-execdir") && strcmp(a, "-ok") &&
		    strcmp(a, "-okdir"))
			continue;
		for (j = i + 1; j < argc; j++)
			if (!strcmp(argv[j], ";") || !strcmp(argv[j], "+"))
				break;
		n = j - i - 1;
		if (n > 0) {
			int k;

			sub = alloc(p, sizeof(*sub) * (size_t)n);
			sf = alloc(p, (size_t)n);
			if (!sub || !sf)
				return;
			for (k = 0; k < n; k++) {
				sub[k] = strcmp(argv[i + 1 + k], "{}") ? argv[i + 1 + k] : entries;
				sf[k] = wf[i + 1 + k];
			}
			unwrap(p, sub, sf, n, NULL, 0, ctx | LH_CTX_EXEC,
			       add_wrapper(p, wrappers, "find"), NULL);
		}
		i = j;
	}
}

/*
 * Commands that read a program from stdin besides shells and interpreters:
 * source /dev/stdin, and crontab with no file (its table, each line's
 * command run later). Returns the language, or `lang` unchanged.
 */
static int reads_program(const char **argv, int argc, int lang)
{
	const char *name = lh_shell_basename(argv[0]);
	int k;

	if ((!strcmp(name, "source") || !strcmp(name, ".")) && argc > 1 && is_stdin_path(argv[1]))
		return LH_LANG_SHELL;
	if (!strcmp(name, "crontab")) {
		const char *file = NULL;

		for (k = 1; k < argc; k++) {
			const char *a = argv[k];

			if (!strcmp(a, "-u") || !strcmp(a, "-s")) {
				k++;
				continue;
			}
			if (!strcmp(a, "-"))
				return LH_LANG_CRON;
			if (a[0] == '-')
				return lang;	/* -l -r -e -i: no table read */
			file = a;
		}
		return file ? lang : LH_LANG_CRON;
	}
	return lang;
}

/*
 * git settings whose value is a command git runs through sh: 1; 2 for
 * those that are one only after a '!' (alias.*, credential.helper).
 */
static int git_command_key(const char *k, size_t n)
{
	static const char *const keys[] = { "core.pager", "core.sshcommand", "core.editor",
		"core.fsmonitor", "sequence.editor", "diff.external", "gpg.program",
		"core.askpass", NULL };
	char low[64];
	size_t i;
	int x;

	if (n >= sizeof(low))
		return 0;
	for (i = 0; i < n; i++)
		low[i] = (char)tolower((unsigned char)k[i]);
	low[n] = '\0';
	for (x = 0; keys[x]; x++)
		if (!strcmp(low, keys[x]))
			return 1;
	if (!strncmp(low, "alias.", 6) || !strcmp(low, "credential.helper"))
		return 2;
	return !strncmp(low, "pager.", 6) || (n > 9 && !strcmp(low + n - 9, ".textconv"));
}

/*
 * Options whose value is a command the program runs through a shell:
 * git -c core.pager=CMD (and git config KEY CMD), tar
 * --checkpoint-action=exec=CMD / --to-command / -I, rsync -e, ssh -o
 * ProxyCommand=CMD, vim -c '!CMD', zip -TT CMD, npx -c CMD. The value is
 * parsed as shell, in context string, with the program as wrapper.
 */
static void exec_options(struct parser *p, const char **argv, const unsigned char *wf, int argc,
			 unsigned ctx, const char *wrappers)
{
	const char *name = lh_shell_basename(argv[0]);
	const char *w;
	int k, x, git_sub = 0;

	if (!name[0] || !strchr("gtrsvnzpbe", name[0]))
		return;
	w = add_wrapper(p, wrappers, name);
	for (k = 1; k < argc; k++) {
		const char *a = argv[k], *v = NULL, *next = k + 1 < argc ? argv[k + 1] : NULL;
		int vk = k;

		if (!strcmp(name, "git")) {
			if (!strcmp(a, "-c") && next) {
				const char *eq = strchr(next, '=');

				vk = ++k;
				if (eq && (x = git_command_key(next, (size_t)(eq - next))) &&
				    (x == 1 || eq[1] == '!'))
					v = eq + 1;
			} else if (!strcmp(a, "-C") && next) {
				k++;
			} else if (!strncmp(a, "--upload-pack=", 14) || !strncmp(a, "--receive-pack=", 15) ||
				   !strncmp(a, "--exec=", 7)) {
				v = strchr(a, '=') + 1;
			} else if (a[0] != '-' && !git_sub++ && !strcmp(a, "config")) {
				/* git config [opts] KEY VALUE */
				int j = k + 1;

				while (j < argc && argv[j][0] == '-')
					j++;
				if (j + 1 < argc && (x = git_command_key(argv[j], strlen(argv[j]))) &&
				    (x == 1 || argv[j + 1][0] == '!')) {
					v = argv[j + 1];
					vk = j + 1;
				}
				k = argc;
			}
			if (v && v[0] == '!')
				v++;
		} else if (!strcmp(name, "tar")) {
			if (!strncmp(a, "--checkpoint-action=exec=", 25))
				v = a + 25;
			else if (!strncmp(a, "--to-command=", 13) || !strncmp(a, "--use-compress-program=", 23))
				v = strchr(a, '=') + 1;
			else if ((!strcmp(a, "--to-command") || !strcmp(a, "--use-compress-program") ||
				  !strcmp(a, "-I")) && next)
				v = next, vk = ++k;
			else if (!strncmp(a, "-I", 2) && a[2])
				v = a + 2;
		} else if (!strcmp(name, "rsync")) {
			if (!strncmp(a, "--rsh=", 6))
				v = a + 6;
			else if ((!strcmp(a, "-e") || !strcmp(a, "--rsh")) && next)
				v = next, vk = ++k;
		} else if (!strcmp(name, "ssh") || !strcmp(name, "scp") || !strcmp(name, "sftp")) {
			const char *o = NULL;

			if (!strcmp(a, "-o") && next)
				o = next, vk = ++k;
			else if (!strncmp(a, "-o", 2) && a[2])
				o = a + 2;
			if (o && (!strncasecmp(o, "ProxyCommand", 12) || !strncasecmp(o, "LocalCommand", 12))) {
				o += 12;
				while (*o == ' ' || *o == '=')
					o++;
				v = o;
			}
		} else if (!strcmp(name, "vim") || !strcmp(name, "vi") || !strcmp(name, "nvim") ||
			   !strcmp(name, "view") || !strcmp(name, "ex") || !strcmp(name, "rvim")) {
			const char *c = NULL;

			if ((!strcmp(a, "-c") || !strcmp(a, "--cmd")) && next)
				c = next, vk = ++k;
			else if (a[0] == '+' && a[1])
				c = a + 1;
			while (c && (*c == ':' || *c == ' '))
				c++;
			if (c && *c == '!')
				v = c + 1;
		} else if (!strcmp(name, "zip")) {
			if ((!strcmp(a, "-TT") || !strcmp(a, "--unzip-command")) && next)
				v = next, vk = ++k;
			else if (!strncmp(a, "--unzip-command=", 16))
				v = a + 16;
		} else if (!strcmp(name, "npx") || !strcmp(name, "pnpx") || !strcmp(name, "bunx")) {
			if ((!strcmp(a, "-c") || !strcmp(a, "--call")) && next)
				v = next, vk = ++k;
			else if (!strncmp(a, "--call=", 7))
				v = a + 7;
		}
		if (v && *v && !(wf[vk] & LH_W_DYNAMIC))
			subparse(p, v, strlen(v), ctx | LH_CTX_STRING, w);
	}
}

static void unwrap(struct parser *p, const char **argv, unsigned char *wf, int argc,
		   struct lh_redir *redirs, int nredirs, unsigned ctx,
		   const char *wrappers, int *stdin_lang)
{
	int guard;

	if (stdin_lang)
		*stdin_lang = LH_LANG_NONE;
	for (guard = 0; guard < 32 && argc > 0 && !p->sh->stop; guard++) {
		const struct wrapper *w;
		const char *name;
		int k, handled;

		if (wf[0] & LH_W_DYNAMIC)
			break;
		name = lh_shell_basename(argv[0]);
		w = find_wrapper(name);
		if (!w) {
			enum lh_lang lang = lh_interp_lang(name);

			if (lang != LH_LANG_NONE &&
			    interp_program(p, lang, argv, wf, argc, ctx, add_wrapper(p, wrappers, name),
					   stdin_lang))
				ctx |= LH_CTX_RUNTIME_CODE;
			break;
		}
		switch (w->kind) {
		case W_OPTS:
			k = skip_opts(argv, argc, w, 1) + w->positionals;
			if (!strcmp(name, "sudo") || !strcmp(name, "doas")) {
				/* sudo -l/-v/-k alone list or refresh; -e is sudoedit */
				int j;

				for (j = 1; j < k && j < argc; j++)
					if (argv[j][0] == '-' && argv[j][1] != '-' &&
					    strchr(argv[j], 'e'))
						goto done;
			}
			if (k >= argc) {
				int j;

				/* sudo -s, sudo -i: a root shell, reading its commands from stdin */
				for (j = 1; j < argc && stdin_lang; j++)
					if ((!strcmp(name, "sudo") || !strcmp(name, "doas")) &&
					    argv[j][0] == '-' && argv[j][1] != '-' &&
					    (strchr(argv[j], 's') || strchr(argv[j], 'i'))) {
						*stdin_lang = LH_LANG_SHELL;
						ctx |= w->ctx;
					}
				goto done;
			}
			ctx |= w->ctx;
			wrappers = add_wrapper(p, wrappers, name);
			argv += k;
			wf += k;
			argc -= k;
			continue;
		case W_ENV: {
			int i = 1;

			while (i < argc) {
				const char *a = argv[i];

				if (!strcmp(a, "-S") || !strncmp(a, "--split-string", 14)) {
					const char *str = NULL;

					if (a[1] == 'S' && a[2])
						str = a + 2;
					else if (!strncmp(a, "--split-string=", 15))
						str = a + 15;
					else if (i + 1 < argc)
						str = argv[++i];
					if (str) {
						/* env -S 'cmd args' CMDARGS... : a string to split */
						const char *joined;

						i++;
						joined = str;
						if (i < argc) {
							const char *rest = join_words(p, argv + i, argc - i);
							const char *two[2] = { str, rest };

							joined = join_words(p, two, 2);
						}
						subparse(p, joined, strlen(joined), ctx | LH_CTX_STRING,
							 add_wrapper(p, wrappers, name));
						return;
					}
					i++;
					continue;
				}
				if (!strcmp(a, "--")) {
					i++;
					break;
				}
				if (a[0] == '-' && a[1]) {
					/* -u NAME, -C DIR take the next word; -uNAME, --unset=NAME do not */
					if (a[1] != '-' && strchr(w->short_arg, a[strlen(a) - 1]) &&
					    strspn(a + 1, "i0v") == strlen(a) - 2)
						i += 2;
					else if (a[1] == '-' && !strchr(a, '=') &&
						 in_list(w->long_arg, a, strlen(a)))
						i += 2;
					else
						i++;
					continue;
				}
				if (is_assignment(a)) {
					i++;
					continue;
				}
				break;
			}
			while (i < argc && is_assignment(argv[i]))
				i++;
			if (i >= argc)
				goto done;
			wrappers = add_wrapper(p, wrappers, name);
			argv += i;
			wf += i;
			argc -= i;
			continue;
		}
		case W_COMMAND: {
			int i = 1;

			while (i < argc && argv[i][0] == '-' && argv[i][1]) {
				if (strchr(argv[i], 'v') || strchr(argv[i], 'V'))
					goto done;	/* a lookup, runs nothing */
				if (!strcmp(argv[i++], "--"))
					break;
			}
			if (i >= argc)
				goto done;
			argv += i;
			wf += i;
			argc -= i;
			continue;
		}
		case W_BUSYBOX:
			if (argc < 2)
				goto done;
			argv++;
			wf++;
			argc--;
			continue;
		case W_SHELL: {
			int from_stdin = unwrap_shell(p, argv, wf, argc, ctx,
						      add_wrapper(p, wrappers, name), &handled);

			if (handled > 0)
				return;
			if (from_stdin && stdin_lang)
				*stdin_lang = LH_LANG_SHELL;
			if (handled < 0)
				ctx |= LH_CTX_RUNTIME_CODE;
			goto done;
		}
		case W_EVAL:
			if (argc < 2)
				goto done;
			{
				const char *s = join_words(p, argv + 1, argc - 1);
				int j;

				for (j = 1; j < argc; j++)
					if (wf[j] & LH_W_DYNAMIC)
						ctx |= LH_CTX_RUNTIME_CODE;

				subparse_here(p, s, strlen(s), ctx | LH_CTX_STRING,
					      add_wrapper(p, wrappers, name));
			}
			return;
		case W_SU: {
			int i = 1;
			const char *cmd = NULL;

			while (i < argc) {
				const char *a = argv[i];

				if (!strcmp(a, "-c") || !strcmp(a, "--command") ||
				    !strcmp(a, "--session-command")) {
					if (i + 1 < argc)
						cmd = argv[i + 1];
					i += 2;
					continue;
				}
				if (!strncmp(a, "--command=", 10)) {
					cmd = a + 10;
					i++;
					continue;
				}
				if (a[0] == '-' && a[1] && a[1] != '-' && strchr("sgGw", a[1]) && !a[2]) {
					i += 2;
					continue;
				}
				i++;
			}
			if (cmd) {
				subparse(p, cmd, strlen(cmd), ctx | LH_CTX_PRIV | LH_CTX_STRING,
					 add_wrapper(p, wrappers, name));
				return;
			}
			ctx |= LH_CTX_PRIV;
			if (stdin_lang)
				*stdin_lang = LH_LANG_SHELL;	/* su: a root shell reading stdin */
			goto done;
		}
		case W_SSH: {
			int i = skip_opts(argv, argc, w, 1);
			const char *s;

			if (i + 1 >= argc)
				goto done;
			s = join_words(p, argv + i + 1, argc - i - 1);
			subparse(p, s, strlen(s), ctx | LH_CTX_REMOTE | LH_CTX_STRING,
				 add_wrapper(p, wrappers, name));
			return;
		}
		case W_WATCH: {
			int i = 1, exec_mode = 0;

			while (i < argc && argv[i][0] == '-' && argv[i][1]) {
				const char *a = argv[i];

				if (!strcmp(a, "--")) {
					i++;
					break;
				}
				if (!strcmp(a, "--exec") || (a[1] != '-' && strchr(a, 'x')))
					exec_mode = 1;
				if ((a[1] == 'n' && !a[2]) || !strcmp(a, "--interval"))
					i++;
				i++;
			}
			if (i >= argc)
				goto done;
			if (exec_mode) {
				wrappers = add_wrapper(p, wrappers, name);
				argv += i;
				wf += i;
				argc -= i;
				continue;
			}
			{
				const char *s = join_words(p, argv + i, argc - i);

				subparse(p, s, strlen(s), ctx | LH_CTX_STRING,
					 add_wrapper(p, wrappers, name));
			}
			return;
		}
		case W_XARGS: {
			int i = skip_opts(argv, argc, w, 1), j, nitems = -1;
			const char **sub, *replace = NULL, *items[MAX_XARGS_ITEMS];
			unsigned char *sf;

			for (j = 1; j < i; j++) {
				const char *a = argv[j];

				if (!strncmp(a, "-I", 2))
					replace = a[2] ? a + 2 : j + 1 < i ? argv[j + 1] : "{}";
				else if (!strncmp(a, "--replace=", 10))
					replace = a + 10;
				else if (!strcmp(a, "--replace") || !strcmp(a, "-i"))
					replace = "{}";
				else if (!strncmp(a, "-i", 2) && a[1] == 'i')
					replace = a + 2;
				if (!strncmp(a, "-a", 2) || !strncmp(a, "--arg-file", 10))
					nitems = -2;	/* items from a file */
			}
			if (nitems == -1 && (p->elem_ctx & LH_CTX_PIPE_IN) && p->feed_text)
				nitems = split_items(p, p->feed_text, items, MAX_XARGS_ITEMS);
			else if (nitems == -1 && (p->elem_ctx & LH_CTX_PIPE_IN) && p->feed_items) {
				items[0] = p->feed_items;	/* find ROOT | xargs: files under ROOT */
				nitems = 1;
			}
			if (i >= argc) {
				static const char *echo[] = { "echo" };
				static unsigned char ef[] = { 0 };

				argv = echo;
				wf = ef;
				argc = 1;
			} else {
				argv += i;
				wf += i;
				argc -= i;
			}
			ctx |= LH_CTX_EXEC;
			wrappers = add_wrapper(p, wrappers, name);
			if (replace && replace[0]) {
				/* -I{}: each item replaces {} in the words; one command per item */
				int it;

				if (nitems > 0) {
					for (it = 0; it < nitems && !p->sh->stop; it++) {
						const char **av = alloc(p, sizeof(*av) * (size_t)(argc + 1));
						unsigned char *af = alloc(p, (size_t)argc + 1);

						if (!av || !af)
							return;
						for (j = 0; j < argc; j++) {
							av[j] = replace_all(p, argv[j], replace, items[it]);
							af[j] = wf[j];
						}
						av[argc] = NULL;
						unwrap(p, av, af, argc, redirs, nredirs, ctx, wrappers, NULL);
					}
					return;
				}
				sf = alloc(p, (size_t)argc + 1);
				if (!sf)
					return;
				for (j = 0; j < argc; j++)
					sf[j] = wf[j] | (strstr(argv[j], replace) ? LH_W_DYNAMIC : 0);
				wf = sf;
				continue;
			}
			/* the items xargs reads become trailing arguments */
			sub = alloc(p, sizeof(*sub) * (size_t)(argc + MAX_XARGS_ITEMS + 1));
			sf = alloc(p, (size_t)argc + MAX_XARGS_ITEMS + 1);
			if (!sub || !sf)
				return;
			memcpy(sub, argv, sizeof(*sub) * (size_t)argc);
			memcpy(sf, wf, (size_t)argc);
			if (nitems >= 0) {
				for (j = 0; j < nitems; j++) {
					sub[argc] = items[j];
					sf[argc++] = 0;
				}
			} else {
				sub[argc] = "{input}";
				sf[argc++] = LH_W_DYNAMIC;
			}
			argv = sub;
			wf = sf;
			continue;
		}
		case W_PARALLEL: {
			int i = skip_opts(argv, argc, w, 1), sep, n;
			const char **sub;
			unsigned char *sf;

			for (sep = i; sep < argc; sep++)
				if (!strcmp(argv[sep], ":::") || !strcmp(argv[sep], "::::"))
					break;
			if (sep == i)
				goto done;
			n = sep - i;
			/* the inputs after ::: become arguments of the command */
			sub = alloc(p, sizeof(*sub) * (size_t)(argc));
			sf = alloc(p, (size_t)argc);
			if (!sub || !sf)
				return;
			memcpy(sub, argv + i, sizeof(*sub) * (size_t)n);
			memcpy(sf, wf + i, (size_t)n);
			if (sep < argc) {
				int x;

				for (x = sep + 1; x < argc; x++) {
					if (!strcmp(argv[x], ":::") || !strcmp(argv[x], "::::"))
						continue;
					sub[n] = argv[x];
					sf[n] = wf[x] | (strcmp(argv[sep], "::::") ? 0 : LH_W_DYNAMIC);
					n++;
				}
			} else {
				sub[n] = "{input}";
				sf[n] = LH_W_DYNAMIC;
				n++;
			}
			ctx |= LH_CTX_EXEC;
			wrappers = add_wrapper(p, wrappers, name);
			argv = sub;
			wf = sf;
			argc = n;
			continue;
		}
		case W_FIND:
			unwrap_find(p, argv, wf, argc, redirs, nredirs, ctx, wrappers);
			return;
		case W_CSTRING: {
			/* script -c CMD [FILE], sg GROUP -c CMD, sg GROUP CMD */
			int i, npos = 0;
			const char *cmd = NULL;

			for (i = 1; i < argc; i++) {
				const char *a = argv[i];

				if (!strcmp(a, "-c") || !strcmp(a, "--command")) {
					if (i + 1 < argc)
						cmd = argv[++i];
					continue;
				}
				if (!strncmp(a, "--command=", 10)) {
					cmd = a + 10;
					continue;
				}
				if (a[0] == '-')
					continue;
				if (++npos == 2 && !strcmp(name, "sg") && !cmd)
					cmd = a;
			}
			if (cmd) {
				subparse(p, cmd, strlen(cmd), ctx | LH_CTX_STRING,
					 add_wrapper(p, wrappers, name));
				return;
			}
			goto done;
		}
		case W_FLOCK: {
			int i = 1;
			const char *cmd = NULL;

			while (i < argc && argv[i][0] == '-' && argv[i][1]) {
				const char *a = argv[i];

				if (!strcmp(a, "-c") || !strcmp(a, "--command")) {
					if (i + 1 < argc)
						cmd = argv[i + 1];
					i += 2;
					continue;
				}
				if ((a[1] == 'w' || a[1] == 'E') && !a[2])
					i++;
				i++;
			}
			/* the lock file */
			i++;
			while (!cmd && i < argc && (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--command"))) {
				if (i + 1 < argc)
					cmd = argv[i + 1];
				i += 2;
			}
			if (cmd) {
				subparse(p, cmd, strlen(cmd), ctx | LH_CTX_STRING,
					 add_wrapper(p, wrappers, name));
				return;
			}
			if (i >= argc)
				goto done;
			wrappers = add_wrapper(p, wrappers, name);
			argv += i;
			wf += i;
			argc -= i;
			continue;
		}
		}
	}
done:
	if (stdin_lang && argc > 0 && !(wf[0] & LH_W_DYNAMIC))
		*stdin_lang = reads_program(argv, argc, *stdin_lang);
	if (argc > 1 && !(wf[0] & LH_W_DYNAMIC))
		exec_options(p, argv, wf, argc, ctx, wrappers);
	emit(p, argv, wf, argc, redirs, nredirs, ctx, wrappers);
}

/* ---- redirections ------------------------------------------------------ */

/* Does a redirection start at p->i? */
static int at_redir(const struct parser *p)
{
	size_t i = p->i;

	while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9')
		i++;
	if (i >= p->n)
		return 0;
	if (p->s[i] == '<' || p->s[i] == '>') {
		if (i == p->i && i + 1 < p->n && p->s[i + 1] == '(')
			return 0;	/* process substitution */
		return 1;
	}
	return i == p->i && p->s[i] == '&' && i + 1 < p->n && p->s[i + 1] == '>';
}

struct redir_list {
	struct lh_redir *v;
	int n, cap;
	int hd_index[MAX_HEREDOCS];	/* redir index of each pending here-doc */
	int hd_first;			/* p->nhd before this command */
};

static struct lh_redir *redir_push(struct parser *p, struct redir_list *rl)
{
	if (rl->n == rl->cap) {
		int cap = rl->cap ? rl->cap * 2 : 4;
		struct lh_redir *v = alloc(p, sizeof(*v) * (size_t)cap);

		if (!v)
			return NULL;
		if (rl->n)
			memcpy(v, rl->v, sizeof(*v) * (size_t)rl->n);
		rl->v = v;
		rl->cap = cap;
	}
	memset(&rl->v[rl->n], 0, sizeof(rl->v[0]));
	return &rl->v[rl->n++];
}

static void parse_redir(struct parser *p, struct redir_list *rl)
{
	struct lh_redir *r = redir_push(p, rl);
	struct word w;
	int fd = -2;

	if (!r)
		return;
	if (p->s[p->i] >= '0' && p->s[p->i] <= '9') {
		fd = 0;
		while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') {
			if (fd < 100000)
				fd = fd * 10 + (p->s[p->i] - '0');
			p->i++;
		}
	}
	if (peekc(p, 0) == '&' && peekc(p, 1) == '>') {
		p->i += 2;
		r->fd = -1;
		r->op = LH_REDIR_OUT;
		if (peekc(p, 0) == '>') {
			p->i++;
			r->op = LH_REDIR_APPEND;
		}
	} else if (peekc(p, 0) == '>') {
		p->i++;
		r->fd = fd >= 0 ? fd : 1;
		r->op = LH_REDIR_OUT;
		if (peekc(p, 0) == '>') {
			p->i++;
			r->op = LH_REDIR_APPEND;
		} else if (peekc(p, 0) == '|') {
			p->i++;
		} else if (peekc(p, 0) == '&') {
			p->i++;
			r->op = LH_REDIR_DUP;
		}
	} else {		/* '<' */
		p->i++;
		r->fd = fd >= 0 ? fd : 0;
		r->op = LH_REDIR_IN;
		if (peekc(p, 0) == '<') {
			p->i++;
			if (peekc(p, 0) == '<') {
				p->i++;
				r->op = LH_REDIR_HERESTR;
			} else {
				int strip = 0;

				if (peekc(p, 0) == '-') {
					p->i++;
					strip = 1;
				}
				skip_blanks(p);
				if (!read_word(p, &w)) {
					fail(p, "missing here-document delimiter at offset %zu", p->i);
					return;
				}
				if (p->nhd >= MAX_HEREDOCS) {
					fail(p, "too many here-documents");
					return;
				}
				r->op = LH_REDIR_HEREDOC;
				r->target = "";
				rl->hd_index[p->nhd - rl->hd_first] = rl->n - 1;
				p->hd[p->nhd].r = NULL;	/* set when the command is final */
				p->hd[p->nhd].delim = unmark(p, w.v);
				p->hd[p->nhd].strip_tabs = strip;
				p->hd[p->nhd].expand = !(w.flags & LH_W_QUOTED);
				p->hd[p->nhd].lang = LH_LANG_NONE;
				p->nhd++;
				return;
			}
		} else if (peekc(p, 0) == '>') {
			p->i++;
			r->op = LH_REDIR_RW;
		} else if (peekc(p, 0) == '&') {
			p->i++;
			r->op = LH_REDIR_DUP;
		}
	}
	skip_blanks(p);
	if (!read_word(p, &w)) {
		fail(p, "missing redirection target at offset %zu", p->i);
		return;
	}
	r->target = undyn(p, unmark(p, w.v), &w.flags);
	r->dynamic = !!(w.flags & LH_W_DYNAMIC);
	if (r->op == LH_REDIR_DUP && r->fd >= 0 &&
	    !(w.v[0] == '-' && !w.v[1]) && strspn(w.v, "0123456789") != strlen(w.v)) {
		/* >&file is &>file */
		r->op = LH_REDIR_OUT;
		r->fd = -1;
	}
}

/* Read the bodies of pending here-docs; p->i is just past a newline. */
static void read_heredocs(struct parser *p)
{
	int k;

	for (k = 0; k < p->nhd && !p->sh->stop; k++) {
		struct heredoc *h = &p->hd[k];
		struct wb body;
		size_t dlen = strlen(h->delim);
		int found = 0;

		wb_init(&body, p);
		while (p->i < p->n) {
			size_t e = p->i, s;

			while (e < p->n && p->s[e] != '\n')
				e++;
			s = p->i;
			if (h->strip_tabs)
				while (s < e && p->s[s] == '\t')
					s++;
			p->i = e < p->n ? e + 1 : e;
			if (e - s == dlen && !memcmp(p->s + s, h->delim, dlen)) {
				found = 1;
				break;
			}
			wb_add(&body, p->s + s, e - s);
			wb_addc(&body, '\n');
		}
		(void)found;	/* bash accepts a here-doc ended by end of input */
		if (h->expand && body.len) {
			/* unquoted delimiter: substitutions in the body run */
			struct parser q = *p;
			struct wb exp;

			q.s = wb_str(&body);
			q.n = body.len;
			q.i = 0;
			q.nhd = 0;
			wb_init(&exp, p);
			decode_dq(&q, &exp, 1);
			if (h->r)
				h->r->target = wb_str(&exp);
		} else if (h->r) {
			h->r->target = wb_str(&body);
		}
		if (h->lang && h->r)
			run_stdin(p, h->lang, h->r->target, h->ctx, h->wrappers);
	}
	p->nhd = 0;
}

static void newline(struct parser *p)
{
	p->i++;
	if (p->nhd)
		read_heredocs(p);
}

/* ---- commands ------------------------------------------------------------ */

static void assign(struct parser *p, const struct word *w)
{
	const char *eq = strchr(w->v, '=');
	size_t n = (size_t)(eq - w->v);
	const char *value = unmark(p, eq + 1);	/* no brace expansion in assignments */

	if (n && w->v[n - 1] == '+') {
		n--;		/* x+=y: the value is no longer known */
		value = NULL;
	}
	if (value && (w->flags & LH_W_DYNAMIC))
		value = NULL;
	if (value && strchr(value, SPLIT_MARK)) {
		/* no splitting in assignments */
		char *v = (char *)sdup(p, value, strlen(value)), *q;

		for (q = v; *q; q++)
			if (*q == SPLIT_MARK)
				*q = ' ';
		value = v;
	}
	var_set(p, w->v, n, value);
}

static void alias_define(struct parser *p, const char *arg)
{
	const char *eq = strchr(arg, '=');
	struct alias *a;

	if (!eq || eq == arg)
		return;
	a = alloc(p, sizeof(*a));
	if (!a)
		return;
	a->name = sdup(p, arg, (size_t)(eq - arg));
	a->value = eq + 1;
	a->next = p->sh->aliases;
	p->sh->aliases = a;
	/* judge the alias body as a definition too: it may be used later */
	subparse(p, a->value, strlen(a->value), p->ctx | LH_CTX_DEFINITION, p->wrappers);
}

static void parse_command(struct parser *p, int term);
static void parse_list(struct parser *p, int term);
static void trailing_redirs(struct parser *p, int from);

/*
 * A simple command. Words and redirections up to an operator; then
 * assignments, aliases and wrappers are handled and the result emitted.
 */
static void parse_simple(struct parser *p)
{
	struct word *wv = NULL;
	int nw = 0, cap = 0, k, first, stdin_lang = 0;
	unsigned sctx = p->ctx;
	struct redir_list rl;
	const char **argv;
	unsigned char *wf;

	memset(&rl, 0, sizeof(rl));
	rl.hd_first = p->nhd;
	for (;;) {
		int c;

		skip_blanks(p);
		c = peekc(p, 0);
		if (c < 0 || p->sh->stop)
			break;
		if (at_redir(p)) {
			parse_redir(p, &rl);
			continue;
		}
		if (is_meta(c) && !((c == '<' || c == '>') && peekc(p, 1) == '('))
			break;
		if (nw == cap) {
			int ncap = cap ? cap * 2 : 8;
			struct word *v = alloc(p, sizeof(*v) * (size_t)ncap);

			if (!v)
				return;
			if (nw)
				memcpy(v, wv, sizeof(*v) * (size_t)nw);
			wv = v;
			cap = ncap;
		}
		if (!read_word(p, &wv[nw]))
			break;
		nw++;
		/* name () compound: a function definition */
		if (nw == 1 && !rl.n) {
			size_t save = p->i;

			skip_blanks(p);
			if (peekc(p, 0) == '(') {
				p->i++;
				skip_blanks(p);
				if (peekc(p, 0) == ')') {
					unsigned save_ctx = p->ctx;

					p->i++;
					while (peekc(p, 0) == '\n' || is_blank(peekc(p, 0)))
						if (peekc(p, 0) == '\n')
							newline(p);
						else
							p->i++;
					p->ctx |= LH_CTX_DEFINITION;
					parse_command(p, 0);
					p->ctx = save_ctx;
					return;
				}
				fail(p, "syntax error near '(' at offset %zu", p->i);
				return;
			}
			p->i = save;
		}
	}
	if (p->sh->stop)
		return;
	/* leading assignments */
	for (first = 0; first < nw; first++) {
		if (wv[first].flags & LH_W_QUOTED && !is_assignment(wv[first].v))
			break;
		if (!is_assignment(wv[first].v))
			break;
		assign(p, &wv[first]);
	}
	/* assignments are not split or brace-expanded: only the words after them */
	if (first < nw) {
		struct word *rest = wv + first;

		nw = first + expand_words(p, &rest, nw - first);
		for (k = 0; k < nw - first; k++)
			rest[k].v = undyn(p, rest[k].v, &rest[k].flags);
		if (rest != wv + first) {
			struct word *all = alloc(p, sizeof(*all) * (size_t)(nw + 1));

			if (!all)
				return;
			if (first)
				memcpy(all, wv, sizeof(*all) * (size_t)first);
			if (nw > first)
				memcpy(all + first, rest, sizeof(*all) * (size_t)(nw - first));
			wv = all;
		}
	}
	if (first >= nw) {
		if (rl.n) {
			/* "> file" alone truncates it, like ": > file" */
			static const char *colon[] = { ":" };
			static unsigned char cf[] = { 0 };

			emit(p, colon, cf, 1, rl.v, rl.n, p->ctx, p->wrappers);
			for (k = rl.hd_first; k < p->nhd; k++)
				p->hd[k].r = &rl.v[rl.hd_index[k - rl.hd_first]];
		}
		return;
	}
	/* aliases defined earlier in the request */
	if (!(wv[first].flags & LH_W_QUOTED)) {
		const char *val = alias_get(p, wv[first].v);

		if (val && p->sh->alias_depth < MAX_ALIAS_DEPTH) {
			size_t rs = first + 1 < nw ? wv[first + 1].start : wv[first].end;
			size_t re = p->i > rs ? p->i : rs;
			size_t vl = strlen(val);
			char *s = alloc(p, vl + 1 + (re - rs) + 1);

			if (!s)
				return;
			memcpy(s, val, vl);
			s[vl] = ' ';
			memcpy(s + vl + 1, p->s + rs, re - rs);
			s[vl + 1 + (re - rs)] = '\0';
			p->sh->alias_depth++;
			subparse_here(p, s, strlen(s), p->ctx, p->wrappers);
			p->sh->alias_depth--;
			return;
		}
	}
	argv = alloc(p, sizeof(*argv) * (size_t)(nw - first + 1));
	wf = alloc(p, (size_t)(nw - first + 1));
	if (!argv || !wf)
		return;
	for (k = first; k < nw; k++) {
		argv[k - first] = wv[k].v;
		wf[k - first] = (unsigned char)wv[k].flags;
	}
	argv[nw - first] = NULL;
	wf[nw - first] = 0;
	/* builtins that change what later words mean */
	if (!strcmp(argv[0], "alias")) {
		for (k = 1; k < nw - first; k++)
			alias_define(p, argv[k]);
	} else if (!strcmp(argv[0], "export") || !strcmp(argv[0], "declare") ||
		   !strcmp(argv[0], "local") || !strcmp(argv[0], "readonly") ||
		   !strcmp(argv[0], "typeset")) {
		for (k = first + 1; k < nw; k++)
			if (is_assignment(wv[k].v))
				assign(p, &wv[k]);
	} else if (!strcmp(argv[0], "read") || !strcmp(argv[0], "mapfile") ||
		   !strcmp(argv[0], "readarray") || !strcmp(argv[0], "unset")) {
		for (k = first + 1; k < nw; k++)
			if (wv[k].v[0] != '-' && is_name_start((unsigned char)wv[k].v[0]))
				var_set(p, wv[k].v, strlen(wv[k].v), NULL);
	}
	unwrap(p, argv, wf, nw - first, rl.v, rl.n, p->ctx, p->wrappers, &stdin_lang);
	p->stdin_lang = stdin_lang;
	if (stdin_lang && p->sh->out->ncmds) {
		/* what the shell reads runs with its privilege (sudo bash <<EOF) */
		const struct lh_scmd *last = &p->sh->out->cmds[p->sh->out->ncmds - 1];

		sctx = p->ctx | (last->ctx & LH_CTX_PRIV);
	}
	/* here-docs are filled in when their bodies are read */
	for (k = rl.hd_first; k < p->nhd; k++) {
		p->hd[k].r = &rl.v[rl.hd_index[k - rl.hd_first]];
		if (stdin_lang) {
			p->hd[k].lang = stdin_lang;
			p->hd[k].ctx = sctx;
			p->hd[k].wrappers = p->wrappers;
		}
	}
	if (stdin_lang)
		for (k = 0; k < rl.n; k++)
			if (rl.v[k].op == LH_REDIR_HERESTR && rl.v[k].target)
				run_stdin(p, stdin_lang, rl.v[k].target, sctx, p->wrappers);
}

/* Redirections after a compound command apply to every command in it. */
static void trailing_redirs(struct parser *p, int from)
{
	struct redir_list rl;
	int k;

	memset(&rl, 0, sizeof(rl));
	rl.hd_first = p->nhd;
	for (;;) {
		skip_blanks(p);
		if (p->sh->stop || !at_redir(p))
			break;
		parse_redir(p, &rl);
	}
	for (k = rl.hd_first; k < p->nhd; k++)
		p->hd[k].r = &rl.v[rl.hd_index[k - rl.hd_first]];
	if (!rl.n)
		return;
	for (k = from; k < p->sh->out->ncmds; k++) {
		struct lh_scmd *c = &p->sh->out->cmds[k];
		struct lh_redir *v = alloc(p, sizeof(*v) * (size_t)(c->nredirs + rl.n));

		if (!v)
			return;
		if (c->nredirs)
			memcpy(v, c->redirs, sizeof(*v) * (size_t)c->nredirs);
		memcpy(v + c->nredirs, rl.v, sizeof(*v) * (size_t)rl.n);
		c->redirs = v;
		c->nredirs += rl.n;
	}
}

static void skip_newlines(struct parser *p)
{
	for (;;) {
		skip_blanks(p);
		if (peekc(p, 0) == '\n')
			newline(p);
		else
			return;
	}
}

/* case WORD in [(]pat[|pat]...) list ;; ... esac */
static void parse_case(struct parser *p)
{
	struct word w;

	p->i += 4;
	skip_blanks(p);
	if (!read_word(p, &w)) {
		fail(p, "syntax error in case: missing word");
		return;
	}
	skip_newlines(p);
	if (!at_keyword(p, "in")) {
		fail(p, "syntax error in case: expected 'in'");
		return;
	}
	p->i += 2;
	for (;;) {
		skip_newlines(p);
		if (p->sh->stop)
			return;
		if (p->i >= p->n) {
			fail(p, "syntax error: case without esac");
			return;
		}
		if (at_keyword(p, "esac")) {
			p->i += 4;
			return;
		}
		if (peekc(p, 0) == '(')
			p->i++;
		/* patterns up to ')' */
		for (;;) {
			skip_blanks(p);
			if (peekc(p, 0) == ')') {
				p->i++;
				break;
			}
			if (peekc(p, 0) == '|') {
				p->i++;
				continue;
			}
			if (!read_word(p, &w)) {
				fail(p, "syntax error in case pattern at offset %zu", p->i);
				return;
			}
		}
		parse_list(p, 'c');
		if (peekc(p, 0) == ';' && peekc(p, 1) == ';') {
			p->i += 2;
			if (peekc(p, 0) == '&')
				p->i++;
		} else if (peekc(p, 0) == ';' && peekc(p, 1) == '&') {
			p->i += 2;
		}
	}
}

static const char *const skip_keywords[] = {
	"if", "then", "elif", "else", "fi", "do", "done", "while", "until",
	"esac", "!", "coproc", NULL
};

/*
 * for NAME [in WORDS]; do LIST; done (and select). When every word is
 * known and there are few, the body is parsed once per value with NAME
 * bound to it, so `for d in / /tmp; do rm -rf $d; done` is judged as
 * `rm -rf /` and `rm -rf /tmp`. Otherwise NAME is unknown and the body is
 * left to the enclosing list, parsed once.
 */
static void parse_for(struct parser *p, int from)
{
	struct word w, *vals = NULL;
	const char *name = NULL;
	int nvals = 0, cap = 0, known = 1, k;
	size_t save, body;

	p->i += at_keyword(p, "for") ? 3 : 6;
	skip_blanks(p);
	if (peekc(p, 0) == '(' && peekc(p, 1) == '(') {
		p->i += 2;
		skip_arith(p);
		p->open_loops++;
		return;
	}
	if (read_word(p, &w))
		name = unmark(p, w.v);
	skip_newlines(p);
	if (at_keyword(p, "in")) {
		p->i += 2;
		for (;;) {
			skip_blanks(p);
			if (p->sh->stop || is_meta(peekc(p, 0)) || peekc(p, 0) < 0)
				break;
			if (!read_word(p, &w))
				break;
			if (nvals == cap) {
				struct word *v;

				cap = cap ? cap * 2 : 8;
				v = alloc(p, sizeof(*v) * (size_t)cap);
				if (!v)
					return;
				if (nvals)
					memcpy(v, vals, sizeof(*v) * (size_t)nvals);
				vals = v;
			}
			vals[nvals++] = w;
			if (w.flags & (LH_W_DYNAMIC | LH_W_GLOB))
				known = 0;
		}
	} else {
		known = 0;		/* for NAME; do: the positional parameters */
	}
	if (p->sh->stop || !name)
		return;
	if (known && nvals > 0 && nvals <= MAX_FOR_VALUES) {
		nvals = expand_words(p, &vals, nvals);
		for (k = 0; k < nvals; k++)
			if (vals[k].flags & LH_W_GLOB)
				known = 0;
	}
	save = p->i;
	skip_blanks(p);
	if (peekc(p, 0) == ';')
		p->i++;
	skip_newlines(p);
	if (!known || nvals < 1 || nvals > MAX_FOR_VALUES || !is_name_start((unsigned char)name[0]) ||
	    p->sh->loop_bodies + nvals > MAX_LOOP_BODIES || !at_keyword(p, "do")) {
		p->i = save;
		var_set(p, name, strlen(name), NULL);
		p->open_loops++;
		return;
	}
	p->i += 2;
	body = p->i;
	p->sh->loop_bodies += nvals;
	for (k = 0; k < nvals && !p->sh->stop; k++) {
		var_set(p, name, strlen(name), vals[k].v);
		p->i = body;
		parse_list(p, 'd');
	}
	trailing_redirs(p, from);
}

static void parse_command(struct parser *p, int term)
{
	int from = p->sh->out->ncmds, k;

	skip_blanks(p);
	if (p->sh->stop || p->i >= p->n)
		return;
	if (peekc(p, 0) == '(') {
		if (peekc(p, 1) == '(') {
			p->i += 2;
			skip_arith(p);
		} else {
			unsigned save = p->ctx;
			const char *save_cwd = p->sh->cwd;

			if (!enter(p))
				return;
			p->i++;
			p->depth++;
			p->ctx |= LH_CTX_SUBSHELL;
			parse_list(p, ')');
			p->depth--;
			p->ctx = save;
			p->sh->cwd = save_cwd;
		}
		trailing_redirs(p, from);
		return;
	}
	if (at_keyword(p, "{")) {
		p->i++;
		parse_list(p, '}');
		trailing_redirs(p, from);
		return;
	}
	/* every keyword starts with one of these: most commands skip the checks */
	if (!strchr("!}cdefistuw[", peekc(p, 0))) {
		parse_simple(p);
		return;
	}
	for (k = 0; skip_keywords[k]; k++)
		if (at_keyword(p, skip_keywords[k])) {
			p->i += strlen(skip_keywords[k]);
			if (!strcmp(skip_keywords[k], "while") || !strcmp(skip_keywords[k], "until"))
				p->open_loops++;
			if (!strcmp(skip_keywords[k], "done") && p->open_loops > 0)
				p->open_loops--;
			if (!strcmp(skip_keywords[k], "done") || !strcmp(skip_keywords[k], "fi") ||
			    !strcmp(skip_keywords[k], "esac"))
				trailing_redirs(p, from);
			else
				parse_command(p, term);
			return;
		}
	if (at_keyword(p, "}")) {
		if (term == '}')
			return;
		p->i++;		/* stray: bash would complain; judge the rest */
		return;
	}
	if (at_keyword(p, "time")) {
		p->i += 4;
		skip_blanks(p);
		if (at_keyword(p, "-p"))
			p->i += 2;
		parse_command(p, term);
		return;
	}
	if (at_keyword(p, "for") || at_keyword(p, "select")) {
		parse_for(p, from);
		return;
	}
	if (at_keyword(p, "case")) {
		parse_case(p);
		trailing_redirs(p, from);
		return;
	}
	if (at_keyword(p, "function")) {
		struct word w;
		unsigned save = p->ctx;

		p->i += 8;
		skip_blanks(p);
		read_word(p, &w);
		skip_blanks(p);
		if (peekc(p, 0) == '(' && peekc(p, 1) == ')')
			p->i += 2;
		skip_newlines(p);
		p->ctx |= LH_CTX_DEFINITION;
		parse_command(p, term);
		p->ctx = save;
		return;
	}
	if (at_keyword(p, "[[")) {
		struct word w;

		p->i += 2;
		for (;;) {
			skip_blanks(p);
			if (p->sh->stop || p->i >= p->n)
				break;
			if (at_keyword(p, "]]")) {
				p->i += 2;
				break;
			}
			if (peekc(p, 0) == '\n') {
				newline(p);
				continue;
			}
			if (!read_word(p, &w))
				p->i++;	/* operators such as && < > ( ) inside [[ ]] */
		}
		trailing_redirs(p, from);
		return;
	}
	parse_simple(p);
}

/*
 * What a pipeline element feeds into the next one when that is a shell
 * reading its stdin: `echo 'rm -rf /' | sh`, `printf ... | bash`,
 * `cat <<EOF | sh`. Returns the text (or NULL) and marks here-docs.
 */
struct feeder {
	const char *text;		/* echo/printf arguments, or a here-string */
	const char *items;		/* for xargs only: find ROOT lists ROOT/<star> */
	int hd_from, hd_to;		/* here-docs of a cat, pending in p->hd */
};

/*
 * What printf FORMAT ARGS... writes (and echo -e, with no arguments):
 * backslash escapes decoded, %s %b %d %c conversions filled from the
 * arguments in turn, the format reused while arguments are left (bounded).
 */
static const char *printf_text(struct parser *p, const char *fmt, const char *const *args,
			       int nargs)
{
	struct wb out;
	int a = 0, rounds;

	wb_init(&out, p);
	for (rounds = 0; rounds < 64; rounds++) {
		const char *q = fmt;
		int used = 0;

		while (*q && !p->sh->stop) {
			if (*q == '\\' && q[1]) {
				unsigned v = 0;
				int k;

				q++;
				switch (*q) {
				case 'n': wb_addc(&out, '\n'); q++; continue;
				case 't': wb_addc(&out, '\t'); q++; continue;
				case 'r': wb_addc(&out, '\r'); q++; continue;
				case '\\': wb_addc(&out, '\\'); q++; continue;
				case 'x':
					for (q++, k = 0; k < 2 && isxdigit((unsigned char)*q); k++, q++)
						v = v * 16 + (unsigned)(isdigit((unsigned char)*q) ? *q - '0' :
									 (*q | 32) - 'a' + 10);
					if (v)
						wb_addc(&out, (char)v);
					continue;
				case '0': case '1': case '2': case '3':
				case '4': case '5': case '6': case '7':
					if (*q == '0')
						q++;
					for (k = 0; k < 3 && *q >= '0' && *q <= '7'; k++, q++)
						v = v * 8 + (unsigned)(*q - '0');
					if (v)
						wb_addc(&out, (char)v);
					continue;
				default:
					wb_addc(&out, '\\');
					wb_addc(&out, *q++);
					continue;
				}
			}
			if (*q == '%' && q[1] == '%') {
				wb_addc(&out, '%');
				q += 2;
				continue;
			}
			if (*q == '%' && args) {
				const char *spec = q + 1;

				while (*spec && strchr("-+ #0123456789.", *spec))
					spec++;
				if (*spec && strchr("sbdicuxXoeEfgG", *spec)) {
					const char *v = a < nargs ? args[a] : "";

					if (a < nargs)
						a++;
					used = 1;
					if (*spec == 'b')
						v = printf_text(p, v, NULL, 0);
					wb_add(&out, v, strlen(v));
					q = spec + 1;
					continue;
				}
			}
			wb_addc(&out, *q++);
		}
		if (!args || a >= nargs || !used)
			break;
	}
	return wb_str(&out);
}

/*
 * What the one command a substitution ran prints, when it is echo or
 * printf of known words (without its final newline, which a substitution
 * drops). NULL otherwise.
 */
static const char *echo_output(struct parser *p, int from)
{
	const struct lh_scmd *c;
	int k, first = 1;

	if (p->sh->stop || p->sh->out->ncmds != from + 1)
		return NULL;
	c = &p->sh->out->cmds[from];
	if (c->nredirs || (strcmp(c->name, "echo") && strcmp(c->name, "printf")))
		return NULL;
	for (k = 0; k < c->argc; k++)
		if (c->wflags[k] & LH_W_DYNAMIC)
			return NULL;
	if (!strcmp(c->name, "printf"))
		return c->argc > 1 ? printf_text(p, c->argv[1], c->argv + 2, c->argc - 2) : "";
	while (first < c->argc && c->argv[first][0] == '-' && c->argv[first][1] &&
	       strspn(c->argv[first] + 1, "neE") == strlen(c->argv[first] + 1))
		first++;
	return first < c->argc ? join_words(p, c->argv + first, c->argc - first) : "";
}

/* What echo or printf writes (decoded as they decode it), or NULL. */
static const char *written_text(struct parser *p, const struct lh_scmd *c)
{
	int first = 1;

	if (!strcmp(c->name, "echo")) {
		int esc = 0;

		while (first < c->argc && c->argv[first][0] == '-' && c->argv[first][1] &&
		       strspn(c->argv[first] + 1, "neE") == strlen(c->argv[first] + 1)) {
			if (strchr(c->argv[first], 'e'))
				esc = 1;
			first++;
		}
		if (first < c->argc) {
			const char *t = join_words(p, c->argv + first, c->argc - first);

			return esc ? printf_text(p, t, NULL, 0) : t;
		}
		return NULL;
	}
	if (!strcmp(c->name, "printf")) {
		if (first < c->argc && !strcmp(c->argv[first], "--"))
			first++;
		if (first < c->argc)
			return printf_text(p, c->argv[first], c->argv + first + 1,
					   c->argc - first - 1);
		return NULL;
	}
	return NULL;
}

static void feeder_of(struct parser *p, int from, int hd_from, struct feeder *f)
{
	const struct lh_scmd *c;
	int k;

	f->text = NULL;
	f->items = NULL;
	f->hd_from = f->hd_to = 0;
	if (p->sh->out->ncmds > from + 1) {
		/*
		 * (crontab -l; echo LINE) | crontab -: what the echo and printf of
		 * a group or subshell write is known; the rest (crontab -l's
		 * output) is not, and is not ours to judge
		 */
		struct wb all;

		wb_init(&all, p);
		for (k = from; k < p->sh->out->ncmds; k++) {
			const struct lh_scmd *x = &p->sh->out->cmds[k];
			const char *t;

			if ((x->ctx & LH_CTX_SUBST) || x->nredirs)
				continue;
			t = written_text(p, x);
			if (t) {
				wb_add(&all, t, strlen(t));
				wb_addc(&all, '\n');
			}
		}
		if (all.len)
			f->text = wb_str(&all);
		return;
	}
	if (p->sh->out->ncmds != from + 1)
		return;
	c = &p->sh->out->cmds[from];
	if (!strcmp(c->name, "find") && c->argc > 1 && c->argv[1][0] != '-' &&
	    !(c->wflags[1] & LH_W_DYNAMIC)) {
		size_t l = strlen(c->argv[1]);
		char *e = alloc(p, l + 3);

		if (e) {
			memcpy(e, c->argv[1], l);
			if (l && e[l - 1] == '/')
				l--;
			memcpy(e + l, "/*", 3);
			f->items = e;
		}
		return;
	}
	if (!strcmp(c->name, "echo") || !strcmp(c->name, "printf")) {
		f->text = written_text(p, c);
		return;
	}
	if (!strcmp(c->name, "cat") && c->argc == 1) {
		for (k = 0; k < c->nredirs; k++)
			if (c->redirs[k].op == LH_REDIR_HERESTR)
				f->text = c->redirs[k].target;
		f->hd_from = hd_from;
		f->hd_to = p->nhd;
	}
}

static int passthrough(const char *name)
{
	static const char *const v[] = { "tee", "cat", "head", "tail", "grep", "egrep", "fgrep",
		"sed", "tr", "sort", "uniq", "cut", "dos2unix", "iconv", "pv", "buffer", NULL };
	int k;

	if (!strchr("tcheg sudipb", name[0]) || !name[0])
		return 0;
	for (k = 0; v[k]; k++)
		if (!strcmp(v[k], name))
			return 1;
	return 0;
}

static void parse_pipeline(struct parser *p, int term)
{
	const char *save_from = p->pipe_from;
	unsigned save_elem = p->elem_ctx;
	struct feeder feed = { NULL, NULL, 0, 0 };

	for (;;) {
		int from = p->sh->out->ncmds, hd_from = p->nhd, k;

		p->stdin_lang = 0;
		p->feed_text = (p->elem_ctx & LH_CTX_PIPE_IN) ? feed.text : NULL;
		p->feed_items = (p->elem_ctx & LH_CTX_PIPE_IN) ? feed.items : NULL;
		parse_command(p, term);
		if (p->sh->stop)
			break;
		if (p->stdin_lang && (p->elem_ctx & LH_CTX_PIPE_IN)) {
			/* the shell's own context (sudo bash) applies to what it runs */
			const struct lh_scmd *sh = &p->sh->out->cmds[p->sh->out->ncmds - 1];
			unsigned ctx = p->ctx | (sh->ctx & LH_CTX_PRIV);

			if (feed.text)
				run_stdin(p, p->stdin_lang, feed.text, ctx, sh->wrappers);
			for (k = feed.hd_from; k < feed.hd_to && k < p->nhd; k++) {
				p->hd[k].lang = p->stdin_lang;
				p->hd[k].ctx = ctx;
				p->hd[k].wrappers = p->wrappers;
			}
		}
		feeder_of(p, from, hd_from, &feed);
		skip_blanks(p);
		if (peekc(p, 0) == '|' && peekc(p, 1) != '|') {
			const char *last = NULL;

			p->i += peekc(p, 1) == '&' ? 2 : 1;
			for (k = from; k < p->sh->out->ncmds; k++) {
				struct lh_scmd *c = &p->sh->out->cmds[k];

				if ((c->ctx & LH_CTX_SUBST) && !(p->ctx & LH_CTX_SUBST))
					continue;
				c->ctx |= LH_CTX_PIPE_OUT;
				/* tee, cat, grep, sed...: what feeds them passes through */
				last = passthrough(c->name) && c->pipe_from && c->pipe_from[0] ?
					c->pipe_from : c->name;
			}
			p->pipe_from = last ? last : "";
			p->elem_ctx = LH_CTX_PIPE_IN;
			skip_newlines(p);
			continue;
		}
		break;
	}
	p->pipe_from = save_from;
	p->elem_ctx = save_elem;
}

/*
 * A list up to `term`: 0 (end of input), ')' (closing paren, consumed),
 * '}' (closing brace word, consumed), 'c' (a case item: stops before ;;
 * or esac) or 'd' (a for body: up to its own 'done', consumed; the 'done'
 * of a while or until loop inside it is theirs, counted by open_loops).
 */
static void parse_list(struct parser *p, int term)
{
	int base = p->open_loops;

	for (;;) {
		int c, from;

		skip_blanks(p);
		if (p->sh->stop)
			return;
		c = peekc(p, 0);
		if (c < 0) {
			if (term == ')')
				fail(p, "unexpected end of input: missing ')'");
			else if (term == '}')
				fail(p, "unexpected end of input: missing '}'");
			else if (term == 'c')
				fail(p, "unexpected end of input: case without esac");
			else if (term == 'd')
				fail(p, "unexpected end of input: missing 'done'");
			return;
		}
		if (c == '\n') {
			newline(p);
			continue;
		}
		if (c == ')') {
			if (term == ')') {
				p->i++;
				return;
			}
			if (term == 'c')
				return;
			fail(p, "syntax error near unexpected ')' at offset %zu", p->i);
			return;
		}
		if (term == '}' && at_keyword(p, "}")) {
			p->i++;
			return;
		}
		if (term == 'c' && ((c == ';' && (peekc(p, 1) == ';' || peekc(p, 1) == '&')) ||
				    at_keyword(p, "esac")))
			return;
		if (term == 'd' && at_keyword(p, "done") && p->open_loops == base) {
			p->i += 4;
			return;
		}
		if (c == ';' || c == '&' || c == '|') {
			if (c == ';' && peekc(p, 1) == ';' && term != 'c') {
				fail(p, "syntax error near unexpected ';;' at offset %zu", p->i);
				return;
			}
			/* an empty command before a separator: bash refuses it */
			fail(p, "syntax error near unexpected '%c' at offset %zu", c, p->i);
			return;
		}
		from = p->sh->out->ncmds;
		parse_pipeline(p, term);
		if (p->sh->stop)
			return;
		skip_blanks(p);
		c = peekc(p, 0);
		if (c == '&' && peekc(p, 1) == '&') {
			p->i += 2;
			skip_newlines(p);
			if (peekc(p, 0) < 0)
				fail(p, "unexpected end of input after '&&'");
			continue;
		}
		if (c == '|' && peekc(p, 1) == '|') {
			p->i += 2;
			skip_newlines(p);
			if (peekc(p, 0) < 0)
				fail(p, "unexpected end of input after '||'");
			continue;
		}
		if (c == '&') {
			int k;

			p->i++;
			for (k = from; k < p->sh->out->ncmds; k++)
				p->sh->out->cmds[k].ctx |= LH_CTX_BACKGROUND;
			continue;
		}
		if (c == ';') {
			if (peekc(p, 1) == ';' || peekc(p, 1) == '&') {
				if (term == 'c')
					return;
				fail(p, "syntax error near unexpected ';;' at offset %zu", p->i);
				return;
			}
			p->i++;
			continue;
		}
		if (c == '(') {
			/* echo :() ...: bash refuses a '(' after a command's words */
			fail(p, "syntax error near unexpected '(' at offset %zu", p->i);
			return;
		}
		/* newline, ')' , '}' or a keyword: handled at the top */
		if (c >= 0 && c != '\n' && c != ')' && !is_meta(c) && p->i == p->n)
			return;
	}
}

int lh_shell_parse(struct lh_script *script, struct lh_arena *arena,
		   const char *src, size_t len, const struct lh_shell_env *env)
{
	return lh_shell_parse_code(script, arena, LH_LANG_SHELL, src, len, env);
}

int lh_shell_parse_code(struct lh_script *script, struct lh_arena *arena, int lang,
			const char *src, size_t len, const struct lh_shell_env *env)
{
	struct shared sh;
	struct parser p;

	memset(script, 0, sizeof(*script));
	memset(&sh, 0, sizeof(sh));
	sh.out = script;
	sh.arena = arena;
	sh.env = env;
	memset(&p, 0, sizeof(p));
	p.sh = &sh;
	p.s = src;
	p.n = len;
	p.marks_ok = marks_ok(src, len);
	if (lang != LH_LANG_SHELL) {
		run_code(&p, (enum lh_lang)lang, src, len, 0, "");
		return sh.oom ? -ENOMEM : 0;
	}
	parse_list(&p, 0);
	if (!sh.stop && p.nhd)
		read_heredocs(&p);
	return sh.oom ? -ENOMEM : 0;
}

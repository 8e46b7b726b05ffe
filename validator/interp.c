/*
 * interp.c -- finding what interpreter code runs, deletes and writes (see
 * interp.h).
 *
 * DESIGN
 *
 * One pass over the code looks at every identifier that starts at a word
 * boundary. A name in the table of its language (system, rmtree,
 * execSync, unlink, open...) followed by `(` -- or, in Perl and Ruby, by
 * an argument without parentheses -- is a call: its arguments are read
 * with the language's string syntax and summarized (a string, a list of
 * strings, or something else), and the table entry's handler turns them
 * into actions. Command strings that are literals of their own (backticks
 * in Perl, Ruby and PHP; qx// and %x()) and awk's pipes are found in the
 * same pass.
 *
 * An argument is a string when it holds at least one string literal: the
 * literals are decoded (escapes, Python's raw and f-strings, Perl and
 * Ruby's q-operators, interpolation) and whatever is not literal -- a
 * variable, a call, an f-string field, `+ path` -- becomes one
 * LH_INTERP_DYN. A bare name assigned a plain string earlier in the code
 * (cmd = "rm -rf /"; os.system(cmd)) takes that string.
 *
 * Generic names (run, call, exec, remove, delete...) are also ordinary
 * methods of other objects; for them an argument that is not a string
 * counts only when the receiver is the module that runs commands
 * (subprocess.run(cmd)), so asyncio.run(main()) stays quiet.
 *
 * Bounds: LH_INTERP_MAX_ACTS actions and LH_INTERP_MAX_ARGS arguments or
 * list items per call, MAX_VARS remembered assignments; every string in
 * the arena (NULL from it stops the scan with -ENOMEM).
 */
#include <errno.h>
#include <string.h>

#include "common/arena.h"
#include "validator/interp.h"
#include "common/banned.h"

#define MAX_VARS 64
#define MAX_NEST 32		/* nested lists read as lists */
#define WORK_BUDGET (8u << 20)	/* bytes looked at while reading arguments */

enum handler {
	H_SHELL1,		/* first argument: a command line (a list: argv) */
	H_SHELLN,		/* one argument: a command line; several: argv (perl, ruby) */
	H_SPAWN,		/* (program, [args]): node spawn, execFile */
	H_DELETE,		/* delete the path(s) */
	H_RMTREE,		/* delete the tree(s) */
	H_RM_NODE,		/* fs.rm(p, {recursive: true}) */
	H_WRITE,		/* write the first argument */
	H_OPEN,			/* open(path, mode): a write when the mode writes */
	H_PERL_OPEN,		/* open(FH, "| cmd"), open(FH, "-|", cmd...), open(FH, ">", p) */
	H_CHMOD_PM,		/* chmod(path, mode) */
	H_CHMOD_MP,		/* chmod(mode, paths...) */
	H_CODE,			/* eval a string of the same language */
};

#define L_PY (1u << LH_LANG_PYTHON)
#define L_PL (1u << LH_LANG_PERL)
#define L_RB (1u << LH_LANG_RUBY)
#define L_JS (1u << LH_LANG_NODE)
#define L_PHP (1u << LH_LANG_PHP)
#define L_AWK (1u << LH_LANG_AWK)

struct entry {
	const char *name;
	unsigned langs;
	enum handler h;
	const char *dyn_recv;	/* NULL: an unknown argument always counts; "": never;
				   else the receivers for which it counts */
	const char *need_recv;	/* NULL, or the only receivers that make this the call */
};

static const struct entry table[] = {
	/* running commands */
	{ "system", L_PY | L_PHP | L_AWK, H_SHELL1, NULL, NULL },
	{ "system", L_PL | L_RB, H_SHELLN, NULL, NULL },
	{ "exec", L_PL | L_RB, H_SHELLN, NULL, NULL },
	{ "exec", L_PHP, H_SHELL1, NULL, NULL },
	{ "exec", L_JS, H_SHELL1, "child_process cp", NULL },
	{ "exec", L_PY, H_CODE, "", NULL },
	{ "spawn", L_RB, H_SHELLN, NULL, NULL },
	{ "spawn", L_PY, H_SHELL1, "pty", NULL },
	{ "spawn", L_JS, H_SPAWN, NULL, NULL },
	{ "spawnSync", L_JS, H_SPAWN, NULL, NULL },
	{ "execFile", L_JS, H_SPAWN, NULL, NULL },
	{ "execFileSync", L_JS, H_SPAWN, NULL, NULL },
	{ "execSync", L_JS, H_SHELL1, NULL, NULL },
	{ "popen", L_PY | L_RB | L_PHP, H_SHELL1, NULL, NULL },
	{ "popen2", L_RB, H_SHELL1, NULL, NULL },
	{ "popen3", L_RB, H_SHELL1, NULL, NULL },
	{ "capture2", L_RB, H_SHELL1, NULL, NULL },
	{ "capture2e", L_RB, H_SHELL1, NULL, NULL },
	{ "capture3", L_RB, H_SHELL1, NULL, NULL },
	{ "getoutput", L_PY, H_SHELL1, NULL, NULL },
	{ "getstatusoutput", L_PY, H_SHELL1, NULL, NULL },
	{ "check_output", L_PY, H_SHELL1, NULL, NULL },
	{ "check_call", L_PY, H_SHELL1, NULL, NULL },
	{ "Popen", L_PY, H_SHELL1, NULL, NULL },
	{ "run", L_PY, H_SHELL1, "subprocess sp", NULL },
	{ "call", L_PY, H_SHELL1, "subprocess sp", NULL },
	{ "shell_exec", L_PHP, H_SHELL1, NULL, NULL },
	{ "passthru", L_PHP, H_SHELL1, NULL, NULL },
	{ "proc_open", L_PHP, H_SHELL1, NULL, NULL },
	/* deleting */
	{ "rmtree", L_PY | L_PL | L_RB, H_RMTREE, NULL, NULL },
	{ "remove_tree", L_PL, H_RMTREE, NULL, NULL },
	{ "removedirs", L_PY, H_RMTREE, NULL, NULL },
	{ "rm_rf", L_RB, H_RMTREE, NULL, NULL },
	{ "rm_r", L_RB, H_RMTREE, NULL, NULL },
	{ "remove_dir", L_RB, H_RMTREE, NULL, NULL },
	{ "remove_entry", L_RB, H_RMTREE, NULL, NULL },
	{ "remove_entry_secure", L_RB, H_RMTREE, NULL, NULL },
	{ "rm", L_JS, H_RM_NODE, "fs fsp promises", NULL },
	{ "rmSync", L_JS, H_RM_NODE, NULL, NULL },
	{ "rmdir", L_JS, H_RM_NODE, "fs fsp promises", NULL },
	{ "rmdirSync", L_JS, H_RM_NODE, NULL, NULL },
	{ "remove", L_PY, H_DELETE, "os", NULL },
	{ "unlink", L_PY, H_DELETE, "os", NULL },
	{ "rmdir", L_PY, H_DELETE, "os", NULL },
	{ "unlink", L_PL | L_PHP, H_DELETE, NULL, NULL },
	{ "rmdir", L_PL | L_PHP | L_RB, H_DELETE, NULL, NULL },
	{ "unlink", L_JS, H_DELETE, "fs fsp promises", NULL },
	{ "unlinkSync", L_JS, H_DELETE, NULL, NULL },
	{ "rm", L_RB, H_DELETE, "FileUtils", NULL },
	{ "rm_f", L_RB, H_DELETE, NULL, NULL },
	{ "remove", L_RB, H_DELETE, "FileUtils", NULL },
	{ "unlink", L_RB, H_DELETE, "File FileUtils", NULL },
	{ "safe_unlink", L_RB, H_DELETE, NULL, NULL },
	{ "delete", L_RB, H_DELETE, "File", NULL },
	/* writing */
	{ "open", L_PY | L_RB | L_JS, H_OPEN, "", NULL },
	{ "openSync", L_JS, H_OPEN, "", NULL },
	{ "fopen", L_PHP, H_OPEN, "", NULL },
	{ "open", L_PL, H_PERL_OPEN, "", NULL },
	{ "write_text", L_PY, H_WRITE, "", NULL },
	{ "write_bytes", L_PY, H_WRITE, "", NULL },
	{ "write", L_RB, H_WRITE, "", "File IO" },
	{ "binwrite", L_RB, H_WRITE, "", "File IO" },
	{ "writeFile", L_JS, H_WRITE, "", NULL },
	{ "writeFileSync", L_JS, H_WRITE, "", NULL },
	{ "appendFile", L_JS, H_WRITE, "", NULL },
	{ "appendFileSync", L_JS, H_WRITE, "", NULL },
	{ "createWriteStream", L_JS, H_WRITE, "", NULL },
	{ "file_put_contents", L_PHP, H_WRITE, "", NULL },
	{ "chmod", L_PY | L_PHP, H_CHMOD_PM, "os", NULL },
	{ "chmod", L_JS, H_CHMOD_PM, "fs", NULL },
	{ "chmodSync", L_JS, H_CHMOD_PM, "", NULL },
	{ "chmod", L_PL | L_RB, H_CHMOD_MP, "", NULL },
	{ "chmod_R", L_RB, H_CHMOD_MP, "", NULL },
	/* more code */
	{ "eval", L_PY | L_PL | L_RB | L_JS | L_PHP, H_CODE, "", NULL },
	{ "instance_eval", L_RB, H_CODE, "", NULL },
	{ "class_eval", L_RB, H_CODE, "", NULL },
	{ "runInThisContext", L_JS, H_CODE, "", NULL },
	{ "runInNewContext", L_JS, H_CODE, "", NULL },
};

struct var {
	const char *name;
	size_t len;
	const char *value;
};

struct scan {
	struct lh_arena *a;
	enum lh_lang lang;
	const char *s;
	size_t n;
	lh_interp_fn fn;
	void *arg;
	int nacts;
	int oom;
	int nest;			/* lists being read */
	size_t print_expr;		/* awk: where the current print's expression starts */
	size_t budget;			/* WORK_BUDGET, spent by argument reading */
	int exhausted;			/* the budget ran out: the rest is unread */
	struct var vars[MAX_VARS];
	int nvars;
};

/* a string growing in the arena */
struct sb {
	char *p;
	size_t len, cap;
	struct scan *sc;
};

enum akind { A_NONE, A_STR, A_LIST, A_OTHER };

struct arg {
	enum akind kind;
	const char *text;		/* A_STR: decoded, LH_INTERP_DYN for the rest; A_OTHER: DYN */
	const char **items;		/* A_LIST: each a text like A_STR's */
	int nitems;
	size_t start, end;		/* raw span */
};

/* ---- strings ------------------------------------------------------------------- */

static void sb_init(struct sb *b, struct scan *sc)
{
	b->p = NULL;
	b->len = b->cap = 0;
	b->sc = sc;
}

static void sb_add(struct sb *b, const char *s, size_t n)
{
	if (b->sc->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 32;
		char *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		np = lh_arena_alloc(b->sc->a, cap);
		if (!np) {
			b->sc->oom = 1;
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

static void sb_addc(struct sb *b, char c)
{
	sb_add(b, &c, 1);
}

static void sb_dyn(struct sb *b)
{
	if (!b->len || b->p[b->len - 1] != LH_INTERP_DYN)
		sb_addc(b, LH_INTERP_DYN);
}

static const char *sb_str(struct sb *b)
{
	return b->p ? b->p : "";
}

static int is_ident(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static int is_ident_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int at(const struct scan *sc, size_t i)
{
	return i < sc->n ? (unsigned char)sc->s[i] : -1;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void add_utf8(struct sb *b, unsigned long v)
{
	char e[4];

	if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) || !v) {
		sb_addc(b, '?');
	} else if (v < 0x80) {
		sb_addc(b, (char)v);
	} else if (v < 0x800) {
		e[0] = (char)(0xC0 | (v >> 6));
		e[1] = (char)(0x80 | (v & 0x3F));
		sb_add(b, e, 2);
	} else if (v < 0x10000) {
		e[0] = (char)(0xE0 | (v >> 12));
		e[1] = (char)(0x80 | ((v >> 6) & 0x3F));
		e[2] = (char)(0x80 | (v & 0x3F));
		sb_add(b, e, 3);
	} else {
		e[0] = (char)(0xF0 | (v >> 18));
		e[1] = (char)(0x80 | ((v >> 12) & 0x3F));
		e[2] = (char)(0x80 | ((v >> 6) & 0x3F));
		e[3] = (char)(0x80 | (v & 0x3F));
		sb_add(b, e, 4);
	}
}

/*
 * A backslash escape at s[i] == '\\' inside an escaping string; adds what
 * it stands for and returns the index after it.
 */
static size_t escape(struct scan *sc, size_t i, struct sb *b)
{
	int c = at(sc, i + 1), d;
	unsigned long v = 0;
	size_t k;

	if (c < 0) {
		sb_addc(b, '\\');
		return i + 1;
	}
	i += 2;
	switch (c) {
	case 'n': sb_addc(b, '\n'); return i;
	case 't': sb_addc(b, '\t'); return i;
	case 'r': sb_addc(b, '\r'); return i;
	case 'a': sb_addc(b, '\a'); return i;
	case 'e': sb_addc(b, 27); return i;
	case '\n': return i;
	case 'x':
		if (at(sc, i) == '{') {
			for (k = i + 1; k < sc->n && k < i + 10 && (d = hexval(at(sc, k))) >= 0; k++)
				v = v * 16 + (unsigned long)d;
			if (at(sc, k) == '}') {
				add_utf8(b, v);
				return k + 1;
			}
		}
		for (k = i; k < i + 2 && (d = hexval(at(sc, k))) >= 0; k++)
			v = v * 16 + (unsigned long)d;
		if (k == i) {
			sb_add(b, "\\x", 2);
			return i;
		}
		add_utf8(b, v);
		return k;
	case 'u':
	case 'U':
		if (at(sc, i) == '{') {
			for (k = i + 1; k < sc->n && k < i + 10 && (d = hexval(at(sc, k))) >= 0; k++)
				v = v * 16 + (unsigned long)d;
			if (at(sc, k) == '}') {
				add_utf8(b, v);
				return k + 1;
			}
		}
		for (k = i; k < i + (c == 'u' ? 4 : 8) && (d = hexval(at(sc, k))) >= 0; k++)
			v = v * 16 + (unsigned long)d;
		if (k == i) {
			sb_addc(b, (char)c);
			return i;
		}
		add_utf8(b, v);
		return k;
	case '0': case '1': case '2': case '3':
	case '4': case '5': case '6': case '7':
		v = (unsigned long)(c - '0');
		for (k = i; k < i + 2 && at(sc, k) >= '0' && at(sc, k) <= '7'; k++)
			v = v * 8 + (unsigned long)(at(sc, k) - '0');
		add_utf8(b, v);
		return k;
	case '\\': case '\'': case '"': case '`': case '$': case '@': case '/': case '#':
	case '{': case '}':
		sb_addc(b, (char)c);
		return i;
	default:
		sb_addc(b, '\\');
		sb_addc(b, (char)c);
		return i;
	}
}

static int closer_of(int open)
{
	switch (open) {
	case '(': return ')';
	case '[': return ']';
	case '{': return '}';
	case '<': return '>';
	}
	return open;
}

/* Skip a balanced ${...} / #{...} / {...} at s[i] == '{'; returns the index after it. */
static size_t skip_braces(const struct scan *sc, size_t i)
{
	int depth = 0;

	for (; i < sc->n; i++) {
		if (sc->s[i] == '{')
			depth++;
		else if (sc->s[i] == '}' && --depth == 0)
			return i + 1;
	}
	return sc->n;
}

/* A Perl or PHP variable inside a string at s[i] ($x, ${x}, @x, $x->{k}[0]). */
static size_t skip_var(const struct scan *sc, size_t i)
{
	i++;
	if (at(sc, i) == '{')
		return skip_braces(sc, i);
	while (i < sc->n && (is_ident(at(sc, i)) || at(sc, i) == ':'))
		i++;
	for (;;) {
		if (at(sc, i) == '-' && at(sc, i + 1) == '>' && (at(sc, i + 2) == '{' ||
								   at(sc, i + 2) == '[' ||
								   is_ident_start(at(sc, i + 2))))
			i += 2;
		if (at(sc, i) == '[' || at(sc, i) == '{') {
			int open = at(sc, i), close = closer_of(open), depth = 0;

			for (; i < sc->n; i++) {
				if (at(sc, i) == open)
					depth++;
				else if (at(sc, i) == close && --depth == 0) {
					i++;
					break;
				}
			}
			continue;
		}
		if (is_ident_start(at(sc, i)) && i > 0 && sc->s[i - 1] == '>') {
			while (i < sc->n && is_ident(at(sc, i)))
				i++;
			continue;
		}
		return i;
	}
}

enum qmode {
	Q_RAW,			/* no escapes but \\ and the quote */
	Q_ESC,			/* escapes */
	Q_INTERP,		/* escapes and interpolation */
};

/*
 * The body of a quoted string from s[i] (just past the opening delimiter)
 * up to `close` (bracket delimiters nest). Returns the index after the
 * closing delimiter, or n when there is none.
 */
static size_t quoted(struct scan *sc, size_t i, int open, int close, enum qmode mode,
		     int fstring, struct sb *b)
{
	int depth = 0;

	while (i < sc->n && !sc->oom) {
		int c = (unsigned char)sc->s[i];

		if (c == '\\') {
			if (mode == Q_RAW) {
				int d = at(sc, i + 1);

				if (d == close || d == '\\' || (open != close && d == open)) {
					sb_addc(b, (char)d);
					i += 2;
				} else {
					sb_addc(b, '\\');
					i++;
				}
				continue;
			}
			i = escape(sc, i, b);
			continue;
		}
		if (open != close && c == open) {
			depth++;
		} else if (c == close) {
			if (!depth)
				return i + 1;
			depth--;
		}
		if (fstring && c == '{') {
			if (at(sc, i + 1) == '{') {
				sb_addc(b, '{');
				i += 2;
				continue;
			}
			sb_dyn(b);
			i = skip_braces(sc, i);
			continue;
		}
		if (fstring && c == '}' && at(sc, i + 1) == '}') {
			sb_addc(b, '}');
			i += 2;
			continue;
		}
		if (mode == Q_INTERP) {
			enum lh_lang l = sc->lang;

			if ((l == LH_LANG_PERL || l == LH_LANG_PHP) && (c == '$' || c == '@') &&
			    (is_ident_start(at(sc, i + 1)) || at(sc, i + 1) == '{' ||
			     (c == '$' && at(sc, i + 1) == ':'))) {
				sb_dyn(b);
				i = skip_var(sc, i);
				continue;
			}
			if (l == LH_LANG_PHP && c == '{' && at(sc, i + 1) == '$') {
				sb_dyn(b);
				i = skip_braces(sc, i);
				continue;
			}
			if ((l == LH_LANG_RUBY && c == '#' && at(sc, i + 1) == '{') ||
			    (l == LH_LANG_NODE && c == '$' && at(sc, i + 1) == '{')) {
				sb_dyn(b);
				i = skip_braces(sc, i + 1);
				continue;
			}
			if (l == LH_LANG_RUBY && c == '#' && at(sc, i + 1) == '@') {
				sb_dyn(b);
				i = skip_var(sc, i + 1);
				continue;
			}
		}
		sb_addc(b, (char)c);
		i++;
	}
	return sc->n;
}

enum lit {
	LIT_NONE,
	LIT_STR,		/* a string */
	LIT_CMD,		/* a command string: `...`, qx//, %x() */
	LIT_WORDS,		/* a word list: qw(), %w() */
};

/* Does a string literal start at s[i]? Decodes it into b; *end after it. */
static enum lit literal(struct scan *sc, size_t i, struct sb *b, size_t *end)
{
	int c = at(sc, i), prev = i > 0 ? (unsigned char)sc->s[i - 1] : ' ';
	enum lh_lang l = sc->lang;

	if (l == LH_LANG_PYTHON) {
		size_t k = i;
		int raw = 0, f = 0;

		if (!is_ident(prev))
			while (k < i + 2 && at(sc, k) > 0 && strchr("rRbBuUfF", at(sc, k))) {
				raw |= at(sc, k) == 'r' || at(sc, k) == 'R';
				f |= at(sc, k) == 'f' || at(sc, k) == 'F';
				k++;
			}
		c = at(sc, k);
		if (c != '\'' && c != '"')
			return LIT_NONE;
		if (at(sc, k + 1) == c && at(sc, k + 2) == c) {
			/* triple quotes: up to the same three */
			size_t j = k + 3;

			while (j < sc->n && !sc->oom) {
				if (at(sc, j) == '\\' && !raw) {
					j = escape(sc, j, b);
					continue;
				}
				if (at(sc, j) == c && at(sc, j + 1) == c && at(sc, j + 2) == c) {
					*end = j + 3;
					return LIT_STR;
				}
				if (f && at(sc, j) == '{' && at(sc, j + 1) != '{') {
					sb_dyn(b);
					j = skip_braces(sc, j);
					continue;
				}
				sb_addc(b, sc->s[j]);
				j++;
			}
			*end = sc->n;
			return LIT_STR;
		}
		*end = quoted(sc, k + 1, c, c, raw ? Q_RAW : Q_ESC, f, b);
		return LIT_STR;
	}
	if (c == '\'') {
		*end = quoted(sc, i + 1, c, c, l == LH_LANG_NODE ? Q_ESC : Q_RAW, 0, b);
		return LIT_STR;
	}
	if (c == '"') {
		*end = quoted(sc, i + 1, c, c, l == LH_LANG_NODE || l == LH_LANG_AWK ? Q_ESC : Q_INTERP,
			      0, b);
		return LIT_STR;
	}
	if (c == '`') {
		if (l == LH_LANG_NODE) {
			*end = quoted(sc, i + 1, c, c, Q_INTERP, 0, b);
			return LIT_STR;
		}
		if (l == LH_LANG_PERL || l == LH_LANG_RUBY || l == LH_LANG_PHP) {
			*end = quoted(sc, i + 1, c, c, Q_INTERP, 0, b);
			return LIT_CMD;
		}
		return LIT_NONE;
	}
	if (l == LH_LANG_PERL && c == 'q' && !is_ident(prev)) {
		int k = at(sc, i + 1), d;
		size_t o = i + 1;
		enum lit kind = LIT_STR;
		enum qmode mode = Q_RAW;

		if (k == 'q' || k == 'x' || k == 'w') {
			o = i + 2;
			kind = k == 'x' ? LIT_CMD : k == 'w' ? LIT_WORDS : LIT_STR;
			mode = k == 'w' ? Q_RAW : Q_INTERP;
		}
		d = at(sc, o);
		if (d < 0 || is_ident(d) || d == ' ' || d == '\t' || d == '\n' || d == '=' ||
		    d == ',' || d == ';' || d == ')')
			return LIT_NONE;
		*end = quoted(sc, o + 1, d, closer_of(d), mode, 0, b);
		return kind;
	}
	if (l == LH_LANG_RUBY && c == '%' && !is_ident(prev)) {
		int k = at(sc, i + 1), d;
		size_t o = i + 1;
		enum lit kind = LIT_STR;
		enum qmode mode = Q_INTERP;

		if (k > 0 && strchr("qQwWxiI", k)) {
			o = i + 2;
			kind = k == 'x' ? LIT_CMD : (k == 'w' || k == 'W' || k == 'i' || k == 'I') ?
				LIT_WORDS : LIT_STR;
			mode = (k == 'q' || k == 'w' || k == 'i') ? Q_RAW : Q_INTERP;
		}
		d = at(sc, o);
		if (d < 0 || !strchr("([{<|!/", d))
			return LIT_NONE;
		*end = quoted(sc, o + 1, d, closer_of(d), mode, 0, b);
		return kind;
	}
	return LIT_NONE;
}

/* ---- arguments ------------------------------------------------------------------ */

static const char *var_lookup(const struct scan *sc, const char *s, size_t n)
{
	int k;

	for (k = sc->nvars - 1; k >= 0; k--)
		if (sc->vars[k].len == n && !memcmp(sc->vars[k].name, s, n))
			return sc->vars[k].value;
	return NULL;
}

/* Split a word list (qw(), %w()) into items. */
static void words_items(struct scan *sc, const char *w, struct arg *a)
{
	const char *p = w;

	a->items = lh_arena_alloc(sc->a, sizeof(*a->items) * LH_INTERP_MAX_ARGS);
	if (!a->items) {
		sc->oom = 1;
		return;
	}
	while (*p && a->nitems < LH_INTERP_MAX_ARGS) {
		size_t l;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		l = strcspn(p, " \t\n");
		if (!l)
			break;
		a->items[a->nitems] = lh_arena_strndup(sc->a, p, l);
		if (!a->items[a->nitems]) {
			sc->oom = 1;
			return;
		}
		a->nitems++;
		p += l;
	}
}

/* Spend n units of the work budget; 0 once it is gone. */
static int spend(struct scan *sc, size_t n)
{
	if (sc->budget < n) {
		sc->budget = 0;
		sc->exhausted = 1;
		return 0;
	}
	sc->budget -= n;
	return 1;
}

/* Words that end a Perl or Ruby argument given without parentheses. */
static int ends_statement(const char *s, size_t n)
{
	static const char *const kw[] = { "or", "and", "if", "unless", "while", "until", "do",
		"then", "foreach", "for", NULL };
	int k;

	for (k = 0; kw[k]; k++)
		if (strlen(kw[k]) == n && !memcmp(kw[k], s, n))
			return 1;
	return 0;
}

static int is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_space(const struct scan *sc, size_t i)
{
	while (i < sc->n && is_space(at(sc, i)))
		i++;
	return i;
}

static size_t parse_args(struct scan *sc, size_t i, int close, struct arg *args, int *nargs);

/*
 * Expressions whose value we know: the home folder (as ~, which the shell
 * side expands) and the current folder. Matched as written.
 */
static const struct {
	const char *expr;
	unsigned langs;
	const char *value;
} known_exprs[] = {
	{ "Dir.home", L_RB, "~" }, { "ENV['HOME']", L_RB, "~" }, { "ENV[\"HOME\"]", L_RB, "~" },
	{ "File.expand_path('~')", L_RB, "~" }, { "File.expand_path(\"~\")", L_RB, "~" },
	{ "Dir.pwd", L_RB, "." },
	{ "os.path.expanduser('~')", L_PY, "~" }, { "os.path.expanduser(\"~\")", L_PY, "~" },
	{ "Path.home()", L_PY, "~" }, { "pathlib.Path.home()", L_PY, "~" },
	{ "os.environ['HOME']", L_PY, "~" }, { "os.environ[\"HOME\"]", L_PY, "~" },
	{ "os.getenv('HOME')", L_PY, "~" }, { "os.getenv(\"HOME\")", L_PY, "~" },
	{ "os.environ.get('HOME')", L_PY, "~" }, { "os.environ.get(\"HOME\")", L_PY, "~" },
	{ "os.getcwd()", L_PY, "." }, { "Path.cwd()", L_PY, "." },
	{ "require('os').homedir()", L_JS, "~" }, { "require(\"os\").homedir()", L_JS, "~" },
	{ "os.homedir()", L_JS, "~" }, { "process.env.HOME", L_JS, "~" }, { "process.cwd()", L_JS, "." },
	{ "$ENV{HOME}", L_PL, "~" }, { "$ENV{'HOME'}", L_PL, "~" }, { "$ENV{\"HOME\"}", L_PL, "~" },
	{ "getenv('HOME')", L_PHP, "~" }, { "getenv(\"HOME\")", L_PHP, "~" }, { "getcwd()", L_PHP | L_PL, "." },
	{ "ENVIRON[\"HOME\"]", L_AWK, "~" },
};

/* A known expression at s[i]: its value, and *len its length. */
static const char *known_expr(const struct scan *sc, size_t i, size_t *len)
{
	size_t k;

	for (k = 0; k < sizeof(known_exprs) / sizeof(known_exprs[0]); k++) {
		size_t l = strlen(known_exprs[k].expr);

		if ((known_exprs[k].langs & (1u << sc->lang)) && i + l <= sc->n &&
		    !memcmp(sc->s + i, known_exprs[k].expr, l) &&
		    (i + l == sc->n || !is_ident((unsigned char)sc->s[i + l]))) {
			*len = l;
			return known_exprs[k].value;
		}
	}
	return NULL;
}

/*
 * One argument from s[i], up to a comma or a closer at depth 0 (or, with
 * close == 0, the end of the statement). Returns the index where it ended.
 */
static size_t parse_expr(struct scan *sc, size_t i, int close, struct arg *a)
{
	struct sb b;
	int any_lit = 0, any_other = 0, tokens = 0;
	size_t single = 0, single_len = 0;

	memset(a, 0, sizeof(*a));
	sb_init(&b, sc);
	i = skip_space(sc, i);
	a->start = i;
	/* a list: [..] (python, ruby, node, php), (..) in perl, qw() */
	if (((at(sc, i) == '[' && sc->lang != LH_LANG_PERL) ||
	     (at(sc, i) == '(' && sc->lang == LH_LANG_PERL)) && sc->nest < MAX_NEST) {
		struct arg items[LH_INTERP_MAX_ARGS];
		int n = 0, k;
		size_t j, after;

		sc->nest++;
		j = parse_args(sc, i + 1, closer_of(at(sc, i)), items, &n);
		sc->nest--;
		after = skip_space(sc, j);

		if (after >= sc->n || at(sc, after) == ',' || at(sc, after) == close ||
		    (close == 0 && (at(sc, after) == ';' || at(sc, after) == '\n'))) {
			a->kind = A_LIST;
			a->items = lh_arena_alloc(sc->a, sizeof(*a->items) * (size_t)(n + 1));
			if (!a->items) {
				sc->oom = 1;
				return sc->n;
			}
			for (k = 0; k < n; k++) {
				if (items[k].kind == A_LIST) {
					a->items[a->nitems++] = "\x05";
					continue;
				}
				a->items[a->nitems++] = items[k].kind == A_STR ? items[k].text : "\x05";
			}
			a->end = after;
			return after;
		}
		i = j;
		any_other = 1;
		tokens++;
	}
	while (i < sc->n && !sc->oom && spend(sc, 1)) {
		int c = at(sc, i);
		size_t end;
		enum lit lk;

		if (c == ',' || (close && c == close))
			break;
		if (!close && (c == ';' || c == '\n' || c == ')' || c == '}' || c == ']' ||
			       (c == '|' && at(sc, i + 1) == '|') || (c == '&' && at(sc, i + 1) == '&')))
			break;
		if (c == ')' || c == ']' || c == '}')
			break;	/* an unbalanced closer ends the argument */
		if (is_space(c)) {
			i++;
			continue;
		}
		{
			struct sb lit;

			sb_init(&lit, sc);
			lk = literal(sc, i, &lit, &end);
			if (lk == LIT_WORDS && !tokens) {
				a->kind = A_LIST;
				words_items(sc, sb_str(&lit), a);
				a->end = end;
				return end;
			}
			if (lk != LIT_NONE) {
				if (lk == LIT_CMD)
					sb_dyn(&b);	/* its output: reported by the main scan */
				else
					sb_add(&b, sb_str(&lit), lit.len);
				any_lit = 1;
				tokens++;
				i = end;
				continue;
			}
		}
		{
			size_t kl;
			const char *kv = known_expr(sc, i, &kl);

			if (kv) {
				sb_add(&b, kv, strlen(kv));
				any_lit = 1;
				tokens++;
				i += kl;
				continue;
			}
		}
		if (c == '(' || c == '[' || c == '{') {
			int depth = 0;
			size_t j = i;

			for (; j < sc->n && spend(sc, 1); j++) {
				int d = at(sc, j);
				struct sb skip;
				size_t e;

				sb_init(&skip, sc);
				if ((d == '"' || d == '\'' || d == '`') && literal(sc, j, &skip, &e) != LIT_NONE) {
					j = e - 1;
					continue;
				}
				if (d == '(' || d == '[' || d == '{')
					depth++;
				else if ((d == ')' || d == ']' || d == '}') && --depth == 0)
					break;
			}
			sb_dyn(&b);
			any_other = 1;
			tokens++;
			i = j < sc->n ? j + 1 : sc->n;
			continue;
		}
		if (is_ident_start(c) || ((c == '$' || c == '@') && is_ident_start(at(sc, i + 1)))) {
			size_t s0 = (c == '$' || c == '@') ? i + 1 : i, e = s0;

			while (e < sc->n && is_ident(at(sc, e)))
				e++;
			if (!close && c != '$' && c != '@' && ends_statement(sc->s + s0, e - s0))
				break;
			if (!tokens) {
				single = s0;
				single_len = e - s0;
			}
			{
				/* a name assigned a string earlier stands for it (not an attribute) */
				const char *v = i > 0 && sc->s[i - 1] == '.' ? NULL :
						var_lookup(sc, sc->s + s0, e - s0);

				if (v) {
					sb_add(&b, v, strlen(v));
					any_lit = 1;
				} else {
					sb_dyn(&b);
					any_other = 1;
				}
			}
			tokens++;
			i = e;
			continue;
		}
		if (c >= '0' && c <= '9') {
			while (i < sc->n && (is_ident(at(sc, i)) || at(sc, i) == '.'))
				i++;
			sb_dyn(&b);
			any_other = 1;
			tokens++;
			continue;
		}
		/* operators: + . % * and the like join the parts */
		i++;
	}
	a->end = i;
	if (tokens == 1 && single_len) {
		const char *v = var_lookup(sc, sc->s + single, single_len);

		if (v) {
			a->kind = A_STR;
			a->text = v;
			return i;
		}
	}
	if (any_lit) {
		a->kind = A_STR;
		a->text = sb_str(&b);
	} else if (any_other) {
		a->kind = A_OTHER;
		a->text = "\x05";
	}
	return i;
}

/*
 * Arguments up to `close` (the index after it is returned), or with
 * close == 0 up to the end of the statement.
 */
static size_t parse_args(struct scan *sc, size_t i, int close, struct arg *args, int *nargs)
{
	*nargs = 0;
	for (;;) {
		struct arg scratch, *a = *nargs < LH_INTERP_MAX_ARGS ? &args[*nargs] : &scratch;
		int c;

		i = parse_expr(sc, i, close, a);
		if (a->kind != A_NONE && a != &scratch)
			(*nargs)++;
		c = at(sc, i);
		if (c == ',' && !sc->oom) {
			i++;
			continue;
		}
		if (close && c == close)
			return i + 1;
		return i;
	}
}

/* ---- actions ----------------------------------------------------------------------- */

static void act(struct scan *sc, enum lh_interp_kind kind, const char *call, const char *text,
		const char *const *argv, int argc)
{
	struct lh_interp_act x;

	if (sc->oom || sc->nacts >= LH_INTERP_MAX_ACTS)
		return;
	if ((kind == LH_INTERP_ARGV && argc < 1) || (kind != LH_INTERP_ARGV &&
						       kind != LH_INTERP_CHMOD && !text))
		return;
	sc->nacts++;
	memset(&x, 0, sizeof(x));
	x.kind = kind;
	x.call = call;
	x.text = text;
	x.argv = argv;
	x.argc = argc;
	sc->fn(sc->arg, &x);
}

static void act_argv(struct scan *sc, const char *call, const struct arg *args, int nargs)
{
	const char **v = lh_arena_alloc(sc->a, sizeof(*v) * (LH_INTERP_MAX_ARGS * 2 + 1));
	int n = 0, k, j;

	if (!v) {
		sc->oom = 1;
		return;
	}
	for (k = 0; k < nargs; k++) {
		if (args[k].kind == A_LIST) {
			for (j = 0; j < args[k].nitems && n < LH_INTERP_MAX_ARGS * 2; j++)
				v[n++] = args[k].items[j];
			continue;
		}
		if (n < LH_INTERP_MAX_ARGS * 2)
			v[n++] = args[k].text ? args[k].text : "\x05";
	}
	v[n] = NULL;
	act(sc, LH_INTERP_ARGV, call, NULL, v, n);
}

static int in_words(const char *list, const char *w, size_t n)
{
	const char *p = list;

	while (*p) {
		size_t l = strcspn(p, " ");

		if (l == n && !memcmp(p, w, n))
			return 1;
		p += l;
		while (*p == ' ')
			p++;
	}
	return 0;
}

/* Does the raw span of an argument mention a word (recursive: true)? */
static int arg_mentions(const struct scan *sc, const struct arg *a, const char *w)
{
	size_t l = strlen(w);

	return a->end > a->start && memmem(sc->s + a->start, a->end - a->start, w, l) != NULL;
}

struct recv {
	const char *name;		/* the identifier before '.', '::' or '->' */
	size_t len;
	int is_call;			/* the receiver is a call: Path("x").unlink() */
	struct arg call_arg;		/* its first argument */
};

/* What stands before the name at s[i] (the name's first byte). */
static void receiver(struct scan *sc, size_t i, struct recv *r)
{
	size_t k = i, e;

	memset(r, 0, sizeof(*r));
	if (k >= 1 && sc->s[k - 1] == '.')
		k -= 1;
	else if (k >= 2 && ((sc->s[k - 1] == ':' && sc->s[k - 2] == ':') ||
			    (sc->s[k - 1] == '>' && sc->s[k - 2] == '-')))
		k -= 2;
	else
		return;
	if (k >= 1 && sc->s[k - 1] == ')') {
		/* a call's result: find its '(' and the name before it */
		int depth = 0;
		size_t j = k - 1, open;

		for (;; j--) {
			if (!spend(sc, 1))
				return;
			if (sc->s[j] == ')')
				depth++;
			else if (sc->s[j] == '(' && --depth == 0)
				break;
			if (!j)
				return;
		}
		open = j;
		e = j;
		while (j > 0 && is_ident((unsigned char)sc->s[j - 1]))
			j--;
		r->name = sc->s + j;
		r->len = e - j;
		r->is_call = 1;
		{
			struct arg args[LH_INTERP_MAX_ARGS];
			int n = 0;

			parse_args(sc, open + 1, ')', args, &n);
			if (n)
				r->call_arg = args[0];
		}
		return;
	}
	e = k;
	while (k > 0 && is_ident((unsigned char)sc->s[k - 1]))
		k--;
	r->name = sc->s + k;
	r->len = e - k;
}

static int mode_writes(const char *m)
{
	return m && (strchr(m, 'w') || strchr(m, 'a') || strchr(m, '+') || strchr(m, 'x'));
}

static void handle(struct scan *sc, const struct entry *e, const struct recv *r,
		   const struct arg *args, int nargs)
{
	int unknown_ok = !e->dyn_recv || (r->name && e->dyn_recv[0] &&
					  in_words(e->dyn_recv, r->name, r->len));
	const struct arg *a0 = nargs > 0 ? &args[0] : NULL;
	int k;

	/* an argument that is neither a string nor a list counts only where it must */
	if (a0 && a0->kind == A_OTHER && !unknown_ok)
		a0 = NULL;
	switch (e->h) {
	case H_SHELL1:
		if (!a0)
			return;
		if (a0->kind == A_LIST)
			act_argv(sc, e->name, a0, 1);
		else
			act(sc, LH_INTERP_SHELL, e->name, a0->text, NULL, 0);
		return;
	case H_SHELLN:
		if (nargs >= 2 && args[0].end > args[0].start && sc->s[args[0].start] == '{') {
			args++;		/* ruby's env hash */
			nargs--;
			a0 = &args[0];
		}
		if (nargs >= 2) {
			act_argv(sc, e->name, args, nargs);
			return;
		}
		if (!a0)
			return;
		if (a0->kind == A_LIST)
			act_argv(sc, e->name, a0, 1);
		else
			act(sc, LH_INTERP_SHELL, e->name, a0->text, NULL, 0);
		return;
	case H_SPAWN:
		if (!a0)
			return;
		act_argv(sc, e->name, args, nargs >= 2 && args[1].kind == A_LIST ? 2 : 1);
		return;
	case H_DELETE:
	case H_RMTREE:
		if (r->is_call && r->len >= 4 && !memcmp(r->name + r->len - 4, "Path", 4)) {
			if (r->call_arg.kind == A_STR || r->call_arg.kind == A_OTHER)
				act(sc, e->h == H_RMTREE ? LH_INTERP_RMTREE : LH_INTERP_DELETE, e->name,
				    r->call_arg.text, NULL, 0);
			return;
		}
		for (k = 0; k < nargs && k < LH_INTERP_MAX_ARGS; k++) {
			const struct arg *a = &args[k];
			int j;

			if (k > 0 && sc->lang != LH_LANG_PERL && sc->lang != LH_LANG_RUBY)
				break;	/* one path, then options */
			if (a->kind == A_OTHER && !unknown_ok)
				continue;
			if (a->kind == A_LIST) {
				for (j = 0; j < a->nitems; j++)
					act(sc, e->h == H_RMTREE ? LH_INTERP_RMTREE : LH_INTERP_DELETE,
					    e->name, a->items[j], NULL, 0);
				continue;
			}
			act(sc, e->h == H_RMTREE ? LH_INTERP_RMTREE : LH_INTERP_DELETE, e->name,
			    a->text, NULL, 0);
		}
		return;
	case H_RM_NODE:
		if (!a0 || a0->kind == A_LIST)
			return;
		act(sc, nargs > 1 && arg_mentions(sc, &args[1], "recursive") &&
		    arg_mentions(sc, &args[1], "true") ? LH_INTERP_RMTREE : LH_INTERP_DELETE,
		    e->name, a0->text, NULL, 0);
		return;
	case H_WRITE:
		if (r->is_call && r->len >= 4 && !memcmp(r->name + r->len - 4, "Path", 4)) {
			act(sc, LH_INTERP_WRITE, e->name, r->call_arg.text ? r->call_arg.text : "\x05",
			    NULL, 0);
			return;
		}
		if (a0 && a0->kind == A_STR)
			act(sc, LH_INTERP_WRITE, e->name, a0->text, NULL, 0);
		return;
	case H_OPEN:
		if (a0 && a0->kind == A_STR && nargs > 1 && args[1].kind == A_STR &&
		    mode_writes(args[1].text))
			act(sc, LH_INTERP_WRITE, e->name, a0->text, NULL, 0);
		return;
	case H_PERL_OPEN:
		if (nargs == 2 && args[1].kind == A_STR) {
			const char *t = args[1].text;
			size_t l = strlen(t);

			while (*t == ' ')
				t++;
			if (*t == '|')
				act(sc, LH_INTERP_SHELL, e->name, t + 1, NULL, 0);
			else if (l && args[1].text[l - 1] == '|') {
				char *c = lh_arena_strndup(sc->a, args[1].text, l - 1);

				if (c)
					act(sc, LH_INTERP_SHELL, e->name, c, NULL, 0);
			} else if (*t == '>') {
				t += t[1] == '>' ? 2 : 1;
				while (*t == ' ')
					t++;
				act(sc, LH_INTERP_WRITE, e->name, t, NULL, 0);
			}
			return;
		}
		if (nargs >= 3 && args[1].kind == A_STR) {
			const char *m = args[1].text;

			if (!strcmp(m, "-|") || !strcmp(m, "|-")) {
				if (nargs == 3 && args[2].kind == A_STR)
					act(sc, LH_INTERP_SHELL, e->name, args[2].text, NULL, 0);
				else
					act_argv(sc, e->name, args + 2, nargs - 2);
			} else if (m[0] == '>' || (m[0] == '+' && m[1])) {
				if (args[2].kind == A_STR || args[2].kind == A_OTHER)
					act(sc, LH_INTERP_WRITE, e->name, args[2].text, NULL, 0);
			}
		}
		return;
	case H_CHMOD_PM:
	case H_CHMOD_MP: {
		const struct arg *mode = e->h == H_CHMOD_PM ? (nargs > 1 ? &args[1] : NULL) : a0;
		int first = e->h == H_CHMOD_PM ? 0 : 1, last = e->h == H_CHMOD_PM ? 1 : nargs;

		if (!mode || (e->h == H_CHMOD_PM && (!a0 || a0->kind != A_STR)))
			return;
		for (k = first; k < last && k < nargs; k++) {
			const char **v = lh_arena_alloc(sc->a, sizeof(*v) * 3);
			const char *mt = mode->kind == A_STR ? mode->text : NULL;
			size_t ml;

			if (!v) {
				sc->oom = 1;
				return;
			}
			if (!mt) {
				/* 0o755, 0755: the digits are the mode */
				mt = sc->s + mode->start;
				ml = mode->end - mode->start;
				while (ml && is_space((unsigned char)mt[ml - 1]))
					ml--;
				if (ml > 2 && mt[0] == '0' && (mt[1] == 'o' || mt[1] == 'O')) {
					mt += 2;
					ml -= 2;
				}
				mt = lh_arena_strndup(sc->a, mt, ml);
			}
			if (args[k].kind != A_STR && args[k].kind != A_OTHER)
				continue;
			v[0] = mt ? mt : "\x05";
			v[1] = args[k].text;
			v[2] = NULL;
			act(sc, LH_INTERP_CHMOD, e->name, NULL, v, 2);
		}
		return;
	}
	case H_CODE:
		if (a0 && a0->kind == A_STR)
			act(sc, LH_INTERP_CODE, e->name, a0->text, NULL, 0);
		else if (nargs > 0 && args[0].kind == A_OTHER)
			act(sc, LH_INTERP_SHELL, e->name, "\x05", NULL, 0);	/* code known at run time */
		return;
	}
}

/* ---- the scan ------------------------------------------------------------------------ */

/* name = "string" (and my $name, $name, const/let/var name): remember it */
static void maybe_assign(struct scan *sc, size_t s0, size_t e0)
{
	size_t i = skip_space(sc, e0);
	struct sb b;
	size_t end;
	enum lit lk;
	struct arg a;

	if (at(sc, i) != '=' || at(sc, i + 1) == '=' || at(sc, i + 1) == '~' || sc->nvars >= MAX_VARS)
		return;
	i = skip_space(sc, i + 1);
	sb_init(&b, sc);
	lk = literal(sc, i, &b, &end);
	if (lk != LIT_STR)
		return;
	/* the whole value must be that one string */
	parse_expr(sc, i, 0, &a);
	if (a.kind != A_STR)
		return;
	sc->vars[sc->nvars].name = sc->s + s0;
	sc->vars[sc->nvars].len = e0 - s0;
	sc->vars[sc->nvars].value = a.text;
	sc->nvars++;
}

static const struct entry *lookup(enum lh_lang lang, const char *s, size_t n)
{
	size_t k;

	for (k = 0; k < sizeof(table) / sizeof(table[0]); k++)
		if ((table[k].langs & (1u << lang)) && strlen(table[k].name) == n &&
		    !memcmp(table[k].name, s, n))
			return &table[k];
	return NULL;
}

/* awk: print ... | "cmd", "cmd" | getline, print > "file" */
static void awk_pipes(struct scan *sc, size_t i, int *in_print)
{
	int c = at(sc, i);
	struct sb b;
	size_t end, j;

	if (c == '|' && at(sc, i + 1) != '|' && (i == 0 || sc->s[i - 1] != '|')) {
		j = skip_space(sc, i + 1);
		sb_init(&b, sc);
		if (at(sc, j) == '"' && literal(sc, j, &b, &end) == LIT_STR) {
			const char *cmd = sb_str(&b);
			size_t w = strcspn(cmd, " \t"), x;
			struct sb printed;

			act(sc, LH_INTERP_SHELL, "|", cmd, NULL, 0);
			/* print "rm -rf /" | "sh": what is printed is the shell's script */
			for (x = w; x > 0 && cmd[x - 1] != '/'; x--)
				;
			if (*in_print &&
			    ((w - x == 2 && !memcmp(cmd + x, "sh", 2)) ||
			     (w - x == 4 && !memcmp(cmd + x, "bash", 4)) ||
			     (w - x == 4 && !memcmp(cmd + x, "dash", 4)) ||
			     (w - x == 3 && !memcmp(cmd + x, "zsh", 3)))) {
				size_t k = skip_space(sc, sc->print_expr);

				sb_init(&printed, sc);
				if (literal(sc, k, &printed, &end) == LIT_STR && skip_space(sc, end) == i)
					act(sc, LH_INTERP_SHELL, "print", sb_str(&printed), NULL, 0);
				else if (skip_space(sc, sc->print_expr) != i)
					act(sc, LH_INTERP_SHELL, "print", "\x05", NULL, 0);
			}
			return;
		}
		/* "cmd" | getline: the string before the bar */
		j = i;
		while (j > 0 && is_space((unsigned char)sc->s[j - 1]))
			j--;
		if (j > 0 && sc->s[j - 1] == '"') {
			size_t k = j - 1;

			while (k > 0 && !(sc->s[k - 1] == '"' && (k < 2 || sc->s[k - 2] != '\\')))
				k--;
			if (k > 0) {
				sb_init(&b, sc);
				if (literal(sc, k - 1, &b, &end) == LIT_STR)
					act(sc, LH_INTERP_SHELL, "getline", sb_str(&b), NULL, 0);
			}
		}
		return;
	}
	if (c == '>' && *in_print) {
		j = skip_space(sc, i + (at(sc, i + 1) == '>' ? 2 : 1));
		sb_init(&b, sc);
		if (at(sc, j) == '"' && literal(sc, j, &b, &end) == LIT_STR)
			act(sc, LH_INTERP_WRITE, "print", sb_str(&b), NULL, 0);
		else
			act(sc, LH_INTERP_WRITE, "print", "\x05", NULL, 0);
	}
	if (c == ';' || c == '\n' || c == '}' || c == '{')
		*in_print = 0;
}

int lh_interp_scan(struct lh_arena *a, enum lh_lang lang, const char *code, size_t n,
		   lh_interp_fn fn, void *arg)
{
	struct scan *sc = lh_arena_alloc(a, sizeof(*sc));
	int in_print = 0;
	size_t i = 0;

	if (!sc)
		return -ENOMEM;
	memset(sc, 0, sizeof(*sc));
	sc->a = a;
	sc->lang = lang;
	sc->s = code;
	sc->n = n;
	sc->fn = fn;
	sc->arg = arg;
	sc->budget = WORK_BUDGET;
	while (i < n && !sc->oom && !sc->exhausted && sc->nacts < LH_INTERP_MAX_ACTS) {
		int c = (unsigned char)code[i], prev = i ? (unsigned char)code[i - 1] : ' ';

		if (lang == LH_LANG_AWK && (c == '|' || c == '>' || c == ';' || c == '\n' ||
					    c == '{' || c == '}')) {
			awk_pipes(sc, i, &in_print);
			i++;
			continue;
		}
		if (c == '`' || (c == 'q' && lang == LH_LANG_PERL) || (c == '%' && lang == LH_LANG_RUBY)) {
			struct sb b;
			size_t end;
			enum lit lk;

			sb_init(&b, sc);
			lk = literal(sc, i, &b, &end);
			if (lk == LIT_CMD) {
				act(sc, LH_INTERP_SHELL, c == '`' ? "`...`" : c == 'q' ? "qx" : "%x",
				    sb_str(&b), NULL, 0);
				/* the command text itself was scanned as a command: skip it */
				i = end > i ? end : i + 1;
				continue;
			}
		}
		if (is_ident_start(c) && !is_ident(prev) && prev != '$' && prev != '@') {
			size_t e = i;
			const struct entry *ent;

			while (e < n && is_ident((unsigned char)code[e]))
				e++;
			if (lang == LH_LANG_AWK && ((e - i == 5 && !memcmp(code + i, "print", 5)) ||
						    (e - i == 6 && !memcmp(code + i, "printf", 6)))) {
				in_print = 1;
				sc->print_expr = e;
			}
			ent = lookup(lang, code + i, e - i);
			if (!ent && lang == LH_LANG_PYTHON && e - i == 7 && !memcmp(code + i, "getattr", 7) &&
			    at(sc, skip_space(sc, e)) == '(') {
				/* getattr(os, 'sys' + 'tem')('rm -rf /'): the attribute is the call */
				struct arg ga[LH_INTERP_MAX_ARGS], args[LH_INTERP_MAX_ARGS];
				int nga = 0, nargs = 0;
				size_t after = parse_args(sc, skip_space(sc, e) + 1, ')', ga, &nga);
				struct recv r;

				memset(&r, 0, sizeof(r));
				if (nga >= 2 && at(sc, skip_space(sc, after)) == '(') {
					parse_args(sc, skip_space(sc, after) + 1, ')', args, &nargs);
					if (ga[1].kind == A_STR && !strchr(ga[1].text, LH_INTERP_DYN))
						ent = lookup(lang, ga[1].text, strlen(ga[1].text));
					if (ent) {
						r.name = ga[0].kind == A_OTHER ? sc->s + ga[0].start : NULL;
						r.len = r.name ? ga[0].end - ga[0].start : 0;
						while (r.len && is_space((unsigned char)r.name[r.len - 1]))
							r.len--;
						handle(sc, ent, &r, args, nargs);
					} else if (ga[1].kind != A_STR || strchr(ga[1].text, LH_INTERP_DYN)) {
						act(sc, LH_INTERP_SHELL, "getattr", "\x05", NULL, 0);
					}
				}
				i = e;
				continue;
			}
			if (ent) {
				struct recv r;
				struct arg args[LH_INTERP_MAX_ARGS];
				int nargs = -1;
				size_t j = skip_space(sc, e);

				receiver(sc, i, &r);
				if (ent->need_recv && !(r.name && in_words(ent->need_recv, r.name, r.len)))
					nargs = -1;
				else if (at(sc, j) == '(')
					parse_args(sc, j + 1, ')', args, &nargs);
				else if ((lang == LH_LANG_PERL || lang == LH_LANG_RUBY) && j > e &&
					 at(sc, j) > 0 && (strchr("'\"`$@[%q", at(sc, j)) ||
							   (lang == LH_LANG_RUBY && is_ident_start(at(sc, j)))))
					parse_args(sc, j, 0, args, &nargs);
				if (nargs >= 0)
					handle(sc, ent, &r, args, nargs);
			} else {
				maybe_assign(sc, i, e);
			}
			i = e;
			continue;
		}
		if ((c == '$') && (lang == LH_LANG_PERL || lang == LH_LANG_PHP) &&
		    is_ident_start(at(sc, i + 1))) {
			size_t e = i + 1;

			while (e < n && is_ident((unsigned char)code[e]))
				e++;
			maybe_assign(sc, i + 1, e);
			i = e;
			continue;
		}
		i++;
	}
	if (!sc->oom && (sc->exhausted || sc->nacts >= LH_INTERP_MAX_ACTS)) {
		/* the rest was not read: it may run anything */
		struct lh_interp_act x;

		memset(&x, 0, sizeof(x));
		x.kind = LH_INTERP_SHELL;
		x.call = "code too long to read";
		x.text = "\x05";
		fn(arg, &x);
	}
	return sc->oom ? -ENOMEM : 0;
}

enum lh_lang lh_interp_lang(const char *name)
{
	static const struct {
		const char *prefix;
		enum lh_lang lang;
	} names[] = {
		{ "python", LH_LANG_PYTHON }, { "pypy", LH_LANG_PYTHON },
		{ "perl", LH_LANG_PERL },
		{ "ruby", LH_LANG_RUBY }, { "jruby", LH_LANG_RUBY },
		{ "nodejs", LH_LANG_NODE }, { "node", LH_LANG_NODE },
		{ "php", LH_LANG_PHP },
		{ "gawk", LH_LANG_AWK }, { "mawk", LH_LANG_AWK }, { "nawk", LH_LANG_AWK },
		{ "awk", LH_LANG_AWK },
	};
	size_t k;

	if (!name[0] || !strchr("pjrngma", name[0]))
		return LH_LANG_NONE;
	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		size_t l = strlen(names[k].prefix);
		const char *rest = name + l;

		if (strncmp(name, names[k].prefix, l))
			continue;
		/* python3, python3.11, perl5.36, php8.2: digits and dots only */
		if (strspn(rest, "0123456789.") == strlen(rest))
			return names[k].lang;
	}
	return LH_LANG_NONE;
}

static enum lh_lang program_lang(const char *name, size_t n)
{
	static const char *const shells[] = { "sh", "bash", "zsh", "dash", "ksh", "mksh", "ash",
		"yash", NULL };
	char buf[32];
	int k;

	if (!n || n >= sizeof(buf))
		return LH_LANG_NONE;
	memcpy(buf, name, n);
	buf[n] = '\0';
	for (k = 0; shells[k]; k++)
		if (!strcmp(buf, shells[k]))
			return LH_LANG_SHELL;
	return lh_interp_lang(buf);
}

enum lh_lang lh_interp_file_lang(const char *path, const char *content)
{
	static const struct {
		const char *ext;
		enum lh_lang lang;
	} exts[] = {
		{ ".sh", LH_LANG_SHELL }, { ".bash", LH_LANG_SHELL }, { ".zsh", LH_LANG_SHELL },
		{ ".ksh", LH_LANG_SHELL }, { ".command", LH_LANG_SHELL },
		{ ".py", LH_LANG_PYTHON }, { ".pyw", LH_LANG_PYTHON },
		{ ".pl", LH_LANG_PERL }, { ".pm", LH_LANG_PERL },
		{ ".rb", LH_LANG_RUBY }, { ".rake", LH_LANG_RUBY },
		{ ".js", LH_LANG_NODE }, { ".mjs", LH_LANG_NODE }, { ".cjs", LH_LANG_NODE },
		{ ".ts", LH_LANG_NODE }, { ".mts", LH_LANG_NODE }, { ".cts", LH_LANG_NODE },
		{ ".php", LH_LANG_PHP }, { ".awk", LH_LANG_AWK },
	};
	const char *base = strrchr(path, '/'), *dot;
	size_t k;

	base = base ? base + 1 : path;
	if (content && content[0] == '#' && content[1] == '!') {
		/* #!/bin/sh, #!/usr/bin/env -S python3 -u */
		const char *p = content + 2, *w, *e;
		size_t l;

		while (*p == ' ' || *p == '\t')
			p++;
		e = p + strcspn(p, " \t\n");
		w = e;
		while (w > p && w[-1] != '/')
			w--;
		l = (size_t)(e - w);
		if (l == 3 && !memcmp(w, "env", 3)) {
			p = e;
			for (;;) {
				while (*p == ' ' || *p == '\t')
					p++;
				if (*p != '-')
					break;
				p += strcspn(p, " \t\n");
			}
			w = p;
			e = p + strcspn(p, " \t\n");
			l = (size_t)(e - w);
		}
		if (program_lang(w, l) != LH_LANG_NONE)
			return program_lang(w, l);
	}
	dot = strrchr(base, '.');
	if (!dot)
		return LH_LANG_NONE;
	for (k = 0; k < sizeof(exts) / sizeof(exts[0]); k++)
		if (!strcmp(dot, exts[k].ext))
			return exts[k].lang;
	return LH_LANG_NONE;
}

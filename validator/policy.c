/*
 * policy.c -- the policy language: parse, compile, judge.
 *
 * DESIGN
 *
 * The language is line oriented (lighthouse-policy(5) is the reference):
 * top-level statements `version`, `include`, `set`, `class`, `list` and
 * `rule ID ACTION`; a rule owns the condition lines that follow it up to
 * the next top-level statement. Words may be quoted; `#` starts a comment;
 * a trailing backslash continues a line.
 *
 * Compilation turns every rule into an array of conditions sorted by cost
 * (word tests before path resolution before regular expressions), expands
 * @list and @class references, compiles regular expressions once with
 * PCRE2 and JIT, and extracts from each expression a literal that any
 * match must contain, so that memmem() rejects most inputs before PCRE2
 * runs. Rules are then indexed: by tool, and for Bash by command name,
 * each index list sorted by rank (priority, then severity, then file
 * order) so that the first rule that matches is the one that decides.
 *
 * Judging a Bash request parses it (shell.c) and judges every simple
 * command on its own; the most severe verdict wins. A command no rule
 * decides goes to the risk tier (risk.c). A parse error is itself judged
 * (`set unparseable`). Every regular expression runs with match and depth
 * limits, and a limit hit counts as a match for deny and ask rules (a
 * guard errs on the side of asking).
 *
 * A compiled policy is never modified, so any number of threads judge it
 * at once; per-thread state lives in struct lh_scratch.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pcre2.h>
#include <xxhash.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "validator/interp.h"
#include "validator/path.h"
#include "validator/policy_int.h"
#include "validator/request.h"
#include "common/banned.h"

#define MAX_INCLUDE_DEPTH 8
#define MAX_POLICY_BYTES (4 * 1024 * 1024)
#define MATCH_LIMIT 100000
#define DEPTH_LIMIT 1000
#define SCRATCH_LIMIT (32 * 1024 * 1024)	/* arena bytes for one judgment */
#define SCRATCH_FIRST_BLOCK (256 * 1024)	/* kept between judgments */

enum ckind {
	/* cheap: word tests on the parsed command */
	C_COMMAND,
	C_SUBCOMMAND,
	C_FLAG,
	C_ARG,
	C_STDIN_FROM,
	C_WRAPPER,
	C_CONTEXT,
	/* path resolution */
	C_CWD,
	C_PATH,
	C_TARGET,
	C_REDIRECT,
	/* regular expressions */
	C_MATCH,
	C_CONTENT,
	C_RAW,
};

static const struct {
	const char *word;
	enum ckind kind;
	int bash_only;
} cond_words[] = {
	{ "command", C_COMMAND, 1 },
	{ "subcommand", C_SUBCOMMAND, 1 },
	{ "flag", C_FLAG, 1 },
	{ "arg", C_ARG, 1 },
	{ "stdin-from", C_STDIN_FROM, 1 },
	{ "wrapper", C_WRAPPER, 1 },
	{ "context", C_CONTEXT, 1 },
	{ "cwd", C_CWD, 0 },
	{ "path", C_PATH, 0 },
	{ "target", C_TARGET, 1 },
	{ "redirect", C_REDIRECT, 1 },
	{ "match", C_MATCH, 0 },
	{ "content", C_CONTENT, 0 },
	{ "raw", C_RAW, 0 },
};

static const struct {
	const char *word;
	unsigned flag;
} ctx_words[] = {
	{ "pipe", LH_CTX_PIPE_IN },
	{ "piped", LH_CTX_PIPE_OUT },
	{ "background", LH_CTX_BACKGROUND },
	{ "substitution", LH_CTX_SUBST },
	{ "privileged", LH_CTX_PRIV },
	{ "subshell", LH_CTX_SUBSHELL },
	{ "definition", LH_CTX_DEFINITION },
	{ "remote", LH_CTX_REMOTE },
	{ "string", LH_CTX_STRING },
	{ "exec", LH_CTX_EXEC },
	{ "heredoc", LH_CTX_STDIN_SCRIPT },
	{ "interpreter", LH_CTX_INTERP },
	{ "downloaded", LH_CTX_DOWNLOADED },
	{ "runtime-code", LH_CTX_RUNTIME_CODE },
};

/* One alternative of a path condition: a class (or glob), maybe negated. */
struct pitem {
	int neg;
	int cls;			/* index into pol->classes, or -1 for `own` */
	struct pclass own;		/* a literal glob or a built-in class */
};

struct cond {
	enum ckind kind;
	int negate;
	char **items;			/* word/glob alternatives */
	int nitems;
	struct pitem *pitems;		/* C_CWD, C_PATH, C_TARGET, C_REDIRECT */
	int npitems;
	char *shorts;			/* C_FLAG: short letters */
	char **longs;			/* C_FLAG: long flags */
	int nlongs;
	unsigned ctx;			/* C_CONTEXT */
	pcre2_code *re;
	char *lit;			/* literal every match contains, or NULL */
	size_t litlen;
	char *src;			/* the expression as written */
	struct wlist wset;		/* items without wildcards, as a hash set (words only) */
	int *globs;			/* indexes of the items with wildcards */
	int nglobs;
};

struct rule {
	char *id;
	enum lh_decision action;
	int escalate;			/* action escalate: delivered as ask (see verdict.h) */
	int learned;			/* from the learned rules: decides only escalations */
	int quorum;			/* experts who must agree on its escalation (0: the policy's) */
	int priority;
	char *reason;			/* may hold {path} {command} {tool} {arg} */
	char **tools;
	int ntools;
	int any_tool;
	struct cond *conds;
	int nconds;
	char **tags;
	int ntags;
	char *file;
	int line;
	int order;
	int has_raw;
	int index_cond;			/* the command condition the index used, or -1 */
	const struct cond *gate;	/* generic rule: a match condition whose literal must
					   be in the command's text for the rule to hold */
};

/* name -> sorted rule index list */
struct ientry {
	char *key;
	int *rules;
	int n, cap;
};

struct index {
	struct ientry *v;
	size_t cap;			/* power of two */
	size_t n;
};

struct lh_policy {
	char *source;			/* file name or builtin:default */
	struct lh_buf text;		/* the whole text, includes expanded */
	struct rule *rules;
	int nrules, caprules;
	struct pclass *classes;
	int nclasses, capclasses;
	struct wlist *lists;
	int nlists, caplists;
	/* settings */
	enum lh_decision unknown_tool;
	enum lh_decision unparseable;
	int unknown_tool_esc, unparseable_esc;	/* the setting was escalate */
	int risk_ask, risk_deny;
	int risk_escalate;		/* set risk-uncertain escalate */
	int quorum;			/* set quorum: experts who must agree on an escalation */
	/* learned rules, rank-sorted: tried only on a verdict that would escalate */
	int *learned;
	int nlearned;
	/* indexes */
	struct index by_tool;		/* tool -> rules naming it (and tool * rules) */
	int *any_tool;			/* rules for every tool */
	int nany_tool;
	struct index by_cmd;		/* Bash: command name -> rules */
	int *bash_generic;		/* Bash rules without an exact command list */
	int nbash_generic;
	/*
	 * Gated generic rules by the first two bytes of their gate's literal:
	 * an open-addressing table of (bigram, rule) pairs, so that the
	 * generic rules a command can match are found by one pass over its
	 * text, however many there are.
	 */
	struct gate_slot {
		uint16_t bigram;
		int rule;		/* -1: empty */
	} *gates;
	size_t ngates_cap;		/* power of two, 0 when no rule is gated */
	pcre2_match_context *mctx;
	int version;
	/*
	 * Class and list names -> { class index or -1, list index or -1 },
	 * built when the policy is finished (the risk tier looks them up by
	 * name for every command)
	 */
	struct index names;
};

/* ---- small helpers ------------------------------------------------------ */

static char **push_str(char **v, int *n, const char *s)
{
	v = xrealloc(v, sizeof(*v) * (size_t)(*n + 1));
	v[(*n)++] = xstrdup(s);
	return v;
}

static void free_strv(char **v, int n)
{
	int k;

	for (k = 0; k < n; k++)
		free(v[k]);
	free(v);
}

static uint64_t hash_str(const char *s)
{
	return XXH3_64bits(s, strlen(s));
}

static struct ientry *index_find(const struct index *ix, const char *key)
{
	size_t i;

	if (!ix->cap)
		return NULL;
	for (i = hash_str(key) & (ix->cap - 1);; i = (i + 1) & (ix->cap - 1)) {
		if (!ix->v[i].key)
			return NULL;
		if (!strcmp(ix->v[i].key, key))
			return &ix->v[i];
	}
}

static struct ientry *index_add(struct index *ix, const char *key)
{
	struct ientry *e;
	size_t i;

	if ((e = index_find(ix, key)))
		return e;
	if ((ix->n + 1) * 2 > ix->cap) {
		struct index big = { NULL, ix->cap ? ix->cap * 2 : 64, 0 };
		size_t k;

		big.v = xcalloc(big.cap, sizeof(*big.v));
		for (k = 0; k < ix->cap; k++) {
			if (!ix->v[k].key)
				continue;
			for (i = hash_str(ix->v[k].key) & (big.cap - 1); big.v[i].key;
			     i = (i + 1) & (big.cap - 1))
				;
			big.v[i] = ix->v[k];
			big.n++;
		}
		free(ix->v);
		*ix = big;
	}
	for (i = hash_str(key) & (ix->cap - 1); ix->v[i].key; i = (i + 1) & (ix->cap - 1))
		;
	ix->v[i].key = xstrdup(key);
	ix->n++;
	return &ix->v[i];
}

static void ientry_push(struct ientry *e, int rule)
{
	if (e->n && e->rules[e->n - 1] == rule)
		return;
	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 4;
		e->rules = xrealloc(e->rules, sizeof(int) * (size_t)e->cap);
	}
	e->rules[e->n++] = rule;
}

static void index_free(struct index *ix)
{
	size_t k;

	for (k = 0; k < ix->cap; k++) {
		free(ix->v[k].key);
		free(ix->v[k].rules);
	}
	free(ix->v);
}

/* ---- parsing ---------------------------------------------------------------- */

static int builtin_class(const char *name);

/*
 * An action word: allow, ask, deny, or escalate (an ask that wants an
 * expert or a person; see verdict.h). -1 for anything else.
 */
static int parse_action(const char *w, int *escalate)
{
	*escalate = 0;
	if (!strcmp(w, "escalate")) {
		*escalate = 1;
		return LH_ASK;
	}
	return lh_decision_parse(w);
}

/* The prefix of every escalated verdict's reason. */
#define ESCALATE_PREFIX "needs review by a person: "

struct pstate {
	struct lh_policy *pol;
	struct lh_buf *err;
	int nerrors;
	struct rule *cur;		/* rule being filled, or NULL */
	int depth;			/* include depth */
	int learned;			/* reading the learned rules (see lh_policy_load_learned) */
};

static void perr(struct pstate *ps, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void perr(struct pstate *ps, const char *file, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	ps->nerrors++;
	if (ps->nerrors > 50)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ps->err)
		lh_buf_addf(ps->err, "%s:%d: %s\n", file, line, msg);
}

/*
 * Split a logical line into words: white space separates, '...' and "..."
 * quote (with \" and \\ inside double quotes), # starts a comment. The
 * rest-of-line text after the first word is returned too, for regexes.
 */
/* Lines whose value is the rest of the line, verbatim (quotes, # and all). */
static int verbatim_word(const char *w, size_t n)
{
	static const char *const v[] = { "reason", "match", "raw", "content", NULL };
	int k;

	for (k = 0; v[k]; k++)
		if (strlen(v[k]) == n && !memcmp(v[k], w, n))
			return 1;
	return 0;
}

static int split_line(const char *line, char ***words, int *nwords, const char **rest,
		      const char **bad)
{
	const char *s = line;
	struct lh_buf w = LH_BUF_INIT;

	*words = NULL;
	*nwords = 0;
	*rest = NULL;
	*bad = NULL;
	/* KEYWORD rest-of-line, or not KEYWORD rest-of-line */
	{
		const char *a = s, *e;
		int skip_not = 0;

		while (*a == ' ' || *a == '\t')
			a++;
		if (!strncmp(a, "not", 3) && (a[3] == ' ' || a[3] == '\t')) {
			skip_not = 1;
			a += 3;
			while (*a == ' ' || *a == '\t')
				a++;
		}
		for (e = a; *e && *e != ' ' && *e != '\t'; e++)
			;
		if (verbatim_word(a, (size_t)(e - a))) {
			size_t len;
			char *kw;

			if (skip_not)
				*words = push_str(*words, nwords, "not");
			kw = xstrndup(a, (size_t)(e - a));
			*words = push_str(*words, nwords, kw);
			free(kw);
			while (*e == ' ' || *e == '\t')
				e++;
			len = strlen(e);
			while (len && (e[len - 1] == ' ' || e[len - 1] == '\t'))
				len--;
			if (len) {
				char *v = xstrndup(e, len);

				*words = push_str(*words, nwords, v);
				free(v);
				*rest = (*words)[*nwords - 1];
			}
			return 0;
		}
	}
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '#')
			break;
		if (*nwords == 1)
			*rest = s;
		lh_buf_reset(&w);
		while (*s && *s != ' ' && *s != '\t') {
			if (*s == '\'' || *s == '"') {
				char q = *s++;

				while (*s && *s != q) {
					if (q == '"' && *s == '\\' && (s[1] == '"' || s[1] == '\\'))
						s++;
					lh_buf_addc(&w, *s++);
				}
				if (!*s) {
					*bad = "unterminated quote";
					lh_buf_release(&w);
					return -1;
				}
				s++;
				continue;
			}
			lh_buf_addc(&w, *s++);
		}
		*words = push_str(*words, nwords, w.data);
	}
	lh_buf_release(&w);
	return 0;
}

static struct pclass *find_class(struct lh_policy *pol, const char *name)
{
	int k;

	if (pol->names.cap) {
		const struct ientry *e = index_find(&pol->names, name);

		return e && e->n >= 1 && e->rules[0] >= 0 ? &pol->classes[e->rules[0]] : NULL;
	}
	for (k = 0; k < pol->nclasses; k++)
		if (!strcmp(pol->classes[k].name, name))
			return &pol->classes[k];
	return NULL;
}

static struct wlist *find_list(struct lh_policy *pol, const char *name)
{
	int k;

	if (pol->names.cap) {
		const struct ientry *e = index_find(&pol->names, name);

		return e && e->n >= 2 && e->rules[1] >= 0 ? &pol->lists[e->rules[1]] : NULL;
	}
	for (k = 0; k < pol->nlists; k++)
		if (!strcmp(pol->lists[k].name, name))
			return &pol->lists[k];
	return NULL;
}

const struct pclass *lh_policy_class(const struct lh_policy *pol, const char *name)
{
	return find_class((struct lh_policy *)pol, name);
}

const struct wlist *lh_policy_list(const struct lh_policy *pol, const char *name)
{
	return find_list((struct lh_policy *)pol, name);
}

int lh_list_has(const struct wlist *l, const char *word)
{
	size_t i;
	int k;

	if (!l)
		return 0;
	if (!l->nslots) {
		for (k = 0; k < l->nwords; k++)
			if (!strcmp(l->words[k], word))
				return 1;
		return 0;
	}
	for (i = hash_str(word) & (l->nslots - 1); l->slots[i]; i = (i + 1) & (l->nslots - 1))
		if (!strcmp(l->words[l->slots[i] - 1], word))
			return 1;
	return 0;
}

static void cond_prepare(struct cond *c);

/* Prepare a class's patterns for matching (lh_pathpat). */
static void class_prepare(struct pclass *cl)
{
	int k;

	if (!cl->npats)
		return;
	cl->pp = xcalloc((size_t)cl->npats, sizeof(*cl->pp));
	cl->key = xcalloc((size_t)cl->npats, sizeof(*cl->key));
	for (k = 0; k < cl->npats; k++) {
		lh_pathpat_init(&cl->pp[k], cl->pats[k][0] == '!' ? cl->pats[k] + 1 : cl->pats[k]);
		cl->key[k] = cl->pats[k][0] == '@' ? LH_PATHKEY_ANY : lh_pathpat_key(&cl->pp[k]);
	}
}

/* The hash set of a list's words (the risk tier asks lists for every command). */
static void list_index(struct wlist *l)
{
	size_t n = 8, i;
	int k;

	while (n < (size_t)l->nwords * 2)
		n *= 2;
	l->slots = xcalloc(n, sizeof(*l->slots));
	l->nslots = n;
	for (k = 0; k < l->nwords; k++) {
		for (i = hash_str(l->words[k]) & (n - 1); l->slots[i]; i = (i + 1) & (n - 1))
			if (!strcmp(l->words[l->slots[i] - 1], l->words[k]))
				break;
		if (!l->slots[i])
			l->slots[i] = k + 1;
	}
}

static int valid_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

static int compile_policy_text(struct pstate *ps, const char *file, const char *text, size_t len);

static int do_include(struct pstate *ps, const char *file, int line, const char *what)
{
	char path[PATH_MAX];
	struct lh_buf data = LH_BUF_INIT;
	int fd, rc = 0;

	if (ps->depth >= MAX_INCLUDE_DEPTH) {
		perr(ps, file, line, "includes nested too deeply (more than %d)", MAX_INCLUDE_DEPTH);
		return -1;
	}
	if (!strcmp(what, "builtin:default")) {
		ps->depth++;
		rc = compile_policy_text(ps, "builtin:default", lh_default_policy,
					 lh_default_policy_len);
		ps->depth--;
		return rc;
	}
	if (what[0] == '/' || !strchr(file, '/')) {
		snprintf(path, sizeof(path), "%s", what);
	} else {
		const char *slash = strrchr(file, '/');

		snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - file), file, what);
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (line)
			perr(ps, file, line, "cannot include '%s': %s", path, strerror(errno));
		else if (ps->err) {
			ps->nerrors++;
			lh_buf_addf(ps->err, "%s: cannot read the policy: %s\n", path, strerror(errno));
		}
		return -1;
	}
	data.max = MAX_POLICY_BYTES;
	for (;;) {
		char chunk[8192];
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perr(ps, file, line, "cannot read '%s': %s", path, strerror(errno));
			rc = -1;
			break;
		}
		if (!n)
			break;
		if (lh_buf_add(&data, chunk, (size_t)n)) {
			perr(ps, file, line, "'%s' is larger than %d bytes", path, MAX_POLICY_BYTES);
			rc = -1;
			break;
		}
	}
	close(fd);
	if (!rc) {
		ps->depth++;
		rc = compile_policy_text(ps, path, data.data, data.len);
		ps->depth--;
	}
	lh_buf_release(&data);
	return rc;
}

/* Extract a literal that every match of `re` must contain (or NULL). */
static char *required_literal(const char *re, size_t *litlen)
{
	struct lh_buf best = LH_BUF_INIT, run = LH_BUF_INIT;
	const char *s = re;
	int depth = 0;
	char *out = NULL;

	*litlen = 0;
	if (!strncmp(s, "(?i", 3) || strstr(s, "(?i") || strstr(s, "(?x"))
		goto done;
	while (*s) {
		char c = *s;

		if (c == '\\' && s[1]) {
			char e = s[1];

			if (strchr(".\\/-|()[]{}*+?$^ #'\"=:,@%~<>!&;", e)) {
				if (!depth)
					lh_buf_addc(&run, e);
				s += 2;
				goto quant;
			}
			/* \d \w \s \b ...: not a literal */
			goto brk2;
		}
		if (c == '[') {
			s++;
			if (*s == '^')
				s++;
			if (*s == ']')
				s++;
			while (*s && *s != ']') {
				if (*s == '\\' && s[1])
					s++;
				s++;
			}
			if (*s)
				s++;
			goto brk;
		}
		if (c == '(') {
			depth++;
			s++;
			goto brk;
		}
		if (c == ')') {
			if (depth)
				depth--;
			s++;
			goto brk;
		}
		if (c == '|') {
			if (!depth) {
				/* alternation at top level: no single literal */
				lh_buf_reset(&best);
				goto done;
			}
			s++;
			continue;
		}
		if (strchr(".^$", c)) {
			s++;
			goto brk;
		}
		if (strchr("*+?{", c)) {
			/* quantifier on the previous atom: it may be absent */
			if (run.len)
				lh_buf_setlen(&run, run.len - 1);
			if (c == '{')
				while (*s && *s != '}')
					s++;
			if (*s)
				s++;
			goto brk;
		}
		if (!depth)
			lh_buf_addc(&run, c);
		s++;
quant:
		if (*s == '*' || *s == '?' || *s == '{') {
			if (run.len)
				lh_buf_setlen(&run, run.len - 1);
		}
		continue;
brk2:
		s += 2;
brk:
		if (run.len > best.len) {
			lh_buf_reset(&best);
			lh_buf_add(&best, run.data, run.len);
		}
		lh_buf_reset(&run);
	}
	if (run.len > best.len) {
		lh_buf_reset(&best);
		lh_buf_add(&best, run.data, run.len);
	}
done:
	if (best.len >= 2) {
		*litlen = best.len;
		out = lh_buf_detach(&best, NULL);
	}
	lh_buf_release(&best);
	lh_buf_release(&run);
	return out;
}

static int compile_regex(struct pstate *ps, const char *file, int line, struct cond *c,
			 const char *src)
{
	int errcode;
	PCRE2_SIZE erroff;

	c->src = xstrdup(src);
	c->re = pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED,
			      PCRE2_UTF | PCRE2_NEVER_BACKSLASH_C, &errcode, &erroff, NULL);
	if (!c->re) {
		PCRE2_UCHAR msg[256];

		pcre2_get_error_message(errcode, msg, sizeof(msg));
		perr(ps, file, line, "bad regular expression at offset %zu: %s",
		     (size_t)erroff, (const char *)msg);
		return -1;
	}
	/* JIT is an optimisation: without it (no JIT on this CPU) we still match */
	pcre2_jit_compile(c->re, PCRE2_JIT_COMPLETE);
	c->lit = required_literal(src, &c->litlen);
	return 0;
}

/* Expand @list references into words. */
static int expand_words(struct pstate *ps, const char *file, int line, char **in, int nin,
			char ***out, int *nout)
{
	int k, j;

	*out = NULL;
	*nout = 0;
	for (k = 0; k < nin; k++) {
		if (in[k][0] == '@') {
			struct wlist *l = find_list(ps->pol, in[k] + 1);

			if (!l) {
				perr(ps, file, line, "unknown list '%s'", in[k] + 1);
				return -1;
			}
			for (j = 0; j < l->nwords; j++)
				*out = push_str(*out, nout, l->words[j]);
			continue;
		}
		*out = push_str(*out, nout, in[k]);
	}
	return 0;
}

static int builtin_class(const char *name)
{
	if (!strcmp(name, "project"))
		return BUILTIN_PROJECT;
	if (!strcmp(name, "project-root"))
		return BUILTIN_PROJECT_ROOT;
	if (!strcmp(name, "cwd"))
		return BUILTIN_CWD;
	if (!strcmp(name, "home"))
		return BUILTIN_HOME;
	return BUILTIN_NONE;
}

static int add_condition(struct pstate *ps, const char *file, int line, char **words, int n,
			 const char *rest)
{
	struct rule *r = ps->cur;
	struct cond c;
	int negate = 0, k, first = 0;
	size_t ci;

	memset(&c, 0, sizeof(c));
	if (!strcmp(words[0], "not")) {
		negate = 1;
		first = 1;
		if (n < 2) {
			perr(ps, file, line, "'not' needs a condition");
			return -1;
		}
	}
	for (ci = 0; ci < sizeof(cond_words) / sizeof(cond_words[0]); ci++)
		if (!strcmp(words[first], cond_words[ci].word))
			break;
	if (ci == sizeof(cond_words) / sizeof(cond_words[0])) {
		perr(ps, file, line, "unknown condition '%s'", words[first]);
		return -1;
	}
	c.kind = cond_words[ci].kind;
	c.negate = negate;
	if (n - first < 2) {
		perr(ps, file, line, "'%s' needs at least one value", words[first]);
		return -1;
	}
	switch (c.kind) {
	case C_MATCH:
	case C_CONTENT:
	case C_RAW: {
		/* the expression is the rest of the line, as written */
		struct lh_buf src = LH_BUF_INIT;

		for (k = first + 1; k < n; k++) {
			if (k > first + 1)
				lh_buf_addc(&src, ' ');
			lh_buf_adds(&src, words[k]);
		}
		if (compile_regex(ps, file, line, &c, src.data)) {
			free(c.src);
			lh_buf_release(&src);
			return -1;
		}
		lh_buf_release(&src);
		if (c.kind == C_RAW)
			r->has_raw = 1;
		break;
	}
	case C_FLAG: {
		char **w;
		int nw;

		if (expand_words(ps, file, line, words + first + 1, n - first - 1, &w, &nw))
			return -1;
		c.shorts = xstrdup("");
		for (k = 0; k < nw; k++) {
			const char *f = w[k];

			if (f[0] == '-' && f[1] == '-' && f[2]) {
				c.longs = push_str(c.longs, &c.nlongs, f);
			} else if (f[0] == '-' && f[1] && !f[2]) {
				size_t l = strlen(c.shorts);

				c.shorts = xrealloc(c.shorts, l + 2);
				c.shorts[l] = f[1];
				c.shorts[l + 1] = '\0';
			} else {
				perr(ps, file, line, "flag '%s' is neither -x nor --long (use 'arg' for words such as -delete)", f);
				free_strv(w, nw);
				return -1;
			}
		}
		free_strv(w, nw);
		break;
	}
	case C_CONTEXT:
		for (k = first + 1; k < n; k++) {
			size_t x;

			for (x = 0; x < sizeof(ctx_words) / sizeof(ctx_words[0]); x++)
				if (!strcmp(words[k], ctx_words[x].word))
					break;
			if (x == sizeof(ctx_words) / sizeof(ctx_words[0])) {
				perr(ps, file, line, "unknown context '%s'", words[k]);
				return -1;
			}
			c.ctx |= ctx_words[x].flag;
		}
		break;
	case C_CWD:
	case C_PATH:
	case C_TARGET:
	case C_REDIRECT:
		c.pitems = xcalloc((size_t)(n - first - 1), sizeof(*c.pitems));
		for (k = first + 1; k < n; k++) {
			struct pitem *pi = &c.pitems[c.npitems];
			const char *w = words[k];

			if (w[0] == '!') {
				pi->neg = 1;
				w++;
			}
			pi->cls = -1;
			if (w[0] == '@' && builtin_class(w + 1)) {
				pi->own.name = xstrdup(w + 1);
				pi->own.builtin = builtin_class(w + 1);
			} else if (w[0] == '@') {
				const struct pclass *cl = find_class(ps->pol, w + 1);

				if (!cl) {
					perr(ps, file, line, "unknown class '%s'", w + 1);
					free(c.pitems);
					return -1;
				}
				pi->cls = (int)(cl - ps->pol->classes);
			} else {
				if (!w[0]) {
					perr(ps, file, line, "empty path pattern");
					free(c.pitems);
					return -1;
				}
				pi->own.name = xstrdup(w);
				pi->own.pats = push_str(NULL, &pi->own.npats, w);
			}
			c.npitems++;
		}
		break;
	default:
		if (expand_words(ps, file, line, words + first + 1, n - first - 1, &c.items,
				 &c.nitems))
			return -1;
		break;
	}
	r->conds = xrealloc(r->conds, sizeof(*r->conds) * (size_t)(r->nconds + 1));
	r->conds[r->nconds++] = c;
	return 0;
}

static int rule_statement(struct pstate *ps, const char *file, int line, char **w, int n,
			  const char *rest)
{
	struct rule *r = ps->cur;
	int k;

	if (!strcmp(w[0], "tool")) {
		if (n < 2) {
			perr(ps, file, line, "'tool' needs at least one tool name");
			return -1;
		}
		for (k = 1; k < n; k++) {
			if (!strcmp(w[k], "*"))
				r->any_tool = 1;
			else
				r->tools = push_str(r->tools, &r->ntools, w[k]);
		}
		return 0;
	}
	if (!strcmp(w[0], "reason")) {
		if (!rest) {
			perr(ps, file, line, "'reason' needs a text");
			return -1;
		}
		free(r->reason);
		r->reason = xstrdup(w[1]);
		return 0;
	}
	if (!strcmp(w[0], "priority")) {
		char *end;
		long v;

		if (n != 2) {
			perr(ps, file, line, "'priority' needs one number");
			return -1;
		}
		errno = 0;
		v = strtol(w[1], &end, 10);
		if (errno || *end || v < -1000 || v > 1000) {
			perr(ps, file, line, "priority '%s' is not a number from -1000 to 1000", w[1]);
			return -1;
		}
		r->priority = (int)v;
		return 0;
	}
	if (!strcmp(w[0], "tags")) {
		for (k = 1; k < n; k++)
			r->tags = push_str(r->tags, &r->ntags, w[k]);
		return 0;
	}
	if (!strcmp(w[0], "quorum")) {
		char *end;
		long v;

		errno = 0;
		v = n == 2 ? strtol(w[1], &end, 10) : 0;
		if (n != 2 || errno || *end || v < 1 || v > LH_QUORUM_MAX) {
			perr(ps, file, line, "'quorum' needs a number from 1 to %d", LH_QUORUM_MAX);
			return -1;
		}
		if (!r->escalate)
			perr(ps, file, line, "'quorum' is for rules that escalate; rule '%s' does not", r->id);
		r->quorum = (int)v;
		return 0;
	}
	return add_condition(ps, file, line, w, n, rest);
}

static int set_statement(struct pstate *ps, const char *file, int line, char **w, int n)
{
	struct lh_policy *pol = ps->pol;

	if (n != 3) {
		perr(ps, file, line, "'set' needs a name and one value");
		return -1;
	}
	if (!strcmp(w[1], "unknown-tool") || !strcmp(w[1], "unparseable") ||
	    !strcmp(w[1], "risk-uncertain")) {
		int esc, d = parse_action(w[2], &esc);

		if (d < 0) {
			perr(ps, file, line, "'%s' must be allow, ask, escalate or deny", w[1]);
			return -1;
		}
		if (!strcmp(w[1], "unparseable") && d == LH_ALLOW) {
			perr(ps, file, line, "'unparseable' must be ask, escalate or deny: what cannot be read is not allowed");
			return -1;
		}
		if (!strcmp(w[1], "risk-uncertain") && d != LH_ASK) {
			perr(ps, file, line, "'risk-uncertain' must be ask or escalate");
			return -1;
		}
		if (!strcmp(w[1], "unknown-tool")) {
			pol->unknown_tool = (enum lh_decision)d;
			pol->unknown_tool_esc = esc;
		} else if (!strcmp(w[1], "unparseable")) {
			pol->unparseable = (enum lh_decision)d;
			pol->unparseable_esc = esc;
		} else {
			pol->risk_escalate = esc;
		}
		return 0;
	}
	if (!strcmp(w[1], "quorum")) {
		char *end;
		long v;

		errno = 0;
		v = strtol(w[2], &end, 10);
		if (errno || *end || v < 1 || v > LH_QUORUM_MAX) {
			perr(ps, file, line, "'quorum' must be a number from 1 to %d", LH_QUORUM_MAX);
			return -1;
		}
		pol->quorum = (int)v;
		return 0;
	}
	if (!strcmp(w[1], "risk-ask") || !strcmp(w[1], "risk-deny")) {
		char *end;
		long v;

		errno = 0;
		v = strtol(w[2], &end, 10);
		if (errno || *end || v < 1 || v > 100000) {
			perr(ps, file, line, "'%s' must be a number from 1 to 100000", w[1]);
			return -1;
		}
		if (!strcmp(w[1], "risk-ask"))
			pol->risk_ask = (int)v;
		else
			pol->risk_deny = (int)v;
		return 0;
	}
	perr(ps, file, line, "unknown setting '%s'", w[1]);
	return -1;
}

static int top_statement(struct pstate *ps, const char *file, int line, char **w, int n,
			 const char *rest)
{
	struct lh_policy *pol = ps->pol;
	int k;

	if (!strcmp(w[0], "rule")) {
		struct rule *r;
		int d, esc;

		ps->cur = NULL;
		if (n != 3) {
			perr(ps, file, line, "'rule' needs an id and an action (allow, ask, escalate or deny)");
			return -1;
		}
		if (!valid_name(w[1]) || strlen(w[1]) >= LH_RULE_MAX) {
			perr(ps, file, line, "rule id '%s' must be letters, digits, '.', '-' or '_' (at most %d)",
			     w[1], LH_RULE_MAX - 1);
			return -1;
		}
		d = parse_action(w[2], &esc);
		if (d < 0) {
			perr(ps, file, line, "unknown action '%s' (allow, ask, escalate or deny)", w[2]);
			return -1;
		}
		if (!ps->learned && !strncmp(w[1], LH_LEARNED_PREFIX, strlen(LH_LEARNED_PREFIX))) {
			perr(ps, file, line, "rule ids beginning '%s' are kept for learned rules", LH_LEARNED_PREFIX);
			return -1;
		}
		if (ps->learned && (strncmp(w[1], LH_LEARNED_PREFIX, strlen(LH_LEARNED_PREFIX)) || esc)) {
			perr(ps, file, line, "a learned rule is 'rule %sID allow|ask|deny'", LH_LEARNED_PREFIX);
			return -1;
		}
		for (k = 0; k < pol->nrules; k++)
			if (!strcmp(pol->rules[k].id, w[1])) {
				perr(ps, file, line, "rule '%s' is already defined at %s:%d", w[1],
				     pol->rules[k].file, pol->rules[k].line);
				return -1;
			}
		if (pol->nrules == pol->caprules) {
			pol->caprules = pol->caprules ? pol->caprules * 2 : 64;
			pol->rules = xrealloc(pol->rules, sizeof(*pol->rules) * (size_t)pol->caprules);
		}
		r = &pol->rules[pol->nrules++];
		memset(r, 0, sizeof(*r));
		r->id = xstrdup(w[1]);
		r->action = (enum lh_decision)d;
		r->escalate = esc;
		r->learned = ps->learned;
		r->file = xstrdup(file);
		r->line = line;
		r->order = pol->nrules - 1;
		ps->cur = r;
		return 0;
	}
	if (strcmp(w[0], "version") && strcmp(w[0], "include") && strcmp(w[0], "set") &&
	    strcmp(w[0], "class") && strcmp(w[0], "list"))
		return 1;	/* not a top-level word */
	ps->cur = NULL;
	if (ps->learned && strcmp(w[0], "class")) {
		perr(ps, file, line, "learned rules hold only 'rule' and 'class' statements, not '%s'", w[0]);
		return -1;
	}
	if (!strcmp(w[0], "version")) {
		if (n != 2 || strcmp(w[1], "1")) {
			perr(ps, file, line, "unsupported policy version (this Lighthouse reads version 1)");
			return -1;
		}
		pol->version = 1;
		return 0;
	}
	if (!strcmp(w[0], "include")) {
		if (n != 2) {
			perr(ps, file, line, "'include' needs one file name");
			return -1;
		}
		return do_include(ps, file, line, w[1]);
	}
	if (!strcmp(w[0], "set"))
		return set_statement(ps, file, line, w, n);
	if (!strcmp(w[0], "class")) {
		struct pclass *cl;

		if (n < 2 || !valid_name(w[1])) {
			perr(ps, file, line, "'class' needs a name (letters, digits, '.', '-', '_')");
			return -1;
		}
		if (builtin_class(w[1])) {
			perr(ps, file, line, "class '%s' is built in and cannot be redefined", w[1]);
			return -1;
		}
		cl = find_class(pol, w[1]);
		if (!cl) {
			if (pol->nclasses == pol->capclasses) {
				pol->capclasses = pol->capclasses ? pol->capclasses * 2 : 16;
				pol->classes = xrealloc(pol->classes,
							sizeof(*pol->classes) * (size_t)pol->capclasses);
			}
			cl = &pol->classes[pol->nclasses++];
			memset(cl, 0, sizeof(*cl));
			cl->name = xstrdup(w[1]);
		}
		for (k = 2; k < n; k++) {
			const char *pat = w[k];

			if (pat[0] == '@' && builtin_class(pat + 1)) {
				/* a dynamic class inside a class: evaluated per request */
				cl->pats = push_str(cl->pats, &cl->npats, pat);
				continue;
			}
			if (pat[0] == '@') {
				struct pclass *other = find_class(pol, pat + 1);
				int j;

				if (!other || other == cl) {
					perr(ps, file, line, "unknown class '%s'", pat + 1);
					return -1;
				}
				for (j = 0; j < other->npats; j++)
					cl->pats = push_str(cl->pats, &cl->npats, other->pats[j]);
				continue;
			}
			cl->pats = push_str(cl->pats, &cl->npats, pat);
		}
		return 0;
	}
	if (!strcmp(w[0], "list")) {
		struct wlist *l;

		if (n < 2 || !valid_name(w[1])) {
			perr(ps, file, line, "'list' needs a name (letters, digits, '.', '-', '_')");
			return -1;
		}
		l = find_list(pol, w[1]);
		if (!l) {
			if (pol->nlists == pol->caplists) {
				pol->caplists = pol->caplists ? pol->caplists * 2 : 16;
				pol->lists = xrealloc(pol->lists, sizeof(*pol->lists) * (size_t)pol->caplists);
			}
			l = &pol->lists[pol->nlists++];
			memset(l, 0, sizeof(*l));
			l->name = xstrdup(w[1]);
		}
		for (k = 2; k < n; k++) {
			if (w[k][0] == '@') {
				struct wlist *o = find_list(pol, w[k] + 1);
				int j;

				if (!o || o == l) {
					perr(ps, file, line, "unknown list '%s'", w[k] + 1);
					return -1;
				}
				for (j = 0; j < o->nwords; j++)
					l->words = push_str(l->words, &l->nwords, o->words[j]);
				continue;
			}
			l->words = push_str(l->words, &l->nwords, w[k]);
		}
		return 0;
	}
	return 1;	/* not a top-level word */
}

static int compile_policy_text(struct pstate *ps, const char *file, const char *text, size_t len)
{
	struct lh_buf logical = LH_BUF_INIT;
	size_t i = 0;
	int line = 0, start_line = 0;

	if (memchr(text, '\0', len)) {
		perr(ps, file, 1, "the file contains NUL bytes: is it a policy file?");
		return -1;
	}
	if (!ps->learned) {
		if (ps->depth == 0 || strcmp(file, "builtin:default"))
			lh_buf_add(&ps->pol->text, text, len);
		if (len && text[len - 1] != '\n')
			lh_buf_addc(&ps->pol->text, '\n');
	}
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - text) : len;
		size_t l = e - i;
		char **w = NULL;
		int n = 0, rc;
		const char *rest, *bad;

		line++;
		if (!logical.len)
			start_line = line;
		while (l && text[i + l - 1] == '\r')
			l--;
		if (l && text[i + l - 1] == '\\') {
			lh_buf_add(&logical, text + i, l - 1);
			lh_buf_addc(&logical, ' ');
			i = e + 1;
			continue;
		}
		lh_buf_add(&logical, text + i, l);
		i = e + 1;
		if (split_line(logical.data, &w, &n, &rest, &bad)) {
			perr(ps, file, start_line, "%s", bad);
			lh_buf_reset(&logical);
			continue;
		}
		lh_buf_reset(&logical);
		if (!n)
			continue;
		rc = top_statement(ps, file, start_line, w, n, rest);
		if (rc == 1) {
			if (!ps->cur)
				perr(ps, file, start_line, "'%s' outside of a rule (start one with: rule ID ACTION)",
				     w[0]);
			else
				rule_statement(ps, file, start_line, w, n, rest);
		}
		free_strv(w, n);
	}
	lh_buf_release(&logical);
	return ps->nerrors ? -1 : 0;
}

/* allow < ask < escalate < deny, as lh_verdict_severity ranks verdicts */
static int rule_severity(const struct rule *r)
{
	return (int)r->action * 2 + r->escalate;
}

static int severity_rank(const struct rule *a, const struct rule *b)
{
	if (a->priority != b->priority)
		return b->priority - a->priority;
	if (rule_severity(a) != rule_severity(b))
		return rule_severity(b) - rule_severity(a);
	return a->order - b->order;
}

/* Sort rule indexes by rank (insertion sort: lists are short, no globals). */
static void sort_rules(const struct lh_policy *pol, int *v, int n)
{
	int i, j;

	for (i = 1; i < n; i++) {
		int x = v[i];

		for (j = i; j > 0 && severity_rank(&pol->rules[v[j - 1]], &pol->rules[x]) > 0; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

static int cmp_conds(const void *x, const void *y)
{
	const struct cond *a = x, *b = y;

	return (int)a->kind - (int)b->kind;
}

static int rule_is_bash(const struct rule *r)
{
	int k;

	if (r->any_tool)
		return 1;
	for (k = 0; k < r->ntools; k++)
		if (!strcmp(r->tools[k], "Bash"))
			return 1;
	return 0;
}

static uint16_t bigram(const char *s)
{
	return (uint16_t)((unsigned char)s[0] << 8 | (unsigned char)s[1]);
}

static size_t gate_hash(uint16_t b, size_t cap)
{
	return ((size_t)b * 0x9E37u) & (cap - 1);
}

/* Index the generic Bash rules that have a gate (see struct lh_policy). */
static void gates_build(struct lh_policy *pol)
{
	int k, j, n = 0;

	for (k = 0; k < pol->nbash_generic; k++) {
		struct rule *r = &pol->rules[pol->bash_generic[k]];

		r->gate = NULL;
		for (j = 0; j < r->nconds; j++)
			if (r->conds[j].kind == C_MATCH && !r->conds[j].negate && r->conds[j].lit &&
			    r->conds[j].litlen >= 2) {
				r->gate = &r->conds[j];
				n++;
				break;
			}
	}
	if (!n)
		return;
	pol->ngates_cap = 16;
	while (pol->ngates_cap < (size_t)n * 2)
		pol->ngates_cap *= 2;
	pol->gates = xcalloc(pol->ngates_cap, sizeof(*pol->gates));
	for (k = 0; k < (int)pol->ngates_cap; k++)
		pol->gates[k].rule = -1;
	for (k = 0; k < pol->nbash_generic; k++) {
		int ri = pol->bash_generic[k];
		const struct rule *r = &pol->rules[ri];
		size_t i;

		if (!r->gate)
			continue;
		for (i = gate_hash(bigram(r->gate->lit), pol->ngates_cap); pol->gates[i].rule >= 0;
		     i = (i + 1) & (pol->ngates_cap - 1))
			;
		pol->gates[i].bigram = bigram(r->gate->lit);
		pol->gates[i].rule = ri;
	}
}

static int finish(struct pstate *ps)
{
	struct lh_policy *pol = ps->pol;
	int k, j;

	for (k = 0; k < pol->nrules; k++) {
		struct rule *r = &pol->rules[k];
		int bash_only = 0;

		if (!r->ntools && !r->any_tool)
			r->tools = push_str(r->tools, &r->ntools, "Bash");
		if (!r->reason) {
			char buf[128];

			snprintf(buf, sizeof(buf), "matched rule %s", r->id);
			r->reason = xstrdup(buf);
		}
		for (j = 0; j < r->nconds; j++) {
			struct cond *c = &r->conds[j];
			int x;

			for (x = 0; x < (int)(sizeof(cond_words) / sizeof(cond_words[0])); x++)
				if (cond_words[x].kind == c->kind && cond_words[x].bash_only)
					bash_only = 1;
		}
		if (bash_only && !rule_is_bash(r))
			perr(ps, r->file, r->line, "rule '%s' tests the shell command but its tools do not include Bash",
			     r->id);
		if (r->nconds > 1)
			qsort(r->conds, (size_t)r->nconds, sizeof(*r->conds), cmp_conds);
	}
	if (ps->nerrors)
		return -1;

	/* indexes */
	for (k = 0; k < pol->nrules; k++) {
		struct rule *r = &pol->rules[k];
		const struct cond *cmd = NULL;
		int exact = 1;

		if (r->learned) {
			/* tried only where a verdict would escalate (learned_override) */
			pol->learned = xrealloc(pol->learned, sizeof(int) * (size_t)(pol->nlearned + 1));
			pol->learned[pol->nlearned++] = k;
			continue;
		}
		if (r->any_tool) {
			pol->any_tool = xrealloc(pol->any_tool, sizeof(int) * (size_t)(pol->nany_tool + 1));
			pol->any_tool[pol->nany_tool++] = k;
		}
		for (j = 0; j < r->ntools; j++)
			ientry_push(index_add(&pol->by_tool, r->tools[j]), k);
		if (!rule_is_bash(r))
			continue;
		r->index_cond = -1;
		for (j = 0; j < r->nconds; j++)
			if (r->conds[j].kind == C_COMMAND && !r->conds[j].negate) {
				cmd = &r->conds[j];
				break;
			}
		if (cmd)
			for (j = 0; j < cmd->nitems; j++)
				if (strpbrk(cmd->items[j], "*?[\\"))
					exact = 0;
		if (!cmd || !exact) {
			pol->bash_generic = xrealloc(pol->bash_generic,
						     sizeof(int) * (size_t)(pol->nbash_generic + 1));
			pol->bash_generic[pol->nbash_generic++] = k;
			continue;
		}
		for (j = 0; j < cmd->nitems; j++)
			ientry_push(index_add(&pol->by_cmd, cmd->items[j]), k);
		r->index_cond = (int)(cmd - r->conds);
	}
	/* tool * rules apply to every named tool too */
	for (k = 0; k < (int)pol->by_tool.cap; k++) {
		struct ientry *e = &pol->by_tool.v[k];

		if (!e->key)
			continue;
		for (j = 0; j < pol->nany_tool; j++)
			ientry_push(e, pol->any_tool[j]);
	}
	for (k = 0; k < (int)pol->by_tool.cap; k++)
		if (pol->by_tool.v[k].key)
			sort_rules(pol, pol->by_tool.v[k].rules, pol->by_tool.v[k].n);
	for (k = 0; k < (int)pol->by_cmd.cap; k++)
		if (pol->by_cmd.v[k].key)
			sort_rules(pol, pol->by_cmd.v[k].rules, pol->by_cmd.v[k].n);
	sort_rules(pol, pol->bash_generic, pol->nbash_generic);
	gates_build(pol);
	sort_rules(pol, pol->any_tool, pol->nany_tool);
	sort_rules(pol, pol->learned, pol->nlearned);

	for (k = 0; k < pol->nlists; k++)
		list_index(&pol->lists[k]);
	{
		struct index names = { NULL, 0, 0 };

		for (k = 0; k < pol->nclasses; k++) {
			struct ientry *e = index_add(&names, pol->classes[k].name);

			ientry_push(e, k);
			ientry_push(e, -1);
		}
		for (k = 0; k < pol->nlists; k++) {
			struct ientry *e = index_add(&names, pol->lists[k].name);

			if (!e->n)
				ientry_push(e, -1);
			if (e->n < 2)
				ientry_push(e, k);
			else
				e->rules[1] = k;
		}
		pol->names = names;
	}
	for (k = 0; k < pol->nclasses; k++)
		class_prepare(&pol->classes[k]);
	for (k = 0; k < pol->nrules; k++)
		for (j = 0; j < pol->rules[k].nconds; j++) {
			int x;

			for (x = 0; x < pol->rules[k].conds[j].npitems; x++)
				class_prepare(&pol->rules[k].conds[j].pitems[x].own);
			cond_prepare(&pol->rules[k].conds[j]);
		}
	pol->mctx = pcre2_match_context_create(NULL);
	pcre2_set_match_limit(pol->mctx, MATCH_LIMIT);
	pcre2_set_depth_limit(pol->mctx, DEPTH_LIMIT);
	return 0;
}

int lh_policy_compile(struct lh_policy **out, const char *name, const char *text, size_t len,
		      struct lh_buf *err)
{
	struct lh_policy *pol = xcalloc(1, sizeof(*pol));
	struct pstate ps;

	lh_buf_init(&pol->text, 0);
	pol->source = xstrdup(name);
	pol->unknown_tool = LH_ASK;
	pol->unparseable = LH_ASK;
	pol->risk_ask = 40;
	pol->risk_deny = 100;
	memset(&ps, 0, sizeof(ps));
	ps.pol = pol;
	ps.err = err;
	if (len > MAX_POLICY_BYTES) {
		perr(&ps, name, 1, "policy is larger than %d bytes", MAX_POLICY_BYTES);
	} else {
		compile_policy_text(&ps, name, text, len);
		if (!ps.nerrors)
			finish(&ps);
	}
	if (ps.nerrors) {
		if (ps.nerrors > 50 && err)
			lh_buf_addf(err, "%s: %d more errors\n", name, ps.nerrors - 50);
		lh_policy_free(pol);
		*out = NULL;
		return -EINVAL;
	}
	*out = pol;
	return 0;
}

int lh_policy_load(struct lh_policy **out, const char *path, struct lh_buf *err)
{
	struct lh_policy *pol = xcalloc(1, sizeof(*pol));
	struct pstate ps;
	int rc;

	lh_buf_init(&pol->text, 0);
	pol->source = xstrdup(path);
	pol->unknown_tool = LH_ASK;
	pol->unparseable = LH_ASK;
	pol->risk_ask = 40;
	pol->risk_deny = 100;
	memset(&ps, 0, sizeof(ps));
	ps.pol = pol;
	ps.err = err;
	ps.depth = -1;
	rc = do_include(&ps, path, 0, path);
	if (!rc && !ps.nerrors)
		finish(&ps);
	if (ps.nerrors) {
		lh_policy_free(pol);
		*out = NULL;
		return -EINVAL;
	}
	*out = pol;
	return 0;
}

int lh_policy_builtin(struct lh_policy **out, struct lh_buf *err)
{
	return lh_policy_compile(out, "builtin:default", lh_default_policy,
				 lh_default_policy_len, err);
}

void lh_policy_free(struct lh_policy *pol)
{
	int k, j, x;

	if (!pol)
		return;
	for (k = 0; k < pol->nrules; k++) {
		struct rule *r = &pol->rules[k];

		for (j = 0; j < r->nconds; j++) {
			struct cond *c = &r->conds[j];

			free_strv(c->items, c->nitems);
			for (x = 0; x < c->npitems; x++) {
				free(c->pitems[x].own.name);
				free_strv(c->pitems[x].own.pats, c->pitems[x].own.npats);
				free(c->pitems[x].own.pp);
				free(c->pitems[x].own.key);
			}
			free(c->pitems);
			free(c->wset.words);	/* the words are the items' */
			free(c->wset.slots);
			free(c->globs);
			free(c->shorts);
			free_strv(c->longs, c->nlongs);
			if (c->re)
				pcre2_code_free(c->re);
			free(c->lit);
			free(c->src);
		}
		free(r->conds);
		free(r->id);
		free(r->reason);
		free_strv(r->tools, r->ntools);
		free_strv(r->tags, r->ntags);
		free(r->file);
	}
	free(pol->rules);
	for (k = 0; k < pol->nclasses; k++) {
		free(pol->classes[k].name);
		free_strv(pol->classes[k].pats, pol->classes[k].npats);
		free(pol->classes[k].pp);
		free(pol->classes[k].key);
	}
	free(pol->classes);
	for (k = 0; k < pol->nlists; k++) {
		free(pol->lists[k].name);
		free_strv(pol->lists[k].words, pol->lists[k].nwords);
		free(pol->lists[k].slots);
	}
	free(pol->lists);
	index_free(&pol->by_tool);
	index_free(&pol->by_cmd);
	index_free(&pol->names);
	free(pol->any_tool);
	free(pol->bash_generic);
	free(pol->learned);
	free(pol->gates);
	if (pol->mctx)
		pcre2_match_context_free(pol->mctx);
	lh_buf_release(&pol->text);
	free(pol->source);
	free(pol);
}

const char *lh_policy_source(const struct lh_policy *pol)
{
	return pol->source;
}

int lh_policy_nrules(const struct lh_policy *pol)
{
	return pol->nrules;
}

const char *lh_policy_text(const struct lh_policy *pol, size_t *len)
{
	if (len)
		*len = pol->text.len;
	return pol->text.data;
}

int lh_policy_risk_ask(const struct lh_policy *pol)
{
	return pol->risk_ask;
}

int lh_policy_risk_deny(const struct lh_policy *pol)
{
	return pol->risk_deny;
}

int lh_policy_risk_escalate(const struct lh_policy *pol)
{
	return pol->risk_escalate;
}

/* ---- judging ------------------------------------------------------------------ */

void lh_scratch_init(struct lh_scratch *s)
{
	lh_arena_init(&s->arena, SCRATCH_LIMIT);
	/*
	 * The arena keeps its first block when cleared: make it big enough
	 * for most requests, so that judging one does not malloc and free
	 * (and fault in) fresh blocks every time.
	 */
	if (lh_arena_alloc(&s->arena, SCRATCH_FIRST_BLOCK))
		lh_arena_clear(&s->arena);
	s->match_data = pcre2_match_data_create(1, NULL);
	if (!s->match_data) {
		fprintf(stderr, "lighthouse: out of memory creating PCRE2 match data\n");
		abort();
	}
}

void lh_scratch_release(struct lh_scratch *s)
{
	lh_arena_release(&s->arena);
	if (s->match_data)
		pcre2_match_data_free(s->match_data);
	s->match_data = NULL;
}

int lh_class_match(const struct lh_policy *pol, const struct pclass *cl, const char *path,
		   const struct lh_judge_env *env)
{
	struct lh_pathtext pt;
	int k, hit = 0, prepared = 0;

	(void)pol;
	if (cl->builtin) {
		switch (cl->builtin) {
		case BUILTIN_PROJECT:
			return env->project && lh_path_within(path, env->project);
		case BUILTIN_PROJECT_ROOT:
			return env->project && !strcmp(path, env->project);
		case BUILTIN_CWD:
			/* a cwd of / or of the home directory is no work area */
			return env->cwd && strcmp(env->cwd, "/") &&
			       !(env->home && !strcmp(env->cwd, env->home)) &&
			       lh_path_within(path, env->cwd);
		case BUILTIN_HOME:
			return env->home && !strcmp(path, env->home);
		}
	}
	for (k = 0; k < cl->npats; k++) {
		const char *p;

		if (!prepared) {
			lh_pathtext_init(&pt, path, env->home);
			prepared = 1;
		}
		/* most patterns differ in their key byte: skip them unread */
		if (cl->key && lh_path_key_differs(cl->key[k], &pt))
			continue;
		p = cl->pats[k];
		if (p[0] == '!') {
			/*
			 * An exclusion removes a path only when it is certainly
			 * excluded: a wildcard (.env*) may name both kinds.
			 */
			if (!pt.glob && (cl->pp ? !lh_path_cannot_match(&cl->pp[k], &pt) &&
						  lh_path_match_pp(&cl->pp[k], &pt) :
					 lh_path_match(p + 1, path, env->home)))
				return 0;
			continue;
		}
		if (hit)
			continue;
		if (p[0] == '@') {
			struct pclass b;

			memset(&b, 0, sizeof(b));
			b.name = (char *)p + 1;
			b.builtin = builtin_class(p + 1);
			hit = lh_class_match(pol, &b, path, env);
		} else if (cl->pp ? (p[0] != '~' || env->home) && !lh_path_cannot_match(&cl->pp[k], &pt) &&
				    lh_path_match_pp(&cl->pp[k], &pt) :
			   lh_path_match(p, path, env->home)) {
			hit = 1;
		}
	}
	return hit;
}

#define COND_LIMIT 2	/* a condition could not be decided (a regex limit was hit) */

/* A regex test: 1 match, 0 no match, COND_LIMIT when a limit stopped it. */
static int re_test(const struct judge_ctx *j, const struct cond *c, const char *s, size_t n)
{
	int rc;

	if (c->lit && !memmem(s, n, c->lit, c->litlen))
		return 0;
	rc = pcre2_match(c->re, (PCRE2_SPTR)s, n, 0, 0, j->scratch->match_data, j->pol->mctx);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	return COND_LIMIT;	/* match or depth limit, or another error */
}

static int is_flag_word(const char *a)
{
	return a[0] == '-' && a[1] && !(a[1] == '-' && !a[2]);
}

int lh_cmdinfo_pos(struct judge_ctx *j, struct cmdinfo *ci)
{
	const struct lh_scmd *c = ci->c;
	int k, dd = 0;

	if (ci->have_pos)
		return 0;
	ci->have_pos = 1;
	if (!c)
		return 0;
	ci->pos = lh_arena_alloc(&j->scratch->arena, sizeof(*ci->pos) * (size_t)c->argc);
	ci->posf = lh_arena_alloc(&j->scratch->arena, (size_t)c->argc);
	if (!ci->pos || !ci->posf)
		return -ENOMEM;
	for (k = 1; k < c->argc; k++) {
		const char *a = c->argv[k];

		if (!dd && !strcmp(a, "--")) {
			dd = 1;
			continue;
		}
		if (!dd && is_flag_word(a))
			continue;
		ci->posf[ci->npos] = c->wflags[k];
		ci->pos[ci->npos++] = a;
	}
	return 0;
}

/* git and friends take options with values before the subcommand */
static int takes_value(const char *cmd, const char *opt)
{
	static const char *const git[] = { "-C", "-c", "--git-dir", "--work-tree", "--namespace",
		"--exec-path", NULL };
	static const char *const kubectl[] = { "-n", "--namespace", "--context", "--cluster",
		"--kubeconfig", "-s", "--server", "--user", NULL };
	static const char *const docker[] = { "-H", "--host", "--context", "--config", "-c",
		"--log-level", "-l", NULL };
	const char *const *v = NULL;

	if (!strcmp(cmd, "git"))
		v = git;
	else if (!strcmp(cmd, "kubectl") || !strcmp(cmd, "oc"))
		v = kubectl;
	else if (!strcmp(cmd, "docker") || !strcmp(cmd, "podman"))
		v = docker;
	if (!v)
		return 0;
	for (; *v; v++)
		if (!strcmp(*v, opt))
			return 1;
	return 0;
}

static const char *subcommand(struct cmdinfo *ci)
{
	const struct lh_scmd *c = ci->c;
	int k;

	if (ci->have_sub)
		return ci->sub;
	ci->have_sub = 1;
	for (k = 1; c && k < c->argc; k++) {
		const char *a = c->argv[k];

		if (!strcmp(a, "--"))
			break;
		if (is_flag_word(a)) {
			if (!strchr(a, '=') && takes_value(c->name, a))
				k++;
			continue;
		}
		ci->sub = a;
		break;
	}
	return ci->sub;
}

static const char *resolve(struct judge_ctx *j, const char *w)
{
	return lh_path_resolve(&j->scratch->arena, w, j->env->cwd, j->env->home);
}

/*
 * A word of a command, resolved where the command runs: after a cd in the
 * request, against that folder. NULL with *unknown set when the folder is
 * known only at run time and the word is relative.
 */
static const char *resolve_cmd(struct judge_ctx *j, const struct lh_scmd *c, const char *w,
			       int *unknown)
{
	const char *cwd = c && c->cwd ? c->cwd : j->env->cwd;

	*unknown = 0;
	if (!cwd[0] && w[0] != '/' && w[0] != '~') {
		*unknown = 1;
		return NULL;
	}
	return lh_path_resolve(&j->scratch->arena, w, cwd[0] ? cwd : "/", j->env->home);
}

int lh_cmdinfo_paths(struct judge_ctx *j, struct cmdinfo *ci)
{
	const struct lh_scmd *c = ci->c;
	int k, n = 0;

	if (ci->have_paths)
		return 0;
	ci->have_paths = 1;
	if (!c) {
		/* file tools: the input is the path */
		ci->paths = lh_arena_alloc(&j->scratch->arena, sizeof(*ci->paths));
		if (!ci->paths)
			return -ENOMEM;
		ci->paths[0] = resolve(j, j->req->input);
		ci->npaths = ci->paths[0] ? 1 : 0;
		return 0;
	}
	if (lh_cmdinfo_pos(j, ci))
		return -ENOMEM;
	ci->paths = lh_arena_alloc(&j->scratch->arena,
				   sizeof(*ci->paths) * (size_t)(ci->npos + c->nredirs + 1));
	if (!ci->paths)
		return -ENOMEM;
	for (k = 0; k < ci->npos; k++) {
		const char *p;
		int unknown;

		if (ci->posf[k] & LH_W_DYNAMIC) {
			ci->ndynamic++;
			continue;
		}
		p = resolve_cmd(j, c, ci->pos[k], &unknown);
		if (unknown)
			ci->ndynamic++;
		if (p)
			ci->paths[n++] = p;
	}
	for (k = 0; k < c->nredirs; k++) {
		const struct lh_redir *r = &c->redirs[k];
		const char *p;
		int unknown;

		if ((r->op != LH_REDIR_IN && r->op != LH_REDIR_RW) || r->dynamic || !r->target)
			continue;
		p = resolve_cmd(j, c, r->target, &unknown);
		if (unknown)
			ci->ndynamic++;
		if (p)
			ci->paths[n++] = p;
	}
	ci->npaths = n;
	return 0;
}

int lh_cmdinfo_outs(struct judge_ctx *j, struct cmdinfo *ci)
{
	const struct lh_scmd *c = ci->c;
	int k, n = 0;

	if (ci->have_outs)
		return 0;
	ci->have_outs = 1;
	if (!c)
		return 0;
	ci->outs = lh_arena_alloc(&j->scratch->arena, sizeof(*ci->outs) * (size_t)(c->nredirs + 1));
	if (!ci->outs)
		return -ENOMEM;
	for (k = 0; k < c->nredirs; k++) {
		const struct lh_redir *r = &c->redirs[k];
		const char *p;
		int unknown;

		if (r->op != LH_REDIR_OUT && r->op != LH_REDIR_APPEND && r->op != LH_REDIR_RW)
			continue;
		if (!r->target)
			continue;
		if (r->dynamic) {
			ci->ndyn_outs++;
			continue;
		}
		p = resolve_cmd(j, c, r->target, &unknown);
		if (unknown)
			ci->ndyn_outs++;
		if (p)
			ci->outs[n++] = p;
	}
	ci->nouts = n;
	return 0;
}

/* The destination-taking option of DEST_OPTION commands, and whether it glues. */
static const struct {
	const char *cmd;
	const char *shorts;		/* option letters whose value is a destination */
	const char *const longs[3];	/* long options, --x=VALUE or --x VALUE (openssl: -out) */
	const char *prefix;		/* a word prefix: dd's of= */
} dest_opts[] = {
	{ "dd", "", { NULL }, "of=" },
	{ "curl", "o", { "--output", NULL }, NULL },
	{ "wget", "O", { "--output-document", NULL }, NULL },
	{ "tar", "C", { "--directory", NULL }, NULL },
	{ "bsdtar", "C", { "--directory", NULL }, NULL },
	{ "unzip", "d", { NULL }, NULL },
	{ "openssl", "", { "-out", "-keyout", NULL }, NULL },
};

static int dest_kind(const char *name)
{
	static const char *const last[] = { "cp", "mv", "ln", "install", "rsync", "scp", NULL };
	static const char *const all[] = { "tee", "sponge", NULL };
	size_t k;

	for (k = 0; last[k]; k++)
		if (!strcmp(name, last[k]))
			return DEST_LAST;
	for (k = 0; all[k]; k++)
		if (!strcmp(name, all[k]))
			return DEST_ALL;
	for (k = 0; k < sizeof(dest_opts) / sizeof(dest_opts[0]); k++)
		if (!strcmp(name, dest_opts[k].cmd))
			return DEST_OPTION;
	return DEST_NONE;
}

/* host:path is a remote destination (scp, rsync), not a local file */
static int remote_word(const char *w)
{
	const char *colon = strchr(w, ':');

	return colon && colon != w && memchr(w, '/', (size_t)(colon - w)) == NULL;
}

static void add_target(struct judge_ctx *j, struct cmdinfo *ci, const char *w, unsigned flags)
{
	const char *p;
	int unknown;

	if (flags & LH_W_DYNAMIC) {
		ci->ndyn_targets++;
		return;
	}
	if (remote_word(w))
		return;
	p = resolve_cmd(j, ci->c, w, &unknown);
	if (unknown)
		ci->ndyn_targets++;
	if (p)
		ci->targets[ci->ntargets++] = p;
}

/*
 * The files a command writes: its output redirections, and the
 * destination arguments of the commands that copy, link, tee, download
 * or extract into a place (dest_kind). Computed once per command.
 */
int lh_cmdinfo_targets(struct judge_ctx *j, struct cmdinfo *ci)
{
	const struct lh_scmd *c = ci->c;
	int k;

	if (ci->have_targets)
		return 0;
	ci->have_targets = 1;
	if (!c)
		return 0;
	if (lh_cmdinfo_outs(j, ci) || lh_cmdinfo_pos(j, ci))
		return -ENOMEM;
	ci->targets = lh_arena_alloc(&j->scratch->arena,
				     sizeof(*ci->targets) * (size_t)(ci->nouts + c->argc + 1));
	if (!ci->targets)
		return -ENOMEM;
	for (k = 0; k < ci->nouts; k++)
		ci->targets[ci->ntargets++] = ci->outs[k];
	ci->ndyn_targets = ci->ndyn_outs;
	ci->dest_kind = dest_kind(c->name);
	switch (ci->dest_kind) {
	case DEST_LAST: {
		const char *dir = NULL;
		unsigned dflags = 0;

		for (k = 1; k < c->argc; k++) {
			const char *a = c->argv[k];

			if (!strcmp(a, "--"))
				break;
			if (!strncmp(a, "--target-directory=", 19)) {
				dir = a + 19;
				dflags = c->wflags[k];
			} else if (!strcmp(a, "--target-directory") && k + 1 < c->argc) {
				dir = c->argv[k + 1];
				dflags = c->wflags[k + 1];
			} else if (a[0] == '-' && a[1] == 't' && strcmp(c->name, "rsync") &&
				   strcmp(c->name, "scp")) {
				dir = a[2] ? a + 2 : k + 1 < c->argc ? c->argv[k + 1] : NULL;
				dflags = a[2] ? c->wflags[k] : k + 1 < c->argc ? c->wflags[k + 1] : 0;
			}
		}
		if (dir)
			add_target(j, ci, dir, dflags);
		else if (ci->npos >= 2 || (ci->npos == 1 && !strcmp(c->name, "ln")))
			add_target(j, ci, ci->npos >= 2 ? ci->pos[ci->npos - 1] : ".",
				   ci->npos >= 2 ? ci->posf[ci->npos - 1] : 0);
		break;
	}
	case DEST_ALL:
		for (k = 0; k < ci->npos; k++)
			add_target(j, ci, ci->pos[k], ci->posf[k]);
		break;
	case DEST_OPTION: {
		size_t d;
		int before = ci->ntargets + ci->ndyn_targets, remote_name = 0;

		for (d = 0; strcmp(dest_opts[d].cmd, c->name); d++)
			;
		for (k = 1; k < c->argc; k++) {
			const char *a = c->argv[k];
			int x;

			if (!strcmp(a, "--"))
				break;
			if (dest_opts[d].prefix &&
			    !strncmp(a, dest_opts[d].prefix, strlen(dest_opts[d].prefix))) {
				add_target(j, ci, a + strlen(dest_opts[d].prefix), c->wflags[k]);
				continue;
			}
			for (x = 0; dest_opts[d].longs[x]; x++) {
				size_t l = strlen(dest_opts[d].longs[x]);

				if (strncmp(a, dest_opts[d].longs[x], l))
					continue;
				if (a[l] == '=')
					add_target(j, ci, a + l + 1, c->wflags[k]);
				else if (!a[l] && k + 1 < c->argc)
					add_target(j, ci, c->argv[k + 1], c->wflags[k + 1]);
			}
			if (a[0] == '-' && a[1] != '-' && a[1] && strchr(dest_opts[d].shorts, a[1])) {
				if (a[2])
					add_target(j, ci, a + 2, c->wflags[k]);
				else if (k + 1 < c->argc)
					add_target(j, ci, c->argv[k + 1], c->wflags[k + 1]);
			}
			if (!strcmp(c->name, "curl") && ((a[0] == '-' && a[1] != '-' && strchr(a, 'O')) ||
							 !strcmp(a, "--remote-name")))
				remote_name = 1;
		}
		if ((remote_name || !strcmp(c->name, "wget")) &&
		    ci->ntargets + ci->ndyn_targets == before) {
			/* wget URL, curl -O URL: the file is named after the URL */
			for (k = 0; k < ci->npos; k++) {
				const char *u = ci->pos[k], *slash, *end;

				if (!strstr(u, "://") || (ci->posf[k] & LH_W_DYNAMIC))
					continue;
				end = u + strcspn(u, "?#");
				for (slash = end; slash > u && slash[-1] != '/'; slash--)
					;
				if (slash < end && slash[-1] == '/' && slash - u > 3 && slash[-2] != '/') {
					char *name = lh_arena_strndup(&j->scratch->arena, slash,
								      (size_t)(end - slash));

					if (name)
						add_target(j, ci, name, 0);
				}
			}
		}
		break;
	}
	}
	return 0;
}

static int glob_words(char *const *items, int n, const char *w)
{
	int k;

	for (k = 0; k < n; k++)
		if (lh_path_match(items[k], w, NULL) || !strcmp(items[k], w))
			return 1;
	return 0;
}

/* plain glob for words: * and ? match any character, '/' included */
static int word_glob(const char *p, const char *s)
{
	const char *star = NULL, *ss = NULL;

	while (*s) {
		if (*p == '\\' && p[1] && p[1] == *s) {
			p += 2;
			s++;
		} else if (*p == '?' || (*p == *s && *p != '*')) {
			p++;
			s++;
		} else if (*p == '*') {
			star = p++;
			ss = s;
		} else if (star) {
			p = star + 1;
			s = ++ss;
		} else {
			return 0;
		}
	}
	while (*p == '*')
		p++;
	return !*p;
}

/* Is w one of a word condition's items: its literal set, then its globs? */
static int word_any(const struct cond *c, const char *w)
{
	int k;

	if (lh_list_has(&c->wset, w))
		return 1;
	for (k = 0; k < c->nglobs; k++)
		if (word_glob(c->items[c->globs[k]], w))
			return 1;
	return 0;
}

/* Split a word condition's items into a literal hash set and its globs. */
static void cond_prepare(struct cond *c)
{
	int k;

	if (c->kind != C_COMMAND && c->kind != C_SUBCOMMAND && c->kind != C_ARG &&
	    c->kind != C_STDIN_FROM)
		return;
	c->wset.words = xcalloc((size_t)c->nitems + 1, sizeof(*c->wset.words));
	c->globs = xcalloc((size_t)c->nitems + 1, sizeof(*c->globs));
	for (k = 0; k < c->nitems; k++) {
		if (strpbrk(c->items[k], "*?\\"))
			c->globs[c->nglobs++] = k;
		else
			c->wset.words[c->wset.nwords++] = c->items[k];
	}
	list_index(&c->wset);
}

static int pitems_match(struct judge_ctx *j, const struct cond *c, const char *path)
{
	int k;

	for (k = 0; k < c->npitems; k++) {
		const struct pitem *pi = &c->pitems[k];
		const struct pclass *cl = pi->cls >= 0 ? &j->pol->classes[pi->cls] : &pi->own;
		int in = lh_class_match(j->pol, cl, path, j->env);

		if (in != pi->neg)
			return 1;
	}
	return 0;
}

/* The command's words joined by blanks, for match conditions (computed once). */
static int cmd_text(struct judge_ctx *j, struct cmdinfo *ci)
{
	const struct lh_scmd *sc = ci->c;
	size_t n = 0;
	char *t, *q;
	int k;

	if (ci->text)
		return 0;
	ci->text = "";
	for (k = 0; k < sc->argc; k++)
		n += strlen(sc->argv[k]) + 1;
	t = lh_arena_alloc(&j->scratch->arena, n + 1);
	if (!t)
		return -ENOMEM;
	q = t;
	for (k = 0; k < sc->argc; k++) {
		size_t l = strlen(sc->argv[k]);

		memcpy(q, sc->argv[k], l);
		q += l;
		*q++ = ' ';
	}
	if (q > t)
		q--;
	*q = '\0';
	ci->text = t;
	return 0;
}

static int cond_test(struct judge_ctx *j, const struct cond *c, struct cmdinfo *ci)
{
	const struct lh_scmd *sc = ci->c;
	int k;

	switch (c->kind) {
	case C_COMMAND:
		return sc && sc->name[0] && word_any(c, sc->name);
	case C_SUBCOMMAND: {
		const char *s = subcommand(ci);

		return s && word_any(c, s);
	}
	case C_FLAG:
		if (!sc)
			return 0;
		for (k = 1; k < sc->argc; k++) {
			const char *a = sc->argv[k];
			int x;

			if (!strcmp(a, "--"))
				break;
			if (a[0] != '-' || !a[1])
				continue;
			if (a[1] == '-') {
				for (x = 0; x < c->nlongs; x++) {
					size_t l = strlen(c->longs[x]);

					if (!strncmp(a, c->longs[x], l) && (!a[l] || a[l] == '='))
						return 1;
				}
				continue;
			}
			if (strpbrk(a + 1, c->shorts))
				return 1;
		}
		return 0;
	case C_ARG:
		if (!sc)
			return word_any(c, j->req->input);
		for (k = 1; k < sc->argc; k++)
			if (word_any(c, sc->argv[k])) {
				ci->hit = sc->argv[k];
				return 1;
			}
		return 0;
	case C_STDIN_FROM:
		return sc && sc->pipe_from && sc->pipe_from[0] &&
		       word_any(c, sc->pipe_from);
	case C_WRAPPER: {
		const char *w;

		if (!sc)
			return 0;
		for (w = sc->wrappers; *w;) {
			const char *e = strchr(w, ' ');
			size_t l = e ? (size_t)(e - w) : strlen(w);
			char name[64];

			if (l < sizeof(name)) {
				memcpy(name, w, l);
				name[l] = '\0';
				if (glob_words(c->items, c->nitems, name))
					return 1;
			}
			w += l;
			while (*w == ' ')
				w++;
		}
		return 0;
	}
	case C_CONTEXT:
		return sc && (sc->ctx & c->ctx);
	case C_CWD:
		return j->env->cwd && pitems_match(j, c, j->env->cwd);
	case C_PATH:
		if (lh_cmdinfo_paths(j, ci))
			return 1;
		if (ci->ndynamic) {
			/* a path known only at run time may be anywhere */
			for (k = 0; k < c->npitems; k++)
				if (c->pitems[k].neg) {
					ci->hit = "a path known only at run time";
					return 1;
				}
		}
		for (k = 0; k < ci->npaths; k++)
			if (pitems_match(j, c, ci->paths[k])) {
				ci->hit = ci->paths[k];
				return 1;
			}
		return 0;
	case C_TARGET:
		if (lh_cmdinfo_targets(j, ci))
			return 1;
		if (ci->ndyn_targets) {
			for (k = 0; k < c->npitems; k++)
				if (c->pitems[k].neg) {
					ci->hit = "a path known only at run time";
					return 1;
				}
		}
		for (k = 0; k < ci->ntargets; k++)
			if (pitems_match(j, c, ci->targets[k])) {
				ci->hit = ci->targets[k];
				return 1;
			}
		return 0;
	case C_REDIRECT:
		if (lh_cmdinfo_outs(j, ci))
			return 1;
		if (ci->ndyn_outs) {
			/* a target known only at run time may be anywhere */
			for (k = 0; k < c->npitems; k++)
				if (c->pitems[k].neg) {
					ci->hit = "a path known only at run time";
					return 1;
				}
		}
		for (k = 0; k < ci->nouts; k++)
			if (pitems_match(j, c, ci->outs[k])) {
				ci->hit = ci->outs[k];
				return 1;
			}
		return 0;
	case C_MATCH:
		if (!sc)
			return re_test(j, c, j->req->input, strlen(j->req->input));
		if (cmd_text(j, ci))
			return 1;
		return re_test(j, c, ci->text, strlen(ci->text));
	case C_CONTENT: {
		const char *s = j->req->content;

		if (!s && sc) {
			/* for a shell command: the here-documents and here-strings it feeds */
			for (k = 0; k < sc->nredirs; k++)
				if ((sc->redirs[k].op == LH_REDIR_HEREDOC ||
				     sc->redirs[k].op == LH_REDIR_HERESTR) && sc->redirs[k].target &&
				    re_test(j, c, sc->redirs[k].target, strlen(sc->redirs[k].target)))
					return 1;
			return 0;
		}
		return s && re_test(j, c, s, strlen(s));
	}
	case C_RAW:
		return re_test(j, c, j->req->input, strlen(j->req->input));
	}
	return 0;
}

/*
 * Do all of a rule's conditions hold? A condition that could not be
 * decided (a regex limit) makes a deny or ask rule apply and an allow rule
 * not: a guard errs on the side of asking.
 */
static int rule_test(struct judge_ctx *j, const struct rule *r, struct cmdinfo *ci, int indexed)
{
	int k;

	ci->hit = NULL;
	for (k = 0; k < r->nconds; k++) {
		const struct cond *c = &r->conds[k];
		int hit;

		/* found through the command index: its exact command list holds */
		if (indexed && k == r->index_cond)
			continue;
		if (c->kind == C_RAW && j->raw_memo) {
			signed char *m = &j->raw_memo[r->order];

			if (*m < 0)
				*m = (signed char)cond_test(j, c, ci);
			hit = *m;
		} else {
			hit = cond_test(j, c, ci);
		}
		if (hit == COND_LIMIT) {
			if (r->action == LH_ALLOW)
				return 0;
			continue;
		}
		if (hit == c->negate)
			return 0;
	}
	return 1;
}

/* Render a rule's reason: {path} {command} {tool} {arg} */
static void render_reason(struct judge_ctx *j, const struct rule *r, struct cmdinfo *ci,
			  struct lh_verdict *v)
{
	char out[LH_REASON_MAX * 2];
	const char *s = r->reason;
	size_t o = 0;

	while (*s && o < sizeof(out) - 1) {
		const char *val = NULL;
		size_t skip = 0;

		if (*s == '{') {
			if (!strncmp(s, "{path}", 6)) {
				val = ci->hit;
				if (!val && ci->c && !lh_cmdinfo_paths(j, ci) && ci->npaths)
					val = ci->paths[0];
				if (!val && !ci->c)
					val = j->req->input;
				skip = 6;
			} else if (!strncmp(s, "{command}", 9)) {
				val = ci->c ? ci->c->name : j->req->tool;
				skip = 9;
			} else if (!strncmp(s, "{tool}", 6)) {
				val = j->req->tool;
				skip = 6;
			} else if (!strncmp(s, "{arg}", 5)) {
				val = ci->hit;
				skip = 5;
			}
		}
		if (skip) {
			size_t l;

			if (!val)
				val = "?";
			l = strlen(val);
			if (l > sizeof(out) - 1 - o)
				l = sizeof(out) - 1 - o;
			memcpy(out + o, val, l);
			o += l;
			s += skip;
			continue;
		}
		out[o++] = *s++;
	}
	out[o] = '\0';
	lh_verdict_set_text(v, r->action, LH_TIER_POLICY, r->id,
			    r->escalate ? ESCALATE_PREFIX : NULL, out);
	v->escalate = (unsigned)r->escalate;
}

/*
 * Judge with the rules in two rank-sorted lists; 1 if a rule decided.
 * a_indexed: the rules of `a` came from the command index for this name.
 */
static int judge_lists(struct judge_ctx *j, const int *a, int na, int a_indexed, const int *b,
		       int nb, struct cmdinfo *ci, struct lh_verdict *v)
{
	const struct lh_policy *pol = j->pol;
	int ia = 0, ib = 0;

	while (ia < na || ib < nb) {
		int pick, indexed;

		if (ib >= nb || (ia < na && severity_rank(&pol->rules[a[ia]], &pol->rules[b[ib]]) <= 0)) {
			pick = a[ia++];
			indexed = a_indexed;
		} else {
			pick = b[ib++];
			indexed = 0;
			/* a gated generic rule whose literal is not in the text cannot hold */
			if (pol->rules[pick].gate && ci->c && j->gate_open &&
			    j->gate_open[pick] != j->gate_gen)
				continue;
		}
		if (rule_test(j, &pol->rules[pick], ci, indexed)) {
			render_reason(j, &pol->rules[pick], ci, v);
			return 1;
		}
	}
	return 0;
}

/*
 * Open the gates of the generic rules whose literal is in the command's
 * text: one pass over the text's bigrams, one table probe each; a gate
 * opens only when its whole literal is there. Gated rules stay shut for
 * this command otherwise, and are skipped without being tested.
 */
static void open_gates(struct judge_ctx *j, struct cmdinfo *ci)
{
	const struct lh_policy *pol = j->pol;
	size_t n, i;

	j->gate_gen++;
	if (!pol->ngates_cap || !j->gate_open || cmd_text(j, ci))
		return;
	n = strlen(ci->text);
	for (i = 0; i + 1 < n; i++) {
		uint16_t b = bigram(ci->text + i);
		size_t s;

		for (s = gate_hash(b, pol->ngates_cap); pol->gates[s].rule >= 0;
		     s = (s + 1) & (pol->ngates_cap - 1)) {
			const struct rule *r = &pol->rules[pol->gates[s].rule];

			if (pol->gates[s].bigram != b || j->gate_open[pol->gates[s].rule] == j->gate_gen)
				continue;
			if (r->gate->litlen <= n - i &&
			    !memcmp(ci->text + i, r->gate->lit, r->gate->litlen))
				j->gate_open[pol->gates[s].rule] = j->gate_gen;
		}
	}
}

static int rule_has_tool(const struct rule *r, const char *tool)
{
	int k;

	if (r->any_tool)
		return 1;
	for (k = 0; k < r->ntools; k++)
		if (!strcmp(r->tools[k], tool))
			return 1;
	return 0;
}

/*
 * A verdict that would escalate is replaced by the first learned rule
 * (in rank order) that matches: the question was asked before and decided.
 * Learned rules decide nothing else, so a learned allow can never undo a
 * deny of the policy, nor a learned deny an allow.
 */
static void learned_override(struct judge_ctx *j, struct cmdinfo *ci, struct lh_verdict *v)
{
	const struct lh_policy *pol = j->pol;
	int k;

	if (!v->escalate || !pol->nlearned)
		return;
	for (k = 0; k < pol->nlearned; k++) {
		const struct rule *r = &pol->rules[pol->learned[k]];

		if (!rule_has_tool(r, j->req->tool) || !rule_test(j, r, ci, 0))
			continue;
		render_reason(j, r, ci, v);
		v->tier = LH_TIER_LEARNED;
		v->risk = 0;
		return;
	}
}

static void judge_cmd(struct judge_ctx *j, const struct lh_scmd *c, struct lh_verdict *v)
{
	const struct lh_policy *pol = j->pol;
	const struct ientry *e = c->name[0] ? index_find(&pol->by_cmd, c->name) : NULL;
	struct cmdinfo ci;

	memset(&ci, 0, sizeof(ci));
	ci.c = c;
	open_gates(j, &ci);
	if (!judge_lists(j, e ? e->rules : NULL, e ? e->n : 0, 1, pol->bash_generic,
			 pol->nbash_generic, &ci, v))
		lh_risk_judge_cmd(j, &ci, v);
	learned_override(j, &ci, v);
}

/*
 * The most severe verdict wins; at equal severity a rule's verdict wins
 * over the risk tier's (its reason names what was matched).
 */
static void merge(struct lh_verdict *acc, const struct lh_verdict *v, int *have)
{
	int a = *have ? lh_verdict_severity(acc) : -1, b = lh_verdict_severity(v);

	/* a learned verdict is named first: it says the question was decided before */
	if (!*have || b > a || (b == a && v->tier == LH_TIER_LEARNED) ||
	    (b == a && v->tier == LH_TIER_POLICY && acc->tier != LH_TIER_POLICY &&
	     acc->tier != LH_TIER_LEARNED)) {
		*acc = *v;
		*have = 1;
	}
}

/* A file that runs by itself later: class autorun (startup files, cron, hooks...). */
static int runs_itself(const struct judge_ctx *j, const char *path)
{
	const struct pclass *autorun = lh_policy_class(j->pol, "autorun");

	return autorun && lh_class_match(j->pol, autorun, path, j->env);
}

/* The language of code bound for `path` (shell for startup files without extension). */
static enum lh_lang code_lang(const struct judge_ctx *j, const char *path, const char *code)
{
	enum lh_lang lang = lh_interp_file_lang(path, code);
	const struct pclass *startup = lh_policy_class(j->pol, "shell-startup");

	if (lang == LH_LANG_NONE && startup && lh_class_match(j->pol, startup, path, j->env))
		lang = LH_LANG_SHELL;	/* ~/.bashrc has no extension */
	return lang;
}

/*
 * Code about to be written to `path` is judged as if it ran now, command by
 * command, with the Bash rules and the risk tier: a script that would
 * rm -rf / is no safer for being run later. For a file that runs by itself
 * (class autorun: shell startup files, cron, systemd units, git hooks) the
 * code's verdict counts in full; for any other program only a deny does,
 * since running it is a request of its own. Parse errors in the code (an
 * Edit's new text is a fragment) do not count. The code's verdict replaces
 * *out when it is more severe.
 */
static void judge_code(struct judge_ctx *j0, const char *path, const char *code,
		       struct lh_verdict *out)
{
	const struct lh_request *req = j0->req;
	const struct lh_policy *pol = j0->pol;
	struct lh_shell_env senv = { j0->env->home, j0->env->cwd, j0->env->user };
	struct lh_request as_bash;
	struct lh_script script;
	struct lh_verdict cv, v;
	struct judge_ctx j;
	enum lh_lang lang = code_lang(j0, path, code);
	int k, have = 0, full = runs_itself(j0, path);

	if (lang == LH_LANG_NONE || out->decision == LH_DENY)
		return;
	if (lh_shell_parse_code(&script, &j0->scratch->arena, lang, code, strlen(code),
				&senv) == -ENOMEM)
		return;
	/* judged as the Bash command it would be: raw and content rules see the code */
	as_bash = *req;
	as_bash.tool = (char *)"Bash";
	as_bash.input = (char *)code;
	as_bash.content = NULL;
	j = *j0;
	j.req = &as_bash;
	j.raw_memo = lh_arena_alloc(&j.scratch->arena, (size_t)pol->nrules + 1);
	if (j.raw_memo)
		memset(j.raw_memo, -1, (size_t)pol->nrules + 1);
	memset(&cv, 0, sizeof(cv));
	for (k = 0; k < script.ncmds; k++) {
		memset(&v, 0, sizeof(v));
		judge_cmd(&j, &script.cmds[k], &v);
		merge(&cv, &v, &have);
	}
	if (!have || (!full && cv.decision != LH_DENY) ||
	    lh_verdict_severity(&cv) <= lh_verdict_severity(out))
		return;
	v = cv;
	lh_verdict_set(out, cv.decision, cv.tier, cv.rule, "%s would run code that %s: %s", path,
		       cv.decision == LH_DENY ? "is denied" : "needs a look", cv.reason);
	out->escalate = v.escalate;
	out->risk = v.risk;
}

/* Write and Edit of a program: its content is judged as code (judge_code). */
static void judge_content(struct judge_ctx *j, struct lh_verdict *out)
{
	const struct lh_request *req = j->req;
	const char *path;

	if (!req->content || (strcmp(req->tool, "Write") && strcmp(req->tool, "Edit")))
		return;
	path = lh_path_resolve(&j->scratch->arena, req->input, j->env->cwd, j->env->home);
	if (path)
		judge_code(j, path, req->content, out);
}

/*
 * A shell command that writes text into a file that runs by itself --
 * echo 'curl x | sh' >> ~/.bashrc, cat <<EOF > .git/hooks/pre-push -- is
 * judged on that text as code, as a Write of it would be.
 */
static void judge_written_code(struct judge_ctx *j, const struct lh_scmd *c, struct lh_verdict *out)
{
	struct cmdinfo ci;
	const char *text = NULL;
	int k, first = 1;

	if (!c->nredirs)
		return;
	if (!strcmp(c->name, "echo") || !strcmp(c->name, "printf")) {
		size_t n = 0;
		char *t, *q;

		while (first < c->argc && c->argv[first][0] == '-' && !strcmp(c->name, "echo"))
			first++;
		for (k = first; k < c->argc; k++)
			n += strlen(c->argv[k]) + 1;
		t = lh_arena_alloc(&j->scratch->arena, n + 1);
		if (!t)
			return;
		for (q = t, k = first; k < c->argc; k++) {
			size_t l = strlen(c->argv[k]);

			memcpy(q, c->argv[k], l);
			q += l;
			*q++ = k + 1 < c->argc ? ' ' : '\n';
		}
		*q = '\0';
		text = t;
	} else if (!strcmp(c->name, "cat") || !strcmp(c->name, "tee")) {
		for (k = 0; k < c->nredirs; k++)
			if ((c->redirs[k].op == LH_REDIR_HEREDOC || c->redirs[k].op == LH_REDIR_HERESTR) &&
			    c->redirs[k].target)
				text = c->redirs[k].target;
	}
	if (!text || !text[0])
		return;
	memset(&ci, 0, sizeof(ci));
	ci.c = c;
	if (lh_cmdinfo_targets(j, &ci))
		return;
	for (k = 0; k < ci.ntargets; k++)
		if (runs_itself(j, ci.targets[k]))
			judge_code(j, ci.targets[k], text, out);
}

/*
 * A program downloaded earlier in the same request and then run
 * (curl -o i.sh URL && sh i.sh, wget URL/x.py; python3 x.py, ./i.sh):
 * the command that runs it gets the context LH_CTX_DOWNLOADED.
 */
static void mark_downloads(struct judge_ctx *j, struct lh_script *s)
{
	const struct wlist *fetchers = lh_policy_list(j->pol, "fetchers");
	const struct wlist *shells = lh_policy_list(j->pol, "shells");
	const struct wlist *interps = lh_policy_list(j->pol, "interpreters");
	const char *got[16];
	int ngot = 0, k, t;

	if (!fetchers)
		return;
	for (k = 0; k < s->ncmds; k++) {
		struct lh_scmd *c = &s->cmds[k];
		struct cmdinfo ci;

		memset(&ci, 0, sizeof(ci));
		ci.c = c;
		if (ngot && !lh_list_has(fetchers, c->name)) {
			const char *run = NULL;
			int unknown;

			if (strchr(c->argv[0], '/') && !(c->wflags[0] & LH_W_DYNAMIC)) {
				run = c->argv[0];
			} else if (lh_list_has(shells, c->name) || lh_list_has(interps, c->name) ||
				   !strcmp(c->name, "source") || !strcmp(c->name, ".")) {
				if (lh_cmdinfo_pos(j, &ci))
					return;
				if (ci.npos && !(ci.posf[0] & LH_W_DYNAMIC))
					run = ci.pos[0];
			}
			run = run ? resolve_cmd(j, c, run, &unknown) : NULL;
			for (t = 0; run && t < ngot; t++)
				if (!strcmp(run, got[t]))
					c->ctx |= LH_CTX_DOWNLOADED;
			continue;
		}
		if (!lh_list_has(fetchers, c->name) || lh_cmdinfo_targets(j, &ci))
			continue;
		for (t = 0; t < ci.ntargets && ngot < (int)(sizeof(got) / sizeof(got[0])); t++)
			got[ngot++] = ci.targets[t];
	}
}

void lh_policy_judge(const struct lh_policy *pol, const struct lh_request *req,
		     const struct lh_judge_env *env, struct lh_scratch *scratch,
		     struct lh_verdict *out)
{
	struct judge_ctx j;
	const struct ientry *te = index_find(&pol->by_tool, req->tool);
	int k, have = 0;

	memset(out, 0, sizeof(*out));
	out->cacheable = 1;
	lh_arena_clear(&scratch->arena);
	memset(&j, 0, sizeof(j));
	j.pol = pol;
	j.req = req;
	j.env = env;
	j.scratch = scratch;
	j.raw_memo = lh_arena_alloc(&scratch->arena, (size_t)pol->nrules + 1);
	if (j.raw_memo)
		memset(j.raw_memo, -1, (size_t)pol->nrules + 1);
	if (pol->ngates_cap) {
		/* without it every gate is open: slower, never wrong */
		j.gate_open = lh_arena_alloc(&scratch->arena, sizeof(*j.gate_open) * (size_t)(pol->nrules + 1));
		if (j.gate_open)
			memset(j.gate_open, 0, sizeof(*j.gate_open) * (size_t)(pol->nrules + 1));
	}

	if (strcmp(req->tool, "Bash")) {
		struct cmdinfo ci;

		memset(&ci, 0, sizeof(ci));
		if (!te) {
			/* a tool no rule names */
			if (judge_lists(&j, pol->any_tool, pol->nany_tool, 0, NULL, 0, &ci, out))
				goto done;
			lh_verdict_set(out, pol->unknown_tool, LH_TIER_DEFAULT, "",
				       "%sthe policy has no rules for tool '%s'",
				       pol->unknown_tool_esc ? ESCALATE_PREFIX : "", req->tool);
			out->escalate = (unsigned)pol->unknown_tool_esc;
			learned_override(&j, &ci, out);
			goto done;
		}
		if (!judge_lists(&j, te->rules, te->n, 0, NULL, 0, &ci, out))
			lh_risk_judge_file(&j, &ci, out);
		judge_content(&j, out);
		learned_override(&j, &ci, out);
		goto done;
	}

	{
		struct lh_shell_env senv = { env->home, env->cwd, env->user };
		struct lh_script script;
		struct lh_verdict v;
		int rc = lh_shell_parse(&script, &scratch->arena, req->input, strlen(req->input),
					&senv);

		if (rc == -ENOMEM || script.truncated) {
			lh_verdict_set(out, LH_DENY, LH_TIER_INPUT, "",
				       "command too complex to judge: %s",
				       script.error ? script.error : "out of memory");
			goto done;
		}
		mark_downloads(&j, &script);
		for (k = 0; k < script.ncmds; k++) {
			memset(&v, 0, sizeof(v));
			judge_cmd(&j, &script.cmds[k], &v);
			judge_written_code(&j, &script.cmds[k], &v);
			merge(out, &v, &have);
		}
		if (!script.ncmds) {
			struct lh_scmd none;
			static const char *argv0[] = { "", NULL };
			static const unsigned char wf0[] = { LH_W_DYNAMIC };
			struct cmdinfo ci;

			/* nothing runs (comments, assignments): only raw rules apply */
			memset(&none, 0, sizeof(none));
			none.argv = argv0;
			none.wflags = wf0;
			none.argc = 1;
			none.name = "";
			none.wrappers = "";
			memset(&ci, 0, sizeof(ci));
			ci.c = &none;
			memset(&v, 0, sizeof(v));
			if (!judge_lists(&j, NULL, 0, 0, pol->bash_generic, pol->nbash_generic, &ci, &v))
				lh_verdict_set(&v, LH_ALLOW, LH_TIER_RISK, "",
					       "nothing to run");
			merge(out, &v, &have);
		}
		if (script.error) {
			struct cmdinfo ci;

			memset(&v, 0, sizeof(v));
			lh_verdict_set(&v, pol->unparseable, LH_TIER_POLICY, "shell.unparseable",
				       "%scannot parse the command: %s",
				       pol->unparseable_esc ? ESCALATE_PREFIX : "", script.error);
			v.escalate = (unsigned)pol->unparseable_esc;
			memset(&ci, 0, sizeof(ci));
			learned_override(&j, &ci, &v);
			merge(out, &v, &have);
		}
	}
done:
	out->cacheable = 1;
}

/* ---- learned rules, escalation facts, what a request touches ------------------ */

int lh_policy_load_learned(struct lh_policy **out, const char *path, const char *learned,
			   size_t len, struct lh_buf *err)
{
	struct lh_policy *pol = xcalloc(1, sizeof(*pol));
	struct pstate ps;

	lh_buf_init(&pol->text, 0);
	pol->source = xstrdup(path ? path : "builtin:default");
	pol->unknown_tool = LH_ASK;
	pol->unparseable = LH_ASK;
	pol->risk_ask = 40;
	pol->risk_deny = 100;
	memset(&ps, 0, sizeof(ps));
	ps.pol = pol;
	ps.err = err;
	if (path) {
		ps.depth = -1;
		do_include(&ps, path, 0, path);
		ps.depth = 0;
	} else {
		compile_policy_text(&ps, "builtin:default", lh_default_policy, lh_default_policy_len);
	}
	if (!ps.nerrors && len) {
		ps.cur = NULL;
		ps.learned = 1;
		compile_policy_text(&ps, LH_LEARNED_NAME, learned, len);
	}
	if (!ps.nerrors)
		finish(&ps);
	if (ps.nerrors) {
		if (ps.nerrors > 50 && err)
			lh_buf_addf(err, "%d more errors\n", ps.nerrors - 50);
		lh_policy_free(pol);
		*out = NULL;
		return -EINVAL;
	}
	*out = pol;
	return 0;
}

int lh_policy_nlearned(const struct lh_policy *pol)
{
	return pol->nlearned;
}

void lh_policy_rule_info(const struct lh_policy *pol, const char *rule, int *quorum,
			 struct lh_buf *tags)
{
	int k, j;

	*quorum = pol->quorum ? pol->quorum : 1;
	if (!rule || !rule[0])
		return;
	for (k = 0; k < pol->nrules; k++) {
		const struct rule *r = &pol->rules[k];

		if (strcmp(r->id, rule))
			continue;
		if (r->quorum)
			*quorum = r->quorum;
		for (j = 0; tags && j < r->ntags; j++)
			lh_buf_addf(tags, "%s%s", tags->len ? " " : "", r->tags[j]);
		return;
	}
}

static int is_file_tool(const char *tool)
{
	static const char *const t[] = { "Read", "NotebookRead", "Write", "Edit", "MultiEdit",
					 "NotebookEdit", NULL };
	int k;

	for (k = 0; t[k]; k++)
		if (!strcmp(tool, t[k]))
			return 1;
	return 0;
}

static int is_write_tool(const char *tool)
{
	return is_file_tool(tool) && strcmp(tool, "Read") && strcmp(tool, "NotebookRead");
}

/* Prepare a judging context like lh_policy_judge does. */
static void judge_ctx_init(struct judge_ctx *j, const struct lh_policy *pol,
			   const struct lh_request *req, const struct lh_judge_env *env,
			   struct lh_scratch *scratch)
{
	lh_arena_clear(&scratch->arena);
	memset(j, 0, sizeof(*j));
	j->pol = pol;
	j->req = req;
	j->env = env;
	j->scratch = scratch;
	j->raw_memo = lh_arena_alloc(&scratch->arena, (size_t)pol->nrules + 1);
	if (j->raw_memo)
		memset(j->raw_memo, -1, (size_t)pol->nrules + 1);
}

static int in_secrets(struct judge_ctx *j, const char *path)
{
	const struct pclass *cl = lh_policy_class(j->pol, "secrets");

	return cl && lh_class_match(j->pol, cl, path, j->env);
}

void lh_policy_inspect(const struct lh_policy *pol, const struct lh_request *req,
		       const struct lh_judge_env *env, struct lh_scratch *scratch,
		       lh_touch_fn fn, void *arg)
{
	struct judge_ctx j;
	struct lh_script script;
	struct lh_shell_env senv = { env->home, env->cwd, env->user };
	int k, x;

	judge_ctx_init(&j, pol, req, env, scratch);
	if (strcmp(req->tool, "Bash")) {
		struct cmdinfo ci;

		fn(arg, LH_TOUCH_COMMAND, req->tool, 0);
		if (!is_file_tool(req->tool))
			return;
		memset(&ci, 0, sizeof(ci));
		if (lh_cmdinfo_paths(&j, &ci) || !ci.npaths)
			return;
		fn(arg, is_write_tool(req->tool) ? LH_TOUCH_WRITE : LH_TOUCH_READ, ci.paths[0],
		   in_secrets(&j, ci.paths[0]));
		return;
	}
	if (lh_shell_parse(&script, &scratch->arena, req->input, strlen(req->input), &senv) == -ENOMEM)
		return;
	for (k = 0; k < script.ncmds; k++) {
		struct cmdinfo ci;

		memset(&ci, 0, sizeof(ci));
		ci.c = &script.cmds[k];
		if (ci.c->name[0])
			fn(arg, LH_TOUCH_COMMAND, ci.c->name, 0);
		if (lh_cmdinfo_paths(&j, &ci) || lh_cmdinfo_targets(&j, &ci))
			continue;
		for (x = 0; x < ci.ntargets; x++)
			fn(arg, LH_TOUCH_WRITE, ci.targets[x], in_secrets(&j, ci.targets[x]));
		for (x = 0; x < ci.npaths; x++) {
			int y, written = 0;

			for (y = 0; y < ci.ntargets; y++)
				if (!strcmp(ci.paths[x], ci.targets[y]))
					written = 1;
			if (!written)
				fn(arg, LH_TOUCH_READ, ci.paths[x], in_secrets(&j, ci.paths[x]));
		}
	}
}

/* ---- writing learned rules ------------------------------------------------------- */

#define LEARN_EXACT_MAX (256 * 1024)	/* bytes of request text an exact rule may hold */

/*
 * A literal for a PCRE2 expression on a verbatim line: metacharacters
 * escaped, control characters as \xHH. (A blank stays: the expressions
 * end in \z, so no blank is at the end of a line to be trimmed.)
 */
static void re_escape(struct lh_buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c < 0x7f && strchr("\\^$.|?*+()[]{}", c))
			lh_buf_addf(b, "\\%c", c);
		else if (c >= 0x20 && c != 0x7f)
			lh_buf_addc(b, (char)c);
		else
			lh_buf_addf(b, "\\x%02X", c);
	}
}

/* A literal glob: the pattern characters escaped. */
static void glob_escape(struct lh_buf *b, const char *s)
{
	for (; *s; s++) {
		if (strchr("*?[]{}\\", *s))
			lh_buf_addc(b, '\\');
		lh_buf_addc(b, *s);
	}
}

/* One word of a policy line, quoted when it must be. */
static void policy_word(struct lh_buf *b, const char *w)
{
	const char *p;

	if (w[0] && w[0] != '#' && !strpbrk(w, " \t'\"")) {
		lh_buf_adds(b, w);
		return;
	}
	lh_buf_addc(b, '"');
	for (p = w; *p; p++) {
		if (*p == '"' || *p == '\\')
			lh_buf_addc(b, '\\');
		lh_buf_addc(b, *p);
	}
	lh_buf_addc(b, '"');
}

/* Text for one line: control characters become blanks. */
static void one_line(struct lh_buf *b, const char *s, size_t max)
{
	size_t n = 0;

	for (; *s && n < max; s++, n++)
		lh_buf_addc(b, (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s);
}

static void learn_head(struct lh_buf *out, const struct lh_learn *l, const char *id,
		       const char *kind, const struct lh_buf *classes)
{
	const char *c = l->comment ? l->comment : "";

	lh_buf_addc(out, '\n');
	while (*c) {
		size_t n = strcspn(c, "\n");
		char line[1024];

		snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) - 1 ? n : sizeof(line) - 1), c);
		lh_buf_adds(out, "# ");
		one_line(out, line, sizeof(line));
		lh_buf_addc(out, '\n');
		c += n;
		if (*c)
			c++;
	}
	if (classes)
		lh_buf_add(out, classes->data, classes->len);
	lh_buf_addf(out, "rule %s %s\n  priority %d\n  tags learned %s", id,
		    lh_decision_name(l->decision), l->priority, kind);
	if (l->tags && l->tags[0]) {
		lh_buf_addc(out, ' ');
		one_line(out, l->tags, 512);
	}
	lh_buf_addc(out, '\n');
}

static void learn_reason(struct lh_buf *out, const struct lh_learn *l)
{
	lh_buf_adds(out, "  reason ");
	one_line(out, l->reason && l->reason[0] ? l->reason : "decided before", LH_REASON_MAX);
	lh_buf_addc(out, '\n');
}

static int learn_exact(const struct lh_request *req, const struct lh_judge_env *env,
		       const struct lh_learn *l, struct lh_buf *out, struct lh_buf *err)
{
	if (strlen(req->input) + (req->content ? strlen(req->content) : 0) > LEARN_EXACT_MAX) {
		lh_buf_addf(err, "the request is too large to remember exactly (more than %d bytes)",
			    LEARN_EXACT_MAX);
		return -E2BIG;
	}
	learn_head(out, l, l->id, "exact", NULL);
	lh_buf_adds(out, "  tool ");
	policy_word(out, req->tool);
	lh_buf_adds(out, "\n  raw ^");
	re_escape(out, req->input);
	lh_buf_adds(out, "\\z\n");
	if (req->content && is_write_tool(req->tool)) {
		lh_buf_adds(out, "  content ^");
		re_escape(out, req->content);
		lh_buf_adds(out, "\\z\n");
	}
	if (env->cwd) {
		struct lh_buf g = LH_BUF_INIT;

		glob_escape(&g, env->cwd);
		lh_buf_adds(out, "  cwd ");
		policy_word(out, g.data);
		lh_buf_addc(out, '\n');
		lh_buf_release(&g);
	}
	learn_reason(out, l);
	return 0;
}

/*
 * Where a pattern lets the command work: the project, when every path is
 * in it; else the deepest folder the paths share, unless that is / or the
 * home folder; else those very paths. Writes the class line (when one is
 * needed) to `classes` and the pattern word to `place`.
 */
static void learn_place(struct judge_ctx *j, const char **paths, int n, const char *cls,
			struct lh_buf *classes, struct lh_buf *place)
{
	const struct lh_judge_env *env = j->env;
	char common[4096];
	size_t cl = 0;
	int k, in_project = env->project != NULL;

	for (k = 0; k < n && in_project; k++)
		if (!lh_path_within(paths[k], env->project))
			in_project = 0;
	if (in_project) {
		lh_buf_adds(place, "@project");
		return;
	}
	for (k = 0; k < n; k++) {
		const char *p = paths[k], *slash = strrchr(p, '/');
		size_t dl = slash && slash != p ? (size_t)(slash - p) : 1, i = 0;

		if (dl >= sizeof(common))
			dl = sizeof(common) - 1;
		if (k == 0) {
			memcpy(common, p, dl);
			common[dl] = '\0';
			cl = dl;
			continue;
		}
		/* the longest common prefix that ends at a folder boundary */
		while (i < cl && i < dl && common[i] == p[i])
			i++;
		if (i == cl && (i == dl || p[i] == '/'))
			continue;
		if (i == dl && common[i] == '/') {
			cl = dl;
		} else {
			while (i > 0 && common[i] != '/')
				i--;
			cl = i ? i : 1;
		}
		common[cl] = '\0';
	}
	common[cl] = '\0';
	lh_buf_addf(classes, "class %s", cls);
	if (cl > 1 && !(env->home && !strcmp(common, env->home))) {
		struct lh_buf g = LH_BUF_INIT;

		glob_escape(&g, common);
		lh_buf_adds(&g, "/**");
		lh_buf_addc(classes, ' ');
		policy_word(classes, g.data);
		lh_buf_release(&g);
	} else {
		for (k = 0; k < n; k++) {
			struct lh_buf g = LH_BUF_INIT;

			glob_escape(&g, paths[k]);
			lh_buf_addc(classes, ' ');
			policy_word(classes, g.data);
			lh_buf_release(&g);
		}
	}
	lh_buf_addc(classes, '\n');
	lh_buf_addf(place, "@%s", cls);
}

/* a subcommand or object word: letters, digits, '.', '_', '-', not a path */
static int word_like(const char *w)
{
	const char *p;

	if (!((w[0] >= 'a' && w[0] <= 'z') || (w[0] >= '0' && w[0] <= '9')))
		return 0;
	for (p = w; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return 0;
	return 1;
}

/* One pattern rule for the simple command c (its cmdinfo ci). */
static void learn_cmd_pattern(struct judge_ctx *j, struct cmdinfo *ci, const struct lh_learn *l,
			      const char *id, struct lh_buf *out)
{
	const struct lh_scmd *c = ci->c;
	struct lh_buf classes = LH_BUF_INIT, body = LH_BUF_INIT, place = LH_BUF_INIT, g = LH_BUF_INIT;
	char cls[LH_RULE_MAX + 48];
	int k, nopts = 0;

	lh_cmdinfo_pos(j, ci);
	lh_cmdinfo_paths(j, ci);
	lh_cmdinfo_outs(j, ci);
	glob_escape(&g, c->name);
	lh_buf_adds(&body, "  command ");
	policy_word(&body, g.data);
	lh_buf_addc(&body, '\n');
	if (ci->npos >= 1 && !(ci->posf[0] & LH_W_DYNAMIC) && word_like(ci->pos[0])) {
		lh_buf_reset(&g);
		glob_escape(&g, ci->pos[0]);
		lh_buf_adds(&body, "  subcommand ");
		policy_word(&body, g.data);
		lh_buf_addc(&body, '\n');
		if (ci->npos >= 2 && !(ci->posf[1] & LH_W_DYNAMIC) && word_like(ci->pos[1])) {
			lh_buf_reset(&g);
			glob_escape(&g, ci->pos[1]);
			lh_buf_adds(&body, "  arg ");
			policy_word(&body, g.data);
			lh_buf_addc(&body, '\n');
		}
	}
	/* its options, no others: every other word is an operand */
	lh_buf_adds(&body, "  match ^[^ ]+(?: (?:");
	for (k = 1; k < c->argc; k++) {
		const char *a = c->argv[k], *eq;

		if (!strcmp(a, "--"))
			break;
		if (a[0] != '-' || !a[1])
			continue;
		lh_buf_adds(&body, nopts++ ? "|" : "");
		eq = strchr(a, '=');
		if (eq) {
			char *name = xstrndup(a, (size_t)(eq - a) + 1);

			re_escape(&body, name);
			lh_buf_adds(&body, "[^ ]*");
			free(name);
		} else {
			re_escape(&body, a);
		}
	}
	lh_buf_addf(&body, "%s[^- ][^ ]*|-|--))*$\n", nopts ? "|" : "");
	snprintf(cls, sizeof(cls), "%.60s.places", id);
	if (ci->npaths) {
		learn_place(j, ci->paths, ci->npaths, cls, &classes, &place);
		lh_buf_addf(&body, "  not path !%s\n", place.data);
	}
	if (ci->nouts) {
		lh_buf_reset(&place);
		snprintf(cls, sizeof(cls), "%.60s.outputs", id);
		learn_place(j, ci->outs, ci->nouts, cls, &classes, &place);
		lh_buf_addf(&body, "  not redirect !%s\n", place.data);
	}
	learn_head(out, l, id, "pattern", &classes);
	lh_buf_add(out, body.data, body.len);
	learn_reason(out, l);
	lh_buf_release(&classes);
	lh_buf_release(&body);
	lh_buf_release(&place);
	lh_buf_release(&g);
}

int lh_policy_learn(const struct lh_policy *pol, const struct lh_request *req,
		    const struct lh_judge_env *env, struct lh_scratch *scratch,
		    const struct lh_learn *l, struct lh_buf *out, struct lh_buf *err)
{
	struct judge_ctx j;
	int k, n = 0;

	if (!l->pattern)
		return learn_exact(req, env, l, out, err);
	judge_ctx_init(&j, pol, req, env, scratch);
	if (strcmp(req->tool, "Bash")) {
		struct lh_buf classes = LH_BUF_INIT, place = LH_BUF_INIT;
		struct cmdinfo ci;
		char cls[LH_RULE_MAX + 48];

		memset(&ci, 0, sizeof(ci));
		snprintf(cls, sizeof(cls), "%.60s.places", l->id);
		if (is_file_tool(req->tool) && !lh_cmdinfo_paths(&j, &ci) && ci.npaths)
			learn_place(&j, ci.paths, ci.npaths, cls, &classes, &place);
		learn_head(out, l, l->id, "pattern", &classes);
		lh_buf_adds(out, "  tool ");
		policy_word(out, req->tool);
		lh_buf_addc(out, '\n');
		if (place.len)
			lh_buf_addf(out, "  not path !%s\n", place.data);
		learn_reason(out, l);
		lh_buf_release(&classes);
		lh_buf_release(&place);
		return 0;
	}
	{
		struct lh_shell_env senv = { env->home, env->cwd, env->user };
		struct lh_script script;
		int rc = lh_shell_parse(&script, &scratch->arena, req->input, strlen(req->input),
					&senv);

		if (rc == -ENOMEM || script.truncated || script.error)
			return learn_exact(req, env, l, out, err);
		mark_downloads(&j, &script);
		for (k = 0; k < script.ncmds; k++) {
			struct lh_verdict v;
			struct cmdinfo ci;
			char id[LH_RULE_MAX + 16];

			memset(&v, 0, sizeof(v));
			judge_cmd(&j, &script.cmds[k], &v);
			if (!v.escalate || !script.cmds[k].name[0])
				continue;
			if (n)
				snprintf(id, sizeof(id), "%.*s.%d", LH_RULE_MAX - 8, l->id, (n + 1) % 1000);
			else
				snprintf(id, sizeof(id), "%s", l->id);
			memset(&ci, 0, sizeof(ci));
			ci.c = &script.cmds[k];
			learn_cmd_pattern(&j, &ci, l, id, out);
			n++;
		}
	}
	if (!n)
		return learn_exact(req, env, l, out, err);
	return 0;
}

/*
 * interp.h -- seeing into interpreter code: python -c, perl -e, ruby -e,
 * node -e, php -r, awk programs, and the scripts fed to them through
 * here-documents, here-strings and pipes.
 *
 * The scanner does not run or fully parse the code. It finds the calls a
 * guard must judge -- running a shell command or a program, deleting a
 * file or a tree, opening a file for writing, evaluating a string as code
 * -- and reports each as an action with the arguments it could read. The
 * shell parser (shell.c) turns the actions into simple commands: a shell
 * string is parsed as shell, rmtree(p) becomes `rm -rf -- p`, open(p,
 * "w") becomes a redirection into p, so the policy's rules and the risk
 * tier judge them like any other command.
 *
 * Parts of an argument that are not literal (a variable, a call, an
 * f-string field) are replaced by LH_INTERP_DYN, which the shell parser
 * turns into a run-time word. The names are found wherever they occur in
 * the code, inside strings and comments too: a tokenizer that can be
 * fooled (perl regexes, nested quotes) is an evasion, and a false match
 * only makes the guard look closer.
 *
 * Bounded: at most LH_INTERP_MAX_ACTS actions and LH_INTERP_MAX_ARGS
 * arguments per call; every string lives in the caller's arena.
 */
#ifndef LH_INTERP_H
#define LH_INTERP_H

#include <stddef.h>

struct lh_arena;

#define LH_INTERP_DYN '\x05'	/* stands for a part known only at run time */
#define LH_INTERP_MAX_ACTS 256	/* actions reported per scan */
#define LH_INTERP_MAX_ARGS 16	/* arguments read per call, items per list */

enum lh_lang {
	LH_LANG_NONE = 0,
	LH_LANG_SHELL,
	LH_LANG_PYTHON,
	LH_LANG_PERL,
	LH_LANG_RUBY,
	LH_LANG_NODE,
	LH_LANG_PHP,
	LH_LANG_AWK,
	LH_LANG_CRON,		/* a crontab: schedule fields, then a shell command (shell.c) */
};

enum lh_interp_kind {
	LH_INTERP_SHELL,	/* runs a shell command line: os.system("...") */
	LH_INTERP_ARGV,		/* runs a program: subprocess.run(["rm", "x"]) */
	LH_INTERP_DELETE,	/* deletes a file: os.remove(p) */
	LH_INTERP_RMTREE,	/* deletes a tree: shutil.rmtree(p) */
	LH_INTERP_WRITE,	/* opens a file for writing: open(p, "w") */
	LH_INTERP_CHMOD,	/* changes a file's mode: os.chmod(p, m) */
	LH_INTERP_CODE,		/* runs more code of the same language: exec("...") */
};

struct lh_interp_act {
	enum lh_interp_kind kind;
	const char *const *argv; /* ARGV: the words; CHMOD: { mode, path } */
	int argc;
	const char *text;	/* SHELL: the line; DELETE, RMTREE, WRITE: the path; CODE: code */
	const char *call;	/* the name that was called, for reasons */
};

typedef void (*lh_interp_fn)(void *arg, const struct lh_interp_act *act);

/* The language of a command name (python3.11, perl5.36, nodejs, gawk...). */
enum lh_lang lh_interp_lang(const char *name);

/*
 * The language of a file about to be written, from its name (.sh, .py,
 * .pl, .rb, .js, .php, .awk...) or its first line (#!/bin/sh,
 * #!/usr/bin/env python3). LH_LANG_NONE when it is no program we read.
 */
enum lh_lang lh_interp_file_lang(const char *path, const char *content);

/*
 * Scan code[0..n) of `lang` (not LH_LANG_SHELL) and call fn for each
 * action, in source order. Returns 0, or -ENOMEM when the arena is full.
 */
int lh_interp_scan(struct lh_arena *a, enum lh_lang lang, const char *code, size_t n,
		   lh_interp_fn fn, void *arg);

#endif

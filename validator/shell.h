/*
 * shell.h -- parse a shell command the way bash would, for judging it.
 *
 * The parser turns a command line into the flat list of simple commands it
 * would run: argv after quote removal and the expansions we can know,
 * redirections, and the context each command runs in (piped from what,
 * under which privilege wrapper, inside a substitution, how deeply nested).
 * Wrappers are seen through: `sudo env X=1 nice bash -c 'rm -rf ~'` yields
 * one simple command, `rm -rf /home/alice`, with the context "sudo" and
 * depth 1. A `cd` moves the commands after it, within the shell that ran
 * it: `cd / && rm -rf *` is judged as a recursive delete of every entry of
 * the root. Control structures (if, while, for, case, functions, groups,
 * subshells) are flattened: every command in them is listed, whether or not
 * it would run, because a guard must judge what *could* run.
 *
 * Everything is allocated in the caller's arena; a parse never calls
 * malloc directly and is bounded by the arena's limit, LH_SHELL_MAX_DEPTH
 * and LH_SHELL_MAX_CMDS. On malformed input the commands parsed so far are
 * kept and `error` says what went wrong; the caller decides the verdict.
 */
#ifndef LH_SHELL_H
#define LH_SHELL_H

#include <stddef.h>

struct lh_arena;

#define LH_SHELL_MAX_DEPTH 16	/* nested -c strings, substitutions, subshells */
#define LH_SHELL_MAX_CMDS 2048	/* simple commands in one request */
#define LH_SHELL_MAX_WORDS 8192	/* words in one request */

enum lh_redir_op {
	LH_REDIR_OUT,		/* >, >|, &> */
	LH_REDIR_APPEND,	/* >>, &>> */
	LH_REDIR_IN,		/* < */
	LH_REDIR_RW,		/* <> */
	LH_REDIR_DUP,		/* n>&m, n<&m */
	LH_REDIR_HEREDOC,	/* << and <<- (target is the body) */
	LH_REDIR_HERESTR,	/* <<< (target is the string) */
};

struct lh_redir {
	enum lh_redir_op op;
	int fd;			/* redirected fd; -1 for &> (both 1 and 2) */
	const char *target;	/* decoded word, or the here-doc body */
	unsigned dynamic : 1;	/* target contains an expansion we cannot know */
};

/* Word flags. */
#define LH_W_DYNAMIC 0x01	/* contains $(...), unknown $VAR, `...` */
#define LH_W_GLOB 0x02		/* contains unquoted * ? [ */
#define LH_W_QUOTED 0x04	/* some part was quoted or escaped */
#define LH_W_PROCSUB 0x08	/* is a process substitution <(...) >(...) */
#define LH_W_ESCAPED 0x10	/* spelled with numeric escapes: $'\x72\x6d' */

/* Command context flags. */
#define LH_CTX_PIPE_IN 0x001	/* stdin comes from a pipe */
#define LH_CTX_PIPE_OUT 0x002	/* stdout goes into a pipe */
#define LH_CTX_BACKGROUND 0x004	/* run with & */
#define LH_CTX_SUBST 0x008	/* inside $(...), `...`, <(...) */
#define LH_CTX_PRIV 0x010	/* under sudo, doas, su, pkexec, runuser */
#define LH_CTX_SUBSHELL 0x020	/* inside ( ... ) */
#define LH_CTX_DEFINITION 0x040	/* inside a function body or alias value */
#define LH_CTX_REMOTE 0x080	/* runs on another host (ssh host CMD) */
#define LH_CTX_STRING 0x100	/* came from a -c string, eval or watch */
#define LH_CTX_EXEC 0x200	/* run by find -exec, xargs or parallel */
#define LH_CTX_STDIN_SCRIPT 0x400	/* a here-doc or here-string fed to a shell */
#define LH_CTX_INTERP 0x800	/* found in interpreter code (python -c, perl -e...) */
#define LH_CTX_DOWNLOADED 0x1000	/* runs a file downloaded earlier in the request
					   (set by the policy, which knows the fetchers) */
#define LH_CTX_RUNTIME_CODE 0x2000	/* a shell, interpreter or eval given code that is
					   known only at run time (sh -c "$X", eval "$X") */

struct lh_scmd {
	const char **argv;	/* decoded words; argv[argc] == NULL */
	const unsigned char *wflags; /* LH_W_* per word */
	int argc;		/* >= 1 */
	const char *name;	/* basename of argv[0]; "" if it is dynamic */
	struct lh_redir *redirs;
	int nredirs;
	const char *pipe_from;	/* name of the command feeding stdin, or NULL */
	const char *wrappers;	/* wrappers seen through, space separated, or "" */
	unsigned ctx;		/* LH_CTX_* */
	int depth;		/* 0 at top level, +1 per nesting */
	const char *cwd;	/* where it runs when a cd earlier in the request moved
				   there (absolute); "" when that place is known only at
				   run time; NULL: the request's cwd */
};

struct lh_shell_env {
	const char *home;	/* value of ~ and $HOME */
	const char *cwd;	/* value of $PWD; NULL if unknown */
	const char *user;	/* value of $USER; NULL if unknown */
};

struct lh_script {
	struct lh_scmd *cmds;	/* in source order */
	int ncmds;
	int cap;
	const char *error;	/* why parsing stopped early, or NULL */
	unsigned truncated : 1;	/* a limit was hit */
	int max_depth;		/* deepest nesting seen */
	int nwords;		/* words decoded */
};

/*
 * Parse src[0..len). Returns 0, or -ENOMEM when the arena's bound was hit
 * (script->error says so too). A syntax error is not a failure of the call:
 * it returns 0 with script->error set.
 */
int lh_shell_parse(struct lh_script *script, struct lh_arena *arena,
		   const char *src, size_t len, const struct lh_shell_env *env);

/*
 * Parse the code of a program file in language `lang` (an enum lh_lang of
 * interp.h): shell code as lh_shell_parse does, an interpreter's code into
 * the commands it runs, deletes and writes (context LH_CTX_INTERP).
 */
int lh_shell_parse_code(struct lh_script *script, struct lh_arena *arena, int lang,
			const char *src, size_t len, const struct lh_shell_env *env);

/* Basename of a command word: "/usr/bin/rm" -> "rm". */
const char *lh_shell_basename(const char *word);

#endif

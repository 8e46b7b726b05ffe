/*
 * policy_int.h -- the inside of a compiled policy, shared by policy.c (the
 * language and the rule tier) and risk.c (the risk tier). Nothing outside
 * validator/ includes this.
 */
#ifndef LH_POLICY_INT_H
#define LH_POLICY_INT_H

#include <stdint.h>

#include "validator/policy.h"
#include "validator/shell.h"

struct lh_request;

#include "validator/path.h"

/* A named class of path patterns; "!pattern" entries exclude. */
struct pclass {
	char *name;
	char **pats;
	int npats;
	int builtin;		/* BUILTIN_* for the dynamic classes, else 0 */
	struct lh_pathpat *pp;	/* pats prepared (after the ! of an exclusion), when compiled */
	uint16_t *key;		/* and their keys (lh_pathpat_key), @-references LH_PATHKEY_ANY */
};

enum {
	BUILTIN_NONE,
	BUILTIN_PROJECT,	/* @project: inside the project */
	BUILTIN_PROJECT_ROOT,	/* @project-root: the project directory itself */
	BUILTIN_CWD,		/* @cwd: inside the request's cwd */
	BUILTIN_HOME,		/* @home: the home directory itself */
};

struct wlist {
	char *name;
	char **words;
	int nwords;
	int *slots;			/* open-addressing set of word indexes + 1 (0: empty) */
	size_t nslots;			/* power of two, built when the policy is finished */
};

/* What the tiers know about one simple command, computed on demand. */
struct cmdinfo {
	const struct lh_scmd *c;	/* NULL for a non-Bash tool */
	int have_pos;
	const char **pos;		/* positional words (not flags) after argv[0] */
	unsigned char *posf;		/* their LH_W_* flags */
	int npos;
	int have_paths;
	const char **paths;		/* resolved positional words and input redirections */
	int npaths;
	int ndynamic;			/* positional words with unknown expansions */
	int have_outs;
	const char **outs;		/* resolved output redirection targets */
	int nouts;
	int ndyn_outs;			/* output redirections to run-time targets */
	int have_targets;
	const char **targets;		/* files the command writes (lh_cmdinfo_targets) */
	int ntargets;
	int ndyn_targets;		/* of them, known only at run time */
	int dest_kind;			/* DEST_* of the command */
	int have_sub;
	const char *sub;		/* subcommand (git push -> "push"), or NULL */
	const char *text;		/* argv joined by spaces */
	const char *hit;		/* the path or word a condition matched, for {path} */
};

struct judge_ctx {
	const struct lh_policy *pol;
	const struct lh_request *req;
	const struct lh_judge_env *env;
	struct lh_scratch *scratch;
	signed char *raw_memo;		/* per rule: -1 not run, 0/1 result of raw conditions */
	uint32_t *gate_open;		/* per rule: == gate_gen when its gate is open */
	uint32_t gate_gen;		/* bumped for every command judged */
};

/* How a command names the files it writes (besides redirections). */
enum {
	DEST_NONE,			/* no destination arguments */
	DEST_LAST,			/* cp mv ln install rsync scp: the last argument, or -t DIR */
	DEST_ALL,			/* tee sponge: every argument */
	DEST_OPTION,			/* dd of=, curl -o, wget -O, tar -C, unzip -d */
};

/* policy.c */
int lh_class_match(const struct lh_policy *pol, const struct pclass *cl, const char *path,
		   const struct lh_judge_env *env);
const struct pclass *lh_policy_class(const struct lh_policy *pol, const char *name);
const struct wlist *lh_policy_list(const struct lh_policy *pol, const char *name);
int lh_list_has(const struct wlist *l, const char *word);
int lh_cmdinfo_paths(struct judge_ctx *j, struct cmdinfo *ci);
int lh_cmdinfo_outs(struct judge_ctx *j, struct cmdinfo *ci);
int lh_cmdinfo_targets(struct judge_ctx *j, struct cmdinfo *ci);
int lh_cmdinfo_pos(struct judge_ctx *j, struct cmdinfo *ci);
int lh_policy_risk_ask(const struct lh_policy *pol);
int lh_policy_risk_deny(const struct lh_policy *pol);
int lh_policy_risk_escalate(const struct lh_policy *pol);

/* risk.c: score one command no rule decided; fills the verdict. */
void lh_risk_judge_cmd(struct judge_ctx *j, struct cmdinfo *ci, struct lh_verdict *v);
/* risk.c: score a file tool request (Read/Write/Edit...) no rule decided. */
void lh_risk_judge_file(struct judge_ctx *j, struct cmdinfo *ci, struct lh_verdict *v);

#endif

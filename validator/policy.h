/*
 * policy.h -- the rule language of lighthouse-policy(5): parsed and
 * compiled once, then judged against requests by many threads at once.
 *
 * A compiled policy is immutable; judging it needs only per-thread scratch
 * space (struct lh_scratch). Reload builds a new policy and swaps it in
 * (validator.c), so every request is judged by exactly one whole policy.
 */
#ifndef LH_POLICY_H
#define LH_POLICY_H

#include <stddef.h>

#include "common/arena.h"
#include "validator/verdict.h"

struct lh_buf;
struct lh_request;
struct lh_policy;

/* The environment a request is judged in. */
struct lh_judge_env {
	const char *cwd;	/* the request's working directory (absolute) */
	const char *home;	/* the caller's home directory */
	const char *user;	/* the caller's user name, or NULL */
	const char *project;	/* the project root (absolute) */
};

/* Per-thread working memory for judging: reused request after request. */
struct lh_scratch {
	struct lh_arena arena;
	void *match_data;	/* pcre2_match_data_8 */
};

void lh_scratch_init(struct lh_scratch *s);
void lh_scratch_release(struct lh_scratch *s);

/*
 * Compile policy text. `name` is used in messages ("name:line: message").
 * Includes are resolved relative to `name`'s directory. On error returns
 * -EINVAL with every message, one per line, appended to err.
 */
int lh_policy_compile(struct lh_policy **out, const char *name, const char *text,
		      size_t len, struct lh_buf *err);
int lh_policy_load(struct lh_policy **out, const char *path, struct lh_buf *err);
int lh_policy_builtin(struct lh_policy **out, struct lh_buf *err);
void lh_policy_free(struct lh_policy *pol);

const char *lh_policy_source(const struct lh_policy *pol);
int lh_policy_nrules(const struct lh_policy *pol);
/* The policy as loaded (includes expanded), for policy/active. */
const char *lh_policy_text(const struct lh_policy *pol, size_t *len);

/* Judge a parsed, valid request. The verdict is always filled in. */
void lh_policy_judge(const struct lh_policy *pol, const struct lh_request *req,
		     const struct lh_judge_env *env, struct lh_scratch *scratch,
		     struct lh_verdict *out);

/* ---- escalation and learned rules -------------------------------------------- */

#define LH_QUORUM_MAX 16		/* experts who must agree, at most */
#define LH_LEARNED_PREFIX "learned."	/* the ids of learned rules, and only theirs */
#define LH_LEARNED_NAME "policy/learned"	/* learned rules' file name in messages */

/*
 * A policy (the file at `path`, or the built-in one when NULL) with learned
 * rules added: `learned` is policy text of `rule learned.ID ACTION` and
 * `class` statements. A learned rule is tried only where a verdict would
 * escalate, and replaces that verdict (tier learned). -EINVAL with
 * messages in err, as lh_policy_load.
 */
int lh_policy_load_learned(struct lh_policy **out, const char *path, const char *learned,
			   size_t len, struct lh_buf *err);
int lh_policy_nlearned(const struct lh_policy *pol);

/*
 * What an escalation by `rule` ("" for the risk tier) needs: how many
 * experts must agree (its `quorum`, else `set quorum`, else 1) and the
 * rule's tags (space separated, appended to tags when not NULL).
 */
void lh_policy_rule_info(const struct lh_policy *pol, const char *rule, int *quorum,
			 struct lh_buf *tags);

/* What a request touches, for an escalation's context. */
enum lh_touch { LH_TOUCH_COMMAND, LH_TOUCH_READ, LH_TOUCH_WRITE };
typedef void (*lh_touch_fn)(void *arg, enum lh_touch kind, const char *what, int secret);

/*
 * Call fn for each command the request runs (its name; the tool for other
 * tools) and each path it reads or writes, resolved; `secret` when the
 * path is in class secrets.
 */
void lh_policy_inspect(const struct lh_policy *pol, const struct lh_request *req,
		       const struct lh_judge_env *env, struct lh_scratch *scratch,
		       lh_touch_fn fn, void *arg);

/* A decision to remember as a rule. */
struct lh_learn {
	const char *id;			/* "learned.4711"; further rules of a pattern get .2, .3 */
	enum lh_decision decision;
	int pattern;			/* 0: the exact request; 1: its pattern */
	int priority;			/* the rules' priority among learned rules */
	const char *comment;		/* lines written above the rule (who, when, what) */
	const char *reason;		/* the reason of the verdicts the rule gives */
	const char *tags;		/* more tags, space separated, or NULL */
};

/*
 * Append to `out` the policy text of the learned rule(s) for a request
 * (lighthouse-policy(5), "Learned rules"): exact -- the tool, the input
 * as written, the content for writes, and the working directory; pattern
 * -- for each simple command that escalates: its name, subcommand, the
 * options it used and where its paths lie (other tools: the tool and where
 * its file lies). 0, or -errno with the reason in err.
 */
int lh_policy_learn(const struct lh_policy *pol, const struct lh_request *req,
		    const struct lh_judge_env *env, struct lh_scratch *scratch,
		    const struct lh_learn *l, struct lh_buf *out, struct lh_buf *err);

/* The text of the built-in default policy (validator/default.policy). */
extern const char lh_default_policy[];
extern const size_t lh_default_policy_len;

#endif

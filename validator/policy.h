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

/* The text of the built-in default policy (validator/default.policy). */
extern const char lh_default_policy[];
extern const size_t lh_default_policy_len;

#endif

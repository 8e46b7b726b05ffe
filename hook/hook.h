/*
 * hook.h -- lighthouse-hook: an agent's pre-tool hook in, a Lighthouse
 * verdict out, in the agent's own hook protocol.
 *
 * The room has three parts:
 *
 *   agent.c    the protocols: which agent sent a payload, how it becomes
 *              the Claude-shaped request lighthoused reads, and how a
 *              verdict is answered (exit status, stdout, stderr) to each
 *              agent (see /work/shared/AGENT-HOOKS.md and lighthouse-hook(1))
 *   submit.c   one round trip through the mount, under a deadline, in a
 *              child process so that a daemon that never answers cannot
 *              hold the agent
 *   lighthouse-hook.c   options, reading stdin, putting the two together
 *
 * It links Jansson and common/ and nothing else: no validator, no SQLite,
 * no FUSE. The judging happens in the daemon.
 */
#ifndef LH_HOOK_H
#define LH_HOOK_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct lh_buf;

enum lh_agent {
	LH_AGENT_UNKNOWN,
	LH_AGENT_CLAUDE,
	LH_AGENT_CODEX,
	LH_AGENT_GEMINI,
	LH_AGENT_CURSOR,
};

/* "claude", "codex", "gemini", "cursor" (and "unknown"). */
const char *lh_agent_name(enum lh_agent a);
/* The agent called `name`; 0 or -EINVAL. */
int lh_agent_parse(const char *name, enum lh_agent *out);
/* Who sent this payload, from the fields it has; LH_AGENT_UNKNOWN if unsure. */
enum lh_agent lh_agent_detect(json_t *payload);

#define LH_HOOK_MAX_REQUESTS 64		/* files of one Codex patch, at most */

/*
 * What to submit for one hook call: usually one request; a Codex patch
 * that touches several files is one request per file (most severe wins).
 */
struct lh_hook_req {
	const char *data;		/* the request bytes (points into raw or owned) */
	size_t len;
	char *owned;			/* freed by lh_hook_reqs_release */
};

struct lh_hook_reqs {
	struct lh_hook_req r[LH_HOOK_MAX_REQUESTS];
	size_t n;
	char tool[128];			/* the tool as the daemon sees it, for messages */
};

/*
 * Turn the payload into what lighthoused reads. `raw` is the payload as
 * received (BOM stripped): Claude and Codex payloads go through unchanged
 * (but Codex's apply_patch, which is split per file). Returns 0, or
 * -EINVAL with the reason in `err` (nothing to submit: deny).
 */
int lh_hook_translate(enum lh_agent agent, json_t *payload, const char *raw, size_t rawlen,
		      struct lh_hook_reqs *out, struct lh_buf *err);
void lh_hook_reqs_release(struct lh_hook_reqs *reqs);

enum lh_hook_decision { LH_HOOK_ALLOW, LH_HOOK_ASK, LH_HOOK_DENY };

struct lh_hook_verdict {
	enum lh_hook_decision decision;
	int local;			/* no verdict from the daemon: `reason` says why */
	char reason[1024];
	char rule[160];			/* "" when none */
	char request[32];		/* the daemon's request id, "" when none */
};

/* Parse a verdict in the text form of results/NAME; 0 or -EINVAL. */
int lh_hook_verdict_parse(const char *text, size_t len, struct lh_hook_verdict *v);
/* Keep the most severe of two verdicts in `acc`. */
void lh_hook_verdict_merge(struct lh_hook_verdict *acc, const struct lh_hook_verdict *v);

struct lh_hook_answer_opts {
	int quiet_allow;		/* allow: no opinion instead of an explicit allow */
	int fail_open;			/* a local failure lets the call go on */
};

/*
 * Answer verdict v to `agent`: writes the agent's stdout and stderr text
 * into `out` and `err`, returns the exit status.
 */
int lh_hook_answer(enum lh_agent agent, json_t *payload, const char *tool,
		   const struct lh_hook_verdict *v, const struct lh_hook_answer_opts *o,
		   struct lh_buf *out, struct lh_buf *err);

/*
 * Submit reqs through MOUNT/requests/NAME (open once; write, read per
 * request) before the monotonic `deadline_ns`, and merge their verdicts
 * into v. Returns 0, or -errno with a reason for a person in `err`
 * (-ETIMEDOUT: the daemon did not answer in time).
 */
int lh_hook_submit(const char *mount, const char *name, const struct lh_hook_reqs *reqs,
		   int64_t deadline_ns, struct lh_hook_verdict *v, struct lh_buf *err);

#endif

/*
 * request.h -- what an agent asked for, decoded from one of the three input
 * forms of LIGHTHOUSE.md: a Claude Code PreToolUse JSON object, `TOOL
 * INPUT`, or a bare shell command.
 *
 * lh_request_parse never fails on bad input: it fills `invalid` with the
 * reason (the text after "invalid request: ") and the caller denies. Every
 * string the request holds is valid UTF-8 without NUL bytes.
 */
#ifndef LH_REQUEST_H
#define LH_REQUEST_H

#include <stddef.h>

#define LH_REQUEST_MAX_DEFAULT (1024 * 1024)	/* bytes of one request */

enum lh_form {
	LH_FORM_JSON,		/* hook payload */
	LH_FORM_TOOL,		/* "Read /etc/passwd" */
	LH_FORM_SHELL,		/* "git status" */
};

struct lh_request {
	enum lh_form form;
	char *tool;		/* "Bash", "Read", "mcp__x__y"... */
	char *input;		/* Bash: the command; file tools: the path; others: tool_input as JSON */
	char *content;		/* Write: content; Edit: new_string; else NULL */
	char *old;		/* Edit: old_string; else NULL */
	char *cwd;		/* declared cwd, or NULL */
	char *session;		/* declared session_id, or NULL */
	char *agent;		/* declared agent_id / agent name, or NULL */
	char *event;		/* hook_event_name, or NULL */
	char *invalid;		/* why the request cannot be judged, or NULL */
};

/*
 * Decode buf[0..len). `total` is how many bytes the agent sent (more than
 * len when the input was cut at the size limit); `max` the limit.
 */
void lh_request_parse(struct lh_request *r, const char *buf, size_t len,
		      size_t total, size_t max);
void lh_request_release(struct lh_request *r);

/* Is `name` a tool name of the TOOL INPUT form ([A-Z][A-Za-z0-9_]*)? */
int lh_request_tool_name_ok(const char *name, size_t n);

#endif

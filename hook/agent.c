/*
 * agent.c -- the four agents' hook protocols: who is calling, what they
 * ask, and how a verdict is said back to them.
 *
 * DESIGN
 *
 * In: lighthoused reads one request shape, Claude Code's PreToolUse
 * payload (tool_name, tool_input, cwd, session_id, agent_id). Claude Code
 * and Codex send that shape, and their payload goes to the daemon byte for
 * byte: what is recorded is what the agent sent. Gemini CLI and Cursor
 * name their tools differently; their payload is copied with tool_name,
 * tool_input and cwd rewritten to the Claude shape (run_shell_command ->
 * Bash, Cursor's Shell -> Bash, StrReplace -> Edit...) and the original
 * name and input kept beside as original_tool_name / original_tool_input,
 * so the record still says what the agent asked for. Codex's apply_patch
 * carries a whole patch; it becomes one Write per file it adds or
 * changes and one `rm` per file it deletes, judged together, most severe
 * wins. Tools nobody maps go through under their own names: the policy's
 * unknown-tool setting decides them.
 *
 * Out: deny is exit status 2 with the reason on stderr for every agent
 * (the one answer all four honour, and the one Claude Code honours across
 * versions); Gemini CLI and Cursor also get their JSON deny on stdout.
 * Allow and ask are JSON on stdout, exit 0, where the agent has them.
 * Codex cannot ask from a hook (it treats "ask" as unsupported and runs
 * the call) and neither can Gemini CLI: for them an ask is a deny whose
 * reason says a person must confirm. Cursor treats invalid JSON as a
 * block, so it always gets one JSON object; Gemini CLI must see nothing on
 * stdout but its JSON.
 *
 * Every string we print goes through Jansson (escaping) after invalid
 * UTF-8 is replaced: a mount path from the command line can hold anything.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/utf8.h"
#include "common/xalloc.h"
#include "hook/hook.h"
#include "common/banned.h"

static const char *const names[] = { "unknown", "claude", "codex", "gemini", "cursor" };

const char *lh_agent_name(enum lh_agent a)
{
	return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "unknown";
}

int lh_agent_parse(const char *name, enum lh_agent *out)
{
	unsigned k;

	for (k = LH_AGENT_CLAUDE; k < sizeof(names) / sizeof(names[0]); k++)
		if (!strcmp(name, names[k])) {
			*out = (enum lh_agent)k;
			return 0;
		}
	return -EINVAL;
}

static const char *str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static int is(const char *s, const char *want)
{
	return s && !strcmp(s, want);
}

enum lh_agent lh_agent_detect(json_t *p)
{
	const char *ev = str(p, "hook_event_name");

	if (is(ev, "BeforeTool"))
		return LH_AGENT_GEMINI;
	if (is(ev, "preToolUse") || is(ev, "beforeShellExecution") ||
	    is(ev, "beforeMCPExecution") || is(ev, "beforeReadFile") ||
	    json_object_get(p, "conversation_id") || json_object_get(p, "cursor_version"))
		return LH_AGENT_CURSOR;
	if (json_object_get(p, "turn_id"))
		return LH_AGENT_CODEX;		/* Codex's PreToolUse carries its turn */
	if (is(ev, "PreToolUse"))
		return LH_AGENT_CLAUDE;
	return LH_AGENT_UNKNOWN;
}

/* ---- in: to the Claude shape ------------------------------------------------------ */

/* The first of `keys` that is a string in obj, or NULL. */
static const char *first_str(json_t *obj, const char *const *keys)
{
	for (; *keys; keys++) {
		const char *s = str(obj, *keys);

		if (s)
			return s;
	}
	return NULL;
}

static const char *const path_keys[] = { "file_path", "absolute_path", "path", "target_file",
					 "notebook_path", NULL };

/* In obj, the first of `keys` that holds a string is renamed `to`. */
static void rename_key(json_t *obj, const char *const *keys, const char *to)
{
	for (; *keys; keys++) {
		json_t *v = json_object_get(obj, *keys);

		if (!json_is_string(v))
			continue;
		if (strcmp(*keys, to)) {
			json_object_set(obj, to, v);
			json_object_del(obj, *keys);
		}
		return;
	}
}

/*
 * A file tool's input in the Claude shape: the agent's own input with its
 * path (and content) under Claude's names, every other field kept.
 */
static json_t *file_input(json_t *in, int with_content)
{
	static const char *const ckeys[] = { "content", "contents", NULL };
	json_t *o = json_is_object(in) ? json_copy(in) : json_object();

	rename_key(o, path_keys, "file_path");
	if (with_content) {
		rename_key(o, ckeys, "content");
		if (!json_object_get(o, "content"))
			json_object_set_new(o, "content", json_string(""));
	}
	return o;
}

static json_t *copy_input(json_t *in)
{
	return json_is_object(in) ? json_copy(in) : json_object();
}

/* Shell words as bash reads them back: 'it'\''s' */
static void add_shell_quoted(struct lh_buf *b, const char *s)
{
	lh_buf_addc(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			lh_buf_adds(b, "'\\''");
		else
			lh_buf_addc(b, *s);
	}
	lh_buf_addc(b, '\'');
}

/* `rm -- PATH` added to input (a delete is judged as the shell command it is) */
static json_t *rm_input(json_t *input, const char *path, size_t n)
{
	struct lh_buf cmd = LH_BUF_INIT, p = LH_BUF_INIT;

	lh_buf_add(&p, path, n);
	lh_buf_adds(&cmd, "rm -- ");
	add_shell_quoted(&cmd, p.data);
	json_object_set_new(input, "command", json_string(cmd.data));
	lh_buf_release(&cmd);
	lh_buf_release(&p);
	return input;
}

static int abs_path(const char *s)
{
	return s && s[0] == '/';
}

/* A cwd the daemon accepts (absolute): dir, or dir under base, or base. */
static json_t *cwd_from(const char *dir, const char *base)
{
	struct lh_buf b = LH_BUF_INIT;
	json_t *j;

	if (abs_path(dir))
		return json_string(dir);
	if (!abs_path(base))
		return NULL;
	if (!dir || !dir[0])
		return json_string(base);
	lh_buf_addf(&b, "%s/%s", base, dir);
	j = json_string(b.data);
	lh_buf_release(&b);
	return j;
}

static const char *workspace_root(json_t *p)
{
	return json_string_value(json_array_get(json_object_get(p, "workspace_roots"), 0));
}

/* What changes to make one tool call the Claude shape. */
struct shape {
	const char *tool;	/* tool_name for the daemon, NULL: unchanged */
	json_t *input;		/* tool_input for the daemon (owned), NULL: unchanged */
	json_t *cwd;		/* cwd for the daemon (owned), NULL: unchanged */
};

static void gemini_shape(json_t *p, const char *tool, json_t *in, struct shape *s)
{
	static const struct { const char *from, *to; } same_input[] = {
		{ "glob", "Glob" }, { "search_file_content", "Grep" }, { "grep_search", "Grep" },
		{ "web_fetch", "WebFetch" }, { "google_web_search", "WebSearch" },
		{ "write_todos", "TodoWrite" },
	};
	size_t k;

	if (is(tool, "run_shell_command")) {
		static const char *const dkeys[] = { "dir_path", "directory", NULL };

		s->tool = "Bash";
		s->input = copy_input(in);
		s->cwd = cwd_from(first_str(in, dkeys), str(p, "cwd"));
	} else if (is(tool, "read_file")) {
		s->tool = "Read";
		s->input = file_input(in, 0);
	} else if (is(tool, "write_file")) {
		s->tool = "Write";
		s->input = file_input(in, 1);
	} else if (is(tool, "replace")) {
		s->tool = "Edit";
		s->input = file_input(in, 0);
	} else if (is(tool, "list_directory")) {
		static const char *const dkeys[] = { "dir_path", "path", NULL };

		s->tool = "LS";
		s->input = copy_input(in);
		rename_key(s->input, dkeys, "path");
	} else {
		for (k = 0; k < sizeof(same_input) / sizeof(same_input[0]); k++)
			if (is(tool, same_input[k].from))
				s->tool = same_input[k].to;
	}
}

static void cursor_shape(json_t *p, const char *ev, const char *tool, json_t *in, struct shape *s)
{
	const char *base = abs_path(str(p, "cwd")) ? str(p, "cwd") : workspace_root(p);

	s->cwd = cwd_from(NULL, base);
	if (is(ev, "beforeShellExecution")) {
		s->tool = "Bash";
		s->input = json_pack("{s:O?}", "command", json_object_get(p, "command"));
	} else if (is(ev, "beforeReadFile")) {
		s->tool = "Read";
		s->input = json_pack("{s:O?}", "file_path", json_object_get(p, "file_path"));
	} else if (is(ev, "beforeMCPExecution")) {
		/* its tool_input is a JSON text */
		const char *text = json_string_value(in);
		json_t *obj = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : json_incref(in);

		if (!json_is_object(obj)) {
			json_decref(obj);
			obj = text ? json_pack("{s:s}", "input", text) : json_object();
		}
		s->input = obj;
	} else if (is(tool, "Shell")) {
		static const char *const dkeys[] = { "cwd", "working_directory", NULL };

		s->tool = "Bash";
		s->input = copy_input(in);
		json_decref(s->cwd);
		s->cwd = cwd_from(first_str(in, dkeys), base);
	} else if (is(tool, "Read")) {
		s->tool = "Read";
		s->input = file_input(in, 0);
	} else if (is(tool, "Write") || is(tool, "StrReplace") || is(tool, "Edit") ||
		   is(tool, "MultiEdit")) {
		int edit = json_is_string(json_object_get(in, "old_string")) &&
			   json_is_string(json_object_get(in, "new_string"));

		s->tool = edit ? "Edit" : "Write";
		s->input = file_input(in, !edit);
	} else if (is(tool, "Delete")) {
		const char *path = first_str(in, path_keys);

		s->tool = "Bash";
		s->input = copy_input(in);
		if (path)
			rm_input(s->input, path, strlen(path));
	}
}

/* The payload with the shape applied, as one compact JSON text. */
static char *apply_shape(json_t *p, const char *tool, struct shape *s, size_t *len)
{
	json_t *q = json_copy(p);	/* shallow: the values stay shared */
	char *text;

	if (s->tool && tool && strcmp(tool, s->tool))
		json_object_set_new(q, "original_tool_name", json_string(tool));
	if (s->tool)
		json_object_set_new(q, "tool_name", json_string(s->tool));
	if (s->input)
		json_object_set(q, "tool_input", s->input);
	if (s->cwd)
		json_object_set(q, "cwd", s->cwd);
	else if (json_object_get(q, "cwd") && !abs_path(str(q, "cwd")))
		json_object_del(q, "cwd");
	if (!json_object_get(q, "session_id") && str(p, "conversation_id"))
		json_object_set(q, "session_id", json_object_get(p, "conversation_id"));
	/* Cursor hands beforeReadFile the file's whole content: not a request */
	if (is(str(p, "hook_event_name"), "beforeReadFile")) {
		json_object_del(q, "content");
		json_object_del(q, "attachments");
	}
	text = json_dumps(q, JSON_COMPACT);
	json_decref(q);
	*len = text ? strlen(text) : 0;
	return text;
}

static void shape_release(struct shape *s)
{
	json_decref(s->input);
	json_decref(s->cwd);
	memset(s, 0, sizeof(*s));
}

static int add_shaped(struct lh_hook_reqs *out, json_t *p, const char *tool, struct shape *s,
		      struct lh_buf *err)
{
	size_t len;
	char *text;

	if (out->n == LH_HOOK_MAX_REQUESTS) {
		lh_buf_addf(err, "the call touches more than %d files; split it", LH_HOOK_MAX_REQUESTS);
		shape_release(s);
		return -EINVAL;
	}
	text = apply_shape(p, tool, s, &len);
	shape_release(s);
	if (!text) {
		lh_buf_adds(err, "cannot encode the request");
		return -EINVAL;
	}
	out->r[out->n].data = text;
	out->r[out->n].len = len;
	out->r[out->n].owned = text;
	out->n++;
	return 0;
}

enum pkind { P_ADD, P_UPDATE, P_DELETE };

struct psection {
	enum pkind kind;
	const char *path, *move;	/* not NUL-terminated */
	size_t plen, mlen;
	const char *start, *end;	/* the section's text */
};

static size_t trim_cr(const char *s, size_t n)
{
	return n && s[n - 1] == '\r' ? n - 1 : n;
}

/*
 * Codex's apply_patch: a patch of "*** Add File: P", "*** Update File: P"
 * (perhaps with "*** Move to: Q") and "*** Delete File: P" sections. Each
 * added, changed or moved-to file is a Write of its section's text; each
 * deleted file is `rm -- P`. Returns 1 when the patch has no sections
 * (then the call is judged as it is).
 */
static int codex_patch(json_t *p, json_t *in, struct lh_hook_reqs *out, struct lh_buf *err)
{
	static const char *const pkeys[] = { "command", "input", "patch", NULL };
	const char *patch = first_str(in, pkeys), *line, *next;
	struct psection sec[LH_HOOK_MAX_REQUESTS], *cur = NULL;
	size_t nsec = 0, k;
	int rc;

	if (!patch)
		return 1;
	for (line = patch; *line; line = next) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		static const struct { const char *word; enum pkind kind; } heads[] = {
			{ "*** Add File: ", P_ADD }, { "*** Update File: ", P_UPDATE },
			{ "*** Delete File: ", P_DELETE },
		};
		size_t h;

		next = nl ? nl + 1 : line + n;
		for (h = 0; h < 3; h++) {
			size_t w = strlen(heads[h].word);

			if (n > w && !strncmp(line, heads[h].word, w))
				break;
		}
		if (h < 3) {
			size_t w = strlen(heads[h].word);

			if (cur)
				cur->end = line;
			if (nsec == LH_HOOK_MAX_REQUESTS) {
				lh_buf_addf(err, "the patch touches more than %d files; split it",
					    LH_HOOK_MAX_REQUESTS);
				return -EINVAL;
			}
			cur = &sec[nsec++];
			memset(cur, 0, sizeof(*cur));
			cur->kind = heads[h].kind;
			cur->path = line + w;
			cur->plen = trim_cr(cur->path, n - w);
			cur->start = line;
		} else if (cur && cur->kind == P_UPDATE && n > 13 && !strncmp(line, "*** Move to: ", 13)) {
			cur->move = line + 13;
			cur->mlen = trim_cr(cur->move, n - 13);
		} else if (cur && !strncmp(line, "*** End Patch", 13)) {
			cur->end = line;
			cur = NULL;
		}
	}
	if (cur)
		cur->end = line;
	if (!nsec)
		return 1;
	for (k = 0; k < nsec; k++) {
		struct psection *c = &sec[k];
		int moved;

		for (moved = 0; moved <= (c->move != NULL); moved++) {
			struct shape s = { 0 };
			const char *path = moved ? c->move : c->path;
			size_t plen = moved ? c->mlen : c->plen;

			if (c->kind == P_DELETE) {
				s.tool = "Bash";
				s.input = rm_input(json_pack("{s:s#}", "file_path", path, (int)plen),
						   path, plen);
			} else {
				s.tool = "Write";
				s.input = json_pack("{s:s#,s:s#}", "file_path", path, (int)plen,
						    "content", c->start, (int)(c->end - c->start));
			}
			if (!s.input) {
				lh_buf_adds(err, "the patch is not valid UTF-8");
				return -EINVAL;
			}
			rc = add_shaped(out, p, "apply_patch", &s, err);
			if (rc)
				return rc;
		}
	}
	return 0;
}

int lh_hook_translate(enum lh_agent agent, json_t *p, const char *raw, size_t rawlen,
		      struct lh_hook_reqs *out, struct lh_buf *err)
{
	const char *tool = str(p, "tool_name"), *ev = str(p, "hook_event_name");
	json_t *in = json_object_get(p, "tool_input");
	struct shape s = { 0 };
	int rc;

	memset(out, 0, sizeof(*out));
	if (agent == LH_AGENT_CODEX && is(tool, "apply_patch") && json_is_object(in)) {
		snprintf(out->tool, sizeof(out->tool), "apply_patch");
		rc = codex_patch(p, in, out, err);
		if (rc <= 0)
			return rc;
	}
	if (agent == LH_AGENT_GEMINI)
		gemini_shape(p, tool, in, &s);
	else if (agent == LH_AGENT_CURSOR)
		cursor_shape(p, ev, tool, in, &s);
	snprintf(out->tool, sizeof(out->tool), "%s", s.tool ? s.tool : tool ? tool : "tool");
	if (!s.tool && !s.input && !s.cwd) {
		/* already the daemon's shape: the payload as the agent sent it */
		out->r[0].data = raw;
		out->r[0].len = rawlen;
		out->n = 1;
		return 0;
	}
	return add_shaped(out, p, tool, &s, err);
}

void lh_hook_reqs_release(struct lh_hook_reqs *reqs)
{
	size_t k;

	for (k = 0; k < reqs->n; k++)
		free(reqs->r[k].owned);
	memset(reqs, 0, sizeof(*reqs));
}

/* ---- out: the agent's answer --------------------------------------------------------- */

/* A JSON string of s, with invalid UTF-8 replaced so that Jansson takes it. */
static json_t *jstr(const char *s)
{
	size_t n = strlen(s), i = 0;
	struct lh_buf b = LH_BUF_INIT;
	json_t *j;

	if (lh_utf8_check(s, n) == n)
		return json_string(s);
	while (i < n) {
		size_t k = lh_utf8_seq(s + i, n - i);

		if (k) {
			lh_buf_add(&b, s + i, k);
			i += k;
		} else {
			lh_buf_adds(&b, "\xef\xbf\xbd");	/* U+FFFD */
			i++;
		}
	}
	j = json_string(b.data);
	lh_buf_release(&b);
	return j;
}

static void emit(struct lh_buf *out, json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);

	if (text) {
		lh_buf_adds(out, text);
		lh_buf_addc(out, '\n');
		free(text);
	}
	json_decref(j);
}

static const char *agent_title(enum lh_agent a)
{
	switch (a) {
	case LH_AGENT_CODEX: return "Codex";
	case LH_AGENT_GEMINI: return "Gemini CLI";
	case LH_AGENT_CURSOR: return "Cursor";
	default: return "Claude Code";
	}
}

/* " (rule R, request N)" or "" */
static void add_refs(struct lh_buf *b, const struct lh_hook_verdict *v)
{
	if (v->rule[0] && v->request[0])
		lh_buf_addf(b, " (rule %s, request %s)", v->rule, v->request);
	else if (v->rule[0])
		lh_buf_addf(b, " (rule %s)", v->rule);
	else if (v->request[0])
		lh_buf_addf(b, " (request %s)", v->request);
}

int lh_hook_answer(enum lh_agent agent, json_t *payload, const char *tool,
		   const struct lh_hook_verdict *v, const struct lh_hook_answer_opts *o,
		   struct lh_buf *out, struct lh_buf *err)
{
	struct lh_buf msg = LH_BUF_INIT;
	enum lh_hook_decision d = v->decision;
	int native_ask = agent != LH_AGENT_CODEX && agent != LH_AGENT_GEMINI;
	int status = 0;

	(void)payload;
	if (!tool || !tool[0])
		tool = "tool";
	if (v->local && o->fail_open) {
		lh_buf_addf(err, "lighthouse-hook: fail-open: could not judge this %s call (%s); "
			    "it goes on without Lighthouse\n", tool, v->reason);
		if (agent == LH_AGENT_GEMINI)
			lh_buf_adds(out, "{}\n");
		else if (agent == LH_AGENT_CURSOR)
			emit(out, json_pack("{s:s}", "permission", "allow"));
		return 0;
	}
	if (v->local) {
		d = LH_HOOK_DENY;
		lh_buf_addf(&msg, "Lighthouse could not judge this %s call, so it is denied: %s",
			    tool, v->reason);
	} else if (d == LH_HOOK_DENY) {
		lh_buf_addf(&msg, "Lighthouse denied this %s call: %s", tool, v->reason);
		add_refs(&msg, v);
	} else if (d == LH_HOOK_ASK && native_ask) {
		lh_buf_addf(&msg, "Lighthouse asks a person to confirm this %s call: %s", tool,
			    v->reason);
		add_refs(&msg, v);
	} else if (d == LH_HOOK_ASK) {
		d = LH_HOOK_DENY;
		lh_buf_addf(&msg, "Lighthouse wants a person to confirm this %s call, and %s cannot "
			    "ask from a hook, so it is denied: %s", tool, agent_title(agent),
			    v->reason);
		add_refs(&msg, v);
		lh_buf_adds(&msg, ". Ask the user to run it, or to allow it in the Lighthouse policy");
	} else {
		lh_buf_addf(&msg, "Lighthouse allows this %s call: %s", tool, v->reason);
		if (v->rule[0])
			lh_buf_addf(&msg, " (rule %s)", v->rule);
	}

	switch (agent) {
	case LH_AGENT_CODEX:
		/* Codex: exit 2 denies; allow and ask in JSON are not reliable */
		break;
	case LH_AGENT_GEMINI:
		if (d == LH_HOOK_DENY)
			emit(out, json_pack("{s:s,s:o}", "decision", "deny", "reason", jstr(msg.data)));
		else if (o->quiet_allow)
			lh_buf_adds(out, "{}\n");
		else
			emit(out, json_pack("{s:s}", "decision", "allow"));
		break;
	case LH_AGENT_CURSOR:
		if (d == LH_HOOK_ALLOW)
			emit(out, json_pack("{s:s}", "permission", "allow"));
		else
			emit(out, json_pack("{s:s,s:o,s:o}", "permission",
					    d == LH_HOOK_DENY ? "deny" : "ask",
					    "user_message", jstr(msg.data),
					    "agent_message", jstr(msg.data)));
		break;
	default:
		if (d == LH_HOOK_DENY || (d == LH_HOOK_ALLOW && o->quiet_allow))
			break;
		emit(out, json_pack("{s:{s:s,s:s,s:o}}", "hookSpecificOutput",
				    "hookEventName", "PreToolUse",
				    "permissionDecision", d == LH_HOOK_ASK ? "ask" : "allow",
				    "permissionDecisionReason", jstr(msg.data)));
		break;
	}
	if (d == LH_HOOK_DENY) {
		lh_buf_addf(err, "%s\n", msg.data);
		status = 2;
	}
	lh_buf_release(&msg);
	return status;
}

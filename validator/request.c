/*
 * request.c -- decoding the three input forms (see request.h).
 *
 * Order of checks: size, NUL bytes, UTF-8, emptiness, then the form. JSON
 * is decoded by Jansson with JSON_REJECT_DUPLICATES (a payload with two
 * "command" keys is ambiguous: which one would the agent run?), and every
 * field we use is type-checked. Unknown fields are ignored: the agents add
 * fields between releases.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/utf8.h"
#include "common/xalloc.h"
#include "validator/request.h"
#include "common/banned.h"

static void set_invalid(struct lh_request *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_invalid(struct lh_request *r, const char *fmt, ...)
{
	char msg[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	free(r->invalid);
	r->invalid = xstrdup(msg);
}

int lh_request_tool_name_ok(const char *name, size_t n)
{
	size_t i;

	if (!n || n > 128 || !(name[0] >= 'A' && name[0] <= 'Z'))
		return 0;
	for (i = 1; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return 1;
}

/* Optional string field: 0 absent, 1 present, -1 wrong type (reported). */
static int get_str(struct lh_request *r, json_t *obj, const char *key, const char *where,
		   char **out)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		set_invalid(r, "%s%s must be a string", where, key);
		return -1;
	}
	if (memchr(json_string_value(v), '\0', json_string_length(v))) {
		set_invalid(r, "%s%s contains a NUL character", where, key);
		return -1;
	}
	free(*out);
	*out = xstrdup(json_string_value(v));
	return 1;
}

static int need_str(struct lh_request *r, json_t *obj, const char *key, char **out)
{
	int rc = get_str(r, obj, key, "tool_input.", out);

	if (rc == 0)
		set_invalid(r, "%s request without tool_input.%s", r->tool, key);
	return rc == 1 ? 0 : -1;
}

static void parse_json(struct lh_request *r, const char *buf, size_t len)
{
	json_error_t err;
	json_t *root, *input;

	r->form = LH_FORM_JSON;
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
	if (!root) {
		set_invalid(r, "malformed JSON at line %d column %d: %s",
			    err.line, err.column, err.text);
		return;
	}
	if (!json_is_object(root)) {
		set_invalid(r, "JSON request must be an object");
		goto out;
	}
	if (get_str(r, root, "tool_name", "", &r->tool) <= 0) {
		if (!r->invalid)
			set_invalid(r, "JSON request without tool_name");
		goto out;
	}
	if (!r->tool[0] || strlen(r->tool) > 256) {
		set_invalid(r, "tool_name must be 1 to 256 characters");
		goto out;
	}
	if (get_str(r, root, "cwd", "", &r->cwd) < 0 ||
	    get_str(r, root, "session_id", "", &r->session) < 0 ||
	    get_str(r, root, "hook_event_name", "", &r->event) < 0 ||
	    get_str(r, root, "agent_id", "", &r->agent) < 0)
		goto out;
	if (r->cwd && r->cwd[0] != '/') {
		set_invalid(r, "cwd must be an absolute path");
		goto out;
	}
	input = json_object_get(root, "tool_input");
	if (!input) {
		set_invalid(r, "JSON request without tool_input");
		goto out;
	}
	if (!json_is_object(input)) {
		set_invalid(r, "tool_input must be an object");
		goto out;
	}
	if (!strcmp(r->tool, "Bash")) {
		if (need_str(r, input, "command", &r->input))
			goto out;
	} else if (!strcmp(r->tool, "Read") || !strcmp(r->tool, "NotebookRead")) {
		if (json_object_get(input, "notebook_path") && !json_object_get(input, "file_path")) {
			if (need_str(r, input, "notebook_path", &r->input))
				goto out;
		} else if (need_str(r, input, "file_path", &r->input)) {
			goto out;
		}
	} else if (!strcmp(r->tool, "Write")) {
		if (need_str(r, input, "file_path", &r->input) ||
		    need_str(r, input, "content", &r->content))
			goto out;
	} else if (!strcmp(r->tool, "Edit")) {
		if (need_str(r, input, "file_path", &r->input) ||
		    need_str(r, input, "old_string", &r->old) ||
		    need_str(r, input, "new_string", &r->content))
			goto out;
	} else if (!strcmp(r->tool, "MultiEdit") || !strcmp(r->tool, "NotebookEdit")) {
		const char *key = json_object_get(input, "notebook_path") ? "notebook_path" : "file_path";

		if (need_str(r, input, key, &r->input))
			goto out;
		r->content = json_dumps(input, JSON_COMPACT | JSON_SORT_KEYS);
	} else {
		/* any other tool: its input as canonical JSON, for rules to match */
		r->input = json_dumps(input, JSON_COMPACT | JSON_SORT_KEYS);
		if (!r->input)
			r->input = xstrdup("{}");
	}
out:
	json_decref(root);
}

void lh_request_parse(struct lh_request *r, const char *buf, size_t len, size_t total,
		      size_t max)
{
	size_t i, bad;
	const char *nul;

	memset(r, 0, sizeof(*r));
	r->form = LH_FORM_SHELL;
	if (total > max) {
		set_invalid(r, "too large (%zu bytes or more; the limit is %zu, set by -o max_request)",
			    total, max);
		return;
	}
	nul = memchr(buf, '\0', len);
	if (nul) {
		set_invalid(r, "contains a NUL byte at offset %zu", (size_t)(nul - buf));
		return;
	}
	bad = lh_utf8_check(buf, len);
	if (bad < len) {
		set_invalid(r, "not valid UTF-8 (byte 0x%02x at offset %zu)",
			    (unsigned char)buf[bad], bad);
		return;
	}
	/* trim surrounding white space; echo adds a newline */
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
		       buf[len - 1] == '\t'))
		len--;
	for (i = 0; i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'); i++)
		;
	buf += i;
	len -= i;
	if (!len) {
		set_invalid(r, "empty (write a shell command, TOOL INPUT, or a hook JSON object)");
		return;
	}
	if (buf[0] == '{') {
		/*
		 * A JSON object opens with { then a key or }. A shell group
		 * command ({ cmd; }) opens with { then a blank and a word.
		 */
		for (i = 1; i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' ||
					buf[i] == '\r'); i++)
			;
		if (i >= len || buf[i] == '"' || buf[i] == '}' || i == 1) {
			parse_json(r, buf, len);
			return;
		}
	}
	/* TOOL INPUT: a capitalized word, then white space */
	for (i = 0; i < len && buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n'; i++)
		;
	if (i < len && lh_request_tool_name_ok(buf, i)) {
		size_t s = i;

		while (s < len && (buf[s] == ' ' || buf[s] == '\t' || buf[s] == '\n' || buf[s] == '\r'))
			s++;
		r->form = LH_FORM_TOOL;
		r->tool = xstrndup(buf, i);
		if (!strcmp(r->tool, "Write") || !strcmp(r->tool, "Edit")) {
			/* first line the path, the rest the new content */
			const char *nl = memchr(buf + s, '\n', len - s);

			r->input = xstrndup(buf + s, nl ? (size_t)(nl - (buf + s)) : len - s);
			r->content = nl ? xstrndup(nl + 1, len - (size_t)(nl + 1 - buf)) : xstrdup("");
		} else {
			r->input = xstrndup(buf + s, len - s);
		}
		if (!r->input[0])
			set_invalid(r, "%s request without input", r->tool);
		return;
	}
	r->tool = xstrdup("Bash");
	r->input = xstrndup(buf, len);
}

void lh_request_release(struct lh_request *r)
{
	free(r->tool);
	free(r->input);
	free(r->content);
	free(r->old);
	free(r->cwd);
	free(r->session);
	free(r->agent);
	free(r->event);
	free(r->invalid);
	memset(r, 0, sizeof(*r));
}

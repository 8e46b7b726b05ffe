/*
 * cmd_hook.c -- lighthousectl install-hook and uninstall-hook: put
 * lighthouse-hook into an agent's hook settings, and take it out again.
 *
 *   claude  DIR/.claude/settings.json   or ~/.claude/settings.json ($CLAUDE_CONFIG_DIR)
 *           hooks.PreToolUse += {"matcher":"*","hooks":[{"type":"command",
 *             "command":CMD,"timeout":30,"onFailure":"block"}]}
 *   codex   DIR/.codex/hooks.json       or ~/.codex/hooks.json ($CODEX_HOME)
 *           hooks.PreToolUse += {"hooks":[{"type":"command","command":CMD,"timeout":30}]}
 *   gemini  DIR/.gemini/settings.json   or ~/.gemini/settings.json
 *           hooks.BeforeTool += {"matcher":".*","hooks":[{"type":"command",
 *             "name":"lighthouse","command":CMD,"timeout":30000}]}
 *   cursor  DIR/.cursor/hooks.json      or ~/.cursor/hooks.json
 *           hooks.beforeShellExecution, beforeMCPExecution, beforeReadFile
 *             += {"command":CMD,"failClosed":true}
 *           hooks.preToolUse += the same with "matcher" for the file-writing tools
 *
 * CMD is "BINDIR/lighthouse-hook --agent NAME" (and "--mount DIR" when
 * given). Claude Code's onFailure "block" and Cursor's failClosed make a
 * hook that cannot run block the call; Codex and Gemini CLI have no such
 * switch, which the man page says.
 *
 * Invariants: a hook of ours is a hook object whose command runs a
 * program called lighthouse-hook (or the --hook PATH given); nothing else
 * in the file is touched. Installing adds our entry, or replaces an older
 * entry of ours, and does nothing when the same entry is there already.
 * Uninstalling removes our hook objects, and the groups and arrays that
 * only held them. Unknown keys stay, key order stays (Jansson keeps it);
 * the file is rewritten with two-space indentation, atomically (a temp
 * file in the same folder, fsync, rename), with its mode kept, through a
 * symbolic link to where it points.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "ctl/ctl.h"
#include "common/banned.h"

#define HOOK_PROGRAM "lighthouse-hook"
#define SETTINGS_MAX (16u << 20)

struct agent_conf {
	const char *name;
	const char *dir;		/* under the project or the home folder */
	const char *file;
	const char *home_env;		/* overrides ~/DIR for --user */
	int flat;			/* Cursor: the array holds hooks, not groups */
	const char *events[4];
};

static const struct agent_conf agents[] = {
	{ "claude", ".claude", "settings.json", "CLAUDE_CONFIG_DIR", 0, { "PreToolUse" } },
	{ "codex", ".codex", "hooks.json", "CODEX_HOME", 0, { "PreToolUse" } },
	{ "gemini", ".gemini", "settings.json", NULL, 0, { "BeforeTool" } },
	{ "cursor", ".cursor", "hooks.json", NULL, 1,
	  { "beforeShellExecution", "beforeMCPExecution", "beforeReadFile", "preToolUse" } },
};

/* The entry install-hook puts into hooks.EVENT for agent a. */
static json_t *entry(const struct agent_conf *a, const char *event, const char *cmd)
{
	if (!strcmp(a->name, "claude"))
		return json_pack("{s:s,s:[{s:s,s:s,s:i,s:s}]}", "matcher", "*", "hooks",
				 "type", "command", "command", cmd, "timeout", 30,
				 "onFailure", "block");
	if (!strcmp(a->name, "codex"))
		return json_pack("{s:[{s:s,s:s,s:i}]}", "hooks",
				 "type", "command", "command", cmd, "timeout", 30);
	if (!strcmp(a->name, "gemini"))
		return json_pack("{s:s,s:[{s:s,s:s,s:s,s:i}]}", "matcher", ".*", "hooks",
				 "type", "command", "name", "lighthouse", "command", cmd,
				 "timeout", 30000);
	if (!strcmp(event, "preToolUse"))
		return json_pack("{s:s,s:s,s:b}", "command", cmd,
				 "matcher", "Write|StrReplace|Edit|MultiEdit|Delete", "failClosed", 1);
	return json_pack("{s:s,s:b}", "command", cmd, "failClosed", 1);
}

/* s as one shell word */
static void add_word(struct lh_buf *b, const char *s)
{
	const char *p;

	for (p = s; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:=@%+,-", *p))
			break;
	if (*s && !*p) {
		lh_buf_adds(b, s);
		return;
	}
	lh_buf_addc(b, '\'');
	for (p = s; *p; p++) {
		if (*p == '\'')
			lh_buf_adds(b, "'\\''");
		else
			lh_buf_addc(b, *p);
	}
	lh_buf_addc(b, '\'');
}

/* Does this hook object run lighthouse-hook (or `prog`)? */
static int ours(json_t *hook, const char *prog)
{
	const char *cmd = json_string_value(json_object_get(hook, "command")), *end, *base;
	struct lh_buf first = LH_BUF_INIT;
	int yes;

	if (!cmd)
		return 0;
	while (*cmd == ' ' || *cmd == '\t')
		cmd++;
	if (*cmd == '\'' || *cmd == '"') {
		end = strchr(cmd + 1, *cmd);
		lh_buf_add(&first, cmd + 1, end ? (size_t)(end - cmd - 1) : strlen(cmd + 1));
	} else {
		lh_buf_add(&first, cmd, strcspn(cmd, " \t"));
	}
	base = strrchr(first.data, '/');
	base = base ? base + 1 : first.data;
	yes = !strcmp(base, HOOK_PROGRAM) || (prog && !strcmp(first.data, prog));
	lh_buf_release(&first);
	return yes;
}

/* Take our hooks out of hooks.EVENT; each one taken goes to `gone`. */
static void remove_ours(json_t *arr, int flat, const char *prog, json_t *gone)
{
	size_t i = json_array_size(arr), j;

	while (i-- > 0) {
		json_t *e = json_array_get(arr, i), *hs;
		int took = 0;

		if (flat) {
			if (ours(e, prog)) {
				json_array_insert(gone, 0, e);
				json_array_remove(arr, i);
			}
			continue;
		}
		hs = json_object_get(e, "hooks");
		if (!json_is_array(hs))
			continue;
		j = json_array_size(hs);
		while (j-- > 0)
			if (ours(json_array_get(hs, j), prog)) {
				json_array_insert(gone, 0, json_array_get(hs, j));
				json_array_remove(hs, j);
				took = 1;
			}
		if (took && !json_array_size(hs))
			json_array_remove(arr, i);	/* the group was only ours */
	}
}

static int has_equal(json_t *arr, json_t *want)
{
	size_t i;

	for (i = 0; i < json_array_size(arr); i++)
		if (json_equal(json_array_get(arr, i), want))
			return 1;
	return 0;
}

/* ---- the settings file ------------------------------------------------------------ */

struct settings {
	char path[PATH_MAX];		/* the file written (a link's target) */
	int exists;
	mode_t mode;
	struct lh_buf text;		/* as it was */
	json_t *root;
};

static int load(const char *path, struct settings *s)
{
	struct stat st;
	json_error_t je;
	char chunk[65536];
	ssize_t n;
	int fd, rc = 0;

	lh_buf_init(&s->text, SETTINGS_MAX);
	if (!lstat(path, &st) && S_ISLNK(st.st_mode) && realpath(path, s->path)) {
		/* write where the link points, keep the link */
	} else if (snprintf(s->path, sizeof(s->path), "%s", path) >= (int)sizeof(s->path)) {
		fprintf(stderr, "lighthousectl: '%s': path too long\n", path);
		return -ENAMETOOLONG;
	}
	fd = open(s->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		s->root = json_object();
		return 0;
	}
	if (fd < 0 || fstat(fd, &st)) {
		rc = -errno;
		fprintf(stderr, "lighthousectl: cannot read '%s': %s\n", s->path, strerror(-rc));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	s->exists = 1;
	s->mode = st.st_mode & 07777;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (lh_buf_add(&s->text, chunk, (size_t)n)) {
			n = -1;
			errno = EFBIG;
			break;
		}
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (rc) {
		fprintf(stderr, "lighthousectl: cannot read '%s': %s\n", s->path, strerror(-rc));
		return rc;
	}
	if (strspn(s->text.data, " \t\r\n") == s->text.len) {
		s->root = json_object();	/* an empty file is an empty object */
		return 0;
	}
	s->root = json_loadb(s->text.data, s->text.len, JSON_REJECT_DUPLICATES, &je);
	if (!s->root || !json_is_object(s->root)) {
		if (s->root)
			fprintf(stderr, "lighthousectl: '%s' does not hold a JSON object; not touching it\n",
				s->path);
		else
			fprintf(stderr, "lighthousectl: '%s' is not JSON (line %d column %d: %s); not touching it\n",
				s->path, je.line, je.column, je.text);
		return -EINVAL;
	}
	return 0;
}

static char *render(json_t *root, int newline)
{
	char *text = json_dumps(root, JSON_INDENT(2));
	struct lh_buf b = LH_BUF_INIT;

	lh_buf_adds(&b, text ? text : "{}");
	if (newline)
		lh_buf_addc(&b, '\n');
	free(text);
	return lh_buf_detach(&b, NULL);
}

static int mkdirs(const char *dir)
{
	struct lh_buf b = LH_BUF_INIT;
	char *p;
	int rc = 0;

	lh_buf_adds(&b, dir);
	for (p = b.data + 1; !rc; p++) {
		if (*p && *p != '/')
			continue;
		{
			char c = *p;

			*p = '\0';
			if (mkdir(b.data, 0755) && errno != EEXIST)
				rc = -errno;
			*p = c;
		}
		if (!*p)
			break;
	}
	lh_buf_release(&b);
	return rc;
}

/* Replace s->path with text: temp file, fsync, rename. */
static int save(struct settings *s, const char *text)
{
	struct lh_buf tmp = LH_BUF_INIT, dir = LH_BUF_INIT;
	const char *slash = strrchr(s->path, '/');
	size_t len = strlen(text), off = 0;
	mode_t mask;
	int fd, rc = 0;

	lh_buf_add(&dir, s->path, slash ? (size_t)(slash - s->path) : 0);
	if (dir.len && (rc = mkdirs(dir.data))) {
		fprintf(stderr, "lighthousectl: cannot create '%s': %s\n", dir.data, strerror(-rc));
		goto out;
	}
	lh_buf_addf(&tmp, "%s.lh-XXXXXX", s->path);
	fd = mkstemp(tmp.data);
	if (fd < 0) {
		rc = -errno;
		fprintf(stderr, "lighthousectl: cannot write next to '%s': %s\n", s->path, strerror(-rc));
		goto out;
	}
	mask = umask(0);
	umask(mask);
	while (off < len && !rc) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno != EINTR)
			rc = -errno;
		else if (n > 0)
			off += (size_t)n;
	}
	if (!rc && fchmod(fd, s->exists ? s->mode : 0666 & ~mask))
		rc = -errno;
	if (!rc && fsync(fd))
		rc = -errno;
	if (close(fd) && !rc)
		rc = -errno;
	if (!rc && rename(tmp.data, s->path))
		rc = -errno;
	if (rc) {
		fprintf(stderr, "lighthousectl: cannot write '%s': %s\n", s->path, strerror(-rc));
		unlink(tmp.data);
	}
out:
	lh_buf_release(&tmp);
	lh_buf_release(&dir);
	return rc;
}

/* ---- a line diff, for --dry-run ------------------------------------------------------ */

struct lines {
	const char **at;
	size_t *len;
	size_t n;
};

static void split(const char *text, struct lines *l)
{
	const char *p = text;
	size_t cap = 16;

	l->n = 0;
	l->at = xmalloc(cap * sizeof(*l->at));
	l->len = xmalloc(cap * sizeof(*l->len));
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);

		if (l->n == cap) {
			cap *= 2;
			l->at = xrealloc(l->at, cap * sizeof(*l->at));
			l->len = xrealloc(l->len, cap * sizeof(*l->len));
		}
		l->at[l->n] = p;
		l->len[l->n++] = n;
		p += n;
	}
}

static int same_line(const struct lines *a, size_t i, const struct lines *b, size_t j)
{
	return a->len[i] == b->len[j] && !memcmp(a->at[i], b->at[j], a->len[i]);
}

static void put_line(char tag, const char *p, size_t n)
{
	printf("%c%.*s", tag, (int)n, p);
	if (!n || p[n - 1] != '\n')
		printf("\n\\ No newline at end of file\n");
}

struct op {
	char tag;			/* ' ', '-', '+' */
	size_t ai, bi;			/* lines of a and b before this one */
};

/*
 * A unified diff of old and new, three lines of context (an LCS table:
 * settings files are small; past LCS_MAX cells, one hunk of everything
 * between the common first and last lines).
 */
#define LCS_MAX (4u << 20)

static void diff(const char *path, int existed, const char *old, const char *new)
{
	struct lines a, b;
	struct op *ops;
	unsigned *lcs = NULL;
	size_t pre = 0, suf = 0, n, m, i, j, nops = 0, w;

	split(old, &a);
	split(new, &b);
	while (pre < a.n && pre < b.n && same_line(&a, pre, &b, pre))
		pre++;
	while (suf < a.n - pre && suf < b.n - pre && same_line(&a, a.n - 1 - suf, &b, b.n - 1 - suf))
		suf++;
	n = a.n - pre - suf;
	m = b.n - pre - suf;
	w = m + 1;
	if ((n + 1) * w <= LCS_MAX) {
		lcs = xcalloc((n + 1) * w, sizeof(*lcs));
		for (i = n; i-- > 0;)
			for (j = m; j-- > 0;)
				lcs[i * w + j] = same_line(&a, pre + i, &b, pre + j) ?
					lcs[(i + 1) * w + j + 1] + 1 :
					lcs[(i + 1) * w + j] > lcs[i * w + j + 1] ?
					lcs[(i + 1) * w + j] : lcs[i * w + j + 1];
	}
	ops = xmalloc((a.n + b.n + 1) * sizeof(*ops));
	for (i = 0; i < pre; i++)
		ops[nops++] = (struct op){ ' ', i, i };
	for (i = j = 0; i < n || j < m;) {
		if (lcs && i < n && j < m && same_line(&a, pre + i, &b, pre + j))
			ops[nops++] = (struct op){ ' ', pre + i++, pre + j++ };
		else if (i < n && (j == m || !lcs || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]))
			ops[nops++] = (struct op){ '-', pre + i++, pre + j };
		else
			ops[nops++] = (struct op){ '+', pre + i, pre + j++ };
	}
	for (i = 0; i < suf; i++)
		ops[nops++] = (struct op){ ' ', a.n - suf + i, b.n - suf + i };
	if (pre < a.n || pre < b.n)
		printf("--- %s\n+++ %s\n", existed ? path : "/dev/null", path);
	for (i = 0; i < nops;) {
		size_t start, end, stop, k, ac = 0, bc = 0;

		while (i < nops && ops[i].tag == ' ')
			i++;
		if (i == nops)
			break;
		start = i >= 3 ? i - 3 : 0;
		end = i;
		for (;;) {
			size_t ctx;

			while (end < nops && ops[end].tag != ' ')
				end++;
			for (ctx = end; ctx < nops && ops[ctx].tag == ' ' && ctx - end <= 6; ctx++)
				;
			if (ctx < nops && ops[ctx].tag != ' ' && ctx - end <= 6)
				end = ctx;
			else
				break;
		}
		stop = end + 3 < nops ? end + 3 : nops;
		for (k = start; k < stop; k++) {
			ac += ops[k].tag != '+';
			bc += ops[k].tag != '-';
		}
		printf("@@ -%zu,%zu +%zu,%zu @@\n", ops[start].ai + (ac > 0), ac, ops[start].bi + (bc > 0), bc);
		for (k = start; k < stop; k++) {
			if (ops[k].tag == '+')
				put_line('+', b.at[ops[k].bi], b.len[ops[k].bi]);
			else
				put_line(ops[k].tag, a.at[ops[k].ai], a.len[ops[k].ai]);
		}
		i = stop;
	}
	free(ops);
	free(lcs);
	free(a.at);
	free(a.len);
	free(b.at);
	free(b.len);
}

/* ---- the commands -------------------------------------------------------------------- */

struct hook_args {
	const struct agent_conf *agent;
	const char *project;
	int user;
	const char *mount;
	const char *hook;
	int dry_run;
};

static int parse(const char *cmd, int argc, char **argv, int install, struct hook_args *h)
{
	int i;

	memset(h, 0, sizeof(*h));
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		int more = i + 1 < argc;

		if (!strcmp(a, "--agent") && more) {
			size_t k;

			for (k = 0; k < sizeof(agents) / sizeof(agents[0]); k++)
				if (!strcmp(argv[i + 1], agents[k].name))
					h->agent = &agents[k];
			if (!h->agent) {
				fprintf(stderr, "lighthousectl: --agent must be claude, codex, gemini or cursor\n");
				return ctl_usage(cmd);
			}
			i++;
		} else if (!strcmp(a, "--project") && more) {
			h->project = argv[++i];
		} else if (!strcmp(a, "--user")) {
			h->user = 1;
		} else if (install && !strcmp(a, "--mount") && more) {
			h->mount = argv[++i];
		} else if (!strcmp(a, "--hook") && more) {
			h->hook = argv[++i];
		} else if (!strcmp(a, "--dry-run")) {
			h->dry_run = 1;
		} else {
			return ctl_usage(cmd);
		}
	}
	if (!h->agent || !h->project == !h->user) {
		fprintf(stderr, "lighthousectl: %s needs --agent and one of --project DIR or --user\n", cmd);
		return ctl_usage(cmd);
	}
	return 0;
}

static char *settings_path(const struct hook_args *h)
{
	const struct agent_conf *a = h->agent;
	const char *env = a->home_env ? getenv(a->home_env) : NULL, *home = getenv("HOME");
	struct lh_buf b = LH_BUF_INIT;

	if (h->project)
		lh_buf_addf(&b, "%s/%s/%s", h->project, a->dir, a->file);
	else if (env && env[0] == '/')
		lh_buf_addf(&b, "%s/%s", env, a->file);
	else if (home && home[0] == '/')
		lh_buf_addf(&b, "%s/%s/%s", home, a->dir, a->file);
	else
		return NULL;
	return lh_buf_detach(&b, NULL);
}

/* "PATH: [would ]VERB hooks.EVENT: JSON"; `change` 0: a fact, not an action */
static void say(const struct hook_args *h, const char *path, int change, const char *verb,
		const char *event, json_t *what)
{
	char *text = json_dumps(what, JSON_COMPACT);

	printf("%s: %s%s hooks.%s: %s\n", path, change && h->dry_run ? "would " : "", verb, event,
	       text ? text : "?");
	free(text);
}

static int run(int argc, char **argv, int install)
{
	const char *cmd = install ? "install-hook" : "uninstall-hook";
	struct hook_args h;
	struct settings s;
	struct lh_buf command = LH_BUF_INIT;
	json_t *orig = NULL, *hooks;
	char *path = NULL, *before = NULL, *after = NULL;
	struct stat st;
	size_t k;
	int rc, newline;

	memset(&s, 0, sizeof(s));
	rc = parse(cmd, argc, argv, install, &h);
	if (rc)
		return rc;
	if (h.project && (stat(h.project, &st) || !S_ISDIR(st.st_mode))) {
		fprintf(stderr, "lighthousectl: --project '%s' is not a directory\n", h.project);
		return CTL_FAIL;
	}
	path = settings_path(&h);
	if (!path) {
		fprintf(stderr, "lighthousectl: --user needs HOME set to an absolute path\n");
		return CTL_FAIL;
	}
	rc = load(path, &s);
	if (rc)
		goto fail;
	if (!install && !s.exists) {
		printf("%s: not there, nothing to remove\n", s.path);
		goto done;
	}
	orig = json_deep_copy(s.root);
	if (install && h.agent->flat && !json_object_get(s.root, "version")) {
		/* Cursor reads a hooks file of version 1 */
		json_object_set_new(s.root, "version", json_integer(1));
		printf("%s: %sset version: 1\n", s.path, h.dry_run ? "would " : "");
	}
	hooks = json_object_get(s.root, "hooks");
	if (!hooks && install) {
		hooks = json_object();
		json_object_set_new(s.root, "hooks", hooks);
	}
	if (hooks && !json_is_object(hooks)) {
		fprintf(stderr, "lighthousectl: '%s': \"hooks\" is not an object; not touching it\n", s.path);
		goto fail;
	}
	add_word(&command, h.hook ? h.hook : LH_BINDIR "/" HOOK_PROGRAM);
	lh_buf_addf(&command, " --agent %s", h.agent->name);
	if (h.mount) {
		lh_buf_adds(&command, " --mount ");
		add_word(&command, h.mount);
	}
	for (k = 0; hooks && k < 4 && h.agent->events[k]; k++) {
		const char *event = h.agent->events[k];
		json_t *arr = json_object_get(hooks, event), *want, *gone = json_array();
		size_t g;

		if (arr && !json_is_array(arr)) {
			fprintf(stderr, "lighthousectl: '%s': hooks.%s is not an array; not touching it\n",
				s.path, event);
			json_decref(gone);
			goto fail;
		}
		if (!install) {
			if (arr) {
				remove_ours(arr, h.agent->flat, h.hook, gone);
				if (!json_array_size(arr) && json_array_size(gone))
					json_object_del(hooks, event);
			}
			for (g = 0; g < json_array_size(gone); g++)
				say(&h, s.path, 1, "remove from", event, json_array_get(gone, g));
			json_decref(gone);
			continue;
		}
		if (!arr) {
			arr = json_array();
			json_object_set_new(hooks, event, arr);
		}
		want = entry(h.agent, event, command.data);
		if (has_equal(arr, want)) {
			say(&h, s.path, 0, "already in", event, want);
		} else {
			remove_ours(arr, h.agent->flat, h.hook, gone);
			for (g = 0; g < json_array_size(gone); g++)
				say(&h, s.path, 1, "remove from", event, json_array_get(gone, g));
			json_array_append(arr, want);
			say(&h, s.path, 1, "add to", event, want);
		}
		json_decref(want);
		json_decref(gone);
	}
	if (hooks && !install && !json_object_size(hooks) && !json_equal(s.root, orig))
		json_object_del(s.root, "hooks");	/* it only held ours */
	if (json_equal(s.root, orig)) {
		printf("%s: nothing to change\n", s.path);
		goto done;
	}
	newline = !s.exists || !s.text.len || s.text.data[s.text.len - 1] == '\n';
	before = s.exists ? xstrdup(s.text.data) : xstrdup("");
	after = render(s.root, newline);
	if (h.dry_run) {
		diff(s.path, s.exists, before, after);
		goto done;
	}
	if (save(&s, after))
		goto fail;
done:
	rc = CTL_OK;
	goto out;
fail:
	rc = CTL_FAIL;
out:
	json_decref(orig);
	json_decref(s.root);
	lh_buf_release(&s.text);
	lh_buf_release(&command);
	free(path);
	free(before);
	free(after);
	return rc;
}

int cmd_install_hook(struct ctl_env *env, int argc, char **argv)
{
	(void)env;
	return run(argc, argv, 1);
}

int cmd_uninstall_hook(struct ctl_env *env, int argc, char **argv)
{
	(void)env;
	return run(argc, argv, 0);
}

/*
 * lighthousectl.c -- the admin CLI: global options, the command table,
 * and helpers the commands share (finding the mount, talking to ctl).
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "ctl/ctl.h"
#include "store/store.h"
#include "common/banned.h"

const struct ctl_cmd ctl_commands[] = {
	{ "status", cmd_status, "status",
	  "is the daemon mounted; uptime, requests, decisions, cache, events" },
	{ "check", cmd_check, "check [--cwd DIR] [--project DIR] [--json] [TOOL] INPUT...",
	  "judge a request here, offline, with the same policy (exit 0 allow, 1 deny, 3 ask)" },
	{ "events", cmd_events,
	  "events [--since SEQ|TIME] [--until SEQ|TIME] [--type TYPE[,TYPE...]] [--agent NAME] [--session ID] [--path PATH] [--decision DECISION] [--request ID] [--limit N] [--json] [--follow]",
	  "print recorded events from the store, filtered; --follow waits for new ones" },
	{ "verify", cmd_verify, "verify",
	  "check the store's checksum chain and contents; report the first bad row" },
	{ "export", cmd_export, "export [--output FILE]", "write the whole store as JSON lines" },
	{ "import", cmd_import, "import [--input FILE]",
	  "read an export into a state directory without a store" },
	{ "replay", cmd_replay, "replay --to SEQ|TIME DIR",
	  "write the project as it was after an event (or at a time) into DIR, from the store" },
	{ "vacuum", cmd_vacuum, "vacuum [--keep-days N]",
	  "drop file history older than N days (default 90) that newer states replace; never verdicts" },
	{ "policy", cmd_policy,
	  "policy check FILE | policy show | policy forget RULE | policy replay [--project DIR] [--json] FILE",
	  "check a policy file, print the policy in force, revoke a learned rule, or judge the recorded requests with FILE and show which verdicts would change" },
	{ "pending", cmd_pending, "pending",
	  "the escalated requests waiting for an expert or a person, with their context" },
	{ "approve", cmd_approve, "approve ID [--remember[=exact|pattern]] [--reason TEXT]",
	  "allow an escalated request; --remember makes it a learned rule" },
	{ "deny", cmd_deny, "deny ID --reason TEXT [--remember[=exact|pattern]]",
	  "deny an escalated request, saying why" },
	{ "expert", cmd_expert, "expert add NAME [--caps CAPS] | expert list | expert remove NAME",
	  "register an expert agent and what it decides on (git,database,security...), list or remove them" },
	{ "top", cmd_top, "top [-d SECONDS] [-n COUNT]",
	  "a live view: requests, decisions, latency, cache, busiest agents" },
	{ "reload", cmd_reload, "reload", "make the daemon reload its policy" },
	{ "config", cmd_config, "config [NAME [VALUE]]", "show or change the daemon's settings" },
	{ "install-hook", cmd_install_hook,
	  "install-hook --agent AGENT (--project DIR | --user) [--mount DIR] [--hook PATH] [--dry-run]",
	  "make an agent (claude, codex, gemini, cursor) run lighthouse-hook before its tool calls" },
	{ "uninstall-hook", cmd_uninstall_hook,
	  "uninstall-hook --agent AGENT (--project DIR | --user) [--hook PATH] [--dry-run]",
	  "take out of the agent's settings exactly what install-hook put in" },
	{ NULL, NULL, NULL, NULL }
};

static void usage(FILE *out)
{
	const struct ctl_cmd *c;

	fprintf(out, "usage: lighthousectl [-m MOUNT] [--state DIR] [--policy FILE] COMMAND [ARGS]\n\ncommands:\n");
	for (c = ctl_commands; c->name; c++)
		fprintf(out, "  lighthousectl %s\n      %s\n", c->usage, c->help);
	fprintf(out, "\nMOUNT defaults to $LIGHTHOUSE_MOUNT, else the only Lighthouse mount;\n"
		     "DIR to $XDG_STATE_HOME/lighthouse or ~/.local/state/lighthouse. See lighthousectl(8).\n");
}

int ctl_usage(const char *cmd)
{
	const struct ctl_cmd *c;

	for (c = ctl_commands; c->name; c++)
		if (!strcmp(c->name, cmd))
			fprintf(stderr, "usage: lighthousectl %s\n", c->usage);
	return CTL_USAGE;
}

static char *default_state(void)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	struct lh_buf b = LH_BUF_INIT;

	if (xdg && xdg[0] == '/')
		lh_buf_addf(&b, "%s/lighthouse", xdg);
	else if (home && home[0] == '/')
		lh_buf_addf(&b, "%s/.local/state/lighthouse", home);
	else
		return NULL;
	return lh_buf_detach(&b, NULL);
}

/*
 * Talking to a mount must not hang an admin's terminal: every read and
 * write on the mount runs under an alarm. The daemon answers an
 * interrupted wait with EINTR, which we report as a timeout.
 */
static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

static void arm(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;	/* no SA_RESTART: the syscall returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	timed_out = 0;
	alarm(CTL_TIMEOUT);
}

static int disarm(int rc)
{
	alarm(0);
	return timed_out ? -ETIMEDOUT : rc;
}

/* Lighthouse mounts from /proc/self/mountinfo (field 5 mount point, fstype after " - "). */
static int find_mounts(char found[][4096], int max)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char *line = NULL;
	size_t cap = 0;
	int n = 0;

	if (!f)
		return 0;
	while (getline(&line, &cap, f) > 0 && n < max) {
		char *sep = strstr(line, " - "), *mp;
		int field = 0;

		if (!sep || strncmp(sep + 3, "fuse.lighthouse ", 16))
			continue;
		for (mp = line; *mp && field < 4; mp++)
			if (*mp == ' ')
				field++;
		if (field == 4) {
			size_t i = 0;

			/* mountinfo escapes space, tab, newline and backslash as \ooo */
			while (*mp && *mp != ' ' && i < 4095) {
				if (mp[0] == '\\' && mp[1] >= '0' && mp[1] <= '3' && mp[2] && mp[3]) {
					found[n][i++] = (char)((mp[1] - '0') * 64 + (mp[2] - '0') * 8 + (mp[3] - '0'));
					mp += 4;
				} else {
					found[n][i++] = *mp++;
				}
			}
			found[n][i] = '\0';
			n++;
		}
	}
	free(line);
	fclose(f);
	return n;
}

/* Does a mount answer as lighthoused does (a stats file saying it is up)? */
static int answers(const char *mount)
{
	struct lh_buf path = LH_BUF_INIT, text = LH_BUF_INIT;
	int ok;

	lh_buf_addf(&path, "%s/stats", mount);
	ok = !ctl_read_file(path.data, &text) && ctl_metric(text.data, "lighthouse_up") == 1;
	lh_buf_release(&path);
	lh_buf_release(&text);
	return ok;
}

const char *ctl_mount(struct ctl_env *env, int quiet)
{
	static char found[8][4096];
	int n, k, live = 0, which = -1;

	if (env->mount)
		return env->mount;
	n = find_mounts(found, 8);
	for (k = 0; k < n; k++)
		if (answers(found[k])) {
			live++;
			which = k;
		}
	if (live == 1) {
		env->mount = found[which];
		return env->mount;
	}
	n = live;
	if (!quiet) {
		if (n == 0)
			fprintf(stderr, "lighthousectl: no Lighthouse mount found (start lighthoused, or give -m MOUNT)\n");
		else
			fprintf(stderr, "lighthousectl: %d Lighthouse mounts (%s, %s...): choose one with -m MOUNT\n",
				n, found[0], found[1]);
	}
	return NULL;
}

int ctl_read_file(const char *path, struct lh_buf *out)
{
	char chunk[65536];
	ssize_t n = 0;
	int fd, rc;

	arm();
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return disarm(-errno);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		lh_buf_add(out, chunk, (size_t)n);
	rc = n < 0 ? -errno : 0;
	close(fd);
	return disarm(rc);
}

int ctl_command(struct ctl_env *env, const char *cmd, struct lh_buf *reply)
{
	const char *mount = ctl_mount(env, 0);
	struct lh_buf path = LH_BUF_INIT;
	char chunk[8192];
	ssize_t n;
	int fd, rc = 0;

	if (!mount)
		return -ENOENT;
	lh_buf_addf(&path, "%s/ctl", mount);
	arm();
	fd = open(path.data, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		rc = disarm(-errno);
		fprintf(stderr, "lighthousectl: cannot open '%s': %s%s\n", path.data, strerror(-rc),
			rc == -EACCES ? " (only the daemon's owner and root may)" : "");
		lh_buf_release(&path);
		return rc;
	}
	if (write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd) || write(fd, "\n", 1) != 1)
		rc = -errno;
	while (!rc && (n = read(fd, chunk, sizeof(chunk))) > 0)
		lh_buf_add(reply, chunk, (size_t)n);
	if (!rc && n < 0)
		rc = -errno;
	close(fd);
	rc = disarm(rc);
	if (rc)
		fprintf(stderr, "lighthousectl: '%s': %s\n", path.data,
			rc == -ETIMEDOUT ? "the daemon did not answer in time" : strerror(-rc));
	lh_buf_release(&path);
	return rc;
}

/* Does a process hold the store's lock (a daemon writes it)? */
static int store_held(const char *state)
{
	struct lh_buf p = LH_BUF_INIT;
	int fd, held = 0;

	lh_buf_addf(&p, "%s/%s", state, LH_STORE_LOCK);
	fd = open(p.data, O_RDONLY | O_CLOEXEC);
	lh_buf_release(&p);
	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_SH | LOCK_NB))
		held = errno == EWOULDBLOCK;
	close(fd);
	return held;
}

/*
 * No daemon runs: a journal the database does not hold yet means the last
 * one stopped while it could not commit (a full or read-only disk). Those
 * events are safe and the next lighthoused replays them, but what we read
 * now does not show them: say so.
 */
static void warn_unreplayed(struct ctl_env *env)
{
	struct lh_store_reader *r;
	struct lh_buf err = LH_BUF_INIT;
	int64_t n = 0;

	if (lh_store_reader_open(&r, env->state, &err)) {
		lh_buf_release(&err);
		return;		/* the command itself reports why */
	}
	if (lh_store_reader_unreplayed(r, env->state, &n, &err))
		fprintf(stderr, "lighthousectl: warning: %s\n", err.data);
	else if (n > 0)
		fprintf(stderr, "lighthousectl: warning: %" PRId64 " journaled event%s of '%s' %s not in the database yet "
			"(the daemon stopped before it could commit them); lighthoused adds them when it next opens the store\n",
			n, n == 1 ? "" : "s", env->state, n == 1 ? "is" : "are");
	lh_store_reader_close(r);
	lh_buf_release(&err);
}

void ctl_catch_up(struct ctl_env *env)
{
	struct lh_buf path = LH_BUF_INIT, reply = LH_BUF_INIT;
	const char *mount, *p;
	char chunk[512], a[PATH_MAX], b[PATH_MAX];
	ssize_t n;
	int fd;

	if (!store_held(env->state)) {
		warn_unreplayed(env);
		return;
	}
	if (!(mount = ctl_mount(env, 1)))
		return;
	lh_buf_addf(&path, "%s/ctl", mount);
	arm();
	fd = open(path.data, O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "sync\n", 5) == 5)
			while ((n = read(fd, chunk, sizeof(chunk))) > 0)
				lh_buf_add(&reply, chunk, (size_t)n);
		close(fd);
	}
	disarm(0);
	/* a word only when it is our store that could not catch up */
	if (!strncmp(reply.data, "error: ", 7) && (p = strstr(reply.data, "\nstate: "))) {
		size_t len = strcspn(reply.data, "\n");

		p += 8;
		reply.data[p - reply.data + strcspn(p, "\n")] = '\0';
		if (realpath(p, a) && realpath(env->state, b) && !strcmp(a, b))
			fprintf(stderr, "lighthousectl: warning: the daemon could not commit everything it has journaled (%.*s); the newest events may be missing\n",
				(int)(len - 7), reply.data + 7);
	}
	lh_buf_release(&path);
	lh_buf_release(&reply);
}

int ctl_send(struct ctl_env *env, const char *cmd)
{
	struct lh_buf reply = LH_BUF_INIT;
	int rc = ctl_command(env, cmd, &reply);

	if (!rc) {
		fputs(reply.data, stdout);
		if (!strncmp(reply.data, "error:", 6) || strstr(reply.data, "\nerror:") ||
		    strstr(reply.data, "rejected"))
			rc = -1;
	}
	lh_buf_release(&reply);
	return rc ? CTL_FAIL : CTL_OK;
}

double ctl_metric(const char *text, const char *name)
{
	size_t n = strlen(name);
	const char *p = text;

	while ((p = strstr(p, name))) {
		if ((p == text || p[-1] == '\n') && (p[n] == ' ' || p[n] == '{')) {
			const char *sp = strchr(p, ' ');

			if (sp)
				return strtod(sp + 1, NULL);
		}
		p += n;
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct ctl_env env;
	const struct ctl_cmd *c;
	char *state = NULL;
	int i = 1, rc;

	memset(&env, 0, sizeof(env));
	env.mount = getenv("LIGHTHOUSE_MOUNT");
	if (env.mount && !env.mount[0])
		env.mount = NULL;
	while (i < argc && argv[i][0] == '-') {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return CTL_OK;
		}
		if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			printf("lighthousectl %s\n", PACKAGE_VERSION);
			return CTL_OK;
		}
		if ((!strcmp(a, "-m") || !strcmp(a, "--mount")) && i + 1 < argc) {
			env.mount = argv[i + 1];
			i += 2;
		} else if (!strncmp(a, "--mount=", 8)) {
			env.mount = a + 8;
			i++;
		} else if (!strcmp(a, "--state") && i + 1 < argc) {
			env.state = argv[i + 1];
			i += 2;
		} else if (!strncmp(a, "--state=", 8)) {
			env.state = a + 8;
			i++;
		} else if (!strcmp(a, "--policy") && i + 1 < argc) {
			env.policy = argv[i + 1];
			i += 2;
		} else if (!strncmp(a, "--policy=", 9)) {
			env.policy = a + 9;
			i++;
		} else {
			fprintf(stderr, "lighthousectl: unknown option '%s'\n", a);
			usage(stderr);
			return CTL_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return CTL_USAGE;
	}
	if (!env.state)
		env.state = state = default_state();
	if (!env.state) {
		fprintf(stderr, "lighthousectl: no --state given and neither XDG_STATE_HOME nor HOME is set\n");
		return CTL_USAGE;
	}
	for (c = ctl_commands; c->name; c++)
		if (!strcmp(c->name, argv[i]))
			break;
	if (!c->name) {
		fprintf(stderr, "lighthousectl: '%s' is not a command (see lighthousectl --help)\n", argv[i]);
		free(state);
		return CTL_USAGE;
	}
	rc = c->run(&env, argc - i, argv + i);
	free(state);
	return rc;
}

/*
 * ctl.h -- lighthousectl's commands and what they share.
 *
 * Like git: a table of commands (lighthousectl.c), one thin cmd_*.c per
 * command that parses its arguments and calls library code. Each
 * command's usage string is the SYNOPSIS line of lighthousectl(8); a test
 * checks that they agree.
 */
#ifndef LH_CTL_H
#define LH_CTL_H

#include <stddef.h>
#include <stdint.h>

struct lh_buf;

struct ctl_env {
	const char *mount;	/* -m MOUNT, $LIGHTHOUSE_MOUNT, or found in /proc/self/mountinfo */
	const char *state;	/* --state DIR, or the default state directory */
	const char *policy;	/* --policy FILE, or NULL for the built-in policy */
};

struct ctl_cmd {
	const char *name;
	int (*run)(struct ctl_env *env, int argc, char **argv);
	const char *usage;	/* after "lighthousectl [-m MOUNT] [--state DIR] [--policy FILE] " */
	const char *help;
};

extern const struct ctl_cmd ctl_commands[];

/* Exit statuses */
#define CTL_OK 0
#define CTL_FAIL 1
#define CTL_USAGE 2	/* also: could not do the job (bad policy, store unreadable) */

#define CTL_TIMEOUT 10	/* seconds to wait for the daemon */

int ctl_usage(const char *cmd);

/* The mount point to talk to, or NULL with a message printed. */
const char *ctl_mount(struct ctl_env *env, int quiet);
/* Read a whole file of the mount (stats, policy/active). */
int ctl_read_file(const char *path, struct lh_buf *out);
/* Send one command to MOUNT/ctl and collect the reply. */
int ctl_command(struct ctl_env *env, const char *cmd, struct lh_buf *reply);
/* Send a command, print the reply; CTL_OK, or CTL_FAIL when it failed or says error:. */
int ctl_send(struct ctl_env *env, const char *cmd);
/*
 * When a daemon holds the store of env->state and answers on the mount,
 * wait until it has committed what it released at its journal, so that
 * reading the database sees every verdict handed out so far. Quiet when
 * there is no such daemon (the database is then as its writer left it).
 */
void ctl_catch_up(struct ctl_env *env);
/* The value of a metric line in Prometheus text (first match), or -1. */
double ctl_metric(const char *text, const char *name);

int cmd_status(struct ctl_env *env, int argc, char **argv);
int cmd_check(struct ctl_env *env, int argc, char **argv);
int cmd_events(struct ctl_env *env, int argc, char **argv);
int cmd_policy(struct ctl_env *env, int argc, char **argv);
int cmd_pending(struct ctl_env *env, int argc, char **argv);
int cmd_approve(struct ctl_env *env, int argc, char **argv);
int cmd_deny(struct ctl_env *env, int argc, char **argv);
int cmd_expert(struct ctl_env *env, int argc, char **argv);
int cmd_reload(struct ctl_env *env, int argc, char **argv);
int cmd_config(struct ctl_env *env, int argc, char **argv);
int cmd_top(struct ctl_env *env, int argc, char **argv);
int cmd_install_hook(struct ctl_env *env, int argc, char **argv);
int cmd_uninstall_hook(struct ctl_env *env, int argc, char **argv);
int cmd_verify(struct ctl_env *env, int argc, char **argv);
int cmd_export(struct ctl_env *env, int argc, char **argv);
int cmd_import(struct ctl_env *env, int argc, char **argv);
int cmd_vacuum(struct ctl_env *env, int argc, char **argv);
int cmd_replay(struct ctl_env *env, int argc, char **argv);

/*
 * An ISO 8601 time (2026-11-22, 2026-11-22T10:30:00.5Z, ...+02:00) in ns
 * since 1970, and the span of its last field (a day, a minute, 1e5 ns...).
 */
int ctl_parse_time(const char *s, int64_t *ns, int64_t *unit);

#endif

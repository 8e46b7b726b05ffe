/*
 * cmd_vacuum.c -- lighthousectl vacuum: retention (store/vacuum.c says
 * what goes and what never does).
 *
 * The store has one writer. When no daemon holds it, vacuum opens it
 * itself, and afterwards compacts the file (SQL VACUUM) to give the
 * space back. When a daemon holds it (the store's lock says so), vacuum
 * asks that daemon through its ctl file, after checking that the mount's
 * state directory is the one meant; the daemon's writer does the work
 * between group commits, and freed pages are reused by new events.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "ctl/ctl.h"
#include "store/store.h"
#include "common/banned.h"

#define DEFAULT_KEEP_DAYS 90

/* Does the daemon behind the mount keep its store in env->state? */
static int same_state(struct ctl_env *env)
{
	struct lh_buf reply = LH_BUF_INIT;
	char a[PATH_MAX], b[PATH_MAX];
	const char *p;
	int ok = 0;

	if (ctl_command(env, "status", &reply))
		goto out;
	p = strstr(reply.data, "\nstate: ");
	if (!p) {
		fprintf(stderr, "lighthousectl: the daemon does not say where its store is\n");
		goto out;
	}
	p += 8;
	reply.data[p - reply.data + strcspn(p, "\n")] = '\0';
	ok = realpath(p, a) && realpath(env->state, b) && !strcmp(a, b);
	if (!ok)
		fprintf(stderr, "lighthousectl: the daemon at '%s' keeps its store in '%s', not '%s' (give -m or --state)\n",
			env->mount, p, env->state);
out:
	lh_buf_release(&reply);
	return ok;
}

static int through_daemon(struct ctl_env *env, long days)
{
	struct lh_buf reply = LH_BUF_INIT;
	char cmd[64];
	int rc;

	if (!ctl_mount(env, 0) || !same_state(env))
		return CTL_FAIL;
	snprintf(cmd, sizeof(cmd), "vacuum %ld", days);
	rc = ctl_command(env, cmd, &reply);
	if (!rc)
		fputs(reply.data, stdout);
	rc = rc || !strncmp(reply.data, "error:", 6) ? CTL_FAIL : CTL_OK;
	lh_buf_release(&reply);
	return rc;
}

int cmd_vacuum(struct ctl_env *env, int argc, char **argv)
{
	struct lh_store_opts so;
	struct lh_store *s;
	struct lh_buf err = LH_BUF_INIT, db = LH_BUF_INIT, out = LH_BUF_INIT;
	struct lh_vacuum res;
	long days = DEFAULT_KEEP_DAYS;
	int rc;

	if (argc == 3 && !strcmp(argv[1], "--keep-days")) {
		char *end;

		errno = 0;
		days = strtol(argv[2], &end, 10);
		if (errno || *end || end == argv[2] || days < 0 || days > 36500)
			return ctl_usage("vacuum");
	} else if (argc != 1) {
		return ctl_usage("vacuum");
	}
	lh_buf_addf(&db, "%s/%s", env->state, LH_STORE_FILE);
	if (access(db.data, F_OK)) {
		fprintf(stderr, "lighthousectl: no event store at '%s'\n", db.data);
		lh_buf_release(&db);
		return CTL_FAIL;
	}
	lh_buf_release(&db);
	memset(&so, 0, sizeof(so));
	so.dir = env->state;
	rc = lh_store_open(&s, &so, &err);
	if (rc == -EBUSY) {
		lh_buf_release(&err);
		return through_daemon(env, days);
	}
	if (rc) {
		fprintf(stderr, "lighthousectl: %s\n", err.data);
		lh_buf_release(&err);
		return CTL_FAIL;
	}
	rc = lh_store_vacuum(s, lh_wall_ns() - (int64_t)days * 86400 * 1000000000, &res, &err);
	if (!rc && (res.dropped || res.blobs || res.chunks))
		rc = lh_store_compact(s, &err);
	lh_store_close(s);
	if (rc) {
		fprintf(stderr, "lighthousectl: %s\n", err.data);
		rc = CTL_FAIL;
	} else {
		lh_vacuum_report(&res, days, &out);
		fputs(out.data, stdout);
		rc = CTL_OK;
	}
	lh_buf_release(&out);
	lh_buf_release(&err);
	return rc;
}

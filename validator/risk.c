/*
 * risk.c -- the risk tier: a scored heuristic for what no rule decided.
 *
 * Each signal adds points; the sum is compared with the policy's
 * thresholds (`set risk-ask`, `set risk-deny`). The reason lists the
 * signals, so an agent (and the person reading the log) sees why. The
 * vocabulary comes from the policy, so an admin tunes it without a
 * rebuild:
 *
 *   lists   risk-destructive  verbs that destroy or change what they touch
 *           shells            programs that run a script from stdin
 *           interpreters      programs that run code (python, perl, node...)
 *           fetchers          programs that download
 *           decoders          programs that decode (base64 -d | sh)
 *           exfil-sources     programs whose output is the environment
 *   classes broad system devices secrets shell-startup autorun persistence
 *           tmp
 *
 * Signals and weights (per command):
 *   command name only known at run time ........ 50
 *   command name spelled in escapes ($'\x72m') .. 40
 *   a shell or interpreter given run-time code .. 50
 *   runs under sudo/doas/su ..................... 40
 *   destructive verb on a broad/system path ..... 80
 *   destructive verb on a file that runs by
 *     itself (autorun, persistence) ............. 60
 *   destructive verb on a secret ................ 60
 *   destructive verb outside project, cwd, tmp .. 40
 *   destructive verb on a run-time target ....... 40
 *   download or decoded data piped into a shell
 *     or an interpreter ......................... 100
 *   environment piped into a network program .... 80
 *   output redirected onto a device/system path . 80
 *   output redirected into a file that runs by
 *     itself (shell-startup, autorun, persistence) 60
 *   output redirected outside project, cwd, tmp . 40
 *   output redirected to a run-time target ...... 30
 * File tools: writing a system path 100, a file that runs by itself 60, a
 * secret 60, outside the project 40.
 *
 * The reason is "risk score N: SIGNAL (+P); SIGNAL (+P)...", every signal
 * with its points, so the score can be checked by hand.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "validator/path.h"
#include "validator/policy_int.h"
#include "validator/request.h"
#include "common/banned.h"

struct score {
	int total;
	char why[LH_REASON_MAX];
	size_t len;
};

static void add(struct score *s, int points, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void add(struct score *s, int points, const char *fmt, ...)
{
	char part[200];
	va_list ap;
	int n;

	s->total += points;
	va_start(ap, fmt);
	vsnprintf(part, sizeof(part), fmt, ap);
	va_end(ap);
	n = snprintf(s->why + s->len, sizeof(s->why) - s->len, "%s%s (+%d)",
		     s->len ? "; " : "", part, points);
	if (n > 0 && s->len + (size_t)n < sizeof(s->why))
		s->len += (size_t)n;
}

static int in_class(struct judge_ctx *j, const char *name, const char *path)
{
	const struct pclass *cl = lh_policy_class(j->pol, name);

	return cl && lh_class_match(j->pol, cl, path, j->env);
}

static int in_list(struct judge_ctx *j, const char *list, const char *word)
{
	return word && lh_list_has(lh_policy_list(j->pol, list), word);
}

static int inside_work_area(struct judge_ctx *j, const char *path)
{
	const struct lh_judge_env *env = j->env;

	return (env->project && lh_path_within(path, env->project)) ||
	       (env->cwd && lh_path_within(path, env->cwd) && strcmp(env->cwd, "/") &&
		!(env->home && !strcmp(env->cwd, env->home))) ||
	       in_class(j, "tmp", path) ||
	       !strcmp(path, "/dev/null") || !strcmp(path, "/dev/stdout") ||
	       !strcmp(path, "/dev/stderr") || !strcmp(path, "/dev/tty");
}

/*
 * chmod 600 FILE, chmod go-rwx FILE: taking permissions away harms no one.
 * A numeric mode without group/other write or special bits, or a
 * symbolic one that only removes.
 */
static int chmod_restricts(const struct lh_scmd *c)
{
	const char *m = NULL;
	int k;

	if (strcmp(c->name, "chmod"))
		return 0;
	for (k = 1; k < c->argc; k++)
		if (c->argv[k][0] != '-' || strspn(c->argv[k] + 1, "rwxXst") == strlen(c->argv[k] + 1)) {
			m = c->argv[k];
			break;
		}
	if (!m || (c->wflags[k] & LH_W_DYNAMIC))
		return 0;
	if (strspn(m, "01234567") == strlen(m) && strlen(m) >= 3 && strlen(m) <= 4) {
		size_t l = strlen(m);

		return (l == 3 || m[0] == '0') && !((m[l - 2] - '0') & 2) && !((m[l - 1] - '0') & 2);
	}
	return strchr(m, '-') && !strchr(m, '+') && !strchr(m, '=');
}

/* A file that runs by itself later: startup files, cron, units, hooks. */
static int runs_itself(struct judge_ctx *j, const char *path)
{
	return in_class(j, "shell-startup", path) || in_class(j, "autorun", path) ||
	       in_class(j, "persistence", path);
}

static void decide(struct judge_ctx *j, struct score *s, struct lh_verdict *v)
{
	enum lh_decision d = LH_ALLOW;

	if (s->total >= lh_policy_risk_deny(j->pol))
		d = LH_DENY;
	else if (s->total >= lh_policy_risk_ask(j->pol))
		d = LH_ASK;
	if (!s->total)
		lh_verdict_set_text(v, d, LH_TIER_RISK, "", NULL,
				    "no rule matched and nothing risky was found");
	else if (d == LH_ASK && lh_policy_risk_escalate(j->pol))
		lh_verdict_set(v, d, LH_TIER_RISK, "", "risk score %d needs review by a person: %s",
			       s->total, s->why);
	else
		lh_verdict_set(v, d, LH_TIER_RISK, "", "risk score %d: %s", s->total, s->why);
	v->escalate = d == LH_ASK && lh_policy_risk_escalate(j->pol);
	v->risk = s->total;
}

void lh_risk_judge_cmd(struct judge_ctx *j, struct cmdinfo *ci, struct lh_verdict *v)
{
	const struct lh_scmd *c = ci->c;
	struct score s;
	int k;

	memset(&s, 0, sizeof(s));
	if (!c->name[0])
		add(&s, 50, "the command name is only known at run time (%s)", c->argv[0]);
	else if (c->wflags[0] & LH_W_ESCAPED)
		add(&s, 40, "the command name %s is spelled in escapes", c->name);
	if (c->ctx & LH_CTX_PRIV)
		add(&s, 40, "runs with root privileges (%s)", c->wrappers[0] ? c->wrappers : "su");
	if (in_list(j, "risk-destructive", c->name) && !chmod_restricts(c)) {
		int broad = 0, secret = 0, outside = 0, autorun = 0;

		const char **paths;
		int npaths, ndyn;

		lh_cmdinfo_paths(j, ci);
		lh_cmdinfo_targets(j, ci);
		/*
		 * cp, ln, tee, curl -o...: only what they write is changed (the
		 * redirections are scored below); mv takes its sources away too.
		 */
		if (ci->dest_kind != DEST_NONE && strcmp(c->name, "mv")) {
			paths = ci->targets + ci->nouts;
			npaths = ci->ntargets - ci->nouts;
			ndyn = ci->ndyn_targets - ci->ndyn_outs;
		} else {
			paths = ci->paths;
			npaths = ci->npaths;
			ndyn = ci->ndynamic;
		}
		for (k = 0; k < npaths; k++) {
			const char *p = paths[k];

			/*
			 * cp, ln, install...: a copy into a system folder adds a file
			 * there (outside the project); onto the folder itself, or onto
			 * a system file, it replaces what the machine runs on
			 */
			int into = ci->dest_kind != DEST_NONE && strcmp(c->name, "mv") &&
				   !in_class(j, "broad", p) && !in_class(j, "system-files", p);

			if (!broad && !into && (in_class(j, "broad", p) || in_class(j, "system", p))) {
				char what[160];

				snprintf(what, sizeof(what), "%s on %s", c->name, p);
				add(&s, 80, "%s, a broad or system path", what);
				broad = 1;
			} else if (!autorun && runs_itself(j, p)) {
				add(&s, 60, "changes %s, which runs by itself", p);
				autorun = 1;
			} else if (!secret && !lh_path_has_glob(p) && in_class(j, "secrets", p)) {
				/* a wildcard may take a secret with it; naming one is the signal */
				add(&s, 60, "touches a secret (%s)", p);
				secret = 1;
			} else if (!outside && !inside_work_area(j, p)) {
				add(&s, 40, "changes something outside the project (%s)", p);
				outside = 1;
			}
		}
		if (ndyn)
			add(&s, 40, "%s on a target only known at run time", c->name);
	}
	if (in_list(j, "shells", c->name) || in_list(j, "interpreters", c->name)) {
		lh_cmdinfo_pos(j, ci);
		for (k = 0; k < ci->npos; k++)
			if (ci->posf[k] & LH_W_DYNAMIC) {
				add(&s, 50, "%s runs code only known at run time", c->name);
				break;
			}
	}
	if (c->pipe_from && c->pipe_from[0] &&
	    (in_list(j, "shells", c->name) || in_list(j, "interpreters", c->name)) &&
	    (in_list(j, "fetchers", c->pipe_from) || in_list(j, "decoders", c->pipe_from)))
		add(&s, 100, "runs what %s produces as a script", c->pipe_from);
	if (c->pipe_from && in_list(j, "fetchers", c->name) &&
	    in_list(j, "exfil-sources", c->pipe_from))
		add(&s, 80, "sends the output of %s over the network", c->pipe_from);
	lh_cmdinfo_outs(j, ci);
	if (ci->ndyn_outs)
		add(&s, 30, "writes to a place only known at run time");
	for (k = 0; k < ci->nouts; k++) {
		const char *p = ci->outs[k];

		if (in_class(j, "devices", p) || in_class(j, "system", p) || in_class(j, "broad", p)) {
			add(&s, 80, "writes onto %s", p);
			break;
		}
		if (runs_itself(j, p)) {
			add(&s, 60, "writes into %s, which runs by itself", p);
			break;
		}
		if (!inside_work_area(j, p)) {
			add(&s, 40, "writes outside the project (%s)", p);
			break;
		}
	}
	decide(j, &s, v);
}

void lh_risk_judge_file(struct judge_ctx *j, struct cmdinfo *ci, struct lh_verdict *v)
{
	const char *tool = j->req->tool;
	struct score s;

	memset(&s, 0, sizeof(s));
	if (!strcmp(tool, "Write") || !strcmp(tool, "Edit") || !strcmp(tool, "MultiEdit") ||
	    !strcmp(tool, "NotebookEdit")) {
		const char *p;

		lh_cmdinfo_paths(j, ci);
		p = ci->npaths ? ci->paths[0] : NULL;
		if (p) {
			if (in_class(j, "system", p) || in_class(j, "devices", p))
				add(&s, 100, "writes a system path (%s)", p);
			else if (runs_itself(j, p))
				add(&s, 60, "writes %s, which runs by itself", p);
			else if (in_class(j, "secrets", p))
				add(&s, 60, "writes a secret (%s)", p);
			else if (!inside_work_area(j, p))
				add(&s, 40, "writes outside the project (%s)", p);
		}
	}
	decide(j, &s, v);
}

/*
 * cmd_policy.c -- lighthousectl policy: check a policy file, show the
 * policy in force, forget a learned rule, replay the record with a
 * candidate policy.
 *
 *   policy check FILE    compile FILE; its errors as FILE:LINE: MESSAGE
 *                        (exit 1), or a one-line summary (exit 0)
 *   policy show          the policy in force, from the mount
 *   policy forget RULE   revoke a learned rule (through MOUNT/ctl); it
 *                        decides nothing from the next request on
 *   policy replay FILE   judge every recorded request again with FILE (and
 *                        the learned rules the store holds, as the daemon
 *                        would) and list the requests whose verdict would
 *                        change: exit 0 none, 1 some, 2 trouble
 *
 * Replay reads the store of --state (not the daemon), in the order the
 * requests came, so it runs beside a live daemon. What it compares is the
 * verdict of the policy -- allow, ask, deny or escalate -- not what an
 * expert or a person made of an escalation later; a request denied by a
 * limit of the daemon (rate, store) was never judged by the policy, so it
 * is skipped. Each request is judged in its recorded working directory,
 * with the home and user of its recorded uid, in the project the daemon
 * served last (--project overrides).
 */
#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "ctl/ctl.h"
#include "store/store.h"
#include "validator/validator.h"
#include "common/banned.h"

/* ---- the learned rules the store holds ------------------------------------------ */

struct lrules {
	char **ids, **texts;
	int n;
};

static int learned_row(void *arg, const struct lh_event_row *row)
{
	struct lrules *l = arg;
	json_t *pl = json_loads(row->payload, 0, NULL);
	const char *id = pl ? json_string_value(json_object_get(pl, "id")) : NULL;
	const char *text = pl ? json_string_value(json_object_get(pl, "text")) : NULL;
	size_t n = id ? strlen(id) : 0;
	int k;

	if (id && !strcmp(row->type, "rule.learn") && text) {
		l->ids = xrealloc(l->ids, sizeof(*l->ids) * (size_t)(l->n + 1));
		l->texts = xrealloc(l->texts, sizeof(*l->texts) * (size_t)(l->n + 1));
		l->ids[l->n] = xstrdup(id);
		l->texts[l->n] = xstrdup(text);
		l->n++;
	} else if (id && !strcmp(row->type, "rule.forget")) {
		/* the rule and those learned with it (ID.2, ID.3...) */
		for (k = 0; k < l->n;) {
			const char *r = l->ids[k];

			if (!strncmp(r, id, n) && (!r[n] || (r[n] == '.' && r[n + 1] >= '0' && r[n + 1] <= '9'))) {
				free(l->ids[k]);
				free(l->texts[k]);
				l->ids[k] = l->ids[l->n - 1];
				l->texts[k] = l->texts[l->n - 1];
				l->n--;
			} else {
				k++;
			}
		}
	}
	json_decref(pl);
	return 0;
}

/* ---- replay ------------------------------------------------------------------------ */

struct replay {
	struct lh_validator *v;
	int json;
	json_t *req;			/* the request waiting for its verdict */
	int64_t req_id, req_uid;
	int64_t judged, skipped, changed;
	int64_t moves[4][4];		/* old -> new: allow ask deny escalate */
};

static const char *const words[4] = { "allow", "ask", "deny", "escalate" };

static int word_index(const char *w)
{
	int k;

	for (k = 0; k < 4; k++)
		if (w && !strcmp(w, words[k]))
			return k;
	return -1;
}

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void judge_again(struct replay *r, json_t *req, json_t *verdict, int64_t id, int64_t uid)
{
	const char *form = jstr(req, "form"), *tool = jstr(req, "tool"), *input = jstr(req, "input");
	const char *content = jstr(req, "content"), *tier = jstr(verdict, "tier");
	struct lh_buf raw = LH_BUF_INIT;
	struct lh_request rq;
	struct lh_verdict vd;
	struct lh_judge_in in;
	struct passwd *pw = uid >= 0 ? getpwuid((uid_t)uid) : NULL;
	int old, now;

	old = json_is_true(json_object_get(verdict, "escalated")) ? 3 :
	      word_index(jstr(verdict, "decision"));
	if (old < 0 || !tool || !input || (tier && !strcmp(tier, "limit"))) {
		r->skipped++;
		return;
	}
	if (jstr(req, "raw"))
		lh_buf_adds(&raw, jstr(req, "raw"));
	else if (form && !strcmp(form, "tool"))
		lh_buf_addf(&raw, "%s %s%s%s", tool, input, content ? "\n" : "", content ? content : "");
	else
		lh_buf_adds(&raw, input);
	memset(&in, 0, sizeof(in));
	in.data = raw.data;
	in.len = raw.len;
	in.total = raw.len;
	in.cwd = jstr(req, "cwd");
	in.home = pw ? pw->pw_dir : "/nonexistent";
	in.user = pw ? pw->pw_name : NULL;
	lh_validator_judge(r->v, &in, &rq, &vd);
	lh_request_release(&rq);
	now = vd.decision == LH_ASK && vd.escalate ? 3 : (int)vd.decision;
	r->judged++;
	r->moves[old][now]++;
	if (old != now) {
		size_t n = strcspn(input, "\n");

		r->changed++;
		if (r->json) {
			json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s}", "request", (json_int_t)id,
					      "was", words[old], "now", words[now], "rule", vd.rule,
					      "reason", vd.reason, "tool", tool, "input", input);
			char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

			if (s)
				printf("%s\n", s);
			free(s);
			json_decref(o);
		} else {
			printf("%" PRId64 "  %s -> %s  %s  %s: %.*s%s\n", id, words[old], words[now],
			       vd.rule[0] ? vd.rule : "-", tool, (int)(n > 100 ? 100 : n), input,
			       n > 100 || input[n] ? " ..." : "");
		}
	}
	lh_buf_release(&raw);
}

static int replay_row(void *arg, const struct lh_event_row *row)
{
	struct replay *r = arg;

	if (!strcmp(row->type, "request")) {
		json_decref(r->req);
		r->req = json_loads(row->payload, 0, NULL);
		r->req_id = row->request_id;
		r->req_uid = row->uid;
	} else if (!strcmp(row->type, "verdict") && r->req && row->request_id == r->req_id) {
		json_t *v = json_loads(row->payload, 0, NULL);

		if (v)
			judge_again(r, r->req, v, r->req_id, r->req_uid);
		json_decref(v);
		json_decref(r->req);
		r->req = NULL;
	}
	return 0;
}

static int last_project(void *arg, const struct lh_event_row *row)
{
	char **project = arg;
	json_t *pl = json_loads(row->payload, 0, NULL);
	const char *p = pl ? jstr(pl, "project") : NULL;

	if (p && !*project)
		*project = xstrdup(p);
	json_decref(pl);
	return 1;
}

static int replay(struct ctl_env *env, const char *file, const char *project_opt, int json)
{
	struct lh_store_reader *rd = NULL;
	struct lh_buf err = LH_BUF_INIT, text = LH_BUF_INIT;
	struct lh_event_filter f;
	struct lh_validator_opts vo;
	struct lh_policy *pol;
	struct lrules l;
	struct replay r;
	char *project = project_opt ? xstrdup(project_opt) : NULL;
	int rc = CTL_USAGE, k, a, b;

	memset(&l, 0, sizeof(l));
	memset(&r, 0, sizeof(r));
	ctl_catch_up(env);	/* what a live daemon has journaled, committed */
	if (lh_store_reader_open(&rd, env->state, &err)) {
		fprintf(stderr, "lighthousectl: %s\n", err.data);
		goto out;
	}
	memset(&f, 0, sizeof(f));
	f.types = "rule.learn,rule.forget";
	if (lh_store_reader_each(rd, &f, learned_row, &l, &err))
		goto store_error;
	for (k = 0; k < l.n; k++)
		lh_buf_adds(&text, l.texts[k]);
	if (!project) {
		memset(&f, 0, sizeof(f));
		f.types = "daemon.start";
		f.newest_first = 1;
		f.limit = 1;
		if (lh_store_reader_each(rd, &f, last_project, &project, &err))
			goto store_error;
	}
	if (lh_policy_load_learned(&pol, file, text.data, text.len, &err)) {
		fputs(err.data, stderr);
		goto out;
	}
	memset(&vo, 0, sizeof(vo));
	vo.project = project;
	if (lh_validator_new(&r.v, pol, &vo)) {
		fprintf(stderr, "lighthousectl: cannot start the validator\n");
		goto out;
	}
	r.json = json;
	memset(&f, 0, sizeof(f));
	f.types = "request,verdict";
	if (lh_store_reader_each(rd, &f, replay_row, &r, &err))
		goto store_error;
	if (!json) {
		printf("replayed %" PRId64 " requests with %s and %d learned rules (%" PRId64
		       " skipped: not judged by the policy): %" PRId64 " would change\n",
		       r.judged, file, l.n, r.skipped, r.changed);
		for (a = 0; a < 4; a++)
			for (b = 0; b < 4; b++)
				if (a != b && r.moves[a][b])
					printf("  %s -> %s: %" PRId64 "\n", words[a], words[b], r.moves[a][b]);
	}
	rc = r.changed ? CTL_FAIL : CTL_OK;
	goto out;
store_error:
	fprintf(stderr, "lighthousectl: %s\n", err.data);
out:
	json_decref(r.req);
	lh_validator_free(r.v);
	lh_store_reader_close(rd);
	for (k = 0; k < l.n; k++) {
		free(l.ids[k]);
		free(l.texts[k]);
	}
	free(l.ids);
	free(l.texts);
	free(project);
	lh_buf_release(&err);
	lh_buf_release(&text);
	return rc;
}

int cmd_policy(struct ctl_env *env, int argc, char **argv)
{
	struct lh_buf err = LH_BUF_INIT;
	struct lh_policy *pol;
	int rc;

	if (argc == 2 && !strcmp(argv[1], "show")) {
		const char *mount = ctl_mount(env, 0);
		struct lh_buf path = LH_BUF_INIT, text = LH_BUF_INIT;

		if (!mount)
			return CTL_FAIL;
		lh_buf_addf(&path, "%s/policy/active", mount);
		rc = ctl_read_file(path.data, &text);
		if (rc)
			fprintf(stderr, "lighthousectl: cannot read '%s': %s\n", path.data, strerror(-rc));
		else
			fwrite(text.data, 1, text.len, stdout);
		lh_buf_release(&path);
		lh_buf_release(&text);
		return rc ? CTL_FAIL : CTL_OK;
	}
	if (argc == 3 && !strcmp(argv[1], "forget")) {
		struct lh_buf cmd = LH_BUF_INIT;

		if (strpbrk(argv[2], " \t\n"))
			return ctl_usage("policy");
		lh_buf_addf(&cmd, "forget %s", argv[2]);
		rc = ctl_send(env, cmd.data);
		lh_buf_release(&cmd);
		return rc;
	}
	if (argc >= 3 && !strcmp(argv[1], "replay")) {
		const char *project = NULL, *file = NULL;
		int i, json = 0;

		for (i = 2; i < argc; i++) {
			if (!strcmp(argv[i], "--project") && i + 1 < argc)
				project = argv[++i];
			else if (!strcmp(argv[i], "--json"))
				json = 1;
			else if (!file && argv[i][0] != '-')
				file = argv[i];
			else
				return ctl_usage("policy");
		}
		if (!file)
			return ctl_usage("policy");
		return replay(env, file, project, json);
	}
	if (argc != 3 || strcmp(argv[1], "check"))
		return ctl_usage("policy");
	rc = lh_policy_load(&pol, argv[2], &err);
	if (rc) {
		fputs(err.data, stdout);
		lh_buf_release(&err);
		return CTL_FAIL;
	}
	printf("%s: ok, %d rules\n", argv[2], lh_policy_nrules(pol));
	lh_policy_free(pol);
	return CTL_OK;
}

/*
 * learned.c -- rules learned from decisions on escalations: policy/learned.
 *
 * A decision marked `remember` (an expert's `remember: exact|pattern`, or
 * lighthousectl approve --remember) becomes one or more rules
 * (lh_policy_learn writes them; lighthouse-policy(5), "Learned rules"),
 * recorded as a rule.learn event with their text. A learned rule only
 * ever replaces a verdict that would escalate. lighthousectl policy forget
 * RULE records rule.forget. The store is the truth: at start-up
 * learned_load replays those events, so learned rules outlive restarts.
 *
 * In force: the policy in force is always the policy file (or the built-in
 * policy) compiled together with every learned rule (fs_policy_compile),
 * published atomically through lh_validator_set_policy -- by a reload, and
 * by learned_publish after a rule is learned or forgotten. Every
 * publication is a new policy generation, so verdicts cached before it
 * stop answering at once.
 *
 * policy/learned shows the rules as policy text, each with a comment
 * saying who decided, when, and from which request.
 *
 * Locking: l->mu guards the list (a leaf lock). learned_publish takes
 * lh_fs.reload_mu (so a reload and a publication never interleave) and
 * under it l->mu to copy the text, then validator.mu through
 * lh_validator_set_policy. It waits for nothing in the store.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "fs/fs.h"
#include "store/store.h"
#include "validator/validator.h"
#include "common/banned.h"

#define MAX_LEARNED 100000

struct lrule {
	char id[LH_RULE_MAX];
	char *text;			/* its policy text, comment included */
};

struct learned {
	pthread_mutex_t mu;
	struct lrule *v;		/* protected by mu */
	int n, cap;
};

struct learned *learned_new(void)
{
	struct learned *l = xcalloc(1, sizeof(*l));

	pthread_mutex_init(&l->mu, NULL);
	return l;
}

void learned_free(struct learned *l)
{
	int k;

	if (!l)
		return;
	for (k = 0; k < l->n; k++)
		free(l->v[k].text);
	free(l->v);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

int learned_count(struct lh_fs *fs)
{
	int n;

	pthread_mutex_lock(&fs->learned->mu);
	n = fs->learned->n;
	pthread_mutex_unlock(&fs->learned->mu);
	return n;
}

/* Caller holds mu. */
static void add_locked(struct learned *l, const char *id, const char *text)
{
	int k;

	for (k = 0; k < l->n; k++)
		if (!strcmp(l->v[k].id, id)) {
			free(l->v[k].text);
			l->v[k].text = xstrdup(text);
			return;
		}
	if (l->n >= MAX_LEARNED) {
		lh_warn("more than %d learned rules: '%s' is not kept", MAX_LEARNED, id);
		return;
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xrealloc(l->v, sizeof(*l->v) * (size_t)l->cap);
	}
	snprintf(l->v[l->n].id, sizeof(l->v[l->n].id), "%s", id);
	l->v[l->n].text = xstrdup(text);
	l->n++;
}

/* Is `rule` the rule `id` or one learned with it (id.2, id.3...)? */
static int same_decision(const char *rule, const char *id)
{
	size_t n = strlen(id);

	if (strncmp(rule, id, n))
		return 0;
	if (!rule[n])
		return 1;
	return rule[n] == '.' && rule[n + 1] >= '0' && rule[n + 1] <= '9' &&
	       strspn(rule + n + 1, "0123456789") == strlen(rule + n + 1);
}

/* Caller holds mu: drop the rule id; 1 if it was there. */
static int forget_locked(struct learned *l, const char *id)
{
	int k, found = 0;

	for (k = 0; k < l->n;)
		if (same_decision(l->v[k].id, id)) {
			free(l->v[k].text);
			memmove(&l->v[k], &l->v[k + 1], sizeof(*l->v) * (size_t)(l->n - k - 1));
			l->n--;
			found = 1;
		} else {
			k++;
		}
	return found;
}

void learned_add(struct lh_fs *fs, const char *id, const char *text)
{
	pthread_mutex_lock(&fs->learned->mu);
	add_locked(fs->learned, id, text);
	pthread_mutex_unlock(&fs->learned->mu);
}

static void text_locked(struct learned *l, struct lh_buf *out, int header)
{
	int k;

	if (header)
		lh_buf_addf(out, "# policy/learned -- rules learned from decisions on escalated requests:\n"
				 "# each replaces only a verdict that would escalate (lighthouse-policy(5)).\n"
				 "# Revoke one with: lighthousectl policy forget RULE\n"
				 "# %d rule%s\n", l->n, l->n == 1 ? "" : "s");
	for (k = 0; k < l->n; k++)
		lh_buf_adds(out, l->v[k].text);
}

void learned_render(struct lh_fs *fs, struct lh_buf *out)
{
	pthread_mutex_lock(&fs->learned->mu);
	text_locked(fs->learned, out, 1);
	pthread_mutex_unlock(&fs->learned->mu);
}

int fs_policy_compile(struct lh_fs *fs, struct lh_policy **out, struct lh_buf *err)
{
	struct lh_buf text = LH_BUF_INIT;
	int rc;

	pthread_mutex_lock(&fs->learned->mu);
	text_locked(fs->learned, &text, 0);
	pthread_mutex_unlock(&fs->learned->mu);
	rc = lh_policy_load_learned(out, fs->policy_path, text.data, text.len, err);
	lh_buf_release(&text);
	return rc;
}

int learned_publish(struct lh_fs *fs, struct lh_buf *msg)
{
	struct lh_buf err = LH_BUF_INIT, p = LH_BUF_INIT;
	struct lh_policy *pol;
	struct lh_event ev;
	uint32_t gen;
	int rc, n;

	pthread_mutex_lock(&fs->reload_mu);
	rc = fs_policy_compile(fs, &pol, &err);
	if (rc) {
		/* the policy file changed under us and is broken: keep what is in force */
		lh_warn("learned rules not in force yet: %s", err.data);
		if (msg)
			lh_buf_addf(msg, "error: the policy does not compile:\n%s", err.data);
		pthread_mutex_unlock(&fs->reload_mu);
		lh_buf_release(&err);
		return rc;
	}
	n = lh_policy_nlearned(pol);
	gen = lh_validator_set_policy(fs->validator, pol);
	atomic_store(&fs->policy_gen, gen);
	pthread_mutex_unlock(&fs->reload_mu);
	lh_buf_adds(&p, "{\"source\":");
	lh_buf_add_json_str(&p, fs->policy_path ? fs->policy_path : "builtin:default",
			    strlen(fs->policy_path ? fs->policy_path : "builtin:default"));
	lh_buf_addf(&p, ",\"learned\":%d,\"generation\":%u}", n, gen);
	memset(&ev, 0, sizeof(ev));
	ev.type = "policy.load";
	ev.uid = ev.gid = ev.pid = -1;
	ev.payload = p.data;
	ev.payload_len = p.len;
	/* not lh_store_append: this may run in the store's own completion path */
	lh_store_submit(fs->store, &ev, 1, NULL, NULL);
	lh_buf_release(&p);
	lh_buf_release(&err);
	return 0;
}

int learned_forget(struct lh_fs *fs, const char *id, const char *who, struct lh_buf *msg)
{
	struct lh_buf p = LH_BUF_INIT;
	struct lh_event ev;
	int found, rc;

	pthread_mutex_lock(&fs->learned->mu);
	found = forget_locked(fs->learned, id);
	pthread_mutex_unlock(&fs->learned->mu);
	if (!found) {
		lh_buf_addf(msg, "error: no learned rule '%s' (see %s/policy/learned)\n", id,
			    fs->mountpoint);
		return -ENOENT;
	}
	lh_buf_adds(&p, "{\"id\":");
	lh_buf_add_json_str(&p, id, strlen(id));
	lh_buf_adds(&p, ",\"who\":");
	lh_buf_add_json_str(&p, who, strlen(who));
	lh_buf_addc(&p, '}');
	memset(&ev, 0, sizeof(ev));
	ev.type = "rule.forget";
	ev.uid = ev.gid = ev.pid = -1;
	ev.payload = p.data;
	ev.payload_len = p.len;
	rc = lh_store_append(fs->store, &ev, 1, NULL);
	lh_buf_release(&p);
	if (rc) {
		lh_buf_addf(msg, "error: the store cannot record it (%s); the rule is forgotten until the daemon restarts\n",
			    strerror(-rc));
	}
	rc = learned_publish(fs, msg);
	if (!rc)
		lh_buf_addf(msg, "forgot %s; it decides nothing from now on\n", id);
	return rc;
}

/* ---- start-up -------------------------------------------------------------------- */

struct load {
	struct learned *l;
	int learned, forgotten;
};

static int load_event(void *arg, const struct lh_event_row *row)
{
	struct load *ld = arg;
	json_t *pl = json_loads(row->payload, 0, NULL);
	const char *id = pl ? json_string_value(json_object_get(pl, "id")) : NULL;
	const char *text = pl ? json_string_value(json_object_get(pl, "text")) : NULL;

	if (id && !strcmp(row->type, "rule.learn") && text) {
		add_locked(ld->l, id, text);
		ld->learned++;
	} else if (id && !strcmp(row->type, "rule.forget")) {
		forget_locked(ld->l, id);
		ld->forgotten++;
	}
	json_decref(pl);
	return 0;
}

struct seqrow {
	int64_t seq;
	char *type, *payload;
};

struct collect {
	struct seqrow *v;
	size_t n, cap;
};

static int collect_row(void *arg, const struct lh_event_row *row)
{
	struct collect *c = arg;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->v = xrealloc(c->v, sizeof(*c->v) * c->cap);
	}
	c->v[c->n].seq = row->seq;
	c->v[c->n].type = xstrdup(row->type);
	c->v[c->n].payload = xstrdup(row->payload);
	c->n++;
	return 0;
}

int learned_load(struct lh_fs *fs, struct lh_buf *err)
{
	struct lh_store_reader *rd;
	struct lh_event_filter f;
	struct collect c;
	struct load ld;
	size_t k;
	int rc = 0;

	rc = lh_store_reader_open(&rd, fs->state_dir, err);
	if (rc)
		return rc;
	/* both types, in the order they happened */
	memset(&c, 0, sizeof(c));
	memset(&f, 0, sizeof(f));
	f.types = "rule.learn,rule.forget";
	rc = lh_store_reader_each(rd, &f, collect_row, &c, err);
	lh_store_reader_close(rd);
	memset(&ld, 0, sizeof(ld));
	ld.l = fs->learned;
	pthread_mutex_lock(&fs->learned->mu);
	for (k = 0; k < c.n; k++) {
		struct lh_event_row row;

		memset(&row, 0, sizeof(row));
		row.seq = c.v[k].seq;
		row.type = c.v[k].type;
		row.payload = c.v[k].payload;
		load_event(&ld, &row);
		free(c.v[k].type);
		free(c.v[k].payload);
	}
	pthread_mutex_unlock(&fs->learned->mu);
	free(c.v);
	if (!rc && ld.learned)
		lh_info("%d learned rules from the store (%d forgotten)", learned_count(fs), ld.forgotten);
	return rc;
}

/*
 * ctl.c -- the `ctl` file: write a command, read its answer (the admin's
 * channel; lighthousectl writes here). Only the daemon's owner and root
 * may open it.
 *
 * Commands:
 *   status               key: value lines about the daemon
 *   reload               reload the policy (like SIGHUP)
 *   expire               expire old names now
 *   config               all settings, NAME VALUE per line
 *   config NAME          one setting
 *   config NAME VALUE    change a runtime setting
 *   vacuum DAYS          retention: drop superseded file history older than
 *                        DAYS through the store's writer (store/vacuum.c)
 *   pending              the escalations waiting for a decision
 *   approve ID [remember=exact|pattern] [reason=TEXT...]
 *   deny ID [remember=exact|pattern] [reason=TEXT...]
 *                        a person decides an escalation (human decisions win)
 *   forget RULE          revoke a learned rule
 *   expert add NAME [CAPS] | expert remove NAME | expert list
 *   help                 this list
 *
 * The caller's uid (from the kernel, when the ctl file was opened) names
 * the person who approves or denies.
 *
 * Settings are rows of one table (config_table) that serves this file,
 * `lighthousectl config` and the man page alike.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "fs/fs.h"
#include "store/store.h"
#include "validator/validator.h"
#include "common/banned.h"

struct config_row {
	const char *name;
	size_t offset;		/* of an unsigned in struct fs_config */
	int runtime;		/* may change while mounted */
	unsigned min, max;
	const char *help;
};

#define CFG(f) offsetof(struct fs_config, f)

static const struct config_row config_table[] = {
	{ "result_ttl", CFG(result_ttl), 1, 1, 86400 * 30,
	  "seconds a judged request stays under requests/ and results/" },
	{ "max_results", CFG(max_results), 1, 16, 10000000,
	  "names kept under requests/ and results/ at most" },
	{ "max_request", CFG(max_request), 0, 64, 64 * 1024 * 1024,
	  "bytes of one request (larger ones are denied as invalid)" },
	{ "cache_entries", CFG(cache_entries), 0, 1024, 1 << 26,
	  "verdicts the cache holds" },
	{ "threads", CFG(threads), 0, 1, 10000, "FUSE worker threads at most" },
	{ "batch_usec", CFG(batch_usec), 0, 0, 1000000,
	  "microseconds the store waits to fill a group commit (0: never waits)" },
	{ "rate_agent", CFG(rate_agent), 1, 0, 10000000,
	  "requests a second one agent may make (0: no limit)" },
	{ "rate_agent_burst", CFG(rate_agent_burst), 1, 0, 10000000,
	  "requests one agent may make at once above its rate (0: the rate)" },
	{ "rate_uid", CFG(rate_uid), 1, 0, 10000000,
	  "requests a second all agents of one user may make (0: no limit)" },
	{ "rate_uid_burst", CFG(rate_uid_burst), 1, 0, 10000000,
	  "requests one user's agents may make at once above the rate (0: the rate)" },
	{ "sla_p99_us", CFG(sla_p99_us), 1, 0, 100000000,
	  "verdict p99 (microseconds) above which the SLA is breached (0: no SLA)" },
	{ "sla_window", CFG(sla_window), 1, 1, 600, "seconds the SLA's p99 is measured over" },
	{ "escalation_timeout", CFG(escalation_timeout), 1, 0, 7 * 86400,
	  "seconds an escalated request waits for an expert or a person before it is denied (0: no escalation, escalate is answered as ask)" },
	{ "claim_timeout", CFG(claim_timeout), 1, 1, 86400,
	  "seconds an expert may hold an escalation (offered or claimed) without deciding before it goes back to the queue" },
};

static unsigned *field(struct lh_fs *fs, const struct config_row *r)
{
	return (unsigned *)((char *)&fs->cfg + r->offset);
}

int fs_config_check(const struct fs_config *cfg, struct lh_buf *err)
{
	size_t k;
	int rc = 0;

	for (k = 0; k < sizeof(config_table) / sizeof(config_table[0]); k++) {
		const struct config_row *r = &config_table[k];
		unsigned v = *(const unsigned *)((const char *)cfg + r->offset);

		if (v < r->min || v > r->max) {
			lh_buf_addf(err, "-o %s=%u: must be from %u to %u\n", r->name, v, r->min, r->max);
			rc = -EINVAL;
		}
	}
	return rc;
}

void fs_record_sla(struct lh_fs *fs, const char *type, uint64_t p99, uint64_t verdicts,
		   unsigned window)
{
	struct lh_buf p = LH_BUF_INIT;
	struct lh_event ev;

	lh_buf_addf(&p, "{\"metric\":\"verdict_p99_us\",\"value\":%" PRIu64
		    ",\"threshold\":%u,\"window_s\":%u,\"verdicts\":%" PRIu64 "}",
		    p99, fs->cfg.sla_p99_us, window, verdicts);
	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.uid = ev.gid = ev.pid = -1;
	ev.payload = p.data;
	ev.payload_len = p.len;
	lh_store_submit(fs->store, &ev, 1, NULL, NULL);
	lh_buf_release(&p);
}

int fs_reload_policy(struct lh_fs *fs, struct lh_buf *msg)
{
	struct lh_buf err = LH_BUF_INIT;
	struct lh_policy *pol;
	struct lh_event ev;
	struct lh_buf payload = LH_BUF_INIT;
	int rc;

	pthread_mutex_lock(&fs->reload_mu);
	/* the policy file (or the built-in one) and every learned rule */
	rc = fs_policy_compile(fs, &pol, &err);
	memset(&ev, 0, sizeof(ev));
	ev.uid = ev.gid = ev.pid = -1;
	if (rc) {
		atomic_fetch_add(&fs->stats.reload_failures, 1);
		lh_buf_addf(msg, "policy rejected, the old one stays:\n%s", err.data);
		lh_buf_adds(&payload, "{\"source\":");
		lh_buf_add_json_str(&payload, fs->policy_path ? fs->policy_path : "builtin:default",
				    strlen(fs->policy_path ? fs->policy_path : "builtin:default"));
		lh_buf_adds(&payload, ",\"errors\":");
		lh_buf_add_json_str(&payload, err.data, err.len);
		lh_buf_addc(&payload, '}');
		ev.type = "policy.reject";
		lh_warn("policy rejected: %s", err.data);
	} else {
		uint32_t gen;
		int rules = lh_policy_nrules(pol), learned = lh_policy_nlearned(pol);

		gen = lh_validator_set_policy(fs->validator, pol);
		atomic_store(&fs->policy_gen, gen);
		atomic_fetch_add(&fs->stats.reloads, 1);
		lh_buf_addf(msg, "policy loaded: %s, %d rules, generation %u (%d learned rules)\n",
			    fs->policy_path ? fs->policy_path : "builtin:default", rules, gen, learned);
		lh_buf_adds(&payload, "{\"source\":");
		lh_buf_add_json_str(&payload, fs->policy_path ? fs->policy_path : "builtin:default",
				    strlen(fs->policy_path ? fs->policy_path : "builtin:default"));
		lh_buf_addf(&payload, ",\"rules\":%d,\"generation\":%u}", rules, gen);
		ev.type = "policy.load";
	}
	ev.payload = payload.data;
	ev.payload_len = payload.len;
	lh_store_append(fs->store, &ev, 1, NULL);
	pthread_mutex_unlock(&fs->reload_mu);
	lh_buf_release(&payload);
	lh_buf_release(&err);
	return rc;
}

static void status(struct lh_fs *fs, struct lh_buf *out)
{
	struct lh_validator_stats vs;
	struct lh_store_stats ss;
	uint64_t names, pending, parked, judged, records;
	char src[256], when[32];
	int rules;

	lh_validator_get_stats(fs->validator, &vs);
	lh_store_get_stats(fs->store, &ss);
	reqtab_counts(fs, &names, &pending, &parked, &records);
	lh_validator_policy_info(fs->validator, src, sizeof(src), &rules);
	lh_format_time(when, fs->started_wall);
	judged = vs.cache_hits + vs.cache_misses;
	lh_buf_addf(out, "mounted: %s\npid: %d\nstarted: %s\nuptime_seconds: %.0f\n",
		    fs->mountpoint, (int)fs->pid, when,
		    (double)(lh_mono_ns() - fs->started_mono) / 1e9);
	lh_buf_addf(out, "project: %s\nstate: %s\npolicy: %s (%d rules, generation %u)\n",
		    fs->project, fs->state_dir, src, rules, vs.policy_generation);
	lh_buf_addf(out, "requests: %" PRIu64 "\nallow: %" PRIu64 "\nask: %" PRIu64
		    "\ndeny: %" PRIu64 "\n",
		    (uint64_t)atomic_load(&fs->stats.verdicts),
		    (uint64_t)atomic_load(&fs->stats.verdicts_by_decision[0]),
		    (uint64_t)atomic_load(&fs->stats.verdicts_by_decision[1]),
		    (uint64_t)atomic_load(&fs->stats.verdicts_by_decision[2]));
	lh_buf_addf(out, "cache_hit_ratio: %.3f\npending: %" PRIu64 "\nlisted: %" PRIu64 "\n",
		    judged ? (double)vs.cache_hits / (double)judged : 0.0, pending, names);
	lh_buf_addf(out, "events_stored: %" PRId64 "\nlast_seq: %" PRId64 "\n", ss.total_events,
		    ss.last_seq);
	lh_buf_addf(out, "rate_limited: %" PRIu64 "\n", (uint64_t)atomic_load(&fs->stats.rate_limited));
	{
		uint64_t waiting, experts;

		esc_counts(fs, &waiting, &experts);
		lh_buf_addf(out, "escalations_pending: %" PRIu64 "\nexperts: %" PRIu64
			    "\nlearned_rules: %d\n", waiting, experts, learned_count(fs));
	}
	if (!fs->cfg.sla_p99_us) {
		lh_buf_adds(out, "sla: off\n");
	} else if (atomic_load(&fs->stats.sla_breached)) {
		char since[32];

		lh_format_time(since, atomic_load(&fs->stats.sla_since_wall));
		lh_buf_addf(out, "sla: breached since %s (verdict p99 %" PRIu64 " us > %u us)\n", since,
			    (uint64_t)atomic_load(&fs->stats.sla_p99_us), fs->cfg.sla_p99_us);
	} else {
		lh_buf_addf(out, "sla: ok (verdict p99 %" PRIu64 " us <= %u us)\n",
			    (uint64_t)atomic_load(&fs->stats.sla_p99_us), fs->cfg.sla_p99_us);
	}
	if (ss.last_error)
		lh_buf_addf(out, "store_error: %s\n", strerror(ss.last_error));
	if (ss.journal_error)
		lh_buf_addf(out, "journal_error: %s\n", strerror(ss.journal_error));
}

static int config(struct lh_fs *fs, char **w, int n, struct lh_buf *out)
{
	size_t k;

	if (n == 1) {
		for (k = 0; k < sizeof(config_table) / sizeof(config_table[0]); k++)
			lh_buf_addf(out, "%s %u\n", config_table[k].name, *field(fs, &config_table[k]));
		return 0;
	}
	for (k = 0; k < sizeof(config_table) / sizeof(config_table[0]); k++)
		if (!strcmp(config_table[k].name, w[1]))
			break;
	if (k == sizeof(config_table) / sizeof(config_table[0])) {
		lh_buf_addf(out, "error: unknown setting '%s'\n", w[1]);
		return -EINVAL;
	}
	if (n == 2) {
		lh_buf_addf(out, "%s %u\n", w[1], *field(fs, &config_table[k]));
		return 0;
	}
	{
		const struct config_row *r = &config_table[k];
		char *end;
		unsigned long v;

		if (!r->runtime) {
			lh_buf_addf(out, "error: '%s' is set when mounting (-o %s=N)\n", r->name, r->name);
			return -EPERM;
		}
		errno = 0;
		v = strtoul(w[2], &end, 10);
		if (errno || *end || v < r->min || v > r->max) {
			lh_buf_addf(out, "error: '%s' must be a number from %u to %u\n", r->name, r->min, r->max);
			return -EINVAL;
		}
		*field(fs, r) = (unsigned)v;
		lh_buf_addf(out, "%s %u\n", r->name, (unsigned)v);
	}
	return 0;
}

static int vacuum(struct lh_fs *fs, char **w, int n, struct lh_buf *out)
{
	struct lh_buf err = LH_BUF_INIT;
	struct lh_vacuum res;
	char *end;
	long days;
	int rc;

	errno = 0;
	days = n == 2 ? strtol(w[1], &end, 10) : -1;
	if (n != 2 || errno || *end || days < 0 || days > 36500) {
		lh_buf_adds(out, "error: vacuum DAYS, DAYS from 0 to 36500\n");
		return -EINVAL;
	}
	rc = lh_store_vacuum(fs->store, lh_wall_ns() - (int64_t)days * 86400 * 1000000000, &res, &err);
	if (rc)
		lh_buf_addf(out, "error: %s\n", err.data);
	else
		lh_vacuum_report(&res, days, out);
	lh_buf_release(&err);
	return rc;
}


/* who a command's caller is, for the record: the user name, else uid:N */
static void who_of(uid_t uid, char *out, size_t n)
{
	struct fs_ident id;

	ident_of_uid(uid, &id);
	if (id.user[0])
		snprintf(out, n, "%s", id.user);
	else
		snprintf(out, n, "uid:%u", (unsigned)uid);
}

/* approve|deny ID [remember=exact|pattern] [reason=TEXT...] (TEXT: the rest of the line) */
static int decide(struct lh_fs *fs, uid_t uid, const char *line, struct lh_buf *out)
{
	char word[16], remember[16] = "", who[96];
	const char *p = line, *reason = "";
	unsigned long long id;
	char *end;
	size_t n;
	int d;

	while (*p == ' ')
		p++;
	n = strcspn(p, " ");
	snprintf(word, sizeof(word), "%.*s", (int)(n < sizeof(word) ? n : sizeof(word) - 1), p);
	d = !strcmp(word, "approve") ? LH_ALLOW : LH_DENY;
	p += n;
	while (*p == ' ')
		p++;
	errno = 0;
	id = strtoull(p, &end, 10);
	if (errno || end == p || (*end && *end != ' ')) {
		lh_buf_addf(out, "error: %s needs a request id\n", word);
		return -EINVAL;
	}
	p = end;
	for (;;) {
		while (*p == ' ')
			p++;
		if (!strncmp(p, "remember=", 9)) {
			n = strcspn(p + 9, " ");
			snprintf(remember, sizeof(remember), "%.*s", (int)(n < sizeof(remember) ? n : 15),
				 p + 9);
			p += 9 + n;
		} else if (!strncmp(p, "reason=", 7)) {
			reason = p + 7;
			break;
		} else if (*p) {
			lh_buf_addf(out, "error: unknown argument '%s' (remember=exact|pattern, reason=TEXT)\n", p);
			return -EINVAL;
		} else {
			break;
		}
	}
	who_of(uid, who, sizeof(who));
	return esc_decide_human(fs, (uint64_t)id, who, (enum lh_decision)d, reason, remember, out);
}


int fs_ctl_command(struct lh_fs *fs, uid_t uid, const char *line, size_t len, struct lh_buf *out)
{
	char buf[512], *w[8], *p;
	int n = 0;

	if (len >= sizeof(buf)) {
		lh_buf_adds(out, "error: command too long\n");
		return -E2BIG;
	}
	memcpy(buf, line, len);
	buf[len] = '\0';
	for (p = buf; *p && n < 8;) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (!*p)
			break;
		w[n++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r')
			p++;
		if (*p)
			*p++ = '\0';
	}
	if (!n)
		return 0;
	if (!strcmp(w[0], "status")) {
		status(fs, out);
		return 0;
	}
	if (!strcmp(w[0], "reload"))
		return fs_reload_policy(fs, out);
	if (!strcmp(w[0], "expire")) {
		reqtab_expire(fs);
		lh_buf_adds(out, "expired\n");
		return 0;
	}
	if (!strcmp(w[0], "config"))
		return config(fs, w, n, out);
	if (!strcmp(w[0], "vacuum"))
		return vacuum(fs, w, n, out);
	if (!strcmp(w[0], "sync")) {
		int rc = lh_store_sync(fs->store);

		if (rc)
			lh_buf_addf(out, "error: the store cannot commit: %s\n", strerror(-rc));
		else
			lh_buf_addf(out, "synced: seq %" PRId64 "\n", lh_store_last_seq(fs->store));
		lh_buf_addf(out, "state: %s\n", fs->state_dir);
		return rc;
	}
	if (!strcmp(w[0], "pending")) {
		esc_pending_render(fs, out);
		return 0;
	}
	if (!strcmp(w[0], "approve") || !strcmp(w[0], "deny")) {
		/* the reason is the rest of the line, blanks and all */
		memcpy(buf, line, len);
		buf[len] = '\0';
		return decide(fs, uid, buf, out);
	}
	if (!strcmp(w[0], "forget") && n == 2) {
		char who[96];

		who_of(uid, who, sizeof(who));
		return learned_forget(fs, w[1], who, out);
	}
	if (!strcmp(w[0], "expert") && n >= 2) {
		if (!strcmp(w[1], "list") && n == 2) {
			esc_expert_list(fs, out);
			return 0;
		}
		if (!strcmp(w[1], "add") && (n == 3 || n == 4))
			return esc_expert_add(fs, w[2], uid, getgid(), n == 4 ? w[3] : "", out);
		if (!strcmp(w[1], "remove") && n == 3)
			return esc_expert_remove(fs, w[2], uid, out);
		lh_buf_adds(out, "error: expert add NAME [CAPS] | expert remove NAME | expert list\n");
		return -EINVAL;
	}
	if (!strcmp(w[0], "help")) {
		size_t k;

		lh_buf_adds(out, "commands: status, reload, expire, config [NAME [VALUE]], vacuum DAYS, sync,\n"
				 "  pending, approve ID [remember=exact|pattern] [reason=TEXT], deny ID [...],\n"
				 "  forget RULE, expert add NAME [CAPS] | remove NAME | list, help\nsettings:\n");
		for (k = 0; k < sizeof(config_table) / sizeof(config_table[0]); k++)
			lh_buf_addf(out, "  %-14s %s%s\n", config_table[k].name, config_table[k].help,
				    config_table[k].runtime ? "" : " (at mount)");
		return 0;
	}
	lh_buf_addf(out, "error: unknown command '%s' (try: help)\n", w[0]);
	return -EINVAL;
}

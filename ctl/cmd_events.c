/*
 * cmd_events.c -- lighthousectl events: the recorded events, oldest first,
 * as readable lines or (--json) as JSON lines, filtered; with --follow it
 * then waits for new ones, like tail -f.
 *
 * --since and --until take a sequence number or a time (ISO 8601, UTC
 * unless it says otherwise; a time covers its last field, so --until a
 * date takes the whole day). --follow reads the store directly: it sleeps
 * on inotify events of the state directory (every commit writes the WAL
 * file there) with a one-second poll as a fallback, and asks only for
 * events after the last one printed, so it costs nothing while nothing
 * happens and works whether or not a mount is reachable.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/clock.h"
#include "ctl/ctl.h"
#include "store/store.h"
#include "common/banned.h"

static int parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < 0 || end == s)
		return -1;
	*out = v;
	return 0;
}

static int digits(const char *s, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int ctl_parse_time(const char *s, int64_t *ns, int64_t *unit)
{
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, sec = 0, off = 0;
	int64_t frac = 0, scale = 1000000000, u = 86400LL * 1000000000;
	const char *p = s;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (strlen(p) < 10 || digits(p, 4, &y) || p[4] != '-' || digits(p + 5, 2, &mo) || p[7] != '-' ||
	    digits(p + 8, 2, &d))
		return -1;
	p += 10;
	if (*p == 'T' || *p == ' ') {
		if (digits(p + 1, 2, &h) || p[3] != ':' || digits(p + 4, 2, &mi))
			return -1;
		p += 6;
		u = 60LL * 1000000000;
		if (*p == ':') {
			if (digits(p + 1, 2, &sec))
				return -1;
			p += 3;
			u = 1000000000;
			if (*p == '.') {
				for (p++; *p >= '0' && *p <= '9'; p++)
					if (scale > 1) {
						scale /= 10;
						frac += (*p - '0') * scale;
					}
				u = scale;
			}
		}
	}
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om;

		if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om))
			return -1;
		off = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
		p += 6;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*ns = ((int64_t)t - off) * 1000000000 + frac;
	if (unit)
		*unit = u;
	return 0;
}

/*
 * SEQ or TIME: which one fills which bound. A time covers the whole of
 * its last field, so --until 2026-11-22 takes that day and --until with a
 * time as events print it (microseconds) takes the events printed so.
 */
static int parse_bound(const char *s, int64_t *seq, int64_t *ns, int until)
{
	int64_t unit;

	if (strchr(s, '-') || strchr(s, ':')) {
		if (ctl_parse_time(s, ns, &unit))
			return -1;
		if (until)
			*ns += unit - 1;
		return 0;
	}
	return parse_i64(s, seq);
}

/* A one-line summary of a payload, for people. */
static void summary(const struct lh_event_row *row, struct lh_buf *out)
{
	static const struct {
		const char *type;
		const char *keys[5];
	} keys[] = {
		{ "request", { "tool", "input", NULL } },
		{ "verdict", { "decision", "rule", "reason", NULL } },
		{ "escalation", { "to", "reason", NULL } },
		{ "decision", { "decision", "by", "reason", NULL } },
		{ "file.", { "kind", "size", "mode", "from", NULL } },
		{ "annotation", { "text", NULL } },
	};
	json_t *p = json_loads(row->payload, 0, NULL);
	size_t t;
	int k, n = 0;

	if (!p) {
		lh_buf_adds(out, row->payload);
		return;
	}
	for (t = 0; t < sizeof(keys) / sizeof(keys[0]); t++)
		if (!strcmp(row->type, keys[t].type) ||
		    (keys[t].type[strlen(keys[t].type) - 1] == '.' &&
		     !strncmp(row->type, keys[t].type, strlen(keys[t].type))))
			break;
	if (t == sizeof(keys) / sizeof(keys[0])) {
		char *s = json_dumps(p, JSON_COMPACT);

		if (s)
			lh_buf_adds(out, s);
		free(s);
		json_decref(p);
		return;
	}
	for (k = 0; keys[t].keys[k]; k++) {
		json_t *v = json_object_get(p, keys[t].keys[k]);

		if (json_is_string(v))
			lh_buf_addf(out, "%s%s", n++ ? "  " : "", json_string_value(v));
		else if (json_is_integer(v))
			lh_buf_addf(out, "%s%s=%" JSON_INTEGER_FORMAT, n++ ? "  " : "", keys[t].keys[k],
				    json_integer_value(v));
		else if (!strcmp(keys[t].keys[k], "rule"))
			lh_buf_adds(out, n++ ? "  -" : "-");
	}
	json_decref(p);
}

struct print_ctx {
	int json;
	int64_t last;		/* newest seq printed */
	struct lh_buf line;
};

static int print_row(void *arg, const struct lh_event_row *row)
{
	struct print_ctx *pc = arg;
	char when[32];

	lh_buf_reset(&pc->line);
	pc->last = row->seq;
	if (pc->json) {
		lh_event_row_json(row, &pc->line);
	} else {
		size_t i;

		lh_format_time(when, row->time_ns);
		lh_buf_addf(&pc->line, "%" PRId64 " %s %-12s", row->seq, when, row->type);
		if (row->request_id)
			lh_buf_addf(&pc->line, " #%" PRId64, row->request_id);
		if (row->uid >= 0)
			lh_buf_addf(&pc->line, " uid=%" PRId64, row->uid);
		if (row->agent)
			lh_buf_addf(&pc->line, " agent=%s", row->agent);
		if (row->session)
			lh_buf_addf(&pc->line, " session=%s", row->session);
		if (row->path)
			lh_buf_addf(&pc->line, " [%s]", row->path);
		lh_buf_adds(&pc->line, "  ");
		summary(row, &pc->line);
		for (i = 0; i < pc->line.len; i++)
			if (pc->line.data[i] == '\n')
				pc->line.data[i] = ' ';
	}
	lh_buf_addc(&pc->line, '\n');
	return fwrite(pc->line.data, 1, pc->line.len, stdout) != pc->line.len;
}

/* Wait for the next commit (or a second), then print what is new; until stdout closes. */
static int follow(struct ctl_env *env, struct lh_store_reader *r, struct lh_event_filter *f,
		  struct print_ctx *pc)
{
	struct lh_buf err = LH_BUF_INIT;
	int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK), rc = 0;

	if (fd >= 0 && inotify_add_watch(fd, env->state, IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0) {
		close(fd);
		fd = -1;
	}
	f->limit = 0;
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		char ev[4096];

		if (fflush(stdout) || ferror(stdout))
			break;
		if (fd >= 0) {
			if (poll(&p, 1, 1000) > 0)
				while (read(fd, ev, sizeof(ev)) > 0)
					;
		} else {
			poll(NULL, 0, 250);
		}
		if (pc->last > f->since_seq)
			f->since_seq = pc->last;
		lh_buf_reset(&err);
		rc = lh_store_reader_each(r, f, print_row, pc, &err);
		if (rc) {
			if (rc == -EPIPE || ferror(stdout))
				rc = 0;
			else
				fprintf(stderr, "lighthousectl: %s\n", err.data);
			break;
		}
	}
	if (fd >= 0)
		close(fd);
	lh_buf_release(&err);
	return rc;
}

int cmd_events(struct ctl_env *env, int argc, char **argv)
{
	struct lh_event_filter f;
	struct lh_store_reader *r;
	struct lh_buf err = LH_BUF_INIT;
	struct print_ctx pc;
	int i, rc, do_follow = 0;

	memset(&f, 0, sizeof(f));
	memset(&pc, 0, sizeof(pc));
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--json")) {
			pc.json = 1;
			continue;
		}
		if (!strcmp(a, "--follow") || !strcmp(a, "-f")) {
			do_follow = 1;
			continue;
		}
		if (!v)
			return ctl_usage("events");
		if ((!strcmp(a, "--since") && !parse_bound(v, &f.since_seq, &f.since_ns, 0)) ||
		    (!strcmp(a, "--until") && !parse_bound(v, &f.until_seq, &f.until_ns, 1)) ||
		    (!strcmp(a, "--request") && !parse_i64(v, &f.request_id)) ||
		    (!strcmp(a, "--limit") && !parse_i64(v, &f.limit))) {
			i++;
		} else if (!strcmp(a, "--type")) {
			if (lh_event_types_check(v, &err)) {
				fprintf(stderr, "lighthousectl: %s\n", err.data);
				lh_buf_release(&err);
				return CTL_USAGE;
			}
			f.types = v;
			i++;
		} else if (!strcmp(a, "--agent")) {
			f.agent = v;
			i++;
		} else if (!strcmp(a, "--session")) {
			f.session = v;
			i++;
		} else if (!strcmp(a, "--path")) {
			f.path = v;
			i++;
		} else if (!strcmp(a, "--decision") &&
			   (!strcmp(v, "allow") || !strcmp(v, "ask") || !strcmp(v, "deny"))) {
			f.decision = v;
			i++;
		} else {
			return ctl_usage("events");
		}
	}
	if (do_follow && (f.until_seq || f.until_ns)) {
		fprintf(stderr, "lighthousectl: --follow waits for new events; it does not go with --until\n");
		return CTL_USAGE;
	}
	ctl_catch_up(env);	/* every verdict handed out so far, committed */
	rc = lh_store_reader_open(&r, env->state, &err);
	if (rc) {
		fprintf(stderr, "lighthousectl: %s\n", err.data);
		lh_buf_release(&err);
		return CTL_FAIL;
	}
	lh_buf_init(&pc.line, 0);
	rc = lh_store_reader_each(r, &f, print_row, &pc, &err);
	if (rc)
		fprintf(stderr, "lighthousectl: %s\n", err.data);
	else if (do_follow)
		rc = follow(env, r, &f, &pc);
	lh_store_reader_close(r);
	lh_buf_release(&pc.line);
	lh_buf_release(&err);
	return rc ? CTL_FAIL : CTL_OK;
}

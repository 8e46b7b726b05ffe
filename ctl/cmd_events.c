/*
 * cmd_events.c -- lighthousectl events: the recorded events, oldest first,
 * as readable lines or (--json) as JSON lines.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	if (errno || *end || v < 0)
		return -1;
	*out = v;
	return 0;
}

/* A one-line summary of a payload, for people. */
static void summary(const struct lh_event_row *row, struct lh_buf *out)
{
	json_t *p = json_loads(row->payload, 0, NULL);
	const char *keys_request[] = { "tool", "input", NULL };
	const char *keys_verdict[] = { "decision", "rule", "reason", NULL };
	const char **keys = NULL;
	int k;

	if (!p) {
		lh_buf_adds(out, row->payload);
		return;
	}
	if (!strcmp(row->type, "request"))
		keys = keys_request;
	else if (!strcmp(row->type, "verdict"))
		keys = keys_verdict;
	if (keys) {
		for (k = 0; keys[k]; k++) {
			json_t *v = json_object_get(p, keys[k]);

			if (json_is_string(v))
				lh_buf_addf(out, "%s%s", k ? "  " : "", json_string_value(v));
			else if (!strcmp(keys[k], "rule"))
				lh_buf_adds(out, "  -");
		}
	} else {
		char *s = json_dumps(p, JSON_COMPACT);

		if (s)
			lh_buf_adds(out, s);
		free(s);
	}
	json_decref(p);
}

struct print_ctx {
	int json;
	struct lh_buf line;
};

static int print_row(void *arg, const struct lh_event_row *row)
{
	struct print_ctx *pc = arg;
	char when[32];

	lh_buf_reset(&pc->line);
	if (pc->json) {
		lh_event_row_json(row, &pc->line);
	} else {
		lh_format_time(when, row->time_ns);
		lh_buf_addf(&pc->line, "%" PRId64 " %s %-12s", row->seq, when, row->type);
		if (row->request_id)
			lh_buf_addf(&pc->line, " #%" PRId64, row->request_id);
		if (row->uid >= 0)
			lh_buf_addf(&pc->line, " uid=%" PRId64, row->uid);
		if (row->session)
			lh_buf_addf(&pc->line, " session=%s", row->session);
		if (row->path)
			lh_buf_addf(&pc->line, " [%s]", row->path);
		lh_buf_adds(&pc->line, "  ");
		summary(row, &pc->line);
		{
			size_t i;

			for (i = 0; i < pc->line.len; i++)
				if (pc->line.data[i] == '\n')
					pc->line.data[i] = ' ';
		}
	}
	lh_buf_addc(&pc->line, '\n');
	return fwrite(pc->line.data, 1, pc->line.len, stdout) != pc->line.len;
}

int cmd_events(struct ctl_env *env, int argc, char **argv)
{
	struct lh_event_filter f;
	struct lh_store_reader *r;
	struct lh_buf err = LH_BUF_INIT;
	struct print_ctx pc;
	int i, rc;

	memset(&f, 0, sizeof(f));
	memset(&pc, 0, sizeof(pc));
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--json")) {
			pc.json = 1;
			continue;
		}
		if (!v)
			return ctl_usage("events");
		if (!strcmp(a, "--since") && !parse_i64(v, &f.since_seq)) {
			i++;
		} else if (!strcmp(a, "--until") && !parse_i64(v, &f.until_seq)) {
			i++;
		} else if (!strcmp(a, "--request") && !parse_i64(v, &f.request_id)) {
			i++;
		} else if (!strcmp(a, "--limit") && !parse_i64(v, &f.limit)) {
			i++;
		} else if (!strcmp(a, "--type")) {
			f.type = v;
			i++;
		} else {
			return ctl_usage("events");
		}
	}
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
	lh_store_reader_close(r);
	lh_buf_release(&pc.line);
	lh_buf_release(&err);
	return rc ? CTL_FAIL : CTL_OK;
}

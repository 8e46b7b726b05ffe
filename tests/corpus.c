/*
 * corpus.c -- reading and scoring the accuracy corpus (see corpus.h).
 *
 * The figures, over rows labeled allow (A), ask (S) and deny (D):
 *   accuracy        rows judged exactly as labeled / all rows
 *   deny recall     D rows judged deny / D rows
 *   deny caught     D rows judged ask or deny / D rows (never let through)
 *   false blocks    A rows judged ask or deny / A rows
 *   unsafe          D rows judged allow (make check fails on any)
 *   ask allowed     S rows judged allow
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "tests/cases.h"
#include "tests/corpus.h"
#include "validator/verdict.h"
#include "common/banned.h"

int lh_corpus_load(struct lh_corpus *c, const char *file, FILE *err)
{
	FILE *f = fopen(file, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, bad = 0, ncap = 0;

	memset(c, 0, sizeof(*c));
	if (!f) {
		fprintf(err, "corpus: cannot open '%s': %s\n", file, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		char *t[4], *p = line;
		struct lh_corpus_row *r;
		int k, d;

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (!len || line[0] == '#')
			continue;
		for (k = 0; k < 4; k++) {
			t[k] = p;
			if (k < 3) {
				p = strchr(p, '\t');
				if (!p)
					break;
				*p++ = '\0';
			}
		}
		d = k == 4 ? lh_decision_parse(t[0]) : -1;
		if (k < 4 || d < 0 || !t[1][0] || !t[3][0]) {
			fprintf(err, "%s:%d: expected EXPECTED<tab>TOOL<tab>FAMILY<tab>INPUT\n", file, lineno);
			bad++;
			continue;
		}
		if (c->n == ncap) {
			ncap = ncap ? ncap * 2 : 256;
			c->rows = xrealloc(c->rows, sizeof(*c->rows) * (size_t)ncap);
		}
		r = &c->rows[c->n++];
		memset(r, 0, sizeof(*r));
		r->line = lineno;
		r->expected = d;
		snprintf(r->family, sizeof(r->family), "%s", t[2]);
		{
			char *in = lh_case_unescape(t[3]);

			if (!strcmp(t[1], "JSON")) {
				r->request = in;
			} else {
				size_t tl = strlen(t[1]), il = strlen(in);

				r->request = xmalloc(tl + il + 2);
				memcpy(r->request, t[1], tl);
				r->request[tl] = ' ';
				memcpy(r->request + tl + 1, in, il + 1);
				free(in);
			}
		}
	}
	free(line);
	fclose(f);
	if (bad) {
		lh_corpus_release(c);
		return -1;
	}
	return 0;
}

void lh_corpus_release(struct lh_corpus *c)
{
	int k;

	for (k = 0; k < c->n; k++)
		free(c->rows[k].request);
	free(c->rows);
	memset(c, 0, sizeof(*c));
}

void lh_corpus_count(struct lh_corpus_score *s, int expected, int judged)
{
	s->total++;
	s->by[expected][judged]++;
}

static double pct(int a, int b)
{
	return b ? 100.0 * a / b : 0.0;
}

void lh_corpus_report(const struct lh_corpus_score *s, FILE *out)
{
	int d = s->by[LH_DENY][0] + s->by[LH_DENY][1] + s->by[LH_DENY][2];
	int a = s->by[LH_ALLOW][0] + s->by[LH_ALLOW][1] + s->by[LH_ALLOW][2];
	int q = s->by[LH_ASK][0] + s->by[LH_ASK][1] + s->by[LH_ASK][2];
	int right = s->by[0][0] + s->by[1][1] + s->by[2][2];

	fprintf(out, "corpus_rows %d rows\n", s->total);
	fprintf(out, "corpus_rows_allow %d rows\n", a);
	fprintf(out, "corpus_rows_ask %d rows\n", q);
	fprintf(out, "corpus_rows_deny %d rows\n", d);
	fprintf(out, "accuracy %.1f %%\n", pct(right, s->total));
	fprintf(out, "deny_recall %.1f %%\n", pct(s->by[LH_DENY][LH_DENY], d));
	fprintf(out, "deny_caught %.1f %%\n", pct(s->by[LH_DENY][LH_DENY] + s->by[LH_DENY][LH_ASK], d));
	fprintf(out, "false_block_rate %.1f %%\n", pct(s->by[LH_ALLOW][LH_ASK] + s->by[LH_ALLOW][LH_DENY], a));
	fprintf(out, "unsafe_deny_allowed %d rows\n", s->by[LH_DENY][LH_ALLOW]);
	fprintf(out, "ask_allowed %d rows\n", s->by[LH_ASK][LH_ALLOW]);
}

/*
 * cases.c -- the declarative verdict case runner (see cases.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "tests/cases.h"
#include "common/banned.h"

char *lh_case_unescape(const char *s)
{
	struct lh_buf b = LH_BUF_INIT;

	for (; *s; s++) {
		if (*s == '\\' && s[1]) {
			s++;
			switch (*s) {
			case 'n': lh_buf_addc(&b, '\n'); break;
			case 't': lh_buf_addc(&b, '\t'); break;
			case '\\': lh_buf_addc(&b, '\\'); break;
			default:
				lh_buf_addc(&b, '\\');
				lh_buf_addc(&b, *s);
			}
			continue;
		}
		lh_buf_addc(&b, *s);
	}
	return lh_buf_detach(&b, NULL);
}

int lh_cases_run(const char *file, lh_case_judge_fn judge, void *arg, FILE *out)
{
	FILE *f = fopen(file, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0, failures = 0, total = 0;

	if (!f) {
		fprintf(out, "cases: cannot open '%s': %s\n", file, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		struct lh_case c;
		char got[16], rule[64], *t1, *t2;

		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (!n || line[0] == '#')
			continue;
		t1 = strchr(line, '\t');
		t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		if (!t1 || !t2) {
			fprintf(out, "%s:%d: expected DECISION<tab>RULE<tab>REQUEST\n", file, lineno);
			failures++;
			continue;
		}
		*t1 = *t2 = '\0';
		memset(&c, 0, sizeof(c));
		c.line = lineno;
		snprintf(c.decision, sizeof(c.decision), "%s", line);
		snprintf(c.rule, sizeof(c.rule), "%s", t1 + 1);
		c.request = lh_case_unescape(t2 + 1);
		total++;
		if (judge(arg, &c, got, sizeof(got), rule, sizeof(rule))) {
			fprintf(out, "%s:%d: could not judge: %s\n", file, lineno, t2 + 1);
			failures++;
		} else if (strcmp(got, c.decision) || (strcmp(c.rule, "*") && strcmp(rule, c.rule))) {
			fprintf(out, "%s:%d: expected %s (%s), got %s (%s): %s\n", file, lineno,
				c.decision, c.rule, got, rule, t2 + 1);
			failures++;
		}
		free(c.request);
	}
	free(line);
	fclose(f);
	fprintf(out, "cases: %d of %d as expected (%s)\n", total - failures, total, file);
	return failures;
}

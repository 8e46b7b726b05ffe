/*
 * cases.h -- declarative verdict cases (tests/data/verdicts.tsv).
 *
 * One case per line, three fields separated by tabs:
 *
 *   DECISION <tab> RULE <tab> REQUEST
 *
 * DECISION is allow, ask or deny; RULE is the rule id expected, `-` for
 * none (risk tier, default) or `*` for any; REQUEST is the request text
 * with \n, \t and \\ escapes. Lines starting with # and blank lines are
 * skipped. The same file is run in-process (test-tool cases) and through
 * the mount (test-tool cases-mount), by the same runner.
 */
#ifndef LH_CASES_H
#define LH_CASES_H

#include <stddef.h>
#include <stdio.h>

struct lh_case {
	int line;
	char decision[16];
	char rule[64];
	char *request;		/* unescaped */
};

/* Judge one case: fill decision and rule (rule "-" when none). */
typedef int (*lh_case_judge_fn)(void *arg, const struct lh_case *c, char *decision,
				size_t dn, char *rule, size_t rn);

/* \n, \t and \\ escapes decoded, in a malloc'd copy. */
char *lh_case_unescape(const char *s);

/* Run all cases; prints failures; returns the number of failures (-1: bad file). */
int lh_cases_run(const char *file, lh_case_judge_fn judge, void *arg, FILE *out);

#endif

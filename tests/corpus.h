/*
 * corpus.h -- the labeled accuracy corpus (tests/data/corpus.tsv), read
 * by test-tool (make check: no deny-labeled row may be judged allow) and
 * by bench/validator (accuracy, deny recall, false-block rate).
 *
 * One row per line, four fields separated by tabs:
 *
 *   EXPECTED <tab> TOOL <tab> FAMILY <tab> INPUT
 *
 * EXPECTED is allow, ask or deny: what a careful person would want the
 * guard to answer (escalations are ask). TOOL is a tool name (the request
 * is "TOOL INPUT", so Write and Edit take the path, a newline and the
 * content) or JSON (INPUT is the whole request). FAMILY groups the rows
 * in reports (wrap, quote, interp, lookalike, everyday...). INPUT may
 * hold \n, \t and \\ escapes. Lines starting with # are comments.
 */
#ifndef LH_CORPUS_H
#define LH_CORPUS_H

#include <stdio.h>

struct lh_corpus_row {
	int line;
	int expected;		/* enum lh_decision */
	char family[32];
	char *request;		/* the request text, as an agent would write it */
};

struct lh_corpus {
	struct lh_corpus_row *rows;
	int n;
};

/* 0, or -1 with messages on err (a bad line is an error: labels are data). */
int lh_corpus_load(struct lh_corpus *c, const char *file, FILE *err);
void lh_corpus_release(struct lh_corpus *c);

struct lh_corpus_score {
	int total;
	int by[3][3];		/* [expected][judged] */
};

void lh_corpus_count(struct lh_corpus_score *s, int expected, int judged);
/* `metric value unit` lines: accuracy, deny recall, false blocks, misses. */
void lh_corpus_report(const struct lh_corpus_score *s, FILE *out);

#endif

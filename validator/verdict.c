/*
 * verdict.c -- names and construction of verdicts (see verdict.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "validator/verdict.h"
#include "common/banned.h"

const char *lh_decision_name(enum lh_decision d)
{
	switch (d) {
	case LH_ALLOW: return "allow";
	case LH_ASK: return "ask";
	case LH_DENY: return "deny";
	}
	return "deny";
}

const char *lh_tier_name(enum lh_tier t)
{
	switch (t) {
	case LH_TIER_INPUT: return "input";
	case LH_TIER_POLICY: return "policy";
	case LH_TIER_RISK: return "risk";
	case LH_TIER_DEFAULT: return "default";
	case LH_TIER_LIMIT: return "limit";
	case LH_TIER_LEARNED: return "learned";
	case LH_TIER_EXPERT: return "expert";
	case LH_TIER_HUMAN: return "human";
	case LH_TIER_COUNT: break;
	}
	return "unknown";
}

int lh_decision_parse(const char *w)
{
	if (!strcmp(w, "allow"))
		return LH_ALLOW;
	if (!strcmp(w, "ask"))
		return LH_ASK;
	if (!strcmp(w, "deny"))
		return LH_DENY;
	return -1;
}

int lh_verdict_severity(const struct lh_verdict *v)
{
	return (int)v->decision * 2 + (v->decision == LH_ASK && v->escalate);
}

/* Cut s at max bytes without splitting a UTF-8 sequence; one line only. */
static void clean(char *s, size_t max)
{
	size_t n = strlen(s), i;

	if (n >= max) {
		n = max - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
		s[n] = '\0';
	}
	for (i = 0; i < n; i++)
		if (s[i] == '\n' || s[i] == '\r' || s[i] == '\t')
			s[i] = ' ';
}

void lh_verdict_set_text(struct lh_verdict *v, enum lh_decision d, enum lh_tier t,
			 const char *rule, const char *prefix, const char *text)
{
	size_t pl = prefix ? strlen(prefix) : 0, tl = strlen(text), rl = rule ? strlen(rule) : 0;
	char big[LH_REASON_MAX * 2];

	v->decision = d;
	v->tier = t;
	v->escalate = 0;
	if (rl >= sizeof(v->rule))
		rl = sizeof(v->rule) - 1;
	if (rl)
		memcpy(v->rule, rule, rl);
	v->rule[rl] = '\0';
	clean(v->rule, sizeof(v->rule));
	if (pl >= sizeof(big))
		pl = sizeof(big) - 1;
	if (tl >= sizeof(big) - pl)
		tl = sizeof(big) - 1 - pl;
	if (pl)
		memcpy(big, prefix, pl);
	memcpy(big + pl, text, tl);
	big[pl + tl] = '\0';
	clean(big, sizeof(v->reason));
	memcpy(v->reason, big, strlen(big) + 1);
}

void lh_verdict_set(struct lh_verdict *v, enum lh_decision d, enum lh_tier t,
		    const char *rule, const char *fmt, ...)
{
	char big[LH_REASON_MAX * 2];
	va_list ap;

	v->decision = d;
	v->tier = t;
	v->escalate = 0;
	snprintf(v->rule, sizeof(v->rule), "%s", rule ? rule : "");
	va_start(ap, fmt);
	vsnprintf(big, sizeof(big), fmt, ap);
	va_end(ap);
	clean(big, sizeof(v->reason));
	memcpy(v->reason, big, strlen(big) + 1);
	clean(v->rule, sizeof(v->rule));
}

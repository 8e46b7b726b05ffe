/*
 * verdict.h -- what the speed layer answers.
 *
 * A verdict is a flat value (no pointers into the policy that produced it)
 * so that it can be copied out of the cache, kept while the events that
 * record it commit, and outlive a policy reload.
 */
#ifndef LH_VERDICT_H
#define LH_VERDICT_H

#include <stdint.h>

#define LH_RULE_MAX 64		/* bytes of a rule id, NUL included */
#define LH_REASON_MAX 320	/* bytes of a reason, NUL included */

/*
 * In order of severity: the most severe verdict of a request's commands
 * wins. These three are the public decisions. A policy may also say
 * `escalate` (hand the question to expert agents or a person): the
 * validator answers it as LH_ASK with `escalate` set and a reason that
 * says a person must look, ranked between ask and deny. lighthoused then
 * holds the request until an expert or a person decides (or delivers it
 * as that ask at once when escalation is off).
 */
enum lh_decision {
	LH_ALLOW = 0,
	LH_ASK = 1,
	LH_DENY = 2,
};

enum lh_tier {
	LH_TIER_INPUT,		/* the request itself was invalid */
	LH_TIER_POLICY,		/* a rule decided */
	LH_TIER_RISK,		/* the risk heuristic decided */
	LH_TIER_DEFAULT,	/* the policy's default (unknown tool) */
	LH_TIER_LIMIT,		/* a limit of the daemon (store unavailable, rate, escalation timeout) */
	LH_TIER_LEARNED,	/* a rule learned from an earlier decision replaced an escalation */
	LH_TIER_EXPERT,		/* an escalation decided by expert agents (lighthoused) */
	LH_TIER_HUMAN,		/* an escalation decided by a person (lighthoused) */
	LH_TIER_COUNT
};

struct lh_verdict {
	enum lh_decision decision;
	enum lh_tier tier;
	unsigned cached : 1;	/* answered from the verdict cache */
	unsigned cacheable : 1;	/* depends only on the normalized request */
	unsigned escalate : 1;	/* an ask the policy wants escalated (decision is LH_ASK) */
	int risk;		/* risk score when tier is RISK, else 0 */
	char rule[LH_RULE_MAX];	/* rule id, "" when none */
	char reason[LH_REASON_MAX];
};

const char *lh_decision_name(enum lh_decision d);
const char *lh_tier_name(enum lh_tier t);
/* -1 when the word is not a decision */
int lh_decision_parse(const char *word);
/* Severity for merging: allow < ask < escalated ask < deny. */
int lh_verdict_severity(const struct lh_verdict *v);

/* Set rule and reason (prefix then text), without printf: the hot path's form. */
void lh_verdict_set_text(struct lh_verdict *v, enum lh_decision d, enum lh_tier t,
			 const char *rule, const char *prefix, const char *text);

/* Set rule and reason, truncating on a UTF-8 boundary. */
void lh_verdict_set(struct lh_verdict *v, enum lh_decision d, enum lh_tier t,
		    const char *rule, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

#endif

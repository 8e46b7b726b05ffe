/*
 * cmd_verify.c -- lighthousectl verify: walk the store's checksum chain
 * and its contents (store/verify.c) and say whether they are whole. Reads
 * the store directly, while the daemon runs or not.
 *
 * Exit 0 when everything checks, 1 at the first bad row (printed with its
 * seq and what is wrong), 2 when the store cannot be read at all.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "ctl/ctl.h"
#include "store/store.h"
#include "common/banned.h"

int cmd_verify(struct ctl_env *env, int argc, char **argv)
{
	struct lh_buf err = LH_BUF_INIT;
	struct lh_verify v;
	int rc;

	(void)argv;
	if (argc != 1)
		return ctl_usage("verify");
	ctl_catch_up(env);	/* every verdict handed out so far, committed */
	rc = lh_store_verify(env->state, &v, &err);
	if (rc == -EUCLEAN && v.what[0]) {
		if (v.bad_seq)
			printf("bad: seq %" PRId64 ": %s\n", v.bad_seq, v.what);
		else
			printf("bad: %s\n", v.what);
		printf("checked: %" PRId64 " events before it, the chain intact up to seq %" PRId64 "\n",
		       v.events, v.last_seq);
		lh_buf_release(&err);
		return CTL_FAIL;
	}
	if (rc) {
		fprintf(stderr, "lighthousectl: %s\n", err.data);
		lh_buf_release(&err);
		return CTL_USAGE;
	}
	printf("ok: %" PRId64 " events, seq %" PRId64 " to %" PRId64 ", %" PRId64
	       " gaps accounted for, the chain intact\n",
	       v.events, v.first_seq, v.last_seq, v.gaps);
	printf("ok: %" PRId64 " blobs, %" PRId64 " chunks, every content matches its id\n", v.blobs, v.chunks);
	if (v.events)
		printf("head: %" PRId64 " %s\n", v.last_seq, v.head);
	lh_buf_release(&err);
	return CTL_OK;
}

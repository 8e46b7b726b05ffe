/*
 * cmd_export.c -- lighthousectl export and import: the whole store as
 * JSON lines and back (format: store/export.c). Export reads the store
 * while the daemon runs or not; import builds a store in a state
 * directory that has none, and exits 0 only when it verifies.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "ctl/ctl.h"
#include "store/store.h"
#include "common/banned.h"

int cmd_export(struct ctl_env *env, int argc, char **argv)
{
	struct lh_buf err = LH_BUF_INIT;
	FILE *out = stdout;
	int rc;

	if (argc == 3 && !strcmp(argv[1], "--output")) {
		out = fopen(argv[2], "w");
		if (!out) {
			fprintf(stderr, "lighthousectl: cannot create '%s': %s\n", argv[2], strerror(errno));
			return CTL_FAIL;
		}
	} else if (argc != 1) {
		return ctl_usage("export");
	}
	ctl_catch_up(env);	/* every verdict handed out so far, committed */
	rc = lh_store_export(env->state, out, &err);
	if (out != stdout && fclose(out) && !rc) {
		lh_buf_addf(&err, "cannot write '%s': %s", argv[2], strerror(errno));
		rc = -EIO;
	}
	if (rc)
		fprintf(stderr, "lighthousectl: %s\n", err.data);
	lh_buf_release(&err);
	return rc ? CTL_FAIL : CTL_OK;
}

int cmd_import(struct ctl_env *env, int argc, char **argv)
{
	struct lh_buf err = LH_BUF_INIT;
	struct lh_import_stats st;
	FILE *in = stdin;
	int rc;

	if (argc == 3 && !strcmp(argv[1], "--input")) {
		in = fopen(argv[2], "r");
		if (!in) {
			fprintf(stderr, "lighthousectl: cannot open '%s': %s\n", argv[2], strerror(errno));
			return CTL_FAIL;
		}
	} else if (argc != 1) {
		return ctl_usage("import");
	}
	rc = lh_store_import(env->state, in, &st, &err);
	if (in != stdin)
		fclose(in);
	if (rc) {
		fprintf(stderr, "lighthousectl: import into '%s' failed: %s\n", env->state, err.data);
		lh_buf_release(&err);
		return CTL_FAIL;
	}
	printf("imported: %" PRId64 " events (last seq %" PRId64 "), %" PRId64 " gaps, %" PRId64
	       " blobs, %" PRId64 " chunks into %s; the chain verifies\n",
	       st.events, st.last_seq, st.gaps, st.blobs, st.chunks, env->state);
	lh_buf_release(&err);
	return CTL_OK;
}

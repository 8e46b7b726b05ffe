/*
 * cmd_replay.c -- lighthousectl replay --to SEQ|TIME DIR: write out the
 * project as it was after an event (what history/SEQ/ shows in a mount),
 * rebuilt from the store alone: no daemon is needed.
 *
 * DIR is created (or must be empty), then every folder, file and
 * symbolic link of the tree (store/replay.h) is made in it, parents
 * first; contents stream from the store chunk by chunk; modes and
 * modification times are set as the events recorded them (folders' times
 * last, as making their contents changed them).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "ctl/ctl.h"
#include "store/replay.h"
#include "store/store.h"
#include "common/banned.h"

struct out {
	struct lh_store_reader *r;
	int root;			/* DIR */
	struct lh_buf err;
	int64_t files, dirs, links, bytes;
};

struct sink {
	int fd;
	int64_t bytes;
};

static int write_chunk(void *arg, const void *data, size_t len)
{
	struct sink *s = arg;
	const char *p = data;

	while (len) {
		ssize_t n = write(s->fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
		s->bytes += n;
	}
	return 0;
}

static void set_mtime(int dirfd, const char *path, const struct lh_tree_node *n, int flags)
{
	struct timespec tv[2];

	if (!n->mtime_ns)
		return;
	tv[0].tv_sec = tv[1].tv_sec = n->mtime_ns / 1000000000;
	tv[0].tv_nsec = tv[1].tv_nsec = n->mtime_ns % 1000000000;
	utimensat(dirfd, path, tv, flags);
}

static int make(void *arg, const struct lh_tree_node *n)
{
	struct out *o = arg;
	struct lh_buf p = LH_BUF_INIT;
	int rc = 0;

	lh_tree_path(n, &p);
	switch (n->kind) {
	case LH_TREE_DIR:
		if (mkdirat(o->root, p.data, 0700) && errno != EEXIST)
			rc = -errno;
		o->dirs++;
		break;
	case LH_TREE_LINK:
		if (symlinkat(n->target ? n->target : "", o->root, p.data))
			rc = -errno;
		set_mtime(o->root, p.data, n, AT_SYMLINK_NOFOLLOW);
		o->links++;
		break;
	default: {
		struct sink s = { -1, 0 };
		struct lh_blob_id id;

		s.fd = openat(o->root, p.data, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (s.fd < 0) {
			rc = -errno;
			break;
		}
		if (n->has_blob) {
			memcpy(id.b, n->blob, 16);
			rc = lh_store_reader_blob(o->r, &id, write_chunk, &s, &o->err);
		}
		if (!rc && fchmod(s.fd, n->mode & 07777))
			rc = -errno;
		if (close(s.fd) && !rc)
			rc = -errno;
		set_mtime(o->root, p.data, n, AT_SYMLINK_NOFOLLOW);
		o->bytes += s.bytes;
		o->files++;
		break;
	}
	}
	if (rc && !o->err.len)
		lh_buf_addf(&o->err, "'%s': %s", p.data, strerror(-rc));
	lh_buf_release(&p);
	return rc;
}

/* Folders get their modes and times once their contents are made. */
static int finish_dirs(void *arg, const struct lh_tree_node *n)
{
	struct out *o = arg;
	struct lh_buf p = LH_BUF_INIT;
	size_t k;

	if (n->kind != LH_TREE_DIR)
		return 0;
	for (k = 0; k < n->nkids; k++)
		finish_dirs(arg, n->kids[k]);
	lh_tree_path(n, &p);
	fchmodat(o->root, p.data, n->mode & 07777, 0);
	set_mtime(o->root, p.data, n, AT_SYMLINK_NOFOLLOW);
	lh_buf_release(&p);
	return 0;
}

static int is_seq(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

int cmd_replay(struct ctl_env *env, int argc, char **argv)
{
	struct out o;
	struct lh_tree *t = NULL;
	struct lh_buf err = LH_BUF_INIT;
	const char *to = NULL, *dir = NULL;
	int64_t seq = 0, file_seq = 0, ns, unit;
	char when[32];
	size_t k;
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--to") && i + 1 < argc)
			to = argv[++i];
		else if (!strncmp(argv[i], "--to=", 5))
			to = argv[i] + 5;
		else if (!dir && argv[i][0] != '-')
			dir = argv[i];
		else
			return ctl_usage("replay");
	}
	if (!to || !dir)
		return ctl_usage("replay");
	memset(&o, 0, sizeof(o));
	lh_buf_init(&o.err, 0);
	rc = lh_store_reader_open(&o.r, env->state, &err);
	if (rc)
		goto out;
	if (is_seq(to)) {
		seq = strtoll(to, NULL, 10);
	} else if (ctl_parse_time(to, &ns, &unit) == 0) {
		/* a time names its whole span: 10:30 is up to 10:30:59.999... */
		rc = lh_store_seq_at(o.r, ns + unit - 1, &seq, &err);
		if (rc)
			goto out;
	} else {
		fprintf(stderr, "lighthousectl: '%s' is neither an event number nor a time "
				"(2026-11-22T10:30:00Z)\n", to);
		rc = -EINVAL;
		goto out_quiet;
	}
	if (seq > 0)
		rc = lh_store_file_seq_at(o.r, seq, &file_seq, &err);
	if (!rc)
		rc = file_seq > 0 ? lh_tree_replay(o.r, file_seq, &t, &err) : 0;
	if (rc)
		goto out;
	if (!t)
		t = lh_tree_new();
	if (mkdir(dir, 0755) && errno != EEXIST) {
		lh_buf_addf(&err, "cannot create '%s': %s", dir, strerror(errno));
		rc = -errno;
		goto out;
	}
	o.root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (o.root < 0) {
		rc = -errno;
		lh_buf_addf(&err, "'%s': %s", dir, strerror(errno));
		goto out;
	}
	{
		int dup_fd = fcntl(o.root, F_DUPFD_CLOEXEC, 0);
		DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
		struct dirent *de;
		int empty = 1;

		while (d && (de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				empty = 0;
		if (d)
			closedir(d);
		if (!empty) {
			lh_buf_addf(&err, "'%s' is not empty: replay writes into a new or empty folder", dir);
			rc = -ENOTEMPTY;
			goto out;
		}
	}
	rc = lh_tree_walk(t->root, make, &o);
	for (k = 0; !rc && k < t->root->nkids; k++)
		finish_dirs(&o, t->root->kids[k]);
	if (rc) {
		lh_buf_addf(&err, "%s", o.err.data);
		goto out;
	}
	when[0] = '\0';
	if (t->time_ns)
		lh_format_time(when, t->time_ns);
	printf("replayed: event %" PRId64 "%s%s: %" PRId64 " files (%" PRId64 " bytes), %" PRId64
	       " folders, %" PRId64 " links\n", file_seq, when[0] ? ", " : "", when, o.files, o.bytes,
	       o.dirs, o.links);
out:
	if (rc)
		fprintf(stderr, "lighthousectl: %s\n", err.data);
out_quiet:
	if (o.root > 0)
		close(o.root);
	if (o.r)
		lh_store_reader_close(o.r);
	lh_tree_free(t);
	lh_buf_release(&o.err);
	lh_buf_release(&err);
	return rc ? CTL_FAIL : CTL_OK;
}

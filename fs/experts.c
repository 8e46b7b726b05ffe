/*
 * experts.c -- experts/: expert agents register, see their queue, claim
 * and decide escalations, all with ordinary file operations.
 *
 *   mkdir experts/NAME                 register (the caller's uid owns it)
 *   rmdir experts/NAME                 unregister; what it held goes to others
 *   experts/NAME/capabilities          words it decides on ("git database
 *                                      security"; "*" or empty: everything);
 *                                      write it to change them
 *   experts/NAME/queue/ID              escalations offered to it (read: the
 *                                      request, why it escalated, the deadline)
 *   mv queue/ID inprogress/ID          claim one, atomically
 *   rm queue/ID                        decline it: it is offered to another
 *   experts/NAME/inprogress/ID         claimed; write the decision into it:
 *                                        allow | deny | ask
 *                                        reason: TEXT
 *                                        remember: exact | pattern   (optional)
 *                                      (or one JSON object with those keys);
 *                                      it counts when the file is closed
 *   mv inprogress/ID queue/ID          give a claim back
 *   experts/NAME/next                  a read returns the IDs in the queue
 *                                      (the whole lines it has room for),
 *                                      waiting (without a thread) until there
 *                                      is one; O_NONBLOCK: EAGAIN
 *
 * The model -- offers, claims, deadlines, votes -- is escalate.c's; this
 * file only turns file operations into its verbs and renders what it
 * shows. Decisions are checked as they are written: a first line that is
 * no decision, or a line that is no `reason:` or `remember:`, fails the
 * write with EINVAL, so the expert learns at once that it was not heard.
 * Who may act on experts/NAME: its owner, the daemon's owner and root.
 *
 * Entries here are never cached by the kernel (timeouts 0): queues change
 * under it all the time.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "fs/fs.h"
#include "common/banned.h"

#define DECISION_MAX 4096	/* bytes of a decision written into inprogress/ID */
#define CAPS_WRITE_MAX 4096

#define X_EXPERT(ino) ((uint32_t)(FS_INO_ID(ino) >> 4))
#define X_PART(ino) ((int)(FS_INO_ID(ino) & 0xf))
#define I_EXPERT(ino) ((uint32_t)(FS_INO_ID(ino) >> 40))
#define I_ID(ino) (FS_INO_ID(ino) & ((1ULL << 40) - 1))

static const char *const part_names[EXP_PARTS] = { NULL, "capabilities", "queue", "inprogress", "next" };

static struct lh_fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static int may_act(struct lh_fs *fs, fuse_req_t req, uid_t owner)
{
	uid_t uid = fuse_req_ctx(req)->uid;

	return uid == 0 || uid == fs->owner || uid == owner;
}

static void fill(struct lh_fs *fs, fuse_ino_t ino, mode_t mode, const struct esc_expert_info *x,
		 struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = mode;
	st->st_nlink = S_ISDIR(mode) ? 2 : 1;
	st->st_uid = x->uid;
	st->st_gid = x->gid;
	st->st_blksize = 4096;
	st->st_atime = st->st_mtime = st->st_ctime = fs->started_wall / 1000000000;
}

static int attr_of(struct lh_fs *fs, fuse_ino_t ino, struct stat *st)
{
	struct esc_expert_info x;
	uint64_t kind = FS_INO_KIND(ino);

	if (kind == FS_KIND_EXPERT) {
		static const mode_t modes[EXP_PARTS] = { S_IFDIR | 0755, S_IFREG | 0644, S_IFDIR | 0755,
							 S_IFDIR | 0755, S_IFREG | 0444 };
		int part = X_PART(ino);

		if (part >= EXP_PARTS || esc_expert_by_id(fs, X_EXPERT(ino), &x))
			return -ENOENT;
		fill(fs, ino, modes[part], &x, st);
		if (part == EXP_CAPS)
			st->st_size = (off_t)strlen(x.caps) + (x.caps[0] ? 1 : 0);
		return 0;
	}
	if (esc_expert_by_id(fs, I_EXPERT(ino), &x) ||
	    !esc_expert_holds(fs, I_EXPERT(ino), I_ID(ino), kind == FS_KIND_CLAIMED))
		return -ENOENT;
	/* a generated file: its size is known once opened (direct_io) */
	fill(fs, ino, kind == FS_KIND_CLAIMED ? S_IFREG | 0644 : S_IFREG | 0444, &x, st);
	return 0;
}

static void reply_entry(fuse_req_t req, fuse_ino_t ino)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	if (attr_of(fs_of(req), ino, &e.attr)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	e.ino = ino;
	e.generation = 1;
	fuse_reply_entry(req, &e);
}

static void x_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct lh_fs *fs = fs_of(req);
	struct esc_expert_info x;
	uint64_t id;
	int k;

	if (parent == FS_INO_EXPERTS) {
		if (esc_expert_by_name(fs, name, &x)) {
			fuse_reply_err(req, ENOENT);
			return;
		}
		reply_entry(req, FS_INO(FS_KIND_EXPERT, (uint64_t)x.id << 4 | EXP_DIR));
		return;
	}
	if (FS_INO_KIND(parent) != FS_KIND_EXPERT) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	switch (X_PART(parent)) {
	case EXP_DIR:
		for (k = 1; k < EXP_PARTS; k++)
			if (!strcmp(name, part_names[k])) {
				reply_entry(req, FS_INO(FS_KIND_EXPERT,
							(uint64_t)X_EXPERT(parent) << 4 | (uint64_t)k));
				return;
			}
		break;
	case EXP_QUEUE:
	case EXP_INPROGRESS:
		if (fs_parse_id(name, 40, &id))
			break;
		reply_entry(req, FS_INO(X_PART(parent) == EXP_QUEUE ? FS_KIND_QUEUED : FS_KIND_CLAIMED,
					(uint64_t)X_EXPERT(parent) << 40 | id));
		return;
	}
	fuse_reply_err(req, ENOENT);
}

static void x_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	int rc = attr_of(fs_of(req), ino, &st);

	(void)fi;
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, 0);
}

static void x_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct lh_fs *fs = fs_of(req);
	struct dirsnap *d = xcalloc(1, sizeof(*d));
	struct esc_expert_info x;
	int k;

	dirsnap_add(d, ".", 1, ino, S_IFDIR);
	if (ino == FS_INO_EXPERTS) {
		dirsnap_add(d, "..", 2, FS_INO_ROOT, S_IFDIR);
		esc_expert_names(fs, d);
	} else if (FS_INO_KIND(ino) != FS_KIND_EXPERT || esc_expert_by_id(fs, X_EXPERT(ino), &x)) {
		dirsnap_release(d);
		fuse_reply_err(req, FS_INO_KIND(ino) == FS_KIND_EXPERT ? ENOENT : ENOTDIR);
		return;
	} else if (X_PART(ino) == EXP_DIR) {
		dirsnap_add(d, "..", 2, FS_INO_EXPERTS, S_IFDIR);
		for (k = 1; k < EXP_PARTS; k++)
			dirsnap_add(d, part_names[k], strlen(part_names[k]),
				    FS_INO(FS_KIND_EXPERT, (uint64_t)x.id << 4 | (uint64_t)k),
				    k == EXP_QUEUE || k == EXP_INPROGRESS ? S_IFDIR : S_IFREG);
	} else if (X_PART(ino) == EXP_QUEUE || X_PART(ino) == EXP_INPROGRESS) {
		dirsnap_add(d, "..", 2, FS_INO(FS_KIND_EXPERT, (uint64_t)x.id << 4 | EXP_DIR), S_IFDIR);
		esc_expert_items(fs, x.id, X_PART(ino) == EXP_INPROGRESS, d);
	} else {
		dirsnap_release(d);
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	if (fuse_reply_open(req, fi))
		dirsnap_release(d);
}

static void x_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct lh_fs *fs = fs_of(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct esc_expert_info x;
	int rc;

	(void)mode;
	if (parent != FS_INO_EXPERTS) {
		fuse_reply_err(req, EPERM);
		return;
	}
	rc = esc_expert_add(fs, name, ctx->uid, ctx->gid, "", NULL);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (esc_expert_by_name(fs, name, &x)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	reply_entry(req, FS_INO(FS_KIND_EXPERT, (uint64_t)x.id << 4 | EXP_DIR));
}

static void x_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct lh_fs *fs = fs_of(req);
	int rc;

	if (parent != FS_INO_EXPERTS) {
		fuse_reply_err(req, EPERM);
		return;
	}
	rc = esc_expert_remove(fs, name, fuse_req_ctx(req)->uid, NULL);
	fuse_reply_err(req, -rc);
}

/* rename queue/ID <-> inprogress/ID of one expert: claim, or give back */
static void x_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		     const char *newname, unsigned int flags)
{
	struct lh_fs *fs = fs_of(req);
	struct esc_expert_info x;
	uint64_t id;
	int rc;

	(void)flags;
	if (FS_INO_KIND(parent) != FS_KIND_EXPERT || FS_INO_KIND(newparent) != FS_KIND_EXPERT ||
	    X_EXPERT(parent) != X_EXPERT(newparent) || strcmp(name, newname) ||
	    !((X_PART(parent) == EXP_QUEUE && X_PART(newparent) == EXP_INPROGRESS) ||
	      (X_PART(parent) == EXP_INPROGRESS && X_PART(newparent) == EXP_QUEUE))) {
		/* only queue/ID -> inprogress/ID of the same expert and back */
		fuse_reply_err(req, EPERM);
		return;
	}
	if (fs_parse_id(name, 40, &id) || esc_expert_by_id(fs, X_EXPERT(parent), &x)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (!may_act(fs, req, x.uid)) {
		fuse_reply_err(req, EACCES);
		return;
	}
	rc = X_PART(parent) == EXP_QUEUE ? esc_claim(fs, x.id, id) : esc_unclaim(fs, x.id, id);
	fuse_reply_err(req, -rc);
}

static void x_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct lh_fs *fs = fs_of(req);
	struct esc_expert_info x;
	uint64_t id;

	if (FS_INO_KIND(parent) != FS_KIND_EXPERT || X_PART(parent) != EXP_QUEUE) {
		fuse_reply_err(req, EPERM);
		return;
	}
	if (fs_parse_id(name, 40, &id) || esc_expert_by_id(fs, X_EXPERT(parent), &x)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (!may_act(fs, req, x.uid)) {
		fuse_reply_err(req, EACCES);
		return;
	}
	fuse_reply_err(req, -esc_decline(fs, x.id, id));
}

/* ---- files --------------------------------------------------------------------- */

struct xh {
	struct fs_open_link link;	/* first: listed while open (fs.h) */
	int part;			/* EXP_CAPS, EXP_NEXT, or -1 for an item */
	uint32_t expert;
	uint64_t id;
	int claimed;
	int writing;
	int nonblock;
	pthread_mutex_t mu;		/* buf; the next read may come before a write's reply returns */
	struct lh_buf buf;		/* what reads return, or what is being written */
};

static void xh_free(struct xh *h)
{
	fs_open_del(&h->link);
	lh_buf_release(&h->buf);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

static void xh_free_link(struct fs_open_link *l)
{
	xh_free((struct xh *)(void *)l);
}

/* "key: value" text, control characters shown as \n, \t... */
static void line(struct lh_buf *o, const char *key, const char *val)
{
	lh_buf_addf(o, "%s: ", key);
	for (; *val; val++) {
		if (*val == '\n')
			lh_buf_adds(o, "\\n");
		else if (*val == '\t')
			lh_buf_adds(o, "\\t");
		else if ((unsigned char)*val < 0x20)
			lh_buf_addc(o, ' ');
		else
			lh_buf_addc(o, *val);
	}
	lh_buf_addc(o, '\n');
}

struct item_arg {
	struct lh_buf *out;
	const char *mount, *expert;
	int claimed;
};

static void item_fn(void *arg, const struct esc_view *v)
{
	struct item_arg *a = arg;
	const struct esc_request *rq = v->rq;
	struct lh_buf o = LH_BUF_INIT;
	char when[32];

	lh_buf_addf(a->out, "request: %" PRIu64 "\n", rq->id);
	line(a->out, "state", v->state);
	line(a->out, "tool", rq->tool);
	line(a->out, "input", rq->input);
	line(a->out, "cwd", rq->cwd);
	line(a->out, "agent", rq->agent);
	lh_buf_addf(a->out, "user: %s (uid %u)\n", rq->user[0] ? rq->user : "?", (unsigned)rq->uid);
	lh_buf_addf(&o, "%s (%s)", rq->rule[0] ? rq->rule : "risk", rq->tier);
	line(a->out, "escalated_by", o.data);
	lh_buf_addf(a->out, "risk: %d\n", rq->risk);
	line(a->out, "reason", rq->reason);
	line(a->out, "needs", rq->caps);
	lh_format_time(when, rq->created_wall);
	line(a->out, "time", when);
	lh_format_time(when, rq->deadline_wall);
	line(a->out, "deadline", when);
	lh_buf_addf(a->out, "quorum: %d\nvotes: %d\n", rq->quorum, v->nvotes);
	if (a->claimed && v->claim_until_wall) {
		lh_format_time(when, v->claim_until_wall);
		line(a->out, "claimed_until", when);
	}
	lh_buf_addf(a->out, "context: %s/context/%" PRIu64 "/\n", a->mount, rq->id);
	if (a->claimed)
		lh_buf_addf(a->out, "decide: write \"allow\", \"deny\" or \"ask\", then \"reason: TEXT\" and optionally \"remember: exact\" or \"remember: pattern\" into %s/experts/%s/inprogress/%" PRIu64 "\n",
			    a->mount, a->expert, rq->id);
	else
		lh_buf_addf(a->out, "claim: mv %s/experts/%s/queue/%" PRIu64 " %s/experts/%s/inprogress/\n",
			    a->mount, a->expert, rq->id, a->mount, a->expert);
	lh_buf_release(&o);
}

static void x_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct lh_fs *fs = fs_of(req);
	struct esc_expert_info x;
	struct xh *h;
	int acc = fi->flags & O_ACCMODE, rc = 0;
	uint64_t kind = FS_INO_KIND(ino);

	h = xcalloc(1, sizeof(*h));
	fs_open_add(&h->link, xh_free_link);
	pthread_mutex_init(&h->mu, NULL);
	lh_buf_init(&h->buf, 0);
	h->nonblock = !!(fi->flags & O_NONBLOCK);
	if (kind == FS_KIND_EXPERT) {
		h->part = X_PART(ino);
		h->expert = X_EXPERT(ino);
		if (esc_expert_by_id(fs, h->expert, &x)) {
			rc = -ENOENT;
		} else if (h->part == EXP_CAPS) {
			if (acc != O_RDONLY) {
				if (!may_act(fs, req, x.uid))
					rc = -EACCES;
				h->writing = 1;
				h->buf.max = CAPS_WRITE_MAX;
			} else if (x.caps[0]) {
				lh_buf_addf(&h->buf, "%s\n", x.caps);
			}
		} else if (h->part == EXP_NEXT) {
			if (acc != O_RDONLY)
				rc = -EACCES;
			else if (!may_act(fs, req, x.uid))
				rc = -EACCES;
		} else {
			rc = -EISDIR;
		}
	} else {
		struct item_arg a;

		h->part = -1;
		h->expert = I_EXPERT(ino);
		h->id = I_ID(ino);
		h->claimed = kind == FS_KIND_CLAIMED;
		if (esc_expert_by_id(fs, h->expert, &x) ||
		    !esc_expert_holds(fs, h->expert, h->id, h->claimed)) {
			rc = -ENOENT;
		} else if (!may_act(fs, req, x.uid)) {
			rc = -EACCES;
		} else if (acc != O_RDONLY) {
			if (!h->claimed)
				rc = -EACCES;	/* claim it first */
			h->writing = 1;
			h->buf.max = DECISION_MAX;
		} else {
			a.out = &h->buf;
			a.mount = fs->mountpoint;
			a.expert = x.name;
			a.claimed = h->claimed;
			if (esc_with(fs, h->id, h->expert, item_fn, &a))
				rc = -ENOENT;
		}
	}
	if (rc) {
		xh_free(h);
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->direct_io = 1;
	fi->noflush = 1;
	if (fuse_reply_open(req, fi))
		xh_free(h);
}

static void x_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	struct lh_fs *fs = fs_of(req);
	struct xh *h = (struct xh *)(uintptr_t)fi->fh;
	char *copy;
	size_t n = 0;

	(void)ino;
	if (h->part == EXP_NEXT) {
		/* the first read waits for the queue; after it, end of file */
		if (off > 0)
			fuse_reply_buf(req, NULL, 0);
		else
			esc_next(fs, req, h->expert, size, h->nonblock);
		return;
	}
	if (h->writing) {
		fuse_reply_err(req, EBADF);
		return;
	}
	/* from a copy: the close that frees h may race the reply */
	pthread_mutex_lock(&h->mu);
	if (off >= 0 && (size_t)off < h->buf.len)
		n = h->buf.len - (size_t)off < size ? h->buf.len - (size_t)off : size;
	copy = xmemdup(n ? h->buf.data + off : "", n ? n : 1);
	pthread_mutex_unlock(&h->mu);
	fuse_reply_buf(req, copy, n);
	free(copy);
}

/*
 * A decision: "allow|deny|ask" then "reason: ..." and "remember: ..."
 * lines, or one JSON object. `partial`: only complete lines are checked.
 * 0, or -EINVAL with why.
 */
static int parse_decision(const char *text, size_t len, int partial, enum lh_decision *d,
			  struct lh_buf *reason, struct lh_buf *remember, const char **why)
{
	const char *p = text, *end = text + len;
	int first = 1, have = 0;

	while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	if (p < end && *p == '{') {
		json_t *o, *v;
		int dd;

		if (partial)
			return 0;
		o = json_loadb(p, (size_t)(end - p), JSON_REJECT_DUPLICATES, NULL);
		if (!o || !json_is_object(o)) {
			json_decref(o);
			*why = "not a JSON object";
			return -EINVAL;
		}
		v = json_object_get(o, "decision");
		dd = json_is_string(v) ? lh_decision_parse(json_string_value(v)) : -1;
		if (dd < 0) {
			json_decref(o);
			*why = "\"decision\" must be \"allow\", \"deny\" or \"ask\"";
			return -EINVAL;
		}
		*d = (enum lh_decision)dd;
		if (json_is_string(json_object_get(o, "reason")))
			lh_buf_adds(reason, json_string_value(json_object_get(o, "reason")));
		if (json_is_string(json_object_get(o, "remember")))
			lh_buf_adds(remember, json_string_value(json_object_get(o, "remember")));
		json_decref(o);
		return 0;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char word[16];

		if (!nl && partial)
			break;		/* not complete yet */
		while (n && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (first) {
			int dd;

			if (n >= sizeof(word)) {
				*why = "the first line must be allow, deny or ask";
				return -EINVAL;
			}
			memcpy(word, p, n);
			word[n] = '\0';
			dd = lh_decision_parse(word);
			if (dd < 0) {
				*why = "the first line must be allow, deny or ask";
				return -EINVAL;
			}
			*d = (enum lh_decision)dd;
			first = 0;
			have = 1;
		} else if (n >= 7 && !strncmp(p, "reason:", 7)) {
			const char *v = p + 7;

			while (v < p + n && *v == ' ')
				v++;
			if (reason->len)
				lh_buf_addc(reason, ' ');
			lh_buf_add(reason, v, (size_t)(p + n - v));
		} else if (n >= 9 && !strncmp(p, "remember:", 9)) {
			const char *v = p + 9;

			while (v < p + n && *v == ' ')
				v++;
			lh_buf_reset(remember);
			lh_buf_add(remember, v, (size_t)(p + n - v));
			if (strcmp(remember->data, "exact") && strcmp(remember->data, "pattern") &&
			    strcmp(remember->data, "no")) {
				*why = "remember must be exact, pattern or no";
				return -EINVAL;
			}
		} else if (n) {
			*why = "lines after the decision are 'reason: TEXT' and 'remember: exact|pattern'";
			return -EINVAL;
		}
		p = nl ? nl + 1 : end;
	}
	if (!have && !partial) {
		*why = "no decision (allow, deny or ask)";
		return -EINVAL;
	}
	return 0;
}

static void x_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct xh *h = (struct xh *)(uintptr_t)fi->fh;
	struct lh_buf reason = LH_BUF_INIT, remember = LH_BUF_INIT;
	enum lh_decision d;
	const char *why = NULL;
	int rc;

	(void)ino;
	(void)off;
	if (!h->writing) {
		fuse_reply_err(req, EBADF);
		return;
	}
	pthread_mutex_lock(&h->mu);
	rc = lh_buf_add(&h->buf, buf, size);
	if (!rc && h->part < 0 &&
	    parse_decision(h->buf.data, h->buf.len, 1, &d, &reason, &remember, &why)) {
		lh_buf_setlen(&h->buf, h->buf.len - size);
		rc = -EINVAL;
	}
	pthread_mutex_unlock(&h->mu);
	lh_buf_release(&reason);
	lh_buf_release(&remember);
	if (rc == -EINVAL)
		lh_info("experts: a decision on request %" PRIu64 " was refused: %s", h->id, why);
	if (rc)
		fuse_reply_err(req, rc == -E2BIG ? EFBIG : -rc);
	else
		fuse_reply_write(req, size);
}

static void x_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct lh_fs *fs = fs_of(req);
	struct xh *h = (struct xh *)(uintptr_t)fi->fh;

	(void)ino;
	fuse_reply_err(req, 0);
	if (h->writing && h->part == EXP_CAPS) {
		esc_expert_set_caps(fs, h->expert, h->buf.data);
	} else if (h->writing && h->part < 0 && h->buf.len) {
		struct lh_buf reason = LH_BUF_INIT, remember = LH_BUF_INIT, msg = LH_BUF_INIT;
		enum lh_decision d;
		const char *why = NULL;

		if (parse_decision(h->buf.data, h->buf.len, 0, &d, &reason, &remember, &why))
			lh_info("experts: a decision on request %" PRIu64 " was refused: %s", h->id, why);
		else if (esc_vote(fs, h->expert, h->id, d, reason.data, remember.data, &msg))
			lh_info("experts: a decision on request %" PRIu64 " came too late: %s", h->id,
				msg.data);
		lh_buf_release(&reason);
		lh_buf_release(&remember);
		lh_buf_release(&msg);
	}
	xh_free(h);
}

static void x_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		      struct fuse_file_info *fi)
{
	struct lh_fs *fs = fs_of(req);
	struct stat st;
	int rc;

	(void)attr;
	(void)fi;
	/* `>` truncates: what is written replaces it anyway */
	if (to_set & ~(FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
		       FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_CTIME)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	rc = attr_of(fs, ino, &st);
	if (!rc && !(FS_INO_KIND(ino) == FS_KIND_CLAIMED ||
		     (FS_INO_KIND(ino) == FS_KIND_EXPERT && X_PART(ino) == EXP_CAPS)))
		rc = -EACCES;
	if (!rc && !may_act(fs, req, st.st_uid))
		rc = -EACCES;
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, 0);
}

static void x_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     struct fuse_file_info *fi)
{
	(void)parent;
	(void)name;
	(void)mode;
	(void)fi;
	/* nothing is made here but by mkdir and rename */
	fuse_reply_err(req, EACCES);
}

const struct fuse_lowlevel_ops experts_ops = {
	.lookup = x_lookup,
	.getattr = x_getattr,
	.setattr = x_setattr,
	.opendir = x_opendir,
	.mkdir = x_mkdir,
	.rmdir = x_rmdir,
	.rename = x_rename,
	.unlink = x_unlink,
	.create = x_create,
	.open = x_open,
	.read = x_read,
	.write = x_write,
	.release = x_release,
};

/*
 * journal.c -- the store's write-ahead journal (see journal.h).
 *
 * FORMAT
 *
 * STATE/journal is a sequence of records, each written with one write(2)
 * under the journal's lock, all integers little-endian:
 *
 *   offset  size  field
 *   0       4     magic "LHJ1"
 *   4       4     body length in bytes (B)
 *   8       8     sequence number of the record's first event
 *   16      4     number of events (N)
 *   20      4     reserved, zero
 *   24      8     xxh3-64 of bytes 0..23 and the body
 *   32      B     N events, each:
 *                   8 time_ns, 8 uid, 8 gid, 8 pid, 8 request_id (int64),
 *                   4 each: lengths of type, agent, session, path, payload
 *                   (0xFFFFFFFF for an absent string), then those bytes
 *
 * A record is whole when its header and body are all there and the
 * checksum matches. A crash can only leave a partial record at the end,
 * and that record was never acknowledged (its write had not returned):
 * replay stops there and the next open cuts it off.
 *
 * The journal is emptied (ftruncate) when the database has every record
 * it holds; the store decides when (lh_journal_truncate).
 *
 * Lock: j->mu around each append and truncate; one append is one write,
 * so records never interleave.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "store/journal.h"
#include "store/store.h"
#include "common/banned.h"

#define MAGIC "LHJ1"
#define HEADER 32
#define ABSENT 0xFFFFFFFFu
#define MAX_RECORD (256u * 1024 * 1024)

struct lh_journal {
	pthread_mutex_t mu;
	int fd;
	int sync_full;
	uint64_t size;			/* protected by mu */
	struct lh_buf rec;		/* reused record buffer; protected by mu */
	char *path;
};

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* xxh3-64 of header bytes 0..23, then of the body seeded with it. */
static uint64_t checksum(const unsigned char *rec, size_t body)
{
	return XXH3_64bits_withSeed(rec + HEADER, body, XXH3_64bits(rec, 24));
}

int lh_journal_open(struct lh_journal **out, const char *dir, int sync_full, struct lh_buf *err)
{
	struct lh_journal *j = xcalloc(1, sizeof(*j));
	struct lh_buf p = LH_BUF_INIT;
	struct stat st;

	*out = NULL;
	lh_buf_addf(&p, "%s/%s", dir, LH_JOURNAL_FILE);
	j->path = lh_buf_detach(&p, NULL);
	j->fd = open(j->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (j->fd < 0 || fstat(j->fd, &st)) {
		int e = errno;

		lh_buf_addf(err, "cannot open the journal '%s': %s", j->path, strerror(e));
		if (j->fd >= 0)
			close(j->fd);
		free(j->path);
		free(j);
		return -e;
	}
	j->size = (uint64_t)st.st_size;
	j->sync_full = sync_full;
	lh_buf_init(&j->rec, 0);
	pthread_mutex_init(&j->mu, NULL);
	*out = j;
	return 0;
}

void lh_journal_close(struct lh_journal *j)
{
	if (!j)
		return;
	close(j->fd);
	lh_buf_release(&j->rec);
	pthread_mutex_destroy(&j->mu);
	free(j->path);
	free(j);
}

static uint32_t len_of(const char *s, size_t n)
{
	return s ? (uint32_t)n : ABSENT;
}

int lh_journal_append(struct lh_journal *j, const struct lh_event *ev, int n, int64_t first_seq)
{
	unsigned char *hdr;
	size_t body, off;
	ssize_t w;
	int k, rc = 0;

	pthread_mutex_lock(&j->mu);
	lh_buf_reset(&j->rec);
	lh_buf_add(&j->rec, MAGIC "\0\0\0\0" "\0\0\0\0\0\0\0\0" "\0\0\0\0\0\0\0\0"
			    "\0\0\0\0\0\0\0\0", HEADER);
	for (k = 0; k < n; k++) {
		const struct lh_event *e = &ev[k];
		size_t tl = e->type ? strlen(e->type) : 0, al = e->agent ? strlen(e->agent) : 0;
		size_t sl = e->session ? strlen(e->session) : 0, pl = e->path ? strlen(e->path) : 0;
		size_t yl = e->payload ? e->payload_len : 0;
		unsigned char fixed[60];

		put64(fixed, (uint64_t)e->time_ns);
		put64(fixed + 8, (uint64_t)e->uid);
		put64(fixed + 16, (uint64_t)e->gid);
		put64(fixed + 24, (uint64_t)e->pid);
		put64(fixed + 32, (uint64_t)e->request_id);
		put32(fixed + 40, len_of(e->type, tl));
		put32(fixed + 44, len_of(e->agent, al));
		put32(fixed + 48, len_of(e->session, sl));
		put32(fixed + 52, len_of(e->path, pl));
		put32(fixed + 56, len_of(e->payload, yl));
		lh_buf_add(&j->rec, fixed, sizeof(fixed));
		if (e->type)
			lh_buf_add(&j->rec, e->type, tl);
		if (e->agent)
			lh_buf_add(&j->rec, e->agent, al);
		if (e->session)
			lh_buf_add(&j->rec, e->session, sl);
		if (e->path)
			lh_buf_add(&j->rec, e->path, pl);
		if (e->payload)
			lh_buf_add(&j->rec, e->payload, yl);
	}
	body = j->rec.len - HEADER;
	if (body > MAX_RECORD) {
		rc = -E2BIG;
		goto out;
	}
	hdr = (unsigned char *)j->rec.data;
	put32(hdr + 4, (uint32_t)body);
	put64(hdr + 8, (uint64_t)first_seq);
	put32(hdr + 16, (uint32_t)n);
	put64(hdr + 24, checksum(hdr, body));
	for (off = 0; off < j->rec.len; off += (size_t)w) {
		w = write(j->fd, j->rec.data + off, j->rec.len - off);
		if (w < 0) {
			if (errno == EINTR) {
				w = 0;
				continue;
			}
			rc = -errno;
			/* a partial record must not be followed by whole ones */
			if (off && ftruncate(j->fd, (off_t)j->size))
				rc = -EIO;
			goto out;
		}
	}
	if (j->sync_full && fdatasync(j->fd)) {
		rc = -errno;
		goto out;
	}
	j->size += j->rec.len;
out:
	pthread_mutex_unlock(&j->mu);
	return rc;
}

uint64_t lh_journal_size(struct lh_journal *j)
{
	uint64_t n;

	pthread_mutex_lock(&j->mu);
	n = j->size;
	pthread_mutex_unlock(&j->mu);
	return n;
}

int lh_journal_truncate(struct lh_journal *j)
{
	int rc = 0;

	pthread_mutex_lock(&j->mu);
	if (ftruncate(j->fd, 0))
		rc = -errno;
	else
		j->size = 0;
	pthread_mutex_unlock(&j->mu);
	return rc;
}

static const char *str_at(const unsigned char *body, size_t blen, size_t *off, uint32_t len,
			  struct lh_buf *hold, int *bad)
{
	const char *s;

	if (len == ABSENT)
		return NULL;
	if (len > blen - *off) {
		*bad = 1;
		return NULL;
	}
	/* NUL-terminated copies: SQLite binds lengths, readers want C strings */
	s = (const char *)body + *off;
	*off += len;
	lh_buf_reset(hold);
	lh_buf_add(hold, s, len);
	return lh_buf_detach(hold, NULL);
}

int lh_journal_replay(const char *dir, lh_journal_fn fn, void *arg, uint64_t *records,
		      uint64_t *bad_tail, struct lh_buf *err)
{
	struct lh_buf p = LH_BUF_INIT, data = LH_BUF_INIT, hold = LH_BUF_INIT;
	size_t pos = 0;
	uint64_t nrec = 0;
	int fd, rc = 0;

	if (records)
		*records = 0;
	if (bad_tail)
		*bad_tail = 0;
	lh_buf_addf(&p, "%s/%s", dir, LH_JOURNAL_FILE);
	fd = open(p.data, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = errno == ENOENT ? 0 : -errno;
		if (rc)
			lh_buf_addf(err, "cannot read the journal '%s': %s", p.data, strerror(errno));
		goto out;
	}
	for (;;) {
		char chunk[65536];
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			lh_buf_addf(err, "cannot read the journal '%s': %s", p.data, strerror(errno));
			close(fd);
			goto out;
		}
		if (!n)
			break;
		lh_buf_add(&data, chunk, (size_t)n);
	}
	close(fd);
	while (data.len - pos >= HEADER) {
		const unsigned char *h = (const unsigned char *)data.data + pos;
		uint32_t blen = get32(h + 4), nev = get32(h + 16), k;
		int64_t seq = (int64_t)get64(h + 8);
		size_t off = 0;
		int bad = 0, stop = 0;

		if (memcmp(h, MAGIC, 4) || blen > MAX_RECORD || blen > data.len - pos - HEADER ||
		    checksum(h, blen) != get64(h + 24))
			break;
		for (k = 0; k < nev && !bad && !stop; k++) {
			const unsigned char *b = h + HEADER;
			struct lh_event e;
			uint32_t lens[5];
			int x;

			if (blen - off < 60) {
				bad = 1;
				break;
			}
			memset(&e, 0, sizeof(e));
			e.time_ns = (int64_t)get64(b + off);
			e.uid = (int64_t)get64(b + off + 8);
			e.gid = (int64_t)get64(b + off + 16);
			e.pid = (int64_t)get64(b + off + 24);
			e.request_id = (int64_t)get64(b + off + 32);
			for (x = 0; x < 5; x++)
				lens[x] = get32(b + off + 40 + 4 * x);
			off += 60;
			e.type = str_at(b, blen, &off, lens[0], &hold, &bad);
			e.agent = str_at(b, blen, &off, lens[1], &hold, &bad);
			e.session = str_at(b, blen, &off, lens[2], &hold, &bad);
			e.path = str_at(b, blen, &off, lens[3], &hold, &bad);
			e.payload = str_at(b, blen, &off, lens[4], &hold, &bad);
			e.payload_len = e.payload ? lens[4] : 0;
			if (!bad && e.type && fn(arg, seq + k, &e))
				stop = 1;
			free((char *)e.type);
			free((char *)e.agent);
			free((char *)e.session);
			free((char *)e.path);
			free((char *)e.payload);
		}
		if (bad)
			break;
		pos += HEADER + blen;
		nrec++;
		if (stop)
			break;
	}
	if (records)
		*records = nrec;
	if (bad_tail)
		*bad_tail = data.len - pos;
out:
	lh_buf_release(&p);
	lh_buf_release(&data);
	lh_buf_release(&hold);
	return rc;
}

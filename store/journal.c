/*
 * journal.c -- the store's write-ahead journal (see journal.h).
 *
 * FORMAT
 *
 * STATE/journal starts with a 16-byte header -- "LHJG", a version (1,
 * 4 bytes), the generation (8 bytes) -- and goes on with records, each
 * written with one write(2) under the journal's lock, all integers
 * little-endian:
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
 * The store keeps (generation, offset) of what the database has ingested,
 * in the database, in the transaction that ingests it. When the database
 * has everything, the store may rotate: record generation + 1 in the
 * database first, then empty the file to a new header. A crash between
 * the two leaves a file one generation behind the database, which the
 * store knows is wholly ingested.
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
#define FILE_MAGIC "LHJG"
#define HEADER 32		/* of a record */
#define ABSENT 0xFFFFFFFFu
#define MAX_RECORD (256u * 1024 * 1024)

struct lh_journal {
	pthread_mutex_t mu;
	int fd;
	int sync_full;
	uint64_t gen;			/* protected by mu */
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

static int write_header(int fd, uint64_t gen)
{
	unsigned char h[LH_JOURNAL_HEADER];

	memcpy(h, FILE_MAGIC, 4);
	put32(h + 4, 1);
	put64(h + 8, gen);
	return pwrite(fd, h, sizeof(h), 0) == (ssize_t)sizeof(h) ? 0 : (errno ? -errno : -EIO);
}

int lh_journal_open(struct lh_journal **out, const char *dir, int sync_full, uint64_t gen,
		    uint64_t *file_gen, struct lh_buf *err)
{
	struct lh_journal *j = xcalloc(1, sizeof(*j));
	struct lh_buf p = LH_BUF_INIT;
	struct stat st;
	int rc = 0;

	*out = NULL;
	lh_buf_addf(&p, "%s/%s", dir, LH_JOURNAL_FILE);
	j->path = lh_buf_detach(&p, NULL);
	j->fd = open(j->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (j->fd < 0 || fstat(j->fd, &st)) {
		rc = -errno;
		lh_buf_addf(err, "cannot open the journal '%s': %s", j->path, strerror(errno));
		goto fail;
	}
	if (st.st_size < LH_JOURNAL_HEADER) {
		/* new, or cut short before its header was whole: start it */
		if (ftruncate(j->fd, 0) || (rc = write_header(j->fd, gen))) {
			rc = rc ? rc : -errno;
			lh_buf_addf(err, "cannot write the journal '%s': %s", j->path, strerror(-rc));
			goto fail;
		}
		j->gen = gen;
		j->size = LH_JOURNAL_HEADER;
	} else {
		unsigned char h[LH_JOURNAL_HEADER];

		if (pread(j->fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) || memcmp(h, FILE_MAGIC, 4) ||
		    get32(h + 4) != 1) {
			rc = -EUCLEAN;
			lh_buf_addf(err, "'%s' is not a Lighthouse journal (or of another version); move it away",
				    j->path);
			goto fail;
		}
		j->gen = get64(h + 8);
		j->size = (uint64_t)st.st_size;
	}
	if (file_gen)
		*file_gen = j->gen;
	j->sync_full = sync_full;
	lh_buf_init(&j->rec, 0);
	pthread_mutex_init(&j->mu, NULL);
	*out = j;
	return 0;
fail:
	if (j->fd >= 0)
		close(j->fd);
	free(j->path);
	free(j);
	return rc;
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

int lh_journal_append(struct lh_journal *j, const struct lh_event *ev, int n, int64_t first_seq,
		      uint64_t *end)
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
	if (end)
		*end = j->size;
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

uint64_t lh_journal_generation(struct lh_journal *j)
{
	uint64_t g;

	pthread_mutex_lock(&j->mu);
	g = j->gen;
	pthread_mutex_unlock(&j->mu);
	return g;
}

int lh_journal_rotate(struct lh_journal *j, uint64_t gen)
{
	int rc = 0;

	pthread_mutex_lock(&j->mu);
	if (ftruncate(j->fd, 0) || (rc = write_header(j->fd, gen)) || (j->sync_full && fdatasync(j->fd))) {
		rc = rc ? rc : -errno;
	} else {
		j->gen = gen;
		j->size = LH_JOURNAL_HEADER;
	}
	pthread_mutex_unlock(&j->mu);
	return rc;
}

/* One event of a record body at *off; 0, or -1 if the body is malformed. */
static int parse_event(const unsigned char *b, size_t blen, size_t *off, struct lh_event *e)
{
	uint32_t lens[5];
	const char **str[5] = { &e->type, &e->agent, &e->session, &e->path, &e->payload };
	int x;

	memset(e, 0, sizeof(*e));
	if (blen - *off < 60)
		return -1;
	e->time_ns = (int64_t)get64(b + *off);
	e->uid = (int64_t)get64(b + *off + 8);
	e->gid = (int64_t)get64(b + *off + 16);
	e->pid = (int64_t)get64(b + *off + 24);
	e->request_id = (int64_t)get64(b + *off + 32);
	for (x = 0; x < 5; x++)
		lens[x] = get32(b + *off + 40 + 4 * x);
	*off += 60;
	for (x = 0; x < 5; x++) {
		char *c;

		if (lens[x] == ABSENT)
			continue;
		if (lens[x] > blen - *off)
			return -1;
		/* NUL-terminated copies: the store binds C strings */
		c = xmalloc((size_t)lens[x] + 1);
		memcpy(c, b + *off, lens[x]);
		c[lens[x]] = '\0';
		*str[x] = c;
		*off += lens[x];
	}
	e->payload_len = e->payload ? lens[4] : 0;
	return e->type ? 0 : -1;
}

static void free_event(struct lh_event *e)
{
	free((char *)e->type);
	free((char *)e->agent);
	free((char *)e->session);
	free((char *)e->path);
	free((char *)e->payload);
}

/*
 * Read until buf holds at least `want` bytes from pos on, or the file
 * ends: 0, or -errno.
 */
static int fill(int fd, struct lh_buf *buf, size_t pos, size_t want)
{
	while (buf->len - pos < want) {
		char chunk[65536];
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return 0;
		lh_buf_add(buf, chunk, (size_t)n);
	}
	return 0;
}

/*
 * The file is read in pieces (a record at a time, at most); a record's
 * events are all parsed before fn sees the first, so a record is replayed
 * whole or not at all.
 */
int lh_journal_replay(const char *dir, uint64_t from, lh_journal_fn fn, void *arg,
		      uint64_t *records, uint64_t *end, uint64_t *gen, uint64_t *bad_tail,
		      struct lh_buf *err)
{
	struct lh_buf p = LH_BUF_INIT, data = LH_BUF_INIT;
	struct lh_event *evs = NULL;
	size_t pos = 0, evcap = 0;
	uint64_t nrec = 0, base;
	struct stat st;
	int fd, rc = 0;

	if (records)
		*records = 0;
	if (bad_tail)
		*bad_tail = 0;
	if (gen)
		*gen = 0;
	if (end)
		*end = LH_JOURNAL_HEADER;
	lh_buf_addf(&p, "%s/%s", dir, LH_JOURNAL_FILE);
	fd = open(p.data, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = errno == ENOENT ? 0 : -errno;
		if (rc)
			lh_buf_addf(err, "cannot read the journal '%s': %s", p.data, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) || (rc = fill(fd, &data, 0, LH_JOURNAL_HEADER))) {
		rc = rc ? rc : -errno;
		goto ioerr;
	}
	if (data.len < LH_JOURNAL_HEADER) {
		if (bad_tail)
			*bad_tail = data.len;
		goto done;
	}
	if (memcmp(data.data, FILE_MAGIC, 4) || get32((const unsigned char *)data.data + 4) != 1) {
		rc = -EUCLEAN;
		lh_buf_addf(err, "'%s' is not a Lighthouse journal (or of another version)", p.data);
		goto done;
	}
	if (gen)
		*gen = get64((const unsigned char *)data.data + 8);
	base = from > LH_JOURNAL_HEADER ? from : LH_JOURNAL_HEADER;
	if (base > (uint64_t)st.st_size)
		base = (uint64_t)st.st_size;
	if (lseek(fd, (off_t)base, SEEK_SET) < 0) {
		rc = -errno;
		goto ioerr;
	}
	lh_buf_reset(&data);
	if (end)
		*end = base;
	for (;;) {
		const unsigned char *h;
		uint32_t blen, nev, k, x;
		size_t off = 0;
		int bad = 0, stop = 0;

		if (pos > 1u << 20) {
			/* drop what was replayed: memory stays at about a record */
			memmove(data.data, data.data + pos, data.len - pos);
			data.len -= pos;
			base += pos;
			pos = 0;
		}
		if ((rc = fill(fd, &data, pos, HEADER)))
			goto ioerr;
		if (data.len - pos < HEADER)
			break;
		h = (const unsigned char *)data.data + pos;
		blen = get32(h + 4);
		nev = get32(h + 16);
		if (memcmp(h, MAGIC, 4) || blen > MAX_RECORD)
			break;
		if ((rc = fill(fd, &data, pos, HEADER + (size_t)blen)))
			goto ioerr;
		h = (const unsigned char *)data.data + pos;
		if (data.len - pos < HEADER + (size_t)blen || checksum(h, blen) != get64(h + 24) ||
		    nev > blen / 60)
			break;
		if (nev > evcap) {
			evcap = nev;
			evs = xrealloc(evs, sizeof(*evs) * evcap);
		}
		for (k = 0; k < nev; k++)
			if (parse_event(h + HEADER, blen, &off, &evs[k]) < 0) {
				bad = 1;
				free_event(&evs[k]);
				break;
			}
		for (x = 0; x < k; x++) {
			if (!bad && !stop &&
			    fn(arg, (int64_t)get64(h + 8) + x, &evs[x], base + pos + HEADER + blen))
				stop = 1;
			free_event(&evs[x]);
		}
		if (bad || stop)
			break;
		pos += HEADER + blen;
		nrec++;
		if (end)
			*end = base + pos;
	}
	if (records)
		*records = nrec;
	if (bad_tail)
		*bad_tail = (uint64_t)st.st_size > base + pos ? (uint64_t)st.st_size - (base + pos) : 0;
	goto done;
ioerr:
	lh_buf_addf(err, "cannot read the journal '%s': %s", p.data, strerror(-rc));
done:
	close(fd);
out:
	free(evs);
	lh_buf_release(&p);
	lh_buf_release(&data);
	return rc;
}

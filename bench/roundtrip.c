/*
 * roundtrip.c -- what a verdict costs through the mount.
 *
 *   roundtrip [--n N] [--clients M] [--secs S] [--warmup W]
 *             MOUNT LABEL [MOUNT LABEL...]
 *
 * Two ways of asking, each for a cached command (the same every time:
 * `git status`) and a fresh one (unique every time, so no verdict cache
 * can answer: `ls /tmp/fresh-...`):
 *
 *   twofile  what a shell script does: open requests/NAME with
 *            O_WRONLY|O_CREAT|O_TRUNC, write the command, close; open
 *            results/NAME, read to EOF, close
 *   channel  requests/NAME opened O_RDWR|O_CREAT once; each round trip
 *            is one write and one read on that fd
 *
 * Each is run sequentially (one client, N timed round trips after W
 * untimed ones) and concurrently (M client threads for S seconds, each
 * with its own names). A round trip is timed from the first open (or the
 * write) to the end of the last read; throughput is round trips per
 * second of wall time.
 *
 * Several mounts are measured in one run, phase by phase in turn, so that
 * a slower minute on a shared machine falls on all of them alike
 * (bench/run-roundtrip.sh compares lighthoused with bench/nullfs so).
 *
 * FUSE requests per round trip come from MOUNT/stats
 * (lighthouse_fuse_requests_total{op="..."}), read before and after each
 * phase. Reading the stats file costs requests of its own; that cost is
 * measured at start (three reads in a row, the last difference) and
 * subtracted. Forgets are sent by the kernel when it evicts an inode, a
 * little later than the round trip that caused them: over N round trips
 * that edge effect is small.
 *
 * Every verdict read is checked (its first line must be allow, deny or
 * ask); any failure is reported on stderr and the exit status is 1.
 *
 * Output, one figure a line (`metric value unit`), e.g.
 *
 *   lighthouse.twofile.cached.seq.p50 85.2 us
 *   lighthouse.twofile.cached.fuse_requests_per_rt 8.00 req
 *   lighthouse.twofile.cached.fuse.lookup 2.00 req
 *   lighthouse.channel.fresh.conc16.throughput 21000 ops/s
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/xalloc.h"
#include "common/banned.h"

#define MAX_MOUNTS 8
#define MAX_OPS 32
#define VERDICT_MAX 4096

enum mode { TWOFILE, CHANNEL };
enum kind { CACHED, FRESH };

static const char *const mode_names[] = { "twofile", "channel" };
static const char *const kind_names[] = { "cached", "fresh" };

struct opts {
	unsigned long n;		/* timed sequential round trips */
	unsigned long clients;		/* concurrent clients */
	double secs;			/* seconds of the concurrent phase */
	unsigned long warmup;		/* untimed round trips first, per client */
};

/* The FUSE request counters of one stats read. */
struct opcounts {
	int n;
	char name[MAX_OPS][24];
	uint64_t v[MAX_OPS];
	uint64_t parked;		/* lighthouse_reads_parked_total */
};

struct mount {
	const char *dir;
	const char *label;
	struct opcounts overhead;	/* what one stats read costs */
};

struct client {
	const struct mount *m;
	enum mode mode;
	enum kind kind;
	unsigned id;
	char req_path[PATH_MAX];
	char res_path[PATH_MAX];
	int chan;			/* channel fd, -1 */
	uint64_t fresh;			/* fresh commands made so far */
	int64_t *lat;			/* round-trip ns, timed ones */
	size_t nlat, cap;
	unsigned long hits;		/* verdicts saying "cache: hit" */
	int failed;
	/* concurrent phase */
	pthread_barrier_t *ready, *go;
	int64_t deadline;		/* monotonic ns */
	unsigned long warmup;
};

/* ---- the stats file ----------------------------------------------------------- */

static int read_stats(const struct mount *m, struct opcounts *c)
{
	static const char key[] = "lighthouse_fuse_requests_total{op=\"";
	static const char parked_key[] = "\nlighthouse_reads_parked_total ";
	char path[PATH_MAX], *buf = NULL, *p;
	size_t len = 0, cap = 0;
	ssize_t r;
	int fd, rc = -1;

	memset(c, 0, sizeof(*c));
	snprintf(path, sizeof(path), "%s/stats", m->dir);
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "roundtrip: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 131072;
			buf = xrealloc(buf, cap);
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0) {
			fprintf(stderr, "roundtrip: %s: %s\n", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	p = strstr(buf, parked_key);
	if (p)
		c->parked = strtoull(p + sizeof(parked_key) - 1, NULL, 10);
	for (p = buf; (p = strstr(p, key)) && c->n < MAX_OPS; ) {
		char *name = p + sizeof(key) - 1, *q = strchr(name, '"'), *end;

		if (!q || q[1] != '}' || (size_t)(q - name) >= sizeof(c->name[0]))
			break;
		memcpy(c->name[c->n], name, (size_t)(q - name));
		c->name[c->n][q - name] = '\0';
		c->v[c->n] = strtoull(q + 2, &end, 10);
		c->n++;
		p = end;
	}
	if (!c->n) {
		fprintf(stderr, "roundtrip: %s has no lighthouse_fuse_requests_total lines\n", path);
		goto out;
	}
	rc = 0;
out:
	close(fd);
	free(buf);
	return rc;
}

/* d = after - before - overhead, per op (at least 0). */
static void ops_delta(const struct opcounts *after, const struct opcounts *before,
		      const struct opcounts *overhead, struct opcounts *d)
{
	int i, j;

	*d = *after;
	for (i = 0; i < d->n; i++) {
		uint64_t sub = 0;

		for (j = 0; j < before->n; j++)
			if (!strcmp(before->name[j], d->name[i]))
				sub += before->v[j];
		for (j = 0; overhead && j < overhead->n; j++)
			if (!strcmp(overhead->name[j], d->name[i]))
				sub += overhead->v[j];
		d->v[i] = d->v[i] > sub ? d->v[i] - sub : 0;
	}
	d->parked = after->parked > before->parked ? after->parked - before->parked : 0;
}

static uint64_t ops_total(const struct opcounts *c)
{
	uint64_t t = 0;
	int i;

	for (i = 0; i < c->n; i++)
		t += c->v[i];
	return t;
}

static int calibrate(struct mount *m)
{
	struct opcounts a, b;

	/* the first read may look names up; the next two cost what every read costs */
	if (read_stats(m, &a) || read_stats(m, &a) || read_stats(m, &b))
		return -1;
	ops_delta(&b, &a, NULL, &m->overhead);
	return 0;
}

/* ---- one round trip ------------------------------------------------------------- */

static void fail(struct client *c, const char *what, const char *path)
{
	if (!c->failed)
		fprintf(stderr, "roundtrip: %s client %u: %s %s: %s\n", c->m->label, c->id, what,
			path, strerror(errno));
	c->failed = 1;
}

static size_t command(struct client *c, char *buf, size_t size)
{
	int n;

	if (c->kind == CACHED)
		n = snprintf(buf, size, "git status\n");
	else
		n = snprintf(buf, size, "ls /tmp/fresh-%ld-%s-%u-%" PRIu64 "\n", (long)getpid(),
			     mode_names[c->mode], c->id, c->fresh++);
	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A verdict is a decision word on its own first line. */
static int check_verdict(struct client *c, const char *v, size_t n)
{
	static const char *const words[] = { "allow\n", "deny\n", "ask\n" };
	size_t k;

	for (k = 0; k < 3; k++)
		if (n >= strlen(words[k]) && !memcmp(v, words[k], strlen(words[k]))) {
			if (memmem(v, n, "\ncache: hit\n", 12))
				c->hits++;
			return 0;
		}
	if (!c->failed)
		fprintf(stderr, "roundtrip: %s client %u: not a verdict: '%.*s'\n", c->m->label,
			c->id, (int)(n > 80 ? 80 : n), v);
	c->failed = 1;
	return -1;
}

static int twofile(struct client *c, const char *cmd, size_t len)
{
	char v[VERDICT_MAX];
	size_t got = 0;
	ssize_t r;
	int fd;

	fd = open(c->req_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		fail(c, "open", c->req_path);
		return -1;
	}
	if (write_all(fd, cmd, len)) {
		fail(c, "write", c->req_path);
		close(fd);
		return -1;
	}
	if (close(fd)) {
		fail(c, "close", c->req_path);
		return -1;
	}
	fd = open(c->res_path, O_RDONLY);
	if (fd < 0) {
		fail(c, "open", c->res_path);
		return -1;
	}
	while (got < sizeof(v) && (r = read(fd, v + got, sizeof(v) - got)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fail(c, "read", c->res_path);
			close(fd);
			return -1;
		}
		got += (size_t)r;
	}
	close(fd);
	return check_verdict(c, v, got);
}

static int channel(struct client *c, const char *cmd, size_t len)
{
	char v[VERDICT_MAX];
	ssize_t r;

	if (write_all(c->chan, cmd, len)) {
		fail(c, "write", c->req_path);
		return -1;
	}
	do
		r = read(c->chan, v, sizeof(v));
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		fail(c, "read", c->req_path);
		return -1;
	}
	return check_verdict(c, v, (size_t)r);
}

/* One round trip; timed ones are recorded. */
static int roundtrip(struct client *c, int timed)
{
	char cmd[256];
	size_t len = command(c, cmd, sizeof(cmd));
	int64_t t0 = lh_mono_ns();
	int rc = c->mode == TWOFILE ? twofile(c, cmd, len) : channel(c, cmd, len);

	if (rc || !timed)
		return rc;
	if (c->nlat == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 4096;
		c->lat = xrealloc(c->lat, c->cap * sizeof(*c->lat));
	}
	c->lat[c->nlat++] = lh_mono_ns() - t0;
	return 0;
}

static int client_open(struct client *c, const struct mount *m, enum mode mode, enum kind kind,
		       unsigned id)
{
	memset(c, 0, sizeof(*c));
	c->m = m;
	c->mode = mode;
	c->kind = kind;
	c->id = id;
	c->chan = -1;
	snprintf(c->req_path, sizeof(c->req_path), "%s/requests/rt-%ld-%s-%u", m->dir,
		 (long)getpid(), mode_names[mode], id);
	snprintf(c->res_path, sizeof(c->res_path), "%s/results/rt-%ld-%s-%u", m->dir,
		 (long)getpid(), mode_names[mode], id);
	if (mode == CHANNEL) {
		c->chan = open(c->req_path, O_RDWR | O_CREAT, 0600);
		if (c->chan < 0) {
			fail(c, "open", c->req_path);
			return -1;
		}
	}
	return 0;
}

static void client_close(struct client *c)
{
	if (c->chan >= 0)
		close(c->chan);
	free(c->lat);
}

/* ---- phases ------------------------------------------------------------------------ */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v, in microseconds. */
static double pct_us(const int64_t *v, size_t n, double p)
{
	size_t k = (size_t)(p * (double)n + 0.999999);

	if (!n)
		return 0;
	if (k < 1)
		k = 1;
	return (double)v[(k > n ? n : k) - 1] / 1000.0;
}

static void report(const struct mount *m, enum mode mode, enum kind kind, const char *shape,
		   int64_t *lat, size_t n, int64_t wall_ns, const struct opcounts *before,
		   const struct opcounts *after, int per_op, unsigned long hits)
{
	char pre[256];
	struct opcounts d;
	int i;

	snprintf(pre, sizeof(pre), "%s.%s.%s", m->label, mode_names[mode], kind_names[kind]);
	qsort(lat, n, sizeof(*lat), cmp_i64);
	printf("%s.%s.p50 %.1f us\n", pre, shape, pct_us(lat, n, 0.50));
	printf("%s.%s.p99 %.1f us\n", pre, shape, pct_us(lat, n, 0.99));
	printf("%s.%s.throughput %.0f ops/s\n", pre, shape,
	       wall_ns > 0 ? (double)n * 1e9 / (double)wall_ns : 0.0);
	if (!n)
		return;
	ops_delta(after, before, &m->overhead, &d);
	if (per_op) {
		printf("%s.fuse_requests_per_rt %.2f req\n", pre, (double)ops_total(&d) / (double)n);
		for (i = 0; i < d.n; i++)
			if (d.v[i])
				printf("%s.fuse.%s %.2f req\n", pre, d.name[i],
				       (double)d.v[i] / (double)n);
		printf("%s.parked_reads_per_rt %.2f req\n", pre, (double)d.parked / (double)n);
		printf("%s.cache_hits %.0f %%\n", pre, 100.0 * (double)hits / (double)n);
	} else {
		printf("%s.%s.fuse_requests_per_rt %.2f req\n", pre, shape,
		       (double)ops_total(&d) / (double)n);
	}
	fflush(stdout);
}

static int run_seq(const struct mount *m, enum mode mode, enum kind kind, const struct opts *o)
{
	struct opcounts before, after;
	struct client c;
	unsigned long i;
	int64_t t0, t1;
	int rc = -1;

	if (client_open(&c, m, mode, kind, 0))
		goto out;
	for (i = 0; i < o->warmup; i++)
		if (roundtrip(&c, 0))
			goto out;
	c.hits = 0;
	if (read_stats(m, &before))
		goto out;
	t0 = lh_mono_ns();
	for (i = 0; i < o->n; i++)
		if (roundtrip(&c, 1))
			goto out;
	t1 = lh_mono_ns();
	if (read_stats(m, &after))
		goto out;
	report(m, mode, kind, "seq", c.lat, c.nlat, t1 - t0, &before, &after, 1, c.hits);
	rc = 0;
out:
	client_close(&c);
	return rc;
}

static void *conc_client(void *arg)
{
	struct client *c = arg;
	unsigned long i;

	for (i = 0; i < c->warmup && !c->failed; i++)
		roundtrip(c, 0);
	pthread_barrier_wait(c->ready);
	pthread_barrier_wait(c->go);	/* the stats are read between the two */
	while (!c->failed && lh_mono_ns() < c->deadline)
		roundtrip(c, 1);
	return NULL;
}

static int run_conc(const struct mount *m, enum mode mode, enum kind kind, const struct opts *o)
{
	struct client *cs = xcalloc(o->clients, sizeof(*cs));
	pthread_t *th = xcalloc(o->clients, sizeof(*th));
	pthread_barrier_t ready, go;
	struct opcounts before, after;
	int64_t *all, t0, t1;
	size_t n = 0, k;
	unsigned long i, started = 0;
	int rc = -1, failed = 0;
	char shape[32];

	pthread_barrier_init(&ready, NULL, (unsigned)o->clients + 1);
	pthread_barrier_init(&go, NULL, (unsigned)o->clients + 1);
	for (i = 0; i < o->clients; i++)
		if (client_open(&cs[i], m, mode, kind, (unsigned)i + 1))
			failed = 1;
	if (failed)
		goto out;
	for (i = 0; i < o->clients; i++) {
		cs[i].ready = &ready;
		cs[i].go = &go;
		cs[i].warmup = o->warmup < 20 ? o->warmup : 20;
		cs[i].deadline = INT64_MAX;
		if (pthread_create(&th[i], NULL, conc_client, &cs[i]))
			break;
		started++;
	}
	if (started < o->clients) {
		/* cannot happen on a sane system; do not leave threads at a barrier */
		fprintf(stderr, "roundtrip: cannot start %lu threads\n", o->clients);
		abort();
	}
	pthread_barrier_wait(&ready);
	rc = read_stats(m, &before);
	t0 = lh_mono_ns();
	for (i = 0; i < o->clients; i++)
		cs[i].deadline = rc ? 0 : t0 + (int64_t)(o->secs * 1e9);
	pthread_barrier_wait(&go);
	for (i = 0; i < o->clients; i++)
		pthread_join(th[i], NULL);
	t1 = lh_mono_ns();
	if (rc || read_stats(m, &after)) {
		rc = -1;
		goto out;
	}
	for (i = 0; i < o->clients; i++) {
		n += cs[i].nlat;
		failed |= cs[i].failed;
	}
	all = xmalloc((n ? n : 1) * sizeof(*all));
	for (i = 0, n = 0; i < o->clients; i++)
		for (k = 0; k < cs[i].nlat; k++)
			all[n++] = cs[i].lat[k];
	snprintf(shape, sizeof(shape), "conc%lu", o->clients);
	report(m, mode, kind, shape, all, n, t1 - t0, &before, &after, 0, 0);
	free(all);
	rc = failed ? -1 : 0;
out:
	for (i = 0; i < o->clients; i++)
		client_close(&cs[i]);
	pthread_barrier_destroy(&ready);
	pthread_barrier_destroy(&go);
	free(cs);
	free(th);
	return rc;
}

/* ---- main ------------------------------------------------------------------------- */

static int parse_ulong(const char *s, unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, 10);
	return errno || end == s || *end || !*v ? -1 : 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: roundtrip [--n N] [--clients M] [--secs S] [--warmup W] MOUNT LABEL [MOUNT LABEL...]\n");
}

int main(int argc, char **argv)
{
	struct opts o = { 2000, 16, 1.0, 50 };
	struct mount mounts[MAX_MOUNTS];
	int nm = 0, i, status = 0, mode, kind, k;

	for (i = 1; i < argc && !strncmp(argv[i], "--", 2); i += 2) {
		char *end;
		int bad = i + 1 >= argc;

		if (!bad && !strcmp(argv[i], "--n"))
			bad = parse_ulong(argv[i + 1], &o.n);
		else if (!bad && !strcmp(argv[i], "--clients"))
			bad = parse_ulong(argv[i + 1], &o.clients);
		else if (!bad && !strcmp(argv[i], "--warmup"))
			bad = parse_ulong(argv[i + 1], &o.warmup);
		else if (!bad && !strcmp(argv[i], "--secs"))
			bad = (o.secs = strtod(argv[i + 1], &end)) <= 0 || *end;
		else
			bad = 1;
		if (bad) {
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc || (argc - i) % 2 || (argc - i) / 2 > MAX_MOUNTS) {
		usage(stderr);
		return 2;
	}
	for (; i < argc; i += 2, nm++) {
		mounts[nm].dir = argv[i];
		mounts[nm].label = argv[i + 1];
		if (calibrate(&mounts[nm]))
			return 1;
	}
	for (mode = TWOFILE; mode <= CHANNEL; mode++)
		for (kind = CACHED; kind <= FRESH; kind++) {
			for (k = 0; k < nm; k++)
				if (run_seq(&mounts[k], mode, kind, &o))
					status = 1;
			for (k = 0; k < nm; k++)
				if (run_conc(&mounts[k], mode, kind, &o))
					status = 1;
		}
	return status;
}

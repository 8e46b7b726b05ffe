/*
 * store.c -- bench/store: how fast the event store records, against the
 * practical ceiling measured in the same run, and what a verdict's round
 * trip through the mount costs under 256 concurrent clients.
 *
 *   bench/store [--events N] [--seconds S] [--lighthoused PATH] [--dir DIR] [--no-mount]
 *
 * 1. Sustained events/s with 1, 16 and 256 producer threads: each submits
 *    small events (what the FUSE side records: a request and its verdict,
 *    with uid/gid/pid, request id, name and a 100-byte payload) one per
 *    submission, asynchronously, as the FUSE threads do, as fast as the
 *    bounded queue lets it; the clock stops when the last one is
 *    committed. A fresh store each time.
 * 2. The ceiling: a raw SQLite loop inserting the same rows (same schema
 *    and indexes, same chain checksums, same pragmas) in one big
 *    transaction, no queue, no threads; the best of a run before and a
 *    run after the store's. The ratio store/raw is printed.
 * 3. Round trip through a real mount: lighthoused is started on a private
 *    mount point; 1, then 256 client threads each keep a channel open
 *    (requests/NAME, O_RDWR) and write a request, read its verdict, again,
 *    for S seconds; p50 and p99 of write-to-verdict and the verdicts per
 *    second are printed. Needs /dev/fuse (skipped with a message if not).
 *
 * Output: `metric value unit` lines. Compare ratios of one run, never
 * numbers of different days or machines.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/buf.h"
#include "common/clock.h"
#include "store/store.h"
#include "store/store_int.h"
#include "common/banned.h"

static const char *base_dir;
static int64_t events_per_run = 400000;
static double seconds = 5;
static const char *lighthoused = "fs/lighthoused";
static int no_mount;

/* ---- the rows ------------------------------------------------------------------ */

struct row_buf {
	char path[32];
	char payload[160];
};

/*
 * The k-th small event of producer p: what the FUSE side records, a
 * request (even k) and its verdict (odd k), one event per submission.
 */
static void make_event(int p, int64_t k, struct lh_event *ev, struct row_buf *b)
{
	int64_t req = k / 2;

	memset(ev, 0, sizeof(*ev));
	snprintf(b->path, sizeof(b->path), "job-%d-%" PRId64, p, req % 1000);
	if (k % 2 == 0)
		snprintf(b->payload, sizeof(b->payload),
			 "{\"name\":\"%s\",\"form\":\"shell\",\"bytes\":13,\"tool\":\"Bash\","
			 "\"input\":\"git status -s\",\"cwd\":\"/home/agent/project\"}", b->path);
	else
		snprintf(b->payload, sizeof(b->payload),
			 "{\"decision\":\"%s\",\"reason\":\"a read-only command\",\"rule\":\"dev.read-only\","
			 "\"tier\":\"policy\",\"cached\":%s,\"judge_us\":%d}",
			 req % 7 ? "allow" : "deny", req % 3 ? "true" : "false", (int)(req % 97));
	ev->type = k % 2 ? "verdict" : "request";
	ev->uid = 1000;
	ev->gid = 1000;
	ev->pid = 4000 + p;
	ev->request_id = (int64_t)p * 100000000 + req + 1;
	ev->path = b->path;
	ev->payload = b->payload;
	ev->payload_len = strlen(b->payload);
}

static char *fresh_dir(const char *name)
{
	struct lh_buf b = LH_BUF_INIT;
	char cmd[PATH_MAX + 16];

	lh_buf_addf(&b, "%s/%s", base_dir, name);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", b.data);
	if (system(cmd))
		fprintf(stderr, "bench/store: cannot clean '%s'\n", b.data);
	return lh_buf_detach(&b, NULL);
}

/* ---- 1. the store --------------------------------------------------------------- */

static _Atomic int64_t committed, failed;

static void on_done(void *arg, int status, int64_t seq)
{
	(void)arg;
	(void)seq;
	if (status)
		atomic_fetch_add(&failed, 1);
	else
		atomic_fetch_add(&committed, 1);
}

struct producer {
	struct lh_store *s;
	int id;
	int64_t n;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	struct lh_event ev;
	struct row_buf b;
	int64_t k;

	for (k = 0; k < p->n; k++) {
		make_event(p->id, k, &ev, &b);
		if (lh_store_submit(p->s, &ev, 1, on_done, NULL))
			atomic_fetch_add(&failed, 1);
	}
	return NULL;
}

static double run_store(int producers)
{
	struct lh_store_opts so;
	struct lh_buf err = LH_BUF_INIT;
	struct lh_store *s;
	struct producer *p = calloc((size_t)producers, sizeof(*p));
	pthread_t *th = calloc((size_t)producers, sizeof(*th));
	char name[32];
	char *dir;
	int64_t total = 0, t0, t1;
	int k;

	snprintf(name, sizeof(name), "store-%d", producers);
	dir = fresh_dir(name);
	memset(&so, 0, sizeof(so));
	so.dir = dir;
	if (lh_store_open(&s, &so, &err)) {
		fprintf(stderr, "bench/store: %s\n", err.data);
		exit(1);
	}
	atomic_store(&committed, 0);
	atomic_store(&failed, 0);
	sync();		/* the previous run's pages written back, not during this one */
	t0 = lh_mono_ns();
	for (k = 0; k < producers; k++) {
		p[k].s = s;
		p[k].id = k;
		p[k].n = events_per_run / producers;
		total += p[k].n;
		pthread_create(&th[k], NULL, produce, &p[k]);
	}
	for (k = 0; k < producers; k++)
		pthread_join(th[k], NULL);
	while (atomic_load(&committed) + atomic_load(&failed) < total) {
		struct timespec ms = { 0, 200000 };

		nanosleep(&ms, NULL);
	}
	t1 = lh_mono_ns();
	if (atomic_load(&failed))
		fprintf(stderr, "bench/store: %" PRId64 " events failed\n", (int64_t)atomic_load(&failed));
	{
		struct lh_store_stats ss;

		lh_store_get_stats(s, &ss);
		printf("# producers %d: %" PRIu64 " commits, %.1f events per commit, %.1f us per commit, %" PRIu64
		       " waits on a full queue\n", producers, ss.commits,
		       ss.commits ? (double)ss.events / (double)ss.commits : 0.0,
		       ss.commits ? (double)ss.commit_us_sum / (double)ss.commits : 0.0, ss.queue_waits);
	}
	lh_store_close(s);
	free(p);
	free(th);
	free(dir);
	lh_buf_release(&err);
	return (double)total / ((double)(t1 - t0) / 1e9);
}

/* ---- 2. the ceiling: raw SQLite --------------------------------------------------- */

static double run_raw(void)
{
	struct lh_store_opts so;
	struct lh_buf err = LH_BUF_INIT, scratch = LH_BUF_INIT, path = LH_BUF_INIT;
	struct lh_store *s;
	sqlite3 *db;
	sqlite3_stmt *st;
	unsigned char prev[16] = { 0 }, hash[16];
	char *dir = fresh_dir("raw");
	int64_t k, t0, t1;

	/* the same schema, created by the store itself */
	memset(&so, 0, sizeof(so));
	so.dir = dir;
	if (lh_store_open(&s, &so, &err)) {
		fprintf(stderr, "bench/store: %s\n", err.data);
		exit(1);
	}
	lh_store_close(s);
	lh_buf_addf(&path, "%s/%s", dir, LH_STORE_FILE);
	if (sqlite3_open(path.data, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;"
			     " PRAGMA temp_store=MEMORY; PRAGMA cache_size=-65536", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO events(" ROW_COLUMNS ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)", -1, &st,
			       NULL) != SQLITE_OK) {
		fprintf(stderr, "bench/store: %s\n", sqlite3_errmsg(db));
		exit(1);
	}
	lh_buf_init(&scratch, 0);
	sync();
	t0 = lh_mono_ns();
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	for (k = 0; k < events_per_run; k++) {
		struct lh_event ev;
		struct lh_event_row row;
		struct row_buf b;

		make_event(0, k, &ev, &b);
		ev.time_ns = lh_wall_ns();
		store_row_of_event(&row, &ev, k + 1);
		chain_hash(prev, &row, &scratch, hash);
		if (store_row_insert(db, st, &row, hash) != SQLITE_DONE) {
			fprintf(stderr, "bench/store: %s\n", sqlite3_errmsg(db));
			exit(1);
		}
		memcpy(prev, hash, 16);
	}
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	t1 = lh_mono_ns();
	sqlite3_finalize(st);
	sqlite3_close(db);
	lh_buf_release(&scratch);
	lh_buf_release(&path);
	lh_buf_release(&err);
	free(dir);
	return (double)events_per_run / ((double)(t1 - t0) / 1e9);
}

/* ---- 3. the round trip through a mount ----------------------------------------------- */

static atomic_int measuring, stopping;

struct client {
	const char *mount;
	int id;
	uint32_t *lat_us;		/* samples while measuring */
	size_t n, cap;
	int error;
};

static void *client_main(void *arg)
{
	static const char *const cmds[] = { "ls -la", "git status", "rm -rf /", "make test", "cat README.md" };
	struct client *c = arg;
	char path[PATH_MAX], req[128], buf[4096];
	int fd, k = 0;

	snprintf(path, sizeof(path), "%s/requests/bench-%d", c->mount, c->id);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	if (fd < 0) {
		c->error = errno;
		return NULL;
	}
	while (!atomic_load(&stopping)) {
		int64_t t0, t1;
		ssize_t n;

		snprintf(req, sizeof(req), "%s # %d", cmds[k % 5], k % 40);
		k++;
		t0 = lh_mono_ns();
		if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
			c->error = errno;
			break;
		}
		n = read(fd, buf, sizeof(buf));
		t1 = lh_mono_ns();
		if (n <= 0) {
			c->error = n < 0 ? errno : ENODATA;
			break;
		}
		if (!atomic_load(&measuring))
			continue;
		if (c->n == c->cap) {
			c->cap = c->cap ? c->cap * 2 : 4096;
			c->lat_us = realloc(c->lat_us, sizeof(*c->lat_us) * c->cap);
		}
		c->lat_us[c->n++] = (uint32_t)((t1 - t0) / 1000);
	}
	close(fd);
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int mounted(const char *mnt)
{
	char path[PATH_MAX], line[256];
	FILE *f;
	int up = 0;

	snprintf(path, sizeof(path), "%s/stats", mnt);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strcmp(line, "lighthouse_up 1\n"))
			up = 1;
	if (f)
		fclose(f);
	return up;
}

/* clients threads on the mount for `seconds`: p50, p99, verdicts/s. */
static int measure(const char *mnt, int clients)
{
	struct client *c = calloc((size_t)clients, sizeof(*c));
	pthread_t *th = calloc((size_t)clients, sizeof(*th));
	uint32_t *all;
	size_t total = 0, at = 0;
	int64_t t0, t1;
	int k, errors = 0;

	atomic_store(&measuring, 0);
	atomic_store(&stopping, 0);
	for (k = 0; k < clients; k++) {
		c[k].mount = mnt;
		c[k].id = k;
		pthread_create(&th[k], NULL, client_main, &c[k]);
	}
	sleep(1);	/* warm up: every channel open, the verdict cache filled */
	atomic_store(&measuring, 1);
	t0 = lh_mono_ns();
	{
		struct timespec d = { (time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9) };

		nanosleep(&d, NULL);
	}
	atomic_store(&measuring, 0);
	t1 = lh_mono_ns();
	atomic_store(&stopping, 1);
	for (k = 0; k < clients; k++) {
		pthread_join(th[k], NULL);
		total += c[k].n;
		errors += c[k].error != 0;
	}
	all = malloc(sizeof(*all) * (total ? total : 1));
	for (k = 0; k < clients; k++) {
		if (c[k].n)
			memcpy(all + at, c[k].lat_us, sizeof(*all) * c[k].n);
		at += c[k].n;
		free(c[k].lat_us);
	}
	qsort(all, total, sizeof(*all), cmp_u32);
	if (errors)
		printf("# %d clients stopped on an error\n", errors);
	if (total) {
		printf("roundtrip_p50{clients=%d} %u us\n", clients, all[total / 2]);
		printf("roundtrip_p99{clients=%d} %u us\n", clients, all[total * 99 / 100]);
		printf("roundtrip_verdicts_per_sec{clients=%d} %.0f verdicts/s\n", clients,
		       (double)total / ((double)(t1 - t0) / 1e9));
	}
	fflush(stdout);
	free(all);
	free(c);
	free(th);
	return errors ? 1 : 0;
}

static int run_roundtrip(void)
{
	char *mnt = fresh_dir("mnt"), *state = fresh_dir("rt-state");
	pid_t pid;
	int tries = 0, rc;

	if (access("/dev/fuse", R_OK | W_OK)) {
		printf("# round trip skipped: /dev/fuse is not usable here\n");
		free(mnt);
		free(state);
		return 0;
	}
	mkdir(mnt, 0700);
	pid = fork();
	if (pid == 0) {
		execl(lighthoused, "lighthoused", "-f", "--state", state, mnt, (char *)NULL);
		fprintf(stderr, "bench/store: cannot run '%s': %s\n", lighthoused, strerror(errno));
		_exit(127);
	}
	while (!mounted(mnt)) {
		struct timespec ms = { 0, 50000000 };
		int st;

		if (++tries > 200 || waitpid(pid, &st, WNOHANG) == pid) {
			fprintf(stderr, "bench/store: lighthoused did not mount on '%s'\n", mnt);
			kill(pid, SIGTERM);
			waitpid(pid, NULL, 0);
			return 1;
		}
		nanosleep(&ms, NULL);
	}
	/* one client for reference, then the 256 the store must serve */
	rc = measure(mnt, 1);
	rc |= measure(mnt, 256);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	free(mnt);
	free(state);
	return rc;
}

int main(int argc, char **argv)
{
	static const int producers[] = { 1, 16, 256 };
	double store[3], raw;
	char tmpl[] = "/tmp/lh-bench-store.XXXXXX";
	char cmd[PATH_MAX + 16];
	int i, k, rc, created = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--events") && i + 1 < argc)
			events_per_run = strtoll(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = strtod(argv[++i], NULL);
		else if (!strcmp(argv[i], "--lighthoused") && i + 1 < argc)
			lighthoused = argv[++i];
		else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			base_dir = argv[++i];
		else if (!strcmp(argv[i], "--no-mount"))
			no_mount = 1;
		else {
			fprintf(stderr, "usage: bench/store [--events N] [--seconds S] [--lighthoused PATH] [--dir DIR] [--no-mount]\n");
			return 2;
		}
	}
	if (events_per_run < 256 || seconds <= 0)
		return 2;
	if (!base_dir) {
		base_dir = mkdtemp(tmpl);
		if (!base_dir) {
			perror("bench/store: mkdtemp");
			return 1;
		}
		created = 1;
	}
	printf("# %" PRId64 " events per run, sqlite %s\n", events_per_run, sqlite3_libversion());
	/* the ceiling is the best of two raw runs, before and after the store's */
	raw = run_raw();
	for (k = 0; k < 3; k++)
		store[k] = run_store(producers[k]);
	{
		double again = run_raw();

		if (again > raw)
			raw = again;
	}
	printf("raw_sqlite_events_per_sec %.0f events/s\n", raw);
	for (k = 0; k < 3; k++)
		printf("store_events_per_sec{producers=%d} %.0f events/s\n", producers[k], store[k]);
	for (k = 0; k < 3; k++)
		printf("store_vs_raw{producers=%d} %.2f ratio\n", producers[k], store[k] / raw);
	fflush(stdout);
	rc = no_mount ? 0 : run_roundtrip();
	if (created) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base_dir);
		if (system(cmd))
			fprintf(stderr, "bench/store: cannot remove '%s'\n", base_dir);
	}
	return rc;
}

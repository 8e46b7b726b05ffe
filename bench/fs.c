/*
 * fs.c -- file system benchmarks of current/, side by side with a plain
 * passthrough FUSE filesystem (bench/passthrough, the floor) and with
 * the real directory (native), in one run.
 *
 *   bench/fs --setup DIR                  make the material in DIR
 *   bench/fs --setup-tree DIR N           N small files in folders of 100
 *   bench/fs --walk DIR                   walk DIR as find does, timed
 *   bench/fs [--stats FILE] [--pid LABEL=PID]... [--quick] [--each] [--only M,M] LABEL=DIR ...
 *
 * Every DIR holds the same material (made with --setup before it is
 * mounted, so that no target sees its making): f4k (4 KiB), d1k (1 000
 * empty files), d100k.0 and d100k.1 (100 000 each), storm.0..4 (empty)
 * and read.bin (256 MiB). Each metric runs on every target in turn,
 * ROUNDS times (the first target of a round rotates), and the best time
 * counts, so that a noisy moment of the shared machine does not pick
 * the winner. After each run the machine gets --settle MS (300; 0 with
 * --quick) to finish what the run left behind (settle()). A metric
 * that measures a first time (a first listing, new names, a first
 * read) gets fresh material each round: another d100k,
 * another storm folder, and read.bin's pages dropped from the mount's
 * cache (posix_fadvise DONTNEED; on tmpfs the native file stays in
 * memory, where it lives). Then `ratio.fs.METRIC.A_B` compares the
 * targets pairwise in the order given (the first is usually current,
 * then passthrough, then native).
 *
 *   stat             stat of one file, again and again (kernel-cached)
 *   open_read        open + read 4 KiB + close of one file
 *   create_write     create + write 4 KiB + close + unlink (new names)
 *   readdir_1k       a listing of 1 000 entries (the first and cached ones)
 *   readdir_stat_1k  a listing of 1 000 entries and a stat of each
 *   readdir_100k     the first listing of 100 000 entries
 *   readdir_stat_100k  the next listing of them, and a stat of each
 *   storm_create, storm_stat, storm_unlink
 *                    10 000 creates, then their stats, then their unlinks
 *   seq_write        256 MiB written in 1 MiB writes (and closed)
 *   seq_read         read.bin read in 1 MiB reads (the mount's first read)
 *
 * Times are per operation (us) or throughput (MiB/s). With --stats, the
 * Prometheus file of the lighthoused mount (the target named "current")
 * is read around each metric: `fs.METRIC.current_requests` is the FUSE
 * requests per operation that reached the daemon. The recording of
 * current/'s changes happens after the operations return (RELEASE is
 * asynchronous, and so are the recorder and the store's writer): after
 * each run on current the benchmark waits until the recorder and the
 * store have nothing left (lighthouse_current_record_backlog and
 * lighthouse_store_queue_depth 0), so that their work does not land on
 * the next target's time, and reports that wait as
 * `fs.METRIC.current_record_drain_ms`.
 *
 * With --pid LABEL=PID, the CPU time that process (all its threads)
 * spent while the target ran -- and, for current, while it drained --
 * is reported per operation as `fs.METRIC.LABEL_cpu`, summed over all
 * rounds, with `ratio.fs.METRIC.cpu_A_B` for targets that have one. It
 * counts what the daemon did, not how long anyone waited, so it moves far
 * less with the machine's mood than the times do: on these VMs a FUSE
 * request's wall time is mostly wake-ups that cross CPUs, which depend on
 * where the scheduler happened to put the threads. The kernel's accounting
 * has a resolution of one clock tick (10 ms): the figure means something
 * for the metrics whose rounds last seconds (the write metrics), not for
 * a kernel-cached stat.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/banned.h"

#define MAXT 4
#define SEQ_MIB 256
#define STORM 10000
#define ROUNDS 5
#define COLD_ROUNDS 2		/* copies of d100k */

struct target {
	const char *label;
	const char *dir;
	long pid;		/* --pid: the daemon behind it, or 0 */
};

static struct target tg[MAXT];
static int ntg;
static const char *stats_file;
static int quick;
static int each;		/* --each: print every round's time, not only the best */
static long settle_ms = -1;	/* --settle: the pause after each target's run (-1: default) */
static const char *only;	/* --only a,b: just these metrics */
static char *block;		/* 1 MiB of data to write */

#define USAGE "usage: bench/fs --setup DIR | [--stats FILE] [--pid LABEL=PID]... [--quick] [--each] [--settle MS] [--only M,M] LABEL=DIR...\n"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *path)
{
	fprintf(stderr, "bench/fs: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

static void path(char *out, size_t n, const char *dir, const char *rel)
{
	snprintf(out, n, "%s/%s", dir, rel);
}

static double stats_cost;	/* requests that reading the stats file costs */

/* A metric's value in the stats file, or -1. */
static double stat_value(const char *name)
{
	char line[512];
	size_t n = strlen(name);
	double v = -1;
	FILE *f;

	if (!stats_file)
		return -1;
	f = fopen(stats_file, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, n) && line[n] == ' ' && sscanf(line + n, "%lf", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* The CPU time (user and system, all threads) of a process, in seconds. */
static double cpu_of(long pid)
{
	char p[64], line[1024], *s;
	unsigned long ut, st;
	FILE *f;
	int k;

	snprintf(p, sizeof(p), "/proc/%ld/stat", pid);
	f = fopen(p, "r");
	if (!f)
		return -1;
	s = fgets(line, sizeof(line), f);
	fclose(f);
	/* after the command's name, which may hold spaces: fields 14 and 15 */
	s = s ? strrchr(line, ')') : NULL;
	if (!s)
		return -1;
	for (k = 0; k < 12 && s; k++)
		s = strchr(s + 1, ' ');
	if (!s || sscanf(s, " %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU time per operation of target a's daemon over b's; 0 where b's is unknown. */
static double cpu_ratio(const double *cpu, const double *ops, int a, int b)
{
	if (cpu[b] <= 0 || ops[a] <= 0)
		return 0;
	return cpu[a] / ops[a] / (cpu[b] / ops[b]);
}

/* Wait until the recorder and the store are idle; the seconds it took. */
static double drain(void)
{
	double t0 = now_s();
	struct timespec nap = { 0, 5000000 };

	while ((stat_value("lighthouse_current_record_backlog") > 0 ||
		stat_value("lighthouse_store_queue_depth") > 0) && now_s() - t0 < 600)
		nanosleep(&nap, NULL);
	return now_s() - t0;
}

/*
 * Let the machine settle after a target's run, before the next one: what
 * a run leaves behind -- the kernel freeing the inodes of 10 000 unlinks,
 * the writeback of the event store's pages, a CPU-bound run's standing
 * with the scheduler -- must not land on the next target's time. Without
 * the pause the rotation let it land unevenly: current followed native in
 * three rounds of five, and on create_write those rounds of current
 * took 328-443 us against 238-286 us for the others (two runs; the
 * storms showed it less); with it, no position stands out.
 */
static void settle(void)
{
	struct timespec nap = { settle_ms / 1000, (settle_ms % 1000) * 1000000L };

	if (settle_ms > 0)
		nanosleep(&nap, NULL);
}

/* The FUSE requests the daemon counted so far (all operations). */
static double requests(void)
{
	char line[512];
	double total = 0, v;
	FILE *f;

	if (!stats_file)
		return 0;
	f = fopen(stats_file, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "lighthouse_fuse_requests_total{", 31) &&
		    sscanf(strchr(line, '}') + 1, "%lf", &v) == 1)
			total += v;
	fclose(f);
	return total;
}

/* ---- the work of each metric: returns the number of operations done --------- */

static long m_stat(const char *dir, int round)
{
	char p[4096];
	struct stat st;
	long i, n = quick ? 20000 : 200000;

	(void)round;
	path(p, sizeof(p), dir, "d1k/f0");
	for (i = 0; i < n; i++)
		if (stat(p, &st))
			die("stat", p);
	return n;
}

static long m_open_read(const char *dir, int round)
{
	char p[4096], buf[4096];
	long i, n = quick ? 500 : 5000;

	(void)round;
	path(p, sizeof(p), dir, "f4k");
	for (i = 0; i < n; i++) {
		int fd = open(p, O_RDONLY);

		if (fd < 0 || read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			die("open+read", p);
		close(fd);
	}
	return n;
}

static long m_create_write(const char *dir, int round)
{
	static long serial;
	char p[4096], name[64];
	long i, n = quick ? 200 : 2000;

	(void)round;
	for (i = 0; i < n; i++) {
		int fd;

		snprintf(name, sizeof(name), "cw-%ld", serial++);
		path(p, sizeof(p), dir, name);
		fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0 || write(fd, block, 4096) != 4096)
			die("create+write", p);
		close(fd);
		if (unlink(p))
			die("unlink", p);
	}
	return n;
}

static long list(const char *dir, const char *rel, int with_stat)
{
	char p[4096];
	struct dirent *de;
	long count = 0;
	DIR *d;
	int dfd;

	path(p, sizeof(p), dir, rel);
	d = opendir(p);
	if (!d)
		die("opendir", p);
	dfd = dirfd(d);
	while ((de = readdir(d))) {
		struct stat st;

		count++;
		if (with_stat && fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			die("stat", de->d_name);
	}
	closedir(d);
	return count;
}

static long m_readdir_1k(const char *dir, int round)
{
	long i, n = quick ? 20 : 200;

	(void)round;
	for (i = 0; i < n; i++)
		list(dir, "d1k", 0);
	return n;
}

static long m_readdir_stat_1k(const char *dir, int round)
{
	long i, n = quick ? 5 : 50;

	(void)round;
	for (i = 0; i < n; i++)
		list(dir, "d1k", 1);
	return n;
}

static long m_readdir_100k(const char *dir, int round)
{
	char rel[32];

	snprintf(rel, sizeof(rel), "d100k.%d", round);
	list(dir, rel, 0);
	return 1;
}

static long m_readdir_stat_100k(const char *dir, int round)
{
	char rel[32];

	snprintf(rel, sizeof(rel), "d100k.%d", round);
	list(dir, rel, 1);
	return 1;
}

static long storm(const char *dir, int phase, int round)
{
	char p[4096], name[64];
	long i, n = quick ? 1000 : STORM;

	for (i = 0; i < n; i++) {
		struct stat st;
		int fd;

		snprintf(name, sizeof(name), "storm.%d/s%ld", round, i);
		path(p, sizeof(p), dir, name);
		if (phase == 0) {
			fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
			if (fd < 0)
				die("create", p);
			close(fd);
		} else if (phase == 1 ? stat(p, &st) : unlink(p)) {
			die(phase == 1 ? "stat" : "unlink", p);
		}
	}
	return n;
}

static long m_storm_create(const char *dir, int round)
{
	return storm(dir, 0, round);
}

static long m_storm_stat(const char *dir, int round)
{
	return storm(dir, 1, round);
}

static long m_storm_unlink(const char *dir, int round)
{
	return storm(dir, 2, round);
}

static long m_seq_write(const char *dir, int round)
{
	char p[4096];
	int fd, i, n = quick ? 32 : SEQ_MIB;

	(void)round;
	path(p, sizeof(p), dir, "seq.bin");
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("create", p);
	for (i = 0; i < n; i++)
		if (write(fd, block, 1 << 20) != 1 << 20)
			die("write", p);
	close(fd);
	unlink(p);
	return n;
}

static long m_seq_read(const char *dir, int round)
{
	char p[4096];
	ssize_t got;
	long mib = 0;
	int fd;

	(void)round;
	path(p, sizeof(p), dir, "read.bin");
	fd = open(p, O_RDONLY);
	if (fd < 0)
		die("open", p);
	while ((got = read(fd, block, 1 << 20)) > 0)
		mib += got;
	/* the next round reads through the mount again */
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
	return mib >> 20;
}

struct metric {
	const char *name;
	long (*run)(const char *dir, int round);
	int rounds;		/* how many times (fresh material each, where it matters) */
	int throughput;		/* MiB/s, not us per operation */
};

static const struct metric metrics[] = {
	{ "stat", m_stat, ROUNDS, 0 },
	{ "open_read", m_open_read, ROUNDS, 0 },
	{ "create_write", m_create_write, ROUNDS, 0 },
	{ "readdir_1k", m_readdir_1k, ROUNDS, 0 },
	{ "readdir_stat_1k", m_readdir_stat_1k, ROUNDS, 0 },
	{ "readdir_100k", m_readdir_100k, COLD_ROUNDS, 0 },
	{ "readdir_stat_100k", m_readdir_stat_100k, COLD_ROUNDS, 0 },
	{ "storm_create", m_storm_create, ROUNDS, 0 },
	{ "storm_stat", m_storm_stat, ROUNDS, 0 },
	{ "storm_unlink", m_storm_unlink, ROUNDS, 0 },
	{ "seq_write", m_seq_write, 3, 1 },
	{ "seq_read", m_seq_read, 3, 1 },
};

#define NMETRICS (sizeof(metrics) / sizeof(metrics[0]))

/* Whether --only (a comma-separated list) names the metric. */
static int selected(const char *name)
{
	size_t n = strlen(name);
	const char *p = only;

	if (!only)
		return 1;
	while ((p = strstr(p, name))) {
		if ((p == only || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

static int setup_tree(const char *dir, long n)
{
	char p[4096], name[64];
	long i;
	int fd;

	if (mkdir(dir, 0755) && errno != EEXIST)
		die("mkdir", dir);
	for (i = 0; i < n; i++) {
		if (i % 100 == 0) {
			snprintf(name, sizeof(name), "d%03ld", i / 100);
			path(p, sizeof(p), dir, name);
			if (mkdir(p, 0755))
				die("mkdir", p);
		}
		snprintf(name, sizeof(name), "d%03ld/file%05ld.c", i / 100, i);
		path(p, sizeof(p), dir, name);
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, name, strlen(name)) < 0)
			die("create", p);
		close(fd);
	}
	return 0;
}

/* A walk as find(1) does it: every folder read, every entry lstat'ed. */
static long walk(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *de;
	long count = 0;
	DIR *d;

	if (fd < 0)
		return 0;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		count++;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
			count += walk(dirfd(d), de->d_name);
	}
	closedir(d);
	return count;
}

static int timed_walk(const char *dir)
{
	double t0 = now_s();
	long n = walk(AT_FDCWD, dir);

	printf("walk.entries %ld entries\nwalk.time %.3f s\n", n, now_s() - t0);
	return 0;
}

static int setup(const char *dir)
{
	char p[4096], name[64];
	long i;
	int fd;

	block = malloc(1 << 20);
	memset(block, 'x', 1 << 20);
	if (mkdir(dir, 0755) && errno != EEXIST)
		die("mkdir", dir);
	path(p, sizeof(p), dir, "f4k");
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, block, 4096) != 4096)
		die("write", p);
	close(fd);
	for (i = 0; i <= COLD_ROUNDS; i++) {
		long k, n = i ? 100000 : 1000;
		char sub[32];

		if (i)
			snprintf(sub, sizeof(sub), "d100k.%ld", i - 1);
		else
			snprintf(sub, sizeof(sub), "d1k");
		path(p, sizeof(p), dir, sub);
		if (mkdir(p, 0755))
			die("mkdir", p);
		for (k = 0; k < n; k++) {
			snprintf(name, sizeof(name), "%s/f%ld", sub, k);
			path(p, sizeof(p), dir, name);
			fd = open(p, O_WRONLY | O_CREAT, 0644);
			if (fd < 0)
				die("create", p);
			close(fd);
		}
	}
	for (i = 0; i < ROUNDS; i++) {
		snprintf(name, sizeof(name), "storm.%ld", i);
		path(p, sizeof(p), dir, name);
		if (mkdir(p, 0755))
			die("mkdir", p);
	}
	path(p, sizeof(p), dir, "read.bin");
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("create", p);
	for (i = 0; i < SEQ_MIB; i++)
		if (write(fd, block, 1 << 20) != 1 << 20)
			die("write", p);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	double best[NMETRICS][MAXT], reqs[NMETRICS], drained[NMETRICS];
	double cpu[NMETRICS][MAXT], ops[NMETRICS][MAXT];
	const char *pids[MAXT];
	int npids = 0;
	size_t m;
	int i, t, a, b;

	for (i = 1; i < argc; i++) {
		char *eq;

		if (!strcmp(argv[i], "--setup") && i + 1 < argc)
			return setup(argv[i + 1]);
		if (!strcmp(argv[i], "--setup-tree") && i + 2 < argc)
			return setup_tree(argv[i + 1], strtol(argv[i + 2], NULL, 10));
		if (!strcmp(argv[i], "--walk") && i + 1 < argc)
			return timed_walk(argv[i + 1]);
		if (!strcmp(argv[i], "--stats") && i + 1 < argc) {
			stats_file = argv[++i];
			continue;
		}
		if (!strcmp(argv[i], "--pid") && i + 1 < argc && npids < MAXT) {
			pids[npids++] = argv[++i];
			continue;
		}
		if (!strcmp(argv[i], "--quick")) {
			quick = 1;
			continue;
		}
		if (!strcmp(argv[i], "--each")) {
			each = 1;
			continue;
		}
		if (!strcmp(argv[i], "--settle") && i + 1 < argc) {
			char *end;

			settle_ms = strtol(argv[++i], &end, 10);
			if (end == argv[i] || *end || settle_ms < 0 || settle_ms > 60000) {
				fprintf(stderr, "bench/fs: --settle %s: milliseconds, 0 to 60000\n", argv[i]);
				return 2;
			}
			continue;
		}
		if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			only = argv[++i];
			continue;
		}
		eq = strchr(argv[i], '=');
		if (!eq || ntg == MAXT) {
			fputs(USAGE, stderr);
			return 2;
		}
		*eq = '\0';
		tg[ntg].label = argv[i];
		tg[ntg].dir = eq + 1;
		ntg++;
	}
	if (!ntg) {
		fputs(USAGE, stderr);
		return 2;
	}
	if (settle_ms < 0)
		settle_ms = quick ? 0 : 300;
	for (i = 0; i < npids; i++) {
		const char *eq = strchr(pids[i], '=');
		char *end;

		for (t = 0; eq && t < ntg; t++)
			if (strlen(tg[t].label) == (size_t)(eq - pids[i]) &&
			    !strncmp(tg[t].label, pids[i], (size_t)(eq - pids[i])))
				break;
		if (!eq || t == ntg || (tg[t].pid = strtol(eq + 1, &end, 10)) <= 0 || *end ||
		    cpu_of(tg[t].pid) < 0) {
			fprintf(stderr, "bench/fs: --pid %s: not LABEL=PID of a target and a running process\n",
				pids[i]);
			return 2;
		}
	}
	block = malloc(1 << 20);
	memset(block, 'y', 1 << 20);
	if (stats_file) {
		double r0 = requests();

		stats_cost = requests() - r0;
	}
	for (m = 0; m < NMETRICS; m++) {
		const struct metric *me = &metrics[m];
		int rounds = me->rounds, r, k;

		reqs[m] = -1;
		drained[m] = 0;
		for (t = 0; t < ntg; t++)
			best[m][t] = -1, cpu[m][t] = 0, ops[m][t] = 0;
		if (!selected(me->name))
			continue;
		for (r = 0; r < rounds; r++) {
			for (k = 0; k < ntg; k++) {
				int cur;
				double r0, t0, c0, dt, v;
				long n;

				t = (k + r) % ntg;
				cur = stats_file && !strcmp(tg[t].label, "current");
				r0 = cur ? requests() : 0;
				c0 = tg[t].pid ? cpu_of(tg[t].pid) : 0;
				t0 = now_s();
				n = me->run(tg[t].dir, r);

				dt = now_s() - t0;
				if (cur) {
					reqs[m] = (requests() - r0 - stats_cost) / (double)n;
					drained[m] += drain();
				}
				if (tg[t].pid) {
					cpu[m][t] += cpu_of(tg[t].pid) - c0;
					ops[m][t] += (double)n;
				}
				v = me->throughput ? (double)n / dt : dt * 1e6 / (double)n;
				settle();
				if (each)
					printf("# round %d %s %s %.2f %s\n", r, me->name, tg[t].label, v,
					       me->throughput ? "MiB/s" : "us");
				if (best[m][t] < 0 || (me->throughput ? v > best[m][t] : v < best[m][t]))
					best[m][t] = v;
			}
		}
		for (t = 0; t < ntg; t++)
			printf("fs.%s.%s %.3f %s\n", me->name, tg[t].label, best[m][t],
			       me->throughput ? "MiB/s" : "us");
		for (t = 0; t < ntg; t++)
			if (tg[t].pid)
				printf("fs.%s.%s_cpu %.3f %s\n", me->name, tg[t].label,
				       cpu[m][t] * 1e6 / ops[m][t], me->throughput ? "us/MiB" : "us/op");
		for (a = 0; a < ntg; a++)
			for (b = a + 1; b < ntg; b++)
				if (tg[a].pid && tg[b].pid && cpu[m][b] > 0)
					printf("ratio.fs.%s.cpu_%s_%s %.2f\n", me->name, tg[a].label,
					       tg[b].label, cpu_ratio(cpu[m], ops[m], a, b));
		if (reqs[m] >= 0) {
			printf("fs.%s.current_requests %.2f requests/op\n", me->name, reqs[m]);
			printf("fs.%s.current_record_drain_ms %.1f ms\n", me->name,
			       drained[m] * 1000 / rounds);
		}
		for (a = 0; a < ntg; a++)
			for (b = a + 1; b < ntg; b++)
				printf("ratio.fs.%s.%s_%s %.2f\n", me->name, tg[a].label, tg[b].label,
				       me->throughput ? best[m][b] / best[m][a] : best[m][a] / best[m][b]);
		fflush(stdout);
	}

	/* the table, for people */
	printf("#\n# %-18s", "metric");
	for (t = 0; t < ntg; t++)
		printf(" %14s", tg[t].label);
	for (a = 0; a < ntg; a++)
		for (b = a + 1; b < ntg; b++)
			printf(" %10.10s/%-4.4s", tg[a].label, tg[b].label);
	for (a = 0; a < ntg; a++)
		for (b = a + 1; b < ntg; b++)
			if (tg[a].pid && tg[b].pid)
				printf(" cpu %4.4s/%-4.4s", tg[a].label, tg[b].label);
	if (stats_file)
		printf(" %8s %9s", "req/op", "drain_ms");
	putchar('\n');
	for (m = 0; m < NMETRICS; m++) {
		if (!selected(metrics[m].name))
			continue;
		printf("# %-18s", metrics[m].name);
		for (t = 0; t < ntg; t++)
			printf(" %9.2f %-4s", best[m][t], metrics[m].throughput ? "MB/s" : "us");
		for (a = 0; a < ntg; a++)
			for (b = a + 1; b < ntg; b++)
				printf(" %15.2f", metrics[m].throughput ? best[m][b] / best[m][a] :
					    best[m][a] / best[m][b]);
		for (a = 0; a < ntg; a++)
			for (b = a + 1; b < ntg; b++)
				if (tg[a].pid && tg[b].pid)
					printf(" %13.2f", cpu_ratio(cpu[m], ops[m], a, b));
		if (stats_file)
			printf(" %8.2f %9.1f", reqs[m], drained[m] * 1000 / metrics[m].rounds);
		putchar('\n');
	}
	printf("# ratios are slowdowns: time(A)/time(B), or throughput(B)/throughput(A);"
	       " cpu A/B: CPU time per operation of A's daemon over B's\n");
	return 0;
}

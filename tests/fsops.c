/*
 * fsops.c -- a script of file system calls, run relative to the working
 * directory, printing what each returned: the differential tests of
 * current/ (tests/t03xx) run the same script on a real directory and
 * through the mount and compare the two transcripts.
 *
 *   fsops [-f SCRIPT] [OP ARGS...]
 *
 * Without -f, the operation on the command line runs (one line). Each op
 * prints one line, "OP ARGS: ok [VALUE]" or "OP ARGS: ERRNAME", where
 * ERRNAME is the symbolic errno (ENOENT...). Nothing printed depends on
 * where the directory is: no inode numbers, no times (except `times`,
 * which prints what utimes set), no absolute paths.
 *
 * Ops (PATH relative; MODE octal; FLAGS a comma list of rdonly wronly rdwr
 * creat excl trunc append directory nofollow):
 *
 *   open PATH FLAGS [MODE]     open and close
 *   write PATH OFF TEXT        pwrite TEXT at OFF (opening O_WRONLY)
 *   append PATH TEXT           write TEXT at the end (O_APPEND)
 *   read PATH                  the content, C-escaped
 *   truncate PATH SIZE         truncate(2)
 *   ftruncate PATH SIZE        open O_WRONLY, ftruncate(2)
 *   mkdir PATH MODE            rmdir PATH       unlink PATH
 *   rename A B [noreplace|exchange]            link A B
 *   symlink TARGET PATH        readlink PATH    mkfifo PATH MODE
 *   chmod PATH MODE            chown PATH UID GID (lchown)
 *   utimes PATH SEC            times PATH (atime and mtime seconds)
 *   stat PATH | lstat PATH     type, mode, nlink, size, uid, gid
 *   access PATH r|w|x|f        access(2)
 *   fallocate PATH OFF LEN     punch PATH OFF LEN (hole)
 *   seek PATH data|hole OFF    lseek SEEK_DATA / SEEK_HOLE
 *   copy A B LEN               copy_file_range of A's first LEN bytes to B
 *   setxattr PATH NAME VALUE   getxattr PATH NAME   listxattr PATH
 *   removexattr PATH NAME
 *   readdir PATH               the names, sorted
 *   flock PATH                 two opens: LOCK_EX then LOCK_EX|LOCK_NB
 *   posixlock PATH             a write lock (fcntl), then a child's attempt
 *                              while it is held and after it is released
 *   fsync PATH                 fsync(2) of an O_RDONLY open
 *   unlinked PATH              open, unlink, write, fstat, read back
 *   tree PATH                  every entry below PATH, sorted: type,
 *                              mode, links, size, content hash or target
 *   holdpath PATH              open PATH with O_PATH (on a mount, the
 *                              kernel keeps its inode, the file system
 *                              is not asked to open it), print "ok", and
 *                              keep it until standard input ends
 *   objects DIR N              N times: write DIR/tmp_K, close it, and at
 *                              once unlink it -- for an even K first
 *                              link it to DIR/obj_K, as git does with a
 *                              loose object
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/banned.h"

#define MAXARGS 8

static const char *errname(int e)
{
	static const struct {
		int e;
		const char *name;
	} t[] = {
		{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { EIO, "EIO" }, { EBADF, "EBADF" },
		{ EAGAIN, "EAGAIN" }, { EACCES, "EACCES" }, { EBUSY, "EBUSY" }, { EEXIST, "EEXIST" },
		{ EXDEV, "EXDEV" }, { ENOTDIR, "ENOTDIR" }, { EISDIR, "EISDIR" }, { EINVAL, "EINVAL" },
		{ EMFILE, "EMFILE" }, { EFBIG, "EFBIG" }, { ENOSPC, "ENOSPC" }, { EROFS, "EROFS" },
		{ EMLINK, "EMLINK" }, { ENAMETOOLONG, "ENAMETOOLONG" }, { ENOTEMPTY, "ENOTEMPTY" },
		{ ELOOP, "ELOOP" }, { ENODATA, "ENODATA" }, { ENOTSUP, "ENOTSUP" }, { ENXIO, "ENXIO" },
		{ ERANGE, "ERANGE" }, { ENOSYS, "ENOSYS" }, { ETXTBSY, "ETXTBSY" }, { ESTALE, "ESTALE" },
	};
	static char other[32];
	size_t k;

	for (k = 0; k < sizeof(t) / sizeof(t[0]); k++)
		if (t[k].e == e)
			return t[k].name;
	snprintf(other, sizeof(other), "E%d", e);
	return other;
}

static int parse_flags(const char *s)
{
	static const struct {
		const char *name;
		int flag;
	} t[] = {
		{ "rdonly", O_RDONLY }, { "wronly", O_WRONLY }, { "rdwr", O_RDWR },
		{ "creat", O_CREAT }, { "excl", O_EXCL }, { "trunc", O_TRUNC },
		{ "append", O_APPEND }, { "directory", O_DIRECTORY }, { "nofollow", O_NOFOLLOW },
	};
	int flags = 0;

	while (*s) {
		size_t n = strcspn(s, ","), k;

		for (k = 0; k < sizeof(t) / sizeof(t[0]); k++)
			if (strlen(t[k].name) == n && !strncmp(t[k].name, s, n))
				flags |= t[k].flag;
		s += n;
		if (*s == ',')
			s++;
	}
	return flags;
}

static unsigned octal(const char *s)
{
	return (unsigned)strtoul(s, NULL, 8);
}

static const char *type_name(mode_t m)
{
	return S_ISREG(m) ? "file" : S_ISDIR(m) ? "dir" : S_ISLNK(m) ? "symlink" :
	       S_ISFIFO(m) ? "fifo" : S_ISSOCK(m) ? "socket" : "device";
}

static void print_escaped(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\\')
			fputs("\\\\", stdout);
		else if (c < 32 || c >= 127)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

static int fail(void)
{
	printf(" %s\n", errname(errno));
	return 1;
}

static int ok(void)
{
	fputs(" ok\n", stdout);
	return 0;
}

static uint64_t hash_fd(int fd, off_t *size)
{
	uint64_t h = 1469598103934665603ull;
	char buf[65536];
	ssize_t n, i;

	*size = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (i = 0; i < n; i++)
			h = (h ^ (unsigned char)buf[i]) * 1099511628211ull;
		*size += n;
	}
	return h;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names of a directory, . and .. left out. NULL on error. */
static char **list_dir(const char *path, size_t *count)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char **v = NULL;
	size_t n = 0, cap = 0;

	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = realloc(v, cap * sizeof(*v));
			if (!v)
				abort();
		}
		v[n++] = strdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	*count = n;
	return v ? v : calloc(1, sizeof(*v));
}

static void tree(const char *path, const char *rel)
{
	char **names;
	size_t n, k;

	names = list_dir(path, &n);
	if (!names) {
		printf("%s: cannot list: %s\n", rel, errname(errno));
		return;
	}
	for (k = 0; k < n; k++) {
		char full[4096], sub[4096];
		struct stat st;

		snprintf(full, sizeof(full), "%s/%s", path, names[k]);
		snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", names[k]);
		if (lstat(full, &st)) {
			printf("%s: lstat %s\n", sub, errname(errno));
			free(names[k]);
			continue;
		}
		printf("%s %s %04o %lu", sub, type_name(st.st_mode), (unsigned)st.st_mode & 07777,
		       S_ISDIR(st.st_mode) ? 0UL : (unsigned long)st.st_nlink);
		if (S_ISREG(st.st_mode)) {
			int fd = open(full, O_RDONLY);
			off_t size = 0;
			uint64_t h = 0;

			if (fd >= 0) {
				h = hash_fd(fd, &size);
				close(fd);
			}
			printf(" %lld %016llx", (long long)st.st_size, (unsigned long long)h);
		} else if (S_ISLNK(st.st_mode)) {
			char t[4096];
			ssize_t len = readlink(full, t, sizeof(t) - 1);

			t[len < 0 ? 0 : len] = '\0';
			printf(" -> %s", t);
		}
		putchar('\n');
		if (S_ISDIR(st.st_mode))
			tree(full, sub);
		free(names[k]);
	}
	free(names);
}

static int run(int argc, char **argv)
{
	const char *op = argv[0];
	int i, fd, rc = 0;

	fputs(op, stdout);
	for (i = 1; i < argc; i++)
		printf(" %s", argv[i]);
	putchar(':');
#define NEED(n) do { if (argc < (n) + 1) { puts(" usage"); return 2; } } while (0)
	if (!strcmp(op, "open")) {
		NEED(2);
		fd = open(argv[1], parse_flags(argv[2]), argc > 3 ? octal(argv[3]) : 0644);
		if (fd < 0)
			return fail();
		close(fd);
		return ok();
	}
	if (!strcmp(op, "write") || !strcmp(op, "append")) {
		int app = !strcmp(op, "append");
		const char *text = argv[app ? 2 : 3];
		ssize_t n;

		NEED(app ? 2 : 3);
		fd = open(argv[1], O_WRONLY | (app ? O_APPEND : 0));
		if (fd < 0)
			return fail();
		n = app ? write(fd, text, strlen(text)) :
			  pwrite(fd, text, strlen(text), strtoll(argv[2], NULL, 10));
		if (n < 0) {
			rc = fail();
			close(fd);
			return rc;
		}
		close(fd);
		printf(" ok %zd\n", n);
		return 0;
	}
	if (!strcmp(op, "read")) {
		char buf[65536];
		ssize_t n;

		NEED(1);
		fd = open(argv[1], O_RDONLY);
		if (fd < 0)
			return fail();
		n = read(fd, buf, sizeof(buf));
		close(fd);
		if (n < 0)
			return fail();
		fputs(" ok ", stdout);
		print_escaped(buf, (size_t)n);
		putchar('\n');
		return 0;
	}
	if (!strcmp(op, "truncate")) {
		NEED(2);
		return truncate(argv[1], strtoll(argv[2], NULL, 10)) ? fail() : ok();
	}
	if (!strcmp(op, "ftruncate")) {
		NEED(2);
		fd = open(argv[1], O_WRONLY);
		if (fd < 0)
			return fail();
		rc = ftruncate(fd, strtoll(argv[2], NULL, 10)) ? fail() : ok();
		close(fd);
		return rc;
	}
	if (!strcmp(op, "mkdir")) {
		NEED(2);
		return mkdir(argv[1], octal(argv[2])) ? fail() : ok();
	}
	if (!strcmp(op, "rmdir")) {
		NEED(1);
		return rmdir(argv[1]) ? fail() : ok();
	}
	if (!strcmp(op, "unlink")) {
		NEED(1);
		return unlink(argv[1]) ? fail() : ok();
	}
	if (!strcmp(op, "rename")) {
		unsigned flags = 0;

		NEED(2);
		if (argc > 3)
			flags = !strcmp(argv[3], "exchange") ? RENAME_EXCHANGE : RENAME_NOREPLACE;
		return renameat2(AT_FDCWD, argv[1], AT_FDCWD, argv[2], flags) ? fail() : ok();
	}
	if (!strcmp(op, "link")) {
		NEED(2);
		return link(argv[1], argv[2]) ? fail() : ok();
	}
	if (!strcmp(op, "symlink")) {
		NEED(2);
		return symlink(argv[1], argv[2]) ? fail() : ok();
	}
	if (!strcmp(op, "readlink")) {
		char t[4096];
		ssize_t n;

		NEED(1);
		n = readlink(argv[1], t, sizeof(t) - 1);
		if (n < 0)
			return fail();
		t[n] = '\0';
		printf(" ok %s\n", t);
		return 0;
	}
	if (!strcmp(op, "mkfifo")) {
		NEED(2);
		return mkfifo(argv[1], octal(argv[2])) ? fail() : ok();
	}
	if (!strcmp(op, "chmod")) {
		NEED(2);
		return chmod(argv[1], octal(argv[2])) ? fail() : ok();
	}
	if (!strcmp(op, "chown")) {
		NEED(3);
		return lchown(argv[1], (uid_t)strtol(argv[2], NULL, 10),
			      (gid_t)strtol(argv[3], NULL, 10)) ? fail() : ok();
	}
	if (!strcmp(op, "utimes")) {
		struct timeval tv[2];

		NEED(2);
		tv[0].tv_sec = tv[1].tv_sec = strtol(argv[2], NULL, 10);
		tv[0].tv_usec = tv[1].tv_usec = 0;
		return utimes(argv[1], tv) ? fail() : ok();
	}
	if (!strcmp(op, "times")) {
		struct stat st;

		NEED(1);
		if (stat(argv[1], &st))
			return fail();
		printf(" ok %lld %lld\n", (long long)st.st_atime, (long long)st.st_mtime);
		return 0;
	}
	if (!strcmp(op, "stat") || !strcmp(op, "lstat")) {
		struct stat st;

		NEED(1);
		if (!strcmp(op, "stat") ? stat(argv[1], &st) : lstat(argv[1], &st))
			return fail();
		printf(" ok %s %04o %lu %lld %u %u\n", type_name(st.st_mode),
		       (unsigned)st.st_mode & 07777,
		       S_ISDIR(st.st_mode) ? 0UL : (unsigned long)st.st_nlink,
		       S_ISDIR(st.st_mode) ? 0LL : (long long)st.st_size, (unsigned)st.st_uid,
		       (unsigned)st.st_gid);
		return 0;
	}
	if (!strcmp(op, "access")) {
		int m;

		NEED(2);
		m = argv[2][0] == 'r' ? R_OK : argv[2][0] == 'w' ? W_OK : argv[2][0] == 'x' ? X_OK : F_OK;
		return access(argv[1], m) ? fail() : ok();
	}
	if (!strcmp(op, "fallocate") || !strcmp(op, "punch")) {
		int mode = !strcmp(op, "punch") ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE : 0;

		NEED(3);
		fd = open(argv[1], O_WRONLY);
		if (fd < 0)
			return fail();
		rc = fallocate(fd, mode, strtoll(argv[2], NULL, 10), strtoll(argv[3], NULL, 10)) ?
		     fail() : ok();
		close(fd);
		return rc;
	}
	if (!strcmp(op, "seek")) {
		off_t r;

		NEED(3);
		fd = open(argv[1], O_RDONLY);
		if (fd < 0)
			return fail();
		r = lseek(fd, strtoll(argv[3], NULL, 10), !strcmp(argv[2], "data") ? SEEK_DATA : SEEK_HOLE);
		if (r < 0)
			rc = fail();
		else
			printf(" ok %lld\n", (long long)r);
		close(fd);
		return rc;
	}
	if (!strcmp(op, "copy")) {
		int in, out;
		ssize_t n;

		NEED(3);
		in = open(argv[1], O_RDONLY);
		if (in < 0)
			return fail();
		out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (out < 0) {
			rc = fail();
			close(in);
			return rc;
		}
		n = copy_file_range(in, NULL, out, NULL, (size_t)strtoll(argv[3], NULL, 10), 0);
		if (n < 0)
			rc = fail();
		else
			printf(" ok %zd\n", n);
		close(in);
		close(out);
		return rc;
	}
	if (!strcmp(op, "setxattr")) {
		NEED(3);
		return setxattr(argv[1], argv[2], argv[3], strlen(argv[3]), 0) ? fail() : ok();
	}
	if (!strcmp(op, "getxattr")) {
		char v[4096];
		ssize_t n;

		NEED(2);
		n = getxattr(argv[1], argv[2], v, sizeof(v));
		if (n < 0)
			return fail();
		fputs(" ok ", stdout);
		print_escaped(v, (size_t)n);
		putchar('\n');
		return 0;
	}
	if (!strcmp(op, "listxattr")) {
		char v[4096], *names[256], *p;
		ssize_t n;
		size_t k = 0, j;

		NEED(1);
		n = listxattr(argv[1], v, sizeof(v));
		if (n < 0)
			return fail();
		for (p = v; p < v + n && k < 256; p += strlen(p) + 1)
			if (!strncmp(p, "user.", 5))
				names[k++] = p;
		qsort(names, k, sizeof(*names), cmp_str);
		fputs(" ok", stdout);
		for (j = 0; j < k; j++)
			printf(" %s", names[j]);
		putchar('\n');
		return 0;
	}
	if (!strcmp(op, "removexattr")) {
		NEED(2);
		return removexattr(argv[1], argv[2]) ? fail() : ok();
	}
	if (!strcmp(op, "readdir")) {
		char **names;
		size_t n, k;

		NEED(1);
		names = list_dir(argv[1], &n);
		if (!names)
			return fail();
		fputs(" ok", stdout);
		for (k = 0; k < n; k++) {
			printf(" %s", names[k]);
			free(names[k]);
		}
		free(names);
		putchar('\n');
		return 0;
	}
	if (!strcmp(op, "flock")) {
		int a, b;

		NEED(1);
		a = open(argv[1], O_RDONLY);
		b = open(argv[1], O_RDONLY);
		if (a < 0 || b < 0)
			return fail();
		printf(" %s", flock(a, LOCK_EX) ? errname(errno) : "ok");
		printf(" %s", flock(b, LOCK_EX | LOCK_NB) ? errname(errno) : "ok");
		close(a);
		printf(" %s\n", flock(b, LOCK_EX | LOCK_NB) ? errname(errno) : "ok");
		close(b);
		return 0;
	}
	if (!strcmp(op, "posixlock")) {
		struct flock fl;
		int p[2], q[2];
		pid_t pid;
		char c = 0, res[2][16];

		NEED(1);
		fd = open(argv[1], O_RDWR);
		if (fd < 0 || pipe(p) || pipe(q))
			return fail();
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		printf(" %s", fcntl(fd, F_SETLK, &fl) ? errname(errno) : "ok");
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			int cfd = open(argv[1], O_RDWR), k;

			for (k = 0; k < 2; k++) {
				if (read(q[0], &c, 1) != 1)
					_exit(1);
				snprintf(res[k], sizeof(res[k]), "%s",
					 fcntl(cfd, F_SETLK, &fl) ? errname(errno) : "ok");
				if (write(p[1], res[k], sizeof(res[k])) != (ssize_t)sizeof(res[k]))
					_exit(1);
			}
			_exit(0);
		}
		if (write(q[1], &c, 1) != 1 || read(p[0], res[0], sizeof(res[0])) != (ssize_t)sizeof(res[0]))
			return fail();
		close(fd);	/* releases the process's lock */
		if (write(q[1], &c, 1) != 1 || read(p[0], res[1], sizeof(res[1])) != (ssize_t)sizeof(res[1]))
			return fail();
		waitpid(pid, NULL, 0);
		printf(" %s %s\n", res[0], res[1]);
		close(p[0]);
		close(p[1]);
		close(q[0]);
		close(q[1]);
		return 0;
	}
	if (!strcmp(op, "fsync")) {
		NEED(1);
		fd = open(argv[1], O_RDONLY);
		if (fd < 0)
			return fail();
		rc = fsync(fd) ? fail() : ok();
		close(fd);
		return rc;
	}
	if (!strcmp(op, "unlinked")) {
		struct stat st;
		char buf[64];
		ssize_t n;

		NEED(1);
		fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0)
			return fail();
		if (unlink(argv[1]) || write(fd, "still here", 10) != 10 || fstat(fd, &st) ||
		    (n = pread(fd, buf, sizeof(buf) - 1, 0)) < 0) {
			rc = fail();
			close(fd);
			return rc;
		}
		buf[n] = '\0';
		printf(" ok nlink=%lu size=%lld %s\n", (unsigned long)st.st_nlink,
		       (long long)st.st_size, buf);
		close(fd);
		return 0;
	}
	if (!strcmp(op, "holdpath")) {
		char c;

		NEED(1);
		fd = open(argv[1], O_PATH | O_NOFOLLOW);
		if (fd < 0)
			return fail();
		ok();
		while (read(0, &c, 1) > 0)
			;
		close(fd);
		return 0;
	}
	if (!strcmp(op, "objects")) {
		char tmp[PATH_MAX], obj[PATH_MAX], line[64];
		long k, n;

		NEED(2);
		n = strtol(argv[2], NULL, 10);
		for (k = 0; k < n; k++) {
			int len = snprintf(line, sizeof(line), "object %ld\n", k);

			snprintf(tmp, sizeof(tmp), "%s/tmp_%ld", argv[1], k);
			snprintf(obj, sizeof(obj), "%s/obj_%ld", argv[1], k);
			fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0444);
			if (fd < 0)
				return fail();
			if (write(fd, line, (size_t)len) != len) {
				close(fd);
				return fail();
			}
			if (close(fd) || (k % 2 == 0 && link(tmp, obj)) || unlink(tmp))
				return fail();
		}
		ok();
		return 0;
	}
	if (!strcmp(op, "tree")) {
		NEED(1);
		putchar('\n');
		tree(argv[1], "");
		return 0;
	}
	puts(" unknown op");
	return 2;
}

/* Split a script line into words; "..." quotes a word with blanks. */
static int split(char *line, char **argv)
{
	int argc = 0;
	char *p = line;

	while (*p && argc < MAXARGS) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			break;
		if (*p == '"') {
			argv[argc++] = ++p;
			while (*p && *p != '"')
				p++;
		} else {
			argv[argc++] = p;
			while (*p && *p != ' ' && *p != '\t')
				p++;
		}
		if (*p)
			*p++ = '\0';
	}
	return argc;
}

int main(int argc, char **argv)
{
	char line[4096];
	FILE *f;
	int rc = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	umask(022);
	if (argc > 2 && !strcmp(argv[1], "-f")) {
		f = !strcmp(argv[2], "-") ? stdin : fopen(argv[2], "r");
		if (!f) {
			perror(argv[2]);
			return 2;
		}
		while (fgets(line, sizeof(line), f)) {
			char *av[MAXARGS];
			int ac;

			line[strcspn(line, "\n")] = '\0';
			ac = split(line, av);
			if (ac && run(ac, av) == 2)
				rc = 2;
		}
		if (f != stdin)
			fclose(f);
		return rc;
	}
	if (argc < 2) {
		fputs("usage: fsops [-f SCRIPT] [OP ARGS...]\n", stderr);
		return 2;
	}
	return run(argc - 1, argv + 1) == 2 ? 2 : 0;
}

/*
 * ident.c -- who is calling: a user's home and name (cached per uid, the
 * password database is slow), a process's session and working directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/fs.h"
#include "common/banned.h"

#define IDENT_CACHE 64

static struct {
	pthread_mutex_t mu;
	int n;
	uid_t uid[IDENT_CACHE];
	struct fs_ident id[IDENT_CACHE];
} cache = { PTHREAD_MUTEX_INITIALIZER, 0, { 0 }, { { { 0 }, { 0 } } } };

void ident_of_uid(uid_t uid, struct fs_ident *id)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int k;

	pthread_mutex_lock(&cache.mu);
	for (k = 0; k < cache.n; k++)
		if (cache.uid[k] == uid) {
			*id = cache.id[k];
			pthread_mutex_unlock(&cache.mu);
			return;
		}
	pthread_mutex_unlock(&cache.mu);

	memset(id, 0, sizeof(*id));
	if (!getpwuid_r(uid, &pw, buf, sizeof(buf), &res) && res) {
		snprintf(id->home, sizeof(id->home), "%s", pw.pw_dir);
		snprintf(id->user, sizeof(id->user), "%s", pw.pw_name);
	} else {
		/* a user without a password entry: a home that matches nothing */
		snprintf(id->home, sizeof(id->home), "/nonexistent/uid-%u", (unsigned)uid);
	}
	pthread_mutex_lock(&cache.mu);
	k = cache.n < IDENT_CACHE ? cache.n++ : (int)(uid % IDENT_CACHE);
	cache.uid[k] = uid;
	cache.id[k] = *id;
	pthread_mutex_unlock(&cache.mu);
}

/*
 * The session of a process: getsid(2), one system call. (Reading
 * /proc/PID/stat for it made the kernel add up the CPU time of every
 * thread of the process: a cost that grows with the agent's threads.)
 */
void ident_session_of_pid(pid_t pid, char *out, size_t n)
{
	pid_t sid = pid > 0 ? getsid(pid) : -1;

	if (sid < 0)
		snprintf(out, n, "pid:%d", (int)pid);
	else
		snprintf(out, n, "sid:%ld", (long)sid);
}

void ident_cwd_of_pid(pid_t pid, char *out, size_t n)
{
	char link[64];
	ssize_t len;

	out[0] = '\0';
	if (pid <= 0 || n < 2)
		return;
	snprintf(link, sizeof(link), "/proc/%d/cwd", (int)pid);
	len = readlink(link, out, n - 1);
	if (len <= 0 || out[0] != '/') {
		out[0] = '\0';
		return;
	}
	out[len] = '\0';
}

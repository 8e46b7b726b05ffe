/*
 * links.c -- the names of the project's files that have more than one
 * (links.h): a table of inodes, each with the names it was seen under.
 *
 * Most projects have no hard links, and then the table is empty and
 * every call is a lock and a compare. The names of an inode are few: a
 * list, searched in full.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "fs/links.h"
#include "common/banned.h"

#define PRUNE_MIN 256		/* names kept before the first look at them all */

struct inode_names {
	struct inode_names *next;	/* bucket chain */
	dev_t dev;
	ino_t ino;
	char **names;
	size_t n, cap;
};

struct lh_links {
	pthread_mutex_t mu;
	struct inode_names **buckets;
	size_t nbuckets, ninodes, nnames;
	size_t prune_at;		/* look at every name when nnames reaches this */
	int pruning;			/* a thread is looking */
	int (*still)(void *arg, dev_t dev, ino_t ino, const char *path);
	void *arg;
};

struct lh_links *lh_links_new(int (*still)(void *arg, dev_t dev, ino_t ino, const char *path),
			      void *arg)
{
	struct lh_links *l = xcalloc(1, sizeof(*l));

	pthread_mutex_init(&l->mu, NULL);
	l->nbuckets = 64;
	l->buckets = xcalloc(l->nbuckets, sizeof(*l->buckets));
	l->prune_at = PRUNE_MIN;
	l->still = still;
	l->arg = arg;
	return l;
}

static void inode_free(struct inode_names *e)
{
	size_t k;

	for (k = 0; k < e->n; k++)
		free(e->names[k]);
	free(e->names);
	free(e);
}

void lh_links_free(struct lh_links *l)
{
	size_t b;

	if (!l)
		return;
	for (b = 0; b < l->nbuckets; b++)
		while (l->buckets[b]) {
			struct inode_names *e = l->buckets[b];

			l->buckets[b] = e->next;
			inode_free(e);
		}
	free(l->buckets);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

static size_t bucket_of(const struct lh_links *l, dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)ino * 0x9e3779b97f4a7c15ULL) ^ (uint64_t)dev;

	return (size_t)(h >> 17) & (l->nbuckets - 1);
}

/* The entry of (dev, ino), and where the chain points at it. Called with mu held. */
static struct inode_names **find_locked(struct lh_links *l, dev_t dev, ino_t ino)
{
	struct inode_names **p = &l->buckets[bucket_of(l, dev, ino)];

	while (*p && ((*p)->dev != dev || (*p)->ino != ino))
		p = &(*p)->next;
	return p;
}

static void grow_locked(struct lh_links *l)
{
	size_t old = l->nbuckets, b;
	struct inode_names **from = l->buckets;

	l->nbuckets *= 2;
	l->buckets = xcalloc(l->nbuckets, sizeof(*l->buckets));
	for (b = 0; b < old; b++)
		while (from[b]) {
			struct inode_names *e = from[b];
			size_t to = bucket_of(l, e->dev, e->ino);

			from[b] = e->next;
			e->next = l->buckets[to];
			l->buckets[to] = e;
		}
	free(from);
}

static void unlink_entry_locked(struct lh_links *l, struct inode_names **p)
{
	struct inode_names *e = *p;

	*p = e->next;
	l->ninodes--;
	l->nnames -= e->n;
	inode_free(e);
}

/* Drop names[k] of the entry at *p, and the entry when it has no name left. */
static void drop_name_locked(struct lh_links *l, struct inode_names **p, size_t k)
{
	struct inode_names *e = *p;

	free(e->names[k]);
	e->names[k] = e->names[--e->n];
	l->nnames--;
	if (!e->n)
		unlink_entry_locked(l, p);
}

static long name_index(const struct inode_names *e, const char *path)
{
	size_t k;

	for (k = 0; k < e->n; k++)
		if (!strcmp(e->names[k], path))
			return (long)k;
	return -1;
}

/* One name to check, copied out of the table. */
struct check {
	dev_t dev;
	ino_t ino;
	char *name;
};

/*
 * Ask `still` about every name, without the lock (it looks at the file
 * system), and drop the ones it says no to. One thread at a time.
 */
static void prune(struct lh_links *l)
{
	struct check *c;
	size_t n = 0, b, k;

	pthread_mutex_lock(&l->mu);
	c = xcalloc(l->nnames ? l->nnames : 1, sizeof(*c));
	for (b = 0; b < l->nbuckets; b++)
		for (struct inode_names *e = l->buckets[b]; e; e = e->next)
			for (k = 0; k < e->n; k++) {
				c[n].dev = e->dev;
				c[n].ino = e->ino;
				c[n].name = xstrdup(e->names[k]);
				n++;
			}
	pthread_mutex_unlock(&l->mu);
	for (k = 0; k < n; k++)
		if (l->still(l->arg, c[k].dev, c[k].ino, c[k].name)) {
			free(c[k].name);
			c[k].name = NULL;
		}
	pthread_mutex_lock(&l->mu);
	for (k = 0; k < n; k++) {
		struct inode_names **p;
		long i;

		if (!c[k].name)
			continue;
		p = find_locked(l, c[k].dev, c[k].ino);
		if (*p && (i = name_index(*p, c[k].name)) >= 0)
			drop_name_locked(l, p, (size_t)i);
		free(c[k].name);
	}
	l->prune_at = l->nnames * 2 > PRUNE_MIN ? l->nnames * 2 : PRUNE_MIN;
	l->pruning = 0;
	pthread_mutex_unlock(&l->mu);
	free(c);
}

void lh_links_saw(struct lh_links *l, const struct stat *st, const char *path)
{
	struct inode_names **p, *e;
	int look = 0;

	if (!S_ISREG(st->st_mode))
		return;
	pthread_mutex_lock(&l->mu);
	if (st->st_nlink <= 1 && !l->ninodes) {
		pthread_mutex_unlock(&l->mu);
		return;
	}
	p = find_locked(l, st->st_dev, st->st_ino);
	if (st->st_nlink <= 1) {
		if (*p)
			unlink_entry_locked(l, p);	/* its only name now */
		pthread_mutex_unlock(&l->mu);
		return;
	}
	e = *p;
	if (!e) {
		e = xcalloc(1, sizeof(*e));
		e->dev = st->st_dev;
		e->ino = st->st_ino;
		*p = e;
		if (++l->ninodes > l->nbuckets)
			grow_locked(l);
	}
	if (name_index(e, path) < 0) {
		if (e->n == e->cap) {
			e->cap = e->cap ? e->cap * 2 : 2;
			e->names = xrealloc(e->names, e->cap * sizeof(*e->names));
		}
		e->names[e->n++] = xstrdup(path);
		l->nnames++;
		if (l->nnames >= l->prune_at && !l->pruning)
			look = l->pruning = 1;
	}
	pthread_mutex_unlock(&l->mu);
	if (look)
		prune(l);
}

char **lh_links_others(struct lh_links *l, dev_t dev, ino_t ino, const char *path)
{
	struct inode_names *e;
	char **out = NULL;
	size_t k, n = 0;

	pthread_mutex_lock(&l->mu);
	e = l->ninodes ? *find_locked(l, dev, ino) : NULL;
	if (e) {
		out = xcalloc(e->n + 1, sizeof(*out));
		for (k = 0; k < e->n; k++)
			if (strcmp(e->names[k], path))
				out[n++] = xstrdup(e->names[k]);
	}
	pthread_mutex_unlock(&l->mu);
	if (out && !n) {
		free(out);
		out = NULL;
	}
	return out;
}

void lh_links_names_free(char **names)
{
	size_t k;

	if (!names)
		return;
	for (k = 0; names[k]; k++)
		free(names[k]);
	free(names);
}

void lh_links_drop(struct lh_links *l, dev_t dev, ino_t ino, const char *path)
{
	struct inode_names **p;
	long i;

	pthread_mutex_lock(&l->mu);
	p = find_locked(l, dev, ino);
	if (*p && (i = name_index(*p, path)) >= 0)
		drop_name_locked(l, p, (size_t)i);
	pthread_mutex_unlock(&l->mu);
}

void lh_links_moved(struct lh_links *l, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), b, k;

	pthread_mutex_lock(&l->mu);
	for (b = 0; l->nnames && b < l->nbuckets; b++)
		for (struct inode_names *e = l->buckets[b]; e; e = e->next)
			for (k = 0; k < e->n; k++) {
				char *name = e->names[k], *moved;
				size_t rest;

				if (strncmp(name, from, fl) || (name[fl] && name[fl] != '/'))
					continue;
				rest = strlen(name + fl);
				moved = xmalloc(tl + rest + 1);
				memcpy(moved, to, tl);
				memcpy(moved + tl, name + fl, rest + 1);
				free(name);
				e->names[k] = moved;
			}
	pthread_mutex_unlock(&l->mu);
}

size_t lh_links_count(struct lh_links *l)
{
	size_t n;

	pthread_mutex_lock(&l->mu);
	n = l->nnames;
	pthread_mutex_unlock(&l->mu);
	return n;
}

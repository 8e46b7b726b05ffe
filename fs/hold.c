/*
 * hold.c -- answers kept back until a time: the rate limiter's held
 * denials (agents.c says when and why).
 *
 * A hold is a function and its argument, run once at a monotonic time by
 * one thread that sleeps until the earliest. Nothing else waits: the
 * request's reads stay parked in reqtab.c, as for any verdict not ready
 * yet, and the function completes the record, which answers them.
 *
 * The list is sorted by time, inserted from the tail (holds mostly come
 * in time order), and short: a held agent has as many entries as requests
 * in flight. holds_stop runs everything still held at once (shutdown:
 * every parked read is answered with its verdict before the mount goes).
 *
 * Lock: h->mu, a leaf; the functions run without it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/xalloc.h"
#include "fs/fs.h"
#include "common/banned.h"

struct hold {
	struct hold *prev, *next;
	int64_t at_ns;			/* lh_mono_ns() time */
	void (*fn)(void *arg);
	void *arg;
};

struct holds {
	pthread_mutex_t mu;
	pthread_cond_t cv;		/* CLOCK_MONOTONIC */
	struct hold *head, *tail;	/* protected by mu; earliest first */
	size_t n;			/* protected by mu */
	int stopping;			/* protected by mu */
	int running;
	pthread_t thread;
};

static void *holds_main(void *arg)
{
	struct holds *h = arg;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		struct hold *x = h->head;
		int64_t now = lh_mono_ns();

		if (!x) {
			if (h->stopping)
				break;
			pthread_cond_wait(&h->cv, &h->mu);
			continue;
		}
		if (x->at_ns > now && !h->stopping) {
			struct timespec until;

			until.tv_sec = x->at_ns / 1000000000;
			until.tv_nsec = x->at_ns % 1000000000;
			pthread_cond_timedwait(&h->cv, &h->mu, &until);
			continue;
		}
		h->head = x->next;
		if (h->head)
			h->head->prev = NULL;
		else
			h->tail = NULL;
		h->n--;
		pthread_mutex_unlock(&h->mu);
		x->fn(x->arg);
		free(x);
		pthread_mutex_lock(&h->mu);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

struct holds *holds_new(void)
{
	struct holds *h = xcalloc(1, sizeof(*h));
	pthread_condattr_t ca;

	pthread_mutex_init(&h->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);	/* lh_mono_ns's clock */
	pthread_cond_init(&h->cv, &ca);
	pthread_condattr_destroy(&ca);
	return h;
}

int holds_start(struct holds *h)
{
	int rc = pthread_create(&h->thread, NULL, holds_main, h);

	if (rc)
		return -rc;
	pthread_setname_np(h->thread, "lh-holds");
	h->running = 1;
	return 0;
}

int holds_add(struct holds *h, int64_t at_ns, void (*fn)(void *arg), void *arg)
{
	struct hold *x, *after;

	pthread_mutex_lock(&h->mu);
	if (h->stopping || !h->running) {
		pthread_mutex_unlock(&h->mu);
		return -ESHUTDOWN;	/* the caller runs fn itself, now */
	}
	x = xcalloc(1, sizeof(*x));
	x->at_ns = at_ns;
	x->fn = fn;
	x->arg = arg;
	for (after = h->tail; after && after->at_ns > at_ns; after = after->prev)
		;
	x->prev = after;
	x->next = after ? after->next : h->head;
	if (x->next)
		x->next->prev = x;
	else
		h->tail = x;
	if (after)
		after->next = x;
	else
		h->head = x;
	h->n++;
	if (h->head == x)
		pthread_cond_signal(&h->cv);	/* a new earliest */
	pthread_mutex_unlock(&h->mu);
	return 0;
}

size_t holds_count(struct holds *h)
{
	size_t n;

	pthread_mutex_lock(&h->mu);
	n = h->n;
	pthread_mutex_unlock(&h->mu);
	return n;
}

void holds_stop(struct holds *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	h->stopping = 1;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
	if (h->running)
		pthread_join(h->thread, NULL);
	h->running = 0;
}

void holds_free(struct holds *h)
{
	if (!h)
		return;
	holds_stop(h);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	free(h);
}

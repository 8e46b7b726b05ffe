/*
 * clock.h -- the two clocks Lighthouse uses: wall time for events (what a
 * person reads) and monotonic time for latencies and timeouts.
 */
#ifndef LH_CLOCK_H
#define LH_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t lh_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t lh_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ISO 8601 UTC with microseconds, e.g. 2026-11-22T10:30:00.123456Z. */
void lh_format_time(char out[32], int64_t wall_ns);

#endif

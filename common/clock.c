/*
 * clock.c -- time formatting (see clock.h).
 */
#include <stdio.h>
#include <time.h>

#include "common/clock.h"
#include "common/banned.h"

void lh_format_time(char out[32], int64_t wall_ns)
{
	time_t secs = (time_t)(wall_ns / 1000000000);
	unsigned usec = (unsigned)((wall_ns % 1000000000) / 1000) % 1000000u;
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(out, 32, "%04u-%02u-%02uT%02u:%02u:%02u.%06uZ",
		 (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)(tm.tm_mon + 1) % 100u,
		 (unsigned)tm.tm_mday % 100u, (unsigned)tm.tm_hour % 100u,
		 (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u, usec);
}

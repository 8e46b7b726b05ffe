/*
 * log.c -- diagnostics for people (see log.h).
 *
 * The settings are process-wide on purpose: a process has one stderr. They
 * are written once at start-up, before any thread exists, and only read
 * afterwards.
 */
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/banned.h"

static const char *log_ident = "lighthouse";
static enum lh_log_level log_level = LH_LOG_INFO;
static int log_syslog;

void lh_log_setup(const char *ident, enum lh_log_level level, int use_syslog)
{
	log_ident = ident;
	log_level = level;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(ident, LOG_PID, LOG_DAEMON);
}

void lh_log(enum lh_log_level level, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *const word[] = { "error", "warning", "info", "debug" };
	char msg[1024];
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_syslog)
		syslog(prio[level], "%s", msg);
	else
		fprintf(stderr, "%s: %s: %s\n", log_ident, word[level], msg);
}

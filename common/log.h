/*
 * log.h -- diagnostics for people: one line each, to stderr (or syslog when
 * the daemon runs in the background), lowercase, no full stop.
 */
#ifndef LH_LOG_H
#define LH_LOG_H

enum lh_log_level { LH_LOG_ERR, LH_LOG_WARN, LH_LOG_INFO, LH_LOG_DEBUG };

void lh_log_setup(const char *ident, enum lh_log_level level, int use_syslog);
void lh_log(enum lh_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define lh_err(...) lh_log(LH_LOG_ERR, __VA_ARGS__)
#define lh_warn(...) lh_log(LH_LOG_WARN, __VA_ARGS__)
#define lh_info(...) lh_log(LH_LOG_INFO, __VA_ARGS__)
#define lh_debug(...) lh_log(LH_LOG_DEBUG, __VA_ARGS__)

#endif

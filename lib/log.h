/* lib/log.h — one line per event on stderr (or to the handler of cluebus/log.h), OpenBSD
 * log.h style.
 *
 * Format: "2026-11-29T03:20:31.123Z LEVEL prog: text". Callers pass unit ids and message
 * ids, never personal data or key material; strings from outside go through
 * str_sanitize() first. */
#ifndef CB_LOG_H
#define CB_LOG_H

#include <stdarg.h>

void	log_init(const char *progname, int verbose);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));	/* + strerror */
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif

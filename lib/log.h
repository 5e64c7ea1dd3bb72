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
/* Appends the log (and everything else written to stderr) to `path` from now on, created
 * with mode 0640 when missing. Returns 0, or CB_EIO / CB_EINVAL with errno set (stderr
 * unchanged). */
int	log_open_file(const char *path) __attribute__((warn_unused_result));
/* Opens the log file's path again (after a rotation moved the file away); does nothing
 * without log_open_file. Returns 0, or CB_EIO with errno set: the old file stays in use. */
int	log_reopen(void) __attribute__((warn_unused_result));
/* The log file's path, or NULL when the log goes to the stderr the process got. Borrowed. */
const char *log_file_path(void);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));	/* + strerror */
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif

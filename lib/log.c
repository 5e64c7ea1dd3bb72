/* lib/log.c — leveled, timestamped, line-buffered logging to stderr, or to a handler.
 *
 * Invariants: (1) a line below the level set is neither formatted nor written; (2) with a
 * handler set (cb_log_set_handler) nothing is written to stderr, fatal lines included;
 * (3) a line longer than the buffer is cut, never split. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluebus/log.h"
#include "log.h"
#include "util.h"

static const char *log_prog = "cluebus";
static cb_log_level_t log_level = CB_LOG_INFO;
static cb_log_fn *log_handler;
static void *log_handler_arg;

void
log_init(const char *progname, int verbose)
{
	log_prog = progname;
	log_level = verbose ? CB_LOG_DEBUG : CB_LOG_INFO;
	setvbuf(stderr, NULL, _IOLBF, 0);
}

void
cb_log_set_handler(cb_log_fn *fn, void *arg)
{
	log_handler = fn;
	log_handler_arg = arg;
}

void
cb_log_set_level(cb_log_level_t level)
{
	log_level = level;
}

static void
vlog(cb_log_level_t level, const char *fmt, va_list ap, const char *suffix)
{
	static const char *const names[] = { "FATAL", "WARN", "INFO", "DEBUG" };
	char ts[40], line[1024];
	int n;

	if (level > log_level)
		return;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (suffix != NULL && n >= 0 && (size_t)n < sizeof(line))
		snprintf(line + n, sizeof(line) - (size_t)n, ": %s", suffix);
	if (log_handler != NULL) {
		log_handler(log_handler_arg, level, line);
		return;
	}
	clock_format_rfc3339(clock_now_ms(), ts, sizeof(ts));
	fprintf(stderr, "%s %s %s: %s\n", ts, names[level], log_prog, line);
}

void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(CB_LOG_WARN, fmt, ap, strerror(saved));
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(CB_LOG_WARN, fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(CB_LOG_INFO, fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(CB_LOG_DEBUG, fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(CB_LOG_FATAL, fmt, ap, strerror(saved));
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(CB_LOG_FATAL, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}

/* lib/log.c — leveled, timestamped, line-buffered logging to stderr.
 *
 * One event, one line: control characters in what is logged are escaped (log_escape). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

static const char *log_prog = "cluebus";
static int log_verbose;

void
log_init(const char *progname, int verbose)
{
	log_prog = progname;
	log_verbose = verbose;
	setvbuf(stderr, NULL, _IOLBF, 0);
}

/* Copies `in` to `out` (size outlen) with control characters written as \xNN, so that a
 * name or text from outside can neither split a log line nor move the terminal's cursor.
 * UTF-8 passes unchanged. Cannot fail. */
static void
log_escape(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *in != '\0' && o + 5 < outlen; in++) {
		unsigned char c = (unsigned char)*in;

		if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
}

static void
vlog(const char *level, const char *fmt, va_list ap, const char *suffix)
{
	char ts[40], line[1024], shown[4096];

	clock_format_rfc3339(clock_now_ms(), ts, sizeof(ts));
	vsnprintf(line, sizeof(line), fmt, ap);
	log_escape(line, shown, sizeof(shown));
	fprintf(stderr, "%s %s %s: %s%s%s\n", ts, level, log_prog, shown,
	    suffix != NULL ? ": " : "", suffix != NULL ? suffix : "");
}

void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog("WARN", fmt, ap, strerror(saved));
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("WARN", fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("INFO", fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	vlog("DEBUG", fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog("FATAL", fmt, ap, strerror(saved));
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("FATAL", fmt, ap, NULL);
	va_end(ap);
	exit(1);
}

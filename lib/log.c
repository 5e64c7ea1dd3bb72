/* lib/log.c — leveled, timestamped, line-buffered logging to stderr, or to a handler.
 *
 * A daemon may send stderr to a log file (log_open_file): the file is opened and put in
 * place of descriptor 2 with dup2(), which is atomic, so a line written by any thread goes
 * whole to either the old or the new file, and sanitizer or library reports written to
 * stderr land in the same file. log_reopen() does it again after logrotate moved the file.
 *
 * Invariants: (1) a line below the level set is neither formatted nor written; (2) with a
 * handler set (cb_log_set_handler) nothing is written to stderr, fatal lines included;
 * (3) a line longer than the buffer is cut, never split; (4) one event, one line: control
 * characters in what is logged are escaped (log_escape), so a name or text from outside can
 * neither split a line nor move a terminal's cursor. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluebus/err.h"
#include "cluebus/log.h"
#include "log.h"
#include "util.h"

static const char *log_prog = "cluebus";
static cb_log_level_t log_level = CB_LOG_INFO;
static cb_log_fn *log_handler;
static void *log_handler_arg;
static char log_path[PATH_MAX];	/* "" : stderr as the process got it */

void
log_init(const char *progname, int verbose)
{
	log_prog = progname;
	log_level = verbose ? CB_LOG_DEBUG : CB_LOG_INFO;
	setvbuf(stderr, NULL, _IOLBF, 0);
}

/* Opens log_path for appending and puts it in place of stderr. */
static int
log_attach(void)
{
	int fd;

	if ((fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640)) < 0)
		return CB_EIO;
	fflush(stderr);
	if (fd != STDERR_FILENO) {
		if (dup2(fd, STDERR_FILENO) < 0) {
			int saved = errno;

			close(fd);
			errno = saved;
			return CB_EIO;
		}
		close(fd);
	}
	return 0;
}

int
log_open_file(const char *path)
{
	if (strlen(path) >= sizeof(log_path)) {
		errno = ENAMETOOLONG;
		return CB_EINVAL;
	}
	snprintf(log_path, sizeof(log_path), "%s", path);
	return log_attach();
}

int
log_reopen(void)
{
	if (log_path[0] == '\0')
		return 0;
	return log_attach();
}

const char *
log_file_path(void)
{
	return log_path[0] != '\0' ? log_path : NULL;
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

/* Copies `in` to `out` (size outlen) with control characters written as \xNN. UTF-8
 * passes unchanged. Cannot fail. */
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
vlog(cb_log_level_t level, const char *fmt, va_list ap, const char *suffix)
{
	static const char *const names[] = { "FATAL", "WARN", "INFO", "DEBUG" };
	char ts[40], line[1024], shown[4096];
	int n;

	if (level > log_level)
		return;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (suffix != NULL && n >= 0 && (size_t)n < sizeof(line))
		snprintf(line + n, sizeof(line) - (size_t)n, ": %s", suffix);
	log_escape(line, shown, sizeof(shown));
	if (log_handler != NULL) {
		log_handler(log_handler_arg, level, shown);
		return;
	}
	clock_format_rfc3339(clock_now_ms(), ts, sizeof(ts));
	fprintf(stderr, "%s %s %s: %s\n", ts, names[level], log_prog, shown);
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

/* cluebus/log.h — where the library's log lines go.
 *
 * The library logs one line per event (a refused key, a reconnect, an unreadable record):
 * by default to stderr as "TIME LEVEL PROG: text". A program embedding it can take those
 * lines instead, to its own log, and choose how much it wants. Lines carry unit ids,
 * message ids and file names, never personal data or key material.
 *
 * Both settings are process-wide: set them before cb_client_open(), not while another
 * thread uses the library. */
#ifndef CLUEBUS_LOG_H
#define CLUEBUS_LOG_H

#include "cluebus/export.h"

typedef enum cb_log_level {
	CB_LOG_FATAL = 0,	/* the process exits after it (the daemons only) */
	CB_LOG_WARN,		/* something failed or was refused */
	CB_LOG_INFO,		/* a connection, a start, a stop */
	CB_LOG_DEBUG,		/* per-frame detail */
} cb_log_level_t;

/* Receives each line at or above the level set: `text` is the line without time stamp,
 * level or trailing newline, NUL-terminated, borrowed for the duration of the call. */
typedef void cb_log_fn(void *arg, cb_log_level_t level, const char *text);

/* Sends every later line to fn(arg, level, text) instead of stderr; fn NULL restores
 * stderr. Cannot fail. */
CB_EXPORT void	cb_log_set_handler(cb_log_fn *fn, void *arg);
/* Drops lines less severe than `level` (default CB_LOG_INFO). Cannot fail. */
CB_EXPORT void	cb_log_set_level(cb_log_level_t level);

#endif

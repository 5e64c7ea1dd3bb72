/* cluebus/err.h — error codes shared by the library, the broker, the agent and the tools.
 *
 * LMDB's convention: 0 is success, failures are negative codes far from errno values, and
 * cb_strerror() names each one. */
#ifndef CLUEBUS_ERR_H
#define CLUEBUS_ERR_H

#include <stddef.h>

#include "cluebus/export.h"

#define CB_OK		 0
#define CB_EINVAL	-30001	/* bad argument from the caller */
#define CB_ENOMEM	-30002	/* allocation failed */
#define CB_EMALFORMED	-30003	/* outside input does not parse or violates the schema */
#define CB_ETOOBIG	-30004	/* outside input exceeds a size bound */
#define CB_EBADSIG	-30005	/* signature does not verify */
#define CB_EKEY		-30006	/* key file missing, unreadable or of the wrong type */
#define CB_EPERM	-30007	/* a file has unsafe permissions */
#define CB_ESTORE	-30008	/* LMDB failed; nothing was written */
#define CB_ECORRUPT	-30009	/* stored data fails its integrity checks */
#define CB_EIO		-30010	/* a file or socket operation failed (see errno) */
#define CB_ENOTFOUND	-30011	/* no such record */
#define CB_ECRYPTO	-30012	/* OpenSSL failed for a reason other than a bad signature */
#define CB_ECONFIG	-30013	/* configuration is invalid */
#define CB_ETIMEOUT	-30014	/* nothing happened before the deadline */
#define CB_EAGAIN	-30015	/* try again later (peer away, queue full) */
#define CB_EEXIST	-30016	/* record already present */

/* Returns a static, human-readable text for a CB_E* code. Cannot fail. */
CB_EXPORT const char *cb_strerror(int code);

/* Where and why outside input was refused: `field` is a JSON-path-like name
 * ("clue.persons[2].age"), `reason` says what is wrong, `line` the line of the file the input
 * was read from (1-based; 0 when it did not come from a file or the line is unknown). All
 * are valid (the strings NUL-terminated, possibly empty) after a failed call that takes a
 * cb_error_t. */
typedef struct cb_error {
	char	field[128];
	char	reason[256];
	int	line;
} cb_error_t;

/* Fills `err` (which may be NULL) with printf-style reason and a field name, and line 0.
 * Cannot fail. */
CB_EXPORT void cb_error_set(cb_error_t *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* cb_error_set(err, field, fmt, ...), then returns `code`, so that a refusal is one statement:
 * `return cb_fail(err, "clue.category", CB_EMALFORMED, "unknown category");`. The arguments
 * may point into `err` itself. Cannot fail. */
CB_EXPORT int cb_fail(cb_error_t *err, const char *field, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* cb_fail for input read from a file: also records its `line`. Cannot fail. */
CB_EXPORT int cb_fail_at(cb_error_t *err, const char *field, int line, int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif

/* lib/err.c — names for the CB_E* error codes and the field/reason error record. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cluebus/err.h"

const char *
cb_strerror(int code)
{
	switch (code) {
	case CB_OK:		return "success";
	case CB_EINVAL:		return "invalid argument";
	case CB_ENOMEM:		return "out of memory";
	case CB_EMALFORMED:	return "malformed input";
	case CB_ETOOBIG:	return "input too large";
	case CB_EBADSIG:	return "bad signature";
	case CB_EKEY:		return "key unusable";
	case CB_EPERM:		return "unsafe file permissions";
	case CB_ESTORE:		return "store failure";
	case CB_ECORRUPT:	return "stored data corrupt";
	case CB_EIO:		return "I/O error";
	case CB_ENOTFOUND:	return "not found";
	case CB_ECRYPTO:	return "crypto library failure";
	case CB_ECONFIG:	return "invalid configuration";
	case CB_ETIMEOUT:	return "timed out";
	case CB_EAGAIN:		return "try again later";
	case CB_EEXIST:		return "already exists";
	default:		return "unknown error";
	}
}

static void	error_vset(cb_error_t *, const char *, int, const char *, va_list)
    __attribute__((format(printf, 4, 0)));

/* Formats into a copy first, so that the arguments may point into `err`. */
static void
error_vset(cb_error_t *err, const char *field, int line, const char *fmt, va_list ap)
{
	char reason[sizeof(((cb_error_t *)0)->reason)];

	if (err == NULL)
		return;
	vsnprintf(reason, sizeof(reason), fmt, ap);
	snprintf(err->field, sizeof(err->field), "%s", field != NULL ? field : "");
	memcpy(err->reason, reason, strlen(reason) + 1);
	err->line = line;
}

void
cb_error_set(cb_error_t *err, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vset(err, field, 0, fmt, ap);
	va_end(ap);
}

int
cb_fail(cb_error_t *err, const char *field, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vset(err, field, 0, fmt, ap);
	va_end(ap);
	return code;
}

int
cb_fail_at(cb_error_t *err, const char *field, int line, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vset(err, field, line, fmt, ap);
	va_end(ap);
	return code;
}

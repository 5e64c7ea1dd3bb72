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

void
cb_error_set(cb_error_t *err, const char *field, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	snprintf(err->field, sizeof(err->field), "%s", field != NULL ? field : "");
	va_start(ap, fmt);
	vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
	va_end(ap);
}

int
cb_fail(cb_error_t *err, const char *field, int code, const char *fmt, ...)
{
	char reason[sizeof(((cb_error_t *)0)->reason)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	cb_error_set(err, field, "%s", reason);
	return code;
}

/* tests/fuzz/fuzz_corrkey.c — libFuzzer target for the correlation_key body
 * (lib/corrkeymsg.c: corrkeymsg_decode, corrkeymsg_key_check).
 *
 * Every receiving agent decodes this body from outside. Broken promises abort: only
 * CB_EMALFORMED / CB_ETOOBIG / CB_EKEY come back (with a field and a reason), nothing is
 * returned on error, and what is accepted has a version, a non-negative effective time and
 * a seal. The input also goes through corrkeymsg_key_check as an opened key. */
#include <stdint.h>
#include <stdlib.h>

#include "cluebus.pb-c.h"
#include "cluebus/err.h"
#include "corrkeymsg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Cluebus__CorrelationKey *b = NULL;
	cb_error_t err = { 0 };
	int rc;

	rc = corrkeymsg_key_check(data, size, &err);
	if (rc != 0 && (rc != CB_EMALFORMED || err.field[0] == '\0'))
		abort();
	rc = corrkeymsg_decode(data, size, &b, &err);
	if (rc != 0) {
		if (b != NULL || (rc != CB_EMALFORMED && rc != CB_ETOOBIG && rc != CB_EKEY &&
		    rc != CB_ENOMEM))
			abort();
		if (rc != CB_ENOMEM && (err.field[0] == '\0' || err.reason[0] == '\0'))
			abort();
		return 0;
	}
	if (b->version == 0 || b->effective_ms < 0 || b->sealed_key == NULL)
		abort();
	cluebus__correlation_key__free_unpacked(b, NULL);
	return 0;
}

/* lib/corrkeymsg.c — checks of the correlation_key body and of its opened key
 * (docs/correlation.md §6). The key travels only inside `sealed_key` (lib/seal.c), so the
 * broker, which checks the seal's recipient set without any key, never holds it. */
#include <stdint.h>
#include <string.h>

#include "corrkeymsg.h"
#include "seal.h"

int
corrkeymsg_check(const Cluebus__CorrelationKey *b, cb_error_t *err)
{
	const char *units[SEAL_MAX_RECIPIENTS];
	size_t n;

	if (b->version == 0)
		return cb_fail(err, "correlation_key.version", CB_EMALFORMED,
		    "missing (versions start at 1)");
	if (b->effective_ms < 0)
		return cb_fail(err, "correlation_key.effective_ms", CB_EMALFORMED, "negative");
	if (b->sealed_key == NULL)
		return cb_fail(err, "correlation_key.sealed_key", CB_EMALFORMED,
		    "missing (the key travels only sealed)");
	return seal_recipients(b->sealed_key, units, &n, err);
}

int
corrkeymsg_decode(const uint8_t *buf, size_t len, Cluebus__CorrelationKey **out,
    cb_error_t *err)
{
	Cluebus__CorrelationKey *b;
	int rc;

	*out = NULL;
	if (len > SEAL_MAX_PLAINTEXT)
		return cb_fail(err, "correlation_key", CB_ETOOBIG, "over %d bytes",
		    SEAL_MAX_PLAINTEXT);
	b = cluebus__correlation_key__unpack(NULL, len, buf);
	if (b == NULL)
		return cb_fail(err, "correlation_key", CB_EMALFORMED, "does not parse");
	rc = corrkeymsg_check(b, err);
	if (rc != 0) {
		cluebus__correlation_key__free_unpacked(b, NULL);
		return rc;
	}
	*out = b;
	return 0;
}

int
corrkeymsg_key_check(const uint8_t *plain, size_t len, cb_error_t *err)
{
	uint8_t acc = 0;
	size_t i;

	if (len != CORRKEYMSG_KEY_LEN)
		return cb_fail(err, "correlation_key.sealed_key", CB_EMALFORMED,
		    "opened to %zu bytes, not a %d-byte key", len, CORRKEYMSG_KEY_LEN);
	for (i = 0; i < len; i++)
		acc |= plain[i];
	if (acc == 0)
		return cb_fail(err, "correlation_key.sealed_key", CB_EMALFORMED, "all zero");
	return 0;
}

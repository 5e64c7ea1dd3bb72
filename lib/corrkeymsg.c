/* lib/corrkeymsg.c — checks of the correlation_key body and of its opened key
 * (docs/correlation.md §6). The key travels only inside `sealed_key` (lib/seal.c), so the
 * broker, which checks the seal's recipient set without any key, never holds it. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "corrkeymsg.h"
#include "seal.h"
#include "util.h"

int
corrkeymsg_units_check(const Cluebus__CorrelationKey *b, cb_error_t *err)
{
	if (b->n_to_units > SEAL_MAX_RECIPIENTS)
		return cb_fail(err, "correlation_key.to_units", CB_EMALFORMED,
		    "more than %d units", SEAL_MAX_RECIPIENTS);
	for (size_t i = 0; i < b->n_to_units; i++) {
		char path[48];

		snprintf(path, sizeof(path), "correlation_key.to_units[%zu]", i);
		if (!unit_id_valid(b->to_units[i]))
			return cb_fail(err, path, CB_EMALFORMED, "not a unit id");
		for (size_t j = 0; j < i; j++)
			if (strcmp(b->to_units[j], b->to_units[i]) == 0)
				return cb_fail(err, path, CB_EMALFORMED, "'%s' named twice",
				    b->to_units[i]);
	}
	return 0;
}

int
corrkeymsg_check(const Cluebus__CorrelationKey *b, cb_error_t *err)
{
	const char *units[SEAL_MAX_RECIPIENTS];
	size_t n;
	int rc;

	if (b->version == 0)
		return cb_fail(err, "correlation_key.version", CB_EMALFORMED,
		    "missing (versions start at 1)");
	if (b->effective_ms < 0)
		return cb_fail(err, "correlation_key.effective_ms", CB_EMALFORMED, "negative");
	if ((rc = corrkeymsg_units_check(b, err)) != 0)
		return rc;
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

/* tests/fuzz/fuzz_identifiers.c — libFuzzer target for identifier normalisation
 * (lib/identifiers.c), the decoder of every identifier an agency document names.
 *
 * The first byte picks the type (any value: unknown types must be refused), the rest is
 * the identifier, NUL-terminated at its first NUL. An accepted identifier's normal form must
 * fit IDENTIFIER_MAX, normalise to itself, and hash to a token; a refused one must leave the
 * output empty and give a reason. identifier_looks_resident must not crash on any input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluebus.pb-c.h"
#include "identifiers.h"
#include "matchkey.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[IDENTIFIER_MAX + 64], out[IDENTIFIER_MAX + 1], again[IDENTIFIER_MAX + 1];
	char why[IDENTIFIER_REASON_MAX];
	Cluebus__IdentifierType type;
	matchkey_t k = { .version = 1 };
	uint8_t token[MATCH_TOKEN_LEN];
	size_t n;

	if (size == 0)
		return 0;
	type = (Cluebus__IdentifierType)(data[0] % 10);
	n = size - 1 < sizeof(in) - 1 ? size - 1 : sizeof(in) - 1;
	memcpy(in, data + 1, n);
	in[n] = '\0';
	(void)identifier_looks_resident(in);
	if (identifier_normalize(type, in, out, why) != 0) {
		if (out[0] != '\0' || why[0] == '\0')
			abort();
		return 0;
	}
	if (strlen(out) > IDENTIFIER_MAX || identifier_normalize(type, out, again, why) != 0 ||
	    strcmp(out, again) != 0 || matchkey_token(&k, type, out, token) != 0)
		abort();
	return 0;
}

/* tests/fuzz/fuzz_sealed.c — libFuzzer target for sealed personal data (lib/seal.c).
 *
 * Feeds arbitrary bytes, decoded as a Sealed protobuf within the decode budget, to
 * seal_recipients() and to seal_open() as each recipient of the test vector of
 * docs/sealing.md (fixed keys from fixed seeds; the vector's message id and sender), so the
 * committed vector and its mutations reach every step of opening. Broken promises abort:
 * only the documented codes come back, each refusal names a field and a reason, nothing is
 * returned with an error, a recipient set that is accepted is strictly sorted and compares
 * equal to itself, and an opened plaintext has the length the ciphertext implies. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../tools/seal_reference.h"
#include "cluebus.pb-c.h"
#include "cluebus/err.h"
#include "seal.h"
#include "sealkey.h"
#include "unpack.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

#define NUNITS	3

static const char *const units[NUNITS] = { "ato", "civil-affairs", "psb" };
static sealkey_t *keys[NUNITS];
static uint8_t message_id[32];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t seed[32];
	char name[64];

	(void)argc;
	(void)argv;
	ref_seed("message id", message_id);
	for (size_t i = 0; i < NUNITS; i++) {
		snprintf(name, sizeof(name), "%s private", units[i]);
		ref_seed(name, seed);
		if (sealkey_from_private(seed, sizeof(seed), &keys[i]) != 0)
			abort();
	}
	return 0;
}

static int
refusal_ok(int rc, const cb_error_t *err)
{
	return (rc == CB_EMALFORMED || rc == CB_ETOOBIG || rc == CB_EKEY ||
	    rc == CB_ENOTFOUND || rc == CB_EBADSIG) && err->field[0] != '\0' &&
	    err->reason[0] != '\0';
}

static void
check_recipients(const Cluebus__Sealed *s)
{
	const char *set[SEAL_MAX_RECIPIENTS];
	cb_error_t err;
	size_t n = 0;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = seal_recipients(s, set, &n, &err);
	if (rc != 0) {
		if (rc == CB_ENOTFOUND || rc == CB_EBADSIG || !refusal_ok(rc, &err))
			abort();
		return;
	}
	if (n != s->n_keys || n == 0 || n > SEAL_MAX_RECIPIENTS)
		abort();
	for (size_t i = 1; i < n; i++)
		if (strcmp(set[i - 1], set[i]) >= 0)
			abort();
	if (!seal_recipients_equal(s, set, n))
		abort();
}

static void
check_open(const Cluebus__Sealed *s, size_t who)
{
	seal_binding_t b = { message_id, "health" };
	uint8_t *plain = NULL;
	cb_error_t err;
	size_t len = 0;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = seal_open(s, &b, units[who], keys[who], &plain, &len, &err);
	if (rc != 0) {
		if (plain != NULL || len != 0 || !refusal_ok(rc, &err))
			abort();
		return;
	}
	if (plain == NULL || len != s->ciphertext.len - SEAL_TAG_LEN || plain[len] != '\0')
		abort();
	seal_plain_free(plain, len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ProtobufCMessage *m = NULL;
	int rc;

	if (keys[0] == NULL)
		LLVMFuzzerInitialize(NULL, NULL);
	rc = unpack_bounded(&cluebus__sealed__descriptor, data, size, &m);
	if (rc != 0) {
		if ((rc != CB_EMALFORMED && rc != CB_ETOOBIG) || m != NULL)
			abort();
		return 0;
	}
	check_recipients((const Cluebus__Sealed *)m);
	for (size_t i = 0; i < NUNITS; i++)
		check_open((const Cluebus__Sealed *)m, i);
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}

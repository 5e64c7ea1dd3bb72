/* tests/fuzz/fuzz_checkpoint.c — libFuzzer target for signed notes and checkpoints
 * (lib/checkpoint.c), as an agent or an auditor reads them from a broker it does not trust.
 *
 * The input is a note. The verifier is the key "cluebus.example/log" with the Ed25519
 * seed of 32 bytes 0x42 (tests/tools/checkpoint_note signs the corpus with it), so valid
 * notes get past the signature check. Broken promises abort: each function returns only
 * its documented codes, and a refusal names where and why; checkpoint_verify accepts only
 * what checkpoint_parse accepts, with the same tree head; a parsed checkpoint formats back
 * to exactly the text that was signed. The input is also read as a vkey (NUL-terminated
 * copy): refused with a reason, or accepted under the name before its first '+'. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "checkpoint.h"
#include "cluebus/err.h"
#include "keys.h"

#define FUZZ_LOG_NAME	"cluebus.example/log"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

static checkpoint_verifier_t *verifier;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t seed[32], pub[KEY_PUBLIC_LEN];
	size_t publen = sizeof(pub);
	EVP_PKEY *pkey;
	cb_key_t *k = NULL;

	(void)argc;
	(void)argv;
	memset(seed, 0x42, sizeof(seed));
	if ((pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
	    sizeof(seed))) == NULL ||
	    EVP_PKEY_get_raw_public_key(pkey, pub, &publen) != 1 ||
	    key_from_public(pub, publen, &k) != 0 ||
	    checkpoint_verifier_new(FUZZ_LOG_NAME, k, &verifier) != 0)
		abort();
	key_free(k);
	EVP_PKEY_free(pkey);
	return 0;
}

static int
refused_well(int rc, const cb_error_t *err, int also)
{
	return (rc == CB_EMALFORMED || rc == CB_ETOOBIG || (also != 0 && rc == also)) &&
	    err->field[0] != '\0' && err->reason[0] != '\0';
}

static void
check_vkey(const uint8_t *data, size_t size)
{
	checkpoint_verifier_t *v = NULL;
	char *vkey = malloc(size + 1);
	cb_error_t err;
	int rc;

	if (vkey == NULL)
		return;
	memcpy(vkey, data, size);
	vkey[size] = '\0';
	memset(&err, 0, sizeof(err));
	rc = checkpoint_verifier_parse(vkey, &v, &err);
	if (rc == 0) {
		const char *plus = strchr(vkey, '+');

		if (v == NULL || plus == NULL ||
		    strlen(checkpoint_verifier_name(v)) != (size_t)(plus - vkey) ||
		    memcmp(checkpoint_verifier_name(v), vkey, (size_t)(plus - vkey)) != 0)
			abort();
	} else if (v != NULL || !refused_well(rc, &err, CB_EKEY)) {
		abort();
	}
	checkpoint_verifier_free(v);
	free(vkey);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *note = (const char *)data;
	char text[CHECKPOINT_TEXT_MAX + 1];
	checkpoint_t parsed, verified;
	cb_error_t err;
	size_t text_len = 0, formatted_len;
	int parse_rc, open_rc, verify_rc;

	memset(&err, 0, sizeof(err));
	parse_rc = checkpoint_parse(note, size, &parsed, &err);
	if (parse_rc != 0 && !refused_well(parse_rc, &err, 0))
		abort();

	memset(&err, 0, sizeof(err));
	open_rc = checkpoint_note_open(note, size, verifier, &text_len, &err);
	if (open_rc == 0 ? text_len == 0 || text_len >= size || note[text_len - 1] != '\n' :
	    !refused_well(open_rc, &err, CB_EBADSIG))
		abort();

	memset(&err, 0, sizeof(err));
	verify_rc = checkpoint_verify(note, size, verifier, &verified, &err);
	if (verify_rc == 0) {
		if (open_rc != 0 || parse_rc != 0 ||
		    memcmp(&parsed, &verified, sizeof(parsed)) != 0 ||
		    strcmp(verified.origin, FUZZ_LOG_NAME) != 0)
			abort();
	} else if (!refused_well(verify_rc, &err, CB_EBADSIG)) {
		abort();
	}

	/* What parses formats back to the very text that was signed. */
	if (parse_rc == 0) {
		if (checkpoint_format(&parsed, text, sizeof(text), &formatted_len) != 0)
			abort();
		if (memcmp(text, note, formatted_len) != 0 || note[formatted_len] != '\n')
			abort();
	}
	check_vkey(data, size);
	return 0;
}

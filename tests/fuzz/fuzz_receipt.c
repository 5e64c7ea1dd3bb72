/* tests/fuzz/fuzz_receipt.c — libFuzzer target for receipt files (lib/receipts.c), as
 * `cluebus-audit check-receipt` and `verify --receipts` read the agencies' files.
 *
 * The first byte chooses how the rest is read:
 *
 *   even: the rest is a receipt file's text: receipt_parse must return 0 or a documented
 *         error naming a field; a parsed receipt is checked with receipt_check (a fresh
 *         broker key: a documented error, never a crash).
 *   odd:  the rest is XORed over a genuine receipt (tests/unit/receipt_fixture.h): when
 *         nothing changed it must check; whatever changed, parse and check return
 *         documented codes, and a receipt that still checks must still say its seq.
 *
 * Broken promises abort. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "receipts.h"
#include "../unit/receipt_fixture.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

static char *genuine;
static size_t genuine_len;
static cb_key_t *broker;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if ((genuine = receipt_fixture(&broker)) == NULL)
		abort();
	genuine_len = strlen(genuine);
	return 0;
}

static int
documented(int rc)
{
	return rc == 0 || rc == CB_EMALFORMED || rc == CB_ETOOBIG || rc == CB_ENOMEM ||
	    rc == CB_ECORRUPT || rc == CB_EBADSIG || rc == CB_ENOTFOUND || rc == CB_ECRYPTO ||
	    rc == CB_EINVAL || rc == CB_EKEY;
}

static void
one(const char *text, size_t len, int must_check)
{
	checkpoint_t cp;
	cb_error_t err;
	receipt_t r;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = receipt_parse(text, len, &r, &err);
	if (!documented(rc) || (rc != 0 && rc != CB_ENOMEM && err.field[0] == '\0'))
		abort();
	if (rc != 0) {
		if (must_check)
			abort();
		return;
	}
	rc = receipt_check(&r, &broker, 1, &cp, &err);
	if (!documented(rc) || (must_check && rc != 0))
		abort();
	if (rc == 0 && (cp.size < r.seq || r.seq == 0))
		abort();
	receipt_clear(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;
	int changed = 0;

	if (size == 0)
		return 0;
	if ((data[0] & 1) == 0) {
		one((const char *)data + 1, size - 1, 0);
		return 0;
	}
	if ((text = malloc(genuine_len + 1)) == NULL)
		return 0;
	memcpy(text, genuine, genuine_len + 1);
	for (size_t i = 1; i < size; i++) {
		text[(i - 1) % genuine_len] ^= (char)data[i];
		changed |= data[i] != 0;
	}
	one(text, genuine_len, !changed);
	free(text);
	return 0;
}

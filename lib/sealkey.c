/* lib/sealkey.c — X25519 sealing keys: generation, raw import, PEM files, key ids.
 *
 * The twin of lib/keys.c for the key type that seals rather than signs; files, modes and the
 * key id derivation are the same, so tools treat both kinds alike.
 *
 * Invariants: (1) a sealkey_t always holds an X25519 EVP_PKEY with its raw public key and key
 * id computed; (2) only files that nobody but the owner can access are accepted as private
 * keys; (3) from OpenSSL only a return of 1 is success. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cluebus/err.h"
#include "sealkey.h"
#include "pemfile.h"

struct sealkey {
	EVP_PKEY	*pkey;
	int		 has_private;
	uint8_t		 pub[SEALKEY_PUBLIC_LEN];
	uint8_t		 id[SEALKEY_ID_LEN];
};

/* Takes ownership of `pkey` whatever happens. */
_Static_assert(SEALKEY_PUBLIC_LEN == 32 && SEALKEY_ID_LEN == 8,
    "pemfile_key_public's sizes");

static int
sealkey_wrap(EVP_PKEY *pkey, int has_private, sealkey_t **out)
{
	sealkey_t *k;
	int rc;

	if ((k = calloc(1, sizeof(*k))) == NULL) {
		EVP_PKEY_free(pkey);
		return CB_ENOMEM;
	}
	k->pkey = pkey;
	k->has_private = has_private;
	if ((rc = pemfile_key_public(pkey, EVP_PKEY_X25519, k->pub, k->id)) != 0) {
		sealkey_free(k);
		return rc;
	}
	*out = k;
	return 0;
}

int
sealkey_generate(sealkey_t **out)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");

	if (pkey == NULL)
		return CB_ECRYPTO;
	return sealkey_wrap(pkey, 1, out);
}

int
sealkey_from_private(const uint8_t *raw, size_t len, sealkey_t **out)
{
	EVP_PKEY *pkey;

	if (raw == NULL || len != SEALKEY_PRIVATE_LEN)
		return CB_EKEY;
	/* Any 32 bytes are an X25519 scalar: a failure here is OpenSSL's (memory). */
	if ((pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, raw, len)) == NULL)
		return CB_ENOMEM;
	return sealkey_wrap(pkey, 1, out);
}

int
sealkey_from_public(const uint8_t *raw, size_t len, sealkey_t **out)
{
	EVP_PKEY *pkey;

	if (raw == NULL || len != SEALKEY_PUBLIC_LEN)
		return CB_EKEY;
	if ((pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, raw, len)) == NULL)
		return CB_ENOMEM;
	return sealkey_wrap(pkey, 0, out);
}

int
sealkey_load_private(const char *path, sealkey_t **out)
{
	EVP_PKEY *pkey;
	int rc;

	if ((rc = pemfile_read_private(path, &pkey)) != 0)
		return rc;
	return sealkey_wrap(pkey, 1, out);
}

int
sealkey_load_public(const char *path, sealkey_t **out)
{
	EVP_PKEY *pkey;
	int rc;

	if ((rc = pemfile_read_public(path, &pkey)) != 0)
		return rc;
	return sealkey_wrap(pkey, 0, out);
}

int
sealkey_save_private(const sealkey_t *k, const char *path)
{
	if (!k->has_private)
		return CB_EINVAL;
	return pemfile_write(k->pkey, path, 1);
}

int
sealkey_save_public(const sealkey_t *k, const char *path)
{
	return pemfile_write(k->pkey, path, 0);
}

const uint8_t *
sealkey_public(const sealkey_t *k)
{
	return k->pub;
}

const uint8_t *
sealkey_id(const sealkey_t *k)
{
	return k->id;
}

int
sealkey_has_private(const sealkey_t *k)
{
	return k->has_private;
}

EVP_PKEY *
sealkey_pkey(const sealkey_t *k)
{
	return k->pkey;
}

void
sealkey_free(sealkey_t *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}

/* lib/keys.c — Ed25519 key generation, files, signing (OpenSSL EVP) and verification.
 *
 * Verification uses libsodium's crypto_sign_verify_detached: it is the broker's and the
 * auditor's bound (SPEC §11) and libsodium verifies faster than OpenSSL 3.0
 * (docs/performance.md). It is also the stricter of the two (it refuses small-order keys and
 * R points and non-canonical encodings), so whatever it accepts OpenSSL accepts as well.
 * Everything else — keys, files, signing, hashing — stays with OpenSSL.
 *
 * Invariants: (1) a cb_key_t always has its raw public key and key id computed; (2) only
 * files that nobody but the owner can read are accepted as private keys; (3) from OpenSSL
 * only a return of 1 is success. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "cluebus/err.h"
#include "keys.h"
#include "pemfile.h"

struct cb_key {
	EVP_PKEY	*pkey;
	int		 has_private;
	uint8_t		 pub[KEY_PUBLIC_LEN];
	uint8_t		 id[KEY_ID_LEN];
};

_Static_assert(KEY_PUBLIC_LEN == 32 && KEY_ID_LEN == 8, "pemfile_key_public's sizes");

static int
key_wrap(EVP_PKEY *pkey, int has_private, cb_key_t **out)
{
	cb_key_t *k;
	int rc;

	if ((k = calloc(1, sizeof(*k))) == NULL) {
		EVP_PKEY_free(pkey);
		return CB_ENOMEM;
	}
	k->pkey = pkey;
	k->has_private = has_private;
	if ((rc = pemfile_key_public(pkey, EVP_PKEY_ED25519, k->pub, k->id)) != 0) {
		key_free(k);
		return rc;
	}
	*out = k;
	return 0;
}

int
key_generate(cb_key_t **out)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

	if (pkey == NULL)
		return CB_ECRYPTO;
	return key_wrap(pkey, 1, out);
}

int
key_load_private(const char *path, cb_key_t **out)
{
	EVP_PKEY *pkey;
	int rc;

	if ((rc = pemfile_read_private(path, &pkey)) != 0)
		return rc;
	return key_wrap(pkey, 1, out);
}

int
key_load_public(const char *path, cb_key_t **out)
{
	EVP_PKEY *pkey;
	int rc;

	if ((rc = pemfile_read_public(path, &pkey)) != 0)
		return rc;
	return key_wrap(pkey, 0, out);
}

int
key_from_public(const uint8_t *raw, size_t len, cb_key_t **out)
{
	EVP_PKEY *pkey;

	if (raw == NULL || len != KEY_PUBLIC_LEN)
		return CB_EKEY;
	/* OpenSSL takes any 32 bytes as an Ed25519 public key: a failure here is its own
	 * (out of memory), not the key's. */
	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, len);
	if (pkey == NULL)
		return CB_ENOMEM;
	return key_wrap(pkey, 0, out);
}

int
key_save_private(const cb_key_t *k, const char *path)
{
	if (!k->has_private)
		return CB_EINVAL;
	return pemfile_write(k->pkey, path, 1);
}

int
key_save_public(const cb_key_t *k, const char *path)
{
	return pemfile_write(k->pkey, path, 0);
}

const uint8_t *
key_public(const cb_key_t *k)
{
	return k->pub;
}

const uint8_t *
key_id(const cb_key_t *k)
{
	return k->id;
}

int
key_has_private(const cb_key_t *k)
{
	return k->has_private;
}

int
key_sign(const cb_key_t *k, const void *msg, size_t len, uint8_t sig[KEY_SIG_LEN])
{
	EVP_MD_CTX *ctx;
	size_t siglen = KEY_SIG_LEN;
	int rc = CB_ECRYPTO;

	if (!k->has_private)
		return CB_EINVAL;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return CB_ENOMEM;
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
	    EVP_DigestSign(ctx, sig, &siglen, msg, len) == 1 && siglen == KEY_SIG_LEN)
		rc = 0;
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
key_verify(const cb_key_t *k, const void *msg, size_t len, const uint8_t *sig, size_t siglen)
{
	static atomic_int ready;

	if (sig == NULL || siglen != KEY_SIG_LEN)
		return CB_EBADSIG;
	/* sodium_init() once: it is idempotent and thread-safe but takes a global mutex on
	 * every call, which verification threads would contend for. */
	if (!atomic_load_explicit(&ready, memory_order_acquire)) {
		if (sodium_init() < 0)
			return CB_ECRYPTO;
		atomic_store_explicit(&ready, 1, memory_order_release);
	}
	return crypto_sign_verify_detached(sig, msg, len, k->pub) == 0 ? 0 : CB_EBADSIG;
}

void
key_free(cb_key_t *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);	/* OpenSSL cleanses private key material on free */
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}

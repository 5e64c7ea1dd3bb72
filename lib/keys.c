/* lib/keys.c — Ed25519 key generation and files (OpenSSL EVP), signing and verification
 * (libsodium).
 *
 * Verification uses libsodium's crypto_sign_verify_detached: it is the broker's and the
 * auditor's bound (SPEC §11) and libsodium verifies faster than OpenSSL 3.0
 * (docs/performance.md). It is also the stricter of the two (it refuses small-order keys and
 * R points and non-canonical encodings), so whatever it accepts OpenSSL accepts as well.
 * Signing uses libsodium's crypto_sign_detached, about twice as fast as OpenSSL's EVP for
 * the same bytes: Ed25519 signatures are deterministic (RFC 8032), so both libraries give
 * the same signature for the same key and message (tests/unit/test_keys.c compares them).
 * Everything else — generating keys, key files, hashing — stays with OpenSSL.
 *
 * Invariants: (1) a cb_key_t always has its raw public key and key id computed; (2) only
 * files that nobody but the owner can read are accepted as private keys; (3) from OpenSSL
 * only a return of 1 is success; (4) a key with a private part holds libsodium's 64-byte
 * secret key (seed || public key), derived once from the EVP key when the cb_key_t is made,
 * its public half equal to `pub`; a public-only key's is all zero and never used; it is
 * wiped with the rest of the struct by key_free. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
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
	uint8_t		 sign_sk[crypto_sign_SECRETKEYBYTES];	/* owned; invariant (4) */
};

_Static_assert(KEY_PUBLIC_LEN == 32 && KEY_ID_LEN == 8, "pemfile_key_public's sizes");
_Static_assert(KEY_PUBLIC_LEN == crypto_sign_PUBLICKEYBYTES &&
    KEY_SIG_LEN == crypto_sign_BYTES && crypto_sign_SEEDBYTES == 32, "libsodium's sizes");

/* sodium_init() once: it is idempotent and thread-safe but takes a global mutex on every
 * call, which verification threads would contend for. Returns 0 or CB_ECRYPTO. */
static int
key_sodium_ready(void)
{
	static atomic_int ready;

	if (!atomic_load_explicit(&ready, memory_order_acquire)) {
		if (sodium_init() < 0)
			return CB_ECRYPTO;
		atomic_store_explicit(&ready, 1, memory_order_release);
	}
	return 0;
}

/* Derives k->sign_sk from the EVP key's 32-byte seed (its raw private key). Returns 0,
 * CB_ECRYPTO (OpenSSL or libsodium failed) or CB_EKEY (the seed does not give `pub`);
 * on failure the caller frees `k`, which wipes whatever was written. */
static int
key_derive_sign_sk(cb_key_t *k)
{
	uint8_t seed[crypto_sign_SEEDBYTES], pub[crypto_sign_PUBLICKEYBYTES];
	size_t seedlen = sizeof(seed);
	int rc = CB_ECRYPTO;

	if (key_sodium_ready() != 0 ||
	    EVP_PKEY_get_raw_private_key(k->pkey, seed, &seedlen) != 1 ||
	    seedlen != sizeof(seed) || crypto_sign_seed_keypair(pub, k->sign_sk, seed) != 0)
		goto out;
	/* OpenSSL derives its public key from the same seed, so they agree; were they to
	 * differ, the key's signatures would not verify under its own id. */
	rc = CRYPTO_memcmp(pub, k->pub, sizeof(pub)) == 0 ? 0 : CB_EKEY;
out:
	OPENSSL_cleanse(seed, sizeof(seed));
	return rc;
}

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
	if ((rc = pemfile_key_public(pkey, EVP_PKEY_ED25519, k->pub, k->id)) != 0 ||
	    (has_private && (rc = key_derive_sign_sk(k)) != 0)) {
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
	unsigned long long siglen = 0;

	if (!k->has_private)
		return CB_EINVAL;
	/* sodium_init() ran when the key was made (key_derive_sign_sk). */
	if (crypto_sign_detached(sig, &siglen, msg, len, k->sign_sk) != 0 ||
	    siglen != KEY_SIG_LEN)
		return CB_ECRYPTO;
	return 0;
}

int
key_verify(const cb_key_t *k, const void *msg, size_t len, const uint8_t *sig, size_t siglen)
{
	if (sig == NULL || siglen != KEY_SIG_LEN)
		return CB_EBADSIG;
	if (key_sodium_ready() != 0)
		return CB_ECRYPTO;
	return crypto_sign_verify_detached(sig, msg, len, k->pub) == 0 ? 0 : CB_EBADSIG;
}

void
key_free(cb_key_t *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);	/* OpenSSL cleanses private key material on free */
	OPENSSL_cleanse(k, sizeof(*k));	/* sign_sk with the rest */
	free(k);
}

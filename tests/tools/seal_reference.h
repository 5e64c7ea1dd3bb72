/* tests/tools/seal_reference.h — suite 1 of docs/sealing.md computed step by step, apart
 * from lib/seal.c, for the test vectors.
 *
 * tests/tools/sealvector.c prints the vector of docs/sealing.md with every intermediate
 * value from these functions and checks that lib/seal.c produced the same bytes;
 * tests/unit/test_seal.c recomputes the document's intermediate values with them. Written
 * from the document, not from lib/seal.c, so the two implementations check each other.
 * Straight-line test code: any OpenSSL failure aborts. Header-only (static functions), as
 * every .c file under tests/tools is a program of its own. */
#ifndef CB_SEAL_REFERENCE_H
#define CB_SEAL_REFERENCE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#define REF_SEED_PREFIX	"cluebus seal test vector: "
#define REF_AD_MAX	4096
#define REF_INFO_MAX	256

static void __attribute__((unused))
ref_need(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "seal reference: %s failed\n", what);
		abort();
	}
}

/* out = SHA-256(REF_SEED_PREFIX || name): how every fixed secret of the vector is made. */
static void __attribute__((unused))
ref_seed(const char *name, uint8_t out[32])
{
	char label[128];
	int n = snprintf(label, sizeof(label), "%s%s", REF_SEED_PREFIX, name);

	ref_need(n > 0 && (size_t)n < sizeof(label), "seed label");
	ref_need(EVP_Digest(label, (size_t)n, out, NULL, EVP_sha256(), NULL) == 1, "SHA-256");
}

static size_t
ref_put_lp(uint8_t *buf, size_t off, const char *s)
{
	size_t len = strlen(s);

	buf[off] = (uint8_t)(len >> 8);
	buf[off + 1] = (uint8_t)len;
	memcpy(buf + off + 2, s, len);
	return off + 2 + len;
}

static size_t
ref_put_be32(uint8_t *buf, size_t off, uint32_t v)
{
	buf[off] = (uint8_t)(v >> 24);
	buf[off + 1] = (uint8_t)(v >> 16);
	buf[off + 2] = (uint8_t)(v >> 8);
	buf[off + 3] = (uint8_t)v;
	return off + 4;
}

/* The content AD; `units` sorted. Returns its length. */
static size_t __attribute__((unused))
ref_ad(uint32_t suite, const uint8_t message_id[16], const char *sender,
    const char *const *units, size_t n, uint8_t out[REF_AD_MAX])
{
	size_t off = strlen("cluebus seal content");

	memcpy(out, "cluebus seal content", off);
	off = ref_put_be32(out, off, suite);
	memcpy(out + off, message_id, 16);
	off = ref_put_lp(out, off + 16, sender);
	out[off] = (uint8_t)(n >> 8);
	out[off + 1] = (uint8_t)n;
	off += 2;
	for (size_t i = 0; i < n; i++)
		off = ref_put_lp(out, off, units[i]);
	return off;
}

/* The HKDF info of one wrap. Returns its length. */
static size_t __attribute__((unused))
ref_info(uint32_t suite, const uint8_t eph_public[32], const uint8_t rcpt_public[32],
    const char *unit, const uint8_t *ad, size_t adlen, uint8_t out[REF_INFO_MAX])
{
	size_t off = strlen("cluebus seal wrap");

	memcpy(out, "cluebus seal wrap", off);
	off = ref_put_be32(out, off, suite);
	memcpy(out + off, eph_public, 32);
	memcpy(out + off + 32, rcpt_public, 32);
	off = ref_put_lp(out, off + 64, unit);
	ref_need(EVP_Digest(ad, adlen, out + off, NULL, EVP_sha256(), NULL) == 1, "SHA-256");
	return off + 32;
}

/* X25519 public key of a private scalar. */
static void __attribute__((unused))
ref_public(const uint8_t private_key[32], uint8_t out[32])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, private_key, 32);
	size_t len = 32;

	ref_need(k != NULL && EVP_PKEY_get_raw_public_key(k, out, &len) == 1 && len == 32,
	    "X25519 public key");
	EVP_PKEY_free(k);
}

/* Z = X25519(private_key, peer_public). */
static void __attribute__((unused))
ref_x25519(const uint8_t private_key[32], const uint8_t peer_public[32], uint8_t z[32])
{
	EVP_PKEY *own = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, private_key, 32);
	EVP_PKEY *peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer_public, 32);
	EVP_PKEY_CTX *ctx = own != NULL ? EVP_PKEY_CTX_new(own, NULL) : NULL;
	size_t len = 32;

	ref_need(ctx != NULL && peer != NULL && EVP_PKEY_derive_init(ctx) == 1 &&
	    EVP_PKEY_derive_set_peer(ctx, peer) == 1 && EVP_PKEY_derive(ctx, z, &len) == 1 &&
	    len == 32, "X25519");
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	EVP_PKEY_free(own);
}

/* KEK || wrap nonce = HKDF-SHA256(no salt, Z, info, 44). */
static void __attribute__((unused))
ref_hkdf(const uint8_t z[32], const uint8_t *info, size_t infolen, uint8_t out[44])
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM p[4];

	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)z, 32);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, infolen);
	p[3] = OSSL_PARAM_construct_end();
	ref_need(ctx != NULL && EVP_KDF_derive(ctx, out, 44, p) == 1, "HKDF");
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
}

/* out = AES-256-GCM ciphertext || 16-byte tag. */
static void __attribute__((unused))
ref_gcm(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *ad, size_t adlen,
    const uint8_t *in, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl;

	ref_need(ctx != NULL && EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
	    (adlen == 0 || EVP_EncryptUpdate(ctx, NULL, &outl, ad, (int)adlen) == 1) &&
	    (len == 0 || EVP_EncryptUpdate(ctx, out, &outl, in, (int)len) == 1) &&
	    EVP_EncryptFinal_ex(ctx, out + len, &outl) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out + len) == 1, "AES-256-GCM");
	EVP_CIPHER_CTX_free(ctx);
}

#endif

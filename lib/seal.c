/* lib/seal.c — suite 1 sealing: X25519 + HKDF-SHA256 + AES-256-GCM through OpenSSL 3 EVP.
 *
 * docs/sealing.md is the specification, precise enough for another implementation; this file
 * follows it. In short, for a message id M, sender S and recipients sorted by unit id:
 *
 *   AD    = "cluebus seal content" || be32(suite) || M || lp(S) || be16(n) || lp(u1) .. lp(un)
 *   C||T  = AES-256-GCM(CEK, nonce, AD, plaintext)              CEK, nonce random per message
 *   per recipient i (fresh ephemeral key pair e_i):
 *     Z    = X25519(e_i, pk_i)
 *     info = "cluebus seal wrap" || be32(suite) || epk_i || pk_i || lp(u_i) || SHA-256(AD)
 *     KEK||WN = HKDF-SHA256(salt = none, IKM = Z, info, 44 bytes)
 *     W_i  = AES-256-GCM(KEK, WN, no AD, CEK)                   32 bytes + 16-byte tag
 *
 * where lp(x) = be16(len x) || x. Invariants: (1) every size from outside is bounded before
 * anything is allocated (seal_check runs first on every path that reads a Sealed); (2) a
 * Sealed leaving seal_encrypt has its keys strictly sorted by unit id, which is also what
 * seal_check demands, so the recipient set has one canonical form; (3) content keys, key
 * encryption keys, shared secrets and ephemeral private keys are wiped with OPENSSL_cleanse
 * before their memory is released, and a plaintext is released only through
 * seal_plain_free; (4) from OpenSSL only 1 is success, and the only OpenSSL failures
 * reported as CB_EBADSIG are a failed tag check and an X25519 refusal of a sender's
 * ephemeral key (an all-zero shared secret), both statements about the input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "seal.h"
#include "util.h"

#define LABEL_CONTENT	"cluebus seal content"
#define LABEL_WRAP	"cluebus seal wrap"
#define SEAL_HASH_LEN	32
#define UNIT_MAX	32
/* Label, suite, message id, sender and up to SEAL_MAX_RECIPIENTS unit ids, each with its
 * 2-byte length, and the 2-byte count. */
#define AD_MAX		(sizeof(LABEL_CONTENT) + 4 + SEAL_MESSAGE_ID_LEN + 2 + UNIT_MAX + 2 + \
			 SEAL_MAX_RECIPIENTS * (2 + UNIT_MAX))
#define INFO_MAX	(sizeof(LABEL_WRAP) + 4 + 2 * SEALKEY_PUBLIC_LEN + 2 + UNIT_MAX + \
			 SEAL_HASH_LEN)

/* A recipient while sealing, kept in unit order. */
struct seal_slot {
	const char	*unit;
	const sealkey_t	*key;
	const uint8_t	*eph_private;	/* NULL: draw a fresh ephemeral key */
};

/* The AD of the content and its hash, which the key wraps bind. */
struct seal_ad {
	uint8_t		bytes[AD_MAX];
	size_t		len;
	uint8_t		hash[SEAL_HASH_LEN];
};

static void
put_be16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Appends lp(s) at buf+*off; the callers' bounds (unit ids of at most UNIT_MAX) make room. */
static void
put_lp(uint8_t *buf, size_t *off, const char *s)
{
	size_t len = strlen(s);

	put_be16(buf + *off, len);
	memcpy(buf + *off + 2, s, len);
	*off += 2 + len;
}

/* Builds the content AD over units[0..n), already sorted and valid. Returns 0 or
 * CB_ECRYPTO. */
static int
seal_ad_build(struct seal_ad *ad, uint32_t suite, const seal_binding_t *b,
    const char *const *units, size_t n)
{
	size_t off = sizeof(LABEL_CONTENT) - 1;

	memcpy(ad->bytes, LABEL_CONTENT, off);
	put_be32(ad->bytes + off, suite);
	off += 4;
	memcpy(ad->bytes + off, b->message_id, SEAL_MESSAGE_ID_LEN);
	off += SEAL_MESSAGE_ID_LEN;
	put_lp(ad->bytes, &off, b->sender);
	put_be16(ad->bytes + off, n);
	off += 2;
	for (size_t i = 0; i < n; i++)
		put_lp(ad->bytes, &off, units[i]);
	ad->len = off;
	if (EVP_Digest(ad->bytes, ad->len, ad->hash, NULL, EVP_sha256(), NULL) != 1)
		return CB_ECRYPTO;
	return 0;
}

/* X25519 between `own` (private) and `peer`, then HKDF into kek[32] || wnonce[12]. A
 * shared secret OpenSSL refuses to compute (all zero: a small-order peer key) is the
 * peer's fault: CB_EBADSIG. Returns 0, CB_EBADSIG, CB_ENOMEM or CB_ECRYPTO. */
static int
seal_derive(EVP_PKEY *own, EVP_PKEY *peer, const uint8_t eph_public[SEALKEY_PUBLIC_LEN],
    const uint8_t rcpt_public[SEALKEY_PUBLIC_LEN], const char *unit, const struct seal_ad *ad,
    uint8_t kek[SEAL_KEY_LEN], uint8_t wnonce[SEAL_NONCE_LEN])
{
	uint8_t	 shared[32], okm[SEAL_KEY_LEN + SEAL_NONCE_LEN], info[INFO_MAX];
	size_t	 shared_len = sizeof(shared), off = sizeof(LABEL_WRAP) - 1;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_KDF_CTX *kctx = NULL;
	EVP_KDF	*kdf = NULL;
	OSSL_PARAM params[4];
	int	 rc = CB_ENOMEM;

	memcpy(info, LABEL_WRAP, off);
	put_be32(info + off, SEAL_SUITE_X25519_HKDF_SHA256_AES256GCM);
	off += 4;
	memcpy(info + off, eph_public, SEALKEY_PUBLIC_LEN);
	off += SEALKEY_PUBLIC_LEN;
	memcpy(info + off, rcpt_public, SEALKEY_PUBLIC_LEN);
	off += SEALKEY_PUBLIC_LEN;
	put_lp(info, &off, unit);
	memcpy(info + off, ad->hash, SEAL_HASH_LEN);
	off += SEAL_HASH_LEN;

	if ((pctx = EVP_PKEY_CTX_new(own, NULL)) == NULL)
		goto out;
	rc = CB_ECRYPTO;
	if (EVP_PKEY_derive_init(pctx) != 1 || EVP_PKEY_derive_set_peer(pctx, peer) != 1)
		goto out;
	if (EVP_PKEY_derive(pctx, shared, &shared_len) != 1 || shared_len != sizeof(shared)) {
		rc = CB_EBADSIG;
		goto out;
	}
	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL ||
	    (kctx = EVP_KDF_CTX_new(kdf)) == NULL)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, shared, shared_len);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, off);
	params[3] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, okm, sizeof(okm), params) != 1)
		goto out;
	memcpy(kek, okm, SEAL_KEY_LEN);
	memcpy(wnonce, okm + SEAL_KEY_LEN, SEAL_NONCE_LEN);
	rc = 0;
out:
	OPENSSL_cleanse(shared, sizeof(shared));
	OPENSSL_cleanse(okm, sizeof(okm));
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	EVP_PKEY_CTX_free(pctx);
	return rc;
}

/* AES-256-GCM of in[0..len) into out[0..len) and the tag into out[len..len+16). Returns 0,
 * CB_ENOMEM or CB_ECRYPTO. */
static int
gcm_seal(const uint8_t key[SEAL_KEY_LEN], const uint8_t nonce[SEAL_NONCE_LEN],
    const uint8_t *ad, size_t adlen, const uint8_t *in, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx;
	int outl, rc = CB_ECRYPTO;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return CB_ENOMEM;
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) != 1)
		goto out;
	if (adlen > 0 && EVP_EncryptUpdate(ctx, NULL, &outl, ad, (int)adlen) != 1)
		goto out;
	if (len > 0 && (EVP_EncryptUpdate(ctx, out, &outl, in, (int)len) != 1 ||
	    (size_t)outl != len))
		goto out;
	if (EVP_EncryptFinal_ex(ctx, out + len, &outl) != 1 || outl != 0 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LEN, out + len) != 1)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/* Opens in[0..len) (ciphertext then a 16-byte tag, len >= 16) into out[0..len-16). On a
 * failed tag `out` is wiped. Returns 0, CB_EBADSIG, CB_ENOMEM or CB_ECRYPTO. */
static int
gcm_open(const uint8_t key[SEAL_KEY_LEN], const uint8_t nonce[SEAL_NONCE_LEN],
    const uint8_t *ad, size_t adlen, const uint8_t *in, size_t len, uint8_t *out)
{
	size_t	 clen = len - SEAL_TAG_LEN;
	EVP_CIPHER_CTX *ctx;
	uint8_t	 tag[SEAL_TAG_LEN];
	int	 outl, rc = CB_ECRYPTO;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return CB_ENOMEM;
	memcpy(tag, in + clen, SEAL_TAG_LEN);
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) != 1)
		goto out;
	if (adlen > 0 && EVP_DecryptUpdate(ctx, NULL, &outl, ad, (int)adlen) != 1)
		goto out;
	if (clen > 0 && (EVP_DecryptUpdate(ctx, out, &outl, in, (int)clen) != 1 ||
	    (size_t)outl != clen))
		goto out;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LEN, tag) != 1)
		goto out;
	if (EVP_DecryptFinal_ex(ctx, out + clen, &outl) != 1) {
		OPENSSL_cleanse(out, clen);
		rc = CB_EBADSIG;
		goto out;
	}
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

static int
slot_cmp(const void *a, const void *b)
{
	return strcmp(((const struct seal_slot *)a)->unit, ((const struct seal_slot *)b)->unit);
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
bytes_dup(ProtobufCBinaryData *dst, const uint8_t *src, size_t len)
{
	if ((dst->data = malloc(len > 0 ? len : 1)) == NULL)
		return CB_ENOMEM;
	if (len > 0)
		memcpy(dst->data, src, len);
	dst->len = len;
	return 0;
}

/* Checks the caller's arguments and sorts them into `slots`. Returns 0, CB_EINVAL or
 * CB_ETOOBIG with `err` set. */
static int
seal_args(const seal_binding_t *b, const seal_recipient_t *rcpt, size_t n, const void *plain,
    size_t len, const uint8_t (*eph_private)[SEALKEY_PRIVATE_LEN], struct seal_slot *slots,
    cb_error_t *err)
{
	if (b == NULL || b->message_id == NULL || b->sender == NULL ||
	    !unit_id_valid(b->sender)) {
		cb_error_set(err, "sender", "message id missing or sender not a unit id");
		return CB_EINVAL;
	}
	if (n == 0 || n > SEAL_MAX_RECIPIENTS || rcpt == NULL) {
		cb_error_set(err, "recipients", "%zu recipients (1..%d)", n, SEAL_MAX_RECIPIENTS);
		return CB_EINVAL;
	}
	if (plain == NULL && len > 0) {
		cb_error_set(err, "plaintext", "no bytes given for %zu", len);
		return CB_EINVAL;
	}
	if (len > SEAL_MAX_PLAINTEXT) {
		cb_error_set(err, "plaintext", "%zu bytes (at most %d)", len, SEAL_MAX_PLAINTEXT);
		return CB_ETOOBIG;
	}
	for (size_t i = 0; i < n; i++) {
		if (rcpt[i].unit == NULL || !unit_id_valid(rcpt[i].unit) || rcpt[i].key == NULL) {
			cb_error_set(err, "recipients", "recipient %zu: bad unit id or no key", i);
			return CB_EINVAL;
		}
		slots[i].unit = rcpt[i].unit;
		slots[i].key = rcpt[i].key;
		slots[i].eph_private = eph_private != NULL ? eph_private[i] : NULL;
	}
	qsort(slots, n, sizeof(slots[0]), slot_cmp);
	for (size_t i = 1; i < n; i++)
		if (strcmp(slots[i - 1].unit, slots[i].unit) == 0) {
			cb_error_set(err, "recipients", "unit %s named twice", slots[i].unit);
			return CB_EINVAL;
		}
	return 0;
}

/* Makes recipient `slot`'s entry: ephemeral key, derivation, wrap of `cek`. Returns 0,
 * CB_ENOMEM or CB_ECRYPTO. */
static int
seal_wrap_one(const struct seal_slot *slot, const struct seal_ad *ad,
    const uint8_t cek[SEAL_KEY_LEN], Cluebus__SealedKey **out)
{
	uint8_t	 eph_public[SEALKEY_PUBLIC_LEN], kek[SEAL_KEY_LEN], wnonce[SEAL_NONCE_LEN];
	uint8_t	 wrapped[SEAL_WRAPPED_LEN];
	size_t	 publen = sizeof(eph_public);
	Cluebus__SealedKey *k = NULL;
	EVP_PKEY *eph;
	int	 rc;

	eph = slot->eph_private != NULL ?
	    EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, slot->eph_private,
	    SEALKEY_PRIVATE_LEN) : EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	if (eph == NULL)
		return CB_ECRYPTO;
	rc = CB_ECRYPTO;
	if (EVP_PKEY_get_raw_public_key(eph, eph_public, &publen) != 1 ||
	    publen != sizeof(eph_public))
		goto out;
	/* A recipient's own public key gives no all-zero secret unless it is of small order:
	 * the directory's fault, reported as a local failure. */
	if ((rc = seal_derive(eph, sealkey_pkey(slot->key), eph_public,
	    sealkey_public(slot->key), slot->unit, ad, kek, wnonce)) != 0) {
		rc = rc == CB_EBADSIG ? CB_ECRYPTO : rc;
		goto out;
	}
	if ((rc = gcm_seal(kek, wnonce, NULL, 0, cek, SEAL_KEY_LEN, wrapped)) != 0)
		goto out;
	rc = CB_ENOMEM;
	if ((k = malloc(sizeof(*k))) == NULL)
		goto out;
	cluebus__sealed_key__init(k);
	if ((k->unit = strdup(slot->unit)) == NULL) {
		k->unit = (char *)protobuf_c_empty_string;
		goto out;
	}
	if (bytes_dup(&k->key_id, sealkey_id(slot->key), SEALKEY_ID_LEN) != 0 ||
	    bytes_dup(&k->ephemeral_public, eph_public, sizeof(eph_public)) != 0 ||
	    bytes_dup(&k->wrapped_key, wrapped, sizeof(wrapped)) != 0)
		goto out;
	*out = k;
	k = NULL;
	rc = 0;
out:
	if (k != NULL)
		cluebus__sealed_key__free_unpacked(k, NULL);
	OPENSSL_cleanse(kek, sizeof(kek));
	OPENSSL_cleanse(wnonce, sizeof(wnonce));
	EVP_PKEY_free(eph);	/* OpenSSL cleanses the ephemeral scalar */
	return rc;
}

static int
seal_build(const seal_binding_t *b, const seal_recipient_t *rcpt, size_t n,
    const void *plain, size_t len, const uint8_t *fixed_cek, const uint8_t *fixed_nonce,
    const uint8_t (*eph_private)[SEALKEY_PRIVATE_LEN], Cluebus__Sealed **out,
    cb_error_t *err)
{
	struct seal_slot slots[SEAL_MAX_RECIPIENTS];
	const char *units[SEAL_MAX_RECIPIENTS];
	uint8_t	 cek[SEAL_KEY_LEN], nonce[SEAL_NONCE_LEN];
	Cluebus__Sealed *s = NULL;
	struct seal_ad ad;
	int	 rc;

	*out = NULL;
	if ((rc = seal_args(b, rcpt, n, plain, len, eph_private, slots, err)) != 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		units[i] = slots[i].unit;
	if (fixed_cek != NULL) {
		memcpy(cek, fixed_cek, sizeof(cek));
		memcpy(nonce, fixed_nonce, sizeof(nonce));
	} else if ((rc = rand_bytes(cek, sizeof(cek))) != 0 ||
	    (rc = rand_bytes(nonce, sizeof(nonce))) != 0) {
		goto out;
	}
	if ((rc = seal_ad_build(&ad, SEAL_SUITE_X25519_HKDF_SHA256_AES256GCM, b, units, n)) != 0)
		goto out;
	rc = CB_ENOMEM;
	if ((s = malloc(sizeof(*s))) == NULL)
		goto out;
	cluebus__sealed__init(s);
	s->suite = SEAL_SUITE_X25519_HKDF_SHA256_AES256GCM;
	if ((s->keys = calloc(n, sizeof(*s->keys))) == NULL ||
	    bytes_dup(&s->nonce, nonce, sizeof(nonce)) != 0 ||
	    (s->ciphertext.data = malloc(len + SEAL_TAG_LEN)) == NULL)
		goto out;
	s->ciphertext.len = len + SEAL_TAG_LEN;
	if ((rc = gcm_seal(cek, nonce, ad.bytes, ad.len, plain, len, s->ciphertext.data)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if ((rc = seal_wrap_one(&slots[i], &ad, cek, &s->keys[i])) != 0)
			goto out;
		s->n_keys = i + 1;
	}
	*out = s;
	s = NULL;
out:
	OPENSSL_cleanse(cek, sizeof(cek));
	seal_free(s);
	if (rc != 0)
		cb_error_set(err, "sealed", "cannot seal: %s", cb_strerror(rc));
	return rc;
}

int
seal_encrypt(const seal_binding_t *b, const seal_recipient_t *rcpt, size_t n,
    const void *plain, size_t len, Cluebus__Sealed **out, cb_error_t *err)
{
	return seal_build(b, rcpt, n, plain, len, NULL, NULL, NULL, out, err);
}

int
seal_encrypt_fixed(const seal_binding_t *b, const seal_recipient_t *rcpt, size_t n,
    const void *plain, size_t len, const uint8_t content_key[SEAL_KEY_LEN],
    const uint8_t nonce[SEAL_NONCE_LEN], const uint8_t (*eph_private)[SEALKEY_PRIVATE_LEN],
    Cluebus__Sealed **out, cb_error_t *err)
{
	if (content_key == NULL || nonce == NULL || eph_private == NULL) {
		cb_error_set(err, "sealed", "fixed content key, nonce and ephemeral keys needed");
		return CB_EINVAL;
	}
	return seal_build(b, rcpt, n, plain, len, content_key, nonce, eph_private, out, err);
}

/* The structure checks that need no key (seal_recipients' contract). */
static int
seal_check(const Cluebus__Sealed *s, const char *units[SEAL_MAX_RECIPIENTS], size_t *n,
    cb_error_t *err)
{
	char	field[64];

	if (s == NULL) {
		cb_error_set(err, "sealed", "absent");
		return CB_EMALFORMED;
	}
	if (s->suite == 0) {
		cb_error_set(err, "sealed.suite", "no suite named");
		return CB_EMALFORMED;
	}
	if (s->suite != SEAL_SUITE_X25519_HKDF_SHA256_AES256GCM) {
		cb_error_set(err, "sealed.suite", "unknown suite %u (%s): this build opens suite "
		    "%d only", s->suite, seal_suite_name(s->suite),
		    SEAL_SUITE_X25519_HKDF_SHA256_AES256GCM);
		return CB_EKEY;
	}
	if (s->n_keys == 0) {
		cb_error_set(err, "sealed.keys", "no recipients");
		return CB_EMALFORMED;
	}
	if (s->n_keys > SEAL_MAX_RECIPIENTS) {
		cb_error_set(err, "sealed.keys", "%zu recipients (at most %d)", s->n_keys,
		    SEAL_MAX_RECIPIENTS);
		return CB_ETOOBIG;
	}
	if (s->nonce.len != SEAL_NONCE_LEN) {
		cb_error_set(err, "sealed.nonce", "%zu bytes (must be %d)", s->nonce.len,
		    SEAL_NONCE_LEN);
		return CB_EMALFORMED;
	}
	if (s->ciphertext.len < SEAL_TAG_LEN) {
		cb_error_set(err, "sealed.ciphertext", "%zu bytes: shorter than its tag",
		    s->ciphertext.len);
		return CB_EMALFORMED;
	}
	if (s->ciphertext.len > SEAL_MAX_PLAINTEXT + SEAL_TAG_LEN) {
		cb_error_set(err, "sealed.ciphertext", "%zu bytes (at most %d)",
		    s->ciphertext.len, SEAL_MAX_PLAINTEXT + SEAL_TAG_LEN);
		return CB_ETOOBIG;
	}
	for (size_t i = 0; i < s->n_keys; i++) {
		const Cluebus__SealedKey *k = s->keys[i];
		const char *why = NULL;

		snprintf(field, sizeof(field), "sealed.keys[%zu]", i);
		if (k == NULL || k->unit == NULL || !unit_id_valid(k->unit))
			why = "unit is not a unit id";
		else if (i > 0 && strcmp(s->keys[i - 1]->unit, k->unit) >= 0)
			why = "recipients not strictly sorted by unit id";
		else if (k->key_id.len != SEALKEY_ID_LEN)
			why = "key id is not 8 bytes";
		else if (k->ephemeral_public.len != SEALKEY_PUBLIC_LEN)
			why = "ephemeral public key is not 32 bytes";
		else if (k->wrapped_key.len != SEAL_WRAPPED_LEN)
			why = "wrapped key is not 48 bytes";
		if (why != NULL) {
			cb_error_set(err, field, "%s", why);
			return CB_EMALFORMED;
		}
		units[i] = k->unit;
	}
	*n = s->n_keys;
	return 0;
}

int
seal_recipients(const Cluebus__Sealed *s, const char *units[SEAL_MAX_RECIPIENTS], size_t *n,
    cb_error_t *err)
{
	return seal_check(s, units, n, err);
}

int
seal_recipients_equal(const Cluebus__Sealed *s, const char *const *units, size_t n)
{
	const char *sorted[SEAL_MAX_RECIPIENTS];

	if (s == NULL || n != s->n_keys || n > SEAL_MAX_RECIPIENTS)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (units[i] == NULL)
			return 0;
		sorted[i] = units[i];
	}
	qsort(sorted, n, sizeof(sorted[0]), str_cmp);
	for (size_t i = 0; i < n; i++)
		if (strcmp(sorted[i], s->keys[i]->unit) != 0)
			return 0;
	return 1;
}

/* Unwraps the content key of entry `k` with the unit's private key. Returns 0, CB_EBADSIG,
 * CB_ENOMEM or CB_ECRYPTO, with `err` set. */
static int
seal_unwrap(const Cluebus__SealedKey *k, size_t idx, const char *unit, const sealkey_t *key,
    const struct seal_ad *ad, uint8_t cek[SEAL_KEY_LEN], cb_error_t *err)
{
	uint8_t	 kek[SEAL_KEY_LEN], wnonce[SEAL_NONCE_LEN];
	char	 field[64];
	EVP_PKEY *eph;
	int	 rc;

	eph = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, k->ephemeral_public.data,
	    SEALKEY_PUBLIC_LEN);
	if (eph == NULL)
		return CB_ENOMEM;
	rc = seal_derive(sealkey_pkey(key), eph, k->ephemeral_public.data, sealkey_public(key),
	    unit, ad, kek, wnonce);
	if (rc == CB_EBADSIG) {
		snprintf(field, sizeof(field), "sealed.keys[%zu].ephemeral_public", idx);
		cb_error_set(err, field, "gives no shared secret");
	} else if (rc == 0 && (rc = gcm_open(kek, wnonce, NULL, 0, k->wrapped_key.data,
	    SEAL_WRAPPED_LEN, cek)) == CB_EBADSIG) {
		snprintf(field, sizeof(field), "sealed.keys[%zu].wrapped_key", idx);
		cb_error_set(err, field, "does not authenticate (damaged, or moved from another "
		    "message, sender or recipient set)");
	}
	OPENSSL_cleanse(kek, sizeof(kek));
	OPENSSL_cleanse(wnonce, sizeof(wnonce));
	EVP_PKEY_free(eph);
	return rc;
}

int
seal_open(const Cluebus__Sealed *s, const seal_binding_t *b, const char *unit,
    const sealkey_t *key, uint8_t **plain, size_t *len, cb_error_t *err)
{
	const char *units[SEAL_MAX_RECIPIENTS];
	const Cluebus__SealedKey *mine = NULL;
	char	 want[2 * SEALKEY_ID_LEN + 1], have[2 * SEALKEY_ID_LEN + 1], field[64];
	uint8_t	 cek[SEAL_KEY_LEN], *out = NULL;
	struct seal_ad ad;
	size_t	 n, idx = 0, plen = 0;
	int	 rc;

	*plain = NULL;
	*len = 0;
	if (b == NULL || b->message_id == NULL || b->sender == NULL || unit == NULL ||
	    key == NULL || !sealkey_has_private(key)) {
		cb_error_set(err, "sealed", "binding, unit or private key missing");
		return CB_EINVAL;
	}
	if ((rc = seal_check(s, units, &n, err)) != 0)
		return rc;
	for (size_t i = 0; i < n && mine == NULL; i++)
		if (strcmp(units[i], unit) == 0) {
			mine = s->keys[i];
			idx = i;
		}
	if (mine == NULL) {
		cb_error_set(err, "sealed.keys", "unit %s is not a recipient",
		    unit_id_valid(unit) ? unit : "(invalid)");
		return CB_ENOTFOUND;
	}
	if (CRYPTO_memcmp(mine->key_id.data, sealkey_id(key), SEALKEY_ID_LEN) != 0) {
		hex_encode(mine->key_id.data, SEALKEY_ID_LEN, want);
		hex_encode(sealkey_id(key), SEALKEY_ID_LEN, have);
		snprintf(field, sizeof(field), "sealed.keys[%zu].key_id", idx);
		cb_error_set(err, field, "sealed to key %s of unit %s, not to key %s", want, unit,
		    have);
		return CB_ENOTFOUND;
	}
	if (!unit_id_valid(b->sender)) {
		cb_error_set(err, "sender", "not a unit id");
		return CB_EINVAL;
	}
	if ((rc = seal_ad_build(&ad, s->suite, b, units, n)) != 0 ||
	    (rc = seal_unwrap(mine, idx, unit, key, &ad, cek, err)) != 0)
		goto out;
	plen = s->ciphertext.len - SEAL_TAG_LEN;
	rc = CB_ENOMEM;
	if ((out = malloc(plen + 1)) == NULL)
		goto out;
	rc = gcm_open(cek, s->nonce.data, ad.bytes, ad.len, s->ciphertext.data,
	    s->ciphertext.len, out);
	if (rc == CB_EBADSIG)
		cb_error_set(err, "sealed.ciphertext", "does not authenticate (damaged, or moved "
		    "from another message, sender or recipient set)");
	if (rc != 0)
		goto out;
	out[plen] = '\0';
	*plain = out;
	*len = plen;
	out = NULL;
out:
	OPENSSL_cleanse(cek, sizeof(cek));
	seal_plain_free(out, plen);
	if (rc != 0 && rc != CB_EBADSIG)
		cb_error_set(err, "sealed", "cannot open: %s", cb_strerror(rc));
	return rc;
}

void
seal_free(Cluebus__Sealed *s)
{
	if (s != NULL)
		cluebus__sealed__free_unpacked(s, NULL);
}

void
seal_plain_free(uint8_t *plain, size_t len)
{
	if (plain == NULL)
		return;
	OPENSSL_cleanse(plain, len);
	free(plain);
}

const char *
seal_suite_name(uint32_t suite)
{
	switch (suite) {
	case SEAL_SUITE_X25519_HKDF_SHA256_AES256GCM:
		return "x25519-hkdf-sha256-aes256gcm";
	case SEAL_SUITE_SM2_SM3_SM4:
		return "sm2-sm3-sm4 (reserved)";
	default:
		return "unknown";
	}
}

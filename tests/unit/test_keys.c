/* tests/unit/test_keys.c — Ed25519 keys: generation, signing, verification and key files.
 *
 * A signature must stop verifying when any byte of the message changes, under any other key,
 * and when it is not exactly 64 bytes. keys.c signs with libsodium; its signatures must be
 * byte for byte the ones OpenSSL's EVP makes for the same key and message (Ed25519 is
 * deterministic) and RFC 8032's test vectors. A private key file is written 0600, never over an
 * existing file, and refused when group or world may read it. A key id is a pure function of
 * the public key, so it is the same whichever file the key came from. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "cluebus/err.h"
#include "keys.h"

struct keydir {
	char	dir[64];
	char	priv[128];
	char	pub[128];
	char	other[128];
};

static const char message[] = "鞍山市反拐办: clue 2026-0042 from health, jurisdiction 210302";

static int
keydir_setup(void **state)
{
	struct keydir *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return -1;
	snprintf(d->dir, sizeof(d->dir), "/tmp/cb-test-keys.XXXXXX");
	if (mkdtemp(d->dir) == NULL) {
		free(d);
		return -1;
	}
	snprintf(d->priv, sizeof(d->priv), "%s/unit.key", d->dir);
	snprintf(d->pub, sizeof(d->pub), "%s/unit.pub", d->dir);
	snprintf(d->other, sizeof(d->other), "%s/other.pem", d->dir);
	*state = d;
	return 0;
}

static int
keydir_teardown(void **state)
{
	struct keydir *d = *state;

	unlink(d->priv);
	unlink(d->pub);
	unlink(d->other);
	rmdir(d->dir);
	free(d);
	return 0;
}

static cb_key_t *
generate(void)
{
	cb_key_t *k = NULL;

	assert_int_equal(key_generate(&k), 0);
	assert_non_null(k);
	assert_true(key_has_private(k));
	return k;
}

static mode_t
file_mode(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

/* Writes `pkey` as PEM with OpenSSL's own writer (any key type), private or public, to
 * `path`, mode 0600. */
static void
write_foreign_pem(EVP_PKEY *pkey, const char *path, int private)
{
	FILE *f;

	unlink(path);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(chmod(path, 0600), 0);
	if (private)
		assert_int_equal(PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL), 1);
	else
		assert_int_equal(PEM_write_PUBKEY(f, pkey), 1);
	assert_int_equal(fclose(f), 0);
}

static void
write_text(const char *path, const char *text, mode_t mode)
{
	FILE *f;

	unlink(path);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* ---- signing and verifying -------------------------------------------------------------- */

static void
test_a_generated_key_signs_and_its_signature_verifies(void **state)
{
	uint8_t sig[KEY_SIG_LEN], again[KEY_SIG_LEN];
	cb_key_t *k = generate();

	(void)state;
	assert_int_equal(key_sign(k, message, sizeof(message), sig), 0);
	assert_int_equal(key_verify(k, message, sizeof(message), sig, sizeof(sig)), 0);
	/* Ed25519 is deterministic: the same message gives the same signature. */
	assert_int_equal(key_sign(k, message, sizeof(message), again), 0);
	assert_memory_equal(sig, again, KEY_SIG_LEN);
	/* The empty message is a message too. */
	assert_int_equal(key_sign(k, "", 0, sig), 0);
	assert_int_equal(key_verify(k, "", 0, sig, sizeof(sig)), 0);
	key_free(k);
}

static void
test_flipping_any_one_byte_of_the_message_breaks_the_signature(void **state)
{
	uint8_t sig[KEY_SIG_LEN], copy[sizeof(message)];
	cb_key_t *k = generate();

	(void)state;
	assert_int_equal(key_sign(k, message, sizeof(message), sig), 0);
	for (size_t i = 0; i < sizeof(message); i++) {
		memcpy(copy, message, sizeof(message));
		copy[i] ^= 0x01;
		if (key_verify(k, copy, sizeof(copy), sig, sizeof(sig)) != CB_EBADSIG)
			fail_msg("a flipped bit at offset %zu still verifies", i);
	}
	/* One byte shorter or longer is a different message as well. */
	assert_int_equal(key_verify(k, message, sizeof(message) - 1, sig, sizeof(sig)),
	    CB_EBADSIG);
	key_free(k);
}

static void
test_flipping_any_one_byte_of_the_signature_breaks_it(void **state)
{
	uint8_t sig[KEY_SIG_LEN], bad[KEY_SIG_LEN];
	cb_key_t *k = generate();

	(void)state;
	assert_int_equal(key_sign(k, message, sizeof(message), sig), 0);
	for (size_t i = 0; i < KEY_SIG_LEN; i++) {
		memcpy(bad, sig, sizeof(bad));
		bad[i] ^= 0x80;
		if (key_verify(k, message, sizeof(message), bad, sizeof(bad)) != CB_EBADSIG)
			fail_msg("a flipped signature byte at offset %zu still verifies", i);
	}
	key_free(k);
}

static void
test_a_signature_does_not_verify_under_another_key(void **state)
{
	cb_key_t *a = generate(), *b = generate();
	uint8_t sig[KEY_SIG_LEN];

	(void)state;
	assert_memory_not_equal(key_public(a), key_public(b), KEY_PUBLIC_LEN);
	assert_int_equal(key_sign(a, message, sizeof(message), sig), 0);
	assert_int_equal(key_verify(b, message, sizeof(message), sig, sizeof(sig)),
	    CB_EBADSIG);
	assert_int_equal(key_verify(a, message, sizeof(message), sig, sizeof(sig)), 0);
	key_free(a);
	key_free(b);
}

static void
test_a_signature_of_the_wrong_length_is_refused(void **state)
{
	uint8_t sig[KEY_SIG_LEN + 1];
	cb_key_t *k = generate();

	(void)state;
	assert_int_equal(key_sign(k, message, sizeof(message), sig), 0);
	sig[KEY_SIG_LEN] = 0;
	assert_int_equal(key_verify(k, message, sizeof(message), sig, 63), CB_EBADSIG);
	assert_int_equal(key_verify(k, message, sizeof(message), sig, 65), CB_EBADSIG);
	assert_int_equal(key_verify(k, message, sizeof(message), sig, 0), CB_EBADSIG);
	assert_int_equal(key_verify(k, message, sizeof(message), NULL, KEY_SIG_LEN),
	    CB_EBADSIG);
	assert_int_equal(key_verify(k, message, sizeof(message), sig, KEY_SIG_LEN), 0);
	key_free(k);
}

static void
test_a_public_only_key_verifies_but_cannot_sign(void **state)
{
	cb_key_t *k = generate(), *pub = NULL;
	uint8_t sig[KEY_SIG_LEN];

	(void)state;
	assert_int_equal(key_from_public(key_public(k), KEY_PUBLIC_LEN, &pub), 0);
	assert_false(key_has_private(pub));
	assert_memory_equal(key_id(pub), key_id(k), KEY_ID_LEN);
	assert_int_equal(key_sign(k, message, sizeof(message), sig), 0);
	assert_int_equal(key_verify(pub, message, sizeof(message), sig, sizeof(sig)), 0);
	assert_int_equal(key_sign(pub, message, sizeof(message), sig), CB_EINVAL);
	key_free(pub);
	key_free(k);
}

static void
test_a_raw_public_key_must_be_exactly_32_bytes(void **state)
{
	uint8_t raw[KEY_PUBLIC_LEN + 1] = { 0 };
	cb_key_t *k = (cb_key_t *)1;

	(void)state;
	assert_int_equal(key_from_public(raw, KEY_PUBLIC_LEN - 1, &k), CB_EKEY);
	assert_int_equal(key_from_public(raw, KEY_PUBLIC_LEN + 1, &k), CB_EKEY);
	assert_int_equal(key_from_public(NULL, KEY_PUBLIC_LEN, &k), CB_EKEY);
	assert_ptr_equal(k, (cb_key_t *)1);
}

static void
test_the_key_id_is_the_first_8_bytes_of_sha256_of_the_public_key(void **state)
{
	uint8_t digest[32];
	cb_key_t *k = generate();

	(void)state;
	assert_int_equal(EVP_Digest(key_public(k), KEY_PUBLIC_LEN, digest, NULL, EVP_sha256(),
	    NULL), 1);
	assert_memory_equal(key_id(k), digest, KEY_ID_LEN);
	key_free(k);
}

/* ---- libsodium's signatures are OpenSSL's ---------------------------------------------- */

/* The lengths compared: the empty message, around SHA-512's 64-byte block, a clue's size. */
static const size_t sign_lengths[] = { 0, 1, 63, 64, 65, 600, 4099 };

/* Signs `len` bytes with OpenSSL's EVP, as keys.c signed before it used libsodium. */
static void
evp_sign(EVP_PKEY *pkey, const uint8_t *msg, size_t len, uint8_t sig[KEY_SIG_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t siglen = KEY_SIG_LEN;

	assert_non_null(ctx);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, msg, len), 1);
	assert_int_equal(siglen, KEY_SIG_LEN);
	EVP_MD_CTX_free(ctx);
}

static int
evp_verify(EVP_PKEY *pkey, const uint8_t *msg, size_t len, const uint8_t sig[KEY_SIG_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	assert_non_null(ctx);
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey), 1);
	ok = EVP_DigestVerify(ctx, sig, KEY_SIG_LEN, msg, len);
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* For each of sign_lengths: key_sign(k) equals OpenSSL's signature with `pkey`, and both
 * libraries verify it. */
static void
assert_signs_as_openssl(const cb_key_t *k, EVP_PKEY *pkey)
{
	static uint8_t msg[4099];
	uint8_t sig[KEY_SIG_LEN], expect[KEY_SIG_LEN];

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 131 + 7);
	for (size_t i = 0; i < sizeof(sign_lengths) / sizeof(sign_lengths[0]); i++) {
		size_t len = sign_lengths[i];

		assert_true(len <= sizeof(msg));
		evp_sign(pkey, msg, len, expect);
		assert_int_equal(key_sign(k, msg, len, sig), 0);
		if (memcmp(sig, expect, KEY_SIG_LEN) != 0)
			fail_msg("the signature of %zu bytes differs from OpenSSL's", len);
		assert_int_equal(key_verify(k, msg, len, sig, sizeof(sig)), 0);
		assert_int_equal(evp_verify(pkey, msg, len, sig), 1);
	}
}

static EVP_PKEY *
read_evp_private(const char *path)
{
	EVP_PKEY *pkey;
	FILE *f;

	assert_non_null(f = fopen(path, "r"));
	pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	assert_int_equal(fclose(f), 0);
	assert_non_null(pkey);
	return pkey;
}

static void
test_a_generated_key_signs_every_length_as_openssl_does(void **state)
{
	struct keydir *d = *state;
	cb_key_t *k = generate(), *loaded = NULL;
	EVP_PKEY *pkey;

	assert_int_equal(key_save_private(k, d->priv), 0);
	pkey = read_evp_private(d->priv);
	assert_signs_as_openssl(k, pkey);
	/* And the same key read back from its file. */
	assert_int_equal(key_load_private(d->priv, &loaded), 0);
	assert_signs_as_openssl(loaded, pkey);
	EVP_PKEY_free(pkey);
	key_free(loaded);
	key_free(k);
}

static void
hex_decode(const char *hex, uint8_t *out, size_t len)
{
	assert_int_equal(strlen(hex), 2 * len);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(sscanf(hex + 2 * i, "%2hhx", &out[i]), 1);
}

static void
test_a_key_file_signs_rfc_8032s_test_vectors_as_openssl_does(void **state)
{
	/* RFC 8032 §7.1, TEST 1 (the empty message) and TEST 2 (one byte, 0x72). */
	static const struct {
		const char	*seed, *pub, *msg, *sig;
	} vec[] = {
		{ "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
		  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
		  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590"
		  "a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b" },
		{ "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
		  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
		  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e"
		  "15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
	};
	struct keydir *d = *state;

	for (size_t v = 0; v < sizeof(vec) / sizeof(vec[0]); v++) {
		uint8_t seed[32], pub[KEY_PUBLIC_LEN], msg[1], expect[KEY_SIG_LEN];
		uint8_t sig[KEY_SIG_LEN];
		size_t msglen = strlen(vec[v].msg) / 2;
		EVP_PKEY *pkey;
		cb_key_t *k = NULL;

		hex_decode(vec[v].seed, seed, sizeof(seed));
		hex_decode(vec[v].pub, pub, sizeof(pub));
		hex_decode(vec[v].msg, msg, msglen);
		hex_decode(vec[v].sig, expect, sizeof(expect));
		pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof(seed));
		assert_non_null(pkey);
		write_foreign_pem(pkey, d->priv, 1);
		assert_int_equal(key_load_private(d->priv, &k), 0);
		assert_memory_equal(key_public(k), pub, KEY_PUBLIC_LEN);
		assert_int_equal(key_sign(k, msg, msglen, sig), 0);
		assert_memory_equal(sig, expect, KEY_SIG_LEN);
		assert_signs_as_openssl(k, pkey);
		EVP_PKEY_free(pkey);
		key_free(k);
	}
}

static void
test_a_key_from_a_public_key_file_cannot_sign(void **state)
{
	struct keydir *d = *state;
	cb_key_t *k = generate(), *pub = NULL;
	uint8_t sig[KEY_SIG_LEN];

	assert_int_equal(key_save_public(k, d->pub), 0);
	assert_int_equal(key_load_public(d->pub, &pub), 0);
	assert_false(key_has_private(pub));
	assert_int_equal(key_sign(pub, message, sizeof(message), sig), CB_EINVAL);
	assert_int_equal(key_sign(pub, "", 0, sig), CB_EINVAL);
	key_free(pub);
	key_free(k);
}

/* ---- key files -------------------------------------------------------------------------- */

static void
test_a_private_key_saved_with_mode_0600_loads_back_and_signs_the_same(void **state)
{
	struct keydir *d = *state;
	cb_key_t *k = generate(), *loaded = NULL;
	uint8_t sig[KEY_SIG_LEN], sig2[KEY_SIG_LEN];

	assert_int_equal(key_save_private(k, d->priv), 0);
	assert_int_equal(file_mode(d->priv), 0600);
	assert_int_equal(key_load_private(d->priv, &loaded), 0);
	assert_true(key_has_private(loaded));
	assert_memory_equal(key_public(loaded), key_public(k), KEY_PUBLIC_LEN);
	assert_memory_equal(key_id(loaded), key_id(k), KEY_ID_LEN);
	assert_int_equal(key_sign(loaded, message, sizeof(message), sig), 0);
	assert_int_equal(key_sign(k, message, sizeof(message), sig2), 0);
	assert_memory_equal(sig, sig2, KEY_SIG_LEN);
	assert_int_equal(key_verify(k, message, sizeof(message), sig, sizeof(sig)), 0);
	key_free(loaded);
	key_free(k);
}

static void
test_a_private_key_file_that_group_or_world_may_access_is_refused(void **state)
{
	static const mode_t unsafe[] = { 0640, 0604, 0660, 0644, 0610, 0601, 0602, 0620 };
	struct keydir *d = *state;
	cb_key_t *k = generate(), *loaded = NULL;

	assert_int_equal(key_save_private(k, d->priv), 0);
	for (size_t i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++) {
		assert_int_equal(chmod(d->priv, unsafe[i]), 0);
		if (key_load_private(d->priv, &loaded) != CB_EPERM)
			fail_msg("a key file of mode %04o is not refused with CB_EPERM",
			    (unsigned)unsafe[i]);
		assert_null(loaded);
	}
	/* Owner-only modes stricter than 0600 are fine. */
	assert_int_equal(chmod(d->priv, 0400), 0);
	assert_int_equal(key_load_private(d->priv, &loaded), 0);
	assert_memory_equal(key_id(loaded), key_id(k), KEY_ID_LEN);
	key_free(loaded);
	key_free(k);
}

static void
test_saving_a_private_key_never_overwrites_an_existing_file(void **state)
{
	struct keydir *d = *state;
	cb_key_t *first = generate(), *second = generate(), *loaded = NULL;

	assert_int_equal(key_save_private(first, d->priv), 0);
	assert_int_equal(key_save_private(second, d->priv), CB_EEXIST);
	assert_int_equal(key_load_private(d->priv, &loaded), 0);
	assert_memory_equal(key_id(loaded), key_id(first), KEY_ID_LEN);
	key_free(loaded);
	/* Nor a file that is not a key. */
	write_text(d->other, "not a key\n", 0600);
	assert_int_equal(key_save_private(second, d->other), CB_EEXIST);
	key_free(second);
	key_free(first);
}

static void
test_a_public_only_key_cannot_be_saved_as_a_private_key(void **state)
{
	struct keydir *d = *state;
	cb_key_t *k = generate(), *pub = NULL;

	assert_int_equal(key_from_public(key_public(k), KEY_PUBLIC_LEN, &pub), 0);
	assert_int_equal(key_save_private(pub, d->priv), CB_EINVAL);
	assert_int_equal(access(d->priv, F_OK), -1);
	key_free(pub);
	key_free(k);
}

static void
test_the_key_id_is_the_same_from_the_public_key_file_and_the_private_key(void **state)
{
	struct keydir *d = *state;
	cb_key_t *k = generate(), *pub = NULL, *priv = NULL;
	uint8_t sig[KEY_SIG_LEN];

	assert_int_equal(key_save_private(k, d->priv), 0);
	assert_int_equal(key_save_public(k, d->pub), 0);
	assert_int_equal(file_mode(d->pub), 0644);
	assert_int_equal(key_load_public(d->pub, &pub), 0);
	assert_int_equal(key_load_private(d->priv, &priv), 0);
	assert_false(key_has_private(pub));
	assert_memory_equal(key_id(pub), key_id(priv), KEY_ID_LEN);
	assert_memory_equal(key_id(pub), key_id(k), KEY_ID_LEN);
	assert_memory_equal(key_public(pub), key_public(priv), KEY_PUBLIC_LEN);
	assert_int_equal(key_sign(priv, message, sizeof(message), sig), 0);
	assert_int_equal(key_verify(pub, message, sizeof(message), sig, sizeof(sig)), 0);
	/* Saving the public key again replaces the file. */
	assert_int_equal(key_save_public(k, d->pub), 0);
	key_free(priv);
	key_free(pub);
	key_free(k);
}

static void
test_a_missing_key_file_is_an_io_error(void **state)
{
	struct keydir *d = *state;
	cb_key_t *k = NULL;

	assert_int_equal(key_load_private(d->priv, &k), CB_EIO);
	assert_int_equal(key_load_public(d->pub, &k), CB_EIO);
	assert_int_equal(key_load_private(d->dir, &k), CB_EIO);	/* a directory */
	assert_null(k);
}

static void
test_a_file_that_is_not_a_pem_key_is_refused_as_a_bad_key(void **state)
{
	struct keydir *d = *state;
	cb_key_t *k = NULL;

	write_text(d->priv, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
	    0600);
	assert_int_equal(key_load_private(d->priv, &k), CB_EKEY);
	write_text(d->pub, "", 0644);
	assert_int_equal(key_load_public(d->pub, &k), CB_EKEY);
	assert_null(k);
}

static void
test_a_key_of_another_algorithm_is_refused_as_a_bad_key(void **state)
{
	struct keydir *d = *state;
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *x = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	cb_key_t *k = NULL;

	assert_non_null(ec);
	assert_non_null(x);
	write_foreign_pem(ec, d->priv, 1);
	assert_int_equal(key_load_private(d->priv, &k), CB_EKEY);
	write_foreign_pem(x, d->pub, 0);
	assert_int_equal(key_load_public(d->pub, &k), CB_EKEY);
	write_foreign_pem(x, d->other, 1);
	assert_int_equal(key_load_private(d->other, &k), CB_EKEY);
	assert_null(k);
	EVP_PKEY_free(x);
	EVP_PKEY_free(ec);
}

static void
test_freeing_a_null_key_does_nothing(void **state)
{
	(void)state;
	key_free(NULL);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_generated_key_signs_and_its_signature_verifies),
		cmocka_unit_test(test_flipping_any_one_byte_of_the_message_breaks_the_signature),
		cmocka_unit_test(test_flipping_any_one_byte_of_the_signature_breaks_it),
		cmocka_unit_test(test_a_signature_does_not_verify_under_another_key),
		cmocka_unit_test(test_a_signature_of_the_wrong_length_is_refused),
		cmocka_unit_test(test_a_public_only_key_verifies_but_cannot_sign),
		cmocka_unit_test(test_a_raw_public_key_must_be_exactly_32_bytes),
		cmocka_unit_test(test_the_key_id_is_the_first_8_bytes_of_sha256_of_the_public_key),
		cmocka_unit_test_setup_teardown(
		    test_a_private_key_saved_with_mode_0600_loads_back_and_signs_the_same,
		    keydir_setup, keydir_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_private_key_file_that_group_or_world_may_access_is_refused,
		    keydir_setup, keydir_teardown),
		cmocka_unit_test_setup_teardown(
		    test_saving_a_private_key_never_overwrites_an_existing_file,
		    keydir_setup, keydir_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_public_only_key_cannot_be_saved_as_a_private_key,
		    keydir_setup, keydir_teardown),
		cmocka_unit_test_setup_teardown(
		    test_the_key_id_is_the_same_from_the_public_key_file_and_the_private_key,
		    keydir_setup, keydir_teardown),
		cmocka_unit_test_setup_teardown(test_a_missing_key_file_is_an_io_error,
		    keydir_setup, keydir_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_file_that_is_not_a_pem_key_is_refused_as_a_bad_key,
		    keydir_setup, keydir_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_key_of_another_algorithm_is_refused_as_a_bad_key,
		    keydir_setup, keydir_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_generated_key_signs_every_length_as_openssl_does,
		    keydir_setup, keydir_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_key_file_signs_rfc_8032s_test_vectors_as_openssl_does,
		    keydir_setup, keydir_teardown),
		cmocka_unit_test_setup_teardown(test_a_key_from_a_public_key_file_cannot_sign,
		    keydir_setup, keydir_teardown),
		cmocka_unit_test(test_freeing_a_null_key_does_nothing),
	};

	umask(022);	/* the modes asserted below are the ones a default umask gives */
	return cmocka_run_group_tests_name("keys", tests, NULL, NULL);
}

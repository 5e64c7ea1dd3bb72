/* tests/unit/test_seal.c — sealing keys and sealed personal data (lib/sealkey.c, lib/seal.c).
 *
 * What a seal promises: every recipient opens it and gets the bytes back; nobody else does;
 * any change to the sealed bytes, or moving them to another message id, sender or
 * recipient set, makes opening fail with CB_EBADSIG; a suite this build does not know is
 * CB_EKEY; a unit outside the set, or a key the message was not sealed to (rotation), is
 * CB_ENOTFOUND; a malformed structure is CB_EMALFORMED / CB_ETOOBIG naming the field. Key
 * files are 0600 and refused when group or world may read them. The test vector printed in
 * docs/sealing.md is recomputed here from its seeds, step by step, so the document cannot
 * drift from the code. */
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

#include "../tools/seal_reference.h"
#include "cluebus/err.h"
#include "cluebus.pb-c.h"
#include "keys.h"
#include "seal.h"
#include "sealkey.h"
#include "util.h"

#define MAX_UNITS	41

/* A set of units with sealing keys, and one sealed sample. */
struct fixture {
	char		 units[MAX_UNITS][16];
	sealkey_t	*keys[MAX_UNITS];
	seal_recipient_t rcpt[MAX_UNITS];
	uint8_t		 message_id[SEAL_MESSAGE_ID_LEN];
	seal_binding_t	 binding;
};

static const char sample[] = "{\"persons\":[{\"role\":\"victim\",\"name\":\"测试乙\","
    "\"id_number\":\"210302201503040020\",\"age\":11}],\"summary\":\"synthetic\"}";

static int
fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	for (size_t i = 0; i < MAX_UNITS; i++) {
		/* Given out of order on purpose: seal_encrypt sorts. */
		snprintf(f->units[i], sizeof(f->units[i]), "unit-%02zu", (i * 7) % MAX_UNITS);
		if (sealkey_generate(&f->keys[i]) != 0)
			return -1;
		f->rcpt[i].unit = f->units[i];
		f->rcpt[i].key = f->keys[i];
	}
	for (size_t i = 0; i < sizeof(f->message_id); i++)
		f->message_id[i] = (uint8_t)(0xa0 + i);
	f->binding.message_id = f->message_id;
	f->binding.sender = "health";
	*state = f;
	return 0;
}

static int
fixture_teardown(void **state)
{
	struct fixture *f = *state;

	for (size_t i = 0; i < MAX_UNITS; i++)
		sealkey_free(f->keys[i]);
	free(f);
	return 0;
}

static Cluebus__Sealed *
seal_to(struct fixture *f, size_t n, const void *plain, size_t len)
{
	Cluebus__Sealed *s = NULL;
	cb_error_t err;

	if (seal_encrypt(&f->binding, f->rcpt, n, plain, len, &s, &err) != 0)
		fail_msg("seal_encrypt: %s: %s", err.field, err.reason);
	assert_non_null(s);
	return s;
}

/* Packs and unpacks `s`, as a receiver gets it. Caller frees with seal_free. */
static Cluebus__Sealed *
through_wire(const Cluebus__Sealed *s)
{
	size_t len = cluebus__sealed__get_packed_size(s);
	uint8_t *buf = malloc(len + 1);
	Cluebus__Sealed *copy;

	assert_non_null(buf);
	cluebus__sealed__pack(s, buf);
	copy = cluebus__sealed__unpack(NULL, len, buf);
	free(buf);
	assert_non_null(copy);
	return copy;
}

/* Opens as recipient i and expects `want` (0: the sample comes back). */
static int
open_as(struct fixture *f, const Cluebus__Sealed *s, size_t i, const seal_binding_t *b,
    cb_error_t *err)
{
	uint8_t *plain = NULL;
	size_t len = 0;
	int rc;

	memset(err, 0, sizeof(*err));
	rc = seal_open(s, b != NULL ? b : &f->binding, f->units[i], f->keys[i], &plain, &len,
	    err);
	if (rc == 0) {
		assert_int_equal(len, sizeof(sample));
		assert_memory_equal(plain, sample, sizeof(sample));
		assert_int_equal(plain[len], '\0');
	} else {
		assert_null(plain);
		assert_int_equal(len, 0);
		assert_true(err->field[0] != '\0' && err->reason[0] != '\0');
	}
	seal_plain_free(plain, len);
	return rc;
}

/* ---- keys -------------------------------------------------------------------------------- */

static void
test_a_sealing_key_id_is_the_first_8_bytes_of_sha256_of_the_raw_public_key(void **state)
{
	uint8_t digest[32];
	sealkey_t *k = NULL, *pub = NULL;

	(void)state;
	assert_int_equal(sealkey_generate(&k), 0);
	assert_true(sealkey_has_private(k));
	assert_int_equal(EVP_Digest(sealkey_public(k), SEALKEY_PUBLIC_LEN, digest, NULL,
	    EVP_sha256(), NULL), 1);
	assert_memory_equal(sealkey_id(k), digest, SEALKEY_ID_LEN);
	/* The same id from the 32 raw bytes the directory carries. */
	assert_int_equal(sealkey_from_public(sealkey_public(k), SEALKEY_PUBLIC_LEN, &pub), 0);
	assert_false(sealkey_has_private(pub));
	assert_memory_equal(sealkey_id(pub), sealkey_id(k), SEALKEY_ID_LEN);
	sealkey_free(pub);
	sealkey_free(k);
}

static void
test_raw_sealing_keys_must_be_exactly_32_bytes(void **state)
{
	uint8_t raw[33] = { 9 };
	sealkey_t *k = NULL;

	(void)state;
	assert_int_equal(sealkey_from_public(raw, 31, &k), CB_EKEY);
	assert_int_equal(sealkey_from_public(raw, 33, &k), CB_EKEY);
	assert_int_equal(sealkey_from_public(NULL, 32, &k), CB_EKEY);
	assert_int_equal(sealkey_from_private(raw, 31, &k), CB_EKEY);
	assert_null(k);
	assert_int_equal(sealkey_from_private(raw, 32, &k), 0);
	assert_true(sealkey_has_private(k));
	sealkey_free(k);
	sealkey_free(NULL);
}

static void
test_a_sealing_key_file_is_0600_and_refused_when_group_or_world_may_read_it(void **state)
{
	char dir[] = "/tmp/cb-test-seal.XXXXXX", priv[64], pub[64];
	sealkey_t *k = NULL, *back = NULL, *pubk = NULL;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(priv, sizeof(priv), "%s/unit.seal", dir);
	snprintf(pub, sizeof(pub), "%s/unit.seal.pub", dir);
	assert_int_equal(sealkey_generate(&k), 0);
	assert_int_equal(sealkey_save_private(k, priv), 0);
	assert_int_equal(stat(priv, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(sealkey_save_private(k, priv), CB_EEXIST);
	assert_int_equal(sealkey_save_public(k, pub), 0);

	assert_int_equal(sealkey_load_private(priv, &back), 0);
	assert_true(sealkey_has_private(back));
	assert_memory_equal(sealkey_public(back), sealkey_public(k), SEALKEY_PUBLIC_LEN);
	assert_memory_equal(sealkey_id(back), sealkey_id(k), SEALKEY_ID_LEN);
	assert_int_equal(sealkey_load_public(pub, &pubk), 0);
	assert_false(sealkey_has_private(pubk));
	assert_memory_equal(sealkey_id(pubk), sealkey_id(k), SEALKEY_ID_LEN);
	assert_int_equal(sealkey_save_private(pubk, priv), CB_EINVAL);

	static const mode_t unsafe[] = { 0640, 0604, 0644, 0660, 0610, 0601 };
	for (size_t i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++) {
		sealkey_t *no = NULL;

		assert_int_equal(chmod(priv, unsafe[i]), 0);
		if (sealkey_load_private(priv, &no) != CB_EPERM)
			fail_msg("a private sealing key of mode %o was loaded", unsafe[i]);
		assert_null(no);
	}
	assert_int_equal(chmod(priv, 0400), 0);
	sealkey_free(back);
	back = NULL;
	assert_int_equal(sealkey_load_private(priv, &back), 0);
	sealkey_t *none = NULL;
	assert_int_equal(sealkey_load_private(dir, &none), CB_EIO);
	assert_null(none);

	sealkey_free(back);
	sealkey_free(pubk);
	sealkey_free(k);
	unlink(priv);
	unlink(pub);
	rmdir(dir);
}

static void
test_an_ed25519_signing_key_file_is_not_a_sealing_key(void **state)
{
	char dir[] = "/tmp/cb-test-seal.XXXXXX", priv[64], pub[64];
	sealkey_t *k = NULL;
	cb_key_t *signing = NULL;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(priv, sizeof(priv), "%s/unit.key", dir);
	snprintf(pub, sizeof(pub), "%s/unit.pub", dir);
	assert_int_equal(key_generate(&signing), 0);
	assert_int_equal(key_save_private(signing, priv), 0);
	assert_int_equal(key_save_public(signing, pub), 0);
	assert_int_equal(sealkey_load_private(priv, &k), CB_EKEY);
	assert_int_equal(sealkey_load_public(pub, &k), CB_EKEY);
	assert_null(k);
	key_free(signing);
	unlink(priv);
	unlink(pub);
	rmdir(dir);
}

/* ---- round trips --------------------------------------------------------------------------- */

static void
round_trip(struct fixture *f, size_t n)
{
	Cluebus__Sealed *s = seal_to(f, n, sample, sizeof(sample)), *r;
	cb_error_t err;

	assert_int_equal(s->suite, SEAL_SUITE_X25519_HKDF_SHA256_AES256GCM);
	assert_int_equal(s->n_keys, n);
	r = through_wire(s);
	for (size_t i = 0; i < n; i++)
		if (open_as(f, r, i, NULL, &err) != 0)
			fail_msg("recipient %s of %zu: %s: %s", f->units[i], n, err.field,
			    err.reason);
	/* Nobody outside: the last fixture unit is never among the first n. */
	assert_int_equal(open_as(f, r, MAX_UNITS - 1, NULL, &err), CB_ENOTFOUND);
	seal_free(r);
	seal_free(s);
}

static void
test_a_seal_to_one_recipient_opens_for_it(void **state)
{
	round_trip(*state, 1);
}

static void
test_a_seal_to_three_recipients_opens_for_each(void **state)
{
	round_trip(*state, 3);
}

static void
test_a_seal_to_forty_recipients_opens_for_each(void **state)
{
	round_trip(*state, 40);
}

static void
test_an_empty_plaintext_seals_and_opens(void **state)
{
	struct fixture *f = *state;
	Cluebus__Sealed *s = NULL;
	uint8_t *plain = NULL;
	size_t len = 1;

	/* An empty SealedPersons serializes to zero bytes. */
	assert_int_equal(seal_encrypt(&f->binding, f->rcpt, 2, "", 0, &s, NULL), 0);
	assert_int_equal(s->ciphertext.len, SEAL_TAG_LEN);
	assert_int_equal(seal_open(s, &f->binding, f->units[1], f->keys[1], &plain, &len, NULL),
	    0);
	assert_int_equal(len, 0);
	assert_non_null(plain);
	seal_plain_free(plain, len);
	seal_free(s);
}

static void
test_two_seals_of_the_same_bytes_differ(void **state)
{
	struct fixture *f = *state;
	Cluebus__Sealed *a = seal_to(f, 2, sample, sizeof(sample));
	Cluebus__Sealed *b = seal_to(f, 2, sample, sizeof(sample));

	assert_memory_not_equal(a->nonce.data, b->nonce.data, SEAL_NONCE_LEN);
	assert_memory_not_equal(a->ciphertext.data, b->ciphertext.data, a->ciphertext.len);
	assert_memory_not_equal(a->keys[0]->ephemeral_public.data,
	    b->keys[0]->ephemeral_public.data, SEALKEY_PUBLIC_LEN);
	/* One fresh ephemeral key per recipient. */
	assert_memory_not_equal(a->keys[0]->ephemeral_public.data,
	    a->keys[1]->ephemeral_public.data, SEALKEY_PUBLIC_LEN);
	seal_free(a);
	seal_free(b);
}

static void
test_a_unit_outside_the_seal_cannot_open_it(void **state)
{
	struct fixture *f = *state;
	Cluebus__Sealed *s = seal_to(f, 3, sample, sizeof(sample));
	uint8_t *plain = NULL;
	size_t len = 0;
	cb_error_t err;

	assert_int_equal(open_as(f, s, 5, NULL, &err), CB_ENOTFOUND);
	assert_non_null(strstr(err.reason, "is not a recipient"));
	assert_non_null(strstr(err.reason, f->units[5]));
	/* Claiming a recipient's unit id with its own key does not help either. */
	assert_int_equal(seal_open(s, &f->binding, f->units[0], f->keys[5], &plain, &len, &err),
	    CB_ENOTFOUND);
	assert_non_null(strstr(err.reason, "not to key"));
	assert_string_equal(err.field, "sealed.keys[0].key_id");	/* unit-00 sorts first */
	assert_null(plain);
	seal_free(s);
}

/* ---- tampering ----------------------------------------------------------------------------- */

/* Flips every bit of `bytes` in turn; opening as recipient 0 must fail with `want`. */
static void
flip_each_bit(struct fixture *f, Cluebus__Sealed *s, ProtobufCBinaryData *bytes,
    const char *what, int want)
{
	cb_error_t err;
	int rc;

	for (size_t bit = 0; bit < bytes->len * 8; bit++) {
		bytes->data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		rc = open_as(f, s, 0, NULL, &err);
		bytes->data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (rc != want)
			fail_msg("%s with bit %zu flipped: %d (%s), not %d", what, bit, rc,
			    cb_strerror(rc), want);
	}
	assert_int_equal(open_as(f, s, 0, NULL, &err), 0);
}

static void
test_every_single_bit_flip_of_the_sealed_bytes_is_refused(void **state)
{
	struct fixture *f = *state;
	Cluebus__Sealed *s = seal_to(f, 3, sample, sizeof(sample));
	Cluebus__SealedKey *mine = NULL;

	for (size_t i = 0; i < s->n_keys; i++)
		if (strcmp(s->keys[i]->unit, f->units[0]) == 0)
			mine = s->keys[i];
	assert_non_null(mine);
	/* The ciphertext's last 16 bytes are its tag. */
	flip_each_bit(f, s, &s->ciphertext, "ciphertext and tag", CB_EBADSIG);
	flip_each_bit(f, s, &s->nonce, "nonce", CB_EBADSIG);
	flip_each_bit(f, s, &mine->wrapped_key, "wrapped key", CB_EBADSIG);
	flip_each_bit(f, s, &mine->ephemeral_public, "ephemeral key", CB_EBADSIG);
	flip_each_bit(f, s, &mine->key_id, "key id", CB_ENOTFOUND);
	seal_free(s);
}

static void
test_a_seal_moved_to_another_message_id_or_sender_does_not_open(void **state)
{
	struct fixture *f = *state;
	Cluebus__Sealed *s = seal_to(f, 3, sample, sizeof(sample));
	uint8_t other_id[SEAL_MESSAGE_ID_LEN];
	seal_binding_t moved;
	cb_error_t err;

	memcpy(other_id, f->message_id, sizeof(other_id));
	other_id[15] ^= 1;
	moved.message_id = other_id;
	moved.sender = f->binding.sender;
	assert_int_equal(open_as(f, s, 1, &moved, &err), CB_EBADSIG);
	assert_non_null(strstr(err.reason, "does not authenticate"));
	moved.message_id = f->message_id;
	moved.sender = "psb";
	assert_int_equal(open_as(f, s, 1, &moved, &err), CB_EBADSIG);
	assert_int_equal(open_as(f, s, 1, NULL, &err), 0);
	seal_free(s);
}

/* Index of unit `u` in s->keys. */
static size_t
key_index(const Cluebus__Sealed *s, const char *u)
{
	for (size_t i = 0; i < s->n_keys; i++)
		if (strcmp(s->keys[i]->unit, u) == 0)
			return i;
	fail_msg("%s is not in the seal", u);
	return 0;
}

static void
test_a_recipient_removed_added_or_renamed_makes_the_seal_refuse_to_open(void **state)
{
	struct fixture *f = *state;
	Cluebus__Sealed *s = seal_to(f, 3, sample, sizeof(sample)), *big;
	Cluebus__SealedKey *saved[4], extra;
	size_t n = s->n_keys, mine = key_index(s, f->units[0]);
	char *unit, renamed[] = "zz-renamed";
	cb_error_t err;

	/* Remove a recipient other than the opener. */
	memcpy(saved, s->keys, n * sizeof(*saved));
	for (size_t i = 0, j = 0; i < n; i++)
		if (i != (mine + 1) % n)
			s->keys[j++] = saved[i];
	s->n_keys = n - 1;
	(void)key_index(s, f->units[0]);
	assert_int_equal(open_as(f, s, 0, NULL, &err), CB_EBADSIG);
	memcpy(s->keys, saved, n * sizeof(*saved));
	s->n_keys = n;
	assert_int_equal(open_as(f, s, 0, NULL, &err), 0);

	/* Rename a recipient other than the opener (kept last in sort order). */
	size_t other = mine == n - 1 ? 0 : n - 1;
	unit = s->keys[other]->unit;
	s->keys[other]->unit = other == n - 1 ? renamed : "a-renamed";
	assert_int_equal(open_as(f, s, 0, NULL, &err), CB_EBADSIG);
	s->keys[other]->unit = unit;

	/* Add a recipient: a copy of another's entry under a new unit id, sorted last. */
	big = through_wire(s);
	extra = *big->keys[other];
	extra.unit = renamed;
	Cluebus__SealedKey **grown = malloc((n + 1) * sizeof(*grown));
	assert_non_null(grown);
	memcpy(grown, big->keys, n * sizeof(*grown));
	grown[n] = &extra;
	Cluebus__SealedKey **orig = big->keys;
	big->keys = grown;
	big->n_keys = n + 1;
	assert_int_equal(open_as(f, big, 0, NULL, &err), CB_EBADSIG);
	big->keys = orig;
	big->n_keys = n;
	free(grown);
	assert_int_equal(open_as(f, big, 0, NULL, &err), 0);
	seal_free(big);
	seal_free(s);
}

static void
test_an_unknown_suite_is_refused_and_named(void **state)
{
	struct fixture *f = *state;
	Cluebus__Sealed *s = seal_to(f, 2, sample, sizeof(sample));
	const char *units[SEAL_MAX_RECIPIENTS];
	cb_error_t err;
	size_t n;

	s->suite = SEAL_SUITE_SM2_SM3_SM4;
	assert_int_equal(open_as(f, s, 0, NULL, &err), CB_EKEY);
	assert_string_equal(err.field, "sealed.suite");
	assert_non_null(strstr(err.reason, "unknown suite 2"));
	assert_non_null(strstr(err.reason, "sm2-sm3-sm4"));
	s->suite = 77;
	assert_int_equal(open_as(f, s, 0, NULL, &err), CB_EKEY);
	assert_non_null(strstr(err.reason, "unknown suite 77"));
	assert_int_equal(seal_recipients(s, units, &n, &err), CB_EKEY);
	/* Absent is not unknown: a Sealed with no suite is malformed. */
	s->suite = 0;
	assert_int_equal(open_as(f, s, 0, NULL, &err), CB_EMALFORMED);
	assert_string_equal(err.field, "sealed.suite");
	s->suite = SEAL_SUITE_X25519_HKDF_SHA256_AES256GCM;
	assert_int_equal(open_as(f, s, 0, NULL, &err), 0);
	assert_string_equal(seal_suite_name(1), "x25519-hkdf-sha256-aes256gcm");
	assert_string_equal(seal_suite_name(0), "unknown");
	seal_free(s);
}

static void
test_a_message_sealed_to_a_rotated_key_opens_with_the_old_key_only(void **state)
{
	struct fixture *f = *state;
	Cluebus__Sealed *s = seal_to(f, 3, sample, sizeof(sample)), *later;
	sealkey_t *old = f->keys[0], *rotated = NULL;
	uint8_t *plain = NULL;
	size_t len = 0;
	cb_error_t err;

	assert_int_equal(sealkey_generate(&rotated), 0);
	f->keys[0] = rotated;
	f->rcpt[0].key = rotated;
	/* The old message: not with the new key, still with the old one. */
	assert_int_equal(open_as(f, s, 0, NULL, &err), CB_ENOTFOUND);
	assert_non_null(strstr(err.reason, "sealed to key"));
	assert_int_equal(seal_open(s, &f->binding, f->units[0], old, &plain, &len, &err), 0);
	assert_memory_equal(plain, sample, sizeof(sample));
	seal_plain_free(plain, len);
	/* A new message, sealed to the new key: the other way round. */
	later = seal_to(f, 3, sample, sizeof(sample));
	assert_int_equal(open_as(f, later, 0, NULL, &err), 0);
	plain = NULL;
	assert_int_equal(seal_open(later, &f->binding, f->units[0], old, &plain, &len, &err),
	    CB_ENOTFOUND);
	assert_null(plain);
	seal_free(later);
	seal_free(s);
	f->keys[0] = old;
	f->rcpt[0].key = old;
	sealkey_free(rotated);
}

/* ---- the recipient set, without a key --------------------------------------------------- */

static void
test_the_recipient_set_is_read_without_a_key_and_compared_in_any_order(void **state)
{
	struct fixture *f = *state;
	Cluebus__Sealed *s = seal_to(f, 4, sample, sizeof(sample));
	const char *units[SEAL_MAX_RECIPIENTS];
	const char *routed[4], *twice[4], *fewer[3], *other[4];
	cb_error_t err;
	size_t n = 0;

	assert_int_equal(seal_recipients(s, units, &n, &err), 0);
	assert_int_equal(n, 4);
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(units[i - 1], units[i]) < 0);
	for (size_t i = 0; i < 4; i++) {
		size_t k = 0;

		while (k < n && strcmp(units[k], f->units[i]) != 0)
			k++;
		assert_true(k < n);
		routed[3 - i] = f->units[i];
		other[i] = f->units[i];
		twice[i] = f->units[i];
	}
	assert_true(seal_recipients_equal(s, routed, 4));
	twice[3] = f->units[0];
	assert_false(seal_recipients_equal(s, twice, 4));
	memcpy(fewer, routed, sizeof(fewer));
	assert_false(seal_recipients_equal(s, fewer, 3));
	other[2] = f->units[9];
	assert_false(seal_recipients_equal(s, other, 4));
	assert_false(seal_recipients_equal(NULL, routed, 4));
	seal_free(s);
}

/* ---- malformed structures ------------------------------------------------------------------ */

struct bad_case {
	const char	*name;
	void		(*mutate)(Cluebus__Sealed *);
	int		 want;
	const char	*field;		/* err.field starts with it */
};

static void mut_no_keys(Cluebus__Sealed *s) { s->n_keys = 0; }
static void mut_suite_0(Cluebus__Sealed *s) { s->suite = 0; }
static void mut_suite_2(Cluebus__Sealed *s) { s->suite = 2; }
static void mut_suite_big(Cluebus__Sealed *s) { s->suite = 0xffffffffu; }
static void mut_nonce_short(Cluebus__Sealed *s) { s->nonce.len = 11; }
static void mut_nonce_empty(Cluebus__Sealed *s) { s->nonce.len = 0; }
static void mut_ct_short(Cluebus__Sealed *s) { s->ciphertext.len = SEAL_TAG_LEN - 1; }
static void mut_ct_empty(Cluebus__Sealed *s) { s->ciphertext.len = 0; }
static void mut_unit_upper(Cluebus__Sealed *s) { s->keys[0]->unit[0] = 'U'; }
static void mut_unit_empty(Cluebus__Sealed *s) { s->keys[1]->unit[0] = '\0'; }
static void mut_unit_dup(Cluebus__Sealed *s) { strcpy(s->keys[1]->unit, s->keys[0]->unit); }
static void mut_key_id_short(Cluebus__Sealed *s) { s->keys[2]->key_id.len = 7; }
static void mut_eph_short(Cluebus__Sealed *s) { s->keys[1]->ephemeral_public.len = 31; }
static void mut_wrapped_short(Cluebus__Sealed *s) { s->keys[0]->wrapped_key.len = 47; }
static void mut_wrapped_empty(Cluebus__Sealed *s) { s->keys[2]->wrapped_key.len = 0; }

static void
mut_unsorted(Cluebus__Sealed *s)
{
	Cluebus__SealedKey *t = s->keys[0];

	s->keys[0] = s->keys[2];
	s->keys[2] = t;
}

static const struct bad_case bad_cases[] = {
	{ "no recipients", mut_no_keys, CB_EMALFORMED, "sealed.keys" },
	{ "suite absent", mut_suite_0, CB_EMALFORMED, "sealed.suite" },
	{ "suite 2 (SM2/SM3/SM4, reserved)", mut_suite_2, CB_EKEY, "sealed.suite" },
	{ "suite 2^32-1", mut_suite_big, CB_EKEY, "sealed.suite" },
	{ "nonce of 11 bytes", mut_nonce_short, CB_EMALFORMED, "sealed.nonce" },
	{ "no nonce", mut_nonce_empty, CB_EMALFORMED, "sealed.nonce" },
	{ "ciphertext shorter than a tag", mut_ct_short, CB_EMALFORMED, "sealed.ciphertext" },
	{ "no ciphertext", mut_ct_empty, CB_EMALFORMED, "sealed.ciphertext" },
	{ "unit id with a capital", mut_unit_upper, CB_EMALFORMED, "sealed.keys[0]" },
	{ "empty unit id", mut_unit_empty, CB_EMALFORMED, "sealed.keys[1]" },
	{ "a unit twice", mut_unit_dup, CB_EMALFORMED, "sealed.keys[1]" },
	{ "recipients out of order", mut_unsorted, CB_EMALFORMED, "sealed.keys[1]" },
	{ "key id of 7 bytes", mut_key_id_short, CB_EMALFORMED, "sealed.keys[2]" },
	{ "ephemeral key of 31 bytes", mut_eph_short, CB_EMALFORMED, "sealed.keys[1]" },
	{ "wrapped key of 47 bytes", mut_wrapped_short, CB_EMALFORMED, "sealed.keys[0]" },
	{ "no wrapped key", mut_wrapped_empty, CB_EMALFORMED, "sealed.keys[2]" },
};

static void
test_each_malformed_sealed_structure_is_refused_with_its_reason(void **state)
{
	struct fixture *f = *state;
	Cluebus__Sealed *s = seal_to(f, 3, sample, sizeof(sample)), *bad;
	const char *units[SEAL_MAX_RECIPIENTS];
	cb_error_t err;
	size_t n, keep;
	int rc;

	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];

		bad = through_wire(s);
		keep = bad->n_keys;
		c->mutate(bad);
		for (size_t r = 0; r < 3; r++) {
			rc = open_as(f, bad, r, NULL, &err);
			if (rc != c->want || strncmp(err.field, c->field, strlen(c->field)) != 0)
				fail_msg("%s: open gave %s at \"%s\" (%s), wanted %s at %s",
				    c->name, cb_strerror(rc), err.field, err.reason,
				    cb_strerror(c->want), c->field);
		}
		memset(&err, 0, sizeof(err));
		rc = seal_recipients(bad, units, &n, &err);
		if (rc != c->want || strncmp(err.field, c->field, strlen(c->field)) != 0)
			fail_msg("%s: seal_recipients gave %s at \"%s\"", c->name, cb_strerror(rc),
			    err.field);
		/* Truncated lengths keep their buffers; the count must come back to free them. */
		bad->n_keys = keep;
		seal_free(bad);
	}
	seal_free(s);
}

static void
test_sizes_over_their_bounds_are_refused_before_anything_is_opened(void **state)
{
	struct fixture *f = *state;
	Cluebus__Sealed *s = seal_to(f, 1, sample, sizeof(sample));
	Cluebus__SealedKey *many[SEAL_MAX_RECIPIENTS + 1], copies[SEAL_MAX_RECIPIENTS + 1];
	char names[SEAL_MAX_RECIPIENTS + 1][16];
	Cluebus__SealedKey **orig = s->keys;
	ProtobufCBinaryData ct = s->ciphertext;
	uint8_t *huge = calloc(1, SEAL_MAX_PLAINTEXT + SEAL_TAG_LEN + 1);
	const char *units[SEAL_MAX_RECIPIENTS];
	cb_error_t err;
	size_t n;

	for (size_t i = 0; i <= SEAL_MAX_RECIPIENTS; i++) {
		copies[i] = *orig[0];
		snprintf(names[i], sizeof(names[i]), "r-%03zu", i);
		copies[i].unit = names[i];
		many[i] = &copies[i];
	}
	s->keys = many;
	s->n_keys = SEAL_MAX_RECIPIENTS + 1;
	assert_int_equal(seal_recipients(s, units, &n, &err), CB_ETOOBIG);
	assert_string_equal(err.field, "sealed.keys");
	/* Exactly the bound is well-formed (and does not open: the set changed). */
	s->n_keys = SEAL_MAX_RECIPIENTS;
	assert_int_equal(seal_recipients(s, units, &n, &err), 0);
	assert_int_equal(n, SEAL_MAX_RECIPIENTS);
	s->keys = orig;
	s->n_keys = 1;

	assert_non_null(huge);
	s->ciphertext.data = huge;
	s->ciphertext.len = SEAL_MAX_PLAINTEXT + SEAL_TAG_LEN + 1;
	assert_int_equal(open_as(f, s, 0, NULL, &err), CB_ETOOBIG);
	assert_string_equal(err.field, "sealed.ciphertext");
	s->ciphertext.len = SEAL_MAX_PLAINTEXT + SEAL_TAG_LEN;
	assert_int_equal(open_as(f, s, 0, NULL, &err), CB_EBADSIG);
	s->ciphertext = ct;
	free(huge);
	seal_free(s);
}

static void
test_sealing_refuses_bad_arguments(void **state)
{
	struct fixture *f = *state;
	seal_recipient_t twice[2], bad_unit[1];
	Cluebus__Sealed *s = NULL;
	cb_error_t err;
	seal_binding_t no_sender = { f->message_id, "Health" };
	uint8_t *plain = NULL;
	size_t len = 0;

	assert_int_equal(seal_encrypt(&f->binding, f->rcpt, 0, sample, 1, &s, &err), CB_EINVAL);
	assert_int_equal(seal_encrypt(&f->binding, f->rcpt, SEAL_MAX_RECIPIENTS + 1, sample, 1,
	    &s, &err), CB_EINVAL);
	twice[0] = f->rcpt[3];
	twice[1] = f->rcpt[3];
	assert_int_equal(seal_encrypt(&f->binding, twice, 2, sample, 1, &s, &err), CB_EINVAL);
	assert_non_null(strstr(err.reason, "named twice"));
	bad_unit[0].unit = "no spaces";
	bad_unit[0].key = f->keys[0];
	assert_int_equal(seal_encrypt(&f->binding, bad_unit, 1, sample, 1, &s, &err), CB_EINVAL);
	bad_unit[0].unit = "ok";
	bad_unit[0].key = NULL;
	assert_int_equal(seal_encrypt(&f->binding, bad_unit, 1, sample, 1, &s, &err), CB_EINVAL);
	assert_int_equal(seal_encrypt(&no_sender, f->rcpt, 1, sample, 1, &s, &err), CB_EINVAL);
	assert_int_equal(seal_encrypt(&f->binding, f->rcpt, 1, sample, SEAL_MAX_PLAINTEXT + 1, &s,
	    &err), CB_ETOOBIG);
	assert_int_equal(seal_encrypt(&f->binding, f->rcpt, 1, NULL, 1, &s, &err), CB_EINVAL);
	assert_null(s);

	/* Opening needs the private half. */
	s = seal_to(f, 1, sample, sizeof(sample));
	sealkey_t *pub = NULL;
	assert_int_equal(sealkey_from_public(sealkey_public(f->keys[0]), 32, &pub), 0);
	assert_int_equal(seal_open(s, &f->binding, f->units[0], pub, &plain, &len, &err),
	    CB_EINVAL);
	assert_null(plain);
	sealkey_free(pub);
	seal_free(s);
}

/* ---- the test vector of docs/sealing.md ---------------------------------------------------- */

#define VEC_MAX		64
#define VEC_VALUE_MAX	4096

struct vector {
	size_t	 n;
	char	 key[VEC_MAX][48];
	char	 value[VEC_MAX][VEC_VALUE_MAX];
};

/* Reads the lines between the seal-vector markers: "key: value", continued by lines of
 * hex digits. */
static void
vector_read(struct vector *v)
{
	char *doc, *p, *end, *line, *next;
	size_t len;

	if (file_read_all("docs/sealing.md", 1 << 20, &doc, &len) != 0)
		fail_msg("cannot read docs/sealing.md (run from the repository root)");
	assert_non_null(p = strstr(doc, "<!-- seal-vector: begin -->"));
	assert_non_null(end = strstr(p, "<!-- seal-vector: end -->"));
	*end = '\0';
	v->n = 0;
	for (line = strchr(p, '\n') + 1; line != NULL && *line != '\0'; line = next) {
		char *colon;

		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		while (*line == ' ')
			line++;
		if (*line == '\0' || strncmp(line, "```", 3) == 0)
			continue;
		if ((colon = strchr(line, ':')) != NULL) {
			assert_true(v->n < VEC_MAX);
			*colon = '\0';
			snprintf(v->key[v->n], sizeof(v->key[0]), "%s", line);
			for (colon++; *colon == ' '; colon++)
				;
			snprintf(v->value[v->n], sizeof(v->value[0]), "%s", colon);
			v->n++;
		} else {
			assert_true(v->n > 0);
			assert_true(strlen(v->value[v->n - 1]) + strlen(line) < VEC_VALUE_MAX);
			strcat(v->value[v->n - 1], line);
		}
	}
	free(doc);
}

static const char *
vector_get(const struct vector *v, const char *key)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->key[i], key) == 0)
			return v->value[i];
	fail_msg("docs/sealing.md: no \"%s\" in the vector", key);
	return NULL;
}

/* Decodes the hex value of `key` into a new buffer (caller frees). */
static uint8_t *
vector_hex(const struct vector *v, const char *key, size_t *len)
{
	const char *hex = vector_get(v, key);
	uint8_t *out;

	*len = strlen(hex) / 2;
	assert_int_equal(strlen(hex), *len * 2);
	assert_non_null(out = malloc(*len + 1));
	if (hex_decode(hex, out, *len) != 0)
		fail_msg("docs/sealing.md: %s is not hex", key);
	return out;
}

/* The document's value of `key` equals `want`. */
static void
vector_expect(const struct vector *v, const char *key, const uint8_t *want, size_t len)
{
	size_t got_len;
	uint8_t *got = vector_hex(v, key, &got_len);

	if (got_len != len || memcmp(got, want, len) != 0)
		fail_msg("docs/sealing.md: %s differs from what the code computes", key);
	free(got);
}

static void
test_the_test_vector_in_docs_sealing_md_is_what_the_code_computes(void **state)
{
	struct vector *v = calloc(1, sizeof(*v));
	const char *units[3] = { "ato", "civil-affairs", "psb" };
	uint8_t priv[3][32], eph[3][32], cek[32], nonce[32], mid[32], pub[32], eph_pub[32];
	uint8_t ad[REF_AD_MAX], info[REF_INFO_MAX], z[32], okm[44], wrapped[48];
	uint8_t *plain, *sealed, *opened, *packed;
	seal_recipient_t rcpt[3];
	sealkey_t *keys[3];
	Cluebus__Sealed *s, *mine;
	char name[64];
	size_t plen, slen, adlen, infolen, olen;

	(void)state;
	assert_non_null(v);
	vector_read(v);
	assert_string_equal(vector_get(v, "suite"), "1");
	assert_string_equal(vector_get(v, "sender"), "health");
	ref_seed("content key", cek);
	ref_seed("nonce", nonce);
	ref_seed("message id", mid);
	vector_expect(v, "content_key", cek, 32);
	vector_expect(v, "nonce", nonce, 12);
	vector_expect(v, "message_id", mid, 16);
	plain = vector_hex(v, "plaintext", &plen);
	adlen = ref_ad(1, mid, "health", units, 3, ad);
	vector_expect(v, "ad", ad, adlen);
	for (size_t i = 0; i < 3; i++) {
#define NAMED(field) (snprintf(name, sizeof(name), "%s." field, units[i]), name)
		snprintf(name, sizeof(name), "%s private", units[i]);
		ref_seed(name, priv[i]);
		snprintf(name, sizeof(name), "%s ephemeral", units[i]);
		ref_seed(name, eph[i]);
		assert_int_equal(sealkey_from_private(priv[i], 32, &keys[i]), 0);
		rcpt[i].unit = units[i];
		rcpt[i].key = keys[i];
		ref_public(priv[i], pub);
		ref_public(eph[i], eph_pub);
		assert_memory_equal(sealkey_public(keys[i]), pub, 32);
		ref_x25519(eph[i], pub, z);
		infolen = ref_info(1, eph_pub, pub, units[i], ad, adlen, info);
		ref_hkdf(z, info, infolen, okm);
		ref_gcm(okm, okm + 32, NULL, 0, cek, 32, wrapped);
		vector_expect(v, NAMED("private"), priv[i], 32);
		vector_expect(v, NAMED("public"), pub, 32);
		vector_expect(v, NAMED("key_id"), sealkey_id(keys[i]), 8);
		vector_expect(v, NAMED("ephemeral_private"), eph[i], 32);
		vector_expect(v, NAMED("ephemeral_public"), eph_pub, 32);
		vector_expect(v, NAMED("shared_secret"), z, 32);
		vector_expect(v, NAMED("hkdf_info"), info, infolen);
		vector_expect(v, NAMED("kek"), okm, 32);
		vector_expect(v, NAMED("wrap_nonce"), okm + 32, 12);
		vector_expect(v, NAMED("wrapped_key"), wrapped, 48);
#undef NAMED
	}

	/* The library seals the same bytes from the same fixed values... */
	seal_binding_t b = { mid, "health" };
	assert_int_equal(seal_encrypt_fixed(&b, rcpt, 3, plain, plen, cek, nonce,
	    (const uint8_t (*)[32])eph, &s, NULL), 0);
	vector_expect(v, "ciphertext", s->ciphertext.data, s->ciphertext.len);
	packed = malloc(cluebus__sealed__get_packed_size(s));
	assert_non_null(packed);
	cluebus__sealed__pack(s, packed);
	vector_expect(v, "sealed", packed, cluebus__sealed__get_packed_size(s));
	free(packed);
	seal_free(s);

	/* ... and every recipient opens the document's sealed bytes. */
	sealed = vector_hex(v, "sealed", &slen);
	assert_non_null(mine = cluebus__sealed__unpack(NULL, slen, sealed));
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(seal_open(mine, &b, units[i], keys[i], &opened, &olen, NULL), 0);
		assert_int_equal(olen, plen);
		assert_memory_equal(opened, plain, plen);
		seal_plain_free(opened, olen);
		sealkey_free(keys[i]);
	}
	cluebus__sealed__free_unpacked(mine, NULL);
	free(sealed);
	free(plain);
	free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_a_sealing_key_id_is_the_first_8_bytes_of_sha256_of_the_raw_public_key),
		cmocka_unit_test(test_raw_sealing_keys_must_be_exactly_32_bytes),
		cmocka_unit_test(
		    test_a_sealing_key_file_is_0600_and_refused_when_group_or_world_may_read_it),
		cmocka_unit_test(test_an_ed25519_signing_key_file_is_not_a_sealing_key),
		cmocka_unit_test(test_a_seal_to_one_recipient_opens_for_it),
		cmocka_unit_test(test_a_seal_to_three_recipients_opens_for_each),
		cmocka_unit_test(test_a_seal_to_forty_recipients_opens_for_each),
		cmocka_unit_test(test_an_empty_plaintext_seals_and_opens),
		cmocka_unit_test(test_two_seals_of_the_same_bytes_differ),
		cmocka_unit_test(test_a_unit_outside_the_seal_cannot_open_it),
		cmocka_unit_test(test_every_single_bit_flip_of_the_sealed_bytes_is_refused),
		cmocka_unit_test(test_a_seal_moved_to_another_message_id_or_sender_does_not_open),
		cmocka_unit_test(
		    test_a_recipient_removed_added_or_renamed_makes_the_seal_refuse_to_open),
		cmocka_unit_test(test_an_unknown_suite_is_refused_and_named),
		cmocka_unit_test(test_a_message_sealed_to_a_rotated_key_opens_with_the_old_key_only),
		cmocka_unit_test(
		    test_the_recipient_set_is_read_without_a_key_and_compared_in_any_order),
		cmocka_unit_test(test_each_malformed_sealed_structure_is_refused_with_its_reason),
		cmocka_unit_test(test_sizes_over_their_bounds_are_refused_before_anything_is_opened),
		cmocka_unit_test(test_sealing_refuses_bad_arguments),
		cmocka_unit_test(test_the_test_vector_in_docs_sealing_md_is_what_the_code_computes),
	};

	return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}

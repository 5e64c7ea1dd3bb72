/* tests/tools/sealvector.c — prints the suite 1 test vector of docs/sealing.md.
 *
 * Every secret comes from a fixed seed, SHA-256("cluebus seal test vector: " || name):
 * recipients' private keys ("<unit> private"), their ephemeral private keys ("<unit>
 * ephemeral"), the content key ("content key"), the nonce (first 12 bytes of "nonce") and
 * the message id (first 16 bytes of "message id"). The sealed bytes come from
 * seal_encrypt_fixed (lib/seal.c), the only place where ephemeral keys are not random; the
 * intermediate values come from tests/tools/seal_reference.h, and the program aborts unless
 * both agree. tests/unit/test_seal.c checks the document against the library, so a vector
 * pasted into the document cannot drift from the code.
 *
 * Usage: sealvector > block   (the lines between the seal-vector markers of the document) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluebus.pb-c.h"
#include "seal.h"
#include "seal_reference.h"
#include "sealkey.h"

#define NRCPT	3

/* Given unsorted on purpose: the seal sorts them. */
static const char *const rcpt_units[NRCPT] = { "psb", "ato", "civil-affairs" };
static const char sender[] = "health";

static void
print_hex(const char *name, const uint8_t *p, size_t len)
{
	printf("%s:", name);
	if (len * 2 > 64)
		printf("\n    ");
	else
		printf(" ");
	for (size_t i = 0; i < len; i++) {
		printf("%02x", p[i]);
		if (i + 1 < len && (i + 1) % 32 == 0)
			printf("\n    ");
	}
	printf("\n");
}

/* The plaintext: a serialized SealedPersons naming one synthetic victim. */
static uint8_t *
vector_plaintext(size_t *len)
{
	Cluebus__SealedPersons sp = CLUEBUS__SEALED_PERSONS__INIT;
	Cluebus__Person p = CLUEBUS__PERSON__INIT, *pp = &p;
	uint8_t *buf;

	p.role = CLUEBUS__PERSON_ROLE__ROLE_VICTIM;
	p.name = "测试甲";
	p.id_number = "210302201503040020";
	p.age = 11;
	p.gender = CLUEBUS__GENDER__GENDER_FEMALE;
	p.description = "synthetic test vector";
	sp.n_persons = 1;
	sp.persons = &pp;
	*len = cluebus__sealed_persons__get_packed_size(&sp);
	ref_need((buf = malloc(*len)) != NULL, "malloc");
	cluebus__sealed_persons__pack(&sp, buf);
	return buf;
}

int
main(void)
{
	uint8_t	 priv[NRCPT][32], eph[NRCPT][32], cek[32], nonce_seed[32], mid_seed[32];
	uint8_t	 ad[REF_AD_MAX], info[REF_INFO_MAX], z[32], okm[44], wrapped[48], *plain, *ct;
	uint8_t	*packed;
	const char *sorted[NRCPT];
	seal_recipient_t rcpt[NRCPT];
	sealkey_t *keys[NRCPT];
	Cluebus__Sealed *s = NULL;
	cb_error_t err;
	size_t	 plen, adlen, infolen, packed_len;
	char	 name[64];

	plain = vector_plaintext(&plen);
	ref_seed("content key", cek);
	ref_seed("nonce", nonce_seed);
	ref_seed("message id", mid_seed);
	for (size_t i = 0; i < NRCPT; i++) {
		snprintf(name, sizeof(name), "%s private", rcpt_units[i]);
		ref_seed(name, priv[i]);
		snprintf(name, sizeof(name), "%s ephemeral", rcpt_units[i]);
		ref_seed(name, eph[i]);
		ref_need(sealkey_from_private(priv[i], 32, &keys[i]) == 0, "sealkey_from_private");
		rcpt[i].unit = rcpt_units[i];
		rcpt[i].key = keys[i];
	}
	seal_binding_t b = { mid_seed, sender };
	if (seal_encrypt_fixed(&b, rcpt, NRCPT, plain, plen, cek, nonce_seed,
	    (const uint8_t (*)[32])eph, &s, &err) != 0) {
		fprintf(stderr, "sealvector: %s: %s\n", err.field, err.reason);
		return 1;
	}
	/* Sorted order, as the Sealed holds them. */
	for (size_t i = 0; i < NRCPT; i++)
		sorted[i] = s->keys[i]->unit;
	adlen = ref_ad(SEAL_SUITE_X25519_HKDF_SHA256_AES256GCM, mid_seed, sender, sorted, NRCPT,
	    ad);
	ref_need((ct = malloc(plen + 16)) != NULL, "malloc");
	ref_gcm(cek, nonce_seed, ad, adlen, plain, plen, ct);
	ref_need(s->ciphertext.len == plen + 16 && memcmp(ct, s->ciphertext.data, plen + 16) == 0,
	    "library ciphertext equal to the reference");

	printf("suite: %d\n", SEAL_SUITE_X25519_HKDF_SHA256_AES256GCM);
	printf("sender: %s\n", sender);
	print_hex("message_id", mid_seed, 16);
	print_hex("plaintext", plain, plen);
	print_hex("content_key", cek, 32);
	print_hex("nonce", nonce_seed, 12);
	print_hex("ad", ad, adlen);
	for (size_t j = 0; j < NRCPT; j++) {
		size_t i = 0;
		uint8_t pub[32], eph_pub[32];

		while (strcmp(rcpt_units[i], sorted[j]) != 0)
			i++;
		ref_public(priv[i], pub);
		ref_public(eph[i], eph_pub);
		ref_x25519(eph[i], pub, z);
		infolen = ref_info(SEAL_SUITE_X25519_HKDF_SHA256_AES256GCM, eph_pub, pub,
		    sorted[j], ad, adlen, info);
		ref_hkdf(z, info, infolen, okm);
		ref_gcm(okm, okm + 32, NULL, 0, cek, 32, wrapped);
		ref_need(memcmp(s->keys[j]->ephemeral_public.data, eph_pub, 32) == 0 &&
		    memcmp(s->keys[j]->wrapped_key.data, wrapped, 48) == 0 &&
		    memcmp(s->keys[j]->key_id.data, sealkey_id(keys[i]), 8) == 0,
		    "library wrap equal to the reference");
		printf("recipient: %s\n", sorted[j]);
#define RCPT_HEX(field, p, n) do { \
	snprintf(name, sizeof(name), "%s." field, sorted[j]); print_hex(name, p, n); } while (0)
		RCPT_HEX("private", priv[i], 32);
		RCPT_HEX("public", pub, 32);
		RCPT_HEX("key_id", sealkey_id(keys[i]), 8);
		RCPT_HEX("ephemeral_private", eph[i], 32);
		RCPT_HEX("ephemeral_public", eph_pub, 32);
		RCPT_HEX("shared_secret", z, 32);
		RCPT_HEX("hkdf_info", info, infolen);
		RCPT_HEX("kek", okm, 32);
		RCPT_HEX("wrap_nonce", okm + 32, 12);
		RCPT_HEX("wrapped_key", wrapped, 48);
#undef RCPT_HEX
	}
	print_hex("ciphertext", s->ciphertext.data, s->ciphertext.len);
	packed_len = cluebus__sealed__get_packed_size(s);
	ref_need((packed = malloc(packed_len)) != NULL, "malloc");
	cluebus__sealed__pack(s, packed);
	print_hex("sealed", packed, packed_len);

	free(packed);
	free(ct);
	seal_free(s);
	for (size_t i = 0; i < NRCPT; i++)
		sealkey_free(keys[i]);
	free(plain);
	return 0;
}

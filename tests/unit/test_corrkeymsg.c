/* tests/unit/test_corrkeymsg.c — the correlation_key body (lib/corrkeymsg.c).
 *
 * A well-formed body sealed to two units decodes and opens to the 32-byte key; a table of
 * bad inputs (no version, negative effective time, no seal, a damaged seal, bytes that do
 * not parse, a key of the wrong size or all zero) each gives an error naming the field, and
 * nothing is returned. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluebus.pb-c.h"
#include "cluebus/err.h"
#include "corrkeymsg.h"
#include "seal.h"
#include "sealkey.h"

static const uint8_t message_id[SEAL_MESSAGE_ID_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
static const seal_binding_t binding = { message_id, "office-city" };

/* Seals `len` bytes of `plain` to units a and b; returns the serialized body. */
static uint8_t *
body_make(uint32_t version, int64_t effective_ms, const uint8_t *plain, size_t len,
    sealkey_t *ka, sealkey_t *kb, size_t *out_len)
{
	Cluebus__CorrelationKey b = CLUEBUS__CORRELATION_KEY__INIT;
	seal_recipient_t r[2] = { { "unit-a", ka }, { "unit-b", kb } };
	uint8_t *buf;

	b.version = version;
	b.effective_ms = effective_ms;
	assert_int_equal(seal_encrypt(&binding, r, 2, plain, len, &b.sealed_key, NULL), 0);
	*out_len = cluebus__correlation_key__get_packed_size(&b);
	buf = malloc(*out_len + 1);
	assert_non_null(buf);
	cluebus__correlation_key__pack(&b, buf);
	seal_free(b.sealed_key);
	return buf;
}

static void
test_roundtrip(void **state)
{
	uint8_t key[CORRKEYMSG_KEY_LEN], *buf, *plain;
	sealkey_t *ka, *kb;
	Cluebus__CorrelationKey *b;
	size_t len, plen;
	cb_error_t err;

	(void)state;
	memset(key, 0x5a, sizeof(key));
	assert_int_equal(sealkey_generate(&ka), 0);
	assert_int_equal(sealkey_generate(&kb), 0);
	buf = body_make(2, 1700000000000, key, sizeof(key), ka, kb, &len);
	assert_int_equal(corrkeymsg_decode(buf, len, &b, &err), 0);
	assert_int_equal(b->version, 2);
	assert_int_equal(b->effective_ms, 1700000000000);
	assert_int_equal(seal_open(b->sealed_key, &binding, "unit-b", kb, &plain, &plen, &err),
	    0);
	assert_int_equal(corrkeymsg_key_check(plain, plen, &err), 0);
	assert_memory_equal(plain, key, sizeof(key));
	seal_plain_free(plain, plen);
	cluebus__correlation_key__free_unpacked(b, NULL);
	free(buf);
	sealkey_free(ka);
	sealkey_free(kb);
}

/* One bad body: its serialized bytes and the field the error must name. */
struct bad {
	const char	*what;
	uint32_t	 version;
	int64_t		 effective_ms;
	int		 no_seal;
	int		 damage;	/* flip a byte of the serialized body at the end */
	const char	*field;
};

static const struct bad bads[] = {
	{ "no version", 0, 1, 0, 0, "correlation_key.version" },
	{ "negative time", 1, -5, 0, 0, "correlation_key.effective_ms" },
	{ "no seal", 1, 1, 1, 0, "correlation_key.sealed_key" },
	{ "truncated", 1, 1, 0, 1, "correlation_key" },
};

static void
test_bad_bodies(void **state)
{
	uint8_t key[CORRKEYMSG_KEY_LEN], *buf;
	Cluebus__CorrelationKey *b;
	sealkey_t *ka, *kb;
	size_t i, len;
	cb_error_t err;

	(void)state;
	memset(key, 0x33, sizeof(key));
	assert_int_equal(sealkey_generate(&ka), 0);
	assert_int_equal(sealkey_generate(&kb), 0);
	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		if (bads[i].no_seal) {
			Cluebus__CorrelationKey e = CLUEBUS__CORRELATION_KEY__INIT;

			e.version = bads[i].version;
			e.effective_ms = bads[i].effective_ms;
			len = cluebus__correlation_key__get_packed_size(&e);
			buf = malloc(len + 1);
			assert_non_null(buf);
			cluebus__correlation_key__pack(&e, buf);
		} else {
			buf = body_make(bads[i].version, bads[i].effective_ms, key, sizeof(key),
			    ka, kb, &len);
		}
		if (bads[i].damage)
			len -= 3;	/* cuts the last field short: does not parse */
		memset(&err, 0, sizeof(err));
		b = (Cluebus__CorrelationKey *)1;
		assert_int_equal(corrkeymsg_decode(buf, len, &b, &err), CB_EMALFORMED);
		assert_null(b);
		if (strcmp(err.field, bads[i].field) != 0)
			fail_msg("%s: field '%s', expected '%s'", bads[i].what, err.field,
			    bads[i].field);
		assert_true(err.reason[0] != '\0');
		free(buf);
	}
	sealkey_free(ka);
	sealkey_free(kb);
}

static void
test_bad_recipient_lists(void **state)
{
	static char *bad_id[] = { "psb", "PSB!" }, *twice[] = { "psb", "health", "psb" };
	static char *many[SEAL_MAX_RECIPIENTS + 1];
	static char names[SEAL_MAX_RECIPIENTS + 1][16];
	Cluebus__CorrelationKey b = CLUEBUS__CORRELATION_KEY__INIT;
	cb_error_t err;

	(void)state;
	b.version = 1;
	b.to_units = bad_id;
	b.n_to_units = 2;
	assert_int_equal(corrkeymsg_check(&b, &err), CB_EMALFORMED);
	assert_string_equal(err.field, "correlation_key.to_units[1]");
	b.to_units = twice;
	b.n_to_units = 3;
	assert_int_equal(corrkeymsg_units_check(&b, &err), CB_EMALFORMED);
	assert_string_equal(err.field, "correlation_key.to_units[2]");
	assert_non_null(strstr(err.reason, "twice"));
	for (size_t i = 0; i < SEAL_MAX_RECIPIENTS + 1; i++) {
		snprintf(names[i], sizeof(names[i]), "u%zu", i);
		many[i] = names[i];
	}
	b.to_units = many;
	b.n_to_units = SEAL_MAX_RECIPIENTS;
	assert_int_equal(corrkeymsg_units_check(&b, &err), 0);
	b.n_to_units = SEAL_MAX_RECIPIENTS + 1;
	assert_int_equal(corrkeymsg_units_check(&b, &err), CB_EMALFORMED);
	assert_string_equal(err.field, "correlation_key.to_units");
}

static void
test_bad_keys(void **state)
{
	uint8_t k[CORRKEYMSG_KEY_LEN + 1];
	cb_error_t err;

	(void)state;
	memset(k, 0x11, sizeof(k));
	assert_int_equal(corrkeymsg_key_check(k, CORRKEYMSG_KEY_LEN, &err), 0);
	assert_int_equal(corrkeymsg_key_check(k, CORRKEYMSG_KEY_LEN - 1, &err), CB_EMALFORMED);
	assert_string_equal(err.field, "correlation_key.sealed_key");
	assert_int_equal(corrkeymsg_key_check(k, CORRKEYMSG_KEY_LEN + 1, &err), CB_EMALFORMED);
	assert_int_equal(corrkeymsg_key_check(k, 0, &err), CB_EMALFORMED);
	memset(k, 0, sizeof(k));
	assert_int_equal(corrkeymsg_key_check(k, CORRKEYMSG_KEY_LEN, &err), CB_EMALFORMED);
	assert_string_equal(err.field, "correlation_key.sealed_key");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_bad_bodies),
		cmocka_unit_test(test_bad_recipient_lists),
		cmocka_unit_test(test_bad_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

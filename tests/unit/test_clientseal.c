/* tests/unit/test_clientseal.c — what a receiving agent makes of a sealed delivery
 * (lib/clientseal.c).
 *
 * Opened with the unit's key, the document's "sealing" says so, with the key id; a unit
 * outside the seal, another key of the unit (a rotated one), damaged ciphertext, an unknown
 * suite or no sealing key at all give a "sealing" of status "error" with a code and a
 * reason, the message keeps its seal and no plaintext, and nothing crashes: the agent
 * writes that document to out/ as the agency's error file. After a rotation, a message
 * sealed to the unit's old key opens with the old key the agent keeps (seal_old_keys),
 * and the document names that key. A correction carrying a corrected clue is sealed like a
 * clue (it waits for a directory like any other), one with a note only goes as it is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clientseal.h"
#include "intake.h"
#include "seal.h"
#include "sealbody.h"
#include "sealdir.h"
#include "sealkey.h"

static const char doc[] = "{\"kind\":\"receipt\",\"priority\":\"routine\",\"refers_to\":"
    "\"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\",\"receipt\":{\"note\":\"测试丁已签收\"}}";

static sealkey_t *psb_key, *psb_old_key, *ato_key;

static Cluebus__Message *
sealed_receipt_to(const sealkey_t *psb)
{
	seal_recipient_t rcpt[] = { { "psb", psb }, { "ato", ato_key } };
	Cluebus__Message *m = NULL;
	cb_error_t err;

	assert_int_equal(intake_from_json(doc, strlen(doc), &m, &err), 0);
	m->message_id.data = calloc(1, 16);
	m->message_id.len = 16;
	m->sender = strdup("health");
	assert_int_equal(sealbody_seal(m, rcpt, 2, &err), 0);
	return m;
}

static Cluebus__Message *
sealed_receipt(void)
{
	return sealed_receipt_to(psb_key);
}

static void
expect(json_t *s, const char *status, const char *code)
{
	assert_non_null(s);
	assert_string_equal(json_string_value(json_object_get(s, "status")), status);
	if (code != NULL)
		assert_string_equal(json_string_value(json_object_get(s, "code")), code);
	assert_int_equal(json_array_size(json_object_get(s, "recipients")), 2);
}

static void
test_each_outcome_of_opening_is_described_and_errors_leave_the_seal(void **state)
{
	static const struct {
		const char	*unit;
		int		 key;	/* 0 psb, 1 psb's old key, 2 none */
		int		 damage, suite;
		const char	*status, *code;
	} rows[] = {
		{ "psb", 0, 0, 0, "opened", NULL },
		{ "education", 0, 0, 0, "error", "not_a_recipient" },
		{ "psb", 1, 0, 0, "error", "not_a_recipient" },
		{ "psb", 0, 1, 0, "error", "damaged" },
		{ "psb", 0, 0, 2, "error", "unknown_suite" },
		{ "psb", 2, 0, 0, "error", "no_sealing_key" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		Cluebus__Message *m = sealed_receipt();
		const sealkey_t *k = rows[i].key == 0 ? psb_key : rows[i].key == 1 ?
		    psb_old_key : NULL;
		json_t *s;

		if (rows[i].damage)
			m->receipt->sealed->ciphertext.data[0] ^= 0x80;
		if (rows[i].suite)
			m->receipt->sealed->suite = (uint32_t)rows[i].suite;
		s = clientseal_open(&k, k != NULL ? 1 : 0, rows[i].unit, m, 7);
		expect(s, rows[i].status, rows[i].code);
		if (rows[i].code == NULL) {
			assert_string_equal(m->receipt->note, "测试丁已签收");
			assert_int_equal(strlen(json_string_value(json_object_get(s, "key_id"))),
			    16);
		} else {
			assert_string_equal(m->receipt->note, "");
			assert_non_null(sealbody_sealed(m));
			assert_true(strlen(json_string_value(json_object_get(s, "reason"))) > 0);
		}
		json_decref(s);
		protobuf_c_message_free_unpacked(&m->base, NULL);
	}
}

/* psb rotated its sealing key: a message sealed before opens with the old key it keeps,
 * one sealed after with the new; the document names the key that opened it. */
static void
test_after_a_rotation_old_messages_open_with_the_old_key(void **state)
{
	const sealkey_t *keys[] = { psb_key, psb_old_key };
	char kid[2 * SEALKEY_ID_LEN + 1];
	const sealkey_t *sealed_to[] = { psb_old_key, psb_key };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		Cluebus__Message *m = sealed_receipt_to(sealed_to[i]);
		json_t *s = clientseal_open(keys, 2, "psb", m, 9);

		expect(s, "opened", NULL);
		for (size_t j = 0; j < SEALKEY_ID_LEN; j++)
			snprintf(kid + 2 * j, 3, "%02x", sealkey_id(sealed_to[i])[j]);
		assert_string_equal(json_string_value(json_object_get(s, "key_id")), kid);
		assert_string_equal(m->receipt->note, "测试丁已签收");
		json_decref(s);
		protobuf_c_message_free_unpacked(&m->base, NULL);
	}
}

static void
test_a_message_without_a_seal_has_no_sealing_member(void **state)
{
	Cluebus__Message *m = NULL;
	cb_error_t err;

	(void)state;
	assert_int_equal(intake_from_json(doc, strlen(doc), &m, &err), 0);
	assert_null(clientseal_open((const sealkey_t *const *)&psb_key, 1, "psb", m, 1));
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

/* A correction carrying a corrected clue has sealed content, sealed like a clue once the
 * recipients are known (test_sealdir); one with a note only has none and goes as it is. */
static void
test_a_corrected_clue_is_sealed_and_a_note_alone_goes_as_it_is(void **state)
{
	static const char *const docs[] = {
		"\"clue\":{\"category\":\"public_tip\",\"jurisdiction\":\"210302\","
		    "\"occurred_at\":\"2026-03-01T08:00:00+08:00\",\"summary\":\"测试戊在车站\","
		    "\"handling\":{\"code\":\"h0\"},\"evaluation\":{\"source_reliability\":"
		    "\"b\",\"accuracy\":2}}",
		"\"note\":\"类别应为公众举报\"",
	};
	ProtobufCBinaryData clear;
	sealdir_t *d;

	(void)state;
	assert_int_equal(sealdir_new(&d), 0);
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		char json[1024];
		Cluebus__Message *m = NULL;
		cb_error_t err;

		snprintf(json, sizeof(json), "{\"kind\":\"correction\",\"priority\":\"routine\","
		    "\"refers_to\":\"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\",\"correction\":{\"op\":"
		    "\"correct\",\"reason\":\"填错\",%s}}", docs[i]);
		assert_int_equal(intake_from_json(json, strlen(json), &m, &err), 0);
		if (i == 0) {	/* sealable: no directory yet, so it waits for one */
			assert_true(sealbody_kind_sealable(m));
			assert_int_equal(clientseal_seal(d, m, &clear, &err), CB_EAGAIN);
		} else {
			assert_int_equal(clientseal_seal(d, m, &clear, &err), 0);
			assert_null(clear.data);
		}
		protobuf_c_message_free_unpacked(&m->base, NULL);
	}
	sealdir_free(d);
}

static int
setup(void **state)
{
	(void)state;
	return sealkey_generate(&psb_key) || sealkey_generate(&psb_old_key) ||
	    sealkey_generate(&ato_key);
}

static int
teardown(void **state)
{
	(void)state;
	sealkey_free(psb_key);
	sealkey_free(psb_old_key);
	sealkey_free(ato_key);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_outcome_of_opening_is_described_and_errors_leave_the_seal),
		cmocka_unit_test(test_after_a_rotation_old_messages_open_with_the_old_key),
		cmocka_unit_test(test_a_message_without_a_seal_has_no_sealing_member),
		cmocka_unit_test(test_a_corrected_clue_is_sealed_and_a_note_alone_goes_as_it_is),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

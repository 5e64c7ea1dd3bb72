/* tests/unit/test_sealbody.c — which fields of each body are sealed (lib/sealbody.c).
 *
 * A body sealed with sealbody_seal keeps only its clear metadata on the wire (the packed
 * message holds no name, id number or summary), passes message_validate, and each recipient
 * gets every sealed field back with sealbody_open; a unit outside the set, a damaged
 * ciphertext, an unknown suite and a payload moved to another message fail with their codes
 * and leave the message unchanged. Contents that do not fit the kind are refused, naming the
 * field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluebus/err.h"
#include "cluebus.pb-c.h"
#include "envelope.h"
#include "intake.h"
#include "keys.h"
#include "seal.h"
#include "sealbody.h"
#include "sealkey.h"

#define VICTIM_NAME	"测试丙"
#define VICTIM_ID	"210302201503040020"

static const char clue_json[] =
    "{\"kind\":\"clue\",\"priority\":\"urgent\",\"clue\":{\"category\":\"school\","
    "\"jurisdiction\":\"210302\",\"occurred_at\":\"2026-03-01T08:00:00Z\","
    "\"location\":\"铁东区某小学\",\"summary\":\"学生" VICTIM_NAME "连续缺课\","
    "\"handling\":{\"code\":\"h3\",\"text\":\"仅限救助\"},"
    "\"evaluation\":{\"source_reliability\":\"b\",\"accuracy\":2},"
    "\"persons\":[{\"role\":\"victim\",\"name\":\"" VICTIM_NAME "\",\"id_number\":\""
    VICTIM_ID "\",\"age\":11,\"gender\":\"female\"}]}}";

struct fixture {
	sealkey_t		*keys[3];
	seal_recipient_t	 rcpt[3];
	sealkey_t		*outsider;
	cb_key_t		*sign;
};

static int
setup(void **state)
{
	static const char *const units[] = { "psb", "office", "education" };
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		if (sealkey_generate(&f->keys[i]) != 0)
			return -1;
		f->rcpt[i].unit = units[i];
		f->rcpt[i].key = f->keys[i];
	}
	if (sealkey_generate(&f->outsider) != 0 || key_generate(&f->sign) != 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	for (size_t i = 0; i < 3; i++)
		sealkey_free(f->keys[i]);
	sealkey_free(f->outsider);
	key_free(f->sign);
	free(f);
	return 0;
}

/* A clue from intake with the header a signer would add. */
static Cluebus__Message *
clue_new(void)
{
	Cluebus__Message *m = NULL;
	cb_error_t err;

	assert_int_equal(intake_from_json(clue_json, strlen(clue_json), &m, &err), 0);
	m->message_id.data = malloc(16);
	assert_non_null(m->message_id.data);
	memset(m->message_id.data, 0x5a, 16);
	m->message_id.len = 16;
	m->sender = strdup("school-board");
	m->created_ms = 1770000000000;
	return m;
}

static void
message_free(Cluebus__Message *m)
{
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

static int
contains(const uint8_t *buf, size_t len, const char *needle)
{
	size_t nl = strlen(needle);

	for (size_t i = 0; i + nl <= len; i++)
		if (memcmp(buf + i, needle, nl) == 0)
			return 1;
	return 0;
}

/* The signed, carried bytes of a sealed message, opened again as a receiver would. */
static Cluebus__Message *
through_wire(struct fixture *f, Cluebus__Message *m, int *leaks)
{
	Cluebus__Envelope *env = NULL;
	Cluebus__Message *got = NULL;
	cb_error_t err;

	assert_int_equal(envelope_sign(m, f->sign, &env), 0);
	*leaks = contains(env->signed_.data, env->signed_.len, VICTIM_NAME) ||
	    contains(env->signed_.data, env->signed_.len, VICTIM_ID) ||
	    contains(env->signed_.data, env->signed_.len, "铁东区某小学");
	assert_int_equal(envelope_open(env, &got, &err), 0);
	m->key_id.data = NULL;	/* borrowed from env */
	m->key_id.len = 0;
	envelope_free(env);
	return got;
}

static void
test_a_sealed_clue_carries_no_personal_data_and_each_recipient_opens_it(void **state)
{
	struct fixture *f = *state;
	Cluebus__Message *m = clue_new(), *got;
	cb_error_t err;
	int leaks;

	assert_int_equal(sealbody_seal(m, f->rcpt, 3, &err), 0);
	assert_string_equal(m->clue->summary, "");
	assert_string_equal(m->clue->location, "");
	assert_int_equal(m->clue->n_persons, 0);
	assert_string_equal(m->clue->handling_text, "仅限救助");	/* clear: a restriction */
	for (size_t i = 0; i < 3; i++) {
		got = through_wire(f, m, &leaks);
		assert_false(leaks);
		assert_non_null(sealbody_sealed(got));
		assert_int_equal(sealbody_open(got, f->rcpt[i].unit, f->keys[i], &err), 0);
		assert_null(sealbody_sealed(got));
		assert_string_equal(got->clue->summary, "学生" VICTIM_NAME "连续缺课");
		assert_string_equal(got->clue->location, "铁东区某小学");
		assert_int_equal(got->clue->n_persons, 1);
		assert_string_equal(got->clue->persons[0]->name, VICTIM_NAME);
		assert_string_equal(got->clue->persons[0]->id_number, VICTIM_ID);
		assert_int_equal(got->clue->persons[0]->age, 11);
		message_free(got);
	}
	message_free(m);
}

/* The office refers the clue on to justice for legal aid (Art 25): it re-seals the
 * victim's name and id number and what justice needs of the summary, for justice alone. */
static void
test_a_referral_re_seals_persons_for_its_own_recipients(void **state)
{
	static const char doc[] =
	    "{\"kind\":\"referral\",\"priority\":\"routine\",\"refers_to\":"
	    "\"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\",\"referral\":{\"to_units\":[\"justice\"],"
	    "\"action\":\"legal_aid\",\"summary\":\"学生" VICTIM_NAME "被陌生人接走未遂\","
	    "\"persons\":[{\"role\":\"victim\",\"name\":\"" VICTIM_NAME "\",\"id_number\":\""
	    VICTIM_ID "\"}]}}";
	struct fixture *f = *state;
	seal_recipient_t justice = { "justice", f->keys[2] };
	Cluebus__Message *m = NULL, *got;
	cb_error_t err;
	int leaks;

	assert_int_equal(intake_from_json(doc, strlen(doc), &m, &err), 0);
	assert_int_equal(m->referral->n_persons, 1);
	m->message_id.data = calloc(1, 16);
	m->message_id.len = 16;
	m->sender = strdup("ato");
	m->created_ms = 1770000000000;
	assert_int_equal(sealbody_seal(m, &justice, 1, &err), 0);
	assert_int_equal(m->referral->n_persons, 0);
	assert_string_equal(m->referral->summary, "");
	got = through_wire(f, m, &leaks);
	assert_false(leaks);
	assert_int_equal(sealbody_open(got, "psb", f->keys[0], &err), CB_ENOTFOUND);
	assert_int_equal(sealbody_open(got, "justice", f->keys[2], &err), 0);
	assert_int_equal(got->referral->n_persons, 1);
	assert_string_equal(got->referral->persons[0]->id_number, VICTIM_ID);
	assert_non_null(strstr(got->referral->summary, VICTIM_NAME));
	message_free(got);
	message_free(m);
}

static void
test_a_unit_outside_the_seal_gets_not_found_and_the_message_is_unchanged(void **state)
{
	struct fixture *f = *state;
	Cluebus__Message *m = clue_new();
	cb_error_t err;

	assert_int_equal(sealbody_seal(m, f->rcpt, 2, &err), 0);
	assert_int_equal(sealbody_open(m, "education", f->keys[2], &err), CB_ENOTFOUND);
	assert_int_equal(sealbody_open(m, "psb", f->outsider, &err), CB_ENOTFOUND);
	assert_non_null(sealbody_sealed(m));
	assert_string_equal(m->clue->summary, "");
	assert_int_equal(sealbody_open(m, "psb", f->keys[0], &err), 0);
	message_free(m);
}

static void
test_damaged_ciphertext_fails_authentication(void **state)
{
	struct fixture *f = *state;
	Cluebus__Message *m = clue_new();
	cb_error_t err;

	assert_int_equal(sealbody_seal(m, f->rcpt, 3, &err), 0);
	m->clue->sealed->ciphertext.data[3] ^= 0x01;
	assert_int_equal(sealbody_open(m, "psb", f->keys[0], &err), CB_EBADSIG);
	assert_non_null(sealbody_sealed(m));
	assert_int_equal(m->clue->n_persons, 0);
	message_free(m);
}

static void
test_an_unknown_suite_is_refused_naming_it(void **state)
{
	struct fixture *f = *state;
	Cluebus__Message *m = clue_new();
	cb_error_t err;

	assert_int_equal(sealbody_seal(m, f->rcpt, 3, &err), 0);
	m->clue->sealed->suite = SEAL_SUITE_SM2_SM3_SM4;
	assert_int_equal(sealbody_open(m, "psb", f->keys[0], &err), CB_EKEY);
	assert_non_null(strstr(err.reason, "suite 2"));
	message_free(m);
}

static void
test_a_seal_moved_to_another_message_id_does_not_open(void **state)
{
	struct fixture *f = *state;
	Cluebus__Message *m = clue_new();
	cb_error_t err;

	assert_int_equal(sealbody_seal(m, f->rcpt, 3, &err), 0);
	m->message_id.data[0] ^= 0xff;
	assert_int_equal(sealbody_open(m, "psb", f->keys[0], &err), CB_EBADSIG);
	message_free(m);
}

static void
test_clear_fields_beside_a_seal_are_refused_by_validation(void **state)
{
	struct fixture *f = *state;
	Cluebus__Message *m = clue_new();
	cb_error_t err;

	assert_int_equal(sealbody_seal(m, f->rcpt, 3, &err), 0);
	m->clue->summary = strdup("left in clear");
	m->key_id.data = (uint8_t *)"12345678";
	m->key_id.len = 8;
	assert_int_equal(message_validate(m, &err), CB_EMALFORMED);
	assert_string_equal(err.field, "clue");
	assert_non_null(strstr(err.reason, "summary"));
	m->key_id.data = NULL;
	m->key_id.len = 0;
	message_free(m);
}

static void
test_every_kind_with_notes_seals_and_opens_them(void **state)
{
	static const char *const docs[] = {
	    "{\"kind\":\"referral\",\"priority\":\"routine\",\"refers_to\":"
	    "\"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\",\"referral\":{\"to_units\":[\"justice\"],"
	    "\"action\":\"legal_aid\",\"note\":\"为" VICTIM_NAME "申请法律援助\"}}",
	    "{\"kind\":\"receipt\",\"priority\":\"routine\",\"refers_to\":"
	    "\"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\",\"receipt\":{\"note\":\"" VICTIM_NAME
	    "已接收\"}}",
	    "{\"kind\":\"feedback\",\"priority\":\"routine\",\"refers_to\":"
	    "\"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\",\"feedback\":{\"status\":\"resolved\","
	    "\"note\":\"" VICTIM_NAME "已返校\"}}",
	    "{\"kind\":\"report\",\"priority\":\"routine\",\"report\":{\"type\":"
	    "\"warning_notice\",\"title\":\"通报\",\"text\":\"" VICTIM_NAME "案\"}}",
	};
	struct fixture *f = *state;
	cb_error_t err;
	int leaks;

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		Cluebus__Message *m = NULL, *got;
		json_t *j;
		char *s;

		assert_int_equal(intake_from_json(docs[i], strlen(docs[i]), &m, &err), 0);
		m->message_id.data = calloc(1, 16);
		m->message_id.len = 16;
		m->sender = strdup("office");
		m->created_ms = 1770000000000;
		assert_int_equal(sealbody_seal(m, f->rcpt, 3, &err), 0);
		got = through_wire(f, m, &leaks);
		assert_false(leaks);
		/* What an auditor without a key sees: no plaintext, the seal's facts. */
		j = intake_to_json(got);
		s = json_dumps(j, 0);
		assert_null(strstr(s, VICTIM_NAME));
		assert_non_null(strstr(s, "\"sealed\""));
		free(s);
		json_decref(j);
		assert_int_equal(sealbody_open(got, "office", f->keys[1], &err), 0);
		j = intake_to_json(got);
		s = json_dumps(j, 0);
		assert_non_null(strstr(s, VICTIM_NAME));
		free(s);
		json_decref(j);
		message_free(got);
		message_free(m);
	}
}

/* What a broker that requires sealing refuses: each row a document, the body and field
 * named, or NULL for a message that carries no personal data in clear. */
static void
test_personal_data_in_clear_is_named_and_clear_by_design_fields_are_not(void **state)
{
	static const struct {
		const char	*doc, *body, *field;
	} rows[] = {
	    { "{\"kind\":\"receipt\",\"refers_to\":\"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\","
	      "\"receipt\":{\"note\":\"" VICTIM_NAME "已接收\"}}", "receipt", "note" },
	    { "{\"kind\":\"receipt\",\"refers_to\":\"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\","
	      "\"receipt\":{}}", NULL, NULL },
	    { "{\"kind\":\"report\",\"report\":{\"type\":\"warning_notice\","
	      "\"title\":\"通报\",\"text\":\"" VICTIM_NAME "\"}}", "report", "title" },
	    { "{\"kind\":\"correction\",\"refers_to\":\"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\","
	      "\"correction\":{\"op\":\"correct\",\"reason\":\"类别填错\",\"clue\":{"
	      "\"category\":\"public_tip\",\"jurisdiction\":\"210302\",\"occurred_at\":"
	      "\"2026-02-27T09:30:00+08:00\",\"summary\":\"" VICTIM_NAME "\",\"handling\":"
	      "{\"code\":\"h0\"},\"evaluation\":{\"source_reliability\":\"b\","
	      "\"accuracy\":2}}}}", "correction.clue", "summary" },
	    { "{\"kind\":\"correction\",\"refers_to\":\"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\","
	      "\"correction\":{\"op\":\"withdraw\",\"reason\":\"误发\"}}", NULL, NULL },
	};
	struct fixture *f = *state;
	Cluebus__Message *m;
	cb_error_t err;

	m = clue_new();
	assert_int_equal(sealbody_clear_field(m, &err), CB_EMALFORMED);
	assert_string_equal(err.field, "clue");
	assert_non_null(strstr(err.reason, "summary"));
	assert_int_equal(sealbody_seal(m, f->rcpt, 3, &err), 0);
	assert_int_equal(sealbody_clear_field(m, &err), 0);
	message_free(m);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		m = NULL;
		if (intake_from_json(rows[i].doc, strlen(rows[i].doc), &m, &err) != 0)
			fail_msg("row %zu: %s: %s", i, err.field, err.reason);
		if (rows[i].body == NULL) {
			assert_int_equal(sealbody_clear_field(m, &err), 0);
		} else {
			assert_int_equal(sealbody_clear_field(m, &err), CB_EMALFORMED);
			assert_string_equal(err.field, rows[i].body);
			assert_non_null(strstr(err.reason, rows[i].field));
			assert_null(strstr(err.reason, VICTIM_NAME));
		}
		message_free(m);
	}
}

/* Bad contents for a body kind, each refused with its reason. */
static void
test_contents_that_do_not_fit_the_kind_are_refused(void **state)
{
	static const struct {
		Cluebus__Message__BodyCase	 body;
		const char			*summary, *title, *name;
		uint32_t			 role, age;
		const char			*reason;
	} bad[] = {
		{ CLUEBUS__MESSAGE__BODY_RECEIPT, "a summary", "", NULL, 0, 0, "summary" },
		{ CLUEBUS__MESSAGE__BODY_CLUE, "", "", NULL, 0, 0, "no summary" },
		{ CLUEBUS__MESSAGE__BODY_CLUE, "s", "a title", NULL, 0, 0, "title" },
		{ CLUEBUS__MESSAGE__BODY_FEEDBACK, "", "", "x", 1, 0, "persons" },
		{ CLUEBUS__MESSAGE__BODY_CLUE, "s", "", "x", 9, 0, "unknown role" },
		{ CLUEBUS__MESSAGE__BODY_CLUE, "s", "", "x", 1, 200, "age" },
		{ CLUEBUS__MESSAGE__BODY_ESCALATION, "", "", NULL, 0, 0, "no sealed content" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		Cluebus__SealedContent sc = CLUEBUS__SEALED_CONTENT__INIT, *out = NULL;
		Cluebus__Person p = CLUEBUS__PERSON__INIT, *pp = &p;
		uint8_t buf[512];
		size_t len;
		cb_error_t err;

		sc.summary = (char *)bad[i].summary;
		sc.title = (char *)bad[i].title;
		if (bad[i].name != NULL) {
			p.name = (char *)bad[i].name;
			p.role = bad[i].role;
			p.age = bad[i].age;
			sc.persons = &pp;
			sc.n_persons = 1;
		}
		len = cluebus__sealed_content__pack(&sc, buf);
		assert_int_equal(sealbody_content_decode(bad[i].body, buf, len, &out, &err),
		    CB_EMALFORMED);
		assert_null(out);
		if (strstr(err.reason, bad[i].reason) == NULL)
			fail_msg("case %zu: reason '%s' lacks '%s'", i, err.reason, bad[i].reason);
	}
	{
		static const uint8_t garbage[] = { 0x0a, 0xff, 0xff, 0xff };
		Cluebus__SealedContent *out = NULL;
		cb_error_t err;

		assert_int_equal(sealbody_content_decode(CLUEBUS__MESSAGE__BODY_CLUE, garbage,
		    sizeof(garbage), &out, &err), CB_EMALFORMED);
		assert_string_equal(err.field, "sealed");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_sealed_clue_carries_no_personal_data_and_each_recipient_opens_it),
		cmocka_unit_test(test_a_unit_outside_the_seal_gets_not_found_and_the_message_is_unchanged),
		cmocka_unit_test(test_a_referral_re_seals_persons_for_its_own_recipients),
		cmocka_unit_test(test_damaged_ciphertext_fails_authentication),
		cmocka_unit_test(test_an_unknown_suite_is_refused_naming_it),
		cmocka_unit_test(test_a_seal_moved_to_another_message_id_does_not_open),
		cmocka_unit_test(test_clear_fields_beside_a_seal_are_refused_by_validation),
		cmocka_unit_test(test_every_kind_with_notes_seals_and_opens_them),
		cmocka_unit_test(test_contents_that_do_not_fit_the_kind_are_refused),
		cmocka_unit_test(test_personal_data_in_clear_is_named_and_clear_by_design_fields_are_not),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

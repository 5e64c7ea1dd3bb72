/* tests/unit/test_envelope.c — signed envelopes and the message header/body checks.
 *
 * Sign bytes, carry bytes, parse after verifying: a valid clue signs, verifies and opens to
 * the same fields; changing any single carried byte breaks the signature; another unit's key
 * does not verify it; unsigned hints that disagree with the signed header are refused when
 * the envelope is opened. message_validate's refusals are one table (bad_messages[]): each
 * row damages one field of a valid clue and names the field and the reason expected; each
 * row runs as its own named test. */
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
#include "keys.h"

/* A valid clue built in place, with every buffer it points to. */
struct clue_fixture {
	Cluebus__Message	 msg;
	Cluebus__Clue		 clue;
	Cluebus__Person		 person;
	Cluebus__Person		*persons[65];
	Cluebus__Attachment	 attachment;
	Cluebus__Attachment	*attachments[1];
	Cluebus__Referral	 referral;
	char			*to_units[2];
	uint8_t			 id[MESSAGE_ID_LEN + 1];
	uint8_t			 refers_to[MESSAGE_ID_LEN + 1];
	uint8_t			 key_id[KEY_ID_LEN];
	uint8_t			 sha256[32];
	char			 long_text[16 * 1024 + 2];
};

static const uint8_t msg_id[MESSAGE_ID_LEN] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
    0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };

/* Fills `f` with a valid clue from "health". The key id is left empty (envelope_sign sets
 * it); message_validate tests set it to 8 bytes. */
static void
clue_init(struct clue_fixture *f)
{
	memset(f, 0, sizeof(*f));
	cluebus__message__init(&f->msg);
	cluebus__clue__init(&f->clue);
	cluebus__person__init(&f->person);
	cluebus__attachment__init(&f->attachment);
	cluebus__referral__init(&f->referral);
	memcpy(f->id, msg_id, MESSAGE_ID_LEN);
	memset(f->refers_to, 0x5a, sizeof(f->refers_to));
	memset(f->sha256, 0xab, sizeof(f->sha256));
	f->msg.message_id.data = f->id;
	f->msg.message_id.len = MESSAGE_ID_LEN;
	f->msg.sender = "health";
	f->msg.created_ms = 1772325000000;
	f->msg.kind = CLUEBUS__KIND__KIND_CLUE;
	f->msg.priority = CLUEBUS__PRIORITY__PRIORITY_URGENT;
	f->msg.case_ref = "铁东-2026-0042";
	f->msg.body_case = CLUEBUS__MESSAGE__BODY_CLUE;
	f->msg.clue = &f->clue;
	f->clue.category = CLUEBUS__CATEGORY__CATEGORY_MEDICAL;
	f->clue.jurisdiction = "210302";
	f->clue.occurred_ms = 1772325000000 - 3600000;
	f->clue.location = "鞍山市铁东区某医院产科";
	f->clue.summary = "产科登记的新生儿去向不明";
	f->clue.handling = CLUEBUS__HANDLING_CODE__HANDLING_H1;
	f->clue.source_reliability = CLUEBUS__SOURCE_RELIABILITY__RELIABILITY_B;
	f->clue.info_accuracy = 2;
	f->person.role = CLUEBUS__PERSON_ROLE__ROLE_VICTIM;
	f->person.gender = CLUEBUS__GENDER__GENDER_FEMALE;
	f->person.description = "女婴";
	for (size_t i = 0; i < 65; i++)
		f->persons[i] = &f->person;
	f->clue.persons = f->persons;
	f->clue.n_persons = 1;
	f->attachment.name = "record.pdf";
	f->attachment.sha256.data = f->sha256;
	f->attachment.sha256.len = 32;
	f->attachment.size = 123456;
	f->attachment.media_type = "application/pdf";
	f->attachments[0] = &f->attachment;
	f->clue.attachments = f->attachments;
	f->clue.n_attachments = 1;
	f->to_units[0] = "psb";
	f->to_units[1] = "civil-affairs";
	f->referral.to_units = f->to_units;
	f->referral.n_to_units = 2;
	f->referral.action = CLUEBUS__ACTION__ACTION_INVESTIGATE;
}

static void
clue_set_key_id(struct clue_fixture *f)
{
	memset(f->key_id, 0x42, sizeof(f->key_id));
	f->msg.key_id.data = f->key_id;
	f->msg.key_id.len = KEY_ID_LEN;
}

static cb_key_t *
generate(void)
{
	cb_key_t *k = NULL;

	assert_int_equal(key_generate(&k), 0);
	return k;
}

static Cluebus__Envelope *
sign(struct clue_fixture *f, const cb_key_t *k)
{
	Cluebus__Envelope *env = NULL;

	assert_int_equal(envelope_sign(&f->msg, k, &env), 0);
	assert_non_null(env);
	return env;
}

static void
message_free(Cluebus__Message *m)
{
	if (m != NULL)
		protobuf_c_message_free_unpacked(&m->base, NULL);
}

/* ---- same content ---------------------------------------------------------------------- */

static void
test_a_resigned_message_has_the_same_content_and_a_changed_body_does_not(void **state)
{
	struct clue_fixture a, b;

	(void)state;
	clue_init(&a);
	clue_init(&b);
	clue_set_key_id(&a);
	assert_int_equal(message_same_content(&a.msg, &b.msg), 1);
	/* Signed again: another key, a fresh creation time. */
	b.msg.created_ms += 86400000;
	memset(b.key_id, 0x17, sizeof(b.key_id));
	b.msg.key_id.data = b.key_id;
	b.msg.key_id.len = KEY_ID_LEN;
	assert_int_equal(message_same_content(&a.msg, &b.msg), 1);
	/* Anything else the sender signed differs: a conflict. */
	b.clue.summary = "另一份线索";
	assert_int_equal(message_same_content(&a.msg, &b.msg), 0);
	b.clue.summary = a.clue.summary;
	b.msg.priority = CLUEBUS__PRIORITY__PRIORITY_ROUTINE;
	assert_int_equal(message_same_content(&a.msg, &b.msg), 0);
	b.msg.priority = a.msg.priority;
	b.clue.n_persons = 2;
	assert_int_equal(message_same_content(&a.msg, &b.msg), 0);
}

/* ---- sign, verify, open ----------------------------------------------------------------- */

static void
test_a_signed_clue_verifies_and_opens_to_the_same_fields(void **state)
{
	struct clue_fixture *f = malloc(sizeof(*f));
	Cluebus__Message *m = NULL;
	Cluebus__Envelope *env;
	cb_key_t *k = generate();
	cb_error_t err;

	(void)state;
	assert_non_null(f);
	clue_init(f);
	env = sign(f, k);
	assert_int_equal(env->signature.len, KEY_SIG_LEN);
	assert_string_equal(env->sender, "health");
	assert_int_equal(env->key_id.len, KEY_ID_LEN);
	assert_memory_equal(env->key_id.data, key_id(k), KEY_ID_LEN);
	assert_int_equal(envelope_verify(env, k), 0);
	if (envelope_open(env, &m, &err) != 0)
		fail_msg("refused: %s: %s", err.field, err.reason);
	assert_int_equal(m->message_id.len, MESSAGE_ID_LEN);
	assert_memory_equal(m->message_id.data, msg_id, MESSAGE_ID_LEN);
	assert_string_equal(m->sender, "health");
	assert_int_equal(m->key_id.len, KEY_ID_LEN);
	assert_memory_equal(m->key_id.data, key_id(k), KEY_ID_LEN);
	assert_int_equal(m->created_ms, 1772325000000);
	assert_int_equal(m->kind, CLUEBUS__KIND__KIND_CLUE);
	assert_int_equal(m->priority, CLUEBUS__PRIORITY__PRIORITY_URGENT);
	assert_string_equal(m->case_ref, "铁东-2026-0042");
	assert_int_equal(m->refers_to.len, 0);
	assert_int_equal(m->body_case, CLUEBUS__MESSAGE__BODY_CLUE);
	assert_int_equal(m->clue->category, CLUEBUS__CATEGORY__CATEGORY_MEDICAL);
	assert_string_equal(m->clue->jurisdiction, "210302");
	assert_int_equal(m->clue->occurred_ms, 1772325000000 - 3600000);
	assert_string_equal(m->clue->location, "鞍山市铁东区某医院产科");
	assert_string_equal(m->clue->summary, "产科登记的新生儿去向不明");
	assert_int_equal(m->clue->handling, CLUEBUS__HANDLING_CODE__HANDLING_H1);
	assert_int_equal(m->clue->source_reliability,
	    CLUEBUS__SOURCE_RELIABILITY__RELIABILITY_B);
	assert_int_equal(m->clue->info_accuracy, 2);
	assert_int_equal(m->clue->n_persons, 1);
	assert_int_equal(m->clue->persons[0]->role, CLUEBUS__PERSON_ROLE__ROLE_VICTIM);
	assert_string_equal(m->clue->persons[0]->description, "女婴");
	assert_int_equal(m->clue->n_attachments, 1);
	assert_int_equal(m->clue->attachments[0]->size, 123456);
	assert_memory_equal(m->clue->attachments[0]->sha256.data, f->sha256, 32);
	/* The carried bytes are exactly the packing of what was signed. */
	assert_int_equal(cluebus__message__get_packed_size(m), env->signed_.len);
	message_free(m);
	envelope_free(env);
	key_free(k);
	free(f);
}

static void
test_flipping_any_single_byte_of_the_signed_bytes_breaks_verification(void **state)
{
	struct clue_fixture *f = malloc(sizeof(*f));
	Cluebus__Envelope *env;
	cb_key_t *k = generate();

	(void)state;
	assert_non_null(f);
	clue_init(f);
	env = sign(f, k);
	assert_true(env->signed_.len > 100);
	for (size_t i = 0; i < env->signed_.len; i++) {
		env->signed_.data[i] ^= 0x01;
		if (envelope_verify(env, k) != CB_EBADSIG)
			fail_msg("flipping byte %zu of %zu still verifies", i,
			    env->signed_.len);
		env->signed_.data[i] ^= 0x01;
	}
	assert_int_equal(envelope_verify(env, k), 0);
	/* Dropping the last byte, too. */
	env->signed_.len--;
	assert_int_equal(envelope_verify(env, k), CB_EBADSIG);
	env->signed_.len++;
	envelope_free(env);
	key_free(k);
	free(f);
}

static void
test_a_signature_by_another_units_key_does_not_verify(void **state)
{
	struct clue_fixture *f = malloc(sizeof(*f));
	cb_key_t *mine = generate(), *theirs = generate();
	Cluebus__Envelope *env;
	uint8_t forged[KEY_SIG_LEN];

	(void)state;
	assert_non_null(f);
	clue_init(f);
	env = sign(f, mine);
	/* Checked with the other unit's key: the key id hint already differs. */
	assert_int_equal(envelope_verify(env, theirs), CB_EBADSIG);
	/* The other unit re-signs the same bytes and claims its own key id: the signature is
	 * checked against the key the verifier picked, not the one the envelope claims. */
	assert_int_equal(key_sign(theirs, env->signed_.data, env->signed_.len, forged), 0);
	memcpy(env->signature.data, forged, KEY_SIG_LEN);
	assert_int_equal(envelope_verify(env, mine), CB_EBADSIG);
	memcpy(env->key_id.data, key_id(theirs), KEY_ID_LEN);
	assert_int_equal(envelope_verify(env, theirs), 0);	/* theirs over the bytes */
	assert_int_equal(envelope_verify(env, mine), CB_EBADSIG);
	envelope_free(env);
	key_free(theirs);
	key_free(mine);
	free(f);
}

static void
test_a_truncated_or_missing_signature_does_not_verify(void **state)
{
	struct clue_fixture *f = malloc(sizeof(*f));
	Cluebus__Envelope *env;
	cb_key_t *k = generate();

	(void)state;
	assert_non_null(f);
	clue_init(f);
	env = sign(f, k);
	env->signature.len = KEY_SIG_LEN - 1;
	assert_int_equal(envelope_verify(env, k), CB_EBADSIG);
	env->signature.len = 0;
	assert_int_equal(envelope_verify(env, k), CB_EBADSIG);
	env->signature.len = KEY_SIG_LEN;
	env->key_id.len = KEY_ID_LEN - 1;
	assert_int_equal(envelope_verify(env, k), CB_EBADSIG);
	env->key_id.len = KEY_ID_LEN;
	assert_int_equal(envelope_verify(env, k), 0);
	envelope_free(env);
	key_free(k);
	free(f);
}

static void
test_a_sender_hint_that_differs_from_the_signed_sender_is_refused(void **state)
{
	struct clue_fixture *f = malloc(sizeof(*f));
	Cluebus__Message *m = NULL;
	Cluebus__Envelope *env;
	cb_key_t *k = generate();
	cb_error_t err;
	char *orig;

	(void)state;
	assert_non_null(f);
	clue_init(f);
	env = sign(f, k);
	orig = env->sender;
	env->sender = "psb";
	assert_int_equal(envelope_open(env, &m, &err), CB_EMALFORMED);
	assert_null(m);
	assert_string_equal(err.field, "sender");
	assert_non_null(strstr(err.reason, "differs"));
	env->sender = NULL;
	assert_int_equal(envelope_open(env, &m, &err), CB_EMALFORMED);
	assert_string_equal(err.field, "sender");
	env->sender = orig;
	assert_int_equal(envelope_open(env, &m, &err), 0);
	message_free(m);
	envelope_free(env);
	key_free(k);
	free(f);
}

static void
test_a_key_id_hint_that_differs_from_the_signed_key_id_is_refused(void **state)
{
	struct clue_fixture *f = malloc(sizeof(*f));
	Cluebus__Message *m = NULL;
	Cluebus__Envelope *env;
	cb_key_t *k = generate();
	cb_error_t err;

	(void)state;
	assert_non_null(f);
	clue_init(f);
	env = sign(f, k);
	env->key_id.data[7] ^= 0xff;
	assert_int_equal(envelope_open(env, &m, &err), CB_EMALFORMED);
	assert_null(m);
	assert_string_equal(err.field, "key_id");
	assert_non_null(strstr(err.reason, "differs"));
	env->key_id.data[7] ^= 0xff;
	env->key_id.len = 4;
	assert_int_equal(envelope_open(env, &m, &err), CB_EMALFORMED);
	assert_string_equal(err.field, "key_id");
	env->key_id.len = KEY_ID_LEN;
	envelope_free(env);
	key_free(k);
	free(f);
}

static void
test_signed_bytes_that_are_not_a_message_are_refused_when_opened(void **state)
{
	static uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f };
	Cluebus__Envelope env = CLUEBUS__ENVELOPE__INIT;
	Cluebus__Message *m = NULL;
	cb_error_t err;

	(void)state;
	env.signed_.data = garbage;
	env.signed_.len = sizeof(garbage);
	env.sender = "health";
	assert_int_equal(envelope_open(&env, &m, &err), CB_EMALFORMED);
	assert_null(m);
	assert_string_equal(err.field, "envelope.signed");
	assert_non_null(strstr(err.reason, "not a valid Message"));
	/* Empty bytes parse as an empty message, which has no id. */
	env.signed_.len = 0;
	assert_int_equal(envelope_open(&env, &m, &err), CB_EMALFORMED);
	assert_string_equal(err.field, "sender");
	/* Larger than the bound: refused before parsing. */
	env.signed_.len = ENVELOPE_MAX + 1;
	assert_int_equal(envelope_open(&env, &m, &err), CB_EMALFORMED);
	assert_string_equal(err.field, "envelope.signed");
	assert_non_null(strstr(err.reason, "larger than"));
}

static void
test_an_envelope_without_any_key_id_is_refused_for_the_missing_key_id(void **state)
{
	struct clue_fixture *f = malloc(sizeof(*f));
	Cluebus__Envelope env = CLUEBUS__ENVELOPE__INIT;
	Cluebus__Message *m = NULL;
	cb_error_t err;
	uint8_t *buf;

	(void)state;
	assert_non_null(f);
	clue_init(f);		/* no key id in the message, none in the hints */
	env.signed_.len = cluebus__message__get_packed_size(&f->msg);
	assert_non_null(buf = malloc(env.signed_.len));
	cluebus__message__pack(&f->msg, buf);
	env.signed_.data = buf;
	env.sender = "health";
	/* Both key ids are empty (NULL data): comparing them must not touch the pointers
	 * (found by fuzz_wire; UBSan aborts on memcmp(NULL, NULL, 0)). */
	assert_int_equal(envelope_open(&env, &m, &err), CB_EMALFORMED);
	assert_null(m);
	assert_string_equal(err.field, "key_id");
	assert_string_equal(err.reason, "not 8 bytes");
	free(buf);
	free(f);
}

static void
test_a_signed_message_with_an_invalid_body_is_refused_when_opened(void **state)
{
	struct clue_fixture *f = malloc(sizeof(*f));
	Cluebus__Message *m = NULL;
	Cluebus__Envelope *env;
	cb_key_t *k = generate();
	cb_error_t err;

	(void)state;
	assert_non_null(f);
	clue_init(f);
	f->clue.jurisdiction = "21030";
	env = sign(f, k);
	assert_int_equal(envelope_verify(env, k), 0);	/* signed, but not valid */
	assert_int_equal(envelope_open(env, &m, &err), CB_EMALFORMED);
	assert_null(m);
	assert_string_equal(err.field, "clue.jurisdiction");
	envelope_free(env);
	key_free(k);
	free(f);
}

static void
test_a_message_larger_than_the_envelope_bound_is_not_signed(void **state)
{
	struct clue_fixture *f = malloc(sizeof(*f));
	Cluebus__Envelope *env = NULL;
	cb_key_t *k = generate();
	char *big = malloc(ENVELOPE_MAX + 1);

	(void)state;
	assert_non_null(f);
	assert_non_null(big);
	clue_init(f);
	memset(big, 'x', ENVELOPE_MAX);
	big[ENVELOPE_MAX] = '\0';
	f->clue.summary = big;
	assert_int_equal(envelope_sign(&f->msg, k, &env), CB_ETOOBIG);
	assert_null(env);
	assert_null(f->msg.key_id.data);	/* left as it was */
	assert_int_equal(f->msg.key_id.len, 0);
	free(big);
	key_free(k);
	free(f);
}

static void
test_a_public_only_key_cannot_sign_an_envelope(void **state)
{
	struct clue_fixture *f = malloc(sizeof(*f));
	Cluebus__Envelope *env = NULL;
	cb_key_t *k = generate(), *pub = NULL;

	(void)state;
	assert_non_null(f);
	clue_init(f);
	assert_int_equal(key_from_public(key_public(k), KEY_PUBLIC_LEN, &pub), 0);
	assert_int_equal(envelope_sign(&f->msg, pub, &env), CB_EINVAL);
	assert_null(env);
	assert_null(f->msg.key_id.data);
	key_free(pub);
	key_free(k);
	free(f);
}

static void
test_a_duplicated_envelope_carries_the_same_bytes_in_new_buffers(void **state)
{
	struct clue_fixture *f = malloc(sizeof(*f));
	Cluebus__Envelope *env, *dup;
	cb_key_t *k = generate();

	(void)state;
	assert_non_null(f);
	clue_init(f);
	env = sign(f, k);
	assert_non_null(dup = envelope_dup(env));
	assert_ptr_not_equal(dup->signed_.data, env->signed_.data);
	assert_int_equal(dup->signed_.len, env->signed_.len);
	assert_memory_equal(dup->signed_.data, env->signed_.data, env->signed_.len);
	assert_memory_equal(dup->signature.data, env->signature.data, KEY_SIG_LEN);
	assert_memory_equal(dup->key_id.data, env->key_id.data, KEY_ID_LEN);
	assert_string_equal(dup->sender, env->sender);
	envelope_free(env);
	assert_int_equal(envelope_verify(dup, k), 0);
	envelope_free(dup);
	envelope_free(NULL);
	key_free(k);
	free(f);
}

/* ---- workflow bodies: what they act on, and their enums ---------------------------------- */

static void
test_workflow_messages_missing_a_referral_or_with_bad_enums_are_refused(void **state)
{
	static uint8_t id[MESSAGE_ID_LEN] = { 1 }, kid[8] = { 2 }, ref[MESSAGE_ID_LEN] = { 3 };
	static char *units[] = { "education" };
	static const struct {
		Cluebus__Kind	 kind;
		int		 refers, value, transferred;
		const char	*field;
	} rows[] = {
		{ CLUEBUS__KIND__KIND_RECEIPT, 0, 0, 0, "refers_to" },
		{ CLUEBUS__KIND__KIND_FEEDBACK, 0, CLUEBUS__FEEDBACK_STATUS__FEEDBACK_RESOLVED, 0,
		    "refers_to" },
		{ CLUEBUS__KIND__KIND_FEEDBACK, 1, 0, 0, "feedback.status" },
		{ CLUEBUS__KIND__KIND_FEEDBACK, 1, 6, 0, "feedback.status" },
		{ CLUEBUS__KIND__KIND_FEEDBACK, 1, CLUEBUS__FEEDBACK_STATUS__FEEDBACK_TRANSFERRED,
		    0, "feedback.transferred_to" },
		{ CLUEBUS__KIND__KIND_FEEDBACK, 1, CLUEBUS__FEEDBACK_STATUS__FEEDBACK_RESOLVED, 1,
		    "feedback.transferred_to" },
		{ CLUEBUS__KIND__KIND_SUPERVISION, 0, CLUEBUS__SUPERVISION_LEVEL__SUPERVISION_LISTED,
		    0, "refers_to" },
		{ CLUEBUS__KIND__KIND_SUPERVISION, 1, 0, 0, "supervision.level" },
		{ CLUEBUS__KIND__KIND_REFERRAL, 1, 0, 1, "referral.action" },
		{ CLUEBUS__KIND__KIND_REFERRAL, 1, CLUEBUS__ACTION__ACTION_RESCUE, 0,
		    "referral.to_units" },
		{ CLUEBUS__KIND__KIND_REPORT, 0, 0, 0, "report.type" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		Cluebus__Message m = CLUEBUS__MESSAGE__INIT;
		Cluebus__Receipt rc = CLUEBUS__RECEIPT__INIT;
		Cluebus__Feedback fb = CLUEBUS__FEEDBACK__INIT;
		Cluebus__Supervision sv = CLUEBUS__SUPERVISION__INIT;
		Cluebus__Referral rf = CLUEBUS__REFERRAL__INIT;
		Cluebus__Report rp = CLUEBUS__REPORT__INIT;
		cb_error_t err;

		m.message_id.data = id, m.message_id.len = MESSAGE_ID_LEN;
		m.key_id.data = kid, m.key_id.len = 8;
		m.sender = "ato";
		m.created_ms = 1;
		m.priority = CLUEBUS__PRIORITY__PRIORITY_ROUTINE;
		m.kind = rows[i].kind;
		if (rows[i].refers)
			m.refers_to.data = ref, m.refers_to.len = MESSAGE_ID_LEN;
		switch (rows[i].kind) {
		case CLUEBUS__KIND__KIND_RECEIPT:
			m.body_case = CLUEBUS__MESSAGE__BODY_RECEIPT, m.receipt = &rc;
			break;
		case CLUEBUS__KIND__KIND_FEEDBACK:
			m.body_case = CLUEBUS__MESSAGE__BODY_FEEDBACK, m.feedback = &fb;
			fb.status = rows[i].value;
			fb.transferred_to = units;
			fb.n_transferred_to = rows[i].transferred;
			break;
		case CLUEBUS__KIND__KIND_SUPERVISION:
			m.body_case = CLUEBUS__MESSAGE__BODY_SUPERVISION, m.supervision = &sv;
			sv.level = rows[i].value;
			break;
		case CLUEBUS__KIND__KIND_REFERRAL:
			m.body_case = CLUEBUS__MESSAGE__BODY_REFERRAL, m.referral = &rf;
			rf.action = rows[i].value;
			rf.to_units = units;
			rf.n_to_units = rows[i].transferred;
			break;
		default:
			m.body_case = CLUEBUS__MESSAGE__BODY_REPORT, m.report = &rp;
			break;
		}
		memset(&err, 0, sizeof(err));
		if (message_validate(&m, &err) != CB_EMALFORMED)
			fail_msg("row %zu: accepted", i);
		if (strcmp(err.field, rows[i].field) != 0)
			fail_msg("row %zu: field %s (%s), want %s", i, err.field, err.reason,
			    rows[i].field);
	}
}

/* ---- message_validate refusals ---------------------------------------------------------- */

/* Ways to damage one field of the valid clue. */
enum damage {
	D_ID_15,
	D_ID_17,
	D_ID_EMPTY,
	D_SENDER_UPPER,
	D_SENDER_EMPTY,
	D_SENDER_SPACE,
	D_SENDER_33,
	D_KEY_ID_7,
	D_KEY_ID_NONE,
	D_CREATED_ZERO,
	D_CREATED_NEGATIVE,
	D_KIND_ZERO,
	D_KIND_PAST_LAST,
	D_KIND_HUGE,
	D_KIND_NEGATIVE,
	D_KIND_REFERRAL,
	D_BODY_REFERRAL,
	D_BODY_NONE,
	D_PRIORITY_ZERO,
	D_PRIORITY_FOUR,
	D_CASE_REF_LONG,
	D_REFERS_TO_8,
	D_CATEGORY_ZERO,
	D_CATEGORY_17,
	D_JURISDICTION_5,
	D_JURISDICTION_7,
	D_JURISDICTION_LETTER,
	D_JURISDICTION_EMPTY,
	D_SUMMARY_EMPTY,
	D_SUMMARY_LONG,
	D_LOCATION_LONG,
	D_HANDLING_ZERO,
	D_HANDLING_FIVE,
	D_RELIABILITY_ZERO,
	D_RELIABILITY_FIVE,
	D_ACCURACY_ZERO,
	D_ACCURACY_FIVE,
	D_PERSONS_65,
	D_SHA256_31,
	D_REFERRAL_BAD_UNIT,
};

static void
damage(struct clue_fixture *f, enum damage how)
{
	switch (how) {
	case D_ID_15:
		f->msg.message_id.len = 15;
		break;
	case D_ID_17:
		f->msg.message_id.len = 17;
		break;
	case D_ID_EMPTY:
		f->msg.message_id.len = 0;
		break;
	case D_SENDER_UPPER:
		f->msg.sender = "Health";
		break;
	case D_SENDER_EMPTY:
		f->msg.sender = "";
		break;
	case D_SENDER_SPACE:
		f->msg.sender = "health ";
		break;
	case D_SENDER_33:
		f->msg.sender = "abcdefghijklmnopqrstuvwxyz0123456";
		break;
	case D_KEY_ID_7:
		f->msg.key_id.len = 7;
		break;
	case D_KEY_ID_NONE:
		f->msg.key_id.len = 0;
		break;
	case D_CREATED_ZERO:
		f->msg.created_ms = 0;
		break;
	case D_CREATED_NEGATIVE:
		f->msg.created_ms = -1;
		break;
	case D_KIND_ZERO:
		f->msg.kind = 0;
		break;
	case D_KIND_PAST_LAST:
		f->msg.kind = CLUEBUS__KIND__KIND_CORRECTION + 1;
		break;
	case D_KIND_HUGE:
		f->msg.kind = (Cluebus__Kind)0x7fffffff;
		break;
	case D_KIND_NEGATIVE:
		f->msg.kind = (Cluebus__Kind)-1;
		break;
	case D_KIND_REFERRAL:
		f->msg.kind = CLUEBUS__KIND__KIND_REFERRAL;
		break;
	case D_BODY_REFERRAL:
		f->msg.body_case = CLUEBUS__MESSAGE__BODY_REFERRAL;
		f->msg.referral = &f->referral;
		break;
	case D_BODY_NONE:
		f->msg.body_case = CLUEBUS__MESSAGE__BODY__NOT_SET;
		f->msg.clue = NULL;
		break;
	case D_PRIORITY_ZERO:
		f->msg.priority = 0;
		break;
	case D_PRIORITY_FOUR:
		f->msg.priority = 4;
		break;
	case D_CASE_REF_LONG:
		memset(f->long_text, 'c', 257);
		f->long_text[257] = '\0';
		f->msg.case_ref = f->long_text;
		break;
	case D_REFERS_TO_8:
		f->msg.refers_to.data = f->refers_to;
		f->msg.refers_to.len = 8;
		break;
	case D_CATEGORY_ZERO:
		f->clue.category = 0;
		break;
	case D_CATEGORY_17:
		f->clue.category = 17;
		break;
	case D_JURISDICTION_5:
		f->clue.jurisdiction = "21030";
		break;
	case D_JURISDICTION_7:
		f->clue.jurisdiction = "2103021";
		break;
	case D_JURISDICTION_LETTER:
		f->clue.jurisdiction = "21030a";
		break;
	case D_JURISDICTION_EMPTY:
		f->clue.jurisdiction = "";
		break;
	case D_SUMMARY_EMPTY:
		f->clue.summary = "";
		break;
	case D_SUMMARY_LONG:
		memset(f->long_text, 's', 16 * 1024 + 1);
		f->long_text[16 * 1024 + 1] = '\0';
		f->clue.summary = f->long_text;
		break;
	case D_LOCATION_LONG:
		memset(f->long_text, 'l', 257);
		f->long_text[257] = '\0';
		f->clue.location = f->long_text;
		break;
	case D_HANDLING_ZERO:
		f->clue.handling = 0;
		break;
	case D_HANDLING_FIVE:
		f->clue.handling = 5;
		break;
	case D_RELIABILITY_ZERO:
		f->clue.source_reliability = 0;
		break;
	case D_RELIABILITY_FIVE:
		f->clue.source_reliability = 5;
		break;
	case D_ACCURACY_ZERO:
		f->clue.info_accuracy = 0;
		break;
	case D_ACCURACY_FIVE:
		f->clue.info_accuracy = 5;
		break;
	case D_PERSONS_65:
		f->clue.n_persons = 65;
		break;
	case D_SHA256_31:
		f->attachment.sha256.len = 31;
		break;
	case D_REFERRAL_BAD_UNIT:
		f->msg.kind = CLUEBUS__KIND__KIND_REFERRAL;
		f->msg.body_case = CLUEBUS__MESSAGE__BODY_REFERRAL;
		f->msg.referral = &f->referral;
		f->to_units[1] = "Civil Affairs";
		break;
	}
}

struct bad_message {
	const char	*name;		/* the test's name, a sentence */
	enum damage	 how;
	const char	*field;		/* err.field, exactly */
	const char	*reason;	/* a piece of err.reason */
};

static const struct bad_message bad_messages[] = {
	{ "A message id of 15 bytes is refused", D_ID_15, "message_id", "not 16 bytes" },
	{ "A message id of 17 bytes is refused", D_ID_17, "message_id", "not 16 bytes" },
	{ "A missing message id is refused", D_ID_EMPTY, "message_id", "not 16 bytes" },
	{ "A sender with capital letters is refused", D_SENDER_UPPER, "sender",
	    "not a unit id" },
	{ "An empty sender is refused", D_SENDER_EMPTY, "sender", "not a unit id" },
	{ "A sender with a space is refused", D_SENDER_SPACE, "sender", "not a unit id" },
	{ "A sender of 33 characters is refused", D_SENDER_33, "sender", "not a unit id" },
	{ "A key id of 7 bytes is refused", D_KEY_ID_7, "key_id", "not 8 bytes" },
	{ "A missing key id is refused", D_KEY_ID_NONE, "key_id", "not 8 bytes" },
	{ "A creation time of zero is refused", D_CREATED_ZERO, "created", "missing" },
	{ "A negative creation time is refused", D_CREATED_NEGATIVE, "created", "missing" },
	{ "An unspecified kind is refused", D_KIND_ZERO, "kind", "unknown kind" },
	{ "A kind past the last kind is refused", D_KIND_PAST_LAST, "kind", "unknown kind" },
	{ "A huge kind value is refused", D_KIND_HUGE, "kind", "unknown kind" },
	{ "A negative kind value is refused", D_KIND_NEGATIVE, "kind", "unknown kind" },
	{ "A referral kind carrying a clue body is refused", D_KIND_REFERRAL, "kind",
	    "body does not match the kind" },
	{ "A clue kind carrying a referral body is refused", D_BODY_REFERRAL, "kind",
	    "body does not match the kind" },
	{ "A clue kind without a body is refused", D_BODY_NONE, "kind",
	    "body does not match the kind" },
	{ "An unspecified priority is refused", D_PRIORITY_ZERO, "priority",
	    "unknown priority" },
	{ "Priority 4, past immediate, is refused", D_PRIORITY_FOUR, "priority",
	    "unknown priority" },
	{ "A case reference of 257 bytes is refused", D_CASE_REF_LONG, "case_ref",
	    "longer than 256 bytes" },
	{ "A refers_to of 8 bytes is refused", D_REFERS_TO_8, "refers_to", "not 16 bytes" },
	{ "Clue category 0 is refused", D_CATEGORY_ZERO, "clue.category", "unknown category" },
	{ "Clue category 17, past other, is refused", D_CATEGORY_17, "clue.category",
	    "unknown category" },
	{ "Jurisdiction 21030 (five digits) is refused", D_JURISDICTION_5,
	    "clue.jurisdiction", "not a 6-digit division code" },
	{ "Jurisdiction of seven digits is refused", D_JURISDICTION_7, "clue.jurisdiction",
	    "not a 6-digit division code" },
	{ "Jurisdiction with a letter is refused", D_JURISDICTION_LETTER,
	    "clue.jurisdiction", "not a 6-digit division code" },
	{ "An empty jurisdiction is refused", D_JURISDICTION_EMPTY, "clue.jurisdiction",
	    "not a 6-digit division code" },
	{ "An empty summary is refused", D_SUMMARY_EMPTY, "clue.summary", "empty" },
	{ "A summary of 16385 bytes is refused", D_SUMMARY_LONG, "clue.summary",
	    "longer than 16384 bytes" },
	{ "A location of 257 bytes is refused", D_LOCATION_LONG, "clue.location", "too long" },
	{ "An unspecified handling code is refused", D_HANDLING_ZERO, "clue.handling",
	    "unknown handling code" },
	{ "Handling code 5, past H3, is refused", D_HANDLING_FIVE, "clue.handling",
	    "unknown handling code" },
	{ "An unspecified source reliability is refused", D_RELIABILITY_ZERO,
	    "clue.source_reliability", "unknown value" },
	{ "Source reliability 5, past X, is refused", D_RELIABILITY_FIVE,
	    "clue.source_reliability", "unknown value" },
	{ "Information accuracy 0 is refused", D_ACCURACY_ZERO, "clue.info_accuracy",
	    "not in 1..4" },
	{ "Information accuracy 5 is refused", D_ACCURACY_FIVE, "clue.info_accuracy",
	    "not in 1..4" },
	{ "A clue with 65 persons is refused", D_PERSONS_65, "clue.persons",
	    "more than 64 items" },
	{ "An attachment hash of 31 bytes is refused", D_SHA256_31, "clue.attachments.sha256",
	    "not 32 bytes" },
	{ "A referral to something that is not a unit id is refused", D_REFERRAL_BAD_UNIT,
	    "referral.to_units", "entry 1 is not a unit id" },
};

static void
test_the_valid_clue_passes_message_validate(void **state)
{
	struct clue_fixture *f = malloc(sizeof(*f));
	cb_error_t err;

	(void)state;
	assert_non_null(f);
	clue_init(f);
	clue_set_key_id(f);
	if (message_validate(&f->msg, &err) != 0)
		fail_msg("refused: %s: %s", err.field, err.reason);
	/* Limits themselves are accepted: accuracy 1 and 4, 64 persons, a 16-byte refers_to,
	 * a referral with valid unit ids. */
	f->clue.info_accuracy = 4;
	f->clue.n_persons = 64;
	f->msg.refers_to.data = f->refers_to;
	f->msg.refers_to.len = MESSAGE_ID_LEN;
	assert_int_equal(message_validate(&f->msg, &err), 0);
	f->clue.info_accuracy = 1;
	assert_int_equal(message_validate(&f->msg, &err), 0);
	f->msg.kind = CLUEBUS__KIND__KIND_REFERRAL;
	damage(f, D_BODY_REFERRAL);
	assert_int_equal(message_validate(&f->msg, &err), 0);
	free(f);
}

static void
test_bad_message(void **state)
{
	const struct bad_message *row = *state;
	struct clue_fixture *f = malloc(sizeof(*f));
	cb_error_t err;
	int rc;

	assert_non_null(f);
	clue_init(f);
	clue_set_key_id(f);
	assert_int_equal(message_validate(&f->msg, &err), 0);
	damage(f, row->how);
	memset(&err, 0, sizeof(err));
	rc = message_validate(&f->msg, &err);
	if (rc != CB_EMALFORMED)
		fail_msg("got %s (%s: %s), want malformed input", cb_strerror(rc), err.field,
		    err.reason);
	assert_string_equal(err.field, row->field);
	if (strstr(err.reason, row->reason) == NULL)
		fail_msg("reason \"%s\" does not say \"%s\"", err.reason, row->reason);
	free(f);
}

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(
		    test_workflow_messages_missing_a_referral_or_with_bad_enums_are_refused),
		cmocka_unit_test(test_a_signed_clue_verifies_and_opens_to_the_same_fields),
		cmocka_unit_test(
		    test_flipping_any_single_byte_of_the_signed_bytes_breaks_verification),
		cmocka_unit_test(test_a_signature_by_another_units_key_does_not_verify),
		cmocka_unit_test(test_a_truncated_or_missing_signature_does_not_verify),
		cmocka_unit_test(
		    test_a_sender_hint_that_differs_from_the_signed_sender_is_refused),
		cmocka_unit_test(
		    test_a_key_id_hint_that_differs_from_the_signed_key_id_is_refused),
		cmocka_unit_test(test_signed_bytes_that_are_not_a_message_are_refused_when_opened),
		cmocka_unit_test(
		    test_an_envelope_without_any_key_id_is_refused_for_the_missing_key_id),
		cmocka_unit_test(test_a_signed_message_with_an_invalid_body_is_refused_when_opened),
		cmocka_unit_test(test_a_message_larger_than_the_envelope_bound_is_not_signed),
		cmocka_unit_test(test_a_public_only_key_cannot_sign_an_envelope),
		cmocka_unit_test(test_a_duplicated_envelope_carries_the_same_bytes_in_new_buffers),
		cmocka_unit_test(test_the_valid_clue_passes_message_validate),
		cmocka_unit_test(test_a_resigned_message_has_the_same_content_and_a_changed_body_does_not),
	};
	enum { NBAD = sizeof(bad_messages) / sizeof(bad_messages[0]) };
	static struct CMUnitTest refused[NBAD];
	int failed;

	for (size_t i = 0; i < NBAD; i++) {
		refused[i].name = bad_messages[i].name;
		refused[i].test_func = test_bad_message;
		refused[i].initial_state = (void *)&bad_messages[i];
	}
	failed = cmocka_run_group_tests_name("envelope", fixed, NULL, NULL);
	failed += _cmocka_run_group_tests("message_validate refusals", refused, NBAD, NULL,
	    NULL);
	return failed != 0;
}

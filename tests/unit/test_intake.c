/* tests/unit/test_intake.c — the agency JSON format: what is accepted, what is refused, and
 * that rendering a clue and parsing it again gives back the same message.
 *
 * The refusals are one table (bad_docs[]): each row is a document, the error code, the exact
 * field path and a piece of the reason. Each row runs as its own named test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cluebus/err.h"
#include "cluebus.pb-c.h"
#include "envelope.h"
#include "intake.h"

/* ---- documents --------------------------------------------------------------------------- */

#define SHA_A	"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define ID_A	"00112233445566778899aabbccddeeff"
#define ID_B	"ffeeddccbbaa99887766554433221100"

#define CAT	"\"category\":\"medical\""
#define JUR	"\"jurisdiction\":\"210302\""
#define OCC	"\"occurred_at\":\"2026-03-01T08:30:00+08:00\""
#define SUM	"\"summary\":\"s\""
#define HND	"\"handling\":{\"code\":\"h0\"}"
#define EVL	"\"evaluation\":{\"source_reliability\":\"b\",\"accuracy\":2}"
#define REQ	CAT "," JUR "," OCC "," SUM "," HND "," EVL
#define CLUE_OPEN		"{\"kind\":\"clue\",\"clue\":{"
#define CLUE(...)		CLUE_OPEN __VA_ARGS__ "}}"
#define CLUE_HDR(hdr, ...)	"{\"kind\":\"clue\"," hdr ",\"clue\":{" __VA_ARGS__ "}}"
#define PERSONS(...)		CLUE(REQ ",\"persons\":[" __VA_ARGS__ "]")
#define ATTACH(...)		CLUE(REQ ",\"attachments\":[" __VA_ARGS__ "]")

static const char full_clue[] =
    "{\n"
    "  \"kind\": \"clue\",\n"
    "  \"message_id\": \"" ID_A "\",\n"
    "  \"priority\": \"urgent\",\n"
    "  \"case_ref\": \"铁东-2026-0042\",\n"
    "  \"refers_to\": \"" ID_B "\",\n"
    "  \"clue\": {\n"
    "    \"category\": \"medical\",\n"
    "    \"jurisdiction\": \"210302\",\n"
    "    \"occurred_at\": \"2026-03-01T08:30:00.250+08:00\",\n"
    "    \"location\": \"鞍山市铁东区某医院产科\",\n"
    "    \"summary\": \"第一行\\n第二行\",\n"
    "    \"handling\": { \"code\": \"h3\", \"text\": \"仅限公安机关使用\" },\n"
    "    \"evaluation\": { \"source_reliability\": \"b\", \"accuracy\": 2 },\n"
    "    \"persons\": [\n"
    "      { \"role\": \"victim\", \"gender\": \"female\", \"description\": \"女婴\" },\n"
    "      { \"role\": \"reporter\", \"name\": \"王护士\", \"id_number\": \"210302199001011238\",\n"
    "        \"age\": 36, \"gender\": \"female\" }\n"
    "    ],\n"
    "    \"attachments\": [\n"
    "      { \"name\": \"record.pdf\", \"sha256\": \"" SHA_A "\", \"size\": 123456,\n"
    "        \"media_type\": \"application/pdf\" }\n"
    "    ]\n"
    "  }\n"
    "}\n";

static Cluebus__Message *
parse_ok(const char *json, size_t len)
{
	Cluebus__Message	*msg = NULL;
	cb_error_t		 err;
	int			 rc;

	rc = intake_from_json(json, len, &msg, &err);
	if (rc != 0)
		fail_msg("refused: %s: %s (%s)", err.field, err.reason, cb_strerror(rc));
	assert_non_null(msg);
	return msg;
}

static void
message_free(Cluebus__Message *msg)
{
	if (msg != NULL)
		protobuf_c_message_free_unpacked(&msg->base, NULL);
}

/* Packs `msg` into a new buffer (caller frees). */
static uint8_t *
pack(const Cluebus__Message *msg, size_t *len)
{
	uint8_t *buf;

	*len = protobuf_c_message_get_packed_size(&msg->base);
	buf = malloc(*len + 1);
	assert_non_null(buf);
	assert_int_equal(protobuf_c_message_pack(&msg->base, buf), *len);
	return buf;
}

static char *
text_repeat(const char *head, char c, size_t n, const char *tail)
{
	size_t	 hl = strlen(head), tl = strlen(tail);
	char	*s = malloc(hl + n + tl + 1);

	assert_non_null(s);
	memcpy(s, head, hl);
	memset(s + hl, c, n);
	memcpy(s + hl + n, tail, tl + 1);
	return s;
}

/* ---- accepted documents ------------------------------------------------------------------ */

static void
test_a_full_clue_parses_with_every_field_right(void **state)
{
	static const uint8_t id_a[MESSAGE_ID_LEN] = {
	    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	    0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
	static const uint8_t id_b[MESSAGE_ID_LEN] = {
	    0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88,
	    0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00 };
	Cluebus__Message	*m;
	const Cluebus__Clue	*c;
	const Cluebus__Person	*p;
	const Cluebus__Attachment *a;

	(void)state;
	m = parse_ok(full_clue, strlen(full_clue));
	assert_int_equal(m->kind, CLUEBUS__KIND__KIND_CLUE);
	assert_int_equal(m->priority, CLUEBUS__PRIORITY__PRIORITY_URGENT);
	assert_int_equal(m->message_id.len, MESSAGE_ID_LEN);
	assert_memory_equal(m->message_id.data, id_a, MESSAGE_ID_LEN);
	assert_int_equal(m->refers_to.len, MESSAGE_ID_LEN);
	assert_memory_equal(m->refers_to.data, id_b, MESSAGE_ID_LEN);
	assert_string_equal(m->case_ref, "铁东-2026-0042");
	assert_string_equal(m->sender, "");
	assert_int_equal(m->key_id.len, 0);
	assert_int_equal(m->created_ms, 0);
	assert_int_equal(m->body_case, CLUEBUS__MESSAGE__BODY_CLUE);

	c = m->clue;
	assert_int_equal(c->category, CLUEBUS__CATEGORY__CATEGORY_MEDICAL);
	assert_string_equal(c->jurisdiction, "210302");
	assert_int_equal(c->occurred_ms, INT64_C(1772325000250));
	assert_string_equal(c->location, "鞍山市铁东区某医院产科");
	assert_string_equal(c->summary, "第一行\n第二行");
	assert_int_equal(c->handling, CLUEBUS__HANDLING_CODE__HANDLING_H3);
	assert_string_equal(c->handling_text, "仅限公安机关使用");
	assert_int_equal(c->source_reliability, CLUEBUS__SOURCE_RELIABILITY__RELIABILITY_B);
	assert_int_equal(c->info_accuracy, 2);

	assert_int_equal(c->n_persons, 2);
	p = c->persons[0];
	assert_int_equal(p->role, CLUEBUS__PERSON_ROLE__ROLE_VICTIM);
	assert_int_equal(p->gender, CLUEBUS__GENDER__GENDER_FEMALE);
	assert_string_equal(p->description, "女婴");
	assert_string_equal(p->name, "");
	assert_int_equal(p->age, 0);
	p = c->persons[1];
	assert_int_equal(p->role, CLUEBUS__PERSON_ROLE__ROLE_REPORTER);
	assert_string_equal(p->name, "王护士");
	assert_string_equal(p->id_number, "210302199001011238");
	assert_int_equal(p->age, 36);
	assert_int_equal(p->gender, CLUEBUS__GENDER__GENDER_FEMALE);

	assert_int_equal(c->n_attachments, 1);
	a = c->attachments[0];
	assert_string_equal(a->name, "record.pdf");
	assert_int_equal(a->sha256.len, 32);
	assert_int_equal(a->sha256.data[0], 0x9f);
	assert_int_equal(a->sha256.data[31], 0x08);
	assert_int_equal(a->size, 123456);
	assert_string_equal(a->media_type, "application/pdf");
	assert_null(c->sealed_persons);
	assert_int_equal(c->n_blind_tokens, 0);
	message_free(m);
}

static void
test_a_minimal_clue_is_routine_and_has_no_message_id(void **state)
{
	static const char doc[] = CLUE(REQ);
	Cluebus__Message *m;

	(void)state;
	m = parse_ok(doc, strlen(doc));
	assert_int_equal(m->priority, CLUEBUS__PRIORITY__PRIORITY_ROUTINE);
	assert_int_equal(m->message_id.len, 0);
	assert_int_equal(m->refers_to.len, 0);
	assert_string_equal(m->case_ref, "");
	assert_int_equal(m->clue->handling, CLUEBUS__HANDLING_CODE__HANDLING_H0);
	assert_string_equal(m->clue->handling_text, "");
	assert_int_equal(m->clue->n_persons, 0);
	assert_int_equal(m->clue->n_attachments, 0);
	message_free(m);
}

/* Renders `m`, checks the signer's fields are there, drops them, parses the rest. */
static void
round_trip(const char *doc, size_t len)
{
	static const uint8_t key_id[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	Cluebus__Message	*m, *again;
	uint8_t			*before, *after;
	size_t			 before_len, after_len;
	json_t			*j;
	char			*text;

	m = parse_ok(doc, len);
	before = pack(m, &before_len);

	m->sender = strdup("hospital-210302");
	assert_non_null(m->sender);
	m->key_id.data = malloc(sizeof(key_id));
	assert_non_null(m->key_id.data);
	memcpy(m->key_id.data, key_id, sizeof(key_id));
	m->key_id.len = sizeof(key_id);
	m->created_ms = INT64_C(1772325000250);

	j = intake_to_json(m);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "sender")), "hospital-210302");
	assert_string_equal(json_string_value(json_object_get(j, "key_id")), "0102030405060708");
	assert_string_equal(json_string_value(json_object_get(j, "created")),
	    "2026-03-01T00:30:00.250Z");
	assert_int_equal(json_object_del(j, "sender"), 0);
	assert_int_equal(json_object_del(j, "key_id"), 0);
	assert_int_equal(json_object_del(j, "created"), 0);
	text = json_dumps(j, JSON_INDENT(2));
	assert_non_null(text);

	again = parse_ok(text, strlen(text));
	after = pack(again, &after_len);
	assert_int_equal(before_len, after_len);
	assert_memory_equal(before, after, before_len);

	free(after);
	message_free(again);
	free(text);
	json_decref(j);
	free(before);
	message_free(m);
}

static void
test_a_full_clue_survives_a_round_trip_through_json(void **state)
{
	(void)state;
	round_trip(full_clue, strlen(full_clue));
}

static void
test_a_minimal_clue_survives_a_round_trip_through_json(void **state)
{
	static const char doc[] = CLUE(REQ);

	(void)state;
	round_trip(doc, strlen(doc));
}

static void
test_the_documented_medical_example_parses_and_round_trips(void **state)
{
	FILE	*f;
	char	*buf;
	size_t	 len;

	(void)state;
	if ((f = fopen("examples/json/clue-medical.json", "rb")) == NULL)
		skip();	/* run from the top of the tree */
	buf = malloc(INTAKE_MAX_DOC + 1);
	assert_non_null(buf);
	len = fread(buf, 1, INTAKE_MAX_DOC + 1, f);
	fclose(f);
	assert_true(len <= INTAKE_MAX_DOC);
	round_trip(buf, len);
	free(buf);
}

static void
test_a_document_need_not_be_nul_terminated(void **state)
{
	static const char doc[] = CLUE(REQ);
	Cluebus__Message	*m;
	size_t			 len = strlen(doc);
	char			*exact = malloc(len);

	(void)state;
	assert_non_null(exact);
	memcpy(exact, doc, len);	/* no NUL: ASan catches a read past the end */
	m = parse_ok(exact, len);
	message_free(m);
	free(exact);
}

static void
test_strings_lists_and_documents_at_their_limits_are_accepted(void **state)
{
	Cluebus__Message	*m;
	char			*doc, *p;
	size_t			 len;

	(void)state;
	/* A location of exactly INTAKE_MAX_SHORT bytes. */
	doc = text_repeat(CLUE_OPEN REQ ",\"location\":\"", 'x', INTAKE_MAX_SHORT, "\"}}");
	m = parse_ok(doc, strlen(doc));
	assert_int_equal(strlen(m->clue->location), INTAKE_MAX_SHORT);
	message_free(m);
	free(doc);

	/* A summary of exactly INTAKE_MAX_TEXT bytes. */
	doc = text_repeat(CLUE_OPEN CAT "," JUR "," OCC "," HND "," EVL
	    ",\"summary\":\"", 'y', INTAKE_MAX_TEXT, "\"}}");
	m = parse_ok(doc, strlen(doc));
	assert_int_equal(strlen(m->clue->summary), INTAKE_MAX_TEXT);
	message_free(m);
	free(doc);

	/* INTAKE_MAX_ITEMS persons. */
	len = strlen(REQ) + INTAKE_MAX_ITEMS * 20 + 64;
	doc = malloc(len);
	assert_non_null(doc);
	p = doc + sprintf(doc, CLUE_OPEN REQ ",\"persons\":[");
	for (int i = 0; i < INTAKE_MAX_ITEMS; i++)
		p += sprintf(p, "%s{\"role\":\"other\"}", i > 0 ? "," : "");
	strcpy(p, "]}}");
	m = parse_ok(doc, strlen(doc));
	assert_int_equal(m->clue->n_persons, INTAKE_MAX_ITEMS);
	message_free(m);
	free(doc);

	/* A document of exactly INTAKE_MAX_DOC bytes (padded with white space). */
	doc = text_repeat(CLUE(REQ), ' ', INTAKE_MAX_DOC - strlen(CLUE(REQ)), "");
	assert_int_equal(strlen(doc), INTAKE_MAX_DOC);
	m = parse_ok(doc, strlen(doc));
	message_free(m);
	free(doc);
}

/* ---- rendering --------------------------------------------------------------------------- */

static const char *
jstr(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	if (s == NULL)
		fail_msg("no string member \"%s\"", key);
	return s;
}

/* Renders `m`, checks kind and that the body sits under `body_key`; returns the body. */
static json_t *
render_body(const Cluebus__Message *m, const char *body_key, json_t **doc)
{
	json_t *body;

	*doc = intake_to_json(m);
	assert_non_null(*doc);
	assert_string_equal(jstr(*doc, "kind"), body_key);
	body = json_object_get(*doc, body_key);
	assert_true(json_is_object(body));
	return body;
}

static void
test_every_kind_renders_its_body_under_its_own_name(void **state)
{
	static uint8_t	 id[MESSAGE_ID_LEN] = { 0xab, 0xcd }, pub[4] = { 0xde, 0xad, 0xbe, 0xef };
	char		*units[] = { "ato", "police-210302" };
	ProtobufCBinaryData ids[1] = { { 16, id } };
	Cluebus__Message m = CLUEBUS__MESSAGE__INIT;
	Cluebus__Referral referral = CLUEBUS__REFERRAL__INIT;
	Cluebus__Receipt receipt = CLUEBUS__RECEIPT__INIT;
	Cluebus__Feedback feedback = CLUEBUS__FEEDBACK__INIT;
	Cluebus__Supervision supervision = CLUEBUS__SUPERVISION__INIT;
	Cluebus__Report report = CLUEBUS__REPORT__INIT;
	Cluebus__Escalation escalation = CLUEBUS__ESCALATION__INIT;
	Cluebus__Registry registry = CLUEBUS__REGISTRY__INIT;
	Cluebus__Match match = CLUEBUS__MATCH__INIT;
	json_t *doc, *body;

	(void)state;
	m.sender = "ato";
	m.priority = CLUEBUS__PRIORITY__PRIORITY_IMMEDIATE;
	m.refers_to.len = MESSAGE_ID_LEN;
	m.refers_to.data = id;

	m.kind = CLUEBUS__KIND__KIND_REFERRAL;
	m.body_case = CLUEBUS__MESSAGE__BODY_REFERRAL;
	m.referral = &referral;
	referral.n_to_units = 2;
	referral.to_units = units;
	referral.action = CLUEBUS__ACTION__ACTION_DNA_SAMPLING;
	referral.receipt_due_ms = INT64_C(1772960400000);
	referral.note = "请采血";
	body = render_body(&m, "referral", &doc);
	assert_string_equal(jstr(doc, "priority"), "immediate");
	assert_string_equal(jstr(doc, "sender"), "ato");
	assert_string_equal(jstr(doc, "refers_to"), "abcd0000000000000000000000000000");
	assert_null(json_object_get(doc, "message_id"));
	assert_null(json_object_get(doc, "created"));
	assert_string_equal(jstr(body, "action"), "dna_sampling");
	assert_string_equal(jstr(body, "receipt_due_at"), "2026-03-08T09:00:00.000Z");
	assert_null(json_object_get(body, "feedback_due_at"));
	assert_string_equal(json_string_value(json_array_get(json_object_get(body,
	    "to_units"), 1)), "police-210302");
	assert_string_equal(jstr(body, "note"), "请采血");
	json_decref(doc);

	m.kind = CLUEBUS__KIND__KIND_RECEIPT;
	m.body_case = CLUEBUS__MESSAGE__BODY_RECEIPT;
	m.receipt = &receipt;
	receipt.note = "已签收";
	body = render_body(&m, "receipt", &doc);
	assert_string_equal(jstr(body, "note"), "已签收");
	json_decref(doc);

	m.kind = CLUEBUS__KIND__KIND_FEEDBACK;
	m.body_case = CLUEBUS__MESSAGE__BODY_FEEDBACK;
	m.feedback = &feedback;
	feedback.status = CLUEBUS__FEEDBACK_STATUS__FEEDBACK_TRANSFERRED;
	feedback.n_transferred_to = 1;
	feedback.transferred_to = units;
	body = render_body(&m, "feedback", &doc);
	assert_string_equal(jstr(body, "status"), "transferred");
	assert_int_equal(json_array_size(json_object_get(body, "transferred_to")), 1);
	json_decref(doc);

	m.kind = CLUEBUS__KIND__KIND_SUPERVISION;
	m.body_case = CLUEBUS__MESSAGE__BODY_SUPERVISION;
	m.supervision = &supervision;
	supervision.level = CLUEBUS__SUPERVISION_LEVEL__SUPERVISION_LISTED;
	supervision.n_units = 2;
	supervision.units = units;
	supervision.feedback_due_ms = INT64_C(1773565200000);
	body = render_body(&m, "supervision", &doc);
	assert_string_equal(jstr(body, "level"), "listed");
	assert_string_equal(jstr(body, "feedback_due_at"), "2026-03-15T09:00:00.000Z");
	json_decref(doc);

	m.kind = CLUEBUS__KIND__KIND_REPORT;
	m.body_case = CLUEBUS__MESSAGE__BODY_REPORT;
	m.report = &report;
	report.type = CLUEBUS__REPORT_TYPE__REPORT_SITUATION_ANALYSIS;
	report.period_from_ms = INT64_C(1767225600000);
	report.period_to_ms = INT64_C(1782835200000);
	report.title = "2026年上半年研判";
	body = render_body(&m, "report", &doc);
	assert_string_equal(jstr(body, "type"), "situation_analysis");
	assert_string_equal(jstr(body, "period_from"), "2026-01-01T00:00:00.000Z");
	assert_string_equal(jstr(body, "period_to"), "2026-06-30T16:00:00.000Z");
	assert_string_equal(jstr(body, "title"), "2026年上半年研判");
	json_decref(doc);

	m.kind = CLUEBUS__KIND__KIND_ESCALATION;
	m.body_case = CLUEBUS__MESSAGE__BODY_ESCALATION;
	m.escalation = &escalation;
	escalation.referral_id.len = MESSAGE_ID_LEN;
	escalation.referral_id.data = id;
	escalation.unit = "civil-affairs";
	escalation.missed = CLUEBUS__MISSED__MISSED_RECEIPT;
	escalation.due_ms = INT64_C(1772960400000);
	body = render_body(&m, "escalation", &doc);
	assert_string_equal(jstr(body, "referral_id"), "abcd0000000000000000000000000000");
	assert_string_equal(jstr(body, "missed"), "receipt");
	assert_string_equal(jstr(body, "due_at"), "2026-03-08T09:00:00.000Z");
	json_decref(doc);

	m.kind = CLUEBUS__KIND__KIND_REGISTRY;
	m.body_case = CLUEBUS__MESSAGE__BODY_REGISTRY;
	m.registry = &registry;
	registry.op = CLUEBUS__REGISTRY_OP__REGISTRY_ROTATE_KEY;
	registry.unit = "police";
	registry.sign_public.len = sizeof(pub);
	registry.sign_public.data = pub;
	body = render_body(&m, "registry", &doc);
	assert_string_equal(jstr(body, "op"), "rotate_key");
	assert_string_equal(jstr(body, "sign_public"), "deadbeef");
	assert_null(json_object_get(body, "seal_public"));
	json_decref(doc);

	m.kind = CLUEBUS__KIND__KIND_MATCH;
	m.body_case = CLUEBUS__MESSAGE__BODY_MATCH;
	m.match = &match;
	match.token_hash.len = sizeof(pub);
	match.token_hash.data = pub;
	match.n_message_ids = 1;
	match.message_ids = ids;
	body = render_body(&m, "match", &doc);
	assert_string_equal(jstr(body, "token_hash"), "deadbeef");
	assert_string_equal(json_string_value(json_array_get(json_object_get(body,
	    "message_ids"), 0)), "abcd0000000000000000000000000000");
	json_decref(doc);
}

static void
test_values_the_format_cannot_name_still_render_without_loss(void **state)
{
	Cluebus__Message	 m = CLUEBUS__MESSAGE__INIT;
	Cluebus__Clue		 c = CLUEBUS__CLUE__INIT;
	json_t			*doc, *body;
	char			 bad_utf8[] = "ab\xff\xfe";

	(void)state;
	m.kind = (Cluebus__Kind)42;
	m.body_case = CLUEBUS__MESSAGE__BODY_CLUE;
	m.clue = &c;
	c.category = (Cluebus__Category)99;
	c.occurred_ms = -1000;
	c.summary = bad_utf8;
	doc = intake_to_json(&m);
	assert_non_null(doc);
	assert_int_equal(json_integer_value(json_object_get(doc, "kind")), 42);
	assert_string_equal(jstr(doc, "priority"), "unspecified");
	body = json_object_get(doc, "clue");
	assert_int_equal(json_integer_value(json_object_get(body, "category")), 99);
	assert_int_equal(json_integer_value(json_object_get(body, "occurred_at")), -1000);
	assert_string_equal(jstr(body, "summary"), "ab??");
	json_decref(doc);
}

static void
test_enum_names_and_parsers_agree(void **state)
{
	Cluebus__Kind		k;
	Cluebus__Category	c;
	Cluebus__Priority	p;

	(void)state;
	for (int i = 1; i <= CLUEBUS__KIND__KIND_MATCH; i++) {
		assert_int_equal(intake_kind_parse(intake_kind_name((Cluebus__Kind)i), &k), 0);
		assert_int_equal(k, i);
	}
	for (int i = 1; i <= CLUEBUS__CATEGORY__CATEGORY_OTHER; i++) {
		assert_int_equal(intake_category_parse(
		    intake_category_name((Cluebus__Category)i), &c), 0);
		assert_int_equal(c, i);
	}
	for (int i = 1; i <= CLUEBUS__PRIORITY__PRIORITY_IMMEDIATE; i++) {
		assert_int_equal(intake_priority_parse(
		    intake_priority_name((Cluebus__Priority)i), &p), 0);
		assert_int_equal(p, i);
	}
	assert_string_equal(intake_kind_name(CLUEBUS__KIND__KIND_SUPERVISION), "supervision");
	assert_string_equal(intake_category_name(CLUEBUS__CATEGORY__CATEGORY_VULNERABLE_GROUP),
	    "vulnerable_group");
	assert_string_equal(intake_priority_name(CLUEBUS__PRIORITY__PRIORITY_URGENT), "urgent");
	assert_string_equal(intake_kind_name((Cluebus__Kind)77), "unknown");
	assert_string_equal(intake_category_name((Cluebus__Category)-1), "unknown");
	assert_string_equal(intake_priority_name((Cluebus__Priority)4), "unknown");
	assert_int_equal(intake_kind_parse("unspecified", &k), CB_EMALFORMED);
	assert_int_equal(intake_kind_parse("Clue", &k), CB_EMALFORMED);
	assert_int_equal(intake_kind_parse(NULL, &k), CB_EMALFORMED);
	assert_int_equal(intake_category_parse("", &c), CB_EMALFORMED);
	assert_int_equal(intake_priority_parse("high", &p), CB_EMALFORMED);
}

/* ---- running out of memory (SQLite's way: fail the Nth allocation, N = 1, 2, ...) -----------
 *
 * Only rendering is tested this way. jansson 2.14's lexer ignores a failed append to its
 * token buffer (lex_save() in src/load.c), so a failed allocation inside json_loadb() can
 * silently drop a byte of a string, or read past the token; parsing under injected
 * failures would test jansson's bug, not intake. */

static unsigned long	alloc_count, alloc_fail_at;

static void *
failing_malloc(size_t n)
{
	if (alloc_fail_at != 0 && ++alloc_count == alloc_fail_at)
		return NULL;
	return malloc(n);
}

static void
fail_nth_allocation(unsigned long n)
{
	alloc_count = 0;
	alloc_fail_at = n;
	json_set_alloc_funcs(failing_malloc, free);
}

static void
test_running_out_of_memory_while_rendering_returns_null_and_leaks_nothing(void **state)
{
	Cluebus__Message	*m;
	json_t			*doc = NULL;
	unsigned long		 n;

	(void)state;
	m = parse_ok(full_clue, strlen(full_clue));
	for (n = 1; n < 100000 && doc == NULL; n++) {
		fail_nth_allocation(n);
		doc = intake_to_json(m);
		fail_nth_allocation(0);
	}
	assert_non_null(doc);
	assert_true(n > 2);
	json_decref(doc);
	message_free(m);
}

/* ---- refused documents ------------------------------------------------------------------- */

static char *
make_oversize_document(void)
{
	return text_repeat(CLUE(REQ), ' ', INTAKE_MAX_DOC + 1 - strlen(CLUE(REQ)), "");
}

static char *
make_long_location(void)
{
	return text_repeat(CLUE_OPEN REQ ",\"location\":\"", 'x', INTAKE_MAX_SHORT + 1, "\"}}");
}

static char *
make_long_summary(void)
{
	return text_repeat(CLUE_OPEN CAT "," JUR "," OCC "," HND "," EVL
	    ",\"summary\":\"", 'y', INTAKE_MAX_TEXT + 1, "\"}}");
}

static char *
make_long_person_name(void)
{
	/* 86 three-byte characters: 258 bytes. */
	size_t	 n = 86, at;
	char	*s = malloc(strlen(REQ) + 3 * n + 128);

	assert_non_null(s);
	at = (size_t)sprintf(s, CLUE_OPEN REQ
	    ",\"persons\":[{\"role\":\"victim\",\"name\":\"");
	for (size_t i = 0; i < n; i++, at += 3)
		memcpy(s + at, "名", 3);
	memcpy(s + at, "\"}]}}", 6);
	return s;
}

static char *
make_too_many_persons(void)
{
	size_t	 n = INTAKE_MAX_ITEMS + 1;
	char	*s = malloc(256 + n * 20), *p;

	assert_non_null(s);
	p = s + sprintf(s, CLUE_OPEN REQ ",\"persons\":[");
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s{\"role\":\"other\"}", i > 0 ? "," : "");
	strcpy(p, "]}}");
	return s;
}

static char *
make_too_deep(void)
{
	size_t	 depth = 5000;
	char	*s = malloc(2 * depth + 1);

	assert_non_null(s);
	memset(s, '[', depth);
	memset(s + depth, ']', depth);
	s[2 * depth] = '\0';
	return s;
}

#define KEYDOC(body)	"{\"kind\":\"correlation_key\",\"correlation_key\":" body "}"

struct bad_doc {
	const char	*name;		/* the test's name, a sentence */
	const char	*json;		/* the document, or NULL when `make` builds it */
	char		*(*make)(void);
	int		 code;
	const char	*field;		/* err.field, exactly */
	const char	*reason;	/* a piece of err.reason */
};

#define E_MAL	CB_EMALFORMED
#define E_BIG	CB_ETOOBIG

static const struct bad_doc bad_docs[] = {
	/* unknown fields, at each level */
	{ "An unknown field at the top level is refused",
	    CLUE_HDR("\"colour\":\"red\"", REQ), NULL, E_MAL, "colour", "unknown field" },
	{ "A sender in the document is refused because the agent sets it",
	    CLUE_HDR("\"sender\":\"police\"", REQ), NULL, E_MAL, "sender", "unknown field" },
	{ "A key id in the document is refused because the agent sets it",
	    CLUE_HDR("\"key_id\":\"0102030405060708\"", REQ), NULL, E_MAL, "key_id",
	    "unknown field" },
	{ "A created time in the document is refused because the agent sets it",
	    CLUE_HDR("\"created\":\"2026-03-01T08:30:00Z\"", REQ), NULL, E_MAL, "created",
	    "unknown field" },
	{ "A body for another kind beside the clue is refused",
	    CLUE_HDR("\"referral\":{}", REQ), NULL, E_MAL, "referral", "unknown field" },
	{ "An unknown field in the clue is refused",
	    CLUE(REQ ",\"colour\":1"), NULL, E_MAL, "clue.colour", "unknown field" },
	{ "An unknown field in handling is refused",
	    CLUE(CAT "," JUR "," OCC "," SUM "," EVL ",\"handling\":{\"code\":\"h0\",\"x\":1}"),
	    NULL, E_MAL, "clue.handling.x", "unknown field" },
	{ "An unknown field in evaluation is refused",
	    CLUE(CAT "," JUR "," OCC "," SUM "," HND ",\"evaluation\":{\"source_reliability\":"
	    "\"b\",\"accuracy\":2,\"confidence\":0.5}"), NULL, E_MAL,
	    "clue.evaluation.confidence", "unknown field" },
	{ "An unknown field in the second person is refused",
	    PERSONS("{\"role\":\"victim\"},{\"role\":\"suspect\",\"nickname\":\"x\"}"), NULL,
	    E_MAL, "clue.persons[1].nickname", "unknown field" },
	{ "An unknown field in an attachment is refused",
	    ATTACH("{\"name\":\"a\",\"sha256\":\"" SHA_A "\",\"size\":1,\"url\":\"http://x\"}"),
	    NULL, E_MAL, "clue.attachments[0].url", "unknown field" },

	/* the kind */
	{ "A document without a kind is refused",
	    "{\"clue\":{" REQ "}}", NULL, E_MAL, "kind", "required" },
	{ "A kind that is a number is refused",
	    "{\"kind\":1,\"clue\":{" REQ "}}", NULL, E_MAL, "kind", "expected string" },
	{ "An unknown kind is refused with the list of kinds",
	    "{\"kind\":\"tip\"}", NULL, E_MAL, "kind", "must be one of: clue, referral" },
	{ "An escalation is not accepted from an agency",
	    "{\"kind\":\"escalation\",\"escalation\":{}}", NULL, E_MAL, "kind",
	    "kind 'escalation' is not accepted by this version" },
	{ "A match is not accepted from an agency",
	    "{\"kind\":\"match\",\"match\":{}}", NULL, E_MAL, "kind", "not accepted" },
	{ "A clue without its body is refused",
	    "{\"kind\":\"clue\"}", NULL, E_MAL, "clue", "required" },
	{ "A clue body that is an array is refused",
	    "{\"kind\":\"clue\",\"clue\":[]}", NULL, E_MAL, "clue", "expected object, got array" },

	/* header fields */
	{ "An unknown priority is refused",
	    CLUE_HDR("\"priority\":\"high\"", REQ), NULL, E_MAL, "priority",
	    "must be one of: routine, urgent, immediate" },
	{ "A priority that is a number is refused",
	    CLUE_HDR("\"priority\":2", REQ), NULL, E_MAL, "priority",
	    "expected string, got integer" },
	{ "A message id of 31 hex digits is refused",
	    CLUE_HDR("\"message_id\":\"0112233445566778899aabbccddeeff\"", REQ), NULL, E_MAL,
	    "message_id", "32 lowercase hex digits" },
	{ "A message id with a non-hex letter is refused",
	    CLUE_HDR("\"message_id\":\"g0112233445566778899aabbccddeeff\"", REQ), NULL, E_MAL,
	    "message_id", "hex" },
	{ "A message id in upper case is refused",
	    CLUE_HDR("\"message_id\":\"00112233445566778899AABBCCDDEEFF\"", REQ), NULL, E_MAL,
	    "message_id", "lowercase" },
	{ "A refers_to that is not hex is refused",
	    CLUE_HDR("\"refers_to\":\"previous clue\"", REQ), NULL, E_MAL, "refers_to", "hex" },
	{ "A case reference with a control character is refused",
	    CLUE_HDR("\"case_ref\":\"a\\u0007b\"", REQ), NULL, E_MAL, "case_ref",
	    "control character" },
	{ "A case reference with a C1 control character is refused",
	    CLUE_HDR("\"case_ref\":\"a\\u0085b\"", REQ), NULL, E_MAL, "case_ref",
	    "control character" },

	/* category */
	{ "A clue without a category is refused",
	    CLUE(JUR "," OCC "," SUM "," HND "," EVL), NULL, E_MAL, "clue.category", "required" },
	{ "An unknown category is refused with the list of categories",
	    CLUE(JUR "," OCC "," SUM "," HND "," EVL ",\"category\":\"trafficking\""), NULL,
	    E_MAL, "clue.category", "must be one of: school, medical, marriage, labor, online, "
	    "vagrant, vulnerable_group, foreign_national, public_tip, dna, entertainment_venue, "
	    "fake_paternity, petition, transport, cross_border, other" },
	{ "A category in upper case is refused",
	    CLUE(JUR "," OCC "," SUM "," HND "," EVL ",\"category\":\"MEDICAL\""), NULL, E_MAL,
	    "clue.category", "must be one of: school, medical," },

	/* jurisdiction */
	{ "A clue without a jurisdiction is refused",
	    CLUE(CAT "," OCC "," SUM "," HND "," EVL), NULL, E_MAL, "clue.jurisdiction",
	    "required" },
	{ "A jurisdiction of five digits is refused",
	    CLUE(CAT "," OCC "," SUM "," HND "," EVL ",\"jurisdiction\":\"21030\""), NULL, E_MAL,
	    "clue.jurisdiction", "6 ASCII digits" },
	{ "A jurisdiction of seven digits is refused",
	    CLUE(CAT "," OCC "," SUM "," HND "," EVL ",\"jurisdiction\":\"2103021\""), NULL,
	    E_MAL, "clue.jurisdiction", "6 ASCII digits" },
	{ "A jurisdiction with a letter is refused",
	    CLUE(CAT "," OCC "," SUM "," HND "," EVL ",\"jurisdiction\":\"21030a\""), NULL, E_MAL,
	    "clue.jurisdiction", "6 ASCII digits" },
	{ "A jurisdiction with full-width digits is refused",
	    CLUE(CAT "," OCC "," SUM "," HND "," EVL ",\"jurisdiction\":\"２１０３０２\""), NULL,
	    E_MAL, "clue.jurisdiction", "6 ASCII digits" },
	{ "A jurisdiction that is a number is refused",
	    CLUE(CAT "," OCC "," SUM "," HND "," EVL ",\"jurisdiction\":210302"), NULL, E_MAL,
	    "clue.jurisdiction", "expected string, got integer" },

	/* occurred_at */
	{ "A clue without occurred_at is refused",
	    CLUE(CAT "," JUR "," SUM "," HND "," EVL), NULL, E_MAL, "clue.occurred_at",
	    "required" },
	{ "February 30 is not a date",
	    CLUE(CAT "," JUR "," SUM "," HND "," EVL ",\"occurred_at\":\"2026-02-30T00:00:00Z\""),
	    NULL, E_MAL, "clue.occurred_at", "not an RFC 3339 time" },
	{ "February 29 of a common year is not a date",
	    CLUE(CAT "," JUR "," SUM "," HND "," EVL ",\"occurred_at\":\"2026-02-29T00:00:00Z\""),
	    NULL, E_MAL, "clue.occurred_at", "not an RFC 3339 time" },
	{ "A time without an offset is refused",
	    CLUE(CAT "," JUR "," SUM "," HND "," EVL ",\"occurred_at\":\"2026-03-01T08:30:00\""),
	    NULL, E_MAL, "clue.occurred_at", "not an RFC 3339 time" },
	{ "A date without a time is refused",
	    CLUE(CAT "," JUR "," SUM "," HND "," EVL ",\"occurred_at\":\"2026-03-01\""), NULL,
	    E_MAL, "clue.occurred_at", "not an RFC 3339 time" },
	{ "A time given as milliseconds is refused",
	    CLUE(CAT "," JUR "," SUM "," HND "," EVL ",\"occurred_at\":1772325000000"), NULL,
	    E_MAL, "clue.occurred_at", "expected string, got integer" },
	{ "A time before 1970 in UTC is refused",
	    CLUE(CAT "," JUR "," SUM "," HND "," EVL
	    ",\"occurred_at\":\"1970-01-01T00:30:00+01:00\""), NULL, E_MAL, "clue.occurred_at",
	    "1970" },
	{ "A time after 9999 in UTC is refused",
	    CLUE(CAT "," JUR "," SUM "," HND "," EVL
	    ",\"occurred_at\":\"9999-12-31T23:30:00-01:00\""), NULL, E_MAL, "clue.occurred_at",
	    "9999" },

	/* summary and other strings */
	{ "A clue without a summary is refused",
	    CLUE(CAT "," JUR "," OCC "," HND "," EVL), NULL, E_MAL, "clue.summary", "required" },
	{ "An empty summary is refused",
	    CLUE(CAT "," JUR "," OCC "," HND "," EVL ",\"summary\":\"\""), NULL, E_MAL,
	    "clue.summary", "must not be empty" },
	{ "A summary that is null is refused",
	    CLUE(CAT "," JUR "," OCC "," HND "," EVL ",\"summary\":null"), NULL, E_MAL,
	    "clue.summary", "expected string, got null" },
	{ "A summary with a form feed is refused",
	    CLUE(CAT "," JUR "," OCC "," HND "," EVL ",\"summary\":\"a\\fb\""), NULL, E_MAL,
	    "clue.summary", "control character" },
	{ "A summary longer than 16384 bytes is refused",
	    NULL, make_long_summary, E_BIG, "clue.summary", "longer than 16384 bytes" },
	{ "A location longer than 256 bytes is refused",
	    NULL, make_long_location, E_BIG, "clue.location", "longer than 256 bytes" },
	{ "A name of 86 Chinese characters is 258 bytes and refused",
	    NULL, make_long_person_name, E_BIG, "clue.persons[0].name",
	    "longer than 256 bytes" },
	{ "A location with a newline is refused",
	    CLUE(REQ ",\"location\":\"a\\nb\""), NULL, E_MAL, "clue.location",
	    "control character" },

	/* handling */
	{ "A clue without handling is refused",
	    CLUE(CAT "," JUR "," OCC "," SUM "," EVL), NULL, E_MAL, "clue.handling", "required" },
	{ "Handling given as a string is refused",
	    CLUE(CAT "," JUR "," OCC "," SUM "," EVL ",\"handling\":\"h0\""), NULL, E_MAL,
	    "clue.handling", "expected object, got string" },
	{ "Handling without a code is refused",
	    CLUE(CAT "," JUR "," OCC "," SUM "," EVL ",\"handling\":{}"), NULL, E_MAL,
	    "clue.handling.code", "required" },
	{ "An unknown handling code is refused",
	    CLUE(CAT "," JUR "," OCC "," SUM "," EVL ",\"handling\":{\"code\":\"h4\"}"), NULL,
	    E_MAL, "clue.handling.code", "must be one of: h0, h1, h2, h3" },
	{ "Handling h3 without text is refused",
	    CLUE(CAT "," JUR "," OCC "," SUM "," EVL ",\"handling\":{\"code\":\"h3\"}"), NULL,
	    E_MAL, "clue.handling.text", "required when code is h3" },
	{ "Handling h3 with empty text is refused",
	    CLUE(CAT "," JUR "," OCC "," SUM "," EVL ",\"handling\":{\"code\":\"h3\","
	    "\"text\":\"\"}"), NULL, E_MAL, "clue.handling.text", "required when code is h3" },

	/* evaluation */
	{ "A clue without an evaluation is refused",
	    CLUE(CAT "," JUR "," OCC "," SUM "," HND), NULL, E_MAL, "clue.evaluation",
	    "required" },
	{ "An unknown source reliability is refused",
	    CLUE(CAT "," JUR "," OCC "," SUM "," HND ",\"evaluation\":{\"source_reliability\":"
	    "\"d\",\"accuracy\":2}"), NULL, E_MAL, "clue.evaluation.source_reliability",
	    "must be one of: a, b, c, x" },
	{ "Accuracy 0 is refused",
	    CLUE(CAT "," JUR "," OCC "," SUM "," HND ",\"evaluation\":{\"source_reliability\":"
	    "\"b\",\"accuracy\":0}"), NULL, E_MAL, "clue.evaluation.accuracy", "from 1 to 4" },
	{ "Accuracy 5 is refused",
	    CLUE(CAT "," JUR "," OCC "," SUM "," HND ",\"evaluation\":{\"source_reliability\":"
	    "\"b\",\"accuracy\":5}"), NULL, E_MAL, "clue.evaluation.accuracy", "from 1 to 4" },
	{ "Accuracy written as a string is refused",
	    CLUE(CAT "," JUR "," OCC "," SUM "," HND ",\"evaluation\":{\"source_reliability\":"
	    "\"b\",\"accuracy\":\"2\"}"), NULL, E_MAL, "clue.evaluation.accuracy",
	    "expected integer, got string" },
	{ "Accuracy written as 2.0 is refused",
	    CLUE(CAT "," JUR "," OCC "," SUM "," HND ",\"evaluation\":{\"source_reliability\":"
	    "\"b\",\"accuracy\":2.0}"), NULL, E_MAL, "clue.evaluation.accuracy",
	    "expected integer, got number" },
	{ "An evaluation without accuracy is refused",
	    CLUE(CAT "," JUR "," OCC "," SUM "," HND ",\"evaluation\":{\"source_reliability\":"
	    "\"b\"}"), NULL, E_MAL, "clue.evaluation.accuracy", "required" },

	/* persons */
	{ "Persons given as an object is refused",
	    CLUE(REQ ",\"persons\":{\"role\":\"victim\"}"), NULL, E_MAL, "clue.persons",
	    "expected array, got object" },
	{ "A person given as a string is refused",
	    PERSONS("\"王某\""), NULL, E_MAL, "clue.persons[0]", "expected object, got string" },
	{ "A person without a role is refused",
	    PERSONS("{\"name\":\"王某\"}"), NULL, E_MAL, "clue.persons[0].role", "required" },
	{ "An unknown role is refused",
	    PERSONS("{\"role\":\"witness\"}"), NULL, E_MAL, "clue.persons[0].role",
	    "must be one of: victim, suspect, reporter, other" },
	{ "An age of 151 is refused",
	    PERSONS("{\"role\":\"victim\"},{\"role\":\"suspect\",\"age\":151}"), NULL, E_MAL,
	    "clue.persons[1].age", "from 0 to 150" },
	{ "A negative age is refused",
	    PERSONS("{\"role\":\"victim\",\"age\":-1}"), NULL, E_MAL, "clue.persons[0].age",
	    "from 0 to 150" },
	{ "An unknown gender is refused",
	    PERSONS("{\"role\":\"victim\",\"gender\":\"f\"}"), NULL, E_MAL,
	    "clue.persons[0].gender", "must be one of: male, female, other, unknown" },
	{ "Sixty-five persons are too many",
	    NULL, make_too_many_persons, E_BIG, "clue.persons", "more than 64 items" },

	/* attachments */
	{ "An attachment without a hash is refused",
	    ATTACH("{\"name\":\"a.jpg\",\"size\":1}"), NULL, E_MAL, "clue.attachments[0].sha256",
	    "required" },
	{ "An attachment hash of 63 hex digits is refused",
	    ATTACH("{\"name\":\"a.jpg\",\"size\":1,\"sha256\":\""
	    "f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"}"), NULL, E_MAL,
	    "clue.attachments[0].sha256", "64 lowercase hex digits" },
	{ "An attachment hash with a non-hex letter is refused",
	    ATTACH("{\"name\":\"a.jpg\",\"size\":1,\"sha256\":\""
	    "x86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"}"), NULL, E_MAL,
	    "clue.attachments[0].sha256", "64 lowercase hex digits" },
	{ "An attachment without a name is refused",
	    ATTACH("{\"sha256\":\"" SHA_A "\",\"size\":1}"), NULL, E_MAL,
	    "clue.attachments[0].name", "required" },
	{ "An attachment without a size is refused",
	    ATTACH("{\"name\":\"a.jpg\",\"sha256\":\"" SHA_A "\"}"), NULL, E_MAL,
	    "clue.attachments[0].size", "required" },
	{ "A negative attachment size is refused",
	    ATTACH("{\"name\":\"a.jpg\",\"sha256\":\"" SHA_A "\",\"size\":-1}"), NULL, E_MAL,
	    "clue.attachments[0].size", "must be at least 0" },

	/* the document itself */
	{ "A duplicate key at the top level is refused",
	    "{\"kind\":\"clue\",\"kind\":\"clue\",\"clue\":{" REQ "}}", NULL, E_MAL, "(document)",
	    "duplicate object key" },
	{ "A duplicate key inside the clue is refused",
	    CLUE(REQ ",\"summary\":\"again\""), NULL, E_MAL, "(document)",
	    "duplicate object key" },
	{ "Truncated JSON is refused with its position",
	    "{\"kind\":\"clue\",\n\"clue\":{", NULL, E_MAL, "(document)", "line 2" },
	{ "An empty document is refused",
	    "", NULL, E_MAL, "(document)", "invalid JSON" },
	{ "A top-level array is refused",
	    "[{\"kind\":\"clue\"}]", NULL, E_MAL, "(document)", "expected object, got array" },
	{ "A top-level string is refused",
	    "\"clue\"", NULL, E_MAL, "(document)", "invalid JSON" },
	{ "Trailing garbage after the document is refused",
	    CLUE(REQ) "x", NULL, E_MAL, "(document)", "invalid JSON" },
	{ "Invalid UTF-8 is refused",
	    "{\"kind\":\"clue\xff\"}", NULL, E_MAL, "(document)", "invalid JSON" },
	{ "A NUL character escaped in a string is refused",
	    CLUE(CAT "," JUR "," OCC "," HND "," EVL ",\"summary\":\"a\\u0000b\""), NULL, E_MAL,
	    "(document)", "invalid JSON" },
	{ "An integer too large for JSON is refused",
	    CLUE(CAT "," JUR "," OCC "," SUM "," HND ",\"evaluation\":{\"source_reliability\":"
	    "\"b\",\"accuracy\":99999999999999999999}"), NULL, E_MAL, "(document)",
	    "invalid JSON" },
	{ "Nesting five thousand deep is refused",
	    NULL, make_too_deep, E_MAL, "(document)", "invalid JSON" },
	{ "A document larger than 262144 bytes is refused before parsing",
	    NULL, make_oversize_document, E_BIG, "(document)",
	    "document larger than 262144 bytes" },
	/* the correlation key (docs/correlation.md §6): the document never holds the key */
	{ "A correlation key without a version is refused",
	    KEYDOC("{}"), NULL, E_MAL, "correlation_key.version", "required" },
	{ "A correlation key of version 0 is refused",
	    KEYDOC("{\"version\":0}"), NULL, E_MAL, "correlation_key.version",
	    "must be from 1 to 4294967295" },
	{ "A correlation key version past 32 bits is refused",
	    KEYDOC("{\"version\":4294967296}"), NULL, E_MAL, "correlation_key.version",
	    "must be from 1 to 4294967295" },
	{ "A correlation key carrying the key itself is refused",
	    KEYDOC("{\"version\":1,\"key\":\"00\"}"), NULL, E_MAL, "correlation_key.key",
	    "unknown field" },
	{ "A correlation key with an effective time that is not RFC 3339 is refused",
	    KEYDOC("{\"version\":1,\"effective_at\":\"tomorrow\"}"), NULL, E_MAL,
	    "correlation_key.effective_at", "not an RFC 3339 time" },
	{ "A correlation key to a unit id that is not one is refused",
	    KEYDOC("{\"version\":1,\"to_units\":[\"psb\",\"PSB!\"]}"), NULL, E_MAL,
	    "correlation_key.to_units[1]", "not a unit id" },
	{ "A correlation key naming a unit twice is refused",
	    KEYDOC("{\"version\":1,\"to_units\":[\"psb\",\"psb\"]}"), NULL, E_MAL,
	    "correlation_key.to_units[1]", "unit listed twice" },
	{ "A correlation key in a case is refused",
	    "{\"kind\":\"correlation_key\",\"case_ref\":\"c-1\",\"correlation_key\":"
	    "{\"version\":1}}", NULL, E_MAL, "case_ref", "not allowed on a correlation_key" },
};

static void
test_bad_document(void **state)
{
	const struct bad_doc	*row = *state;
	Cluebus__Message	*m = (Cluebus__Message *)1;
	cb_error_t		 err;
	char			*made = NULL;
	const char		*json = row->json;
	int			 rc;

	if (row->make != NULL)
		json = made = row->make();
	rc = intake_from_json(json, strlen(json), &m, &err);
	if (rc != row->code)
		fail_msg("got %s (%s: %s), want %s", cb_strerror(rc), err.field, err.reason,
		    cb_strerror(row->code));
	assert_null(m);
	assert_string_equal(err.field, row->field);
	if (strstr(err.reason, row->reason) == NULL || err.reason[0] == '\0')
		fail_msg("reason \"%s\" does not say \"%s\"", err.reason, row->reason);
	free(made);
}

/* ---- rules and reports (intake_parse) ----------------------------------------------------- */

#define NOW_MS	INT64_C(1780000000000)	/* 2026-05-28T20:26:40Z */

static const char *const anshan[] = { "210300 鞍山市", "210302 铁东区", "210381 海城市" };

static const intake_rules_t rules = {
	.now_ms = NOW_MS, .check_times = 1, .skew_ms = 300000,
	.n_divisions = sizeof(anshan) / sizeof(anshan[0]), .divisions = anshan,
};

/* Parses `json` under `r`, expecting a refusal; returns the problems (caller frees). */
static json_t *
refused_with(const char *json, const intake_rules_t *r, cb_error_t *err)
{
	Cluebus__Message *m = NULL;
	json_t *problems = NULL;
	int rc = intake_parse(json, strlen(json), r, &m, err, &problems);

	assert_int_equal(rc, CB_EMALFORMED);
	assert_null(m);
	assert_non_null(problems);
	return problems;
}

static const char *
problem(const json_t *problems, size_t i, const char *key)
{
	return json_string_value(json_object_get(json_array_get(problems, i), key));
}

static void
test_every_problem_of_a_document_is_reported_the_first_also_in_err(void **state)
{
	cb_error_t err;
	json_t *p;

	(void)state;
	p = refused_with(CLUE("\"category\":\"medicall\"," JUR "," OCC ",\"sumary\":\"s\","
	    HND ",\"evaluation\":{\"source_reliability\":\"b\",\"accuracy\":9}"), NULL, &err);
	assert_int_equal(json_array_size(p), 4);
	assert_string_equal(problem(p, 0, "field"), "clue.sumary");
	assert_string_equal(problem(p, 0, "reason"),
	    "unknown field 'sumary': did you mean 'summary'?");
	assert_string_equal(err.field, "clue.sumary");
	assert_string_equal(err.reason, problem(p, 0, "reason"));
	assert_string_equal(problem(p, 1, "field"), "clue.category");
	assert_string_equal(problem(p, 2, "field"), "clue.summary");
	assert_string_equal(problem(p, 2, "reason"), "required");
	assert_string_equal(problem(p, 3, "field"), "clue.evaluation.accuracy");
	json_decref(p);
}

static void
test_past_the_limit_problems_are_counted_not_listed(void **state)
{
	char doc[4096];
	size_t off = 0;
	cb_error_t err;
	json_t *p;

	(void)state;
	off += (size_t)snprintf(doc + off, sizeof(doc) - off, "{\"kind\":\"clue\"");
	for (int i = 0; i < INTAKE_MAX_PROBLEMS + 6; i++)
		off += (size_t)snprintf(doc + off, sizeof(doc) - off, ",\"x%d\":1", i);
	snprintf(doc + off, sizeof(doc) - off, ",\"clue\":{" REQ "}}");
	p = refused_with(doc, NULL, &err);
	assert_int_equal(json_array_size(p), INTAKE_MAX_PROBLEMS + 1);
	assert_string_equal(problem(p, INTAKE_MAX_PROBLEMS, "field"), "(document)");
	assert_string_equal(problem(p, INTAKE_MAX_PROBLEMS, "reason"),
	    "6 more problems not listed");
	json_decref(p);
}

static void
test_an_unknown_field_far_from_every_name_gets_no_suggestion(void **state)
{
	cb_error_t err;
	json_t *p;

	(void)state;
	p = refused_with(CLUE(REQ ",\"colour\":1"), NULL, &err);
	assert_int_equal(json_array_size(p), 1);
	assert_string_equal(err.reason, "unknown field 'colour'");
	json_decref(p);
}

static void
test_a_jurisdiction_outside_the_configured_divisions_is_refused_with_the_list(void **state)
{
	Cluebus__Message *m = NULL;
	cb_error_t err;
	json_t *p;

	(void)state;
	p = refused_with(CLUE(CAT ",\"jurisdiction\":\"999999\"," OCC "," SUM "," HND "," EVL),
	    &rules, &err);
	assert_string_equal(err.field, "clue.jurisdiction");
	assert_string_equal(err.reason, "'999999' is not a division of this deployment; valid: "
	    "210300 鞍山市, 210302 铁东区, 210381 海城市");
	json_decref(p);
	assert_int_equal(intake_parse(CLUE(REQ), strlen(CLUE(REQ)), &rules, &m, &err, NULL), 0);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	/* Without rules any 6-digit code passes: the broker's divisions decide. */
	m = parse_ok(CLUE(CAT ",\"jurisdiction\":\"999999\"," OCC "," SUM "," HND "," EVL),
	    strlen(CLUE(CAT ",\"jurisdiction\":\"999999\"," OCC "," SUM "," HND "," EVL)));
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void
test_an_occurrence_in_the_future_is_refused_beyond_the_skew(void **state)
{
	static const char late[] = CLUE(CAT "," JUR ",\"occurred_at\":\"2026-05-28T20:40:00Z\","
	    SUM "," HND "," EVL);
	static const char near[] = CLUE(CAT "," JUR ",\"occurred_at\":\"2026-05-28T20:30:00Z\","
	    SUM "," HND "," EVL);
	Cluebus__Message *m = NULL;
	cb_error_t err;
	json_t *p;

	(void)state;
	p = refused_with(late, &rules, &err);
	assert_string_equal(err.field, "clue.occurred_at");
	assert_string_equal(err.reason, "in the future (it is now 2026-05-28T20:26:40.000Z)");
	json_decref(p);
	assert_int_equal(intake_parse(near, strlen(near), &rules, &m, &err, NULL), 0);
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

#define REFERRAL(...) "{\"kind\":\"referral\",\"refers_to\":\"" ID_A "\",\"referral\":" \
	"{\"to_units\":[\"psb\"],\"action\":\"investigate\"" __VA_ARGS__ "}}"

static void
test_a_due_time_already_past_is_refused(void **state)
{
	static const char past[] = REFERRAL(",\"receipt_due_at\":\"2026-05-28T20:00:00Z\"");
	cb_error_t err;
	json_t *p;

	(void)state;
	p = refused_with(past, &rules, &err);
	assert_string_equal(err.field, "referral.receipt_due_at");
	assert_string_equal(err.reason, "already past (it is now 2026-05-28T20:26:40.000Z)");
	json_decref(p);
}

static void
test_relative_due_times_count_from_the_publishing_time(void **state)
{
	static const char rel[] = REFERRAL(",\"receipt_due_in\":\"8h\",\"feedback_due_in\":\"7d\"");
	Cluebus__Message *m = NULL;
	cb_error_t err;

	(void)state;
	assert_int_equal(intake_parse(rel, strlen(rel), &rules, &m, &err, NULL), 0);
	assert_int_equal(m->referral->receipt_due_ms, NOW_MS + 8 * INT64_C(3600000));
	assert_int_equal(m->referral->feedback_due_ms, NOW_MS + 7 * INT64_C(86400000));
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void
test_a_relative_due_time_must_be_a_duration_and_not_given_twice(void **state)
{
	static const char *const bad[][3] = {
		{ REFERRAL(",\"receipt_due_in\":\"8 hours\""), "referral.receipt_due_in",
		  "not a duration" },
		{ REFERRAL(",\"receipt_due_in\":\"0h\""), "referral.receipt_due_in",
		  "not a duration" },
		{ REFERRAL(",\"feedback_due_in\":\"7\""), "referral.feedback_due_in",
		  "not a duration" },
		{ REFERRAL(",\"receipt_due_in\":\"8h\","
		  "\"receipt_due_at\":\"2030-01-01T00:00:00Z\""),
		  "referral.receipt_due_in", "not both" },
		{ REFERRAL(",\"receipt_due_in\":\"7d\",\"feedback_due_in\":\"8h\""),
		  "referral.feedback_due_at", "earlier than receipt_due_at" },
	};
	cb_error_t err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *p = refused_with(bad[i][0], &rules, &err);

		assert_string_equal(err.field, bad[i][1]);
		if (strstr(err.reason, bad[i][2]) == NULL)
			fail_msg("%s: reason \"%s\" does not say \"%s\"", bad[i][0], err.reason,
			    bad[i][2]);
		json_decref(p);
	}
}

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_a_full_clue_parses_with_every_field_right),
		cmocka_unit_test(test_a_minimal_clue_is_routine_and_has_no_message_id),
		cmocka_unit_test(test_a_full_clue_survives_a_round_trip_through_json),
		cmocka_unit_test(test_a_minimal_clue_survives_a_round_trip_through_json),
		cmocka_unit_test(test_the_documented_medical_example_parses_and_round_trips),
		cmocka_unit_test(test_a_document_need_not_be_nul_terminated),
		cmocka_unit_test(test_strings_lists_and_documents_at_their_limits_are_accepted),
		cmocka_unit_test(test_every_kind_renders_its_body_under_its_own_name),
		cmocka_unit_test(test_values_the_format_cannot_name_still_render_without_loss),
		cmocka_unit_test(test_enum_names_and_parsers_agree),
		cmocka_unit_test(
		    test_running_out_of_memory_while_rendering_returns_null_and_leaks_nothing),
		cmocka_unit_test(
		    test_every_problem_of_a_document_is_reported_the_first_also_in_err),
		cmocka_unit_test(test_an_unknown_field_far_from_every_name_gets_no_suggestion),
		cmocka_unit_test(test_past_the_limit_problems_are_counted_not_listed),
		cmocka_unit_test(
		    test_a_jurisdiction_outside_the_configured_divisions_is_refused_with_the_list),
		cmocka_unit_test(test_an_occurrence_in_the_future_is_refused_beyond_the_skew),
		cmocka_unit_test(test_a_due_time_already_past_is_refused),
		cmocka_unit_test(test_relative_due_times_count_from_the_publishing_time),
		cmocka_unit_test(test_a_relative_due_time_must_be_a_duration_and_not_given_twice),
	};
	enum { NBAD = sizeof(bad_docs) / sizeof(bad_docs[0]) };
	static struct CMUnitTest refused[NBAD];
	int failed;

	for (size_t i = 0; i < NBAD; i++) {
		refused[i].name = bad_docs[i].name;
		refused[i].test_func = test_bad_document;
		refused[i].initial_state = (void *)&bad_docs[i];
	}
	failed = cmocka_run_group_tests_name("intake", fixed, NULL, NULL);
	failed += _cmocka_run_group_tests("intake refusals", refused, NBAD, NULL, NULL);
	return failed != 0;
}

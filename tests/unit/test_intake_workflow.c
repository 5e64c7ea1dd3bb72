/* tests/unit/test_intake_workflow.c — JSON intake of referral, receipt, feedback,
 * supervision and report (SPEC §4), each with the strictness of clues. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "envelope.h"
#include "intake.h"

#define ID_A	"00112233445566778899aabbccddeeff"
#define REF	"\"refers_to\":\"" ID_A "\""

static Cluebus__Message *
parse_ok(const char *json)
{
	Cluebus__Message *m = NULL;
	cb_error_t err;
	int rc = intake_from_json(json, strlen(json), &m, &err);

	if (rc != 0)
		fail_msg("refused: %s: %s", err.field, err.reason);
	return m;
}

static void
message_free(Cluebus__Message *m)
{
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

/* Renders and parses again; the packed bytes must be equal. */
static void
assert_round_trip(const Cluebus__Message *m)
{
	Cluebus__Message *again;
	uint8_t *a, *b;
	size_t la, lb;
	json_t *doc = intake_to_json(m);
	char *text;

	assert_non_null(doc);
	json_object_del(doc, "sender");
	json_object_del(doc, "key_id");
	json_object_del(doc, "created");
	text = json_dumps(doc, 0);
	again = parse_ok(text);
	la = cluebus__message__get_packed_size(m);
	lb = cluebus__message__get_packed_size(again);
	assert_int_equal(la, lb);
	a = malloc(la);
	b = malloc(lb);
	cluebus__message__pack(m, a);
	cluebus__message__pack(again, b);
	assert_memory_equal(a, b, la);
	free(a);
	free(b);
	free(text);
	json_decref(doc);
	message_free(again);
}

static void
test_a_referral_names_its_units_action_and_due_times(void **state)
{
	Cluebus__Message *m = parse_ok("{\"kind\":\"referral\",\"priority\":\"urgent\"," REF ","
	    "\"case_ref\":\"AS-1\",\"referral\":{\"to_units\":[\"civil-affairs\",\"education\"],"
	    "\"action\":\"schooling\",\"receipt_due_at\":\"2026-03-01T08:00:00Z\","
	    "\"feedback_due_at\":\"2026-03-08T08:00:00+08:00\",\"note\":\"安排入学\"}}");

	(void)state;
	assert_int_equal(m->kind, CLUEBUS__KIND__KIND_REFERRAL);
	assert_int_equal(m->body_case, CLUEBUS__MESSAGE__BODY_REFERRAL);
	assert_int_equal(m->referral->n_to_units, 2);
	assert_string_equal(m->referral->to_units[1], "education");
	assert_int_equal(m->referral->action, CLUEBUS__ACTION__ACTION_SCHOOLING);
	assert_int_equal(m->referral->receipt_due_ms, INT64_C(1772352000000));
	assert_int_equal(m->referral->feedback_due_ms, INT64_C(1772928000000));
	assert_int_equal(m->refers_to.len, MESSAGE_ID_LEN);
	assert_round_trip(m);
	message_free(m);
}

static void
test_a_receipt_a_feedback_a_supervision_and_a_report_parse_and_round_trip(void **state)
{
	static const char *const docs[] = {
		"{\"kind\":\"receipt\"," REF ",\"receipt\":{\"note\":\"已签收\"}}",
		"{\"kind\":\"feedback\"," REF ",\"feedback\":{\"status\":\"in_progress\"}}",
		"{\"kind\":\"feedback\"," REF ",\"feedback\":{\"status\":\"transferred\","
		    "\"transferred_to\":[\"justice\"],\"note\":\"转司法局法律援助\"}}",
		"{\"kind\":\"supervision\"," REF ",\"supervision\":{\"level\":\"listed\","
		    "\"units\":[\"psb\"],\"feedback_due_at\":\"2026-04-01T00:00:00Z\"}}",
		"{\"kind\":\"report\",\"report\":{\"type\":\"situation_analysis\","
		    "\"period_from\":\"2026-01-01T00:00:00+08:00\",\"period_to\":"
		    "\"2026-06-30T23:59:59+08:00\",\"title\":\"上半年研判\",\"text\":\"...\"}}",
	};
	static const Cluebus__Message__BodyCase want[] = {
		CLUEBUS__MESSAGE__BODY_RECEIPT, CLUEBUS__MESSAGE__BODY_FEEDBACK,
		CLUEBUS__MESSAGE__BODY_FEEDBACK, CLUEBUS__MESSAGE__BODY_SUPERVISION,
		CLUEBUS__MESSAGE__BODY_REPORT,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		Cluebus__Message *m = parse_ok(docs[i]);

		assert_int_equal(m->body_case, want[i]);
		assert_round_trip(m);
		message_free(m);
	}
}

/* Run from the repository root (make test does), the documented examples parse. */
static void
test_the_documented_workflow_examples_parse(void **state)
{
	static const char *const files[] = { "examples/json/referral.json",
	    "examples/json/receipt.json", "examples/json/feedback.json",
	    "examples/json/supervision.json", "examples/json/report.json" };

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		FILE *f = fopen(files[i], "rb");
		char buf[8192];
		size_t len;
		Cluebus__Message *m;

		if (f == NULL)
			fail_msg("%s: cannot open (run from the repository root)", files[i]);
		len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = '\0';
		m = parse_ok(buf);
		assert_round_trip(m);
		message_free(m);
	}
}

struct bad_doc {
	const char	*name;
	const char	*json;
	const char	*field;
	const char	*reason;
};

static const struct bad_doc bad_docs[] = {
	{ "A referral without units is refused",
	    "{\"kind\":\"referral\"," REF ",\"referral\":{\"action\":\"rescue\"}}",
	    "referral.to_units", "required" },
	{ "A referral to an empty list of units is refused",
	    "{\"kind\":\"referral\"," REF ",\"referral\":{\"to_units\":[],\"action\":\"rescue\"}}",
	    "referral.to_units", "at least one unit" },
	{ "A referral to a unit id with capitals is refused",
	    "{\"kind\":\"referral\"," REF ",\"referral\":{\"to_units\":[\"PSB\"],"
	    "\"action\":\"rescue\"}}", "referral.to_units[0]", "not a unit id" },
	{ "A referral naming a unit twice is refused",
	    "{\"kind\":\"referral\"," REF ",\"referral\":{\"to_units\":[\"psb\",\"psb\"],"
	    "\"action\":\"rescue\"}}", "referral.to_units[1]", "listed twice" },
	{ "A referral unit that is a number is refused",
	    "{\"kind\":\"referral\"," REF ",\"referral\":{\"to_units\":[7],\"action\":\"rescue\"}}",
	    "referral.to_units[0]", "expected string" },
	{ "A referral without an action is refused",
	    "{\"kind\":\"referral\"," REF ",\"referral\":{\"to_units\":[\"psb\"]}}",
	    "referral.action", "required" },
	{ "An unknown referral action is refused with the list",
	    "{\"kind\":\"referral\"," REF ",\"referral\":{\"to_units\":[\"psb\"],"
	    "\"action\":\"arrest\"}}", "referral.action", "must be one of: investigate, rescue" },
	{ "A referral due date that is not a time is refused",
	    "{\"kind\":\"referral\"," REF ",\"referral\":{\"to_units\":[\"psb\"],"
	    "\"action\":\"rescue\",\"receipt_due_at\":\"tomorrow\"}}",
	    "referral.receipt_due_at", "not an RFC 3339 time" },
	{ "A feedback due before the receipt is refused",
	    "{\"kind\":\"referral\"," REF ",\"referral\":{\"to_units\":[\"psb\"],"
	    "\"action\":\"rescue\",\"receipt_due_at\":\"2026-03-02T00:00:00Z\","
	    "\"feedback_due_at\":\"2026-03-01T00:00:00Z\"}}",
	    "referral.feedback_due_at", "earlier than receipt_due_at" },
	{ "A referral with neither refers_to nor case_ref is refused",
	    "{\"kind\":\"referral\",\"referral\":{\"to_units\":[\"psb\"],\"action\":\"rescue\"}}",
	    "refers_to", "refers_to (the clue) or a case_ref" },
	{ "An unknown field in a referral is refused",
	    "{\"kind\":\"referral\"," REF ",\"referral\":{\"to_units\":[\"psb\"],"
	    "\"action\":\"rescue\",\"deadline\":1}}", "referral.deadline", "unknown field" },
	{ "A receipt without refers_to is refused",
	    "{\"kind\":\"receipt\",\"receipt\":{}}", "refers_to", "required" },
	{ "A receipt with an unknown field is refused",
	    "{\"kind\":\"receipt\"," REF ",\"receipt\":{\"by\":\"x\"}}", "receipt.by",
	    "unknown field" },
	{ "A feedback without a status is refused",
	    "{\"kind\":\"feedback\"," REF ",\"feedback\":{}}", "feedback.status", "required" },
	{ "An unknown feedback status is refused",
	    "{\"kind\":\"feedback\"," REF ",\"feedback\":{\"status\":\"done\"}}",
	    "feedback.status", "must be one of: accepted, in_progress, resolved" },
	{ "A transferred feedback without the new units is refused",
	    "{\"kind\":\"feedback\"," REF ",\"feedback\":{\"status\":\"transferred\"}}",
	    "feedback.transferred_to", "required when status is transferred" },
	{ "New units on a feedback that is not a transfer are refused",
	    "{\"kind\":\"feedback\"," REF ",\"feedback\":{\"status\":\"resolved\","
	    "\"transferred_to\":[\"psb\"]}}", "feedback.transferred_to", "only allowed" },
	{ "A feedback without refers_to is refused",
	    "{\"kind\":\"feedback\",\"feedback\":{\"status\":\"resolved\"}}", "refers_to",
	    "required" },
	{ "A supervision without a level is refused",
	    "{\"kind\":\"supervision\"," REF ",\"supervision\":{}}", "supervision.level",
	    "required" },
	{ "A supervision of an unknown level is refused",
	    "{\"kind\":\"supervision\"," REF ",\"supervision\":{\"level\":\"urgent\"}}",
	    "supervision.level", "must be one of: supervise, listed" },
	{ "A supervision without refers_to is refused",
	    "{\"kind\":\"supervision\",\"supervision\":{\"level\":\"supervise\"}}", "refers_to",
	    "required" },
	{ "A supervision due time in the wrong format is refused",
	    "{\"kind\":\"supervision\"," REF ",\"supervision\":{\"level\":\"supervise\","
	    "\"feedback_due_at\":1772352000}}", "supervision.feedback_due_at",
	    "expected string" },
	{ "A report without a type is refused",
	    "{\"kind\":\"report\",\"report\":{\"title\":\"t\",\"text\":\"x\"}}", "report.type",
	    "required" },
	{ "A report without a title is refused",
	    "{\"kind\":\"report\",\"report\":{\"type\":\"warning_notice\",\"text\":\"x\"}}",
	    "report.title", "required" },
	{ "A report without text is refused",
	    "{\"kind\":\"report\",\"report\":{\"type\":\"warning_notice\",\"title\":\"t\"}}",
	    "report.text", "required" },
	{ "A report whose period ends before it starts is refused",
	    "{\"kind\":\"report\",\"report\":{\"type\":\"self_evaluation\",\"title\":\"t\","
	    "\"text\":\"x\",\"period_from\":\"2026-07-01T00:00:00Z\",\"period_to\":"
	    "\"2026-01-01T00:00:00Z\"}}", "report.period_to", "earlier than period_from" },
	{ "A report of an unknown type is refused",
	    "{\"kind\":\"report\",\"report\":{\"type\":\"annual\",\"title\":\"t\",\"text\":\"x\"}}",
	    "report.type", "must be one of: situation_analysis, self_evaluation" },
	{ "A referral body under the wrong key is refused",
	    "{\"kind\":\"referral\"," REF ",\"receipt\":{}}", "receipt", "unknown field" },
};

static void
test_bad_document(void **state)
{
	const struct bad_doc *row = *state;
	Cluebus__Message *m = (Cluebus__Message *)1;
	cb_error_t err;
	int rc = intake_from_json(row->json, strlen(row->json), &m, &err);

	if (rc != CB_EMALFORMED)
		fail_msg("got %s (%s: %s)", cb_strerror(rc), err.field, err.reason);
	assert_null(m);
	assert_string_equal(err.field, row->field);
	if (strstr(err.reason, row->reason) == NULL)
		fail_msg("reason \"%s\" does not say \"%s\"", err.reason, row->reason);
}

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_a_referral_names_its_units_action_and_due_times),
		cmocka_unit_test(
		    test_a_receipt_a_feedback_a_supervision_and_a_report_parse_and_round_trip),
		cmocka_unit_test(test_the_documented_workflow_examples_parse),
	};
	enum { NBAD = sizeof(bad_docs) / sizeof(bad_docs[0]) };
	static struct CMUnitTest refused[NBAD];
	int failed;

	for (size_t i = 0; i < NBAD; i++) {
		refused[i].name = bad_docs[i].name;
		refused[i].test_func = test_bad_document;
		refused[i].initial_state = (void *)&bad_docs[i];
	}
	failed = cmocka_run_group_tests_name("intake workflow kinds", fixed, NULL, NULL);
	failed += _cmocka_run_group_tests("intake workflow refusals", refused, NBAD, NULL, NULL);
	return failed != 0;
}

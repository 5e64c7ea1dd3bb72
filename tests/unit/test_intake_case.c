/* tests/unit/test_intake_case.c — the agency JSON of the case and correction kinds and of a
 * case's or units' supervision (lib/intake.c): accepted documents round-trip through
 * intake_to_json, and a table of bad documents each refused naming the field and why. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluebus/err.h"
#include "envelope.h"
#include "intake.h"

#define CLUE_BODY "{\"category\":\"public_tip\",\"jurisdiction\":\"210302\"," \
	"\"occurred_at\":\"2026-02-27T09:30:00+08:00\",\"summary\":\"s\"," \
	"\"handling\":{\"code\":\"h0\"},\"evaluation\":{\"source_reliability\":\"b\"," \
	"\"accuracy\":2}}"
#define REF "\"refers_to\":\"3f2a9c1e7b4d4e0f8a6b2c5d1e9f0a7b\""

struct bad_doc {
	const char	*name;
	const char	*json;
	const char	*field;		/* err.field, exactly */
	const char	*reason;	/* a piece of err.reason */
};

static const struct bad_doc bad_docs[] = {
	{ "A case without a case_ref is refused",
	    "{\"kind\":\"case\",\"case\":{\"op\":\"close\",\"reason\":\"r\"}}", "case_ref",
	    "required" },
	{ "A case with an unknown op is refused naming the ops",
	    "{\"kind\":\"case\",\"case_ref\":\"A\",\"case\":{\"op\":\"reopen\"}}", "case.op",
	    "open" },
	{ "Opening a case without a jurisdiction is refused",
	    "{\"kind\":\"case\",\"case_ref\":\"A\",\"case\":{\"op\":\"open\"}}",
	    "case.jurisdiction", "required when opening" },
	{ "Opening a case in a jurisdiction that is not six digits is refused",
	    "{\"kind\":\"case\",\"case_ref\":\"A\",\"case\":{\"op\":\"open\","
	    "\"jurisdiction\":\"21030\"}}", "case.jurisdiction", "6 ASCII digits" },
	{ "A jurisdiction on a change of members is refused",
	    "{\"kind\":\"case\",\"case_ref\":\"A\",\"case\":{\"op\":\"add_members\","
	    "\"jurisdiction\":\"210302\",\"members\":[\"psb\"]}}", "case.jurisdiction",
	    "only when opening" },
	{ "Adding members without naming any is refused",
	    "{\"kind\":\"case\",\"case_ref\":\"A\",\"case\":{\"op\":\"add_members\"}}",
	    "case.members", "required" },
	{ "A member listed twice is refused",
	    "{\"kind\":\"case\",\"case_ref\":\"A\",\"case\":{\"op\":\"open\","
	    "\"jurisdiction\":\"210302\",\"members\":[\"psb\",\"psb\"]}}", "case.members[1]",
	    "twice" },
	{ "A member that is not a unit id is refused",
	    "{\"kind\":\"case\",\"case_ref\":\"A\",\"case\":{\"op\":\"remove_members\","
	    "\"members\":[\"PSB\"]}}", "case.members[0]", "not a unit id" },
	{ "Closing a case without a reason is refused",
	    "{\"kind\":\"case\",\"case_ref\":\"A\",\"case\":{\"op\":\"close\"}}", "case.reason",
	    "required when closing" },
	{ "Members on a close are refused",
	    "{\"kind\":\"case\",\"case_ref\":\"A\",\"case\":{\"op\":\"close\",\"reason\":\"r\","
	    "\"members\":[\"psb\"]}}", "case.members", "not when closing" },
	{ "An unknown field in a case is refused",
	    "{\"kind\":\"case\",\"case_ref\":\"A\",\"case\":{\"op\":\"close\",\"reason\":\"r\","
	    "\"state\":\"closed\"}}", "case.state", "unknown field" },
	{ "A correction without refers_to is refused",
	    "{\"kind\":\"correction\",\"correction\":{\"op\":\"withdraw\",\"reason\":\"r\"}}",
	    "refers_to", "required" },
	{ "A correction without a reason is refused",
	    "{\"kind\":\"correction\"," REF ",\"correction\":{\"op\":\"withdraw\"}}",
	    "correction.reason", "required" },
	{ "A correction with an unknown op is refused",
	    "{\"kind\":\"correction\"," REF ",\"correction\":{\"op\":\"delete\","
	    "\"reason\":\"r\"}}", "correction.op", "withdraw" },
	{ "A withdrawal carrying a corrected clue is refused",
	    "{\"kind\":\"correction\"," REF ",\"correction\":{\"op\":\"withdraw\","
	    "\"reason\":\"r\",\"clue\":" CLUE_BODY "}}", "correction.clue",
	    "only when op is correct" },
	{ "A corrected clue with a bad category is refused at its path",
	    "{\"kind\":\"correction\"," REF ",\"correction\":{\"op\":\"correct\","
	    "\"reason\":\"r\",\"clue\":{\"category\":\"rumour\"}}}", "correction.clue.category",
	    "" },
	{ "A corrected clue that is not an object is refused",
	    "{\"kind\":\"correction\"," REF ",\"correction\":{\"op\":\"correct\","
	    "\"reason\":\"r\",\"clue\":[]}}", "correction.clue", "expected object" },
	{ "A supervision of nothing (no refers_to, case_ref nor units) is refused",
	    "{\"kind\":\"supervision\",\"supervision\":{\"level\":\"listed\"}}", "refers_to",
	    "case_ref" },
};

static void
test_bad_document(void **state)
{
	const struct bad_doc *row = *state;
	Cluebus__Message *m = NULL;
	cb_error_t err;
	int rc;

	rc = intake_from_json(row->json, strlen(row->json), &m, &err);
	if (rc != CB_EMALFORMED)
		fail_msg("%s: rc %d (%s: %s)", row->name, rc, err.field, err.reason);
	assert_null(m);
	if (strcmp(err.field, row->field) != 0 || strstr(err.reason, row->reason) == NULL)
		fail_msg("%s: got %s: %s", row->name, err.field, err.reason);
}

/* Parses `json`, renders it, parses the rendering: the two messages are the same. */
static void
round_trip(const char *json, Cluebus__Kind kind)
{
	Cluebus__Message *m, *again;
	cb_error_t err;
	json_t *o;
	char *text;

	if (intake_from_json(json, strlen(json), &m, &err) != 0)
		fail_msg("%s: %s", err.field, err.reason);
	assert_int_equal(m->kind, kind);
	assert_non_null(o = intake_to_json(m));
	assert_non_null(text = json_dumps(o, 0));
	if (intake_from_json(text, strlen(text), &again, &err) != 0)
		fail_msg("rendered %s: %s: %s", text, err.field, err.reason);
	assert_int_equal(message_same_content(m, again), 1);
	free(text);
	json_decref(o);
	protobuf_c_message_free_unpacked(&again->base, NULL);
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void
test_a_case_opening_renders_and_parses_back_the_same(void **state)
{
	(void)state;
	round_trip("{\"kind\":\"case\",\"case_ref\":\"AS-2026-031\",\"case\":{\"op\":\"open\","
	    "\"jurisdiction\":\"210302\",\"members\":[\"civil-affairs\",\"education\"],"
	    "\"title\":\"铁东区女童被拐案专班\"}}", CLUEBUS__KIND__KIND_CASE);
}

static void
test_a_correction_with_a_corrected_clue_renders_and_parses_back_the_same(void **state)
{
	(void)state;
	round_trip("{\"kind\":\"correction\"," REF ",\"correction\":{\"op\":\"correct\","
	    "\"reason\":\"类别填错\",\"clue\":" CLUE_BODY "}}", CLUEBUS__KIND__KIND_CORRECTION);
	round_trip("{\"kind\":\"correction\"," REF ",\"correction\":{\"op\":\"withdraw\","
	    "\"reason\":\"误发\"}}", CLUEBUS__KIND__KIND_CORRECTION);
}

static void
test_a_supervision_of_a_case_or_of_units_needs_no_refers_to(void **state)
{
	(void)state;
	round_trip("{\"kind\":\"supervision\",\"case_ref\":\"AS-2026-031\",\"supervision\":{"
	    "\"level\":\"listed\"}}", CLUEBUS__KIND__KIND_SUPERVISION);
	round_trip("{\"kind\":\"supervision\",\"supervision\":{\"level\":\"supervise\","
	    "\"units\":[\"ato-210302\"]}}", CLUEBUS__KIND__KIND_SUPERVISION);
}

int
main(void)
{
	struct CMUnitTest bad[sizeof(bad_docs) / sizeof(bad_docs[0])];
	const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_a_case_opening_renders_and_parses_back_the_same),
		cmocka_unit_test(
		    test_a_correction_with_a_corrected_clue_renders_and_parses_back_the_same),
		cmocka_unit_test(test_a_supervision_of_a_case_or_of_units_needs_no_refers_to),
	};
	int failed;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&bad[i], 0, sizeof(bad[i]));
		bad[i].name = bad_docs[i].name;
		bad[i].test_func = test_bad_document;
		bad[i].initial_state = (void *)&bad_docs[i];
	}
	failed = _cmocka_run_group_tests("bad case and correction documents", bad,
	    sizeof(bad) / sizeof(bad[0]), NULL, NULL);
	return failed + cmocka_run_group_tests(fixed, NULL, NULL);
}

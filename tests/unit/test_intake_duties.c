/* tests/unit/test_intake_duties.c — JSON intake of the duty fields: a referral's follow-ups,
 * a transfer's own action and reason, the new report types and a warning notice's district;
 * a table of bad documents, each refused naming its field, and round trips through render. */
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

#define REF	"\"refers_to\":\"00112233445566778899aabbccddeeff\""

static Cluebus__Message *
parse_ok(const char *json)
{
	Cluebus__Message *m = NULL;
	cb_error_t err;

	if (intake_from_json(json, strlen(json), &m, &err) != 0)
		fail_msg("refused: %s: %s", err.field, err.reason);
	return m;
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
	protobuf_c_message_free_unpacked(&again->base, NULL);
}

static void
test_a_referral_asks_for_follow_ups_every_interval_from_a_date_until_another(void **state)
{
	Cluebus__Message *m = parse_ok("{\"kind\":\"referral\"," REF ",\"referral\":{"
	    "\"to_units\":[\"education\"],\"action\":\"schooling\",\"follow_up_every\":\"30d\","
	    "\"follow_up_from\":\"2026-09-01T00:00:00+08:00\","
	    "\"follow_up_until\":\"2027-07-01T00:00:00+08:00\"}}");

	(void)state;
	assert_int_equal(m->referral->follow_up_every_ms, INT64_C(30) * 86400000);
	assert_int_equal(m->referral->follow_up_from_ms, INT64_C(1788192000000));
	assert_true(m->referral->follow_up_until_ms > m->referral->follow_up_from_ms);
	assert_round_trip(m);
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void
test_a_transfer_carries_its_own_action_and_reason(void **state)
{
	Cluebus__Message *m = parse_ok("{\"kind\":\"feedback\"," REF ",\"feedback\":{"
	    "\"status\":\"transferred\",\"transferred_to\":[\"education\"],"
	    "\"action\":\"schooling\",\"reason\":\"需入学\"}}");

	(void)state;
	assert_int_equal(m->feedback->action, CLUEBUS__ACTION__ACTION_SCHOOLING);
	assert_string_equal(m->feedback->reason, "需入学");
	assert_round_trip(m);
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void
test_the_new_report_types_and_a_warning_notices_district_parse_and_round_trip(void **state)
{
	static const char *const docs[] = {
		"{\"kind\":\"report\",\"report\":{\"type\":\"phase_evaluation\",\"title\":\"t\","
		    "\"text\":\"x\"}}",
		"{\"kind\":\"report\",\"report\":{\"type\":\"final_evaluation\",\"title\":\"t\","
		    "\"text\":\"x\"}}",
		"{\"kind\":\"report\"," REF ",\"report\":{\"type\":\"follow_up\",\"title\":\"t\","
		    "\"text\":\"x\"}}",
		"{\"kind\":\"report\",\"report\":{\"type\":\"warning_notice\",\"district\":"
		    "\"210302\",\"title\":\"t\",\"text\":\"x\"}}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		Cluebus__Message *m = parse_ok(docs[i]);

		assert_round_trip(m);
		protobuf_c_message_free_unpacked(&m->base, NULL);
	}
}

struct bad {
	const char	*json;
	const char	*field;
	const char	*reason;	/* a part of it */
};

static const struct bad bad_docs[] = {
	{ "{\"kind\":\"referral\"," REF ",\"referral\":{\"to_units\":[\"psb\"],\"action\":"
	    "\"relief\",\"follow_up_every\":\"30d\"}}", "referral.follow_up_until",
	    "required with follow_up_every" },
	{ "{\"kind\":\"referral\"," REF ",\"referral\":{\"to_units\":[\"psb\"],\"action\":"
	    "\"relief\",\"follow_up_until\":\"2027-01-01T00:00:00Z\"}}", "referral.follow_up_every",
	    "required with" },
	{ "{\"kind\":\"referral\"," REF ",\"referral\":{\"to_units\":[\"psb\"],\"action\":"
	    "\"relief\",\"follow_up_every\":\"monthly\",\"follow_up_until\":"
	    "\"2027-01-01T00:00:00Z\"}}", "referral.follow_up_every", "not a duration" },
	{ "{\"kind\":\"referral\"," REF ",\"referral\":{\"to_units\":[\"psb\"],\"action\":"
	    "\"relief\",\"follow_up_every\":\"30d\",\"follow_up_from\":\"2027-01-01T00:00:00Z\","
	    "\"follow_up_until\":\"2027-01-15T00:00:00Z\"}}", "referral.follow_up_until",
	    "no whole period" },
	{ "{\"kind\":\"referral\"," REF ",\"referral\":{\"to_units\":[\"psb\"],\"action\":"
	    "\"relief\",\"follow_up_every\":\"1d\",\"follow_up_from\":\"2027-01-01T00:00:00Z\","
	    "\"follow_up_until\":\"2028-01-01T00:00:00Z\"}}", "referral.follow_up_until",
	    "more than 60" },
	{ "{\"kind\":\"feedback\"," REF ",\"feedback\":{\"status\":\"resolved\","
	    "\"reason\":\"x\"}}", "feedback.reason", "only allowed when status is transferred" },
	{ "{\"kind\":\"feedback\"," REF ",\"feedback\":{\"status\":\"transferred\","
	    "\"transferred_to\":[\"psb\"],\"action\":\"fly\"}}", "feedback.action",
	    "must be one of" },
	{ "{\"kind\":\"report\",\"report\":{\"type\":\"follow_up\",\"title\":\"t\","
	    "\"text\":\"x\"}}", "refers_to", "required" },
	{ "{\"kind\":\"report\",\"report\":{\"type\":\"warning_notice\",\"district\":\"2103\","
	    "\"title\":\"t\",\"text\":\"x\"}}", "report.district", "6 digits" },
	{ "{\"kind\":\"report\",\"report\":{\"type\":\"self_evaluation\",\"district\":"
	    "\"210302\",\"title\":\"t\",\"text\":\"x\"}}", "report.district",
	    "only allowed for a warning_notice" },
};

static void
test_each_bad_duty_field_is_refused_naming_the_field(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_docs) / sizeof(bad_docs[0]); i++) {
		const struct bad *b = &bad_docs[i];
		Cluebus__Message *m = NULL;
		cb_error_t err;

		if (intake_from_json(b->json, strlen(b->json), &m, &err) == 0)
			fail_msg("row %zu accepted", i);
		if (strcmp(err.field, b->field) != 0 || strstr(err.reason, b->reason) == NULL)
			fail_msg("row %zu: %s: %s (want %s: ...%s...)", i, err.field, err.reason,
			    b->field, b->reason);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_a_referral_asks_for_follow_ups_every_interval_from_a_date_until_another),
		cmocka_unit_test(test_a_transfer_carries_its_own_action_and_reason),
		cmocka_unit_test(
		    test_the_new_report_types_and_a_warning_notices_district_parse_and_round_trip),
		cmocka_unit_test(test_each_bad_duty_field_is_refused_naming_the_field),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* tests/unit/test_workflow.c — referral obligations, their deadlines and escalations, driven
 * through the broker's pipeline and workflow_tick without sockets (broker_fixture.h).
 *
 * The referral of tests/unit/data/workflow-referral.json (health to psb and civil-affairs)
 * asks for receipts by 2026-03-01: a due time already past (the agent's intake would refuse
 * it; the broker takes it), so a tick escalates at once. The
 * broker's fatal exit is caught (-Wl,--wrap=fatalx) to show that a corrupt obligation
 * record stops it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker_fixture.h"
#include "util.h"
#include "workflow.h"

/* What the publish had allocated when fatalx jumped out of it is lost, as it would be in an
 * exiting broker: LeakSanitizer is told not to count it. */
#if defined(__SANITIZE_ADDRESS__)
#define LEAKS_COUNTED	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LEAKS_COUNTED	1
#endif
#endif
#ifdef LEAKS_COUNTED
#include <sanitizer/lsan_interface.h>
#define leaks_ignore()	__lsan_disable()
#define leaks_count()	__lsan_enable()
#else
#define leaks_ignore()	do { } while (0)
#define leaks_count()	do { } while (0)
#endif

#define REFERRAL	"tests/unit/data/workflow-referral.json"
#define REFERRAL_ID	"5b7d1e0c2a9f4c3e8d6b1a0f9e8d7c6b"	/* receipt.json refers to it */
#define RECEIPT		"tests/unit/data/workflow-receipt.json"

void	__wrap_fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static jmp_buf	 fatal_env;
static int	 fatal_armed;

void
__wrap_fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (!fatal_armed)
		abort();
	fatal_armed = 0;
	longjmp(fatal_env, 1);
}

/* Publishes the example `doc` from `sender`'s own session and commits the round. */
static void
publish(struct fixture *fx, const char *doc, const char *sender, const char *idhex)
{
	assert_int_equal(fixture_send(fx, doc, sender, sender, idhex, 0, 0), 0);
}

static void
assert_accepted(struct fixture *fx)
{
	assert_int_equal(fx->nreplies, 1);
	assert_int_equal(fx->reply[0].frame_case, CLUEBUS__FRAME__FRAME_ACCEPTED);
	assert_false(fx->reply[0].duplicate);
}

static int
obligation_state(struct fixture *fx, const char *unit)
{
	Cluebus__Obligation *o;
	int state;

	assert_int_equal(fixture_obligation(fx, REFERRAL_ID, unit, &o), 0);
	state = o->state;
	cluebus__obligation__free_unpacked(o, NULL);
	return state;
}

/* Runs a timer tick and commits it; returns the units escalated for a missed receipt, in
 * log order, as "unit,unit,". */
static void
tick(struct fixture *fx, char *escalated, size_t cap)
{
	uint64_t head = store_head_seq(fx->b.store);

	escalated[0] = '\0';
	assert_int_equal(workflow_tick(&fx->b), 0);
	fixture_commit(fx);
	assert_int_equal(fx->nreplies, 0);
	for (uint64_t seq = head + 1; seq <= store_head_seq(fx->b.store); seq++) {
		Cluebus__LogEntry *e;
		Cluebus__Message *m;

		assert_int_equal(fixture_entry(fx, seq, &e, &m), 0);
		assert_int_equal(e->type, CLUEBUS__ENTRY_TYPE__ENTRY_BROKER);
		assert_int_equal(m->kind, CLUEBUS__KIND__KIND_ESCALATION);
		assert_int_equal(m->escalation->missed, CLUEBUS__MISSED__MISSED_RECEIPT);
		/* To the office and the referrer, and a reminder to the overdue unit. */
		assert_int_equal(e->n_recipients, 3);
		assert_string_equal(e->recipients[0], "ato");
		assert_string_equal(e->recipients[1], "health");
		assert_string_equal(e->recipients[2], m->escalation->unit);
		assert_true(m->escalation->reminder);
		snprintf(escalated + strlen(escalated), cap - strlen(escalated), "%s,",
		    m->escalation->unit);
		protobuf_c_message_free_unpacked(&m->base, NULL);
		cluebus__log_entry__free_unpacked(e, NULL);
	}
}

static void
test_a_referral_creates_a_receipt_obligation_for_each_unit_it_names(void **state)
{
	struct fixture *fx = *state;
	Cluebus__Obligation *o;

	publish(fx, REFERRAL, "health", REFERRAL_ID);
	assert_accepted(fx);
	assert_int_equal(obligation_state(fx, "psb"),
	    CLUEBUS__OBLIGATION_STATE__OBLIGATION_AWAITING_RECEIPT);
	assert_int_equal(obligation_state(fx, "civil-affairs"),
	    CLUEBUS__OBLIGATION_STATE__OBLIGATION_AWAITING_RECEIPT);
	assert_int_equal(fixture_obligation(fx, REFERRAL_ID, "education", &o), CB_ENOTFOUND);
	assert_int_equal(fixture_obligation(fx, REFERRAL_ID, "psb", &o), 0);
	assert_string_equal(o->referrer, "health");
	assert_true(o->receipt_due_ms > 0 && o->receipt_due_ms < broker_clock_ms());
	assert_true(o->feedback_due_ms >= o->receipt_due_ms);
	cluebus__obligation__free_unpacked(o, NULL);
}

static void
test_a_receipt_from_an_obliged_unit_meets_its_obligation_and_reaches_the_referrer(
    void **state)
{
	struct fixture *fx = *state;
	uint64_t before, after;
	Cluebus__Obligation *o;

	publish(fx, REFERRAL, "health", REFERRAL_ID);
	assert_int_equal(store_backlog_depth(fx->b.store, "health", &before), 0);
	publish(fx, RECEIPT, "psb", NULL);
	assert_accepted(fx);
	assert_int_equal(store_backlog_depth(fx->b.store, "health", &after), 0);
	assert_int_equal(after, before + 1);
	assert_int_equal(fixture_obligation(fx, REFERRAL_ID, "psb", &o), 0);
	assert_int_equal(o->state, CLUEBUS__OBLIGATION_STATE__OBLIGATION_AWAITING_FEEDBACK);
	assert_true(o->received_ms > 0);
	cluebus__obligation__free_unpacked(o, NULL);
	assert_int_equal(obligation_state(fx, "civil-affairs"),
	    CLUEBUS__OBLIGATION_STATE__OBLIGATION_AWAITING_RECEIPT);
}

static void
test_a_receipt_from_a_unit_the_referral_does_not_name_is_rejected(void **state)
{
	struct fixture *fx = *state;

	publish(fx, REFERRAL, "health", REFERRAL_ID);
	publish(fx, RECEIPT, "education", NULL);
	assert_int_equal(fx->nreplies, 1);
	assert_int_equal(fx->reply[0].frame_case, CLUEBUS__FRAME__FRAME_REJECTED);
	assert_int_equal(fx->reply[0].code, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY);
	assert_string_equal(fx->reply[0].field, "refers_to");
	assert_string_equal(fx->reply[0].reason, "no referral to this unit with that id");
}

static void
test_a_referral_to_an_unregistered_unit_is_refused_naming_it_and_its_place(void **state)
{
	struct fixture *fx = *state;

	publish(fx, "tests/unit/data/workflow-referral-unknown-unit.json", "health", REFERRAL_ID);
	assert_int_equal(fx->nreplies, 1);
	assert_int_equal(fx->reply[0].frame_case, CLUEBUS__FRAME__FRAME_REJECTED);
	assert_int_equal(fx->reply[0].code, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY);
	assert_string_equal(fx->reply[0].field, "referral.to_units[1]");
	assert_string_equal(fx->reply[0].reason, "unit 'no-such-unit' is not registered");
}

static void
test_a_clue_outside_the_configured_divisions_is_refused_with_the_valid_codes(void **state)
{
	struct fixture *fx = *state;

	publish(fx, "tests/unit/data/clue-outside-divisions.json", "health", NULL);
	assert_int_equal(fx->nreplies, 1);
	assert_int_equal(fx->reply[0].frame_case, CLUEBUS__FRAME__FRAME_REJECTED);
	assert_int_equal(fx->reply[0].code, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY);
	assert_string_equal(fx->reply[0].field, "clue.jurisdiction");
	if (strstr(fx->reply[0].reason, "'999999' is not a division of this deployment; valid: "
	    "210300 鞍山市, 210302 铁东区") == NULL)
		fail_msg("reason: %s", fx->reply[0].reason);
}

static void
test_a_supervision_from_a_unit_other_than_the_office_is_rejected(void **state)
{
	struct fixture *fx = *state;

	publish(fx, REFERRAL, "health", REFERRAL_ID);
	publish(fx, "tests/unit/data/workflow-supervision.json", "psb", NULL);
	assert_int_equal(fx->nreplies, 1);
	assert_int_equal(fx->reply[0].frame_case, CLUEBUS__FRAME__FRAME_REJECTED);
	assert_int_equal(fx->reply[0].code, CLUEBUS__REJECT_CODE__REJECT_FORBIDDEN_KIND);
}

static void
test_a_past_receipt_due_time_produces_exactly_one_escalation_per_unit_that_owes_it(
    void **state)
{
	struct fixture *fx = *state;
	char escalated[256];
	Cluebus__Obligation *o;

	publish(fx, REFERRAL, "health", REFERRAL_ID);
	tick(fx, escalated, sizeof(escalated));
	assert_string_equal(escalated, "civil-affairs,psb,");
	tick(fx, escalated, sizeof(escalated));
	assert_string_equal(escalated, "");
	assert_int_equal(fixture_obligation(fx, REFERRAL_ID, "psb", &o), 0);
	assert_true(o->receipt_escalated);
	assert_false(o->feedback_escalated);
	cluebus__obligation__free_unpacked(o, NULL);
}

static void
test_a_receipt_before_the_tick_spares_its_unit_the_escalation(void **state)
{
	struct fixture *fx = *state;
	char escalated[256];

	publish(fx, REFERRAL, "health", REFERRAL_ID);
	publish(fx, RECEIPT, "psb", NULL);
	assert_accepted(fx);
	tick(fx, escalated, sizeof(escalated));
	assert_string_equal(escalated, "civil-affairs,");
}

/* A record that does not parse is in the obligations database, not in the message: the
 * broker must stop rather than answer "retry" for ever. */
static void
test_a_corrupt_obligation_record_stops_the_broker_instead_of_answering_retry(void **state)
{
	struct fixture *fx = *state;
	struct broker *b = &fx->b;
	uint8_t key[MESSAGE_ID_LEN + 3];
	struct fixture_frame fr;
	volatile int stopped = 0;

	publish(fx, REFERRAL, "health", REFERRAL_ID);
	assert_int_equal(hex_decode(REFERRAL_ID, key, MESSAGE_ID_LEN), 0);
	memcpy(key + MESSAGE_ID_LEN, "psb", 3);
	assert_int_equal(round_txn(b), 0);
	assert_int_equal(store_txn_aux_put(b->txn, STORE_OBLIGATIONS, key, sizeof(key),
	    "\xff\xff\xff", 3), 0);
	fixture_commit(fx);

	assert_int_equal(fixture_frame(fx, RECEIPT, "psb", NULL, 0, 0, &fr), 0);
	fatal_armed = 1;
	leaks_ignore();
	if (setjmp(fatal_env) == 0)
		fixture_publish(fx, "psb", &fr);
	else
		stopped = 1;
	leaks_count();
	fatal_armed = 0;
	fixture_frame_free(&fr);
	assert_true(stopped);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_a_referral_creates_a_receipt_obligation_for_each_unit_it_names, fixture_setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_receipt_from_an_obliged_unit_meets_its_obligation_and_reaches_the_referrer,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_receipt_from_a_unit_the_referral_does_not_name_is_rejected, fixture_setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_supervision_from_a_unit_other_than_the_office_is_rejected, fixture_setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_referral_to_an_unregistered_unit_is_refused_naming_it_and_its_place,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_clue_outside_the_configured_divisions_is_refused_with_the_valid_codes,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_past_receipt_due_time_produces_exactly_one_escalation_per_unit_that_owes_it,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_receipt_before_the_tick_spares_its_unit_the_escalation, fixture_setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_corrupt_obligation_record_stops_the_broker_instead_of_answering_retry,
		    fixture_setup, fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* tests/unit/test_pipeline.c — a publish through the broker's pipeline and commit round,
 * without sockets (broker_fixture.h): what is logged, what is counted, what the sender is
 * told, and that nothing is told before the round committed. */
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

#define CLUE		"examples/json/clue-medical.json"	/* health -> psb, ato, ... */
#define CLUE_ID		"3f2a9c1e7b4d4e0f8a6b2c5d1e9f0a7b"

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL || fixture_start(fx) != 0)
		return -1;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	fixture_stop(*state);
	free(*state);
	return 0;
}

/* Publishes the example `doc` from `sender` on a session of `peer` and commits the round. */
static void
publish(struct fixture *fx, const char *doc, const char *sender, const char *peer,
    const char *idhex, int64_t created_ms, int forge)
{
	struct fixture_frame fr;

	assert_int_equal(fixture_frame(fx, doc, sender, idhex, created_ms, forge, &fr), 0);
	fixture_publish(fx, peer, &fr);
	fixture_commit(fx);
	fixture_frame_free(&fr);
}

static int
entry_type(struct fixture *fx, uint64_t seq)
{
	Cluebus__LogEntry *e;
	int type;

	assert_int_equal(fixture_entry(fx, seq, &e, NULL), 0);
	type = e->type;
	cluebus__log_entry__free_unpacked(e, NULL);
	return type;
}

static void
assert_rejected(struct fixture *fx, int code)
{
	assert_int_equal(fx->nreplies, 1);
	assert_int_equal(fx->reply[0].frame_case, CLUEBUS__FRAME__FRAME_REJECTED);
	assert_int_equal(fx->reply[0].code, code);
}

/* A refusal of an authenticated unit's frame: answered, counted, and summarized in the log
 * (one ENTRY_REJECTION, nothing else). */
static void
assert_rejected_and_logged(struct fixture *fx, uint64_t head, int code)
{
	assert_rejected(fx, code);
	assert_int_equal(store_head_seq(fx->b.store), head + 1);
	assert_int_equal(entry_type(fx, head + 1), CLUEBUS__ENTRY_TYPE__ENTRY_REJECTION);
	assert_int_equal(fx->b.count.rejected, 1);
	assert_int_equal(fx->b.count.rejected_by_code[code], 1);
	assert_int_equal(fx->b.count.accepted, 0);
}

static void
test_a_new_clue_is_logged_and_accepted_with_its_seq_only_after_the_round_commits(
    void **state)
{
	struct fixture *fx = *state;
	uint64_t head = store_head_seq(fx->b.store), depth;
	struct fixture_frame fr;

	assert_int_equal(fixture_frame(fx, CLUE, "health", CLUE_ID, 0, 0, &fr), 0);
	fixture_publish(fx, "health", &fr);
	fixture_frame_free(&fr);
	assert_int_equal(fx->b.npending, 1);
	assert_true(round_due(&fx->b));
	assert_int_equal(fx->b.count.accepted, 0);

	fixture_commit(fx);
	assert_int_equal(fx->nreplies, 1);
	assert_int_equal(fx->reply[0].frame_case, CLUEBUS__FRAME__FRAME_ACCEPTED);
	assert_int_equal(fx->reply[0].seq, head + 1);
	assert_false(fx->reply[0].duplicate);
	assert_int_equal(store_head_seq(fx->b.store), head + 1);
	assert_int_equal(entry_type(fx, head + 1), CLUEBUS__ENTRY_TYPE__ENTRY_MESSAGE);
	assert_int_equal(fx->b.count.accepted, 1);
	assert_int_equal(fx->b.count.commits, 1);
	assert_int_equal(store_backlog_depth(fx->b.store, "psb", &depth), 0);
	assert_int_equal(depth, 1);
	assert_true(units_find(&fx->b, "psb")->has_more);
	assert_null(fx->b.txn);
	assert_int_equal(fx->b.npending, 0);
}

static void
test_a_clue_resent_by_its_sender_gets_its_original_seq_as_a_duplicate(void **state)
{
	struct fixture *fx = *state;
	uint64_t head;

	publish(fx, CLUE, "health", "health", CLUE_ID, 0, 0);
	head = store_head_seq(fx->b.store);
	publish(fx, CLUE, "health", "health", CLUE_ID, 0, 0);
	assert_int_equal(fx->nreplies, 1);
	assert_int_equal(fx->reply[0].frame_case, CLUEBUS__FRAME__FRAME_ACCEPTED);
	assert_int_equal(fx->reply[0].seq, head);
	assert_true(fx->reply[0].duplicate);
	assert_int_equal(store_head_seq(fx->b.store), head);
	assert_int_equal(fx->b.count.accepted, 1);
	assert_int_equal(fx->b.count.duplicates, 1);
}

static void
test_a_message_id_already_used_by_another_unit_is_rejected_as_an_id_conflict(void **state)
{
	struct fixture *fx = *state;
	uint64_t head;

	publish(fx, CLUE, "health", "health", CLUE_ID, 0, 0);
	head = store_head_seq(fx->b.store);
	fx->b.count.accepted = 0;
	publish(fx, "examples/json/clue-school.json", "education", "education", CLUE_ID, 0, 0);
	assert_rejected_and_logged(fx, head, CLUEBUS__REJECT_CODE__REJECT_ID_CONFLICT);
}

static void
test_a_publish_before_hello_is_rejected_and_not_logged(void **state)
{
	struct fixture *fx = *state;
	uint64_t head = store_head_seq(fx->b.store);

	publish(fx, CLUE, "health", NULL, NULL, 0, 0);
	assert_rejected(fx, CLUEBUS__REJECT_CODE__REJECT_NOT_AUTHENTICATED);
	assert_int_equal(store_head_seq(fx->b.store), head);
	assert_int_equal(fx->b.count.rejected, 1);
}

static void
test_a_sender_other_than_the_session_unit_is_rejected_as_a_mismatch_and_logged(
    void **state)
{
	struct fixture *fx = *state;
	uint64_t head = store_head_seq(fx->b.store);

	publish(fx, CLUE, "health", "psb", NULL, 0, 0);
	assert_rejected_and_logged(fx, head, CLUEBUS__REJECT_CODE__REJECT_SENDER_MISMATCH);
}

static void
test_a_forged_signature_is_rejected_as_bad_signature_and_logged(void **state)
{
	struct fixture *fx = *state;
	uint64_t head = store_head_seq(fx->b.store);

	publish(fx, CLUE, "health", "health", NULL, 0, 1);
	assert_rejected_and_logged(fx, head, CLUEBUS__REJECT_CODE__REJECT_BAD_SIGNATURE);
}

static void
test_a_message_created_outside_the_clock_skew_is_rejected_as_a_replay(void **state)
{
	struct fixture *fx = *state;
	uint64_t head = store_head_seq(fx->b.store);
	int64_t old = clock_now_ms() - 2 * fx->b.cfg.clock_skew_ms;

	publish(fx, CLUE, "health", "health", NULL, old, 0);
	assert_rejected_and_logged(fx, head, CLUEBUS__REJECT_CODE__REJECT_CLOCK_SKEW);
}

static void
test_a_round_that_failed_answers_retry_and_logs_nothing(void **state)
{
	struct fixture *fx = *state;
	uint64_t head = store_head_seq(fx->b.store), depth;
	struct fixture_frame fr;

	assert_int_equal(fixture_frame(fx, CLUE, "health", CLUE_ID, 0, 0, &fr), 0);
	fixture_publish(fx, "health", &fr);
	fixture_frame_free(&fr);
	round_store_error(&fx->b, CB_ESTORE);	/* a later write of the round failed */
	fixture_commit(fx);
	assert_rejected(fx, CLUEBUS__REJECT_CODE__REJECT_UNAVAILABLE);
	assert_int_equal(store_head_seq(fx->b.store), head);
	assert_int_equal(fx->b.count.accepted, 0);
	assert_int_equal(store_backlog_depth(fx->b.store, "psb", &depth), 0);
	assert_int_equal(depth, 0);
	assert_false(fx->b.round_failed);
	assert_null(fx->b.txn);
}

static void
test_an_ack_of_the_delivered_items_is_logged_and_empties_the_backlog(void **state)
{
	struct fixture *fx = *state;
	struct unitq *psb = units_find(&fx->b, "psb");
	uint64_t head, depth;

	publish(fx, CLUE, "health", "health", CLUE_ID, 0, 0);
	head = store_head_seq(fx->b.store);
	psb->online = 1;
	psb->sent_upto = head;	/* delivered in this session */
	psb->inflight = 1;
	round_ack(&fx->b, psb, head + 100);	/* beyond what was delivered: capped */
	fixture_commit(fx);
	assert_int_equal(fx->nreplies, 0);
	assert_int_equal(store_head_seq(fx->b.store), head + 1);
	assert_int_equal(entry_type(fx, head + 1), CLUEBUS__ENTRY_TYPE__ENTRY_ACK);
	assert_int_equal(store_backlog_depth(fx->b.store, "psb", &depth), 0);
	assert_int_equal(depth, 0);
	assert_int_equal(fx->b.count.acked, 1);
	assert_int_equal(psb->inflight, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_a_new_clue_is_logged_and_accepted_with_its_seq_only_after_the_round_commits,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_clue_resent_by_its_sender_gets_its_original_seq_as_a_duplicate,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_message_id_already_used_by_another_unit_is_rejected_as_an_id_conflict,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_publish_before_hello_is_rejected_and_not_logged, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_sender_other_than_the_session_unit_is_rejected_as_a_mismatch_and_logged,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_forged_signature_is_rejected_as_bad_signature_and_logged, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_message_created_outside_the_clock_skew_is_rejected_as_a_replay, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_round_that_failed_answers_retry_and_logs_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_an_ack_of_the_delivered_items_is_logged_and_empties_the_backlog, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

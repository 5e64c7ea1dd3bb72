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

/* Publishes the example `doc` from `sender` on a session of `peer` and commits the round. */
static void
publish(struct fixture *fx, const char *doc, const char *sender, const char *peer,
    const char *idhex, int64_t created_ms, int forge)
{
	assert_int_equal(fixture_send(fx, doc, sender, peer, idhex, created_ms, forge), 0);
}

/* health's clue with CLUE_ID, handed to the pipeline; the round is not committed. */
static void
clue_published(struct fixture *fx)
{
	struct fixture_frame fr;

	assert_int_equal(fixture_frame(fx, CLUE, "health", CLUE_ID, 0, 0, &fr), 0);
	fixture_publish(fx, "health", &fr);
	fixture_frame_free(&fr);
}

/* health's clue with CLUE_ID, published and committed: returns the log's head then. */
static uint64_t
clue_logged(struct fixture *fx)
{
	publish(fx, CLUE, "health", "health", CLUE_ID, 0, 0);
	assert_int_equal(fx->nreplies, 1);
	assert_int_equal(fx->reply[0].frame_case, CLUEBUS__FRAME__FRAME_ACCEPTED);
	return store_head_seq(fx->b.store);
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

	clue_published(fx);
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
	uint64_t head = clue_logged(fx);

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
	uint64_t head = clue_logged(fx);

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

/* Refusals of a new clue from health's own agent, or a frame on another unit's session:
 * each is answered with its code, counted, and summarized in the log. */
static const struct refusal {
	const char	*name;
	const char	*peer;		/* the session it arrives on */
	int		 skews;		/* created this many clock_skew_ms from now */
	int		 forge;
	int		 code;
} refusals[] = {
	{ "A sender other than the session's unit is rejected as a mismatch and logged",
	    "psb", 0, 0, CLUEBUS__REJECT_CODE__REJECT_SENDER_MISMATCH },
	{ "A forged signature is rejected as a bad signature and logged",
	    "health", 0, 1, CLUEBUS__REJECT_CODE__REJECT_BAD_SIGNATURE },
	{ "A message created too far in the past is rejected as a replay and logged",
	    "health", -2, 0, CLUEBUS__REJECT_CODE__REJECT_CLOCK_SKEW },
	{ "A message created too far in the future is rejected for clock skew and logged",
	    "health", 2, 0, CLUEBUS__REJECT_CODE__REJECT_CLOCK_SKEW },
};

static void
test_refusal(void **state)
{
	struct fixture *fx = *state;
	const struct refusal *r = fx->row;
	uint64_t head = store_head_seq(fx->b.store);
	int64_t created = clock_now_ms() + r->skews * fx->b.cfg.clock_skew_ms;

	publish(fx, CLUE, "health", r->peer, NULL, created, r->forge);
	assert_rejected_and_logged(fx, head, r->code);
}

static void
test_a_round_that_failed_answers_retry_and_logs_nothing(void **state)
{
	struct fixture *fx = *state;
	uint64_t head = store_head_seq(fx->b.store), depth;

	clue_published(fx);
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
	uint64_t head = clue_logged(fx), depth;

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
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test_setup_teardown(
		    test_a_new_clue_is_logged_and_accepted_with_its_seq_only_after_the_round_commits,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_clue_resent_by_its_sender_gets_its_original_seq_as_a_duplicate,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_message_id_already_used_by_another_unit_is_rejected_as_an_id_conflict,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_publish_before_hello_is_rejected_and_not_logged, fixture_setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_round_that_failed_answers_retry_and_logs_nothing, fixture_setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_an_ack_of_the_delivered_items_is_logged_and_empties_the_backlog,
		    fixture_setup, fixture_teardown),
	};
	enum { N = sizeof(refusals) / sizeof(refusals[0]) };
	struct CMUnitTest table[N];
	int failed;

	for (size_t i = 0; i < N; i++) {
		memset(&table[i], 0, sizeof(table[i]));
		table[i].name = refusals[i].name;
		table[i].test_func = test_refusal;
		table[i].setup_func = fixture_setup;
		table[i].teardown_func = fixture_teardown;
		table[i].initial_state = (void *)&refusals[i];
	}
	failed = cmocka_run_group_tests_name("pipeline", fixed, NULL, NULL);
	failed += _cmocka_run_group_tests("pipeline refusals", table, N, NULL, NULL);
	return failed;
}

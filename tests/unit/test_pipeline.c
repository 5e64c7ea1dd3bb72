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
static const struct refusal_case {
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
	const struct refusal_case *r = fx->row;
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

static void
test_a_clue_signed_again_with_a_new_time_is_still_a_duplicate(void **state)
{
	struct fixture *fx = *state;
	uint64_t head;

	publish(fx, CLUE, "health", "health", CLUE_ID, clock_now_ms() - 60000, 0);
	head = store_head_seq(fx->b.store);
	/* The agent's re-signing: same id and content, a fresh created_ms. */
	publish(fx, CLUE, "health", "health", CLUE_ID, clock_now_ms(), 0);
	assert_int_equal(fx->nreplies, 1);
	assert_int_equal(fx->reply[0].frame_case, CLUEBUS__FRAME__FRAME_ACCEPTED);
	assert_true(fx->reply[0].duplicate);
	assert_int_equal(fx->reply[0].seq, head);
	assert_int_equal(store_head_seq(fx->b.store), head);
}

static void
test_the_same_id_from_the_same_unit_for_another_message_is_an_id_conflict(void **state)
{
	struct fixture *fx = *state;
	uint64_t head = clue_logged(fx);
	Cluebus__LogEntry *e;
	char id[CB_MESSAGE_ID_HEX_SIZE];

	fx->b.count.accepted = 0;
	publish(fx, "examples/json/clue-school.json", "health", "health", CLUE_ID, 0, 0);
	assert_rejected_and_logged(fx, head, CLUEBUS__REJECT_CODE__REJECT_ID_CONFLICT);
	assert_int_equal(fixture_entry(fx, head + 1, &e, NULL), 0);
	/* Refused after its signature verified: the id is recorded as the signed one. */
	assert_int_equal(e->rejection->message_id.len, MESSAGE_ID_LEN);
	hex_encode(e->rejection->message_id.data, MESSAGE_ID_LEN, id);
	assert_string_equal(id, CLUE_ID);
	assert_int_equal(e->rejection->claimed_message_id.len, 0);
	assert_non_null(strstr(e->rejection->reason, "different message"));
	cluebus__log_entry__free_unpacked(e, NULL);
}

static void
test_a_forged_frame_records_the_id_it_claims_as_claimed_not_as_its_own(void **state)
{
	struct fixture *fx = *state;
	uint64_t head = clue_logged(fx);
	Cluebus__LogEntry *e;
	char id[CB_MESSAGE_ID_HEX_SIZE];

	/* psb forges a frame carrying health's accepted id. */
	fx->b.count.accepted = 0;
	publish(fx, "examples/json/clue-school.json", "psb", "psb", CLUE_ID, 0, 1);
	assert_rejected_and_logged(fx, head, CLUEBUS__REJECT_CODE__REJECT_BAD_SIGNATURE);
	assert_int_equal(fixture_entry(fx, head + 1, &e, NULL), 0);
	assert_int_equal(e->rejection->message_id.len, 0);
	assert_int_equal(e->rejection->claimed_message_id.len, MESSAGE_ID_LEN);
	hex_encode(e->rejection->claimed_message_id.data, MESSAGE_ID_LEN, id);
	assert_string_equal(id, CLUE_ID);
	assert_string_equal(e->rejection->peer_unit, "psb");
	cluebus__log_entry__free_unpacked(e, NULL);
}

/* `n` forged publishes from health in one round. */
static void
forge_many(struct fixture *fx, int n)
{
	struct fixture_frame fr;

	assert_int_equal(fixture_frame(fx, CLUE, "health", NULL, 0, 1, &fr), 0);
	for (int i = 0; i < n; i++)
		fixture_publish(fx, "health", &fr);
	fixture_frame_free(&fr);
	fixture_commit(fx);
}

static void
test_refusals_past_the_limit_are_answered_but_not_logged_then_summed_up(void **state)
{
	struct fixture *fx = *state;
	struct unitq *health = units_find(&fx->b, "health");
	uint64_t head = store_head_seq(fx->b.store), logged;
	Cluebus__LogEntry *e;

	forge_many(fx, 300);
	assert_int_equal(fx->nreplies, 300);		/* every one answered */
	assert_int_equal(fx->b.count.rejected, 300);
	logged = store_head_seq(fx->b.store) - head;
	/* The burst of 100, and what refilled (10 a second) while the test ran. */
	assert_true(logged >= 100 && logged < 120);
	assert_int_equal(fx->b.count.unlogged, 300 - logged);
	assert_int_equal(health->refusals.suppressed, 300 - logged);

	/* The flood stopped: one summary says how many were not logged. */
	pipeline_refusal_summaries(&fx->b, clock_mono_ms() + 1000);
	fixture_commit(fx);
	assert_int_equal(store_head_seq(fx->b.store), head + logged + 1);
	assert_int_equal(fixture_entry(fx, head + logged + 1, &e, NULL), 0);
	assert_int_equal(e->type, CLUEBUS__ENTRY_TYPE__ENTRY_REJECTION);
	assert_int_equal(e->rejection->code, CLUEBUS__REJECT_CODE__REJECT_RATE_LIMITED);
	assert_int_equal(e->rejection->unlogged_before, 300 - logged);
	assert_string_equal(e->rejection->peer_unit, "health");
	cluebus__log_entry__free_unpacked(e, NULL);
	assert_int_equal(health->refusals.suppressed, 0);
}

static void
test_a_unit_that_keeps_on_is_cut_off_and_its_frames_go_unanswered(void **state)
{
	struct fixture *fx = *state;
	uint64_t head = store_head_seq(fx->b.store);

	forge_many(fx, 1200);
	assert_int_equal(fx->b.count.cutoffs, 1);
	assert_true(fx->nreplies < 1200);
	assert_true(fx->b.count.dropped > 0);
	assert_true(store_head_seq(fx->b.store) - head < 120);
	/* Cut off now: its refusals go unanswered, and the frontend drops its frames unread
	 * until then. */
	assert_true(fx->b.cut_until_ms > clock_mono_ms());
	forge_many(fx, 5);
	assert_int_equal(fx->nreplies, 0);
	assert_true(units_find(&fx->b, "health")->refusals.cut_until_ms > clock_mono_ms());
	/* ...while other units are served. */
	publish(fx, "examples/json/clue-school.json", "education", "education", NULL, 0, 0);
	assert_int_equal(fx->nreplies, 1);
	assert_int_equal(fx->reply[0].frame_case, CLUEBUS__FRAME__FRAME_ACCEPTED);
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
		cmocka_unit_test_setup_teardown(
		    test_a_clue_signed_again_with_a_new_time_is_still_a_duplicate,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_the_same_id_from_the_same_unit_for_another_message_is_an_id_conflict,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_forged_frame_records_the_id_it_claims_as_claimed_not_as_its_own,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_refusals_past_the_limit_are_answered_but_not_logged_then_summed_up,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_unit_that_keeps_on_is_cut_off_and_its_frames_go_unanswered,
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

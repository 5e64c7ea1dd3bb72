/* tests/unit/test_handling.c — handling code H2 enforced on referral (broker/handling.c),
 * through the pipeline without sockets.
 *
 * health's H2 medical clue (tests/unit/data/h2-clue.json) is routed to psb, ato and
 * ato-210302. The office may refer it to psb (on its route) but not to civil-affairs:
 * NOT_PERMITTED naming referral.to_units[0]. Only health, the originator, may permit it
 * (psb's permission is FORBIDDEN_KIND); after health's logged permission for
 * civil-affairs, a referral that refers to the permission may name civil-affairs, and
 * still not education. The permission is in the log as a message of its own. A transfer
 * (feedback transferred_to) of an H2 clue's referral is held to the same rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker_fixture.h"

#define DATA		"tests/unit/data/"
#define CLUE_ID		"c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2"
#define PERMISSION_ID	"d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3"
#define REFERRAL_ID	"e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4"	/* h2-transfer-*.json */

static void
send_doc(struct fixture *fx, const char *doc, const char *sender, const char *idhex)
{
	assert_int_equal(fixture_send(fx, doc, sender, sender, idhex, 0, 0), 0);
	assert_int_equal(fx->nreplies, 1);
}

static void
assert_accepted(struct fixture *fx)
{
	if (fx->reply[0].frame_case != CLUEBUS__FRAME__FRAME_ACCEPTED)
		fail_msg("refused: %d %s: %s", fx->reply[0].code, fx->reply[0].field,
		    fx->reply[0].reason);
}

static void
assert_refused(struct fixture *fx, int code, const char *field)
{
	assert_int_equal(fx->reply[0].frame_case, CLUEBUS__FRAME__FRAME_REJECTED);
	assert_int_equal(fx->reply[0].code, code);
	assert_string_equal(fx->reply[0].field, field);
}

static void
test_an_h2_clue_is_referred_within_its_route_or_with_the_originators_permission(void **state)
{
	struct fixture *fx = *state;
	Cluebus__LogEntry *e = NULL;
	Cluebus__Message *m = NULL;
	uint64_t perm_seq;

	send_doc(fx, DATA "h2-clue.json", "health", CLUE_ID);
	assert_accepted(fx);
	send_doc(fx, DATA "h2-referral-on-route.json", "ato", NULL);
	assert_accepted(fx);
	send_doc(fx, DATA "h2-referral-outside.json", "ato", NULL);
	assert_refused(fx, CLUEBUS__REJECT_CODE__REJECT_NOT_PERMITTED, "referral.to_units[0]");
	assert_non_null(strstr(fx->reply[0].reason, "civil-affairs"));
	assert_non_null(strstr(fx->reply[0].reason, "health"));
	send_doc(fx, DATA "h2-permission.json", "psb", NULL);
	assert_refused(fx, CLUEBUS__REJECT_CODE__REJECT_FORBIDDEN_KIND, "refers_to");
	send_doc(fx, DATA "h2-permission.json", "health", PERMISSION_ID);
	assert_accepted(fx);
	perm_seq = fx->reply[0].seq;
	send_doc(fx, DATA "h2-referral-permitted.json", "ato", NULL);
	assert_accepted(fx);
	send_doc(fx, DATA "h2-referral-permitted-other.json", "ato", NULL);
	assert_refused(fx, CLUEBUS__REJECT_CODE__REJECT_NOT_PERMITTED, "referral.to_units[1]");
	assert_int_equal(fixture_entry(fx, perm_seq, &e, &m), 0);
	assert_int_equal(m->kind, CLUEBUS__KIND__KIND_PERMISSION);
	assert_string_equal(m->sender, "health");
	assert_string_equal(m->permission->units[0], "civil-affairs");
	protobuf_c_message_free_unpacked(&m->base, NULL);
	cluebus__log_entry__free_unpacked(e, NULL);
}

/* A unit the H2 clue was referred to may transfer it only within the clue's route (or to
 * units a permission names): psb's transfer to education is refused naming
 * feedback.transferred_to[0]; to ato-210302, on the route, it is accepted. */
static void
test_a_transfer_of_an_h2_clue_is_held_to_its_route(void **state)
{
	struct fixture *fx = *state;

	send_doc(fx, DATA "h2-clue.json", "health", CLUE_ID);
	assert_accepted(fx);
	send_doc(fx, DATA "h2-referral-on-route.json", "ato", REFERRAL_ID);
	assert_accepted(fx);
	send_doc(fx, DATA "h2-transfer-outside.json", "psb", NULL);
	assert_refused(fx, CLUEBUS__REJECT_CODE__REJECT_NOT_PERMITTED,
	    "feedback.transferred_to[0]");
	assert_non_null(strstr(fx->reply[0].reason, "education"));
	send_doc(fx, DATA "h2-transfer-on-route.json", "psb", NULL);
	assert_accepted(fx);
}

static void
test_a_permission_must_refer_to_a_logged_clue(void **state)
{
	struct fixture *fx = *state;

	send_doc(fx, DATA "h2-permission.json", "health", NULL);
	assert_refused(fx, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY, "refers_to");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_an_h2_clue_is_referred_within_its_route_or_with_the_originators_permission,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_a_transfer_of_an_h2_clue_is_held_to_its_route,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_a_permission_must_refer_to_a_logged_clue,
		    fixture_setup, fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

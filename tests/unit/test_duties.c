/* tests/unit/test_duties.c — report duties (broker/duties.c): follow-ups asked by a
 * referral, the calendar's half-year analyses and December self-evaluations, transfers with
 * their own action, and warning notices to a district; driven through the broker's pipeline
 * and duties_tick without sockets (broker_fixture.h), across broker restarts.
 *
 * The follow-up referral (tests/unit/data/duties-referral-follow-up.json, health to
 * civil-affairs and education) asks for a report every 30 days from 2025-01-01 until
 * 2025-03-02: two periods, both due in the past, so a tick escalates at once. The calendar
 * tests move the broker's clock (CLUEBUS_TEST_CLOCK_FILE, test builds only) to fixed dates
 * in 2030-2042, always forward: the clock never runs back within a process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker_fixture.h"
#include "casefile.h"
#include "duties.h"
#include "util.h"
#include "workflow.h"

#define FOLLOW_UP_REFERRAL	"tests/unit/data/duties-referral-follow-up.json"
#define FOLLOW_UP_ID		"9a8b7c6d5e4f40318d2e1f0a9b8c7d6e"
#define FOLLOW_UP_REPORT	"tests/unit/data/duties-follow-up-report.json"
#define REFERRAL		"tests/unit/data/workflow-referral.json"
#define REFERRAL_ID		"5b7d1e0c2a9f4c3e8d6b1a0f9e8d7c6b"
#define TRANSFER		"tests/unit/data/duties-transfer.json"
#define SELF_EVALUATION		"tests/unit/data/duties-self-evaluation.json"
#define WARNING_NOTICE		"tests/unit/data/duties-warning-notice.json"

static char	 clock_path[64];

static void
publish(struct fixture *fx, const char *doc, const char *sender, const char *idhex)
{
	assert_int_equal(fixture_send(fx, doc, sender, sender, idhex, 0, 0), 0);
}

static void
assert_accepted(struct fixture *fx)
{
	assert_int_equal(fx->nreplies, 1);
	if (fx->reply[0].frame_case != CLUEBUS__FRAME__FRAME_ACCEPTED)
		fail_msg("rejected: %s: %s", fx->reply[0].field, fx->reply[0].reason);
}

/* The recipients of log entry `seq` as "a,b,c,". */
static void
recipients_of(struct fixture *fx, uint64_t seq, char *out, size_t cap)
{
	Cluebus__LogEntry *e;

	out[0] = '\0';
	assert_int_equal(fixture_entry(fx, seq, &e, NULL), 0);
	for (size_t i = 0; i < e->n_recipients; i++)
		snprintf(out + strlen(out), cap - strlen(out), "%s,", e->recipients[i]);
	cluebus__log_entry__free_unpacked(e, NULL);
}

/* Runs duties_tick and commits; returns the escalations it logged, in log order, as
 * "unit/report/recipients;" (recipients "a+b+"), and checks each is broker-signed. */
static void
tick(struct fixture *fx, char *out, size_t cap)
{
	static const char *const names[] = { "", "situation_analysis", "self_evaluation", "",
	    "follow_up" };
	uint64_t head = store_head_seq(fx->b.store);

	out[0] = '\0';
	assert_int_equal(duties_tick(&fx->b), 0);
	fixture_commit(fx);
	assert_int_equal(fx->nreplies, 0);
	for (uint64_t seq = head + 1; seq <= store_head_seq(fx->b.store); seq++) {
		Cluebus__LogEntry *e;
		Cluebus__Message *m;

		assert_int_equal(fixture_entry(fx, seq, &e, &m), 0);
		assert_int_equal(e->type, CLUEBUS__ENTRY_TYPE__ENTRY_BROKER);
		assert_int_equal(m->kind, CLUEBUS__KIND__KIND_ESCALATION);
		assert_int_equal(m->escalation->missed, CLUEBUS__MISSED__MISSED_UNSPECIFIED);
		assert_true(m->escalation->duty > 0 && m->escalation->duty <= 4);
		assert_true(m->escalation->period_from_ms < m->escalation->period_to_ms);
		snprintf(out + strlen(out), cap - strlen(out), "%s/%s/", m->escalation->unit,
		    names[m->escalation->duty]);
		for (size_t i = 0; i < e->n_recipients; i++)
			snprintf(out + strlen(out), cap - strlen(out), "%s+", e->recipients[i]);
		snprintf(out + strlen(out), cap - strlen(out), ";");
		protobuf_c_message_free_unpacked(&m->base, NULL);
		cluebus__log_entry__free_unpacked(e, NULL);
	}
}

static void
restart(struct fixture *fx)
{
	fixture_down(fx);
	assert_int_equal(fixture_up(fx), 0);
}

/* ---- follow-ups (Art 26) ---- */

static void
test_a_follow_up_referral_escalates_each_missed_period_once_per_unit(void **state)
{
	struct fixture *fx = *state;
	json_t *overdue, *o;
	char esc[2048];
	size_t i;

	publish(fx, FOLLOW_UP_REFERRAL, "health", FOLLOW_UP_ID);
	assert_accepted(fx);
	tick(fx, esc, sizeof(esc));
	/* Two periods each for civil-affairs and education, in due order; to the referrer
	 * (owed), the office, and the unit itself (the reminder). */
	assert_string_equal(esc,
	    "civil-affairs/follow_up/health+ato+civil-affairs+;"
	    "education/follow_up/health+ato+education+;"
	    "civil-affairs/follow_up/health+ato+civil-affairs+;"
	    "education/follow_up/health+ato+education+;");
	tick(fx, esc, sizeof(esc));
	assert_string_equal(esc, "");
	/* cluebus-ctl overdue lists the four, owed to health. */
	overdue = status_query(&fx->b, "overdue");
	assert_int_equal(json_array_size(overdue), 4);
	json_array_foreach(overdue, i, o) {
		assert_string_equal(json_string_value(json_object_get(o, "duty")), "follow_up");
		assert_string_equal(json_string_value(json_object_get(o, "referrer")), "health");
		assert_string_equal(json_string_value(json_object_get(o, "referral_id")),
		    FOLLOW_UP_ID);
	}
	json_decref(overdue);
}

static void
test_a_follow_up_report_meets_the_earliest_period_and_reaches_the_referrer(void **state)
{
	struct fixture *fx = *state;
	char esc[2048], rcpt[256];

	publish(fx, FOLLOW_UP_REFERRAL, "health", FOLLOW_UP_ID);
	publish(fx, FOLLOW_UP_REPORT, "civil-affairs", NULL);
	assert_accepted(fx);
	recipients_of(fx, fx->reply[0].seq, rcpt, sizeof(rcpt));
	assert_string_equal(rcpt, "ato,health,");
	tick(fx, esc, sizeof(esc));
	assert_string_equal(esc,
	    "education/follow_up/health+ato+education+;"
	    "civil-affairs/follow_up/health+ato+civil-affairs+;"
	    "education/follow_up/health+ato+education+;");
	/* A late report meets the escalated second period: nothing more is escalated. */
	publish(fx, FOLLOW_UP_REPORT, "civil-affairs", NULL);
	assert_accepted(fx);
	tick(fx, esc, sizeof(esc));
	assert_string_equal(esc, "");
	/* With every period met, a further report still reaches the referrer: what a report
	 * adds never depends on whether a duty is open, which the sealing agent cannot know
	 * (docs/sealing.md §8). */
	publish(fx, FOLLOW_UP_REPORT, "civil-affairs", NULL);
	assert_accepted(fx);
	recipients_of(fx, fx->reply[0].seq, rcpt, sizeof(rcpt));
	assert_string_equal(rcpt, "ato,health,");
}

static void
test_a_follow_up_report_from_a_unit_that_owes_none_is_refused(void **state)
{
	struct fixture *fx = *state;

	publish(fx, FOLLOW_UP_REFERRAL, "health", FOLLOW_UP_ID);
	publish(fx, FOLLOW_UP_REPORT, "psb", NULL);
	assert_int_equal(fx->nreplies, 1);
	assert_int_equal(fx->reply[0].frame_case, CLUEBUS__FRAME__FRAME_REJECTED);
	assert_int_equal(fx->reply[0].code, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY);
	assert_string_equal(fx->reply[0].field, "refers_to");
	assert_string_equal(fx->reply[0].reason,
	    "no follow-up duty of this unit on that referral");
}

static void
test_follow_up_escalations_happen_once_across_broker_restarts(void **state)
{
	struct fixture *fx = *state;
	char esc[2048];

	publish(fx, FOLLOW_UP_REFERRAL, "health", FOLLOW_UP_ID);
	restart(fx);		/* down before the due times were looked at */
	tick(fx, esc, sizeof(esc));
	assert_int_equal(strlen(esc) > 0, 1);
	assert_string_equal(strstr(esc, "education/follow_up/health+ato+education+;"), esc +
	    strlen("civil-affairs/follow_up/health+ato+civil-affairs+;"));
	restart(fx);
	tick(fx, esc, sizeof(esc));
	assert_string_equal(esc, "");
}

static void
test_a_transfer_hands_the_senders_open_follow_ups_to_the_new_unit(void **state)
{
	struct fixture *fx = *state;
	char esc[2048], rcpt[256];
	json_t *overdue, *o;
	size_t i;

	publish(fx, FOLLOW_UP_REFERRAL, "health", FOLLOW_UP_ID);
	publish(fx, "tests/unit/data/duties-transfer-follow-up.json", "civil-affairs", NULL);
	assert_accepted(fx);
	tick(fx, esc, sizeof(esc));
	assert_string_equal(esc,
	    "education/follow_up/health+ato+education+;"
	    "psb/follow_up/health+ato+psb+;"
	    "education/follow_up/health+ato+education+;"
	    "psb/follow_up/health+ato+psb+;");
	/* psb's late report meets its first period, owed to health. */
	publish(fx, FOLLOW_UP_REPORT, "psb", NULL);
	assert_accepted(fx);
	recipients_of(fx, fx->reply[0].seq, rcpt, sizeof(rcpt));
	assert_string_equal(rcpt, "ato,health,");
	tick(fx, esc, sizeof(esc));
	assert_string_equal(esc, "");
	/* civil-affairs handed its periods on: ctl overdue lists education's and psb's two
	 * each, less psb's met one. */
	overdue = status_query(&fx->b, "overdue");
	assert_int_equal(json_array_size(overdue), 3);
	json_array_foreach(overdue, i, o)
		assert_string_not_equal(json_string_value(json_object_get(o, "unit")),
		    "civil-affairs");
	json_decref(overdue);
}

/* ---- a transfer's own action (Art 16, 26) ---- */

static void
test_a_transfer_gives_the_new_unit_its_own_action_and_reason(void **state)
{
	struct fixture *fx = *state;
	Cluebus__Obligation *o;
	char rcpt[256];

	publish(fx, REFERRAL, "health", REFERRAL_ID);
	publish(fx, TRANSFER, "psb", NULL);
	assert_accepted(fx);
	recipients_of(fx, fx->reply[0].seq, rcpt, sizeof(rcpt));
	assert_string_equal(rcpt, "ato,health,education,");
	assert_int_equal(fixture_obligation(fx, REFERRAL_ID, "education", &o), 0);
	assert_int_equal(o->action, CLUEBUS__ACTION__ACTION_SCHOOLING);
	assert_string_equal(o->transferred_from, "psb");
	assert_non_null(strstr(o->transfer_reason, "移交市教育局"));
	cluebus__obligation__free_unpacked(o, NULL);
	/* The units the referral named keep the referral's action. */
	assert_int_equal(fixture_obligation(fx, REFERRAL_ID, "civil-affairs", &o), 0);
	assert_int_equal(o->action, CLUEBUS__ACTION__ACTION_RESCUE);
	assert_string_equal(o->transfer_reason, "");
	cluebus__obligation__free_unpacked(o, NULL);
}

/* ---- warning notices (Art 39) ---- */

static void
test_a_warning_notice_to_a_district_reaches_its_district_office(void **state)
{
	struct fixture *fx = *state;
	char rcpt[256];

	publish(fx, WARNING_NOTICE, "ato", NULL);
	assert_accepted(fx);
	recipients_of(fx, fx->reply[0].seq, rcpt, sizeof(rcpt));
	assert_string_equal(rcpt, "ato-210302,");
}

/* ---- statistics by scope (Art 6, 7: a district office's own half-year analysis) ---- */

/* Stats of the fixture's log within `district` / `unit` (NULL: any) and [from, to) of the
 * incidents' times when `occurred` (RFC 3339; NULL: no bound). */
static casefile_stats_t *
scoped(struct fixture *fx, const char *district, const char *unit, const char *from,
    const char *to)
{
	casefile_scope_t sc = { .from_ms = INT64_MIN, .to_ms = INT64_MAX, .district = district,
	    .unit = unit, .by_occurred = from != NULL };
	casefile_stats_t *st;
	casefile_t *cf;

	if (from != NULL) {
		assert_int_equal(clock_parse_rfc3339(from, &sc.from_ms), 0);
		assert_int_equal(clock_parse_rfc3339(to, &sc.to_ms), 0);
	}
	assert_int_equal(casefile_build(fx->b.store, &cf, NULL), 0);
	assert_int_equal(casefile_stats_scoped(cf, &sc, &st), 0);
	casefile_free(cf);
	return st;
}

static void
test_stats_limited_to_a_district_unit_or_incident_time_match_a_hand_count(void **state)
{
	struct fixture *fx = *state;
	casefile_stats_t *st;

	/* 210302: the medical clue (occurred 03-01), the transport clue (03-12), the referral
	 * of the medical clue and psb's receipt of it, and the district office's own report;
	 * 210303: the school clue (03-09). */
	publish(fx, "examples/json/clue-medical.json", "health",
	    "3f2a9c1e7b4d4e0f8a6b2c5d1e9f0a7b");
	publish(fx, "examples/json/clue-school.json", "psb", NULL);
	publish(fx, "examples/json/clue-transport.json", "education", NULL);
	publish(fx, REFERRAL, "health", REFERRAL_ID);
	publish(fx, "tests/unit/data/workflow-receipt.json", "psb", NULL);
	publish(fx, SELF_EVALUATION, "ato-210302", NULL);
	assert_accepted(fx);

	st = scoped(fx, "210302", NULL, NULL, NULL);
	assert_int_equal(st->messages, 5);
	assert_int_equal(st->clues, 2);
	assert_int_equal(st->n_districts, 1);
	assert_string_equal(st->districts[0].key, "210302");
	assert_int_equal(st->districts[0].n, 2);
	assert_string_equal(st->districts[0].name, "单位");	/* its office's registered name */
	assert_int_equal(st->n_units, 2);	/* the referral's duties */
	assert_string_equal(st->units[0].unit, "civil-affairs");
	assert_int_equal(st->units[0].open_receipt, 1);
	assert_string_equal(st->units[1].unit, "psb");
	assert_int_equal(st->units[1].receipt.n, 1);
	assert_string_equal(st->units[1].name, "单位");
	casefile_stats_free(st);

	st = scoped(fx, "210303", NULL, NULL, NULL);
	assert_int_equal(st->messages, 1);
	assert_int_equal(st->clues, 1);
	assert_int_equal(st->n_units, 0);
	casefile_stats_free(st);

	st = scoped(fx, NULL, "civil-affairs", NULL, NULL);	/* the referral to it only */
	assert_int_equal(st->messages, 1);
	assert_int_equal(st->n_units, 1);
	assert_string_equal(st->units[0].unit, "civil-affairs");
	casefile_stats_free(st);

	/* By the incidents' times: 03-05 to 03-31 holds the school and transport clues; the
	 * referral and its duties lead to the medical clue of 03-01. */
	st = scoped(fx, NULL, NULL, "2026-03-05T00:00:00+08:00", "2026-04-01T00:00:00+08:00");
	assert_int_equal(st->clues, 2);
	assert_int_equal(st->messages, 2);
	assert_int_equal(st->n_units, 0);
	casefile_stats_free(st);
	st = scoped(fx, "210302", NULL, "2026-03-05T00:00:00+08:00", "2026-04-01T00:00:00+08:00");
	assert_int_equal(st->clues, 1);
	casefile_stats_free(st);
}

/* ---- the calendar (Art 7, 38): needs the test clock ---- */

#ifdef CLUEBUS_TEST_HOOKS
/* Moves the broker's clock to `rfc3339` (only ever forward). */
static void
clock_set(const char *rfc3339)
{
	int64_t at;
	FILE *f;

	assert_int_equal(clock_parse_rfc3339(rfc3339, &at), 0);
	assert_non_null(f = fopen(clock_path, "w"));
	fprintf(f, "%lld\n", (long long)(at - clock_now_ms()));
	assert_int_equal(fclose(f), 0);
	broker_clock_reload();
	assert_true(broker_clock_ms() >= at);
}
#endif

static void
test_calendar_duties_are_opened_met_missed_and_escalated_once_across_restarts(
    void **state)
{
#ifdef CLUEBUS_TEST_HOOKS
	struct fixture *fx = *state;
	char esc[4096], rcpt[256];

	clock_set("2030-12-01T00:00:00+08:00");
	tick(fx, esc, sizeof(esc));	/* opens 2030 (self-evaluation) and 2030 H2 */
	assert_string_equal(esc, "");
	/* A report stating another year's period meets nothing of 2030: psb stays owing. */
	publish(fx, "tests/unit/data/duties-self-evaluation-2029.json", "psb", NULL);
	assert_accepted(fx);
	recipients_of(fx, fx->reply[0].seq, rcpt, sizeof(rcpt));
	assert_string_equal(rcpt, "ato,");
	publish(fx, SELF_EVALUATION, "health", NULL);
	assert_accepted(fx);
	recipients_of(fx, fx->reply[0].seq, rcpt, sizeof(rcpt));
	assert_string_equal(rcpt, "ato,");
	restart(fx);
	clock_set("2030-12-16T00:00:01+08:00");	/* the 15th has passed */
	tick(fx, esc, sizeof(esc));
	/* Same due time: in the order of the units' ids. */
	assert_string_equal(esc,
	    "civil-affairs/self_evaluation/ato+civil-affairs+;"
	    "education/self_evaluation/ato+education+;"
	    "psb/self_evaluation/ato+psb+;");
	tick(fx, esc, sizeof(esc));
	assert_string_equal(esc, "");
	restart(fx);
	tick(fx, esc, sizeof(esc));
	assert_string_equal(esc, "");
	/* 2030 H2's situation analysis is due 15 days after the half-year: the city office
	 * owes it to itself, the district office to the city office. */
	clock_set("2031-01-16T00:00:01+08:00");
	tick(fx, esc, sizeof(esc));
	assert_string_equal(esc,
	    "ato/situation_analysis/ato+;"
	    "ato-210302/situation_analysis/ato+ato-210302+;");
	tick(fx, esc, sizeof(esc));
	assert_string_equal(esc, "");
#else
	(void)state;
	skip();
#endif
}

static void
test_calendar_periods_that_began_while_the_broker_was_down_are_opened_at_restart(
    void **state)
{
#ifdef CLUEBUS_TEST_HOOKS
	struct fixture *fx = *state;
	char esc[8192];
	size_t n = 0;

	clock_set("2040-12-01T00:00:00+08:00");
	tick(fx, esc, sizeof(esc));
	fixture_down(fx);
	clock_set("2042-02-01T00:00:00+08:00");	/* down for 14 months */
	assert_int_equal(fixture_up(fx), 0);
	tick(fx, esc, sizeof(esc));	/* opens 2041 H1, H2, 2042 H1; 2041, 2042; escalates
					 * what was committed before: 2040's and 2040 H2 */
	for (const char *p = esc; (p = strchr(p, ';')) != NULL; p++)
		n++;
	assert_int_equal(n, 4 + 2);
	tick(fx, esc, sizeof(esc));	/* 2041 H1, 2041 H2 (x2 offices), 2041 (x4 members) */
	n = 0;
	for (const char *p = esc; (p = strchr(p, ';')) != NULL; p++)
		n++;
	assert_int_equal(n, 2 + 2 + 4);
	tick(fx, esc, sizeof(esc));
	assert_string_equal(esc, "");
#else
	(void)state;
	skip();
#endif
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_a_follow_up_referral_escalates_each_missed_period_once_per_unit,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_follow_up_report_meets_the_earliest_period_and_reaches_the_referrer,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_follow_up_report_from_a_unit_that_owes_none_is_refused,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_follow_up_escalations_happen_once_across_broker_restarts,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_transfer_hands_the_senders_open_follow_ups_to_the_new_unit,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_transfer_gives_the_new_unit_its_own_action_and_reason,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_warning_notice_to_a_district_reaches_its_district_office,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_stats_limited_to_a_district_unit_or_incident_time_match_a_hand_count,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_calendar_duties_are_opened_met_missed_and_escalated_once_across_restarts,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_calendar_periods_that_began_while_the_broker_was_down_are_opened_at_restart,
		    fixture_setup, fixture_teardown),
	};
	int fd, rc;

	snprintf(clock_path, sizeof(clock_path), "/tmp/cluebus-duties-clock.XXXXXX");
	if ((fd = mkstemp(clock_path)) < 0 || write(fd, "0\n", 2) != 2)
		return 1;
	close(fd);
	setenv("CLUEBUS_TEST_CLOCK_FILE", clock_path, 1);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(clock_path);
	return rc;
}

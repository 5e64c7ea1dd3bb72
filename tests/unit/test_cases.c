/* tests/unit/test_cases.c — cases and task forces, two-level supervision, listed supervision
 * of a case with its escalations, corrections and withdrawals, driven through the broker's
 * pipeline and workflow_tick without sockets (broker_fixture.h).
 *
 * The fixture's units: ato (the city office), ato-210302 (铁东区's district office), psb (a
 * case opener by the example config's routing.case_openers), health, civil-affairs and
 * education (members). Due times in the data files are already past (the broker takes them;
 * an agent's intake would refuse them), so a tick escalates at once; the test build's
 * injectable clock (CLUEBUS_TEST_HOOKS) moves time past due times that are not. */
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
#include "cases.h"
#include "casestate.h"
#include "directory.h"
#include "util.h"
#include "workflow.h"

#define D		"tests/unit/data/"
#define CASE_ID		"c0c0c0c0c0c0c0c0c0c0c0c0c0c0c031"	/* case-feedback.json refers
								 * to it */
#define CLUE_ID		"c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1"	/* correction-clue.json */
#define REFERRAL_ID	"5b7d1e0c2a9f4c3e8d6b1a0f9e8d7c6b"	/* withdraw-referral.json */
#define REFERRAL2_ID	"d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0"	/* district-supervision-case-
								 * referral.json */
#define SUPERVISION_ID	"5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e"

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
	assert_false(fx->reply[0].duplicate);
}

static void
assert_rejected(struct fixture *fx, int code, const char *field)
{
	assert_int_equal(fx->nreplies, 1);
	assert_int_equal(fx->reply[0].frame_case, CLUEBUS__FRAME__FRAME_REJECTED);
	assert_int_equal(fx->reply[0].code, code);
	assert_string_equal(fx->reply[0].field, field);
}

/* The recipients of the last accepted message, as "a,b,c," in the logged order. */
static void
recipients(struct fixture *fx, char *out, size_t cap)
{
	Cluebus__LogEntry *e;

	out[0] = '\0';
	assert_int_equal(fixture_entry(fx, fx->reply[0].seq, &e, NULL), 0);
	for (size_t i = 0; i < e->n_recipients; i++)
		snprintf(out + strlen(out), cap - strlen(out), "%s,", e->recipients[i]);
	cluebus__log_entry__free_unpacked(e, NULL);
}

static int
has_unit(const char *list, const char *unit)
{
	char want[64];

	snprintf(want, sizeof(want), ",%s,", unit);
	for (const char *p = list; *p != '\0'; p++)
		if ((p == list && strncmp(p, want + 1, strlen(want + 1)) == 0) ||
		    strncmp(p, want, strlen(want)) == 0)
			return 1;
	return 0;
}

static void
members_are(struct fixture *fx, const char *case_ref, const char *want)
{
	char got[256] = "", **members;
	size_t n;

	assert_int_equal(cases_members(fx->b.store, case_ref, &members, &n), 0);
	for (size_t i = 0; i < n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s,", members[i]);
	cases_members_free(members, n);
	assert_string_equal(got, want);
}

/* Runs a timer tick, commits it, and lists the escalations it logged as
 * "unit/missed:recipient+recipient+...;" in log order. */
static void
tick(struct fixture *fx, char *out, size_t cap)
{
	uint64_t head = store_head_seq(fx->b.store);

	out[0] = '\0';
	assert_int_equal(workflow_tick(&fx->b), 0);
	fixture_commit(fx);
	for (uint64_t seq = head + 1; seq <= store_head_seq(fx->b.store); seq++) {
		Cluebus__LogEntry *e;
		Cluebus__Message *m;

		assert_int_equal(fixture_entry(fx, seq, &e, &m), 0);
		assert_int_equal(m->kind, CLUEBUS__KIND__KIND_ESCALATION);
		snprintf(out + strlen(out), cap - strlen(out), "%s/%s:", m->escalation->unit,
		    m->escalation->missed == CLUEBUS__MISSED__MISSED_RECEIPT ? "receipt" :
		    "feedback");
		for (size_t i = 0; i < e->n_recipients; i++)
			snprintf(out + strlen(out), cap - strlen(out), "%s%s", i > 0 ? "+" : "",
			    e->recipients[i]);
		snprintf(out + strlen(out), cap - strlen(out), ";");
		if (m->escalation->reminder)
			assert_string_equal(e->recipients[e->n_recipients - 1],
			    m->escalation->unit);
		protobuf_c_message_free_unpacked(&m->base, NULL);
		cluebus__log_entry__free_unpacked(e, NULL);
	}
}

static const char *
step_state(int64_t done_ms, int64_t escalated_ms)
{
	if (done_ms != CASEFILE_NONE)
		return "done";
	return escalated_ms != CASEFILE_NONE ? "escalated" : "open";
}

/* The audit's (lib/casefile) per-unit figures over the whole log, as
 * "unit:receipt-STATE,feedback-STATE;" for units with one duty each. */
static void
audit_units_are(struct fixture *fx, const char *want)
{
	casefile_stats_t *st;
	casefile_t *cf;
	char got[512] = "";

	assert_int_equal(casefile_build(fx->b.store, &cf, NULL), 0);
	assert_int_equal(casefile_stats(cf, INT64_MIN, INT64_MAX, &st), 0);
	for (size_t i = 0; i < st->n_units; i++) {
		const casefile_unit_stats_t *u = &st->units[i];

		assert_int_equal(u->referrals, 1);
		snprintf(got + strlen(got), sizeof(got) - strlen(got),
		    "%s:receipt-%s,feedback-%s;", u->unit,
		    u->receipt.n == 1 ? "done" : u->overdue_receipt == 1 ? "escalated" : "open",
		    u->feedback.n == 1 ? "done" : u->overdue_feedback == 1 ? "escalated" : "open");
	}
	casefile_stats_free(st);
	casefile_free(cf);
	assert_string_equal(got, want);
}

/* The duties the audit (lib/casefile) derives on message `idhex` of case `case_ref`'s
 * timeline, as "unit:receipt-STATE,feedback-STATE;". */
static void
audit_duties_are(struct fixture *fx, const char *case_ref, const char *idhex,
    const char *want)
{
	casefile_timeline_t *tl;
	casefile_t *cf;
	char got[512] = "";
	int found = 0;

	assert_int_equal(casefile_build(fx->b.store, &cf, NULL), 0);
	assert_int_equal(casefile_case(cf, case_ref, &tl), 0);
	for (size_t i = 0; i < tl->n_events; i++) {
		const casefile_event_t *ev = &tl->events[i];

		if (strcmp(ev->message_id, idhex) != 0)
			continue;
		found = 1;
		for (size_t j = 0; j < ev->n_duties; j++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got),
			    "%s:receipt-%s,feedback-%s;", ev->duties[j].unit,
			    step_state(ev->duties[j].receipt_ms, ev->duties[j].receipt_escalated_ms),
			    step_state(ev->duties[j].feedback_ms,
			    ev->duties[j].feedback_escalated_ms));
	}
	casefile_timeline_free(tl);
	casefile_free(cf);
	assert_true(found);
	assert_string_equal(got, want);
}

static void
test_a_case_opened_by_the_police_reaches_its_task_force_and_so_do_messages_with_its_ref(
    void **state)
{
	struct fixture *fx = *state;
	char to[256];

	publish(fx, D "case-open.json", "psb", CASE_ID);
	assert_accepted(fx);
	recipients(fx, to, sizeof(to));
	assert_string_equal(to, "ato,civil-affairs,education,");
	members_are(fx, "AS-2026-031", "civil-affairs,education,");

	/* A medical clue routes to psb (and health, its sender), the office and the district
	 * office; the case adds its task force. */
	publish(fx, D "case-clue.json", "health", NULL);
	assert_accepted(fx);
	recipients(fx, to, sizeof(to));
	assert_string_equal(to, "ato,psb,ato-210302,civil-affairs,education,");
}

/* The broker's served directory (b->directory) lists `case_ref`'s task force as `want`
 * ("a,b," or "" for no open case), at version `version`. (The fixture's routing table names
 * units it does not register, so the Directory is read as protobuf, not directory_parse.) */
static void
directory_lists(struct fixture *fx, const char *case_ref, const char *want, uint64_t version)
{
	Cluebus__Directory *d;
	char got[256] = "";

	assert_non_null(fx->b.directory);
	assert_int_equal(fx->b.directory_version, version);
	assert_non_null(d = cluebus__directory__unpack(NULL, fx->b.directory->directory.len,
	    fx->b.directory->directory.data));
	assert_int_equal(d->version, version);
	assert_int_equal(d->n_task_forces, want[0] != '\0');
	for (size_t i = 0; i < d->n_task_forces; i++) {
		assert_string_equal(d->task_forces[i]->case_ref, case_ref);
		for (size_t j = 0; j < d->task_forces[i]->n_units; j++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s,",
			    d->task_forces[i]->units[j]);
	}
	cluebus__directory__free_unpacked(d, NULL);
	assert_string_equal(got, want);
}

static void
test_the_directory_lists_an_open_cases_task_force_at_each_change(void **state)
{
	struct fixture *fx = *state;
	uint64_t closed;

	assert_int_equal(dirserve_update(&fx->b, 0), 0);
	assert_false(fx->b.directory_dirty);
	directory_lists(fx, "AS-2026-031", "", fx->b.directory_version);
	publish(fx, D "case-open.json", "psb", CASE_ID);
	assert_accepted(fx);
	directory_lists(fx, "AS-2026-031", "civil-affairs,education,", fx->reply[0].seq);
	publish(fx, D "case-add-members.json", "psb", NULL);
	assert_accepted(fx);
	directory_lists(fx, "AS-2026-031", "civil-affairs,education,health,", fx->reply[0].seq);
	publish(fx, D "case-remove-members.json", "ato", NULL);
	assert_accepted(fx);
	directory_lists(fx, "AS-2026-031", "civil-affairs,health,", fx->reply[0].seq);
	/* A refused case action changes nothing. */
	publish(fx, D "case-close.json", "civil-affairs", NULL);
	assert_rejected(fx, CLUEBUS__REJECT_CODE__REJECT_NOT_OWNER, "");
	publish(fx, D "case-close.json", "psb", NULL);
	assert_accepted(fx);
	closed = fx->reply[0].seq;
	directory_lists(fx, "AS-2026-031", "", closed);
	/* The version survives a restart: it is in the store. */
	fixture_down(fx);
	assert_int_equal(fixture_up(fx), 0);
	assert_int_equal(dirserve_update(&fx->b, 0), 0);
	directory_lists(fx, "AS-2026-031", "", closed);
}

static void
test_a_task_force_over_the_directorys_bound_is_refused(void **state)
{
	struct fixture *fx = *state;
	char doc[4096] = "{\"kind\":\"case\",\"case_ref\":\"AS-2026-031\",\"case\":{"
	    "\"op\":\"open\",\"jurisdiction\":\"210302\",\"members\":[";
	char path[PATH_MAX + 32];
	FILE *f;

	for (int i = 0; i <= DIRECTORY_MAX_CASE_MEMBERS; i++)
		snprintf(doc + strlen(doc), sizeof(doc) - strlen(doc), "%s\"u%d\"",
		    i > 0 ? "," : "", i);
	strcat(doc, "]}}");
	snprintf(path, sizeof(path), "%s/big-case.json", fx->dir);
	assert_non_null(f = fopen(path, "w"));
	fputs(doc, f);
	fclose(f);
	publish(fx, path, "psb", NULL);
	assert_rejected(fx, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY, "case.members");
	assert_non_null(strstr(fx->reply[0].reason, "at most 32 units"));
}

static void
test_a_unit_that_is_neither_police_nor_an_office_cannot_open_a_case(void **state)
{
	struct fixture *fx = *state;
	char **members;
	size_t n;

	publish(fx, D "case-open.json", "health", NULL);
	assert_rejected(fx, CLUEBUS__REJECT_CODE__REJECT_FORBIDDEN_KIND, "");
	assert_int_equal(cases_members(fx->b.store, "AS-2026-031", &members, &n),
	    CB_ENOTFOUND);
}

static void
test_a_case_ref_opened_twice_is_refused(void **state)
{
	struct fixture *fx = *state;

	publish(fx, D "case-open.json", "psb", CASE_ID);
	publish(fx, D "case-open.json", "ato", NULL);
	assert_rejected(fx, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY, "case_ref");
	assert_non_null(strstr(fx->reply[0].reason, "opened already (by psb)"));
}

static void
test_members_added_and_removed_change_who_hears_and_only_opener_or_office_closes(
    void **state)
{
	struct fixture *fx = *state;
	char to[256], **members;
	size_t n;

	publish(fx, D "case-open.json", "psb", CASE_ID);
	publish(fx, D "case-add-members.json", "psb", NULL);
	assert_accepted(fx);
	members_are(fx, "AS-2026-031", "civil-affairs,education,health,");
	publish(fx, D "case-remove-members.json", "ato", NULL);	/* an office may */
	assert_accepted(fx);
	recipients(fx, to, sizeof(to));
	assert_true(has_unit(to, "education"));	/* the leaving member hears of it */
	members_are(fx, "AS-2026-031", "civil-affairs,health,");

	/* 案件不破、专班不撤: a member cannot dissolve the task force. */
	publish(fx, D "case-close.json", "civil-affairs", NULL);
	assert_rejected(fx, CLUEBUS__REJECT_CODE__REJECT_NOT_OWNER, "");
	members_are(fx, "AS-2026-031", "civil-affairs,health,");
	publish(fx, D "case-close.json", "psb", NULL);
	assert_accepted(fx);
	assert_int_equal(cases_members(fx->b.store, "AS-2026-031", &members, &n),
	    CB_ENOTFOUND);

	/* A closed case adds nobody, and takes no more changes. */
	publish(fx, D "case-clue.json", "education", NULL);
	assert_accepted(fx);
	recipients(fx, to, sizeof(to));
	assert_string_equal(to, "ato,psb,health,ato-210302,");	/* medical's route only */
	publish(fx, D "case-add-members.json", "psb", NULL);
	assert_rejected(fx, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY, "case_ref");
}

static void
test_a_district_office_opens_cases_in_its_own_district_only(void **state)
{
	struct fixture *fx = *state;

	publish(fx, D "case-open-outside.json", "ato-210302", NULL);
	assert_rejected(fx, CLUEBUS__REJECT_CODE__REJECT_OUT_OF_JURISDICTION,
	    "case.jurisdiction");
	publish(fx, D "case-open.json", "ato-210302", NULL);
	assert_accepted(fx);
}

static void
test_a_district_office_supervises_inside_its_district_and_is_refused_outside(void **state)
{
	struct fixture *fx = *state;
	Cluebus__Obligation *o;

	/* Inside: a case of 210302, and a referral under it. */
	publish(fx, D "case-open.json", "psb", CASE_ID);
	publish(fx, D "case-supervision-later.json", "ato-210302", NULL);
	assert_accepted(fx);
	publish(fx, D "case-referral.json", "psb", REFERRAL2_ID);
	assert_accepted(fx);
	publish(fx, D "district-supervision-case-referral.json", "ato-210302", NULL);
	assert_accepted(fx);
	assert_int_equal(fixture_obligation(fx, REFERRAL2_ID, "civil-affairs", &o), 0);
	assert_string_equal(o->supervisor, "ato-210302");
	cluebus__obligation__free_unpacked(o, NULL);

	/* Outside: a case of 210303 (opened by the city office, which may supervise it). */
	publish(fx, D "case-open-outside.json", "ato", NULL);
	assert_accepted(fx);
	publish(fx, D "case-supervision-outside.json", "ato-210302", NULL);
	assert_rejected(fx, CLUEBUS__REJECT_CODE__REJECT_OUT_OF_JURISDICTION, "case_ref");
	publish(fx, D "case-supervision-outside.json", "ato", NULL);
	assert_accepted(fx);
	/* A city-level unit is not in the district. */
	publish(fx, D "units-supervision-member.json", "ato-210302", NULL);
	assert_rejected(fx, CLUEBUS__REJECT_CODE__REJECT_OUT_OF_JURISDICTION,
	    "supervision.units[0]");
	/* A referral whose clue the log does not hold is in no district it can tell. */
	publish(fx, D "workflow-referral.json", "health", REFERRAL_ID);
	publish(fx, D "district-supervision-referral.json", "ato-210302", NULL);
	assert_rejected(fx, CLUEBUS__REJECT_CODE__REJECT_OUT_OF_JURISDICTION, "refers_to");
	/* The city office may; a member may not. */
	publish(fx, D "district-supervision-referral.json", "ato", NULL);
	assert_accepted(fx);
	publish(fx, D "district-supervision-referral.json", "psb", NULL);
	assert_rejected(fx, CLUEBUS__REJECT_CODE__REJECT_FORBIDDEN_KIND, "");
}

static void
test_a_supervision_of_a_closed_or_unknown_case_is_refused(void **state)
{
	struct fixture *fx = *state;

	publish(fx, D "case-supervision-later.json", "ato", NULL);
	assert_rejected(fx, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY, "case_ref");
	assert_string_equal(fx->reply[0].reason, "no case with this reference");
	publish(fx, D "case-open.json", "psb", CASE_ID);
	publish(fx, D "case-close.json", "ato-210302", NULL);	/* its district's office */
	assert_accepted(fx);
	publish(fx, D "case-supervision-later.json", "ato", NULL);
	assert_rejected(fx, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY, "case_ref");
	assert_string_equal(fx->reply[0].reason, "the case is closed");
}

static void
test_the_city_office_supervises_a_district_office_which_then_owes_feedback(void **state)
{
	struct fixture *fx = *state;
	Cluebus__Obligation *o;

	publish(fx, D "units-supervision.json", "ato", SUPERVISION_ID);
	assert_accepted(fx);
	assert_int_equal(fixture_obligation(fx, SUPERVISION_ID, "ato-210302", &o), 0);
	assert_string_equal(o->referrer, "ato");
	assert_true(o->feedback_due_ms > broker_clock_ms());
	cluebus__obligation__free_unpacked(o, NULL);
	/* Nobody supervises itself. */
	publish(fx, D "units-supervision.json", "ato-210302", NULL);
	assert_rejected(fx, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY, "supervision.units[0]");
}

static void
test_a_supervision_of_units_is_met_by_feedback_or_escalated_once_across_a_restart(
    void **state)
{
	struct fixture *fx = *state;
	Cluebus__Obligation *o;
	char esc[1024];

	publish(fx, D "units-supervision-past.json", "ato", SUPERVISION_ID);
	assert_accepted(fx);
	publish(fx, D "units-supervision-feedback.json", "psb", NULL);
	assert_accepted(fx);
	assert_int_equal(fixture_obligation(fx, SUPERVISION_ID, "psb", &o), 0);
	assert_int_equal(o->state, CLUEBUS__OBLIGATION_STATE__OBLIGATION_CLOSED);
	cluebus__obligation__free_unpacked(o, NULL);
	tick(fx, esc, sizeof(esc));
	assert_string_equal(esc, "ato-210302/receipt:ato+ato-210302;"
	    "ato-210302/feedback:ato+ato-210302;");
	fixture_down(fx);
	assert_int_equal(fixture_up(fx), 0);
	tick(fx, esc, sizeof(esc));
	assert_string_equal(esc, "");
	/* The auditor derives the same duties from the log alone. */
	audit_units_are(fx,
	    "ato-210302:receipt-escalated,feedback-escalated;psb:receipt-done,feedback-done;");
}

/* The obligations the delivery of log entry `seq` carries in its context, as
 * "REFERRAL-ID-HEX unit<referrer,...", or "" without a context. */
static void
context_of(struct fixture *fx, uint64_t seq, char *out, size_t cap)
{
	Cluebus__Context *ctx = NULL;
	Cluebus__LogEntry *e;
	Cluebus__Message *m;

	out[0] = '\0';
	assert_int_equal(fixture_entry(fx, seq, &e, &m), 0);
	assert_int_equal(workflow_context(&fx->b, m, &ctx), 0);
	if (ctx != NULL) {
		hex_encode(ctx->referral_id.data, ctx->referral_id.len, out);
		for (size_t i = 0; i < ctx->n_obligations; i++)
			snprintf(out + strlen(out), cap - strlen(out), " %s<%s",
			    ctx->obligations[i]->unit, ctx->obligations[i]->referrer);
		cluebus__context__free_unpacked(ctx, NULL);
	}
	protobuf_c_message_free_unpacked(&m->base, NULL);
	cluebus__log_entry__free_unpacked(e, NULL);
}

static void
test_a_supervisions_delivery_tells_the_obliged_units_whom_they_answer(void **state)
{
	struct fixture *fx = *state;
	char got[512];

	publish(fx, D "case-open.json", "psb", CASE_ID);
	assert_accepted(fx);
	publish(fx, D "case-supervision-listed.json", "ato", NULL);
	assert_accepted(fx);
	/* Keyed by the case's open id, as the members' answers refer to it. */
	context_of(fx, fx->reply[0].seq, got, sizeof(got));
	assert_string_equal(got, CASE_ID " civil-affairs<ato education<ato");
	publish(fx, D "units-supervision-past.json", "ato", SUPERVISION_ID);
	assert_accepted(fx);
	context_of(fx, fx->reply[0].seq, got, sizeof(got));
	assert_non_null(strstr(got, SUPERVISION_ID " "));
	assert_non_null(strstr(got, " psb<ato"));
}

static void
test_listed_supervision_of_a_case_escalates_once_to_both_offices_with_a_reminder(
    void **state)
{
	struct fixture *fx = *state;
	char esc[1024];
	Cluebus__Obligation *o;

	publish(fx, D "case-open.json", "psb", CASE_ID);
	publish(fx, D "case-supervision-listed.json", "ato-210302", NULL);
	assert_accepted(fx);
	assert_int_equal(fixture_obligation(fx, CASE_ID, "education", &o), 0);
	assert_string_equal(o->referrer, "ato-210302");
	assert_string_equal(o->supervisor, "ato-210302");
	assert_true(o->feedback_due_ms < broker_clock_ms());
	cluebus__obligation__free_unpacked(o, NULL);

	tick(fx, esc, sizeof(esc));
	assert_string_equal(esc,
	    "civil-affairs/receipt:ato+ato-210302+civil-affairs;"
	    "education/receipt:ato+ato-210302+education;"
	    "civil-affairs/feedback:ato+ato-210302+civil-affairs;"
	    "education/feedback:ato+ato-210302+education;");
	fixture_down(fx);
	assert_int_equal(fixture_up(fx), 0);
	tick(fx, esc, sizeof(esc));
	assert_string_equal(esc, "");
	/* The auditor derives the same duties on the case from the log alone. */
	audit_duties_are(fx, "AS-2026-031", CASE_ID,
	    "civil-affairs:receipt-escalated,feedback-escalated;"
	    "education:receipt-escalated,feedback-escalated;");
}

static void
test_a_members_feedback_on_the_case_meets_its_listed_duty(void **state)
{
	struct fixture *fx = *state;
	char esc[1024];
	Cluebus__Obligation *o;

	publish(fx, D "case-open.json", "psb", CASE_ID);
	publish(fx, D "case-supervision-listed.json", "ato", NULL);
	publish(fx, D "case-feedback.json", "civil-affairs", NULL);
	assert_accepted(fx);
	assert_int_equal(fixture_obligation(fx, CASE_ID, "civil-affairs", &o), 0);
	assert_true(o->feedback_ms > 0);
	assert_string_equal(o->supervisor, "");
	cluebus__obligation__free_unpacked(o, NULL);
	tick(fx, esc, sizeof(esc));
	/* The city office supervised: no district office; the referrer is the office. */
	assert_string_equal(esc, "education/receipt:ato+education;"
	    "education/feedback:ato+education;");
}

static void
test_a_listed_supervision_of_a_case_tightens_the_due_times_of_its_referrals(void **state)
{
	struct fixture *fx = *state;
	Cluebus__Obligation *o;

	publish(fx, D "case-open.json", "psb", CASE_ID);
	publish(fx, D "case-referral.json", "psb", REFERRAL_ID);
	assert_accepted(fx);
	publish(fx, D "case-supervision-listed.json", "ato", NULL);
	assert_accepted(fx);
	assert_int_equal(fixture_obligation(fx, REFERRAL_ID, "civil-affairs", &o), 0);
	assert_true(o->receipt_due_ms < broker_clock_ms());
	cluebus__obligation__free_unpacked(o, NULL);
}

#ifdef CLUEBUS_TEST_HOOKS
/* The injectable clock: nothing is escalated before the due time; after it, once, also
 * across a restart. */
static void
test_listed_supervision_due_later_escalates_only_after_the_clock_passes_it(void **state)
{
	struct fixture *fx = *state;
	char clock_file[PATH_MAX + 16], esc[1024], offset[32];
	int64_t before;

	snprintf(clock_file, sizeof(clock_file), "%s/clock", fx->dir);
	assert_int_equal(file_write_atomic(clock_file, "0", 1, 0600), 0);
	assert_int_equal(setenv("CLUEBUS_TEST_CLOCK_FILE", clock_file, 1), 0);
	publish(fx, D "case-open.json", "psb", CASE_ID);
	publish(fx, D "case-supervision-later.json", "ato-210302", NULL);
	assert_accepted(fx);
	tick(fx, esc, sizeof(esc));
	assert_string_equal(esc, "");

	/* Three days on; the clock re-reads its file every 100 ms. */
	snprintf(offset, sizeof(offset), "%lld", 3LL * 86400000);
	assert_int_equal(file_write_atomic(clock_file, offset, strlen(offset), 0600), 0);
	before = clock_now_ms();
	while (broker_clock_ms() < before + 86400000)
		usleep(20000);
	tick(fx, esc, sizeof(esc));
	assert_string_equal(esc,
	    "civil-affairs/receipt:ato+ato-210302+civil-affairs;"
	    "education/receipt:ato+ato-210302+education;"
	    "civil-affairs/feedback:ato+ato-210302+civil-affairs;"
	    "education/feedback:ato+ato-210302+education;");
	fixture_down(fx);
	assert_int_equal(fixture_up(fx), 0);
	tick(fx, esc, sizeof(esc));
	assert_string_equal(esc, "");
	unsetenv("CLUEBUS_TEST_CLOCK_FILE");
}
#endif

static void
test_a_correction_reaches_the_originals_recipients_and_only_its_sender_may_send_it(
    void **state)
{
	struct fixture *fx = *state;
	Cluebus__LogEntry *e;
	Cluebus__Message *m;
	char to[256];
	uint64_t clue_seq;

	publish(fx, D "case-clue.json", "health", CLUE_ID);
	assert_accepted(fx);
	clue_seq = fx->reply[0].seq;
	publish(fx, D "correction-clue.json", "psb", NULL);
	assert_rejected(fx, CLUEBUS__REJECT_CODE__REJECT_NOT_OWNER, "refers_to");
	publish(fx, D "correction-clue.json", "health", NULL);
	assert_accepted(fx);
	recipients(fx, to, sizeof(to));
	assert_string_equal(to, "ato,psb,ato-210302,");
	/* The log keeps both: the original unchanged, the correction after it. */
	assert_int_equal(fixture_entry(fx, fx->reply[0].seq, &e, &m), 0);
	assert_int_equal(m->kind, CLUEBUS__KIND__KIND_CORRECTION);
	assert_int_equal(m->correction->clue->category, CLUEBUS__CATEGORY__CATEGORY_PUBLIC_TIP);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	cluebus__log_entry__free_unpacked(e, NULL);
	assert_int_equal(fixture_entry(fx, clue_seq, &e, &m), 0);
	assert_int_equal(m->clue->category, CLUEBUS__CATEGORY__CATEGORY_MEDICAL);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	cluebus__log_entry__free_unpacked(e, NULL);
}

static void
test_a_correction_of_a_case_message_is_refused(void **state)
{
	struct fixture *fx = *state;

	publish(fx, D "case-open.json", "psb", CLUE_ID);	/* the id correction-clue.json
								 * names */
	publish(fx, D "correction-clue.json", "psb", NULL);
	assert_rejected(fx, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY, "refers_to");
	assert_non_null(strstr(fx->reply[0].reason, "a case changes by kind case"));
}

static void
test_a_correction_of_an_unknown_message_is_refused(void **state)
{
	struct fixture *fx = *state;

	publish(fx, D "correction-clue.json", "health", NULL);
	assert_rejected(fx, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY, "refers_to");
	assert_string_equal(fx->reply[0].reason, "no message with that id");
}

static void
test_a_withdrawn_referral_closes_its_duties_and_is_not_escalated(void **state)
{
	struct fixture *fx = *state;
	casefile_timeline_t *tl;
	casefile_stats_t *st;
	casefile_t *cf;
	Cluebus__Obligation *o;
	char esc[1024];

	publish(fx, D "workflow-referral.json", "health", REFERRAL_ID);
	publish(fx, D "withdraw-referral.json", "health", NULL);
	assert_accepted(fx);
	assert_int_equal(fixture_obligation(fx, REFERRAL_ID, "psb", &o), 0);
	assert_int_equal(o->state, CLUEBUS__OBLIGATION_STATE__OBLIGATION_CLOSED);
	cluebus__obligation__free_unpacked(o, NULL);
	tick(fx, esc, sizeof(esc));
	assert_string_equal(esc, "");
	/* Withdrawn once; and a receipt on it is refused. */
	publish(fx, D "withdraw-referral.json", "health", NULL);
	assert_rejected(fx, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY, "refers_to");
	assert_string_equal(fx->reply[0].reason, "the message was withdrawn");
	publish(fx, D "workflow-receipt.json", "psb", NULL);
	assert_rejected(fx, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY, "refers_to");

	/* The audit marks it withdrawn and counts its duties out. */
	assert_int_equal(casefile_build(fx->b.store, &cf, NULL), 0);
	assert_int_equal(casefile_case(cf, "AS-2026-017", &tl), 0);
	assert_int_equal(tl->n_events, 2);
	assert_int_equal(tl->events[0].kind, CLUEBUS__KIND__KIND_REFERRAL);
	assert_true(tl->events[0].withdrawn);
	assert_int_equal(tl->events[1].kind, CLUEBUS__KIND__KIND_CORRECTION);
	assert_false(tl->events[1].withdrawn);
	casefile_timeline_free(tl);
	assert_int_equal(casefile_stats(cf, INT64_MIN, INT64_MAX, &st), 0);
	for (size_t i = 0; i < st->n_units; i++)
		assert_int_equal(st->units[i].referrals, 0);
	casefile_stats_free(st);
	casefile_free(cf);
}

/* The auditor's view, from the log alone, agrees with the broker's records: the case's
 * task force and state, its history, and the statistics of a corrected, then withdrawn,
 * clue. */
static void
test_the_audit_rebuilds_the_case_record_and_counts_corrected_and_withdrawn_clues(
    void **state)
{
	struct fixture *fx = *state;
	casefile_stats_t *st;
	casestate_t *cs;
	casefile_t *cf;

	publish(fx, D "case-open.json", "psb", CASE_ID);
	publish(fx, D "case-add-members.json", "psb", NULL);
	publish(fx, D "case-remove-members.json", "ato", NULL);
	publish(fx, D "case-clue.json", "health", CLUE_ID);
	publish(fx, D "correction-clue.json", "health", NULL);
	assert_accepted(fx);
	assert_int_equal(casestate_build(fx->b.store, "AS-2026-031", &cs), 0);
	assert_true(cs->found && cs->open);
	assert_string_equal(cs->opener, "psb");
	assert_int_equal(cs->n_members, 2);
	assert_string_equal(cs->members[0], "civil-affairs");
	assert_string_equal(cs->members[1], "health");
	members_are(fx, "AS-2026-031", "civil-affairs,health,");
	assert_int_equal(cs->n_steps, 4);	/* open, add, remove, the correction */
	assert_non_null(strstr(cs->steps[3].what, "corrected " CLUE_ID
	    " to category public_tip"));
	casestate_free(cs);

	assert_int_equal(casefile_build(fx->b.store, &cf, NULL), 0);
	assert_int_equal(casefile_stats(cf, INT64_MIN, INT64_MAX, &st), 0);
	assert_int_equal(st->clues, 1);
	assert_int_equal(st->n_categories, 1);
	assert_string_equal(st->categories[0].key, "public_tip");
	casefile_stats_free(st);
	casefile_free(cf);

	publish(fx, "tests/unit/data/withdraw-clue.json", "health", NULL);
	assert_accepted(fx);
	assert_int_equal(casefile_build(fx->b.store, &cf, NULL), 0);
	assert_int_equal(casefile_stats(cf, INT64_MIN, INT64_MAX, &st), 0);
	assert_int_equal(st->clues, 0);
	casefile_stats_free(st);
	casefile_free(cf);
	publish(fx, D "case-close.json", "psb", NULL);
	assert_int_equal(casestate_build(fx->b.store, "AS-2026-031", &cs), 0);
	assert_false(cs->open);
	assert_string_equal(cs->close_reason, "案件告破，嫌疑人已移送起诉");
	casestate_free(cs);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_a_case_opened_by_the_police_reaches_its_task_force_and_so_do_messages_with_its_ref),
		T(test_the_directory_lists_an_open_cases_task_force_at_each_change),
		T(test_a_task_force_over_the_directorys_bound_is_refused),
		T(test_a_supervisions_delivery_tells_the_obliged_units_whom_they_answer),
		T(test_a_unit_that_is_neither_police_nor_an_office_cannot_open_a_case),
		T(test_a_case_ref_opened_twice_is_refused),
		T(test_members_added_and_removed_change_who_hears_and_only_opener_or_office_closes),
		T(test_a_district_office_opens_cases_in_its_own_district_only),
		T(test_a_district_office_supervises_inside_its_district_and_is_refused_outside),
		T(test_a_supervision_of_a_closed_or_unknown_case_is_refused),
		T(test_the_city_office_supervises_a_district_office_which_then_owes_feedback),
		T(test_a_supervision_of_units_is_met_by_feedback_or_escalated_once_across_a_restart),
		T(test_listed_supervision_of_a_case_escalates_once_to_both_offices_with_a_reminder),
		T(test_a_members_feedback_on_the_case_meets_its_listed_duty),
		T(test_a_listed_supervision_of_a_case_tightens_the_due_times_of_its_referrals),
#ifdef CLUEBUS_TEST_HOOKS
		T(test_listed_supervision_due_later_escalates_only_after_the_clock_passes_it),
#endif
		T(test_a_correction_reaches_the_originals_recipients_and_only_its_sender_may_send_it),
		T(test_a_correction_of_an_unknown_message_is_refused),
		T(test_a_correction_of_a_case_message_is_refused),
		T(test_a_withdrawn_referral_closes_its_duties_and_is_not_escalated),
		T(test_the_audit_rebuilds_the_case_record_and_counts_corrected_and_withdrawn_clues),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* tests/unit/test_replay.c — the replay's filters and clear-metadata rendering (lib/replay.c).
 *
 * Entries are built in memory (no store): what is selected by each filter and by threads
 * followed through refers_to, how bad option values are refused, how times are shown at an
 * offset, and that the JSON of an entry carries its clear metadata and never a free-text or
 * personal-data field nor a sealed blob's bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluebus/err.h"
#include "cluebus.pb-c.h"
#include "replay.h"

#define T0	1772323200000LL	/* 2026-03-01T00:00:00Z */

/* One log entry and its message, on the heap of the test. */
struct ent {
	Cluebus__LogEntry	e;
	Cluebus__Message	m;
	Cluebus__Clue		clue;
	Cluebus__Referral	ref;
	Cluebus__Receipt	rcpt;
	Cluebus__DeliveryAck	ack;
	Cluebus__Registry	reg;
	uint8_t			id[16], refers[16];
	char			*rcpts[3];
	uint64_t		seqs[2];
	int			has_msg;
};

static void
ent_message(struct ent *x, uint64_t seq, const char *sender, uint8_t id, uint8_t refers_to)
{
	cluebus__log_entry__init(&x->e);
	cluebus__message__init(&x->m);
	x->e.seq = seq;
	x->e.time_ms = T0 + (int64_t)seq * 1000;
	x->e.type = CLUEBUS__ENTRY_TYPE__ENTRY_MESSAGE;
	memset(x->id, id, sizeof(x->id));
	x->m.message_id.data = x->id;
	x->m.message_id.len = 16;
	x->m.sender = (char *)sender;
	x->m.priority = CLUEBUS__PRIORITY__PRIORITY_ROUTINE;
	if (refers_to != 0) {
		memset(x->refers, refers_to, sizeof(x->refers));
		x->m.refers_to.data = x->refers;
		x->m.refers_to.len = 16;
	}
	x->rcpts[0] = "ato";
	x->rcpts[1] = "psb";
	x->e.recipients = x->rcpts;
	x->e.n_recipients = 2;
	x->has_msg = 1;
}

static void
ent_clue(struct ent *x, uint64_t seq, const char *sender, uint8_t id, Cluebus__Category cat)
{
	ent_message(x, seq, sender, id, 0);
	cluebus__clue__init(&x->clue);
	x->m.kind = CLUEBUS__KIND__KIND_CLUE;
	x->m.body_case = CLUEBUS__MESSAGE__BODY_CLUE;
	x->m.clue = &x->clue;
	x->clue.category = cat;
	x->clue.jurisdiction = "210302";
	x->clue.summary = "SECRET-SUMMARY";
	x->clue.location = "SECRET-LOCATION";
	x->clue.handling = CLUEBUS__HANDLING_CODE__HANDLING_H0;
	x->clue.source_reliability = CLUEBUS__SOURCE_RELIABILITY__RELIABILITY_B;
	x->clue.info_accuracy = 2;
}

static void
ent_referral(struct ent *x, uint64_t seq, uint8_t id, uint8_t refers_to, const char *case_ref)
{
	static char *to[] = { "civil-affairs" };

	ent_message(x, seq, "ato", id, refers_to);
	cluebus__referral__init(&x->ref);
	x->m.kind = CLUEBUS__KIND__KIND_REFERRAL;
	x->m.body_case = CLUEBUS__MESSAGE__BODY_REFERRAL;
	x->m.referral = &x->ref;
	x->m.case_ref = (char *)case_ref;
	x->ref.to_units = to;
	x->ref.n_to_units = 1;
	x->ref.action = CLUEBUS__ACTION__ACTION_RESCUE;
	x->ref.receipt_due_ms = T0 + 3600000;
	x->ref.note = "SECRET-NOTE";
}

static void
ent_receipt(struct ent *x, uint64_t seq, const char *sender, uint8_t id, uint8_t refers_to)
{
	ent_message(x, seq, sender, id, refers_to);
	cluebus__receipt__init(&x->rcpt);
	x->m.kind = CLUEBUS__KIND__KIND_RECEIPT;
	x->m.body_case = CLUEBUS__MESSAGE__BODY_RECEIPT;
	x->m.receipt = &x->rcpt;
	x->rcpt.note = "SECRET-RECEIPT-NOTE";
}

static void
ent_ack(struct ent *x, uint64_t seq, const char *unit, uint64_t acked)
{
	cluebus__log_entry__init(&x->e);
	cluebus__delivery_ack__init(&x->ack);
	x->e.seq = seq;
	x->e.time_ms = T0 + (int64_t)seq * 1000;
	x->e.type = CLUEBUS__ENTRY_TYPE__ENTRY_ACK;
	x->seqs[0] = acked;
	x->ack.unit = (char *)unit;
	x->ack.seqs = x->seqs;
	x->ack.n_seqs = 1;
	x->e.ack = &x->ack;
	x->has_msg = 0;
}

/* The seqs `r` selects of log[0..n), walked in order, as a bit mask (bit seq). */
static uint64_t
selected(replay_t *r, struct ent *log, size_t n)
{
	uint64_t mask = 0;
	int sel;

	for (size_t i = 0; i < n; i++) {
		assert_int_equal(replay_select(r, log[i].e.seq, &log[i].e,
		    log[i].has_msg ? &log[i].m : NULL, &sel), 0);
		if (sel)
			mask |= 1ull << log[i].e.seq;
	}
	return mask;
}

#define B(s)	(1ull << (s))

/* seq 1 clue medical (id 1, health), 2 clue school (id 2, education), 3 referral of 1
 * (id 3, case C-1), 4 receipt of 3 by civil-affairs (id 4), 5 ack by psb of 1, 6 ack by
 * psb of 2, 7 receipt of 2 (id 7). */
static void
log_build(struct ent *log)
{
	ent_clue(&log[0], 1, "health", 1, CLUEBUS__CATEGORY__CATEGORY_MEDICAL);
	ent_clue(&log[1], 2, "education", 2, CLUEBUS__CATEGORY__CATEGORY_SCHOOL);
	ent_referral(&log[2], 3, 3, 1, "C-1");
	ent_receipt(&log[3], 4, "civil-affairs", 4, 3);
	ent_ack(&log[4], 5, "psb", 1);
	ent_ack(&log[5], 6, "psb", 2);
	ent_receipt(&log[6], 7, "psb", 7, 2);
}

static void
test_no_filter_selects_every_entry(void **state)
{
	struct ent log[7];
	replay_t *r = replay_new();

	(void)state;
	log_build(log);
	assert_int_equal(selected(r, log, 7), B(1) | B(2) | B(3) | B(4) | B(5) | B(6) | B(7));
	replay_free(r);
}

static void
test_a_category_selects_its_clues_what_refers_to_them_and_their_acks(void **state)
{
	struct ent log[7];
	replay_t *r = replay_new();
	const char *why;

	(void)state;
	log_build(log);
	assert_int_equal(replay_set_category(r, "medical", &why), 0);
	assert_int_equal(replay_start_seq(r), 1);
	assert_int_equal(selected(r, log, 7), B(1) | B(3) | B(4) | B(5));
	replay_free(r);
}

static void
test_a_case_selects_its_messages_and_what_refers_to_them(void **state)
{
	struct ent log[7];
	replay_t *r = replay_new();
	const char *why;

	(void)state;
	log_build(log);
	assert_int_equal(replay_set_case(r, "C-1", &why), 0);
	assert_int_equal(selected(r, log, 7), B(3) | B(4));
	replay_free(r);
}

static void
test_units_match_sender_recipient_and_acknowledging_unit(void **state)
{
	struct ent log[7];
	replay_t *r = replay_new();
	const char *why;

	(void)state;
	log_build(log);
	assert_int_equal(replay_add_unit(r, "civil-affairs", &why), 0);
	assert_int_equal(selected(r, log, 7), B(4));
	replay_free(r);
	r = replay_new();
	assert_int_equal(replay_add_unit(r, "education", &why), 0);
	assert_int_equal(replay_add_unit(r, "health", &why), 0);
	assert_int_equal(selected(r, log, 7), B(1) | B(2));
	replay_free(r);
	r = replay_new();
	assert_int_equal(replay_add_unit(r, "psb", &why), 0);	/* recipient, acker, sender */
	assert_int_equal(selected(r, log, 7), B(1) | B(2) | B(3) | B(4) | B(5) | B(6) | B(7));
	replay_free(r);
}

static void
test_kinds_are_message_kinds_or_entry_types(void **state)
{
	struct ent log[7];
	replay_t *r = replay_new();
	const char *why;

	(void)state;
	log_build(log);
	assert_int_equal(replay_add_kind(r, "receipt", &why), 0);
	assert_int_equal(replay_add_kind(r, "ack", &why), 0);
	assert_int_equal(selected(r, log, 7), B(4) | B(5) | B(6) | B(7));
	replay_free(r);
}

static void
test_seq_and_time_ranges_and_filters_combine(void **state)
{
	struct ent log[7];
	replay_t *r = replay_new();
	const char *why;

	(void)state;
	log_build(log);
	/* seqs inclusive; times [from, to): seq s is at T0 + s seconds */
	assert_int_equal(replay_set_from(r, "2", &why), 0);
	assert_int_equal(replay_set_to(r, "2026-03-01T00:00:06Z", &why), 0);
	assert_int_equal(replay_check(r, &why), 0);
	assert_int_equal(replay_start_seq(r), 2);
	assert_int_equal(selected(r, log + 1, 6), B(2) | B(3) | B(4) | B(5));
	replay_free(r);
	r = replay_new();
	assert_int_equal(replay_set_from(r, "2026-03-01T08:00:03+08:00", &why), 0);
	assert_int_equal(replay_set_to(r, "4", &why), 0);
	assert_int_equal(replay_set_category(r, "medical", &why), 0);
	assert_int_equal(replay_start_seq(r), 1);	/* the thread starts before --from */
	assert_int_equal(replay_last_seq(r), 4);
	assert_int_equal(selected(r, log, 4), B(3) | B(4));
	replay_free(r);
}

static void
test_bad_option_values_are_refused_with_a_reason(void **state)
{
	static const struct {
		int		(*set)(replay_t *, const char *, const char **);
		const char	*value, *why_has;
	} bad[] = {
		{ replay_set_from, "0", "1 or more" },
		{ replay_set_from, "", "sequence number" },
		{ replay_set_from, "123456789012345678901", "1 or more" },
		{ replay_set_from, "2026-13-01T00:00:00Z", "RFC 3339" },
		{ replay_set_to, "yesterday", "RFC 3339" },
		{ replay_set_to, "-5", "RFC 3339" },
		{ replay_add_unit, "PSB", "unit id" },
		{ replay_add_unit, "", "unit id" },
		{ replay_add_unit, "a-unit-id-longer-than-thirty-two-chars", "unit id" },
		{ replay_add_kind, "clues", "unknown kind 'clues' (one of: clue," },
		{ replay_add_kind, "unspecified", "unknown kind" },
		{ replay_set_category, "medicine", "category" },
		{ replay_set_case, "", "1 to 256" },
		{ replay_set_tz, "+8", "+HH:MM" },
		{ replay_set_tz, "+08:60", "+HH:MM" },
		{ replay_set_tz, "+14:01", "14:00" },
		{ replay_set_tz, "08:00", "+HH:MM" },
		{ replay_set_tz, "CST", "+HH:MM" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		replay_t *r = replay_new();
		const char *why = NULL;

		assert_int_equal(bad[i].set(r, bad[i].value, &why), CB_EMALFORMED);
		assert_non_null(why);
		if (strstr(why, bad[i].why_has) == NULL)
			fail_msg("%s: reason '%s' lacks '%s'", bad[i].value, why, bad[i].why_has);
		replay_free(r);
	}
}

static void
test_from_after_to_is_refused(void **state)
{
	replay_t *r = replay_new();
	const char *why;

	(void)state;
	assert_int_equal(replay_set_from(r, "9", &why), 0);
	assert_int_equal(replay_set_to(r, "3", &why), 0);
	assert_int_equal(replay_check(r, &why), CB_EMALFORMED);
	replay_free(r);
	r = replay_new();
	assert_int_equal(replay_set_from(r, "2026-03-02T00:00:00Z", &why), 0);
	assert_int_equal(replay_set_to(r, "2026-03-02T08:00:00+08:00", &why), 0);
	assert_int_equal(replay_check(r, &why), CB_EMALFORMED);	/* equal: empty period */
	replay_free(r);
}

static void
test_times_show_at_the_offset_given(void **state)
{
	replay_t *r = replay_new();
	const char *why;
	char when[48];

	(void)state;
	replay_format_time(r, T0 + 1500, when, sizeof(when));
	assert_string_equal(when, "2026-03-01T00:00:01.500Z");
	assert_int_equal(replay_set_tz(r, "+08:00", &why), 0);
	replay_format_time(r, T0 + 1500, when, sizeof(when));
	assert_string_equal(when, "2026-03-01T08:00:01.500+08:00");
	assert_int_equal(replay_set_tz(r, "-05:30", &why), 0);
	replay_format_time(r, T0, when, sizeof(when));
	assert_string_equal(when, "2026-02-28T18:30:00.000-05:30");
	assert_int_equal(replay_set_tz(r, "Z", &why), 0);
	replay_format_time(r, T0, when, sizeof(when));
	assert_string_equal(when, "2026-03-01T00:00:00.000Z");
	replay_free(r);
}

static void
test_json_has_clear_metadata_names_and_no_personal_data(void **state)
{
	static const uint8_t hash[CHAIN_HASH_LEN] = { 0xab };
	Cluebus__Registry reg = CLUEBUS__REGISTRY__INIT;
	Cluebus__Person person = CLUEBUS__PERSON__INIT;
	Cluebus__Person *persons[] = { &person };
	Cluebus__SealedKey key = CLUEBUS__SEALED_KEY__INIT;
	Cluebus__SealedKey *keys[] = { &key };
	Cluebus__Sealed sealed = CLUEBUS__SEALED__INIT;
	uint8_t ct[] = { 0xde, 0xad, 0xbe, 0xef };
	struct ent x;
	replay_t *r = replay_new();
	char *s;
	json_t *o;

	(void)state;
	reg.unit = "psb";
	reg.name = "市公安局";
	assert_int_equal(replay_names_add(r, &reg), 0);
	assert_string_equal(replay_name(r, "psb"), "市公安局");
	assert_null(replay_name(r, "ato"));
	ent_clue(&x, 42, "health", 9, CLUEBUS__CATEGORY__CATEGORY_MEDICAL);
	person.name = "SECRET-NAME";
	person.id_number = "SECRET-ID";
	x.clue.persons = persons;
	x.clue.n_persons = 1;
	key.unit = "psb";
	sealed.keys = keys;
	sealed.n_keys = 1;
	sealed.suite = 1;
	sealed.ciphertext.data = ct;
	sealed.ciphertext.len = sizeof(ct);
	x.clue.sealed_persons = &sealed;
	o = replay_entry_json(r, 42, hash, &x.e, &x.m);
	assert_non_null(o);
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(s);
	assert_non_null(strstr(s, "\"v\":1"));
	assert_non_null(strstr(s, "\"seq\":42"));
	assert_non_null(strstr(s, "\"hash\":\"ab00"));
	assert_non_null(strstr(s, "\"category\":\"medical\""));
	assert_non_null(strstr(s, "\"jurisdiction\":\"210302\""));
	assert_non_null(strstr(s, "\"source_reliability\":\"b\""));
	assert_non_null(strstr(s, "\"persons\":1"));
	assert_non_null(strstr(s, "\"sealed_persons\":{\"bytes\":4,\"recipients\":[\"psb\"],"
	    "\"suite\":1}"));
	assert_non_null(strstr(s, "\"names\":{\"psb\":\"市公安局\"}"));
	assert_null(strstr(s, "SECRET"));
	assert_null(strstr(s, "deadbeef"));
	free(s);
	json_decref(o);

	ent_referral(&x, 43, 10, 9, "C-9");
	o = replay_entry_json(r, 43, hash, &x.e, &x.m);
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(strstr(s, "\"referral\":{\"action\":\"rescue\",\"receipt_due_at\":"
	    "\"2026-03-01T01:00:00.000Z\",\"to_units\":[\"civil-affairs\"]}"));
	assert_non_null(strstr(s, "\"case_ref\":\"C-9\""));
	assert_non_null(strstr(s, "\"refers_to\":\"09090909090909090909090909090909\""));
	assert_null(strstr(s, "SECRET"));
	free(s);
	json_decref(o);
	replay_free(r);
}

/* The JSON of `m` (a message entry at seq 7) with sorted keys; the caller frees it. */
static char *
message_json(const replay_t *r, Cluebus__Message *m)
{
	static const uint8_t hash[CHAIN_HASH_LEN];
	Cluebus__LogEntry e = CLUEBUS__LOG_ENTRY__INIT;
	json_t *o;
	char *s;

	e.seq = 7;
	e.time_ms = T0;
	e.type = CLUEBUS__ENTRY_TYPE__ENTRY_MESSAGE;
	assert_non_null(o = replay_entry_json(r, 7, hash, &e, m));
	assert_non_null(s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS));
	json_decref(o);
	return s;
}

static void
expect_in(const char *s, const char *part)
{
	if (strstr(s, part) == NULL)
		fail_msg("'%s' lacks '%s'", s, part);
}

static void
test_every_kind_shows_its_clear_fields_and_no_free_text(void **state)
{
	static char *units[] = { "psb", "civil-affairs" };
	uint8_t rid[16], tok[32], mids[2][16];
	ProtobufCBinaryData ids[2] = { { 16, mids[0] }, { 16, mids[1] } };
	Cluebus__Message m = CLUEBUS__MESSAGE__INIT;
	Cluebus__Feedback fb = CLUEBUS__FEEDBACK__INIT;
	Cluebus__Supervision sup = CLUEBUS__SUPERVISION__INIT;
	Cluebus__Report rep = CLUEBUS__REPORT__INIT;
	Cluebus__Escalation esc = CLUEBUS__ESCALATION__INIT;
	Cluebus__Registry reg = CLUEBUS__REGISTRY__INIT;
	Cluebus__Match match = CLUEBUS__MATCH__INIT;
	replay_t *r = replay_new();
	char *s;

	(void)state;
	memset(rid, 0x33, sizeof(rid));
	memset(tok, 0x44, sizeof(tok));
	memset(mids, 0x55, sizeof(mids));
	m.sender = "ato";
	m.priority = CLUEBUS__PRIORITY__PRIORITY_URGENT;

	m.kind = CLUEBUS__KIND__KIND_FEEDBACK;
	m.body_case = CLUEBUS__MESSAGE__BODY_FEEDBACK;
	m.feedback = &fb;
	fb.status = CLUEBUS__FEEDBACK_STATUS__FEEDBACK_TRANSFERRED;
	fb.transferred_to = units;
	fb.n_transferred_to = 1;
	fb.note = "SECRET";
	s = message_json(r, &m);
	expect_in(s, "\"feedback\":{\"status\":\"transferred\",\"transferred_to\":[\"psb\"]}");
	expect_in(s, "\"priority\":\"urgent\"");
	assert_null(strstr(s, "SECRET"));
	free(s);

	m.kind = CLUEBUS__KIND__KIND_SUPERVISION;
	m.body_case = CLUEBUS__MESSAGE__BODY_SUPERVISION;
	m.supervision = &sup;
	sup.level = CLUEBUS__SUPERVISION_LEVEL__SUPERVISION_LISTED;
	sup.units = units;
	sup.n_units = 2;
	sup.feedback_due_ms = T0 + 60000;
	sup.note = "SECRET";
	s = message_json(r, &m);
	expect_in(s, "\"supervision\":{\"feedback_due_at\":\"2026-03-01T00:01:00.000Z\","
	    "\"level\":\"listed\",\"units\":[\"psb\",\"civil-affairs\"]}");
	assert_null(strstr(s, "SECRET"));
	free(s);

	m.kind = CLUEBUS__KIND__KIND_REPORT;
	m.body_case = CLUEBUS__MESSAGE__BODY_REPORT;
	m.report = &rep;
	rep.type = CLUEBUS__REPORT_TYPE__REPORT_WARNING_NOTICE;
	rep.period_from_ms = T0;
	rep.title = "SECRET";
	rep.text = "SECRET";
	s = message_json(r, &m);
	expect_in(s, "\"report\":{\"period_from\":\"2026-03-01T00:00:00.000Z\","
	    "\"type\":\"warning_notice\"}");
	assert_null(strstr(s, "SECRET"));
	free(s);

	m.kind = CLUEBUS__KIND__KIND_ESCALATION;
	m.body_case = CLUEBUS__MESSAGE__BODY_ESCALATION;
	m.escalation = &esc;
	esc.referral_id.data = rid;
	esc.referral_id.len = sizeof(rid);
	esc.unit = "psb";
	esc.missed = CLUEBUS__MISSED__MISSED_RECEIPT;
	esc.due_ms = T0;
	s = message_json(r, &m);
	expect_in(s, "\"escalation\":{\"due_at\":\"2026-03-01T00:00:00.000Z\",\"missed\":"
	    "\"receipt\",\"referral_id\":\"33333333333333333333333333333333\",\"unit\":\"psb\"}");
	free(s);

	m.kind = CLUEBUS__KIND__KIND_REGISTRY;
	m.body_case = CLUEBUS__MESSAGE__BODY_REGISTRY;
	m.registry = &reg;
	reg.op = CLUEBUS__REGISTRY_OP__REGISTRY_REVOKE_KEY;
	reg.unit = "psb";
	reg.reason = "key compromised";
	s = message_json(r, &m);
	expect_in(s, "\"registry\":{\"op\":\"revoke_key\",\"reason\":\"key compromised\","
	    "\"unit\":\"psb\"}");
	free(s);
	reg.op = CLUEBUS__REGISTRY_OP__REGISTRY_ADMIN_KEY;
	s = message_json(r, &m);
	expect_in(s, "\"op\":\"admin_key\"");
	free(s);

	m.kind = CLUEBUS__KIND__KIND_MATCH;
	m.body_case = CLUEBUS__MESSAGE__BODY_MATCH;
	m.match = &match;
	match.token_hash.data = tok;
	match.token_hash.len = sizeof(tok);
	match.message_ids = ids;
	match.n_message_ids = 2;
	match.units = units;
	match.n_units = 2;
	s = message_json(r, &m);
	expect_in(s, "\"match\":{\"message_ids\":[\"55555555555555555555555555555555\","
	    "\"55555555555555555555555555555555\"],\"token_hash\":\"4444");
	expect_in(s, "\"units\":[\"psb\",\"civil-affairs\"]}");
	free(s);
	replay_free(r);
}

static void
test_rejections_acks_and_checkpoints_show_their_fields(void **state)
{
	static const uint8_t hash[CHAIN_HASH_LEN];
	uint8_t mid[16], root[32];
	uint64_t seqs[] = { 3, 4 };
	Cluebus__LogEntry e = CLUEBUS__LOG_ENTRY__INIT;
	Cluebus__Rejection rej = CLUEBUS__REJECTION__INIT;
	Cluebus__DeliveryAck ack = CLUEBUS__DELIVERY_ACK__INIT;
	Cluebus__Checkpoint cp = CLUEBUS__CHECKPOINT__INIT;
	replay_t *r = replay_new();
	json_t *o;
	char *s;

	(void)state;
	memset(mid, 0x66, sizeof(mid));
	memset(root, 0x77, sizeof(root));
	e.time_ms = T0;
	e.type = CLUEBUS__ENTRY_TYPE__ENTRY_REJECTION;
	e.rejection = &rej;
	rej.claimed_sender = "health";
	rej.peer_unit = "health";
	rej.code = CLUEBUS__REJECT_CODE__REJECT_BAD_SIGNATURE;
	rej.reason = "signature does not verify";
	rej.claimed_message_id.data = mid;
	rej.claimed_message_id.len = sizeof(mid);
	rej.frame_size = 1290;
	rej.unlogged_before = 2;
	rej.unlogged_since_ms = T0 - 1000;
	assert_non_null(o = replay_entry_json(r, 9, hash, &e, NULL));
	assert_non_null(s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS));
	expect_in(s, "\"claimed_message_id\":\"66666666666666666666666666666666\"");
	expect_in(s, "\"code\":\"bad_signature\"");
	expect_in(s, "\"frame_size\":1290");
	expect_in(s, "\"peer\":\"health\"");
	expect_in(s, "\"type\":\"rejection\",\"unlogged_before\":2,\"unlogged_since\":"
	    "\"2026-02-28T23:59:59.000Z\"");
	assert_null(strstr(s, "\"message_id\""));
	free(s);
	json_decref(o);

	/* A damaged log: text that is not UTF-8 or holds a newline still gives one line. */
	rej.reason = "bad \xff\xfe bytes\nand a second line";
	assert_non_null(o = replay_entry_json(r, 9, hash, &e, NULL));
	assert_string_equal(json_string_value(json_object_get(o, "reason")),
	    "bad \\xff\\xfe bytes\\x0aand a second line");
	json_decref(o);
	{
		char buf[512] = "";
		FILE *mem = fmemopen(buf, sizeof(buf) - 1, "w");

		assert_non_null(mem);
		assert_int_equal(replay_entry_text(r, 9, hash, &e, NULL, mem), 0);
		fclose(mem);
		assert_non_null(strstr(buf, "bad \xff\xfe bytes?and a second line\n"));
		assert_int_equal(strchr(buf, '\n') - buf + 1, (long)strlen(buf));
	}

	e.rejection = NULL;
	e.type = CLUEBUS__ENTRY_TYPE__ENTRY_ACK;
	e.ack = &ack;
	ack.unit = "psb";
	ack.seqs = seqs;
	ack.n_seqs = 2;
	assert_non_null(o = replay_entry_json(r, 10, hash, &e, NULL));
	assert_non_null(s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS));
	expect_in(s, "\"acked\":[3,4]");
	expect_in(s, "\"unit\":\"psb\"");
	free(s);
	json_decref(o);

	e.ack = NULL;
	e.type = CLUEBUS__ENTRY_TYPE__ENTRY_CHECKPOINT;
	e.checkpoint = &cp;
	cp.tree_size = 9;
	cp.root.data = root;
	cp.root.len = sizeof(root);
	assert_non_null(o = replay_entry_json(r, 11, hash, &e, NULL));
	assert_non_null(s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS));
	expect_in(s, "\"root\":\"7777");
	expect_in(s, "\"tree_size\":9,\"type\":\"checkpoint\"");
	free(s);
	json_decref(o);
	replay_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_filter_selects_every_entry),
		cmocka_unit_test(test_a_category_selects_its_clues_what_refers_to_them_and_their_acks),
		cmocka_unit_test(test_a_case_selects_its_messages_and_what_refers_to_them),
		cmocka_unit_test(test_units_match_sender_recipient_and_acknowledging_unit),
		cmocka_unit_test(test_kinds_are_message_kinds_or_entry_types),
		cmocka_unit_test(test_seq_and_time_ranges_and_filters_combine),
		cmocka_unit_test(test_bad_option_values_are_refused_with_a_reason),
		cmocka_unit_test(test_from_after_to_is_refused),
		cmocka_unit_test(test_times_show_at_the_offset_given),
		cmocka_unit_test(test_json_has_clear_metadata_names_and_no_personal_data),
		cmocka_unit_test(test_every_kind_shows_its_clear_fields_and_no_free_text),
		cmocka_unit_test(test_rejections_acks_and_checkpoints_show_their_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

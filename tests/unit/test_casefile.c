/* tests/unit/test_casefile.c — case timelines and period statistics over a real store.
 *
 * Each test builds a store in a mkdtemp directory with store_begin / store_txn_append /
 * store_txn_commit, writing LogEntry records with chosen log times (the broker's clock) and
 * envelopes signed with key_generate + envelope_sign, then indexes it with casefile_build.
 * Every expected number below was computed by hand from the fixture, not by the code.
 *
 * The main fixture (t0 = 2026-03-01T00:00:00Z, h = one hour):
 *
 *   seq  log time     entry                                                   recipients
 *     1  t0-4h        broker registry (broker key)                            -
 *     2  t0-3h        clue C1 health medical 210302, case AS-2026-0001        ato psb ato-210302
 *     3  t0-3h+1m     ack ato [2]
 *     4  t0-2h        clue C2 health medical 210303, no case                  ato psb ato-210303
 *     5  t0-1h        clue C3 education school 210302, case AS-2026-0002      ato psb ato-210302
 *     6  t0-1h+2m     ack psb [2 4 5]
 *     7  t0           referral R ato -> psb, civil-affairs; refers C1;        psb civil-affairs
 *                     case AS-2026-0001; receipt due t0+8h, feedback t0+48h
 *     8  t0+5m        ack psb [7]
 *     9  t0+2h        receipt psb re R                                        ato
 *    10  t0+2h+30s    ack ato [9]
 *    11  t0+3h        ack civil-affairs [7]
 *    12  t0+8h        broker escalation re R: civil-affairs missed receipt,   ato civil-affairs
 *                     due t0+8h (case ref copied)
 *    13  t0+10h       receipt civil-affairs re R                              ato
 *    14  t0+30h       feedback psb re R: resolved                             ato
 *    15  t0+50h       feedback civil-affairs re R: transferred to education  ato education
 *    16  t0+50h+10m   ack education [15]
 *    17  t0+60h       receipt education re R                                  ato
 *  18-33  t1 = t0+1000h: the second set — referrals R0..R4 from ato to psb at t1 + k*100h,
 *                     psb's receipt after 4h, 1h, 10h, 3h, 2h and feedback after 7h, 5h, 20h,
 *                     8h, 6h; R5 at t1+500h gets nothing.
 *
 * Expected statistics (hand-computed; durations from the duty's start, nearest-rank):
 *
 *   period [t0-4h, t0+100h): 11 messages, 3 clues
 *     category  medical 2, school 1          district  210302 2, 210303 1
 *     sender/kind  ato referral 1 | broker escalation 1, registry 1 | civil-affairs receipt 1,
 *                  feedback 1 | education clue 1, receipt 1 | health clue 2 | psb receipt 1,
 *                  feedback 1
 *     unit           refs  rcpt n  median  p90   fb n  median  p90   overdue r/f  open r/f
 *     civil-affairs     1       1     10h  10h      1     50h  50h          1/0       0/0
 *     education         1       1     10h  10h      0       -    -          0/0       0/1
 *     psb               1       1      2h   2h      1     30h  30h          0/0       0/0
 *     (education's duty begins at the transfer, t0+50h: receipt at t0+60h is 10h)
 *
 *   period [t0, t0+20h): 4 messages (R, psb receipt, escalation, civil-affairs receipt)
 *     civil-affairs  1  1 10h 10h  0 - -  1/0  0/1
 *     psb            1  1  2h  2h  0 - -  0/0  0/1
 *   period [t0+40h, t0+100h): 2 messages; only education: 1  1 10h 10h  0 - -  0/0  0/1
 *   period [t0, t0+2h): 1 message; psb's receipt at exactly t0+2h is outside, so
 *     psb 1  0 - -  0 - -  0/0  1/1   and civil-affairs the same
 *
 *   period [t1, t1+600h): psb  refs 6, receipts {1,2,3,4,10}h -> median 3h, p90 10h,
 *     feedbacks {5,6,7,8,20}h -> median 7h, p90 20h, open 1/1
 *   whole log: psb receipts {1,2,2,3,4,10}h -> median (index ceil(3)-1 = 2) 2h, p90 (index
 *     ceil(5.4)-1 = 5) 10h; feedbacks {5,6,7,8,20,30}h -> median 7h, p90 30h.
 *
 * The case AS-2026-0001 is seqs 2 7 9 12 13 14 15 17 in that order, as of t0+60h:
 *   R's duties: psb receipt 2h, feedback 30h (resolved); civil-affairs receipt 10h
 *   (escalated at t0+8h), feedback 50h (transferred); education (from civil-affairs, since
 *   t0+50h) receipt 10h, feedback open. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <lmdb.h>

#include "casefile.h"
#include "chain.h"
#include "cluebus/err.h"
#include "cluebus.pb-c.h"
#include "envelope.h"
#include "keys.h"
#include "store.h"
#include "util.h"

#define T0	INT64_C(1772323200000)		/* 2026-03-01T00:00:00Z */
#define MIN	INT64_C(60000)
#define HOUR	INT64_C(3600000)
#define T1	(T0 + 1000 * HOUR)
#define CASE_A	"AS-2026-0001"
#define CASE_B	"AS-2026-0002"

/* Message ids of the main fixture. */
enum {
	ID_C1 = 1, ID_C2, ID_C3, ID_R = 10, ID_PSB_RCPT, ID_ESC, ID_CA_RCPT, ID_PSB_FB, ID_CA_FB,
	ID_EDU_RCPT, ID_REG = 100, ID_SET_R = 200, ID_SET_RCPT = 210, ID_SET_FB = 220,
};

struct fixture {
	char		 dir[64];
	store_t		*s;
	store_txn_t	*txn;
	cb_key_t	*unit_key, *broker_key;
	casefile_t	*cf;
};

/* A message under construction and the buffers it points to. */
struct msgbuf {
	Cluebus__Message m;
	uint8_t		 id[MESSAGE_ID_LEN], ref[MESSAGE_ID_LEN];
};

static const char *const TO_C1[] = { "ato", "psb", "ato-210302", NULL };
static const char *const TO_C2[] = { "ato", "psb", "ato-210303", NULL };
static const char *const TO_ATO[] = { "ato", NULL };
static const char *const TO_PSB[] = { "psb", NULL };
static const char *const TO_ESC[] = { "ato", "civil-affairs", NULL };
static const char *const TO_TRANSFER[] = { "ato", "education", NULL };

/* ---- building stores -------------------------------------------------------------------- */

static void
rm_dir(const char *dir)
{
	struct dirent *de;
	char path[512];
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static void
make_id(uint64_t n, uint8_t id[MESSAGE_ID_LEN])
{
	memset(id, 0xca, MESSAGE_ID_LEN);
	be64_put(id + 8, n);
}

static void
msg_init(struct msgbuf *b, uint64_t id, const char *sender, Cluebus__Kind kind,
    const char *case_ref, uint64_t refers_to)
{
	cluebus__message__init(&b->m);
	make_id(id, b->id);
	b->m.message_id.data = b->id;
	b->m.message_id.len = MESSAGE_ID_LEN;
	b->m.sender = (char *)sender;
	b->m.kind = kind;
	b->m.priority = CLUEBUS__PRIORITY__PRIORITY_ROUTINE;
	if (case_ref != NULL)
		b->m.case_ref = (char *)case_ref;
	if (refers_to != 0) {
		make_id(refers_to, b->ref);
		b->m.refers_to.data = b->ref;
		b->m.refers_to.len = MESSAGE_ID_LEN;
	}
}

/* Signs `m` and appends it with log time `t`; returns its seq. */
static uint64_t
put(struct fixture *f, int64_t t, Cluebus__EntryType type, Cluebus__Message *m,
    const char *const *rcpts)
{
	Cluebus__LogEntry e = CLUEBUS__LOG_ENTRY__INIT;
	Cluebus__Envelope *env = NULL;
	uint8_t h[CHAIN_HASH_LEN];
	size_t n = 0;

	m->created_ms = t - 1000;
	assert_int_equal(envelope_sign(m, type == CLUEBUS__ENTRY_TYPE__ENTRY_BROKER ?
	    f->broker_key : f->unit_key, &env), 0);
	while (rcpts != NULL && rcpts[n] != NULL)
		n++;
	e.time_ms = t;
	e.type = type;
	e.envelope = env;
	e.recipients = (char **)rcpts;
	e.n_recipients = n;
	assert_int_equal(store_txn_append(f->txn, &e, m->message_id.data,
	    m->kind == CLUEBUS__KIND__KIND_REGISTRY, h), 0);
	envelope_free(env);
	return e.seq;
}

static uint64_t
put_registry(struct fixture *f, int64_t t, uint64_t id, const char *unit, const char *role)
{
	Cluebus__Registry r = CLUEBUS__REGISTRY__INIT;
	struct msgbuf b;

	msg_init(&b, id, "broker", CLUEBUS__KIND__KIND_REGISTRY, NULL, 0);
	r.op = strcmp(role, "broker") == 0 ? CLUEBUS__REGISTRY_OP__REGISTRY_BROKER_KEY :
	    CLUEBUS__REGISTRY_OP__REGISTRY_ADD_UNIT;
	r.unit = (char *)unit;
	r.role = (char *)role;
	b.m.body_case = CLUEBUS__MESSAGE__BODY_REGISTRY;
	b.m.registry = &r;
	return put(f, t, CLUEBUS__ENTRY_TYPE__ENTRY_BROKER, &b.m, NULL);
}

static uint64_t
put_clue(struct fixture *f, int64_t t, uint64_t id, const char *sender, Cluebus__Category cat,
    const char *district, const char *case_ref, const char *summary, const char *const *rcpts)
{
	Cluebus__Clue c = CLUEBUS__CLUE__INIT;
	struct msgbuf b;

	msg_init(&b, id, sender, CLUEBUS__KIND__KIND_CLUE, case_ref, 0);
	c.category = cat;
	c.jurisdiction = (char *)district;
	c.summary = (char *)summary;
	c.handling = CLUEBUS__HANDLING_CODE__HANDLING_H0;
	c.source_reliability = CLUEBUS__SOURCE_RELIABILITY__RELIABILITY_B;
	c.info_accuracy = 2;
	b.m.body_case = CLUEBUS__MESSAGE__BODY_CLUE;
	b.m.clue = &c;
	return put(f, t, CLUEBUS__ENTRY_TYPE__ENTRY_MESSAGE, &b.m, rcpts);
}

static uint64_t
put_referral(struct fixture *f, int64_t t, uint64_t id, const char *case_ref,
    uint64_t refers_to, const char *const *to_units, int64_t receipt_due,
    int64_t feedback_due)
{
	Cluebus__Referral r = CLUEBUS__REFERRAL__INIT;
	struct msgbuf b;

	msg_init(&b, id, "ato", CLUEBUS__KIND__KIND_REFERRAL, case_ref, refers_to);
	while (to_units[r.n_to_units] != NULL)
		r.n_to_units++;
	r.to_units = (char **)to_units;
	r.action = CLUEBUS__ACTION__ACTION_INVESTIGATE;
	r.receipt_due_ms = receipt_due;
	r.feedback_due_ms = feedback_due;
	b.m.body_case = CLUEBUS__MESSAGE__BODY_REFERRAL;
	b.m.referral = &r;
	return put(f, t, CLUEBUS__ENTRY_TYPE__ENTRY_MESSAGE, &b.m, to_units);
}

static uint64_t
put_receipt(struct fixture *f, int64_t t, uint64_t id, const char *sender, uint64_t refers_to)
{
	Cluebus__Receipt r = CLUEBUS__RECEIPT__INIT;
	struct msgbuf b;

	msg_init(&b, id, sender, CLUEBUS__KIND__KIND_RECEIPT, NULL, refers_to);
	b.m.body_case = CLUEBUS__MESSAGE__BODY_RECEIPT;
	b.m.receipt = &r;
	return put(f, t, CLUEBUS__ENTRY_TYPE__ENTRY_MESSAGE, &b.m, TO_ATO);
}

static uint64_t
put_feedback(struct fixture *f, int64_t t, uint64_t id, const char *sender, uint64_t refers_to,
    Cluebus__FeedbackStatus status, const char *const *transferred_to)
{
	Cluebus__Feedback fb = CLUEBUS__FEEDBACK__INIT;
	struct msgbuf b;

	msg_init(&b, id, sender, CLUEBUS__KIND__KIND_FEEDBACK, NULL, refers_to);
	fb.status = status;
	while (transferred_to != NULL && transferred_to[fb.n_transferred_to] != NULL)
		fb.n_transferred_to++;
	fb.transferred_to = (char **)transferred_to;
	b.m.body_case = CLUEBUS__MESSAGE__BODY_FEEDBACK;
	b.m.feedback = &fb;
	return put(f, t, CLUEBUS__ENTRY_TYPE__ENTRY_MESSAGE, &b.m,
	    transferred_to != NULL ? TO_TRANSFER : TO_ATO);
}

static uint64_t
put_supervision(struct fixture *f, int64_t t, uint64_t id, uint64_t refers_to,
    const char *const *units, int64_t receipt_due, int64_t feedback_due)
{
	Cluebus__Supervision s = CLUEBUS__SUPERVISION__INIT;
	struct msgbuf b;

	msg_init(&b, id, "ato", CLUEBUS__KIND__KIND_SUPERVISION, NULL, refers_to);
	s.level = CLUEBUS__SUPERVISION_LEVEL__SUPERVISION_SUPERVISE;
	while (units[s.n_units] != NULL)
		s.n_units++;
	s.units = (char **)units;
	s.receipt_due_ms = receipt_due;
	s.feedback_due_ms = feedback_due;
	b.m.body_case = CLUEBUS__MESSAGE__BODY_SUPERVISION;
	b.m.supervision = &s;
	return put(f, t, CLUEBUS__ENTRY_TYPE__ENTRY_MESSAGE, &b.m, units);
}

static uint64_t
put_escalation(struct fixture *f, int64_t t, uint64_t id, const char *case_ref,
    uint64_t referral, const char *unit, Cluebus__Missed missed, int64_t due)
{
	Cluebus__Escalation x = CLUEBUS__ESCALATION__INIT;
	uint8_t rid[MESSAGE_ID_LEN];
	struct msgbuf b;

	msg_init(&b, id, "broker", CLUEBUS__KIND__KIND_ESCALATION, case_ref, referral);
	make_id(referral, rid);
	x.referral_id.data = rid;
	x.referral_id.len = MESSAGE_ID_LEN;
	x.unit = (char *)unit;
	x.missed = missed;
	x.due_ms = due;
	b.m.body_case = CLUEBUS__MESSAGE__BODY_ESCALATION;
	b.m.escalation = &x;
	return put(f, t, CLUEBUS__ENTRY_TYPE__ENTRY_BROKER, &b.m, TO_ESC);
}

static uint64_t
put_ack(struct fixture *f, int64_t t, const char *unit, uint64_t *seqs, size_t n)
{
	Cluebus__LogEntry e = CLUEBUS__LOG_ENTRY__INIT;
	Cluebus__DeliveryAck a = CLUEBUS__DELIVERY_ACK__INIT;
	uint8_t h[CHAIN_HASH_LEN];

	a.unit = (char *)unit;
	a.seqs = seqs;
	a.n_seqs = n;
	e.time_ms = t;
	e.type = CLUEBUS__ENTRY_TYPE__ENTRY_ACK;
	e.ack = &a;
	assert_int_equal(store_txn_append(f->txn, &e, NULL, 0, h), 0);
	return e.seq;
}

static void
begin(struct fixture *f)
{
	assert_int_equal(store_begin(f->s, &f->txn), 0);
}

static void
commit(struct fixture *f)
{
	assert_int_equal(store_txn_commit(f->txn), 0);
	f->txn = NULL;
}

static void
build(struct fixture *f)
{
	casefile_error_t err;
	int rc;

	casefile_free(f->cf);
	f->cf = NULL;
	if ((rc = casefile_build(f->s, &f->cf, &err)) != 0)
		fail_msg("casefile_build: %s at seq %llu: %s", cb_strerror(rc),
		    (unsigned long long)err.seq, err.reason);
}

/* The main fixture and the second set (see the table at the top). */
static void
write_main_fixture(struct fixture *f)
{
	static const char *const to_units[] = { "psb", "civil-affairs", NULL };
	static const char *const to_education[] = { "education", NULL };
	static const int64_t rcpt_h[] = { 4, 1, 10, 3, 2 }, fb_h[] = { 7, 5, 20, 8, 6 };
	uint64_t seqs[3];
	char case_ref[32];

	begin(f);
	assert_int_equal(put_registry(f, T0 - 4 * HOUR, ID_REG, "broker", "broker"), 1);
	assert_int_equal(put_clue(f, T0 - 3 * HOUR, ID_C1, "health",
	    CLUEBUS__CATEGORY__CATEGORY_MEDICAL, "210302", CASE_A,
	    "A boy of about ten begging near the railway station", TO_C1), 2);
	seqs[0] = 2;
	assert_int_equal(put_ack(f, T0 - 3 * HOUR + MIN, "ato", seqs, 1), 3);
	assert_int_equal(put_clue(f, T0 - 2 * HOUR, ID_C2, "health",
	    CLUEBUS__CATEGORY__CATEGORY_MEDICAL, "210303", NULL,
	    "Birth registered without a hospital record", TO_C2), 4);
	assert_int_equal(put_clue(f, T0 - 1 * HOUR, ID_C3, "education",
	    CLUEBUS__CATEGORY__CATEGORY_SCHOOL, "210302", CASE_B,
	    "Pupil absent for three weeks", TO_C1), 5);
	seqs[0] = 2;
	seqs[1] = 4;
	seqs[2] = 5;
	assert_int_equal(put_ack(f, T0 - 1 * HOUR + 2 * MIN, "psb", seqs, 3), 6);
	assert_int_equal(put_referral(f, T0, ID_R, CASE_A, ID_C1, to_units, T0 + 8 * HOUR,
	    T0 + 48 * HOUR), 7);
	seqs[0] = 7;
	assert_int_equal(put_ack(f, T0 + 5 * MIN, "psb", seqs, 1), 8);
	assert_int_equal(put_receipt(f, T0 + 2 * HOUR, ID_PSB_RCPT, "psb", ID_R), 9);
	seqs[0] = 9;
	assert_int_equal(put_ack(f, T0 + 2 * HOUR + 30000, "ato", seqs, 1), 10);
	seqs[0] = 7;
	assert_int_equal(put_ack(f, T0 + 3 * HOUR, "civil-affairs", seqs, 1), 11);
	assert_int_equal(put_escalation(f, T0 + 8 * HOUR, ID_ESC, CASE_A, ID_R, "civil-affairs",
	    CLUEBUS__MISSED__MISSED_RECEIPT, T0 + 8 * HOUR), 12);
	assert_int_equal(put_receipt(f, T0 + 10 * HOUR, ID_CA_RCPT, "civil-affairs", ID_R), 13);
	assert_int_equal(put_feedback(f, T0 + 30 * HOUR, ID_PSB_FB, "psb", ID_R,
	    CLUEBUS__FEEDBACK_STATUS__FEEDBACK_RESOLVED, NULL), 14);
	assert_int_equal(put_feedback(f, T0 + 50 * HOUR, ID_CA_FB, "civil-affairs", ID_R,
	    CLUEBUS__FEEDBACK_STATUS__FEEDBACK_TRANSFERRED, to_education), 15);
	seqs[0] = 15;
	assert_int_equal(put_ack(f, T0 + 50 * HOUR + 10 * MIN, "education", seqs, 1), 16);
	assert_int_equal(put_receipt(f, T0 + 60 * HOUR, ID_EDU_RCPT, "education", ID_R), 17);

	/* The second set: five answered referrals to psb and one left open. */
	for (int k = 0; k < 5; k++) {
		int64_t at = T1 + k * 100 * HOUR;

		snprintf(case_ref, sizeof(case_ref), "AS-2026-01%02d", k);
		put_referral(f, at, ID_SET_R + (uint64_t)k, case_ref, 0, TO_PSB, 0, 0);
		put_receipt(f, at + rcpt_h[k] * HOUR, ID_SET_RCPT + (uint64_t)k, "psb",
		    ID_SET_R + (uint64_t)k);
		put_feedback(f, at + fb_h[k] * HOUR, ID_SET_FB + (uint64_t)k, "psb",
		    ID_SET_R + (uint64_t)k, k % 2 ? CLUEBUS__FEEDBACK_STATUS__FEEDBACK_ACCEPTED :
		    CLUEBUS__FEEDBACK_STATUS__FEEDBACK_RESOLVED, NULL);
	}
	assert_int_equal(put_referral(f, T1 + 500 * HOUR, ID_SET_R + 5, "AS-2026-0105", 0,
	    TO_PSB, 0, 0), 33);
	commit(f);
}

static int
setup_empty(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/cb-test-casefile.XXXXXX");
	if (mkdtemp(f->dir) == NULL || store_open(f->dir, 0, 0, &f->s) != 0 ||
	    key_generate(&f->unit_key) != 0 || key_generate(&f->broker_key) != 0) {
		store_close(f->s);
		key_free(f->unit_key);
		key_free(f->broker_key);
		rm_dir(f->dir);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
setup_main(void **state)
{
	struct fixture *f;

	if (setup_empty(state) != 0)
		return -1;
	f = *state;
	write_main_fixture(f);
	build(f);
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	casefile_free(f->cf);
	store_txn_abort(f->txn);
	store_close(f->s);
	key_free(f->unit_key);
	key_free(f->broker_key);
	rm_dir(f->dir);
	free(f);
	return 0;
}

/* ---- checking results ------------------------------------------------------------------- */

static casefile_stats_t *
stats(struct fixture *f, int64_t from, int64_t to)
{
	casefile_stats_t *st = NULL;

	assert_int_equal(casefile_stats(f->cf, from, to, &st), 0);
	assert_non_null(st);
	return st;
}

static const casefile_unit_stats_t *
unit_row(const casefile_stats_t *st, const char *unit)
{
	for (size_t i = 0; i < st->n_units; i++)
		if (strcmp(st->units[i].unit, unit) == 0)
			return &st->units[i];
	fail_msg("no row for unit %s", unit);
	return NULL;
}

/* Asserts one unit's row: referrals, receipts n/median/p90, feedbacks n/median/p90 (hours,
 * -1 for none), overdue receipt/feedback, open receipt/feedback. */
static void
assert_unit(const casefile_stats_t *st, const char *unit, uint64_t referrals, uint64_t rn,
    int64_t rmed_h, int64_t rp90_h, uint64_t fn, int64_t fmed_h, int64_t fp90_h,
    uint64_t over_r, uint64_t over_f, uint64_t open_r, uint64_t open_f)
{
	const casefile_unit_stats_t *u = unit_row(st, unit);

	assert_int_equal(u->referrals, referrals);
	assert_int_equal(u->receipt.n, rn);
	assert_int_equal(u->receipt.median_ms, rmed_h < 0 ? CASEFILE_NONE : rmed_h * HOUR);
	assert_int_equal(u->receipt.p90_ms, rp90_h < 0 ? CASEFILE_NONE : rp90_h * HOUR);
	assert_int_equal(u->feedback.n, fn);
	assert_int_equal(u->feedback.median_ms, fmed_h < 0 ? CASEFILE_NONE : fmed_h * HOUR);
	assert_int_equal(u->feedback.p90_ms, fp90_h < 0 ? CASEFILE_NONE : fp90_h * HOUR);
	assert_int_equal(u->overdue_receipt, over_r);
	assert_int_equal(u->overdue_feedback, over_f);
	assert_int_equal(u->open_receipt, open_r);
	assert_int_equal(u->open_feedback, open_f);
	/* Every duty of the period is either answered before its end or open. */
	assert_int_equal(u->receipt.n + u->open_receipt, u->referrals);
	assert_int_equal(u->feedback.n + u->open_feedback, u->referrals);
}

static void
assert_sender(const casefile_stats_t *st, size_t i, const char *unit, Cluebus__Kind kind,
    uint64_t n)
{
	assert_true(i < st->n_senders);
	assert_string_equal(st->senders[i].unit, unit);
	assert_int_equal(st->senders[i].kind, kind);
	assert_int_equal(st->senders[i].n, n);
}

static void
assert_contains(const char *text, const char *needle)
{
	if (strstr(text, needle) == NULL) {
		fprintf(stderr, "missing \"%s\" in:\n%s\n", needle, text);
		fail();
	}
}

/* Renders into *text (caller frees). */
static void
render_timeline(const casefile_timeline_t *tl, char **text)
{
	size_t len = 0;
	FILE *fp = open_memstream(text, &len);

	assert_non_null(fp);
	assert_int_equal(casefile_timeline_print(tl, fp), 0);
	assert_int_equal(fclose(fp), 0);
}

static void
render_stats(const casefile_stats_t *st, char **text)
{
	size_t len = 0;
	FILE *fp = open_memstream(text, &len);

	assert_non_null(fp);
	assert_int_equal(casefile_stats_print(st, fp), 0);
	assert_int_equal(fclose(fp), 0);
}

static casefile_timeline_t *
timeline(struct fixture *f, const char *case_ref)
{
	casefile_timeline_t *tl = NULL;

	assert_int_equal(casefile_case(f->cf, case_ref, &tl), 0);
	assert_non_null(tl);
	return tl;
}

/* ---- percentiles ------------------------------------------------------------------------ */

static void
test_percentiles_are_nearest_rank_over_sorted_values(void **state)
{
	static const int64_t ten[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	static const int64_t five[] = { 1, 2, 3, 4, 10 }, two[] = { 7, 9 }, one[] = { 42 };

	(void)state;
	assert_int_equal(casefile_percentile(ten, 10, 50), 5);	/* index ceil(5)-1 = 4 */
	assert_int_equal(casefile_percentile(ten, 10, 90), 9);	/* index ceil(9)-1 = 8 */
	assert_int_equal(casefile_percentile(ten, 10, 91), 10);	/* index ceil(9.1)-1 = 9 */
	assert_int_equal(casefile_percentile(ten, 10, 100), 10);
	assert_int_equal(casefile_percentile(ten, 10, 1), 1);
	assert_int_equal(casefile_percentile(five, 5, 50), 3);	/* index ceil(2.5)-1 = 2 */
	assert_int_equal(casefile_percentile(five, 5, 90), 10);	/* index ceil(4.5)-1 = 4 */
	assert_int_equal(casefile_percentile(two, 2, 50), 7);	/* the lower middle, no mean */
	assert_int_equal(casefile_percentile(two, 2, 90), 9);
	assert_int_equal(casefile_percentile(one, 1, 50), 42);
	assert_int_equal(casefile_percentile(one, 1, 90), 42);
	assert_int_equal(casefile_percentile(NULL, 0, 50), CASEFILE_NONE);
}

/* ---- statistics ------------------------------------------------------------------------- */

static void
test_the_period_statistics_count_clues_messages_and_each_units_times(void **state)
{
	struct fixture *f = *state;
	casefile_stats_t *st = stats(f, T0 - 4 * HOUR, T0 + 100 * HOUR);

	assert_int_equal(casefile_entries(f->cf), 33);
	assert_int_equal(st->messages, 11);
	assert_int_equal(st->clues, 3);
	assert_int_equal(st->n_categories, 2);
	assert_string_equal(st->categories[0].key, "medical");
	assert_int_equal(st->categories[0].n, 2);
	assert_string_equal(st->categories[1].key, "school");
	assert_int_equal(st->categories[1].n, 1);
	assert_int_equal(st->n_districts, 2);
	assert_string_equal(st->districts[0].key, "210302");
	assert_int_equal(st->districts[0].n, 2);
	assert_string_equal(st->districts[1].key, "210303");
	assert_int_equal(st->districts[1].n, 1);

	assert_int_equal(st->n_senders, 10);
	assert_sender(st, 0, "ato", CLUEBUS__KIND__KIND_REFERRAL, 1);
	assert_sender(st, 1, "broker", CLUEBUS__KIND__KIND_ESCALATION, 1);
	assert_sender(st, 2, "broker", CLUEBUS__KIND__KIND_REGISTRY, 1);
	assert_sender(st, 3, "civil-affairs", CLUEBUS__KIND__KIND_RECEIPT, 1);
	assert_sender(st, 4, "civil-affairs", CLUEBUS__KIND__KIND_FEEDBACK, 1);
	assert_sender(st, 5, "education", CLUEBUS__KIND__KIND_CLUE, 1);
	assert_sender(st, 6, "education", CLUEBUS__KIND__KIND_RECEIPT, 1);
	assert_sender(st, 7, "health", CLUEBUS__KIND__KIND_CLUE, 2);
	assert_sender(st, 8, "psb", CLUEBUS__KIND__KIND_RECEIPT, 1);
	assert_sender(st, 9, "psb", CLUEBUS__KIND__KIND_FEEDBACK, 1);

	/* Only the obliged units: never the office, the districts or the senders of clues. */
	assert_int_equal(st->n_units, 3);
	assert_string_equal(st->units[0].unit, "civil-affairs");
	assert_string_equal(st->units[1].unit, "education");
	assert_string_equal(st->units[2].unit, "psb");
	assert_unit(st, "civil-affairs", 1, 1, 10, 10, 1, 50, 50, 1, 0, 0, 0);
	assert_unit(st, "education", 1, 1, 10, 10, 0, -1, -1, 0, 0, 0, 1);
	assert_unit(st, "psb", 1, 1, 2, 2, 1, 30, 30, 0, 0, 0, 0);
	casefile_stats_free(st);
}

static void
test_median_and_p90_of_several_referrals_to_one_unit_are_nearest_rank(void **state)
{
	struct fixture *f = *state;
	casefile_stats_t *st = stats(f, T1, T1 + 600 * HOUR);

	assert_int_equal(st->messages, 16);
	assert_int_equal(st->n_units, 1);
	assert_unit(st, "psb", 6, 5, 3, 10, 5, 7, 20, 0, 0, 1, 1);
	casefile_stats_free(st);

	/* The whole log: an even count takes the lower middle value. */
	st = stats(f, INT64_MIN, INT64_MAX);
	assert_int_equal(st->messages, 27);
	assert_unit(st, "psb", 7, 6, 2, 10, 6, 7, 30, 0, 0, 1, 1);
	casefile_stats_free(st);
}

static void
test_a_period_filter_leaves_out_entries_outside_from_to(void **state)
{
	struct fixture *f = *state;
	casefile_stats_t *st;

	/* [t0, t0+20h): the clues before and the feedbacks after are outside. */
	st = stats(f, T0, T0 + 20 * HOUR);
	assert_int_equal(st->messages, 4);
	assert_int_equal(st->clues, 0);
	assert_int_equal(st->n_categories, 0);
	assert_int_equal(st->n_districts, 0);
	assert_int_equal(st->n_senders, 4);
	assert_sender(st, 0, "ato", CLUEBUS__KIND__KIND_REFERRAL, 1);
	assert_sender(st, 1, "broker", CLUEBUS__KIND__KIND_ESCALATION, 1);
	assert_sender(st, 2, "civil-affairs", CLUEBUS__KIND__KIND_RECEIPT, 1);
	assert_sender(st, 3, "psb", CLUEBUS__KIND__KIND_RECEIPT, 1);
	assert_int_equal(st->n_units, 2);
	assert_unit(st, "civil-affairs", 1, 1, 10, 10, 0, -1, -1, 1, 0, 0, 1);
	assert_unit(st, "psb", 1, 1, 2, 2, 0, -1, -1, 0, 0, 0, 1);
	casefile_stats_free(st);

	/* [t0+40h, t0+100h): only the duty the transfer created; the escalation is outside. */
	st = stats(f, T0 + 40 * HOUR, T0 + 100 * HOUR);
	assert_int_equal(st->messages, 2);
	assert_int_equal(st->n_units, 1);
	assert_unit(st, "education", 1, 1, 10, 10, 0, -1, -1, 0, 0, 0, 1);
	casefile_stats_free(st);

	/* `to` is excluded: psb's receipt at exactly t0+2h is not in [t0, t0+2h). */
	st = stats(f, T0, T0 + 2 * HOUR);
	assert_int_equal(st->messages, 1);
	assert_unit(st, "psb", 1, 0, -1, -1, 0, -1, -1, 0, 0, 1, 1);
	assert_unit(st, "civil-affairs", 1, 0, -1, -1, 0, -1, -1, 0, 0, 1, 1);
	casefile_stats_free(st);

	/* `from` is included: the referral at exactly t0 is the only message of [t0, t0+1ms). */
	st = stats(f, T0, T0 + 1);
	assert_int_equal(st->messages, 1);
	assert_int_equal(st->senders[0].kind, CLUEBUS__KIND__KIND_REFERRAL);
	casefile_stats_free(st);

	/* Before the referral: clues and the registry record, no duties. */
	st = stats(f, T0 - 4 * HOUR, T0);
	assert_int_equal(st->messages, 4);
	assert_int_equal(st->clues, 3);
	assert_int_equal(st->n_units, 0);
	casefile_stats_free(st);

	/* A period after the log is empty; an empty or reversed period is refused. */
	st = stats(f, T1 + 10000 * HOUR, T1 + 20000 * HOUR);
	assert_int_equal(st->messages, 0);
	assert_int_equal(st->n_senders + st->n_units + st->n_categories + st->n_districts, 0);
	casefile_stats_free(st);
	st = (casefile_stats_t *)&st;
	assert_int_equal(casefile_stats(f->cf, T0, T0, &st), CB_EINVAL);
	assert_null(st);
	assert_int_equal(casefile_stats(f->cf, T0 + 1, T0, &st), CB_EINVAL);
}

static void
test_the_statistics_render_as_aligned_tables_and_as_json(void **state)
{
	struct fixture *f = *state;
	casefile_stats_t *st = stats(f, T0 - 4 * HOUR, T0 + 100 * HOUR);
	json_t *o = casefile_stats_json(st), *u;
	char *text = NULL, *header, *row;

	render_stats(st, &text);

	assert_contains(text, "Period 2026-02-28T20:00:00.000Z to 2026-03-05T04:00:00.000Z");
	assert_contains(text, "11 messages, 3 clues");
	assert_contains(text, "\nmedical       2\nschool        1\n");
	assert_contains(text, "\n210302        2\n210303        1\n");
	/* The duties table: every row as wide as its header, the last column right-aligned. */
	assert_non_null(header = strstr(text, "UNIT           REFERRALS"));
	assert_non_null(row = strstr(header, "\neducation"));
	row++;
	assert_int_equal(strcspn(header, "\n"), strcspn(row, "\n"));
	assert_contains(row, "education              1         1       10h00m    10h00m          0"
	    "          -       -             0           0          0        1\n");
	assert_contains(text, "\npsb                    1         1        2h00m     2h00m "
	    "         1     30h00m  30h00m             0           0          0        0\n");
	free(text);

	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(o, "messages")), 11);
	assert_string_equal(json_string_value(json_object_get(o, "from")),
	    "2026-02-28T20:00:00.000Z");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o,
	    "clues_by_category"), "medical")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o,
	    "clues_by_district"), "210302")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(o,
	    "messages_by_sender"), "health"), "clue")), 2);
	assert_int_equal(json_array_size(json_object_get(o, "units")), 3);
	u = json_array_get(json_object_get(o, "units"), 0);
	assert_string_equal(json_string_value(json_object_get(u, "unit")), "civil-affairs");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(u, "receipt"),
	    "median_ms")), 10 * HOUR);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(u, "overdue"),
	    "receipt")), 1);
	u = json_array_get(json_object_get(o, "units"), 1);
	assert_true(json_is_null(json_object_get(json_object_get(u, "feedback"), "p90_ms")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(u, "open"),
	    "feedback")), 1);
	json_decref(o);
	casefile_stats_free(st);
}

/* ---- the case timeline ------------------------------------------------------------------ */

static void
assert_duty(const casefile_duty_t *d, const char *unit, const char *from, int64_t since,
    int64_t receipt_after_h, int64_t feedback_after_h, Cluebus__FeedbackStatus status)
{
	assert_string_equal(d->unit, unit);
	assert_string_equal(d->transferred_from, from);
	assert_int_equal(d->since_ms, since);
	assert_int_equal(d->receipt_after_ms, receipt_after_h < 0 ? CASEFILE_NONE :
	    receipt_after_h * HOUR);
	assert_int_equal(d->receipt_ms, receipt_after_h < 0 ? CASEFILE_NONE :
	    since + receipt_after_h * HOUR);
	assert_int_equal(d->feedback_after_ms, feedback_after_h < 0 ? CASEFILE_NONE :
	    feedback_after_h * HOUR);
	assert_int_equal(d->first_status, status);
}

static void
test_the_case_timeline_lists_its_messages_in_log_order_with_acks_and_durations(void **state)
{
	static const uint64_t want_seq[] = { 2, 7, 9, 12, 13, 14, 15, 17 };
	static const Cluebus__Kind want_kind[] = { CLUEBUS__KIND__KIND_CLUE,
	    CLUEBUS__KIND__KIND_REFERRAL, CLUEBUS__KIND__KIND_RECEIPT,
	    CLUEBUS__KIND__KIND_ESCALATION, CLUEBUS__KIND__KIND_RECEIPT,
	    CLUEBUS__KIND__KIND_FEEDBACK, CLUEBUS__KIND__KIND_FEEDBACK,
	    CLUEBUS__KIND__KIND_RECEIPT };
	struct fixture *f = *state;
	casefile_timeline_t *tl = timeline(f, CASE_A);
	const casefile_event_t *ev;

	assert_string_equal(tl->case_ref, CASE_A);
	assert_int_equal(tl->as_of_ms, T1 + 500 * HOUR);	/* the last entry of the log */
	assert_int_equal(tl->n_events, 8);
	for (size_t i = 0; i < 8; i++) {
		assert_int_equal(tl->events[i].seq, want_seq[i]);
		assert_int_equal(tl->events[i].kind, want_kind[i]);
	}

	ev = &tl->events[0];				/* C1 */
	assert_int_equal(ev->why, CASEFILE_BY_CASE_REF);
	assert_int_equal(ev->time_ms, T0 - 3 * HOUR);
	assert_string_equal(ev->sender, "health");
	assert_string_equal(ev->message_id, "cacacacacacacaca0000000000000001");
	assert_string_equal(ev->jurisdiction, "210302");
	assert_int_equal(ev->category, CLUEBUS__CATEGORY__CATEGORY_MEDICAL);
	assert_string_equal(ev->summary, "A boy of about ten begging near the railway station");
	assert_int_equal(ev->n_recipients, 3);
	assert_string_equal(ev->recipients[0].unit, "ato");
	assert_int_equal(ev->recipients[0].acked_ms, T0 - 3 * HOUR + MIN);
	assert_string_equal(ev->recipients[1].unit, "psb");
	assert_int_equal(ev->recipients[1].acked_ms, T0 - 1 * HOUR + 2 * MIN);
	assert_string_equal(ev->recipients[2].unit, "ato-210302");
	assert_int_equal(ev->recipients[2].acked_ms, CASEFILE_NONE);
	assert_int_equal(ev->n_duties, 0);

	ev = &tl->events[1];				/* R */
	assert_int_equal(ev->why, CASEFILE_BY_CASE_REF);
	assert_int_equal(ev->refers_to_seq, 2);
	assert_string_equal(ev->case_ref, CASE_A);
	assert_int_equal(ev->n_recipients, 2);
	assert_int_equal(ev->recipients[0].acked_ms, T0 + 5 * MIN);
	assert_int_equal(ev->recipients[1].acked_ms, T0 + 3 * HOUR);
	assert_int_equal(ev->n_duties, 3);
	assert_duty(&ev->duties[0], "psb", "", T0, 2, 30,
	    CLUEBUS__FEEDBACK_STATUS__FEEDBACK_RESOLVED);
	assert_int_equal(ev->duties[0].receipt_due_ms, T0 + 8 * HOUR);
	assert_int_equal(ev->duties[0].feedback_due_ms, T0 + 48 * HOUR);
	assert_int_equal(ev->duties[0].receipt_escalated_ms, CASEFILE_NONE);
	assert_duty(&ev->duties[1], "civil-affairs", "", T0, 10, 50,
	    CLUEBUS__FEEDBACK_STATUS__FEEDBACK_TRANSFERRED);
	assert_int_equal(ev->duties[1].receipt_escalated_ms, T0 + 8 * HOUR);
	assert_int_equal(ev->duties[1].feedback_escalated_ms, CASEFILE_NONE);
	assert_duty(&ev->duties[2], "education", "civil-affairs", T0 + 50 * HOUR, 10, -1,
	    CLUEBUS__FEEDBACK_STATUS__FEEDBACK_UNSPECIFIED);
	assert_int_equal(ev->duties[2].feedback_ms, CASEFILE_NONE);
	assert_int_equal(ev->duties[2].receipt_due_ms, 0);

	ev = &tl->events[2];				/* psb's receipt has no case ref */
	assert_int_equal(ev->why, CASEFILE_BY_REFERS_TO);
	assert_string_equal(ev->case_ref, "");
	assert_int_equal(ev->refers_to_seq, 7);
	assert_int_equal(ev->recipients[0].acked_ms, T0 + 2 * HOUR + 30000);

	ev = &tl->events[3];				/* the escalation */
	assert_int_equal(ev->entry_type, CLUEBUS__ENTRY_TYPE__ENTRY_BROKER);
	assert_string_equal(ev->sender, "broker");
	assert_string_equal(ev->escalated_unit, "civil-affairs");
	assert_int_equal(ev->missed, CLUEBUS__MISSED__MISSED_RECEIPT);
	assert_int_equal(ev->due_ms, T0 + 8 * HOUR);

	ev = &tl->events[6];				/* the transfer */
	assert_int_equal(ev->status, CLUEBUS__FEEDBACK_STATUS__FEEDBACK_TRANSFERRED);
	assert_string_equal(ev->recipients[1].unit, "education");
	assert_int_equal(ev->recipients[1].acked_ms, T0 + 50 * HOUR + 10 * MIN);
	assert_int_equal(ev->recipients[0].acked_ms, CASEFILE_NONE);
	casefile_timeline_free(tl);

	/* The other case has the one clue; the second set's cases their three messages. */
	tl = timeline(f, CASE_B);
	assert_int_equal(tl->n_events, 1);
	assert_int_equal(tl->events[0].seq, 5);
	casefile_timeline_free(tl);
	tl = timeline(f, "AS-2026-0102");
	assert_int_equal(tl->n_events, 3);
	assert_int_equal(tl->events[0].n_duties, 1);
	assert_duty(&tl->events[0].duties[0], "psb", "", T1 + 200 * HOUR, 10, 20,
	    CLUEBUS__FEEDBACK_STATUS__FEEDBACK_RESOLVED);
	casefile_timeline_free(tl);
}

static void
test_the_case_timeline_renders_as_text_and_json(void **state)
{
	struct fixture *f = *state;
	casefile_timeline_t *tl = timeline(f, CASE_A);
	json_t *o = casefile_timeline_json(tl), *ev, *duty;
	char *text = NULL;

	render_timeline(tl, &text);

	assert_contains(text, "case AS-2026-0001: 8 messages, as of 2026-05-02T12:00:00.000Z");
	assert_contains(text, "TIME                      SEQ  RE  KIND        FROM           "
	    "TO (ACKED AFTER)\n");
	assert_contains(text, "2026-02-28T21:00:00.000Z    2      clue        health         "
	    "ato (+1m00s), psb (+2h02m), ato-210302 (not acked)\n");
	assert_contains(text, "2026-03-01T00:00:00.000Z    7   2  referral    ato            "
	    "psb (+5m00s), civil-affairs (+3h00m)\n");
	assert_contains(text, "psb: receipt 2h00m (due 8h00m), feedback 30h00m (resolved, due "
	    "48h00m)\n");
	assert_contains(text, "civil-affairs: receipt 10h00m (due 8h00m, escalated at "
	    "2026-03-01T08:00:00.000Z), feedback 50h00m (transferred, due 48h00m)\n");
	assert_contains(text, "education, transferred from civil-affairs at "
	    "2026-03-03T02:00:00.000Z: receipt 10h00m, feedback open\n");
	assert_contains(text, "civil-affairs missed the receipt due 2026-03-01T08:00:00.000Z\n");
	assert_contains(text, "ato (+30.000s)\n");
	assert_contains(text, "medical, district 210302: \"A boy of about ten");
	assert_contains(text, "status transferred\n");
	free(text);

	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "case_ref")), CASE_A);
	assert_int_equal(json_array_size(json_object_get(o, "events")), 8);
	ev = json_array_get(json_object_get(o, "events"), 1);
	assert_string_equal(json_string_value(json_object_get(ev, "kind")), "referral");
	assert_string_equal(json_string_value(json_object_get(ev, "in_case")), "case_ref");
	assert_int_equal(json_integer_value(json_object_get(ev, "refers_to_seq")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(ev,
	    "recipients"), 0), "ack_after_ms")), 5 * MIN);
	duty = json_array_get(json_object_get(ev, "duties"), 2);
	assert_string_equal(json_string_value(json_object_get(duty, "transferred_from")),
	    "civil-affairs");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(duty, "receipt"),
	    "after_ms")), 10 * HOUR);
	assert_string_equal(json_string_value(json_object_get(json_object_get(duty, "feedback"),
	    "state")), "open");
	duty = json_array_get(json_object_get(ev, "duties"), 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(duty, "receipt"),
	    "escalated")), "2026-03-01T08:00:00.000Z");
	ev = json_array_get(json_object_get(o, "events"), 3);
	assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "escalation"),
	    "missed")), "receipt");
	json_decref(o);
	casefile_timeline_free(tl);
}

static void
test_an_unknown_case_ref_gives_an_empty_timeline(void **state)
{
	struct fixture *f = *state;
	casefile_timeline_t *tl = timeline(f, "NO-SUCH-CASE");
	json_t *o = casefile_timeline_json(tl);
	char *text = NULL;

	render_timeline(tl, &text);

	assert_int_equal(tl->n_events, 0);
	assert_null(tl->events);
	assert_contains(text, "case NO-SUCH-CASE: no messages in the log");
	assert_int_equal(json_array_size(json_object_get(o, "events")), 0);
	json_decref(o);
	free(text);
	casefile_timeline_free(tl);
	/* A unit id or a district code is not a case ref. */
	tl = timeline(f, "psb");
	assert_int_equal(tl->n_events, 0);
	casefile_timeline_free(tl);
	tl = timeline(f, "210302");
	assert_int_equal(tl->n_events, 0);
	casefile_timeline_free(tl);
	tl = (casefile_timeline_t *)&tl;
	assert_int_equal(casefile_case(f->cf, "", &tl), CB_EINVAL);
	assert_null(tl);
}

/* ---- petitions, supervision, context ---------------------------------------------------- */

static void
test_a_petition_clue_obliges_its_member_units_but_not_the_offices(void **state)
{
	static const char *const to_petition[] = { "ato", "psb", "political-legal", "ato-210303",
	    "city-office", NULL };
	static const char *const political_legal[] = { "political-legal", NULL };
	struct fixture *f = *state;
	casefile_timeline_t *tl;
	casefile_stats_t *st;
	const casefile_duty_t *d;

	begin(f);
	/* Roles from the log's registry; psb has none there and is judged by its id. */
	put_registry(f, T0 - HOUR, 100, "political-legal", "member");
	put_registry(f, T0 - HOUR, 101, "city-office", "office");
	put_clue(f, T0, 1, "petitions", CLUEBUS__CATEGORY__CATEGORY_PETITION, "210303", "PT-1",
	    "Letter from a mother looking for her daughter", to_petition);
	put_receipt(f, T0 + 1 * HOUR, 2, "psb", 1);
	put_supervision(f, T0 + 2 * HOUR, 3, 1, political_legal, 0, T0 + 24 * HOUR);
	put_feedback(f, T0 + 3 * HOUR, 4, "political-legal", 1,
	    CLUEBUS__FEEDBACK_STATUS__FEEDBACK_IN_PROGRESS, NULL);
	put_feedback(f, T0 + 5 * HOUR, 5, "political-legal", 1,
	    CLUEBUS__FEEDBACK_STATUS__FEEDBACK_RESOLVED, NULL);
	put_receipt(f, T0 + 9 * HOUR, 6, "psb", 1);	/* a second receipt changes nothing */
	put_receipt(f, T0 + 9 * HOUR, 7, "education", 1);	/* not obliged: ignored */
	commit(f);
	build(f);

	tl = timeline(f, "PT-1");
	assert_int_equal(tl->n_events, 7);
	assert_int_equal(tl->events[0].seq, 3);
	assert_int_equal(tl->events[0].n_duties, 2);
	d = &tl->events[0].duties[0];
	assert_duty(d, "psb", "", T0, 1, -1, CLUEBUS__FEEDBACK_STATUS__FEEDBACK_UNSPECIFIED);
	assert_int_equal(d->feedback_due_ms, 0);
	d = &tl->events[0].duties[1];
	/* The first feedback is also the receipt, and the first status counts. */
	assert_duty(d, "political-legal", "", T0, 3, 3,
	    CLUEBUS__FEEDBACK_STATUS__FEEDBACK_IN_PROGRESS);
	assert_int_equal(d->last_status, CLUEBUS__FEEDBACK_STATUS__FEEDBACK_RESOLVED);
	assert_int_equal(d->feedback_due_ms, T0 + 24 * HOUR);	/* set by the supervision */
	assert_int_equal(d->receipt_due_ms, 0);
	casefile_timeline_free(tl);

	st = stats(f, T0, T0 + 100 * HOUR);
	assert_int_equal(st->n_units, 2);
	assert_unit(st, "political-legal", 1, 1, 3, 3, 1, 3, 3, 0, 0, 0, 0);
	assert_unit(st, "psb", 1, 1, 1, 1, 0, -1, -1, 0, 0, 0, 1);
	assert_int_equal(st->n_categories, 1);
	assert_string_equal(st->categories[0].key, "petition");
	casefile_stats_free(st);
}

static void
test_a_clue_without_case_ref_is_in_the_case_of_the_referral_that_hands_it_on(void **state)
{
	struct fixture *f = *state;
	casefile_timeline_t *tl;
	char *text;

	begin(f);
	put_clue(f, T0, 1, "health", CLUEBUS__CATEGORY__CATEGORY_MEDICAL, "210302", NULL,
	    "Newborn handed over at a clinic", TO_C1);
	put_clue(f, T0 + HOUR, 2, "health", CLUEBUS__CATEGORY__CATEGORY_MEDICAL, "210302", NULL,
	    "Unrelated", TO_C1);
	put_referral(f, T0 + 2 * HOUR, 3, "AS-9", 1, TO_PSB, 0, 0);
	put_feedback(f, T0 + 3 * HOUR, 4, "psb", 3, CLUEBUS__FEEDBACK_STATUS__FEEDBACK_ACCEPTED,
	    NULL);
	put_referral(f, T0 + 4 * HOUR, 5, "AS-10", 1, TO_PSB, 0, 0);	/* another case */
	commit(f);
	build(f);

	tl = timeline(f, "AS-9");
	assert_int_equal(tl->n_events, 3);
	assert_int_equal(tl->events[0].seq, 1);
	assert_int_equal(tl->events[0].why, CASEFILE_REFERRED);
	assert_int_equal(tl->events[1].why, CASEFILE_BY_CASE_REF);
	assert_int_equal(tl->events[2].why, CASEFILE_BY_REFERS_TO);
	assert_duty(&tl->events[1].duties[0], "psb", "", T0 + 2 * HOUR, 1, 1,
	    CLUEBUS__FEEDBACK_STATUS__FEEDBACK_ACCEPTED);
	render_timeline(tl, &text);
	assert_contains(text, "(not in the case itself: a message of the case refers to it)");
	free(text);
	casefile_timeline_free(tl);
}

static void
test_an_open_duty_with_an_escalation_shows_as_overdue(void **state)
{
	struct fixture *f = *state;
	casefile_timeline_t *tl;
	casefile_stats_t *st;
	char *text;

	begin(f);
	put_referral(f, T0, 1, "AS-7", 0, TO_PSB, T0 + HOUR, T0 + 2 * HOUR);
	put_escalation(f, T0 + HOUR, 2, "AS-7", 1, "psb", CLUEBUS__MISSED__MISSED_RECEIPT,
	    T0 + HOUR);
	put_escalation(f, T0 + 2 * HOUR, 3, "AS-7", 1, "psb", CLUEBUS__MISSED__MISSED_FEEDBACK,
	    T0 + 2 * HOUR);
	commit(f);
	build(f);

	tl = timeline(f, "AS-7");
	render_timeline(tl, &text);
	assert_contains(text, "psb: receipt overdue (due 1h00m, escalated at "
	    "2026-03-01T01:00:00.000Z), feedback overdue (due 2h00m, escalated at "
	    "2026-03-01T02:00:00.000Z)\n");
	free(text);
	casefile_timeline_free(tl);
	st = stats(f, T0, T0 + 3 * HOUR);
	assert_unit(st, "psb", 1, 0, -1, -1, 0, -1, -1, 1, 1, 1, 1);
	casefile_stats_free(st);
	/* The escalations alone, without the referral's start in the period. */
	st = stats(f, T0 + 1, T0 + 3 * HOUR);
	assert_unit(st, "psb", 0, 0, -1, -1, 0, -1, -1, 1, 1, 0, 0);
	casefile_stats_free(st);
}

static void
test_duties_follow_the_brokers_rules_for_supervision_and_transfer(void **state)
{
	static const char *const to_units[] = { "psb", "civil-affairs", "ato", NULL };
	static const char *const all[] = { NULL };
	static const char *const both[] = { "psb", "civil-affairs", NULL };
	static const char *const to_psb_education[] = { "psb", "education", NULL };
	static const char *const to_psb_only[] = { "psb", NULL };
	struct fixture *f = *state;
	const casefile_event_t *ev;
	casefile_timeline_t *tl;
	casefile_stats_t *st;

	begin(f);
	/* The office names itself too: a referral never obliges its own sender. */
	put_referral(f, T0, 1, "SV-1", 0, to_units, T0 + 4 * HOUR, T0 + 48 * HOUR);
	/* Tightens the feedback due of both; the later receipt due is ignored. */
	put_supervision(f, T0 + 1 * HOUR, 2, 1, all, T0 + 6 * HOUR, T0 + 24 * HOUR);
	put_receipt(f, T0 + 2 * HOUR, 3, "psb", 1);
	put_escalation(f, T0 + 4 * HOUR, 4, "SV-1", 1, "civil-affairs",
	    CLUEBUS__MISSED__MISSED_RECEIPT, T0 + 4 * HOUR);
	/* psb's receipt is done (unchanged); civil-affairs' was escalated (a later due is
	 * set); a later feedback due without escalation is ignored. */
	put_supervision(f, T0 + 5 * HOUR, 5, 1, both, T0 + 8 * HOUR, T0 + 30 * HOUR);
	put_feedback(f, T0 + 6 * HOUR, 6, "psb", 1, CLUEBUS__FEEDBACK_STATUS__FEEDBACK_IN_PROGRESS,
	    NULL);
	/* psb's duty is still open (in progress): only education gets a new one. */
	put_feedback(f, T0 + 7 * HOUR, 7, "civil-affairs", 1,
	    CLUEBUS__FEEDBACK_STATUS__FEEDBACK_TRANSFERRED, to_psb_education);
	put_feedback(f, T0 + 8 * HOUR, 8, "psb", 1, CLUEBUS__FEEDBACK_STATUS__FEEDBACK_RESOLVED,
	    NULL);
	/* Now psb's duty is closed: a transfer back opens a second one. */
	put_feedback(f, T0 + 9 * HOUR, 9, "education", 1,
	    CLUEBUS__FEEDBACK_STATUS__FEEDBACK_TRANSFERRED, to_psb_only);
	commit(f);
	build(f);

	tl = timeline(f, "SV-1");
	assert_int_equal(tl->n_events, 9);
	ev = &tl->events[0];
	assert_int_equal(ev->n_duties, 4);
	assert_duty(&ev->duties[0], "psb", "", T0, 2, 6,
	    CLUEBUS__FEEDBACK_STATUS__FEEDBACK_IN_PROGRESS);
	assert_int_equal(ev->duties[0].last_status, CLUEBUS__FEEDBACK_STATUS__FEEDBACK_RESOLVED);
	assert_int_equal(ev->duties[0].receipt_due_ms, T0 + 4 * HOUR);
	assert_int_equal(ev->duties[0].feedback_due_ms, T0 + 24 * HOUR);
	assert_duty(&ev->duties[1], "civil-affairs", "", T0, 7, 7,
	    CLUEBUS__FEEDBACK_STATUS__FEEDBACK_TRANSFERRED);
	assert_int_equal(ev->duties[1].receipt_due_ms, T0 + 8 * HOUR);
	assert_int_equal(ev->duties[1].feedback_due_ms, T0 + 24 * HOUR);
	assert_int_equal(ev->duties[1].receipt_escalated_ms, T0 + 4 * HOUR);
	assert_duty(&ev->duties[2], "education", "civil-affairs", T0 + 7 * HOUR, 2, 2,
	    CLUEBUS__FEEDBACK_STATUS__FEEDBACK_TRANSFERRED);
	assert_duty(&ev->duties[3], "psb", "education", T0 + 9 * HOUR, -1, -1,
	    CLUEBUS__FEEDBACK_STATUS__FEEDBACK_UNSPECIFIED);
	casefile_timeline_free(tl);

	st = stats(f, T0, T0 + 100 * HOUR);
	assert_int_equal(st->n_units, 3);	/* never ato */
	assert_unit(st, "civil-affairs", 1, 1, 7, 7, 1, 7, 7, 1, 0, 0, 0);
	assert_unit(st, "education", 1, 1, 2, 2, 1, 2, 2, 0, 0, 0, 0);
	assert_unit(st, "psb", 2, 1, 2, 2, 1, 6, 6, 0, 0, 1, 1);
	casefile_stats_free(st);
}

static void
test_an_escalation_states_a_due_time_the_referral_left_to_the_default(void **state)
{
	struct fixture *f = *state;
	casefile_timeline_t *tl;

	begin(f);
	put_referral(f, T0, 1, "AS-8", 0, TO_PSB, 0, 0);
	put_escalation(f, T0 + 24 * HOUR, 2, "AS-8", 1, "psb", CLUEBUS__MISSED__MISSED_RECEIPT,
	    T0 + 24 * HOUR);
	commit(f);
	build(f);
	tl = timeline(f, "AS-8");
	assert_int_equal(tl->events[0].duties[0].receipt_due_ms, T0 + 24 * HOUR);
	assert_int_equal(tl->events[0].duties[0].feedback_due_ms, 0);
	casefile_timeline_free(tl);
}

/* ---- empty and damaged stores ----------------------------------------------------------- */

static void
test_an_empty_store_gives_empty_views(void **state)
{
	struct fixture *f = *state;
	casefile_timeline_t *tl;
	casefile_stats_t *st;

	build(f);
	assert_int_equal(casefile_entries(f->cf), 0);
	assert_int_equal(casefile_last_ms(f->cf), CASEFILE_NONE);
	tl = timeline(f, CASE_A);
	assert_int_equal(tl->n_events, 0);
	casefile_timeline_free(tl);
	st = stats(f, INT64_MIN, INT64_MAX);
	assert_int_equal(st->messages, 0);
	assert_int_equal(st->n_units, 0);
	casefile_stats_free(st);
}

/* Lets `fn` change log[seq] of the closed store in `dir` directly through LMDB. */
static void
tamper(const char *dir, uint64_t seq, void (*fn)(MDB_val *v, uint8_t *copy))
{
	uint8_t key[8], *copy;
	MDB_val k = { 8, key }, v;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	be64_put(key, seq);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "log", 0, &dbi), 0);
	assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
	assert_non_null(copy = malloc(v.mv_size + 64));
	memcpy(copy, v.mv_data, v.mv_size);
	fn(&v, copy);
	if (v.mv_data == NULL)
		assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
	else
		assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	free(copy);
}

/* One letter of the "Pupil absent" summary changes; the recorded hash stays. */
static void
flip_summary_letter(MDB_val *v, uint8_t *copy)
{
	for (size_t i = CHAIN_HASH_LEN; i + 5 <= v->mv_size; i++)
		if (memcmp(copy + i, "Pupil", 5) == 0) {
			copy[i] = 'Q';
			v->mv_data = copy;
			return;
		}
	fail_msg("no summary found");
}

/* A recorded hash followed by bytes that are not a LogEntry. */
static void
replace_with_garbage(MDB_val *v, uint8_t *copy)
{
	memset(copy + CHAIN_HASH_LEN, 0xff, 16);
	v->mv_size = CHAIN_HASH_LEN + 16;
	v->mv_data = copy;
}

static void
delete_entry(MDB_val *v, uint8_t *copy)
{
	(void)copy;
	v->mv_data = NULL;
}

static void
assert_build_fails(struct fixture *f, void (*fn)(MDB_val *, uint8_t *), uint64_t seq,
    const char *reason)
{
	casefile_error_t err;
	casefile_t *cf = (casefile_t *)&err;

	store_close(f->s);
	f->s = NULL;
	tamper(f->dir, seq, fn);
	assert_int_equal(store_open(f->dir, STORE_RDONLY, 0, &f->s), 0);
	assert_int_equal(casefile_build(f->s, &cf, &err), CB_ECORRUPT);
	assert_null(cf);
	assert_int_equal(err.seq, seq);
	if (strstr(err.reason, reason) == NULL)
		fail_msg("reason \"%s\", wanted \"%s\"", err.reason, reason);
	/* Without an error struct it fails the same way. */
	assert_int_equal(casefile_build(f->s, &cf, NULL), CB_ECORRUPT);
	assert_null(cf);
}

static void
test_a_store_with_a_changed_entry_fails_the_build_naming_the_entry(void **state)
{
	assert_build_fails(*state, flip_summary_letter, 5,
	    "entry bytes do not match its recorded hash");
}

static void
test_a_store_with_an_entry_that_does_not_decode_fails_the_build(void **state)
{
	assert_build_fails(*state, replace_with_garbage, 5, "entry does not decode");
}

static void
test_a_store_with_a_missing_entry_fails_the_build_at_the_gap(void **state)
{
	assert_build_fails(*state, delete_entry, 5, "sequence gap");
}

static void
test_a_logged_envelope_that_does_not_parse_fails_the_build(void **state)
{
	static uint8_t junk[] = "not a serialized message";
	struct fixture *f = *state;
	Cluebus__LogEntry e = CLUEBUS__LOG_ENTRY__INIT;
	Cluebus__Envelope env = CLUEBUS__ENVELOPE__INIT;
	uint8_t h[CHAIN_HASH_LEN], sig[KEY_SIG_LEN] = { 0 };
	casefile_error_t err;
	casefile_t *cf = NULL;

	begin(f);
	put_clue(f, T0, 1, "health", CLUEBUS__CATEGORY__CATEGORY_MEDICAL, "210302", NULL, "ok",
	    TO_C1);
	env.signed_.data = junk;
	env.signed_.len = sizeof(junk) - 1;
	env.signature.data = sig;
	env.signature.len = sizeof(sig);
	env.sender = "health";
	env.key_id.data = (uint8_t *)key_id(f->unit_key);
	env.key_id.len = KEY_ID_LEN;
	e.time_ms = T0 + 1;
	e.type = CLUEBUS__ENTRY_TYPE__ENTRY_MESSAGE;
	e.envelope = &env;
	assert_int_equal(store_txn_append(f->txn, &e, NULL, 0, h), 0);
	e.envelope = NULL;	/* a message entry with no envelope at all */
	e.time_ms = T0 + 2;
	assert_int_equal(store_txn_append(f->txn, &e, NULL, 0, h), 0);
	commit(f);
	assert_int_equal(casefile_build(f->s, &cf, &err), CB_ECORRUPT);
	assert_null(cf);
	assert_int_equal(err.seq, 2);
	assert_non_null(strstr(err.reason, "message does not parse"));
}

int
main(void)
{
#define M(fn)	cmocka_unit_test_setup_teardown(fn, setup_main, teardown)
#define E(fn)	cmocka_unit_test_setup_teardown(fn, setup_empty, teardown)
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percentiles_are_nearest_rank_over_sorted_values),
		M(test_the_period_statistics_count_clues_messages_and_each_units_times),
		M(test_median_and_p90_of_several_referrals_to_one_unit_are_nearest_rank),
		M(test_a_period_filter_leaves_out_entries_outside_from_to),
		M(test_the_statistics_render_as_aligned_tables_and_as_json),
		M(test_the_case_timeline_lists_its_messages_in_log_order_with_acks_and_durations),
		M(test_the_case_timeline_renders_as_text_and_json),
		M(test_an_unknown_case_ref_gives_an_empty_timeline),
		E(test_a_petition_clue_obliges_its_member_units_but_not_the_offices),
		E(test_a_clue_without_case_ref_is_in_the_case_of_the_referral_that_hands_it_on),
		E(test_an_open_duty_with_an_escalation_shows_as_overdue),
		E(test_duties_follow_the_brokers_rules_for_supervision_and_transfer),
		E(test_an_escalation_states_a_due_time_the_referral_left_to_the_default),
		E(test_an_empty_store_gives_empty_views),
		M(test_a_store_with_a_changed_entry_fails_the_build_naming_the_entry),
		M(test_a_store_with_an_entry_that_does_not_decode_fails_the_build),
		M(test_a_store_with_a_missing_entry_fails_the_build_at_the_gap),
		E(test_a_logged_envelope_that_does_not_parse_fails_the_build),
	};
#undef M
#undef E

	return cmocka_run_group_tests_name("casefile", tests, NULL, NULL);
}

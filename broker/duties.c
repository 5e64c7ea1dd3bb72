/* broker/duties.c — report duties: follow-ups on referrals (seed Art 26) and the calendar's
 * periodic reports (Art 7 situation analyses, Art 38 self-evaluations).
 *
 * A duty is one unit's debt of one report for one period: a follow-up report (回访,
 * 跟踪帮助) on a referral for each interval a referral asks for, or a situation analysis /
 * self-evaluation for each half-year or year the broker config's `duties.calendar` names.
 * It is met by a `report` of its type from its unit (a follow-up report's refers_to names
 * the referral): the report meets the earliest unmet duty whose period has started (and,
 * when the report states its period_from, whose period holds it). When
 * its due time passes unmet, the broker logs one escalation to the office the report is
 * owed to, the city office and the unit itself (a reminder).
 *
 * Everything lives in the store's `duties` database, written in the same transaction as
 * the log entry that changed it (a referral, a report, an escalation), or as the period's
 * opening:
 *
 *   'd' type unit 0 referral-id(16, zeros for the calendar) be64(period_from) -> Duty
 *   't' be64(due) <duty key>                                     -> ""  (pending due times)
 *   'c' calendar-entry-name                                      -> be64(last opened period)
 *
 * Invariants: (1) a duty's key is fixed by what it is owed for, so opening one twice is a
 * no-op; (2) a pending due time exists only for a duty neither met nor escalated, and is
 * deleted in the transaction that meets or escalates it: one escalation per duty, also when
 * the broker was down at the due time; (3) the calendar marker advances in the transaction
 * that opens the period's duties, so a period is opened once, and periods that started
 * while the broker was down are opened (and, when already due, escalated) at restart.
 * The first start opens the current period only, and none whose due time has passed: a
 * deployment owes nothing for a due time before it existed.
 *
 *   OPEN --report--> MET
 *     |  \
 *     |   +--transfer (follow-ups)--> TRANSFERRED (the same period opens for each new unit)
 *     +--due passes--> ESCALATED --report--> MET (late)
 *
 * A transfer (feedback `transferred`) hands the sender's open, unescalated follow-ups on
 * the referral to the units it names: the follow-up goes with the case (跟踪帮助 passes
 * from 民政局 to 教育局 with the schooling). */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "calendar.h"
#include "duties.h"
#include "log.h"
#include "route.h"
#include "unpack.h"
#include "util.h"

#define K_DUTY		'd'
#define K_DUE		't'
#define K_CAL		'c'
#define DUTY_PREFIX_MAX	(2 + CB_UNIT_ID_MAX + 1 + MESSAGE_ID_LEN)
#define DUTY_KEY_MAX	(DUTY_PREFIX_MAX + 8)
#define DUE_KEY_MAX	(1 + 8 + DUTY_KEY_MAX)
#define TICK_MAX	64	/* escalations per round */
#define CATCHUP_MAX	4	/* calendar periods opened per entry and round */

static const uint8_t no_referral[MESSAGE_ID_LEN];

/* The key prefix of `unit`'s duties of type `t` on referral `rid` (NULL: the calendar's). */
static size_t
duty_prefix(uint8_t *out, Cluebus__ReportType t, const char *unit, const uint8_t *rid)
{
	size_t ulen = strlen(unit);

	out[0] = K_DUTY;
	out[1] = (uint8_t)t;
	memcpy(out + 2, unit, ulen);
	out[2 + ulen] = 0;
	memcpy(out + 3 + ulen, rid != NULL ? rid : no_referral, MESSAGE_ID_LEN);
	return 3 + ulen + MESSAGE_ID_LEN;
}

static size_t
duty_key(uint8_t *out, const Cluebus__Duty *d)
{
	size_t n = duty_prefix(out, d->report, d->unit,
	    d->referral_id.len == MESSAGE_ID_LEN ? d->referral_id.data : NULL);

	be64_put(out + n, (uint64_t)d->period_from_ms);
	return n + 8;
}

static size_t
due_key(uint8_t *out, int64_t due, const uint8_t *dkey, size_t dlen)
{
	out[0] = K_DUE;
	be64_put(out + 1, (uint64_t)due);
	memcpy(out + 9, dkey, dlen);
	return 9 + dlen;
}

static int
duty_decode(const uint8_t *val, size_t vlen, Cluebus__Duty **d)
{
	ProtobufCMessage *m;
	int rc;

	if ((rc = unpack_stored(&cluebus__duty__descriptor, val, vlen, &m)) != 0)
		return rc;
	*d = (Cluebus__Duty *)m;
	return 0;
}

static int
duty_put(struct broker *b, const Cluebus__Duty *d)
{
	uint8_t key[DUTY_KEY_MAX], *buf;
	size_t len = cluebus__duty__get_packed_size(d);
	int rc;

	if ((buf = malloc(len > 0 ? len : 1)) == NULL)
		return CB_ENOMEM;
	cluebus__duty__pack(d, buf);
	rc = store_txn_aux_put(b->txn, STORE_DUTIES, key, duty_key(key, d), buf, len);
	free(buf);
	return rc;
}

/* Moves `d`'s pending due time: adds it (`add`) or deletes it. */
static int
duty_due(struct broker *b, const Cluebus__Duty *d, int add)
{
	uint8_t dkey[DUTY_KEY_MAX], key[DUE_KEY_MAX];
	size_t dlen = duty_key(dkey, d), klen = due_key(key, d->due_ms, dkey, dlen);

	if (add)
		return store_txn_aux_put(b->txn, STORE_DUTIES, key, klen, "", 0);
	return store_txn_aux_del(b->txn, STORE_DUTIES, key, klen);
}

/* Opens `d` unless a duty with its key exists. */
static int
duty_open(struct broker *b, const Cluebus__Duty *d)
{
	uint8_t key[DUTY_KEY_MAX];
	const uint8_t *val;
	size_t vlen;
	int rc;

	rc = store_txn_aux_get(b->txn, STORE_DUTIES, key, duty_key(key, d), &val, &vlen);
	if (rc != CB_ENOTFOUND)
		return rc;	/* 0: opened before (invariant 1) */
	if ((rc = duty_put(b, d)) != 0 || (rc = duty_due(b, d, 1)) != 0)
		return rc;
	log_info("duty: %s owes %s (%s) to %s, due %lld", d->unit,
	    calendar_report_name(d->report), d->name, d->owed_to, (long long)d->due_ms);
	return 0;
}

/* ---- finding the duty a report meets ---- */

struct duty_find {
	int64_t		 now;
	int64_t		 at;		/* the report's period_from (0: not given) */
	size_t		 seen;		/* duties under the prefix */
	char		 owed_to[CB_UNIT_ID_SIZE];	/* of the first one seen */
	Cluebus__Duty	*open;		/* the earliest unmet one whose period started */
	int		 rc;
};

static int
duty_find_one(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct duty_find *f = arg;
	Cluebus__Duty *d;

	(void)key, (void)klen;
	if ((f->rc = duty_decode(val, vlen, &d)) != 0)
		return f->rc;
	if (f->seen++ == 0)
		snprintf(f->owed_to, sizeof(f->owed_to), "%s", d->owed_to);
	if (d->met_ms == 0 && d->transferred_to[0] == '\0' && d->period_from_ms <= f->now &&
	    (f->at == 0 || (d->period_from_ms <= f->at && f->at < d->period_to_ms))) {
		f->open = d;
		return 1;
	}
	cluebus__duty__free_unpacked(d, NULL);
	return 0;
}

/* The duty a report `m` would meet, in the round's transaction. */
static int
duty_find(struct broker *b, const Cluebus__Message *m, int64_t now, struct duty_find *f)
{
	uint8_t prefix[DUTY_PREFIX_MAX];
	const uint8_t *rid = NULL;
	size_t plen;
	int rc;

	memset(f, 0, sizeof(*f));
	f->now = now;
	f->at = m->report->period_from_ms;
	if (!unit_id_valid(m->sender))
		return 0;
	if (m->report->type == CLUEBUS__REPORT_TYPE__REPORT_FOLLOW_UP) {
		if (m->refers_to.len != MESSAGE_ID_LEN)
			return 0;
		rid = m->refers_to.data;
	}
	plen = duty_prefix(prefix, m->report->type, m->sender, rid);
	rc = store_txn_aux_walk(b->txn, STORE_DUTIES, prefix, plen, plen, duty_find_one, f);
	if (rc == 1)
		rc = 0;
	return rc != 0 ? rc : f->rc;
}

static int
report_is_duty(const Cluebus__Message *m)
{
	if (m->body_case != CLUEBUS__MESSAGE__BODY_REPORT)
		return 0;
	switch (m->report->type) {
	case CLUEBUS__REPORT_TYPE__REPORT_FOLLOW_UP:
	case CLUEBUS__REPORT_TYPE__REPORT_SITUATION_ANALYSIS:
	case CLUEBUS__REPORT_TYPE__REPORT_SELF_EVALUATION:
		return 1;
	default:
		return 0;
	}
}

int
duties_check(struct broker *b, const Cluebus__Message *m, route_result_t *res,
    struct verdict *v)
{
	struct duty_find f;
	int rc;

	if (!report_is_duty(m))
		return 0;
	if (m->report->type != CLUEBUS__REPORT_TYPE__REPORT_FOLLOW_UP) {
		route_add_report_office(b->cfg.route, b->reg, m, res);
		return 0;
	}
	if ((rc = duty_find(b, m, broker_clock_ms(), &f)) != 0)
		return rc;
	if (f.open != NULL)
		cluebus__duty__free_unpacked(f.open, NULL);
	if (f.seen == 0)
		return reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY,
		    "refers_to", "no follow-up duty of this unit on that referral");
	route_add(res, f.owed_to, m->sender);
	return 0;
}

/* ---- opening and meeting duties ---- */

struct duty_list {
	Cluebus__Duty	*d[DUTIES_FOLLOW_UPS_MAX];
	size_t		 n;
	int		 rc;
};

static int
duty_collect_open(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct duty_list *l = arg;
	Cluebus__Duty *d;

	(void)key, (void)klen;
	if (l->n >= DUTIES_FOLLOW_UPS_MAX)
		return 1;
	if ((l->rc = duty_decode(val, vlen, &d)) != 0)
		return l->rc;
	if (d->met_ms == 0 && !d->escalated && d->transferred_to[0] == '\0')
		l->d[l->n++] = d;
	else
		cluebus__duty__free_unpacked(d, NULL);
	return 0;
}

/* A transfer: the sender's open follow-ups on the referral go to the units it names. */
static int
duties_on_transfer(struct broker *b, const Cluebus__Message *m)
{
	const Cluebus__Feedback *f = m->feedback;
	struct duty_list l = { .n = 0, .rc = 0 };
	uint8_t prefix[DUTY_PREFIX_MAX];
	size_t plen;
	int rc;

	if (f->status != CLUEBUS__FEEDBACK_STATUS__FEEDBACK_TRANSFERRED ||
	    m->refers_to.len != MESSAGE_ID_LEN || f->n_transferred_to == 0 ||
	    !unit_id_valid(m->sender))
		return 0;
	for (size_t k = 0; k < f->n_transferred_to; k++)
		if (strcmp(f->transferred_to[k], m->sender) == 0)
			return 0;	/* it keeps a part: its follow-ups stay with it */
	plen = duty_prefix(prefix, CLUEBUS__REPORT_TYPE__REPORT_FOLLOW_UP, m->sender,
	    m->refers_to.data);
	rc = store_txn_aux_walk(b->txn, STORE_DUTIES, prefix, plen, plen, duty_collect_open, &l);
	if (rc == 1 || rc == 0)
		rc = l.rc;
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		Cluebus__Duty *d = l.d[i];
		char *from = d->unit, *to = d->transferred_to;
		Cluebus__Action action = d->action;

		d->transferred_to = f->transferred_to[0];
		if ((rc = duty_due(b, d, 0)) != 0 || (rc = duty_put(b, d)) != 0)
			goto restore;
		if (f->action != 0)
			d->action = f->action;
		d->transferred_to = (char *)"";
		for (size_t k = 0; rc == 0 && k < f->n_transferred_to; k++) {
			d->unit = f->transferred_to[k];
			rc = duty_open(b, d);
		}
		d->action = action;
restore:
		d->unit = from;		/* owned by the unpacked record */
		d->transferred_to = to;
	}
	for (size_t i = 0; i < l.n; i++)
		cluebus__duty__free_unpacked(l.d[i], NULL);
	return rc;
}

/* A referral asking for follow-ups: one duty per named unit and whole period. */
static int
duties_on_referral(struct broker *b, const Cluebus__Message *m, int64_t now)
{
	const Cluebus__Referral *r = m->referral;
	int64_t base = r->follow_up_from_ms != 0 ? r->follow_up_from_ms : now;
	Cluebus__Duty d = CLUEBUS__DUTY__INIT;
	int rc;

	if (r->follow_up_every_ms <= 0)
		return 0;
	d.report = CLUEBUS__REPORT_TYPE__REPORT_FOLLOW_UP;
	d.owed_to = m->sender;
	d.name = (char *)"follow_up";
	d.referral_id = m->message_id;
	d.case_ref = m->case_ref;
	d.created_ms = now;
	d.action = r->action;
	for (size_t i = 0; i < r->n_to_units; i++) {
		if (strcmp(r->to_units[i], m->sender) == 0 || !unit_id_valid(r->to_units[i]))
			continue;
		d.unit = r->to_units[i];
		for (int k = 0; k < DUTIES_FOLLOW_UPS_MAX; k++) {
			d.period_from_ms = base + k * r->follow_up_every_ms;
			d.period_to_ms = d.period_from_ms + r->follow_up_every_ms;
			d.due_ms = d.period_to_ms;
			if (d.period_to_ms > r->follow_up_until_ms)
				break;
			if ((rc = duty_open(b, &d)) != 0)
				return rc;
		}
	}
	return 0;
}

static int
duties_on_report(struct broker *b, const Cluebus__Message *m, int64_t now)
{
	struct duty_find f;
	char mid[MESSAGE_ID_LEN * 2 + 1];
	int rc;

	if ((rc = duty_find(b, m, now, &f)) != 0 || f.open == NULL)
		return rc;
	if (!f.open->escalated)
		rc = duty_due(b, f.open, 0);
	f.open->met_ms = now;
	f.open->met_by = m->message_id;
	if (rc == 0)
		rc = duty_put(b, f.open);
	hex_encode(m->message_id.data, MESSAGE_ID_LEN, mid);
	log_info("duty: report %s from %s meets its %s (%s) of period %lld%s", mid, m->sender,
	    calendar_report_name(f.open->report), f.open->name,
	    (long long)f.open->period_from_ms, f.open->escalated ? ", late" : "");
	f.open->met_by.data = NULL;	/* borrowed from m */
	f.open->met_by.len = 0;
	cluebus__duty__free_unpacked(f.open, NULL);
	return rc;
}

int
duties_apply(struct broker *b, const Cluebus__Message *m, int64_t now)
{
	if (m->body_case == CLUEBUS__MESSAGE__BODY_REFERRAL)
		return duties_on_referral(b, m, now);
	if (m->body_case == CLUEBUS__MESSAGE__BODY_FEEDBACK)
		return duties_on_transfer(b, m);
	if (report_is_duty(m))
		return duties_on_report(b, m, now);
	return 0;
}

/* ---- the calendar ---- */

static int
calendar_open_period(struct broker *b, const calendar_entry_t *e, int64_t from, int64_t to,
    int64_t due, int64_t now)
{
	Cluebus__Duty d = CLUEBUS__DUTY__INIT;
	int rc;

	d.report = e->report;
	d.name = (char *)e->name;
	d.period_from_ms = from;
	d.period_to_ms = to;
	d.due_ms = due;
	d.created_ms = now;
	for (size_t i = 0; i < registry_count(b->reg); i++) {
		const reg_unit_t *u = registry_at(b->reg, i);

		if ((calendar_role(u->role) & e->roles) == 0)
			continue;
		d.unit = (char *)u->id;
		/* Its own level's office (Art 38, route_level_office); the city office owes
		 * itself (the joint conference it serves is not a unit). */
		d.owed_to = (char *)route_level_office(b->cfg.route, b->reg, u->id);
		if ((rc = duty_open(b, &d)) != 0)
			return rc;
	}
	return 0;
}

static int
marker_read(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	int64_t *last = arg;

	(void)key, (void)klen;
	if (vlen != 8)
		return CB_ECORRUPT;
	*last = (int64_t)be64_get(val);
	return 1;
}

/* Opens the periods of `e` that started since its marker. */
static int
calendar_open_entry(struct broker *b, const calendar_entry_t *e, int64_t now)
{
	const calendar_t *c = &b->cfg.calendar;
	uint8_t key[1 + CALENDAR_NAME_SIZE], val[8];
	size_t klen = 1 + strlen(e->name);
	int64_t last = INT64_MIN, from, to, due, t;
	int rc;

	key[0] = K_CAL;
	memcpy(key + 1, e->name, klen - 1);
	rc = store_aux_walk(b->store, STORE_DUTIES, key, klen, klen, marker_read, &last);
	if (rc != 0 && rc != 1)
		return rc;
	calendar_period(c, e, now, &from, &to, &due);
	if (last >= from)
		return 0;
	if ((rc = round_txn(b)) != 0)
		return rc;
	if (last == INT64_MIN && due <= now) {
		t = to;		/* a first start after the period's due time: owed from the next */
		last = from;
	} else if (last == INT64_MIN) {
		t = from;	/* a first start: the current period only */
	} else {
		calendar_period(c, e, last, &from, &t, &due);	/* t: the next period */
	}
	for (int n = 0; n < CATCHUP_MAX && t <= now; n++) {
		calendar_period(c, e, t, &from, &to, &due);
		if ((rc = calendar_open_period(b, e, from, to, due, now)) != 0)
			return rc;
		last = from;
		t = to;
	}
	be64_put(val, (uint64_t)last);
	return store_txn_aux_put(b->txn, STORE_DUTIES, key, klen, val, sizeof(val));
}

/* ---- due times ---- */

struct due_batch {
	uint8_t		 key[TICK_MAX][DUE_KEY_MAX];
	size_t		 len[TICK_MAX];
	size_t		 n;
	int64_t		 now;
};

static int
due_collect(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct due_batch *db = arg;

	(void)val, (void)vlen;
	if (klen <= 9 || klen > DUE_KEY_MAX || (int64_t)be64_get(key + 1) > db->now ||
	    db->n >= TICK_MAX)
		return 1;	/* stop: not yet due (keys are in due order), or batch full */
	memcpy(db->key[db->n], key, klen);
	db->len[db->n++] = klen;
	return 0;
}

static int
duty_escalate(struct broker *b, const Cluebus__Duty *d)
{
	Cluebus__Message m = CLUEBUS__MESSAGE__INIT;
	Cluebus__Escalation e = CLUEBUS__ESCALATION__INIT;
	const char *office = route_office(b->cfg.route);
	route_result_t to = { .n = 0 };
	char *recips[3];

	route_add(&to, d->owed_to, "");
	route_add(&to, office, "");
	route_add(&to, d->unit, "");		/* the reminder */
	for (size_t i = 0; i < to.n; i++)
		recips[i] = to.units[i];
	e.referral_id = d->referral_id;
	e.unit = d->unit;
	e.due_ms = d->due_ms;
	e.duty = d->report;
	e.period_from_ms = d->period_from_ms;
	e.period_to_ms = d->period_to_ms;
	m.kind = CLUEBUS__KIND__KIND_ESCALATION;
	m.priority = CLUEBUS__PRIORITY__PRIORITY_URGENT;
	m.case_ref = d->case_ref;
	m.refers_to = d->referral_id;
	m.body_case = CLUEBUS__MESSAGE__BODY_ESCALATION;
	m.escalation = &e;
	log_warnx("escalation: %s missed its %s (%s) of period %lld, due %lld (owed to %s)",
	    d->unit, calendar_report_name(d->report), d->name, (long long)d->period_from_ms,
	    (long long)d->due_ms, d->owed_to);
	return round_append_own(b, &m, recips, to.n, 0);
}

static int
duty_due_one(struct broker *b, const uint8_t *key, size_t klen)
{
	int64_t due = (int64_t)be64_get(key + 1);
	const uint8_t *val;
	Cluebus__Duty *d;
	size_t vlen;
	int rc;

	if ((rc = store_txn_aux_del(b->txn, STORE_DUTIES, key, klen)) != 0)
		return rc;
	rc = store_txn_aux_get(b->txn, STORE_DUTIES, key + 9, klen - 9, &val, &vlen);
	if (rc == CB_ENOTFOUND)
		return 0;	/* a stale due time: nothing owed */
	if (rc != 0 || (rc = duty_decode(val, vlen, &d)) != 0)
		return rc;
	if (d->met_ms == 0 && !d->escalated && d->due_ms == due) {
		d->escalated = 1;
		if ((rc = duty_escalate(b, d)) == 0)
			rc = duty_put(b, d);
	}
	cluebus__duty__free_unpacked(d, NULL);
	return rc;
}

int
duties_tick(struct broker *b)
{
	struct due_batch *db;
	uint8_t from = K_DUE;
	int64_t now = broker_clock_ms();
	int rc = 0;

	for (size_t i = 0; i < b->cfg.calendar.n; i++)
		if ((rc = calendar_open_entry(b, &b->cfg.calendar.entry[i], now)) != 0)
			return rc;
	if ((db = malloc(sizeof(*db))) == NULL)
		return CB_ENOMEM;
	db->n = 0;
	db->now = now;
	/* Committed data first: most ticks find nothing due. Duties this round opened are
	 * seen at the next tick. */
	rc = store_aux_walk(b->store, STORE_DUTIES, &from, 1, 1, due_collect, db);
	if (rc == 1)
		rc = 0;
	if (rc == 0 && db->n > 0)
		rc = round_txn(b);
	for (size_t i = 0; rc == 0 && i < db->n; i++)
		rc = duty_due_one(b, db->key[i], db->len[i]);
	free(db);
	return rc;
}

/* ---- what an operator sees (cluebus-ctl overdue) ---- */

struct overdue_walk {
	struct broker	*b;
	json_t		*list;
	int64_t		 now;
};

static json_t *
overdue_time(int64_t ms)
{
	char ts[40];

	clock_format_rfc3339(ms, ts, sizeof(ts));
	return json_string(ts);
}

static int
overdue_one(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct overdue_walk *w = arg;
	char rid[MESSAGE_ID_LEN * 2 + 1];
	const reg_unit_t *u;
	Cluebus__Duty *d;
	json_t *j;

	(void)key, (void)klen;
	if (duty_decode(val, vlen, &d) != 0)
		return 0;
	if (d->met_ms == 0 && d->transferred_to[0] == '\0' && d->due_ms < w->now &&
	    (j = json_object()) != NULL) {
		if (d->referral_id.len == MESSAGE_ID_LEN) {
			hex_encode(d->referral_id.data, MESSAGE_ID_LEN, rid);
			json_object_set_new(j, "referral_id", json_string(rid));
		}
		json_object_set_new(j, "case_ref", json_string(d->case_ref));
		json_object_set_new(j, "unit", json_string(d->unit));
		if ((u = registry_unit(w->b->reg, d->unit)) != NULL && u->name != NULL)
			json_object_set_new(j, "name", json_string(u->name));
		json_object_set_new(j, "referrer", json_string(d->owed_to));
		json_object_set_new(j, "duty", json_string(calendar_report_name(d->report)));
		json_object_set_new(j, "due", overdue_time(d->due_ms));
		json_object_set_new(j, "overdue_s", json_integer((w->now - d->due_ms) / 1000));
		json_object_set_new(j, "period_from", overdue_time(d->period_from_ms));
		json_object_set_new(j, "period_to", overdue_time(d->period_to_ms));
		json_array_append_new(w->list, j);
	}
	cluebus__duty__free_unpacked(d, NULL);
	return 0;
}

void
duties_overdue(struct broker *b, json_t *list, int64_t now)
{
	struct overdue_walk w = { b, list, now };
	uint8_t from = K_DUTY;

	(void)store_aux_walk(b->store, STORE_DUTIES, &from, 1, 1, overdue_one, &w);
}

/* broker/workflow.c — referrals, receipts, feedback, supervision, deadlines, escalation.
 *
 * A referral (or a petition clue from the petition unit, seed Art 23) creates one
 * obligation per unit it names: take charge (签收, a receipt) by one due time, report
 * (办理反馈, a feedback) by another. Obligations live in the store's `obligations` database
 * (key: referral id ‖ unit) and their pending due times in `deadlines` (key: be64 due ‖
 * referral id ‖ missed ‖ unit), both written in the same transaction as the log entry that
 * changed them, so the state survives restarts and never disagrees with the log.
 *
 * One obligation:
 *
 *   AWAITING_RECEIPT --receipt--> AWAITING_FEEDBACK --feedback accepted/in_progress--+
 *         |                              |                                          v
 *         +--------feedback--------------+-------------------------------->  IN_PROGRESS
 *         (a feedback counts as the receipt)   resolved / rejected / transferred  |
 *                                                          v                      |
 *                                                       CLOSED <------------------+
 *
 * A transfer closes the unit's obligation and opens one for each new unit. A supervision
 * from the office tightens due times (or sets a new one after an escalation). When a due
 * time passes unmet, workflow_tick() logs one broker-signed escalation to the office and the
 * referring unit and deletes the deadline in the same transaction: exactly once, also when
 * the broker was down at the due moment. */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "cases.h"
#include "duties.h"
#include "envelope.h"
#include "handling.h"
#include "log.h"
#include "route.h"
#include "unpack.h"
#include "util.h"
#include "workflow.h"

/* An obligation's key is referral id ‖ unit; a deadline's is be64 due ‖ referral id ‖
 * missed ‖ unit. */
#define OBL_KEY_MAX	(MESSAGE_ID_LEN + CB_UNIT_ID_MAX)
#define DUE_ID_AT	8
#define DUE_MISSED_AT	(DUE_ID_AT + MESSAGE_ID_LEN)
#define DUE_UNIT_AT	(DUE_MISSED_AT + 1)
#define DUE_KEY_MAX	(DUE_UNIT_AT + CB_UNIT_ID_MAX)
#define TICK_MAX	64	/* escalations per round */

/* A message id as the log lines write it (32 hex digits). */
static const char *
wf_id(const uint8_t *id, char out[MESSAGE_ID_LEN * 2 + 1])
{
	hex_encode(id, MESSAGE_ID_LEN, out);
	return out;
}

static const char *
wf_case(const char *case_ref)
{
	return case_ref != NULL && case_ref[0] != '\0' ? case_ref : "-";
}

static size_t
obl_key(const uint8_t *rid, const char *unit, uint8_t *out)
{
	size_t ulen = strlen(unit);

	memcpy(out, rid, MESSAGE_ID_LEN);
	memcpy(out + MESSAGE_ID_LEN, unit, ulen);
	return MESSAGE_ID_LEN + ulen;
}

static size_t
due_key(int64_t due, const uint8_t *rid, int missed, const char *unit, uint8_t *out)
{
	size_t ulen = strlen(unit);

	be64_put(out, (uint64_t)due);
	memcpy(out + DUE_ID_AT, rid, MESSAGE_ID_LEN);
	out[DUE_MISSED_AT] = (uint8_t)missed;
	memcpy(out + DUE_UNIT_AT, unit, ulen);
	return DUE_UNIT_AT + ulen;
}

/* Decodes a stored obligation: CB_ECORRUPT when it does not parse, CB_ENOMEM (not a
 * verdict on the store: the round is aborted and retried) when memory ran out. */
static int
obl_decode(const uint8_t *val, size_t vlen, Cluebus__Obligation **o)
{
	ProtobufCMessage *m;
	int rc;

	if ((rc = unpack_stored(&cluebus__obligation__descriptor, val, vlen, &m)) != 0)
		return rc;
	*o = (Cluebus__Obligation *)m;
	return 0;
}

static int
obl_get(struct broker *b, const uint8_t *rid, const char *unit, Cluebus__Obligation **o)
{
	uint8_t key[OBL_KEY_MAX];
	const uint8_t *val;
	size_t vlen;
	int rc;

	if (!unit_id_valid(unit))
		return CB_ENOTFOUND;
	rc = store_txn_aux_get(b->txn, STORE_OBLIGATIONS, key, obl_key(rid, unit, key), &val,
	    &vlen);
	if (rc != 0)
		return rc;
	return obl_decode(val, vlen, o);
}

static int
obl_put(struct broker *b, const Cluebus__Obligation *o)
{
	uint8_t key[OBL_KEY_MAX], *buf;
	size_t len = cluebus__obligation__get_packed_size(o);
	int rc;

	if ((buf = malloc(len > 0 ? len : 1)) == NULL)
		return CB_ENOMEM;
	cluebus__obligation__pack(o, buf);
	rc = store_txn_aux_put(b->txn, STORE_OBLIGATIONS, key,
	    obl_key(o->referral_id.data, o->unit, key), buf, len);
	free(buf);
	return rc;
}

/* Stores `o` with `supervisor` (NULL: unchanged) as the district office it escalates to. */
static int
obl_put_supervised(struct broker *b, Cluebus__Obligation *o, const char *supervisor)
{
	char *own = o->supervisor;
	int rc;

	if (supervisor == NULL)
		return obl_put(b, o);
	o->supervisor = (char *)supervisor;	/* borrowed for the put */
	rc = obl_put(b, o);
	o->supervisor = own;
	return rc;
}

/* Moves one deadline of `o` from `old_due` to `new_due` (0: none). */
static int
due_move(struct broker *b, const Cluebus__Obligation *o, Cluebus__Missed missed,
    int64_t old_due, int64_t new_due)
{
	uint8_t key[DUE_KEY_MAX];
	int rc;

	if (old_due != 0 && (rc = store_txn_aux_del(b->txn, STORE_DEADLINES, key,
	    due_key(old_due, o->referral_id.data, missed, o->unit, key))) != 0)
		return rc;
	if (new_due != 0 && (rc = store_txn_aux_put(b->txn, STORE_DEADLINES, key,
	    due_key(new_due, o->referral_id.data, missed, o->unit, key), "", 0)) != 0)
		return rc;
	return 0;
}

/* Opens unit's obligation on `rid`, unless one is already open. */
static int
obl_open(struct broker *b, const uint8_t *rid, const char *unit, const char *referrer,
    const char *case_ref, Cluebus__Priority prio, int64_t now, int64_t receipt_due,
    int64_t feedback_due, const char *transferred_from, Cluebus__Action action,
    const char *transfer_reason)
{
	Cluebus__Obligation o = CLUEBUS__OBLIGATION__INIT, *old;
	char hex[MESSAGE_ID_LEN * 2 + 1];
	int rc, p = prio >= 1 && prio <= 3 ? (int)prio : 1;

	if ((rc = obl_get(b, rid, unit, &old)) == 0) {
		int open = old->state != CLUEBUS__OBLIGATION_STATE__OBLIGATION_CLOSED;

		cluebus__obligation__free_unpacked(old, NULL);
		if (open)
			return 0;
	} else if (rc != CB_ENOTFOUND) {
		return rc;
	}
	o.referral_id.data = (uint8_t *)rid;
	o.referral_id.len = MESSAGE_ID_LEN;
	o.unit = (char *)unit;
	o.referrer = (char *)referrer;
	o.case_ref = (char *)case_ref;
	o.priority = (Cluebus__Priority)p;
	o.state = CLUEBUS__OBLIGATION_STATE__OBLIGATION_AWAITING_RECEIPT;
	o.created_ms = now;
	o.receipt_due_ms = receipt_due > 0 ? receipt_due : now + b->cfg.receipt_due_ms[p];
	o.feedback_due_ms = feedback_due > 0 ? feedback_due : now + b->cfg.feedback_due_ms[p];
	if (o.feedback_due_ms < o.receipt_due_ms)
		o.feedback_due_ms = o.receipt_due_ms;
	o.transferred_from = (char *)(transferred_from != NULL ? transferred_from : "");
	o.action = action;
	o.transfer_reason = (char *)(transfer_reason != NULL ? transfer_reason : "");
	if ((rc = obl_put(b, &o)) != 0 ||
	    (rc = due_move(b, &o, CLUEBUS__MISSED__MISSED_RECEIPT, 0, o.receipt_due_ms)) != 0 ||
	    (rc = due_move(b, &o, CLUEBUS__MISSED__MISSED_FEEDBACK, 0, o.feedback_due_ms)) != 0)
		return rc;
	log_info("referral %s (case %s): %s owes receipt and feedback (referrer %s)",
	    wf_id(rid, hex), wf_case(case_ref), unit, referrer);
	return 0;
}

/* ---- checks before a workflow message is logged ---- */

struct obl_list {
	Cluebus__Obligation	*o[ROUTE_MAX];
	size_t			 n;
	int			 rc;
};

static int
obl_collect(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct obl_list *l = arg;

	(void)key, (void)klen;
	if (l->n >= ROUTE_MAX)
		return 0;
	if ((l->rc = obl_decode(val, vlen, &l->o[l->n])) != 0)
		return l->rc;
	l->n++;
	return 0;
}

static void
obl_list_free(struct obl_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		cluebus__obligation__free_unpacked(l->o[i], NULL);
	l->n = 0;
}

/* A receipt or feedback: the sender's part of the referral is open; its referrer (and
 * the units a feedback transfers to) hear of it. */
static int
workflow_check_answer(struct broker *b, const Cluebus__Message *m, route_result_t *res,
    struct verdict *v)
{
	Cluebus__Obligation *o = NULL;
	int rc, closed;

	if ((rc = obl_get(b, m->refers_to.data, m->sender, &o)) == CB_ENOTFOUND)
		return reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY,
		    "refers_to", "no referral to this unit with that id");
	if (rc != 0)
		return rc;
	closed = o->state == CLUEBUS__OBLIGATION_STATE__OBLIGATION_CLOSED;
	route_add(res, o->referrer, m->sender);
	cluebus__obligation__free_unpacked(o, NULL);
	if (closed)
		return reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY,
		    "refers_to", "this unit's part of the referral is closed");
	if (m->body_case != CLUEBUS__MESSAGE__BODY_FEEDBACK)
		return 0;
	for (size_t i = 0; i < m->feedback->n_transferred_to; i++) {
		char path[sizeof(v->field)];

		snprintf(path, sizeof(path), "feedback.transferred_to[%zu]", i);
		if (registry_unit(b->reg, m->feedback->transferred_to[i]) == NULL)
			return reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY,
			    path, "unit '%s' is not registered",
			    m->feedback->transferred_to[i]);
		route_add(res, m->feedback->transferred_to[i], m->sender);
	}
	return 0;
}

/* A supervision of a referral the broker tracks (who may supervise what is cases.c's
 * check, before this one; a case's or units' supervision has no refers_to): the referrers
 * (and, when it names no unit, every obliged unit) hear of it. */
static int
workflow_check_supervision(struct broker *b, const Cluebus__Message *m, route_result_t *res,
    struct verdict *v)
{
	struct obl_list l = { .n = 0, .rc = 0 };
	int rc;

	if (m->refers_to.len != MESSAGE_ID_LEN)
		return 0;
	rc = store_txn_aux_walk(b->txn, STORE_OBLIGATIONS, m->refers_to.data, MESSAGE_ID_LEN,
	    MESSAGE_ID_LEN, obl_collect, &l);
	if (rc == 0)
		rc = l.rc;	/* the store, memory or a corrupt record: never the message */
	if (rc == 0 && l.n == 0)
		reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY, "refers_to",
		    "no referral with that id");
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		route_add(res, l.o[i]->referrer, m->sender);
		if (m->supervision->n_units == 0)
			route_add(res, l.o[i]->unit, m->sender);
	}
	obl_list_free(&l);
	return rc;
}

/* Every unit a message names is registered; a refusal names the first unknown one and its
 * place ("referral.to_units[1]"). Unit ids passed intake, so they are safe to show. */
static int
workflow_check_units(struct broker *b, const char *field, char *const *units, size_t n,
    struct verdict *v)
{
	char path[sizeof(v->field)];

	for (size_t i = 0; i < n; i++) {
		if (registry_unit(b->reg, units[i]) != NULL)
			continue;
		snprintf(path, sizeof(path), "%s[%zu]", field, i);
		return reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY, path,
		    "unit '%s' is not registered", units[i]);
	}
	return 0;
}

/* A clue's jurisdiction is one of the divisions the routing table configures. */
static int
workflow_check_jurisdiction(struct broker *b, const Cluebus__Message *m, struct verdict *v)
{
	char valid[sizeof(v->reason) - 64];

	if (route_jurisdiction_check(b->cfg.route, m->clue->jurisdiction, valid,
	    sizeof(valid)) == 0)
		return 0;
	return reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY,
	    "clue.jurisdiction", "'%s' is not a division of this deployment; valid: %s",
	    m->clue->jurisdiction, valid);
}

int
workflow_check(struct broker *b, const Cluebus__Message *m, route_result_t *res,
    struct verdict *v)
{
	int rc;

	switch (m->body_case) {
	case CLUEBUS__MESSAGE__BODY_CLUE:
		return workflow_check_jurisdiction(b, m, v);
	case CLUEBUS__MESSAGE__BODY_REFERRAL:
		if ((rc = workflow_check_units(b, "referral.to_units", m->referral->to_units,
		    m->referral->n_to_units, v)) != 0 || v->code != 0)
			return rc;
		return handling_check_referral(b, m, v);
	case CLUEBUS__MESSAGE__BODY_PERMISSION:
		return handling_check_permission(b, m, v);
	case CLUEBUS__MESSAGE__BODY_REPORT:
		if ((rc = workflow_check_units(b, "report.to_units", m->report->to_units,
		    m->report->n_to_units, v)) != 0 || v->code != 0)
			return rc;
		return duties_check(b, m, res, v);
	case CLUEBUS__MESSAGE__BODY_RECEIPT:
		return workflow_check_answer(b, m, res, v);
	case CLUEBUS__MESSAGE__BODY_FEEDBACK:
		if ((rc = workflow_check_answer(b, m, res, v)) != 0 || v->code != 0)
			return rc;
		return handling_check_transfer(b, m, v);
	case CLUEBUS__MESSAGE__BODY_SUPERVISION:
		if ((rc = workflow_check_units(b, "supervision.units", m->supervision->units,
		    m->supervision->n_units, v)) != 0 || v->code != 0)
			return rc;
		return workflow_check_supervision(b, m, res, v);
	default:
		return 0;
	}
}

/* ---- applying a logged workflow message ---- */

static int
workflow_on_receipt(struct broker *b, const Cluebus__Message *m, int64_t now)
{
	char rid[MESSAGE_ID_LEN * 2 + 1], mid[MESSAGE_ID_LEN * 2 + 1];
	Cluebus__Obligation *o;
	int rc;

	if ((rc = obl_get(b, m->refers_to.data, m->sender, &o)) != 0)
		return rc;
	if (o->state == CLUEBUS__OBLIGATION_STATE__OBLIGATION_AWAITING_RECEIPT) {
		o->state = CLUEBUS__OBLIGATION_STATE__OBLIGATION_AWAITING_FEEDBACK;
		o->received_ms = now;
		rc = due_move(b, o, CLUEBUS__MISSED__MISSED_RECEIPT, o->receipt_due_ms, 0);
		if (rc == 0)
			rc = obl_put(b, o);
	}
	log_info("receipt %s: %s took charge of referral %s (case %s)",
	    wf_id(m->message_id.data, mid), m->sender, wf_id(m->refers_to.data, rid),
	    wf_case(o->case_ref));
	cluebus__obligation__free_unpacked(o, NULL);
	return rc;
}

static int
workflow_on_feedback(struct broker *b, const Cluebus__Message *m, int64_t now)
{
	const Cluebus__Feedback *f = m->feedback;
	char rid[MESSAGE_ID_LEN * 2 + 1], mid[MESSAGE_ID_LEN * 2 + 1];
	Cluebus__Obligation *o;
	int rc = 0;

	if ((rc = obl_get(b, m->refers_to.data, m->sender, &o)) != 0)
		return rc;
	if (o->received_ms == 0) {
		o->received_ms = now;
		rc = due_move(b, o, CLUEBUS__MISSED__MISSED_RECEIPT, o->receipt_due_ms, 0);
	}
	if (rc == 0 && o->feedback_ms == 0) {
		o->feedback_ms = now;
		rc = due_move(b, o, CLUEBUS__MISSED__MISSED_FEEDBACK, o->feedback_due_ms, 0);
	}
	o->last_status = f->status;
	switch (f->status) {
	case CLUEBUS__FEEDBACK_STATUS__FEEDBACK_ACCEPTED:
	case CLUEBUS__FEEDBACK_STATUS__FEEDBACK_IN_PROGRESS:
		o->state = CLUEBUS__OBLIGATION_STATE__OBLIGATION_IN_PROGRESS;
		break;
	default:
		o->state = CLUEBUS__OBLIGATION_STATE__OBLIGATION_CLOSED;
		break;
	}
	if (rc == 0)
		rc = obl_put(b, o);
	log_info("feedback %s: %s on referral %s (case %s): status %d, %zu transferred",
	    wf_id(m->message_id.data, mid), m->sender, wf_id(m->refers_to.data, rid),
	    wf_case(o->case_ref), (int)f->status, f->n_transferred_to);
	for (size_t i = 0; rc == 0 && i < f->n_transferred_to; i++)
		rc = obl_open(b, m->refers_to.data, f->transferred_to[i], o->referrer, o->case_ref,
		    o->priority, now, 0, 0, m->sender, f->action != 0 ? f->action : o->action,
		    f->reason);
	cluebus__obligation__free_unpacked(o, NULL);
	return rc;
}

/* Moves one due time of `o` to the supervision's `want` when that is earlier, or, after
 * an escalation, to `want` whatever it is (a supervision sets a new one). */
static int
due_tighten(struct broker *b, Cluebus__Obligation *o, Cluebus__Missed missed,
    int64_t want, int64_t *due, protobuf_c_boolean *escalated, int pending)
{
	int64_t old = *escalated ? 0 : *due;
	int rc;

	if (want == 0 || !pending || (!*escalated && want >= *due))
		return 0;
	if ((rc = due_move(b, o, missed, old, want)) != 0)
		return rc;
	*due = want;
	*escalated = 0;
	return 0;
}

int
workflow_supervise(struct broker *b, const uint8_t *rid, const Cluebus__Supervision *s,
    const char *supervisor)
{
	struct obl_list l = { .n = 0, .rc = 0 };
	int rc;

	rc = store_txn_aux_walk(b->txn, STORE_OBLIGATIONS, rid, MESSAGE_ID_LEN, MESSAGE_ID_LEN,
	    obl_collect, &l);
	if (rc == 0)
		rc = l.rc;
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		Cluebus__Obligation *o = l.o[i];
		int named = s->n_units == 0;

		for (size_t j = 0; j < s->n_units; j++)
			named |= strcmp(s->units[j], o->unit) == 0;
		if (!named || o->state == CLUEBUS__OBLIGATION_STATE__OBLIGATION_CLOSED)
			continue;
		if ((rc = due_tighten(b, o, CLUEBUS__MISSED__MISSED_RECEIPT, s->receipt_due_ms,
		    &o->receipt_due_ms, &o->receipt_escalated, o->received_ms == 0)) != 0 ||
		    (rc = due_tighten(b, o, CLUEBUS__MISSED__MISSED_FEEDBACK,
		    s->feedback_due_ms, &o->feedback_due_ms, &o->feedback_escalated,
		    o->feedback_ms == 0)) != 0)
			break;
		rc = obl_put_supervised(b, o, supervisor);
	}
	obl_list_free(&l);
	return rc;
}

int
workflow_oblige(struct broker *b, const uint8_t *rid, const char *unit, const char *referrer,
    const char *case_ref, Cluebus__Priority prio, int64_t now, int64_t receipt_due,
    int64_t feedback_due, const char *supervisor)
{
	Cluebus__Supervision s = CLUEBUS__SUPERVISION__INIT;
	Cluebus__Obligation *o;
	int rc, open;

	if ((rc = obl_get(b, rid, unit, &o)) != 0 && rc != CB_ENOTFOUND)
		return rc;
	open = rc == 0 && o->state != CLUEBUS__OBLIGATION_STATE__OBLIGATION_CLOSED;
	if (rc == 0)
		cluebus__obligation__free_unpacked(o, NULL);
	if (open) {	/* owed already: the new due times tighten it */
		s.receipt_due_ms = receipt_due;
		s.feedback_due_ms = feedback_due;
		s.units = (char **)&unit;
		s.n_units = 1;
		return workflow_supervise(b, rid, &s, supervisor);
	}
	if ((rc = obl_open(b, rid, unit, referrer, case_ref, prio, now, receipt_due,
	    feedback_due, NULL, CLUEBUS__ACTION__ACTION_UNSPECIFIED, NULL)) != 0 ||
	    supervisor == NULL)
		return rc;
	if ((rc = obl_get(b, rid, unit, &o)) != 0)
		return rc;
	rc = obl_put_supervised(b, o, supervisor);
	cluebus__obligation__free_unpacked(o, NULL);
	return rc;
}

int
workflow_close_all(struct broker *b, const uint8_t *rid)
{
	struct obl_list l = { .n = 0, .rc = 0 };
	int rc;

	rc = store_txn_aux_walk(b->txn, STORE_OBLIGATIONS, rid, MESSAGE_ID_LEN, MESSAGE_ID_LEN,
	    obl_collect, &l);
	if (rc == 0)
		rc = l.rc;
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		Cluebus__Obligation *o = l.o[i];

		if (o->state == CLUEBUS__OBLIGATION_STATE__OBLIGATION_CLOSED)
			continue;
		if (o->received_ms == 0 && !o->receipt_escalated &&
		    (rc = due_move(b, o, CLUEBUS__MISSED__MISSED_RECEIPT, o->receipt_due_ms,
		    0)) != 0)
			break;
		if (o->feedback_ms == 0 && !o->feedback_escalated &&
		    (rc = due_move(b, o, CLUEBUS__MISSED__MISSED_FEEDBACK, o->feedback_due_ms,
		    0)) != 0)
			break;
		o->state = CLUEBUS__OBLIGATION_STATE__OBLIGATION_CLOSED;
		rc = obl_put(b, o);
	}
	obl_list_free(&l);
	return rc;
}

/* A petition clue is transferred to its responsible units and put under supervision in one
 * step: obligations for the routed member units, and a broker-signed supervision. */
static int
workflow_on_petition(struct broker *b, const Cluebus__Message *m, const route_result_t *res,
    int64_t now)
{
	Cluebus__Message sup = CLUEBUS__MESSAGE__INIT;
	Cluebus__Supervision body = CLUEBUS__SUPERVISION__INIT;
	char *units[ROUTE_MAX], *recips[ROUTE_MAX + 1];
	size_t n = 0, nr = 0;
	int rc, p = m->priority >= 1 && m->priority <= 3 ? (int)m->priority : 1;

	for (size_t i = 0; i < res->n; i++) {
		const reg_unit_t *u = registry_unit(b->reg, res->units[i]);

		recips[nr++] = (char *)res->units[i];
		if (u == NULL || strcmp(u->role, "member") != 0)
			continue;
		units[n++] = (char *)res->units[i];
		if ((rc = obl_open(b, m->message_id.data, res->units[i], m->sender, m->case_ref,
		    m->priority, now, 0, 0, NULL, CLUEBUS__ACTION__ACTION_UNSPECIFIED, NULL)) != 0)
			return rc;
	}
	if (n == 0)
		return 0;
	recips[nr++] = m->sender;
	body.level = CLUEBUS__SUPERVISION_LEVEL__SUPERVISION_SUPERVISE;
	body.units = units;
	body.n_units = n;
	body.receipt_due_ms = now + b->cfg.receipt_due_ms[p];
	body.feedback_due_ms = now + b->cfg.feedback_due_ms[p];
	body.note = (char *)"信访件已移送责任单位并纳入督办 (petition transferred and supervised, "
	    "Art 23)";
	sup.kind = CLUEBUS__KIND__KIND_SUPERVISION;
	sup.priority = m->priority;
	sup.case_ref = m->case_ref;
	sup.refers_to = m->message_id;
	sup.body_case = CLUEBUS__MESSAGE__BODY_SUPERVISION;
	sup.supervision = &body;
	return round_append_own(b, &sup, recips, nr, 0);
}

int
workflow_apply(struct broker *b, const Cluebus__Message *m, const route_result_t *res,
    int64_t now)
{
	int rc;

	if ((rc = duties_apply(b, m, now)) != 0)
		return rc;
	switch (m->body_case) {
	case CLUEBUS__MESSAGE__BODY_REFERRAL:
		for (size_t i = 0; i < m->referral->n_to_units; i++) {
			if (strcmp(m->referral->to_units[i], m->sender) == 0)
				continue;
			if ((rc = obl_open(b, m->message_id.data, m->referral->to_units[i],
			    m->sender, m->case_ref, m->priority, now,
			    m->referral->receipt_due_ms, m->referral->feedback_due_ms, NULL,
			    m->referral->action, NULL)) != 0)
				return rc;
		}
		return 0;
	case CLUEBUS__MESSAGE__BODY_RECEIPT:
		return workflow_on_receipt(b, m, now);
	case CLUEBUS__MESSAGE__BODY_FEEDBACK:
		return workflow_on_feedback(b, m, now);
	case CLUEBUS__MESSAGE__BODY_SUPERVISION:
		if (m->refers_to.len != MESSAGE_ID_LEN)
			return 0;	/* a case's or units': cases.c */
		return workflow_supervise(b, m->refers_to.data, m->supervision,
		    strcmp(m->sender, route_office(b->cfg.route)) != 0 ? m->sender : NULL);
	case CLUEBUS__MESSAGE__BODY_CLUE:
		if (m->clue->category == CLUEBUS__CATEGORY__CATEGORY_PETITION &&
		    strcmp(m->sender, b->cfg.petition_unit) == 0)
			return workflow_on_petition(b, m, res, now);
		return 0;
	default:
		return 0;
	}
}

/* ---- deadlines ---- */

struct due_item {
	int64_t		 due;
	uint8_t		 rid[MESSAGE_ID_LEN];
	int		 missed;
	char		 unit[CB_UNIT_ID_SIZE];
};

struct due_batch {
	struct due_item	 item[TICK_MAX];
	size_t		 n;
	int64_t		 now;
};

static int
due_collect(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct due_batch *db = arg;
	struct due_item *it;

	(void)val, (void)vlen;
	if (klen <= DUE_UNIT_AT || klen > DUE_KEY_MAX || (int64_t)be64_get(key) > db->now ||
	    db->n >= TICK_MAX)
		return 1;	/* stop: not yet due (keys are in due order), or batch full */
	it = &db->item[db->n++];
	it->due = (int64_t)be64_get(key);
	memcpy(it->rid, key + DUE_ID_AT, MESSAGE_ID_LEN);
	it->missed = key[DUE_MISSED_AT];
	memcpy(it->unit, key + DUE_UNIT_AT, klen - DUE_UNIT_AT);
	it->unit[klen - DUE_UNIT_AT] = '\0';
	return 0;
}

static int
workflow_escalate(struct broker *b, const Cluebus__Obligation *o, Cluebus__Missed missed,
    int64_t due)
{
	Cluebus__Message m = CLUEBUS__MESSAGE__INIT;
	Cluebus__Escalation e = CLUEBUS__ESCALATION__INIT;
	const char *office = route_office(b->cfg.route);
	char *recips[4], rid[MESSAGE_ID_LEN * 2 + 1];
	size_t n = 0;

	/* The office, the referrer, a district office that supervised it (up one level: the
	 * district office and the city office), and a reminder to the overdue unit. */
	recips[n++] = (char *)office;
	if (strcmp(o->referrer, office) != 0)
		recips[n++] = o->referrer;
	if (o->supervisor[0] != '\0' && strcmp(o->supervisor, office) != 0 &&
	    strcmp(o->supervisor, o->referrer) != 0)
		recips[n++] = o->supervisor;
	if (strcmp(o->unit, office) != 0 && strcmp(o->unit, o->referrer) != 0 &&
	    strcmp(o->unit, o->supervisor) != 0)
		recips[n++] = o->unit;
	e.supervisor = o->supervisor;
	e.reminder = strcmp(recips[n - 1], o->unit) == 0;
	e.referral_id = o->referral_id;
	e.unit = o->unit;
	e.missed = missed;
	e.due_ms = due;
	m.kind = CLUEBUS__KIND__KIND_ESCALATION;
	m.priority = CLUEBUS__PRIORITY__PRIORITY_URGENT;
	m.case_ref = o->case_ref;
	m.refers_to = o->referral_id;
	m.body_case = CLUEBUS__MESSAGE__BODY_ESCALATION;
	m.escalation = &e;
	log_warnx("escalation: referral %s (case %s): %s missed the %s due (referrer %s)",
	    o->referral_id.len == MESSAGE_ID_LEN ? wf_id(o->referral_id.data, rid) : "-",
	    wf_case(o->case_ref), o->unit,
	    missed == CLUEBUS__MISSED__MISSED_RECEIPT ? "receipt" : "feedback", o->referrer);
	return round_append_own(b, &m, recips, n, 0);
}

static int
workflow_due_one(struct broker *b, const struct due_item *it)
{
	uint8_t key[DUE_KEY_MAX];
	Cluebus__Obligation *o;
	int rc, receipt = it->missed == CLUEBUS__MISSED__MISSED_RECEIPT;

	if ((rc = store_txn_aux_del(b->txn, STORE_DEADLINES, key,
	    due_key(it->due, it->rid, it->missed, it->unit, key))) != 0)
		return rc;
	if ((rc = obl_get(b, it->rid, it->unit, &o)) == CB_ENOTFOUND)
		return 0;	/* a stale deadline: nothing owed any more */
	if (rc != 0)
		return rc;
	if (receipt && o->received_ms == 0 && !o->receipt_escalated &&
	    o->receipt_due_ms == it->due) {
		o->receipt_escalated = 1;
		rc = workflow_escalate(b, o, CLUEBUS__MISSED__MISSED_RECEIPT, it->due);
	} else if (!receipt && o->feedback_ms == 0 && !o->feedback_escalated &&
	    o->feedback_due_ms == it->due) {
		o->feedback_escalated = 1;
		rc = workflow_escalate(b, o, CLUEBUS__MISSED__MISSED_FEEDBACK, it->due);
	}
	if (rc == 0)
		rc = obl_put(b, o);
	cluebus__obligation__free_unpacked(o, NULL);
	return rc;
}

int
workflow_tick(struct broker *b)
{
	struct due_batch db;
	int rc;

	db.n = 0;
	db.now = broker_clock_ms();
	/* A cheap look at committed data first: most ticks find nothing due. */
	rc = store_aux_walk(b->store, STORE_DEADLINES, NULL, 0, 0, due_collect, &db);
	if ((rc != 0 && rc != 1) || db.n == 0)
		return rc == 1 ? 0 : rc;
	if ((rc = round_txn(b)) != 0)
		return rc;
	for (size_t i = 0; i < db.n; i++)
		if ((rc = workflow_due_one(b, &db.item[i])) != 0)
			return rc;
	return 0;
}

/* ---- what a handler needs to see (Deliver.context) ---- */

/* Reads and opens the message logged under `id` from committed data. */
static int
workflow_lookup(struct broker *b, const uint8_t *id, Cluebus__Message **m)
{
	Cluebus__LogEntry *e = NULL;
	const uint8_t *hash;
	uint8_t *val = NULL;
	uint64_t seq;
	size_t len;
	cb_error_t err;
	int rc;

	if ((rc = store_msgid_get(b->store, id, &seq)) != 0 ||
	    (rc = store_get(b->store, seq, &val, &len)) != 0)
		return rc;
	/* Out of memory is not corruption: the round is aborted and retried. */
	if ((rc = chain_decode(val, len, &hash, &e)) != 0 || e->envelope == NULL)
		rc = rc == CB_ENOMEM ? rc : CB_ECORRUPT;
	else if ((rc = envelope_open(e->envelope, m, &err)) != 0)
		rc = rc == CB_ENOMEM ? rc : CB_ECORRUPT;
	if (e != NULL)
		cluebus__log_entry__free_unpacked(e, NULL);
	free(val);
	return rc;
}

/* The clue's clear metadata only: its summary is personal data, sealed to the clue's own
 * recipients, and a referral's units may never have been among them (SPEC §10). */
static int
context_fill_clue(Cluebus__Context *ctx, const Cluebus__Message *clue)
{
	if ((ctx->clue_id.data = malloc(MESSAGE_ID_LEN)) == NULL ||
	    (ctx->clue_jurisdiction = strdup(clue->clue->jurisdiction)) == NULL)
		return CB_ENOMEM;
	memcpy(ctx->clue_id.data, clue->message_id.data, MESSAGE_ID_LEN);
	ctx->clue_id.len = MESSAGE_ID_LEN;
	ctx->clue_category = clue->clue->category;
	ctx->clue_handling = clue->clue->handling;
	return 0;
}

/* Fills the referral, case and clue of `ctx` from the referral (or petition clue) `rid`. */
static int
context_fill(struct broker *b, Cluebus__Context *ctx, const uint8_t *rid)
{
	Cluebus__Message *ref = NULL, *clue = NULL;
	int rc;

	if ((ctx->referral_id.data = malloc(MESSAGE_ID_LEN)) == NULL)
		return CB_ENOMEM;
	memcpy(ctx->referral_id.data, rid, MESSAGE_ID_LEN);
	ctx->referral_id.len = MESSAGE_ID_LEN;
	if ((rc = workflow_lookup(b, rid, &ref)) != 0)
		return rc == CB_ENOTFOUND ? 0 : rc;
	if ((ctx->case_ref = strdup(ref->case_ref)) == NULL)
		rc = CB_ENOMEM;
	else if (ref->body_case == CLUEBUS__MESSAGE__BODY_CLUE)
		rc = context_fill_clue(ctx, ref);
	else if (ref->refers_to.len == MESSAGE_ID_LEN &&
	    workflow_lookup(b, ref->refers_to.data, &clue) == 0) {
		/* A referral of an H2 clue refers to the originator's permission, which
		 * refers to the clue (broker/handling.h). */
		if (clue->body_case == CLUEBUS__MESSAGE__BODY_PERMISSION &&
		    clue->refers_to.len == MESSAGE_ID_LEN) {
			Cluebus__Message *perm = clue;

			clue = NULL;
			(void)workflow_lookup(b, perm->refers_to.data, &clue);
			protobuf_c_message_free_unpacked(&perm->base, NULL);
		}
		if (clue != NULL && clue->body_case == CLUEBUS__MESSAGE__BODY_CLUE)
			rc = context_fill_clue(ctx, clue);
	}
	if (clue != NULL)
		protobuf_c_message_free_unpacked(&clue->base, NULL);
	protobuf_c_message_free_unpacked(&ref->base, NULL);
	return rc;
}

/* The key of the obligations a delivery of `m` should carry: *rid (NULL: none; may point
 * into `buf`). A supervision of a case or of units creates obligations keyed by the case's
 * open id or by the supervision itself; its obliged units learn them from its delivery, so
 * that a sealing agent can seal its answer to the supervisor (lib/sealdir.c). Returns 0 or
 * an error of cases_open_id. */
static int
context_key(struct broker *b, const Cluebus__Message *m, uint8_t *buf, const uint8_t **rid)
{
	int rc;

	*rid = NULL;
	switch (m->body_case) {
	case CLUEBUS__MESSAGE__BODY_REFERRAL:
		*rid = m->message_id.data;
		return 0;
	case CLUEBUS__MESSAGE__BODY_CLUE:
		if (m->clue->category == CLUEBUS__CATEGORY__CATEGORY_PETITION)
			*rid = m->message_id.data;
		return 0;
	case CLUEBUS__MESSAGE__BODY_SUPERVISION:
		if (m->refers_to.len == MESSAGE_ID_LEN)
			*rid = m->refers_to.data;
		else if (m->case_ref[0] == '\0')
			*rid = m->message_id.data;
		else if ((rc = cases_open_id(b->store, m->case_ref, buf)) == 0)
			*rid = buf;
		else if (rc != CB_ENOTFOUND)
			return rc;
		return 0;
	case CLUEBUS__MESSAGE__BODY_RECEIPT:
	case CLUEBUS__MESSAGE__BODY_FEEDBACK:
	case CLUEBUS__MESSAGE__BODY_ESCALATION:
		if (m->refers_to.len == MESSAGE_ID_LEN)
			*rid = m->refers_to.data;
		return 0;
	default:
		return 0;
	}
}

int
workflow_context(struct broker *b, const Cluebus__Message *m, Cluebus__Context **out)
{
	struct obl_list l = { .n = 0, .rc = 0 };
	Cluebus__Context *ctx;
	const uint8_t *rid;
	uint8_t case_id[MESSAGE_ID_LEN];
	int rc;

	*out = NULL;
	if ((rc = context_key(b, m, case_id, &rid)) != 0 || rid == NULL)
		return rc;
	if ((rc = store_aux_walk(b->store, STORE_OBLIGATIONS, rid, MESSAGE_ID_LEN,
	    MESSAGE_ID_LEN, obl_collect, &l)) != 0)
		goto fail_list;
	if (l.n == 0)
		return 0;	/* not (or no longer) a referral the broker tracks */
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL) {
		rc = CB_ENOMEM;
		goto fail_list;
	}
	cluebus__context__init(ctx);
	if ((ctx->obligations = calloc(l.n, sizeof(*ctx->obligations))) == NULL) {
		cluebus__context__free_unpacked(ctx, NULL);
		rc = CB_ENOMEM;
		goto fail_list;
	}
	for (size_t i = 0; i < l.n; i++)
		ctx->obligations[ctx->n_obligations++] = l.o[i];	/* ctx owns them now */
	if ((rc = context_fill(b, ctx, rid)) != 0) {
		cluebus__context__free_unpacked(ctx, NULL);
		return rc;
	}
	*out = ctx;
	return 0;
fail_list:
	obl_list_free(&l);
	return rc;
}

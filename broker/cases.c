/* broker/cases.c — cases and their task forces (专班), two-level supervision, corrections.
 *
 * A case (Art 18) is opened by the police units routing.case_openers names or by an office
 * (the city 反拐办 anywhere, a district office in its own district), with a reference
 * (case_ref), a jurisdiction and task-force members. Its record lives in the store's
 * `cases` database (key 'c' ‖ case_ref), written in the same transaction as the log entry
 * that changed it, so it never disagrees with the log:
 *
 *   (none) --open--> OPEN --add/remove members--> OPEN --close (reason)--> CLOSED
 *
 * Only the opener or an office over the case's district changes or closes it (案件不破、
 * 专班不撤: the task force stays until someone with that right closes it with a reason).
 * Every message carrying the case_ref of an open case also reaches its members.
 *
 * Supervision is two-level (Art 6): the city office supervises any referral, case or unit
 * (district offices among them); a district office only those of its own district, else
 * REJECT_OUT_OF_JURISDICTION. A supervision of a case that is listed (挂牌) or states due
 * times makes each named member (all members when it names none) owe a receipt and a
 * feedback on the case (key: the case's open message id), and tightens the due times of the
 * referrals logged under the case. A supervision of units makes each owe them on the
 * supervision itself. A district office that supervised also gets the escalations.
 *
 * A correction or withdrawal (key 'w' ‖ message id marks a withdrawn one) is from the
 * original's own sender, reaches the original's recipients, and a withdrawal closes the
 * obligations the original created. */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "cases.h"
#include "chain.h"
#include "directory.h"
#include "log.h"
#include "route.h"
#include "unpack.h"
#include "util.h"
#include "workflow.h"

#define CASE_KEY_MAX	(1 + 256)	/* 'c' ‖ case_ref (intake: at most 256 bytes) */
#define CASE_REFERRALS_MAX 256		/* referrals a case record remembers */
#define CASE_VERSION_KEY "v"		/* -> be64 seq of the last case action */

static size_t
case_key(const char *case_ref, uint8_t *out)
{
	size_t len = strnlen(case_ref, CASE_KEY_MAX - 1);

	out[0] = 'c';
	memcpy(out + 1, case_ref, len);
	return 1 + len;
}

static int
case_decode(const uint8_t *val, size_t vlen, Cluebus__CaseRecord **rec)
{
	ProtobufCMessage *pm;
	int rc;

	if ((rc = unpack_stored(&cluebus__case_record__descriptor, val, vlen, &pm)) != 0)
		return rc;
	*rec = (Cluebus__CaseRecord *)pm;
	return 0;
}

/* The record of `case_ref` in the round's transaction: 0, CB_ENOTFOUND or an error. */
static int
case_get(struct broker *b, const char *case_ref, Cluebus__CaseRecord **rec)
{
	uint8_t key[CASE_KEY_MAX];
	const uint8_t *val;
	size_t vlen;
	int rc;

	if (case_ref[0] == '\0')
		return CB_ENOTFOUND;
	if ((rc = store_txn_aux_get(b->txn, STORE_CASES, key, case_key(case_ref, key), &val,
	    &vlen)) != 0)
		return rc;
	return case_decode(val, vlen, rec);
}

static int
case_put(struct broker *b, const Cluebus__CaseRecord *rec)
{
	uint8_t key[CASE_KEY_MAX], *buf;
	size_t len = cluebus__case_record__get_packed_size(rec);
	int rc;

	if ((buf = malloc(len > 0 ? len : 1)) == NULL)
		return CB_ENOMEM;
	cluebus__case_record__pack(rec, buf);
	rc = store_txn_aux_put(b->txn, STORE_CASES, key, case_key(rec->case_ref, key), buf,
	    len);
	free(buf);
	return rc;
}

/* The district office `unit` is, or NULL when it is not one. */
static const reg_unit_t *
cases_district(struct broker *b, const char *unit)
{
	const reg_unit_t *u = registry_unit(b->reg, unit);

	return u != NULL && strcmp(u->role, "district_office") == 0 ? u : NULL;
}

/* Whether `unit` is an office over `jurisdiction`: the city office, or the district office
 * of that division. */
static int
cases_office_over(struct broker *b, const char *unit, const char *jurisdiction)
{
	const reg_unit_t *d;

	if (strcmp(unit, route_office(b->cfg.route)) == 0)
		return 1;
	return (d = cases_district(b, unit)) != NULL &&
	    strcmp(d->division_code, jurisdiction) == 0;
}

static int
strings_has(char *const *s, size_t n, const char *want)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s[i], want) == 0)
			return 1;
	return 0;
}

/* The logged entry and message `id`, from the round's transaction (this round's appends
 * included). Returns 0, CB_ENOTFOUND, CB_ENOMEM, CB_ECORRUPT or a store error; *m is NULL
 * for an entry without an envelope. */
static int
cases_lookup(struct broker *b, const uint8_t *id, Cluebus__LogEntry **e,
    Cluebus__Message **m)
{
	const uint8_t *val, *hash;
	ProtobufCMessage *pm;
	uint64_t seq;
	size_t len;
	int rc;

	*e = NULL;
	*m = NULL;
	if ((rc = store_txn_msgid_get(b->txn, id, &seq)) != 0 ||
	    (rc = store_txn_get(b->txn, seq, &val, &len)) != 0)
		return rc;
	if ((rc = chain_decode(val, len, &hash, e)) != 0)
		return rc == CB_ENOMEM ? rc : CB_ECORRUPT;
	if ((*e)->envelope == NULL)
		return 0;
	if ((rc = unpack_bounded(&cluebus__message__descriptor, (*e)->envelope->signed_.data,
	    (*e)->envelope->signed_.len, &pm)) != 0) {
		cluebus__log_entry__free_unpacked(*e, NULL);
		*e = NULL;
		return rc == CB_ENOMEM ? rc : CB_ECORRUPT;
	}
	*m = (Cluebus__Message *)pm;
	return 0;
}

static void
cases_lookup_free(Cluebus__LogEntry *e, Cluebus__Message *m)
{
	if (m != NULL)
		protobuf_c_message_free_unpacked(&m->base, NULL);
	if (e != NULL)
		cluebus__log_entry__free_unpacked(e, NULL);
}

/* ---- cases ---- */

static int
check_units_registered(struct broker *b, const char *field, char *const *units, size_t n,
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

struct open_count {
	size_t	n;
	int	rc;
};

static int
open_count_one(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct open_count *oc = arg;
	Cluebus__CaseRecord *rec;

	(void)key, (void)klen;
	if ((oc->rc = case_decode(val, vlen, &rec)) != 0)
		return oc->rc;
	if (rec->state == CLUEBUS__CASE_STATE__CASE_STATE_OPEN)
		oc->n++;
	cluebus__case_record__free_unpacked(rec, NULL);
	return 0;
}

/* A new case fits the directory: fewer than DIRECTORY_MAX_TASK_FORCES are open. */
static int
check_open_count(struct broker *b, struct verdict *v)
{
	struct open_count oc = { 0, 0 };
	uint8_t from = 'c';
	int rc;

	rc = store_txn_aux_walk(b->txn, STORE_CASES, &from, 1, 1, open_count_one, &oc);
	if (rc != 0)
		return rc;
	if (oc.n >= DIRECTORY_MAX_TASK_FORCES)
		return reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY,
		    "case_ref", "%zu cases are open, the most the directory lists: close one "
		    "first", oc.n);
	return 0;
}

static int
check_case_open(struct broker *b, const Cluebus__Message *m, struct verdict *v)
{
	const Cluebus__CaseAction *c = m->case_action;
	const reg_unit_t *d = cases_district(b, m->sender);
	char valid[sizeof(v->reason) - 64];
	int rc;

	if (d != NULL && strcmp(d->division_code, c->jurisdiction) != 0)
		return reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_OUT_OF_JURISDICTION,
		    "case.jurisdiction", "a district office opens cases of its own district "
		    "(%s) only", d->division_code);
	if (d == NULL && strcmp(m->sender, route_office(b->cfg.route)) != 0 &&
	    !route_case_opener(b->cfg.route, m->sender))
		return reply_verdict(v, CLUEBUS__REJECT_CODE__REJECT_FORBIDDEN_KIND,
		    "only the police (routing.case_openers) or an office (反拐办) opens a case");
	if (route_jurisdiction_check(b->cfg.route, c->jurisdiction, valid, sizeof(valid)) != 0)
		return reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY,
		    "case.jurisdiction", "'%s' is not a division of this deployment; valid: %s",
		    c->jurisdiction, valid);
	if (c->n_members > DIRECTORY_MAX_CASE_MEMBERS)
		return reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY,
		    "case.members", "a task force has at most %d units (the directory's bound)",
		    DIRECTORY_MAX_CASE_MEMBERS);
	if ((rc = check_open_count(b, v)) != 0 || v->code != 0)
		return rc;
	return check_units_registered(b, "case.members", c->members, c->n_members, v);
}

/* A change to an open case, by its opener or an office over its district. */
static int
check_case_change(struct broker *b, const Cluebus__Message *m,
    const Cluebus__CaseRecord *rec, struct verdict *v)
{
	const Cluebus__CaseAction *c = m->case_action;
	char path[sizeof(v->field)];

	if (rec->state != CLUEBUS__CASE_STATE__CASE_STATE_OPEN)
		return reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY,
		    "case_ref", "the case is closed");
	if (strcmp(m->sender, rec->opener) != 0 &&
	    !cases_office_over(b, m->sender, rec->jurisdiction))
		return reply_verdict(v, CLUEBUS__REJECT_CODE__REJECT_NOT_OWNER,
		    "only the case's opener (%s) or an office (反拐办) over district %s changes "
		    "or closes it", rec->opener, rec->jurisdiction);
	if (c->op == CLUEBUS__CASE_OP__CASE_ADD_MEMBERS) {
		size_t n = rec->n_members;

		for (size_t i = 0; i < c->n_members; i++)
			n += !strings_has(rec->members, rec->n_members, c->members[i]);
		if (n > DIRECTORY_MAX_CASE_MEMBERS)
			return reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY,
			    "case.members", "a task force has at most %d units (the directory's "
			    "bound); it would have %zu", DIRECTORY_MAX_CASE_MEMBERS, n);
		return check_units_registered(b, "case.members", c->members, c->n_members, v);
	}
	for (size_t i = 0; c->op == CLUEBUS__CASE_OP__CASE_REMOVE_MEMBERS &&
	    i < c->n_members; i++) {
		if (strings_has(rec->members, rec->n_members, c->members[i]))
			continue;
		snprintf(path, sizeof(path), "case.members[%zu]", i);
		return reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY, path,
		    "'%s' is not a member of the task force", c->members[i]);
	}
	return 0;
}

static int
check_case_action(struct broker *b, const Cluebus__Message *m, struct verdict *v)
{
	Cluebus__CaseRecord *rec = NULL;
	int rc;

	if ((rc = case_get(b, m->case_ref, &rec)) != 0 && rc != CB_ENOTFOUND)
		return rc;
	if (m->case_action->op == CLUEBUS__CASE_OP__CASE_OPEN) {
		if (rec != NULL)
			rc = reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY,
			    "case_ref", "a case with this reference was opened already (by %s)",
			    rec->opener);
		else
			rc = check_case_open(b, m, v);
	} else if (rec == NULL) {
		rc = reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY,
		    "case_ref", "no case with this reference");
	} else {
		rc = check_case_change(b, m, rec, v);
	}
	if (rec != NULL)
		cluebus__case_record__free_unpacked(rec, NULL);
	return rc;
}

/* The directory lists open cases' task forces: its version counts this case action (the
 * entry appended just before), and it is rebuilt once the round commits. */
static int
apply_directory_version(struct broker *b)
{
	uint8_t val[8];

	be64_put(val, store_txn_next_seq(b->txn) - 1);
	b->directory_dirty = 1;
	return store_txn_aux_put(b->txn, STORE_CASES, CASE_VERSION_KEY,
	    strlen(CASE_VERSION_KEY), val, sizeof(val));
}

static int
apply_case_action(struct broker *b, const Cluebus__Message *m, int64_t now)
{
	const Cluebus__CaseAction *c = m->case_action;
	Cluebus__CaseRecord fresh = CLUEBUS__CASE_RECORD__INIT, *rec = NULL;
	char **members = NULL;
	size_t n = 0;
	int rc;

	if (c->op == CLUEBUS__CASE_OP__CASE_OPEN) {
		fresh.case_ref = m->case_ref;
		fresh.opener = m->sender;
		fresh.jurisdiction = c->jurisdiction;
		fresh.members = c->members;
		fresh.n_members = c->n_members;
		fresh.state = CLUEBUS__CASE_STATE__CASE_STATE_OPEN;
		fresh.opened_ms = now;
		fresh.open_id = m->message_id;
		fresh.title = c->title;
		log_info("case %s opened by %s in %s with %zu task-force members", m->case_ref,
		    m->sender, c->jurisdiction, c->n_members);
		return case_put(b, &fresh);
	}
	if ((rc = case_get(b, m->case_ref, &rec)) != 0)
		return rc;	/* checked before: it is there */
	if (c->op == CLUEBUS__CASE_OP__CASE_CLOSE) {
		Cluebus__CaseRecord view = *rec;	/* borrows the reason */

		view.state = CLUEBUS__CASE_STATE__CASE_STATE_CLOSED;
		view.closed_ms = now;
		view.close_reason = c->reason;
		log_info("case %s closed by %s", m->case_ref, m->sender);
		rc = case_put(b, &view);
		cluebus__case_record__free_unpacked(rec, NULL);
		return rc;
	} else {
		/* The new member list borrows the record's strings and the message's. */
		if ((members = calloc(rec->n_members + c->n_members + 1, sizeof(*members))) ==
		    NULL)
			rc = CB_ENOMEM;
		for (size_t i = 0; rc == 0 && i < rec->n_members; i++)
			if (c->op != CLUEBUS__CASE_OP__CASE_REMOVE_MEMBERS ||
			    !strings_has(c->members, c->n_members, rec->members[i]))
				members[n++] = rec->members[i];
		for (size_t i = 0; rc == 0 && c->op == CLUEBUS__CASE_OP__CASE_ADD_MEMBERS &&
		    i < c->n_members; i++)
			if (!strings_has(members, n, c->members[i]))
				members[n++] = c->members[i];
		log_info("case %s: %s %s %zu task-force members", m->case_ref, m->sender,
		    c->op == CLUEBUS__CASE_OP__CASE_ADD_MEMBERS ? "added" : "removed",
		    c->n_members);
	}
	if (rc == 0 && members != NULL) {
		Cluebus__CaseRecord view = *rec;

		view.members = members;
		view.n_members = n;
		rc = case_put(b, &view);
	} else if (rc == 0) {
		rc = case_put(b, rec);
	}
	free(members);
	cluebus__case_record__free_unpacked(rec, NULL);
	return rc;
}

/* A referral logged under a known case: the case remembers it, so that a supervision of
 * the case reaches its obligations. */
static int
apply_case_referral(struct broker *b, const Cluebus__Message *m)
{
	Cluebus__CaseRecord *rec, view;
	ProtobufCBinaryData *ids;
	int rc;

	if ((rc = case_get(b, m->case_ref, &rec)) != 0)
		return rc == CB_ENOTFOUND ? 0 : rc;
	if (rec->n_referral_ids >= CASE_REFERRALS_MAX) {
		cluebus__case_record__free_unpacked(rec, NULL);
		return 0;
	}
	if ((ids = calloc(rec->n_referral_ids + 1, sizeof(*ids))) == NULL) {
		cluebus__case_record__free_unpacked(rec, NULL);
		return CB_ENOMEM;
	}
	if (rec->n_referral_ids > 0)
		memcpy(ids, rec->referral_ids, rec->n_referral_ids * sizeof(*ids));
	ids[rec->n_referral_ids] = m->message_id;
	view = *rec;
	view.referral_ids = ids;
	view.n_referral_ids = rec->n_referral_ids + 1;
	rc = case_put(b, &view);
	free(ids);
	cluebus__case_record__free_unpacked(rec, NULL);
	return rc;
}

/* An open case's task force hears of every message carrying its case_ref. */
static int
route_case_members(struct broker *b, const Cluebus__Message *m, route_result_t *res)
{
	Cluebus__CaseRecord *rec;
	int rc;

	if ((rc = case_get(b, m->case_ref, &rec)) != 0)
		return rc == CB_ENOTFOUND ? 0 : rc;
	if (rec->state == CLUEBUS__CASE_STATE__CASE_STATE_OPEN)
		for (size_t i = 0; i < rec->n_members; i++)
			route_add(res, rec->members[i], m->sender);
	cluebus__case_record__free_unpacked(rec, NULL);
	return 0;
}

/* ---- supervision ---- */

/* The district of the referral (or case, or petition clue) `rid`: its case's, or its
 * clue's. "" when the log cannot tell. */
static int
supervised_district(struct broker *b, const uint8_t *rid, char *out, size_t outlen)
{
	Cluebus__LogEntry *e, *ce = NULL;
	Cluebus__Message *m, *clue = NULL;
	Cluebus__CaseRecord *rec = NULL;
	int rc;

	out[0] = '\0';
	if ((rc = cases_lookup(b, rid, &e, &m)) != 0)
		return rc == CB_ENOTFOUND ? 0 : rc;
	if (m == NULL) {
		cases_lookup_free(e, m);
		return 0;
	}
	if (m->body_case == CLUEBUS__MESSAGE__BODY_CLUE)
		snprintf(out, outlen, "%s", m->clue->jurisdiction);
	else if (m->body_case == CLUEBUS__MESSAGE__BODY_CASE_ACTION)
		snprintf(out, outlen, "%s", m->case_action->jurisdiction);
	else if ((rc = case_get(b, m->case_ref, &rec)) == 0)
		snprintf(out, outlen, "%s", rec->jurisdiction);
	else if (rc == CB_ENOTFOUND && m->refers_to.len == MESSAGE_ID_LEN &&
	    (rc = cases_lookup(b, m->refers_to.data, &ce, &clue)) == 0 && clue != NULL &&
	    clue->body_case == CLUEBUS__MESSAGE__BODY_CLUE)
		snprintf(out, outlen, "%s", clue->clue->jurisdiction);
	if (rc == CB_ENOTFOUND)
		rc = 0;
	if (rec != NULL)
		cluebus__case_record__free_unpacked(rec, NULL);
	cases_lookup_free(ce, clue);
	cases_lookup_free(e, m);
	return rc;
}

static int
check_supervise_units(struct broker *b, const Cluebus__Message *m, const reg_unit_t *d,
    struct verdict *v)
{
	const Cluebus__Supervision *s = m->supervision;
	char path[sizeof(v->field)];
	int rc;

	if ((rc = check_units_registered(b, "supervision.units", s->units, s->n_units, v)) != 0 ||
	    v->code != 0)
		return rc;
	for (size_t i = 0; i < s->n_units; i++) {
		const reg_unit_t *u = registry_unit(b->reg, s->units[i]);

		snprintf(path, sizeof(path), "supervision.units[%zu]", i);
		if (strcmp(s->units[i], m->sender) == 0)
			return reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY,
			    path, "a unit does not supervise itself");
		if (d == NULL || strcmp(u->division_code, d->division_code) == 0)
			continue;
		return reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_OUT_OF_JURISDICTION,
		    path, "unit '%s' is not in this district office's district (%s)",
		    s->units[i], d->division_code);
	}
	return 0;
}

/* Who may supervise what: the city office anything; a district office (d) its own
 * district's referrals, cases and units. */
static int
check_supervision(struct broker *b, const Cluebus__Message *m, struct verdict *v)
{
	const reg_unit_t *d = cases_district(b, m->sender);
	Cluebus__CaseRecord *rec;
	char district[16];
	int rc;

	if (d == NULL && strcmp(m->sender, route_office(b->cfg.route)) != 0)
		return reply_verdict(v, CLUEBUS__REJECT_CODE__REJECT_FORBIDDEN_KIND,
		    "only the office (反拐办) or a district office puts referrals, cases or units "
		    "under supervision");
	if (m->refers_to.len == MESSAGE_ID_LEN) {
		if (d == NULL)
			return 0;
		if ((rc = supervised_district(b, m->refers_to.data, district,
		    sizeof(district))) != 0)
			return rc;
		if (strcmp(district, d->division_code) != 0)
			return reply_verdict_field(v,
			    CLUEBUS__REJECT_CODE__REJECT_OUT_OF_JURISDICTION, "refers_to",
			    "the referral is in district '%s', not in this district office's (%s)",
			    district, d->division_code);
		return 0;
	}
	if (m->case_ref[0] == '\0')
		return check_supervise_units(b, m, d, v);
	if ((rc = case_get(b, m->case_ref, &rec)) == CB_ENOTFOUND)
		return reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY,
		    "case_ref", "no case with this reference");
	if (rc != 0)
		return rc;
	if (rec->state != CLUEBUS__CASE_STATE__CASE_STATE_OPEN)
		rc = reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY,
		    "case_ref", "the case is closed");
	else if (d != NULL && strcmp(rec->jurisdiction, d->division_code) != 0)
		rc = reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_OUT_OF_JURISDICTION,
		    "case_ref", "the case is in district '%s', not in this district office's (%s)",
		    rec->jurisdiction, d->division_code);
	else
		rc = check_units_registered(b, "supervision.units", m->supervision->units,
		    m->supervision->n_units, v);
	cluebus__case_record__free_unpacked(rec, NULL);
	return rc;
}

/* A supervision of a case (listed, or with due times) or of units makes them owe a
 * receipt and a feedback; of a case, it also tightens its referrals' due times. */
static int
apply_supervision(struct broker *b, const Cluebus__Message *m, int64_t now)
{
	const Cluebus__Supervision *s = m->supervision;
	const char *supervisor = strcmp(m->sender, route_office(b->cfg.route)) != 0 ?
	    m->sender : NULL;
	Cluebus__CaseRecord *rec;
	char *const *units = s->units;
	size_t n = s->n_units;
	int rc = 0;

	if (m->refers_to.len == MESSAGE_ID_LEN)
		return 0;	/* a referral's: workflow.c */
	if (m->case_ref[0] == '\0') {
		for (size_t i = 0; rc == 0 && i < n; i++)
			rc = workflow_oblige(b, m->message_id.data, units[i], m->sender, "",
			    m->priority, now, s->receipt_due_ms, s->feedback_due_ms, supervisor);
		return rc;
	}
	if ((rc = case_get(b, m->case_ref, &rec)) != 0)
		return rc;
	if (n == 0) {
		units = rec->members;
		n = rec->n_members;
	}
	if (s->level == CLUEBUS__SUPERVISION_LEVEL__SUPERVISION_LISTED ||
	    s->receipt_due_ms != 0 || s->feedback_due_ms != 0)
		for (size_t i = 0; rc == 0 && i < n; i++)
			if (strcmp(units[i], m->sender) != 0)
				rc = workflow_oblige(b, rec->open_id.data, units[i], m->sender,
				    rec->case_ref, m->priority, now, s->receipt_due_ms,
				    s->feedback_due_ms, supervisor);
	for (size_t i = 0; rc == 0 && i < rec->n_referral_ids; i++)
		if (rec->referral_ids[i].len == MESSAGE_ID_LEN)
			rc = workflow_supervise(b, rec->referral_ids[i].data, s, supervisor);
	if (rc == 0)
		log_info("case %s under %s supervision of %s: %zu units owe feedback",
		    rec->case_ref, s->level == CLUEBUS__SUPERVISION_LEVEL__SUPERVISION_LISTED ?
		    "listed" : "plain", m->sender, n);
	cluebus__case_record__free_unpacked(rec, NULL);
	return rc;
}

/* ---- corrections and withdrawals ---- */

static size_t
withdrawn_key(const uint8_t *id, uint8_t *out)
{
	out[0] = 'w';
	memcpy(out + 1, id, MESSAGE_ID_LEN);
	return 1 + MESSAGE_ID_LEN;
}

static int
check_correction_of(struct broker *b, const Cluebus__Message *m, const Cluebus__LogEntry *e,
    const Cluebus__Message *orig, route_result_t *res, struct verdict *v)
{
	uint8_t key[1 + MESSAGE_ID_LEN];
	const uint8_t *val;
	char valid[sizeof(v->reason) - 64];
	size_t vlen;
	int rc;

	if (e->type != CLUEBUS__ENTRY_TYPE__ENTRY_MESSAGE || orig == NULL ||
	    strcmp(orig->sender, m->sender) != 0)
		return reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_NOT_OWNER, "refers_to",
		    "only its sender (%s) corrects or withdraws a message",
		    orig != NULL && e->type == CLUEBUS__ENTRY_TYPE__ENTRY_MESSAGE ?
		    orig->sender : "the broker");
	if (orig->body_case == CLUEBUS__MESSAGE__BODY_CORRECTION)
		return reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY,
		    "refers_to", "a correction is not corrected: refer to the original");
	if (orig->body_case == CLUEBUS__MESSAGE__BODY_CASE_ACTION)
		return reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY,
		    "refers_to", "a case changes by kind case (members, or close with a reason), "
		    "not by correction");
	if ((rc = store_txn_aux_get(b->txn, STORE_CASES, key,
	    withdrawn_key(orig->message_id.data, key), &val, &vlen)) == 0)
		return reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY,
		    "refers_to", "the message was withdrawn");
	if (rc != CB_ENOTFOUND)
		return rc;
	if (m->correction->clue != NULL) {
		if (orig->body_case != CLUEBUS__MESSAGE__BODY_CLUE)
			return reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY,
			    "correction.clue", "the original is not a clue");
		if (route_jurisdiction_check(b->cfg.route, m->correction->clue->jurisdiction,
		    valid, sizeof(valid)) != 0)
			return reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY,
			    "correction.clue.jurisdiction",
			    "'%s' is not a division of this deployment; valid: %s",
			    m->correction->clue->jurisdiction, valid);
	}
	for (size_t i = 0; i < e->n_recipients; i++)
		route_add(res, e->recipients[i], m->sender);
	return 0;
}

static int
check_correction(struct broker *b, const Cluebus__Message *m, route_result_t *res,
    struct verdict *v)
{
	Cluebus__LogEntry *e;
	Cluebus__Message *orig;
	int rc;

	if ((rc = cases_lookup(b, m->refers_to.data, &e, &orig)) == CB_ENOTFOUND)
		return reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY,
		    "refers_to", "no message with that id");
	if (rc != 0)
		return rc;
	rc = check_correction_of(b, m, e, orig, res, v);
	cases_lookup_free(e, orig);
	return rc;
}

static int
apply_correction(struct broker *b, const Cluebus__Message *m)
{
	uint8_t key[1 + MESSAGE_ID_LEN];
	char hex[MESSAGE_ID_LEN * 2 + 1];
	int rc;

	hex_encode(m->refers_to.data, MESSAGE_ID_LEN, hex);
	if (m->correction->op != CLUEBUS__CORRECTION_OP__CORRECTION_WITHDRAW) {
		log_info("correction: %s corrected its message %s", m->sender, hex);
		return 0;
	}
	log_info("correction: %s withdrew its message %s", m->sender, hex);
	if ((rc = store_txn_aux_put(b->txn, STORE_CASES, key,
	    withdrawn_key(m->refers_to.data, key), "", 0)) != 0)
		return rc;
	return workflow_close_all(b, m->refers_to.data);
}

/* ---- the interface ---- */

int
cases_check(struct broker *b, const Cluebus__Message *m, route_result_t *res,
    struct verdict *v)
{
	int rc = 0;

	switch (m->body_case) {
	case CLUEBUS__MESSAGE__BODY_CASE_ACTION:
		rc = check_case_action(b, m, v);
		break;
	case CLUEBUS__MESSAGE__BODY_SUPERVISION:
		rc = check_supervision(b, m, v);
		break;
	case CLUEBUS__MESSAGE__BODY_CORRECTION:
		rc = check_correction(b, m, res, v);
		break;
	default:
		break;
	}
	if (rc != 0 || v->code != 0 || m->case_ref[0] == '\0')
		return rc;
	return route_case_members(b, m, res);
}

int
cases_apply(struct broker *b, const Cluebus__Message *m, int64_t now)
{
	int rc;

	switch (m->body_case) {
	case CLUEBUS__MESSAGE__BODY_CASE_ACTION:
		if ((rc = apply_directory_version(b)) != 0)
			return rc;
		return apply_case_action(b, m, now);
	case CLUEBUS__MESSAGE__BODY_REFERRAL:
		return apply_case_referral(b, m);
	case CLUEBUS__MESSAGE__BODY_SUPERVISION:
		return apply_supervision(b, m, now);
	case CLUEBUS__MESSAGE__BODY_CORRECTION:
		return apply_correction(b, m);
	default:
		return 0;
	}
}

/* ---- the case a delivery belongs to (Deliver.context) ---- */

struct record_out {
	size_t			 keylen;
	Cluebus__CaseRecord	*rec;
	int			 rc;
};

static int
record_collect(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct record_out *out = arg;

	(void)key;
	if (klen != out->keylen)
		return 0;	/* a longer reference with this one as its prefix */
	out->rc = case_decode(val, vlen, &out->rec);
	return 1;
}

/* The committed record of `case_ref`: 0 with *rec (free it), CB_ENOTFOUND or an error. */
static int
case_get_committed(store_t *s, const char *case_ref, Cluebus__CaseRecord **rec)
{
	struct record_out out = { .rc = CB_ENOTFOUND };
	uint8_t key[CASE_KEY_MAX];
	int rc;

	*rec = NULL;
	if (case_ref[0] == '\0')
		return CB_ENOTFOUND;
	out.keylen = case_key(case_ref, key);
	rc = store_aux_walk(s, STORE_CASES, key, out.keylen, out.keylen, record_collect, &out);
	if (rc != 0 && rc != 1)
		return rc;
	*rec = out.rec;
	return out.rc;
}

int
cases_open_id(store_t *s, const char *case_ref, uint8_t *id)
{
	Cluebus__CaseRecord *rec;
	int rc;

	if ((rc = case_get_committed(s, case_ref, &rec)) != 0)
		return rc;
	if (rec->open_id.len == MESSAGE_ID_LEN)
		memcpy(id, rec->open_id.data, MESSAGE_ID_LEN);
	else
		rc = CB_ENOTFOUND;
	cluebus__case_record__free_unpacked(rec, NULL);
	return rc;
}

int
cases_context(store_t *s, const Cluebus__Message *m, Cluebus__Context **ctx)
{
	Cluebus__CaseContext cc = CLUEBUS__CASE_CONTEXT__INIT;
	Cluebus__CaseRecord *rec;
	uint8_t *buf = NULL;
	size_t len;
	int rc;

	if ((rc = case_get_committed(s, m->case_ref, &rec)) != 0)
		return rc == CB_ENOTFOUND ? 0 : rc;
	cc.case_ref = rec->case_ref;
	cc.state = rec->state;
	cc.opener = rec->opener;
	cc.jurisdiction = rec->jurisdiction;
	cc.members = rec->members;
	cc.n_members = rec->n_members;
	cc.title = rec->title;
	len = cluebus__case_context__get_packed_size(&cc);
	/* A copy the context owns, freed with it by cluebus__context__free_unpacked. */
	if ((buf = malloc(len > 0 ? len : 1)) == NULL)
		rc = CB_ENOMEM;
	else if (*ctx == NULL && (*ctx = calloc(1, sizeof(**ctx))) == NULL)
		rc = CB_ENOMEM;
	if (rc == 0) {
		if ((*ctx)->base.descriptor == NULL)
			cluebus__context__init(*ctx);
		cluebus__case_context__pack(&cc, buf);
		if ((*ctx)->case_context == NULL &&
		    ((*ctx)->case_context = cluebus__case_context__unpack(NULL, len, buf)) == NULL)
			rc = CB_ENOMEM;
	}
	free(buf);
	cluebus__case_record__free_unpacked(rec, NULL);
	return rc;
}

/* ---- the task force of an open case, for the directory ---- */

struct members_out {
	char	**members;
	size_t	  n;
	int	  rc;
	size_t	  keylen;
};

static int
members_collect(void *arg, const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen)
{
	struct members_out *out = arg;
	Cluebus__CaseRecord *rec;

	(void)key;
	if (klen != out->keylen)
		return 0;	/* a longer reference with this one as its prefix */
	if ((out->rc = case_decode(val, vlen, &rec)) != 0)
		return 1;
	if (rec->state != CLUEBUS__CASE_STATE__CASE_STATE_OPEN) {
		out->rc = CB_ENOTFOUND;
	} else if ((out->members = calloc(rec->n_members + 1, sizeof(char *))) == NULL) {
		out->rc = CB_ENOMEM;
	} else {
		for (; out->n < rec->n_members; out->n++)
			if ((out->members[out->n] = strdup(rec->members[out->n])) == NULL) {
				out->rc = CB_ENOMEM;
				break;
			}
	}
	cluebus__case_record__free_unpacked(rec, NULL);
	return 1;
}

int
cases_members(store_t *s, const char *case_ref, char ***members, size_t *n)
{
	struct members_out out = { .rc = CB_ENOTFOUND };
	uint8_t key[CASE_KEY_MAX];
	int rc;

	*members = NULL;
	*n = 0;
	if (case_ref[0] == '\0')
		return CB_ENOTFOUND;
	out.keylen = case_key(case_ref, key);
	rc = store_aux_walk(s, STORE_CASES, key, out.keylen, out.keylen, members_collect,
	    &out);
	if (rc == 1 || rc == 0)
		rc = out.rc;
	if (rc != 0) {
		cases_members_free(out.members, out.n);
		return rc;
	}
	*members = out.members;
	*n = out.n;
	return 0;
}

void
cases_members_free(char **members, size_t n)
{
	if (members == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(members[i]);
	free(members);
}

/* ---- every open case's task force, for the directory ---- */

struct forces_out {
	directory_task_force_t	*tf;
	size_t			 n;
	int			 rc;
};

static int
forces_collect(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct forces_out *out = arg;
	directory_task_force_t *t;
	Cluebus__CaseRecord *rec;
	char **units;

	(void)key, (void)klen;
	if ((out->rc = case_decode(val, vlen, &rec)) != 0)
		return 1;
	if (rec->state != CLUEBUS__CASE_STATE__CASE_STATE_OPEN || rec->n_members == 0) {
		cluebus__case_record__free_unpacked(rec, NULL);
		return 0;
	}
	if (out->n >= DIRECTORY_MAX_TASK_FORCES || rec->n_members > DIRECTORY_MAX_CASE_MEMBERS) {
		cluebus__case_record__free_unpacked(rec, NULL);
		out->rc = CB_ETOOBIG;
		return 1;
	}
	t = &out->tf[out->n];
	if ((units = calloc(rec->n_members, sizeof(*units))) == NULL ||
	    (t->case_ref = strdup(rec->case_ref)) == NULL) {
		free(units);
		cluebus__case_record__free_unpacked(rec, NULL);
		out->rc = CB_ENOMEM;
		return 1;
	}
	t->units = units;
	out->n++;
	for (; t->n < rec->n_members; t->n++)
		if ((units[t->n] = strdup(rec->members[t->n])) == NULL) {
			out->rc = CB_ENOMEM;
			break;
		}
	cluebus__case_record__free_unpacked(rec, NULL);
	return out->rc != 0;
}

static int
version_read(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	(void)key, (void)klen;
	if (vlen != 8)
		return CB_ECORRUPT;
	*(uint64_t *)arg = be64_get(val);
	return 1;
}

int
cases_task_forces(store_t *s, directory_task_force_t **tf, size_t *n, uint64_t *version)
{
	struct forces_out out = { NULL, 0, 0 };
	uint8_t from = 'c';
	int rc;

	*tf = NULL;
	*n = 0;
	*version = 0;
	rc = store_aux_walk(s, STORE_CASES, CASE_VERSION_KEY, strlen(CASE_VERSION_KEY),
	    strlen(CASE_VERSION_KEY), version_read, version);
	if (rc != 0 && rc != 1)
		return rc;
	if ((out.tf = calloc(DIRECTORY_MAX_TASK_FORCES, sizeof(*out.tf))) == NULL)
		return CB_ENOMEM;
	rc = store_aux_walk(s, STORE_CASES, &from, 1, 1, forces_collect, &out);
	if (rc == 0 || rc == 1)
		rc = out.rc;
	if (rc != 0) {
		cases_task_forces_free(out.tf, out.n);
		return rc;
	}
	*tf = out.tf;
	*n = out.n;
	return 0;
}

void
cases_task_forces_free(directory_task_force_t *tf, size_t n)
{
	if (tf == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < tf[i].n; j++)
			free(tf[i].units[j]);
		free((void *)tf[i].units);
		free((void *)tf[i].case_ref);
	}
	free(tf);
}

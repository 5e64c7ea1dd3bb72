/* lib/casefile_duty.c — the duties of units on referrals, derived from the log as the broker
 * derives its obligations (casefile.h draws the rules and the state machine).
 *
 * The audit re-derives them independently of broker/workflow.c, from what the log records,
 * so that a disagreement between the two shows in the audit instead of being inherited.
 *
 * Invariants (casefile.c's (2) and (3)):
 *   (1) Every duty is on exactly one referral's list, in order of creation; the latest duty
 *       of (referral, unit) is the one receipts, feedbacks and escalations update.
 *   (2) A duty's receipt, feedback and escalation times go from CASEFILE_NONE to a log time
 *       once and never change again: the first receipt / feedback / escalation counts. */
#include <string.h>

#include "casefile_duty.h"
#include "util.h"

/* The message a refers_to names, when it is logged and carries duties. */
static uint32_t
referral_of(const casefile_t *cf, const uint8_t *id)
{
	uint32_t r = casefile_idmap_find(cf, id);

	return r != NOIDX && cf->msgs[r].duties != NOIDX ? r : NOIDX;
}

/* Whether a petition routed to `u` obliges it: a member unit, by the registry records of the
 * log (as the broker decides), or by its id when the log names no role for it. */
static int
unit_is_member(const casefile_t *cf, uint32_t u)
{
	const char *id = cf->units.ent[u].s;

	if (cf->units.ent[u].flag & ROLE_KNOWN)
		return (cf->units.ent[u].flag & ROLE_MEMBER) != 0;
	return strcmp(id, CASEFILE_OFFICE) != 0 &&
	    strncmp(id, CASEFILE_DISTRICT_PREFIX, strlen(CASEFILE_DISTRICT_PREFIX)) != 0;
}

/* Closed, as the broker's obligation state: a feedback other than accepted / in_progress. */
static int
duty_closed(const struct cf_duty *d)
{
	return d->feedback_ms != CASEFILE_NONE &&
	    d->last_status != CLUEBUS__FEEDBACK_STATUS__FEEDBACK_ACCEPTED &&
	    d->last_status != CLUEBUS__FEEDBACK_STATUS__FEEDBACK_IN_PROGRESS;
}

static struct cf_duty *
duty_latest(casefile_t *cf, uint32_t ref, uint32_t unit)
{
	struct cf_duty *found = NULL;

	for (uint32_t d = cf->msgs[ref].duties; d != NOIDX; d = cf->duties[d].next)
		if (cf->duties[d].unit == unit)
			found = &cf->duties[d];
	return found;
}

/* Appends a duty of `unit` on msgs[ref] beginning at `since_ms`. Invalidates pointers into
 * cf->duties. */
static int
duty_add(casefile_t *cf, uint32_t ref, uint32_t unit, uint32_t from_unit, int64_t since_ms,
    int64_t receipt_due_ms, int64_t feedback_due_ms)
{
	struct cf_duty *d;
	uint32_t *link;
	int rc;

	if (cf->n_duties >= IDX_MAX)
		return CB_ETOOBIG;
	if ((rc = casefile_grow(&cf->duties, &cf->cap_duties, cf->n_duties + 1, sizeof(*d))) != 0)
		return rc;
	d = &cf->duties[cf->n_duties];
	memset(d, 0, sizeof(*d));
	d->referral = ref;
	d->unit = unit;
	d->from_unit = from_unit;
	d->next = NOIDX;
	d->since_ms = since_ms;
	d->receipt_due_ms = receipt_due_ms;
	d->feedback_due_ms = feedback_due_ms;
	d->receipt_ms = d->feedback_ms = CASEFILE_NONE;
	d->receipt_esc_ms = d->feedback_esc_ms = CASEFILE_NONE;
	for (link = &cf->msgs[ref].duties; *link != NOIDX; link = &cf->duties[*link].next)
		;
	*link = (uint32_t)cf->n_duties++;
	return 0;
}

static int
duties_of_referral(casefile_t *cf, uint32_t idx, const Cluebus__Referral *r, int64_t t)
{
	uint32_t u;
	int rc;

	for (size_t i = 0; i < r->n_to_units; i++) {
		if (!unit_id_valid(r->to_units[i]) ||
		    strcmp(r->to_units[i], cf->units.ent[cf->msgs[idx].sender].s) == 0)
			continue;	/* a referral never obliges its own sender */
		if ((rc = casefile_strtab_intern(&cf->units, r->to_units[i], &u)) != 0)
			return rc;
		if (cf->msgs[idx].duties != NOIDX && duty_latest(cf, idx, u) != NULL)
			continue;	/* named twice */
		if ((rc = duty_add(cf, idx, u, NOIDX, t, r->receipt_due_ms,
		    r->feedback_due_ms)) != 0)
			return rc;
	}
	return 0;
}

/* A petition clue is a referral to its routed member units (not to the offices). */
static int
duties_of_petition(casefile_t *cf, uint32_t idx, int64_t t)
{
	const struct cf_msg *m = &cf->msgs[idx];
	uint32_t first = m->rcpt, n = m->n_rcpt, sender = m->sender;
	int rc;

	for (uint32_t i = first; i < first + n; i++) {
		uint32_t u = cf->rcpts[i].unit;

		if (u == sender || !unit_is_member(cf, u) ||
		    (cf->msgs[idx].duties != NOIDX && duty_latest(cf, idx, u) != NULL))
			continue;
		if ((rc = duty_add(cf, idx, u, NOIDX, t, 0, 0)) != 0)
			return rc;
	}
	return 0;
}

static void
duty_receipt(casefile_t *cf, const struct cf_msg *m)
{
	uint32_t ref = m->has_refers_to ? referral_of(cf, m->refers_to) : NOIDX;
	struct cf_duty *d;

	if (ref != NOIDX && (d = duty_latest(cf, ref, m->sender)) != NULL &&
	    d->receipt_ms == CASEFILE_NONE)
		d->receipt_ms = m->time_ms;
}

static int
duty_feedback(casefile_t *cf, uint32_t idx, const Cluebus__Feedback *f)
{
	const struct cf_msg *m = &cf->msgs[idx];
	uint32_t ref = m->has_refers_to ? referral_of(cf, m->refers_to) : NOIDX, u;
	uint32_t sender = m->sender;
	int64_t t = m->time_ms;
	struct cf_duty *d;
	int rc;

	if (ref == NOIDX || (d = duty_latest(cf, ref, sender)) == NULL)
		return 0;
	if (d->receipt_ms == CASEFILE_NONE)
		d->receipt_ms = t;	/* a feedback is also the receipt */
	if (d->feedback_ms == CASEFILE_NONE) {
		d->feedback_ms = t;
		d->first_status = m->status;
	}
	d->last_status = m->status;
	if (m->status != CLUEBUS__FEEDBACK_STATUS__FEEDBACK_TRANSFERRED)
		return 0;
	for (size_t i = 0; i < f->n_transferred_to; i++) {
		if (!unit_id_valid(f->transferred_to[i]))
			continue;
		if ((rc = casefile_strtab_intern(&cf->units, f->transferred_to[i], &u)) != 0)
			return rc;
		if ((d = duty_latest(cf, ref, u)) != NULL && !duty_closed(d))
			continue;	/* its duty on this referral is still open */
		if ((rc = duty_add(cf, ref, u, sender, t, 0, 0)) != 0)
			return rc;
	}
	return 0;
}

/* As the broker: a supervision tightens the due time of a step still pending, or sets a new
 * one once that step was escalated. A due time of 0 (the broker's default, not in the log)
 * takes any wanted time. */
static void
step_due_after_supervision(int64_t want, int pending, int64_t *due, uint8_t *esc_pending)
{
	if (want == 0 || !pending || (!*esc_pending && *due != 0 && want >= *due))
		return;
	*due = want;
	*esc_pending = 0;
}

static void
duty_supervision(casefile_t *cf, const struct cf_msg *m, const Cluebus__Supervision *s)
{
	uint32_t ref = m->has_refers_to ? referral_of(cf, m->refers_to) : NOIDX;

	if (ref == NOIDX)
		return;
	for (uint32_t d = cf->msgs[ref].duties; d != NOIDX; d = cf->duties[d].next) {
		struct cf_duty *duty = &cf->duties[d];
		int named = s->n_units == 0;

		for (size_t i = 0; i < s->n_units && !named; i++)
			named = strcmp(s->units[i], cf->units.ent[duty->unit].s) == 0;
		if (!named || duty_closed(duty))
			continue;
		step_due_after_supervision(s->receipt_due_ms, duty->receipt_ms == CASEFILE_NONE,
		    &duty->receipt_due_ms, &duty->receipt_esc_pending);
		step_due_after_supervision(s->feedback_due_ms, duty->feedback_ms == CASEFILE_NONE,
		    &duty->feedback_due_ms, &duty->feedback_esc_pending);
	}
}

static void
duty_escalation(casefile_t *cf, const struct cf_msg *m, const Cluebus__Escalation *x)
{
	const uint8_t *rid = x->referral_id.len == MESSAGE_ID_LEN ? x->referral_id.data :
	    m->has_refers_to ? m->refers_to : NULL;
	const struct cf_esc *esc = m->detail != NOIDX ? &cf->escs[m->detail] : NULL;
	uint32_t ref = rid != NULL && esc != NULL && esc->duty == 0 ? referral_of(cf, rid) :
	    NOIDX;
	struct cf_duty *d;

	if (ref == NOIDX || (d = duty_latest(cf, ref, esc->unit)) == NULL)
		return;
	/* The first escalation of a step is kept; the missed due time fills one the log did
	 * not state (the broker's default for the priority). */
	if (esc->missed == CLUEBUS__MISSED__MISSED_RECEIPT) {
		if (d->receipt_esc_ms == CASEFILE_NONE)
			d->receipt_esc_ms = m->time_ms;
		if (d->receipt_due_ms == 0)
			d->receipt_due_ms = esc->due_ms;
		d->receipt_esc_pending = 1;
	} else {
		if (d->feedback_esc_ms == CASEFILE_NONE)
			d->feedback_esc_ms = m->time_ms;
		if (d->feedback_due_ms == 0)
			d->feedback_due_ms = esc->due_ms;
		d->feedback_esc_pending = 1;
	}
}

int
casefile_duty_apply(casefile_t *cf, uint32_t idx, const Cluebus__Message *m)
{
	const struct cf_msg *msg = &cf->msgs[idx];

	switch (m->body_case) {
	case CLUEBUS__MESSAGE__BODY_CLUE:
		if (m->clue->category == CLUEBUS__CATEGORY__CATEGORY_PETITION &&
		    strcmp(m->sender, CASEFILE_PETITION_UNIT) == 0)
			return duties_of_petition(cf, idx, msg->time_ms);
		return 0;
	case CLUEBUS__MESSAGE__BODY_REFERRAL:
		return duties_of_referral(cf, idx, m->referral, msg->time_ms);
	case CLUEBUS__MESSAGE__BODY_RECEIPT:
		duty_receipt(cf, msg);
		return 0;
	case CLUEBUS__MESSAGE__BODY_FEEDBACK:
		return duty_feedback(cf, idx, m->feedback);
	case CLUEBUS__MESSAGE__BODY_SUPERVISION:
		duty_supervision(cf, msg, m->supervision);
		return 0;
	case CLUEBUS__MESSAGE__BODY_ESCALATION:
		duty_escalation(cf, msg, m->escalation);
		return 0;
	default:
		return 0;
	}
}

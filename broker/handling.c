/* broker/handling.c — H2 clues passed on only within their route or with permission.
 *
 * See broker/handling.h. Invariant: the original route of a clue is what its log entry
 * recorded (the routing decision at the time) plus its sender, never a recomputation, so a
 * routing table changed since does not widen it. */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "envelope.h"
#include "handling.h"

/* A logged message by id, through the round's transaction: its entry and message (free
 * both with chain_entry_free). CB_ENOTFOUND when the id was never logged. */
static int
handling_lookup(struct broker *b, const uint8_t *id, Cluebus__LogEntry **e,
    Cluebus__Message **m)
{
	const uint8_t *val, *hash;
	uint64_t seq;
	size_t len;
	cb_error_t err;
	int rc;

	*e = NULL;
	*m = NULL;
	if ((rc = round_txn(b)) != 0 || (rc = store_txn_msgid_get(b->txn, id, &seq)) != 0 ||
	    (rc = store_txn_get(b->txn, seq, &val, &len)) != 0)
		return rc;
	/* Out of memory is not corruption: the round is aborted and retried. */
	if ((rc = chain_decode(val, len, &hash, e)) == 0)
		rc = (*e)->envelope == NULL ? CB_ECORRUPT : envelope_open((*e)->envelope, m, &err);
	if (rc != 0) {
		chain_entry_free(*e, *m);
		*e = NULL;
		*m = NULL;
		return rc == CB_ENOMEM ? rc : CB_ECORRUPT;
	}
	return 0;
}

static int
on_route(const Cluebus__LogEntry *e, const Cluebus__Message *clue, const char *unit)
{
	if (strcmp(clue->sender, unit) == 0)
		return 1;
	for (size_t i = 0; i < e->n_recipients; i++)
		if (strcmp(e->recipients[i], unit) == 0)
			return 1;
	return 0;
}

static int
permitted(const Cluebus__Message *perm, const Cluebus__Message *clue, const char *unit)
{
	if (perm == NULL || strcmp(perm->sender, clue->sender) != 0)
		return 0;
	for (size_t i = 0; i < perm->permission->n_units; i++)
		if (strcmp(perm->permission->units[i], unit) == 0)
			return 1;
	return 0;
}

/* Units `units[0..n)` named at `field` for passing on what `basis` refers to (the clue, or
 * a permission of it): allowed when the clue is not H2, or each is on its route or
 * permitted. Returns 0 with v->code set when refused, or an error. */
static int
check_passed_on(struct broker *b, const ProtobufCBinaryData *basis, char *const *units,
    size_t n, const char *field, struct verdict *v)
{
	Cluebus__LogEntry *re = NULL, *ce = NULL;
	Cluebus__Message *ref = NULL, *clue = NULL, *perm = NULL;
	int rc;

	if (basis->len != MESSAGE_ID_LEN)
		return 0;
	if ((rc = handling_lookup(b, basis->data, &re, &ref)) != 0)
		return rc == CB_ENOTFOUND ? 0 : rc;
	if (ref->body_case == CLUEBUS__MESSAGE__BODY_PERMISSION) {
		perm = ref;
		rc = handling_lookup(b, ref->refers_to.data, &ce, &clue);
	} else if (ref->body_case == CLUEBUS__MESSAGE__BODY_CLUE) {
		ce = re;
		clue = ref;
		re = NULL;
		ref = NULL;
	}
	if (rc != 0 || clue == NULL || clue->body_case != CLUEBUS__MESSAGE__BODY_CLUE ||
	    clue->clue->handling != CLUEBUS__HANDLING_CODE__HANDLING_H2)
		goto out;
	for (size_t i = 0; i < n; i++) {
		char path[sizeof(v->field)];

		if (on_route(ce, clue, units[i]) || permitted(perm, clue, units[i]))
			continue;
		snprintf(path, sizeof(path), "%s[%zu]", field, i);
		reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_NOT_PERMITTED, path,
		    "the clue is H2 and '%s' was not on its route: its originator '%s' must "
		    "permit it (a permission message the referral refers to)", units[i],
		    clue->sender);
		break;
	}
out:
	chain_entry_free(re, ref);
	chain_entry_free(ce, clue);
	return rc == CB_ENOTFOUND ? 0 : rc;
}

int
handling_check_referral(struct broker *b, const Cluebus__Message *m, struct verdict *v)
{
	return check_passed_on(b, &m->refers_to, m->referral->to_units,
	    m->referral->n_to_units, "referral.to_units", v);
}

int
handling_check_transfer(struct broker *b, const Cluebus__Message *m, struct verdict *v)
{
	Cluebus__LogEntry *e = NULL;
	Cluebus__Message *ref = NULL;
	int rc;

	if (m->feedback->n_transferred_to == 0 || m->refers_to.len != MESSAGE_ID_LEN)
		return 0;
	if ((rc = handling_lookup(b, m->refers_to.data, &e, &ref)) != 0)
		return rc == CB_ENOTFOUND ? 0 : rc;
	if (ref->body_case == CLUEBUS__MESSAGE__BODY_REFERRAL)
		rc = check_passed_on(b, &ref->refers_to, m->feedback->transferred_to,
		    m->feedback->n_transferred_to, "feedback.transferred_to", v);
	chain_entry_free(e, ref);
	return rc;
}

int
handling_check_permission(struct broker *b, const Cluebus__Message *m, struct verdict *v)
{
	Cluebus__LogEntry *e = NULL;
	Cluebus__Message *clue = NULL;
	int rc;

	if ((rc = handling_lookup(b, m->refers_to.data, &e, &clue)) == CB_ENOTFOUND)
		return reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY,
		    "refers_to", "no clue with that id");
	if (rc != 0)
		return rc;
	if (clue->body_case != CLUEBUS__MESSAGE__BODY_CLUE)
		reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY, "refers_to",
		    "not a clue");
	else if (strcmp(clue->sender, m->sender) != 0)
		reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_FORBIDDEN_KIND, "refers_to",
		    "only the clue's originator (%s) may permit passing it on", clue->sender);
	chain_entry_free(e, clue);
	return 0;
}

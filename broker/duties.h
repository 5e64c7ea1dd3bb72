/* broker/duties.h — report duties: follow-ups on referrals and the calendar's periodic
 * reports (broker/duties.c).
 *
 * Beside workflow.c, below pipeline.c and main.c, above round.c: it appends escalations
 * through round_append_own() and never calls up. */
#ifndef CB_DUTIES_H
#define CB_DUTIES_H

#include <jansson.h>

#include "cluebus.pb-c.h"
#include "route.h"

struct broker;
struct verdict;

#define DUTIES_FOLLOW_UPS_MAX	60	/* follow-up periods of one unit on one referral */

/* Checks a verified report against the duties before it is logged: a follow-up report
 * must answer a referral on which its sender owes follow-ups (else v->code is set). What
 * duties add to the recipients depends only on what the sending agent knows, so that it
 * seals to the same set (docs/sealing.md §8): a follow-up report always goes to the unit
 * its follow-ups on that referral are owed to (the referral's sender, the referrer of the
 * sender's obligation on it), met or not; a situation analysis or self-evaluation always
 * goes to its sender's level office (route_add_report_office), whether or not a duty is
 * open. Needs the round's
 * transaction. Returns 0 (v->code set when refused) or an error: the store's, CB_ENOMEM,
 * or CB_ECORRUPT for a duty record that does not parse (the broker must stop). */
int	duties_check(struct broker *b, const Cluebus__Message *m, route_result_t *res,
    struct verdict *v) __attribute__((warn_unused_result));
/* For a message just appended at log time `now`, in the same transaction: a referral
 * asking for follow-ups opens one duty per named unit and period; a report meets the
 * earliest open duty of its type (and referral) of its sender. Returns 0 or an error. */
int	duties_apply(struct broker *b, const Cluebus__Message *m, int64_t now)
    __attribute__((warn_unused_result));
/* Opens the duties of every calendar period that has started since the last opened one
 * (the first start opens only the current period), and escalates each duty whose due time
 * has passed unmet: one broker-signed escalation, logged in the same transaction as the
 * duty's change, so exactly once across restarts. Appends to the round's transaction; the
 * caller commits. Returns 0 or an error for round_store_error(). */
int	duties_tick(struct broker *b) __attribute__((warn_unused_result));
/* Appends to `list` (a JSON array, borrowed) one object per unmet duty whose due time is
 * before `now`, as status.c lists overdue referral duties: referral_id (follow-ups only),
 * case_ref, unit, referrer (the office or unit it is owed to), duty (the report type),
 * due, overdue_s, period_from, period_to. Reads committed data; a record that does not
 * parse is skipped. Cannot fail (out of memory leaves entries out). */
void	duties_overdue(struct broker *b, json_t *list, int64_t now);

#endif

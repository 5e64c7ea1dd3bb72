/* broker/workflow.h — referral obligations, deadlines and escalation (broker/workflow.c).
 *
 * Below pipeline.c and delivery.c, above round.c: it appends escalations and petition
 * supervisions through round_append_own() and never calls up. */
#ifndef CB_WORKFLOW_H
#define CB_WORKFLOW_H

#include "cluebus.pb-c.h"
#include "route.h"

struct broker;
struct verdict;

/* Checks a verified workflow message against the referral state before it is logged, and
 * adds the recipients the state implies (the referrer; the units of a transfer; the obliged
 * units of a supervision). Needs the round's transaction. Returns 0 with v->code set when
 * the message is refused (left as it was when not), or an error: the store's, CB_ENOMEM,
 * or CB_ECORRUPT for an obligation record that does not parse (the broker must stop). */
int	workflow_check(struct broker *b, const Cluebus__Message *m, route_result_t *res,
    struct verdict *v) __attribute__((warn_unused_result));
/* Updates obligations and deadlines for a message just appended at log time `now`, in the
 * same transaction. Returns 0 or a store error (the round must fail). */
int	workflow_apply(struct broker *b, const Cluebus__Message *m, const route_result_t *res,
    int64_t now);
/* Opens `unit`'s obligation on `rid` (a case's open id, a supervision's own id) owed to
 * `referrer`, or, when one is open already, tightens its due times (0: the priority's
 * default for a new one, unchanged for an open one). `supervisor` (may be NULL) is a
 * district office that also gets its escalations. Needs the round's transaction. Returns
 * 0, a store error, CB_ENOMEM or CB_ECORRUPT. */
int	workflow_oblige(struct broker *b, const uint8_t *rid, const char *unit,
    const char *referrer, const char *case_ref, Cluebus__Priority prio, int64_t now,
    int64_t receipt_due, int64_t feedback_due, const char *supervisor)
    __attribute__((warn_unused_result));
/* Applies supervision `s` (its units, due times) to the open obligations on `rid`;
 * `supervisor` (may be NULL) as for workflow_oblige. Returns 0 or an error as above. */
int	workflow_supervise(struct broker *b, const uint8_t *rid, const Cluebus__Supervision *s,
    const char *supervisor) __attribute__((warn_unused_result));
/* Closes every open obligation on `rid` and drops their deadlines (a withdrawn referral).
 * Returns 0 or an error as above. */
int	workflow_close_all(struct broker *b, const uint8_t *rid)
    __attribute__((warn_unused_result));
/* Escalates every deadline that has passed (at most a batch per call), appending to the
 * round's transaction; the caller commits. Returns 0 or an error for round_store_error()
 * (CB_ECORRUPT among them). */
int	workflow_tick(struct broker *b);

/* Builds the context a handler of `m` needs (the referral, case, referred clue's summary,
 * each obliged unit's state and due times) from committed data. *out is NULL when `m` has
 * none; otherwise free it with cluebus__context__free_unpacked(*out, NULL). Returns 0,
 * CB_ENOMEM, a store error, or CB_ECORRUPT for a record that does not parse. */
int	workflow_context(struct broker *b, const Cluebus__Message *m, Cluebus__Context **out);

#endif

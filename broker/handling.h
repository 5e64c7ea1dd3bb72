/* broker/handling.h — handling code H2 enforced on referral (SPEC §4, §10; SIENA's model).
 *
 * An H2 clue may not be passed on without its originator's permission. A referral of it
 * (refers_to the clue) may name only units on the clue's original route (its logged
 * recipients, and its sender); to go further, the originator sends a PERMISSION
 * (refers_to the clue, naming the units), which is logged, and the referral then refers to
 * that permission instead of the clue. A transfer (feedback `transferred_to`) of such a
 * referral is held to the same rule: its new units must be on the clue's route or named by
 * the permission the referral rests on. Anything else is refused with REJECT_NOT_PERMITTED
 * naming the unit. Reads the round's transaction, so a clue or permission accepted earlier
 * in the same round counts. */
#ifndef CB_HANDLING_H
#define CB_HANDLING_H

#include "cluebus.pb-c.h"

struct broker;
struct verdict;

/* A referral's units against its clue's handling code. Returns 0 with v->code set when
 * refused, or an error for round_store_error (the store's, CB_ENOMEM, CB_ECORRUPT). */
int	handling_check_referral(struct broker *b, const Cluebus__Message *m, struct verdict *v)
    __attribute__((warn_unused_result));
/* A transfer's new units (feedback.transferred_to) against the clue its referral passes
 * on. Returns as above. */
int	handling_check_transfer(struct broker *b, const Cluebus__Message *m, struct verdict *v)
    __attribute__((warn_unused_result));
/* A permission refers to a clue that its sender originated. Returns as above. */
int	handling_check_permission(struct broker *b, const Cluebus__Message *m,
    struct verdict *v) __attribute__((warn_unused_result));

#endif

/* lib/casefile_duty.h — the duty state machine of the casefile (internal to
 * lib/casefile*.c; casefile.h describes the rules). */
#ifndef CB_CASEFILE_DUTY_H
#define CB_CASEFILE_DUTY_H

#include <stdint.h>

#include "casefile_index.h"

/* Applies msgs[idx], just indexed with its body fields, to the duties: a referral or
 * petition clue creates them, a receipt, feedback, supervision or escalation updates them.
 * `m` is the message's decoded body, borrowed for the call. Returns 0, CB_ENOMEM or
 * CB_ETOOBIG; on error some duties of msgs[idx] may have been added. */
int	casefile_duty_apply(casefile_t *cf, uint32_t idx, const Cluebus__Message *m)
    __attribute__((warn_unused_result));

#endif

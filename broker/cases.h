/* broker/cases.h — cases and their task forces, two-level supervision, corrections
 * (broker/cases.c).
 *
 * Beside workflow.c, called by pipeline.c before workflow_check() and after
 * workflow_apply(); it calls down into workflow.c for obligations and into round.c. */
#ifndef CB_CASES_H
#define CB_CASES_H

#include <stddef.h>

#include "cluebus.pb-c.h"
#include "route.h"
#include "store.h"

struct broker;
struct verdict;

/* Checks a verified message against the case records before it is logged: who may open,
 * change or close a case; who may supervise what (the city office anything, a district
 * office its own district only); that a correction names the sender's own message. Adds
 * the recipients the records imply (an open case's task force for any message carrying its
 * case_ref; the original's recipients for a correction). Needs the round's transaction.
 * Returns 0 with v->code set when refused (left as it was when not), or an error: the
 * store's, CB_ENOMEM, or CB_ECORRUPT for a record that does not parse. */
int	cases_check(struct broker *b, const Cluebus__Message *m, route_result_t *res,
    struct verdict *v) __attribute__((warn_unused_result));
/* Updates the case records (and the obligations a case's or units' supervision, or a
 * withdrawal, implies) for a message just appended at log time `now`, in the same
 * transaction. Returns 0 or an error (the round must fail). */
int	cases_apply(struct broker *b, const Cluebus__Message *m, int64_t now)
    __attribute__((warn_unused_result));

/* Adds the case `m` carries the case_ref of (its state and task force now, from committed
 * data of `s`) to *ctx as case_context, making *ctx (free it with
 * cluebus__context__free_unpacked) when it is NULL. Nothing when no case has that reference.
 * Returns 0, CB_ENOMEM, CB_ECORRUPT or a store error. */
int	cases_context(store_t *s, const Cluebus__Message *m, Cluebus__Context **ctx)
    __attribute__((warn_unused_result));

/* The id of the message that opened case `case_ref` (the key of the obligations a
 * supervision of the case creates), from committed data of `s`, into `id` (16 bytes).
 * Returns 0, CB_ENOTFOUND, CB_ENOMEM, CB_ECORRUPT or a store error. */
int	cases_open_id(store_t *s, const char *case_ref, uint8_t *id)
    __attribute__((warn_unused_result));

/* The task force of the open case `case_ref` from committed data of `s`: *members is a
 * new array of *n new strings (free with cases_members_free). Returns 0, CB_ENOTFOUND when
 * no case is open under that reference, CB_ENOMEM, CB_ECORRUPT or a store error. (For the
 * signed directory, which lists open cases' members.) */
int	cases_members(store_t *s, const char *case_ref, char ***members, size_t *n)
    __attribute__((warn_unused_result));
void	cases_members_free(char **members, size_t n);

/* Every open case with members (committed data of `s`), for the signed directory: *tf is a
 * new array of *n task forces (free with cases_task_forces_free), *version the log seq of
 * the last case action (0: none). Returns 0, CB_ETOOBIG (more open cases or members than
 * the directory lists, which the checks above prevent), CB_ENOMEM, CB_ECORRUPT or a store
 * error. */
struct directory_task_force;
int	cases_task_forces(store_t *s, struct directory_task_force **tf, size_t *n,
    uint64_t *version) __attribute__((warn_unused_result));
void	cases_task_forces_free(struct directory_task_force *tf, size_t n);

#endif

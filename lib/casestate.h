/* lib/casestate.h — a case's record rebuilt from the audit log (cluebus-audit case).
 *
 * The broker keeps each case's record (opener, jurisdiction, task force, state) in its own
 * database (broker/cases.c); an auditor rebuilds it from the log alone, by the same rules:
 * the `case` messages of the reference in log order (open, add_members, remove_members,
 * close), plus its history: those, the supervisions of the case and the corrections and
 * withdrawals of the case's messages (by their own senders). Messages the broker would have
 * refused are never in the log, so they are applied as they come. */
#ifndef CB_CASESTATE_H
#define CB_CASESTATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "store.h"

#define CASESTATE_UNIT_LEN	33
#define CASESTATE_MEMBERS_MAX	64	/* a case's task force (ROUTE_MAX) */

/* One step of a case's history. Strings are sanitized UTF-8, owned by the record. */
typedef struct casestate_step {
	uint64_t	 seq;
	int64_t		 time_ms;
	char		 sender[CASESTATE_UNIT_LEN];
	char		*what;		/* "open 210302: civil-affairs, education", "close: ..." */
} casestate_step_t;

typedef struct casestate {
	char		 case_ref[257];
	int		 found;		/* an open was logged */
	int		 open;		/* 1 open, 0 closed (when found) */
	char		 opener[CASESTATE_UNIT_LEN];
	char		 jurisdiction[8];
	char		*title, *close_reason;
	int64_t		 opened_ms, closed_ms;	/* log times; 0: not (yet) */
	size_t		 n_members;
	char		 members[CASESTATE_MEMBERS_MAX][CASESTATE_UNIT_LEN];
	size_t		 n_steps;
	casestate_step_t *steps;
} casestate_t;

/* Rebuilds the record of `case_ref` from every entry of `s` (borrowed for the call). Returns
 * 0 with a new record in *out (found == 0 when no case was opened under that reference;
 * free with casestate_free), CB_ECORRUPT for an entry that does not decode, CB_ENOMEM or a
 * store error. */
int	casestate_build(store_t *s, const char *case_ref, casestate_t **out)
    __attribute__((warn_unused_result));
void	casestate_free(casestate_t *cs);
/* Writes the record as text (state, opener, members, then the history). Returns 0 or
 * CB_EIO. */
int	casestate_print(const casestate_t *cs, FILE *fp) __attribute__((warn_unused_result));
/* The record as a new JSON object, or NULL when out of memory. */
json_t	*casestate_json(const casestate_t *cs);

#endif

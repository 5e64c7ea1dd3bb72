/* lib/matchaudit.h — the match notices of a log, explained and checked (cluebus-audit
 * matches).
 *
 * For an auditor: which notices the broker logged in a period, why (which identifier type
 * matched, between which logged clues, under which key version), and whether each notice
 * is true to the log: every clue it names is logged at the seq it gives, with that id, from
 * that unit, under that case, and holds a token of that type and key version whose SHA-256
 * is the notice's token hash (a bundling notice: clues whose token sets hash to it). The
 * auditor needs no key and sees no identifier. */
#ifndef CB_MATCHAUDIT_H
#define CB_MATCHAUDIT_H

#include <stdint.h>

#include <jansson.h>

#include "store.h"

/* The notices logged at times [from_ms, to_ms), in log order, as a new JSON array owned by
 * the caller: {"seq", "time", "reason", "type", "key_version", "token_hash", "recipients",
 * "clues": [{"seq", "message_id", "unit", "case_ref", "category", "time"}], "checked"
 * (true, or the first disagreement with the log as a string)}. Returns 0 with *out,
 * CB_ECORRUPT (an entry does not decode; *bad_seq names it), CB_ENOMEM or CB_ESTORE. */
int	matchaudit_list(store_t *s, int64_t from_ms, int64_t to_ms, json_t **out,
    uint64_t *bad_seq) __attribute__((warn_unused_result));

/* Prints the list as text, one paragraph per notice. Returns the number of notices whose
 * "checked" is not true. */
size_t	matchaudit_print(const json_t *list, FILE *f);

#endif

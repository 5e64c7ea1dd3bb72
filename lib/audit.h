/* lib/audit.h — independent verification of a broker's log (SPEC §8).
 *
 * Reads the log in order and checks, per entry: its recorded hash, its sequence number, its
 * link to the previous entry, its structure, and for every signed message the signature
 * with the key that was valid for its sender at the entry's time — the registry is rebuilt
 * from the log's own registry entries as the walk goes, starting from the broker key of the
 * first entry (or a pinned one). With signatures, it also checks that the broker's indexes
 * agree with the log: every message id maps to its entry (dedup), and the registry index
 * lists exactly the registry records (the broker replays it at start). */
#ifndef CB_AUDIT_H
#define CB_AUDIT_H

#include <stdint.h>

#include "chain.h"
#include "store.h"

typedef struct audit_result {
	uint64_t	entries, messages, rejections, acks, broker_entries;
	uint64_t	bad_seq;		/* first bad entry; 0 when all is well */
	char		reason[256];
	uint8_t		head[CHAIN_HASH_LEN];	/* hash of the last entry */
} audit_result_t;

/* Verifies every entry of `s`. `pinned_broker_key` (32 raw bytes, or NULL to trust the
 * first entry's) must match the broker key the log starts with. `check_signatures` 0 skips
 * signature checks (chain-only mode). Returns 0 when everything checks out, CB_ECORRUPT with
 * res->bad_seq and res->reason set, or CB_ESTORE / CB_ENOMEM. */
int	audit_verify(store_t *s, const uint8_t *pinned_broker_key, int check_signatures,
    audit_result_t *res) __attribute__((warn_unused_result));

#endif

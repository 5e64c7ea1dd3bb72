/* lib/audit.h — independent verification of a broker's log (SPEC §8).
 *
 * Reads the log in order, in one walk, and checks, per entry: its recorded hash, its
 * sequence number, its link to the previous entry, its structure, the stored Merkle tree
 * nodes it completes (recomputed from the entries), and for every signed message the signature
 * with the key that was valid for its sender at the entry's time — the registry is rebuilt
 * from the log's own registry entries as the walk goes, starting from the broker key of the
 * first entry (or a pinned one). With signatures, it also checks that the broker's indexes
 * agree with the log: every message id maps to its entry (dedup), and the registry index
 * lists exactly the registry records (the broker replays it at start). */
#ifndef CB_AUDIT_H
#define CB_AUDIT_H

#include <stdint.h>

#include <jansson.h>

#include "chain.h"
#include "merkle.h"
#include "store.h"

/* One check a verification made, and how many things it checked (entries, tree nodes,
 * signatures ...): `name` is a static string. */
typedef struct audit_check {
	const char	*name;
	uint64_t	 count;
} audit_check_t;

#define AUDIT_CHECKS_MAX	16

/* What a verification found. Checks of their own (checkpoints, receipts ...) add
 * themselves with audit_result_check and name a bad entry with audit_result_fail, so that
 * every front end (text, --json) reports them alike. */
typedef struct audit_result {
	uint64_t	entries, messages, rejections, acks, broker_entries;
	uint64_t	bad_seq;		/* first bad entry; 0 when all is well */
	char		reason[256];
	uint8_t		head[CHAIN_HASH_LEN];	/* hash of the last entry */
	uint8_t		root[MERKLE_HASH_LEN];	/* the tree recomputed from the entries */
	int		tree_stored;		/* 0: the store keeps no tree (a read-only copy
						 * of a log written before it): the root is
						 * recomputed, no node compared */
	audit_check_t	checks[AUDIT_CHECKS_MAX];	/* the checks made, in order */
	size_t		nchecks;
} audit_result_t;

/* Verifies every entry of `s` in one walk: hashes, links, sequence and structure; the
 * Merkle tree recomputed from the entries and compared node by node with the stored one
 * (the entry that completed the first node that differs or is missing is named); and,
 * unless `check_signatures` is 0 (chain-and-tree-only mode), signatures, contents,
 * registry and indexes. `pinned_broker_key` (32 raw bytes, or NULL to trust the first
 * entry's) must match the broker key the log starts with. Returns 0 when everything checks
 * out, CB_ECORRUPT with res->bad_seq and res->reason set, or CB_ESTORE / CB_ENOMEM. */
int	audit_verify(store_t *s, const uint8_t *pinned_broker_key, int check_signatures,
    audit_result_t *res) __attribute__((warn_unused_result));

/* Records that check `name` (static) was made over `count` things; a second call with the
 * same name adds to its count. Returns 0, or CB_ETOOBIG past AUDIT_CHECKS_MAX checks. */
int	audit_result_check(audit_result_t *res, const char *name, uint64_t count)
    __attribute__((warn_unused_result));
/* Names entry `seq` as bad for `reason` (truncated to fit) unless an earlier entry was
 * named already. Returns CB_ECORRUPT. */
int	audit_result_fail(audit_result_t *res, uint64_t seq, const char *reason);

/* The result as a new JSON object (docs/audit.md, "verify --json"): `rc` is what
 * audit_verify (or a later check) returned. Returns NULL when out of memory. */
json_t	*audit_result_json(const audit_result_t *res, int rc);

#endif

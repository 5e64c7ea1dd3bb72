/* lib/receipts.h — the agencies' evidence against a log: receipts with inclusion proofs,
 * checked offline, and cross-checked, with the agencies' checkpoints, against a log copy.
 *
 * A receipt file (sent/NAME.receipt.json, docs/formats.md) holds the message id, seq and
 * entry hash the broker answered with and, once the agent fetched it, "proof" (leaf_index,
 * tree_size, entry: the packed LogEntry in hex, hashes) and "checkpoint" (the signed note
 * the proof was checked against). Offline, receipt_check proves, without the broker's
 * data: the note is signed by the broker's key; the entry hashes to the receipt's entry
 * hash, is entry `seq` and carries the receipt's message id; its leaf is in the note's
 * tree at index seq - 1.
 *
 * Against a log copy (whose chain and tree verified: `cluebus-audit verify` first),
 * receipts_cross_check names every contradiction: a receipt's entry missing beyond the
 * head (the tail was cut), its message elsewhere (reordered), its entry changed or gone
 * (altered or removed), and a checkpoint beyond the head or whose root is not the copy's
 * tree root at its size. The first of them by seq is the first entry removed, altered or
 * reordered.
 *
 * Invariants: every size read from a file is bounded before use (RECEIPT_MAX_FILE, the
 * entry below WIRE_MAX_FRAME, at most MERKLE_MAX_PROOF hashes); a refusal names the field. */
#ifndef CB_RECEIPTS_H
#define CB_RECEIPTS_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "cluebus/err.h"
#include "cluebus/ids.h"
#include "keys.h"
#include "merkle.h"
#include "store.h"

#define RECEIPT_MAX_FILE	(4u << 20)
#define RECEIPT_MAX_ENTRY	(1u << 20)

typedef struct receipt {
	char		 message_id[CB_MESSAGE_ID_HEX_SIZE];
	uint8_t		 msgid[16];
	uint64_t	 seq;
	uint8_t		 entry_hash[32];
	int		 has_proof;	/* proof and checkpoint present */
	uint64_t	 tree_size;
	uint8_t		*entry;		/* owned */
	size_t		 entry_len;
	merkle_proof_t	 proof;
	char		*note;		/* owned */
	size_t		 note_len;
} receipt_t;

/* Parses a receipt file's text. Returns 0 with *r filled (receipt_clear), or
 * CB_EMALFORMED / CB_ETOOBIG / CB_ENOMEM with `err` naming the field. */
int	receipt_parse(const char *json, size_t len, receipt_t *r, cb_error_t *err)
    __attribute__((warn_unused_result));
/* Frees what *r owns. Accepts a cleared or zeroed receipt. */
void	receipt_clear(receipt_t *r);

/* Verifies a signed note with any of `keys[0..nkeys)` under its own origin. Returns 0
 * with *cp, or the error of the last key tried (CB_EBADSIG, CB_EMALFORMED ...) with `err`
 * set. */
int	receipt_note_verify(const char *note, size_t len, cb_key_t *const *keys, size_t nkeys,
    checkpoint_t *cp, cb_error_t *err) __attribute__((warn_unused_result));

/* The offline check of a parsed receipt (see above), the note verified with `keys`.
 * Returns 0 with *cp the receipt's checkpoint; CB_ENOTFOUND (no proof yet); or
 * CB_EMALFORMED / CB_EBADSIG / CB_ECORRUPT with `err` naming what does not hold. */
int	receipt_check(const receipt_t *r, cb_key_t *const *keys, size_t nkeys, checkpoint_t *cp,
    cb_error_t *err) __attribute__((warn_unused_result));

/* The broker's signing keys a log registered (genesis and every rotation), as new keys
 * (free each with key_free, then the array). Returns 0, CB_ESTORE, CB_ENOMEM. */
int	receipts_broker_keys(store_t *s, cb_key_t ***keys, size_t *n)
    __attribute__((warn_unused_result));

/* One contradiction found by a cross-check. */
typedef struct receipts_finding {
	uint64_t	 seq;		/* the first entry it concerns */
	uint64_t	 last;		/* > seq: a range, somewhere in seq..last */
	char		 what[400];
} receipts_finding_t;

typedef struct receipts_result {
	size_t		 receipts, checkpoints, unproven;	/* checked; without proof */
	size_t		 bad_files;	/* files that are not receipts or notes of this log */
	receipts_finding_t *findings;	/* owned; sorted by seq; no range holding an
					 * exact finding */
	size_t		 nfindings;
} receipts_result_t;

/* Cross-checks every *.receipt.json, *.note and alarm.json (its "held" and "offered"
 * notes) file under the directories
 * `dirs[0..ndirs)` (recursively) against the log copy `s`. Problems with the files
 * themselves are printed to stderr and counted in bad_files. Returns 0 with *res
 * (receipts_result_free), or CB_ENOMEM / CB_ESTORE / CB_EIO. */
int	receipts_cross_check(store_t *s, const char *const *dirs, size_t ndirs,
    receipts_result_t *res) __attribute__((warn_unused_result));
void	receipts_result_free(receipts_result_t *res);

/* Checks every stored checkpoint of `s` (its signature with the log's broker keys, its size
 * within the log, its root the tree's), appending findings to `res`. Returns 0 or an
 * error that prevented the check. */
int	receipts_stored_checkpoints(store_t *s, receipts_result_t *res)
    __attribute__((warn_unused_result));

#endif

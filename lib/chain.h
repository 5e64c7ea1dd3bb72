/* lib/chain.h — the hash chain over audit log entries.
 *
 * entry hash = SHA-256("cluebus-entry-v1" || packed LogEntry), and every LogEntry carries
 * the previous entry's hash (32 zero bytes before the first), so each hash commits to the
 * whole history before it. A stored log value is hash || packed LogEntry. */
#ifndef CB_CHAIN_H
#define CB_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "cluebus.pb-c.h"

#define CHAIN_HASH_LEN	32

/* SHA-256 of the concatenation a || b || c (a part of length 0 may be NULL), with OpenSSL's
 * implementation fetched once for the process; shared by the chain and the Merkle tree.
 * Returns 0, CB_ENOMEM or CB_ECRYPTO. */
int	chain_sha256(const void *a, size_t alen, const void *b, size_t blen, const void *c,
    size_t clen, uint8_t out[CHAIN_HASH_LEN]) __attribute__((warn_unused_result));

/* Computes the entry hash of `len` packed bytes. Returns 0 or CB_ECRYPTO. */
int	chain_hash(const uint8_t *entry, size_t len, uint8_t out[CHAIN_HASH_LEN])
    __attribute__((warn_unused_result));

/* What chain_check says of an entry that protobuf-c would need more than
 * unpack_budget(its size) bytes to decode (lib/unpack.h). */
#define CHAIN_WHY_EXPANDS	"entry expands beyond 4 bytes per byte + 64 KiB when decoded"

/* Splits a stored value into its recorded hash and a new LogEntry (free with
 * cluebus__log_entry__free_unpacked(e, NULL)). Checks nothing but the encoding, decoded
 * within unpack_budget() of its size. Returns 0, CB_ECORRUPT, or CB_ENOMEM (says nothing
 * about the entry: retry). */
int	chain_decode(const uint8_t *val, size_t len, const uint8_t **hash,
    Cluebus__LogEntry **e) __attribute__((warn_unused_result));

/* Checks a stored value: its recorded hash equals chain_hash of its bytes, its seq is
 * `seq`, and its prev_hash equals `prev`. Returns 0, or CB_ECORRUPT with `why` (a static
 * string) saying which check failed; CB_ENOMEM / CB_ECRYPTO when it could not tell. */
int	chain_check(const uint8_t *val, size_t len, uint64_t seq,
    const uint8_t prev[CHAIN_HASH_LEN], const char **why) __attribute__((warn_unused_result));
/* The two halves of chain_check_decoded: the recorded hash of a decoded value (independent
 * of every other entry), then its seq and its link to `prev`. */
int	chain_check_hash(const uint8_t *val, size_t len, const char **why)
    __attribute__((warn_unused_result));
int	chain_check_links(const Cluebus__LogEntry *e, uint64_t seq,
    const uint8_t prev[CHAIN_HASH_LEN], const char **why) __attribute__((warn_unused_result));
/* chain_check of a value already decoded (by chain_decode) into `e`. */
int	chain_check_decoded(const uint8_t *val, size_t len, const Cluebus__LogEntry *e,
    uint64_t seq, const uint8_t prev[CHAIN_HASH_LEN], const char **why)
    __attribute__((warn_unused_result));

/* Frees a decoded entry and the message opened from it (either may be NULL). */
void	chain_entry_free(Cluebus__LogEntry *e, Cluebus__Message *m);

#endif

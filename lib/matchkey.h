/* lib/matchkey.h — the city correlation key and the blind tokens computed under it.
 *
 * A blind token is HMAC-SHA256(key, "cluebus-match-v1" || type || 0 || normalised
 * identifier) (OpenSSL EVP_MAC). Agents hold the key, the broker never does: it compares
 * tokens it cannot invert (docs/correlation.md). The key is created by the 反拐办
 * (cluebus-keygen correlation-key) with a version; tokens carry the version, and tokens of
 * different versions never match. The key file is JSON {"type":
 * "cluebus-correlation-key", "version": N, "key": "<64 hex>"}, mode 0600, refused when the
 * group or others may access it. */
#ifndef CB_MATCHKEY_H
#define CB_MATCHKEY_H

#include <stddef.h>
#include <stdint.h>

#include "cluebus/err.h"
#include "cluebus.pb-c.h"

#define MATCHKEY_LEN		32
#define MATCH_TOKEN_LEN		32
#define MATCH_TOKENS_MAX	64	/* tokens of one clue (a broker refuses more) */
#define MATCHKEY_MAX_KEYS	2	/* an agent's current key and the previous one */

#define MATCHKEY_RING_MAX	8	/* keys an agent holds: configured and distributed */

typedef struct matchkey {
	uint32_t	 version;	/* >= 1 */
	uint8_t		 key[MATCHKEY_LEN];
	int64_t		 effective_ms;	/* the key is current from then on (0: always) */
} matchkey_t;

/* Loads a key file into `k` (an optional "effective_ms" member, a distributed key's, sets
 * k->effective_ms; else 0). Returns 0, or CB_EIO (cannot open, not a regular file),
 * CB_EPERM (group/world access), CB_EKEY (not a correlation key file: `err` says why) or
 * CB_ENOMEM. Never logs the key. */
int	matchkey_load(const char *path, matchkey_t *k, cb_error_t *err)
    __attribute__((warn_unused_result));
/* Creates a new random key of `version` in a new file `path` (mode 0600, synced; never
 * overwrites). Returns 0, CB_EEXIST, CB_EIO, CB_ECRYPTO or CB_ENOMEM. */
int	matchkey_create(const char *path, uint32_t version) __attribute__((warn_unused_result));
/* Writes `k` (with its effective_ms) to a new or replaced file `path`, mode 0600, durably
 * (file_write_atomic). Returns 0, CB_EIO or CB_ENOMEM. Never logs the key. */
int	matchkey_save(const char *path, const matchkey_t *k) __attribute__((warn_unused_result));

/* Adds `k` to the ring ring[0..*n) (room for `max`), unless it holds that version already:
 * the first key of a version wins (an agent adds its configured keys first). A full ring
 * drops its lowest version when `k` is higher. Returns 1 (added), 0 (the version was
 * there: *same tells whether its bytes are equal; may be NULL), -1 (full, `k` the lowest).
 * Cannot fail. */
int	matchkey_ring_add(matchkey_t *ring, size_t *n, size_t max, const matchkey_t *k,
    int *same);

/* The keys to tokenise with at `now_ms`: the highest version already effective, then the
 * highest version below it (the previous key, so that clues still match those tokenised
 * before the change-over). Fills out[0..return) with pointers into `ring`; returns 0, 1
 * or 2. Cannot fail. */
size_t	matchkey_ring_pick(const matchkey_t *ring, size_t n, int64_t now_ms,
    const matchkey_t *out[MATCHKEY_MAX_KEYS]);

/* Wipes `k`. Accepts NULL. */
void	matchkey_wipe(matchkey_t *k);

/* The token of an identifier already normalised (identifier_normalize). Returns 0 or
 * CB_ECRYPTO. */
int	matchkey_token(const matchkey_t *k, Cluebus__IdentifierType type, const char *normalised,
    uint8_t out[MATCH_TOKEN_LEN]) __attribute__((warn_unused_result));

/* Adds to a clue the tokens of its identifiers under each of `keys` (nkeys may be 0):
 * every person's id_number written as a resident id number (identifier_looks_resident),
 * and every clue.match_identifiers entry; then removes match_identifiers, so that no
 * identifier in clear is signed. Tokens are deduplicated. Other kinds are left alone.
 * Returns 0; CB_EMALFORMED with `err` (an identifier does not normalise, more than
 * MATCH_TOKENS_MAX tokens, or identifiers given to an agent without a key); CB_ENOMEM;
 * CB_ECRYPTO. On error the message may hold some tokens: the caller discards it. */
int	matchkey_tokenize(Cluebus__Message *m, const matchkey_t *keys, size_t nkeys,
    cb_error_t *err) __attribute__((warn_unused_result));

/* Orders tokens by key version, then bytes (0: the same token). Cannot fail. */
int	matchkey_token_cmp(const Cluebus__MatchToken *x, const Cluebus__MatchToken *y);
/* SHA-256 over a clue's distinct tokens in that order (each as 'T' kv(4, big-endian)
 * token): equal for clues with the same tokens however listed; a bundling notice names its
 * clues by it. Returns 0, CB_ENOMEM or CB_ECRYPTO. */
int	matchkey_token_set_hash(const Cluebus__Clue *c, uint8_t out[32])
    __attribute__((warn_unused_result));

/* SHA-256 of a token, as a match notice names it. Returns 0 or CB_ECRYPTO. */
int	matchkey_token_hash(const uint8_t token[MATCH_TOKEN_LEN], uint8_t out[32])
    __attribute__((warn_unused_result));

#endif

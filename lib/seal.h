/* lib/seal.h — personal data sealed to a message's recipients (SPEC §10, docs/sealing.md).
 *
 * A sender seals bytes (a serialized SealedPersons, or any message of sealed fields) to the
 * units that routing picks: one random content key per message encrypts the bytes once,
 * and the content key is wrapped for each recipient's X25519 sealing key. What is bound:
 * the suite, the message id, the sender and the whole recipient set, so a sealed payload
 * moved to another message, or with a recipient added or removed, does not open. The broker
 * reads the recipient set (seal_recipients) without any key and compares it with its own
 * routing decision.
 *
 * The algorithms are named by a suite id carried in the Sealed message (SEAL_SUITE_*). This
 * build implements suite 1; SM2/SM3/SM4 ids are reserved so they can be added later.
 *
 * Errors of seal_open and seal_recipients, for input from outside (cb_error_t says which
 * field and why):
 *   CB_EMALFORMED  structure wrong: missing suite, bad lengths, recipients not strictly
 *                  sorted or not valid unit ids, empty recipient set
 *   CB_ETOOBIG     more than SEAL_MAX_RECIPIENTS recipients, or ciphertext over the bound
 *   CB_EKEY        unknown suite: this build cannot open it (the message may be fine)
 *   CB_ENOTFOUND   not a recipient: the unit is not in the set, or it was sealed to another
 *                  key of the unit (a rotated key: open with that key)
 *   CB_EBADSIG     authentication failed: damaged ciphertext, nonce, wrapped key or
 *                  ephemeral key, or a payload moved to another message id, sender or set
 * Other codes are local: CB_EINVAL (the caller's arguments), CB_ENOMEM, CB_ECRYPTO. */
#ifndef CB_SEAL_H
#define CB_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "cluebus.pb-c.h"
#include "cluebus/err.h"
#include "sealkey.h"

/* Suite ids (docs/sealing.md has the table). 0 is "absent" and never valid. */
#define SEAL_SUITE_X25519_HKDF_SHA256_AES256GCM	1
#define SEAL_SUITE_SM2_SM3_SM4			2	/* reserved, not implemented */

#define SEAL_MESSAGE_ID_LEN	16
#define SEAL_MAX_RECIPIENTS	64
#define SEAL_MAX_PLAINTEXT	(512 * 1024)	/* ENVELOPE_MAX: sealed bytes fit a message */
#define SEAL_KEY_LEN		32		/* AES-256 content key */
#define SEAL_NONCE_LEN		12		/* AES-GCM nonce */
#define SEAL_TAG_LEN		16		/* AES-GCM tag, appended to the ciphertext */
#define SEAL_WRAPPED_LEN	(SEAL_KEY_LEN + SEAL_TAG_LEN)

/* One recipient: its unit id and its public sealing key, both borrowed for the call. */
typedef struct seal_recipient {
	const char		*unit;
	const sealkey_t		*key;
} seal_recipient_t;

/* What the seal is bound to, borrowed for the call. */
typedef struct seal_binding {
	const uint8_t		*message_id;	/* SEAL_MESSAGE_ID_LEN bytes */
	const char		*sender;	/* unit id */
} seal_binding_t;

/* Seals `len` bytes of `plain` to `n` recipients (any order; they are sorted by unit id)
 * with suite 1: fresh content key, nonce and per-recipient ephemeral keys from OpenSSL's
 * CSPRNG. On success *out is a new Sealed owned by the caller, freed with seal_free; it is
 * laid out as protobuf-c unpacks (every field from malloc), so a message it is attached to
 * may instead free it with protobuf_c_message_free_unpacked(..., NULL). Returns 0;
 * CB_EINVAL (n is 0 or over SEAL_MAX_RECIPIENTS, a unit id invalid or repeated, a key
 * missing, sender invalid); CB_ETOOBIG (len over SEAL_MAX_PLAINTEXT); CB_ENOMEM;
 * CB_ECRYPTO. `err` (may be NULL) says which argument. Borrows everything. */
int	seal_encrypt(const seal_binding_t *b, const seal_recipient_t *rcpt, size_t n,
    const void *plain, size_t len, Cluebus__Sealed **out, cb_error_t *err)
    __attribute__((warn_unused_result));

/* Test vectors only (docs/sealing.md, tests/tools/sealvector.c): seal_encrypt with the
 * content key, nonce and each recipient's ephemeral private key given by the caller
 * instead of drawn at random. `eph_private[i]` belongs to rcpt[i] as given, before sorting.
 * Reusing any of them breaks the construction: never call this to send. */
int	seal_encrypt_fixed(const seal_binding_t *b, const seal_recipient_t *rcpt, size_t n,
    const void *plain, size_t len, const uint8_t content_key[SEAL_KEY_LEN],
    const uint8_t nonce[SEAL_NONCE_LEN], const uint8_t (*eph_private)[SEALKEY_PRIVATE_LEN],
    Cluebus__Sealed **out, cb_error_t *err) __attribute__((warn_unused_result));

/* Opens `s` as recipient `unit` holding private sealing key `key`. On success *plain is a
 * new buffer of *len bytes (plus a NUL not counted) that the caller owns and releases with
 * seal_plain_free. Returns 0 or a code from the table at the top; CB_EINVAL when `key` has
 * no private half. Nothing is allocated on error. Borrows everything. */
int	seal_open(const Cluebus__Sealed *s, const seal_binding_t *b, const char *unit,
    const sealkey_t *key, uint8_t **plain, size_t *len, cb_error_t *err)
    __attribute__((warn_unused_result));

/* Checks the structure of `s` that needs no key (suite known, lengths, bounds, recipients
 * strictly sorted valid unit ids) and points units[0..*n) at its recipients' unit ids in
 * sorted order; `units` has room for SEAL_MAX_RECIPIENTS. The pointers borrow from `s`.
 * Returns 0 or CB_EMALFORMED / CB_ETOOBIG / CB_EKEY (unknown suite) with `err` set. */
int	seal_recipients(const Cluebus__Sealed *s, const char *units[SEAL_MAX_RECIPIENTS],
    size_t *n, cb_error_t *err) __attribute__((warn_unused_result));

/* Whether the recipient set of a well-formed `s` (seal_recipients returned 0) is exactly
 * `units[0..n)`, given in any order; a repeated unit in `units` makes them differ. Cannot
 * fail: returns 1 or 0. */
int	seal_recipients_equal(const Cluebus__Sealed *s, const char *const *units, size_t n);

/* Frees a Sealed made by seal_encrypt. Accepts NULL. */
void	seal_free(Cluebus__Sealed *s);
/* Wipes and frees a plaintext returned by seal_open. Accepts NULL. */
void	seal_plain_free(uint8_t *plain, size_t len);

/* A static name for a suite id ("x25519-hkdf-sha256-aes256gcm", "sm2-sm3-sm4 (reserved)",
 * "unknown"). Cannot fail. */
const char *seal_suite_name(uint32_t suite);

#endif

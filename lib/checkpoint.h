/* lib/checkpoint.h — signed tree heads as C2SP tlog-checkpoints in C2SP signed notes.
 *
 * A checkpoint (c2sp.org/tlog-checkpoint) is the text
 *
 *	<origin>\n<tree size in decimal>\n<base64 of the RFC 9162 root>\n[<extension>\n]...
 *
 * and a signed note (c2sp.org/signed-note) is that text, an empty line, then one or more
 * lines "— <key name> <base64(key hash || signature)>\n" (U+2014, a space). For an Ed25519
 * key the key hash is the first 4 bytes of SHA-256(key name || 0x0A || 0x01 || public
 * key) and the signature covers the text with its final newline. A verifier key ("vkey"),
 * the string agents and auditors are configured with, is
 * "<key name>+<8 lowercase hex digits of the key hash>+<base64(0x01 || public key)>".
 *
 * Invariants: (1) every size read from outside is bounded before it is used
 * (CHECKPOINT_NOTE_MAX, CHECKPOINT_NAME_MAX, CHECKPOINT_TEXT_MAX, CHECKPOINT_MAX_SIGS);
 * (2) parsing is strict — every MUST of the two specifications, canonical base64, no
 * leading zero — and a refusal names the line ("line 2") and the reason in a cb_error_t;
 * (3) a signature line whose name and key hash both match the verifier must verify, and
 * one such line must be present; lines of other keys are checked for syntax only and
 * otherwise ignored, as the signed-note specification requires. */
#ifndef CB_CHECKPOINT_H
#define CB_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "cluebus/err.h"
#include "keys.h"
#include "merkle.h"

#define CHECKPOINT_NAME_MAX	255	/* bytes of an origin or a key name */
#define CHECKPOINT_TEXT_MAX	4096	/* bytes of the signed text */
#define CHECKPOINT_NOTE_MAX	16384	/* bytes of a whole note */
#define CHECKPOINT_MAX_SIGS	32	/* signature lines (the specification asks for 16) */
#define CHECKPOINT_KEY_HASH_LEN	4
/* "name+xxxxxxxx+" and the base64 of 33 bytes, with its NUL */
#define CHECKPOINT_VKEY_MAX	(CHECKPOINT_NAME_MAX + 1 + 8 + 1 + 44 + 1)

/* A tree head. `extensions` holds the extension lines, each ending in a newline ("" when
 * there are none). */
typedef struct checkpoint {
	char		origin[CHECKPOINT_NAME_MAX + 1];
	uint64_t	size;
	uint8_t		root[MERKLE_HASH_LEN];
	char		extensions[CHECKPOINT_TEXT_MAX + 1];
} checkpoint_t;

/* A public key under its name, as a vkey describes it. */
typedef struct checkpoint_verifier checkpoint_verifier_t;

/* The key hash of an Ed25519 key under `name`. Returns 0, CB_ENOMEM or CB_ECRYPTO. */
int	checkpoint_key_hash(const char *name, const uint8_t pub[KEY_PUBLIC_LEN],
    uint8_t out[CHECKPOINT_KEY_HASH_LEN]) __attribute__((warn_unused_result));
/* Writes the vkey of `k` under `name` into `out` (NUL-terminated). Returns 0, CB_EINVAL
 * (`name` is not a valid key name), CB_ENOMEM or CB_ECRYPTO. */
int	checkpoint_vkey(const char *name, const cb_key_t *k, char out[CHECKPOINT_VKEY_MAX])
    __attribute__((warn_unused_result));

/* Reads a vkey. Returns 0 with a new verifier in *out (free with checkpoint_verifier_free);
 * CB_EMALFORMED or CB_ETOOBIG with `err` naming the part ("name", "key hash", "key") and
 * the reason — a key hash that does not match the name and key is refused; CB_EKEY (not
 * an Ed25519 key); CB_ENOMEM or CB_ECRYPTO. */
int	checkpoint_verifier_parse(const char *vkey, checkpoint_verifier_t **out,
    cb_error_t *err) __attribute__((warn_unused_result));
/* A verifier of `k`'s signatures under `name` (the public key is copied). Returns 0,
 * CB_EINVAL (invalid name), CB_EKEY, CB_ENOMEM or CB_ECRYPTO. */
int	checkpoint_verifier_new(const char *name, const cb_key_t *k,
    checkpoint_verifier_t **out) __attribute__((warn_unused_result));
/* The verifier's key name, borrowed until checkpoint_verifier_free(v). Cannot fail. */
const char *checkpoint_verifier_name(const checkpoint_verifier_t *v);
/* Frees a verifier. Accepts NULL. */
void	checkpoint_verifier_free(checkpoint_verifier_t *v);

/* Writes the checkpoint text of `cp` into out[0..*len) and a NUL. Returns 0, CB_EINVAL
 * (an empty or invalid origin, an extension line that is empty or holds a control
 * character, a size above MERKLE_MAX_SIZE) or CB_ETOOBIG (longer than CHECKPOINT_TEXT_MAX
 * or than `cap` - 1). */
int	checkpoint_format(const checkpoint_t *cp, char *out, size_t cap, size_t *len)
    __attribute__((warn_unused_result));
/* Signs `text` (a note text: valid UTF-8, no control character but newline, ending in a
 * newline) with `k` under `name` and writes the signed note into out[0..*len) and a NUL.
 * Returns 0, CB_EINVAL (bad text or name, a public-only key), CB_ETOOBIG (beyond
 * CHECKPOINT_NOTE_MAX or `cap` - 1), CB_ENOMEM or CB_ECRYPTO. */
int	checkpoint_note_sign(const char *text, size_t text_len, const char *name,
    const cb_key_t *k, char *out, size_t cap, size_t *len) __attribute__((warn_unused_result));
/* checkpoint_format then checkpoint_note_sign. */
int	checkpoint_sign(const checkpoint_t *cp, const char *name, const cb_key_t *k, char *out,
    size_t cap, size_t *len) __attribute__((warn_unused_result));

/* Checks the syntax of the signed note note[0..len) and the signatures of `v`'s key.
 * Returns 0 with *text_len, the length of the signed text (note[0..*text_len)); or, with
 * `err` naming the line: CB_ETOOBIG (a bound of invariant (1)), CB_EMALFORMED (the note's
 * syntax), CB_EBADSIG (a signature of `v`'s key does not verify, or there is none);
 * CB_ENOMEM or CB_ECRYPTO when it could not tell. */
int	checkpoint_note_open(const char *note, size_t len, const checkpoint_verifier_t *v,
    size_t *text_len, cb_error_t *err) __attribute__((warn_unused_result));
/* Parses a signed checkpoint without checking any signature (to show one, or to choose
 * the key that should have signed it): the note's syntax and the checkpoint's. Returns 0
 * with *cp filled, or CB_ETOOBIG / CB_EMALFORMED with `err` naming the line. */
int	checkpoint_parse(const char *note, size_t len, checkpoint_t *cp, cb_error_t *err)
    __attribute__((warn_unused_result));
/* checkpoint_note_open, then the checkpoint's syntax, and its origin must be `v`'s key
 * name. Returns 0 with *cp filled, or the errors of both (a foreign origin is
 * CB_EMALFORMED on line 1). */
int	checkpoint_verify(const char *note, size_t len, const checkpoint_verifier_t *v,
    checkpoint_t *cp, cb_error_t *err) __attribute__((warn_unused_result));

#endif

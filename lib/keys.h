/* lib/keys.h — Ed25519 signing keys: keys and key files through OpenSSL EVP, signatures
 * made and verified with libsodium (the same bytes OpenSSL would make).
 *
 * A key is a private+public pair (loaded from a unit's private key file) or a public key
 * alone (from the registry). Private key files are PEM PKCS#8, created mode 0600; loading
 * refuses a file that is group- or world-accessible. A key id is the first 8 bytes of
 * SHA-256 over the raw 32-byte public key. */
#ifndef CB_KEYS_H
#define CB_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define KEY_PUBLIC_LEN	32
#define KEY_ID_LEN	8
#define KEY_SIG_LEN	64

typedef struct cb_key cb_key_t;

/* Generates a new private key. Returns 0, CB_ECRYPTO or CB_ENOMEM. The caller owns *out
 * (key_free). */
int	key_generate(cb_key_t **out) __attribute__((warn_unused_result));
/* Loads a private key file. Returns 0, CB_EPERM (mode allows group/world access),
 * CB_EIO (cannot open), CB_EKEY (not an Ed25519 private key), CB_ECRYPTO or CB_ENOMEM.
 * The caller owns *out (key_free). */
int	key_load_private(const char *path, cb_key_t **out) __attribute__((warn_unused_result));
/* Loads a PEM public key file. Returns 0, CB_EIO, CB_EKEY or CB_ENOMEM. */
int	key_load_public(const char *path, cb_key_t **out) __attribute__((warn_unused_result));
/* Makes a public-only key from 32 raw bytes. Returns 0, CB_EKEY or CB_ENOMEM. */
int	key_from_public(const uint8_t *raw, size_t len, cb_key_t **out)
    __attribute__((warn_unused_result));
/* Writes the private key as PEM to a new file of mode 0600; refuses to overwrite.
 * Returns 0, CB_EEXIST, CB_EIO or CB_ECRYPTO. */
int	key_save_private(const cb_key_t *k, const char *path) __attribute__((warn_unused_result));
/* Writes the public key as PEM (mode 0644), replacing any file. Returns 0, CB_EIO or
 * CB_ECRYPTO. */
int	key_save_public(const cb_key_t *k, const char *path) __attribute__((warn_unused_result));

/* Borrowed pointers into `k`, valid until key_free(k). Cannot fail. */
const uint8_t *key_public(const cb_key_t *k);	/* KEY_PUBLIC_LEN bytes */
const uint8_t *key_id(const cb_key_t *k);	/* KEY_ID_LEN bytes */
int	key_has_private(const cb_key_t *k);

/* Signs `len` bytes into sig[KEY_SIG_LEN] (RFC 8032 Ed25519, deterministic). Returns 0,
 * CB_EINVAL (public-only key) or CB_ECRYPTO. Allocates nothing; safe to call from several
 * threads with the same key. */
int	key_sign(const cb_key_t *k, const void *msg, size_t len, uint8_t sig[KEY_SIG_LEN])
    __attribute__((warn_unused_result));
/* Verifies `sig` over `len` bytes. Returns 0 when valid, else CB_EBADSIG (including a
 * signature of the wrong length) or CB_ECRYPTO. */
int	key_verify(const cb_key_t *k, const void *msg, size_t len, const uint8_t *sig,
    size_t siglen) __attribute__((warn_unused_result));

/* Frees a key, wiping private material (the EVP key's and libsodium's copy). Accepts
 * NULL. */
void	key_free(cb_key_t *k);

#endif

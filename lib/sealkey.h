/* lib/sealkey.h — X25519 sealing keys through OpenSSL EVP (SPEC §3, §10).
 *
 * Every unit has a sealing key beside its Ed25519 signing key: senders seal personal data to
 * the public half (lib/seal.h), the unit opens it with the private half. A key is a
 * private+public pair (from the unit's private key file) or a public key alone (from the
 * registry or the directory, as 32 raw bytes). Files follow lib/keys.h: private keys are PEM
 * PKCS#8 created mode 0600, and loading refuses a file that group or world may access. A key
 * id is derived as for signing keys: the first 8 bytes of SHA-256 over the raw 32-byte public
 * key (RFC 7748 encoding), so anyone holding the public key computes the same id. */
#ifndef CB_SEALKEY_H
#define CB_SEALKEY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#define SEALKEY_PUBLIC_LEN	32
#define SEALKEY_PRIVATE_LEN	32
#define SEALKEY_ID_LEN		8

typedef struct sealkey sealkey_t;

/* Generates a new private key from OpenSSL's CSPRNG. Returns 0, CB_ECRYPTO or CB_ENOMEM. */
int	sealkey_generate(sealkey_t **out) __attribute__((warn_unused_result));
/* Makes a private key from 32 raw bytes (RFC 7748 scalar; clamping is X25519's own). For
 * test vectors and tools that derive keys from fixed seeds; units use sealkey_generate.
 * Borrows `raw`. Returns 0, CB_EKEY (wrong length) or CB_ENOMEM. */
int	sealkey_from_private(const uint8_t *raw, size_t len, sealkey_t **out)
    __attribute__((warn_unused_result));
/* Makes a public-only key from 32 raw bytes (as the registry and directory carry them).
 * Borrows `raw`. Returns 0, CB_EKEY (wrong length) or CB_ENOMEM. */
int	sealkey_from_public(const uint8_t *raw, size_t len, sealkey_t **out)
    __attribute__((warn_unused_result));
/* Loads a private key file. Returns 0, CB_EPERM (mode allows group/world access), CB_EIO
 * (cannot open, not a regular file), CB_EKEY (not an X25519 private key) or CB_ENOMEM. */
int	sealkey_load_private(const char *path, sealkey_t **out)
    __attribute__((warn_unused_result));
/* Loads a PEM public key file. Returns 0, CB_EIO, CB_EKEY (not an X25519 key) or
 * CB_ENOMEM. */
int	sealkey_load_public(const char *path, sealkey_t **out)
    __attribute__((warn_unused_result));
/* Writes the private key as PEM to a new file of mode 0600; refuses to overwrite. Returns 0,
 * CB_EINVAL (public-only key), CB_EEXIST, CB_EIO or CB_ECRYPTO; on error no file is left. */
int	sealkey_save_private(const sealkey_t *k, const char *path)
    __attribute__((warn_unused_result));
/* Writes the public key as PEM (mode 0644), replacing any file. Returns 0, CB_EIO or
 * CB_ECRYPTO. */
int	sealkey_save_public(const sealkey_t *k, const char *path)
    __attribute__((warn_unused_result));

/* Borrowed pointers into `k`, valid until sealkey_free(k). Cannot fail. */
const uint8_t *sealkey_public(const sealkey_t *k);	/* SEALKEY_PUBLIC_LEN bytes */
const uint8_t *sealkey_id(const sealkey_t *k);		/* SEALKEY_ID_LEN bytes */
int	sealkey_has_private(const sealkey_t *k);
/* The OpenSSL key, borrowed until sealkey_free(k), for lib/seal.c. Cannot fail. */
EVP_PKEY *sealkey_pkey(const sealkey_t *k);

/* Frees a key; OpenSSL cleanses the private scalar. Accepts NULL. */
void	sealkey_free(sealkey_t *k);

#endif

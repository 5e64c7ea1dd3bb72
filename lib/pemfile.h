/* lib/pemfile.h — key files in PEM, of any key type (signing keys.c, sealing sealkey.c),
 * and the facts both derive from a key: its raw public bytes and its key id.
 *
 * Private keys are PKCS#8 in a new file of mode 0600, never overwritten; reading one refuses
 * a file that is not regular or that the group or others may access at all (checked with
 * fstat on the opened file, not on the path). Public keys are SubjectPublicKeyInfo, mode
 * 0644. What type of key a file holds is the caller's to check. */
#ifndef CB_PEMFILE_H
#define CB_PEMFILE_H

#include <openssl/evp.h>

/* Reads a private key. Returns 0 with *out (the caller frees it with EVP_PKEY_free),
 * CB_EIO (cannot open, not a regular file), CB_EPERM (group/world access) or CB_EKEY (not
 * a PEM private key). */
int	pemfile_read_private(const char *path, EVP_PKEY **out)
    __attribute__((warn_unused_result));
/* Reads a public key. Returns 0 with *out (caller frees), CB_EIO or CB_EKEY. */
int	pemfile_read_public(const char *path, EVP_PKEY **out) __attribute__((warn_unused_result));
/* Writes `pkey`'s private half to a new file of mode 0600 (`private`), refusing to
 * overwrite, or its public half (mode 0644, replacing any file), synced. On failure the
 * file is removed. Returns 0, CB_EEXIST, CB_EIO or CB_ECRYPTO. Borrows `pkey`. */
int	pemfile_write(EVP_PKEY *pkey, const char *path, int private)
    __attribute__((warn_unused_result));

/* Checks that `pkey` is of `type` (EVP_PKEY_ED25519, EVP_PKEY_X25519) and writes its raw
 * 32-byte public key to `pub` and its key id, the first 8 bytes of SHA-256 over `pub`, to
 * `id`. Returns 0, CB_EKEY (another type) or CB_ECRYPTO. Borrows `pkey`. */
int	pemfile_key_public(EVP_PKEY *pkey, int type, uint8_t pub[32], uint8_t id[8])
    __attribute__((warn_unused_result));

#endif

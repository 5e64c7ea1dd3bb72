/* lib/transport.h — CURVE transport keys (ZeroMQ's CurveZMQ) of units and the broker.
 *
 * Every agent <-> broker connection is encrypted and authenticated with CURVE: the broker
 * admits only transport keys of registered, unrevoked units (its ZAP handler) and so knows
 * which unit each connection belongs to. A secret key file holds the Z85-encoded secret key
 * (40 characters and a newline), created mode 0600 and refused when group- or
 * world-accessible; the public key file holds the Z85 public key. Registry files carry the
 * public key as Z85 too; the log stores it as 32 raw bytes. */
#ifndef CB_TRANSPORT_H
#define CB_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#define TRANSPORT_Z85_LEN	40	/* characters of a Z85 key, without the NUL */
#define TRANSPORT_KEY_LEN	32	/* raw bytes */

typedef struct transport_keypair {
	char	public_z85[TRANSPORT_Z85_LEN + 1];
	char	secret_z85[TRANSPORT_Z85_LEN + 1];
} transport_keypair_t;

/* Creates DIR/NAME.curve (secret, 0600, never overwritten) and DIR/NAME.curve.pub.
 * Returns 0, CB_EEXIST, CB_EIO or CB_ECRYPTO. */
int	transport_keygen(const char *dir, const char *name) __attribute__((warn_unused_result));
/* Loads a secret key file and derives its public key. Returns 0, CB_EPERM (group/world
 * access), CB_EIO or CB_EKEY (not a Z85 key). Wipe `kp` with OPENSSL_cleanse after use. */
int	transport_load_secret(const char *path, transport_keypair_t *kp)
    __attribute__((warn_unused_result));
/* Loads a public key file. Returns 0, CB_EIO or CB_EKEY. */
int	transport_load_public(const char *path, char public_z85[TRANSPORT_Z85_LEN + 1])
    __attribute__((warn_unused_result));
/* Z85 <-> raw. Return 0 or CB_EKEY. */
int	transport_z85_decode(const char *z85, uint8_t raw[TRANSPORT_KEY_LEN])
    __attribute__((warn_unused_result));
int	transport_z85_encode(const uint8_t *raw, size_t len, char z85[TRANSPORT_Z85_LEN + 1])
    __attribute__((warn_unused_result));

#endif

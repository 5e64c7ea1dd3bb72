/* lib/corrkeymsg.h — the correlation_key body (Kind 15): the office's city correlation key,
 * sealed to the receiving units (docs/correlation.md §6).
 *
 * The body is outside input to every receiving agent: corrkeymsg_decode checks what needs
 * no key (version, effective time, the seal's structure) and corrkeymsg_key_check checks
 * the opened plaintext, which must be exactly the key. A damaged or wrongly sized key is
 * an error naming the field, never a key to install. */
#ifndef CB_CORRKEYMSG_H
#define CB_CORRKEYMSG_H

#include <stddef.h>
#include <stdint.h>

#include "cluebus.pb-c.h"
#include "cluebus/err.h"

#define CORRKEYMSG_KEY_LEN	32	/* HMAC-SHA256 key bytes (lib/matchkey.c) */

/* Checks a CorrelationKey body's to_units: at most SEAL_MAX_RECIPIENTS unit ids, none
 * repeated (empty: every unit with a sealing key). Returns 0 or CB_EMALFORMED naming the
 * entry ("correlation_key.to_units[2]"). Cannot fail otherwise. */
int	corrkeymsg_units_check(const Cluebus__CorrelationKey *b, cb_error_t *err)
    __attribute__((warn_unused_result));

/* Checks a CorrelationKey body: version at least 1, effective_ms not negative, to_units
 * (corrkeymsg_units_check), sealed_key present and well formed (seal_recipients). Returns 0, or CB_EMALFORMED / CB_ETOOBIG /
 * CB_EKEY with `err` naming the field. Cannot fail otherwise. */
int	corrkeymsg_check(const Cluebus__CorrelationKey *b, cb_error_t *err)
    __attribute__((warn_unused_result));

/* Parses and checks (corrkeymsg_check) a serialized CorrelationKey. On success *out is
 * owned by the caller (free with cluebus__correlation_key__free_unpacked). Returns 0,
 * CB_EMALFORMED / CB_ETOOBIG / CB_EKEY naming the field, or CB_ENOMEM; nothing is returned
 * on error. The decoder of outside input (fuzzed: tests/fuzz/fuzz_corrkey.c). */
int	corrkeymsg_decode(const uint8_t *buf, size_t len, Cluebus__CorrelationKey **out,
    cb_error_t *err) __attribute__((warn_unused_result));

/* Checks an opened sealed_key plaintext: exactly CORRKEYMSG_KEY_LEN bytes, not all zero.
 * Returns 0 or CB_EMALFORMED naming "correlation_key.sealed_key". */
int	corrkeymsg_key_check(const uint8_t *plain, size_t len, cb_error_t *err)
    __attribute__((warn_unused_result));

#endif

/* lib/clientseal.h — the client library's side of sealing (SPEC §10, docs/sealing.md §8).
 *
 * Sending: the body's sealed fields are sealed to the recipients the directory gives
 * (lib/sealdir.h); the clear message is kept beside the signed one in the outbox, so that a
 * stale-directory refusal can be answered by sealing it again to the new set, with the same
 * message id, without the application noticing. Receiving: the body is opened with the
 * unit's sealing key and the inbound document says what was opened with which key; a seal
 * the unit cannot open gives a document that says why (the agency's error file) and a log
 * line, never a crash and never silence. */
#ifndef CB_CLIENTSEAL_H
#define CB_CLIENTSEAL_H

#include <stdint.h>

#include <jansson.h>

#include "cluebus.pb-c.h"
#include "cluebus/err.h"
#include "sealdir.h"
#include "sealkey.h"

/* How often one publish is sealed again after stale-directory refusals before the refusal
 * is handed to the application. */
#define CLIENTSEAL_MAX_RESEALS	3

/* Packs `m` (sender, id set) into *clear (new, owned by the caller: free clear->data after
 * wiping it), then seals its body to its recipients in `d`. A kind without sealed content,
 * or a body with none of it set (a receipt without a note), is left as it is and *clear is
 * empty. Returns 0; sealdir_recipients' errors (CB_EMALFORMED naming the field, CB_ENOTFOUND,
 * CB_EAGAIN: no directory yet); CB_ENOMEM; CB_ECRYPTO; on error nothing is allocated and `m`
 * is unchanged. */
int	clientseal_seal(sealdir_t *d, Cluebus__Message *m, ProtobufCBinaryData *clear,
    cb_error_t *err) __attribute__((warn_unused_result));

/* The serialized form of `m` in *clear (new, owned by the caller: wipe and free
 * clear->data). Returns 0 or CB_ENOMEM. */
int	clientseal_pack(const Cluebus__Message *m, ProtobufCBinaryData *clear)
    __attribute__((warn_unused_result));

/* Opens the seal of a delivered message `m` (delivery `seq`) as `unit` with the one of
 * its sealing keys `keys[0..n)` (current first, then earlier ones kept after rotations)
 * that the message was sealed to; n == 0: the agent has none. Returns the document's "sealing" member (a new reference): on
 * success {"status": "opened", "suite", "key_id", "unit", "recipients"} and `m` holds the
 * clear fields; on failure {"status": "error", "code", "field", "reason", "suite",
 * "recipients"} with `m` unchanged and a warning logged (no personal data: the reason
 * names units and key ids only). NULL when `m` carries no seal, or out of memory. */
json_t	*clientseal_open(const sealkey_t *const *keys, size_t n, const char *unit,
    Cluebus__Message *m, uint64_t seq);

/* The key of `keys[0..n)` that `s` names for `unit`, else the first (whose refusal then
 * names the key id the message needs); NULL when n is 0. Cannot fail. */
const sealkey_t *clientseal_key_pick(const Cluebus__Sealed *s, const sealkey_t *const *keys,
    size_t n, const char *unit);

#endif

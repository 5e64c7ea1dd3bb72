/* lib/envelope.h — signed envelopes: sign bytes, carry bytes, parse after verifying.
 *
 * A sender packs its Message once and signs those exact bytes; receivers pick the key from
 * the envelope's unsigned hints (sender, key_id), verify the signature over the carried
 * bytes, and only then parse them, checking that the signed header matches the hints. */
#ifndef CB_ENVELOPE_H
#define CB_ENVELOPE_H

#include "cluebus/err.h"
#include "cluebus.pb-c.h"
#include "keys.h"

#define MESSAGE_ID_LEN	16
#define ENVELOPE_MAX	(512 * 1024)	/* bytes of a packed Message */

/* Sets msg->key_id from `key` (msg->key_id must be empty), packs and signs `msg`. On
 * success *out is a new Envelope (free with envelope_free) and msg->key_id points into
 * *out's hint buffer — do not use msg->key_id after freeing *out. Returns 0, CB_ETOOBIG,
 * CB_ENOMEM or CB_ECRYPTO. */
int	envelope_sign(Cluebus__Message *msg, const cb_key_t *key, Cluebus__Envelope **out)
    __attribute__((warn_unused_result));
/* Verifies the signature over env->signed with `key`. Returns 0 or CB_EBADSIG. */
int	envelope_verify(const Cluebus__Envelope *env, const cb_key_t *key)
    __attribute__((warn_unused_result));
/* Parses env->signed into a new Message (free with
 * protobuf_c_message_free_unpacked(&m->base, NULL)) and checks the header: 16-byte id, valid
 * sender equal to the hint, key id equal to the hint, known kind and priority, a body that
 * matches the kind, then the body itself (message_validate). Returns 0, CB_EMALFORMED with
 * `err` set, or CB_ENOMEM. Call only after envelope_verify succeeded. */
int	envelope_open(const Cluebus__Envelope *env, Cluebus__Message **out, cb_error_t *err)
    __attribute__((warn_unused_result));
/* Deep-copies an envelope (new buffers). Returns NULL when out of memory. */
Cluebus__Envelope *envelope_dup(const Cluebus__Envelope *env);
/* Frees an envelope made by envelope_sign or envelope_dup. Accepts NULL. */
void	envelope_free(Cluebus__Envelope *env);

/* Checks the header and body of a message against SPEC §4 (ids, lengths, enums, required
 * fields). Returns 0 or CB_EMALFORMED with `err` naming the field. */
int	message_validate(const Cluebus__Message *m, cb_error_t *err)
    __attribute__((warn_unused_result));

/* Whether two messages have the same content: every field their senders signed but the
 * signing-key id and the creation time, which an agent changes when it signs a waiting
 * message again (a key rotation, a long outage). A resend of the same content is a
 * duplicate; the same id with other content is a conflict. Returns 1 (same), 0
 * (different) or CB_ENOMEM. Borrows both. */
int	message_same_content(const Cluebus__Message *a, const Cluebus__Message *b)
    __attribute__((warn_unused_result));

#endif

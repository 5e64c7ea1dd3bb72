/* lib/sealbody.h — which fields of a message body are sealed, and sealing/opening them.
 *
 * SPEC §10 splits every body into clear metadata (what routing, the workflow and the
 * statistics need: kind, ids, sender, times, category, jurisdiction, priority, handling and
 * evaluation codes, case reference, refers_to, referral targets, actions and due times,
 * feedback status) and sealed content: a clue's summary, location, persons and attachments;
 * a referral's note and the persons it re-seals for its recipients; the notes of receipts,
 * feedback and supervisions; a report's title and text; a correction's corrected clue, as a
 * clue's (its seal is the corrected clue's `sealed`). The sealed fields travel as one
 * SealedContent, sealed with lib/seal.c into the body's `sealed` field, and the same fields
 * of the body are empty on the wire. Kinds the broker makes (escalation, match) and registry
 * changes carry no sealed content.
 *
 * Invariants: (1) a body either carries `sealed` and none of its sealed fields in clear, or
 * no `sealed` at all (sealbody_check); (2) sealbody_seal and sealbody_open change the
 * message only when they return 0. */
#ifndef CB_SEALBODY_H
#define CB_SEALBODY_H

#include <stddef.h>

#include "cluebus.pb-c.h"
#include "cluebus/err.h"
#include "seal.h"

/* The body's `sealed` field, borrowed from `m`, or NULL when the body has none (or its kind
 * has no sealed content). Cannot fail. */
const Cluebus__Sealed *sealbody_sealed(const Cluebus__Message *m);

/* Whether `m`'s kind has sealed content (clue, referral, receipt, feedback, supervision,
 * report, a correction carrying a corrected clue). Cannot fail. */
int	sealbody_kind_sealable(const Cluebus__Message *m);

/* Invariant (1) for a message from outside: 0, or CB_EMALFORMED naming the first sealed
 * field given in clear beside `sealed` (e.g. "clue.summary"). Cannot fail otherwise. */
int	sealbody_check(const Cluebus__Message *m, cb_error_t *err)
    __attribute__((warn_unused_result));

/* For a broker that requires sealing: 0 when `m` carries no personal data in clear, else
 * CB_EMALFORMED with `err` naming the body and the first such field (a body's sealed field
 * without `sealed`, a correction's corrected clue among them). Fields that are clear by
 * design (an h3 text, a case title, a correction's note) are not looked at. Cannot fail
 * otherwise. */
int	sealbody_clear_field(const Cluebus__Message *m, cb_error_t *err)
    __attribute__((warn_unused_result));

/* Moves the sealed fields of `m`'s body into a SealedContent, seals it to `rcpt[0..n)`
 * bound to m's message id and sender (both must be set), stores the result in the body's
 * `sealed` and empties those fields. Returns 0; CB_EINVAL (kind without sealed content,
 * already sealed, no message id or sender, n out of range); CB_ETOOBIG; CB_ENOMEM;
 * CB_ECRYPTO; `m` is unchanged on error. Borrows `rcpt`. */
int	sealbody_seal(Cluebus__Message *m, const seal_recipient_t *rcpt, size_t n,
    cb_error_t *err) __attribute__((warn_unused_result));

/* Opens the body's `sealed` as `unit` with its private sealing key, checks the content
 * (only the fields of the body's kind, each within its bound), puts the fields back into the
 * body and removes `sealed`. Returns 0; CB_ENOTFOUND when there is nothing sealed; a code of
 * seal_open (CB_ENOTFOUND not a recipient or another key, CB_EBADSIG damaged, CB_EKEY
 * unknown suite, CB_EMALFORMED / CB_ETOOBIG) or CB_EMALFORMED for content that does not
 * parse or does not fit the kind; CB_ENOMEM. `m` is unchanged on error. */
int	sealbody_open(Cluebus__Message *m, const char *unit, const sealkey_t *key,
    cb_error_t *err) __attribute__((warn_unused_result));

/* Parses and checks a serialized SealedContent for a body of case `body` (the fields that
 * kind does not seal must be empty). On success *out is owned by the caller (free with
 * cluebus__sealed_content__free_unpacked). Returns 0, CB_EMALFORMED or CB_ETOOBIG with `err`
 * naming the field, or CB_ENOMEM. The decoder of outside input (fuzzed). */
int	sealbody_content_decode(Cluebus__Message__BodyCase body, const uint8_t *buf,
    size_t len, Cluebus__SealedContent **out, cb_error_t *err)
    __attribute__((warn_unused_result));

#endif

/* lib/sealdir.h — whom a sending agent seals a message to, and with which keys.
 *
 * The sender must seal to exactly the units the broker will route the message to (the
 * broker refuses any other set as a stale directory, broker/pipeline.c). That set is the
 * routing table's answer (lib/route.c, the same code the broker runs) plus, for answers and
 * supervisions, what the broker adds from its workflow state:
 *
 *   receipt, feedback   the referrer of the sender's obligation on the referral (refers_to),
 *                       and a feedback's transfer targets;
 *   supervision         every referrer on the referral, and its obliged units when the
 *                       supervision names none;
 *   report              a follow-up report: the referrer of the sender's obligation on the
 *                       referral (refers_to), to whom its follow-ups are owed; a situation
 *                       analysis or self-evaluation: the sender's level office
 *                       (route_add_report_office);
 *   correction          of a clue, with the corrected clue: the recipients the original
 *                       was logged with (sealdir_set_original: from its Accepted);
 *   any kind            with the case_ref of an open case the directory lists, the case's
 *                       task force (only with a directory: the files name no cases).
 *
 * The agent learns that workflow state from its own deliveries: every delivery of a
 * referral, receipt, feedback or supervision carries the broker's Context with each obliged
 * unit and its referrer, as the broker holds it after that message; sealdir_note_context
 * keeps the latest per referral (the client library also stores them, so they survive a
 * restart, and gives them back with sealdir_note_one). A unit answers only referrals delivered to it, and the
 * office supervises referrals it was sent, so the state it needs has reached it.
 *
 * The routing table, the registry (district offices) and the units' public sealing keys
 * are this object's inputs: from the broker's signed directory (lib/directory.h,
 * sealdir_use_directory), or, for a deployment without it, from files (sealdir_load: the
 * routing group of a broker config, the registry file, a JSON file of public sealing keys).
 * A directory, when set, is used instead of the files. */
#ifndef CB_SEALDIR_H
#define CB_SEALDIR_H

#include <stddef.h>

#include "cluebus.pb-c.h"
#include "cluebus/err.h"
#include "seal.h"

typedef struct sealdir sealdir_t;
struct directory;

#define SEALDIR_MAX_OBLIGATIONS	65536	/* (referral, unit) pairs remembered; oldest go */

/* A sealing directory without files: it seals once sealdir_use_directory gave it a
 * directory. Returns 0 with *out (owned; sealdir_free) or CB_ENOMEM. */
int	sealdir_new(sealdir_t **out) __attribute__((warn_unused_result));

/* Seals with `dir` (borrowed until the next call or sealdir_free; NULL: back to the files,
 * if any) from now on. Cannot fail. */
void	sealdir_use_directory(sealdir_t *d, const struct directory *dir);

/* Loads the directory's inputs: `routing_path` a libconfig file with a `routing` group,
 * `registry_path` the registry JSON, `keys_path` a JSON object of unit id -> 64 hex digits
 * (the X25519 public sealing key). Returns 0 with *out (owned; sealdir_free), CB_ECONFIG /
 * CB_EMALFORMED / CB_EIO with `err` naming the file and why, or CB_ENOMEM. */
int	sealdir_load(const char *routing_path, const char *registry_path,
    const char *keys_path, sealdir_t **out, cb_error_t *err)
    __attribute__((warn_unused_result));

/* Loads the inputs again from the same files (after the broker said the directory is
 * stale); without files, does nothing (a directory comes from the broker). On error the
 * old inputs stay in force. Returns as sealdir_load. */
int	sealdir_reload(sealdir_t *d, cb_error_t *err) __attribute__((warn_unused_result));

/* The recipients of `m` (sender, kind and body set) with their sealing keys: rcpt[0..*n)
 * (room for SEAL_MAX_RECIPIENTS); unit ids and keys are borrowed from `d` until the next
 * reload or note. Routed units without a valid sealing key are left out (they receive the
 * message without its content). Returns 0; CB_EMALFORMED with `err` naming the field for
 * what the broker would refuse too (a named unit that is not registered, a kind that is not
 * routed); CB_ENOTFOUND with `err` for what may still come: an answer to a referral this
 * unit holds no obligation on (yet: its delivery may be on the way), no recipient with a
 * sealing key; CB_EAGAIN when there is neither a directory nor files yet. */
int	sealdir_recipients(sealdir_t *d, const Cluebus__Message *m, seal_recipient_t *rcpt,
    size_t *n, cb_error_t *err) __attribute__((warn_unused_result));

/* The recipients of message `msgid` (16 bytes) as the broker logged it (its Accepted
 * names them): the next correction of it is sealed to them, as the broker routes it, and
 * without them a correction carrying a clue is CB_EMALFORMED. Replaces what was set before.
 * Returns 0 or CB_EINVAL (more than ROUTE_MAX units, an invalid unit id). */
int	sealdir_set_original(sealdir_t *d, const uint8_t *msgid, char *const *units, size_t n)
    __attribute__((warn_unused_result));

/* Remembers the obligations of a delivery's Context (replacing what was known of that
 * referral). Returns 0 or CB_ENOMEM (nothing changed). */
int	sealdir_note_context(sealdir_t *d, const Cluebus__Context *ctx)
    __attribute__((warn_unused_result));

/* Remembers one obligation: `unit` owes an answer on referral `rid` (16 bytes) to
 * `referrer` (as the agent keeps them across restarts). Returns 0, CB_EINVAL (not unit ids)
 * or CB_ENOMEM. */
int	sealdir_note_one(sealdir_t *d, const uint8_t *rid, const char *unit,
    const char *referrer) __attribute__((warn_unused_result));

/* Frees `d`. Accepts NULL. */
void	sealdir_free(sealdir_t *d);

#endif

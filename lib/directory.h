/* lib/directory.h — the signed directory: who is who, their keys over time, and routing.
 *
 * The broker builds a Directory (proto/cluebus.proto) from its registry and its routing
 * table, signs it with its key and serves it; agents fetch it on connect and whenever its
 * version changes, keep it in their state directory, and use it to (a) compute a message's
 * recipients exactly as the broker's route_message() does and find each recipient's current
 * sealing key (lib/seal.h), (b) check the signatures of deliveries with the key valid when
 * they were logged, and (c) show senders' display names. The registry file seeds only the
 * first start (SPEC §3).
 *
 * Version: the log sequence number of the last registry record that changed the directory
 * (a unit, a key, a liaison, the routing table) or of the last case action (a case opened,
 * its task force changed, or closed: the directory lists open cases' task forces), whichever
 * is later. Two directories of the same version are the same. The signature covers the
 * exact serialized Directory bytes carried in SignedDirectory.directory, prefixed by the
 * context string DIRECTORY_SIGN_CONTEXT and a 0 byte; nothing is re-serialized before
 * verification.
 *
 * Errors of directory_open / directory_parse (input from outside; `err` names the field):
 *   CB_EMALFORMED  not a SignedDirectory / Directory, a bad unit id, key length, overlapping
 *                  key validity, a routing text that does not parse or names an unlisted unit,
 *                  a task force with an empty or too long case_ref, out of case_ref order,
 *                  without units, or naming a unit twice or one not listed
 *   CB_ETOOBIG     over DIRECTORY_MAX bytes, more than REGISTRY_MAX_UNITS units, more than
 *                  DIRECTORY_MAX_TASK_FORCES task forces or DIRECTORY_MAX_CASE_MEMBERS units
 *                  in one
 *   CB_EBADSIG     the signature does not verify with a broker key the caller trusts
 *   CB_ENOMEM */
#ifndef CB_DIRECTORY_H
#define CB_DIRECTORY_H

#include <stddef.h>
#include <stdint.h>

#include "cluebus/err.h"
#include "cluebus.pb-c.h"
#include "keys.h"
#include "registry.h"
#include "route.h"
#include "seal.h"
#include "sealkey.h"

#define DIRECTORY_MAX		(960 * 1024)	/* fits a frame (WIRE_MAX_FRAME) */
#define DIRECTORY_SIGN_CONTEXT	"cluebus directory v1"
#define DIRECTORY_FILE		"directory.pb"	/* in an agent's state directory */
#define DIRECTORY_MAX_TASK_FORCES 256	/* open cases listed (the broker opens no more) */
#define DIRECTORY_MAX_CASE_MEMBERS 32	/* units of one task force (the broker adds no more) */
#define DIRECTORY_MAX_CASE_REF	256	/* bytes of a case_ref (as intake allows) */

/* An open case's task force as the directory lists it (borrowed strings). */
typedef struct directory_task_force {
	const char	 *case_ref;
	char *const	 *units;
	size_t		  n;
} directory_task_force_t;

typedef struct directory directory_t;

/* ---- the broker's side ---- */

/* Builds the directory of `reg` (every unit, its signing keys with their CURVE keys and its
 * sealing keys, with validity) and `routing` (the libconfig text of the routing group, see
 * route_config_text), with `version` and `issued_ms`, signs it with `broker_key` and returns
 * the packed SignedDirectory in *out (*len bytes, caller frees with free). Borrows the rest.
 * Returns 0, CB_ETOOBIG, CB_ENOMEM or CB_ECRYPTO. */
int	directory_build(const registry_t *reg, const char *routing, uint64_t version,
    int64_t issued_ms, const cb_key_t *broker_key, uint8_t **out, size_t *len)
    __attribute__((warn_unused_result));
/* directory_build with the open cases' task forces `tf[0..ntf)` (at most
 * DIRECTORY_MAX_TASK_FORCES, each of 1 to DIRECTORY_MAX_CASE_MEMBERS registered units),
 * listed sorted by case_ref whatever their order in `tf`. Returns as directory_build;
 * CB_EINVAL for task forces over the bounds or naming an unknown unit. */
int	directory_build_cases(const registry_t *reg, const char *routing,
    const directory_task_force_t *tf, size_t ntf, uint64_t version, int64_t issued_ms,
    const cb_key_t *broker_key, uint8_t **out, size_t *len)
    __attribute__((warn_unused_result));

/* ---- the agent's side ---- */

/* Verifies a packed SignedDirectory with a key of the unit "broker" in `trust` (the key id
 * it names, valid when the directory was issued), then parses it (directory_parse). On
 * success *out is a new directory the caller frees with directory_free; it keeps a copy of
 * `buf`. Borrows `buf` and `trust`. Errors: the table above. */
int	directory_open(const void *buf, size_t len, const registry_t *trust, directory_t **out,
    cb_error_t *err) __attribute__((warn_unused_result));

/* Parses serialized Directory bytes without any signature check (directory_open's second
 * half; the fuzz target's entry): checks every field, builds the registry and the routing
 * table. Errors: the table above. */
int	directory_parse(const void *buf, size_t len, directory_t **out, cb_error_t *err)
    __attribute__((warn_unused_result));

/* Writes the directory's signed bytes to `path` atomically (temporary file, fsync, rename),
 * mode 0600. Returns 0 or CB_EIO. */
int	directory_save(const directory_t *d, const char *path)
    __attribute__((warn_unused_result));
/* Reads and opens (directory_open) a directory kept at `path`. Returns 0, CB_ENOTFOUND (no
 * such file), CB_EIO or an error of directory_open. */
int	directory_load(const char *path, const registry_t *trust, directory_t **out,
    cb_error_t *err) __attribute__((warn_unused_result));

/* The version, and the time the broker issued it. Cannot fail. */
uint64_t directory_version(const directory_t *d);
int64_t	directory_issued_ms(const directory_t *d);
/* The signed bytes (a packed SignedDirectory) as received. Borrowed until directory_free. */
const uint8_t *directory_signed_bytes(const directory_t *d, size_t *len);
/* The registry the directory describes, and its routing table. Borrowed until
 * directory_free. Cannot fail. */
const registry_t *directory_registry(const directory_t *d);
const route_t *directory_route(const directory_t *d);

/* The recipients of a validated message, exactly as the broker's route_message() computes
 * them with the same registry and routing table. Returns 0 or CB_EINVAL (a kind the table
 * cannot route). */
int	directory_recipients(const directory_t *d, const Cluebus__Message *m,
    route_result_t *res) __attribute__((warn_unused_result));

/* The recipients of `m` (directory_recipients) with each one's current sealing key, ready
 * for seal_encrypt: rcpt[0..*n) point into `res` and the directory (borrowed until either
 * changes or is freed). Returns 0, CB_EINVAL (unroutable kind, or no recipient), or
 * CB_ENOTFOUND with `err` naming the first recipient without a valid sealing key. */
int	directory_seal_recipients(const directory_t *d, const Cluebus__Message *m,
    route_result_t *res, seal_recipient_t rcpt[ROUTE_MAX], size_t *n, cb_error_t *err)
    __attribute__((warn_unused_result));

/* The task force of the open case `case_ref` (the units the broker adds to every message
 * carrying that case_ref, broker/cases.c): *units (borrowed until directory_free) and *n.
 * Returns 0, or CB_ENOTFOUND when the directory lists no open case under that reference. */
int	directory_case_members(const directory_t *d, const char *case_ref,
    char *const **units, size_t *n) __attribute__((warn_unused_result));
/* The number of open cases the directory lists, and the i-th (in case_ref order, i below
 * the count; borrowed until directory_free). Cannot fail. */
size_t	directory_case_count(const directory_t *d);
directory_task_force_t directory_case_at(const directory_t *d, size_t i);

/* A unit's current sealing key, or NULL (unknown unit, none registered, or revoked).
 * Borrowed until directory_free. */
const sealkey_t *directory_seal_key(const directory_t *d, const char *unit);
/* The unit's sealing key valid at `at_ms`, or NULL. Borrowed. */
const sealkey_t *directory_seal_key_at(const directory_t *d, const char *unit, int64_t at_ms);
/* The signing key `key_id` of `unit` valid at `at_ms` (registry_key_at over the
 * directory). Borrowed. */
enum reg_key_status directory_signing_key_at(const directory_t *d, const char *unit,
    const uint8_t *key_id, size_t key_id_len, int64_t at_ms, const cb_key_t **key);
/* The unit's display name, or NULL when the directory does not list it. Borrowed. */
const char *directory_unit_name(const directory_t *d, const char *unit);

/* The directory a client (lib/client.c) holds: the last one it fetched or kept, or NULL
 * before it has one. Borrowed until the client's next call (a newer version replaces it
 * while the client receives). Implemented in lib/client.c. */
struct cb_client;
const directory_t *client_directory(const struct cb_client *c);

/* Frees a directory. Accepts NULL. */
void	directory_free(directory_t *d);

#endif

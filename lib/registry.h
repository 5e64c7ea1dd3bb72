/* lib/registry.h — units, their roles and their signing keys over time (SPEC §3).
 *
 * The registry is rebuilt by applying Registry records in log order; each key carries the
 * time from which it is valid and, once rotated out or revoked, the time it stopped being
 * valid, so a message is checked against the key that was valid when it was logged. The
 * broker's desired registry comes from a JSON file (units.sample.json plus public keys). */
#ifndef CB_REGISTRY_H
#define CB_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "cluebus/err.h"
#include "cluebus/ids.h"
#include "cluebus.pb-c.h"
#include "keys.h"
#include "sealkey.h"

#define REGISTRY_BROKER_UNIT	"broker"
#define REGISTRY_ADMIN_UNIT	"admin"	/* the 反拐办's administrative key */
#define REGISTRY_MAX_FILE	(1024 * 1024)
#define REGISTRY_MAX_UNITS	1024

typedef struct registry registry_t;

typedef struct reg_unit {
	char		 id[CB_UNIT_ID_SIZE];
	char		*name;
	char		 role[24];		/* office | member | district_office | broker */
	char		 division_code[16];
	char		*liaison;
} reg_unit_t;

/* One signing key of a unit and its validity [valid_from, valid_until) (0: open); pointers
 * borrowed until the registry changes or is freed. */
typedef struct reg_key_info {
	const cb_key_t	*key;
	const uint8_t	*transport;	/* CURVE public key (32 bytes) or NULL */
	int64_t		 valid_from, valid_until;
} reg_key_info_t;

/* One sealing key of a unit and its validity, as reg_key_info_t. */
typedef struct reg_seal_info {
	const sealkey_t	*key;
	int64_t		 valid_from, valid_until;
} reg_seal_info_t;

/* Why a key lookup failed, mapped by callers to reject codes. */
enum reg_key_status {
	REG_KEY_OK = 0,
	REG_KEY_UNKNOWN_UNIT,
	REG_KEY_UNKNOWN_KEY,
	REG_KEY_REVOKED,	/* the key was valid once but not at the asked time */
};

/* Returns a new empty registry, or NULL when out of memory. */
registry_t *registry_new(void);
/* Frees the registry and every key in it. Accepts NULL. */
void	registry_free(registry_t *r);

/* Parses a registry file: {"units": [{"id", "name", "role", "division_code"?,
 * "sign_public": 64 hex, "transport_public"?: Z85, "seal_public"?: 64 hex, "liaison"?}], "broker"?: {"sign_public":
 * 64 hex, "transport_public"?: Z85}, "city"?: {...}}.
 * Every unit gets an ADD_UNIT record, and the broker key (last) a BROKER_KEY record,
 * appended to *records (caller frees each with protobuf_c_message_free_unpacked and the
 * array with free). Returns 0, or CB_EMALFORMED / CB_ETOOBIG / CB_EIO / CB_ENOMEM with
 * `err` naming the field. */
int	registry_parse_file(const char *path, Cluebus__Registry ***records, size_t *n,
    cb_error_t *err) __attribute__((warn_unused_result));
int	registry_parse_json(const char *json, size_t len, Cluebus__Registry ***records,
    size_t *n, cb_error_t *err) __attribute__((warn_unused_result));

/* Applies one record effective at `at_ms`. ADD_UNIT of a known unit, ROTATE/REVOKE/LIAISON
 * of an unknown one, and malformed keys are refused with CB_EMALFORMED (err set) and leave
 * the registry unchanged. Returns 0, CB_EMALFORMED or CB_ENOMEM. */
int	registry_apply(registry_t *r, const Cluebus__Registry *rec, int64_t at_ms,
    cb_error_t *err) __attribute__((warn_unused_result));

/* Checks, without changing anything, that an administrative record (signed by the admin
 * key) may be applied: ADD_UNIT of a new unit with a valid id, role, division code, signing
 * and transport key (and optionally a sealing key); ROTATE_KEY of a registered unit with both
 * new keys (and optionally a new sealing key); REVOKE_KEY of a registered unit with a reason;
 * CHANGE_LIAISON of a registered unit; ADD_SEAL_KEY of a unit without a valid sealing key,
 * ROTATE_SEAL_KEY of one with it (both with the 32-byte key), REVOKE_SEAL_KEY of one with it
 * and a reason. Other operations are
 * the broker's own. Returns 0 or CB_EMALFORMED with `err` naming the field. */
int	registry_check_admin(const registry_t *r, const Cluebus__Registry *rec, cb_error_t *err)
    __attribute__((warn_unused_result));

/* Finds the key `key_id` of `unit` valid at `at_ms`. Returns REG_KEY_OK with *key borrowed
 * until the registry is freed, or another reg_key_status. */
enum reg_key_status registry_key_at(const registry_t *r, const char *unit,
    const uint8_t *key_id, size_t key_id_len, int64_t at_ms, const cb_key_t **key);
/* The unit whose CURVE transport key (32 raw bytes) was valid at `at_ms`, or NULL.
 * Borrowed. */
const char *registry_transport_unit(const registry_t *r, const uint8_t *key, int64_t at_ms);
/* The unit's current transport key (32 raw bytes), or NULL. Borrowed. */
const uint8_t *registry_current_transport(const registry_t *r, const char *unit);
/* The unit's current key (NULL when none). Borrowed. */
const cb_key_t *registry_current_key(const registry_t *r, const char *unit);

/* The unit's sealing key valid at `at_ms`, or its open one; NULL when none. Borrowed until
 * the registry is freed. */
const sealkey_t *registry_seal_at(const registry_t *r, const char *unit, int64_t at_ms);
const sealkey_t *registry_current_seal(const registry_t *r, const char *unit);
/* The history of a unit's signing keys and of its sealing keys, oldest first: counts (0 for
 * an unknown unit) and the i-th. The *_info functions return 0 or CB_ENOTFOUND. */
size_t	registry_key_count(const registry_t *r, const char *unit);
int	registry_key_info(const registry_t *r, const char *unit, size_t i, reg_key_info_t *info);
size_t	registry_seal_count(const registry_t *r, const char *unit);
int	registry_seal_info(const registry_t *r, const char *unit, size_t i,
    reg_seal_info_t *info);
/* The text of the last REGISTRY_ROUTING record applied (the libconfig routing group), or
 * NULL. Borrowed until the registry changes. */
const char *registry_routing(const registry_t *r);

/* Building a registry from a verified directory (lib/directory.c), not from records: a unit
 * without keys, then its keys in order with their validity. Keys must come oldest first
 * without overlap (at most the last is open). Return 0, CB_EMALFORMED (err names the field)
 * or CB_ENOMEM. Borrow their arguments. */
int	registry_put_unit(registry_t *r, const reg_unit_t *unit, cb_error_t *err)
    __attribute__((warn_unused_result));
int	registry_put_key(registry_t *r, const char *unit, const uint8_t *sign_public,
    const uint8_t *transport, int64_t valid_from, int64_t valid_until, cb_error_t *err)
    __attribute__((warn_unused_result));
int	registry_put_seal(registry_t *r, const char *unit, const uint8_t *seal_public,
    int64_t valid_from, int64_t valid_until, cb_error_t *err)
    __attribute__((warn_unused_result));
/* Sets the routing text. Returns 0 or CB_ENOMEM. */
int	registry_set_routing(registry_t *r, const char *text) __attribute__((warn_unused_result));

/* Looks a unit up; borrowed until the registry is freed, NULL when unknown. */
const reg_unit_t *registry_unit(const registry_t *r, const char *unit);
/* The district office whose division code is `code`, or NULL. Borrowed. */
const reg_unit_t *registry_district_office(const registry_t *r, const char *code);
/* Number of units, and the i-th (in order of addition). Borrowed. */
size_t	registry_count(const registry_t *r);
const reg_unit_t *registry_at(const registry_t *r, size_t i);

#endif

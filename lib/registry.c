/* lib/registry.c — the unit registry with key history.
 *
 * Units live in an array in order of addition (a few dozen in practice; lookups are linear
 * and cheap). Each unit keeps every key it ever had with [valid_from, valid_until); a
 * rotation closes the old key at the rotation time, a revocation closes it at its effective
 * time. Sealing keys (X25519, SPEC §10) keep their own history the same way: added, rotated
 * and revoked by their own records, so which sealing key was valid when is in the log too.
 * Invariant: at most one signing key and at most one sealing key of a unit is open
 * (valid_until == 0). The last REGISTRY_ROUTING record's text is kept for the directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "registry.h"
#include "sealkey.h"
#include "transport.h"
#include "util.h"

struct reg_key {
	cb_key_t	*key;
	int64_t		 valid_from;
	int64_t		 valid_until;	/* 0 = still valid */
	uint8_t		 transport[TRANSPORT_KEY_LEN];	/* CURVE public key, with the signing key */
	int		 has_transport;
};

struct reg_seal {
	sealkey_t	*key;
	int64_t		 valid_from;
	int64_t		 valid_until;	/* 0 = still valid */
};

struct reg_entry {
	reg_unit_t	 unit;
	struct reg_key	*keys;
	size_t		 nkeys;
	struct reg_seal	*seals;
	size_t		 nseals;
};

struct registry {
	struct reg_entry *units;
	size_t		 n, cap;
	char		*routing;	/* text of the last REGISTRY_ROUTING, or NULL */
};

registry_t *
registry_new(void)
{
	return calloc(1, sizeof(registry_t));
}

void
registry_free(registry_t *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++) {
		for (size_t j = 0; j < r->units[i].nkeys; j++)
			key_free(r->units[i].keys[j].key);
		free(r->units[i].keys);
		for (size_t j = 0; j < r->units[i].nseals; j++)
			sealkey_free(r->units[i].seals[j].key);
		free(r->units[i].seals);
		free(r->units[i].unit.name);
		free(r->units[i].unit.liaison);
	}
	free(r->units);
	free(r->routing);
	free(r);
}

static struct reg_entry *
registry_find(const registry_t *r, const char *unit)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->units[i].unit.id, unit) == 0)
			return &r->units[i];
	return NULL;
}

/* Adds a unit's new signing key (and CURVE transport key, when the record has one), closing
 * the one open before. */
static int
registry_add_key(struct reg_entry *u, const Cluebus__Registry *rec, int64_t at_ms,
    cb_error_t *err)
{
	struct reg_key *nk, rk;
	cb_key_t *k;

	memset(&rk, 0, sizeof(rk));
	if (rec->transport_public.len != 0 && rec->transport_public.len != TRANSPORT_KEY_LEN)
		return cb_fail(err, "transport_public", CB_EMALFORMED,
		    "not a 32-byte CURVE public key");
	if (key_from_public(rec->sign_public.data, rec->sign_public.len, &k) != 0) {
		/* OpenSSL takes any 32 bytes as an Ed25519 public key: with the right length,
		 * the failure is OpenSSL's (out of memory), not the record's. */
		if (rec->sign_public.len == KEY_PUBLIC_LEN)
			return cb_fail(err, "sign_public", CB_ENOMEM, "out of memory");
		cb_error_set(err, "sign_public", "not a 32-byte Ed25519 public key");
		return CB_EMALFORMED;
	}
	if ((nk = realloc(u->keys, (u->nkeys + 1) * sizeof(*nk))) == NULL) {
		key_free(k);
		return CB_ENOMEM;
	}
	u->keys = nk;
	for (size_t i = 0; i < u->nkeys; i++)
		if (u->keys[i].valid_until == 0)
			u->keys[i].valid_until = at_ms;
	rk.key = k;
	rk.valid_from = at_ms;
	if (rec->transport_public.len == TRANSPORT_KEY_LEN) {
		memcpy(rk.transport, rec->transport_public.data, TRANSPORT_KEY_LEN);
		rk.has_transport = 1;
	}
	u->keys[u->nkeys++] = rk;
	return 0;
}

/* The unit's open sealing key, or NULL. */
static struct reg_seal *
registry_open_seal(const struct reg_entry *u)
{
	for (size_t i = 0; i < u->nseals; i++)
		if (u->seals[i].valid_until == 0)
			return &u->seals[i];
	return NULL;
}

/* Opens `pub` (32 raw bytes) as the unit's sealing key from `at_ms` until `until_ms` (0:
 * open), closing the open one at `at_ms`; the same key as the open one changes nothing. */
static int
registry_add_seal(struct reg_entry *u, const uint8_t *pub, size_t len, int64_t at_ms,
    int64_t until_ms, cb_error_t *err)
{
	struct reg_seal *open = registry_open_seal(u), *ns;
	sealkey_t *k;
	int rc;

	if (len != SEALKEY_PUBLIC_LEN)
		return cb_fail(err, "seal_public", CB_EMALFORMED,
		    "not a 32-byte X25519 public key");
	if (open != NULL && until_ms == 0 &&
	    memcmp(sealkey_public(open->key), pub, SEALKEY_PUBLIC_LEN) == 0)
		return 0;
	if ((rc = sealkey_from_public(pub, len, &k)) != 0)
		return rc == CB_EKEY ? cb_fail(err, "seal_public", CB_EMALFORMED,
		    "not an X25519 public key") : CB_ENOMEM;
	if ((ns = realloc(u->seals, (u->nseals + 1) * sizeof(*ns))) == NULL) {
		sealkey_free(k);
		return CB_ENOMEM;
	}
	u->seals = ns;
	if ((open = registry_open_seal(u)) != NULL)
		open->valid_until = at_ms;
	u->seals[u->nseals].key = k;
	u->seals[u->nseals].valid_from = at_ms;
	u->seals[u->nseals].valid_until = until_ms;
	u->nseals++;
	return 0;
}

static int
registry_add_unit(registry_t *r, const Cluebus__Registry *rec, int64_t at_ms, cb_error_t *err)
{
	struct reg_entry *u;
	int rc;

	if (registry_find(r, rec->unit) != NULL)
		return cb_fail(err, "unit", CB_EMALFORMED,
		    "unit '%s' already registered", rec->unit);
	if (r->n >= REGISTRY_MAX_UNITS)
		return cb_fail(err, "units", CB_EMALFORMED,
		    "more than %d units", REGISTRY_MAX_UNITS);
	if (strlen(rec->role) >= sizeof(u->unit.role) ||
	    strlen(rec->division_code) >= sizeof(u->unit.division_code))
		return cb_fail(err, "role", CB_EMALFORMED, "role or division code too long");
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct reg_entry *nu = realloc(r->units, cap * sizeof(*nu));

		if (nu == NULL)
			return CB_ENOMEM;
		r->units = nu;
		r->cap = cap;
	}
	u = &r->units[r->n];
	memset(u, 0, sizeof(*u));
	snprintf(u->unit.id, sizeof(u->unit.id), "%s", rec->unit);
	snprintf(u->unit.role, sizeof(u->unit.role), "%s", rec->role);
	snprintf(u->unit.division_code, sizeof(u->unit.division_code), "%s",
	    rec->division_code);
	if ((u->unit.name = strdup(rec->name)) == NULL ||
	    (u->unit.liaison = strdup(rec->liaison)) == NULL) {
		rc = CB_ENOMEM;
		goto fail;
	}
	if ((rc = registry_add_key(u, rec, at_ms, err)) != 0)
		goto fail;
	if (rec->seal_public.len != 0 && (rc = registry_add_seal(u, rec->seal_public.data,
	    rec->seal_public.len, at_ms, 0, err)) != 0)
		goto fail;
	r->n++;
	return 0;
fail:
	for (size_t j = 0; j < u->nkeys; j++)
		key_free(u->keys[j].key);
	free(u->keys);
	free(u->unit.name);
	free(u->unit.liaison);
	return rc;
}

int
registry_apply(registry_t *r, const Cluebus__Registry *rec, int64_t at_ms, cb_error_t *err)
{
	struct reg_entry *u;
	int64_t when = rec->effective_ms > 0 ? rec->effective_ms : at_ms;
	struct reg_seal *seal;
	char *liaison, *routing;
	int rc;

	/* What `err` says when a CB_ENOMEM return below does not set it: err.h promises a
	 * valid `err` after every failure (audit.c prints it). */
	cb_error_set(err, "(registry)", "out of memory");
	if (!unit_id_valid(rec->unit))
		return cb_fail(err, "unit", CB_EMALFORMED, "not a unit id");
	if (rec->op == CLUEBUS__REGISTRY_OP__REGISTRY_ADD_UNIT ||
	    rec->op == CLUEBUS__REGISTRY_OP__REGISTRY_BROKER_KEY ||
	    rec->op == CLUEBUS__REGISTRY_OP__REGISTRY_ADMIN_KEY) {
		if (rec->op != CLUEBUS__REGISTRY_OP__REGISTRY_ADD_UNIT &&
		    (u = registry_find(r, rec->unit)) != NULL)
			return registry_add_key(u, rec, when, err);
		return registry_add_unit(r, rec, when, err);
	}
	if ((u = registry_find(r, rec->unit)) == NULL)
		return cb_fail(err, "unit", CB_EMALFORMED,
		    "unit '%s' is not registered", rec->unit);
	switch (rec->op) {
	case CLUEBUS__REGISTRY_OP__REGISTRY_ROTATE_KEY:
		if (rec->seal_public.len != 0 && rec->seal_public.len != SEALKEY_PUBLIC_LEN)
			return cb_fail(err, "seal_public", CB_EMALFORMED,
			    "not a 32-byte X25519 public key");
		if ((rc = registry_add_key(u, rec, when, err)) != 0 ||
		    rec->seal_public.len == 0)
			return rc;
		return registry_add_seal(u, rec->seal_public.data, rec->seal_public.len, when, 0,
		    err);
	case CLUEBUS__REGISTRY_OP__REGISTRY_ADD_SEAL_KEY:
	case CLUEBUS__REGISTRY_OP__REGISTRY_ROTATE_SEAL_KEY:
		return registry_add_seal(u, rec->seal_public.data, rec->seal_public.len, when, 0,
		    err);
	case CLUEBUS__REGISTRY_OP__REGISTRY_REVOKE_SEAL_KEY:
		if ((seal = registry_open_seal(u)) != NULL)
			seal->valid_until = when;
		return 0;
	case CLUEBUS__REGISTRY_OP__REGISTRY_ROUTING:
		if ((routing = strdup(rec->routing)) == NULL)
			return CB_ENOMEM;
		free(r->routing);
		r->routing = routing;
		return 0;
	case CLUEBUS__REGISTRY_OP__REGISTRY_REVOKE_KEY:
		for (size_t i = 0; i < u->nkeys; i++)
			if (u->keys[i].valid_until == 0 || u->keys[i].valid_until > when)
				u->keys[i].valid_until = when;
		return 0;
	case CLUEBUS__REGISTRY_OP__REGISTRY_CHANGE_LIAISON:
		if ((liaison = strdup(rec->liaison)) == NULL)
			return CB_ENOMEM;
		free(u->unit.liaison);
		u->unit.liaison = liaison;
		return 0;
	default:
		cb_error_set(err, "op", "unknown registry operation");
		return CB_EMALFORMED;
	}
}

static int
check_role(const Cluebus__Registry *rec, cb_error_t *err)
{
	static const char *const roles[] = { "office", "member", "district_office", NULL };
	int ok = 0;

	for (size_t i = 0; roles[i] != NULL; i++)
		ok |= strcmp(rec->role, roles[i]) == 0;
	if (!ok)
		return cb_fail(err, "role", CB_EMALFORMED,
		    "must be office, member or district_office");
	if (strcmp(rec->role, "district_office") == 0 && (strlen(rec->division_code) != 6 ||
	    strspn(rec->division_code, "0123456789") != 6))
		return cb_fail(err, "division_code", CB_EMALFORMED,
		    "a district office needs 6 digits");
	if (strlen(rec->division_code) > 6)
		return cb_fail(err, "division_code", CB_EMALFORMED, "longer than 6 characters");
	return 0;
}

static int check_seal(const Cluebus__Registry *, int, cb_error_t *);

static int
check_keys(const Cluebus__Registry *rec, cb_error_t *err)
{
	cb_key_t *k;

	if (key_from_public(rec->sign_public.data, rec->sign_public.len, &k) != 0)
		return cb_fail(err, "sign_public", CB_EMALFORMED,
		    "not a 32-byte Ed25519 public key");
	key_free(k);
	if (rec->transport_public.len != TRANSPORT_KEY_LEN)
		return cb_fail(err, "transport_public", CB_EMALFORMED,
		    "not a 32-byte CURVE public key");
	return check_seal(rec, 0, err);
}

/* The record's sealing key: 32 bytes, or (when not `required`) absent. */
static int
check_seal(const Cluebus__Registry *rec, int required, cb_error_t *err)
{
	if (rec->seal_public.len == 0 && !required)
		return 0;
	if (rec->seal_public.len != SEALKEY_PUBLIC_LEN)
		return cb_fail(err, "seal_public", CB_EMALFORMED,
		    "not a 32-byte X25519 public key");
	return 0;
}

/* An administrative record about a unit's sealing key: ADD needs a unit without an open
 * sealing key, ROTATE and REVOKE one with it; REVOKE needs a reason. */
static int
check_admin_seal(const registry_t *r, const Cluebus__Registry *rec, cb_error_t *err)
{
	const struct reg_entry *u = registry_find(r, rec->unit);
	int open;

	if (u == NULL)
		return cb_fail(err, "unit", CB_EMALFORMED, "'%s' is not registered", rec->unit);
	open = registry_open_seal(u) != NULL;
	if (rec->op == CLUEBUS__REGISTRY_OP__REGISTRY_ADD_SEAL_KEY && open)
		return cb_fail(err, "op", CB_EMALFORMED, "'%s' has a sealing key: rotate it",
		    rec->unit);
	if (rec->op != CLUEBUS__REGISTRY_OP__REGISTRY_ADD_SEAL_KEY && !open)
		return cb_fail(err, "op", CB_EMALFORMED, "'%s' has no valid sealing key%s",
		    rec->unit, rec->op == CLUEBUS__REGISTRY_OP__REGISTRY_ROTATE_SEAL_KEY ?
		    ": add one" : "");
	if (rec->op == CLUEBUS__REGISTRY_OP__REGISTRY_REVOKE_SEAL_KEY) {
		if (rec->reason[0] == '\0' || strlen(rec->reason) > 1024)
			return cb_fail(err, "reason", CB_EMALFORMED,
			    "required, at most 1024 bytes");
		if (rec->effective_ms < 0)
			return cb_fail(err, "effective", CB_EMALFORMED, "before 1970");
		return 0;
	}
	return check_seal(rec, 1, err);
}

int
registry_check_admin(const registry_t *r, const Cluebus__Registry *rec, cb_error_t *err)
{
	int known;

	if (!unit_id_valid(rec->unit) || strcmp(rec->unit, REGISTRY_BROKER_UNIT) == 0 ||
	    strcmp(rec->unit, REGISTRY_ADMIN_UNIT) == 0)
		return cb_fail(err, "unit", CB_EMALFORMED,
		    "not a unit id an administrator may change");
	known = registry_find(r, rec->unit) != NULL;
	switch (rec->op) {
	case CLUEBUS__REGISTRY_OP__REGISTRY_ADD_UNIT:
		if (known)
			return cb_fail(err, "unit", CB_EMALFORMED,
			    "'%s' is already registered", rec->unit);
		if (rec->name[0] == '\0' || strlen(rec->name) > 256)
			return cb_fail(err, "name", CB_EMALFORMED, "required, at most 256 bytes");
		if (check_role(rec, err) != 0)
			return CB_EMALFORMED;
		return check_keys(rec, err);
	case CLUEBUS__REGISTRY_OP__REGISTRY_ROTATE_KEY:
		if (!known)
			return cb_fail(err, "unit", CB_EMALFORMED,
			    "'%s' is not registered", rec->unit);
		return check_keys(rec, err);
	case CLUEBUS__REGISTRY_OP__REGISTRY_REVOKE_KEY:
		if (!known)
			return cb_fail(err, "unit", CB_EMALFORMED,
			    "'%s' is not registered", rec->unit);
		if (rec->reason[0] == '\0' || strlen(rec->reason) > 1024)
			return cb_fail(err, "reason", CB_EMALFORMED,
			    "required, at most 1024 bytes");
		if (rec->effective_ms < 0)
			return cb_fail(err, "effective", CB_EMALFORMED, "before 1970");
		return 0;
	case CLUEBUS__REGISTRY_OP__REGISTRY_CHANGE_LIAISON:
		if (!known)
			return cb_fail(err, "unit", CB_EMALFORMED,
			    "'%s' is not registered", rec->unit);
		if (strlen(rec->liaison) > 256)
			return cb_fail(err, "liaison", CB_EMALFORMED, "longer than 256 bytes");
		return 0;
	case CLUEBUS__REGISTRY_OP__REGISTRY_ADD_SEAL_KEY:
	case CLUEBUS__REGISTRY_OP__REGISTRY_ROTATE_SEAL_KEY:
	case CLUEBUS__REGISTRY_OP__REGISTRY_REVOKE_SEAL_KEY:
		return check_admin_seal(r, rec, err);
	default:
		return cb_fail(err, "op", CB_EMALFORMED, "not an administrative operation");
	}
}

enum reg_key_status
registry_key_at(const registry_t *r, const char *unit, const uint8_t *kid, size_t kid_len,
    int64_t at_ms, const cb_key_t **key)
{
	struct reg_entry *u = registry_find(r, unit);
	int known = 0;

	if (u == NULL)
		return REG_KEY_UNKNOWN_UNIT;
	for (size_t i = 0; i < u->nkeys; i++) {
		if (kid_len != KEY_ID_LEN || memcmp(key_id(u->keys[i].key), kid, KEY_ID_LEN))
			continue;
		known = 1;
		if (at_ms >= u->keys[i].valid_from &&
		    (u->keys[i].valid_until == 0 || at_ms < u->keys[i].valid_until)) {
			*key = u->keys[i].key;
			return REG_KEY_OK;
		}
	}
	return known ? REG_KEY_REVOKED : REG_KEY_UNKNOWN_KEY;
}

const char *
registry_transport_unit(const registry_t *r, const uint8_t *key, int64_t at_ms)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct reg_entry *u = &r->units[i];

		for (size_t j = 0; j < u->nkeys; j++) {
			const struct reg_key *k = &u->keys[j];

			if (k->has_transport &&
			    memcmp(k->transport, key, TRANSPORT_KEY_LEN) == 0 &&
			    at_ms >= k->valid_from && (k->valid_until == 0 || at_ms < k->valid_until))
				return u->unit.id;
		}
	}
	return NULL;
}

/* The unit's open key (valid_until == 0: at most one, the invariant), or NULL. */
static const struct reg_key *
registry_open_key(const registry_t *r, const char *unit)
{
	const struct reg_entry *u = registry_find(r, unit);

	if (u == NULL)
		return NULL;
	for (size_t i = 0; i < u->nkeys; i++)
		if (u->keys[i].valid_until == 0)
			return &u->keys[i];
	return NULL;
}

const uint8_t *
registry_current_transport(const registry_t *r, const char *unit)
{
	const struct reg_key *k = registry_open_key(r, unit);

	return k != NULL && k->has_transport ? k->transport : NULL;
}

const cb_key_t *
registry_current_key(const registry_t *r, const char *unit)
{
	const struct reg_key *k = registry_open_key(r, unit);

	return k != NULL ? k->key : NULL;
}

const reg_unit_t *
registry_unit(const registry_t *r, const char *unit)
{
	struct reg_entry *u = registry_find(r, unit);

	return u != NULL ? &u->unit : NULL;
}

const reg_unit_t *
registry_district_office(const registry_t *r, const char *code)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->units[i].unit.role, "district_office") == 0 &&
		    strcmp(r->units[i].unit.division_code, code) == 0)
			return &r->units[i].unit;
	return NULL;
}

size_t
registry_count(const registry_t *r)
{
	return r->n;
}

const reg_unit_t *
registry_at(const registry_t *r, size_t i)
{
	return i < r->n ? &r->units[i].unit : NULL;
}

const sealkey_t *
registry_seal_at(const registry_t *r, const char *unit, int64_t at_ms)
{
	const struct reg_entry *u = registry_find(r, unit);

	if (u == NULL)
		return NULL;
	for (size_t i = 0; i < u->nseals; i++)
		if (at_ms >= u->seals[i].valid_from &&
		    (u->seals[i].valid_until == 0 || at_ms < u->seals[i].valid_until))
			return u->seals[i].key;
	return NULL;
}

const sealkey_t *
registry_current_seal(const registry_t *r, const char *unit)
{
	const struct reg_entry *u = registry_find(r, unit);
	const struct reg_seal *k = u != NULL ? registry_open_seal(u) : NULL;

	return k != NULL ? k->key : NULL;
}

size_t
registry_key_count(const registry_t *r, const char *unit)
{
	const struct reg_entry *u = registry_find(r, unit);

	return u != NULL ? u->nkeys : 0;
}

int
registry_key_info(const registry_t *r, const char *unit, size_t i, reg_key_info_t *info)
{
	const struct reg_entry *u = registry_find(r, unit);

	if (u == NULL || i >= u->nkeys)
		return CB_ENOTFOUND;
	info->key = u->keys[i].key;
	info->transport = u->keys[i].has_transport ? u->keys[i].transport : NULL;
	info->valid_from = u->keys[i].valid_from;
	info->valid_until = u->keys[i].valid_until;
	return 0;
}

size_t
registry_seal_count(const registry_t *r, const char *unit)
{
	const struct reg_entry *u = registry_find(r, unit);

	return u != NULL ? u->nseals : 0;
}

int
registry_seal_info(const registry_t *r, const char *unit, size_t i, reg_seal_info_t *info)
{
	const struct reg_entry *u = registry_find(r, unit);

	if (u == NULL || i >= u->nseals)
		return CB_ENOTFOUND;
	info->key = u->seals[i].key;
	info->valid_from = u->seals[i].valid_from;
	info->valid_until = u->seals[i].valid_until;
	return 0;
}

const char *
registry_routing(const registry_t *r)
{
	return r->routing;
}

/* ---- building a registry from a directory ---- */

int
registry_put_unit(registry_t *r, const reg_unit_t *unit, cb_error_t *err)
{
	Cluebus__Registry rec = CLUEBUS__REGISTRY__INIT;
	struct reg_entry *u;
	int rc;

	/* registry_add_unit wants a first key; the unit gets its keys next, so add it with a
	 * placeholder and drop that. */
	static const uint8_t zero[KEY_PUBLIC_LEN];

	rec.op = CLUEBUS__REGISTRY_OP__REGISTRY_ADD_UNIT;
	rec.unit = (char *)unit->id;
	rec.name = unit->name != NULL ? unit->name : (char *)"";
	rec.role = (char *)unit->role;
	rec.division_code = (char *)unit->division_code;
	rec.liaison = unit->liaison != NULL ? unit->liaison : (char *)"";
	rec.sign_public.data = (uint8_t *)zero;
	rec.sign_public.len = sizeof(zero);
	if (!unit_id_valid(unit->id))
		return cb_fail(err, "unit", CB_EMALFORMED, "not a unit id");
	if ((rc = registry_add_unit(r, &rec, 0, err)) != 0)
		return rc;
	u = &r->units[r->n - 1];
	key_free(u->keys[0].key);
	u->nkeys = 0;
	return 0;
}

int
registry_put_key(registry_t *r, const char *unit, const uint8_t *sign_public,
    const uint8_t *transport, int64_t valid_from, int64_t valid_until, cb_error_t *err)
{
	struct reg_entry *u = registry_find(r, unit);
	struct reg_key *nk;
	cb_key_t *k;

	if (u == NULL)
		return cb_fail(err, "unit", CB_EMALFORMED, "'%s' is not listed", unit);
	if (u->nkeys > 0 && (u->keys[u->nkeys - 1].valid_until == 0 ||
	    u->keys[u->nkeys - 1].valid_until > valid_from))
		return cb_fail(err, "sign_keys", CB_EMALFORMED,
		    "keys of '%s' overlap or are out of order", unit);
	if (valid_until != 0 && valid_until < valid_from)
		return cb_fail(err, "sign_keys", CB_EMALFORMED, "valid until before valid from");
	if (key_from_public(sign_public, KEY_PUBLIC_LEN, &k) != 0)
		return CB_ENOMEM;
	if ((nk = realloc(u->keys, (u->nkeys + 1) * sizeof(*nk))) == NULL) {
		key_free(k);
		return CB_ENOMEM;
	}
	u->keys = nk;
	memset(&nk[u->nkeys], 0, sizeof(*nk));
	nk[u->nkeys].key = k;
	nk[u->nkeys].valid_from = valid_from;
	nk[u->nkeys].valid_until = valid_until;
	if (transport != NULL) {
		memcpy(nk[u->nkeys].transport, transport, TRANSPORT_KEY_LEN);
		nk[u->nkeys].has_transport = 1;
	}
	u->nkeys++;
	return 0;
}

int
registry_put_seal(registry_t *r, const char *unit, const uint8_t *seal_public,
    int64_t valid_from, int64_t valid_until, cb_error_t *err)
{
	struct reg_entry *u = registry_find(r, unit);

	if (u == NULL)
		return cb_fail(err, "unit", CB_EMALFORMED, "'%s' is not listed", unit);
	if (u->nseals > 0 && (u->seals[u->nseals - 1].valid_until == 0 ||
	    u->seals[u->nseals - 1].valid_until > valid_from))
		return cb_fail(err, "seal_keys", CB_EMALFORMED,
		    "sealing keys of '%s' overlap or are out of order", unit);
	if (valid_until != 0 && valid_until < valid_from)
		return cb_fail(err, "seal_keys", CB_EMALFORMED, "valid until before valid from");
	return registry_add_seal(u, seal_public, SEALKEY_PUBLIC_LEN, valid_from,
	    valid_until, err);
}

int
registry_set_routing(registry_t *r, const char *text)
{
	char *t = strdup(text);

	if (t == NULL)
		return CB_ENOMEM;
	free(r->routing);
	r->routing = t;
	return 0;
}

/* ---- the registry file ---- */

static const char *const unit_roles[] = { "office", "member", "district_office", NULL };

static int
json_str(json_t *o, const char *key, int required, size_t max, const char **out,
    const char *path, cb_error_t *err)
{
	json_t *v = json_object_get(o, key);

	*out = "";
	if (v == NULL) {
		if (required)
			cb_error_set(err, path, "%s: required", key);
		return required ? CB_EMALFORMED : 0;
	}
	if (!json_is_string(v) || json_string_length(v) > max)
		return cb_fail(err, path, CB_EMALFORMED,
		    "%s: expected a string of at most %zu bytes", key, max);
	*out = json_string_value(v);
	return 0;
}

/* Decodes an optional Z85 "transport_public" into rec->transport_public. */
static int
registry_parse_transport(const char *z85, Cluebus__Registry *rec, const char *path,
    cb_error_t *err)
{
	if (z85 == NULL || z85[0] == '\0')
		return 0;
	if ((rec->transport_public.data = malloc(TRANSPORT_KEY_LEN)) == NULL)
		return CB_ENOMEM;
	rec->transport_public.len = TRANSPORT_KEY_LEN;
	if (transport_z85_decode(z85, rec->transport_public.data) != 0)
		return cb_fail(err, path, CB_EMALFORMED,
		    "transport_public: expected a 40-character Z85 CURVE key");
	return 0;
}

/* Decodes the hex `pub` ("sign_public") and the optional Z85 `tpub` ("transport_public")
 * into `rec`. Returns 0, CB_ENOMEM, or CB_EMALFORMED with `err` naming `path`. */
static int
registry_parse_keys(const char *pub, const char *tpub, Cluebus__Registry *rec,
    const char *path, cb_error_t *err)
{
	if ((rec->sign_public.data = malloc(KEY_PUBLIC_LEN)) == NULL)
		return CB_ENOMEM;
	rec->sign_public.len = KEY_PUBLIC_LEN;
	if (hex_decode(pub, rec->sign_public.data, KEY_PUBLIC_LEN) != 0)
		return cb_fail(err, path, CB_EMALFORMED, "sign_public: expected 64 hex digits");
	return registry_parse_transport(tpub, rec, path, err);
}

/* Decodes an optional hex "seal_public" into rec->seal_public. */
static int
registry_parse_seal(const char *hex, Cluebus__Registry *rec, const char *path,
    cb_error_t *err)
{
	if (hex[0] == '\0')
		return 0;
	if ((rec->seal_public.data = malloc(SEALKEY_PUBLIC_LEN)) == NULL)
		return CB_ENOMEM;
	rec->seal_public.len = SEALKEY_PUBLIC_LEN;
	if (hex_decode(hex, rec->seal_public.data, SEALKEY_PUBLIC_LEN) != 0)
		return cb_fail(err, path, CB_EMALFORMED, "seal_public: expected 64 hex digits");
	return 0;
}

static int
registry_parse_unit(json_t *ju, const char *path, Cluebus__Registry **out, cb_error_t *err)
{
	const char *id, *name, *role, *div, *pub, *liaison, *tpub, *spub, *k;
	Cluebus__Registry *rec;
	json_t *v;
	int rc, ok = 0;

	if (!json_is_object(ju))
		return cb_fail(err, path, CB_EMALFORMED, "expected an object");
	json_object_foreach(ju, k, v) {
		if (strcmp(k, "id") && strcmp(k, "name") && strcmp(k, "role") &&
		    strcmp(k, "division_code") && strcmp(k, "sign_public") &&
		    strcmp(k, "liaison") && strcmp(k, "transport_public") &&
		    strcmp(k, "seal_public"))
			return cb_fail(err, path, CB_EMALFORMED, "%s: unknown field", k);
	}
	if ((rc = json_str(ju, "id", 1, CB_UNIT_ID_MAX, &id, path, err)) != 0 ||
	    (rc = json_str(ju, "name", 1, 256, &name, path, err)) != 0 ||
	    (rc = json_str(ju, "role", 1, 23, &role, path, err)) != 0 ||
	    (rc = json_str(ju, "division_code", 0, 6, &div, path, err)) != 0 ||
	    (rc = json_str(ju, "sign_public", 1, 64, &pub, path, err)) != 0 ||
	    (rc = json_str(ju, "liaison", 0, 256, &liaison, path, err)) != 0 ||
	    (rc = json_str(ju, "transport_public", 0, TRANSPORT_Z85_LEN, &tpub, path, err)) != 0 ||
	    (rc = json_str(ju, "seal_public", 0, 2 * SEALKEY_PUBLIC_LEN, &spub, path, err)) != 0)
		return rc;
	if (!unit_id_valid(id) || strcmp(id, REGISTRY_BROKER_UNIT) == 0)
		return cb_fail(err, path, CB_EMALFORMED, "id: '%s' is not a usable unit id", id);
	for (size_t i = 0; unit_roles[i] != NULL; i++)
		ok |= strcmp(role, unit_roles[i]) == 0;
	if (!ok)
		return cb_fail(err, path, CB_EMALFORMED,
		    "role: must be office, member or district_office");
	if (strcmp(role, "district_office") == 0 &&
	    (strlen(div) != 6 || strspn(div, "0123456789") != 6))
		return cb_fail(err, path, CB_EMALFORMED,
		    "division_code: a district office needs 6 digits");
	if ((rec = calloc(1, sizeof(*rec))) == NULL)
		return CB_ENOMEM;
	cluebus__registry__init(rec);
	rec->op = CLUEBUS__REGISTRY_OP__REGISTRY_ADD_UNIT;
	if ((rec->unit = strdup(id)) == NULL || (rec->name = strdup(name)) == NULL ||
	    (rec->role = strdup(role)) == NULL || (rec->division_code = strdup(div)) == NULL ||
	    (rec->liaison = strdup(liaison)) == NULL)
		rc = CB_ENOMEM;
	else if ((rc = registry_parse_keys(pub, tpub, rec, path, err)) == 0)
		rc = registry_parse_seal(spub, rec, path, err);
	if (rc != 0) {
		protobuf_c_message_free_unpacked(&rec->base, NULL);
		return rc;
	}
	*out = rec;
	return 0;
}

/* The optional "broker": {"sign_public": HEX} of a registry file: the broker's key, so that
 * agents can verify what the broker signs (escalations). */
static int
registry_parse_broker(json_t *jb, Cluebus__Registry **out, cb_error_t *err)
{
	const char *pub, *tpub;
	Cluebus__Registry *rec;
	int rc;

	if (!json_is_object(jb) || json_object_size(jb) < 1 || json_object_size(jb) > 2 ||
	    (json_object_size(jb) == 2 && json_object_get(jb, "transport_public") == NULL))
		return cb_fail(err, "broker", CB_EMALFORMED, "expected {\"sign_public\": HEX, "
		    "\"transport_public\": Z85}");
	if ((rc = json_str(jb, "sign_public", 1, 64, &pub, "broker", err)) != 0 ||
	    (rc = json_str(jb, "transport_public", 0, TRANSPORT_Z85_LEN, &tpub, "broker",
	    err)) != 0)
		return rc;
	if ((rec = calloc(1, sizeof(*rec))) == NULL)
		return CB_ENOMEM;
	cluebus__registry__init(rec);
	rec->op = CLUEBUS__REGISTRY_OP__REGISTRY_BROKER_KEY;
	if ((rec->unit = strdup(REGISTRY_BROKER_UNIT)) == NULL ||
	    (rec->name = strdup("cluebus broker")) == NULL ||
	    (rec->role = strdup("broker")) == NULL)
		rc = CB_ENOMEM;
	else
		rc = registry_parse_keys(pub, tpub, rec, "broker", err);
	if (rc != 0) {
		protobuf_c_message_free_unpacked(&rec->base, NULL);
		return rc;
	}
	*out = rec;
	return 0;
}

int
registry_parse_json(const char *json, size_t len, Cluebus__Registry ***records, size_t *n,
    cb_error_t *err)
{
	Cluebus__Registry **recs = NULL;
	json_t *root, *units, *broker;
	json_error_t jerr;
	size_t count = 0;
	int rc = CB_EMALFORMED;

	if (len > REGISTRY_MAX_FILE)
		return cb_fail(err, "(document)", CB_ETOOBIG,
		    "larger than %d bytes", REGISTRY_MAX_FILE);
	if ((root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		/* jansson gives no text (nor a code) when it cannot allocate its lexer. */
		if (jerr.text[0] == '\0' || json_error_code(&jerr) == json_error_out_of_memory)
			return cb_fail(err, "(document)", CB_ENOMEM, "out of memory");
		return cb_fail_at(err, "(document)", jerr.line, CB_EMALFORMED,
		    "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
	}
	units = json_object_get(root, "units");
	if (!json_is_object(root) || !json_is_array(units) || json_array_size(units) == 0 ||
	    json_array_size(units) > REGISTRY_MAX_UNITS) {
		cb_error_set(err, "units", "expected a non-empty array of at most %d units",
		    REGISTRY_MAX_UNITS);
		goto out;
	}
	if ((recs = calloc(json_array_size(units) + 1, sizeof(*recs))) == NULL) {
		rc = CB_ENOMEM;
		goto out;
	}
	for (count = 0; count < json_array_size(units); count++) {
		char path[32];

		snprintf(path, sizeof(path), "units[%zu]", count);
		if ((rc = registry_parse_unit(json_array_get(units, count), path,
		    &recs[count], err)) != 0)
			goto out;
		for (size_t j = 0; j < count; j++)
			if (strcmp(recs[j]->unit, recs[count]->unit) == 0) {
				cb_error_set(err, path, "id: '%s' listed twice",
				    recs[count]->unit);
				count++;
				rc = CB_EMALFORMED;
				goto out;
			}
	}
	if ((broker = json_object_get(root, "broker")) != NULL &&
	    (rc = registry_parse_broker(broker, &recs[count], err)) != 0)
		goto out;
	if (broker != NULL)
		count++;
	*records = recs;
	*n = count;
	recs = NULL;
	rc = 0;
out:
	if (recs != NULL) {
		for (size_t j = 0; j < count; j++)
			if (recs[j] != NULL)
				protobuf_c_message_free_unpacked(&recs[j]->base, NULL);
		free(recs);
	}
	json_decref(root);
	return rc;
}

int
registry_parse_file(const char *path, Cluebus__Registry ***records, size_t *n,
    cb_error_t *err)
{
	size_t len;
	char *buf;
	int rc;

	if ((rc = file_read_all(path, REGISTRY_MAX_FILE, &buf, &len)) != 0) {
		cb_error_set(err, path, "%s", rc == CB_ETOOBIG ? "file too large" :
		    "cannot read");
		return rc;
	}
	rc = registry_parse_json(buf, len, records, n, err);
	free(buf);
	return rc;
}

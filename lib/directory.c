/* lib/directory.c — the signed directory: built and signed by the broker, opened by agents.
 *
 * A directory is a Directory message (units, their keys with validity, the routing text)
 * serialized once and signed over DIRECTORY_SIGN_CONTEXT || 0x00 || those bytes; agents
 * verify the exact bytes received, then parse them. Parsing rebuilds a registry (with the
 * same key histories, through registry_put_*) and a routing table (route_from_text), so an
 * agent answers "who receives this" and "which key was valid then" with the broker's own
 * code. Invariants: (1) an open directory_t was verified (directory_open) or explicitly
 * parsed unsigned (directory_parse: the fuzz target); (2) every unit the routing table
 * names is listed (route_check); (3) key histories are in order and do not overlap;
 * (4) task forces are sorted by case_ref without repeats, each of 1 to
 * DIRECTORY_MAX_CASE_MEMBERS distinct listed units. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directory.h"
#include "transport.h"
#include "unpack.h"
#include "util.h"

struct dir_task_force {
	char		*case_ref;
	char		**units;
	size_t		 n;
};

struct directory {
	uint64_t	 version;
	int64_t		 issued_ms;
	registry_t	*reg;
	route_t		*route;
	uint8_t		*signed_bytes;	/* the packed SignedDirectory, when opened from one */
	size_t		 signed_len;
	struct dir_task_force *tf;	/* sorted by case_ref (invariant 4) */
	size_t		 ntf;
};

/* ---- building ---- */

/* Fills `dk` from one key of the registry; `pub` and `tr` are borrowed. */
static void
build_key(Cluebus__DirectoryKey *dk, const uint8_t *pub, const uint8_t *tr, int64_t from,
    int64_t until)
{
	cluebus__directory_key__init(dk);
	dk->public_key.data = (uint8_t *)pub;
	dk->public_key.len = 32;
	dk->valid_from_ms = from;
	dk->valid_until_ms = until;
	if (tr != NULL) {
		dk->transport_public.data = (uint8_t *)tr;
		dk->transport_public.len = TRANSPORT_KEY_LEN;
	}
}

/* Fills `du` with unit `u` of `reg`; the key arrays are allocated (freed by build_free). */
static int
build_unit(const registry_t *reg, const reg_unit_t *u, Cluebus__DirectoryUnit *du)
{
	size_t nk = registry_key_count(reg, u->id), ns = registry_seal_count(reg, u->id);

	cluebus__directory_unit__init(du);
	du->id = (char *)u->id;
	du->name = u->name != NULL ? u->name : (char *)"";
	du->role = (char *)u->role;
	du->division_code = (char *)u->division_code;
	du->liaison = u->liaison != NULL ? u->liaison : (char *)"";
	if ((nk > 0 && (du->sign_keys = calloc(nk, sizeof(*du->sign_keys))) == NULL) ||
	    (nk > 0 && (du->sign_keys[0] = calloc(nk, sizeof(**du->sign_keys))) == NULL) ||
	    (ns > 0 && (du->seal_keys = calloc(ns, sizeof(*du->seal_keys))) == NULL) ||
	    (ns > 0 && (du->seal_keys[0] = calloc(ns, sizeof(**du->seal_keys))) == NULL))
		return CB_ENOMEM;
	for (size_t i = 0; i < nk; i++) {
		reg_key_info_t ki;

		if (registry_key_info(reg, u->id, i, &ki) != 0)
			return CB_ENOMEM;
		du->sign_keys[i] = du->sign_keys[0] + i;
		build_key(du->sign_keys[i], key_public(ki.key), ki.transport, ki.valid_from,
		    ki.valid_until);
	}
	du->n_sign_keys = nk;
	for (size_t i = 0; i < ns; i++) {
		reg_seal_info_t si;

		if (registry_seal_info(reg, u->id, i, &si) != 0)
			return CB_ENOMEM;
		du->seal_keys[i] = du->seal_keys[0] + i;
		build_key(du->seal_keys[i], sealkey_public(si.key), NULL, si.valid_from,
		    si.valid_until);
	}
	du->n_seal_keys = ns;
	return 0;
}

static void
build_free(Cluebus__Directory *d, Cluebus__DirectoryUnit *units)
{
	for (size_t i = 0; i < d->n_units; i++) {
		if (units[i].sign_keys != NULL)
			free(units[i].sign_keys[0]);
		free(units[i].sign_keys);
		if (units[i].seal_keys != NULL)
			free(units[i].seal_keys[0]);
		free(units[i].seal_keys);
	}
	free(units);
	free(d->units);
}

/* The bytes signed: the context, a 0 byte, the serialized Directory. */
static uint8_t *
sign_input(const uint8_t *dir, size_t len, size_t *outlen)
{
	size_t clen = sizeof(DIRECTORY_SIGN_CONTEXT);	/* with its NUL: the 0 byte */
	uint8_t *buf = malloc(clen + len);

	if (buf == NULL)
		return NULL;
	memcpy(buf, DIRECTORY_SIGN_CONTEXT, clen);
	if (len > 0)
		memcpy(buf + clen, dir, len);
	*outlen = clen + len;
	return buf;
}

static int
build_sign(const Cluebus__Directory *d, const cb_key_t *key, uint8_t **out, size_t *len)
{
	Cluebus__SignedDirectory sd = CLUEBUS__SIGNED_DIRECTORY__INIT;
	uint8_t sig[KEY_SIG_LEN], *dir = NULL, *input = NULL;
	size_t dlen = cluebus__directory__get_packed_size(d), ilen;
	int rc = CB_ENOMEM;

	if (dlen > DIRECTORY_MAX - 256)
		return CB_ETOOBIG;
	if ((dir = malloc(dlen + 1)) == NULL)
		goto out;
	cluebus__directory__pack(d, dir);
	if ((input = sign_input(dir, dlen, &ilen)) == NULL)
		goto out;
	if ((rc = key_sign(key, input, ilen, sig)) != 0)
		goto out;
	sd.directory.data = dir;
	sd.directory.len = dlen;
	sd.key_id.data = (uint8_t *)key_id(key);
	sd.key_id.len = KEY_ID_LEN;
	sd.signature.data = sig;
	sd.signature.len = KEY_SIG_LEN;
	*len = cluebus__signed_directory__get_packed_size(&sd);
	if ((*out = malloc(*len)) == NULL) {
		rc = CB_ENOMEM;
		goto out;
	}
	cluebus__signed_directory__pack(&sd, *out);
	rc = 0;
out:
	free(input);
	free(dir);
	return rc;
}

static int
tf_cmp(const void *a, const void *b)
{
	const Cluebus__DirectoryTaskForce *x = *(Cluebus__DirectoryTaskForce *const *)a;
	const Cluebus__DirectoryTaskForce *y = *(Cluebus__DirectoryTaskForce *const *)b;

	return strcmp(x->case_ref, y->case_ref);
}

/* Checks one task force against the bounds and the registry. */
static int
build_task_force_ok(const registry_t *reg, const directory_task_force_t *t)
{
	size_t len = t->case_ref != NULL ? strlen(t->case_ref) : 0;

	if (len == 0 || len > DIRECTORY_MAX_CASE_REF || t->n == 0 ||
	    t->n > DIRECTORY_MAX_CASE_MEMBERS)
		return 0;
	for (size_t i = 0; i < t->n; i++) {
		if (registry_unit(reg, t->units[i]) == NULL)
			return 0;
		for (size_t j = 0; j < i; j++)
			if (strcmp(t->units[i], t->units[j]) == 0)
				return 0;
	}
	return 1;
}

/* Fills d->task_forces (sorted; the arrays are new, the strings borrowed). */
static int
build_task_forces(Cluebus__Directory *d, const registry_t *reg,
    const directory_task_force_t *tf, size_t ntf, Cluebus__DirectoryTaskForce **mem)
{
	*mem = NULL;
	if (ntf == 0)
		return 0;
	if (ntf > DIRECTORY_MAX_TASK_FORCES)
		return CB_EINVAL;
	for (size_t i = 0; i < ntf; i++)
		if (!build_task_force_ok(reg, &tf[i]))
			return CB_EINVAL;
	if ((*mem = calloc(ntf, sizeof(**mem))) == NULL ||
	    (d->task_forces = calloc(ntf, sizeof(*d->task_forces))) == NULL)
		return CB_ENOMEM;
	for (size_t i = 0; i < ntf; i++) {
		cluebus__directory_task_force__init(&(*mem)[i]);
		(*mem)[i].case_ref = (char *)tf[i].case_ref;
		(*mem)[i].units = (char **)tf[i].units;
		(*mem)[i].n_units = tf[i].n;
		d->task_forces[i] = &(*mem)[i];
	}
	d->n_task_forces = ntf;
	qsort(d->task_forces, ntf, sizeof(*d->task_forces), tf_cmp);
	for (size_t i = 1; i < ntf; i++)
		if (strcmp(d->task_forces[i - 1]->case_ref, d->task_forces[i]->case_ref) == 0)
			return CB_EINVAL;
	return 0;
}

int
directory_build(const registry_t *reg, const char *routing, uint64_t version,
    int64_t issued_ms, const cb_key_t *broker_key, uint8_t **out, size_t *len)
{
	return directory_build_cases(reg, routing, NULL, 0, version, issued_ms, broker_key,
	    out, len);
}

int
directory_build_cases(const registry_t *reg, const char *routing,
    const directory_task_force_t *tf, size_t ntf, uint64_t version, int64_t issued_ms,
    const cb_key_t *broker_key, uint8_t **out, size_t *len)
{
	Cluebus__Directory d = CLUEBUS__DIRECTORY__INIT;
	Cluebus__DirectoryUnit *units = NULL;
	Cluebus__DirectoryTaskForce *tfmem = NULL;
	size_t n = registry_count(reg);
	int rc = CB_ENOMEM;

	d.version = version;
	d.issued_ms = issued_ms;
	d.routing = (char *)(routing != NULL ? routing : "");
	if (n > 0 && ((units = calloc(n, sizeof(*units))) == NULL ||
	    (d.units = calloc(n, sizeof(*d.units))) == NULL))
		goto out;
	for (size_t i = 0; i < n; i++) {
		d.units[i] = &units[i];
		d.n_units = i + 1;
		if ((rc = build_unit(reg, registry_at(reg, i), &units[i])) != 0)
			goto out;
	}
	if ((rc = build_task_forces(&d, reg, tf, ntf, &tfmem)) != 0)
		goto out;
	rc = build_sign(&d, broker_key, out, len);
out:
	build_free(&d, units);
	free(d.task_forces);
	free(tfmem);
	return rc;
}

/* ---- parsing ---- */

static int
parse_keys(registry_t *reg, const Cluebus__DirectoryUnit *du, int seal, const char *path,
    cb_error_t *err)
{
	Cluebus__DirectoryKey **keys = seal ? du->seal_keys : du->sign_keys;
	size_t n = seal ? du->n_seal_keys : du->n_sign_keys;
	int rc;

	for (size_t i = 0; i < n; i++) {
		const Cluebus__DirectoryKey *k = keys[i];

		if (k->public_key.len != 32)
			return cb_fail(err, path, CB_EMALFORMED, "%s[%zu].public_key: not 32 bytes",
			    seal ? "seal_keys" : "sign_keys", i);
		if (k->valid_from_ms < 0 || k->valid_until_ms < 0 ||
		    (k->valid_until_ms != 0 && k->valid_until_ms < k->valid_from_ms))
			return cb_fail(err, path, CB_EMALFORMED, "%s[%zu]: validity out of order",
			    seal ? "seal_keys" : "sign_keys", i);
		if (seal) {
			rc = registry_put_seal(reg, du->id, k->public_key.data, k->valid_from_ms,
			    k->valid_until_ms, err);
		} else {
			if (k->transport_public.len != 0 &&
			    k->transport_public.len != TRANSPORT_KEY_LEN)
				return cb_fail(err, path, CB_EMALFORMED,
				    "sign_keys[%zu].transport_public: not 32 bytes", i);
			rc = registry_put_key(reg, du->id, k->public_key.data,
			    k->transport_public.len != 0 ? k->transport_public.data : NULL,
			    k->valid_from_ms, k->valid_until_ms, err);
		}
		if (rc == CB_EMALFORMED) {
			char reason[sizeof(err->reason)];

			snprintf(reason, sizeof(reason), "%s", err->reason);
			return cb_fail(err, path, CB_EMALFORMED, "%s", reason);
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
parse_unit(registry_t *reg, const Cluebus__DirectoryUnit *du, size_t i, cb_error_t *err)
{
	reg_unit_t u;
	char path[48];
	int rc;

	snprintf(path, sizeof(path), "units[%zu]", i);
	memset(&u, 0, sizeof(u));
	if (!unit_id_valid(du->id))
		return cb_fail(err, path, CB_EMALFORMED, "id: not a unit id");
	if (registry_unit(reg, du->id) != NULL)
		return cb_fail(err, path, CB_EMALFORMED, "id: '%s' listed twice", du->id);
	if (strlen(du->name) > 256 || strlen(du->liaison) > 256)
		return cb_fail(err, path, CB_EMALFORMED, "name or liaison: over 256 bytes");
	if (strlen(du->role) >= sizeof(u.role) ||
	    strlen(du->division_code) >= sizeof(u.division_code))
		return cb_fail(err, path, CB_EMALFORMED, "role or division_code: too long");
	snprintf(u.id, sizeof(u.id), "%s", du->id);
	snprintf(u.role, sizeof(u.role), "%s", du->role);
	snprintf(u.division_code, sizeof(u.division_code), "%s", du->division_code);
	u.name = du->name;
	u.liaison = du->liaison;
	if ((rc = registry_put_unit(reg, &u, err)) != 0) {
		if (rc == CB_EMALFORMED)
			return cb_fail(err, path, CB_EMALFORMED, "unit does not fit the registry");
		return rc;
	}
	if ((rc = parse_keys(reg, du, 0, path, err)) != 0)
		return rc;
	return parse_keys(reg, du, 1, path, err);
}

static int
parse_routing(directory_t *d, const char *text, cb_error_t *err)
{
	cb_error_t rerr;
	int rc;

	if (text[0] == '\0')
		return cb_fail(err, "routing", CB_EMALFORMED, "missing");
	if ((rc = route_from_text(text, &d->route, &rerr)) != 0) {
		if (rc != CB_EMALFORMED)
			return rc;
		return cb_fail(err, "routing", CB_EMALFORMED, "%s: %s", rerr.field, rerr.reason);
	}
	if (route_check(d->route, d->reg, &rerr) != 0)
		return cb_fail(err, "routing", CB_EMALFORMED, "%s: %s", rerr.field, rerr.reason);
	if ((rc = registry_set_routing(d->reg, text)) != 0)
		return rc;
	return 0;
}

/* Checks task force `i` of `pd` (invariant 4) against the units of `d`. */
static int
parse_task_force_check(const directory_t *d, const Cluebus__Directory *pd, size_t i,
    cb_error_t *err)
{
	const Cluebus__DirectoryTaskForce *t = pd->task_forces[i];
	size_t len = strlen(t->case_ref);

	if (len == 0 || len > DIRECTORY_MAX_CASE_REF)
		return cb_fail(err, "task_forces", CB_EMALFORMED,
		    "[%zu].case_ref: expected 1 to %d bytes", i, DIRECTORY_MAX_CASE_REF);
	if (i > 0 && strcmp(pd->task_forces[i - 1]->case_ref, t->case_ref) >= 0)
		return cb_fail(err, "task_forces", CB_EMALFORMED,
		    "[%zu].case_ref: not after the one before (sorted, each case once)", i);
	if (t->n_units == 0 || t->n_units > DIRECTORY_MAX_CASE_MEMBERS)
		return cb_fail(err, "task_forces", t->n_units == 0 ? CB_EMALFORMED : CB_ETOOBIG,
		    "[%zu].units: expected 1 to %d units", i, DIRECTORY_MAX_CASE_MEMBERS);
	for (size_t j = 0; j < t->n_units; j++) {
		if (registry_unit(d->reg, t->units[j]) == NULL)
			return cb_fail(err, "task_forces", CB_EMALFORMED,
			    "[%zu].units[%zu]: not a listed unit", i, j);
		for (size_t k = 0; k < j; k++)
			if (strcmp(t->units[k], t->units[j]) == 0)
				return cb_fail(err, "task_forces", CB_EMALFORMED,
				    "[%zu].units[%zu]: listed twice", i, j);
	}
	return 0;
}

/* Checks and copies the task forces of `pd` into `d`. */
static int
parse_task_forces(directory_t *d, const Cluebus__Directory *pd, cb_error_t *err)
{
	int rc;

	if (pd->n_task_forces > DIRECTORY_MAX_TASK_FORCES)
		return cb_fail(err, "task_forces", CB_ETOOBIG, "more than %d open cases",
		    DIRECTORY_MAX_TASK_FORCES);
	for (size_t i = 0; i < pd->n_task_forces; i++)
		if ((rc = parse_task_force_check(d, pd, i, err)) != 0)
			return rc;
	if (pd->n_task_forces == 0)
		return 0;
	if ((d->tf = calloc(pd->n_task_forces, sizeof(*d->tf))) == NULL)
		return CB_ENOMEM;
	for (size_t i = 0; i < pd->n_task_forces; i++) {
		const Cluebus__DirectoryTaskForce *t = pd->task_forces[i];
		struct dir_task_force *x = &d->tf[i];

		d->ntf = i + 1;
		if ((x->case_ref = strdup(t->case_ref)) == NULL ||
		    (x->units = calloc(t->n_units, sizeof(*x->units))) == NULL)
			return CB_ENOMEM;
		for (; x->n < t->n_units; x->n++)
			if ((x->units[x->n] = strdup(t->units[x->n])) == NULL)
				return CB_ENOMEM;
	}
	return 0;
}

int
directory_parse(const void *buf, size_t len, directory_t **out, cb_error_t *err)
{
	Cluebus__Directory *pd = NULL;
	ProtobufCMessage *pm;
	directory_t *d = NULL;
	int rc = CB_ENOMEM;

	cb_error_set(err, "(directory)", "out of memory");
	if (len > DIRECTORY_MAX)
		return cb_fail(err, "(directory)", CB_ETOOBIG, "over %d bytes", DIRECTORY_MAX);
	if ((rc = unpack_bounded(&cluebus__directory__descriptor, buf, len, &pm)) != 0)
		return rc == CB_ENOMEM ? rc : cb_fail(err, "(directory)", rc,
		    rc == CB_ETOOBIG ? "decoding needs more memory than its size allows" :
		    "not a Directory message");
	pd = (Cluebus__Directory *)pm;
	rc = CB_ENOMEM;
	if (pd->n_units == 0 || pd->n_units > REGISTRY_MAX_UNITS) {
		rc = cb_fail(err, "units", pd->n_units == 0 ? CB_EMALFORMED : CB_ETOOBIG,
		    "expected 1 to %d units", REGISTRY_MAX_UNITS);
		goto out;
	}
	if (pd->issued_ms < 0) {
		rc = cb_fail(err, "issued_ms", CB_EMALFORMED, "before 1970");
		goto out;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL || (d->reg = registry_new()) == NULL)
		goto out;
	d->version = pd->version;
	d->issued_ms = pd->issued_ms;
	for (size_t i = 0; i < pd->n_units; i++)
		if ((rc = parse_unit(d->reg, pd->units[i], i, err)) != 0)
			goto out;
	if ((rc = parse_routing(d, pd->routing, err)) != 0)
		goto out;
	if ((rc = parse_task_forces(d, pd, err)) != 0)
		goto out;
	*out = d;
	d = NULL;
	rc = 0;
out:
	directory_free(d);
	cluebus__directory__free_unpacked(pd, NULL);
	return rc;
}

/* Finds the broker key of `trust` with id `kid` and verifies `sd` with it. */
static int
open_verify(const Cluebus__SignedDirectory *sd, const registry_t *trust, cb_error_t *err)
{
	uint8_t *input;
	size_t ilen, n = trust != NULL ? registry_key_count(trust, REGISTRY_BROKER_UNIT) : 0;
	int rc = CB_EBADSIG;

	if (trust == NULL)
		return cb_fail(err, "signature", CB_EBADSIG, "no broker key to check it with");
	if (sd->key_id.len != KEY_ID_LEN || sd->signature.len != KEY_SIG_LEN)
		return cb_fail(err, "key_id", CB_EMALFORMED, "key id or signature length wrong");
	if ((input = sign_input(sd->directory.data, sd->directory.len, &ilen)) == NULL)
		return CB_ENOMEM;
	for (size_t i = 0; i < n && rc != 0; i++) {
		reg_key_info_t ki;

		if (registry_key_info(trust, REGISTRY_BROKER_UNIT, i, &ki) == 0 &&
		    memcmp(key_id(ki.key), sd->key_id.data, KEY_ID_LEN) == 0 &&
		    key_verify(ki.key, input, ilen, sd->signature.data, sd->signature.len) == 0)
			rc = 0;
	}
	free(input);
	if (rc != 0)
		return cb_fail(err, "signature", CB_EBADSIG,
		    "not signed by a broker key this agent knows");
	return 0;
}

int
directory_open(const void *buf, size_t len, const registry_t *trust, directory_t **out,
    cb_error_t *err)
{
	Cluebus__SignedDirectory *sd = NULL;
	ProtobufCMessage *pm;
	directory_t *d = NULL;
	const cb_key_t *k;
	int rc;

	cb_error_set(err, "(directory)", "out of memory");
	if (len > DIRECTORY_MAX)
		return cb_fail(err, "(directory)", CB_ETOOBIG, "over %d bytes", DIRECTORY_MAX);
	if ((rc = unpack_bounded(&cluebus__signed_directory__descriptor, buf, len, &pm)) != 0)
		return rc == CB_ENOMEM ? rc : cb_fail(err, "(directory)", rc,
		    rc == CB_ETOOBIG ? "decoding needs more memory than its size allows" :
		    "not a SignedDirectory message");
	sd = (Cluebus__SignedDirectory *)pm;
	if ((rc = open_verify(sd, trust, err)) != 0 ||
	    (rc = directory_parse(sd->directory.data, sd->directory.len, &d, err)) != 0)
		goto out;
	/* The key that signed must have been valid when the directory was issued. */
	if (registry_key_at(trust, REGISTRY_BROKER_UNIT, sd->key_id.data, KEY_ID_LEN,
	    d->issued_ms, &k) != REG_KEY_OK) {
		rc = cb_fail(err, "key_id", CB_EBADSIG, "the broker key was not valid when the "
		    "directory was issued");
		goto out;
	}
	if ((d->signed_bytes = malloc(len)) == NULL) {
		rc = CB_ENOMEM;
		goto out;
	}
	memcpy(d->signed_bytes, buf, len);
	d->signed_len = len;
	*out = d;
	d = NULL;
out:
	directory_free(d);
	cluebus__signed_directory__free_unpacked(sd, NULL);
	return rc;
}

int
directory_save(const directory_t *d, const char *path)
{
	if (d->signed_bytes == NULL)
		return CB_EINVAL;
	return file_write_atomic(path, d->signed_bytes, d->signed_len, 0600) == 0 ? 0 : CB_EIO;
}

int
directory_load(const char *path, const registry_t *trust, directory_t **out, cb_error_t *err)
{
	char *buf;
	size_t len;
	int rc;

	if ((rc = file_read_all(path, DIRECTORY_MAX, &buf, &len)) != 0) {
		if (rc == CB_EIO && errno == ENOENT)
			return cb_fail(err, path, CB_ENOTFOUND, "no kept directory");
		return cb_fail(err, path, rc == CB_ETOOBIG ? CB_ETOOBIG : CB_EIO, "cannot read");
	}
	rc = directory_open(buf, len, trust, out, err);
	free(buf);
	return rc;
}

/* ---- using it ---- */

uint64_t
directory_version(const directory_t *d)
{
	return d->version;
}

int64_t
directory_issued_ms(const directory_t *d)
{
	return d->issued_ms;
}

const uint8_t *
directory_signed_bytes(const directory_t *d, size_t *len)
{
	*len = d->signed_len;
	return d->signed_bytes;
}

const registry_t *
directory_registry(const directory_t *d)
{
	return d->reg;
}

const route_t *
directory_route(const directory_t *d)
{
	return d->route;
}

int
directory_recipients(const directory_t *d, const Cluebus__Message *m, route_result_t *res)
{
	return route_message(d->route, d->reg, m, res);
}

int
directory_seal_recipients(const directory_t *d, const Cluebus__Message *m,
    route_result_t *res, seal_recipient_t rcpt[ROUTE_MAX], size_t *n, cb_error_t *err)
{
	if (directory_recipients(d, m, res) != 0 || res->n == 0)
		return cb_fail(err, "kind", CB_EINVAL, "no recipients to seal to");
	for (size_t i = 0; i < res->n; i++) {
		rcpt[i].unit = res->units[i];
		if ((rcpt[i].key = directory_seal_key(d, res->units[i])) == NULL)
			return cb_fail(err, res->units[i], CB_ENOTFOUND,
			    "recipient has no valid sealing key in directory version %llu",
			    (unsigned long long)d->version);
	}
	*n = res->n;
	return 0;
}

static int
tf_find(const void *key, const void *elem)
{
	return strcmp(key, ((const struct dir_task_force *)elem)->case_ref);
}

int
directory_case_members(const directory_t *d, const char *case_ref, char *const **units,
    size_t *n)
{
	const struct dir_task_force *t;

	*units = NULL;
	*n = 0;
	if (d->ntf == 0 || case_ref == NULL || case_ref[0] == '\0' ||
	    (t = bsearch(case_ref, d->tf, d->ntf, sizeof(*d->tf), tf_find)) == NULL)
		return CB_ENOTFOUND;
	*units = t->units;
	*n = t->n;
	return 0;
}

size_t
directory_case_count(const directory_t *d)
{
	return d->ntf;
}

directory_task_force_t
directory_case_at(const directory_t *d, size_t i)
{
	return (directory_task_force_t){ d->tf[i].case_ref, d->tf[i].units, d->tf[i].n };
}

const sealkey_t *
directory_seal_key(const directory_t *d, const char *unit)
{
	return registry_current_seal(d->reg, unit);
}

const sealkey_t *
directory_seal_key_at(const directory_t *d, const char *unit, int64_t at_ms)
{
	return registry_seal_at(d->reg, unit, at_ms);
}

enum reg_key_status
directory_signing_key_at(const directory_t *d, const char *unit, const uint8_t *kid,
    size_t kid_len, int64_t at_ms, const cb_key_t **key)
{
	return registry_key_at(d->reg, unit, kid, kid_len, at_ms, key);
}

const char *
directory_unit_name(const directory_t *d, const char *unit)
{
	const reg_unit_t *u = registry_unit(d->reg, unit);

	return u != NULL ? u->name : NULL;
}

void
directory_free(directory_t *d)
{
	if (d == NULL)
		return;
	registry_free(d->reg);
	route_free(d->route);
	free(d->signed_bytes);
	for (size_t i = 0; i < d->ntf; i++) {
		for (size_t j = 0; j < d->tf[i].n; j++)
			free(d->tf[i].units[j]);
		free(d->tf[i].units);
		free(d->tf[i].case_ref);
	}
	free(d->tf);
	free(d);
}

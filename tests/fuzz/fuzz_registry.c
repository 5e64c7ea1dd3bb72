/* tests/fuzz/fuzz_registry.c — libFuzzer target for the registry file parser and the
 * registry it builds (lib/registry.c).
 *
 * Feeds arbitrary bytes to registry_parse_json(). Every record of an accepted file must
 * apply to a new registry (the broker refuses to start otherwise), after which every unit is
 * found, its key is valid from the time it was added, and a district office is found by its
 * division code. Then each unit's key is rotated and revoked, exercising the key history. A
 * refusal must name the field and the reason. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluebus/err.h"
#include "cluebus.pb-c.h"
#include "registry.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_registry(Cluebus__Registry **recs, size_t n)
{
	registry_t *r = registry_new();
	const cb_key_t *k;
	cb_error_t err;

	if (r == NULL)
		abort();
	for (size_t i = 0; i < n; i++)
		if (registry_apply(r, recs[i], 1000 + (int64_t)i, &err) != 0)
			abort();
	if (registry_count(r) != n)
		abort();
	for (size_t i = 0; i < n; i++) {
		const reg_unit_t *u = registry_unit(r, recs[i]->unit);
		const cb_key_t *cur = registry_current_key(r, recs[i]->unit);

		if (u == NULL || registry_at(r, i) != u || cur == NULL ||
		    registry_key_at(r, u->id, key_id(cur), KEY_ID_LEN, 5000, &k) != REG_KEY_OK ||
		    k != cur ||
		    registry_key_at(r, u->id, key_id(cur), KEY_ID_LEN, 999, &k) !=
		    REG_KEY_REVOKED)
			abort();
		if (strcmp(u->role, "district_office") == 0 &&
		    registry_district_office(r, u->division_code) == NULL)
			abort();
		/* A second ADD_UNIT is refused and changes nothing. */
		if (registry_apply(r, recs[i], 2000, &err) != CB_EMALFORMED ||
		    registry_count(r) != n)
			abort();
	}
	/* Rotate every unit to the next unit's key, then revoke. */
	for (size_t i = 0; i < n; i++) {
		Cluebus__Registry rec = *recs[(i + 1) % n];

		rec.op = CLUEBUS__REGISTRY_OP__REGISTRY_ROTATE_KEY;
		rec.unit = recs[i]->unit;
		if (registry_apply(r, &rec, 3000, &err) != 0)
			abort();
		rec.op = CLUEBUS__REGISTRY_OP__REGISTRY_REVOKE_KEY;
		if (registry_apply(r, &rec, 4000, &err) != 0 ||
		    registry_current_key(r, recs[i]->unit) != NULL)
			abort();
	}
	registry_free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Cluebus__Registry **recs = NULL;
	cb_error_t err;
	size_t n = 0;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = registry_parse_json((const char *)data, size, &recs, &n, &err);
	if (rc != 0) {
		if (recs != NULL || (rc != CB_EMALFORMED && rc != CB_ETOOBIG) ||
		    err.field[0] == '\0' || err.reason[0] == '\0')
			abort();
		return 0;
	}
	if (recs == NULL || n == 0)
		abort();
	check_registry(recs, n);
	for (size_t i = 0; i < n; i++)
		protobuf_c_message_free_unpacked(&recs[i]->base, NULL);
	free(recs);
	return 0;
}

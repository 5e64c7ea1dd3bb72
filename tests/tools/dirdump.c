/* tests/tools/dirdump.c — prints an agent's kept directory as JSON, for the integration
 * tests.
 *
 *   dirdump REGISTRY_JSON DIRECTORY_FILE
 *
 * Verifies DIRECTORY_FILE (STATE/directory.pb) with the broker key of REGISTRY_JSON, as
 * the agent does, and prints {"version", "units": [{"id", "name", "sign_keys": [{"key_id",
 * "valid_from_ms", "valid_until_ms"}], "seal_keys": [...]}], "routing"}. Exit 0, or 1 with
 * the reason when it does not verify or parse. */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "directory.h"
#include "registry.h"
#include "util.h"

static json_t *
key_json(const uint8_t *id, size_t idlen, int64_t from, int64_t until)
{
	char hex[2 * 8 + 1];

	hex_encode(id, idlen, hex);
	return json_pack("{s:s, s:I, s:I}", "key_id", hex, "valid_from_ms", (json_int_t)from,
	    "valid_until_ms", (json_int_t)until);
}

int
main(int argc, char **argv)
{
	Cluebus__Registry **recs;
	registry_t *trust;
	directory_t *d;
	const registry_t *reg;
	json_t *out, *units;
	cb_error_t err;
	size_t n;

	if (argc != 3) {
		fprintf(stderr, "usage: dirdump REGISTRY_JSON DIRECTORY_FILE\n");
		return 2;
	}
	if (registry_parse_file(argv[1], &recs, &n, &err) != 0 ||
	    (trust = registry_new()) == NULL) {
		fprintf(stderr, "%s: %s: %s\n", argv[1], err.field, err.reason);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		if (registry_apply(trust, recs[i], 0, &err) != 0)
			fprintf(stderr, "registry: %s: %s\n", err.field, err.reason);
		protobuf_c_message_free_unpacked(&recs[i]->base, NULL);
	}
	free(recs);
	if (directory_load(argv[2], trust, &d, &err) != 0) {
		fprintf(stderr, "%s: %s: %s\n", argv[2], err.field, err.reason);
		registry_free(trust);
		return 1;
	}
	reg = directory_registry(d);
	units = json_array();
	for (size_t i = 0; i < registry_count(reg); i++) {
		const reg_unit_t *u = registry_at(reg, i);
		json_t *sk = json_array(), *zk = json_array();

		for (size_t j = 0; j < registry_key_count(reg, u->id); j++) {
			reg_key_info_t ki;

			if (registry_key_info(reg, u->id, j, &ki) == 0)
				json_array_append_new(sk, key_json(key_id(ki.key), KEY_ID_LEN,
				    ki.valid_from, ki.valid_until));
		}
		for (size_t j = 0; j < registry_seal_count(reg, u->id); j++) {
			reg_seal_info_t si;

			if (registry_seal_info(reg, u->id, j, &si) == 0)
				json_array_append_new(zk, key_json(sealkey_id(si.key),
				    SEALKEY_ID_LEN, si.valid_from, si.valid_until));
		}
		json_array_append_new(units, json_pack("{s:s, s:s, s:o, s:o}", "id", u->id,
		    "name", u->name != NULL ? u->name : "", "sign_keys", sk, "seal_keys", zk));
	}
	out = json_pack("{s:I, s:o, s:s}", "version", (json_int_t)directory_version(d),
	    "units", units, "routing", route_text(directory_route(d)));
	json_dumpf(out, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(out);
	directory_free(d);
	registry_free(trust);
	return 0;
}

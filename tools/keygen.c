/* tools/keygen.c — cluebus-keygen: create a unit's keys; build a registry file.
 *
 *   cluebus-keygen key UNIT DIR
 *       writes DIR/UNIT.key (Ed25519 private, PEM, mode 0600; never overwritten) and
 *       DIR/UNIT.pub (public, PEM), and prints the key id.
 *   cluebus-keygen units UNITS_JSON KEYDIR
 *       creates the missing keys of the broker and of every unit of UNITS_JSON.
 *   cluebus-keygen registry UNITS_JSON KEYDIR
 *       prints UNITS_JSON (units.sample.json style) with each unit's "sign_public" taken
 *       from KEYDIR/ID.pub, and "broker" with KEYDIR/broker.pub when present: the
 *       registry file the broker and agents load. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "keys.h"
#include "registry.h"
#include "util.h"

static int
usage(void)
{
	fprintf(stderr, "usage: cluebus-keygen key UNIT DIR\n"
	    "       cluebus-keygen units UNITS_JSON KEYDIR\n"
	    "       cluebus-keygen registry UNITS_JSON KEYDIR\n");
	return 2;
}

static int
keygen_key(const char *unit, const char *dir)
{
	char priv[4096], pub[4096], id[2 * KEY_ID_LEN + 1];
	cb_key_t *k;
	int rc;

	if (!unit_id_valid(unit)) {
		fprintf(stderr, "keygen: '%s' is not a unit id ([a-z0-9-]{1,32})\n", unit);
		return 2;
	}
	if (file_mkdirs(dir, 0700) != 0) {
		perror(dir);
		return 1;
	}
	snprintf(priv, sizeof(priv), "%s/%s.key", dir, unit);
	snprintf(pub, sizeof(pub), "%s/%s.pub", dir, unit);
	if ((rc = key_generate(&k)) != 0) {
		fprintf(stderr, "keygen: %s\n", cb_strerror(rc));
		return 1;
	}
	if ((rc = key_save_private(k, priv)) != 0 || (rc = key_save_public(k, pub)) != 0) {
		fprintf(stderr, "keygen: %s: %s\n", priv, rc == CB_EEXIST ?
		    "exists; refusing to overwrite a key" : cb_strerror(rc));
		key_free(k);
		return 1;
	}
	hex_encode(key_id(k), KEY_ID_LEN, id);
	printf("%s key id %s\n", unit, id);
	key_free(k);
	return 0;
}

static int
keygen_units(const char *units_path, const char *keydir)
{
	json_t *root, *units, *u;
	json_error_t jerr;
	char path[4096];
	size_t i;
	int rc = 0;

	if ((root = json_load_file(units_path, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		fprintf(stderr, "%s:%d: %s\n", units_path, jerr.line, jerr.text);
		return 1;
	}
	if (!json_is_array(units = json_object_get(root, "units"))) {
		fprintf(stderr, "%s: no \"units\" array\n", units_path);
		json_decref(root);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/%s.key", keydir, REGISTRY_BROKER_UNIT);
	if (access(path, F_OK) != 0)
		rc = keygen_key(REGISTRY_BROKER_UNIT, keydir);
	json_array_foreach(units, i, u) {
		const char *id = json_string_value(json_object_get(u, "id"));

		if (rc != 0 || id == NULL) {
			rc = rc != 0 ? rc : 1;
			break;
		}
		snprintf(path, sizeof(path), "%s/%s.key", keydir, id);
		if (access(path, F_OK) != 0)
			rc = keygen_key(id, keydir);
	}
	json_decref(root);
	return rc;
}

static int
keygen_registry(const char *units_path, const char *keydir)
{
	json_t *root, *units, *u;
	json_error_t jerr;
	size_t i;
	int rc = 1;

	if ((root = json_load_file(units_path, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		fprintf(stderr, "%s:%d: %s\n", units_path, jerr.line, jerr.text);
		return 1;
	}
	if (!json_is_array(units = json_object_get(root, "units"))) {
		fprintf(stderr, "%s: no \"units\" array\n", units_path);
		goto out;
	}
	json_array_foreach(units, i, u) {
		const char *id = json_string_value(json_object_get(u, "id"));
		char path[4096], hex[2 * KEY_PUBLIC_LEN + 1];
		cb_key_t *k;

		if (id == NULL || !unit_id_valid(id)) {
			fprintf(stderr, "%s: units[%zu]: bad id\n", units_path, i);
			goto out;
		}
		snprintf(path, sizeof(path), "%s/%s.pub", keydir, id);
		if (key_load_public(path, &k) != 0) {
			fprintf(stderr, "%s: cannot load (run: cluebus-keygen key %s %s)\n", path,
			    id, keydir);
			goto out;
		}
		hex_encode(key_public(k), KEY_PUBLIC_LEN, hex);
		key_free(k);
		json_object_set_new(u, "sign_public", json_string(hex));
	}
	{
		char path[4096], hex[2 * KEY_PUBLIC_LEN + 1];
		cb_key_t *k;

		snprintf(path, sizeof(path), "%s/%s.pub", keydir, REGISTRY_BROKER_UNIT);
		if (key_load_public(path, &k) == 0) {
			hex_encode(key_public(k), KEY_PUBLIC_LEN, hex);
			key_free(k);
			json_object_set_new(root, "broker", json_pack("{s:s}", "sign_public",
			    hex));
		}
	}
	if (json_dumpf(root, stdout, JSON_INDENT(2)) == 0) {
		putchar('\n');
		rc = 0;
	}
out:
	json_decref(root);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "key") == 0)
		return keygen_key(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "units") == 0)
		return keygen_units(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "registry") == 0)
		return keygen_registry(argv[2], argv[3]);
	return usage();
}

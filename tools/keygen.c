/* tools/keygen.c — cluebus-keygen: create a unit's keys; build a registry file.
 *
 *   cluebus-keygen key UNIT DIR
 *       writes DIR/UNIT.key (Ed25519 signing key, PEM, mode 0600; never overwritten),
 *       DIR/UNIT.pub (public, PEM), DIR/UNIT.curve (CURVE transport secret, Z85, 0600),
 *       DIR/UNIT.curve.pub, DIR/UNIT.seal (X25519 sealing key, PEM, 0600) and
 *       DIR/UNIT.seal.pub, and prints the signing key id.
 *   cluebus-keygen units UNITS_JSON KEYDIR
 *       creates the missing keys of the broker, of the administrator ("admin": the
 *       反拐办's key for registry changes) and of every unit of UNITS_JSON.
 *   cluebus-keygen registry UNITS_JSON KEYDIR
 *       prints UNITS_JSON (units.sample.json style) with each unit's "sign_public" taken
 *       from KEYDIR/ID.pub, "transport_public" from KEYDIR/ID.curve.pub and "seal_public"
 *       from KEYDIR/ID.seal.pub (when there is one), and "broker"
 *       with the broker's two public keys: the registry file the broker and agents load.
 *   cluebus-keygen correlation-key PATH [VERSION]
 *       writes a new random city correlation key of VERSION (default 1) to PATH (mode 0600,
 *       never overwritten): the 反拐办 creates it, units' agents name it as
 *       correlation_key (docs/correlation.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cluebus/version.h"
#include "keys.h"
#include "matchkey.h"
#include "registry.h"
#include "sealkey.h"
#include "transport.h"
#include "util.h"

static int
usage(void)
{
	fprintf(stderr, "usage: cluebus-keygen key UNIT DIR\n"
	    "       cluebus-keygen units UNITS_JSON KEYDIR\n"
	    "       cluebus-keygen registry UNITS_JSON KEYDIR\n"
	    "       cluebus-keygen correlation-key PATH [VERSION]\n"
	    "       cluebus-keygen --help | --version\n");
	return 2;
}

static int
help(void)
{
	printf("usage: cluebus-keygen key UNIT DIR\n"
	    "       cluebus-keygen units UNITS_JSON KEYDIR\n"
	    "       cluebus-keygen registry UNITS_JSON KEYDIR\n"
	    "       cluebus-keygen correlation-key PATH [VERSION]\n"
	    "\n"
	    "Creates the keys of units, the broker and the administrator, and the registry file.\n"
	    "\n"
	    "  key       writes DIR/UNIT.key (Ed25519 signing key, PEM, 0600; never overwritten),\n"
	    "            DIR/UNIT.pub, DIR/UNIT.curve (CURVE transport secret, Z85, 0600),\n"
	    "            DIR/UNIT.curve.pub, DIR/UNIT.seal (X25519 sealing key, PEM, 0600)\n"
	    "            and DIR/UNIT.seal.pub, and prints the signing key id\n"
	    "  units     creates the missing keys of \"broker\", \"admin\" and every unit of\n"
	    "            UNITS_JSON (units.sample.json style) in KEYDIR\n"
	    "  registry  prints UNITS_JSON with each unit's public keys from KEYDIR and the\n"
	    "            broker's: the registry file the broker and the agents load\n"
	    "  correlation-key\n"
	    "            writes a new random city correlation key of VERSION (default 1) to\n"
	    "            PATH (0600, never overwritten): the agents' correlation_key\n"
	    "\n"
	    "  --help     print this help and exit\n"
	    "  --version  print the version and exit\n"
	    "\n"
	    "Exit: 0 done, 1 error, 2 usage.\n");
	return 0;
}

/* Writes DIR/UNIT.seal (0600, never overwritten) and DIR/UNIT.seal.pub. */
static int
keygen_seal(const char *unit, const char *dir)
{
	char priv[4096], pub[4096];
	sealkey_t *k;
	int rc;

	snprintf(priv, sizeof(priv), "%s/%s.seal", dir, unit);
	snprintf(pub, sizeof(pub), "%s/%s.seal.pub", dir, unit);
	if ((rc = sealkey_generate(&k)) != 0)
		return rc;
	if ((rc = sealkey_save_private(k, priv)) == 0)
		rc = sealkey_save_public(k, pub);
	sealkey_free(k);
	return rc;
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
	if ((rc = key_save_private(k, priv)) != 0 || (rc = key_save_public(k, pub)) != 0 ||
	    (rc = transport_keygen(dir, unit)) != 0 || (rc = keygen_seal(unit, dir)) != 0) {
		fprintf(stderr, "keygen: keys of %s in %s: %s\n", unit, dir, rc == CB_EEXIST ?
		    "exist; refusing to overwrite a key" : cb_strerror(rc));
		key_free(k);
		return 1;
	}
	hex_encode(key_id(k), KEY_ID_LEN, id);
	printf("%s key id %s\n", unit, id);
	key_free(k);
	return 0;
}

/* Sets obj.transport_public from KEYDIR/NAME.curve.pub. */
static int
keygen_transport_public(const char *keydir, const char *name, json_t *obj)
{
	char path[4096], z85[TRANSPORT_Z85_LEN + 1];

	snprintf(path, sizeof(path), "%s/%s.curve.pub", keydir, name);
	if (transport_load_public(path, z85) != 0) {
		fprintf(stderr, "%s: cannot load (run: cluebus-keygen key %s %s)\n", path, name,
		    keydir);
		return 1;
	}
	json_object_set_new(obj, "transport_public", json_string(z85));
	return 0;
}

/* Sets obj.seal_public (hex) from KEYDIR/NAME.seal.pub when that file exists. */
static int
keygen_seal_public(const char *keydir, const char *name, json_t *obj)
{
	char path[4096], hex[2 * SEALKEY_PUBLIC_LEN + 1];
	sealkey_t *k;

	snprintf(path, sizeof(path), "%s/%s.seal.pub", keydir, name);
	if (access(path, F_OK) != 0)
		return 0;
	if (sealkey_load_public(path, &k) != 0) {
		fprintf(stderr, "%s: not an X25519 public key\n", path);
		return 1;
	}
	hex_encode(sealkey_public(k), SEALKEY_PUBLIC_LEN, hex);
	sealkey_free(k);
	json_object_set_new(obj, "seal_public", json_string(hex));
	return 0;
}

/* Loads a units file and finds its "units" array (borrowed from *root, which the caller
 * releases). Returns 0 or 1 with a message printed. */
static int
keygen_load_units(const char *units_path, json_t **root, json_t **units)
{
	json_error_t jerr;

	if (access(units_path, F_OK) != 0 && errno == ENOENT) {
		fprintf(stderr, "cluebus-keygen: no such file: %s\n", units_path);
		return 1;
	}
	if ((*root = json_load_file(units_path, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		fprintf(stderr, "%s:%d: %s\n", units_path, jerr.line, jerr.text);
		return 1;
	}
	if (!json_is_array(*units = json_object_get(*root, "units"))) {
		fprintf(stderr, "%s: no \"units\" array\n", units_path);
		json_decref(*root);
		return 1;
	}
	return 0;
}

/* Creates whichever of NAME's key pairs is missing in `dir`. */
static int
keygen_missing(const char *name, const char *dir)
{
	char path[4096];
	int rc;

	snprintf(path, sizeof(path), "%s/%s.key", dir, name);
	if (access(path, F_OK) != 0)
		return keygen_key(name, dir);
	snprintf(path, sizeof(path), "%s/%s.curve", dir, name);
	if (access(path, F_OK) != 0 && (rc = transport_keygen(dir, name)) != 0) {
		fprintf(stderr, "keygen: %s: %s\n", path, cb_strerror(rc));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/%s.seal", dir, name);
	if (access(path, F_OK) != 0 && (rc = keygen_seal(name, dir)) != 0) {
		fprintf(stderr, "keygen: %s: %s\n", path, cb_strerror(rc));
		return 1;
	}
	return 0;
}

static int
keygen_units(const char *units_path, const char *keydir)
{
	json_t *root, *units, *u;
	size_t i;
	int rc = 0;

	if (keygen_load_units(units_path, &root, &units) != 0)
		return 1;
	rc = keygen_missing(REGISTRY_BROKER_UNIT, keydir);
	if (rc == 0)
		rc = keygen_missing(REGISTRY_ADMIN_UNIT, keydir);
	json_array_foreach(units, i, u) {
		const char *id = json_string_value(json_object_get(u, "id"));

		if (rc != 0 || id == NULL) {
			rc = rc != 0 ? rc : 1;
			break;
		}
		rc = keygen_missing(id, keydir);
	}
	json_decref(root);
	return rc;
}

static int
keygen_registry(const char *units_path, const char *keydir)
{
	json_t *root, *units, *u;
	size_t i;
	int rc = 1;

	if (keygen_load_units(units_path, &root, &units) != 0)
		return 1;
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
		if (keygen_transport_public(keydir, id, u) != 0 ||
		    keygen_seal_public(keydir, id, u) != 0)
			goto out;
	}
	{
		char path[4096], hex[2 * KEY_PUBLIC_LEN + 1];
		cb_key_t *k;

		snprintf(path, sizeof(path), "%s/%s.pub", keydir, REGISTRY_BROKER_UNIT);
		if (key_load_public(path, &k) == 0) {
			json_t *b;

			hex_encode(key_public(k), KEY_PUBLIC_LEN, hex);
			key_free(k);
			b = json_pack("{s:s}", "sign_public", hex);
			json_object_set_new(root, "broker", b);
			if (keygen_transport_public(keydir, REGISTRY_BROKER_UNIT, b) != 0)
				goto out;
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

static int
keygen_correlation_key(const char *path, const char *version_arg)
{
	unsigned long version = 1;
	char *end;
	int rc;

	if (version_arg != NULL) {
		errno = 0;
		version = strtoul(version_arg, &end, 10);
		if (errno != 0 || *end != '\0' || version < 1 || version > UINT32_MAX ||
		    version_arg[0] == '-') {
			fprintf(stderr, "keygen: VERSION must be in 1..4294967295\n");
			return 2;
		}
	}
	if ((rc = matchkey_create(path, (uint32_t)version)) != 0) {
		fprintf(stderr, "keygen: %s: %s\n", path, rc == CB_EEXIST ? "exists (never "
		    "overwritten)" : cb_strerror(rc));
		return 1;
	}
	printf("correlation key version %lu written to %s\n", version, path);
	return 0;
}

int
main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0)
			return help();
		if (strcmp(argv[i], "--version") == 0) {
			printf("cluebus-keygen %s\n", CB_VERSION);
			return 0;
		}
	}
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-') {
			fprintf(stderr, "cluebus-keygen: unknown option: %s\n", argv[i]);
			return usage();
		}
	}
	if (argc == 4 && strcmp(argv[1], "key") == 0)
		return keygen_key(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "units") == 0)
		return keygen_units(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "registry") == 0)
		return keygen_registry(argv[2], argv[3]);
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "correlation-key") == 0)
		return keygen_correlation_key(argv[2], argc == 4 ? argv[3] : NULL);
	return usage();
}

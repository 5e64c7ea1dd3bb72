/* tests/tools/sealkeys.c — sealing keys for a test deployment, until cluebus-keygen makes
 * them (issue 14a).
 *
 * Usage: sealkeys DIR UNIT...
 * Writes DIR/UNIT.seal (X25519 private key, PEM, mode 0600; an existing file is kept) for
 * every UNIT and prints the JSON object of unit id -> public key (64 hex digits) that an
 * agent's `seal_keys` file holds. */
#include <stdio.h>
#include <string.h>

#include "sealkey.h"
#include "util.h"

int
main(int argc, char **argv)
{
	char path[4096], hex[2 * SEALKEY_PUBLIC_LEN + 1];
	sealkey_t *k;

	if (argc < 3) {
		fprintf(stderr, "usage: sealkeys DIR UNIT...\n");
		return 2;
	}
	printf("{");
	for (int i = 2; i < argc; i++) {
		snprintf(path, sizeof(path), "%s/%s.seal", argv[1], argv[i]);
		if (sealkey_load_private(path, &k) != 0) {
			if (sealkey_generate(&k) != 0 || sealkey_save_private(k, path) != 0) {
				fprintf(stderr, "sealkeys: cannot make %s\n", path);
				return 1;
			}
		}
		hex_encode(sealkey_public(k), SEALKEY_PUBLIC_LEN, hex);
		printf("%s\"%s\": \"%s\"", i > 2 ? ", " : "", argv[i], hex);
		sealkey_free(k);
	}
	printf("}\n");
	return 0;
}

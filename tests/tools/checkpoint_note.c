/* tests/tools/checkpoint_note.c — signed notes by a fixed test key, for the fuzz corpus of
 * tests/fuzz/fuzz_checkpoint.c and for tests that need a note a known key signed.
 *
 *   checkpoint_note sign NAME < TEXT   signs TEXT (as it is, well-formed checkpoint or not)
 *                                      under NAME and prints the signed note
 *   checkpoint_note vkey NAME          prints the vkey of the key under NAME
 *
 * The key is the Ed25519 key of the seed of 32 bytes 0x42: a test key, public by design.
 * Exit: 0, 1 (the text cannot be signed: not a note text, too long), 2 (usage). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "checkpoint.h"
#include "cluebus/err.h"
#include "keys.h"

static cb_key_t *
test_key(void)
{
	char path[] = "/tmp/cb-checkpoint-note.XXXXXX";
	uint8_t seed[32];
	EVP_PKEY *pkey;
	cb_key_t *k = NULL;
	FILE *f = NULL;
	int fd, ok;

	memset(seed, 0x42, sizeof(seed));
	if ((pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
	    sizeof(seed))) == NULL || (fd = mkstemp(path)) < 0)
		return NULL;
	ok = (f = fdopen(fd, "w")) != NULL &&
	    PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) == 1;
	if (f != NULL)
		fclose(f);
	else
		close(fd);
	EVP_PKEY_free(pkey);
	if (!ok || key_load_private(path, &k) != 0)
		k = NULL;
	unlink(path);
	return k;
}

int
main(int argc, char **argv)
{
	static char text[CHECKPOINT_NOTE_MAX + 1], note[CHECKPOINT_NOTE_MAX + 1];
	char vkey[CHECKPOINT_VKEY_MAX];
	size_t text_len, len;
	cb_key_t *k;
	int rc = 1;

	if (argc != 3 || (strcmp(argv[1], "sign") != 0 && strcmp(argv[1], "vkey") != 0)) {
		fprintf(stderr, "usage: checkpoint_note sign NAME < TEXT | vkey NAME\n");
		return 2;
	}
	if ((k = test_key()) == NULL) {
		fprintf(stderr, "checkpoint_note: cannot make the test key\n");
		return 1;
	}
	if (strcmp(argv[1], "vkey") == 0) {
		if ((rc = checkpoint_vkey(argv[2], k, vkey)) == 0)
			printf("%s\n", vkey);
	} else {
		text_len = fread(text, 1, sizeof(text) - 1, stdin);
		if ((rc = checkpoint_note_sign(text, text_len, argv[2], k, note, sizeof(note),
		    &len)) == 0)
			fwrite(note, 1, len, stdout);
	}
	if (rc != 0)
		fprintf(stderr, "checkpoint_note: %s\n", cb_strerror(rc));
	key_free(k);
	return rc == 0 ? 0 : 1;
}

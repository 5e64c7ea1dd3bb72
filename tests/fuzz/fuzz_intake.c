/* tests/fuzz/fuzz_intake.c — libFuzzer target for the agency JSON decoder (lib/intake.c).
 *
 * Feeds arbitrary bytes to intake_from_json(). Whatever it accepts must render with
 * intake_to_json(), dump with jansson, and parse back to a message that packs to the same
 * protobuf bytes (the round trip docs/formats.md promises). A refusal must say why. Any
 * broken promise aborts, so libFuzzer and the corpus replay report it as a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "cluebus/err.h"
#include "intake.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Whether two messages pack to the same bytes. */
static int
same_bytes(const Cluebus__Message *a, const Cluebus__Message *b)
{
	size_t	 alen = protobuf_c_message_get_packed_size(&a->base);
	size_t	 blen = protobuf_c_message_get_packed_size(&b->base);
	uint8_t	*abuf = NULL, *bbuf = NULL;
	int	 same = 0;

	if (alen != blen)
		goto out;
	if ((abuf = malloc(alen + 1)) == NULL || (bbuf = malloc(blen + 1)) == NULL)
		abort();
	protobuf_c_message_pack(&a->base, abuf);
	protobuf_c_message_pack(&b->base, bbuf);
	same = memcmp(abuf, bbuf, alen) == 0;
out:
	free(bbuf);
	free(abuf);
	return same;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Cluebus__Message	*msg = NULL, *again = NULL;
	cb_error_t		 err;
	json_t			*doc = NULL;
	char			*text = NULL;

	if (intake_from_json((const char *)data, size, &msg, &err) != 0) {
		if (msg != NULL || err.reason[0] == '\0')
			abort();
		return 0;
	}
	if ((doc = intake_to_json(msg)) == NULL ||
	    (text = json_dumps(doc, JSON_COMPACT)) == NULL)
		abort();
	/* Rendering may add a few bytes (default priority, milliseconds in times): a
	 * document at the size limit need not fit again. */
	if (strlen(text) <= INTAKE_MAX_DOC) {
		if (intake_from_json(text, strlen(text), &again, &err) != 0 ||
		    !same_bytes(msg, again))
			abort();
	}
	if (again != NULL)
		protobuf_c_message_free_unpacked(&again->base, NULL);
	free(text);
	json_decref(doc);
	protobuf_c_message_free_unpacked(&msg->base, NULL);
	return 0;
}

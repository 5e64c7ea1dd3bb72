/* tests/fuzz/fuzz_sealedcontent.c — libFuzzer target for opened sealed content
 * (lib/sealbody.c: sealbody_content_decode).
 *
 * What a recipient decodes after a seal opened is bytes the sender chose: a hostile unit
 * can seal anything. The first input byte picks the body kind, the rest is decoded as that
 * kind's SealedContent. Broken promises abort: only CB_EMALFORMED / CB_ETOOBIG come back
 * (with a field and a reason), nothing is returned on error, and what is accepted has only
 * the fields its kind seals (a referral: note, summary and the persons it re-seals), a
 * clue's summary included. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluebus.pb-c.h"
#include "cluebus/err.h"
#include "sealbody.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const Cluebus__Message__BodyCase bodies[] = {
	CLUEBUS__MESSAGE__BODY_CLUE, CLUEBUS__MESSAGE__BODY_REFERRAL,
	CLUEBUS__MESSAGE__BODY_RECEIPT, CLUEBUS__MESSAGE__BODY_FEEDBACK,
	CLUEBUS__MESSAGE__BODY_SUPERVISION, CLUEBUS__MESSAGE__BODY_REPORT,
	CLUEBUS__MESSAGE__BODY_ESCALATION, CLUEBUS__MESSAGE__BODY_MATCH,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Cluebus__SealedContent *c = NULL;
	Cluebus__Message__BodyCase body;
	cb_error_t err;
	int rc;

	if (size == 0)
		return 0;
	body = bodies[data[0] % (sizeof(bodies) / sizeof(bodies[0]))];
	memset(&err, 0, sizeof(err));
	rc = sealbody_content_decode(body, data + 1, size - 1, &c, &err);
	if (rc != 0) {
		if (c != NULL || (rc != CB_EMALFORMED && rc != CB_ETOOBIG && rc != CB_ENOMEM))
			abort();
		if (rc != CB_ENOMEM && (err.field[0] == '\0' || err.reason[0] == '\0'))
			abort();
		return 0;
	}
	if (body == CLUEBUS__MESSAGE__BODY_CLUE && c->summary[0] == '\0')
		abort();
	if (body != CLUEBUS__MESSAGE__BODY_CLUE && (c->location[0] != '\0' ||
	    c->n_attachments != 0))
		abort();
	if (body != CLUEBUS__MESSAGE__BODY_CLUE && body != CLUEBUS__MESSAGE__BODY_REFERRAL &&
	    (c->summary[0] != '\0' || c->n_persons != 0))
		abort();
	if (body != CLUEBUS__MESSAGE__BODY_REPORT && (c->title[0] != '\0' || c->text[0] != '\0'))
		abort();
	cluebus__sealed_content__free_unpacked(c, NULL);
	return 0;
}

/* tests/fuzz/fuzz_wire.c — libFuzzer target for the frame decoder (lib/wire.c) and, behind it,
 * the envelope parser and message checks (lib/envelope.c).
 *
 * Feeds arbitrary bytes to wire_decode_err(). A publish or delivery carries an envelope: the
 * broker parses the signed bytes only after verifying them, but the parser must hold up on
 * anything, so its envelope goes to envelope_open() here without a signature check, and its
 * signed bytes, parsed on their own, go to message_validate(). Broken promises abort:
 * decoding returns only its documented codes, with a reason, and never a frame with nothing
 * set; "too large" below WIRE_MAX_FRAME only for a frame that expands beyond its decode
 * budget; a refusal names the field; what envelope_open accepts agrees with its hints and
 * validates. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluebus/err.h"
#include "cluebus.pb-c.h"
#include "envelope.h"
#include "wire.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_envelope(const Cluebus__Envelope *env)
{
	Cluebus__Message *m = NULL, *raw;
	Cluebus__Envelope *dup;
	cb_error_t err;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = envelope_open(env, &m, &err);
	if (rc == 0) {
		if (m == NULL || strcmp(m->sender, env->sender) != 0 ||
		    m->key_id.len != env->key_id.len || (m->key_id.len != 0 &&
		    memcmp(m->key_id.data, env->key_id.data, m->key_id.len) != 0) ||
		    message_validate(m, &err) != 0)
			abort();
		protobuf_c_message_free_unpacked(&m->base, NULL);
	} else if (rc != CB_EMALFORMED || m != NULL || err.field[0] == '\0' ||
	    err.reason[0] == '\0') {
		abort();
	}
	/* The body checks on their own, whatever the hints say. */
	if (env->signed_.len <= ENVELOPE_MAX &&
	    (raw = cluebus__message__unpack(NULL, env->signed_.len, env->signed_.data)) != NULL) {
		memset(&err, 0, sizeof(err));
		if (message_validate(raw, &err) != 0 && (err.field[0] == '\0' ||
		    err.reason[0] == '\0'))
			abort();
		cluebus__message__free_unpacked(raw, NULL);
	}
	if ((dup = envelope_dup(env)) == NULL)
		abort();
	if (dup->signed_.len != env->signed_.len ||
	    (env->signed_.len > 0 &&
	    memcmp(dup->signed_.data, env->signed_.data, env->signed_.len) != 0))
		abort();
	envelope_free(dup);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Cluebus__Frame *f = NULL;
	cb_error_t err;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = wire_decode_err(data, size, &f, &err);
	if (rc != 0) {
		/* Too big is said of a frame over the limit, or of one that would expand
		 * beyond its decode budget, and says which; a refusal always says why. */
		if (f != NULL || (rc != CB_EMALFORMED && rc != CB_ETOOBIG) ||
		    (size > WIRE_MAX_FRAME && rc != CB_ETOOBIG) ||
		    (rc == CB_ETOOBIG && size <= WIRE_MAX_FRAME &&
		    strstr(err.reason, "expands beyond") == NULL) ||
		    err.field[0] == '\0' || err.reason[0] == '\0')
			abort();
		return 0;
	}
	if (f == NULL || f->frame_case == CLUEBUS__FRAME__FRAME__NOT_SET)
		abort();
	if (f->frame_case == CLUEBUS__FRAME__FRAME_PUBLISH)
		check_envelope(f->publish->envelope);
	else if (f->frame_case == CLUEBUS__FRAME__FRAME_DELIVER)
		check_envelope(f->deliver->envelope);
	wire_free(f);
	return 0;
}

/* tests/fuzz/fuzz_logentry.c — libFuzzer target for stored log values (lib/chain.c), the
 * envelopes inside them (lib/envelope.c) and registry records (lib/registry.c), as the
 * auditor reads them from a copied data directory it cannot trust.
 *
 * The input is a stored value: 32-byte entry hash || packed LogEntry. chain_check() runs as
 * for the first entry (seq 1, zero prev_hash) and must pass or say why; chain_decode() must
 * agree with it about whether the bytes decode. An envelope inside goes to envelope_open();
 * an opened registry record is applied to a new registry, as the audit walk does. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "cluebus/err.h"
#include "cluebus.pb-c.h"
#include "envelope.h"
#include "registry.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_registry_record(const Cluebus__Registry *rec, int64_t at)
{
	registry_t *r = registry_new();
	const cb_key_t *k;
	cb_error_t err;
	int rc;

	if (r == NULL)
		abort();
	memset(&err, 0, sizeof(err));
	rc = registry_apply(r, rec, at, &err);
	if (rc == 0) {
		if (registry_count(r) > 1)
			abort();
		if (registry_count(r) == 1 &&
		    registry_key_at(r, rec->unit, key_id(registry_current_key(r, rec->unit)),
		    KEY_ID_LEN, rec->effective_ms > 0 ? rec->effective_ms : at, &k) != REG_KEY_OK)
			abort();
		/* Apply it again: refused as a second ADD_UNIT, or a rotation to itself. */
		if (registry_apply(r, rec, at + 1, &err) != 0 && err.reason[0] == '\0')
			abort();	/* a refusal must say why */
	} else if (rc != CB_EMALFORMED || registry_count(r) != 0 || err.reason[0] == '\0') {
		abort();
	}
	registry_free(r);
}

static void
check_envelope(const Cluebus__Envelope *env, int64_t at)
{
	Cluebus__Message *m = NULL;
	cb_error_t err;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = envelope_open(env, &m, &err);
	if (rc != 0) {
		if (rc != CB_EMALFORMED || m != NULL || err.field[0] == '\0')
			abort();
		return;
	}
	if (m->body_case == CLUEBUS__MESSAGE__BODY_REGISTRY)
		check_registry_record(m->registry, at);
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t zeros[CHAIN_HASH_LEN];
	Cluebus__LogEntry *e = NULL;
	const uint8_t *hash = NULL;
	const char *why = NULL;
	int checked, decoded;

	checked = chain_check(data, size, 1, zeros, &why);
	if (checked != 0 && (checked != CB_ECORRUPT || why == NULL))
		abort();
	decoded = chain_decode(data, size, &hash, &e);
	if (decoded != 0) {
		if (decoded != CB_ECORRUPT || e != NULL || checked == 0 ||
		    (strcmp(why, "entry does not decode") != 0 &&
		    strcmp(why, CHAIN_WHY_EXPANDS) != 0))
			abort();
		return 0;
	}
	if (hash != data || (checked == 0 && (e->seq != 1 || e->prev_hash.len != 32)))
		abort();
	if (e->envelope != NULL)
		check_envelope(e->envelope, e->time_ms);
	cluebus__log_entry__free_unpacked(e, NULL);
	return 0;
}

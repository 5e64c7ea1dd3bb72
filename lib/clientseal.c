/* lib/clientseal.c — sealing what a client publishes, opening what it receives.
 *
 * See lib/clientseal.h. Invariant: what leaves clientseal_open as "opened" passed
 * seal_open's authentication and sealbody_content_decode's checks; anything else leaves
 * the message as the broker delivered it (metadata and the seal), described as an error. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "clientseal.h"
#include "log.h"
#include "seal.h"
#include "sealbody.h"
#include "util.h"

int
clientseal_pack(const Cluebus__Message *m, ProtobufCBinaryData *clear)
{
	clear->len = cluebus__message__get_packed_size(m);
	if ((clear->data = malloc(clear->len > 0 ? clear->len : 1)) == NULL) {
		clear->len = 0;
		return CB_ENOMEM;
	}
	cluebus__message__pack(m, clear->data);
	return 0;
}

int
clientseal_seal(sealdir_t *d, Cluebus__Message *m, ProtobufCBinaryData *clear,
    cb_error_t *err)
{
	seal_recipient_t rcpt[SEAL_MAX_RECIPIENTS];
	size_t n = 0;
	int rc;

	clear->data = NULL;
	clear->len = 0;
	/* A body with nothing to seal (a receipt without a note) goes as it is. */
	if (!sealbody_kind_sealable(m) || sealbody_clear_field(m, NULL) == 0)
		return 0;
	if ((rc = sealdir_recipients(d, m, rcpt, &n, err)) != 0 ||
	    (rc = clientseal_pack(m, clear)) != 0)
		return rc;
	if ((rc = sealbody_seal(m, rcpt, n, err)) != 0) {
		OPENSSL_cleanse(clear->data, clear->len);
		free(clear->data);
		clear->data = NULL;
		clear->len = 0;
	}
	return rc;
}

static const char *
open_code_name(int rc)
{
	switch (rc) {
	case CB_ENOTFOUND:	return "not_a_recipient";
	case CB_EBADSIG:	return "damaged";
	case CB_EKEY:		return "unknown_suite";
	case CB_EMALFORMED:
	case CB_ETOOBIG:	return "malformed";
	case CB_EINVAL:		return "no_sealing_key";
	default:		return "local_error";
	}
}

/* The seal's facts that need no key: suite and recipients. */
static json_t *
facts_new(const Cluebus__Sealed *s)
{
	json_t *o = json_object(), *units = json_array();

	if (o == NULL || units == NULL) {
		json_decref(o);
		json_decref(units);
		return NULL;
	}
	for (size_t i = 0; i < s->n_keys; i++)
		if (s->keys[i] != NULL && unit_id_valid(s->keys[i]->unit))
			json_array_append_new(units, json_string(s->keys[i]->unit));
	json_object_set_new(o, "suite", json_string(seal_suite_name(s->suite)));
	json_object_set_new(o, "recipients", units);
	return o;
}

const sealkey_t *
clientseal_key_pick(const Cluebus__Sealed *s, const sealkey_t *const *keys, size_t n,
    const char *unit)
{
	for (size_t i = 0; i < s->n_keys; i++) {
		const Cluebus__SealedKey *k = s->keys[i];

		if (k == NULL || strcmp(k->unit, unit) != 0 || k->key_id.len != SEALKEY_ID_LEN)
			continue;
		for (size_t j = 0; j < n; j++)
			if (memcmp(sealkey_id(keys[j]), k->key_id.data, SEALKEY_ID_LEN) == 0)
				return keys[j];
	}
	return n > 0 ? keys[0] : NULL;
}

json_t *
clientseal_open(const sealkey_t *const *keys, size_t nkeys, const char *unit,
    Cluebus__Message *m, uint64_t seq)
{
	const Cluebus__Sealed *s = sealbody_sealed(m);
	const sealkey_t *key;
	char kid[2 * SEALKEY_ID_LEN + 1];
	cb_error_t err;
	json_t *facts;
	int rc;

	if (s == NULL || (facts = facts_new(s)) == NULL)
		return NULL;
	if ((key = clientseal_key_pick(s, keys, nkeys, unit)) == NULL)
		rc = cb_fail(&err, "sealing", CB_EINVAL,
		    "this agent has no sealing key configured (seal_key)");
	else
		rc = sealbody_open(m, unit, key, &err);
	if (rc == 0) {
		hex_encode(sealkey_id(key), SEALKEY_ID_LEN, kid);
		json_object_set_new(facts, "status", json_string("opened"));
		json_object_set_new(facts, "unit", json_string(unit));
		json_object_set_new(facts, "key_id", json_string(kid));
		return facts;
	}
	log_warnx("delivery %llu: sealed content not opened (%s: %s: %s); the agency gets an "
	    "error document in out/", (unsigned long long)seq, open_code_name(rc), err.field,
	    err.reason);
	json_object_set_new(facts, "status", json_string("error"));
	json_object_set_new(facts, "code", json_string(open_code_name(rc)));
	json_object_set_new(facts, "field", json_string(err.field));
	json_object_set_new(facts, "reason", json_string(err.reason));
	return facts;
}

/* lib/audit.c — the auditor's verification walk over a log.
 *
 * The walk keeps one entry of look-behind: when entry n+1 does not link to entry n while
 * both hash correctly, entry n is the one whose content no longer matches what the chain
 * committed to (it was rewritten and its hash recomputed), so n is reported. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "audit.h"
#include "envelope.h"
#include "registry.h"
#include "unpack.h"
#include "util.h"

struct walk {
	audit_result_t	*res;
	registry_t	*reg;
	const uint8_t	*pinned;
	int		 sigs;
	uint64_t	 expect;
	uint8_t		 prev[CHAIN_HASH_LEN];
};

static int
walk_fail(struct walk *w, uint64_t seq, const char *fmt, const char *detail)
{
	char buf[1024];
	size_t n;

	snprintf(buf, sizeof(buf), fmt, detail);
	n = strnlen(buf, sizeof(w->res->reason) - 1);	/* truncate a long detail */
	memcpy(w->res->reason, buf, n);
	w->res->reason[n] = '\0';
	w->res->bad_seq = seq;
	return CB_ECORRUPT;
}

/* The first entry records the broker key, signed by itself: trust it (or the pin). */
static int
walk_genesis(struct walk *w, uint64_t seq, const Cluebus__Envelope *env)
{
	ProtobufCMessage *pm = NULL;
	Cluebus__Message *m = NULL;
	cb_key_t *k = NULL;
	int rc = 0;

	if (unpack_bounded(&cluebus__message__descriptor, env->signed_.data, env->signed_.len,
	    &pm) == 0)
		m = (Cluebus__Message *)pm;
	if (m == NULL || m->body_case != CLUEBUS__MESSAGE__BODY_REGISTRY ||
	    m->registry->op != CLUEBUS__REGISTRY_OP__REGISTRY_BROKER_KEY ||
	    key_from_public(m->registry->sign_public.data, m->registry->sign_public.len, &k))
		rc = walk_fail(w, seq, "%s", "the log does not start with the broker key");
	else if (w->pinned != NULL && memcmp(key_public(k), w->pinned, KEY_PUBLIC_LEN) != 0)
		rc = walk_fail(w, seq, "%s", "broker key differs from the pinned key");
	else if (envelope_verify(env, k) != 0)
		rc = walk_fail(w, seq, "%s", "broker key record is not self-signed");
	key_free(k);
	if (m != NULL)
		cluebus__message__free_unpacked(m, NULL);
	return rc;
}

static int
walk_signed(struct walk *w, uint64_t seq, const Cluebus__LogEntry *e)
{
	const Cluebus__Envelope *env = e->envelope;
	Cluebus__Message *m = NULL;
	const cb_key_t *key;
	cb_error_t err;
	int rc = 0;

	if (env == NULL)
		return walk_fail(w, seq, "%s", "message entry without an envelope");
	if (w->sigs && seq == 1 && (rc = walk_genesis(w, seq, env)) != 0)
		return rc;
	if (w->sigs) {
		switch (registry_key_at(w->reg, env->sender != NULL ? env->sender : "",
		    env->key_id.data, env->key_id.len, e->time_ms, &key)) {
		case REG_KEY_OK:
			if (envelope_verify(env, key) != 0)
				return walk_fail(w, seq, "%s", "signature does not verify");
			break;
		case REG_KEY_UNKNOWN_UNIT:
			if (seq == 1)
				break;	/* the genesis record, checked above */
			return walk_fail(w, seq, "%s", "sender was not registered at that time");
		case REG_KEY_UNKNOWN_KEY:
			return walk_fail(w, seq, "%s", "key id is not the sender's");
		case REG_KEY_REVOKED:
			return walk_fail(w, seq, "%s", "key was not valid at that time");
		}
	}
	if (envelope_open(env, &m, &err) != 0) {
		char detail[400];

		snprintf(detail, sizeof(detail), "%s: %s", err.field, err.reason);
		return walk_fail(w, seq, "message does not validate: %s", detail);
	}
	if ((e->type == CLUEBUS__ENTRY_TYPE__ENTRY_BROKER) !=
	    (strcmp(m->sender, REGISTRY_BROKER_UNIT) == 0))
		rc = walk_fail(w, seq, "%s", "entry type does not match its sender");
	else if (m->body_case == CLUEBUS__MESSAGE__BODY_REGISTRY &&
	    e->type == CLUEBUS__ENTRY_TYPE__ENTRY_MESSAGE &&
	    strcmp(m->sender, REGISTRY_ADMIN_UNIT) != 0)
		rc = walk_fail(w, seq, "%s", "a registry record not from the broker or the admin");
	else if (m->body_case == CLUEBUS__MESSAGE__BODY_REGISTRY &&
	    registry_apply(w->reg, m->registry, e->time_ms, &err) != 0)
		rc = walk_fail(w, seq, "registry record does not apply: %s", err.reason);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	return rc;
}

static int
walk_entry(void *arg, uint64_t seq, const uint8_t *val, size_t len)
{
	struct walk *w = arg;
	Cluebus__LogEntry *e = NULL;
	const uint8_t *hash;
	const char *why;
	int rc;

	if (seq != w->expect)
		return walk_fail(w, w->expect, "%s", "entry missing (sequence gap)");
	if (chain_check(val, len, seq, w->prev, &why) != 0) {
		/* A correct hash that fails to link: the previous entry was rewritten. */
		if (seq > 1 && strcmp(why, "prev_hash does not link to the previous entry") == 0)
			return walk_fail(w, seq - 1, "%s", "entry does not match the hash the next "
			    "entry links to (rewritten)");
		return walk_fail(w, seq, "%s", why);
	}
	if (chain_decode(val, len, &hash, &e) != 0)
		return walk_fail(w, seq, "%s", "entry does not decode");
	memcpy(w->prev, hash, CHAIN_HASH_LEN);
	w->expect++;
	w->res->entries++;
	switch (e->type) {
	case CLUEBUS__ENTRY_TYPE__ENTRY_MESSAGE:
		w->res->messages++;
		rc = walk_signed(w, seq, e);
		break;
	case CLUEBUS__ENTRY_TYPE__ENTRY_BROKER:
		w->res->broker_entries++;
		rc = walk_signed(w, seq, e);
		break;
	case CLUEBUS__ENTRY_TYPE__ENTRY_REJECTION:
		w->res->rejections++;
		rc = e->rejection == NULL ? walk_fail(w, seq, "%s", "rejection without summary") : 0;
		break;
	case CLUEBUS__ENTRY_TYPE__ENTRY_ACK:
		w->res->acks++;
		rc = e->ack == NULL || !unit_id_valid(e->ack->unit) ?
		    walk_fail(w, seq, "%s", "acknowledgement without a unit") : 0;
		break;
	default:
		rc = walk_fail(w, seq, "%s", "unknown entry type");
		break;
	}
	for (size_t i = 0; rc == 0 && i < e->n_recipients; i++)
		if (!unit_id_valid(e->recipients[i]))
			rc = walk_fail(w, seq, "%s", "recipient is not a unit id");
	cluebus__log_entry__free_unpacked(e, NULL);
	return rc;
}

int
audit_verify(store_t *s, const uint8_t *pinned, int sigs, audit_result_t *res)
{
	struct walk w;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&w, 0, sizeof(w));
	w.res = res;
	w.pinned = pinned;
	w.sigs = sigs;
	w.expect = 1;
	if ((w.reg = registry_new()) == NULL)
		return CB_ENOMEM;
	rc = store_walk(s, 1, walk_entry, &w);
	if (rc == 0 && w.expect - 1 != store_head_seq(s))
		rc = walk_fail(&w, w.expect, "%s", "log ends before its recorded head");
	if (rc == 0)
		memcpy(res->head, w.prev, CHAIN_HASH_LEN);
	registry_free(w.reg);
	return rc;
}

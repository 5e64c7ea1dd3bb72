/* tests/unit/receipt_fixture.h — a genuine receipt file for tests and the fuzz target:
 * a log of RECEIPT_FIXTURE_SIZE entries in a memory tree, entry RECEIPT_FIXTURE_SEQ holding
 * a signed message, its inclusion proof against a checkpoint signed by a fresh broker key,
 * written as an agent writes sent/NAME.receipt.json (docs/formats.md). */
#ifndef CB_RECEIPT_FIXTURE_H
#define CB_RECEIPT_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chain.h"
#include "checkpoint.h"
#include "envelope.h"
#include "keys.h"
#include "merkle.h"
#include "util.h"

#define RECEIPT_FIXTURE_SIZE	7
#define RECEIPT_FIXTURE_SEQ	5

/* Returns the receipt's JSON text (free) and, in *broker, the broker key that signed its
 * checkpoint (key_free), or NULL. */
static char *
receipt_fixture(cb_key_t **broker)
{
	Cluebus__Message m = CLUEBUS__MESSAGE__INIT;
	Cluebus__Receipt body = CLUEBUS__RECEIPT__INIT;
	Cluebus__LogEntry e = CLUEBUS__LOG_ENTRY__INIT;
	Cluebus__Envelope *env = NULL;
	merkle_memstore_t *mem = merkle_memstore_new();
	merkle_store_t ms;
	merkle_frontier_t f;
	merkle_proof_t proof;
	checkpoint_t cp;
	cb_key_t *unit = NULL;
	uint8_t id[16], prev[32] = { 0 }, hash[32], *packed = NULL;
	char idhex[33], hashhex[65], hx[65], *entryhex = NULL, note[CHECKPOINT_NOTE_MAX + 1];
	char *text = NULL;
	json_t *hashes = NULL, *doc;
	size_t plen, nlen;

	*broker = NULL;
	if (mem == NULL || key_generate(&unit) != 0 || key_generate(broker) != 0)
		goto out;
	merkle_memstore_backend(mem, &ms);
	merkle_frontier_init(&f);
	memset(id, 0x5a, sizeof(id));
	m.message_id.data = id;
	m.message_id.len = sizeof(id);
	m.sender = (char *)"health";
	m.created_ms = 1767225600000;
	m.kind = CLUEBUS__KIND__KIND_RECEIPT;
	m.priority = CLUEBUS__PRIORITY__PRIORITY_ROUTINE;
	m.body_case = CLUEBUS__MESSAGE__BODY_RECEIPT;
	m.receipt = &body;
	if (envelope_sign(&m, unit, &env) != 0)
		goto out;
	e.seq = RECEIPT_FIXTURE_SEQ;
	e.time_ms = 1767225600001;
	e.prev_hash.data = prev;
	e.prev_hash.len = sizeof(prev);
	e.type = CLUEBUS__ENTRY_TYPE__ENTRY_MESSAGE;
	e.envelope = env;
	plen = cluebus__log_entry__get_packed_size(&e);
	if ((packed = malloc(plen)) == NULL || (entryhex = malloc(2 * plen + 1)) == NULL)
		goto out;
	cluebus__log_entry__pack(&e, packed);
	for (int i = 1; i <= RECEIPT_FIXTURE_SIZE; i++) {
		char other[16];
		int n = snprintf(other, sizeof(other), "entry %d", i);

		if ((i == RECEIPT_FIXTURE_SEQ ? merkle_append(&f, &ms, packed, plen) :
		    merkle_append(&f, &ms, other, (size_t)n)) != 0)
			goto out;
	}
	memset(&cp, 0, sizeof(cp));
	snprintf(cp.origin, sizeof(cp.origin), "cluebus/log");
	cp.size = RECEIPT_FIXTURE_SIZE;
	if (merkle_frontier_root(&f, cp.root) != 0 ||
	    merkle_prove_inclusion(&f, &ms, RECEIPT_FIXTURE_SEQ - 1, cp.size, &proof) != 0 ||
	    checkpoint_sign(&cp, cp.origin, *broker, note, sizeof(note), &nlen) != 0 ||
	    chain_hash(packed, plen, hash) != 0)
		goto out;
	hex_encode(id, 16, idhex);
	hex_encode(hash, 32, hashhex);
	hex_encode(packed, plen, entryhex);
	hashes = json_array();
	for (size_t i = 0; i < proof.len; i++) {
		hex_encode(proof.hash[i], 32, hx);
		json_array_append_new(hashes, json_string(hx));
	}
	doc = json_pack("{s:s, s:s, s:I, s:s, s:s, s:b, s:{s:I, s:I, s:s, s:o}, s:s}",
	    "file", "r.json", "message_id", idhex, "seq", (json_int_t)RECEIPT_FIXTURE_SEQ,
	    "entry_hash", hashhex, "logged", "2026-01-01T00:00:00.001Z", "duplicate", 0,
	    "proof", "leaf_index", (json_int_t)(RECEIPT_FIXTURE_SEQ - 1), "tree_size",
	    (json_int_t)RECEIPT_FIXTURE_SIZE, "entry", entryhex, "hashes", hashes,
	    "checkpoint", note);
	hashes = NULL;
	if (doc != NULL)
		text = json_dumps(doc, JSON_INDENT(2));
	json_decref(doc);
out:
	json_decref(hashes);
	free(entryhex);
	free(packed);
	envelope_free(env);
	key_free(unit);
	merkle_memstore_free(mem);
	if (text == NULL) {
		key_free(*broker);
		*broker = NULL;
	}
	return text;
}

#endif

/* broker/ckpt.c — signed checkpoints: made, stored, served and pushed to the agents.
 *
 * A checkpoint is the C2SP signed note of the tree head (lib/checkpoint.h) at the committed
 * log head, signed with the broker's key under cfg.checkpoint_origin, with one extension
 * line "time <ms since the epoch>". The broker signs one every checkpoint_interval_ms while
 * entries arrive (the head moved past the last checkpoint) and when cluebus-ctl asks, and
 * stores it in the `checkpoints` database (be64 size -> be64 time || key id || note) in a
 * transaction of its own, between rounds; only after that commit is it served or pushed.
 *
 * Each unit's receiving connection gets every new checkpoint with a consistency proof
 * from the size it was last sent (or said it holds: CheckpointRequest.have_size); a
 * CheckpointRequest from any authenticated connection is answered with the latest one,
 * the consistency proof from the size asked, and inclusion proofs of the seqs asked (up to
 * CKPT_PROVE_MAX, and CKPT_PROOF_BYTES of entries, so that the answer fits in a frame).
 *
 * Invariants: (1) a checkpoint is served only after its commit; (2) sizes only grow: a new
 * one is signed only when the head is past the latest; (3) the note's root is the stored
 * tree's at its size (store_tree_root, the nodes committed with the entries). */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "checkpoint.h"
#include "log.h"
#include "util.h"
#include "wire.h"

#define CKPT_PROVE_MAX		64	/* inclusion proofs per request */
#define CKPT_PROOF_BYTES	(640u * 1024)	/* bytes of entries per answer */

struct ckpt {
	uint64_t	 size;		/* of the latest (0: none yet) */
	char		*note;		/* the latest signed note (NULL: none) */
	size_t		 note_len;
	int64_t		 made_mono_ms;	/* when it was made (monotonic) */
	int64_t		 made_ms;	/* when it was signed (wall clock; 0: none) */
};

int
ckpt_open(struct broker *b)
{
	uint8_t *key = NULL, *val = NULL;
	size_t klen, vlen;
	int rc;

	if ((b->ckpt = calloc(1, sizeof(*b->ckpt))) == NULL)
		return CB_ENOMEM;
	rc = store_aux_last(b->store, STORE_CHECKPOINTS, &key, &klen, &val, &vlen);
	if (rc == CB_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (klen != 8 || vlen <= 16) {
		rc = CB_ECORRUPT;
		goto out;
	}
	b->ckpt->size = be64_get(key);
	b->ckpt->made_ms = (int64_t)be64_get(val);
	if ((b->ckpt->note = strndup((const char *)val + 16, vlen - 16)) == NULL) {
		rc = CB_ENOMEM;
		goto out;
	}
	b->ckpt->note_len = vlen - 16;
	log_info("latest checkpoint: tree size %llu", (unsigned long long)b->ckpt->size);
out:
	free(key);
	free(val);
	return rc;
}

void
ckpt_close(struct broker *b)
{
	if (b->ckpt == NULL)
		return;
	free(b->ckpt->note);
	free(b->ckpt);
	b->ckpt = NULL;
}

uint64_t
ckpt_size(const struct broker *b)
{
	return b->ckpt != NULL ? b->ckpt->size : 0;
}

const char *
ckpt_note(const struct broker *b)
{
	return b->ckpt != NULL ? b->ckpt->note : NULL;
}

int64_t
ckpt_signed_ms(const struct broker *b)
{
	return b->ckpt != NULL ? b->ckpt->made_ms : 0;
}

/* Signs the note of the committed head into a new buffer. */
static int
ckpt_sign(struct broker *b, uint64_t size, int64_t now, char **note, size_t *len)
{
	checkpoint_t cp;
	int rc;

	memset(&cp, 0, sizeof(cp));
	snprintf(cp.origin, sizeof(cp.origin), "%s", b->cfg.checkpoint_origin);
	cp.size = size;
	snprintf(cp.extensions, sizeof(cp.extensions), "time %lld\n", (long long)now);
	if ((rc = store_tree_root(b->store, size, cp.root)) != 0)
		return rc;
	if ((*note = malloc(CHECKPOINT_NOTE_MAX + 1)) == NULL)
		return CB_ENOMEM;
	if ((rc = checkpoint_sign(&cp, b->cfg.checkpoint_origin, b->key, *note,
	    CHECKPOINT_NOTE_MAX + 1, len)) != 0) {
		free(*note);
		*note = NULL;
	}
	return rc;
}

/* Stores the note of `size` in a transaction of its own. */
static int
ckpt_store(struct broker *b, uint64_t size, int64_t now, const char *note, size_t len)
{
	uint8_t key[8], *val;
	store_txn_t *t;
	int rc;

	if ((val = malloc(16 + len)) == NULL)
		return CB_ENOMEM;
	be64_put(key, size);
	be64_put(val, (uint64_t)now);
	memcpy(val + 8, key_id(b->key), KEY_ID_LEN);
	memcpy(val + 16, note, len);
	if ((rc = store_begin(b->store, &t)) == 0) {
		if ((rc = store_txn_aux_put(t, STORE_CHECKPOINTS, key, 8, val, 16 + len)) == 0)
			rc = store_txn_commit(t);
		else
			store_txn_abort(t);
	}
	free(val);
	return rc;
}

/* Fills `n` with the latest note and the consistency proof from `from` (none when `from`
 * is above it); the hashes live in `proof`. */
static int
ckpt_fill(struct broker *b, uint64_t from, Cluebus__CheckpointNote *n, merkle_proof_t *proof,
    ProtobufCBinaryData *bins)
{
	uint8_t r1[MERKLE_HASH_LEN], r2[MERKLE_HASH_LEN];
	int rc;

	n->note = b->ckpt->note;
	n->old_size = from;
	proof->len = 0;
	if (from > 0 && from < b->ckpt->size &&
	    (rc = store_prove_consistency(b->store, from, b->ckpt->size, proof, r1, r2)) != 0)
		return rc;
	for (size_t i = 0; i < proof->len; i++) {
		bins[i].data = proof->hash[i];
		bins[i].len = MERKLE_HASH_LEN;
	}
	n->n_consistency = proof->len;
	n->consistency = bins;
	return 0;
}

static void
ckpt_send(struct broker *b, const uint8_t *rid, size_t ridlen, Cluebus__CheckpointNote *n)
{
	Cluebus__Frame f = CLUEBUS__FRAME__INIT;

	f.frame_case = CLUEBUS__FRAME__FRAME_CHECKPOINT;
	f.checkpoint = n;
	reply_send(b->sock, rid, ridlen, &f);
}

/* Sends the latest checkpoint to the receiving connection of every online unit. */
static void
ckpt_push(struct broker *b)
{
	Cluebus__CheckpointNote n = CLUEBUS__CHECKPOINT_NOTE__INIT;
	ProtobufCBinaryData bins[MERKLE_MAX_PROOF];
	merkle_proof_t proof;
	int rc;

	for (size_t i = 0; i < b->nunits; i++) {
		struct unitq *uq = &b->units[i];

		if (!uq->online || uq->ridlen == 0 || uq->ckpt_size >= b->ckpt->size)
			continue;
		if ((rc = ckpt_fill(b, uq->ckpt_size, &n, &proof, bins)) != 0) {
			log_warnx("checkpoint: consistency proof %llu -> %llu: %s",
			    (unsigned long long)uq->ckpt_size, (unsigned long long)b->ckpt->size,
			    cb_strerror(rc));
			continue;
		}
		ckpt_send(b, uq->rid, uq->ridlen, &n);
		uq->ckpt_size = b->ckpt->size;
	}
}

int
ckpt_make(struct broker *b)
{
	uint64_t size = store_head_seq(b->store);
	int64_t now = broker_clock_ms();
	char *note = NULL;
	size_t len;
	int rc;

	if (size == 0 || size <= b->ckpt->size)
		return 0;	/* nothing new to sign */
	if (b->txn != NULL)
		return CB_EAGAIN;	/* one write transaction at a time: after the round */
	if ((rc = ckpt_sign(b, size, now, &note, &len)) != 0 ||
	    (rc = ckpt_store(b, size, now, note, len)) != 0) {
		log_warnx("checkpoint of tree size %llu not made: %s", (unsigned long long)size,
		    cb_strerror(rc));
		free(note);
		return rc;
	}
	free(b->ckpt->note);
	b->ckpt->note = note;
	b->ckpt->note_len = len;
	b->ckpt->size = size;
	b->ckpt->made_mono_ms = clock_mono_ms();
	b->ckpt->made_ms = now;
	log_debug("checkpoint: tree size %llu signed", (unsigned long long)size);
	ckpt_push(b);
	return 0;
}

void
ckpt_tick(struct broker *b, int64_t now_mono)
{
	if (store_head_seq(b->store) > b->ckpt->size &&
	    now_mono - b->ckpt->made_mono_ms >= b->cfg.checkpoint_interval_ms)
		(void)ckpt_make(b);	/* failures are logged; the next tick retries */
}

/* Adds the inclusion proof of `seq` to `incl` (its buffers owned by the caller, freed by
 * ckpt_free_inclusion). Returns 0, or an error (the proof is then left out). */
static int
ckpt_inclusion(struct broker *b, uint64_t seq, Cluebus__CheckpointInclusion *incl,
    size_t *bytes)
{
	uint8_t root[MERKLE_HASH_LEN], *val = NULL;
	merkle_proof_t proof;
	size_t len;
	int rc;

	if ((rc = store_prove_inclusion(b->store, seq, b->ckpt->size, &proof, root)) != 0 ||
	    (rc = store_get(b->store, seq, &val, &len)) != 0)
		return rc;
	if (len <= CHAIN_HASH_LEN || *bytes + len > CKPT_PROOF_BYTES) {
		free(val);
		return CB_ETOOBIG;
	}
	*bytes += len;
	cluebus__checkpoint_inclusion__init(incl);
	incl->seq = seq;
	memmove(val, val + CHAIN_HASH_LEN, len - CHAIN_HASH_LEN);
	incl->entry.data = val;
	incl->entry.len = len - CHAIN_HASH_LEN;
	if ((incl->hashes = calloc(proof.len + 1, sizeof(*incl->hashes))) == NULL ||
	    (incl->hashes[0].data = malloc(proof.len * MERKLE_HASH_LEN + 1)) == NULL) {
		free(incl->hashes);
		free(val);
		incl->hashes = NULL;
		return CB_ENOMEM;
	}
	for (size_t i = 0; i < proof.len; i++) {
		incl->hashes[i].data = incl->hashes[0].data + i * MERKLE_HASH_LEN;
		incl->hashes[i].len = MERKLE_HASH_LEN;
		memcpy(incl->hashes[i].data, proof.hash[i], MERKLE_HASH_LEN);
	}
	incl->n_hashes = proof.len;
	return 0;
}

static void
ckpt_free_inclusion(Cluebus__CheckpointInclusion *incl)
{
	if (incl->hashes != NULL)
		free(incl->hashes[0].data);
	free(incl->hashes);
	free(incl->entry.data);
}

void
ckpt_request(struct broker *b, struct unitq *uq, const uint8_t *rid, size_t ridlen,
    const Cluebus__CheckpointRequest *r)
{
	Cluebus__CheckpointNote n = CLUEBUS__CHECKPOINT_NOTE__INIT;
	Cluebus__CheckpointInclusion incl[CKPT_PROVE_MAX], *ptrs[CKPT_PROVE_MAX];
	ProtobufCBinaryData bins[MERKLE_MAX_PROOF];
	merkle_proof_t proof;
	size_t bytes = 0, nincl = 0;
	int rc;

	if (b->ckpt->note == NULL)
		return;	/* none yet: the first one is pushed when it is made */
	if ((rc = ckpt_fill(b, r->have_size, &n, &proof, bins)) != 0) {
		log_warnx("checkpoint: consistency proof %llu -> %llu for %s: %s",
		    (unsigned long long)r->have_size, (unsigned long long)b->ckpt->size,
		    uq->unit, cb_strerror(rc));
		return;
	}
	for (size_t i = 0; i < r->n_prove_seqs && nincl < CKPT_PROVE_MAX; i++) {
		uint64_t seq = r->prove_seqs[i];

		if (seq == 0 || seq > b->ckpt->size)
			continue;
		if (ckpt_inclusion(b, seq, &incl[nincl], &bytes) != 0)
			break;
		ptrs[nincl] = &incl[nincl];
		nincl++;
	}
	n.inclusions = ptrs;
	n.n_inclusions = nincl;
	ckpt_send(b, rid, ridlen, &n);
	if (uq->ridlen == ridlen && memcmp(uq->rid, rid, ridlen) == 0)
		uq->ckpt_size = b->ckpt->size;
	for (size_t i = 0; i < nincl; i++)
		ckpt_free_inclusion(&incl[i]);
}

json_t *
ckpt_json(struct broker *b)
{
	json_t *o = json_object();

	json_object_set_new(o, "tree_size", json_integer((json_int_t)b->ckpt->size));
	json_object_set_new(o, "log_head",
	    json_integer((json_int_t)store_head_seq(b->store)));
	json_object_set_new(o, "note", b->ckpt->note != NULL ? json_string(b->ckpt->note) :
	    json_null());
	return o;
}

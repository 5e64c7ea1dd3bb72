/* tests/tools/tamper.c — damage a stopped broker's log the way an attacker with disk access
 * would, so the integration tests can check that cluebus-audit notices.
 *
 *   tamper flip DATA_DIR SEQ      flips one byte inside entry SEQ's packed LogEntry (its
 *                                 recorded hash is left as it was)
 *   tamper rewrite DATA_DIR SEQ   changes entry SEQ's content (time_ms + 1), recomputes
 *                                 ITS OWN hash and stores it; later entries are untouched,
 *                                 so only the link from SEQ+1 gives the rewrite away
 *   tamper delete DATA_DIR SEQ    removes entry SEQ (a gap in the sequence)
 *   tamper forge DATA_DIR SEQ     flips one bit of entry SEQ's signature and rebuilds the
 *                                 chain from there to the head (each later entry relinked
 *                                 and rehashed) and the Merkle tree: every hash, link and
 *                                 tree node holds, only the signature check can tell
 *   tamper unindex DATA_DIR SEQ   removes entry SEQ from the broker's indexes (its
 *                                 message id from the dedup index; from the registry
 *                                 index too when it is one): the log itself still
 *                                 verifies, only the index check can tell
 *   tamper node DATA_DIR SEQ      flips one byte of entry SEQ's leaf node in the store's
 *                                 Merkle tree (the `merkle` database): the log itself
 *                                 still verifies, only the tree check can tell
 *
 * Opens the LMDB environment directly (the broker must be stopped), writes in one
 * transaction and prints what it did. Exit: 0 done, 1 the entry is missing or unreadable,
 * 2 usage error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "chain.h"
#include "merkle.h"
#include "util.h"

static int
usage(void)
{
	fprintf(stderr, "usage: tamper flip|rewrite|delete|forge|unindex|node DATA_DIR SEQ\n");
	return 2;
}

/* Packs `e` with its hash before it into a new value. */
static uint8_t *
tamper_pack(const Cluebus__LogEntry *e, size_t *newlen)
{
	size_t plen = cluebus__log_entry__get_packed_size(e);
	uint8_t *out = malloc(CHAIN_HASH_LEN + plen);

	if (out == NULL)
		return NULL;
	cluebus__log_entry__pack(e, out + CHAIN_HASH_LEN);
	if (chain_hash(out + CHAIN_HASH_LEN, plen, out) != 0) {
		free(out);
		return NULL;
	}
	*newlen = CHAIN_HASH_LEN + plen;
	return out;
}

/* Returns the new stored value (hash || packed entry) for `op`, or NULL. */
static uint8_t *
tamper_value(const char *op, const uint8_t *val, size_t len, size_t *newlen)
{
	Cluebus__LogEntry *e;
	const uint8_t *hash;
	uint8_t *out;

	if (strcmp(op, "flip") == 0) {
		if (len <= CHAIN_HASH_LEN || (out = malloc(len)) == NULL)
			return NULL;
		memcpy(out, val, len);
		/* The middle of the packed LogEntry, never the recorded hash before it. */
		out[CHAIN_HASH_LEN + (len - CHAIN_HASH_LEN) / 2] ^= 0x01;
		*newlen = len;
		return out;
	}
	if (chain_decode(val, len, &hash, &e) != 0) {
		fprintf(stderr, "tamper: entry does not decode\n");
		return NULL;
	}
	e->time_ms += 1;
	out = tamper_pack(e, newlen);
	cluebus__log_entry__free_unpacked(e, NULL);
	return out;
}

/* forge: entry `seq` gets a bad signature, and it and every later entry are rehashed and
 * relinked. Returns the number of entries rewritten, or -1. */
static long
tamper_forge(MDB_txn *txn, MDB_dbi log, uint64_t seq)
{
	uint8_t prev[CHAIN_HASH_LEN], key[8];
	long n = 0;

	for (;; seq++, n++) {
		MDB_val k = { 8, key }, v;
		Cluebus__LogEntry *e;
		const uint8_t *hash;
		uint8_t *out;
		size_t len;
		int mrc;

		be64_put(key, seq);
		if ((mrc = mdb_get(txn, log, &k, &v)) == MDB_NOTFOUND && n > 0)
			return n;
		if (mrc != 0 || chain_decode(v.mv_data, v.mv_size, &hash, &e) != 0) {
			fprintf(stderr, "tamper: entry %llu unreadable\n", (unsigned long long)seq);
			return -1;
		}
		if (n == 0 && (e->envelope == NULL || e->envelope->signature.len == 0)) {
			fprintf(stderr, "tamper: entry %llu is not signed\n",
			    (unsigned long long)seq);
			cluebus__log_entry__free_unpacked(e, NULL);
			return -1;
		}
		if (n == 0)
			e->envelope->signature.data[0] ^= 0x01;
		else if (e->prev_hash.len == CHAIN_HASH_LEN)
			memcpy(e->prev_hash.data, prev, CHAIN_HASH_LEN);
		out = tamper_pack(e, &len);
		cluebus__log_entry__free_unpacked(e, NULL);
		if (out == NULL)
			return -1;
		memcpy(prev, out, CHAIN_HASH_LEN);
		v.mv_data = out;
		v.mv_size = len;
		mrc = mdb_put(txn, log, &k, &v, 0);
		free(out);
		if (mrc != 0)
			return -1;
	}
}

/* unindex: entry `seq` (value `v`) leaves the dedup index, and the registry index if it is
 * there. Returns 0, or -1. */
static int
tamper_unindex(MDB_txn *txn, uint64_t seq, const MDB_val *v)
{
	Cluebus__LogEntry *e = NULL;
	Cluebus__Message *m = NULL;
	uint8_t key[8];
	MDB_val k = { 8, key }, id;
	MDB_dbi msgid, regidx;
	const uint8_t *hash;
	int rc = -1, mrc;

	be64_put(key, seq);
	if (chain_decode(v->mv_data, v->mv_size, &hash, &e) != 0 || e->envelope == NULL ||
	    (m = cluebus__message__unpack(NULL, e->envelope->signed_.len,
	    e->envelope->signed_.data)) == NULL) {
		fprintf(stderr, "tamper: entry %llu holds no message\n", (unsigned long long)seq);
		goto out;
	}
	id.mv_data = m->message_id.data;
	id.mv_size = m->message_id.len;
	if ((mrc = mdb_dbi_open(txn, "msgid", 0, &msgid)) != 0 ||
	    (mrc = mdb_dbi_open(txn, "regidx", 0, &regidx)) != 0 ||
	    (mrc = mdb_del(txn, msgid, &id, NULL)) != 0 ||
	    ((mrc = mdb_del(txn, regidx, &k, NULL)) != 0 && mrc != MDB_NOTFOUND)) {
		fprintf(stderr, "tamper: unindex %llu: %s\n", (unsigned long long)seq,
		    mdb_strerror(mrc));
		goto out;
	}
	rc = 0;
out:
	if (m != NULL)
		cluebus__message__free_unpacked(m, NULL);
	if (e != NULL)
		cluebus__log_entry__free_unpacked(e, NULL);
	return rc;
}

/* Rebuilds the store's Merkle tree over the whole log, as an attacker who rewrote entries
 * would (store.h invariant 6). Returns 0 or -1. */
static int
tamper_rebuild_tree(MDB_txn *txn, MDB_dbi log)
{
	merkle_frontier_t f;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	MDB_dbi dbi;
	int mrc;

	merkle_frontier_init(&f);
	if ((mrc = mdb_dbi_open(txn, "merkle", 0, &dbi)) != 0 ||
	    (mrc = mdb_drop(txn, dbi, 0)) != 0 || (mrc = mdb_cursor_open(txn, log, &cur)) != 0)
		goto fail;
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		merkle_node_t nodes[MERKLE_LEVELS];
		uint8_t leaf[MERKLE_HASH_LEN], nkey[8];
		size_t count;

		if (v.mv_size < CHAIN_HASH_LEN ||
		    merkle_leaf_hash((uint8_t *)v.mv_data + CHAIN_HASH_LEN,
		    v.mv_size - CHAIN_HASH_LEN, leaf) != 0 ||
		    merkle_append_nodes(&f, leaf, nodes, &count) != 0) {
			fprintf(stderr, "tamper: cannot rebuild the tree\n");
			mdb_cursor_close(cur);
			return -1;
		}
		for (size_t i = 0; i < count; i++) {
			MDB_val nk = { 8, nkey }, nv = { MERKLE_HASH_LEN, nodes[i].hash };

			be64_put(nkey, merkle_node_seq(nodes[i].level, nodes[i].index));
			if ((mrc = mdb_put(txn, dbi, &nk, &nv, MDB_APPEND)) != 0)
				goto fail;
		}
		merkle_frontier_advance(&f, nodes, count);
	}
	if (mrc != MDB_NOTFOUND)
		goto fail;
	mdb_cursor_close(cur);
	return 0;
fail:
	fprintf(stderr, "tamper: rebuild the tree: %s\n", mdb_strerror(mrc));
	if (cur != NULL)
		mdb_cursor_close(cur);
	return -1;
}

/* Flips a byte of entry `seq`'s leaf node and commits `txn` (ended either way). Returns 0
 * or 1. */
static int
tamper_node(MDB_txn *txn, unsigned long long seq)
{
	uint8_t key[8], hash[MERKLE_HASH_LEN];
	MDB_val k = { 8, key }, v;
	MDB_dbi dbi;
	int mrc;

	be64_put(key, merkle_node_seq(0, seq - 1));
	if ((mrc = mdb_dbi_open(txn, "merkle", 0, &dbi)) != 0 ||
	    (mrc = mdb_get(txn, dbi, &k, &v)) != 0 || v.mv_size != MERKLE_HASH_LEN) {
		fprintf(stderr, "tamper: leaf node of entry %llu: %s\n", seq,
		    mrc != 0 ? mdb_strerror(mrc) : "not a hash");
		mdb_txn_abort(txn);
		return 1;
	}
	memcpy(hash, v.mv_data, MERKLE_HASH_LEN);
	hash[7] ^= 0x20;
	v.mv_data = hash;
	if ((mrc = mdb_put(txn, dbi, &k, &v, 0)) != 0) {
		mdb_txn_abort(txn);
		fprintf(stderr, "tamper: node: %s\n", mdb_strerror(mrc));
		return 1;
	}
	if ((mrc = mdb_txn_commit(txn)) != 0) {
		fprintf(stderr, "tamper: commit: %s\n", mdb_strerror(mrc));
		return 1;
	}
	printf("flipped a byte of the leaf node of entry %llu\n", seq);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *op, *dir;
	uint8_t key[8], *newval = NULL;
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi log;
	MDB_val k = { 8, key }, v;
	unsigned long long seq;
	size_t newlen = 0;
	char *end;
	int mrc, rc = 1;

	if (argc != 4)
		return usage();
	op = argv[1];
	dir = argv[2];
	if (strcmp(op, "flip") != 0 && strcmp(op, "rewrite") != 0 &&
	    strcmp(op, "delete") != 0 && strcmp(op, "forge") != 0 &&
	    strcmp(op, "unindex") != 0 && strcmp(op, "node") != 0)
		return usage();
	errno = 0;
	seq = strtoull(argv[3], &end, 10);
	if (errno != 0 || *end != '\0' || end == argv[3] || seq == 0)
		return usage();
	be64_put(key, seq);

	if ((mrc = mdb_env_create(&env)) != 0 || (mrc = mdb_env_set_maxdbs(env, 8)) != 0 ||
	    (mrc = mdb_env_set_mapsize(env, (size_t)1 << 30)) != 0 ||
	    (mrc = mdb_env_open(env, dir, 0, 0600)) != 0 ||
	    (mrc = mdb_txn_begin(env, NULL, 0, &txn)) != 0 ||
	    (mrc = mdb_dbi_open(txn, "log", 0, &log)) != 0) {
		fprintf(stderr, "tamper: %s: %s\n", dir, mdb_strerror(mrc));
		goto out;
	}
	if ((mrc = mdb_get(txn, log, &k, &v)) != 0) {
		fprintf(stderr, "tamper: entry %llu: %s\n", seq, mdb_strerror(mrc));
		goto out;
	}
	if (strcmp(op, "node") == 0) {
		rc = tamper_node(txn, seq);
		txn = NULL;
		goto out;
	}
	if (strcmp(op, "forge") == 0) {
		long n = tamper_forge(txn, log, seq);

		if (n < 0 || tamper_rebuild_tree(txn, log) != 0)
			goto out;
		if ((mrc = mdb_txn_commit(txn)) != 0) {
			txn = NULL;
			fprintf(stderr, "tamper: commit: %s\n", mdb_strerror(mrc));
			goto out;
		}
		txn = NULL;
		printf("forged the signature of entry %llu and rebuilt the chain over %ld "
		    "entries\n", seq, n);
		rc = 0;
		goto out;
	}
	if (strcmp(op, "unindex") == 0) {
		if (tamper_unindex(txn, seq, &v) != 0)
			goto out;
		if ((mrc = mdb_txn_commit(txn)) != 0)
			fprintf(stderr, "tamper: commit: %s\n", mdb_strerror(mrc));
		else
			printf("removed entry %llu from the indexes\n", seq);
		txn = NULL;
		rc = mrc != 0;
		goto out;
	}
	if (strcmp(op, "delete") == 0) {
		mrc = mdb_del(txn, log, &k, NULL);
	} else {
		/* Copied out: v is LMDB's page, valid only until the put. */
		if ((newval = tamper_value(op, v.mv_data, v.mv_size, &newlen)) == NULL)
			goto out;
		v.mv_data = newval;
		v.mv_size = newlen;
		mrc = mdb_put(txn, log, &k, &v, 0);
	}
	if (mrc != 0) {
		fprintf(stderr, "tamper: write entry %llu: %s\n", seq, mdb_strerror(mrc));
		goto out;
	}
	mrc = mdb_txn_commit(txn);
	txn = NULL;
	if (mrc != 0) {
		fprintf(stderr, "tamper: commit: %s\n", mdb_strerror(mrc));
		goto out;
	}
	printf("%s entry %llu\n", strcmp(op, "flip") == 0 ? "flipped a byte of" :
	    strcmp(op, "rewrite") == 0 ? "rewrote (own hash recomputed)" : "deleted", seq);
	rc = 0;
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	free(newval);
	return rc;
}

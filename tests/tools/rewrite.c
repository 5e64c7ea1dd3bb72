/* tests/tools/rewrite.c — rewrite a stopped broker's log the way an attacker with disk
 * access and time would: change the history, then make every hash, link, tree node and
 * index agree again, so that only checkpoints and the agencies' receipts can tell.
 *
 *   rewrite truncate DATA_DIR SEQ     removes entries SEQ..head (the tail)
 *   rewrite remove DATA_DIR SEQ       removes entry SEQ and renumbers the later ones
 *   rewrite swap DATA_DIR SEQ1 SEQ2   swaps two entries
 *   rewrite uncheckpoint DATA_DIR     deletes every stored checkpoint (hides the tracks)
 *   rewrite ckflip DATA_DIR           flips one bit of the latest stored checkpoint's root
 *
 * After truncate, remove and swap, every entry from the first changed one is renumbered,
 * relinked and rehashed, the Merkle tree is rebuilt, and the dedup and registry indexes are
 * rebuilt from the log; stored checkpoints are left alone (use uncheckpoint for that).
 * Signatures stay valid: entries are moved, never altered inside their envelopes.
 * Opens the LMDB environment directly (the broker must be stopped), writes in one
 * transaction and prints what it did. Exit: 0 done, 1 failed, 2 usage error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "chain.h"
#include "merkle.h"
#include "util.h"

struct db {
	MDB_txn	*txn;
	MDB_dbi	 log, msgid, regidx, merkle, ckpt;
};

static int
usage(void)
{
	fprintf(stderr, "usage: rewrite truncate|remove DATA_DIR SEQ\n"
	    "       rewrite swap DATA_DIR SEQ1 SEQ2\n"
	    "       rewrite uncheckpoint|ckflip DATA_DIR\n");
	return 2;
}

static int
fail(const char *what, int mrc)
{
	fprintf(stderr, "rewrite: %s: %s\n", what, mdb_strerror(mrc));
	return -1;
}

/* Reads every entry into packed copies without their hashes: ents[0] is seq 1. */
static int
load_all(struct db *d, uint8_t ***ents, size_t **lens, uint64_t *n)
{
	MDB_cursor *cur;
	MDB_val k, v;
	size_t cap = 0;
	int mrc;

	*n = 0;
	*ents = NULL;
	*lens = NULL;
	if ((mrc = mdb_cursor_open(d->txn, d->log, &cur)) != 0)
		return fail("cursor", mrc);
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 256;
			*ents = realloc(*ents, cap * sizeof(**ents));
			*lens = realloc(*lens, cap * sizeof(**lens));
		}
		(*lens)[*n] = v.mv_size - CHAIN_HASH_LEN;
		(*ents)[*n] = malloc(v.mv_size);
		memcpy((*ents)[*n], (uint8_t *)v.mv_data + CHAIN_HASH_LEN, (*lens)[*n]);
		(*n)++;
	}
	mdb_cursor_close(cur);
	return 0;
}

/* Writes ents[0..n) as the whole log (seq i + 1), relinked and rehashed, with the tree and
 * the indexes rebuilt. */
static int
store_all(struct db *d, uint8_t **ents, size_t *lens, uint64_t n)
{
	uint8_t prev[CHAIN_HASH_LEN] = { 0 };
	merkle_frontier_t f;
	int mrc;

	merkle_frontier_init(&f);
	if ((mrc = mdb_drop(d->txn, d->log, 0)) != 0 || (mrc = mdb_drop(d->txn, d->msgid, 0)) != 0 ||
	    (mrc = mdb_drop(d->txn, d->regidx, 0)) != 0 || (mrc = mdb_drop(d->txn, d->merkle, 0)) != 0)
		return fail("drop", mrc);
	for (uint64_t i = 0; i < n; i++) {
		Cluebus__LogEntry *e = cluebus__log_entry__unpack(NULL, lens[i], ents[i]);
		Cluebus__Message *m = NULL;
		merkle_node_t nodes[MERKLE_LEVELS];
		uint8_t key[8], *out, leaf[MERKLE_HASH_LEN], nkey[8], *own_prev;
		size_t plen, count;
		MDB_val k = { 8, key }, v;

		if (e == NULL)
			return fail("entry does not decode", MDB_CORRUPTED);
		e->seq = i + 1;
		own_prev = e->prev_hash.data;	/* put back before the free */
		e->prev_hash.data = prev;
		e->prev_hash.len = CHAIN_HASH_LEN;
		plen = cluebus__log_entry__get_packed_size(e);
		out = malloc(CHAIN_HASH_LEN + plen);
		cluebus__log_entry__pack(e, out + CHAIN_HASH_LEN);
		e->prev_hash.data = own_prev;
		if (chain_hash(out + CHAIN_HASH_LEN, plen, out) != 0 ||
		    merkle_leaf_hash(out + CHAIN_HASH_LEN, plen, leaf) != 0 ||
		    merkle_append_nodes(&f, leaf, nodes, &count) != 0)
			return fail("hash", MDB_PANIC);
		be64_put(key, i + 1);
		v.mv_data = out;
		v.mv_size = CHAIN_HASH_LEN + plen;
		if ((mrc = mdb_put(d->txn, d->log, &k, &v, MDB_APPEND)) != 0)
			return fail("put", mrc);
		memcpy(prev, out, CHAIN_HASH_LEN);
		free(out);
		for (size_t j = 0; j < count; j++) {
			MDB_val nk = { 8, nkey }, nv = { MERKLE_HASH_LEN, nodes[j].hash };

			be64_put(nkey, merkle_node_seq(nodes[j].level, nodes[j].index));
			if ((mrc = mdb_put(d->txn, d->merkle, &nk, &nv, MDB_APPEND)) != 0)
				return fail("tree", mrc);
		}
		merkle_frontier_advance(&f, nodes, count);
		if (e->envelope != NULL && (m = cluebus__message__unpack(NULL,
		    e->envelope->signed_.len, e->envelope->signed_.data)) != NULL) {
			MDB_val id = { m->message_id.len, m->message_id.data }, sv = { 8, key };
			MDB_val empty = { 0, "" };

			if ((mrc = mdb_put(d->txn, d->msgid, &id, &sv, 0)) != 0 ||
			    (m->kind == CLUEBUS__KIND__KIND_REGISTRY &&
			    (mrc = mdb_put(d->txn, d->regidx, &k, &empty, 0)) != 0))
				return fail("index", mrc);
			cluebus__message__free_unpacked(m, NULL);
		}
		cluebus__log_entry__free_unpacked(e, NULL);
	}
	return 0;
}

/* Flips a bit of the root line of the latest stored checkpoint. */
static int
ckflip(struct db *d)
{
	MDB_cursor *cur;
	MDB_val k, v;
	uint8_t *copy;
	char *line;
	int mrc;

	if ((mrc = mdb_cursor_open(d->txn, d->ckpt, &cur)) != 0 ||
	    (mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST)) != 0)
		return fail("latest checkpoint", mrc);
	mdb_cursor_close(cur);
	copy = malloc(v.mv_size + 1);
	memcpy(copy, v.mv_data, v.mv_size);
	copy[v.mv_size] = 0;
	/* value: be64 time || key id || note; the root is the note's third line */
	line = strchr((char *)copy + 16, '\n');
	line = line != NULL ? strchr(line + 1, '\n') : NULL;
	if (line == NULL)
		return fail("checkpoint note", MDB_CORRUPTED);
	line[3] = line[3] == 'A' ? 'B' : 'A';
	v.mv_data = copy;
	if ((mrc = mdb_put(d->txn, d->ckpt, &k, &v, 0)) != 0)
		return fail("put", mrc);
	printf("changed the root of the checkpoint of tree size %llu\n",
	    (unsigned long long)be64_get(k.mv_data));
	free(copy);
	return 0;
}

static unsigned long long
arg_seq(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	return errno != 0 || *end != '\0' || end == s ? 0 : v;
}

int
main(int argc, char **argv)
{
	MDB_env *env = NULL;
	struct db d = { 0 };
	uint8_t **ents = NULL;
	size_t *lens = NULL;
	uint64_t n = 0, a = 0, b = 0;
	const char *op;
	int mrc, rc = 1;

	if (argc < 3)
		return usage();
	op = argv[1];
	if ((strcmp(op, "truncate") == 0 || strcmp(op, "remove") == 0) && argc == 4)
		a = arg_seq(argv[3]);
	else if (strcmp(op, "swap") == 0 && argc == 5)
		a = arg_seq(argv[3]), b = arg_seq(argv[4]);
	else if (!((strcmp(op, "uncheckpoint") == 0 || strcmp(op, "ckflip") == 0) && argc == 3))
		return usage();
	if (argc >= 4 && (a == 0 || (argc == 5 && (b == 0 || a == b))))
		return usage();
	if ((mrc = mdb_env_create(&env)) != 0 || (mrc = mdb_env_set_maxdbs(env, 16)) != 0 ||
	    (mrc = mdb_env_set_mapsize(env, (size_t)1 << 30)) != 0 ||
	    (mrc = mdb_env_open(env, argv[2], 0, 0600)) != 0 ||
	    (mrc = mdb_txn_begin(env, NULL, 0, &d.txn)) != 0 ||
	    (mrc = mdb_dbi_open(d.txn, "log", 0, &d.log)) != 0 ||
	    (mrc = mdb_dbi_open(d.txn, "msgid", 0, &d.msgid)) != 0 ||
	    (mrc = mdb_dbi_open(d.txn, "regidx", 0, &d.regidx)) != 0 ||
	    (mrc = mdb_dbi_open(d.txn, "merkle", 0, &d.merkle)) != 0 ||
	    (mrc = mdb_dbi_open(d.txn, "checkpoints", 0, &d.ckpt)) != 0) {
		fprintf(stderr, "rewrite: %s: %s\n", argv[2], mdb_strerror(mrc));
		goto out;
	}
	if (strcmp(op, "uncheckpoint") == 0) {
		if ((mrc = mdb_drop(d.txn, d.ckpt, 0)) != 0 && fail("drop", mrc))
			goto out;
		printf("deleted every stored checkpoint\n");
	} else if (strcmp(op, "ckflip") == 0) {
		if (ckflip(&d) != 0)
			goto out;
	} else {
		if (load_all(&d, &ents, &lens, &n) != 0)
			goto out;
		if (a > n || b > n) {
			fprintf(stderr, "rewrite: the log has %llu entries\n", (unsigned long long)n);
			goto out;
		}
		if (strcmp(op, "truncate") == 0) {
			for (uint64_t i = a - 1; i < n; i++)
				free(ents[i]);
			printf("removed entries %llu..%llu\n", (unsigned long long)a,
			    (unsigned long long)n);
			n = a - 1;
		} else if (strcmp(op, "remove") == 0) {
			free(ents[a - 1]);
			memmove(&ents[a - 1], &ents[a], (n - a) * sizeof(*ents));
			memmove(&lens[a - 1], &lens[a], (n - a) * sizeof(*lens));
			n--;
			printf("removed entry %llu and renumbered the %llu after it\n",
			    (unsigned long long)a, (unsigned long long)(n - a + 1));
		} else {
			uint8_t *t = ents[a - 1];
			size_t l = lens[a - 1];

			ents[a - 1] = ents[b - 1], lens[a - 1] = lens[b - 1];
			ents[b - 1] = t, lens[b - 1] = l;
			printf("swapped entries %llu and %llu\n", (unsigned long long)a,
			    (unsigned long long)b);
		}
		if (store_all(&d, ents, lens, n) != 0)
			goto out;
		printf("rebuilt the chain, the tree and the indexes over %llu entries\n",
		    (unsigned long long)n);
	}
	mrc = mdb_txn_commit(d.txn);
	d.txn = NULL;
	if (mrc != 0) {
		fail("commit", mrc);
		goto out;
	}
	rc = 0;
out:
	if (d.txn != NULL)
		mdb_txn_abort(d.txn);
	for (uint64_t i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	free(lens);
	mdb_env_close(env);
	return rc;
}

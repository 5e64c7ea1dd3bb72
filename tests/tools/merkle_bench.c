/* tests/tools/merkle_bench.c — how fast lib/merkle.c appends, proves and verifies on this
 * machine (a measuring tool, not a test: it asserts nothing about time).
 *
 *   merkle_bench [N [LEAF_BYTES [LMDB_DIR]]]     (1000000 leaves of 1024 bytes)
 *
 * Prints, one line each, per second: appends (leaf hash + frontier update, what the broker
 * adds to each accepted entry, nodes not stored); appends with every node put into a
 * merkle_memstore; inclusion proofs produced from the stored nodes of the tree of N and
 * verified; consistency proofs likewise. With LMDB_DIR (an empty directory), also appends
 * whose nodes are put into an LMDB database keyed by merkle_node_seq (MDB_APPEND), 100
 * leaves per transaction, committed without
 * fsync (MDB_NOSYNC: the broker's commit pays the fsync for its entries anyway; this is
 * what the nodes add to it). Exit: 0, 1 (a library call failed), 2 (usage). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lmdb.h>

#include "cluebus/err.h"
#include "merkle.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
report(const char *what, size_t count, double secs)
{
	printf("%-52s %10.0f/s  (%zu in %.3f s, %.2f us each)\n", what, (double)count / secs,
	    count, secs, secs * 1e6 / (double)count);
}

typedef struct lmdb_nodes {
	MDB_txn		*txn;
	MDB_dbi		 dbi;
} lmdb_nodes_t;

static int
lmdb_put(void *ctx, unsigned level, uint64_t index, const uint8_t hash[MERKLE_HASH_LEN])
{
	lmdb_nodes_t *ln = ctx;
	uint64_t seq = merkle_node_seq(level, index);
	uint8_t key[8];
	MDB_val k = { sizeof(key), key }, v = { MERKLE_HASH_LEN, (void *)hash };

	for (int i = 0; i < 8; i++)
		key[i] = (uint8_t)(seq >> (56 - 8 * i));
	return mdb_put(ln->txn, ln->dbi, &k, &v, MDB_APPEND) == 0 ? 0 : CB_ESTORE;
}

/* Appends n leaves with their nodes in LMDB at `dir`. Returns 0 or -1. */
static int
bench_lmdb(const char *dir, size_t n, uint8_t *leaf, size_t leaf_len)
{
	MDB_env *env = NULL;
	lmdb_nodes_t ln = { NULL, 0 };
	merkle_store_t s = { &ln, NULL, lmdb_put };
	merkle_frontier_t f;
	double t0;
	int rc = -1;

	if (mdb_env_create(&env) != 0 || mdb_env_set_maxdbs(env, 1) != 0 ||
	    mdb_env_set_mapsize(env, (size_t)8 << 30) != 0 ||
	    mdb_env_open(env, dir, MDB_NOSYNC, 0600) != 0 ||
	    mdb_txn_begin(env, NULL, 0, &ln.txn) != 0 ||
	    mdb_dbi_open(ln.txn, "merkle", MDB_CREATE, &ln.dbi) != 0 ||
	    mdb_txn_commit(ln.txn) != 0)
		goto out;
	merkle_frontier_init(&f);
	t0 = now();
	for (size_t i = 0; i < n; i += 100) {
		if (mdb_txn_begin(env, NULL, 0, &ln.txn) != 0)
			goto out;
		for (size_t j = i; j < i + 100 && j < n; j++) {
			memcpy(leaf, &j, sizeof(j));
			if (merkle_append(&f, &s, leaf, leaf_len) != 0) {
				mdb_txn_abort(ln.txn);
				goto out;
			}
		}
		if (mdb_txn_commit(ln.txn) != 0)
			goto out;
	}
	report("append with nodes put into LMDB (100 per txn, no fsync)", n, now() - t0);
	rc = 0;
out:
	if (env != NULL)
		mdb_env_close(env);
	return rc;
}


int
main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	size_t leaf_len = argc > 2 ? strtoul(argv[2], NULL, 10) : 1024;
	uint8_t leaf_hash[MERKLE_HASH_LEN], root[MERKLE_HASH_LEN], old_root[MERKLE_HASH_LEN];
	merkle_node_t nodes[MERKLE_LEVELS];
	merkle_memstore_t *mem = NULL;
	merkle_frontier_t f;
	merkle_store_t s;
	merkle_proof_t proof;
	const size_t proofs = 100000;
	uint8_t *leaf = NULL;
	size_t count;
	double t0;
	int rc = 1;

	if (n < 2 || leaf_len < 8) {
		fprintf(stderr, "usage: merkle_bench [N >= 2 [LEAF_BYTES >= 8]]\n");
		return 2;
	}
	if ((leaf = calloc(1, leaf_len)) == NULL || (mem = merkle_memstore_new()) == NULL)
		goto out;
	printf("%zu leaves of %zu bytes\n", n, leaf_len);

	merkle_frontier_init(&f);
	t0 = now();
	for (size_t i = 0; i < n; i++) {
		memcpy(leaf, &i, sizeof(i));
		if (merkle_leaf_hash(leaf, leaf_len, leaf_hash) != 0 ||
		    merkle_append_nodes(&f, leaf_hash, nodes, &count) != 0)
			goto out;
		merkle_frontier_advance(&f, nodes, count);
	}
	report("append (leaf hash + frontier update)", n, now() - t0);

	merkle_memstore_backend(mem, &s);
	merkle_frontier_init(&f);
	t0 = now();
	for (size_t i = 0; i < n; i++) {
		memcpy(leaf, &i, sizeof(i));
		if (merkle_append(&f, &s, leaf, leaf_len) != 0)
			goto out;
	}
	report("append with every node put into a memstore", n, now() - t0);

	srand(6962);
	t0 = now();
	for (size_t k = 0; k < proofs; k++) {
		uint64_t size = 1 + (uint64_t)rand() % n, i = (uint64_t)rand() % size;

		memcpy(leaf, &i, sizeof(i));
		if (merkle_leaf_hash(leaf, leaf_len, leaf_hash) != 0 ||
		    merkle_root(&f, &s, size, root) != 0 ||
		    merkle_prove_inclusion(&f, &s, i, size, &proof) != 0 ||
		    merkle_verify_inclusion(leaf_hash, i, size, &proof, root, NULL) != 0)
			goto out;
	}
	report("inclusion proof: root + prove + verify", proofs, now() - t0);

	t0 = now();
	for (size_t k = 0; k < proofs; k++) {
		uint64_t size = 1 + (uint64_t)rand() % n, old = (uint64_t)rand() % (size + 1);

		if (merkle_root(&f, &s, size, root) != 0 || merkle_root(&f, &s, old, old_root) != 0 ||
		    merkle_prove_consistency(&f, &s, old, size, &proof) != 0 ||
		    merkle_verify_consistency(old, size, &proof, old_root, root, NULL) != 0)
			goto out;
	}
	report("consistency proof: two roots + prove + verify", proofs, now() - t0);
	if (argc > 3 && bench_lmdb(argv[3], n, leaf, leaf_len) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "merkle_bench: a library call failed\n");
	merkle_memstore_free(mem);
	free(leaf);
	return rc;
}

/* tests/tools/merkle_bench.c — how fast lib/merkle.c appends, proves and verifies on this
 * machine (a measuring tool, not a test: it asserts nothing about time).
 *
 *   merkle_bench [N [LEAF_BYTES]]     (1000000 leaves of 1024 bytes)
 *
 * Prints, one line each, per second: appends (leaf hash + frontier update, what the broker
 * adds to each accepted entry, nodes not stored); appends with every node put into a
 * merkle_memstore; inclusion proofs produced from the stored nodes of the tree of N and
 * verified; consistency proofs likewise. Exit: 0, 1 (a library call failed), 2 (usage). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "merkle_bench: a library call failed\n");
	merkle_memstore_free(mem);
	free(leaf);
	return rc;
}

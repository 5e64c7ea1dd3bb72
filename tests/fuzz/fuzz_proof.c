/* tests/fuzz/fuzz_proof.c — libFuzzer target for inclusion and consistency proof
 * verification (lib/merkle.c), as an agent or an auditor checks proofs a broker sent.
 *
 * The first byte chooses how the rest is read:
 *
 *   even: raw proofs. index (8 bytes, big-endian), size (8), old size (8), leaf hash (32),
 *         root (32), old root (32), then the proof hashes (up to MERKLE_MAX_PROOF + 1 of
 *         32 bytes; one more than the maximum stands for "too long"). Both verifiers run
 *         on them; each returns a documented code with a reason.
 *   odd:  altered genuine proofs. n = 1 + byte 1 % 300, leaf i = byte 2 % n, old size
 *         m = byte 3 % (n + 1) in a tree of 300 leaves built once; the genuine proofs
 *         verify; the remaining bytes are XORed over the proofs' hash bytes, and a proof
 *         whose bytes changed must be refused as not holding (CB_ECORRUPT).
 *
 * Broken promises abort. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluebus/err.h"
#include "merkle.h"

#define TREE_SIZE	300

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

static merkle_memstore_t *mem;
static merkle_store_t store;
static merkle_frontier_t tree;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char leaf[32];
	int len;

	(void)argc;
	(void)argv;
	if ((mem = merkle_memstore_new()) == NULL)
		abort();
	merkle_memstore_backend(mem, &store);
	merkle_frontier_init(&tree);
	for (int i = 0; i < TREE_SIZE; i++) {
		len = snprintf(leaf, sizeof(leaf), "leaf %d", i);
		if (merkle_append(&tree, &store, leaf, (size_t)len) != 0)
			abort();
	}
	return 0;
}

static uint64_t
be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static int
documented(int rc, const char *why)
{
	return rc == 0 || ((rc == CB_ETOOBIG || rc == CB_EMALFORMED || rc == CB_ECORRUPT) &&
	    why != NULL && why[0] != '\0');
}

static void
raw_proofs(const uint8_t *data, size_t size)
{
	static merkle_proof_t proof;
	const size_t head = 8 * 3 + MERKLE_HASH_LEN * 3;
	uint64_t index, tree_size, old_size;
	const char *why;
	size_t n;
	int rc;

	if (size < head)
		return;
	index = be64(data);
	tree_size = be64(data + 8);
	old_size = be64(data + 16);
	n = (size - head) / MERKLE_HASH_LEN;
	if (n > MERKLE_MAX_PROOF + 1)
		n = MERKLE_MAX_PROOF + 1;
	proof.len = n;
	if (n <= MERKLE_MAX_PROOF)
		memcpy(proof.hash, data + head, n * MERKLE_HASH_LEN);
	why = NULL;
	rc = merkle_verify_inclusion(data + 24, index, tree_size, &proof, data + 56, &why);
	if (!documented(rc, why) || (n > MERKLE_MAX_PROOF && rc != CB_ETOOBIG))
		abort();
	why = NULL;
	rc = merkle_verify_consistency(old_size, tree_size, &proof, data + 88, data + 56, &why);
	if (!documented(rc, why) || (n > MERKLE_MAX_PROOF && rc != CB_ETOOBIG))
		abort();
}

/* XORs data over the proof's hash bytes, cyclically. Returns whether any byte changed. */
static int
alter(merkle_proof_t *p, const merkle_proof_t *genuine, const uint8_t *data, size_t size)
{
	uint8_t *bytes = (uint8_t *)p->hash;
	size_t total = genuine->len * MERKLE_HASH_LEN;

	*p = *genuine;
	for (size_t i = 0; i < size && total > 0; i++)
		bytes[i % total] ^= data[i];
	return total > 0 && memcmp(p->hash, genuine->hash, total) != 0;
}

static void
altered_proofs(const uint8_t *data, size_t size)
{
	uint8_t leaf_hash[MERKLE_HASH_LEN], root[MERKLE_HASH_LEN], old_root[MERKLE_HASH_LEN];
	merkle_proof_t genuine, bad;
	uint64_t n, i, m;
	const char *why;
	char leaf[32];
	int len;

	if (size < 4)
		return;
	n = 1 + data[1] % TREE_SIZE;
	i = data[2] % n;
	m = data[3] % (n + 1);
	len = snprintf(leaf, sizeof(leaf), "leaf %llu", (unsigned long long)i);
	if (merkle_leaf_hash(leaf, (size_t)len, leaf_hash) != 0 ||
	    merkle_root(&tree, &store, n, root) != 0 ||
	    merkle_root(&tree, &store, m, old_root) != 0)
		abort();

	if (merkle_prove_inclusion(&tree, &store, i, n, &genuine) != 0 ||
	    merkle_verify_inclusion(leaf_hash, i, n, &genuine, root, &why) != 0)
		abort();
	if (alter(&bad, &genuine, data + 4, size - 4) &&
	    merkle_verify_inclusion(leaf_hash, i, n, &bad, root, &why) != CB_ECORRUPT)
		abort();

	if (merkle_prove_consistency(&tree, &store, m, n, &genuine) != 0 ||
	    merkle_verify_consistency(m, n, &genuine, old_root, root, &why) != 0)
		abort();
	if (alter(&bad, &genuine, data + 4, size - 4) &&
	    merkle_verify_consistency(m, n, &bad, old_root, root, &why) != CB_ECORRUPT)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if ((data[0] & 1) == 0)
		raw_proofs(data + 1, size - 1);
	else
		altered_proofs(data, size);
	return 0;
}

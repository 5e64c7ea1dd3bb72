/* tests/unit/test_merkle.c — RFC 9162 hashing, the incremental frontier, proofs from a node
 * store and their verification.
 *
 * Roots and proofs are checked against the RFC 6962 test data of Certificate Transparency
 * (eight leaves, their roots, the inclusion path of leaf 0 and the consistency proof
 * 6 -> 8); tests/merkle_crosscheck.py checks every size to 300 against a Python
 * implementation. Here: the frontier and the stored nodes agree for every size, an append
 * puts exactly the nodes it completes and changes nothing when a put fails, and every way
 * of altering a proof (a flipped bit, a truncated or extended proof, an index or size out
 * of range, another root) is refused with the reason. One test keeps the nodes in LMDB, as
 * the store will: in the transaction of the leaves, lost with it on abort, and enough after
 * a reopen to load the frontier and prove. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>
#include <openssl/evp.h>
#include <unistd.h>

#include "cluebus/err.h"
#include "merkle.h"

/* The RFC 6962 test leaves and the roots of their first 1..8 (CT's merkle_tree tests). */
static const struct {
	const char	*data;
	size_t		 len;
} rfc_leaves[8] = {
	{ "", 0 }, { "\x00", 1 }, { "\x10", 1 }, { "\x20\x21", 2 }, { "\x30\x31", 2 },
	{ "\x40\x41\x42\x43", 4 }, { "\x50\x51\x52\x53\x54\x55\x56\x57", 8 },
	{ "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f", 16 },
};
static const char *rfc_roots[8] = {
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static void
from_hex(const char *hex, uint8_t out[MERKLE_HASH_LEN])
{
	unsigned v;

	assert_int_equal(strlen(hex), 2 * MERKLE_HASH_LEN);
	for (size_t i = 0; i < MERKLE_HASH_LEN; i++) {
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* A tree over the leaves "leaf <i>" in a memstore, wrapped with a put counter and a put
 * that fails on demand. */
typedef struct fixture {
	merkle_memstore_t	*mem;
	merkle_store_t		 inner;
	merkle_store_t		 store;
	merkle_frontier_t	 f;
	size_t			 puts;
	size_t			 fail_at;	/* 1-based put that fails; 0: none */
} fixture_t;

static int
counting_get(void *ctx, unsigned level, uint64_t index, uint8_t hash[MERKLE_HASH_LEN])
{
	fixture_t *fx = ctx;

	return fx->inner.get_node(fx->inner.ctx, level, index, hash);
}

static int
counting_put(void *ctx, unsigned level, uint64_t index, const uint8_t hash[MERKLE_HASH_LEN])
{
	fixture_t *fx = ctx;

	if (fx->fail_at != 0 && ++fx->puts == fx->fail_at)
		return CB_ESTORE;
	if (fx->fail_at == 0)
		fx->puts++;
	return fx->inner.put_node(fx->inner.ctx, level, index, hash);
}

static fixture_t *
fixture_new(void)
{
	fixture_t *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	assert_non_null(fx->mem = merkle_memstore_new());
	merkle_memstore_backend(fx->mem, &fx->inner);
	fx->store.ctx = fx;
	fx->store.get_node = counting_get;
	fx->store.put_node = counting_put;
	merkle_frontier_init(&fx->f);
	return fx;
}

static void
fixture_free(fixture_t *fx)
{
	merkle_memstore_free(fx->mem);
	free(fx);
}

static void
leaf_of(uint64_t i, char *buf, size_t cap, size_t *len)
{
	*len = (size_t)snprintf(buf, cap, "leaf %llu", (unsigned long long)i);
}

static void
grow(fixture_t *fx, uint64_t size)
{
	char leaf[32];
	size_t len;

	while (fx->f.size < size) {
		leaf_of(fx->f.size, leaf, sizeof(leaf), &len);
		assert_int_equal(merkle_append(&fx->f, &fx->store, leaf, len), 0);
	}
}

static void
leaf_hash_of(uint64_t i, uint8_t out[MERKLE_HASH_LEN])
{
	char leaf[32];
	size_t len;

	leaf_of(i, leaf, sizeof(leaf), &len);
	assert_int_equal(merkle_leaf_hash(leaf, len, out), 0);
}

static void
test_leaf_and_node_hashes_are_sha256_with_the_0x00_and_0x01_prefixes(void **state)
{
	uint8_t got[MERKLE_HASH_LEN], want[MERKLE_HASH_LEN], buf[65];
	const uint8_t left[MERKLE_HASH_LEN] = { 1 }, right[MERKLE_HASH_LEN] = { 2 };

	(void)state;
	assert_int_equal(merkle_leaf_hash("abc", 3, got), 0);
	memcpy(buf, "\x00" "abc", 4);
	assert_int_equal(EVP_Digest(buf, 4, want, NULL, EVP_sha256(), NULL), 1);
	assert_memory_equal(got, want, MERKLE_HASH_LEN);

	assert_int_equal(merkle_node_hash(left, right, got), 0);
	buf[0] = 0x01;
	memcpy(buf + 1, left, 32);
	memcpy(buf + 33, right, 32);
	assert_int_equal(EVP_Digest(buf, 65, want, NULL, EVP_sha256(), NULL), 1);
	assert_memory_equal(got, want, MERKLE_HASH_LEN);

	assert_int_equal(merkle_empty_root(got), 0);
	from_hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", want);
	assert_memory_equal(got, want, MERKLE_HASH_LEN);
}

static void
test_the_roots_of_the_rfc_6962_test_leaves_are_the_published_ones(void **state)
{
	fixture_t *fx = fixture_new();
	uint8_t got[MERKLE_HASH_LEN], want[MERKLE_HASH_LEN];

	(void)state;
	for (size_t i = 0; i < 8; i++) {
		assert_int_equal(merkle_append(&fx->f, &fx->store, rfc_leaves[i].data,
		    rfc_leaves[i].len), 0);
		assert_int_equal(merkle_frontier_root(&fx->f, got), 0);
		from_hex(rfc_roots[i], want);
		assert_memory_equal(got, want, MERKLE_HASH_LEN);
	}
	/* ... and from the stored nodes of the tree of 8, every smaller root. */
	for (size_t i = 0; i < 8; i++) {
		assert_int_equal(merkle_root(&fx->f, &fx->store, i + 1, got), 0);
		from_hex(rfc_roots[i], want);
		assert_memory_equal(got, want, MERKLE_HASH_LEN);
	}
	fixture_free(fx);
}

static void
test_the_proofs_of_the_rfc_6962_test_leaves_are_the_published_ones(void **state)
{
	static const char *path0[3] = {
		"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
		"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
	};
	static const char *cons68[3] = {
		"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
		"ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
		"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	};
	fixture_t *fx = fixture_new();
	uint8_t want[MERKLE_HASH_LEN];
	merkle_proof_t proof;

	(void)state;
	for (size_t i = 0; i < 8; i++)
		assert_int_equal(merkle_append(&fx->f, &fx->store, rfc_leaves[i].data,
		    rfc_leaves[i].len), 0);
	assert_int_equal(merkle_prove_inclusion(&fx->f, &fx->store, 0, 8, &proof), 0);
	assert_int_equal(proof.len, 3);
	for (size_t i = 0; i < 3; i++) {
		from_hex(path0[i], want);
		assert_memory_equal(proof.hash[i], want, MERKLE_HASH_LEN);
	}
	assert_int_equal(merkle_prove_consistency(&fx->f, &fx->store, 6, 8, &proof), 0);
	assert_int_equal(proof.len, 3);
	for (size_t i = 0; i < 3; i++) {
		from_hex(cons68[i], want);
		assert_memory_equal(proof.hash[i], want, MERKLE_HASH_LEN);
	}
	fixture_free(fx);
}

static void
test_an_append_puts_the_leaf_and_exactly_the_subtrees_it_completes_in_seq_order(void **state)
{
	fixture_t *fx = fixture_new();
	merkle_node_t nodes[MERKLE_LEVELS];
	uint8_t h[MERKLE_HASH_LEN];
	size_t count, before;

	(void)state;
	for (uint64_t n = 0; n < 300; n++) {
		leaf_hash_of(n, h);
		assert_int_equal(merkle_append_nodes(&fx->f, h, nodes, &count), 0);
		/* one node per trailing one bit of n, plus the leaf */
		assert_int_equal(count, 1 + (size_t)__builtin_ctzll(~n));
		for (size_t i = 0; i < count; i++) {
			assert_int_equal(nodes[i].level, i);
			assert_int_equal(nodes[i].index, n >> i);
		}
		before = fx->puts;
		grow(fx, n + 1);
		assert_int_equal(fx->puts - before, count);
		/* nodes come in merkle_node_seq order without a gap */
		for (size_t i = 0; i < count; i++)
			assert_int_equal(merkle_node_seq(nodes[i].level, nodes[i].index),
			    before + i);
	}
	/* a tree of n leaves has 2n - popcount(n) complete perfect subtrees */
	assert_int_equal(fx->puts, 2 * 300 - (size_t)__builtin_popcountll(300));
	fixture_free(fx);
}

static void
test_the_frontier_and_the_stored_nodes_give_the_same_root_for_every_size_to_300(void **state)
{
	fixture_t *fx = fixture_new();
	merkle_frontier_t loaded;
	uint8_t a[MERKLE_HASH_LEN], b[MERKLE_HASH_LEN];
	merkle_frontier_t *history = calloc(301, sizeof(*history));

	(void)state;
	assert_non_null(history);
	for (uint64_t n = 0; n <= 300; n++) {
		grow(fx, n);
		history[n] = fx->f;
	}
	for (uint64_t n = 0; n <= 300; n++) {
		assert_int_equal(merkle_frontier_root(&history[n], a), 0);
		assert_int_equal(merkle_root(&fx->f, &fx->store, n, b), 0);
		assert_memory_equal(a, b, MERKLE_HASH_LEN);
		/* nothing rebuilt at start: the frontier of any size loads from the store */
		assert_int_equal(merkle_frontier_load(&loaded, &fx->store, n), 0);
		assert_int_equal(loaded.size, n);
		assert_int_equal(merkle_frontier_root(&loaded, b), 0);
		assert_memory_equal(a, b, MERKLE_HASH_LEN);
	}
	free(history);
	fixture_free(fx);
}

static void
test_a_failed_put_returns_the_store_error_and_leaves_the_frontier_unchanged(void **state)
{
	fixture_t *fx = fixture_new();
	merkle_frontier_t before;
	uint8_t a[MERKLE_HASH_LEN], b[MERKLE_HASH_LEN];

	(void)state;
	grow(fx, 7);	/* the next append completes subtrees at levels 1, 2 and 3 */
	for (size_t n = 1; n <= 4; n++) {
		before = fx->f;
		fx->puts = 0;
		fx->fail_at = n;
		assert_int_equal(merkle_append(&fx->f, &fx->store, "x", 1), CB_ESTORE);
		assert_memory_equal(&fx->f, &before, sizeof(before));
	}
	fx->fail_at = 0;
	assert_int_equal(merkle_append(&fx->f, &fx->store, "x", 1), 0);
	assert_int_equal(fx->f.size, 8);
	assert_int_equal(merkle_frontier_root(&fx->f, a), 0);
	assert_int_equal(merkle_root(&fx->f, &fx->store, 8, b), 0);
	assert_memory_equal(a, b, MERKLE_HASH_LEN);
	fixture_free(fx);
}

static void
test_a_missing_node_makes_loading_and_proving_fail_as_corrupt(void **state)
{
	merkle_memstore_t *small = merkle_memstore_new();
	fixture_t *fx = fixture_new();
	merkle_store_t s;
	merkle_frontier_t f;
	merkle_proof_t proof;
	uint8_t h[MERKLE_HASH_LEN];

	(void)state;
	assert_non_null(small);
	grow(fx, 10);
	merkle_memstore_backend(small, &s);	/* a store that lost every node */
	merkle_frontier_init(&f);
	assert_int_equal(merkle_frontier_load(&f, &s, 10), CB_ECORRUPT);
	assert_int_equal(f.size, 0);
	assert_int_equal(merkle_prove_inclusion(&fx->f, &s, 3, 10, &proof), CB_ECORRUPT);
	assert_int_equal(merkle_prove_consistency(&fx->f, &s, 3, 10, &proof), CB_ECORRUPT);
	assert_int_equal(merkle_root(&fx->f, &s, 5, h), CB_ECORRUPT);
	merkle_memstore_free(small);
	fixture_free(fx);
}

static void
test_proofs_for_sizes_beyond_the_tree_or_out_of_order_are_invalid_requests(void **state)
{
	fixture_t *fx = fixture_new();
	merkle_proof_t proof;
	uint8_t h[MERKLE_HASH_LEN];

	(void)state;
	grow(fx, 10);
	assert_int_equal(merkle_prove_inclusion(&fx->f, &fx->store, 0, 11, &proof), CB_EINVAL);
	assert_int_equal(merkle_prove_inclusion(&fx->f, &fx->store, 10, 10, &proof), CB_EINVAL);
	assert_int_equal(merkle_prove_consistency(&fx->f, &fx->store, 5, 11, &proof), CB_EINVAL);
	assert_int_equal(merkle_prove_consistency(&fx->f, &fx->store, 6, 5, &proof), CB_EINVAL);
	assert_int_equal(merkle_root(&fx->f, &fx->store, 11, h), CB_EINVAL);
	fixture_free(fx);
}

static void
test_a_full_tree_refuses_another_leaf(void **state)
{
	merkle_frontier_t f;
	merkle_node_t nodes[MERKLE_LEVELS];
	uint8_t h[MERKLE_HASH_LEN] = { 0 };
	size_t count;

	(void)state;
	merkle_frontier_init(&f);
	f.size = MERKLE_MAX_SIZE;
	assert_int_equal(merkle_append_nodes(&f, h, nodes, &count), CB_ETOOBIG);
	/* one below: the append completes MERKLE_LEVELS - 1 subtrees, within nodes[] */
	f.size = MERKLE_MAX_SIZE - 1;
	assert_int_equal(merkle_append_nodes(&f, h, nodes, &count), 0);
	assert_int_equal(count, 1);
	f.size = (MERKLE_MAX_SIZE >> 1);	/* 62 one bits */
	assert_int_equal(merkle_append_nodes(&f, h, nodes, &count), 0);
	assert_int_equal(count, MERKLE_LEVELS);
	assert_int_equal(nodes[MERKLE_LEVELS - 1].level, MERKLE_LEVELS - 1);
	assert_int_equal(nodes[MERKLE_LEVELS - 1].index, 0);
	/* the last node of the largest tree still has a seq */
	assert_true(merkle_node_seq(MERKLE_LEVELS - 1, 0) == (UINT64_C(1) << 63) - 2);
	assert_true(merkle_node_seq(0, MERKLE_MAX_SIZE - 1) ==
	    2 * (MERKLE_MAX_SIZE - 1) - (uint64_t)__builtin_popcountll(MERKLE_MAX_SIZE - 1));
}

/* Every inclusion and consistency proof of the trees of 1..n verifies, and each altered
 * copy of it (one bit of one hash flipped, one hash dropped, one added) is refused. */
static void
check_all_proofs(fixture_t *fx, uint64_t max)
{
	uint8_t root[MERKLE_HASH_LEN], old_root[MERKLE_HASH_LEN], leaf[MERKLE_HASH_LEN];
	merkle_proof_t proof, bad;
	const char *why;

	for (uint64_t n = 1; n <= max; n++) {
		assert_int_equal(merkle_root(&fx->f, &fx->store, n, root), 0);
		for (uint64_t i = 0; i < n; i++) {
			leaf_hash_of(i, leaf);
			assert_int_equal(merkle_prove_inclusion(&fx->f, &fx->store, i, n, &proof),
			    0);
			assert_int_equal(merkle_verify_inclusion(leaf, i, n, &proof, root, &why),
			    0);
			for (size_t j = 0; j < proof.len; j++)
				for (unsigned bit = 0; bit < 256; bit += 37) {
					bad = proof;
					bad.hash[j][bit / 8] ^= (uint8_t)(1u << (bit % 8));
					assert_int_equal(merkle_verify_inclusion(leaf, i, n, &bad,
					    root, &why), CB_ECORRUPT);
				}
			if (proof.len > 0) {
				bad = proof;
				bad.len--;
				assert_int_equal(merkle_verify_inclusion(leaf, i, n, &bad, root,
				    &why), CB_ECORRUPT);
				assert_string_equal(why,
				    "proof is shorter than the path to the root");
			}
			bad = proof;
			memset(bad.hash[bad.len++], 0x5a, MERKLE_HASH_LEN);
			assert_int_equal(merkle_verify_inclusion(leaf, i, n, &bad, root, &why),
			    CB_ECORRUPT);
			assert_string_equal(why, "proof is longer than the path to the root");
			/* another leaf at the same place */
			leaf[0] ^= 1;
			assert_int_equal(merkle_verify_inclusion(leaf, i, n, &proof, root, &why),
			    CB_ECORRUPT);
		}
		for (uint64_t m = 0; m <= n; m++) {
			assert_int_equal(merkle_root(&fx->f, &fx->store, m, old_root), 0);
			assert_int_equal(merkle_prove_consistency(&fx->f, &fx->store, m, n,
			    &proof), 0);
			assert_int_equal(merkle_verify_consistency(m, n, &proof, old_root, root,
			    &why), 0);
			for (size_t j = 0; j < proof.len; j++) {
				bad = proof;
				bad.hash[j][j % MERKLE_HASH_LEN] ^= 0x10;
				assert_int_equal(merkle_verify_consistency(m, n, &bad, old_root,
				    root, &why), CB_ECORRUPT);
			}
			if (proof.len > 0) {
				bad = proof;
				bad.len--;
				assert_int_equal(merkle_verify_consistency(m, n, &bad, old_root,
				    root, &why), CB_ECORRUPT);
			}
			bad = proof;
			memset(bad.hash[bad.len++], 0x5a, MERKLE_HASH_LEN);
			assert_int_equal(merkle_verify_consistency(m, n, &bad, old_root, root,
			    &why), CB_ECORRUPT);
			/* the old tree's root exchanged for another */
			old_root[31] ^= 1;
			assert_int_equal(merkle_verify_consistency(m, n, &proof, old_root, root,
			    &why), CB_ECORRUPT);
		}
	}
}

static void
test_every_proof_to_size_64_verifies_and_every_altered_copy_is_refused(void **state)
{
	fixture_t *fx = fixture_new();

	(void)state;
	grow(fx, 64);
	check_all_proofs(fx, 64);
	fixture_free(fx);
}

static void
test_proofs_of_small_trees_come_from_the_nodes_of_a_much_larger_tree(void **state)
{
	fixture_t *fx = fixture_new();

	(void)state;
	grow(fx, 5000);
	check_all_proofs(fx, 33);
	fixture_free(fx);
}

static void
test_random_proofs_in_trees_of_random_large_sizes_verify(void **state)
{
	fixture_t *fx = fixture_new();
	uint8_t root[MERKLE_HASH_LEN], old_root[MERKLE_HASH_LEN], leaf[MERKLE_HASH_LEN];
	merkle_proof_t proof;
	const char *why;
	uint64_t n, i, m;

	(void)state;
	srand(9162);
	grow(fx, 200000);
	for (int t = 0; t < 40; t++) {
		n = 1 + (uint64_t)rand() % 200000;
		assert_int_equal(merkle_root(&fx->f, &fx->store, n, root), 0);
		for (int k = 0; k < 10; k++) {
			i = (uint64_t)rand() % n;
			m = (uint64_t)rand() % (n + 1);
			leaf_hash_of(i, leaf);
			assert_int_equal(merkle_prove_inclusion(&fx->f, &fx->store, i, n, &proof),
			    0);
			assert_int_equal(merkle_verify_inclusion(leaf, i, n, &proof, root, &why),
			    0);
			assert_int_equal(merkle_root(&fx->f, &fx->store, m, old_root), 0);
			assert_int_equal(merkle_prove_consistency(&fx->f, &fx->store, m, n,
			    &proof), 0);
			assert_int_equal(merkle_verify_consistency(m, n, &proof, old_root, root,
			    &why), 0);
		}
	}
	fixture_free(fx);
}

static void
test_out_of_range_indices_sizes_and_lengths_are_refused_before_any_hashing(void **state)
{
	merkle_proof_t proof = { 0 };
	uint8_t h[MERKLE_HASH_LEN] = { 0 };
	const char *why;

	(void)state;
	assert_int_equal(merkle_verify_inclusion(h, 5, 5, &proof, h, &why), CB_EMALFORMED);
	assert_string_equal(why, "leaf index is not below the tree size");
	assert_int_equal(merkle_verify_inclusion(h, 0, 0, &proof, h, &why), CB_EMALFORMED);
	assert_int_equal(merkle_verify_inclusion(h, 0, MERKLE_MAX_SIZE + 1, &proof, h, &why),
	    CB_EMALFORMED);
	assert_int_equal(merkle_verify_consistency(6, 5, &proof, h, h, &why), CB_EMALFORMED);
	assert_string_equal(why, "old tree size is above the new one");
	assert_int_equal(merkle_verify_consistency(1, MERKLE_MAX_SIZE + 1, &proof, h, h, &why),
	    CB_EMALFORMED);
	proof.len = MERKLE_MAX_PROOF + 1;
	assert_int_equal(merkle_verify_inclusion(h, 0, 1, &proof, h, &why), CB_ETOOBIG);
	assert_int_equal(merkle_verify_consistency(1, 2, &proof, h, h, &why), CB_ETOOBIG);
	/* a single-leaf tree: the root is the leaf hash and the proof is empty */
	proof.len = 0;
	assert_int_equal(merkle_verify_inclusion(h, 0, 1, &proof, h, &why), 0);
}

static void
test_consistency_from_the_empty_tree_or_to_the_same_size_needs_an_empty_proof(void **state)
{
	merkle_proof_t proof = { 0 };
	uint8_t empty[MERKLE_HASH_LEN], a[MERKLE_HASH_LEN] = { 1 }, b[MERKLE_HASH_LEN] = { 2 };
	const char *why;

	(void)state;
	assert_int_equal(merkle_empty_root(empty), 0);
	assert_int_equal(merkle_verify_consistency(0, 7, &proof, empty, a, &why), 0);
	assert_int_equal(merkle_verify_consistency(0, 7, &proof, b, a, &why), CB_ECORRUPT);
	assert_string_equal(why, "old root is not the root of the empty tree");
	assert_int_equal(merkle_verify_consistency(7, 7, &proof, a, a, &why), 0);
	assert_int_equal(merkle_verify_consistency(7, 7, &proof, a, b, &why), CB_ECORRUPT);
	assert_string_equal(why, "the roots of two trees of the same size differ");
	proof.len = 1;
	assert_int_equal(merkle_verify_consistency(7, 7, &proof, a, a, &why), CB_ECORRUPT);
	assert_int_equal(merkle_verify_consistency(0, 7, &proof, empty, a, &why), CB_ECORRUPT);
	/* between different sizes an empty proof proves nothing */
	proof.len = 0;
	assert_int_equal(merkle_verify_consistency(3, 7, &proof, a, b, &why), CB_ECORRUPT);
	assert_string_equal(why, "proof is empty");
}

/* ---- nodes in LMDB, in the caller's transaction, keyed by merkle_node_seq (8, BE) ---- */

typedef struct lmdb_nodes {
	MDB_txn		*txn;
	MDB_dbi		 dbi;
} lmdb_nodes_t;

static void
node_key(uint8_t key[8], unsigned level, uint64_t index)
{
	uint64_t seq = merkle_node_seq(level, index);

	for (int i = 0; i < 8; i++)
		key[i] = (uint8_t)(seq >> (56 - 8 * i));
}

static int
lmdb_get(void *ctx, unsigned level, uint64_t index, uint8_t hash[MERKLE_HASH_LEN])
{
	lmdb_nodes_t *ln = ctx;
	uint8_t key[8];
	MDB_val k = { sizeof(key), key }, v;
	int rc;

	node_key(key, level, index);
	if ((rc = mdb_get(ln->txn, ln->dbi, &k, &v)) == MDB_NOTFOUND)
		return CB_ENOTFOUND;
	if (rc != 0 || v.mv_size != MERKLE_HASH_LEN)
		return CB_ESTORE;
	memcpy(hash, v.mv_data, MERKLE_HASH_LEN);
	return 0;
}

static int
lmdb_put(void *ctx, unsigned level, uint64_t index, const uint8_t hash[MERKLE_HASH_LEN])
{
	lmdb_nodes_t *ln = ctx;
	uint8_t key[8];
	MDB_val k = { sizeof(key), key }, v = { MERKLE_HASH_LEN, (void *)hash };

	node_key(key, level, index);
	return mdb_put(ln->txn, ln->dbi, &k, &v, MDB_APPEND) == 0 ? 0 : CB_ESTORE;
}

static MDB_env *
lmdb_open(const char *dir, MDB_dbi *dbi)
{
	MDB_env *env;
	MDB_txn *txn;

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 2), 0);
	assert_int_equal(mdb_env_set_mapsize(env, 64u << 20), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "merkle", MDB_CREATE, dbi), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	return env;
}

static void
test_nodes_kept_in_lmdb_commit_and_abort_with_the_leaves_and_reload_after_a_reopen(
    void **state)
{
	char dir[] = "/tmp/cb-test-merkle.XXXXXX", path[64], leaf[32];
	uint8_t want[MERKLE_HASH_LEN], got[MERKLE_HASH_LEN], lh[MERKLE_HASH_LEN];
	merkle_frontier_t head, work;
	merkle_proof_t proof;
	lmdb_nodes_t ln;
	merkle_store_t s = { &ln, lmdb_get, lmdb_put };
	MDB_env *env;
	size_t len;

	(void)state;
	assert_non_null(mkdtemp(dir));
	env = lmdb_open(dir, &ln.dbi);
	merkle_frontier_init(&head);
	/* batches of 37 leaves, one transaction each; every third batch is aborted */
	for (int batch = 0; head.size < 1000; batch++) {
		work = head;
		assert_int_equal(mdb_txn_begin(env, NULL, 0, &ln.txn), 0);
		for (int i = 0; i < 37; i++) {
			leaf_of(work.size, leaf, sizeof(leaf), &len);
			assert_int_equal(merkle_append(&work, &s, leaf, len), 0);
		}
		if (batch % 3 == 2) {
			mdb_txn_abort(ln.txn);
			continue;	/* the head stays; the nodes went with the transaction */
		}
		assert_int_equal(mdb_txn_commit(ln.txn), 0);
		head = work;
	}
	/* one more batch, aborted: its nodes must not outlive it */
	work = head;
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &ln.txn), 0);
	for (int i = 0; i < 37; i++) {
		leaf_of(work.size, leaf, sizeof(leaf), &len);
		assert_int_equal(merkle_append(&work, &s, leaf, len), 0);
	}
	assert_int_equal(lmdb_get(&ln, 0, head.size, got), 0);
	mdb_txn_abort(ln.txn);
	assert_int_equal(merkle_frontier_root(&head, want), 0);
	mdb_env_close(env);

	/* after a restart: the frontier loads in popcount(size) reads, proofs need no rebuild */
	env = lmdb_open(dir, &ln.dbi);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &ln.txn), 0);
	assert_int_equal(merkle_frontier_load(&work, &s, head.size), 0);
	assert_int_equal(merkle_frontier_root(&work, got), 0);
	assert_memory_equal(got, want, MERKLE_HASH_LEN);
	/* the aborted batch left nothing behind */
	assert_int_equal(lmdb_get(&ln, 0, head.size, got), CB_ENOTFOUND);
	for (uint64_t i = 0; i < head.size; i += 97) {
		leaf_hash_of(i, lh);
		assert_int_equal(merkle_prove_inclusion(&work, &s, i, head.size, &proof), 0);
		assert_int_equal(merkle_verify_inclusion(lh, i, head.size, &proof, want, NULL), 0);
	}
	mdb_txn_abort(ln.txn);
	mdb_env_close(env);
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leaf_and_node_hashes_are_sha256_with_the_0x00_and_0x01_prefixes),
		cmocka_unit_test(test_the_roots_of_the_rfc_6962_test_leaves_are_the_published_ones),
		cmocka_unit_test(test_the_proofs_of_the_rfc_6962_test_leaves_are_the_published_ones),
		cmocka_unit_test(
		    test_an_append_puts_the_leaf_and_exactly_the_subtrees_it_completes_in_seq_order),
		cmocka_unit_test(
		    test_the_frontier_and_the_stored_nodes_give_the_same_root_for_every_size_to_300),
		cmocka_unit_test(
		    test_a_failed_put_returns_the_store_error_and_leaves_the_frontier_unchanged),
		cmocka_unit_test(test_a_missing_node_makes_loading_and_proving_fail_as_corrupt),
		cmocka_unit_test(
		    test_proofs_for_sizes_beyond_the_tree_or_out_of_order_are_invalid_requests),
		cmocka_unit_test(test_a_full_tree_refuses_another_leaf),
		cmocka_unit_test(
		    test_every_proof_to_size_64_verifies_and_every_altered_copy_is_refused),
		cmocka_unit_test(test_proofs_of_small_trees_come_from_the_nodes_of_a_much_larger_tree),
		cmocka_unit_test(test_random_proofs_in_trees_of_random_large_sizes_verify),
		cmocka_unit_test(
		    test_out_of_range_indices_sizes_and_lengths_are_refused_before_any_hashing),
		cmocka_unit_test(
		    test_consistency_from_the_empty_tree_or_to_the_same_size_needs_an_empty_proof),
		cmocka_unit_test(
		    test_nodes_kept_in_lmdb_commit_and_abort_with_the_leaves_and_reload_after_a_reopen),
	};

	return cmocka_run_group_tests_name("merkle", tests, NULL, NULL);
}

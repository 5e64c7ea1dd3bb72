/* lib/merkle.c — RFC 9162 Merkle trees: hashing, the incremental frontier, proofs from a
 * node store and their verification (the contract is in merkle.h).
 *
 * Proofs are produced by the recursive definitions of RFC 9162 §2.1.3.1 (PATH) and
 * §2.1.4.1 (SUBPROOF), where every MTH(D[a:b]) is read from the store: a perfect aligned
 * range is one stored node, any other range splits at its largest power of two as the tree
 * does. Ranges in those definitions start at a multiple of their left part, so a proof
 * costs O(log^2 n) reads at worst and needs no node that a smaller tree lacks.
 *
 * Verification transcribes RFC 9162 §2.1.3.2 and §2.1.4.2; fn/sn and the shifts keep the
 * RFC's names so that the code can be read against the text. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "chain.h"
#include "cluebus/err.h"
#include "merkle.h"

_Static_assert(MERKLE_MAX_PROOF >= MERKLE_LEVELS + 1,
    "a consistency proof of a tree of MERKLE_MAX_SIZE leaves has MERKLE_LEVELS + 1 hashes");

/* SHA-256(prefix || a || b), without the prefix byte when prefix < 0. */
static int
merkle_sha256(int prefix, const void *a, size_t alen, const void *b, size_t blen,
    uint8_t out[MERKLE_HASH_LEN])
{
	uint8_t p = (uint8_t)prefix;

	return chain_sha256(&p, prefix < 0 ? 0 : 1, a, alen, b, blen, out);
}

int
merkle_leaf_hash(const void *leaf, size_t len, uint8_t out[MERKLE_HASH_LEN])
{
	return merkle_sha256(0x00, leaf, len, NULL, 0, out);
}

int
merkle_node_hash(const uint8_t left[MERKLE_HASH_LEN], const uint8_t right[MERKLE_HASH_LEN],
    uint8_t out[MERKLE_HASH_LEN])
{
	return merkle_sha256(0x01, left, MERKLE_HASH_LEN, right, MERKLE_HASH_LEN, out);
}

int
merkle_empty_root(uint8_t out[MERKLE_HASH_LEN])
{
	return merkle_sha256(-1, NULL, 0, NULL, 0, out);
}

/* The largest power of two strictly below n (n >= 2). */
static uint64_t
split_point(uint64_t n)
{
	uint64_t k = 1;

	while (k << 1 < n)
		k <<= 1;
	return k;
}

static int
is_power_of_two(uint64_t n)
{
	return n != 0 && (n & (n - 1)) == 0;
}

static unsigned
log2_exact(uint64_t n)
{
	unsigned l = 0;

	while ((UINT64_C(1) << l) < n)
		l++;
	return l;
}

uint64_t
merkle_node_seq(unsigned level, uint64_t index)
{
	uint64_t last = ((index + 1) << level) - 1;	/* the leaf that completes it */

	/* 2 * last - popcount(last) nodes were complete before that leaf; then its append
	 * puts the leaf and one parent per level up to `level`. */
	return 2 * last - (uint64_t)__builtin_popcountll(last) + level;
}

/* A node the tree must have: a missing one means the store lost it. */
static int
get_node(const merkle_store_t *s, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN])
{
	int rc = s->get_node(s->ctx, level, index, out);

	return rc == CB_ENOTFOUND ? CB_ECORRUPT : rc;
}

void
merkle_frontier_init(merkle_frontier_t *f)
{
	memset(f, 0, sizeof(*f));
}

int
merkle_frontier_load(merkle_frontier_t *f, const merkle_store_t *s, uint64_t size)
{
	merkle_frontier_t loaded;
	int rc;

	if (size > MERKLE_MAX_SIZE)
		return CB_EINVAL;
	merkle_frontier_init(&loaded);
	for (unsigned b = 0; b < MERKLE_LEVELS; b++)
		if ((size >> b & 1) != 0 &&
		    (rc = get_node(s, b, (size >> b) - 1, loaded.hash[b])) != 0)
			return rc;
	loaded.size = size;
	*f = loaded;
	return 0;
}

int
merkle_frontier_root(const merkle_frontier_t *f, uint8_t out[MERKLE_HASH_LEN])
{
	uint8_t root[MERKLE_HASH_LEN];
	int have = 0, rc;

	if (f->size == 0)
		return merkle_empty_root(out);
	/* The smallest subtree is the rightmost: fold the others onto it, right to left. */
	for (unsigned b = 0; b < MERKLE_LEVELS; b++) {
		if ((f->size >> b & 1) == 0)
			continue;
		if (!have)
			memcpy(root, f->hash[b], MERKLE_HASH_LEN);
		else if ((rc = merkle_node_hash(f->hash[b], root, root)) != 0)
			return rc;
		have = 1;
	}
	memcpy(out, root, MERKLE_HASH_LEN);
	return 0;
}

int
merkle_append_nodes(const merkle_frontier_t *f, const uint8_t leaf_hash[MERKLE_HASH_LEN],
    merkle_node_t nodes[MERKLE_LEVELS], size_t *count)
{
	uint64_t n = f->size;
	unsigned level = 0;
	int rc;

	if (n >= MERKLE_MAX_SIZE)
		return CB_ETOOBIG;
	nodes[0].level = 0;
	nodes[0].index = n;
	memcpy(nodes[0].hash, leaf_hash, MERKLE_HASH_LEN);
	/* Each set low bit of n is a left sibling the new subtree completes. */
	while ((n >> level & 1) != 0) {
		if ((rc = merkle_node_hash(f->hash[level], nodes[level].hash,
		    nodes[level + 1].hash)) != 0)
			return rc;
		level++;
		nodes[level].level = level;
		nodes[level].index = n >> level;
	}
	*count = (size_t)level + 1;
	return 0;
}

void
merkle_frontier_advance(merkle_frontier_t *f, const merkle_node_t *nodes, size_t count)
{
	const merkle_node_t *top = &nodes[count - 1];

	memcpy(f->hash[top->level], top->hash, MERKLE_HASH_LEN);
	f->size++;
}

int
merkle_append(merkle_frontier_t *f, const merkle_store_t *s, const void *leaf, size_t len)
{
	merkle_node_t nodes[MERKLE_LEVELS];
	uint8_t leaf_hash[MERKLE_HASH_LEN];
	size_t count;
	int rc;

	if ((rc = merkle_leaf_hash(leaf, len, leaf_hash)) != 0 ||
	    (rc = merkle_append_nodes(f, leaf_hash, nodes, &count)) != 0)
		return rc;
	for (size_t i = 0; i < count; i++)
		if ((rc = s->put_node(s->ctx, nodes[i].level, nodes[i].index, nodes[i].hash)) != 0)
			return rc;
	merkle_frontier_advance(f, nodes, count);
	return 0;
}

/* MTH(D[start:end]) from the store (start < end). */
static int
range_hash(const merkle_store_t *s, uint64_t start, uint64_t end, uint8_t out[MERKLE_HASH_LEN])
{
	uint8_t left[MERKLE_HASH_LEN], right[MERKLE_HASH_LEN];
	uint64_t n = end - start, k;
	int rc;

	if (is_power_of_two(n) && start % n == 0)
		return get_node(s, log2_exact(n), start / n, out);
	k = split_point(n);
	if ((rc = range_hash(s, start, start + k, left)) != 0 ||
	    (rc = range_hash(s, start + k, end, right)) != 0)
		return rc;
	return merkle_node_hash(left, right, out);
}

/* Appends MTH(D[start:end]) to `proof`. */
static int
proof_add_range(const merkle_store_t *s, uint64_t start, uint64_t end, merkle_proof_t *proof)
{
	int rc;

	if (proof->len >= MERKLE_MAX_PROOF)
		return CB_EINVAL;	/* cannot happen for sizes <= MERKLE_MAX_SIZE */
	if ((rc = range_hash(s, start, end, proof->hash[proof->len])) != 0)
		return rc;
	proof->len++;
	return 0;
}

int
merkle_root(const merkle_frontier_t *f, const merkle_store_t *s, uint64_t size,
    uint8_t out[MERKLE_HASH_LEN])
{
	if (size > f->size)
		return CB_EINVAL;
	if (size == f->size)
		return merkle_frontier_root(f, out);
	if (size == 0)
		return merkle_empty_root(out);
	return range_hash(s, 0, size, out);
}

/* PATH(m, D[start:end]) of RFC 9162 §2.1.3.1, m an absolute leaf index. */
static int
path(const merkle_store_t *s, uint64_t m, uint64_t start, uint64_t end, merkle_proof_t *proof)
{
	uint64_t k;
	int rc;

	if (end - start == 1)
		return 0;
	k = split_point(end - start);
	if (m < start + k) {
		if ((rc = path(s, m, start, start + k, proof)) != 0)
			return rc;
		return proof_add_range(s, start + k, end, proof);
	}
	if ((rc = path(s, m, start + k, end, proof)) != 0)
		return rc;
	return proof_add_range(s, start, start + k, proof);
}

int
merkle_prove_inclusion(const merkle_frontier_t *f, const merkle_store_t *s, uint64_t index,
    uint64_t size, merkle_proof_t *proof)
{
	if (size > f->size || index >= size)
		return CB_EINVAL;
	proof->len = 0;
	return path(s, index, 0, size, proof);
}

/* SUBPROOF(m, D[start:end], b) of RFC 9162 §2.1.4.1, m an absolute size. */
static int
subproof(const merkle_store_t *s, uint64_t m, uint64_t start, uint64_t end, int b,
    merkle_proof_t *proof)
{
	uint64_t k;
	int rc;

	if (m == end)
		return b ? 0 : proof_add_range(s, start, end, proof);
	k = split_point(end - start);
	if (m - start <= k) {
		if ((rc = subproof(s, m, start, start + k, b, proof)) != 0)
			return rc;
		return proof_add_range(s, start + k, end, proof);
	}
	if ((rc = subproof(s, m, start + k, end, 0, proof)) != 0)
		return rc;
	return proof_add_range(s, start, start + k, proof);
}

int
merkle_prove_consistency(const merkle_frontier_t *f, const merkle_store_t *s,
    uint64_t old_size, uint64_t new_size, merkle_proof_t *proof)
{
	if (new_size > f->size || old_size > new_size)
		return CB_EINVAL;
	proof->len = 0;
	if (old_size == 0 || old_size == new_size)
		return 0;
	return subproof(s, old_size, 0, new_size, 1, proof);
}

static int
fail(const char **why, int rc, const char *reason)
{
	if (why != NULL)
		*why = reason;
	return rc;
}

int
merkle_verify_inclusion(const uint8_t leaf_hash[MERKLE_HASH_LEN], uint64_t index,
    uint64_t size, const merkle_proof_t *proof, const uint8_t root[MERKLE_HASH_LEN],
    const char **why)
{
	uint8_t r[MERKLE_HASH_LEN];
	uint64_t fn, sn;
	int rc;

	if (proof->len > MERKLE_MAX_PROOF)
		return fail(why, CB_ETOOBIG, "proof has more than 64 hashes");
	if (size > MERKLE_MAX_SIZE)
		return fail(why, CB_EMALFORMED, "tree size is above 2^63 - 1");
	/* 1. */
	if (index >= size)
		return fail(why, CB_EMALFORMED, "leaf index is not below the tree size");
	/* 2., 3. */
	fn = index;
	sn = size - 1;
	memcpy(r, leaf_hash, MERKLE_HASH_LEN);
	/* 4. */
	for (size_t i = 0; i < proof->len; i++) {
		const uint8_t *p = proof->hash[i];

		if (sn == 0)
			return fail(why, CB_ECORRUPT, "proof is longer than the path to the root");
		if ((fn & 1) != 0 || fn == sn) {
			if ((rc = merkle_node_hash(p, r, r)) != 0)
				return fail(why, rc, "hashing failed");
			if ((fn & 1) == 0)
				while ((fn & 1) == 0 && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
		} else if ((rc = merkle_node_hash(r, p, r)) != 0) {
			return fail(why, rc, "hashing failed");
		}
		fn >>= 1;
		sn >>= 1;
	}
	/* 5. */
	if (sn != 0)
		return fail(why, CB_ECORRUPT, "proof is shorter than the path to the root");
	if (CRYPTO_memcmp(r, root, MERKLE_HASH_LEN) != 0)
		return fail(why, CB_ECORRUPT, "proof does not lead to the root hash");
	return 0;
}

int
merkle_verify_consistency(uint64_t old_size, uint64_t new_size, const merkle_proof_t *proof,
    const uint8_t old_root[MERKLE_HASH_LEN], const uint8_t new_root[MERKLE_HASH_LEN],
    const char **why)
{
	uint8_t fr[MERKLE_HASH_LEN], sr[MERKLE_HASH_LEN], empty[MERKLE_HASH_LEN];
	uint64_t fn, sn;
	size_t next;
	int rc;

	if (proof->len > MERKLE_MAX_PROOF)
		return fail(why, CB_ETOOBIG, "proof has more than 64 hashes");
	if (new_size > MERKLE_MAX_SIZE)
		return fail(why, CB_EMALFORMED, "tree size is above 2^63 - 1");
	if (old_size > new_size)
		return fail(why, CB_EMALFORMED, "old tree size is above the new one");
	if (old_size == 0 || old_size == new_size) {
		if (proof->len != 0)
			return fail(why, CB_ECORRUPT, "proof must be empty for these sizes");
		if (old_size == 0 && (rc = merkle_empty_root(empty)) != 0)
			return fail(why, rc, "hashing failed");
		if (CRYPTO_memcmp(old_root, old_size == 0 ? empty : new_root,
		    MERKLE_HASH_LEN) != 0)
			return fail(why, CB_ECORRUPT, old_size == 0 ?
			    "old root is not the root of the empty tree" :
			    "the roots of two trees of the same size differ");
		return 0;
	}
	/* 1. */
	if (proof->len == 0)
		return fail(why, CB_ECORRUPT, "proof is empty");
	/* 2.: a power-of-two old tree is itself the first hash of the path. */
	next = 0;
	if (is_power_of_two(old_size))
		memcpy(fr, old_root, MERKLE_HASH_LEN);
	else
		memcpy(fr, proof->hash[next++], MERKLE_HASH_LEN);
	/* 3., 4. */
	fn = old_size - 1;
	sn = new_size - 1;
	while ((fn & 1) != 0) {
		fn >>= 1;
		sn >>= 1;
	}
	/* 5. */
	memcpy(sr, fr, MERKLE_HASH_LEN);
	/* 6. */
	for (; next < proof->len; next++) {
		const uint8_t *c = proof->hash[next];

		if (sn == 0)
			return fail(why, CB_ECORRUPT, "proof is longer than the new tree's path");
		if ((fn & 1) != 0 || fn == sn) {
			if ((rc = merkle_node_hash(c, fr, fr)) != 0 ||
			    (rc = merkle_node_hash(c, sr, sr)) != 0)
				return fail(why, rc, "hashing failed");
			if ((fn & 1) == 0)
				while ((fn & 1) == 0 && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
		} else if ((rc = merkle_node_hash(sr, c, sr)) != 0) {
			return fail(why, rc, "hashing failed");
		}
		fn >>= 1;
		sn >>= 1;
	}
	/* 7. */
	if (sn != 0)
		return fail(why, CB_ECORRUPT, "proof is shorter than the new tree's path");
	if (CRYPTO_memcmp(fr, old_root, MERKLE_HASH_LEN) != 0)
		return fail(why, CB_ECORRUPT, "proof does not lead to the old root hash");
	if (CRYPTO_memcmp(sr, new_root, MERKLE_HASH_LEN) != 0)
		return fail(why, CB_ECORRUPT, "proof does not lead to the new root hash");
	return 0;
}

/* ---- the in-memory store: one growing array of hashes per level ---- */

struct merkle_memstore {
	uint8_t		(*level[MERKLE_LEVELS])[MERKLE_HASH_LEN];
	uint64_t	 count[MERKLE_LEVELS];
	uint64_t	 cap[MERKLE_LEVELS];
};

static int
memstore_get(void *ctx, unsigned level, uint64_t index, uint8_t hash[MERKLE_HASH_LEN])
{
	merkle_memstore_t *m = ctx;

	if (level >= MERKLE_LEVELS || index >= m->count[level])
		return CB_ENOTFOUND;
	memcpy(hash, m->level[level][index], MERKLE_HASH_LEN);
	return 0;
}

static int
memstore_put(void *ctx, unsigned level, uint64_t index, const uint8_t hash[MERKLE_HASH_LEN])
{
	merkle_memstore_t *m = ctx;
	uint8_t (*bigger)[MERKLE_HASH_LEN];
	uint64_t cap;

	if (level >= MERKLE_LEVELS || index > m->count[level])
		return CB_EINVAL;
	if (index == m->cap[level]) {
		cap = m->cap[level] == 0 ? 64 : 2 * m->cap[level];
		if (cap > SIZE_MAX / MERKLE_HASH_LEN ||
		    (bigger = realloc(m->level[level], (size_t)cap * MERKLE_HASH_LEN)) == NULL)
			return CB_ENOMEM;
		m->level[level] = bigger;
		m->cap[level] = cap;
	}
	memcpy(m->level[level][index], hash, MERKLE_HASH_LEN);
	if (index == m->count[level])
		m->count[level]++;
	return 0;
}

merkle_memstore_t *
merkle_memstore_new(void)
{
	return calloc(1, sizeof(merkle_memstore_t));
}

void
merkle_memstore_backend(merkle_memstore_t *m, merkle_store_t *s)
{
	s->ctx = m;
	s->get_node = memstore_get;
	s->put_node = memstore_put;
}

void
merkle_memstore_free(merkle_memstore_t *m)
{
	if (m == NULL)
		return;
	for (unsigned l = 0; l < MERKLE_LEVELS; l++)
		free(m->level[l]);
	free(m);
}

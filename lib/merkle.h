/* lib/merkle.h — RFC 9162 Merkle tree hashing, an incremental tree over an abstract node
 * store, inclusion and consistency proofs and their verification.
 *
 * leaf hash = SHA-256(0x00 || leaf), node hash = SHA-256(0x01 || left || right), the root
 * of the empty tree is SHA-256(""), and a tree of n leaves splits at the largest power of
 * two below n (RFC 9162 §2.1.1).
 *
 * A node is addressed by (level, index): the root of the perfect subtree over leaves
 * [index * 2^level, (index + 1) * 2^level). Level 0 holds the leaf hashes. A node is
 * written once, when its subtree is complete, and never changes, so a store can append
 * nodes in the transaction that appends the leaves. The frontier of a tree of size n is the
 * popcount(n) nodes (b, (n >> b) - 1) for every bit b set in n: the roots of the perfect
 * subtrees the tree is made of, from which its root follows. Appending a leaf writes the
 * leaf node and the nodes it completes (one on average, at most MERKLE_LEVELS) and changes
 * one frontier entry.
 *
 * Invariants: (1) sizes are at most MERKLE_MAX_SIZE, so a tree has at most MERKLE_LEVELS
 * levels below its root and no proof is longer than MERKLE_MAX_PROOF hashes; (2) a
 * frontier changes only after every node of an append was stored; (3) proofs and roots
 * for any size up to the frontier's are computed from stored nodes alone; (4) the
 * verification functions follow RFC 9162 §2.1.3.2 and §2.1.4.2 step by step and bound
 * every input before using it. */
#ifndef CB_MERKLE_H
#define CB_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define MERKLE_HASH_LEN		32
#define MERKLE_LEVELS		63			/* levels 0..62 hold stored nodes */
#define MERKLE_MAX_SIZE		((uint64_t)INT64_MAX)	/* 2^63 - 1 leaves */
#define MERKLE_MAX_PROOF	64			/* hashes in any proof */

/* A stored node: the root of the perfect subtree (level, index). */
typedef struct merkle_node {
	unsigned	level;
	uint64_t	index;
	uint8_t		hash[MERKLE_HASH_LEN];
} merkle_node_t;

/* Where nodes live. get_node fills `hash` and returns 0, CB_ENOTFOUND when the node was
 * never stored, or an error of its own (CB_ESTORE ...) that is passed back to the caller.
 * put_node stores a node and returns 0 or an error that is passed back. `ctx` is the
 * backend's own (an LMDB transaction and database, a merkle_memstore_t ...). */
typedef struct merkle_store {
	void	*ctx;
	int	(*get_node)(void *ctx, unsigned level, uint64_t index,
		    uint8_t hash[MERKLE_HASH_LEN]);
	int	(*put_node)(void *ctx, unsigned level, uint64_t index,
		    const uint8_t hash[MERKLE_HASH_LEN]);
} merkle_store_t;

/* The state kept in memory: the size and, for every bit b set in it, hash[b], the root of
 * the perfect subtree of 2^b leaves at that place. A plain value: copy it to work on a
 * batch and copy it back after the commit. */
typedef struct merkle_frontier {
	uint64_t	size;
	uint8_t		hash[MERKLE_LEVELS][MERKLE_HASH_LEN];
} merkle_frontier_t;

/* A proof: `len` hashes, the first the nearest to the leaf (or the old tree). */
typedef struct merkle_proof {
	size_t		len;
	uint8_t		hash[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
} merkle_proof_t;

/* The position of node (level, index) in the order appends complete nodes: 0, 1, 2, ...
 * with no gap, so a store that keys nodes by it (8 bytes big-endian) only ever appends
 * (MDB_APPEND, full pages). The node completes when leaf (index + 1) * 2^level - 1 is
 * appended. `level` below MERKLE_LEVELS and the node inside a tree of at most
 * MERKLE_MAX_SIZE leaves; cannot fail. */
uint64_t merkle_node_seq(unsigned level, uint64_t index);

/* Hashing. Each returns 0, CB_ENOMEM or CB_ECRYPTO. */
int	merkle_leaf_hash(const void *leaf, size_t len, uint8_t out[MERKLE_HASH_LEN])
    __attribute__((warn_unused_result));
int	merkle_node_hash(const uint8_t left[MERKLE_HASH_LEN],
    const uint8_t right[MERKLE_HASH_LEN], uint8_t out[MERKLE_HASH_LEN])
    __attribute__((warn_unused_result));
int	merkle_empty_root(uint8_t out[MERKLE_HASH_LEN]) __attribute__((warn_unused_result));

/* Makes `f` the frontier of the empty tree. Cannot fail. */
void	merkle_frontier_init(merkle_frontier_t *f);
/* Loads the frontier of a tree of `size` leaves from `s` (popcount(size) reads). Returns
 * 0; CB_EINVAL (size above MERKLE_MAX_SIZE); CB_ECORRUPT when a node is missing; or the
 * store's error. `f` is unchanged on failure. */
int	merkle_frontier_load(merkle_frontier_t *f, const merkle_store_t *s, uint64_t size)
    __attribute__((warn_unused_result));
/* The root of the tree `f` describes. Returns 0, CB_ENOMEM or CB_ECRYPTO. */
int	merkle_frontier_root(const merkle_frontier_t *f, uint8_t out[MERKLE_HASH_LEN])
    __attribute__((warn_unused_result));

/* The nodes that appending a leaf whose hash is `leaf_hash` to the tree `f` completes, in
 * nodes[0..*count): the leaf node first, then each new parent, the highest last. Leaves
 * `f` as it is. Returns 0, CB_ETOOBIG (the tree holds MERKLE_MAX_SIZE leaves), CB_ENOMEM
 * or CB_ECRYPTO. */
int	merkle_append_nodes(const merkle_frontier_t *f, const uint8_t leaf_hash[MERKLE_HASH_LEN],
    merkle_node_t nodes[MERKLE_LEVELS], size_t *count) __attribute__((warn_unused_result));
/* Moves `f` one leaf on, given what merkle_append_nodes(f, ...) returned for it. Cannot
 * fail. */
void	merkle_frontier_advance(merkle_frontier_t *f, const merkle_node_t *nodes, size_t count);
/* Appends one leaf: hashes it, puts its nodes into `s`, then advances `f`. Returns 0,
 * CB_ETOOBIG, CB_ENOMEM, CB_ECRYPTO or the store's error; `f` is unchanged on failure
 * (nodes already put belong to the caller's transaction, to abort). */
int	merkle_append(merkle_frontier_t *f, const merkle_store_t *s, const void *leaf,
    size_t len) __attribute__((warn_unused_result));

/* The root of the tree of the first `size` leaves of the tree `f` describes, from `s`.
 * Returns 0; CB_EINVAL (size > f->size); CB_ECORRUPT (a node is missing); CB_ENOMEM,
 * CB_ECRYPTO or the store's error. */
int	merkle_root(const merkle_frontier_t *f, const merkle_store_t *s, uint64_t size,
    uint8_t out[MERKLE_HASH_LEN]) __attribute__((warn_unused_result));
/* The inclusion proof of leaf `index` in the tree of the first `size` leaves (RFC 9162
 * §2.1.3.1). Returns 0; CB_EINVAL (index >= size or size > f->size); CB_ECORRUPT;
 * CB_ENOMEM, CB_ECRYPTO or the store's error. */
int	merkle_prove_inclusion(const merkle_frontier_t *f, const merkle_store_t *s,
    uint64_t index, uint64_t size, merkle_proof_t *proof) __attribute__((warn_unused_result));
/* The consistency proof from the first `old_size` leaves to the first `new_size` (RFC
 * 9162 §2.1.4.1); empty when old_size is 0 or equals new_size. Returns 0; CB_EINVAL
 * (old_size > new_size or new_size > f->size); CB_ECORRUPT; CB_ENOMEM, CB_ECRYPTO or the
 * store's error. */
int	merkle_prove_consistency(const merkle_frontier_t *f, const merkle_store_t *s,
    uint64_t old_size, uint64_t new_size, merkle_proof_t *proof)
    __attribute__((warn_unused_result));

/* Verification of proofs from outside (RFC 9162 §2.1.3.2 and §2.1.4.2). Each returns 0
 * when the proof holds; CB_ETOOBIG (more than MERKLE_MAX_PROOF hashes); CB_EMALFORMED
 * (index >= size, a size above MERKLE_MAX_SIZE, old_size > new_size); CB_ECORRUPT (the
 * proof does not hold: wrong length or a hash that does not lead to the root); CB_ENOMEM
 * or CB_ECRYPTO (it could not tell). `why`, which may be NULL, is set to a static text
 * naming the reason of any failure. */
int	merkle_verify_inclusion(const uint8_t leaf_hash[MERKLE_HASH_LEN], uint64_t index,
    uint64_t size, const merkle_proof_t *proof, const uint8_t root[MERKLE_HASH_LEN],
    const char **why) __attribute__((warn_unused_result));
/* A consistency proof from size 0 must be empty and old_root the empty tree's root; from
 * old_size == new_size, empty with equal roots. */
int	merkle_verify_consistency(uint64_t old_size, uint64_t new_size,
    const merkle_proof_t *proof, const uint8_t old_root[MERKLE_HASH_LEN],
    const uint8_t new_root[MERKLE_HASH_LEN], const char **why)
    __attribute__((warn_unused_result));

/* An in-memory node store (the auditor's tree over a log copy, tests, tools). */
typedef struct merkle_memstore merkle_memstore_t;

/* Returns a new empty store, or NULL when out of memory. */
merkle_memstore_t *merkle_memstore_new(void);
/* Fills `s` with callbacks over `m`, borrowed until merkle_memstore_free(m). A put at an
 * index beyond the next one of its level is CB_EINVAL; a put over a stored node replaces
 * it. Cannot fail. */
void	merkle_memstore_backend(merkle_memstore_t *m, merkle_store_t *s);
/* Frees the store. Accepts NULL. */
void	merkle_memstore_free(merkle_memstore_t *m);

#endif

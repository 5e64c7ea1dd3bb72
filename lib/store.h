/* lib/store.h — the broker's durable state in LMDB: the audit log and its indexes.
 *
 * Databases in one environment (DATA_DIR/data.mdb):
 *   log      be64 seq            -> entry hash (32) || packed LogEntry
 *   msgid    message id (16)     -> be64 seq          (dedup, permanent)
 *   backlog  unit '\0' be64 seq  -> ""                (undelivered or unacknowledged)
 *   regidx   be64 seq            -> ""                (entries that change the registry)
 *   merkle   be64 node seq       -> node hash (32)    (the RFC 9162 tree over the log, by
 *                                 merkle_node_seq(level, index): appended, never rewritten)
 *   checkpoints be64 tree size  -> be64 time_ms || 8-byte broker key id || signed note
 *                                 (broker/ckpt.c: the checkpoints it signed)
 *   obligations, deadlines        broker workflow state (broker/workflow.c), kept here so
 *                                 that it commits atomically with the entries changing it
 *   match                         blind-token posting lists and match state
 *                                 (broker/match.c), likewise
 *
 * Invariants: (1) seq starts at 1 and has no gaps; (2) entry[n].prev_hash == hash(n-1);
 * (3) every recipient of an appended entry has it in its backlog until it acks; (4) the
 * in-memory head moves only after mdb_txn_commit() succeeded; (5) every commit is durable
 * (no MDB_NOSYNC / MDB_NOMETASYNC, ever); (6) the Merkle tree's leaf i is log entry seq
 * i + 1, the leaf bytes are the packed LogEntry (the stored value without its leading
 * entry hash), so tree size == head seq; its nodes are written in the transaction that
 * appends the entry and the in-memory frontier moves with the head, only after the commit.
 * A log written without nodes gets them built once, in one transaction, when it is opened
 * writable. */
#ifndef CB_STORE_H
#define CB_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "chain.h"
#include "cluebus.pb-c.h"
#include "merkle.h"

#define STORE_RDONLY	0x1

typedef struct store store_t;
typedef struct store_txn store_txn_t;

/* Opens (creating when writable) the store in directory `dir`. `map_size` 0 means 1 GiB.
 * Reads the head (last seq and hash). Returns 0, CB_EIO, CB_ESTORE or CB_ECORRUPT. */
int	store_open(const char *dir, int flags, size_t map_size, store_t **out)
    __attribute__((warn_unused_result));
/* Closes the store. Accepts NULL. No transaction may be open. */
void	store_close(store_t *s);
/* Drops this process's mappings of the log's pages (they stay in the kernel's page cache).
 * LMDB reads and copies pages through its map, so a long-running writer or a reader of a
 * long backlog would otherwise count the whole log it touched in its RSS. Call between
 * transactions, at most every second or so. Cannot fail. */
void	store_trim(store_t *s);

/* How much of the map the store uses: map_size is the map's current size, used_bytes the
 * pages in use up to the last one written (LMDB's high-water mark: the file's data size).
 * Cannot fail. */
struct store_usage {
	size_t		 map_size;
	size_t		 used_bytes;
};
void	store_usage(const store_t *s, struct store_usage *u);

/* Sets the map's size (to grow it toward a ceiling). No transaction of this process may
 * be open. Returns 0 or CB_ESTORE (the map is unchanged). */
int	store_set_map_size(store_t *s, size_t size) __attribute__((warn_unused_result));
/* Writes a consistent, compacted copy of the environment (one read transaction: a
 * snapshot of the last commit) to DIR/data.mdb; DIR must exist and hold no data.mdb. May
 * run while another process writes. Returns 0, CB_EEXIST, CB_EIO (errno-like: the
 * directory, space) or CB_ESTORE; a failed copy may leave a partial DIR/data.mdb. */
int	store_copy(store_t *s, const char *dir) __attribute__((warn_unused_result));

/* The committed head: seq of the last entry (0 when empty) and its hash (zeros when
 * empty, borrowed until the next commit). Cannot fail. */
uint64_t store_head_seq(const store_t *s);
const uint8_t *store_head_hash(const store_t *s);

/* Begins the single write transaction. Returns 0 or CB_ESTORE. */
int	store_begin(store_t *s, store_txn_t **out) __attribute__((warn_unused_result));
/* Appends `e` after the transaction's pending head: sets e->seq and e->prev_hash
 * (e->prev_hash borrows the transaction's buffer until the next append or the end of the
 * transaction), packs it, stores it, indexes `msgid` (16 bytes, or NULL), indexes it as a
 * registry entry when `registry` is set, and adds it to the backlog of every unit in
 * e->recipients. Writes the new entry's hash to `hash`. Returns 0, CB_ENOMEM, CB_ECRYPTO or
 * CB_ESTORE (the transaction must then be aborted). */
int	store_txn_append(store_txn_t *t, Cluebus__LogEntry *e, const uint8_t *msgid,
    int registry, uint8_t hash[CHAIN_HASH_LEN]) __attribute__((warn_unused_result));
/* Looks a message id up, seeing this transaction's own appends. Returns 0 with *seq,
 * CB_ENOTFOUND or CB_ESTORE. */
int	store_txn_msgid_get(store_txn_t *t, const uint8_t *msgid, uint64_t *seq)
    __attribute__((warn_unused_result));
/* Reads log[seq] as this transaction sees it; *val is borrowed until the transaction ends.
 * Returns 0, CB_ENOTFOUND or CB_ESTORE. */
int	store_txn_get(store_txn_t *t, uint64_t seq, const uint8_t **val, size_t *len)
    __attribute__((warn_unused_result));
/* Removes from `unit`'s backlog every seq <= upto, writing at most `cap` removed seqs to
 * `seqs` (stops there; call again for the rest) and their count to *n. Returns 0 or
 * CB_ESTORE. */
int	store_txn_backlog_ack(store_txn_t *t, const char *unit, uint64_t upto, uint64_t *seqs,
    size_t cap, size_t *n) __attribute__((warn_unused_result));
/* The seq the next append will get. Cannot fail. */
uint64_t store_txn_next_seq(const store_txn_t *t);
/* Commits (one fsync'ed LMDB commit) and frees `t`; on success the head advances.
 * Returns 0 or CB_ESTORE (nothing was written, head unchanged). */
int	store_txn_commit(store_txn_t *t) __attribute__((warn_unused_result));
/* Aborts and frees `t`. Accepts NULL. Head unchanged. */
void	store_txn_abort(store_txn_t *t);

/* Auxiliary key-value databases of the same environment. */
enum store_aux {
	STORE_OBLIGATIONS,
	STORE_DEADLINES,
	STORE_DUTIES,		/* report duties (broker/duties.c) */
	STORE_CASES,		/* broker/cases.c: case records, withdrawn messages */
	STORE_MATCH,		/* blind-token posting lists (broker/match.c) */
	STORE_CHECKPOINTS,	/* be64 tree size -> a signed checkpoint (broker/ckpt.c) */
	STORE_NAUX
};

/* Called with a key and value, both valid only during the call. A non-zero return stops
 * the walk and is returned by the walker. */
typedef int (*store_kv_fn)(void *arg, const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen);

/* Puts, gets (borrowed until the transaction ends) or deletes (absent is fine) a record of
 * an auxiliary database in the write transaction. Return 0, CB_ENOTFOUND (get) or
 * CB_ESTORE. */
int	store_txn_aux_put(store_txn_t *t, enum store_aux db, const void *key, size_t klen,
    const void *val, size_t vlen) __attribute__((warn_unused_result));
int	store_txn_aux_get(store_txn_t *t, enum store_aux db, const void *key, size_t klen,
    const uint8_t **val, size_t *vlen) __attribute__((warn_unused_result));
int	store_txn_aux_del(store_txn_t *t, enum store_aux db, const void *key, size_t klen)
    __attribute__((warn_unused_result));
/* Puts a record whose key sorts after every key of the database (LMDB's MDB_APPEND: no
 * search, and full pages). Returns 0, CB_EEXIST (the key does not sort last) or CB_ESTORE. */
int	store_txn_aux_append(store_txn_t *t, enum store_aux db, const void *key, size_t klen,
    const void *val, size_t vlen) __attribute__((warn_unused_result));
/* Puts `n` records of `klen`-byte keys, contiguous in `keys` and in ascending order, each
 * with the value `val`, through one cursor (a key on the page of the one before needs no
 * search from the root). Returns 0 or CB_ESTORE. */
int	store_txn_aux_put_sorted(store_txn_t *t, enum store_aux db, const uint8_t *keys,
    size_t klen, size_t n, const void *val, size_t vlen) __attribute__((warn_unused_result));
/* Walks, in key order, the records whose key starts with the first `prefix_len` bytes of
 * `from` and is >= `from`. The callback must not modify the database. */
int	store_txn_aux_walk(store_txn_t *t, enum store_aux db, const void *from, size_t fromlen,
    size_t prefix_len, store_kv_fn fn, void *arg);
/* The same over committed data, in its own read transaction. */
int	store_aux_walk(store_t *s, enum store_aux db, const void *from, size_t fromlen,
    size_t prefix_len, store_kv_fn fn, void *arg);

/* Copies out the last record (highest key) of `db` in committed data: *key and *val are
 * new (the caller frees both; *val has a NUL after its *vlen bytes). Returns 0,
 * CB_ENOTFOUND (empty), CB_ENOMEM or CB_ESTORE. */
int	store_aux_last(store_t *s, enum store_aux db, uint8_t **key, size_t *klen, uint8_t **val,
    size_t *vlen) __attribute__((warn_unused_result));

/* Called with a stored log value (hash || packed LogEntry), valid only during the call.
 * A non-zero return stops the walk and is returned by the walker. */
typedef int (*store_value_fn)(void *arg, uint64_t seq, const uint8_t *val, size_t len);

/* Copies out the stored value of log[seq] (caller frees). Returns 0, CB_ENOTFOUND,
 * CB_ENOMEM or CB_ESTORE. */
int	store_get(store_t *s, uint64_t seq, uint8_t **val, size_t *len)
    __attribute__((warn_unused_result));
/* Looks a message id up in committed data. Returns 0, CB_ENOTFOUND or CB_ESTORE. */
int	store_msgid_get(store_t *s, const uint8_t *msgid, uint64_t *seq)
    __attribute__((warn_unused_result));
/* Walks log entries with seq >= from in order. */
int	store_walk(store_t *s, uint64_t from, store_value_fn fn, void *arg);
/* store_walk of the entries with from <= seq <= to, in its own read transaction (so it may
 * run on several threads at once, each over its own range). */
int	store_walk_range(store_t *s, uint64_t from, uint64_t to, store_value_fn fn, void *arg);
/* Walks the registry entries in order. */
int	store_walk_registry(store_t *s, store_value_fn fn, void *arg);
/* Walks at most `max` backlog entries of `unit` with seq > after, in order. */
int	store_walk_backlog(store_t *s, const char *unit, uint64_t after, size_t max,
    store_value_fn fn, void *arg);
/* Counts `unit`'s backlog. Returns 0 or CB_ESTORE. */
int	store_backlog_depth(store_t *s, const char *unit, uint64_t *n)
    __attribute__((warn_unused_result));

/* The committed tree's size (head seq; 0 for a read-only copy of a log written without
 * the tree). Cannot fail. */
uint64_t store_tree_size(const store_t *s);
/* The root of the tree of entries 1..size, size <= the committed head, from the stored
 * nodes, in a read transaction of its own. Returns 0; CB_EINVAL (size beyond the head);
 * CB_ECORRUPT (a node is missing or malformed); CB_ENOMEM, CB_ECRYPTO or CB_ESTORE. */
int	store_tree_root(store_t *s, uint64_t size, uint8_t root[MERKLE_HASH_LEN])
    __attribute__((warn_unused_result));
/* The inclusion proof of entry `seq` (leaf seq - 1) in the tree of size `size`, and that
 * tree's root. Returns as store_tree_root, CB_EINVAL also for seq 0 or seq > size. */
int	store_prove_inclusion(store_t *s, uint64_t seq, uint64_t size, merkle_proof_t *proof,
    uint8_t root[MERKLE_HASH_LEN]) __attribute__((warn_unused_result));
/* The consistency proof from tree size `old_size` to `new_size` and both roots. Returns as
 * store_tree_root, CB_EINVAL also for old_size > new_size. */
int	store_prove_consistency(store_t *s, uint64_t old_size, uint64_t new_size,
    merkle_proof_t *proof, uint8_t old_root[MERKLE_HASH_LEN],
    uint8_t new_root[MERKLE_HASH_LEN]) __attribute__((warn_unused_result));
/* Called with a stored node's key (merkle_node_seq) and value (its hash, `len` bytes when
 * intact), valid only during the call. A non-zero return stops the walk and is returned. */
typedef int (*store_node_fn)(void *arg, uint64_t node_seq, const uint8_t *hash, size_t len);
/* Walks the stored tree nodes in key order, in a read transaction of its own. */
int	store_walk_tree(store_t *s, store_node_fn fn, void *arg);

/* The stored tree nodes beside a walk of the log (store_walk_range_tree): a cursor in the
 * walk's read transaction, borrowed by its callback for the call. */
typedef struct store_nodes store_nodes_t;
/* The next stored node in key order: 0 with its key and value (valid until the next call
 * or the end of the callback), CB_ENOTFOUND past the last node (or when the store keeps no
 * tree), CB_ECORRUPT (a key that is not 8 bytes) or CB_ESTORE. */
int	store_nodes_next(store_nodes_t *n, uint64_t *node_seq, const uint8_t **hash, size_t *len)
    __attribute__((warn_unused_result));
typedef int (*store_tree_value_fn)(void *arg, uint64_t seq, const uint8_t *val, size_t len,
    store_nodes_t *nodes);
/* store_walk_range with the stored tree beside it, in one read transaction: `f` (may be
 * NULL) is first loaded with the frontier of the tree of the from - 1 entries before the
 * range, from the stored nodes, and the callback gets a cursor whose first node is the
 * first one entry `from` completes (merkle_node_seq(0, from - 1)). Returns as store_walk;
 * CB_ECORRUPT also when a node of that frontier is missing or the store keeps no tree
 * (and from > 1). */
int	store_walk_range_tree(store_t *s, uint64_t from, uint64_t to, merkle_frontier_t *f,
    store_tree_value_fn fn, void *arg);

#endif

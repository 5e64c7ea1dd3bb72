/* tests/unit/test_store_tree.c — the Merkle tree the store keeps over its log.
 *
 * Each test opens a fresh store in a mkdtemp directory and appends small LogEntry records.
 * What must hold (store.h invariant 6): leaf i is the packed entry seq i + 1; after every
 * commit the stored tree's root, for every size up to the head, equals the root an
 * independent in-memory tree (merkle_memstore) computes over the same packed entries; an
 * aborted or failed transaction leaves no nodes and the tree as it was; a reopened store
 * has the same root without rebuilding; a log written without nodes gets them at its first
 * writable open, and a read-only open of it (without a merkle database) has an empty tree. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "audit.h"
#include "cluebus/err.h"
#include "cluebus.pb-c.h"
#include "merkle.h"
#include "store.h"
#include "util.h"

struct fixture {
	char			 dir[64];
	store_t			*s;
	merkle_memstore_t	*mem;
	merkle_store_t		 ms;
	merkle_frontier_t	 f;	/* the independent tree over the committed entries */
};

static void
rm_dir(const char *dir)
{
	struct dirent *de;
	char path[1024];
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static int
fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/cb-test-tree.XXXXXX");
	if (mkdtemp(f->dir) == NULL || store_open(f->dir, 0, 0, &f->s) != 0 ||
	    (f->mem = merkle_memstore_new()) == NULL) {
		store_close(f->s);
		rm_dir(f->dir);
		free(f);
		return -1;
	}
	merkle_memstore_backend(f->mem, &f->ms);
	merkle_frontier_init(&f->f);
	*state = f;
	return 0;
}

static int
fixture_teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->s);
	merkle_memstore_free(f->mem);
	rm_dir(f->dir);
	free(f);
	return 0;
}

/* Appends `n` entries in one transaction and commits (or aborts when `abort_it`). */
static void
append_entries(struct fixture *f, size_t n, int abort_it)
{
	store_txn_t *t;
	uint8_t hash[CHAIN_HASH_LEN];

	assert_int_equal(store_begin(f->s, &t), 0);
	for (size_t i = 0; i < n; i++) {
		Cluebus__LogEntry e = CLUEBUS__LOG_ENTRY__INIT;

		e.time_ms = 1772325000000LL + (int64_t)store_txn_next_seq(t);
		e.type = CLUEBUS__ENTRY_TYPE__ENTRY_MESSAGE;
		assert_int_equal(store_txn_append(t, &e, NULL, 0, hash), 0);
	}
	if (abort_it)
		store_txn_abort(t);
	else
		assert_int_equal(store_txn_commit(t), 0);
}

/* Feeds the committed entries past the independent tree's size into it. */
static void
mirror_entries(struct fixture *f)
{
	while (f->f.size < store_head_seq(f->s)) {
		uint8_t *val;
		size_t len;

		assert_int_equal(store_get(f->s, f->f.size + 1, &val, &len), 0);
		assert_true(len > CHAIN_HASH_LEN);
		assert_int_equal(merkle_append(&f->f, &f->ms, val + CHAIN_HASH_LEN,
		    len - CHAIN_HASH_LEN), 0);
		free(val);
	}
}

/* The store's root of `size` equals the independent tree's. */
static void
assert_root_matches(struct fixture *f, uint64_t size)
{
	uint8_t got[MERKLE_HASH_LEN], want[MERKLE_HASH_LEN];

	assert_int_equal(store_tree_root(f->s, size, got), 0);
	assert_int_equal(merkle_root(&f->f, &f->ms, size, want), 0);
	assert_memory_equal(got, want, MERKLE_HASH_LEN);
}

/* The number of nodes in the store's `merkle` database, read through LMDB directly (the
 * store closed). */
static size_t
stored_nodes(const char *dir)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_stat st;

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, dir, MDB_NOTLS, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "merkle", 0, &dbi), 0);
	assert_int_equal(mdb_stat(txn, dbi, &st), 0);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return st.ms_entries;
}

static size_t
nodes_for(uint64_t n)
{
	return (size_t)(2 * n - (uint64_t)__builtin_popcountll(n));
}

static void
test_root_after_each_append_equals_an_in_memory_tree_up_to_300(void **state)
{
	struct fixture *f = *state;

	for (uint64_t n = 1; n <= 300; n++) {
		append_entries(f, 1, 0);
		mirror_entries(f);
		assert_int_equal(store_tree_size(f->s), n);
		assert_root_matches(f, n);
	}
	for (uint64_t size = 1; size <= 300; size++)
		assert_root_matches(f, size);
}

static void
test_batched_appends_give_the_same_tree_as_single_ones(void **state)
{
	struct fixture *f = *state;

	for (size_t batch = 1; batch <= 40; batch += 7) {
		append_entries(f, batch, 0);
		mirror_entries(f);
		assert_root_matches(f, store_head_seq(f->s));
	}
	for (uint64_t size = 1; size <= store_head_seq(f->s); size++)
		assert_root_matches(f, size);
}

static void
test_root_beyond_the_head_is_refused(void **state)
{
	struct fixture *f = *state;
	uint8_t root[MERKLE_HASH_LEN], empty[MERKLE_HASH_LEN];

	assert_int_equal(store_tree_root(f->s, 0, root), 0);
	assert_int_equal(merkle_empty_root(empty), 0);
	assert_memory_equal(root, empty, MERKLE_HASH_LEN);
	append_entries(f, 3, 0);
	assert_int_equal(store_tree_root(f->s, 4, root), CB_EINVAL);
}

static void
test_proofs_from_the_store_verify(void **state)
{
	struct fixture *f = *state;
	uint8_t root[MERKLE_HASH_LEN], old_root[MERKLE_HASH_LEN], leaf[MERKLE_HASH_LEN];
	merkle_proof_t proof;

	append_entries(f, 77, 0);
	mirror_entries(f);
	for (uint64_t size = 1; size <= 77; size += 5) {
		for (uint64_t seq = 1; seq <= size; seq += 3) {
			uint8_t *val;
			size_t len;

			assert_int_equal(store_prove_inclusion(f->s, seq, size, &proof, root), 0);
			assert_int_equal(store_get(f->s, seq, &val, &len), 0);
			assert_int_equal(merkle_leaf_hash(val + CHAIN_HASH_LEN,
			    len - CHAIN_HASH_LEN, leaf), 0);
			free(val);
			assert_int_equal(merkle_verify_inclusion(leaf, seq - 1, size, &proof,
			    root, NULL), 0);
		}
		assert_int_equal(store_prove_consistency(f->s, size, 77, &proof, old_root,
		    root), 0);
		assert_int_equal(merkle_verify_consistency(size, 77, &proof, old_root, root,
		    NULL), 0);
	}
	assert_int_equal(store_prove_inclusion(f->s, 0, 5, &proof, root), CB_EINVAL);
	assert_int_equal(store_prove_inclusion(f->s, 6, 5, &proof, root), CB_EINVAL);
	assert_int_equal(store_prove_consistency(f->s, 6, 5, &proof, old_root, root),
	    CB_EINVAL);
}

static void
test_an_aborted_transaction_leaves_no_nodes_and_the_tree_unchanged(void **state)
{
	struct fixture *f = *state;
	uint8_t before[MERKLE_HASH_LEN], after[MERKLE_HASH_LEN];

	append_entries(f, 5, 0);
	assert_int_equal(store_tree_root(f->s, 5, before), 0);
	append_entries(f, 3, 1);
	assert_int_equal(store_tree_size(f->s), 5);
	assert_int_equal(store_tree_root(f->s, 5, after), 0);
	assert_memory_equal(before, after, MERKLE_HASH_LEN);
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(stored_nodes(f->dir), nodes_for(5));
	assert_int_equal(store_open(f->dir, 0, 0, &f->s), 0);
	append_entries(f, 4, 0);
	mirror_entries(f);
	assert_root_matches(f, 9);
}

static void
test_a_failed_commit_leaves_the_tree_unchanged(void **state)
{
	struct fixture *f = *state;
	store_txn_t *t;
	uint8_t hash[CHAIN_HASH_LEN];
	Cluebus__LogEntry e = CLUEBUS__LOG_ENTRY__INIT;

#ifndef CLUEBUS_TEST_HOOKS
	skip();		/* the failed commit is a test build's hook (`make test` builds one) */
#endif
	store_close(f->s);
	setenv("CLUEBUS_TEST_FAIL_COMMIT", "2", 1);
	assert_int_equal(store_open(f->dir, 0, 0, &f->s), 0);
	unsetenv("CLUEBUS_TEST_FAIL_COMMIT");
	append_entries(f, 2, 0);
	assert_int_equal(store_begin(f->s, &t), 0);
	assert_int_equal(store_txn_append(t, &e, NULL, 0, hash), 0);
	assert_int_not_equal(store_txn_commit(t), 0);
	assert_int_equal(store_tree_size(f->s), 2);
	append_entries(f, 3, 0);
	mirror_entries(f);
	assert_int_equal(store_tree_size(f->s), 5);
	assert_root_matches(f, 5);
	assert_root_matches(f, 2);
}

static void
test_a_reopened_store_has_the_same_root(void **state)
{
	struct fixture *f = *state;
	uint8_t before[MERKLE_HASH_LEN], after[MERKLE_HASH_LEN];

	append_entries(f, 123, 0);
	assert_int_equal(store_tree_root(f->s, 123, before), 0);
	store_close(f->s);
	assert_int_equal(store_open(f->dir, 0, 0, &f->s), 0);
	assert_int_equal(store_tree_size(f->s), 123);
	assert_int_equal(store_tree_root(f->s, 123, after), 0);
	assert_memory_equal(before, after, MERKLE_HASH_LEN);
	append_entries(f, 1, 0);
	mirror_entries(f);
	assert_root_matches(f, 124);
}

/* Deletes the `merkle` database, as a log written before the tree has none. */
static void
drop_nodes(const char *dir)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, dir, MDB_NOTLS, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "merkle", 0, &dbi), 0);
	assert_int_equal(mdb_drop(txn, dbi, 1), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void
test_a_log_without_nodes_gets_them_built_at_open(void **state)
{
	struct fixture *f = *state;
	uint8_t root[MERKLE_HASH_LEN];

	append_entries(f, 50, 0);
	append_entries(f, 21, 0);
	mirror_entries(f);
	store_close(f->s);
	f->s = NULL;
	drop_nodes(f->dir);

	assert_int_equal(store_open(f->dir, STORE_RDONLY, 0, &f->s), 0);
	assert_int_equal(store_head_seq(f->s), 71);
	assert_int_equal(store_tree_size(f->s), 0);
	assert_int_equal(store_tree_root(f->s, 1, root), CB_ECORRUPT);
	store_close(f->s);

	assert_int_equal(store_open(f->dir, 0, 0, &f->s), 0);
	assert_int_equal(store_tree_size(f->s), 71);
	for (uint64_t size = 1; size <= 71; size++)
		assert_root_matches(f, size);
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(stored_nodes(f->dir), nodes_for(71));
	assert_int_equal(store_open(f->dir, 0, 0, &f->s), 0);
	append_entries(f, 2, 0);
	mirror_entries(f);
	assert_root_matches(f, 73);
}

/* Appends n ack entries (entries that pass the chain-only walk's structure checks). */
static void
append_acks(struct fixture *f, size_t n)
{
	store_txn_t *t;
	uint8_t hash[CHAIN_HASH_LEN];
	uint64_t seq = 1;

	assert_int_equal(store_begin(f->s, &t), 0);
	for (size_t i = 0; i < n; i++) {
		Cluebus__LogEntry e = CLUEBUS__LOG_ENTRY__INIT;
		Cluebus__DeliveryAck ack = CLUEBUS__DELIVERY_ACK__INIT;

		ack.unit = "psb";
		ack.seqs = &seq;
		ack.n_seqs = 1;
		e.time_ms = 1772325000000LL + (int64_t)store_txn_next_seq(t);
		e.type = CLUEBUS__ENTRY_TYPE__ENTRY_ACK;
		e.ack = &ack;
		assert_int_equal(store_txn_append(t, &e, NULL, 0, hash), 0);
	}
	assert_int_equal(store_txn_commit(t), 0);
}

/* Puts a node past the tree of `size` into the merkle database. */
static void
add_extra_node(const char *dir, uint64_t size)
{
	uint8_t key[8], hash[MERKLE_HASH_LEN] = { 0 };
	MDB_val k = { 8, key }, v = { MERKLE_HASH_LEN, hash };
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	be64_put(key, nodes_for(size));
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, dir, MDB_NOTLS, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "merkle", 0, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void
expect_verifies(store_t *s, int sigs_threads, uint64_t n, int stored, const uint8_t *root)
{
	audit_result_t res;
	char threads[8];

	snprintf(threads, sizeof(threads), "%d", sigs_threads);
	setenv("CLUEBUS_VERIFY_THREADS", threads, 1);
	assert_int_equal(audit_verify(s, NULL, 0, &res), 0);
	unsetenv("CLUEBUS_VERIFY_THREADS");
	assert_int_equal(res.entries, n);
	assert_int_equal(res.tree_stored, stored);
	assert_memory_equal(res.root, root, MERKLE_HASH_LEN);
	assert_int_equal(res.nchecks, 2);
	assert_string_equal(res.checks[1].name, "tree");
	assert_int_equal(res.checks[1].count, stored ? nodes_for(n) : n);
}

static void
test_verify_recomputes_the_root_and_compares_every_node_in_one_walk(void **state)
{
	struct fixture *f = *state;
	uint8_t root[MERKLE_HASH_LEN];
	audit_result_t res;

	for (int i = 0; i < 5; i++)
		append_acks(f, 601);
	mirror_entries(f);
	assert_int_equal(merkle_frontier_root(&f->f, root), 0);
	/* one thread, and ranges on 3 (3005 entries: two ranges) */
	expect_verifies(f->s, 0, 3005, 1, root);
	expect_verifies(f->s, 3, 3005, 1, root);
	store_close(f->s);
	f->s = NULL;

	add_extra_node(f->dir, 3005);
	assert_int_equal(store_open(f->dir, STORE_RDONLY, 0, &f->s), 0);
	assert_int_equal(audit_verify(f->s, NULL, 0, &res), CB_ECORRUPT);
	assert_int_equal(res.bad_seq, 3005);
	assert_string_equal(res.reason, "the stored Merkle tree has nodes beyond the log's head");
	store_close(f->s);
	f->s = NULL;

	drop_nodes(f->dir);	/* a copy of a log written before the tree */
	assert_int_equal(store_open(f->dir, STORE_RDONLY, 0, &f->s), 0);
	expect_verifies(f->s, 0, 3005, 0, root);
	expect_verifies(f->s, 3, 3005, 0, root);
}

int
main(void)
{
#define T(fn)	cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_root_after_each_append_equals_an_in_memory_tree_up_to_300),
		T(test_batched_appends_give_the_same_tree_as_single_ones),
		T(test_root_beyond_the_head_is_refused),
		T(test_proofs_from_the_store_verify),
		T(test_an_aborted_transaction_leaves_no_nodes_and_the_tree_unchanged),
		T(test_a_failed_commit_leaves_the_tree_unchanged),
		T(test_a_reopened_store_has_the_same_root),
		T(test_a_log_without_nodes_gets_them_built_at_open),
		T(test_verify_recomputes_the_root_and_compares_every_node_in_one_walk),
	};
#undef T
	return cmocka_run_group_tests_name("store_tree", tests, NULL, NULL);
}

/* tests/unit/test_store.c — the LMDB audit log, its indexes, and the verification walk.
 *
 * Each test opens a fresh store in a mkdtemp directory and appends signed clue entries with
 * store_begin / store_txn_append / store_txn_commit. What must hold (store.h): seq runs
 * 1..n without gaps; every entry links to the hash of the one before; the head moves only
 * when a commit succeeded (an abort, or a transaction that runs out of map space, leaves
 * head, hash and the verifiable chain as they were); message ids are indexed once; each
 * recipient has its own backlog in log order, and acknowledging removes only that unit's
 * entries up to the given seq. audit_verify (chain-only mode) is run over the result, and
 * over logs tampered with directly through LMDB, where it must name the bad entry. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "audit.h"
#include "chain.h"
#include "cluebus/err.h"
#include "cluebus.pb-c.h"
#include "envelope.h"
#include "keys.h"
#include "store.h"
#include "util.h"

#define WHY_HASH	"entry bytes do not match its recorded hash"
#define T0		1772325000000LL

struct fixture {
	char		 dir[64];
	store_t		*s;
	cb_key_t	*key;
};

/* ---- helpers ---------------------------------------------------------------------------- */

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
fixture_setup_sized(void **state, size_t map_size)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/cb-test-store.XXXXXX");
	if (mkdtemp(f->dir) == NULL || store_open(f->dir, 0, map_size, &f->s) != 0 ||
	    key_generate(&f->key) != 0) {
		store_close(f->s);
		rm_dir(f->dir);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
fixture_setup(void **state)
{
	return fixture_setup_sized(state, 0);
}

static int
fixture_setup_tiny(void **state)
{
	return fixture_setup_sized(state, 64 * 1024);
}

static int
fixture_teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->s);
	key_free(f->key);
	rm_dir(f->dir);
	free(f);
	return 0;
}

/* A message id made from a number. */
static void
make_msgid(uint64_t n, uint8_t id[MESSAGE_ID_LEN])
{
	memset(id, 0xc1, MESSAGE_ID_LEN);
	be64_put(id + 8, n);
}

/* Signs a clue from "health" with id `n` and a summary of `summary_len` bytes. */
static Cluebus__Envelope *
make_envelope(const struct fixture *f, uint64_t n, size_t summary_len)
{
	Cluebus__Message m = CLUEBUS__MESSAGE__INIT;
	Cluebus__Clue c = CLUEBUS__CLUE__INIT;
	Cluebus__Envelope *env = NULL;
	uint8_t id[MESSAGE_ID_LEN];
	char *summary;

	assert_non_null(summary = malloc(summary_len + 1));
	memset(summary, 's', summary_len);
	summary[summary_len] = '\0';
	make_msgid(n, id);
	m.message_id.data = id;
	m.message_id.len = MESSAGE_ID_LEN;
	m.sender = "health";
	m.created_ms = T0 + (int64_t)n;
	m.kind = CLUEBUS__KIND__KIND_CLUE;
	m.priority = CLUEBUS__PRIORITY__PRIORITY_ROUTINE;
	m.body_case = CLUEBUS__MESSAGE__BODY_CLUE;
	m.clue = &c;
	c.category = CLUEBUS__CATEGORY__CATEGORY_MEDICAL;
	c.jurisdiction = "210302";
	c.summary = summary;
	c.handling = CLUEBUS__HANDLING_CODE__HANDLING_H0;
	c.source_reliability = CLUEBUS__SOURCE_RELIABILITY__RELIABILITY_A;
	c.info_accuracy = 1;
	assert_int_equal(envelope_sign(&m, f->key, &env), 0);
	free(summary);
	return env;
}

/* Appends message `n` routed to `recipients` (NULL-terminated) in `t`. Returns what
 * store_txn_append returned; the entry hash goes to `hash` (may be NULL). */
static int
append_message(const struct fixture *f, store_txn_t *t, uint64_t n, size_t summary_len,
    const char *const *recipients, int index_msgid, uint8_t *hash)
{
	Cluebus__LogEntry e = CLUEBUS__LOG_ENTRY__INIT;
	Cluebus__Envelope *env = make_envelope(f, n, summary_len);
	uint8_t h[CHAIN_HASH_LEN], id[MESSAGE_ID_LEN];
	size_t nrcpt = 0;
	int rc;

	while (recipients != NULL && recipients[nrcpt] != NULL)
		nrcpt++;
	make_msgid(n, id);
	e.time_ms = T0 + (int64_t)n;
	e.type = CLUEBUS__ENTRY_TYPE__ENTRY_MESSAGE;
	e.envelope = env;
	e.recipients = (char **)recipients;
	e.n_recipients = nrcpt;
	rc = store_txn_append(t, &e, index_msgid ? id : NULL, 0, h);
	if (rc == 0) {
		assert_int_equal(e.seq, store_txn_next_seq(t) - 1);
		if (hash != NULL)
			memcpy(hash, h, CHAIN_HASH_LEN);
	}
	envelope_free(env);
	return rc;
}

static const char *const to_ato_psb[] = { "ato", "psb", NULL };

/* Appends and commits messages first..last, one transaction. */
static void
commit_messages(struct fixture *f, uint64_t first, uint64_t last,
    const char *const *recipients)
{
	store_txn_t *t = NULL;

	assert_int_equal(store_begin(f->s, &t), 0);
	for (uint64_t n = first; n <= last; n++)
		assert_int_equal(append_message(f, t, n, 64, recipients, 1, NULL), 0);
	assert_int_equal(store_txn_commit(t), 0);
}

struct seqlist {
	size_t		n;
	uint64_t	seq[64];
	uint8_t		prev[CHAIN_HASH_LEN];
	const char	*why;
};

static int
collect(void *arg, uint64_t seq, const uint8_t *val, size_t len)
{
	struct seqlist *l = arg;

	(void)val;
	(void)len;
	if (l->n < 64)
		l->seq[l->n++] = seq;
	return 0;
}

static int
check_link(void *arg, uint64_t seq, const uint8_t *val, size_t len)
{
	struct seqlist *l = arg;

	if (chain_check(val, len, seq, l->prev, &l->why) != 0)
		return CB_ECORRUPT;
	memcpy(l->prev, val, CHAIN_HASH_LEN);
	l->seq[l->n++ % 64] = seq;
	return 0;
}

static void
assert_verifies(store_t *s, uint64_t entries)
{
	audit_result_t res;
	int rc;

	rc = audit_verify(s, NULL, 0, &res);
	if (rc != 0)
		fail_msg("audit: %s at seq %llu: %s", cb_strerror(rc),
		    (unsigned long long)res.bad_seq, res.reason);
	assert_int_equal(res.entries, entries);
	assert_int_equal(res.bad_seq, 0);
	assert_memory_equal(res.head, store_head_hash(s), CHAIN_HASH_LEN);
}

/* Opens the LMDB environment of `dir` directly (the store must be closed) and lets `fn`
 * change log[seq]: fn gets a copy of the value and returns 1 to put it back, 0 to delete
 * the entry. */
static void
tamper(const char *dir, uint64_t seq, int (*fn)(uint8_t *val, size_t len))
{
	uint8_t key[8], *copy;
	MDB_val k = { 8, key }, v;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	be64_put(key, seq);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "log", 0, &dbi), 0);
	assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
	assert_non_null(copy = malloc(v.mv_size));
	memcpy(copy, v.mv_data, v.mv_size);
	if (fn(copy, v.mv_size)) {
		v.mv_data = copy;
		assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	} else {
		assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
	}
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	free(copy);
}

/* Changes one summary byte, keeping the recorded hash. */
static int
flip_summary_byte(uint8_t *val, size_t len)
{
	for (size_t i = CHAIN_HASH_LEN; i + 8 <= len; i++)
		if (memcmp(val + i, "ssssssss", 8) == 0) {
			val[i + 4] = 'S';
			return 1;
		}
	fail_msg("no summary byte found");
	return 1;
}

/* Changes one summary byte and records the new bytes' hash, as a forger would. */
static int
rewrite_summary_byte(uint8_t *val, size_t len)
{
	flip_summary_byte(val, len);
	assert_int_equal(chain_hash(val + CHAIN_HASH_LEN, len - CHAIN_HASH_LEN, val), 0);
	return 1;
}

static int
delete_entry(uint8_t *val, size_t len)
{
	(void)val;
	(void)len;
	return 0;
}

static void
reopen(struct fixture *f)
{
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(store_open(f->dir, 0, 0, &f->s), 0);
}

/* ---- the log ---------------------------------------------------------------------------- */

static void
test_a_new_store_is_empty_with_a_zero_head(void **state)
{
	static const uint8_t zeros[CHAIN_HASH_LEN];
	struct fixture *f = *state;
	struct seqlist l = { 0 };

	assert_int_equal(store_head_seq(f->s), 0);
	assert_memory_equal(store_head_hash(f->s), zeros, CHAIN_HASH_LEN);
	assert_int_equal(store_walk(f->s, 1, collect, &l), 0);
	assert_int_equal(l.n, 0);
	assert_verifies(f->s, 0);
}

static void
test_appended_entries_are_numbered_one_to_n_without_gaps(void **state)
{
	struct fixture *f = *state;
	struct seqlist l = { 0 };
	store_txn_t *t = NULL;

	commit_messages(f, 1, 4, to_ato_psb);
	assert_int_equal(store_head_seq(f->s), 4);
	commit_messages(f, 5, 5, to_ato_psb);
	assert_int_equal(store_begin(f->s, &t), 0);
	assert_int_equal(store_txn_next_seq(t), 6);
	for (uint64_t n = 6; n <= 12; n++)
		assert_int_equal(append_message(f, t, n, 10, to_ato_psb, 1, NULL), 0);
	assert_int_equal(store_txn_commit(t), 0);
	assert_int_equal(store_head_seq(f->s), 12);
	assert_int_equal(store_walk(f->s, 1, collect, &l), 0);
	assert_int_equal(l.n, 12);
	for (size_t i = 0; i < l.n; i++)
		assert_int_equal(l.seq[i], i + 1);
	/* Walking from the middle starts there. */
	l.n = 0;
	assert_int_equal(store_walk(f->s, 10, collect, &l), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.seq[0], 10);
}

static void
test_every_entry_links_to_the_hash_of_the_entry_before(void **state)
{
	struct fixture *f = *state;
	uint8_t hashes[9][CHAIN_HASH_LEN];
	struct seqlist l = { 0 };
	store_txn_t *t = NULL;

	for (uint64_t n = 1; n <= 9; n += 3) {
		assert_int_equal(store_begin(f->s, &t), 0);
		for (uint64_t i = n; i < n + 3; i++)
			assert_int_equal(append_message(f, t, i, 32, to_ato_psb, 1,
			    hashes[i - 1]), 0);
		assert_int_equal(store_txn_commit(t), 0);
		assert_memory_equal(store_head_hash(f->s), hashes[n + 1], CHAIN_HASH_LEN);
	}
	if (store_walk(f->s, 1, check_link, &l) != 0)
		fail_msg("entry %zu: %s", l.n + 1, l.why);
	assert_int_equal(l.n, 9);
	assert_memory_equal(l.prev, store_head_hash(f->s), CHAIN_HASH_LEN);
	/* The hash store_txn_append reported is the one recorded. */
	for (uint64_t seq = 1; seq <= 9; seq++) {
		uint8_t *val = NULL;
		size_t len;

		assert_int_equal(store_get(f->s, seq, &val, &len), 0);
		assert_memory_equal(val, hashes[seq - 1], CHAIN_HASH_LEN);
		free(val);
	}
	assert_verifies(f->s, 9);
}

static void
test_a_stored_value_with_one_flipped_byte_fails_the_chain_check_on_its_hash(void **state)
{
	struct fixture *f = *state;
	const char *why = NULL;
	uint8_t *val = NULL, prev[CHAIN_HASH_LEN];
	size_t len;

	commit_messages(f, 1, 3, to_ato_psb);
	assert_int_equal(store_get(f->s, 1, &val, &len), 0);
	memcpy(prev, val, CHAIN_HASH_LEN);
	free(val);
	assert_int_equal(store_get(f->s, 2, &val, &len), 0);
	assert_int_equal(chain_check(val, len, 2, prev, &why), 0);
	flip_summary_byte(val, len);
	assert_int_equal(chain_check(val, len, 2, prev, &why), CB_ECORRUPT);
	assert_string_equal(why, WHY_HASH);
	free(val);
}

static void
test_an_aborted_transaction_leaves_the_head_unchanged(void **state)
{
	struct fixture *f = *state;
	uint8_t head[CHAIN_HASH_LEN], h[CHAIN_HASH_LEN], *val = NULL;
	store_txn_t *t = NULL;
	uint64_t seq;
	size_t len;

	commit_messages(f, 1, 3, to_ato_psb);
	memcpy(head, store_head_hash(f->s), CHAIN_HASH_LEN);
	assert_int_equal(store_begin(f->s, &t), 0);
	assert_int_equal(append_message(f, t, 4, 10, to_ato_psb, 1, NULL), 0);
	assert_int_equal(append_message(f, t, 5, 10, to_ato_psb, 1, NULL), 0);
	assert_int_equal(store_txn_next_seq(t), 6);
	assert_int_equal(store_txn_msgid_get(t, (uint8_t[MESSAGE_ID_LEN]){ 0 }, &seq),
	    CB_ENOTFOUND);
	store_txn_abort(t);
	assert_int_equal(store_head_seq(f->s), 3);
	assert_memory_equal(store_head_hash(f->s), head, CHAIN_HASH_LEN);
	assert_int_equal(store_get(f->s, 4, &val, &len), CB_ENOTFOUND);
	make_msgid(4, h);
	assert_int_equal(store_msgid_get(f->s, h, &seq), CB_ENOTFOUND);
	/* The next transaction starts again from the committed head. */
	assert_int_equal(store_begin(f->s, &t), 0);
	assert_int_equal(store_txn_next_seq(t), 4);
	assert_int_equal(append_message(f, t, 4, 10, to_ato_psb, 1, h), 0);
	assert_int_equal(store_txn_commit(t), 0);
	assert_int_equal(store_head_seq(f->s), 4);
	assert_memory_equal(store_head_hash(f->s), h, CHAIN_HASH_LEN);
	assert_verifies(f->s, 4);
	store_txn_abort(NULL);
}

static void
test_a_message_id_is_indexed_once_and_found_again(void **state)
{
	struct fixture *f = *state;
	uint8_t id[MESSAGE_ID_LEN], head[CHAIN_HASH_LEN];
	const uint8_t *val;
	store_txn_t *t = NULL;
	uint64_t seq = 0;
	size_t len;

	commit_messages(f, 1, 2, to_ato_psb);
	assert_int_equal(store_begin(f->s, &t), 0);
	assert_int_equal(append_message(f, t, 3, 10, to_ato_psb, 1, NULL), 0);
	assert_int_equal(append_message(f, t, 4, 10, to_ato_psb, 0, NULL), 0);
	/* The transaction sees its own appends. */
	make_msgid(3, id);
	assert_int_equal(store_txn_msgid_get(t, id, &seq), 0);
	assert_int_equal(seq, 3);
	assert_int_equal(store_txn_get(t, 3, &val, &len), 0);
	assert_true(len > CHAIN_HASH_LEN);
	assert_int_equal(store_txn_get(t, 5, &val, &len), CB_ENOTFOUND);
	assert_int_equal(store_msgid_get(f->s, id, &seq), CB_ENOTFOUND);	/* uncommitted */
	assert_int_equal(store_txn_commit(t), 0);
	assert_int_equal(store_msgid_get(f->s, id, &seq), 0);
	assert_int_equal(seq, 3);
	make_msgid(1, id);
	assert_int_equal(store_msgid_get(f->s, id, &seq), 0);
	assert_int_equal(seq, 1);
	/* Appended without indexing: not found. */
	make_msgid(4, id);
	assert_int_equal(store_msgid_get(f->s, id, &seq), CB_ENOTFOUND);
	/* Indexing the same id a second time fails the transaction; nothing moves. */
	memcpy(head, store_head_hash(f->s), CHAIN_HASH_LEN);
	assert_int_equal(store_begin(f->s, &t), 0);
	assert_int_equal(append_message(f, t, 1, 10, to_ato_psb, 1, NULL), CB_ESTORE);
	store_txn_abort(t);
	assert_int_equal(store_head_seq(f->s), 4);
	assert_memory_equal(store_head_hash(f->s), head, CHAIN_HASH_LEN);
	make_msgid(1, id);
	assert_int_equal(store_msgid_get(f->s, id, &seq), 0);
	assert_int_equal(seq, 1);
	assert_verifies(f->s, 4);
}

static void
test_the_registry_index_lists_only_registry_entries_in_order(void **state)
{
	struct fixture *f = *state;
	struct seqlist l = { 0 };
	store_txn_t *t = NULL;
	uint8_t h[CHAIN_HASH_LEN];

	assert_int_equal(store_begin(f->s, &t), 0);
	for (uint64_t n = 1; n <= 6; n++) {
		Cluebus__LogEntry e = CLUEBUS__LOG_ENTRY__INIT;
		Cluebus__Envelope *env = make_envelope(f, n, 8);

		e.type = CLUEBUS__ENTRY_TYPE__ENTRY_MESSAGE;
		e.time_ms = T0;
		e.envelope = env;
		assert_int_equal(store_txn_append(t, &e, NULL, n == 2 || n == 5, h), 0);
		envelope_free(env);
	}
	assert_int_equal(store_txn_commit(t), 0);
	assert_int_equal(store_walk_registry(f->s, collect, &l), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.seq[0], 2);
	assert_int_equal(l.seq[1], 5);
}

static void
test_an_invalid_recipient_fails_the_append(void **state)
{
	static const char *const bad[] = { "ato", "Not A Unit", NULL };
	struct fixture *f = *state;
	store_txn_t *t = NULL;
	uint64_t depth = 0;

	assert_int_equal(store_begin(f->s, &t), 0);
	assert_int_equal(append_message(f, t, 1, 10, bad, 1, NULL), CB_EINVAL);
	store_txn_abort(t);
	assert_int_equal(store_head_seq(f->s), 0);
	assert_int_equal(store_backlog_depth(f->s, "ato", &depth), 0);
	assert_int_equal(depth, 0);
}

/* ---- backlogs --------------------------------------------------------------------------- */

static void
test_each_recipient_has_its_own_backlog_in_log_order(void **state)
{
	static const char *const to_ato[] = { "ato", NULL };
	static const char *const to_ato_psb_district[] = { "ato", "psb", "ato-210302", NULL };
	static const char *const to_psb_district[] = { "psb", "ato-210302", NULL };
	struct fixture *f = *state;
	struct seqlist l = { 0 };
	store_txn_t *t = NULL;
	uint64_t depth = 0;

	/* seq: 1 ato; 2 ato psb d; 3 psb d; 4 ato; 5 ato psb d; 6 psb d */
	assert_int_equal(store_begin(f->s, &t), 0);
	for (uint64_t n = 1; n <= 6; n++)
		assert_int_equal(append_message(f, t, n, 10, n % 3 == 1 ? to_ato :
		    n % 3 == 2 ? to_ato_psb_district : to_psb_district, 1, NULL), 0);
	assert_int_equal(store_txn_commit(t), 0);

	assert_int_equal(store_walk_backlog(f->s, "ato", 0, 100, collect, &l), 0);
	assert_int_equal(l.n, 4);
	assert_int_equal(l.seq[0], 1);
	assert_int_equal(l.seq[1], 2);
	assert_int_equal(l.seq[2], 4);
	assert_int_equal(l.seq[3], 5);
	l.n = 0;
	assert_int_equal(store_walk_backlog(f->s, "psb", 0, 100, collect, &l), 0);
	assert_int_equal(l.n, 4);
	assert_int_equal(l.seq[0], 2);
	assert_int_equal(l.seq[1], 3);
	assert_int_equal(l.seq[2], 5);
	assert_int_equal(l.seq[3], 6);
	/* `after` and `max` bound the walk. */
	l.n = 0;
	assert_int_equal(store_walk_backlog(f->s, "psb", 3, 1, collect, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.seq[0], 5);
	/* A unit that is a prefix of another ("ato" of "ato-210302") sees only its own. */
	assert_int_equal(store_backlog_depth(f->s, "ato", &depth), 0);
	assert_int_equal(depth, 4);
	assert_int_equal(store_backlog_depth(f->s, "ato-210302", &depth), 0);
	assert_int_equal(depth, 4);
	assert_int_equal(store_backlog_depth(f->s, "health", &depth), 0);
	assert_int_equal(depth, 0);
	assert_int_equal(store_backlog_depth(f->s, "Bad Unit", &depth), CB_EINVAL);
}

static void
test_an_ack_removes_only_that_units_entries_up_to_the_given_seq(void **state)
{
	struct fixture *f = *state;
	struct seqlist l = { 0 };
	uint64_t removed[16], depth = 0;
	store_txn_t *t = NULL;
	size_t n = 99;

	commit_messages(f, 1, 8, to_ato_psb);
	assert_int_equal(store_begin(f->s, &t), 0);
	assert_int_equal(store_txn_backlog_ack(t, "psb", 5, removed, 16, &n), 0);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(removed[i], i + 1);
	/* Acking again removes nothing more. */
	assert_int_equal(store_txn_backlog_ack(t, "psb", 5, removed, 16, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_txn_commit(t), 0);

	assert_int_equal(store_walk_backlog(f->s, "psb", 0, 100, collect, &l), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.seq[0], 6);
	assert_int_equal(l.seq[2], 8);
	assert_int_equal(store_backlog_depth(f->s, "ato", &depth), 0);
	assert_int_equal(depth, 8);
	/* `cap` bounds one call; the next call continues. */
	assert_int_equal(store_begin(f->s, &t), 0);
	assert_int_equal(store_txn_backlog_ack(t, "ato", 100, removed, 3, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(removed[2], 3);
	assert_int_equal(store_txn_backlog_ack(t, "ato", 100, removed, 16, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(removed[0], 4);
	assert_int_equal(removed[4], 8);
	assert_int_equal(store_txn_backlog_ack(t, "Bad Unit", 100, removed, 16, &n),
	    CB_EINVAL);
	assert_int_equal(n, 0);
	store_txn_abort(t);
	/* Aborted: ato's backlog is whole again, psb's as committed. */
	assert_int_equal(store_backlog_depth(f->s, "ato", &depth), 0);
	assert_int_equal(depth, 8);
	assert_int_equal(store_backlog_depth(f->s, "psb", &depth), 0);
	assert_int_equal(depth, 3);
}

/* ---- reopening, read-only, running out of space ------------------------------------------ */

static void
test_reopening_the_store_keeps_the_head(void **state)
{
	struct fixture *f = *state;
	uint8_t head[CHAIN_HASH_LEN];
	store_t *ro = NULL;
	store_txn_t *t = NULL;
	uint64_t depth = 0;

	commit_messages(f, 1, 5, to_ato_psb);
	memcpy(head, store_head_hash(f->s), CHAIN_HASH_LEN);
	reopen(f);
	assert_int_equal(store_head_seq(f->s), 5);
	assert_memory_equal(store_head_hash(f->s), head, CHAIN_HASH_LEN);
	assert_int_equal(store_backlog_depth(f->s, "psb", &depth), 0);
	assert_int_equal(depth, 5);
	commit_messages(f, 6, 7, to_ato_psb);
	assert_int_equal(store_head_seq(f->s), 7);
	assert_verifies(f->s, 7);
	memcpy(head, store_head_hash(f->s), CHAIN_HASH_LEN);
	/* Read-only: the same head, and no writing. */
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(store_open(f->dir, STORE_RDONLY, 0, &ro), 0);
	assert_int_equal(store_head_seq(ro), 7);
	assert_memory_equal(store_head_hash(ro), head, CHAIN_HASH_LEN);
	assert_int_equal(store_begin(ro, &t), CB_EINVAL);
	assert_verifies(ro, 7);
	store_close(ro);
	assert_int_equal(store_open(f->dir, 0, 0, &f->s), 0);
}

static void
test_a_transaction_that_fills_the_map_fails_and_changes_nothing(void **state)
{
	struct fixture *f = *state;
	uint8_t head[CHAIN_HASH_LEN], *val = NULL;
	store_txn_t *t = NULL;
	uint64_t n, depth = 0;
	size_t len;
	int rc = 0;

	commit_messages(f, 1, 3, to_ato_psb);
	memcpy(head, store_head_hash(f->s), CHAIN_HASH_LEN);
	assert_int_equal(store_begin(f->s, &t), 0);
	for (n = 4; n < 100 && (rc = append_message(f, t, n, 8000, to_ato_psb, 1, NULL)) == 0;
	    n++)
		;
	assert_int_equal(rc, CB_ESTORE);
	store_txn_abort(t);
	assert_int_equal(store_head_seq(f->s), 3);
	assert_memory_equal(store_head_hash(f->s), head, CHAIN_HASH_LEN);
	assert_int_equal(store_get(f->s, 4, &val, &len), CB_ENOTFOUND);
	assert_int_equal(store_backlog_depth(f->s, "psb", &depth), 0);
	assert_int_equal(depth, 3);
	assert_verifies(f->s, 3);
	/* Small entries still fit afterwards, and link to the old head. */
	commit_messages(f, 4, 4, to_ato_psb);
	assert_int_equal(store_head_seq(f->s), 4);
	assert_verifies(f->s, 4);
	/* And after a reopen with the same map size. */
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(store_open(f->dir, 0, 64 * 1024, &f->s), 0);
	assert_int_equal(store_head_seq(f->s), 4);
	assert_verifies(f->s, 4);
}

/* ---- verification of tampered logs ------------------------------------------------------ */

static void
test_the_audit_walk_names_an_entry_whose_bytes_were_changed(void **state)
{
	struct fixture *f = *state;
	audit_result_t res;

	commit_messages(f, 1, 5, to_ato_psb);
	assert_verifies(f->s, 5);
	store_close(f->s);
	f->s = NULL;
	tamper(f->dir, 3, flip_summary_byte);
	assert_int_equal(store_open(f->dir, 0, 0, &f->s), 0);
	assert_int_equal(audit_verify(f->s, NULL, 0, &res), CB_ECORRUPT);
	assert_int_equal(res.bad_seq, 3);
	assert_string_equal(res.reason, WHY_HASH);
	assert_int_equal(res.entries, 2);
}

static void
test_the_audit_walk_names_an_entry_rewritten_with_a_new_hash(void **state)
{
	struct fixture *f = *state;
	audit_result_t res;

	commit_messages(f, 1, 5, to_ato_psb);
	store_close(f->s);
	f->s = NULL;
	tamper(f->dir, 2, rewrite_summary_byte);
	assert_int_equal(store_open(f->dir, 0, 0, &f->s), 0);
	assert_int_equal(audit_verify(f->s, NULL, 0, &res), CB_ECORRUPT);
	assert_int_equal(res.bad_seq, 2);
	if (strstr(res.reason, "rewritten") == NULL)
		fail_msg("bad_seq %llu, reason \"%s\"", (unsigned long long)res.bad_seq,
		    res.reason);
}

static void
test_the_audit_walk_names_a_missing_entry(void **state)
{
	struct fixture *f = *state;
	audit_result_t res;

	commit_messages(f, 1, 5, to_ato_psb);
	store_close(f->s);
	f->s = NULL;
	tamper(f->dir, 4, delete_entry);
	assert_int_equal(store_open(f->dir, 0, 0, &f->s), 0);
	assert_int_equal(store_head_seq(f->s), 5);
	assert_int_equal(audit_verify(f->s, NULL, 0, &res), CB_ECORRUPT);
	assert_int_equal(res.bad_seq, 4);
	assert_non_null(strstr(res.reason, "sequence gap"));
}

/* ---- chain-only verification in ranges on several threads -------------------------------- */

/* With CLUEBUS_VERIFY_THREADS=3 a log of RANGE_LOG entries is walked in four ranges:
 * 1..1050, 1051..2100, 2101..3150, 3151..4200, one per thread; with =1 in the same four
 * ranges on two threads, each taking the next range when done. Each damage below must be
 * named exactly as the one-thread walk names it, wherever it falls against a range's
 * edges. */
#define RANGE_LOG	4200

/* Flips the first byte of stored tree node `node_seq` (merkle_node_seq). */
static void
tamper_node(const char *dir, uint64_t node_seq)
{
	uint8_t key[8], copy[MERKLE_HASH_LEN];
	MDB_val k = { 8, key }, v;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	be64_put(key, node_seq);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "merkle", 0, &dbi), 0);
	assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
	assert_int_equal(v.mv_size, MERKLE_HASH_LEN);
	memcpy(copy, v.mv_data, MERKLE_HASH_LEN);
	copy[0] ^= 0x01;
	v.mv_data = copy;
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* Markers of the range cases that damage the tree, not the log (never called): the leaf
 * node of entry seq; node (3, 130), completed by seq 1048 and part of the frontier of size
 * 1050 that the range from 1051 starts from. */
static int
flip_leaf_node(uint8_t *val, size_t len)
{
	(void)val;
	(void)len;
	return 1;
}

static int
flip_frontier_node(uint8_t *val, size_t len)
{
	(void)val;
	(void)len;
	return 1;
}

static const struct range_case {
	const char	*name;
	uint64_t	 seq[2];	/* entries damaged (0: none) */
	int		 (*fn)(uint8_t *, size_t);
	uint64_t	 bad_seq;
	const char	*why;		/* a part of the reason */
} range_cases[] = {
	{ "intact", { 0, 0 }, NULL, 0, NULL },
	{ "changed bytes, first entry of the second range", { 1051, 0 }, flip_summary_byte, 1051,
	    WHY_HASH },
	{ "changed bytes, last entry of the first range", { 1050, 0 }, flip_summary_byte, 1050,
	    WHY_HASH },
	{ "rewritten, last entry of a range (seen by the next range)", { 1050, 0 },
	    rewrite_summary_byte, 1050, "rewritten" },
	{ "rewritten, first entry of a range (seen inside it)", { 2101, 0 },
	    rewrite_summary_byte, 2101, "rewritten" },
	{ "missing, last entry of a range", { 3150, 0 }, delete_entry, 3150, "sequence gap" },
	{ "missing, first entry of a range", { 3151, 0 }, delete_entry, 3151, "sequence gap" },
	{ "two damaged entries: the earlier is named", { 3500, 1500 }, flip_summary_byte, 1500,
	    WHY_HASH },
	{ "tree node of the last entry of a range", { 1050, 0 }, flip_leaf_node, 1050,
	    "the stored Merkle tree" },
	{ "tree node of the first entry of a range", { 2101, 0 }, flip_leaf_node, 2101,
	    "the stored Merkle tree" },
	{ "tree node of the frontier the next range starts from", { 1048, 0 },
	    flip_frontier_node, 1048, "the stored Merkle tree" },
	{ "tree node of the head", { RANGE_LOG, 0 }, flip_leaf_node, RANGE_LOG,
	    "the stored Merkle tree" },
};

static void
test_the_chain_walk_in_ranges_names_what_the_one_thread_walk_names(void **state)
{
	struct fixture *f = *state;

	setenv("CLUEBUS_VERIFY_THREADS", "3", 1);
	for (size_t c = 0; c < sizeof(range_cases) / sizeof(range_cases[0]); c++) {
		const struct range_case *rc = &range_cases[c];
		audit_result_t res, one, two;
		int r, r1, r2;

		store_close(f->s);
		rm_dir(f->dir);
		assert_int_equal(store_open(f->dir, 0, 0, &f->s), 0);
		for (uint64_t n = 1; n <= RANGE_LOG; n += 600)
			commit_messages(f, n, n + 599, to_ato_psb);
		store_close(f->s);
		f->s = NULL;
		for (int i = 0; i < 2; i++)
			if (rc->seq[i] != 0 && rc->fn == flip_leaf_node)
				tamper_node(f->dir, merkle_node_seq(0, rc->seq[i] - 1));
			else if (rc->seq[i] != 0 && rc->fn == flip_frontier_node)
				tamper_node(f->dir, merkle_node_seq(3, 130));
			else if (rc->seq[i] != 0)
				tamper(f->dir, rc->seq[i], rc->fn);
		assert_int_equal(store_open(f->dir, 0, 0, &f->s), 0);
		r = audit_verify(f->s, NULL, 0, &res);
		setenv("CLUEBUS_VERIFY_THREADS", "0", 1);
		r1 = audit_verify(f->s, NULL, 0, &one);
		setenv("CLUEBUS_VERIFY_THREADS", "1", 1);
		r2 = audit_verify(f->s, NULL, 0, &two);
		setenv("CLUEBUS_VERIFY_THREADS", "3", 1);
		if (rc->why == NULL) {
			if (r != 0)
				fail_msg("%s: %s at %llu: %s", rc->name, cb_strerror(r),
				    (unsigned long long)res.bad_seq, res.reason);
			assert_int_equal(res.entries, RANGE_LOG);
			assert_int_equal(res.messages, RANGE_LOG);
			assert_memory_equal(res.head, store_head_hash(f->s), CHAIN_HASH_LEN);
		} else if (r != CB_ECORRUPT || res.bad_seq != rc->bad_seq ||
		    strstr(res.reason, rc->why) == NULL) {
			fail_msg("%s: rc %d, bad_seq %llu, \"%s\"", rc->name, r,
			    (unsigned long long)res.bad_seq, res.reason);
		}
		/* The same verdict as one thread walking it all. */
		assert_int_equal(r, r1);
		assert_int_equal(res.bad_seq, one.bad_seq);
		assert_string_equal(res.reason, one.reason);
		assert_memory_equal(res.head, one.head, CHAIN_HASH_LEN);
		/* And as two threads taking the four ranges in turn. */
		assert_int_equal(r2, r1);
		assert_int_equal(two.bad_seq, one.bad_seq);
		assert_string_equal(two.reason, one.reason);
		assert_memory_equal(two.head, one.head, CHAIN_HASH_LEN);
	}
	unsetenv("CLUEBUS_VERIFY_THREADS");
}

/* ---- store_trim ------------------------------------------------------------------------- */

/* This process's resident file-backed pages (RssFile of /proc/self/status), in KiB. */
static long
rss_file_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *fp = fopen("/proc/self/status", "r");

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "RssFile: %ld kB", &kb) == 1)
			break;
	fclose(fp);
	assert_true(kb >= 0);
	return kb;
}

static int
touch_value(void *arg, uint64_t seq, const uint8_t *val, size_t len)
{
	unsigned *sum = arg;

	(void)seq;
	for (size_t i = 0; i < len; i += 512)
		*sum += val[i];
	return 0;
}

static void
test_trim_drops_the_pages_a_walk_touched_and_the_log_reads_back(void **state)
{
	struct fixture *f = *state;
	unsigned sum1 = 0, sum2 = 0;
	long before, touched, trimmed;

	for (uint64_t n = 1; n <= 6000; n += 1000)
		commit_messages(f, n, n + 999, to_ato_psb);
	store_trim(f->s);
	before = rss_file_kb();
	assert_int_equal(store_walk(f->s, 1, touch_value, &sum1), 0);
	touched = rss_file_kb();
	store_trim(f->s);
	trimmed = rss_file_kb();
	print_message("RssFile %ld kB, after the walk %ld kB, after the trim %ld kB\n", before,
	    touched, trimmed);
	/* The walk brought the log's pages in (a few MiB), the trim let them go. */
	assert_true(touched - before >= 1024);
	assert_true(trimmed - before < (touched - before) / 4);
	/* And reading through the map again faults the same bytes back. */
	assert_int_equal(store_walk(f->s, 1, touch_value, &sum2), 0);
	assert_int_equal(sum1, sum2);
}

static void
test_a_full_map_grown_between_transactions_takes_the_next_commit(void **state)
{
	struct fixture *f = *state;
	struct store_usage u;
	store_txn_t *t = NULL;
	uint64_t n = 1;
	int rc = 0;

	/* Fill the 64 KiB map until a commit fails. */
	while (rc == 0) {
		assert_int_equal(store_begin(f->s, &t), 0);
		if ((rc = append_message(f, t, n, 512, to_ato_psb, 1, NULL)) != 0)
			store_txn_abort(t);
		else if ((rc = store_txn_commit(t)) == 0)
			n++;
	}
	assert_int_equal(store_head_seq(f->s), n - 1);
	store_usage(f->s, &u);
	assert_int_equal(u.map_size, 64 * 1024);
	assert_true(u.used_bytes > 32 * 1024 && u.used_bytes <= u.map_size);
	assert_int_equal(store_set_map_size(f->s, 256 * 1024), 0);
	store_usage(f->s, &u);
	assert_int_equal(u.map_size, 256 * 1024);
	commit_messages(f, n, n + 3, to_ato_psb);
	assert_int_equal(store_head_seq(f->s), n + 3);
	store_trim(f->s);	/* the trim follows the map to its new place */
}

static void
test_a_copy_holds_the_committed_log_and_opens_with_its_head(void **state)
{
	struct fixture *f = *state;
	char dir[96];
	store_t *copy = NULL;
	uint8_t *val = NULL, id[MESSAGE_ID_LEN];
	size_t len;
	uint64_t seq;

	commit_messages(f, 1, 20, to_ato_psb);
	snprintf(dir, sizeof(dir), "%s/copy", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(store_copy(f->s, dir), 0);
	assert_int_equal(store_copy(f->s, dir), CB_EEXIST);	/* never over a copy */
	assert_int_equal(store_open(dir, STORE_RDONLY, 0, &copy), 0);
	assert_int_equal(store_head_seq(copy), 20);
	assert_memory_equal(store_head_hash(copy), store_head_hash(f->s), CHAIN_HASH_LEN);
	assert_int_equal(store_get(copy, 7, &val, &len), 0);
	free(val);
	make_msgid(9, id);
	assert_int_equal(store_msgid_get(copy, id, &seq), 0);
	assert_int_equal(seq, 9);
	store_close(copy);
	rm_dir(dir);
}

static int
aux_count(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	(void)key, (void)klen, (void)val, (void)vlen;
	++*(size_t *)arg;
	return 0;
}

static void
test_an_append_must_sort_last_and_sorted_puts_all_land(void **state)
{
	struct fixture *f = *state;
	uint8_t keys[3][2] = { { 'b', 1 }, { 'b', 2 }, { 'b', 3 } };
	const uint8_t *val;
	size_t len, n = 0;
	store_txn_t *t;

	assert_int_equal(store_begin(f->s, &t), 0);
	assert_int_equal(store_txn_aux_append(t, STORE_MATCH, "m1", 2, "x", 1), 0);
	assert_int_equal(store_txn_aux_append(t, STORE_MATCH, "m2", 2, "y", 1), 0);
	assert_int_equal(store_txn_aux_append(t, STORE_MATCH, "m2", 2, "z", 1), CB_EEXIST);
	assert_int_equal(store_txn_aux_append(t, STORE_MATCH, "a9", 2, "z", 1), CB_EEXIST);
	assert_int_equal(store_txn_aux_put_sorted(t, STORE_MATCH, &keys[0][0], 2, 3, "v", 1), 0);
	assert_int_equal(store_txn_commit(t), 0);
	assert_int_equal(store_aux_walk(f->s, STORE_MATCH, "b", 1, 1, aux_count, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(store_begin(f->s, &t), 0);
	assert_int_equal(store_txn_aux_get(t, STORE_MATCH, "m2", 2, &val, &len), 0);
	assert_int_equal(len, 1);
	assert_int_equal(val[0], 'y');
	store_txn_abort(t);
}

int
main(void)
{
#define T(fn)	cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
	static const struct CMUnitTest tests[] = {
		T(test_a_new_store_is_empty_with_a_zero_head),
		T(test_appended_entries_are_numbered_one_to_n_without_gaps),
		T(test_every_entry_links_to_the_hash_of_the_entry_before),
		T(test_a_stored_value_with_one_flipped_byte_fails_the_chain_check_on_its_hash),
		T(test_an_aborted_transaction_leaves_the_head_unchanged),
		T(test_a_message_id_is_indexed_once_and_found_again),
		T(test_the_registry_index_lists_only_registry_entries_in_order),
		T(test_an_invalid_recipient_fails_the_append),
		T(test_each_recipient_has_its_own_backlog_in_log_order),
		T(test_an_ack_removes_only_that_units_entries_up_to_the_given_seq),
		T(test_reopening_the_store_keeps_the_head),
		T(test_an_append_must_sort_last_and_sorted_puts_all_land),
		cmocka_unit_test_setup_teardown(
		    test_a_transaction_that_fills_the_map_fails_and_changes_nothing,
		    fixture_setup_tiny, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_full_map_grown_between_transactions_takes_the_next_commit,
		    fixture_setup_tiny, fixture_teardown),
		T(test_a_copy_holds_the_committed_log_and_opens_with_its_head),
		T(test_the_audit_walk_names_an_entry_whose_bytes_were_changed),
		T(test_the_audit_walk_names_an_entry_rewritten_with_a_new_hash),
		T(test_the_audit_walk_names_a_missing_entry),
		T(test_the_chain_walk_in_ranges_names_what_the_one_thread_walk_names),
		T(test_trim_drops_the_pages_a_walk_touched_and_the_log_reads_back),
	};
#undef T

	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}

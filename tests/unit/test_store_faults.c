/* tests/unit/test_store_faults.c — the store under injected failures (SQLite's way): fail the
 * Nth log write, or the Nth commit, for N = 1, 2, ... until the operation succeeds; after
 * each failure the error was returned, the head did not move, nothing of the failed
 * transaction is visible (entries, message ids, backlog), and the log still verifies.
 * Needs a test build (CLUEBUS_TEST_HOOKS), as `make test` makes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit.h"
#include "cluebus/err.h"
#include "envelope.h"
#include "store.h"

#define BATCH	5

static char *
make_dir(void)
{
	char tmpl[] = "/tmp/cb-store-faults.XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
}

static void
remove_dir(char *dir)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	unlink(path);
	rmdir(dir);
	free(dir);
}

/* Appends BATCH rejection-free entries with message ids (base..base+BATCH-1) routed to psb.
 * Returns 0, or the first error (the transaction is then aborted). */
static int
append_batch(store_t *s, unsigned base)
{
	static char *recips[] = { "psb" };
	uint8_t hash[CHAIN_HASH_LEN];
	store_txn_t *t;
	int rc;

	if ((rc = store_begin(s, &t)) != 0)
		return rc;
	for (unsigned i = 0; i < BATCH; i++) {
		Cluebus__LogEntry e = CLUEBUS__LOG_ENTRY__INIT;
		Cluebus__DeliveryAck ack = CLUEBUS__DELIVERY_ACK__INIT;
		uint8_t id[MESSAGE_ID_LEN] = { 0 };

		memcpy(id, &(unsigned){ base + i }, sizeof(unsigned));
		ack.unit = "psb";
		e.type = CLUEBUS__ENTRY_TYPE__ENTRY_ACK;
		e.time_ms = 1000 + base + i;
		e.ack = &ack;
		e.recipients = recips;
		e.n_recipients = 1;
		if ((rc = store_txn_append(t, &e, id, 0, hash)) != 0) {
			store_txn_abort(t);
			return rc;
		}
	}
	return store_txn_commit(t);
}

static void
assert_state(const char *dir, uint64_t head, const uint8_t *hash, unsigned ids)
{
	audit_result_t res;
	uint64_t depth, seq;
	store_t *s;

	assert_int_equal(store_open(dir, 0, 0, &s), 0);
	assert_int_equal(store_head_seq(s), head);
	assert_memory_equal(store_head_hash(s), hash, CHAIN_HASH_LEN);
	assert_int_equal(store_backlog_depth(s, "psb", &depth), 0);
	assert_int_equal(depth, head);
	for (unsigned i = 0; i < ids + BATCH; i++) {
		uint8_t id[MESSAGE_ID_LEN] = { 0 };

		memcpy(id, &i, sizeof(i));
		assert_int_equal(store_msgid_get(s, id, &seq), i < ids ? 0 : CB_ENOTFOUND);
	}
	assert_int_equal(audit_verify(s, NULL, 0, &res), 0);
	store_close(s);
}

static void
run_faults(const char *var)
{
	char *dir = make_dir();
	uint8_t hash[CHAIN_HASH_LEN];
	uint64_t head;
	unsigned ids = BATCH, n;
	store_t *s;
	int rc = -1;

	/* A first batch, without faults, so that failures have something to preserve. */
	assert_int_equal(store_open(dir, 0, 0, &s), 0);
	assert_int_equal(append_batch(s, 0), 0);
	head = store_head_seq(s);
	memcpy(hash, store_head_hash(s), CHAIN_HASH_LEN);
	store_close(s);
	for (n = 1; n < 50; n++) {
		char num[16];

		snprintf(num, sizeof(num), "%u", n);
		setenv(var, num, 1);
		assert_int_equal(store_open(dir, 0, 0, &s), 0);
		unsetenv(var);
		rc = append_batch(s, ids);
		if (rc == 0) {
			store_close(s);
			break;
		}
		assert_int_equal(rc, CB_ESTORE);
		assert_int_equal(store_head_seq(s), head);	/* memory unchanged */
		assert_memory_equal(store_head_hash(s), hash, CHAIN_HASH_LEN);
		store_close(s);
		assert_state(dir, head, hash, ids);		/* disk unchanged, verifies */
	}
	assert_int_equal(rc, 0);	/* it succeeded once N went past the operation */
	assert_true(n > 1);		/* after failing at least once */
	remove_dir(dir);
}

static void
test_a_failed_log_write_leaves_memory_and_disk_as_they_were(void **state)
{
	(void)state;
#ifndef CLUEBUS_TEST_HOOKS
	skip();
#endif
	run_faults("CLUEBUS_TEST_FAIL_WRITE");
}

static void
test_a_failed_commit_leaves_memory_and_disk_as_they_were(void **state)
{
	(void)state;
#ifndef CLUEBUS_TEST_HOOKS
	skip();
#endif
	run_faults("CLUEBUS_TEST_FAIL_COMMIT");
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_failed_log_write_leaves_memory_and_disk_as_they_were),
		cmocka_unit_test(test_a_failed_commit_leaves_memory_and_disk_as_they_were),
	};

	return cmocka_run_group_tests_name("store fault injection", tests, NULL, NULL);
}

/* tests/unit/test_verifypool.c — lib/verifypool.c: a batch of signature checks on several
 * threads gives exactly the answers of checking them one by one, batch after batch. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cluebus/err.h"
#include "keys.h"
#include "util.h"
#include "verifypool.h"

#define NJOBS	300
#define NKEYS	4

struct fixture {
	verifypool_t	*pool;
	cb_key_t	*priv[NKEYS];
	cb_key_t	*pub[NKEYS];
	Cluebus__Envelope env[NJOBS];
	uint8_t		 msg[NJOBS][64];
	uint8_t		 sig[NJOBS][KEY_SIG_LEN];
	int		 want[NJOBS];	/* 0 or CB_EBADSIG */
	const cb_key_t	*key[NJOBS];
};

/* Every 5th signature is damaged and every 7th job is checked with another unit's key
 * (its key id then differs from the envelope's): both must come back CB_EBADSIG, the rest
 * 0. */
static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	for (int k = 0; k < NKEYS; k++) {
		assert_int_equal(key_generate(&fx->priv[k]), 0);
		assert_int_equal(key_from_public(key_public(fx->priv[k]), KEY_PUBLIC_LEN,
		    &fx->pub[k]), 0);
	}
	for (int i = 0; i < NJOBS; i++) {
		Cluebus__Envelope init = CLUEBUS__ENVELOPE__INIT;

		assert_int_equal(rand_bytes(fx->msg[i], sizeof(fx->msg[i])), 0);
		assert_int_equal(key_sign(fx->priv[i % NKEYS], fx->msg[i], sizeof(fx->msg[i]),
		    fx->sig[i]), 0);
		fx->want[i] = 0;
		fx->key[i] = fx->pub[i % NKEYS];
		if (i % 5 == 0) {
			fx->sig[i][i % KEY_SIG_LEN] ^= 0x40;
			fx->want[i] = CB_EBADSIG;
		}
		if (i % 7 == 0) {
			fx->key[i] = fx->pub[(i + 1) % NKEYS];
			fx->want[i] = CB_EBADSIG;
		}
		fx->env[i] = init;
		fx->env[i].signed_.data = fx->msg[i];
		fx->env[i].signed_.len = sizeof(fx->msg[i]);
		fx->env[i].signature.data = fx->sig[i];
		fx->env[i].signature.len = KEY_SIG_LEN;
		fx->env[i].key_id.data = (uint8_t *)key_id(fx->priv[i % NKEYS]);
		fx->env[i].key_id.len = KEY_ID_LEN;
	}
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	for (int k = 0; k < NKEYS; k++) {
		key_free(fx->priv[k]);
		key_free(fx->pub[k]);
	}
	free(fx);
	return 0;
}

/* Rounds of every size from 0 to NJOBS (the inline path below 4 jobs included), each job
 * starting with a wrong answer that verifypool_run must overwrite. */
static void
check_rounds(struct fixture *fx, unsigned threads)
{
	struct verify_job jobs[NJOBS];

	assert_int_equal(verifypool_new(threads, &fx->pool), 0);
	assert_int_equal(verifypool_threads(fx->pool), threads + 1);
	for (size_t n = 0; n <= NJOBS; n += (n < 8 ? 1 : 37)) {
		size_t first = n % 11;	/* different jobs in different slots */

		for (size_t j = 0; j < n; j++) {
			size_t i = (first + j) % NJOBS;

			jobs[j].env = &fx->env[i];
			jobs[j].key = fx->key[i];
			jobs[j].rc = 12345;
		}
		verifypool_run(fx->pool, jobs, n);
		for (size_t j = 0; j < n; j++)
			assert_int_equal(jobs[j].rc, fx->want[(first + j) % NJOBS]);
	}
	verifypool_free(fx->pool);
}

static void
test_verify_no_workers(void **state)
{
	check_rounds(*state, 0);
}

static void
test_verify_one_worker(void **state)
{
	check_rounds(*state, 1);
}

static void
test_verify_more_workers_than_cores(void **state)
{
	check_rounds(*state, 5);
}

/* Back-to-back batches: a worker late from one must not take a job of the next with the
 * old bounds (the same array is reused, as the broker's frontend.c does). */
static void
test_verify_many_rounds_reuse_array(void **state)
{
	struct fixture *fx = *state;
	struct verify_job jobs[NJOBS];

	assert_int_equal(verifypool_new(3, &fx->pool), 0);
	for (int round = 0; round < 200; round++) {
		size_t n = round % 2 ? NJOBS : 17;

		for (size_t i = 0; i < n; i++) {
			jobs[i].env = &fx->env[(i + (size_t)round) % NJOBS];
			jobs[i].key = fx->key[(i + (size_t)round) % NJOBS];
			jobs[i].rc = -999;
		}
		verifypool_run(fx->pool, jobs, n);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(jobs[i].rc, fx->want[(i + (size_t)round) % NJOBS]);
	}
	verifypool_free(fx->pool);
}

/* Fills `jobs` with the n jobs starting at job `first`, each with a wrong answer. */
static void
fill_jobs(struct fixture *fx, struct verify_job *jobs, size_t n, size_t first)
{
	for (size_t i = 0; i < n; i++) {
		jobs[i].env = &fx->env[(first + i) % NJOBS];
		jobs[i].key = fx->key[(first + i) % NJOBS];
		jobs[i].rc = 777;
	}
}

static void
check_jobs(struct fixture *fx, const struct verify_job *jobs, size_t n, size_t first)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(jobs[i].rc, fx->want[(first + i) % NJOBS]);
}

/* The auditor's overlap: one batch with the workers while the caller fills the next in
 * another array; every answer right after its wait, with 0, 1 and 3 workers (and none
 * submitted: wait returns at once). */
static void
test_submit_and_wait_alternate_two_batches(void **state)
{
	struct fixture *fx = *state;
	static struct verify_job a[NJOBS], b[NJOBS];
	static const unsigned workers[] = { 0, 1, 3 };

	verifypool_wait(NULL);
	for (size_t w = 0; w < 3; w++) {
		struct verify_job *cur = a, *next = b, *t;
		size_t first = 0, ncur = NJOBS;

		assert_int_equal(verifypool_new(workers[w], &fx->pool), 0);
		verifypool_wait(fx->pool);	/* nothing submitted */
		fill_jobs(fx, cur, ncur, first);
		verifypool_submit(fx->pool, cur, ncur);
		for (int round = 0; round < 40; round++) {
			size_t nnext = round % 3 == 0 ? 5 : NJOBS;

			fill_jobs(fx, next, nnext, first + 13);	/* while `cur` is checked */
			verifypool_wait(fx->pool);
			check_jobs(fx, cur, ncur, first);
			verifypool_submit(fx->pool, next, nnext);
			t = cur, cur = next, next = t;
			ncur = nnext;
			first += 13;
		}
		verifypool_wait(fx->pool);
		check_jobs(fx, cur, ncur, first);
		/* The synchronous form still works after the other. */
		fill_jobs(fx, a, NJOBS, 0);
		verifypool_run(fx->pool, a, NJOBS);
		check_jobs(fx, a, NJOBS, 0);
		verifypool_free(fx->pool);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_verify_no_workers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_one_worker, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_more_workers_than_cores, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_verify_many_rounds_reuse_array, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_submit_and_wait_alternate_two_batches,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

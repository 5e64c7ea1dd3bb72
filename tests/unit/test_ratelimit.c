/* tests/unit/test_ratelimit.c — a peer's refusals: logged within its bucket, counted when
 * not, cut off when it keeps on, and nothing uncounted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ratelimit.h"

static const struct ratelimit_policy policy = { 10.0, 5.0, 20, 1000, 4000 };

static enum ratelimit_verdict
refuse(struct ratelimit *rl, int64_t now, uint64_t *suppressed)
{
	int64_t since;

	return ratelimit_refusal(rl, &policy, now, suppressed, &since);
}

static void
test_a_burst_is_logged_then_refusals_are_only_counted(void **state)
{
	struct ratelimit rl;
	uint64_t suppressed;

	(void)state;
	memset(&rl, 0, sizeof(rl));
	for (int i = 0; i < 5; i++)
		assert_int_equal(refuse(&rl, 1000, &suppressed), RATELIMIT_LOG);
	for (int i = 0; i < 7; i++)
		assert_int_equal(refuse(&rl, 1000, &suppressed), RATELIMIT_QUIET);
	assert_int_equal(rl.suppressed, 7);
}

static void
test_the_next_logged_refusal_reports_what_was_suppressed(void **state)
{
	struct ratelimit rl;
	uint64_t suppressed;
	int64_t since;

	(void)state;
	memset(&rl, 0, sizeof(rl));
	for (int i = 0; i < 5; i++)
		refuse(&rl, 1000, &suppressed);
	assert_int_equal(refuse(&rl, 1010, &suppressed), RATELIMIT_QUIET);
	assert_int_equal(refuse(&rl, 1020, &suppressed), RATELIMIT_QUIET);
	/* 100 ms at 10/s: one token back. */
	assert_int_equal(ratelimit_refusal(&rl, &policy, 1120, &suppressed, &since),
	    RATELIMIT_LOG);
	assert_int_equal(suppressed, 2);
	assert_int_equal(since, 1010);
	assert_int_equal(rl.suppressed, 0);
}

static void
test_a_peer_that_keeps_on_is_cut_off_and_its_frames_dropped(void **state)
{
	struct ratelimit rl;
	uint64_t suppressed;
	int n = 0;

	(void)state;
	memset(&rl, 0, sizeof(rl));
	for (int i = 0; i < 5; i++)
		refuse(&rl, 1000, &suppressed);
	while (refuse(&rl, 1000, &suppressed) == RATELIMIT_QUIET)
		n++;
	assert_int_equal(n, 19);	/* the 20th quiet one cut it off */
	assert_int_equal(rl.cut_until_ms, 2000);
	assert_true(ratelimit_drop(&rl, 1500));
	assert_int_equal(refuse(&rl, 1999, &suppressed), RATELIMIT_DROPPED);
	assert_int_equal(rl.dropped, 2);
	assert_false(ratelimit_drop(&rl, 2000));
}

static void
test_a_peer_steadily_over_its_limit_is_cut_off_though_some_refusals_are_logged(void **state)
{
	struct ratelimit rl;
	uint64_t suppressed;
	int64_t now = 1000;
	int logged = 0;
	enum ratelimit_verdict v;

	(void)state;
	memset(&rl, 0, sizeof(rl));
	/* 50 a second against 10 logged a second: a token comes back every 100 ms. */
	while ((v = refuse(&rl, now, &suppressed)) != RATELIMIT_CUT) {
		logged += v == RATELIMIT_LOG;
		now += 20;
		assert_true(now < 10000);
	}
	assert_true(logged > 5);	/* the burst, and some refills on the way */
	assert_true(rl.cut_until_ms > now);
}

static void
test_cut_offs_in_a_row_double_up_to_the_longest(void **state)
{
	struct ratelimit rl;
	uint64_t suppressed;
	int64_t now = 1000, expect[] = { 1000, 2000, 4000, 4000 };

	(void)state;
	memset(&rl, 0, sizeof(rl));
	for (int round = 0; round < 4; round++) {
		while (refuse(&rl, now, &suppressed) != RATELIMIT_CUT)
			;
		assert_int_equal(rl.cut_until_ms - now, expect[round]);
		now = rl.cut_until_ms;
	}
	/* Not cut off for the longest cut-off's time: the next one is short again. */
	now += 4000;
	while (refuse(&rl, now, &suppressed) != RATELIMIT_CUT)
		;
	assert_int_equal(rl.cut_until_ms - now, 1000);
}

static void
test_every_refusal_is_logged_suppressed_or_dropped_and_the_log_stays_bounded(void **state)
{
	struct ratelimit rl;
	uint64_t suppressed, logged = 0, reported = 0, summaries = 0;
	int64_t since, now = 1000;

	(void)state;
	memset(&rl, 0, sizeof(rl));
	/* 100,000 refusals in 10 s. */
	for (int64_t t = 0; t < 100000; t++) {
		now = 1000 + t / 10;
		if (ratelimit_drop(&rl, now))
			continue;
		if (ratelimit_refusal(&rl, &policy, now, &suppressed, &since) == RATELIMIT_LOG) {
			logged++;
			reported += suppressed;
		}
	}
	/* The flood stopped: the rest is reported once the bucket has a token. */
	while (ratelimit_summary(&rl, &policy, now + 60000, &suppressed, &since)) {
		summaries++;
		reported += suppressed;
	}
	assert_int_equal(summaries, 1);
	assert_int_equal(logged + reported + rl.dropped, 100000);
	/* Entries written: at most the burst plus 10 a second over 10 s, and the summary. */
	assert_true(logged + summaries <= 5 + 100 + 1);
	assert_true(rl.dropped > 90000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_burst_is_logged_then_refusals_are_only_counted),
		cmocka_unit_test(test_the_next_logged_refusal_reports_what_was_suppressed),
		cmocka_unit_test(test_a_peer_that_keeps_on_is_cut_off_and_its_frames_dropped),
		cmocka_unit_test(test_a_peer_steadily_over_its_limit_is_cut_off_though_some_refusals_are_logged),
		cmocka_unit_test(test_cut_offs_in_a_row_double_up_to_the_longest),
		cmocka_unit_test(test_every_refusal_is_logged_suppressed_or_dropped_and_the_log_stays_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

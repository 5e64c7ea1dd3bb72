/* tests/unit/test_err.c — the error record: cb_fail and cb_fail_at fill it and return their
 * code, a record without a file line says line 0, and a reason may quote the record itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cluebus/err.h"

static void
test_cb_fail_fills_field_and_reason_and_returns_its_code(void **state)
{
	cb_error_t err;

	(void)state;
	memset(&err, 0x5a, sizeof(err));
	assert_int_equal(cb_fail(&err, "clue.persons", CB_ETOOBIG, "more than %d items", 64),
	    CB_ETOOBIG);
	assert_string_equal(err.field, "clue.persons");
	assert_string_equal(err.reason, "more than 64 items");
	assert_int_equal(err.line, 0);
}

static void
test_cb_fail_at_also_records_the_line_of_the_file(void **state)
{
	cb_error_t err;

	(void)state;
	memset(&err, 0x5a, sizeof(err));
	assert_int_equal(cb_fail_at(&err, "routing.office", 12, CB_ECONFIG, "required unit id"),
	    CB_ECONFIG);
	assert_string_equal(err.field, "routing.office");
	assert_string_equal(err.reason, "required unit id");
	assert_int_equal(err.line, 12);
}

static void
test_cb_error_set_leaves_no_line_from_an_earlier_error(void **state)
{
	cb_error_t err;

	(void)state;
	(void)cb_fail_at(&err, "routing", 7, CB_ECONFIG, "missing group");
	cb_error_set(&err, "frame", "larger than %d bytes", 100);
	assert_string_equal(err.field, "frame");
	assert_string_equal(err.reason, "larger than 100 bytes");
	assert_int_equal(err.line, 0);
}

static void
test_a_reason_may_quote_the_record_it_replaces(void **state)
{
	cb_error_t err;

	(void)state;
	(void)cb_fail(&err, "sender", CB_EMALFORMED, "not a unit id");
	assert_int_equal(cb_fail(&err, "envelope", CB_EMALFORMED, "%s: %s", err.field,
	    err.reason), CB_EMALFORMED);
	assert_string_equal(err.field, "envelope");
	assert_string_equal(err.reason, "sender: not a unit id");
}

static void
test_a_null_record_is_allowed_and_the_code_still_returned(void **state)
{
	(void)state;
	assert_int_equal(cb_fail(NULL, "x", CB_EINVAL, "ignored"), CB_EINVAL);
	assert_int_equal(cb_fail_at(NULL, "x", 3, CB_ECONFIG, "ignored"), CB_ECONFIG);
	cb_error_set(NULL, "x", "ignored");
}

static void
test_a_reason_too_long_for_the_record_is_cut_and_terminated(void **state)
{
	char long_text[600];
	cb_error_t err;

	(void)state;
	memset(long_text, 'r', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	(void)cb_fail(&err, "summary", CB_ETOOBIG, "%s", long_text);
	assert_int_equal(strlen(err.reason), sizeof(err.reason) - 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cb_fail_fills_field_and_reason_and_returns_its_code),
		cmocka_unit_test(test_cb_fail_at_also_records_the_line_of_the_file),
		cmocka_unit_test(test_cb_error_set_leaves_no_line_from_an_earlier_error),
		cmocka_unit_test(test_a_reason_may_quote_the_record_it_replaces),
		cmocka_unit_test(test_a_null_record_is_allowed_and_the_code_still_returned),
		cmocka_unit_test(test_a_reason_too_long_for_the_record_is_cut_and_terminated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* tests/unit/test_audit_json.c — the verification result that checks fill and `verify
 * --json` prints (lib/audit.c audit_result_check / audit_result_fail, lib/audit_json.c).
 *
 * A check recorded twice adds up; past AUDIT_CHECKS_MAX checks the next is refused; the
 * first bad entry in log order is the one kept, whichever check names it first; the JSON
 * object has the documented fields for a pass, a bad entry and an error, and "ok" is true
 * exactly for a pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audit.h"
#include "cluebus/err.h"

static void
test_a_check_recorded_twice_adds_up_and_the_table_is_bounded(void **state)
{
	static const char *const names[] = { "c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7",
	    "c8", "c9", "c10", "c11", "c12", "c13", "c14" };
	audit_result_t res;

	(void)state;
	memset(&res, 0, sizeof(res));
	assert_int_equal(audit_result_check(&res, "chain", 5), 0);
	assert_int_equal(audit_result_check(&res, "chain", 7), 0);
	assert_int_equal(res.nchecks, 1);
	assert_int_equal(res.checks[0].count, 12);
	for (size_t i = 0; i < 15; i++)
		assert_int_equal(audit_result_check(&res, names[i], i), 0);
	assert_int_equal(res.nchecks, AUDIT_CHECKS_MAX);
	assert_int_equal(audit_result_check(&res, "one-too-many", 1), CB_ETOOBIG);
	assert_int_equal(audit_result_check(&res, "chain", 1), 0);	/* known: still added */
	assert_int_equal(res.checks[0].count, 13);
}

static void
test_the_earliest_bad_entry_is_kept(void **state)
{
	char longer[400];
	audit_result_t res;

	(void)state;
	memset(&res, 0, sizeof(res));
	assert_int_equal(audit_result_fail(&res, 40, "late"), CB_ECORRUPT);
	assert_int_equal(audit_result_fail(&res, 12, "early"), CB_ECORRUPT);
	assert_int_equal(audit_result_fail(&res, 30, "later"), CB_ECORRUPT);
	assert_int_equal(audit_result_fail(&res, 12, "same seq, second"), CB_ECORRUPT);
	assert_int_equal(res.bad_seq, 12);
	assert_string_equal(res.reason, "early");
	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	assert_int_equal(audit_result_fail(&res, 1, longer), CB_ECORRUPT);
	assert_int_equal(strlen(res.reason), sizeof(res.reason) - 1);
}

static void
test_the_json_says_ok_only_for_a_pass_with_the_documented_fields(void **state)
{
	audit_result_t res;
	json_t *o;

	(void)state;
	memset(&res, 0, sizeof(res));
	res.entries = 3;
	res.tree_stored = 1;
	memset(res.head, 0xab, sizeof(res.head));
	assert_int_equal(audit_result_check(&res, "chain", 3), 0);
	assert_non_null(o = audit_result_json(&res, 0));
	assert_int_equal(json_integer_value(json_object_get(o, "version")), 1);
	assert_true(json_is_true(json_object_get(o, "ok")));
	assert_true(json_is_null(json_object_get(o, "first_bad")));
	assert_int_equal(json_integer_value(json_object_get(o, "entries")), 3);
	assert_string_equal(json_string_value(json_object_get(o, "head")),
	    "abababababababababababababababababababababababababababababababab");
	assert_int_equal(strlen(json_string_value(json_object_get(o, "tree_root"))), 64);
	assert_true(json_is_true(json_object_get(o, "tree_stored")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(o,
	    "checks"), 0), "check")), "chain");
	assert_null(json_object_get(o, "error"));
	json_decref(o);

	assert_int_equal(audit_result_fail(&res, 2, "entry bytes do not match"), CB_ECORRUPT);
	assert_non_null(o = audit_result_json(&res, CB_ECORRUPT));
	assert_true(json_is_false(json_object_get(o, "ok")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "first_bad"),
	    "seq")), 2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "first_bad"),
	    "reason")), "entry bytes do not match");
	assert_null(json_object_get(o, "head"));
	assert_null(json_object_get(o, "error"));
	json_decref(o);

	assert_non_null(o = audit_result_json(&res, CB_ESTORE));
	assert_true(json_is_false(json_object_get(o, "ok")));
	assert_true(json_is_null(json_object_get(o, "first_bad")));
	assert_string_equal(json_string_value(json_object_get(o, "error")), cb_strerror(CB_ESTORE));
	json_decref(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_check_recorded_twice_adds_up_and_the_table_is_bounded),
		cmocka_unit_test(test_the_earliest_bad_entry_is_kept),
		cmocka_unit_test(test_the_json_says_ok_only_for_a_pass_with_the_documented_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

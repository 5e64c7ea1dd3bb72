/* tests/unit/test_util.c — str_text_copy: peer text kept as written when it is UTF-8.
 *
 * A broker's reason reaches rejected/NAME.error.json and the logs through str_text_copy: valid
 * UTF-8 (Chinese) must stay as it is, cut only at a character boundary; bytes that are not
 * UTF-8 are escaped as \xNN; control characters never pass. str_utf8_trim mends a cut. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"

static void
test_chinese_text_is_kept_as_written(void **state)
{
	static const char reason[] = "'999999' 不是本市行政区划；有效：210302 铁东区";
	char out[256];

	(void)state;
	str_text_copy(reason, strlen(reason), out, sizeof(out));
	assert_string_equal(out, reason);
}

static void
test_text_that_does_not_fit_is_cut_at_a_character_boundary(void **state)
{
	static const char reason[] = "ab铁东区";	/* 2 + 3 * 3 bytes */
	char out[8];

	(void)state;
	str_text_copy(reason, strlen(reason), out, sizeof(out));	/* 7 bytes fit */
	assert_string_equal(out, "ab铁");
	str_text_copy(reason, strlen(reason), out, 6);			/* 5 bytes fit */
	assert_string_equal(out, "ab铁");
	str_text_copy(reason, strlen(reason), out, 5);			/* 4 bytes fit */
	assert_string_equal(out, "ab");
}

static void
test_bytes_that_are_not_utf8_are_escaped(void **state)
{
	static const char bad[] = "ok \xe5\x8f then \xff";
	char out[64];

	(void)state;
	str_text_copy(bad, strlen(bad), out, sizeof(out));
	assert_string_equal(out, "ok \\xe5\\x8f then \\xff");
}

static void
test_control_characters_never_pass(void **state)
{
	static const char text[] = "line1\nline2\x1b[31m";
	char out[64];

	(void)state;
	str_text_copy(text, strlen(text), out, sizeof(out));
	assert_string_equal(out, "line1?line2?[31m");
}

static void
test_a_utf8_sequence_cut_at_the_end_is_dropped_and_a_whole_one_kept(void **state)
{
	char cut[] = "ab\xe9\x93", whole[] = "ab铁", ascii[] = "abc", lone[] = "ab\x93";

	(void)state;
	str_utf8_trim(cut);
	assert_string_equal(cut, "ab");
	str_utf8_trim(whole);
	assert_string_equal(whole, "ab铁");
	str_utf8_trim(ascii);
	assert_string_equal(ascii, "abc");
	str_utf8_trim(lone);
	assert_string_equal(lone, "ab\x93");	/* not a cut: left for the UTF-8 check */
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chinese_text_is_kept_as_written),
		cmocka_unit_test(test_text_that_does_not_fit_is_cut_at_a_character_boundary),
		cmocka_unit_test(test_bytes_that_are_not_utf8_are_escaped),
		cmocka_unit_test(test_control_characters_never_pass),
		cmocka_unit_test(
		    test_a_utf8_sequence_cut_at_the_end_is_dropped_and_a_whole_one_kept),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}

/* tests/unit/test_calendar.c — the broker config's periodic report duties (lib/calendar.c):
 * half-year and year periods in local time with their due times, and a table of bad
 * `duties` groups, each refused naming its setting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "calendar.h"
#include "util.h"

/* Parses `text` (a config holding a `duties` group) into `cal`; returns the error. */
static int
parse(const char *text, calendar_t *cal, cb_error_t *err)
{
	config_t cf;
	int rc;

	config_init(&cf);
	if (config_read_string(&cf, text) != CONFIG_TRUE)
		fail_msg("config syntax: %s", config_error_text(&cf));
	rc = calendar_from_config(config_lookup(&cf, "duties"), cal, err);
	config_destroy(&cf);
	return rc;
}

static int64_t
at(const char *rfc3339)
{
	int64_t ms;

	assert_int_equal(clock_parse_rfc3339(rfc3339, &ms), 0);
	return ms;
}

static void
test_half_years_and_years_begin_at_local_midnight_and_fall_due_as_configured(void **state)
{
	calendar_t cal;
	cb_error_t err;
	int64_t from, to, due;

	(void)state;
	assert_int_equal(parse("duties: { calendar = ("
	    "{ name = \"h\"; report = \"situation_analysis\"; roles = [ \"office\" ];"
	    "  every = \"half_year\"; due_after_end = \"15d\"; },"
	    "{ name = \"y\"; report = \"self_evaluation\"; roles = [ \"member\" ];"
	    "  every = \"year\"; due_on = \"12-15\"; } ); };", &cal, &err), 0);
	assert_int_equal(cal.n, 2);
	assert_int_equal(cal.utc_offset_min, 480);
	/* 2026-06-30 23:59 local is in the first half; 2026-07-01 00:00 local in the second. */
	calendar_period(&cal, &cal.entry[0], at("2026-06-30T23:59:00+08:00"), &from, &to, &due);
	assert_int_equal(from, at("2026-01-01T00:00:00+08:00"));
	assert_int_equal(to, at("2026-07-01T00:00:00+08:00"));
	assert_int_equal(due, at("2026-07-16T00:00:00+08:00"));
	calendar_period(&cal, &cal.entry[0], at("2026-06-30T16:00:00Z"), &from, &to, &due);
	assert_int_equal(from, at("2026-07-01T00:00:00+08:00"));
	assert_int_equal(to, at("2027-01-01T00:00:00+08:00"));
	/* Dec 31, 20:00 UTC is already next year in Anshan. */
	calendar_period(&cal, &cal.entry[1], at("2026-12-31T20:00:00Z"), &from, &to, &due);
	assert_int_equal(from, at("2027-01-01T00:00:00+08:00"));
	assert_int_equal(due, at("2027-12-16T00:00:00+08:00"));	/* by the end of 12-15 */
	calendar_period(&cal, &cal.entry[1], at("2028-02-29T12:00:00+08:00"), &from, &to, &due);
	assert_int_equal(from, at("2028-01-01T00:00:00+08:00"));
	assert_int_equal(to, at("2029-01-01T00:00:00+08:00"));
}

static void
test_the_shipped_example_configures_both_duties_of_the_seed(void **state)
{
	config_t cf;
	calendar_t cal;
	cb_error_t err;

	(void)state;
	config_init(&cf);
	assert_int_equal(config_read_file(&cf, "config/broker.conf.example"), CONFIG_TRUE);
	assert_int_equal(calendar_from_config(config_lookup(&cf, "duties"), &cal, &err), 0);
	config_destroy(&cf);
	assert_int_equal(cal.n, 2);
	assert_string_equal(cal.entry[0].name, "situation_analysis");
	assert_int_equal(cal.entry[0].roles, CALENDAR_ROLE_OFFICE | CALENDAR_ROLE_DISTRICT_OFFICE);
	assert_int_equal(cal.entry[0].every, CALENDAR_HALF_YEAR);
	assert_string_equal(cal.entry[1].name, "self_evaluation");
	assert_int_equal(cal.entry[1].roles, CALENDAR_ROLE_MEMBER);
	assert_int_equal(cal.entry[1].due_month, 12);
	assert_int_equal(cal.entry[1].due_day, 15);
}

struct bad {
	const char	*entry;		/* one calendar entry's settings */
	const char	*field;
	const char	*reason;	/* a part of it */
};

static const struct bad bad_entries[] = {
	{ "report = \"self_evaluation\"; roles = [\"member\"]; every = \"year\"; "
	    "due_on = \"12-15\";", "duties.calendar[0].name", "required" },
	{ "name = \"x\"; report = \"warning_notice\"; roles = [\"member\"]; every = \"year\"; "
	    "due_on = \"12-15\";", "duties.calendar[0].report", "situation_analysis or" },
	{ "name = \"x\"; report = \"self_evaluation\"; roles = [\"mayor\"]; every = \"year\"; "
	    "due_on = \"12-15\";", "duties.calendar[0].roles", "office, district_office" },
	{ "name = \"x\"; report = \"self_evaluation\"; roles = [\"member\"]; "
	    "every = \"quarter\"; due_on = \"12-15\";", "duties.calendar[0].every",
	    "half_year or year" },
	{ "name = \"x\"; report = \"self_evaluation\"; roles = [\"member\"]; every = \"year\";",
	    "duties.calendar[0]", "due_after_end" },
	{ "name = \"x\"; report = \"self_evaluation\"; roles = [\"member\"]; every = \"year\"; "
	    "due_on = \"12-32\";", "duties.calendar[0].due_on", "MM-DD" },
	{ "name = \"x\"; report = \"self_evaluation\"; roles = [\"member\"]; "
	    "every = \"half_year\"; due_on = \"06-15\";", "duties.calendar[0].due_on",
	    "only for every = \"year\"" },
	{ "name = \"x\"; report = \"self_evaluation\"; roles = [\"member\"]; every = \"year\"; "
	    "due_after_end = \"two weeks\";", "duties.calendar[0].due_after_end",
	    "number of days" },
	{ "name = \"x\"; report = \"self_evaluation\"; roles = [\"member\"]; every = \"year\"; "
	    "due_after_end = \"15\";", "duties.calendar[0].due_after_end", "number of days" },
	{ "name = \"x\"; report = \"self_evaluation\"; roles = [\"member\"]; every = \"year\"; "
	    "due_on = \"12\";", "duties.calendar[0].due_on", "MM-DD" },
	{ "name = \"x\"; report = \"self_evaluation\"; roles = [\"member\"]; every = \"year\"; "
	    "due_on = \"12-15\"; colour = \"red\";", "duties.calendar[0].colour",
	    "unknown setting" },
};

static void
test_each_bad_calendar_entry_is_refused_naming_its_setting(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_entries) / sizeof(bad_entries[0]); i++) {
		char text[1024];
		calendar_t cal;
		cb_error_t err;

		snprintf(text, sizeof(text), "duties: { calendar = ( { %s } ); };",
		    bad_entries[i].entry);
		memset(&err, 0, sizeof(err));
		if (parse(text, &cal, &err) != CB_ECONFIG)
			fail_msg("row %zu accepted", i);
		if (strcmp(err.field, bad_entries[i].field) != 0 ||
		    strstr(err.reason, bad_entries[i].reason) == NULL)
			fail_msg("row %zu: %s: %s (want %s: ...%s...)", i, err.field, err.reason,
			    bad_entries[i].field, bad_entries[i].reason);
		assert_true(err.line > 0);
	}
}

static void
test_two_entries_with_one_name_and_an_offset_out_of_range_are_refused(void **state)
{
	calendar_t cal;
	cb_error_t err;

	(void)state;
	assert_int_equal(parse("duties: { calendar = ("
	    "{ name = \"a\"; report = \"self_evaluation\"; roles = [\"member\"]; every = \"year\";"
	    "  due_on = \"12-15\"; },"
	    "{ name = \"a\"; report = \"self_evaluation\"; roles = [\"member\"]; every = \"year\";"
	    "  due_on = \"12-15\"; } ); };", &cal, &err), CB_ECONFIG);
	assert_string_equal(err.field, "duties.calendar[1].name");
	assert_int_equal(parse("duties: { utc_offset_minutes = 900; };", &cal, &err), CB_ECONFIG);
	assert_string_equal(err.field, "duties.utc_offset_minutes");
	assert_int_equal(parse("duties: { utc_offset_minutes = \"+08:00\"; };", &cal, &err),
	    CB_ECONFIG);
	assert_string_equal(err.field, "duties.utc_offset_minutes");
	assert_int_equal(parse("duties: { utc_offset_minutes = -300; };", &cal, &err), 0);
	assert_int_equal(cal.utc_offset_min, -300);
	assert_int_equal(parse("duties: { calendars = (); };", &cal, &err), CB_ECONFIG);
	assert_string_equal(err.field, "duties");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_half_years_and_years_begin_at_local_midnight_and_fall_due_as_configured),
		cmocka_unit_test(test_the_shipped_example_configures_both_duties_of_the_seed),
		cmocka_unit_test(test_each_bad_calendar_entry_is_refused_naming_its_setting),
		cmocka_unit_test(test_two_entries_with_one_name_and_an_offset_out_of_range_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* lib/calendar.c — periods and due times of the configured report duties (calendar.h).
 *
 * Periods are computed in the deployment's local time (a fixed UTC offset: China has no
 * daylight saving), with the proleptic Gregorian calendar's day numbers (H. Hinnant's
 * days_from_civil), so a half-year is Jan 1 00:00 to Jul 1 00:00 local, whatever the
 * month lengths. The config is checked in full; every error names its setting. */
#include <stdio.h>
#include <string.h>

#include "calendar.h"

#define DAY_MS	INT64_C(86400000)

static const char *const report_names[] = { NULL, "situation_analysis", "self_evaluation",
    "warning_notice", "follow_up", "phase_evaluation", "final_evaluation" };

const char *
calendar_report_name(Cluebus__ReportType t)
{
	if ((unsigned)t >= sizeof(report_names) / sizeof(report_names[0]))
		return NULL;
	return report_names[t];
}

unsigned
calendar_role(const char *role)
{
	if (strcmp(role, "office") == 0)
		return CALENDAR_ROLE_OFFICE;
	if (strcmp(role, "district_office") == 0)
		return CALENDAR_ROLE_DISTRICT_OFFICE;
	if (strcmp(role, "member") == 0)
		return CALENDAR_ROLE_MEMBER;
	return 0;
}

/* Days since 1970-01-01 of a civil date. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The civil year of a day number. */
static int64_t
year_from_days(int64_t z)
{
	int64_t era, doe, yoe, doy, mp, y;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	return mp >= 10 ? y + 1 : y;
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

void
calendar_period(const calendar_t *c, const calendar_entry_t *e, int64_t t, int64_t *from,
    int64_t *to, int64_t *due)
{
	int64_t off = (int64_t)c->utc_offset_min * 60000, local = t + off;
	int64_t days = floor_div(local, DAY_MS), y = year_from_days(days);
	int64_t jan1 = days_from_civil(y, 1, 1), jul1 = days_from_civil(y, 7, 1);
	int64_t fd, td;

	if (e->every == CALENDAR_HALF_YEAR && days >= jul1) {
		fd = jul1;
		td = days_from_civil(y + 1, 1, 1);
	} else if (e->every == CALENDAR_HALF_YEAR) {
		fd = jan1;
		td = jul1;
	} else {
		fd = jan1;
		td = days_from_civil(y + 1, 1, 1);
	}
	*from = fd * DAY_MS - off;
	*to = td * DAY_MS - off;
	if (e->due_month != 0)
		*due = (days_from_civil(y, e->due_month, e->due_day) + 1) * DAY_MS - off;
	else
		*due = *to + e->due_after_end_ms;
}

static int
entry_fail(cb_error_t *err, size_t i, const char *key, const config_setting_t *s,
    const char *why)
{
	char field[64];

	snprintf(field, sizeof(field), "duties.calendar[%zu]%s%s", i, key[0] ? "." : "", key);
	return cb_fail_at(err, field, s != NULL ? config_setting_source_line(s) : 0,
	    CB_ECONFIG, "%s", why);
}

static int
entry_roles(const config_setting_t *es, size_t i, calendar_entry_t *e, cb_error_t *err)
{
	const config_setting_t *r = config_setting_get_member(es, "roles");

	if (r == NULL || (!config_setting_is_array(r) && !config_setting_is_list(r)) ||
	    config_setting_length(r) == 0)
		return entry_fail(err, i, "roles", r != NULL ? r : es,
		    "required: a list of roles (office, district_office, member)");
	for (int k = 0; k < config_setting_length(r); k++) {
		const char *role = config_setting_get_string_elem(r, k);
		unsigned bit = role != NULL ? calendar_role(role) : 0;

		if (bit == 0)
			return entry_fail(err, i, "roles", r,
			    "each role is office, district_office or member");
		e->roles |= bit;
	}
	return 0;
}

/* "due_after_end": a number of days ("15d"); "due_on": "MM-DD" (yearly entries only). */
static int
entry_due(const config_setting_t *es, size_t i, calendar_entry_t *e, cb_error_t *err)
{
	const char *after = NULL, *on = NULL;
	int days, n = -1, m, d;	/* n stays -1 unless %n is reached (the whole pattern) */

	(void)config_setting_lookup_string(es, "due_after_end", &after);
	(void)config_setting_lookup_string(es, "due_on", &on);
	if ((after == NULL) == (on == NULL))
		return entry_fail(err, i, "", es, "give due_after_end (\"15d\") or due_on "
		    "(\"12-15\"), one of them");
	if (after != NULL) {
		if (sscanf(after, "%3dd%n", &days, &n) != 1 || n < 0 || after[n] != '\0' ||
		    days < 0 || days > 366)
			return entry_fail(err, i, "due_after_end",
			    config_setting_get_member(es, "due_after_end"),
			    "a number of days from 0 to 366, like \"15d\"");
		e->due_after_end_ms = days * DAY_MS;
		return 0;
	}
	if (e->every != CALENDAR_YEAR)
		return entry_fail(err, i, "due_on", config_setting_get_member(es, "due_on"),
		    "only for every = \"year\" (use due_after_end)");
	if (sscanf(on, "%2d-%2d%n", &m, &d, &n) != 2 || n != 5 || on[n] != '\0' || m < 1 ||
	    m > 12 || d < 1 || d > (m == 2 ? 28 : m == 4 || m == 6 || m == 9 || m == 11 ? 30 :
	    31))
		return entry_fail(err, i, "due_on", config_setting_get_member(es, "due_on"),
		    "a month and day \"MM-DD\", like \"12-15\" (not Feb 29)");
	e->due_month = m;
	e->due_day = d;
	return 0;
}

static int
entry_from_config(const config_setting_t *es, size_t i, calendar_entry_t *e, cb_error_t *err)
{
	static const char *const known[] = { "name", "report", "roles", "every",
	    "due_after_end", "due_on", NULL };
	const char *name = NULL, *report = NULL, *every = NULL;
	int rc;

	if (!config_setting_is_group(es))
		return entry_fail(err, i, "", es, "expected a group { name, report, ... }");
	for (int k = 0; k < config_setting_length(es); k++) {
		const config_setting_t *s = config_setting_get_elem(es, (unsigned)k);
		int ok = 0;

		for (size_t j = 0; known[j] != NULL; j++)
			ok |= strcmp(config_setting_name(s), known[j]) == 0;
		if (!ok)
			return entry_fail(err, i, config_setting_name(s), s, "unknown setting");
	}
	if (!config_setting_lookup_string(es, "name", &name) || name[0] == '\0' ||
	    strlen(name) >= CALENDAR_NAME_SIZE ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(name))
		return entry_fail(err, i, "name", es, "required: [a-z0-9_]{1,32}");
	snprintf(e->name, sizeof(e->name), "%s", name);
	if (!config_setting_lookup_string(es, "report", &report) ||
	    (strcmp(report, "situation_analysis") != 0 && strcmp(report, "self_evaluation") != 0))
		return entry_fail(err, i, "report", es,
		    "required: situation_analysis or self_evaluation");
	e->report = strcmp(report, "situation_analysis") == 0 ?
	    CLUEBUS__REPORT_TYPE__REPORT_SITUATION_ANALYSIS :
	    CLUEBUS__REPORT_TYPE__REPORT_SELF_EVALUATION;
	if (!config_setting_lookup_string(es, "every", &every) ||
	    (strcmp(every, "half_year") != 0 && strcmp(every, "year") != 0))
		return entry_fail(err, i, "every", es, "required: half_year or year");
	e->every = strcmp(every, "year") == 0 ? CALENDAR_YEAR : CALENDAR_HALF_YEAR;
	if ((rc = entry_roles(es, i, e, err)) != 0)
		return rc;
	return entry_due(es, i, e, err);
}

int
calendar_from_config(const config_setting_t *duties, calendar_t *out, cb_error_t *err)
{
	const config_setting_t *cal, *s_off;
	int off = 480, rc;

	memset(out, 0, sizeof(*out));
	out->utc_offset_min = off;
	if (duties == NULL)
		return 0;
	if (!config_setting_is_group(duties))
		return cb_fail_at(err, "duties", config_setting_source_line(duties), CB_ECONFIG,
		    "expected a group { utc_offset_minutes, calendar }");
	for (int k = 0; k < config_setting_length(duties); k++) {
		const config_setting_t *s = config_setting_get_elem(duties, (unsigned)k);

		if (strcmp(config_setting_name(s), "utc_offset_minutes") != 0 &&
		    strcmp(config_setting_name(s), "calendar") != 0)
			return cb_fail_at(err, "duties", config_setting_source_line(s), CB_ECONFIG,
			    "unknown setting '%s'", config_setting_name(s));
	}
	if ((s_off = config_setting_get_member(duties, "utc_offset_minutes")) != NULL &&
	    (config_setting_type(s_off) != CONFIG_TYPE_INT ||
	    (off = config_setting_get_int(s_off)) < -720 || off > 840))
		return cb_fail_at(err, "duties.utc_offset_minutes",
		    config_setting_source_line(s_off), CB_ECONFIG, "an integer from -720 to 840");
	out->utc_offset_min = off;
	if ((cal = config_setting_get_member(duties, "calendar")) == NULL)
		return 0;
	if (!config_setting_is_list(cal) || config_setting_length(cal) > CALENDAR_MAX)
		return cb_fail_at(err, "duties.calendar", config_setting_source_line(cal),
		    CB_ECONFIG, "expected a list ( {...}, ... ) of at most %d entries",
		    CALENDAR_MAX);
	for (int i = 0; i < config_setting_length(cal); i++) {
		calendar_entry_t *e = &out->entry[out->n];

		if ((rc = entry_from_config(config_setting_get_elem(cal, (unsigned)i),
		    (size_t)i, e, err)) != 0)
			return rc;
		for (size_t j = 0; j < out->n; j++)
			if (strcmp(out->entry[j].name, e->name) == 0)
				return entry_fail(err, (size_t)i, "name",
				    config_setting_get_elem(cal, (unsigned)i), "used twice");
		out->n++;
	}
	return 0;
}

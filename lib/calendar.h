/* lib/calendar.h — the periodic report duties of the broker's config (seed Art 7, 38).
 *
 * A `duties` group names the reports units owe on the calendar: each entry says which
 * report type, which roles owe it (office, district_office, member), its period (a
 * half-year or a year, in the deployment's local time) and when it is due (a duration
 * after the period ends, or a month-day within a yearly period). broker/duties.c opens
 * one duty per owing unit when a period starts, and escalates it when it is missed. */
#ifndef CB_CALENDAR_H
#define CB_CALENDAR_H

#include <stdint.h>

#include <libconfig.h>

#include "cluebus/err.h"
#include "cluebus.pb-c.h"

#define CALENDAR_MAX		16	/* entries */
#define CALENDAR_NAME_SIZE	33

#define CALENDAR_ROLE_OFFICE		0x1
#define CALENDAR_ROLE_DISTRICT_OFFICE	0x2
#define CALENDAR_ROLE_MEMBER		0x4

enum calendar_every {
	CALENDAR_HALF_YEAR = 1,		/* Jan 1 - Jul 1, Jul 1 - Jan 1 */
	CALENDAR_YEAR = 2		/* Jan 1 - Jan 1 */
};

typedef struct calendar_entry {
	char			 name[CALENDAR_NAME_SIZE];	/* [a-z0-9_]{1,32} */
	Cluebus__ReportType	 report;
	unsigned		 roles;		/* CALENDAR_ROLE_* */
	enum calendar_every	 every;
	int64_t			 due_after_end_ms;	/* used when due_month is 0 */
	int			 due_month, due_day;	/* due by the end of that day */
} calendar_entry_t;

typedef struct calendar {
	int			 utc_offset_min;	/* local time (default +08:00) */
	size_t			 n;
	calendar_entry_t	 entry[CALENDAR_MAX];
} calendar_t;

/* Reads the libconfig group `duties` (NULL: no periodic duties) into `out`. Returns 0 or
 * CB_ECONFIG with `err` naming the setting ("duties.calendar[1].due_on"), its line and why.
 * Cannot fail otherwise. */
int	calendar_from_config(const config_setting_t *duties, calendar_t *out, cb_error_t *err)
    __attribute__((warn_unused_result));
/* The period of `e` that contains `t` (ms since the epoch): [*from, *to) and its due time.
 * Cannot fail. */
void	calendar_period(const calendar_t *c, const calendar_entry_t *e, int64_t t,
    int64_t *from, int64_t *to, int64_t *due);
/* The CALENDAR_ROLE_* bit of a registry role, or 0. Cannot fail. */
unsigned calendar_role(const char *role);
/* A report type's name in the config ("situation_analysis"), or NULL. Cannot fail. */
const char *calendar_report_name(Cluebus__ReportType t);

#endif

/* lib/route.h — who receives a message (SPEC §7).
 *
 * Configured, not coded: a table maps clue categories to member units. Every clue also goes
 * to the office (the city 反拐办) and to the district office of its jurisdiction when one is
 * registered; `immediate` clues add the configured units. Referrals, supervisions and
 * reports go to the units they name plus the office. The sender never receives its own
 * message. The decision is recorded in the log entry. */
#ifndef CB_ROUTE_H
#define CB_ROUTE_H

#include <stddef.h>

#include <libconfig.h>

#include "cluebus/err.h"
#include "cluebus/ids.h"
#include "cluebus.pb-c.h"
#include "registry.h"

#define ROUTE_MAX	64	/* recipients of one message */
#define ROUTE_MAX_DIVISIONS 256	/* entries of routing.divisions */

typedef struct route route_t;

typedef struct route_result {
	size_t	n;
	char	units[ROUTE_MAX][CB_UNIT_ID_SIZE];
} route_result_t;

/* Builds a table from the libconfig group `routing` (office, immediate, categories, and the
 * optional `divisions`: a list of "CODE NAME" strings, e.g. "210302 铁东区").
 * Returns 0, or CB_ECONFIG with `err` set (err->line: the line of the offending setting,
 * 0 when the group is missing), or CB_ENOMEM. */
int	route_from_config(const config_setting_t *routing, route_t **out, cb_error_t *err)
    __attribute__((warn_unused_result));
/* Builds a table from `text`, a libconfig document holding the group `routing` (what
 * route_text gives: the broker's table as logged and shipped in the directory), exactly
 * as route_from_config builds it from the broker's config. Returns 0, CB_EMALFORMED with
 * `err` set (the line, or the setting that is wrong), or CB_ENOMEM. Borrows `text`. */
int	route_from_text(const char *text, route_t **out, cb_error_t *err)
    __attribute__((warn_unused_result));
/* The table's text: "routing = { ... };" as libconfig writes the group it was built from.
 * Equal tables from the same settings give equal texts. Borrowed until route_free. */
const char *route_text(const route_t *rt);
/* Checks that every unit the table names is registered. Returns 0 or CB_ECONFIG. */
int	route_check(const route_t *rt, const registry_t *reg, cb_error_t *err)
    __attribute__((warn_unused_result));
/* Computes the recipients of a validated message. Returns 0 (res->n may be 0 only for kinds
 * that route nowhere) or CB_EINVAL for a kind the table cannot route. Cannot fail
 * otherwise. */
int	route_message(const route_t *rt, const registry_t *reg, const Cluebus__Message *m,
    route_result_t *res) __attribute__((warn_unused_result));
/* Adds `unit` to `res` unless it is `sender`, already there, or the result is full.
 * Cannot fail. */
void	route_add(route_result_t *res, const char *unit, const char *sender);
/* Whether a clue's jurisdiction `code` is a configured division: 0 (also when the table
 * configures none), or CB_ENOTFOUND with `valid` (validlen bytes, may be cut) set to the
 * list "210300 鞍山市, 210302 铁东区, ...". Cannot fail otherwise. */
int	route_jurisdiction_check(const route_t *rt, const char *code, char *valid,
    size_t validlen);
/* Whether `unit` is in routing.case_openers (the police units that open cases, Art 18;
 * the offices may always). Cannot fail. */
int	route_case_opener(const route_t *rt, const char *unit);
/* The office unit id. Borrowed. */
const char *route_office(const route_t *rt);
/* The office of `unit`'s own level (Art 38), to which it owes its periodic reports: a
 * member of a division with a registered district office owes that office; any other unit
 * (a district office, a member of a division without one, an unknown unit) the city office.
 * Borrowed. Cannot fail. */
const char *route_level_office(const route_t *rt, const registry_t *reg, const char *unit);
/* What report duties add to a report's recipients, computable by any holder of the
 * registry and the routing table (the broker, broker/duties.c; a sealing agent,
 * lib/sealdir.c): a situation analysis or self-evaluation also goes to its sender's level
 * office (route_level_office). A follow-up report's addition (the referrer of its referral)
 * needs workflow state and is not made here. Cannot fail. */
void	route_add_report_office(const route_t *rt, const registry_t *reg,
    const Cluebus__Message *m, route_result_t *res);
void	route_free(route_t *rt);

#endif

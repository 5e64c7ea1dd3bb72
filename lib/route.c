/* lib/route.c — the routing table: categories -> units, plus office, district, immediate,
 * and the administrative divisions a clue's jurisdiction must be one of.
 *
 * Invariants:
 *   (1) Every unit id in the table is valid; route_check() proves each is registered.
 *   (2) Without `divisions` every 6-digit jurisdiction is routed (the office decides); with
 *       it, a clue whose jurisdiction is not listed is refused before it is logged, and the
 *       refusal lists the valid codes with their names.
 *   (3) A table keeps its text: its `routing` group written back by libconfig from a copy of
 *       the settings (route_text), which the broker logs and ships in the directory and
 *       from which route_from_text() builds the same table on an agent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intake.h"
#include "route.h"
#include "util.h"

#define NCATEGORIES	(CLUEBUS__CATEGORY__CATEGORY_OTHER + 1)

struct unit_list {
	size_t	n;
	char	(*ids)[CB_UNIT_ID_SIZE];
};

struct division {
	char	code[7];
	char	name[64];
};

struct route {
	char		*text;		/* "routing = { ... };" as libconfig writes it */
	char		 office[CB_UNIT_ID_SIZE];
	size_t		 n_divisions;
	struct division	*divisions;
	struct unit_list immediate;
	struct unit_list case_openers;	/* besides the offices: who may open a case */
	struct unit_list categories[NCATEGORIES];
};

static int
list_from_config(const config_setting_t *arr, const char *what, struct unit_list *out,
    cb_error_t *err)
{
	int n;

	if (!config_setting_is_array(arr) && !config_setting_is_list(arr))
		return cb_fail_at(err, what, config_setting_source_line(arr), CB_ECONFIG,
		    "expected a list of unit ids");
	n = config_setting_length(arr);
	if (n > ROUTE_MAX)
		return cb_fail_at(err, what, config_setting_source_line(arr), CB_ECONFIG,
		    "more than %d units", ROUTE_MAX);
	if (n > 0 && (out->ids = calloc((size_t)n, sizeof(*out->ids))) == NULL)
		return CB_ENOMEM;
	for (int i = 0; i < n; i++) {
		const char *id = config_setting_get_string_elem(arr, i);

		if (id == NULL || !unit_id_valid(id))
			return cb_fail_at(err, what, config_setting_source_line(arr), CB_ECONFIG,
			    "entry %d is not a unit id", i);
		snprintf(out->ids[out->n++], sizeof(out->ids[0]), "%s", id);
	}
	return 0;
}

/* Each entry is "CODE" or "CODE NAME": six ASCII digits, then the division's name. */
static int
divisions_from_config(const config_setting_t *arr, route_t *rt, cb_error_t *err)
{
	int n, line = config_setting_source_line(arr);

	if (!config_setting_is_array(arr) && !config_setting_is_list(arr))
		return cb_fail_at(err, "routing.divisions", line, CB_ECONFIG,
		    "expected a list of \"CODE NAME\" strings");
	if ((n = config_setting_length(arr)) > ROUTE_MAX_DIVISIONS)
		return cb_fail_at(err, "routing.divisions", line, CB_ECONFIG,
		    "more than %d divisions", ROUTE_MAX_DIVISIONS);
	if (n > 0 && (rt->divisions = calloc((size_t)n, sizeof(*rt->divisions))) == NULL)
		return CB_ENOMEM;
	for (int i = 0; i < n; i++) {
		const char *e = config_setting_get_string_elem(arr, i);
		struct division *d = &rt->divisions[rt->n_divisions];

		if (e == NULL || strspn(e, "0123456789") != 6 || (e[6] != '\0' && e[6] != ' '))
			return cb_fail_at(err, "routing.divisions", line, CB_ECONFIG,
			    "entry %d is not \"CODE NAME\" with a 6-digit code", i);
		memcpy(d->code, e, 6);
		d->code[6] = '\0';
		if (e[6] == ' ' && strlen(e + 7) >= sizeof(d->name))
			return cb_fail_at(err, "routing.divisions", line, CB_ECONFIG,
			    "entry %d: name longer than %zu bytes", i, sizeof(d->name) - 1);
		snprintf(d->name, sizeof(d->name), "%s", e[6] == ' ' ? e + 7 : "");
		rt->n_divisions++;
	}
	return 0;
}

/* Copies `src` (and its children) into `parent` under the same name. */
static int
setting_copy(config_setting_t *parent, const config_setting_t *src)
{
	int type = config_setting_type(src);
	config_setting_t *dst = config_setting_add(parent, config_setting_name(src), type);
	const char *str;

	if (dst == NULL)
		return CB_ENOMEM;
	switch (type) {
	case CONFIG_TYPE_GROUP:
	case CONFIG_TYPE_ARRAY:
	case CONFIG_TYPE_LIST:
		for (int i = 0; i < config_setting_length(src); i++)
			if (setting_copy(dst, config_setting_get_elem(src, (unsigned)i)) != 0)
				return CB_ENOMEM;
		return 0;
	case CONFIG_TYPE_INT:
		return config_setting_set_int(dst, config_setting_get_int(src)) ? 0 : CB_ENOMEM;
	case CONFIG_TYPE_INT64:
		return config_setting_set_int64(dst, config_setting_get_int64(src)) ? 0 :
		    CB_ENOMEM;
	case CONFIG_TYPE_FLOAT:
		return config_setting_set_float(dst, config_setting_get_float(src)) ? 0 :
		    CB_ENOMEM;
	case CONFIG_TYPE_BOOL:
		return config_setting_set_bool(dst, config_setting_get_bool(src)) ? 0 : CB_ENOMEM;
	default:
		str = config_setting_get_string(src);
		return config_setting_set_string(dst, str != NULL ? str : "") ? 0 : CB_ENOMEM;
	}
}

/* The text of the group `routing` alone, as libconfig writes it: newly allocated. */
static int
route_make_text(const config_setting_t *routing, char **out)
{
	config_t cf;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	config_init(&cf);
	if ((rc = setting_copy(config_root_setting(&cf), routing)) == 0) {
		if ((f = open_memstream(&buf, &len)) == NULL) {
			rc = CB_ENOMEM;
		} else {
			config_write(&cf, f);
			if (fclose(f) != 0 || buf == NULL)
				rc = CB_ENOMEM;
		}
	}
	config_destroy(&cf);
	if (rc != 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	return 0;
}

int
route_from_text(const char *text, route_t **out, cb_error_t *err)
{
	config_t cf;
	int rc;

	config_init(&cf);
	if (!config_read_string(&cf, text)) {
		rc = cb_fail_at(err, "routing", config_error_line(&cf), CB_EMALFORMED,
		    "line %d: %s", config_error_line(&cf), config_error_text(&cf) != NULL ?
		    config_error_text(&cf) : "unreadable");
	} else if ((rc = route_from_config(config_lookup(&cf, "routing"), out, err)) ==
	    CB_ECONFIG) {
		rc = CB_EMALFORMED;
	}
	config_destroy(&cf);
	return rc;
}

const char *
route_text(const route_t *rt)
{
	return rt->text;
}

int
route_from_config(const config_setting_t *routing, route_t **out, cb_error_t *err)
{
	const config_setting_t *divs;
	const config_setting_t *cats, *imm;
	const char *office;
	route_t *rt;
	int rc = CB_ECONFIG;

	if (routing == NULL || !config_setting_is_group(routing))
		return cb_fail(err, "routing", CB_ECONFIG, "missing group");
	if ((rt = calloc(1, sizeof(*rt))) == NULL)
		return CB_ENOMEM;
	if (!config_setting_lookup_string(routing, "office", &office) || !unit_id_valid(office)) {
		rc = cb_fail_at(err, "routing.office", config_setting_source_line(routing),
		    CB_ECONFIG, "required unit id");
		goto fail;
	}
	snprintf(rt->office, sizeof(rt->office), "%s", office);
	if ((imm = config_setting_get_member(routing, "immediate")) != NULL &&
	    (rc = list_from_config(imm, "routing.immediate", &rt->immediate, err)) != 0)
		goto fail;
	if ((imm = config_setting_get_member(routing, "case_openers")) != NULL &&
	    (rc = list_from_config(imm, "routing.case_openers", &rt->case_openers, err)) != 0)
		goto fail;
	if ((divs = config_setting_get_member(routing, "divisions")) != NULL &&
	    (rc = divisions_from_config(divs, rt, err)) != 0)
		goto fail;
	if ((cats = config_setting_get_member(routing, "categories")) == NULL ||
	    !config_setting_is_group(cats)) {
		rc = cb_fail_at(err, "routing.categories", config_setting_source_line(routing),
		    CB_ECONFIG, "required group");
		goto fail;
	}
	for (int i = 0; i < config_setting_length(cats); i++) {
		config_setting_t *c = config_setting_get_elem(cats, (unsigned)i);
		Cluebus__Category cat;
		char what[64];

		snprintf(what, sizeof(what), "routing.categories.%s", config_setting_name(c));
		if (intake_category_parse(config_setting_name(c), &cat) != 0) {
			rc = cb_fail_at(err, what, config_setting_source_line(c), CB_ECONFIG,
			    "not a clue category");
			goto fail;
		}
		if ((rc = list_from_config(c, what, &rt->categories[cat], err)) != 0)
			goto fail;
	}
	if ((rc = route_make_text(routing, &rt->text)) != 0)
		goto fail;
	*out = rt;
	return 0;
fail:
	route_free(rt);
	return rc;
}

static int
list_check(const struct unit_list *l, const registry_t *reg, const char *what, cb_error_t *err)
{
	for (size_t i = 0; i < l->n; i++)
		if (registry_unit(reg, l->ids[i]) == NULL) {
			cb_error_set(err, what, "unit '%s' is not registered", l->ids[i]);
			return CB_ECONFIG;
		}
	return 0;
}

int
route_check(const route_t *rt, const registry_t *reg, cb_error_t *err)
{
	if (registry_unit(reg, rt->office) == NULL) {
		cb_error_set(err, "routing.office", "unit '%s' is not registered", rt->office);
		return CB_ECONFIG;
	}
	if (list_check(&rt->immediate, reg, "routing.immediate", err) != 0 ||
	    list_check(&rt->case_openers, reg, "routing.case_openers", err) != 0)
		return CB_ECONFIG;
	for (int c = 0; c < NCATEGORIES; c++)
		if (list_check(&rt->categories[c], reg, "routing.categories", err) != 0)
			return CB_ECONFIG;
	return 0;
}

void
route_add(route_result_t *res, const char *unit, const char *sender)
{
	if (strcmp(unit, sender) == 0 || res->n >= ROUTE_MAX)
		return;
	for (size_t i = 0; i < res->n; i++)
		if (strcmp(res->units[i], unit) == 0)
			return;
	snprintf(res->units[res->n++], sizeof(res->units[0]), "%s", unit);
}

static void
result_add_many(route_result_t *res, char **units, size_t n, const char *sender)
{
	for (size_t i = 0; i < n; i++)
		route_add(res, units[i], sender);
}

/* The city correlation key goes to the units it names, else to every registered unit
 * with a valid sealing key (docs/correlation.md §6): the key travels sealed only. */
static void
route_key_holders(route_result_t *res, const registry_t *reg, const Cluebus__Message *m)
{
	const Cluebus__CorrelationKey *k = m->correlation_key;

	if (k->n_to_units > 0) {
		result_add_many(res, k->to_units, k->n_to_units, m->sender);
		return;
	}
	for (size_t i = 0; i < registry_count(reg); i++) {
		const reg_unit_t *u = registry_at(reg, i);

		if (registry_current_seal(reg, u->id) != NULL)
			route_add(res, u->id, m->sender);
	}
}

int
route_message(const route_t *rt, const registry_t *reg, const Cluebus__Message *m,
    route_result_t *res)
{
	const struct unit_list *l;
	const reg_unit_t *district;

	res->n = 0;
	route_add(res, rt->office, m->sender);
	switch (m->body_case) {
	case CLUEBUS__MESSAGE__BODY_CLUE:
		l = &rt->categories[m->clue->category < NCATEGORIES ? m->clue->category : 0];
		for (size_t i = 0; i < l->n; i++)
			route_add(res, l->ids[i], m->sender);
		if ((district = registry_district_office(reg, m->clue->jurisdiction)) != NULL)
			route_add(res, district->id, m->sender);
		if (m->priority == CLUEBUS__PRIORITY__PRIORITY_IMMEDIATE)
			for (size_t i = 0; i < rt->immediate.n; i++)
				route_add(res, rt->immediate.ids[i], m->sender);
		return 0;
	case CLUEBUS__MESSAGE__BODY_REFERRAL:
		result_add_many(res, m->referral->to_units, m->referral->n_to_units, m->sender);
		return 0;
	case CLUEBUS__MESSAGE__BODY_SUPERVISION:
		result_add_many(res, m->supervision->units, m->supervision->n_units, m->sender);
		return 0;
	case CLUEBUS__MESSAGE__BODY_REPORT:
		result_add_many(res, m->report->to_units, m->report->n_to_units, m->sender);
		/* A warning notice to a district goes to its office (seed Art 39). */
		if (m->report->district[0] != '\0' &&
		    (district = registry_district_office(reg, m->report->district)) != NULL)
			route_add(res, district->id, m->sender);
		return 0;
	case CLUEBUS__MESSAGE__BODY_CASE_ACTION:
		result_add_many(res, m->case_action->members, m->case_action->n_members,
		    m->sender);
		return 0;
	case CLUEBUS__MESSAGE__BODY_CORRELATION_KEY:
		route_key_holders(res, reg, m);
		return 0;
	case CLUEBUS__MESSAGE__BODY_RECEIPT:
	case CLUEBUS__MESSAGE__BODY_FEEDBACK:
	case CLUEBUS__MESSAGE__BODY_CORRECTION:
	case CLUEBUS__MESSAGE__BODY_PERMISSION:	/* the office, which refers */
		return 0;
	default:
		return CB_EINVAL;
	}
}

int
route_jurisdiction_check(const route_t *rt, const char *code, char *valid, size_t validlen)
{
	size_t used = 0;

	if (validlen > 0)
		valid[0] = '\0';
	if (rt->n_divisions == 0)
		return 0;
	for (size_t i = 0; i < rt->n_divisions; i++)
		if (strcmp(rt->divisions[i].code, code) == 0)
			return 0;
	for (size_t i = 0; i < rt->n_divisions && used < validlen; i++) {
		const struct division *d = &rt->divisions[i];
		int n = snprintf(valid + used, validlen - used, "%s%s%s%s", i > 0 ? ", " : "",
		    d->code, d->name[0] != '\0' ? " " : "", d->name);

		if (n < 0)
			break;
		used += (size_t)n;
	}
	if (validlen > 0)
		str_utf8_trim(valid);
	return CB_ENOTFOUND;
}

int
route_case_opener(const route_t *rt, const char *unit)
{
	for (size_t i = 0; i < rt->case_openers.n; i++)
		if (strcmp(rt->case_openers.ids[i], unit) == 0)
			return 1;
	return 0;
}

const char *
route_office(const route_t *rt)
{
	return rt->office;
}

const char *
route_level_office(const route_t *rt, const registry_t *reg, const char *unit)
{
	const reg_unit_t *u = registry_unit(reg, unit), *district;

	if (u != NULL && strcmp(u->role, "member") == 0 && u->division_code[0] != '\0' &&
	    (district = registry_district_office(reg, u->division_code)) != NULL)
		return district->id;
	return rt->office;
}

void
route_add_report_office(const route_t *rt, const registry_t *reg, const Cluebus__Message *m,
    route_result_t *res)
{
	if (m->body_case != CLUEBUS__MESSAGE__BODY_REPORT || m->report == NULL)
		return;
	if (m->report->type == CLUEBUS__REPORT_TYPE__REPORT_SITUATION_ANALYSIS ||
	    m->report->type == CLUEBUS__REPORT_TYPE__REPORT_SELF_EVALUATION)
		route_add(res, route_level_office(rt, reg, m->sender), m->sender);
}

void
route_free(route_t *rt)
{
	if (rt == NULL)
		return;
	free(rt->text);
	free(rt->divisions);
	free(rt->immediate.ids);
	free(rt->case_openers.ids);
	for (int c = 0; c < NCATEGORIES; c++)
		free(rt->categories[c].ids);
	free(rt);
}

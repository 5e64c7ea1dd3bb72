/* tests/unit/test_route.c — who receives a message (SPEC §7).
 *
 * The table is read the way the broker reads it: a libconfig `routing` group parsed with
 * config_read_string, then route_from_config. The registry is built from a small registry
 * JSON with freshly generated keys, including the district office ato-210302. Every clue
 * goes to the office, its category's units and the district office of its jurisdiction;
 * immediate priority adds the immediate units; the sender never receives its own message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libconfig.h>

#include "cluebus/err.h"
#include "cluebus.pb-c.h"
#include "keys.h"
#include "registry.h"
#include "route.h"
#include "util.h"

static const char routing_text[] =
    "routing:\n"					/* 1 */
    "{\n"						/* 2 */
    "  office = \"ato\";\n"				/* 3 */
    "  immediate = [ \"psb\", \"command\" ];\n"		/* 4 */
    "  categories:\n"					/* 5 */
    "  {\n"						/* 6 */
    "    medical = [ \"psb\", \"health\" ];\n"		/* 7 */
    "    school  = [ \"psb\", \"education\" ];\n"	/* 8 */
    "    dna     = ( \"psb\" );\n"			/* 9 */
    "  };\n"						/* 10 */
    "};\n";

static const char *const registered[][3] = {
	{ "ato", "office", "" },
	{ "psb", "member", "" },
	{ "health", "member", "" },
	{ "education", "member", "" },
	{ "command", "member", "" },
	{ "ato-210302", "district_office", "210302" },
	{ "ato-210303", "district_office", "210303" },
	{ "women-210302", "member", "210302" },
	{ "women-210304", "member", "210304" },
};

struct fixture {
	registry_t	*reg;
	route_t		*rt;
};

/* ---- helpers ---------------------------------------------------------------------------- */

/* Builds the registry JSON of the units above, each with a new key (caller frees). */
static char *
registry_json(size_t nunits)
{
	size_t cap = 4096, off = 0;
	char *json = malloc(cap), hex[2 * KEY_PUBLIC_LEN + 1];

	assert_non_null(json);
	off += (size_t)snprintf(json + off, cap - off, "{\"units\":[");
	for (size_t i = 0; i < nunits; i++) {
		cb_key_t *k = NULL;

		assert_int_equal(key_generate(&k), 0);
		hex_encode(key_public(k), KEY_PUBLIC_LEN, hex);
		key_free(k);
		off += (size_t)snprintf(json + off, cap - off,
		    "%s{\"id\":\"%s\",\"name\":\"单位 %zu\",\"role\":\"%s\",%s%s%s"
		    "\"sign_public\":\"%s\"}", i ? "," : "", registered[i][0], i,
		    registered[i][1], registered[i][2][0] ? "\"division_code\":\"" : "",
		    registered[i][2], registered[i][2][0] ? "\"," : "", hex);
		assert_true(off < cap);
	}
	off += (size_t)snprintf(json + off, cap - off, "]}");
	assert_true(off < cap);
	return json;
}

static registry_t *
registry_build(size_t nunits)
{
	Cluebus__Registry **recs = NULL;
	registry_t *reg = registry_new();
	char *json = registry_json(nunits);
	cb_error_t err;
	size_t n = 0;

	assert_non_null(reg);
	if (registry_parse_json(json, strlen(json), &recs, &n, &err) != 0)
		fail_msg("registry JSON refused: %s: %s", err.field, err.reason);
	assert_int_equal(n, nunits);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(registry_apply(reg, recs[i], 1000, &err), 0);
		protobuf_c_message_free_unpacked(&recs[i]->base, NULL);
	}
	free(recs);
	free(json);
	return reg;
}

/* Parses `text` and builds the table from its `routing` group. Returns what
 * route_from_config returned. */
static int
route_parse(const char *text, route_t **rt, cb_error_t *err)
{
	config_t cf;
	int rc;

	config_init(&cf);
	if (config_read_string(&cf, text) != CONFIG_TRUE)
		fail_msg("line %d: %s", config_error_line(&cf), config_error_text(&cf));
	rc = route_from_config(config_lookup(&cf, "routing"), rt, err);
	config_destroy(&cf);
	return rc;
}

/* Adds a member unit with a new key. */
static void
register_unit(registry_t *reg, const char *id)
{
	Cluebus__Registry rec = CLUEBUS__REGISTRY__INIT;
	uint8_t pub[KEY_PUBLIC_LEN];
	cb_key_t *k = NULL;
	cb_error_t err;

	assert_int_equal(key_generate(&k), 0);
	memcpy(pub, key_public(k), KEY_PUBLIC_LEN);
	key_free(k);
	rec.op = CLUEBUS__REGISTRY_OP__REGISTRY_ADD_UNIT;
	rec.unit = (char *)id;
	rec.name = "海关";
	rec.role = "member";
	rec.sign_public.data = pub;
	rec.sign_public.len = KEY_PUBLIC_LEN;
	assert_int_equal(registry_apply(reg, &rec, 2000, &err), 0);
}

static int
fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	cb_error_t err;

	if (f == NULL)
		return -1;
	f->reg = registry_build(sizeof(registered) / sizeof(registered[0]));
	if (route_parse(routing_text, &f->rt, &err) != 0) {
		registry_free(f->reg);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
fixture_teardown(void **state)
{
	struct fixture *f = *state;

	route_free(f->rt);
	registry_free(f->reg);
	free(f);
	return 0;
}

/* A clue header and body; the caller fills what the test is about. */
struct clue {
	Cluebus__Message	m;
	Cluebus__Clue		c;
};

static void
clue_init(struct clue *cl, const char *sender, Cluebus__Category cat, const char *jur,
    Cluebus__Priority prio)
{
	cluebus__message__init(&cl->m);
	cluebus__clue__init(&cl->c);
	cl->m.sender = (char *)sender;
	cl->m.kind = CLUEBUS__KIND__KIND_CLUE;
	cl->m.priority = prio;
	cl->m.body_case = CLUEBUS__MESSAGE__BODY_CLUE;
	cl->m.clue = &cl->c;
	cl->c.category = cat;
	cl->c.jurisdiction = (char *)jur;
}

/* Asserts that `res` holds exactly the NULL-terminated `want`, in that order. */
static void
assert_recipients(const route_result_t *res, const char *const *want)
{
	size_t n = 0;
	char got[ROUTE_MAX * 34] = "";

	for (size_t i = 0; i < res->n; i++) {
		strcat(got, " ");
		strcat(got, res->units[i]);
	}
	while (want[n] != NULL)
		n++;
	if (res->n != n)
		fail_msg("got %zu recipients {%s }, want %zu", res->n, got, n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(res->units[i], want[i]) != 0)
			fail_msg("recipient %zu is %s, want %s (got {%s })", i,
			    res->units[i], want[i], got);
}

/* ---- clues ------------------------------------------------------------------------------ */

static void
test_a_medical_clue_from_health_in_210302_goes_to_ato_psb_and_the_district(void **state)
{
	static const char *const want[] = { "ato", "psb", "ato-210302", NULL };
	struct fixture *f = *state;
	route_result_t res;
	struct clue cl;

	clue_init(&cl, "health", CLUEBUS__CATEGORY__CATEGORY_MEDICAL, "210302",
	    CLUEBUS__PRIORITY__PRIORITY_ROUTINE);
	assert_int_equal(route_message(f->rt, f->reg, &cl.m, &res), 0);
	assert_recipients(&res, want);
	/* Urgent routes the same as routine. */
	cl.m.priority = CLUEBUS__PRIORITY__PRIORITY_URGENT;
	assert_int_equal(route_message(f->rt, f->reg, &cl.m, &res), 0);
	assert_recipients(&res, want);
}

static void
test_the_sender_never_receives_its_own_clue(void **state)
{
	static const char *const from_psb[] = { "ato", "health", "ato-210302", NULL };
	static const char *const from_ato[] = { "psb", "health", "ato-210303", NULL };
	static const char *const from_district[] = { "ato", "psb", "health", NULL };
	struct fixture *f = *state;
	route_result_t res;
	struct clue cl;

	clue_init(&cl, "psb", CLUEBUS__CATEGORY__CATEGORY_MEDICAL, "210302",
	    CLUEBUS__PRIORITY__PRIORITY_ROUTINE);
	assert_int_equal(route_message(f->rt, f->reg, &cl.m, &res), 0);
	assert_recipients(&res, from_psb);
	clue_init(&cl, "ato", CLUEBUS__CATEGORY__CATEGORY_MEDICAL, "210303",
	    CLUEBUS__PRIORITY__PRIORITY_ROUTINE);
	assert_int_equal(route_message(f->rt, f->reg, &cl.m, &res), 0);
	assert_recipients(&res, from_ato);
	clue_init(&cl, "ato-210302", CLUEBUS__CATEGORY__CATEGORY_MEDICAL, "210302",
	    CLUEBUS__PRIORITY__PRIORITY_ROUTINE);
	assert_int_equal(route_message(f->rt, f->reg, &cl.m, &res), 0);
	assert_recipients(&res, from_district);
}

static void
test_an_immediate_clue_adds_the_immediate_units_once(void **state)
{
	static const char *const want[] = { "ato", "psb", "ato-210302", "command", NULL };
	struct fixture *f = *state;
	route_result_t res;
	struct clue cl;

	clue_init(&cl, "health", CLUEBUS__CATEGORY__CATEGORY_MEDICAL, "210302",
	    CLUEBUS__PRIORITY__PRIORITY_IMMEDIATE);
	assert_int_equal(route_message(f->rt, f->reg, &cl.m, &res), 0);
	assert_recipients(&res, want);
}

static void
test_a_clue_from_a_jurisdiction_without_a_district_office_goes_to_the_city_only(
    void **state)
{
	static const char *const want[] = { "ato", "psb", "education", NULL };
	struct fixture *f = *state;
	route_result_t res;
	struct clue cl;

	clue_init(&cl, "health", CLUEBUS__CATEGORY__CATEGORY_SCHOOL, "210399",
	    CLUEBUS__PRIORITY__PRIORITY_ROUTINE);
	assert_int_equal(route_message(f->rt, f->reg, &cl.m, &res), 0);
	assert_recipients(&res, want);
	/* A member unit's division code does not make it a district office. */
	cl.c.jurisdiction = "";
	assert_int_equal(route_message(f->rt, f->reg, &cl.m, &res), 0);
	assert_recipients(&res, want);
}

static void
test_a_category_the_table_does_not_list_goes_to_the_office_and_district(void **state)
{
	static const char *const want[] = { "ato", "ato-210303", NULL };
	struct fixture *f = *state;
	route_result_t res;
	struct clue cl;

	clue_init(&cl, "health", CLUEBUS__CATEGORY__CATEGORY_CROSS_BORDER, "210303",
	    CLUEBUS__PRIORITY__PRIORITY_ROUTINE);
	assert_int_equal(route_message(f->rt, f->reg, &cl.m, &res), 0);
	assert_recipients(&res, want);
}

static void
test_a_category_given_as_a_list_routes_like_an_array(void **state)
{
	static const char *const want[] = { "ato", "psb", NULL };
	struct fixture *f = *state;
	route_result_t res;
	struct clue cl;

	clue_init(&cl, "health", CLUEBUS__CATEGORY__CATEGORY_DNA, "210399",
	    CLUEBUS__PRIORITY__PRIORITY_ROUTINE);
	assert_int_equal(route_message(f->rt, f->reg, &cl.m, &res), 0);
	assert_recipients(&res, want);
}

/* ---- other kinds ------------------------------------------------------------------------ */

static void
test_a_referral_goes_to_the_units_it_names_plus_the_office(void **state)
{
	static const char *const want[] = { "ato", "education", "psb", NULL };
	char *to[] = { "education", "health", "psb", "education" };
	Cluebus__Message m = CLUEBUS__MESSAGE__INIT;
	Cluebus__Referral r = CLUEBUS__REFERRAL__INIT;
	struct fixture *f = *state;
	route_result_t res;

	m.sender = "health";
	m.kind = CLUEBUS__KIND__KIND_REFERRAL;
	m.priority = CLUEBUS__PRIORITY__PRIORITY_ROUTINE;
	m.body_case = CLUEBUS__MESSAGE__BODY_REFERRAL;
	m.referral = &r;
	r.to_units = to;
	r.n_to_units = 4;
	assert_int_equal(route_message(f->rt, f->reg, &m, &res), 0);
	assert_recipients(&res, want);
}

static void
test_a_supervision_and_a_report_go_to_the_units_they_name_plus_the_office(void **state)
{
	static const char *const want_sup[] = { "psb", "health", NULL };
	static const char *const want_rep[] = { "ato", "command", NULL };
	char *units[] = { "psb", "health" }, *to[] = { "command" };
	Cluebus__Message m = CLUEBUS__MESSAGE__INIT;
	Cluebus__Supervision sup = CLUEBUS__SUPERVISION__INIT;
	Cluebus__Report rep = CLUEBUS__REPORT__INIT;
	struct fixture *f = *state;
	route_result_t res;

	m.sender = "ato";
	m.kind = CLUEBUS__KIND__KIND_SUPERVISION;
	m.body_case = CLUEBUS__MESSAGE__BODY_SUPERVISION;
	m.supervision = &sup;
	sup.units = units;
	sup.n_units = 2;
	assert_int_equal(route_message(f->rt, f->reg, &m, &res), 0);
	assert_recipients(&res, want_sup);
	m.sender = "psb";
	m.kind = CLUEBUS__KIND__KIND_REPORT;
	m.body_case = CLUEBUS__MESSAGE__BODY_REPORT;
	m.report = &rep;
	rep.to_units = to;
	rep.n_to_units = 1;
	assert_int_equal(route_message(f->rt, f->reg, &m, &res), 0);
	assert_recipients(&res, want_rep);
}

static void
test_a_units_level_office_is_its_districts_office_when_registered_else_the_citys(
    void **state)
{
	struct fixture *f = *state;

	assert_string_equal(route_level_office(f->rt, f->reg, "women-210302"), "ato-210302");
	assert_string_equal(route_level_office(f->rt, f->reg, "women-210304"), "ato");
	assert_string_equal(route_level_office(f->rt, f->reg, "psb"), "ato");
	assert_string_equal(route_level_office(f->rt, f->reg, "ato-210302"), "ato");
	assert_string_equal(route_level_office(f->rt, f->reg, "ato"), "ato");
	assert_string_equal(route_level_office(f->rt, f->reg, "nosuch"), "ato");
}

static void
test_a_periodic_report_also_goes_to_its_senders_level_office_whatever_its_duties(
    void **state)
{
	static const char *const want_district[] = { "ato", "ato-210302", NULL };
	static const char *const want_city[] = { "ato", NULL };
	static const char *const want_none[] = { "ato", NULL };
	Cluebus__Message m = CLUEBUS__MESSAGE__INIT;
	Cluebus__Report rep = CLUEBUS__REPORT__INIT;
	struct fixture *f = *state;
	route_result_t res;

	m.sender = "women-210302";
	m.kind = CLUEBUS__KIND__KIND_REPORT;
	m.body_case = CLUEBUS__MESSAGE__BODY_REPORT;
	m.report = &rep;
	rep.type = CLUEBUS__REPORT_TYPE__REPORT_SELF_EVALUATION;
	assert_int_equal(route_message(f->rt, f->reg, &m, &res), 0);
	route_add_report_office(f->rt, f->reg, &m, &res);
	assert_recipients(&res, want_district);
	rep.type = CLUEBUS__REPORT_TYPE__REPORT_SITUATION_ANALYSIS;
	assert_int_equal(route_message(f->rt, f->reg, &m, &res), 0);
	route_add_report_office(f->rt, f->reg, &m, &res);
	assert_recipients(&res, want_district);
	/* A follow-up report's addition needs workflow state: not made here. */
	rep.type = CLUEBUS__REPORT_TYPE__REPORT_FOLLOW_UP;
	assert_int_equal(route_message(f->rt, f->reg, &m, &res), 0);
	route_add_report_office(f->rt, f->reg, &m, &res);
	assert_recipients(&res, want_none);
	m.sender = "women-210304";
	rep.type = CLUEBUS__REPORT_TYPE__REPORT_SELF_EVALUATION;
	assert_int_equal(route_message(f->rt, f->reg, &m, &res), 0);
	route_add_report_office(f->rt, f->reg, &m, &res);
	assert_recipients(&res, want_city);
}

static void
test_a_kind_the_table_cannot_route_is_refused(void **state)
{
	Cluebus__Message m = CLUEBUS__MESSAGE__INIT;
	Cluebus__Registry r = CLUEBUS__REGISTRY__INIT;
	Cluebus__Escalation e = CLUEBUS__ESCALATION__INIT;
	struct fixture *f = *state;
	route_result_t res;

	m.sender = "health";
	m.kind = CLUEBUS__KIND__KIND_REGISTRY;
	m.body_case = CLUEBUS__MESSAGE__BODY_REGISTRY;
	m.registry = &r;
	assert_int_equal(route_message(f->rt, f->reg, &m, &res), CB_EINVAL);
	m.kind = CLUEBUS__KIND__KIND_ESCALATION;
	m.body_case = CLUEBUS__MESSAGE__BODY_ESCALATION;
	m.escalation = &e;
	assert_int_equal(route_message(f->rt, f->reg, &m, &res), CB_EINVAL);
	m.body_case = CLUEBUS__MESSAGE__BODY__NOT_SET;
	assert_int_equal(route_message(f->rt, f->reg, &m, &res), CB_EINVAL);
}

/* ---- the table itself ------------------------------------------------------------------- */

static void
test_the_office_is_the_configured_unit(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(route_office(f->rt), "ato");
}

static void
test_a_table_naming_only_registered_units_passes_the_check(void **state)
{
	struct fixture *f = *state;
	cb_error_t err;

	if (route_check(f->rt, f->reg, &err) != 0)
		fail_msg("%s: %s", err.field, err.reason);
}

static void
test_a_table_naming_an_unregistered_unit_fails_the_check(void **state)
{
	static const char *const texts[][3] = {
		{ "routing: { office = \"ato\"; categories: { medical = [ \"psb\", \"customs\" ]; "
		  "}; };", "routing.categories", "unit 'customs' is not registered" },
		{ "routing: { office = \"city-ato\"; categories: { }; };", "routing.office",
		  "unit 'city-ato' is not registered" },
		{ "routing: { office = \"ato\"; immediate = [ \"swat\" ]; categories: { }; };",
		  "routing.immediate", "unit 'swat' is not registered" },
	};
	struct fixture *f = *state;
	route_t *rt = NULL;
	cb_error_t err;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		assert_int_equal(route_parse(texts[i][0], &rt, &err), 0);
		assert_int_equal(route_check(rt, f->reg, &err), CB_ECONFIG);
		assert_string_equal(err.field, texts[i][1]);
		assert_string_equal(err.reason, texts[i][2]);
		route_free(rt);
		rt = NULL;
	}
	/* The same table passes once the unit is registered. */
	register_unit(f->reg, "customs");
	assert_int_equal(route_parse(texts[0][0], &rt, &err), 0);
	if (route_check(rt, f->reg, &err) != 0)
		fail_msg("%s: %s", err.field, err.reason);
	route_free(rt);
}

static void
test_without_divisions_every_six_digit_jurisdiction_is_accepted(void **state)
{
	struct fixture *f = *state;
	char valid[256] = "x";

	assert_int_equal(route_jurisdiction_check(f->rt, "999999", valid, sizeof(valid)), 0);
	assert_string_equal(valid, "");
}

static void
test_with_divisions_only_a_listed_jurisdiction_is_accepted_and_listed_when_not(void **state)
{
	route_t *rt = NULL;
	cb_error_t err;
	char valid[256];

	(void)state;
	assert_int_equal(route_parse("routing: { office = \"ato\"; divisions = [ "
	    "\"210300 鞍山市\", \"210302 铁东区\", \"210381\" ]; categories: { }; };", &rt,
	    &err), 0);
	assert_int_equal(route_jurisdiction_check(rt, "210302", valid, sizeof(valid)), 0);
	assert_int_equal(route_jurisdiction_check(rt, "210381", valid, sizeof(valid)), 0);
	assert_int_equal(route_jurisdiction_check(rt, "999999", valid, sizeof(valid)),
	    CB_ENOTFOUND);
	assert_string_equal(valid, "210300 鞍山市, 210302 铁东区, 210381");
	/* A list cut short ends at a whole character: "210300 鞍" and no stray byte. */
	assert_int_equal(route_jurisdiction_check(rt, "000000", valid, 13), CB_ENOTFOUND);
	assert_string_equal(valid, "210300 鞍");
	route_free(rt);
}

struct bad_table {
	const char	*name;
	const char	*text;
	const char	*field;		/* err.field, exactly */
	const char	*reason;	/* a piece of err.reason */
	int		 line;		/* err.line: the offending setting's, 0 without one */
};

static const struct bad_table bad_tables[] = {
	{ "An unknown category name is refused with its line",
	    "routing:\n{\n  office = \"ato\";\n  categories:\n  {\n    medicine = [ \"psb\" ];\n"
	    "  };\n};\n", "routing.categories.medicine", "not a clue category", 6 },
	{ "A category spelt in capitals is refused",
	    "routing: { office = \"ato\"; categories: { Medical = [ \"psb\" ]; }; };",
	    "routing.categories.Medical", "not a clue category", 1 },
	{ "The unspecified category is not a name the table accepts",
	    "routing: { office = \"ato\"; categories: { unspecified = [ \"psb\" ]; }; };",
	    "routing.categories.unspecified", "not a clue category", 1 },
	{ "A table without an office is refused",
	    "routing: { categories: { }; };", "routing.office", "required unit id", 1 },
	{ "An office that is not a unit id is refused",
	    "routing: { office = \"ATO\"; categories: { }; };", "routing.office",
	    "required unit id", 1 },
	{ "An office that is not a string is refused",
	    "routing: { office = 7; categories: { }; };", "routing.office", "required unit id",
	    1 },
	{ "A table without categories is refused",
	    "routing: { office = \"ato\"; };", "routing.categories", "required group", 1 },
	{ "Categories that are a list rather than a group are refused",
	    "routing: { office = \"ato\"; categories = ( \"psb\" ); };", "routing.categories",
	    "required group", 1 },
	{ "A unit list entry that is not a unit id is refused",
	    "routing: { office = \"ato\"; categories: { medical = [ \"psb\", \"Health\" ]; }; };",
	    "routing.categories.medical", "entry 1 is not a unit id", 1 },
	{ "A unit list entry that is not a string is refused",
	    "routing: { office = \"ato\"; categories: { medical = ( \"psb\", 3 ); }; };",
	    "routing.categories.medical", "entry 1 is not a unit id", 1 },
	{ "A category that is a single string rather than a list is refused",
	    "routing: { office = \"ato\"; categories: { medical = \"psb\"; }; };",
	    "routing.categories.medical", "expected a list of unit ids", 1 },
	{ "An immediate setting that is not a list is refused",
	    "routing: { office = \"ato\"; immediate = \"psb\"; categories: { }; };",
	    "routing.immediate", "expected a list of unit ids", 1 },
	{ "A category with more than 64 units is refused",
	    "routing: { office = \"ato\"; categories: { medical = ["
	    "\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\","
	    "\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\","
	    "\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\","
	    "\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\","
	    "\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\""
	    "]; }; };", "routing.categories.medical", "more than 64 units", 1 },
	{ "A division entry without a 6-digit code is refused",
	    "routing: { office = \"ato\"; divisions = [ \"21030 铁东区\" ]; categories: { }; };",
	    "routing.divisions", "entry 0 is not \"CODE NAME\"", 1 },
	{ "Divisions given as a single string are refused",
	    "routing: { office = \"ato\"; divisions = \"210302\"; categories: { }; };",
	    "routing.divisions", "expected a list", 1 },
	{ "A missing routing group is refused",
	    "broker: { };", "routing", "missing group", 0 },
	{ "A routing setting that is not a group is refused",
	    "routing = 5;", "routing", "missing group", 0 },
};

static void
test_bad_table(void **state)
{
	const struct bad_table *row = *state;
	route_t *rt = NULL;
	cb_error_t err;
	int rc;

	memset(&err, 0x5a, sizeof(err));	/* a field left unset shows */
	rc = route_parse(row->text, &rt, &err);
	if (rc != CB_ECONFIG)
		fail_msg("got %s, want invalid configuration", cb_strerror(rc));
	assert_null(rt);
	assert_string_equal(err.field, row->field);
	if (strstr(err.reason, row->reason) == NULL)
		fail_msg("reason \"%s\" does not say \"%s\"", err.reason, row->reason);
	assert_int_equal(err.line, row->line);
}

int
main(void)
{
#define T(fn)	cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
	static const struct CMUnitTest fixed[] = {
		T(test_a_medical_clue_from_health_in_210302_goes_to_ato_psb_and_the_district),
		T(test_the_sender_never_receives_its_own_clue),
		T(test_an_immediate_clue_adds_the_immediate_units_once),
		T(test_a_clue_from_a_jurisdiction_without_a_district_office_goes_to_the_city_only),
		T(test_a_category_the_table_does_not_list_goes_to_the_office_and_district),
		T(test_a_category_given_as_a_list_routes_like_an_array),
		T(test_a_referral_goes_to_the_units_it_names_plus_the_office),
		T(test_a_supervision_and_a_report_go_to_the_units_they_name_plus_the_office),
		T(test_a_kind_the_table_cannot_route_is_refused),
		T(test_a_units_level_office_is_its_districts_office_when_registered_else_the_citys),
		T(test_a_periodic_report_also_goes_to_its_senders_level_office_whatever_its_duties),
		T(test_the_office_is_the_configured_unit),
		T(test_a_table_naming_only_registered_units_passes_the_check),
		T(test_a_table_naming_an_unregistered_unit_fails_the_check),
		T(test_without_divisions_every_six_digit_jurisdiction_is_accepted),
		T(test_with_divisions_only_a_listed_jurisdiction_is_accepted_and_listed_when_not),
	};
#undef T
	enum { NBAD = sizeof(bad_tables) / sizeof(bad_tables[0]) };
	static struct CMUnitTest refused[NBAD];
	int failed;

	for (size_t i = 0; i < NBAD; i++) {
		refused[i].name = bad_tables[i].name;
		refused[i].test_func = test_bad_table;
		refused[i].initial_state = (void *)&bad_tables[i];
	}
	failed = cmocka_run_group_tests_name("route", fixed, NULL, NULL);
	failed += _cmocka_run_group_tests("route table refusals", refused, NBAD, NULL, NULL);
	return failed != 0;
}

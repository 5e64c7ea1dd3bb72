/* tests/unit/test_directory.c — the signed directory: build, sign, verify, parse, keep, use.
 *
 * A registry with a broker, an office, a district office and two members (one whose
 * signing and sealing keys were rotated) and a routing table is built into a directory by
 * the broker's code, opened with the agent's, and must answer as the original: the same
 * recipients for a clue, the same key valid at each time, the names. A tampered byte or
 * another broker key is refused. The bad inputs of directory_parse are one table
 * (bad_dirs[]): each row changes one thing of a good Directory, and must be refused with
 * the code, field and reason it names. Open cases' task forces are listed sorted and found
 * by case_ref; the broker refuses to sign any over the bounds or naming an unknown unit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cluebus/err.h"
#include "cluebus.pb-c.h"
#include "directory.h"
#include "keys.h"
#include "registry.h"
#include "route.h"
#include "sealkey.h"

#define ROUTING	"routing = { office = \"ato\"; immediate = [\"psb\"];\n" \
		"  categories = { medical = [\"health\"]; school = [\"psb\", \"health\"]; }; };\n"

struct fixture {
	cb_key_t	*broker, *other, *health_old, *health_new;
	registry_t	*reg;		/* the broker's */
	registry_t	*trust;		/* what an agent knows: the broker's key */
	route_t		*route;
	uint8_t		 seal1[32], seal2[32];
};

static void
apply(registry_t *r, Cluebus__RegistryOp op, const char *unit, const char *role,
    const char *div, const cb_key_t *k, const uint8_t *seal, int64_t at)
{
	Cluebus__Registry rec = CLUEBUS__REGISTRY__INIT;
	cb_error_t err;

	rec.op = op;
	rec.unit = (char *)unit;
	rec.name = (char *)(strcmp(unit, "ato") == 0 ? "市反拐办" : "单位");
	rec.role = (char *)role;
	rec.division_code = (char *)div;
	if (k != NULL) {
		rec.sign_public.data = (uint8_t *)key_public(k);
		rec.sign_public.len = KEY_PUBLIC_LEN;
	}
	if (seal != NULL) {
		rec.seal_public.data = (uint8_t *)seal;
		rec.seal_public.len = 32;
	}
	assert_int_equal(registry_apply(r, &rec, at, &err), 0);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	cb_error_t err;

	assert_non_null(f);
	assert_int_equal(key_generate(&f->broker), 0);
	assert_int_equal(key_generate(&f->other), 0);
	assert_int_equal(key_generate(&f->health_old), 0);
	assert_int_equal(key_generate(&f->health_new), 0);
	memset(f->seal1, 0x31, 32);
	memset(f->seal2, 0x32, 32);
	f->reg = registry_new();
	f->trust = registry_new();
	assert_non_null(f->reg);
	apply(f->reg, CLUEBUS__REGISTRY_OP__REGISTRY_BROKER_KEY, "broker", "broker", "",
	    f->broker, NULL, 1);
	apply(f->trust, CLUEBUS__REGISTRY_OP__REGISTRY_BROKER_KEY, "broker", "broker", "",
	    f->broker, NULL, 1);
	apply(f->reg, CLUEBUS__REGISTRY_OP__REGISTRY_ADD_UNIT, "ato", "office", "", f->other,
	    f->seal1, 2);
	apply(f->reg, CLUEBUS__REGISTRY_OP__REGISTRY_ADD_UNIT, "psb", "member", "", f->other,
	    f->seal2, 3);
	apply(f->reg, CLUEBUS__REGISTRY_OP__REGISTRY_ADD_UNIT, "ato-210302", "district_office",
	    "210302", f->other, f->seal1, 4);
	apply(f->reg, CLUEBUS__REGISTRY_OP__REGISTRY_ADD_UNIT, "health", "member", "",
	    f->health_old, f->seal1, 10);
	apply(f->reg, CLUEBUS__REGISTRY_OP__REGISTRY_ROTATE_KEY, "health", "", "",
	    f->health_new, NULL, 100);
	apply(f->reg, CLUEBUS__REGISTRY_OP__REGISTRY_ROTATE_SEAL_KEY, "health", "", "", NULL,
	    f->seal2, 200);
	assert_int_equal(route_from_text(ROUTING, &f->route, &err), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	key_free(f->broker);
	key_free(f->other);
	key_free(f->health_old);
	key_free(f->health_new);
	registry_free(f->reg);
	registry_free(f->trust);
	route_free(f->route);
	free(f);
	return 0;
}

static directory_t *
build_open(struct fixture *f, uint64_t version)
{
	directory_t *d = NULL;
	uint8_t *buf;
	size_t len;
	cb_error_t err;

	assert_int_equal(directory_build(f->reg, route_text(f->route), version, 500, f->broker,
	    &buf, &len), 0);
	assert_int_equal(directory_open(buf, len, f->trust, &d, &err), 0);
	free(buf);
	return d;
}

static void
test_an_opened_directory_routes_as_the_broker_does(void **state)
{
	struct fixture *f = *state;
	Cluebus__Message m = CLUEBUS__MESSAGE__INIT;
	Cluebus__Clue clue = CLUEBUS__CLUE__INIT;
	route_result_t mine, broker;
	directory_t *d = build_open(f, 42);

	assert_int_equal(directory_version(d), 42);
	assert_int_equal(directory_issued_ms(d), 500);
	m.sender = "psb";
	m.kind = CLUEBUS__KIND__KIND_CLUE;
	m.priority = CLUEBUS__PRIORITY__PRIORITY_IMMEDIATE;
	m.body_case = CLUEBUS__MESSAGE__BODY_CLUE;
	m.clue = &clue;
	clue.category = CLUEBUS__CATEGORY__CATEGORY_MEDICAL;
	clue.jurisdiction = "210302";
	assert_int_equal(route_message(f->route, f->reg, &m, &broker), 0);
	assert_int_equal(directory_recipients(d, &m, &mine), 0);
	assert_int_equal(mine.n, broker.n);
	assert_int_equal(mine.n, 3);	/* ato, the district office, health (not psb: sender) */
	for (size_t i = 0; i < mine.n; i++)
		assert_string_equal(mine.units[i], broker.units[i]);
	assert_string_equal(directory_unit_name(d, "ato"), "市反拐办");
	assert_null(directory_unit_name(d, "nosuch"));
	directory_free(d);
}

static void
test_key_histories_survive_the_directory(void **state)
{
	struct fixture *f = *state;
	directory_t *d = build_open(f, 7);
	const cb_key_t *k;
	const sealkey_t *s;

	assert_int_equal(directory_signing_key_at(d, "health", key_id(f->health_old), KEY_ID_LEN,
	    50, &k), REG_KEY_OK);
	assert_memory_equal(key_public(k), key_public(f->health_old), KEY_PUBLIC_LEN);
	assert_int_equal(directory_signing_key_at(d, "health", key_id(f->health_old), KEY_ID_LEN,
	    150, &k), REG_KEY_REVOKED);
	assert_int_equal(directory_signing_key_at(d, "health", key_id(f->health_new), KEY_ID_LEN,
	    150, &k), REG_KEY_OK);
	assert_int_equal(directory_signing_key_at(d, "nosuch", key_id(f->health_new), KEY_ID_LEN,
	    150, &k), REG_KEY_UNKNOWN_UNIT);
	/* The rotated sealing key: the old one valid until the rotation, the new one after. */
	assert_non_null(s = directory_seal_key(d, "health"));
	assert_memory_equal(sealkey_public(s), f->seal2, 32);
	assert_memory_equal(sealkey_public(directory_seal_key_at(d, "health", 150)), f->seal1,
	    32);
	assert_null(directory_seal_key_at(d, "health", 5));
	assert_null(directory_seal_key(d, "broker"));
	directory_free(d);
}

static void
test_seal_recipients_give_each_recipient_its_current_sealing_key(void **state)
{
	struct fixture *f = *state;
	Cluebus__Message m = CLUEBUS__MESSAGE__INIT;
	Cluebus__Clue clue = CLUEBUS__CLUE__INIT;
	seal_recipient_t rcpt[ROUTE_MAX];
	route_result_t res;
	directory_t *d = build_open(f, 7);
	cb_error_t err;
	size_t n;

	m.sender = "ato";
	m.kind = CLUEBUS__KIND__KIND_CLUE;
	m.body_case = CLUEBUS__MESSAGE__BODY_CLUE;
	m.clue = &clue;
	clue.category = CLUEBUS__CATEGORY__CATEGORY_SCHOOL;
	clue.jurisdiction = "210311";
	assert_int_equal(directory_seal_recipients(d, &m, &res, rcpt, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(rcpt[0].unit, "psb");
	assert_memory_equal(sealkey_public(rcpt[0].key), f->seal2, 32);
	assert_string_equal(rcpt[1].unit, "health");
	assert_memory_equal(sealkey_public(rcpt[1].key), f->seal2, 32);
	directory_free(d);

	/* A recipient without a sealing key is named. */
	apply(f->reg, CLUEBUS__REGISTRY_OP__REGISTRY_REVOKE_SEAL_KEY, "psb", "", "", NULL, NULL,
	    300);
	d = build_open(f, 8);
	assert_int_equal(directory_seal_recipients(d, &m, &res, rcpt, &n, &err), CB_ENOTFOUND);
	assert_string_equal(err.field, "psb");
	directory_free(d);
}

static void
test_a_tampered_or_foreign_directory_is_refused(void **state)
{
	struct fixture *f = *state;
	directory_t *d = NULL;
	uint8_t *buf;
	size_t len;
	cb_error_t err;

	assert_int_equal(directory_build(f->reg, route_text(f->route), 3, 500, f->broker, &buf,
	    &len), 0);
	buf[len / 2] ^= 1;
	assert_int_not_equal(directory_open(buf, len, f->trust, &d, &err), 0);
	assert_null(d);
	free(buf);
	assert_int_equal(directory_build(f->reg, route_text(f->route), 3, 500, f->other, &buf,
	    &len), 0);
	assert_int_equal(directory_open(buf, len, f->trust, &d, &err), CB_EBADSIG);
	assert_string_equal(err.field, "signature");
	free(buf);
	/* Issued before the broker's key was valid. */
	assert_int_equal(directory_build(f->reg, route_text(f->route), 3, 0, f->broker, &buf,
	    &len), 0);
	assert_int_equal(directory_open(buf, len, f->trust, &d, &err), CB_EBADSIG);
	free(buf);
}

static void
test_a_kept_directory_loads_again(void **state)
{
	struct fixture *f = *state;
	char dir[] = "/tmp/test_directory.XXXXXX", path[64];
	directory_t *d = build_open(f, 9), *back = NULL;
	const uint8_t *a, *b;
	size_t alen, blen;
	cb_error_t err;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, DIRECTORY_FILE);
	assert_int_equal(directory_load(path, f->trust, &back, &err), CB_ENOTFOUND);
	assert_int_equal(directory_save(d, path), 0);
	assert_int_equal(directory_load(path, f->trust, &back, &err), 0);
	assert_int_equal(directory_version(back), 9);
	a = directory_signed_bytes(d, &alen);
	b = directory_signed_bytes(back, &blen);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	directory_free(d);
	directory_free(back);
	unlink(path);
	rmdir(dir);
}

static void
test_open_cases_task_forces_are_listed_and_found(void **state)
{
	struct fixture *f = *state;
	char *a[] = { "psb", "health" }, *b[] = { "ato-210302" }, *ghost[] = { "ghost" };
	char *many[DIRECTORY_MAX_CASE_MEMBERS + 1];
	directory_task_force_t tf[] = { { "AS-2026-9", a, 2 }, { "AS-2026-1", b, 1 } };
	directory_task_force_t bad = { "AS-2026-2", ghost, 1 };
	directory_task_force_t *lots;
	directory_t *d = NULL;
	char *const *units;
	uint8_t *buf;
	size_t len, n;
	cb_error_t err;

	assert_int_equal(directory_build_cases(f->reg, route_text(f->route), tf, 2, 11, 500,
	    f->broker, &buf, &len), 0);
	assert_int_equal(directory_open(buf, len, f->trust, &d, &err), 0);
	free(buf);
	assert_int_equal(directory_case_count(d), 2);
	assert_int_equal(directory_case_members(d, "AS-2026-9", &units, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(units[0], "psb");
	assert_string_equal(units[1], "health");
	assert_int_equal(directory_case_members(d, "AS-2026-1", &units, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(units[0], "ato-210302");
	assert_int_equal(directory_case_members(d, "AS-2026-5", &units, &n), CB_ENOTFOUND);
	assert_int_equal(n, 0);
	assert_int_equal(directory_case_members(d, "", &units, &n), CB_ENOTFOUND);
	directory_free(d);

	/* The broker never signs a task force the agents would refuse. */
	assert_int_equal(directory_build_cases(f->reg, route_text(f->route), &bad, 1, 12, 500,
	    f->broker, &buf, &len), CB_EINVAL);
	for (size_t i = 0; i <= DIRECTORY_MAX_CASE_MEMBERS; i++)
		many[i] = "psb";
	bad = (directory_task_force_t){ "AS-2026-3", many, 2 };
	assert_int_equal(directory_build_cases(f->reg, route_text(f->route), &bad, 1, 12, 500,
	    f->broker, &buf, &len), CB_EINVAL);
	assert_non_null(lots = calloc(DIRECTORY_MAX_TASK_FORCES + 1, sizeof(*lots)));
	for (size_t i = 0; i <= DIRECTORY_MAX_TASK_FORCES; i++)
		lots[i] = (directory_task_force_t){ "AS", b, 1 };
	assert_int_equal(directory_build_cases(f->reg, route_text(f->route), lots,
	    DIRECTORY_MAX_TASK_FORCES + 1, 12, 500, f->broker, &buf, &len), CB_EINVAL);
	assert_int_equal(directory_build_cases(f->reg, route_text(f->route), lots, 2, 12, 500,
	    f->broker, &buf, &len), CB_EINVAL);	/* the same case twice */
	free(lots);
}

static void
test_routing_text_round_trips(void **state)
{
	struct fixture *f = *state;
	route_t *again;
	cb_error_t err;

	assert_int_equal(route_from_text(route_text(f->route), &again, &err), 0);
	assert_string_equal(route_text(again), route_text(f->route));
	route_free(again);
	assert_int_equal(route_from_text("routing = { office = ", &again, &err), CB_EMALFORMED);
	assert_string_equal(err.field, "routing");
}

/* ---- bad inputs of directory_parse ---- */

struct bad_dir {
	const char	*name;
	void		(*spoil)(Cluebus__Directory *d, Cluebus__DirectoryUnit *u,
			    Cluebus__DirectoryKey *k);
	int		 code;
	const char	*field;
	const char	*reason;
};

static uint8_t pub32[32] = { 1 }, pub31[31];

static void spoil_nothing(Cluebus__Directory *d, Cluebus__DirectoryUnit *u,
    Cluebus__DirectoryKey *k) { (void)d; (void)u; (void)k; }
static void spoil_no_units(Cluebus__Directory *d, Cluebus__DirectoryUnit *u,
    Cluebus__DirectoryKey *k) { (void)u; (void)k; d->n_units = 0; }
static void spoil_unit_id(Cluebus__Directory *d, Cluebus__DirectoryUnit *u,
    Cluebus__DirectoryKey *k) { (void)d; (void)k; u->id = "Not_An_Id"; }
static void spoil_twice(Cluebus__Directory *d, Cluebus__DirectoryUnit *u,
    Cluebus__DirectoryKey *k) { (void)u; (void)k; d->units[1] = d->units[0]; }
static void spoil_key_len(Cluebus__Directory *d, Cluebus__DirectoryUnit *u,
    Cluebus__DirectoryKey *k) { (void)d; (void)u; k->public_key.data = pub31;
    k->public_key.len = 31; }
static void spoil_validity(Cluebus__Directory *d, Cluebus__DirectoryUnit *u,
    Cluebus__DirectoryKey *k) { (void)d; (void)u; k->valid_from_ms = 50;
    k->valid_until_ms = 20; }
static void spoil_overlap(Cluebus__Directory *d, Cluebus__DirectoryUnit *u,
    Cluebus__DirectoryKey *k) { (void)d; u->sign_keys[1] = k; u->n_sign_keys = 2; }
static void spoil_no_routing(Cluebus__Directory *d, Cluebus__DirectoryUnit *u,
    Cluebus__DirectoryKey *k) { (void)u; (void)k; d->routing = ""; }
static void spoil_routing_syntax(Cluebus__Directory *d, Cluebus__DirectoryUnit *u,
    Cluebus__DirectoryKey *k) { (void)u; (void)k; d->routing = "routing = {"; }
static void spoil_routing_unit(Cluebus__Directory *d, Cluebus__DirectoryUnit *u,
    Cluebus__DirectoryKey *k) { (void)u; (void)k;
    d->routing = "routing = { office = \"nobody\"; categories = { }; };"; }
static void spoil_transport(Cluebus__Directory *d, Cluebus__DirectoryUnit *u,
    Cluebus__DirectoryKey *k) { (void)d; (void)u; k->transport_public.data = pub31;
    k->transport_public.len = 31; }
static void spoil_role(Cluebus__Directory *d, Cluebus__DirectoryUnit *u,
    Cluebus__DirectoryKey *k) { (void)d; (void)k;
    u->role = "a-role-far-too-long-for-the-registry"; }
static void spoil_task_force(Cluebus__Directory *d, Cluebus__DirectoryUnit *u,
    Cluebus__DirectoryKey *k) {
	static Cluebus__DirectoryTaskForce tf = CLUEBUS__DIRECTORY_TASK_FORCE__INIT;
	static Cluebus__DirectoryTaskForce *tfs[1] = { &tf };
	static char *units[1] = { "ghost" };
	(void)u; (void)k;
	tf.case_ref = "AS-2026-1";
	tf.units = units;
	tf.n_units = 1;
	d->task_forces = tfs;
	d->n_task_forces = 1;
}
/* Task forces of `n` cases: refs[i] with units[i] (NULL-terminated lists). */
static Cluebus__DirectoryTaskForce tfbuf[DIRECTORY_MAX_TASK_FORCES + 1];
static Cluebus__DirectoryTaskForce *tfp[DIRECTORY_MAX_TASK_FORCES + 1];
static void
set_task_forces(Cluebus__Directory *d, size_t n, const char *const *refs,
    char **const *units, const size_t *nunits)
{
	for (size_t i = 0; i < n; i++) {
		cluebus__directory_task_force__init(&tfbuf[i]);
		tfbuf[i].case_ref = (char *)refs[i];
		tfbuf[i].units = units[i];
		tfbuf[i].n_units = nunits[i];
		tfp[i] = &tfbuf[i];
	}
	d->task_forces = tfp;
	d->n_task_forces = n;
}
static char *tf_ato[] = { "ato" }, *tf_both[] = { "ato", "psb" },
    *tf_twice[] = { "psb", "psb" };
static char *tf_many[DIRECTORY_MAX_CASE_MEMBERS + 1];
static void spoil_tf_good(Cluebus__Directory *d, Cluebus__DirectoryUnit *u,
    Cluebus__DirectoryKey *k) { static const char *const r[] = { "AS-1", "AS-2" };
    char **const un[] = { tf_ato, tf_both }; const size_t nn[] = { 1, 2 }; (void)u; (void)k;
    set_task_forces(d, 2, r, un, nn); }
static void spoil_tf_empty_ref(Cluebus__Directory *d, Cluebus__DirectoryUnit *u,
    Cluebus__DirectoryKey *k) { static const char *const r[] = { "" };
    char **const un[] = { tf_ato }; const size_t nn[] = { 1 }; (void)u; (void)k;
    set_task_forces(d, 1, r, un, nn); }
static void spoil_tf_long_ref(Cluebus__Directory *d, Cluebus__DirectoryUnit *u,
    Cluebus__DirectoryKey *k) { static char ref[DIRECTORY_MAX_CASE_REF + 2];
    static const char *r[1]; char **const un[] = { tf_ato }; const size_t nn[] = { 1 };
    (void)u; (void)k; memset(ref, 'A', DIRECTORY_MAX_CASE_REF + 1); r[0] = ref;
    set_task_forces(d, 1, r, un, nn); }
static void spoil_tf_order(Cluebus__Directory *d, Cluebus__DirectoryUnit *u,
    Cluebus__DirectoryKey *k) { static const char *const r[] = { "AS-2", "AS-1" };
    char **const un[] = { tf_ato, tf_ato }; const size_t nn[] = { 1, 1 }; (void)u; (void)k;
    set_task_forces(d, 2, r, un, nn); }
static void spoil_tf_repeat(Cluebus__Directory *d, Cluebus__DirectoryUnit *u,
    Cluebus__DirectoryKey *k) { static const char *const r[] = { "AS-1", "AS-1" };
    char **const un[] = { tf_ato, tf_ato }; const size_t nn[] = { 1, 1 }; (void)u; (void)k;
    set_task_forces(d, 2, r, un, nn); }
static void spoil_tf_no_units(Cluebus__Directory *d, Cluebus__DirectoryUnit *u,
    Cluebus__DirectoryKey *k) { static const char *const r[] = { "AS-1" };
    char **const un[] = { NULL }; const size_t nn[] = { 0 }; (void)u; (void)k;
    set_task_forces(d, 1, r, un, nn); }
static void spoil_tf_unit_twice(Cluebus__Directory *d, Cluebus__DirectoryUnit *u,
    Cluebus__DirectoryKey *k) { static const char *const r[] = { "AS-1" };
    char **const un[] = { tf_twice }; const size_t nn[] = { 2 }; (void)u; (void)k;
    set_task_forces(d, 1, r, un, nn); }
static void spoil_tf_many_units(Cluebus__Directory *d, Cluebus__DirectoryUnit *u,
    Cluebus__DirectoryKey *k) { static const char *const r[] = { "AS-1" };
    char **const un[] = { tf_many }; const size_t nn[] = { DIRECTORY_MAX_CASE_MEMBERS + 1 };
    (void)u; (void)k;
    for (size_t i = 0; i <= DIRECTORY_MAX_CASE_MEMBERS; i++)
	    tf_many[i] = i % 2 ? "psb" : "ato";
    set_task_forces(d, 1, r, un, nn); }
static void spoil_tf_many_cases(Cluebus__Directory *d, Cluebus__DirectoryUnit *u,
    Cluebus__DirectoryKey *k) { static char refs[DIRECTORY_MAX_TASK_FORCES + 1][16];
    static const char *r[DIRECTORY_MAX_TASK_FORCES + 1];
    static char **un[DIRECTORY_MAX_TASK_FORCES + 1];
    static size_t nn[DIRECTORY_MAX_TASK_FORCES + 1]; (void)u; (void)k;
    for (size_t i = 0; i <= DIRECTORY_MAX_TASK_FORCES; i++) {
	    snprintf(refs[i], sizeof(refs[i]), "AS-%05zu", i);
	    r[i] = refs[i]; un[i] = tf_ato; nn[i] = 1;
    }
    set_task_forces(d, DIRECTORY_MAX_TASK_FORCES + 1, r, un, nn); }
static void spoil_issued(Cluebus__Directory *d, Cluebus__DirectoryUnit *u,
    Cluebus__DirectoryKey *k) { (void)u; (void)k; d->issued_ms = -1; }

static const struct bad_dir bad_dirs[] = {
	{ "A good directory parses", spoil_nothing, 0, NULL, NULL },
	{ "A directory without units is refused", spoil_no_units, CB_EMALFORMED, "units",
	    "expected 1 to" },
	{ "A unit id with capitals is refused", spoil_unit_id, CB_EMALFORMED, "units[0]",
	    "id: not a unit id" },
	{ "A unit listed twice is refused", spoil_twice, CB_EMALFORMED, "units[1]",
	    "listed twice" },
	{ "A key of 31 bytes is refused", spoil_key_len, CB_EMALFORMED, "units[0]",
	    "sign_keys[0].public_key: not 32 bytes" },
	{ "A key valid until before it was valid from is refused", spoil_validity,
	    CB_EMALFORMED, "units[0]", "validity out of order" },
	{ "Two open keys of one unit are refused", spoil_overlap, CB_EMALFORMED, "units[0]",
	    "overlap or are out of order" },
	{ "A transport key of 31 bytes is refused", spoil_transport, CB_EMALFORMED, "units[0]",
	    "transport_public: not 32 bytes" },
	{ "A role too long for the registry is refused", spoil_role, CB_EMALFORMED, "units[0]",
	    "role or division_code: too long" },
	{ "A directory without routing is refused", spoil_no_routing, CB_EMALFORMED, "routing",
	    "missing" },
	{ "A routing text that does not parse is refused", spoil_routing_syntax, CB_EMALFORMED,
	    "routing", "line 1" },
	{ "A routing table naming an unlisted unit is refused", spoil_routing_unit,
	    CB_EMALFORMED, "routing", "'nobody' is not registered" },
	{ "A task force naming an unlisted unit is refused", spoil_task_force, CB_EMALFORMED,
	    "task_forces", "[0].units[0]: not a listed unit" },
	{ "A directory issued before 1970 is refused", spoil_issued, CB_EMALFORMED,
	    "issued_ms", "before 1970" },
	{ "Task forces in case_ref order of listed units parse", spoil_tf_good, 0, NULL, NULL },
	{ "A task force without a case_ref is refused", spoil_tf_empty_ref, CB_EMALFORMED,
	    "task_forces", "[0].case_ref: expected 1 to 256 bytes" },
	{ "A task force with a case_ref over 256 bytes is refused", spoil_tf_long_ref,
	    CB_EMALFORMED, "task_forces", "[0].case_ref: expected 1 to 256 bytes" },
	{ "Task forces out of case_ref order are refused", spoil_tf_order, CB_EMALFORMED,
	    "task_forces", "[1].case_ref: not after the one before" },
	{ "A case listed twice is refused", spoil_tf_repeat, CB_EMALFORMED, "task_forces",
	    "[1].case_ref: not after the one before" },
	{ "A task force without units is refused", spoil_tf_no_units, CB_EMALFORMED,
	    "task_forces", "[0].units: expected 1 to 32 units" },
	{ "A task force naming a unit twice is refused", spoil_tf_unit_twice, CB_EMALFORMED,
	    "task_forces", "[0].units[1]: listed twice" },
	{ "A task force of 33 units is refused", spoil_tf_many_units, CB_ETOOBIG,
	    "task_forces", "[0].units: expected 1 to 32 units" },
	{ "More than 256 task forces are refused", spoil_tf_many_cases, CB_ETOOBIG,
	    "task_forces", "more than 256 open cases" },
};

static void
test_bad_dir(void **state)
{
	const struct bad_dir *row = *state;
	Cluebus__Directory d = CLUEBUS__DIRECTORY__INIT;
	Cluebus__DirectoryUnit u[2], *up[2] = { &u[0], &u[1] };
	Cluebus__DirectoryKey k, k2, *kp[2] = { &k, NULL };
	directory_t *out = NULL;
	uint8_t *buf;
	size_t len;
	cb_error_t err;
	int rc;

	cluebus__directory_unit__init(&u[0]);
	cluebus__directory_unit__init(&u[1]);
	cluebus__directory_key__init(&k);
	cluebus__directory_key__init(&k2);
	k.public_key.data = pub32;
	k.public_key.len = 32;
	k.valid_from_ms = 10;
	k2 = k;
	u[0].id = "ato";
	u[0].role = "office";
	u[0].sign_keys = kp;
	u[0].n_sign_keys = 1;
	u[1].id = "psb";
	u[1].role = "member";
	d.units = up;
	d.n_units = 2;
	d.version = 5;
	d.issued_ms = 100;
	d.routing = "routing = { office = \"ato\"; categories = { school = [\"psb\"]; }; };";
	row->spoil(&d, &u[0], row->spoil == spoil_overlap ? &k2 : &k);
	len = cluebus__directory__get_packed_size(&d);
	assert_non_null(buf = malloc(len + 1));
	cluebus__directory__pack(&d, buf);
	rc = directory_parse(buf, len, &out, &err);
	free(buf);
	assert_int_equal(rc, row->code);
	if (rc == 0) {
		assert_int_equal(directory_version(out), 5);
		directory_free(out);
		return;
	}
	assert_null(out);
	assert_string_equal(err.field, row->field);
	if (strstr(err.reason, row->reason) == NULL)
		fail_msg("reason '%s' lacks '%s'", err.reason, row->reason);
}

static void
test_bytes_that_are_not_a_directory_are_refused(void **state)
{
	static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0x07 };
	directory_t *d = NULL;
	cb_error_t err;
	uint8_t *big;

	(void)state;
	assert_int_equal(directory_parse(junk, sizeof(junk), &d, &err), CB_EMALFORMED);
	assert_string_equal(err.field, "(directory)");
	assert_int_equal(directory_open(junk, sizeof(junk), NULL, &d, &err), CB_EMALFORMED);
	assert_non_null(big = calloc(1, DIRECTORY_MAX + 1));
	assert_int_equal(directory_parse(big, DIRECTORY_MAX + 1, &d, &err), CB_ETOOBIG);
	assert_int_equal(directory_open(big, DIRECTORY_MAX + 1, NULL, &d, &err), CB_ETOOBIG);
	free(big);
	assert_null(d);
	directory_free(NULL);
}

int
main(void)
{
#define F(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)
	static const struct CMUnitTest fixed[] = {
		F(test_an_opened_directory_routes_as_the_broker_does),
		F(test_key_histories_survive_the_directory),
		F(test_seal_recipients_give_each_recipient_its_current_sealing_key),
		F(test_a_tampered_or_foreign_directory_is_refused),
		F(test_a_kept_directory_loads_again),
		F(test_routing_text_round_trips),
		F(test_open_cases_task_forces_are_listed_and_found),
		cmocka_unit_test(test_bytes_that_are_not_a_directory_are_refused),
	};
#undef F
	enum { NBAD = sizeof(bad_dirs) / sizeof(bad_dirs[0]) };
	static struct CMUnitTest bad[NBAD];
	int failed;

	for (size_t i = 0; i < NBAD; i++) {
		bad[i].name = bad_dirs[i].name;
		bad[i].test_func = test_bad_dir;
		bad[i].initial_state = (void *)&bad_dirs[i];
	}
	failed = cmocka_run_group_tests_name("directory", fixed, NULL, NULL);
	failed += _cmocka_run_group_tests("directory refusals", bad, NBAD, NULL, NULL);
	return failed != 0;
}

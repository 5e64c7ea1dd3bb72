/* tests/unit/test_registry.c — the unit registry: its JSON file and its key history.
 *
 * The file's refusals are one table (bad_files[]): each row is a document, the error code,
 * the exact field path and a piece of the reason; each row runs as its own named test. The
 * key history is checked the way the broker and the auditor use it: a key is valid from the
 * time it was added until it was rotated out or revoked, and a lookup at a time outside that
 * window says REVOKED rather than OK. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluebus/err.h"
#include "cluebus.pb-c.h"
#include "keys.h"
#include "registry.h"

#define KEY_A	"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
#define KEY_B	"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"

#define UNIT(id, role, extra)						\
	"{\"id\":\"" id "\",\"name\":\"单位\",\"role\":\"" role "\"," extra		\
	"\"sign_public\":\"" KEY_A "\"}"
#define FILE_OF(...)	"{\"units\":[" __VA_ARGS__ "]}"
#define ATO		UNIT("ato", "office", "")

/* ---- the registry file ------------------------------------------------------------------ */

struct bad_file {
	const char	*name;		/* the test's name, a sentence */
	const char	*json;		/* the document, or NULL when `make` builds it */
	char		*(*make)(void);
	int		 code;
	const char	*field;		/* err.field, exactly */
	const char	*reason;	/* a piece of err.reason */
};

static char *
make_oversize_file(void)
{
	size_t n = REGISTRY_MAX_FILE + 1;
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, ' ', n);
	s[0] = '{';
	s[n - 1] = '}';
	s[n] = '\0';
	return s;
}

static const struct bad_file bad_files[] = {
	{ "An unknown field in a unit is refused",
	    FILE_OF(UNIT("ato", "office", "\"colour\":\"red\",")), NULL, CB_EMALFORMED,
	    "units[0]", "colour: unknown field" },
	{ "A sealing key of 63 hex digits is refused",
	    FILE_OF(UNIT("ato", "office", "\"seal_public\":\""
	    "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660\",")), NULL,
	    CB_EMALFORMED, "units[0]", "seal_public: expected 64 hex digits" },
	{ "A sealing key that is not a string is refused",
	    FILE_OF(UNIT("ato", "office", "\"seal_public\":7,")), NULL, CB_EMALFORMED,
	    "units[0]", "seal_public: expected a string of at most 64 bytes" },
	{ "A unit id with capitals is refused",
	    FILE_OF(ATO "," UNIT("PSB", "member", "")), NULL, CB_EMALFORMED, "units[1]",
	    "id: 'PSB' is not a usable unit id" },
	{ "A unit id with an underscore is refused",
	    FILE_OF(UNIT("civil_affairs", "member", "")), NULL, CB_EMALFORMED, "units[0]",
	    "is not a usable unit id" },
	{ "A unit id of 33 characters is refused",
	    FILE_OF(UNIT("abcdefghijklmnopqrstuvwxyz0123456", "member", "")), NULL,
	    CB_EMALFORMED, "units[0]", "id: expected a string of at most 32 bytes" },
	{ "An empty unit id is refused",
	    FILE_OF(UNIT("", "member", "")), NULL, CB_EMALFORMED, "units[0]",
	    "is not a usable unit id" },
	{ "The id broker is reserved for the broker",
	    FILE_OF(ATO "," UNIT("broker", "member", "")), NULL, CB_EMALFORMED, "units[1]",
	    "id: 'broker' is not a usable unit id" },
	{ "A unit listed twice is refused at the second listing",
	    FILE_OF(ATO "," UNIT("psb", "member", "") "," UNIT("ato", "member", "")), NULL,
	    CB_EMALFORMED, "units[2]", "id: 'ato' listed twice" },
	{ "A public key with a non-hex digit is refused",
	    FILE_OF("{\"id\":\"ato\",\"name\":\"n\",\"role\":\"office\",\"sign_public\":"
	    "\"z75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\"}"), NULL,
	    CB_EMALFORMED, "units[0]", "sign_public: expected 64 hex digits" },
	{ "A public key of 63 hex digits is refused",
	    FILE_OF("{\"id\":\"ato\",\"name\":\"n\",\"role\":\"office\",\"sign_public\":"
	    "\"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511\"}"), NULL,
	    CB_EMALFORMED, "units[0]", "sign_public: expected 64 hex digits" },
	{ "A public key of 66 hex digits is refused",
	    FILE_OF("{\"id\":\"ato\",\"name\":\"n\",\"role\":\"office\",\"sign_public\":"
	    "\"" KEY_A "00\"}"), NULL, CB_EMALFORMED, "units[0]",
	    "sign_public: expected a string of at most 64 bytes" },
	{ "A unit without a public key is refused",
	    FILE_OF("{\"id\":\"ato\",\"name\":\"n\",\"role\":\"office\"}"), NULL, CB_EMALFORMED,
	    "units[0]", "sign_public: required" },
	{ "A unit without a name is refused",
	    FILE_OF("{\"id\":\"ato\",\"role\":\"office\",\"sign_public\":\"" KEY_A "\"}"), NULL,
	    CB_EMALFORMED, "units[0]", "name: required" },
	{ "A name that is not a string is refused",
	    FILE_OF("{\"id\":\"ato\",\"name\":5,\"role\":\"office\",\"sign_public\":\"" KEY_A
	    "\"}"), NULL, CB_EMALFORMED, "units[0]", "name: expected a string" },
	{ "A district office without a division code is refused",
	    FILE_OF(ATO "," UNIT("ato-210302", "district_office", "")), NULL, CB_EMALFORMED,
	    "units[1]", "division_code: a district office needs 6 digits" },
	{ "A district office with a five-digit division code is refused",
	    FILE_OF(UNIT("ato-210302", "district_office", "\"division_code\":\"21030\",")),
	    NULL, CB_EMALFORMED, "units[0]", "division_code: a district office needs 6 digits" },
	{ "A district office with a letter in its division code is refused",
	    FILE_OF(UNIT("ato-210302", "district_office", "\"division_code\":\"21030x\",")),
	    NULL, CB_EMALFORMED, "units[0]", "division_code: a district office needs 6 digits" },
	{ "A division code longer than six characters is refused",
	    FILE_OF(UNIT("ato-210302", "district_office", "\"division_code\":\"2103021\",")),
	    NULL, CB_EMALFORMED, "units[0]", "division_code: expected a string of at most 6" },
	{ "The broker role is not one a unit may have",
	    FILE_OF(UNIT("hub", "broker", "")), NULL, CB_EMALFORMED, "units[0]",
	    "role: must be office, member or district_office" },
	{ "An unknown role is refused",
	    FILE_OF(UNIT("ato", "admin", "")), NULL, CB_EMALFORMED, "units[0]",
	    "role: must be office, member or district_office" },
	{ "A unit that is not an object is refused",
	    FILE_OF(ATO ",\"psb\""), NULL, CB_EMALFORMED, "units[1]", "expected an object" },
	{ "Units given as an object are refused",
	    "{\"units\":{\"ato\":{}}}", NULL, CB_EMALFORMED, "units",
	    "expected a non-empty array" },
	{ "An empty units array is refused",
	    "{\"units\":[]}", NULL, CB_EMALFORMED, "units", "expected a non-empty array" },
	{ "A file without units is refused",
	    "{\"city\":{\"name\":\"鞍山市\"}}", NULL, CB_EMALFORMED, "units",
	    "expected a non-empty array" },
	{ "A file that is a top-level array is refused",
	    "[" ATO "]", NULL, CB_EMALFORMED, "units", "expected a non-empty array" },
	{ "Invalid JSON is refused with its line and column",
	    "{\"units\":[\n" ATO ",\n]}", NULL, CB_EMALFORMED, "(document)", "line 3 column" },
	{ "A truncated document is refused",
	    "{\"units\":[" ATO, NULL, CB_EMALFORMED, "(document)", "line 1" },
	{ "A duplicated key in an object is refused",
	    "{\"units\":[" ATO "],\"units\":[]}", NULL, CB_EMALFORMED, "(document)",
	    "duplicate object key" },
	{ "An empty document is refused",
	    "", NULL, CB_EMALFORMED, "(document)", "line" },
	{ "A document larger than 1 MiB is refused before parsing",
	    NULL, make_oversize_file, CB_ETOOBIG, "(document)", "larger than 1048576 bytes" },
};

static void
test_bad_file(void **state)
{
	const struct bad_file *row = *state;
	Cluebus__Registry **recs = NULL;
	const char *json = row->json;
	char *made = NULL;
	cb_error_t err;
	size_t n = 99;
	int rc;

	if (row->make != NULL)
		json = made = row->make();
	memset(&err, 0, sizeof(err));
	rc = registry_parse_json(json, strlen(json), &recs, &n, &err);
	if (rc != row->code)
		fail_msg("got %s (%s: %s), want %s", cb_strerror(rc), err.field, err.reason,
		    cb_strerror(row->code));
	assert_null(recs);
	assert_int_equal(n, 99);
	assert_string_equal(err.field, row->field);
	if (strstr(err.reason, row->reason) == NULL)
		fail_msg("reason \"%s\" does not say \"%s\"", err.reason, row->reason);
	free(made);
}

static void
free_records(Cluebus__Registry **recs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		protobuf_c_message_free_unpacked(&recs[i]->base, NULL);
	free(recs);
}

static void
test_a_registry_file_parses_to_one_add_unit_record_per_unit(void **state)
{
	static const char json[] =
	    "{\"city\":{\"name\":\"鞍山市\",\"division_code\":\"210300\"},"
	    "\"units\":[" ATO ","
	    "{\"id\":\"ato-210302\",\"name\":\"铁东区反拐办\",\"role\":\"district_office\","
	    "\"division_code\":\"210302\",\"liaison\":\"张三\",\"sign_public\":\"" KEY_B "\"}]}";
	Cluebus__Registry **recs = NULL;
	cb_error_t err;
	size_t n = 0;

	(void)state;
	if (registry_parse_json(json, sizeof(json) - 1, &recs, &n, &err) != 0)
		fail_msg("%s: %s", err.field, err.reason);
	assert_int_equal(n, 2);
	assert_int_equal(recs[0]->op, CLUEBUS__REGISTRY_OP__REGISTRY_ADD_UNIT);
	assert_string_equal(recs[0]->unit, "ato");
	assert_string_equal(recs[0]->role, "office");
	assert_string_equal(recs[0]->division_code, "");
	assert_int_equal(recs[0]->sign_public.len, KEY_PUBLIC_LEN);
	assert_int_equal(recs[0]->sign_public.data[0], 0xd7);
	assert_int_equal(recs[0]->sign_public.data[31], 0x1a);
	assert_string_equal(recs[1]->unit, "ato-210302");
	assert_string_equal(recs[1]->name, "铁东区反拐办");
	assert_string_equal(recs[1]->role, "district_office");
	assert_string_equal(recs[1]->division_code, "210302");
	assert_string_equal(recs[1]->liaison, "张三");
	free_records(recs, n);
}

static void
test_parsed_records_apply_in_order_and_find_the_district_office(void **state)
{
	static const char *const ids[] = { "ato", "psb", "ato-210302" };
	static const char *const roles[] = { "office", "member", "district_office" };
	Cluebus__Registry **recs = NULL;
	registry_t *r = registry_new();
	char json[2048];
	cb_error_t err;
	size_t n = 0;

	(void)state;
	assert_non_null(r);
	snprintf(json, sizeof(json), "{\"units\":[" UNIT("%s", "%s", "") "," UNIT("%s", "%s",
	    "") "," UNIT("%s", "%s", "\"division_code\":\"210302\",") "]}", ids[0], roles[0],
	    ids[1], roles[1], ids[2], roles[2]);
	if (registry_parse_json(json, strlen(json), &recs, &n, &err) != 0)
		fail_msg("%s: %s", err.field, err.reason);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(registry_apply(r, recs[i], 1000, &err), 0);
	assert_int_equal(registry_count(r), 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(registry_at(r, i)->id, ids[i]);
		assert_string_equal(registry_at(r, i)->role, roles[i]);
	}
	assert_null(registry_at(r, 3));
	assert_string_equal(registry_district_office(r, "210302")->id, "ato-210302");
	assert_null(registry_district_office(r, "210303"));
	assert_null(registry_district_office(r, ""));	/* members have no division */
	free_records(recs, n);
	registry_free(r);
}

/* ---- key history ------------------------------------------------------------------------ */

struct history {
	registry_t	*reg;
	cb_key_t	*old, *new;
	uint8_t		 oldpub[KEY_PUBLIC_LEN], newpub[KEY_PUBLIC_LEN];
};

static int
history_setup(void **state)
{
	struct history *h = calloc(1, sizeof(*h));

	if (h == NULL || (h->reg = registry_new()) == NULL ||
	    key_generate(&h->old) != 0 || key_generate(&h->new) != 0)
		return -1;
	memcpy(h->oldpub, key_public(h->old), KEY_PUBLIC_LEN);
	memcpy(h->newpub, key_public(h->new), KEY_PUBLIC_LEN);
	*state = h;
	return 0;
}

static int
history_teardown(void **state)
{
	struct history *h = *state;

	registry_free(h->reg);
	key_free(h->old);
	key_free(h->new);
	free(h);
	return 0;
}

/* Applies `op` for `unit` with public key `pub` (NULL: none) effective at `at`. */
static int
apply(struct history *h, Cluebus__RegistryOp op, const char *unit, const uint8_t *pub,
    int64_t at, cb_error_t *err)
{
	Cluebus__Registry rec = CLUEBUS__REGISTRY__INIT;

	rec.op = op;
	rec.unit = (char *)unit;
	rec.name = "市卫生健康委";
	rec.role = "member";
	rec.liaison = "李四";
	if (pub != NULL) {
		rec.sign_public.data = (uint8_t *)pub;
		rec.sign_public.len = KEY_PUBLIC_LEN;
	}
	return registry_apply(h->reg, &rec, at, err);
}

static enum reg_key_status
key_at(const struct history *h, const char *unit, const cb_key_t *k, int64_t at,
    const cb_key_t **found)
{
	*found = NULL;
	return registry_key_at(h->reg, unit, key_id(k), KEY_ID_LEN, at, found);
}

static void
test_a_rotated_key_is_valid_before_the_rotation_and_revoked_after_it(void **state)
{
	struct history *h = *state;
	const cb_key_t *k;
	cb_error_t err;

	assert_int_equal(apply(h, CLUEBUS__REGISTRY_OP__REGISTRY_ADD_UNIT, "health",
	    h->oldpub, 10, &err), 0);
	assert_int_equal(key_at(h, "health", h->old, 50, &k), REG_KEY_OK);
	assert_int_equal(key_at(h, "health", h->old, 150, &k), REG_KEY_OK);
	assert_int_equal(apply(h, CLUEBUS__REGISTRY_OP__REGISTRY_ROTATE_KEY, "health",
	    h->newpub, 100, &err), 0);

	assert_int_equal(key_at(h, "health", h->old, 50, &k), REG_KEY_OK);
	assert_non_null(k);
	assert_memory_equal(key_public(k), h->oldpub, KEY_PUBLIC_LEN);
	assert_int_equal(key_at(h, "health", h->old, 99, &k), REG_KEY_OK);
	assert_int_equal(key_at(h, "health", h->old, 100, &k), REG_KEY_REVOKED);
	assert_int_equal(key_at(h, "health", h->old, 150, &k), REG_KEY_REVOKED);
	assert_null(k);
	assert_int_equal(key_at(h, "health", h->new, 150, &k), REG_KEY_OK);
	assert_memory_equal(key_public(k), h->newpub, KEY_PUBLIC_LEN);
	assert_int_equal(key_at(h, "health", h->new, 100, &k), REG_KEY_OK);
	/* The new key was not valid before it was added. */
	assert_int_equal(key_at(h, "health", h->new, 50, &k), REG_KEY_REVOKED);
	/* Nor was the old one before the unit existed. */
	assert_int_equal(key_at(h, "health", h->old, 9, &k), REG_KEY_REVOKED);
	assert_memory_equal(key_public(registry_current_key(h->reg, "health")), h->newpub,
	    KEY_PUBLIC_LEN);
}

static void
test_a_revoked_key_is_refused_from_the_revocation_on(void **state)
{
	struct history *h = *state;
	const cb_key_t *k;
	cb_error_t err;

	assert_int_equal(apply(h, CLUEBUS__REGISTRY_OP__REGISTRY_ADD_UNIT, "health",
	    h->oldpub, 10, &err), 0);
	assert_int_equal(apply(h, CLUEBUS__REGISTRY_OP__REGISTRY_ROTATE_KEY, "health",
	    h->newpub, 100, &err), 0);
	assert_int_equal(apply(h, CLUEBUS__REGISTRY_OP__REGISTRY_REVOKE_KEY, "health", NULL,
	    200, &err), 0);
	assert_int_equal(key_at(h, "health", h->new, 150, &k), REG_KEY_OK);
	assert_int_equal(key_at(h, "health", h->new, 200, &k), REG_KEY_REVOKED);
	assert_int_equal(key_at(h, "health", h->new, 250, &k), REG_KEY_REVOKED);
	/* The old key keeps its earlier end. */
	assert_int_equal(key_at(h, "health", h->old, 50, &k), REG_KEY_OK);
	assert_int_equal(key_at(h, "health", h->old, 150, &k), REG_KEY_REVOKED);
	assert_null(registry_current_key(h->reg, "health"));
	/* A revocation back-dated before the rotation cuts the old key short too. */
	assert_int_equal(apply(h, CLUEBUS__REGISTRY_OP__REGISTRY_REVOKE_KEY, "health", NULL,
	    40, &err), 0);
	assert_int_equal(key_at(h, "health", h->old, 39, &k), REG_KEY_OK);
	assert_int_equal(key_at(h, "health", h->old, 50, &k), REG_KEY_REVOKED);
	assert_int_equal(key_at(h, "health", h->new, 150, &k), REG_KEY_REVOKED);
}

static void
test_the_effective_time_of_a_record_overrides_the_time_it_is_applied(void **state)
{
	Cluebus__Registry rec = CLUEBUS__REGISTRY__INIT;
	struct history *h = *state;
	const cb_key_t *k;
	cb_error_t err;

	assert_int_equal(apply(h, CLUEBUS__REGISTRY_OP__REGISTRY_ADD_UNIT, "health",
	    h->oldpub, 10, &err), 0);
	rec.op = CLUEBUS__REGISTRY_OP__REGISTRY_ROTATE_KEY;
	rec.unit = "health";
	rec.sign_public.data = h->newpub;
	rec.sign_public.len = KEY_PUBLIC_LEN;
	rec.effective_ms = 100;
	assert_int_equal(registry_apply(h->reg, &rec, 500, &err), 0);
	assert_int_equal(key_at(h, "health", h->old, 150, &k), REG_KEY_REVOKED);
	assert_int_equal(key_at(h, "health", h->new, 150, &k), REG_KEY_OK);
}

static void
test_lookups_tell_an_unknown_unit_from_an_unknown_key(void **state)
{
	struct history *h = *state;
	const cb_key_t *k;
	cb_error_t err;

	assert_int_equal(apply(h, CLUEBUS__REGISTRY_OP__REGISTRY_ADD_UNIT, "health",
	    h->oldpub, 10, &err), 0);
	assert_int_equal(key_at(h, "psb", h->old, 50, &k), REG_KEY_UNKNOWN_UNIT);
	assert_int_equal(key_at(h, "health", h->new, 50, &k), REG_KEY_UNKNOWN_KEY);
	/* A key id of the wrong length matches nothing. */
	assert_int_equal(registry_key_at(h->reg, "health", key_id(h->old), KEY_ID_LEN - 1, 50,
	    &k), REG_KEY_UNKNOWN_KEY);
	assert_null(registry_unit(h->reg, "psb"));
	assert_null(registry_current_key(h->reg, "psb"));
	assert_string_equal(registry_unit(h->reg, "health")->name, "市卫生健康委");
}

static void
test_records_that_do_not_fit_the_registry_are_refused_and_change_nothing(void **state)
{
	struct history *h = *state;
	uint8_t shortkey[KEY_PUBLIC_LEN - 1];
	const cb_key_t *k;
	cb_error_t err;

	memset(shortkey, 1, sizeof(shortkey));
	assert_int_equal(apply(h, CLUEBUS__REGISTRY_OP__REGISTRY_ADD_UNIT, "health",
	    h->oldpub, 10, &err), 0);
	/* Adding a unit twice. */
	assert_int_equal(apply(h, CLUEBUS__REGISTRY_OP__REGISTRY_ADD_UNIT, "health",
	    h->newpub, 20, &err), CB_EMALFORMED);
	assert_string_equal(err.field, "unit");
	assert_non_null(strstr(err.reason, "already registered"));
	/* Rotating, revoking or changing the liaison of an unknown unit. */
	assert_int_equal(apply(h, CLUEBUS__REGISTRY_OP__REGISTRY_ROTATE_KEY, "psb",
	    h->newpub, 20, &err), CB_EMALFORMED);
	assert_non_null(strstr(err.reason, "'psb' is not registered"));
	assert_int_equal(apply(h, CLUEBUS__REGISTRY_OP__REGISTRY_REVOKE_KEY, "psb", NULL, 20,
	    &err), CB_EMALFORMED);
	assert_int_equal(apply(h, CLUEBUS__REGISTRY_OP__REGISTRY_CHANGE_LIAISON, "psb", NULL,
	    20, &err), CB_EMALFORMED);
	/* A unit id that is not one. */
	assert_int_equal(apply(h, CLUEBUS__REGISTRY_OP__REGISTRY_ADD_UNIT, "Bad Unit",
	    h->newpub, 20, &err), CB_EMALFORMED);
	assert_string_equal(err.field, "unit");
	/* No key, or a key of the wrong length. */
	assert_int_equal(apply(h, CLUEBUS__REGISTRY_OP__REGISTRY_ADD_UNIT, "psb", NULL, 20,
	    &err), CB_EMALFORMED);
	assert_string_equal(err.field, "sign_public");
	{
		Cluebus__Registry rec = CLUEBUS__REGISTRY__INIT;

		rec.op = CLUEBUS__REGISTRY_OP__REGISTRY_ROTATE_KEY;
		rec.unit = "health";
		rec.sign_public.data = shortkey;
		rec.sign_public.len = sizeof(shortkey);
		assert_int_equal(registry_apply(h->reg, &rec, 30, &err), CB_EMALFORMED);
		assert_string_equal(err.field, "sign_public");
		/* An unknown operation. */
		rec.op = (Cluebus__RegistryOp)99;
		assert_int_equal(registry_apply(h->reg, &rec, 30, &err), CB_EMALFORMED);
		assert_string_equal(err.field, "op");
		rec.op = CLUEBUS__REGISTRY_OP__REGISTRY_UNSPECIFIED;
		assert_int_equal(registry_apply(h->reg, &rec, 30, &err), CB_EMALFORMED);
	}
	/* None of it changed the registry. */
	assert_int_equal(registry_count(h->reg), 1);
	assert_null(registry_unit(h->reg, "psb"));
	assert_int_equal(key_at(h, "health", h->old, 40, &k), REG_KEY_OK);
	assert_int_equal(key_at(h, "health", h->new, 40, &k), REG_KEY_UNKNOWN_KEY);
	assert_memory_equal(key_public(registry_current_key(h->reg, "health")), h->oldpub,
	    KEY_PUBLIC_LEN);
}

static void
test_a_liaison_change_keeps_the_keys(void **state)
{
	Cluebus__Registry rec = CLUEBUS__REGISTRY__INIT;
	struct history *h = *state;
	const cb_key_t *k;
	cb_error_t err;

	assert_int_equal(apply(h, CLUEBUS__REGISTRY_OP__REGISTRY_ADD_UNIT, "health",
	    h->oldpub, 10, &err), 0);
	assert_string_equal(registry_unit(h->reg, "health")->liaison, "李四");
	rec.op = CLUEBUS__REGISTRY_OP__REGISTRY_CHANGE_LIAISON;
	rec.unit = "health";
	rec.liaison = "王五";
	assert_int_equal(registry_apply(h->reg, &rec, 100, &err), 0);
	assert_string_equal(registry_unit(h->reg, "health")->liaison, "王五");
	assert_int_equal(key_at(h, "health", h->old, 150, &k), REG_KEY_OK);
}

static void
test_the_broker_key_record_adds_the_broker_then_rotates_its_key(void **state)
{
	struct history *h = *state;
	const cb_key_t *k;
	cb_error_t err;

	assert_int_equal(apply(h, CLUEBUS__REGISTRY_OP__REGISTRY_BROKER_KEY,
	    REGISTRY_BROKER_UNIT, h->oldpub, 1, &err), 0);
	assert_non_null(registry_unit(h->reg, REGISTRY_BROKER_UNIT));
	assert_int_equal(apply(h, CLUEBUS__REGISTRY_OP__REGISTRY_BROKER_KEY,
	    REGISTRY_BROKER_UNIT, h->newpub, 100, &err), 0);
	assert_int_equal(registry_count(h->reg), 1);
	assert_int_equal(key_at(h, REGISTRY_BROKER_UNIT, h->old, 50, &k), REG_KEY_OK);
	assert_int_equal(key_at(h, REGISTRY_BROKER_UNIT, h->old, 150, &k), REG_KEY_REVOKED);
	assert_int_equal(key_at(h, REGISTRY_BROKER_UNIT, h->new, 150, &k), REG_KEY_OK);
}

/* Applies a sealing-key record `op` for "health" with key `pub` (NULL: none). */
static int
apply_seal(struct history *h, Cluebus__RegistryOp op, const uint8_t *pub, int64_t at,
    cb_error_t *err)
{
	Cluebus__Registry rec = CLUEBUS__REGISTRY__INIT;

	rec.op = op;
	rec.unit = "health";
	rec.reason = "key lost";
	if (pub != NULL) {
		rec.seal_public.data = (uint8_t *)pub;
		rec.seal_public.len = 32;
	}
	if (registry_check_admin(h->reg, &rec, err) != 0)
		return CB_EMALFORMED;
	return registry_apply(h->reg, &rec, at, err);
}

static void
test_sealing_keys_are_added_rotated_and_revoked_with_their_validity(void **state)
{
	struct history *h = *state;
	uint8_t s1[32], s2[32];
	reg_seal_info_t info;
	cb_error_t err;

	memset(s1, 0x11, sizeof(s1));
	memset(s2, 0x22, sizeof(s2));
	assert_int_equal(apply(h, CLUEBUS__REGISTRY_OP__REGISTRY_ADD_UNIT, "health",
	    h->oldpub, 10, &err), 0);
	assert_null(registry_current_seal(h->reg, "health"));
	/* Rotating or revoking a sealing key the unit does not have is refused. */
	assert_int_equal(apply_seal(h, CLUEBUS__REGISTRY_OP__REGISTRY_ROTATE_SEAL_KEY, s1, 20,
	    &err), CB_EMALFORMED);
	assert_string_equal(err.field, "op");
	assert_int_equal(apply_seal(h, CLUEBUS__REGISTRY_OP__REGISTRY_REVOKE_SEAL_KEY, NULL, 20,
	    &err), CB_EMALFORMED);
	assert_int_equal(apply_seal(h, CLUEBUS__REGISTRY_OP__REGISTRY_ADD_SEAL_KEY, s1, 20,
	    &err), 0);
	/* A second addition is refused: it is a rotation. */
	assert_int_equal(apply_seal(h, CLUEBUS__REGISTRY_OP__REGISTRY_ADD_SEAL_KEY, s2, 30,
	    &err), CB_EMALFORMED);
	assert_int_equal(apply_seal(h, CLUEBUS__REGISTRY_OP__REGISTRY_ROTATE_SEAL_KEY, NULL, 30,
	    &err), CB_EMALFORMED);
	assert_string_equal(err.field, "seal_public");
	assert_int_equal(apply_seal(h, CLUEBUS__REGISTRY_OP__REGISTRY_ROTATE_SEAL_KEY, s2, 100,
	    &err), 0);
	assert_memory_equal(sealkey_public(registry_current_seal(h->reg, "health")), s2, 32);
	assert_memory_equal(sealkey_public(registry_seal_at(h->reg, "health", 50)), s1, 32);
	assert_memory_equal(sealkey_public(registry_seal_at(h->reg, "health", 100)), s2, 32);
	assert_null(registry_seal_at(h->reg, "health", 19));
	assert_int_equal(registry_seal_count(h->reg, "health"), 2);
	assert_int_equal(registry_seal_info(h->reg, "health", 0, &info), 0);
	assert_int_equal(info.valid_from, 20);
	assert_int_equal(info.valid_until, 100);
	assert_int_equal(apply_seal(h, CLUEBUS__REGISTRY_OP__REGISTRY_REVOKE_SEAL_KEY, NULL,
	    200, &err), 0);
	assert_null(registry_current_seal(h->reg, "health"));
	assert_int_equal(registry_seal_info(h->reg, "health", 1, &info), 0);
	assert_int_equal(info.valid_until, 200);
	/* The signing key was not touched. */
	assert_memory_equal(key_public(registry_current_key(h->reg, "health")), h->oldpub,
	    KEY_PUBLIC_LEN);
	assert_int_equal(registry_seal_info(h->reg, "health", 2, &info), CB_ENOTFOUND);
}

static void
test_a_routing_record_keeps_its_text(void **state)
{
	struct history *h = *state;
	Cluebus__Registry rec = CLUEBUS__REGISTRY__INIT;
	cb_error_t err;

	assert_int_equal(apply(h, CLUEBUS__REGISTRY_OP__REGISTRY_ADD_UNIT, "broker",
	    h->oldpub, 10, &err), 0);
	assert_null(registry_routing(h->reg));
	rec.op = CLUEBUS__REGISTRY_OP__REGISTRY_ROUTING;
	rec.unit = "broker";
	rec.routing = "office = \"ato\";";
	assert_int_equal(registry_apply(h->reg, &rec, 20, &err), 0);
	assert_string_equal(registry_routing(h->reg), "office = \"ato\";");
	/* Only the broker logs routing: an administrator's record of it is refused. */
	assert_int_equal(registry_check_admin(h->reg, &rec, &err), CB_EMALFORMED);
}

static void
test_freeing_a_null_registry_does_nothing(void **state)
{
	(void)state;
	registry_free(NULL);
}

int
main(void)
{
#define H(fn)	cmocka_unit_test_setup_teardown(fn, history_setup, history_teardown)
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_a_registry_file_parses_to_one_add_unit_record_per_unit),
		cmocka_unit_test(test_parsed_records_apply_in_order_and_find_the_district_office),
		H(test_a_rotated_key_is_valid_before_the_rotation_and_revoked_after_it),
		H(test_a_revoked_key_is_refused_from_the_revocation_on),
		H(test_the_effective_time_of_a_record_overrides_the_time_it_is_applied),
		H(test_lookups_tell_an_unknown_unit_from_an_unknown_key),
		H(test_records_that_do_not_fit_the_registry_are_refused_and_change_nothing),
		H(test_a_liaison_change_keeps_the_keys),
		H(test_the_broker_key_record_adds_the_broker_then_rotates_its_key),
		H(test_sealing_keys_are_added_rotated_and_revoked_with_their_validity),
		H(test_a_routing_record_keeps_its_text),
		cmocka_unit_test(test_freeing_a_null_registry_does_nothing),
	};
#undef H
	enum { NBAD = sizeof(bad_files) / sizeof(bad_files[0]) };
	static struct CMUnitTest refused[NBAD];
	int failed;

	for (size_t i = 0; i < NBAD; i++) {
		refused[i].name = bad_files[i].name;
		refused[i].test_func = test_bad_file;
		refused[i].initial_state = (void *)&bad_files[i];
	}
	failed = cmocka_run_group_tests_name("registry", fixed, NULL, NULL);
	failed += _cmocka_run_group_tests("registry file refusals", refused, NBAD, NULL, NULL);
	return failed != 0;
}

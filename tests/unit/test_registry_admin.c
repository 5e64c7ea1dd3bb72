/* tests/unit/test_registry_admin.c — what an administrator's registry record may do
 * (registry_check_admin), and where the admin endpoint may listen (config). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "keys.h"
#include "registry.h"
#include "transport.h"

static uint8_t sign_pub[KEY_PUBLIC_LEN], curve_pub[TRANSPORT_KEY_LEN];

/* A registry with psb (a member) registered. */
static registry_t *
registry_with_psb(void)
{
	Cluebus__Registry rec = CLUEBUS__REGISTRY__INIT;
	registry_t *r = registry_new();
	cb_error_t err;

	assert_non_null(r);
	rec.op = CLUEBUS__REGISTRY_OP__REGISTRY_ADD_UNIT;
	rec.unit = "psb";
	rec.name = "市公安局";
	rec.role = "member";
	rec.sign_public.data = sign_pub;
	rec.sign_public.len = KEY_PUBLIC_LEN;
	rec.transport_public.data = curve_pub;
	rec.transport_public.len = TRANSPORT_KEY_LEN;
	assert_int_equal(registry_apply(r, &rec, 1, &err), 0);
	return r;
}

enum damage { OK_ADD, OK_ROTATE, OK_REVOKE, OK_LIAISON, ADD_KNOWN, ADD_BAD_ROLE,
    ADD_NO_NAME, ADD_DISTRICT_NO_CODE, ADD_SHORT_SIGN_KEY, ADD_NO_TRANSPORT, ROTATE_UNKNOWN,
    ROTATE_NO_TRANSPORT, REVOKE_NO_REASON, REVOKE_NEGATIVE_TIME, LIAISON_UNKNOWN,
    LIAISON_LONG, BROKER_UNIT, ADMIN_UNIT, BAD_UNIT_ID, BROKER_KEY_OP, ADMIN_KEY_OP,
    UNSPECIFIED_OP };

static const struct row {
	const char	*name;
	enum damage	 how;
	const char	*field;		/* NULL: accepted */
} rows[] = {
	{ "Adding a new member unit with both keys is accepted", OK_ADD, NULL },
	{ "Rotating a registered unit's keys is accepted", OK_ROTATE, NULL },
	{ "Revoking a registered unit with a reason is accepted", OK_REVOKE, NULL },
	{ "Changing a registered unit's liaison is accepted", OK_LIAISON, NULL },
	{ "Adding a unit that is registered is refused", ADD_KNOWN, "unit" },
	{ "Adding a unit with an unknown role is refused", ADD_BAD_ROLE, "role" },
	{ "Adding a unit without a name is refused", ADD_NO_NAME, "name" },
	{ "Adding a district office without its division code is refused",
	    ADD_DISTRICT_NO_CODE, "division_code" },
	{ "Adding a unit with a 31-byte signing key is refused", ADD_SHORT_SIGN_KEY,
	    "sign_public" },
	{ "Adding a unit without a transport key is refused", ADD_NO_TRANSPORT,
	    "transport_public" },
	{ "Rotating an unknown unit is refused", ROTATE_UNKNOWN, "unit" },
	{ "Rotating without a transport key is refused", ROTATE_NO_TRANSPORT,
	    "transport_public" },
	{ "Revoking without a reason is refused", REVOKE_NO_REASON, "reason" },
	{ "Revoking with a time before 1970 is refused", REVOKE_NEGATIVE_TIME, "effective" },
	{ "Changing an unknown unit's liaison is refused", LIAISON_UNKNOWN, "unit" },
	{ "A liaison longer than 256 bytes is refused", LIAISON_LONG, "liaison" },
	{ "The broker's own entry cannot be changed by an administrator", BROKER_UNIT, "unit" },
	{ "The administrator's own entry cannot be changed that way", ADMIN_UNIT, "unit" },
	{ "A unit id with capitals is refused", BAD_UNIT_ID, "unit" },
	{ "Recording a broker key is not an administrative operation", BROKER_KEY_OP, "op" },
	{ "Recording an admin key is not an administrative operation", ADMIN_KEY_OP, "op" },
	{ "An unspecified operation is refused", UNSPECIFIED_OP, "op" },
};

static void
test_row(void **state)
{
	const struct row *row = *state;
	Cluebus__Registry rec = CLUEBUS__REGISTRY__INIT;
	registry_t *r = registry_with_psb();
	char long_text[300];
	cb_error_t err;
	int rc;

	rec.op = CLUEBUS__REGISTRY_OP__REGISTRY_ADD_UNIT;
	rec.unit = "newunit";
	rec.name = "新单位";
	rec.role = "member";
	rec.sign_public.data = sign_pub;
	rec.sign_public.len = KEY_PUBLIC_LEN;
	rec.transport_public.data = curve_pub;
	rec.transport_public.len = TRANSPORT_KEY_LEN;
	rec.reason = "密钥泄露";
	switch (row->how) {
	case OK_ADD: break;
	case OK_ROTATE: rec.op = CLUEBUS__REGISTRY_OP__REGISTRY_ROTATE_KEY; rec.unit = "psb"; break;
	case OK_REVOKE: rec.op = CLUEBUS__REGISTRY_OP__REGISTRY_REVOKE_KEY; rec.unit = "psb"; break;
	case OK_LIAISON:
		rec.op = CLUEBUS__REGISTRY_OP__REGISTRY_CHANGE_LIAISON;
		rec.unit = "psb";
		rec.liaison = "张某";
		break;
	case ADD_KNOWN: rec.unit = "psb"; break;
	case ADD_BAD_ROLE: rec.role = "boss"; break;
	case ADD_NO_NAME: rec.name = ""; break;
	case ADD_DISTRICT_NO_CODE: rec.role = "district_office"; break;
	case ADD_SHORT_SIGN_KEY: rec.sign_public.len = 31; break;
	case ADD_NO_TRANSPORT: rec.transport_public.len = 0; break;
	case ROTATE_UNKNOWN: rec.op = CLUEBUS__REGISTRY_OP__REGISTRY_ROTATE_KEY; break;
	case ROTATE_NO_TRANSPORT:
		rec.op = CLUEBUS__REGISTRY_OP__REGISTRY_ROTATE_KEY;
		rec.unit = "psb";
		rec.transport_public.len = 0;
		break;
	case REVOKE_NO_REASON:
		rec.op = CLUEBUS__REGISTRY_OP__REGISTRY_REVOKE_KEY;
		rec.unit = "psb";
		rec.reason = "";
		break;
	case REVOKE_NEGATIVE_TIME:
		rec.op = CLUEBUS__REGISTRY_OP__REGISTRY_REVOKE_KEY;
		rec.unit = "psb";
		rec.effective_ms = -1;
		break;
	case LIAISON_UNKNOWN: rec.op = CLUEBUS__REGISTRY_OP__REGISTRY_CHANGE_LIAISON; break;
	case LIAISON_LONG:
		rec.op = CLUEBUS__REGISTRY_OP__REGISTRY_CHANGE_LIAISON;
		rec.unit = "psb";
		memset(long_text, 'x', 257);
		long_text[257] = '\0';
		rec.liaison = long_text;
		break;
	case BROKER_UNIT: rec.op = CLUEBUS__REGISTRY_OP__REGISTRY_REVOKE_KEY; rec.unit = "broker";
		break;
	case ADMIN_UNIT: rec.op = CLUEBUS__REGISTRY_OP__REGISTRY_ROTATE_KEY; rec.unit = "admin";
		break;
	case BAD_UNIT_ID: rec.unit = "NewUnit"; break;
	case BROKER_KEY_OP: rec.op = CLUEBUS__REGISTRY_OP__REGISTRY_BROKER_KEY; break;
	case ADMIN_KEY_OP: rec.op = CLUEBUS__REGISTRY_OP__REGISTRY_ADMIN_KEY; break;
	case UNSPECIFIED_OP: rec.op = 0; break;
	}
	memset(&err, 0, sizeof(err));
	rc = registry_check_admin(r, &rec, &err);
	if (row->field == NULL) {
		if (rc != 0)
			fail_msg("refused: %s: %s", err.field, err.reason);
		/* What the check accepts must apply. */
		assert_int_equal(registry_apply(r, &rec, 2, &err), 0);
	} else {
		assert_int_equal(rc, CB_EMALFORMED);
		assert_string_equal(err.field, row->field);
		assert_true(err.reason[0] != '\0');
	}
	registry_free(r);
}

static void
test_the_admin_endpoint_must_be_local(void **state)
{
	static const struct { const char *ep; int ok; } eps[] = {
		{ "ipc:///run/cluebus/admin.sock", 1 }, { "ipc://admin.sock", 1 },
		{ "tcp://127.0.0.1:7701", 1 }, { "tcp://[::1]:7701", 1 },
		{ "tcp://localhost:7701", 1 }, { "tcp://0.0.0.0:7701", 0 },
		{ "tcp://10.0.0.5:7701", 0 }, { "tcp://*:7701", 0 }, { "tcp://127.0.0.1:", 0 },
		{ "inproc://admin", 0 }, { "ipc://", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]); i++) {
		char text[1024], errbuf[512];
		broker_config_t cfg;
		int rc;

		snprintf(text, sizeof(text), "broker:\n{\n  endpoint = \"tcp://127.0.0.1:7700\";\n"
		    "  data_dir = \"d\"; key = \"k\"; transport_key = \"t\"; registry = \"r\";\n"
		    "  admin_endpoint = \"%s\"; admin_key = \"a.pub\";\n};\n"
		    "routing:\n{\n  office = \"ato\";\n  categories: { };\n};\n", eps[i].ep);
		rc = config_broker_parse("b.conf", text, &cfg, errbuf, sizeof(errbuf));
		if (eps[i].ok && rc != 0)
			fail_msg("%s refused: %s", eps[i].ep, errbuf);
		if (!eps[i].ok) {
			if (rc == 0)
				fail_msg("%s accepted", eps[i].ep);
			if (strstr(errbuf, "b.conf:5: 'admin_endpoint' must be") == NULL)
				fail_msg("%s: %s", eps[i].ep, errbuf);
			continue;
		}
		config_broker_free(&cfg);
	}
}

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_the_admin_endpoint_must_be_local),
	};
	enum { N = sizeof(rows) / sizeof(rows[0]) };
	static struct CMUnitTest table[N];
	cb_key_t *k;
	int failed;

	if (key_generate(&k) != 0)
		return 1;
	memcpy(sign_pub, key_public(k), KEY_PUBLIC_LEN);
	key_free(k);
	memset(curve_pub, 7, sizeof(curve_pub));
	for (size_t i = 0; i < N; i++) {
		table[i].name = rows[i].name;
		table[i].test_func = test_row;
		table[i].initial_state = (void *)&rows[i];
	}
	failed = cmocka_run_group_tests_name("admin endpoint", fixed, NULL, NULL);
	failed += _cmocka_run_group_tests("administrative registry records", table, N, NULL, NULL);
	return failed != 0;
}

/* tests/unit/test_sealdir.c — whom a sending agent seals to (lib/sealdir.c).
 *
 * Over the fixture deployment's registry and the shipped routing table: a medical clue from
 * health is sealed to exactly psb, ato and ato-210302 (what the broker routes it to), each
 * with its key from the keys file; a recipient without a key is named; a receipt goes to
 * the office and, once the agent knows the obligation, to the referrer; with neither files
 * nor a directory there is nothing to seal with yet (CB_EAGAIN, the agent retries). A keys
 * file that is not an object of unit id -> 64 hex digits is refused naming the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker_fixture.h"
#include "intake.h"
#include "sealdir.h"
#include "sealkey.h"
#include "util.h"

static const char *const units[] = { "ato", "psb", "health", "civil-affairs", "education",
    "ato-210302" };

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A keys file for every fixture unit but `skip` (NULL: none skipped). */
static void
write_keys(struct fixture *fx, const char *path, const char *skip)
{
	char hex[2 * SEALKEY_PUBLIC_LEN + 1], *text = calloc(1, 4096);
	sealkey_t *k;

	(void)fx;
	strcat(text, "{");
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (skip != NULL && strcmp(units[i], skip) == 0)
			continue;
		assert_int_equal(sealkey_generate(&k), 0);
		hex_encode(sealkey_public(k), SEALKEY_PUBLIC_LEN, hex);
		sealkey_free(k);
		snprintf(text + strlen(text), 4096 - strlen(text), "%s\"%s\": \"%s\"",
		    text[1] != '\0' ? ", " : "", units[i], hex);
	}
	strcat(text, "}");
	write_file(path, text);
	free(text);
}

static Cluebus__Message *
message(const char *doc, const char *sender)
{
	Cluebus__Message *m = NULL;
	cb_error_t err;

	assert_int_equal(intake_from_json(doc, strlen(doc), &m, &err), 0);
	m->sender = strdup(sender);
	return m;
}

/* The fixture's broker config (with the shipped routing table), written where a sealing
 * directory reads it. */
static void
routing_path(struct fixture *fx, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/routing.conf", fx->dir);
	write_file(out, fx->conftext);
}

static sealdir_t *
load(struct fixture *fx, const char *skip)
{
	char keys[PATH_MAX + 16], reg[PATH_MAX + 16], routing[PATH_MAX + 16];
	sealdir_t *d = NULL;
	cb_error_t err;

	snprintf(keys, sizeof(keys), "%s/seal-keys.json", fx->dir);
	snprintf(reg, sizeof(reg), "%s/registry.json", fx->dir);
	routing_path(fx, routing, sizeof(routing));
	write_keys(fx, keys, skip);
	if (sealdir_load(routing, reg, keys, &d, &err) != 0)
		fail_msg("%s: %s", err.field, err.reason);
	return d;
}

static const char clue[] = "{\"kind\":\"clue\",\"priority\":\"routine\",\"clue\":{"
    "\"category\":\"medical\",\"jurisdiction\":\"210302\",\"occurred_at\":"
    "\"2026-03-01T08:00:00Z\",\"summary\":\"s\",\"handling\":{\"code\":\"h0\"},"
    "\"evaluation\":{\"source_reliability\":\"b\",\"accuracy\":2}}}";
static const char receipt[] = "{\"kind\":\"receipt\",\"refers_to\":"
    "\"5b7d1e0c2a9f4c3e8d6b1a0f9e8d7c6b\",\"receipt\":{\"note\":\"n\"}}";

static void
test_a_clue_is_sealed_to_the_units_the_broker_routes_it_to(void **state)
{
	struct fixture *fx = *state;
	sealdir_t *d = load(fx, NULL);
	Cluebus__Message *m = message(clue, "health");
	seal_recipient_t rcpt[SEAL_MAX_RECIPIENTS];
	route_result_t res;
	size_t n = 0;
	cb_error_t err;

	assert_int_equal(sealdir_recipients(d, m, rcpt, &n, &err), 0);
	assert_int_equal(route_message(fx->b.cfg.route, fx->b.reg, m, &res), 0);
	assert_int_equal(n, res.n);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(rcpt[i].unit, res.units[i]);
		assert_non_null(rcpt[i].key);
	}
	protobuf_c_message_free_unpacked(&m->base, NULL);
	sealdir_free(d);
}

static void
test_a_recipient_without_a_sealing_key_is_named(void **state)
{
	struct fixture *fx = *state;
	sealdir_t *d = load(fx, "psb");
	Cluebus__Message *m = message(clue, "health");
	seal_recipient_t rcpt[SEAL_MAX_RECIPIENTS];
	size_t n = 0;
	cb_error_t err;

	assert_int_equal(sealdir_recipients(d, m, rcpt, &n, &err), CB_ENOTFOUND);
	assert_non_null(strstr(err.reason, "'psb'"));
	protobuf_c_message_free_unpacked(&m->base, NULL);
	sealdir_free(d);
}

static void
test_a_receipt_goes_to_the_referrer_once_the_obligation_is_known(void **state)
{
	struct fixture *fx = *state;
	sealdir_t *d = load(fx, NULL);
	Cluebus__Message *m = message(receipt, "psb");
	seal_recipient_t rcpt[SEAL_MAX_RECIPIENTS];
	uint8_t rid[16];
	size_t n = 0;
	cb_error_t err;

	assert_int_equal(sealdir_recipients(d, m, rcpt, &n, &err), CB_ENOTFOUND);
	assert_string_equal(err.field, "refers_to");
	assert_int_equal(hex_decode("5b7d1e0c2a9f4c3e8d6b1a0f9e8d7c6b", rid, 16), 0);
	assert_int_equal(sealdir_note_one(d, rid, "civil-affairs", "ato"), 0);
	assert_int_equal(sealdir_recipients(d, m, rcpt, &n, &err), CB_ENOTFOUND);
	assert_int_equal(sealdir_note_one(d, rid, "psb", "health"), 0);
	assert_int_equal(sealdir_recipients(d, m, rcpt, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(rcpt[0].unit, "ato");
	assert_string_equal(rcpt[1].unit, "health");
	protobuf_c_message_free_unpacked(&m->base, NULL);
	sealdir_free(d);
}

static void
test_without_files_or_a_directory_there_is_nothing_to_seal_with_yet(void **state)
{
	Cluebus__Message *m = message(clue, "health");
	seal_recipient_t rcpt[SEAL_MAX_RECIPIENTS];
	sealdir_t *d = NULL;
	size_t n = 0;
	cb_error_t err;

	(void)state;
	assert_int_equal(sealdir_new(&d), 0);
	assert_int_equal(sealdir_recipients(d, m, rcpt, &n, &err), CB_EAGAIN);
	assert_int_equal(sealdir_reload(d, &err), 0);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	sealdir_free(d);
}

static void
test_bad_keys_files_are_refused_naming_the_file(void **state)
{
	static const char *const bad[] = {
		"not json",
		"[\"psb\"]",
		"{\"PSB\": \"" "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff" "\"}",
		"{\"psb\": \"0011\"}",
		"{\"psb\": \"zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}",
		"{\"psb\": 42}",
	};
	struct fixture *fx = *state;
	char keys[PATH_MAX + 16], reg[PATH_MAX + 16], routing[PATH_MAX + 16];

	snprintf(keys, sizeof(keys), "%s/seal-keys.json", fx->dir);
	snprintf(reg, sizeof(reg), "%s/registry.json", fx->dir);
	routing_path(fx, routing, sizeof(routing));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sealdir_t *d = NULL;
		cb_error_t err;

		write_file(keys, bad[i]);
		assert_int_equal(sealdir_load(routing, reg, keys, &d, &err), CB_EMALFORMED);
		assert_null(d);
		assert_string_equal(err.field, keys);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_a_clue_is_sealed_to_the_units_the_broker_routes_it_to, fixture_setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(test_a_recipient_without_a_sealing_key_is_named,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_receipt_goes_to_the_referrer_once_the_obligation_is_known,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test(test_without_files_or_a_directory_there_is_nothing_to_seal_with_yet),
		cmocka_unit_test_setup_teardown(test_bad_keys_files_are_refused_naming_the_file,
		    fixture_setup, fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

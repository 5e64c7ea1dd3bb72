/* tests/unit/test_sealdir.c — whom a sending agent seals to (lib/sealdir.c).
 *
 * Over the fixture deployment's registry and the shipped routing table: a medical clue from
 * health is sealed to exactly psb, ato and ato-210302 (what the broker routes it to), each
 * with its key from the keys file; a recipient without a key is left out of the seal (it
 * gets the message without its content, as the broker checks); a receipt goes to
 * the office and, once the agent knows the obligation, to the referrer; with neither files
 * nor a directory there is nothing to seal with yet (CB_EAGAIN, the agent retries); a
 * corrected clue goes to the original's recipients once they are known. A keys
 * file that is not an object of unit id -> 64 hex digits is refused naming the file.
 *
 * Over a signed directory of our own (a registry with a district, a member in it, and an
 * open case's task force): a message carrying the case's case_ref is sealed to its members
 * too, and follows the task force from one directory version to the next; a follow-up
 * report is sealed to the referrer of the sender's obligation on the referral (to the
 * routed units alone when none is known: the broker then says why); a periodic report to
 * the sender's level office. Each expectation is what broker/cases.c and broker/duties.c
 * add, which test_cases.c and test_duties.c check on the broker's side. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker_fixture.h"
#include "directory.h"
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
static const char correction[] = "{\"kind\":\"correction\",\"refers_to\":"
    "\"5b7d1e0c2a9f4c3e8d6b1a0f9e8d7c6b\",\"correction\":{\"op\":\"correct\","
    "\"reason\":\"r\",\"clue\":{\"category\":\"public_tip\",\"jurisdiction\":\"210302\","
    "\"occurred_at\":\"2026-03-01T08:00:00Z\",\"summary\":\"s\",\"handling\":{\"code\":"
    "\"h0\"},\"evaluation\":{\"source_reliability\":\"b\",\"accuracy\":2}}}}";

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

/* A routed unit without a sealing key (psb's revoked) is left out of the seal; the others
 * are sealed to. */
static void
test_a_recipient_without_a_sealing_key_is_left_out_of_the_seal(void **state)
{
	struct fixture *fx = *state;
	sealdir_t *d = load(fx, "psb");
	Cluebus__Message *m = message(clue, "health");
	seal_recipient_t rcpt[SEAL_MAX_RECIPIENTS];
	size_t n = 0;
	cb_error_t err;

	assert_int_equal(sealdir_recipients(d, m, rcpt, &n, &err), 0);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		assert_string_not_equal(rcpt[i].unit, "psb");
		assert_non_null(rcpt[i].key);
	}
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

/* A corrected clue goes where the original went (broker/cases.c routes a correction to
 * the office and the original's logged recipients): unknown to the agent, it is refused
 * naming correction.clue; once its Accepted named them, it is sealed to them. */
static void
test_a_corrected_clue_is_sealed_to_the_original_recipients(void **state)
{
	static char *orig[] = { "psb", "ato", "education" };
	struct fixture *fx = *state;
	sealdir_t *d = load(fx, NULL);
	Cluebus__Message *m = message(correction, "health");
	seal_recipient_t rcpt[SEAL_MAX_RECIPIENTS];
	uint8_t id[16], other[16];
	size_t n = 0;
	cb_error_t err;

	assert_int_equal(sealdir_recipients(d, m, rcpt, &n, &err), CB_EMALFORMED);
	assert_string_equal(err.field, "correction.clue");
	assert_int_equal(hex_decode("5b7d1e0c2a9f4c3e8d6b1a0f9e8d7c6b", id, 16), 0);
	memset(other, 0x11, sizeof(other));
	assert_int_equal(sealdir_set_original(d, other, orig, 3), 0);
	assert_int_equal(sealdir_recipients(d, m, rcpt, &n, &err), CB_EMALFORMED);
	assert_int_equal(sealdir_set_original(d, id, orig, 3), 0);
	assert_int_equal(sealdir_recipients(d, m, rcpt, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(rcpt[0].unit, "ato");	/* the office first, once */
	assert_string_equal(rcpt[1].unit, "psb");
	assert_string_equal(rcpt[2].unit, "education");
	orig[2] = "NOT A UNIT";
	assert_int_equal(sealdir_set_original(d, id, orig, 3), CB_EINVAL);
	orig[2] = "education";
	protobuf_c_message_free_unpacked(&m->base, NULL);
	sealdir_free(d);
}

/* A named unit that is not registered is refused as the broker would, naming its place. */
static void
test_an_unknown_named_unit_is_refused_naming_its_place(void **state)
{
	static const char referral[] = "{\"kind\":\"referral\",\"refers_to\":"
	    "\"5b7d1e0c2a9f4c3e8d6b1a0f9e8d7c6b\",\"referral\":{\"to_units\":[\"psb\","
	    "\"no-such-unit\"],\"action\":\"investigate\"}}";
	struct fixture *fx = *state;
	sealdir_t *d = load(fx, NULL);
	Cluebus__Message *m = message(referral, "ato");
	seal_recipient_t rcpt[SEAL_MAX_RECIPIENTS];
	size_t n = 0;
	cb_error_t err;

	assert_int_equal(sealdir_recipients(d, m, rcpt, &n, &err), CB_EMALFORMED);
	assert_string_equal(err.field, "referral.to_units[1]");
	assert_non_null(strstr(err.reason, "'no-such-unit' is not registered"));
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

/* ---- over a directory ---- */

#define DIR_ROUTING "routing = { office = \"ato\"; categories = { medical = [\"psb\"]; }; };"

struct dirfix {
	cb_key_t	*broker;
	registry_t	*reg, *trust;
	sealkey_t	*seal;
};

static void
dir_apply(registry_t *r, Cluebus__RegistryOp op, const char *unit, const char *role,
    const char *div, const cb_key_t *k, const uint8_t *seal)
{
	Cluebus__Registry rec = CLUEBUS__REGISTRY__INIT;
	cb_error_t err;

	rec.op = op;
	rec.unit = (char *)unit;
	rec.name = (char *)unit;
	rec.role = (char *)role;
	rec.division_code = (char *)div;
	rec.sign_public.data = (uint8_t *)key_public(k);
	rec.sign_public.len = KEY_PUBLIC_LEN;
	if (seal != NULL) {
		rec.seal_public.data = (uint8_t *)seal;
		rec.seal_public.len = SEALKEY_PUBLIC_LEN;
	}
	if (registry_apply(r, &rec, 1, &err) != 0)
		fail_msg("%s: %s", err.field, err.reason);
}

static int
dir_setup(void **state)
{
	static const char *const members[][3] = {
		{ "ato", "office", "" }, { "psb", "member", "" }, { "health", "member", "" },
		{ "civil-affairs", "member", "210302" }, { "justice", "member", "" },
		{ "education", "member", "" }, { "ato-210302", "district_office", "210302" },
	};
	struct dirfix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(key_generate(&f->broker), 0);
	assert_int_equal(sealkey_generate(&f->seal), 0);
	assert_non_null(f->reg = registry_new());
	assert_non_null(f->trust = registry_new());
	dir_apply(f->reg, CLUEBUS__REGISTRY_OP__REGISTRY_BROKER_KEY, "broker", "broker", "",
	    f->broker, NULL);
	dir_apply(f->trust, CLUEBUS__REGISTRY_OP__REGISTRY_BROKER_KEY, "broker", "broker", "",
	    f->broker, NULL);
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++)
		dir_apply(f->reg, CLUEBUS__REGISTRY_OP__REGISTRY_ADD_UNIT, members[i][0],
		    members[i][1], members[i][2], f->broker, sealkey_public(f->seal));
	*state = f;
	return 0;
}

static int
dir_teardown(void **state)
{
	struct dirfix *f = *state;

	key_free(f->broker);
	sealkey_free(f->seal);
	registry_free(f->reg);
	registry_free(f->trust);
	free(f);
	return 0;
}

/* A directory of version `version` listing case AS-1 with `members` (NULL: no case). */
static directory_t *
dir_open(struct dirfix *f, uint64_t version, char **members, size_t n)
{
	directory_task_force_t tf = { "AS-1", members, n };
	directory_t *d = NULL;
	uint8_t *buf;
	size_t len;
	cb_error_t err;

	assert_int_equal(directory_build_cases(f->reg, DIR_ROUTING, &tf, members != NULL ? 1 : 0,
	    version, 500, f->broker, &buf, &len), 0);
	if (directory_open(buf, len, f->trust, &d, &err) != 0)
		fail_msg("%s: %s", err.field, err.reason);
	free(buf);
	return d;
}

/* The recipients sealdir gives `m`, as "a,b,c," in its order. */
static void
sealed_to(sealdir_t *d, const Cluebus__Message *m, char *out, size_t cap)
{
	seal_recipient_t rcpt[SEAL_MAX_RECIPIENTS];
	size_t n = 0;
	cb_error_t err;

	out[0] = '\0';
	if (sealdir_recipients(d, m, rcpt, &n, &err) != 0)
		fail_msg("%s: %s", err.field, err.reason);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(rcpt[i].key);
		snprintf(out + strlen(out), cap - strlen(out), "%s,", rcpt[i].unit);
	}
}

static void
test_a_message_with_an_open_cases_ref_is_sealed_to_its_task_force_too(void **state)
{
	struct dirfix *f = *state;
	char *before[] = { "justice", "civil-affairs", "health" }, *after[] = { "education" };
	Cluebus__Message m = CLUEBUS__MESSAGE__INIT;
	Cluebus__Clue body = CLUEBUS__CLUE__INIT;
	directory_t *v1 = dir_open(f, 10, before, 3), *v2 = dir_open(f, 11, after, 1);
	directory_t *v3 = dir_open(f, 12, NULL, 0);
	sealdir_t *d = NULL;
	char got[256];

	m.sender = "health";
	m.kind = CLUEBUS__KIND__KIND_CLUE;
	m.body_case = CLUEBUS__MESSAGE__BODY_CLUE;
	m.clue = &body;
	m.case_ref = "AS-1";
	body.category = CLUEBUS__CATEGORY__CATEGORY_MEDICAL;
	body.jurisdiction = "210302";
	assert_int_equal(sealdir_new(&d), 0);
	sealdir_use_directory(d, v1);
	sealed_to(d, &m, got, sizeof(got));
	/* Routed: the office, the category's psb, the district office; the case adds its
	 * members but the sender. */
	assert_string_equal(got, "ato,psb,ato-210302,justice,civil-affairs,");
	m.case_ref = "AS-2";	/* no open case by that reference */
	sealed_to(d, &m, got, sizeof(got));
	assert_string_equal(got, "ato,psb,ato-210302,");
	/* The task force changed (justice, civil-affairs removed; education added). */
	m.case_ref = "AS-1";
	sealdir_use_directory(d, v2);
	sealed_to(d, &m, got, sizeof(got));
	assert_string_equal(got, "ato,psb,ato-210302,education,");
	/* The case closed. */
	sealdir_use_directory(d, v3);
	sealed_to(d, &m, got, sizeof(got));
	assert_string_equal(got, "ato,psb,ato-210302,");
	sealdir_free(d);
	directory_free(v1);
	directory_free(v2);
	directory_free(v3);
}

static void
test_a_follow_up_report_is_sealed_to_the_referrer_of_the_senders_obligation(void **state)
{
	struct dirfix *f = *state;
	Cluebus__Message m = CLUEBUS__MESSAGE__INIT;
	Cluebus__Report rep = CLUEBUS__REPORT__INIT;
	directory_t *dir = dir_open(f, 10, NULL, 0);
	uint8_t rid[16];
	sealdir_t *d = NULL;
	char got[256];

	memset(rid, 0x5b, sizeof(rid));
	m.sender = "civil-affairs";
	m.kind = CLUEBUS__KIND__KIND_REPORT;
	m.body_case = CLUEBUS__MESSAGE__BODY_REPORT;
	m.report = &rep;
	m.refers_to.data = rid;
	m.refers_to.len = sizeof(rid);
	rep.type = CLUEBUS__REPORT_TYPE__REPORT_FOLLOW_UP;
	assert_int_equal(sealdir_new(&d), 0);
	sealdir_use_directory(d, dir);
	/* No obligation known: the routed units alone (the broker refuses it if the unit owes
	 * no follow-up, else says the directory is stale). */
	sealed_to(d, &m, got, sizeof(got));
	assert_string_equal(got, "ato,");
	assert_int_equal(sealdir_note_one(d, rid, "justice", "psb"), 0);	/* another's */
	sealed_to(d, &m, got, sizeof(got));
	assert_string_equal(got, "ato,");
	assert_int_equal(sealdir_note_one(d, rid, "civil-affairs", "health"), 0);
	sealed_to(d, &m, got, sizeof(got));
	assert_string_equal(got, "ato,health,");
	/* A periodic report goes to the sender's level office instead: 210302's. */
	rep.type = CLUEBUS__REPORT_TYPE__REPORT_SELF_EVALUATION;
	m.refers_to.len = 0;
	sealed_to(d, &m, got, sizeof(got));
	assert_string_equal(got, "ato,ato-210302,");
	rep.type = CLUEBUS__REPORT_TYPE__REPORT_SITUATION_ANALYSIS;
	m.sender = "justice";	/* a member of no district: the city office */
	sealed_to(d, &m, got, sizeof(got));
	assert_string_equal(got, "ato,");
	m.sender = "ato-210302";	/* a district office owes the city office */
	sealed_to(d, &m, got, sizeof(got));
	assert_string_equal(got, "ato,");
	sealdir_free(d);
	directory_free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_a_clue_is_sealed_to_the_units_the_broker_routes_it_to, fixture_setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_recipient_without_a_sealing_key_is_left_out_of_the_seal,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_receipt_goes_to_the_referrer_once_the_obligation_is_known,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_corrected_clue_is_sealed_to_the_original_recipients,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_an_unknown_named_unit_is_refused_naming_its_place,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test(test_without_files_or_a_directory_there_is_nothing_to_seal_with_yet),
		cmocka_unit_test_setup_teardown(test_bad_keys_files_are_refused_naming_the_file,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_message_with_an_open_cases_ref_is_sealed_to_its_task_force_too,
		    dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_follow_up_report_is_sealed_to_the_referrer_of_the_senders_obligation,
		    dir_setup, dir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

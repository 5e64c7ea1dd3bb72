/* tests/unit/test_sealcheck.c — the broker's check of a sealed body's recipient set
 * (broker/pipeline.c publish_check_sealed), driven through the pipeline without sockets.
 *
 * A body sealed to exactly the units the broker routes it to is accepted, and its log entry
 * holds none of the sealed text; sealed to a set missing a routed unit (a stale directory),
 * or with one more, it is refused with REJECT_STALE_DIRECTORY naming the field `sealed` and
 * the broker's own recipients. A receipt's recipients include the referrer, which the
 * broker adds from its workflow state: sealed without it, the receipt is refused the same
 * way. A broker with `require_sealed` refuses a clue in clear as NOT_SEALED. A corrected
 * clue is sealed to the office and the original's recipients, which the original's Accepted
 * names. The city
 * correlation key is accepted from the city office only, sealed to every unit with a
 * sealing key, and refused naming a unit it names that is not registered. The broker
 * holds no sealing key: the units' keys are made here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker_fixture.h"
#include "route.h"
#include "seal.h"
#include "sealbody.h"
#include "sealkey.h"

#define SCHOOL		"examples/json/clue-school.json"
#define REFERRAL	"tests/unit/data/workflow-referral.json"
#define REFERRAL_ID	"5b7d1e0c2a9f4c3e8d6b1a0f9e8d7c6b"
#define RECEIPT		"tests/unit/data/workflow-receipt.json"
#define CORRECTION	"tests/unit/data/correction-clue.json"
#define CLUE_ID		"c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1"	/* CORRECTION refers to it */
#define CORRECTED_PART	"在医院附近徘徊"	/* from CORRECTION's corrected summary */
#define KEYDOC		"tests/unit/data/correlation-key.json"
#define KEYDOC_NOBODY	"tests/unit/data/correlation-key-nobody.json"
#define SUMMARY_PART	"试图带走三年级女生"	/* from clue-school.json's summary */

/* How the edit hook picks the units it seals to, from the broker's own route. */
static enum { ROUTED, MISSING_ONE, EXTRA_ONE, PLUS_REFERRER, CLEAR, PLUS_ORIGINAL } mode;

/* PLUS_ORIGINAL: the recipients of the original a correction refers to (the broker adds
 * them from its log). */
static char original[ROUTE_MAX][CB_UNIT_ID_SIZE];
static size_t noriginal;

/* A correlation key's seal holds the 32 key bytes (lib/clientcorr.c seals the same way). */
static int
seal_key_body(Cluebus__Message *m, const seal_recipient_t *rcpt, size_t n)
{
	seal_binding_t bind = { m->message_id.data, m->sender };
	uint8_t key[32];

	memset(key, 0x5a, sizeof(key));
	return seal_encrypt(&bind, rcpt, n, key, sizeof(key), &m->correlation_key->sealed_key,
	    NULL);
}

static int
seal_edit(struct fixture *fx, Cluebus__Message *m)
{
	route_result_t res;
	seal_recipient_t rcpt[ROUTE_MAX + 1];
	sealkey_t *keys[ROUTE_MAX + 1];
	size_t n;
	int rc;

	if (mode == CLEAR)
		return 0;
	if ((rc = route_message(fx->b.cfg.route, fx->b.reg, m, &res)) != 0)
		return rc;
	if (mode == MISSING_ONE)
		res.n--;
	if (mode == EXTRA_ONE)
		route_add(&res, "education", m->sender);
	if (mode == PLUS_REFERRER)
		route_add(&res, "health", m->sender);
	for (size_t i = 0; mode == PLUS_ORIGINAL && i < noriginal; i++)
		route_add(&res, original[i], m->sender);
	n = res.n;
	for (size_t i = 0; i < n; i++) {
		if ((rc = sealkey_generate(&keys[i])) != 0)
			return rc;
		rcpt[i].unit = res.units[i];
		rcpt[i].key = keys[i];
	}
	rc = m->body_case == CLUEBUS__MESSAGE__BODY_CORRELATION_KEY ?
	    seal_key_body(m, rcpt, n) : sealbody_seal(m, rcpt, n, NULL);
	for (size_t i = 0; i < n; i++)
		sealkey_free(keys[i]);
	return rc;
}

static int
setup(void **state)
{
	struct fixture *fx;

	if (fixture_setup(state) != 0)
		return -1;
	fx = *state;
	fx->edit = seal_edit;
	return 0;
}

static void
assert_reply(struct fixture *fx, int frame_case, int code)
{
	assert_int_equal(fx->nreplies, 1);
	assert_int_equal(fx->reply[0].frame_case, frame_case);
	if (frame_case == CLUEBUS__FRAME__FRAME_REJECTED)
		assert_int_equal(fx->reply[0].code, code);
}

static int
contains(const uint8_t *buf, size_t len, const char *needle)
{
	size_t nl = strlen(needle);

	for (size_t i = 0; i + nl <= len; i++)
		if (memcmp(buf + i, needle, nl) == 0)
			return 1;
	return 0;
}

static void
test_a_clue_sealed_to_its_route_is_accepted_and_logged_without_its_summary(void **state)
{
	struct fixture *fx = *state;
	Cluebus__LogEntry *e = NULL;
	Cluebus__Message *m = NULL;

	mode = ROUTED;
	assert_int_equal(fixture_send(fx, SCHOOL, "education", "education", NULL, 0, 0), 0);
	assert_reply(fx, CLUEBUS__FRAME__FRAME_ACCEPTED, 0);
	assert_int_equal(fixture_entry(fx, fx->reply[0].seq, &e, &m), 0);
	assert_non_null(sealbody_sealed(m));
	assert_false(contains(e->envelope->signed_.data, e->envelope->signed_.len,
	    SUMMARY_PART));
	assert_true(seal_recipients_equal(sealbody_sealed(m), (const char *const *)e->recipients,
	    e->n_recipients));
	protobuf_c_message_free_unpacked(&m->base, NULL);
	cluebus__log_entry__free_unpacked(e, NULL);
}

static void
test_a_clue_sealed_to_fewer_or_more_units_is_refused_as_a_stale_directory(void **state)
{
	struct fixture *fx = *state;

	mode = MISSING_ONE;
	assert_int_equal(fixture_send(fx, SCHOOL, "education", "education", NULL, 0, 0), 0);
	assert_reply(fx, CLUEBUS__FRAME__FRAME_REJECTED,
	    CLUEBUS__REJECT_CODE__REJECT_STALE_DIRECTORY);
	assert_string_equal(fx->reply[0].field, "sealed");
	assert_non_null(strstr(fx->reply[0].reason, "ato"));	/* the broker's recipients */
	mode = EXTRA_ONE;
	assert_int_equal(fixture_send(fx, "examples/json/clue-medical.json", "health", "health",
	    NULL, 0, 0), 0);
	assert_reply(fx, CLUEBUS__FRAME__FRAME_REJECTED,
	    CLUEBUS__REJECT_CODE__REJECT_STALE_DIRECTORY);
}

static void
test_a_receipt_must_be_sealed_to_the_referrer_the_workflow_adds(void **state)
{
	struct fixture *fx = *state;

	mode = ROUTED;
	assert_int_equal(fixture_send(fx, REFERRAL, "health", "health", REFERRAL_ID, 0, 0), 0);
	assert_reply(fx, CLUEBUS__FRAME__FRAME_ACCEPTED, 0);
	assert_int_equal(fixture_send(fx, RECEIPT, "psb", "psb", NULL, 0, 0), 0);
	assert_reply(fx, CLUEBUS__FRAME__FRAME_REJECTED,
	    CLUEBUS__REJECT_CODE__REJECT_STALE_DIRECTORY);
	mode = PLUS_REFERRER;
	assert_int_equal(fixture_send(fx, RECEIPT, "psb", "psb", NULL, 0, 0), 0);
	assert_reply(fx, CLUEBUS__FRAME__FRAME_ACCEPTED, 0);
}

static void
test_a_broker_that_requires_sealing_refuses_a_clear_clue_naming_the_field(void **state)
{
	struct fixture *fx = *state;

	fx->b.cfg.require_sealed = 1;
	mode = CLEAR;
	assert_int_equal(fixture_send(fx, SCHOOL, "education", "education", NULL, 0, 0), 0);
	assert_reply(fx, CLUEBUS__FRAME__FRAME_REJECTED, CLUEBUS__REJECT_CODE__REJECT_NOT_SEALED);
	assert_string_equal(fx->reply[0].field, "clue");
	assert_non_null(strstr(fx->reply[0].reason, "summary"));
	assert_null(strstr(fx->reply[0].reason, SUMMARY_PART));
	mode = ROUTED;
	assert_int_equal(fixture_send(fx, SCHOOL, "education", "education", NULL, 0, 0), 0);
	assert_reply(fx, CLUEBUS__FRAME__FRAME_ACCEPTED, 0);
	fx->b.cfg.require_sealed = 0;	/* the default: a clear clue is accepted */
	mode = CLEAR;
	assert_int_equal(fixture_send(fx, SCHOOL, "education", "education", NULL, 0, 0), 0);
	assert_reply(fx, CLUEBUS__FRAME__FRAME_ACCEPTED, 0);
}

/* A corrected clue is sealed to whom the original went: its Accepted named them, and the
 * broker routes the correction there (with the office); sealed to the office alone (what
 * routing gives a correction), it is refused as a stale directory. */
static void
test_a_corrected_clue_is_sealed_to_the_original_recipients_its_accepted_named(void **state)
{
	struct fixture *fx = *state;
	Cluebus__LogEntry *e = NULL;
	Cluebus__Message *m = NULL;
	char want[256];
	size_t used = 0;

	mode = ROUTED;
	assert_int_equal(fixture_send(fx, SCHOOL, "education", "education", CLUE_ID, 0, 0), 0);
	assert_reply(fx, CLUEBUS__FRAME__FRAME_ACCEPTED, 0);
	assert_int_equal(fixture_entry(fx, fx->reply[0].seq, &e, &m), 0);
	noriginal = e->n_recipients;
	for (size_t i = 0; i < e->n_recipients; i++) {
		snprintf(original[i], sizeof(original[i]), "%s", e->recipients[i]);
		used += (size_t)snprintf(want + used, sizeof(want) - used, "%s,",
		    e->recipients[i]);
	}
	assert_string_equal(fx->reply[0].recipients, want);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	cluebus__log_entry__free_unpacked(e, NULL);

	assert_int_equal(fixture_send(fx, CORRECTION, "education", "education", NULL, 0, 0), 0);
	assert_reply(fx, CLUEBUS__FRAME__FRAME_REJECTED,
	    CLUEBUS__REJECT_CODE__REJECT_STALE_DIRECTORY);
	mode = PLUS_ORIGINAL;
	assert_int_equal(fixture_send(fx, CORRECTION, "education", "education", NULL, 0, 0), 0);
	assert_reply(fx, CLUEBUS__FRAME__FRAME_ACCEPTED, 0);
	assert_int_equal(fixture_entry(fx, fx->reply[0].seq, &e, &m), 0);
	assert_non_null(sealbody_sealed(m));
	assert_string_equal(m->correction->clue->summary, "");
	assert_false(contains(e->envelope->signed_.data, e->envelope->signed_.len,
	    CORRECTED_PART));
	assert_true(seal_recipients_equal(sealbody_sealed(m), (const char *const *)e->recipients,
	    e->n_recipients));
	protobuf_c_message_free_unpacked(&m->base, NULL);
	cluebus__log_entry__free_unpacked(e, NULL);
	/* A broker that requires sealing refuses the same correction in clear. */
	fx->b.cfg.require_sealed = 1;
	mode = CLEAR;
	assert_int_equal(fixture_send(fx, CORRECTION, "education", "education", NULL, 0, 0), 0);
	assert_reply(fx, CLUEBUS__FRAME__FRAME_REJECTED, CLUEBUS__REJECT_CODE__REJECT_NOT_SEALED);
	assert_string_equal(fx->reply[0].field, "correction.clue");
}

static void
test_the_city_office_alone_sends_the_key_sealed_to_every_unit_with_one(void **state)
{
	static const char *const others[] = { "psb", "health", "civil-affairs", "education",
	    "ato-210302" };
	struct fixture *fx = *state;
	Cluebus__LogEntry *e = NULL;
	Cluebus__Message *m = NULL;

	mode = ROUTED;
	assert_int_equal(fixture_send(fx, KEYDOC, "ato", "ato", NULL, 0, 0), 0);
	assert_reply(fx, CLUEBUS__FRAME__FRAME_ACCEPTED, 0);
	assert_int_equal(fixture_entry(fx, fx->reply[0].seq, &e, &m), 0);
	assert_int_equal(e->n_recipients, 5);
	assert_true(seal_recipients_equal(sealbody_sealed(m), others, 5));
	protobuf_c_message_free_unpacked(&m->base, NULL);
	cluebus__log_entry__free_unpacked(e, NULL);
	/* A district office issues no city key, nor does a unit. */
	assert_int_equal(fixture_send(fx, KEYDOC, "ato-210302", "ato-210302", NULL, 0, 0), 0);
	assert_reply(fx, CLUEBUS__FRAME__FRAME_REJECTED,
	    CLUEBUS__REJECT_CODE__REJECT_FORBIDDEN_KIND);
	assert_string_equal(fx->reply[0].field, "kind");
	assert_int_equal(fixture_send(fx, KEYDOC, "psb", "psb", NULL, 0, 0), 0);
	assert_reply(fx, CLUEBUS__FRAME__FRAME_REJECTED,
	    CLUEBUS__REJECT_CODE__REJECT_FORBIDDEN_KIND);
	/* Sealed to one unit fewer than the broker routes it to. */
	mode = MISSING_ONE;
	assert_int_equal(fixture_send(fx, KEYDOC, "ato", "ato", NULL, 0, 0), 0);
	assert_reply(fx, CLUEBUS__FRAME__FRAME_REJECTED,
	    CLUEBUS__REJECT_CODE__REJECT_STALE_DIRECTORY);
}

static void
test_a_correlation_key_to_an_unregistered_unit_is_refused_naming_it(void **state)
{
	struct fixture *fx = *state;

	mode = ROUTED;
	assert_int_equal(fixture_send(fx, KEYDOC_NOBODY, "ato", "ato", NULL, 0, 0), 0);
	assert_reply(fx, CLUEBUS__FRAME__FRAME_REJECTED,
	    CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY);
	assert_string_equal(fx->reply[0].field, "correlation_key.to_units[1]");
	assert_non_null(strstr(fx->reply[0].reason, "not registered"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_a_clue_sealed_to_its_route_is_accepted_and_logged_without_its_summary,
		    setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_clue_sealed_to_fewer_or_more_units_is_refused_as_a_stale_directory,
		    setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_receipt_must_be_sealed_to_the_referrer_the_workflow_adds,
		    setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_broker_that_requires_sealing_refuses_a_clear_clue_naming_the_field,
		    setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_corrected_clue_is_sealed_to_the_original_recipients_its_accepted_named,
		    setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_the_city_office_alone_sends_the_key_sealed_to_every_unit_with_one,
		    setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_correlation_key_to_an_unregistered_unit_is_refused_naming_it,
		    setup, fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

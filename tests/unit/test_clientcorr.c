/* tests/unit/test_clientcorr.c — distributing the city correlation key on the agents' side:
 * the key ring (lib/matchkey.c: which keys tokenise when) and receiving a key
 * (lib/clientcorr.c: opened only from the city office with a verified signature, written
 * 0600 before use, a conflicting or older version never replacing what is held, reloaded
 * at start behind the configured keys). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "clientcorr.h"
#include "matchkey.h"
#include "seal.h"
#include "sealkey.h"
#include "util.h"

static matchkey_t
key_of(uint32_t version, uint8_t fill, int64_t effective_ms)
{
	matchkey_t k;

	memset(&k, 0, sizeof(k));
	k.version = version;
	memset(k.key, fill, sizeof(k.key));
	k.effective_ms = effective_ms;
	return k;
}

static void
test_the_ring_tokenises_with_the_newest_effective_key_and_the_one_before(void **state)
{
	matchkey_t ring[3] = { key_of(1, 0x11, 0), key_of(3, 0x33, 5000), key_of(2, 0x22, 1000) };
	const matchkey_t *out[MATCHKEY_MAX_KEYS];

	(void)state;
	assert_int_equal(matchkey_ring_pick(ring, 0, 0, out), 0);
	assert_int_equal(matchkey_ring_pick(ring, 3, 999, out), 1);
	assert_int_equal(out[0]->version, 1);
	assert_int_equal(matchkey_ring_pick(ring, 3, 1000, out), 2);
	assert_int_equal(out[0]->version, 2);
	assert_int_equal(out[1]->version, 1);
	assert_int_equal(matchkey_ring_pick(ring, 3, 6000, out), 2);
	assert_int_equal(out[0]->version, 3);
	assert_int_equal(out[1]->version, 2);
	ring[0].effective_ms = 10;	/* nothing effective yet */
	ring[2].effective_ms = 10;
	assert_int_equal(matchkey_ring_pick(ring, 3, 5, out), 0);
}

static void
test_the_first_key_of_a_version_wins_and_a_full_ring_drops_the_oldest(void **state)
{
	matchkey_t ring[3];
	matchkey_t k;
	size_t n = 0;
	int same = -1;

	(void)state;
	k = key_of(5, 0x55, 0);
	assert_int_equal(matchkey_ring_add(ring, &n, 3, &k, NULL), 1);
	k = key_of(5, 0x66, 0);
	assert_int_equal(matchkey_ring_add(ring, &n, 3, &k, &same), 0);
	assert_int_equal(same, 0);
	assert_int_equal(ring[0].key[0], 0x55);
	k = key_of(5, 0x55, 0);
	assert_int_equal(matchkey_ring_add(ring, &n, 3, &k, &same), 0);
	assert_int_equal(same, 1);
	k = key_of(6, 0x66, 0);
	assert_int_equal(matchkey_ring_add(ring, &n, 3, &k, NULL), 1);
	k = key_of(4, 0x44, 0);
	assert_int_equal(matchkey_ring_add(ring, &n, 3, &k, NULL), 1);
	assert_int_equal(n, 3);
	k = key_of(3, 0x33, 0);
	assert_int_equal(matchkey_ring_add(ring, &n, 3, &k, NULL), -1);	/* the lowest */
	k = key_of(7, 0x77, 0);
	assert_int_equal(matchkey_ring_add(ring, &n, 3, &k, NULL), 1);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_int_not_equal(ring[i].version, 4);	/* version 4 went */
}

/* A delivered correlation_key from `sender`, its key sealed to `rcpt`. */
static Cluebus__Message *
key_message(const char *sender, uint32_t version, int64_t effective_ms, uint8_t fill,
    size_t keylen, const seal_recipient_t *rcpt, size_t n)
{
	static uint8_t id[SEAL_MESSAGE_ID_LEN] = { 0x42 };
	Cluebus__Message *m = calloc(1, sizeof(*m));
	Cluebus__CorrelationKey *b = calloc(1, sizeof(*b));
	seal_binding_t bind = { id, sender };
	uint8_t key[64];

	assert_non_null(m);
	assert_non_null(b);
	cluebus__message__init(m);
	cluebus__correlation_key__init(b);
	m->kind = CLUEBUS__KIND__KIND_CORRELATION_KEY;
	m->body_case = CLUEBUS__MESSAGE__BODY_CORRELATION_KEY;
	m->correlation_key = b;
	assert_non_null(m->sender = strdup(sender));
	assert_non_null(m->message_id.data = malloc(sizeof(id)));
	memcpy(m->message_id.data, id, sizeof(id));
	m->message_id.len = sizeof(id);
	b->version = version;
	b->effective_ms = effective_ms;
	memset(key, fill, sizeof(key));
	assert_int_equal(seal_encrypt(&bind, rcpt, n, key, keylen, &b->sealed_key, NULL), 0);
	return m;
}

static const char *
status_of(json_t *facts)
{
	return json_string_value(json_object_get(facts, "status"));
}

static const char *
code_of(json_t *facts)
{
	return json_string_value(json_object_get(facts, "code"));
}

static void
test_a_key_from_the_office_is_installed_0600_and_reloaded_after_the_configured(void **state)
{
	char dir[] = "/tmp/cb-clientcorr-XXXXXX", path[128];
	matchkey_t ring[MATCHKEY_RING_MAX], *install = NULL;
	sealkey_t *mine, *other;
	seal_recipient_t rcpt[2];
	Cluebus__Message *m;
	struct stat st;
	size_t n = 0;
	json_t *facts;
	clientcorr_rx_t rx;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(sealkey_generate(&mine), 0);
	assert_int_equal(sealkey_generate(&other), 0);
	rcpt[0] = (seal_recipient_t){ "psb", mine };
	rcpt[1] = (seal_recipient_t){ "health", other };
	ring[n++] = key_of(1, 0x11, 0);	/* configured */
	rx = (clientcorr_rx_t){ (const sealkey_t *const *)&mine, 1, "psb", "ato", 1, ring, n };

	m = key_message("ato", 2, 1000, 0x22, MATCHKEY_LEN, rcpt, 2);
	facts = clientcorr_open(&rx, m, 7, &install);
	assert_string_equal(status_of(facts), "installed");
	assert_int_equal(json_integer_value(json_object_get(facts, "version")), 2);
	assert_null(json_object_get(facts, "key"));
	assert_non_null(install);
	assert_int_equal(install->version, 2);
	assert_int_equal(install->effective_ms, 1000);
	assert_int_equal(install->key[0], 0x22);
	json_decref(facts);
	assert_int_equal(clientcorr_install(dir, install, ring, &n, MATCHKEY_RING_MAX), 0);
	clientcorr_free(install);
	assert_int_equal(n, 2);
	snprintf(path, sizeof(path), "%s/correlation-2.key", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* A second key of version 2 opened before the first was installed: the first stays,
	 * in the ring and in the file. */
	{
		matchkey_t late = key_of(2, 0x24, 0);
		size_t before = n;

		assert_int_equal(clientcorr_install(dir, &late, ring, &n, MATCHKEY_RING_MAX), 0);
		assert_int_equal(n, before);
		assert_int_equal(matchkey_load(path, &late, NULL), 0);
		assert_int_equal(late.key[0], 0x22);
	}

	/* The same again is known; the office cannot change a version's key. */
	rx.nring = n;
	facts = clientcorr_open(&rx, m, 8, &install);
	assert_string_equal(status_of(facts), "known");
	assert_null(install);
	json_decref(facts);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	m = key_message("ato", 2, 0, 0x23, MATCHKEY_LEN, rcpt, 2);
	facts = clientcorr_open(&rx, m, 9, &install);
	assert_string_equal(status_of(facts), "not_installed");
	assert_string_equal(code_of(facts), "conflict");
	assert_null(install);
	json_decref(facts);
	protobuf_c_message_free_unpacked(&m->base, NULL);

	/* A start: the configured key first, then the files; a foreign file is skipped, and a
	 * file of a configured version does not replace it. */
	snprintf(path, sizeof(path), "%s/correlation-x.key", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("junk", f);
	fclose(f);
	{
		matchkey_t k1 = key_of(1, 0x99, 0), again[MATCHKEY_RING_MAX];
		size_t m2 = 0;

		snprintf(path, sizeof(path), "%s/correlation-1.key", dir);
		assert_int_equal(matchkey_save(path, &k1), 0);
		again[m2++] = key_of(1, 0x11, 0);
		assert_int_equal(clientcorr_load(dir, again, &m2, MATCHKEY_RING_MAX), 0);
		assert_int_equal(m2, 2);
		assert_int_equal(again[0].key[0], 0x11);
		assert_int_equal(again[1].version, 2);
		assert_int_equal(again[1].key[0], 0x22);
		assert_int_equal(again[1].effective_ms, 1000);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/correlation-x.key", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/correlation-2.key", dir);
	unlink(path);
	rmdir(dir);
	sealkey_free(mine);
	sealkey_free(other);
}

static void
test_a_key_not_from_the_office_unverified_unopenable_or_damaged_is_not_installed(void **state)
{
	matchkey_t ring[MATCHKEY_RING_MAX], *install = (matchkey_t *)1;
	sealkey_t *mine, *other;
	seal_recipient_t rcpt[1];
	Cluebus__Message *m;
	clientcorr_rx_t rx;
	json_t *facts;

	(void)state;
	assert_int_equal(sealkey_generate(&mine), 0);
	assert_int_equal(sealkey_generate(&other), 0);
	rcpt[0] = (seal_recipient_t){ "psb", mine };
	rx = (clientcorr_rx_t){ (const sealkey_t *const *)&mine, 1, "psb", "ato", 1, ring, 0 };

	m = key_message("ato-210302", 1, 0, 0x11, MATCHKEY_LEN, rcpt, 1);
	facts = clientcorr_open(&rx, m, 1, &install);
	assert_string_equal(code_of(facts), "refused");
	assert_null(install);
	json_decref(facts);
	protobuf_c_message_free_unpacked(&m->base, NULL);

	m = key_message("ato", 1, 0, 0x11, MATCHKEY_LEN, rcpt, 1);
	rx.verified = 0;
	facts = clientcorr_open(&rx, m, 2, &install);
	assert_string_equal(code_of(facts), "refused");
	json_decref(facts);
	rx.verified = 1;
	rx.office = NULL;	/* no directory yet */
	facts = clientcorr_open(&rx, m, 3, &install);
	assert_string_equal(code_of(facts), "refused");
	json_decref(facts);
	rx.office = "ato";
	rx.seal_keys = (const sealkey_t *const *)&other;	/* sealed to another key */
	facts = clientcorr_open(&rx, m, 4, &install);
	assert_string_equal(code_of(facts), "unopened");
	assert_null(install);
	json_decref(facts);
	protobuf_c_message_free_unpacked(&m->base, NULL);

	rx.seal_keys = (const sealkey_t *const *)&mine;
	m = key_message("ato", 1, 0, 0x11, MATCHKEY_LEN - 1, rcpt, 1);	/* a short key */
	facts = clientcorr_open(&rx, m, 5, &install);
	assert_string_equal(code_of(facts), "unopened");
	assert_non_null(strstr(json_string_value(json_object_get(facts, "reason")),
	    "correlation_key.sealed_key"));
	json_decref(facts);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	m = key_message("ato", 1, 0, 0x00, MATCHKEY_LEN, rcpt, 1);	/* all zero */
	facts = clientcorr_open(&rx, m, 6, &install);
	assert_string_equal(code_of(facts), "unopened");
	json_decref(facts);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	sealkey_free(mine);
	sealkey_free(other);
}

static void
test_a_full_ring_refuses_a_key_older_than_all_it_holds(void **state)
{
	matchkey_t ring[MATCHKEY_RING_MAX], *install = NULL;
	seal_recipient_t rcpt[1];
	sealkey_t *mine;
	Cluebus__Message *m;
	clientcorr_rx_t rx;
	json_t *facts;

	(void)state;
	assert_int_equal(sealkey_generate(&mine), 0);
	rcpt[0] = (seal_recipient_t){ "psb", mine };
	for (size_t i = 0; i < MATCHKEY_RING_MAX; i++)
		ring[i] = key_of((uint32_t)(10 + i), 0x10, 0);
	rx = (clientcorr_rx_t){ (const sealkey_t *const *)&mine, 1, "psb", "ato", 1, ring,
	    MATCHKEY_RING_MAX };
	m = key_message("ato", 3, 0, 0x33, MATCHKEY_LEN, rcpt, 1);
	facts = clientcorr_open(&rx, m, 1, &install);
	assert_string_equal(code_of(facts), "old");
	assert_null(install);
	json_decref(facts);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	sealkey_free(mine);
}

static void
test_the_office_cannot_send_a_version_it_does_not_hold(void **state)
{
	matchkey_t ring[1] = { key_of(1, 0x11, 0) };
	ProtobufCBinaryData clear = { 5, (uint8_t *)1 };
	Cluebus__Message m = CLUEBUS__MESSAGE__INIT;
	Cluebus__CorrelationKey b = CLUEBUS__CORRELATION_KEY__INIT;
	cb_error_t err;

	(void)state;
	m.body_case = CLUEBUS__MESSAGE__BODY_CORRELATION_KEY;
	m.correlation_key = &b;
	b.version = 2;
	assert_int_equal(clientcorr_seal(NULL, ring, 1, &m, &clear, &err), CB_EMALFORMED);
	assert_string_equal(err.field, "correlation_key.version");
	assert_null(clear.data);
	assert_null(b.sealed_key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_the_ring_tokenises_with_the_newest_effective_key_and_the_one_before),
		cmocka_unit_test(
		    test_the_first_key_of_a_version_wins_and_a_full_ring_drops_the_oldest),
		cmocka_unit_test(
		    test_a_key_from_the_office_is_installed_0600_and_reloaded_after_the_configured),
		cmocka_unit_test(
		    test_a_key_not_from_the_office_unverified_unopenable_or_damaged_is_not_installed),
		cmocka_unit_test(test_a_full_ring_refuses_a_key_older_than_all_it_holds),
		cmocka_unit_test(test_the_office_cannot_send_a_version_it_does_not_hold),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* tests/unit/test_chain.c — entry hashes and the per-entry checks of the audit chain.
 *
 * The hash is SHA-256 over a domain tag and the packed entry, so it is checked against an
 * independent computation. A stored value (hash || packed LogEntry) passes chain_check only
 * with its own hash, its own seq and the previous entry's hash; every single flipped byte
 * makes it fail, and `why` names the check that failed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "chain.h"
#include "cluebus/err.h"
#include "cluebus.pb-c.h"

#define WHY_DECODE	"entry does not decode"
#define WHY_HASH	"entry bytes do not match its recorded hash"
#define WHY_SEQ		"entry records a different sequence number"
#define WHY_PREV	"prev_hash does not link to the previous entry"

static const uint8_t zeros[CHAIN_HASH_LEN];

/* Builds the stored value of an ack entry: hash || packed LogEntry (caller frees). The ack
 * names a unit long enough that a flipped byte inside it still decodes. */
static uint8_t *
make_value(uint64_t seq, const uint8_t prev[CHAIN_HASH_LEN], size_t prevlen, size_t *len)
{
	Cluebus__LogEntry e = CLUEBUS__LOG_ENTRY__INIT;
	Cluebus__DeliveryAck ack = CLUEBUS__DELIVERY_ACK__INIT;
	uint64_t seqs[3] = { 1, 2, 3 };
	char *recipients[2] = { "ato", "psb" };
	size_t plen;
	uint8_t *val;

	ack.unit = "civil-affairs";
	ack.seqs = seqs;
	ack.n_seqs = 3;
	e.seq = seq;
	e.time_ms = 1772325000000 + (int64_t)seq;
	e.prev_hash.data = (uint8_t *)prev;
	e.prev_hash.len = prevlen;
	e.type = CLUEBUS__ENTRY_TYPE__ENTRY_ACK;
	e.ack = &ack;
	e.recipients = recipients;
	e.n_recipients = 2;
	plen = cluebus__log_entry__get_packed_size(&e);
	assert_non_null(val = malloc(CHAIN_HASH_LEN + plen));
	assert_int_equal(cluebus__log_entry__pack(&e, val + CHAIN_HASH_LEN), plen);
	assert_int_equal(chain_hash(val + CHAIN_HASH_LEN, plen, val), 0);
	*len = CHAIN_HASH_LEN + plen;
	return val;
}

static void
sha256_tagged(const void *data, size_t len, uint8_t out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	assert_non_null(ctx);
	assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, "cluebus-entry-v1", 16), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, data, len), 1);
	assert_int_equal(EVP_DigestFinal_ex(ctx, out, NULL), 1);
	EVP_MD_CTX_free(ctx);
}

static void
test_the_entry_hash_is_sha256_of_the_tag_and_the_packed_entry(void **state)
{
	/* SHA-256("cluebus-entry-v1"), computed outside this code base. */
	static const uint8_t empty[32] = { 0xbd, 0xed, 0x4b, 0x66, 0x57, 0x3c, 0x39, 0x65,
	    0xdf, 0x68, 0x2c, 0xe8, 0x03, 0x7d, 0xec, 0x96, 0xbc, 0x9d, 0xf6, 0x4e, 0x7e, 0xac,
	    0x1a, 0xfc, 0x14, 0xc6, 0x09, 0x6f, 0xa0, 0x28, 0x39, 0xcd };
	uint8_t h[32], want[32];
	size_t len;
	uint8_t *val = make_value(1, zeros, CHAIN_HASH_LEN, &len);

	(void)state;
	assert_int_equal(chain_hash((const uint8_t *)"", 0, h), 0);
	assert_memory_equal(h, empty, 32);
	sha256_tagged(val + CHAIN_HASH_LEN, len - CHAIN_HASH_LEN, want);
	assert_memory_equal(val, want, 32);
	free(val);
}

static void
test_a_well_formed_first_entry_passes_the_check(void **state)
{
	const char *why = NULL;
	size_t len;
	uint8_t *val = make_value(1, zeros, CHAIN_HASH_LEN, &len);

	(void)state;
	assert_int_equal(chain_check(val, len, 1, zeros, &why), 0);
	free(val);
}

static void
test_consecutive_entries_link_by_the_previous_hash(void **state)
{
	uint8_t prev[CHAIN_HASH_LEN];
	const char *why = NULL;

	(void)state;
	memcpy(prev, zeros, sizeof(prev));
	for (uint64_t seq = 1; seq <= 5; seq++) {
		size_t len;
		uint8_t *val = make_value(seq, prev, CHAIN_HASH_LEN, &len);

		if (chain_check(val, len, seq, prev, &why) != 0)
			fail_msg("entry %llu: %s", (unsigned long long)seq, why);
		/* The first entry links to zeros, every other one to its predecessor only. */
		if (seq > 1)
			assert_int_equal(chain_check(val, len, seq, zeros, &why), CB_ECORRUPT);
		memcpy(prev, val, CHAIN_HASH_LEN);
		free(val);
	}
}

static void
test_a_check_against_another_seq_names_the_sequence_number(void **state)
{
	const char *why = NULL;
	size_t len;
	uint8_t *val = make_value(7, zeros, CHAIN_HASH_LEN, &len);

	(void)state;
	assert_int_equal(chain_check(val, len, 8, zeros, &why), CB_ECORRUPT);
	assert_string_equal(why, WHY_SEQ);
	assert_int_equal(chain_check(val, len, 6, zeros, &why), CB_ECORRUPT);
	assert_string_equal(why, WHY_SEQ);
	assert_int_equal(chain_check(val, len, 7, zeros, &why), 0);
	free(val);
}

static void
test_a_check_against_another_previous_hash_names_the_link(void **state)
{
	uint8_t other[CHAIN_HASH_LEN];
	const char *why = NULL;
	size_t len;
	uint8_t *val = make_value(1, zeros, CHAIN_HASH_LEN, &len);

	(void)state;
	memset(other, 0, sizeof(other));
	other[31] = 1;
	assert_int_equal(chain_check(val, len, 1, other, &why), CB_ECORRUPT);
	assert_string_equal(why, WHY_PREV);
	free(val);
}

static void
test_a_prev_hash_of_the_wrong_length_does_not_link(void **state)
{
	const char *why = NULL;
	size_t len;
	uint8_t *val = make_value(1, zeros, CHAIN_HASH_LEN - 1, &len);

	(void)state;
	assert_int_equal(chain_check(val, len, 1, zeros, &why), CB_ECORRUPT);
	assert_string_equal(why, WHY_PREV);
	free(val);
	val = make_value(1, zeros, 0, &len);
	assert_int_equal(chain_check(val, len, 1, zeros, &why), CB_ECORRUPT);
	assert_string_equal(why, WHY_PREV);
	free(val);
}

static void
test_a_flipped_byte_inside_a_string_fails_naming_the_hash(void **state)
{
	const char *why = NULL;
	size_t len;
	uint8_t *val = make_value(1, zeros, CHAIN_HASH_LEN, &len);
	uint8_t *at = NULL;

	(void)state;
	for (size_t i = CHAIN_HASH_LEN; at == NULL && i + 13 <= len; i++)
		if (memcmp(val + i, "civil-affairs", 13) == 0)
			at = val + i;
	assert_non_null(at);
	at[5] = 'A';	/* still a valid encoding, different bytes */
	assert_int_equal(chain_check(val, len, 1, zeros, &why), CB_ECORRUPT);
	assert_string_equal(why, WHY_HASH);
	free(val);
}

static void
test_flipping_any_single_byte_of_a_stored_value_fails_the_check(void **state)
{
	const char *why;
	size_t len;
	uint8_t *val = make_value(3, zeros, CHAIN_HASH_LEN, &len);

	(void)state;
	for (size_t i = 0; i < len; i++) {
		val[i] ^= 0x20;
		why = NULL;
		if (chain_check(val, len, 3, zeros, &why) != CB_ECORRUPT)
			fail_msg("flipping byte %zu of %zu passes the check", i, len);
		/* In the recorded hash the hash check fails; in the entry, either the entry no
		 * longer decodes or it hashes differently. */
		if (i < CHAIN_HASH_LEN)
			assert_string_equal(why, WHY_HASH);
		else if (strcmp(why, WHY_HASH) != 0 && strcmp(why, WHY_DECODE) != 0)
			fail_msg("flipping byte %zu: unexpected reason \"%s\"", i, why);
		val[i] ^= 0x20;
	}
	assert_int_equal(chain_check(val, len, 3, zeros, &why), 0);
	free(val);
}

static void
test_a_value_shorter_than_a_hash_does_not_decode(void **state)
{
	uint8_t val[CHAIN_HASH_LEN];
	Cluebus__LogEntry *e = NULL;
	const uint8_t *hash = NULL;
	const char *why = NULL;

	(void)state;
	memset(val, 0, sizeof(val));
	assert_int_equal(chain_check(val, CHAIN_HASH_LEN - 1, 1, zeros, &why), CB_ECORRUPT);
	assert_string_equal(why, WHY_DECODE);
	assert_int_equal(chain_decode(val, 0, &hash, &e), CB_ECORRUPT);
	assert_null(e);
	/* Exactly a hash and an empty entry decodes, but cannot match: the hash of nothing
	 * is not zero, and seq 0 is not 1. */
	assert_int_equal(chain_check(val, CHAIN_HASH_LEN, 1, zeros, &why), CB_ECORRUPT);
	assert_string_equal(why, WHY_HASH);
}

static void
test_decoding_splits_the_recorded_hash_from_the_entry(void **state)
{
	Cluebus__LogEntry *e = NULL;
	const uint8_t *hash = NULL;
	size_t len;
	uint8_t *val = make_value(42, zeros, CHAIN_HASH_LEN, &len);

	(void)state;
	assert_int_equal(chain_decode(val, len, &hash, &e), 0);
	assert_ptr_equal(hash, val);
	assert_int_equal(e->seq, 42);
	assert_int_equal(e->type, CLUEBUS__ENTRY_TYPE__ENTRY_ACK);
	assert_string_equal(e->ack->unit, "civil-affairs");
	assert_int_equal(e->n_recipients, 2);
	assert_string_equal(e->recipients[1], "psb");
	cluebus__log_entry__free_unpacked(e, NULL);
	/* Garbage after the hash does not decode. */
	memset(val + CHAIN_HASH_LEN, 0xff, len - CHAIN_HASH_LEN);
	e = NULL;
	assert_int_equal(chain_decode(val, len, &hash, &e), CB_ECORRUPT);
	assert_null(e);
	free(val);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_the_entry_hash_is_sha256_of_the_tag_and_the_packed_entry),
		cmocka_unit_test(test_a_well_formed_first_entry_passes_the_check),
		cmocka_unit_test(test_consecutive_entries_link_by_the_previous_hash),
		cmocka_unit_test(test_a_check_against_another_seq_names_the_sequence_number),
		cmocka_unit_test(test_a_check_against_another_previous_hash_names_the_link),
		cmocka_unit_test(test_a_prev_hash_of_the_wrong_length_does_not_link),
		cmocka_unit_test(test_a_flipped_byte_inside_a_string_fails_naming_the_hash),
		cmocka_unit_test(test_flipping_any_single_byte_of_a_stored_value_fails_the_check),
		cmocka_unit_test(test_a_value_shorter_than_a_hash_does_not_decode),
		cmocka_unit_test(test_decoding_splits_the_recorded_hash_from_the_entry),
	};

	return cmocka_run_group_tests_name("chain", tests, NULL, NULL);
}

/* tests/unit/test_unpack.c — decoding outside input within a memory budget (lib/unpack.c)
 * and the decoders that use it: signed message bytes (envelope_open) and stored log values
 * (chain_check, chain_decode).
 *
 * Each decoder has a table of bad inputs with the code and the text expected; each row runs
 * as its own named test. Hostile rows are inputs that parse but expand: empty repeated
 * fields, empty submessages, unknown fields. What decodes is freed with the system
 * allocator (free_unpacked(m, NULL)), as every caller does; ASan checks that this is right. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chain.h"
#include "cluebus/err.h"
#include "cluebus.pb-c.h"
#include "envelope.h"
#include "unpack.h"

/* `n` copies of the 2-byte field `tag, 0` after `head` (hlen bytes). Caller frees. */
static uint8_t *
repeat_empty(const uint8_t *head, size_t hlen, uint8_t tag, size_t n, size_t *len)
{
	uint8_t *buf;

	*len = hlen + 2 * n;
	assert_non_null(buf = malloc(*len > 0 ? *len : 1));
	if (hlen > 0)
		memcpy(buf, head, hlen);
	for (size_t i = 0; i < n; i++) {
		buf[hlen + 2 * i] = tag;
		buf[hlen + 2 * i + 1] = 0x00;
	}
	return buf;
}

/* ---- unpack_bounded ------------------------------------------------------------------- */

static void
test_the_budget_is_four_bytes_per_byte_plus_64_KiB_and_saturates(void **state)
{
	(void)state;
	assert_int_equal(unpack_budget(0), 65536);
	assert_int_equal(unpack_budget(1000), 4000 + 65536);
	assert_int_equal(unpack_budget(SIZE_MAX / 2), SIZE_MAX);
}

static void
test_a_message_within_the_budget_decodes_and_frees_with_the_system_allocator(void **state)
{
	Cluebus__LogEntry in = CLUEBUS__LOG_ENTRY__INIT, *e;
	ProtobufCMessage *m = NULL;
	char *units[] = { "psb", "ato", "ato-210302" };
	uint8_t prev[32], buf[256];
	size_t len;

	(void)state;
	memset(prev, 7, sizeof(prev));
	in.seq = 42;
	in.prev_hash.data = prev;
	in.prev_hash.len = sizeof(prev);
	in.recipients = units;
	in.n_recipients = 3;
	len = cluebus__log_entry__pack(&in, buf);
	assert_int_equal(unpack_bounded(&cluebus__log_entry__descriptor, buf, len, &m), 0);
	e = (Cluebus__LogEntry *)m;
	assert_int_equal(e->seq, 42);
	assert_int_equal(e->n_recipients, 3);
	assert_string_equal(e->recipients[2], "ato-210302");
	cluebus__log_entry__free_unpacked(e, NULL);
}

static void
test_junk_is_malformed_and_an_expanding_input_is_too_big(void **state)
{
	ProtobufCMessage *m = (ProtobufCMessage *)1;
	static const uint8_t junk[] = { 0xff, 0xff, 0xff };
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_int_equal(unpack_bounded(&cluebus__log_entry__descriptor, junk, sizeof(junk), &m),
	    CB_EMALFORMED);
	/* 100,000 empty recipients: 200 KB that would cost about 7 MB. */
	buf = repeat_empty(NULL, 0, 0x32, 100000, &len);
	assert_int_equal(unpack_bounded(&cluebus__log_entry__descriptor, buf, len, &m),
	    CB_ETOOBIG);
	assert_ptr_equal(m, (ProtobufCMessage *)1);	/* untouched */
	free(buf);
	/* 1,000 of them fit in the constant part. */
	buf = repeat_empty(NULL, 0, 0x32, 1000, &len);
	assert_int_equal(unpack_bounded(&cluebus__log_entry__descriptor, buf, len, &m), 0);
	assert_int_equal(((Cluebus__LogEntry *)m)->n_recipients, 1000);
	protobuf_c_message_free_unpacked(m, NULL);
	free(buf);
}

/* ---- envelope_open: signed message bytes ---------------------------------------------- */

static uint8_t *
make_junk(size_t *len)
{
	uint8_t *b;

	*len = 5;
	assert_non_null(b = malloc(*len));
	memcpy(b, "\xff\xff\xff\xff\xff", 5);
	return b;
}

static uint8_t *
make_too_long(size_t *len)
{
	uint8_t *b;

	*len = ENVELOPE_MAX + 1;
	assert_non_null(b = calloc(1, *len));
	return b;
}

/* A clue body (Message field 10) of 100,000 empty persons (Clue field 6). */
static uint8_t *
make_empty_persons(size_t *len)
{
	static const uint8_t head[] = { 0x52, 0x80 | (200000 & 0x7f),
	    0x80 | ((200000 >> 7) & 0x7f), (200000 >> 14) & 0x7f };

	return repeat_empty(head, sizeof(head), 0x32, 100000, len);
}

/* 100,000 unknown varint fields (field 1000). */
static uint8_t *
make_unknown_fields(size_t *len)
{
	uint8_t *b;
	size_t n = 100000;

	*len = 3 * n;
	assert_non_null(b = malloc(*len));
	for (size_t i = 0; i < n; i++) {
		b[3 * i] = 0xc0;
		b[3 * i + 1] = 0x3e;
		b[3 * i + 2] = 0x00;
	}
	return b;
}

struct bad_signed {
	const char	*name;		/* the test's name, a sentence */
	uint8_t		*(*make)(size_t *);
	int		 code;
	const char	*field;		/* err.field, exactly */
	const char	*reason;	/* a piece of err.reason */
};

static const struct bad_signed bad_signed[] = {
	{ "Signed bytes that are not a message are refused", make_junk, CB_EMALFORMED,
	    "envelope.signed", "not a valid Message encoding" },
	{ "Signed bytes over 512 KiB are refused before parsing", make_too_long, CB_EMALFORMED,
	    "envelope.signed", "larger than 524288 bytes" },
	{ "A clue of 100,000 empty persons is refused for what it would expand to",
	    make_empty_persons, CB_EMALFORMED, "envelope.signed",
	    "expands beyond 865552 bytes when decoded" },
	{ "A message of 100,000 unknown fields is refused for what it would expand to",
	    make_unknown_fields, CB_EMALFORMED, "envelope.signed",
	    "expands beyond 1265536 bytes when decoded" },
};

static void
test_bad_signed(void **state)
{
	const struct bad_signed *row = *state;
	Cluebus__Envelope env = CLUEBUS__ENVELOPE__INIT;
	Cluebus__Message *m = NULL;
	cb_error_t err;
	size_t len;
	int rc;

	env.signed_.data = row->make(&len);
	env.signed_.len = len;
	env.sender = "health";
	memset(&err, 0, sizeof(err));
	rc = envelope_open(&env, &m, &err);
	if (rc != row->code)
		fail_msg("got %s (%s: %s), want %s", cb_strerror(rc), err.field, err.reason,
		    cb_strerror(row->code));
	assert_null(m);
	assert_string_equal(err.field, row->field);
	if (strstr(err.reason, row->reason) == NULL)
		fail_msg("reason \"%s\" does not say \"%s\"", err.reason, row->reason);
	free(env.signed_.data);
}

/* ---- chain_check: stored log values ---------------------------------------------------- */

/* A stored value: the entry hash (correct unless `bad_hash`) || the packed entry. */
static uint8_t *
stored(const uint8_t *entry, size_t elen, int bad_hash, size_t *len)
{
	uint8_t *v;

	*len = CHAIN_HASH_LEN + elen;
	assert_non_null(v = malloc(*len));
	assert_int_equal(chain_hash(entry, elen, v), 0);
	if (bad_hash)
		v[0] ^= 1;
	memcpy(v + CHAIN_HASH_LEN, entry, elen);
	return v;
}

static uint8_t *
first_entry(uint64_t seq, size_t prevlen, int bad_hash, size_t *len)
{
	Cluebus__LogEntry e = CLUEBUS__LOG_ENTRY__INIT;
	uint8_t prev[CHAIN_HASH_LEN] = { 0 }, buf[128];

	e.seq = seq;
	e.time_ms = 1772325000000;
	e.type = CLUEBUS__ENTRY_TYPE__ENTRY_REJECTION;
	e.prev_hash.data = prev;
	e.prev_hash.len = prevlen;
	return stored(buf, cluebus__log_entry__pack(&e, buf), bad_hash, len);
}

static uint8_t *
make_short_value(size_t *len)
{
	uint8_t *v;

	*len = CHAIN_HASH_LEN - 1;
	assert_non_null(v = calloc(1, *len));
	return v;
}

static uint8_t *
make_junk_entry(size_t *len)
{
	static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff };

	return stored(junk, sizeof(junk), 0, len);
}

static uint8_t *
make_bad_hash(size_t *len)
{
	return first_entry(1, CHAIN_HASH_LEN, 1, len);
}

static uint8_t *
make_wrong_seq(size_t *len)
{
	return first_entry(2, CHAIN_HASH_LEN, 0, len);
}

static uint8_t *
make_short_prev(size_t *len)
{
	return first_entry(1, 16, 0, len);
}

/* seq 1, then 30,000 empty recipients: hashes correctly, expands 30-fold. */
static uint8_t *
make_expanding_entry(size_t *len)
{
	static const uint8_t head[] = { 0x08, 0x01 };
	uint8_t *entry, *v;
	size_t elen;

	entry = repeat_empty(head, sizeof(head), 0x32, 30000, &elen);
	v = stored(entry, elen, 0, len);
	free(entry);
	return v;
}

struct bad_value {
	const char	*name;		/* the test's name, a sentence */
	uint8_t		*(*make)(size_t *);
	const char	*why;		/* chain_check's reason, exactly */
	int		 decodes;	/* chain_decode succeeds all the same */
};

static const struct bad_value bad_values[] = {
	{ "A stored value shorter than a hash does not decode", make_short_value,
	    "entry does not decode", 0 },
	{ "A stored value of junk after its hash does not decode", make_junk_entry,
	    "entry does not decode", 0 },
	{ "A stored value whose hash is off by one bit fails on its hash", make_bad_hash,
	    "entry bytes do not match its recorded hash", 1 },
	{ "An entry recording seq 2 at seq 1 fails on its sequence number", make_wrong_seq,
	    "entry records a different sequence number", 1 },
	{ "An entry with a 16-byte prev_hash does not link", make_short_prev,
	    "prev_hash does not link to the previous entry", 1 },
	{ "An entry of 30,000 empty recipients is refused for what it would expand to",
	    make_expanding_entry, CHAIN_WHY_EXPANDS, 0 },
};

static void
test_bad_value(void **state)
{
	static const uint8_t zeros[CHAIN_HASH_LEN];
	const struct bad_value *row = *state;
	Cluebus__LogEntry *e = NULL;
	const uint8_t *hash;
	const char *why = NULL;
	uint8_t *v;
	size_t len;

	v = row->make(&len);
	assert_int_equal(chain_check(v, len, 1, zeros, &why), CB_ECORRUPT);
	assert_non_null(why);
	assert_string_equal(why, row->why);
	if (row->decodes) {
		assert_int_equal(chain_decode(v, len, &hash, &e), 0);
		cluebus__log_entry__free_unpacked(e, NULL);
	} else {
		assert_int_equal(chain_decode(v, len, &hash, &e), CB_ECORRUPT);
		assert_null(e);
	}
	free(v);
}

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_the_budget_is_four_bytes_per_byte_plus_64_KiB_and_saturates),
		cmocka_unit_test(
		    test_a_message_within_the_budget_decodes_and_frees_with_the_system_allocator),
		cmocka_unit_test(test_junk_is_malformed_and_an_expanding_input_is_too_big),
	};
	enum {
		NSIGNED = sizeof(bad_signed) / sizeof(bad_signed[0]),
		NVALUES = sizeof(bad_values) / sizeof(bad_values[0]),
	};
	static struct CMUnitTest signed_tests[NSIGNED], value_tests[NVALUES];
	int failed;

	for (size_t i = 0; i < NSIGNED; i++) {
		signed_tests[i].name = bad_signed[i].name;
		signed_tests[i].test_func = test_bad_signed;
		signed_tests[i].initial_state = (void *)&bad_signed[i];
	}
	for (size_t i = 0; i < NVALUES; i++) {
		value_tests[i].name = bad_values[i].name;
		value_tests[i].test_func = test_bad_value;
		value_tests[i].initial_state = (void *)&bad_values[i];
	}
	failed = cmocka_run_group_tests_name("unpack", fixed, NULL, NULL);
	failed += _cmocka_run_group_tests("envelope_open refusals", signed_tests, NSIGNED, NULL,
	    NULL);
	failed += _cmocka_run_group_tests("chain_check refusals", value_tests, NVALUES, NULL,
	    NULL);
	return failed != 0;
}

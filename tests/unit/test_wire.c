/* tests/unit/test_wire.c — decoding agent <-> broker frames.
 *
 * wire_decode bounds the size before parsing and refuses a frame with nothing set, or a
 * publish or delivery without its envelope. The refusals are one table (bad_frames[]) of
 * bytes and the code expected; each row runs as its own named test. A hello survives a
 * round trip through pack, ZeroMQ (wire_send) and decode with every field intact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zmq.h>

#include "cluebus/err.h"
#include "cluebus.pb-c.h"
#include "wire.h"

/* Packs `f` into a new buffer (caller frees). */
static uint8_t *
pack(const Cluebus__Frame *f, size_t *len)
{
	uint8_t *buf;

	*len = cluebus__frame__get_packed_size(f);
	assert_non_null(buf = malloc(*len + 1));
	assert_int_equal(cluebus__frame__pack(f, buf), *len);
	return buf;
}

static uint8_t *
make_oversize(size_t *len)
{
	uint8_t *buf;

	*len = WIRE_MAX_FRAME + 1;
	assert_non_null(buf = calloc(1, *len));
	buf[0] = 0x42;		/* field 8 (heartbeat), length-delimited */
	return buf;
}

static uint8_t *
make_publish_without_envelope(size_t *len)
{
	Cluebus__Frame f = CLUEBUS__FRAME__INIT;
	Cluebus__Publish p = CLUEBUS__PUBLISH__INIT;
	static uint8_t id[16] = { 1 };

	p.message_id.data = id;
	p.message_id.len = sizeof(id);
	f.frame_case = CLUEBUS__FRAME__FRAME_PUBLISH;
	f.publish = &p;
	return pack(&f, len);
}

static uint8_t *
make_deliver_without_envelope(size_t *len)
{
	Cluebus__Frame f = CLUEBUS__FRAME__INIT;
	Cluebus__Deliver d = CLUEBUS__DELIVER__INIT;

	d.seq = 7;
	f.frame_case = CLUEBUS__FRAME__FRAME_DELIVER;
	f.deliver = &d;
	return pack(&f, len);
}

/* A valid heartbeat frame with its last byte cut off. */
static uint8_t *
make_truncated_heartbeat(size_t *len)
{
	Cluebus__Frame f = CLUEBUS__FRAME__INIT;
	Cluebus__Heartbeat hb = CLUEBUS__HEARTBEAT__INIT;
	uint8_t *buf;

	hb.time_ms = 1772325000000;
	f.frame_case = CLUEBUS__FRAME__FRAME_HEARTBEAT;
	f.heartbeat = &hb;
	buf = pack(&f, len);
	(*len)--;
	return buf;
}

struct bad_frame {
	const char	*name;		/* the test's name, a sentence */
	const char	*bytes;		/* the frame, or NULL when `make` builds it */
	size_t		 len;
	uint8_t		*(*make)(size_t *);
	int		 code;
};

#define BYTES(s)	s, sizeof(s) - 1, NULL

static const struct bad_frame bad_frames[] = {
	{ "An empty buffer is refused because no frame is set", BYTES(""), CB_EMALFORMED },
	{ "A run of 0xff bytes is refused", BYTES("\xff\xff\xff\xff\xff\xff\xff\xff"),
	    CB_EMALFORMED },
	{ "Plain text is refused", BYTES("HELLO broker, this is psb"), CB_EMALFORMED },
	{ "A field with wire type 7 is refused", BYTES("\x0f\x00"), CB_EMALFORMED },
	{ "A field number of zero is refused", BYTES("\x02\x00"), CB_EMALFORMED },
	{ "A length that runs past the end is refused", BYTES("\x0a\x10\x0a\x03psb"),
	    CB_EMALFORMED },
	{ "A varint longer than ten bytes is refused",
	    BYTES("\x42\x0c\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"), CB_EMALFORMED },
	{ "A frame with only unknown fields is refused because no frame is set",
	    BYTES("\xa8\x06\x01"), CB_EMALFORMED },
	{ "A frame larger than WIRE_MAX_FRAME is refused before parsing", NULL, 0,
	    make_oversize, CB_ETOOBIG },
	{ "A publish without an envelope is refused", NULL, 0, make_publish_without_envelope,
	    CB_EMALFORMED },
	{ "A delivery without an envelope is refused", NULL, 0, make_deliver_without_envelope,
	    CB_EMALFORMED },
	{ "A frame cut short by one byte is refused", NULL, 0, make_truncated_heartbeat,
	    CB_EMALFORMED },
};

static void
test_bad_frame(void **state)
{
	const struct bad_frame *row = *state;
	Cluebus__Frame *f = (Cluebus__Frame *)1;
	const uint8_t *bytes = (const uint8_t *)row->bytes;
	uint8_t *made = NULL;
	size_t len = row->len;
	int rc;

	if (row->make != NULL)
		bytes = made = row->make(&len);
	rc = wire_decode(bytes, len, &f);
	if (rc != row->code)
		fail_msg("got %s, want %s", cb_strerror(rc), cb_strerror(row->code));
	assert_ptr_equal(f, (Cluebus__Frame *)1);	/* untouched */
	free(made);
}

/* ---- accepted frames -------------------------------------------------------------------- */

static void
fill_hello(Cluebus__Frame *f, Cluebus__Hello *h, uint8_t *kid, uint8_t *nonce, uint8_t *sig)
{
	for (size_t i = 0; i < 64; i++)
		sig[i] = (uint8_t)(i * 7);
	memset(kid, 0x4b, 8);
	memset(nonce, 0x6e, 16);
	h->unit = "psb";
	h->key_id.data = kid;
	h->key_id.len = 8;
	h->time_ms = 1772325000123;
	h->nonce.data = nonce;
	h->nonce.len = 16;
	h->signature.data = sig;
	h->signature.len = 64;
	h->protocol = WIRE_PROTOCOL;
	f->frame_case = CLUEBUS__FRAME__FRAME_HELLO;
	f->hello = h;
}

static void
assert_hello(const Cluebus__Frame *f, const uint8_t *kid, const uint8_t *nonce,
    const uint8_t *sig)
{
	assert_int_equal(f->frame_case, CLUEBUS__FRAME__FRAME_HELLO);
	assert_string_equal(f->hello->unit, "psb");
	assert_int_equal(f->hello->key_id.len, 8);
	assert_memory_equal(f->hello->key_id.data, kid, 8);
	assert_int_equal(f->hello->time_ms, 1772325000123);
	assert_int_equal(f->hello->nonce.len, 16);
	assert_memory_equal(f->hello->nonce.data, nonce, 16);
	assert_int_equal(f->hello->signature.len, 64);
	assert_memory_equal(f->hello->signature.data, sig, 64);
	assert_int_equal(f->hello->protocol, WIRE_PROTOCOL);
}

static void
test_a_hello_survives_a_round_trip_with_every_field(void **state)
{
	Cluebus__Frame in = CLUEBUS__FRAME__INIT, *out = NULL;
	Cluebus__Hello h = CLUEBUS__HELLO__INIT;
	uint8_t kid[8], nonce[16], sig[64], *buf;
	size_t len;

	(void)state;
	fill_hello(&in, &h, kid, nonce, sig);
	buf = pack(&in, &len);
	assert_int_equal(wire_decode(buf, len, &out), 0);
	assert_hello(out, kid, nonce, sig);
	wire_free(out);
	free(buf);
	wire_free(NULL);
}

static void
test_a_hello_sent_over_zeromq_decodes_on_the_other_side(void **state)
{
	Cluebus__Frame in = CLUEBUS__FRAME__INIT, *out = NULL;
	Cluebus__Hello h = CLUEBUS__HELLO__INIT;
	uint8_t kid[8], nonce[16], sig[64], buf[512];
	void *ctx, *a, *b;
	int n;

	(void)state;
	fill_hello(&in, &h, kid, nonce, sig);
	assert_non_null(ctx = zmq_ctx_new());
	assert_non_null(a = zmq_socket(ctx, ZMQ_PAIR));
	assert_non_null(b = zmq_socket(ctx, ZMQ_PAIR));
	assert_int_equal(zmq_bind(a, "inproc://test-wire"), 0);
	assert_int_equal(zmq_connect(b, "inproc://test-wire"), 0);
	assert_int_equal(wire_send(b, NULL, 0, &in), 0);
	n = zmq_recv(a, buf, sizeof(buf), 0);
	assert_true(n > 0 && (size_t)n < sizeof(buf));
	assert_int_equal(wire_decode(buf, (size_t)n, &out), 0);
	assert_hello(out, kid, nonce, sig);
	wire_free(out);
	assert_int_equal(zmq_close(b), 0);
	assert_int_equal(zmq_close(a), 0);
	assert_int_equal(zmq_ctx_term(ctx), 0);
}

static void
test_a_publish_with_an_envelope_and_a_frame_at_the_size_limit_decode(void **state)
{
	Cluebus__Frame in = CLUEBUS__FRAME__INIT, *out = NULL;
	Cluebus__Publish p = CLUEBUS__PUBLISH__INIT;
	Cluebus__Envelope env = CLUEBUS__ENVELOPE__INIT;
	Cluebus__Heartbeat hb = CLUEBUS__HEARTBEAT__INIT;
	uint8_t signed_[3] = { 0x10, 0x01, 0x00 }, *buf;
	size_t len;

	(void)state;
	env.signed_.data = signed_;
	env.signed_.len = sizeof(signed_);
	env.sender = "health";
	p.envelope = &env;
	in.frame_case = CLUEBUS__FRAME__FRAME_PUBLISH;
	in.publish = &p;
	buf = pack(&in, &len);
	assert_int_equal(wire_decode(buf, len, &out), 0);
	assert_non_null(out->publish->envelope);
	assert_string_equal(out->publish->envelope->sender, "health");
	assert_int_equal(out->publish->envelope->signed_.len, 3);
	wire_free(out);
	free(buf);
	/* Exactly WIRE_MAX_FRAME bytes: a heartbeat followed by padding in an unknown
	 * length-delimited field is within the bound and parses. */
	hb.time_ms = 1;
	in.frame_case = CLUEBUS__FRAME__FRAME_HEARTBEAT;
	in.heartbeat = &hb;
	buf = pack(&in, &len);
	assert_non_null(buf = realloc(buf, WIRE_MAX_FRAME));
	{
		size_t pad = WIRE_MAX_FRAME - len - 5;	/* tag 15/2 + 4-byte varint */

		buf[len] = (15 << 3) | 2;
		buf[len + 1] = (uint8_t)(0x80 | (pad & 0x7f));
		buf[len + 2] = (uint8_t)(0x80 | ((pad >> 7) & 0x7f));
		buf[len + 3] = (uint8_t)(0x80 | ((pad >> 14) & 0x7f));
		buf[len + 4] = (uint8_t)((pad >> 21) & 0x7f);
		memset(buf + len + 5, 'p', pad);
	}
	assert_int_equal(wire_decode(buf, WIRE_MAX_FRAME, &out), 0);
	assert_int_equal(out->frame_case, CLUEBUS__FRAME__FRAME_HEARTBEAT);
	assert_int_equal(out->heartbeat->time_ms, 1);
	wire_free(out);
	free(buf);
}

static void
test_random_mutations_of_a_valid_frame_decode_or_are_refused(void **state)
{
	Cluebus__Frame in = CLUEBUS__FRAME__INIT;
	Cluebus__Hello h = CLUEBUS__HELLO__INIT;
	uint8_t kid[8], nonce[16], sig[64], *orig, *buf;
	size_t len, accepted = 0, refused = 0;
	uint32_t x = 2463534242u;

	(void)state;
	fill_hello(&in, &h, kid, nonce, sig);
	orig = pack(&in, &len);
	assert_non_null(buf = malloc(len));
	for (int round = 0; round < 20000; round++) {
		Cluebus__Frame *f = NULL;
		size_t cut = len;
		int rc;

		memcpy(buf, orig, len);
		for (int m = 0; m < 1 + round % 3; m++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[(x >> 8) % len] = (uint8_t)x;
		}
		if (round % 5 == 0)
			cut = (x >> 16) % len;
		rc = wire_decode(buf, cut, &f);
		if (rc == 0) {
			assert_non_null(f);
			assert_int_not_equal(f->frame_case, CLUEBUS__FRAME__FRAME__NOT_SET);
			accepted++;
			wire_free(f);
		} else if (rc == CB_EMALFORMED) {
			refused++;
		} else {
			fail_msg("round %d: %s", round, cb_strerror(rc));
		}
	}
	/* Both outcomes were exercised. */
	assert_true(accepted > 1000);
	assert_true(refused > 1000);
	free(buf);
	free(orig);
}

static void
test_hello_signing_bytes_have_the_documented_layout(void **state)
{
	static const uint8_t nonce[4] = { 0xde, 0xad, 0xbe, 0xef };
	static const uint8_t want[] = "cluebus-hello-v1\0psb\0"
	    "\x00\x00\x00\x00\x00\x00\x01\x02" "\xde\xad\xbe\xef";
	uint8_t out[64];

	(void)state;
	assert_int_equal(wire_hello_bytes("psb", 0x0102, nonce, 4, out, sizeof(out)),
	    sizeof(want) - 1);
	assert_memory_equal(out, want, sizeof(want) - 1);
	/* Too small a buffer: nothing. */
	assert_int_equal(wire_hello_bytes("psb", 0x0102, nonce, 4, out, sizeof(want) - 2), 0);
}

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_a_hello_survives_a_round_trip_with_every_field),
		cmocka_unit_test(test_a_hello_sent_over_zeromq_decodes_on_the_other_side),
		cmocka_unit_test(
		    test_a_publish_with_an_envelope_and_a_frame_at_the_size_limit_decode),
		cmocka_unit_test(test_random_mutations_of_a_valid_frame_decode_or_are_refused),
		cmocka_unit_test(test_hello_signing_bytes_have_the_documented_layout),
	};
	enum { NBAD = sizeof(bad_frames) / sizeof(bad_frames[0]) };
	static struct CMUnitTest refused[NBAD];
	int failed;

	for (size_t i = 0; i < NBAD; i++) {
		refused[i].name = bad_frames[i].name;
		refused[i].test_func = test_bad_frame;
		refused[i].initial_state = (void *)&bad_frames[i];
	}
	failed = cmocka_run_group_tests_name("wire", fixed, NULL, NULL);
	failed += _cmocka_run_group_tests("wire refusals", refused, NBAD, NULL, NULL);
	return failed != 0;
}

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
#include "envelope.h"
#include "keys.h"
#include "unpack.h"
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
	static uint8_t id[MESSAGE_ID_LEN] = { 1 };

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

/* A Deliver of `len` bytes (even, at least 8) made of empty repeated recipients: one
 * 2-byte field each, so the parser would make (len - 4) / 2 strings (hostile's amplify). */
static uint8_t *
make_empty_strings(size_t len)
{
	size_t body = len - 4;
	uint8_t *buf;

	assert_non_null(buf = malloc(len));
	buf[0] = 0x32;			/* Frame.deliver, length-delimited */
	buf[1] = (uint8_t)(0x80 | (body & 0x7f));
	buf[2] = (uint8_t)(0x80 | ((body >> 7) & 0x7f));
	buf[3] = (uint8_t)((body >> 14) & 0x7f);	/* 3-byte varint: body < 2^21 */
	for (size_t i = 4; i + 1 < len; i += 2) {
		buf[i] = 0x2a;		/* Deliver.recipients, length-delimited */
		buf[i + 1] = 0x00;	/* empty */
	}
	return buf;
}

static uint8_t *
make_amplifying_deliver(size_t *len)
{
	*len = WIRE_MAX_FRAME - 64;
	return make_empty_strings(*len);
}

/* A Deliver whose context holds 100,000 empty obligations: tiny submessages, each a struct
 * of its own. */
static uint8_t *
make_many_submessages(size_t *len)
{
	size_t n = 100000, ctx = 2 * n, body = 4 + ctx, at = 0;
	uint8_t *buf;

	*len = 4 + body;
	assert_non_null(buf = malloc(*len));
	buf[at++] = 0x32;		/* Frame.deliver */
	buf[at++] = (uint8_t)(0x80 | (body & 0x7f));
	buf[at++] = (uint8_t)(0x80 | ((body >> 7) & 0x7f));
	buf[at++] = (uint8_t)((body >> 14) & 0x7f);
	buf[at++] = 0x32;		/* Deliver.context */
	buf[at++] = (uint8_t)(0x80 | (ctx & 0x7f));
	buf[at++] = (uint8_t)(0x80 | ((ctx >> 7) & 0x7f));
	buf[at++] = (uint8_t)((ctx >> 14) & 0x7f);
	for (size_t i = 0; i < n; i++) {
		buf[at++] = 0x42;	/* Context.obligations */
		buf[at++] = 0x00;
	}
	return buf;
}

/* A heartbeat followed by 20,000 unknown varint fields (hostile's malformed table). */
static uint8_t *
make_many_unknown_fields(size_t *len)
{
	static const uint8_t hb[] = { 0x42, 0x02, 0x08, 0x01 };
	size_t n = 20000;
	uint8_t *buf;

	*len = sizeof(hb) + 3 * n;
	assert_non_null(buf = malloc(*len));
	memcpy(buf, hb, sizeof(hb));
	for (size_t i = 0; i < n; i++) {
		buf[sizeof(hb) + 3 * i] = 0xc0;		/* field 1000, varint */
		buf[sizeof(hb) + 3 * i + 1] = 0x3e;
		buf[sizeof(hb) + 3 * i + 2] = 0x00;
	}
	return buf;
}

struct bad_frame {
	const char	*name;		/* the test's name, a sentence */
	const char	*bytes;		/* the frame, or NULL when `make` builds it */
	size_t		 len;
	uint8_t		*(*make)(size_t *);
	int		 code;
	const char	*field;		/* err.field, exactly */
	const char	*reason;	/* a piece of err.reason */
};

#define BYTES(s)	s, sizeof(s) - 1, NULL

#define NOT_A_FRAME	"frame", "not a valid Frame encoding"

static const struct bad_frame bad_frames[] = {
	{ "An empty buffer is refused because no frame is set", BYTES(""), CB_EMALFORMED,
	    "frame", "no frame type set" },
	{ "A run of 0xff bytes is refused", BYTES("\xff\xff\xff\xff\xff\xff\xff\xff"),
	    CB_EMALFORMED, NOT_A_FRAME },
	{ "Plain text is refused", BYTES("HELLO broker, this is psb"), CB_EMALFORMED,
	    NOT_A_FRAME },
	{ "A field with wire type 7 is refused", BYTES("\x0f\x00"), CB_EMALFORMED,
	    NOT_A_FRAME },
	{ "A field number of zero is refused", BYTES("\x02\x00"), CB_EMALFORMED,
	    NOT_A_FRAME },
	{ "A length that runs past the end is refused", BYTES("\x0a\x10\x0a\x03psb"),
	    CB_EMALFORMED, NOT_A_FRAME },
	{ "A varint longer than ten bytes is refused",
	    BYTES("\x42\x0c\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"), CB_EMALFORMED,
	    NOT_A_FRAME },
	{ "A frame with only unknown fields is refused because no frame is set",
	    BYTES("\xa8\x06\x01"), CB_EMALFORMED, "frame", "no frame type set" },
	{ "A frame larger than WIRE_MAX_FRAME is refused before parsing", NULL, 0,
	    make_oversize, CB_ETOOBIG, "frame", "larger than 1048576 bytes" },
	{ "A publish without an envelope is refused", NULL, 0, make_publish_without_envelope,
	    CB_EMALFORMED, "publish.envelope", "missing" },
	{ "A delivery without an envelope is refused", NULL, 0, make_deliver_without_envelope,
	    CB_EMALFORMED, "deliver.envelope", "missing" },
	{ "A frame cut short by one byte is refused", NULL, 0, make_truncated_heartbeat,
	    CB_EMALFORMED, NOT_A_FRAME },
	{ "A 1 MiB frame of empty repeated strings is refused for what it would expand to",
	    NULL, 0, make_amplifying_deliver, CB_ETOOBIG, "frame",
	    "frame expands beyond 4259584 bytes when decoded" },
	{ "A frame of 100,000 empty submessages is refused for what it would expand to",
	    NULL, 0, make_many_submessages, CB_ETOOBIG, "frame",
	    "frame expands beyond 865568 bytes when decoded" },
	{ "A heartbeat with 20,000 unknown fields is refused for what it would expand to",
	    NULL, 0, make_many_unknown_fields, CB_ETOOBIG, "frame",
	    "frame expands beyond 305552 bytes when decoded" },
};

static void
test_bad_frame(void **state)
{
	const struct bad_frame *row = *state;
	Cluebus__Frame *f = (Cluebus__Frame *)1;
	const uint8_t *bytes = (const uint8_t *)row->bytes;
	uint8_t *made = NULL;
	size_t len = row->len;
	cb_error_t err;
	int rc;

	if (row->make != NULL)
		bytes = made = row->make(&len);
	memset(&err, 0, sizeof(err));
	rc = wire_decode_err(bytes, len, &f, &err);
	if (rc != row->code)
		fail_msg("got %s (%s: %s), want %s", cb_strerror(rc), err.field, err.reason,
		    cb_strerror(row->code));
	assert_ptr_equal(f, (Cluebus__Frame *)1);	/* untouched */
	assert_string_equal(err.field, row->field);
	if (strstr(err.reason, row->reason) == NULL)
		fail_msg("reason \"%s\" does not say \"%s\"", err.reason, row->reason);
	/* Without a cb_error_t, the same answer. */
	assert_int_equal(wire_decode(bytes, len, &f), row->code);
	assert_ptr_equal(f, (Cluebus__Frame *)1);
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

/* ---- memory while decoding ------------------------------------------------------------- */

/* Heap bytes in use and their peak, from ASan's allocator hooks (every allocation of the
 * process, whatever calls malloc). Without ASan the peak is not measured. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN_HOOKS 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN_HOOKS 1
#endif

#ifdef HAVE_ASAN_HOOKS
int	__sanitizer_install_malloc_and_free_hooks(void (*)(const volatile void *, size_t),
    void (*)(const volatile void *));
size_t	__sanitizer_get_allocated_size(const volatile void *);

static size_t heap_now, heap_peak;

static void
heap_on_malloc(const volatile void *p, size_t size)
{
	size_t now = __atomic_add_fetch(&heap_now, size, __ATOMIC_RELAXED);

	(void)p;
	if (now > __atomic_load_n(&heap_peak, __ATOMIC_RELAXED))
		__atomic_store_n(&heap_peak, now, __ATOMIC_RELAXED);
}

static void
heap_on_free(const volatile void *p)
{
	if (p != NULL)
		__atomic_sub_fetch(&heap_now, __sanitizer_get_allocated_size(p), __ATOMIC_RELAXED);
}

/* Starts a measurement; returns the bytes in use now. */
static size_t
heap_mark(void)
{
	static int installed;

	if (!installed) {
		assert_int_not_equal(__sanitizer_install_malloc_and_free_hooks(heap_on_malloc,
		    heap_on_free), 0);
		installed = 1;
	}
	__atomic_store_n(&heap_peak, __atomic_load_n(&heap_now, __ATOMIC_RELAXED),
	    __ATOMIC_RELAXED);
	return __atomic_load_n(&heap_now, __ATOMIC_RELAXED);
}

static size_t
heap_peak_since(size_t mark)
{
	return __atomic_load_n(&heap_peak, __ATOMIC_RELAXED) - mark;
}
#endif

static void
test_a_1_MiB_frame_of_empty_strings_is_refused_within_its_decode_budget(void **state)
{
#ifdef HAVE_ASAN_HOOKS
	Cluebus__Frame *f = NULL;
	size_t len, mark, bounded, unbounded;
	uint8_t *buf;

	(void)state;
	buf = make_amplifying_deliver(&len);
	mark = heap_mark();
	assert_int_equal(wire_decode(buf, len, &f), CB_ETOOBIG);
	bounded = heap_peak_since(mark);
	/* What the same frame costs protobuf-c without a budget (before this bound). */
	mark = heap_mark();
	assert_non_null(f = cluebus__frame__unpack(NULL, len, buf));
	unbounded = heap_peak_since(mark);
	cluebus__frame__free_unpacked(f, NULL);
	print_message("frame of %zu bytes: peak heap %zu bytes refused with a budget "
	    "(%.1f x), %zu bytes decoded without (%.1f x)\n", len, bounded,
	    (double)bounded / (double)len, unbounded, (double)unbounded / (double)len);
	assert_true(bounded <= unpack_budget(len));
	assert_true(unbounded > 16 * len);	/* the frame does amplify */
	free(buf);
#else
	(void)state;
	skip();
#endif
}

static void
test_frames_of_legitimate_shapes_decode_within_the_budget(void **state)
{
	Cluebus__Frame in = CLUEBUS__FRAME__INIT, *out = NULL;
	Cluebus__Deliver d = CLUEBUS__DELIVER__INIT;
	Cluebus__Envelope env = CLUEBUS__ENVELOPE__INIT;
	Cluebus__Context ctx = CLUEBUS__CONTEXT__INIT;
	Cluebus__Obligation ob[64], *obp[64];
	char *units[41];
	uint8_t *signed_, sig[64] = { 0 }, kid[8] = { 0 }, *buf;
	size_t len;

	(void)state;
	/* The largest delivery an agent can get: a 512 KiB envelope, 41 recipients, 64
	 * obligations in its context. */
	assert_non_null(signed_ = malloc(512 * 1024));
	memset(signed_, 0x5a, 512 * 1024);
	env.signed_.data = signed_;
	env.signed_.len = 512 * 1024;
	env.signature.data = sig;
	env.signature.len = sizeof(sig);
	env.key_id.data = kid;
	env.key_id.len = sizeof(kid);
	env.sender = "health";
	for (size_t i = 0; i < 41; i++)
		units[i] = "ato-210302";
	for (size_t i = 0; i < 64; i++) {
		cluebus__obligation__init(&ob[i]);
		ob[i].unit = "psb";
		obp[i] = &ob[i];
	}
	ctx.obligations = obp;
	ctx.n_obligations = 64;
	ctx.case_ref = "AS-2026-0001";
	d.seq = 123456789;
	d.envelope = &env;
	d.recipients = units;
	d.n_recipients = 41;
	d.context = &ctx;
	in.frame_case = CLUEBUS__FRAME__FRAME_DELIVER;
	in.deliver = &d;
	buf = pack(&in, &len);
	assert_int_equal(wire_decode(buf, len, &out), 0);
	assert_int_equal(out->deliver->envelope->signed_.len, 512 * 1024);
	assert_int_equal(out->deliver->n_recipients, 41);
	assert_int_equal(out->deliver->context->n_obligations, 64);
	/* Freed with the system allocator, as any decoded frame. */
	cluebus__frame__free_unpacked(out, NULL);
	free(buf);
	/* A few empty repeated fields and unknown fields, as a newer peer may send, are
	 * fine: the budget's constant part covers them. */
	{
		size_t n;
		uint8_t *small = make_empty_strings(n = 2004);

		assert_int_equal(wire_decode(small, n, &out), CB_EMALFORMED);	/* no envelope */
		free(small);
	}
	free(signed_);
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

static void
test_a_signed_hello_verifies_over_its_signing_bytes_and_bounds_its_nonce(void **state)
{
	struct wire_hello wh, again;
	uint8_t signed_bytes[128];
	cb_key_t *key, *other;
	size_t len;

	(void)state;
	assert_int_equal(key_generate(&key), 0);
	assert_int_equal(key_generate(&other), 0);
	assert_int_equal(wire_hello_sign(&wh, "psb", key, 1772325000000LL, 16, 1), 0);
	assert_string_equal(wh.hello.unit, "psb");
	assert_int_equal(wh.hello.time_ms, 1772325000000LL);
	assert_int_equal(wh.hello.protocol, WIRE_PROTOCOL);
	assert_true(wh.hello.publish_only);
	assert_int_equal(wh.hello.nonce.len, 16);
	assert_memory_equal(wh.hello.key_id.data, key_id(key), KEY_ID_LEN);
	len = wire_hello_bytes("psb", wh.hello.time_ms, wh.hello.nonce.data, 16, signed_bytes,
	    sizeof(signed_bytes));
	assert_int_equal(key_verify(key, signed_bytes, len, wh.hello.signature.data,
	    wh.hello.signature.len), 0);
	assert_int_not_equal(key_verify(other, signed_bytes, len, wh.hello.signature.data,
	    wh.hello.signature.len), 0);
	/* A fresh nonce each time. */
	assert_int_equal(wire_hello_sign(&again, "psb", key, 1772325000000LL, 16, 0), 0);
	assert_false(again.hello.publish_only);
	assert_memory_not_equal(again.nonce, wh.nonce, 16);
	/* The nonce is bounded; the unit is not checked here (the broker refuses bad ones, and
	 * the hostile test tool signs a 5,000-byte one on purpose). */
	assert_int_equal(wire_hello_sign(&wh, "psb", key, 1, WIRE_NONCE_MAX, 1), 0);
	assert_int_equal(wire_hello_sign(&wh, "psb", key, 1, WIRE_NONCE_MAX + 1, 1), CB_EINVAL);
	{
		char *big = malloc(5001);

		assert_non_null(big);
		memset(big, 'x', 5000);
		big[5000] = '\0';
		assert_int_equal(wire_hello_sign(&wh, big, key, 1, 16, 1), 0);
		assert_int_equal(strlen(wh.hello.unit), 5000);
		free(big);
	}
	key_free(key);
	key_free(other);
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
		cmocka_unit_test(
		    test_a_signed_hello_verifies_over_its_signing_bytes_and_bounds_its_nonce),
		cmocka_unit_test(
		    test_a_1_MiB_frame_of_empty_strings_is_refused_within_its_decode_budget),
		cmocka_unit_test(test_frames_of_legitimate_shapes_decode_within_the_budget),
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

/* lib/wire.c — encode, decode and send agent <-> broker frames.
 *
 * Decoding is bounded twice before anything else looks at a frame: by its size
 * (WIRE_MAX_FRAME) and by what protobuf-c may allocate to decode it (unpack_budget() of the
 * size, lib/unpack.c), so a frame of empty repeated or unknown fields is refused instead
 * of costing dozens of times its size. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "cluebus/err.h"
#include "unpack.h"
#include "util.h"
#include "wire.h"

int
wire_decode_err(const void *buf, size_t len, Cluebus__Frame **out, cb_error_t *err)
{
	ProtobufCMessage *m = NULL;
	Cluebus__Frame *f;
	int rc;

	if (len > WIRE_MAX_FRAME)
		return cb_fail(err, "frame", CB_ETOOBIG, "larger than %d bytes", WIRE_MAX_FRAME);
	if ((rc = unpack_bounded(&cluebus__frame__descriptor, buf, len, &m)) != 0) {
		if (rc == CB_ETOOBIG)
			cb_error_set(err, "frame", "frame expands beyond %zu bytes when decoded",
			    unpack_budget(len));
		else if (rc == CB_ENOMEM)
			cb_error_set(err, "frame", "out of memory while decoding");
		else
			cb_error_set(err, "frame", "not a valid Frame encoding");
		return rc;
	}
	f = (Cluebus__Frame *)m;
	if (f->frame_case == CLUEBUS__FRAME__FRAME__NOT_SET) {
		cb_error_set(err, "frame", "no frame type set");
		rc = CB_EMALFORMED;
	} else if (f->frame_case == CLUEBUS__FRAME__FRAME_PUBLISH &&
	    f->publish->envelope == NULL) {
		cb_error_set(err, "publish.envelope", "missing");
		rc = CB_EMALFORMED;
	} else if (f->frame_case == CLUEBUS__FRAME__FRAME_DELIVER &&
	    f->deliver->envelope == NULL) {
		cb_error_set(err, "deliver.envelope", "missing");
		rc = CB_EMALFORMED;
	}
	if (rc != 0) {
		wire_free(f);
		return rc;
	}
	*out = f;
	return 0;
}

int
wire_decode(const void *buf, size_t len, Cluebus__Frame **out)
{
	return wire_decode_err(buf, len, out, NULL);
}

static void
wire_free_buf(void *data, void *hint)
{
	(void)hint;
	free(data);
}

int
wire_send(void *sock, const void *rid, size_t ridlen, const Cluebus__Frame *f)
{
	size_t len = cluebus__frame__get_packed_size(f);
	zmq_msg_t msg;
	uint8_t *buf;

	if ((buf = malloc(len > 0 ? len : 1)) == NULL)
		return CB_ENOMEM;
	cluebus__frame__pack(f, buf);
	if (rid != NULL && zmq_send(sock, rid, ridlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
		free(buf);
		return errno == EAGAIN || errno == EHOSTUNREACH ? CB_EAGAIN : CB_EIO;
	}
	if (zmq_msg_init_data(&msg, buf, len, wire_free_buf, NULL) != 0) {
		free(buf);
		return CB_ENOMEM;
	}
	if (zmq_msg_send(&msg, sock, ZMQ_DONTWAIT) < 0) {
		int saved = errno;

		zmq_msg_close(&msg);
		return saved == EAGAIN || saved == EHOSTUNREACH ? CB_EAGAIN : CB_EIO;
	}
	return 0;
}

int
wire_recv(void *sock, int64_t deadline_ms, unsigned mask, Cluebus__Frame **out, long *skipped)
{
	for (;;) {
		zmq_pollitem_t item = { sock, 0, ZMQ_POLLIN, 0 };
		int64_t now = clock_mono_ms();
		Cluebus__Frame *f;
		zmq_msg_t msg;
		int rc;

		if (now >= deadline_ms)
			return CB_ETIMEOUT;
		if (zmq_poll(&item, 1, (long)(deadline_ms - now)) < 0 && errno != EINTR)
			return CB_EIO;
		if (!(item.revents & ZMQ_POLLIN))
			continue;
		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&msg);
			continue;
		}
		rc = wire_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &f);
		zmq_msg_close(&msg);
		if (rc == 0 && (mask & WIRE_BIT(f->frame_case))) {
			*out = f;
			return 0;
		}
		if (rc == 0)
			wire_free(f);
		if (skipped != NULL)
			(*skipped)++;
	}
}

void
wire_free(Cluebus__Frame *f)
{
	if (f != NULL)
		cluebus__frame__free_unpacked(f, NULL);
}

size_t
wire_hello_bytes(const char *unit, int64_t time_ms, const uint8_t *nonce, size_t noncelen,
    uint8_t *out, size_t cap)
{
	static const char tag[] = "cluebus-hello-v1";
	size_t ulen = strlen(unit), need = sizeof(tag) + ulen + 1 + 8 + noncelen;

	if (need > cap)
		return 0;
	memcpy(out, tag, sizeof(tag));
	memcpy(out + sizeof(tag), unit, ulen + 1);
	be64_put(out + sizeof(tag) + ulen + 1, (uint64_t)time_ms);
	memcpy(out + sizeof(tag) + ulen + 1 + 8, nonce, noncelen);
	return need;
}

int
wire_hello_sign(struct wire_hello *wh, const char *unit, const cb_key_t *key,
    int64_t time_ms, size_t noncelen, int publish_only)
{
	size_t cap = sizeof("cluebus-hello-v1") + strlen(unit) + 1 + 8 + WIRE_NONCE_MAX, len;
	uint8_t *signed_bytes;
	int rc;

	memset(wh, 0, sizeof(*wh));
	cluebus__hello__init(&wh->hello);
	if (noncelen > WIRE_NONCE_MAX)
		return CB_EINVAL;
	if (rand_bytes(wh->nonce, noncelen) != 0)
		return CB_ECRYPTO;
	if ((signed_bytes = malloc(cap)) == NULL)
		return CB_ENOMEM;
	len = wire_hello_bytes(unit, time_ms, wh->nonce, noncelen, signed_bytes, cap);
	rc = len != 0 && key_sign(key, signed_bytes, len, wh->sig) == 0 ? 0 : CB_ECRYPTO;
	free(signed_bytes);
	if (rc != 0)
		return rc;
	wh->hello.unit = (char *)unit;
	wh->hello.time_ms = time_ms;
	wh->hello.protocol = WIRE_PROTOCOL;
	wh->hello.publish_only = publish_only != 0;
	wh->hello.key_id.data = (uint8_t *)key_id(key);
	wh->hello.key_id.len = KEY_ID_LEN;
	wh->hello.nonce.data = wh->nonce;
	wh->hello.nonce.len = noncelen;
	wh->hello.signature.data = wh->sig;
	wh->hello.signature.len = sizeof(wh->sig);
	return 0;
}

static const char *const reject_names[] = {
	"unspecified", "malformed", "too_large", "bad_signature", "unknown_sender",
	"unknown_key", "revoked_key", "sender_mismatch", "clock_skew", "invalid_body",
	"forbidden_kind", "not_authenticated", "unavailable", "id_conflict", "rate_limited",
	"bad_protocol", "stale_directory", "not_permitted",
	[CLUEBUS__REJECT_CODE__REJECT_OUT_OF_JURISDICTION] = "out_of_jurisdiction",
	[CLUEBUS__REJECT_CODE__REJECT_NOT_OWNER] = "not_owner",
	[CLUEBUS__REJECT_CODE__REJECT_NOT_SEALED] = "not_sealed",
};

const char *
wire_reject_name(int code)
{
	if (code < 0 || (size_t)code >= sizeof(reject_names) / sizeof(reject_names[0]) ||
	    reject_names[code] == NULL)
		return "unknown";
	return reject_names[code];
}

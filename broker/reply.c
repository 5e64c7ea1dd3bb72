/* broker/reply.c — the broker's answers to a publish: Accepted and Rejected frames.
 *
 * The builders make heap frames that the round holds until its commit (broker/round.c) and
 * that are freed with cluebus__frame__free_unpacked; reply_send puts one on a socket. A
 * reply carries only ids, sequence numbers, hashes and a reason written by the broker,
 * never content of the message it answers. A `struct verdict` is how a check says "refuse
 * with this code and reason" without overloading its return value. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "envelope.h"
#include "log.h"
#include "util.h"
#include "wire.h"

static int
reply_bytes(ProtobufCBinaryData *d, const uint8_t *p, size_t len)
{
	d->len = 0;
	if (len == 0)
		return 0;
	if ((d->data = malloc(len)) == NULL)
		return CB_ENOMEM;
	memcpy(d->data, p, len);
	d->len = len;
	return 0;
}

/* A new Accepted or Rejected frame (`frame_case`) with its new, initialized body. NULL
 * when out of memory. */
static Cluebus__Frame *
reply_frame(Cluebus__Frame__FrameCase frame_case)
{
	const ProtobufCMessageDescriptor *desc = frame_case == CLUEBUS__FRAME__FRAME_ACCEPTED ?
	    &cluebus__accepted__descriptor : &cluebus__rejected__descriptor;
	Cluebus__Frame *f = calloc(1, sizeof(*f));
	void *body;

	if (f == NULL || (body = calloc(1, desc->sizeof_message)) == NULL) {
		free(f);
		return NULL;
	}
	cluebus__frame__init(f);
	protobuf_c_message_init(desc, body);
	f->frame_case = frame_case;
	if (frame_case == CLUEBUS__FRAME__FRAME_ACCEPTED)
		f->accepted = body;
	else
		f->rejected = body;
	return f;
}

/* `f`, whose fields were set when `rc` is 0; otherwise f is freed and the result is NULL. */
static Cluebus__Frame *
reply_finish(Cluebus__Frame *f, int rc)
{
	if (rc == 0)
		return f;
	cluebus__frame__free_unpacked(f, NULL);
	return NULL;
}

Cluebus__Frame *
reply_rejected(const uint8_t *msgid, size_t idlen, int code, const char *reason)
{
	Cluebus__Frame *f = reply_frame(CLUEBUS__FRAME__FRAME_REJECTED);

	if (f == NULL)
		return NULL;
	f->rejected->code = code;
	if ((f->rejected->reason = strdup(reason)) == NULL)
		return reply_finish(f, CB_ENOMEM);
	return reply_finish(f, reply_bytes(&f->rejected->message_id, msgid, idlen));
}

/* Copies unit ids into a->recipients. Returns 0 or CB_ENOMEM (what was copied stays, for
 * the frame's free). */
static int
reply_recipients(Cluebus__Accepted *a, char *const *units, size_t n)
{
	if (n == 0)
		return 0;
	if ((a->recipients = calloc(n, sizeof(*a->recipients))) == NULL)
		return CB_ENOMEM;
	for (; a->n_recipients < n; a->n_recipients++)
		if ((a->recipients[a->n_recipients] = strdup(units[a->n_recipients])) == NULL)
			return CB_ENOMEM;
	return 0;
}

Cluebus__Frame *
reply_accepted(const uint8_t *msgid, uint64_t seq, const uint8_t *hash, int duplicate,
    int64_t time_ms, char *const *recipients, size_t nrecipients)
{
	Cluebus__Frame *f = reply_frame(CLUEBUS__FRAME__FRAME_ACCEPTED);
	Cluebus__Accepted *a;

	if (f == NULL)
		return NULL;
	a = f->accepted;
	a->seq = seq;
	a->duplicate = duplicate;
	a->time_ms = time_ms;
	if (reply_bytes(&a->message_id, msgid, MESSAGE_ID_LEN) != 0 ||
	    reply_recipients(a, recipients, nrecipients) != 0)
		return reply_finish(f, CB_ENOMEM);
	return reply_finish(f, reply_bytes(&a->entry_hash, hash, CHAIN_HASH_LEN));
}

void
reply_send(void *sock, const uint8_t *rid, size_t ridlen, const Cluebus__Frame *reply)
{
	int rc = wire_send(sock, rid, ridlen, reply);

	if (rc != 0)
		log_debug("reply not sent (%s): peer gone or its queue is full", cb_strerror(rc));
}

Cluebus__Frame *
reply_refusal(const uint8_t *msgid, size_t idlen, const struct verdict *v)
{
	Cluebus__Frame *f = reply_rejected(msgid, idlen, v->code, v->reason);

	if (f != NULL)
		f->rejected->directory_version = v->directory_version;
	if (f == NULL || v->field[0] == '\0')
		return f;
	if ((f->rejected->field = strdup(v->field)) == NULL) {
		f->rejected->field = (char *)protobuf_c_empty_string;
		return reply_finish(f, CB_ENOMEM);
	}
	return f;
}

static void
reply_verdict_v(struct verdict *v, int code, const char *field, const char *fmt, va_list ap)
{
	v->code = code;
	v->directory_version = 0;
	snprintf(v->field, sizeof(v->field), "%s", field);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
}

int
reply_verdict(struct verdict *v, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_verdict_v(v, code, "", fmt, ap);
	va_end(ap);
	return 0;
}

int
reply_verdict_field(struct verdict *v, int code, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_verdict_v(v, code, field, fmt, ap);
	va_end(ap);
	return 0;
}

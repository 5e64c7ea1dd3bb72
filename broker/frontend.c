/* broker/frontend.c — the broker's ROUTER socket: frames in, sessions, replies out.
 *
 * Every frame is hostile until proven otherwise: sizes are bounded by ZMQ_MAXMSGSIZE and by
 * wire_decode, extra message parts are drained and refused, and a unit is bound to a
 * connection (routing id) only by a Hello signed with that unit's current key and a fresh
 * time. Replies to publishes are deferred until the round's commit (durable before ack). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "broker.h"
#include "chain.h"
#include "envelope.h"
#include "log.h"
#include "util.h"
#include "wire.h"

/* A round's frames, taken off the socket before any is handled so that their signatures
 * can be checked on every core at once (lib/verifypool.c). Bounded by batch_max frames and by
 * INBOX_BYTES_MAX bytes, so a round never holds more than that in memory. */
#define INBOX_BYTES_MAX	(8u << 20)

struct inframe {
	uint8_t		 rid[RID_MAX];
	size_t		 ridlen;
	zmq_msg_t	 body;
	int		 multipart;	/* more than one part: refused */
	int		 decode_rc;
	cb_error_t	 decode_err;	/* why, when decode_rc != 0 */
	Cluebus__Frame	*f;		/* decoded, when decode_rc == 0 */
	struct verify_job *job;		/* a publish checked in advance, or NULL */
};

struct inbox {
	struct inframe	*frames;
	struct verify_job *jobs;
	size_t		 cap;
};

int
frontend_open(struct broker *b)
{
	int64_t maxsize = WIRE_MAX_FRAME + 4096;
	/* Outgoing queues per peer are short: replies and one delivery window fit, and a peer
	 * that never reads cannot make the broker hold more (sends then fail with EAGAIN and
	 * the backlog stays in LMDB). Incoming frames may queue deeper. */
	int one = 1, linger = 0, hwm = 100000, sndhwm = 1024 + 4 * (int)b->cfg.window;

	if ((b->inbox = calloc(1, sizeof(*b->inbox))) == NULL ||
	    (b->inbox->frames = calloc(b->cfg.batch_max, sizeof(struct inframe))) == NULL ||
	    (b->inbox->jobs = calloc(b->cfg.batch_max, sizeof(struct verify_job))) == NULL)
		return CB_ENOMEM;
	b->inbox->cap = b->cfg.batch_max;
	if ((b->zctx = zmq_ctx_new()) == NULL)
		return CB_EIO;
	if (zap_open(b) != 0)
		return CB_EIO;
	if ((b->sock = zmq_socket(b->zctx, ZMQ_ROUTER)) == NULL)
		return CB_EIO;
	if (zmq_setsockopt(b->sock, ZMQ_CURVE_SERVER, &one, sizeof(one)) != 0 ||
	    zmq_setsockopt(b->sock, ZMQ_CURVE_SECRETKEY, b->tkey.secret_z85,
	    TRANSPORT_Z85_LEN) != 0 ||
	    zmq_setsockopt(b->sock, ZMQ_ZAP_DOMAIN, "cluebus", 7) != 0 ||
	    zmq_setsockopt(b->sock, ZMQ_MAXMSGSIZE, &maxsize, sizeof(maxsize)) != 0 ||
	    zmq_setsockopt(b->sock, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) != 0 ||
	    zmq_setsockopt(b->sock, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_setsockopt(b->sock, ZMQ_SNDHWM, &sndhwm, sizeof(sndhwm)) != 0 ||
	    zmq_setsockopt(b->sock, ZMQ_RCVHWM, &hwm, sizeof(hwm)) != 0)
		return CB_EIO;
	if (zmq_bind(b->sock, b->cfg.endpoint) != 0) {
		log_warnx("bind %s: %s", b->cfg.endpoint, zmq_strerror(errno));
		return CB_EIO;
	}
	log_info("listening on %s (CURVE, server key %s)", b->cfg.endpoint, b->tkey.public_z85);
	return 0;
}

void
frontend_close(struct broker *b)
{
	if (b->sock != NULL)
		zmq_close(b->sock);
	zap_close(b);
	if (b->zctx != NULL)
		zmq_ctx_term(b->zctx);
	b->sock = b->zctx = NULL;
	if (b->inbox != NULL) {
		free(b->inbox->frames);
		free(b->inbox->jobs);
		free(b->inbox);
		b->inbox = NULL;
	}
}

struct unitq *
frontend_unit(struct broker *b, const char *unit)
{
	for (size_t i = 0; i < b->nunits; i++)
		if (strcmp(b->units[i].unit, unit) == 0)
			return &b->units[i];
	return NULL;
}

static struct session *
frontend_session(struct broker *b, const uint8_t *rid, size_t ridlen)
{
	for (size_t i = 0; i < b->nsessions; i++)
		if (b->sessions[i].ridlen == ridlen &&
		    memcmp(b->sessions[i].rid, rid, ridlen) == 0)
			return &b->sessions[i];
	return NULL;
}

/* The longest-silent session, of `uq` only when it is not NULL. */
static struct session *
frontend_session_oldest(struct broker *b, const struct unitq *uq)
{
	struct session *old = NULL;

	for (size_t i = 0; i < b->nsessions; i++)
		if ((uq == NULL || b->sessions[i].uq == uq) &&
		    (old == NULL || b->sessions[i].last_seen_ms < old->last_seen_ms))
			old = &b->sessions[i];
	return old;
}

/* Finds or makes the session of `uq` for `rid`. A unit holds at most SESSIONS_PER_UNIT:
 * beyond that its own longest-silent session gives way, so one unit (or a thief of its
 * keys) opening connections by the thousand cannot push the other units out. When the
 * whole table is full the longest-silent session of any unit gives way. A session that
 * gives way must say hello again. Cannot fail. */
static struct session *
frontend_session_bind(struct broker *b, const uint8_t *rid, size_t ridlen, struct unitq *uq)
{
	struct session *s = frontend_session(b, rid, ridlen);
	size_t mine = 0;

	for (size_t i = 0; s == NULL && i < b->nsessions; i++)
		mine += b->sessions[i].uq == uq;
	if (s == NULL && mine >= SESSIONS_PER_UNIT)
		s = frontend_session_oldest(b, uq);
	if (s == NULL && b->nsessions < SESSIONS_MAX)
		s = &b->sessions[b->nsessions++];
	if (s == NULL)
		s = frontend_session_oldest(b, NULL);
	memcpy(s->rid, rid, ridlen);
	s->ridlen = ridlen;
	s->uq = uq;
	return s;
}

void
frontend_expire(struct broker *b, int64_t now)
{
	for (size_t i = 0; i < b->nsessions;) {
		if (now - b->sessions[i].last_seen_ms <= b->cfg.peer_timeout_ms) {
			i++;
			continue;
		}
		b->sessions[i] = b->sessions[--b->nsessions];
	}
}

static int
set_bytes(ProtobufCBinaryData *d, const uint8_t *p, size_t len)
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

Cluebus__Frame *
frontend_rejected(const uint8_t *msgid, size_t idlen, int code, const char *reason)
{
	Cluebus__Frame *f = calloc(1, sizeof(*f));
	Cluebus__Rejected *r = calloc(1, sizeof(*r));

	if (f == NULL || r == NULL)
		goto fail;
	cluebus__frame__init(f);
	cluebus__rejected__init(r);
	f->frame_case = CLUEBUS__FRAME__FRAME_REJECTED;
	f->rejected = r;
	r->code = code;
	if ((r->reason = strdup(reason)) == NULL) {
		r->reason = (char *)protobuf_c_empty_string;
		goto fail_frame;
	}
	if (set_bytes(&r->message_id, msgid, idlen) != 0)
		goto fail_frame;
	return f;
fail:
	free(r);
	free(f);
	return NULL;
fail_frame:
	cluebus__frame__free_unpacked(f, NULL);
	return NULL;
}

void
frontend_send_on(void *sock, const uint8_t *rid, size_t ridlen, const Cluebus__Frame *reply)
{
	int rc = wire_send(sock, rid, ridlen, reply);

	if (rc != 0)
		log_debug("reply not sent (%s): peer gone or its queue is full", cb_strerror(rc));
}

void
frontend_send(struct broker *b, const uint8_t *rid, size_t ridlen, const Cluebus__Frame *reply)
{
	frontend_send_on(b->sock, rid, ridlen, reply);
}

Cluebus__Frame *
frontend_accepted(const uint8_t *msgid, uint64_t seq, const uint8_t *hash, int duplicate,
    int64_t time_ms)
{
	Cluebus__Frame *f = calloc(1, sizeof(*f));
	Cluebus__Accepted *a = calloc(1, sizeof(*a));

	if (f == NULL || a == NULL) {
		free(f);
		free(a);
		return NULL;
	}
	cluebus__frame__init(f);
	cluebus__accepted__init(a);
	f->frame_case = CLUEBUS__FRAME__FRAME_ACCEPTED;
	f->accepted = a;
	a->seq = seq;
	a->duplicate = duplicate;
	a->time_ms = time_ms;
	if (set_bytes(&a->message_id, msgid, 16) != 0 ||
	    set_bytes(&a->entry_hash, hash, CHAIN_HASH_LEN) != 0) {
		cluebus__frame__free_unpacked(f, NULL);
		return NULL;
	}
	return f;
}

int
frontend_add_unit(struct broker *b, const char *unit)
{
	if (frontend_unit(b, unit) != NULL)
		return 0;
	if (b->nunits >= REGISTRY_MAX_UNITS)
		return CB_ENOMEM;
	memset(&b->units[b->nunits], 0, sizeof(b->units[0]));
	snprintf(b->units[b->nunits++].unit, 33, "%s", unit);
	return 0;
}

void
frontend_forget_unit(struct broker *b, const char *unit)
{
	struct unitq *uq = frontend_unit(b, unit);

	if (uq == NULL)
		return;
	for (size_t i = 0; i < b->nsessions;) {
		if (b->sessions[i].uq == uq)
			b->sessions[i] = b->sessions[--b->nsessions];
		else
			i++;
	}
	uq->online = 0;
	uq->ridlen = 0;
	uq->inflight = 0;
	log_info("unit %s: sessions dropped (keys changed)", unit);
}

int
frontend_defer(struct broker *b, const uint8_t *rid, size_t ridlen, Cluebus__Frame *reply,
    int accepted, const uint8_t *msgid)
{
	struct pending *p;

	if (reply == NULL)
		return CB_ENOMEM;
	if (b->npending == b->cappending) {
		size_t cap = b->cappending ? b->cappending * 2 : 256;
		struct pending *np = realloc(b->pending, cap * sizeof(*np));

		if (np == NULL) {
			cluebus__frame__free_unpacked(reply, NULL);
			return CB_ENOMEM;
		}
		b->pending = np;
		b->cappending = cap;
	}
	p = &b->pending[b->npending++];
	memcpy(p->rid, rid, ridlen);
	p->ridlen = ridlen;
	p->reply = reply;
	p->accepted = accepted;
	if (msgid != NULL)
		memcpy(p->msgid, msgid, 16);
	return 0;
}

static void
frontend_reject_now(struct broker *b, const uint8_t *rid, size_t ridlen, int code,
    const char *reason, int hello)
{
	Cluebus__Frame *f = frontend_rejected(NULL, 0, code, reason);

	if (f != NULL) {
		f->rejected->hello = hello;
		frontend_send(b, rid, ridlen, f);
		cluebus__frame__free_unpacked(f, NULL);
	}
}

static void
frontend_hello(struct broker *b, const uint8_t *rid, size_t ridlen, const char *peer,
    const Cluebus__Hello *h)
{
	Cluebus__Welcome w = CLUEBUS__WELCOME__INIT;
	Cluebus__Frame f = CLUEBUS__FRAME__INIT;
	uint8_t signed_bytes[128];
	char safe[80];
	const cb_key_t *key;
	struct session *s;
	struct unitq *uq;
	int64_t now = clock_now_ms();
	size_t len;

	str_sanitize(h->unit, strlen(h->unit), safe, sizeof(safe));
	if (peer == NULL || strcmp(h->unit, peer) != 0) {
		log_warnx("hello as '%s' on a connection authenticated as %s refused", safe,
		    peer != NULL ? peer : "nobody");
		frontend_reject_now(b, rid, ridlen, CLUEBUS__REJECT_CODE__REJECT_SENDER_MISMATCH,
		    "hello names a unit other than the connection's transport key", 1);
		return;
	}
	if (!unit_id_valid(h->unit) || (uq = frontend_unit(b, h->unit)) == NULL) {
		log_warnx("hello from unknown unit '%s' refused", safe);
		frontend_reject_now(b, rid, ridlen, CLUEBUS__REJECT_CODE__REJECT_UNKNOWN_SENDER,
		    "unit is not registered", 1);
		return;
	}
	if (h->time_ms < now - b->cfg.clock_skew_ms || h->time_ms > now + b->cfg.clock_skew_ms) {
		log_warnx("hello from %s refused: clock skew", safe);
		frontend_reject_now(b, rid, ridlen, CLUEBUS__REJECT_CODE__REJECT_CLOCK_SKEW,
		    "hello time outside the accepted window", 1);
		return;
	}
	len = wire_hello_bytes(h->unit, h->time_ms, h->nonce.data, h->nonce.len, signed_bytes,
	    sizeof(signed_bytes));
	if (h->nonce.len != 16 || len == 0 ||
	    registry_key_at(b->reg, h->unit, h->key_id.data, h->key_id.len, broker_clock_ms(),
	    &key) !=
	    REG_KEY_OK ||
	    key_verify(key, signed_bytes, len, h->signature.data, h->signature.len) != 0) {
		log_warnx("hello from %s refused: bad key or signature", safe);
		frontend_reject_now(b, rid, ridlen, CLUEBUS__REJECT_CODE__REJECT_NOT_AUTHENTICATED,
		    "hello signature does not verify with the unit's current key", 1);
		return;
	}
	s = frontend_session_bind(b, rid, ridlen, uq);
	s->receives = !h->publish_only;
	s->last_seen_ms = clock_mono_ms();
	if (s->receives) {
		/* The newest receiving connection of a unit takes its deliveries. */
		memcpy(uq->rid, rid, ridlen);
		uq->ridlen = ridlen;
		uq->online = 1;
		uq->sent_upto = 0;
		uq->inflight = 0;
		uq->resends = 0;
		uq->has_more = 1;
		uq->last_seen_ms = uq->progress_ms = s->last_seen_ms;
	}
	log_info("unit %s connected%s", uq->unit, s->receives ? "" : " (publish only)");
	w.protocol = WIRE_PROTOCOL;
	w.log_head = store_head_seq(b->store);
	w.time_ms = now;
	w.window = b->cfg.window;
	f.frame_case = CLUEBUS__FRAME__FRAME_WELCOME;
	f.welcome = &w;
	frontend_send(b, rid, ridlen, &f);
}

static void
frontend_heartbeat(struct broker *b, const uint8_t *rid, size_t ridlen)
{
	Cluebus__Heartbeat hb = CLUEBUS__HEARTBEAT__INIT;
	Cluebus__Frame f = CLUEBUS__FRAME__INIT;

	hb.time_ms = clock_now_ms();
	f.frame_case = CLUEBUS__FRAME__FRAME_HEARTBEAT;
	f.heartbeat = &hb;
	frontend_send(b, rid, ridlen, &f);
}

/* The session a frame from `rid` belongs to: only one whose unit is `peer`, the unit the
 * connection's CURVE key belongs to (ZAP User-Id). NULL when unauthenticated. */
static struct session *
frontend_session_of(struct broker *b, const uint8_t *rid, size_t ridlen, const char *peer)
{
	struct session *s = frontend_session(b, rid, ridlen);

	/* A session belongs to the unit its transport key proved: never to another. */
	if (s != NULL && (peer == NULL || strcmp(s->uq->unit, peer) != 0))
		return NULL;
	return s;
}

static void
frontend_dispatch(struct broker *b, struct inframe *fr)
{
	const uint8_t *rid = fr->rid;
	size_t ridlen = fr->ridlen;
	const char *peer = zmq_msg_gets(&fr->body, "User-Id");
	const void *raw = zmq_msg_data(&fr->body);
	size_t rawlen = zmq_msg_size(&fr->body);
	struct session *s = frontend_session_of(b, rid, ridlen, peer);
	Cluebus__Frame *f = fr->f;
	struct unitq *uq;

	uq = s != NULL ? s->uq : NULL;
	if (s != NULL) {
		s->last_seen_ms = clock_mono_ms();
		if (uq->ridlen == ridlen && memcmp(uq->rid, rid, ridlen) == 0)
			uq->last_seen_ms = s->last_seen_ms;
	}
	if (fr->multipart) {
		pipeline_reject(b, uq, rid, ridlen, "", NULL, 0,
		    CLUEBUS__REJECT_CODE__REJECT_MALFORMED, "more than one frame in a message",
		    NULL, 0);
		return;
	}
	if (fr->decode_rc == CB_ENOMEM) {
		/* Not the frame's fault: no summary logged, and the peer retries. */
		frontend_defer(b, rid, ridlen, frontend_rejected(NULL, 0,
		    CLUEBUS__REJECT_CODE__REJECT_UNAVAILABLE, "out of memory, retry"), 0, NULL);
		return;
	}
	if (fr->decode_rc != 0) {
		char why[sizeof(fr->decode_err.field) + sizeof(fr->decode_err.reason) + 4];

		snprintf(why, sizeof(why), "%s: %s", fr->decode_err.field,
		    fr->decode_err.reason);
		pipeline_reject(b, uq, rid, ridlen, "", NULL, 0,
		    fr->decode_rc == CB_ETOOBIG ? CLUEBUS__REJECT_CODE__REJECT_TOO_LARGE :
		    CLUEBUS__REJECT_CODE__REJECT_MALFORMED, why, raw, rawlen);
		return;
	}
	switch (f->frame_case) {
	case CLUEBUS__FRAME__FRAME_HELLO:
		frontend_hello(b, rid, ridlen, peer, f->hello);
		break;
	case CLUEBUS__FRAME__FRAME_PUBLISH:
		pipeline_publish(b, uq, rid, ridlen, f, fr->job, raw, rawlen);
		break;
	case CLUEBUS__FRAME__FRAME_ACK:
		/* Only the connection deliveries went to can acknowledge them; an older
		 * connection of the same unit is ignored. */
		if (uq == NULL)
			frontend_reject_now(b, rid, ridlen,
			    CLUEBUS__REJECT_CODE__REJECT_NOT_AUTHENTICATED, "ack before hello", 0);
		else if (uq->ridlen == ridlen && memcmp(uq->rid, rid, ridlen) == 0)
			pipeline_ack(b, uq, f->ack->upto_seq);
		break;
	case CLUEBUS__FRAME__FRAME_HEARTBEAT:
		if (uq != NULL)
			frontend_heartbeat(b, rid, ridlen);
		else
			frontend_reject_now(b, rid, ridlen,
			    CLUEBUS__REJECT_CODE__REJECT_NOT_AUTHENTICATED,
			    "heartbeat before hello", 0);
		break;
	default:
		pipeline_reject(b, uq, rid, ridlen, "", NULL, 0,
		    CLUEBUS__REJECT_CODE__REJECT_MALFORMED, "frame type not accepted from agents",
		    raw, rawlen);
		break;
	}
}

static void
frontend_drain_parts(void *sock)
{
	int more;

	do {
		zmq_msg_t junk;

		zmq_msg_init(&junk);
		if (zmq_msg_recv(&junk, sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&junk);
			return;
		}
		more = zmq_msg_more(&junk);
		zmq_msg_close(&junk);
	} while (more);
}

/* Takes one message off the socket into `fr`. Returns 1, 0 when the socket is drained,
 * or -1 for a lone routing id (nothing to handle). */
static int
frontend_recv(struct broker *b, struct inframe *fr)
{
	int ridlen, more;
	size_t optlen = sizeof(more);

	ridlen = zmq_recv(b->sock, fr->rid, sizeof(fr->rid), ZMQ_DONTWAIT);
	if (ridlen < 0)
		return 0;	/* EAGAIN: drained */
	fr->ridlen = ridlen > (int)sizeof(fr->rid) ? sizeof(fr->rid) : (size_t)ridlen;
	zmq_getsockopt(b->sock, ZMQ_RCVMORE, &more, &optlen);
	if (!more)
		return -1;
	zmq_msg_init(&fr->body);
	if (zmq_msg_recv(&fr->body, b->sock, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&fr->body);
		return -1;
	}
	/* One frame per message: drain the other parts, refused when handled. */
	if ((fr->multipart = zmq_msg_more(&fr->body)) != 0)
		frontend_drain_parts(b->sock);
	return 1;
}

/* Decodes `fr` and, for a publish from a unit's own authenticated session whose key is
 * known now, plans its signature check in `job`. Returns 1 when it did. */
static int
frontend_plan(struct broker *b, struct inframe *fr, struct verify_job *job)
{
	const Cluebus__Envelope *env;
	const struct session *s;

	fr->f = NULL;
	fr->job = NULL;
	if (fr->multipart || (fr->decode_rc = wire_decode_err(zmq_msg_data(&fr->body),
	    zmq_msg_size(&fr->body), &fr->f, &fr->decode_err)) != 0)
		return 0;
	if (fr->f->frame_case != CLUEBUS__FRAME__FRAME_PUBLISH)
		return 0;
	env = fr->f->publish->envelope;
	s = frontend_session_of(b, fr->rid, fr->ridlen, zmq_msg_gets(&fr->body, "User-Id"));
	if (s == NULL || env->sender == NULL || strcmp(env->sender, s->uq->unit) != 0 ||
	    env->signed_.len > ENVELOPE_MAX ||
	    registry_key_at(b->reg, env->sender, env->key_id.data, env->key_id.len,
	    broker_clock_ms(), &job->key) != REG_KEY_OK)
		return 0;
	job->env = env;
	fr->job = job;
	return 1;
}

/* A round: take up to `max` frames (and INBOX_BYTES_MAX bytes) off the socket, decode
 * them, check the publishes' signatures in parallel, then handle every frame in arrival
 * order on this thread. */
size_t
frontend_drain(struct broker *b, size_t max)
{
	struct inbox *in = b->inbox;
	size_t n = 0, bytes = 0, njobs = 0;
	int r;

	if (max > in->cap)
		max = in->cap;
	while (n < max && bytes < INBOX_BYTES_MAX && (r = frontend_recv(b, &in->frames[n])) != 0)
		if (r > 0)
			bytes += zmq_msg_size(&in->frames[n++].body);
	for (size_t i = 0; i < n; i++)
		njobs += (size_t)frontend_plan(b, &in->frames[i], &in->jobs[njobs]);
	verifypool_run(b->verifier, in->jobs, njobs);
	for (size_t i = 0; i < n; i++) {
		frontend_dispatch(b, &in->frames[i]);
		wire_free(in->frames[i].f);
		zmq_msg_close(&in->frames[i].body);
	}
	return n;
}

/* broker/frontend.c — the broker's ROUTER socket: frames in, hello, the round's replies out.
 *
 * Every frame is hostile until proven otherwise: sizes are bounded by ZMQ_MAXMSGSIZE and by
 * wire_decode, extra message parts are drained and refused, and a unit is bound to a
 * connection (routing id) only by a Hello signed with that unit's current key and a fresh
 * time. Replies to publishes are deferred until the round's commit (durable before ack):
 * frontend_commit() commits the round and sends them on this socket. */
#include <errno.h>
#include <malloc.h>
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
#define HELLO_NONCE_LEN	16	/* the nonce a Hello signs (agents send this many) */
#define RCV_QUEUE_MAX	64	/* frames ZeroMQ queues per connection before pushing back */
#define TRIM_IDLE_MS	1000	/* memory is given back once frames stopped this long */
#define FRONTEND_MONITOR "inproc://cluebus-frontend-monitor"

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
	 * the backlog stays in LMDB). Incoming queues hold RCV_QUEUE_MAX frames per connection
	 * (ZeroMQ counts frames, not bytes): past that ZeroMQ stops reading the connection and
	 * the peer's sends wait in the kernel's buffers. */
	int one = 1, linger = 0, hwm = RCV_QUEUE_MAX, sndhwm = 1024 + 4 * (int)b->cfg.window;

	/* Frames above 64 KiB get their own mappings, returned to the system when freed:
	 * glibc's default would raise the threshold after the first large free and keep a
	 * flood's memory in the heap for good. */
	mallopt(M_MMAP_THRESHOLD, 64 * 1024);

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
	/* ZeroMQ drops a connection that sends a frame over ZMQ_MAXMSGSIZE before the broker
	 * sees a byte of it: the socket monitor's disconnect events are how it is counted. */
	if (zmq_socket_monitor(b->sock, FRONTEND_MONITOR, ZMQ_EVENT_DISCONNECTED) != 0 ||
	    (b->monitor = zmq_socket(b->zctx, ZMQ_PAIR)) == NULL ||
	    zmq_connect(b->monitor, FRONTEND_MONITOR) != 0)
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
	if (b->monitor != NULL)
		zmq_close(b->monitor);
	if (b->sock != NULL)
		zmq_close(b->sock);
	b->monitor = NULL;
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

void
frontend_commit(struct broker *b)
{
	round_commit(b, reply_send, b->sock);
}

static void
frontend_send(struct broker *b, const uint8_t *rid, size_t ridlen, const Cluebus__Frame *reply)
{
	reply_send(b->sock, rid, ridlen, reply);
}

static void
frontend_reject_now(struct broker *b, const uint8_t *rid, size_t ridlen,
    const struct verdict *v, int hello)
{
	Cluebus__Frame *f = reply_refusal(NULL, 0, v);

	if (f != NULL) {
		f->rejected->hello = hello;
		frontend_send(b, rid, ridlen, f);
		cluebus__frame__free_unpacked(f, NULL);
	}
}

/* Directory and checkpoint requests cost the broker's one thread a directory send or
 * Merkle proofs each; an agent asks about once a second. A unit asking more often than
 * 5 a second after a burst of 20 has the excess dropped unanswered (it asks again later),
 * counted in requests_dropped, so that no unit slows the others down by asking. */
static const struct ratelimit_policy request_policy = { 5.0, 20.0, UINT64_MAX, 0, 0 };

static int
frontend_request_allowed(struct broker *b, struct unitq *uq)
{
	uint64_t suppressed;
	int64_t since, now = clock_mono_ms();

	if (ratelimit_refusal(&uq->requests, &request_policy, now, &suppressed, &since) ==
	    RATELIMIT_LOG) {
		if (suppressed > 0)
			log_warnx("%s: %llu directory or checkpoint requests dropped in the last "
			    "%lld ms (over 5 a second)", uq->unit, (unsigned long long)suppressed,
			    (long long)(now - since));
		return 1;
	}
	b->count.requests_dropped++;
	return 0;
}

/* Tells a connection that has not said hello (or that the broker forgot: a restart, a
 * key change) to say it: how an agent learns to authenticate again. */
static void
frontend_before_hello(struct broker *b, const uint8_t *rid, size_t ridlen, const char *what)
{
	struct verdict v;

	reply_verdict(&v, CLUEBUS__REJECT_CODE__REJECT_NOT_AUTHENTICATED, "%s before hello",
	    what);
	frontend_reject_now(b, rid, ridlen, &v, 0);
}

/* Checks a Hello: the connection's own unit, the protocol, a registered unit, a fresh
 * time, a whole nonce, a current key and its signature. Refuses through `v`; sets *uq. */
static void
hello_check(struct broker *b, const char *peer, const Cluebus__Hello *h, struct unitq **uq,
    struct verdict *v)
{
	uint8_t signed_bytes[128];
	int64_t now = clock_now_ms();
	const cb_key_t *key;
	size_t len;

	v->code = 0;
	*uq = NULL;
	if (peer == NULL || strcmp(h->unit, peer) != 0) {
		reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_SENDER_MISMATCH, "unit",
		    "hello names a unit other than the connection's transport key (%s)",
		    peer != NULL ? peer : "none");
		return;
	}
	if (h->protocol != WIRE_PROTOCOL) {
		reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_BAD_PROTOCOL, "protocol",
		    "protocol %u is not spoken here: this broker speaks protocol %d",
		    h->protocol, WIRE_PROTOCOL);
		return;
	}
	if (!unit_id_valid(h->unit) || (*uq = units_find(b, h->unit)) == NULL) {
		reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_UNKNOWN_SENDER, "unit",
		    "unit is not registered");
		return;
	}
	if (h->time_ms < now - b->cfg.clock_skew_ms || h->time_ms > now + b->cfg.clock_skew_ms) {
		reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_CLOCK_SKEW, "time_ms",
		    "hello time is %lld ms from the broker's, more than the %lld ms accepted",
		    (long long)(h->time_ms - now), (long long)b->cfg.clock_skew_ms);
		return;
	}
	if (h->nonce.len != HELLO_NONCE_LEN) {
		reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_MALFORMED, "nonce",
		    "nonce is %zu bytes, must be %d", h->nonce.len, HELLO_NONCE_LEN);
		return;
	}
	if (registry_key_at(b->reg, h->unit, h->key_id.data, h->key_id.len, broker_clock_ms(),
	    &key) != REG_KEY_OK) {
		reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_NOT_AUTHENTICATED, "key_id",
		    "key id is not a current signing key of the unit");
		return;
	}
	len = wire_hello_bytes(h->unit, h->time_ms, h->nonce.data, h->nonce.len, signed_bytes,
	    sizeof(signed_bytes));
	if (len == 0 || key_verify(key, signed_bytes, len, h->signature.data,
	    h->signature.len) != 0)
		reply_verdict_field(v, CLUEBUS__REJECT_CODE__REJECT_NOT_AUTHENTICATED, "signature",
		    "hello signature does not verify with the unit's current key");
}

/* Answers a refused Hello, its log line within the refusal budget of the connection's
 * unit (all unauthenticated peers share one); a unit cut off gets no answer. */
static void
hello_refuse(struct broker *b, const uint8_t *rid, size_t ridlen, const char *peer,
    const char *claimed, const struct verdict *v)
{
	struct unitq *puq = peer != NULL ? units_find(b, peer) : NULL;
	uint64_t unlogged;
	int64_t since;

	switch (ratelimit_refusal(puq != NULL ? &puq->refusals : &b->anon_refusals,
	    puq != NULL ? &refusal_policy_unit : &refusal_policy_anon, clock_mono_ms(),
	    &unlogged, &since)) {
	case RATELIMIT_LOG:
		log_warnx("hello as '%s' on a connection authenticated as %s refused: %s: %s: %s",
		    claimed, peer != NULL ? peer : "nobody", wire_reject_name(v->code), v->field,
		    v->reason);
		/* FALLTHROUGH */
	case RATELIMIT_QUIET:
		frontend_reject_now(b, rid, ridlen, v, 1);
		break;
	default:
		b->count.dropped++;
		break;
	}
}

static void
frontend_hello(struct broker *b, const uint8_t *rid, size_t ridlen, const char *peer,
    const Cluebus__Hello *h)
{
	Cluebus__Welcome w = CLUEBUS__WELCOME__INIT;
	Cluebus__Frame f = CLUEBUS__FRAME__INIT;
	struct verdict v;
	struct session *s;
	struct unitq *uq;
	char safe[80];

	hello_check(b, peer, h, &uq, &v);
	if (v.code != 0) {
		str_sanitize(h->unit, strnlen(h->unit, 64), safe, sizeof(safe));
		hello_refuse(b, rid, ridlen, peer, safe, &v);
		return;
	}
	s = units_session_bind(b, rid, ridlen, uq);
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
		uq->ckpt_size = 0;	/* until its request says what it holds */
		uq->last_seen_ms = uq->progress_ms = s->last_seen_ms;
	}
	log_info("unit %s connected%s", uq->unit, s->receives ? "" : " (publish only)");
	w.protocol = WIRE_PROTOCOL;
	w.log_head = store_head_seq(b->store);
	w.time_ms = clock_now_ms();
	w.window = b->cfg.window;
	w.directory_version = b->directory_version;
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

/* Logs (when authenticated) and answers a frame refused before it was understood. */
static void
frontend_refuse(struct broker *b, struct unitq *uq, const struct inframe *fr, int code,
    const char *reason, const void *raw, size_t rawlen)
{
	struct refusal r = { fr->rid, fr->ridlen, "", NULL, 0, 0, raw, rawlen };
	struct verdict v;

	reply_verdict(&v, code, "%s", reason);
	pipeline_reject(b, uq, &r, &v);
}

/* A frame that did not decode: refused, unless memory ran out (not the frame's fault: no
 * summary logged, and the peer retries). */
static void
frontend_undecoded(struct broker *b, struct unitq *uq, const struct inframe *fr,
    const void *raw, size_t rawlen)
{
	char why[sizeof(cb_error_t) + 4];

	if (fr->multipart) {
		frontend_refuse(b, uq, fr, CLUEBUS__REJECT_CODE__REJECT_MALFORMED,
		    "more than one frame in a message", NULL, 0);
	} else if (fr->decode_rc == CB_ENOMEM) {
		round_defer(b, fr->rid, fr->ridlen, reply_rejected(NULL, 0,
		    CLUEBUS__REJECT_CODE__REJECT_UNAVAILABLE, "out of memory, retry"), 0, NULL);
	} else {
		snprintf(why, sizeof(why), "%s: %s", fr->decode_err.field,
		    fr->decode_err.reason);
		frontend_refuse(b, uq, fr, fr->decode_rc == CB_ETOOBIG ?
		    CLUEBUS__REJECT_CODE__REJECT_TOO_LARGE : CLUEBUS__REJECT_CODE__REJECT_MALFORMED,
		    why, raw, rawlen);
	}
}

static void
frontend_dispatch(struct broker *b, struct inframe *fr)
{
	const uint8_t *rid = fr->rid;
	size_t ridlen = fr->ridlen;
	const char *peer = zmq_msg_gets(&fr->body, "User-Id");
	const void *raw = zmq_msg_data(&fr->body);
	size_t rawlen = zmq_msg_size(&fr->body);
	struct session *s = units_session_of(b, rid, ridlen, peer);
	Cluebus__Frame *f = fr->f;
	struct unitq *uq;

	uq = s != NULL ? s->uq : NULL;
	if (s != NULL) {
		s->last_seen_ms = clock_mono_ms();
		if (uq->ridlen == ridlen && memcmp(uq->rid, rid, ridlen) == 0)
			uq->last_seen_ms = s->last_seen_ms;
	}
	if (fr->multipart || fr->decode_rc != 0) {
		frontend_undecoded(b, uq, fr, raw, rawlen);
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
			frontend_before_hello(b, rid, ridlen, "ack");
		else if (uq->ridlen == ridlen && memcmp(uq->rid, rid, ridlen) == 0)
			round_ack(b, uq, f->ack->upto_seq);
		break;
	case CLUEBUS__FRAME__FRAME_DIRECTORY_REQUEST:
		if (uq == NULL)
			frontend_before_hello(b, rid, ridlen, "directory request");
		else if (frontend_request_allowed(b, uq))
			dirserve_request(b, rid, ridlen);
		break;
	case CLUEBUS__FRAME__FRAME_CHECKPOINT_REQUEST:
		if (uq == NULL)
			frontend_before_hello(b, rid, ridlen, "checkpoint request");
		else if (frontend_request_allowed(b, uq))
			ckpt_request(b, uq, rid, ridlen, f->checkpoint_request);
		break;
	case CLUEBUS__FRAME__FRAME_HEARTBEAT:
		if (uq != NULL)
			frontend_heartbeat(b, rid, ridlen);
		else
			frontend_before_hello(b, rid, ridlen, "heartbeat");
		break;
	default:
		frontend_refuse(b, uq, fr, CLUEBUS__REJECT_CODE__REJECT_MALFORMED,
		    "frame type not accepted from agents", raw, rawlen);
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

/* Whether the unit of a connection (`peer`, its transport key's) is cut off for its
 * refusals (pipeline_reject): its frames are then dropped unread, costing no decode, no
 * verification and no memory past this call. Counts the drop. Call it only while some unit
 * may be cut off (b->cut_until_ms set): the peer lookup is not free. */
static int
frontend_cut_off(struct broker *b, const char *peer)
{
	struct unitq *uq;
	int64_t now;

	if (peer == NULL)
		return 0;
	if ((now = clock_mono_ms()) >= b->cut_until_ms) {
		b->cut_until_ms = 0;	/* every cut-off is over */
		return 0;
	}
	if ((uq = units_find(b, peer)) == NULL || !ratelimit_drop(&uq->refusals, now))
		return 0;
	b->count.dropped++;
	return 1;
}

/* Takes one message off the socket into `fr`. Returns 0 with *taken set when `fr` holds
 * a frame (clear for a lone routing id: nothing to handle), or CB_EAGAIN when the socket
 * is drained. */
static int
frontend_recv(struct broker *b, struct inframe *fr, int *taken)
{
	int ridlen, more;
	size_t optlen = sizeof(more);

	*taken = 0;
	ridlen = zmq_recv(b->sock, fr->rid, sizeof(fr->rid), ZMQ_DONTWAIT);
	if (ridlen < 0)
		return CB_EAGAIN;
	fr->ridlen = ridlen > (int)sizeof(fr->rid) ? sizeof(fr->rid) : (size_t)ridlen;
	zmq_getsockopt(b->sock, ZMQ_RCVMORE, &more, &optlen);
	if (!more)
		return 0;
	zmq_msg_init(&fr->body);
	if (zmq_msg_recv(&fr->body, b->sock, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&fr->body);
		return 0;
	}
	/* One frame per message: drain the other parts, refused when handled. */
	if ((fr->multipart = zmq_msg_more(&fr->body)) != 0)
		frontend_drain_parts(b->sock);
	if (b->cut_until_ms != 0 &&
	    frontend_cut_off(b, zmq_msg_gets(&fr->body, "User-Id"))) {
		zmq_msg_close(&fr->body);
		return 0;
	}
	*taken = 1;
	return 0;
}

/* Decodes `fr` and, for a publish from a unit's own authenticated session whose key is
 * known now, plans its signature check in `job`. Returns 1 when it did, 0 when not (a
 * count, not an error: whatever went wrong is answered when the frame is handled). */
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
	s = units_session_of(b, fr->rid, fr->ridlen, zmq_msg_gets(&fr->body, "User-Id"));
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
	int taken;

	if (max > in->cap)
		max = in->cap;
	while (n < max && bytes < INBOX_BYTES_MAX && frontend_recv(b, &in->frames[n], &taken) == 0)
		if (taken)
			bytes += zmq_msg_size(&in->frames[n++].body);
	if (bytes > 0) {
		b->inbox_busy_ms = clock_mono_ms();
		if (bytes > b->inbox_peak_bytes)
			b->inbox_peak_bytes = bytes;
	}
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

/* Counts the connections closed since the last call (by their peers, or by ZeroMQ for a
 * frame over the limit), with a log line within a budget of its own. */
static void
frontend_disconnects(struct broker *b, int64_t now)
{
	static const struct ratelimit_policy lines = { 1.0, 10.0, UINT64_MAX, 0, 0 };
	uint64_t closed = 0, unlogged;
	int64_t since;
	zmq_msg_t ev;

	for (;;) {
		zmq_msg_init(&ev);
		if (zmq_msg_recv(&ev, b->monitor, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&ev);
			break;
		}
		/* Two parts: event number and value, then the endpoint. */
		if (!zmq_msg_more(&ev))
			closed++;
		zmq_msg_close(&ev);
	}
	if (closed == 0)
		return;
	b->count.disconnects += closed;
	if (ratelimit_refusal(&b->disconnect_lines, &lines, now, &unlogged, &since) ==
	    RATELIMIT_LOG)
		log_info("%llu connection%s closed (by the peer, or by ZeroMQ for a frame over "
		    "the size limit); %llu in all", (unsigned long long)closed,
		    closed == 1 ? "" : "s", (unsigned long long)b->count.disconnects);
}

void
frontend_timers(struct broker *b, int64_t now)
{
	pipeline_refusal_summaries(b, now);
	frontend_disconnects(b, now);
	/* After a burst of large frames (a flood, or a large backlog caught up), the heap's
	 * free pages go back to the system once it is quiet. */
	if (b->inbox_peak_bytes > INBOX_BYTES_MAX / 8 && now - b->inbox_busy_ms > TRIM_IDLE_MS) {
		malloc_trim(0);
		b->inbox_peak_bytes = 0;
	}
}

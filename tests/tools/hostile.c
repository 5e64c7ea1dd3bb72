/* tests/tools/hostile.c — hostile and abusive peers for the torture tests.
 *
 *   hostile --endpoint E --key DIR/UNIT.key --mode M [--other-unit U2 --other-key K2]
 *           [--count N] [--size BYTES] [--duration-ms N] [--timeout-ms N] [--window N]
 *           [--receiving] [--heartbeat] [--read] [--category C] [--jurisdiction J]
 *           [--prefix P] [--ids FILE]
 *
 * Connects DEALER sockets to the broker over CURVE as UNIT (the key file's name) with the
 * transport key that goes with --key (DIR/UNIT.curve; DIR/broker.curve.pub is the server's),
 * as forge does: it authenticates as a registered unit and abuses that, or (mode
 * unregistered) presents a fresh key the broker has never seen. Modes:
 *
 *   unregistered  COUNT handshakes, each with a new random CURVE key: every one must be
 *                 refused by the broker's ZAP handler (read from the socket monitor)
 *   oversize      COUNT frames of SIZE bytes (default 2 MiB + 1) after a valid hello: the
 *                 broker's ZMQ_MAXMSGSIZE drops the connection (or, for a size between the
 *                 frame limit and that, the broker answers too_large); then a hello and a
 *                 heartbeat on a fresh connection must still be answered
 *   flood         COUNT garbage frames of SIZE bytes (default 100) as fast as the socket
 *                 takes them, from an authenticated unit, without reading the answers
 *                 (--read: reading them meanwhile); then collects the answers. The
 *                 broker answers a unit's refusals within its limits and then cuts it
 *                 off (its frames dropped unanswered): only an accepted frame fails
 *   malformed     COUNT rounds of a table of malformed inputs (empty, junk, truncated,
 *                 overlong lengths, envelopes without parts, correctly signed junk,
 *                 a signed header naming another unit, forbidden kinds, frames only the
 *                 broker sends, overlong hello units, bad nonces, oversized envelopes,
 *                 stale and future times, unknown fields); each must be answered, and
 *                 none accepted
 *   impersonate   COUNT rounds of frames claiming another unit (needs --other-unit and
 *                 --other-key): hellos naming it, publishes from it, its key id or
 *                 signature on our publishes; each must be refused
 *   bogus-ack     acks for messages never delivered: before any hello, on a publish-only
 *                 connection of the unit (COUNT acks up to huge seqs), and with
 *                 --receiving on the unit's receiving connection before anything was
 *                 delivered; the broker must ignore or refuse them and keep answering
 *   multipart     COUNT messages of 2..5 parts whose first part is a valid publish: each
 *                 must be refused as a whole, none accepted
 *   amplify       COUNT frames of about SIZE bytes (default 1 MiB - 64) that parse into
 *                 hundreds of thousands of empty repeated strings (a Deliver, which agents
 *                 may not send): each must be refused
 *   noread        says hello (receiving, or publish-only without --receiving), then never
 *                 reads again for DURATION ms (or until SIGTERM), with a one-message
 *                 receive queue and a 4 KiB kernel buffer; --heartbeat keeps it online by
 *                 sending a heartbeat every second
 *   sessions      COUNT connections of the unit at once, each saying a valid hello and then
 *                 nothing for DURATION ms (more than the broker's 1,024 session slots:
 *                 the longest-silent sessions must give way, not the active agents'); then
 *                 17 connections one after the other: the first of them must be forgotten
 *                 (a unit holds 16 sessions at most) and the last served; then a fresh
 *                 connection must still be welcomed and answered
 *   burst         COUNT valid clues ("PREFIX N", N = 1..COUNT; category and jurisdiction
 *                 as given), WINDOW in flight, resent until answered: a fast, well-formed
 *                 bulk publisher; --ids FILE gets "N SEQ MESSAGE_ID" per accepted clue
 *
 * Prints one summary line "MODE key=value ..." on stdout (details on stderr). Exit: 0 when
 * the broker behaved as expected (above), 1 when it did not (something accepted that must
 * not be, an expected answer missing, the broker no longer answering), 2 on a usage or
 * local error. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <zmq.h>

#include "envelope.h"
#include "intake.h"
#include "keys.h"
#include "transport.h"
#include "util.h"
#include "wire.h"

enum mode {
	M_UNREGISTERED, M_OVERSIZE, M_FLOOD, M_MALFORMED, M_IMPERSONATE, M_BOGUS_ACK,
	M_MULTIPART, M_AMPLIFY, M_NOREAD, M_BURST, M_SESSIONS,
};

static const struct {
	const char	*name;
	enum mode	 mode;
} modes[] = {
	{ "unregistered", M_UNREGISTERED }, { "oversize", M_OVERSIZE }, { "flood", M_FLOOD },
	{ "malformed", M_MALFORMED }, { "impersonate", M_IMPERSONATE },
	{ "bogus-ack", M_BOGUS_ACK }, { "multipart", M_MULTIPART }, { "amplify", M_AMPLIFY },
	{ "noread", M_NOREAD }, { "burst", M_BURST }, { "sessions", M_SESSIONS },
};

struct hostile {
	const char	*endpoint, *unit, *key_path, *other_unit, *other_key_path;
	const char	*category, *jurisdiction, *prefix, *ids_path;
	enum mode	 mode;
	long		 count;
	size_t		 size;
	long		 duration_ms;
	int		 timeout_ms;
	unsigned	 window;
	int		 receiving, heartbeat, read_answers;
	cb_key_t	*key, *other_key;
	transport_keypair_t tk;
	char		 server[TRANSPORT_Z85_LEN + 1];
	void		*zctx;
	unsigned	 nmonitors;
};

/* Frame kinds as bits, for wire_recv's mask. */
#define BIT(c)		WIRE_BIT(c)
#define ANSWERS		WIRE_ANSWERS

static volatile sig_atomic_t stop_requested;	/* SIGTERM: noread, sessions, burst end */

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: hostile --endpoint E --key DIR/UNIT.key --mode "
	    "unregistered|oversize|flood|malformed|impersonate|bogus-ack|multipart|amplify|"
	    "noread|sessions|burst\n"
	    "               [--other-unit U2 --other-key K2] [--count N] [--size BYTES]\n"
	    "               [--duration-ms N] [--timeout-ms N] [--window N] [--receiving]\n"
	    "               [--heartbeat] [--read] [--category C] [--jurisdiction J]\n"
	    "               [--prefix P] [--ids FILE]\n");
	exit(2);
}

/* ---- sockets ---- */

/* The CURVE keys that go with --key DIR/UNIT.key: DIR/UNIT.curve and DIR/broker.curve.pub. */
static int
hostile_curve_keys(struct hostile *h)
{
	char path[4096], dir[2048];
	const char *slash = strrchr(h->key_path, '/');
	size_t n = strlen(h->key_path);

	if (n < 4 || strcmp(h->key_path + n - 4, ".key") != 0) {
		fprintf(stderr, "hostile: --key must name DIR/UNIT.key\n");
		return -1;
	}
	snprintf(path, sizeof(path), "%.*s.curve", (int)(n - 4), h->key_path);
	snprintf(dir, sizeof(dir), "%.*s", slash != NULL ? (int)(slash - h->key_path) : 1,
	    slash != NULL ? h->key_path : ".");
	if (transport_load_secret(path, &h->tk) != 0) {
		fprintf(stderr, "hostile: cannot load %s\n", path);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/broker.curve.pub", dir);
	if (transport_load_public(path, h->server) != 0) {
		fprintf(stderr, "hostile: cannot load %s\n", path);
		return -1;
	}
	return 0;
}

/* A connected DEALER with the key pair `tk`; `quiet`: a 1-message receive queue and a small
 * kernel receive buffer (a peer that does not read). With `monitor`, a PAIR socket that
 * receives the DEALER's handshake and connection events. Returns NULL on a local error. */
static void *
hostile_socket(struct hostile *h, const transport_keypair_t *tk, int quiet, void **monitor)
{
	int linger = 0, one = 1, small = 4096, sndhwm = 100000;
	void *sock;
	char ep[64];

	if ((sock = zmq_socket(h->zctx, ZMQ_DEALER)) == NULL)
		return NULL;
	if (zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_setsockopt(sock, ZMQ_SNDHWM, &sndhwm, sizeof(sndhwm)) != 0 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, h->server, TRANSPORT_Z85_LEN) != 0 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, tk->public_z85, TRANSPORT_Z85_LEN) != 0 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, tk->secret_z85, TRANSPORT_Z85_LEN) != 0 ||
	    (quiet && (zmq_setsockopt(sock, ZMQ_RCVHWM, &one, sizeof(one)) != 0 ||
	    zmq_setsockopt(sock, ZMQ_RCVBUF, &small, sizeof(small)) != 0)))
		goto fail;
	if (monitor != NULL) {
		snprintf(ep, sizeof(ep), "inproc://hostile-monitor-%u", h->nmonitors++);
		if (zmq_socket_monitor(sock, ep, ZMQ_EVENT_ALL) != 0 ||
		    (*monitor = zmq_socket(h->zctx, ZMQ_PAIR)) == NULL)
			goto fail;
		if (zmq_setsockopt(*monitor, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
		    zmq_connect(*monitor, ep) != 0) {
			zmq_close(*monitor);
			goto fail;
		}
	}
	if (zmq_connect(sock, h->endpoint) != 0)
		goto fail_monitor;
	return sock;
fail_monitor:
	if (monitor != NULL)
		zmq_close(*monitor);
fail:
	fprintf(stderr, "hostile: socket: %s\n", zmq_strerror(errno));
	zmq_close(sock);
	return NULL;
}

static void
hostile_close(void *sock, void *monitor)
{
	if (monitor != NULL) {
		zmq_socket_monitor(sock, NULL, 0);
		zmq_close(monitor);
	}
	zmq_close(sock);
}

/* Waits for one of the events in `mask` on the monitor until `deadline`. Returns the event,
 * or 0 at the deadline. */
static int
monitor_wait(void *monitor, int mask, int64_t deadline, uint32_t *value)
{
	for (;;) {
		zmq_pollitem_t item = { monitor, 0, ZMQ_POLLIN, 0 };
		int64_t now = clock_mono_ms();
		zmq_msg_t ev, ep;
		uint16_t event;

		if (now >= deadline)
			return 0;
		if (zmq_poll(&item, 1, (long)(deadline - now)) < 0 && errno != EINTR)
			return 0;
		if (!(item.revents & ZMQ_POLLIN))
			continue;
		zmq_msg_init(&ev);
		if (zmq_msg_recv(&ev, monitor, 0) < 0) {
			zmq_msg_close(&ev);
			continue;
		}
		zmq_msg_init(&ep);
		if (zmq_msg_more(&ev))
			zmq_msg_recv(&ep, monitor, 0);
		zmq_msg_close(&ep);
		if (zmq_msg_size(&ev) < 6) {
			zmq_msg_close(&ev);
			continue;
		}
		memcpy(&event, zmq_msg_data(&ev), 2);
		if (value != NULL)
			memcpy(value, (uint8_t *)zmq_msg_data(&ev) + 2, 4);
		zmq_msg_close(&ev);
		if (event & mask)
			return event;
	}
}

/* Sends `len` raw bytes as one message part. Returns 0 or -1 (errno). */
static int
send_raw(void *sock, const void *buf, size_t len, int flags)
{
	return zmq_send(sock, buf, len, flags) < 0 ? -1 : 0;
}

/* Packs `f` into a new buffer (caller frees). */
static uint8_t *
frame_pack(const Cluebus__Frame *f, size_t *len)
{
	uint8_t *buf;

	*len = cluebus__frame__get_packed_size(f);
	if ((buf = malloc(*len > 0 ? *len : 1)) == NULL)
		return NULL;
	cluebus__frame__pack(f, buf);
	return buf;
}

static int
send_frame(void *sock, const Cluebus__Frame *f)
{
	size_t len;
	uint8_t *buf = frame_pack(f, &len);
	int rc;

	if (buf == NULL)
		return -1;
	rc = send_raw(sock, buf, len, 0);
	free(buf);
	return rc;
}

/* ---- frames ---- */

/* A Hello as `unit` signed with `key`, with a nonce of `noncelen` bytes and a time `skew_ms`
 * off. Packed into a new buffer (caller frees), or NULL. */
static uint8_t *
hello_bytes(const char *unit, const cb_key_t *key, size_t noncelen, int64_t skew_ms,
    int publish_only, size_t *len)
{
	Cluebus__Frame f = CLUEBUS__FRAME__INIT;
	struct wire_hello wh;

	if (wire_hello_sign(&wh, unit, key, clock_now_ms() + skew_ms, noncelen,
	    publish_only) != 0)
		return NULL;
	f.frame_case = CLUEBUS__FRAME__FRAME_HELLO;
	f.hello = &wh.hello;
	return frame_pack(&f, len);
}

/* Says hello as `unit` with `key` and waits for the answer. Returns 0 (welcome), the
 * RejectCode (> 0) of a refusal, or CB_ETIMEOUT / CB_EIO. */
static int
hostile_hello(struct hostile *h, void *sock, const char *unit, const cb_key_t *key,
    int publish_only)
{
	Cluebus__Frame *f;
	uint8_t *buf;
	size_t len;
	int rc;

	if ((buf = hello_bytes(unit, key, 16, 0, publish_only, &len)) == NULL)
		return CB_EIO;
	rc = send_raw(sock, buf, len, 0);
	free(buf);
	if (rc != 0)
		return CB_EIO;
	if ((rc = wire_recv(sock, clock_mono_ms() + h->timeout_ms, ANSWERS, &f, NULL)) != 0)
		return rc;
	rc = f->frame_case == CLUEBUS__FRAME__FRAME_WELCOME ? 0 :
	    f->frame_case == CLUEBUS__FRAME__FRAME_REJECTED ? (int)f->rejected->code : CB_EIO;
	wire_free(f);
	return rc;
}

/* A heartbeat, answered by one when the connection is authenticated. Returns 1 when the
 * broker answered with a heartbeat within the timeout, 0 otherwise. */
static int
hostile_ping(struct hostile *h, void *sock)
{
	Cluebus__Heartbeat hb = CLUEBUS__HEARTBEAT__INIT;
	Cluebus__Frame f = CLUEBUS__FRAME__INIT, *reply;
	int ok;

	hb.time_ms = clock_now_ms();
	f.frame_case = CLUEBUS__FRAME__FRAME_HEARTBEAT;
	f.heartbeat = &hb;
	if (send_frame(sock, &f) != 0)
		return 0;
	/* Answers still on their way (a flood's) are skipped. */
	if (wire_recv(sock, clock_mono_ms() + h->timeout_ms,
	    BIT(CLUEBUS__FRAME__FRAME_HEARTBEAT), &reply, NULL) != 0)
		return 0;
	ok = 1;
	wire_free(reply);
	return ok;
}

/* A valid clue "PREFIX n" from `sender`, signed by `signer`, created `skew_ms` off now,
 * with message id `id` (MESSAGE_ID_LEN bytes, chosen by the caller). Returns a new Message
 * (free with message_free) or NULL. */
static Cluebus__Message *
clue_message(const struct hostile *h, const char *sender, long n, const uint8_t id[MESSAGE_ID_LEN],
    int64_t skew_ms)
{
	Cluebus__Message *m = NULL;
	cb_error_t err;
	char json[1024];
	int len;

	len = snprintf(json, sizeof(json), "{\"kind\":\"clue\",\"priority\":\"routine\","
	    "\"clue\":{\"category\":\"%s\",\"jurisdiction\":\"%s\","
	    "\"occurred_at\":\"2026-03-01T08:30:00+08:00\",\"location\":\"鞍山市铁东区\","
	    "\"summary\":\"%s %ld\",\"handling\":{\"code\":\"h0\"},"
	    "\"evaluation\":{\"source_reliability\":\"b\",\"accuracy\":2}}}",
	    h->category, h->jurisdiction, h->prefix, n);
	if (len <= 0 || (size_t)len >= sizeof(json))
		return NULL;
	if (intake_from_json(json, (size_t)len, &m, &err) != 0) {
		fprintf(stderr, "hostile: clue: %s: %s\n", err.field, err.reason);
		return NULL;
	}
	free(m->message_id.data);
	if ((m->message_id.data = malloc(MESSAGE_ID_LEN)) == NULL) {
		m->message_id.len = 0;
		goto fail;
	}
	memcpy(m->message_id.data, id, MESSAGE_ID_LEN);
	m->message_id.len = MESSAGE_ID_LEN;
	if (m->sender != NULL && m->sender != protobuf_c_empty_string)
		free(m->sender);
	if ((m->sender = strdup(sender)) == NULL) {
		m->sender = (char *)protobuf_c_empty_string;
		goto fail;
	}
	m->created_ms = clock_now_ms() + skew_ms;
	return m;
fail:
	protobuf_c_message_free_unpacked(&m->base, NULL);
	return NULL;
}

/* Signs `m` with `key` into a new envelope (envelope_free); m->key_id is left empty. */
static Cluebus__Envelope *
message_sign(Cluebus__Message *m, const cb_key_t *key)
{
	Cluebus__Envelope *env = NULL;

	if (envelope_sign(m, key, &env) != 0)
		env = NULL;
	m->key_id.data = NULL;	/* borrowed from env */
	m->key_id.len = 0;
	return env;
}

/* A Publish frame carrying `env`, packed into a new buffer (caller frees). */
static uint8_t *
publish_bytes(const Cluebus__Envelope *env, const uint8_t id[MESSAGE_ID_LEN], size_t *len)
{
	Cluebus__Publish p = CLUEBUS__PUBLISH__INIT;
	Cluebus__Frame f = CLUEBUS__FRAME__INIT;

	p.envelope = (Cluebus__Envelope *)env;
	if (id != NULL) {
		p.message_id.data = (uint8_t *)id;
		p.message_id.len = MESSAGE_ID_LEN;
	}
	f.frame_case = CLUEBUS__FRAME__FRAME_PUBLISH;
	f.publish = &p;
	return frame_pack(&f, len);
}

/* A valid publish of clue "PREFIX n" from `sender` signed by `signer` (packed, new buffer). */
static uint8_t *
clue_publish(const struct hostile *h, const char *sender, const cb_key_t *signer, long n,
    int64_t skew_ms, size_t *len)
{
	Cluebus__Envelope *env;
	Cluebus__Message *m;
	uint8_t id[MESSAGE_ID_LEN], *buf = NULL;

	if (rand_bytes(id, sizeof(id)) != 0 ||
	    (m = clue_message(h, sender, n, id, skew_ms)) == NULL)
		return NULL;
	if ((env = message_sign(m, signer)) != NULL)
		buf = publish_bytes(env, id, len);
	envelope_free(env);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	return buf;
}

static void
print_reject(const char *what, const Cluebus__Frame *f)
{
	char safe[300];

	if (f->frame_case == CLUEBUS__FRAME__FRAME_REJECTED) {
		str_sanitize(f->rejected->reason, strnlen(f->rejected->reason, 256), safe,
		    sizeof(safe));
		fprintf(stderr, "hostile: %s: rejected %s%s: %s\n", what,
		    wire_reject_name(f->rejected->code), f->rejected->hello ? " (hello)" : "",
		    safe);
	} else if (f->frame_case == CLUEBUS__FRAME__FRAME_ACCEPTED) {
		fprintf(stderr, "hostile: %s: ACCEPTED seq %" PRIu64 "\n", what,
		    f->accepted->seq);
	} else {
		fprintf(stderr, "hostile: %s: answered by frame %d\n", what, f->frame_case);
	}
}

/* An authenticated connection as --unit (publish-only unless `receiving`), or NULL. */
static void *
hostile_session(struct hostile *h, int receiving, void **monitor)
{
	void *sock = hostile_socket(h, &h->tk, 0, monitor);
	int rc;

	if (sock == NULL)
		return NULL;
	if ((rc = hostile_hello(h, sock, h->unit, h->key, !receiving)) != 0) {
		fprintf(stderr, "hostile: hello as %s: %s\n", h->unit,
		    rc > 0 ? wire_reject_name(rc) : cb_strerror(rc));
		hostile_close(sock, monitor != NULL ? *monitor : NULL);
		return NULL;
	}
	return sock;
}

/* ---- modes ---- */

static int
mode_unregistered(struct hostile *h)
{
	long refused = 0, admitted = 0, silent = 0;

	for (long i = 0; i < h->count; i++) {
		transport_keypair_t tk;
		void *sock, *monitor = NULL;
		uint32_t value = 0;
		int ev;

		if (zmq_curve_keypair(tk.public_z85, tk.secret_z85) != 0 ||
		    (sock = hostile_socket(h, &tk, 0, &monitor)) == NULL)
			return 2;
		ev = monitor_wait(monitor, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
		    ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_SUCCEEDED,
		    clock_mono_ms() + h->timeout_ms, &value);
		if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
			admitted++;
			/* Admitted? Then see whether it can even say hello. */
			fprintf(stderr, "hostile: unregistered key ADMITTED; hello answered %d\n",
			    hostile_hello(h, sock, h->unit, h->key, 1));
		} else if (ev != 0) {
			refused++;
		} else {
			silent++;
		}
		hostile_close(sock, monitor);
	}
	printf("unregistered handshakes=%ld refused=%ld admitted=%ld no_verdict=%ld\n",
	    h->count, refused, admitted, silent);
	return refused == h->count ? 0 : 1;
}

static int
mode_oversize(struct hostile *h)
{
	long dropped = 0, too_large = 0, other = 0, no_verdict = 0;
	void *sock, *monitor = NULL;
	uint8_t *big;
	int answers_after = 0;

	if ((big = malloc(h->size)) == NULL || rand_bytes(big, h->size) != 0)
		return 2;
	big[0] = 0x0f;	/* field 1, wire type 7: never a protobuf Frame */
	if ((sock = hostile_socket(h, &h->tk, 0, &monitor)) == NULL) {
		free(big);
		return 2;
	}
	for (long i = 0; i < h->count; i++) {
		Cluebus__Frame *f;
		int64_t deadline = clock_mono_ms() + h->timeout_ms;
		int rc, ev, was_dropped = 0;

		/* A (re)connected, authenticated session first. */
		if ((rc = hostile_hello(h, sock, h->unit, h->key, 1)) != 0) {
			fprintf(stderr, "hostile: oversize: hello %d: %s\n", (int)i,
			    rc > 0 ? wire_reject_name(rc) : cb_strerror(rc));
			no_verdict++;
			continue;
		}
		if (send_raw(sock, big, h->size, 0) != 0) {
			fprintf(stderr, "hostile: oversize: send: %s\n", zmq_strerror(errno));
			break;
		}
		/* Either the broker drops the connection (ZMQ_MAXMSGSIZE) or it answers. */
		for (;;) {
			zmq_pollitem_t items[] = { { sock, 0, ZMQ_POLLIN, 0 },
			    { monitor, 0, ZMQ_POLLIN, 0 } };
			int64_t now = clock_mono_ms();

			if (now >= deadline) {
				no_verdict++;
				break;
			}
			if (zmq_poll(items, 2, (long)(deadline - now)) < 0 && errno != EINTR)
				break;
			if (items[1].revents & ZMQ_POLLIN) {
				ev = monitor_wait(monitor, ZMQ_EVENT_DISCONNECTED, now + 1, NULL);
				if (ev == ZMQ_EVENT_DISCONNECTED) {
					dropped++;
					was_dropped = 1;
					break;
				}
			}
			if ((items[0].revents & ZMQ_POLLIN) &&
			    wire_recv(sock, now + 1, ANSWERS, &f, NULL) == 0) {
				if (f->frame_case == CLUEBUS__FRAME__FRAME_REJECTED &&
				    f->rejected->code == CLUEBUS__REJECT_CODE__REJECT_TOO_LARGE)
					too_large++;
				else {
					print_reject("oversize", f);
					other++;
				}
				wire_free(f);
				break;
			}
		}
		/* After a drop ZeroMQ reconnects by itself: wait for that handshake. */
		if (was_dropped && monitor_wait(monitor, ZMQ_EVENT_HANDSHAKE_SUCCEEDED,
		    clock_mono_ms() + h->timeout_ms, NULL) == 0)
			fprintf(stderr, "hostile: oversize: no reconnection after a drop\n");
	}
	hostile_close(sock, monitor);
	free(big);
	/* The broker must still take a fresh connection of this unit. */
	if ((sock = hostile_session(h, 0, NULL)) != NULL) {
		answers_after = hostile_ping(h, sock);
		hostile_close(sock, NULL);
	}
	printf("oversize frames=%ld size=%zu dropped=%ld too_large=%ld other=%ld "
	    "no_verdict=%ld answers_after=%d\n", h->count, h->size, dropped, too_large, other,
	    no_verdict, answers_after);
	return other == 0 && no_verdict == 0 && answers_after ? 0 : 1;
}

/* Collects answers until `want` came or the socket was quiet for `quiet_ms`. */
static void
collect_answers(void *sock, long want, int quiet_ms, long *rejected, long *accepted,
    long *other)
{
	while (*rejected + *accepted + *other < want) {
		Cluebus__Frame *f;

		if (wire_recv(sock, clock_mono_ms() + quiet_ms, ~0u, &f, other) != 0)
			break;
		if (f->frame_case == CLUEBUS__FRAME__FRAME_REJECTED)
			(*rejected)++;
		else if (f->frame_case == CLUEBUS__FRAME__FRAME_ACCEPTED)
			(*accepted)++;
		else
			(*other)++;
		wire_free(f);
	}
}

static int
mode_flood(struct hostile *h)
{
	long sent = 0, rejected = 0, accepted = 0, other = 0;
	void *sock;
	uint8_t *junk;
	int64_t start, secs_ms;
	int alive;

	if ((junk = malloc(h->size)) == NULL || rand_bytes(junk, h->size) != 0)
		return 2;
	junk[0] = 0x0f;
	if ((sock = hostile_session(h, 0, NULL)) == NULL) {
		free(junk);
		return 1;
	}
	start = clock_mono_ms();
	for (; sent < h->count; sent++) {
		junk[1 + sent % (h->size - 1)] ^= 0x5a;	/* not the same frame twice */
		if (send_raw(sock, junk, h->size, 0) != 0) {
			fprintf(stderr, "hostile: flood: send: %s\n", zmq_strerror(errno));
			break;
		}
		if (h->read_answers && sent % 64 == 0)
			collect_answers(sock, h->count, 0, &rejected, &accepted, &other);
	}
	secs_ms = clock_mono_ms() - start;
	collect_answers(sock, sent, h->timeout_ms, &rejected, &accepted, &other);
	alive = hostile_ping(h, sock);
	hostile_close(sock, NULL);
	free(junk);
	printf("flood sent=%ld size=%zu secs=%.2f rate=%.0f answers=%ld rejected=%ld "
	    "accepted=%ld other=%ld answers_after=%d\n", sent, h->size, secs_ms / 1000.0,
	    secs_ms > 0 ? sent * 1000.0 / secs_ms : 0.0, rejected + accepted, rejected, accepted,
	    other, alive);
	return accepted == 0 ? 0 : 1;
}

/* One malformed input: its name and bytes (new buffer), or NULL when it cannot be made. */
struct bad_case {
	const char	*name;
	uint8_t		*(*make)(struct hostile *, size_t *);
	int		 expect;	/* frame kind of the expected answer */
};

static uint8_t *
dupbytes(const void *p, size_t len)
{
	uint8_t *b = malloc(len > 0 ? len : 1);

	if (b != NULL && len > 0)
		memcpy(b, p, len);
	return b;
}

static uint8_t *
bad_empty(struct hostile *h, size_t *len)
{
	(void)h;
	*len = 0;
	return dupbytes("", 0);
}

static uint8_t *
bad_junk(struct hostile *h, size_t *len)
{
	uint8_t *b = malloc(200);

	(void)h;
	if (b == NULL || rand_bytes(b, 200) != 0) {
		free(b);
		return NULL;
	}
	b[0] = 0x0f;
	*len = 200;
	return b;
}

static uint8_t *
bad_truncated(struct hostile *h, size_t *len)
{
	uint8_t *b = clue_publish(h, h->unit, h->key, 1, 0, len);

	if (b != NULL)
		*len /= 2;
	return b;
}

static uint8_t *
bad_huge_length(struct hostile *h, size_t *len)
{
	/* Frame.publish (field 3, length-delimited) claiming 2^63 bytes. */
	static const uint8_t b[] = { 0x1a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
	    0x0a, 0x00 };

	(void)h;
	*len = sizeof(b);
	return dupbytes(b, sizeof(b));
}

static uint8_t *
bad_no_envelope(struct hostile *h, size_t *len)
{
	Cluebus__Publish p = CLUEBUS__PUBLISH__INIT;
	Cluebus__Frame f = CLUEBUS__FRAME__INIT;
	uint8_t id[MESSAGE_ID_LEN];

	(void)h;
	if (rand_bytes(id, sizeof(id)) != 0)
		return NULL;
	p.message_id.data = id;
	p.message_id.len = MESSAGE_ID_LEN;
	f.frame_case = CLUEBUS__FRAME__FRAME_PUBLISH;
	f.publish = &p;
	return frame_pack(&f, len);
}

static uint8_t *
bad_empty_envelope(struct hostile *h, size_t *len)
{
	Cluebus__Envelope env = CLUEBUS__ENVELOPE__INIT;

	(void)h;
	return publish_bytes(&env, NULL, len);
}

static uint8_t *
bad_short_signature(struct hostile *h, size_t *len)
{
	Cluebus__Envelope env = CLUEBUS__ENVELOPE__INIT;
	uint8_t sig[3] = { 1, 2, 3 }, signed_bytes[64];

	if (rand_bytes(signed_bytes, sizeof(signed_bytes)) != 0)
		return NULL;
	env.signed_.data = signed_bytes;
	env.signed_.len = sizeof(signed_bytes);
	env.signature.data = sig;
	env.signature.len = sizeof(sig);
	env.sender = (char *)h->unit;
	env.key_id.data = (uint8_t *)key_id(h->key);
	env.key_id.len = KEY_ID_LEN;
	return publish_bytes(&env, NULL, len);
}

/* Signed correctly by the unit, but the signed bytes are not a Message. */
static uint8_t *
bad_signed_junk(struct hostile *h, size_t *len)
{
	Cluebus__Envelope env = CLUEBUS__ENVELOPE__INIT;
	uint8_t sig[KEY_SIG_LEN], junk[300];

	if (rand_bytes(junk, sizeof(junk)) != 0)
		return NULL;
	junk[0] = 0x0f;
	if (key_sign(h->key, junk, sizeof(junk), sig) != 0)
		return NULL;
	env.signed_.data = junk;
	env.signed_.len = sizeof(junk);
	env.signature.data = sig;
	env.signature.len = sizeof(sig);
	env.sender = (char *)h->unit;
	env.key_id.data = (uint8_t *)key_id(h->key);
	env.key_id.len = KEY_ID_LEN;
	return publish_bytes(&env, NULL, len);
}

/* Signed by the unit, hint = the unit, but the signed header names another sender. */
static uint8_t *
bad_header_mismatch(struct hostile *h, size_t *len)
{
	const char *other = h->other_unit != NULL ? h->other_unit : "psb";
	Cluebus__Envelope *env;
	Cluebus__Message *m;
	uint8_t id[MESSAGE_ID_LEN], *buf = NULL;

	if (rand_bytes(id, sizeof(id)) != 0 || (m = clue_message(h, other, 1, id, 0)) == NULL)
		return NULL;
	if ((env = message_sign(m, h->key)) != NULL) {
		free(env->sender);
		if ((env->sender = strdup(h->unit)) != NULL)
			buf = publish_bytes(env, id, len);
	}
	envelope_free(env);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	return buf;
}

/* A clue body under a kind that only the broker may create. */
static uint8_t *
bad_forbidden_kind(struct hostile *h, size_t *len)
{
	Cluebus__Envelope *env;
	Cluebus__Message *m;
	uint8_t id[MESSAGE_ID_LEN], *buf = NULL;

	if (rand_bytes(id, sizeof(id)) != 0 ||
	    (m = clue_message(h, h->unit, 1, id, 0)) == NULL)
		return NULL;
	m->kind = CLUEBUS__KIND__KIND_ESCALATION;
	if ((env = message_sign(m, h->key)) != NULL)
		buf = publish_bytes(env, id, len);
	envelope_free(env);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	return buf;
}

static uint8_t *
bad_welcome_frame(struct hostile *h, size_t *len)
{
	Cluebus__Welcome w = CLUEBUS__WELCOME__INIT;
	Cluebus__Frame f = CLUEBUS__FRAME__INIT;

	(void)h;
	w.protocol = WIRE_PROTOCOL;
	w.log_head = 1;
	f.frame_case = CLUEBUS__FRAME__FRAME_WELCOME;
	f.welcome = &w;
	return frame_pack(&f, len);
}

static uint8_t *
bad_accepted_frame(struct hostile *h, size_t *len)
{
	Cluebus__Accepted a = CLUEBUS__ACCEPTED__INIT;
	Cluebus__Frame f = CLUEBUS__FRAME__INIT;

	(void)h;
	a.seq = 42;
	f.frame_case = CLUEBUS__FRAME__FRAME_ACCEPTED;
	f.accepted = &a;
	return frame_pack(&f, len);
}

/* A correctly signed Deliver as if the agent were the broker. */
static uint8_t *
bad_deliver_frame(struct hostile *h, size_t *len)
{
	Cluebus__Deliver d = CLUEBUS__DELIVER__INIT;
	Cluebus__Frame f = CLUEBUS__FRAME__INIT;
	Cluebus__Envelope *env;
	Cluebus__Message *m;
	uint8_t id[MESSAGE_ID_LEN], hash[32] = { 0 }, *buf = NULL;

	if (rand_bytes(id, sizeof(id)) != 0 ||
	    (m = clue_message(h, h->unit, 1, id, 0)) == NULL)
		return NULL;
	if ((env = message_sign(m, h->key)) != NULL) {
		d.seq = 1;
		d.entry_hash.data = hash;
		d.entry_hash.len = sizeof(hash);
		d.envelope = env;
		f.frame_case = CLUEBUS__FRAME__FRAME_DELIVER;
		f.deliver = &d;
		buf = frame_pack(&f, len);
	}
	envelope_free(env);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	return buf;
}

static uint8_t *
bad_long_unit_hello(struct hostile *h, size_t *len)
{
	char *unit = malloc(5001);
	uint8_t *buf;

	if (unit == NULL)
		return NULL;
	memset(unit, 'a', 5000);
	unit[5000] = '\0';
	buf = hello_bytes(unit, h->key, 16, 0, 1, len);
	free(unit);
	return buf;
}

static uint8_t *
bad_short_nonce_hello(struct hostile *h, size_t *len)
{
	return hello_bytes(h->unit, h->key, 3, 0, 1, len);
}

static uint8_t *
bad_future_hello(struct hostile *h, size_t *len)
{
	return hello_bytes(h->unit, h->key, 16, 3600 * 1000, 1, len);
}

/* 600 KiB of signed bytes: above the 512 KiB envelope limit, below the frame limit. */
static uint8_t *
bad_big_envelope(struct hostile *h, size_t *len)
{
	Cluebus__Envelope env = CLUEBUS__ENVELOPE__INIT;
	size_t n = 600 * 1024;
	uint8_t sig[KEY_SIG_LEN], *big, *buf = NULL;

	if ((big = calloc(1, n)) == NULL)
		return NULL;
	big[0] = 0x0f;
	if (key_sign(h->key, big, n, sig) == 0) {
		env.signed_.data = big;
		env.signed_.len = n;
		env.signature.data = sig;
		env.signature.len = sizeof(sig);
		env.sender = (char *)h->unit;
		env.key_id.data = (uint8_t *)key_id(h->key);
		env.key_id.len = KEY_ID_LEN;
		buf = publish_bytes(&env, NULL, len);
	}
	free(big);
	return buf;
}

static uint8_t *
bad_stale_publish(struct hostile *h, size_t *len)
{
	return clue_publish(h, h->unit, h->key, 1, -20 * 60 * 1000, len);
}

static uint8_t *
bad_future_publish(struct hostile *h, size_t *len)
{
	return clue_publish(h, h->unit, h->key, 1, 20 * 60 * 1000, len);
}

/* A heartbeat followed by 20,000 unknown varint fields. Protobuf says skip unknown fields,
 * but protobuf-c keeps a copy of each (about 35 times the frame in memory), so the broker
 * refuses the frame as expanding beyond its decode budget (lib/unpack.h); a few unknown
 * fields from a newer peer still decode. */
static uint8_t *
bad_unknown_fields(struct hostile *h, size_t *len)
{
	static const uint8_t hb[] = { 0x42, 0x02, 0x08, 0x01 };	/* heartbeat{time_ms=1} */
	size_t n = 20000, total = sizeof(hb) + 3 * n;
	uint8_t *b = malloc(total);

	(void)h;
	if (b == NULL)
		return NULL;
	memcpy(b, hb, sizeof(hb));
	for (size_t i = 0; i < n; i++) {
		/* field 1000 (varint): tag (1000 << 3) = 8000 = 0xc0 0x3e, value 0 */
		b[sizeof(hb) + 3 * i] = 0xc0;
		b[sizeof(hb) + 3 * i + 1] = 0x3e;
		b[sizeof(hb) + 3 * i + 2] = 0x00;
	}
	*len = total;
	return b;
}

static const struct bad_case bad_cases[] = {
	{ "empty", bad_empty, CLUEBUS__FRAME__FRAME_REJECTED },
	{ "junk", bad_junk, CLUEBUS__FRAME__FRAME_REJECTED },
	{ "truncated-publish", bad_truncated, CLUEBUS__FRAME__FRAME_REJECTED },
	{ "length-2^63", bad_huge_length, CLUEBUS__FRAME__FRAME_REJECTED },
	{ "publish-without-envelope", bad_no_envelope, CLUEBUS__FRAME__FRAME_REJECTED },
	{ "empty-envelope", bad_empty_envelope, CLUEBUS__FRAME__FRAME_REJECTED },
	{ "3-byte-signature", bad_short_signature, CLUEBUS__FRAME__FRAME_REJECTED },
	{ "signed-junk", bad_signed_junk, CLUEBUS__FRAME__FRAME_REJECTED },
	{ "signed-header-names-another-unit", bad_header_mismatch,
	    CLUEBUS__FRAME__FRAME_REJECTED },
	{ "forbidden-kind", bad_forbidden_kind, CLUEBUS__FRAME__FRAME_REJECTED },
	{ "welcome-from-agent", bad_welcome_frame, CLUEBUS__FRAME__FRAME_REJECTED },
	{ "accepted-from-agent", bad_accepted_frame, CLUEBUS__FRAME__FRAME_REJECTED },
	{ "deliver-from-agent", bad_deliver_frame, CLUEBUS__FRAME__FRAME_REJECTED },
	{ "hello-5000-byte-unit", bad_long_unit_hello, CLUEBUS__FRAME__FRAME_REJECTED },
	{ "hello-3-byte-nonce", bad_short_nonce_hello, CLUEBUS__FRAME__FRAME_REJECTED },
	{ "hello-1h-ahead", bad_future_hello, CLUEBUS__FRAME__FRAME_REJECTED },
	{ "envelope-600KiB", bad_big_envelope, CLUEBUS__FRAME__FRAME_REJECTED },
	{ "publish-created-20min-ago", bad_stale_publish, CLUEBUS__FRAME__FRAME_REJECTED },
	{ "publish-created-20min-ahead", bad_future_publish, CLUEBUS__FRAME__FRAME_REJECTED },
	{ "20000-unknown-fields", bad_unknown_fields, CLUEBUS__FRAME__FRAME_REJECTED },
};

static int
mode_malformed(struct hostile *h)
{
	size_t ncases = sizeof(bad_cases) / sizeof(bad_cases[0]);
	long sent = 0, as_expected = 0, accepted = 0, unexpected = 0, unanswered = 0;
	void *sock;
	int alive;

	if ((sock = hostile_session(h, 0, NULL)) == NULL)
		return 1;
	for (long round = 0; round < h->count; round++) {
		for (size_t i = 0; i < ncases; i++) {
			Cluebus__Frame *f;
			uint8_t *buf;
			size_t len = 0;
			int rc;

			if ((buf = bad_cases[i].make(h, &len)) == NULL) {
				fprintf(stderr, "hostile: cannot make case %s\n", bad_cases[i].name);
				hostile_close(sock, NULL);
				return 2;
			}
			rc = send_raw(sock, buf, len, 0);
			free(buf);
			if (rc != 0)
				break;
			sent++;
			if (wire_recv(sock, clock_mono_ms() + h->timeout_ms,
			    ANSWERS | BIT(CLUEBUS__FRAME__FRAME_HEARTBEAT), &f, NULL) != 0) {
				fprintf(stderr, "hostile: %s: no answer\n", bad_cases[i].name);
				unanswered++;
				continue;
			}
			if (f->frame_case == CLUEBUS__FRAME__FRAME_ACCEPTED)
				accepted++;
			if ((int)f->frame_case == bad_cases[i].expect) {
				as_expected++;
			} else {
				unexpected++;
				print_reject(bad_cases[i].name, f);
			}
			if (round == 0)
				print_reject(bad_cases[i].name, f);
			wire_free(f);
		}
	}
	alive = hostile_ping(h, sock);
	hostile_close(sock, NULL);
	printf("malformed cases=%zu rounds=%ld sent=%ld as_expected=%ld accepted=%ld "
	    "unexpected=%ld unanswered=%ld answers_after=%d\n", ncases, h->count, sent,
	    as_expected, accepted, unexpected, unanswered, alive);
	return accepted == 0 && unexpected == 0 && unanswered == 0 && alive ? 0 : 1;
}

/* Sends `buf` (freed here) and waits for the answer; counts it as refused (Rejected with
 * `code`, or any Rejected when code < 0), accepted or missing. */
static void
expect_refusal(struct hostile *h, void *sock, const char *what, uint8_t *buf, size_t len,
    int code, long *refused, long *accepted, long *other)
{
	Cluebus__Frame *f;
	int rc;

	if (buf == NULL) {
		(*other)++;
		return;
	}
	rc = send_raw(sock, buf, len, 0);
	free(buf);
	if (rc != 0 || wire_recv(sock, clock_mono_ms() + h->timeout_ms, ANSWERS, &f,
	    NULL) != 0) {
		fprintf(stderr, "hostile: %s: no answer\n", what);
		(*other)++;
		return;
	}
	if (f->frame_case == CLUEBUS__FRAME__FRAME_REJECTED &&
	    (code < 0 || (int)f->rejected->code == code)) {
		(*refused)++;
	} else {
		if (f->frame_case == CLUEBUS__FRAME__FRAME_ACCEPTED)
			(*accepted)++;
		else
			(*other)++;
		print_reject(what, f);
	}
	wire_free(f);
}

static int
mode_impersonate(struct hostile *h)
{
	long refused = 0, accepted = 0, other = 0, tries = 0;
	void *sock;
	int alive;

	if (h->other_unit == NULL || h->other_key == NULL)
		usage();
	if ((sock = hostile_session(h, 0, NULL)) == NULL)
		return 1;
	for (long i = 0; i < h->count; i++) {
		Cluebus__Envelope *env;
		Cluebus__Message *m;
		uint8_t id[MESSAGE_ID_LEN], *buf;
		size_t len;

		/* Hellos naming the other unit, signed with its own key, on our connection. */
		buf = hello_bytes(h->other_unit, h->other_key, 16, 0, 1, &len);
		expect_refusal(h, sock, "hello naming the other unit", buf, len,
		    CLUEBUS__REJECT_CODE__REJECT_SENDER_MISMATCH, &refused, &accepted, &other);
		buf = hello_bytes(h->other_unit, h->other_key, 16, 0, 0, &len);
		expect_refusal(h, sock, "receiving hello naming the other unit", buf, len,
		    CLUEBUS__REJECT_CODE__REJECT_SENDER_MISMATCH, &refused, &accepted, &other);
		/* A publish from the other unit, signed by it. */
		buf = clue_publish(h, h->other_unit, h->other_key, 1, 0, &len);
		expect_refusal(h, sock, "publish from the other unit", buf, len,
		    CLUEBUS__REJECT_CODE__REJECT_SENDER_MISMATCH, &refused, &accepted, &other);
		/* Our publish signed with the other unit's key, carrying its key id. */
		buf = clue_publish(h, h->unit, h->other_key, 1, 0, &len);
		expect_refusal(h, sock, "publish with the other unit's key id", buf, len,
		    CLUEBUS__REJECT_CODE__REJECT_UNKNOWN_KEY, &refused, &accepted, &other);
		/* Our key id, the other unit's signature. */
		buf = NULL;
		if (rand_bytes(id, sizeof(id)) == 0 &&
		    (m = clue_message(h, h->unit, 1, id, 0)) != NULL) {
			if ((env = message_sign(m, h->key)) != NULL &&
			    key_sign(h->other_key, env->signed_.data, env->signed_.len,
			    env->signature.data) == 0)
				buf = publish_bytes(env, id, &len);
			envelope_free(env);
			protobuf_c_message_free_unpacked(&m->base, NULL);
		}
		expect_refusal(h, sock, "publish signed by the other unit", buf, len,
		    CLUEBUS__REJECT_CODE__REJECT_BAD_SIGNATURE, &refused, &accepted, &other);
		tries += 5;
	}
	alive = hostile_ping(h, sock);
	hostile_close(sock, NULL);
	printf("impersonate as=%s claimed=%s frames=%ld refused=%ld accepted=%ld other=%ld "
	    "answers_after=%d\n", h->unit, h->other_unit, tries, refused, accepted, other,
	    alive);
	return refused == tries && alive ? 0 : 1;
}

static int
send_ack(void *sock, uint64_t upto)
{
	Cluebus__Ack a = CLUEBUS__ACK__INIT;
	Cluebus__Frame f = CLUEBUS__FRAME__INIT;

	a.upto_seq = upto;
	f.frame_case = CLUEBUS__FRAME__FRAME_ACK;
	f.ack = &a;
	return send_frame(sock, &f);
}

static int
mode_bogus_ack(struct hostile *h)
{
	static const uint64_t uptos[] = { UINT64_MAX, (uint64_t)1 << 62, 1000000, 1 };
	long before_refused = 0, sent = 0, answered = 0;
	Cluebus__Frame *f;
	void *sock;
	int alive = 1;

	/* 1. An ack before any hello: refused. */
	if ((sock = hostile_socket(h, &h->tk, 0, NULL)) == NULL)
		return 2;
	if (send_ack(sock, UINT64_MAX) == 0 &&
	    wire_recv(sock, clock_mono_ms() + h->timeout_ms, ANSWERS, &f, NULL) == 0) {
		if (f->frame_case == CLUEBUS__FRAME__FRAME_REJECTED &&
		    f->rejected->code == CLUEBUS__REJECT_CODE__REJECT_NOT_AUTHENTICATED)
			before_refused = 1;
		else
			print_reject("ack before hello", f);
		wire_free(f);
	}
	hostile_close(sock, NULL);

	/* 2. Acks up to huge seqs on an authenticated connection (publish-only, or with
	 * --receiving the unit's receiving connection, before anything was delivered). */
	if ((sock = hostile_session(h, h->receiving, NULL)) == NULL)
		return 1;
	for (long i = 0; i < h->count; i++) {
		if (send_ack(sock, uptos[i % 4]) != 0)
			break;
		sent++;
	}
	/* They are answered by nothing; anything that comes back is counted. */
	while (wire_recv(sock, clock_mono_ms() + 500, ANSWERS, &f, NULL) == 0) {
		answered++;
		print_reject("bogus ack", f);
		wire_free(f);
	}
	alive = hostile_ping(h, sock);
	hostile_close(sock, NULL);
	printf("bogus-ack unit=%s connection=%s acks=%ld answered=%ld "
	    "ack_before_hello_refused=%ld answers_after=%d\n", h->unit,
	    h->receiving ? "receiving" : "publish-only", sent, answered, before_refused, alive);
	return before_refused && answered == 0 && alive ? 0 : 1;
}

static int
mode_multipart(struct hostile *h)
{
	long refused = 0, accepted = 0, other = 0;
	void *sock;
	int alive;

	if ((sock = hostile_session(h, 0, NULL)) == NULL)
		return 1;
	for (long i = 0; i < h->count; i++) {
		int parts = 2 + (int)(i % 4), rc = 0;
		Cluebus__Frame *f;
		uint8_t *buf, junk[32];
		size_t len;

		/* The first part is a valid publish; the rest is junk. */
		if ((buf = clue_publish(h, h->unit, h->key, i + 1, 0, &len)) == NULL ||
		    rand_bytes(junk, sizeof(junk)) != 0) {
			free(buf);
			hostile_close(sock, NULL);
			return 2;
		}
		rc = send_raw(sock, buf, len, ZMQ_SNDMORE);
		free(buf);
		for (int p = 1; rc == 0 && p < parts; p++)
			rc = send_raw(sock, junk, (size_t)p * 8, p + 1 < parts ? ZMQ_SNDMORE : 0);
		if (rc != 0 || wire_recv(sock, clock_mono_ms() + h->timeout_ms, ANSWERS, &f,
		    NULL) != 0) {
			other++;
			continue;
		}
		if (f->frame_case == CLUEBUS__FRAME__FRAME_REJECTED &&
		    f->rejected->code == CLUEBUS__REJECT_CODE__REJECT_MALFORMED)
			refused++;
		else if (f->frame_case == CLUEBUS__FRAME__FRAME_ACCEPTED)
			accepted++;
		else
			other++;
		if (f->frame_case != CLUEBUS__FRAME__FRAME_REJECTED || i == 0)
			print_reject("multipart", f);
		wire_free(f);
	}
	alive = hostile_ping(h, sock);
	hostile_close(sock, NULL);
	printf("multipart messages=%ld refused=%ld accepted=%ld other=%ld answers_after=%d\n",
	    h->count, refused, accepted, other, alive);
	return refused == h->count && alive ? 0 : 1;
}

/* A Deliver of about `size` bytes whose recipients are empty strings: one 2-byte field
 * each, so the parser makes size/2 strings. */
static uint8_t *
amplify_bytes(size_t size, size_t *len, size_t *strings)
{
	size_t n = (size - 16) / 2, body = 2 * n, hdr = 0;
	uint8_t *b = malloc(size + 16);

	if (b == NULL)
		return NULL;
	b[hdr++] = 0x32;	/* Frame.deliver: field 6, length-delimited */
	for (size_t v = body; ; v >>= 7) {	/* varint length */
		b[hdr++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
		if (v < 0x80)
			break;
	}
	for (size_t i = 0; i < n; i++) {
		b[hdr + 2 * i] = 0x2a;	/* Deliver.recipients: field 5, length-delimited */
		b[hdr + 2 * i + 1] = 0x00;
	}
	*len = hdr + body;
	*strings = n;
	return b;
}

static int
mode_amplify(struct hostile *h)
{
	long refused = 0, accepted = 0, other = 0;
	size_t len, strings;
	uint8_t *buf;
	void *sock;
	int alive;

	if ((buf = amplify_bytes(h->size, &len, &strings)) == NULL)
		return 2;
	if ((sock = hostile_session(h, 0, NULL)) == NULL) {
		free(buf);
		return 1;
	}
	for (long i = 0; i < h->count; i++)
		expect_refusal(h, sock, "amplify", dupbytes(buf, len), len, -1, &refused,
		    &accepted, &other);
	alive = hostile_ping(h, sock);
	hostile_close(sock, NULL);
	free(buf);
	printf("amplify frames=%ld bytes=%zu strings_each=%zu refused=%ld accepted=%ld "
	    "other=%ld answers_after=%d\n", h->count, len, strings, refused, accepted, other,
	    alive);
	return refused == h->count && alive ? 0 : 1;
}

static int
mode_noread(struct hostile *h)
{
	Cluebus__Heartbeat hb = CLUEBUS__HEARTBEAT__INIT;
	Cluebus__Frame f = CLUEBUS__FRAME__INIT;
	int64_t start, end, last_hb = 0;
	long heartbeats = 0;
	uint8_t *buf;
	size_t len;
	void *sock;
	int rc;

	if ((sock = hostile_socket(h, &h->tk, 1, NULL)) == NULL)
		return 2;
	if ((rc = hostile_hello(h, sock, h->unit, h->key, !h->receiving)) != 0) {
		fprintf(stderr, "hostile: noread: hello: %s\n",
		    rc > 0 ? wire_reject_name(rc) : cb_strerror(rc));
		hostile_close(sock, NULL);
		return 1;
	}
	fprintf(stderr, "hostile: noread: welcomed as %s (%s); not reading from now on\n",
	    h->unit, h->receiving ? "receiving" : "publish-only");
	start = clock_mono_ms();
	end = start + h->duration_ms;
	f.frame_case = CLUEBUS__FRAME__FRAME_HEARTBEAT;
	f.heartbeat = &hb;
	while (!stop_requested && clock_mono_ms() < end) {
		if (h->heartbeat && clock_mono_ms() - last_hb >= 1000) {
			hb.time_ms = clock_now_ms();
			if ((buf = frame_pack(&f, &len)) != NULL) {
				if (send_raw(sock, buf, len, ZMQ_DONTWAIT) == 0)
					heartbeats++;
				free(buf);
			}
			last_hb = clock_mono_ms();
		}
		usleep(100 * 1000);
	}
	hostile_close(sock, NULL);
	printf("noread unit=%s connection=%s secs=%.1f heartbeats=%ld\n", h->unit,
	    h->receiving ? "receiving" : "publish-only", (clock_mono_ms() - start) / 1000.0,
	    heartbeats);
	return 0;
}

/* Whether a heartbeat on `sock` is refused as not authenticated: its session gave way. */
static int
hostile_forgotten(struct hostile *h, void *sock)
{
	Cluebus__Heartbeat hb = CLUEBUS__HEARTBEAT__INIT;
	Cluebus__Frame f = CLUEBUS__FRAME__INIT, *reply;
	int forgotten;

	hb.time_ms = clock_now_ms();
	f.frame_case = CLUEBUS__FRAME__FRAME_HEARTBEAT;
	f.heartbeat = &hb;
	if (send_frame(sock, &f) != 0 || wire_recv(sock, clock_mono_ms() + h->timeout_ms,
	    BIT(CLUEBUS__FRAME__FRAME_HEARTBEAT) | BIT(CLUEBUS__FRAME__FRAME_REJECTED), &reply,
	    NULL) != 0)
		return 0;
	forgotten = reply->frame_case == CLUEBUS__FRAME__FRAME_REJECTED &&
	    reply->rejected->code == CLUEBUS__REJECT_CODE__REJECT_NOT_AUTHENTICATED;
	wire_free(reply);
	return forgotten;
}

/* The broker's per-unit cap (SESSIONS_PER_UNIT in broker/broker.h). */
#define UNIT_SESSIONS	16

/* A unit holds at most UNIT_SESSIONS sessions: UNIT_SESSIONS + 1 more connections, welcomed
 * one after the other (a few ms apart: the broker evicts the longest-silent), push out every
 * older one and then the first of them, while the last is served. Returns 1 when so. */
static int
mode_sessions_capped(struct hostile *h)
{
	void *seq[UNIT_SESSIONS + 1] = { NULL };
	int ok = 1;

	for (int i = 0; i <= UNIT_SESSIONS && ok; i++) {
		ok = (seq[i] = hostile_session(h, 0, NULL)) != NULL;
		usleep(5 * 1000);
	}
	ok = ok && hostile_forgotten(h, seq[0]) && hostile_ping(h, seq[UNIT_SESSIONS]);
	for (int i = 0; i <= UNIT_SESSIONS; i++)
		if (seq[i] != NULL)
			hostile_close(seq[i], NULL);
	return ok;
}

static int
mode_sessions(struct hostile *h)
{
	long welcomed = 0, refused = 0, silent = 0, opened = 0;
	int64_t end;
	void **socks, *sock;
	int alive = 0, capped = 1;

	if ((socks = calloc((size_t)h->count, sizeof(*socks))) == NULL ||
	    zmq_ctx_set(h->zctx, ZMQ_MAX_SOCKETS, (int)h->count + 64) != 0) {
		free(socks);
		return 2;
	}
	/* Every connection says hello at once; the answers are collected afterwards. */
	for (; opened < h->count; opened++) {
		uint8_t *buf;
		size_t len;
		int rc;

		if ((socks[opened] = hostile_socket(h, &h->tk, 0, NULL)) == NULL ||
		    (buf = hello_bytes(h->unit, h->key, 16, 0, 1, &len)) == NULL)
			break;
		rc = send_raw(socks[opened], buf, len, 0);
		free(buf);
		if (rc != 0)
			break;
	}
	end = clock_mono_ms() + h->timeout_ms;
	for (long i = 0; i < opened; i++) {
		Cluebus__Frame *f;

		if (socks[i] == NULL || wire_recv(socks[i], end, ANSWERS, &f, NULL) != 0) {
			silent++;
			continue;
		}
		if (f->frame_case == CLUEBUS__FRAME__FRAME_WELCOME)
			welcomed++;
		else
			refused++;
		wire_free(f);
	}
	/* Hold them, silent, then see that a fresh connection is still served. */
	end = clock_mono_ms() + h->duration_ms;
	while (!stop_requested && clock_mono_ms() < end)
		usleep(100 * 1000);
	capped = mode_sessions_capped(h);
	if ((sock = hostile_session(h, 0, NULL)) != NULL) {
		alive = hostile_ping(h, sock);
		hostile_close(sock, NULL);
	}
	for (long i = 0; i < h->count; i++)
		if (socks[i] != NULL)
			hostile_close(socks[i], NULL);
	free(socks);
	printf("sessions connections=%ld welcomed=%ld refused=%ld no_answer=%ld "
	    "oldest_forgotten_newest_served=%d answers_after=%d\n", opened, welcomed, refused,
	    silent, capped, alive);
	return opened == h->count && alive && capped ? 0 : 1;
}

/* ---- burst: a fast, well-behaved bulk publisher ---- */

struct burst_item {
	uint8_t		*frame;
	size_t		 len;
	uint8_t		 id[MESSAGE_ID_LEN];
	int		 state;		/* 0 waiting, 1 in flight, 2 accepted, 3 refused */
	int64_t		 sent_ms;	/* monotonic; retry time when waiting after a refusal */
	uint64_t	 seq;
	int		 duplicate;
};

/* The item a message id names: the id's last 4 bytes are its index. */
static struct burst_item *
burst_find(struct burst_item *items, long count, const ProtobufCBinaryData *id)
{
	uint32_t i;

	if (id->len != MESSAGE_ID_LEN)
		return NULL;
	i = (uint32_t)id->data[12] << 24 | (uint32_t)id->data[13] << 16 |
	    (uint32_t)id->data[14] << 8 | id->data[15];
	if (i >= (uint32_t)count || memcmp(items[i].id, id->data, MESSAGE_ID_LEN) != 0)
		return NULL;
	return &items[i];
}

static int
burst_build(struct hostile *h, struct burst_item *it, long i)
{
	Cluebus__Envelope *env;
	Cluebus__Message *m;

	if (rand_bytes(it->id, 12) != 0)
		return -1;
	it->id[12] = (uint8_t)(i >> 24);
	it->id[13] = (uint8_t)(i >> 16);
	it->id[14] = (uint8_t)(i >> 8);
	it->id[15] = (uint8_t)i;
	if ((m = clue_message(h, h->unit, i + 1, it->id, 0)) == NULL)
		return -1;
	if ((env = message_sign(m, h->key)) != NULL)
		it->frame = publish_bytes(env, it->id, &it->len);
	envelope_free(env);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	return it->frame != NULL ? 0 : -1;
}

static int
mode_burst(struct hostile *h)
{
	struct burst_item *items;
	long done = 0, accepted = 0, duplicates = 0, refused = 0, retries = 0, next = 0;
	unsigned inflight = 0;
	int64_t start = clock_mono_ms(), deadline = start + h->duration_ms, hello_ms = 0;
	void *sock;
	FILE *ids = NULL;
	int rc = 1;

	if ((items = calloc((size_t)h->count, sizeof(*items))) == NULL)
		return 2;
	if ((sock = hostile_session(h, 0, NULL)) == NULL) {
		free(items);
		return 1;
	}
	while (!stop_requested && done < h->count && clock_mono_ms() < deadline) {
		int64_t now = clock_mono_ms();
		Cluebus__Frame *f;

		/* Resend what waited long enough, then take new ones into the window. */
		for (long i = 0; i < next; i++) {
			struct burst_item *it = &items[i];

			if ((it->state == 1 && now - it->sent_ms >= 5000) ||
			    (it->state == 0 && now >= it->sent_ms)) {
				if (it->state == 0)
					inflight++;
				it->state = 1;
				it->sent_ms = now;
				retries++;
				if (send_raw(sock, it->frame, it->len, 0) != 0)
					goto out;
			}
		}
		while (next < h->count && inflight < h->window) {
			struct burst_item *it = &items[next];

			if (burst_build(h, it, next) != 0) {
				rc = 2;
				goto out;
			}
			it->state = 1;
			it->sent_ms = now;
			inflight++;
			next++;
			if (send_raw(sock, it->frame, it->len, 0) != 0)
				goto out;
		}
		if (wire_recv(sock, now + 200, ANSWERS, &f, NULL) != 0)
			continue;
		do {
			struct burst_item *it = NULL;

			if (f->frame_case == CLUEBUS__FRAME__FRAME_ACCEPTED)
				it = burst_find(items, h->count, &f->accepted->message_id);
			else if (f->frame_case == CLUEBUS__FRAME__FRAME_REJECTED)
				it = burst_find(items, h->count, &f->rejected->message_id);
			if (f->frame_case == CLUEBUS__FRAME__FRAME_REJECTED &&
			    (f->rejected->code == CLUEBUS__REJECT_CODE__REJECT_NOT_AUTHENTICATED ||
			    f->rejected->code == CLUEBUS__REJECT_CODE__REJECT_UNAVAILABLE)) {
				/* The session is gone (broker restart) or the store is: say hello
				 * again if needed, and retry this one in a second. */
				if (f->rejected->code ==
				    CLUEBUS__REJECT_CODE__REJECT_NOT_AUTHENTICATED &&
				    clock_mono_ms() - hello_ms >= 1000) {
					(void)hostile_hello(h, sock, h->unit, h->key, 1);
					hello_ms = clock_mono_ms();
				}
				if (it != NULL && it->state == 1) {
					it->state = 0;
					it->sent_ms = clock_mono_ms() + 1000;
					inflight--;
				}
			} else if (it != NULL && it->state == 1) {
				inflight--;
				done++;
				if (f->frame_case == CLUEBUS__FRAME__FRAME_ACCEPTED) {
					it->state = 2;
					it->seq = f->accepted->seq;
					it->duplicate = f->accepted->duplicate;
					accepted++;
					duplicates += it->duplicate;
				} else {
					it->state = 3;
					refused++;
					print_reject("burst", f);
				}
			}
			wire_free(f);
		} while (wire_recv(sock, clock_mono_ms(), ANSWERS, &f, NULL) == 0);
	}
	rc = accepted == h->count ? 0 : 1;
out:
	if (h->ids_path != NULL && (ids = fopen(h->ids_path, "w")) != NULL) {
		for (long i = 0; i < h->count; i++) {
			char hex[CB_MESSAGE_ID_HEX_SIZE];

			if (items[i].state != 2)
				continue;
			hex_encode(items[i].id, MESSAGE_ID_LEN, hex);
			fprintf(ids, "%ld %" PRIu64 " %s\n", i + 1, items[i].seq, hex);
		}
		if (fclose(ids) != 0)
			rc = 2;
	}
	{
		double secs = (clock_mono_ms() - start) / 1000.0;

		printf("burst unit=%s count=%ld accepted=%ld duplicates=%ld refused=%ld "
		    "resent=%ld secs=%.1f rate=%.0f\n", h->unit, h->count, accepted, duplicates,
		    refused, retries, secs, secs > 0 ? accepted / secs : 0.0);
	}
	for (long i = 0; i < h->count; i++)
		free(items[i].frame);
	free(items);
	hostile_close(sock, NULL);
	return rc;
}

static int
load_key(const char *path, cb_key_t **out)
{
	int rc;

	if ((rc = key_load_private(path, out)) != 0)
		fprintf(stderr, "hostile: key %s: %s\n", path, cb_strerror(rc));
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "endpoint", required_argument, NULL, 'e' },
		{ "key", required_argument, NULL, 'k' },
		{ "mode", required_argument, NULL, 'm' },
		{ "other-unit", required_argument, NULL, 'U' },
		{ "other-key", required_argument, NULL, 'K' },
		{ "count", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "duration-ms", required_argument, NULL, 'd' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "window", required_argument, NULL, 'w' },
		{ "receiving", no_argument, NULL, 'r' },
		{ "heartbeat", no_argument, NULL, 'H' },
		{ "read", no_argument, NULL, 'R' },
		{ "category", required_argument, NULL, 'C' },
		{ "jurisdiction", required_argument, NULL, 'J' },
		{ "prefix", required_argument, NULL, 'P' },
		{ "ids", required_argument, NULL, 'I' },
		{ NULL, 0, NULL, 0 },
	};
	struct hostile h;
	struct sigaction sa;
	const char *mode = NULL, *slash, *dot;
	char unit[64];
	int ch, rc, found = 0;

	memset(&h, 0, sizeof(h));
	h.count = 1;
	h.timeout_ms = 10000;
	h.duration_ms = -1;
	h.window = 256;
	h.category = "medical";
	h.jurisdiction = "210302";
	h.prefix = "clue";
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'e': h.endpoint = optarg; break;
		case 'k': h.key_path = optarg; break;
		case 'm': mode = optarg; break;
		case 'U': h.other_unit = optarg; break;
		case 'K': h.other_key_path = optarg; break;
		case 'n': h.count = atol(optarg); break;
		case 's': h.size = (size_t)atol(optarg); break;
		case 'd': h.duration_ms = atol(optarg); break;
		case 't': h.timeout_ms = atoi(optarg); break;
		case 'w': h.window = (unsigned)atoi(optarg); break;
		case 'r': h.receiving = 1; break;
		case 'H': h.heartbeat = 1; break;
		case 'R': h.read_answers = 1; break;
		case 'C': h.category = optarg; break;
		case 'J': h.jurisdiction = optarg; break;
		case 'P': h.prefix = optarg; break;
		case 'I': h.ids_path = optarg; break;
		default: usage();
		}
	}
	if (optind != argc || h.endpoint == NULL || h.key_path == NULL || mode == NULL ||
	    h.count <= 0 || h.count > 10000000 || h.timeout_ms <= 0 || h.window == 0)
		usage();
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(modes[i].name, mode) == 0) {
			h.mode = modes[i].mode;
			found = 1;
		}
	if (!found)
		usage();
	/* The unit is the key file's name: DIR/UNIT.key. */
	slash = strrchr(h.key_path, '/');
	slash = slash != NULL ? slash + 1 : h.key_path;
	dot = strrchr(slash, '.');
	if (dot == NULL || (size_t)(dot - slash) >= sizeof(unit))
		usage();
	snprintf(unit, sizeof(unit), "%.*s", (int)(dot - slash), slash);
	h.unit = unit;
	if (h.size == 0)
		h.size = h.mode == M_OVERSIZE ? 2 * 1024 * 1024 + 1 :
		    h.mode == M_AMPLIFY ? 1024 * 1024 - 64 : 100;
	if (h.size < 2 || h.size > 64 * 1024 * 1024)
		usage();
	if (h.duration_ms < 0)
		h.duration_ms = h.mode == M_BURST ? 600000 : 10000;
	if (load_key(h.key_path, &h.key) != 0 ||
	    (h.other_key_path != NULL && load_key(h.other_key_path, &h.other_key) != 0) ||
	    hostile_curve_keys(&h) != 0) {
		OPENSSL_cleanse(&h.tk, sizeof(h.tk));
		key_free(h.key);
		key_free(h.other_key);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if ((h.zctx = zmq_ctx_new()) == NULL)
		return 2;
	switch (h.mode) {
	case M_UNREGISTERED: rc = mode_unregistered(&h); break;
	case M_OVERSIZE: rc = mode_oversize(&h); break;
	case M_FLOOD: rc = mode_flood(&h); break;
	case M_MALFORMED: rc = mode_malformed(&h); break;
	case M_IMPERSONATE: rc = mode_impersonate(&h); break;
	case M_BOGUS_ACK: rc = mode_bogus_ack(&h); break;
	case M_MULTIPART: rc = mode_multipart(&h); break;
	case M_AMPLIFY: rc = mode_amplify(&h); break;
	case M_NOREAD: rc = mode_noread(&h); break;
	case M_BURST: rc = mode_burst(&h); break;
	case M_SESSIONS: rc = mode_sessions(&h); break;
	default: rc = 2; break;
	}
	fflush(stdout);
	zmq_ctx_term(h.zctx);
	OPENSSL_cleanse(&h.tk, sizeof(h.tk));
	key_free(h.other_key);
	key_free(h.key);
	return rc;
}

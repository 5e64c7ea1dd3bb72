/* broker/zap.c — the ZAP handler (ZeroMQ RFC 27): who may connect at all.
 *
 * With CURVE on the broker's socket, libzmq asks this handler about every handshake: it
 * admits a client key only when it is the current transport key of a registered, unrevoked
 * unit, and names that unit as the connection's User-Id, which frontend.c then binds every
 * frame of the connection to. An unknown or revoked key never gets past the handshake, so
 * nothing it could send reaches the pipeline or the log. The handler runs in the broker's
 * one thread: requests wait at most one round. */
#include <errno.h>
#include <string.h>

#include <zmq.h>

#include "broker.h"
#include "log.h"
#include "transport.h"
#include "util.h"

#define ZAP_ENDPOINT	"inproc://zeromq.zap.01"
#define ZAP_FRAMES	7	/* version, id, domain, address, identity, mechanism, key */

int
zap_open(struct broker *b)
{
	int linger = 0;

	if ((b->zap = zmq_socket(b->zctx, ZMQ_REP)) == NULL ||
	    zmq_setsockopt(b->zap, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_bind(b->zap, ZAP_ENDPOINT) != 0) {
		log_warnx("zap: %s", zmq_strerror(errno));
		return CB_EIO;
	}
	return 0;
}

void
zap_close(struct broker *b)
{
	if (b->zap != NULL)
		zmq_close(b->zap);
	b->zap = NULL;
}

static void
zap_reply(void *sock, const zmq_msg_t *request_id, const char *status, const char *text,
    const char *user)
{
	zmq_msg_t id;

	zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
	zmq_msg_init(&id);
	zmq_msg_copy(&id, (zmq_msg_t *)request_id);
	zmq_msg_send(&id, sock, ZMQ_SNDMORE);
	zmq_send(sock, status, strlen(status), ZMQ_SNDMORE);
	zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
	zmq_send(sock, user, strlen(user), ZMQ_SNDMORE);
	zmq_send(sock, "", 0, 0);
}

/* Answers one request whose frames are in `f` (n of them). */
static void
zap_answer(struct broker *b, zmq_msg_t *f, int n)
{
	const char *unit = NULL;
	char z85[TRANSPORT_Z85_LEN + 1] = "?", addr[64];

	if (n == ZAP_FRAMES && zmq_msg_size(&f[0]) == 3 &&
	    memcmp(zmq_msg_data(&f[0]), "1.0", 3) == 0 && zmq_msg_size(&f[5]) == 5 &&
	    memcmp(zmq_msg_data(&f[5]), "CURVE", 5) == 0 &&
	    zmq_msg_size(&f[6]) == TRANSPORT_KEY_LEN)
		unit = registry_transport_unit(b->reg, zmq_msg_data(&f[6]), broker_clock_ms());
	if (unit != NULL) {
		zap_reply(b->zap, &f[1], "200", "OK", unit);
		return;
	}
	if (n == ZAP_FRAMES && zmq_msg_size(&f[6]) == TRANSPORT_KEY_LEN &&
	    transport_z85_encode(zmq_msg_data(&f[6]), TRANSPORT_KEY_LEN, z85) != 0)
		z85[0] = '?', z85[1] = '\0';
	str_sanitize(n >= 4 ? zmq_msg_data(&f[3]) : "", n >= 4 ? zmq_msg_size(&f[3]) : 0, addr,
	    sizeof(addr));
	log_warnx("refused a connection from %s: transport key %s is not a registered, "
	    "unrevoked unit's", addr, z85);
	b->count.refused_keys++;
	zap_reply(b->zap, n >= 2 ? &f[1] : &f[0], "400", "unknown or revoked transport key", "");
}

void
zap_handle(struct broker *b)
{
	for (;;) {
		zmq_msg_t f[ZAP_FRAMES + 1];
		int n = 0, more = 1;

		while (more) {
			zmq_msg_t part;

			zmq_msg_init(&part);
			if (zmq_msg_recv(&part, b->zap, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
				zmq_msg_close(&part);
				if (n == 0)
					return;	/* no request waiting */
				break;
			}
			more = zmq_msg_more(&part);
			if (n < ZAP_FRAMES + 1)
				f[n++] = part;	/* keep it; closed below */
			else
				zmq_msg_close(&part);
		}
		zap_answer(b, f, n);
		for (int i = 0; i < n; i++)
			zmq_msg_close(&f[i]);
	}
}

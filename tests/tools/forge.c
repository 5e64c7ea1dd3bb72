/* tests/tools/forge.c — a hostile agent for the integration tests: one publish, forged.
 *
 *   forge --endpoint E --unit U --key K [--other-unit U2 --other-key K2] --mode M
 *         [--clue FILE] [--timeout-ms N]
 *
 * Connects a DEALER to the broker, says a correctly signed, publish-only Hello as U
 * (except in mode no-hello), waits for the Welcome, sends ONE publish built as the mode says, and prints
 * the broker's answer as one line: "accepted SEQ" or "rejected CODE_NAME: reason"
 * (CODE_NAME is the RejectCode of the proto in lower case without its prefix, e.g.
 * "bad_signature"). Modes:
 *
 *   valid            the clue of FILE, signed by U with K: what an honest agent sends
 *   duplicate        the same valid publish sent twice; prints one line per answer, the
 *                    second with " duplicate" appended when the broker flagged it
 *   tamper           signed correctly, then one byte of the signed bytes flipped
 *   wrong-key        sender U and U's key id, but signed with K2 (another unit's key)
 *   foreign-key-id   sender U, signed with K2 and carrying K2's key id
 *   sender-mismatch  Hello as U, envelope from U2 signed with K2
 *   garbage          a frame of random bytes that is not a protobuf Frame
 *   no-hello         the valid publish, without saying Hello first
 *
 * The message id of the publish goes to stderr as "forge: message id HEX".
 * Exit: 0 when every expected answer came; 1 when none came before the deadline or the
 * Hello was refused (printed as "hello rejected CODE_NAME: reason"); 2 on a usage or local
 * error. Deliveries and heartbeats the broker sends meanwhile are ignored. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "envelope.h"
#include "intake.h"
#include "keys.h"
#include "transport.h"
#include "util.h"
#include "wire.h"

enum mode {
	M_VALID, M_DUPLICATE, M_TAMPER, M_WRONG_KEY, M_FOREIGN_KEY_ID, M_SENDER_MISMATCH,
	M_GARBAGE, M_NO_HELLO, M_STALE, M_FUTURE,
};

static const struct {
	const char	*name;
	enum mode	 mode;
} modes[] = {
	{ "valid", M_VALID }, { "duplicate", M_DUPLICATE }, { "tamper", M_TAMPER },
	{ "wrong-key", M_WRONG_KEY }, { "foreign-key-id", M_FOREIGN_KEY_ID },
	{ "sender-mismatch", M_SENDER_MISMATCH }, { "garbage", M_GARBAGE },
	{ "no-hello", M_NO_HELLO }, { "stale", M_STALE }, { "future", M_FUTURE },
};

struct forge {
	const char	*endpoint, *unit, *key_path, *other_unit, *other_key_path, *clue_path;
	enum mode	 mode;
	int		 timeout_ms;
	cb_key_t	*key, *other_key;
	void		*zctx, *sock;
};

static void
usage(void)
{
	fprintf(stderr, "usage: forge --endpoint E --unit U --key K [--other-unit U2 "
	    "--other-key K2]\n"
	    "             --mode valid|duplicate|tamper|wrong-key|foreign-key-id|"
	    "sender-mismatch|garbage|no-hello|stale|future\n"
	    "             [--clue FILE] [--timeout-ms N]\n");
	exit(2);
}

/* "REJECT_BAD_SIGNATURE" -> "bad_signature", from the proto's own enum descriptor. */
static void
reject_code_name(int code, char *out, size_t outlen)
{
	const ProtobufCEnumValue *v =
	    protobuf_c_enum_descriptor_get_value(&cluebus__reject_code__descriptor, code);
	const char *name = v != NULL ? v->name : "UNKNOWN";
	size_t i;

	if (strncmp(name, "REJECT_", 7) == 0)
		name += 7;
	for (i = 0; name[i] != '\0' && i + 1 < outlen; i++)
		out[i] = (char)tolower((unsigned char)name[i]);
	out[i] = '\0';
}

static void
print_rejected(const char *prefix, const Cluebus__Rejected *r)
{
	char name[64], safe[600];

	reject_code_name(r->code, name, sizeof(name));
	str_sanitize(r->reason, strnlen(r->reason, 512), safe, sizeof(safe));
	printf("%s%s: %s\n", prefix, name, safe);
	fflush(stdout);
}

static int
forge_hello(struct forge *fg, int64_t deadline)
{
	Cluebus__Frame f = CLUEBUS__FRAME__INIT, *reply = NULL;
	struct wire_hello wh;
	int rc;

	/* Publish only: the unit's agent, if it runs, keeps its deliveries. */
	if ((rc = wire_hello_sign(&wh, fg->unit, fg->key, clock_now_ms(), 16, 1)) != 0)
		return rc;
	f.frame_case = CLUEBUS__FRAME__FRAME_HELLO;
	f.hello = &wh.hello;
	if ((rc = wire_send(fg->sock, NULL, 0, &f)) != 0)
		return rc;
	if ((rc = wire_recv(fg->sock, deadline, WIRE_ANSWERS, &reply, NULL)) != 0) {
		printf("no answer to hello\n");
		return rc;
	}
	if (reply->frame_case != CLUEBUS__FRAME__FRAME_WELCOME) {
		if (reply->frame_case == CLUEBUS__FRAME__FRAME_REJECTED)
			print_rejected("hello rejected ", reply->rejected);
		else
			printf("hello answered by an unexpected frame\n");
		wire_free(reply);
		return CB_EBADSIG;
	}
	wire_free(reply);
	return 0;
}

/* Builds the envelope the mode asks for and writes its message id to `id`. Returns 0
 * with *out (envelope_free), or 2. */
static int
forge_envelope(struct forge *fg, Cluebus__Envelope **out, uint8_t id[MESSAGE_ID_LEN])
{
	const cb_key_t *signer = fg->key;
	const char *sender = fg->unit;
	Cluebus__Envelope *env = NULL;
	Cluebus__Message *m = NULL;
	cb_error_t err;
	size_t len;
	char *json = NULL;
	int rc;

	if (fg->clue_path == NULL) {
		fprintf(stderr, "forge: mode needs --clue FILE\n");
		return 2;
	}
	if ((rc = file_read_all(fg->clue_path, INTAKE_MAX_DOC, &json, &len)) != 0) {
		fprintf(stderr, "forge: %s: %s\n", fg->clue_path, cb_strerror(rc));
		return 2;
	}
	rc = intake_from_json(json, len, &m, &err);
	free(json);
	if (rc != 0) {
		fprintf(stderr, "forge: %s: %s: %s\n", fg->clue_path, err.field, err.reason);
		return 2;
	}
	if (m->message_id.len == 0) {
		if ((m->message_id.data = malloc(MESSAGE_ID_LEN)) == NULL ||
		    rand_bytes(m->message_id.data, MESSAGE_ID_LEN) != 0)
			goto fail;
		m->message_id.len = MESSAGE_ID_LEN;
	}
	if (fg->mode == M_SENDER_MISMATCH) {
		sender = fg->other_unit;
		signer = fg->other_key;
	} else if (fg->mode == M_FOREIGN_KEY_ID) {
		signer = fg->other_key;
	}
	if ((m->sender = strdup(sender)) == NULL)
		goto fail;
	m->created_ms = clock_now_ms();
	/* stale/future: signed correctly, created 20 minutes off (outside the default
	 * 10-minute replay window). */
	if (fg->mode == M_STALE)
		m->created_ms -= 20 * 60 * 1000;
	else if (fg->mode == M_FUTURE)
		m->created_ms += 20 * 60 * 1000;
	if (envelope_sign(m, signer, &env) != 0)
		goto fail;
	m->key_id.data = NULL;	/* borrowed from env */
	m->key_id.len = 0;
	/* wrong-key: the bytes claim U's key id; the signature over them is K2's. */
	if (fg->mode == M_WRONG_KEY && key_sign(fg->other_key, env->signed_.data,
	    env->signed_.len, env->signature.data) != 0)
		goto fail;
	if (fg->mode == M_TAMPER)
		env->signed_.data[env->signed_.len / 2] ^= 0x01;
	memcpy(id, m->message_id.data, MESSAGE_ID_LEN);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	*out = env;
	return 0;
fail:
	fprintf(stderr, "forge: cannot build the envelope\n");
	envelope_free(env);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	return 2;
}

/* Sends the publish with the unsigned message id hint an honest agent would send. */
static int
forge_send_publish(struct forge *fg, const Cluebus__Envelope *env, const uint8_t id[MESSAGE_ID_LEN])
{
	Cluebus__Publish p = CLUEBUS__PUBLISH__INIT;
	Cluebus__Frame f = CLUEBUS__FRAME__INIT;
	int rc;

	p.envelope = (Cluebus__Envelope *)env;
	p.message_id.data = (uint8_t *)id;
	p.message_id.len = MESSAGE_ID_LEN;
	f.frame_case = CLUEBUS__FRAME__FRAME_PUBLISH;
	f.publish = &p;
	if ((rc = wire_send(fg->sock, NULL, 0, &f)) != 0)
		fprintf(stderr, "forge: send: %s\n", cb_strerror(rc));
	return rc;
}

static int
forge_send_garbage(struct forge *fg)
{
	uint8_t junk[200];

	if (rand_bytes(junk, sizeof(junk)) != 0)
		return CB_ECRYPTO;
	/* Field 1 with wire type 7, which does not exist: no protobuf parser accepts it. */
	junk[0] = 0x0f;
	if (zmq_send(fg->sock, junk, sizeof(junk), ZMQ_DONTWAIT) < 0) {
		fprintf(stderr, "forge: send: %s\n", zmq_strerror(errno));
		return CB_EIO;
	}
	return 0;
}

/* Prints the answer to one publish. Returns 0 or CB_ETIMEOUT. */
static int
forge_answer(struct forge *fg, int64_t deadline)
{
	Cluebus__Frame *f = NULL;

	for (;;) {
		if (wire_recv(fg->sock, deadline, WIRE_ANSWERS, &f, NULL) != 0) {
			printf("no answer\n");
			return CB_ETIMEOUT;
		}
		if (f->frame_case != CLUEBUS__FRAME__FRAME_WELCOME)
			break;
		wire_free(f);
	}
	if (f->frame_case == CLUEBUS__FRAME__FRAME_ACCEPTED)
		printf("accepted %llu%s\n", (unsigned long long)f->accepted->seq,
		    f->accepted->duplicate ? " duplicate" : "");
	else
		print_rejected("rejected ", f->rejected);
	fflush(stdout);
	wire_free(f);
	return 0;
}

/* The CURVE keys that go with --key DIR/UNIT.key: DIR/UNIT.curve, and the broker's public
 * key DIR/broker.curve.pub (the layout cluebus-keygen writes). */
static int
forge_curve_keys(const struct forge *fg, transport_keypair_t *tk,
    char server[TRANSPORT_Z85_LEN + 1])
{
	char path[4096 + 32], dir[4096];
	const char *slash = strrchr(fg->key_path, '/');
	size_t n = strlen(fg->key_path);

	if (n < 4 || strcmp(fg->key_path + n - 4, ".key") != 0) {
		fprintf(stderr, "forge: --key must name DIR/UNIT.key\n");
		return -1;
	}
	snprintf(path, sizeof(path), "%.*s.curve", (int)(n - 4), fg->key_path);
	snprintf(dir, sizeof(dir), "%.*s", slash != NULL ? (int)(slash - fg->key_path) : 1,
	    slash != NULL ? fg->key_path : ".");
	if (transport_load_secret(path, tk) != 0) {
		fprintf(stderr, "forge: cannot load %s\n", path);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/broker.curve.pub", dir);
	if (transport_load_public(path, server) != 0) {
		fprintf(stderr, "forge: cannot load %s\n", path);
		return -1;
	}
	return 0;
}

static int
forge_run(struct forge *fg)
{
	transport_keypair_t tk;
	char server[TRANSPORT_Z85_LEN + 1];
	Cluebus__Envelope *env = NULL;
	int64_t deadline = clock_mono_ms() + fg->timeout_ms;
	uint8_t id[MESSAGE_ID_LEN];
	char idhex[CB_MESSAGE_ID_HEX_SIZE];
	int linger = 0, rc, sends;

	if (fg->mode != M_GARBAGE) {
		if ((rc = forge_envelope(fg, &env, id)) != 0)
			return rc;
		hex_encode(id, sizeof(id), idhex);
		fprintf(stderr, "forge: message id %s\n", idhex);
	}
	if (forge_curve_keys(fg, &tk, server) != 0) {
		envelope_free(env);
		return 2;
	}
	if ((fg->zctx = zmq_ctx_new()) == NULL ||
	    (fg->sock = zmq_socket(fg->zctx, ZMQ_DEALER)) == NULL ||
	    zmq_setsockopt(fg->sock, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_setsockopt(fg->sock, ZMQ_CURVE_SERVERKEY, server, TRANSPORT_Z85_LEN) != 0 ||
	    zmq_setsockopt(fg->sock, ZMQ_CURVE_PUBLICKEY, tk.public_z85, TRANSPORT_Z85_LEN) ||
	    zmq_setsockopt(fg->sock, ZMQ_CURVE_SECRETKEY, tk.secret_z85, TRANSPORT_Z85_LEN) ||
	    zmq_connect(fg->sock, fg->endpoint) != 0) {
		fprintf(stderr, "forge: connect %s: %s\n", fg->endpoint, zmq_strerror(errno));
		envelope_free(env);
		return 2;
	}
	if (fg->mode != M_NO_HELLO && (rc = forge_hello(fg, deadline)) != 0) {
		envelope_free(env);
		return 1;
	}
	sends = fg->mode == M_DUPLICATE ? 2 : 1;
	for (int i = 0; i < sends; i++) {
		rc = fg->mode == M_GARBAGE ? forge_send_garbage(fg) :
		    forge_send_publish(fg, env, id);
		/* One at a time, so the answers come in order. */
		if (rc != 0 || (rc = forge_answer(fg, deadline)) != 0)
			break;
	}
	envelope_free(env);
	return rc == 0 ? 0 : 1;
}

static int
load_key(const char *path, cb_key_t **out)
{
	int rc;

	if ((rc = key_load_private(path, out)) != 0)
		fprintf(stderr, "forge: key %s: %s\n", path, cb_strerror(rc));
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "endpoint", required_argument, NULL, 'e' },
		{ "unit", required_argument, NULL, 'u' },
		{ "key", required_argument, NULL, 'k' },
		{ "other-unit", required_argument, NULL, 'U' },
		{ "other-key", required_argument, NULL, 'K' },
		{ "mode", required_argument, NULL, 'm' },
		{ "clue", required_argument, NULL, 'c' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct forge fg;
	const char *mode = NULL;
	int ch, rc, found = 0;

	memset(&fg, 0, sizeof(fg));
	fg.timeout_ms = 20000;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'e': fg.endpoint = optarg; break;
		case 'u': fg.unit = optarg; break;
		case 'k': fg.key_path = optarg; break;
		case 'U': fg.other_unit = optarg; break;
		case 'K': fg.other_key_path = optarg; break;
		case 'm': mode = optarg; break;
		case 'c': fg.clue_path = optarg; break;
		case 't': fg.timeout_ms = atoi(optarg); break;
		default: usage();
		}
	}
	if (optind != argc || fg.endpoint == NULL || fg.unit == NULL || fg.key_path == NULL ||
	    mode == NULL || fg.timeout_ms <= 0)
		usage();
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(modes[i].name, mode) == 0) {
			fg.mode = modes[i].mode;
			found = 1;
		}
	if (!found)
		usage();
	if ((fg.mode == M_WRONG_KEY || fg.mode == M_FOREIGN_KEY_ID ||
	    fg.mode == M_SENDER_MISMATCH) && fg.other_key_path == NULL)
		usage();
	if (fg.mode == M_SENDER_MISMATCH && fg.other_unit == NULL)
		usage();
	if (load_key(fg.key_path, &fg.key) != 0 ||
	    (fg.other_key_path != NULL && load_key(fg.other_key_path, &fg.other_key) != 0)) {
		key_free(fg.key);
		return 2;
	}
	rc = forge_run(&fg);
	if (fg.sock != NULL)
		zmq_close(fg.sock);
	if (fg.zctx != NULL)
		zmq_ctx_term(fg.zctx);
	key_free(fg.other_key);
	key_free(fg.key);
	return rc;
}

/* tools/ctl.c — cluebus-ctl: administrative commands to a running broker.
 *
 *   cluebus-ctl -e ENDPOINT -k ADMIN_KEY registry add UNIT --name NAME --role ROLE
 *                   [--division CODE] [--liaison TEXT] --keys KEYDIR
 *   cluebus-ctl -e ENDPOINT -k ADMIN_KEY registry rotate UNIT --keys KEYDIR
 *   cluebus-ctl -e ENDPOINT -k ADMIN_KEY registry revoke UNIT --reason TEXT
 *                   [--effective RFC3339]
 *   cluebus-ctl -e ENDPOINT -k ADMIN_KEY registry liaison UNIT --liaison TEXT
 *
 * Each command is a Registry record signed with the 反拐办's administrative key (ADMIN_KEY,
 * the private key whose public half is the broker's admin_key) and sent to the broker's
 * local admin endpoint. KEYDIR holds the unit's public keys as cluebus-keygen writes them
 * (UNIT.pub, UNIT.curve.pub). Prints "accepted seq N" or "rejected CODE: reason".
 * Exit: 0 applied, 1 refused or no answer, 2 usage error. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "cluebus/version.h"
#include "envelope.h"
#include "keys.h"
#include "registry.h"
#include "transport.h"
#include "util.h"
#include "wire.h"

#define CTL_TIMEOUT_MS	10000

struct ctl {
	const char	*endpoint, *key_path, *name, *role, *division, *liaison, *keys;
	const char	*reason, *effective;
};

static int
usage(void)
{
	fprintf(stderr,
	    "usage: cluebus-ctl -e ENDPOINT -k ADMIN_KEY registry add UNIT --name NAME "
	    "--role ROLE\n"
	    "                   [--division CODE] [--liaison TEXT] --keys KEYDIR\n"
	    "       cluebus-ctl -e ENDPOINT -k ADMIN_KEY registry rotate UNIT --keys KEYDIR\n"
	    "       cluebus-ctl -e ENDPOINT -k ADMIN_KEY registry revoke UNIT --reason TEXT "
	    "[--effective RFC3339]\n"
	    "       cluebus-ctl -e ENDPOINT -k ADMIN_KEY registry liaison UNIT --liaison TEXT\n"
	    "       cluebus-ctl --help | --version\n");
	return 2;
}

static int
help(void)
{
	printf("usage: cluebus-ctl -e ENDPOINT -k ADMIN_KEY registry add UNIT --name NAME "
	    "--role ROLE\n"
	    "                   [--division CODE] [--liaison TEXT] --keys KEYDIR\n"
	    "       cluebus-ctl -e ENDPOINT -k ADMIN_KEY registry rotate UNIT --keys KEYDIR\n"
	    "       cluebus-ctl -e ENDPOINT -k ADMIN_KEY registry revoke UNIT --reason TEXT\n"
	    "                   [--effective RFC3339]\n"
	    "       cluebus-ctl -e ENDPOINT -k ADMIN_KEY registry liaison UNIT --liaison TEXT\n"
	    "\n"
	    "Sends a registry change, signed with the administrative key, to a running broker.\n"
	    "\n"
	    "  add       register a new unit with its public keys\n"
	    "  rotate    replace a unit's public keys\n"
	    "  revoke    revoke a unit: its key no longer signs or connects\n"
	    "  liaison   change a unit's liaison text\n"
	    "\n"
	    "  -e ENDPOINT         the broker's admin endpoint (its config's admin_endpoint)\n"
	    "  -k ADMIN_KEY        the administrator's private key file (PEM, 0600)\n"
	    "  --name NAME         (add) the unit's name\n"
	    "  --role ROLE         (add) the unit's role, as in the units file\n"
	    "  --division CODE     (add) the unit's division code (e.g. 210302)\n"
	    "  --liaison TEXT      (add, liaison) who to contact at the unit\n"
	    "  --keys KEYDIR       (add, rotate) holds UNIT.pub and UNIT.curve.pub\n"
	    "  --reason TEXT       (revoke) why, logged with the record\n"
	    "  --effective RFC3339 (revoke) from when; default: when logged\n"
	    "  --help              print this help and exit\n"
	    "  --version           print the version and exit\n"
	    "\n"
	    "Prints \"accepted seq N\" or \"rejected CODE: reason\".\n"
	    "Exit: 0 applied, 1 refused or no answer, 2 usage.\n");
	return 0;
}

/* Reads KEYDIR/UNIT.pub and KEYDIR/UNIT.curve.pub into `rec` (buffers in `sign`, `tr`). */
static int
ctl_keys(const struct ctl *c, const char *unit, Cluebus__Registry *rec,
    uint8_t sign[KEY_PUBLIC_LEN], uint8_t tr[TRANSPORT_KEY_LEN])
{
	char path[4096], z85[TRANSPORT_Z85_LEN + 1];
	cb_key_t *k;

	if (c->keys == NULL) {
		fprintf(stderr, "cluebus-ctl: --keys KEYDIR is required\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/%s.pub", c->keys, unit);
	if (key_load_public(path, &k) != 0) {
		fprintf(stderr, "cluebus-ctl: %s: not an Ed25519 public key\n", path);
		return 2;
	}
	memcpy(sign, key_public(k), KEY_PUBLIC_LEN);
	key_free(k);
	snprintf(path, sizeof(path), "%s/%s.curve.pub", c->keys, unit);
	if (transport_load_public(path, z85) != 0 || transport_z85_decode(z85, tr) != 0) {
		fprintf(stderr, "cluebus-ctl: %s: not a CURVE public key\n", path);
		return 2;
	}
	rec->sign_public.data = sign;
	rec->sign_public.len = KEY_PUBLIC_LEN;
	rec->transport_public.data = tr;
	rec->transport_public.len = TRANSPORT_KEY_LEN;
	return 0;
}

/* Builds the record a command asks for. Returns 0 or 2 (usage). */
static int
ctl_record(const struct ctl *c, const char *op, const char *unit, Cluebus__Registry *rec,
    uint8_t sign[KEY_PUBLIC_LEN], uint8_t tr[TRANSPORT_KEY_LEN])
{
	rec->unit = (char *)unit;
	if (strcmp(op, "add") == 0) {
		if (c->name == NULL || c->role == NULL)
			return usage();
		rec->op = CLUEBUS__REGISTRY_OP__REGISTRY_ADD_UNIT;
		rec->name = (char *)c->name;
		rec->role = (char *)c->role;
		rec->division_code = (char *)(c->division != NULL ? c->division : "");
		rec->liaison = (char *)(c->liaison != NULL ? c->liaison : "");
		return ctl_keys(c, unit, rec, sign, tr);
	}
	if (strcmp(op, "rotate") == 0) {
		rec->op = CLUEBUS__REGISTRY_OP__REGISTRY_ROTATE_KEY;
		return ctl_keys(c, unit, rec, sign, tr);
	}
	if (strcmp(op, "revoke") == 0) {
		if (c->reason == NULL)
			return usage();
		rec->op = CLUEBUS__REGISTRY_OP__REGISTRY_REVOKE_KEY;
		rec->reason = (char *)c->reason;
		if (c->effective != NULL && clock_parse_rfc3339(c->effective,
		    &rec->effective_ms) != 0) {
			fprintf(stderr, "cluebus-ctl: --effective: not an RFC 3339 time\n");
			return 2;
		}
		return 0;
	}
	if (strcmp(op, "liaison") == 0) {
		if (c->liaison == NULL)
			return usage();
		rec->op = CLUEBUS__REGISTRY_OP__REGISTRY_CHANGE_LIAISON;
		rec->liaison = (char *)c->liaison;
		return 0;
	}
	return usage();
}

/* Sends the signed envelope and prints the answer. Returns the exit status. */
static int
ctl_send(const char *endpoint, Cluebus__Envelope *env, const uint8_t *id)
{
	Cluebus__Publish p = CLUEBUS__PUBLISH__INIT;
	Cluebus__Frame f = CLUEBUS__FRAME__INIT, *reply = NULL;
	void *ctx = zmq_ctx_new(), *sock = NULL;
	int linger = 0, timeout = CTL_TIMEOUT_MS, status = 1;
	zmq_msg_t msg;

	zmq_msg_init(&msg);
	p.envelope = env;
	p.message_id.data = (uint8_t *)id;
	p.message_id.len = MESSAGE_ID_LEN;
	f.frame_case = CLUEBUS__FRAME__FRAME_PUBLISH;
	f.publish = &p;
	if (ctx == NULL || (sock = zmq_socket(ctx, ZMQ_DEALER)) == NULL ||
	    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof(timeout)) != 0 ||
	    zmq_connect(sock, endpoint) != 0) {
		fprintf(stderr, "cluebus-ctl: %s: %s\n", endpoint, zmq_strerror(errno));
		status = 2;
		goto out;
	}
	/* A DEALER queues the frame until the connection is up. */
	if (wire_send(sock, NULL, 0, &f) != 0) {
		fprintf(stderr, "cluebus-ctl: cannot send to %s\n", endpoint);
		goto out;
	}
	if (zmq_msg_recv(&msg, sock, 0) < 0) {
		fprintf(stderr, "cluebus-ctl: no answer from %s within %d s\n", endpoint,
		    CTL_TIMEOUT_MS / 1000);
		goto out;
	}
	if (wire_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &reply) != 0) {
		fprintf(stderr, "cluebus-ctl: the broker's answer does not parse\n");
		goto out;
	}
	if (reply->frame_case == CLUEBUS__FRAME__FRAME_ACCEPTED) {
		printf("accepted seq %llu\n", (unsigned long long)reply->accepted->seq);
		status = 0;
	} else if (reply->frame_case == CLUEBUS__FRAME__FRAME_REJECTED) {
		printf("rejected %s: %s\n", wire_reject_name(reply->rejected->code),
		    reply->rejected->reason);
	}
out:
	wire_free(reply);
	zmq_msg_close(&msg);
	if (sock != NULL)
		zmq_close(sock);
	if (ctx != NULL)
		zmq_ctx_term(ctx);
	return status;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "name", required_argument, NULL, 'N' },
		{ "role", required_argument, NULL, 'R' },
		{ "division", required_argument, NULL, 'D' },
		{ "liaison", required_argument, NULL, 'L' },
		{ "keys", required_argument, NULL, 'K' },
		{ "reason", required_argument, NULL, 'r' },
		{ "effective", required_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	Cluebus__Message m = CLUEBUS__MESSAGE__INIT;
	Cluebus__Registry rec = CLUEBUS__REGISTRY__INIT;
	Cluebus__Envelope *env = NULL;
	uint8_t id[MESSAGE_ID_LEN], sign[KEY_PUBLIC_LEN], tr[TRANSPORT_KEY_LEN];
	struct ctl c;
	cb_key_t *admin = NULL;
	const char *op, *unit;
	int ch, rc;

	memset(&c, 0, sizeof(c));
	/* GNU getopt moves the operands (registry OP UNIT) behind the options. */
	while ((ch = getopt_long(argc, argv, "e:k:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'e': c.endpoint = optarg; break;
		case 'k': c.key_path = optarg; break;
		case 'N': c.name = optarg; break;
		case 'R': c.role = optarg; break;
		case 'D': c.division = optarg; break;
		case 'L': c.liaison = optarg; break;
		case 'K': c.keys = optarg; break;
		case 'r': c.reason = optarg; break;
		case 'E': c.effective = optarg; break;
		case 'h': return help();
		case 'V': printf("cluebus-ctl %s\n", CB_VERSION); return 0;
		default: return usage();
		}
	}
	if (c.endpoint == NULL || c.key_path == NULL || argc - optind != 3 ||
	    strcmp(argv[optind], "registry") != 0)
		return usage();
	op = argv[optind + 1];
	unit = argv[optind + 2];
	if ((rc = ctl_record(&c, op, unit, &rec, sign, tr)) != 0)
		return rc;
	if ((rc = key_load_private(c.key_path, &admin)) != 0) {
		fprintf(stderr, "cluebus-ctl: %s: %s\n", c.key_path, cb_strerror(rc));
		return 2;
	}
	if (rand_bytes(id, sizeof(id)) != 0)
		return 1;
	m.message_id.data = id;
	m.message_id.len = sizeof(id);
	m.sender = (char *)REGISTRY_ADMIN_UNIT;
	m.created_ms = clock_now_ms();
	m.kind = CLUEBUS__KIND__KIND_REGISTRY;
	m.priority = CLUEBUS__PRIORITY__PRIORITY_ROUTINE;
	m.body_case = CLUEBUS__MESSAGE__BODY_REGISTRY;
	m.registry = &rec;
	if ((rc = envelope_sign(&m, admin, &env)) != 0) {
		fprintf(stderr, "cluebus-ctl: cannot sign: %s\n", cb_strerror(rc));
		key_free(admin);
		return 1;
	}
	rc = ctl_send(c.endpoint, env, id);
	envelope_free(env);
	key_free(admin);
	return rc;
}

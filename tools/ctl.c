/* tools/ctl.c — cluebus-ctl: operate a running broker over its local admin endpoint.
 *
 * Read-only queries (no key needed; the endpoint is local: ipc:// mode 0600 or loopback):
 *   cluebus-ctl -e ENDPOINT [--json] status | units | backlog | overdue | registry list
 *   cluebus-ctl -e ENDPOINT [--json] checkpoint   (signs one of the head now)
 * Registry changes, each a Registry record signed with the 反拐办's administrative key
 * (ADMIN_KEY, the private key whose public half is the broker's admin_key):
 *   cluebus-ctl -e ENDPOINT -k ADMIN_KEY registry add UNIT --name NAME --role ROLE
 *                   [--division CODE] [--liaison TEXT] --keys KEYDIR
 *   cluebus-ctl -e ENDPOINT -k ADMIN_KEY registry rotate UNIT --keys KEYDIR
 *   cluebus-ctl -e ENDPOINT -k ADMIN_KEY registry revoke UNIT --reason TEXT
 *                   [--effective RFC3339]
 *   cluebus-ctl -e ENDPOINT -k ADMIN_KEY registry liaison UNIT --liaison TEXT
 *   cluebus-ctl -e ENDPOINT -k ADMIN_KEY registry seal-add|seal-rotate UNIT --keys KEYDIR
 *   cluebus-ctl -e ENDPOINT -k ADMIN_KEY registry seal-revoke UNIT --reason TEXT
 *                   [--effective RFC3339]
 * `-c BROKER_CONF` may stand for `-e`: the config's admin_endpoint is used.
 * Hot backup, run as the broker's user on its host, while the broker runs:
 *   cluebus-ctl -c BROKER_CONF backup DIR
 * opens the broker's LMDB environment read-only and writes a compacted copy of one read
 * transaction (a consistent snapshot of the last commit) to DIR/data.mdb; the broker is
 * not involved and goes on committing.
 *
 * A query is a JSON object {"query": NAME} on the admin socket, answered with
 * {"query", "result"} (broker/status.c's figures); --json prints the result as it came,
 * otherwise a table with the units' Chinese names last (so that wide characters never
 * break the columns). A change prints "accepted seq N" or "rejected CODE: reason".
 * KEYDIR holds the unit's public keys as cluebus-keygen writes them (UNIT.pub,
 * UNIT.curve.pub, UNIT.seal.pub); add and rotate carry the sealing key too when
 * UNIT.seal.pub is there.
 * Exit: 0 done, 1 refused or no answer, 2 usage error, 3 (status) the broker runs but
 * refuses new messages (map ceiling or full disk). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <zmq.h>

#include "cluebus/version.h"
#include "config.h"
#include "envelope.h"
#include "keys.h"
#include "registry.h"
#include "sealkey.h"
#include "store.h"
#include "transport.h"
#include "util.h"
#include "wire.h"

#define CTL_TIMEOUT_MS	10000

struct ctl {
	char		 data_dir[PATH_MAX];	/* from -c: for backup */
	const char	*endpoint, *key_path, *name, *role, *division, *liaison, *keys;
	const char	*reason, *effective;
	int		 json;
	char		 conf_endpoint[256];
};

static int
usage(void)
{
	fprintf(stderr,
	    "usage: cluebus-ctl -e ENDPOINT|-c BROKER_CONF [--json] status|units|backlog|"
	    "overdue|checkpoint\n"
	    "       cluebus-ctl -e ENDPOINT|-c BROKER_CONF [--json] registry list\n"
	    "       cluebus-ctl -c BROKER_CONF backup DIR\n"
	    "       cluebus-ctl -e ENDPOINT -k ADMIN_KEY registry add UNIT --name NAME "
	    "--role ROLE\n"
	    "                   [--division CODE] [--liaison TEXT] --keys KEYDIR\n"
	    "       cluebus-ctl -e ENDPOINT -k ADMIN_KEY registry rotate UNIT --keys KEYDIR\n"
	    "       cluebus-ctl -e ENDPOINT -k ADMIN_KEY registry revoke UNIT --reason TEXT "
	    "[--effective RFC3339]\n"
	    "       cluebus-ctl -e ENDPOINT -k ADMIN_KEY registry liaison UNIT --liaison TEXT\n"
	    "       cluebus-ctl -e ENDPOINT -k ADMIN_KEY registry seal-add|seal-rotate UNIT "
	    "--keys KEYDIR\n"
	    "       cluebus-ctl -e ENDPOINT -k ADMIN_KEY registry seal-revoke UNIT --reason TEXT\n"
	    "                   [--effective RFC3339]\n"
	    "       cluebus-ctl --help | --version\n");
	return 2;
}

static int
help(void)
{
	printf("usage: cluebus-ctl -e ENDPOINT|-c BROKER_CONF [--json] status|units|backlog|"
	    "overdue|checkpoint\n"
	    "       cluebus-ctl -e ENDPOINT|-c BROKER_CONF [--json] registry list\n"
	    "       cluebus-ctl -c BROKER_CONF backup DIR\n"
	    "       cluebus-ctl -e ENDPOINT -k ADMIN_KEY registry add UNIT --name NAME "
	    "--role ROLE\n"
	    "                   [--division CODE] [--liaison TEXT] --keys KEYDIR\n"
	    "       cluebus-ctl -e ENDPOINT -k ADMIN_KEY registry rotate UNIT --keys KEYDIR\n"
	    "       cluebus-ctl -e ENDPOINT -k ADMIN_KEY registry revoke UNIT --reason TEXT\n"
	    "                   [--effective RFC3339]\n"
	    "       cluebus-ctl -e ENDPOINT -k ADMIN_KEY registry liaison UNIT --liaison TEXT\n"
	    "       cluebus-ctl -e ENDPOINT -k ADMIN_KEY registry seal-add|seal-rotate UNIT "
	    "--keys KEYDIR\n"
	    "       cluebus-ctl -e ENDPOINT -k ADMIN_KEY registry seal-revoke UNIT --reason TEXT\n"
	    "                   [--effective RFC3339]\n"
	    "\n"
	    "Asks a running broker over its local admin endpoint, or sends it a registry\n"
	    "change signed with the administrative key.\n"
	    "\n"
	    "  status    uptime, log head, latest checkpoint, commit rate, map use, disk\n"
	    "            free, counters, matches (notices, bundling suggestions, tokens, hot\n"
	    "            tokens)\n"
	    "  units     each unit: online or offline, last seen, sessions, key ids\n"
	    "  backlog   each unit with undelivered messages: depth, age of the oldest\n"
	    "  overdue   open duties past their due time, with referral and case ids\n"
	    "  checkpoint  sign a checkpoint of the log head now (the latest one when nothing\n"
	    "            was logged since) and print its signed note\n"
	    "  list      (registry) every registered unit\n"
	    "  backup    a consistent compacted copy of the log in DIR/data.mdb, made while\n"
	    "            the broker runs (run it as the broker's user, on its host)\n"
	    "  add       register a new unit with its public keys\n"
	    "  rotate    replace a unit's public keys\n"
	    "  revoke    revoke a unit: its key no longer signs or connects\n"
	    "  liaison   change a unit's liaison text\n"
	    "  seal-add  register a sealing key for a unit that has none (KEYDIR/UNIT.seal.pub)\n"
	    "  seal-rotate  replace a unit's sealing key; the old one's validity ends\n"
	    "  seal-revoke  end a unit's sealing key: nothing is sealed to it any more\n"
	    "\n"
	    "  -e ENDPOINT         the broker's admin endpoint (its config's admin_endpoint)\n"
	    "  -c BROKER_CONF      read the admin endpoint from the broker's config\n"
	    "  -k ADMIN_KEY        (changes) the administrator's private key file (PEM, 0600)\n"
	    "  --json              (queries) print the broker's JSON answer, for scripts\n"
	    "  --name NAME         (add) the unit's name\n"
	    "  --role ROLE         (add) the unit's role, as in the units file\n"
	    "  --division CODE     (add) the unit's division code (e.g. 210302)\n"
	    "  --liaison TEXT      (add, liaison) who to contact at the unit\n"
	    "  --keys KEYDIR       (add, rotate) holds UNIT.pub, UNIT.curve.pub and (optional)\n"
	    "                      UNIT.seal.pub; (seal-add, seal-rotate) UNIT.seal.pub\n"
	    "  --reason TEXT       (revoke, seal-revoke) why, logged with the record\n"
	    "  --effective RFC3339 (revoke, seal-revoke) from when; default: when logged\n"
	    "  --help              print this help and exit\n"
	    "  --version           print the version and exit\n"
	    "\n"
	    "A change prints \"accepted seq N\" or \"rejected CODE: reason\".\n"
	    "Exit: 0 done, 1 refused or no answer, 2 usage, 3 (status) the broker is up but\n"
	    "refuses new messages (map ceiling or full disk).\n");
	return 0;
}

/* Reads KEYDIR/UNIT.seal.pub into rec->seal_public (buffer `seal`); a missing file is an
 * error only when `required`. */
static int
ctl_seal_key(const struct ctl *c, const char *unit, int required, Cluebus__Registry *rec,
    uint8_t seal[SEALKEY_PUBLIC_LEN])
{
	char path[4096];
	sealkey_t *k;

	if (c->keys == NULL) {
		fprintf(stderr, "cluebus-ctl: --keys KEYDIR is required\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/%s.seal.pub", c->keys, unit);
	if (!required && access(path, F_OK) != 0)
		return 0;
	if (sealkey_load_public(path, &k) != 0) {
		fprintf(stderr, "cluebus-ctl: %s: not an X25519 public key\n", path);
		return 2;
	}
	memcpy(seal, sealkey_public(k), SEALKEY_PUBLIC_LEN);
	sealkey_free(k);
	rec->seal_public.data = seal;
	rec->seal_public.len = SEALKEY_PUBLIC_LEN;
	return 0;
}

/* Reads KEYDIR/UNIT.pub, KEYDIR/UNIT.curve.pub and (if there) KEYDIR/UNIT.seal.pub into
 * `rec` (buffers in `sign`, `tr`, `seal`). */
static int
ctl_keys(const struct ctl *c, const char *unit, Cluebus__Registry *rec,
    uint8_t sign[KEY_PUBLIC_LEN], uint8_t tr[TRANSPORT_KEY_LEN],
    uint8_t seal[SEALKEY_PUBLIC_LEN])
{
	char path[4096], z85[TRANSPORT_Z85_LEN + 1];
	cb_key_t *k;
	int rc;

	if ((rc = ctl_seal_key(c, unit, 0, rec, seal)) != 0)
		return rc;
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
    uint8_t sign[KEY_PUBLIC_LEN], uint8_t tr[TRANSPORT_KEY_LEN],
    uint8_t seal[SEALKEY_PUBLIC_LEN])
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
		return ctl_keys(c, unit, rec, sign, tr, seal);
	}
	if (strcmp(op, "rotate") == 0) {
		rec->op = CLUEBUS__REGISTRY_OP__REGISTRY_ROTATE_KEY;
		return ctl_keys(c, unit, rec, sign, tr, seal);
	}
	if (strcmp(op, "seal-add") == 0 || strcmp(op, "seal-rotate") == 0) {
		rec->op = strcmp(op, "seal-add") == 0 ?
		    CLUEBUS__REGISTRY_OP__REGISTRY_ADD_SEAL_KEY :
		    CLUEBUS__REGISTRY_OP__REGISTRY_ROTATE_SEAL_KEY;
		return ctl_seal_key(c, unit, 1, rec, seal);
	}
	if (strcmp(op, "revoke") == 0 || strcmp(op, "seal-revoke") == 0) {
		if (c->reason == NULL)
			return usage();
		rec->op = strcmp(op, "revoke") == 0 ? CLUEBUS__REGISTRY_OP__REGISTRY_REVOKE_KEY :
		    CLUEBUS__REGISTRY_OP__REGISTRY_REVOKE_SEAL_KEY;
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

/* Sends `req` (len bytes) to the broker's admin endpoint and receives one answer into
 * `answer` (initialised here; the caller closes it). Returns 0, 1 (no answer) or 2 (the
 * endpoint is unusable), after saying why. */
static int
ctl_exchange(const char *endpoint, const void *req, size_t len, zmq_msg_t *answer)
{
	void *ctx = zmq_ctx_new(), *sock = NULL;
	int linger = 0, timeout = CTL_TIMEOUT_MS, status = 1;

	zmq_msg_init(answer);
	if (ctx == NULL || (sock = zmq_socket(ctx, ZMQ_DEALER)) == NULL ||
	    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof(timeout)) != 0 ||
	    zmq_connect(sock, endpoint) != 0) {
		fprintf(stderr, "cluebus-ctl: %s: %s\n", endpoint, zmq_strerror(errno));
		status = 2;
		goto out;
	}
	/* A DEALER queues the request until the connection is up. */
	if (zmq_send(sock, req, len, 0) < 0) {
		fprintf(stderr, "cluebus-ctl: cannot send to %s: %s\n", endpoint,
		    zmq_strerror(errno));
		goto out;
	}
	if (zmq_msg_recv(answer, sock, 0) < 0) {
		fprintf(stderr, "cluebus-ctl: no answer from %s within %d s (is the broker "
		    "running, with admin_endpoint set?)\n", endpoint, CTL_TIMEOUT_MS / 1000);
		goto out;
	}
	status = 0;
out:
	if (sock != NULL)
		zmq_close(sock);
	if (ctx != NULL)
		zmq_ctx_term(ctx);
	return status;
}

/* Sends the signed envelope and prints the answer. Returns the exit status. */
static int
ctl_send(const char *endpoint, Cluebus__Envelope *env, const uint8_t *id)
{
	Cluebus__Publish p = CLUEBUS__PUBLISH__INIT;
	Cluebus__Frame f = CLUEBUS__FRAME__INIT, *reply = NULL;
	uint8_t *buf = NULL;
	size_t len;
	zmq_msg_t msg;
	int status;

	p.envelope = env;
	p.message_id.data = (uint8_t *)id;
	p.message_id.len = MESSAGE_ID_LEN;
	f.frame_case = CLUEBUS__FRAME__FRAME_PUBLISH;
	f.publish = &p;
	len = cluebus__frame__get_packed_size(&f);
	if ((buf = malloc(len)) == NULL)
		return 1;
	cluebus__frame__pack(&f, buf);
	status = ctl_exchange(endpoint, buf, len, &msg);
	free(buf);
	if (status != 0)
		goto out;
	status = 1;
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
	return status;
}

/* ---- read-only queries ---- */

static const char *
str(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v != NULL ? v : "-";
}

static long long
num(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* "3 s", "4 min", "2 h 5 min", "3 d 4 h" */
static const char *
ago(long long s, char *buf, size_t len)
{
	if (s < 120)
		snprintf(buf, len, "%lld s", s);
	else if (s < 7200)
		snprintf(buf, len, "%lld min", s / 60);
	else if (s < 172800)
		snprintf(buf, len, "%lld h %lld min", s / 3600, s / 60 % 60);
	else
		snprintf(buf, len, "%lld d %lld h", s / 86400, s / 3600 % 24);
	return buf;
}

static double
mib(long long bytes)
{
	return (double)bytes / (1024.0 * 1024.0);
}

/* Correlation's counts and hot tokens (by a hash prefix; docs/correlation.md). */
static void
ctl_print_matches(const json_t *m)
{
	const json_t *h;
	size_t i;

	if (!json_is_object(m))
		return;
	printf("matches        %lld notices, %lld bundling suggestions; %lld tokens indexed "
	    "(%lld entries), %lld hot\n", num(m, "notices"), num(m, "bundles"),
	    num(m, "tokens"), num(m, "entries"), num(m, "hot_tokens"));
	json_array_foreach(json_object_get(m, "hot"), i, h)
		printf("hot token      %s (%s, key version %lld) since %s\n", str(h, "token_hash"),
		    str(h, "type"), num(h, "key_version"), str(h, "since"));
}

/* The latest signed checkpoint (docs/audit.md §7). */
static void
ctl_print_checkpoint(const json_t *c)
{
	if (!json_is_object(c) || num(c, "tree_size") == 0) {
		printf("checkpoint     none yet\n");
		return;
	}
	printf("checkpoint     tree size %lld, signed %s; %lld entries after it\n",
	    num(c, "tree_size"), str(c, "signed_at"), num(c, "entries_after"));
}

static int
ctl_print_status(const json_t *r)
{
	const json_t *map = json_object_get(r, "map"), *disk = json_object_get(r, "disk");
	const json_t *c = json_object_get(r, "counters");
	char buf[64];

	printf("started        %s (up %s)\n", str(r, "started_at"),
	    ago(num(r, "uptime_s"), buf, sizeof(buf)));
	printf("log head       seq %lld, hash %s\n", num(r, "log_head_seq"),
	    str(r, "log_head_hash"));
	ctl_print_checkpoint(json_object_get(r, "checkpoint"));
	printf("log size       %.1f MiB\n", mib(num(r, "log_size_bytes")));
	printf("commits        %lld (%.1f/s); accepted %.1f/s\n", num(c, "commits"),
	    json_number_value(json_object_get(r, "commit_rate_per_s")),
	    json_number_value(json_object_get(r, "accept_rate_per_s")));
	printf("map            %.1f MiB used of %.0f MiB mapped, ceiling %.0f MiB (%.1f%%)\n",
	    mib(num(map, "used_bytes")), mib(num(map, "size_bytes")),
	    mib(num(map, "max_bytes")),
	    100.0 * json_number_value(json_object_get(map, "used_ratio")));
	printf("disk free      %.1f MiB on %s\n", mib(num(disk, "free_bytes")), str(disk, "path"));
	printf("units online   %lld of %lld\n", num(r, "units_online"),
	    num(r, "units_registered"));
	if (json_is_true(json_object_get(r, "accepting")))
		printf("accepting      yes\n");
	else
		printf("accepting      NO: %s\n", str(r, "unavailable_reason"));
	printf("counters       accepted %lld, duplicates %lld, rejected %lld, delivered %lld, "
	    "acked %lld, refused keys %lld\n", num(c, "accepted"), num(c, "duplicates"),
	    num(c, "rejected"), num(c, "delivered"), num(c, "acked"), num(c, "refused_keys"));
	ctl_print_matches(json_object_get(r, "matches"));
	return json_is_true(json_object_get(r, "accepting")) ? 0 : 3;
}

static int
ctl_print_units(const json_t *r)
{
	const json_t *u;
	size_t i;
	char buf[64], seen[96];

	printf("%-22s %-8s %-36s %-8s %-16s %-16s %s\n", "UNIT", "STATE", "LAST SEEN",
	    "SESSIONS", "SIGN KEY", "TRANSPORT KEY", "NAME");
	json_array_foreach(r, i, u) {
		if (json_is_null(json_object_get(u, "last_seen")))
			snprintf(seen, sizeof(seen), "never");
		else
			snprintf(seen, sizeof(seen), "%s (%s ago)", str(u, "last_seen"),
			    ago(num(u, "last_seen_ago_s"), buf, sizeof(buf)));
		printf("%-22s %-8s %-36s %-8lld %-16s %-16s %s\n", str(u, "unit"),
		    json_is_true(json_object_get(u, "online")) ? "online" : "offline", seen,
		    num(u, "sessions"), str(u, "sign_key_id"), str(u, "transport_key_id"),
		    str(u, "name"));
	}
	return 0;
}

static int
ctl_print_backlog(const json_t *r)
{
	const json_t *u;
	size_t i, empty = 0;
	char buf[64];

	printf("%-22s %10s %-14s %s\n", "UNIT", "DEPTH", "OLDEST", "NAME");
	json_array_foreach(r, i, u) {
		if (num(u, "depth") == 0) {
			empty++;
			continue;
		}
		printf("%-22s %10lld %-14s %s\n", str(u, "unit"), num(u, "depth"),
		    json_is_null(json_object_get(u, "oldest_age_s")) ? "-" :
		    ago(num(u, "oldest_age_s"), buf, sizeof(buf)), str(u, "name"));
	}
	printf("(%zu other units: nothing waiting)\n", empty);
	return 0;
}

static int
ctl_print_overdue(const json_t *r)
{
	const json_t *d;
	size_t i;
	char buf[64];

	printf("%-32s %-20s %-20s %-8s %-24s %-12s %s\n", "REFERRAL", "CASE", "UNIT", "DUTY",
	    "DUE", "OVERDUE", "NAME");
	json_array_foreach(r, i, d)
		printf("%-32s %-20s %-20s %-8s %-24s %-12s %s\n", str(d, "referral_id"),
		    str(d, "case_ref"), str(d, "unit"), str(d, "duty"), str(d, "due"),
		    ago(num(d, "overdue_s"), buf, sizeof(buf)), str(d, "name"));
	printf("(%zu overdue)\n", json_array_size(r));
	return 0;
}

static int
ctl_print_registry(const json_t *r)
{
	const json_t *u;
	size_t i;

	printf("%-22s %-16s %-10s %-16s %-16s %s\n", "UNIT", "ROLE", "DIVISION", "SIGN KEY",
	    "SEAL KEY", "NAME");
	json_array_foreach(r, i, u)
		printf("%-22s %-16s %-10s %-16s %-16s %s\n", str(u, "unit"), str(u, "role"),
		    *str(u, "division_code") != '\0' ? str(u, "division_code") : "-",
		    json_is_true(json_object_get(u, "revoked")) ? "(revoked)" :
		    str(u, "sign_key_id"), json_is_string(json_object_get(u, "seal_key_id")) ?
		    str(u, "seal_key_id") : "-", str(u, "name"));
	return 0;
}

/* Asks query `what` and prints its answer. Returns the exit status. */
static int
ctl_query(const struct ctl *c, const char *what)
{
	json_t *req = json_pack("{s:s}", "query", what), *ans = NULL, *result;
	json_error_t jerr;
	char *text = json_dumps(req, JSON_COMPACT);
	zmq_msg_t msg;
	int status;

	status = text != NULL ? ctl_exchange(c->endpoint, text, strlen(text), &msg) : 1;
	free(text);
	json_decref(req);
	if (status != 0)
		goto out;
	status = 1;
	if ((ans = json_loadb(zmq_msg_data(&msg), zmq_msg_size(&msg), 0, &jerr)) == NULL) {
		fprintf(stderr, "cluebus-ctl: the broker's answer is not JSON: %s\n", jerr.text);
		goto out;
	}
	if ((result = json_object_get(ans, "result")) == NULL) {
		fprintf(stderr, "cluebus-ctl: %s\n", str(ans, "error"));
		goto out;
	}
	if (c->json) {
		json_dumpf(result, stdout, JSON_INDENT(2));
		printf("\n");
		status = strcmp(what, "status") == 0 &&
		    !json_is_true(json_object_get(result, "accepting")) ? 3 : 0;
	} else if (strcmp(what, "status") == 0) {
		status = ctl_print_status(result);
	} else if (strcmp(what, "units") == 0) {
		status = ctl_print_units(result);
	} else if (strcmp(what, "backlog") == 0) {
		status = ctl_print_backlog(result);
	} else if (strcmp(what, "overdue") == 0) {
		status = ctl_print_overdue(result);
	} else if (strcmp(what, "checkpoint") == 0) {
		printf("checkpoint of tree size %lld (log head %lld):\n%s",
		    (long long)json_integer_value(json_object_get(result, "tree_size")),
		    (long long)json_integer_value(json_object_get(result, "log_head")),
		    json_is_string(json_object_get(result, "note")) ?
		    json_string_value(json_object_get(result, "note")) : "(none: the log is empty)\n");
		status = 0;
	} else {
		status = ctl_print_registry(result);
	}
out:
	json_decref(ans);
	zmq_msg_close(&msg);
	return status;
}

/* backup DIR: a compacted copy of the broker's log, made while it runs. */
static int
ctl_backup(const struct ctl *c, const char *dir)
{
	char path[PATH_MAX + 16], hash[CHAIN_HASH_LEN * 2 + 1];
	store_t *live = NULL, *copy = NULL;
	struct stat st;
	int fd, rc;

	if (c->data_dir[0] == '\0') {
		fprintf(stderr, "cluebus-ctl: backup needs -c BROKER_CONF (its data_dir)\n");
		return 2;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "cluebus-ctl: mkdir %s: %s\n", dir, strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if (access(path, F_OK) == 0) {
		fprintf(stderr, "cluebus-ctl: %s exists: back up into a new directory\n", path);
		return 1;
	}
	if ((rc = store_open(c->data_dir, STORE_RDONLY, 0, &live)) != 0) {
		fprintf(stderr, "cluebus-ctl: %s: %s\n", c->data_dir, cb_strerror(rc));
		return 1;
	}
	rc = store_copy(live, dir);
	store_close(live);
	if (rc != 0) {
		fprintf(stderr, "cluebus-ctl: backup to %s: %s\n", dir, cb_strerror(rc));
		return 1;
	}
	/* Durable before we say so: the file, then its directory entry. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fsync(fd) != 0 ||
	    close(fd) != 0 || (fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fsync(fd) != 0 || close(fd) != 0) {
		fprintf(stderr, "cluebus-ctl: fsync %s: %s\n", path, strerror(errno));
		return 1;
	}
	if ((rc = store_open(dir, STORE_RDONLY, 0, &copy)) != 0) {
		fprintf(stderr, "cluebus-ctl: the copy in %s does not open: %s\n", dir,
		    cb_strerror(rc));
		return 1;
	}
	hex_encode(store_head_hash(copy), CHAIN_HASH_LEN, hash);
	printf("backup of log head seq %llu (hash %s) written to %s (%.1f MiB)\n",
	    (unsigned long long)store_head_seq(copy), hash, path,
	    stat(path, &st) == 0 ? (double)st.st_size / 1048576.0 : 0.0);
	store_close(copy);
	return 0;
}

/* -c BROKER_CONF: the admin endpoint and data directory the broker's config names. */
static int
ctl_config_endpoint(struct ctl *c, const char *path)
{
	broker_config_t cfg;
	char errbuf[512];

	if (config_broker_load(path, &cfg, errbuf, sizeof(errbuf)) != 0) {
		fprintf(stderr, "cluebus-ctl: %s\n", errbuf);
		return 2;
	}
	snprintf(c->conf_endpoint, sizeof(c->conf_endpoint), "%s", cfg.admin_endpoint);
	snprintf(c->data_dir, sizeof(c->data_dir), "%s", cfg.data_dir);
	config_broker_free(&cfg);
	if (c->conf_endpoint[0] != '\0')
		c->endpoint = c->conf_endpoint;
	return 0;
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
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	Cluebus__Message m = CLUEBUS__MESSAGE__INIT;
	Cluebus__Registry rec = CLUEBUS__REGISTRY__INIT;
	Cluebus__Envelope *env = NULL;
	uint8_t id[MESSAGE_ID_LEN], sign[KEY_PUBLIC_LEN], tr[TRANSPORT_KEY_LEN];
	uint8_t seal[SEALKEY_PUBLIC_LEN];
	struct ctl c;
	cb_key_t *admin = NULL;
	const char *op, *unit;
	int ch, rc;

	memset(&c, 0, sizeof(c));
	/* GNU getopt moves the operands (registry OP UNIT) behind the options. */
	while ((ch = getopt_long(argc, argv, "c:e:k:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			if ((rc = ctl_config_endpoint(&c, optarg)) != 0)
				return rc;
			break;
		case 'e': c.endpoint = optarg; break;
		case 'j': c.json = 1; break;
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
	if (argc - optind == 2 && strcmp(argv[optind], "backup") == 0)
		return ctl_backup(&c, argv[optind + 1]);
	if (c.endpoint == NULL)
		return usage();
	if (argc - optind == 1 && (strcmp(argv[optind], "status") == 0 ||
	    strcmp(argv[optind], "units") == 0 || strcmp(argv[optind], "backlog") == 0 ||
	    strcmp(argv[optind], "overdue") == 0 || strcmp(argv[optind], "checkpoint") == 0))
		return ctl_query(&c, argv[optind]);
	if (argc - optind == 2 && strcmp(argv[optind], "registry") == 0 &&
	    strcmp(argv[optind + 1], "list") == 0)
		return ctl_query(&c, "registry");
	if (c.key_path == NULL || argc - optind != 3 || strcmp(argv[optind], "registry") != 0)
		return usage();
	op = argv[optind + 1];
	unit = argv[optind + 2];
	if ((rc = ctl_record(&c, op, unit, &rec, sign, tr, seal)) != 0)
		return rc;
	if ((rc = key_load_private(c.key_path, &admin)) != 0) {
		if (access(c.key_path, F_OK) != 0)
			fprintf(stderr, "cluebus-ctl: no such file: %s\n", c.key_path);
		else
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

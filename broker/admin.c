/* broker/admin.c — the administrative endpoint: registry changes signed by the 反拐办, and
 * read-only queries.
 *
 * Adding a unit, rotating a unit's keys, revoking them and changing a liaison (seed Art 5:
 * changes are filed with the 反拐办) are Registry records in a Message from "admin", signed
 * with the administrator's key that the log recorded at genesis. cluebus-ctl sends them to
 * a socket that only local processes reach (ipc://, mode 0600, or loopback: config.c
 * refuses anything else). Each accepted record is logged, committed on its own, and only
 * then applied, so memory never runs ahead of the log; a revocation or rotation also drops
 * the unit's sessions, and ZAP refuses its old transport key from then on.
 *
 * A request whose body is a JSON object, {"query": "status" | "units" | "backlog" |
 * "overdue" | "registry"}, is a read-only query; {"query": "checkpoint"} signs a
 * checkpoint of the head now (when the head moved past the latest) and answers with it: it is answered with
 * {"query": Q, "result": ...} (status.c's figures) or {"error": "..."}, needs no signature,
 * and changes nothing; what protects it is that the socket is local (above). A protobuf
 * Frame never starts with '{' (0x7b would be field 15 as a group, which proto3 does not
 * have), so the two never mix. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <zmq.h>

#include "broker.h"
#include "envelope.h"
#include "log.h"
#include "util.h"
#include "wire.h"

#define ADMIN_REQUESTS_MAX	16	/* handled per call: the agents' rounds go on */

int
admin_open(struct broker *b)
{
	int64_t maxsize = WIRE_MAX_FRAME;
	int linger = 0;

	if (b->cfg.admin_endpoint[0] == '\0')
		return 0;
	if ((b->admin = zmq_socket(b->zctx, ZMQ_ROUTER)) == NULL ||
	    zmq_setsockopt(b->admin, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_setsockopt(b->admin, ZMQ_MAXMSGSIZE, &maxsize, sizeof(maxsize)) != 0 ||
	    zmq_bind(b->admin, b->cfg.admin_endpoint) != 0) {
		log_warnx("admin endpoint %s: %s", b->cfg.admin_endpoint, zmq_strerror(errno));
		return CB_EIO;
	}
	if (strncmp(b->cfg.admin_endpoint, "ipc://", 6) == 0 &&
	    chmod(b->cfg.admin_endpoint + 6, 0600) != 0) {
		log_warn("chmod %s", b->cfg.admin_endpoint + 6);
		return CB_EIO;
	}
	log_info("admin endpoint %s", b->cfg.admin_endpoint);
	return 0;
}

void
admin_close(struct broker *b)
{
	if (b->admin != NULL)
		zmq_close(b->admin);
	b->admin = NULL;
}

static void
admin_reply(struct broker *b, const uint8_t *rid, size_t ridlen, Cluebus__Frame *f)
{
	if (f != NULL) {
		reply_send(b->admin, rid, ridlen, f);
		cluebus__frame__free_unpacked(f, NULL);
	}
}

static void
admin_refuse(struct broker *b, const uint8_t *rid, size_t ridlen, const uint8_t *id,
    int code, const char *reason)
{
	log_warnx("admin: refused (code %d): %s", code, reason);
	b->count.rejected++;
	admin_reply(b, rid, ridlen, reply_rejected(id, id != NULL ? MESSAGE_ID_LEN : 0, code,
	    reason));
}

/* Logs the record in its own transaction, then applies it. Returns 0 or a store error. */
static int
admin_commit(struct broker *b, Cluebus__Envelope *env, const Cluebus__Message *m,
    uint64_t *seq, uint8_t hash[CHAIN_HASH_LEN])
{
	Cluebus__LogEntry e = CLUEBUS__LOG_ENTRY__INIT;
	store_txn_t *t;
	cb_error_t err;
	int rc;

	e.type = CLUEBUS__ENTRY_TYPE__ENTRY_MESSAGE;
	e.time_ms = broker_clock_ms();
	e.envelope = env;
	if ((rc = store_begin(b->store, &t)) != 0)
		return rc;
	if ((rc = store_txn_append(t, &e, m->message_id.data, 1, hash)) != 0) {
		store_txn_abort(t);
		return rc;
	}
	if ((rc = store_txn_commit(t)) != 0)
		return rc;
	*seq = e.seq;
	if (registry_apply(b->reg, m->registry, e.time_ms, &err) != 0)
		fatalx("admin: a checked registry record did not apply (%s: %s)", err.field,
		    err.reason);
	return 0;
}

/* What the log line calls an administrative operation. Cannot fail. */
static const char *
admin_op_name(Cluebus__RegistryOp op)
{
	switch (op) {
	case CLUEBUS__REGISTRY_OP__REGISTRY_ADD_UNIT:		return "addition";
	case CLUEBUS__REGISTRY_OP__REGISTRY_ROTATE_KEY:		return "key rotation";
	case CLUEBUS__REGISTRY_OP__REGISTRY_REVOKE_KEY:		return "revocation";
	case CLUEBUS__REGISTRY_OP__REGISTRY_ADD_SEAL_KEY:	return "sealing key addition";
	case CLUEBUS__REGISTRY_OP__REGISTRY_ROTATE_SEAL_KEY:	return "sealing key rotation";
	case CLUEBUS__REGISTRY_OP__REGISTRY_REVOKE_SEAL_KEY:	return "sealing key revocation";
	default:						return "liaison change";
	}
}

/* What a change means for connected agents and delivery. */
static void
admin_after(struct broker *b, const Cluebus__Registry *rec)
{
	switch (rec->op) {
	case CLUEBUS__REGISTRY_OP__REGISTRY_ADD_UNIT:
		if (units_add(b, rec->unit) != 0)
			log_warnx("admin: no room for unit %s until a restart", rec->unit);
		break;
	case CLUEBUS__REGISTRY_OP__REGISTRY_ROTATE_KEY:
	case CLUEBUS__REGISTRY_OP__REGISTRY_REVOKE_KEY:
		units_forget(b, rec->unit);
		break;
	default:
		break;
	}
	log_info("admin: registry %s of %s applied", admin_op_name(rec->op), rec->op ==
	    CLUEBUS__REGISTRY_OP__REGISTRY_ROUTING ? "routing" : rec->unit);
}

static void
admin_publish(struct broker *b, const uint8_t *rid, size_t ridlen, Cluebus__Envelope *env)
{
	Cluebus__Message *m = NULL;
	uint8_t hash[CHAIN_HASH_LEN];
	const cb_key_t *key;
	char reason[400];
	cb_error_t err;
	uint64_t seq;
	int64_t now = clock_now_ms();

	if (env->sender == NULL || strcmp(env->sender, REGISTRY_ADMIN_UNIT) != 0) {
		admin_refuse(b, rid, ridlen, NULL, CLUEBUS__REJECT_CODE__REJECT_NOT_AUTHENTICATED,
		    "only the administrator's key may change the registry");
		return;
	}
	if (registry_key_at(b->reg, REGISTRY_ADMIN_UNIT, env->key_id.data, env->key_id.len,
	    broker_clock_ms(), &key) != REG_KEY_OK || envelope_verify(env, key) != 0) {
		admin_refuse(b, rid, ridlen, NULL, CLUEBUS__REJECT_CODE__REJECT_BAD_SIGNATURE,
		    "not signed by the administrator's current key");
		return;
	}
	if (envelope_open(env, &m, &err) != 0 || m->body_case != CLUEBUS__MESSAGE__BODY_REGISTRY) {
		snprintf(reason, sizeof(reason), "%s: %s", m == NULL ? err.field : "kind",
		    m == NULL ? err.reason : "not a registry record");
		admin_refuse(b, rid, ridlen, m != NULL ? m->message_id.data : NULL,
		    CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY, reason);
		goto out;
	}
	if (store_msgid_get(b->store, m->message_id.data, &seq) == 0) {
		admin_refuse(b, rid, ridlen, m->message_id.data,
		    CLUEBUS__REJECT_CODE__REJECT_ID_CONFLICT, "this record was applied before");
		goto out;
	}
	if (m->created_ms > now + b->cfg.clock_skew_ms ||
	    m->created_ms < now - b->cfg.clock_skew_ms) {
		admin_refuse(b, rid, ridlen, m->message_id.data,
		    CLUEBUS__REJECT_CODE__REJECT_CLOCK_SKEW, "created time outside the window");
		goto out;
	}
	if (registry_check_admin(b->reg, m->registry, &err) != 0) {
		snprintf(reason, sizeof(reason), "registry.%s: %s", err.field, err.reason);
		admin_refuse(b, rid, ridlen, m->message_id.data,
		    CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY, reason);
		goto out;
	}
	if (admin_commit(b, env, m, &seq, hash) != 0) {
		admin_refuse(b, rid, ridlen, m->message_id.data,
		    CLUEBUS__REJECT_CODE__REJECT_UNAVAILABLE, "store unavailable, retry");
		goto out;
	}
	admin_after(b, m->registry);
	if (dirserve_update(b, 1) != 0)
		log_warnx("admin: the directory stays at version %llu until the next change",
		    (unsigned long long)b->directory_version);
	admin_reply(b, rid, ridlen, reply_accepted(m->message_id.data, seq, hash, 0,
	    broker_clock_ms(), NULL, 0));
out:
	if (m != NULL)
		protobuf_c_message_free_unpacked(&m->base, NULL);
}

/* Answers a read-only query (`body`, `len` bytes from the socket). */
static void
admin_query(struct broker *b, const uint8_t *rid, size_t ridlen, const void *body, size_t len)
{
	json_t *req, *ans = json_object(), *result = NULL;
	json_error_t jerr;
	const char *what = NULL;
	char *text = NULL;

	if ((req = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL ||
	    (what = json_string_value(json_object_get(req, "query"))) == NULL) {
		json_object_set_new(ans, "error", json_string("expected {\"query\": NAME}"));
	} else if (strcmp(what, "checkpoint") == 0) {
		/* On demand: sign one of the head now (nothing new: the latest). */
		if (ckpt_make(b) != 0)
			json_object_set_new(ans, "error", json_string("the checkpoint could not "
			    "be made (see the broker's log)"));
		else
			result = ckpt_json(b);
		if (result != NULL) {
			json_object_set_new(ans, "query", json_string(what));
			json_object_set_new(ans, "result", result);
		}
	} else if ((result = status_query(b, what)) == NULL) {
		json_object_set_new(ans, "error", json_string("unknown query (status, units, "
		    "backlog, overdue, registry, checkpoint)"));
	} else {
		json_object_set_new(ans, "query", json_string(what));
		json_object_set_new(ans, "result", result);
	}
	if ((text = json_dumps(ans, JSON_COMPACT)) != NULL &&
	    (zmq_send(b->admin, rid, ridlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
	    zmq_send(b->admin, text, strlen(text), ZMQ_DONTWAIT) < 0))
		log_debug("admin: query answer not sent: %s", zmq_strerror(errno));
	free(text);
	json_decref(ans);
	json_decref(req);
}

void
admin_handle(struct broker *b)
{
	if (b->admin == NULL)
		return;
	if (b->txn != NULL)
		frontend_commit(b);	/* one write transaction at a time */
	for (int i = 0; i < ADMIN_REQUESTS_MAX; i++) {
		uint8_t rid[RID_MAX];
		Cluebus__Frame *f = NULL;
		zmq_msg_t body;
		int ridlen, more;
		size_t optlen = sizeof(more);

		if ((ridlen = zmq_recv(b->admin, rid, sizeof(rid), ZMQ_DONTWAIT)) < 0)
			return;
		if (ridlen > (int)sizeof(rid))
			ridlen = sizeof(rid);
		zmq_getsockopt(b->admin, ZMQ_RCVMORE, &more, &optlen);
		if (!more)
			continue;
		zmq_msg_init(&body);
		if (zmq_msg_recv(&body, b->admin, 0) < 0) {
			zmq_msg_close(&body);
			continue;
		}
		if (zmq_msg_size(&body) > 0 && *(const char *)zmq_msg_data(&body) == '{') {
			admin_query(b, rid, (size_t)ridlen, zmq_msg_data(&body),
			    zmq_msg_size(&body));
		} else if (wire_decode(zmq_msg_data(&body), zmq_msg_size(&body), &f) != 0 ||
		    f->frame_case != CLUEBUS__FRAME__FRAME_PUBLISH) {
			admin_refuse(b, rid, (size_t)ridlen, NULL,
			    CLUEBUS__REJECT_CODE__REJECT_MALFORMED, "expected a publish frame");
		} else {
			admin_publish(b, rid, (size_t)ridlen, f->publish->envelope);
		}
		wire_free(f);
		while (zmq_msg_more(&body)) {	/* refuse extra parts by ignoring them */
			zmq_msg_close(&body);
			zmq_msg_init(&body);
			if (zmq_msg_recv(&body, b->admin, ZMQ_DONTWAIT) < 0)
				break;
		}
		zmq_msg_close(&body);
	}
}

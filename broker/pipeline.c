/* broker/pipeline.c — verify, dedup, route and append; one group commit per round.
 *
 * A round is everything frontend_drain() took off the socket in one pass. Its writes share
 * one LMDB transaction; its replies wait in b->pending until that transaction committed
 * (durable before acknowledged), then go out together. If any write fails, the whole round
 * is aborted and every publish in it is answered REJECT_UNAVAILABLE, so the agent retries
 * with the same message id: nothing is half-written and nothing accepted is lost.
 *
 * Checks, in order, for a publish: authenticated peer, size, sender == peer, key known and
 * valid now, signature over the exact carried bytes, then parse and validate, allowed kind,
 * dedup by (message id, sender); then, for a new message, a creation time within
 * clock_skew_ms of now (replay protection) and the workflow's preconditions. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "broker.h"
#include "envelope.h"
#include "log.h"
#include "route.h"
#include "util.h"
#include "workflow.h"

int
pipeline_txn(struct broker *b)
{
	int rc;

	if (b->round_failed)
		return CB_ESTORE;
	if (b->txn != NULL)
		return 0;
	if ((rc = store_begin(b->store, &b->txn)) != 0)
		b->round_failed = 1;
	return rc;
}

static void
pipeline_store_error(struct broker *b, int rc)
{
	if (rc == CB_ECORRUPT)
		fatalx("store is corrupt; refusing to continue");
	log_warnx("store error (%s): the round is aborted", cb_strerror(rc));
	b->round_failed = 1;
}

void
pipeline_reject(struct broker *b, struct unitq *uq, const uint8_t *rid, size_t ridlen,
    const char *claimed, const uint8_t *msgid, size_t idlen, int code, const char *reason,
    const void *raw, size_t rawlen)
{
	Cluebus__LogEntry e = CLUEBUS__LOG_ENTRY__INIT;
	Cluebus__Rejection rj = CLUEBUS__REJECTION__INIT;
	uint8_t digest[32], hash[CHAIN_HASH_LEN];
	char safe[80], idhex[33] = "-";
	int rc;

	str_sanitize(claimed, strnlen(claimed, 64), safe, sizeof(safe));
	if (idlen == 16)
		hex_encode(msgid, 16, idhex);
	log_warnx("rejected: peer=%s sender=%s id=%s code=%d: %s", uq != NULL ? uq->unit : "-",
	    safe, idhex, code, reason);
	b->count.rejected++;
	if (code >= 0 && code < 16)
		b->count.rejected_by_code[code]++;

	/* Frames from connections that never authenticated are answered and counted but not
	 * logged: anyone who can reach the port could otherwise fill the audit log. */
	if (uq == NULL)
		goto reply;
	/* The summary names the frame by its hash and size, never by its content: a rejected
	 * body may hold personal data. */
	if (raw == NULL || EVP_Digest(raw, rawlen, digest, NULL, EVP_sha256(), NULL) != 1)
		memset(digest, 0, sizeof(digest));
	rj.claimed_sender = safe;
	rj.message_id.data = (uint8_t *)msgid;
	rj.message_id.len = idlen == 16 ? 16 : 0;
	rj.code = code;
	rj.reason = (char *)reason;
	rj.frame_sha256.data = digest;
	rj.frame_sha256.len = sizeof(digest);
	rj.frame_size = rawlen;
	rj.peer_unit = uq != NULL ? uq->unit : (char *)"";
	e.type = CLUEBUS__ENTRY_TYPE__ENTRY_REJECTION;
	e.time_ms = broker_clock_ms();
	e.rejection = &rj;
	if ((rc = pipeline_txn(b)) == 0 &&
	    (rc = store_txn_append(b->txn, &e, NULL, 0, hash)) != 0)
		pipeline_store_error(b, rc);
reply:
	frontend_defer(b, rid, ridlen, frontend_rejected(msgid, idlen == 16 ? 16 : 0, code,
	    reason), 0, NULL);
}

static int
kind_allowed_from_unit(Cluebus__Kind k)
{
	return k != CLUEBUS__KIND__KIND_ESCALATION && k != CLUEBUS__KIND__KIND_REGISTRY &&
	    k != CLUEBUS__KIND__KIND_MATCH;
}

/* Answers a message id seen before: the original Accepted for the same sender, a
 * rejection for anyone else. Returns 1 when it answered, 0 when the id is new, or an
 * error. */
static int
pipeline_dedup(struct broker *b, const Cluebus__Message *m, const uint8_t *rid,
    size_t ridlen)
{
	Cluebus__LogEntry *orig;
	const uint8_t *val, *hash;
	uint64_t seq;
	size_t len;
	int rc, same;

	if ((rc = store_txn_msgid_get(b->txn, m->message_id.data, &seq)) == CB_ENOTFOUND)
		return 0;
	if (rc != 0 || (rc = store_txn_get(b->txn, seq, &val, &len)) != 0)
		return rc;
	if ((rc = chain_decode(val, len, &hash, &orig)) != 0)
		return rc;	/* CB_ENOMEM aborts the round; CB_ECORRUPT stops the broker */
	same = orig->envelope != NULL && orig->envelope->sender != NULL &&
	    strcmp(orig->envelope->sender, m->sender) == 0;
	if (same) {
		b->round.duplicates++;
		frontend_defer(b, rid, ridlen, frontend_accepted(m->message_id.data, seq, hash, 1,
		    orig->time_ms), 1, m->message_id.data);
	}
	cluebus__log_entry__free_unpacked(orig, NULL);
	if (!same)
		return 2;
	return 1;
}

/* Tells delivery that these units' backlogs grew. */
static void
pipeline_wake(struct broker *b, char *const *units, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct unitq *uq = frontend_unit(b, units[i]);

		if (uq != NULL)
			uq->has_more = 1;
	}
}

static int
pipeline_append_message(struct broker *b, Cluebus__Envelope *env, const Cluebus__Message *m,
    const route_result_t *res, const uint8_t *rid, size_t ridlen)
{
	Cluebus__LogEntry e = CLUEBUS__LOG_ENTRY__INIT;
	uint8_t hash[CHAIN_HASH_LEN];
	char *recips[ROUTE_MAX];
	int rc;

	for (size_t i = 0; i < res->n; i++)
		recips[i] = (char *)res->units[i];
	e.type = CLUEBUS__ENTRY_TYPE__ENTRY_MESSAGE;
	e.time_ms = broker_clock_ms();
	e.envelope = env;
	e.recipients = recips;
	e.n_recipients = res->n;
	if ((rc = store_txn_append(b->txn, &e, m->message_id.data, 0, hash)) != 0 ||
	    (rc = workflow_apply(b, m, res, e.time_ms)) != 0)
		return rc;
	pipeline_wake(b, recips, res->n);
	b->round.accepted++;
	return frontend_defer(b, rid, ridlen, frontend_accepted(m->message_id.data, e.seq, hash, 0,
	    e.time_ms), 1, m->message_id.data);
}

void
pipeline_publish(struct broker *b, struct unitq *uq, const uint8_t *rid, size_t ridlen,
    const Cluebus__Frame *f, const struct verify_job *pre, const void *raw, size_t rawlen)
{
	Cluebus__Envelope *env = f->publish->envelope;
	const uint8_t *hint = f->publish->message_id.data;
	size_t hintlen = f->publish->message_id.len == 16 ? 16 : 0;
	const char *sender = env->sender != NULL ? env->sender : "";
	Cluebus__Message *m = NULL;
	const cb_key_t *key;
	cb_error_t err;
	char reason[sizeof(err.field) + sizeof(err.reason) + 4];
	int code = 0, rc;

#define REJECT(c, why) do { code = (c); snprintf(reason, sizeof(reason), "%s", (why)); \
	goto reject; } while (0)

	if (uq == NULL)
		REJECT(CLUEBUS__REJECT_CODE__REJECT_NOT_AUTHENTICATED, "publish before hello");
	if (env->signed_.len > ENVELOPE_MAX)
		REJECT(CLUEBUS__REJECT_CODE__REJECT_TOO_LARGE, "message larger than 512 KiB");
	if (strcmp(sender, uq->unit) != 0)
		REJECT(CLUEBUS__REJECT_CODE__REJECT_SENDER_MISMATCH,
		    "envelope sender is not the authenticated unit");
	switch (registry_key_at(b->reg, sender, env->key_id.data, env->key_id.len,
	    broker_clock_ms(), &key)) {
	case REG_KEY_OK:
		break;
	case REG_KEY_UNKNOWN_UNIT:
		REJECT(CLUEBUS__REJECT_CODE__REJECT_UNKNOWN_SENDER, "sender is not registered");
	case REG_KEY_UNKNOWN_KEY:
		REJECT(CLUEBUS__REJECT_CODE__REJECT_UNKNOWN_KEY, "key id is not the sender's");
	case REG_KEY_REVOKED:
		REJECT(CLUEBUS__REJECT_CODE__REJECT_REVOKED_KEY, "key is no longer valid");
	}
	if ((pre != NULL && pre->env == env && pre->key == key ? pre->rc :
	    envelope_verify(env, key)) != 0)
		REJECT(CLUEBUS__REJECT_CODE__REJECT_BAD_SIGNATURE,
		    "signature does not verify over the carried bytes");
	if ((rc = envelope_open(env, &m, &err)) == CB_ENOMEM)
		goto unavailable;	/* not the message's fault: the agent retries */
	if (rc != 0) {
		code = CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY;
		snprintf(reason, sizeof(reason), "%s: %s", err.field, err.reason);
		goto reject;
	}
	hint = m->message_id.data;	/* verified now: the signed id wins over the hint */
	hintlen = 16;
	if (!kind_allowed_from_unit(m->kind))
		REJECT(CLUEBUS__REJECT_CODE__REJECT_FORBIDDEN_KIND,
		    "this kind is created by the broker only");
	if ((rc = pipeline_txn(b)) != 0)
		goto unavailable;
	if ((rc = pipeline_dedup(b, m, rid, ridlen)) == 2)
		REJECT(CLUEBUS__REJECT_CODE__REJECT_ID_CONFLICT,
		    "message id already used by another unit");
	if (rc < 0) {
		pipeline_store_error(b, rc);
		goto unavailable;
	}
	if (rc == 0) {
		route_result_t res;

		/* Replay protection for new messages only: a resend of an accepted one got its
		 * original answer above, however old its signature. */
		if (m->created_ms > clock_now_ms() + b->cfg.clock_skew_ms)
			REJECT(CLUEBUS__REJECT_CODE__REJECT_CLOCK_SKEW,
			    "created time is too far in the future");
		if (m->created_ms < clock_now_ms() - b->cfg.clock_skew_ms)
			REJECT(CLUEBUS__REJECT_CODE__REJECT_CLOCK_SKEW,
			    "created time is too far in the past (a replay, or a sender clock off)");
		if (route_message(b->cfg.route, b->reg, m, &res) != 0)
			REJECT(CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY, "cannot route this kind");
		if ((code = workflow_check(b, m, &res, reason, sizeof(reason))) > 0)
			goto reject;
		if (code < 0 || (rc = pipeline_append_message(b, env, m, &res, rid, ridlen)) != 0) {
			pipeline_store_error(b, code < 0 ? CB_ESTORE : rc);
			goto unavailable;
		}
	}
	protobuf_c_message_free_unpacked(&m->base, NULL);
	return;
#undef REJECT
reject:
	pipeline_reject(b, uq, rid, ridlen, sender, hint, hintlen, code, reason, raw, rawlen);
	if (m != NULL)
		protobuf_c_message_free_unpacked(&m->base, NULL);
	return;
unavailable:
	frontend_defer(b, rid, ridlen, frontend_rejected(hint, hintlen,
	    CLUEBUS__REJECT_CODE__REJECT_UNAVAILABLE, "store unavailable, retry"), 0, NULL);
	if (m != NULL)
		protobuf_c_message_free_unpacked(&m->base, NULL);
}

void
pipeline_ack(struct broker *b, struct unitq *uq, uint64_t upto)
{
	/* Only what was delivered in this session can be acknowledged. Acks are cumulative:
	 * the highest is kept and logged once per unit at the next commit. */
	if (upto > uq->sent_upto)
		upto = uq->sent_upto;
	if (upto <= uq->ack_upto)
		return;
	uq->ack_upto = upto;
	if (b->acks_since_ms == 0)
		b->acks_since_ms = clock_mono_ms();
}

int
pipeline_should_commit(const struct broker *b)
{
	/* Acks alone need no commit of their own: nobody waits for an answer to them, and a
	 * lost one only means a redelivery the agent drops. They ride along with the next
	 * round that commits anyway, or wait at most ACK_LINGER_MS (which bounds how long a
	 * unit's window stays full), saving two fsyncs per ack round. */
	return b->txn != NULL || b->npending > 0 || b->round_failed ||
	    (b->acks_since_ms != 0 && clock_mono_ms() - b->acks_since_ms >= ACK_LINGER_MS);
}

/* Logs the round's acknowledgements: one ENTRY_ACK per unit (per 256 items), and takes
 * the items off the unit's backlog. */
static void
pipeline_log_acks(struct broker *b, struct unitq *uq)
{
	Cluebus__LogEntry e = CLUEBUS__LOG_ENTRY__INIT;
	Cluebus__DeliveryAck da = CLUEBUS__DELIVERY_ACK__INIT;
	uint8_t hash[CHAIN_HASH_LEN];
	uint64_t seqs[256], upto = uq->ack_upto;
	size_t n;
	int rc;

	uq->ack_upto = 0;
	if (pipeline_txn(b) != 0)
		return;
	do {
		if ((rc = store_txn_backlog_ack(b->txn, uq->unit, upto, seqs, 256, &n)) != 0) {
			pipeline_store_error(b, rc);
			return;
		}
		if (n == 0)
			break;
		da.unit = uq->unit;
		da.seqs = seqs;
		da.n_seqs = n;
		e.type = CLUEBUS__ENTRY_TYPE__ENTRY_ACK;
		e.time_ms = broker_clock_ms();
		e.ack = &da;
		if ((rc = store_txn_append(b->txn, &e, NULL, 0, hash)) != 0) {
			pipeline_store_error(b, rc);
			return;
		}
		uq->acked_round += (unsigned)n;
		b->round.acked += n;
	} while (n == 256);
}

int
pipeline_append_own(struct broker *b, Cluebus__Message *m, char **recipients,
    size_t nrecipients, int registry)
{
	Cluebus__LogEntry e = CLUEBUS__LOG_ENTRY__INIT;
	Cluebus__Envelope *env = NULL;
	uint8_t hash[CHAIN_HASH_LEN], id[16];
	int rc;

	if ((rc = pipeline_txn(b)) != 0)
		return rc;
	if (rand_bytes(id, sizeof(id)) != 0)
		return CB_ECRYPTO;
	m->message_id.data = id;
	m->message_id.len = 16;
	m->sender = (char *)REGISTRY_BROKER_UNIT;
	m->created_ms = broker_clock_ms();
	if ((rc = envelope_sign(m, b->key, &env)) != 0)
		goto out;
	e.type = CLUEBUS__ENTRY_TYPE__ENTRY_BROKER;
	e.time_ms = m->created_ms;
	e.envelope = env;
	e.recipients = recipients;
	e.n_recipients = nrecipients;
	if ((rc = store_txn_append(b->txn, &e, id, registry, hash)) == 0)
		pipeline_wake(b, recipients, nrecipients);
out:
	m->message_id.data = NULL;
	m->message_id.len = 0;
	m->key_id.data = NULL;
	m->key_id.len = 0;
	m->sender = (char *)protobuf_c_empty_string;
	envelope_free(env);
	return rc;
}

static void
pipeline_fail_round(struct broker *b)
{
	for (size_t i = 0; i < b->npending; i++) {
		struct pending *p = &b->pending[i];

		if (!p->accepted)
			continue;
		cluebus__frame__free_unpacked(p->reply, NULL);
		p->reply = frontend_rejected(p->msgid, 16, CLUEBUS__REJECT_CODE__REJECT_UNAVAILABLE,
		    "store unavailable, retry");
	}
	for (size_t i = 0; i < b->nunits; i++)
		b->units[i].acked_round = 0;
}

void
pipeline_commit(struct broker *b)
{
	int rc;

	for (size_t i = 0; i < b->nunits; i++)
		if (b->units[i].ack_upto != 0)
			pipeline_log_acks(b, &b->units[i]);
	b->acks_since_ms = 0;
	if (b->txn != NULL && !b->round_failed) {
		rc = store_txn_commit(b->txn);
		b->txn = NULL;
		if (rc != 0) {
			pipeline_store_error(b, rc);
		} else {
			b->count.commits++;
			b->count.accepted += b->round.accepted;
			b->count.duplicates += b->round.duplicates;
			b->count.acked += b->round.acked;
		}
	}
	memset(&b->round, 0, sizeof(b->round));
	if (b->round_failed) {
		store_txn_abort(b->txn);
		b->txn = NULL;
		pipeline_fail_round(b);
	}
	for (size_t i = 0; i < b->nunits; i++) {
		struct unitq *uq = &b->units[i];

		if (uq->acked_round == 0)
			continue;
		uq->inflight = uq->inflight > uq->acked_round ? uq->inflight - uq->acked_round : 0;
		uq->acked_round = 0;
		uq->resends = 0;
		uq->has_more = 1;
		uq->progress_ms = clock_mono_ms();
	}
	for (size_t i = 0; i < b->npending; i++) {
		if (b->pending[i].reply != NULL) {
			frontend_send(b, b->pending[i].rid, b->pending[i].ridlen,
			    b->pending[i].reply);
			cluebus__frame__free_unpacked(b->pending[i].reply, NULL);
		}
	}
	b->npending = 0;
	b->round_failed = 0;
}

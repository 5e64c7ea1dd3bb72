/* broker/pipeline.c — a publish: authenticate, verify, dedup, check, route, append.
 *
 * Checks, in order: authenticated peer, size, sender == peer, key known and valid now,
 * signature over the exact carried bytes, then parse and validate, allowed kind, dedup by
 * (message id, sender); then, for a new message, room in the log (broker/limits.c: refused
 * "unavailable" with the reason, not logged), a creation time within clock_skew_ms of
 * now (replay protection), a route, and the workflow's preconditions. Each check is one
 * step below; a step returns 0 or a CB_E* error and refuses through the publish's verdict.
 * The answer is deferred to the round (broker/round.c) in one place, publish_answer():
 *
 *   the steps in order --error--------> "unavailable, retry" (the agent resends)
 *          |           --verdict------> Rejected with the verdict's code, summary logged
 *          |           --duplicate----> the original Accepted (deferred by the dedup step)
 *          v
 *       appended ---------------------> Accepted (deferred by the append step)
 *
 * Invariant: a message is appended only after every check passed, and its Accepted is sent
 * only after its round committed. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "broker.h"
#include "cases.h"
#include "envelope.h"
#include "log.h"
#include "match.h"
#include "route.h"
#include "seal.h"
#include "sealbody.h"
#include "unpack.h"
#include "util.h"
#include "wire.h"
#include "workflow.h"

#define CLAIMED_MAX	64	/* bytes of a claimed sender worth logging */
#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

/* One publish on its way through the steps. */
struct publish {
	struct broker		*b;
	struct unitq		*uq;		/* NULL: unauthenticated */
	const uint8_t		*rid;
	size_t			 ridlen;
	Cluebus__Envelope	*env;
	const char		*sender;	/* as the envelope claims it */
	const struct verify_job	*pre;
	const void		*raw;
	size_t			 rawlen;
	const uint8_t		*id;		/* the frame's hint, then the signed id */
	size_t			 idlen;		/* MESSAGE_ID_LEN, or 0 for none */
	int			 id_verified;	/* id is the signed one (the body opened) */
	const cb_key_t		*key;		/* the sender's key now */
	Cluebus__Message	*m;		/* opened; owned */
	route_result_t		 res;
	struct verdict		 v;		/* code != 0: refused */
	int			 answered;	/* a resend got its original Accepted */
};

const struct ratelimit_policy refusal_policy_unit = RATELIMIT_POLICY_DEFAULT;
const struct ratelimit_policy refusal_policy_anon = { 10.0, 100.0, UINT64_MAX, 0, 0 };

/* The reason as logged: "field: reason" when the verdict names a field its reason does not
 * start with. */
static void
pipeline_reason(const struct verdict *v, char *out, size_t outlen)
{
	size_t n = strlen(v->field);

	if (n > 0 && !(strncmp(v->reason, v->field, n) == 0 && v->reason[n] == ':'))
		snprintf(out, outlen, "%s: %s", v->field, v->reason);
	else
		snprintf(out, outlen, "%s", v->reason);
}

/* Appends the ENTRY_REJECTION of a frame from `uq` to the round. The summary names the
 * frame by its hash and size, never by its content: a rejected body may hold personal
 * data. The id is recorded as verified only when it was signed; otherwise it is the
 * claimed id. A store error fails the round. */
static void
pipeline_log_rejection(struct broker *b, struct unitq *uq, const char *claimed,
    const struct refusal *r, const struct verdict *v, uint64_t unlogged, int64_t since_ms)
{
	Cluebus__LogEntry e = CLUEBUS__LOG_ENTRY__INIT;
	Cluebus__Rejection rj = CLUEBUS__REJECTION__INIT;
	uint8_t digest[32], hash[CHAIN_HASH_LEN];
	char reason[sizeof(v->field) + sizeof(v->reason) + 2];
	int rc;

	if (r->raw == NULL ||
	    EVP_Digest(r->raw, r->rawlen, digest, NULL, EVP_sha256(), NULL) != 1)
		memset(digest, 0, sizeof(digest));
	pipeline_reason(v, reason, sizeof(reason));
	e.time_ms = broker_clock_ms();
	rj.claimed_sender = (char *)claimed;
	if (r->id_verified) {
		rj.message_id.data = (uint8_t *)r->id;
		rj.message_id.len = r->idlen;
	} else {
		rj.claimed_message_id.data = (uint8_t *)r->id;
		rj.claimed_message_id.len = r->idlen;
	}
	rj.code = v->code;
	rj.reason = reason;
	rj.frame_sha256.data = digest;
	rj.frame_sha256.len = sizeof(digest);
	rj.frame_size = r->rawlen;
	rj.peer_unit = uq->unit;
	rj.unlogged_before = unlogged;
	/* since_ms is monotonic: the log gets the broker's time of that moment. */
	rj.unlogged_since_ms = unlogged > 0 ? e.time_ms - (clock_mono_ms() - since_ms) : 0;
	e.type = CLUEBUS__ENTRY_TYPE__ENTRY_REJECTION;
	e.rejection = &rj;
	if ((rc = round_txn(b)) == 0 &&
	    (rc = store_txn_append(b->txn, &e, NULL, 0, hash)) != 0)
		round_store_error(b, rc);
}

void
pipeline_reject(struct broker *b, struct unitq *uq, const struct refusal *r,
    const struct verdict *v)
{
	char safe[80], idhex[CB_MESSAGE_ID_HEX_SIZE] = "-";
	char reason[sizeof(v->field) + sizeof(v->reason) + 2];
	char earlier[64] = "";
	struct refusal rr = *r;
	uint64_t unlogged;
	int64_t since;

	if (rr.idlen != MESSAGE_ID_LEN)
		rr.idlen = 0;
	b->count.rejected++;
	if (v->code >= 0 && v->code < (int)NITEMS(b->count.rejected_by_code))
		b->count.rejected_by_code[v->code]++;
	switch (ratelimit_refusal(uq != NULL ? &uq->refusals : &b->anon_refusals,
	    uq != NULL ? &refusal_policy_unit : &refusal_policy_anon, clock_mono_ms(), &unlogged, &since)) {
	case RATELIMIT_LOG:
		break;
	case RATELIMIT_QUIET:
		b->count.unlogged++;
		round_defer(b, rr.rid, rr.ridlen, reply_refusal(rr.id, rr.idlen, v), 0, NULL);
		return;
	case RATELIMIT_CUT:
		b->count.unlogged++;
		b->count.cutoffs++;
		if (uq->refusals.cut_until_ms > b->cut_until_ms)
			b->cut_until_ms = uq->refusals.cut_until_ms;
		log_warnx("unit %s cut off until %lld ms from now: %llu refusals in a row past its "
		    "limit; its frames are dropped unanswered until then", uq->unit,
		    (long long)(uq->refusals.cut_until_ms - clock_mono_ms()),
		    (unsigned long long)refusal_policy_unit.cut_after);
		return;
	case RATELIMIT_DROPPED:
	default:
		b->count.dropped++;
		return;
	}
	str_sanitize(rr.claimed, strnlen(rr.claimed, CLAIMED_MAX), safe, sizeof(safe));
	if (rr.idlen != 0)
		hex_encode(rr.id, MESSAGE_ID_LEN, idhex);
	pipeline_reason(v, reason, sizeof(reason));
	if (unlogged > 0)
		snprintf(earlier, sizeof(earlier), "; %llu earlier refusal%s not logged",
		    (unsigned long long)unlogged, unlogged == 1 ? "" : "s");
	log_warnx("rejected: peer=%s sender=%s id=%s%s code=%s: %s%s",
	    uq != NULL ? uq->unit : "-", safe, idhex,
	    rr.idlen != 0 && !rr.id_verified ? " (claimed)" : "", wire_reject_name(v->code),
	    reason, earlier);
	/* Frames from connections that never authenticated are answered and counted but not
	 * logged: anyone who can reach the port could otherwise fill the audit log. */
	if (uq != NULL)
		pipeline_log_rejection(b, uq, safe, &rr, v, unlogged, since);
	round_defer(b, rr.rid, rr.ridlen, reply_refusal(rr.id, rr.idlen, v), 0, NULL);
}

void
pipeline_refusal_summaries(struct broker *b, int64_t now_mono)
{
	for (size_t i = 0; i < b->nunits; i++) {
		struct unitq *uq = &b->units[i];
		struct refusal r = { .claimed = "" };
		struct verdict v;
		uint64_t unlogged;
		int64_t since;

		if (!ratelimit_summary(&uq->refusals, &refusal_policy_unit, now_mono, &unlogged, &since))
			continue;
		reply_verdict(&v, CLUEBUS__REJECT_CODE__REJECT_RATE_LIMITED, "%llu refusal%s of "
		    "this unit answered but not logged one by one (over its limit)",
		    (unsigned long long)unlogged, unlogged == 1 ? "" : "s");
		log_warnx("unit %s: %s", uq->unit, v.reason);
		pipeline_log_rejection(b, uq, "", &r, &v, unlogged, since);
	}
}

/* The peer said hello, the frame fits, it names the peer as sender, with a key valid now. */
static int
publish_authenticate(struct publish *p)
{
	struct verdict *v = &p->v;

	if (p->uq == NULL)
		return reply_verdict(v, CLUEBUS__REJECT_CODE__REJECT_NOT_AUTHENTICATED,
		    "publish before hello");
	if (p->env->signed_.len > ENVELOPE_MAX)
		return reply_verdict(v, CLUEBUS__REJECT_CODE__REJECT_TOO_LARGE,
		    "message larger than 512 KiB");
	if (strcmp(p->sender, p->uq->unit) != 0)
		return reply_verdict(v, CLUEBUS__REJECT_CODE__REJECT_SENDER_MISMATCH,
		    "envelope sender is not the authenticated unit");
	switch (registry_key_at(p->b->reg, p->sender, p->env->key_id.data, p->env->key_id.len,
	    broker_clock_ms(), &p->key)) {
	case REG_KEY_OK:
		return 0;
	case REG_KEY_UNKNOWN_UNIT:
		return reply_verdict(v, CLUEBUS__REJECT_CODE__REJECT_UNKNOWN_SENDER,
		    "sender is not registered");
	case REG_KEY_UNKNOWN_KEY:
		return reply_verdict(v, CLUEBUS__REJECT_CODE__REJECT_UNKNOWN_KEY,
		    "key id is not the sender's");
	case REG_KEY_REVOKED:
	default:
		return reply_verdict(v, CLUEBUS__REJECT_CODE__REJECT_REVOKED_KEY,
		    "key is no longer valid");
	}
}

/* The signature covers the carried bytes (checked in advance on a worker when it could). */
static int
publish_verify(struct publish *p)
{
	const struct verify_job *pre = p->pre;

	/* A check done in advance counts only if made with the key that is the sender's now. */
	if (pre != NULL && pre->env == p->env && pre->key == p->key ? pre->rc != 0 :
	    envelope_verify(p->env, p->key) != 0)
		return reply_verdict(&p->v, CLUEBUS__REJECT_CODE__REJECT_BAD_SIGNATURE,
		    "signature does not verify over the carried bytes");
	return 0;
}

/* The city correlation key comes from the city office alone, and goes only to units that
 * can open it: each unit it names must be registered with a valid sealing key
 * (docs/correlation.md §6). */
static int
publish_check_key_holders(struct publish *p)
{
	const Cluebus__CorrelationKey *k = p->m->correlation_key;

	if (strcmp(p->m->sender, route_office(p->b->cfg.route)) != 0)
		return reply_verdict_field(&p->v, CLUEBUS__REJECT_CODE__REJECT_FORBIDDEN_KIND,
		    "kind", "only the city office (%s) distributes the correlation key",
		    route_office(p->b->cfg.route));
	for (size_t i = 0; i < k->n_to_units; i++) {
		char path[48];

		if (registry_current_seal(p->b->reg, k->to_units[i]) != NULL)
			continue;
		snprintf(path, sizeof(path), "correlation_key.to_units[%zu]", i);
		return reply_verdict_field(&p->v, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY,
		    path, "unit '%s' is %s", k->to_units[i],
		    registry_unit(p->b->reg, k->to_units[i]) == NULL ? "not registered" :
		    "registered without a valid sealing key: it could not open the key");
	}
	return 0;
}

/* The body parses and validates, and is of a kind units may send. Out of memory is not
 * the message's fault: CB_ENOMEM, and the agent retries. */
static int
publish_open(struct publish *p)
{
	cb_error_t err;
	int rc;

	if ((rc = envelope_open(p->env, &p->m, &err)) == CB_ENOMEM)
		return rc;
	if (rc != 0)
		return reply_verdict_field(&p->v, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY,
		    err.field, "%s: %s", err.field, err.reason);
	p->id = p->m->message_id.data;	/* verified now: the signed id wins over the hint */
	p->idlen = MESSAGE_ID_LEN;
	p->id_verified = 1;
	switch (p->m->kind) {
	case CLUEBUS__KIND__KIND_ESCALATION:
	case CLUEBUS__KIND__KIND_REGISTRY:
	case CLUEBUS__KIND__KIND_MATCH:
		return reply_verdict(&p->v, CLUEBUS__REJECT_CODE__REJECT_FORBIDDEN_KIND,
		    "this kind is created by the broker only");
	case CLUEBUS__KIND__KIND_CORRELATION_KEY:
		return publish_check_key_holders(p);
	default:
		return 0;
	}
}

/* Whether the logged message of `orig` has the content of `m` (message_same_content:
 * a resend, perhaps signed again). Returns 1, 0, CB_ECORRUPT (the logged bytes are not a
 * message) or CB_ENOMEM. */
static int
publish_same_content(const Cluebus__LogEntry *orig, const Cluebus__Message *m)
{
	ProtobufCMessage *om;
	int rc;

	if ((rc = unpack_stored(&cluebus__message__descriptor, orig->envelope->signed_.data,
	    orig->envelope->signed_.len, &om)) != 0)
		return rc;
	rc = message_same_content((Cluebus__Message *)om, m);
	protobuf_c_message_free_unpacked(om, NULL);
	return rc;
}

/* A message id seen before: the sender's own resend of the same content (SPEC §6: the
 * same message, even signed again) gets the original Accepted; the same id with other
 * content, or from another unit, is an id conflict. A new id goes on. */
static int
publish_dedup(struct publish *p)
{
	struct broker *b = p->b;
	Cluebus__LogEntry *orig;
	const uint8_t *val, *hash;
	uint64_t seq;
	size_t len;
	int rc;

	if ((rc = round_txn(b)) != 0)
		return rc;
	if ((rc = store_txn_msgid_get(b->txn, p->id, &seq)) == CB_ENOTFOUND)
		return 0;
	/* CB_ENOMEM aborts the round; CB_ECORRUPT stops the broker. */
	if (rc != 0 || (rc = store_txn_get(b->txn, seq, &val, &len)) != 0 ||
	    (rc = chain_decode(val, len, &hash, &orig)) != 0) {
		round_store_error(b, rc);
		return rc;
	}
	if (orig->envelope == NULL || orig->envelope->sender == NULL ||
	    strcmp(orig->envelope->sender, p->m->sender) != 0) {
		reply_verdict_field(&p->v, CLUEBUS__REJECT_CODE__REJECT_ID_CONFLICT, "message_id",
		    "message id already used by another unit");
	} else if ((rc = publish_same_content(orig, p->m)) == 1) {
		b->round.duplicates++;
		p->answered = 1;
		round_defer(b, p->rid, p->ridlen, reply_accepted(p->id, seq, hash, 1,
		    orig->time_ms, orig->recipients, orig->n_recipients), 1, p->id);
	} else if (rc == 0) {
		reply_verdict_field(&p->v, CLUEBUS__REJECT_CODE__REJECT_ID_CONFLICT, "message_id",
		    "message id already used by this unit for a different message (log entry "
		    "%llu): a new message needs a new id", (unsigned long long)seq);
	} else if (rc == CB_ECORRUPT) {
		round_store_error(b, rc);
	}
	cluebus__log_entry__free_unpacked(orig, NULL);
	return rc < 0 ? rc : 0;
}

/* A new message while the log has no room (broker/limits.c): refused with the reason,
 * and not logged as a rejection (that would take the room acks need). */
static int
publish_check_room(struct publish *p)
{
	struct broker *b = p->b;

	if (b->fig.unavailable[0] == '\0')
		return 0;
	p->answered = 1;
	b->count.rejected++;
	b->count.rejected_by_code[CLUEBUS__REJECT_CODE__REJECT_UNAVAILABLE]++;
	return round_defer(b, p->rid, p->ridlen, reply_rejected(p->id, p->idlen,
	    CLUEBUS__REJECT_CODE__REJECT_UNAVAILABLE, b->fig.unavailable), 0, NULL);
}

/* Replay protection for new messages only: a resend of an accepted one got its original
 * answer in the dedup step, however old its signature. */
static int
publish_check_time(struct publish *p)
{
	int64_t now = clock_now_ms(), skew = p->b->cfg.clock_skew_ms;

	if (p->m->created_ms > now + skew)
		return reply_verdict(&p->v, CLUEBUS__REJECT_CODE__REJECT_CLOCK_SKEW,
		    "created time is too far in the future");
	if (p->m->created_ms < now - skew)
		return reply_verdict(&p->v, CLUEBUS__REJECT_CODE__REJECT_CLOCK_SKEW,
		    "created time is too far in the past (a replay, or a sender clock off)");
	return 0;
}

/* The routing table names the recipients of the message's kind and category. */
static int
publish_route(struct publish *p)
{
	struct broker *b = p->b;

	if (route_message(b->cfg.route, b->reg, p->m, &p->res) == 0)
		return 0;
	return reply_verdict(&p->v, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY,
	    "cannot route this kind");
}

/* The case records and the referral state allow the message; they may add recipients. */
static int
publish_check_workflow(struct publish *p)
{
	int rc;

	if ((rc = cases_check(p->b, p->m, &p->res, &p->v)) != 0 ||
	    (p->v.code == 0 && (rc = workflow_check(p->b, p->m, &p->res, &p->v)) != 0))
		round_store_error(p->b, rc);
	return rc;
}

/* A body with personal data in clear is refused when the broker requires sealing. A
 * sealed body was sealed to exactly the units the broker routes it to (SPEC §10): the
 * sender's directory may be older than the broker's, or its workflow knowledge (who
 * referred what) behind; either way the agent refetches, reseals and sends again. The
 * broker reads unit ids only; it holds no sealing key. */
static int
publish_check_sealed(struct publish *p)
{
	const Cluebus__Sealed *s = sealbody_sealed(p->m);
	const char *units[ROUTE_MAX];
	const char *sealed_units[SEAL_MAX_RECIPIENTS];
	char list[256];
	size_t n, nunits = 0, used = 0;
	cb_error_t err;

	if (s == NULL) {
		if (p->b->cfg.require_sealed && sealbody_clear_field(p->m, &err) != 0)
			return reply_verdict_field(&p->v,
			    CLUEBUS__REJECT_CODE__REJECT_NOT_SEALED, err.field, "%s", err.reason);
		return 0;
	}
	if (seal_recipients(s, sealed_units, &n, &err) != 0)
		return reply_verdict_field(&p->v, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY,
		    err.field, "%s", err.reason);
	/* A routed unit without a valid sealing key is routed the message but not sealed to. */
	for (size_t i = 0; i < p->res.n; i++)
		if (registry_current_seal(p->b->reg, p->res.units[i]) != NULL)
			units[nunits++] = p->res.units[i];
	if (seal_recipients_equal(s, units, nunits))
		return 0;
	list[0] = '\0';
	for (size_t i = 0; i < nunits && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
		    i > 0 ? " " : "", units[i]);
	reply_verdict_field(&p->v, CLUEBUS__REJECT_CODE__REJECT_STALE_DIRECTORY,
	    "sealed", "sealed to %zu units, the broker's are %zu: %s (refetch the directory "
	    "and seal again)", n, nunits, list);
	p->v.directory_version = p->b->directory_version;
	return 0;
}

/* Logs the message, updates the workflow in the same transaction, wakes the recipients'
 * deliveries and defers the Accepted. */
static int
publish_append(struct publish *p)
{
	struct broker *b = p->b;
	Cluebus__LogEntry e = CLUEBUS__LOG_ENTRY__INIT;
	uint8_t hash[CHAIN_HASH_LEN];
	char *recips[ROUTE_MAX];
	int rc;

	for (size_t i = 0; i < p->res.n; i++)
		recips[i] = (char *)p->res.units[i];
	e.type = CLUEBUS__ENTRY_TYPE__ENTRY_MESSAGE;
	e.time_ms = broker_clock_ms();
	e.envelope = p->env;
	e.recipients = recips;
	e.n_recipients = p->res.n;
	if ((rc = store_txn_append(b->txn, &e, p->id, 0, hash)) != 0 ||
	    (rc = workflow_apply(b, p->m, &p->res, e.time_ms)) != 0 ||
	    (rc = cases_apply(b, p->m, e.time_ms)) != 0 ||
	    (rc = match_apply(b, p->m, e.seq, e.time_ms)) != 0)
		goto fail;
	round_wake(b, recips, p->res.n);
	b->round.accepted++;
	if ((unsigned)p->m->kind < KINDS_COUNTED)
		b->round.accepted_by_kind[p->m->kind]++;
	if ((rc = round_defer(b, p->rid, p->ridlen, reply_accepted(p->id, e.seq, hash, 0,
	    e.time_ms, recips, p->res.n), 1, p->id)) != 0)
		goto fail;
	return 0;
fail:
	round_store_error(b, rc);
	return rc;
}

/* The one exit: what the sender is told, unless a step deferred its Accepted. */
static void
publish_answer(struct publish *p, int rc)
{
	if (rc != 0)
		round_defer(p->b, p->rid, p->ridlen, reply_rejected(p->id, p->idlen,
		    CLUEBUS__REJECT_CODE__REJECT_UNAVAILABLE, "store unavailable, retry"), 0, NULL);
	else if (p->v.code != 0) {
		struct refusal r = { p->rid, p->ridlen, p->sender, p->id, p->idlen,
		    p->id_verified, p->raw, p->rawlen };

		pipeline_reject(p->b, p->uq, &r, &p->v);
	}
}

void
pipeline_publish(struct broker *b, struct unitq *uq, const uint8_t *rid, size_t ridlen,
    const Cluebus__Frame *f, const struct verify_job *pre, const void *raw, size_t rawlen)
{
	static int (*const steps[])(struct publish *) = {
		publish_authenticate, publish_verify, publish_open, publish_dedup,
		publish_check_room, publish_check_time, publish_route, publish_check_workflow,
		publish_check_sealed, publish_append,
	};
	Cluebus__Envelope *env = f->publish->envelope;
	struct publish p = {
		.b = b, .uq = uq, .rid = rid, .ridlen = ridlen, .env = env,
		.sender = env->sender != NULL ? env->sender : "", .pre = pre, .raw = raw,
		.rawlen = rawlen, .id = f->publish->message_id.data,
		.idlen = f->publish->message_id.len == MESSAGE_ID_LEN ? MESSAGE_ID_LEN : 0,
	};
	int rc = 0;

	for (size_t i = 0; i < NITEMS(steps) && rc == 0 && p.v.code == 0 && !p.answered; i++)
		rc = steps[i](&p);
	publish_answer(&p, rc);
	if (p.m != NULL)
		protobuf_c_message_free_unpacked(&p.m->base, NULL);
}

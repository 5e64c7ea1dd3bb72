/* broker/round.c — the commit round: one LMDB transaction, its deferred replies, its acks.
 *
 * A round is everything the broker handles between two commits: the publishes of one pass
 * over the socket, the acks waiting to be logged, the escalations of a timer tick. Its
 * writes share one transaction (one fsync); its replies wait in b->pending until that
 * transaction committed (durable before acknowledged) and are then handed, in arrival
 * order, to the send function the caller of round_commit() gives, so this module never
 * touches a socket. Invariants: (1) if any write fails the whole round is aborted and every
 * Accepted it owes becomes REJECT_UNAVAILABLE, so the agent retries with the same id and
 * nothing accepted is lost; (2) counters and delivery windows move only after the commit
 * succeeded; (3) a corrupt store (CB_ECORRUPT) stops the broker: it never answers "retry"
 * over data it cannot trust. */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "match.h"
#include "envelope.h"
#include "log.h"
#include "util.h"

#define ACKS_PER_ENTRY	256

int
round_txn(struct broker *b)
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

void
round_store_error(struct broker *b, int rc)
{
	if (rc == CB_ECORRUPT)
		fatalx("store is corrupt; refusing to continue");
	log_warnx("store error (%s): the round is aborted", cb_strerror(rc));
	b->round_failed = 1;
}

int
round_defer(struct broker *b, const uint8_t *rid, size_t ridlen, Cluebus__Frame *reply,
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
		memcpy(p->msgid, msgid, MESSAGE_ID_LEN);
	return 0;
}

void
round_wake(struct broker *b, char *const *units, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct unitq *uq = units_find(b, units[i]);

		if (uq != NULL)
			uq->has_more = 1;
	}
}

int
round_append_own(struct broker *b, Cluebus__Message *m, char **recipients,
    size_t nrecipients, int registry)
{
	Cluebus__LogEntry e = CLUEBUS__LOG_ENTRY__INIT;
	Cluebus__Envelope *env = NULL;
	uint8_t hash[CHAIN_HASH_LEN], id[MESSAGE_ID_LEN];
	int rc;

	if ((rc = round_txn(b)) != 0)
		return rc;
	if (rand_bytes(id, sizeof(id)) != 0)
		return CB_ECRYPTO;
	m->message_id.data = id;
	m->message_id.len = sizeof(id);
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
		round_wake(b, recipients, nrecipients);
out:
	m->message_id.data = NULL;
	m->message_id.len = 0;
	m->key_id.data = NULL;
	m->key_id.len = 0;
	m->sender = (char *)protobuf_c_empty_string;
	envelope_free(env);
	return rc;
}

void
round_ack(struct broker *b, struct unitq *uq, uint64_t upto)
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
round_due(const struct broker *b)
{
	/* Acks alone need no commit of their own: nobody waits for an answer to them, and a
	 * lost one only means a redelivery the agent drops. They ride along with the next
	 * round that commits anyway, or wait at most ACK_LINGER_MS (which bounds how long a
	 * unit's window stays full). */
	return b->txn != NULL || b->npending > 0 || b->round_failed ||
	    (b->acks_since_ms != 0 && clock_mono_ms() - b->acks_since_ms >= ACK_LINGER_MS);
}

/* Logs the round's acknowledgements of `uq`: one ENTRY_ACK per ACKS_PER_ENTRY items, and
 * takes the items off the unit's backlog. */
static void
round_log_acks(struct broker *b, struct unitq *uq)
{
	Cluebus__LogEntry e = CLUEBUS__LOG_ENTRY__INIT;
	Cluebus__DeliveryAck da = CLUEBUS__DELIVERY_ACK__INIT;
	uint8_t hash[CHAIN_HASH_LEN];
	uint64_t seqs[ACKS_PER_ENTRY], upto = uq->ack_upto;
	size_t n;
	int rc;

	uq->ack_upto = 0;
	if (round_txn(b) != 0)
		return;
	do {
		if ((rc = store_txn_backlog_ack(b->txn, uq->unit, upto, seqs, ACKS_PER_ENTRY,
		    &n)) != 0) {
			round_store_error(b, rc);
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
			round_store_error(b, rc);
			return;
		}
		uq->acked_round += (unsigned)n;
		b->round.acked += n;
	} while (n == ACKS_PER_ENTRY);
}

/* The round's transaction is gone: every Accepted it owes becomes "retry". */
static void
round_fail(struct broker *b)
{
	store_txn_abort(b->txn);
	b->txn = NULL;
	match_round_end(b, 0);
	for (size_t i = 0; i < b->npending; i++) {
		struct pending *p = &b->pending[i];

		if (!p->accepted)
			continue;
		cluebus__frame__free_unpacked(p->reply, NULL);
		p->reply = reply_rejected(p->msgid, MESSAGE_ID_LEN,
		    CLUEBUS__REJECT_CODE__REJECT_UNAVAILABLE, "store unavailable, retry");
	}
	for (size_t i = 0; i < b->nunits; i++)
		b->units[i].acked_round = 0;
}

/* The acks that committed free room in their units' windows. */
static void
round_open_windows(struct broker *b)
{
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
}

void
round_commit(struct broker *b, round_send_fn *send, void *arg)
{
	int rc;

	for (size_t i = 0; i < b->nunits; i++)
		if (b->units[i].ack_upto != 0)
			round_log_acks(b, &b->units[i]);
	b->acks_since_ms = 0;
	if (b->txn != NULL && !b->round_failed && (rc = match_round_flush(b)) != 0)
		round_store_error(b, rc);
	if (b->txn != NULL && !b->round_failed) {
		int64_t t0 = status_now_us();

		rc = store_txn_commit(b->txn);
		b->txn = NULL;
		match_round_end(b, rc == 0);
		if (rc != 0) {
			round_store_error(b, rc);
		} else {
			status_observe_commit(b, status_now_us() - t0, b->round.accepted);
			b->count.commits++;
			b->count.accepted += b->round.accepted;
			b->count.duplicates += b->round.duplicates;
			b->count.acked += b->round.acked;
			for (size_t k = 0; k < KINDS_COUNTED; k++)
				b->count.accepted_by_kind[k] += b->round.accepted_by_kind[k];
		}
	}
	memset(&b->round, 0, sizeof(b->round));
	if (b->round_failed)
		round_fail(b);
	round_open_windows(b);
	for (size_t i = 0; i < b->npending; i++) {
		if (b->pending[i].reply != NULL) {
			send(arg, b->pending[i].rid, b->pending[i].ridlen, b->pending[i].reply);
			cluebus__frame__free_unpacked(b->pending[i].reply, NULL);
		}
	}
	b->npending = 0;
	b->round_failed = 0;
	/* A case action committed: the directory lists open cases' task forces (dirserve.c).
	 * After a failed round it finds the version unchanged. */
	if (b->directory_dirty && dirserve_update(b, 1) != 0)
		log_warnx("the directory stays at version %llu until the next change",
		    (unsigned long long)b->directory_version);
}

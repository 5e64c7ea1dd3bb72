/* broker/delivery.c — per-unit delivery windows fed from the LMDB backlog.
 *
 * Each online unit has at most cfg.window deliveries in flight. The backlog is the truth:
 * memory holds only a cursor (sent_upto) and a count, so a slow or dead recipient costs a
 * few bytes here while its backlog grows on disk. Deliveries go out in log order; a unit
 * that makes no progress for redeliver_ms gets its window again from the oldest unacked
 * item (the agent drops duplicates), at most RESENDS_MAX times in a row: a connection that
 * heartbeats but never reads would otherwise queue a window in ZeroMQ every redeliver_ms,
 * without bound. An ack or a new hello starts the count again. A unit silent for
 * peer_timeout_ms goes offline. */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "cases.h"
#include "log.h"
#include "unpack.h"
#include "util.h"
#include "workflow.h"
#include "wire.h"

/* Windows resent in a row without an ack: bounds what one peer can have queued in ZeroMQ to
 * (RESENDS_MAX + 1) x window deliveries. An agent that lost deliveries says hello again
 * when it reconnects, which resends its window at once. */
#define RESENDS_MAX	3

struct pump_ctx {
	struct broker	*b;
	struct unitq	*uq;
	size_t		 sent;
	int		 blocked;
};

static int
delivery_send_one(void *arg, uint64_t seq, const uint8_t *val, size_t len)
{
	struct pump_ctx *pc = arg;
	Cluebus__Deliver d = CLUEBUS__DELIVER__INIT;
	Cluebus__Frame f = CLUEBUS__FRAME__INIT;
	Cluebus__LogEntry *e = NULL;
	Cluebus__Context *ctx = NULL;
	ProtobufCMessage *pm;
	const uint8_t *hash;
	int rc;

	if ((rc = chain_decode(val, len, &hash, &e)) == CB_ENOMEM) {
		pc->blocked = 1;	/* try again at the next pump */
		return rc;
	}
	if (rc != 0 || e->envelope == NULL) {
		if (e != NULL)
			cluebus__log_entry__free_unpacked(e, NULL);
		log_warnx("delivery: log entry %llu unreadable", (unsigned long long)seq);
		return CB_ECORRUPT;
	}
	/* Only the kind and ids are needed for the context: the message was verified and
	 * validated when it was accepted, so it is decoded, not checked again. */
	if (unpack_bounded(&cluebus__message__descriptor, e->envelope->signed_.data,
	    e->envelope->signed_.len, &pm) == 0) {
		rc = workflow_context(pc->b, (Cluebus__Message *)pm, &ctx);
		if (rc == 0)
			rc = cases_context(pc->b->store, (Cluebus__Message *)pm, &ctx);
		protobuf_c_message_free_unpacked(pm, NULL);
		if (rc == CB_ECORRUPT)
			fatalx("delivery %llu: the workflow state it refers to is corrupt; refusing "
			    "to continue", (unsigned long long)seq);
		if (rc != 0)
			log_warnx("delivery %llu: context unavailable", (unsigned long long)seq);
	}
	d.context = ctx;
	d.seq = seq;
	d.entry_hash.data = (uint8_t *)hash;
	d.entry_hash.len = CHAIN_HASH_LEN;
	d.logged_ms = e->time_ms;
	d.envelope = e->envelope;
	d.recipients = e->recipients;
	d.n_recipients = e->n_recipients;
	f.frame_case = CLUEBUS__FRAME__FRAME_DELIVER;
	f.deliver = &d;
	rc = wire_send(pc->b->sock, pc->uq->rid, pc->uq->ridlen, &f);
	cluebus__log_entry__free_unpacked(e, NULL);
	if (ctx != NULL)
		cluebus__context__free_unpacked(ctx, NULL);
	if (rc != 0) {
		pc->blocked = 1;
		return rc;	/* stop: the peer's queue is full or it is gone */
	}
	pc->uq->sent_upto = seq;
	pc->uq->inflight++;
	pc->sent++;
	return 0;
}

void
delivery_pump(struct broker *b)
{
	for (size_t i = 0; i < b->nunits; i++) {
		struct unitq *uq = &b->units[i];
		struct pump_ctx pc = { b, uq, 0, 0 };
		size_t room;
		int rc;

		if (!uq->online || !uq->has_more || uq->inflight >= b->cfg.window)
			continue;
		room = b->cfg.window - uq->inflight;
		rc = store_walk_backlog(b->store, uq->unit, uq->sent_upto, room,
		    delivery_send_one, &pc);
		if (rc == CB_ECORRUPT)
			fatalx("backlog of %s points at an unreadable entry", uq->unit);
		if (pc.sent > 0) {
			uq->progress_ms = clock_mono_ms();
			b->count.delivered += pc.sent;
		}
		/* Fewer than asked and not blocked: the backlog is exhausted for now. */
		if (!pc.blocked && pc.sent < room)
			uq->has_more = 0;
	}
}

void
delivery_timers(struct broker *b, int64_t now)
{
	for (size_t i = 0; i < b->nunits; i++) {
		struct unitq *uq = &b->units[i];

		if (!uq->online)
			continue;
		if (now - uq->last_seen_ms > b->cfg.peer_timeout_ms) {
			log_info("unit %s offline (silent for %lld ms)", uq->unit,
			    (long long)(now - uq->last_seen_ms));
			uq->online = 0;
			uq->ridlen = 0;
			continue;
		}
		if (uq->inflight > 0 && now - uq->progress_ms > b->cfg.redeliver_ms) {
			uq->progress_ms = now;
			if (uq->resends >= RESENDS_MAX) {
				if (uq->resends == RESENDS_MAX)
					log_warnx("unit %s: %u deliveries unacked after %u resends; "
					    "holding them until it acknowledges or says hello again",
					    uq->unit, uq->inflight, RESENDS_MAX);
				uq->resends = RESENDS_MAX + 1;	/* said once */
				continue;
			}
			uq->resends++;
			log_info("unit %s: %u deliveries unacked, redelivering", uq->unit,
			    uq->inflight);
			uq->sent_upto = 0;
			uq->inflight = 0;
			uq->has_more = 1;
			uq->progress_ms = now;
		}
	}
}

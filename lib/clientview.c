/* lib/clientview.c — the client library's side of the broker's checkpoints.
 *
 * See clientview.h: the held checkpoint (lib/logview.c), the records of accepted messages
 * still waiting for an inclusion proof, the requests, and the checked proofs queued for
 * the application. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "clientview.h"
#include "log.h"
#include "util.h"

#define RECORD_FIXED	48	/* entry hash || message id, before the tag */

int
clientview_open(clientview_t *cv, MDB_env *env, MDB_txn *txn, const char *dir,
    const cb_key_t *broker_key)
{
	int mrc;

	memset(cv, 0, sizeof(*cv));
	cv->env = env;
	if ((mrc = mdb_dbi_open(txn, "proofs", MDB_CREATE, &cv->proofs)) != 0) {
		log_warnx("client store: proofs: %s", mdb_strerror(mrc));
		return CB_ESTORE;
	}
	if (broker_key == NULL)
		log_warnx("no broker key (the registry file names none): the broker's "
		    "checkpoints cannot be checked");
	return logview_open(dir, broker_key, &cv->view);
}

void
clientview_close(clientview_t *cv)
{
	for (size_t i = cv->qhead; i < cv->nqueue; i++) {
		free(cv->queue[i].json);
		free(cv->queue[i].note);
	}
	free(cv->queue);
	free(cv->fresh);
	free(cv->done);
	logview_free(cv->view);
	memset(cv, 0, sizeof(*cv));
}

int
clientview_accepted(clientview_t *cv, const cb_event_t *ev)
{
	struct clientview_new *f;

	if (ev->type != CB_EVENT_ACCEPTED || ev->seq == 0)
		return 0;
	if (cv->nfresh == cv->capfresh) {
		size_t cap = cv->capfresh ? cv->capfresh * 2 : 16;

		if ((f = realloc(cv->fresh, cap * sizeof(*f))) == NULL)
			return CB_ENOMEM;
		cv->fresh = f;
		cv->capfresh = cap;
	}
	f = &cv->fresh[cv->nfresh];
	memset(f, 0, sizeof(*f));
	if (hex_decode(ev->entry_hash, f->hash, sizeof(f->hash)) != 0 ||
	    hex_decode(ev->message_id, f->msgid, sizeof(f->msgid)) != 0)
		return 0;	/* not an answer the client made: nothing to prove */
	f->seq = ev->seq;
	snprintf(f->tag, sizeof(f->tag), "%s", ev->tag);
	cv->nfresh++;
	return 0;
}

int
clientview_dirty(const clientview_t *cv)
{
	return cv->nfresh > 0 || cv->ndone > 0;
}

int
clientview_store(clientview_t *cv, MDB_txn *txn)
{
	for (size_t i = 0; i < cv->nfresh; i++) {
		const struct clientview_new *f = &cv->fresh[i];
		uint8_t key[8], val[RECORD_FIXED + sizeof(f->tag)];
		size_t taglen = strlen(f->tag);
		MDB_val k = { 8, key }, v = { RECORD_FIXED + taglen, val };
		int mrc;

		be64_put(key, f->seq);
		memcpy(val, f->hash, 32);
		memcpy(val + 32, f->msgid, 16);
		memcpy(val + RECORD_FIXED, f->tag, taglen);
		if ((mrc = mdb_put(txn, cv->proofs, &k, &v, 0)) != 0)
			return mrc;
	}
	for (size_t i = 0; i < cv->ndone; i++) {
		uint8_t key[8];
		MDB_val k = { 8, key };
		int mrc;

		be64_put(key, cv->done[i]);
		if ((mrc = mdb_del(txn, cv->proofs, &k, NULL)) != 0 && mrc != MDB_NOTFOUND)
			return mrc;
	}
	return 0;
}

void
clientview_stored(clientview_t *cv)
{
	if (cv->nfresh > 0)
		cv->want_ask = 1;	/* new records: ask soon (clientview_timer) */
	cv->nfresh = 0;
	cv->ndone = 0;
}

/* Up to `max` seqs still waiting for a proof (queued ones excepted). */
static size_t
clientview_waiting(clientview_t *cv, uint64_t *seqs, size_t max)
{
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val k, v;
	size_t n = 0;
	int mrc;

	if (mdb_txn_begin(cv->env, NULL, MDB_RDONLY, &txn) != 0)
		return 0;
	if (mdb_cursor_open(txn, cv->proofs, &cur) != 0) {
		mdb_txn_abort(txn);
		return 0;
	}
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && n < max;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		uint64_t seq = k.mv_size == 8 ? be64_get(k.mv_data) : 0;
		int queued = 0;

		for (size_t i = cv->qhead; i < cv->nqueue && !queued; i++)
			queued = cv->queue[i].p.seq == seq;
		for (size_t i = 0; i < cv->ndone && !queued; i++)
			queued = cv->done[i] == seq;
		if (seq != 0 && !queued)
			seqs[n++] = seq;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return n;
}

void
clientview_ask(clientview_t *cv, int64_t now, clientview_send_fn *send, void *arg)
{
	Cluebus__CheckpointRequest r = CLUEBUS__CHECKPOINT_REQUEST__INIT;
	Cluebus__Frame f = CLUEBUS__FRAME__INIT;
	const checkpoint_t *cp = logview_checkpoint(cv->view);
	uint64_t seqs[CLIENTVIEW_ASK_MAX];

	r.have_size = cp != NULL ? cp->size : 0;
	r.n_prove_seqs = clientview_waiting(cv, seqs, CLIENTVIEW_ASK_MAX);
	r.prove_seqs = seqs;
	f.frame_case = CLUEBUS__FRAME__FRAME_CHECKPOINT_REQUEST;
	f.checkpoint_request = &r;
	if (send(arg, &f) == 0)
		cv->asked_ms = now;
}

/* Reads the waiting record of `seq`. Returns 0, CB_ENOTFOUND or CB_ESTORE. */
static int
clientview_record(clientview_t *cv, uint64_t seq, struct clientview_new *rec)
{
	uint8_t key[8];
	MDB_val k = { 8, key }, v;
	MDB_txn *txn;
	int mrc;

	be64_put(key, seq);
	if (mdb_txn_begin(cv->env, NULL, MDB_RDONLY, &txn) != 0)
		return CB_ESTORE;
	mrc = mdb_get(txn, cv->proofs, &k, &v);
	if (mrc == 0 && v.mv_size >= RECORD_FIXED && v.mv_size < RECORD_FIXED + sizeof(rec->tag)) {
		memset(rec, 0, sizeof(*rec));
		rec->seq = seq;
		memcpy(rec->hash, v.mv_data, 32);
		memcpy(rec->msgid, (const uint8_t *)v.mv_data + 32, 16);
		memcpy(rec->tag, (const uint8_t *)v.mv_data + RECORD_FIXED, v.mv_size - RECORD_FIXED);
	} else if (mrc == 0) {
		mrc = MDB_NOTFOUND;	/* not a record of ours */
	}
	mdb_txn_abort(txn);
	return mrc == 0 ? 0 : mrc == MDB_NOTFOUND ? CB_ENOTFOUND : CB_ESTORE;
}

/* The proof's JSON (docs/formats.md, the receipt file's "proof"). */
static char *
clientview_proof_json(const checkpoint_t *cp, const Cluebus__CheckpointInclusion *incl)
{
	json_t *o, *hashes = json_array();
	char hex[2 * MERKLE_HASH_LEN + 1], *entry, *text = NULL;

	if ((entry = malloc(2 * incl->entry.len + 1)) == NULL) {
		json_decref(hashes);
		return NULL;
	}
	hex_encode(incl->entry.data, incl->entry.len, entry);
	for (size_t i = 0; i < incl->n_hashes; i++) {
		hex_encode(incl->hashes[i].data, MERKLE_HASH_LEN, hex);
		json_array_append_new(hashes, json_string(hex));
	}
	o = json_pack("{s:I, s:I, s:s, s:o}", "leaf_index", (json_int_t)(incl->seq - 1),
	    "tree_size", (json_int_t)cp->size, "entry", entry, "hashes", hashes);
	if (o != NULL)
		text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	free(entry);
	return text;
}

static void
clientview_queue(clientview_t *cv, const checkpoint_t *cp,
    const Cluebus__CheckpointInclusion *incl)
{
	struct clientview_new rec;
	struct clientview_proof *q;
	char why[320], reason[340];
	int rc;

	for (size_t i = cv->qhead; i < cv->nqueue; i++)
		if (cv->queue[i].p.seq == incl->seq)
			return;	/* queued already */
	for (size_t i = 0; i < cv->ndone; i++)
		if (cv->done[i] == incl->seq)
			return;	/* done, its delete not stored yet */
	if (clientview_record(cv, incl->seq, &rec) != 0)
		return;	/* not waiting (done, or never ours) */
	rc = logview_check_inclusion(cp, incl, rec.hash, why, sizeof(why));
	if (rc == CB_ECORRUPT) {
		snprintf(reason, sizeof(reason), "entry: %s", why);
		if (logview_raise(cv->view, "entry", reason, logview_note(cv->view)) != 0)
			log_warnx("the alarm could not be stored");
		return;
	}
	if (rc != 0) {
		log_warnx("inclusion proof of seq %llu ignored: %s", (unsigned long long)incl->seq,
		    why[0] != '\0' ? why : cb_strerror(rc));
		return;
	}
	if (cv->qhead > 0 && cv->qhead == cv->nqueue)
		cv->qhead = cv->nqueue = 0;
	if (cv->nqueue == cv->capqueue) {
		size_t cap = cv->capqueue ? cv->capqueue * 2 : 16;

		if ((q = realloc(cv->queue, cap * sizeof(*q))) == NULL)
			return;
		cv->queue = q;
		cv->capqueue = cap;
	}
	q = &cv->queue[cv->nqueue];
	memset(q, 0, sizeof(*q));
	if ((q->json = clientview_proof_json(cp, incl)) == NULL ||
	    (q->note = strdup(logview_note(cv->view))) == NULL) {
		free(q->json);
		return;
	}
	q->p.seq = incl->seq;
	hex_encode(rec.msgid, 16, q->p.message_id);
	hex_encode(rec.hash, 32, q->p.entry_hash);
	snprintf(q->p.tag, sizeof(q->p.tag), "%s", rec.tag);
	q->p.json = q->json;
	q->p.checkpoint = q->note;
	cv->nqueue++;
}

void
clientview_on_note(clientview_t *cv, const Cluebus__CheckpointNote *n, int64_t now,
    clientview_send_fn *send, void *arg)
{
	enum logview_verdict verdict;
	checkpoint_t cp;
	char why[512];
	int rc;

	if ((rc = logview_offer(cv->view, n, &cp, &verdict, why, sizeof(why))) != 0) {
		log_warnx("checkpoint not taken: %s", cb_strerror(rc));
		return;
	}
	switch (verdict) {
	case LOGVIEW_NEWER:
		log_debug("checkpoint of tree size %llu checked and held",
		    (unsigned long long)cp.size);
		/* FALLTHROUGH */
	case LOGVIEW_SAME:
		break;
	case LOGVIEW_ASK:
		log_info("%s: asking for a proof from the held size", why);
		clientview_ask(cv, now, send, arg);
		return;
	case LOGVIEW_UNVERIFIED:
		/* Pushed every checkpoint interval: said once a minute. */
		if (cv->unverified_ms == 0 || now - cv->unverified_ms >= 60000) {
			log_warnx("%s (the registry file's broker key: was it rotated?)", why);
			cv->unverified_ms = now;
		}
		return;
	default:
		return;	/* the alarm: logged and stored by the view */
	}
	for (size_t i = 0; i < n->n_inclusions; i++)
		clientview_queue(cv, &cp, n->inclusions[i]);
	cv->asked_size = cp.size;
	if (verdict == LOGVIEW_NEWER && n->n_inclusions == 0 &&
	    (cv->asked_ms == 0 || now - cv->asked_ms >= CLIENTVIEW_PROMPT_MS)) {
		uint64_t seq;

		if (clientview_waiting(cv, &seq, 1) > 0 && seq <= cp.size)
			clientview_ask(cv, now, send, arg);
	}
}

void
clientview_timer(clientview_t *cv, int64_t now, clientview_send_fn *send, void *arg)
{
	uint64_t seq;

	if (logview_alarm(cv->view) != NULL || logview_checkpoint(cv->view) == NULL)
		return;
	if (cv->asked_ms != 0 && now - cv->asked_ms < (cv->want_ask ? CLIENTVIEW_PROMPT_MS :
	    CLIENTVIEW_RETRY_MS))
		return;
	cv->want_ask = 0;
	if (clientview_waiting(cv, &seq, 1) == 0)
		return;
	clientview_ask(cv, now, send, arg);
}

const cb_proof_t *
clientview_proof_next(clientview_t *cv)
{
	return cv->qhead < cv->nqueue ? &cv->queue[cv->qhead].p : NULL;
}

int
clientview_proof_done(clientview_t *cv, const cb_proof_t *p)
{
	if (cv->qhead >= cv->nqueue || p != &cv->queue[cv->qhead].p)
		return CB_EINVAL;
	if (u64_push(&cv->done, &cv->ndone, &cv->capdone, p->seq) != 0)
		return CB_ENOMEM;
	free(cv->queue[cv->qhead].json);
	free(cv->queue[cv->qhead].note);
	cv->qhead++;
	return 0;
}

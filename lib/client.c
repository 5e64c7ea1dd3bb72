/* lib/client.c — the client library: durable publish, delivery, acknowledgement.
 *
 * State machine of the connection (one DEALER socket, ZMQ_IMMEDIATE):
 *
 *   IDLE --send hello--> HELLO_SENT --welcome--> READY
 *    ^                      |  rejected: log why, back off (1 s .. 30 s)
 *    +----------------------+
 *    +-- READY: broker silent for 4 heartbeats, or "not authenticated" (it restarted)
 *
 * The outbox (LMDB, key = local sequence) holds every publish from cb_client_publish_json
 * until the application marked its outcome done; in-flight publishes are resent with the
 * same bytes until answered. Inbound messages are surfaced in log order; `watermark` is the
 * highest seq the application marked done, and anything at or below it is acknowledged
 * again and dropped, so the application sees each message once.
 *
 * The watermark is durable in one of two places, and its value is the higher of the two:
 * the file STATE/watermark (lib/seqfile.c: one flush per update) when only messages were
 * done, the LMDB meta table when outbox records are deleted in the same commit anyway (one
 * transaction, no extra flush). A receiving agent thus pays one flush per delivered batch
 * for its watermark instead of an LMDB commit's two.
 *
 * An event leaves the queue by cb_client_done (stored at once) or cb_client_release (kept
 * in memory: `released_high` for messages, `released` for outcomes) and then
 * cb_client_flush, which makes the watermark and the outbox deletes of a whole batch
 * durable together and sends one cumulative Ack.
 *
 * The directory (lib/directory.h) is fetched after a Welcome whose version differs from the
 * one held, and taken whenever the broker pushes a newer one; each is verified with a broker
 * key of the registry in use, kept in STATE/directory.pb (atomically) and from then on is
 * the registry deliveries are checked with and sender names come from. The registry file
 * (`seed`) is only what the first start trusts: a kept directory replaces it at open.
 *
 * Invariants: (1) a publish is in the outbox before cb_client_publish_json returns 0;
 * (2) an outbox record is deleted only by cb_client_done or cb_client_flush on its
 * outcome; (3) the broker is acked for seq only after the watermark reached seq durably;
 * (4) watermark <= released_high <= inbound_high, and memory moves only after the commit
 * succeeded. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <lmdb.h>
#include <openssl/crypto.h>
#include <zmq.h>

#include "chain.h"
#include "clientcorr.h"
#include "clientseal.h"
#include "clientview.h"
#include "cluebus/client.h"
#include "directory.h"
#include "envelope.h"
#include "intake.h"
#include "keys.h"
#include "log.h"
#include "matchkey.h"
#include "registry.h"
#include "seqfile.h"
#include "transport.h"
#include "util.h"
#include "wire.h"

enum conn_state { C_IDLE, C_HELLO_SENT, C_READY };

/* By default a publish signed longer ago than this is signed again before it is sent: half
 * the broker's default replay window (clock_skew_ms, 10 minutes). */
#define CLIENT_RESIGN_AFTER_MS	(5 * 60 * 1000)

/* How long a stored publish waits for what it needs to be sealed (the delivery of the
 * referral it answers) before it is refused. */
#define CLIENT_SEAL_WAIT_MS	(10 * 1000)

struct inflight {
	uint64_t	 lseq;
	uint8_t		 msgid[MESSAGE_ID_LEN];
	int		 answered;	/* an outcome event is queued */
	int64_t		 sent_ms;	/* monotonic; 0 = send now */
	unsigned	 reseals;	/* sealed again after stale-directory refusals */
	int		 reseal_pending;	/* seal again before the next send */
	int		 awaiting_seal;	/* stored before a directory: not sent yet */
};

/* An accepted clue's recipients, to be stored with the commit that makes its outcome done. */
struct sent_rec {
	uint8_t		 msgid[MESSAGE_ID_LEN];
	char		*units;		/* "a,b,c", owned */
};

struct event_node {
	cb_event_t	 ev;
	char		*json;
	uint64_t	 lseq;		/* publish outcomes: the outbox record */
	matchkey_t	*corrkey;	/* a delivered correlation key, installed before the
					 * event is done (lib/clientcorr.h) */
	char		*sent_to;	/* an accepted clue's recipients ("a,b,c"), kept when
					 * the event is done (client_sent_keep) */
	struct event_node *next;
};

struct cb_client {
	char		 unit[CB_UNIT_ID_SIZE];
	char		 broker[256];
	int64_t		 resend_ms, heartbeat_ms, resign_after_ms;
	unsigned	 window;
	int		 publish_only;
	cb_key_t	*key;
	matchkey_t	 match_keys[MATCHKEY_RING_MAX];	/* the correlation keys:
						 * configured first, then distributed ones */
	size_t		 n_match_keys;
	char		 state_dir[PATH_MAX];	/* STATE: distributed correlation keys */
	sealkey_t	*seal_keys[1 + 8];	/* current, then earlier ones; none: deliveries'
					 * seals are not opened */
	size_t		 n_seal_keys;
	sealdir_t	*sealdir;	/* NULL: publishes are not sealed */
	int		 seal_from_directory;	/* sealdir takes the signed directory */
	registry_t	*seed;		/* the registry file's; NULL: none given */
	directory_t	*dir;		/* the newest verified directory, or NULL */
	char		 dir_path[PATH_MAX];	/* STATE/directory.pb */

	MDB_env		*env;
	MDB_dbi		 outbox, meta;
	MDB_dbi		 obligations;	/* referral id || unit -> referrer (lib/sealdir.h) */
	MDB_dbi		 sent;		/* own clue's id -> its recipients "a,b,c": what a
					 * correction of it is sealed to */
	struct sent_rec	*sent_pending;	/* done outcomes' recipients, stored by the next
					 * commit */
	size_t		 nsent_pending, sent_pending_cap;
	seqfile_t	*wmfile;	/* STATE/watermark */
	uint64_t	 next_lseq;	/* key of the next publish */
	uint64_t	 send_cursor;	/* highest lseq taken into flight */
	uint64_t	 watermark;	/* highest inbound seq done, durably */
	uint64_t	 released_high;	/* highest inbound seq released (>= watermark) */
	uint64_t	*released;	/* outbox keys of released outcomes, not yet deleted */
	size_t		 nreleased, released_cap;
	uint64_t	 inbound_high;	/* highest inbound seq queued as an event */

	void		*zctx, *sock, *monitor;
	enum conn_state	 state;
	int		 refused;	/* the broker refused our transport key: backing off */
	int64_t		 refused_until;	/* monotonic time to connect again */
	int64_t		 hello_ms, last_rx_ms, last_hb_ms, backoff_ms;

	struct inflight	*inflight;	/* in lseq order */
	size_t		 ninflight;
	struct event_node *head, *tail;
	clientview_t	 view;		/* checkpoints and proofs (clientview.h) */
	int		 view_open;
};

/* The registry checks use: the directory's when there is one, else the file's (or NULL). */
static const registry_t *
client_registry(const cb_client_t *c)
{
	return c->dir != NULL ? directory_registry(c->dir) : c->seed;
}

const directory_t *
client_directory(const cb_client_t *c)
{
	return c->dir;
}

/* ---- the store ---- */

static int
client_store_fail(const char *what, int mrc)
{
	log_warnx("client store: %s: %s", what, mdb_strerror(mrc));
	return CB_ESTORE;
}

static int
client_store_open(cb_client_t *c, const char *dir)
{
	char path[PATH_MAX];
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	uint64_t wm;
	int mrc, rc;

	if (file_mkdirs(dir, 0700) != 0)
		return CB_EIO;
	if ((mrc = mdb_env_create(&c->env)) != 0 ||
	    (mrc = mdb_env_set_maxdbs(c->env, 8)) != 0 ||
	    (mrc = mdb_env_set_mapsize(c->env, (size_t)1 << 30)) != 0 ||
	    (mrc = mdb_env_open(c->env, dir, MDB_NOTLS, 0600)) != 0)
		return client_store_fail(dir, mrc);
	if ((mrc = mdb_txn_begin(c->env, NULL, 0, &txn)) != 0)
		return client_store_fail("begin", mrc);
	if ((mrc = mdb_dbi_open(txn, "outbox", MDB_CREATE, &c->outbox)) != 0 ||
	    (mrc = mdb_dbi_open(txn, "meta", MDB_CREATE, &c->meta)) != 0 ||
	    (mrc = mdb_dbi_open(txn, "obligations", MDB_CREATE, &c->obligations)) != 0 ||
	    (mrc = mdb_dbi_open(txn, "sent", MDB_CREATE, &c->sent)) != 0 ||
	    (mrc = mdb_cursor_open(txn, c->outbox, &cur)) != 0) {
		mdb_txn_abort(txn);
		return client_store_fail("open", mrc);
	}
	if ((rc = clientview_open(&c->view, c->env, txn, dir, c->seed != NULL ?
	    registry_current_key(c->seed, REGISTRY_BROKER_UNIT) : NULL)) != 0) {
		mdb_cursor_close(cur);
		mdb_txn_abort(txn);
		return rc;
	}
	c->view_open = 1;
	c->next_lseq = 1;
	if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0 && k.mv_size == 8)
		c->next_lseq = be64_get(k.mv_data) + 1;
	mdb_cursor_close(cur);
	k.mv_data = (void *)"watermark", k.mv_size = 9;
	if (mdb_get(txn, c->meta, &k, &v) == 0 && v.mv_size == 8)
		c->watermark = be64_get(v.mv_data);
	if ((mrc = mdb_txn_commit(txn)) != 0)
		return client_store_fail("commit", mrc);
	if (snprintf(path, sizeof(path), "%s/watermark", dir) >= (int)sizeof(path))
		return CB_EINVAL;
	if ((rc = seqfile_open(path, &c->wmfile, &wm)) != 0) {
		log_warnx("client store: %s: %s", path, cb_strerror(rc));
		return rc == CB_ECORRUPT ? rc : CB_ESTORE;
	}
	if (wm > c->watermark)
		c->watermark = wm;
	c->inbound_high = c->released_high = c->watermark;
	return 0;
}

/* Gives the stored obligations to the sealing directory (after a restart). */
static int
client_obligations_load(cb_client_t *c)
{
	char unit[CB_UNIT_ID_SIZE], referrer[CB_UNIT_ID_SIZE];
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val k, v;
	int mrc, rc = 0;

	if ((mrc = mdb_txn_begin(c->env, NULL, MDB_RDONLY, &txn)) != 0)
		return client_store_fail("read", mrc);
	if ((mrc = mdb_cursor_open(txn, c->obligations, &cur)) != 0) {
		mdb_txn_abort(txn);
		return client_store_fail("read", mrc);
	}
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && rc == 0;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size <= MESSAGE_ID_LEN || k.mv_size - MESSAGE_ID_LEN >= sizeof(unit) ||
		    v.mv_size >= sizeof(referrer))
			continue;
		memcpy(unit, (uint8_t *)k.mv_data + MESSAGE_ID_LEN, k.mv_size - MESSAGE_ID_LEN);
		unit[k.mv_size - MESSAGE_ID_LEN] = '\0';
		memcpy(referrer, v.mv_data, v.mv_size);
		referrer[v.mv_size] = '\0';
		rc = sealdir_note_one(c->sealdir, k.mv_data, unit, referrer);
		if (rc == CB_EINVAL)
			rc = 0;	/* not ours to judge: skipped */
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return rc;
}

/* Keeps a delivery's obligations for the sealing directory, durably, and in memory. */
static int
client_obligations_note(cb_client_t *c, const Cluebus__Context *ctx)
{
	uint8_t key[MESSAGE_ID_LEN + CB_UNIT_ID_SIZE];
	MDB_txn *txn;
	int mrc;

	if (ctx == NULL || ctx->referral_id.len != MESSAGE_ID_LEN || ctx->n_obligations == 0)
		return 0;
	if ((mrc = mdb_txn_begin(c->env, NULL, 0, &txn)) != 0)
		return client_store_fail("begin", mrc);
	for (size_t i = 0; i < ctx->n_obligations; i++) {
		const Cluebus__Obligation *o = ctx->obligations[i];
		MDB_val k = { 0, key }, v;

		if (o == NULL || !unit_id_valid(o->unit) || !unit_id_valid(o->referrer))
			continue;
		memcpy(key, ctx->referral_id.data, MESSAGE_ID_LEN);
		memcpy(key + MESSAGE_ID_LEN, o->unit, strlen(o->unit));
		k.mv_size = MESSAGE_ID_LEN + strlen(o->unit);
		v.mv_size = strlen(o->referrer);
		v.mv_data = o->referrer;
		if ((mrc = mdb_put(txn, c->obligations, &k, &v, 0)) != 0) {
			mdb_txn_abort(txn);
			return client_store_fail("put", mrc);
		}
	}
	if ((mrc = mdb_txn_commit(txn)) != 0)
		return client_store_fail("commit", mrc);
	return sealdir_note_context(c->sealdir, ctx);
}

/* Reads outbox[lseq] into a new record (caller frees). */
static int
client_record_get(cb_client_t *c, uint64_t lseq, Cluebus__OutboxRecord **rec)
{
	uint8_t key[8];
	MDB_val k = { 8, key }, v;
	MDB_txn *txn;
	int mrc;

	be64_put(key, lseq);
	if ((mrc = mdb_txn_begin(c->env, NULL, MDB_RDONLY, &txn)) != 0)
		return client_store_fail("read", mrc);
	mrc = mdb_get(txn, c->outbox, &k, &v);
	*rec = mrc == 0 ? cluebus__outbox_record__unpack(NULL, v.mv_size, v.mv_data) : NULL;
	mdb_txn_abort(txn);
	if (mrc == MDB_NOTFOUND)
		return CB_ENOTFOUND;
	if (mrc != 0)
		return client_store_fail("read", mrc);
	return *rec != NULL && ((*rec)->envelope != NULL || (*rec)->clear.len > 0) ? 0 :
	    CB_ECORRUPT;
}

/* Puts outbox[lseq] in one durable transaction (deletes go through client_commit). */
static int
client_outbox_put(cb_client_t *c, uint64_t lseq, const void *val, size_t vlen)
{
	uint8_t key[8];
	MDB_val k = { 8, key }, v = { vlen, (void *)val };
	MDB_txn *txn;
	int mrc;

	be64_put(key, lseq);
	if ((mrc = mdb_txn_begin(c->env, NULL, 0, &txn)) != 0)
		return client_store_fail("begin", mrc);
	if ((mrc = mdb_put(txn, c->outbox, &k, &v, 0)) != 0) {
		mdb_txn_abort(txn);
		return client_store_fail("put", mrc);
	}
	if ((mrc = mdb_txn_commit(txn)) != 0)
		return client_store_fail("commit", mrc);
	return 0;
}

/* ---- events ---- */

static struct event_node *
event_push(cb_client_t *c, cb_event_type_t type)
{
	struct event_node *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	n->ev.type = type;
	if (c->tail != NULL)
		c->tail->next = n;
	else
		c->head = n;
	c->tail = n;
	return n;
}

static void
event_pop(cb_client_t *c)
{
	struct event_node *n = c->head;

	if (n == NULL)
		return;
	c->head = n->next;
	if (c->head == NULL)
		c->tail = NULL;
	free(n->json);
	clientcorr_free(n->corrkey);
	free(n->sent_to);
	free(n);
}

/* ---- sending ---- */

static int
client_send(cb_client_t *c, const Cluebus__Frame *f)
{
	int rc = wire_send(c->sock, NULL, 0, f);

	if (rc != 0)
		log_debug("send: %s", cb_strerror(rc));
	return rc;
}

/* client_send as clientview's callback. */
static int
client_view_send(void *arg, const Cluebus__Frame *f)
{
	return client_send(arg, f);
}

static void
client_hello(cb_client_t *c, int64_t now)
{
	Cluebus__Frame f = CLUEBUS__FRAME__INIT;
	struct wire_hello wh;

	if (wire_hello_sign(&wh, c->unit, c->key, clock_now_ms(), 16, c->publish_only) != 0)
		return;
	wh.hello.directory_version = c->dir != NULL ? directory_version(c->dir) : 0;
	f.frame_case = CLUEBUS__FRAME__FRAME_HELLO;
	f.hello = &wh.hello;
	if (client_send(c, &f) != 0)
		return;	/* not connected yet (ZMQ_IMMEDIATE): stay idle, try again */
	c->state = C_HELLO_SENT;
	c->hello_ms = now;
}

/* Signs a stored publish again, with the unit's current key and a fresh creation time
 * (same message id, same body), and stores the result: a message that waited out a long
 * outage or a key rotation is then neither refused as a replay nor for its old key. The
 * broker answers a resend of an already accepted id with the original answer. Replaces
 * *rec on success; on failure *rec is kept and sent as it is. */
static void
client_resign(cb_client_t *c, uint64_t lseq, Cluebus__OutboxRecord **rec)
{
	Cluebus__OutboxRecord nrec = CLUEBUS__OUTBOX_RECORD__INIT, *again = NULL;
	Cluebus__Envelope *env = NULL;
	Cluebus__Message *m;
	uint8_t *buf = NULL;
	size_t len;

	m = cluebus__message__unpack(NULL, (*rec)->envelope->signed_.len,
	    (*rec)->envelope->signed_.data);
	if (m == NULL)
		return;
	free(m->key_id.data);
	m->key_id.data = NULL;
	m->key_id.len = 0;
	m->created_ms = clock_now_ms();
	if (envelope_sign(m, c->key, &env) != 0)
		goto out;
	nrec.envelope = env;
	nrec.tag = (*rec)->tag;
	nrec.stored_ms = m->created_ms;
	nrec.clear = (*rec)->clear;
	nrec.clue = (*rec)->clue;
	len = cluebus__outbox_record__get_packed_size(&nrec);
	if ((buf = malloc(len)) == NULL)
		goto out;
	cluebus__outbox_record__pack(&nrec, buf);
	if (client_outbox_put(c, lseq, buf, len) != 0 ||
	    (again = cluebus__outbox_record__unpack(NULL, len, buf)) == NULL)
		goto out;
	cluebus__outbox_record__free_unpacked(*rec, NULL);
	*rec = again;
out:
	free(buf);
	m->key_id.data = NULL;	/* borrowed from env */
	m->key_id.len = 0;
	protobuf_c_message_free_unpacked(&m->base, NULL);
	envelope_free(env);
}

static int client_sent_recall(cb_client_t *c, const uint8_t *msgid);
static void client_sent_forget(cb_client_t *c);

/* Seals `m` for sending: a correlation key with the ring's key of its version, any other
 * body with its sealed fields (clientseal_seal). */
static int
client_seal(cb_client_t *c, Cluebus__Message *m, ProtobufCBinaryData *clear, cb_error_t *err)
{
	int rc;

	if (m->body_case == CLUEBUS__MESSAGE__BODY_CORRELATION_KEY)
		return clientcorr_seal(c->sealdir, c->match_keys, c->n_match_keys, m, clear, err);
	/* A corrected clue is sealed to whom the original went (sealdir_set_original). */
	if (m->body_case == CLUEBUS__MESSAGE__BODY_CORRECTION && m->correction->clue != NULL &&
	    m->refers_to.len == MESSAGE_ID_LEN &&
	    (rc = client_sent_recall(c, m->refers_to.data)) != 0 && rc != CB_ENOTFOUND)
		return cb_fail(err, "(store)", rc, "cannot read the store");
	return clientseal_seal(c->sealdir, m, clear, err);
}

/* Seals a stored publish again from its clear form, to the recipients of a reloaded
 * directory, signs it (same message id, fresh creation time) and stores it in place of the
 * refused one. Returns 0, or an error with the record unchanged. */
static int
client_reseal(cb_client_t *c, uint64_t lseq, cb_error_t *err)
{
	Cluebus__OutboxRecord *rec = NULL, nrec = CLUEBUS__OUTBOX_RECORD__INIT;
	ProtobufCBinaryData clear = { 0, NULL };
	Cluebus__Envelope *env = NULL;
	Cluebus__Message *m = NULL;
	uint8_t *buf = NULL;
	size_t len;
	int rc;

	if ((rc = client_record_get(c, lseq, &rec)) != 0)
		return rc;
	if (rec->clear.len == 0 ||
	    (m = cluebus__message__unpack(NULL, rec->clear.len, rec->clear.data)) == NULL) {
		rc = cb_fail(err, "outbox", CB_ECORRUPT, "no clear form kept to seal again");
		goto out;
	}
	if (c->seal_from_directory)
		sealdir_use_directory(c->sealdir, c->dir);
	if ((rc = sealdir_reload(c->sealdir, err)) != 0 ||
	    (rc = client_seal(c, m, &clear, err)) != 0)
		goto out;
	m->created_ms = clock_now_ms();
	if ((rc = envelope_sign(m, c->key, &env)) != 0)
		goto out;
	nrec.envelope = env;
	nrec.tag = rec->tag;
	nrec.stored_ms = m->created_ms;
	nrec.clear = rec->clear;
	nrec.clue = rec->clue;
	len = cluebus__outbox_record__get_packed_size(&nrec);
	if ((buf = malloc(len)) == NULL) {
		rc = CB_ENOMEM;
		goto out;
	}
	cluebus__outbox_record__pack(&nrec, buf);
	rc = client_outbox_put(c, lseq, buf, len);
out:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	if (clear.data != NULL) {
		OPENSSL_cleanse(clear.data, clear.len);
		free(clear.data);
	}
	if (m != NULL) {
		m->key_id.data = NULL;	/* borrowed from env */
		m->key_id.len = 0;
		protobuf_c_message_free_unpacked(&m->base, NULL);
	}
	envelope_free(env);
	cluebus__outbox_record__free_unpacked(rec, NULL);
	return rc;
}

/* Queues the REJECTED event of `it` (once): the broker's refusal, or this client's own
 * when a stored publish cannot be sealed. */
static void
client_rejected(cb_client_t *c, struct inflight *it, int code, const char *field,
    const char *reason)
{
	Cluebus__OutboxRecord *rec;
	struct event_node *n;

	if (it->answered || (n = event_push(c, CB_EVENT_REJECTED)) == NULL)
		return;
	it->answered = 1;
	n->lseq = it->lseq;
	hex_encode(it->msgid, MESSAGE_ID_LEN, n->ev.message_id);
	n->ev.reject_code = code;
	n->ev.reject_name = wire_reject_name(code);
	snprintf(n->ev.reason, sizeof(n->ev.reason), "%s", reason);
	snprintf(n->ev.reject_field, sizeof(n->ev.reject_field), "%s", field);
	if (client_record_get(c, it->lseq, &rec) == 0) {
		snprintf(n->ev.tag, sizeof(n->ev.tag), "%s", rec->tag);
		cluebus__outbox_record__free_unpacked(rec, NULL);
	}
}

/* Seals a publish stored before it could be sealed (or again after a stale-directory
 * refusal). Returns 1 when it may be sent now, 0 when not yet (no directory, or its
 * recipients not known yet: tried again in a second, the latter for CLIENT_SEAL_WAIT_MS
 * from its storing) or never (refused here: a REJECTED event). */
static int
client_seal_pending(cb_client_t *c, struct inflight *it, int has_envelope, int64_t now)
{
	Cluebus__OutboxRecord *rec;
	int64_t stored_ms = 0;
	cb_error_t err;
	int rc;

	memset(&err, 0, sizeof(err));
	if (client_record_get(c, it->lseq, &rec) == 0) {
		stored_ms = rec->stored_ms;
		cluebus__outbox_record__free_unpacked(rec, NULL);
	}
	if ((rc = client_reseal(c, it->lseq, &err)) == 0) {
		it->reseal_pending = 0;
		it->awaiting_seal = 0;
		return 1;
	}
	if (has_envelope) {
		/* A stale-directory resend: the broker answers it as it was. */
		it->reseal_pending = 0;
		log_warnx("outbox record %llu: cannot seal again after a stale-directory "
		    "refusal (%s: %s); sent as it was", (unsigned long long)it->lseq,
		    err.field, err.reason);
		return 1;
	}
	if (rc == CB_EAGAIN ||
	    (rc == CB_ENOTFOUND && clock_now_ms() - stored_ms < CLIENT_SEAL_WAIT_MS)) {
		it->awaiting_seal = 1;	/* tried again when a directory arrives, or in 1 s */
		it->sent_ms = now - c->resend_ms + 1000;
		return 0;
	}
	it->awaiting_seal = 0;
	log_warnx("outbox record %llu: cannot be sealed (%s: %s); refused",
	    (unsigned long long)it->lseq, err.field, err.reason);
	client_rejected(c, it, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY, err.field,
	    err.reason);
	return 0;
}

static void
client_send_publish(cb_client_t *c, struct inflight *it, int64_t now)
{
	Cluebus__Publish p = CLUEBUS__PUBLISH__INIT;
	Cluebus__Frame f = CLUEBUS__FRAME__INIT;
	Cluebus__OutboxRecord *rec;

	if (client_record_get(c, it->lseq, &rec) != 0) {
		log_warnx("outbox record %llu unreadable", (unsigned long long)it->lseq);
		return;
	}
	if (rec->envelope == NULL || it->reseal_pending) {
		int has_envelope = rec->envelope != NULL;

		cluebus__outbox_record__free_unpacked(rec, NULL);
		if (!client_seal_pending(c, it, has_envelope, now))
			return;
		if (client_record_get(c, it->lseq, &rec) != 0 || rec->envelope == NULL) {
			log_warnx("outbox record %llu unreadable", (unsigned long long)it->lseq);
			if (rec != NULL)
				cluebus__outbox_record__free_unpacked(rec, NULL);
			return;
		}
	}
	/* Signed too long ago for the broker's replay window, or with a key this unit no
	 * longer has (its keys were rotated while the message waited): sign it again. */
	if (clock_now_ms() - rec->stored_ms > c->resign_after_ms ||
	    rec->envelope->key_id.len != KEY_ID_LEN ||
	    memcmp(rec->envelope->key_id.data, key_id(c->key), KEY_ID_LEN) != 0)
		client_resign(c, it->lseq, &rec);
	p.envelope = rec->envelope;
	p.message_id.data = it->msgid;
	p.message_id.len = MESSAGE_ID_LEN;
	f.frame_case = CLUEBUS__FRAME__FRAME_PUBLISH;
	f.publish = &p;
	client_send(c, &f);
	it->sent_ms = now;
	cluebus__outbox_record__free_unpacked(rec, NULL);
}

static void
client_send_ack(cb_client_t *c, uint64_t upto)
{
	Cluebus__Ack a = CLUEBUS__ACK__INIT;
	Cluebus__Frame f = CLUEBUS__FRAME__INIT;

	a.upto_seq = upto;
	f.frame_case = CLUEBUS__FRAME__FRAME_ACK;
	f.ack = &a;
	client_send(c, &f);
}

/* Takes stored publishes into flight up to the window. */
static void
client_fill_window(cb_client_t *c, int64_t now)
{
	uint8_t key[8];
	MDB_cursor *cur;
	MDB_val k = { 8, key }, v;
	MDB_txn *txn;
	int mrc;

	if (c->ninflight >= c->window || c->send_cursor + 1 >= c->next_lseq)
		return;
	if (mdb_txn_begin(c->env, NULL, MDB_RDONLY, &txn) != 0)
		return;
	if (mdb_cursor_open(txn, c->outbox, &cur) != 0) {
		mdb_txn_abort(txn);
		return;
	}
	be64_put(key, c->send_cursor + 1);
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	    mrc == 0 && c->ninflight < c->window;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		Cluebus__OutboxRecord *rec;
		struct inflight *it;

		if (k.mv_size != 8)
			break;
		c->send_cursor = be64_get(k.mv_data);
		rec = cluebus__outbox_record__unpack(NULL, v.mv_size, v.mv_data);
		if (rec == NULL || (rec->envelope == NULL && rec->clear.len == 0)) {
			log_warnx("outbox record %llu unreadable; skipped",
			    (unsigned long long)c->send_cursor);
			if (rec != NULL)
				cluebus__outbox_record__free_unpacked(rec, NULL);
			continue;
		}
		it = &c->inflight[c->ninflight++];
		memset(it, 0, sizeof(*it));
		it->lseq = c->send_cursor;
		it->awaiting_seal = rec->envelope == NULL;
		/* The message id lives in the signed bytes (or, not sealed yet, the clear
		 * form); parse them (our own) for it. */
		{
			const ProtobufCBinaryData *b = rec->envelope != NULL ?
			    &rec->envelope->signed_ : &rec->clear;
			Cluebus__Message *m = cluebus__message__unpack(NULL, b->len, b->data);

			if (m != NULL && m->message_id.len == MESSAGE_ID_LEN)
				memcpy(it->msgid, m->message_id.data, MESSAGE_ID_LEN);
			if (m != NULL)
				cluebus__message__free_unpacked(m, NULL);
		}
		cluebus__outbox_record__free_unpacked(rec, NULL);
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	(void)now;
}

/* ---- transport: CURVE keys, and noticing a refused key ---- */

/* Loads the unit's CURVE key pair and finds the broker's public key (the option, else the
 * registry file's "broker" entry). */
static int
client_transport_keys(cb_client_t *c, const cb_client_options_t *opt, transport_keypair_t *tk,
    char server[TRANSPORT_Z85_LEN + 1])
{
	const uint8_t *raw;
	int rc;

	if ((rc = transport_load_secret(opt->transport_key_path, tk)) != 0) {
		log_warnx("transport key %s: %s", opt->transport_key_path, cb_strerror(rc));
		return rc;
	}
	if (opt->broker_public != NULL) {
		uint8_t tmp[TRANSPORT_KEY_LEN];

		if (transport_z85_decode(opt->broker_public, tmp) != 0)
			return CB_EKEY;
		memcpy(server, opt->broker_public, TRANSPORT_Z85_LEN + 1);
		return 0;
	}
	if (client_registry(c) == NULL ||
	    (raw = registry_current_transport(client_registry(c), REGISTRY_BROKER_UNIT)) ==
	    NULL ||
	    transport_z85_encode(raw, TRANSPORT_KEY_LEN, server) != 0) {
		log_warnx("the broker's transport key is unknown: the registry file needs "
		    "\"broker\": {\"transport_public\": ...}");
		return CB_EKEY;
	}
	return 0;
}

/* Watches the socket's handshakes: a broker that refuses our key looks like a dead server
 * to ZeroMQ, so the refusal is read from the monitor, said plainly, and backed off from. */
static int
client_monitor_open(cb_client_t *c)
{
	char ep[64];

	snprintf(ep, sizeof(ep), "inproc://cluebus-monitor-%p", (void *)c);
	if (zmq_socket_monitor(c->sock, ep, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
	    ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_SUCCEEDED) != 0 ||
	    (c->monitor = zmq_socket(c->zctx, ZMQ_PAIR)) == NULL ||
	    zmq_connect(c->monitor, ep) != 0)
		return CB_EIO;
	return 0;
}

static void
client_monitor_read(cb_client_t *c, int64_t now)
{
	for (;;) {
		zmq_msg_t ev, ep;
		uint16_t event;
		uint32_t value;

		zmq_msg_init(&ev);
		if (zmq_msg_recv(&ev, c->monitor, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&ev);
			return;
		}
		zmq_msg_init(&ep);
		if (zmq_msg_more(&ev))
			zmq_msg_recv(&ep, c->monitor, 0);
		if (zmq_msg_size(&ev) < 6) {
			zmq_msg_close(&ev);
			zmq_msg_close(&ep);
			continue;
		}
		memcpy(&event, zmq_msg_data(&ev), 2);
		memcpy(&value, (uint8_t *)zmq_msg_data(&ev) + 2, 4);
		zmq_msg_close(&ev);
		zmq_msg_close(&ep);
		if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
			c->refused = 0;
			continue;
		}
		c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : 1000;
		if (c->backoff_ms > 60000)
			c->backoff_ms = 60000;
		log_warnx("the broker refused this unit's transport key (%s, status %u): check "
		    "that %s's CURVE key is the one in the broker's registry; trying again in "
		    "%lld s", event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ? "authentication failed" :
		    "handshake failed", value, c->unit, (long long)(c->backoff_ms / 1000));
		/* Stop ZeroMQ's own reconnecting until the back-off ends. */
		zmq_disconnect(c->sock, c->broker);
		c->refused = 1;
		c->refused_until = now + c->backoff_ms;
		c->state = C_IDLE;
	}
}

/* ---- receiving ---- */

static struct inflight *
client_find(cb_client_t *c, const ProtobufCBinaryData *msgid)
{
	if (msgid->len != MESSAGE_ID_LEN)
		return NULL;
	for (size_t i = 0; i < c->ninflight; i++)
		if (memcmp(c->inflight[i].msgid, msgid->data, MESSAGE_ID_LEN) == 0)
			return &c->inflight[i];
	return NULL;
}

/* "a,b,c" of the valid unit ids among the first ROUTE_MAX (others left out), or NULL when
 * out of memory or none. */
static char *
units_join(char *const *units, size_t n)
{
	char *out;
	size_t used = 0;

	if (n > ROUTE_MAX)
		n = ROUTE_MAX;	/* no entry is routed to more */
	if ((out = malloc(n * CB_UNIT_ID_SIZE + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (unit_id_valid(units[i]))
			used += (size_t)sprintf(out + used, "%s%s", used > 0 ? "," : "", units[i]);
	if (used == 0) {
		free(out);
		return NULL;
	}
	return out;
}

static void
client_on_accepted(cb_client_t *c, const Cluebus__Accepted *a)
{
	struct inflight *it = client_find(c, &a->message_id);
	Cluebus__OutboxRecord *rec;
	struct event_node *n;

	if (it == NULL || it->answered || a->entry_hash.len != CHAIN_HASH_LEN)
		return;
	if ((n = event_push(c, CB_EVENT_ACCEPTED)) == NULL)
		return;
	it->answered = 1;
	n->lseq = it->lseq;
	hex_encode(it->msgid, MESSAGE_ID_LEN, n->ev.message_id);
	hex_encode(a->entry_hash.data, CHAIN_HASH_LEN, n->ev.entry_hash);
	n->ev.seq = a->seq;
	n->ev.logged_ms = a->time_ms;
	n->ev.duplicate = a->duplicate;
	if (client_record_get(c, it->lseq, &rec) == 0) {
		snprintf(n->ev.tag, sizeof(n->ev.tag), "%s", rec->tag);
		if (a->n_recipients > 0 && rec->clue)	/* a correction may carry a clue */
			n->sent_to = units_join(a->recipients, a->n_recipients);
		cluebus__outbox_record__free_unpacked(rec, NULL);
	}
}

static void client_request_directory(cb_client_t *c);

static int
reject_is_transient(int code)
{
	return code == CLUEBUS__REJECT_CODE__REJECT_NOT_AUTHENTICATED ||
	    code == CLUEBUS__REJECT_CODE__REJECT_UNAVAILABLE;
}

static void
client_on_rejected(cb_client_t *c, const Cluebus__Rejected *r, int64_t now)
{
	struct inflight *it = client_find(c, &r->message_id);
	char safe[512], field[128];

	str_text_copy(r->reason, strnlen(r->reason, 512), safe, sizeof(safe));
	str_text_copy(r->field, strnlen(r->field, 128), field, sizeof(field));
	if (r->hello) {
		c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : 1000;
		if (c->backoff_ms > 30000)
			c->backoff_ms = 30000;
		log_warnx("broker refused this unit's hello (%s: %s); check the unit id, key and "
		    "registry; retrying in %lld ms", wire_reject_name(r->code), safe,
		    (long long)c->backoff_ms);
		c->state = C_IDLE;
		c->hello_ms = now;
		return;
	}
	if (reject_is_transient(r->code)) {
		if (r->code == CLUEBUS__REJECT_CODE__REJECT_NOT_AUTHENTICATED &&
		    c->state == C_READY) {
			log_info("the broker no longer knows this session (a restart or a key "
			    "change); saying hello again");
			c->state = C_IDLE;
			c->backoff_ms = 0;
		}
		if (it != NULL)
			it->sent_ms = now - c->resend_ms + 1000;	/* retry in a second */
		return;
	}
	if (r->code == CLUEBUS__REJECT_CODE__REJECT_STALE_DIRECTORY && it != NULL &&
	    !it->answered && c->sealdir != NULL && it->reseals < CLIENTSEAL_MAX_RESEALS) {
		char idhex[CB_MESSAGE_ID_HEX_SIZE];

		/* Sealed again just before the resend, in a second: time for the newer
		 * directory the broker pushes (or sends on request) to arrive. */
		hex_encode(it->msgid, MESSAGE_ID_LEN, idhex);
		it->reseals++;
		it->reseal_pending = 1;
		it->sent_ms = now - c->resend_ms + 1000;
		if (c->seal_from_directory)
			client_request_directory(c);
		log_info("message %s: the broker routes it to other units than it was sealed to "
		    "(%s; its directory version %llu); sealed again with the directory reloaded",
		    idhex, safe, (unsigned long long)r->directory_version);
		return;
	}
	if (it != NULL)
		client_rejected(c, it, r->code, field, safe);
}

/* Builds the inbound document of SPEC §5: delivery facts, signature facts, the message. */
static char *
client_inbound_json(cb_client_t *c, const Cluebus__Deliver *d, const Cluebus__Message *m,
    cb_sigcheck_t sigcheck, json_t *sealing, const char *sealing_name)
{
	static const char *const sigtext[] = { "", "verified", "unchecked", "bad" };
	char hash[65], kid[17], when[40];
	json_t *doc, *recips, *sig;
	const reg_unit_t *u;
	char *out = NULL;

	hex_encode(d->entry_hash.data, CHAIN_HASH_LEN, hash);
	hex_encode(d->envelope->key_id.data, d->envelope->key_id.len == 8 ? 8 : 0, kid);
	clock_format_rfc3339(d->logged_ms, when, sizeof(when));
	if ((doc = json_object()) == NULL) {
		json_decref(sealing);
		return NULL;
	}
	recips = json_array();
	for (size_t i = 0; i < d->n_recipients; i++)
		json_array_append_new(recips, json_string(d->recipients[i]));
	sig = json_pack("{s:s, s:s, s:b, s:s}", "algorithm", "ed25519", "key_id", kid,
	    "verified_by_broker", 1, "agent_check", sigtext[sigcheck]);
	json_object_set_new(doc, "seq", json_integer((json_int_t)d->seq));
	json_object_set_new(doc, "entry_hash", json_string(hash));
	json_object_set_new(doc, "logged", json_string(when));
	json_object_set_new(doc, "sender", json_string(m->sender));
	if (client_registry(c) != NULL &&
	    (u = registry_unit(client_registry(c), m->sender)) != NULL)
		json_object_set_new(doc, "sender_name", json_string(u->name));
	json_object_set_new(doc, "signature", sig);
	json_object_set_new(doc, "recipients", recips);
	json_object_set_new(doc, "message", intake_to_json(m));
	if (sealing != NULL)
		json_object_set_new(doc, sealing_name, sealing);
	if (d->context != NULL)
		json_object_set_new(doc, "context", intake_context_to_json(d->context));
	out = json_dumps(doc, JSON_INDENT(2));
	json_decref(doc);
	return out;
}

/* Opens a delivered correlation key: the document's "correlation_key" facts, and in
 * *install the key to install before the event is done. */
static json_t *
client_correlation_key(cb_client_t *c, const Cluebus__Message *m, uint64_t seq,
    cb_sigcheck_t sigcheck, matchkey_t **install)
{
	clientcorr_rx_t rx = {
		.seal_keys = (const sealkey_t *const *)c->seal_keys,
		.n_seal_keys = c->n_seal_keys, .unit = c->unit,
		.office = c->dir != NULL ? route_office(directory_route(c->dir)) : NULL,
		.verified = sigcheck == CB_SIG_VERIFIED,
		.ring = c->match_keys, .nring = c->n_match_keys,
	};

	return clientcorr_open(&rx, m, seq, install);
}

static void
client_on_deliver(cb_client_t *c, const Cluebus__Deliver *d)
{
	const Cluebus__Envelope *env = d->envelope;
	cb_sigcheck_t sigcheck = CB_SIG_UNCHECKED;
	Cluebus__Message *m = NULL;
	json_t *sealing;
	const cb_key_t *key;
	struct event_node *n;
	cb_error_t err;

	if (d->seq <= c->watermark) {
		client_send_ack(c, c->watermark);	/* done before: the ack was lost */
		return;
	}
	if (d->seq <= c->inbound_high || d->entry_hash.len != CHAIN_HASH_LEN)
		return;	/* already queued (a redelivery) */
	if (client_registry(c) != NULL && env->sender != NULL &&
	    registry_key_at(client_registry(c), env->sender, env->key_id.data, env->key_id.len,
	    d->logged_ms, &key) == REG_KEY_OK)
		sigcheck = envelope_verify(env, key) == 0 ? CB_SIG_VERIFIED : CB_SIG_BAD;
	if (envelope_open(env, &m, &err) != 0) {
		log_warnx("delivery %llu does not parse (%s: %s); left unacknowledged",
		    (unsigned long long)d->seq, err.field, err.reason);
		return;
	}
	if (c->sealdir != NULL && client_obligations_note(c, d->context) != 0)
		goto out;	/* left unacknowledged: it comes again */
	if ((n = event_push(c, CB_EVENT_MESSAGE)) == NULL)
		goto out;
	n->ev.seq = d->seq;
	n->ev.logged_ms = d->logged_ms;
	n->ev.sigcheck = sigcheck;
	hex_encode(d->entry_hash.data, CHAIN_HASH_LEN, n->ev.entry_hash);
	hex_encode(m->message_id.data, MESSAGE_ID_LEN, n->ev.message_id);
	snprintf(n->ev.sender, sizeof(n->ev.sender), "%s", m->sender);
	snprintf(n->ev.kind, sizeof(n->ev.kind), "%s", intake_kind_name(m->kind));
	if (m->body_case == CLUEBUS__MESSAGE__BODY_CORRELATION_KEY)
		sealing = client_correlation_key(c, m, d->seq, sigcheck, &n->corrkey);
	else
		sealing = clientseal_open((const sealkey_t *const *)c->seal_keys,
		    c->n_seal_keys, c->unit, m, d->seq);
	n->json = client_inbound_json(c, d, m, sigcheck, sealing,
	    m->body_case == CLUEBUS__MESSAGE__BODY_CORRELATION_KEY ? "correlation_key" :
	    "sealing");
	n->ev.json = n->json != NULL ? n->json : "{}";
	c->inbound_high = d->seq;
out:
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

static int client_commit_watermark(cb_client_t *c, uint64_t wm);

/* The broker's log ends below what this unit received: it was restored from an older copy
 * (or its data lost). Seqs above that head will be given to new messages, which the
 * watermark would take for ones done before and skip unread; so the watermark goes down to
 * the head, durably (both of its places: open takes the higher), and those deliveries
 * surface as new (their out/ names carry the message id: nothing is overwritten). Done
 * only with nothing received and not yet done; otherwise at the next Welcome. */
static void
client_rolled_back(cb_client_t *c, uint64_t head)
{
	uint8_t val[8];
	MDB_val k = { 9, (void *)"watermark" }, v = { 8, val };
	MDB_txn *txn;
	int mrc;

	log_warnx("the broker's log ends at seq %llu, below the %llu this unit has received: "
	    "the broker was restored from an older copy. What this unit received above seq "
	    "%llu stays in out/ but is no longer in the broker's log; the senders' receipts "
	    "name it", (unsigned long long)head, (unsigned long long)c->watermark,
	    (unsigned long long)head);
	if (c->inbound_high != c->watermark || c->nreleased != 0) {
		log_warnx("messages received but not yet done: the watermark stays at %llu until "
		    "the next connection", (unsigned long long)c->watermark);
		return;
	}
	be64_put(val, head);
	if ((mrc = mdb_txn_begin(c->env, NULL, 0, &txn)) != 0) {
		client_store_fail("lower the watermark", mrc);
		return;
	}
	if ((mrc = mdb_put(txn, c->meta, &k, &v, 0)) != 0) {
		mdb_txn_abort(txn);
		client_store_fail("lower the watermark", mrc);
		return;
	}
	if ((mrc = mdb_txn_commit(txn)) != 0) {
		client_store_fail("lower the watermark", mrc);
		return;
	}
	if (client_commit_watermark(c, head) != 0)
		return;
	c->watermark = c->released_high = c->inbound_high = head;
	log_warnx("watermark lowered to seq %llu: deliveries above it are new messages",
	    (unsigned long long)head);
}

/* Asks the broker for its directory. */
static void
client_request_directory(cb_client_t *c)
{
	Cluebus__DirectoryRequest r = CLUEBUS__DIRECTORY_REQUEST__INIT;
	Cluebus__Frame f = CLUEBUS__FRAME__INIT;

	r.have_version = c->dir != NULL ? directory_version(c->dir) : 0;
	f.frame_case = CLUEBUS__FRAME__FRAME_DIRECTORY_REQUEST;
	f.directory_request = &r;
	(void)client_send(c, &f);
}

/* Takes a directory the broker sent when it is newer than the one held and verifies with
 * a broker key of the registry in use; keeps it durably before using it. A directory that
 * does not verify is logged and ignored: the old one stays. */
static void
client_on_directory(cb_client_t *c, const Cluebus__SignedDirectory *sd)
{
	size_t len = cluebus__signed_directory__get_packed_size(sd);
	directory_t *d = NULL;
	uint8_t *buf;
	cb_error_t err;
	int rc;

	if (client_registry(c) == NULL || (buf = malloc(len + 1)) == NULL)
		return;
	cluebus__signed_directory__pack(sd, buf);
	rc = directory_open(buf, len, client_registry(c), &d, &err);
	free(buf);
	if (rc != 0) {
		log_warnx("the broker's directory is refused (%s: %s); keeping version %llu",
		    err.field, err.reason, c->dir != NULL ?
		    (unsigned long long)directory_version(c->dir) : 0ULL);
		return;
	}
	if (c->dir != NULL && directory_version(d) <= directory_version(c->dir)) {
		directory_free(d);
		return;
	}
	if (directory_save(d, c->dir_path) != 0)
		log_warn("%s: the directory is used but not kept", c->dir_path);
	log_info("directory version %llu (%zu units)", (unsigned long long)directory_version(d),
	    registry_count(directory_registry(d)));
	directory_free(c->dir);
	c->dir = d;
	for (size_t i = 0; i < c->ninflight; i++)
		if (c->inflight[i].awaiting_seal)
			c->inflight[i].sent_ms = 0;	/* seal and send it now */
}

static void
client_on_frame(cb_client_t *c, const Cluebus__Frame *f, int64_t now)
{
	switch (f->frame_case) {
	case CLUEBUS__FRAME__FRAME_WELCOME:
		if (c->state != C_READY)
			log_info("connected to %s as %s", c->broker, c->unit);
		c->state = C_READY;
		c->backoff_ms = 0;
		if (!c->publish_only && f->welcome->log_head < c->watermark)
			client_rolled_back(c, f->welcome->log_head);
		for (size_t i = 0; i < c->ninflight; i++)
			if (!c->inflight[i].answered)
				c->inflight[i].sent_ms = 0;	/* resend on this session */
		if (c->watermark > 0 && !c->publish_only)
			client_send_ack(c, c->watermark);
		if (f->welcome->directory_version != 0 && (c->dir == NULL ||
		    directory_version(c->dir) != f->welcome->directory_version))
			client_request_directory(c);
		clientview_ask(&c->view, now, client_view_send, c);
		break;
	case CLUEBUS__FRAME__FRAME_DIRECTORY:
		client_on_directory(c, f->directory);
		break;
	case CLUEBUS__FRAME__FRAME_CHECKPOINT:
		if (c->state == C_READY)
			clientview_on_note(&c->view, f->checkpoint, now, client_view_send, c);
		break;
	case CLUEBUS__FRAME__FRAME_ACCEPTED:
		client_on_accepted(c, f->accepted);
		break;
	case CLUEBUS__FRAME__FRAME_REJECTED:
		client_on_rejected(c, f->rejected, now);
		break;
	case CLUEBUS__FRAME__FRAME_DELIVER:
		if (c->state == C_READY && !c->publish_only)
			client_on_deliver(c, f->deliver);
		break;
	default:
		break;	/* heartbeat: liveness only */
	}
}

static void
client_recv_all(cb_client_t *c, int64_t now)
{
	for (;;) {
		Cluebus__Frame *f;
		zmq_msg_t msg;

		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, c->sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&msg);
			return;
		}
		c->last_rx_ms = now;
		if (wire_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &f) == 0) {
			client_on_frame(c, f, now);
			wire_free(f);
		} else {
			log_warnx("broker sent a frame that does not parse; ignored");
		}
		zmq_msg_close(&msg);
	}
}

static void
client_timers(cb_client_t *c, int64_t now)
{
	client_monitor_read(c, now);
	if (c->refused) {
		if (now < c->refused_until)
			return;
		c->refused = 0;
		if (zmq_connect(c->sock, c->broker) != 0)
			log_warnx("connect %s: %s", c->broker, zmq_strerror(errno));
	}
	if (c->state == C_READY && now - c->last_rx_ms > 4 * c->heartbeat_ms + 1000) {
		log_warnx("broker silent for %lld ms; reconnecting",
		    (long long)(now - c->last_rx_ms));
		c->state = C_IDLE;
	}
	if (c->state == C_IDLE && now - c->hello_ms >= c->backoff_ms)
		client_hello(c, now);
	else if (c->state == C_HELLO_SENT &&
	    now - c->hello_ms >= (c->backoff_ms > 0 ? c->backoff_ms : c->resend_ms))
		client_hello(c, now);
	if (c->state != C_READY)
		return;
	if (now - c->last_hb_ms >= c->heartbeat_ms) {
		Cluebus__Heartbeat hb = CLUEBUS__HEARTBEAT__INIT;
		Cluebus__Frame f = CLUEBUS__FRAME__INIT;

		hb.time_ms = clock_now_ms();
		f.frame_case = CLUEBUS__FRAME__FRAME_HEARTBEAT;
		f.heartbeat = &hb;
		client_send(c, &f);
		c->last_hb_ms = now;
	}
	client_fill_window(c, now);
	clientview_timer(&c->view, now, client_view_send, c);
	/* In publish order: nothing is sent past a publish still waiting for a directory to
	 * be sealed with, so the broker logs a unit's messages in the order it stored them. */
	for (size_t i = 0; i < c->ninflight; i++) {
		struct inflight *it = &c->inflight[i];

		if (!it->answered && (it->sent_ms == 0 || now - it->sent_ms >= c->resend_ms))
			client_send_publish(c, it, now);
		if (!it->answered && it->awaiting_seal)
			break;
	}
}

/* Loads the correlation keys the options name (the current one first). */
static int
client_match_keys(cb_client_t *c, const cb_client_options_t *opt)
{
	const char *paths[MATCHKEY_MAX_KEYS] = { opt->correlation_key_path,
	    opt->correlation_key_previous_path };
	cb_error_t err;
	int rc;

	for (size_t i = 0; i < MATCHKEY_MAX_KEYS && paths[i] != NULL; i++) {
		if ((rc = matchkey_load(paths[i], &c->match_keys[i], &err)) != 0) {
			log_warnx("correlation key %s: %s", err.field, err.reason);
			return rc;
		}
		c->n_match_keys++;
	}
	if (c->n_match_keys == 2 && c->match_keys[0].version == c->match_keys[1].version) {
		log_warnx("correlation keys %s and %s have the same version %u", paths[0],
		    paths[1], c->match_keys[0].version);
		return CB_EKEY;
	}
	return 0;
}

/* Loads the unit's sealing key and the directory it seals with, when configured. */
static int
client_sealing_open(cb_client_t *c, const cb_client_options_t *opt)
{
	cb_error_t err;
	int rc;

	if (opt->n_seal_old_keys > 8 || (opt->n_seal_old_keys > 0 && opt->seal_key_path == NULL))
		return CB_EINVAL;
	for (size_t i = 0; opt->seal_key_path != NULL && i <= opt->n_seal_old_keys; i++) {
		const char *path = i == 0 ? opt->seal_key_path : opt->seal_old_key_paths[i - 1];

		if ((rc = sealkey_load_private(path, &c->seal_keys[i])) != 0) {
			log_warnx("sealing key %s: %s", path, cb_strerror(rc));
			return rc;
		}
		c->n_seal_keys++;
	}
	if (opt->seal_keys_path == NULL && opt->seal_routing_path == NULL) {
		/* The signed directory gives the routing table and the keys. */
		if (c->n_seal_keys > 0 && (rc = sealdir_new(&c->sealdir)) != 0)
			return rc;
		c->seal_from_directory = c->sealdir != NULL;
		return 0;
	}
	if (opt->seal_keys_path == NULL || opt->seal_routing_path == NULL ||
	    opt->registry_path == NULL || c->n_seal_keys == 0)
		return CB_EINVAL;
	if ((rc = sealdir_load(opt->seal_routing_path, opt->registry_path,
	    opt->seal_keys_path, &c->sealdir, &err)) != 0)
		log_warnx("sealing directory: %s: %s", err.field, err.reason);
	return rc;
}

/* Takes the directory kept in STATE/directory.pb, verified with the registry file's broker
 * key; none, or one that does not verify (logged), leaves the file's registry in use until
 * the broker sends one. Returns 0, or CB_ENOMEM / CB_EIO (the state directory's path). */
static int
client_directory_load(cb_client_t *c, const char *state_dir)
{
	cb_error_t err;
	int rc;

	if ((size_t)snprintf(c->dir_path, sizeof(c->dir_path), "%s/%s", state_dir,
	    DIRECTORY_FILE) >= sizeof(c->dir_path))
		return CB_EIO;
	if (c->seed == NULL)
		return 0;
	rc = directory_load(c->dir_path, c->seed, &c->dir, &err);
	if (rc == CB_ENOMEM)
		return rc;
	if (rc == 0)
		log_info("directory version %llu kept from the last run",
		    (unsigned long long)directory_version(c->dir));
	else if (rc != CB_ENOTFOUND)
		log_warnx("%s: %s: %s; using the registry file until the broker sends one",
		    c->dir_path, err.field, err.reason);
	return 0;
}

/* ---- the public API ---- */

int
cb_client_open(const cb_client_options_t *opt, cb_client_t **out)
{
	char server[TRANSPORT_Z85_LEN + 1];
	transport_keypair_t tk;
	cb_client_t *c;
	int rc, linger = 0, one = 1;

	if (opt == NULL || !unit_id_valid(opt->unit) || opt->key_path == NULL ||
	    opt->transport_key_path == NULL ||
	    opt->broker == NULL || strlen(opt->broker) >= 256 || opt->state_dir == NULL)
		return CB_EINVAL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return CB_ENOMEM;
	snprintf(c->unit, sizeof(c->unit), "%s", opt->unit);
	snprintf(c->broker, sizeof(c->broker), "%s", opt->broker);
	c->resend_ms = opt->resend_ms > 0 ? opt->resend_ms : 5000;
	c->heartbeat_ms = opt->heartbeat_ms > 0 ? opt->heartbeat_ms : 1000;
	c->window = opt->window > 0 ? opt->window : 256;
	c->publish_only = opt->publish_only != 0;
	c->resign_after_ms = opt->resign_after_ms > 0 ? opt->resign_after_ms :
	    CLIENT_RESIGN_AFTER_MS;
	if ((c->inflight = calloc(c->window, sizeof(*c->inflight))) == NULL) {
		rc = CB_ENOMEM;
		goto fail;
	}
	if ((rc = key_load_private(opt->key_path, &c->key)) != 0 ||
	    (rc = client_match_keys(c, opt)) != 0)
		goto fail;
	if (opt->registry_path != NULL) {
		Cluebus__Registry **recs;
		cb_error_t err;
		size_t n;

		if ((rc = registry_parse_file(opt->registry_path, &recs, &n, &err)) != 0) {
			log_warnx("%s: %s: %s", opt->registry_path, err.field, err.reason);
			goto fail;
		}
		c->seed = registry_new();
		for (size_t i = 0; i < n; i++) {
			if (c->seed != NULL && registry_apply(c->seed, recs[i], 0, &err) != 0)
				log_warnx("registry: %s: %s", err.field, err.reason);
			protobuf_c_message_free_unpacked(&recs[i]->base, NULL);
		}
		free(recs);
		if (c->seed == NULL) {
			rc = CB_ENOMEM;
			goto fail;
		}
	}
	if ((rc = client_sealing_open(c, opt)) != 0)
		goto fail;
	if ((rc = client_store_open(c, opt->state_dir)) != 0)
		goto fail;
	if ((size_t)snprintf(c->state_dir, sizeof(c->state_dir), "%s", opt->state_dir) >=
	    sizeof(c->state_dir) || clientcorr_load(c->state_dir, c->match_keys,
	    &c->n_match_keys, MATCHKEY_RING_MAX) != 0) {
		rc = CB_EIO;
		goto fail;
	}
	if (c->sealdir != NULL && (rc = client_obligations_load(c)) != 0)
		goto fail;
	if ((rc = client_directory_load(c, opt->state_dir)) != 0)
		goto fail;
	if ((rc = client_transport_keys(c, opt, &tk, server)) != 0)
		goto fail;
	if ((c->zctx = zmq_ctx_new()) == NULL ||
	    (c->sock = zmq_socket(c->zctx, ZMQ_DEALER)) == NULL ||
	    zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_setsockopt(c->sock, ZMQ_IMMEDIATE, &one, sizeof(one)) != 0 ||
	    zmq_setsockopt(c->sock, ZMQ_CURVE_SERVERKEY, server, TRANSPORT_Z85_LEN) != 0 ||
	    zmq_setsockopt(c->sock, ZMQ_CURVE_PUBLICKEY, tk.public_z85, TRANSPORT_Z85_LEN) != 0 ||
	    zmq_setsockopt(c->sock, ZMQ_CURVE_SECRETKEY, tk.secret_z85, TRANSPORT_Z85_LEN) != 0 ||
	    client_monitor_open(c) != 0 || zmq_connect(c->sock, c->broker) != 0) {
		log_warnx("connect %s: %s", c->broker, zmq_strerror(errno));
		OPENSSL_cleanse(&tk, sizeof(tk));
		rc = CB_EIO;
		goto fail;
	}
	OPENSSL_cleanse(&tk, sizeof(tk));
	c->state = C_IDLE;
	c->hello_ms = clock_mono_ms();
	*out = c;
	return 0;
fail:
	cb_client_close(c);
	return rc;
}

void
cb_client_close(cb_client_t *c)
{
	if (c == NULL)
		return;
	while (c->head != NULL)
		event_pop(c);
	if (c->monitor != NULL)
		zmq_close(c->monitor);
	if (c->sock != NULL) {
		zmq_socket_monitor(c->sock, NULL, 0);
		zmq_close(c->sock);
	}
	if (c->zctx != NULL)
		zmq_ctx_term(c->zctx);
	if (c->view_open)
		clientview_close(&c->view);
	if (c->env != NULL)
		mdb_env_close(c->env);
	seqfile_free(c->wmfile);
	sealdir_free(c->sealdir);
	for (size_t i = 0; i < c->n_seal_keys; i++)
		sealkey_free(c->seal_keys[i]);
	registry_free(c->seed);
	directory_free(c->dir);
	key_free(c->key);
	OPENSSL_cleanse(c->match_keys, sizeof(c->match_keys));
	free(c->inflight);
	free(c->released);
	client_sent_forget(c);
	free(c->sent_pending);
	free(c);
}

/* A referral this unit stores makes it the referrer of each unit it names, as the broker
 * records when it logs it: known at once, so that the unit's own supervision of it can be
 * sealed before any delivery about it comes back. Returns 0 or an error of the store. */
static int
client_note_own_referral(cb_client_t *c, const Cluebus__Message *m)
{
	Cluebus__Context ctx = CLUEBUS__CONTEXT__INIT;
	Cluebus__Obligation obl[ROUTE_MAX], *p[ROUTE_MAX];
	size_t n = 0;

	if (c->sealdir == NULL || m->body_case != CLUEBUS__MESSAGE__BODY_REFERRAL)
		return 0;
	for (size_t i = 0; i < m->referral->n_to_units && n < ROUTE_MAX; i++) {
		cluebus__obligation__init(&obl[n]);
		obl[n].unit = m->referral->to_units[i];
		obl[n].referrer = c->unit;
		p[n] = &obl[n];
		n++;
	}
	ctx.referral_id = m->message_id;
	ctx.obligations = p;
	ctx.n_obligations = n;
	return client_obligations_note(c, &ctx);
}

/* Adds the clue's blind tokens under the keys in force now (matchkey_ring_pick). */
static int
client_tokenize(cb_client_t *c, Cluebus__Message *m, cb_error_t *err)
{
	const matchkey_t *pick[MATCHKEY_MAX_KEYS];
	matchkey_t use[MATCHKEY_MAX_KEYS];
	size_t n = matchkey_ring_pick(c->match_keys, c->n_match_keys, clock_now_ms(), pick);
	int rc;

	for (size_t i = 0; i < n; i++)
		use[i] = *pick[i];
	rc = matchkey_tokenize(m, use, n, err);
	OPENSSL_cleanse(use, sizeof(use));
	return rc;
}

int
cb_client_publish_json(cb_client_t *c, const char *json, size_t len, const char *tag,
    char message_id[CB_MESSAGE_ID_HEX_SIZE], cb_error_t *err)
{
	Cluebus__OutboxRecord rec = CLUEBUS__OUTBOX_RECORD__INIT;
	ProtobufCBinaryData clear = { 0, NULL };
	Cluebus__Envelope *env = NULL;
	Cluebus__Message *m = NULL;
	uint8_t *buf = NULL;
	size_t buflen = 0;
	int rc;

	if (tag == NULL)
		tag = "";
	if (strlen(tag) > 255)
		return cb_fail(err, "tag", CB_EINVAL, "longer than 255 bytes");
	if ((rc = intake_from_json(json, len, &m, err)) != 0)
		return rc;
	if ((rc = client_tokenize(c, m, err)) != 0)
		goto out;
	if (m->message_id.len == 0) {
		if ((m->message_id.data = malloc(MESSAGE_ID_LEN)) == NULL) {
			rc = CB_ENOMEM;
			goto out;
		}
		m->message_id.len = MESSAGE_ID_LEN;
		if ((rc = rand_bytes(m->message_id.data, MESSAGE_ID_LEN)) != 0)
			goto out;
	}
	if ((m->sender = strdup(c->unit)) == NULL) {
		m->sender = (char *)protobuf_c_empty_string;
		rc = CB_ENOMEM;
		goto out;
	}
	m->created_ms = clock_now_ms();
	if (c->seal_from_directory)
		sealdir_use_directory(c->sealdir, c->dir);
	if (m->body_case == CLUEBUS__MESSAGE__BODY_CORRELATION_KEY && c->sealdir == NULL) {
		rc = cb_fail(err, "correlation_key", CB_EMALFORMED, "the key travels sealed only: "
		    "this agent needs its sealing key (seal_key) to send it");
		goto out;
	}
	if (c->sealdir != NULL && (rc = client_seal(c, m, &clear, err)) != 0) {
		if (rc != CB_EAGAIN && rc != CB_ENOTFOUND)
			goto out;
		/* No directory yet, or the referral it answers not delivered yet: kept in clear
		 * in this unit's own store (like the spool's file), sealed and signed when it
		 * can be, sent only then (client_seal_pending). */
		log_info("message stored; sealed and sent once %s", rc == CB_EAGAIN ?
		    "the broker's directory arrives" : "its recipients are known");
		if ((rc = clientseal_pack(m, &clear)) != 0)
			goto out;
	} else if ((rc = envelope_sign(m, c->key, &env)) != 0) {
		cb_error_set(err, "(document)", "cannot sign: %s", cb_strerror(rc));
		goto out;
	}
	rec.envelope = env;
	rec.tag = (char *)tag;
	rec.stored_ms = m->created_ms;
	rec.clear = clear;
	rec.clue = m->body_case == CLUEBUS__MESSAGE__BODY_CLUE;
	buflen = cluebus__outbox_record__get_packed_size(&rec);
	if ((buf = malloc(buflen)) == NULL) {
		rc = CB_ENOMEM;
		goto out;
	}
	cluebus__outbox_record__pack(&rec, buf);
	if ((rc = client_outbox_put(c, c->next_lseq, buf, buflen)) != 0) {
		cb_error_set(err, "(store)", "cannot store the message durably");
		goto out;
	}
	c->next_lseq++;
	if (client_note_own_referral(c, m) != 0)
		log_warnx("a referral's obligations are not noted: the unit's own supervision of "
		    "it waits for a delivery about it");
	if (message_id != NULL)
		hex_encode(m->message_id.data, MESSAGE_ID_LEN, message_id);
out:
	if (buf != NULL && clear.data != NULL)
		OPENSSL_cleanse(buf, buflen);
	free(buf);
	if (clear.data != NULL) {
		OPENSSL_cleanse(clear.data, clear.len);
		free(clear.data);
	}
	if (m != NULL) {
		m->key_id.data = NULL;	/* borrowed from env */
		m->key_id.len = 0;
		protobuf_c_message_free_unpacked(&m->base, NULL);
	}
	envelope_free(env);
	return rc;
}

int
cb_client_next(cb_client_t *c, int timeout_ms, const cb_event_t **ev)
{
	int64_t deadline = clock_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);

	for (;;) {
		zmq_pollitem_t item = { c->sock, 0, ZMQ_POLLIN, 0 };
		int64_t now = clock_mono_ms();
		long wait;

		client_recv_all(c, now);
		client_timers(c, now);
		if (c->head != NULL) {
			*ev = &c->head->ev;
			return 0;
		}
		if (now >= deadline)
			return CB_ETIMEOUT;
		wait = (long)(deadline - now);
		if (wait > 50)
			wait = 50;
		if (zmq_poll(&item, 1, wait) < 0 && errno != EINTR)
			return CB_EIO;
	}
}

/* Removes lseq's entry, keeping the others in lseq order (the send loop relies on it). */
static void
client_forget_inflight(cb_client_t *c, uint64_t lseq)
{
	for (size_t i = 0; i < c->ninflight; i++) {
		if (c->inflight[i].lseq != lseq)
			continue;
		memmove(&c->inflight[i], &c->inflight[i + 1],
		    (c->ninflight - i - 1) * sizeof(c->inflight[0]));
		c->ninflight--;
		return;
	}
}

/* Moves the durable watermark to `wm` alone: one flush of the watermark file. */
static int
client_commit_watermark(cb_client_t *c, uint64_t wm)
{
	int rc;

	if ((rc = seqfile_set(c->wmfile, wm)) != 0) {
		log_warnx("client store: watermark %llu: %s", (unsigned long long)wm,
		    cb_strerror(rc));
		return CB_ESTORE;
	}
	return 0;
}

/* Moves the watermark and deletes the released outcomes (and `extra_lseq` when not 0) in
 * one LMDB transaction. */
static int
client_commit_outbox(cb_client_t *c, uint64_t wm, uint64_t extra_lseq)
{
	uint8_t key[8], val[8];
	MDB_val k, v;
	MDB_txn *txn;
	int mrc;

	if ((mrc = mdb_txn_begin(c->env, NULL, 0, &txn)) != 0)
		return client_store_fail("begin", mrc);
	if (wm > c->watermark) {
		be64_put(val, wm);
		k.mv_data = (void *)"watermark", k.mv_size = 9;
		v.mv_data = val, v.mv_size = 8;
		if ((mrc = mdb_put(txn, c->meta, &k, &v, 0)) != 0)
			goto fail;
	}
	for (size_t i = 0; i <= c->nreleased; i++) {
		uint64_t lseq = i < c->nreleased ? c->released[i] : extra_lseq;

		if (lseq == 0)
			continue;
		be64_put(key, lseq);
		k.mv_data = key, k.mv_size = 8;
		if ((mrc = mdb_del(txn, c->outbox, &k, NULL)) != 0 && mrc != MDB_NOTFOUND)
			goto fail;
	}
	for (size_t i = 0; i < c->nsent_pending; i++) {
		k.mv_data = c->sent_pending[i].msgid, k.mv_size = MESSAGE_ID_LEN;
		v.mv_data = c->sent_pending[i].units, v.mv_size = strlen(c->sent_pending[i].units);
		if ((mrc = mdb_put(txn, c->sent, &k, &v, 0)) != 0)
			goto fail;
	}
	if ((mrc = clientview_store(&c->view, txn)) != 0)
		goto fail;
	if ((mrc = mdb_txn_commit(txn)) != 0)
		return client_store_fail("commit", mrc);
	clientview_stored(&c->view);
	client_sent_forget(c);
	return 0;
fail:
	mdb_txn_abort(txn);
	return client_store_fail("flush", mrc);
}

/* Makes every released event done, and the watermark at least `upto` and `extra_lseq`
 * (when not 0) deleted too, durably and together. Memory (watermark, released) changes
 * only after that succeeded; then the cumulative Ack goes out. */
static int
client_commit(cb_client_t *c, uint64_t upto, uint64_t extra_lseq)
{
	uint64_t wm = upto > c->released_high ? upto : c->released_high;
	int rc;

	if (c->nreleased == 0 && extra_lseq == 0 && c->nsent_pending == 0 &&
	    !clientview_dirty(&c->view)) {
		if (wm <= c->watermark)
			return 0;
		rc = client_commit_watermark(c, wm);
	} else {
		rc = client_commit_outbox(c, wm, extra_lseq);
	}
	if (rc != 0)
		return rc;
	c->nreleased = 0;
	if (wm > c->watermark) {
		c->watermark = c->released_high = wm;
		if (c->state == C_READY && !c->publish_only)
			client_send_ack(c, wm);
	}
	return 0;
}

/* An accepted clue's recipients go to the store with the commit that makes its outcome
 * done (client_commit_outbox). Returns 0 or CB_ENOMEM (the event stays as it was). */
static int
client_sent_keep(cb_client_t *c, struct event_node *n)
{
	struct sent_rec *r;

	if (n->sent_to == NULL)
		return 0;
	if (c->nsent_pending == c->sent_pending_cap) {
		size_t cap = c->sent_pending_cap > 0 ? 2 * c->sent_pending_cap : 16;

		if ((r = realloc(c->sent_pending, cap * sizeof(*r))) == NULL)
			return CB_ENOMEM;
		c->sent_pending = r;
		c->sent_pending_cap = cap;
	}
	r = &c->sent_pending[c->nsent_pending];
	if (hex_decode(n->ev.message_id, r->msgid, MESSAGE_ID_LEN) != 0)
		return 0;	/* cannot be: the client wrote it */
	r->units = n->sent_to;
	n->sent_to = NULL;
	c->nsent_pending++;
	return 0;
}

static void
client_sent_forget(cb_client_t *c)
{
	for (size_t i = 0; i < c->nsent_pending; i++)
		free(c->sent_pending[i].units);
	c->nsent_pending = 0;
}

/* The recipients the broker logged this unit's clue `msgid` with, for sealing a correction
 * of it (sealdir_set_original). Returns 0, CB_ENOTFOUND (not a clue accepted through this
 * store) or CB_ESTORE. */
static int
client_sent_recall(cb_client_t *c, const uint8_t *msgid)
{
	char text[ROUTE_MAX * CB_UNIT_ID_SIZE + 1], *units[ROUTE_MAX], *save = NULL, *u;
	MDB_txn *txn;
	MDB_val k = { MESSAGE_ID_LEN, (void *)msgid }, v;
	size_t n = 0;
	int mrc;

	if ((mrc = mdb_txn_begin(c->env, NULL, MDB_RDONLY, &txn)) != 0)
		return client_store_fail("begin", mrc);
	mrc = mdb_get(txn, c->sent, &k, &v);
	if (mrc == 0 && v.mv_size < sizeof(text)) {
		memcpy(text, v.mv_data, v.mv_size);
		text[v.mv_size] = '\0';
	}
	mdb_txn_abort(txn);
	if (mrc == MDB_NOTFOUND || (mrc == 0 && v.mv_size >= sizeof(text)))
		return CB_ENOTFOUND;
	if (mrc != 0)
		return client_store_fail("sent", mrc);
	for (u = strtok_r(text, ",", &save); u != NULL && n < ROUTE_MAX;
	    u = strtok_r(NULL, ",", &save))
		units[n++] = u;
	return sealdir_set_original(c->sealdir, msgid, units, n) == 0 ? 0 : CB_ENOTFOUND;
}

/* A delivered correlation key is durable before its delivery may be acknowledged. */
static int
client_install_key(cb_client_t *c, struct event_node *n)
{
	int rc;

	if (n->corrkey == NULL)
		return 0;
	if ((rc = clientcorr_install(c->state_dir, n->corrkey, c->match_keys, &c->n_match_keys,
	    MATCHKEY_RING_MAX)) != 0)
		return rc;
	clientcorr_free(n->corrkey);
	n->corrkey = NULL;
	return 0;
}

int
cb_client_done(cb_client_t *c, const cb_event_t *ev)
{
	struct event_node *n = c->head;
	int rc;

	if (n == NULL || ev != &n->ev)
		return CB_EINVAL;
	if ((rc = client_install_key(c, n)) != 0 || (rc = client_sent_keep(c, n)) != 0 ||
	    (rc = clientview_accepted(&c->view, ev)) != 0)
		return rc;
	if (ev->type == CB_EVENT_MESSAGE)
		rc = client_commit(c, ev->seq, 0);
	else
		rc = client_commit(c, 0, n->lseq);
	if (rc != 0)
		return rc;
	if (ev->type != CB_EVENT_MESSAGE)
		client_forget_inflight(c, n->lseq);
	event_pop(c);
	return 0;
}

int
cb_client_release(cb_client_t *c, const cb_event_t *ev)
{
	struct event_node *n = c->head;

	if (n == NULL || ev != &n->ev)
		return CB_EINVAL;
	if (client_install_key(c, n) != 0)
		return CB_EIO;
	if (ev->type == CB_EVENT_MESSAGE) {
		c->released_high = ev->seq;
	} else {
		if (client_sent_keep(c, n) != 0 || clientview_accepted(&c->view, ev) != 0 ||
		    u64_push(&c->released, &c->nreleased, &c->released_cap, n->lseq) != 0)
			return CB_ENOMEM;
		client_forget_inflight(c, n->lseq);
	}
	event_pop(c);
	return 0;
}

int
cb_client_flush(cb_client_t *c)
{
	return client_commit(c, 0, 0);
}

int
cb_client_pending(cb_client_t *c, void (*fn)(void *arg, const char *tag), void *arg)
{
	MDB_cursor *cur;
	MDB_val k, v;
	MDB_txn *txn;
	int mrc;

	if ((mrc = mdb_txn_begin(c->env, NULL, MDB_RDONLY, &txn)) != 0)
		return client_store_fail("read", mrc);
	if ((mrc = mdb_cursor_open(txn, c->outbox, &cur)) != 0) {
		mdb_txn_abort(txn);
		return client_store_fail("cursor", mrc);
	}
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		Cluebus__OutboxRecord *rec = cluebus__outbox_record__unpack(NULL, v.mv_size,
		    v.mv_data);

		if (rec != NULL) {
			fn(arg, rec->tag);
			cluebus__outbox_record__free_unpacked(rec, NULL);
		}
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return 0;
}

uint64_t
cb_client_watermark(const cb_client_t *c)
{
	return c->watermark;
}

int
cb_client_proof_next(cb_client_t *c, const cb_proof_t **p)
{
	return (*p = clientview_proof_next(&c->view)) != NULL ? 0 : CB_ENOTFOUND;
}

int
cb_client_proof_done(cb_client_t *c, const cb_proof_t *p)
{
	return clientview_proof_done(&c->view, p);
}

void
cb_client_transparency(const cb_client_t *c, cb_transparency_t *t)
{
	const checkpoint_t *cp = logview_checkpoint(c->view.view);

	t->tree_size = cp != NULL ? cp->size : 0;
	t->checkpoint = logview_note(c->view.view);
	t->alarm = logview_alarm(c->view.view);
	t->version = logview_version(c->view.view);
}

int
cb_client_connected(const cb_client_t *c)
{
	return c->state == C_READY;
}

/* lib/audit.c — the auditor's verification walk over a log.
 *
 * The walk keeps one entry of look-behind: when entry n+1 does not link to entry n while
 * both hash correctly, entry n is the one whose content no longer matches what the chain
 * committed to (it was rewritten and its hash recomputed), so n is reported.
 *
 * Signatures bound the walk (SPEC §11), so they are checked in batches on every core
 * (lib/verifypool.c): the walk goes on with everything else in order and keeps each signed
 * entry until its batch is checked. A full batch goes to the workers while the walk fills
 * the next one (decoding and hashing overlap the checks); before the next goes, the one
 * before is settled, so batches are settled in log order. Everything waiting is checked
 * before a registry record is applied (keys must not change under a waiting check), before
 * any other failure is reported and at the end, so the first bad entry named is still the
 * first in log order.
 *
 * The Merkle tree is recomputed in the same walk: each entry's leaf (its packed bytes) is
 * appended to a frontier, and the nodes the append completes are compared with the stored
 * nodes under a cursor that moves beside the log's (the store appends nodes in the order
 * appends complete them), so an entry names the first node that differs or is missing.
 *
 * Chain-only mode checks hashes, links, sequence, entry structure and the tree: no
 * signature, no message content, no registry. Nothing then depends on what came before but
 * the previous entry's hash and the tree's frontier, so the log is cut into contiguous
 * ranges walked on every core at once, and the first bad entry of all is named. A range
 * starts from the frontier the stored nodes give for the entries before it: those nodes
 * are compared by the ranges that complete them, so every stored node is checked once,
 * against a recomputation that starts from the empty tree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "audit.h"
#include "envelope.h"
#include "registry.h"
#include "unpack.h"
#include "util.h"
#include "verifypool.h"

#define WALK_BATCH	512
#define WALK_BATCH_BYTES (16u << 20)	/* of signed bytes held per batch: a log copied from
					 * elsewhere may hold entries far larger than the
					 * broker writes, and two batches are held at once */

struct walk {
	audit_result_t	*res;
	store_t		*store;		/* for its indexes */
	registry_t	*reg;
	uint64_t	*regseqs;	/* the registry records met, in order */
	size_t		 nregseqs, capregseqs;
	const uint8_t	*pinned;
	int		 sigs;
	uint64_t	 expect;
	uint64_t	 last;		/* the last seq of the walk: no stored node after its */
	uint8_t		 prev[CHAIN_HASH_LEN];
	merkle_frontier_t tree;		/* recomputed over the entries walked */
	int		 tree_stored;	/* compare it with the stored nodes */
	uint64_t	 nodes, sigs_queued;
	uint64_t	 tree_bad;	/* an entry whose nodes differ, named once the next
					 * entry's link is checked (see walk_tree_pending) */
	const char	*tree_why;
	verifypool_t	*pool;
	struct walk_batch {
		size_t		   n;		/* checks waiting */
		size_t		   bytes;	/* their signed bytes */
		struct verify_job  jobs[WALK_BATCH];
		uint64_t	   seqs[WALK_BATCH];
		Cluebus__LogEntry *held[WALK_BATCH];	/* the entries their envelopes are in */
	}		 batch[2];	/* batch[fill] fills while the other is checked */
	int		 fill;
	int		 inflight;	/* batch[!fill] is with the workers */
};

#define WHY_TREE_DIFFERS	"the stored Merkle tree does not match the entries"
#define WHY_TREE_MISSING	"the stored Merkle tree lacks a node this entry completes"
#define WHY_TREE_EXTRA		"the stored Merkle tree has nodes beyond the log's head"

int
audit_result_fail(audit_result_t *res, uint64_t seq, const char *reason)
{
	size_t n;

	if (res->bad_seq != 0 && res->bad_seq <= seq)
		return CB_ECORRUPT;
	n = strnlen(reason, sizeof(res->reason) - 1);	/* truncate a long detail */
	memcpy(res->reason, reason, n);
	res->reason[n] = '\0';
	res->bad_seq = seq;
	return CB_ECORRUPT;
}

int
audit_result_check(audit_result_t *res, const char *name, uint64_t count)
{
	for (size_t i = 0; i < res->nchecks; i++)
		if (strcmp(res->checks[i].name, name) == 0) {
			res->checks[i].count += count;
			return 0;
		}
	if (res->nchecks == AUDIT_CHECKS_MAX)
		return CB_ETOOBIG;
	res->checks[res->nchecks].name = name;
	res->checks[res->nchecks++].count = count;
	return 0;
}

static int
walk_fail(struct walk *w, uint64_t seq, const char *fmt, const char *detail)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), fmt, detail);
	return audit_result_fail(w->res, seq, buf);
}

/* The first entry records the broker key, signed by itself: trust it (or the pin). */
static int
walk_genesis(struct walk *w, uint64_t seq, const Cluebus__Envelope *env)
{
	ProtobufCMessage *pm = NULL;
	Cluebus__Message *m = NULL;
	cb_key_t *k = NULL;
	int rc = 0, urc, krc = CB_EKEY;

	if ((urc = unpack_bounded(&cluebus__message__descriptor, env->signed_.data,
	    env->signed_.len, &pm)) == 0)
		m = (Cluebus__Message *)pm;
	if (m != NULL && m->body_case == CLUEBUS__MESSAGE__BODY_REGISTRY &&
	    m->registry->op == CLUEBUS__REGISTRY_OP__REGISTRY_BROKER_KEY)
		krc = key_from_public(m->registry->sign_public.data,
		    m->registry->sign_public.len, &k);
	if (urc == CB_ENOMEM || krc == CB_ENOMEM || krc == CB_ECRYPTO)
		rc = urc == CB_ENOMEM ? urc : krc;	/* says nothing about the log */
	else if (krc != 0)
		rc = walk_fail(w, seq, "%s", "the log does not start with the broker key");
	else if (w->pinned != NULL && memcmp(key_public(k), w->pinned, KEY_PUBLIC_LEN) != 0)
		rc = walk_fail(w, seq, "%s", "broker key differs from the pinned key");
	else if (envelope_verify(env, k) != 0)
		rc = walk_fail(w, seq, "%s", "broker key record is not self-signed");
	key_free(k);
	if (m != NULL)
		cluebus__message__free_unpacked(m, NULL);
	return rc;
}

/* Waits for the batch in flight and names its first bad signature. Frees its entries. */
static int
walk_settle(struct walk *w)
{
	struct walk_batch *b = &w->batch[!w->fill];
	int rc = 0;

	if (!w->inflight)
		return 0;
	verifypool_wait(w->pool);
	w->inflight = 0;
	for (size_t i = 0; i < b->n; i++) {
		if (rc == 0 && b->jobs[i].rc != 0)
			rc = b->jobs[i].rc == CB_EBADSIG ? walk_fail(w, b->seqs[i], "%s",
			    "signature does not verify") : b->jobs[i].rc;
		cluebus__log_entry__free_unpacked(b->held[i], NULL);
	}
	b->n = b->bytes = 0;
	return rc;
}

/* Settles the batch in flight, then hands the filling one to the workers: the walk goes on
 * into the other batch meanwhile. */
static int
walk_launch(struct walk *w)
{
	struct walk_batch *b = &w->batch[w->fill];
	int rc;

	if ((rc = walk_settle(w)) != 0 || b->n == 0)
		return rc;
	verifypool_submit(w->pool, b->jobs, b->n);
	w->inflight = 1;
	w->fill = !w->fill;
	return 0;
}

/* Checks every waiting signature, older batch first; names the first that fails. */
static int
walk_flush(struct walk *w)
{
	int rc;

	if ((rc = walk_launch(w)) != 0)
		return rc;
	return walk_settle(w);
}

/* Queues the signature check of `e`'s envelope with `key`, taking `e`. */
static int
walk_queue(struct walk *w, uint64_t seq, Cluebus__LogEntry *e, const cb_key_t *key)
{
	struct walk_batch *b = &w->batch[w->fill];

	b->jobs[b->n].env = e->envelope;
	b->jobs[b->n].key = key;
	b->seqs[b->n] = seq;
	b->held[b->n++] = e;
	b->bytes += e->envelope->signed_.len;
	w->sigs_queued++;
	return b->n == WALK_BATCH || b->bytes >= WALK_BATCH_BYTES ? walk_launch(w) : 0;
}

/* The signer's key at the entry's time: 0 with *key (NULL for the genesis record, checked
 * by walk_genesis), or the failure. */
static int
walk_key(struct walk *w, uint64_t seq, const Cluebus__LogEntry *e, const cb_key_t **key)
{
	const Cluebus__Envelope *env = e->envelope;

	*key = NULL;
	switch (registry_key_at(w->reg, env->sender != NULL ? env->sender : "",
	    env->key_id.data, env->key_id.len, e->time_ms, key)) {
	case REG_KEY_OK:
		return 0;
	case REG_KEY_UNKNOWN_UNIT:
		if (seq == 1)
			return 0;	/* the genesis record */
		return walk_fail(w, seq, "%s", "sender was not registered at that time");
	case REG_KEY_UNKNOWN_KEY:
		return walk_fail(w, seq, "%s", "key id is not the sender's");
	case REG_KEY_REVOKED:
	default:
		return walk_fail(w, seq, "%s", "key was not valid at that time");
	}
}

/* Opens and checks the message inside a signed entry: valid, and of a kind its sender may
 * log. Returns 0 with *out (the caller frees it) or the failure. */
static int
walk_message(struct walk *w, uint64_t seq, const Cluebus__LogEntry *e,
    Cluebus__Message **out)
{
	Cluebus__Message *m = NULL;
	cb_error_t err;
	int rc;

	if ((rc = envelope_open(e->envelope, &m, &err)) != 0) {
		char detail[400];

		if (rc == CB_ENOMEM)
			return rc;
		snprintf(detail, sizeof(detail), "%s: %s", err.field, err.reason);
		return walk_fail(w, seq, "message does not validate: %s", detail);
	}
	if ((e->type == CLUEBUS__ENTRY_TYPE__ENTRY_BROKER) !=
	    (strcmp(m->sender, REGISTRY_BROKER_UNIT) == 0))
		rc = walk_fail(w, seq, "%s", "entry type does not match its sender");
	else if (m->body_case == CLUEBUS__MESSAGE__BODY_REGISTRY &&
	    e->type == CLUEBUS__ENTRY_TYPE__ENTRY_MESSAGE &&
	    strcmp(m->sender, REGISTRY_ADMIN_UNIT) != 0)
		rc = walk_fail(w, seq, "%s", "a registry record not from the broker or the admin");
	if (rc != 0) {
		protobuf_c_message_free_unpacked(&m->base, NULL);
		return rc;
	}
	*out = m;
	return 0;
}

/* The broker's indexes must agree with the entry: its message id maps to it (the dedup
 * index), and a registry record is remembered for walk_regidx. A missing index entry would
 * make the broker answer a resend as new, or not know a unit at its next start. */
static int
walk_index(struct walk *w, uint64_t seq, const Cluebus__Message *m)
{
	uint64_t indexed;
	int rc;

	if (m->body_case == CLUEBUS__MESSAGE__BODY_REGISTRY &&
	    u64_push(&w->regseqs, &w->nregseqs, &w->capregseqs, seq) != 0)
		return CB_ENOMEM;
	if ((rc = store_msgid_get(w->store, m->message_id.data, &indexed)) == CB_ENOTFOUND)
		return walk_fail(w, seq, "%s", "message id missing from the broker's dedup index");
	if (rc != 0)
		return rc;
	if (indexed != seq)
		return walk_fail(w, seq, "%s", "the broker's dedup index maps this message id to "
		    "another entry");
	return 0;
}

struct regidx_check {
	struct walk	*w;
	size_t		 next;		/* into w->regseqs */
};

static int
walk_regidx_one(void *arg, uint64_t seq, const uint8_t *val, size_t len)
{
	struct regidx_check *c = arg;
	struct walk *w = c->w;

	(void)val;
	(void)len;
	if (c->next < w->nregseqs && w->regseqs[c->next] < seq)
		return walk_fail(w, w->regseqs[c->next], "%s", "registry record missing from the "
		    "broker's registry index (the broker would not know it at start)");
	if (c->next == w->nregseqs || w->regseqs[c->next] != seq)
		return walk_fail(w, seq, "%s", "the broker's registry index lists an entry that "
		    "is not a registry record");
	c->next++;
	return 0;
}

/* The registry index (what the broker replays at start) lists exactly the registry records
 * the walk met. */
static int
walk_regidx(struct walk *w)
{
	struct regidx_check c = { w, 0 };
	int rc;

	if ((rc = store_walk_registry(w->store, walk_regidx_one, &c)) != 0)
		return rc;
	if (c.next < w->nregseqs)
		return walk_fail(w, w->regseqs[c.next], "%s", "registry record missing from the "
		    "broker's registry index (the broker would not know it at start)");
	return 0;
}

/* A signed entry: key, message, signature (queued, taking `e`); a registry record is
 * applied once every signature up to its own has been checked. */
static int
walk_signed(struct walk *w, uint64_t seq, Cluebus__LogEntry *e)
{
	Cluebus__Message *m = NULL;
	const cb_key_t *key;
	int64_t time_ms = e->time_ms;
	cb_error_t err;
	int rc = 0;

	if (e->envelope == NULL) {
		rc = walk_fail(w, seq, "%s", "message entry without an envelope");
		goto out;
	}
	if (!w->sigs)
		goto out;	/* chain-only */
	if ((seq == 1 && (rc = walk_genesis(w, seq, e->envelope)) != 0) ||
	    (rc = walk_key(w, seq, e, &key)) != 0 || (rc = walk_message(w, seq, e, &m)) != 0 ||
	    (rc = walk_index(w, seq, m)) != 0)
		goto out;
	if (key != NULL) {
		rc = walk_queue(w, seq, e, key);
		e = NULL;
	}
	if (rc == 0 && m->body_case == CLUEBUS__MESSAGE__BODY_REGISTRY &&
	    (rc = walk_flush(w)) == 0 &&
	    (rc = registry_apply(w->reg, m->registry, time_ms, &err)) != 0 && rc != CB_ENOMEM)
		rc = walk_fail(w, seq, "registry record does not apply: %s", err.reason);
out:
	chain_entry_free(e, m);
	return rc;
}

/* The checks of every entry: chain, type, structure. Takes `e`. */
static int
walk_checked(struct walk *w, uint64_t seq, Cluebus__LogEntry *e)
{
	int rc = 0;

	w->res->entries++;
	for (size_t i = 0; i < e->n_recipients; i++)
		if (!unit_id_valid(e->recipients[i])) {
			rc = walk_fail(w, seq, "%s", "recipient is not a unit id");
			goto out;
		}
	switch (e->type) {
	case CLUEBUS__ENTRY_TYPE__ENTRY_MESSAGE:
		w->res->messages++;
		return walk_signed(w, seq, e);
	case CLUEBUS__ENTRY_TYPE__ENTRY_BROKER:
		w->res->broker_entries++;
		return walk_signed(w, seq, e);
	case CLUEBUS__ENTRY_TYPE__ENTRY_REJECTION:
		w->res->rejections++;
		if (e->rejection == NULL)
			rc = walk_fail(w, seq, "%s", "rejection without summary");
		break;
	case CLUEBUS__ENTRY_TYPE__ENTRY_ACK:
		w->res->acks++;
		if (e->ack == NULL || !unit_id_valid(e->ack->unit))
			rc = walk_fail(w, seq, "%s", "acknowledgement without a unit");
		break;
	default:
		rc = walk_fail(w, seq, "%s", "unknown entry type");
		break;
	}
out:
	cluebus__log_entry__free_unpacked(e, NULL);
	return rc;
}

/* Entry `seq`'s nodes differ from the stored ones. An entry rewritten with its own hash
 * recomputed differs there too, and the next entry's link says so more precisely, so the
 * tree's verdict waits for that link (walk_tree_pending); comparing stops. */
static int
walk_tree_bad(struct walk *w, uint64_t seq, const char *why)
{
	w->tree_bad = seq;
	w->tree_why = why;
	w->tree_stored = 0;
	return 0;
}

/* Names the entry whose nodes differed, unless a failure named it (or one before it). */
static int
walk_tree_pending(struct walk *w)
{
	return w->tree_bad != 0 ? walk_fail(w, w->tree_bad, "%s", w->tree_why) : 0;
}

/* Appends entry `seq`'s leaf to the recomputed tree and compares the nodes it completes
 * with the next stored ones; the walk's last entry also finds no stored node after its. */
static int
walk_tree(struct walk *w, uint64_t seq, const uint8_t *val, size_t len, store_nodes_t *nodes)
{
	merkle_node_t made[MERKLE_LEVELS];
	uint8_t leaf[MERKLE_HASH_LEN];
	const uint8_t *hash;
	uint64_t key;
	size_t count, hlen;
	int rc;

	if ((rc = merkle_leaf_hash(val + CHAIN_HASH_LEN, len - CHAIN_HASH_LEN, leaf)) != 0 ||
	    (rc = merkle_append_nodes(&w->tree, leaf, made, &count)) != 0)
		return rc == CB_ETOOBIG ? walk_fail(w, seq, "%s", "the log holds more entries "
		    "than a Merkle tree may") : rc;
	for (size_t i = 0; w->tree_stored && i < count; i++) {
		if ((rc = store_nodes_next(nodes, &key, &hash, &hlen)) == CB_ESTORE)
			return rc;
		if (rc == CB_ENOTFOUND ||
		    (rc == 0 && key > merkle_node_seq(made[i].level, made[i].index)))
			return walk_tree_bad(w, seq, WHY_TREE_MISSING);
		if (rc != 0 || key != merkle_node_seq(made[i].level, made[i].index) ||
		    hlen != MERKLE_HASH_LEN || CRYPTO_memcmp(hash, made[i].hash,
		    MERKLE_HASH_LEN) != 0)
			return walk_tree_bad(w, seq, WHY_TREE_DIFFERS);
		w->nodes++;
	}
	merkle_frontier_advance(&w->tree, made, count);
	if (w->tree_stored && seq == w->last) {
		if ((rc = store_nodes_next(nodes, &key, &hash, &hlen)) == CB_ESTORE)
			return rc;
		if (rc != CB_ENOTFOUND)
			return walk_fail(w, seq, "%s", WHY_TREE_EXTRA);
	}
	return 0;
}

static int
walk_one(struct walk *w, uint64_t seq, const uint8_t *val, size_t len, store_nodes_t *nodes)
{
	Cluebus__LogEntry *e = NULL;
	const uint8_t *hash;
	const char *why = "entry does not decode";
	int rc;

	if (seq != w->expect) {
		(void)walk_tree_pending(w);
		return walk_fail(w, w->expect, "%s", "entry missing (sequence gap)");
	}
	if ((rc = chain_decode(val, len, &hash, &e)) == CB_ECORRUPT)
		rc = chain_check(val, len, seq, w->prev, &why);	/* for its reason */
	else if (rc == 0 && (rc = chain_check_decoded(val, len, e, seq, w->prev, &why)) != 0)
		cluebus__log_entry__free_unpacked(e, NULL);
	if (rc == CB_ENOMEM || rc == CB_ECRYPTO)
		return rc;	/* says nothing about the log */
	if (rc != 0) {
		/* A correct hash that fails to link: the previous entry was rewritten. */
		if (seq > 1 && strcmp(why, "prev_hash does not link to the previous entry") == 0)
			return walk_fail(w, seq - 1, "%s", "entry does not match the hash the next "
			    "entry links to (rewritten)");
		(void)walk_tree_pending(w);	/* an earlier entry, if its nodes differed */
		return walk_fail(w, seq, "%s", why);
	}
	if ((rc = walk_tree_pending(w)) != 0) {
		cluebus__log_entry__free_unpacked(e, NULL);
		return rc;
	}
	memcpy(w->prev, hash, CHAIN_HASH_LEN);
	w->expect++;
	if ((rc = walk_tree(w, seq, val, len, nodes)) != 0) {
		cluebus__log_entry__free_unpacked(e, NULL);
		return rc;
	}
	return walk_checked(w, seq, e);
}

/* store_walk_range_tree's callback. A failure found here comes after every waiting check:
 * those are checked first, and an earlier bad signature is the one named. */
static int
walk_entry(void *arg, uint64_t seq, const uint8_t *val, size_t len, store_nodes_t *nodes)
{
	struct walk *w = arg;
	int rc, frc;

	if ((rc = walk_one(w, seq, val, len, nodes)) != 0 && (frc = walk_flush(w)) != 0)
		return frc;
	return rc;
}

/* ---- chain-only: contiguous ranges of the log on every core ---- */

#define RANGE_MIN		1024	/* entries: fewer are not worth a thread */
#define RANGES_PER_THREAD	8

/* One range's walk (a verifypool_map job). Links inside the range are checked as in the
 * sequential walk; its first entry links to the recorded hash of the entry before it, read
 * on its own, so every link of the log is checked exactly once. */
struct range {
	store_t		*s;
	uint64_t	 from, to;	/* seqs, inclusive */
	int		 last;		/* the range that ends at the head */
	int		 tree_stored;
	audit_result_t	 res;
	uint64_t	 nodes;		/* stored nodes compared */
	merkle_frontier_t tree;		/* the last range's: the whole tree */
	int		 rc;
};

/* A walk that stopped on a malformed key or a missing node of the frontier it starts from
 * (before any entry) has named no entry yet: name where it stood. */
static int
walk_unnamed(struct walk *w, uint64_t from)
{
	return walk_fail(w, w->expect, "%s", w->expect == from ? "the stored Merkle tree lacks "
	    "a node of the entries before this one" : "the log has a malformed key");
}

static void
range_walk(void *arg, size_t i)
{
	struct range *r = (struct range *)arg + i;
	struct walk w;
	uint8_t *val;
	size_t len;

	memset(&w, 0, sizeof(w));
	w.res = &r->res;
	w.expect = r->from;
	w.last = r->last ? r->to : 0;
	w.tree_stored = r->tree_stored;
	/* The entry before the range (its range checks it): a missing one leaves zeros, and
	 * that range reports the gap at a lower seq. */
	if (r->from > 1 && store_get(r->s, r->from - 1, &val, &len) == 0) {
		if (len >= CHAIN_HASH_LEN)
			memcpy(w.prev, val, CHAIN_HASH_LEN);
		free(val);
	}
	r->rc = store_walk_range_tree(r->s, r->from, r->to, &w.tree, walk_entry, &w);
	if (r->rc == 0)
		r->rc = walk_tree_pending(&w);
	if (r->rc == CB_ECORRUPT && r->res.bad_seq == 0)
		r->rc = walk_unnamed(&w, r->from);
	r->nodes = w.nodes;
	if (r->last)
		r->tree = w.tree;
	if (r->rc == 0 && w.expect - 1 != r->to)
		r->rc = walk_fail(&w, w.expect, "%s", r->last ?
		    "log ends before its recorded head" : "entry missing (sequence gap)");
	if (r->rc == 0 && r->last)
		memcpy(r->res.head, w.prev, CHAIN_HASH_LEN);
}

/* Fills in the tree's root and the checks made. */
static int
audit_close(audit_result_t *res, const merkle_frontier_t *tree, uint64_t nodes, int sigs,
    uint64_t signatures, int rc)
{
	int crc;

	if ((crc = merkle_frontier_root(tree, res->root)) != 0)
		return rc != 0 ? rc : crc;
	if ((crc = audit_result_check(res, "chain", res->entries)) != 0 ||
	    (crc = audit_result_check(res, "tree", res->tree_stored ? nodes :
	    tree->size)) != 0 ||
	    (sigs && (crc = audit_result_check(res, "signatures", signatures)) != 0) ||
	    (sigs && (crc = audit_result_check(res, "indexes", res->messages +
	    res->broker_entries)) != 0))
		return rc != 0 ? rc : crc;
	return rc;
}

static int
audit_chain(store_t *s, audit_result_t *res)
{
	unsigned workers = verifypool_default_threads(), n;
	uint64_t head = store_head_seq(s), per, nodes = 0;
	struct range *r;
	verifypool_t *pool = NULL;
	const struct range *bad = NULL;
	int rc;

	/* More ranges than threads, taken one at a time: parts of a log differ in cost, so with
	 * one range per thread a core would sit idle while another finishes its part. */
	n = head / RANGE_MIN > (workers + 1) * RANGES_PER_THREAD ?
	    (workers + 1) * RANGES_PER_THREAD : (unsigned)(head / RANGE_MIN);
	if (n <= 1 || workers == 0 || !res->tree_stored)
		n = 1;		/* not worth the threads, or no stored frontier to start from */
	if ((r = calloc(n, sizeof(*r))) == NULL)
		return CB_ENOMEM;
	if (n > 1 && (rc = verifypool_new(workers, &pool)) != 0) {
		free(r);
		return rc;
	}
	per = head / n;
	for (unsigned i = 0; i < n; i++) {
		r[i].s = s;
		r[i].from = 1 + i * per;
		r[i].to = i + 1 == n ? head : (i + 1) * per;
		r[i].last = i + 1 == n;
		r[i].tree_stored = res->tree_stored;
	}
	verifypool_map(pool, range_walk, r, n, n > 1 ? 0 : 1);
	verifypool_free(pool);
	rc = 0;
	for (unsigned i = 0; i < n; i++) {
		res->entries += r[i].res.entries;
		res->messages += r[i].res.messages;
		res->rejections += r[i].res.rejections;
		res->acks += r[i].res.acks;
		res->broker_entries += r[i].res.broker_entries;
		nodes += r[i].nodes;
		/* Not a verdict (memory, the store): the answer is that error. */
		if (r[i].rc != 0 && r[i].rc != CB_ECORRUPT && rc == 0)
			rc = r[i].rc;
		/* The first bad entry; at a tie (a range's last entry, rewritten, is named by
		 * its tree and by the next range's link) the link's reason, the precise one. */
		if (r[i].rc == CB_ECORRUPT && (bad == NULL || r[i].res.bad_seq < bad->res.bad_seq ||
		    (r[i].res.bad_seq == bad->res.bad_seq &&
		    strncmp(bad->res.reason, "the stored Merkle tree", 22) == 0)))
			bad = &r[i];
	}
	if (rc == 0 && bad != NULL) {
		res->bad_seq = bad->res.bad_seq;
		memcpy(res->reason, bad->res.reason, sizeof(res->reason));
		rc = CB_ECORRUPT;
	}
	if (rc == 0)
		memcpy(res->head, r[n - 1].res.head, CHAIN_HASH_LEN);
	rc = audit_close(res, &r[n - 1].tree, nodes, 0, 0, rc);
	free(r);
	return rc;
}

int
audit_verify(store_t *s, const uint8_t *pinned, int sigs, audit_result_t *res)
{
	struct walk *w;
	int rc;

	memset(res, 0, sizeof(*res));
	res->tree_stored = store_tree_size(s) == store_head_seq(s);
	if (!sigs)
		return audit_chain(s, res);
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return CB_ENOMEM;
	w->res = res;
	w->store = s;
	w->pinned = pinned;
	w->sigs = sigs;
	w->expect = 1;
	w->last = store_head_seq(s);
	w->tree_stored = res->tree_stored;
	merkle_frontier_init(&w->tree);
	if ((w->reg = registry_new()) == NULL) {
		free(w);
		return CB_ENOMEM;
	}
	if ((rc = verifypool_new(verifypool_default_threads(), &w->pool)) != 0)
		goto out;
	if ((rc = store_walk_range_tree(s, 1, UINT64_MAX, NULL, walk_entry, w)) == 0 &&
	    (rc = walk_flush(w)) == 0)
		rc = walk_tree_pending(w);
	else if (rc == CB_ECORRUPT && res->bad_seq == 0)
		rc = walk_unnamed(w, 1);
	if (rc == 0 && w->expect - 1 != store_head_seq(s))
		rc = walk_fail(w, w->expect, "%s", "log ends before its recorded head");
	if (rc == 0)
		rc = walk_regidx(w);
	if (rc == 0)
		memcpy(res->head, w->prev, CHAIN_HASH_LEN);
	rc = audit_close(res, &w->tree, w->nodes, 1, w->sigs_queued, rc);
out:
	verifypool_wait(w->pool);	/* after a failure: entries still waiting */
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < w->batch[k].n; i++)
			cluebus__log_entry__free_unpacked(w->batch[k].held[i], NULL);
	verifypool_free(w->pool);
	registry_free(w->reg);
	free(w->regseqs);
	free(w);
	return rc;
}

/* broker/match.c — correlation of clues on blind tokens: posting lists, match notices,
 * bundling suggestions (docs/correlation.md).
 *
 * Agents send, with each clue, HMAC tokens of its identifiers under the city correlation
 * key, which the broker never has. The broker indexes them in the store's `match` database
 * in the transaction that logs the clue, and when a token was seen before in a clue of
 * another unit or another case, it logs one broker-signed `match` notice (the two clues'
 * ids, seqs, units and case references and the identifier type: no personal data) to the
 * office and the two units, in the same transaction: a notice is committed with the clue
 * that caused it, or neither is.
 *
 * Records of the `match` database (integers big-endian):
 *   'P' kv(4) token(32) seq(8)  -> ""           a posting: the token is in clue `seq`
 *   'P' kv(4) token(32) seq(8)  -> entry        the same with its entry inline (as
 *                                               written before the 'e' records; read)
 *   'P' kv(4) token(32) 0(8)    -> since_ms(8) type(1)   the token is hot (sorts first)
 *   'H' kv(4) token(32)         -> since_ms(8) type(1)   the same, for the status to list
 *   'M'                         -> seq(8) [target(8) last(45)]   the 'e' records up to
 *                                  seq are merged; while a merge runs, so are the postings
 *                                  of those up to target whose 'P' key is <= last
 *   'R' id(16) id(16)           -> ""           a pair notified (ids in byte order)
 *   'S'                         -> notices, bundles, tokens, entries, hot (8 each)
 *   'e' seq(8)                  -> entry n(1) n * (kv(4) token(32))
 *                                  clue `seq` and the tokens it put in lists
 * where entry = msgid(16) time_ms(8) category(1) ntokens(1) unit_len(1) unit case_len(2)
 * case. A new clue costs, per token, one cursor walk of its list and a look-up in the
 * staging hash, and one appended 'e' record; an earlier clue found in a list costs one get
 * of its 'e' record. The lists also answer bundling (clues with the same token set: the
 * same number of distinct tokens and in every one of the new clue's lists), so bundles need
 * no records of their own. ('Q' seq(8) idx(1) -> kv(4) token(32) entry, one record per
 * staged posting, is the staging of an older version: the first clue after a start turns
 * them into 'e' records.)
 *
 * Invariants: (1) a token's list holds at most match_list_max entries: the clue that would
 * exceed it marks the token hot instead, and a hot token is neither indexed nor matched
 * again, so the index grows with identifiers, never with pairs (MISP's pairwise table does);
 * (2) a pair of clues is notified at most once, whatever tokens they share and however
 * often; (3) every record is written in the round's transaction with the clue; (4) every
 * posting names a clue with an 'e' record.
 *
 * The staging tier: a token is a random key, so a posting put straight into its list
 * dirties a leaf page of its own at every commit. A clue's postings are therefore first
 * only in its 'e' record (the key is its seq: appended to the last page), and found again
 * through an in-memory hash of the tokens of the 'e' records after 'M' (struct
 * match_stage); a list is its 'P' records followed by its staged postings. When
 * match_stage_max postings are staged, a merge starts: their 'P' keys, sorted, are put
 * into the lists match_merge_slice at a time, one slice in each round's transaction (each
 * leaf page dirtied once per merge, and a round's extra work bounded however long the
 * lists are), and 'M' records how far the merge got, in the same transaction. So a crash
 * leaves every posting in exactly one tier, and the first clue after a start rebuilds the
 * hash and what is left of a running merge from the 'e' records after 'M'. The hash may
 * name postings that are not staged (an aborted round's, merged ones): every one is
 * checked against 'M' as the open transaction has it and against its 'e' record before it
 * counts, so an aborted round needs no undo but of the merge's place.
 *
 * The figures ('S') are read once and written once per round: the round's commit calls
 * match_round_flush. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "broker.h"
#include "identifiers.h"
#include "intake.h"
#include "log.h"
#include "match.h"
#include "matchkey.h"
#include "route.h"
#include "util.h"

#define TOKEN_KEY_LEN	(1 + 4 + MATCH_TOKEN_LEN)
#define POSTING_KEY_LEN	(TOKEN_KEY_LEN + 8)
#define PAIR_KEY_LEN	(1 + 2 * MESSAGE_ID_LEN)
#define ENTRY_MAX	(MESSAGE_ID_LEN + 8 + 1 + 1 + 1 + CB_UNIT_ID_MAX + 2 + 256)
#define HOT_LEN		9
#define STATS_N		5
#define HOT_LISTED	20
#define TK_LEN		(4 + MATCH_TOKEN_LEN)	/* kv and token, as in a list's key */
#define CLUE_KEY_LEN	(1 + 8)
#define CLUE_MAX	(ENTRY_MAX + 1 + MATCH_TOKENS_MAX * TK_LEN)
#define OLD_STAGE_KEY_LEN (1 + 8 + 1)
#define STAGE_BUCKETS	65536			/* a power of two, 4 per staged posting */

/* A staged posting as the hash knows it. */
struct staged {
	uint8_t		 tk[TK_LEN];
	uint64_t	 seq;
	uint8_t		 idx;		/* the token's place in its 'e' record */
	uint32_t	 next;		/* the bucket's next (index + 1; 0: none) */
};

enum { ST_NOTICES, ST_BUNDLES, ST_TOKENS, ST_ENTRIES, ST_HOT };
enum { STATS_UNREAD, STATS_READ, STATS_CHANGED };

/* Where merging stands ('M'): every 'e' record up to `upto` is in the lists; while a merge
 * runs (`running`), so are the postings of the records up to `target` whose list key is
 * at most `last`. */
struct merge_mark {
	uint64_t	 upto, target;
	uint8_t		 last[POSTING_KEY_LEN];
	int		 running;
};

/* The hash of the staged postings, the running merge and the round's figures
 * (broker.match_stage). */
struct match_stage {
	struct staged	*v;
	size_t		 n, cap;
	uint32_t	 head[STAGE_BUCKETS];	/* index + 1 of a bucket's first (0: none) */
	struct merge_mark mark;		/* in the open transaction */
	struct merge_mark committed;	/* in committed data */
	uint8_t		(*keys)[POSTING_KEY_LEN];	/* a running merge's postings still to
						 * put, sorted: keys[pos..nkeys) */
	size_t		 nkeys, cap_keys, pos, pos_committed;
	int		 merged_in_txn;	/* the open transaction has merged a slice */
	size_t		 cycle_n;	/* postings of the running merge, for the log */
	unsigned	 cycle_rounds;
	int64_t		 round_began_ms, round_puts_ms, cycle_max_ms, cycle_puts_max_ms;
	int		 built_in_txn;	/* the hash was built in the open transaction */
	uint64_t	 stats[STATS_N];
	int		 stats_state;	/* STATS_*: in the open transaction */
};

/* One logged clue as the index knows it. */
struct entry {
	uint64_t	 seq;
	uint8_t		 msgid[MESSAGE_ID_LEN];
	int64_t		 time_ms;
	uint8_t		 category;
	uint8_t		 ntokens;	/* distinct tokens of the clue */
	char		 unit[CB_UNIT_ID_SIZE];
	char		 case_ref[257];
};

/* A clue's 'e' record, parsed: its entry and the tokens it indexed. */
struct clue_rec {
	struct entry	 e;
	const uint8_t	*tks;		/* n * TK_LEN, borrowed from the transaction */
	size_t		 n;
};

/* One match_apply: the new clue and what it has caused so far. */
struct apply {
	struct broker		*b;
	const Cluebus__Message	*m;
	struct entry		 self;
	uint8_t			 tks[MATCH_TOKENS_MAX * TK_LEN]; /* the tokens indexed */
	size_t			 ntks;
	struct entry		*list;	/* a token's entries (allocated when one has) */
	size_t			 nlist, caplist;
	int			 hot;		/* the token walked is hot */
	struct entry		*bundle;	/* earlier clues with the same tokens so far */
	size_t			 nbundle;
	int			 bundle_off;	/* a token's list cannot tell (hot, full) */
	unsigned		 notices;	/* notices for this clue */
	uint64_t		*stats;		/* the round's figures */
	int			 rc;		/* of a walk's decoding */
};

static size_t
entry_encode(const struct entry *e, uint8_t *out)
{
	size_t n, ul = strlen(e->unit), cl = strlen(e->case_ref);

	memcpy(out, e->msgid, MESSAGE_ID_LEN);
	be64_put(out + 16, (uint64_t)e->time_ms);
	out[24] = e->category;
	out[25] = e->ntokens;
	out[26] = (uint8_t)ul;
	n = 27;
	memcpy(out + n, e->unit, ul);
	n += ul;
	out[n++] = (uint8_t)(cl >> 8);
	out[n++] = (uint8_t)cl;
	memcpy(out + n, e->case_ref, cl);
	return n + cl;
}

/* Decodes the entry of clue `seq` at the start of `in`. Returns its length, or
 * CB_ECORRUPT for a malformed record. */
static int
entry_decode(uint64_t seq, const uint8_t *in, size_t len, struct entry *e)
{
	size_t ul, cl;

	if (len < 27 || (ul = in[26]) > CB_UNIT_ID_MAX || len < 27 + ul + 2)
		return CB_ECORRUPT;
	cl = (size_t)in[27 + ul] << 8 | in[28 + ul];
	if (cl > 256 || len < 29 + ul + cl)
		return CB_ECORRUPT;
	e->seq = seq;
	memcpy(e->msgid, in, MESSAGE_ID_LEN);
	e->time_ms = (int64_t)be64_get(in + 16);
	e->category = in[24];
	e->ntokens = in[25];
	memcpy(e->unit, in + 27, ul);
	e->unit[ul] = '\0';
	memcpy(e->case_ref, in + 29 + ul, cl);
	e->case_ref[cl] = '\0';
	return (int)(29 + ul + cl);
}

static void
clue_key(uint8_t *key, uint64_t seq)
{
	key[0] = 'e';
	be64_put(key + 1, seq);
}

/* Parses an 'e' record. Returns 0 or CB_ECORRUPT. */
static int
clue_parse(uint64_t seq, const uint8_t *val, size_t len, struct clue_rec *c)
{
	int used = entry_decode(seq, val, len, &c->e);

	if (used < 0)
		return used;
	if ((size_t)used >= len || len != (size_t)used + 1 + val[used] * (size_t)TK_LEN)
		return CB_ECORRUPT;
	c->n = val[used];
	c->tks = val + used + 1;
	return 0;
}

/* Clue `seq`'s 'e' record in the round's transaction: 0, CB_ENOTFOUND or an error. */
static int
clue_get(struct broker *b, uint64_t seq, struct clue_rec *c)
{
	uint8_t key[CLUE_KEY_LEN];
	const uint8_t *val;
	size_t len;
	int rc;

	clue_key(key, seq);
	if ((rc = store_txn_aux_get(b->txn, STORE_MATCH, key, sizeof(key), &val, &len)) != 0)
		return rc;
	return clue_parse(seq, val, len, c);
}

static void
token_key(uint8_t *key, char prefix, const Cluebus__MatchToken *t)
{
	key[0] = (uint8_t)prefix;
	key[1] = (uint8_t)(t->key_version >> 24);
	key[2] = (uint8_t)(t->key_version >> 16);
	key[3] = (uint8_t)(t->key_version >> 8);
	key[4] = (uint8_t)t->key_version;
	memcpy(key + 5, t->token.data, MATCH_TOKEN_LEN);
}

static unsigned
list_max(const struct broker *b)
{
	return b->cfg.match_list_max > 0 ? b->cfg.match_list_max : MATCH_LIST_MAX_DEFAULT;
}

/* Copies the string `src` into `dst` of `size` bytes, cut to fit. */
static void
copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Appends `n` entries to a->list, allocating it the first time; past the bound (the
 * caller counts the list as full) the rest is dropped. Returns the entry to fill or NULL
 * with a->rc set (CB_ENOMEM) or not (full). */
static struct entry *
list_slot(struct apply *a)
{
	if (a->nlist == a->caplist) {
		if (a->list != NULL)
			return NULL;	/* past the bound: counted by the caller as full */
		a->caplist = list_max(a->b) + 1;
		if ((a->list = malloc(a->caplist * sizeof(*a->list))) == NULL) {
			a->rc = CB_ENOMEM;
			return NULL;
		}
	}
	return &a->list[a->nlist];
}

/* ---- the staging tier ---- */

static unsigned
stage_max(const struct broker *b)
{
	return b->cfg.match_stage_max > 0 ? b->cfg.match_stage_max : MATCH_STAGE_MAX_DEFAULT;
}

static uint32_t
stage_bucket(const uint8_t *tk)
{
	return (uint32_t)be64_get(tk + 4) & (STAGE_BUCKETS - 1);	/* HMAC bytes */
}

static int
stage_add(struct match_stage *st, const uint8_t *tk, uint64_t seq, uint8_t idx)
{
	struct staged *s;
	uint32_t h = stage_bucket(tk);

	if (st->n == st->cap) {
		size_t cap = st->cap > 0 ? 2 * st->cap : 256;

		if ((s = realloc(st->v, cap * sizeof(*s))) == NULL)
			return CB_ENOMEM;
		st->v = s;
		st->cap = cap;
	}
	s = &st->v[st->n];
	memcpy(s->tk, tk, TK_LEN);
	s->seq = seq;
	s->idx = idx;
	s->next = st->head[h];
	st->head[h] = (uint32_t)++st->n;
	return 0;
}

/* Whether the posting of token key `tk` in clue `seq` is in its list, by `mk`. */
static int
mark_merged(const struct merge_mark *mk, const uint8_t *tk, uint64_t seq)
{
	uint8_t key[POSTING_KEY_LEN];

	if (seq <= mk->upto)
		return 1;
	if (!mk->running || seq > mk->target)
		return 0;
	key[0] = 'P';
	memcpy(key + 1, tk, TK_LEN);
	be64_put(key + TOKEN_KEY_LEN, seq);
	return memcmp(key, mk->last, POSTING_KEY_LEN) <= 0;
}

/* Keeps only the postings that `mk` does not count as merged (all == 1: none). */
static void
stage_drop(struct match_stage *st, const struct merge_mark *mk, int all)
{
	size_t kept = 0;

	memset(st->head, 0, sizeof(st->head));
	for (size_t i = 0; i < st->n; i++) {
		uint32_t h;

		if (all || mark_merged(mk, st->v[i].tk, st->v[i].seq))
			continue;
		st->v[kept] = st->v[i];
		h = stage_bucket(st->v[kept].tk);
		st->v[kept].next = st->head[h];
		st->head[h] = (uint32_t)++kept;
	}
	st->n = kept;
}

/* Reads 'M' in the round's transaction: seq(8), or seq(8) target(8) last key while a
 * merge runs. */
static int
mark_get(struct broker *b, struct merge_mark *mk)
{
	const uint8_t *val;
	size_t len;
	int rc = store_txn_aux_get(b->txn, STORE_MATCH, "M", 1, &val, &len);

	memset(mk, 0, sizeof(*mk));
	if (rc == CB_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (len != 8 && len != 16 + POSTING_KEY_LEN)
		return CB_ECORRUPT;
	mk->upto = be64_get(val);
	if (len == 8)
		return 0;
	mk->running = 1;
	mk->target = be64_get(val + 8);
	memcpy(mk->last, val + 16, POSTING_KEY_LEN);
	return mk->target > mk->upto && mk->last[0] == 'P' ? 0 : CB_ECORRUPT;
}

static int
mark_put(struct broker *b, const struct merge_mark *mk)
{
	uint8_t val[16 + POSTING_KEY_LEN];

	be64_put(val, mk->upto);
	if (!mk->running)
		return store_txn_aux_put(b->txn, STORE_MATCH, "M", 1, val, 8);
	be64_put(val + 8, mk->target);
	memcpy(val + 16, mk->last, POSTING_KEY_LEN);
	return store_txn_aux_put(b->txn, STORE_MATCH, "M", 1, val, sizeof(val));
}

/* Adds a posting to the running merge's list of keys. */
static int
keys_add(struct match_stage *st, const uint8_t *tk, uint64_t seq)
{
	uint8_t *key;

	if (st->nkeys == st->cap_keys) {
		size_t cap = st->cap_keys > 0 ? 2 * st->cap_keys : 1024;
		void *k = realloc(st->keys, cap * sizeof(*st->keys));

		if (k == NULL)
			return CB_ENOMEM;
		st->keys = k;
		st->cap_keys = cap;
	}
	key = st->keys[st->nkeys++];
	key[0] = 'P';
	memcpy(key + 1, tk, TK_LEN);
	be64_put(key + TOKEN_KEY_LEN, seq);
	return 0;
}

static void
keys_free(struct match_stage *st)
{
	free(st->keys);
	st->keys = NULL;
	st->nkeys = st->cap_keys = st->pos = st->pos_committed = 0;
}

static int
posting_cmp(const void *x, const void *y)
{
	return memcmp(x, y, POSTING_KEY_LEN);
}

/* stage_load's walk of the 'e' records after 'M': the staged postings into the hash, and
 * those a running merge has still to put into its keys. */
static int
stage_collect(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct match_stage *st = arg;
	struct clue_rec c;
	int rc;

	if (klen != CLUE_KEY_LEN || clue_parse(be64_get(key + 1), val, vlen, &c) != 0)
		return CB_ECORRUPT;
	for (size_t i = 0; i < c.n; i++) {
		const uint8_t *tk = c.tks + i * TK_LEN;

		if (mark_merged(&st->mark, tk, c.e.seq))
			continue;
		if ((rc = stage_add(st, tk, c.e.seq, (uint8_t)i)) != 0)
			return rc;
		if (st->mark.running && c.e.seq <= st->mark.target &&
		    (rc = keys_add(st, tk, c.e.seq)) != 0)
			return rc;
	}
	return 0;
}

/* The older staging's records ('Q' seq idx -> kv token entry), collected by seq. */
struct old_stage {
	struct broker	*b;
	uint64_t	 seq;		/* of the clue being gathered (0: none) */
	uint8_t		 val[CLUE_MAX];
	size_t		 used, ntk;	/* the entry's length; its tokens gathered */
	uint8_t		 tks[MATCH_TOKENS_MAX * TK_LEN];
	uint8_t		(*keys)[OLD_STAGE_KEY_LEN];
	size_t		 nkeys, capkeys;
};

/* Writes the 'e' record of the clue gathered. */
static int
old_stage_flush(struct old_stage *o)
{
	uint8_t key[CLUE_KEY_LEN];

	if (o->seq == 0)
		return 0;
	o->val[o->used] = (uint8_t)o->ntk;
	memcpy(o->val + o->used + 1, o->tks, o->ntk * TK_LEN);
	clue_key(key, o->seq);
	o->seq = 0;
	return store_txn_aux_put(o->b->txn, STORE_MATCH, key, sizeof(key), o->val,
	    o->used + 1 + o->ntk * TK_LEN);
}

static int
old_stage_collect(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct old_stage *o = arg;
	struct entry e;
	uint64_t seq;
	int used, rc;

	if (klen != OLD_STAGE_KEY_LEN || vlen < TK_LEN ||
	    (used = entry_decode(0, val + TK_LEN, vlen - TK_LEN, &e)) < 0 ||
	    (size_t)used != vlen - TK_LEN)
		return CB_ECORRUPT;
	if (o->nkeys == o->capkeys) {
		size_t cap = o->capkeys > 0 ? 2 * o->capkeys : 256;
		void *k = realloc(o->keys, cap * sizeof(*o->keys));

		if (k == NULL)
			return CB_ENOMEM;
		o->keys = k;
		o->capkeys = cap;
	}
	memcpy(o->keys[o->nkeys++], key, OLD_STAGE_KEY_LEN);
	if ((seq = be64_get(key + 1)) != o->seq) {
		if ((rc = old_stage_flush(o)) != 0)
			return rc;
		o->seq = seq;
		o->ntk = 0;
		o->used = (size_t)used;
		memcpy(o->val, val + TK_LEN, o->used);
	}
	if (o->ntk == MATCH_TOKENS_MAX)
		return CB_ECORRUPT;
	memcpy(o->tks + o->ntk++ * TK_LEN, val, TK_LEN);
	return 0;
}

/* Turns the older staging's 'Q' records into 'e' records, in the open transaction. */
static int
stage_convert(struct broker *b)
{
	struct old_stage *o;
	int rc;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return CB_ENOMEM;
	o->b = b;
	rc = store_txn_aux_walk(b->txn, STORE_MATCH, "Q", 1, 1, old_stage_collect, o);
	if (rc == 0)
		rc = old_stage_flush(o);
	for (size_t i = 0; rc == 0 && i < o->nkeys; i++)
		rc = store_txn_aux_del(b->txn, STORE_MATCH, o->keys[i], OLD_STAGE_KEY_LEN);
	if (rc == 0 && o->nkeys > 0)
		log_info("match: %zu staged postings of the older format turned into %s",
		    o->nkeys, "clue records");
	free(o->keys);
	free(o);
	return rc > 0 ? CB_ECORRUPT : rc;
}

/* The hash (and a running merge's keys), built from the 'e' records after 'M' the first
 * time. */
static int
stage_load(struct broker *b)
{
	struct match_stage *st;
	uint8_t from[CLUE_KEY_LEN];
	int rc;

	if (b->match_stage != NULL)
		return 0;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return CB_ENOMEM;
	if ((rc = stage_convert(b)) == 0 && (rc = mark_get(b, &st->mark)) == 0) {
		clue_key(from, st->mark.upto + 1);
		rc = store_txn_aux_walk(b->txn, STORE_MATCH, from, sizeof(from), 1, stage_collect,
		    st);
	}
	if (rc != 0) {
		free(st->keys);
		free(st->v);
		free(st);
		return rc < 0 ? rc : CB_ECORRUPT;
	}
	if (st->nkeys > 1)
		qsort(st->keys, st->nkeys, sizeof(*st->keys), posting_cmp);
	st->cycle_n = st->nkeys;	/* of a merge that was running: what is left of it */
	st->committed = st->mark;
	st->built_in_txn = 1;
	b->match_stage = st;
	return 0;
}

static int
seq_cmp(const void *x, const void *y)
{
	const struct entry *a = x, *b = y;

	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Appends to a->list the staged postings of token key `tk` (in seq order, after the
 * list's 'P' records, which are older). */
static int
stage_read(struct apply *a, const uint8_t *tk)
{
	struct match_stage *st = a->b->match_stage;
	size_t from = a->nlist, kept;
	struct clue_rec c;
	struct entry *e;
	int rc;

	for (uint32_t i = st->head[stage_bucket(tk)]; i != 0; i = st->v[i - 1].next) {
		const struct staged *s = &st->v[i - 1];

		if (memcmp(s->tk, tk, TK_LEN) != 0 || mark_merged(&st->mark, tk, s->seq))
			continue;	/* another token; merged in this transaction */
		if ((rc = clue_get(a->b, s->seq, &c)) == CB_ENOTFOUND)
			continue;	/* an aborted round's */
		if (rc != 0)
			return rc;
		if (s->idx >= c.n || memcmp(c.tks + s->idx * TK_LEN, tk, TK_LEN) != 0)
			continue;	/* an aborted round's seq, reused */
		if ((e = list_slot(a)) == NULL) {
			if (a->rc != 0)
				return a->rc;
			break;
		}
		*e = c.e;
		a->nlist++;
	}
	if (a->nlist - from < 2)
		return 0;
	qsort(a->list + from, a->nlist - from, sizeof(*a->list), seq_cmp);
	kept = from;
	for (size_t i = from; i < a->nlist; i++)	/* the hash may name one twice */
		if (kept == from || a->list[kept - 1].seq != a->list[i].seq)
			a->list[kept++] = a->list[i];
	a->nlist = kept;
	return 0;
}

static unsigned
merge_slice(const struct broker *b)
{
	return b->cfg.match_merge_slice > 0 ? b->cfg.match_merge_slice :
	    MATCH_MERGE_SLICE_DEFAULT;
}

static int
merge_collect(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct match_stage *st = arg;
	struct clue_rec c;
	int rc;

	if (klen != CLUE_KEY_LEN || clue_parse(be64_get(key + 1), val, vlen, &c) != 0)
		return CB_ECORRUPT;
	for (size_t i = 0; i < c.n; i++)
		if ((rc = keys_add(st, c.tks + i * TK_LEN, c.e.seq)) != 0)
			return rc;
	st->mark.target = c.e.seq;	/* the walk is in seq order */
	return 0;
}

/* Starts a merge of every posting staged now: their list keys, sorted. */
static int
merge_start(struct broker *b)
{
	struct match_stage *st = b->match_stage;
	uint8_t from[CLUE_KEY_LEN];
	int rc;

	clue_key(from, st->mark.upto + 1);
	st->nkeys = st->pos = 0;
	rc = store_txn_aux_walk(b->txn, STORE_MATCH, from, sizeof(from), 1, merge_collect, st);
	if (rc != 0)
		return rc > 0 ? CB_ECORRUPT : rc;
	if (st->nkeys == 0) {	/* the hash names only aborted rounds' postings */
		st->mark = st->committed;
		stage_drop(st, &st->mark, 1);
		return 0;
	}
	qsort(st->keys, st->nkeys, sizeof(*st->keys), posting_cmp);
	st->mark.running = 1;
	st->cycle_n = st->nkeys;
	st->cycle_rounds = 0;
	st->cycle_max_ms = st->cycle_puts_max_ms = 0;
	return 0;
}

/* Merges the next slice of the running merge into the lists, in key order (each leaf page
 * dirtied once per merge), and moves 'M' past it, in the open transaction; the last slice
 * ends the merge. The hash forgets the merge's postings when the round with its last slice
 * commits (match_round_end). */
static int
merge_slice_put(struct broker *b)
{
	struct match_stage *st = b->match_stage;
	size_t n = st->nkeys - st->pos;
	int rc;

	if (n > merge_slice(b))
		n = merge_slice(b);
	st->round_began_ms = clock_mono_ms();
	if ((rc = store_txn_aux_put_sorted(b->txn, STORE_MATCH, st->keys[st->pos],
	    POSTING_KEY_LEN, n, "", 0)) != 0)
		return rc;
	st->pos += n;
	memcpy(st->mark.last, st->keys[st->pos - 1], POSTING_KEY_LEN);
	if (st->pos == st->nkeys) {
		st->mark.upto = st->mark.target;
		st->mark.running = 0;
	}
	if ((rc = mark_put(b, &st->mark)) != 0)
		return rc;
	st->round_puts_ms = clock_mono_ms() - st->round_began_ms;
	return 0;
}

/* Once per round: starts a merge when match_stage_max postings are staged, and puts the
 * next slice of a running one. */
static int
stage_merge(struct broker *b)
{
	struct match_stage *st = b->match_stage;
	int rc;

	if (st->merged_in_txn || (!st->mark.running && st->n < stage_max(b)))
		return 0;
	st->merged_in_txn = 1;	/* from here an abort puts the merge back (match_round_end) */
	if (!st->mark.running && (rc = merge_start(b)) != 0)
		return rc;
	if (!st->mark.running) {	/* nothing was staged after all */
		st->merged_in_txn = 0;
		return 0;
	}
	return merge_slice_put(b);
}

/* The round that merged a slice has committed. */
static void
merge_committed(struct match_stage *st)
{
	int64_t ms = clock_mono_ms() - st->round_began_ms;

	st->cycle_rounds++;
	if (ms > st->cycle_max_ms)
		st->cycle_max_ms = ms;
	if (st->round_puts_ms > st->cycle_puts_max_ms)
		st->cycle_puts_max_ms = st->round_puts_ms;
	st->pos_committed = st->pos;
	if (st->mark.running)
		return;		/* stage_read skips the postings merged so far */
	stage_drop(st, &st->mark, 0);
	log_info("match: %zu staged postings merged into their lists in %u round%s (the "
	    "slowest: %lld ms from its first put to its commit, %lld ms of puts)", st->cycle_n,
	    st->cycle_rounds, st->cycle_rounds == 1 ? "" : "s", (long long)st->cycle_max_ms,
	    (long long)st->cycle_puts_max_ms);
	keys_free(st);
}

void
match_round_end(struct broker *b, int committed)
{
	struct match_stage *st = b->match_stage;

	if (st == NULL)
		return;
	if (!committed && st->built_in_txn) {
		match_free(b);	/* it may name records the round converted */
		return;
	}
	st->built_in_txn = 0;
	if (!committed)
		st->stats_state = STATS_UNREAD;
	else if (st->stats_state == STATS_CHANGED)
		st->stats_state = STATS_READ;
	if (!st->merged_in_txn)
		return;
	st->merged_in_txn = 0;
	if (committed) {
		st->committed = st->mark;
		merge_committed(st);
		return;
	}
	st->mark = st->committed;	/* the slice is undone */
	st->pos = st->pos_committed;
	if (!st->mark.running)
		keys_free(st);	/* and so is the merge's start */
}

void
match_free(struct broker *b)
{
	if (b->match_stage != NULL) {
		free(b->match_stage->keys);
		free(b->match_stage->v);
	}
	free(b->match_stage);
	b->match_stage = NULL;
}

/* ---- the figures ---- */

/* The round's figures: read from 'S' the first time in the round. */
static int
stats_load(struct broker *b)
{
	struct match_stage *st = b->match_stage;
	const uint8_t *val;
	size_t len;
	int rc;

	if (st->stats_state != STATS_UNREAD)
		return 0;
	memset(st->stats, 0, sizeof(st->stats));
	rc = store_txn_aux_get(b->txn, STORE_MATCH, "S", 1, &val, &len);
	if (rc != 0 && rc != CB_ENOTFOUND)
		return rc;
	if (rc == 0 && len != 8 * STATS_N)
		return CB_ECORRUPT;
	for (size_t i = 0; rc == 0 && i < STATS_N; i++)
		st->stats[i] = be64_get(val + 8 * i);
	st->stats_state = STATS_READ;
	return 0;
}

int
match_round_flush(struct broker *b)
{
	struct match_stage *st = b->match_stage;
	uint8_t val[8 * STATS_N];

	if (st == NULL || st->stats_state != STATS_CHANGED || b->txn == NULL)
		return 0;
	for (size_t i = 0; i < STATS_N; i++)
		be64_put(val + 8 * i, st->stats[i]);
	return store_txn_aux_put(b->txn, STORE_MATCH, "S", 1, val, sizeof(val));
}

/* ---- notices ---- */

/* Logs a notice naming `n` entries (the new clue last) to `recips`. */
static int
notice_append(struct apply *a, Cluebus__MatchReason reason, Cluebus__IdentifierType type,
    uint32_t kv, const uint8_t hash[32], const struct entry *const *e, size_t n,
    char **recips, size_t nrecips)
{
	Cluebus__Message m = CLUEBUS__MESSAGE__INIT;
	Cluebus__Match mt = CLUEBUS__MATCH__INIT;
	ProtobufCBinaryData ids[MATCH_BUNDLE_MAX + 1];
	uint64_t seqs[MATCH_BUNDLE_MAX + 1];
	char *units[MATCH_BUNDLE_MAX + 1], *cases[MATCH_BUNDLE_MAX + 1];

	for (size_t i = 0; i < n; i++) {
		ids[i].data = (uint8_t *)e[i]->msgid;
		ids[i].len = MESSAGE_ID_LEN;
		seqs[i] = e[i]->seq;
		units[i] = (char *)e[i]->unit;
		cases[i] = (char *)e[i]->case_ref;
	}
	mt.reason = reason;
	mt.type = type;
	mt.key_version = kv;
	mt.token_hash.data = (uint8_t *)hash;
	mt.token_hash.len = 32;
	mt.message_ids = ids;
	mt.n_message_ids = n;
	mt.seqs = seqs;
	mt.n_seqs = n;
	mt.units = units;
	mt.n_units = n;
	mt.case_refs = cases;
	mt.n_case_refs = n;
	m.kind = CLUEBUS__KIND__KIND_MATCH;
	m.priority = a->m->priority;
	m.refers_to = a->m->message_id;
	m.body_case = CLUEBUS__MESSAGE__BODY_MATCH;
	m.match = &mt;
	return round_append_own(a->b, &m, recips, nrecips, 0);
}

/* Adds `unit` to the recipients unless it is there. */
static void
recips_add(char **recips, size_t *n, const char *unit)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(recips[i], unit) == 0)
			return;
	recips[(*n)++] = (char *)unit;
}

/* Whether two clues are worth a notice: another unit, or the same unit's different
 * cases. */
static int
pair_wanted(const struct entry *x, const struct entry *y)
{
	if (strcmp(x->unit, y->unit) != 0)
		return 1;
	return x->case_ref[0] != '\0' && y->case_ref[0] != '\0' &&
	    strcmp(x->case_ref, y->case_ref) != 0;
}

/* Notifies the pair (earlier, new) once, ever. */
static int
pair_notify(struct apply *a, const struct entry *earlier, const Cluebus__MatchToken *t)
{
	struct broker *b = a->b;
	const struct entry *pair[2] = { earlier, &a->self };
	const uint8_t *lo = earlier->msgid, *hi = a->self.msgid, *val;
	uint8_t key[PAIR_KEY_LEN], hash[32];
	char *recips[3], ida[CB_MESSAGE_ID_HEX_SIZE], idb[CB_MESSAGE_ID_HEX_SIZE];
	size_t nr = 0, len;
	int rc;

	if (memcmp(lo, hi, MESSAGE_ID_LEN) > 0)
		lo = a->self.msgid, hi = earlier->msgid;
	key[0] = 'R';
	memcpy(key + 1, lo, MESSAGE_ID_LEN);
	memcpy(key + 1 + MESSAGE_ID_LEN, hi, MESSAGE_ID_LEN);
	if ((rc = store_txn_aux_get(b->txn, STORE_MATCH, key, sizeof(key), &val, &len)) == 0)
		return 0;
	if (rc != CB_ENOTFOUND)
		return rc;
	if (a->notices >= (b->cfg.match_notices_max > 0 ? b->cfg.match_notices_max :
	    MATCH_NOTICES_DEFAULT))
		return 0;
	if ((rc = store_txn_aux_put(b->txn, STORE_MATCH, key, sizeof(key), "", 0)) != 0 ||
	    (rc = matchkey_token_hash(t->token.data, hash)) != 0)
		return rc;
	recips_add(recips, &nr, route_office(b->cfg.route));
	recips_add(recips, &nr, earlier->unit);
	recips_add(recips, &nr, a->self.unit);
	if ((rc = notice_append(a, CLUEBUS__MATCH_REASON__MATCH_SHARED_IDENTIFIER, t->type,
	    t->key_version, hash, pair, 2, recips, nr)) != 0)
		return rc;
	a->notices++;
	a->stats[ST_NOTICES]++;
	hex_encode(earlier->msgid, MESSAGE_ID_LEN, ida);
	hex_encode(a->self.msgid, MESSAGE_ID_LEN, idb);
	log_info("match: clue %s (seq %llu, %s) and clue %s (seq %llu, %s) share a %s token "
	    "(key version %u): notice to %s%s%s%s%s", ida, (unsigned long long)earlier->seq,
	    earlier->unit, idb, (unsigned long long)a->self.seq, a->self.unit,
	    identifier_type_name(t->type), t->key_version, recips[0], nr > 1 ? " " : "",
	    nr > 1 ? recips[1] : "", nr > 2 ? " " : "", nr > 2 ? recips[2] : "");
	return 0;
}

/* ---- posting lists ---- */

static int
list_collect(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct apply *a = arg;
	struct clue_rec c;
	struct entry *e;
	uint64_t seq;
	int rc;

	if (klen != POSTING_KEY_LEN)
		return a->rc = CB_ECORRUPT;
	if ((seq = be64_get(key + TOKEN_KEY_LEN)) == 0) {
		a->hot = 1;	/* the marker sorts first: nothing else is needed */
		return 1;
	}
	if ((e = list_slot(a)) == NULL)
		return a->rc != 0 ? a->rc : 1;	/* past the bound: the caller counts it full */
	if (vlen > 0) {		/* the entry inline, as written before the 'e' records */
		rc = entry_decode(seq, val, vlen, e);
		if (rc >= 0 && (size_t)rc != vlen)
			rc = CB_ECORRUPT;
	} else if ((rc = clue_get(a->b, seq, &c)) == 0)
		*e = c.e;
	if (rc < 0)
		return a->rc = rc == CB_ENOTFOUND ? CB_ECORRUPT : rc;
	a->nlist++;
	return 0;
}

/* Walks token `t`'s list into a->list (a->hot when it is hot). */
static int
list_read(struct apply *a, const Cluebus__MatchToken *t)
{
	uint8_t prefix[TOKEN_KEY_LEN];
	int rc;

	token_key(prefix, 'P', t);
	a->nlist = 0;
	a->hot = 0;
	a->rc = 0;
	if (a->list == NULL)
		a->caplist = 0;
	rc = store_txn_aux_walk(a->b->txn, STORE_MATCH, prefix, sizeof(prefix), sizeof(prefix),
	    list_collect, a);
	if (a->rc != 0)
		return a->rc;
	if (rc < 0)
		return rc;
	if (a->hot || (a->list != NULL && a->nlist == a->caplist))
		return 0;
	return stage_read(a, prefix + 1);
}

/* Marks token `t` hot: the marker in its list and the status's record. */
static int
token_heat(struct apply *a, const Cluebus__MatchToken *t, unsigned count)
{
	uint8_t key[POSTING_KEY_LEN], since[HOT_LEN];
	int rc;

	be64_put(since, (uint64_t)a->self.time_ms);
	since[8] = (uint8_t)t->type;
	token_key(key, 'P', t);
	be64_put(key + TOKEN_KEY_LEN, 0);
	if ((rc = store_txn_aux_put(a->b->txn, STORE_MATCH, key, sizeof(key), since,
	    sizeof(since))) != 0)
		return rc;
	token_key(key, 'H', t);
	if ((rc = store_txn_aux_put(a->b->txn, STORE_MATCH, key, TOKEN_KEY_LEN, since,
	    sizeof(since))) != 0)
		return rc;
	a->stats[ST_HOT]++;
	log_info("match: a %s token (key version %u) has %u entries: hot, no longer indexed or "
	    "matched", identifier_type_name(t->type), t->key_version, count);
	return 0;
}

/* Keeps, of the bundle's candidates, those in the list just read; the first token's list
 * gives them: earlier clues of the category with as many tokens, within the window. */
static int
bundle_narrow(struct apply *a, int first)
{
	size_t kept = 0;

	if (a->b->cfg.match_bundle_window_ms <= 0 || a->bundle_off)
		return 0;
	if (first) {
		for (size_t i = 0; i < a->nlist; i++) {
			const struct entry *e = &a->list[i];

			if (e->category != a->self.category || e->ntokens != a->self.ntokens ||
			    a->self.time_ms - e->time_ms > a->b->cfg.match_bundle_window_ms)
				continue;
			if (a->bundle == NULL &&
			    (a->bundle = malloc(a->nlist * sizeof(*a->bundle))) == NULL)
				return CB_ENOMEM;
			a->bundle[a->nbundle++] = *e;
		}
		return 0;
	}
	for (size_t i = 0; i < a->nbundle; i++)
		for (size_t j = 0; j < a->nlist; j++)
			if (a->list[j].seq == a->bundle[i].seq) {
				a->bundle[kept++] = a->bundle[i];
				break;
			}
	a->nbundle = kept;
	return 0;
}

/* One token of the new clue: match it against its list, then index it (or mark it hot). */
static int
token_apply(struct apply *a, const Cluebus__MatchToken *t, int first)
{
	uint8_t tk[TOKEN_KEY_LEN];
	int rc;

	if ((rc = list_read(a, t)) != 0)
		return rc;
	if (a->hot || a->nlist >= list_max(a->b)) {
		/* The clue that would go past the bound is neither indexed nor matched: a
		 * token this common (a hotline, an office's own number) would notify every
		 * earlier holder of it. Nor can its list tell a bundle any more. */
		a->bundle_off = 1;
		return a->hot ? 0 : token_heat(a, t, (unsigned)a->nlist);
	}
	if (a->nlist == 0)
		a->stats[ST_TOKENS]++;
	for (size_t i = 0; i < a->nlist; i++)
		if (pair_wanted(&a->list[i], &a->self) &&
		    (rc = pair_notify(a, &a->list[i], t)) != 0)
			return rc;
	if ((rc = bundle_narrow(a, first)) != 0)
		return rc;
	token_key(tk, 'P', t);
	if ((rc = stage_add(a->b->match_stage, tk + 1, a->self.seq, (uint8_t)a->ntks)) != 0)
		return rc;
	memcpy(a->tks + a->ntks++ * TK_LEN, tk + 1, TK_LEN);
	a->stats[ST_ENTRIES]++;
	return 0;
}

/* Appends the clue's 'e' record: its entry and the tokens it indexed (none: no record). */
static int
clue_store(struct apply *a)
{
	uint8_t key[CLUE_KEY_LEN], val[CLUE_MAX];
	size_t n;
	int rc;

	if (a->ntks == 0)
		return 0;
	n = entry_encode(&a->self, val);
	val[n++] = (uint8_t)a->ntks;
	memcpy(val + n, a->tks, a->ntks * TK_LEN);
	clue_key(key, a->self.seq);
	rc = store_txn_aux_append(a->b->txn, STORE_MATCH, key, sizeof(key), val,
	    n + a->ntks * TK_LEN);
	if (rc == CB_EEXIST)
		log_warnx("match: a clue record at or after seq %llu exists already",
		    (unsigned long long)a->self.seq);
	return rc == CB_EEXIST ? CB_ECORRUPT : rc;
}

/* ---- bundling ---- */

/* Suggests the clue and the earlier clues with its tokens and category (the last
 * MATCH_BUNDLE_MAX of them) to the office as one case. */
static int
bundle_notify(struct apply *a)
{
	const Cluebus__Clue *c = a->m->clue;
	const struct entry *named[MATCH_BUNDLE_MAX + 1];
	size_t n = 0, from;
	uint8_t set[32];
	char *office;
	int rc;

	if (a->b->cfg.match_bundle_window_ms <= 0 || a->bundle_off || a->nbundle == 0)
		return 0;
	if ((rc = matchkey_token_set_hash(c, set)) != 0)
		return rc;
	from = a->nbundle > MATCH_BUNDLE_MAX ? a->nbundle - MATCH_BUNDLE_MAX : 0;
	for (size_t i = from; i < a->nbundle; i++)
		named[n++] = &a->bundle[i];	/* the list is in seq order */
	named[n++] = &a->self;
	office = (char *)route_office(a->b->cfg.route);
	if ((rc = notice_append(a, CLUEBUS__MATCH_REASON__MATCH_BUNDLE,
	    c->match_tokens[0]->type, c->match_tokens[0]->key_version, set, named, n,
	    &office, 1)) != 0)
		return rc;
	a->stats[ST_BUNDLES]++;
	log_info("match: clue seq %llu and %zu earlier %s clue%s within the bundling window have "
	    "the same identifiers: suggested as one case to %s", (unsigned long long)a->self.seq,
	    a->nbundle, intake_category_name(c->category), a->nbundle == 1 ? "" : "s", office);
	return 0;
}

/* ---- the entry point ---- */

/* Whether token i repeats an earlier token of the same clue. */
static int
token_repeated(const Cluebus__Clue *c, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (matchkey_token_cmp(c->match_tokens[j], c->match_tokens[i]) == 0)
			return 1;
	return 0;
}

/* match_apply for a clue with tokens. */
static int
match_clue(struct broker *b, const Cluebus__Message *m, const Cluebus__Clue *c, uint64_t seq,
    int64_t now)
{
	struct apply a = { .b = b, .m = m };
	size_t distinct = 0;
	int rc, first = 1;

	for (size_t i = 0; i < c->n_match_tokens; i++)
		distinct += !token_repeated(c, i);
	a.self.seq = seq;
	memcpy(a.self.msgid, m->message_id.data, MESSAGE_ID_LEN);
	a.self.time_ms = now;
	a.self.category = (uint8_t)c->category;
	a.self.ntokens = (uint8_t)distinct;
	copy_str(a.self.unit, sizeof(a.self.unit), m->sender);
	copy_str(a.self.case_ref, sizeof(a.self.case_ref), m->case_ref);
	if ((rc = stage_load(b)) != 0 || (rc = stats_load(b)) != 0)
		goto out;
	a.stats = b->match_stage->stats;
	b->match_stage->stats_state = STATS_CHANGED;
	if ((rc = stage_merge(b)) != 0)
		goto out;
	for (size_t i = 0; i < c->n_match_tokens; i++) {
		if (token_repeated(c, i))
			continue;
		if ((rc = token_apply(&a, c->match_tokens[i], first)) != 0)
			goto out;
		first = 0;
	}
	if ((rc = clue_store(&a)) == 0)
		rc = bundle_notify(&a);
out:
	free(a.list);
	free(a.bundle);
	return rc;
}

int
match_apply(struct broker *b, const Cluebus__Message *m, uint64_t seq, int64_t now)
{
	const Cluebus__Clue *c;

	if (m->body_case != CLUEBUS__MESSAGE__BODY_CLUE || (c = m->clue) == NULL ||
	    c->n_match_tokens == 0)
		return 0;
	if (c->n_match_tokens > MATCH_TOKENS_MAX)
		return CB_EINVAL;	/* the envelope's check lets no such clue through */
	return match_clue(b, m, c, seq, now);
}

/* ---- the figures, from committed data ---- */

struct status_walk {
	json_t	*hot;
	uint64_t stats[STATS_N];
	int	 rc;
};

static int
status_stats(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct status_walk *w = arg;

	(void)key, (void)klen;
	if (vlen == 8 * STATS_N)
		for (size_t i = 0; i < STATS_N; i++)
			w->stats[i] = be64_get(val + 8 * i);
	return 1;	/* one record */
}

static int
status_hot(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct status_walk *w = arg;
	uint8_t hash[32];
	char hex[17], since[40];
	json_t *o;

	if (json_array_size(w->hot) >= HOT_LISTED)
		return 1;
	if (klen != TOKEN_KEY_LEN || vlen != 9 ||
	    EVP_Digest(key + 5, MATCH_TOKEN_LEN, hash, NULL, EVP_sha256(), NULL) != 1)
		return 0;
	hex_encode(hash, 8, hex);
	clock_format_rfc3339((int64_t)be64_get(val), since, sizeof(since));
	o = json_pack("{s:s, s:s, s:I, s:s}", "token_hash", hex, "type",
	    identifier_type_name((Cluebus__IdentifierType)val[8]), "key_version",
	    (json_int_t)((uint32_t)key[1] << 24 | (uint32_t)key[2] << 16 | (uint32_t)key[3] << 8 |
	    key[4]), "since", since);
	if (o == NULL || json_array_append_new(w->hot, o) != 0)
		return w->rc = CB_ENOMEM;
	return 0;
}

json_t *
match_status(struct broker *b)
{
	struct status_walk w = { 0 };
	json_t *o;
	int rc;

	if ((w.hot = json_array()) == NULL)
		return NULL;
	rc = store_aux_walk(b->store, STORE_MATCH, "S", 1, 1, status_stats, &w);
	if (rc >= 0)
		rc = store_aux_walk(b->store, STORE_MATCH, "H", 1, 1, status_hot, &w);
	if (rc < 0 || w.rc != 0) {
		json_decref(w.hot);
		return NULL;
	}
	o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:o}", "notices",
	    (json_int_t)w.stats[ST_NOTICES], "bundles", (json_int_t)w.stats[ST_BUNDLES],
	    "tokens", (json_int_t)w.stats[ST_TOKENS], "entries",
	    (json_int_t)w.stats[ST_ENTRIES], "hot_tokens", (json_int_t)w.stats[ST_HOT], "hot",
	    w.hot);
	return o;
}

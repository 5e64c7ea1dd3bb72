/* lib/store.c — the append-only, hash-chained audit log and its indexes in LMDB.
 *
 * One write transaction at a time (the broker's pipeline thread); its pending head is
 * private to the transaction and copied to the store only after mdb_txn_commit()
 * succeeded, so a failed commit leaves memory as it was (SQLite's pager rule). Readers use
 * their own short read transactions and copy out what they keep. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "cluebus/err.h"
#include "envelope.h"
#include "log.h"
#include "merkle.h"
#include "store.h"
#include "util.h"

#define BACKLOG_KEY_MAX	(CB_UNIT_ID_SIZE + 8)	/* unit '\0' be64 seq */

struct store {
	MDB_env		*env;
	unsigned long	 fail_write_at, fail_commit_at;	/* test hooks: 0 = never */
	unsigned long	 writes, commits;
	MDB_dbi		 log, msgid, backlog, regidx;
	MDB_dbi		 aux[STORE_NAUX];
	unsigned	 aux_absent;	/* 1 << db: not in a read-only copy (walks see none) */
	MDB_dbi		 merkle;		/* be64 merkle_node_seq -> node hash (32) */
	int		 no_tree;		/* read-only, and no merkle database */
	int		 rdonly;
	uint64_t	 head_seq;
	uint8_t		 head_hash[CHAIN_HASH_LEN];
	merkle_frontier_t tree;			/* committed tree, size == head_seq */
	uintptr_t	 map_lo, map_hi;	/* LMDB's map of data.mdb (0: not found) */
	char		 dir[PATH_MAX];
};

struct store_txn {
	store_t		*s;
	MDB_txn		*txn;
	uint64_t	 seq;			/* pending head */
	uint8_t		 hash[CHAIN_HASH_LEN];
	uint8_t		 prev[CHAIN_HASH_LEN];	/* buffer lent to e->prev_hash */
	uint8_t		*buf;			/* packing buffer, grown as needed */
	size_t		 bufcap;
	merkle_frontier_t tree;			/* pending tree */
};

static int
store_fail(const char *what, int mrc)
{
	log_warnx("store: %s: %s", what, mdb_strerror(mrc));
	return mrc == MDB_CORRUPTED || mrc == MDB_PAGE_NOTFOUND ? CB_ECORRUPT : CB_ESTORE;
}

static size_t
backlog_key(const char *unit, uint64_t seq, uint8_t *out)
{
	size_t ulen = strlen(unit);

	memcpy(out, unit, ulen);
	out[ulen] = '\0';
	be64_put(out + ulen + 1, seq);
	return ulen + 1 + 8;
}

/* Fault injection (SQLite's test_vfs idea), compiled into test builds only: with
 * CLUEBUS_TEST_FAIL_WRITE=N the Nth log append of this process fails, with
 * CLUEBUS_TEST_FAIL_COMMIT=N the Nth commit fails (nothing written), each as LMDB errors
 * would. A production build ignores the variables. */
static void
store_test_hooks(store_t *s)
{
#ifdef CLUEBUS_TEST_HOOKS
	const char *w = getenv("CLUEBUS_TEST_FAIL_WRITE");
	const char *c = getenv("CLUEBUS_TEST_FAIL_COMMIT");

	s->fail_write_at = w != NULL ? strtoul(w, NULL, 10) : 0;
	s->fail_commit_at = c != NULL ? strtoul(c, NULL, 10) : 0;
#else
	(void)s;
#endif
}

static int
store_injected(unsigned long *count, unsigned long at)
{
	return at != 0 && ++*count == at;
}

static int
store_load_head(store_t *s, MDB_txn *txn)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int mrc;

	s->head_seq = 0;
	memset(s->head_hash, 0, sizeof(s->head_hash));
	if ((mrc = mdb_cursor_open(txn, s->log, &cur)) != 0)
		return store_fail("cursor", mrc);
	mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	mdb_cursor_close(cur);
	if (mrc == MDB_NOTFOUND)
		return 0;
	if (mrc != 0)
		return store_fail("read head", mrc);
	if (k.mv_size != 8 || v.mv_size < CHAIN_HASH_LEN) {
		log_warnx("store: last log entry is malformed");
		return CB_ECORRUPT;
	}
	s->head_seq = be64_get(k.mv_data);
	memcpy(s->head_hash, v.mv_data, CHAIN_HASH_LEN);
	return 0;
}

/* Finds LMDB's read-only map of `dir`/data.mdb in /proc/self/maps (mdb_env_info only
 * knows a map's address with MDB_FIXEDMAP), for store_trim. Not finding it only disables
 * the trim. */
/* ---- the Merkle tree's nodes (merkle.h) in the `merkle` database ---- */

struct node_ctx {
	MDB_txn		*txn;
	MDB_dbi		 dbi;
};

static int
node_get(void *ctx, unsigned level, uint64_t index, uint8_t hash[MERKLE_HASH_LEN])
{
	struct node_ctx *c = ctx;
	uint8_t key[8];
	MDB_val k = { 8, key }, v;
	int mrc;

	be64_put(key, merkle_node_seq(level, index));
	if ((mrc = mdb_get(c->txn, c->dbi, &k, &v)) == MDB_NOTFOUND)
		return CB_ENOTFOUND;
	if (mrc != 0)
		return store_fail("read tree node", mrc);
	if (v.mv_size != MERKLE_HASH_LEN)
		return CB_ECORRUPT;
	memcpy(hash, v.mv_data, MERKLE_HASH_LEN);
	return 0;
}

static int
node_put(void *ctx, unsigned level, uint64_t index, const uint8_t hash[MERKLE_HASH_LEN])
{
	struct node_ctx *c = ctx;
	uint8_t key[8];
	MDB_val k = { 8, key }, v = { MERKLE_HASH_LEN, (void *)hash };
	int mrc;

	be64_put(key, merkle_node_seq(level, index));
	if ((mrc = mdb_put(c->txn, c->dbi, &k, &v, MDB_APPEND)) != 0)
		return store_fail("append tree node", mrc);
	return 0;
}

static void
node_backend(struct node_ctx *c, merkle_store_t *ms, MDB_txn *txn, MDB_dbi dbi)
{
	c->txn = txn;
	c->dbi = dbi;
	ms->ctx = c;
	ms->get_node = node_get;
	ms->put_node = node_put;
}

/* Builds the nodes of a log written without them (every entry, in `txn`), once. */
static int
store_tree_catch_up(store_t *s, MDB_txn *txn, merkle_store_t *ms)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int mrc, rc = 0;

	log_info("store: building the Merkle tree over %llu entries written without it",
	    (unsigned long long)s->head_seq);
	if ((mrc = mdb_cursor_open(txn, s->log, &cur)) != 0)
		return store_fail("tree catch-up", mrc);
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && rc == 0;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (v.mv_size < CHAIN_HASH_LEN || k.mv_size != 8 ||
		    be64_get(k.mv_data) != s->tree.size + 1) {
			rc = CB_ECORRUPT;
			break;
		}
		rc = merkle_append(&s->tree, ms, (const uint8_t *)v.mv_data + CHAIN_HASH_LEN,
		    v.mv_size - CHAIN_HASH_LEN);
	}
	mdb_cursor_close(cur);
	if (rc != 0)
		return rc;
	if (mrc != MDB_NOTFOUND)
		return store_fail("tree catch-up", mrc);
	return s->tree.size == s->head_seq ? 0 : CB_ECORRUPT;
}

/* Loads the committed tree's frontier (popcount(head) reads); a writable store whose log
 * has entries and no nodes gets them built in `txn`. A read-only copy of such a log has an
 * empty tree. */
static int
store_load_tree(store_t *s, MDB_txn *txn)
{
	struct node_ctx c;
	merkle_store_t ms;
	MDB_stat st;
	int mrc;

	merkle_frontier_init(&s->tree);
	if (s->no_tree)
		return 0;
	node_backend(&c, &ms, txn, s->merkle);
	if ((mrc = mdb_stat(txn, s->merkle, &st)) != 0)
		return store_fail("tree stat", mrc);
	if (st.ms_entries == 0 && s->head_seq > 0)
		return s->rdonly ? 0 : store_tree_catch_up(s, txn, &ms);
	return merkle_frontier_load(&s->tree, &ms, s->head_seq);
}

static void
store_find_map(store_t *s, const char *dir)
{
	char path[PATH_MAX + 16], want[PATH_MAX], line[PATH_MAX + 128];
	unsigned long lo, hi;
	FILE *f;

	if ((size_t)snprintf(path, sizeof(path), "%s/data.mdb", dir) >= sizeof(path) ||
	    realpath(path, want) == NULL || (f = fopen("/proc/self/maps", "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *name = strchr(line, '/');

		if (name == NULL)
			continue;
		name[strcspn(name, "\n")] = '\0';
		if (strcmp(name, want) == 0 && sscanf(line, "%lx-%lx", &lo, &hi) == 2) {
			s->map_lo = lo;
			s->map_hi = hi;
			break;
		}
	}
	fclose(f);
}

void
store_trim(store_t *s)
{
	/* The pages stay in the page cache; only this process's references go, and the next
	 * read through the map faults them back in. */
	if (s->map_lo != 0)
		(void)madvise((void *)s->map_lo, s->map_hi - s->map_lo, MADV_DONTNEED);
}

int
store_open(const char *dir, int flags, size_t map_size, store_t **out)
{
	static const struct {
		enum store_aux	 db;
		const char	*name;
	} optional[] = {
		{ STORE_DUTIES, "duties" }, { STORE_MATCH, "match" }, { STORE_CASES, "cases" },
		{ STORE_CHECKPOINTS, "checkpoints" },
	};
	unsigned int envflags = MDB_NOTLS, dbflags = 0;
	MDB_txn *txn = NULL;
	store_t *s;
	size_t i;
	int mrc, rc = CB_ESTORE;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return CB_ENOMEM;
	s->rdonly = (flags & STORE_RDONLY) != 0;
	store_test_hooks(s);
	if (s->rdonly) {
		envflags |= MDB_RDONLY;
	} else {
		dbflags = MDB_CREATE;
		if (file_mkdirs(dir, 0700) != 0) {
			log_warn("store: mkdir %s", dir);
			free(s);
			return CB_EIO;
		}
	}
	if ((mrc = mdb_env_create(&s->env)) != 0 ||
	    (mrc = mdb_env_set_maxdbs(s->env, 16)) != 0 ||
	    (mrc = mdb_env_set_mapsize(s->env, map_size ? map_size : (size_t)1 << 30)) != 0)
		goto fail;
	mrc = mdb_env_open(s->env, dir, envflags, 0600);
	if (mrc == EACCES && s->rdonly)	/* a read-only copy: no lock file to write */
		mrc = mdb_env_open(s->env, dir, envflags | MDB_NOLOCK, 0600);
	if (mrc != 0)
		goto fail;
	if ((mrc = mdb_txn_begin(s->env, NULL, s->rdonly ? MDB_RDONLY : 0, &txn)) != 0 ||
	    (mrc = mdb_dbi_open(txn, "log", dbflags, &s->log)) != 0 ||
	    (mrc = mdb_dbi_open(txn, "msgid", dbflags, &s->msgid)) != 0 ||
	    (mrc = mdb_dbi_open(txn, "backlog", dbflags, &s->backlog)) != 0 ||
	    (mrc = mdb_dbi_open(txn, "regidx", dbflags, &s->regidx)) != 0 ||
	    (mrc = mdb_dbi_open(txn, "obligations", dbflags, &s->aux[STORE_OBLIGATIONS])) != 0 ||
	    (mrc = mdb_dbi_open(txn, "deadlines", dbflags, &s->aux[STORE_DEADLINES])) != 0)
		goto fail;
	/* A read-only copy of a log written before duties, matching, cases or checkpoints:
	 * an empty database stands in. */
	for (i = 0; i < sizeof(optional) / sizeof(optional[0]); i++) {
		mrc = mdb_dbi_open(txn, optional[i].name, dbflags, &s->aux[optional[i].db]);
		if (mrc == MDB_NOTFOUND && s->rdonly)
			s->aux_absent |= 1u << optional[i].db;
		else if (mrc != 0)
			goto fail;
	}
	if ((mrc = mdb_dbi_open(txn, "merkle", dbflags, &s->merkle)) == MDB_NOTFOUND && s->rdonly)
		s->no_tree = 1;		/* a read-only copy of a log written before the tree */
	else if (mrc != 0)
		goto fail;
	if ((rc = store_load_head(s, txn)) != 0 || (rc = store_load_tree(s, txn)) != 0)
		goto fail_rc;
	if ((mrc = mdb_txn_commit(txn)) != 0) {
		txn = NULL;
		goto fail;
	}
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	store_find_map(s, dir);
	*out = s;
	return 0;
fail:
	rc = store_fail(dir, mrc);
fail_rc:
	if (txn != NULL)
		mdb_txn_abort(txn);
	mdb_env_close(s->env);
	free(s);
	return rc;
}

void
store_close(store_t *s)
{
	if (s == NULL)
		return;
	mdb_env_close(s->env);
	free(s);
}

void
store_usage(const store_t *s, struct store_usage *u)
{
	MDB_envinfo info;
	MDB_stat st;

	memset(u, 0, sizeof(*u));
	if (mdb_env_info(s->env, &info) != 0 || mdb_env_stat(s->env, &st) != 0)
		return;
	u->map_size = info.me_mapsize;
	u->used_bytes = (info.me_last_pgno + 1) * (size_t)st.ms_psize;
}

int
store_set_map_size(store_t *s, size_t size)
{
	int mrc;

	/* The map moves: store_trim must never advise the old range, which may be another
	 * mapping by now. */
	s->map_lo = s->map_hi = 0;
	mrc = mdb_env_set_mapsize(s->env, size);
	store_find_map(s, s->dir);
	return mrc == 0 ? 0 : store_fail("map resize", mrc);
}

int
store_copy(store_t *s, const char *dir)
{
	int mrc;

	mrc = mdb_env_copy2(s->env, dir, MDB_CP_COMPACT);
	if (mrc == MDB_MAP_RESIZED) {	/* the writer grew the map: adopt its size */
		if ((mrc = mdb_env_set_mapsize(s->env, 0)) == 0)
			mrc = mdb_env_copy2(s->env, dir, MDB_CP_COMPACT);
	}
	if (mrc == EEXIST) {
		log_warnx("store: copy to %s: it already holds a data.mdb", dir);
		return CB_EEXIST;
	}
	if (mrc != 0) {
		log_warnx("store: copy to %s: %s", dir, mdb_strerror(mrc));
		return mrc == ENOSPC || mrc == EACCES || mrc == ENOENT ? CB_EIO : CB_ESTORE;
	}
	return 0;
}

uint64_t
store_head_seq(const store_t *s)
{
	return s->head_seq;
}

const uint8_t *
store_head_hash(const store_t *s)
{
	return s->head_hash;
}

int
store_begin(store_t *s, store_txn_t **out)
{
	store_txn_t *t;
	int mrc;

	if (s->rdonly)
		return CB_EINVAL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return CB_ENOMEM;
	if ((mrc = mdb_txn_begin(s->env, NULL, 0, &t->txn)) != 0) {
		free(t);
		return store_fail("begin", mrc);
	}
	t->s = s;
	t->seq = s->head_seq;
	memcpy(t->hash, s->head_hash, CHAIN_HASH_LEN);
	t->tree = s->tree;
	*out = t;
	return 0;
}

uint64_t
store_txn_next_seq(const store_txn_t *t)
{
	return t->seq + 1;
}

/* Puts the nodes that leaf `leaf` (the packed entry) completes and advances the pending
 * tree. */
static int
store_txn_tree_append(store_txn_t *t, const uint8_t *leaf, size_t len)
{
	merkle_node_t nodes[MERKLE_LEVELS];
	uint8_t leaf_hash[MERKLE_HASH_LEN];
	struct node_ctx c;
	merkle_store_t ms;
	size_t count;
	int rc;

	if ((rc = merkle_leaf_hash(leaf, len, leaf_hash)) != 0 ||
	    (rc = merkle_append_nodes(&t->tree, leaf_hash, nodes, &count)) != 0)
		return rc;
	node_backend(&c, &ms, t->txn, t->s->merkle);
	for (size_t i = 0; i < count; i++)
		if ((rc = node_put(&c, nodes[i].level, nodes[i].index, nodes[i].hash)) != 0)
			return rc;
	merkle_frontier_advance(&t->tree, nodes, count);
	return 0;
}

int
store_txn_append(store_txn_t *t, Cluebus__LogEntry *e, const uint8_t *msgid, int registry,
    uint8_t hash[CHAIN_HASH_LEN])
{
	uint8_t key[8], bkey[BACKLOG_KEY_MAX];
	MDB_val k, v;
	size_t len;
	int mrc, rc;

	memcpy(t->prev, t->hash, CHAIN_HASH_LEN);
	e->seq = t->seq + 1;
	e->prev_hash.data = t->prev;
	e->prev_hash.len = CHAIN_HASH_LEN;
	len = cluebus__log_entry__get_packed_size(e);
	if (len + CHAIN_HASH_LEN > t->bufcap) {
		size_t cap = (len + CHAIN_HASH_LEN) * 2;
		uint8_t *nb = realloc(t->buf, cap);

		if (nb == NULL)
			return CB_ENOMEM;
		t->buf = nb;
		t->bufcap = cap;
	}
	cluebus__log_entry__pack(e, t->buf + CHAIN_HASH_LEN);
	if ((rc = chain_hash(t->buf + CHAIN_HASH_LEN, len, t->buf)) != 0)
		return rc;
	be64_put(key, e->seq);
	k.mv_data = key, k.mv_size = 8;
	v.mv_data = t->buf, v.mv_size = len + CHAIN_HASH_LEN;
	if (store_injected(&t->s->writes, t->s->fail_write_at))
		return store_fail("append (injected)", MDB_PANIC);
	if ((mrc = mdb_put(t->txn, t->s->log, &k, &v, MDB_APPEND)) != 0)
		return store_fail("append", mrc);
	if ((rc = store_txn_tree_append(t, t->buf + CHAIN_HASH_LEN, len)) != 0)
		return rc;
	if (msgid != NULL) {
		MDB_val mk = { MESSAGE_ID_LEN, (void *)msgid }, mv = { 8, key };

		if ((mrc = mdb_put(t->txn, t->s->msgid, &mk, &mv, MDB_NOOVERWRITE)) != 0)
			return store_fail("index message id", mrc);
	}
	if (registry) {
		MDB_val empty = { 0, NULL };

		if ((mrc = mdb_put(t->txn, t->s->regidx, &k, &empty, MDB_APPEND)) != 0)
			return store_fail("index registry", mrc);
	}
	for (size_t i = 0; i < e->n_recipients; i++) {
		MDB_val bk, empty = { 0, NULL };

		if (!unit_id_valid(e->recipients[i]))
			return CB_EINVAL;
		bk.mv_data = bkey;
		bk.mv_size = backlog_key(e->recipients[i], e->seq, bkey);
		if ((mrc = mdb_put(t->txn, t->s->backlog, &bk, &empty, 0)) != 0)
			return store_fail("backlog", mrc);
	}
	t->seq = e->seq;
	memcpy(t->hash, t->buf, CHAIN_HASH_LEN);
	memcpy(hash, t->buf, CHAIN_HASH_LEN);
	return 0;
}

static int
msgid_get(MDB_txn *txn, MDB_dbi dbi, const uint8_t *msgid, uint64_t *seq)
{
	MDB_val k = { MESSAGE_ID_LEN, (void *)msgid }, v;
	int mrc;

	if ((mrc = mdb_get(txn, dbi, &k, &v)) == MDB_NOTFOUND)
		return CB_ENOTFOUND;
	if (mrc != 0)
		return store_fail("message id lookup", mrc);
	if (v.mv_size != 8)
		return CB_ECORRUPT;
	*seq = be64_get(v.mv_data);
	return 0;
}

int
store_txn_msgid_get(store_txn_t *t, const uint8_t *msgid, uint64_t *seq)
{
	return msgid_get(t->txn, t->s->msgid, msgid, seq);
}

int
store_txn_get(store_txn_t *t, uint64_t seq, const uint8_t **val, size_t *len)
{
	uint8_t key[8];
	MDB_val k = { 8, key }, v;
	int mrc;

	be64_put(key, seq);
	if ((mrc = mdb_get(t->txn, t->s->log, &k, &v)) != 0)
		return mrc == MDB_NOTFOUND ? CB_ENOTFOUND : store_fail("get", mrc);
	*val = v.mv_data;
	*len = v.mv_size;
	return 0;
}

int
store_txn_backlog_ack(store_txn_t *t, const char *unit, uint64_t upto, uint64_t *seqs,
    size_t cap, size_t *n)
{
	uint8_t bkey[BACKLOG_KEY_MAX];
	size_t ulen = strlen(unit);
	MDB_cursor *cur;
	MDB_val k, v;
	int mrc;

	*n = 0;
	if (!unit_id_valid(unit))
		return CB_EINVAL;
	if ((mrc = mdb_cursor_open(t->txn, t->s->backlog, &cur)) != 0)
		return store_fail("backlog cursor", mrc);
	k.mv_data = bkey;
	k.mv_size = backlog_key(unit, 0, bkey);
	mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (mrc == 0 && *n < cap) {
		uint64_t seq;

		if (k.mv_size != ulen + 9 || memcmp(k.mv_data, bkey, ulen + 1) != 0)
			break;
		if ((seq = be64_get((uint8_t *)k.mv_data + ulen + 1)) > upto)
			break;
		if ((mrc = mdb_cursor_del(cur, 0)) != 0)
			break;
		seqs[(*n)++] = seq;
		/* Re-seek after a delete rather than rely on cursor state after it. */
		k.mv_data = bkey;
		k.mv_size = backlog_key(unit, seq + 1, bkey);
		mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	}
	mdb_cursor_close(cur);
	if (mrc != 0 && mrc != MDB_NOTFOUND)
		return store_fail("backlog ack", mrc);
	return 0;
}

int
store_txn_commit(store_txn_t *t)
{
	store_t *s = t->s;
	int mrc;

	if (store_injected(&s->commits, s->fail_commit_at)) {
		mdb_txn_abort(t->txn);
		mrc = MDB_PANIC;
	} else {
		mrc = mdb_txn_commit(t->txn);
	}
	if (mrc == 0) {
		s->head_seq = t->seq;
		memcpy(s->head_hash, t->hash, CHAIN_HASH_LEN);
		s->tree = t->tree;
	}
	free(t->buf);
	free(t);
	return mrc == 0 ? 0 : store_fail("commit", mrc);
}

void
store_txn_abort(store_txn_t *t)
{
	if (t == NULL)
		return;
	mdb_txn_abort(t->txn);
	free(t->buf);
	free(t);
}

/* ---- readers ---- */

static int
store_read_begin(store_t *s, MDB_txn **txn)
{
	int mrc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);

	return mrc == 0 ? 0 : store_fail("read begin", mrc);
}

int
store_get(store_t *s, uint64_t seq, uint8_t **val, size_t *len)
{
	uint8_t key[8];
	MDB_val k = { 8, key }, v;
	MDB_txn *txn;
	int mrc, rc;

	if ((rc = store_read_begin(s, &txn)) != 0)
		return rc;
	be64_put(key, seq);
	if ((mrc = mdb_get(txn, s->log, &k, &v)) != 0) {
		mdb_txn_abort(txn);
		return mrc == MDB_NOTFOUND ? CB_ENOTFOUND : store_fail("get", mrc);
	}
	if ((*val = malloc(v.mv_size > 0 ? v.mv_size : 1)) == NULL) {
		mdb_txn_abort(txn);
		return CB_ENOMEM;
	}
	memcpy(*val, v.mv_data, v.mv_size);
	*len = v.mv_size;
	mdb_txn_abort(txn);
	return 0;
}

int
store_msgid_get(store_t *s, const uint8_t *msgid, uint64_t *seq)
{
	MDB_txn *txn;
	int rc;

	if ((rc = store_read_begin(s, &txn)) != 0)
		return rc;
	rc = msgid_get(txn, s->msgid, msgid, seq);
	mdb_txn_abort(txn);
	return rc;
}

int
store_walk(store_t *s, uint64_t from, store_value_fn fn, void *arg)
{
	return store_walk_range(s, from, UINT64_MAX, fn, arg);
}

int
store_walk_range(store_t *s, uint64_t from, uint64_t to, store_value_fn fn, void *arg)
{
	uint8_t key[8];
	MDB_cursor *cur = NULL;
	MDB_val k = { 8, key }, v;
	MDB_txn *txn;
	int mrc, rc;

	if ((rc = store_read_begin(s, &txn)) != 0)
		return rc;
	if ((mrc = mdb_cursor_open(txn, s->log, &cur)) != 0) {
		rc = store_fail("cursor", mrc);
		goto out;
	}
	be64_put(key, from);
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8) {
			rc = CB_ECORRUPT;
			goto out;
		}
		if (be64_get(k.mv_data) > to) {
			mrc = MDB_NOTFOUND;	/* the end of the range */
			break;
		}
		if ((rc = fn(arg, be64_get(k.mv_data), v.mv_data, v.mv_size)) != 0)
			goto out;
	}
	rc = mrc == MDB_NOTFOUND ? 0 : store_fail("walk", mrc);
out:
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return rc;
}

int
store_walk_registry(store_t *s, store_value_fn fn, void *arg)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v, lv;
	MDB_txn *txn;
	int mrc, rc;

	if ((rc = store_read_begin(s, &txn)) != 0)
		return rc;
	if ((mrc = mdb_cursor_open(txn, s->regidx, &cur)) != 0) {
		rc = store_fail("cursor", mrc);
		goto out;
	}
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8 || mdb_get(txn, s->log, &k, &lv) != 0) {
			rc = CB_ECORRUPT;
			goto out;
		}
		if ((rc = fn(arg, be64_get(k.mv_data), lv.mv_data, lv.mv_size)) != 0)
			goto out;
	}
	rc = mrc == MDB_NOTFOUND ? 0 : store_fail("walk registry", mrc);
out:
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return rc;
}

int
store_walk_backlog(store_t *s, const char *unit, uint64_t after, size_t max,
    store_value_fn fn, void *arg)
{
	uint8_t bkey[BACKLOG_KEY_MAX], lkey[8];
	size_t ulen = strlen(unit), done = 0;
	MDB_cursor *cur = NULL;
	MDB_val k, v, lk = { 8, lkey }, lv;
	MDB_txn *txn;
	int mrc, rc;

	if (!unit_id_valid(unit))
		return CB_EINVAL;
	if ((rc = store_read_begin(s, &txn)) != 0)
		return rc;
	if ((mrc = mdb_cursor_open(txn, s->backlog, &cur)) != 0) {
		rc = store_fail("cursor", mrc);
		goto out;
	}
	k.mv_data = bkey;
	k.mv_size = backlog_key(unit, after + 1, bkey);
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0 && done < max;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != ulen + 9 || memcmp(k.mv_data, bkey, ulen + 1) != 0)
			break;
		memcpy(lkey, (uint8_t *)k.mv_data + ulen + 1, 8);
		if (mdb_get(txn, s->log, &lk, &lv) != 0) {
			rc = CB_ECORRUPT;
			goto out;
		}
		if ((rc = fn(arg, be64_get(lkey), lv.mv_data, lv.mv_size)) != 0)
			goto out;
		done++;
	}
	rc = mrc == 0 || mrc == MDB_NOTFOUND ? 0 : store_fail("walk backlog", mrc);
out:
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return rc;
}

int
store_backlog_depth(store_t *s, const char *unit, uint64_t *n)
{
	uint8_t bkey[BACKLOG_KEY_MAX];
	size_t ulen = strlen(unit);
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	MDB_txn *txn;
	int mrc, rc;

	*n = 0;
	if (!unit_id_valid(unit))
		return CB_EINVAL;
	if ((rc = store_read_begin(s, &txn)) != 0)
		return rc;
	if ((mrc = mdb_cursor_open(txn, s->backlog, &cur)) == 0) {
		k.mv_data = bkey;
		k.mv_size = backlog_key(unit, 0, bkey);
		for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0;
		    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			if (k.mv_size != ulen + 9 || memcmp(k.mv_data, bkey, ulen + 1) != 0)
				break;
			(*n)++;
		}
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	return mrc == 0 || mrc == MDB_NOTFOUND ? 0 : store_fail("backlog depth", mrc);
}

/* ---- auxiliary databases ---- */

int
store_txn_aux_put(store_txn_t *t, enum store_aux db, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	MDB_val k = { klen, (void *)key }, v = { vlen, (void *)val };
	int mrc;

	if ((mrc = mdb_put(t->txn, t->s->aux[db], &k, &v, 0)) != 0)
		return store_fail("aux put", mrc);
	return 0;
}

int
store_txn_aux_get(store_txn_t *t, enum store_aux db, const void *key, size_t klen,
    const uint8_t **val, size_t *vlen)
{
	MDB_val k = { klen, (void *)key }, v;
	int mrc;

	if ((mrc = mdb_get(t->txn, t->s->aux[db], &k, &v)) != 0)
		return mrc == MDB_NOTFOUND ? CB_ENOTFOUND : store_fail("aux get", mrc);
	*val = v.mv_data;
	*vlen = v.mv_size;
	return 0;
}

int
store_txn_aux_del(store_txn_t *t, enum store_aux db, const void *key, size_t klen)
{
	MDB_val k = { klen, (void *)key };
	int mrc = mdb_del(t->txn, t->s->aux[db], &k, NULL);

	if (mrc != 0 && mrc != MDB_NOTFOUND)
		return store_fail("aux delete", mrc);
	return 0;
}

int
store_txn_aux_append(store_txn_t *t, enum store_aux db, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	MDB_val k = { klen, (void *)key }, v = { vlen, (void *)val };
	int mrc;

	if ((mrc = mdb_put(t->txn, t->s->aux[db], &k, &v, MDB_APPEND)) != 0)
		return mrc == MDB_KEYEXIST ? CB_EEXIST : store_fail("aux append", mrc);
	return 0;
}

int
store_txn_aux_put_sorted(store_txn_t *t, enum store_aux db, const uint8_t *keys,
    size_t klen, size_t n, const void *val, size_t vlen)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int mrc;

	if ((mrc = mdb_cursor_open(t->txn, t->s->aux[db], &cur)) != 0)
		return store_fail("aux cursor", mrc);
	for (size_t i = 0; mrc == 0 && i < n; i++) {
		k.mv_size = klen;
		k.mv_data = (void *)(keys + i * klen);
		v.mv_size = vlen;
		v.mv_data = (void *)val;
		mrc = mdb_cursor_put(cur, &k, &v, 0);
	}
	mdb_cursor_close(cur);
	return mrc == 0 ? 0 : store_fail("aux put", mrc);
}

static int
aux_walk(MDB_txn *txn, MDB_dbi dbi, const void *from, size_t fromlen, size_t prefix_len,
    store_kv_fn fn, void *arg)
{
	MDB_cursor *cur;
	MDB_val k = { fromlen, (void *)from }, v;
	int mrc, rc = 0;

	if ((mrc = mdb_cursor_open(txn, dbi, &cur)) != 0)
		return store_fail("aux cursor", mrc);
	mrc = fromlen > 0 ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) :
	    mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	for (; mrc == 0; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (prefix_len > 0 && (k.mv_size < prefix_len ||
		    memcmp(k.mv_data, from, prefix_len) != 0))
			break;
		if ((rc = fn(arg, k.mv_data, k.mv_size, v.mv_data, v.mv_size)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
		rc = store_fail("aux walk", mrc);
	return rc;
}

int
store_txn_aux_walk(store_txn_t *t, enum store_aux db, const void *from, size_t fromlen,
    size_t prefix_len, store_kv_fn fn, void *arg)
{
	return aux_walk(t->txn, t->s->aux[db], from, fromlen, prefix_len, fn, arg);
}

int
store_aux_walk(store_t *s, enum store_aux db, const void *from, size_t fromlen,
    size_t prefix_len, store_kv_fn fn, void *arg)
{
	MDB_txn *txn;
	int rc;

	if (s->aux_absent & (1u << db))
		return 0;
	if ((rc = store_read_begin(s, &txn)) != 0)
		return rc;
	rc = aux_walk(txn, s->aux[db], from, fromlen, prefix_len, fn, arg);
	mdb_txn_abort(txn);
	return rc;
}

int
store_aux_last(store_t *s, enum store_aux db, uint8_t **key, size_t *klen, uint8_t **val,
    size_t *vlen)
{
	MDB_cursor *cur = NULL;
	MDB_txn *txn;
	MDB_val k, v;
	int mrc, rc;

	*key = *val = NULL;
	if (s->aux_absent & (1u << db))
		return CB_ENOTFOUND;
	if ((rc = store_read_begin(s, &txn)) != 0)
		return rc;
	if ((mrc = mdb_cursor_open(txn, s->aux[db], &cur)) != 0) {
		rc = store_fail("aux cursor", mrc);
		goto out;
	}
	if ((mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST)) != 0) {
		rc = mrc == MDB_NOTFOUND ? CB_ENOTFOUND : store_fail("aux last", mrc);
		goto out;
	}
	if ((*key = malloc(k.mv_size + 1)) == NULL || (*val = malloc(v.mv_size + 1)) == NULL) {
		free(*key);
		*key = NULL;
		rc = CB_ENOMEM;
		goto out;
	}
	memcpy(*key, k.mv_data, k.mv_size);
	memcpy(*val, v.mv_data, v.mv_size);
	(*val)[v.mv_size] = 0;
	*klen = k.mv_size;
	*vlen = v.mv_size;
	rc = 0;
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return rc;
}

/* ---- the Merkle tree over committed data ---- */

uint64_t
store_tree_size(const store_t *s)
{
	return s->tree.size;
}

/* The tree as the read transaction `txn` sees it: its frontier loaded from the nodes at
 * the last seq of its log (the writer's frontier may move meanwhile). */
static int
tree_snapshot(store_t *s, MDB_txn *txn, struct node_ctx *c, merkle_store_t *ms,
    merkle_frontier_t *f)
{
	MDB_cursor *cur;
	MDB_val k, v;
	uint64_t size = 0;
	int mrc;

	if (s->no_tree)
		return CB_ECORRUPT;
	node_backend(c, ms, txn, s->merkle);
	if ((mrc = mdb_cursor_open(txn, s->log, &cur)) != 0)
		return store_fail("tree snapshot", mrc);
	mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	mdb_cursor_close(cur);
	if (mrc == 0 && k.mv_size == 8)
		size = be64_get(k.mv_data);
	else if (mrc != MDB_NOTFOUND)
		return mrc == 0 ? CB_ECORRUPT : store_fail("tree snapshot", mrc);
	merkle_frontier_init(f);
	return merkle_frontier_load(f, ms, size);
}

int
store_tree_root(store_t *s, uint64_t size, uint8_t root[MERKLE_HASH_LEN])
{
	merkle_frontier_t f;
	struct node_ctx c;
	merkle_store_t ms;
	MDB_txn *txn;
	int rc;

	if ((rc = store_read_begin(s, &txn)) != 0)
		return rc;
	if ((rc = tree_snapshot(s, txn, &c, &ms, &f)) == 0)
		rc = merkle_root(&f, &ms, size, root);
	mdb_txn_abort(txn);
	return rc;
}

int
store_prove_inclusion(store_t *s, uint64_t seq, uint64_t size, merkle_proof_t *proof,
    uint8_t root[MERKLE_HASH_LEN])
{
	merkle_frontier_t f;
	struct node_ctx c;
	merkle_store_t ms;
	MDB_txn *txn;
	int rc;

	if (seq == 0)
		return CB_EINVAL;
	if ((rc = store_read_begin(s, &txn)) != 0)
		return rc;
	if ((rc = tree_snapshot(s, txn, &c, &ms, &f)) == 0 &&
	    (rc = merkle_prove_inclusion(&f, &ms, seq - 1, size, proof)) == 0)
		rc = merkle_root(&f, &ms, size, root);
	mdb_txn_abort(txn);
	return rc;
}

int
store_prove_consistency(store_t *s, uint64_t old_size, uint64_t new_size,
    merkle_proof_t *proof, uint8_t old_root[MERKLE_HASH_LEN],
    uint8_t new_root[MERKLE_HASH_LEN])
{
	merkle_frontier_t f;
	struct node_ctx c;
	merkle_store_t ms;
	MDB_txn *txn;
	int rc;

	if ((rc = store_read_begin(s, &txn)) != 0)
		return rc;
	if ((rc = tree_snapshot(s, txn, &c, &ms, &f)) == 0 &&
	    (rc = merkle_prove_consistency(&f, &ms, old_size, new_size, proof)) == 0 &&
	    (rc = merkle_root(&f, &ms, old_size, old_root)) == 0)
		rc = merkle_root(&f, &ms, new_size, new_root);
	mdb_txn_abort(txn);
	return rc;
}

int
store_walk_tree(store_t *s, store_node_fn fn, void *arg)
{
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val k, v;
	int mrc, rc;

	if (s->no_tree)
		return 0;
	if ((rc = store_read_begin(s, &txn)) != 0)
		return rc;
	if ((mrc = mdb_cursor_open(txn, s->merkle, &cur)) != 0) {
		mdb_txn_abort(txn);
		return store_fail("walk tree", mrc);
	}
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && rc == 0;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		rc = k.mv_size != 8 ? CB_ECORRUPT : fn(arg, be64_get(k.mv_data), v.mv_data,
		    v.mv_size);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (rc != 0)
		return rc;
	return mrc == MDB_NOTFOUND ? 0 : store_fail("walk tree", mrc);
}

/* ---- the tree beside a walk of the log (the auditor's single pass) ---- */

struct store_nodes {
	MDB_cursor	*cur;		/* NULL: the store keeps no tree */
	uint64_t	 from;		/* the first node seq */
	int		 started;
};

int
store_nodes_next(store_nodes_t *n, uint64_t *node_seq, const uint8_t **hash, size_t *len)
{
	uint8_t key[8];
	MDB_val k = { 8, key }, v;
	int mrc;

	if (n->cur == NULL)
		return CB_ENOTFOUND;
	if (!n->started) {
		be64_put(key, n->from);
		mrc = mdb_cursor_get(n->cur, &k, &v, MDB_SET_RANGE);
		n->started = 1;
	} else {
		mrc = mdb_cursor_get(n->cur, &k, &v, MDB_NEXT);
	}
	if (mrc == MDB_NOTFOUND)
		return CB_ENOTFOUND;
	if (mrc != 0)
		return store_fail("walk tree", mrc);
	if (k.mv_size != 8)
		return CB_ECORRUPT;
	*node_seq = be64_get(k.mv_data);
	*hash = v.mv_data;
	*len = v.mv_size;
	return 0;
}

int
store_walk_range_tree(store_t *s, uint64_t from, uint64_t to, merkle_frontier_t *f,
    store_tree_value_fn fn, void *arg)
{
	uint8_t key[8];
	struct store_nodes nodes = { NULL, 0, 0 };
	struct node_ctx c;
	merkle_store_t ms;
	MDB_cursor *cur = NULL;
	MDB_val k = { 8, key }, v;
	MDB_txn *txn;
	int mrc, rc;

	if (from == 0)
		from = 1;
	if ((rc = store_read_begin(s, &txn)) != 0)
		return rc;
	if (f != NULL) {
		merkle_frontier_init(f);
		if (from > 1 && s->no_tree)
			rc = CB_ECORRUPT;
		else if (from > 1) {
			node_backend(&c, &ms, txn, s->merkle);
			rc = merkle_frontier_load(f, &ms, from - 1);
		}
		if (rc != 0)
			goto out;
	}
	if (!s->no_tree && (mrc = mdb_cursor_open(txn, s->merkle, &nodes.cur)) != 0) {
		rc = store_fail("walk tree", mrc);
		goto out;
	}
	nodes.from = merkle_node_seq(0, from - 1);
	if ((mrc = mdb_cursor_open(txn, s->log, &cur)) != 0) {
		rc = store_fail("cursor", mrc);
		goto out;
	}
	be64_put(key, from);
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8) {
			rc = CB_ECORRUPT;
			goto out;
		}
		if (be64_get(k.mv_data) > to) {
			mrc = MDB_NOTFOUND;	/* the end of the range */
			break;
		}
		if ((rc = fn(arg, be64_get(k.mv_data), v.mv_data, v.mv_size, &nodes)) != 0)
			goto out;
	}
	rc = mrc == MDB_NOTFOUND ? 0 : store_fail("walk", mrc);
out:
	mdb_cursor_close(cur);
	if (nodes.cur != NULL)
		mdb_cursor_close(nodes.cur);
	mdb_txn_abort(txn);
	return rc;
}

/* lib/receipts.c — receipts with inclusion proofs: parsed, checked offline, and
 * cross-checked with the agencies' checkpoints against a log copy (receipts.h). */
#define _XOPEN_SOURCE 700	/* nftw */
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "chain.h"
#include "envelope.h"
#include "receipts.h"
#include "unpack.h"
#include "util.h"

/* ---- parsing ---- */

static int
hex_field(json_t *doc, const char *name, uint8_t *out, size_t len, cb_error_t *err)
{
	const char *s = json_string_value(json_object_get(doc, name));

	if (s == NULL)
		return cb_fail(err, name, CB_EMALFORMED, "missing, or not a string");
	if (strlen(s) != 2 * len || hex_decode(s, out, len) != 0)
		return cb_fail(err, name, CB_EMALFORMED, "not %zu hex digits", 2 * len);
	return 0;
}

static int
count_field(json_t *doc, const char *name, uint64_t *out, cb_error_t *err)
{
	json_t *v = json_object_get(doc, name);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return cb_fail(err, name, CB_EMALFORMED, "missing, or not a whole number >= 0");
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int
receipt_parse_proof(json_t *proof, receipt_t *r, cb_error_t *err)
{
	json_t *hashes = json_object_get(proof, "hashes"), *h;
	const char *entry = json_string_value(json_object_get(proof, "entry"));
	uint64_t leaf_index;
	size_t i, elen;
	int rc;

	if (!json_is_object(proof))
		return cb_fail(err, "proof", CB_EMALFORMED, "not an object");
	if ((rc = count_field(proof, "leaf_index", &leaf_index, err)) != 0 ||
	    (rc = count_field(proof, "tree_size", &r->tree_size, err)) != 0) {
		snprintf(err->field, sizeof(err->field), "proof.%s",
		    rc != 0 && json_object_get(proof, "leaf_index") != NULL ? "tree_size" :
		    "leaf_index");
		return rc;
	}
	if (leaf_index + 1 != r->seq)
		return cb_fail(err, "proof.leaf_index", CB_EMALFORMED,
		    "is not seq - 1 (%llu)", (unsigned long long)(r->seq - 1));
	if (r->tree_size < r->seq || r->tree_size > MERKLE_MAX_SIZE)
		return cb_fail(err, "proof.tree_size", CB_EMALFORMED,
		    "below the seq, or above 2^63 - 1");
	if (entry == NULL || (elen = strlen(entry)) == 0 || elen % 2 != 0)
		return cb_fail(err, "proof.entry", CB_EMALFORMED, "missing, or not hex bytes");
	if (elen / 2 > RECEIPT_MAX_ENTRY)
		return cb_fail(err, "proof.entry", CB_ETOOBIG, "longer than %u bytes",
		    RECEIPT_MAX_ENTRY);
	if ((r->entry = malloc(elen / 2)) == NULL)
		return CB_ENOMEM;
	r->entry_len = elen / 2;
	if (hex_decode(entry, r->entry, r->entry_len) != 0)
		return cb_fail(err, "proof.entry", CB_EMALFORMED, "not hex bytes");
	if (!json_is_array(hashes))
		return cb_fail(err, "proof.hashes", CB_EMALFORMED, "missing, or not an array");
	if (json_array_size(hashes) > MERKLE_MAX_PROOF)
		return cb_fail(err, "proof.hashes", CB_ETOOBIG, "more than %d hashes",
		    MERKLE_MAX_PROOF);
	json_array_foreach(hashes, i, h) {
		const char *s = json_string_value(h);

		if (s == NULL || strlen(s) != 2 * MERKLE_HASH_LEN ||
		    hex_decode(s, r->proof.hash[i], MERKLE_HASH_LEN) != 0)
			return cb_fail(err, "proof.hashes", CB_EMALFORMED,
			    "hash %zu is not %d hex digits", i, 2 * MERKLE_HASH_LEN);
	}
	r->proof.len = json_array_size(hashes);
	return 0;
}

int
receipt_parse(const char *json, size_t len, receipt_t *r, cb_error_t *err)
{
	json_error_t jerr;
	json_t *doc, *proof, *note;
	const char *id;
	int rc;

	memset(r, 0, sizeof(*r));
	if (len > RECEIPT_MAX_FILE)
		return cb_fail(err, "(file)", CB_ETOOBIG, "larger than %u bytes", RECEIPT_MAX_FILE);
	if ((doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return cb_fail(err, "(file)", CB_EMALFORMED, "not JSON: line %d: %s", jerr.line,
		    jerr.text);
	rc = CB_EMALFORMED;
	if (!json_is_object(doc)) {
		cb_fail(err, "(file)", rc, "not a JSON object");
		goto out;
	}
	id = json_string_value(json_object_get(doc, "message_id"));
	if ((rc = hex_field(doc, "message_id", r->msgid, sizeof(r->msgid), err)) != 0 ||
	    (rc = hex_field(doc, "entry_hash", r->entry_hash, sizeof(r->entry_hash), err)) != 0 ||
	    (rc = count_field(doc, "seq", &r->seq, err)) != 0)
		goto out;
	snprintf(r->message_id, sizeof(r->message_id), "%s", id);
	if (r->seq == 0 || r->seq > MERKLE_MAX_SIZE) {
		rc = cb_fail(err, "seq", CB_EMALFORMED, "not between 1 and 2^63 - 1");
		goto out;
	}
	proof = json_object_get(doc, "proof");
	note = json_object_get(doc, "checkpoint");
	if ((proof == NULL) != (note == NULL)) {
		rc = cb_fail(err, proof == NULL ? "proof" : "checkpoint", CB_EMALFORMED,
		    "missing while %s is present", proof == NULL ? "checkpoint" : "proof");
		goto out;
	}
	rc = 0;
	if (proof == NULL)
		goto out;
	if ((rc = receipt_parse_proof(proof, r, err)) != 0)
		goto out;
	if (!json_is_string(note) || json_string_length(note) > CHECKPOINT_NOTE_MAX) {
		rc = cb_fail(err, "checkpoint", json_is_string(note) ? CB_ETOOBIG : CB_EMALFORMED,
		    "not a signed note of at most %d bytes", CHECKPOINT_NOTE_MAX);
		goto out;
	}
	if ((r->note = strdup(json_string_value(note))) == NULL) {
		rc = CB_ENOMEM;
		goto out;
	}
	r->note_len = strlen(r->note);
	r->has_proof = 1;
out:
	json_decref(doc);
	if (rc != 0)
		receipt_clear(r);
	return rc;
}

void
receipt_clear(receipt_t *r)
{
	free(r->entry);
	free(r->note);
	memset(r, 0, sizeof(*r));
}

/* ---- the offline check ---- */

int
receipt_note_verify(const char *note, size_t len, cb_key_t *const *keys, size_t nkeys,
    checkpoint_t *cp, cb_error_t *err)
{
	int rc;

	if ((rc = checkpoint_parse(note, len, cp, err)) != 0)
		return rc;
	rc = cb_fail(err, "checkpoint", CB_EBADSIG, "no broker key of this log to check it");
	for (size_t i = 0; i < nkeys; i++) {
		checkpoint_verifier_t *v = NULL;

		if ((rc = checkpoint_verifier_new(cp->origin, keys[i], &v)) != 0)
			return cb_fail(err, "checkpoint", rc, "origin '%s' is not a key name",
			    cp->origin);
		rc = checkpoint_verify(note, len, v, cp, err);
		checkpoint_verifier_free(v);
		if (rc == 0 || rc == CB_ENOMEM || rc == CB_ECRYPTO)
			return rc;
	}
	return rc;
}

/* The entry's seq and message id are the receipt's. */
static int
receipt_check_entry(const receipt_t *r, cb_error_t *err)
{
	Cluebus__LogEntry *e = NULL;
	Cluebus__Message *m = NULL;
	int rc;

	if ((rc = unpack_bounded(&cluebus__log_entry__descriptor, r->entry, r->entry_len,
	    (ProtobufCMessage **)&e)) != 0)
		return cb_fail(err, "proof.entry", rc == CB_ENOMEM ? rc : CB_EMALFORMED,
		    "not a log entry");
	if (e->seq != r->seq) {
		rc = cb_fail(err, "proof.entry", CB_ECORRUPT, "is entry %llu, not %llu",
		    (unsigned long long)e->seq, (unsigned long long)r->seq);
		goto out;
	}
	if (e->envelope == NULL || unpack_bounded(&cluebus__message__descriptor,
	    e->envelope->signed_.data, e->envelope->signed_.len, (ProtobufCMessage **)&m) != 0 ||
	    m->message_id.len != 16 || CRYPTO_memcmp(m->message_id.data, r->msgid, 16) != 0) {
		rc = cb_fail(err, "proof.entry", CB_ECORRUPT, "does not carry message %s",
		    r->message_id);
		goto out;
	}
	rc = 0;
out:
	if (m != NULL)
		protobuf_c_message_free_unpacked(&m->base, NULL);
	protobuf_c_message_free_unpacked(&e->base, NULL);
	return rc;
}

int
receipt_check(const receipt_t *r, cb_key_t *const *keys, size_t nkeys, checkpoint_t *cp,
    cb_error_t *err)
{
	uint8_t hash[CHAIN_HASH_LEN], leaf[MERKLE_HASH_LEN];
	const char *why = NULL;
	int rc;

	if (!r->has_proof)
		return cb_fail(err, "proof", CB_ENOTFOUND, "none yet (the agent adds it once "
		    "the broker signed a checkpoint after the message)");
	if ((rc = receipt_note_verify(r->note, r->note_len, keys, nkeys, cp, err)) != 0)
		return rc;
	if (cp->size != r->tree_size)
		return cb_fail(err, "proof.tree_size", CB_ECORRUPT, "%llu, the checkpoint's is "
		    "%llu", (unsigned long long)r->tree_size, (unsigned long long)cp->size);
	if ((rc = chain_hash(r->entry, r->entry_len, hash)) != 0 ||
	    (rc = merkle_leaf_hash(r->entry, r->entry_len, leaf)) != 0)
		return rc;
	if (CRYPTO_memcmp(hash, r->entry_hash, CHAIN_HASH_LEN) != 0)
		return cb_fail(err, "proof.entry", CB_ECORRUPT, "does not hash to the entry_hash");
	if ((rc = receipt_check_entry(r, err)) != 0)
		return rc;
	rc = merkle_verify_inclusion(leaf, r->seq - 1, cp->size, &r->proof, cp->root, &why);
	if (rc == CB_ENOMEM || rc == CB_ECRYPTO)
		return rc;
	if (rc != 0)
		return cb_fail(err, "proof.hashes", CB_ECORRUPT, "the inclusion proof does not "
		    "hold: %s", why != NULL ? why : cb_strerror(rc));
	return 0;
}

/* ---- the log's broker keys ---- */

struct keys_walk {
	cb_key_t	**keys;
	size_t		  n, cap;
};

static int
keys_walk_one(void *arg, uint64_t seq, const uint8_t *val, size_t len)
{
	struct keys_walk *w = arg;
	Cluebus__LogEntry *e = NULL;
	Cluebus__Message *m = NULL;
	const uint8_t *hash;
	cb_error_t err;
	cb_key_t *k;

	(void)seq;
	if (chain_decode(val, len, &hash, &e) != 0)
		return 0;	/* verify names it */
	if (e->envelope != NULL && envelope_open(e->envelope, &m, &err) == 0 &&
	    m->body_case == CLUEBUS__MESSAGE__BODY_REGISTRY &&
	    m->registry->op == CLUEBUS__REGISTRY_OP__REGISTRY_BROKER_KEY &&
	    key_from_public(m->registry->sign_public.data, m->registry->sign_public.len,
	    &k) == 0) {
		if (w->n == w->cap) {
			cb_key_t **nk = realloc(w->keys, (w->cap + 4) * sizeof(*nk));

			if (nk == NULL) {
				key_free(k);
				goto out;
			}
			w->keys = nk;
			w->cap += 4;
		}
		w->keys[w->n++] = k;
	}
out:
	if (m != NULL)
		protobuf_c_message_free_unpacked(&m->base, NULL);
	cluebus__log_entry__free_unpacked(e, NULL);
	return 0;
}

int
receipts_broker_keys(store_t *s, cb_key_t ***keys, size_t *n)
{
	struct keys_walk w = { NULL, 0, 0 };
	int rc = store_walk_registry(s, keys_walk_one, &w);

	*keys = w.keys;
	*n = w.n;
	return rc;
}

static void
keys_free(cb_key_t **keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		key_free(keys[i]);
	free(keys);
}

/* ---- findings ---- */

/* A finding about entry `seq`, or about some entry of seq..last (last > seq). */
static void
finding_at(receipts_result_t *res, uint64_t seq, uint64_t last, const char *fmt, va_list ap)
{
	receipts_finding_t *f;

	if ((f = realloc(res->findings, (res->nfindings + 1) * sizeof(*f))) == NULL)
		return;
	res->findings = f;
	f = &res->findings[res->nfindings++];
	f->seq = seq;
	f->last = last > seq ? last : seq;
	vsnprintf(f->what, sizeof(f->what), fmt, ap);
}

static void
finding(receipts_result_t *res, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
finding(receipts_result_t *res, uint64_t seq, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	finding_at(res, seq, seq, fmt, ap);
	va_end(ap);
}

static void
finding_range(receipts_result_t *res, uint64_t seq, uint64_t last, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
finding_range(receipts_result_t *res, uint64_t seq, uint64_t last, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	finding_at(res, seq, last, fmt, ap);
	va_end(ap);
}

static int
finding_cmp(const void *a, const void *b)
{
	const receipts_finding_t *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->last < y->last ? -1 : x->last > y->last;
}

/* Sorts the findings, then drops each range that holds an exact finding: which entry
 * within it is at fault is then known, and that finding names it. */
static void
findings_sort(receipts_result_t *res)
{
	size_t keep = 0;

	if (res->nfindings > 1)
		qsort(res->findings, res->nfindings, sizeof(*res->findings), finding_cmp);
	for (size_t i = 0; i < res->nfindings; i++) {
		const receipts_finding_t *f = &res->findings[i];
		int covered = 0;

		for (size_t j = 0; j < res->nfindings && f->last > f->seq && !covered; j++)
			covered = res->findings[j].last == res->findings[j].seq &&
			    res->findings[j].seq >= f->seq && res->findings[j].seq <= f->last;
		if (!covered)
			res->findings[keep++] = res->findings[i];
	}
	res->nfindings = keep;
}

void
receipts_result_free(receipts_result_t *res)
{
	free(res->findings);
	memset(res, 0, sizeof(*res));
}

/* A checkpoint (size, root) against the copy: within the log, and the same root. The
 * entries 1..good_below matched an earlier checkpoint (0: unknown), which narrows where
 * the first difference is. Sets *matched when it matches. */
static int
check_tree_head_from(store_t *s, const checkpoint_t *cp, const char *from,
    receipts_result_t *res, uint64_t good_below, int *matched)
{
	uint8_t root[MERKLE_HASH_LEN];
	uint64_t head = store_head_seq(s);
	int rc;

	if (cp->size > head) {
		finding(res, head + 1, "the log was cut: %s is a checkpoint of %llu entries signed "
		    "by the broker, the log has %llu: entries %llu..%llu were removed", from,
		    (unsigned long long)cp->size, (unsigned long long)head,
		    (unsigned long long)head + 1, (unsigned long long)cp->size);
		return 0;
	}
	if (cp->size == 0)
		return 0;
	if ((rc = store_tree_root(s, cp->size, root)) != 0)
		return rc;
	if (CRYPTO_memcmp(root, cp->root, MERKLE_HASH_LEN) == 0) {
		*matched = 1;
		return 0;
	}
	if (good_below + 1 == cp->size)
		finding(res, cp->size, "entry %llu was removed, altered or reordered: the log's "
		    "first %llu entries are not those %s was signed over, its first %llu are",
		    (unsigned long long)cp->size, (unsigned long long)cp->size, from,
		    (unsigned long long)good_below);
	else
		finding_range(res, good_below + 1, cp->size, "an entry in %llu..%llu was "
		    "removed, altered or "
		    "reordered: the log's first %llu entries are not those %s was signed over%s",
		    (unsigned long long)good_below + 1, (unsigned long long)cp->size,
		    (unsigned long long)cp->size, from, good_below > 0 ?
		    ", those before match an earlier checkpoint" : "");
	return 0;
}



/* A receipt against the copy. */
static int
check_receipt_entry(store_t *s, const receipt_t *r, const char *from, receipts_result_t *res)
{
	uint8_t *val = NULL;
	uint64_t other;
	size_t len;
	int rc;

	if (r->seq > store_head_seq(s)) {
		finding(res, r->seq, "entry %llu (message %s, %s) was removed: the log ends at "
		    "%llu", (unsigned long long)r->seq, r->message_id, from,
		    (unsigned long long)store_head_seq(s));
		return 0;
	}
	if ((rc = store_get(s, r->seq, &val, &len)) != 0)
		return rc;
	if (len >= CHAIN_HASH_LEN && CRYPTO_memcmp(val, r->entry_hash, CHAIN_HASH_LEN) == 0) {
		free(val);
		return 0;
	}
	free(val);
	rc = store_msgid_get(s, r->msgid, &other);
	if (rc == 0 && other != r->seq)
		finding(res, other < r->seq ? other : r->seq, "entries were reordered: message "
		    "%s was entry %llu (%s), the log has it at %llu", r->message_id,
		    (unsigned long long)r->seq, from, (unsigned long long)other);
	else if (rc == 0)
		finding(res, r->seq, "entry %llu (message %s, %s) was altered: its hash is not "
		    "the receipt's", (unsigned long long)r->seq, r->message_id, from);
	else if (rc == CB_ENOTFOUND)
		finding(res, r->seq, "entry %llu (message %s, %s) was removed: the message is "
		    "not in the log, and entry %llu is another one", (unsigned long long)r->seq,
		    r->message_id, from, (unsigned long long)r->seq);
	else
		return rc;
	return 0;
}

/* ---- the walk over the agencies' files ---- */

/* A checkpoint found in the agencies' files, checked after the walk in size order. */
struct seen_ckpt {
	checkpoint_t	 cp;
	char		 from[256];
};

static struct cross {
	store_t			*s;
	cb_key_t		**keys;
	size_t			  nkeys;
	receipts_result_t	*res;
	int			  rc;
	struct seen_ckpt	*seen;
	size_t			  nseen;
} *cross_now;	/* nftw has no argument pointer */

/* Remembers a verified checkpoint (one per size and root). */
static void
cross_seen(struct cross *x, const checkpoint_t *cp, const char *from)
{
	struct seen_ckpt *s;

	x->res->checkpoints++;
	for (size_t i = 0; i < x->nseen; i++)
		if (x->seen[i].cp.size == cp->size &&
		    memcmp(x->seen[i].cp.root, cp->root, MERKLE_HASH_LEN) == 0)
			return;
	if ((s = realloc(x->seen, (x->nseen + 1) * sizeof(*s))) == NULL) {
		x->rc = CB_ENOMEM;
		return;
	}
	x->seen = s;
	s = &x->seen[x->nseen++];
	s->cp = *cp;
	snprintf(s->from, sizeof(s->from), "%s", from);
}

static int
seen_cmp(const void *a, const void *b)
{
	const struct seen_ckpt *x = a, *y = b;

	return x->cp.size < y->cp.size ? -1 : x->cp.size > y->cp.size;
}

/* The remembered checkpoints in size order: each that matches narrows where the first
 * difference of a later one is. */
static int
cross_checkpoints(struct cross *x)
{
	uint64_t good = 0;
	int rc = 0;

	qsort(x->seen, x->nseen, sizeof(*x->seen), seen_cmp);
	for (size_t i = 0; i < x->nseen && rc == 0; i++) {
		int matched = 0;

		rc = check_tree_head_from(x->s, &x->seen[i].cp, x->seen[i].from, x->res, good,
		    &matched);
		if (matched)
			good = x->seen[i].cp.size;
	}
	return rc;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void
cross_file(struct cross *x, const char *path)
{
	int is_receipt = ends_with(path, ".receipt.json");
	checkpoint_t cp;
	receipt_t r;
	cb_error_t err;
	char *text = NULL;
	size_t len;
	int rc;

	if ((rc = file_read_all(path, RECEIPT_MAX_FILE, &text, &len)) != 0) {
		fprintf(stderr, "%s: %s\n", path, cb_strerror(rc));
		x->res->bad_files++;
		return;
	}
	if (!is_receipt) {
		if (receipt_note_verify(text, len, x->keys, x->nkeys, &cp, &err) != 0) {
			fprintf(stderr, "%s: not a checkpoint of this log: %s: %s\n", path,
			    err.field, err.reason);
			x->res->bad_files++;
		} else {
			cross_seen(x, &cp, path);
		}
		free(text);
		return;
	}
	if (receipt_parse(text, len, &r, &err) != 0) {
		fprintf(stderr, "%s: %s: %s\n", path, err.field, err.reason);
		x->res->bad_files++;
		free(text);
		return;
	}
	free(text);
	x->res->receipts++;
	if (r.has_proof) {
		if ((rc = receipt_check(&r, x->keys, x->nkeys, &cp, &err)) != 0) {
			fprintf(stderr, "%s: %s: %s\n", path, err.field, err.reason);
			x->res->bad_files++;
		} else {
			cross_seen(x, &cp, path);
		}
	} else {
		x->res->unproven++;
	}
	if (x->rc == 0)
		x->rc = check_receipt_entry(x->s, &r, path, x->res);
	receipt_clear(&r);
}

/* An agent's alarm.json: the two notes it keeps as evidence ("held", "offered"). */
static void
cross_alarm(struct cross *x, const char *path)
{
	static const char *const which[] = { "held", "offered" };
	json_t *doc = json_load_file(path, 0, NULL);
	char from[PATH_MAX + 16];

	if (doc == NULL) {
		fprintf(stderr, "%s: not JSON\n", path);
		x->res->bad_files++;
		return;
	}
	for (size_t i = 0; i < 2; i++) {
		const char *note = json_string_value(json_object_get(doc, which[i]));
		checkpoint_t cp;
		cb_error_t err;

		if (note == NULL)
			continue;
		snprintf(from, sizeof(from), "%s (%s)", path, which[i]);
		if (receipt_note_verify(note, strlen(note), x->keys, x->nkeys, &cp, &err) != 0) {
			fprintf(stderr, "%s: not a checkpoint of this log: %s: %s\n", from,
			    err.field, err.reason);
			x->res->bad_files++;
		} else {
			cross_seen(x, &cp, from);
		}
	}
	json_decref(doc);
}

static int
cross_visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_F && (ends_with(path, ".receipt.json") || ends_with(path, ".note")))
		cross_file(cross_now, path);
	else if (type == FTW_F && ends_with(path, "/alarm.json"))
		cross_alarm(cross_now, path);
	return cross_now->rc;
}

int
receipts_cross_check(store_t *s, const char *const *dirs, size_t ndirs,
    receipts_result_t *res)
{
	struct cross x = { s, NULL, 0, res, 0, NULL, 0 };
	int rc;

	memset(res, 0, sizeof(*res));
	if ((rc = receipts_broker_keys(s, &x.keys, &x.nkeys)) != 0)
		return rc;
	cross_now = &x;
	for (size_t i = 0; i < ndirs && x.rc == 0; i++) {
		if (nftw(dirs[i], cross_visit, 16, FTW_PHYS) != 0 && x.rc == 0) {
			fprintf(stderr, "%s: cannot read the directory\n", dirs[i]);
			x.rc = CB_EIO;
		}
	}
	cross_now = NULL;
	if (x.rc == 0)
		x.rc = cross_checkpoints(&x);
	free(x.seen);
	keys_free(x.keys, x.nkeys);
	findings_sort(res);
	return x.rc;
}

struct stored_walk {
	uint64_t		  good;		/* size of the last checkpoint that matched */
	store_t			*s;
	cb_key_t		**keys;
	size_t			  nkeys;
	receipts_result_t	*res;
};

static int
stored_one(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct stored_walk *w = arg;
	checkpoint_t cp;
	cb_error_t err;
	char from[64];
	uint64_t size;

	if (klen != 8 || vlen <= 16) {
		finding(w->res, 0, "a stored checkpoint record is malformed");
		return 0;
	}
	size = be64_get(key);
	snprintf(from, sizeof(from), "the stored checkpoint %llu", (unsigned long long)size);
	w->res->checkpoints++;
	if (receipt_note_verify((const char *)val + 16, vlen - 16, w->keys, w->nkeys, &cp,
	    &err) != 0) {
		finding(w->res, size, "%s does not verify: %s: %s", from, err.field, err.reason);
		return 0;
	}
	if (cp.size != size) {
		finding(w->res, size, "%s is stored under size %llu but says %llu", from,
		    (unsigned long long)size, (unsigned long long)cp.size);
		return 0;
	}
	{
		int matched = 0, rc;

		if ((rc = check_tree_head_from(w->s, &cp, from, w->res, w->good, &matched)) != 0)
			return rc;
		if (matched)
			w->good = size;
		return 0;
	}
}

int
receipts_stored_checkpoints(store_t *s, receipts_result_t *res)
{
	struct stored_walk w = { 0, s, NULL, 0, res };
	int rc;

	if ((rc = receipts_broker_keys(s, &w.keys, &w.nkeys)) != 0)
		return rc;
	rc = store_aux_walk(s, STORE_CHECKPOINTS, NULL, 0, 0, stored_one, &w);
	keys_free(w.keys, w.nkeys);
	findings_sort(res);
	return rc;
}

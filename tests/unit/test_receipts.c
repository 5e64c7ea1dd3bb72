/* tests/unit/test_receipts.c — receipts with inclusion proofs (lib/receipts.c) and the
 * agent's log view (lib/logview.c): a genuine receipt checks offline; every malformed
 * receipt is refused naming its field; every receipt that does not prove what it says is
 * refused; the view accepts only consistent checkpoints and raises the alarm, durably, on a
 * rollback or a fork; an inclusion proof holds only for the receipt's own entry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "logview.h"
#include "receipts.h"
#include "receipt_fixture.h"

static char *genuine;
static cb_key_t *broker;

static int
setup(void **state)
{
	(void)state;
	return (genuine = receipt_fixture(&broker)) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	free(genuine);
	key_free(broker);
	return 0;
}

/* The genuine receipt with `path` (a.b) set to the JSON `value` (NULL: removed). */
static char *
mutate(const char *path, const char *value)
{
	json_t *doc = json_loads(genuine, 0, NULL), *obj = doc, *v = NULL;
	char key[64], *dot, *out;

	snprintf(key, sizeof(key), "%s", path);
	if ((dot = strchr(key, '.')) != NULL) {
		*dot = '\0';
		obj = json_object_get(doc, key);
		memmove(key, dot + 1, strlen(dot + 1) + 1);
	}
	if (value != NULL && (v = json_loads(value, JSON_DECODE_ANY, NULL)) == NULL)
		fail_msg("bad test value %s", value);
	if (v == NULL)
		json_object_del(obj, key);
	else
		json_object_set_new(obj, key, v);
	out = json_dumps(doc, 0);
	json_decref(doc);
	return out;
}

static void
test_a_genuine_receipt_checks_offline(void **state)
{
	checkpoint_t cp;
	cb_error_t err;
	receipt_t r;

	(void)state;
	assert_int_equal(receipt_parse(genuine, strlen(genuine), &r, &err), 0);
	assert_int_equal(receipt_check(&r, &broker, 1, &cp, &err), 0);
	assert_int_equal(cp.size, RECEIPT_FIXTURE_SIZE);
	assert_int_equal(r.seq, RECEIPT_FIXTURE_SEQ);
	receipt_clear(&r);
}

static const struct bad_receipt {
	const char *path, *value;	/* path NULL: value is the whole text */
	int rc;
	const char *field;
} bad_receipts[] = {
	{ NULL, "not json", CB_EMALFORMED, "(file)" },
	{ NULL, "[1, 2]", CB_EMALFORMED, "(file)" },
	{ "message_id", NULL, CB_EMALFORMED, "message_id" },
	{ "message_id", "\"5a5a\"", CB_EMALFORMED, "message_id" },
	{ "entry_hash", "\"zz\"", CB_EMALFORMED, "entry_hash" },
	{ "seq", "-1", CB_EMALFORMED, "seq" },
	{ "seq", "0", CB_EMALFORMED, "seq" },
	{ "seq", "\"5\"", CB_EMALFORMED, "seq" },
	{ "checkpoint", NULL, CB_EMALFORMED, "checkpoint" },
	{ "proof", NULL, CB_EMALFORMED, "proof" },
	{ "proof", "[]", CB_EMALFORMED, "proof" },
	{ "proof.leaf_index", "3", CB_EMALFORMED, "proof.leaf_index" },
	{ "proof.leaf_index", NULL, CB_EMALFORMED, "proof.leaf_index" },
	{ "proof.tree_size", "2", CB_EMALFORMED, "proof.tree_size" },
	{ "proof.tree_size", "-7", CB_EMALFORMED, "proof.tree_size" },
	{ "proof.entry", "\"abc\"", CB_EMALFORMED, "proof.entry" },
	{ "proof.entry", "\"\"", CB_EMALFORMED, "proof.entry" },
	{ "proof.entry", "\"zz\"", CB_EMALFORMED, "proof.entry" },
	{ "proof.hashes", "{}", CB_EMALFORMED, "proof.hashes" },
	{ "proof.hashes", "[\"00\"]", CB_EMALFORMED, "proof.hashes" },
	{ "proof.hashes", "[1]", CB_EMALFORMED, "proof.hashes" },
	{ "checkpoint", "7", CB_EMALFORMED, "checkpoint" },
};

static void
test_every_malformed_receipt_is_refused_naming_its_field(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_receipts) / sizeof(bad_receipts[0]); i++) {
		const struct bad_receipt *b = &bad_receipts[i];
		char *text = b->path == NULL ? strdup(b->value) : mutate(b->path, b->value);
		cb_error_t err;
		receipt_t r;

		memset(&err, 0, sizeof(err));
		assert_int_equal(receipt_parse(text, strlen(text), &r, &err), b->rc);
		if (strcmp(err.field, b->field) != 0)
			fail_msg("case %zu: field '%s', expected '%s' (%s)", i, err.field, b->field,
			    err.reason);
		assert_true(err.reason[0] != '\0');
		free(text);
	}
}

static void
test_sixty_five_hashes_are_too_many(void **state)
{
	char hashes[65 * 67 + 3], *p = hashes, *text;
	cb_error_t err;
	receipt_t r;

	(void)state;
	*p++ = '[';
	for (int i = 0; i < 65; i++)
		p += sprintf(p, "%s\"%064d\"", i ? "," : "", 0);
	strcpy(p, "]");
	text = mutate("proof.hashes", hashes);
	assert_int_equal(receipt_parse(text, strlen(text), &r, &err), CB_ETOOBIG);
	assert_string_equal(err.field, "proof.hashes");
	free(text);
}

static const struct false_receipt {
	const char *path, *value;
	int rc;
	const char *field;
} false_receipts[] = {
	/* the receipt says another entry hash than the proof's entry has */
	{ "entry_hash", "\"0000000000000000000000000000000000000000000000000000000000000000\"",
	  CB_ECORRUPT, "proof.entry" },
	/* another message id than the entry carries */
	{ "message_id", "\"00112233445566778899aabbccddeeff\"", CB_ECORRUPT, "proof.entry" },
	/* another tree size than the checkpoint's */
	{ "proof.tree_size", "8", CB_ECORRUPT, "proof.tree_size" },
	/* a proof one hash short */
	{ "proof.hashes", "[]", CB_ECORRUPT, "proof.hashes" },
	/* a checkpoint that is not a signed note */
	{ "checkpoint", "\"cluebus/log\\n7\\n\"", CB_EMALFORMED, "note" },
};

static void
test_a_receipt_that_does_not_prove_its_entry_is_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(false_receipts) / sizeof(false_receipts[0]); i++) {
		const struct false_receipt *b = &false_receipts[i];
		char *text = mutate(b->path, b->value);
		checkpoint_t cp;
		cb_error_t err;
		receipt_t r;
		int rc;

		memset(&err, 0, sizeof(err));
		assert_int_equal(receipt_parse(text, strlen(text), &r, &err), 0);
		rc = receipt_check(&r, &broker, 1, &cp, &err);
		if (rc != b->rc || strncmp(err.field, b->field, strlen(b->field)) != 0)
			fail_msg("case %zu: %d %s: %s (expected %d %s)", i, rc, err.field,
			    err.reason, b->rc, b->field);
		receipt_clear(&r);
		free(text);
	}
}

static void
test_a_receipt_is_refused_with_another_broker_key_or_without_proof(void **state)
{
	cb_key_t *other;
	checkpoint_t cp;
	cb_error_t err;
	receipt_t r;
	char *text = mutate("proof", NULL);

	(void)state;
	assert_int_equal(key_generate(&other), 0);
	assert_int_equal(receipt_parse(genuine, strlen(genuine), &r, &err), 0);
	assert_int_equal(receipt_check(&r, &other, 1, &cp, &err), CB_EBADSIG);
	receipt_clear(&r);
	/* without proof and checkpoint: parsed, not proven */
	{
		json_t *doc = json_loads(text, 0, NULL);

		json_object_del(doc, "checkpoint");
		free(text);
		text = json_dumps(doc, 0);
		json_decref(doc);
	}
	assert_int_equal(receipt_parse(text, strlen(text), &r, &err), 0);
	assert_int_equal(receipt_check(&r, &broker, 1, &cp, &err), CB_ENOTFOUND);
	receipt_clear(&r);
	free(text);
	key_free(other);
}

/* ---- the log view ---- */

struct tree {
	merkle_memstore_t	*mem;
	merkle_store_t		 ms;
	merkle_frontier_t	 f;
};

static void
tree_grow(struct tree *t, int upto, const char *tag)
{
	char leaf[32];

	if (t->mem == NULL) {
		assert_non_null(t->mem = merkle_memstore_new());
		merkle_memstore_backend(t->mem, &t->ms);
		merkle_frontier_init(&t->f);
	}
	while ((int)t->f.size < upto) {
		int n = snprintf(leaf, sizeof(leaf), "%s %d", tag, (int)t->f.size);

		assert_int_equal(merkle_append(&t->f, &t->ms, leaf, (size_t)n), 0);
	}
}

/* A CheckpointNote of `t` at `size` with the consistency proof from `from`. The note and
 * the hashes live in the static buffers until the next call. */
static Cluebus__CheckpointNote *
note_of(struct tree *t, uint64_t size, uint64_t from, const cb_key_t *k)
{
	static Cluebus__CheckpointNote n;
	static char text[CHECKPOINT_NOTE_MAX + 1];
	static merkle_proof_t proof;
	static ProtobufCBinaryData bins[MERKLE_MAX_PROOF];
	checkpoint_t cp;
	size_t len;

	cluebus__checkpoint_note__init(&n);
	memset(&cp, 0, sizeof(cp));
	snprintf(cp.origin, sizeof(cp.origin), "cluebus/log");
	cp.size = size;
	assert_int_equal(merkle_root(&t->f, &t->ms, size, cp.root), 0);
	assert_int_equal(checkpoint_sign(&cp, cp.origin, k, text, sizeof(text), &len), 0);
	proof.len = 0;
	if (from > 0 && from < size)
		assert_int_equal(merkle_prove_consistency(&t->f, &t->ms, from, size, &proof), 0);
	for (size_t i = 0; i < proof.len; i++) {
		bins[i].data = proof.hash[i];
		bins[i].len = MERKLE_HASH_LEN;
	}
	n.note = text;
	n.old_size = from;
	n.consistency = bins;
	n.n_consistency = proof.len;
	return &n;
}

static enum logview_verdict
offer(logview_t *v, Cluebus__CheckpointNote *n)
{
	enum logview_verdict verdict;
	checkpoint_t cp;
	char why[512];

	assert_int_equal(logview_offer(v, n, &cp, &verdict, why, sizeof(why)), 0);
	return verdict;
}

static void
test_the_view_takes_only_consistent_checkpoints_and_raises_the_alarm(void **state)
{
	char dir[] = "/tmp/cb-logview.XXXXXX", path[64];
	struct tree t = { 0 }, forked = { 0 };
	cb_key_t *other;
	logview_t *v;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(key_generate(&other), 0);
	tree_grow(&t, 9, "entry");
	tree_grow(&forked, 4, "entry");
	tree_grow(&forked, 9, "forked");
	assert_int_equal(logview_open(dir, broker, &v), 0);
	assert_null(logview_checkpoint(v));
	assert_int_equal(offer(v, note_of(&t, 3, 0, other)), LOGVIEW_UNVERIFIED);
	assert_int_equal(offer(v, note_of(&t, 3, 0, broker)), LOGVIEW_NEWER);
	assert_int_equal(offer(v, note_of(&t, 3, 3, broker)), LOGVIEW_SAME);
	assert_int_equal(offer(v, note_of(&t, 6, 2, broker)), LOGVIEW_ASK);
	assert_int_equal(offer(v, note_of(&t, 6, 3, broker)), LOGVIEW_NEWER);
	assert_int_equal(logview_checkpoint(v)->size, 6);
	assert_null(logview_alarm(v));
	/* reopened: the held checkpoint survives */
	logview_free(v);
	assert_int_equal(logview_open(dir, broker, &v), 0);
	assert_int_equal(logview_checkpoint(v)->size, 6);
	/* a fork: the forked tree's consistency proof from 6 does not hold */
	assert_int_equal(offer(v, note_of(&forked, 8, 6, broker)), LOGVIEW_ALARM);
	assert_non_null(logview_alarm(v));
	assert_int_equal(logview_checkpoint(v)->size, 6);
	snprintf(path, sizeof(path), "%s/%s", dir, LOGVIEW_ALARM_FILE);
	assert_int_equal(access(path, F_OK), 0);
	logview_free(v);
	/* the alarm survives a restart */
	assert_int_equal(logview_open(dir, broker, &v), 0);
	assert_non_null(logview_alarm(v));
	logview_free(v);
	unlink(path);
	/* a rollback: a smaller tree; and two roots for one size */
	assert_int_equal(logview_open(dir, broker, &v), 0);
	assert_int_equal(offer(v, note_of(&t, 4, 0, broker)), LOGVIEW_ALARM);
	assert_non_null(strstr(logview_alarm(v), "rollback"));
	logview_free(v);
	unlink(path);
	assert_int_equal(logview_open(dir, broker, &v), 0);
	assert_int_equal(offer(v, note_of(&forked, 6, 6, broker)), LOGVIEW_ALARM);
	assert_non_null(strstr(logview_alarm(v), "fork"));
	logview_free(v);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", dir, LOGVIEW_NOTE_FILE);
	unlink(path);
	rmdir(dir);
	key_free(other);
	merkle_memstore_free(t.mem);
	merkle_memstore_free(forked.mem);
}

static void
test_an_inclusion_proof_must_hold_for_the_receipts_entry(void **state)
{
	Cluebus__CheckpointInclusion incl = CLUEBUS__CHECKPOINT_INCLUSION__INIT;
	ProtobufCBinaryData bins[MERKLE_MAX_PROOF];
	uint8_t entry[] = "entry 4", hash[32], other[32];
	struct tree t = { 0 };
	merkle_proof_t proof;
	checkpoint_t cp;
	char why[320];

	(void)state;
	tree_grow(&t, 3, "entry");
	assert_int_equal(merkle_append(&t.f, &t.ms, entry, sizeof(entry) - 1), 0);
	tree_grow(&t, 9, "entry");
	memset(&cp, 0, sizeof(cp));
	cp.size = 9;
	assert_int_equal(merkle_root(&t.f, &t.ms, 9, cp.root), 0);
	assert_int_equal(merkle_prove_inclusion(&t.f, &t.ms, 3, 9, &proof), 0);
	for (size_t i = 0; i < proof.len; i++) {
		bins[i].data = proof.hash[i];
		bins[i].len = MERKLE_HASH_LEN;
	}
	incl.seq = 4;
	incl.entry.data = entry;
	incl.entry.len = sizeof(entry) - 1;
	incl.hashes = bins;
	incl.n_hashes = proof.len;
	assert_int_equal(chain_hash(entry, sizeof(entry) - 1, hash), 0);
	assert_int_equal(logview_check_inclusion(&cp, &incl, hash, why, sizeof(why)), 0);
	/* the receipt names another entry: the log's entry 4 was replaced */
	memcpy(other, hash, sizeof(other));
	other[0] ^= 1;
	assert_int_equal(logview_check_inclusion(&cp, &incl, other, why, sizeof(why)),
	    CB_ECORRUPT);
	assert_non_null(strstr(why, "not the one"));
	/* a proof that does not lead to the root */
	proof.hash[0][5] ^= 1;
	assert_int_equal(logview_check_inclusion(&cp, &incl, hash, why, sizeof(why)),
	    CB_ECORRUPT);
	proof.hash[0][5] ^= 1;
	/* malformed: a seq beyond the tree, a short hash */
	incl.seq = 10;
	assert_int_equal(logview_check_inclusion(&cp, &incl, hash, why, sizeof(why)),
	    CB_EMALFORMED);
	incl.seq = 4;
	bins[0].len = 31;
	assert_int_equal(logview_check_inclusion(&cp, &incl, hash, why, sizeof(why)),
	    CB_EMALFORMED);
	merkle_memstore_free(t.mem);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_genuine_receipt_checks_offline),
		cmocka_unit_test(test_every_malformed_receipt_is_refused_naming_its_field),
		cmocka_unit_test(test_sixty_five_hashes_are_too_many),
		cmocka_unit_test(test_a_receipt_that_does_not_prove_its_entry_is_refused),
		cmocka_unit_test(test_a_receipt_is_refused_with_another_broker_key_or_without_proof),
		cmocka_unit_test(test_the_view_takes_only_consistent_checkpoints_and_raises_the_alarm),
		cmocka_unit_test(test_an_inclusion_proof_must_hold_for_the_receipts_entry),
	};

	return cmocka_run_group_tests_name("receipts", tests, setup, teardown);
}

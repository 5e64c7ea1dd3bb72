/* tests/unit/test_match.c — correlation in the broker (broker/match.c) over a real store:
 * clues of different units (or cases) sharing an identifier token get one match notice to
 * the office and the two units, in the clue's commit; a pair is notified once; a hot token
 * stops at its bound; bundling suggests clues with the same tokens and category to the
 * office; tokens of different key versions never match, and a rotation's new clues do;
 * the staging tier: matches, bounds and pairs across it and the lists, a restart with
 * postings staged, the merge, and an aborted round. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "broker_fixture.h"
#include "match.h"
#include "matchaudit.h"
#include "matchkey.h"
#include "util.h"

#define ID_A	"110105 19491231 002x"
#define ID_B	"11010519491231002X"
#define PHONE	"+86 138 0000 0000"

/* A clue document in the fixture's directory: `category`, `case_ref` (may be ""), and
 * identifiers as JSON (may be NULL). Returns its path (static: one at a time). */
static const char *
doc(struct fixture *fx, const char *category, const char *case_ref, const char *persons,
    const char *identifiers)
{
	static char path[PATH_MAX + 16];
	FILE *f;

	snprintf(path, sizeof(path), "%s/doc.json", fx->dir);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "{\"kind\": \"clue\", \"priority\": \"routine\", \"case_ref\": \"%s\", "
	    "\"clue\": {\"category\": \"%s\", \"jurisdiction\": \"210302\", \"occurred_at\": "
	    "\"2026-01-05T08:00:00+08:00\", \"summary\": \"s\", \"handling\": {\"code\": \"h0\"}, "
	    "\"evaluation\": {\"source_reliability\": \"b\", \"accuracy\": 2}%s%s%s%s}}",
	    case_ref, category, persons != NULL ? ", \"persons\": " : "",
	    persons != NULL ? persons : "", identifiers != NULL ? ", \"identifiers\": " : "",
	    identifiers != NULL ? identifiers : "");
	fclose(f);
	return path;
}

static const char *
person(const char *id)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "[{\"role\": \"victim\", \"id_number\": \"%s\"}]", id);
	return buf;
}

/* Publishes a clue from `unit` and commits; returns its seq. */
static uint64_t
send(struct fixture *fx, const char *path, const char *unit)
{
	assert_int_equal(fixture_send(fx, path, unit, unit, NULL, 0, 0), 0);
	assert_int_equal(fx->nreplies, 1);
	if (fx->reply[0].frame_case != CLUEBUS__FRAME__FRAME_ACCEPTED)
		fail_msg("refused: %s: %s", fx->reply[0].field, fx->reply[0].reason);
	return fx->reply[0].seq;
}

/* The match notices logged after `after`, up to the head: their count, and the first's
 * entry and message in *e / *m when wanted (the caller frees them). */
static size_t
notices(struct fixture *fx, uint64_t after, Cluebus__MatchReason reason,
    Cluebus__LogEntry **first_e, Cluebus__Message **first_m)
{
	uint64_t head = store_head_seq(fx->b.store);
	size_t n = 0;

	if (first_e != NULL)
		*first_e = NULL, *first_m = NULL;
	for (uint64_t seq = after + 1; seq <= head; seq++) {
		Cluebus__LogEntry *e;
		Cluebus__Message *m;

		assert_int_equal(fixture_entry(fx, seq, &e, &m), 0);
		if (e->type == CLUEBUS__ENTRY_TYPE__ENTRY_BROKER && m != NULL &&
		    m->kind == CLUEBUS__KIND__KIND_MATCH && m->match->reason == reason) {
			if (n++ == 0 && first_e != NULL) {
				*first_e = e;
				*first_m = m;
				continue;
			}
		}
		if (m != NULL)
			protobuf_c_message_free_unpacked(&m->base, NULL);
		cluebus__log_entry__free_unpacked(e, NULL);
	}
	return n;
}

static void
free_notice(Cluebus__LogEntry *e, Cluebus__Message *m)
{
	if (m != NULL)
		protobuf_c_message_free_unpacked(&m->base, NULL);
	if (e != NULL)
		cluebus__log_entry__free_unpacked(e, NULL);
}

static int
has(char **list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

static matchkey_t key1 = { 1, { 0x11 } }, key2 = { 2, { 0x22 } };

static int
setup(void **state)
{
	struct fixture *fx;
	int rc = fixture_setup(state);

	if (rc != 0)
		return rc;
	fx = *state;
	fx->match_keys = &key1;
	fx->n_match_keys = 1;
	fx->b.cfg.match_bundle_window_ms = 0;	/* bundling tested on its own */
	return 0;
}

static void
test_two_units_naming_one_id_number_get_one_notice_with_the_office(void **state)
{
	struct fixture *fx = *state;
	Cluebus__LogEntry *e;
	Cluebus__Message *m;
	uint64_t a, b;
	uint8_t token_hash[32];

	a = send(fx, doc(fx, "vagrant", "", person(ID_A), "[{\"type\": \"phone\", \"value\": \""
	    PHONE "\"}]"), "health");
	assert_int_equal(notices(fx, 0, CLUEBUS__MATCH_REASON__MATCH_SHARED_IDENTIFIER, NULL,
	    NULL), 0);
	/* The second clue shares the id number (other spelling) and the phone: one notice. */
	b = send(fx, doc(fx, "school", "", NULL, "[{\"type\": \"resident_id\", \"value\": \""
	    ID_B "\"}, {\"type\": \"phone\", \"value\": \"13800000000\"}]"), "psb");
	assert_int_equal(notices(fx, b, CLUEBUS__MATCH_REASON__MATCH_SHARED_IDENTIFIER, &e, &m),
	    1);
	assert_int_equal(e->seq, b + 1);	/* committed with the clue */
	assert_int_equal(e->n_recipients, 3);
	assert_true(has(e->recipients, 3, "ato") && has(e->recipients, 3, "health") &&
	    has(e->recipients, 3, "psb"));
	assert_string_equal(m->sender, "broker");
	assert_int_equal(m->match->n_message_ids, 2);
	assert_int_equal(m->match->seqs[0], a);
	assert_int_equal(m->match->seqs[1], b);
	assert_string_equal(m->match->units[0], "health");
	assert_string_equal(m->match->units[1], "psb");
	assert_int_equal(m->match->type, CLUEBUS__IDENTIFIER_TYPE__IDENTIFIER_RESIDENT_ID);
	assert_int_equal(m->match->key_version, 1);
	{
		Cluebus__LogEntry *ce;
		Cluebus__Message *cm;

		assert_int_equal(fixture_entry(fx, b, &ce, &cm), 0);
		assert_memory_equal(m->match->message_ids[1].data, cm->message_id.data, 16);
		assert_memory_equal(m->refers_to.data, cm->message_id.data, 16);
		assert_int_equal(matchkey_token_hash(cm->clue->match_tokens[0]->token.data,
		    token_hash), 0);
		assert_memory_equal(m->match->token_hash.data, token_hash, 32);
		free_notice(ce, cm);
	}
	free_notice(e, m);
	/* The same unit again, no case: nothing new for psb's pair, one for health's. */
	b = send(fx, doc(fx, "school", "", person(ID_B), NULL), "psb");
	assert_int_equal(notices(fx, b, CLUEBUS__MATCH_REASON__MATCH_SHARED_IDENTIFIER, &e, &m),
	    1);
	assert_string_equal(m->match->units[0], "health");
	free_notice(e, m);
}

static void
test_one_unit_matches_itself_only_across_cases(void **state)
{
	struct fixture *fx = *state;
	uint64_t s;

	send(fx, doc(fx, "vagrant", "案-1", person(ID_A), NULL), "health");
	s = send(fx, doc(fx, "vagrant", "案-1", person(ID_A), NULL), "health");
	assert_int_equal(notices(fx, s, CLUEBUS__MATCH_REASON__MATCH_SHARED_IDENTIFIER, NULL,
	    NULL), 0);
	s = send(fx, doc(fx, "vagrant", "案-2", person(ID_A), NULL), "health");
	assert_int_equal(notices(fx, s, CLUEBUS__MATCH_REASON__MATCH_SHARED_IDENTIFIER, NULL,
	    NULL), 2);
	s = send(fx, doc(fx, "vagrant", "", person(ID_A), NULL), "health");
	assert_int_equal(notices(fx, s, CLUEBUS__MATCH_REASON__MATCH_SHARED_IDENTIFIER, NULL,
	    NULL), 0);
}

static void
test_a_hot_token_stops_expanding_at_its_bound(void **state)
{
	static const char *const units[] = { "health", "psb", "education", "civil-affairs",
	    "health", "psb" };
	struct fixture *fx = *state;
	const char *phone = "[{\"type\": \"phone\", \"value\": \"024-2222-3333\"}]";
	size_t total = 0;
	json_t *st;

	fx->b.cfg.match_list_max = 3;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		uint64_t s = send(fx, doc(fx, "labor", "", NULL, phone), units[i]);
		size_t n = notices(fx, s, CLUEBUS__MATCH_REASON__MATCH_SHARED_IDENTIFIER, NULL,
		    NULL);

		/* Clue i meets each earlier one (all of other units) while the list has room. */
		assert_int_equal(n, i < 3 ? i : 0);
		total += n;
	}
	assert_int_equal(total, 3);
	assert_non_null(st = match_status(&fx->b));
	assert_int_equal(json_integer_value(json_object_get(st, "entries")), 3);
	assert_int_equal(json_integer_value(json_object_get(st, "tokens")), 1);
	assert_int_equal(json_integer_value(json_object_get(st, "hot_tokens")), 1);
	assert_int_equal(json_integer_value(json_object_get(st, "notices")), 3);
	assert_int_equal(json_array_size(json_object_get(st, "hot")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(st, "hot"), 0), "type")), "phone");
	json_decref(st);
	/* Another identifier in the same clue still matches. */
	send(fx, doc(fx, "labor", "", person(ID_A), phone), "health");
	assert_int_equal(notices(fx, send(fx, doc(fx, "labor", "", person(ID_B), phone), "psb"),
	    CLUEBUS__MATCH_REASON__MATCH_SHARED_IDENTIFIER, NULL, NULL), 1);
}

static void
test_clues_with_the_same_tokens_and_category_are_suggested_as_one_case(void **state)
{
	struct fixture *fx = *state;
	Cluebus__LogEntry *e;
	Cluebus__Message *m;
	uint64_t a, b, c;

	fx->b.cfg.match_bundle_window_ms = 3600 * 1000;
	a = send(fx, doc(fx, "online", "", NULL, "[{\"type\": \"online_handle\", \"value\": "
	    "\"wechat:@Xiao\"}]"), "psb");
	b = send(fx, doc(fx, "online", "", NULL, "[{\"type\": \"online_handle\", \"value\": "
	    "\"WeChat:xiao\"}]"), "psb");
	assert_int_equal(notices(fx, b, CLUEBUS__MATCH_REASON__MATCH_BUNDLE, &e, &m), 1);
	assert_int_equal(e->n_recipients, 1);
	assert_string_equal(e->recipients[0], "ato");
	assert_int_equal(m->match->n_seqs, 2);
	assert_int_equal(m->match->seqs[0], a);
	assert_int_equal(m->match->seqs[1], b);
	free_notice(e, m);
	/* Same unit, no case: no match notice, only the suggestion. */
	assert_int_equal(notices(fx, b, CLUEBUS__MATCH_REASON__MATCH_SHARED_IDENTIFIER, NULL,
	    NULL), 0);
	/* Another category, or more tokens: not the same bundle. */
	c = send(fx, doc(fx, "labor", "", NULL, "[{\"type\": \"online_handle\", \"value\": "
	    "\"wechat:xiao\"}]"), "psb");
	assert_int_equal(notices(fx, c, CLUEBUS__MATCH_REASON__MATCH_BUNDLE, NULL, NULL), 0);
	c = send(fx, doc(fx, "online", "", person(ID_A), "[{\"type\": \"online_handle\", "
	    "\"value\": \"wechat:xiao\"}]"), "psb");
	assert_int_equal(notices(fx, c, CLUEBUS__MATCH_REASON__MATCH_BUNDLE, NULL, NULL), 0);
	/* The third of the bundle names all three. */
	c = send(fx, doc(fx, "online", "", NULL, "[{\"type\": \"online_handle\", \"value\": "
	    "\"wechat:xiao\"}]"), "psb");
	assert_int_equal(notices(fx, c, CLUEBUS__MATCH_REASON__MATCH_BUNDLE, &e, &m), 1);
	assert_int_equal(m->match->n_seqs, 3);
	free_notice(e, m);
	/* Outside the window: a new bundle starts. */
	fx->b.cfg.match_bundle_window_ms = 1;
	nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
	c = send(fx, doc(fx, "online", "", NULL, "[{\"type\": \"online_handle\", \"value\": "
	    "\"wechat:xiao\"}]"), "psb");
	assert_int_equal(notices(fx, c, CLUEBUS__MATCH_REASON__MATCH_BUNDLE, NULL, NULL), 0);
}

static void
test_after_a_key_rotation_new_clues_match_each_other_and_not_the_old(void **state)
{
	struct fixture *fx = *state;
	matchkey_t both[2] = { key2, key1 };
	Cluebus__LogEntry *e;
	Cluebus__Message *m;
	uint64_t old, s;

	old = send(fx, doc(fx, "dna", "", NULL, "[{\"type\": \"dna_sample\", \"value\": "
	    "\"DNA-2024-0001\"}]"), "health");
	fx->match_keys = &key2;
	s = send(fx, doc(fx, "dna", "", NULL, "[{\"type\": \"dna_sample\", \"value\": "
	    "\"dna 2024 0001\"}]"), "psb");
	assert_int_equal(notices(fx, s, CLUEBUS__MATCH_REASON__MATCH_SHARED_IDENTIFIER, NULL,
	    NULL), 0);	/* version 1 and version 2 tokens never meet */
	s = send(fx, doc(fx, "dna", "", NULL, "[{\"type\": \"dna_sample\", \"value\": "
	    "\"DNA20240001\"}]"), "education");
	assert_int_equal(notices(fx, s, CLUEBUS__MATCH_REASON__MATCH_SHARED_IDENTIFIER, &e, &m),
	    1);
	assert_int_equal(m->match->key_version, 2);
	assert_string_equal(m->match->units[0], "psb");
	free_notice(e, m);
	/* An agent that tokenises under the new and the previous key meets both. */
	fx->match_keys = both;
	fx->n_match_keys = 2;
	s = send(fx, doc(fx, "dna", "", NULL, "[{\"type\": \"dna_sample\", \"value\": "
	    "\"DNA20240001\"}]"), "civil-affairs");
	assert_int_equal(notices(fx, s, CLUEBUS__MATCH_REASON__MATCH_SHARED_IDENTIFIER, NULL,
	    NULL), 3);
	assert_int_equal(notices(fx, old, CLUEBUS__MATCH_REASON__MATCH_SHARED_IDENTIFIER, NULL,
	    NULL), 4);
}

static void
test_a_clue_carrying_identifiers_in_clear_is_refused(void **state)
{
	struct fixture *fx = *state;
	const char *path = doc(fx, "vagrant", "", NULL, "[{\"type\": \"phone\", \"value\": "
	    "\"13800000000\"}]");

	fx->n_match_keys = 0;	/* an agent that did not tokenise: the identifier is signed */
	assert_int_equal(fixture_send(fx, path, "health", "health", NULL, 0, 0), 0);
	assert_int_equal(fx->reply[0].frame_case, CLUEBUS__FRAME__FRAME_REJECTED);
	assert_int_equal(fx->reply[0].code, CLUEBUS__REJECT_CODE__REJECT_INVALID_BODY);
	assert_string_equal(fx->reply[0].field, "clue.identifiers");
}

/* The audit explains the notices from the log and catches one the log does not bear out. */
static void
test_the_audit_checks_each_notice_against_the_log(void **state)
{
	struct fixture *fx = *state;
	Cluebus__Message m = CLUEBUS__MESSAGE__INIT;
	Cluebus__Match mt = CLUEBUS__MATCH__INIT;
	Cluebus__LogEntry *ea, *eb;
	Cluebus__Message *ma, *mb;
	ProtobufCBinaryData ids[2];
	uint64_t a, b, seqs[2], bad_seq;
	uint8_t zero[32] = { 0 };
	char *units[2] = { "health", "psb" }, *cases[2] = { "", "" }, *recips[1] = { "ato" };
	json_t *list, *n;
	FILE *devnull;

	a = send(fx, doc(fx, "vagrant", "", person(ID_A), NULL), "health");
	b = send(fx, doc(fx, "vagrant", "", person(ID_B), NULL), "psb");
	assert_int_equal(matchaudit_list(fx->b.store, INT64_MIN, INT64_MAX, &list, &bad_seq), 0);
	assert_int_equal(json_array_size(list), 1);
	n = json_array_get(list, 0);
	assert_true(json_is_true(json_object_get(n, "checked")));
	assert_string_equal(json_string_value(json_object_get(n, "type")), "resident_id");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
	    json_object_get(n, "clues"), 0), "seq")), a);
	json_decref(list);
	/* A notice naming the same clues with a token neither holds. */
	assert_int_equal(fixture_entry(fx, a, &ea, &ma), 0);
	assert_int_equal(fixture_entry(fx, b, &eb, &mb), 0);
	ids[0] = ma->message_id;
	ids[1] = mb->message_id;
	seqs[0] = a;
	seqs[1] = b;
	mt.reason = CLUEBUS__MATCH_REASON__MATCH_SHARED_IDENTIFIER;
	mt.type = CLUEBUS__IDENTIFIER_TYPE__IDENTIFIER_PHONE;
	mt.key_version = 1;
	mt.token_hash.data = zero;
	mt.token_hash.len = 32;
	mt.message_ids = ids;
	mt.n_message_ids = 2;
	mt.seqs = seqs;
	mt.n_seqs = 2;
	mt.units = units;
	mt.n_units = 2;
	mt.case_refs = cases;
	mt.n_case_refs = 2;
	m.kind = CLUEBUS__KIND__KIND_MATCH;
	m.priority = CLUEBUS__PRIORITY__PRIORITY_ROUTINE;
	m.body_case = CLUEBUS__MESSAGE__BODY_MATCH;
	m.match = &mt;
	assert_int_equal(round_append_own(&fx->b, &m, recips, 1, 0), 0);
	fixture_commit(fx);
	free_notice(ea, ma);
	free_notice(eb, mb);
	assert_int_equal(matchaudit_list(fx->b.store, INT64_MIN, INT64_MAX, &list, &bad_seq), 0);
	assert_int_equal(json_array_size(list), 2);
	n = json_array_get(list, 1);
	assert_true(json_is_string(json_object_get(n, "checked")));
	assert_non_null(strstr(json_string_value(json_object_get(n, "checked")),
	    "holds no such token"));
	assert_non_null(devnull = fopen("/dev/null", "w"));
	assert_int_equal(matchaudit_print(list, devnull), 1);
	fclose(devnull);
	json_decref(list);
}

static int
count_one(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	(void)key, (void)klen, (void)val, (void)vlen;
	++*(size_t *)arg;
	return 0;
}

/* The records of the match database whose key starts with `prefix` ('P': postings and
 * hot markers in the lists). */
static size_t
records(struct fixture *fx, const char *prefix)
{
	size_t n = 0;

	assert_int_equal(store_aux_walk(fx->b.store, STORE_MATCH, prefix, 1, 1, count_one, &n),
	    0);
	return n;
}

struct staged_walk {
	uint64_t	 upto;	/* 'M': the 'e' records up to this seq are merged */
	size_t		 n;
};

static int
merged_one(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	(void)key, (void)klen;
	assert_int_equal(vlen, 8);
	((struct staged_walk *)arg)->upto = be64_get(val);
	return 1;
}

/* Counts the tokens of an 'e' record (seq -> entry, n, n tokens) after 'M'. */
static int
staged_one(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct staged_walk *w = arg;
	size_t ul, cl;

	assert_int_equal(klen, 9);
	if (be64_get(key + 1) <= w->upto)
		return 0;
	assert_true(vlen > 29);
	ul = val[26];
	assert_true(29 + ul <= vlen);
	cl = (size_t)val[27 + ul] << 8 | val[28 + ul];
	assert_true(29 + ul + cl < vlen);
	assert_int_equal(vlen, 29 + ul + cl + 1 + val[29 + ul + cl] * (4 + MATCH_TOKEN_LEN));
	w->n += val[29 + ul + cl];
	return 0;
}

/* The staged postings in committed data: the tokens of the clue records ('e') that are
 * not merged into the lists yet. */
static size_t
staged(struct fixture *fx)
{
	struct staged_walk w = { 0 };
	int rc = store_aux_walk(fx->b.store, STORE_MATCH, "M", 1, 1, merged_one, &w);

	assert_int_equal(rc, w.upto != 0);	/* one record or none */
	assert_int_equal(store_aux_walk(fx->b.store, STORE_MATCH, "e", 1, 1, staged_one, &w), 0);
	return w.n;
}

static const char *
phone(const char *number)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "[{\"type\": \"phone\", \"value\": \"%s\"}]", number);
	return buf;
}

static void
test_the_merge_moves_the_staged_postings_into_the_lists_in_one_commit(void **state)
{
	struct fixture *fx = *state;
	json_t *st;

	fx->b.cfg.match_stage_max = 3;
	send(fx, doc(fx, "labor", "", NULL, phone("024-1000-0001")), "health");
	send(fx, doc(fx, "labor", "", NULL, phone("024-1000-0002")), "health");
	send(fx, doc(fx, "labor", "", NULL, phone("024-1000-0003")), "health");
	assert_int_equal(staged(fx), 3);
	assert_int_equal(records(fx, "P"), 0);
	/* The fourth clue's commit merges the three and stages its own. */
	send(fx, doc(fx, "labor", "", NULL, phone("024-1000-0004")), "health");
	assert_int_equal(staged(fx), 1);
	assert_int_equal(records(fx, "P"), 3);
	assert_non_null(st = match_status(&fx->b));
	assert_int_equal(json_integer_value(json_object_get(st, "entries")), 4);
	assert_int_equal(json_integer_value(json_object_get(st, "tokens")), 4);
	json_decref(st);
}

static void
test_a_clue_matches_earlier_clues_in_the_lists_and_in_the_staging_tier(void **state)
{
	struct fixture *fx = *state;
	uint64_t a, c, d;
	Cluebus__LogEntry *e;
	Cluebus__Message *m;

	fx->b.cfg.match_stage_max = 2;
	a = send(fx, doc(fx, "vagrant", "", person(ID_A), NULL), "health");
	send(fx, doc(fx, "labor", "", NULL, phone("024-1000-0001")), "health");
	/* c's commit merges a's posting into its list; c's own is staged. */
	c = send(fx, doc(fx, "vagrant", "", person(ID_B), NULL), "education");
	assert_int_equal(staged(fx), 1);
	assert_int_equal(notices(fx, c, CLUEBUS__MATCH_REASON__MATCH_SHARED_IDENTIFIER, &e, &m),
	    1);
	assert_int_equal(m->match->seqs[0], a);
	free_notice(e, m);
	/* d meets a in the list and c in the staging tier. */
	d = send(fx, doc(fx, "vagrant", "", person(ID_A), NULL), "civil-affairs");
	assert_int_equal(notices(fx, d, CLUEBUS__MATCH_REASON__MATCH_SHARED_IDENTIFIER, NULL,
	    NULL), 2);
}

static void
test_a_hot_bound_is_reached_across_the_two_tiers(void **state)
{
	static const char *const units[] = { "health", "psb", "education", "civil-affairs",
	    "health", "psb" };
	struct fixture *fx = *state;
	size_t total = 0;
	json_t *st;

	fx->b.cfg.match_list_max = 3;
	fx->b.cfg.match_stage_max = 2;	/* the list is partly merged, partly staged */
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		uint64_t s = send(fx, doc(fx, "labor", "", NULL, phone("024-2222-3333")), units[i]);
		size_t n = notices(fx, s, CLUEBUS__MATCH_REASON__MATCH_SHARED_IDENTIFIER, NULL,
		    NULL);

		assert_int_equal(n, i < 3 ? i : 0);
		total += n;
		if (i == 2)	/* two merged, the third staged */
			assert_int_equal(staged(fx), 1);
	}
	assert_int_equal(total, 3);
	assert_non_null(st = match_status(&fx->b));
	assert_int_equal(json_integer_value(json_object_get(st, "entries")), 3);
	assert_int_equal(json_integer_value(json_object_get(st, "hot_tokens")), 1);
	json_decref(st);
	/* The marker and the bound hold after everything is merged. */
	fx->b.cfg.match_stage_max = 1;
	send(fx, doc(fx, "labor", "", NULL, phone("024-9999-0000")), "health");
	assert_int_equal(notices(fx, send(fx, doc(fx, "labor", "", NULL,
	    phone("024-2222-3333")), "education"), CLUEBUS__MATCH_REASON__MATCH_SHARED_IDENTIFIER,
	    NULL, NULL), 0);
	assert_int_equal(staged(fx), 0);
	assert_int_equal(records(fx, "P"), 5);	/* 3 postings, the marker, the filler */
}

static void
test_a_pair_is_notified_once_when_both_tiers_hold_its_tokens(void **state)
{
	struct fixture *fx = *state;
	const char *both = "[{\"type\": \"phone\", \"value\": \"" PHONE "\"}]";
	uint64_t a, d, e_seq;

	fx->b.cfg.match_stage_max = 1;
	a = send(fx, doc(fx, "vagrant", "", person(ID_A), both), "health");
	/* This commit merges a's two postings into their lists. */
	send(fx, doc(fx, "labor", "", NULL, phone("024-1000-0001")), "health");
	fx->b.cfg.match_stage_max = 100;
	d = send(fx, doc(fx, "vagrant", "", person(ID_B), NULL), "psb");
	assert_int_equal(notices(fx, d, CLUEBUS__MATCH_REASON__MATCH_SHARED_IDENTIFIER, NULL,
	    NULL), 1);
	assert_true(staged(fx) >= 2);
	/* e shares both tokens with a (in the lists) and one with d (staged): each pair once. */
	e_seq = send(fx, doc(fx, "vagrant", "", person(ID_A), both), "education");
	assert_int_equal(notices(fx, e_seq, CLUEBUS__MATCH_REASON__MATCH_SHARED_IDENTIFIER, NULL,
	    NULL), 2);
	/* Merged now, the same clues again from e's unit: the pairs are new only for f. */
	fx->b.cfg.match_stage_max = 1;
	assert_int_equal(notices(fx, send(fx, doc(fx, "vagrant", "", person(ID_A), both),
	    "civil-affairs"), CLUEBUS__MATCH_REASON__MATCH_SHARED_IDENTIFIER, NULL, NULL), 3);
	assert_int_equal(staged(fx), 2);	/* f's two postings */
	(void)a;
}

static void
test_a_restart_rebuilds_the_staging_tier_from_the_store(void **state)
{
	struct fixture *fx = *state;
	Cluebus__LogEntry *e;
	Cluebus__Message *m;
	uint64_t a, b;

	a = send(fx, doc(fx, "vagrant", "", person(ID_A), NULL), "health");
	assert_int_equal(staged(fx), 1);
	fixture_down(fx);
	assert_int_equal(fixture_up(fx), 0);
	fx->b.cfg.match_bundle_window_ms = 0;
	b = send(fx, doc(fx, "vagrant", "", person(ID_B), NULL), "psb");
	assert_int_equal(notices(fx, b, CLUEBUS__MATCH_REASON__MATCH_SHARED_IDENTIFIER, &e, &m),
	    1);
	assert_int_equal(m->match->seqs[0], a);
	free_notice(e, m);
	/* And again with both merged before the restart's first clue. */
	fixture_down(fx);
	assert_int_equal(fixture_up(fx), 0);
	fx->b.cfg.match_bundle_window_ms = 0;
	fx->b.cfg.match_stage_max = 1;
	b = send(fx, doc(fx, "vagrant", "", person(ID_A), NULL), "education");
	assert_int_equal(notices(fx, b, CLUEBUS__MATCH_REASON__MATCH_SHARED_IDENTIFIER, NULL,
	    NULL), 2);
	assert_int_equal(staged(fx), 1);
	assert_int_equal(records(fx, "P"), 2);
}

static void
test_an_aborted_round_with_a_merge_leaves_the_staging_tier_whole(void **state)
{
	struct fixture *fx = *state;
	struct fixture_frame fr;
	Cluebus__LogEntry *e;
	Cluebus__Message *m;
	uint64_t a, c, d;

	fx->b.cfg.match_stage_max = 2;
	a = send(fx, doc(fx, "vagrant", "", person(ID_A), NULL), "health");
	send(fx, doc(fx, "labor", "", NULL, phone("024-1000-0001")), "health");
	/* b's round merges, matches a, stages b's posting, then fails: none of it stays. */
	assert_int_equal(fixture_frame(fx, doc(fx, "vagrant", "", person(ID_B), NULL), "psb",
	    NULL, 0, 0, &fr), 0);
	fixture_publish(fx, "psb", &fr);
	fx->b.round_failed = 1;
	fixture_commit(fx);
	fixture_frame_free(&fr);
	assert_int_equal(fx->reply[0].frame_case, CLUEBUS__FRAME__FRAME_REJECTED);
	assert_int_equal(staged(fx), 2);
	assert_int_equal(records(fx, "P"), 0);
	/* c gets b's seq: it meets a (still staged), not b. */
	fx->b.cfg.match_stage_max = 100;
	c = send(fx, doc(fx, "vagrant", "", person(ID_A), NULL), "education");
	assert_int_equal(notices(fx, c, CLUEBUS__MATCH_REASON__MATCH_SHARED_IDENTIFIER, &e, &m),
	    1);
	assert_int_equal(m->match->seqs[0], a);
	free_notice(e, m);
	/* d meets a and c, and c counts once towards the bound though the hash names its seq
	 * twice (for b too): with three entries the token would be hot. */
	fx->b.cfg.match_list_max = 3;
	d = send(fx, doc(fx, "vagrant", "", person(ID_A), NULL), "civil-affairs");
	assert_int_equal(notices(fx, d, CLUEBUS__MATCH_REASON__MATCH_SHARED_IDENTIFIER, NULL,
	    NULL), 2);
}

/* Rewrites clue `seq`'s 'e' record (entry, one token) as the older layout kept it: a
 * posting with its entry inline ('P'), or a staged posting ('Q' seq idx -> token entry). */
static void
to_older_layout(struct fixture *fx, uint64_t seq, int staged_posting)
{
	uint8_t ekey[9] = { 'e' }, key[1 + 4 + MATCH_TOKEN_LEN + 8], val[512];
	const uint8_t *rec;
	size_t len, ul, cl, elen;
	store_txn_t *t;

	be64_put(ekey + 1, seq);
	assert_int_equal(store_begin(fx->b.store, &t), 0);
	assert_int_equal(store_txn_aux_get(t, STORE_MATCH, ekey, sizeof(ekey), &rec, &len), 0);
	ul = rec[26];
	cl = (size_t)rec[27 + ul] << 8 | rec[28 + ul];
	elen = 29 + ul + cl;
	assert_int_equal(rec[elen], 1);
	assert_int_equal(len, elen + 1 + 4 + MATCH_TOKEN_LEN);
	if (staged_posting) {
		key[0] = 'Q';
		be64_put(key + 1, seq);
		key[9] = 0;
		memcpy(val, rec + elen + 1, 4 + MATCH_TOKEN_LEN);
		memcpy(val + 4 + MATCH_TOKEN_LEN, rec, elen);
		assert_int_equal(store_txn_aux_put(t, STORE_MATCH, key, 10, val,
		    4 + MATCH_TOKEN_LEN + elen), 0);
	} else {
		key[0] = 'P';
		memcpy(key + 1, rec + elen + 1, 4 + MATCH_TOKEN_LEN);
		be64_put(key + 1 + 4 + MATCH_TOKEN_LEN, seq);
		memcpy(val, rec, elen);
		assert_int_equal(store_txn_aux_put(t, STORE_MATCH, key, sizeof(key), val, elen),
		    0);
	}
	assert_int_equal(store_txn_aux_del(t, STORE_MATCH, ekey, sizeof(ekey)), 0);
	assert_int_equal(store_txn_commit(t), 0);
}

static void
test_a_data_directory_of_the_older_layout_still_matches(void **state)
{
	struct fixture *fx = *state;
	const char *both = "[{\"type\": \"phone\", \"value\": \"" PHONE "\"}]";
	Cluebus__LogEntry *e;
	Cluebus__Message *m;
	uint64_t a, c, d;

	a = send(fx, doc(fx, "vagrant", "", person(ID_A), NULL), "health");
	c = send(fx, doc(fx, "labor", "", NULL, both), "health");
	to_older_layout(fx, a, 0);	/* merged, its entry inline */
	to_older_layout(fx, c, 1);	/* staged */
	assert_int_equal(records(fx, "Q"), 1);
	assert_int_equal(records(fx, "e"), 0);
	fixture_down(fx);		/* the older broker stops, this one starts */
	assert_int_equal(fixture_up(fx), 0);
	fx->b.cfg.match_bundle_window_ms = 0;
	/* d meets a in its list and c in the staging tier; c's record is converted. */
	d = send(fx, doc(fx, "vagrant", "", person(ID_B), both), "psb");
	assert_int_equal(notices(fx, d, CLUEBUS__MATCH_REASON__MATCH_SHARED_IDENTIFIER, &e, &m),
	    2);
	assert_true(m->match->seqs[0] == a || m->match->seqs[0] == c);
	assert_string_equal(m->match->units[0], "health");
	free_notice(e, m);
	assert_int_equal(records(fx, "Q"), 0);
	assert_int_equal(staged(fx), 3);	/* c's, and d's two */
	/* Merged now, all three meet a fourth clue, from the lists. */
	fx->b.cfg.match_stage_max = 1;
	assert_int_equal(notices(fx, send(fx, doc(fx, "vagrant", "", person(ID_A), both),
	    "education"), CLUEBUS__MATCH_REASON__MATCH_SHARED_IDENTIFIER, NULL, NULL), 3);
	assert_int_equal(records(fx, "P"), 4);	/* a's inline, c's and d's two */
}

/* The status's figures after the committed rounds. */
static json_int_t
figure(struct fixture *fx, const char *name)
{
	json_t *st = match_status(&fx->b);
	json_int_t v;

	assert_non_null(st);
	v = json_integer_value(json_object_get(st, name));
	json_decref(st);
	return v;
}

static void
test_the_figures_are_written_once_per_round_and_not_by_an_aborted_one(void **state)
{
	struct fixture *fx = *state;
	struct fixture_frame f1, f2;

	/* Two clues in one round: both counted. */
	assert_int_equal(fixture_frame(fx, doc(fx, "labor", "", NULL, phone("024-3000-0001")),
	    "health", NULL, 0, 0, &f1), 0);
	assert_int_equal(fixture_frame(fx, doc(fx, "labor", "", NULL, phone("024-3000-0001")),
	    "psb", NULL, 0, 0, &f2), 0);
	fixture_publish(fx, "health", &f1);
	fixture_publish(fx, "psb", &f2);
	fixture_commit(fx);
	fixture_frame_free(&f1);
	fixture_frame_free(&f2);
	assert_int_equal(fx->nreplies, 2);
	assert_int_equal(figure(fx, "entries"), 2);
	assert_int_equal(figure(fx, "tokens"), 1);
	assert_int_equal(figure(fx, "notices"), 1);
	/* An aborted round leaves them as they were, and the next round counts from there. */
	assert_int_equal(fixture_frame(fx, doc(fx, "labor", "", NULL, phone("024-3000-0001")),
	    "education", NULL, 0, 0, &f1), 0);
	fixture_publish(fx, "education", &f1);
	fx->b.round_failed = 1;
	fixture_commit(fx);
	fixture_frame_free(&f1);
	assert_int_equal(figure(fx, "entries"), 2);
	assert_int_equal(figure(fx, "notices"), 1);
	send(fx, doc(fx, "labor", "", NULL, phone("024-3000-0002")), "education");
	assert_int_equal(figure(fx, "entries"), 3);
	assert_int_equal(figure(fx, "tokens"), 2);
	assert_int_equal(figure(fx, "notices"), 1);
}

static void
test_a_merge_spread_over_rounds_keeps_every_posting_in_one_tier(void **state)
{
	struct fixture *fx = *state;
	struct fixture_frame fr;
	uint64_t a;

	fx->b.cfg.match_stage_max = 4;
	fx->b.cfg.match_merge_slice = 2;
	a = send(fx, doc(fx, "vagrant", "", person(ID_A), NULL), "health");
	for (int i = 1; i <= 3; i++) {
		char number[32];

		snprintf(number, sizeof(number), "024-4000-000%d", i);
		send(fx, doc(fx, "labor", "", NULL, phone(number)), "health");
	}
	assert_int_equal(staged(fx), 4);
	/* Each round merges two: the first two rounds put the four staged ones. */
	send(fx, doc(fx, "labor", "", NULL, phone("024-4000-0005")), "health");
	assert_int_equal(records(fx, "P"), 2);
	/* A round that fails undoes its slice; the next one does it again. */
	assert_int_equal(fixture_frame(fx, doc(fx, "labor", "", NULL, phone("024-4000-0006")),
	    "psb", NULL, 0, 0, &fr), 0);
	fixture_publish(fx, "psb", &fr);
	fx->b.round_failed = 1;
	fixture_commit(fx);
	fixture_frame_free(&fr);
	assert_int_equal(records(fx, "P"), 2);
	/* Whatever half a is in, a clue naming its id number meets it once. */
	assert_int_equal(notices(fx, send(fx, doc(fx, "vagrant", "", person(ID_B), NULL), "psb"),
	    CLUEBUS__MATCH_REASON__MATCH_SHARED_IDENTIFIER, NULL, NULL), 1);
	assert_int_equal(records(fx, "P"), 4);
	assert_int_equal(staged(fx), 2);	/* the last two clues' */
	(void)a;
}

static void
test_a_restart_in_the_middle_of_a_merge_finishes_it(void **state)
{
	struct fixture *fx = *state;
	uint64_t a, d;

	fx->b.cfg.match_stage_max = 3;
	fx->b.cfg.match_merge_slice = 1;
	a = send(fx, doc(fx, "vagrant", "", person(ID_A), NULL), "health");
	send(fx, doc(fx, "labor", "", NULL, phone("024-5000-0001")), "health");
	send(fx, doc(fx, "labor", "", NULL, phone("024-5000-0002")), "health");
	send(fx, doc(fx, "labor", "", NULL, phone("024-5000-0003")), "health");
	assert_int_equal(records(fx, "P"), 1);	/* one of three, then a restart */
	fixture_down(fx);
	assert_int_equal(fixture_up(fx), 0);
	fx->b.cfg.match_bundle_window_ms = 0;
	fx->b.cfg.match_stage_max = 3;
	fx->b.cfg.match_merge_slice = 1;
	d = send(fx, doc(fx, "vagrant", "", person(ID_B), NULL), "education");
	assert_int_equal(notices(fx, d, CLUEBUS__MATCH_REASON__MATCH_SHARED_IDENTIFIER, NULL,
	    NULL), 1);
	assert_int_equal(records(fx, "P"), 2);
	send(fx, doc(fx, "labor", "", NULL, phone("024-5000-0004")), "health");
	assert_int_equal(records(fx, "P"), 3);	/* the merge is done */
	assert_int_equal(staged(fx), 3);	/* the clues after the three */
	assert_int_equal(notices(fx, send(fx, doc(fx, "vagrant", "", person(ID_A), NULL),
	    "civil-affairs"), CLUEBUS__MATCH_REASON__MATCH_SHARED_IDENTIFIER, NULL, NULL), 2);
	(void)a;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_two_units_naming_one_id_number_get_one_notice_with_the_office, setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(test_one_unit_matches_itself_only_across_cases,
		    setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_a_hot_token_stops_expanding_at_its_bound,
		    setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_clues_with_the_same_tokens_and_category_are_suggested_as_one_case,
		    setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_after_a_key_rotation_new_clues_match_each_other_and_not_the_old, setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(test_a_clue_carrying_identifiers_in_clear_is_refused,
		    setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_the_audit_checks_each_notice_against_the_log,
		    setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_the_merge_moves_the_staged_postings_into_the_lists_in_one_commit, setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_clue_matches_earlier_clues_in_the_lists_and_in_the_staging_tier, setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(test_a_hot_bound_is_reached_across_the_two_tiers,
		    setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_pair_is_notified_once_when_both_tiers_hold_its_tokens, setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_restart_rebuilds_the_staging_tier_from_the_store, setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_an_aborted_round_with_a_merge_leaves_the_staging_tier_whole, setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(test_a_data_directory_of_the_older_layout_still_matches,
		    setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_the_figures_are_written_once_per_round_and_not_by_an_aborted_one, setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_merge_spread_over_rounds_keeps_every_posting_in_one_tier, setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(test_a_restart_in_the_middle_of_a_merge_finishes_it,
		    setup, fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

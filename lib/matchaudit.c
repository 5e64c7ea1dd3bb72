/* lib/matchaudit.c — the match notices of a log, explained and checked (see matchaudit.h).
 *
 * One walk over the log picks the broker's `match` entries in the period; each clue a
 * notice names is then read back by its seq and compared with the notice, so the
 * explanation printed is the log's, not the notice's claim. Nothing here holds a key or
 * reads a sealed field: tokens are compared by their hashes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cluebus/err.h"
#include "envelope.h"
#include "identifiers.h"
#include "intake.h"
#include "matchaudit.h"
#include "matchkey.h"
#include "util.h"

static const char *const reason_names[] = { "unspecified", "shared_identifier", "bundle" };

struct walk {
	store_t		*s;
	int64_t		 from_ms, to_ms;
	json_t		*list;
	uint64_t	 bad_seq;
	int		 rc;
};

/* Reads log[seq] and opens its message. Returns 0 with *e and *m (free both), or an error
 * with `why` set. */
static int
entry_message(store_t *s, uint64_t seq, Cluebus__LogEntry **e, Cluebus__Message **m,
    const char **why)
{
	const uint8_t *hash;
	cb_error_t err;
	uint8_t *val;
	size_t len;
	int rc;

	*e = NULL;
	*m = NULL;
	if ((rc = store_get(s, seq, &val, &len)) != 0) {
		*why = rc == CB_ENOTFOUND ? "no such entry" : "cannot read the entry";
		return rc;
	}
	rc = chain_decode(val, len, &hash, e);
	free(val);
	if (rc != 0) {
		*why = "the entry does not decode";
		return CB_ECORRUPT;
	}
	if ((*e)->envelope == NULL || envelope_open((*e)->envelope, m, &err) != 0) {
		*why = "the entry holds no message";
		return CB_ECORRUPT;
	}
	return 0;
}

/* Whether clue `c` holds a token of the notice's type and key version hashing to its hash. */
static int
clue_has_token(const Cluebus__Clue *c, const Cluebus__Match *mt)
{
	uint8_t h[32];

	for (size_t i = 0; i < c->n_match_tokens; i++) {
		const Cluebus__MatchToken *t = c->match_tokens[i];

		if (t->type == mt->type && t->key_version == mt->key_version &&
		    t->token.len == MATCH_TOKEN_LEN && matchkey_token_hash(t->token.data, h) == 0 &&
		    mt->token_hash.len == 32 && CRYPTO_memcmp(h, mt->token_hash.data, 32) == 0)
			return 1;
	}
	return 0;
}

/* The notice's clue i as the log has it; the first disagreement goes to `why` (WHY_MAX
 * bytes) unless it holds one already. */
#define WHY_MAX	160
static json_t *
clue_json(store_t *s, const Cluebus__Match *mt, size_t i, char *why)
{
	Cluebus__LogEntry *e;
	Cluebus__Message *m;
	char id[CB_MESSAGE_ID_HEX_SIZE], when[40];
	uint8_t set[32];
	const char *fail = NULL;
	json_t *o;

	hex_encode(mt->message_ids[i].data, MESSAGE_ID_LEN, id);
	o = json_pack("{s:I, s:s, s:s, s:s}", "seq", (json_int_t)mt->seqs[i], "message_id", id,
	    "unit", mt->units[i], "case_ref", mt->case_refs[i]);
	if (o == NULL)
		return NULL;
	if (entry_message(s, mt->seqs[i], &e, &m, &fail) == 0) {
		clock_format_rfc3339(e->time_ms, when, sizeof(when));
		json_object_set_new(o, "time", json_string(when));
		if (m->body_case != CLUEBUS__MESSAGE__BODY_CLUE)
			fail = "the entry is not a clue";
		else {
			json_object_set_new(o, "category",
			    json_string(intake_category_name(m->clue->category)));
			if (memcmp(m->message_id.data, mt->message_ids[i].data, MESSAGE_ID_LEN) != 0)
				fail = "the entry has another message id";
			else if (strcmp(m->sender, mt->units[i]) != 0)
				fail = "the clue is from another unit";
			else if (strcmp(m->case_ref, mt->case_refs[i]) != 0)
				fail = "the clue has another case reference";
			else if (mt->reason == CLUEBUS__MATCH_REASON__MATCH_BUNDLE ?
			    matchkey_token_set_hash(m->clue, set) != 0 || mt->token_hash.len != 32 ||
			    memcmp(set, mt->token_hash.data, 32) != 0 :
			    !clue_has_token(m->clue, mt))
				fail = "the clue holds no such token";
		}
	}
	if (fail != NULL && why[0] == '\0')
		snprintf(why, WHY_MAX, "clue %zu (seq %llu): %s", i + 1,
		    (unsigned long long)mt->seqs[i], fail);
	if (m != NULL)
		protobuf_c_message_free_unpacked(&m->base, NULL);
	if (e != NULL)
		cluebus__log_entry__free_unpacked(e, NULL);
	return o;
}

static json_t *
notice_json(store_t *s, uint64_t seq, const Cluebus__LogEntry *e, const Cluebus__Match *mt)
{
	char when[40], hash[65] = "", why[WHY_MAX] = "";
	json_t *o, *clues, *recips;

	clock_format_rfc3339(e->time_ms, when, sizeof(when));
	if (mt->token_hash.len == 32)
		hex_encode(mt->token_hash.data, 32, hash);
	o = json_pack("{s:I, s:s, s:s, s:s, s:I, s:s}", "seq", (json_int_t)seq, "time", when,
	    "reason", (unsigned)mt->reason < 3 ? reason_names[mt->reason] : "unknown", "type",
	    identifier_type_name(mt->type), "key_version", (json_int_t)mt->key_version,
	    "token_hash", hash);
	if (o == NULL || (clues = json_array()) == NULL || (recips = json_array()) == NULL) {
		json_decref(o);
		return NULL;
	}
	json_object_set_new(o, "clues", clues);
	json_object_set_new(o, "recipients", recips);
	for (size_t i = 0; i < e->n_recipients; i++)
		json_array_append_new(recips, json_string(e->recipients[i]));
	for (size_t i = 0; i < mt->n_message_ids; i++) {
		json_t *c = clue_json(s, mt, i, why);

		if (c == NULL || json_array_append_new(clues, c) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	json_object_set_new(o, "checked", why[0] == '\0' ? json_true() : json_string(why));
	return o;
}

static int
walk_one(void *arg, uint64_t seq, const uint8_t *val, size_t len)
{
	struct walk *w = arg;
	Cluebus__LogEntry *e = NULL;
	Cluebus__Message *m = NULL;
	const uint8_t *hash;
	cb_error_t err;
	json_t *o;
	int rc = 0;

	if (chain_decode(val, len, &hash, &e) != 0) {
		w->bad_seq = seq;
		return w->rc = CB_ECORRUPT;
	}
	if (e->type == CLUEBUS__ENTRY_TYPE__ENTRY_BROKER && e->time_ms >= w->from_ms &&
	    e->time_ms < w->to_ms && e->envelope != NULL &&
	    envelope_open(e->envelope, &m, &err) == 0 &&
	    m->body_case == CLUEBUS__MESSAGE__BODY_MATCH) {
		if ((o = notice_json(w->s, seq, e, m->match)) == NULL ||
		    json_array_append_new(w->list, o) != 0)
			rc = w->rc = CB_ENOMEM;
	}
	if (m != NULL)
		protobuf_c_message_free_unpacked(&m->base, NULL);
	cluebus__log_entry__free_unpacked(e, NULL);
	return rc;
}

int
matchaudit_list(store_t *s, int64_t from_ms, int64_t to_ms, json_t **out, uint64_t *bad_seq)
{
	struct walk w = { .s = s, .from_ms = from_ms, .to_ms = to_ms };
	int rc;

	*out = NULL;
	*bad_seq = 0;
	if ((w.list = json_array()) == NULL)
		return CB_ENOMEM;
	rc = store_walk(s, 1, walk_one, &w);
	if (w.rc != 0)
		rc = w.rc;
	if (rc != 0) {
		*bad_seq = w.bad_seq;
		json_decref(w.list);
		return rc;
	}
	*out = w.list;
	return 0;
}

static const char *
jstr(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v != NULL ? v : "";
}

size_t
matchaudit_print(const json_t *list, FILE *f)
{
	const json_t *n, *c, *r;
	size_t i, j, bad = 0;

	json_array_foreach(list, i, n) {
		const json_t *checked = json_object_get(n, "checked");
		int bundle = strcmp(jstr(n, "reason"), "bundle") == 0;

		fprintf(f, "seq %lld %s  %s\n", (long long)json_integer_value(json_object_get(n,
		    "seq")), jstr(n, "time"), bundle ? "bundling suggestion: clues with the same "
		    "identifiers and category, suggested as one case" :
		    "match: two clues name the same identifier");
		if (!bundle)
			fprintf(f, "  identifier  %s (key version %lld, token hash %.16s)\n",
			    jstr(n, "type"), (long long)json_integer_value(json_object_get(n,
			    "key_version")), jstr(n, "token_hash"));
		json_array_foreach(json_object_get(n, "clues"), j, c)
			fprintf(f, "  clue        seq %lld %s from %s, case %s, %s, %s\n",
			    (long long)json_integer_value(json_object_get(c, "seq")),
			    jstr(c, "message_id"), jstr(c, "unit"),
			    jstr(c, "case_ref")[0] != '\0' ? jstr(c, "case_ref") : "-",
			    jstr(c, "category")[0] != '\0' ? jstr(c, "category") : "?",
			    jstr(c, "time"));
		fprintf(f, "  notified   ");
		json_array_foreach(json_object_get(n, "recipients"), j, r)
			fprintf(f, " %s", json_string_value(r));
		fputc('\n', f);
		if (json_is_true(checked)) {
			fprintf(f, "  checked     the log holds these clues with this token\n");
		} else {
			fprintf(f, "  MISMATCH    %s\n", json_string_value(checked));
			bad++;
		}
	}
	fprintf(f, "%zu notice%s\n", json_array_size(list), json_array_size(list) == 1 ? "" :
	    "s");
	return bad;
}

/* tests/unit/test_identifiers.c — identifier normalisation and GB 11643 validation
 * (lib/identifiers.c), blind tokens and the correlation key file (lib/matchkey.c): tables
 * of good inputs with their normal forms and of bad inputs with the reason's gist. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cluebus/err.h"
#include "identifiers.h"
#include "intake.h"
#include "matchkey.h"

#define RID	CLUEBUS__IDENTIFIER_TYPE__IDENTIFIER_RESIDENT_ID
#define PHONE	CLUEBUS__IDENTIFIER_TYPE__IDENTIFIER_PHONE
#define PASS	CLUEBUS__IDENTIFIER_TYPE__IDENTIFIER_PASSPORT
#define BANK	CLUEBUS__IDENTIFIER_TYPE__IDENTIFIER_BANK_ACCOUNT
#define HANDLE	CLUEBUS__IDENTIFIER_TYPE__IDENTIFIER_ONLINE_HANDLE
#define PLATE	CLUEBUS__IDENTIFIER_TYPE__IDENTIFIER_VEHICLE_PLATE
#define DNA	CLUEBUS__IDENTIFIER_TYPE__IDENTIFIER_DNA_SAMPLE
#define NDOB	CLUEBUS__IDENTIFIER_TYPE__IDENTIFIER_NAME_DOB

struct good {
	Cluebus__IdentifierType	 type;
	const char		*in, *out;
};

static const struct good goods[] = {
	{ RID, "11010519491231002X", "11010519491231002X" },
	{ RID, "11010519491231002x", "11010519491231002X" },
	{ RID, "110105 19491231 002x", "11010519491231002X" },
	{ RID, "110105-1949-1231-002X", "11010519491231002X" },
	{ RID, "210302198802290017", "210302198802290017" },	/* 29 February, leap year */
	{ RID, "\xe3\x80\x80" "210302201503040020", "210302201503040020" },
	{ PHONE, "13800000000", "13800000000" },
	{ PHONE, "+86 138-0000-0000", "13800000000" },
	{ PHONE, "0086 138 0000 0000", "13800000000" },
	{ PHONE, "8613800000000", "13800000000" },
	{ PHONE, "(024) 2222.3333", "02422223333" },
	{ PHONE, "+86 24 2222 3333", "02422223333" },
	{ PHONE, "+44 20 7946 0000", "+442079460000" },
	{ PHONE, "0044 20 7946 0000", "+442079460000" },
	{ PASS, "e 1234 5678", "E12345678" },
	{ PASS, "G-12345678", "G12345678" },
	{ BANK, "6222 0202 0000 1234 567", "6222020200001234567" },
	{ HANDLE, "  WeChat:@Xiao_Ming ", "wechat:xiao_ming" },
	{ HANDLE, "@LiLi", "lili" },
	{ HANDLE, "qq:12345", "qq:12345" },
	{ PLATE, "辽C·12345", "辽C12345" },
	{ PLATE, "辽c 12345", "辽C12345" },
	{ PLATE, "辽C-D1234", "辽CD1234" },
	{ DNA, "dna-2024-000123", "DNA2024000123" },
	{ NDOB, "张 三 1990-01-01", "张三|19900101" },
	{ NDOB, "张三 19900101", "张三|19900101" },
	{ NDOB, "阿卜杜·热合曼 2001-02-03", "阿卜杜热合曼|20010203" },
	{ NDOB, "Li Lei 1985-12-31", "lilei|19851231" },
};

struct bad {
	Cluebus__IdentifierType	 type;
	const char		*in, *why;	/* a part of the reason */
};

static const struct bad bads[] = {
	{ RID, "11010519491231002", "18 characters" },
	{ RID, "1101051949123100201", "18 characters" },
	{ RID, "11010519491231002Y", "digit or X" },
	{ RID, "1101051949123100X2", "characters 1-17" },
	{ RID, "110105194912310021", "check digit" },
	{ RID, "110105194913310021", "no such month" },
	{ RID, "210302198902290012", "no such day" },	/* 1989 is not a leap year */
	{ RID, "210302200002300010", "no such day" },
	{ RID, "210302180001010010", "before 1900" },
	{ RID, "210302299901010019", "future" },
	{ RID, "010302199001011230", "region code" },
	{ RID, "2103021990\x01" "01011238", "control character" },
	{ RID, "", "18 characters" },
	{ PHONE, "138-0000-000a", "only digits" },
	{ PHONE, "1234", "5 to 20 digits" },
	{ PHONE, "123456789012345678901", "5 to 20 digits" },
	{ PASS, "E123", "5 to 20" },
	{ PASS, "E12#45678", "letters and digits" },
	{ BANK, "6222 0202 ABCD", "only digits" },
	{ BANK, "1234567", "8 to 34" },
	{ HANDLE, "   ", "empty" },
	{ HANDLE, "wechat:@", "empty" },
	{ PLATE, "辽C!2345", "letters, digits" },
	{ PLATE, "辽C", "5 to 16" },
	{ DNA, "AB", "4 to 64" },
	{ NDOB, "张三", "NAME YYYY-MM-DD" },
	{ NDOB, " 1990-01-01", "name is empty" },
	{ NDOB, "张三 1990-13-01", "no such month" },
	{ NDOB, "张三 1990-1-1", "YYYY-MM-DD" },
	{ (Cluebus__IdentifierType)99, "x", "unknown" },
};

static void
test_good_identifiers_normalise_and_stay_normal(void **state)
{
	char out[IDENTIFIER_MAX + 1], again[IDENTIFIER_MAX + 1], why[IDENTIFIER_REASON_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
		if (identifier_normalize(goods[i].type, goods[i].in, out, why) != 0)
			fail_msg("goods[%zu] %s refused: %s", i, goods[i].in, why);
		if (strcmp(out, goods[i].out) != 0)
			fail_msg("goods[%zu] %s -> %s, expected %s", i, goods[i].in, out,
			    goods[i].out);
		assert_int_equal(identifier_normalize(goods[i].type, out, again, why), 0);
		assert_string_equal(again, out);
	}
}

static void
test_bad_identifiers_are_refused_with_a_reason_that_does_not_quote_them(void **state)
{
	char out[IDENTIFIER_MAX + 1], why[IDENTIFIER_REASON_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		if (identifier_normalize(bads[i].type, bads[i].in, out, why) != CB_EMALFORMED)
			fail_msg("bads[%zu] %s accepted as %s", i, bads[i].in, out);
		if (strstr(why, bads[i].why) == NULL)
			fail_msg("bads[%zu] %s: reason \"%s\" lacks \"%s\"", i, bads[i].in, why,
			    bads[i].why);
		if (strlen(bads[i].in) >= 4 && strstr(why, bads[i].in) != NULL)
			fail_msg("bads[%zu]: the reason quotes the value", i);
		assert_string_equal(out, "");
	}
	assert_int_equal(identifier_normalize(PASS, "E1234", out, why), 0);	/* the bound */
}

static void
test_an_oversized_identifier_is_refused_for_every_type(void **state)
{
	char big[IDENTIFIER_MAX + 40], out[IDENTIFIER_MAX + 1], why[IDENTIFIER_REASON_MAX];

	(void)state;
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (int t = RID; t <= NDOB; t++) {
		assert_int_equal(identifier_normalize((Cluebus__IdentifierType)t, big, out, why),
		    CB_EMALFORMED);
		assert_non_null(strstr(why, "256"));
	}
}

static void
test_what_is_written_as_a_resident_id_number(void **state)
{
	(void)state;
	assert_true(identifier_looks_resident("11010519491231002x"));
	assert_true(identifier_looks_resident("110105 19491231 0021"));	/* wrong, but one */
	assert_true(identifier_looks_resident("110105194912310"));	/* 15: refused later */
	assert_false(identifier_looks_resident("4521XXXXXXXXXXXX37"));	/* masked */
	assert_false(identifier_looks_resident("E12345678"));		/* a passport */
	assert_false(identifier_looks_resident("12345"));
	assert_false(identifier_looks_resident(""));
}

static void
test_type_names_round_trip(void **state)
{
	Cluebus__IdentifierType t;

	(void)state;
	for (int i = RID; i <= NDOB; i++) {
		assert_int_equal(identifier_type_parse(identifier_type_name(
		    (Cluebus__IdentifierType)i), &t), 0);
		assert_int_equal(t, i);
	}
	assert_int_equal(identifier_type_parse("email", &t), CB_EMALFORMED);
	assert_string_equal(identifier_type_name((Cluebus__IdentifierType)42), "unknown");
}

/* ---- tokens ---- */

static matchkey_t
key_of(uint32_t version, uint8_t fill)
{
	matchkey_t k;

	k.version = version;
	memset(k.key, fill, sizeof(k.key));
	return k;
}

static void
test_tokens_depend_on_the_key_the_type_and_the_value(void **state)
{
	matchkey_t k1 = key_of(1, 0x11), k2 = key_of(2, 0x22);
	uint8_t a[32], b[32], c[32], d[32], e[32];

	(void)state;
	assert_int_equal(matchkey_token(&k1, PHONE, "13800000000", a), 0);
	assert_int_equal(matchkey_token(&k1, PHONE, "13800000000", b), 0);
	assert_memory_equal(a, b, 32);
	assert_int_equal(matchkey_token(&k2, PHONE, "13800000000", c), 0);
	assert_memory_not_equal(a, c, 32);
	assert_int_equal(matchkey_token(&k1, BANK, "13800000000", d), 0);
	assert_memory_not_equal(a, d, 32);
	assert_int_equal(matchkey_token(&k1, PHONE, "13800000001", e), 0);
	assert_memory_not_equal(a, e, 32);
}

/* A clue with persons' id numbers and identifiers, through intake. */
static Cluebus__Message *
clue_parse(const char *persons, const char *identifiers)
{
	char doc[2048];
	Cluebus__Message *m = NULL;
	cb_error_t err;

	snprintf(doc, sizeof(doc), "{\"kind\": \"clue\", \"priority\": \"routine\", \"clue\": {"
	    "\"category\": \"vagrant\", \"jurisdiction\": \"210302\", \"occurred_at\": "
	    "\"2026-01-05T08:00:00+08:00\", \"summary\": \"s\", \"handling\": {\"code\": \"h0\"}, "
	    "\"evaluation\": {\"source_reliability\": \"b\", \"accuracy\": 2}%s%s%s%s}}",
	    persons != NULL ? ", \"persons\": " : "", persons != NULL ? persons : "",
	    identifiers != NULL ? ", \"identifiers\": " : "",
	    identifiers != NULL ? identifiers : "");
	if (intake_from_json(doc, strlen(doc), &m, &err) != 0)
		fail_msg("intake: %s: %s", err.field, err.reason);
	return m;
}

static void
test_the_same_id_number_in_two_formats_gives_one_token(void **state)
{
	matchkey_t k = key_of(1, 0x33);
	Cluebus__Message *a = clue_parse("[{\"role\": \"victim\", \"id_number\": "
	    "\"110105 19491231 002x\"}]", NULL);
	Cluebus__Message *b = clue_parse(NULL, "[{\"type\": \"resident_id\", \"value\": "
	    "\"11010519491231002X\"}, {\"type\": \"phone\", \"value\": \"+86 138 0000 0000\"}]");
	cb_error_t err;

	(void)state;
	assert_string_equal(a->clue->persons[0]->id_number, "11010519491231002X");
	assert_int_equal(matchkey_tokenize(a, &k, 1, &err), 0);
	assert_int_equal(matchkey_tokenize(b, &k, 1, &err), 0);
	assert_int_equal(a->clue->n_match_tokens, 1);
	assert_int_equal(b->clue->n_match_tokens, 2);
	assert_int_equal(b->clue->n_match_identifiers, 0);	/* never signed in clear */
	assert_int_equal(a->clue->match_tokens[0]->type, RID);
	assert_int_equal(a->clue->match_tokens[0]->key_version, 1);
	assert_memory_equal(a->clue->match_tokens[0]->token.data,
	    b->clue->match_tokens[0]->token.data, 32);
	protobuf_c_message_free_unpacked(&a->base, NULL);
	protobuf_c_message_free_unpacked(&b->base, NULL);
}

static void
test_two_keys_give_tokens_under_each_without_duplicates(void **state)
{
	matchkey_t keys[2] = { key_of(2, 0x44), key_of(1, 0x33) };
	Cluebus__Message *m = clue_parse("[{\"role\": \"victim\", \"id_number\": "
	    "\"11010519491231002X\"}]", "[{\"type\": \"resident_id\", \"value\": "
	    "\"11010519491231002x\"}]");
	uint8_t set1[32], set2[32];
	cb_error_t err;

	(void)state;
	assert_int_equal(matchkey_tokenize(m, keys, 2, &err), 0);
	assert_int_equal(m->clue->n_match_tokens, 2);
	assert_int_equal(m->clue->match_tokens[0]->key_version, 2);
	assert_int_equal(m->clue->match_tokens[1]->key_version, 1);
	assert_int_equal(matchkey_token_set_hash(m->clue, set1), 0);
	/* The set hash does not depend on the order. */
	{
		Cluebus__MatchToken *t = m->clue->match_tokens[0];

		m->clue->match_tokens[0] = m->clue->match_tokens[1];
		m->clue->match_tokens[1] = t;
	}
	assert_int_equal(matchkey_token_set_hash(m->clue, set2), 0);
	assert_memory_equal(set1, set2, 32);
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void
test_identifiers_without_a_key_are_refused_not_sent(void **state)
{
	Cluebus__Message *m = clue_parse(NULL, "[{\"type\": \"phone\", \"value\": "
	    "\"13800000000\"}]");
	Cluebus__Message *p = clue_parse("[{\"role\": \"victim\", \"id_number\": "
	    "\"11010519491231002X\"}]", NULL);
	cb_error_t err;

	(void)state;
	assert_int_equal(matchkey_tokenize(m, NULL, 0, &err), CB_EMALFORMED);
	assert_string_equal(err.field, "clue.identifiers");
	assert_non_null(strstr(err.reason, "correlation key"));
	/* A person's id number alone is not an identifier given for matching: no token. */
	assert_int_equal(matchkey_tokenize(p, NULL, 0, &err), 0);
	assert_int_equal(p->clue->n_match_tokens, 0);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	protobuf_c_message_free_unpacked(&p->base, NULL);
}

/* Intake names the field and why: the error file an agency reads. */
static void
test_intake_refuses_a_bad_id_number_naming_the_field_and_why(void **state)
{
	static const struct {
		const char *doc_part, *field, *why;
	} cases[] = {
		{ "\"persons\": [{\"role\": \"victim\", \"id_number\": \"110105194912310021\"}]",
		    "clue.persons[0].id_number", "check digit" },
		{ "\"persons\": [{\"role\": \"other\"}, {\"role\": \"victim\", \"id_number\": "
		    "\"11010519491331002X\"}]", "clue.persons[1].id_number", "no such month" },
		{ "\"identifiers\": [{\"type\": \"resident_id\", \"value\": \"1101051949\"}]",
		    "clue.identifiers[0].value", "18 characters" },
		{ "\"identifiers\": [{\"type\": \"email\", \"value\": \"a@b\"}]",
		    "clue.identifiers[0].type", "resident_id, phone" },
		{ "\"identifiers\": [{\"type\": \"phone\"}]", "clue.identifiers[0].value",
		    "required" },
		{ "\"identifiers\": [{\"type\": \"phone\", \"value\": \"13800000000\", \"x\": 1}]",
		    "clue.identifiers[0].x", "unknown" },
		{ "\"identifiers\": {}", "clue.identifiers", "expected array" },
	};
	char doc[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		Cluebus__Message *m = NULL;
		json_t *problems = NULL;
		cb_error_t err;

		snprintf(doc, sizeof(doc), "{\"kind\": \"clue\", \"priority\": \"routine\", "
		    "\"clue\": {\"category\": \"vagrant\", \"jurisdiction\": \"210302\", "
		    "\"occurred_at\": \"2026-01-05T08:00:00+08:00\", \"summary\": \"s\", "
		    "\"handling\": {\"code\": \"h0\"}, \"evaluation\": {\"source_reliability\": "
		    "\"b\", \"accuracy\": 2}, %s}}", cases[i].doc_part);
		if (intake_parse(doc, strlen(doc), NULL, &m, &err, &problems) != CB_EMALFORMED)
			fail_msg("case %zu accepted", i);
		assert_null(m);
		if (strcmp(err.field, cases[i].field) != 0 ||
		    strstr(err.reason, cases[i].why) == NULL)
			fail_msg("case %zu: %s: %s", i, err.field, err.reason);
		assert_int_equal(json_array_size(problems), 1);
		json_decref(problems);
	}
}

/* ---- the key file ---- */

static void
test_a_created_key_loads_and_bad_key_files_are_refused(void **state)
{
	char dir[] = "/tmp/cb-matchkey-XXXXXX", path[64], other[64];
	matchkey_t k;
	cb_error_t err;
	struct stat st;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/correlation.key", dir);
	snprintf(other, sizeof(other), "%s/other.key", dir);
	assert_int_equal(matchkey_create(path, 7), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(matchkey_create(path, 8), CB_EEXIST);
	assert_int_equal(matchkey_load(path, &k, &err), 0);
	assert_int_equal(k.version, 7);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(matchkey_load(path, &k, &err), CB_EPERM);
	assert_non_null(strstr(err.reason, "chmod 600"));
	unlink(path);
	assert_int_equal(matchkey_load(path, &k, &err), CB_EIO);

	static const char *const bad[] = {
		"not json",
		"{\"type\": \"cluebus-correlation-key\", \"version\": 0, \"key\": \"" \
		    "0000000000000000000000000000000000000000000000000000000000000000\"}",
		"{\"type\": \"cluebus-correlation-key\", \"version\": 1, \"key\": \"00\"}",
		"{\"type\": \"other\", \"version\": 1, \"key\": \"" \
		    "0000000000000000000000000000000000000000000000000000000000000000\"}",
		"{\"type\": \"cluebus-correlation-key\", \"key\": \"" \
		    "0000000000000000000000000000000000000000000000000000000000000000\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_non_null(f = fopen(other, "w"));
		fputs(bad[i], f);
		fclose(f);
		assert_int_equal(chmod(other, 0600), 0);
		if (matchkey_load(other, &k, &err) != CB_EKEY)
			fail_msg("bad key file %zu accepted", i);
		assert_int_equal(k.version, 0);
		unlink(other);
	}
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_identifiers_normalise_and_stay_normal),
		cmocka_unit_test(
		    test_bad_identifiers_are_refused_with_a_reason_that_does_not_quote_them),
		cmocka_unit_test(test_an_oversized_identifier_is_refused_for_every_type),
		cmocka_unit_test(test_what_is_written_as_a_resident_id_number),
		cmocka_unit_test(test_type_names_round_trip),
		cmocka_unit_test(test_tokens_depend_on_the_key_the_type_and_the_value),
		cmocka_unit_test(test_the_same_id_number_in_two_formats_gives_one_token),
		cmocka_unit_test(test_two_keys_give_tokens_under_each_without_duplicates),
		cmocka_unit_test(test_identifiers_without_a_key_are_refused_not_sent),
		cmocka_unit_test(test_intake_refuses_a_bad_id_number_naming_the_field_and_why),
		cmocka_unit_test(test_a_created_key_loads_and_bad_key_files_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

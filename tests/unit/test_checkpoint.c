/* tests/unit/test_checkpoint.c — C2SP checkpoints in signed notes: the published examples,
 * round trips, and every malformed note refused with its line and reason.
 *
 * The examples are those of the specifications and of Go's golang.org/x/mod/sumdb/note:
 * the vkey example.com/foo verifies the signed-note example, and Ed25519 being
 * deterministic, signing the sumdb example text with its published private key gives the
 * published note byte for byte. Malformed checkpoint texts are signed with a valid key so
 * that the refusal tested is the syntax's, not the signature's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "checkpoint.h"
#include "cluebus/err.h"
#include "keys.h"
#include "merkle.h"

#define LOG_NAME	"cluebus.example/log"

static cb_key_t			*log_key;
static checkpoint_verifier_t	*log_verifier;

static int
setup(void **state)
{
	(void)state;
	if (key_generate(&log_key) != 0 ||
	    checkpoint_verifier_new(LOG_NAME, log_key, &log_verifier) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	checkpoint_verifier_free(log_verifier);
	key_free(log_key);
	return 0;
}

/* A private key from its 32-byte Ed25519 seed, through a PEM file of mode 0600. */
static cb_key_t *
key_from_seed(const uint8_t seed[32])
{
	char path[] = "/tmp/cb-test-checkpoint.XXXXXX";
	EVP_PKEY *pkey;
	cb_key_t *k = NULL;
	FILE *f;
	int fd;

	assert_non_null(pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32));
	assert_true((fd = mkstemp(path)) >= 0);
	assert_non_null(f = fdopen(fd, "w"));
	assert_int_equal(PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	EVP_PKEY_free(pkey);
	assert_int_equal(key_load_private(path, &k), 0);
	unlink(path);
	return k;
}

static void
sign_text(const char *text, char *out, size_t cap)
{
	size_t len;

	assert_int_equal(checkpoint_note_sign(text, strlen(text), LOG_NAME, log_key, out, cap,
	    &len), 0);
	assert_int_equal(len, strlen(out));
}

/* checkpoint_verify must refuse `note` with `code`, naming `field` in a reason that
 * contains `reason`. */
static void
expect_refused(const char *note, size_t len, int code, const char *field, const char *reason)
{
	checkpoint_t cp;
	cb_error_t err;

	memset(&err, 0, sizeof(err));
	assert_int_equal(checkpoint_verify(note, len, log_verifier, &cp, &err), code);
	assert_string_equal(err.field, field);
	if (strstr(err.reason, reason) == NULL)
		fail_msg("reason \"%s\" does not say \"%s\"", err.reason, reason);
}

static void
make_checkpoint(checkpoint_t *cp, uint64_t size, const char *extensions)
{
	memset(cp, 0, sizeof(*cp));
	snprintf(cp->origin, sizeof(cp->origin), "%s", LOG_NAME);
	cp->size = size;
	for (size_t i = 0; i < MERKLE_HASH_LEN; i++)
		cp->root[i] = (uint8_t)(i * 7 + size);
	snprintf(cp->extensions, sizeof(cp->extensions), "%s", extensions);
}

static void
test_the_signed_note_example_of_the_specification_verifies_with_its_vkey(void **state)
{
	static const char note[] = "This is an example message.\n\n"
	    "\xe2\x80\x94 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Z"
	    "tg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
	checkpoint_verifier_t *v = NULL;
	cb_error_t err;
	size_t text_len;
	char bad[sizeof(note)];

	(void)state;
	assert_int_equal(checkpoint_verifier_parse(
	    "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", &v, &err), 0);
	assert_string_equal(checkpoint_verifier_name(v), "example.com/foo");
	assert_int_equal(checkpoint_note_open(note, strlen(note), v, &text_len, &err), 0);
	assert_int_equal(text_len, strlen("This is an example message.\n"));
	memcpy(bad, note, sizeof(note));
	bad[0] = 't';
	assert_int_equal(checkpoint_note_open(bad, strlen(bad), v, &text_len, &err), CB_EBADSIG);
	assert_string_equal(err.field, "line 3");
	checkpoint_verifier_free(v);
}

static void
test_signing_the_sumdb_example_reproduces_the_published_note_byte_for_byte(void **state)
{
	static const char skey_b64[] = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
	static const char text[] = "If you think cryptography is the answer to your problem,\n"
	    "then you don't know what your problem is.\n";
	static const char want[] = "If you think cryptography is the answer to your problem,\n"
	    "then you don't know what your problem is.\n\n"
	    "\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2"
	    "pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
	uint8_t raw[36];
	char note[512], vkey[CHECKPOINT_VKEY_MAX];
	checkpoint_verifier_t *v = NULL;
	cb_error_t err;
	cb_key_t *k;
	size_t len, text_len;

	(void)state;
	assert_int_equal(EVP_DecodeBlock(raw, (const unsigned char *)skey_b64,
	    (int)strlen(skey_b64)), 33);
	assert_int_equal(raw[0], 0x01);
	k = key_from_seed(raw + 1);
	assert_int_equal(checkpoint_note_sign(text, strlen(text), "PeterNeumann", k, note,
	    sizeof(note), &len), 0);
	assert_string_equal(note, want);
	assert_int_equal(len, strlen(want));
	assert_int_equal(checkpoint_vkey("PeterNeumann", k, vkey), 0);
	assert_string_equal(vkey,
	    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
	assert_int_equal(checkpoint_verifier_parse(vkey, &v, &err), 0);
	assert_int_equal(checkpoint_note_open(want, strlen(want), v, &text_len, &err), 0);
	assert_int_equal(text_len, strlen(text));
	checkpoint_verifier_free(v);
	key_free(k);
}

static void
test_a_signed_checkpoint_parses_and_verifies_to_the_same_tree_head(void **state)
{
	static const uint64_t sizes[] = { 0, 1, 20852163, MERKLE_MAX_SIZE };
	static const char *extensions[] = { "", "time 1772325000\n", "a\nb b\n" };
	char note[CHECKPOINT_NOTE_MAX], text[CHECKPOINT_TEXT_MAX + 1];
	checkpoint_t cp, got;
	cb_error_t err;
	size_t len, text_len;

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (size_t j = 0; j < 3; j++) {
			make_checkpoint(&cp, sizes[i], extensions[j]);
			assert_int_equal(checkpoint_sign(&cp, LOG_NAME, log_key, note,
			    sizeof(note), &len), 0);
			assert_int_equal(checkpoint_verify(note, len, log_verifier, &got, &err), 0);
			assert_memory_equal(&got, &cp, sizeof(cp));
			memset(&got, 0xff, sizeof(got));
			assert_int_equal(checkpoint_parse(note, len, &got, &err), 0);
			assert_memory_equal(&got, &cp, sizeof(cp));
			/* the signed text is exactly checkpoint_format's */
			assert_int_equal(checkpoint_format(&cp, text, sizeof(text), &text_len), 0);
			assert_memory_equal(note, text, text_len);
			assert_memory_equal(note + text_len, "\n\xe2\x80\x94 " LOG_NAME " ",
			    5 + strlen(LOG_NAME) + 1);
		}
	make_checkpoint(&cp, 20852163, "");
	assert_int_equal(checkpoint_format(&cp, text, sizeof(text), &text_len), 0);
	assert_string_equal(text, LOG_NAME "\n20852163\nw8rR2N/m7fT7AgkQFx4lLDM6QUhPVl1ka3J5gIeOlZw=\n");
}

static void
test_the_vkey_of_a_key_gives_a_verifier_of_its_checkpoints(void **state)
{
	char vkey[CHECKPOINT_VKEY_MAX], note[CHECKPOINT_NOTE_MAX];
	checkpoint_verifier_t *v = NULL;
	checkpoint_t cp, got;
	cb_error_t err;
	uint8_t hash[CHECKPOINT_KEY_HASH_LEN];
	char hex[9];
	size_t len;

	(void)state;
	assert_int_equal(checkpoint_vkey(LOG_NAME, log_key, vkey), 0);
	assert_int_equal(checkpoint_key_hash(LOG_NAME, key_public(log_key), hash), 0);
	snprintf(hex, sizeof(hex), "%02x%02x%02x%02x", hash[0], hash[1], hash[2], hash[3]);
	assert_memory_equal(vkey, LOG_NAME "+", strlen(LOG_NAME) + 1);
	assert_memory_equal(vkey + strlen(LOG_NAME) + 1, hex, 8);
	assert_int_equal(strlen(vkey), strlen(LOG_NAME) + 1 + 8 + 1 + 44);
	assert_int_equal(checkpoint_verifier_parse(vkey, &v, &err), 0);
	make_checkpoint(&cp, 42, "");
	assert_int_equal(checkpoint_sign(&cp, LOG_NAME, log_key, note, sizeof(note), &len), 0);
	assert_int_equal(checkpoint_verify(note, len, v, &got, &err), 0);
	assert_int_equal(got.size, 42);
	checkpoint_verifier_free(v);
	assert_int_equal(checkpoint_vkey("bad name", log_key, vkey), CB_EINVAL);
	assert_int_equal(checkpoint_vkey("bad+name", log_key, vkey), CB_EINVAL);
}

static void
test_malformed_vkeys_are_refused_naming_the_part(void **state)
{
	static const struct {
		const char	*vkey;
		int		 code;
		const char	*field;
	} cases[] = {
		{ "example.com/foo", CB_EMALFORMED, "vkey" },
		{ "example.com/foo+530d903a", CB_EMALFORMED, "vkey" },
		{ "+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", CB_EMALFORMED, "name" },
		{ "example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
		  CB_EMALFORMED, "key hash" },
		{ "example.com/foo+530d903+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
		  CB_EMALFORMED, "key hash" },
		{ "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
		  CB_EMALFORMED, "key hash" },
		{ "example.com/bar+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
		  CB_EMALFORMED, "key hash" },
		{ "example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
		  CB_EMALFORMED, "key" },
		{ "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2",
		  CB_EMALFORMED, "key" },
		{ "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2l",
		  CB_EMALFORMED, "key hash" },
		{ "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k=",
		  CB_EMALFORMED, "key" },
		{ "example com+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
		  CB_EMALFORMED, "name" },
		{ "example\xc2\xa0" "com+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
		  CB_EMALFORMED, "name" },
	};
	checkpoint_verifier_t *v;
	char longer[CHECKPOINT_VKEY_MAX + 10];
	cb_error_t err;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = (checkpoint_verifier_t *)&err;
		memset(&err, 0, sizeof(err));
		if (checkpoint_verifier_parse(cases[i].vkey, &v, &err) != cases[i].code)
			fail_msg("vkey %zu was not refused", i);
		assert_null(v);
		assert_string_equal(err.field, cases[i].field);
		assert_true(err.reason[0] != '\0');
	}
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	assert_int_equal(checkpoint_verifier_parse(longer, &v, &err), CB_ETOOBIG);
}

static void
test_a_note_without_its_final_newline_is_refused_naming_its_last_line(void **state)
{
	char note[CHECKPOINT_NOTE_MAX];

	(void)state;
	sign_text(LOG_NAME "\n5\nBwcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK+2vcTL0tk=\n", note,
	    sizeof(note));
	expect_refused(note, strlen(note) - 1, CB_EMALFORMED, "line 5",
	    "does not end in a newline");
	expect_refused(note, 0, CB_EMALFORMED, "line 1", "does not end in a newline");
	/* no empty line between the text and the signature */
	expect_refused(LOG_NAME "\n5\n", strlen(LOG_NAME) + 3, CB_EMALFORMED, "note",
	    "no empty line");
	/* an empty line and no signature after it */
	expect_refused(LOG_NAME "\n5\nAAAA\n\n", strlen(LOG_NAME) + 9, CB_EMALFORMED, "line 4",
	    "no signature line follows");
}

/* Signs "<origin>\n<size>\n<root>\n<rest>" and expects checkpoint_verify to refuse it. */
static void
expect_text_refused(const char *size, const char *root, const char *rest, int code,
    const char *field, const char *reason)
{
	char text[CHECKPOINT_TEXT_MAX + 64], note[CHECKPOINT_NOTE_MAX];

	snprintf(text, sizeof(text), "%s\n%s\n%s\n%s", LOG_NAME, size, root, rest);
	sign_text(text, note, sizeof(note));
	expect_refused(note, strlen(note), code, field, reason);
}

#define ROOT_B64	"BwcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK+2vcTL0tk="

static void
test_a_tree_size_with_a_leading_zero_a_sign_or_above_2_63_is_refused_on_line_2(void **state)
{
	static const struct {
		const char	*size;
		const char	*reason;
	} cases[] = {
		{ "05", "leading zero" }, { "00", "leading zero" }, { "+5", "not a digit" },
		{ "-5", "not a digit" }, { " 5", "not a digit" }, { "5 ", "not a digit" },
		{ "5a", "not a digit" }, { "0x10", "not a digit" }, { "", "tree size is empty" },
		{ "9223372036854775808", "above 2^63 - 1" },
		{ "18446744073709551616", "above 2^63 - 1" },
		{ "99999999999999999999999999", "above 2^63 - 1" },
	};
	char note[CHECKPOINT_NOTE_MAX];
	checkpoint_t cp;
	cb_error_t err;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_text_refused(cases[i].size, ROOT_B64, "", CB_EMALFORMED, "line 2",
		    cases[i].reason);
	sign_text(LOG_NAME "\n9223372036854775807\n" ROOT_B64 "\n", note, sizeof(note));
	assert_int_equal(checkpoint_verify(note, strlen(note), log_verifier, &cp, &err), 0);
	assert_true(cp.size == MERKLE_MAX_SIZE);
	sign_text(LOG_NAME "\n0\n" ROOT_B64 "\n", note, sizeof(note));
	assert_int_equal(checkpoint_verify(note, strlen(note), log_verifier, &cp, &err), 0);
	assert_true(cp.size == 0);
}

static void
test_a_root_hash_that_is_not_canonical_base64_of_32_bytes_is_refused_on_line_3(void **state)
{
	static const struct {
		const char	*root;
		const char	*reason;
	} cases[] = {
		{ "BwcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK+2vcTL0tk", "multiple of 4" },
		{ "BwcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK+2vcTL0tl=", "canonical" },
		{ "BwcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK-2vcTL0tk=", "alphabet" },
		{ "BwcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK+2vcTL0t==", "canonical" },
		{ "BwcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK+2vcTL0tkA", "33 bytes" },
		{ "BwcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK+2vcTL", "30 bytes" },
		{ "BwcOFRwj jE4P0ZNVFtiaXB3foWMk5qhqK+2vcTL0tk=", "alphabet" },
		{ "=wcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK+2vcTL0tk=", "alphabet" },
		{ "", "root hash is empty" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_text_refused("5", cases[i].root, "", CB_EMALFORMED, "line 3",
		    cases[i].reason);
}

static void
test_a_checkpoint_of_fewer_than_three_lines_or_with_an_empty_line_is_refused(void **state)
{
	char note[CHECKPOINT_NOTE_MAX];

	(void)state;
	sign_text(LOG_NAME "\n5\n", note, sizeof(note));
	expect_refused(note, strlen(note), CB_EMALFORMED, "line 3", "root hash line");
	sign_text("\n5\n" ROOT_B64 "\n", note, sizeof(note));
	expect_refused(note, strlen(note), CB_EMALFORMED, "line 1", "origin is empty");
	/* an empty line inside the text (the text ends at the last one) */
	sign_text(LOG_NAME "\n5\n" ROOT_B64 "\next\n\nmore\n", note, sizeof(note));
	expect_refused(note, strlen(note), CB_EMALFORMED, "line 5", "extension line is empty");
}

static void
test_control_characters_and_invalid_utf8_are_refused_with_their_line(void **state)
{
	static const char *bad[] = {
		"\t", "\r", "\x01", "\x1f", "\xff", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
		"\xf4\x90\x80\x80", "\xc3",
	};
	char note[CHECKPOINT_NOTE_MAX], text[256];
	size_t len;

	(void)state;
	sign_text(LOG_NAME "\n5\n" ROOT_B64 "\next\n", note, sizeof(note));
	len = strlen(note);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char copy[CHECKPOINT_NOTE_MAX];
		size_t at = strlen(LOG_NAME) + 3 + strlen(ROOT_B64) + 1;	/* line 4 */

		memcpy(copy, note, at);
		memcpy(copy + at, bad[i], strlen(bad[i]));
		memcpy(copy + at + strlen(bad[i]), note + at, len - at);
		expect_refused(copy, len + strlen(bad[i]), CB_EMALFORMED, "line 4",
		    bad[i][0] < 0x20 && bad[i][0] > 0 ? "control character" : "UTF-8");
	}
	/* the formatter refuses to make such a note */
	snprintf(text, sizeof(text), "a\tb\n");
	assert_int_equal(checkpoint_note_sign(text, strlen(text), LOG_NAME, log_key, note,
	    sizeof(note), &len), CB_EINVAL);
	/* non-ASCII text is fine */
	sign_text(LOG_NAME "\n5\n" ROOT_B64 "\n\xe5\x85\xac\xe5\xae\x89\n", note, sizeof(note));
	expect_refused(note, strlen(note) - 1, CB_EMALFORMED, "line 6", "newline");
}

static void
test_a_bad_signature_by_the_log_key_is_refused_naming_its_line(void **state)
{
	char note[CHECKPOINT_NOTE_MAX];
	checkpoint_t cp;
	size_t len, sig_at;
	uint8_t raw[69];
	char b64[93];

	(void)state;
	make_checkpoint(&cp, 7, "");
	assert_int_equal(checkpoint_sign(&cp, LOG_NAME, log_key, note, sizeof(note), &len), 0);
	/* the text changed after signing */
	note[strlen(LOG_NAME) + 1] = '8';
	expect_refused(note, len, CB_EBADSIG, "line 5", "does not verify");
	note[strlen(LOG_NAME) + 1] = '7';
	/* one bit of the signature flipped, re-encoded canonically */
	sig_at = len - 93;
	assert_int_equal(EVP_DecodeBlock(raw, (unsigned char *)note + sig_at, 92), 69);
	raw[40] ^= 0x04;
	EVP_EncodeBlock((unsigned char *)b64, raw, 68);
	memcpy(note + sig_at, b64, 92);
	expect_refused(note, len, CB_EBADSIG, "line 5", "does not verify");
}

static void
test_a_signature_by_another_key_alone_is_refused_as_unsigned(void **state)
{
	cb_key_t *other = NULL;
	char note[CHECKPOINT_NOTE_MAX];
	checkpoint_t cp;
	size_t len;

	(void)state;
	assert_int_equal(key_generate(&other), 0);
	make_checkpoint(&cp, 7, "");
	/* the right name, another key: another key hash, ignored */
	assert_int_equal(checkpoint_sign(&cp, LOG_NAME, other, note, sizeof(note), &len), 0);
	expect_refused(note, len, CB_EBADSIG, "note", "no signature by " LOG_NAME);
	/* the right key under another name: ignored */
	assert_int_equal(checkpoint_sign(&cp, "other.example/log", log_key, note, sizeof(note),
	    &len), 0);
	expect_refused(note, len, CB_EBADSIG, "note", "no signature by " LOG_NAME);
	key_free(other);
}

/* Appends signature lines of unknown keys to a note. */
static size_t
add_unknown_signatures(char *note, size_t len, size_t count)
{
	for (size_t i = 0; i < count; i++)
		len += (size_t)sprintf(note + len, "\xe2\x80\x94 witness%zu.example/w "
		    "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZ"
		    "qhf5nNo0xUe+mbIUBkBIfZ+qnA==\n", i);
	return len;
}

static void
test_signatures_of_unknown_keys_around_the_log_signature_are_ignored(void **state)
{
	char note[CHECKPOINT_NOTE_MAX], text[CHECKPOINT_TEXT_MAX + 1], copy[CHECKPOINT_NOTE_MAX];
	checkpoint_t cp, got;
	cb_error_t err;
	size_t len, text_len, sig_len;

	(void)state;
	make_checkpoint(&cp, 9, "");
	assert_int_equal(checkpoint_sign(&cp, LOG_NAME, log_key, note, sizeof(note), &len), 0);
	assert_int_equal(checkpoint_format(&cp, text, sizeof(text), &text_len), 0);
	/* 15 unknown signatures after the log's: 16 in all, which the specification says a
	 * verifier must accept */
	len = add_unknown_signatures(note, len, 15);
	assert_int_equal(checkpoint_verify(note, len, log_verifier, &got, &err), 0);
	assert_int_equal(got.size, 9);
	/* ... and before it */
	sig_len = strlen(note + text_len + 1);
	memcpy(copy, note, text_len + 1);
	len = add_unknown_signatures(copy, text_len + 1, 3);
	memcpy(copy + len, note + text_len + 1, sig_len);
	len += sig_len;
	assert_int_equal(checkpoint_verify(copy, len, log_verifier, &got, &err), 0);
	/* more than CHECKPOINT_MAX_SIGS signature lines */
	assert_int_equal(checkpoint_sign(&cp, LOG_NAME, log_key, note, sizeof(note), &len), 0);
	len = add_unknown_signatures(note, len, CHECKPOINT_MAX_SIGS);
	expect_refused(note, len, CB_ETOOBIG, "line 37", "more than 32 signature lines");
}

static void
test_malformed_signature_lines_are_refused_naming_the_line(void **state)
{
	static const struct {
		const char	*line;
		int		 code;
		const char	*reason;
	} cases[] = {
		{ "-- w.example/w AAAAAAAA\n", CB_EMALFORMED, "em dash" },
		{ "\xe2\x80\x94w.example/w AAAAAAAA\n", CB_EMALFORMED, "em dash" },
		{ "\xe2\x80\x94 w.example/wAAAAAAAA\n", CB_EMALFORMED, "no space" },
		{ "\xe2\x80\x94  AAAAAAAA\n", CB_EMALFORMED, "key name is empty" },
		{ "\xe2\x80\x94 w+x AAAAAAAA\n", CB_EMALFORMED, "'+'" },
		{ "\xe2\x80\x94 w\xe3\x80\x80x AAAAAAAA\n", CB_EMALFORMED, "space" },
		{ "\xe2\x80\x94 w.example/w AAAA\n", CB_EMALFORMED, "shorter than a key hash" },
		{ "\xe2\x80\x94 w.example/w AAAAAAA\n", CB_EMALFORMED, "multiple of 4" },
		{ "\xe2\x80\x94 w.example/w AAAAAAA \n", CB_EMALFORMED, "alphabet" },
		{ "\xe2\x80\x94 w.example/w \n", CB_EMALFORMED, "base64 is empty" },
		{ "\n", CB_EMALFORMED, "no signature line follows" },
	};
	char note[CHECKPOINT_NOTE_MAX];
	checkpoint_t cp;
	size_t len, base;

	(void)state;
	make_checkpoint(&cp, 9, "");
	assert_int_equal(checkpoint_sign(&cp, LOG_NAME, log_key, note, sizeof(note), &base), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = base + (size_t)sprintf(note + base, "%s", cases[i].line);
		expect_refused(note, len, cases[i].code, "line 6", cases[i].reason);
	}
	/* a key name longer than CHECKPOINT_NAME_MAX */
	len = base + (size_t)sprintf(note + base, "\xe2\x80\x94 ");
	memset(note + len, 'n', 300);
	len += 300;
	len += (size_t)sprintf(note + len, " AAAAAAAA\n");
	expect_refused(note, len, CB_ETOOBIG, "line 6", "longer than 255");
}

static void
test_a_note_or_text_beyond_the_size_limits_is_refused(void **state)
{
	char *note = malloc(CHECKPOINT_NOTE_MAX + 2);
	char text[CHECKPOINT_TEXT_MAX + 64];
	checkpoint_t cp;
	size_t len, n;

	(void)state;
	assert_non_null(note);
	memset(note, 'a', CHECKPOINT_NOTE_MAX + 1);
	note[CHECKPOINT_NOTE_MAX] = '\n';
	expect_refused(note, CHECKPOINT_NOTE_MAX + 1, CB_ETOOBIG, "note", "longer than 16384");
	/* a text above CHECKPOINT_TEXT_MAX, in extension lines */
	n = (size_t)snprintf(text, sizeof(text), "%s\n5\n%s\n", LOG_NAME, ROOT_B64);
	while (n < CHECKPOINT_TEXT_MAX + 1)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "extension line\n");
	assert_int_equal(checkpoint_note_sign(text, n, LOG_NAME, log_key, note,
	    CHECKPOINT_NOTE_MAX + 2, &len), 0);
	expect_refused(note, len, CB_ETOOBIG, "note", "text is longer than 4096");
	/* an origin above CHECKPOINT_NAME_MAX */
	memset(text, 'o', 300);
	snprintf(text + 300, sizeof(text) - 300, "\n5\n%s\n", ROOT_B64);
	assert_int_equal(checkpoint_note_sign(text, strlen(text), LOG_NAME, log_key, note,
	    CHECKPOINT_NOTE_MAX + 2, &len), 0);
	expect_refused(note, len, CB_ETOOBIG, "line 1", "origin is longer than 255");
	/* the formatter keeps to the same limits */
	make_checkpoint(&cp, 5, "");
	for (n = 0; n + 15 < CHECKPOINT_TEXT_MAX; n += 15)
		memcpy(cp.extensions + n, "extension line\n", 15);
	cp.extensions[n] = '\0';
	assert_int_equal(checkpoint_format(&cp, text, sizeof(text), &len), CB_ETOOBIG);
	free(note);
}

static void
test_a_checkpoint_of_another_origin_is_refused_on_line_1(void **state)
{
	char note[CHECKPOINT_NOTE_MAX];

	(void)state;
	sign_text("other.example/log\n5\n" ROOT_B64 "\n", note, sizeof(note));
	expect_refused(note, strlen(note), CB_EMALFORMED, "line 1", "origin is not");
}

static void
test_the_formatter_refuses_an_empty_origin_and_malformed_extensions(void **state)
{
	static const char *bad_ext[] = { "no newline", "\n", "a\n\nb\n", "a\tb\n", "\xff\n" };
	char text[CHECKPOINT_TEXT_MAX + 1];
	checkpoint_t cp;
	size_t len;

	(void)state;
	make_checkpoint(&cp, 5, "");
	cp.origin[0] = '\0';
	assert_int_equal(checkpoint_format(&cp, text, sizeof(text), &len), CB_EINVAL);
	make_checkpoint(&cp, 5, "");
	snprintf(cp.origin, sizeof(cp.origin), "two\nlines");
	assert_int_equal(checkpoint_format(&cp, text, sizeof(text), &len), CB_EINVAL);
	make_checkpoint(&cp, MERKLE_MAX_SIZE + 1, "");
	assert_int_equal(checkpoint_format(&cp, text, sizeof(text), &len), CB_EINVAL);
	for (size_t i = 0; i < sizeof(bad_ext) / sizeof(bad_ext[0]); i++) {
		make_checkpoint(&cp, 5, bad_ext[i]);
		assert_int_equal(checkpoint_format(&cp, text, sizeof(text), &len), CB_EINVAL);
	}
	make_checkpoint(&cp, 5, "");
	assert_int_equal(checkpoint_format(&cp, text, 20, &len), CB_ETOOBIG);
	/* a public-only key cannot sign */
	{
		cb_key_t *pub = NULL;
		char note[CHECKPOINT_NOTE_MAX];

		assert_int_equal(key_from_public(key_public(log_key), KEY_PUBLIC_LEN, &pub), 0);
		assert_int_equal(checkpoint_sign(&cp, LOG_NAME, pub, note, sizeof(note), &len),
		    CB_EINVAL);
		key_free(pub);
	}
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_the_signed_note_example_of_the_specification_verifies_with_its_vkey),
		cmocka_unit_test(
		    test_signing_the_sumdb_example_reproduces_the_published_note_byte_for_byte),
		cmocka_unit_test(test_a_signed_checkpoint_parses_and_verifies_to_the_same_tree_head),
		cmocka_unit_test(test_the_vkey_of_a_key_gives_a_verifier_of_its_checkpoints),
		cmocka_unit_test(test_malformed_vkeys_are_refused_naming_the_part),
		cmocka_unit_test(test_a_note_without_its_final_newline_is_refused_naming_its_last_line),
		cmocka_unit_test(
		    test_a_tree_size_with_a_leading_zero_a_sign_or_above_2_63_is_refused_on_line_2),
		cmocka_unit_test(
		    test_a_root_hash_that_is_not_canonical_base64_of_32_bytes_is_refused_on_line_3),
		cmocka_unit_test(
		    test_a_checkpoint_of_fewer_than_three_lines_or_with_an_empty_line_is_refused),
		cmocka_unit_test(test_control_characters_and_invalid_utf8_are_refused_with_their_line),
		cmocka_unit_test(test_a_bad_signature_by_the_log_key_is_refused_naming_its_line),
		cmocka_unit_test(test_a_signature_by_another_key_alone_is_refused_as_unsigned),
		cmocka_unit_test(test_signatures_of_unknown_keys_around_the_log_signature_are_ignored),
		cmocka_unit_test(test_malformed_signature_lines_are_refused_naming_the_line),
		cmocka_unit_test(test_a_note_or_text_beyond_the_size_limits_is_refused),
		cmocka_unit_test(test_a_checkpoint_of_another_origin_is_refused_on_line_1),
		cmocka_unit_test(
		    test_the_formatter_refuses_an_empty_origin_and_malformed_extensions),
	};

	return cmocka_run_group_tests_name("checkpoint", tests, setup, teardown);
}

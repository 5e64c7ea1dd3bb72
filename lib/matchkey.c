/* lib/matchkey.c — the city correlation key and blind tokens (see matchkey.h).
 *
 * Invariants: (1) the key never leaves this module but as an HMAC key handed to OpenSSL,
 * and is cleansed from every buffer it passed through; (2) a clue that leaves
 * matchkey_tokenize carries no identifier in clear (match_identifiers is emptied), only
 * tokens, each 32 bytes, typed and versioned, without duplicates. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "identifiers.h"
#include "matchkey.h"
#include "util.h"

#define KEYFILE_TYPE	"cluebus-correlation-key"
#define KEYFILE_MAX	4096
#define TOKEN_DOMAIN	"cluebus-match-v1"

void
matchkey_wipe(matchkey_t *k)
{
	if (k != NULL)
		OPENSSL_cleanse(k, sizeof(*k));
}

/* Reads the file, refusing what the group or others may access. */
static int
keyfile_read(const char *path, char **buf, size_t *len)
{
	struct stat st;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return CB_EIO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		rc = CB_EIO;
	else if ((st.st_mode & 077) != 0)
		rc = CB_EPERM;
	else
		rc = file_read_fd(fd, KEYFILE_MAX, buf, len);
	close(fd);
	return rc == CB_ETOOBIG ? CB_EKEY : rc;
}

int
matchkey_load(const char *path, matchkey_t *k, cb_error_t *err)
{
	json_error_t jerr;
	json_t *doc = NULL, *eff = NULL;
	const char *type = NULL, *hex = NULL;
	json_int_t version = 0;
	char *buf = NULL;
	size_t len = 0;
	int rc;

	memset(k, 0, sizeof(*k));
	if ((rc = keyfile_read(path, &buf, &len)) != 0) {
		cb_error_set(err, path, "%s", rc == CB_EPERM ? "the group or others may access "
		    "it (chmod 600)" : rc == CB_EKEY ? "larger than 4096 bytes" :
		    "cannot read it");
		return rc;
	}
	doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	rc = CB_EKEY;
	if (doc == NULL)
		cb_error_set(err, path, "not JSON (line %d)", jerr.line);
	else if (json_unpack(doc, "{s:s, s:I, s:s}", "type", &type, "version", &version,
	    "key", &hex) != 0 || strcmp(type, KEYFILE_TYPE) != 0)
		cb_error_set(err, path, "not a correlation key file (type \"%s\", version, key)",
		    KEYFILE_TYPE);
	else if (version < 1 || version > UINT32_MAX)
		cb_error_set(err, "version", "not in 1..4294967295");
	else if ((eff = json_object_get(doc, "effective_ms")) != NULL &&
	    (!json_is_integer(eff) || json_integer_value(eff) < 0))
		cb_error_set(err, "effective_ms", "not a time in ms since 1970");
	else if (strlen(hex) != 2 * MATCHKEY_LEN || hex_decode(hex, k->key, MATCHKEY_LEN) != 0)
		cb_error_set(err, "key", "not 64 hex digits");
	else {
		k->version = (uint32_t)version;
		k->effective_ms = eff != NULL ? (int64_t)json_integer_value(eff) : 0;
		rc = 0;
	}
	if (rc != 0)
		matchkey_wipe(k);
	if (hex != NULL)
		OPENSSL_cleanse((void *)hex, strlen(hex));
	json_decref(doc);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return rc;
}

int
matchkey_create(const char *path, uint32_t version)
{
	uint8_t key[MATCHKEY_LEN];
	char hex[2 * MATCHKEY_LEN + 1], text[256];
	int fd, n, rc = 0;

	if (version < 1)
		return CB_EINVAL;
	if (rand_bytes(key, sizeof(key)) != 0)
		return CB_ECRYPTO;
	hex_encode(key, sizeof(key), hex);
	n = snprintf(text, sizeof(text), "{\"type\": \"%s\", \"version\": %u, \"key\": \"%s\"}\n",
	    KEYFILE_TYPE, version, hex);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		rc = errno == EEXIST ? CB_EEXIST : CB_EIO;
	else if (file_write_all(fd, text, (size_t)n) != 0 || fsync(fd) != 0) {
		rc = CB_EIO;
		unlink(path);
	}
	if (fd >= 0 && close(fd) != 0 && rc == 0) {
		rc = CB_EIO;
		unlink(path);
	}
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(hex, sizeof(hex));
	OPENSSL_cleanse(text, sizeof(text));
	return rc;
}

int
matchkey_save(const char *path, const matchkey_t *k)
{
	char hex[2 * MATCHKEY_LEN + 1], text[256];
	int n, rc;

	hex_encode(k->key, sizeof(k->key), hex);
	n = snprintf(text, sizeof(text), "{\"type\": \"%s\", \"version\": %u, \"key\": \"%s\", "
	    "\"effective_ms\": %lld}\n", KEYFILE_TYPE, k->version, hex,
	    (long long)k->effective_ms);
	rc = n > 0 && (size_t)n < sizeof(text) ?
	    file_write_atomic(path, text, (size_t)n, 0600) : CB_EIO;
	OPENSSL_cleanse(hex, sizeof(hex));
	OPENSSL_cleanse(text, sizeof(text));
	return rc;
}

int
matchkey_ring_add(matchkey_t *ring, size_t *n, size_t max, const matchkey_t *k, int *same)
{
	size_t low = 0;

	for (size_t i = 0; i < *n; i++) {
		if (ring[i].version == k->version) {
			if (same != NULL)
				*same = CRYPTO_memcmp(ring[i].key, k->key, MATCHKEY_LEN) == 0;
			return 0;
		}
		if (ring[i].version < ring[low].version)
			low = i;
	}
	if (*n < max) {
		ring[(*n)++] = *k;
		return 1;
	}
	if (*n == 0 || ring[low].version > k->version)
		return -1;
	matchkey_wipe(&ring[low]);
	ring[low] = *k;
	return 1;
}

size_t
matchkey_ring_pick(const matchkey_t *ring, size_t n, int64_t now_ms,
    const matchkey_t *out[MATCHKEY_MAX_KEYS])
{
	const matchkey_t *cur = NULL, *prev = NULL;

	for (size_t i = 0; i < n; i++)
		if (ring[i].effective_ms <= now_ms &&
		    (cur == NULL || ring[i].version > cur->version))
			cur = &ring[i];
	if (cur == NULL)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (ring[i].version < cur->version &&
		    (prev == NULL || ring[i].version > prev->version))
			prev = &ring[i];
	out[0] = cur;
	if (prev == NULL)
		return 1;
	out[1] = prev;
	return 2;
}

int
matchkey_token(const matchkey_t *k, Cluebus__IdentifierType type, const char *normalised,
    uint8_t out[MATCH_TOKEN_LEN])
{
	OSSL_PARAM params[2];
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx = NULL;
	uint8_t tag[2] = { (uint8_t)type, 0 };
	size_t outlen = 0;
	int ok = 0;

	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return CB_ECRYPTO;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	ok = (ctx = EVP_MAC_CTX_new(mac)) != NULL &&
	    EVP_MAC_init(ctx, k->key, sizeof(k->key), params) == 1 &&
	    EVP_MAC_update(ctx, (const uint8_t *)TOKEN_DOMAIN, strlen(TOKEN_DOMAIN)) == 1 &&
	    EVP_MAC_update(ctx, tag, sizeof(tag)) == 1 &&
	    EVP_MAC_update(ctx, (const uint8_t *)normalised, strlen(normalised)) == 1 &&
	    EVP_MAC_final(ctx, out, &outlen, MATCH_TOKEN_LEN) == 1 && outlen == MATCH_TOKEN_LEN;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok ? 0 : CB_ECRYPTO;
}

int
matchkey_token_hash(const uint8_t token[MATCH_TOKEN_LEN], uint8_t out[32])
{
	return EVP_Digest(token, MATCH_TOKEN_LEN, out, NULL, EVP_sha256(), NULL) == 1 ? 0 :
	    CB_ECRYPTO;
}

/* Appends the token of `normalised` under `k` to the clue, unless it holds it already. */
static int
tokens_add(Cluebus__Clue *c, const matchkey_t *k, Cluebus__IdentifierType type,
    const char *normalised, cb_error_t *err)
{
	Cluebus__MatchToken **grown, *t;
	uint8_t token[MATCH_TOKEN_LEN];
	int rc;

	if ((rc = matchkey_token(k, type, normalised, token)) != 0)
		return rc;
	for (size_t i = 0; i < c->n_match_tokens; i++)
		if (c->match_tokens[i]->key_version == k->version &&
		    c->match_tokens[i]->token.len == MATCH_TOKEN_LEN &&
		    memcmp(c->match_tokens[i]->token.data, token, MATCH_TOKEN_LEN) == 0)
			return 0;
	if (c->n_match_tokens == MATCH_TOKENS_MAX)
		return cb_fail(err, "clue.identifiers", CB_EMALFORMED, "more than %d identifiers "
		    "(counting each key's tokens) to match on", MATCH_TOKENS_MAX);
	if ((grown = realloc(c->match_tokens, (c->n_match_tokens + 1) * sizeof(*grown))) == NULL)
		return CB_ENOMEM;
	c->match_tokens = grown;
	if ((t = malloc(sizeof(*t))) == NULL)
		return CB_ENOMEM;
	cluebus__match_token__init(t);
	t->type = type;
	t->key_version = k->version;
	if ((t->token.data = malloc(MATCH_TOKEN_LEN)) == NULL) {
		free(t);
		return CB_ENOMEM;
	}
	memcpy(t->token.data, token, MATCH_TOKEN_LEN);
	t->token.len = MATCH_TOKEN_LEN;
	c->match_tokens[c->n_match_tokens++] = t;
	return 0;
}

/* Normalises one identifier and adds its token under every key. */
static int
tokenize_one(Cluebus__Clue *c, const matchkey_t *keys, size_t nkeys,
    Cluebus__IdentifierType type, const char *value, const char *field, cb_error_t *err)
{
	char norm[IDENTIFIER_MAX + 1], why[IDENTIFIER_REASON_MAX];
	int rc = 0;

	if (identifier_normalize(type, value, norm, why) != 0)
		return cb_fail(err, field, CB_EMALFORMED, "%s", why);
	for (size_t i = 0; i < nkeys && rc == 0; i++)
		rc = tokens_add(c, &keys[i], type, norm, err);
	OPENSSL_cleanse(norm, sizeof(norm));
	return rc;
}

static void
identifiers_drop(Cluebus__Clue *c)
{
	for (size_t i = 0; i < c->n_match_identifiers; i++) {
		Cluebus__MatchIdentifier *id = c->match_identifiers[i];

		if (id->value != NULL && id->value != protobuf_c_empty_string)
			OPENSSL_cleanse(id->value, strlen(id->value));
		protobuf_c_message_free_unpacked(&id->base, NULL);
	}
	free(c->match_identifiers);
	c->match_identifiers = NULL;
	c->n_match_identifiers = 0;
}

int
matchkey_tokenize(Cluebus__Message *m, const matchkey_t *keys, size_t nkeys, cb_error_t *err)
{
	Cluebus__Clue *c;
	char field[64];
	int rc = 0;

	if (m->body_case != CLUEBUS__MESSAGE__BODY_CLUE || (c = m->clue) == NULL)
		return 0;
	if (nkeys == 0 && c->n_match_identifiers > 0)
		return cb_fail(err, "clue.identifiers", CB_EMALFORMED, "this agent has no "
		    "correlation key (correlation_key in its config): it cannot match on "
		    "identifiers, and never sends them in clear");
	for (size_t i = 0; i < c->n_persons && rc == 0; i++) {
		const char *id = c->persons[i]->id_number;

		snprintf(field, sizeof(field), "clue.persons[%zu].id_number", i);
		if (id != NULL && identifier_looks_resident(id))
			rc = tokenize_one(c, keys, nkeys,
			    CLUEBUS__IDENTIFIER_TYPE__IDENTIFIER_RESIDENT_ID, id, field, err);
	}
	for (size_t i = 0; i < c->n_match_identifiers && rc == 0; i++) {
		const Cluebus__MatchIdentifier *id = c->match_identifiers[i];

		snprintf(field, sizeof(field), "clue.identifiers[%zu].value", i);
		rc = tokenize_one(c, keys, nkeys, id->type, id->value, field, err);
	}
	if (rc == CB_ENOMEM)
		cb_error_set(err, "(document)", "out of memory");
	identifiers_drop(c);
	return rc;
}

int
matchkey_token_cmp(const Cluebus__MatchToken *x, const Cluebus__MatchToken *y)
{
	if (x->key_version != y->key_version)
		return x->key_version < y->key_version ? -1 : 1;
	if (x->token.len != y->token.len)
		return x->token.len < y->token.len ? -1 : 1;
	return memcmp(x->token.data, y->token.data, x->token.len);
}

static int
token_ptr_cmp(const void *x, const void *y)
{
	return matchkey_token_cmp(*(Cluebus__MatchToken *const *)x,
	    *(Cluebus__MatchToken *const *)y);
}

int
matchkey_token_set_hash(const Cluebus__Clue *c, uint8_t out[32])
{
	Cluebus__MatchToken **sorted;
	EVP_MD_CTX *ctx = NULL;
	int ok;

	if ((sorted = malloc((c->n_match_tokens + 1) * sizeof(*sorted))) == NULL)
		return CB_ENOMEM;
	if (c->n_match_tokens > 0)
		memcpy(sorted, c->match_tokens, c->n_match_tokens * sizeof(*sorted));
	qsort(sorted, c->n_match_tokens, sizeof(*sorted), token_ptr_cmp);
	ok = (ctx = EVP_MD_CTX_new()) != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
	for (size_t i = 0; ok && i < c->n_match_tokens; i++) {
		const Cluebus__MatchToken *t = sorted[i];
		uint8_t head[5] = { 'T', (uint8_t)(t->key_version >> 24),
		    (uint8_t)(t->key_version >> 16), (uint8_t)(t->key_version >> 8),
		    (uint8_t)t->key_version };

		if (i > 0 && matchkey_token_cmp(sorted[i - 1], t) == 0)
			continue;
		ok = EVP_DigestUpdate(ctx, head, sizeof(head)) == 1 &&
		    EVP_DigestUpdate(ctx, t->token.data, t->token.len) == 1;
	}
	ok = ok && EVP_DigestFinal_ex(ctx, out, NULL) == 1;
	EVP_MD_CTX_free(ctx);
	free(sorted);
	return ok ? 0 : CB_ECRYPTO;
}

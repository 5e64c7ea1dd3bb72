/* lib/checkpoint.c — C2SP tlog-checkpoint and signed-note: format, sign, parse, verify
 * (the contract is in checkpoint.h).
 *
 * A note is checked in one pass, front to back, so that the first bad line is the one
 * named: the whole note is valid UTF-8 without control characters but newline and ends in
 * a newline; the text ends at the last empty line; every line after it is a well-formed
 * signature line; then the text is read as a checkpoint. Base64 is decoded by OpenSSL
 * (EVP_DecodeBlock) after this file checked the alphabet and padding, and accepted only if
 * encoding the result gives the same text back (no stray bits in the last character). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "checkpoint.h"

#define SIG_TYPE_ED25519	0x01
#define SIG_B64_MAX		8192	/* base64 characters of any one signature */
#define SIG_RAW_MAX		(SIG_B64_MAX / 4 * 3)
#define ED25519_NOTE_SIG_LEN	(CHECKPOINT_KEY_HASH_LEN + KEY_SIG_LEN)

static const char sig_prefix[] = "\xe2\x80\x94 ";	/* U+2014 EM DASH, space */
#define SIG_PREFIX_LEN	(sizeof(sig_prefix) - 1)

struct checkpoint_verifier {
	char		 name[CHECKPOINT_NAME_MAX + 1];
	uint8_t		 key_hash[CHECKPOINT_KEY_HASH_LEN];
	cb_key_t	*key;
};

/* Sets err to "line N" (or `field` when line is 0) and the reason. Returns rc. */
static int
refuse(cb_error_t *err, int rc, size_t line, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
refuse(cb_error_t *err, int rc, size_t line, const char *field, const char *fmt, ...)
{
	char reason[sizeof(((cb_error_t *)0)->reason)], where[32];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (line > 0) {
		snprintf(where, sizeof(where), "line %zu", line);
		field = where;
	}
	cb_error_set(err, field, "%s", reason);
	return rc;
}

/* Decodes one UTF-8 sequence at s[0..len) (RFC 3629: no overlong form, no surrogate,
 * nothing above U+10FFFF). Returns its length, or 0 when it is not valid. */
static size_t
utf8_decode(const uint8_t *s, size_t len, uint32_t *cp)
{
	size_t n, i;
	uint32_t c = s[0], min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2; c &= 0x1f; min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3; c &= 0x0f; min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4; c &= 0x07; min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Unicode White_Space (Go's unicode.IsSpace, which signed-note implementations use). */
static int
is_unicode_space(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 ||
	    c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
	    c == 0x202f || c == 0x205f || c == 0x3000;
}

/* Checks s[0..len) is valid UTF-8 with no control character but newline. Returns 0, or
 * -1 with the (1-based) line of the first bad byte and the reason. */
static int
text_check(const char *s, size_t len, size_t *line, const char **why)
{
	const uint8_t *u = (const uint8_t *)s;
	uint32_t c;
	size_t i = 0, n;

	*line = 1;
	while (i < len) {
		if ((n = utf8_decode(u + i, len - i, &c)) == 0) {
			*why = "is not valid UTF-8";
			return -1;
		}
		if (c == '\n')
			(*line)++;
		else if (c < 0x20) {
			*why = "holds a control character";
			return -1;
		}
		i += n;
	}
	return 0;
}

/* A key name: non-empty, at most CHECKPOINT_NAME_MAX bytes of UTF-8 with no control
 * character, no Unicode space and no '+'. Returns 0 or -1 with the reason. */
static int
name_check(const char *name, size_t len, const char **why)
{
	const uint8_t *u = (const uint8_t *)name;
	uint32_t c;
	size_t n;

	if (len == 0) {
		*why = "key name is empty";
		return -1;
	}
	if (len > CHECKPOINT_NAME_MAX) {
		*why = "key name is longer than 255 bytes";
		return -1;
	}
	for (size_t i = 0; i < len; i += n) {
		if ((n = utf8_decode(u + i, len - i, &c)) == 0) {
			*why = "key name is not valid UTF-8";
			return -1;
		}
		if (c < 0x20 || is_unicode_space(c) || c == '+') {
			*why = "key name holds a space, a '+' or a control character";
			return -1;
		}
	}
	return 0;
}

static int
b64_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= '0' && ch <= '9') || ch == '+' || ch == '/';
}

/* Strict standard base64 (RFC 4648 §4) of s[0..len) into out (cap bytes). Returns 0 with
 * *outlen, or -1 with the reason. */
static int
b64_decode(const char *s, size_t len, uint8_t *out, size_t cap, size_t *outlen,
    const char **why)
{
	char again[SIG_B64_MAX + 1];
	size_t pad = 0;
	int n;

	if (len == 0 || len % 4 != 0 || len > SIG_B64_MAX) {
		*why = len == 0 ? "base64 is empty" : len > SIG_B64_MAX ?
		    "base64 is too long" : "base64 length is not a multiple of 4";
		return -1;
	}
	if (s[len - 1] == '=')
		pad = s[len - 2] == '=' ? 2 : 1;
	for (size_t i = 0; i < len - pad; i++)
		if (!b64_char(s[i])) {
			*why = "base64 holds a character outside its alphabet";
			return -1;
		}
	if (len / 4 * 3 > cap + pad) {
		*why = "base64 decodes to too many bytes";
		return -1;
	}
	{
		uint8_t buf[SIG_RAW_MAX];

		if ((n = EVP_DecodeBlock(buf, (const unsigned char *)s, (int)len)) < 0 ||
		    (size_t)n < pad) {
			*why = "base64 does not decode";
			return -1;
		}
		*outlen = (size_t)n - pad;
		if (EVP_EncodeBlock((unsigned char *)again, buf, (int)*outlen) != (int)len ||
		    memcmp(again, s, len) != 0) {
			*why = "base64 is not in canonical form";
			return -1;
		}
		memcpy(out, buf, *outlen);
	}
	return 0;
}

int
checkpoint_key_hash(const char *name, const uint8_t pub[KEY_PUBLIC_LEN],
    uint8_t out[CHECKPOINT_KEY_HASH_LEN])
{
	static const uint8_t sep[2] = { '\n', SIG_TYPE_ED25519 };
	uint8_t digest[32];
	EVP_MD_CTX *ctx;
	int ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return CB_ENOMEM;
	ok = EVP_DigestInit_ex2(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, name, strlen(name)) == 1 &&
	    EVP_DigestUpdate(ctx, sep, sizeof(sep)) == 1 &&
	    EVP_DigestUpdate(ctx, pub, KEY_PUBLIC_LEN) == 1 &&
	    EVP_DigestFinal_ex(ctx, digest, NULL) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return CB_ECRYPTO;
	memcpy(out, digest, CHECKPOINT_KEY_HASH_LEN);
	return 0;
}

int
checkpoint_vkey(const char *name, const cb_key_t *k, char out[CHECKPOINT_VKEY_MAX])
{
	uint8_t raw[1 + KEY_PUBLIC_LEN], hash[CHECKPOINT_KEY_HASH_LEN];
	const char *why;
	size_t len;
	int rc;

	if (name_check(name, strlen(name), &why) != 0)
		return CB_EINVAL;
	if ((rc = checkpoint_key_hash(name, key_public(k), hash)) != 0)
		return rc;
	raw[0] = SIG_TYPE_ED25519;
	memcpy(raw + 1, key_public(k), KEY_PUBLIC_LEN);
	len = (size_t)snprintf(out, CHECKPOINT_VKEY_MAX, "%s+%02x%02x%02x%02x+", name,
	    hash[0], hash[1], hash[2], hash[3]);
	EVP_EncodeBlock((unsigned char *)out + len, raw, sizeof(raw));
	return 0;
}

static int
verifier_make(const char *name, size_t name_len, cb_key_t *key, checkpoint_verifier_t **out)
{
	checkpoint_verifier_t *v;
	int rc;

	if ((v = calloc(1, sizeof(*v))) == NULL) {
		key_free(key);
		return CB_ENOMEM;
	}
	memcpy(v->name, name, name_len);
	v->name[name_len] = '\0';
	v->key = key;
	if ((rc = checkpoint_key_hash(v->name, key_public(key), v->key_hash)) != 0) {
		checkpoint_verifier_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

int
checkpoint_verifier_parse(const char *vkey, checkpoint_verifier_t **out, cb_error_t *err)
{
	const char *plus1, *plus2, *why;
	uint8_t raw[1 + KEY_PUBLIC_LEN + 4], hash[CHECKPOINT_KEY_HASH_LEN];
	size_t name_len, raw_len, len = strnlen(vkey, CHECKPOINT_VKEY_MAX);
	checkpoint_verifier_t *v = NULL;
	cb_key_t *key = NULL;
	unsigned byte;
	int rc;

	*out = NULL;
	if (len == CHECKPOINT_VKEY_MAX)
		return refuse(err, CB_ETOOBIG, 0, "vkey", "longer than %d bytes",
		    CHECKPOINT_VKEY_MAX - 1);
	if ((plus1 = strchr(vkey, '+')) == NULL || (plus2 = strchr(plus1 + 1, '+')) == NULL)
		return refuse(err, CB_EMALFORMED, 0, "vkey", "is not name+keyhash+key");
	name_len = (size_t)(plus1 - vkey);
	if (name_check(vkey, name_len, &why) != 0)
		return refuse(err, CB_EMALFORMED, 0, "name", "%s", why);
	if (plus2 - plus1 - 1 != 2 * CHECKPOINT_KEY_HASH_LEN)
		return refuse(err, CB_EMALFORMED, 0, "key hash", "is not 8 hex digits");
	for (size_t i = 0; i < CHECKPOINT_KEY_HASH_LEN; i++) {
		const char *h = plus1 + 1 + 2 * i;

		if (strspn(h, "0123456789abcdef") < 2 || sscanf(h, "%2x", &byte) != 1)
			return refuse(err, CB_EMALFORMED, 0, "key hash",
			    "is not 8 lowercase hex digits");
		hash[i] = (uint8_t)byte;
	}
	if (b64_decode(plus2 + 1, strlen(plus2 + 1), raw, sizeof(raw), &raw_len, &why) != 0)
		return refuse(err, CB_EMALFORMED, 0, "key", "%s", why);
	if (raw_len != 1 + KEY_PUBLIC_LEN || raw[0] != SIG_TYPE_ED25519)
		return refuse(err, CB_EMALFORMED, 0, "key",
		    "is not signature type 0x01 and a 32-byte Ed25519 key");
	if ((rc = key_from_public(raw + 1, KEY_PUBLIC_LEN, &key)) != 0)
		return refuse(err, rc, 0, "key", "is not an Ed25519 public key");
	if ((rc = verifier_make(vkey, name_len, key, &v)) != 0)
		return refuse(err, rc, 0, "vkey", "%s", cb_strerror(rc));
	if (CRYPTO_memcmp(hash, v->key_hash, CHECKPOINT_KEY_HASH_LEN) != 0) {
		checkpoint_verifier_free(v);
		return refuse(err, CB_EMALFORMED, 0, "key hash",
		    "does not match the name and the key");
	}
	*out = v;
	return 0;
}

int
checkpoint_verifier_new(const char *name, const cb_key_t *k, checkpoint_verifier_t **out)
{
	const char *why;
	cb_key_t *copy;
	int rc;

	*out = NULL;
	if (name_check(name, strlen(name), &why) != 0)
		return CB_EINVAL;
	if ((rc = key_from_public(key_public(k), KEY_PUBLIC_LEN, &copy)) != 0)
		return rc;
	return verifier_make(name, strlen(name), copy, out);
}

const char *
checkpoint_verifier_name(const checkpoint_verifier_t *v)
{
	return v->name;
}

void
checkpoint_verifier_free(checkpoint_verifier_t *v)
{
	if (v == NULL)
		return;
	key_free(v->key);
	free(v);
}

int
checkpoint_format(const checkpoint_t *cp, char *out, size_t cap, size_t *len)
{
	char root[4 * ((MERKLE_HASH_LEN + 2) / 3) + 1];
	size_t origin_len = strnlen(cp->origin, sizeof(cp->origin));
	size_t ext_len = strnlen(cp->extensions, sizeof(cp->extensions));
	const char *why;
	size_t line;
	int n;

	if (origin_len == 0 || origin_len == sizeof(cp->origin) ||
	    memchr(cp->origin, '\n', origin_len) != NULL ||
	    text_check(cp->origin, origin_len, &line, &why) != 0 ||
	    ext_len == sizeof(cp->extensions) || cp->size > MERKLE_MAX_SIZE)
		return CB_EINVAL;
	if (ext_len > 0 && (cp->extensions[ext_len - 1] != '\n' ||
	    cp->extensions[0] == '\n' || strstr(cp->extensions, "\n\n") != NULL ||
	    text_check(cp->extensions, ext_len, &line, &why) != 0))
		return CB_EINVAL;
	EVP_EncodeBlock((unsigned char *)root, cp->root, MERKLE_HASH_LEN);
	n = snprintf(out, cap, "%s\n%llu\n%s\n%s", cp->origin, (unsigned long long)cp->size,
	    root, cp->extensions);
	if (n < 0 || (size_t)n >= cap || (size_t)n > CHECKPOINT_TEXT_MAX)
		return CB_ETOOBIG;
	*len = (size_t)n;
	return 0;
}

int
checkpoint_note_sign(const char *text, size_t text_len, const char *name, const cb_key_t *k,
    char *out, size_t cap, size_t *len)
{
	uint8_t raw[ED25519_NOTE_SIG_LEN];
	char b64[4 * ((ED25519_NOTE_SIG_LEN + 2) / 3) + 1];
	const char *why;
	size_t line, name_len = strlen(name), total;
	int rc;

	if (text_len == 0 || text[text_len - 1] != '\n' ||
	    text_check(text, text_len, &line, &why) != 0 ||
	    name_check(name, name_len, &why) != 0 || !key_has_private(k))
		return CB_EINVAL;
	if ((rc = checkpoint_key_hash(name, key_public(k), raw)) != 0 ||
	    (rc = key_sign(k, text, text_len, raw + CHECKPOINT_KEY_HASH_LEN)) != 0)
		return rc;
	EVP_EncodeBlock((unsigned char *)b64, raw, sizeof(raw));
	total = text_len + 1 + SIG_PREFIX_LEN + name_len + 1 + strlen(b64) + 1;
	if (total > CHECKPOINT_NOTE_MAX || total >= cap)
		return CB_ETOOBIG;
	memcpy(out, text, text_len);
	snprintf(out + text_len, cap - text_len, "\n%s%s %s\n", sig_prefix, name, b64);
	*len = total;
	return 0;
}

int
checkpoint_sign(const checkpoint_t *cp, const char *name, const cb_key_t *k, char *out,
    size_t cap, size_t *len)
{
	char text[CHECKPOINT_TEXT_MAX + 1];
	size_t text_len;
	int rc;

	if ((rc = checkpoint_format(cp, text, sizeof(text), &text_len)) != 0)
		return rc;
	return checkpoint_note_sign(text, text_len, name, k, out, cap, len);
}

/* One signature line s[0..len) (without its newline), line number `line`. With a
 * verifier, a line of its key must verify over text[0..text_len); *matched counts them. */
static int
signature_line(const char *s, size_t len, size_t line, const checkpoint_verifier_t *v,
    const char *text, size_t text_len, size_t *matched, cb_error_t *err)
{
	uint8_t raw[SIG_RAW_MAX];
	const char *name, *sp, *why;
	size_t name_len, raw_len;
	int rc;

	if (len < SIG_PREFIX_LEN || memcmp(s, sig_prefix, SIG_PREFIX_LEN) != 0)
		return refuse(err, CB_EMALFORMED, line,
		    NULL, "signature line does not start with an em dash and a space");
	name = s + SIG_PREFIX_LEN;
	if ((sp = memchr(name, ' ', len - SIG_PREFIX_LEN)) == NULL)
		return refuse(err, CB_EMALFORMED, line, NULL,
		    "signature line has no space between the key name and the signature");
	name_len = (size_t)(sp - name);
	if (name_check(name, name_len, &why) != 0)
		return refuse(err, name_len > CHECKPOINT_NAME_MAX ? CB_ETOOBIG : CB_EMALFORMED,
		    line, NULL, "%s", why);
	if ((size_t)(s + len - (sp + 1)) > SIG_B64_MAX)
		return refuse(err, CB_ETOOBIG, line, NULL,
		    "signature is longer than %d base64 characters", SIG_B64_MAX);
	if (b64_decode(sp + 1, (size_t)(s + len - (sp + 1)), raw, sizeof(raw), &raw_len,
	    &why) != 0)
		return refuse(err, CB_EMALFORMED, line, NULL, "signature %s", why);
	if (raw_len < CHECKPOINT_KEY_HASH_LEN + 1)
		return refuse(err, CB_EMALFORMED, line, NULL,
		    "signature is shorter than a key hash and one byte");
	if (v == NULL || name_len != strlen(v->name) || memcmp(name, v->name, name_len) != 0 ||
	    memcmp(raw, v->key_hash, CHECKPOINT_KEY_HASH_LEN) != 0)
		return 0;	/* another key's: ignored */
	if (raw_len != ED25519_NOTE_SIG_LEN)
		return refuse(err, CB_EBADSIG, line, NULL,
		    "signature by %s is not a 64-byte Ed25519 signature", v->name);
	rc = key_verify(v->key, text, text_len, raw + CHECKPOINT_KEY_HASH_LEN, KEY_SIG_LEN);
	if (rc == CB_EBADSIG)
		return refuse(err, rc, line, NULL, "signature by %s does not verify", v->name);
	if (rc != 0)
		return refuse(err, rc, line, NULL, "%s", cb_strerror(rc));
	(*matched)++;
	return 0;
}

/* The note's syntax, and with a verifier its signatures (see checkpoint_note_open). */
static int
note_scan(const char *note, size_t len, const checkpoint_verifier_t *v, size_t *text_len,
    cb_error_t *err)
{
	const char *why, *p, *end, *nl;
	size_t line, matched = 0, sigs = 0;
	int rc;

	if (len > CHECKPOINT_NOTE_MAX)
		return refuse(err, CB_ETOOBIG, 0, "note", "longer than %d bytes",
		    CHECKPOINT_NOTE_MAX);
	if (text_check(note, len, &line, &why) != 0)
		return refuse(err, CB_EMALFORMED, line, NULL, "%s", why);
	if (len == 0 || note[len - 1] != '\n')
		return refuse(err, CB_EMALFORMED, line, NULL, "does not end in a newline");
	/* The text ends at the last empty line. */
	for (p = note + len - 1; p > note && !(p[-1] == '\n' && p[0] == '\n'); p--)
		;
	if (p == note)
		return refuse(err, CB_EMALFORMED, 0, "note",
		    "no empty line separates the text from the signatures");
	*text_len = (size_t)(p - note);
	line = 1;
	for (const char *q = note; q < p; q++)
		line += *q == '\n';
	/* `line` is the empty line; signatures follow it up to the end. */
	end = note + len;
	if (p + 1 == end)
		return refuse(err, CB_EMALFORMED, line, NULL, "no signature line follows");
	for (p = p + 1; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		line++;
		if (++sigs > CHECKPOINT_MAX_SIGS)
			return refuse(err, CB_ETOOBIG, line, NULL,
			    "more than %d signature lines", CHECKPOINT_MAX_SIGS);
		if ((rc = signature_line(p, (size_t)(nl - p), line, v, note, *text_len,
		    &matched, err)) != 0)
			return rc;
	}
	if (v != NULL && matched == 0)
		return refuse(err, CB_EBADSIG, 0, "note",
		    "no signature by %s with key hash %02x%02x%02x%02x", v->name, v->key_hash[0],
		    v->key_hash[1], v->key_hash[2], v->key_hash[3]);
	return 0;
}

int
checkpoint_note_open(const char *note, size_t len, const checkpoint_verifier_t *v,
    size_t *text_len, cb_error_t *err)
{
	return note_scan(note, len, v, text_len, err);
}

/* The next line of text[*pos..len) (without its newline), 1-based number `line`. */
static const char *
next_line(const char *text, size_t len, size_t *pos, size_t *line_len)
{
	const char *s = text + *pos, *nl = memchr(s, '\n', len - *pos);

	*line_len = (size_t)(nl - s);
	*pos += *line_len + 1;
	return s;
}

/* The checkpoint text[0..len) (valid UTF-8, no control character, ends in a newline). */
static int
checkpoint_text_parse(const char *text, size_t len, checkpoint_t *cp, cb_error_t *err)
{
	const char *s, *why;
	size_t pos = 0, n, line, ext = 0;
	uint64_t size = 0;

	if (len > CHECKPOINT_TEXT_MAX)
		return refuse(err, CB_ETOOBIG, 0, "note", "text is longer than %d bytes",
		    CHECKPOINT_TEXT_MAX);
	memset(cp, 0, sizeof(*cp));
	for (line = 1; pos < len; line++) {
		s = next_line(text, len, &pos, &n);
		if (n == 0)
			return refuse(err, CB_EMALFORMED, line, NULL, "%s is empty",
			    line == 1 ? "origin" : line == 2 ? "tree size" :
			    line == 3 ? "root hash" : "extension line");
		if (line == 1) {
			if (n > CHECKPOINT_NAME_MAX)
				return refuse(err, CB_ETOOBIG, line, NULL,
				    "origin is longer than %d bytes", CHECKPOINT_NAME_MAX);
			memcpy(cp->origin, s, n);
		} else if (line == 2) {
			if (strspn(s, "0123456789") < n)
				return refuse(err, CB_EMALFORMED, line, NULL,
				    "tree size holds a character that is not a digit");
			if (n > 1 && s[0] == '0')
				return refuse(err, CB_EMALFORMED, line, NULL,
				    "tree size has a leading zero");
			for (size_t i = 0; i < n; i++) {
				if (size > (MERKLE_MAX_SIZE - (uint64_t)(s[i] - '0')) / 10)
					return refuse(err, CB_EMALFORMED, line, NULL,
					    "tree size is above 2^63 - 1");
				size = size * 10 + (uint64_t)(s[i] - '0');
			}
			cp->size = size;
		} else if (line == 3) {
			uint8_t root[MERKLE_HASH_LEN + 3];
			size_t root_len;

			if (b64_decode(s, n, root, sizeof(root), &root_len, &why) != 0)
				return refuse(err, CB_EMALFORMED, line, NULL, "root hash %s", why);
			if (root_len != MERKLE_HASH_LEN)
				return refuse(err, CB_EMALFORMED, line, NULL,
				    "root hash is %zu bytes, not 32", root_len);
			memcpy(cp->root, root, MERKLE_HASH_LEN);
		} else {
			memcpy(cp->extensions + ext, s, n + 1);
			ext += n + 1;
		}
	}
	if (line <= 3)
		return refuse(err, CB_EMALFORMED, line, NULL,
		    "a checkpoint has an origin, a tree size and a root hash line");
	return 0;
}

int
checkpoint_parse(const char *note, size_t len, checkpoint_t *cp, cb_error_t *err)
{
	size_t text_len;
	int rc;

	if ((rc = note_scan(note, len, NULL, &text_len, err)) != 0)
		return rc;
	return checkpoint_text_parse(note, text_len, cp, err);
}

int
checkpoint_verify(const char *note, size_t len, const checkpoint_verifier_t *v,
    checkpoint_t *cp, cb_error_t *err)
{
	size_t text_len;
	int rc;

	if ((rc = note_scan(note, len, v, &text_len, err)) != 0 ||
	    (rc = checkpoint_text_parse(note, text_len, cp, err)) != 0)
		return rc;
	if (strcmp(cp->origin, v->name) != 0)
		return refuse(err, CB_EMALFORMED, 1, NULL, "origin is not %s, the log's name",
		    v->name);
	return 0;
}

/* lib/chain.c — entry hashing and the per-entry checks of the tamper-evident chain. */
#include <stdatomic.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "chain.h"
#include "cluebus/err.h"
#include "unpack.h"

static const char chain_tag[] = "cluebus-entry-v1";

_Static_assert(UNPACK_FACTOR == 4 && UNPACK_SLACK == 64 * 1024,
    "CHAIN_WHY_EXPANDS names the budget of lib/unpack.h");

/* SHA-256 fetched once: EVP_sha256() would look the implementation up (under a lock) in
 * every EVP_DigestInit_ex. A fetch that failed (out of memory) is tried again on the next
 * call. */
static _Atomic(EVP_MD *) chain_md;

static EVP_MD *
chain_md_get(void)
{
	EVP_MD *md = atomic_load(&chain_md), *none = NULL;

	if (md != NULL || (md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		return md;
	if (!atomic_compare_exchange_strong(&chain_md, &none, md)) {
		EVP_MD_free(md);	/* another thread was first */
		md = none;
	}
	return md;
}

int
chain_sha256(const void *a, size_t alen, const void *b, size_t blen, const void *c,
    size_t clen, uint8_t out[CHAIN_HASH_LEN])
{
	EVP_MD *md = chain_md_get();
	EVP_MD_CTX *ctx;
	int ok;

	if (md == NULL)
		return CB_ECRYPTO;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return CB_ENOMEM;
	ok = EVP_DigestInit_ex2(ctx, md, NULL) == 1 &&
	    (alen == 0 || EVP_DigestUpdate(ctx, a, alen) == 1) &&
	    (blen == 0 || EVP_DigestUpdate(ctx, b, blen) == 1) &&
	    (clen == 0 || EVP_DigestUpdate(ctx, c, clen) == 1) &&
	    EVP_DigestFinal_ex(ctx, out, NULL) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : CB_ECRYPTO;
}

int
chain_hash(const uint8_t *entry, size_t len, uint8_t out[CHAIN_HASH_LEN])
{
	return chain_sha256(chain_tag, sizeof(chain_tag) - 1, entry, len, NULL, 0, out);
}

/* chain_decode, saying why it failed in `why` (static). The entry is decoded within
 * unpack_budget() of its size: a log copied from elsewhere is outside input. Running out
 * of memory is CB_ENOMEM, not a verdict on the entry. */
static int
chain_unpack(const uint8_t *val, size_t len, const uint8_t **hash, Cluebus__LogEntry **e,
    const char **why)
{
	ProtobufCMessage *m = NULL;
	int rc;

	if (len < CHAIN_HASH_LEN) {
		*why = "entry does not decode";
		return CB_ECORRUPT;
	}
	rc = unpack_bounded(&cluebus__log_entry__descriptor, val + CHAIN_HASH_LEN,
	    len - CHAIN_HASH_LEN, &m);
	if (rc == CB_ENOMEM) {
		*why = "out of memory while decoding the entry";
		return CB_ENOMEM;
	}
	if (rc != 0) {
		*why = rc == CB_ETOOBIG ? CHAIN_WHY_EXPANDS : "entry does not decode";
		return CB_ECORRUPT;
	}
	*e = (Cluebus__LogEntry *)m;
	*hash = val;
	return 0;
}

int
chain_decode(const uint8_t *val, size_t len, const uint8_t **hash, Cluebus__LogEntry **e)
{
	const char *why;

	return chain_unpack(val, len, hash, e, &why);
}

int
chain_check_hash(const uint8_t *val, size_t len, const char **why)
{
	uint8_t h[CHAIN_HASH_LEN];
	int rc;

	if ((rc = chain_hash(val + CHAIN_HASH_LEN, len - CHAIN_HASH_LEN, h)) != 0) {
		*why = "hash computation failed";
		return rc;
	}
	if (CRYPTO_memcmp(h, val, CHAIN_HASH_LEN) != 0) {
		*why = "entry bytes do not match its recorded hash";
		return CB_ECORRUPT;
	}
	return 0;
}

int
chain_check_links(const Cluebus__LogEntry *e, uint64_t seq,
    const uint8_t prev[CHAIN_HASH_LEN], const char **why)
{
	if (e->seq != seq)
		*why = "entry records a different sequence number";
	else if (e->prev_hash.len != CHAIN_HASH_LEN ||
	    CRYPTO_memcmp(e->prev_hash.data, prev, CHAIN_HASH_LEN) != 0)
		*why = "prev_hash does not link to the previous entry";
	else
		return 0;
	return CB_ECORRUPT;
}

int
chain_check_decoded(const uint8_t *val, size_t len, const Cluebus__LogEntry *e, uint64_t seq,
    const uint8_t prev[CHAIN_HASH_LEN], const char **why)
{
	int rc;

	if ((rc = chain_check_hash(val, len, why)) != 0)
		return rc;
	return chain_check_links(e, seq, prev, why);
}

int
chain_check(const uint8_t *val, size_t len, uint64_t seq, const uint8_t prev[CHAIN_HASH_LEN],
    const char **why)
{
	const uint8_t *recorded;
	Cluebus__LogEntry *e;
	int rc;

	if ((rc = chain_unpack(val, len, &recorded, &e, why)) != 0)
		return rc;
	rc = chain_check_decoded(val, len, e, seq, prev, why);
	cluebus__log_entry__free_unpacked(e, NULL);
	return rc;
}

void
chain_entry_free(Cluebus__LogEntry *e, Cluebus__Message *m)
{
	if (m != NULL)
		protobuf_c_message_free_unpacked(&m->base, NULL);
	if (e != NULL)
		cluebus__log_entry__free_unpacked(e, NULL);
}

/* lib/clientcorr.c — sending and receiving the city correlation key (see clientcorr.h).
 *
 * Invariants: the key is never written anywhere but STATE/correlation-V.key (0600) and the
 * seal; it is never logged; a key enters the ring only after its file is durable. */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "clientcorr.h"
#include "clientseal.h"
#include "corrkeymsg.h"
#include "log.h"
#include "seal.h"
#include "util.h"

#define KEYFILE_FORMAT	"correlation-%u.key"

/* ---- sending ---- */

static const matchkey_t *
ring_find(const matchkey_t *ring, size_t n, uint32_t version)
{
	for (size_t i = 0; i < n; i++)
		if (ring[i].version == version)
			return &ring[i];
	return NULL;
}

int
clientcorr_seal(sealdir_t *d, const matchkey_t *ring, size_t nring, Cluebus__Message *m,
    ProtobufCBinaryData *clear, cb_error_t *err)
{
	seal_recipient_t rcpt[SEAL_MAX_RECIPIENTS];
	seal_binding_t bind = { m->message_id.data, m->sender };
	Cluebus__CorrelationKey *body = m->correlation_key;
	Cluebus__Sealed *sealed = NULL;
	const matchkey_t *k;
	size_t n = 0;
	int rc;

	clear->data = NULL;
	clear->len = 0;
	if ((k = ring_find(ring, nring, body->version)) == NULL)
		return cb_fail(err, "correlation_key.version", CB_EMALFORMED, "this agent holds "
		    "no correlation key of version %u (correlation_key in its config)",
		    body->version);
	if (m->message_id.len != SEAL_MESSAGE_ID_LEN)
		return cb_fail(err, "message_id", CB_EINVAL, "not set");
	if ((rc = sealdir_recipients(d, m, rcpt, &n, err)) != 0 ||
	    (rc = clientseal_pack(m, clear)) != 0)
		return rc;
	if ((rc = seal_encrypt(&bind, rcpt, n, k->key, MATCHKEY_LEN, &sealed, err)) != 0) {
		free(clear->data);
		clear->data = NULL;
		clear->len = 0;
		return rc;
	}
	body->sealed_key = sealed;
	return 0;
}

/* ---- receiving ---- */

static json_t *
facts_new(const Cluebus__CorrelationKey *b, const char *status)
{
	char when[40];
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "status", json_string(status));
	json_object_set_new(o, "version", json_integer(b->version));
	if (b->effective_ms > 0) {
		clock_format_rfc3339(b->effective_ms, when, sizeof(when));
		json_object_set_new(o, "effective_at", json_string(when));
	}
	return o;
}

/* The "not_installed" facts, with a warning in the log (no key in either). */
static json_t *
not_installed(const Cluebus__CorrelationKey *b, uint64_t seq, const char *code,
    const char *reason)
{
	json_t *o = facts_new(b, "not_installed");

	log_warnx("delivery %llu: correlation key version %u not installed (%s: %s)",
	    (unsigned long long)seq, b->version, code, reason);
	if (o != NULL) {
		json_object_set_new(o, "code", json_string(code));
		json_object_set_new(o, "reason", json_string(reason));
	}
	return o;
}

/* Opens the seal into `k` (version and effective time from the body). Returns 0 or an
 * error with `err` naming why. */
static int
key_open(const clientcorr_rx_t *rx, const Cluebus__Message *m, matchkey_t *k,
    cb_error_t *err)
{
	const Cluebus__Sealed *s = m->correlation_key->sealed_key;
	seal_binding_t bind = { m->message_id.data, m->sender };
	const sealkey_t *key;
	uint8_t *plain = NULL;
	size_t len = 0;
	int rc;

	if ((key = clientseal_key_pick(s, rx->seal_keys, rx->n_seal_keys, rx->unit)) == NULL)
		return cb_fail(err, "sealing", CB_EINVAL,
		    "this agent has no sealing key configured (seal_key)");
	if ((rc = seal_open(s, &bind, rx->unit, key, &plain, &len, err)) != 0)
		return rc;
	if ((rc = corrkeymsg_key_check(plain, len, err)) == 0) {
		memcpy(k->key, plain, MATCHKEY_LEN);
		k->version = m->correlation_key->version;
		k->effective_ms = m->correlation_key->effective_ms;
	}
	seal_plain_free(plain, len);
	return rc;
}

/* What the ring says of `k`: NULL (install it) or the status/code of not installing. */
static const char *
ring_verdict(const clientcorr_rx_t *rx, const matchkey_t *k, const char **reason)
{
	const matchkey_t *held = ring_find(rx->ring, rx->nring, k->version);
	uint32_t lowest = UINT32_MAX;

	if (held != NULL) {
		if (CRYPTO_memcmp(held->key, k->key, MATCHKEY_LEN) == 0)
			return "known";
		*reason = "a different key of this version is held (configured or delivered "
		    "before); it stays in use";
		return "conflict";
	}
	for (size_t i = 0; i < rx->nring; i++)
		if (rx->ring[i].version < lowest)
			lowest = rx->ring[i].version;
	if (rx->nring == MATCHKEY_RING_MAX && k->version < lowest) {
		*reason = "older than every key held";
		return "old";
	}
	return NULL;
}

json_t *
clientcorr_open(const clientcorr_rx_t *rx, const Cluebus__Message *m, uint64_t seq,
    matchkey_t **install)
{
	const Cluebus__CorrelationKey *b = m->correlation_key;
	const char *verdict, *reason = "";
	matchkey_t *k;
	cb_error_t err;

	*install = NULL;
	if (rx->office == NULL || strcmp(m->sender, rx->office) != 0)
		return not_installed(b, seq, "refused", rx->office == NULL ? "no directory yet: "
		    "the city office is not known" : "not sent by the city office");
	if (!rx->verified)
		return not_installed(b, seq, "refused",
		    "the sender's signature was not verified by this agent");
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	if (key_open(rx, m, k, &err) != 0) {
		char text[sizeof(err.field) + sizeof(err.reason) + 4];

		clientcorr_free(k);
		snprintf(text, sizeof(text), "%s: %s", err.field, err.reason);
		return not_installed(b, seq, "unopened", text);
	}
	if ((verdict = ring_verdict(rx, k, &reason)) != NULL) {
		clientcorr_free(k);
		if (strcmp(verdict, "known") == 0)
			return facts_new(b, "known");
		return not_installed(b, seq, verdict, reason);
	}
	*install = k;
	return facts_new(b, "installed");
}

static int
key_path(char *path, size_t size, const char *state_dir, uint32_t version)
{
	int n = snprintf(path, size, "%s/" KEYFILE_FORMAT, state_dir, version);

	return n > 0 && (size_t)n < size ? 0 : CB_EIO;
}

int
clientcorr_install(const char *state_dir, const matchkey_t *k, matchkey_t *ring, size_t *n,
    size_t max)
{
	char path[PATH_MAX];
	int rc;

	if (ring_find(ring, *n, k->version) != NULL)
		return 0;	/* a key of this version came first: it stays (ring_verdict) */
	if ((rc = key_path(path, sizeof(path), state_dir, k->version)) != 0 ||
	    (rc = matchkey_save(path, k)) != 0) {
		log_warnx("correlation key version %u: cannot write %s: %s", k->version, path,
		    cb_strerror(rc));
		return rc;
	}
	if (matchkey_ring_add(ring, n, max, k, NULL) == 1)
		log_info("correlation key version %u installed (%s), in use from %lld ms",
		    k->version, path, (long long)k->effective_ms);
	return 0;
}

int
clientcorr_load(const char *state_dir, matchkey_t *ring, size_t *n, size_t max)
{
	char path[PATH_MAX];
	struct dirent *de;
	cb_error_t err;
	matchkey_t k;
	unsigned version;
	DIR *d;
	int same = 1;

	if ((d = opendir(state_dir)) == NULL)
		return CB_EIO;
	while ((de = readdir(d)) != NULL) {
		char check[64];

		if (sscanf(de->d_name, KEYFILE_FORMAT, &version) != 1 ||
		    snprintf(check, sizeof(check), KEYFILE_FORMAT, version) < 0 ||
		    strcmp(check, de->d_name) != 0 ||
		    key_path(path, sizeof(path), state_dir, version) != 0)
			continue;	/* not a file clientcorr_install wrote */
		if (matchkey_load(path, &k, &err) != 0) {
			log_warnx("%s: %s: %s; skipped", path, err.field, err.reason);
			continue;
		}
		if (k.version != version)
			log_warnx("%s holds version %u; skipped", path, k.version);
		else if (matchkey_ring_add(ring, n, max, &k, &same) == 0 && !same)
			log_warnx("%s differs from the configured key of version %u, which stays "
			    "in use", path, version);
		matchkey_wipe(&k);
	}
	closedir(d);
	return 0;
}

void
clientcorr_free(matchkey_t *k)
{
	matchkey_wipe(k);
	free(k);
}

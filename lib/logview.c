/* lib/logview.c — an agency's view of the broker's log: the held checkpoint and the alarm.
 *
 * See logview.h for the files and the rules. The held note is re-verified when it is
 * loaded, so a file edited by hand is refused rather than trusted. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "chain.h"
#include "log.h"
#include "logview.h"
#include "util.h"

struct logview {
	char		 note_path[PATH_MAX], alarm_path[PATH_MAX];
	const cb_key_t	*key;
	int		 held;		/* cp and note are valid */
	checkpoint_t	 cp;
	char		*note;
	char		*alarm;		/* the alarm's reason, or NULL */
	uint64_t	 version;
};

/* Verifies `note` with the broker's key under the note's own origin. */
static int
logview_verify(const logview_t *v, const char *note, size_t len, checkpoint_t *cp,
    cb_error_t *err)
{
	checkpoint_verifier_t *ver = NULL;
	int rc;

	if ((rc = checkpoint_parse(note, len, cp, err)) != 0)
		return rc;
	if (v->key == NULL)
		return cb_fail(err, "key", CB_EKEY, "no broker key to check it with (the agent's "
		    "registry file names none)");
	if ((rc = checkpoint_verifier_new(cp->origin, v->key, &ver)) != 0)
		return cb_fail(err, "origin", rc, "not a key name");
	rc = checkpoint_verify(note, len, ver, cp, err);
	checkpoint_verifier_free(ver);
	return rc;
}

static int
logview_load_alarm(logview_t *v)
{
	json_error_t jerr;
	json_t *doc;
	const char *reason;

	if (access(v->alarm_path, F_OK) != 0)
		return 0;
	if ((doc = json_load_file(v->alarm_path, 0, &jerr)) == NULL ||
	    (reason = json_string_value(json_object_get(doc, "reason"))) == NULL)
		reason = "alarm.json is present but unreadable";
	v->alarm = strdup(reason);
	json_decref(doc);
	return v->alarm != NULL ? 0 : CB_ENOMEM;
}

int
logview_open(const char *dir, const cb_key_t *broker_key, logview_t **out)
{
	logview_t *v;
	cb_error_t err;
	size_t len;
	int rc;

	*out = NULL;
	if (file_mkdirs(dir, 0700) != 0)
		return CB_EIO;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return CB_ENOMEM;
	v->key = broker_key;
	snprintf(v->note_path, sizeof(v->note_path), "%s/%s", dir, LOGVIEW_NOTE_FILE);
	snprintf(v->alarm_path, sizeof(v->alarm_path), "%s/%s", dir, LOGVIEW_ALARM_FILE);
	if ((rc = logview_load_alarm(v)) != 0)
		goto fail;
	if (access(v->note_path, F_OK) == 0) {
		if ((rc = file_read_all(v->note_path, CHECKPOINT_NOTE_MAX, &v->note, &len)) != 0)
			goto fail;
		if (logview_verify(v, v->note, len, &v->cp, &err) != 0) {
			/* Verified when it was stored: a rotated broker key (a new registry
			 * file) no longer verifies it, but it is still the history held. */
			log_warnx("%s: the held checkpoint does not verify with the broker's "
			    "key now (%s: %s); kept as it is", v->note_path, err.field,
			    err.reason);
			if (checkpoint_parse(v->note, len, &v->cp, &err) != 0) {
				log_warnx("%s: %s: %s", v->note_path, err.field, err.reason);
				rc = CB_ECORRUPT;
				goto fail;
			}
		}
		v->held = 1;
	}
	*out = v;
	return 0;
fail:
	logview_free(v);
	return rc;
}

void
logview_free(logview_t *v)
{
	if (v == NULL)
		return;
	free(v->note);
	free(v->alarm);
	free(v);
}

const checkpoint_t *
logview_checkpoint(const logview_t *v)
{
	return v->held ? &v->cp : NULL;
}

const char *
logview_note(const logview_t *v)
{
	return v->held ? v->note : NULL;
}

const char *
logview_alarm(const logview_t *v)
{
	return v->alarm;
}

uint64_t
logview_version(const logview_t *v)
{
	return v->version;
}

int
logview_raise(logview_t *v, const char *kind, const char *reason, const char *offered)
{
	char when[40];
	json_t *doc;
	char *text;
	int rc;

	log_warnx("ALARM: %s", reason);
	if (v->alarm != NULL)
		return 0;	/* the first alarm and its evidence are kept */
	clock_format_rfc3339(clock_now_ms(), when, sizeof(when));
	doc = json_pack("{s:s, s:s, s:s, s:s?, s:s?}", "alarm", kind, "reason", reason,
	    "since", when, "held", v->held ? v->note : NULL, "offered", offered);
	if (doc == NULL || (text = json_dumps(doc, JSON_INDENT(2))) == NULL) {
		json_decref(doc);
		return CB_ENOMEM;
	}
	json_decref(doc);
	rc = file_write_atomic(v->alarm_path, text, strlen(text), 0600);
	free(text);
	if (rc != 0)
		return CB_EIO;
	if ((v->alarm = strdup(reason)) == NULL)
		return CB_ENOMEM;
	v->version++;
	return 0;
}

/* Stores `note` as the held checkpoint `cp`. */
static int
logview_hold(logview_t *v, const char *note, size_t len, const checkpoint_t *cp)
{
	char *copy;

	if (file_write_atomic(v->note_path, note, len, 0600) != 0)
		return CB_EIO;
	if ((copy = strndup(note, len)) == NULL)
		return CB_ENOMEM;
	free(v->note);
	v->note = copy;
	v->cp = *cp;
	v->held = 1;
	v->version++;
	return 0;
}

/* Reads a proof's hashes, each exactly MERKLE_HASH_LEN bytes. */
static int
logview_proof(const ProtobufCBinaryData *hashes, size_t n, merkle_proof_t *p)
{
	if (n > MERKLE_MAX_PROOF)
		return CB_ETOOBIG;
	for (size_t i = 0; i < n; i++) {
		if (hashes[i].len != MERKLE_HASH_LEN)
			return CB_EMALFORMED;
		memcpy(p->hash[i], hashes[i].data, MERKLE_HASH_LEN);
	}
	p->len = n;
	return 0;
}

/* Raises the alarm of `kind` with the text of `why` and returns LOGVIEW_ALARM. */
static int
logview_alarm_verdict(logview_t *v, const char *kind, const char *note,
    enum logview_verdict *verdict, const char *why)
{
	*verdict = LOGVIEW_ALARM;
	return logview_raise(v, kind, why, note);
}

int
logview_offer(logview_t *v, const Cluebus__CheckpointNote *n, checkpoint_t *cp,
    enum logview_verdict *verdict, char *why, size_t whylen)
{
	const char *note = n->note != NULL ? n->note : "";
	size_t len = strlen(note);
	merkle_proof_t proof;
	const char *pwhy = NULL;
	cb_error_t err;
	int rc;

	why[0] = '\0';
	*verdict = LOGVIEW_UNVERIFIED;
	if (logview_verify(v, note, len, cp, &err) != 0) {
		snprintf(why, whylen, "checkpoint refused: %s: %s", err.field, err.reason);
		return 0;
	}
	if (!v->held) {
		*verdict = LOGVIEW_NEWER;
		return logview_hold(v, note, len, cp);
	}
	if (strcmp(cp->origin, v->cp.origin) != 0) {
		snprintf(why, whylen, "checkpoint refused: origin '%s', the held one's is '%s'",
		    cp->origin, v->cp.origin);
		return 0;
	}
	if (cp->size < v->cp.size) {
		snprintf(why, whylen, "rollback: the broker's checkpoint has tree size %llu, "
		    "below the %llu of the checkpoint it signed before and this agency holds "
		    "(was it restarted on an older copy of its data?)",
		    (unsigned long long)cp->size, (unsigned long long)v->cp.size);
		return logview_alarm_verdict(v, "rollback", note, verdict, why);
	}
	if (cp->size == v->cp.size) {
		if (CRYPTO_memcmp(cp->root, v->cp.root, MERKLE_HASH_LEN) == 0) {
			*verdict = LOGVIEW_SAME;
			return 0;
		}
		snprintf(why, whylen, "fork: the broker signed two different roots for tree "
		    "size %llu", (unsigned long long)cp->size);
		return logview_alarm_verdict(v, "fork", note, verdict, why);
	}
	if (n->old_size != v->cp.size) {
		*verdict = LOGVIEW_ASK;
		snprintf(why, whylen, "checkpoint %llu came with a proof from size %llu, not "
		    "from the held %llu", (unsigned long long)cp->size,
		    (unsigned long long)n->old_size, (unsigned long long)v->cp.size);
		return 0;
	}
	if ((rc = logview_proof(n->consistency, n->n_consistency, &proof)) == 0)
		rc = merkle_verify_consistency(v->cp.size, cp->size, &proof, v->cp.root,
		    cp->root, &pwhy);
	if (rc == CB_ENOMEM || rc == CB_ECRYPTO)
		return rc;
	if (rc != 0) {
		snprintf(why, whylen, "fork: the broker's checkpoint of tree size %llu is not "
		    "an extension of the one of size %llu this agency holds (consistency proof: "
		    "%s)", (unsigned long long)cp->size, (unsigned long long)v->cp.size,
		    pwhy != NULL ? pwhy : cb_strerror(rc));
		return logview_alarm_verdict(v, "fork", note, verdict, why);
	}
	*verdict = LOGVIEW_NEWER;
	return logview_hold(v, note, len, cp);
}

int
logview_check_inclusion(const checkpoint_t *cp, const Cluebus__CheckpointInclusion *incl,
    const uint8_t entry_hash[32], char *why, size_t whylen)
{
	uint8_t hash[CHAIN_HASH_LEN], leaf[MERKLE_HASH_LEN];
	merkle_proof_t proof;
	const char *pwhy = NULL;
	int rc;

	why[0] = '\0';
	if (incl->seq == 0 || incl->seq > cp->size) {
		snprintf(why, whylen, "seq %llu is outside the checkpoint's tree of %llu",
		    (unsigned long long)incl->seq, (unsigned long long)cp->size);
		return CB_EMALFORMED;
	}
	if ((rc = logview_proof(incl->hashes, incl->n_hashes, &proof)) != 0) {
		snprintf(why, whylen, "seq %llu: the proof's hashes are not %d bytes each, or "
		    "more than %d", (unsigned long long)incl->seq, MERKLE_HASH_LEN,
		    MERKLE_MAX_PROOF);
		return CB_EMALFORMED;
	}
	if ((rc = chain_hash(incl->entry.data, incl->entry.len, hash)) != 0 ||
	    (rc = merkle_leaf_hash(incl->entry.data, incl->entry.len, leaf)) != 0)
		return rc;
	if (CRYPTO_memcmp(hash, entry_hash, CHAIN_HASH_LEN) != 0) {
		snprintf(why, whylen, "the log's entry %llu is not the one this agency holds a "
		    "receipt for (its hash differs)", (unsigned long long)incl->seq);
		return CB_ECORRUPT;
	}
	rc = merkle_verify_inclusion(leaf, incl->seq - 1, cp->size, &proof, cp->root, &pwhy);
	if (rc == CB_ENOMEM || rc == CB_ECRYPTO)
		return rc;
	if (rc != 0) {
		snprintf(why, whylen, "entry %llu is not in the broker's tree of size %llu "
		    "(inclusion proof: %s)", (unsigned long long)incl->seq,
		    (unsigned long long)cp->size, pwhy != NULL ? pwhy : cb_strerror(rc));
		return CB_ECORRUPT;
	}
	return 0;
}

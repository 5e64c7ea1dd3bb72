/* lib/envelope.c — build, sign, verify and open envelopes; validate message headers.
 *
 * Invariant: nothing is re-serialized between signing and verification. The signature
 * covers Envelope.signed byte for byte; receivers parse those bytes only after the
 * signature checked out, so a forged message never reaches the protobuf parser's body
 * handling. */
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "sealbody.h"
#include "unpack.h"
#include "util.h"

int
envelope_sign(Cluebus__Message *msg, const cb_key_t *key, Cluebus__Envelope **out)
{
	Cluebus__Envelope *env = NULL;
	size_t len;
	int rc = CB_ENOMEM;

	if ((env = calloc(1, sizeof(*env))) == NULL)
		return CB_ENOMEM;
	cluebus__envelope__init(env);
	if ((env->key_id.data = malloc(KEY_ID_LEN)) == NULL)
		goto fail;
	memcpy(env->key_id.data, key_id(key), KEY_ID_LEN);
	env->key_id.len = KEY_ID_LEN;
	if ((env->sender = strdup(msg->sender)) == NULL)
		goto fail;
	msg->key_id = env->key_id;
	if ((len = cluebus__message__get_packed_size(msg)) > ENVELOPE_MAX) {
		rc = CB_ETOOBIG;
		goto fail;
	}
	if ((env->signed_.data = malloc(len > 0 ? len : 1)) == NULL ||
	    (env->signature.data = malloc(KEY_SIG_LEN)) == NULL)
		goto fail;
	env->signed_.len = cluebus__message__pack(msg, env->signed_.data);
	env->signature.len = KEY_SIG_LEN;
	if ((rc = key_sign(key, env->signed_.data, env->signed_.len, env->signature.data)) != 0)
		goto fail;
	*out = env;
	return 0;
fail:
	msg->key_id.data = NULL;
	msg->key_id.len = 0;
	envelope_free(env);
	return rc;
}

int
envelope_verify(const Cluebus__Envelope *env, const cb_key_t *key)
{
	if (env->key_id.len != KEY_ID_LEN || memcmp(env->key_id.data, key_id(key), KEY_ID_LEN))
		return CB_EBADSIG;
	return key_verify(key, env->signed_.data, env->signed_.len, env->signature.data,
	    env->signature.len);
}

int
envelope_open(const Cluebus__Envelope *env, Cluebus__Message **out, cb_error_t *err)
{
	ProtobufCMessage *pm = NULL;
	Cluebus__Message *m;
	int rc;

	if (env->signed_.len > ENVELOPE_MAX)
		return cb_fail(err, "envelope.signed", CB_EMALFORMED,
		    "larger than %d bytes", ENVELOPE_MAX);
	rc = unpack_bounded(&cluebus__message__descriptor, env->signed_.data, env->signed_.len,
	    &pm);
	if (rc == CB_ENOMEM)
		return cb_fail(err, "envelope.signed", CB_ENOMEM, "out of memory while decoding");
	if (rc == CB_ETOOBIG)
		return cb_fail(err, "envelope.signed", CB_EMALFORMED,
		    "expands beyond %zu bytes when decoded", unpack_budget(env->signed_.len));
	if (rc != 0)
		return cb_fail(err, "envelope.signed", CB_EMALFORMED,
		    "not a valid Message encoding");
	m = (Cluebus__Message *)pm;
	if (strcmp(m->sender, env->sender != NULL ? env->sender : "") != 0) {
		cb_error_set(err, "sender", "signed sender differs from the envelope's");
		rc = CB_EMALFORMED;
	} else if (m->key_id.len != env->key_id.len || (env->key_id.len != 0 &&
	    memcmp(m->key_id.data, env->key_id.data, env->key_id.len) != 0)) {
		cb_error_set(err, "key_id", "signed key id differs from the envelope's");
		rc = CB_EMALFORMED;
	} else {
		rc = message_validate(m, err);
	}
	if (rc != 0) {
		protobuf_c_message_free_unpacked(&m->base, NULL);
		return rc;
	}
	*out = m;
	return 0;
}

static int
bytes_dup(ProtobufCBinaryData *dst, const ProtobufCBinaryData *src)
{
	dst->len = 0;
	dst->data = NULL;
	if (src->len == 0)
		return 0;
	if ((dst->data = malloc(src->len)) == NULL)
		return CB_ENOMEM;
	memcpy(dst->data, src->data, src->len);
	dst->len = src->len;
	return 0;
}

Cluebus__Envelope *
envelope_dup(const Cluebus__Envelope *env)
{
	Cluebus__Envelope *d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	cluebus__envelope__init(d);
	if (bytes_dup(&d->signed_, &env->signed_) || bytes_dup(&d->signature, &env->signature) ||
	    bytes_dup(&d->key_id, &env->key_id) ||
	    (d->sender = strdup(env->sender != NULL ? env->sender : "")) == NULL) {
		envelope_free(d);
		return NULL;
	}
	return d;
}

void
envelope_free(Cluebus__Envelope *env)
{
	if (env == NULL)
		return;
	free(env->signed_.data);
	free(env->signature.data);
	free(env->key_id.data);
	if (env->sender != protobuf_c_empty_string)
		free(env->sender);
	free(env);
}

/* ---- validation ---- */

static int
text_ok(const char *s, size_t max)
{
	return s != NULL && strlen(s) <= max;
}

static int
units_ok(char **units, size_t n, const char *field, cb_error_t *err)
{
	if (n > 64) {
		cb_error_set(err, field, "more than 64 units");
		return CB_EMALFORMED;
	}
	for (size_t i = 0; i < n; i++) {
		if (!unit_id_valid(units[i]))
			return cb_fail(err, field, CB_EMALFORMED, "entry %zu is not a unit id", i);
	}
	return 0;
}

/* Receipts, feedback and supervisions act on a referral: they must name it. */
static int
refers_ok(const Cluebus__Message *m, cb_error_t *err)
{
	if (m->refers_to.len != MESSAGE_ID_LEN)
		return cb_fail(err, "refers_to", CB_EMALFORMED, "required: the referral's id");
	return 0;
}

static int
clue_validate(const Cluebus__Clue *c, cb_error_t *err)
{
	if (c->category <= CLUEBUS__CATEGORY__CATEGORY_UNSPECIFIED ||
	    c->category > CLUEBUS__CATEGORY__CATEGORY_OTHER)
		return cb_fail(err, "clue.category", CB_EMALFORMED, "unknown category");
	if (strlen(c->jurisdiction) != 6 ||
	    strspn(c->jurisdiction, "0123456789") != 6)
		return cb_fail(err, "clue.jurisdiction", CB_EMALFORMED,
		    "not a 6-digit division code");
	if ((c->sealed == NULL && c->summary[0] == '\0') || !text_ok(c->summary, 16 * 1024))
		return cb_fail(err, "clue.summary", CB_EMALFORMED,
		    "empty or longer than 16384 bytes");
	if (!text_ok(c->location, 256) || !text_ok(c->handling_text, 16 * 1024))
		return cb_fail(err, "clue.location", CB_EMALFORMED, "too long");
	if (c->handling <= CLUEBUS__HANDLING_CODE__HANDLING_UNSPECIFIED ||
	    c->handling > CLUEBUS__HANDLING_CODE__HANDLING_H3)
		return cb_fail(err, "clue.handling", CB_EMALFORMED, "unknown handling code");
	if (c->handling == CLUEBUS__HANDLING_CODE__HANDLING_H3 && c->handling_text[0] == '\0')
		return cb_fail(err, "clue.handling_text", CB_EMALFORMED,
		    "required for handling code h3: the restriction");
	if (c->source_reliability <= CLUEBUS__SOURCE_RELIABILITY__RELIABILITY_UNSPECIFIED ||
	    c->source_reliability > CLUEBUS__SOURCE_RELIABILITY__RELIABILITY_X)
		return cb_fail(err, "clue.source_reliability", CB_EMALFORMED, "unknown value");
	if (c->info_accuracy < 1 || c->info_accuracy > 4)
		return cb_fail(err, "clue.info_accuracy", CB_EMALFORMED, "not in 1..4");
	if (c->n_persons > 64 || c->n_attachments > 64)
		return cb_fail(err, "clue.persons", CB_EMALFORMED, "more than 64 items");
	for (size_t i = 0; i < c->n_attachments; i++)
		if (c->attachments[i]->sha256.len != 32)
			return cb_fail(err, "clue.attachments.sha256", CB_EMALFORMED,
			    "not 32 bytes");
	return 0;
}

/* Which body case each kind must carry, indexed by Cluebus__Kind. */
static const Cluebus__Message__BodyCase kind_body[] = {
	[CLUEBUS__KIND__KIND_CLUE] = CLUEBUS__MESSAGE__BODY_CLUE,
	[CLUEBUS__KIND__KIND_REFERRAL] = CLUEBUS__MESSAGE__BODY_REFERRAL,
	[CLUEBUS__KIND__KIND_RECEIPT] = CLUEBUS__MESSAGE__BODY_RECEIPT,
	[CLUEBUS__KIND__KIND_FEEDBACK] = CLUEBUS__MESSAGE__BODY_FEEDBACK,
	[CLUEBUS__KIND__KIND_SUPERVISION] = CLUEBUS__MESSAGE__BODY_SUPERVISION,
	[CLUEBUS__KIND__KIND_REPORT] = CLUEBUS__MESSAGE__BODY_REPORT,
	[CLUEBUS__KIND__KIND_ESCALATION] = CLUEBUS__MESSAGE__BODY_ESCALATION,
	[CLUEBUS__KIND__KIND_REGISTRY] = CLUEBUS__MESSAGE__BODY_REGISTRY,
	[CLUEBUS__KIND__KIND_MATCH] = CLUEBUS__MESSAGE__BODY_MATCH,
	[CLUEBUS__KIND__KIND_PERMISSION] = CLUEBUS__MESSAGE__BODY_PERMISSION,
};

int
message_validate(const Cluebus__Message *m, cb_error_t *err)
{
	if (m->message_id.len != MESSAGE_ID_LEN)
		return cb_fail(err, "message_id", CB_EMALFORMED, "not 16 bytes");
	if (!unit_id_valid(m->sender))
		return cb_fail(err, "sender", CB_EMALFORMED, "not a unit id");
	if (m->key_id.len != KEY_ID_LEN)
		return cb_fail(err, "key_id", CB_EMALFORMED, "not 8 bytes");
	if (m->created_ms <= 0)
		return cb_fail(err, "created", CB_EMALFORMED, "missing");
	if (m->kind <= CLUEBUS__KIND__KIND_UNSPECIFIED || m->kind > CLUEBUS__KIND__KIND_PERMISSION)
		return cb_fail(err, "kind", CB_EMALFORMED, "unknown kind");
	if (m->priority <= CLUEBUS__PRIORITY__PRIORITY_UNSPECIFIED ||
	    m->priority > CLUEBUS__PRIORITY__PRIORITY_IMMEDIATE)
		return cb_fail(err, "priority", CB_EMALFORMED, "unknown priority");
	if (!text_ok(m->case_ref, 256))
		return cb_fail(err, "case_ref", CB_EMALFORMED, "longer than 256 bytes");
	if (m->refers_to.len != 0 && m->refers_to.len != MESSAGE_ID_LEN)
		return cb_fail(err, "refers_to", CB_EMALFORMED, "not 16 bytes");
	if (m->body_case != kind_body[m->kind])
		return cb_fail(err, "kind", CB_EMALFORMED, "body does not match the kind");
	if (sealbody_check(m, err) != 0)
		return CB_EMALFORMED;
	switch (m->body_case) {
	case CLUEBUS__MESSAGE__BODY_CLUE:
		return clue_validate(m->clue, err);
	case CLUEBUS__MESSAGE__BODY_REFERRAL:
		if (m->referral->n_to_units == 0)
			return cb_fail(err, "referral.to_units", CB_EMALFORMED, "names no unit");
		if (m->referral->n_persons > 64 || !text_ok(m->referral->summary, 16 * 1024))
			return cb_fail(err, "referral.persons", CB_EMALFORMED,
			    "more than 64 persons, or a summary over 16384 bytes");
		if (m->referral->action <= CLUEBUS__ACTION__ACTION_UNSPECIFIED ||
		    m->referral->action > CLUEBUS__ACTION__ACTION_OTHER)
			return cb_fail(err, "referral.action", CB_EMALFORMED, "unknown action");
		return units_ok(m->referral->to_units, m->referral->n_to_units,
		    "referral.to_units", err);
	case CLUEBUS__MESSAGE__BODY_RECEIPT:
		return refers_ok(m, err);
	case CLUEBUS__MESSAGE__BODY_FEEDBACK:
		if (m->feedback->status <= CLUEBUS__FEEDBACK_STATUS__FEEDBACK_UNSPECIFIED ||
		    m->feedback->status > CLUEBUS__FEEDBACK_STATUS__FEEDBACK_TRANSFERRED)
			return cb_fail(err, "feedback.status", CB_EMALFORMED, "unknown status");
		if ((m->feedback->status == CLUEBUS__FEEDBACK_STATUS__FEEDBACK_TRANSFERRED) !=
		    (m->feedback->n_transferred_to > 0))
			return cb_fail(err, "feedback.transferred_to", CB_EMALFORMED,
			    "given for, and only for, status transferred");
		if (units_ok(m->feedback->transferred_to, m->feedback->n_transferred_to,
		    "feedback.transferred_to", err) != 0)
			return CB_EMALFORMED;
		return refers_ok(m, err);
	case CLUEBUS__MESSAGE__BODY_SUPERVISION:
		if (m->supervision->level <= CLUEBUS__SUPERVISION_LEVEL__SUPERVISION_UNSPECIFIED ||
		    m->supervision->level > CLUEBUS__SUPERVISION_LEVEL__SUPERVISION_LISTED)
			return cb_fail(err, "supervision.level", CB_EMALFORMED, "unknown level");
		if (units_ok(m->supervision->units, m->supervision->n_units,
		    "supervision.units", err) != 0)
			return CB_EMALFORMED;
		return refers_ok(m, err);
	case CLUEBUS__MESSAGE__BODY_REPORT:
		if (m->report->type <= CLUEBUS__REPORT_TYPE__REPORT_UNSPECIFIED ||
		    m->report->type > CLUEBUS__REPORT_TYPE__REPORT_WARNING_NOTICE)
			return cb_fail(err, "report.type", CB_EMALFORMED, "unknown type");
		return units_ok(m->report->to_units, m->report->n_to_units,
		    "report.to_units", err);
	case CLUEBUS__MESSAGE__BODY_PERMISSION:
		if (m->permission->n_units == 0)
			return cb_fail(err, "permission.units", CB_EMALFORMED, "names no unit");
		if (units_ok(m->permission->units, m->permission->n_units, "permission.units",
		    err) != 0)
			return CB_EMALFORMED;
		return refers_ok(m, err);
	case CLUEBUS__MESSAGE__BODY_ESCALATION:
		if (m->escalation->referral_id.len != MESSAGE_ID_LEN ||
		    !unit_id_valid(m->escalation->unit))
			return cb_fail(err, "escalation", CB_EMALFORMED,
			    "needs a referral id and a unit");
		return 0;
	default:
		return 0;
	}
}

/* Packs `m` without the fields a re-signing changes. *out is new (free it). */
static int
message_pack_content(const Cluebus__Message *m, uint8_t **out, size_t *len)
{
	Cluebus__Message content = *m;

	content.key_id.data = NULL;
	content.key_id.len = 0;
	content.created_ms = 0;
	*len = cluebus__message__get_packed_size(&content);
	if ((*out = malloc(*len > 0 ? *len : 1)) == NULL)
		return CB_ENOMEM;
	cluebus__message__pack(&content, *out);
	return 0;
}

int
message_same_content(const Cluebus__Message *a, const Cluebus__Message *b)
{
	uint8_t *pa = NULL, *pb = NULL;
	size_t la, lb;
	int rc;

	if ((rc = message_pack_content(a, &pa, &la)) == 0 &&
	    (rc = message_pack_content(b, &pb, &lb)) == 0)
		rc = la == lb && memcmp(pa, pb, la) == 0;
	free(pa);
	free(pb);
	return rc;
}

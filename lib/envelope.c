/* lib/envelope.c — build, sign, verify and open envelopes; validate message headers.
 *
 * Invariant: nothing is re-serialized between signing and verification. The signature
 * covers Envelope.signed byte for byte; receivers parse those bytes only after the
 * signature checked out, so a forged message never reaches the protobuf parser's body
 * handling. */
#include <stdlib.h>
#include <string.h>

#include "corrkeymsg.h"
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

/* Identifiers travel as blind tokens only (docs/correlation.md): never in clear. */
static int
match_tokens_validate(const Cluebus__Clue *c, cb_error_t *err)
{
	if (c->n_match_identifiers > 0)
		return cb_fail(err, "clue.identifiers", CB_EMALFORMED, "identifiers in clear: "
		    "the agent sends them as blind tokens only");
	if (c->n_match_tokens > 64)
		return cb_fail(err, "clue.match_tokens", CB_EMALFORMED, "more than 64 tokens");
	for (size_t i = 0; i < c->n_match_tokens; i++) {
		const Cluebus__MatchToken *t = c->match_tokens[i];

		if (t->token.len != 32 || t->key_version == 0 ||
		    t->type <= CLUEBUS__IDENTIFIER_TYPE__IDENTIFIER_UNSPECIFIED ||
		    t->type > CLUEBUS__IDENTIFIER_TYPE__IDENTIFIER_NAME_DOB)
			return cb_fail(err, "clue.match_tokens", CB_EMALFORMED, "entry %zu needs "
			    "a known type, a key version and 32 bytes", i);
	}
	return 0;
}

/* A broker's match notice: parallel lists of logged clues. */
static int
match_validate(const Cluebus__Match *m, cb_error_t *err)
{
	if (m->n_message_ids < 2 || m->n_message_ids > 64 || m->n_units != m->n_message_ids ||
	    m->n_seqs != m->n_message_ids || m->n_case_refs != m->n_message_ids)
		return cb_fail(err, "match.message_ids", CB_EMALFORMED, "2 to 64 clues, each "
		    "with its seq, unit and case reference");
	for (size_t i = 0; i < m->n_message_ids; i++)
		if (m->message_ids[i].len != MESSAGE_ID_LEN)
			return cb_fail(err, "match.message_ids", CB_EMALFORMED, "not 16 bytes");
	return units_ok(m->units, m->n_units, "match.units", err);
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
	return match_tokens_validate(c, err);
}

/* A supervision names what it supervises: a referral (refers_to), a case (case_ref), or
 * units (units). */
static int
supervision_target_ok(const Cluebus__Message *m, cb_error_t *err)
{
	if (m->refers_to.len == MESSAGE_ID_LEN || m->case_ref[0] != '\0' ||
	    m->supervision->n_units > 0)
		return 0;
	return cb_fail(err, "refers_to", CB_EMALFORMED,
	    "required: the referral's id (or a case_ref, or supervision.units)");
}

static int
case_action_validate(const Cluebus__Message *m, cb_error_t *err)
{
	const Cluebus__CaseAction *c = m->case_action;

	if (m->case_ref[0] == '\0')
		return cb_fail(err, "case_ref", CB_EMALFORMED, "required: the case's reference");
	if (!text_ok(c->title, 256) || !text_ok(c->reason, 16 * 1024))
		return cb_fail(err, "case", CB_EMALFORMED, "title or reason too long");
	switch (c->op) {
	case CLUEBUS__CASE_OP__CASE_OPEN:
		if (strlen(c->jurisdiction) != 6 ||
		    strspn(c->jurisdiction, "0123456789") != 6)
			return cb_fail(err, "case.jurisdiction", CB_EMALFORMED,
			    "not a 6-digit division code");
		break;
	case CLUEBUS__CASE_OP__CASE_ADD_MEMBERS:
	case CLUEBUS__CASE_OP__CASE_REMOVE_MEMBERS:
		if (c->n_members == 0)
			return cb_fail(err, "case.members", CB_EMALFORMED, "names no unit");
		break;
	case CLUEBUS__CASE_OP__CASE_CLOSE:
		if (c->reason[0] == '\0')
			return cb_fail(err, "case.reason", CB_EMALFORMED,
			    "required when closing a case");
		break;
	default:
		return cb_fail(err, "case.op", CB_EMALFORMED, "unknown op");
	}
	return units_ok(c->members, c->n_members, "case.members", err);
}

static int
correction_validate(const Cluebus__Message *m, cb_error_t *err)
{
	const Cluebus__Correction *c = m->correction;

	if (c->op <= CLUEBUS__CORRECTION_OP__CORRECTION_UNSPECIFIED ||
	    c->op > CLUEBUS__CORRECTION_OP__CORRECTION_WITHDRAW)
		return cb_fail(err, "correction.op", CB_EMALFORMED, "unknown op");
	if (c->clue != NULL && c->op != CLUEBUS__CORRECTION_OP__CORRECTION_CORRECT)
		return cb_fail(err, "correction.clue", CB_EMALFORMED,
		    "only a correction carries a corrected clue");
	if (c->clue != NULL && clue_validate(c->clue, err) != 0)
		return CB_EMALFORMED;
	if (m->refers_to.len != MESSAGE_ID_LEN)
		return cb_fail(err, "refers_to", CB_EMALFORMED,
		    "required: the id of the message corrected or withdrawn");
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
	[CLUEBUS__KIND__KIND_CASE] = CLUEBUS__MESSAGE__BODY_CASE_ACTION,
	[CLUEBUS__KIND__KIND_CORRECTION] = CLUEBUS__MESSAGE__BODY_CORRECTION,
	[CLUEBUS__KIND__KIND_CORRELATION_KEY] = CLUEBUS__MESSAGE__BODY_CORRELATION_KEY,
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
	if (m->kind <= CLUEBUS__KIND__KIND_UNSPECIFIED ||
	    (size_t)m->kind >= sizeof(kind_body) / sizeof(kind_body[0]) ||
	    kind_body[m->kind] == CLUEBUS__MESSAGE__BODY__NOT_SET)
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
		if (m->referral->follow_up_every_ms < 0 || (m->referral->follow_up_every_ms > 0 &&
		    m->referral->follow_up_until_ms <= m->referral->follow_up_from_ms))
			return cb_fail(err, "referral.follow_up_every", CB_EMALFORMED,
			    "negative, or no time until follow_up_until");
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
		if ((m->feedback->action != 0 || m->feedback->reason[0] != '\0') &&
		    m->feedback->status != CLUEBUS__FEEDBACK_STATUS__FEEDBACK_TRANSFERRED)
			return cb_fail(err, "feedback.action", CB_EMALFORMED,
			    "action and reason are a transfer's");
		if (m->feedback->action < CLUEBUS__ACTION__ACTION_UNSPECIFIED ||
		    m->feedback->action > CLUEBUS__ACTION__ACTION_OTHER)
			return cb_fail(err, "feedback.action", CB_EMALFORMED, "unknown action");
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
		return supervision_target_ok(m, err);
	case CLUEBUS__MESSAGE__BODY_REPORT:
		if (m->report->type <= CLUEBUS__REPORT_TYPE__REPORT_UNSPECIFIED ||
		    m->report->type > CLUEBUS__REPORT_TYPE__REPORT_FINAL_EVALUATION)
			return cb_fail(err, "report.type", CB_EMALFORMED, "unknown type");
		if (m->report->district[0] != '\0' &&
		    (m->report->type != CLUEBUS__REPORT_TYPE__REPORT_WARNING_NOTICE ||
		    strlen(m->report->district) != 6 ||
		    strspn(m->report->district, "0123456789") != 6))
			return cb_fail(err, "report.district", CB_EMALFORMED,
			    "a warning notice's 6-digit division code");
		if (m->report->type == CLUEBUS__REPORT_TYPE__REPORT_FOLLOW_UP &&
		    refers_ok(m, err) != 0)
			return CB_EMALFORMED;
		return units_ok(m->report->to_units, m->report->n_to_units,
		    "report.to_units", err);
	case CLUEBUS__MESSAGE__BODY_PERMISSION:
		if (m->permission->n_units == 0)
			return cb_fail(err, "permission.units", CB_EMALFORMED, "names no unit");
		if (units_ok(m->permission->units, m->permission->n_units, "permission.units",
		    err) != 0)
			return CB_EMALFORMED;
		return refers_ok(m, err);
	case CLUEBUS__MESSAGE__BODY_CASE_ACTION:
		return case_action_validate(m, err);
	case CLUEBUS__MESSAGE__BODY_CORRECTION:
		return correction_validate(m, err);
	case CLUEBUS__MESSAGE__BODY_ESCALATION:
		if (m->escalation->duty != 0 &&
		    (m->escalation->duty > CLUEBUS__REPORT_TYPE__REPORT_FINAL_EVALUATION ||
		    !unit_id_valid(m->escalation->unit) ||
		    (m->escalation->referral_id.len != 0 &&
		    m->escalation->referral_id.len != MESSAGE_ID_LEN)))
			return cb_fail(err, "escalation", CB_EMALFORMED,
			    "a missed duty needs its report type and a unit");
		if (m->escalation->duty != 0)
			return 0;
		if (m->escalation->referral_id.len != MESSAGE_ID_LEN ||
		    !unit_id_valid(m->escalation->unit))
			return cb_fail(err, "escalation", CB_EMALFORMED,
			    "needs a referral id and a unit");
		return 0;
	case CLUEBUS__MESSAGE__BODY_MATCH:
		return match_validate(m->match, err);
	case CLUEBUS__MESSAGE__BODY_CORRELATION_KEY:
		/* A key goes to units, not to a case or an answer: its route is its own. */
		if (m->case_ref[0] != '\0' || m->refers_to.len != 0)
			return cb_fail(err, m->case_ref[0] != '\0' ? "case_ref" : "refers_to",
			    CB_EMALFORMED, "not allowed on a correlation_key");
		return corrkeymsg_check(m->correlation_key, err);
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

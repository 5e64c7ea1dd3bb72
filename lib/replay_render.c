/* lib/replay_render.c — one log entry as a JSON line of the replay schema or a line of text.
 *
 * What is printed is named field by field: the clear metadata of SPEC §10 and nothing else
 * (lib/replay.h). Text from the log is never trusted to be UTF-8 or one line: JSON escapes
 * what is not UTF-8, text shows control characters as '?'. Units are followed by the names
 * the log's registry records gave them (replay_name), times are at the replay's offset
 * (replay_format_time). */
#include <stdlib.h>
#include <string.h>

#include "identifiers.h"
#include "intake.h"
#include "replay.h"
#include "util.h"
#include "wire.h"

#define MSGID_LEN	16

/* A JSON builder that remembers a failure: every put after one does nothing. */
struct jb {
	const replay_t	*r;
	json_t		*o;
	int		 err;
};

/* A JSON string of text from the log: as it is when valid UTF-8, else with the bytes
 * outside printable ASCII escaped (a damaged or hostile log). NULL when out of memory. */
static json_t *
jstr(const char *s)
{
	char safe[1024];
	json_t *v = json_string(s);

	if (v != NULL || s == NULL)
		return v;
	str_sanitize(s, strlen(s), safe, sizeof(safe));
	return json_string(safe);
}

static void
jb_put(struct jb *b, json_t *o, const char *key, json_t *v)
{
	if (v == NULL || json_object_set_new(o, key, v) != 0)
		b->err = 1;
}

static void
jb_str(struct jb *b, json_t *o, const char *key, const char *s)
{
	if (s != NULL && s[0] != '\0')
		jb_put(b, o, key, jstr(s));
}

static void
jb_int(struct jb *b, json_t *o, const char *key, uint64_t v)
{
	jb_put(b, o, key, json_integer((json_int_t)v));
}

static void
jb_time(struct jb *b, json_t *o, const char *key, int64_t ms)
{
	char when[48];

	if (ms == 0)
		return;
	replay_format_time(b->r, ms, when, sizeof(when));
	jb_put(b, o, key, json_string(when));
}

static void
jb_hex(struct jb *b, json_t *o, const char *key, const ProtobufCBinaryData *d)
{
	char *hex;

	if (d->len == 0 || d->len > 4096)
		return;
	if ((hex = malloc(2 * d->len + 1)) == NULL) {
		b->err = 1;
		return;
	}
	hex_encode(d->data, d->len, hex);
	jb_put(b, o, key, json_string(hex));
	free(hex);
}

static void
jb_units(struct jb *b, json_t *o, const char *key, char *const *units, size_t n, int always)
{
	json_t *a;

	if (n == 0 && !always)
		return;
	if ((a = json_array()) == NULL) {
		b->err = 1;
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (units[i] != NULL && json_array_append_new(a, jstr(units[i])) != 0)
			b->err = 1;
	jb_put(b, o, key, a);
}

static void
jb_hexes(struct jb *b, json_t *o, const char *key, const ProtobufCBinaryData *d, size_t n)
{
	json_t *a;

	if (n == 0)
		return;
	if ((a = json_array()) == NULL) {
		b->err = 1;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char hex[2 * MSGID_LEN + 1];

		if (d[i].len != MSGID_LEN)
			continue;
		hex_encode(d[i].data, MSGID_LEN, hex);
		if (json_array_append_new(a, json_string(hex)) != 0)
			b->err = 1;
	}
	jb_put(b, o, key, a);
}

/* A sealed blob: the fact of it, never its bytes. */
static void
jb_sealed(struct jb *b, json_t *o, const char *key, const Cluebus__Sealed *s)
{
	json_t *so, *units;

	if (s == NULL)
		return;
	if ((so = json_object()) == NULL || (units = json_array()) == NULL) {
		json_decref(so);
		b->err = 1;
		return;
	}
	for (size_t i = 0; i < s->n_keys; i++)
		if (s->keys[i] != NULL && s->keys[i]->unit != NULL &&
		    json_array_append_new(units, jstr(s->keys[i]->unit)) != 0)
			b->err = 1;
	jb_put(b, so, "suite", json_integer(s->suite));
	jb_put(b, so, "recipients", units);
	jb_int(b, so, "bytes", s->ciphertext.len);
	jb_put(b, o, key, so);
}

static json_t *
body_clue(struct jb *b, const Cluebus__Clue *c)
{
	json_t *o = json_object(), *h = json_object(), *ev = json_object();

	if (o == NULL || h == NULL || ev == NULL) {
		json_decref(h);
		json_decref(ev);
		b->err = 1;
		return o;
	}
	jb_str(b, o, "category", intake_category_name(c->category));
	jb_str(b, o, "jurisdiction", c->jurisdiction);
	jb_time(b, o, "occurred_at", c->occurred_ms);
	jb_str(b, h, "code", intake_enum_name(INTAKE_ENUM_HANDLING, c->handling));
	jb_str(b, h, "text", c->handling_text);	/* h3's restriction, clear by design */
	jb_put(b, o, "handling", h);
	jb_str(b, ev, "source_reliability",
	    intake_enum_name(INTAKE_ENUM_RELIABILITY, c->source_reliability));
	jb_int(b, ev, "accuracy", c->info_accuracy);
	jb_put(b, o, "evaluation", ev);
	jb_int(b, o, "persons", c->n_persons);
	jb_int(b, o, "attachments", c->n_attachments);
	jb_int(b, o, "blind_tokens", c->n_blind_tokens);
	if (c->n_match_tokens > 0)
		jb_int(b, o, "match_tokens", c->n_match_tokens);
	jb_sealed(b, o, "sealed_persons", c->sealed_persons);
	jb_sealed(b, o, "sealed", c->sealed);
	return o;
}

/* The kinds cases and corrections add (broker/cases.c): their clear fields. A case's title
 * and reasons are free text, left out like notes. */
static void
body_case(struct jb *b, json_t *o, const Cluebus__Message *m)
{
	if (m->body_case == CLUEBUS__MESSAGE__BODY_CASE_ACTION) {
		jb_str(b, o, "op", intake_enum_name(INTAKE_ENUM_CASE_OP, m->case_action->op));
		jb_str(b, o, "jurisdiction", m->case_action->jurisdiction);
		jb_units(b, o, "members", m->case_action->members, m->case_action->n_members, 0);
		return;
	}
	jb_str(b, o, "op", intake_enum_name(INTAKE_ENUM_CORRECTION_OP, m->correction->op));
	if (m->correction->clue != NULL)
		jb_put(b, o, "clue", body_clue(b, m->correction->clue));
}

static json_t *
body_json(struct jb *b, const Cluebus__Message *m)
{
	json_t *o;

	if (m->body_case == CLUEBUS__MESSAGE__BODY_CLUE)
		return body_clue(b, m->clue);
	if ((o = json_object()) == NULL) {
		b->err = 1;
		return NULL;
	}
	switch (m->body_case) {
	case CLUEBUS__MESSAGE__BODY_REFERRAL:
		jb_units(b, o, "to_units", m->referral->to_units, m->referral->n_to_units, 1);
		jb_str(b, o, "action", intake_enum_name(INTAKE_ENUM_ACTION, m->referral->action));
		jb_time(b, o, "receipt_due_at", m->referral->receipt_due_ms);
		jb_time(b, o, "feedback_due_at", m->referral->feedback_due_ms);
		if (m->referral->follow_up_every_ms > 0)
			jb_int(b, o, "follow_up_every_ms", (uint64_t)m->referral->follow_up_every_ms);
		jb_time(b, o, "follow_up_from", m->referral->follow_up_from_ms);
		jb_time(b, o, "follow_up_until", m->referral->follow_up_until_ms);
		jb_sealed(b, o, "sealed_persons", m->referral->sealed_persons);
		jb_sealed(b, o, "sealed", m->referral->sealed);
		break;
	case CLUEBUS__MESSAGE__BODY_RECEIPT:
		jb_sealed(b, o, "sealed", m->receipt->sealed);	/* its note is free text */
		break;
	case CLUEBUS__MESSAGE__BODY_FEEDBACK:
		jb_str(b, o, "status", intake_enum_name(INTAKE_ENUM_FEEDBACK,
		    m->feedback->status));
		jb_units(b, o, "transferred_to", m->feedback->transferred_to,
		    m->feedback->n_transferred_to, 0);
		if (m->feedback->action != CLUEBUS__ACTION__ACTION_UNSPECIFIED)
			jb_str(b, o, "action", intake_enum_name(INTAKE_ENUM_ACTION,
			    m->feedback->action));
		jb_sealed(b, o, "sealed", m->feedback->sealed);
		break;
	case CLUEBUS__MESSAGE__BODY_SUPERVISION:
		jb_str(b, o, "level", intake_enum_name(INTAKE_ENUM_SUPERVISION,
		    m->supervision->level));
		jb_units(b, o, "units", m->supervision->units, m->supervision->n_units, 1);
		jb_time(b, o, "receipt_due_at", m->supervision->receipt_due_ms);
		jb_time(b, o, "feedback_due_at", m->supervision->feedback_due_ms);
		jb_sealed(b, o, "sealed", m->supervision->sealed);
		break;
	case CLUEBUS__MESSAGE__BODY_REPORT:
		jb_str(b, o, "type", intake_enum_name(INTAKE_ENUM_REPORT, m->report->type));
		jb_time(b, o, "period_from", m->report->period_from_ms);
		jb_time(b, o, "period_to", m->report->period_to_ms);
		jb_units(b, o, "to_units", m->report->to_units, m->report->n_to_units, 0);
		jb_str(b, o, "district", m->report->district);
		jb_sealed(b, o, "sealed", m->report->sealed);
		break;
	case CLUEBUS__MESSAGE__BODY_ESCALATION:
		jb_hex(b, o, "referral_id", &m->escalation->referral_id);
		jb_str(b, o, "unit", m->escalation->unit);
		jb_str(b, o, "missed", intake_enum_name(INTAKE_ENUM_MISSED,
		    m->escalation->missed));
		jb_time(b, o, "due_at", m->escalation->due_ms);
		jb_str(b, o, "supervisor", m->escalation->supervisor);
		if (m->escalation->reminder)
			jb_put(b, o, "reminder", json_true());
		if (m->escalation->duty != CLUEBUS__REPORT_TYPE__REPORT_UNSPECIFIED)
			jb_str(b, o, "duty", intake_enum_name(INTAKE_ENUM_REPORT,
			    m->escalation->duty));
		jb_time(b, o, "period_from", m->escalation->period_from_ms);
		jb_time(b, o, "period_to", m->escalation->period_to_ms);
		break;
	case CLUEBUS__MESSAGE__BODY_REGISTRY:
		jb_str(b, o, "op", intake_enum_name(INTAKE_ENUM_REGISTRY, m->registry->op));
		jb_str(b, o, "unit", m->registry->unit);
		jb_str(b, o, "name", m->registry->name);
		jb_str(b, o, "role", m->registry->role);
		jb_str(b, o, "division_code", m->registry->division_code);
		jb_hex(b, o, "sign_public", &m->registry->sign_public);
		jb_hex(b, o, "seal_public", &m->registry->seal_public);
		jb_hex(b, o, "transport_public", &m->registry->transport_public);
		jb_time(b, o, "effective_at", m->registry->effective_ms);
		jb_str(b, o, "reason", m->registry->reason);
		jb_str(b, o, "liaison", m->registry->liaison);
		break;
	case CLUEBUS__MESSAGE__BODY_MATCH:
		jb_hex(b, o, "token_hash", &m->match->token_hash);
		jb_hexes(b, o, "message_ids", m->match->message_ids, m->match->n_message_ids);
		jb_units(b, o, "units", m->match->units, m->match->n_units, 1);
		if (m->match->reason != CLUEBUS__MATCH_REASON__MATCH_REASON_UNSPECIFIED)
			jb_str(b, o, "reason", intake_enum_name(INTAKE_ENUM_MATCH_REASON,
			    m->match->reason));
		if (m->match->type != CLUEBUS__IDENTIFIER_TYPE__IDENTIFIER_UNSPECIFIED)
			jb_str(b, o, "type", identifier_type_name(m->match->type));
		if (m->match->key_version > 0)
			jb_int(b, o, "key_version", m->match->key_version);
		jb_units(b, o, "case_refs", m->match->case_refs, m->match->n_case_refs, 0);
		break;
	case CLUEBUS__MESSAGE__BODY_PERMISSION:
		jb_units(b, o, "units", m->permission->units, m->permission->n_units, 1);
		break;
	case CLUEBUS__MESSAGE__BODY_CASE_ACTION:
	case CLUEBUS__MESSAGE__BODY_CORRECTION:
		body_case(b, o, m);
		break;
	case CLUEBUS__MESSAGE__BODY_CORRELATION_KEY:	/* the key itself only sealed */
		jb_int(b, o, "version", m->correlation_key->version);
		jb_time(b, o, "effective_at", m->correlation_key->effective_ms);
		jb_units(b, o, "to_units", m->correlation_key->to_units,
		    m->correlation_key->n_to_units, 0);
		jb_sealed(b, o, "sealed", m->correlation_key->sealed_key);
		break;
	default:
		break;	/* a body this replay does not know: its kind says what it is */
	}
	return o;
}

/* Adds "names": every unit of the line that the registry records named. */
static void
jb_name(struct jb *b, json_t *names, const char *unit)
{
	const char *name = replay_name(b->r, unit);

	if (name != NULL && unit_id_valid(unit) && json_object_get(names, unit) == NULL)
		jb_put(b, names, unit, jstr(name));
}

static void
names_json(struct jb *b, const Cluebus__LogEntry *e, const Cluebus__Message *m)
{
	json_t *names = json_object();

	if (names == NULL) {
		b->err = 1;
		return;
	}
	if (m != NULL)
		jb_name(b, names, m->sender);
	for (size_t i = 0; i < e->n_recipients; i++)
		jb_name(b, names, e->recipients[i]);
	if (m != NULL && m->body_case == CLUEBUS__MESSAGE__BODY_REGISTRY)
		jb_name(b, names, m->registry->unit);
	if (e->ack != NULL)
		jb_name(b, names, e->ack->unit);
	if (e->rejection != NULL) {
		jb_name(b, names, e->rejection->peer_unit);
		jb_name(b, names, e->rejection->claimed_sender);
	}
	jb_put(b, b->o, "names", names);
}

static const char *
entry_type_name(Cluebus__EntryType t)
{
	switch (t) {
	case CLUEBUS__ENTRY_TYPE__ENTRY_MESSAGE: return "message";
	case CLUEBUS__ENTRY_TYPE__ENTRY_REJECTION: return "rejection";
	case CLUEBUS__ENTRY_TYPE__ENTRY_ACK: return "ack";
	case CLUEBUS__ENTRY_TYPE__ENTRY_BROKER: return "broker";
	case CLUEBUS__ENTRY_TYPE__ENTRY_CHECKPOINT: return "checkpoint";
	default: return "unknown";
	}
}

/* "amended": {"state": "corrected" | "withdrawn", "by_seq"} when a later correction changed
 * the message (the latest one). */
static void
amended_json(struct jb *b, const Cluebus__Message *m)
{
	uint64_t by;
	int withdrawn;
	json_t *a;

	if (!replay_amended(b->r, &m->message_id, &by, &withdrawn))
		return;
	if ((a = json_object()) == NULL) {
		b->err = 1;
		return;
	}
	jb_str(b, a, "state", withdrawn ? "withdrawn" : "corrected");
	jb_int(b, a, "by_seq", by);
	jb_put(b, b->o, "amended", a);
}

static void
message_json(struct jb *b, const Cluebus__Message *m)
{
	jb_str(b, b->o, "kind", intake_kind_name(m->kind));
	jb_hex(b, b->o, "message_id", &m->message_id);
	jb_str(b, b->o, "sender", m->sender);
	jb_hex(b, b->o, "key_id", &m->key_id);
	jb_time(b, b->o, "created", m->created_ms);
	jb_str(b, b->o, "priority", intake_priority_name(m->priority));
	jb_str(b, b->o, "case_ref", m->case_ref);
	jb_hex(b, b->o, "refers_to", &m->refers_to);
	jb_put(b, b->o, intake_kind_name(m->kind), body_json(b, m));
	amended_json(b, m);
}

static void
rejection_json(struct jb *b, const Cluebus__Rejection *rej)
{
	char when[48];

	jb_str(b, b->o, "claimed_sender", rej->claimed_sender);
	jb_str(b, b->o, "peer", rej->peer_unit);
	jb_str(b, b->o, "code", wire_reject_name(rej->code));
	jb_str(b, b->o, "reason", rej->reason);
	if (rej->message_id.len == MSGID_LEN)
		jb_hex(b, b->o, "message_id", &rej->message_id);
	if (rej->claimed_message_id.len == MSGID_LEN)
		jb_hex(b, b->o, "claimed_message_id", &rej->claimed_message_id);
	jb_hex(b, b->o, "frame_sha256", &rej->frame_sha256);
	jb_int(b, b->o, "frame_size", rej->frame_size);
	if (rej->unlogged_before > 0) {
		replay_format_time(b->r, rej->unlogged_since_ms, when, sizeof(when));
		jb_int(b, b->o, "unlogged_before", rej->unlogged_before);
		jb_put(b, b->o, "unlogged_since", json_string(when));
	}
}

json_t *
replay_entry_json(const replay_t *r, uint64_t seq, const uint8_t hash[CHAIN_HASH_LEN],
    const Cluebus__LogEntry *e, const Cluebus__Message *m)
{
	struct jb b = { r, json_object(), 0 };
	char hex[2 * CHAIN_HASH_LEN + 1];

	if (b.o == NULL)
		return NULL;
	hex_encode(hash, CHAIN_HASH_LEN, hex);
	jb_int(&b, b.o, "v", REPLAY_SCHEMA_VERSION);
	jb_int(&b, b.o, "seq", seq);
	jb_put(&b, b.o, "hash", json_string(hex));
	jb_time(&b, b.o, "time", e->time_ms);
	jb_put(&b, b.o, "time_ms", json_integer(e->time_ms));
	jb_str(&b, b.o, "type", entry_type_name(e->type));
	jb_units(&b, b.o, "recipients", e->recipients, e->n_recipients, 1);
	if (m != NULL)
		message_json(&b, m);
	else if (e->envelope != NULL)
		jb_put(&b, b.o, "unreadable", json_true());
	if (e->rejection != NULL)
		rejection_json(&b, e->rejection);
	if (e->ack != NULL) {
		json_t *seqs = json_array();

		for (size_t i = 0; seqs != NULL && i < e->ack->n_seqs; i++)
			if (json_array_append_new(seqs, json_integer((json_int_t)e->ack->seqs[i])))
				b.err = 1;
		jb_str(&b, b.o, "unit", e->ack->unit);
		jb_put(&b, b.o, "acked", seqs);
	}
	if (e->checkpoint != NULL) {
		jb_int(&b, b.o, "tree_size", e->checkpoint->tree_size);
		jb_hex(&b, b.o, "root", &e->checkpoint->root);
	}
	names_json(&b, e, m);
	if (b.err) {
		json_decref(b.o);
		return NULL;
	}
	return b.o;
}

/* ---- text ---- */

/* Text from the log, with control characters shown as '?' so that an entry stays one
 * line. */
static void
text_put(const char *s, FILE *out)
{
	for (; s != NULL && *s != '\0'; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
}

/* "unit" or "unit(name)". */
static void
text_unit(const replay_t *r, const char *unit, FILE *out)
{
	const char *name = replay_name(r, unit);

	text_put(unit != NULL && unit[0] != '\0' ? unit : "-", out);
	if (name != NULL) {
		fputc('(', out);
		text_put(name, out);
		fputc(')', out);
	}
}

static void
text_units(const replay_t *r, char *const *units, size_t n, FILE *out)
{
	for (size_t i = 0; i < n; i++) {
		fputs(i == 0 ? "" : ",", out);
		text_unit(r, units[i], out);
	}
	if (n == 0)
		fputs("(none)", out);
}

static void
text_time(const replay_t *r, const char *what, int64_t ms, FILE *out)
{
	char when[48];

	if (ms == 0)
		return;
	replay_format_time(r, ms, when, sizeof(when));
	fprintf(out, " %s %s", what, when);
}

/* The few clear facts of a body worth a line of text. */
static void
text_body(const replay_t *r, const Cluebus__Message *m, FILE *out)
{
	switch (m->body_case) {
	case CLUEBUS__MESSAGE__BODY_CLUE:
		fprintf(out, " [%s ", intake_category_name(m->clue->category));
		text_put(m->clue->jurisdiction, out);
		fprintf(out, " %s %s%u]", intake_enum_name(INTAKE_ENUM_HANDLING,
		    m->clue->handling), intake_enum_name(INTAKE_ENUM_RELIABILITY,
		    m->clue->source_reliability), m->clue->info_accuracy);
		if (m->clue->handling_text[0] != '\0') {	/* h3's restriction: clear */
			fprintf(out, " [%s: ", intake_enum_name(INTAKE_ENUM_HANDLING,
			    m->clue->handling));
			text_put(m->clue->handling_text, out);
			fputc(']', out);
		}
		break;
	case CLUEBUS__MESSAGE__BODY_REFERRAL:
		fprintf(out, " [%s to ", intake_enum_name(INTAKE_ENUM_ACTION,
		    m->referral->action));
		text_units(r, m->referral->to_units, m->referral->n_to_units, out);
		text_time(r, "receipt due", m->referral->receipt_due_ms, out);
		text_time(r, "feedback due", m->referral->feedback_due_ms, out);
		fputc(']', out);
		break;
	case CLUEBUS__MESSAGE__BODY_FEEDBACK:
		fprintf(out, " [%s]", intake_enum_name(INTAKE_ENUM_FEEDBACK,
		    m->feedback->status));
		break;
	case CLUEBUS__MESSAGE__BODY_SUPERVISION:
		fprintf(out, " [%s]", intake_enum_name(INTAKE_ENUM_SUPERVISION,
		    m->supervision->level));
		break;
	case CLUEBUS__MESSAGE__BODY_REPORT:
		fprintf(out, " [%s]", intake_enum_name(INTAKE_ENUM_REPORT, m->report->type));
		break;
	case CLUEBUS__MESSAGE__BODY_ESCALATION:
		fputs(" [", out);
		text_unit(r, m->escalation->unit, out);
		fprintf(out, " missed %s]", intake_enum_name(INTAKE_ENUM_MISSED,
		    m->escalation->missed));
		break;
	case CLUEBUS__MESSAGE__BODY_REGISTRY:
		fprintf(out, " [%s ", intake_enum_name(INTAKE_ENUM_REGISTRY, m->registry->op));
		text_unit(r, m->registry->unit, out);
		if (m->registry->reason != NULL && m->registry->reason[0] != '\0') {
			fputs(": ", out);
			text_put(m->registry->reason, out);
		}
		fputc(']', out);
		break;
	case CLUEBUS__MESSAGE__BODY_MATCH:
		fprintf(out, " [%zu messages]", m->match->n_message_ids);
		break;
	case CLUEBUS__MESSAGE__BODY_CORRELATION_KEY:
		fprintf(out, " [version %u]", m->correlation_key->version);
		break;
	default:
		break;
	}
}

int
replay_entry_text(const replay_t *r, uint64_t seq, const uint8_t hash[CHAIN_HASH_LEN],
    const Cluebus__LogEntry *e, const Cluebus__Message *m, FILE *out)
{
	char when[48], id[2 * MSGID_LEN + 1], hex[2 * CHAIN_HASH_LEN + 1];
	uint64_t by;
	int withdrawn;

	replay_format_time(r, e->time_ms, when, sizeof(when));
	hex_encode(hash, CHAIN_HASH_LEN, hex);
	hex[16] = '\0';
	fprintf(out, "%llu %s %.16s %-9s", (unsigned long long)seq, when, hex,
	    entry_type_name(e->type));
	if (m != NULL) {
		strcpy(id, "-");
		if (m->message_id.len == MSGID_LEN)
			hex_encode(m->message_id.data, MSGID_LEN, id);
		fprintf(out, " %s %s from ", intake_kind_name(m->kind), id);
		text_unit(r, m->sender, out);
		fputs(" -> ", out);
		text_units(r, e->recipients, e->n_recipients, out);
		text_body(r, m, out);
		if (replay_amended(r, &m->message_id, &by, &withdrawn))
			fprintf(out, " (%s by seq %llu)", withdrawn ? "withdrawn" : "corrected",
			    (unsigned long long)by);
	} else if (e->rejection != NULL) {
		fprintf(out, " %s peer ", wire_reject_name(e->rejection->code));
		text_unit(r, e->rejection->peer_unit, out);
		fputs(": ", out);
		text_put(e->rejection->reason, out);
	} else if (e->ack != NULL) {
		fputc(' ', out);
		text_unit(r, e->ack->unit, out);
		fprintf(out, " acked %zu deliver%s", e->ack->n_seqs,
		    e->ack->n_seqs == 1 ? "y" : "ies");
		if (e->ack->n_seqs > 0)
			fprintf(out, " (seq %llu..%llu)", (unsigned long long)e->ack->seqs[0],
			    (unsigned long long)e->ack->seqs[e->ack->n_seqs - 1]);
	} else if (e->checkpoint != NULL) {
		fprintf(out, " tree size %llu", (unsigned long long)e->checkpoint->tree_size);
	} else if (e->envelope != NULL) {
		fputs(" (message does not open)", out);
	}
	return fputc('\n', out) == EOF ? CB_EIO : 0;
}

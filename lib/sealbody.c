/* lib/sealbody.c — the sealed fields of each body kind, sealed and opened as one unit.
 *
 * Every body kind with sealed content is described by `struct slots`: pointers to its
 * sealed fields (NULL where the kind has none) and to its `sealed`. Sealing packs those
 * fields into a SealedContent that borrows them, seals the bytes, and only then frees the
 * fields; opening decodes and checks a SealedContent and moves its fields into the body.
 * So a failure at any point leaves the message as it was (sealbody.h invariant 2). */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "envelope.h"
#include "sealbody.h"
#include "unpack.h"

#define SB_MAX_TEXT	(16 * 1024)	/* summary, note, text: as in the clear body */
#define SB_MAX_SHORT	256		/* location, title, person fields */
#define SB_MAX_ITEMS	64		/* persons, attachments */

/* The sealed fields of one body (NULL: the kind does not seal that field). */
struct slots {
	const char		 *kind;		/* JSON name of the body, for errors */
	char			**summary, **location, **note, **title, **text;
	size_t			 *n_persons;
	Cluebus__Person		***persons;
	size_t			 *n_attachments;
	Cluebus__Attachment	***attachments;
	Cluebus__Sealed		**sealed;
};

static void
clue_slots(Cluebus__Clue *c, const char *kind, struct slots *s)
{
	*s = (struct slots){ .kind = kind, .summary = &c->summary, .location = &c->location,
	    .n_persons = &c->n_persons, .persons = &c->persons,
	    .n_attachments = &c->n_attachments, .attachments = &c->attachments,
	    .sealed = &c->sealed };
}

static int
slots_of(const Cluebus__Message *m, struct slots *s)
{
	memset(s, 0, sizeof(*s));
	switch (m->body_case) {
	case CLUEBUS__MESSAGE__BODY_CLUE:
		if (m->clue == NULL)
			return 0;
		clue_slots(m->clue, "clue", s);
		return 1;
	case CLUEBUS__MESSAGE__BODY_REFERRAL:
		if (m->referral == NULL)
			return 0;
		*s = (struct slots){ .kind = "referral", .note = &m->referral->note,
		    .summary = &m->referral->summary, .n_persons = &m->referral->n_persons,
		    .persons = &m->referral->persons, .sealed = &m->referral->sealed };
		return 1;
	case CLUEBUS__MESSAGE__BODY_RECEIPT:
		if (m->receipt == NULL)
			return 0;
		*s = (struct slots){ .kind = "receipt", .note = &m->receipt->note,
		    .sealed = &m->receipt->sealed };
		return 1;
	case CLUEBUS__MESSAGE__BODY_FEEDBACK:
		if (m->feedback == NULL)
			return 0;
		*s = (struct slots){ .kind = "feedback", .note = &m->feedback->note,
		    .sealed = &m->feedback->sealed };
		return 1;
	case CLUEBUS__MESSAGE__BODY_SUPERVISION:
		if (m->supervision == NULL)
			return 0;
		*s = (struct slots){ .kind = "supervision", .note = &m->supervision->note,
		    .sealed = &m->supervision->sealed };
		return 1;
	case CLUEBUS__MESSAGE__BODY_REPORT:
		if (m->report == NULL)
			return 0;
		*s = (struct slots){ .kind = "report", .title = &m->report->title,
		    .text = &m->report->text, .sealed = &m->report->sealed };
		return 1;
	case CLUEBUS__MESSAGE__BODY_CORRECTION:
		/* A corrected clue is sealed like a clue, to whom the original went. */
		if (m->correction == NULL || m->correction->clue == NULL)
			return 0;
		clue_slots(m->correction->clue, "correction.clue", s);
		return 1;
	default:
		return 0;
	}
}

const Cluebus__Sealed *
sealbody_sealed(const Cluebus__Message *m)
{
	struct slots s;

	/* A correlation key's seal holds the key itself, not sealed fields (corrkeymsg.h). */
	if (m->body_case == CLUEBUS__MESSAGE__BODY_CORRELATION_KEY)
		return m->correlation_key->sealed_key;
	return slots_of(m, &s) ? *s.sealed : NULL;
}

int
sealbody_kind_sealable(const Cluebus__Message *m)
{
	struct slots s;

	return slots_of(m, &s);
}

static int
str_set(char *const *p)
{
	return p != NULL && *p != NULL && (*p)[0] != '\0';
}

/* The name of the first sealed field of `s` given in clear, or NULL. */
static const char *
slots_first_clear(const struct slots *s)
{
	static const char *const names[] = { "summary", "location", "note", "title", "text" };
	char *const *strs[] = { s->summary, s->location, s->note, s->title, s->text };

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (str_set(strs[i]))
			return names[i];
	if (s->n_persons != NULL && *s->n_persons > 0)
		return "persons";
	if (s->n_attachments != NULL && *s->n_attachments > 0)
		return "attachments";
	return NULL;
}

int
sealbody_check(const Cluebus__Message *m, cb_error_t *err)
{
	const char *f;
	struct slots s;

	if (!slots_of(m, &s) || *s.sealed == NULL)
		return 0;
	if ((f = slots_first_clear(&s)) != NULL)
		return cb_fail(err, s.kind, CB_EMALFORMED,
		    "%s given in clear beside its sealed form", f);
	if (m->body_case == CLUEBUS__MESSAGE__BODY_CLUE && m->clue->sealed_persons != NULL)
		return cb_fail(err, "clue.sealed_persons", CB_EMALFORMED,
		    "superseded by clue.sealed");
	if (m->body_case == CLUEBUS__MESSAGE__BODY_CORRECTION &&
	    m->correction->clue->sealed_persons != NULL)
		return cb_fail(err, "correction.clue.sealed_persons", CB_EMALFORMED,
		    "superseded by correction.clue.sealed");
	return 0;
}

int
sealbody_clear_field(const Cluebus__Message *m, cb_error_t *err)
{
	const char *f;
	struct slots s;

	if (!slots_of(m, &s) || *s.sealed != NULL)
		return 0;
	if ((f = slots_first_clear(&s)) == NULL)
		return 0;
	return cb_fail(err, s.kind, CB_EMALFORMED, "%s is personal data and must be sealed "
	    "(this broker requires sealing: docs/sealing.md §8)", f);
}

/* ---- sealing ---- */

static const char *
borrow(char *const *p)
{
	return p != NULL && *p != NULL ? *p : (char *)protobuf_c_empty_string;
}

static void
str_clear(char **p)
{
	if (p == NULL || *p == NULL || *p == protobuf_c_empty_string)
		return;
	OPENSSL_cleanse(*p, strlen(*p));
	free(*p);
	*p = (char *)protobuf_c_empty_string;
}

/* Frees the sealed fields of the body after they were sealed. */
static void
slots_clear(struct slots *s)
{
	str_clear(s->summary);
	str_clear(s->location);
	str_clear(s->note);
	str_clear(s->title);
	str_clear(s->text);
	if (s->n_persons != NULL) {
		for (size_t i = 0; i < *s->n_persons; i++)
			cluebus__person__free_unpacked((*s->persons)[i], NULL);
		free(*s->persons);
		*s->persons = NULL;
		*s->n_persons = 0;
	}
	if (s->n_attachments != NULL) {
		for (size_t i = 0; i < *s->n_attachments; i++)
			cluebus__attachment__free_unpacked((*s->attachments)[i], NULL);
		free(*s->attachments);
		*s->attachments = NULL;
		*s->n_attachments = 0;
	}
}

int
sealbody_seal(Cluebus__Message *m, const seal_recipient_t *rcpt, size_t n, cb_error_t *err)
{
	Cluebus__SealedContent sc = CLUEBUS__SEALED_CONTENT__INIT;
	Cluebus__Sealed *sealed = NULL;
	seal_binding_t b;
	struct slots s;
	uint8_t *plain;
	size_t len;
	int rc;

	if (!slots_of(m, &s))
		return cb_fail(err, "kind", CB_EINVAL, "this kind has no sealed content");
	if (*s.sealed != NULL)
		return cb_fail(err, s.kind, CB_EINVAL, "already sealed");
	if (m->message_id.len != SEAL_MESSAGE_ID_LEN || m->sender == NULL)
		return cb_fail(err, "message_id", CB_EINVAL, "message id and sender needed");
	sc.summary = (char *)borrow(s.summary);
	sc.location = (char *)borrow(s.location);
	sc.note = (char *)borrow(s.note);
	sc.title = (char *)borrow(s.title);
	sc.text = (char *)borrow(s.text);
	if (s.n_persons != NULL) {
		sc.n_persons = *s.n_persons;
		sc.persons = *s.persons;
	}
	if (s.n_attachments != NULL) {
		sc.n_attachments = *s.n_attachments;
		sc.attachments = *s.attachments;
	}
	len = cluebus__sealed_content__get_packed_size(&sc);
	if (len > SEAL_MAX_PLAINTEXT)
		return cb_fail(err, s.kind, CB_ETOOBIG, "sealed content over %d bytes",
		    SEAL_MAX_PLAINTEXT);
	if ((plain = malloc(len > 0 ? len : 1)) == NULL)
		return CB_ENOMEM;
	cluebus__sealed_content__pack(&sc, plain);
	b.message_id = m->message_id.data;
	b.sender = m->sender;
	rc = seal_encrypt(&b, rcpt, n, plain, len, &sealed, err);
	OPENSSL_cleanse(plain, len);
	free(plain);
	if (rc != 0)
		return rc;
	slots_clear(&s);
	*s.sealed = sealed;
	return 0;
}

/* ---- opening ---- */

static int
text_ok(const char *s, size_t max)
{
	return s != NULL && strlen(s) <= max;
}

static int
content_person_check(const Cluebus__Person *p, size_t i, cb_error_t *err)
{
	if (!text_ok(p->name, SB_MAX_SHORT) || !text_ok(p->id_number, SB_MAX_SHORT) ||
	    !text_ok(p->description, SB_MAX_TEXT))
		return cb_fail(err, "sealed.persons", CB_EMALFORMED,
		    "person %zu: a field over its bound", i);
	if (p->role <= CLUEBUS__PERSON_ROLE__ROLE_UNSPECIFIED ||
	    p->role > CLUEBUS__PERSON_ROLE__ROLE_OTHER)
		return cb_fail(err, "sealed.persons", CB_EMALFORMED,
		    "person %zu: unknown role", i);
	if (p->age > 150)
		return cb_fail(err, "sealed.persons", CB_EMALFORMED,
		    "person %zu: age over 150", i);
	return 0;
}

/* The fields a kind does not seal are empty; the others within their bounds. */
static int
content_check(const struct slots *s, const Cluebus__SealedContent *c, cb_error_t *err)
{
	const struct {
		const char	*name;
		const char	*value;
		const void	*slot;
		size_t		 max;
	} strs[] = {
		{ "summary", c->summary, s->summary, SB_MAX_TEXT },
		{ "location", c->location, s->location, SB_MAX_SHORT },
		{ "note", c->note, s->note, SB_MAX_TEXT },
		{ "title", c->title, s->title, SB_MAX_SHORT },
		{ "text", c->text, s->text, SB_MAX_TEXT },
	};
	int rc;

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if (strs[i].slot == NULL && strs[i].value != NULL && strs[i].value[0] != '\0')
			return cb_fail(err, "sealed", CB_EMALFORMED,
			    "content has a %s, which a %s does not seal", strs[i].name, s->kind);
		if (!text_ok(strs[i].value, strs[i].max))
			return cb_fail(err, "sealed", CB_EMALFORMED, "%s over %zu bytes",
			    strs[i].name, strs[i].max);
	}
	if ((s->n_persons == NULL && c->n_persons > 0) ||
	    (s->n_attachments == NULL && c->n_attachments > 0))
		return cb_fail(err, "sealed", CB_EMALFORMED,
		    "content has persons or attachments, which a %s does not seal", s->kind);
	if (c->n_persons > SB_MAX_ITEMS || c->n_attachments > SB_MAX_ITEMS)
		return cb_fail(err, "sealed", CB_EMALFORMED, "more than %d items",
		    SB_MAX_ITEMS);
	for (size_t i = 0; i < c->n_persons; i++)
		if ((rc = content_person_check(c->persons[i], i, err)) != 0)
			return rc;
	for (size_t i = 0; i < c->n_attachments; i++)
		if (c->attachments[i]->sha256.len != 32 ||
		    !text_ok(c->attachments[i]->name, SB_MAX_SHORT) ||
		    !text_ok(c->attachments[i]->media_type, SB_MAX_SHORT))
			return cb_fail(err, "sealed.attachments", CB_EMALFORMED,
			    "attachment %zu: sha256 not 32 bytes or a field over its bound", i);
	if (s->location != NULL && (c->summary == NULL || c->summary[0] == '\0'))
		return cb_fail(err, "sealed", CB_EMALFORMED, "a sealed clue has no summary");
	return 0;
}

int
sealbody_content_decode(Cluebus__Message__BodyCase body, const uint8_t *buf, size_t len,
    Cluebus__SealedContent **out, cb_error_t *err)
{
	Cluebus__Message probe = CLUEBUS__MESSAGE__INIT;
	Cluebus__Clue clue = CLUEBUS__CLUE__INIT;
	Cluebus__Referral referral = CLUEBUS__REFERRAL__INIT;
	Cluebus__Receipt receipt = CLUEBUS__RECEIPT__INIT;
	Cluebus__Feedback feedback = CLUEBUS__FEEDBACK__INIT;
	Cluebus__Supervision supervision = CLUEBUS__SUPERVISION__INIT;
	Cluebus__Report report = CLUEBUS__REPORT__INIT;
	Cluebus__Correction correction = CLUEBUS__CORRECTION__INIT;
	ProtobufCMessage *pm = NULL;
	struct slots s;
	int rc;

	probe.body_case = body;
	probe.clue = &clue;	/* one member of the union: set the one `body` names */
	switch (body) {
	case CLUEBUS__MESSAGE__BODY_REFERRAL: probe.referral = &referral; break;
	case CLUEBUS__MESSAGE__BODY_RECEIPT: probe.receipt = &receipt; break;
	case CLUEBUS__MESSAGE__BODY_FEEDBACK: probe.feedback = &feedback; break;
	case CLUEBUS__MESSAGE__BODY_SUPERVISION: probe.supervision = &supervision; break;
	case CLUEBUS__MESSAGE__BODY_REPORT: probe.report = &report; break;
	case CLUEBUS__MESSAGE__BODY_CORRECTION:
		correction.clue = &clue;
		probe.correction = &correction;
		break;
	default: break;
	}
	if (!slots_of(&probe, &s))
		return cb_fail(err, "sealed", CB_EMALFORMED, "this kind has no sealed content");
	if (len > SEAL_MAX_PLAINTEXT)
		return cb_fail(err, "sealed", CB_ETOOBIG, "content over %d bytes",
		    SEAL_MAX_PLAINTEXT);
	if ((rc = unpack_bounded(&cluebus__sealed_content__descriptor, buf, len, &pm)) != 0) {
		if (rc == CB_ENOMEM)
			return rc;
		return cb_fail(err, "sealed", rc, "the opened content does not parse");
	}
	if ((rc = content_check(&s, (Cluebus__SealedContent *)pm, err)) != 0) {
		protobuf_c_message_free_unpacked(pm, NULL);
		return rc;
	}
	*out = (Cluebus__SealedContent *)pm;
	return 0;
}

/* Moves string `*from` into `*to` (which must hold the empty default), leaving `*from`
 * empty. */
static void
str_move(char **to, char **from)
{
	if (to == NULL)
		return;
	if (*to != NULL && *to != protobuf_c_empty_string)
		free(*to);
	*to = *from;
	*from = (char *)protobuf_c_empty_string;
}

int
sealbody_open(Cluebus__Message *m, const char *unit, const sealkey_t *key, cb_error_t *err)
{
	Cluebus__SealedContent *c = NULL;
	seal_binding_t b;
	struct slots s;
	uint8_t *plain = NULL;
	size_t len = 0;
	int rc;

	if (!slots_of(m, &s) || *s.sealed == NULL)
		return cb_fail(err, "sealed", CB_ENOTFOUND, "nothing sealed");
	b.message_id = m->message_id.data;
	b.sender = m->sender;
	if (m->message_id.len != SEAL_MESSAGE_ID_LEN)
		return cb_fail(err, "message_id", CB_EMALFORMED, "not 16 bytes");
	if ((rc = seal_open(*s.sealed, &b, unit, key, &plain, &len, err)) != 0)
		return rc;
	rc = sealbody_content_decode(m->body_case, plain, len, &c, err);
	seal_plain_free(plain, len);
	if (rc != 0)
		return rc;
	str_move(s.summary, &c->summary);
	str_move(s.location, &c->location);
	str_move(s.note, &c->note);
	str_move(s.title, &c->title);
	str_move(s.text, &c->text);
	if (s.n_persons != NULL) {
		*s.persons = c->persons;
		*s.n_persons = c->n_persons;
		c->persons = NULL;
		c->n_persons = 0;
	}
	if (s.n_attachments != NULL) {
		*s.attachments = c->attachments;
		*s.n_attachments = c->n_attachments;
		c->attachments = NULL;
		c->n_attachments = 0;
	}
	cluebus__sealed_content__free_unpacked(c, NULL);
	cluebus__sealed__free_unpacked(*s.sealed, NULL);
	*s.sealed = NULL;
	return 0;
}

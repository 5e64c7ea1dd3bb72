/* lib/replay.c — filters and clear-metadata rendering of the auditor's replay.
 *
 * Invariants: (1) no free-text or personal-data field of a body is ever read here (the
 * rendering functions name every field they print; sealed blobs give only their suite and
 * recipients); (2) refers_to is followed forward only: a message joins a category or case
 * thread when it carries the category / case or refers to a message already in it, so a
 * walk in log order from seq 1 sees every thread whole; (3) every value from the command
 * line is checked before a walk starts, and a refusal says what the value should be. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "intake.h"
#include "replay.h"
#include "util.h"
#include "wire.h"

#define MSGID_LEN	16

/* The message ids and seqs of a thread (a category's or a case's messages). */
struct thread {
	int		 on;
	uint8_t		*ids;		/* open addressing, MSGID_LEN bytes a slot, 0s free */
	size_t		 nids, capids;	/* capids a power of two */
	uint64_t	*seqs;		/* in log order: for the acks of its messages */
	size_t		 nseqs, capseqs;
};

struct unit_name {
	char		*unit, *name;
};

struct replay {
	uint64_t	 from_seq, to_seq;	/* inclusive */
	int64_t		 from_ms, to_ms;	/* [from, to) */
	const char	*units[REPLAY_MAX_VALUES];
	size_t		 nunits;
	const char	*kinds[REPLAY_MAX_VALUES];	/* names, checked */
	size_t		 nkinds;
	Cluebus__Category category;
	const char	*case_ref;
	struct thread	 by_category, by_case;
	int		 tz_min;		/* offset east of UTC */
	struct unit_name *names;		/* sorted by unit */
	size_t		 nnames, capnames;
	char		 why[512];
};

static const char *const entry_kinds[] = { "ack", "rejection", "checkpoint" };

replay_t *
replay_new(void)
{
	replay_t *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->from_seq = 1;
	r->to_seq = UINT64_MAX;
	r->from_ms = INT64_MIN;
	r->to_ms = INT64_MAX;
	return r;
}

static void
thread_free(struct thread *t)
{
	free(t->ids);
	free(t->seqs);
}

void
replay_free(replay_t *r)
{
	if (r == NULL)
		return;
	thread_free(&r->by_category);
	thread_free(&r->by_case);
	for (size_t i = 0; i < r->nnames; i++) {
		free(r->names[i].unit);
		free(r->names[i].name);
	}
	free(r->names);
	free(r);
}

/* ---- option values ---- */

/* A decimal seq of 1 to 20 digits, no sign, at least 1. Returns 0 or -1. */
static int
parse_seq(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s[0] < '0' || s[0] > '9' || strlen(s) > 20)
		return -1;
	v = strtoull(s, &end, 10);
	if (*end != '\0' || v == 0 || v == ULLONG_MAX)
		return -1;
	*out = v;
	return 0;
}

static int
set_bound(const char *value, uint64_t *seq, int64_t *ms, const char **why)
{
	int all_digits = value[0] != '\0' && strspn(value, "0123456789") == strlen(value);

	if (all_digits) {
		if (parse_seq(value, seq) == 0)
			return 0;
		*why = "a sequence number must be 1 or more (at most 20 digits)";
		return CB_EMALFORMED;
	}
	if (clock_parse_rfc3339(value, ms) == 0)
		return 0;
	*why = "want a sequence number (e.g. 42) or an RFC 3339 time (e.g. "
	    "2026-01-01T00:00:00+08:00)";
	return CB_EMALFORMED;
}

int
replay_set_from(replay_t *r, const char *value, const char **why)
{
	return set_bound(value, &r->from_seq, &r->from_ms, why);
}

int
replay_set_to(replay_t *r, const char *value, const char **why)
{
	return set_bound(value, &r->to_seq, &r->to_ms, why);
}

int
replay_add_unit(replay_t *r, const char *value, const char **why)
{
	if (!unit_id_valid(value)) {
		*why = "not a unit id ([a-z0-9-], 1 to 32 characters)";
		return CB_EMALFORMED;
	}
	if (r->nunits == REPLAY_MAX_VALUES) {
		*why = "too many values (at most 16)";
		return CB_ETOOBIG;
	}
	r->units[r->nunits++] = value;
	return 0;
}

/* Writes "unknown kind 'x' (one of: clue, ..., checkpoint)" into r->why. */
static const char *
kind_why(replay_t *r, const char *value)
{
	size_t used;
	char safe[64];

	str_sanitize(value, strlen(value), safe, sizeof(safe));
	used = (size_t)snprintf(r->why, sizeof(r->why), "unknown kind '%s' (one of:", safe);
	for (int k = 1; used < sizeof(r->why); k++) {
		const char *name = intake_kind_name((Cluebus__Kind)k);

		if (strcmp(name, "unknown") == 0)
			break;
		used += (size_t)snprintf(r->why + used, sizeof(r->why) - used, " %s,", name);
	}
	for (size_t i = 0; i < 3 && used < sizeof(r->why); i++)
		used += (size_t)snprintf(r->why + used, sizeof(r->why) - used, " %s%s",
		    entry_kinds[i], i == 2 ? ")" : ",");
	return r->why;
}

int
replay_add_kind(replay_t *r, const char *value, const char **why)
{
	Cluebus__Kind k;
	int known = intake_kind_parse(value, &k) == 0;

	for (size_t i = 0; i < 3; i++)
		known |= strcmp(value, entry_kinds[i]) == 0;
	if (!known) {
		*why = kind_why(r, value);
		return CB_EMALFORMED;
	}
	if (r->nkinds == REPLAY_MAX_VALUES) {
		*why = "too many values (at most 16)";
		return CB_ETOOBIG;
	}
	r->kinds[r->nkinds++] = value;
	return 0;
}

int
replay_set_category(replay_t *r, const char *value, const char **why)
{
	if (intake_category_parse(value, &r->category) != 0) {
		*why = "not a clue category (docs/formats.md: school, medical, ..., other)";
		return CB_EMALFORMED;
	}
	r->by_category.on = 1;
	return 0;
}

int
replay_set_case(replay_t *r, const char *value, const char **why)
{
	size_t len = strlen(value);

	if (len == 0 || len > INTAKE_MAX_SHORT) {
		*why = "a case reference is 1 to 256 bytes";
		return CB_EMALFORMED;
	}
	r->case_ref = value;
	r->by_case.on = 1;
	return 0;
}

int
replay_set_tz(replay_t *r, const char *value, const char **why)
{
	int h, m;

	if (strcmp(value, "Z") == 0 || strcmp(value, "UTC") == 0) {
		r->tz_min = 0;
		return 0;
	}
	if (strlen(value) != 6 || (value[0] != '+' && value[0] != '-') || value[3] != ':' ||
	    strspn(value + 1, "0123456789") != 2 || strspn(value + 4, "0123456789") != 2)
		goto bad;
	h = (value[1] - '0') * 10 + (value[2] - '0');
	m = (value[4] - '0') * 10 + (value[5] - '0');
	if (m > 59 || h * 60 + m > 14 * 60)
		goto bad;
	r->tz_min = (value[0] == '-' ? -1 : 1) * (h * 60 + m);
	return 0;
bad:
	*why = "want Z or an offset from UTC as +HH:MM or -HH:MM (e.g. +08:00), at most 14:00";
	return CB_EMALFORMED;
}

int
replay_check(const replay_t *r, const char **why)
{
	if (r->from_seq > r->to_seq) {
		*why = "--from is a later seq than --to";
		return CB_EMALFORMED;
	}
	if (r->from_ms >= r->to_ms) {
		*why = "--from must be before --to";
		return CB_EMALFORMED;
	}
	return 0;
}

uint64_t
replay_start_seq(const replay_t *r)
{
	return r->by_category.on || r->by_case.on ? 1 : r->from_seq;
}

uint64_t
replay_last_seq(const replay_t *r)
{
	return r->to_seq;
}

/* ---- names ---- */

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct unit_name *)a)->unit, ((const struct unit_name *)b)->unit);
}

static struct unit_name *
name_find(const replay_t *r, const char *unit)
{
	struct unit_name key = { (char *)unit, NULL };

	if (r->nnames == 0)
		return NULL;
	return bsearch(&key, r->names, r->nnames, sizeof(key), name_cmp);
}

int
replay_names_add(replay_t *r, const Cluebus__Registry *rec)
{
	struct unit_name *n;
	char *name;

	if (rec->unit == NULL || rec->unit[0] == '\0' || rec->name == NULL ||
	    rec->name[0] == '\0')
		return 0;
	if ((name = strdup(rec->name)) == NULL)
		return CB_ENOMEM;
	if ((n = name_find(r, rec->unit)) != NULL) {
		free(n->name);
		n->name = name;
		return 0;
	}
	if (r->nnames == r->capnames) {
		size_t cap = r->capnames ? 2 * r->capnames : 16;
		void *p = realloc(r->names, cap * sizeof(*r->names));

		if (p == NULL) {
			free(name);
			return CB_ENOMEM;
		}
		r->names = p;
		r->capnames = cap;
	}
	if ((r->names[r->nnames].unit = strdup(rec->unit)) == NULL) {
		free(name);
		return CB_ENOMEM;
	}
	r->names[r->nnames++].name = name;
	qsort(r->names, r->nnames, sizeof(*r->names), name_cmp);
	return 0;
}

const char *
replay_name(const replay_t *r, const char *unit)
{
	const struct unit_name *n = unit != NULL ? name_find(r, unit) : NULL;

	return n != NULL ? n->name : NULL;
}

/* ---- threads: a category's or a case's messages, followed by refers_to ---- */

static uint64_t
id_slot(const uint8_t *id, size_t cap)
{
	uint64_t h;

	memcpy(&h, id, sizeof(h));	/* random ids: their bytes hash well */
	return h & (cap - 1);
}

static int
thread_has(const struct thread *t, const uint8_t *id)
{
	static const uint8_t zero[MSGID_LEN];

	if (t->capids == 0 || memcmp(id, zero, MSGID_LEN) == 0)
		return 0;
	for (uint64_t i = id_slot(id, t->capids);; i = (i + 1) & (t->capids - 1)) {
		const uint8_t *slot = t->ids + i * MSGID_LEN;

		if (memcmp(slot, id, MSGID_LEN) == 0)
			return 1;
		if (memcmp(slot, zero, MSGID_LEN) == 0)
			return 0;
	}
}

static void
thread_put(uint8_t *ids, size_t cap, const uint8_t *id)
{
	static const uint8_t zero[MSGID_LEN];
	uint64_t i = id_slot(id, cap);

	while (memcmp(ids + i * MSGID_LEN, zero, MSGID_LEN) != 0)
		i = (i + 1) & (cap - 1);
	memcpy(ids + i * MSGID_LEN, id, MSGID_LEN);
}

/* Adds message `id` (at `seq`) to the thread. Returns 0 or CB_ENOMEM. */
static int
thread_add(struct thread *t, const uint8_t *id, uint64_t seq)
{
	static const uint8_t zero[MSGID_LEN];

	if ((t->nids + 1) * 2 > t->capids) {
		size_t cap = t->capids ? 2 * t->capids : 64;
		uint8_t *ids = calloc(cap, MSGID_LEN);

		if (ids == NULL)
			return CB_ENOMEM;
		for (size_t i = 0; i < t->capids; i++)
			if (memcmp(t->ids + i * MSGID_LEN, zero, MSGID_LEN) != 0)
				thread_put(ids, cap, t->ids + i * MSGID_LEN);
		free(t->ids);
		t->ids = ids;
		t->capids = cap;
	}
	if (memcmp(id, zero, MSGID_LEN) != 0)
		thread_put(t->ids, t->capids, id);
	t->nids++;
	return u64_push(&t->seqs, &t->nseqs, &t->capseqs, seq);
}

static int
thread_has_seq(const struct thread *t, uint64_t seq)
{
	size_t lo = 0, hi = t->nseqs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->seqs[mid] < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->nseqs && t->seqs[lo] == seq;
}

/* Whether an entry belongs to the thread; a message that does joins it. `own` says
 * whether the message carries the thread's category / case itself. */
static int
thread_step(struct thread *t, uint64_t seq, const Cluebus__LogEntry *e,
    const Cluebus__Message *m, int own, int *in)
{
	*in = 0;
	if (m != NULL) {
		*in = own || (m->refers_to.len == MSGID_LEN && thread_has(t, m->refers_to.data));
		if (*in && m->message_id.len == MSGID_LEN)
			return thread_add(t, m->message_id.data, seq);
		return 0;
	}
	if (e->ack != NULL)
		for (size_t i = 0; i < e->ack->n_seqs && !*in; i++)
			*in = thread_has_seq(t, e->ack->seqs[i]);
	return 0;
}

/* ---- selection ---- */

static const char *
entry_kind(const Cluebus__LogEntry *e, const Cluebus__Message *m)
{
	if (m != NULL)
		return intake_kind_name(m->kind);
	switch (e->type) {
	case CLUEBUS__ENTRY_TYPE__ENTRY_ACK: return "ack";
	case CLUEBUS__ENTRY_TYPE__ENTRY_REJECTION: return "rejection";
	case CLUEBUS__ENTRY_TYPE__ENTRY_CHECKPOINT: return "checkpoint";
	default: return "unknown";
	}
}

static int
str_eq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* Whether `unit` sent, received, acknowledged, was refused in, or is the subject of the
 * entry. */
static int
unit_in(const char *unit, const Cluebus__LogEntry *e, const Cluebus__Message *m)
{
	for (size_t i = 0; i < e->n_recipients; i++)
		if (str_eq(unit, e->recipients[i]))
			return 1;
	if (m != NULL && (str_eq(unit, m->sender) ||
	    (m->body_case == CLUEBUS__MESSAGE__BODY_REGISTRY && str_eq(unit, m->registry->unit))))
		return 1;
	if (e->ack != NULL && str_eq(unit, e->ack->unit))
		return 1;
	return e->rejection != NULL && (str_eq(unit, e->rejection->peer_unit) ||
	    str_eq(unit, e->rejection->claimed_sender));
}

int
replay_select(replay_t *r, uint64_t seq, const Cluebus__LogEntry *e,
    const Cluebus__Message *m, int *selected)
{
	int in_category = 1, in_case = 1, ok, rc;

	*selected = 0;
	if (r->by_category.on && (rc = thread_step(&r->by_category, seq, e, m, m != NULL &&
	    m->body_case == CLUEBUS__MESSAGE__BODY_CLUE && m->clue->category == r->category,
	    &in_category)) != 0)
		return rc;
	if (r->by_case.on && (rc = thread_step(&r->by_case, seq, e, m, m != NULL &&
	    str_eq(m->case_ref, r->case_ref), &in_case)) != 0)
		return rc;
	if (!in_category || !in_case || seq < r->from_seq || seq > r->to_seq ||
	    e->time_ms < r->from_ms || e->time_ms >= r->to_ms)
		return 0;
	ok = r->nunits == 0;
	for (size_t i = 0; i < r->nunits && !ok; i++)
		ok = unit_in(r->units[i], e, m);
	if (!ok)
		return 0;
	ok = r->nkinds == 0;
	for (size_t i = 0; i < r->nkinds && !ok; i++)
		ok = strcmp(r->kinds[i], entry_kind(e, m)) == 0;
	*selected = ok;
	return 0;
}

/* ---- rendering ---- */

void
replay_format_time(const replay_t *r, int64_t ms, char *out, size_t outlen)
{
	size_t len;
	int off = r->tz_min < 0 ? -r->tz_min : r->tz_min;

	clock_format_rfc3339(ms + (int64_t)r->tz_min * 60000, out, outlen);
	len = strlen(out);
	if (r->tz_min != 0 && len > 0 && out[len - 1] == 'Z')
		snprintf(out + len - 1, outlen - (len - 1), "%c%02d:%02d",
		    r->tz_min < 0 ? '-' : '+', off / 60, off % 60);
}

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
	jb_put(b, o, "handling", h);
	jb_str(b, ev, "source_reliability",
	    intake_enum_name(INTAKE_ENUM_RELIABILITY, c->source_reliability));
	jb_int(b, ev, "accuracy", c->info_accuracy);
	jb_put(b, o, "evaluation", ev);
	jb_int(b, o, "persons", c->n_persons);
	jb_int(b, o, "attachments", c->n_attachments);
	jb_int(b, o, "blind_tokens", c->n_blind_tokens);
	jb_sealed(b, o, "sealed_persons", c->sealed_persons);
	return o;
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
		jb_sealed(b, o, "sealed_persons", m->referral->sealed_persons);
		break;
	case CLUEBUS__MESSAGE__BODY_RECEIPT:
		break;	/* its note is free text */
	case CLUEBUS__MESSAGE__BODY_FEEDBACK:
		jb_str(b, o, "status", intake_enum_name(INTAKE_ENUM_FEEDBACK,
		    m->feedback->status));
		jb_units(b, o, "transferred_to", m->feedback->transferred_to,
		    m->feedback->n_transferred_to, 0);
		break;
	case CLUEBUS__MESSAGE__BODY_SUPERVISION:
		jb_str(b, o, "level", intake_enum_name(INTAKE_ENUM_SUPERVISION,
		    m->supervision->level));
		jb_units(b, o, "units", m->supervision->units, m->supervision->n_units, 1);
		jb_time(b, o, "receipt_due_at", m->supervision->receipt_due_ms);
		jb_time(b, o, "feedback_due_at", m->supervision->feedback_due_ms);
		break;
	case CLUEBUS__MESSAGE__BODY_REPORT:
		jb_str(b, o, "type", intake_enum_name(INTAKE_ENUM_REPORT, m->report->type));
		jb_time(b, o, "period_from", m->report->period_from_ms);
		jb_time(b, o, "period_to", m->report->period_to_ms);
		jb_units(b, o, "to_units", m->report->to_units, m->report->n_to_units, 0);
		break;
	case CLUEBUS__MESSAGE__BODY_ESCALATION:
		jb_hex(b, o, "referral_id", &m->escalation->referral_id);
		jb_str(b, o, "unit", m->escalation->unit);
		jb_str(b, o, "missed", intake_enum_name(INTAKE_ENUM_MISSED,
		    m->escalation->missed));
		jb_time(b, o, "due_at", m->escalation->due_ms);
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
	default:
		break;
	}
}

int
replay_entry_text(const replay_t *r, uint64_t seq, const uint8_t hash[CHAIN_HASH_LEN],
    const Cluebus__LogEntry *e, const Cluebus__Message *m, FILE *out)
{
	char when[48], id[2 * MSGID_LEN + 1], hex[2 * CHAIN_HASH_LEN + 1];

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

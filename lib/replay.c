/* lib/replay.c — the auditor's replay: option values, units' names, and which entries a
 * filter selects (the rendering is lib/replay_render.c).
 *
 * Invariants: (1) no free-text or personal-data field of a body is ever read here or in
 * the rendering (which names every field it prints; sealed blobs give only their suite and
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

/* A message a later correction corrected or withdrew (lib/replay.h). */
struct amended {
	uint8_t		 id[MSGID_LEN];
	uint64_t	 by_seq;
	int		 withdrawn;
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
	struct amended	*amended;		/* sorted by id, then by_seq */
	size_t		 namended, capamended;
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
	free(r->amended);
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

/* ---- times ---- */

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

/* ---- corrections: the latest state of a corrected or withdrawn message ---- */

/* The first record whose id is not below `id`. */
static size_t
amended_find(const replay_t *r, const uint8_t *id)
{
	size_t lo = 0, hi = r->namended;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (memcmp(r->amended[mid].id, id, MSGID_LEN) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
replay_amended_add(replay_t *r, const Cluebus__Message *m, uint64_t seq)
{
	struct amended *a;
	size_t at;

	if (m->body_case != CLUEBUS__MESSAGE__BODY_CORRECTION || m->refers_to.len != MSGID_LEN)
		return 0;
	if (r->namended == r->capamended) {
		size_t cap = r->capamended ? r->capamended * 2 : 16;

		if ((a = reallocarray(r->amended, cap, sizeof(*a))) == NULL)
			return CB_ENOMEM;
		r->amended = a;
		r->capamended = cap;
	}
	/* Kept sorted by id; an id's records in log order (the latest last). */
	at = amended_find(r, m->refers_to.data);
	while (at < r->namended && memcmp(r->amended[at].id, m->refers_to.data, MSGID_LEN) == 0)
		at++;
	memmove(&r->amended[at + 1], &r->amended[at], (r->namended - at) * sizeof(*a));
	r->namended++;
	a = &r->amended[at];
	memcpy(a->id, m->refers_to.data, MSGID_LEN);
	a->by_seq = seq;
	a->withdrawn = m->correction->op == CLUEBUS__CORRECTION_OP__CORRECTION_WITHDRAW;
	return 0;
}

int
replay_amended(const replay_t *r, const ProtobufCBinaryData *id, uint64_t *by_seq,
    int *withdrawn)
{
	size_t at;

	if (id->len != MSGID_LEN || r->namended == 0)
		return 0;
	at = amended_find(r, id->data);
	if (at == r->namended || memcmp(r->amended[at].id, id->data, MSGID_LEN) != 0)
		return 0;
	while (at + 1 < r->namended && memcmp(r->amended[at + 1].id, id->data, MSGID_LEN) == 0)
		at++;
	*by_seq = r->amended[at].by_seq;
	*withdrawn = r->amended[at].withdrawn;
	return 1;
}

/* lib/casefile.c — one pass over the audit log into a compact index, and the auditor's two
 * views of it: the timeline of a case and the statistics of a period (SPEC §8).
 *
 * The index keeps per message only what the views print (casefile.h lists it) in flat
 * arrays addressed by 32-bit indexes, with unit ids, case refs and district codes interned
 * once, so it costs about 100 bytes per message and 16 per recipient however large the
 * bodies are (plus at most CASEFILE_SUMMARY_MAX bytes per clue).
 *
 * Invariants:
 *   (1) msgs[] is in log order, hence sorted by seq: an ack finds its message by bisection,
 *       and a refers_to can only be followed to a message logged before (casefile_case's
 *       forward pass relies on it; a refers_to naming a later message leads nowhere).
 *   (2) Every duty is on exactly one referral's list, in order of creation; the latest duty
 *       of (referral, unit) is the one receipts, feedbacks and escalations update.
 *   (3) A duty's receipt, feedback and escalation times go from CASEFILE_NONE to a log time
 *       once and never change again: the first receipt / feedback / escalation counts.
 *   (4) The views build their results in their own memory and borrow nothing from the
 *       index; a failed build or view frees everything it allocated. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "casefile.h"
#include "chain.h"
#include "envelope.h"
#include "intake.h"
#include "util.h"

#define NOIDX		UINT32_MAX
#define IDX_MAX		(UINT32_MAX - 1)
#define NKINDS		(CLUEBUS__KIND__KIND_MATCH + 1)
#define NCATEGORIES	(CLUEBUS__CATEGORY__CATEGORY_OTHER + 1)
#define ROLE_KNOWN	0x1	/* strent.flag: the log's registry gave the unit a role */
#define ROLE_MEMBER	0x2	/* ... and it is "member" */
#define TIME_LEN	40

struct strent {
	char		*s;
	uint8_t		 flag;
};

/* Interned strings: ent[i] for index i; slot[] is an open-addressing table of index + 1. */
struct strtab {
	struct strent	*ent;
	size_t		 n, cap;
	uint32_t	*slot;
	size_t		 nslot;		/* 0 or a power of two > 2n */
};

struct cf_msg {
	uint64_t	seq;
	int64_t		time_ms;
	uint8_t		id[MESSAGE_ID_LEN];
	uint8_t		refers_to[MESSAGE_ID_LEN];
	uint32_t	sender;		/* units */
	uint32_t	case_ref;	/* strs, or NOIDX */
	uint32_t	rcpt, n_rcpt;	/* rcpts[rcpt .. rcpt + n_rcpt) */
	uint32_t	detail;		/* clue: clues[]; escalation: escs[]; else NOIDX */
	uint32_t	duties;		/* first duty on it (referral, petition clue) or NOIDX */
	uint8_t		kind, entry_type, has_refers_to, status;
};

struct cf_rcpt {
	uint32_t	unit;
	int64_t		acked_ms;
};

struct cf_clue {
	uint32_t	jurisdiction;	/* strs */
	uint8_t		category;
	char		*summary;	/* sanitized UTF-8, at most CASEFILE_SUMMARY_MAX + "…" */
};

struct cf_esc {
	uint32_t	unit;
	uint8_t		missed;
	int64_t		due_ms;
};

struct cf_duty {
	uint32_t	referral;	/* msgs */
	uint32_t	unit, from_unit;	/* from_unit: NOIDX unless it came by transfer */
	uint32_t	next;		/* next duty on the same referral, or NOIDX */
	int64_t		since_ms, receipt_due_ms, feedback_due_ms;
	int64_t		receipt_ms, feedback_ms, receipt_esc_ms, feedback_esc_ms;
	uint8_t		first_status, last_status;
	uint8_t		receipt_esc_pending, feedback_esc_pending;	/* since the due was set */
};

struct casefile {
	struct strtab	 units, strs;
	struct cf_msg	*msgs;
	size_t		 n_msgs, cap_msgs;
	struct cf_rcpt	*rcpts;
	size_t		 n_rcpts, cap_rcpts;
	struct cf_clue	*clues;
	size_t		 n_clues, cap_clues;
	struct cf_esc	*escs;
	size_t		 n_escs, cap_escs;
	struct cf_duty	*duties;
	size_t		 n_duties, cap_duties;
	uint32_t	*idmap;		/* message id -> msgs index + 1, open addressing */
	size_t		 nidmap;
	uint64_t	 entries;
	int64_t		 last_ms;
	/* the build walk */
	uint64_t	 expect;
	uint8_t		 prev[CHAIN_HASH_LEN];
	casefile_error_t *err;
};

static const char *const feedback_names[] = { "unspecified", "accepted", "in_progress",
    "resolved", "rejected", "transferred" };
static const char *const missed_names[] = { "unspecified", "receipt", "feedback" };

static int	build_fail(casefile_t *, uint64_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- small helpers ----------------------------------------------------------------------- */

/* Makes room for `need` elements of `size` bytes in the array *arrp of capacity *cap. */
static int
grow(void *arrp, size_t *cap, size_t need, size_t size)
{
	void **arr = arrp, *p;
	size_t ncap;

	if (need <= *cap)
		return 0;
	for (ncap = *cap < 16 ? 16 : *cap; ncap < need; ncap *= 2)
		if (ncap > SIZE_MAX / 2)
			return CB_ENOMEM;
	if (ncap > SIZE_MAX / size || (p = realloc(*arr, ncap * size)) == NULL)
		return CB_ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* FNV-1a: ids are random, unit ids and case refs short; a table stays under half full. */
static uint64_t
hash_bytes(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when p does not start one. */
static size_t
utf8_len(const unsigned char *p)
{
	unsigned c = p[0], lo, hi;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		lo = c == 0xe0 ? 0xa0 : 0x80;
		hi = c == 0xed ? 0x9f : 0xbf;
		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf;
		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 &&
		    (p[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

/* Copies `src` into dst[size] as valid UTF-8 (an invalid byte becomes '?'), cutting at a
 * character boundary. Returns 1 when it had to cut, else 0. */
static int
utf8_copy(char *dst, size_t size, const char *src)
{
	const unsigned char *p = (const unsigned char *)src;
	size_t o = 0, n;

	while (*p != '\0') {
		n = utf8_len(p);
		if (o + (n == 0 ? 1 : n) >= size)
			break;
		if (n == 0) {
			dst[o++] = '?';
			p++;
		} else {
			memcpy(dst + o, p, n);
			o += n;
			p += n;
		}
	}
	dst[o] = '\0';
	return *p != '\0';
}

static const char *
feedback_name(unsigned s)
{
	return s < sizeof(feedback_names) / sizeof(feedback_names[0]) ? feedback_names[s] :
	    "unknown";
}

static const char *
missed_name(unsigned m)
{
	return m < sizeof(missed_names) / sizeof(missed_names[0]) ? missed_names[m] : "unknown";
}

/* ---- interned strings -------------------------------------------------------------------- */

static uint32_t
strtab_find(const struct strtab *t, const char *s)
{
	size_t mask;

	if (t->nslot == 0)
		return NOIDX;
	mask = t->nslot - 1;
	for (size_t i = hash_bytes(s, strlen(s)) & mask; t->slot[i] != 0; i = (i + 1) & mask)
		if (strcmp(t->ent[t->slot[i] - 1].s, s) == 0)
			return t->slot[i] - 1;
	return NOIDX;
}

static void
strtab_put(uint32_t *slot, size_t nslot, const char *s, uint32_t idx)
{
	size_t i = hash_bytes(s, strlen(s)) & (nslot - 1);

	while (slot[i] != 0)
		i = (i + 1) & (nslot - 1);
	slot[i] = idx + 1;
}

static int
strtab_rehash(struct strtab *t, size_t nslot)
{
	uint32_t *slot;

	if ((slot = calloc(nslot, sizeof(*slot))) == NULL)
		return CB_ENOMEM;
	for (size_t k = 0; k < t->n; k++)
		strtab_put(slot, nslot, t->ent[k].s, (uint32_t)k);
	free(t->slot);
	t->slot = slot;
	t->nslot = nslot;
	return 0;
}

static int
strtab_intern(struct strtab *t, const char *s, uint32_t *out)
{
	char *copy = NULL;
	int rc;

	if ((*out = strtab_find(t, s)) != NOIDX)
		return 0;
	if (t->n >= IDX_MAX)
		return CB_ETOOBIG;
	if ((t->n + 1) * 2 >= t->nslot &&
	    (rc = strtab_rehash(t, t->nslot == 0 ? 64 : t->nslot * 2)) != 0)
		return rc;
	if ((rc = grow(&t->ent, &t->cap, t->n + 1, sizeof(*t->ent))) != 0)
		return rc;
	if ((copy = strdup(s)) == NULL)
		return CB_ENOMEM;
	t->ent[t->n].s = copy;
	t->ent[t->n].flag = 0;
	*out = (uint32_t)t->n++;
	strtab_put(t->slot, t->nslot, copy, *out);
	return 0;
}

static void
strtab_free(struct strtab *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->ent[i].s);
	free(t->ent);
	free(t->slot);
}

/* ---- the message index ------------------------------------------------------------------- */

static uint32_t
idmap_find(const casefile_t *cf, const uint8_t *id)
{
	size_t mask;

	if (cf->nidmap == 0)
		return NOIDX;
	mask = cf->nidmap - 1;
	for (size_t i = hash_bytes(id, MESSAGE_ID_LEN) & mask; cf->idmap[i] != 0;
	    i = (i + 1) & mask)
		if (memcmp(cf->msgs[cf->idmap[i] - 1].id, id, MESSAGE_ID_LEN) == 0)
			return cf->idmap[i] - 1;
	return NOIDX;
}

static void
idmap_put(uint32_t *map, size_t nslot, const uint8_t *id, uint32_t idx)
{
	size_t i = hash_bytes(id, MESSAGE_ID_LEN) & (nslot - 1);

	while (map[i] != 0)
		i = (i + 1) & (nslot - 1);
	map[i] = idx + 1;
}

/* Indexes msgs[idx] by its id unless the id is known already (the first one wins). */
static int
idmap_add(casefile_t *cf, uint32_t idx)
{
	uint32_t *map;
	size_t nslot;

	if (idmap_find(cf, cf->msgs[idx].id) != NOIDX)
		return 0;
	if (((size_t)idx + 1) * 2 >= cf->nidmap) {
		nslot = cf->nidmap == 0 ? 1024 : cf->nidmap * 2;
		if ((map = calloc(nslot, sizeof(*map))) == NULL)
			return CB_ENOMEM;
		for (size_t i = 0; i < cf->nidmap; i++)
			if (cf->idmap[i] != 0)
				idmap_put(map, nslot, cf->msgs[cf->idmap[i] - 1].id,
				    cf->idmap[i] - 1);
		free(cf->idmap);
		cf->idmap = map;
		cf->nidmap = nslot;
	}
	idmap_put(cf->idmap, cf->nidmap, cf->msgs[idx].id, idx);
	return 0;
}

static uint32_t
msg_by_seq(const casefile_t *cf, uint64_t seq)
{
	size_t lo = 0, hi = cf->n_msgs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cf->msgs[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < cf->n_msgs && cf->msgs[lo].seq == seq ? (uint32_t)lo : NOIDX;
}

/* The message a refers_to names, when it is logged and carries duties. */
static uint32_t
referral_of(const casefile_t *cf, const uint8_t *id)
{
	uint32_t r = idmap_find(cf, id);

	return r != NOIDX && cf->msgs[r].duties != NOIDX ? r : NOIDX;
}

/* Whether a petition routed to `u` obliges it: a member unit, by the registry records of the
 * log (as the broker decides), or by its id when the log names no role for it. */
static int
unit_is_member(const casefile_t *cf, uint32_t u)
{
	const char *id = cf->units.ent[u].s;

	if (cf->units.ent[u].flag & ROLE_KNOWN)
		return (cf->units.ent[u].flag & ROLE_MEMBER) != 0;
	return strcmp(id, CASEFILE_OFFICE) != 0 &&
	    strncmp(id, CASEFILE_DISTRICT_PREFIX, strlen(CASEFILE_DISTRICT_PREFIX)) != 0;
}

/* ---- duties ------------------------------------------------------------------------------ */

/* Closed, as the broker's obligation state: a feedback other than accepted / in_progress. */
static int
duty_closed(const struct cf_duty *d)
{
	return d->feedback_ms != CASEFILE_NONE &&
	    d->last_status != CLUEBUS__FEEDBACK_STATUS__FEEDBACK_ACCEPTED &&
	    d->last_status != CLUEBUS__FEEDBACK_STATUS__FEEDBACK_IN_PROGRESS;
}

static struct cf_duty *
duty_latest(casefile_t *cf, uint32_t ref, uint32_t unit)
{
	struct cf_duty *found = NULL;

	for (uint32_t d = cf->msgs[ref].duties; d != NOIDX; d = cf->duties[d].next)
		if (cf->duties[d].unit == unit)
			found = &cf->duties[d];
	return found;
}

/* Appends a duty of `unit` on msgs[ref] beginning at `since_ms`. Invalidates pointers into
 * cf->duties. */
static int
duty_add(casefile_t *cf, uint32_t ref, uint32_t unit, uint32_t from_unit, int64_t since_ms,
    int64_t receipt_due_ms, int64_t feedback_due_ms)
{
	struct cf_duty *d;
	uint32_t *link;
	int rc;

	if (cf->n_duties >= IDX_MAX)
		return CB_ETOOBIG;
	if ((rc = grow(&cf->duties, &cf->cap_duties, cf->n_duties + 1, sizeof(*d))) != 0)
		return rc;
	d = &cf->duties[cf->n_duties];
	memset(d, 0, sizeof(*d));
	d->referral = ref;
	d->unit = unit;
	d->from_unit = from_unit;
	d->next = NOIDX;
	d->since_ms = since_ms;
	d->receipt_due_ms = receipt_due_ms;
	d->feedback_due_ms = feedback_due_ms;
	d->receipt_ms = d->feedback_ms = CASEFILE_NONE;
	d->receipt_esc_ms = d->feedback_esc_ms = CASEFILE_NONE;
	for (link = &cf->msgs[ref].duties; *link != NOIDX; link = &cf->duties[*link].next)
		;
	*link = (uint32_t)cf->n_duties++;
	return 0;
}

static int
duties_of_referral(casefile_t *cf, uint32_t idx, const Cluebus__Referral *r, int64_t t)
{
	uint32_t u;
	int rc;

	for (size_t i = 0; i < r->n_to_units; i++) {
		if (!unit_id_valid(r->to_units[i]) ||
		    strcmp(r->to_units[i], cf->units.ent[cf->msgs[idx].sender].s) == 0)
			continue;	/* a referral never obliges its own sender */
		if ((rc = strtab_intern(&cf->units, r->to_units[i], &u)) != 0)
			return rc;
		if (cf->msgs[idx].duties != NOIDX && duty_latest(cf, idx, u) != NULL)
			continue;	/* named twice */
		if ((rc = duty_add(cf, idx, u, NOIDX, t, r->receipt_due_ms,
		    r->feedback_due_ms)) != 0)
			return rc;
	}
	return 0;
}

/* A petition clue is a referral to its routed member units (not to the offices). */
static int
duties_of_petition(casefile_t *cf, uint32_t idx, int64_t t)
{
	const struct cf_msg *m = &cf->msgs[idx];
	uint32_t first = m->rcpt, n = m->n_rcpt, sender = m->sender;
	int rc;

	for (uint32_t i = first; i < first + n; i++) {
		uint32_t u = cf->rcpts[i].unit;

		if (u == sender || !unit_is_member(cf, u) ||
		    (cf->msgs[idx].duties != NOIDX && duty_latest(cf, idx, u) != NULL))
			continue;
		if ((rc = duty_add(cf, idx, u, NOIDX, t, 0, 0)) != 0)
			return rc;
	}
	return 0;
}

static void
duty_receipt(casefile_t *cf, const struct cf_msg *m)
{
	uint32_t ref = m->has_refers_to ? referral_of(cf, m->refers_to) : NOIDX;
	struct cf_duty *d;

	if (ref != NOIDX && (d = duty_latest(cf, ref, m->sender)) != NULL &&
	    d->receipt_ms == CASEFILE_NONE)
		d->receipt_ms = m->time_ms;
}

static int
duty_feedback(casefile_t *cf, uint32_t idx, const Cluebus__Feedback *f)
{
	const struct cf_msg *m = &cf->msgs[idx];
	uint32_t ref = m->has_refers_to ? referral_of(cf, m->refers_to) : NOIDX, u;
	uint32_t sender = m->sender;
	int64_t t = m->time_ms;
	struct cf_duty *d;
	int rc;

	if (ref == NOIDX || (d = duty_latest(cf, ref, sender)) == NULL)
		return 0;
	if (d->receipt_ms == CASEFILE_NONE)
		d->receipt_ms = t;	/* a feedback is also the receipt */
	if (d->feedback_ms == CASEFILE_NONE) {
		d->feedback_ms = t;
		d->first_status = m->status;
	}
	d->last_status = m->status;
	if (m->status != CLUEBUS__FEEDBACK_STATUS__FEEDBACK_TRANSFERRED)
		return 0;
	for (size_t i = 0; i < f->n_transferred_to; i++) {
		if (!unit_id_valid(f->transferred_to[i]))
			continue;
		if ((rc = strtab_intern(&cf->units, f->transferred_to[i], &u)) != 0)
			return rc;
		if ((d = duty_latest(cf, ref, u)) != NULL && !duty_closed(d))
			continue;	/* its duty on this referral is still open */
		if ((rc = duty_add(cf, ref, u, sender, t, 0, 0)) != 0)
			return rc;
	}
	return 0;
}

/* As the broker: a supervision tightens the due time of a step still pending, or sets a new
 * one once that step was escalated. A due time of 0 (the broker's default, not in the log)
 * takes any wanted time. */
static void
supervise_due(int64_t want, int pending, int64_t *due, uint8_t *esc_pending)
{
	if (want == 0 || !pending || (!*esc_pending && *due != 0 && want >= *due))
		return;
	*due = want;
	*esc_pending = 0;
}

static void
duty_supervision(casefile_t *cf, const struct cf_msg *m, const Cluebus__Supervision *s)
{
	uint32_t ref = m->has_refers_to ? referral_of(cf, m->refers_to) : NOIDX;

	if (ref == NOIDX)
		return;
	for (uint32_t d = cf->msgs[ref].duties; d != NOIDX; d = cf->duties[d].next) {
		struct cf_duty *duty = &cf->duties[d];
		int named = s->n_units == 0;

		for (size_t i = 0; i < s->n_units && !named; i++)
			named = strcmp(s->units[i], cf->units.ent[duty->unit].s) == 0;
		if (!named || duty_closed(duty))
			continue;
		supervise_due(s->receipt_due_ms, duty->receipt_ms == CASEFILE_NONE,
		    &duty->receipt_due_ms, &duty->receipt_esc_pending);
		supervise_due(s->feedback_due_ms, duty->feedback_ms == CASEFILE_NONE,
		    &duty->feedback_due_ms, &duty->feedback_esc_pending);
	}
}

static void
duty_escalation(casefile_t *cf, const struct cf_msg *m, const Cluebus__Escalation *x)
{
	const uint8_t *rid = x->referral_id.len == MESSAGE_ID_LEN ? x->referral_id.data :
	    m->has_refers_to ? m->refers_to : NULL;
	const struct cf_esc *esc = &cf->escs[m->detail];
	uint32_t ref = rid != NULL ? referral_of(cf, rid) : NOIDX;
	struct cf_duty *d;

	if (ref == NOIDX || (d = duty_latest(cf, ref, esc->unit)) == NULL)
		return;
	/* The first escalation of a step is kept; the missed due time fills one the log did
	 * not state (the broker's default for the priority). */
	if (esc->missed == CLUEBUS__MISSED__MISSED_RECEIPT) {
		if (d->receipt_esc_ms == CASEFILE_NONE)
			d->receipt_esc_ms = m->time_ms;
		if (d->receipt_due_ms == 0)
			d->receipt_due_ms = esc->due_ms;
		d->receipt_esc_pending = 1;
	} else {
		if (d->feedback_esc_ms == CASEFILE_NONE)
			d->feedback_esc_ms = m->time_ms;
		if (d->feedback_due_ms == 0)
			d->feedback_due_ms = esc->due_ms;
		d->feedback_esc_pending = 1;
	}
}

/* ---- the build walk ---------------------------------------------------------------------- */

static int
build_fail(casefile_t *cf, uint64_t seq, const char *fmt, ...)
{
	va_list ap;

	if (cf->err != NULL) {
		cf->err->seq = seq;
		va_start(ap, fmt);
		vsnprintf(cf->err->reason, sizeof(cf->err->reason), fmt, ap);
		va_end(ap);
	}
	return CB_ECORRUPT;
}

/* Records the kind-specific fields of msgs[idx]. */
static int
index_body(casefile_t *cf, uint32_t idx, const Cluebus__Message *m)
{
	char summary[CASEFILE_SUMMARY_MAX + 4];
	struct cf_clue *c;
	struct cf_esc *x;
	unsigned status;
	uint32_t u;
	int rc;

	switch (m->body_case) {
	case CLUEBUS__MESSAGE__BODY_CLUE:
		if ((rc = grow(&cf->clues, &cf->cap_clues, cf->n_clues + 1, sizeof(*c))) != 0)
			return rc;
		c = &cf->clues[cf->n_clues];
		c->category = (uint8_t)m->clue->category;	/* 1..16: message_validate */
		if ((rc = strtab_intern(&cf->strs, m->clue->jurisdiction, &c->jurisdiction)) != 0)
			return rc;
		if (utf8_copy(summary, CASEFILE_SUMMARY_MAX + 1, m->clue->summary))
			strcat(summary, "\xe2\x80\xa6");
		if ((c->summary = strdup(summary)) == NULL)
			return CB_ENOMEM;
		cf->msgs[idx].detail = (uint32_t)cf->n_clues++;
		return 0;
	case CLUEBUS__MESSAGE__BODY_FEEDBACK:
		status = (unsigned)m->feedback->status;	/* not checked by message_validate */
		cf->msgs[idx].status = status <= CLUEBUS__FEEDBACK_STATUS__FEEDBACK_TRANSFERRED ?
		    (uint8_t)status : 0;
		return 0;
	case CLUEBUS__MESSAGE__BODY_ESCALATION:
		if (!unit_id_valid(m->escalation->unit) ||
		    (m->escalation->missed != CLUEBUS__MISSED__MISSED_RECEIPT &&
		    m->escalation->missed != CLUEBUS__MISSED__MISSED_FEEDBACK))
			return build_fail(cf, cf->msgs[idx].seq,
			    "escalation does not name a unit and a missed step");
		if ((rc = strtab_intern(&cf->units, m->escalation->unit, &u)) != 0 ||
		    (rc = grow(&cf->escs, &cf->cap_escs, cf->n_escs + 1, sizeof(*x))) != 0)
			return rc;
		x = &cf->escs[cf->n_escs];
		x->unit = u;
		x->missed = (uint8_t)m->escalation->missed;
		x->due_ms = m->escalation->due_ms;
		cf->msgs[idx].detail = (uint32_t)cf->n_escs++;
		return 0;
	case CLUEBUS__MESSAGE__BODY_REGISTRY:
		if (!unit_id_valid(m->registry->unit) || m->registry->role[0] == '\0')
			return 0;
		if ((rc = strtab_intern(&cf->units, m->registry->unit, &u)) != 0)
			return rc;
		cf->units.ent[u].flag = ROLE_KNOWN |
		    (strcmp(m->registry->role, "member") == 0 ? ROLE_MEMBER : 0);
		return 0;
	default:
		return 0;
	}
}

/* Applies msgs[idx] to the duties. */
static int
index_workflow(casefile_t *cf, uint32_t idx, const Cluebus__Message *m)
{
	const struct cf_msg *msg = &cf->msgs[idx];

	switch (m->body_case) {
	case CLUEBUS__MESSAGE__BODY_CLUE:
		if (m->clue->category == CLUEBUS__CATEGORY__CATEGORY_PETITION &&
		    strcmp(m->sender, CASEFILE_PETITION_UNIT) == 0)
			return duties_of_petition(cf, idx, msg->time_ms);
		return 0;
	case CLUEBUS__MESSAGE__BODY_REFERRAL:
		return duties_of_referral(cf, idx, m->referral, msg->time_ms);
	case CLUEBUS__MESSAGE__BODY_RECEIPT:
		duty_receipt(cf, msg);
		return 0;
	case CLUEBUS__MESSAGE__BODY_FEEDBACK:
		return duty_feedback(cf, idx, m->feedback);
	case CLUEBUS__MESSAGE__BODY_SUPERVISION:
		duty_supervision(cf, msg, m->supervision);
		return 0;
	case CLUEBUS__MESSAGE__BODY_ESCALATION:
		duty_escalation(cf, msg, m->escalation);
		return 0;
	default:
		return 0;
	}
}

static int
index_message(casefile_t *cf, const Cluebus__LogEntry *e, const Cluebus__Message *m)
{
	struct cf_msg *msg;
	uint32_t idx, u;
	int rc;

	if (cf->n_msgs >= IDX_MAX || e->n_recipients > IDX_MAX - cf->n_rcpts)
		return CB_ETOOBIG;
	if ((rc = grow(&cf->msgs, &cf->cap_msgs, cf->n_msgs + 1, sizeof(*msg))) != 0 ||
	    (rc = grow(&cf->rcpts, &cf->cap_rcpts, cf->n_rcpts + e->n_recipients,
	    sizeof(*cf->rcpts))) != 0)
		return rc;
	idx = (uint32_t)cf->n_msgs;
	msg = &cf->msgs[idx];
	memset(msg, 0, sizeof(*msg));
	msg->seq = e->seq;
	msg->time_ms = e->time_ms;
	msg->kind = (uint8_t)m->kind;		/* 1..9: message_validate */
	msg->entry_type = (uint8_t)e->type;
	msg->case_ref = msg->detail = msg->duties = NOIDX;
	memcpy(msg->id, m->message_id.data, MESSAGE_ID_LEN);
	if (m->refers_to.len == MESSAGE_ID_LEN) {
		memcpy(msg->refers_to, m->refers_to.data, MESSAGE_ID_LEN);
		msg->has_refers_to = 1;
	}
	if ((rc = strtab_intern(&cf->units, m->sender, &msg->sender)) != 0)
		return rc;
	if (m->case_ref[0] != '\0' &&
	    (rc = strtab_intern(&cf->strs, m->case_ref, &msg->case_ref)) != 0)
		return rc;
	msg->rcpt = (uint32_t)cf->n_rcpts;
	for (size_t i = 0; i < e->n_recipients; i++) {
		if (!unit_id_valid(e->recipients[i]))
			return build_fail(cf, e->seq, "recipient %zu is not a unit id", i);
		if ((rc = strtab_intern(&cf->units, e->recipients[i], &u)) != 0)
			return rc;
		cf->rcpts[cf->n_rcpts].unit = u;
		cf->rcpts[cf->n_rcpts++].acked_ms = CASEFILE_NONE;
	}
	msg->n_rcpt = (uint32_t)e->n_recipients;
	cf->n_msgs++;
	if ((rc = index_body(cf, idx, m)) != 0 || (rc = idmap_add(cf, idx)) != 0)
		return rc;
	return index_workflow(cf, idx, m);
}

/* The first ack of each recipient counts: that is when it held the message durably. */
static void
index_ack(casefile_t *cf, const Cluebus__LogEntry *e)
{
	uint32_t u = strtab_find(&cf->units, e->ack->unit), idx;
	struct cf_rcpt *r;

	if (u == NOIDX)
		return;		/* nothing was ever routed to it */
	for (size_t i = 0; i < e->ack->n_seqs; i++) {
		if ((idx = msg_by_seq(cf, e->ack->seqs[i])) == NOIDX)
			continue;
		r = &cf->rcpts[cf->msgs[idx].rcpt];
		for (uint32_t j = 0; j < cf->msgs[idx].n_rcpt; j++)
			if (r[j].unit == u && r[j].acked_ms == CASEFILE_NONE)
				r[j].acked_ms = e->time_ms;
	}
}

static int
build_entry(void *arg, uint64_t seq, const uint8_t *val, size_t len)
{
	casefile_t *cf = arg;
	Cluebus__LogEntry *e = NULL;
	Cluebus__Message *m = NULL;
	uint8_t h[CHAIN_HASH_LEN];
	const uint8_t *recorded;
	cb_error_t perr;
	int rc;

	if (seq != cf->expect) {
		rc = build_fail(cf, cf->expect, "sequence gap: the next entry is seq %llu",
		    (unsigned long long)seq);
		goto out;
	}
	if (chain_decode(val, len, &recorded, &e) != 0) {
		rc = build_fail(cf, seq, "entry does not decode");
		goto out;
	}
	if ((rc = chain_hash(val + CHAIN_HASH_LEN, len - CHAIN_HASH_LEN, h)) != 0)
		goto out;
	if (CRYPTO_memcmp(h, recorded, CHAIN_HASH_LEN) != 0)
		rc = build_fail(cf, seq, "entry bytes do not match its recorded hash");
	else if (e->seq != seq)
		rc = build_fail(cf, seq, "entry records a different sequence number");
	else if (e->prev_hash.len != CHAIN_HASH_LEN ||
	    CRYPTO_memcmp(e->prev_hash.data, cf->prev, CHAIN_HASH_LEN) != 0)
		rc = build_fail(cf, seq, "prev_hash does not link to the previous entry");
	if (rc != 0)
		goto out;
	memcpy(cf->prev, recorded, CHAIN_HASH_LEN);
	cf->expect = seq + 1;
	cf->entries++;
	cf->last_ms = e->time_ms;
	switch (e->type) {
	case CLUEBUS__ENTRY_TYPE__ENTRY_MESSAGE:
	case CLUEBUS__ENTRY_TYPE__ENTRY_BROKER:
		if (e->envelope == NULL) {
			rc = build_fail(cf, seq, "message entry without an envelope");
			goto out;
		}
		if ((rc = envelope_open(e->envelope, &m, &perr)) == CB_ENOMEM)
			goto out;
		if (rc != 0) {
			rc = build_fail(cf, seq, "message does not parse: %s: %s", perr.field,
			    perr.reason);
			goto out;
		}
		rc = index_message(cf, e, m);
		break;
	case CLUEBUS__ENTRY_TYPE__ENTRY_ACK:
		if (e->ack == NULL) {
			rc = build_fail(cf, seq, "ack entry without an ack");
			goto out;
		}
		index_ack(cf, e);
		break;
	default:
		break;		/* rejections, checkpoints: nothing to index */
	}
out:
	if (m != NULL)
		protobuf_c_message_free_unpacked(&m->base, NULL);
	if (e != NULL)
		cluebus__log_entry__free_unpacked(e, NULL);
	return rc;
}

int
casefile_build(store_t *s, casefile_t **out, casefile_error_t *err)
{
	casefile_t *cf;
	int rc;

	*out = NULL;
	if (err != NULL) {
		err->seq = 0;
		err->reason[0] = '\0';
	}
	if ((cf = calloc(1, sizeof(*cf))) == NULL)
		return CB_ENOMEM;
	cf->err = err;
	cf->expect = 1;
	cf->last_ms = CASEFILE_NONE;
	if ((rc = store_walk(s, 1, build_entry, cf)) != 0)
		goto out;
	cf->err = NULL;
	*out = cf;
	cf = NULL;
out:
	if (rc != 0 && err != NULL && err->reason[0] == '\0')
		snprintf(err->reason, sizeof(err->reason), "%s", cb_strerror(rc));
	casefile_free(cf);
	return rc;
}

void
casefile_free(casefile_t *cf)
{
	if (cf == NULL)
		return;
	for (size_t i = 0; i < cf->n_clues; i++)
		free(cf->clues[i].summary);
	free(cf->idmap);
	free(cf->duties);
	free(cf->escs);
	free(cf->clues);
	free(cf->rcpts);
	free(cf->msgs);
	strtab_free(&cf->strs);
	strtab_free(&cf->units);
	free(cf);
}

uint64_t
casefile_entries(const casefile_t *cf)
{
	return cf->entries;
}

int64_t
casefile_last_ms(const casefile_t *cf)
{
	return cf->last_ms;
}

int64_t
casefile_percentile(const int64_t *sorted, size_t n, unsigned pct)
{
	size_t rank;

	if (n == 0)
		return CASEFILE_NONE;
	if (pct < 1)
		pct = 1;
	if (pct > 100)
		pct = 100;
	rank = (pct * n + 99) / 100;		/* ceil(pct * n / 100), in 1..n */
	return sorted[rank - 1];
}

/* ---- the case timeline ------------------------------------------------------------------- */

static void
duty_view(const casefile_t *cf, const struct cf_duty *d, casefile_duty_t *v)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->unit, sizeof(v->unit), "%s", cf->units.ent[d->unit].s);
	if (d->from_unit != NOIDX)
		snprintf(v->transferred_from, sizeof(v->transferred_from), "%s",
		    cf->units.ent[d->from_unit].s);
	v->since_ms = d->since_ms;
	v->receipt_due_ms = d->receipt_due_ms;
	v->feedback_due_ms = d->feedback_due_ms;
	v->receipt_ms = d->receipt_ms;
	v->feedback_ms = d->feedback_ms;
	v->receipt_after_ms = d->receipt_ms == CASEFILE_NONE ? CASEFILE_NONE :
	    d->receipt_ms - d->since_ms;
	v->feedback_after_ms = d->feedback_ms == CASEFILE_NONE ? CASEFILE_NONE :
	    d->feedback_ms - d->since_ms;
	v->receipt_escalated_ms = d->receipt_esc_ms;
	v->feedback_escalated_ms = d->feedback_esc_ms;
	v->first_status = d->first_status;
	v->last_status = d->last_status;
}

static int
event_view(const casefile_t *cf, uint32_t idx, casefile_why_t why, casefile_event_t *ev)
{
	const struct cf_msg *m = &cf->msgs[idx];
	size_t n = 0;
	uint32_t r;

	memset(ev, 0, sizeof(*ev));
	ev->seq = m->seq;
	ev->time_ms = m->time_ms;
	ev->entry_type = m->entry_type;
	ev->kind = m->kind;
	ev->why = why;
	snprintf(ev->sender, sizeof(ev->sender), "%s", cf->units.ent[m->sender].s);
	hex_encode(m->id, MESSAGE_ID_LEN, ev->message_id);
	if (m->has_refers_to) {
		hex_encode(m->refers_to, MESSAGE_ID_LEN, ev->refers_to);
		if ((r = idmap_find(cf, m->refers_to)) != NOIDX)
			ev->refers_to_seq = cf->msgs[r].seq;
	}
	if (m->case_ref != NOIDX)
		utf8_copy(ev->case_ref, sizeof(ev->case_ref), cf->strs.ent[m->case_ref].s);
	if (m->n_rcpt > 0 &&
	    (ev->recipients = calloc(m->n_rcpt, sizeof(*ev->recipients))) == NULL)
		return CB_ENOMEM;
	for (uint32_t i = 0; i < m->n_rcpt; i++) {
		const struct cf_rcpt *rp = &cf->rcpts[m->rcpt + i];

		snprintf(ev->recipients[i].unit, sizeof(ev->recipients[i].unit), "%s",
		    cf->units.ent[rp->unit].s);
		ev->recipients[i].acked_ms = rp->acked_ms;
	}
	ev->n_recipients = m->n_rcpt;
	if (m->kind == CLUEBUS__KIND__KIND_CLUE && m->detail != NOIDX) {
		const struct cf_clue *c = &cf->clues[m->detail];

		ev->category = c->category;
		snprintf(ev->jurisdiction, sizeof(ev->jurisdiction), "%s",
		    cf->strs.ent[c->jurisdiction].s);
		snprintf(ev->summary, sizeof(ev->summary), "%s", c->summary);
	}
	if (m->kind == CLUEBUS__KIND__KIND_FEEDBACK)
		ev->status = m->status;
	if (m->kind == CLUEBUS__KIND__KIND_ESCALATION && m->detail != NOIDX) {
		const struct cf_esc *x = &cf->escs[m->detail];

		snprintf(ev->escalated_unit, sizeof(ev->escalated_unit), "%s",
		    cf->units.ent[x->unit].s);
		ev->missed = x->missed;
		ev->due_ms = x->due_ms;
	}
	for (uint32_t d = m->duties; d != NOIDX; d = cf->duties[d].next)
		n++;
	if (n > 0 && (ev->duties = calloc(n, sizeof(*ev->duties))) == NULL)
		return CB_ENOMEM;
	for (uint32_t d = m->duties; d != NOIDX; d = cf->duties[d].next)
		duty_view(cf, &cf->duties[d], &ev->duties[ev->n_duties++]);
	return 0;
}

/* Marks in why[] the messages of the case whose interned case ref is `ref`. */
static void
case_mark(const casefile_t *cf, uint32_t ref, uint8_t *why)
{
	uint32_t r;

	/* Forward: the case ref, then whatever refers to a member (invariant 1). */
	for (size_t i = 0; i < cf->n_msgs; i++) {
		const struct cf_msg *m = &cf->msgs[i];

		if (m->case_ref == ref)
			why[i] = CASEFILE_BY_CASE_REF;
		else if (m->has_refers_to && (r = idmap_find(cf, m->refers_to)) != NOIDX &&
		    r < i && (why[r] == CASEFILE_BY_CASE_REF || why[r] == CASEFILE_BY_REFERS_TO))
			why[i] = CASEFILE_BY_REFERS_TO;
	}
	/* Backward: what the members refer to, e.g. the clue a referral hands on. */
	for (size_t i = 0; i < cf->n_msgs; i++) {
		if (why[i] != CASEFILE_BY_CASE_REF && why[i] != CASEFILE_BY_REFERS_TO)
			continue;
		for (r = (uint32_t)i; cf->msgs[r].has_refers_to &&
		    (r = idmap_find(cf, cf->msgs[r].refers_to)) != NOIDX && why[r] == 0;)
			why[r] = CASEFILE_REFERRED;
	}
}

int
casefile_case(const casefile_t *cf, const char *case_ref, casefile_timeline_t **out)
{
	casefile_timeline_t *tl = NULL;
	uint8_t *why = NULL;
	uint32_t ref;
	size_t n = 0;
	int rc = CB_ENOMEM;

	*out = NULL;
	if (case_ref == NULL || case_ref[0] == '\0' ||
	    strlen(case_ref) >= CASEFILE_CASE_REF_LEN)
		return CB_EINVAL;
	if ((tl = calloc(1, sizeof(*tl))) == NULL)
		goto out;
	utf8_copy(tl->case_ref, sizeof(tl->case_ref), case_ref);
	tl->as_of_ms = cf->last_ms;
	if ((ref = strtab_find(&cf->strs, case_ref)) != NOIDX) {
		if ((why = calloc(cf->n_msgs + 1, 1)) == NULL)
			goto out;
		case_mark(cf, ref, why);
		for (size_t i = 0; i < cf->n_msgs; i++)
			n += why[i] != 0;
	}
	if (n > 0 && (tl->events = calloc(n, sizeof(*tl->events))) == NULL)
		goto out;
	for (size_t i = 0; n > 0 && i < cf->n_msgs; i++) {
		if (why[i] == 0)
			continue;
		/* Counted before filling: a failure frees what was filled. */
		tl->n_events++;
		if ((rc = event_view(cf, (uint32_t)i, why[i],
		    &tl->events[tl->n_events - 1])) != 0)
			goto out;
	}
	*out = tl;
	tl = NULL;
	rc = 0;
out:
	free(why);
	casefile_timeline_free(tl);
	return rc;
}

void
casefile_timeline_free(casefile_timeline_t *tl)
{
	if (tl == NULL)
		return;
	for (size_t i = 0; i < tl->n_events; i++) {
		free(tl->events[i].recipients);
		free(tl->events[i].duties);
	}
	free(tl->events);
	free(tl);
}

/* ---- statistics -------------------------------------------------------------------------- */

struct unit_acc {
	uint64_t	referrals, overdue_receipt, overdue_feedback, open_receipt, open_feedback;
	int		seen;
};

struct sample {
	uint32_t	unit;
	int64_t		ms;
};

static int
sample_cmp(const void *a, const void *b)
{
	const struct sample *x = a, *y = b;

	if (x->unit != y->unit)
		return x->unit < y->unit ? -1 : 1;
	return x->ms < y->ms ? -1 : x->ms > y->ms;
}

static int
count_cmp(const void *a, const void *b)
{
	return strcmp(((const casefile_count_t *)a)->key, ((const casefile_count_t *)b)->key);
}

static int
sender_cmp(const void *a, const void *b)
{
	const casefile_sender_count_t *x = a, *y = b;
	int c = strcmp(x->unit, y->unit);

	return c != 0 ? c : (int)x->kind - (int)y->kind;
}

static int
unit_cmp(const void *a, const void *b)
{
	return strcmp(((const casefile_unit_stats_t *)a)->unit,
	    ((const casefile_unit_stats_t *)b)->unit);
}

/* Fills the latency of each unit's run of sorted samples into its row. */
static int
stats_latency(struct sample *s, size_t n, const uint32_t *row_of, casefile_unit_stats_t *rows,
    int feedback)
{
	int64_t *run;
	size_t i = 0, j, k;

	if (n == 0)
		return 0;
	if ((run = malloc(n * sizeof(*run))) == NULL)
		return CB_ENOMEM;
	qsort(s, n, sizeof(*s), sample_cmp);
	while (i < n) {
		casefile_latency_t *l;

		for (j = i, k = 0; j < n && s[j].unit == s[i].unit; j++)
			run[k++] = s[j].ms;
		l = feedback ? &rows[row_of[s[i].unit]].feedback : &rows[row_of[s[i].unit]].receipt;
		l->n = k;
		l->median_ms = casefile_percentile(run, k, 50);
		l->p90_ms = casefile_percentile(run, k, 90);
		i = j;
	}
	free(run);
	return 0;
}

int
casefile_stats(const casefile_t *cf, int64_t from_ms, int64_t to_ms, casefile_stats_t **out)
{
	uint64_t cat[NCATEGORIES] = { 0 }, *dist = NULL, *sk = NULL;
	struct sample *rs = NULL, *fs = NULL;
	struct unit_acc *acc = NULL;
	casefile_stats_t *st = NULL;
	uint32_t *row_of = NULL;
	size_t nu = cf->units.n, nrs = 0, nfs = 0, n;
	int rc = CB_ENOMEM;

	*out = NULL;
	if (from_ms >= to_ms)
		return CB_EINVAL;
	if (nu + 1 > SIZE_MAX / NKINDS / sizeof(*sk) ||
	    (st = calloc(1, sizeof(*st))) == NULL ||
	    (acc = calloc(nu + 1, sizeof(*acc))) == NULL ||
	    (row_of = calloc(nu + 1, sizeof(*row_of))) == NULL ||
	    (dist = calloc(cf->strs.n + 1, sizeof(*dist))) == NULL ||
	    (sk = calloc((nu + 1) * NKINDS, sizeof(*sk))) == NULL ||
	    (rs = calloc(cf->n_duties + 1, sizeof(*rs))) == NULL ||
	    (fs = calloc(cf->n_duties + 1, sizeof(*fs))) == NULL)
		goto out;
	st->from_ms = from_ms;
	st->to_ms = to_ms;
	for (size_t i = 0; i < cf->n_msgs; i++) {
		const struct cf_msg *m = &cf->msgs[i];

		if (m->time_ms < from_ms || m->time_ms >= to_ms)
			continue;
		st->messages++;
		sk[(size_t)m->sender * NKINDS + m->kind]++;
		if (m->kind == CLUEBUS__KIND__KIND_CLUE && m->detail != NOIDX) {
			st->clues++;
			cat[cf->clues[m->detail].category]++;
			dist[cf->clues[m->detail].jurisdiction]++;
		}
		if (m->kind == CLUEBUS__KIND__KIND_ESCALATION && m->detail != NOIDX) {
			const struct cf_esc *x = &cf->escs[m->detail];

			acc[x->unit].seen = 1;
			if (x->missed == CLUEBUS__MISSED__MISSED_RECEIPT)
				acc[x->unit].overdue_receipt++;
			else
				acc[x->unit].overdue_feedback++;
		}
	}
	for (size_t i = 0; i < cf->n_duties; i++) {
		const struct cf_duty *d = &cf->duties[i];
		struct unit_acc *a = &acc[d->unit];

		if (d->since_ms < from_ms || d->since_ms >= to_ms)
			continue;
		a->seen = 1;
		a->referrals++;
		if (d->receipt_ms != CASEFILE_NONE && d->receipt_ms < to_ms)
			rs[nrs++] = (struct sample){ d->unit, d->receipt_ms - d->since_ms };
		else
			a->open_receipt++;
		if (d->feedback_ms != CASEFILE_NONE && d->feedback_ms < to_ms)
			fs[nfs++] = (struct sample){ d->unit, d->feedback_ms - d->since_ms };
		else
			a->open_feedback++;
	}

	for (size_t c = 0; c < NCATEGORIES; c++)
		st->n_categories += cat[c] != 0;
	for (size_t i = 0; i < cf->strs.n; i++)
		st->n_districts += dist[i] != 0;
	for (size_t i = 0; i < nu * NKINDS; i++)
		st->n_senders += sk[i] != 0;
	for (size_t u = 0; u < nu; u++)
		st->n_units += acc[u].seen != 0;
	if ((st->categories = calloc(st->n_categories + 1, sizeof(*st->categories))) == NULL ||
	    (st->districts = calloc(st->n_districts + 1, sizeof(*st->districts))) == NULL ||
	    (st->senders = calloc(st->n_senders + 1, sizeof(*st->senders))) == NULL ||
	    (st->units = calloc(st->n_units + 1, sizeof(*st->units))) == NULL)
		goto out;
	n = 0;
	for (size_t c = 0; c < NCATEGORIES; c++)
		if (cat[c] != 0) {
			snprintf(st->categories[n].key, sizeof(st->categories[n].key), "%s",
			    intake_category_name((Cluebus__Category)c));
			st->categories[n++].n = cat[c];
		}
	n = 0;
	for (size_t i = 0; i < cf->strs.n; i++)
		if (dist[i] != 0) {
			snprintf(st->districts[n].key, sizeof(st->districts[n].key), "%s",
			    cf->strs.ent[i].s);
			st->districts[n++].n = dist[i];
		}
	n = 0;
	for (size_t i = 0; i < nu * NKINDS; i++)
		if (sk[i] != 0) {
			snprintf(st->senders[n].unit, sizeof(st->senders[n].unit), "%s",
			    cf->units.ent[i / NKINDS].s);
			st->senders[n].kind = (Cluebus__Kind)(i % NKINDS);
			st->senders[n++].n = sk[i];
		}
	n = 0;
	for (size_t u = 0; u < nu; u++) {
		casefile_unit_stats_t *row = &st->units[n];

		if (!acc[u].seen)
			continue;
		row_of[u] = (uint32_t)n++;
		snprintf(row->unit, sizeof(row->unit), "%s", cf->units.ent[u].s);
		row->referrals = acc[u].referrals;
		row->overdue_receipt = acc[u].overdue_receipt;
		row->overdue_feedback = acc[u].overdue_feedback;
		row->open_receipt = acc[u].open_receipt;
		row->open_feedback = acc[u].open_feedback;
		row->receipt.median_ms = row->receipt.p90_ms = CASEFILE_NONE;
		row->feedback.median_ms = row->feedback.p90_ms = CASEFILE_NONE;
	}
	if ((rc = stats_latency(rs, nrs, row_of, st->units, 0)) != 0 ||
	    (rc = stats_latency(fs, nfs, row_of, st->units, 1)) != 0)
		goto out;
	qsort(st->categories, st->n_categories, sizeof(*st->categories), count_cmp);
	qsort(st->districts, st->n_districts, sizeof(*st->districts), count_cmp);
	qsort(st->senders, st->n_senders, sizeof(*st->senders), sender_cmp);
	qsort(st->units, st->n_units, sizeof(*st->units), unit_cmp);
	*out = st;
	st = NULL;
	rc = 0;
out:
	free(fs);
	free(rs);
	free(sk);
	free(dist);
	free(row_of);
	free(acc);
	casefile_stats_free(st);
	return rc;
}

void
casefile_stats_free(casefile_stats_t *st)
{
	if (st == NULL)
		return;
	free(st->units);
	free(st->senders);
	free(st->districts);
	free(st->categories);
	free(st);
}

/* ---- text rendering ---------------------------------------------------------------------- */

/* A growable string; after a failed append it stays as it was and `failed` is set. */
struct sbuf {
	char	*p;
	size_t	 len, cap;
	int	 failed;
};

static void	sbuf_printf(struct sbuf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || grow(&b->p, &b->cap, b->len + (size_t)n + 1, 1) != 0) {
		b->failed = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Rows of cells printed in aligned columns ('l' or 'r' per column in `align`; the last
 * column is not padded); a row may carry detail lines printed below it, starting under
 * column `note_col`. */
struct table {
	const char	*align;
	size_t		 ncols, ncells, cap, note_col;
	char		**cells;
	char		**notes;	/* per row, "line\nline\n" or NULL */
	size_t		 notes_cap;
	const char	*empty_text;	/* printed instead of a header without rows */
	int		 failed;
};

static char	*str_vprintf(const char *, va_list) __attribute__((format(printf, 1, 0)));
static void	table_cell(struct table *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
static void	table_note(struct table *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* A new string (caller frees), or NULL when out of memory. */
static char *
str_vprintf(const char *fmt, va_list ap)
{
	va_list ap2;
	char *s;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL)
		return NULL;
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

static void
table_cell(struct table *t, const char *fmt, ...)
{
	size_t rows = t->ncells / t->ncols + 1;
	va_list ap;
	char *s;

	if (t->failed)
		return;
	if (grow(&t->cells, &t->cap, t->ncells + 1, sizeof(*t->cells)) != 0 ||
	    grow(&t->notes, &t->notes_cap, rows, sizeof(*t->notes)) != 0) {
		t->failed = 1;
		return;
	}
	va_start(ap, fmt);
	s = str_vprintf(fmt, ap);
	va_end(ap);
	if (s == NULL) {
		t->failed = 1;
		return;
	}
	if (t->ncells % t->ncols == 0)
		t->notes[t->ncells / t->ncols] = NULL;
	t->cells[t->ncells++] = s;
}

static void
table_note(struct table *t, const char *fmt, ...)
{
	struct sbuf b = { 0 };
	size_t row;
	va_list ap;
	char *line;

	if (t->failed || t->ncells == 0)
		return;
	row = (t->ncells - 1) / t->ncols;
	va_start(ap, fmt);
	line = str_vprintf(fmt, ap);
	va_end(ap);
	if (line == NULL) {
		t->failed = 1;
		return;
	}
	if (t->notes[row] != NULL)
		sbuf_printf(&b, "%s", t->notes[row]);
	sbuf_printf(&b, "%s\n", line);
	free(line);
	if (b.failed) {
		free(b.p);
		t->failed = 1;
		return;
	}
	free(t->notes[row]);
	t->notes[row] = b.p;
}

static void
table_free(struct table *t)
{
	for (size_t i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	for (size_t r = 0; t->ncells > 0 && r <= (t->ncells - 1) / t->ncols; r++)
		free(t->notes[r]);
	free(t->cells);
	free(t->notes);
}

static int
table_print(struct table *t, FILE *fp)
{
	size_t width[16] = { 0 }, rows, indent = 0;

	if (t->failed)
		return CB_ENOMEM;
	if (t->ncols > 16)
		return CB_EINVAL;
	rows = t->ncells / t->ncols;
	if (rows == 1 && t->empty_text != NULL) {
		fprintf(fp, "%s\n", t->empty_text);	/* a header without rows */
		return 0;
	}
	for (size_t i = 0; i < rows * t->ncols; i++) {
		size_t len = strlen(t->cells[i]);

		if (len > width[i % t->ncols])
			width[i % t->ncols] = len;
	}
	for (size_t c = 0; c < t->note_col && c < t->ncols; c++)
		indent += width[c] + 2;
	for (size_t r = 0; r < rows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			int w = (int)width[c], last = c + 1 == t->ncols;

			if (t->align[c] == 'r')
				fprintf(fp, "%*s", w, s);
			else
				fprintf(fp, "%-*s", last ? 0 : w, s);
			if (!last)
				fputs("  ", fp);
		}
		fputc('\n', fp);
		for (const char *p = t->notes[r]; p != NULL && *p != '\0';) {
			const char *nl = strchr(p, '\n');

			fprintf(fp, "%*s%.*s\n", (int)indent, "", (int)(nl - p), p);
			p = nl + 1;
		}
	}
	return 0;
}

static void
fmt_time(int64_t ms, char *buf, size_t len)
{
	if (ms == CASEFILE_NONE)
		snprintf(buf, len, "-");
	else
		clock_format_rfc3339(ms, buf, len);
}

/* "850ms", "42.250s", "5m00s", "30h00m"; "-" for CASEFILE_NONE. */
static void
fmt_duration(int64_t ms, char *buf, size_t len)
{
	const char *sign = "";
	uint64_t v;

	if (ms == CASEFILE_NONE) {
		snprintf(buf, len, "-");
		return;
	}
	if (ms < 0) {
		sign = "-";
		v = (uint64_t)-(ms + 1) + 1;
	} else {
		v = (uint64_t)ms;
	}
	if (v < 1000)
		snprintf(buf, len, "%s%llums", sign, (unsigned long long)v);
	else if (v < 60000)
		snprintf(buf, len, "%s%llu.%03llus", sign, (unsigned long long)(v / 1000),
		    (unsigned long long)(v % 1000));
	else if (v < 3600000)
		snprintf(buf, len, "%s%llum%02llus", sign, (unsigned long long)(v / 60000),
		    (unsigned long long)(v / 1000 % 60));
	else
		snprintf(buf, len, "%s%lluh%02llum", sign, (unsigned long long)(v / 3600000),
		    (unsigned long long)(v / 60000 % 60));
}

/* One step of a duty: "2h00m (resolved, due 48h00m, escalated at T)" or "open"/"overdue". */
static void
duty_step(struct sbuf *b, const char *name, int64_t at_ms, int64_t after_ms, int64_t due_ms,
    int64_t since_ms, int64_t esc_ms, const char *status)
{
	char dur[32], when[TIME_LEN];
	const char *sep = " (";

	if (at_ms != CASEFILE_NONE) {
		fmt_duration(after_ms, dur, sizeof(dur));
		sbuf_printf(b, "%s %s", name, dur);
	} else {
		sbuf_printf(b, "%s %s", name, esc_ms != CASEFILE_NONE ? "overdue" : "open");
	}
	if (status != NULL) {
		sbuf_printf(b, "%s%s", sep, status);
		sep = ", ";
	}
	if (due_ms > since_ms) {
		fmt_duration(due_ms - since_ms, dur, sizeof(dur));
		sbuf_printf(b, "%sdue %s", sep, dur);
		sep = ", ";
	}
	if (esc_ms != CASEFILE_NONE) {
		fmt_time(esc_ms, when, sizeof(when));
		sbuf_printf(b, "%sescalated at %s", sep, when);
		sep = ", ";
	}
	if (sep[0] == ',')
		sbuf_printf(b, ")");
}

static void
duty_line(struct table *t, const casefile_duty_t *d)
{
	char when[TIME_LEN], status[40];
	struct sbuf b = { 0 };

	sbuf_printf(&b, "%s", d->unit);
	if (d->transferred_from[0] != '\0') {
		fmt_time(d->since_ms, when, sizeof(when));
		sbuf_printf(&b, ", transferred from %s at %s", d->transferred_from, when);
	}
	sbuf_printf(&b, ": ");
	duty_step(&b, "receipt", d->receipt_ms, d->receipt_after_ms, d->receipt_due_ms,
	    d->since_ms, d->receipt_escalated_ms, NULL);
	sbuf_printf(&b, ", ");
	if (d->last_status != d->first_status)
		snprintf(status, sizeof(status), "%s, then %s", feedback_name(d->first_status),
		    feedback_name(d->last_status));
	else
		snprintf(status, sizeof(status), "%s", feedback_name(d->first_status));
	duty_step(&b, "feedback", d->feedback_ms, d->feedback_after_ms, d->feedback_due_ms,
	    d->since_ms, d->feedback_escalated_ms,
	    d->feedback_ms != CASEFILE_NONE ? status : NULL);
	if (b.failed)
		t->failed = 1;
	else
		table_note(t, "%s", b.p);
	free(b.p);
}

static void
event_row(struct table *t, const casefile_event_t *ev)
{
	char when[TIME_LEN], dur[32], summary[sizeof(ev->summary)];
	struct sbuf to = { 0 };

	fmt_time(ev->time_ms, when, sizeof(when));
	table_cell(t, "%s", when);
	table_cell(t, "%llu", (unsigned long long)ev->seq);
	if (ev->refers_to[0] == '\0')
		table_cell(t, "%s", "");
	else if (ev->refers_to_seq == 0)
		table_cell(t, "%s", "?");
	else
		table_cell(t, "%llu", (unsigned long long)ev->refers_to_seq);
	table_cell(t, "%s", intake_kind_name(ev->kind));
	table_cell(t, "%s", ev->sender);
	for (size_t i = 0; i < ev->n_recipients; i++) {
		const casefile_delivery_t *r = &ev->recipients[i];

		if (r->acked_ms == CASEFILE_NONE) {
			sbuf_printf(&to, "%s%s (not acked)", i ? ", " : "", r->unit);
		} else {
			fmt_duration(r->acked_ms - ev->time_ms, dur, sizeof(dur));
			sbuf_printf(&to, "%s%s (+%s)", i ? ", " : "", r->unit, dur);
		}
	}
	table_cell(t, "%s", ev->n_recipients == 0 ? "(none)" : to.failed ? "" : to.p);
	t->failed |= to.failed;
	free(to.p);
	if (ev->why == CASEFILE_REFERRED)
		table_note(t, "(not in the case itself: a message of the case refers to it)");
	switch (ev->kind) {
	case CLUEBUS__KIND__KIND_CLUE:
		snprintf(summary, sizeof(summary), "%s", ev->summary);
		for (char *p = summary; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = ' ';
		table_note(t, "%s, district %s: \"%s\"", intake_category_name(ev->category),
		    ev->jurisdiction, summary);
		break;
	case CLUEBUS__KIND__KIND_FEEDBACK:
		table_note(t, "status %s", feedback_name(ev->status));
		break;
	case CLUEBUS__KIND__KIND_ESCALATION:
		fmt_time(ev->due_ms, when, sizeof(when));
		table_note(t, "%s missed the %s due %s", ev->escalated_unit,
		    missed_name(ev->missed), when);
		break;
	default:
		break;
	}
	for (size_t i = 0; i < ev->n_duties; i++)
		duty_line(t, &ev->duties[i]);
}

int
casefile_timeline_print(const casefile_timeline_t *tl, FILE *fp)
{
	struct table t = { .align = "lrrlll", .ncols = 6, .note_col = 3 };
	char when[TIME_LEN];
	int rc;

	fmt_time(tl->as_of_ms, when, sizeof(when));
	if (tl->n_events == 0) {
		fprintf(fp, "case %s: no messages in the log (as of %s)\n", tl->case_ref, when);
		return ferror(fp) ? CB_EIO : 0;
	}
	fprintf(fp, "case %s: %zu message%s, as of %s\n"
	    "(broker log times; RE: seq of the message it refers to; acks and durations count "
	    "from the message's log time, a duty's from when it began)\n\n", tl->case_ref,
	    tl->n_events, tl->n_events == 1 ? "" : "s", when);
	table_cell(&t, "TIME");
	table_cell(&t, "SEQ");
	table_cell(&t, "RE");
	table_cell(&t, "KIND");
	table_cell(&t, "FROM");
	table_cell(&t, "TO (ACKED AFTER)");
	for (size_t i = 0; i < tl->n_events; i++)
		event_row(&t, &tl->events[i]);
	rc = table_print(&t, fp);
	table_free(&t);
	if (rc == 0 && ferror(fp))
		rc = CB_EIO;
	return rc;
}

static void
fmt_period(int64_t ms, const char *none, char *buf, size_t len)
{
	if (ms == INT64_MIN || ms == INT64_MAX)
		snprintf(buf, len, "%s", none);
	else
		clock_format_rfc3339(ms, buf, len);
}

static int
stats_tables(const casefile_stats_t *st, FILE *fp)
{
	struct table cat = { .align = "lr", .ncols = 2, .empty_text = "(none)" };
	struct table dist = { .align = "lr", .ncols = 2, .empty_text = "(none)" };
	struct table snd = { .align = "llr", .ncols = 3, .empty_text = "(none)" };
	struct table un = { .align = "lrrrrrrrrrrr", .ncols = 12, .empty_text = "(none)" };
	char med[32], p90[32];
	int rc;

	table_cell(&cat, "CATEGORY");
	table_cell(&cat, "CLUES");
	for (size_t i = 0; i < st->n_categories; i++) {
		table_cell(&cat, "%s", st->categories[i].key);
		table_cell(&cat, "%llu", (unsigned long long)st->categories[i].n);
	}
	table_cell(&dist, "DISTRICT");
	table_cell(&dist, "CLUES");
	for (size_t i = 0; i < st->n_districts; i++) {
		table_cell(&dist, "%s", st->districts[i].key);
		table_cell(&dist, "%llu", (unsigned long long)st->districts[i].n);
	}
	table_cell(&snd, "UNIT");
	table_cell(&snd, "KIND");
	table_cell(&snd, "MESSAGES");
	for (size_t i = 0; i < st->n_senders; i++) {
		table_cell(&snd, "%s", st->senders[i].unit);
		table_cell(&snd, "%s", intake_kind_name(st->senders[i].kind));
		table_cell(&snd, "%llu", (unsigned long long)st->senders[i].n);
	}
	table_cell(&un, "UNIT");
	table_cell(&un, "REFERRALS");
	table_cell(&un, "RECEIPTS");
	table_cell(&un, "RCPT MEDIAN");
	table_cell(&un, "RCPT P90");
	table_cell(&un, "FEEDBACKS");
	table_cell(&un, "FB MEDIAN");
	table_cell(&un, "FB P90");
	table_cell(&un, "OVERDUE RCPT");
	table_cell(&un, "OVERDUE FB");
	table_cell(&un, "OPEN RCPT");
	table_cell(&un, "OPEN FB");
	for (size_t i = 0; i < st->n_units; i++) {
		const casefile_unit_stats_t *u = &st->units[i];

		table_cell(&un, "%s", u->unit);
		table_cell(&un, "%llu", (unsigned long long)u->referrals);
		table_cell(&un, "%llu", (unsigned long long)u->receipt.n);
		fmt_duration(u->receipt.median_ms, med, sizeof(med));
		fmt_duration(u->receipt.p90_ms, p90, sizeof(p90));
		table_cell(&un, "%s", med);
		table_cell(&un, "%s", p90);
		table_cell(&un, "%llu", (unsigned long long)u->feedback.n);
		fmt_duration(u->feedback.median_ms, med, sizeof(med));
		fmt_duration(u->feedback.p90_ms, p90, sizeof(p90));
		table_cell(&un, "%s", med);
		table_cell(&un, "%s", p90);
		table_cell(&un, "%llu", (unsigned long long)u->overdue_receipt);
		table_cell(&un, "%llu", (unsigned long long)u->overdue_feedback);
		table_cell(&un, "%llu", (unsigned long long)u->open_receipt);
		table_cell(&un, "%llu", (unsigned long long)u->open_feedback);
	}
	fputs("Clues by category\n", fp);
	if ((rc = table_print(&cat, fp)) != 0)
		goto out;
	fputs("\nClues by district (jurisdiction)\n", fp);
	if ((rc = table_print(&dist, fp)) != 0)
		goto out;
	fputs("\nMessages by sending unit and kind\n", fp);
	if ((rc = table_print(&snd, fp)) != 0)
		goto out;
	fputs("\nDuties by obliged unit: referrals (incl. transfers and petitions) that began in "
	    "the period;\ntimes from the duty's start to its receipt / feedback, nearest-rank "
	    "median and p90;\noverdue = escalations logged in the period; open = no receipt / "
	    "feedback by the end\n", fp);
	rc = table_print(&un, fp);
out:
	table_free(&un);
	table_free(&snd);
	table_free(&dist);
	table_free(&cat);
	return rc;
}

int
casefile_stats_print(const casefile_stats_t *st, FILE *fp)
{
	char from[TIME_LEN], to[TIME_LEN];
	int rc;

	fmt_period(st->from_ms, "the beginning", from, sizeof(from));
	fmt_period(st->to_ms, "the end of the log", to, sizeof(to));
	fprintf(fp, "Period %s to %s (broker log time, end excluded)\n"
	    "%llu messages, %llu clues\n\n", from, to, (unsigned long long)st->messages,
	    (unsigned long long)st->clues);
	rc = stats_tables(st, fp);
	if (rc == 0 && ferror(fp))
		rc = CB_EIO;
	return rc;
}

/* ---- JSON rendering ---------------------------------------------------------------------- */

/* Sets o[k] = v (a new reference, NULL when its construction failed). Returns 0 or -1. */
static int
jset(json_t *o, const char *k, json_t *v)
{
	return json_object_set_new(o, k, v) == 0 ? 0 : -1;
}

static json_t *
jtime(int64_t ms)
{
	char buf[TIME_LEN];

	if (ms == CASEFILE_NONE)
		return json_null();
	clock_format_rfc3339(ms, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *
jms(int64_t ms)
{
	return ms == CASEFILE_NONE ? json_null() : json_integer((json_int_t)ms);
}

static json_t *
jdue(int64_t ms)
{
	return ms == 0 ? json_null() : jtime(ms);
}

static const char *
step_state(int64_t at_ms, int64_t esc_ms)
{
	return at_ms != CASEFILE_NONE ? "done" : esc_ms != CASEFILE_NONE ? "overdue" : "open";
}

static json_t *
duty_json(const casefile_duty_t *d)
{
	json_t *o = json_object(), *r = json_object(), *f = json_object();
	int bad = o == NULL || r == NULL || f == NULL;

	bad |= jset(r, "state", json_string(step_state(d->receipt_ms, d->receipt_escalated_ms)));
	bad |= jset(r, "at", jtime(d->receipt_ms));
	bad |= jset(r, "after_ms", jms(d->receipt_after_ms));
	bad |= jset(r, "due", jdue(d->receipt_due_ms));
	bad |= jset(r, "escalated", jtime(d->receipt_escalated_ms));
	bad |= jset(f, "state", json_string(step_state(d->feedback_ms,
	    d->feedback_escalated_ms)));
	bad |= jset(f, "at", jtime(d->feedback_ms));
	bad |= jset(f, "after_ms", jms(d->feedback_after_ms));
	bad |= jset(f, "due", jdue(d->feedback_due_ms));
	bad |= jset(f, "escalated", jtime(d->feedback_escalated_ms));
	bad |= jset(f, "status", d->feedback_ms == CASEFILE_NONE ? json_null() :
	    json_string(feedback_name(d->first_status)));
	bad |= jset(f, "last_status", d->feedback_ms == CASEFILE_NONE ? json_null() :
	    json_string(feedback_name(d->last_status)));
	bad |= jset(o, "unit", json_string(d->unit));
	bad |= jset(o, "transferred_from", d->transferred_from[0] == '\0' ? json_null() :
	    json_string(d->transferred_from));
	bad |= jset(o, "since", jtime(d->since_ms));
	bad |= jset(o, "since_ms", json_integer((json_int_t)d->since_ms));
	bad |= jset(o, "receipt", r);
	r = NULL;
	bad |= jset(o, "feedback", f);
	f = NULL;
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
event_json(const casefile_event_t *ev)
{
	static const char *const why_names[] = { "", "case_ref", "refers_to", "referred" };
	json_t *o = json_object(), *a = json_array(), *x;
	int bad = o == NULL || a == NULL;

	bad |= jset(o, "seq", json_integer((json_int_t)ev->seq));
	bad |= jset(o, "time", jtime(ev->time_ms));
	bad |= jset(o, "time_ms", json_integer((json_int_t)ev->time_ms));
	bad |= jset(o, "entry", json_string(ev->entry_type == CLUEBUS__ENTRY_TYPE__ENTRY_BROKER ?
	    "broker" : "message"));
	bad |= jset(o, "kind", json_string(intake_kind_name(ev->kind)));
	bad |= jset(o, "in_case", json_string(why_names[ev->why <= 3 ? ev->why : 0]));
	bad |= jset(o, "sender", json_string(ev->sender));
	bad |= jset(o, "message_id", json_string(ev->message_id));
	bad |= jset(o, "refers_to", ev->refers_to[0] == '\0' ? json_null() :
	    json_string(ev->refers_to));
	bad |= jset(o, "refers_to_seq", ev->refers_to_seq == 0 ? json_null() :
	    json_integer((json_int_t)ev->refers_to_seq));
	bad |= jset(o, "case_ref", ev->case_ref[0] == '\0' ? json_null() :
	    json_string(ev->case_ref));
	for (size_t i = 0; i < ev->n_recipients; i++) {
		const casefile_delivery_t *r = &ev->recipients[i];

		if ((x = json_object()) == NULL) {
			bad = 1;
			break;
		}
		bad |= jset(x, "unit", json_string(r->unit));
		bad |= jset(x, "acked", jtime(r->acked_ms));
		bad |= jset(x, "ack_after_ms", r->acked_ms == CASEFILE_NONE ? json_null() :
		    json_integer((json_int_t)(r->acked_ms - ev->time_ms)));
		bad |= json_array_append_new(a, x) != 0;
	}
	bad |= jset(o, "recipients", a);
	if (ev->kind == CLUEBUS__KIND__KIND_CLUE) {
		x = json_object();
		bad |= jset(x, "category", json_string(intake_category_name(ev->category)));
		bad |= jset(x, "jurisdiction", json_string(ev->jurisdiction));
		bad |= jset(x, "summary", json_string(ev->summary));
		bad |= jset(o, "clue", x);
	}
	if (ev->kind == CLUEBUS__KIND__KIND_FEEDBACK) {
		x = json_object();
		bad |= jset(x, "status", json_string(feedback_name(ev->status)));
		bad |= jset(o, "feedback", x);
	}
	if (ev->kind == CLUEBUS__KIND__KIND_ESCALATION) {
		x = json_object();
		bad |= jset(x, "unit", json_string(ev->escalated_unit));
		bad |= jset(x, "missed", json_string(missed_name(ev->missed)));
		bad |= jset(x, "due", jdue(ev->due_ms));
		bad |= jset(o, "escalation", x);
	}
	if (ev->n_duties > 0) {
		a = json_array();
		for (size_t i = 0; i < ev->n_duties; i++)
			bad |= json_array_append_new(a, duty_json(&ev->duties[i])) != 0;
		bad |= jset(o, "duties", a);
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
casefile_timeline_json(const casefile_timeline_t *tl)
{
	json_t *o = json_object(), *a = json_array();
	int bad = o == NULL || a == NULL;

	bad |= jset(o, "case_ref", json_string(tl->case_ref));
	bad |= jset(o, "as_of", jtime(tl->as_of_ms));
	for (size_t i = 0; i < tl->n_events; i++)
		bad |= json_array_append_new(a, event_json(&tl->events[i])) != 0;
	bad |= jset(o, "events", a);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
latency_json(const casefile_latency_t *l)
{
	json_t *o = json_object();
	int bad = o == NULL;

	bad |= jset(o, "n", json_integer((json_int_t)l->n));
	bad |= jset(o, "median_ms", jms(l->median_ms));
	bad |= jset(o, "p90_ms", jms(l->p90_ms));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
casefile_stats_json(const casefile_stats_t *st)
{
	json_t *o = json_object(), *cat = json_object(), *dist = json_object();
	json_t *snd = json_object(), *units = json_array(), *x, *y;
	int bad = o == NULL || cat == NULL || dist == NULL || snd == NULL || units == NULL;

	bad |= jset(o, "from", st->from_ms == INT64_MIN ? json_null() : jtime(st->from_ms));
	bad |= jset(o, "to", st->to_ms == INT64_MAX ? json_null() : jtime(st->to_ms));
	bad |= jset(o, "percentiles", json_string("nearest-rank"));
	bad |= jset(o, "messages", json_integer((json_int_t)st->messages));
	bad |= jset(o, "clues", json_integer((json_int_t)st->clues));
	for (size_t i = 0; i < st->n_categories; i++)
		bad |= jset(cat, st->categories[i].key,
		    json_integer((json_int_t)st->categories[i].n));
	for (size_t i = 0; i < st->n_districts; i++)
		bad |= jset(dist, st->districts[i].key,
		    json_integer((json_int_t)st->districts[i].n));
	for (size_t i = 0; i < st->n_senders && !bad; i++) {
		if ((x = json_object_get(snd, st->senders[i].unit)) == NULL) {
			bad |= jset(snd, st->senders[i].unit, json_object());
			x = json_object_get(snd, st->senders[i].unit);	/* borrowed */
		}
		bad |= jset(x, intake_kind_name(st->senders[i].kind),
		    json_integer((json_int_t)st->senders[i].n));
	}
	for (size_t i = 0; i < st->n_units; i++) {
		const casefile_unit_stats_t *u = &st->units[i];

		x = json_object();
		bad |= jset(x, "unit", json_string(u->unit));
		bad |= jset(x, "referrals", json_integer((json_int_t)u->referrals));
		bad |= jset(x, "receipt", latency_json(&u->receipt));
		bad |= jset(x, "feedback", latency_json(&u->feedback));
		y = json_object();
		bad |= jset(y, "receipt", json_integer((json_int_t)u->overdue_receipt));
		bad |= jset(y, "feedback", json_integer((json_int_t)u->overdue_feedback));
		bad |= jset(x, "overdue", y);
		y = json_object();
		bad |= jset(y, "receipt", json_integer((json_int_t)u->open_receipt));
		bad |= jset(y, "feedback", json_integer((json_int_t)u->open_feedback));
		bad |= jset(x, "open", y);
		bad |= json_array_append_new(units, x) != 0;
	}
	bad |= jset(o, "clues_by_category", cat);
	bad |= jset(o, "clues_by_district", dist);
	bad |= jset(o, "messages_by_sender", snd);
	bad |= jset(o, "units", units);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

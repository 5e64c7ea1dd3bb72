/* lib/casefile.c — one pass over the audit log into a compact index, and the auditor's two
 * views of it: the timeline of a case and the statistics of a period (SPEC §8).
 *
 * The index keeps per message only what the views print (casefile.h lists it) in flat
 * arrays addressed by 32-bit indexes, with unit ids, case refs and district codes interned
 * once (casefile_index.c), so it costs about 100 bytes per message and 16 per recipient
 * however large the bodies are (plus at most CASEFILE_SUMMARY_MAX bytes per clue). The
 * duties are derived in casefile_duty.c, the views rendered in casefile_render.c (text) and
 * casefile_json.c.
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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "casefile_duty.h"
#include "casefile_index.h"
#include "intake.h"
#include "util.h"

#define NKINDS		(CLUEBUS__KIND__KIND_PERMISSION + 1)
#define NCATEGORIES	(CLUEBUS__CATEGORY__CATEGORY_OTHER + 1)

static int	build_fail(casefile_t *, uint64_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- small helpers ----------------------------------------------------------------------- */

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
		if ((rc = casefile_grow(&cf->clues, &cf->cap_clues, cf->n_clues + 1,
		    sizeof(*c))) != 0)
			return rc;
		c = &cf->clues[cf->n_clues];
		c->category = (uint8_t)m->clue->category;	/* 1..16: message_validate */
		if ((rc = casefile_strtab_intern(&cf->strs, m->clue->jurisdiction,
		    &c->jurisdiction)) != 0)
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
		if ((rc = casefile_strtab_intern(&cf->units, m->escalation->unit, &u)) != 0 ||
		    (rc = casefile_grow(&cf->escs, &cf->cap_escs, cf->n_escs + 1, sizeof(*x))) != 0)
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
		if ((rc = casefile_strtab_intern(&cf->units, m->registry->unit, &u)) != 0)
			return rc;
		cf->units.ent[u].flag = ROLE_KNOWN |
		    (strcmp(m->registry->role, "member") == 0 ? ROLE_MEMBER : 0);
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
	if ((rc = casefile_grow(&cf->msgs, &cf->cap_msgs, cf->n_msgs + 1, sizeof(*msg))) != 0 ||
	    (rc = casefile_grow(&cf->rcpts, &cf->cap_rcpts, cf->n_rcpts + e->n_recipients,
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
	if ((rc = casefile_strtab_intern(&cf->units, m->sender, &msg->sender)) != 0)
		return rc;
	if (m->case_ref[0] != '\0' &&
	    (rc = casefile_strtab_intern(&cf->strs, m->case_ref, &msg->case_ref)) != 0)
		return rc;
	msg->rcpt = (uint32_t)cf->n_rcpts;
	for (size_t i = 0; i < e->n_recipients; i++) {
		if (!unit_id_valid(e->recipients[i]))
			return build_fail(cf, e->seq, "recipient %zu is not a unit id", i);
		if ((rc = casefile_strtab_intern(&cf->units, e->recipients[i], &u)) != 0)
			return rc;
		cf->rcpts[cf->n_rcpts].unit = u;
		cf->rcpts[cf->n_rcpts++].acked_ms = CASEFILE_NONE;
	}
	msg->n_rcpt = (uint32_t)e->n_recipients;
	cf->n_msgs++;
	if ((rc = index_body(cf, idx, m)) != 0 || (rc = casefile_idmap_add(cf, idx)) != 0)
		return rc;
	return casefile_duty_apply(cf, idx, m);
}

/* The first ack of each recipient counts: that is when it held the message durably. */
static void
index_ack(casefile_t *cf, const Cluebus__LogEntry *e)
{
	uint32_t u = casefile_strtab_find(&cf->units, e->ack->unit), idx;
	struct cf_rcpt *r;

	if (u == NOIDX)
		return;		/* nothing was ever routed to it */
	for (size_t i = 0; i < e->ack->n_seqs; i++) {
		if ((idx = casefile_msg_by_seq(cf, e->ack->seqs[i])) == NOIDX)
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
	const uint8_t *recorded;
	const char *why;
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
	if ((rc = chain_check_decoded(val, len, e, seq, cf->prev, &why)) == CB_ECORRUPT)
		rc = build_fail(cf, seq, "%s", why);
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
	chain_entry_free(e, m);
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
	casefile_strtab_free(&cf->strs);
	casefile_strtab_free(&cf->units);
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
		if ((r = casefile_idmap_find(cf, m->refers_to)) != NOIDX)
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
		else if (m->has_refers_to && (r = casefile_idmap_find(cf, m->refers_to)) != NOIDX &&
		    r < i && (why[r] == CASEFILE_BY_CASE_REF || why[r] == CASEFILE_BY_REFERS_TO))
			why[i] = CASEFILE_BY_REFERS_TO;
	}
	/* Backward: what the members refer to, e.g. the clue a referral hands on. */
	for (size_t i = 0; i < cf->n_msgs; i++) {
		if (why[i] != CASEFILE_BY_CASE_REF && why[i] != CASEFILE_BY_REFERS_TO)
			continue;
		for (r = (uint32_t)i; cf->msgs[r].has_refers_to &&
		    (r = casefile_idmap_find(cf, cf->msgs[r].refers_to)) != NOIDX && why[r] == 0;)
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
	if ((ref = casefile_strtab_find(&cf->strs, case_ref)) != NOIDX) {
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

/* What one obliged unit's duties and escalations add up to in the period. */
struct unit_tally {
	uint64_t	referrals, overdue_receipt, overdue_feedback, open_receipt, open_feedback;
	int		seen;
};

/* How long one duty took to its receipt or feedback. */
struct sample {
	uint32_t	unit;
	int64_t		ms;
};

/* The counts of a period by index into the casefile's tables, before they become the sorted
 * rows of casefile_stats_t. Arrays are indexed by units / strs index (one spare element, so
 * that an empty table still allocates). */
struct stats_tally {
	uint64_t	 by_category[NCATEGORIES];
	uint64_t	*by_district;		/* [strs index] clues with that jurisdiction */
	uint64_t	*by_sender_kind;	/* [unit * NKINDS + kind] messages */
	struct unit_tally *by_unit;		/* [unit] */
	struct sample	*receipt_samples, *feedback_samples;	/* one per answered duty */
	size_t		 n_receipt_samples, n_feedback_samples;
	uint32_t	*row_of_unit;		/* [unit] its index in casefile_stats_t.units */
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

static void
tally_free(struct stats_tally *tally)
{
	free(tally->feedback_samples);
	free(tally->receipt_samples);
	free(tally->by_sender_kind);
	free(tally->by_district);
	free(tally->row_of_unit);
	free(tally->by_unit);
}

/* Allocates the zeroed arrays of a tally for `cf`. Returns 0 or CB_ENOMEM (free with
 * tally_free either way). */
static int
tally_alloc(const casefile_t *cf, struct stats_tally *tally)
{
	size_t n_units = cf->units.n;

	memset(tally, 0, sizeof(*tally));
	if (n_units + 1 > SIZE_MAX / NKINDS / sizeof(*tally->by_sender_kind) ||
	    (tally->by_unit = calloc(n_units + 1, sizeof(*tally->by_unit))) == NULL ||
	    (tally->row_of_unit = calloc(n_units + 1, sizeof(*tally->row_of_unit))) == NULL ||
	    (tally->by_district = calloc(cf->strs.n + 1, sizeof(*tally->by_district))) == NULL ||
	    (tally->by_sender_kind = calloc((n_units + 1) * NKINDS,
	    sizeof(*tally->by_sender_kind))) == NULL ||
	    (tally->receipt_samples = calloc(cf->n_duties + 1,
	    sizeof(*tally->receipt_samples))) == NULL ||
	    (tally->feedback_samples = calloc(cf->n_duties + 1,
	    sizeof(*tally->feedback_samples))) == NULL)
		return CB_ENOMEM;
	return 0;
}

/* Counts the messages logged in [from_ms, to_ms): in st, all and clues; in the tally, by
 * category, district and (sender, kind), and the escalations by the unit they name. */
static void
tally_messages(const casefile_t *cf, int64_t from_ms, int64_t to_ms, casefile_stats_t *st,
    struct stats_tally *tally)
{
	for (size_t i = 0; i < cf->n_msgs; i++) {
		const struct cf_msg *m = &cf->msgs[i];

		if (m->time_ms < from_ms || m->time_ms >= to_ms)
			continue;
		st->messages++;
		tally->by_sender_kind[(size_t)m->sender * NKINDS + m->kind]++;
		if (m->kind == CLUEBUS__KIND__KIND_CLUE && m->detail != NOIDX) {
			st->clues++;
			tally->by_category[cf->clues[m->detail].category]++;
			tally->by_district[cf->clues[m->detail].jurisdiction]++;
		}
		if (m->kind == CLUEBUS__KIND__KIND_ESCALATION && m->detail != NOIDX) {
			const struct cf_esc *esc = &cf->escs[m->detail];
			struct unit_tally *unit = &tally->by_unit[esc->unit];

			unit->seen = 1;
			if (esc->missed == CLUEBUS__MISSED__MISSED_RECEIPT)
				unit->overdue_receipt++;
			else
				unit->overdue_feedback++;
		}
	}
}

/* Counts the duties that began in [from_ms, to_ms) by unit, and samples the time to each
 * receipt and feedback logged before to_ms. */
static void
tally_duties(const casefile_t *cf, int64_t from_ms, int64_t to_ms, struct stats_tally *tally)
{
	for (size_t i = 0; i < cf->n_duties; i++) {
		const struct cf_duty *d = &cf->duties[i];
		struct unit_tally *unit = &tally->by_unit[d->unit];

		if (d->since_ms < from_ms || d->since_ms >= to_ms)
			continue;
		unit->seen = 1;
		unit->referrals++;
		if (d->receipt_ms != CASEFILE_NONE && d->receipt_ms < to_ms)
			tally->receipt_samples[tally->n_receipt_samples++] =
			    (struct sample){ d->unit, d->receipt_ms - d->since_ms };
		else
			unit->open_receipt++;
		if (d->feedback_ms != CASEFILE_NONE && d->feedback_ms < to_ms)
			tally->feedback_samples[tally->n_feedback_samples++] =
			    (struct sample){ d->unit, d->feedback_ms - d->since_ms };
		else
			unit->open_feedback++;
	}
}

/* Sizes and allocates st's row arrays: one row per non-zero count of the tally. Returns 0 or
 * CB_ENOMEM. */
static int
stats_alloc_rows(const casefile_t *cf, const struct stats_tally *tally, casefile_stats_t *st)
{
	for (size_t c = 0; c < NCATEGORIES; c++)
		st->n_categories += tally->by_category[c] != 0;
	for (size_t i = 0; i < cf->strs.n; i++)
		st->n_districts += tally->by_district[i] != 0;
	for (size_t i = 0; i < cf->units.n * NKINDS; i++)
		st->n_senders += tally->by_sender_kind[i] != 0;
	for (size_t u = 0; u < cf->units.n; u++)
		st->n_units += tally->by_unit[u].seen != 0;
	if ((st->categories = calloc(st->n_categories + 1, sizeof(*st->categories))) == NULL ||
	    (st->districts = calloc(st->n_districts + 1, sizeof(*st->districts))) == NULL ||
	    (st->senders = calloc(st->n_senders + 1, sizeof(*st->senders))) == NULL ||
	    (st->units = calloc(st->n_units + 1, sizeof(*st->units))) == NULL)
		return CB_ENOMEM;
	return 0;
}

/* Fills the category, district and sender rows, in index order. */
static void
stats_fill_counts(const casefile_t *cf, const struct stats_tally *tally, casefile_stats_t *st)
{
	size_t row = 0;

	for (size_t c = 0; c < NCATEGORIES; c++)
		if (tally->by_category[c] != 0) {
			snprintf(st->categories[row].key, sizeof(st->categories[row].key), "%s",
			    intake_category_name((Cluebus__Category)c));
			st->categories[row++].n = tally->by_category[c];
		}
	row = 0;
	for (size_t i = 0; i < cf->strs.n; i++)
		if (tally->by_district[i] != 0) {
			snprintf(st->districts[row].key, sizeof(st->districts[row].key), "%s",
			    cf->strs.ent[i].s);
			st->districts[row++].n = tally->by_district[i];
		}
	row = 0;
	for (size_t i = 0; i < cf->units.n * NKINDS; i++)
		if (tally->by_sender_kind[i] != 0) {
			snprintf(st->senders[row].unit, sizeof(st->senders[row].unit), "%s",
			    cf->units.ent[i / NKINDS].s);
			st->senders[row].kind = (Cluebus__Kind)(i % NKINDS);
			st->senders[row++].n = tally->by_sender_kind[i];
		}
}

/* Fills one row per unit seen, in index order, and records its row in row_of_unit. The
 * latencies are left at CASEFILE_NONE for stats_latency. */
static void
stats_fill_units(const casefile_t *cf, struct stats_tally *tally, casefile_stats_t *st)
{
	size_t n_rows = 0;

	for (size_t u = 0; u < cf->units.n; u++) {
		const struct unit_tally *unit = &tally->by_unit[u];
		casefile_unit_stats_t *row = &st->units[n_rows];

		if (!unit->seen)
			continue;
		tally->row_of_unit[u] = (uint32_t)n_rows++;
		snprintf(row->unit, sizeof(row->unit), "%s", cf->units.ent[u].s);
		row->referrals = unit->referrals;
		row->overdue_receipt = unit->overdue_receipt;
		row->overdue_feedback = unit->overdue_feedback;
		row->open_receipt = unit->open_receipt;
		row->open_feedback = unit->open_feedback;
		row->receipt.median_ms = row->receipt.p90_ms = CASEFILE_NONE;
		row->feedback.median_ms = row->feedback.p90_ms = CASEFILE_NONE;
	}
}

/* Fills the latency of each unit's run of samples into its row: sorts the samples by unit,
 * then duration. Returns 0 or CB_ENOMEM. */
static int
stats_latency(struct sample *samples, size_t n_samples, const uint32_t *row_of_unit,
    casefile_unit_stats_t *rows, int feedback)
{
	int64_t *run;
	size_t first = 0, end, run_len;

	if (n_samples == 0)
		return 0;
	if ((run = malloc(n_samples * sizeof(*run))) == NULL)
		return CB_ENOMEM;
	qsort(samples, n_samples, sizeof(*samples), sample_cmp);
	while (first < n_samples) {
		casefile_unit_stats_t *row = &rows[row_of_unit[samples[first].unit]];
		casefile_latency_t *latency = feedback ? &row->feedback : &row->receipt;

		for (end = first, run_len = 0;
		    end < n_samples && samples[end].unit == samples[first].unit; end++)
			run[run_len++] = samples[end].ms;
		latency->n = run_len;
		latency->median_ms = casefile_percentile(run, run_len, 50);
		latency->p90_ms = casefile_percentile(run, run_len, 90);
		first = end;
	}
	free(run);
	return 0;
}

int
casefile_stats(const casefile_t *cf, int64_t from_ms, int64_t to_ms, casefile_stats_t **out)
{
	struct stats_tally tally;
	casefile_stats_t *st = NULL;
	int rc;

	*out = NULL;
	if (from_ms >= to_ms)
		return CB_EINVAL;
	if ((rc = tally_alloc(cf, &tally)) != 0)
		goto out;
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		rc = CB_ENOMEM;
		goto out;
	}
	st->from_ms = from_ms;
	st->to_ms = to_ms;
	tally_messages(cf, from_ms, to_ms, st, &tally);
	tally_duties(cf, from_ms, to_ms, &tally);
	if ((rc = stats_alloc_rows(cf, &tally, st)) != 0)
		goto out;
	stats_fill_counts(cf, &tally, st);
	stats_fill_units(cf, &tally, st);
	if ((rc = stats_latency(tally.receipt_samples, tally.n_receipt_samples,
	    tally.row_of_unit, st->units, 0)) != 0 ||
	    (rc = stats_latency(tally.feedback_samples, tally.n_feedback_samples,
	    tally.row_of_unit, st->units, 1)) != 0)
		goto out;
	qsort(st->categories, st->n_categories, sizeof(*st->categories), count_cmp);
	qsort(st->districts, st->n_districts, sizeof(*st->districts), count_cmp);
	qsort(st->senders, st->n_senders, sizeof(*st->senders), sender_cmp);
	qsort(st->units, st->n_units, sizeof(*st->units), unit_cmp);
	*out = st;
	st = NULL;
out:
	tally_free(&tally);
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

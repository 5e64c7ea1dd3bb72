/* lib/casestate.c — a case's record rebuilt from the audit log (see casestate.h).
 *
 * One walk over the log in order. Invariants: (1) a step is recorded only for a message
 * logged as ENTRY_MESSAGE (units' messages; the broker's own carry no case ops); (2) a
 * correction counts only when its sender sent the original, as the broker enforces; (3)
 * every string shown is sanitized (str_text_copy), since it came from a unit. */
#include <stdlib.h>
#include <string.h>

#include "casestate.h"
#include "chain.h"
#include "cluebus/err.h"
#include "cluebus.pb-c.h"
#include "envelope.h"
#include "intake.h"
#include "unpack.h"
#include "util.h"

#define STEP_TEXT_MAX	600

/* A message of the case, for matching corrections to their originals. */
struct case_msg {
	uint8_t	id[MESSAGE_ID_LEN];
	char	sender[CASESTATE_UNIT_LEN];
};

struct walk {
	casestate_t	*cs;
	struct case_msg	*msgs;
	size_t		 n_msgs, cap_msgs;
	int		 rc;
};

static const char *const op_names[] = { "?", "open", "add_members", "remove_members",
    "close" };

static int
step_add(struct walk *w, const Cluebus__LogEntry *e, const char *sender, const char *what)
{
	casestate_t *cs = w->cs;
	casestate_step_t *s, *grown;
	char text[STEP_TEXT_MAX];

	if ((grown = realloc(cs->steps, (cs->n_steps + 1) * sizeof(*grown))) == NULL)
		return CB_ENOMEM;
	cs->steps = grown;
	s = &cs->steps[cs->n_steps];
	s->seq = e->seq;
	s->time_ms = e->time_ms;
	str_text_copy(sender, strlen(sender), s->sender, sizeof(s->sender));
	str_text_copy(what, strlen(what), text, sizeof(text));	/* (3) */
	if ((s->what = strdup(text)) == NULL)
		return CB_ENOMEM;
	cs->n_steps++;
	return 0;
}

/* Appends ", unit" for each of `units` to `out` (size outlen, NUL-terminated). */
static void
units_put(char *out, size_t outlen, char *const *units, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t used = strlen(out);

		snprintf(out + used, outlen - used, "%s%s", i > 0 ? ", " : "", units[i]);
	}
}

static int
members_has(const casestate_t *cs, const char *unit)
{
	for (size_t i = 0; i < cs->n_members; i++)
		if (strcmp(cs->members[i], unit) == 0)
			return 1;
	return 0;
}

static void
members_apply(casestate_t *cs, const Cluebus__CaseAction *c)
{
	for (size_t i = 0; i < c->n_members; i++) {
		if (c->op == CLUEBUS__CASE_OP__CASE_REMOVE_MEMBERS) {
			for (size_t j = 0; j < cs->n_members; j++)
				if (strcmp(cs->members[j], c->members[i]) == 0) {
					memmove(cs->members[j], cs->members[j + 1],
					    (cs->n_members - j - 1) * sizeof(cs->members[0]));
					cs->n_members--;
					break;
				}
		} else if (!members_has(cs, c->members[i]) &&
		    cs->n_members < CASESTATE_MEMBERS_MAX) {
			str_text_copy(c->members[i], strlen(c->members[i]),
			    cs->members[cs->n_members++], CASESTATE_UNIT_LEN);
		}
	}
}

static char *
text_dup(const char *s)
{
	char buf[STEP_TEXT_MAX];

	str_text_copy(s, strlen(s), buf, sizeof(buf));
	return strdup(buf);
}

static int
apply_case(struct walk *w, const Cluebus__LogEntry *e, const Cluebus__Message *m)
{
	const Cluebus__CaseAction *c = m->case_action;
	casestate_t *cs = w->cs;
	char what[STEP_TEXT_MAX], text[STEP_TEXT_MAX / 2];
	unsigned op = c->op <= CLUEBUS__CASE_OP__CASE_CLOSE ? (unsigned)c->op : 0;

	snprintf(what, sizeof(what), "%s", op_names[op]);
	if (op == CLUEBUS__CASE_OP__CASE_OPEN) {
		if (cs->found)
			return 0;	/* the broker refuses a second open */
		cs->found = cs->open = 1;
		str_text_copy(m->sender, strlen(m->sender), cs->opener, sizeof(cs->opener));
		str_text_copy(c->jurisdiction, strlen(c->jurisdiction), cs->jurisdiction,
		    sizeof(cs->jurisdiction));
		cs->opened_ms = e->time_ms;
		if ((cs->title = text_dup(c->title)) == NULL)
			return CB_ENOMEM;
		snprintf(what + strlen(what), sizeof(what) - strlen(what), " in %s",
		    cs->jurisdiction);
	} else if (op == CLUEBUS__CASE_OP__CASE_CLOSE) {
		cs->open = 0;
		cs->closed_ms = e->time_ms;
		free(cs->close_reason);
		if ((cs->close_reason = text_dup(c->reason)) == NULL)
			return CB_ENOMEM;
	}
	if (op != CLUEBUS__CASE_OP__CASE_CLOSE)
		members_apply(cs, c);
	if (c->n_members > 0) {
		snprintf(what + strlen(what), sizeof(what) - strlen(what), ": ");
		units_put(what, sizeof(what), c->members, c->n_members);
	}
	if (c->reason[0] != '\0') {
		str_text_copy(c->reason, strlen(c->reason), text, sizeof(text));
		snprintf(what + strlen(what), sizeof(what) - strlen(what), " (%s)", text);
	}
	str_utf8_trim(what);
	return step_add(w, e, m->sender, what);
}

static int
apply_supervision(struct walk *w, const Cluebus__LogEntry *e, const Cluebus__Message *m)
{
	const Cluebus__Supervision *s = m->supervision;
	char what[STEP_TEXT_MAX], due[40];

	if (m->refers_to.len != 0)
		return 0;	/* a referral's: the timeline shows it */
	snprintf(what, sizeof(what), "%s supervision",
	    s->level == CLUEBUS__SUPERVISION_LEVEL__SUPERVISION_LISTED ? "listed" : "plain");
	if (s->feedback_due_ms != 0) {
		clock_format_rfc3339(s->feedback_due_ms, due, sizeof(due));
		snprintf(what + strlen(what), sizeof(what) - strlen(what), ", feedback due %s",
		    due);
	}
	if (s->n_units > 0) {
		snprintf(what + strlen(what), sizeof(what) - strlen(what), ": ");
		units_put(what, sizeof(what), s->units, s->n_units);
	}
	return step_add(w, e, m->sender, what);
}

static int
apply_correction(struct walk *w, const Cluebus__LogEntry *e, const Cluebus__Message *m)
{
	const Cluebus__Correction *c = m->correction;
	char what[STEP_TEXT_MAX], id[MESSAGE_ID_LEN * 2 + 1], reason[STEP_TEXT_MAX / 2];

	if (m->refers_to.len != MESSAGE_ID_LEN)
		return 0;
	for (size_t i = 0; i < w->n_msgs; i++) {
		if (memcmp(w->msgs[i].id, m->refers_to.data, MESSAGE_ID_LEN) != 0)
			continue;
		if (strcmp(w->msgs[i].sender, m->sender) != 0)
			return 0;	/* (2) */
		hex_encode(m->refers_to.data, MESSAGE_ID_LEN, id);
		str_text_copy(c->reason, strlen(c->reason), reason, sizeof(reason));
		snprintf(what, sizeof(what), "%s %s%s%s (%s)",
		    c->op == CLUEBUS__CORRECTION_OP__CORRECTION_WITHDRAW ? "withdrew" :
		    "corrected", id, c->clue != NULL ? " to category " : "",
		    c->clue != NULL ? intake_category_name(c->clue->category) : "", reason);
		str_utf8_trim(what);
		return step_add(w, e, m->sender, what);
	}
	return 0;
}

static int
remember(struct walk *w, const Cluebus__Message *m)
{
	struct case_msg *cm;

	if (w->n_msgs == w->cap_msgs) {
		size_t cap = w->cap_msgs ? 2 * w->cap_msgs : 16;

		if ((cm = realloc(w->msgs, cap * sizeof(*cm))) == NULL)
			return CB_ENOMEM;
		w->msgs = cm;
		w->cap_msgs = cap;
	}
	cm = &w->msgs[w->n_msgs++];
	memcpy(cm->id, m->message_id.data, MESSAGE_ID_LEN);
	snprintf(cm->sender, sizeof(cm->sender), "%s", m->sender);
	return 0;
}

static int
walk_message(struct walk *w, const Cluebus__LogEntry *e, const Cluebus__Message *m)
{
	int in_case = strcmp(m->case_ref, w->cs->case_ref) == 0;
	int rc = 0;

	if (m->message_id.len != MESSAGE_ID_LEN)
		return 0;
	if (in_case && (rc = remember(w, m)) != 0)
		return rc;
	switch (m->body_case) {
	case CLUEBUS__MESSAGE__BODY_CASE_ACTION:
		return in_case ? apply_case(w, e, m) : 0;
	case CLUEBUS__MESSAGE__BODY_SUPERVISION:
		return in_case ? apply_supervision(w, e, m) : 0;
	case CLUEBUS__MESSAGE__BODY_CORRECTION:
		return apply_correction(w, e, m);
	default:
		return 0;
	}
}

static int
walk_entry(void *arg, uint64_t seq, const uint8_t *val, size_t len)
{
	struct walk *w = arg;
	Cluebus__LogEntry *e;
	ProtobufCMessage *pm;
	const uint8_t *hash;
	int rc;

	(void)seq;
	if ((rc = chain_decode(val, len, &hash, &e)) != 0) {
		w->rc = rc == CB_ENOMEM ? rc : CB_ECORRUPT;
		return 1;
	}
	if (e->type == CLUEBUS__ENTRY_TYPE__ENTRY_MESSAGE && e->envelope != NULL) {
		if ((rc = unpack_bounded(&cluebus__message__descriptor,
		    e->envelope->signed_.data, e->envelope->signed_.len, &pm)) != 0) {
			w->rc = rc == CB_ENOMEM ? rc : CB_ECORRUPT;
		} else {
			w->rc = walk_message(w, e, (Cluebus__Message *)pm);
			protobuf_c_message_free_unpacked(pm, NULL);
		}
	}
	cluebus__log_entry__free_unpacked(e, NULL);
	return w->rc != 0;
}

int
casestate_build(store_t *s, const char *case_ref, casestate_t **out)
{
	struct walk w = { 0 };
	int rc;

	*out = NULL;
	if ((w.cs = calloc(1, sizeof(*w.cs))) == NULL)
		return CB_ENOMEM;
	snprintf(w.cs->case_ref, sizeof(w.cs->case_ref), "%s", case_ref);
	rc = store_walk(s, 1, walk_entry, &w);
	if (rc == 1 || rc == 0)
		rc = w.rc;
	free(w.msgs);
	if (rc != 0) {
		casestate_free(w.cs);
		return rc;
	}
	*out = w.cs;
	return 0;
}

void
casestate_free(casestate_t *cs)
{
	if (cs == NULL)
		return;
	for (size_t i = 0; i < cs->n_steps; i++)
		free(cs->steps[i].what);
	free(cs->steps);
	free(cs->title);
	free(cs->close_reason);
	free(cs);
}

int
casestate_print(const casestate_t *cs, FILE *fp)
{
	char when[40], ref[300];

	str_text_copy(cs->case_ref, strlen(cs->case_ref), ref, sizeof(ref));
	if (!cs->found) {
		fprintf(fp, "case %s: no case record (never opened with kind \"case\")\n\n", ref);
		return ferror(fp) ? CB_EIO : 0;
	}
	clock_format_rfc3339(cs->opened_ms, when, sizeof(when));
	fprintf(fp, "case %s: %s\n  title:        %s\n  opened:       %s by %s, "
	    "jurisdiction %s\n", ref, cs->open ? "OPEN" : "CLOSED", cs->title, when, cs->opener,
	    cs->jurisdiction);
	if (!cs->open) {
		clock_format_rfc3339(cs->closed_ms, when, sizeof(when));
		fprintf(fp, "  closed:       %s (%s)\n", when, cs->close_reason);
	}
	fprintf(fp, "  task force:   ");
	for (size_t i = 0; i < cs->n_members; i++)
		fprintf(fp, "%s%s", i > 0 ? ", " : "", cs->members[i]);
	fprintf(fp, "%s\n  history:\n", cs->n_members == 0 ? "(none)" : "");
	for (size_t i = 0; i < cs->n_steps; i++) {
		clock_format_rfc3339(cs->steps[i].time_ms, when, sizeof(when));
		fprintf(fp, "    %6llu  %s  %-14s %s\n", (unsigned long long)cs->steps[i].seq,
		    when, cs->steps[i].sender, cs->steps[i].what);
	}
	fputc('\n', fp);
	return ferror(fp) ? CB_EIO : 0;
}

json_t *
casestate_json(const casestate_t *cs)
{
	json_t *o, *members, *steps;
	char when[40];
	int rc = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	rc |= json_object_set_new(o, "found", json_boolean(cs->found));
	if (cs->found) {
		rc |= json_object_set_new(o, "state", json_string(cs->open ? "open" :
		    "closed"));
		rc |= json_object_set_new(o, "opener", json_string(cs->opener));
		rc |= json_object_set_new(o, "jurisdiction", json_string(cs->jurisdiction));
		rc |= json_object_set_new(o, "title", json_string(cs->title));
		clock_format_rfc3339(cs->opened_ms, when, sizeof(when));
		rc |= json_object_set_new(o, "opened_at", json_string(when));
		if (!cs->open) {
			clock_format_rfc3339(cs->closed_ms, when, sizeof(when));
			rc |= json_object_set_new(o, "closed_at", json_string(when));
			rc |= json_object_set_new(o, "close_reason",
			    json_string(cs->close_reason));
		}
	}
	if ((members = json_array()) == NULL || (steps = json_array()) == NULL) {
		json_decref(members);
		json_decref(o);
		return NULL;
	}
	rc |= json_object_set_new(o, "members", members);
	rc |= json_object_set_new(o, "history", steps);
	for (size_t i = 0; i < cs->n_members; i++)
		rc |= json_array_append_new(members, json_string(cs->members[i]));
	for (size_t i = 0; i < cs->n_steps; i++) {
		clock_format_rfc3339(cs->steps[i].time_ms, when, sizeof(when));
		rc |= json_array_append_new(steps, json_pack("{s:I, s:s, s:s, s:s}", "seq",
		    (json_int_t)cs->steps[i].seq, "time", when, "sender", cs->steps[i].sender,
		    "what", cs->steps[i].what));
	}
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

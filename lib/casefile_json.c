/* lib/casefile_json.c — the casefile views as JSON, for programs (cluebus-audit --json).
 *
 * Times are RFC 3339 strings and durations integer milliseconds; a time or duration that
 * does not exist is null. The renderer reads only the views (casefile.h), never the index. */
#include <jansson.h>

#include "calendar.h"
#include "casefile_render.h"
#include "intake.h"
#include "util.h"

/* Sets o[k] = v (a new reference, NULL when its construction failed). Returns 0 or -1. */
static int
jset(json_t *o, const char *k, json_t *v)
{
	return json_object_set_new(o, k, v) == 0 ? 0 : -1;
}

static json_t *
jtime(int64_t ms)
{
	char buf[CASEFILE_TIME_LEN];

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

/* Returns `o`, or NULL after freeing it when `bad` says a part of it failed. */
static json_t *
jfinish(json_t *o, int bad)
{
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* {"receipt": n, "feedback": n}, or NULL when out of memory. */
static json_t *
jsteps(uint64_t receipt, uint64_t feedback)
{
	json_t *o = json_object();
	int bad = o == NULL;

	bad |= jset(o, "receipt", json_integer((json_int_t)receipt));
	bad |= jset(o, "feedback", json_integer((json_int_t)feedback));
	return jfinish(o, bad);
}

static const char *
step_state(int64_t at_ms, int64_t esc_ms)
{
	return at_ms != CASEFILE_NONE ? "done" : esc_ms != CASEFILE_NONE ? "overdue" : "open";
}

/* One step of a duty (its receipt or its feedback), or NULL when out of memory. */
static json_t *
step_json(int64_t at_ms, int64_t after_ms, int64_t due_ms, int64_t escalated_ms)
{
	json_t *o = json_object();
	int bad = o == NULL;

	bad |= jset(o, "state", json_string(step_state(at_ms, escalated_ms)));
	bad |= jset(o, "at", jtime(at_ms));
	bad |= jset(o, "after_ms", jms(after_ms));
	bad |= jset(o, "due", jdue(due_ms));
	bad |= jset(o, "escalated", jtime(escalated_ms));
	return jfinish(o, bad);
}

static json_t *
duty_json(const casefile_duty_t *d)
{
	json_t *o = json_object();
	json_t *r = step_json(d->receipt_ms, d->receipt_after_ms, d->receipt_due_ms,
	    d->receipt_escalated_ms);
	json_t *f = step_json(d->feedback_ms, d->feedback_after_ms, d->feedback_due_ms,
	    d->feedback_escalated_ms);
	int bad = o == NULL || r == NULL || f == NULL;

	bad |= jset(f, "status", d->feedback_ms == CASEFILE_NONE ? json_null() :
	    json_string(casefile_feedback_name(d->first_status)));
	bad |= jset(f, "last_status", d->feedback_ms == CASEFILE_NONE ? json_null() :
	    json_string(casefile_feedback_name(d->last_status)));
	bad |= jset(o, "unit", json_string(d->unit));
	bad |= jset(o, "transferred_from", d->transferred_from[0] == '\0' ? json_null() :
	    json_string(d->transferred_from));
	bad |= jset(o, "since", jtime(d->since_ms));
	bad |= jset(o, "since_ms", json_integer((json_int_t)d->since_ms));
	bad |= jset(o, "receipt", r);
	r = NULL;
	bad |= jset(o, "feedback", f);
	f = NULL;
	return jfinish(o, bad);
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
		bad |= jset(x, "status", json_string(casefile_feedback_name(ev->status)));
		bad |= jset(o, "feedback", x);
	}
	if (ev->kind == CLUEBUS__KIND__KIND_ESCALATION) {
		x = json_object();
		bad |= jset(x, "unit", json_string(ev->escalated_unit));
		if (ev->duty != 0)
			bad |= jset(x, "duty", json_string(calendar_report_name(ev->duty) != NULL ?
			    calendar_report_name(ev->duty) : "unknown"));
		else
			bad |= jset(x, "missed", json_string(casefile_missed_name(ev->missed)));
		bad |= jset(x, "due", jdue(ev->due_ms));
		bad |= jset(o, "escalation", x);
	}
	if (ev->n_duties > 0) {
		a = json_array();
		for (size_t i = 0; i < ev->n_duties; i++)
			bad |= json_array_append_new(a, duty_json(&ev->duties[i])) != 0;
		bad |= jset(o, "duties", a);
	}
	return jfinish(o, bad);
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
	return jfinish(o, bad);
}

static json_t *
latency_json(const casefile_latency_t *l)
{
	json_t *o = json_object();
	int bad = o == NULL;

	bad |= jset(o, "n", json_integer((json_int_t)l->n));
	bad |= jset(o, "median_ms", jms(l->median_ms));
	bad |= jset(o, "p90_ms", jms(l->p90_ms));
	return jfinish(o, bad);
}

json_t *
casefile_stats_json(const casefile_stats_t *st)
{
	json_t *o = json_object(), *cat = json_object(), *dist = json_object();
	json_t *snd = json_object(), *units = json_array(), *names = json_object(), *x;
	int bad = o == NULL || cat == NULL || dist == NULL || snd == NULL || units == NULL ||
	    names == NULL;

	bad |= jset(o, "from", st->from_ms == INT64_MIN ? json_null() : jtime(st->from_ms));
	bad |= jset(o, "to", st->to_ms == INT64_MAX ? json_null() : jtime(st->to_ms));
	bad |= jset(o, "percentiles", json_string("nearest-rank"));
	bad |= jset(o, "by", json_string(st->by_occurred ? "occurred" : "log"));
	if (st->district[0] != '\0')
		bad |= jset(o, "district", json_string(st->district));
	if (st->unit[0] != '\0')
		bad |= jset(o, "unit", json_string(st->unit));
	bad |= jset(o, "messages", json_integer((json_int_t)st->messages));
	bad |= jset(o, "clues", json_integer((json_int_t)st->clues));
	for (size_t i = 0; i < st->n_categories; i++)
		bad |= jset(cat, st->categories[i].key,
		    json_integer((json_int_t)st->categories[i].n));
	for (size_t i = 0; i < st->n_districts; i++) {
		bad |= jset(dist, st->districts[i].key,
		    json_integer((json_int_t)st->districts[i].n));
		if (st->districts[i].name[0] != '\0')
			bad |= jset(names, st->districts[i].key,
			    json_string(st->districts[i].name));
	}
	for (size_t i = 0; i < st->n_senders; i++)
		if (st->senders[i].name[0] != '\0')
			bad |= jset(names, st->senders[i].unit, json_string(st->senders[i].name));
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
		if (u->name[0] != '\0') {
			bad |= jset(x, "name", json_string(u->name));
			bad |= jset(names, u->unit, json_string(u->name));
		}
		bad |= jset(x, "referrals", json_integer((json_int_t)u->referrals));
		bad |= jset(x, "receipt", latency_json(&u->receipt));
		bad |= jset(x, "feedback", latency_json(&u->feedback));
		bad |= jset(x, "overdue", jsteps(u->overdue_receipt, u->overdue_feedback));
		bad |= jset(x, "open", jsteps(u->open_receipt, u->open_feedback));
		bad |= json_array_append_new(units, x) != 0;
	}
	bad |= jset(o, "clues_by_category", cat);
	bad |= jset(o, "clues_by_district", dist);
	bad |= jset(o, "messages_by_sender", snd);
	bad |= jset(o, "units", units);
	bad |= jset(o, "names", names);
	return jfinish(o, bad);
}

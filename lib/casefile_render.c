/* lib/casefile_render.c — the casefile views as aligned text tables, for an auditor at a
 * terminal (cluebus-audit case / stats).
 *
 * The renderer reads only the views (casefile.h), never the index; a table is built in
 * memory, then printed, so that its columns can be aligned.
 *
 * Invariants:
 *   (1) A table or string buffer that failed to grow stays as it was and remembers the
 *       failure; table_print reports it as CB_ENOMEM and prints nothing of that table.
 *   (2) Columns are aligned by byte length. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "casefile_index.h"	/* casefile_grow only: the renderer reads the views */
#include "casefile_render.h"
#include "intake.h"
#include "util.h"

static const char *const feedback_names[] = { "unspecified", "accepted", "in_progress",
    "resolved", "rejected", "transferred" };
static const char *const missed_names[] = { "unspecified", "receipt", "feedback" };

const char *
casefile_feedback_name(unsigned s)
{
	return s < sizeof(feedback_names) / sizeof(feedback_names[0]) ? feedback_names[s] :
	    "unknown";
}

const char *
casefile_missed_name(unsigned m)
{
	return m < sizeof(missed_names) / sizeof(missed_names[0]) ? missed_names[m] : "unknown";
}

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
	if (n < 0 || casefile_grow(&b->p, &b->cap, b->len + (size_t)n + 1, 1) != 0) {
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
	if (casefile_grow(&t->cells, &t->cap, t->ncells + 1, sizeof(*t->cells)) != 0 ||
	    casefile_grow(&t->notes, &t->notes_cap, rows, sizeof(*t->notes)) != 0) {
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
	char dur[32], when[CASEFILE_TIME_LEN];
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
	char when[CASEFILE_TIME_LEN], status[40];
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
		snprintf(status, sizeof(status), "%s, then %s",
		    casefile_feedback_name(d->first_status),
		    casefile_feedback_name(d->last_status));
	else
		snprintf(status, sizeof(status), "%s", casefile_feedback_name(d->first_status));
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
	char when[CASEFILE_TIME_LEN], dur[32], summary[sizeof(ev->summary)];
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
		table_note(t, "status %s", casefile_feedback_name(ev->status));
		break;
	case CLUEBUS__KIND__KIND_ESCALATION:
		fmt_time(ev->due_ms, when, sizeof(when));
		if (ev->duty != 0)
			table_note(t, "%s missed its %s report due %s", ev->escalated_unit,
			    calendar_report_name(ev->duty) != NULL ?
			    calendar_report_name(ev->duty) : "unknown", when);
		else
			table_note(t, "%s missed the %s due %s", ev->escalated_unit,
			    casefile_missed_name(ev->missed), when);
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
	char when[CASEFILE_TIME_LEN];
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

/* A table of counts: `key_title`, CLUES, one row per count; NAME last when a row has one
 * (t->ncols is then one more). */
static void
count_table(struct table *t, const char *key_title, const casefile_count_t *rows, size_t n)
{
	int named = 0;

	for (size_t i = 0; i < n; i++)
		named |= rows[i].name[0] != '\0';
	if (named)
		t->ncols++;
	table_cell(t, "%s", key_title);
	table_cell(t, "CLUES");
	if (named)
		table_cell(t, "NAME");
	for (size_t i = 0; i < n; i++) {
		table_cell(t, "%s", rows[i].key);
		table_cell(t, "%llu", (unsigned long long)rows[i].n);
		if (named)
			table_cell(t, "%s", rows[i].name);
	}
}

static void
sender_table(struct table *t, const casefile_stats_t *st)
{
	int named = 0;

	for (size_t i = 0; i < st->n_senders; i++)
		named |= st->senders[i].name[0] != '\0';
	if (named)
		t->ncols++;
	table_cell(t, "UNIT");
	table_cell(t, "KIND");
	table_cell(t, "MESSAGES");
	if (named)
		table_cell(t, "NAME");
	for (size_t i = 0; i < st->n_senders; i++) {
		table_cell(t, "%s", st->senders[i].unit);
		table_cell(t, "%s", intake_kind_name(st->senders[i].kind));
		table_cell(t, "%llu", (unsigned long long)st->senders[i].n);
		if (named)
			table_cell(t, "%s", st->senders[i].name);
	}
}

/* The count, median and p90 cells of a latency. */
static void
latency_cells(struct table *t, const casefile_latency_t *l)
{
	char median[32], p90[32];

	fmt_duration(l->median_ms, median, sizeof(median));
	fmt_duration(l->p90_ms, p90, sizeof(p90));
	table_cell(t, "%llu", (unsigned long long)l->n);
	table_cell(t, "%s", median);
	table_cell(t, "%s", p90);
}

/* One row per obliged unit; its columns are UNIT_COLUMNS. */
#define UNIT_COLUMNS	12

static void
unit_table(struct table *t, const casefile_stats_t *st)
{
	static const char *const titles[UNIT_COLUMNS] = { "UNIT", "REFERRALS", "RECEIPTS",
	    "RCPT MEDIAN", "RCPT P90", "FEEDBACKS", "FB MEDIAN", "FB P90", "OVERDUE RCPT",
	    "OVERDUE FB", "OPEN RCPT", "OPEN FB" };
	int named = 0;

	for (size_t i = 0; i < st->n_units; i++)
		named |= st->units[i].name[0] != '\0';
	if (named)
		t->ncols++;
	for (size_t c = 0; c < UNIT_COLUMNS; c++)
		table_cell(t, "%s", titles[c]);
	if (named)
		table_cell(t, "NAME");
	for (size_t i = 0; i < st->n_units; i++) {
		const casefile_unit_stats_t *u = &st->units[i];

		table_cell(t, "%s", u->unit);
		table_cell(t, "%llu", (unsigned long long)u->referrals);
		latency_cells(t, &u->receipt);
		latency_cells(t, &u->feedback);
		table_cell(t, "%llu", (unsigned long long)u->overdue_receipt);
		table_cell(t, "%llu", (unsigned long long)u->overdue_feedback);
		table_cell(t, "%llu", (unsigned long long)u->open_receipt);
		table_cell(t, "%llu", (unsigned long long)u->open_feedback);
		if (named)
			table_cell(t, "%s", u->name);
	}
}

static int
stats_tables(const casefile_stats_t *st, FILE *fp)
{
	struct table cat = { .align = "lrl", .ncols = 2, .empty_text = "(none)" };
	struct table dist = { .align = "lrl", .ncols = 2, .empty_text = "(none)" };
	struct table snd = { .align = "llrl", .ncols = 3, .empty_text = "(none)" };
	struct table un = { .align = "lrrrrrrrrrrrl", .ncols = UNIT_COLUMNS,
	    .empty_text = "(none)" };
	int rc;

	count_table(&cat, "CATEGORY", st->categories, st->n_categories);
	count_table(&dist, "DISTRICT", st->districts, st->n_districts);
	sender_table(&snd, st);
	unit_table(&un, st);
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
	char from[CASEFILE_TIME_LEN], to[CASEFILE_TIME_LEN];
	int rc;

	fmt_period(st->from_ms, "the beginning", from, sizeof(from));
	fmt_period(st->to_ms, "the end of the log", to, sizeof(to));
	fprintf(fp, "Period %s to %s (%s, end excluded)\n", from, to, st->by_occurred ?
	    "the incident's time (clue occurred_at)" : "broker log time");
	if (st->district[0] != '\0' || st->unit[0] != '\0')
		fprintf(fp, "Limited to%s%s%s%s\n", st->district[0] != '\0' ? " district " : "",
		    st->district, st->unit[0] != '\0' ? " unit " : "", st->unit);
	fprintf(fp, "%llu messages, %llu clues\n\n", (unsigned long long)st->messages,
	    (unsigned long long)st->clues);
	rc = stats_tables(st, fp);
	if (rc == 0 && ferror(fp))
		rc = CB_EIO;
	return rc;
}

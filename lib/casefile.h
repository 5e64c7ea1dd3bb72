/* lib/casefile.h — case timelines and period statistics from the audit log (SPEC §8).
 *
 * casefile_build() reads a store once, in log order, and keeps a compact index of every
 * logged message: its header (seq, log time, id, refers_to, sender, kind, case ref), its
 * recipients with the log time each one acknowledged delivery, and for workflow kinds the
 * few body fields the views need (a clue's category, district and the first
 * CASEFILE_SUMMARY_MAX bytes of its summary; a feedback's status; an escalation's unit,
 * missed step and due time). Bodies are not kept. From the same pass it derives the duties
 * ("obligations") of units on referrals, by the rules broker/workflow.c applies when it
 * writes the log, so that the audit agrees with the broker's own state:
 *
 *   referral R names unit U in to_units ──▶ U owes a receipt and a feedback, from R's log
 *       time (a unit named twice, or R's own sender, owes nothing more)
 *   petition clue P from CASEFILE_PETITION_UNIT ──▶ each routed recipient owes them, with P's
 *       id as the referral id, if the log's registry records give it the role "member" (for
 *       a unit without a role in the log: if its id is not CASEFILE_OFFICE nor starts with
 *       CASEFILE_DISTRICT_PREFIX)
 *   feedback "transferred" from U on R ──▶ each unit in transferred_to owes them on R, from
 *       the feedback's log time, unless its duty on R is still open
 *
 *   duty:  owed ──receipt──▶ received ──feedback──▶ answered (open while the last status is
 *            └──────────feedback───────────┘          accepted / in_progress, else closed)
 *                  (a feedback is also the receipt)
 *
 * Receipts and feedbacks match the sender's latest duty on the message their refers_to
 * names; the first receipt and the first feedback count. A supervision on R tightens the due
 * time of a still pending step of R's open duties it names (all when it names none), or sets
 * a new one after that step was escalated. An escalation marks the duty of its unit on its
 * referral_id as escalated for its missed step (the first escalation's time is kept) and fills
 * in that step's due time when the log did not state one (0: the broker's default for the
 * priority). All durations use LogEntry.time_ms, the broker's log time, never the senders'
 * clocks.
 *
 * Percentiles are nearest-rank: sort the n durations ascending and take the value at index
 * ceil(p/100 * n) - 1; the median is p = 50 by the same rule (for an even n the lower of the
 * two middle values, never an average).
 *
 * The build checks each entry's recorded hash, its sequence number and its link to the entry
 * before (so statistics are never computed over a log that is visibly broken) but not
 * signatures: `cluebus-audit verify` does that. */
#ifndef CB_CASEFILE_H
#define CB_CASEFILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "cluebus/err.h"
#include "cluebus/ids.h"
#include "cluebus.pb-c.h"
#include "store.h"

#define CASEFILE_OFFICE			"ato"
#define CASEFILE_DISTRICT_PREFIX	"ato-"
#define CASEFILE_PETITION_UNIT		"petitions"	/* broker.conf petition_unit default */
#define CASEFILE_SUMMARY_MAX		160	/* bytes of a clue summary kept for the case view */
#define CASEFILE_NONE			INT64_MIN	/* a time or duration that does not exist */
#define CASEFILE_UNIT_LEN		CB_UNIT_ID_SIZE	/* unit id and its NUL */
#define CASEFILE_CASE_REF_LEN		257	/* case ref and its NUL */
#define CASEFILE_NAME_LEN		128	/* a unit's registered (Chinese) name, cut */

typedef struct casefile casefile_t;

/* Why a build failed: the entry and the reason. seq is 0 when no entry is to blame. */
typedef struct casefile_error {
	uint64_t	seq;
	char		reason[256];
} casefile_error_t;

/* Reads every entry of `s` (borrowed for the call) and builds the index. Returns 0 with a new
 * index in *out (free with casefile_free), or: CB_ECORRUPT with err->seq and err->reason when
 * an entry does not hash, link or decode, or carries a message that does not parse;
 * CB_ESTORE when LMDB fails; CB_ENOMEM; CB_ETOOBIG when the log holds more than 2^32 - 2
 * messages. On error *out is NULL. `err` may be NULL. */
int	casefile_build(store_t *s, casefile_t **out, casefile_error_t *err)
    __attribute__((warn_unused_result));
/* Frees the index. Accepts NULL. */
void	casefile_free(casefile_t *cf);
/* Entries read, and the log time of the last entry (CASEFILE_NONE for an empty log).
 * Cannot fail. */
uint64_t casefile_entries(const casefile_t *cf);
int64_t	casefile_last_ms(const casefile_t *cf);

/* The nearest-rank percentile `pct` (1..100; others are clamped) of `n` durations sorted
 * ascending: the value at index ceil(pct * n / 100) - 1. Returns CASEFILE_NONE when n is 0.
 * Borrows `sorted` for the call. Cannot fail. */
int64_t	casefile_percentile(const int64_t *sorted, size_t n, unsigned pct);

/* ---- the case timeline ---- */

/* Why a message is in a case. */
typedef enum casefile_why {
	CASEFILE_BY_CASE_REF = 1,	/* its case_ref is the case */
	CASEFILE_BY_REFERS_TO,		/* its refers_to leads (transitively) to such a message */
	CASEFILE_REFERRED,		/* not itself in the case, but a case message refers to it
					 * (e.g. the clue a referral hands on) */
} casefile_why_t;

typedef struct casefile_delivery {
	char		unit[CASEFILE_UNIT_LEN];
	int64_t		acked_ms;	/* log time of its first ack, or CASEFILE_NONE */
} casefile_delivery_t;

/* One unit's duty on a referral (or petition clue). Times are log times; a time that has not
 * happened (by the end of the log) is CASEFILE_NONE; due times are 0 when the log does not
 * state them (the broker applied its default for the priority, and nothing was escalated). */
typedef struct casefile_duty {
	char		unit[CASEFILE_UNIT_LEN];
	char		transferred_from[CASEFILE_UNIT_LEN];	/* "" unless it came by transfer */
	int64_t		since_ms;
	int64_t		receipt_due_ms, feedback_due_ms;
	int64_t		receipt_ms, feedback_ms;
	int64_t		receipt_after_ms, feedback_after_ms;	/* x_ms - since_ms, or NONE */
	int64_t		receipt_escalated_ms, feedback_escalated_ms;
	Cluebus__FeedbackStatus first_status, last_status;	/* UNSPECIFIED: no feedback */
} casefile_duty_t;

typedef struct casefile_event {
	uint64_t	 seq;
	int64_t		 time_ms;
	Cluebus__EntryType entry_type;		/* MESSAGE, or BROKER for broker-signed */
	Cluebus__Kind	 kind;
	casefile_why_t	 why;
	char		 sender[CASEFILE_UNIT_LEN];
	char		 message_id[CB_MESSAGE_ID_HEX_SIZE];	/* lowercase hex */
	char		 refers_to[CB_MESSAGE_ID_HEX_SIZE];	/* lowercase hex, "" when none */
	uint64_t	 refers_to_seq;		/* seq of the message it names, 0 if not logged */
	char		 case_ref[CASEFILE_CASE_REF_LEN];
	size_t		 n_recipients;
	casefile_delivery_t *recipients;
	/* KIND_CLUE */
	Cluebus__Category category;
	char		 jurisdiction[8];
	char		 summary[CASEFILE_SUMMARY_MAX + 4];	/* UTF-8; when cut, + "…" */
	/* KIND_FEEDBACK */
	Cluebus__FeedbackStatus status;
	/* KIND_ESCALATION */
	char		 escalated_unit[CASEFILE_UNIT_LEN];
	Cluebus__Missed	 missed;
	Cluebus__ReportType duty;	/* a report duty's escalation (missed: unspecified) */
	int64_t		 due_ms;
	/* KIND_REFERRAL, and a petition clue: the duties it created, in order of creation */
	size_t		 n_duties;
	casefile_duty_t	*duties;
} casefile_event_t;

typedef struct casefile_timeline {
	char		 case_ref[CASEFILE_CASE_REF_LEN];
	int64_t		 as_of_ms;	/* last log time: "open" means open at this time */
	size_t		 n_events;
	casefile_event_t *events;	/* in log order */
} casefile_timeline_t;

/* The messages of case `case_ref` in log order: those whose case_ref equals it, those whose
 * refers_to leads to one of them, and the messages these refer to. An unknown case gives an
 * empty timeline. Returns 0 with a new timeline in *out (free with casefile_timeline_free;
 * it borrows nothing from `cf`), CB_EINVAL for an empty or over-long case_ref, or
 * CB_ENOMEM. */
int	casefile_case(const casefile_t *cf, const char *case_ref, casefile_timeline_t **out)
    __attribute__((warn_unused_result));
/* Frees a timeline. Accepts NULL. */
void	casefile_timeline_free(casefile_timeline_t *tl);
/* Writes the timeline to `fp` as an aligned text table, one row per message with its duties,
 * clue, feedback or escalation below it. Returns 0, CB_ENOMEM, or CB_EIO when writing
 * failed. */
int	casefile_timeline_print(const casefile_timeline_t *tl, FILE *fp)
    __attribute__((warn_unused_result));
/* Returns the timeline as a new JSON object, or NULL when out of memory. */
json_t	*casefile_timeline_json(const casefile_timeline_t *tl);

/* ---- statistics of a period ---- */

typedef struct casefile_count {
	char		key[CASEFILE_UNIT_LEN];	/* category name, district code or unit id */
	char		name[CASEFILE_NAME_LEN];	/* a district: its office's registered
						 * name; "" when none */
	uint64_t	n;
} casefile_count_t;

typedef struct casefile_sender_count {
	char		unit[CASEFILE_UNIT_LEN];
	char		name[CASEFILE_NAME_LEN];	/* registered name, or "" */
	Cluebus__Kind	kind;
	uint64_t	n;
} casefile_sender_count_t;

/* Durations from the start of a duty to its receipt (or feedback). */
typedef struct casefile_latency {
	uint64_t	n;			/* duties answered before to_ms */
	int64_t		median_ms, p90_ms;	/* nearest-rank; CASEFILE_NONE when n is 0 */
} casefile_latency_t;

/* Per obliged unit, over its duties that began in [from_ms, to_ms) (referrals naming it,
 * transfers to it, petition clues routed to it; `referrals` counts them):
 *   referrals == receipt.n + open_receipt == feedback.n + open_feedback;
 * open_receipt counts duties without receipt (nor feedback) logged before to_ms, open_feedback
 * those without feedback before to_ms (whether received or not). overdue_* count the
 * escalations logged in [from_ms, to_ms) naming the unit, whenever its duty began. */
typedef struct casefile_unit_stats {
	char		unit[CASEFILE_UNIT_LEN];
	char		name[CASEFILE_NAME_LEN];	/* registered name, or "" */
	uint64_t	referrals;
	casefile_latency_t receipt, feedback;
	uint64_t	overdue_receipt, overdue_feedback;
	uint64_t	open_receipt, open_feedback;
} casefile_unit_stats_t;

/* Counts are over messages logged in [from_ms, to_ms). Arrays are sorted by key / unit (then
 * kind); rows with a zero count are left out. */
typedef struct casefile_stats {
	int64_t		 from_ms, to_ms;
	char		 district[8];		/* the scope (casefile_scope_t); "" all */
	char		 unit[CASEFILE_UNIT_LEN];
	int		 by_occurred;
	uint64_t	 messages, clues;
	size_t		 n_categories, n_districts, n_senders, n_units;
	casefile_count_t *categories;		/* key: intake_category_name() */
	casefile_count_t *districts;		/* key: clue.jurisdiction */
	casefile_sender_count_t *senders;
	casefile_unit_stats_t *units;
} casefile_stats_t;

/* Computes the statistics of log times [from_ms, to_ms). Returns 0 with new stats in *out
 * (free with casefile_stats_free; borrows nothing from `cf`), CB_EINVAL when from_ms >=
 * to_ms, or CB_ENOMEM. */
int	casefile_stats(const casefile_t *cf, int64_t from_ms, int64_t to_ms,
    casefile_stats_t **out) __attribute__((warn_unused_result));

/* What statistics are limited to (cluebus-audit stats --district, --unit, --by occurred):
 *   district  a division code: clues whose jurisdiction it is, the messages and duties that
 *             lead (by refers_to, transitively) to such a clue, and the messages of units
 *             the log's registry gives that division code (its district office);
 *   unit      the messages it sent or received, the escalations naming it, its duties;
 *   by_occurred  a message or duty is in [from_ms, to_ms) when the incident it leads to
 *             (the clue's occurred_at) is; one that leads to no dated clue is left out.
 * NULL / 0: no limit, log times. */
typedef struct casefile_scope {
	int64_t		 from_ms, to_ms;
	const char	*district;
	const char	*unit;
	int		 by_occurred;
} casefile_scope_t;

/* casefile_stats within `scope` (borrowed). Returns as casefile_stats does; CB_EINVAL also
 * for a district that is not 6 digits or a unit that is not a unit id. A district or unit
 * the log never names gives empty statistics. */
int	casefile_stats_scoped(const casefile_t *cf, const casefile_scope_t *scope,
    casefile_stats_t **out) __attribute__((warn_unused_result));
/* Frees statistics. Accepts NULL. */
void	casefile_stats_free(casefile_stats_t *st);
/* Writes the statistics to `fp` as aligned text tables. Returns 0, CB_ENOMEM or CB_EIO. */
int	casefile_stats_print(const casefile_stats_t *st, FILE *fp)
    __attribute__((warn_unused_result));
/* Returns the statistics as a new JSON object, or NULL when out of memory. */
json_t	*casefile_stats_json(const casefile_stats_t *st);

#endif

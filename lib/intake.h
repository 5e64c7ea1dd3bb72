/* lib/intake.h — strict JSON <-> Message conversion for agency documents (SPEC §5).
 *
 * The agency's JSON mirrors the protobuf messages: snake_case names, enums as lower-case
 * strings, times as RFC 3339, ids and hashes as lowercase hex. Parsing is strict: an unknown
 * field, a wrong type, a bad enum, a bad date, a missing required field, an oversize string or
 * an oversize document is refused with a cb_error_t naming the field and the reason;
 * intake_parse() also lists every problem of the document, and applies a deployment's rules
 * (divisions, times) and relative due times. */
#ifndef CB_INTAKE_H
#define CB_INTAKE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "cluebus/err.h"
#include "cluebus.pb-c.h"

#define INTAKE_MAX_DOC		(256 * 1024)	/* bytes of JSON */
#define INTAKE_MAX_TEXT		(16 * 1024)	/* bytes of one free-text string (summary, note) */
#define INTAKE_MAX_SHORT	256		/* bytes of a name, location, id number, case ref */
#define INTAKE_MAX_ITEMS	64		/* persons, attachments, units per document */
#define INTAKE_MAX_PROBLEMS	64		/* problems listed for one document */
#define INTAKE_FOLLOW_UPS_MAX	60		/* follow-up periods of one referral */

/* What intake checks beyond the schema, for an agent that knows its deployment. */
typedef struct intake_rules {
	int64_t		   now_ms;	/* the publishing time (0: the clock's now): relative
					 * due times ("receipt_due_in": "8h") count from it */
	int		   check_times;	/* refuse occurred_at later than now_ms + skew_ms and
					 * due times earlier than now_ms */
	int64_t		   skew_ms;
	size_t		   n_divisions;	/* 0: any 6-digit jurisdiction */
	const char *const *divisions;	/* "CODE" or "CODE NAME" ("210302 铁东区"); borrowed */
} intake_rules_t;

/* intake_from_json with `rules` (may be NULL: none) and every problem reported: on
 * CB_EMALFORMED / CB_ETOOBIG, *problems (when `problems` is not NULL) is a new JSON array
 * of {"field", "reason"} objects owned by the caller, the first of them also in `err`; past
 * INTAKE_MAX_PROBLEMS a last entry says more were not listed. Otherwise *problems is NULL.
 * Without rules, relative due times count from the clock's now. */
int	intake_parse(const char *json, size_t len, const intake_rules_t *rules,
    Cluebus__Message **out, cb_error_t *err, json_t **problems)
    __attribute__((warn_unused_result));

/* Parses one agency document into a new Message owned by the caller (free it with
 * protobuf_c_message_free_unpacked(&msg->base, NULL)). Sets kind, priority, case_ref,
 * refers_to, message_id (only when the document carries one) and the body. Leaves sender,
 * key_id and created_ms for the signer. Returns 0, or CB_EMALFORMED / CB_ETOOBIG with `err`
 * naming the field, or CB_ENOMEM. `json` need not be NUL-terminated. */
int	intake_from_json(const char *json, size_t len, Cluebus__Message **out, cb_error_t *err)
    __attribute__((warn_unused_result));

/* Renders a message (header and body, any kind) as a new JSON object in the same format
 * intake_from_json reads, plus sender, key_id and created. Returns a new reference, or NULL
 * when out of memory. Borrows `msg`. */
json_t	*intake_to_json(const Cluebus__Message *msg);

/* Renders the broker's delivery context (the referral, case, referred clue and each obliged
 * unit's state, due times, and whose action is awaited) as a new JSON object, or NULL when
 * out of memory. Borrows `ctx`. */
json_t	*intake_context_to_json(const Cluebus__Context *ctx);

/* Enum <-> name tables, shared with routing and the audit tool. The *_name functions
 * return a static string ("unknown" for an out-of-range value); the *_parse functions
 * return 0 and set *out, or CB_EMALFORMED. */
const char *intake_kind_name(Cluebus__Kind k);
int	intake_kind_parse(const char *s, Cluebus__Kind *out);
const char *intake_category_name(Cluebus__Category c);
int	intake_category_parse(const char *s, Cluebus__Category *out);
const char *intake_priority_name(Cluebus__Priority p);
int	intake_priority_parse(const char *s, Cluebus__Priority *out);

/* The other enums of a body, by name (the audit tool's replay). */
enum intake_enum {
	INTAKE_ENUM_HANDLING,		/* Cluebus__HandlingCode */
	INTAKE_ENUM_RELIABILITY,	/* Cluebus__SourceReliability */
	INTAKE_ENUM_ACTION,		/* Cluebus__Action */
	INTAKE_ENUM_FEEDBACK,		/* Cluebus__FeedbackStatus */
	INTAKE_ENUM_SUPERVISION,	/* Cluebus__SupervisionLevel */
	INTAKE_ENUM_REPORT,		/* Cluebus__ReportType */
	INTAKE_ENUM_MISSED,		/* Cluebus__Missed */
	INTAKE_ENUM_REGISTRY,		/* Cluebus__RegistryOp */
	INTAKE_ENUM_CASE_OP,		/* Cluebus__CaseOp */
	INTAKE_ENUM_CORRECTION_OP,	/* Cluebus__CorrectionOp */
	INTAKE_ENUM_MATCH_REASON,	/* Cluebus__MatchReason */
};
/* The name of `value` of enum `which`, as documents write it: a static string, "unknown"
 * out of range. Cannot fail. */
const char *intake_enum_name(enum intake_enum which, int value);

#endif

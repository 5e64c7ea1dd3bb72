/* lib/intake.c — strict JSON <-> Message conversion for agency documents (SPEC §5).
 *
 * Agency systems hand the agent JSON documents (the spool directory, the C library); this
 * module is the one place that turns them into protobuf Messages and turns Messages back
 * into JSON for SPOOL/out and the audit tool. The document format is written down in
 * docs/formats.md. Parsing goes through jansson; nothing here reads JSON text by hand.
 *
 * Invariants:
 *   (1) Outside input is bounded before it is used: the document size before parsing, every
 *       string and array before it is copied. An error never aborts; it is returned as a
 *       cb_error_t naming the field as a path ("clue.persons[1].age") and the reason, and
 *       parsing goes on so that intake_parse() lists every problem (at most
 *       INTAKE_MAX_PROBLEMS, then how many more), each reason whole UTF-8.
 *   (2) On error nothing leaks and *out is NULL. The message under construction is always
 *       freeable by protobuf_c_message_free_unpacked(): a repeated field's count covers only
 *       elements already stored, a oneof case is set together with its pointer, and every
 *       string, bytes buffer, array and submessage is malloc'ed.
 *   (3) For every message intake_from_json() returns, intake_from_json(intake_to_json(m))
 *       without sender, key_id and created packs to the same bytes. That is why accepted
 *       times are kept within 1970..9999: they must render back as four-digit years.
 *   (4) Adding a kind to intake_from_json() is one parser function and one row in kinds[].
 *
 * Rendering follows the proto3 JSON mapping where the message is outside what intake
 * accepts: an enum value without a name renders as its number, a time outside 1970..9999
 * as its milliseconds, a uint64 above the JSON integer range as a decimal string, and a
 * string that is not valid UTF-8 with its non-ASCII bytes replaced by '?'. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "cluebus/err.h"
#include "cluebus.pb-c.h"
#include "envelope.h"
#include "identifiers.h"
#include "intake.h"
#include "seal.h"
#include "util.h"

#define FIELD_MAX	sizeof(((cb_error_t *)0)->field)
#define DOC_FIELD	"(document)"
#define TIME_MAX_MS	INT64_C(253402300799999)	/* 9999-12-31T23:59:59.999Z */
#define SHA256_BYTES	32
#if JSON_INTEGER_IS_LONG_LONG
#define JSON_INT_MAX	LLONG_MAX
#else
#define JSON_INT_MAX	LONG_MAX
#endif

/* Flags for the read_* functions (read_string() takes both, the others only the first). */
#define F_OPTIONAL	0x0
#define F_REQUIRED	0x1	/* absent (for strings: or empty) is an error */
#define F_TEXT		0x2	/* free text: up to INTAKE_MAX_TEXT, may hold tab/newline/CR */

/* ---- enum names -------------------------------------------------------------------------- */

/* A name table is indexed by the enum value; [0] is the UNSPECIFIED value, which no
 * document may name. */
struct names {
	const char *const	*name;
	size_t			 count;
};
#define NAMES(a)	{ (a), sizeof(a) / sizeof((a)[0]) }
#define NAMES_CHECK(a, last) \
	_Static_assert(sizeof(a) / sizeof((a)[0]) == (last) + 1, #a " is out of date with the proto")

static const char *const kind_names[] = { "unspecified", "clue", "referral", "receipt",
    "feedback", "supervision", "report", "escalation", "registry", "match", "permission",
    "case", "correction", NULL, NULL, "correlation_key" };
static const char *const priority_names[] = { "unspecified", "routine", "urgent",
    "immediate" };
static const char *const category_names[] = { "unspecified", "school", "medical",
    "marriage", "labor", "online", "vagrant", "vulnerable_group", "foreign_national",
    "public_tip", "dna", "entertainment_venue", "fake_paternity", "petition", "transport",
    "cross_border", "other" };
static const char *const handling_names[] = { "unspecified", "h0", "h1", "h2", "h3" };
static const char *const reliability_names[] = { "unspecified", "a", "b", "c", "x" };
static const char *const role_names[] = { "unspecified", "victim", "suspect", "reporter",
    "other" };
static const char *const gender_names[] = { "unspecified", "male", "female", "other",
    "unknown" };
static const char *const action_names[] = { "unspecified", "investigate", "rescue",
    "dna_sampling", "legal_aid", "counseling", "schooling", "employment", "relief",
    "family_search", "resettlement", "other" };
static const char *const feedback_names[] = { "unspecified", "accepted", "in_progress",
    "resolved", "rejected", "transferred" };
static const char *const supervision_names[] = { "unspecified", "supervise", "listed" };
static const char *const report_names[] = { "unspecified", "situation_analysis",
    "self_evaluation", "warning_notice", "follow_up", "phase_evaluation", "final_evaluation" };
static const char *const missed_names[] = { "unspecified", "receipt", "feedback" };
static const char *const case_op_names[] = { "unspecified", "open", "add_members",
    "remove_members", "close" };
static const char *const correction_op_names[] = { "unspecified", "correct", "withdraw" };
static const char *const registry_names[] = { "unspecified", "add_unit", "rotate_key",
    "revoke_key", "change_liaison", "broker_key", "admin_key", "add_seal_key",
    "rotate_seal_key", "revoke_seal_key", "routing" };

NAMES_CHECK(kind_names, CLUEBUS__KIND__KIND_CORRELATION_KEY);
NAMES_CHECK(case_op_names, CLUEBUS__CASE_OP__CASE_CLOSE);
NAMES_CHECK(correction_op_names, CLUEBUS__CORRECTION_OP__CORRECTION_WITHDRAW);
NAMES_CHECK(priority_names, CLUEBUS__PRIORITY__PRIORITY_IMMEDIATE);
NAMES_CHECK(category_names, CLUEBUS__CATEGORY__CATEGORY_OTHER);
NAMES_CHECK(handling_names, CLUEBUS__HANDLING_CODE__HANDLING_H3);
NAMES_CHECK(reliability_names, CLUEBUS__SOURCE_RELIABILITY__RELIABILITY_X);
NAMES_CHECK(role_names, CLUEBUS__PERSON_ROLE__ROLE_OTHER);
NAMES_CHECK(gender_names, CLUEBUS__GENDER__GENDER_UNKNOWN);
NAMES_CHECK(action_names, CLUEBUS__ACTION__ACTION_OTHER);
NAMES_CHECK(feedback_names, CLUEBUS__FEEDBACK_STATUS__FEEDBACK_TRANSFERRED);
NAMES_CHECK(supervision_names, CLUEBUS__SUPERVISION_LEVEL__SUPERVISION_LISTED);
NAMES_CHECK(report_names, CLUEBUS__REPORT_TYPE__REPORT_FINAL_EVALUATION);
NAMES_CHECK(missed_names, CLUEBUS__MISSED__MISSED_FEEDBACK);
NAMES_CHECK(registry_names, CLUEBUS__REGISTRY_OP__REGISTRY_ROUTING);

static const struct names kinds_tab = NAMES(kind_names);
static const struct names priority_tab = NAMES(priority_names);
static const struct names category_tab = NAMES(category_names);
static const struct names handling_tab = NAMES(handling_names);
static const struct names reliability_tab = NAMES(reliability_names);
static const struct names role_tab = NAMES(role_names);
static const struct names gender_tab = NAMES(gender_names);
static const struct names action_tab = NAMES(action_names);
static const struct names feedback_tab = NAMES(feedback_names);
static const struct names supervision_tab = NAMES(supervision_names);
static const struct names report_tab = NAMES(report_names);
static const struct names missed_tab = NAMES(missed_names);
static const struct names registry_tab = NAMES(registry_names);
static const struct names case_op_tab = NAMES(case_op_names);
static const struct names correction_op_tab = NAMES(correction_op_names);

static const char *
names_get(const struct names *t, int value)
{
	if (value < 0 || (size_t)value >= t->count || t->name[value] == NULL)
		return "unknown";
	return t->name[value];
}

/* Finds a nameable value (never [0]). Returns 0 and sets *value, or CB_EMALFORMED. */
static int
names_find(const struct names *t, const char *s, int *value)
{
	if (s == NULL)
		return CB_EMALFORMED;
	for (size_t i = 1; i < t->count; i++)
		if (t->name[i] != NULL && strcmp(s, t->name[i]) == 0) {
			*value = (int)i;
			return 0;
		}
	return CB_EMALFORMED;
}

/* Writes "a, b, c" (every nameable value) into out. */
static void
names_list(const struct names *t, char *out, size_t outlen)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 1; i < t->count && used < outlen; i++) {
		int n;

		if (t->name[i] == NULL)
			continue;	/* a value another kind of build names */
		n = snprintf(out + used, outlen - used, "%s%s", used > 0 ? ", " : "",
		    t->name[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

const char *
intake_kind_name(Cluebus__Kind k)
{
	return names_get(&kinds_tab, (int)k);
}

int
intake_kind_parse(const char *s, Cluebus__Kind *out)
{
	int v;

	if (names_find(&kinds_tab, s, &v) != 0)
		return CB_EMALFORMED;
	*out = (Cluebus__Kind)v;
	return 0;
}

const char *
intake_category_name(Cluebus__Category c)
{
	return names_get(&category_tab, (int)c);
}

int
intake_category_parse(const char *s, Cluebus__Category *out)
{
	int v;

	if (names_find(&category_tab, s, &v) != 0)
		return CB_EMALFORMED;
	*out = (Cluebus__Category)v;
	return 0;
}

const char *
intake_priority_name(Cluebus__Priority p)
{
	return names_get(&priority_tab, (int)p);
}

int
intake_priority_parse(const char *s, Cluebus__Priority *out)
{
	int v;

	if (names_find(&priority_tab, s, &v) != 0)
		return CB_EMALFORMED;
	*out = (Cluebus__Priority)v;
	return 0;
}

/* ---- errors and field paths -------------------------------------------------------------- */

/* One parse: where its problems go and the rules it applies. A problem with the document
 * (CB_EMALFORMED, CB_ETOOBIG) is recorded and parsing goes on with the next field, so that
 * one pass reports them all; the first is also `err`. Out of memory stops the parse. */
struct parse {
	cb_error_t		*err;
	json_t			*problems;	/* [{field, reason}], or NULL when not wanted */
	const intake_rules_t	*rules;		/* may be NULL */
	int64_t			 now_ms;	/* what relative due times count from */
	int			 first_code;	/* of the first problem; 0 while there is none */
	int			 nomem;		/* a problem could not be recorded */
	size_t			 unlisted;	/* problems past INTAKE_MAX_PROBLEMS */
};

static int
parse_fail(struct parse *ps, const char *field, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
parse_fail(struct parse *ps, const char *field, int code, const char *fmt, ...)
{
	char	reason[sizeof(ps->err->reason)];
	json_t	*p;
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	str_utf8_trim(reason);	/* the error file is JSON: a cut character would void it */
	if (code == CB_ENOMEM || ps->first_code == 0)
		cb_error_set(ps->err, field, "%s", reason);
	if (code == CB_ENOMEM)
		return code;
	if (ps->first_code == 0)
		ps->first_code = code;
	if (ps->problems == NULL)
		return code;
	if (json_array_size(ps->problems) >= INTAKE_MAX_PROBLEMS) {
		ps->unlisted++;
		return code;
	}
	if ((p = json_pack("{s:s, s:s}", "field", field, "reason", reason)) == NULL ||
	    json_array_append_new(ps->problems, p) != 0)
		ps->nomem = 1;
	return code;
}

/* A problem with the document was recorded: go on with the next field. Returns 0 for one,
 * else `rc` (0 or an error that stops the parse). */
static int
go_on(int rc)
{
	return rc == CB_EMALFORMED || rc == CB_ETOOBIG ? 0 : rc;
}

static int
fail_nomem(struct parse *ps, const char *path)
{
	return parse_fail(ps, path, CB_ENOMEM, "out of memory");
}

/* Appends `s` to `out` (outlen bytes, `*used` of them in use, NUL-terminated). Control
 * characters become '?'; what does not fit is cut at a UTF-8 character boundary. Used
 * for field paths and reasons, which end up in error files and logs. */
static void
text_put(char *out, size_t outlen, size_t *used, const char *s)
{
	size_t n = *used;

	for (; *s != '\0' && n + 1 < outlen; s++) {
		unsigned char c = (unsigned char)*s;

		out[n++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (((unsigned char)*s & 0xc0) == 0x80) {
		while (n > *used && ((unsigned char)out[n - 1] & 0xc0) == 0x80)
			n--;
		if (n > *used)
			n--;
	}
	out[n] = '\0';
	*used = n;
}

static void
path_put(char *out, size_t *used, const char *s)
{
	text_put(out, FIELD_MAX, used, s);
}

/* out = parent "." key, or key alone at the top level. */
static void
path_key(char *out, const char *parent, const char *key)
{
	size_t used = 0;

	out[0] = '\0';
	path_put(out, &used, parent);
	if (used > 0)
		path_put(out, &used, ".");
	path_put(out, &used, key);
}

/* out = parent "[" i "]". */
static void
path_index(char *out, const char *parent, size_t i)
{
	char	idx[32];
	size_t	used = 0;

	snprintf(idx, sizeof(idx), "[%zu]", i);
	out[0] = '\0';
	path_put(out, &used, parent);
	path_put(out, &used, idx);
}

static const char *
type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:	return "object";
	case JSON_ARRAY:	return "array";
	case JSON_STRING:	return "string";
	case JSON_INTEGER:	return "integer";
	case JSON_REAL:		return "number";
	case JSON_TRUE:
	case JSON_FALSE:	return "boolean";
	case JSON_NULL:		return "null";
	}
	return "unknown";
}

/* ---- reading fields ---------------------------------------------------------------------- */

/* The Levenshtein distance of `a` and `b`, or SIZE_MAX when either is longer than 32. */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t	la = strlen(a), lb = strlen(b), row[33];

	if (la > 32 || lb > 32)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/* The allowed name nearest to `key` (at most 2 edits, and fewer than its length), or NULL. */
static const char *
nearest_name(const char *key, const char *const *allowed)
{
	const char	*best = NULL;
	size_t		 best_d = 3;

	for (size_t i = 0; allowed[i] != NULL; i++) {
		size_t d = edit_distance(key, allowed[i]);

		if (d < best_d && d < strlen(key)) {
			best = allowed[i];
			best_d = d;
		}
	}
	return best;
}

/* Checks that `v` is an object whose keys are all in `allowed` (NULL-terminated); each
 * unknown key is a problem of its own, with the nearest known name suggested. */
static int
object_check(const json_t *v, const char *path, const char *const *allowed, struct parse *ps)
{
	const char	*key, *near;
	json_t		*member;
	char		 sub[FIELD_MAX], shown[64];
	size_t		 used;
	int		 rc = 0;

	if (!json_is_object(v))
		return parse_fail(ps, path[0] != '\0' ? path : DOC_FIELD, CB_EMALFORMED,
		    "expected object, got %s", type_name(v));
	json_object_foreach((json_t *)v, key, member) {
		size_t i;

		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (allowed[i] != NULL)
			continue;
		path_key(sub, path, key);
		used = 0;
		shown[0] = '\0';
		text_put(shown, sizeof(shown), &used, key);
		if ((near = nearest_name(key, allowed)) != NULL)
			rc = parse_fail(ps, sub, CB_EMALFORMED,
			    "unknown field '%s': did you mean '%s'?", shown, near);
		else
			rc = parse_fail(ps, sub, CB_EMALFORMED, "unknown field '%s'", shown);
	}
	return rc;
}

/* Looks up a string member. Returns 0 with *s NULL when absent and optional. */
static int
lookup_string(const json_t *obj, const char *parent, const char *key, int required,
    const json_t **s, struct parse *ps)
{
	char	 path[FIELD_MAX];
	json_t	*v;

	*s = NULL;
	if ((v = json_object_get(obj, key)) == NULL) {
		if (!required)
			return 0;
		path_key(path, parent, key);
		return parse_fail(ps, path, CB_EMALFORMED, "required");
	}
	if (!json_is_string(v)) {
		path_key(path, parent, key);
		return parse_fail(ps, path, CB_EMALFORMED, "expected string, got %s", type_name(v));
	}
	*s = v;
	return 0;
}

/* Whether `s` holds a control character (C0, DEL or C1). Free text may hold tab,
 * newline and carriage return. `s` is valid UTF-8 (jansson checked it). */
static int
has_control(const char *s, size_t len, int text)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (text && (c == '\t' || c == '\n' || c == '\r'))
			continue;
		if (c < 0x20 || c == 0x7f)
			return 1;
		if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9f)
			return 1;
	}
	return 0;
}

/* Reads a string member into *dst (a new copy). Absent optional members leave *dst. */
static int
read_string(const json_t *obj, const char *parent, const char *key, int flags, char **dst,
    struct parse *ps)
{
	const json_t	*v;
	const char	*s;
	char		 path[FIELD_MAX], *copy;
	size_t		 len, max = flags & F_TEXT ? INTAKE_MAX_TEXT : INTAKE_MAX_SHORT;
	int		 rc;

	if ((rc = lookup_string(obj, parent, key, flags & F_REQUIRED, &v, ps)) != 0 || v == NULL)
		return rc;
	s = json_string_value(v);
	len = json_string_length(v);
	path_key(path, parent, key);
	if (len == 0 && (flags & F_REQUIRED))
		return parse_fail(ps, path, CB_EMALFORMED, "must not be empty");
	if (len > max)
		return parse_fail(ps, path, CB_ETOOBIG, "longer than %zu bytes", max);
	if (has_control(s, len, flags & F_TEXT))
		return parse_fail(ps, path, CB_EMALFORMED, "contains a control character");
	if ((copy = strdup(s)) == NULL)
		return fail_nomem(ps, path);
	*dst = copy;
	return 0;
}

static int
read_enum(const json_t *obj, const char *parent, const char *key, int required,
    const struct names *t, int *value, struct parse *ps)
{
	const json_t	*v;
	char		 path[FIELD_MAX], list[200];
	int		 rc;

	if ((rc = lookup_string(obj, parent, key, required, &v, ps)) != 0 || v == NULL)
		return rc;
	if (names_find(t, json_string_value(v), value) == 0)
		return 0;
	path_key(path, parent, key);
	names_list(t, list, sizeof(list));
	return parse_fail(ps, path, CB_EMALFORMED, "must be one of: %s", list);
}

/* Reads exactly `nbytes` bytes written as 2*nbytes lowercase hex digits. */
static int
read_hex(const json_t *obj, const char *parent, const char *key, int required, size_t nbytes,
    ProtobufCBinaryData *dst, struct parse *ps)
{
	const json_t	*v;
	const char	*s;
	char		 path[FIELD_MAX];
	uint8_t		*buf;
	int		 rc;

	if ((rc = lookup_string(obj, parent, key, required, &v, ps)) != 0 || v == NULL)
		return rc;
	s = json_string_value(v);
	path_key(path, parent, key);
	if (json_string_length(v) != 2 * nbytes ||
	    strspn(s, "0123456789abcdef") != 2 * nbytes)
		return parse_fail(ps, path, CB_EMALFORMED, "expected %zu lowercase hex digits",
		    2 * nbytes);
	if ((buf = malloc(nbytes)) == NULL)
		return fail_nomem(ps, path);
	if (hex_decode(s, buf, nbytes) != 0) {
		free(buf);
		return parse_fail(ps, path, CB_EMALFORMED, "expected %zu lowercase hex digits",
		    2 * nbytes);
	}
	dst->data = buf;
	dst->len = nbytes;
	return 0;
}

static int
read_time(const json_t *obj, const char *parent, const char *key, int required, int64_t *ms,
    struct parse *ps)
{
	const json_t	*v;
	char		 path[FIELD_MAX];
	int64_t		 t;
	int		 rc;

	if ((rc = lookup_string(obj, parent, key, required, &v, ps)) != 0 || v == NULL)
		return rc;
	path_key(path, parent, key);
	if (clock_parse_rfc3339(json_string_value(v), &t) != 0)
		return parse_fail(ps, path, CB_EMALFORMED,
		    "not an RFC 3339 time (like 2026-03-01T08:30:00+08:00)");
	if (t < 0 || t > TIME_MAX_MS)
		return parse_fail(ps, path, CB_EMALFORMED, "outside the years 1970 to 9999 (UTC)");
	*ms = t;
	return 0;
}

static int
read_int(const json_t *obj, const char *parent, const char *key, int required, json_int_t min,
    json_int_t max, json_int_t *value, struct parse *ps)
{
	char	 path[FIELD_MAX];
	json_t	*v;

	path_key(path, parent, key);
	if ((v = json_object_get(obj, key)) == NULL)
		return required ? parse_fail(ps, path, CB_EMALFORMED, "required") : 0;
	if (!json_is_integer(v))
		return parse_fail(ps, path, CB_EMALFORMED, "expected integer, got %s",
		    type_name(v));
	if (json_integer_value(v) < min || json_integer_value(v) > max) {
		if (max == JSON_INT_MAX)
			return parse_fail(ps, path, CB_EMALFORMED, "must be at least %"
			    JSON_INTEGER_FORMAT, min);
		return parse_fail(ps, path, CB_EMALFORMED, "must be from %" JSON_INTEGER_FORMAT
		    " to %" JSON_INTEGER_FORMAT, min, max);
	}
	*value = json_integer_value(v);
	return 0;
}

static int
read_object(const json_t *obj, const char *parent, const char *key, int required,
    const json_t **out, struct parse *ps)
{
	char	 path[FIELD_MAX];
	json_t	*v;

	*out = NULL;
	path_key(path, parent, key);
	if ((v = json_object_get(obj, key)) == NULL)
		return required ? parse_fail(ps, path, CB_EMALFORMED, "required") : 0;
	if (!json_is_object(v))
		return parse_fail(ps, path, CB_EMALFORMED, "expected object, got %s", type_name(v));
	*out = v;
	return 0;
}

/* Reads an optional array of at most INTAKE_MAX_ITEMS elements. */
static int
read_array(const json_t *obj, const char *parent, const char *key, const json_t **out,
    struct parse *ps)
{
	char	 path[FIELD_MAX];
	json_t	*v;

	*out = NULL;
	path_key(path, parent, key);
	if ((v = json_object_get(obj, key)) == NULL)
		return 0;
	if (!json_is_array(v))
		return parse_fail(ps, path, CB_EMALFORMED, "expected array, got %s", type_name(v));
	if (json_array_size(v) > INTAKE_MAX_ITEMS)
		return parse_fail(ps, path, CB_ETOOBIG, "more than %d items", INTAKE_MAX_ITEMS);
	*out = v;
	return 0;
}

/* ---- parsing a clue ---------------------------------------------------------------------- */

/* An id number written as a resident id number (digits, perhaps a final X) must be a valid
 * one (GB 11643); it is kept in its normal form. Other documents' numbers pass as given. */
static int
resident_id_check(Cluebus__Person *p, const char *path, struct parse *ps)
{
	char norm[IDENTIFIER_MAX + 1], why[IDENTIFIER_REASON_MAX], sub[FIELD_MAX];

	if (p->id_number == NULL || !identifier_looks_resident(p->id_number))
		return 0;
	path_key(sub, path, "id_number");
	if (identifier_normalize(CLUEBUS__IDENTIFIER_TYPE__IDENTIFIER_RESIDENT_ID, p->id_number,
	    norm, why) != 0)
		return parse_fail(ps, sub, CB_EMALFORMED, "not a valid resident id number: %s",
		    why);
	strcpy(p->id_number, norm);	/* never longer: separators removed */
	return 0;
}

/* One entry of clue.identifiers: {"type", "value"}, the value checked by its type's rule
 * (lib/identifiers.c). The agent turns it into a blind token before signing. */
static int
identifier_parse(const json_t *v, const char *path, Cluebus__MatchIdentifier *id,
    struct parse *ps)
{
	static const char *const fields[] = { "type", "value", NULL };
	char norm[IDENTIFIER_MAX + 1], why[IDENTIFIER_REASON_MAX], sub[FIELD_MAX];
	const json_t *t;
	Cluebus__IdentifierType type;
	int rc;

	if ((rc = go_on(object_check(v, path, fields, ps))) != 0 ||
	    (rc = lookup_string(v, path, "type", F_REQUIRED, &t, ps)) != 0)
		return rc;
	path_key(sub, path, "type");
	if (identifier_type_parse(json_string_value(t), &type) != 0)
		return parse_fail(ps, sub, CB_EMALFORMED, "must be one of: %s",
		    identifier_type_list());
	id->type = type;
	if ((rc = read_string(v, path, "value", F_REQUIRED, &id->value, ps)) != 0)
		return rc;
	path_key(sub, path, "value");
	if (identifier_normalize(type, id->value, norm, why) != 0)
		return parse_fail(ps, sub, CB_EMALFORMED, "not a valid %s: %s",
		    identifier_type_name(type), why);
	return 0;
}

static int
identifiers_parse(const json_t *clue_obj, const char *clue_path, Cluebus__Clue *clue,
    struct parse *ps)
{
	const json_t	*arr;
	char		 path[FIELD_MAX], item[FIELD_MAX];
	size_t		 n;
	int		 rc;

	if ((rc = read_array(clue_obj, clue_path, "identifiers", &arr, ps)) != 0 ||
	    arr == NULL || (n = json_array_size(arr)) == 0)
		return rc;
	path_key(path, clue_path, "identifiers");
	if ((clue->match_identifiers = calloc(n, sizeof(*clue->match_identifiers))) == NULL)
		return fail_nomem(ps, path);
	for (size_t i = 0; i < n; i++) {
		Cluebus__MatchIdentifier *id;

		path_index(item, path, i);
		if ((id = malloc(sizeof(*id))) == NULL)
			return fail_nomem(ps, item);
		cluebus__match_identifier__init(id);
		clue->match_identifiers[clue->n_match_identifiers++] = id;
		if ((rc = go_on(identifier_parse(json_array_get(arr, i), item, id, ps))) != 0)
			return rc;
	}
	return 0;
}

static int
person_parse(const json_t *v, const char *path, Cluebus__Person *p, struct parse *ps)
{
	static const char *const fields[] = { "role", "name", "id_number", "age", "gender",
	    "description", NULL };
	json_int_t	age = 0;
	int		rc, role = 0, gender = 0;

	if ((rc = go_on(object_check(v, path, fields, ps))) != 0 ||
	    (rc = go_on(read_enum(v, path, "role", F_REQUIRED, &role_tab, &role, ps))) != 0 ||
	    (rc = go_on(read_string(v, path, "name", F_OPTIONAL, &p->name, ps))) != 0 ||
	    (rc = go_on(read_string(v, path, "id_number", F_OPTIONAL, &p->id_number, ps))) != 0 ||
	    (rc = go_on(read_int(v, path, "age", F_OPTIONAL, 0, 150, &age, ps))) != 0 ||
	    (rc = go_on(read_enum(v, path, "gender", F_OPTIONAL, &gender_tab, &gender, ps))) != 0 ||
	    (rc = go_on(read_string(v, path, "description", F_TEXT, &p->description, ps))) != 0)
		return rc;
	if ((rc = go_on(resident_id_check(p, path, ps))) != 0)
		return rc;
	p->role = (Cluebus__PersonRole)role;
	p->age = (uint32_t)age;
	p->gender = (Cluebus__Gender)gender;
	return 0;
}

static int
attachment_parse(const json_t *v, const char *path, Cluebus__Attachment *a, struct parse *ps)
{
	static const char *const fields[] = { "name", "sha256", "size", "media_type", NULL };
	json_int_t	size = 0;
	int		rc;

	if ((rc = go_on(object_check(v, path, fields, ps))) != 0 ||
	    (rc = go_on(read_string(v, path, "name", F_REQUIRED, &a->name, ps))) != 0 ||
	    (rc = go_on(read_hex(v, path, "sha256", F_REQUIRED, SHA256_BYTES, &a->sha256,
	    ps))) != 0 ||
	    (rc = go_on(read_int(v, path, "size", F_REQUIRED, 0, JSON_INT_MAX, &size, ps))) != 0 ||
	    (rc = go_on(read_string(v, path, "media_type", F_OPTIONAL, &a->media_type, ps))) != 0)
		return rc;
	a->size = (uint64_t)size;
	return 0;
}

static int
persons_parse(const json_t *clue_obj, const char *clue_path, Cluebus__Person ***persons,
    size_t *n_persons, struct parse *ps)
{
	const json_t	*arr;
	char		 path[FIELD_MAX], item[FIELD_MAX];
	size_t		 n;
	int		 rc;

	if ((rc = read_array(clue_obj, clue_path, "persons", &arr, ps)) != 0 || arr == NULL ||
	    (n = json_array_size(arr)) == 0)
		return rc;
	path_key(path, clue_path, "persons");
	if ((*persons = calloc(n, sizeof(**persons))) == NULL)
		return fail_nomem(ps, path);
	for (size_t i = 0; i < n; i++) {
		Cluebus__Person *p;

		path_index(item, path, i);
		if ((p = malloc(sizeof(*p))) == NULL)
			return fail_nomem(ps, item);
		cluebus__person__init(p);
		(*persons)[(*n_persons)++] = p;
		if ((rc = go_on(person_parse(json_array_get(arr, i), item, p, ps))) != 0)
			return rc;
	}
	return 0;
}

static int
attachments_parse(const json_t *clue_obj, const char *clue_path, Cluebus__Clue *clue,
    struct parse *ps)
{
	const json_t	*arr;
	char		 path[FIELD_MAX], item[FIELD_MAX];
	size_t		 n;
	int		 rc;

	if ((rc = read_array(clue_obj, clue_path, "attachments", &arr, ps)) != 0 ||
	    arr == NULL || (n = json_array_size(arr)) == 0)
		return rc;
	path_key(path, clue_path, "attachments");
	if ((clue->attachments = calloc(n, sizeof(*clue->attachments))) == NULL)
		return fail_nomem(ps, path);
	for (size_t i = 0; i < n; i++) {
		Cluebus__Attachment *a;

		path_index(item, path, i);
		if ((a = malloc(sizeof(*a))) == NULL)
			return fail_nomem(ps, item);
		cluebus__attachment__init(a);
		clue->attachments[clue->n_attachments++] = a;
		if ((rc = go_on(attachment_parse(json_array_get(arr, i), item, a, ps))) != 0)
			return rc;
	}
	return 0;
}

static int
handling_parse(const json_t *clue_obj, const char *clue_path, Cluebus__Clue *clue,
    struct parse *ps)
{
	static const char *const fields[] = { "code", "text", NULL };
	const json_t	*v;
	char		 path[FIELD_MAX], text_path[FIELD_MAX];
	int		 rc, code = 0;

	if ((rc = read_object(clue_obj, clue_path, "handling", F_REQUIRED, &v, ps)) != 0)
		return rc;
	path_key(path, clue_path, "handling");
	if ((rc = go_on(object_check(v, path, fields, ps))) != 0 ||
	    (rc = go_on(read_enum(v, path, "code", F_REQUIRED, &handling_tab, &code, ps))) != 0 ||
	    (rc = go_on(read_string(v, path, "text", F_TEXT, &clue->handling_text, ps))) != 0)
		return rc;
	clue->handling = (Cluebus__HandlingCode)code;
	if (clue->handling == CLUEBUS__HANDLING_CODE__HANDLING_H3 &&
	    clue->handling_text[0] == '\0') {
		path_key(text_path, path, "text");
		return parse_fail(ps, text_path, CB_EMALFORMED,
		    "required when code is h3 (it states the restriction)");
	}
	return 0;
}

static int
evaluation_parse(const json_t *clue_obj, const char *clue_path, Cluebus__Clue *clue,
    struct parse *ps)
{
	static const char *const fields[] = { "source_reliability", "accuracy", NULL };
	const json_t	*v;
	char		 path[FIELD_MAX];
	json_int_t	 accuracy = 0;
	int		 rc, reliability = 0;

	if ((rc = read_object(clue_obj, clue_path, "evaluation", F_REQUIRED, &v, ps)) != 0)
		return rc;
	path_key(path, clue_path, "evaluation");
	if ((rc = go_on(object_check(v, path, fields, ps))) != 0 ||
	    (rc = go_on(read_enum(v, path, "source_reliability", F_REQUIRED, &reliability_tab,
	    &reliability,
	    ps))) != 0 ||
	    (rc = go_on(read_int(v, path, "accuracy", F_REQUIRED, 1, 4, &accuracy, ps))) != 0)
		return rc;
	clue->source_reliability = (Cluebus__SourceReliability)reliability;
	clue->info_accuracy = (uint32_t)accuracy;
	return 0;
}

/* The rules' divisions, when there are any, list `code`. */
static int
division_check(struct parse *ps, const char *path, const char *code)
{
	char	valid[sizeof(ps->err->reason) - 64];
	size_t	used = 0;

	if (ps->rules == NULL || ps->rules->n_divisions == 0)
		return 0;
	for (size_t i = 0; i < ps->rules->n_divisions; i++) {
		const char *d = ps->rules->divisions[i];

		if (strncmp(d, code, 6) == 0 && (d[6] == '\0' || d[6] == ' '))
			return 0;
	}
	valid[0] = '\0';
	for (size_t i = 0; i < ps->rules->n_divisions; i++) {
		text_put(valid, sizeof(valid), &used, i > 0 ? ", " : "");
		text_put(valid, sizeof(valid), &used, ps->rules->divisions[i]);
	}
	return parse_fail(ps, path, CB_EMALFORMED,
	    "'%s' is not a division of this deployment; valid: %s", code, valid);
}

/* With the rules' time checks: `ms` (0: absent) is not later than now plus the skew. */
static int
time_not_future(struct parse *ps, const char *path, int64_t ms)
{
	char when[40];

	if (ps->rules == NULL || !ps->rules->check_times || ms == 0 ||
	    ms <= ps->now_ms + ps->rules->skew_ms)
		return 0;
	clock_format_rfc3339(ps->now_ms, when, sizeof(when));
	return parse_fail(ps, path, CB_EMALFORMED, "in the future (it is now %s)", when);
}

/* With the rules' time checks: a due time `ms` (0: absent) has not passed. */
static int
time_not_past(struct parse *ps, const char *path, int64_t ms)
{
	char when[40];

	if (ps->rules == NULL || !ps->rules->check_times || ms == 0 || ms >= ps->now_ms)
		return 0;
	clock_format_rfc3339(ps->now_ms, when, sizeof(when));
	return parse_fail(ps, path, CB_EMALFORMED, "already past (it is now %s)", when);
}

static int
clue_parse(const json_t *v, const char *path, Cluebus__Message *msg, struct parse *ps)
{
	static const char *const fields[] = { "category", "jurisdiction", "occurred_at",
	    "location", "summary", "handling", "evaluation", "persons", "attachments",
	    "identifiers", NULL };
	Cluebus__Clue	*clue;
	char		 sub[FIELD_MAX];
	int		 rc, category = 0;

	if ((rc = go_on(object_check(v, path, fields, ps))) != 0)
		return rc;
	if ((clue = malloc(sizeof(*clue))) == NULL)
		return fail_nomem(ps, path);
	cluebus__clue__init(clue);
	msg->body_case = CLUEBUS__MESSAGE__BODY_CLUE;	/* msg owns the clue from here on */
	msg->clue = clue;

	if ((rc = go_on(read_enum(v, path, "category", F_REQUIRED, &category_tab, &category,
	    ps))) != 0 ||
	    (rc = go_on(read_string(v, path, "jurisdiction", F_REQUIRED, &clue->jurisdiction,
	    ps))) != 0)
		return rc;
	clue->category = (Cluebus__Category)category;
	path_key(sub, path, "jurisdiction");
	if (clue->jurisdiction[0] != '\0' && (strlen(clue->jurisdiction) != 6 ||
	    strspn(clue->jurisdiction, "0123456789") != 6))
		rc = parse_fail(ps, sub, CB_EMALFORMED,
		    "must be 6 ASCII digits (an administrative division code)");
	else if (clue->jurisdiction[0] != '\0')
		rc = division_check(ps, sub, clue->jurisdiction);
	if ((rc = go_on(rc)) != 0)
		return rc;
	path_key(sub, path, "occurred_at");
	if ((rc = go_on(read_time(v, path, "occurred_at", F_REQUIRED, &clue->occurred_ms,
	    ps))) != 0 ||
	    (rc = go_on(time_not_future(ps, sub, clue->occurred_ms))) != 0 ||
	    (rc = go_on(read_string(v, path, "location", F_OPTIONAL, &clue->location, ps))) != 0 ||
	    (rc = go_on(read_string(v, path, "summary", F_REQUIRED | F_TEXT, &clue->summary,
	    ps))) != 0 ||
	    (rc = go_on(handling_parse(v, path, clue, ps))) != 0 ||
	    (rc = go_on(evaluation_parse(v, path, clue, ps))) != 0 ||
	    (rc = go_on(persons_parse(v, path, &clue->persons, &clue->n_persons, ps))) != 0 ||
	    (rc = go_on(attachments_parse(v, path, clue, ps))) != 0 ||
	    (rc = go_on(identifiers_parse(v, path, clue, ps))) != 0)
		return rc;
	return 0;
}

/* ---- parsing the workflow kinds (SPEC §4: referral, receipt, feedback, supervision,
 * report) ----------------------------------------------------------------------------------- */

/* Reads an optional (or required: non-empty) array of unit ids into a new string array. */
static int
read_units(const json_t *obj, const char *parent, const char *key, int required,
    char ***units, size_t *n, struct parse *ps)
{
	const json_t	*arr;
	char		 path[FIELD_MAX], item[FIELD_MAX];
	size_t		 count;
	int		 rc;

	if ((rc = read_array(obj, parent, key, &arr, ps)) != 0)
		return rc;
	path_key(path, parent, key);
	if (arr == NULL || (count = json_array_size(arr)) == 0)
		return required ? parse_fail(ps, path, CB_EMALFORMED,
		    arr == NULL ? "required" : "must name at least one unit") : 0;
	if ((*units = calloc(count, sizeof(**units))) == NULL)
		return fail_nomem(ps, path);
	for (size_t i = 0; i < count; i++) {
		const json_t *v = json_array_get(arr, i);

		path_index(item, path, i);
		if (!json_is_string(v))
			return parse_fail(ps, item, CB_EMALFORMED, "expected string, got %s",
			    type_name(v));
		if (!unit_id_valid(json_string_value(v)))
			return parse_fail(ps, item, CB_EMALFORMED,
			    "not a unit id ([a-z0-9-]{1,32})");
		for (size_t j = 0; j < *n; j++)
			if (strcmp((*units)[j], json_string_value(v)) == 0)
				return parse_fail(ps, item, CB_EMALFORMED, "unit listed twice");
		if (((*units)[*n] = strdup(json_string_value(v))) == NULL)
			return fail_nomem(ps, item);
		(*n)++;
	}
	return 0;
}

/* A duration "N" followed by m (minutes), h (hours) or d (days), N from 1 to 99999, as
 * milliseconds; 0 when `s` is not one. */
static int64_t
duration_ms(const char *s)
{
	size_t	digits = strspn(s, "0123456789");
	int64_t	n = 0, unit;

	if (digits == 0 || digits > 5 || s[0] == '0' || s[digits] == '\0' ||
	    s[digits + 1] != '\0')
		return 0;
	switch (s[digits]) {
	case 'm':	unit = INT64_C(60000); break;
	case 'h':	unit = INT64_C(3600000); break;
	case 'd':	unit = INT64_C(86400000); break;
	default:	return 0;
	}
	for (size_t i = 0; i < digits; i++)
		n = n * 10 + (s[i] - '0');
	return n * unit;
}

/* Reads WHAT_due_at (an RFC 3339 time) or WHAT_due_in (a duration from the publishing
 * time, e.g. "8h", "7d"), not both, into *ms; with the rules' time checks it must not be
 * past. */
static int
read_due(const json_t *obj, const char *parent, const char *what, int64_t *ms,
    struct parse *ps)
{
	const json_t	*rel;
	char		 at_key[32], in_key[32], path[FIELD_MAX];
	int64_t		 d;
	int		 rc;

	snprintf(at_key, sizeof(at_key), "%s_due_at", what);
	snprintf(in_key, sizeof(in_key), "%s_due_in", what);
	if ((rc = lookup_string(obj, parent, in_key, F_OPTIONAL, &rel, ps)) != 0)
		return rc;
	if (rel == NULL) {
		path_key(path, parent, at_key);
		if ((rc = read_time(obj, parent, at_key, F_OPTIONAL, ms, ps)) != 0)
			return rc;
		return time_not_past(ps, path, *ms);
	}
	path_key(path, parent, in_key);
	if (json_object_get(obj, at_key) != NULL)
		return parse_fail(ps, path, CB_EMALFORMED, "give %s or %s, not both", at_key,
		    in_key);
	if ((d = duration_ms(json_string_value(rel))) == 0)
		return parse_fail(ps, path, CB_EMALFORMED,
		    "not a duration (a number and m, h or d, like \"8h\" or \"7d\")");
	if (ps->now_ms + d > TIME_MAX_MS)
		return parse_fail(ps, path, CB_EMALFORMED, "ends after the year 9999");
	*ms = ps->now_ms + d;
	return 0;
}

/* Both due times, when present, must be ordered: the receipt is due no later than the
 * feedback. */
static int
check_due_order(const char *path, int64_t receipt_due, int64_t feedback_due, struct parse *ps)
{
	char sub[FIELD_MAX];

	if (receipt_due == 0 || feedback_due == 0 || receipt_due <= feedback_due)
		return 0;
	path_key(sub, path, "feedback_due_at");
	return parse_fail(ps, sub, CB_EMALFORMED, "earlier than receipt_due_at");
}

/* Workflow messages answer or act on an earlier one: `refers_to` names it. */
static int
need_refers_to(const Cluebus__Message *msg, const char *what, struct parse *ps)
{
	if (msg->refers_to.len == MESSAGE_ID_LEN)
		return 0;
	return parse_fail(ps, "refers_to", CB_EMALFORMED, "required: the id of the %s", what);
}

/* A referral's follow-up duties (seed Art 26): "follow_up_every" (a duration, e.g. "30d"),
 * "follow_up_until" (required with it: when they end) and "follow_up_from" (optional: when
 * the first period starts, e.g. the school entry date; default the referral's time). At
 * most INTAKE_FOLLOW_UPS_MAX periods. */
static int
follow_up_parse(const json_t *v, const char *path, Cluebus__Referral *r, struct parse *ps)
{
	const json_t	*every;
	char		 sub[FIELD_MAX];
	int64_t		 from;
	int		 rc;

	if ((rc = lookup_string(v, path, "follow_up_every", F_OPTIONAL, &every, ps)) != 0 ||
	    (rc = read_time(v, path, "follow_up_from", F_OPTIONAL, &r->follow_up_from_ms,
	    ps)) != 0 ||
	    (rc = read_time(v, path, "follow_up_until", F_OPTIONAL, &r->follow_up_until_ms,
	    ps)) != 0)
		return rc;
	path_key(sub, path, every != NULL ? "follow_up_until" : "follow_up_every");
	if (every == NULL)
		return r->follow_up_until_ms != 0 || r->follow_up_from_ms != 0 ?
		    parse_fail(ps, sub, CB_EMALFORMED, "required with follow_up_until or "
		    "follow_up_from") : 0;
	if (r->follow_up_until_ms == 0)
		return parse_fail(ps, sub, CB_EMALFORMED, "required with follow_up_every");
	path_key(sub, path, "follow_up_every");
	if ((r->follow_up_every_ms = duration_ms(json_string_value(every))) == 0)
		return parse_fail(ps, sub, CB_EMALFORMED,
		    "not a duration (a number and m, h or d, like \"30d\")");
	from = r->follow_up_from_ms != 0 ? r->follow_up_from_ms : ps->now_ms;
	path_key(sub, path, "follow_up_until");
	if (r->follow_up_until_ms < from + r->follow_up_every_ms)
		return parse_fail(ps, sub, CB_EMALFORMED,
		    "leaves no whole period after follow_up_from");
	if ((r->follow_up_until_ms - from) / r->follow_up_every_ms > INTAKE_FOLLOW_UPS_MAX)
		return parse_fail(ps, sub, CB_EMALFORMED, "more than %d follow-up periods",
		    INTAKE_FOLLOW_UPS_MAX);
	return 0;
}

static int
referral_parse(const json_t *v, const char *path, Cluebus__Message *msg, struct parse *ps)
{
	static const char *const fields[] = { "to_units", "action", "receipt_due_at",
	    "receipt_due_in", "feedback_due_at", "feedback_due_in", "note", "summary", "persons",
	    "follow_up_every", "follow_up_from", "follow_up_until", NULL };
	Cluebus__Referral	*r;
	int			 rc, action = 0;

	if ((rc = go_on(object_check(v, path, fields, ps))) != 0)
		return rc;
	if ((r = malloc(sizeof(*r))) == NULL)
		return fail_nomem(ps, path);
	cluebus__referral__init(r);
	msg->body_case = CLUEBUS__MESSAGE__BODY_REFERRAL;
	msg->referral = r;
	if ((rc = go_on(read_units(v, path, "to_units", F_REQUIRED, &r->to_units, &r->n_to_units,
	    ps))) != 0 ||
	    (rc = go_on(read_enum(v, path, "action", F_REQUIRED, &action_tab, &action, ps))) != 0 ||
	    (rc = go_on(read_due(v, path, "receipt", &r->receipt_due_ms, ps))) != 0 ||
	    (rc = go_on(read_due(v, path, "feedback", &r->feedback_due_ms, ps))) != 0 ||
	    (rc = go_on(read_string(v, path, "note", F_TEXT, &r->note, ps))) != 0 ||
	    (rc = go_on(read_string(v, path, "summary", F_TEXT, &r->summary, ps))) != 0 ||
	    (rc = go_on(persons_parse(v, path, &r->persons, &r->n_persons, ps))) != 0 ||
	    (rc = go_on(check_due_order(path, r->receipt_due_ms, r->feedback_due_ms, ps))) != 0 ||
	    (rc = go_on(follow_up_parse(v, path, r, ps))) != 0)
		return rc;
	r->action = (Cluebus__Action)action;
	if (msg->refers_to.len == 0 && msg->case_ref[0] == '\0')
		return parse_fail(ps, "refers_to", CB_EMALFORMED,
		    "a referral needs refers_to (the clue) or a case_ref");
	return 0;
}

static int
receipt_parse(const json_t *v, const char *path, Cluebus__Message *msg, struct parse *ps)
{
	static const char *const fields[] = { "note", NULL };
	Cluebus__Receipt	*r;
	int			 rc;

	if ((rc = go_on(object_check(v, path, fields, ps))) != 0)
		return rc;
	if ((r = malloc(sizeof(*r))) == NULL)
		return fail_nomem(ps, path);
	cluebus__receipt__init(r);
	msg->body_case = CLUEBUS__MESSAGE__BODY_RECEIPT;
	msg->receipt = r;
	if ((rc = go_on(read_string(v, path, "note", F_TEXT, &r->note, ps))) != 0)
		return rc;
	return need_refers_to(msg, "referral being received", ps);
}

static int
feedback_parse(const json_t *v, const char *path, Cluebus__Message *msg, struct parse *ps)
{
	static const char *const fields[] = { "status", "note", "transferred_to", "action",
	    "reason", NULL };
	Cluebus__Feedback	*f;
	char			 sub[FIELD_MAX];
	int			 rc, status = 0, action = 0;

	if ((rc = go_on(object_check(v, path, fields, ps))) != 0)
		return rc;
	if ((f = malloc(sizeof(*f))) == NULL)
		return fail_nomem(ps, path);
	cluebus__feedback__init(f);
	msg->body_case = CLUEBUS__MESSAGE__BODY_FEEDBACK;
	msg->feedback = f;
	if ((rc = go_on(read_enum(v, path, "status", F_REQUIRED, &feedback_tab, &status,
	    ps))) != 0 ||
	    (rc = go_on(read_string(v, path, "note", F_TEXT, &f->note, ps))) != 0 ||
	    (rc = go_on(read_units(v, path, "transferred_to", F_OPTIONAL, &f->transferred_to,
	    &f->n_transferred_to, ps))) != 0 ||
	    (rc = go_on(read_enum(v, path, "action", F_OPTIONAL, &action_tab, &action, ps))) != 0 ||
	    (rc = go_on(read_string(v, path, "reason", F_TEXT, &f->reason, ps))) != 0)
		return rc;
	f->status = (Cluebus__FeedbackStatus)status;
	f->action = (Cluebus__Action)action;
	path_key(sub, path, action != 0 ? "action" : "reason");
	if (f->status != CLUEBUS__FEEDBACK_STATUS__FEEDBACK_TRANSFERRED &&
	    (action != 0 || f->reason[0] != '\0'))
		return parse_fail(ps, sub, CB_EMALFORMED,
		    "only allowed when status is transferred");
	path_key(sub, path, "transferred_to");
	if (f->status == CLUEBUS__FEEDBACK_STATUS__FEEDBACK_TRANSFERRED && f->n_transferred_to == 0)
		return parse_fail(ps, sub, CB_EMALFORMED, "required when status is transferred");
	if (f->status != CLUEBUS__FEEDBACK_STATUS__FEEDBACK_TRANSFERRED && f->n_transferred_to > 0)
		return parse_fail(ps, sub, CB_EMALFORMED,
		    "only allowed when status is transferred");
	return need_refers_to(msg, "referral this feedback is about", ps);
}

static int
supervision_parse(const json_t *v, const char *path, Cluebus__Message *msg, struct parse *ps)
{
	static const char *const fields[] = { "level", "units", "receipt_due_at",
	    "receipt_due_in", "feedback_due_at", "feedback_due_in", "note", NULL };
	Cluebus__Supervision	*s;
	int			 rc, level = 0;

	if ((rc = go_on(object_check(v, path, fields, ps))) != 0)
		return rc;
	if ((s = malloc(sizeof(*s))) == NULL)
		return fail_nomem(ps, path);
	cluebus__supervision__init(s);
	msg->body_case = CLUEBUS__MESSAGE__BODY_SUPERVISION;
	msg->supervision = s;
	if ((rc = go_on(read_enum(v, path, "level", F_REQUIRED, &supervision_tab, &level,
	    ps))) != 0 ||
	    (rc = go_on(read_units(v, path, "units", F_OPTIONAL, &s->units, &s->n_units,
	    ps))) != 0 ||
	    (rc = go_on(read_due(v, path, "receipt", &s->receipt_due_ms, ps))) != 0 ||
	    (rc = go_on(read_due(v, path, "feedback", &s->feedback_due_ms, ps))) != 0 ||
	    (rc = go_on(read_string(v, path, "note", F_TEXT, &s->note, ps))) != 0 ||
	    (rc = go_on(check_due_order(path, s->receipt_due_ms, s->feedback_due_ms, ps))) != 0)
		return rc;
	s->level = (Cluebus__SupervisionLevel)level;
	if (msg->case_ref[0] != '\0' || s->n_units > 0)
		return 0;	/* a case, or units, under supervision */
	return need_refers_to(msg, "referral put under supervision (or give a case_ref or "
	    "supervision.units)", ps);
}

/* A warning notice names the district it warns ("district": a division code; it goes to
 * that district's office); a follow-up report names its referral (refers_to). */
static int
report_check_scope(const json_t *v, const char *path, Cluebus__Message *msg,
    struct parse *ps)
{
	Cluebus__Report	*r = msg->report;
	char		 sub[FIELD_MAX];
	int		 rc;

	if ((rc = read_string(v, path, "district", 0, &r->district, ps)) != 0)
		return rc;
	path_key(sub, path, "district");
	if (r->district[0] != '\0') {
		if (strlen(r->district) != 6 || strspn(r->district, "0123456789") != 6)
			return parse_fail(ps, sub, CB_EMALFORMED,
			    "not an administrative division code (6 digits)");
		if (r->type != CLUEBUS__REPORT_TYPE__REPORT_WARNING_NOTICE)
			return parse_fail(ps, sub, CB_EMALFORMED,
			    "only allowed for a warning_notice");
		if ((rc = division_check(ps, sub, r->district)) != 0)
			return rc;
	}
	if (r->type == CLUEBUS__REPORT_TYPE__REPORT_FOLLOW_UP)
		return need_refers_to(msg, "referral this follow-up reports on", ps);
	return 0;
}

static int
report_parse(const json_t *v, const char *path, Cluebus__Message *msg, struct parse *ps)
{
	static const char *const fields[] = { "type", "period_from", "period_to", "title",
	    "text", "to_units", "district", NULL };
	Cluebus__Report	*r;
	char		 sub[FIELD_MAX];
	int		 rc, type = 0;

	if ((rc = go_on(object_check(v, path, fields, ps))) != 0)
		return rc;
	if ((r = malloc(sizeof(*r))) == NULL)
		return fail_nomem(ps, path);
	cluebus__report__init(r);
	msg->body_case = CLUEBUS__MESSAGE__BODY_REPORT;
	msg->report = r;
	if ((rc = go_on(read_enum(v, path, "type", F_REQUIRED, &report_tab, &type, ps))) != 0 ||
	    (rc = go_on(read_time(v, path, "period_from", F_OPTIONAL, &r->period_from_ms, ps))) ||
	    (rc = go_on(read_time(v, path, "period_to", F_OPTIONAL, &r->period_to_ms, ps))) ||
	    (rc = go_on(read_string(v, path, "title", F_REQUIRED, &r->title, ps))) != 0 ||
	    (rc = go_on(read_string(v, path, "text", F_REQUIRED | F_TEXT, &r->text, ps))) != 0 ||
	    (rc = go_on(read_units(v, path, "to_units", F_OPTIONAL, &r->to_units, &r->n_to_units,
	    ps))) != 0)
		return rc;
	r->type = (Cluebus__ReportType)type;
	if ((rc = go_on(report_check_scope(v, path, msg, ps))) != 0)
		return rc;
	path_key(sub, path, "period_to");
	if (r->period_from_ms != 0 && r->period_to_ms != 0 && r->period_to_ms < r->period_from_ms)
		return parse_fail(ps, sub, CB_EMALFORMED, "earlier than period_from");
	return 0;
}

/* A case (Art 18): open with a jurisdiction and the task force, add or remove members, close
 * with a reason. case_ref names the case. */
static int
case_parse(const json_t *v, const char *path, Cluebus__Message *msg, struct parse *ps)
{
	static const char *const fields[] = { "op", "jurisdiction", "members", "title",
	    "reason", NULL };
	Cluebus__CaseAction	*c;
	char			 sub[FIELD_MAX];
	int			 rc, op = 0;

	if ((rc = go_on(object_check(v, path, fields, ps))) != 0)
		return rc;
	if ((c = malloc(sizeof(*c))) == NULL)
		return fail_nomem(ps, path);
	cluebus__case_action__init(c);
	msg->body_case = CLUEBUS__MESSAGE__BODY_CASE_ACTION;
	msg->case_action = c;
	if ((rc = go_on(read_enum(v, path, "op", F_REQUIRED, &case_op_tab, &op, ps))) != 0 ||
	    (rc = go_on(read_string(v, path, "jurisdiction", F_OPTIONAL, &c->jurisdiction,
	    ps))) != 0 ||
	    (rc = go_on(read_units(v, path, "members", F_OPTIONAL, &c->members, &c->n_members,
	    ps))) != 0 ||
	    (rc = go_on(read_string(v, path, "title", F_OPTIONAL, &c->title, ps))) != 0 ||
	    (rc = go_on(read_string(v, path, "reason", F_TEXT, &c->reason, ps))) != 0)
		return rc;
	c->op = (Cluebus__CaseOp)op;
	if (msg->case_ref[0] == '\0' &&
	    (rc = go_on(parse_fail(ps, "case_ref", CB_EMALFORMED,
	    "required: the case's reference"))) != 0)
		return rc;
	path_key(sub, path, "jurisdiction");
	if (c->op == CLUEBUS__CASE_OP__CASE_OPEN) {
		if (c->jurisdiction[0] == '\0')
			return parse_fail(ps, sub, CB_EMALFORMED, "required when opening a case");
		if (strlen(c->jurisdiction) != 6 || strspn(c->jurisdiction, "0123456789") != 6)
			return parse_fail(ps, sub, CB_EMALFORMED,
			    "must be 6 ASCII digits (an administrative division code)");
		return division_check(ps, sub, c->jurisdiction);
	}
	if (c->jurisdiction[0] != '\0')
		return parse_fail(ps, sub, CB_EMALFORMED, "only when opening a case");
	path_key(sub, path, "members");
	if ((c->op == CLUEBUS__CASE_OP__CASE_ADD_MEMBERS ||
	    c->op == CLUEBUS__CASE_OP__CASE_REMOVE_MEMBERS) && c->n_members == 0)
		return parse_fail(ps, sub, CB_EMALFORMED, "required: the members to %s",
		    c->op == CLUEBUS__CASE_OP__CASE_ADD_MEMBERS ? "add" : "remove");
	if (c->op == CLUEBUS__CASE_OP__CASE_CLOSE && c->n_members > 0)
		return parse_fail(ps, sub, CB_EMALFORMED, "not when closing a case");
	path_key(sub, path, "reason");
	if (c->op == CLUEBUS__CASE_OP__CASE_CLOSE && c->reason[0] == '\0')
		return parse_fail(ps, sub, CB_EMALFORMED,
		    "required when closing a case (案件不破、专班不撤)");
	return 0;
}

/* A correction or withdrawal of the sender's own message named by refers_to; a correction
 * of a clue may carry the whole corrected clue. */
static int
correction_parse(const json_t *v, const char *path, Cluebus__Message *msg, struct parse *ps)
{
	static const char *const fields[] = { "op", "reason", "clue", "note", NULL };
	Cluebus__Message	 tmp = CLUEBUS__MESSAGE__INIT;
	Cluebus__Correction	*c;
	const json_t		*clue;
	char			 sub[FIELD_MAX];
	int			 rc, op = 0;

	if ((rc = go_on(object_check(v, path, fields, ps))) != 0)
		return rc;
	if ((c = malloc(sizeof(*c))) == NULL)
		return fail_nomem(ps, path);
	cluebus__correction__init(c);
	msg->body_case = CLUEBUS__MESSAGE__BODY_CORRECTION;
	msg->correction = c;
	if ((rc = go_on(read_enum(v, path, "op", F_REQUIRED, &correction_op_tab, &op,
	    ps))) != 0 ||
	    (rc = go_on(read_string(v, path, "reason", F_REQUIRED | F_TEXT, &c->reason,
	    ps))) != 0 ||
	    (rc = go_on(read_string(v, path, "note", F_TEXT, &c->note, ps))) != 0 ||
	    (rc = read_object(v, path, "clue", F_OPTIONAL, &clue, ps)) != 0)
		return go_on(rc);
	c->op = (Cluebus__CorrectionOp)op;
	path_key(sub, path, "clue");
	if (clue != NULL) {
		if (c->op != CLUEBUS__CORRECTION_OP__CORRECTION_CORRECT)
			return parse_fail(ps, sub, CB_EMALFORMED, "only when op is correct");
		rc = clue_parse(clue, sub, &tmp, ps);
		c->clue = tmp.clue;	/* the correction owns it, parsed or not */
		if ((rc = go_on(rc)) != 0)
			return rc;
	}
	return need_refers_to(msg, "message corrected or withdrawn", ps);
}

/* The originator of an H2 clue (refers_to) lets it be referred to `units` (SPEC §10). */
static int
permission_parse(const json_t *v, const char *path, Cluebus__Message *msg, struct parse *ps)
{
	static const char *const fields[] = { "units", NULL };
	Cluebus__Permission	*p;
	int			 rc;

	if ((rc = go_on(object_check(v, path, fields, ps))) != 0)
		return rc;
	if ((p = malloc(sizeof(*p))) == NULL)
		return fail_nomem(ps, path);
	cluebus__permission__init(p);
	msg->body_case = CLUEBUS__MESSAGE__BODY_PERMISSION;
	msg->permission = p;
	if ((rc = go_on(read_units(v, path, "units", F_REQUIRED, &p->units, &p->n_units,
	    ps))) != 0)
		return rc;
	return need_refers_to(msg, "H2 clue the permission is for", ps);
}

/* The office's city correlation key (docs/correlation.md §6): the document names the
 * version and when units switch to it; the key itself comes from the sending agent's own
 * key files, never from the document, and is sealed by the agent. */
static int
correlation_key_parse(const json_t *v, const char *path, Cluebus__Message *msg,
    struct parse *ps)
{
	static const char *const fields[] = { "version", "effective_at", "to_units", NULL };
	Cluebus__CorrelationKey	*k;
	json_int_t		 version = 0;
	char			 sub[FIELD_MAX];
	int			 rc;

	if ((rc = go_on(object_check(v, path, fields, ps))) != 0)
		return rc;
	if ((k = malloc(sizeof(*k))) == NULL)
		return fail_nomem(ps, path);
	cluebus__correlation_key__init(k);
	msg->body_case = CLUEBUS__MESSAGE__BODY_CORRELATION_KEY;
	msg->correlation_key = k;
	if ((rc = go_on(read_int(v, path, "version", F_REQUIRED, 1, UINT32_MAX, &version,
	    ps))) != 0 ||
	    (rc = go_on(read_time(v, path, "effective_at", F_OPTIONAL, &k->effective_ms,
	    ps))) != 0 ||
	    (rc = go_on(read_units(v, path, "to_units", F_OPTIONAL, &k->to_units,
	    &k->n_to_units, ps))) != 0)
		return rc;
	k->version = (uint32_t)version;
	path_key(sub, path, "to_units");
	if (k->n_to_units > SEAL_MAX_RECIPIENTS)
		return parse_fail(ps, sub, CB_EMALFORMED, "more than %d units",
		    SEAL_MAX_RECIPIENTS);
	if (msg->case_ref[0] != '\0' || msg->refers_to.len != 0)
		return parse_fail(ps, msg->case_ref[0] != '\0' ? "case_ref" : "refers_to",
		    CB_EMALFORMED, "not allowed on a correlation_key");
	return 0;
}

/* ---- rendering --------------------------------------------------------------------------- */

/* Each put_* adds one member to `obj` and returns 0, or -1 when out of memory. A value
 * that could not be added is released. The *_opt forms add nothing for an empty value. */

static int
put(json_t *obj, const char *key, json_t *value)
{
	return json_object_set_new(obj, key, value);
}

/* A JSON string for `s`; a string that is not valid UTF-8 keeps only its ASCII bytes. */
static json_t *
string_new(const char *s)
{
	json_t	*v;
	char	*ascii;

	if (s == NULL)
		s = "";
	/* json_string() fails for bad UTF-8 (before allocating) or when out of memory: only
	 * the first may be rendered as ASCII, or a valid text would come out as "???". */
	errno = 0;
	if ((v = json_string(s)) != NULL || errno == ENOMEM)
		return v;
	if ((ascii = strdup(s)) == NULL)
		return NULL;
	for (char *p = ascii; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	v = json_string(ascii);
	free(ascii);
	return v;
}

static int
put_str(json_t *obj, const char *key, const char *s)
{
	return put(obj, key, string_new(s));
}

static int
put_str_opt(json_t *obj, const char *key, const char *s)
{
	if (s == NULL || s[0] == '\0')
		return 0;
	return put_str(obj, key, s);
}

static json_t *
hex_new(const ProtobufCBinaryData *b)
{
	json_t	*v;
	char	*hex;

	if ((hex = malloc(2 * b->len + 1)) == NULL)
		return NULL;
	hex_encode(b->data, b->len, hex);
	v = json_string(hex);
	free(hex);
	return v;
}

static int
put_hex(json_t *obj, const char *key, const ProtobufCBinaryData *b)
{
	return put(obj, key, hex_new(b));
}

static int
put_hex_opt(json_t *obj, const char *key, const ProtobufCBinaryData *b)
{
	if (b->len == 0)
		return 0;
	return put_hex(obj, key, b);
}

static int
put_time(json_t *obj, const char *key, int64_t ms)
{
	char	buf[40];

	if (ms < 0 || ms > TIME_MAX_MS)
		return put(obj, key, json_integer((json_int_t)ms));
	clock_format_rfc3339(ms, buf, sizeof(buf));
	return put(obj, key, json_string(buf));
}

static int
put_time_opt(json_t *obj, const char *key, int64_t ms)
{
	if (ms == 0)
		return 0;
	return put_time(obj, key, ms);
}

static int
put_enum(json_t *obj, const char *key, const struct names *t, int value)
{
	if (value < 0 || (size_t)value >= t->count || t->name[value] == NULL)
		return put(obj, key, json_integer(value));
	return put(obj, key, json_string(t->name[value]));
}

static int
put_enum_opt(json_t *obj, const char *key, const struct names *t, int value)
{
	if (value == 0)
		return 0;
	return put_enum(obj, key, t, value);
}

/* A duration as intake reads it: whole days ("30d"), hours or minutes. */
static int
put_duration_opt(json_t *obj, const char *key, int64_t ms)
{
	char	buf[32];

	if (ms == 0)
		return 0;
	if (ms % INT64_C(86400000) == 0)
		snprintf(buf, sizeof(buf), "%lldd", (long long)(ms / INT64_C(86400000)));
	else if (ms % INT64_C(3600000) == 0)
		snprintf(buf, sizeof(buf), "%lldh", (long long)(ms / INT64_C(3600000)));
	else
		snprintf(buf, sizeof(buf), "%lldm", (long long)(ms / INT64_C(60000)));
	return put(obj, key, json_string(buf));
}

static int
put_uint(json_t *obj, const char *key, uint64_t value)
{
	char	buf[24];

	if (value <= (uint64_t)JSON_INT_MAX)
		return put(obj, key, json_integer((json_int_t)value));
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)value);
	return put(obj, key, json_string(buf));
}

static int
put_strings_opt(json_t *obj, const char *key, char *const *s, size_t n)
{
	json_t	*arr;
	int	 rc = 0;

	if (n == 0)
		return 0;
	if ((arr = json_array()) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		rc |= json_array_append_new(arr, string_new(s[i]));
	if (rc != 0) {
		json_decref(arr);
		return -1;
	}
	return put(obj, key, arr);
}

static int
put_hexes_opt(json_t *obj, const char *key, const ProtobufCBinaryData *b, size_t n)
{
	json_t	*arr;
	int	 rc = 0;

	if (n == 0)
		return 0;
	if ((arr = json_array()) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		rc |= json_array_append_new(arr, hex_new(&b[i]));
	if (rc != 0) {
		json_decref(arr);
		return -1;
	}
	return put(obj, key, arr);
}

/* Returns `obj`, or NULL (releasing it) when one of its members failed. */
static json_t *
done(json_t *obj, int rc)
{
	if (rc != 0) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

static json_t *
sealed_render(const Cluebus__Sealed *s)
{
	json_t	*o, *keys;
	int	 rc = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	if ((keys = json_array()) == NULL)
		return done(o, -1);
	for (size_t i = 0; i < s->n_keys; i++) {
		const Cluebus__SealedKey *k = s->keys[i];
		json_t *ko;

		if (k == NULL)
			continue;
		if ((ko = json_object()) == NULL) {
			rc = -1;
			break;
		}
		rc |= put_str(ko, "unit", k->unit);
		rc |= put_hex(ko, "key_id", &k->key_id);
		rc |= put_hex(ko, "ephemeral_public", &k->ephemeral_public);
		rc |= put_hex(ko, "wrapped_key", &k->wrapped_key);
		rc |= json_array_append_new(keys, done(ko, rc));
	}
	rc |= put(o, "keys", keys);
	rc |= put_hex(o, "nonce", &s->nonce);
	rc |= put_hex(o, "ciphertext", &s->ciphertext);
	return done(o, rc);
}

static int
put_sealed_opt(json_t *obj, const char *key, const Cluebus__Sealed *s)
{
	if (s == NULL)
		return 0;
	return put(obj, key, sealed_render(s));
}

/* What anyone may see of a body's sealed content: the suite and the recipients with the
 * ids of the keys it was sealed to; never the ciphertext's meaning. */
static json_t *
sealed_facts_render(const Cluebus__Sealed *s)
{
	json_t	*o, *keys;
	int	 rc = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	if ((keys = json_array()) == NULL)
		return done(o, -1);
	rc |= put(o, "suite", json_string(seal_suite_name(s->suite)));
	for (size_t i = 0; i < s->n_keys; i++) {
		json_t *ko;

		if (s->keys[i] == NULL || (ko = json_object()) == NULL) {
			rc = -1;
			break;
		}
		rc |= put_str(ko, "unit", s->keys[i]->unit);
		rc |= put_hex(ko, "key_id", &s->keys[i]->key_id);
		rc |= json_array_append_new(keys, done(ko, rc));
	}
	rc |= put(o, "recipients", keys);
	return done(o, rc);
}

static int
put_sealed_facts_opt(json_t *obj, const Cluebus__Sealed *s)
{
	if (s == NULL)
		return 0;
	return put(obj, "sealed", sealed_facts_render(s));
}

static json_t *
person_render(const Cluebus__Person *p)
{
	json_t	*o;
	int	 rc = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	rc |= put_enum(o, "role", &role_tab, p->role);
	rc |= put_str_opt(o, "name", p->name);
	rc |= put_str_opt(o, "id_number", p->id_number);
	if (p->age != 0)
		rc |= put_uint(o, "age", p->age);
	rc |= put_enum_opt(o, "gender", &gender_tab, p->gender);
	rc |= put_str_opt(o, "description", p->description);
	return done(o, rc);
}

static json_t *
attachment_render(const Cluebus__Attachment *a)
{
	json_t	*o;
	int	 rc = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	rc |= put_str(o, "name", a->name);
	rc |= put_hex(o, "sha256", &a->sha256);
	rc |= put_uint(o, "size", a->size);
	rc |= put_str_opt(o, "media_type", a->media_type);
	return done(o, rc);
}

/* The blind tokens of a clue: [{"type", "key_version", "token"}]. */
static int
put_match_tokens_opt(json_t *obj, const Cluebus__Clue *c)
{
	json_t	*arr;
	int	 rc = 0;

	if (c->n_match_tokens == 0)
		return 0;
	if ((arr = json_array()) == NULL)
		return -1;
	for (size_t i = 0; i < c->n_match_tokens; i++) {
		const Cluebus__MatchToken *t = c->match_tokens[i];
		json_t *o = json_object();

		if (o == NULL || json_array_append_new(arr, o) != 0) {
			rc = -1;
			break;
		}
		rc |= put_str(o, "type", identifier_type_name(t->type));
		rc |= put_uint(o, "key_version", t->key_version);
		rc |= put_hex(o, "token", &t->token);
	}
	return rc | put(obj, "match_tokens", arr);
}

/* Identifiers in clear: only in a document before the agent tokenised it. */
static int
put_identifiers_opt(json_t *obj, const Cluebus__Clue *c)
{
	json_t	*arr;
	int	 rc = 0;

	if (c->n_match_identifiers == 0)
		return 0;
	if ((arr = json_array()) == NULL)
		return -1;
	for (size_t i = 0; i < c->n_match_identifiers; i++) {
		json_t *o = json_object();

		if (o == NULL || json_array_append_new(arr, o) != 0) {
			rc = -1;
			break;
		}
		rc |= put_str(o, "type", identifier_type_name(c->match_identifiers[i]->type));
		rc |= put_str(o, "value", c->match_identifiers[i]->value);
	}
	return rc | put(obj, "identifiers", arr);
}

static json_t *
clue_render(const Cluebus__Message *msg)
{
	const Cluebus__Clue	*c = msg->clue;
	json_t			*o, *handling, *evaluation, *arr;
	int			 rc = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	rc |= put_enum(o, "category", &category_tab, c->category);
	rc |= put_str(o, "jurisdiction", c->jurisdiction);
	rc |= put_time(o, "occurred_at", c->occurred_ms);
	rc |= put_str_opt(o, "location", c->location);
	if (c->sealed == NULL)
		rc |= put_str(o, "summary", c->summary);
	if ((handling = json_object()) != NULL) {
		rc |= put_enum(handling, "code", &handling_tab, c->handling);
		rc |= put_str_opt(handling, "text", c->handling_text);
	}
	rc |= put(o, "handling", handling);
	if ((evaluation = json_object()) != NULL) {
		rc |= put_enum(evaluation, "source_reliability", &reliability_tab,
		    c->source_reliability);
		rc |= put_uint(evaluation, "accuracy", c->info_accuracy);
	}
	rc |= put(o, "evaluation", evaluation);
	if (c->n_persons > 0) {
		if ((arr = json_array()) != NULL)
			for (size_t i = 0; i < c->n_persons; i++)
				if (c->persons[i] != NULL)
					rc |= json_array_append_new(arr,
					    person_render(c->persons[i]));
		rc |= put(o, "persons", arr);
	}
	if (c->n_attachments > 0) {
		if ((arr = json_array()) != NULL)
			for (size_t i = 0; i < c->n_attachments; i++)
				if (c->attachments[i] != NULL)
					rc |= json_array_append_new(arr,
					    attachment_render(c->attachments[i]));
		rc |= put(o, "attachments", arr);
	}
	rc |= put_sealed_opt(o, "sealed_persons", c->sealed_persons);
	rc |= put_sealed_facts_opt(o, c->sealed);
	rc |= put_hexes_opt(o, "blind_tokens", c->blind_tokens, c->n_blind_tokens);
	rc |= put_match_tokens_opt(o, c);
	rc |= put_identifiers_opt(o, c);
	return done(o, rc);
}

static json_t *
referral_render(const Cluebus__Message *msg)
{
	const Cluebus__Referral	*r = msg->referral;
	json_t			*o;
	int			 rc = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	rc |= put_strings_opt(o, "to_units", r->to_units, r->n_to_units);
	rc |= put_enum(o, "action", &action_tab, r->action);
	rc |= put_time_opt(o, "receipt_due_at", r->receipt_due_ms);
	rc |= put_time_opt(o, "feedback_due_at", r->feedback_due_ms);
	rc |= put_str_opt(o, "note", r->note);
	rc |= put_str_opt(o, "summary", r->summary);
	if (r->n_persons > 0) {
		json_t *arr = json_array();

		if (arr != NULL)
			for (size_t i = 0; i < r->n_persons; i++)
				if (r->persons[i] != NULL)
					rc |= json_array_append_new(arr,
					    person_render(r->persons[i]));
		rc |= put(o, "persons", arr);
	}
	rc |= put_sealed_opt(o, "sealed_persons", r->sealed_persons);
	rc |= put_duration_opt(o, "follow_up_every", r->follow_up_every_ms);
	rc |= put_time_opt(o, "follow_up_from", r->follow_up_from_ms);
	rc |= put_time_opt(o, "follow_up_until", r->follow_up_until_ms);
	rc |= put_sealed_facts_opt(o, r->sealed);
	return done(o, rc);
}

static json_t *
receipt_render(const Cluebus__Message *msg)
{
	json_t	*o;

	if ((o = json_object()) == NULL)
		return NULL;
	return done(o, put_str_opt(o, "note", msg->receipt->note) |
	    put_sealed_facts_opt(o, msg->receipt->sealed));
}

static json_t *
feedback_render(const Cluebus__Message *msg)
{
	const Cluebus__Feedback	*f = msg->feedback;
	json_t			*o;
	int			 rc = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	rc |= put_enum(o, "status", &feedback_tab, f->status);
	rc |= put_str_opt(o, "note", f->note);
	rc |= put_strings_opt(o, "transferred_to", f->transferred_to, f->n_transferred_to);
	rc |= put_enum_opt(o, "action", &action_tab, f->action);
	rc |= put_str_opt(o, "reason", f->reason);
	rc |= put_sealed_facts_opt(o, f->sealed);
	return done(o, rc);
}

static json_t *
supervision_render(const Cluebus__Message *msg)
{
	const Cluebus__Supervision	*s = msg->supervision;
	json_t				*o;
	int				 rc = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	rc |= put_enum(o, "level", &supervision_tab, s->level);
	rc |= put_strings_opt(o, "units", s->units, s->n_units);
	rc |= put_time_opt(o, "receipt_due_at", s->receipt_due_ms);
	rc |= put_time_opt(o, "feedback_due_at", s->feedback_due_ms);
	rc |= put_str_opt(o, "note", s->note);
	rc |= put_sealed_facts_opt(o, s->sealed);
	return done(o, rc);
}

static json_t *
report_render(const Cluebus__Message *msg)
{
	const Cluebus__Report	*r = msg->report;
	json_t			*o;
	int			 rc = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	rc |= put_enum(o, "type", &report_tab, r->type);
	rc |= put_time_opt(o, "period_from", r->period_from_ms);
	rc |= put_time_opt(o, "period_to", r->period_to_ms);
	rc |= put_str_opt(o, "title", r->title);
	rc |= put_str_opt(o, "text", r->text);
	rc |= put_strings_opt(o, "to_units", r->to_units, r->n_to_units);
	rc |= put_str_opt(o, "district", r->district);
	rc |= put_sealed_facts_opt(o, r->sealed);
	return done(o, rc);
}

static json_t *
permission_render(const Cluebus__Message *msg)
{
	json_t	*o;

	if ((o = json_object()) == NULL)
		return NULL;
	return done(o, put_strings_opt(o, "units", msg->permission->units,
	    msg->permission->n_units));
}

/* The key's seal shows its facts only: the key stays with the receiving agent. */
static json_t *
correlation_key_render(const Cluebus__Message *msg)
{
	const Cluebus__CorrelationKey	*k = msg->correlation_key;
	json_t				*o;
	int				 rc = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	rc |= put_uint(o, "version", k->version);
	rc |= put_time_opt(o, "effective_at", k->effective_ms);
	rc |= put_strings_opt(o, "to_units", k->to_units, k->n_to_units);
	rc |= put_sealed_facts_opt(o, k->sealed_key);
	return done(o, rc);
}

static json_t *
escalation_render(const Cluebus__Message *msg)
{
	const Cluebus__Escalation	*e = msg->escalation;
	json_t				*o;
	int				 rc = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	rc |= put_hex_opt(o, "referral_id", &e->referral_id);
	rc |= put_str_opt(o, "unit", e->unit);
	if (e->duty == 0)
		rc |= put_enum(o, "missed", &missed_tab, e->missed);
	rc |= put_time_opt(o, "due_at", e->due_ms);
	rc |= put_str_opt(o, "supervisor", e->supervisor);
	if (e->reminder)
		rc |= put(o, "reminder", json_true());
	rc |= put_enum_opt(o, "duty", &report_tab, e->duty);
	rc |= put_time_opt(o, "period_from", e->period_from_ms);
	rc |= put_time_opt(o, "period_to", e->period_to_ms);
	return done(o, rc);
}

static json_t *
registry_render(const Cluebus__Message *msg)
{
	const Cluebus__Registry	*r = msg->registry;
	json_t			*o;
	int			 rc = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	rc |= put_enum(o, "op", &registry_tab, r->op);
	rc |= put_str_opt(o, "unit", r->unit);
	rc |= put_str_opt(o, "name", r->name);
	rc |= put_str_opt(o, "role", r->role);
	rc |= put_str_opt(o, "division_code", r->division_code);
	rc |= put_hex_opt(o, "sign_public", &r->sign_public);
	rc |= put_hex_opt(o, "seal_public", &r->seal_public);
	rc |= put_hex_opt(o, "transport_public", &r->transport_public);
	rc |= put_time_opt(o, "effective_at", r->effective_ms);
	rc |= put_str_opt(o, "reason", r->reason);
	rc |= put_str_opt(o, "liaison", r->liaison);
	rc |= put_str_opt(o, "routing", r->routing);
	return done(o, rc);
}

static const char *const match_reason_names[] = { "unspecified", "shared_identifier",
    "bundle" };
NAMES_CHECK(match_reason_names, CLUEBUS__MATCH_REASON__MATCH_BUNDLE);
static const struct names match_reason_tab = NAMES(match_reason_names);

static int
put_uint_opt(json_t *obj, const char *key, uint64_t value)
{
	return value == 0 ? 0 : put_uint(obj, key, value);
}

static int
put_u64s_opt(json_t *obj, const char *key, const uint64_t *v, size_t n)
{
	json_t	*arr;
	int	 rc = 0;

	if (n == 0)
		return 0;
	if ((arr = json_array()) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		rc |= json_array_append_new(arr, json_integer((json_int_t)v[i]));
	return rc | put(obj, key, arr);
}

static json_t *
match_render(const Cluebus__Message *msg)
{
	const Cluebus__Match	*m = msg->match;
	json_t			*o;
	int			 rc = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	rc |= put_enum_opt(o, "reason", &match_reason_tab, m->reason);
	if (m->type != 0)
		rc |= put_str(o, "type", identifier_type_name(m->type));
	rc |= put_uint_opt(o, "key_version", m->key_version);
	rc |= put_hex_opt(o, "token_hash", &m->token_hash);
	rc |= put_hexes_opt(o, "message_ids", m->message_ids, m->n_message_ids);
	rc |= put_u64s_opt(o, "seqs", m->seqs, m->n_seqs);
	rc |= put_strings_opt(o, "units", m->units, m->n_units);
	rc |= put_strings_opt(o, "case_refs", m->case_refs, m->n_case_refs);
	return done(o, rc);
}

static json_t *
case_render(const Cluebus__Message *msg)
{
	const Cluebus__CaseAction	*c = msg->case_action;
	json_t				*o;
	int				 rc = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	rc |= put_enum(o, "op", &case_op_tab, c->op);
	rc |= put_str_opt(o, "jurisdiction", c->jurisdiction);
	rc |= put_strings_opt(o, "members", c->members, c->n_members);
	rc |= put_str_opt(o, "title", c->title);
	rc |= put_str_opt(o, "reason", c->reason);
	return done(o, rc);
}

static json_t *
correction_render(const Cluebus__Message *msg)
{
	const Cluebus__Correction	*c = msg->correction;
	Cluebus__Message		 tmp = CLUEBUS__MESSAGE__INIT;
	json_t				*o;
	int				 rc = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	rc |= put_enum(o, "op", &correction_op_tab, c->op);
	rc |= put_str_opt(o, "reason", c->reason);
	rc |= put_str_opt(o, "note", c->note);
	if (c->clue != NULL) {
		tmp.body_case = CLUEBUS__MESSAGE__BODY_CLUE;
		tmp.clue = c->clue;
		rc |= put(o, "clue", clue_render(&tmp));
	}
	return done(o, rc);
}

/* ---- the delivery context ---------------------------------------------------------------- */

static const char *const obligation_state_names[] = { "unspecified", "awaiting_receipt",
    "awaiting_feedback", "in_progress", "closed" };
static const struct names obligation_state_tab = NAMES(obligation_state_names);

static json_t *
obligation_render(const Cluebus__Obligation *o)
{
	json_t	*v;
	int	 rc = 0;

	if ((v = json_object()) == NULL)
		return NULL;
	rc |= put_str(v, "unit", o->unit);
	rc |= put_enum(v, "state", &obligation_state_tab, o->state);
	rc |= put_str_opt(v, "referrer", o->referrer);
	rc |= put_time_opt(v, "receipt_due_at", o->receipt_due_ms);
	rc |= put_time_opt(v, "feedback_due_at", o->feedback_due_ms);
	rc |= put_time_opt(v, "received_at", o->received_ms);
	rc |= put_time_opt(v, "feedback_at", o->feedback_ms);
	rc |= put_enum_opt(v, "last_status", &feedback_tab, o->last_status);
	if (o->receipt_escalated)
		rc |= put(v, "receipt_escalated", json_true());
	if (o->feedback_escalated)
		rc |= put(v, "feedback_escalated", json_true());
	rc |= put_str_opt(v, "transferred_from", o->transferred_from);
	rc |= put_enum_opt(v, "action", &action_tab, o->action);
	rc |= put_str_opt(v, "transfer_reason", o->transfer_reason);
	return done(v, rc);
}

/* Whose action is awaited: each open obligation and what it owes next. */
static json_t *
awaiting_render(const Cluebus__Context *ctx)
{
	json_t	*arr;
	int	 rc = 0;

	if ((arr = json_array()) == NULL)
		return NULL;
	for (size_t i = 0; i < ctx->n_obligations; i++) {
		const Cluebus__Obligation *o = ctx->obligations[i];
		int receipt = o->state == CLUEBUS__OBLIGATION_STATE__OBLIGATION_AWAITING_RECEIPT;
		json_t *v;

		if (!receipt && o->state !=
		    CLUEBUS__OBLIGATION_STATE__OBLIGATION_AWAITING_FEEDBACK)
			continue;
		if ((v = json_object()) == NULL) {
			rc = -1;
			break;
		}
		rc |= put_str(v, "unit", o->unit);
		rc |= put_str(v, "action", receipt ? "receipt" : "feedback");
		rc |= put_time(v, "due_at", receipt ? o->receipt_due_ms : o->feedback_due_ms);
		rc |= json_array_append_new(arr, v);
	}
	return done(arr, rc);
}

static const char *const case_state_names[] = { "unspecified", "open", "closed" };
static const struct names case_state_tab = NAMES(case_state_names);

/* The case a message's case_ref names: its state and task force at delivery time. */
static json_t *
case_context_render(const Cluebus__CaseContext *cc)
{
	json_t	*o;
	int	 rc = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	rc |= put_str(o, "case_ref", cc->case_ref);
	rc |= put_enum(o, "state", &case_state_tab, cc->state);
	rc |= put_str_opt(o, "opener", cc->opener);
	rc |= put_str_opt(o, "jurisdiction", cc->jurisdiction);
	rc |= put_str_opt(o, "title", cc->title);
	rc |= put_strings_opt(o, "members", cc->members, cc->n_members);
	return done(o, rc);
}

json_t *
intake_context_to_json(const Cluebus__Context *ctx)
{
	json_t	*o, *obl, *clue;
	int	 rc = 0;

	if (ctx == NULL || (o = json_object()) == NULL)
		return NULL;
	rc |= put_hex_opt(o, "referral_id", &ctx->referral_id);
	rc |= put_str_opt(o, "case_ref", ctx->case_ref);
	if (ctx->clue_id.len > 0) {
		if ((clue = json_object()) == NULL)
			return done(o, -1);
		rc |= put_hex(clue, "message_id", &ctx->clue_id);
		rc |= put_enum(clue, "category", &category_tab, ctx->clue_category);
		rc |= put_str_opt(clue, "jurisdiction", ctx->clue_jurisdiction);
		rc |= put_enum_opt(clue, "handling", &handling_tab, ctx->clue_handling);
		rc |= put_str_opt(clue, "summary", ctx->clue_summary);
		rc |= put(o, "clue", clue);
	}
	if ((obl = json_array()) == NULL)
		return done(o, -1);
	for (size_t i = 0; i < ctx->n_obligations; i++)
		rc |= json_array_append_new(obl, obligation_render(ctx->obligations[i]));
	rc |= put(o, "obligations", obl);
	rc |= put(o, "awaiting", awaiting_render(ctx));
	if (ctx->case_context != NULL)
		rc |= put(o, "case", case_context_render(ctx->case_context));
	return done(o, rc);
}

/* ---- the kinds --------------------------------------------------------------------------- */

/* One row per kind. The body's JSON key is the kind's name. `parse` is NULL for a kind that
 * intake_from_json() does not accept yet; it fills msg->body_case and the body, or returns an
 * error leaving msg freeable. `render` returns a new object, or NULL when out of memory. */
struct kind_row {
	Cluebus__Kind			 kind;
	Cluebus__Message__BodyCase	 body;
	int	(*parse)(const json_t *, const char *, Cluebus__Message *, struct parse *);
	json_t	*(*render)(const Cluebus__Message *);
};

static const struct kind_row kinds[] = {
	{ CLUEBUS__KIND__KIND_CLUE, CLUEBUS__MESSAGE__BODY_CLUE, clue_parse, clue_render },
	{ CLUEBUS__KIND__KIND_REFERRAL, CLUEBUS__MESSAGE__BODY_REFERRAL, referral_parse,
	    referral_render },
	{ CLUEBUS__KIND__KIND_RECEIPT, CLUEBUS__MESSAGE__BODY_RECEIPT, receipt_parse,
	    receipt_render },
	{ CLUEBUS__KIND__KIND_FEEDBACK, CLUEBUS__MESSAGE__BODY_FEEDBACK, feedback_parse,
	    feedback_render },
	{ CLUEBUS__KIND__KIND_SUPERVISION, CLUEBUS__MESSAGE__BODY_SUPERVISION,
	    supervision_parse, supervision_render },
	{ CLUEBUS__KIND__KIND_REPORT, CLUEBUS__MESSAGE__BODY_REPORT, report_parse,
	    report_render },
	{ CLUEBUS__KIND__KIND_ESCALATION, CLUEBUS__MESSAGE__BODY_ESCALATION, NULL,
	    escalation_render },
	{ CLUEBUS__KIND__KIND_REGISTRY, CLUEBUS__MESSAGE__BODY_REGISTRY, NULL,
	    registry_render },
	{ CLUEBUS__KIND__KIND_MATCH, CLUEBUS__MESSAGE__BODY_MATCH, NULL, match_render },
	{ CLUEBUS__KIND__KIND_PERMISSION, CLUEBUS__MESSAGE__BODY_PERMISSION, permission_parse,
	    permission_render },
	{ CLUEBUS__KIND__KIND_CASE, CLUEBUS__MESSAGE__BODY_CASE_ACTION, case_parse,
	    case_render },
	{ CLUEBUS__KIND__KIND_CORRECTION, CLUEBUS__MESSAGE__BODY_CORRECTION, correction_parse,
	    correction_render },
	{ CLUEBUS__KIND__KIND_CORRELATION_KEY, CLUEBUS__MESSAGE__BODY_CORRELATION_KEY,
	    correlation_key_parse, correlation_key_render },
};

static const struct kind_row *
kind_row_by_kind(Cluebus__Kind kind)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].kind == kind)
			return &kinds[i];
	return NULL;
}

static const struct kind_row *
kind_row_by_body(Cluebus__Message__BodyCase body)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].body == body)
			return &kinds[i];
	return NULL;
}

/* ---- the public functions ---------------------------------------------------------------- */

/* Turns a jansson load error into ours: the reason carries jansson's text and position. */
static int
doc_error(const json_error_t *jerr, struct parse *ps)
{
	char	text[JSON_ERROR_TEXT_LENGTH];
	size_t	used = 0;

	/* jansson returns no text at all when it cannot allocate its lexer. */
	if (json_error_code(jerr) == json_error_out_of_memory || jerr->text[0] == '\0')
		return fail_nomem(ps, DOC_FIELD);
	text_put(text, sizeof(text), &used, jerr->text);
	return parse_fail(ps, DOC_FIELD, CB_EMALFORMED,
	    "invalid JSON: %s (line %d, column %d)", text, jerr->line, jerr->column);
}

/* The document's header and body into `msg`; every problem recorded in `ps`. */
static int
doc_parse(const json_t *doc, Cluebus__Message *msg, struct parse *ps)
{
	const char		*fields[] = { "kind", "message_id", "priority", "case_ref",
	    "refers_to", NULL /* the body */, NULL };
	const struct kind_row	*row;
	const json_t		*body;
	const char		*body_key;
	int			 rc, kind = 0, priority = CLUEBUS__PRIORITY__PRIORITY_ROUTINE;

	if (!json_is_object(doc))
		return parse_fail(ps, DOC_FIELD, CB_EMALFORMED, "expected object, got %s",
		    type_name(doc));
	if ((rc = read_enum(doc, "", "kind", F_REQUIRED, &kinds_tab, &kind, ps)) != 0)
		return rc;
	body_key = names_get(&kinds_tab, kind);
	if ((row = kind_row_by_kind((Cluebus__Kind)kind)) == NULL || row->parse == NULL)
		return parse_fail(ps, "kind", CB_EMALFORMED,
		    "kind '%s' is not accepted by this version", body_key);
	fields[5] = body_key;
	msg->kind = (Cluebus__Kind)kind;
	if ((rc = go_on(object_check(doc, "", fields, ps))) != 0 ||
	    (rc = go_on(read_hex(doc, "", "message_id", F_OPTIONAL, MESSAGE_ID_LEN,
	    &msg->message_id, ps))) != 0 ||
	    (rc = go_on(read_enum(doc, "", "priority", F_OPTIONAL, &priority_tab, &priority,
	    ps))) != 0 ||
	    (rc = go_on(read_string(doc, "", "case_ref", F_OPTIONAL, &msg->case_ref, ps))) != 0 ||
	    (rc = go_on(read_hex(doc, "", "refers_to", F_OPTIONAL, MESSAGE_ID_LEN,
	    &msg->refers_to, ps))) != 0 ||
	    (rc = read_object(doc, "", body_key, F_REQUIRED, &body, ps)) != 0)
		return rc;
	msg->priority = (Cluebus__Priority)priority;
	return row->parse(body, body_key, msg, ps);
}

int
intake_parse(const char *json, size_t len, const intake_rules_t *rules,
    Cluebus__Message **out, cb_error_t *err, json_t **problems)
{
	struct parse		 ps = { .err = err, .rules = rules };
	Cluebus__Message	*msg = NULL;
	char			 more[64];
	json_error_t		 jerr;
	json_t			*doc = NULL;
	int			 rc;

	*out = NULL;
	if (problems != NULL)
		*problems = NULL;
	cb_error_set(err, "", "%s", "");
	ps.now_ms = rules != NULL && rules->now_ms != 0 ? rules->now_ms : clock_now_ms();
	if (problems != NULL && (ps.problems = json_array()) == NULL)
		return fail_nomem(&ps, DOC_FIELD);
	if (json == NULL)
		len = 0;
	memset(&jerr, 0, sizeof(jerr));
	if (len > INTAKE_MAX_DOC) {
		rc = parse_fail(&ps, DOC_FIELD, CB_ETOOBIG, "document larger than %d bytes",
		    INTAKE_MAX_DOC);
		goto out;
	}
	if ((doc = json_loadb(json != NULL ? json : "", len, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL) {
		rc = doc_error(&jerr, &ps);
		goto out;
	}
	if ((msg = malloc(sizeof(*msg))) == NULL) {
		rc = fail_nomem(&ps, DOC_FIELD);
		goto out;
	}
	cluebus__message__init(msg);
	rc = doc_parse(doc, msg, &ps);
	if (ps.unlisted > 0 && !ps.nomem) {
		snprintf(more, sizeof(more), "%zu more problem%s not listed", ps.unlisted,
		    ps.unlisted == 1 ? "" : "s");
		if (json_array_append_new(ps.problems, json_pack("{s:s, s:s}", "field",
		    DOC_FIELD, "reason", more)) != 0)
			ps.nomem = 1;
	}
	if (go_on(rc) == 0 && ps.nomem)
		rc = fail_nomem(&ps, DOC_FIELD);
	if (go_on(rc) == 0 && ps.first_code != 0)
		rc = ps.first_code;	/* err holds the first problem: its code is the answer */
	if (rc == 0) {
		*out = msg;
		msg = NULL;
	}
out:
	if (msg != NULL)
		protobuf_c_message_free_unpacked(&msg->base, NULL);
	json_decref(doc);
	if (problems != NULL && rc != 0 && rc != CB_ENOMEM && !ps.nomem)
		*problems = ps.problems;
	else
		json_decref(ps.problems);
	return rc;
}

int
intake_from_json(const char *json, size_t len, Cluebus__Message **out, cb_error_t *err)
{
	return intake_parse(json, len, NULL, out, err, NULL);
}

json_t *
intake_to_json(const Cluebus__Message *msg)
{
	const struct kind_row	*row;
	json_t			*o;
	int			 rc = 0;

	if (msg == NULL || (o = json_object()) == NULL)
		return NULL;
	rc |= put_hex_opt(o, "message_id", &msg->message_id);
	rc |= put_str_opt(o, "sender", msg->sender);
	rc |= put_hex_opt(o, "key_id", &msg->key_id);
	rc |= put_time_opt(o, "created", msg->created_ms);
	rc |= put_enum(o, "kind", &kinds_tab, msg->kind);
	rc |= put_enum(o, "priority", &priority_tab, msg->priority);
	rc |= put_str_opt(o, "case_ref", msg->case_ref);
	rc |= put_hex_opt(o, "refers_to", &msg->refers_to);
	/* Every body member of the union is a pointer; clue stands for whichever is set. */
	if ((row = kind_row_by_body(msg->body_case)) != NULL && msg->clue != NULL)
		rc |= put(o, names_get(&kinds_tab, row->kind), row->render(msg));
	return done(o, rc);
}

const char *
intake_enum_name(enum intake_enum which, int value)
{
	static const struct names *const tabs[] = {
		[INTAKE_ENUM_HANDLING] = &handling_tab,
		[INTAKE_ENUM_RELIABILITY] = &reliability_tab,
		[INTAKE_ENUM_ACTION] = &action_tab,
		[INTAKE_ENUM_FEEDBACK] = &feedback_tab,
		[INTAKE_ENUM_SUPERVISION] = &supervision_tab,
		[INTAKE_ENUM_REPORT] = &report_tab,
		[INTAKE_ENUM_MISSED] = &missed_tab,
		[INTAKE_ENUM_REGISTRY] = &registry_tab,
		[INTAKE_ENUM_CASE_OP] = &case_op_tab,
		[INTAKE_ENUM_CORRECTION_OP] = &correction_op_tab,
		[INTAKE_ENUM_MATCH_REASON] = &match_reason_tab,
	};

	if ((unsigned)which >= sizeof(tabs) / sizeof(tabs[0]) || tabs[which] == NULL)
		return "unknown";
	return names_get(tabs[which], value);
}

/* lib/identifiers.c — normalisation of matchable identifiers, GB 11643 validation.
 *
 * Every rule removes what people write differently and keeps what tells two identifiers
 * apart; each is a pure function of its input, so two agents normalise alike without
 * sharing anything but this code. Invariants: (1) the output is NUL-terminated ASCII or
 * UTF-8 within IDENTIFIER_MAX bytes, or nothing (an error); (2) normalising an output again
 * gives it back unchanged; (3) a reason never quotes the value (it is personal data and
 * reasons go to error files and logs).
 *
 *   resident_id    spaces/hyphens removed, x -> X; 18 characters, 17 digits and a digit
 *                  or X; date of birth (characters 7-14) a real date, not in the future;
 *                  the ISO 7064 MOD 11-2 check digit
 *   phone          spaces, hyphens, dots, parentheses removed; +86 / 0086 / 86 before an
 *                  11-digit mobile number dropped; other international numbers keep "+"
 *   passport       spaces/hyphens removed, upper case; letters and digits
 *   bank_account   spaces/hyphens removed; digits
 *   online_handle  spaces removed, ASCII lower case, "@" before the handle dropped
 *   vehicle_plate  spaces, hyphens and middle dots removed, upper case
 *   dna_sample     spaces/hyphens removed, upper case; letters and digits
 *   name_dob       "NAME DATE" (or "NAME|DATE"): the name without spaces or middle dots,
 *                  ASCII lower case, then "|" and the date as YYYYMMDD */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cluebus/err.h"
#include "identifiers.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

static const char *const type_names[] = { "unspecified", "resident_id", "phone", "passport",
    "bank_account", "online_handle", "vehicle_plate", "dna_sample", "name_dob" };
_Static_assert(NITEMS(type_names) == CLUEBUS__IDENTIFIER_TYPE__IDENTIFIER_NAME_DOB + 1,
    "type_names is out of date with the proto");

const char *
identifier_type_name(Cluebus__IdentifierType type)
{
	if ((unsigned)type >= NITEMS(type_names))
		return "unknown";
	return type_names[type];
}

int
identifier_type_parse(const char *s, Cluebus__IdentifierType *out)
{
	for (size_t i = 1; i < NITEMS(type_names); i++)
		if (strcmp(s, type_names[i]) == 0) {
			*out = (Cluebus__IdentifierType)i;
			return 0;
		}
	return CB_EMALFORMED;
}

const char *
identifier_type_list(void)
{
	return "resident_id, phone, passport, bank_account, online_handle, vehicle_plate, "
	    "dna_sample, name_dob";
}

static int
fail(char *why, const char *reason)
{
	snprintf(why, IDENTIFIER_REASON_MAX, "%s", reason);
	return CB_EMALFORMED;
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alnum(char c)
{
	return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static char
upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* The length of a separator people put inside identifiers at `s` (0: none): ASCII space,
 * tab, hyphen, and the UTF-8 ideographic space, middle dots and full-width hyphen. */
static size_t
separator_len(const char *s, int dots)
{
	static const char *const wide[] = { "\xe3\x80\x80", "\xc2\xb7", "\xe2\x80\xa2",
	    "\xe3\x83\xbb", "\xef\xbc\x8d" };

	if (*s == ' ' || *s == '\t' || *s == '-')
		return 1;
	for (size_t i = 0; i < NITEMS(wide); i++) {
		size_t n = strlen(wide[i]);

		if ((dots || i == 0 || i == 4) && strncmp(s, wide[i], n) == 0)
			return n;
	}
	return 0;
}

/* The length of the UTF-8 character at `s` (1 to 4), or 0 when it is not one (a stray
 * continuation byte, a sequence cut short, an overlong lead). */
static size_t
utf8_len(const char *s)
{
	unsigned char c = (unsigned char)*s;
	size_t n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 :
	    c >= 0xf0 && c <= 0xf4 ? 4 : 0;

	for (size_t i = 1; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* Copies `in` to `out` without separators (and, with `dots`, middle dots), character by
 * character, refusing control characters and what is not UTF-8 (so that a separator is
 * only ever found at a character's start). Returns the length, or -1 with `why` set. */
static long
strip(const char *in, char *out, int dots, char *why)
{
	size_t n = 0, len;

	while (*in != '\0') {
		size_t skip = separator_len(in, dots);

		if (skip > 0) {
			in += skip;
			continue;
		}
		if ((unsigned char)*in < 0x20 || *in == 0x7f)
			return fail(why, "holds a control character"), -1;
		if ((len = utf8_len(in)) == 0)
			return fail(why, "is not valid UTF-8"), -1;
		if (n + len > IDENTIFIER_MAX)
			return fail(why, "longer than 256 bytes"), -1;
		memmove(out + n, in, len);
		n += len;
		in += len;
	}
	out[n] = '\0';
	return (long)n;
}

/* Whether YYYYMMDD at `s` (8 digits) is a real date from 1900 up to today (UTC). */
static int
date_ok(const char *s, char *why)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y = 0, m, d, leap, maxd;
	struct tm now;
	time_t t = time(NULL);

	for (int i = 0; i < 8; i++)
		if (!is_digit(s[i]))
			return fail(why, "date of birth is not 8 digits (YYYYMMDD)");
	for (int i = 0; i < 4; i++)
		y = y * 10 + (s[i] - '0');
	m = (s[4] - '0') * 10 + (s[5] - '0');
	d = (s[6] - '0') * 10 + (s[7] - '0');
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1900)
		return fail(why, "date of birth is before 1900");
	if (m < 1 || m > 12)
		return fail(why, "date of birth has no such month");
	maxd = days[m - 1] + (m == 2 && leap);
	if (d < 1 || d > maxd)
		return fail(why, "date of birth has no such day in its month");
	if (gmtime_r(&t, &now) == NULL)
		return 0;
	if (y * 10000 + m * 100 + d >
	    (now.tm_year + 1900) * 10000 + (now.tm_mon + 1) * 100 + now.tm_mday)
		return fail(why, "date of birth is in the future");
	return 0;
}

static int
resident_id(const char *in, char *out, char *why)
{
	static const int weight[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 };
	static const char check[] = "10X98765432";
	long n = strip(in, out, 0, why);
	int sum = 0;
	char msg[IDENTIFIER_REASON_MAX];

	if (n < 0)
		return CB_EMALFORMED;
	if (n != RESIDENT_ID_LEN) {
		snprintf(msg, sizeof(msg), "a resident id number has 18 characters (spaces and "
		    "hyphens aside), this one %ld", n);
		return fail(why, msg);
	}
	for (int i = 0; i < 17; i++)
		if (!is_digit(out[i]))
			return fail(why, "characters 1-17 of a resident id number must be digits");
	out[17] = upper(out[17]);
	if (!is_digit(out[17]) && out[17] != 'X')
		return fail(why, "the last character of a resident id number must be a digit "
		    "or X");
	if (out[0] == '0')
		return fail(why, "a resident id number's region code (characters 1-6) cannot "
		    "start with 0");
	if (date_ok(out + 6, why) != 0)
		return CB_EMALFORMED;
	for (int i = 0; i < 17; i++)
		sum += (out[i] - '0') * weight[i];
	if (check[sum % 11] != out[17])
		return fail(why, "check digit (character 18) does not agree with characters "
		    "1-17 (GB 11643 MOD 11-2): a character is mistyped");
	return 0;
}

int
identifier_looks_resident(const char *s)
{
	size_t n = 0, x = 0;

	for (; *s != '\0'; s++) {
		if (*s == ' ' || *s == '\t' || *s == '-')
			continue;
		if (x > 0)
			return 0;	/* something after the X */
		if (*s == 'X' || *s == 'x')
			x++;
		else if (!is_digit(*s))
			return 0;
		n++;
	}
	return n >= 15 && n <= 20;
}

static int
phone(const char *in, char *out, char *why)
{
	char tmp[IDENTIFIER_MAX + 1];
	const char *trunk = "";
	size_t n = 0, start = 0;
	int plus = 0;

	for (; *in != '\0'; in++) {
		if (strchr(" \t-.()", *in) != NULL)
			continue;
		if (*in == '+' && n == 0 && !plus) {
			plus = 1;
			continue;
		}
		if (!is_digit(*in))
			return fail(why, "a phone number has only digits, a leading +, spaces, "
			    "hyphens, dots and parentheses");
		if (n == IDENTIFIER_MAX)
			return fail(why, "longer than 256 bytes");
		tmp[n++] = *in;
	}
	tmp[n] = '\0';
	/* China's country code: a mobile number alone, a landline with its trunk 0, as
	 * written at home; another country's "00" prefix becomes "+". */
	if (!plus && n >= 2 && tmp[0] == '0' && tmp[1] == '0')
		start = 2, plus = 1;
	else if (!plus && n == 13 && tmp[0] == '8' && tmp[1] == '6' && tmp[2] == '1')
		start = 2;
	if (plus && n >= start + 2 && tmp[start] == '8' && tmp[start + 1] == '6') {
		start += 2;
		plus = 0;
		if (tmp[start] == '0')
			return fail(why, "after the country code 86 a phone number has no trunk 0");
		if (tmp[start] != '1')
			trunk = "0";
	}
	if (n - start + strlen(trunk) < 5 || n - start + strlen(trunk) > 20)
		return fail(why, "a phone number has 5 to 20 digits");
	snprintf(out, IDENTIFIER_MAX + 1, "%s%s", plus ? "+" : trunk, tmp + start);
	return 0;
}

/* Upper-cased letters and digits only, `min`..`max` of them. */
static int
alnum_id(const char *in, char *out, size_t min, size_t max, const char *what, char *why)
{
	long n = strip(in, out, 0, why);
	char msg[IDENTIFIER_REASON_MAX];

	if (n < 0)
		return CB_EMALFORMED;
	for (long i = 0; i < n; i++) {
		if (!is_alnum(out[i])) {
			snprintf(msg, sizeof(msg), "%s has only ASCII letters and digits (spaces "
			    "and hyphens aside)", what);
			return fail(why, msg);
		}
		out[i] = upper(out[i]);
	}
	if ((size_t)n < min || (size_t)n > max) {
		snprintf(msg, sizeof(msg), "%s has %zu to %zu letters and digits", what, min,
		    max);
		return fail(why, msg);
	}
	return 0;
}

static int
bank_account(const char *in, char *out, char *why)
{
	long n = strip(in, out, 0, why);

	if (n < 0)
		return CB_EMALFORMED;
	for (long i = 0; i < n; i++)
		if (!is_digit(out[i]))
			return fail(why, "a bank account or card number has only digits (spaces "
			    "and hyphens aside)");
	if (n < 8 || n > 34)
		return fail(why, "a bank account or card number has 8 to 34 digits");
	return 0;
}

static int
online_handle(const char *in, char *out, char *why)
{
	size_t n = 0, start = 0, len;
	char *colon;

	/* Handles hold no spaces: every space goes, whatever a form added around it. */
	while (*in != '\0') {
		if (*in == ' ' || *in == '\t' || strncmp(in, "\xe3\x80\x80", 3) == 0) {
			in += *in == ' ' || *in == '\t' ? 1 : 3;
			continue;
		}
		if ((unsigned char)*in < 0x20 || *in == 0x7f)
			return fail(why, "holds a control character");
		if ((len = utf8_len(in)) == 0)
			return fail(why, "is not valid UTF-8");
		for (size_t i = 0; i < len; i++)
			out[n++] = lower(*in++);
	}
	out[n] = '\0';
	/* "platform:@handle" and "@handle" are the handle without its "@". */
	if ((colon = strchr(out, ':')) != NULL)
		start = (size_t)(colon - out) + 1;
	while (out[start] == '@') {
		memmove(out + start, out + start + 1, n - start);
		n--;
	}
	if (out[start] == '\0')
		return fail(why, "an online handle is empty");
	return 0;
}

static int
vehicle_plate(const char *in, char *out, char *why)
{
	long n = strip(in, out, 1, why);

	if (n < 0)
		return CB_EMALFORMED;
	for (long i = 0; i < n; i++) {
		if ((unsigned char)out[i] < 0x80 && !is_alnum(out[i]))
			return fail(why, "a vehicle plate has letters, digits and its province's "
			    "character (spaces, hyphens and dots aside)");
		out[i] = upper(out[i]);
	}
	if (n < 5 || n > 16)
		return fail(why, "a vehicle plate has 5 to 16 bytes (spaces, hyphens and dots "
		    "aside)");
	return 0;
}

static int
name_dob(const char *in, char *out, char *why)
{
	char name[IDENTIFIER_MAX + 1], date[IDENTIFIER_MAX + 1];
	const char *sp = NULL;
	long n, dn;

	for (const char *s = in; *s != '\0'; s++)
		if (*s == ' ' || *s == '\t' || *s == '|')	/* '|': the normal form */
			sp = s;
	if (sp == NULL || strlen(sp + 1) == 0)
		return fail(why, "a name and date of birth is written \"NAME YYYY-MM-DD\"");
	if ((size_t)(sp - in) > IDENTIFIER_MAX)
		return fail(why, "longer than 256 bytes");
	memcpy(name, in, (size_t)(sp - in));
	name[sp - in] = '\0';
	if ((n = strip(name, name, 1, why)) < 0 || (dn = strip(sp + 1, date, 0, why)) < 0)
		return CB_EMALFORMED;
	if (n == 0)
		return fail(why, "the name is empty");
	if (dn != 8)
		return fail(why, "the date of birth is written YYYY-MM-DD or YYYYMMDD");
	if (date_ok(date, why) != 0)
		return CB_EMALFORMED;
	for (long i = 0; i < n; i++)
		name[i] = lower(name[i]);
	if ((size_t)n + 1 + 8 > IDENTIFIER_MAX)
		return fail(why, "longer than 256 bytes");
	memcpy(out, name, (size_t)n);
	out[n] = '|';
	memcpy(out + n + 1, date, 9);
	return 0;
}

static int
normalize(Cluebus__IdentifierType type, const char *in, char *out, char *why)
{
	switch (type) {
	case CLUEBUS__IDENTIFIER_TYPE__IDENTIFIER_RESIDENT_ID:
		return resident_id(in, out, why);
	case CLUEBUS__IDENTIFIER_TYPE__IDENTIFIER_PHONE:
		return phone(in, out, why);
	case CLUEBUS__IDENTIFIER_TYPE__IDENTIFIER_PASSPORT:
		return alnum_id(in, out, 5, 20, "a passport number", why);
	case CLUEBUS__IDENTIFIER_TYPE__IDENTIFIER_BANK_ACCOUNT:
		return bank_account(in, out, why);
	case CLUEBUS__IDENTIFIER_TYPE__IDENTIFIER_ONLINE_HANDLE:
		return online_handle(in, out, why);
	case CLUEBUS__IDENTIFIER_TYPE__IDENTIFIER_VEHICLE_PLATE:
		return vehicle_plate(in, out, why);
	case CLUEBUS__IDENTIFIER_TYPE__IDENTIFIER_DNA_SAMPLE:
		return alnum_id(in, out, 4, 64, "a DNA sample or profile id", why);
	case CLUEBUS__IDENTIFIER_TYPE__IDENTIFIER_NAME_DOB:
		return name_dob(in, out, why);
	default:
		return fail(why, "unknown identifier type");
	}
}

int
identifier_normalize(Cluebus__IdentifierType type, const char *in, char *out, char *why)
{
	int rc;

	out[0] = '\0';
	why[0] = '\0';
	if (strlen(in) > IDENTIFIER_MAX)
		return fail(why, "longer than 256 bytes");
	if ((rc = normalize(type, in, out, why)) != 0)
		out[0] = '\0';
	return rc;
}

/* lib/identifiers.h — normalisation of the identifiers clues are matched on, and the
 * validation of resident id numbers (GB 11643-1999).
 *
 * Two units write the same phone number, id number or plate differently ("210302 1990
 * 0101 123x", "+86 138-0000-0000", "辽C·12345"); a blind token (lib/matchkey.c) matches
 * only if both normalise to the same bytes first. Each type's rule is in identifiers.c and
 * docs/correlation.md. Nothing here logs: the values are personal data. */
#ifndef CB_IDENTIFIERS_H
#define CB_IDENTIFIERS_H

#include <stddef.h>

#include "cluebus.pb-c.h"

#define IDENTIFIER_MAX		256	/* bytes of an identifier, given or normalised */
#define IDENTIFIER_REASON_MAX	160	/* bytes of a reason, NUL included */
#define RESIDENT_ID_LEN		18

/* Normalises `in` as an identifier of `type` into `out` (IDENTIFIER_MAX + 1 bytes).
 * Returns 0, or CB_EMALFORMED with `why` (IDENTIFIER_REASON_MAX bytes) saying what is wrong
 * with it, in words that name no part of the value. Cannot fail otherwise. */
int	identifier_normalize(Cluebus__IdentifierType type, const char *in, char *out,
    char *why) __attribute__((warn_unused_result));

/* Whether `s` is written as a resident id number: after spaces and hyphens, only digits
 * with perhaps a final X or x, 15 to 20 of them. Such an id number must then be valid;
 * anything else (a passport number, a masked number "4521XXXXXXXXXXXX37") is not one. */
int	identifier_looks_resident(const char *s);

/* The names of the identifier types in documents ("resident_id", "phone", "passport",
 * "bank_account", "online_handle", "vehicle_plate", "dna_sample", "name_dob").
 * identifier_type_name returns a static string ("unknown" out of range);
 * identifier_type_parse returns 0 with *out, or CB_EMALFORMED. */
const char *identifier_type_name(Cluebus__IdentifierType type);
int	identifier_type_parse(const char *s, Cluebus__IdentifierType *out);
/* The allowed names, comma-separated, for error messages. Static. */
const char *identifier_type_list(void);

#endif

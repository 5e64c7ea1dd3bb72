/* lib/sealaudit.h — a content audit: reading sealed bodies with one unit's sealing key.
 *
 * `cluebus-audit replay` prints no plaintext: sealed bodies appear as their seal's facts
 * (suite, recipients, key ids). An auditor given a unit's sealing private key
 * (`--seal-key UNIT.seal`) may read what that unit could read, and nothing else: each
 * message sealed to that unit and key is opened, and the output says with which key (key
 * id and unit) it was; messages sealed to others stay sealed. The unit is the key file's
 * name without ".seal". */
#ifndef CB_SEALAUDIT_H
#define CB_SEALAUDIT_H

#include <jansson.h>

#include "cluebus.pb-c.h"
#include "sealkey.h"

typedef struct sealaudit sealaudit_t;

/* Loads the key at `path` (mode 0600, named UNIT.seal). Returns 0 with *out (owned;
 * sealaudit_free), CB_EINVAL (the file name is not UNIT.seal), or sealkey_load_private's
 * error. */
int	sealaudit_open(const char *path, sealaudit_t **out) __attribute__((warn_unused_result));

/* The unit and hex key id, borrowed from `sa`. Cannot fail. */
const char *sealaudit_unit(const sealaudit_t *sa);
const char *sealaudit_key_id(const sealaudit_t *sa);

/* Opens `m`'s seal when it is sealed to this unit and key; returns a new JSON object
 * {"unit", "key_id"} when it opened (m is then clear), {"unit", "key_id", "error"} when it
 * was sealed to this unit but did not open, and NULL when `m` carries no seal or is not
 * sealed to this unit (or out of memory). */
json_t	*sealaudit_apply(const sealaudit_t *sa, Cluebus__Message *m);

void	sealaudit_free(sealaudit_t *sa);

#endif

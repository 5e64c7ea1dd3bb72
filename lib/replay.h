/* lib/replay.h — the auditor's replay of a log: which entries a filter selects
 * (lib/replay.c), and each entry's clear metadata as a JSON line (schema in docs/audit.md
 * §2.1) or a line of text (lib/replay_render.c).
 *
 * A replay prints only what is clear by design (SPEC §10): kinds, ids, units, times,
 * category, jurisdiction, priority, handling and evaluation codes, case references,
 * referral targets, actions, due times, feedback status, registry changes. Free text and
 * personal data (summaries, notes, locations, persons, titles, attachment names) are never
 * printed, whether clear or sealed; a sealed blob is shown as the fact of it (suite and
 * recipients), never its bytes.
 *
 * Filters: a range of seqs and of log times, units (sender, recipient, acknowledging unit,
 * refused peer, or the unit a registry record is about), kinds (message kinds and the entry
 * types ack, rejection, checkpoint), a clue category and a case reference. A category or
 * case selects the messages that carry it and the messages whose refers_to leads to one of
 * them (followed in log order, so the whole log is walked from seq 1), and the acks of
 * those. Values of one filter are alternatives; different filters must all match.
 *
 * Units are named by the names the log's own registry records give them (the last name a
 * record gave), loaded with replay_names_add before the walk. */
#ifndef CB_REPLAY_H
#define CB_REPLAY_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "cluebus/err.h"
#include "cluebus.pb-c.h"
#include "chain.h"

#define REPLAY_SCHEMA_VERSION	1
#define REPLAY_MAX_VALUES	16	/* values of one repeatable filter */

typedef struct replay replay_t;

/* A new replay with no filter, UTC times and no names. Returns NULL when out of memory. */
replay_t *replay_new(void);
/* Frees `r`. Accepts NULL. */
void	replay_free(replay_t *r);

/* Filter setters, each for one command-line option's value (borrowed for the life of
 * `r`). Each returns 0, or CB_EMALFORMED with `why` saying
 * what is wrong with the value (valid until the next call on `r`); CB_ETOOBIG past
 * REPLAY_MAX_VALUES values. */
/* --from / --to: a decimal seq (inclusive) or an RFC 3339 time (from included, to
 * excluded, as in stats). */
int	replay_set_from(replay_t *r, const char *value, const char **why)
    __attribute__((warn_unused_result));
int	replay_set_to(replay_t *r, const char *value, const char **why)
    __attribute__((warn_unused_result));
int	replay_add_unit(replay_t *r, const char *value, const char **why)
    __attribute__((warn_unused_result));
int	replay_add_kind(replay_t *r, const char *value, const char **why)
    __attribute__((warn_unused_result));
int	replay_set_category(replay_t *r, const char *value, const char **why)
    __attribute__((warn_unused_result));
int	replay_set_case(replay_t *r, const char *value, const char **why)
    __attribute__((warn_unused_result));
/* --tz: "Z", "UTC" or an offset "+08:00" / "-05:30" (at most ±14:00). */
int	replay_set_tz(replay_t *r, const char *value, const char **why)
    __attribute__((warn_unused_result));
/* Checks the filters together (from before to). Returns 0 or CB_EMALFORMED with `why`. */
int	replay_check(const replay_t *r, const char **why) __attribute__((warn_unused_result));

/* The first seq the walk must start from (1 when a category or case is followed). Cannot
 * fail. */
uint64_t replay_start_seq(const replay_t *r);
/* The last seq any entry may be selected at (UINT64_MAX: no bound). Cannot fail. */
uint64_t replay_last_seq(const replay_t *r);

/* Learns a unit's name from a registry record (a record without a name teaches nothing).
 * Returns 0 or CB_ENOMEM. */
int	replay_names_add(replay_t *r, const Cluebus__Registry *rec)
    __attribute__((warn_unused_result));
/* The name the registry records gave `unit`, or NULL. Borrowed until replay_free. */
const char *replay_name(const replay_t *r, const char *unit);

/* Whether entry `seq` (`e`, and `m` the message opened from its envelope, or NULL) is
 * selected: sets *selected. Must be called for every entry in log order from
 * replay_start_seq, as it follows refers_to. Returns 0 or CB_ENOMEM. */
int	replay_select(replay_t *r, uint64_t seq, const Cluebus__LogEntry *e,
    const Cluebus__Message *m, int *selected) __attribute__((warn_unused_result));

/* The entry as one JSON object of the schema (`hash`: its recorded entry hash). Returns a
 * new reference, or NULL when out of memory. */
json_t	*replay_entry_json(const replay_t *r, uint64_t seq, const uint8_t hash[CHAIN_HASH_LEN],
    const Cluebus__LogEntry *e, const Cluebus__Message *m);
/* The entry as one line of text to `out`. Returns 0 or CB_EIO. */
int	replay_entry_text(const replay_t *r, uint64_t seq, const uint8_t hash[CHAIN_HASH_LEN],
    const Cluebus__LogEntry *e, const Cluebus__Message *m, FILE *out)
    __attribute__((warn_unused_result));

/* Formats `ms` as RFC 3339 with milliseconds at the replay's offset ("Z" for UTC,
 * "+08:00" ...) into `out` (size >= 40). Cannot fail. */
void	replay_format_time(const replay_t *r, int64_t ms, char *out, size_t outlen);

/* Corrections (broker/cases.c): learns from message `m`, logged at `seq`, that the message
 * it refers to was corrected or withdrawn (nothing when `m` is not a correction). Feed it
 * every entry before the walk that prints, so each message's line can show its latest
 * state. Returns 0 or CB_ENOMEM. */
int	replay_amended_add(replay_t *r, const Cluebus__Message *m, uint64_t seq)
    __attribute__((warn_unused_result));
/* Whether message `id` was later corrected or withdrawn: 1 with *by_seq (the latest
 * correction's seq) and *withdrawn set, or 0. Cannot fail. */
int	replay_amended(const replay_t *r, const ProtobufCBinaryData *id, uint64_t *by_seq,
    int *withdrawn);

#endif

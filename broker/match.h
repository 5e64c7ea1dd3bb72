/* broker/match.h — correlation of clues on blind tokens (broker/match.c).
 *
 * Below pipeline.c, beside workflow.c, above round.c: it appends match notices through
 * round_append_own() and never calls up. */
#ifndef CB_MATCH_H
#define CB_MATCH_H

#include <stdint.h>

#include <jansson.h>

#include "cluebus.pb-c.h"

struct broker;

#define MATCH_LIST_MAX_DEFAULT	100	/* entries per token before it is hot */
#define MATCH_NOTICES_DEFAULT	16	/* notices for one new clue */
#define MATCH_BUNDLE_MAX	16	/* clues a bundling notice names */
#define MATCH_STAGE_MAX_DEFAULT	16384	/* staged postings before a merge */
#define MATCH_MERGE_SLICE_DEFAULT 2048	/* postings one round merges */

/* Indexes the blind tokens of a clue just appended at log `seq` and time `now`, in the
 * round's transaction, and appends the notices it causes: one match notice per earlier
 * clue of another unit or another case sharing a token (each pair once, ever; at most
 * cfg.match_notices_max per clue), and a bundling suggestion when earlier clues of the same
 * category had the same tokens within cfg.match_bundle_window_ms. A token past
 * cfg.match_list_max entries becomes hot: no longer indexed or matched. Other kinds and
 * clues without tokens cost nothing. Returns 0 or an error for round_store_error()
 * (CB_ECORRUPT for an index record that does not parse). */
int	match_apply(struct broker *b, const Cluebus__Message *m, uint64_t seq, int64_t now);

/* Writes the round's figures, changed by match_apply, into its transaction. Call right
 * before committing every round that may have called match_apply. Returns 0 or an error
 * for round_store_error(). */
int	match_round_flush(struct broker *b);
/* The round's transaction has committed (or not): a merge in it is done (or was not).
 * Call after every round that may have called match_apply. Cannot fail. */
void	match_round_end(struct broker *b, int committed);
/* Frees the staging tier's hash and the round's figures (read again from the store when
 * needed). Accepts a broker without them. */
void	match_free(struct broker *b);

/* The committed figures: {"notices", "bundles", "tokens", "entries", "hot_tokens",
 * "hot": [{"token_hash" (first 8 bytes, hex), "type", "key_version", "since"}] (at most
 * 20)}. A new reference owned by the caller, or NULL when out of memory or on a store
 * error. */
json_t	*match_status(struct broker *b);

#endif

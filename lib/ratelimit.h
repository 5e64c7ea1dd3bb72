/* lib/ratelimit.h — how many of a peer's refusals are written down, and when it is cut off.
 *
 * Every refused frame would otherwise cost a permanent log entry and a log line, so one
 * unit sending garbage could fill the log and the disk. Each peer (a unit, or all
 * unauthenticated peers together) has a token bucket of log entries:
 *
 *   within the bucket   LOG    the refusal is logged (entry and line), as always
 *   bucket empty        QUIET  answered, counted in `suppressed`, not logged; the next
 *                              logged refusal (or ratelimit_summary) carries the count
 *   cut_after QUIET     CUT    the peer is cut off for cut_ms (doubling with each cut-off
 *   refusals before            in a row, at most cut_max_ms), said once; until then its
 *   the bucket is full again
 *                     DROPPED  frames are dropped unread and unanswered, counted in
 *                              `dropped`
 *
 * Invariants: (1) at most burst + rate × t refusals of one peer are logged in any t
 * seconds, plus one summary per refill; (2) no refusal goes uncounted: logged + suppressed
 * + dropped is every refusal; (3) the bucket never holds more than `burst` tokens.
 * Nothing here allocates or fails. */
#ifndef CB_RATELIMIT_H
#define CB_RATELIMIT_H

#include <stdint.h>

struct ratelimit_policy {
	double		 rate_per_s;	/* logged refusals per second, sustained */
	double		 burst;		/* logged refusals at once */
	uint64_t	 cut_after;	/* quiet refusals in a row that cut the peer off */
	int64_t		 cut_ms;	/* first cut-off */
	int64_t		 cut_max_ms;	/* longest cut-off */
};

/* The broker's policy: 10 logged refusals a second after a burst of 100; 1,000 refusals
 * past that, before the peer has been quiet for the 10 s that fill its bucket again, cut
 * it off for 10 s, then 20 s, ..., at most 10 minutes. */
#define RATELIMIT_POLICY_DEFAULT { 10.0, 100.0, 1000, 10 * 1000, 10 * 60 * 1000 }

/* One peer's state. Zero-initialize (a full bucket is given at the first refusal). */
struct ratelimit {
	double		 tokens;
	int64_t		 refill_ms;	/* 0: never used */
	uint64_t	 suppressed;	/* quiet refusals not yet reported in a logged one */
	int64_t		 suppressed_since_ms;
	uint64_t	 quiet_run;	/* quiet refusals since the bucket was last full */
	int64_t		 cut_until_ms;	/* frames dropped before this time */
	unsigned	 cuts;		/* cut-offs in a row (reset after cut_max_ms without) */
	uint64_t	 dropped;	/* frames dropped while cut off, in all */
};

enum ratelimit_verdict {
	RATELIMIT_LOG = 0,	/* log this refusal */
	RATELIMIT_QUIET,	/* answer it, log nothing */
	RATELIMIT_CUT,		/* this refusal cut the peer off (say so once): drop it */
	RATELIMIT_DROPPED,	/* the peer was cut off already: drop it unanswered */
};

/* Decides what to do with a refusal at `now_ms`. On RATELIMIT_LOG with refusals suppressed
 * before it, *suppressed and *since_ms say how many since when (the logged entry reports
 * them) and the count starts again; otherwise *suppressed is 0. Cannot fail. */
enum ratelimit_verdict ratelimit_refusal(struct ratelimit *rl,
    const struct ratelimit_policy *p, int64_t now_ms, uint64_t *suppressed,
    int64_t *since_ms);

/* Whether the peer is cut off at `now_ms`; counts a dropped frame when it is. Call it for
 * every frame of the peer before looking at it. */
int	ratelimit_drop(struct ratelimit *rl, int64_t now_ms);

/* For a timer: when refusals were suppressed and the bucket has a token again (the flood
 * stopped), takes that token and returns 1 with the count and its start, for a summary
 * entry; else 0. Cannot fail. */
int	ratelimit_summary(struct ratelimit *rl, const struct ratelimit_policy *p,
    int64_t now_ms, uint64_t *suppressed, int64_t *since_ms);

#endif

/* lib/ratelimit.c — how many of a peer's refusals are written down, and when it is cut off.
 *
 * A token bucket per peer (ratelimit.h draws the states). Times are the caller's
 * milliseconds, monotonic or not: a clock going back only delays the refill. */
#include "ratelimit.h"

static void
ratelimit_refill(struct ratelimit *rl, const struct ratelimit_policy *p, int64_t now_ms)
{
	if (rl->refill_ms == 0) {
		rl->tokens = p->burst;
		rl->refill_ms = now_ms;
		return;
	}
	if (now_ms <= rl->refill_ms)
		return;
	rl->tokens += (double)(now_ms - rl->refill_ms) / 1000.0 * p->rate_per_s;
	rl->refill_ms = now_ms;
	if (rl->tokens >= p->burst) {
		rl->tokens = p->burst;
		rl->quiet_run = 0;	/* back within its limit for a whole burst's time */
	}
	/* Not cut off for as long as the longest cut-off: the next one is the first again. */
	if (rl->cuts > 0 && now_ms - rl->cut_until_ms >= p->cut_max_ms)
		rl->cuts = 0;
}

/* Takes a token for a logged refusal, handing over what was suppressed before it. */
static void
ratelimit_take(struct ratelimit *rl, uint64_t *suppressed, int64_t *since_ms)
{
	rl->tokens -= 1.0;
	*suppressed = rl->suppressed;
	*since_ms = rl->suppressed_since_ms;
	rl->suppressed = 0;
	rl->suppressed_since_ms = 0;
}

enum ratelimit_verdict
ratelimit_refusal(struct ratelimit *rl, const struct ratelimit_policy *p, int64_t now_ms,
    uint64_t *suppressed, int64_t *since_ms)
{
	int64_t cut_ms;

	*suppressed = 0;
	*since_ms = 0;
	if (ratelimit_drop(rl, now_ms))
		return RATELIMIT_DROPPED;
	ratelimit_refill(rl, p, now_ms);
	if (rl->tokens >= 1.0) {
		ratelimit_take(rl, suppressed, since_ms);
		return RATELIMIT_LOG;
	}
	if (rl->suppressed++ == 0)
		rl->suppressed_since_ms = now_ms;
	if (++rl->quiet_run < p->cut_after)
		return RATELIMIT_QUIET;
	cut_ms = p->cut_ms;
	for (unsigned i = 0; i < rl->cuts && cut_ms < p->cut_max_ms; i++)
		cut_ms *= 2;
	if (cut_ms > p->cut_max_ms)
		cut_ms = p->cut_max_ms;
	rl->cut_until_ms = now_ms + cut_ms;
	rl->cuts++;
	rl->quiet_run = 0;
	return RATELIMIT_CUT;
}

int
ratelimit_drop(struct ratelimit *rl, int64_t now_ms)
{
	if (now_ms >= rl->cut_until_ms)
		return 0;
	rl->dropped++;
	return 1;
}

int
ratelimit_summary(struct ratelimit *rl, const struct ratelimit_policy *p, int64_t now_ms,
    uint64_t *suppressed, int64_t *since_ms)
{
	if (rl->suppressed == 0 || now_ms < rl->cut_until_ms)
		return 0;
	ratelimit_refill(rl, p, now_ms);
	if (rl->tokens < 1.0)
		return 0;
	ratelimit_take(rl, suppressed, since_ms);
	return 1;
}

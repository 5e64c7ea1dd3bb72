/* tests/fault/harness.h — the fail-the-Nth-allocation loop shared by the fault tests.
 *
 * An operation is run with its Nth allocation failing, for N = 1, 2, ... until a run
 * reaches the end without meeting the injected failure. After every run: the operation
 * returned (no crash), `check` accepted its result and the state it left, and the number
 * of live allocations is what it was before `setup` (nothing leaked, counting every
 * library of the process). */
#ifndef CB_FAULT_HARNESS_H
#define CB_FAULT_HARNESS_H

#include <stddef.h>
#include <stdint.h>

struct fault_op {
	const char	*name;
	/* Unarmed, before each run (may be NULL): builds what the run needs. What it
	 * allocates must be freed by `teardown`: the leak count spans both. */
	void		(*setup)(void *ctx);
	/* Armed: the operation under test. Returns 0 or an error code. */
	int		(*run)(void *ctx);
	/* Unarmed: checks the result and the state after a run that returned `rc` (`hit`
	 * tells whether the injected failure happened) and frees the result. Returns NULL, or
	 * a static text saying what is wrong. */
	const char	*(*check)(void *ctx, int rc, int hit);
	void		(*teardown)(void *ctx);
	void		*ctx;
	/* The operation must have at least this many allocations, so that the test cannot
	 * pass without failing anything. */
	unsigned	 min_allocs;
};

/* Runs the loop for `op`; prints one line per operation. Returns the number of failures. */
int	fault_run(const struct fault_op *op);

/* Runs whose error a check excused as a known library limitation (counted per operation
 * and printed). */
extern unsigned fault_excused;

/* Called by a check (or the broker's fatalx) for a result that is a known bug, listed in
 * docs/reliability.md and not fixed yet: the run is counted apart, under `what`, and its
 * leak count is not asserted. The summary lists every known bug seen. */
void	fault_known(const char *what);
/* Prints the known bugs seen, with their counts. */
void	fault_known_report(void);

/* What the harness is doing, for the crash handler and messages. */
extern const char *fault_current_op;
extern uint64_t fault_current_n;

/* Fails the whole run with a message (setup errors). */
void	fault_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* broker_ops.c */
int	broker_faults(const char *tmpdir, const char *repo);

#endif

/* lib/verifypool.h — batches of signature checks on every core (verifypool.c). */
#ifndef CB_VERIFYPOOL_H
#define CB_VERIFYPOOL_H

#include <stddef.h>

#include "cluebus.pb-c.h"
#include "keys.h"

/* One signature check of a batch. */
struct verify_job {
	const Cluebus__Envelope *env;
	const cb_key_t	*key;
	int		 rc;		/* envelope_verify's result, set by verifypool_run */
};

typedef struct verifypool verifypool_t;

/* Starts `threads` workers besides the caller's thread (0: the caller does all). Returns 0
 * or CB_ENOMEM. The workers block every signal. */
int	verifypool_new(unsigned threads, verifypool_t **out)
    __attribute__((warn_unused_result));
/* Stops the workers. Accepts NULL. */
void	verifypool_free(verifypool_t *v);
/* Threads that verify: the workers and the caller. */
unsigned verifypool_threads(const verifypool_t *v);
/* Sets jobs[i].rc for every job, on the calling thread and the workers, and returns when
 * all are done. `v` may be NULL (the caller does all). One caller at a time, and not while
 * a batch handed out by verifypool_submit is still waiting (verifypool_map the same). */
void	verifypool_run(verifypool_t *v, struct verify_job *jobs, size_t n);
/* Starts the checks of `jobs` on the workers alone and returns at once (with no workers,
 * or `v` NULL, they are done here before it returns). The jobs, envelopes and keys must
 * stay untouched until verifypool_wait returned; no other batch may start before then. */
void	verifypool_submit(verifypool_t *v, struct verify_job *jobs, size_t n);
/* Takes the submitted jobs still waiting, on the calling thread too, and returns when all
 * are done (their rc set). Returns at once when nothing is submitted. Accepts NULL. */
void	verifypool_wait(verifypool_t *v);
typedef void (*verifypool_fn)(void *arg, size_t i);
/* Calls fn(arg, i) once for every i < n, on the calling thread and the workers (the caller
 * alone when n <= inline_max), and returns when all calls returned. The calls must be
 * independent of each other. `v` may be NULL. One caller at a time. */
void	verifypool_map(verifypool_t *v, verifypool_fn fn, void *arg, size_t n,
    size_t inline_max);
/* Workers worth starting on this machine: CLUEBUS_VERIFY_THREADS from the environment
 * (0..64; 0 = the caller alone, for deterministic tests), or one per online CPU besides
 * the caller's. */
unsigned verifypool_default_threads(void);

#endif

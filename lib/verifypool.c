/* lib/verifypool.c — batches of signature checks, spread over every core.
 *
 * Ed25519 verification bounds both the broker and the auditor (SPEC §11: over 90% of the
 * broker's CPU on one thread). Their loops stay single-threaded; only this stage fans out:
 * the caller hands verifypool_run() a batch of (envelope, key) pairs, the calling thread
 * and the pool's workers take jobs off a shared counter, and verifypool_run() returns when
 * all are done. Workers touch nothing but their jobs (the envelopes and keys are read-only
 * until verifypool_run returns, and key_verify keeps no state), so nothing else needs a
 * lock.
 *
 * A batch of fewer than VERIFY_INLINE_MAX jobs is verified by the caller alone: waking a
 * worker costs more than a few verifications.
 *
 * Underneath is verifypool_map(), a parallel for over any function whose calls are
 * independent (the auditor also decodes and hashes log entries with it). The auditor also
 * overlaps: verifypool_submit() hands a batch to the workers alone and returns, the caller
 * prepares the next batch meanwhile, and verifypool_wait() helps with what is left. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "cluebus/err.h"
#include "envelope.h"
#include "verifypool.h"

#define VERIFY_INLINE_MAX	4

struct verifypool {
	pthread_mutex_t	 mu;
	pthread_cond_t	 wake;		/* a new batch, or shutdown */
	pthread_cond_t	 done;		/* the last job of the batch finished */
	unsigned long	 generation;	/* bumped for each batch */
	int		 shutdown;
	verifypool_fn	 fn;		/* the batch: fn(arg, i) for i < n */
	void		*arg;
	size_t		 n;
	atomic_size_t	 next;		/* the next job to take */
	size_t		 finished;	/* jobs done (under mu) */
	unsigned	 active;	/* workers inside a batch (under mu): a new batch
					 * starts only when none is, so no worker can take
					 * a job of one batch with the bounds of another */
	int		 started;	/* a batch was handed out and not yet waited for
					 * (the caller's thread only) */
	pthread_t	*threads;
	unsigned	 nthreads;
};

/* Takes jobs until none is left; returns how many this thread did. */
static size_t
verify_take(verifypool_t *v, verifypool_fn fn, void *arg, size_t n)
{
	size_t i, did = 0;

	while ((i = atomic_fetch_add(&v->next, 1)) < n) {
		fn(arg, i);
		did++;
	}
	return did;
}

static void
verify_finish(verifypool_t *v, size_t did, int worker)
{
	pthread_mutex_lock(&v->mu);
	v->finished += did;
	v->active -= worker ? 1 : 0;
	if (v->finished == v->n && v->active == 0)
		pthread_cond_signal(&v->done);
	pthread_mutex_unlock(&v->mu);
}

static void *
verify_worker(void *arg)
{
	verifypool_t *v = arg;
	unsigned long seen = 0;

	for (;;) {
		verifypool_fn fn;
		void *fnarg;
		size_t n;

		pthread_mutex_lock(&v->mu);
		while (!v->shutdown && v->generation == seen)
			pthread_cond_wait(&v->wake, &v->mu);
		if (v->shutdown) {
			pthread_mutex_unlock(&v->mu);
			return NULL;
		}
		seen = v->generation;
		fn = v->fn;
		fnarg = v->arg;
		n = v->n;
		v->active++;
		pthread_mutex_unlock(&v->mu);
		verify_finish(v, verify_take(v, fn, fnarg, n), 1);
	}
}

int
verifypool_new(unsigned threads, verifypool_t **out)
{
	verifypool_t *v;
	sigset_t all, old;
	int rc = 0;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return CB_ENOMEM;
	if (threads > 0 && (v->threads = calloc(threads, sizeof(*v->threads))) == NULL) {
		free(v);
		return CB_ENOMEM;
	}
	pthread_mutex_init(&v->mu, NULL);
	pthread_cond_init(&v->wake, NULL);
	pthread_cond_init(&v->done, NULL);
	atomic_init(&v->next, 0);
	/* Workers never take signals: SIGTERM must reach the event loop's thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (; v->nthreads < threads; v->nthreads++)
		if (pthread_create(&v->threads[v->nthreads], NULL, verify_worker, v) != 0) {
			rc = CB_ENOMEM;
			break;
		}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		verifypool_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

void
verifypool_free(verifypool_t *v)
{
	if (v == NULL)
		return;
	pthread_mutex_lock(&v->mu);
	v->shutdown = 1;
	pthread_cond_broadcast(&v->wake);
	pthread_mutex_unlock(&v->mu);
	for (unsigned i = 0; i < v->nthreads; i++)
		pthread_join(v->threads[i], NULL);
	pthread_cond_destroy(&v->done);
	pthread_cond_destroy(&v->wake);
	pthread_mutex_destroy(&v->mu);
	free(v->threads);
	free(v);
}

unsigned
verifypool_threads(const verifypool_t *v)
{
	return v->nthreads + 1;
}

/* Hands a batch to the workers (there are some) and returns. */
static void
verify_start(verifypool_t *v, verifypool_fn fn, void *arg, size_t n)
{
	pthread_mutex_lock(&v->mu);
	while (v->active > 0)		/* a late worker still leaving the last batch */
		pthread_cond_wait(&v->done, &v->mu);
	v->fn = fn;
	v->arg = arg;
	v->n = n;
	v->finished = 0;
	atomic_store(&v->next, 0);
	v->generation++;
	v->started = 1;
	pthread_cond_broadcast(&v->wake);
	pthread_mutex_unlock(&v->mu);
}

void
verifypool_wait(verifypool_t *v)
{
	if (v == NULL || !v->started)
		return;
	verify_finish(v, verify_take(v, v->fn, v->arg, v->n), 0);
	pthread_mutex_lock(&v->mu);
	while (v->finished < v->n || v->active > 0)
		pthread_cond_wait(&v->done, &v->mu);
	v->started = 0;
	pthread_mutex_unlock(&v->mu);
}

void
verifypool_map(verifypool_t *v, verifypool_fn fn, void *arg, size_t n, size_t inline_max)
{
	if (n == 0)
		return;
	if (v == NULL || v->nthreads == 0 || n <= inline_max) {
		for (size_t i = 0; i < n; i++)
			fn(arg, i);
		return;
	}
	verify_start(v, fn, arg, n);
	verifypool_wait(v);
}

static void
verify_one(void *arg, size_t i)
{
	struct verify_job *job = (struct verify_job *)arg + i;

	job->rc = envelope_verify(job->env, job->key);
}

void
verifypool_run(verifypool_t *v, struct verify_job *jobs, size_t n)
{
	verifypool_map(v, verify_one, jobs, n, VERIFY_INLINE_MAX - 1);
}

void
verifypool_submit(verifypool_t *v, struct verify_job *jobs, size_t n)
{
	if (n == 0)
		return;
	if (v == NULL || v->nthreads == 0) {
		for (size_t i = 0; i < n; i++)
			verify_one(jobs, i);
		return;
	}
	verify_start(v, verify_one, jobs, n);
}

unsigned
verifypool_default_threads(void)
{
	const char *env = getenv("CLUEBUS_VERIFY_THREADS");
	long cpus, n;

	if (env != NULL && *env >= '0' && *env <= '9') {
		n = strtol(env, NULL, 10);	/* saturates at LONG_MAX */
		return (unsigned)(n > 64 ? 64 : n);
	}
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	return cpus > 1 ? (unsigned)(cpus > 16 ? 15 : cpus - 1) : 0;
}
